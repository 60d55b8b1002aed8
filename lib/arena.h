/* A bump allocator: many small allocations freed at once (parsed config
 * trees, their strings). Zeroed memory; no individual frees. */
#ifndef BERTH_ARENA_H
#define BERTH_ARENA_H

#include <stddef.h>

struct arena_chunk;

struct arena {
	struct arena_chunk *head;
};

/* NULL when out of memory. */
void *arena_alloc(struct arena *a, size_t size);
char *arena_strdup(struct arena *a, const char *s);
char *arena_strndup(struct arena *a, const char *s, size_t len);
void arena_free(struct arena *a);

#endif
