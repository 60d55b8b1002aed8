/* SHA-256 (see sha256.h), written from FIPS 180-4: 64-byte blocks, a
 * 64-word message schedule, big-endian words and length. The image store
 * hashes every layer twice (compressed and not), which makes this the
 * largest cost of an import: on x86-64 CPUs with the SHA extensions the
 * blocks go through them (about 4x faster); elsewhere, portable C that
 * keeps the schedule in a 16-word ring. */
#include "lib/sha256.h"

#include <string.h>

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#endif

/* FIPS 180-4 section 4.2.2: the first 32 bits of the fractional parts of
 * the cube roots of the first 64 primes. */
static const uint32_t round_k[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static inline uint32_t rotr(uint32_t x, unsigned n)
{
	return (x >> n) | (x << (32 - n));
}

static inline uint32_t load_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static void compress_blocks_c(uint32_t state[8], const uint8_t *p, size_t nblocks)
{
	while (nblocks-- > 0) {
		uint32_t w[16];
		uint32_t a = state[0];
		uint32_t b = state[1];
		uint32_t c = state[2];
		uint32_t d = state[3];
		uint32_t e = state[4];
		uint32_t f = state[5];
		uint32_t g = state[6];
		uint32_t h = state[7];
		for (unsigned t = 0; t < 64; t++) {
			uint32_t wt;
			if (t < 16) {
				wt = load_be32(p + 4 * t);
			} else {
				/* W[t] = s1(W[t-2]) + W[t-7] + s0(W[t-15]) + W[t-16], in the ring. */
				uint32_t w2 = w[(t - 2) & 15];
				uint32_t w15 = w[(t - 15) & 15];
				uint32_t s0 = rotr(w15, 7) ^ rotr(w15, 18) ^ (w15 >> 3);
				uint32_t s1 = rotr(w2, 17) ^ rotr(w2, 19) ^ (w2 >> 10);
				wt = s1 + w[(t - 7) & 15] + s0 + w[t & 15];
			}
			w[t & 15] = wt;
			uint32_t big_s1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25);
			uint32_t ch = (e & f) ^ (~e & g);
			uint32_t t1 = h + big_s1 + ch + round_k[t] + wt;
			uint32_t big_s0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22);
			uint32_t maj = (a & b) ^ (a & c) ^ (b & c);
			uint32_t t2 = big_s0 + maj;
			h = g;
			g = f;
			f = e;
			e = d + t1;
			d = c;
			c = b;
			b = a;
			a = t1 + t2;
		}
		state[0] += a;
		state[1] += b;
		state[2] += c;
		state[3] += d;
		state[4] += e;
		state[5] += f;
		state[6] += g;
		state[7] += h;
		p += 64;
	}
}

#if defined(__x86_64__)
/* The SHA-NI instructions work on the state as two vectors, (A,B,E,F) and
 * (C,D,G,H), and on four schedule words at a time; sha256rnds2 does two
 * rounds, taking their W+K sums from the low half of its third operand. */
__attribute__((target("sha,sse4.1,ssse3"))) static void compress_blocks_ni(uint32_t state[8], const uint8_t *p,
									   size_t nblocks)
{
	const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
	__m128i dcba = _mm_loadu_si128((const __m128i *)(const void *)&state[0]);
	__m128i hgfe = _mm_loadu_si128((const __m128i *)(const void *)&state[4]);
	__m128i cdab = _mm_shuffle_epi32(dcba, 0xb1);
	__m128i efgh = _mm_shuffle_epi32(hgfe, 0x1b);
	__m128i abef = _mm_alignr_epi8(cdab, efgh, 8);
	__m128i cdgh = _mm_blend_epi16(efgh, cdab, 0xf0);
	while (nblocks-- > 0) {
		__m128i abef_in = abef;
		__m128i cdgh_in = cdgh;
		__m128i w[4];
		for (unsigned i = 0; i < 16; i++) {
			__m128i wi;
			if (i < 4) {
				wi = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(const void *)(p + 16 * i)),
						      bswap);
			} else {
				/* W[t..t+3] from W[t-16..], W[t-12..], W[t-7..] and W[t-4..]. */
				__m128i t = _mm_sha256msg1_epu32(w[i & 3], w[(i + 1) & 3]);
				t = _mm_add_epi32(t, _mm_alignr_epi8(w[(i + 3) & 3], w[(i + 2) & 3], 4));
				wi = _mm_sha256msg2_epu32(t, w[(i + 3) & 3]);
			}
			w[i & 3] = wi;
			__m128i msg =
				_mm_add_epi32(wi, _mm_loadu_si128((const __m128i *)(const void *)&round_k[4 * i]));
			cdgh = _mm_sha256rnds2_epu32(cdgh, abef, msg);
			msg = _mm_shuffle_epi32(msg, 0x0e);
			abef = _mm_sha256rnds2_epu32(abef, cdgh, msg);
		}
		abef = _mm_add_epi32(abef, abef_in);
		cdgh = _mm_add_epi32(cdgh, cdgh_in);
		p += 64;
	}
	__m128i feba = _mm_shuffle_epi32(abef, 0x1b);
	__m128i dchg = _mm_shuffle_epi32(cdgh, 0xb1);
	dcba = _mm_blend_epi16(feba, dchg, 0xf0);
	hgfe = _mm_alignr_epi8(dchg, feba, 8);
	_mm_storeu_si128((__m128i *)(void *)&state[0], dcba);
	_mm_storeu_si128((__m128i *)(void *)&state[4], hgfe);
}

/* -1: not asked yet (a race only asks twice); 0 also when forced. */
static int sha_ni_cached = -1;

static int have_sha_ni(void)
{
	int cached = sha_ni_cached;
	if (cached < 0) {
		unsigned a;
		unsigned b;
		unsigned c;
		unsigned d;
		int ok = __get_cpuid(1, &a, &b, &c, &d) && (c & bit_SSSE3) && (c & bit_SSE4_1);
		ok = ok && __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & bit_SHA);
		cached = ok;
		sha_ni_cached = cached;
	}
	return cached;
}
#endif

void sha256_set_portable(int on)
{
#if defined(__x86_64__)
	sha_ni_cached = on ? 0 : -1;
#else
	(void)on;
#endif
}

static void compress_blocks(uint32_t state[8], const uint8_t *p, size_t nblocks)
{
#if defined(__x86_64__)
	if (have_sha_ni()) {
		compress_blocks_ni(state, p, nblocks);
		return;
	}
#endif
	compress_blocks_c(state, p, nblocks);
}

void sha256_init(struct sha256 *s)
{
	/* Section 5.3.3: the fractional parts of the square roots of the
	 * first eight primes. */
	static const uint32_t initial[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
					    0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
	memcpy(s->state, initial, sizeof(initial));
	s->total = 0;
	s->nbuf = 0;
}

void sha256_update(struct sha256 *s, const void *data, size_t len)
{
	const uint8_t *p = data;
	s->total += len;
	if (s->nbuf > 0) {
		size_t take = 64 - s->nbuf;
		if (take > len) {
			take = len;
		}
		memcpy(s->buf + s->nbuf, p, take);
		s->nbuf += take;
		p += take;
		len -= take;
		if (s->nbuf < 64) {
			return;
		}
		compress_blocks(s->state, s->buf, 1);
		s->nbuf = 0;
	}
	if (len >= 64) {
		compress_blocks(s->state, p, len / 64);
		p += len / 64 * 64;
		len %= 64;
	}
	if (len > 0) {
		memcpy(s->buf, p, len);
		s->nbuf = len;
	}
}

void sha256_final(struct sha256 *s, uint8_t out[SHA256_LEN])
{
	uint64_t bits = s->total * 8;
	/* Section 5.1.1: a 1 bit, zeros to 56 mod 64 bytes, then the length
	 * in bits as a 64-bit big-endian number. */
	s->buf[s->nbuf++] = 0x80;
	if (s->nbuf > 56) {
		memset(s->buf + s->nbuf, 0, 64 - s->nbuf);
		compress_blocks(s->state, s->buf, 1);
		s->nbuf = 0;
	}
	memset(s->buf + s->nbuf, 0, 56 - s->nbuf);
	for (unsigned i = 0; i < 8; i++) {
		s->buf[56 + i] = (uint8_t)(bits >> (56 - 8 * i));
	}
	compress_blocks(s->state, s->buf, 1);
	for (unsigned i = 0; i < 8; i++) {
		out[4 * i] = (uint8_t)(s->state[i] >> 24);
		out[4 * i + 1] = (uint8_t)(s->state[i] >> 16);
		out[4 * i + 2] = (uint8_t)(s->state[i] >> 8);
		out[4 * i + 3] = (uint8_t)s->state[i];
	}
	memset(s, 0, sizeof(*s));
}

void sha256_to_hex(const uint8_t digest[SHA256_LEN], char out[SHA256_HEX_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < SHA256_LEN; i++) {
		out[2 * i] = hex[digest[i] >> 4];
		out[2 * i + 1] = hex[digest[i] & 15];
	}
	out[SHA256_HEX_LEN] = '\0';
}

void sha256_hex(const void *data, size_t len, char out[SHA256_HEX_LEN + 1])
{
	struct sha256 s;
	uint8_t digest[SHA256_LEN];
	sha256_init(&s);
	sha256_update(&s, data, len);
	sha256_final(&s, digest);
	sha256_to_hex(digest, out);
}
