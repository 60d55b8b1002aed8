/* berthd's container table (daemon/ctrtab.c): kept in the order of names,
 * found by name, and every deletion told to the observers before the
 * container is freed, also in a walk that deletes as it goes. */
#include <stdlib.h>

#include "check.h"
#include "daemon/ctrtab.h"

static char seen[256];

static void observer(struct ctr *c, enum ctr_event ev)
{
	static const char *const names[] = {"changed", "health", "removed"};
	size_t len = strlen(seen);
	snprintf(seen + len, sizeof(seen) - len, "%s %s;", names[ev], c->def.name);
}

static struct ctr *add(const char *name)
{
	struct ctr *c = ctr_new();
	CHECK(c != NULL);
	c->def.name = strdup(name);
	ctr_add(c);
	return c;
}

static void order(char *out, size_t size)
{
	out[0] = '\0';
	ctr_foreach(c) {
		size_t len = strlen(out);
		snprintf(out + len, size - len, "%s ", c->def.name);
	}
}

static void test_table(void)
{
	char names[128];
	CHECK(ctr_first() == NULL);
	CHECK_EQ_INT(ctr_observe(observer), 0);
	add("web");
	struct ctr *db = add("db");
	add("cache");
	add("worker");
	order(names, sizeof(names));
	CHECK(strcmp(names, "cache db web worker ") == 0);
	CHECK(ctr_find("db") == db);
	CHECK(ctr_find("d") == NULL);
	ctr_publish(db, CTR_HEALTH);
	CHECK(strcmp(seen, "health db;") == 0);
	seen[0] = '\0';
	ctr_delete(db);
	CHECK(strcmp(seen, "removed db;") == 0);
	CHECK(ctr_find("db") == NULL);
	seen[0] = '\0';
	ctr_foreach_safe(c, next) {
		if (c->def.name[0] == 'w') {
			ctr_delete(c);
		}
	}
	CHECK(strcmp(seen, "removed web;removed worker;") == 0);
	order(names, sizeof(names));
	CHECK(strcmp(names, "cache ") == 0);
	ctr_foreach_safe(c, next) {
		ctr_delete(c);
	}
	CHECK(ctr_first() == NULL);
}

int main(void)
{
	RUN(test_table);
	return check_summary();
}
