/* Parsers of untrusted input stay linear: each case builds an input of n
 * and of 8n units (keys, anchors, variables, mounts) and parses both; the
 * CPU time of the large one must stay within LINEAR_MAX_RATIO times that of
 * the small one. Linear work gives a ratio of about 8, n log n a little
 * more; work that compares each key with every earlier one gives 64 and
 * fails. The best of three runs is kept, so that a busy machine does not
 * make a linear parser look quadratic. This asserts growth, not speed. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "compose/compose.h"
#include "compose/interp.h"
#include "lib/hostcfg.h"
#include "lib/yamltree.h"
#include "oci/config.h"
#include "check.h"

#define LINEAR_MAX_RATIO 24.0
#define RUNS 3

struct text {
	char *buf;
	size_t len;
	size_t cap;
};

__attribute__((format(printf, 2, 3))) static void put(struct text *t, const char *fmt, ...)
{
	va_list ap;
	for (;;) {
		va_start(ap, fmt);
		int n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < t->cap - t->len) {
			t->len += (size_t)n;
			return;
		}
		t->cap = t->cap ? t->cap * 2 : 4096;
		t->buf = realloc(t->buf, t->cap);
		if (t->buf == NULL) {
			abort();
		}
	}
}

static double cpu_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A case: makes the input for n units, and parses it. */
struct linear_case {
	const char *name;
	size_t n; /* small size; the large one is 8n */
	void (*make)(struct text *t, size_t n);
	void (*parse)(const struct text *t);
};

static double best_time(const struct linear_case *c, size_t n)
{
	struct text t = {0};
	put(&t, "%s", "");
	c->make(&t, n);
	double best = 1e9;
	for (int i = 0; i < RUNS; i++) {
		double start = cpu_seconds();
		c->parse(&t);
		double took = cpu_seconds() - start;
		best = took < best ? took : best;
	}
	free(t.buf);
	return best;
}

static void check_linear(const struct linear_case *c)
{
	double small = best_time(c, c->n);
	double large = best_time(c, 8 * c->n);
	/* Below the clock's grain a ratio says nothing: count 1 ms at least. */
	double ratio = large / (small > 1e-3 ? small : 1e-3);
	printf("     %s: n=%zu %.4f s, 8n %.4f s, ratio %.1f\n", c->name, c->n, small, large, ratio);
	CHECK(ratio < LINEAR_MAX_RATIO);
}

/* ---- the parsers ------------------------------------------------------------- */

static void parse_compose(const struct text *t)
{
	static struct compose_vars vars;
	struct compose_options o = {.file_name = "compose.yaml", .dir = "/nonexistent", .vars = &vars};
	struct compose_project p;
	struct berr err = {0};
	int ret = compose_parse(&p, t->buf, t->len, &o, &err);
	if (ret != 0) {
		fprintf(stderr, "  compose_parse: %d %s %s\n", ret, err.msg, p.nproblems ? p.problems[0].msg : "");
	}
	CHECK_EQ_INT(ret, 0);
	compose_free(&p);
}

static void parse_yaml(const struct text *t)
{
	struct yt_doc doc;
	struct berr err = {0};
	CHECK_EQ_INT(yt_parse(&doc, "x.yaml", t->buf, t->len, &err), 0);
	yt_free(&doc);
}

static void parse_dotenv(const struct text *t)
{
	struct compose_vars vars = {0};
	struct berr err = {0};
	int ret = compose_dotenv_parse(&vars, NULL, ".env", t->buf, t->len, &err);
	if (ret < 0) {
		fprintf(stderr, "  dotenv: %s\n", err.msg);
	}
	CHECK_EQ_INT(ret, 0);
	compose_vars_free(&vars);
}

static void parse_hostcfg(const struct text *t)
{
	struct host_config c;
	hostcfg_parse(&c, "host.yaml", t->buf, t->len);
	hostcfg_free(&c);
}

static void parse_oci(const struct text *t)
{
	struct oci_config cfg;
	struct berr err = {0};
	int ret = oci_config_parse(&cfg, "config.json", t->buf, t->len, &err);
	if (ret < 0) {
		fprintf(stderr, "  oci: %s\n", err.msg);
	}
	CHECK_EQ_INT(ret, 0);
	oci_config_free(&cfg);
}

/* ---- the inputs ---------------------------------------------------------------- */

static void env_map(struct text *t, size_t n)
{
	put(t, "services:\n  a:\n    image: busybox\n    environment:\n");
	for (size_t i = 0; i < n; i++) {
		put(t, "      KEY_%zu: value%zu\n", i, i);
	}
}

static void env_list(struct text *t, size_t n)
{
	put(t, "services:\n  a:\n    image: busybox\n    environment:\n");
	for (size_t i = 0; i < n; i++) {
		put(t, "      - KEY_%zu=value%zu\n", i, i);
	}
}

static void extension_map(struct text *t, size_t n)
{
	put(t, "services:\n  a:\n    image: busybox\nx-big:\n");
	for (size_t i = 0; i < n; i++) {
		put(t, "  k%zu: v%zu\n", i, i);
	}
}

static void labels_merged(struct text *t, size_t n)
{
	put(t, "x-base: &base\n");
	for (size_t i = 0; i < n; i++) {
		put(t, "  L%zu: v%zu\n", i, i);
	}
	put(t, "services:\n  a:\n    image: busybox\n    labels:\n      <<: *base\n");
	for (size_t i = 0; i < n; i += 2) {
		put(t, "      L%zu: own%zu\n", i, i);
	}
}

static void anchors(struct text *t, size_t n)
{
	put(t, "defs:\n");
	for (size_t i = 0; i < n; i++) {
		put(t, "  - &anchor_%zu v%zu\n", i, i);
	}
	put(t, "uses:\n");
	for (size_t i = 0; i < n; i++) {
		put(t, "  - *anchor_%zu\n", n - 1 - i);
	}
}

static void dotenv(struct text *t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		put(t, "VAR_%zu=${VAR_%zu:-x}$VAR_0\n", i, i / 2);
	}
}

static void host_yaml(struct text *t, size_t n)
{
	put(t, "hostname: big\nsysctls:\n");
	for (size_t i = 0; i < n; i++) {
		put(t, "  net.x%zu: 1\n", i);
	}
}

static void oci_json(struct text *t, size_t n)
{
	put(t, "{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"rootfs\"},\"process\":{\"cwd\":\"/\",\"args\":[\"sh\"],"
	       "\"user\":{\"uid\":0,\"gid\":0},"
	       "\"env\":[");
	for (size_t i = 0; i < n; i++) {
		put(t, "%s\"V%zu=x\"", i ? "," : "", i);
	}
	put(t, "]},\"mounts\":[");
	for (size_t i = 0; i < n; i++) {
		put(t, "%s{\"destination\":\"/m/%zu\",\"type\":\"tmpfs\",\"source\":\"tmpfs\"}", i ? "," : "", i);
	}
	put(t, "]}");
}

static const struct linear_case cases[] = {
	{"compose environment mapping", 1500, env_map, parse_compose},
	{"compose environment list", 1500, env_list, parse_compose},
	{"compose extension mapping", 3000, extension_map, parse_compose},
	{"compose merge keys", 300, labels_merged, parse_compose},
	{"YAML anchors and aliases", 1200, anchors, parse_yaml},
	{"dotenv variables", 500, dotenv, parse_dotenv},
	{"host.yaml sysctls", 3000, host_yaml, parse_hostcfg},
	{"OCI config env and mounts", 1000, oci_json, parse_oci},
};

static void test_parsers_are_linear(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		check_linear(&cases[i]);
	}
}

int main(void)
{
	RUN(test_parsers_are_linear);
	return check_summary();
}
