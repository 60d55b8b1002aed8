/* The event stream (see events.h): from changes of containers to events,
 * the ring of the last ones, and filters. */
#include "daemon/events.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static json_object *ring[EVENTS_KEPT];
static size_t ring_next; /* where the next event goes */
static size_t ring_count;

static void keep(json_object *event)
{
	json_object_put(ring[ring_next]);
	ring[ring_next] = json_object_get(event);
	ring_next = (ring_next + 1) % EVENTS_KEPT;
	if (ring_count < EVENTS_KEPT) {
		ring_count++;
	}
}

void events_reset(void)
{
	for (size_t i = 0; i < EVENTS_KEPT; i++) {
		json_object_put(ring[i]);
		ring[i] = NULL;
	}
	ring_next = 0;
	ring_count = 0;
}

/* The action a change is, or NULL: docker's names, and "fail" for a
 * container that could not be created or started (docker has no event
 * for it; Berth says it rather than nothing). */
static const char *state_action(const struct ctr *c, enum ctr_state was)
{
	enum ctr_state now = c->state;
	if (now == was) {
		return NULL;
	}
	int ran = was == CS_RUNNING || was == CS_STOPPING;
	switch (now) {
	case CS_RUNNING:
		return "start";
	case CS_STOPPING:
		return "stop";
	case CS_EXITED:
	case CS_RESTARTING:
		return ran ? "die" : NULL;
	case CS_FAILED:
		return ran ? "die" : "fail";
	default:
		return NULL;
	}
}

static const char *health_action(const struct ctr *c)
{
	if (c->health == c->ev_health) {
		return NULL;
	}
	switch (c->health) {
	case HEALTH_HEALTHY:
		return "health_status: healthy";
	case HEALTH_UNHEALTHY:
		return "health_status: unhealthy";
	default:
		return NULL;
	}
}

static const char *action_of(struct ctr *c, enum ctr_event ev)
{
	if (ev == CTR_REMOVED) {
		return c->ev_known ? "destroy" : NULL;
	}
	if (!c->ev_known) {
		/* Seen for the first time: a new one is created; one berthd
		 * adopted after a restart of its own just is. */
		return c->state == CS_CREATED ? "create" : NULL;
	}
	return ev == CTR_HEALTH ? health_action(c) : state_action(c, c->ev_state);
}

static void add_str(json_object *o, const char *key, const char *value)
{
	json_object_object_add(o, key, json_object_new_string(value != NULL ? value : ""));
}

static json_object *make_event(const struct ctr *c, const char *action, int64_t now_ns)
{
	json_object *attrs = json_object_new_object();
	add_str(attrs, "name", c->def.name);
	add_str(attrs, "image", c->def.image);
	if (c->def.service != NULL) {
		add_str(attrs, "service", c->def.service);
	}
	if (strcmp(action, "die") == 0) {
		json_object_object_add(attrs, "exitCode", json_object_new_int(c->exit_code));
		if (c->oom_killed) {
			json_object_object_add(attrs, "oomKilled", json_object_new_boolean(1));
		}
	}
	if (strcmp(action, "fail") == 0 && c->error[0] != '\0') {
		add_str(attrs, "error", c->error);
	}
	json_object *actor = json_object_new_object();
	add_str(actor, "ID", c->def.name);
	json_object_object_add(actor, "Attributes", attrs);
	json_object *o = json_object_new_object();
	add_str(o, "Type", "container");
	add_str(o, "Action", action);
	json_object_object_add(o, "Actor", actor);
	json_object_object_add(o, "time", json_object_new_int64(now_ns / 1000000000));
	json_object_object_add(o, "timeNano", json_object_new_int64(now_ns));
	return o;
}

void events_seen(struct ctr *c)
{
	c->ev_known = 1;
	c->ev_state = c->state;
	c->ev_health = c->health;
}

json_object *events_note(struct ctr *c, enum ctr_event ev, int64_t now_ns)
{
	const char *action = action_of(c, ev);
	events_seen(c);
	if (action == NULL || c->def.name == NULL) {
		return NULL;
	}
	json_object *o = make_event(c, action, now_ns);
	keep(o);
	return o;
}

/* ---- filters --------------------------------------------------------------------------------------------- */

static int parse_values(json_object *filters, const char *key, const char **out, size_t *n, struct berr *err)
{
	json_object *list = NULL;
	*n = 0;
	if (!json_object_object_get_ex(filters, key, &list)) {
		return 0;
	}
	if (!json_object_is_type(list, json_type_array) || json_object_array_length(list) > EVENTS_FILTER_VALUES) {
		return berr_setx(err, EINVAL, "filter %s: a list of at most %d values", key, EVENTS_FILTER_VALUES);
	}
	for (size_t i = 0; i < json_object_array_length(list); i++) {
		json_object *v = json_object_array_get_idx(list, i);
		if (!json_object_is_type(v, json_type_string)) {
			return berr_setx(err, EINVAL, "filter %s: values are strings", key);
		}
		out[(*n)++] = json_object_get_string(v);
	}
	return 0;
}

static int known_key(const char *key)
{
	return strcmp(key, "container") == 0 || strcmp(key, "event") == 0 || strcmp(key, "image") == 0 ||
	       strcmp(key, "type") == 0;
}

int events_filter_parse(json_object *req, struct events_filter *f, struct berr *err)
{
	memset(f, 0, sizeof(*f));
	json_object *filters = NULL;
	json_object *v = NULL;
	if (json_object_object_get_ex(req, "since", &v)) {
		f->since_ns = json_object_get_int64(v);
	}
	if (json_object_object_get_ex(req, "until", &v)) {
		f->until_ns = json_object_get_int64(v);
	}
	if (!json_object_object_get_ex(req, "filters", &filters) || filters == NULL) {
		return 0;
	}
	if (!json_object_is_type(filters, json_type_object)) {
		return berr_setx(err, EINVAL, "filters: an object of lists");
	}
	json_object_object_foreach(filters, key, val)
	{
		(void)val;
		if (!known_key(key)) {
			return berr_setx(err, EINVAL, "filter '%.64s': container, event, image or type", key);
		}
	}
	int ret = parse_values(filters, "container", f->containers, &f->ncontainers, err);
	if (ret == 0) {
		ret = parse_values(filters, "event", f->actions, &f->nactions, err);
	}
	if (ret == 0) {
		ret = parse_values(filters, "image", f->images, &f->nimages, err);
	}
	if (ret == 0) {
		ret = parse_values(filters, "type", f->types, &f->ntypes, err);
	}
	return ret;
}

static int one_of(const char *value, const char *const *list, size_t n)
{
	if (n == 0) {
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		if (value != NULL && strcmp(value, list[i]) == 0) {
			return 1;
		}
	}
	return 0;
}

static const char *field(const json_object *o, const char *key)
{
	json_object *v = NULL;
	return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : NULL;
}

int events_match(const json_object *event, const struct events_filter *f)
{
	json_object *actor = NULL;
	json_object *attrs = NULL;
	json_object *t = NULL;
	json_object_object_get_ex(event, "Actor", &actor);
	json_object_object_get_ex(actor, "Attributes", &attrs);
	json_object_object_get_ex(event, "timeNano", &t);
	int64_t when = json_object_get_int64(t);
	/* "health_status: healthy" is matched by "health_status" too, as docker does. */
	const char *action = field(event, "Action");
	char base[32] = "";
	if (action != NULL) {
		snprintf(base, sizeof(base), "%.*s", (int)strcspn(action, ":"), action);
	}
	return (f->since_ns == 0 || when >= f->since_ns) && (f->until_ns == 0 || when <= f->until_ns) &&
	       one_of(field(attrs, "name"), f->containers, f->ncontainers) &&
	       (one_of(action, f->actions, f->nactions) || one_of(base, f->actions, f->nactions)) &&
	       one_of(field(attrs, "image"), f->images, f->nimages) &&
	       one_of(field(event, "Type"), f->types, f->ntypes);
}

int events_replay(const struct events_filter *f, int (*fn)(json_object *event, void *arg), void *arg)
{
	size_t first = (ring_next + EVENTS_KEPT - ring_count) % EVENTS_KEPT;
	for (size_t i = 0; i < ring_count; i++) {
		json_object *e = ring[(first + i) % EVENTS_KEPT];
		if (events_match(e, f)) {
			int ret = fn(e, arg);
			if (ret < 0) {
				return ret;
			}
		}
	}
	return 0;
}
