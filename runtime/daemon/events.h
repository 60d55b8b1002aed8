/* berthd's event stream (berth events): what happened to containers, as
 * docker's events say it (create, start, stop, die, health_status,
 * destroy). Events are kept in memory, the last EVENTS_KEPT of them (a
 * berthd restart forgets them, as docker's daemon does), and written as
 * JSON lines to the readers that asked for them. */
#ifndef BERTH_DAEMON_EVENTS_H
#define BERTH_DAEMON_EVENTS_H

#include <json-c/json.h>
#include <stdint.h>

#include "daemon/ctr.h"
#include "daemon/ctrtab.h"
#include "lib/berr.h"

#define EVENTS_KEPT 256
#define EVENTS_FILTER_VALUES 8

/* Which events a reader wants: within each key any value, every key given
 * (docker's --filter). An empty filter matches everything. */
struct events_filter {
	const char *containers[EVENTS_FILTER_VALUES];
	size_t ncontainers;
	const char *actions[EVENTS_FILTER_VALUES];
	size_t nactions;
	const char *images[EVENTS_FILTER_VALUES];
	size_t nimages;
	const char *types[EVENTS_FILTER_VALUES]; /* the event's Type */
	size_t ntypes;
	int64_t since_ns; /* 0: only what happens from now */
	int64_t until_ns; /* 0: no end */
};

/* The event a change of c makes (the caller's), or NULL when the change is
 * not one a reader sees; it is kept among the last EVENTS_KEPT. now_ns:
 * wall clock. */
json_object *events_note(struct ctr *c, enum ctr_event ev, int64_t now_ns);

/* Records c as the stream's readers know it, without an event (a container
 * that berthd adopted after a restart of its own). */
void events_seen(struct ctr *c);

/* Parses a request's "filters" ({"container": [...], "event": [...],
 * "image": [...]}), "since" and "until" (ns since the epoch) into f, which
 * borrows the request's strings. -EINVAL naming the field. */
int events_filter_parse(json_object *req, struct events_filter *f, struct berr *err);

int events_match(const json_object *event, const struct events_filter *f);

/* The kept events f matches, oldest first: fn(event, arg) for each until
 * it returns < 0 (returned). */
int events_replay(const struct events_filter *f, int (*fn)(json_object *event, void *arg), void *arg);

/* Forgets every kept event (tests). */
void events_reset(void);

#endif
