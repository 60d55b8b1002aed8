/* Bump allocator (see arena.h). */
#include "lib/arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct arena_chunk {
	struct arena_chunk *next;
	size_t used;
	size_t size;
	max_align_t data[];
};

void *arena_alloc(struct arena *a, size_t size)
{
	if (size > SIZE_MAX / 2) {
		return NULL;
	}
	size = (size + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
	if (a->head == NULL || a->head->size - a->head->used < size) {
		size_t want = size > 65536 ? size : 65536;
		struct arena_chunk *c = malloc(sizeof(*c) + want);
		if (c == NULL) {
			return NULL;
		}
		c->next = a->head;
		c->used = 0;
		c->size = want;
		a->head = c;
	}
	void *p = (char *)a->head->data + a->head->used;
	a->head->used += size;
	memset(p, 0, size);
	return p;
}

char *arena_strndup(struct arena *a, const char *s, size_t len)
{
	char *p = arena_alloc(a, len + 1);
	if (p != NULL) {
		memcpy(p, s, len);
		p[len] = '\0';
	}
	return p;
}

char *arena_strdup(struct arena *a, const char *s)
{
	return arena_strndup(a, s, strlen(s));
}

void arena_free(struct arena *a)
{
	while (a->head != NULL) {
		struct arena_chunk *next = a->head->next;
		free(a->head);
		a->head = next;
	}
}
