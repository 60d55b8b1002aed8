/* berthd's container table: every container berthd knows, by name, and
 * the observers told when one changes. The table is the one owner of the
 * containers' list: modules find and walk containers here and never keep
 * a list of their own. Changes travel up by observers: supervision
 * (sup.c) and healthchecks (health.c) publish, the API (api.c, answering
 * requests that wait for a container), the networks (network.c, whose
 * names and rules follow the running containers) and supervision itself
 * (dependencies on a healthy container) subscribe. See berthd.h for the
 * whole picture of daemon/. */
#ifndef BERTH_DAEMON_CTRTAB_H
#define BERTH_DAEMON_CTRTAB_H

#include "daemon/ctr.h"

/* The first container; c->next the following one, in the order of names
 * (listings and start order are stable). */
struct ctr *ctr_first(void);

#define ctr_foreach(c) for (struct ctr *c = ctr_first(); c != NULL; c = c->next)

/* For a walk whose body may delete c (ctr_delete, or what ends in it). */
#define ctr_foreach_safe(c, n)                                                        \
	for (struct ctr *c = ctr_first(), *n = c != NULL ? c->next : NULL; c != NULL; \
	     c = n, n = c != NULL ? c->next : NULL)

struct ctr *ctr_find(const char *name);

/* Adds c to the table, which owns it from here on. */
void ctr_add(struct ctr *c);

/* Takes c out of the table, tells the observers (CTR_REMOVED) and frees it. */
void ctr_delete(struct ctr *c);

enum ctr_event {
	CTR_CHANGED, /* its state, or why it waits or failed (sup.c) */
	CTR_HEALTH,  /* its health status (health.c) */
	CTR_REMOVED, /* it is about to be freed */
};

typedef void (*ctr_observer)(struct ctr *c, enum ctr_event ev);

/* Observers are called in the order they were added (-ENOSPC: more than
 * the few berthd has). */
int ctr_observe(ctr_observer fn);

void ctr_publish(struct ctr *c, enum ctr_event ev);

#endif
