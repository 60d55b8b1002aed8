/* The event stream: which changes of a container are events, the ring of
 * kept ones, filters, and berth events' times and text. */
#include <errno.h>
#include <string.h>

#include "check.h"
#include "cli/events.h"
#include "daemon/events.h"

#define T0 1765000000000000000LL /* ns */

static struct ctr make(const char *name, char *image)
{
	struct ctr c;
	memset(&c, 0, sizeof(c));
	c.def.name = (char *)name;
	c.def.image = image;
	c.state = CS_CREATED;
	return c;
}

/* The action of the event a change to state makes, or "" for none. */
static const char *step(struct ctr *c, enum ctr_state state, enum ctr_event ev, int64_t when)
{
	static char action[64];
	c->state = state;
	json_object *e = events_note(c, ev, when);
	json_object *v = NULL;
	snprintf(action, sizeof(action), "%s",
		 e != NULL && json_object_object_get_ex(e, "Action", &v) ? json_object_get_string(v) : "");
	json_object_put(e);
	return action;
}

static void test_a_life_of_events(void)
{
	events_reset();
	char image[] = "busybox";
	struct ctr c = make("web", image);
	CHECK(strcmp(step(&c, CS_CREATED, CTR_CHANGED, T0), "create") == 0);
	CHECK(strcmp(step(&c, CS_STARTING, CTR_CHANGED, T0 + 1), "") == 0);
	CHECK(strcmp(step(&c, CS_RUNNING, CTR_CHANGED, T0 + 2), "start") == 0);
	CHECK(strcmp(step(&c, CS_RUNNING, CTR_CHANGED, T0 + 3), "") == 0); /* nothing new */
	c.health = HEALTH_HEALTHY;
	CHECK(strcmp(step(&c, CS_RUNNING, CTR_HEALTH, T0 + 4), "health_status: healthy") == 0);
	CHECK(strcmp(step(&c, CS_STOPPING, CTR_CHANGED, T0 + 5), "stop") == 0);
	c.exit_code = 137;
	CHECK(strcmp(step(&c, CS_EXITED, CTR_CHANGED, T0 + 6), "die") == 0);
	CHECK(strcmp(step(&c, CS_EXITED, CTR_REMOVED, T0 + 7), "destroy") == 0);

	/* One that cannot start says so; one berthd adopted makes no "create". */
	struct ctr bad = make("bad", image);
	step(&bad, CS_CREATED, CTR_CHANGED, T0 + 8);
	strcpy(bad.error, "image nosuch is not in the store");
	CHECK(strcmp(step(&bad, CS_FAILED, CTR_CHANGED, T0 + 9), "fail") == 0);
	struct ctr old = make("old", image);
	old.state = CS_CREATED;
	events_seen(&old);
	CHECK(strcmp(step(&old, CS_CREATED, CTR_CHANGED, T0 + 10), "") == 0);
}

static int count(json_object *e, void *arg)
{
	(void)e;
	(*(int *)arg)++;
	return 0;
}

static int replayed(const char *req_text)
{
	json_object *req = json_tokener_parse(req_text);
	struct events_filter f;
	struct berr err = {0};
	int n = -1;
	if (events_filter_parse(req, &f, &err) == 0) {
		n = 0;
		events_replay(&f, count, &n);
	}
	json_object_put(req);
	return n;
}

static void test_filters_and_replay(void)
{
	/* Kept from the test before: 6 events of web, 2 of bad. */
	CHECK_EQ_INT(replayed("{\"since\": 1}"), 8);
	CHECK_EQ_INT(replayed("{\"since\": 1, \"filters\": {\"container\": [\"web\"]}}"), 6);
	CHECK_EQ_INT(replayed("{\"since\": 1, \"filters\": {\"container\": [\"web\", \"bad\"], \"event\": [\"die\", "
			      "\"fail\"]}}"),
		     2);
	CHECK_EQ_INT(replayed("{\"since\": 1, \"filters\": {\"event\": [\"health_status\"]}}"), 1);
	CHECK_EQ_INT(replayed("{\"since\": 1, \"filters\": {\"image\": [\"alpine\"]}}"), 0);
	CHECK_EQ_INT(replayed("{\"since\": 1, \"filters\": {\"type\": [\"network\"]}}"), 0);
	CHECK_EQ_INT(replayed("{\"since\": 1, \"filters\": {\"type\": [\"network\", \"container\"]}}"), 8);
	CHECK_EQ_INT(replayed("{\"since\": 1765000000000000003, \"until\": 1765000000000000006}"), 3);
	CHECK_EQ_INT(replayed("{\"since\": 1, \"filters\": {\"label\": [\"x\"]}}"), -1);
	CHECK_EQ_INT(replayed("{\"since\": 1, \"filters\": {\"event\": \"die\"}}"), -1);

	/* The ring keeps the last EVENTS_KEPT. */
	char image[] = "busybox";
	for (int i = 0; i < EVENTS_KEPT + 10; i++) {
		struct ctr c = make("many", image);
		step(&c, CS_CREATED, CTR_CHANGED, T0 + 100 + i);
	}
	CHECK_EQ_INT(replayed("{\"since\": 1}"), EVENTS_KEPT);
	CHECK_EQ_INT(replayed("{\"since\": 1, \"filters\": {\"container\": [\"web\"]}}"), 0);
	events_reset();
}

static void test_times_and_text(void)
{
	int64_t ns = 0;
	int64_t now = T0;
	CHECK_EQ_INT(events_parse_time("1765000000", now, &ns), 0);
	CHECK(ns == 1765000000LL * 1000000000LL);
	CHECK_EQ_INT(events_parse_time("1765000000.5", now, &ns), 0);
	CHECK(ns == 1765000000LL * 1000000000LL + 500000000LL);
	CHECK_EQ_INT(events_parse_time("10m", now, &ns), 0);
	CHECK(ns == now - 600LL * 1000000000LL);
	CHECK_EQ_INT(events_parse_time("2025-12-06T05:46:40Z", now, &ns), 0);
	CHECK(ns == 1764999999LL * 1000000000LL + 1000000000LL);
	CHECK_EQ_INT(events_parse_time("2025-12-06T05:46:40", now, &ns), -EINVAL);
	CHECK_EQ_INT(events_parse_time("yesterday", now, &ns), -EINVAL);
	CHECK_EQ_INT(events_parse_time("10y", now, &ns), -EINVAL);
	CHECK_EQ_INT(events_parse_time("3999999999h", now, &ns), -EINVAL); /* no overflow: before the epoch */
	CHECK_EQ_INT(events_parse_time("1765000000.5x", now, &ns), -EINVAL);
	CHECK_EQ_INT(events_parse_time("99999999999999999999", now, &ns), -EINVAL);

	char out[512];
	CHECK_EQ_INT(
		events_format("{\"Type\":\"container\",\"Action\":\"die\",\"Actor\":{\"ID\":\"web\",\"Attributes\":"
			      "{\"name\":\"web\",\"image\":\"busybox\",\"exitCode\":137}},\"timeNano\":"
			      "1765000000000000042}",
			      out, sizeof(out)),
		0);
	CHECK(strcmp(out, "2025-12-06T05:46:40.000000042Z container die web (image=busybox, name=web, exitCode=137)") ==
	      0);
	CHECK_EQ_INT(events_format("not json", out, sizeof(out)), -EINVAL);
	CHECK_EQ_INT(events_format("{\"Type\":\"container\"}", out, sizeof(out)), -EINVAL);
}

int main(void)
{
	RUN(test_a_life_of_events);
	RUN(test_filters_and_replay);
	RUN(test_times_and_text);
	return check_summary();
}
