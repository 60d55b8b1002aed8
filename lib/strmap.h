/* String-keyed hash tables for keys that come from untrusted input (YAML
 * mapping keys, anchors, compose names). Keys are hashed with SipHash-2-4
 * under a key private to the process, so an input cannot be built to make
 * its keys collide: a table of n keys costs O(n) to fill, whatever the
 * input. Keys and values are borrowed, never copied or freed. */
#ifndef BERTH_STRMAP_H
#define BERTH_STRMAP_H

#include <stddef.h>
#include <stdint.h>

struct arena;

struct strmap_slot {
	const char *key; /* NULL: empty */
	size_t len;
	void *value;
};

struct strmap {
	struct strmap_slot *slots;
	size_t mask; /* capacity - 1; capacity is a power of two */
	size_t count;
	struct arena *arena; /* slots come from here when set (never freed one by one) */
};

/* An empty table; slots from arena when it is not NULL, else from malloc. */
void strmap_init(struct strmap *m, struct arena *arena);

/* Room for n keys without growing; -ENOMEM. */
int strmap_reserve(struct strmap *m, size_t n);

/* Adds key -> value unless key is there. Returns 0 when added, 1 when the
 * key was there (*existing, if not NULL, gets its value), -ENOMEM. */
int strmap_add(struct strmap *m, const char *key, size_t len, void *value, void **existing);

/* Adds key -> value, or replaces the value of key. 0 or -ENOMEM. */
int strmap_set(struct strmap *m, const char *key, size_t len, void *value);

/* The value of key, or NULL. */
void *strmap_get(const struct strmap *m, const char *key, size_t len);

/* Frees malloc'ed slots (not the keys or values); the table is then empty. */
void strmap_free(struct strmap *m);

/* SipHash-2-4 of data under key (exposed for its test vectors). */
uint64_t strmap_siphash(const uint8_t key[16], const void *data, size_t len);

#endif
