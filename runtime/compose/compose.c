/* compose.yaml (see compose.h): reading the YAML tree into the project
 * model. Each service is parsed key by key and every problem is recorded,
 * so that `berth config check` shows them all at once; a service with a
 * problem is marked invalid, the rest of the file stays usable.
 *
 * Values are interpolated when they are read, not in the tree: aliases
 * share nodes, and interpolating a shared node in place would expand `$$`
 * twice. Merge keys are applied by building a new index of a mapping's
 * keys, never by changing the tree. */
#include "compose/compose.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compose/formats.h"
#include "compose/graph.h"
#include "compose/shlex.h"
#include "lib/cleanup.h"
#include "lib/fsutil.h"
#include "lib/signame.h"
#include "lib/yamltree.h"

#define MERGE_MAX_KEYS 4096   /* keys of one mapping after merging */
#define MERGE_MAX_WORK 200000 /* merged entries built for a whole file */
#define MERGE_MAX_DEPTH 16    /* merges of merges */
#define MIN_MEMORY (6 << 20)  /* Docker's lower bound for mem_limit */
#define PATH_LEN 4096

struct svc_scratch {
	struct compose_env *file_env; /* env_file, merged */
	size_t nfile_env;
	size_t cap_file_env;
	struct compose_env *inline_env; /* environment */
	size_t ninline_env;
	struct compose_mount *volumes;
	size_t nvolumes;
	struct compose_mount *tmpfs;
	size_t ntmpfs;
	const struct yt_node *memswap;
	const struct yt_node *healthcheck;
	const struct yt_node *networks;
};

struct ctx {
	struct compose_project *p;
	const struct yt_doc *doc;
	const struct compose_options *opt;
	struct compose_interp interp;
	char scope[300];     /* "services.web", "volumes.data", "" */
	const char *service; /* problems found now make this service invalid */
	struct svc_scratch *sc;
	int line;   /* of the value being interpolated, for warnings */
	int failed; /* the current entry has a problem */
	int nomem;
	size_t merge_work;
};

__attribute__((format(printf, 3, 4))) static void sfmt(char *buf, size_t size, const char *fmt, ...)
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

static int oom(struct ctx *x)
{
	x->nomem = 1;
	x->failed = 1;
	return -1;
}

/* Records "file:line: SCOPE.FIELD: message" and marks the entry failed. */
__attribute__((format(printf, 4, 5))) static int fail(struct ctx *x, const struct yt_node *n, const char *field,
						      const char *fmt, ...)
{
	char msg[700];
	va_list ap;
	va_start(ap, fmt);
	if (vsnprintf(msg, sizeof(msg), fmt, ap) < 0) {
		msg[0] = '\0';
	}
	va_end(ap);
	char full[1100];
	int line = n ? n->line : 0;
	field = field ? field : "";
	if (x->scope[0] == '\0' && field[0] == '\0') {
		sfmt(full, sizeof(full), "%s:%d: %s", x->p->file, line, msg);
	} else {
		sfmt(full, sizeof(full), "%s:%d: %s%s%s: %s", x->p->file, line, x->scope,
		     x->scope[0] && field[0] ? "." : "", field, msg);
	}
	add_problem(x, 1, full);
	x->failed = 1;
	return -1;
}

__attribute__((format(printf, 4, 5))) static void warn(struct ctx *x, const struct yt_node *n, const char *field,
						       const char *fmt, ...)
{
	char msg[700];
	va_list ap;
	va_start(ap, fmt);
	if (vsnprintf(msg, sizeof(msg), fmt, ap) < 0) {
		msg[0] = '\0';
	}
	va_end(ap);
	char full[1100];
	field = field ? field : "";
	if (x->scope[0] == '\0' && field[0] == '\0') {
		sfmt(full, sizeof(full), "%s:%d: %s", x->p->file, n ? n->line : 0, msg);
	} else {
		sfmt(full, sizeof(full), "%s:%d: %s%s%s: %s", x->p->file, n ? n->line : 0, x->scope,
		     x->scope[0] && field[0] ? "." : "", field, msg);
	}
	add_problem(x, 0, full);
}

/* Compose substitutes "" for an unset variable and warns; each variable
 * is named once per line (aliases may read one node many times). */
static void on_unset(void *ctx, const char *name)
{
	struct ctx *x = ctx;
	char msg[400];
	sfmt(msg, sizeof(msg), "%s:%d: variable %s is not set; using an empty string", x->p->file, x->line, name);
	for (size_t i = 0; i < x->p->nproblems; i++) {
		if (!x->p->problems[i].error && strcmp(x->p->problems[i].msg, msg) == 0) {
			return;
		}
	}
	add_problem(x, 0, msg);
}

/* ---- reading the tree ------------------------------------------------------------------- */

static const char *kind_name(const struct yt_node *n)
{
	if (yt_is_null(n)) {
		return "nothing";
	}
	switch (n->kind) {
	case YT_MAP:
		return "a mapping";
	case YT_SEQ:
		return "a list";
	case YT_SCALAR:
		return "a scalar";
	}
	return "?";
}

static char *xstrdup(struct ctx *x, const char *s)
{
	char *c = arena_strdup(&x->p->arena, s);
	if (c == NULL) {
		oom(x);
	}
	return c;
}

static void *xalloc(struct ctx *x, size_t n, size_t size)
{
	if (n != 0 && size > SIZE_MAX / n) {
		oom(x);
		return NULL;
	}
	void *p = arena_alloc(&x->p->arena, n * size + 1);
	if (p == NULL) {
		oom(x);
	}
	return p;
}

/* The interpolated text of a scalar (numbers and booleans as written). */
static int str(struct ctx *x, const struct yt_node *n, const char *field, char **out)
{
	if (n == NULL || n->kind != YT_SCALAR || yt_is_null(n)) {
		return fail(x, n, field, "expected a string, got %s", kind_name(n));
	}
	x->line = n->line;
	char *s;
	struct berr e;
	if (compose_interpolate(&x->interp, n->value, &s, &e) < 0) {
		if (e.code == ENOMEM) {
			return oom(x);
		}
		return fail(x, n, field, "%s", e.msg);
	}
	*out = xstrdup(x, s);
	free(s);
	return *out ? 0 : -1;
}

static int boolean(struct ctx *x, const struct yt_node *n, const char *field, int *out)
{
	static const char *const yes[] = {"true", "yes", "on"};
	static const char *const no[] = {"false", "no", "off"};
	char *s;
	if (n == NULL || n->kind != YT_SCALAR || yt_is_null(n)) {
		return fail(x, n, field, "expected true or false, got %s", kind_name(n));
	}
	if (str(x, n, field, &s) < 0) {
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
	return fail(x, n, field, "expected true or false, got '%.100s'", s);
}

static int integer(struct ctx *x, const struct yt_node *n, const char *field, long long min, long long max,
		   long long *out)
{
	char *s;
	if (n == NULL || n->kind != YT_SCALAR || yt_is_null(n)) {
		return fail(x, n, field, "expected a number, got %s", kind_name(n));
	}
	if (str(x, n, field, &s) < 0) {
		return -1;
	}
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0') {
		return fail(x, n, field, "expected a whole number, got '%.100s'", s);
	}
	if (v < min || v > max) {
		return fail(x, n, field, "%lld is out of range (%lld to %lld)", v, min, max);
	}
	*out = v;
	return 0;
}

static int duration(struct ctx *x, const struct yt_node *n, const char *field, int64_t *out)
{
	char *s;
	if (str(x, n, field, &s) < 0) {
		return -1;
	}
	if (compose_parse_duration(s, out) < 0) {
		return fail(x, n, field, "expected a duration like 1m30s, 10s or 500ms, got '%.100s'", s);
	}
	return 0;
}

static int bytesize(struct ctx *x, const struct yt_node *n, const char *field, int64_t *out)
{
	char *s;
	if (str(x, n, field, &s) < 0) {
		return -1;
	}
	if (compose_parse_bytes(s, out) < 0) {
		return fail(x, n, field, "expected a size like 512m, 1g, 100k or a number of bytes, got '%.100s'", s);
	}
	return 0;
}

static int is_merge_key(const struct yt_node *k)
{
	return k->plain && strcmp(k->value, "<<") == 0;
}

static int merged(struct ctx *x, const struct yt_node *n, const char *field, int depth, const struct yt_node **out);

/* Adds the keys of src that m does not have yet (earlier sources win, and
 * the mapping's own keys win over all). */
static int merge_into(struct ctx *x, struct yt_node *m, size_t cap, const struct yt_node *src)
{
	for (size_t i = 0; i < src->count; i++) {
		int have = 0;
		for (size_t j = 0; j < m->count; j++) {
			if (strcmp(m->keys[j]->value, src->keys[i]->value) == 0) {
				have = 1;
				break;
			}
		}
		if (!have) {
			if (m->count == cap) {
				return -1;
			}
			m->keys[m->count] = src->keys[i];
			m->items[m->count] = src->items[i];
			m->count++;
		}
	}
	(void)x;
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
		return fail(x, mk, field, "merge keys nested more than %d deep", MERGE_MAX_DEPTH);
	}
	const struct yt_node *const *srcs = &mk;
	size_t nsrcs = 1;
	if (mk->kind == YT_SEQ) {
		srcs = (const struct yt_node *const *)mk->items;
		nsrcs = mk->count;
	}
	const struct yt_node **resolved = xalloc(x, nsrcs, sizeof(*resolved));
	if (resolved == NULL) {
		return -1;
	}
	size_t total = n->count;
	for (size_t i = 0; i < nsrcs; i++) {
		if (srcs[i]->kind != YT_MAP) {
			return fail(x, srcs[i], field,
				    "<<: expected a mapping (an alias like *base) or a list of them");
		}
		if (merged(x, srcs[i], field, depth + 1, &resolved[i]) < 0) {
			return -1;
		}
		total += resolved[i]->count;
	}
	x->merge_work += total;
	if (total > MERGE_MAX_KEYS || x->merge_work > MERGE_MAX_WORK) {
		return fail(x, mk, field, "merge keys make too large a mapping");
	}
	struct yt_node *m = xalloc(x, 1, sizeof(*m));
	if (m == NULL) {
		return -1;
	}
	*m = *n;
	m->count = 0;
	m->keys = xalloc(x, total, sizeof(*m->keys));
	m->items = xalloc(x, total, sizeof(*m->items));
	if (m->keys == NULL || m->items == NULL) {
		return -1;
	}
	for (size_t i = 0; i < n->count; i++) {
		if (!is_merge_key(n->keys[i])) {
			m->keys[m->count] = n->keys[i];
			m->items[m->count] = n->items[i];
			m->count++;
		}
	}
	for (size_t i = 0; i < nsrcs; i++) {
		if (merge_into(x, m, total, resolved[i]) < 0) {
			return fail(x, mk, field, "merge keys make too large a mapping");
		}
	}
	*out = m;
	return 0;
}

static int as_map(struct ctx *x, const struct yt_node *n, const char *field, const struct yt_node **out)
{
	if (n == NULL || n->kind != YT_MAP) {
		return fail(x, n, field, "expected a mapping, got %s", kind_name(n));
	}
	return merged(x, n, field, 0, out);
}

static int is_extension(const struct yt_node *key)
{
	return strncmp(key->value, "x-", 2) == 0;
}

/* A list of strings; a lone string too when allow_string. On error the
 * list is left empty: invalid services are still looked at (profiles,
 * names), never with half a list. */
static int strlist(struct ctx *x, const struct yt_node *n, const char *field, int allow_string, char ***out,
		   size_t *count)
{
	*out = NULL;
	*count = 0;
	if (n != NULL && n->kind == YT_SCALAR && allow_string && !yt_is_null(n)) {
		char **v = xalloc(x, 2, sizeof(*v));
		if (v == NULL || str(x, n, field, &v[0]) < 0) {
			return -1;
		}
		*out = v;
		*count = 1;
		return 0;
	}
	if (n == NULL || n->kind != YT_SEQ) {
		return fail(x, n, field, "expected a list%s, got %s", allow_string ? " or a string" : "", kind_name(n));
	}
	char **v = xalloc(x, n->count + 1, sizeof(*v));
	if (v == NULL) {
		return -1;
	}
	int ret = 0;
	for (size_t i = 0; i < n->count; i++) {
		if (str(x, n->items[i], field, &v[i]) < 0) {
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
static int kvlist(struct ctx *x, const struct yt_node *n, const char *field, struct compose_kv **out, size_t *count)
{
	struct compose_kv *kv;
	*count = 0;
	if (n != NULL && n->kind == YT_SEQ) {
		kv = xalloc(x, n->count, sizeof(*kv));
		if (kv == NULL) {
			return -1;
		}
		for (size_t i = 0; i < n->count; i++) {
			char *s;
			if (str(x, n->items[i], field, &s) < 0) {
				return -1;
			}
			if (s[0] == '\0' || s[0] == '=') {
				return fail(x, n->items[i], field, "expected KEY=VALUE, got '%.100s'", s);
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
		return fail(x, n, field, "expected a mapping or a list of KEY=VALUE, got %s", kind_name(n));
	}
	if (as_map(x, n, field, &m) < 0) {
		return -1;
	}
	kv = xalloc(x, m->count, sizeof(*kv));
	if (kv == NULL) {
		return -1;
	}
	size_t k = 0;
	for (size_t i = 0; i < m->count; i++) {
		kv[k].key = xstrdup(x, m->keys[i]->value);
		if (kv[k].key == NULL) {
			return -1;
		}
		if (yt_is_null(m->items[i])) {
			kv[k].value = "";
		} else if (m->items[i]->kind != YT_SCALAR) {
			char f[300];
			sfmt(f, sizeof(f), "%s.%s", field, m->keys[i]->value);
			return fail(x, m->items[i], f, "expected a string or a number, got %s", kind_name(m->items[i]));
		} else if (str(x, m->items[i], field, &kv[k].value) < 0) {
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
static char *clean_path(struct ctx *x, const char *base, const char *path)
{
	char joined[PATH_LEN * 2];
	if (path[0] == '/') {
		sfmt(joined, sizeof(joined), "%s", path);
	} else {
		sfmt(joined, sizeof(joined), "%s/%s", base, path);
	}
	if (strlen(joined) >= PATH_LEN) {
		return NULL;
	}
	char out[PATH_LEN + 1];
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
	return xstrdup(x, out);
}

/* ---- service keys ----------------------------------------------------------------------- */

typedef int (*svc_parser)(struct ctx *x, struct compose_service *s, const struct yt_node *key, const struct yt_node *v);

static int p_image(struct ctx *x, struct compose_service *s, const struct yt_node *key, const struct yt_node *v)
{
	(void)key;
	if (str(x, v, "image", &s->image) < 0) {
		return -1;
	}
	if (s->image[0] == '\0' || strpbrk(s->image, " \t\n\r") != NULL) {
		return fail(x, v, "image", "'%.100s' is not an image reference", s->image);
	}
	return 0;
}

/* command and entrypoint: a string split like a shell would, or a list.
 * null means "not given"; an empty string or list is given and empty. */
static int cmdline(struct ctx *x, const struct yt_node *v, const char *field, int *has, char ***argv, size_t *argc)
{
	if (yt_is_null(v)) {
		*has = 0;
		return 0;
	}
	*has = 1;
	if (v->kind == YT_SCALAR) {
		char *s;
		struct berr e;
		if (str(x, v, field, &s) < 0) {
			return -1;
		}
		if (compose_shlex_split(&x->p->arena, s, argv, argc, &e) < 0) {
			return fail(x, v, field, "%s", e.msg);
		}
		return 0;
	}
	return strlist(x, v, field, 0, argv, argc);
}

static int p_command(struct ctx *x, struct compose_service *s, const struct yt_node *key, const struct yt_node *v)
{
	(void)key;
	return cmdline(x, v, "command", &s->has_command, &s->command, &s->ncommand);
}

static int p_entrypoint(struct ctx *x, struct compose_service *s, const struct yt_node *key, const struct yt_node *v)
{
	(void)key;
	return cmdline(x, v, "entrypoint", &s->has_entrypoint, &s->entrypoint, &s->nentrypoint);
}

static int valid_env_name(const char *s)
{
	return s[0] != '\0' && strchr(s, '=') == NULL && strpbrk(s, " \t\n\r") == NULL;
}

/* Sets name in an environment list, later values replacing earlier ones
 * in place. cap bounds the list (its allocation). */
static int env_put(struct ctx *x, struct compose_env *list, size_t *n, size_t cap, const char *name, const char *value)
{
	for (size_t i = 0; i < *n; i++) {
		if (strcmp(list[i].name, name) == 0) {
			list[i].value = value ? xstrdup(x, value) : NULL;
			return value && !list[i].value ? -1 : 0;
		}
	}
	if (*n >= cap) {
		return oom(x);
	}
	list[*n].name = xstrdup(x, name);
	list[*n].value = value ? xstrdup(x, value) : NULL;
	if (list[*n].name == NULL || (value && list[*n].value == NULL)) {
		return -1;
	}
	(*n)++;
	return 0;
}

static int p_environment(struct ctx *x, struct compose_service *s, const struct yt_node *key, const struct yt_node *v)
{
	(void)s;
	(void)key;
	struct svc_scratch *sc = x->sc;
	const struct yt_node *m = v;
	if (v != NULL && v->kind == YT_MAP && as_map(x, v, "environment", &m) < 0) {
		return -1;
	}
	if (m == NULL || (m->kind != YT_MAP && m->kind != YT_SEQ)) {
		return fail(x, v, "environment", "expected a mapping or a list of NAME=VALUE, got %s", kind_name(v));
	}
	sc->inline_env = xalloc(x, m->count, sizeof(*sc->inline_env));
	if (sc->inline_env == NULL) {
		return -1;
	}
	for (size_t i = 0; i < m->count; i++) {
		const char *name;
		char *text;
		char *value = NULL;
		const struct yt_node *item = m->items[i];
		int bare = 0;
		if (m->kind == YT_MAP) {
			name = m->keys[i]->value;
			if (yt_is_null(item)) {
				bare = 1;
			} else if (item->kind != YT_SCALAR) {
				fail(x, item, "environment", "%.100s: expected a string, number or boolean, got %s",
				     name, kind_name(item));
				continue;
			} else if (str(x, item, "environment", &value) < 0) {
				continue;
			}
		} else {
			if (str(x, item, "environment", &text) < 0) {
				continue;
			}
			name = text;
			char *eq = strchr(text, '=');
			if (eq != NULL) {
				*eq = '\0';
				value = eq + 1;
			} else {
				bare = 1;
			}
		}
		if (!valid_env_name(name)) {
			fail(x, item, "environment", "'%.100s' is not a variable name", name);
			continue;
		}
		if (bare) {
			/* NAME alone: the value from the interpolation variables;
			 * unset there means unset in the container. */
			value = (char *)compose_vars_get(x->opt->vars, name);
		}
		if (env_put(x, sc->inline_env, &sc->ninline_env, m->count, name, value) < 0) {
			return -1;
		}
	}
	return x->failed ? -1 : 0;
}

static int load_env_file(struct ctx *x, const struct yt_node *n, const char *path, int required)
{
	struct svc_scratch *sc = x->sc;
	char full[PATH_LEN];
	if (path[0] == '\0') {
		return fail(x, n, "env_file", "the path is empty");
	}
	if (path[0] == '/') {
		sfmt(full, sizeof(full), "%s", path);
	} else {
		sfmt(full, sizeof(full), "%s/%s", x->p->dir, path);
	}
	struct compose_vars vars = {0};
	struct berr e;
	int ret = compose_dotenv_load(&vars, x->opt->vars, full, path, &e);
	if (ret == -ENOENT && !required) {
		compose_vars_free(&vars);
		return 0;
	}
	if (ret < 0) {
		compose_vars_free(&vars);
		if (ret == -ENOENT) {
			return fail(x, n, "env_file", "%.200s (%.300s) does not exist", path, full);
		}
		return fail(x, n, "env_file", "%s", e.msg);
	}
	size_t cap = sc->nfile_env + vars.count;
	struct compose_env *list = xalloc(x, cap, sizeof(*list));
	if (list == NULL) {
		compose_vars_free(&vars);
		return -1;
	}
	if (sc->nfile_env > 0) {
		memcpy(list, sc->file_env, sc->nfile_env * sizeof(*list));
	}
	sc->file_env = list;
	for (size_t i = 0; i < vars.count; i++) {
		if (env_put(x, sc->file_env, &sc->nfile_env, cap, vars.items[i].name, vars.items[i].value) < 0) {
			ret = -1;
			break;
		}
	}
	compose_vars_free(&vars);
	return ret < 0 ? -1 : 0;
}

static int p_env_file(struct ctx *x, struct compose_service *s, const struct yt_node *key, const struct yt_node *v)
{
	(void)s;
	(void)key;
	if (v != NULL && v->kind == YT_SCALAR && !yt_is_null(v)) {
		char *path;
		return str(x, v, "env_file", &path) < 0 ? -1 : load_env_file(x, v, path, 1);
	}
	if (v == NULL || v->kind != YT_SEQ) {
		return fail(x, v, "env_file", "expected a path or a list of paths, got %s", kind_name(v));
	}
	for (size_t i = 0; i < v->count; i++) {
		const struct yt_node *item = v->items[i];
		char *path = NULL;
		int required = 1;
		if (item->kind == YT_MAP) {
			const struct yt_node *m;
			if (as_map(x, item, "env_file", &m) < 0) {
				continue;
			}
			int bad = 0;
			for (size_t k = 0; k < m->count; k++) {
				const char *kn = m->keys[k]->value;
				if (strcmp(kn, "path") == 0) {
					bad |= str(x, m->items[k], "env_file.path", &path) < 0;
				} else if (strcmp(kn, "required") == 0) {
					bad |= boolean(x, m->items[k], "env_file.required", &required) < 0;
				} else if (strcmp(kn, "format") == 0) {
					bad |= fail(x, m->keys[k], "env_file.format",
						    "not supported (env files are read in the dotenv format)") < 0;
				} else if (!is_extension(m->keys[k])) {
					bad |= fail(x, m->keys[k], "env_file", "unknown key '%.100s'", kn) < 0;
				}
			}
			if (bad) {
				continue;
			}
			if (path == NULL) {
				fail(x, item, "env_file", "an entry needs a path");
				continue;
			}
		} else if (str(x, item, "env_file", &path) < 0) {
			continue;
		}
		load_env_file(x, item, path, required);
	}
	return x->failed ? -1 : 0;
}

static int propagation(const char *s)
{
	static const char *const names[] = {"private", "rprivate", "shared", "rshared", "slave", "rslave", NULL};
	for (const char *const *n = names; *n; n++) {
		if (strcmp(*n, s) == 0) {
			return 1;
		}
	}
	return 0;
}

static int mount_target(struct ctx *x, const struct yt_node *n, const char *field, const char *t, char **out)
{
	if (t[0] != '/') {
		return fail(x, n, field, "the container path '%.200s' must be absolute", t);
	}
	*out = clean_path(x, "/", t);
	if (*out == NULL) {
		return x->nomem ? -1 : fail(x, n, field, "the container path is too long");
	}
	if (strcmp(*out, "/") == 0) {
		return fail(x, n, field, "cannot mount over the container's root");
	}
	return 0;
}

/* A bind source is a path: absolute, or relative to the compose file
 * (starting with "."); anything else names a volume. */
static int mount_source(struct ctx *x, const struct yt_node *n, const char *field, const char *src,
			struct compose_mount *m)
{
	if (src[0] == '/' || src[0] == '.') {
		m->type = COMPOSE_MOUNT_BIND;
		m->source = clean_path(x, x->p->dir, src);
		if (m->source == NULL) {
			return x->nomem ? -1 : fail(x, n, field, "the host path is too long");
		}
		return 0;
	}
	if (src[0] == '~') {
		return fail(x, n, field,
			    "'%.200s': ~ is not supported: use an absolute path or one relative to the "
			    "compose file",
			    src);
	}
	if (!compose_valid_name(src)) {
		return fail(x, n, field, "'%.200s' is neither a path (starting with / or .) nor a volume name", src);
	}
	m->type = COMPOSE_MOUNT_VOLUME;
	m->source = xstrdup(x, src);
	return m->source ? 0 : -1;
}

/* SOURCE:TARGET[:MODE] or TARGET alone (an anonymous volume). */
static int short_volume(struct ctx *x, const struct yt_node *n, struct compose_mount *m)
{
	char *s;
	if (str(x, n, "volumes", &s) < 0) {
		return -1;
	}
	char *parts[4];
	size_t np = 0;
	for (char *p = s; np < 4;) {
		parts[np++] = p;
		p = strchr(p, ':');
		if (p == NULL) {
			break;
		}
		*p++ = '\0';
	}
	if (np > 3) {
		return fail(x, n, "volumes", "expected SOURCE:TARGET[:MODE]");
	}
	m->line = n->line;
	if (np == 1) {
		m->type = COMPOSE_MOUNT_VOLUME;
		return mount_target(x, n, "volumes", parts[0], &m->target);
	}
	if (parts[0][0] == '\0') {
		return fail(x, n, "volumes", "the source is empty");
	}
	if (mount_source(x, n, "volumes", parts[0], m) < 0 || mount_target(x, n, "volumes", parts[1], &m->target) < 0) {
		return -1;
	}
	m->create_host_path = m->type == COMPOSE_MOUNT_BIND;
	if (np < 3) {
		return 0;
	}
	char *save = NULL;
	for (char *opt = strtok_r(parts[2], ",", &save); opt != NULL; opt = strtok_r(NULL, ",", &save)) {
		if (strcmp(opt, "ro") == 0) {
			m->read_only = 1;
		} else if (strcmp(opt, "rw") == 0) {
			m->read_only = 0;
		} else if (strcmp(opt, "nocopy") == 0 && m->type == COMPOSE_MOUNT_VOLUME) {
			m->nocopy = 1;
		} else if (propagation(opt) && m->type == COMPOSE_MOUNT_BIND) {
			m->propagation = xstrdup(x, opt);
		} else if (strcmp(opt, "z") == 0 || strcmp(opt, "Z") == 0) {
			return fail(x, n, "volumes",
				    "SELinux relabeling (%s) is not supported: the kernel has no SELinux", opt);
		} else if (strcmp(opt, "cached") == 0 || strcmp(opt, "delegated") == 0 ||
			   strcmp(opt, "consistent") == 0) {
			/* Consistency modes only matter to Docker Desktop's file sharing. */
		} else {
			return fail(x, n, "volumes", "unknown mode '%.50s' (expected ro, rw%s)", opt,
				    m->type == COMPOSE_MOUNT_BIND ? " or a propagation like rslave" : " or nocopy");
		}
	}
	return 0;
}

static int octal_mode(const char *s, uint32_t *out)
{
	if (strncmp(s, "0o", 2) == 0) {
		s += 2;
	}
	if (*s == '\0' || strlen(s) > 5) {
		return -EINVAL;
	}
	uint32_t v = 0;
	for (; *s; s++) {
		if (*s < '0' || *s > '7') {
			return -EINVAL;
		}
		v = v * 8 + (uint32_t)(*s - '0');
	}
	if (v > 07777) {
		return -EINVAL;
	}
	*out = v;
	return 0;
}

static int long_volume_sub(struct ctx *x, const struct yt_node *key, const struct yt_node *v, struct compose_mount *m)
{
	const char *k = key->value;
	const struct yt_node *sub;
	enum compose_mount_type want = strcmp(k, "bind") == 0	  ? COMPOSE_MOUNT_BIND
				       : strcmp(k, "volume") == 0 ? COMPOSE_MOUNT_VOLUME
								  : COMPOSE_MOUNT_TMPFS;
	char field[32];
	sfmt(field, sizeof(field), "volumes.%s", k);
	if (m->type != want) {
		return fail(x, key, "volumes", "'%s' options do not apply to this type of mount", k);
	}
	if (as_map(x, v, field, &sub) < 0) {
		return -1;
	}
	for (size_t i = 0; i < sub->count; i++) {
		const char *sk = sub->keys[i]->value;
		const struct yt_node *sv = sub->items[i];
		char f[64];
		sfmt(f, sizeof(f), "%s.%s", field, sk);
		if (is_extension(sub->keys[i])) {
			continue;
		}
		if (want == COMPOSE_MOUNT_BIND && strcmp(sk, "propagation") == 0) {
			char *pr;
			if (str(x, sv, f, &pr) < 0) {
				return -1;
			}
			if (!propagation(pr)) {
				return fail(x, sv, f, "expected private, rprivate, shared, rshared, slave or rslave");
			}
			m->propagation = pr;
		} else if (want == COMPOSE_MOUNT_BIND && strcmp(sk, "create_host_path") == 0) {
			if (boolean(x, sv, f, &m->create_host_path) < 0) {
				return -1;
			}
		} else if (want == COMPOSE_MOUNT_BIND && strcmp(sk, "selinux") == 0) {
			return fail(x, sub->keys[i], f, "not supported: the kernel has no SELinux");
		} else if (want == COMPOSE_MOUNT_VOLUME && strcmp(sk, "nocopy") == 0) {
			if (boolean(x, sv, f, &m->nocopy) < 0) {
				return -1;
			}
		} else if (want == COMPOSE_MOUNT_TMPFS && strcmp(sk, "size") == 0) {
			int64_t size;
			if (bytesize(x, sv, f, &size) < 0) {
				return -1;
			}
			m->has_tmpfs_size = 1;
			m->tmpfs_size = (uint64_t)size;
		} else if (want == COMPOSE_MOUNT_TMPFS && strcmp(sk, "mode") == 0) {
			char *mode;
			if (str(x, sv, f, &mode) < 0) {
				return -1;
			}
			if (octal_mode(mode, &m->tmpfs_mode) < 0) {
				return fail(x, sv, f, "expected an octal mode like 1777, got '%.20s'", mode);
			}
			m->has_tmpfs_mode = 1;
		} else {
			return fail(x, sub->keys[i], field, "unsupported key '%.100s'", sk);
		}
	}
	return 0;
}

static int long_volume(struct ctx *x, const struct yt_node *n, struct compose_mount *m)
{
	const struct yt_node *v;
	if (as_map(x, n, "volumes", &v) < 0) {
		return -1;
	}
	m->line = n->line;
	const struct yt_node *type = yt_get(v, "type");
	const struct yt_node *target = yt_get(v, "target");
	const struct yt_node *source = yt_get(v, "source");
	char *t;
	if (type == NULL) {
		return fail(x, n, "volumes", "a mount needs a type (volume, bind or tmpfs)");
	}
	if (str(x, type, "volumes.type", &t) < 0) {
		return -1;
	}
	if (strcmp(t, "volume") == 0) {
		m->type = COMPOSE_MOUNT_VOLUME;
	} else if (strcmp(t, "bind") == 0) {
		m->type = COMPOSE_MOUNT_BIND;
	} else if (strcmp(t, "tmpfs") == 0) {
		m->type = COMPOSE_MOUNT_TMPFS;
	} else if (strcmp(t, "npipe") == 0 || strcmp(t, "cluster") == 0 || strcmp(t, "image") == 0) {
		return fail(x, type, "volumes.type", "'%s' mounts are not supported (volume, bind and tmpfs are)", t);
	} else {
		return fail(x, type, "volumes.type", "expected volume, bind or tmpfs, got '%.50s'", t);
	}
	char *tgt;
	if (target == NULL) {
		return fail(x, n, "volumes", "a mount needs a target");
	}
	if (str(x, target, "volumes.target", &tgt) < 0 ||
	    mount_target(x, target, "volumes.target", tgt, &m->target) < 0) {
		return -1;
	}
	if (source != NULL && !yt_is_null(source)) {
		char *src;
		if (m->type == COMPOSE_MOUNT_TMPFS) {
			return fail(x, source, "volumes.source", "a tmpfs mount has no source");
		}
		if (str(x, source, "volumes.source", &src) < 0) {
			return -1;
		}
		if (m->type == COMPOSE_MOUNT_VOLUME) {
			if (!compose_valid_name(src)) {
				return fail(x, source, "volumes.source", "'%.200s' is not a volume name", src);
			}
			m->source = src;
		} else {
			/* A bind's source is always a path, even without "./". */
			if (src[0] == '\0' || src[0] == '~') {
				return fail(x, source, "volumes.source",
					    "expected an absolute path or one relative to the "
					    "compose file, got '%.200s'",
					    src);
			}
			m->source = clean_path(x, x->p->dir, src);
			if (m->source == NULL) {
				return x->nomem ? -1 : fail(x, source, "volumes.source", "the path is too long");
			}
		}
	} else if (m->type == COMPOSE_MOUNT_BIND) {
		return fail(x, n, "volumes", "a bind mount needs a source");
	}
	for (size_t i = 0; i < v->count; i++) {
		const struct yt_node *key = v->keys[i];
		const char *k = key->value;
		if (is_extension(key) || strcmp(k, "type") == 0 || strcmp(k, "target") == 0 ||
		    strcmp(k, "source") == 0 || strcmp(k, "consistency") == 0) {
			continue;
		}
		if (strcmp(k, "read_only") == 0) {
			if (boolean(x, v->items[i], "volumes.read_only", &m->read_only) < 0) {
				return -1;
			}
		} else if (strcmp(k, "bind") == 0 || strcmp(k, "volume") == 0 || strcmp(k, "tmpfs") == 0) {
			if (long_volume_sub(x, key, v->items[i], m) < 0) {
				return -1;
			}
		} else if (strcmp(k, "image") == 0) {
			return fail(x, key, "volumes", "unsupported key 'image' (image mounts are not supported)");
		} else {
			return fail(x, key, "volumes", "unknown key '%.100s'", k);
		}
	}
	return 0;
}

static int p_volumes(struct ctx *x, struct compose_service *s, const struct yt_node *key, const struct yt_node *v)
{
	(void)s;
	(void)key;
	struct svc_scratch *sc = x->sc;
	if (v == NULL || v->kind != YT_SEQ) {
		return fail(x, v, "volumes", "expected a list, got %s", kind_name(v));
	}
	sc->volumes = xalloc(x, v->count, sizeof(*sc->volumes));
	if (sc->volumes == NULL) {
		return -1;
	}
	for (size_t i = 0; i < v->count; i++) {
		struct compose_mount *m = &sc->volumes[sc->nvolumes];
		memset(m, 0, sizeof(*m));
		int ret =
			v->items[i]->kind == YT_MAP ? long_volume(x, v->items[i], m) : short_volume(x, v->items[i], m);
		if (ret == 0) {
			sc->nvolumes++;
		}
	}
	return x->failed ? -1 : 0;
}

static int tmpfs_option(const char *opt)
{
	static const char *const flags[] = {"rw",	"ro",	      "exec",	     "noexec",	      "suid",
					    "nosuid",	"dev",	      "nodev",	     "sync",	      "async",
					    "dirsync",	"atime",      "noatime",     "diratime",      "nodiratime",
					    "relatime", "norelatime", "strictatime", "nostrictatime", NULL};
	static const char *const values[] = {"size=", "mode=", "uid=", "gid=", "nr_inodes=", "nr_blocks=", NULL};
	for (const char *const *f = flags; *f; f++) {
		if (strcmp(*f, opt) == 0) {
			return 1;
		}
	}
	for (const char *const *v = values; *v; v++) {
		if (strncmp(*v, opt, strlen(*v)) == 0 && opt[strlen(*v)] != '\0') {
			return 1;
		}
	}
	return 0;
}

/* tmpfs: PATH[:OPTIONS], OPTIONS being mount options ("size=64m,mode=1777"). */
static int p_tmpfs(struct ctx *x, struct compose_service *s, const struct yt_node *key, const struct yt_node *v)
{
	(void)s;
	(void)key;
	struct svc_scratch *sc = x->sc;
	char **items;
	size_t n;
	if (strlist(x, v, "tmpfs", 1, &items, &n) < 0) {
		return -1;
	}
	sc->tmpfs = xalloc(x, n, sizeof(*sc->tmpfs));
	if (sc->tmpfs == NULL) {
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		const struct yt_node *node = v->kind == YT_SEQ ? v->items[i] : v;
		struct compose_mount *m = &sc->tmpfs[sc->ntmpfs];
		memset(m, 0, sizeof(*m));
		m->type = COMPOSE_MOUNT_TMPFS;
		m->line = node->line;
		char *colon = strchr(items[i], ':');
		if (colon != NULL) {
			*colon = '\0';
		}
		if (mount_target(x, node, "tmpfs", items[i], &m->target) < 0) {
			continue;
		}
		if (colon != NULL && colon[1] != '\0') {
			size_t count = 1;
			for (const char *c = colon + 1; *c; c++) {
				count += *c == ',';
			}
			m->tmpfs_options = xalloc(x, count + 1, sizeof(char *));
			if (m->tmpfs_options == NULL) {
				return -1;
			}
			int bad = 0;
			char *save = NULL;
			for (char *opt = strtok_r(colon + 1, ",", &save); opt != NULL;
			     opt = strtok_r(NULL, ",", &save)) {
				if (!tmpfs_option(opt)) {
					fail(x, node, "tmpfs", "unknown option '%.50s'", opt);
					bad = 1;
					break;
				}
				if (strncmp(opt, "mode=", 5) == 0 && octal_mode(opt + 5, &m->tmpfs_mode) < 0) {
					fail(x, node, "tmpfs", "mode: expected an octal mode like 1777, got '%.20s'",
					     opt + 5);
					bad = 1;
					break;
				}
				m->tmpfs_options[m->ntmpfs_options++] = opt;
			}
			if (bad) {
				continue;
			}
		}
		sc->ntmpfs++;
	}
	return x->failed ? -1 : 0;
}

static int p_restart(struct ctx *x, struct compose_service *s, const struct yt_node *key, const struct yt_node *v)
{
	(void)key;
	char *r;
	if (str(x, v, "restart", &r) < 0) {
		return -1;
	}
	if (strcmp(r, "no") == 0) {
		s->restart = COMPOSE_RESTART_NO;
	} else if (strcmp(r, "always") == 0) {
		s->restart = COMPOSE_RESTART_ALWAYS;
	} else if (strcmp(r, "unless-stopped") == 0) {
		s->restart = COMPOSE_RESTART_UNLESS_STOPPED;
	} else if (strcmp(r, "on-failure") == 0) {
		s->restart = COMPOSE_RESTART_ON_FAILURE;
	} else if (strncmp(r, "on-failure:", 11) == 0) {
		uint64_t n;
		if (compose_parse_uint(r + 11, strlen(r + 11), INT_MAX, &n) < 0) {
			return fail(x, v, "restart", "on-failure:N needs a number of retries, got '%.50s'", r + 11);
		}
		s->restart = COMPOSE_RESTART_ON_FAILURE;
		s->max_retries = (int)n;
	} else {
		return fail(x, v, "restart", "expected \"no\", always, on-failure[:N] or unless-stopped, got '%.50s'",
			    r);
	}
	return 0;
}

static int dep_options(struct ctx *x, const struct yt_node *v, struct compose_dep *d)
{
	if (yt_is_null(v)) {
		return 0;
	}
	const struct yt_node *m;
	if (as_map(x, v, "depends_on", &m) < 0) {
		return -1;
	}
	for (size_t i = 0; i < m->count; i++) {
		const char *k = m->keys[i]->value;
		const struct yt_node *item = m->items[i];
		char f[80];
		sfmt(f, sizeof(f), "depends_on.%s.%s", d->service, k);
		if (strcmp(k, "condition") == 0) {
			char *c;
			if (str(x, item, f, &c) < 0) {
				return -1;
			}
			if (strcmp(c, "service_started") == 0) {
				d->condition = COMPOSE_DEP_STARTED;
			} else if (strcmp(c, "service_healthy") == 0) {
				d->condition = COMPOSE_DEP_HEALTHY;
			} else if (strcmp(c, "service_completed_successfully") == 0) {
				d->condition = COMPOSE_DEP_COMPLETED;
			} else {
				return fail(x, item, f,
					    "expected service_started, service_healthy or "
					    "service_completed_successfully, got '%.60s'",
					    c);
			}
		} else if (strcmp(k, "restart") == 0) {
			if (boolean(x, item, f, &d->restart) < 0) {
				return -1;
			}
		} else if (strcmp(k, "required") == 0) {
			if (boolean(x, item, f, &d->required) < 0) {
				return -1;
			}
		} else if (!is_extension(m->keys[i])) {
			return fail(x, m->keys[i], "depends_on", "unknown key '%.100s'", k);
		}
	}
	return 0;
}

static int p_depends_on(struct ctx *x, struct compose_service *s, const struct yt_node *key, const struct yt_node *v)
{
	(void)key;
	const struct yt_node *m = v;
	if (v != NULL && v->kind == YT_MAP && as_map(x, v, "depends_on", &m) < 0) {
		return -1;
	}
	if (m == NULL || (m->kind != YT_MAP && m->kind != YT_SEQ)) {
		return fail(x, v, "depends_on", "expected a list of services or a mapping, got %s", kind_name(v));
	}
	/* One more for network_mode: service:NAME. */
	s->deps = xalloc(x, m->count + 1, sizeof(*s->deps));
	if (s->deps == NULL) {
		return -1;
	}
	for (size_t i = 0; i < m->count; i++) {
		struct compose_dep *d = &s->deps[s->ndeps];
		memset(d, 0, sizeof(*d));
		d->required = 1;
		const struct yt_node *where = m->kind == YT_MAP ? m->keys[i] : m->items[i];
		d->line = where->line;
		if (m->kind == YT_MAP) {
			d->service = xstrdup(x, m->keys[i]->value);
		} else if (str(x, m->items[i], "depends_on", &d->service) < 0) {
			continue;
		}
		if (d->service == NULL) {
			return -1;
		}
		if (!compose_valid_name(d->service)) {
			fail(x, where, "depends_on", "'%.100s' is not a service name", d->service);
			continue;
		}
		if (m->kind == YT_MAP && dep_options(x, m->items[i], d) < 0) {
			continue;
		}
		int dup = 0;
		for (size_t j = 0; j < s->ndeps; j++) {
			dup |= strcmp(s->deps[j].service, d->service) == 0;
		}
		if (!dup) {
			s->ndeps++;
		}
	}
	return x->failed ? -1 : 0;
}

static int p_healthcheck(struct ctx *x, struct compose_service *s, const struct yt_node *key, const struct yt_node *v)
{
	(void)key;
	struct compose_healthcheck *h = &s->healthcheck;
	const struct yt_node *m;
	if (as_map(x, v, "healthcheck", &m) < 0) {
		return -1;
	}
	x->sc->healthcheck = v;
	s->has_healthcheck = 1;
	for (size_t i = 0; i < m->count; i++) {
		const char *k = m->keys[i]->value;
		const struct yt_node *item = m->items[i];
		char f[64];
		sfmt(f, sizeof(f), "healthcheck.%s", k);
		if (strcmp(k, "test") == 0) {
			if (item->kind == YT_SCALAR && !yt_is_null(item)) {
				char *t;
				if (str(x, item, f, &t) < 0) {
					continue;
				}
				if (t[0] == '\0') {
					fail(x, item, f, "the test command is empty");
					continue;
				}
				h->test = xalloc(x, 3, sizeof(char *));
				if (h->test == NULL) {
					return -1;
				}
				h->test[0] = "CMD-SHELL";
				h->test[1] = t;
				h->ntest = 2;
				continue;
			}
			if (strlist(x, item, f, 0, &h->test, &h->ntest) < 0) {
				continue;
			}
			const char *first = h->ntest > 0 ? h->test[0] : "";
			int ok = 0;
			if (strcmp(first, "NONE") == 0) {
				ok = h->ntest == 1;
			} else if (strcmp(first, "CMD") == 0 || strcmp(first, "CMD-SHELL") == 0) {
				ok = h->ntest >= 2;
			}
			if (!ok) {
				fail(x, item, f,
				     "expected [\"CMD\", program, args...], [\"CMD-SHELL\", command] or "
				     "[\"NONE\"]");
			}
		} else if (strcmp(k, "interval") == 0) {
			duration(x, item, f, &h->interval_ns);
		} else if (strcmp(k, "timeout") == 0) {
			duration(x, item, f, &h->timeout_ns);
		} else if (strcmp(k, "start_period") == 0) {
			duration(x, item, f, &h->start_period_ns);
		} else if (strcmp(k, "start_interval") == 0) {
			duration(x, item, f, &h->start_interval_ns);
		} else if (strcmp(k, "retries") == 0) {
			long long r;
			if (integer(x, item, f, 0, INT_MAX, &r) == 0) {
				h->retries = (int)r;
			}
		} else if (strcmp(k, "disable") == 0) {
			boolean(x, item, f, &s->healthcheck_disabled);
		} else if (!is_extension(m->keys[i])) {
			fail(x, m->keys[i], "healthcheck", "unknown key '%.100s'", k);
		}
	}
	if (s->healthcheck_disabled && h->test != NULL && strcmp(h->test[0], "NONE") != 0) {
		fail(x, v, "healthcheck", "disable: true and a test cannot both be given");
	}
	return x->failed ? -1 : 0;
}

static int p_user(struct ctx *x, struct compose_service *s, const struct yt_node *key, const struct yt_node *v)
{
	(void)key;
	if (str(x, v, "user", &s->user) < 0) {
		return -1;
	}
	if (s->user[0] == '\0' || s->user[0] == ':' || strpbrk(s->user, " \t\n\r") != NULL) {
		return fail(x, v, "user", "expected USER[:GROUP] (names or numbers), got '%.100s'", s->user);
	}
	return 0;
}

static int p_working_dir(struct ctx *x, struct compose_service *s, const struct yt_node *key, const struct yt_node *v)
{
	(void)key;
	char *d;
	if (str(x, v, "working_dir", &d) < 0) {
		return -1;
	}
	if (d[0] != '/') {
		return fail(x, v, "working_dir", "'%.200s' must be an absolute path", d);
	}
	s->working_dir = clean_path(x, "/", d);
	return s->working_dir ? 0 : fail(x, v, "working_dir", "the path is too long");
}

#define BOOL_KEY(fn, field)                                                                                         \
	static int fn(struct ctx *x, struct compose_service *s, const struct yt_node *key, const struct yt_node *v) \
	{                                                                                                           \
		(void)key;                                                                                          \
		return boolean(x, v, #field, &s->field);                                                            \
	}

BOOL_KEY(p_read_only, read_only)
BOOL_KEY(p_privileged, privileged)
BOOL_KEY(p_init, init)
BOOL_KEY(p_stdin_open, stdin_open)
BOOL_KEY(p_tty, tty)

static int caps(struct ctx *x, const struct yt_node *v, const char *field, uint64_t *mask, int *all)
{
	char **names;
	size_t n;
	if (strlist(x, v, field, 0, &names, &n) < 0) {
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		int cap;
		if (compose_parse_cap(names[i], &cap) < 0) {
			fail(x, v->items[i], field, "unknown capability '%.60s'", names[i]);
		} else if (cap < 0) {
			*all = 1;
		} else {
			*mask |= UINT64_C(1) << cap;
		}
	}
	return x->failed ? -1 : 0;
}

static int p_cap_add(struct ctx *x, struct compose_service *s, const struct yt_node *key, const struct yt_node *v)
{
	(void)key;
	return caps(x, v, "cap_add", &s->cap_add, &s->cap_add_all);
}

static int p_cap_drop(struct ctx *x, struct compose_service *s, const struct yt_node *key, const struct yt_node *v)
{
	(void)key;
	return caps(x, v, "cap_drop", &s->cap_drop, &s->cap_drop_all);
}

static int p_hostname(struct ctx *x, struct compose_service *s, const struct yt_node *key, const struct yt_node *v)
{
	(void)key;
	if (str(x, v, "hostname", &s->hostname) < 0) {
		return -1;
	}
	if (!compose_valid_hostname(s->hostname)) {
		return fail(x, v, "hostname", "'%.100s' is not a valid host name (RFC 1123, at most 63 characters)",
			    s->hostname);
	}
	return 0;
}

static int p_domainname(struct ctx *x, struct compose_service *s, const struct yt_node *key, const struct yt_node *v)
{
	(void)key;
	if (str(x, v, "domainname", &s->domainname) < 0) {
		return -1;
	}
	if (!compose_valid_hostname(s->domainname)) {
		return fail(x, v, "domainname", "'%.100s' is not a valid domain name", s->domainname);
	}
	return 0;
}

static int p_container_name(struct ctx *x, struct compose_service *s, const struct yt_node *key,
			    const struct yt_node *v)
{
	(void)key;
	if (str(x, v, "container_name", &s->container_name) < 0) {
		return -1;
	}
	if (!compose_valid_name(s->container_name)) {
		return fail(x, v, "container_name", "'%.100s' is not a valid name ([a-zA-Z0-9][a-zA-Z0-9_.-]*)",
			    s->container_name);
	}
	return 0;
}

static int p_mem_limit(struct ctx *x, struct compose_service *s, const struct yt_node *key, const struct yt_node *v)
{
	(void)key;
	if (bytesize(x, v, "mem_limit", &s->mem_limit) < 0) {
		return -1;
	}
	if (s->mem_limit != 0 && s->mem_limit < MIN_MEMORY) {
		return fail(x, v, "mem_limit", "at least 6m (Docker's minimum)");
	}
	return 0;
}

static int p_memswap_limit(struct ctx *x, struct compose_service *s, const struct yt_node *key, const struct yt_node *v)
{
	(void)key;
	x->sc->memswap = v;
	char *t;
	if (v != NULL && v->kind == YT_SCALAR && !yt_is_null(v)) {
		if (str(x, v, "memswap_limit", &t) < 0) {
			return -1;
		}
		if (strcmp(t, "-1") == 0) {
			s->memswap_limit = -1;
			return 0;
		}
	}
	return bytesize(x, v, "memswap_limit", &s->memswap_limit);
}

static int p_shm_size(struct ctx *x, struct compose_service *s, const struct yt_node *key, const struct yt_node *v)
{
	(void)key;
	return bytesize(x, v, "shm_size", &s->shm_size);
}

static int p_cpus(struct ctx *x, struct compose_service *s, const struct yt_node *key, const struct yt_node *v)
{
	(void)key;
	char *t;
	if (str(x, v, "cpus", &t) < 0) {
		return -1;
	}
	char *end;
	errno = 0;
	double c = strtod(t, &end);
	if (errno != 0 || end == t || *end != '\0' || !isfinite(c) || c < 0) {
		return fail(x, v, "cpus", "expected a number of CPUs like 0.5 or 2, got '%.50s'", t);
	}
	if (c != 0 && (c < 0.01 || c > 1024)) {
		return fail(x, v, "cpus", "%.3f is out of range (0.01 to 1024; 0 for no limit)", c);
	}
	s->cpus = c;
	return 0;
}

static int p_pids_limit(struct ctx *x, struct compose_service *s, const struct yt_node *key, const struct yt_node *v)
{
	(void)key;
	long long n;
	if (integer(x, v, "pids_limit", -1, INT32_MAX, &n) < 0) {
		return -1;
	}
	s->has_pids_limit = 1;
	s->pids_limit = n;
	return 0;
}

/* Docker's rule: only sysctls that live in the container's own namespaces
 * (IPC and network); anything else would change the host. */
static int sysctl_namespaced(const char *k)
{
	static const char *const ipc[] = {"kernel.msgmax", "kernel.msgmnb",	     "kernel.msgmni",
					  "kernel.sem",	   "kernel.shmall",	     "kernel.shmmax",
					  "kernel.shmmni", "kernel.shm_rmid_forced", NULL};
	for (const char *const *p = ipc; *p; p++) {
		if (strcmp(*p, k) == 0) {
			return 1;
		}
	}
	return strncmp(k, "fs.mqueue.", 10) == 0 || strncmp(k, "net.", 4) == 0;
}

static int p_sysctls(struct ctx *x, struct compose_service *s, const struct yt_node *key, const struct yt_node *v)
{
	(void)key;
	if (kvlist(x, v, "sysctls", &s->sysctls, &s->nsysctls) < 0) {
		return -1;
	}
	for (size_t i = 0; i < s->nsysctls; i++) {
		const char *k = s->sysctls[i].key;
		if (strspn(k, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != strlen(k) ||
		    k[0] == '.' || strstr(k, "..") != NULL) {
			fail(x, v, "sysctls", "'%.100s' is not a sysctl name", k);
		} else if (!sysctl_namespaced(k)) {
			fail(x, v, "sysctls",
			     "'%.100s' is not namespaced: it would change the host for every container "
			     "(allowed: kernel.msg*, kernel.sem, kernel.shm*, fs.mqueue.*, net.*)",
			     k);
		}
	}
	return x->failed ? -1 : 0;
}

static const struct {
	const char *name;
	int resource;
} ulimit_names[] = {
	/* Docker's names; "as" is left out as Docker does. */
	{"core", RLIMIT_CORE},	       {"cpu", RLIMIT_CPU},
	{"data", RLIMIT_DATA},	       {"fsize", RLIMIT_FSIZE},
	{"locks", RLIMIT_LOCKS},       {"memlock", RLIMIT_MEMLOCK},
	{"msgqueue", RLIMIT_MSGQUEUE}, {"nice", RLIMIT_NICE},
	{"nofile", RLIMIT_NOFILE},     {"nproc", RLIMIT_NPROC},
	{"rss", RLIMIT_RSS},	       {"rtprio", RLIMIT_RTPRIO},
	{"rttime", RLIMIT_RTTIME},     {"sigpending", RLIMIT_SIGPENDING},
	{"stack", RLIMIT_STACK},
};

static int ulimit_value(struct ctx *x, const struct yt_node *n, const char *field, uint64_t *out)
{
	long long v;
	if (integer(x, n, field, -1, INT64_MAX, &v) < 0) {
		return -1;
	}
	*out = v < 0 ? UINT64_MAX : (uint64_t)v;
	return 0;
}

static int p_ulimits(struct ctx *x, struct compose_service *s, const struct yt_node *key, const struct yt_node *v)
{
	(void)key;
	const struct yt_node *m;
	if (as_map(x, v, "ulimits", &m) < 0) {
		return -1;
	}
	s->ulimits = xalloc(x, m->count, sizeof(*s->ulimits));
	if (s->ulimits == NULL) {
		return -1;
	}
	for (size_t i = 0; i < m->count; i++) {
		const char *name = m->keys[i]->value;
		const struct yt_node *item = m->items[i];
		char f[80];
		sfmt(f, sizeof(f), "ulimits.%.60s", name);
		if (is_extension(m->keys[i])) {
			continue;
		}
		size_t k;
		for (k = 0; k < sizeof(ulimit_names) / sizeof(ulimit_names[0]); k++) {
			if (strcmp(ulimit_names[k].name, name) == 0) {
				break;
			}
		}
		if (k == sizeof(ulimit_names) / sizeof(ulimit_names[0])) {
			fail(x, m->keys[i], "ulimits",
			     "unknown limit '%.60s' (nofile, nproc, core, memlock, stack, ...)", name);
			continue;
		}
		struct compose_ulimit *u = &s->ulimits[s->nulimits];
		u->name = xstrdup(x, name);
		u->resource = ulimit_names[k].resource;
		if (item->kind == YT_MAP) {
			const struct yt_node *um;
			if (as_map(x, item, f, &um) < 0) {
				continue;
			}
			const struct yt_node *soft = yt_get(um, "soft");
			const struct yt_node *hard = yt_get(um, "hard");
			if (soft == NULL || hard == NULL || um->count != 2) {
				fail(x, item, f, "expected a number or {soft: N, hard: N}");
				continue;
			}
			if (ulimit_value(x, soft, f, &u->soft) < 0 || ulimit_value(x, hard, f, &u->hard) < 0) {
				continue;
			}
			if (u->soft > u->hard) {
				fail(x, item, f, "the soft limit is above the hard limit");
				continue;
			}
		} else {
			if (ulimit_value(x, item, f, &u->soft) < 0) {
				continue;
			}
			u->hard = u->soft;
		}
		s->nulimits++;
	}
	return x->failed ? -1 : 0;
}

static int p_labels(struct ctx *x, struct compose_service *s, const struct yt_node *key, const struct yt_node *v)
{
	(void)key;
	return kvlist(x, v, "labels", &s->labels, &s->nlabels);
}

static int p_stop_signal(struct ctx *x, struct compose_service *s, const struct yt_node *key, const struct yt_node *v)
{
	(void)key;
	char *t;
	if (str(x, v, "stop_signal", &t) < 0) {
		return -1;
	}
	if (signal_parse(t, &s->stop_signal) < 0) {
		return fail(x, v, "stop_signal", "expected a signal like SIGTERM, SIGQUIT or 15, got '%.50s'", t);
	}
	return 0;
}

/* logging: the driver is always berthd's own log; its size options are
 * Docker's json-file/local ones, which Docker users already write. */
static int p_logging(struct ctx *x, struct compose_service *s, const struct yt_node *key, const struct yt_node *v)
{
	(void)key;
	const struct yt_node *m;
	if (as_map(x, v, "logging", &m) < 0) {
		return -1;
	}
	for (size_t i = 0; i < m->count; i++) {
		const char *k = m->keys[i]->value;
		const struct yt_node *item = m->items[i];
		if (strcmp(k, "driver") == 0) {
			char *d;
			if (str(x, item, "logging.driver", &d) == 0 && strcmp(d, "json-file") != 0 &&
			    strcmp(d, "local") != 0 && strcmp(d, "berth") != 0) {
				fail(x, item, "logging.driver",
				     "'%.64s' is not available: berthd keeps the log itself (json-file, local or "
				     "berth)",
				     d);
			}
			continue;
		}
		if (strcmp(k, "options") != 0) {
			fail(x, m->keys[i], "logging", "unknown key '%.64s' (driver and options are known)", k);
			continue;
		}
		const struct yt_node *o;
		if (as_map(x, item, "logging.options", &o) < 0) {
			continue;
		}
		for (size_t j = 0; j < o->count; j++) {
			const char *ok = o->keys[j]->value;
			char f[96];
			sfmt(f, sizeof(f), "logging.options.%s", ok);
			if (strcmp(ok, "max-size") == 0) {
				int64_t size;
				if (bytesize(x, o->items[j], f, &size) == 0) {
					if (size < 4096) {
						fail(x, o->items[j], f, "at least 4k");
					} else {
						s->log_max_size = size;
					}
				}
			} else if (strcmp(ok, "max-file") == 0) {
				long long n;
				if (integer(x, o->items[j], f, 1, 100, &n) == 0) {
					s->log_max_files = (int)n;
				}
			} else {
				fail(x, o->keys[j], f, "not supported (max-size and max-file are)");
			}
		}
	}
	return 0;
}

static int p_stop_grace_period(struct ctx *x, struct compose_service *s, const struct yt_node *key,
			       const struct yt_node *v)
{
	(void)key;
	return duration(x, v, "stop_grace_period", &s->stop_grace_ns);
}

static int p_network_mode(struct ctx *x, struct compose_service *s, const struct yt_node *key, const struct yt_node *v)
{
	(void)key;
	char *m;
	if (str(x, v, "network_mode", &m) < 0) {
		return -1;
	}
	if (strcmp(m, "host") == 0) {
		s->network_mode = COMPOSE_NET_HOST;
	} else if (strcmp(m, "none") == 0) {
		s->network_mode = COMPOSE_NET_NONE;
	} else if (strcmp(m, "bridge") == 0) {
		s->network_mode = COMPOSE_NET_BRIDGE;
	} else if (strncmp(m, "service:", 8) == 0 || strncmp(m, "container:", 10) == 0) {
		int svc = m[0] == 's';
		s->network_mode = svc ? COMPOSE_NET_SERVICE : COMPOSE_NET_CONTAINER;
		s->network_mode_target = m + (svc ? 8 : 10);
		if (!compose_valid_name(s->network_mode_target)) {
			return fail(x, v, "network_mode", "'%.100s' does not name a %s", m,
				    svc ? "service" : "container");
		}
	} else {
		return fail(x, v, "network_mode",
			    "expected host, none, bridge, service:NAME or container:NAME, got '%.100s'", m);
	}
	return 0;
}

static int netattach(struct ctx *x, const struct yt_node *key, const struct yt_node *v, struct compose_netattach *a)
{
	a->network = xstrdup(x, key->value);
	a->line = key->line;
	if (a->network == NULL) {
		return -1;
	}
	if (yt_is_null(v)) {
		return 0;
	}
	const struct yt_node *m;
	char f[300];
	sfmt(f, sizeof(f), "networks.%.200s", key->value);
	if (as_map(x, v, f, &m) < 0) {
		return -1;
	}
	for (size_t i = 0; i < m->count; i++) {
		const char *k = m->keys[i]->value;
		const struct yt_node *item = m->items[i];
		char kf[320];
		sfmt(kf, sizeof(kf), "%s.%s", f, k);
		if (strcmp(k, "aliases") == 0) {
			if (strlist(x, item, kf, 0, &a->aliases, &a->naliases) < 0) {
				return -1;
			}
			for (size_t j = 0; j < a->naliases; j++) {
				if (!compose_valid_hostname(a->aliases[j])) {
					return fail(x, item, kf, "'%.100s' is not a valid host name", a->aliases[j]);
				}
			}
		} else if (strcmp(k, "ipv4_address") == 0 || strcmp(k, "ipv6_address") == 0) {
			int v6 = k[3] == '6';
			char *addr;
			if (str(x, item, kf, &addr) < 0) {
				return -1;
			}
			if (!compose_valid_ip(addr, v6 ? AF_INET6 : AF_INET)) {
				return fail(x, item, kf, "'%.100s' is not an IPv%c address", addr, v6 ? '6' : '4');
			}
			*(v6 ? &a->ipv6_address : &a->ipv4_address) = addr;
		} else if (strcmp(k, "link_local_ips") == 0 || strcmp(k, "mac_address") == 0 ||
			   strcmp(k, "driver_opts") == 0 || strcmp(k, "priority") == 0 ||
			   strcmp(k, "gw_priority") == 0 || strcmp(k, "interface_name") == 0) {
			return fail(x, m->keys[i], f,
				    "unsupported key '%s' (aliases, ipv4_address and ipv6_address are)", k);
		} else if (!is_extension(m->keys[i])) {
			return fail(x, m->keys[i], f, "unknown key '%.100s'", k);
		}
	}
	return 0;
}

static int p_networks(struct ctx *x, struct compose_service *s, const struct yt_node *key, const struct yt_node *v)
{
	(void)key;
	x->sc->networks = v;
	const struct yt_node *m = v;
	if (v != NULL && v->kind == YT_MAP && as_map(x, v, "networks", &m) < 0) {
		return -1;
	}
	if (m == NULL || (m->kind != YT_MAP && m->kind != YT_SEQ)) {
		return fail(x, v, "networks", "expected a list of networks or a mapping, got %s", kind_name(v));
	}
	s->networks = xalloc(x, m->count, sizeof(*s->networks));
	if (s->networks == NULL) {
		return -1;
	}
	for (size_t i = 0; i < m->count; i++) {
		struct compose_netattach *a = &s->networks[s->nnetworks];
		if (m->kind == YT_MAP) {
			if (netattach(x, m->keys[i], m->items[i], a) < 0) {
				continue;
			}
		} else {
			if (str(x, m->items[i], "networks", &a->network) < 0) {
				continue;
			}
			a->line = m->items[i]->line;
		}
		if (!compose_valid_name(a->network)) {
			fail(x, m->kind == YT_MAP ? m->keys[i] : m->items[i], "networks",
			     "'%.100s' is not a network name", a->network);
			continue;
		}
		s->nnetworks++;
	}
	return x->failed ? -1 : 0;
}

static int long_port(struct ctx *x, const struct yt_node *n, struct compose_port *p)
{
	const struct yt_node *m;
	if (as_map(x, n, "ports", &m) < 0) {
		return -1;
	}
	memset(p, 0, sizeof(*p));
	memcpy(p->protocol, "tcp", 4);
	const struct yt_node *target = yt_get(m, "target");
	if (target == NULL) {
		return fail(x, n, "ports", "a port needs a target (the container port)");
	}
	for (size_t i = 0; i < m->count; i++) {
		const char *k = m->keys[i]->value;
		const struct yt_node *item = m->items[i];
		char f[40];
		sfmt(f, sizeof(f), "ports.%s", k);
		char *t;
		if (is_extension(m->keys[i])) {
			continue;
		}
		if (strcmp(k, "target") != 0 && strcmp(k, "published") != 0 && strcmp(k, "host_ip") != 0 &&
		    strcmp(k, "protocol") != 0 && strcmp(k, "mode") != 0 && strcmp(k, "name") != 0 &&
		    strcmp(k, "app_protocol") != 0) {
			return fail(x, m->keys[i], "ports", "unknown key '%.100s'", k);
		}
		if (str(x, item, f, &t) < 0) {
			return -1;
		}
		if (strcmp(k, "target") == 0) {
			if (compose_parse_port_range(t, strlen(t), &p->target_start, &p->target_end) < 0 ||
			    p->target_start != p->target_end) {
				return fail(x, item, f, "expected a port (1-65535), got '%.50s'", t);
			}
		} else if (strcmp(k, "published") == 0) {
			if (compose_parse_port_range(t, strlen(t), &p->published_start, &p->published_end) < 0) {
				return fail(x, item, f,
					    "expected a port (1-65535) or a range like 8000-8010, got '%.50s'", t);
			}
		} else if (strcmp(k, "host_ip") == 0) {
			if (!compose_valid_ip(t, 0)) {
				return fail(x, item, f, "'%.100s' is not an IP address", t);
			}
			p->host_ip = t;
		} else if (strcmp(k, "protocol") == 0) {
			if (compose_parse_protocol(t, p->protocol) < 0) {
				return fail(x, item, f, "expected tcp, udp or sctp, got '%.50s'", t);
			}
		} else if (strcmp(k, "mode") == 0) {
			if (strcmp(t, "host") != 0 && strcmp(t, "ingress") != 0) {
				return fail(x, item, f, "expected host or ingress, got '%.50s'", t);
			}
			p->mode_host = t[0] == 'h';
		} else if (strcmp(k, "name") == 0) {
			p->name = t;
		} else {
			p->app_protocol = t;
		}
	}
	p->line = n->line;
	return 0;
}

static int p_ports(struct ctx *x, struct compose_service *s, const struct yt_node *key, const struct yt_node *v)
{
	(void)key;
	if (v == NULL || v->kind != YT_SEQ) {
		return fail(x, v, "ports", "expected a list, got %s", kind_name(v));
	}
	s->ports = xalloc(x, v->count, sizeof(*s->ports));
	if (s->ports == NULL) {
		return -1;
	}
	for (size_t i = 0; i < v->count; i++) {
		const struct yt_node *item = v->items[i];
		struct compose_port *p = &s->ports[s->nports];
		if (item->kind == YT_MAP) {
			if (long_port(x, item, p) < 0) {
				continue;
			}
		} else {
			char *t;
			const char *why = NULL;
			if (str(x, item, "ports", &t) < 0) {
				continue;
			}
			int ret = compose_parse_port(&x->p->arena, t, p, &why);
			if (ret == -ENOMEM) {
				return oom(x);
			}
			if (ret < 0) {
				fail(x, item, "ports", "'%.100s': %s", t, why);
				continue;
			}
			p->line = item->line;
		}
		s->nports++;
	}
	return x->failed ? -1 : 0;
}

static int p_expose(struct ctx *x, struct compose_service *s, const struct yt_node *key, const struct yt_node *v)
{
	(void)key;
	char **items;
	size_t n;
	if (strlist(x, v, "expose", 0, &items, &n) < 0) {
		return -1;
	}
	s->expose = xalloc(x, n, sizeof(*s->expose));
	if (s->expose == NULL) {
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		struct compose_expose *e = &s->expose[s->nexpose];
		char *slash = strchr(items[i], '/');
		memcpy(e->protocol, "tcp", 4);
		if (slash != NULL) {
			*slash = '\0';
		}
		if ((slash != NULL && compose_parse_protocol(slash + 1, e->protocol) < 0) ||
		    compose_parse_port_range(items[i], strlen(items[i]), &e->start, &e->end) < 0) {
			fail(x, v->items[i], "expose", "expected PORT[-END][/PROTOCOL], got '%.100s'", items[i]);
			continue;
		}
		s->nexpose++;
	}
	return x->failed ? -1 : 0;
}

static int host_address(char *addr)
{
	size_t len = strlen(addr);
	if (len > 2 && addr[0] == '[' && addr[len - 1] == ']') {
		memmove(addr, addr + 1, len - 2);
		addr[len - 2] = '\0';
	}
	return strcmp(addr, "host-gateway") == 0 || compose_valid_ip(addr, 0);
}

static int p_extra_hosts(struct ctx *x, struct compose_service *s, const struct yt_node *key, const struct yt_node *v)
{
	(void)key;
	if (v != NULL && v->kind == YT_SEQ) {
		s->extra_hosts = xalloc(x, v->count, sizeof(*s->extra_hosts));
		if (s->extra_hosts == NULL) {
			return -1;
		}
		for (size_t i = 0; i < v->count; i++) {
			char *t;
			if (str(x, v->items[i], "extra_hosts", &t) < 0) {
				continue;
			}
			/* HOST=ADDR, or HOST:ADDR where ADDR may hold colons (IPv6). */
			char *sep = strchr(t, '=');
			if (sep == NULL) {
				sep = strchr(t, ':');
			}
			if (sep == NULL || sep == t) {
				fail(x, v->items[i], "extra_hosts", "expected HOST:ADDRESS, got '%.100s'", t);
				continue;
			}
			*sep = '\0';
			s->extra_hosts[s->nextra_hosts].key = t;
			s->extra_hosts[s->nextra_hosts].value = sep + 1;
			s->nextra_hosts++;
		}
	} else if (kvlist(x, v, "extra_hosts", &s->extra_hosts, &s->nextra_hosts) < 0) {
		return -1;
	}
	for (size_t i = 0; i < s->nextra_hosts; i++) {
		if (!compose_valid_hostname(s->extra_hosts[i].key)) {
			fail(x, v, "extra_hosts", "'%.100s' is not a valid host name", s->extra_hosts[i].key);
		} else if (!host_address(s->extra_hosts[i].value)) {
			fail(x, v, "extra_hosts", "%.100s: '%.100s' is not an IP address or host-gateway",
			     s->extra_hosts[i].key, s->extra_hosts[i].value);
		}
	}
	return x->failed ? -1 : 0;
}

static int p_dns(struct ctx *x, struct compose_service *s, const struct yt_node *key, const struct yt_node *v)
{
	(void)key;
	if (strlist(x, v, "dns", 1, &s->dns, &s->ndns) < 0) {
		return -1;
	}
	for (size_t i = 0; i < s->ndns; i++) {
		if (!compose_valid_ip(s->dns[i], 0)) {
			fail(x, v->kind == YT_SEQ ? v->items[i] : v, "dns", "'%.100s' is not an IP address", s->dns[i]);
		}
	}
	return x->failed ? -1 : 0;
}

static int p_platform(struct ctx *x, struct compose_service *s, const struct yt_node *key, const struct yt_node *v)
{
	(void)s;
	(void)key;
	char *t;
	if (str(x, v, "platform", &t) < 0) {
		return -1;
	}
	if (strcmp(t, "linux/amd64") != 0) {
		return fail(x, v, "platform", "'%.60s': Berth runs linux/amd64 images only", t);
	}
	return 0;
}

static int p_pull_policy(struct ctx *x, struct compose_service *s, const struct yt_node *key, const struct yt_node *v)
{
	(void)key;
	char *t;
	if (str(x, v, "pull_policy", &t) < 0) {
		return -1;
	}
	if (strcmp(t, "never") == 0) {
		s->pull_policy = COMPOSE_PULL_NEVER;
	} else if (strcmp(t, "missing") == 0 || strcmp(t, "if_not_present") == 0) {
		s->pull_policy = COMPOSE_PULL_MISSING;
	} else if (strcmp(t, "always") == 0 || strcmp(t, "build") == 0 || strcmp(t, "daily") == 0 ||
		   strcmp(t, "weekly") == 0 || strncmp(t, "every_", 6) == 0) {
		return fail(x, v, "pull_policy",
			    "'%s' is not possible: Berth does not pull or build images (load them from /config/images; "
			    "use never or missing)",
			    t);
	} else {
		return fail(x, v, "pull_policy", "expected never or missing, got '%.50s'", t);
	}
	return 0;
}

static int p_profiles(struct ctx *x, struct compose_service *s, const struct yt_node *key, const struct yt_node *v)
{
	(void)key;
	if (strlist(x, v, "profiles", 0, &s->profiles, &s->nprofiles) < 0) {
		return -1;
	}
	for (size_t i = 0; i < s->nprofiles; i++) {
		if (!compose_valid_name(s->profiles[i])) {
			fail(x, v->items[i], "profiles", "'%.100s' is not a profile name", s->profiles[i]);
		}
	}
	return x->failed ? -1 : 0;
}

static const struct {
	const char *name;
	svc_parser parse;
} service_keys[] = {
	{"image", p_image},
	{"command", p_command},
	{"entrypoint", p_entrypoint},
	{"environment", p_environment},
	{"env_file", p_env_file},
	{"volumes", p_volumes},
	{"tmpfs", p_tmpfs},
	{"restart", p_restart},
	{"depends_on", p_depends_on},
	{"healthcheck", p_healthcheck},
	{"user", p_user},
	{"working_dir", p_working_dir},
	{"read_only", p_read_only},
	{"cap_add", p_cap_add},
	{"cap_drop", p_cap_drop},
	{"privileged", p_privileged},
	{"hostname", p_hostname},
	{"domainname", p_domainname},
	{"container_name", p_container_name},
	{"mem_limit", p_mem_limit},
	{"memswap_limit", p_memswap_limit},
	{"shm_size", p_shm_size},
	{"cpus", p_cpus},
	{"pids_limit", p_pids_limit},
	{"sysctls", p_sysctls},
	{"ulimits", p_ulimits},
	{"labels", p_labels},
	{"init", p_init},
	{"stop_signal", p_stop_signal},
	{"stop_grace_period", p_stop_grace_period},
	{"logging", p_logging},
	{"network_mode", p_network_mode},
	{"networks", p_networks},
	{"ports", p_ports},
	{"expose", p_expose},
	{"extra_hosts", p_extra_hosts},
	{"dns", p_dns},
	{"stdin_open", p_stdin_open},
	{"tty", p_tty},
	{"platform", p_platform},
	{"pull_policy", p_pull_policy},
	{"profiles", p_profiles},
};

/* Keys of the Compose specification that Berth does not implement, with
 * what to do instead where there is something. */
static const struct {
	const char *name;
	const char *why;
} unsupported_service_keys[] = {
	{"build", "Berth runs prebuilt images from /config/images"},
	{"deploy", "use mem_limit, cpus, pids_limit and restart"},
	{"develop", "Berth has no development mode"},
	{"extends", "share settings with YAML anchors and <<: *base"},
	{"secrets", "mount files from the config partition with volumes"},
	{"configs", "mount files from the config partition with volumes"},
	{"devices", "device access is not supported yet"},
	{"device_cgroup_rules", "device access is not supported yet"},
	{"gpus", "device access is not supported yet"},
	{"links", "services reach each other by name on their networks"},
	{"external_links", "services reach each other by name on their networks"},
	{"volumes_from", "declare the shared volume in both services"},
	{"ipc", "namespace sharing is not supported"},
	{"pid", "namespace sharing is not supported"},
	{"uts", "namespace sharing is not supported"},
	{"userns_mode", "user namespaces are not supported yet"},
	{"cgroup", "cgroup namespace sharing is not supported"},
	{"cgroup_parent", "berthd places every container's cgroup itself"},
	{"security_opt", "Berth applies its own security profile; use cap_add, cap_drop or privileged"},
	{"blkio_config", "Berth supports mem_limit, memswap_limit, cpus and pids_limit"},
	{"cpu_count", "use cpus"},
	{"cpu_percent", "use cpus"},
	{"cpu_shares", "use cpus"},
	{"cpu_period", "use cpus"},
	{"cpu_quota", "use cpus"},
	{"cpu_rt_runtime", "the kernel has no real-time group scheduling"},
	{"cpu_rt_period", "the kernel has no real-time group scheduling"},
	{"cpuset", "use cpus"},
	{"mem_reservation", "use mem_limit"},
	{"mem_swappiness", "use memswap_limit"},
	{"oom_kill_disable", "containers are always subject to the OOM killer"},
	{"oom_score_adj", "not supported"},
	{"storage_opt", "not supported"},
	{"group_add", "not supported yet"},
	{"dns_search", "not supported yet"},
	{"dns_opt", "not supported yet"},
	{"mac_address", "not supported"},
	{"annotations", "use labels"},
	{"attach", "berthd keeps every container's log"},
	{"credential_spec", "Windows only"},
	{"isolation", "Windows only"},
	{"runtime", "Berth runs containers with its own runtime"},
	{"scale", "one container per service"},
	{"label_file", "use labels"},
	{"post_start", "lifecycle hooks are not supported"},
	{"pre_stop", "lifecycle hooks are not supported"},
	{"provider", "not supported"},
	{"models", "not supported"},
	{"use_api_socket", "there is no Docker API socket"},
	{"driver_opts", "not supported"},
};

/* ---- services ------------------------------------------------------------------------ */

static void merge_env(struct ctx *x, struct compose_service *s)
{
	struct svc_scratch *sc = x->sc;
	size_t cap = sc->nfile_env + sc->ninline_env;
	s->env = xalloc(x, cap, sizeof(*s->env));
	if (s->env == NULL) {
		return;
	}
	for (size_t i = 0; i < sc->nfile_env; i++) {
		env_put(x, s->env, &s->nenv, cap, sc->file_env[i].name, sc->file_env[i].value);
	}
	for (size_t i = 0; i < sc->ninline_env; i++) {
		env_put(x, s->env, &s->nenv, cap, sc->inline_env[i].name, sc->inline_env[i].value);
	}
}

static void merge_mounts(struct ctx *x, struct compose_service *s, const struct yt_node *where)
{
	struct svc_scratch *sc = x->sc;
	s->mounts = xalloc(x, sc->nvolumes + sc->ntmpfs, sizeof(*s->mounts));
	if (s->mounts == NULL) {
		return;
	}
	for (size_t i = 0; i < sc->nvolumes + sc->ntmpfs; i++) {
		const struct compose_mount *m = i < sc->nvolumes ? &sc->volumes[i] : &sc->tmpfs[i - sc->nvolumes];
		for (size_t j = 0; j < s->nmounts; j++) {
			if (strcmp(s->mounts[j].target, m->target) == 0) {
				struct yt_node at = *where;
				at.line = m->line;
				fail(x, &at, i < sc->nvolumes ? "volumes" : "tmpfs",
				     "%s is mounted twice (also at line %d)", m->target, s->mounts[j].line);
			}
		}
		s->mounts[s->nmounts++] = *m;
	}
}

static int profile_enabled(const struct compose_options *opt, const struct compose_service *s)
{
	if (s->nprofiles == 0) {
		return 1;
	}
	for (size_t i = 0; i < opt->nprofiles; i++) {
		if (strcmp(opt->profiles[i], "*") == 0) {
			return 1;
		}
		for (size_t j = 0; j < s->nprofiles; j++) {
			if (strcmp(opt->profiles[i], s->profiles[j]) == 0) {
				return 1;
			}
		}
	}
	return 0;
}

static void parse_service(struct ctx *x, const struct yt_node *key, const struct yt_node *def,
			  struct compose_service *s)
{
	struct svc_scratch sc = {0};
	s->line = key->line;
	s->stop_grace_ns = -1;
	x->sc = &sc;
	x->service = s->name;
	x->failed = 0;
	sfmt(x->scope, sizeof(x->scope), "services.%s", s->name);
	const struct yt_node *m;
	if (yt_is_null(def) || def->kind != YT_MAP) {
		fail(x, yt_is_null(def) ? key : def, NULL, "expected a mapping with at least 'image', got %s",
		     kind_name(def));
	} else if (as_map(x, def, NULL, &m) == 0) {
		for (size_t i = 0; i < m->count; i++) {
			const struct yt_node *k = m->keys[i];
			if (is_extension(k)) {
				continue;
			}
			size_t j;
			for (j = 0; j < sizeof(service_keys) / sizeof(service_keys[0]); j++) {
				if (strcmp(service_keys[j].name, k->value) == 0) {
					service_keys[j].parse(x, s, k, m->items[i]);
					break;
				}
			}
			if (j < sizeof(service_keys) / sizeof(service_keys[0])) {
				continue;
			}
			for (j = 0; j < sizeof(unsupported_service_keys) / sizeof(unsupported_service_keys[0]); j++) {
				if (strcmp(unsupported_service_keys[j].name, k->value) == 0) {
					fail(x, k, NULL, "unsupported key '%s' (%s)", k->value,
					     unsupported_service_keys[j].why);
					break;
				}
			}
			if (j == sizeof(unsupported_service_keys) / sizeof(unsupported_service_keys[0])) {
				fail(x, k, NULL, "unknown key '%.100s'", k->value);
			}
		}
		if (yt_get(m, "image") == NULL) {
			fail(x, key, NULL, "no image (Berth runs prebuilt images: give 'image')");
		}
		merge_env(x, s);
		merge_mounts(x, s, def);
		if (s->memswap_limit != 0 && s->mem_limit == 0) {
			fail(x, sc.memswap, "memswap_limit", "needs mem_limit as well");
		} else if (s->memswap_limit > 0 && s->memswap_limit < s->mem_limit) {
			fail(x, sc.memswap, "memswap_limit", "must be at least mem_limit (it counts memory plus swap)");
		}
		if (sc.networks != NULL && s->network_mode != COMPOSE_NET_DEFAULT) {
			fail(x, sc.networks, "networks", "cannot be combined with network_mode");
		}
		if (s->network_mode == COMPOSE_NET_SERVICE) {
			if (s->deps == NULL) {
				s->deps = xalloc(x, 1, sizeof(*s->deps));
			}
			if (s->deps != NULL) {
				int have = 0;
				for (size_t i = 0; i < s->ndeps; i++) {
					have |= strcmp(s->deps[i].service, s->network_mode_target) == 0;
				}
				if (!have) {
					struct compose_dep *d = &s->deps[s->ndeps++];
					memset(d, 0, sizeof(*d));
					d->service = s->network_mode_target;
					d->required = 1;
					d->implicit = 1;
					d->line = s->line;
				}
			}
		}
		if (s->network_mode == COMPOSE_NET_HOST) {
			for (size_t i = 0; i < s->nsysctls; i++) {
				if (strncmp(s->sysctls[i].key, "net.", 4) == 0) {
					fail(x, def, "sysctls", "'%.100s' cannot be set with network_mode: host",
					     s->sysctls[i].key);
				}
			}
			if (s->nports > 0) {
				struct yt_node at = *def;
				at.line = s->ports[0].line;
				warn(x, &at, "ports", "published ports are ignored with network_mode: host");
			}
		}
	}
	s->valid = !x->failed;
	s->active = profile_enabled(x->opt, s);
	x->sc = NULL;
	x->service = NULL;
	x->scope[0] = '\0';
}

/* ---- top-level volumes and networks ------------------------------------------------------ */

static int parse_volume(struct ctx *x, const struct yt_node *key, const struct yt_node *def, struct compose_volume *v)
{
	v->key = xstrdup(x, key->value);
	v->name = v->key;
	v->line = key->line;
	x->failed = 0;
	sfmt(x->scope, sizeof(x->scope), "volumes.%.200s", key->value);
	if (!compose_valid_name(key->value)) {
		fail(x, key, NULL, "'%.100s' is not a valid volume name ([a-zA-Z0-9][a-zA-Z0-9_.-]*)", key->value);
	} else if (!yt_is_null(def)) {
		const struct yt_node *m;
		if (as_map(x, def, NULL, &m) == 0) {
			for (size_t i = 0; i < m->count; i++) {
				const char *k = m->keys[i]->value;
				const struct yt_node *item = m->items[i];
				char *t;
				if (is_extension(m->keys[i])) {
					continue;
				}
				if (strcmp(k, "name") == 0) {
					if (str(x, item, "name", &t) == 0) {
						if (!compose_valid_name(t)) {
							fail(x, item, "name", "'%.100s' is not a valid volume name", t);
						}
						v->name = t;
					}
				} else if (strcmp(k, "driver") == 0) {
					if (str(x, item, "driver", &t) == 0 && strcmp(t, "local") != 0) {
						fail(x, item, "driver", "'%.60s': Berth has local volumes only", t);
					}
				} else if (strcmp(k, "labels") == 0) {
					kvlist(x, item, "labels", &v->labels, &v->nlabels);
				} else if (strcmp(k, "external") == 0 || strcmp(k, "driver_opts") == 0) {
					fail(x, m->keys[i], NULL,
					     "unsupported key '%s' (volumes are directories on the DATA partition)", k);
				} else {
					fail(x, m->keys[i], NULL, "unknown key '%.100s'", k);
				}
			}
		}
	}
	v->valid = !x->failed;
	x->scope[0] = '\0';
	return v->key ? 0 : -1;
}

static void parse_ipam(struct ctx *x, const struct yt_node *n, struct compose_network *net)
{
	const struct yt_node *m;
	if (as_map(x, n, "ipam", &m) < 0) {
		return;
	}
	for (size_t i = 0; i < m->count; i++) {
		const char *k = m->keys[i]->value;
		const struct yt_node *item = m->items[i];
		char *t;
		if (is_extension(m->keys[i])) {
			continue;
		}
		if (strcmp(k, "driver") == 0) {
			if (str(x, item, "ipam.driver", &t) == 0 && strcmp(t, "default") != 0) {
				fail(x, item, "ipam.driver", "'%.60s': only the default IPAM driver exists", t);
			}
		} else if (strcmp(k, "config") == 0) {
			if (item->kind != YT_SEQ) {
				fail(x, item, "ipam.config", "expected a list, got %s", kind_name(item));
				continue;
			}
			net->subnets = xalloc(x, item->count, sizeof(*net->subnets));
			if (net->subnets == NULL) {
				return;
			}
			for (size_t j = 0; j < item->count; j++) {
				const struct yt_node *cm;
				if (as_map(x, item->items[j], "ipam.config", &cm) < 0) {
					continue;
				}
				struct compose_subnet *sn = &net->subnets[net->nsubnets];
				for (size_t c = 0; c < cm->count; c++) {
					const char *ck = cm->keys[c]->value;
					char f[64];
					sfmt(f, sizeof(f), "ipam.config.%.40s", ck);
					if (is_extension(cm->keys[c])) {
						continue;
					}
					if (strcmp(ck, "subnet") == 0 || strcmp(ck, "ip_range") == 0) {
						if (str(x, cm->items[c], f, &t) == 0) {
							if (!compose_valid_cidr(t)) {
								fail(x, cm->items[c], f,
								     "'%.60s' is not a network like "
								     "10.1.0.0/24",
								     t);
							}
							*(ck[0] == 's' ? &sn->subnet : &sn->ip_range) = t;
						}
					} else if (strcmp(ck, "gateway") == 0) {
						if (str(x, cm->items[c], f, &t) == 0) {
							if (!compose_valid_ip(t, 0)) {
								fail(x, cm->items[c], f, "'%.60s' is not an IP address",
								     t);
							}
							sn->gateway = t;
						}
					} else {
						fail(x, cm->keys[c], "ipam.config",
						     "unsupported key '%.60s' (subnet, "
						     "ip_range and gateway are)",
						     ck);
					}
				}
				if (sn->subnet == NULL) {
					fail(x, item->items[j], "ipam.config", "an entry needs a subnet");
					continue;
				}
				net->nsubnets++;
			}
		} else {
			fail(x, m->keys[i], "ipam", "unsupported key '%.100s' (driver and config are)", k);
		}
	}
}

static int parse_network(struct ctx *x, const struct yt_node *key, const struct yt_node *def,
			 struct compose_network *net)
{
	net->key = xstrdup(x, key->value);
	net->name = net->key;
	net->line = key->line;
	x->failed = 0;
	sfmt(x->scope, sizeof(x->scope), "networks.%.200s", key->value);
	if (!compose_valid_name(key->value)) {
		fail(x, key, NULL, "'%.100s' is not a valid network name ([a-zA-Z0-9][a-zA-Z0-9_.-]*)", key->value);
	} else if (!yt_is_null(def)) {
		const struct yt_node *m;
		if (as_map(x, def, NULL, &m) == 0) {
			for (size_t i = 0; i < m->count; i++) {
				const char *k = m->keys[i]->value;
				const struct yt_node *item = m->items[i];
				char *t;
				if (is_extension(m->keys[i])) {
					continue;
				}
				if (strcmp(k, "name") == 0) {
					if (str(x, item, "name", &t) == 0) {
						if (!compose_valid_name(t)) {
							fail(x, item, "name", "'%.100s' is not a valid network name",
							     t);
						}
						net->name = t;
					}
				} else if (strcmp(k, "driver") == 0) {
					if (str(x, item, "driver", &t) == 0 && strcmp(t, "bridge") != 0) {
						fail(x, item, "driver", "'%.60s': Berth has bridge networks only", t);
					}
				} else if (strcmp(k, "internal") == 0) {
					boolean(x, item, "internal", &net->internal);
				} else if (strcmp(k, "enable_ipv6") == 0) {
					if (boolean(x, item, "enable_ipv6", &net->enable_ipv6) == 0 &&
					    net->enable_ipv6) {
						fail(x, item, "enable_ipv6",
						     "Berth's networks are IPv4 only (containers can use "
						     "network_mode: host for IPv6)");
					}
				} else if (strcmp(k, "labels") == 0) {
					kvlist(x, item, "labels", &net->labels, &net->nlabels);
				} else if (strcmp(k, "ipam") == 0) {
					parse_ipam(x, item, net);
				} else if (strcmp(k, "external") == 0 || strcmp(k, "driver_opts") == 0 ||
					   strcmp(k, "attachable") == 0 || strcmp(k, "enable_ipv4") == 0) {
					fail(x, m->keys[i], NULL,
					     "unsupported key '%s' (networks are bridges that berthd creates)", k);
				} else {
					fail(x, m->keys[i], NULL, "unknown key '%.100s'", k);
				}
			}
		}
	}
	net->valid = !x->failed;
	x->scope[0] = '\0';
	return net->key ? 0 : -1;
}

/* ---- the project ----------------------------------------------------------------------- */

const struct compose_service *compose_service_find(const struct compose_project *p, const char *name)
{
	for (size_t i = 0; i < p->nservices; i++) {
		if (strcmp(p->services[i].name, name) == 0) {
			return &p->services[i];
		}
	}
	return NULL;
}

const struct compose_volume *compose_volume_find(const struct compose_project *p, const char *key)
{
	for (size_t i = 0; i < p->nvolumes; i++) {
		if (strcmp(p->volumes[i].key, key) == 0) {
			return &p->volumes[i];
		}
	}
	return NULL;
}

const struct compose_network *compose_network_find(const struct compose_project *p, const char *key)
{
	for (size_t i = 0; i < p->nnetworks; i++) {
		if (strcmp(p->networks[i].key, key) == 0) {
			return &p->networks[i];
		}
	}
	return NULL;
}

/* Checks between a service and the rest of the file: the volumes and
 * networks it names, and names that must be unique. */
static void cross_check(struct ctx *x, struct compose_service *s, size_t index)
{
	struct yt_node at = {.line = s->line};
	x->service = s->name;
	x->failed = 0;
	sfmt(x->scope, sizeof(x->scope), "services.%s", s->name);
	for (size_t i = 0; i < s->nmounts; i++) {
		const struct compose_mount *m = &s->mounts[i];
		if (m->type != COMPOSE_MOUNT_VOLUME || m->source == NULL) {
			continue;
		}
		const struct compose_volume *v = compose_volume_find(x->p, m->source);
		at.line = m->line;
		if (v == NULL) {
			fail(x, &at, "volumes", "volume '%.100s' is not declared under the top-level volumes key",
			     m->source);
		} else if (!v->valid) {
			fail(x, &at, "volumes", "volume '%.100s' is invalid (see its error)", m->source);
		}
	}
	for (size_t i = 0; i < s->nnetworks; i++) {
		const struct compose_netattach *a = &s->networks[i];
		const struct compose_network *n = compose_network_find(x->p, a->network);
		at.line = a->line;
		if (n == NULL && strcmp(a->network, "default") != 0) {
			fail(x, &at, "networks", "network '%.100s' is not declared under the top-level networks key",
			     a->network);
		} else if (n != NULL && !n->valid) {
			fail(x, &at, "networks", "network '%.100s' is invalid (see its error)", a->network);
		}
	}
	if (s->container_name != NULL) {
		for (size_t i = 0; i < index; i++) {
			const struct compose_service *o = &x->p->services[i];
			if (o->container_name != NULL && strcmp(o->container_name, s->container_name) == 0) {
				at.line = s->line;
				fail(x, &at, "container_name", "'%.100s' is also the container name of %s",
				     s->container_name, o->name);
			}
		}
	}
	if (x->failed) {
		s->valid = 0;
	}
	x->service = NULL;
	x->scope[0] = '\0';
}

static const char *const unsupported_top_keys[] = {"secrets", "configs", "include", "models", NULL};

static int parse_top(struct ctx *x, const struct yt_node *root, struct berr *err)
{
	struct compose_project *p = x->p;
	const struct yt_node *services = NULL;
	const struct yt_node *volumes = NULL;
	const struct yt_node *networks = NULL;
	const struct yt_node *name = NULL;
	for (size_t i = 0; i < root->count; i++) {
		const struct yt_node *k = root->keys[i];
		if (strcmp(k->value, "services") == 0) {
			services = root->items[i];
		} else if (strcmp(k->value, "volumes") == 0) {
			volumes = root->items[i];
		} else if (strcmp(k->value, "networks") == 0) {
			networks = root->items[i];
		} else if (strcmp(k->value, "name") == 0) {
			name = root->items[i];
		} else if (strcmp(k->value, "version") == 0) {
			warn(x, k, NULL, "the top-level 'version' is obsolete and ignored");
		} else if (!is_extension(k)) {
			int unsupported = 0;
			for (const char *const *u = unsupported_top_keys; *u; u++) {
				unsupported |= strcmp(*u, k->value) == 0;
			}
			if (unsupported) {
				fail(x, k, NULL,
				     "unsupported key '%s' (mount files from the config partition with "
				     "volumes)",
				     k->value);
			} else {
				fail(x, k, NULL, "unknown top-level key '%.100s'", k->value);
			}
		}
	}
	if (name != NULL) {
		char *n;
		if (str(x, name, "name", &n) < 0 || !compose_valid_project_name(n)) {
			return yt_error(x->doc, name, err,
					"name: expected a project name of lower-case letters, digits, "
					"'-' and '_' (starting with a letter or digit)");
		}
		p->name = n;
	}
	if (services == NULL) {
		return yt_error(x->doc, root, err, "no 'services' key: nothing to run");
	}
	if (services->kind != YT_MAP && !yt_is_null(services)) {
		return yt_error(x->doc, services, err, "services: expected a mapping of service names");
	}
	if (volumes != NULL && volumes->kind != YT_MAP && !yt_is_null(volumes)) {
		return yt_error(x->doc, volumes, err, "volumes: expected a mapping of volume names");
	}
	if (networks != NULL && networks->kind != YT_MAP && !yt_is_null(networks)) {
		return yt_error(x->doc, networks, err, "networks: expected a mapping of network names");
	}
	/* Bounds the work of the checks between entries (names must be unique). */
	const struct yt_node *const sections[] = {services, volumes, networks};
	for (size_t i = 0; i < 3; i++) {
		if (sections[i] != NULL && sections[i]->kind == YT_MAP && sections[i]->count > COMPOSE_MAX_ENTRIES) {
			return yt_error(x->doc, sections[i], err, "more than %d entries", COMPOSE_MAX_ENTRIES);
		}
	}
	if (yt_is_null(services) || services->count == 0) {
		warn(x, services, NULL, "no services are defined");
	}
	const struct yt_node *m;
	if (volumes != NULL && volumes->kind == YT_MAP) {
		if (as_map(x, volumes, "volumes", &m) < 0) {
			return yt_error(x->doc, volumes, err, "volumes: invalid merge key");
		}
		p->volumes = xalloc(x, m->count, sizeof(*p->volumes));
		for (size_t i = 0; p->volumes != NULL && i < m->count; i++) {
			if (!is_extension(m->keys[i]) &&
			    parse_volume(x, m->keys[i], m->items[i], &p->volumes[p->nvolumes]) == 0) {
				p->nvolumes++;
			}
		}
	}
	if (networks != NULL && networks->kind == YT_MAP) {
		if (as_map(x, networks, "networks", &m) < 0) {
			return yt_error(x->doc, networks, err, "networks: invalid merge key");
		}
		p->networks = xalloc(x, m->count, sizeof(*p->networks));
		for (size_t i = 0; p->networks != NULL && i < m->count; i++) {
			if (!is_extension(m->keys[i]) &&
			    parse_network(x, m->keys[i], m->items[i], &p->networks[p->nnetworks]) == 0) {
				p->nnetworks++;
			}
		}
	}
	if (services->kind == YT_MAP) {
		if (as_map(x, services, "services", &m) < 0) {
			return yt_error(x->doc, services, err, "services: invalid merge key");
		}
		p->services = xalloc(x, m->count, sizeof(*p->services));
		for (size_t i = 0; p->services != NULL && i < m->count; i++) {
			const struct yt_node *k = m->keys[i];
			if (is_extension(k)) {
				continue;
			}
			struct compose_service *s = &p->services[p->nservices];
			s->name = xstrdup(x, k->value);
			if (s->name == NULL) {
				break;
			}
			if (!compose_valid_name(k->value)) {
				x->service = s->name;
				fail(x, k, NULL, "'%.100s' is not a valid service name ([a-zA-Z0-9][a-zA-Z0-9_.-]*)",
				     k->value);
				x->service = NULL;
				continue;
			}
			parse_service(x, k, m->items[i], s);
			p->nservices++;
		}
		for (size_t i = 0; i < p->nservices; i++) {
			cross_check(x, &p->services[i], i);
		}
	}
	return 0;
}

int compose_parse(struct compose_project *p, const char *buf, size_t len, const struct compose_options *opt,
		  struct berr *err)
{
	static const struct compose_options no_options = {0};
	if (opt == NULL) {
		opt = &no_options;
	}
	memset(p, 0, sizeof(*p));
	struct ctx x = {.p = p, .opt = opt};
	x.interp = (struct compose_interp){.vars = opt->vars, .unset = on_unset, .ctx = &x};
	p->file = arena_strdup(&p->arena, opt->file_name ? opt->file_name : "compose.yaml");
	p->problems = arena_alloc(&p->arena, COMPOSE_MAX_PROBLEMS * sizeof(*p->problems));
	p->name = arena_strdup(&p->arena, opt->default_name ? opt->default_name : "berth");
	const char *dir = opt->dir ? opt->dir : ".";
	char cwd[PATH_LEN];
	if (dir[0] != '/') {
		if (getcwd(cwd, sizeof(cwd)) == NULL) {
			compose_free(p);
			return berr_set(err, errno, "getcwd");
		}
	}
	if (p->file == NULL || p->problems == NULL || p->name == NULL) {
		compose_free(p);
		return berr_set(err, ENOMEM, "compose");
	}
	p->dir = clean_path(&x, dir[0] == '/' ? "/" : cwd, dir);
	if (p->dir == NULL) {
		compose_free(p);
		return berr_setx(err, x.nomem ? ENOMEM : ENAMETOOLONG, "%s: directory name too long", p->file);
	}
	if (!compose_valid_project_name(p->name)) {
		int ret = berr_setx(err, EINVAL, "%s: '%s' is not a valid project name", p->file, p->name);
		compose_free(p);
		return ret;
	}
	struct yt_doc doc;
	int ret = yt_parse(&doc, p->file, buf, len, err);
	if (ret < 0) {
		compose_free(p);
		return ret;
	}
	x.doc = &doc;
	const struct yt_node *root = doc.root;
	if (root == NULL || yt_is_null(root)) {
		ret = berr_setx(err, EINVAL, "%s: the file is empty", p->file);
	} else if (root->kind != YT_MAP) {
		ret = yt_error(&doc, root, err, "expected a mapping with 'services' at the top level");
	} else if (as_map(&x, root, NULL, &root) < 0) {
		ret = yt_error(&doc, root, err, "invalid merge key at the top level");
	} else {
		ret = parse_top(&x, root, err);
	}
	yt_free(&doc);
	if (ret == 0 && x.nomem) {
		ret = berr_set(err, ENOMEM, "%s", p->file);
	}
	if (ret < 0) {
		compose_free(p);
		return ret;
	}
	return (int)(p->nerrors > INT_MAX ? INT_MAX : p->nerrors);
}

int compose_load(struct compose_project *p, const char *path, const struct compose_options *opt, struct berr *err)
{
	struct compose_options o = opt ? *opt : (struct compose_options){0};
	char dir[PATH_LEN];
	memset(p, 0, sizeof(*p));
	if (o.dir == NULL) {
		const char *slash = strrchr(path, '/');
		if (slash == NULL) {
			sfmt(dir, sizeof(dir), ".");
		} else if (slash == path) {
			sfmt(dir, sizeof(dir), "/");
		} else {
			sfmt(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
		}
		o.dir = dir;
	}
	if (o.file_name == NULL) {
		o.file_name = path;
	}
	auto_close int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		return berr_set(err, errno, "open %s", o.file_name);
	}
	struct stat st;
	if (fstat(fd, &st) < 0) {
		return berr_set(err, errno, "stat %s", o.file_name);
	}
	if (!S_ISREG(st.st_mode)) {
		return berr_setx(err, EINVAL, "%s: not a regular file", o.file_name);
	}
	if ((uint64_t)st.st_size > YT_MAX_INPUT) {
		return berr_setx(err, EFBIG, "%s: larger than %u bytes", o.file_name, YT_MAX_INPUT);
	}
	auto_free char *buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		return berr_set(err, ENOMEM, "%s", o.file_name);
	}
	size_t got = 0;
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n < 0) {
			return berr_set(err, errno, "read %s", o.file_name);
		}
		if (n == 0) {
			break;
		}
		got += (size_t)n;
	}
	return compose_parse(p, buf, got, &o, err);
}

void compose_free(struct compose_project *p)
{
	arena_free(&p->arena);
	memset(p, 0, sizeof(*p));
}

int compose_check_dir(const char *dir, const char *const *profiles, size_t nprofiles, FILE *out)
{
	char path[PATH_LEN];
	char display[PATH_LEN];
	struct compose_vars vars = {0};
	struct berr err = {0};
	sfmt(path, sizeof(path), "%s/.env", dir);
	int ret = compose_dotenv_load(&vars, NULL, path, ".env", &err);
	if (ret < 0 && ret != -ENOENT) {
		fprintf(out, "%s\n", err.msg);
		compose_vars_free(&vars);
		return 1;
	}
	sfmt(path, sizeof(path), "%s/compose.yaml", dir);
	sfmt(display, sizeof(display), "compose.yaml");
	struct compose_options opt = {
		.file_name = display, .dir = dir, .vars = &vars, .profiles = profiles, .nprofiles = nprofiles};
	struct compose_project p;
	ret = compose_load(&p, path, &opt, &err);
	compose_vars_free(&vars);
	if (ret < 0) {
		fprintf(out, "%s\n", err.msg);
		compose_free(&p);
		return 1;
	}
	struct compose_graph g;
	if (compose_graph_build(&p, &g, &err) < 0) {
		int errors = compose_print_problems(&p, NULL, out);
		fprintf(out, "%s\n", err.msg);
		compose_free(&p);
		return errors + 1;
	}
	int errors = compose_print_problems(&p, &g, out);
	compose_graph_free(&g);
	compose_free(&p);
	return errors;
}

int compose_print_problems(const struct compose_project *p, const struct compose_graph *g, FILE *out)
{
	size_t errors = p->nerrors;
	for (size_t i = 0; i < p->nproblems; i++) {
		fprintf(out, "%s%s\n", p->problems[i].error ? "" : "warning: ", p->problems[i].msg);
	}
	if (p->nerrors + p->nwarnings > p->nproblems) {
		fprintf(out, "... and %zu more\n", p->nerrors + p->nwarnings - p->nproblems);
	}
	if (g != NULL) {
		for (size_t i = 0; i < g->nerrors; i++) {
			fprintf(out, "%s\n", g->errors[i]);
		}
		errors += g->nerrors;
		for (size_t i = 0; i < g->nblocked; i++) {
			/* Invalid services were reported with their own errors. */
			if (p->services[g->blocked[i].service].valid) {
				fprintf(out, "%s\n", g->blocked[i].why);
				errors++;
			}
		}
	}
	return errors > INT_MAX ? INT_MAX : (int)errors;
}
