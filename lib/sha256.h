/* SHA-256 (FIPS 180-4): a streaming digest for content addressing (image
 * blobs, layer diff IDs) and a one-shot hex helper. No allocation, no I/O. */
#ifndef BERTH_SHA256_H
#define BERTH_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN 32
#define SHA256_HEX_LEN 64

struct sha256 {
	uint32_t state[8];
	uint64_t total; /* bytes hashed so far */
	size_t nbuf;	/* bytes waiting in buf for a full block */
	uint8_t buf[64];
};

void sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *data, size_t len);
/* Writes the digest; s must be initialised again before reuse. */
void sha256_final(struct sha256 *s, uint8_t out[SHA256_LEN]);

/* Lower-case hex of a digest, NUL-terminated. */
void sha256_to_hex(const uint8_t digest[SHA256_LEN], char out[SHA256_HEX_LEN + 1]);

/* One shot: the lower-case hex digest of data, NUL-terminated. */
void sha256_hex(const void *data, size_t len, char out[SHA256_HEX_LEN + 1]);

/* Tests: use the portable code even where the CPU has SHA extensions
 * (on), or choose again (off). */
void sha256_set_portable(int on);

#endif
