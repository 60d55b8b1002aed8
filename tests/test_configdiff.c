/* What differs between two generations' YAML: each changed key reported
 * once, with how it changed; layout alone is no change; a trial only
 * when a setting that applies on trial (the network) changes. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "cli/configdiff.h"
#include "lib/yamltree.h"

#define SEEN_MAX 8

struct seen {
	size_t n;
	char keys[SEEN_MAX][32];
	enum configdiff_change changes[SEEN_MAX];
};

static void record(const char *key, enum configdiff_change change, void *ctx)
{
	struct seen *s = ctx;
	if (s->n < SEEN_MAX) {
		snprintf(s->keys[s->n], sizeof(s->keys[0]), "%s", key);
		s->changes[s->n] = change;
	}
	s->n++;
}

static int has(const struct seen *s, const char *key, enum configdiff_change change)
{
	for (size_t i = 0; i < s->n && i < SEEN_MAX; i++) {
		if (strcmp(s->keys[i], key) == 0) {
			return s->changes[i] == change;
		}
	}
	return 0;
}

/* Two host.yaml top levels parsed side by side; both freed by done(). */
struct pair {
	struct yt_doc old;
	struct yt_doc new;
};

static void done(struct pair *p)
{
	yt_free(&p->old);
	yt_free(&p->new);
}

static int load(struct pair *p, const char *old, const char *new)
{
	struct berr err = {0};
	memset(p, 0, sizeof(*p));
	int ret = yt_parse(&p->old, "old/host.yaml", old, strlen(old), &err);
	if (ret == 0) {
		ret = yt_parse(&p->new, "new/host.yaml", new, strlen(new), &err);
	}
	CHECK_EQ_INT(ret, 0);
	if (ret < 0) {
		done(p);
	}
	return ret;
}

#define BASE                                                               \
	"hostname: edge-01\n"                                              \
	"network:\n"                                                       \
	"  interfaces:\n"                                                  \
	"    eth0: {addresses: [192.168.1.10/24], gateway: 192.168.1.1}\n" \
	"  dns: [1.1.1.1]\n"                                               \
	"ntp: [pool.ntp.org]\n"

static void test_network_change_needs_trial(void)
{
	struct pair p;
	if (load(&p, BASE,
		 "hostname: edge-01\n"
		 "network:\n"
		 "  interfaces:\n"
		 "    eth0: {addresses: [192.168.1.11/24], gateway: 192.168.1.1}\n"
		 "  dns: [1.1.1.1]\n"
		 "ntp: [pool.ntp.org]\n") < 0) {
		return;
	}
	struct seen s = {0};
	CHECK_EQ_INT(configdiff_maps(p.old.root, p.new.root, record, &s), 1);
	CHECK(has(&s, "network", CONFIGDIFF_CHANGED));
	CHECK(configdiff_needs_trial(p.old.root, p.new.root));
	done(&p);
}

static void test_live_change_needs_no_trial(void)
{
	struct pair p;
	if (load(&p, BASE,
		 "hostname: edge-02\n"
		 "network:\n"
		 "  interfaces:\n"
		 "    eth0: {addresses: [192.168.1.10/24], gateway: 192.168.1.1}\n"
		 "  dns: [1.1.1.1]\n"
		 "ntp: [pool.ntp.org]\n") < 0) {
		return;
	}
	struct seen s = {0};
	CHECK_EQ_INT(configdiff_maps(p.old.root, p.new.root, record, &s), 1);
	CHECK(has(&s, "hostname", CONFIGDIFF_CHANGED));
	CHECK(!configdiff_needs_trial(p.old.root, p.new.root));
	done(&p);
}

/* Keys in another order, flow style for block style: nothing changed. */
static void test_layout_is_no_change(void)
{
	struct pair p;
	if (load(&p, BASE,
		 "ntp:\n"
		 "  - pool.ntp.org\n"
		 "network:\n"
		 "  dns: [1.1.1.1]\n"
		 "  interfaces:\n"
		 "    eth0:\n"
		 "      gateway: 192.168.1.1\n"
		 "      addresses:\n"
		 "        - 192.168.1.10/24\n"
		 "hostname: edge-01\n") < 0) {
		return;
	}
	struct seen s = {0};
	CHECK_EQ_INT(configdiff_maps(p.old.root, p.new.root, record, &s), 0);
	CHECK(!configdiff_needs_trial(p.old.root, p.new.root));
	done(&p);
}

/* New keys first in their order, then the removed ones. */
static void test_created_and_removed(void)
{
	struct pair p;
	if (load(&p, BASE, "hostname: edge-01\ntimezone: Europe/Paris\nsysctls: {vm.swappiness: '10'}\n") < 0) {
		return;
	}
	struct seen s = {0};
	CHECK_EQ_INT(configdiff_maps(p.old.root, p.new.root, record, &s), 4);
	CHECK(strcmp(s.keys[0], "timezone") == 0 && s.changes[0] == CONFIGDIFF_CREATED);
	CHECK(strcmp(s.keys[1], "sysctls") == 0 && s.changes[1] == CONFIGDIFF_CREATED);
	CHECK(strcmp(s.keys[2], "network") == 0 && s.changes[2] == CONFIGDIFF_REMOVED);
	CHECK(strcmp(s.keys[3], "ntp") == 0 && s.changes[3] == CONFIGDIFF_REMOVED);
	/* Taking the network away changes it as much as editing it does. */
	CHECK(configdiff_needs_trial(p.old.root, p.new.root));
	CHECK(configdiff_needs_trial(p.new.root, p.old.root));
	done(&p);
}

/* No host.yaml (or one that is not a mapping) has no settings: each of
 * the other side's is created or removed. */
static void test_missing_side(void)
{
	struct pair p;
	if (load(&p, "", "hostname: edge-01\n") < 0) {
		return;
	}
	struct seen s = {0};
	CHECK_EQ_INT(configdiff_maps(NULL, p.new.root, record, &s), 1);
	CHECK(has(&s, "hostname", CONFIGDIFF_CREATED));
	CHECK(!configdiff_needs_trial(p.old.root, p.new.root));
	done(&p);
	if (load(&p, "[a, list]\n", "network: {dns: [1.1.1.1]}\n") < 0) {
		return;
	}
	s = (struct seen){0};
	CHECK_EQ_INT(configdiff_maps(p.new.root, p.old.root, record, &s), 1);
	CHECK(has(&s, "network", CONFIGDIFF_REMOVED));
	CHECK(configdiff_needs_trial(p.old.root, p.new.root));
	CHECK_EQ_INT(configdiff_maps(NULL, NULL, record, &s), 0);
	done(&p);
}

int main(void)
{
	RUN(test_network_change_needs_trial);
	RUN(test_live_change_needs_no_trial);
	RUN(test_layout_is_no_change);
	RUN(test_created_and_removed);
	RUN(test_missing_side);
	return check_summary();
}
