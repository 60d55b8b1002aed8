/* The parser's common ground (see parse.h): recording problems, reading
 * scalars, lists and mappings of the YAML tree (with merge keys applied by
 * building a new index of a mapping's keys, never by changing the tree),
 * and the key tables that read a mapping of known keys. */
#include "compose/parse.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "compose/formats.h"
#include "lib/strmap.h"

#define MERGE_MAX_KEYS 4096   /* keys of one mapping after merging */
#define MERGE_MAX_WORK 200000 /* merged entries built for a whole file */
#define MERGE_MAX_DEPTH 16    /* merges of merges */

void cx_fmt(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (vsnprintf(buf, size, fmt, ap) < 0) {
		buf[0] = '\0';
	}
	va_end(ap);
}

/* ---- problems ------------------------------------------------------------------ */

static void add_problem(struct ctx *x, int error, const char *msg)
{
	struct compose_project *p = x->p;
	if (error) {
		p->nerrors++;
	} else {
		p->nwarnings++;
	}
	if (p->nproblems >= COMPOSE_MAX_PROBLEMS) {
		return;
	}
	struct compose_problem *pr = &p->problems[p->nproblems];
	pr->msg = arena_strdup(&p->arena, msg);
	if (pr->msg == NULL) {
		x->nomem = 1;
		return;
	}
	pr->error = error;
	pr->service = error ? (char *)x->service : NULL;
	p->nproblems++;
}

/* "file:line: SCOPE.FIELD: message", or "file:line: message" outside any
 * scope and field. */
__attribute__((format(printf, 5, 0))) static void vproblem(struct ctx *x, int error, int line, const char *field,
							   const char *fmt, va_list ap)
{
	char msg[700];
	if (vsnprintf(msg, sizeof(msg), fmt, ap) < 0) {
		msg[0] = '\0';
	}
	char full[1100];
	field = field ? field : "";
	if (x->scope[0] == '\0' && field[0] == '\0') {
		cx_fmt(full, sizeof(full), "%s:%d: %s", x->file, line, msg);
	} else {
		cx_fmt(full, sizeof(full), "%s:%d: %s%s%s: %s", x->file, line, x->scope,
		       x->scope[0] && field[0] ? "." : "", field, msg);
	}
	add_problem(x, error, full);
	if (error) {
		x->failed = 1;
	}
}

int cx_oom(struct ctx *x)
{
	x->nomem = 1;
	x->failed = 1;
	return -1;
}

int cx_fail(struct ctx *x, const struct yt_node *n, const char *field, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vproblem(x, 1, n ? n->line : 0, field, fmt, ap);
	va_end(ap);
	return -1;
}

int cx_fail_at(struct ctx *x, int line, const char *field, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vproblem(x, 1, line, field, fmt, ap);
	va_end(ap);
	return -1;
}

void cx_warn(struct ctx *x, const struct yt_node *n, const char *field, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vproblem(x, 0, n ? n->line : 0, field, fmt, ap);
	va_end(ap);
}

/* Compose substitutes "" for an unset variable and warns; each variable
 * is named once per line (aliases may read one node many times). */
void cx_on_unset(void *ctx, const char *name)
{
	struct ctx *x = ctx;
	char msg[400];
	cx_fmt(msg, sizeof(msg), "%s:%d: variable %s is not set; using an empty string", x->file, x->line, name);
	for (size_t i = 0; i < x->p->nproblems; i++) {
		if (!x->p->problems[i].error && strcmp(x->p->problems[i].msg, msg) == 0) {
			return;
		}
	}
	add_problem(x, 0, msg);
}

/* ---- reading the tree ------------------------------------------------------------------- */

char *cx_strdup(struct ctx *x, const char *s)
{
	char *c = arena_strdup(&x->p->arena, s);
	if (c == NULL) {
		cx_oom(x);
	}
	return c;
}

void *cx_alloc(struct ctx *x, size_t n, size_t size)
{
	if (n != 0 && size > SIZE_MAX / n) {
		cx_oom(x);
		return NULL;
	}
	void *p = arena_alloc(&x->p->arena, n * size + 1);
	if (p == NULL) {
		cx_oom(x);
	}
	return p;
}

/* The interpolated text of a scalar (numbers and booleans as written). */
int cx_str(struct ctx *x, const struct yt_node *n, const char *field, char **out)
{
	if (n == NULL || n->kind != YT_SCALAR || yt_is_null(n)) {
		return cx_fail(x, n, field, "expected a string, got %s", yt_kind_name(n));
	}
	x->line = n->line;
	char *s;
	struct berr e;
	if (compose_interpolate(&x->interp, n->value, &s, &e) < 0) {
		if (e.code == ENOMEM) {
			return cx_oom(x);
		}
		return cx_fail(x, n, field, "%s", e.msg);
	}
	*out = cx_strdup(x, s);
	free(s);
	return *out ? 0 : -1;
}

int cx_bool(struct ctx *x, const struct yt_node *n, const char *field, int *out)
{
	static const char *const yes[] = {"true", "yes", "on"};
	static const char *const no[] = {"false", "no", "off"};
	char *s;
	if (n == NULL || n->kind != YT_SCALAR || yt_is_null(n)) {
		return cx_fail(x, n, field, "expected true or false, got %s", yt_kind_name(n));
	}
	if (cx_str(x, n, field, &s) < 0) {
		return -1;
	}
	for (size_t i = 0; i < 3; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	return cx_fail(x, n, field, "expected true or false, got '%.100s'", s);
}

int cx_int(struct ctx *x, const struct yt_node *n, const char *field, long long min, long long max, long long *out)
{
	char *s;
	if (n == NULL || n->kind != YT_SCALAR || yt_is_null(n)) {
		return cx_fail(x, n, field, "expected a number, got %s", yt_kind_name(n));
	}
	if (cx_str(x, n, field, &s) < 0) {
		return -1;
	}
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0') {
		return cx_fail(x, n, field, "expected a whole number, got '%.100s'", s);
	}
	if (v < min || v > max) {
		return cx_fail(x, n, field, "%lld is out of range (%lld to %lld)", v, min, max);
	}
	*out = v;
	return 0;
}

int cx_duration(struct ctx *x, const struct yt_node *n, const char *field, int64_t *out)
{
	char *s;
	if (cx_str(x, n, field, &s) < 0) {
		return -1;
	}
	if (compose_parse_duration(s, out) < 0) {
		return cx_fail(x, n, field, "expected a duration like 1m30s, 10s or 500ms, got '%.100s'", s);
	}
	return 0;
}

int cx_bytes(struct ctx *x, const struct yt_node *n, const char *field, int64_t *out)
{
	char *s;
	if (cx_str(x, n, field, &s) < 0) {
		return -1;
	}
	if (compose_parse_bytes(s, out) < 0) {
		return cx_fail(x, n, field, "expected a size like 512m, 1g, 100k or a number of bytes, got '%.100s'",
			       s);
	}
	return 0;
}

static int is_merge_key(const struct yt_node *k)
{
	return k->plain && strcmp(k->value, "<<") == 0;
}

static int merged(struct ctx *x, const struct yt_node *n, const char *field, int depth, const struct yt_node **out);

/* Adds k -> v to m unless m has k (have indexes m's keys). */
static int merge_entry(struct yt_node *m, size_t cap, struct strmap *have, struct yt_node *k, struct yt_node *v)
{
	int r = strmap_add(have, k->value, k->len, (void *)(uintptr_t)(m->count + 1), NULL);
	if (r < 0 || (r == 0 && m->count == cap)) {
		return -1;
	}
	if (r == 0) {
		m->keys[m->count] = k;
		m->items[m->count] = v;
		m->count++;
	}
	return 0;
}

/* A mapping with its merge keys applied, as a new index over the shared
 * nodes. `<<` takes a mapping (an alias, usually) or a list of them. */
static int merged(struct ctx *x, const struct yt_node *n, const char *field, int depth, const struct yt_node **out)
{
	const struct yt_node *mk = NULL;
	for (size_t i = 0; i < n->count; i++) {
		if (is_merge_key(n->keys[i])) {
			mk = n->items[i];
		}
	}
	if (mk == NULL) {
		*out = n;
		return 0;
	}
	if (depth >= MERGE_MAX_DEPTH) {
		return cx_fail(x, mk, field, "merge keys nested more than %d deep", MERGE_MAX_DEPTH);
	}
	const struct yt_node *const *srcs = &mk;
	size_t nsrcs = 1;
	if (mk->kind == YT_SEQ) {
		srcs = (const struct yt_node *const *)mk->items;
		nsrcs = mk->count;
	}
	const struct yt_node **resolved = cx_alloc(x, nsrcs, sizeof(*resolved));
	if (resolved == NULL) {
		return -1;
	}
	size_t total = n->count;
	for (size_t i = 0; i < nsrcs; i++) {
		if (srcs[i]->kind != YT_MAP) {
			return cx_fail(x, srcs[i], field,
				       "<<: expected a mapping (an alias like *base) or a list of them");
		}
		if (merged(x, srcs[i], field, depth + 1, &resolved[i]) < 0) {
			return -1;
		}
		total += resolved[i]->count;
	}
	x->merge_work += total;
	if (total > MERGE_MAX_KEYS || x->merge_work > MERGE_MAX_WORK) {
		return cx_fail(x, mk, field, "merge keys make too large a mapping");
	}
	struct yt_node *m = cx_alloc(x, 1, sizeof(*m));
	if (m == NULL) {
		return -1;
	}
	*m = *n;
	m->count = 0;
	m->keys = cx_alloc(x, total, sizeof(*m->keys));
	m->items = cx_alloc(x, total, sizeof(*m->items));
	if (m->keys == NULL || m->items == NULL) {
		return -1;
	}
	struct strmap *have = cx_alloc(x, 1, sizeof(*have));
	if (have == NULL) {
		return -1;
	}
	strmap_init(have, &x->p->arena);
	if (strmap_reserve(have, total) < 0) {
		cx_oom(x);
		return -1;
	}
	/* The mapping's own keys win over all, then earlier sources. */
	int bad = 0;
	for (size_t i = 0; i < n->count && !bad; i++) {
		if (!is_merge_key(n->keys[i])) {
			bad = merge_entry(m, total, have, n->keys[i], n->items[i]) < 0;
		}
	}
	for (size_t i = 0; i < nsrcs && !bad; i++) {
		for (size_t j = 0; j < resolved[i]->count && !bad; j++) {
			bad = merge_entry(m, total, have, resolved[i]->keys[j], resolved[i]->items[j]) < 0;
		}
	}
	if (bad) {
		return cx_fail(x, mk, field, "merge keys make too large a mapping");
	}
	m->index = have;
	*out = m;
	return 0;
}

int cx_map(struct ctx *x, const struct yt_node *n, const char *field, const struct yt_node **out)
{
	if (n == NULL || n->kind != YT_MAP) {
		return cx_fail(x, n, field, "expected a mapping, got %s", yt_kind_name(n));
	}
	return merged(x, n, field, 0, out);
}

int cx_is_extension(const struct yt_node *key)
{
	return strncmp(key->value, "x-", 2) == 0;
}

const char *cx_var(const struct ctx *x, const char *name)
{
	const char *v = compose_vars_get(x->interp.vars, name);
	return v != NULL ? v : compose_vars_get(x->interp.fallback, name);
}

/* A list of strings; a lone string too when allow_string. On error the
 * list is left empty: invalid services are still looked at (profiles,
 * names), never with half a list. */
int cx_strlist(struct ctx *x, const struct yt_node *n, const char *field, int allow_string, char ***out, size_t *count)
{
	*out = NULL;
	*count = 0;
	if (n != NULL && n->kind == YT_SCALAR && allow_string && !yt_is_null(n)) {
		char **v = cx_alloc(x, 2, sizeof(*v));
		if (v == NULL || cx_str(x, n, field, &v[0]) < 0) {
			return -1;
		}
		*out = v;
		*count = 1;
		return 0;
	}
	if (n == NULL || n->kind != YT_SEQ) {
		return cx_fail(x, n, field, "expected a list%s, got %s", allow_string ? " or a string" : "",
			       yt_kind_name(n));
	}
	char **v = cx_alloc(x, n->count + 1, sizeof(*v));
	if (v == NULL) {
		return -1;
	}
	int ret = 0;
	for (size_t i = 0; i < n->count; i++) {
		if (cx_str(x, n->items[i], field, &v[i]) < 0) {
			ret = -1;
		}
	}
	if (ret == 0) {
		*out = v;
		*count = n->count;
	}
	return ret;
}

/* A mapping of keys to scalars, or a list of "KEY=VALUE" (a missing
 * "=VALUE" gives ""). */
int cx_kvlist(struct ctx *x, const struct yt_node *n, const char *field, struct compose_kv **out, size_t *count)
{
	struct compose_kv *kv;
	*count = 0;
	if (n != NULL && n->kind == YT_SEQ) {
		kv = cx_alloc(x, n->count, sizeof(*kv));
		if (kv == NULL) {
			return -1;
		}
		for (size_t i = 0; i < n->count; i++) {
			char *s;
			if (cx_str(x, n->items[i], field, &s) < 0) {
				return -1;
			}
			if (s[0] == '\0' || s[0] == '=') {
				return cx_fail(x, n->items[i], field, "expected KEY=VALUE, got '%.100s'", s);
			}
			char *eq = strchr(s, '=');
			if (eq != NULL) {
				*eq = '\0';
			}
			kv[i].key = s;
			kv[i].value = eq ? eq + 1 : "";
		}
		*out = kv;
		*count = n->count;
		return 0;
	}
	const struct yt_node *m;
	if (n == NULL || n->kind != YT_MAP) {
		return cx_fail(x, n, field, "expected a mapping or a list of KEY=VALUE, got %s", yt_kind_name(n));
	}
	if (cx_map(x, n, field, &m) < 0) {
		return -1;
	}
	kv = cx_alloc(x, m->count, sizeof(*kv));
	if (kv == NULL) {
		return -1;
	}
	size_t k = 0;
	for (size_t i = 0; i < m->count; i++) {
		kv[k].key = cx_strdup(x, m->keys[i]->value);
		if (kv[k].key == NULL) {
			return -1;
		}
		if (yt_is_null(m->items[i])) {
			kv[k].value = "";
		} else if (m->items[i]->kind != YT_SCALAR) {
			char f[300];
			cx_fmt(f, sizeof(f), "%s.%s", field, m->keys[i]->value);
			return cx_fail(x, m->items[i], f, "expected a string or a number, got %s",
				       yt_kind_name(m->items[i]));
		} else if (cx_str(x, m->items[i], field, &kv[k].value) < 0) {
			return -1;
		}
		k++;
	}
	*out = kv;
	*count = k;
	return 0;
}

/* Lexically cleans path, made absolute against base: no empty, "." or
 * ".." components (".." at the root stays at the root). */
char *cx_path(struct ctx *x, const char *base, const char *path)
{
	char joined[CX_PATH_LEN * 2];
	if (path[0] == '/') {
		cx_fmt(joined, sizeof(joined), "%s", path);
	} else {
		cx_fmt(joined, sizeof(joined), "%s/%s", base, path);
	}
	if (strlen(joined) >= CX_PATH_LEN) {
		return NULL;
	}
	char out[CX_PATH_LEN + 1];
	size_t len = 0;
	const char *p = joined;
	while (*p) {
		while (*p == '/') {
			p++;
		}
		const char *c = p;
		while (*p && *p != '/') {
			p++;
		}
		size_t clen = (size_t)(p - c);
		if (clen == 0 || (clen == 1 && c[0] == '.')) {
			continue;
		}
		if (clen == 2 && c[0] == '.' && c[1] == '.') {
			while (len > 0 && out[len - 1] != '/') {
				len--;
			}
			if (len > 0) {
				len--;
			}
			continue;
		}
		out[len++] = '/';
		memcpy(out + len, c, clen);
		len += clen;
	}
	if (len == 0) {
		out[len++] = '/';
	}
	out[len] = '\0';
	return cx_strdup(x, out);
}

/* ---- key tables ------------------------------------------------------------------------ */

static const struct cx_rule *find_rule(const struct cx_rules *r, const char *name)
{
	for (size_t i = 0; i < r->n; i++) {
		if (strcmp(r->rule[i].name, name) == 0) {
			return &r->rule[i];
		}
	}
	return NULL;
}

static int read_rule(struct ctx *x, const struct cx_rule *rule, const struct yt_node *key, const struct yt_node *v,
		     const char *field, const char *key_field, void *obj)
{
	void *at = (char *)obj + rule->offset;
	long long n;
	switch (rule->type) {
	case CX_BOOL:
		return cx_bool(x, v, field, at);
	case CX_INT:
		if (cx_int(x, v, field, rule->min, rule->max, &n) < 0) {
			return -1;
		}
		*(int *)at = (int)n;
		return 0;
	case CX_DURATION:
		return cx_duration(x, v, field, at);
	case CX_BYTES:
		return cx_bytes(x, v, field, at);
	case CX_STR:
		return cx_str(x, v, field, at);
	case CX_FN:
		return rule->fn(x, obj, v, field);
	case CX_IGNORED:
		return 0;
	case CX_REFUSED:
		return cx_fail(x, key, key_field, "unsupported key '%s' (%s)", key->value, rule->why);
	}
	return -1;
}

int cx_fields(struct ctx *x, const struct yt_node *m, const char *field, const struct cx_rules *r, void *obj)
{
	const char *key_field = r->key_field ? r->key_field : field;
	int bad = 0;
	for (size_t i = 0; i < m->count && !(bad && r->stop); i++) {
		const struct yt_node *key = m->keys[i];
		if (cx_is_extension(key)) {
			continue;
		}
		const struct cx_rule *rule = find_rule(r, key->value);
		if (rule == NULL && r->hint != NULL) {
			bad |= cx_fail(x, key, key_field, "unsupported key '%.100s' (%s)", key->value, r->hint) < 0;
		} else if (rule == NULL) {
			bad |= cx_fail(x, key, key_field, "unknown key '%.100s'", key->value) < 0;
		} else {
			char f[200];
			if (field != NULL) {
				cx_fmt(f, sizeof(f), "%s.%s", field, key->value);
			} else {
				cx_fmt(f, sizeof(f), "%s", key->value);
			}
			bad |= read_rule(x, rule, key, m->items[i], f, key_field, obj) < 0;
		}
	}
	return bad ? -1 : 0;
}
