/* CRC-32 (IEEE 802.3, as GPT and zlib use it). */
#ifndef BERTH_CRC32_H
#define BERTH_CRC32_H

#include <stddef.h>
#include <stdint.h>

uint32_t crc32_ieee(const void *data, size_t len);

#endif
