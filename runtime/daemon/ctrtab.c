/* The container table and its observers (see ctrtab.h). */
#include "daemon/ctrtab.h"

#include <errno.h>
#include <string.h>

/* The API, the networks, supervision, the status for init: a fixed few,
 * added at start. */
#define OBSERVERS_MAX 6

static struct ctr *ctrs;
static ctr_observer observers[OBSERVERS_MAX];
static size_t nobservers;

struct ctr *ctr_first(void)
{
	return ctrs;
}

struct ctr *ctr_find(const char *name)
{
	ctr_foreach(c) {
		if (c->def.name != NULL && strcmp(c->def.name, name) == 0) {
			return c;
		}
	}
	return NULL;
}

void ctr_add(struct ctr *c)
{
	struct ctr **p = &ctrs;
	while (*p != NULL && strcmp((*p)->def.name, c->def.name) < 0) {
		p = &(*p)->next;
	}
	c->next = *p;
	*p = c;
}

void ctr_delete(struct ctr *c)
{
	for (struct ctr **p = &ctrs; *p != NULL; p = &(*p)->next) {
		if (*p == c) {
			*p = c->next;
			c->next = NULL;
			break;
		}
	}
	ctr_publish(c, CTR_REMOVED);
	ctr_free(c);
}

int ctr_observe(ctr_observer fn)
{
	if (nobservers == OBSERVERS_MAX) {
		return -ENOSPC;
	}
	observers[nobservers++] = fn;
	return 0;
}

void ctr_publish(struct ctr *c, enum ctr_event ev)
{
	for (size_t i = 0; i < nobservers; i++) {
		observers[i](c, ev);
	}
}
