/* String-keyed hash tables with a secret hash key (see strmap.h): open
 * addressing, linear probing, at most half full. */
#include "lib/strmap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>

#include "lib/arena.h"
#include "lib/sha256.h"

#define STRMAP_MIN_CAP 16

static uint64_t rotl(uint64_t x, int b)
{
	return (x << b) | (x >> (64 - b));
}

static uint64_t load_le64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--) {
		v = (v << 8) | p[i];
	}
	return v;
}

static void sip_rounds(uint64_t v[4], int n)
{
	for (int i = 0; i < n; i++) {
		v[0] += v[1];
		v[1] = rotl(v[1], 13) ^ v[0];
		v[0] = rotl(v[0], 32);
		v[2] += v[3];
		v[3] = rotl(v[3], 16) ^ v[2];
		v[0] += v[3];
		v[3] = rotl(v[3], 21) ^ v[0];
		v[2] += v[1];
		v[1] = rotl(v[1], 17) ^ v[2];
		v[2] = rotl(v[2], 32);
	}
}

static void sip_block(uint64_t v[4], uint64_t m)
{
	v[3] ^= m;
	sip_rounds(v, 2);
	v[0] ^= m;
}

uint64_t strmap_siphash(const uint8_t key[16], const void *data, size_t len)
{
	const uint8_t *p = data;
	uint64_t k0 = load_le64(key);
	uint64_t k1 = load_le64(key + 8);
	uint64_t v[4] = {k0 ^ 0x736f6d6570736575ull, k1 ^ 0x646f72616e646f6dull, k0 ^ 0x6c7967656e657261ull,
			 k1 ^ 0x7465646279746573ull};
	size_t whole = len - len % 8;
	for (size_t i = 0; i < whole; i += 8) {
		sip_block(v, load_le64(p + i));
	}
	uint64_t last = (uint64_t)len << 56;
	for (size_t i = 0; i < len % 8; i++) {
		last |= (uint64_t)p[whole + i] << (8 * i);
	}
	sip_block(v, last);
	v[2] ^= 0xff;
	sip_rounds(v, 4);
	return v[0] ^ v[1] ^ v[2] ^ v[3];
}

/* The process's hash key: derived from the kernel's per-exec random bytes
 * (AT_RANDOM) through SHA-256, so that the key never equals bytes libc
 * uses for its stack canary. Computing it twice gives the same key, so a
 * race between threads is harmless. */
static const uint8_t *secret_key(void)
{
	static uint8_t key[16];
	static int ready;
	if (!__atomic_load_n(&ready, __ATOMIC_ACQUIRE)) {
		uint8_t digest[SHA256_LEN];
		struct sha256 s;
		sha256_init(&s);
		sha256_update(&s, "berth strmap key", 16);
		const void *at_random = (const void *)getauxval(AT_RANDOM);
		if (at_random != NULL) {
			sha256_update(&s, at_random, 16);
		}
		sha256_final(&s, digest);
		memcpy(key, digest, sizeof(key));
		__atomic_store_n(&ready, 1, __ATOMIC_RELEASE);
	}
	return key;
}

void strmap_init(struct strmap *m, struct arena *arena)
{
	memset(m, 0, sizeof(*m));
	m->arena = arena;
}

static struct strmap_slot *find_slot(const struct strmap *m, const char *key, size_t len)
{
	size_t i = (size_t)strmap_siphash(secret_key(), key, len) & m->mask;
	while (m->slots[i].key != NULL) {
		if (m->slots[i].len == len && memcmp(m->slots[i].key, key, len) == 0) {
			break;
		}
		i = (i + 1) & m->mask;
	}
	return &m->slots[i];
}

static int resize(struct strmap *m, size_t cap)
{
	struct strmap_slot *slots =
		m->arena != NULL ? arena_alloc(m->arena, cap * sizeof(*slots)) : calloc(cap, sizeof(*slots));
	if (slots == NULL) {
		return -ENOMEM;
	}
	struct strmap old = *m;
	m->slots = slots;
	m->mask = cap - 1;
	for (size_t i = 0; old.slots != NULL && i <= old.mask; i++) {
		if (old.slots[i].key != NULL) {
			*find_slot(m, old.slots[i].key, old.slots[i].len) = old.slots[i];
		}
	}
	if (m->arena == NULL) {
		free(old.slots);
	}
	return 0;
}

int strmap_reserve(struct strmap *m, size_t n)
{
	if (n > SIZE_MAX / 4 / sizeof(struct strmap_slot)) {
		return -ENOMEM;
	}
	size_t cap = STRMAP_MIN_CAP;
	while (cap < 2 * n) {
		cap *= 2;
	}
	if (m->slots != NULL && cap <= m->mask + 1) {
		return 0;
	}
	return resize(m, cap);
}

int strmap_add(struct strmap *m, const char *key, size_t len, void *value, void **existing)
{
	if (strmap_reserve(m, m->count + 1) < 0) {
		return -ENOMEM;
	}
	struct strmap_slot *s = find_slot(m, key, len);
	if (s->key != NULL) {
		if (existing != NULL) {
			*existing = s->value;
		}
		return 1;
	}
	*s = (struct strmap_slot){.key = key, .len = len, .value = value};
	m->count++;
	return 0;
}

int strmap_set(struct strmap *m, const char *key, size_t len, void *value)
{
	if (strmap_reserve(m, m->count + 1) < 0) {
		return -ENOMEM;
	}
	struct strmap_slot *s = find_slot(m, key, len);
	if (s->key == NULL) {
		m->count++;
	}
	*s = (struct strmap_slot){.key = key, .len = len, .value = value};
	return 0;
}

void *strmap_get(const struct strmap *m, const char *key, size_t len)
{
	if (m->slots == NULL) {
		return NULL;
	}
	return find_slot(m, key, len)->value;
}

void strmap_free(struct strmap *m)
{
	if (m->arena == NULL) {
		free(m->slots);
	}
	m->slots = NULL;
	m->mask = 0;
	m->count = 0;
}
