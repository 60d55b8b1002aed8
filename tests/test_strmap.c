/* lib/strmap: SipHash-2-4 against the reference vectors of its paper, and
 * the table's add/set/get across growth. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "lib/arena.h"
#include "lib/strmap.h"

static void test_siphash_vectors(void)
{
	uint8_t key[16];
	uint8_t msg[64];
	for (int i = 0; i < 16; i++) {
		key[i] = (uint8_t)i;
	}
	for (int i = 0; i < 64; i++) {
		msg[i] = (uint8_t)i;
	}
	CHECK(strmap_siphash(key, msg, 0) == 0x726fdb47dd0e0e31ull);
	CHECK(strmap_siphash(key, msg, 8) == 0x93f5f5799a932462ull);
	CHECK(strmap_siphash(key, msg, 15) == 0xa129ca6149be45e5ull);
}

static void fill_and_check(struct strmap *m, char (*names)[16], size_t n)
{
	for (size_t i = 0; i < n; i++) {
		snprintf(names[i], sizeof(names[i]), "key%u", (unsigned)(i % 100000));
		CHECK_EQ_INT(strmap_add(m, names[i], strlen(names[i]), (void *)(uintptr_t)(i + 1), NULL), 0);
	}
	CHECK_EQ_INT(m->count, n);
	int all = 1;
	for (size_t i = 0; i < n; i++) {
		all &= strmap_get(m, names[i], strlen(names[i])) == (void *)(uintptr_t)(i + 1);
	}
	CHECK(all);
	void *old = NULL;
	CHECK_EQ_INT(strmap_add(m, "key7", 4, (void *)99, &old), 1);
	CHECK(old == (void *)8);
	CHECK_EQ_INT(strmap_set(m, "key7", 4, (void *)99), 0);
	CHECK(strmap_get(m, "key7", 4) == (void *)99);
	CHECK_EQ_INT(m->count, n);
	/* Lengths count: a prefix is another key. */
	CHECK(strmap_get(m, "key", 3) == NULL);
	CHECK(strmap_get(m, "key70", 4) == (void *)99);
}

static void test_table_malloc(void)
{
	static char names[5000][16];
	struct strmap m = {0}; /* a zeroed table is an empty one */
	CHECK(strmap_get(&m, "x", 1) == NULL);
	fill_and_check(&m, names, 5000);
	strmap_free(&m);
	CHECK(strmap_get(&m, "key1", 4) == NULL);
}

static void test_table_arena(void)
{
	static char names[300][16];
	struct arena a = {0};
	struct strmap m;
	strmap_init(&m, &a);
	fill_and_check(&m, names, 300);
	strmap_free(&m);
	arena_free(&a);
}

int main(void)
{
	RUN(test_siphash_vectors);
	RUN(test_table_malloc);
	RUN(test_table_arena);
	return check_summary();
}
