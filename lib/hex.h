/* Hexadecimal text of bytes (keys, signatures, digests). */
#ifndef BERTH_HEX_H
#define BERTH_HEX_H

#include <stddef.h>
#include <stdint.h>

/* Lower-case hex of n bytes into out (2n+1 bytes, NUL-terminated). */
void hex_encode(const uint8_t *in, size_t n, char *out);

/* Decodes exactly 2n hex digits (either case) of text into n bytes:
 * 0, or -EINVAL when textlen is not 2n or a character is no hex digit. */
int hex_decode(const char *text, size_t textlen, uint8_t *out, size_t n);

#endif
