/* One service of compose.yaml (see parse.h): the table of its keys, the
 * keys of what runs and how (image, command, environment, restart,
 * dependencies, healthcheck, user, names, logging, profiles), and the
 * checks between keys once the whole service is read. Resources, mounts
 * and networking have files of their own. Every key of the specification
 * that Berth does not implement is in the table, refused by name. */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "compose/formats.h"
#include "compose/parse.h"
#include "compose/shlex.h"
#include "lib/signame.h"
#include "lib/strmap.h"

/* ---- what runs ---------------------------------------------------------------------- */

static int svc_image(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	struct compose_service *s = obj;
	if (cx_str(x, v, field, &s->image) < 0) {
		return -1;
	}
	if (s->image[0] == '\0' || strpbrk(s->image, " \t\n\r") != NULL) {
		return cx_fail(x, v, field, "'%.100s' is not an image reference", s->image);
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
		if (cx_str(x, v, field, &s) < 0) {
			return -1;
		}
		if (compose_shlex_split(&x->p->arena, s, argv, argc, &e) < 0) {
			return cx_fail(x, v, field, "%s", e.msg);
		}
		return 0;
	}
	return cx_strlist(x, v, field, 0, argv, argc);
}

static int svc_command(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	struct compose_service *s = obj;
	return cmdline(x, v, field, &s->has_command, &s->command, &s->ncommand);
}

static int svc_entrypoint(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	struct compose_service *s = obj;
	x->sc->entrypoint = v;
	return cmdline(x, v, field, &s->has_entrypoint, &s->entrypoint, &s->nentrypoint);
}

static int valid_env_name(const char *s)
{
	return s[0] != '\0' && strchr(s, '=') == NULL && strpbrk(s, " \t\n\r") == NULL;
}

/* An environment being built: entries, their count, the room there is,
 * and an index of the names (an environment can be long: its names are
 * never compared one against all). */
struct env_list {
	struct compose_env *list;
	size_t *n;
	size_t cap;
	struct strmap index; /* name -> position + 1 */
};

/* Starts an env_list over list, whose first *n entries are in use. */
static int env_list_init(struct ctx *x, struct env_list *e, struct compose_env *list, size_t *n, size_t cap)
{
	*e = (struct env_list){.list = list, .n = n, .cap = cap};
	strmap_init(&e->index, &x->p->arena);
	if (strmap_reserve(&e->index, cap) < 0) {
		return cx_oom(x);
	}
	for (size_t i = 0; i < *n; i++) {
		if (strmap_add(&e->index, list[i].name, strlen(list[i].name), (void *)(uintptr_t)(i + 1), NULL) < 0) {
			return cx_oom(x);
		}
	}
	return 0;
}

/* Sets name in an environment list, later values replacing earlier ones
 * in place. */
static int env_put(struct ctx *x, struct env_list *e, const char *name, const char *value)
{
	size_t at = (size_t)(uintptr_t)strmap_get(&e->index, name, strlen(name));
	if (at != 0) {
		e->list[at - 1].value = value ? cx_strdup(x, value) : NULL;
		return value && !e->list[at - 1].value ? -1 : 0;
	}
	if (*e->n >= e->cap) {
		return cx_oom(x);
	}
	struct compose_env *entry = &e->list[*e->n];
	entry->name = cx_strdup(x, name);
	entry->value = value ? cx_strdup(x, value) : NULL;
	if (entry->name == NULL || (value && entry->value == NULL)) {
		return -1;
	}
	if (strmap_add(&e->index, entry->name, strlen(entry->name), (void *)(uintptr_t)(*e->n + 1), NULL) < 0) {
		return cx_oom(x);
	}
	(*e->n)++;
	return 0;
}

/* One entry of environment: NAME: value, or "NAME=value" in a list; a
 * bare NAME takes its value from the interpolation variables (unset
 * there: unset in the container). */
static void env_entry(struct ctx *x, const struct yt_node *m, size_t i, const char *field, struct env_list *out)
{
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
			cx_fail(x, item, field, "%.100s: expected a string, number or boolean, got %s", name,
				yt_kind_name(item));
			return;
		} else if (cx_str(x, item, field, &value) < 0) {
			return;
		}
	} else {
		if (cx_str(x, item, field, &text) < 0) {
			return;
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
		cx_fail(x, item, field, "'%.100s' is not a variable name", name);
		return;
	}
	if (bare) {
		value = (char *)cx_var(x, name);
	}
	env_put(x, out, name, value);
}

/* environment: a mapping or a list of NAME=VALUE, into a new list. */
static int env_read(struct ctx *x, const struct yt_node *v, const char *field, struct compose_env **list, size_t *n)
{
	const struct yt_node *m = v;
	*n = 0;
	if (v != NULL && v->kind == YT_MAP && cx_map(x, v, field, &m) < 0) {
		return -1;
	}
	if (m == NULL || (m->kind != YT_MAP && m->kind != YT_SEQ)) {
		return cx_fail(x, v, field, "expected a mapping or a list of NAME=VALUE, got %s", yt_kind_name(v));
	}
	*list = cx_alloc(x, m->count, sizeof(**list));
	if (*list == NULL) {
		return -1;
	}
	struct env_list out;
	if (env_list_init(x, &out, *list, n, m->count) < 0) {
		return -1;
	}
	int failed = x->failed;
	x->failed = 0;
	for (size_t i = 0; i < m->count; i++) {
		env_entry(x, m, i, field, &out);
	}
	int ret = x->failed ? -1 : 0;
	x->failed |= failed;
	return ret;
}

static int svc_environment(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	(void)obj;
	return env_read(x, v, field, &x->sc->inline_env, &x->sc->ninline_env);
}

/* Reads a file of NAME=VALUE lines (env_file, label_file) and merges it
 * into *list (later files win). */
static int load_kv_file(struct ctx *x, const struct yt_node *n, const char *key, const char *path, int required,
			struct compose_env **list, size_t *count)
{
	char full[CX_PATH_LEN];
	char where[CX_PATH_LEN];
	if (path[0] == '\0') {
		return cx_fail(x, n, key, "the path is empty");
	}
	if (path[0] == '/') {
		cx_fmt(full, sizeof(full), "%s", path);
	} else {
		cx_fmt(full, sizeof(full), "%s/%s", x->dir, path);
	}
	struct compose_vars vars = {0};
	struct berr e;
	int ret = compose_dotenv_load(&vars, x->interp.vars, cx_readable(x, full, where, sizeof(where)), path, &e);
	if (ret == -ENOENT && !required) {
		compose_vars_free(&vars);
		return 0;
	}
	if (ret < 0) {
		compose_vars_free(&vars);
		if (ret == -ENOENT) {
			return cx_fail(x, n, key, "%.200s (%.300s) does not exist", path, full);
		}
		return cx_fail(x, n, key, "%s", e.msg);
	}
	size_t cap = *count + vars.count;
	struct compose_env *grown = cx_alloc(x, cap, sizeof(*grown));
	if (grown == NULL) {
		compose_vars_free(&vars);
		return -1;
	}
	if (*count > 0) {
		memcpy(grown, *list, *count * sizeof(*grown));
	}
	*list = grown;
	struct env_list out;
	if (env_list_init(x, &out, grown, count, cap) < 0) {
		compose_vars_free(&vars);
		return -1;
	}
	for (size_t i = 0; i < vars.count; i++) {
		if (env_put(x, &out, vars.items[i].name, vars.items[i].value) < 0) {
			ret = -1;
			break;
		}
	}
	compose_vars_free(&vars);
	return ret < 0 ? -1 : 0;
}

static int load_env_file(struct ctx *x, const struct yt_node *n, const char *path, int required)
{
	return load_kv_file(x, n, "env_file", path, required, &x->sc->file_env, &x->sc->nfile_env);
}

struct env_file_entry {
	char *path;
	int required;
};

static const struct cx_rule env_file_rules[] = {
	{"path", CX_STR, .offset = offsetof(struct env_file_entry, path)},
	{"required", CX_BOOL, .offset = offsetof(struct env_file_entry, required)},
	{"format", CX_REFUSED, .why = "env files are read in the dotenv format"},
};

static const struct cx_rules env_file_keys = {CX_RULES(env_file_rules)};

static int svc_env_file(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	(void)obj;
	if (v != NULL && v->kind == YT_SCALAR && !yt_is_null(v)) {
		char *path;
		return cx_str(x, v, field, &path) < 0 ? -1 : load_env_file(x, v, path, 1);
	}
	if (v == NULL || v->kind != YT_SEQ) {
		return cx_fail(x, v, field, "expected a path or a list of paths, got %s", yt_kind_name(v));
	}
	for (size_t i = 0; i < v->count; i++) {
		const struct yt_node *item = v->items[i];
		struct env_file_entry e = {.required = 1};
		if (item->kind == YT_MAP) {
			const struct yt_node *m;
			if (cx_map(x, item, field, &m) < 0 || cx_fields(x, m, field, &env_file_keys, &e) < 0) {
				continue;
			}
			if (e.path == NULL) {
				cx_fail(x, item, field, "an entry needs a path");
				continue;
			}
		} else if (cx_str(x, item, field, &e.path) < 0) {
			continue;
		}
		load_env_file(x, item, e.path, e.required);
	}
	return x->failed ? -1 : 0;
}

/* ---- restarts and dependencies ------------------------------------------------------- */

static int svc_restart(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	struct compose_service *s = obj;
	char *r;
	x->sc->restart = v;
	if (cx_str(x, v, field, &r) < 0) {
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
			return cx_fail(x, v, field, "on-failure:N needs a number of retries, got '%.50s'", r + 11);
		}
		s->restart = COMPOSE_RESTART_ON_FAILURE;
		s->max_retries = (int)n;
	} else {
		return cx_fail(x, v, field, "expected \"no\", always, on-failure[:N] or unless-stopped, got '%.50s'",
			       r);
	}
	return 0;
}

static int dep_condition(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	struct compose_dep *d = obj;
	char *c;
	if (cx_str(x, v, field, &c) < 0) {
		return -1;
	}
	if (strcmp(c, "service_started") == 0) {
		d->condition = COMPOSE_DEP_STARTED;
	} else if (strcmp(c, "service_healthy") == 0) {
		d->condition = COMPOSE_DEP_HEALTHY;
	} else if (strcmp(c, "service_completed_successfully") == 0) {
		d->condition = COMPOSE_DEP_COMPLETED;
	} else {
		return cx_fail(x, v, field,
			       "expected service_started, service_healthy or service_completed_successfully, got "
			       "'%.60s'",
			       c);
	}
	return 0;
}

static const struct cx_rule dep_rules[] = {
	{"condition", CX_FN, .fn = dep_condition},
	{"restart", CX_BOOL, .offset = offsetof(struct compose_dep, restart)},
	{"required", CX_BOOL, .offset = offsetof(struct compose_dep, required)},
};

/* A dependency with a mistake is left out: the service is invalid anyway. */
static const struct cx_rules dep_keys = {CX_RULES(dep_rules), .key_field = "depends_on", .stop = 1};

static int dep_options(struct ctx *x, const struct yt_node *v, struct compose_dep *d)
{
	if (yt_is_null(v)) {
		return 0;
	}
	const struct yt_node *m;
	if (cx_map(x, v, "depends_on", &m) < 0) {
		return -1;
	}
	char field[200];
	cx_fmt(field, sizeof(field), "depends_on.%s", d->service);
	return cx_fields(x, m, field, &dep_keys, d);
}

static int svc_depends_on(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	struct compose_service *s = obj;
	const struct yt_node *m = v;
	if (v != NULL && v->kind == YT_MAP && cx_map(x, v, field, &m) < 0) {
		return -1;
	}
	if (m == NULL || (m->kind != YT_MAP && m->kind != YT_SEQ)) {
		return cx_fail(x, v, field, "expected a list of services or a mapping, got %s", yt_kind_name(v));
	}
	s->deps = cx_alloc(x, m->count, sizeof(*s->deps));
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
			d->service = cx_strdup(x, m->keys[i]->value);
		} else if (cx_str(x, m->items[i], field, &d->service) < 0) {
			continue;
		}
		if (d->service == NULL) {
			return -1;
		}
		if (!compose_valid_name(d->service)) {
			cx_fail(x, where, field, "'%.100s' is not a service name", d->service);
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

/* test: a string (CMD-SHELL) or ["CMD", ...], ["CMD-SHELL", "..."], ["NONE"]. */
static int health_test(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	struct compose_healthcheck *h = &((struct compose_service *)obj)->healthcheck;
	if (v->kind == YT_SCALAR && !yt_is_null(v)) {
		char *t;
		if (cx_str(x, v, field, &t) < 0) {
			return -1;
		}
		if (t[0] == '\0') {
			return cx_fail(x, v, field, "the test command is empty");
		}
		h->test = cx_alloc(x, 3, sizeof(char *));
		if (h->test == NULL) {
			return -1;
		}
		h->test[0] = "CMD-SHELL";
		h->test[1] = t;
		h->ntest = 2;
		return 0;
	}
	if (cx_strlist(x, v, field, 0, &h->test, &h->ntest) < 0) {
		return -1;
	}
	const char *first = h->ntest > 0 ? h->test[0] : "";
	int ok = 0;
	if (strcmp(first, "NONE") == 0) {
		ok = h->ntest == 1;
	} else if (strcmp(first, "CMD") == 0 || strcmp(first, "CMD-SHELL") == 0) {
		ok = h->ntest >= 2;
	}
	if (!ok) {
		return cx_fail(x, v, field,
			       "expected [\"CMD\", program, args...], [\"CMD-SHELL\", command] or [\"NONE\"]");
	}
	return 0;
}

#define HEALTH(f) offsetof(struct compose_service, healthcheck.f)

static const struct cx_rule health_rules[] = {
	{"test", CX_FN, .fn = health_test},
	{"interval", CX_DURATION, .offset = HEALTH(interval_ns)},
	{"timeout", CX_DURATION, .offset = HEALTH(timeout_ns)},
	{"start_period", CX_DURATION, .offset = HEALTH(start_period_ns)},
	{"start_interval", CX_DURATION, .offset = HEALTH(start_interval_ns)},
	{"retries", CX_INT, .offset = HEALTH(retries), .min = 0, .max = INT_MAX},
	{"disable", CX_BOOL, .offset = offsetof(struct compose_service, healthcheck_disabled)},
};

static const struct cx_rules health_keys = {CX_RULES(health_rules)};

static int svc_healthcheck(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	struct compose_service *s = obj;
	const struct yt_node *m;
	if (cx_map(x, v, field, &m) < 0) {
		return -1;
	}
	x->sc->healthcheck = v;
	s->has_healthcheck = 1;
	cx_fields(x, m, field, &health_keys, s);
	const struct compose_healthcheck *h = &s->healthcheck;
	if (s->healthcheck_disabled && h->test != NULL && strcmp(h->test[0], "NONE") != 0) {
		cx_fail(x, v, field, "disable: true and a test cannot both be given");
	}
	return x->failed ? -1 : 0;
}

/* ---- identity ---------------------------------------------------------------------------- */

static int svc_user(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	struct compose_service *s = obj;
	if (cx_str(x, v, field, &s->user) < 0) {
		return -1;
	}
	if (s->user[0] == '\0' || s->user[0] == ':' || strpbrk(s->user, " \t\n\r") != NULL) {
		return cx_fail(x, v, field, "expected USER[:GROUP] (names or numbers), got '%.100s'", s->user);
	}
	struct berr e;
	if (compose_check_user(s->user, &e) < 0) {
		return cx_fail(x, v, field, "%s", e.msg);
	}
	return 0;
}

static int svc_working_dir(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	struct compose_service *s = obj;
	char *d;
	if (cx_str(x, v, field, &d) < 0) {
		return -1;
	}
	if (d[0] != '/') {
		return cx_fail(x, v, field, "'%.200s' must be an absolute path", d);
	}
	s->working_dir = cx_path(x, "/", d);
	return s->working_dir ? 0 : cx_fail(x, v, field, "the path is too long");
}

static int svc_hostname(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	struct compose_service *s = obj;
	if (cx_str(x, v, field, &s->hostname) < 0) {
		return -1;
	}
	if (!compose_valid_hostname(s->hostname)) {
		return cx_fail(x, v, field, "'%.100s' is not a valid host name (RFC 1123, at most 63 characters)",
			       s->hostname);
	}
	return 0;
}

static int svc_domainname(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	struct compose_service *s = obj;
	if (cx_str(x, v, field, &s->domainname) < 0) {
		return -1;
	}
	if (!compose_valid_hostname(s->domainname)) {
		return cx_fail(x, v, field, "'%.100s' is not a valid domain name", s->domainname);
	}
	return 0;
}

static int svc_container_name_key(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	struct compose_service *s = obj;
	if (cx_str(x, v, field, &s->container_name) < 0) {
		return -1;
	}
	if (!compose_valid_name(s->container_name)) {
		return cx_fail(x, v, field, "'%.100s' is not a valid name ([a-zA-Z0-9][a-zA-Z0-9_.-]*)",
			       s->container_name);
	}
	if (strlen(s->container_name) >= COMPOSE_NAME_MAX) {
		return cx_fail(x, v, field, "'%.40s...' is longer than %d characters", s->container_name,
			       COMPOSE_NAME_MAX - 1);
	}
	return 0;
}

const char *svc_container_name(const struct compose_service *s)
{
	return s->container_name != NULL ? s->container_name : s->name;
}

static int svc_labels(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	struct compose_service *s = obj;
	return cx_kvlist(x, v, field, &s->labels, &s->nlabels);
}

static int svc_annotations(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	struct compose_service *s = obj;
	return cx_kvlist(x, v, field, &s->annotations, &s->nannotations);
}

/* label_file: files of KEY=VALUE lines; the labels key wins over them. */
static int svc_label_file(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	(void)obj;
	char **paths;
	size_t n;
	if (cx_strlist(x, v, field, 1, &paths, &n) < 0) {
		return -1;
	}
	struct compose_env *list = NULL;
	size_t count = 0;
	for (size_t i = 0; i < n; i++) {
		load_kv_file(x, v->kind == YT_SEQ ? v->items[i] : v, "label_file", paths[i], 1, &list, &count);
	}
	x->sc->label_file = (struct compose_kv *)list;
	x->sc->nlabel_file = count;
	return x->failed ? -1 : 0;
}

_Static_assert(sizeof(struct compose_env) == sizeof(struct compose_kv) &&
		       offsetof(struct compose_env, value) == offsetof(struct compose_kv, value),
	       "a file of labels is read as one of variables");

/* The labels of label_file, then those of labels (which win). */
static void merge_labels(struct ctx *x, struct compose_service *s)
{
	const struct svc_scratch *sc = x->sc;
	if (sc->nlabel_file == 0) {
		return;
	}
	struct compose_kv *all = cx_alloc(x, sc->nlabel_file + s->nlabels, sizeof(*all));
	if (all == NULL) {
		return;
	}
	size_t n = 0;
	for (size_t i = 0; i < sc->nlabel_file; i++) {
		int overridden = sc->label_file[i].value == NULL;
		for (size_t k = 0; k < s->nlabels && !overridden; k++) {
			overridden = strcmp(s->labels[k].key, sc->label_file[i].key) == 0;
		}
		if (!overridden) {
			all[n++] = sc->label_file[i];
		}
	}
	for (size_t k = 0; k < s->nlabels; k++) {
		all[n++] = s->labels[k];
	}
	s->labels = all;
	s->nlabels = n;
}

/* attach: whether `docker compose up` shows the service's output; berthd
 * keeps every container's log whatever it says. */
static int svc_attach(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	(void)obj;
	int on;
	return cx_bool(x, v, field, &on);
}

/* group_add: groups by name (looked up in the image) or number. */
static int svc_group_add(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	struct compose_service *s = obj;
	if (cx_strlist(x, v, field, 0, &s->group_add, &s->ngroup_add) < 0) {
		return -1;
	}
	for (size_t i = 0; i < s->ngroup_add; i++) {
		const char *g = s->group_add[i];
		if (g[0] == '\0' || strlen(g) >= COMPOSE_USER_MAX || strpbrk(g, ": \t\n") != NULL) {
			cx_fail(x, v->items[i], field, "'%.60s' is not a group name or number", g);
		}
	}
	return x->failed ? -1 : 0;
}

/* ---- lifecycle hooks ---------------------------------------------------------------------- */

static int hook_command(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	struct compose_hook *h = obj;
	int has;
	if (cmdline(x, v, field, &has, &h->command, &h->ncommand) < 0) {
		return -1;
	}
	if (h->ncommand == 0) {
		return cx_fail(x, v, field, "the command is empty");
	}
	return 0;
}

static int hook_user(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	struct compose_hook *h = obj;
	struct berr e;
	if (cx_str(x, v, field, &h->user) < 0) {
		return -1;
	}
	if (h->user[0] == '\0' || h->user[0] == ':' || compose_check_user(h->user, &e) < 0) {
		return cx_fail(x, v, field, "expected USER[:GROUP] (names or numbers), got '%.100s'", h->user);
	}
	/* berth-oci exec takes numbers; names would need the image's files. */
	uint32_t id;
	const char *colon = strchr(h->user, ':');
	size_t ulen = colon != NULL ? (size_t)(colon - h->user) : strlen(h->user);
	if (compose_parse_id(h->user, ulen, &id) < 0 ||
	    (colon != NULL && compose_parse_id(colon + 1, strlen(colon + 1), &id) < 0)) {
		return cx_fail(x, v, field,
			       "'%.100s': give the hook's user as numbers (UID[:GID]); names are not "
			       "supported by Berth yet",
			       h->user);
	}
	return 0;
}

static int hook_working_dir(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	struct compose_hook *h = obj;
	char *d;
	if (cx_str(x, v, field, &d) < 0) {
		return -1;
	}
	if (d[0] != '/') {
		return cx_fail(x, v, field, "'%.200s' must be an absolute path", d);
	}
	h->working_dir = cx_path(x, "/", d);
	return h->working_dir ? 0 : cx_fail(x, v, field, "the path is too long");
}

/* A privileged hook would need capabilities the container lacks, which
 * berth-oci exec cannot give yet. */
static int hook_privileged(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	if (cx_bool(x, v, field, &((struct compose_hook *)obj)->privileged) < 0) {
		return -1;
	}
	if (((struct compose_hook *)obj)->privileged) {
		return cx_fail(x, v, field, "privileged hooks are not supported by Berth yet");
	}
	return 0;
}

static int hook_environment(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	struct compose_hook *h = obj;
	return env_read(x, v, field, &h->env, &h->nenv);
}

static const struct cx_rule hook_rules[] = {
	{"command", CX_FN, .fn = hook_command},		{"user", CX_FN, .fn = hook_user},
	{"privileged", CX_FN, .fn = hook_privileged},	{"working_dir", CX_FN, .fn = hook_working_dir},
	{"environment", CX_FN, .fn = hook_environment},
};

static const struct cx_rules hook_keys = {CX_RULES(hook_rules)};

/* post_start and pre_stop: lists of {command, user, privileged,
 * working_dir, environment}. */
static int hooks(struct ctx *x, const struct yt_node *v, const char *field, struct compose_hook **out, size_t *n)
{
	if (v == NULL || v->kind != YT_SEQ) {
		return cx_fail(x, v, field, "expected a list of hooks ({command: ...}), got %s", yt_kind_name(v));
	}
	*out = cx_alloc(x, v->count, sizeof(**out));
	if (*out == NULL) {
		return -1;
	}
	for (size_t i = 0; i < v->count; i++) {
		struct compose_hook *h = &(*out)[*n];
		const struct yt_node *m;
		h->line = v->items[i]->line;
		if (cx_map(x, v->items[i], field, &m) < 0 || cx_fields(x, m, field, &hook_keys, h) < 0) {
			continue;
		}
		if (h->command == NULL) {
			cx_fail(x, v->items[i], field, "a hook needs a command");
			continue;
		}
		(*n)++;
	}
	return x->failed ? -1 : 0;
}

static int svc_post_start(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	struct compose_service *s = obj;
	return hooks(x, v, field, &s->post_start, &s->npost_start);
}

static int svc_pre_stop(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	struct compose_service *s = obj;
	return hooks(x, v, field, &s->pre_stop, &s->npre_stop);
}

/* ---- stopping and logging --------------------------------------------------------------- */

static int svc_stop_signal(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	struct compose_service *s = obj;
	char *t;
	if (cx_str(x, v, field, &t) < 0) {
		return -1;
	}
	if (signal_parse(t, &s->stop_signal) < 0) {
		return cx_fail(x, v, field, "expected a signal like SIGTERM, SIGQUIT or 15, got '%.50s'", t);
	}
	return 0;
}

static int log_driver(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	(void)obj;
	char *d;
	if (cx_str(x, v, field, &d) < 0) {
		return -1;
	}
	if (strcmp(d, "json-file") != 0 && strcmp(d, "local") != 0 && strcmp(d, "berth") != 0) {
		return cx_fail(x, v, field,
			       "'%.64s' is not available: berthd keeps the log itself (json-file, local or berth)", d);
	}
	return 0;
}

/* Docker's size options of json-file and local, which Docker users
 * already write; any other option is a driver's, which Berth has not. */
static int log_options(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	struct compose_service *s = obj;
	const struct yt_node *o;
	if (cx_map(x, v, field, &o) < 0) {
		return -1;
	}
	for (size_t j = 0; j < o->count; j++) {
		const char *ok = o->keys[j]->value;
		char f[96];
		cx_fmt(f, sizeof(f), "%s.%s", field, ok);
		if (strcmp(ok, "max-size") == 0) {
			int64_t size;
			if (cx_bytes(x, o->items[j], f, &size) == 0) {
				if (size < 4096) {
					cx_fail(x, o->items[j], f, "at least 4k");
				} else {
					s->log_max_size = size;
				}
			}
		} else if (strcmp(ok, "max-file") == 0) {
			long long n;
			if (cx_int(x, o->items[j], f, 1, 100, &n) == 0) {
				s->log_max_files = (int)n;
			}
		} else {
			cx_fail(x, o->keys[j], f, "not supported (max-size and max-file are)");
		}
	}
	return 0;
}

static const struct cx_rule logging_rules[] = {
	{"driver", CX_FN, .fn = log_driver},
	{"options", CX_FN, .fn = log_options},
};

static const struct cx_rules logging_keys = {CX_RULES(logging_rules), .hint = "driver and options are known"};

/* logging: the driver is always berthd's own log. */
static int svc_logging(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	const struct yt_node *m;
	if (cx_map(x, v, field, &m) < 0) {
		return -1;
	}
	cx_fields(x, m, field, &logging_keys, obj);
	return 0;
}

/* ---- images and profiles ----------------------------------------------------------------- */

/* Every spelling of linux/amd64 that Docker takes: the OS may be left
 * out, the architecture is amd64, x86_64 or x86-64 (any case), and an
 * amd64 variant (v1 to v4) may follow. */
int compose_platform_is_amd64(const char *p)
{
	static const char *const arches[] = {"amd64", "x86_64", "x86-64"};
	const char *slash = strchr(p, '/');
	if (slash != NULL && (size_t)(slash - p) == 5 && strncasecmp(p, "linux", 5) == 0) {
		p = slash + 1;
	}
	size_t len = strcspn(p, "/");
	int arch = 0;
	for (size_t i = 0; i < sizeof(arches) / sizeof(arches[0]); i++) {
		arch |= strlen(arches[i]) == len && strncasecmp(p, arches[i], len) == 0;
	}
	if (!arch) {
		return 0;
	}
	const char *variant = p + len;
	if (*variant == '\0') {
		return 1;
	}
	return strlen(variant) == 3 && (variant[1] == 'v' || variant[1] == 'V') && variant[2] >= '1' &&
	       variant[2] <= '4';
}

static int svc_platform(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	(void)obj;
	char *t;
	if (cx_str(x, v, field, &t) < 0) {
		return -1;
	}
	if (!compose_platform_is_amd64(t)) {
		return cx_fail(x, v, field, "'%.60s': Berth runs linux/amd64 images only (this host is x86-64)", t);
	}
	return 0;
}

static int svc_pull_policy(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	struct compose_service *s = obj;
	char *t;
	if (cx_str(x, v, field, &t) < 0) {
		return -1;
	}
	if (strcmp(t, "never") == 0) {
		s->pull_policy = COMPOSE_PULL_NEVER;
	} else if (strcmp(t, "missing") == 0 || strcmp(t, "if_not_present") == 0) {
		s->pull_policy = COMPOSE_PULL_MISSING;
	} else if (strcmp(t, "always") == 0) {
		s->pull_policy = COMPOSE_PULL_ALWAYS;
	} else if (strcmp(t, "build") == 0) {
		return cx_fail(x, v, field,
			       "'build' is not supported: Berth does not build images (build and push them elsewhere, "
			       "or put an archive in /config/images; use always, missing or never)");
	} else if (strcmp(t, "daily") == 0 || strcmp(t, "weekly") == 0 || strncmp(t, "every_", 6) == 0) {
		return cx_fail(x, v, field,
			       "'%.50s' is not supported: Berth pulls at up and boot (use always, missing or never)",
			       t);
	} else {
		return cx_fail(x, v, field, "expected always, missing or never, got '%.50s'", t);
	}
	return 0;
}

static int svc_profiles(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	struct compose_service *s = obj;
	if (cx_strlist(x, v, field, 0, &s->profiles, &s->nprofiles) < 0) {
		return -1;
	}
	for (size_t i = 0; i < s->nprofiles; i++) {
		if (!compose_valid_name(s->profiles[i])) {
			cx_fail(x, v->items[i], field, "'%.100s' is not a profile name", s->profiles[i]);
		}
	}
	return x->failed ? -1 : 0;
}

/* ---- the table --------------------------------------------------------------------------- */

#define SVC(f) offsetof(struct compose_service, f)

/* A key whose value is read and checked but that berthd does not apply
 * yet: refused by name until it does, never accepted without effect. */
#define PENDING(key, reader)                                                         \
	{                                                                            \
		key, CX_REFUSED, .fn = (reader), .why = "not supported by Berth yet" \
	}

/* Every key of a service in the Compose specification: those Berth reads,
 * and those it refuses with what to do instead where there is something. */
static const struct cx_rule service_rules[] = {
	{"image", CX_FN, .fn = svc_image},
	{"command", CX_FN, .fn = svc_command},
	{"entrypoint", CX_FN, .fn = svc_entrypoint},
	{"environment", CX_FN, .fn = svc_environment},
	{"env_file", CX_FN, .fn = svc_env_file},
	{"volumes", CX_FN, .fn = svc_volumes},
	{"tmpfs", CX_FN, .fn = svc_tmpfs},
	{"restart", CX_FN, .fn = svc_restart},
	{"depends_on", CX_FN, .fn = svc_depends_on},
	{"healthcheck", CX_FN, .fn = svc_healthcheck},
	{"user", CX_FN, .fn = svc_user},
	{"working_dir", CX_FN, .fn = svc_working_dir},
	{"read_only", CX_BOOL, .offset = SVC(read_only)},
	{"cap_add", CX_FN, .fn = svc_cap_add},
	{"cap_drop", CX_FN, .fn = svc_cap_drop},
	{"privileged", CX_BOOL, .offset = SVC(privileged)},
	{"hostname", CX_FN, .fn = svc_hostname},
	{"domainname", CX_FN, .fn = svc_domainname},
	{"container_name", CX_FN, .fn = svc_container_name_key},
	{"mem_limit", CX_FN, .fn = svc_mem_limit},
	{"memswap_limit", CX_FN, .fn = svc_memswap_limit},
	{"shm_size", CX_BYTES, .offset = SVC(shm_size)},
	{"cpus", CX_FN, .fn = svc_cpus},
	{"pids_limit", CX_FN, .fn = svc_pids_limit},
	{"sysctls", CX_FN, .fn = svc_sysctls},
	{"ulimits", CX_FN, .fn = svc_ulimits},
	{"labels", CX_FN, .fn = svc_labels},
	{"init", CX_BOOL, .offset = SVC(init)},
	{"stop_signal", CX_FN, .fn = svc_stop_signal},
	{"stop_grace_period", CX_DURATION, .offset = SVC(stop_grace_ns)},
	{"logging", CX_FN, .fn = svc_logging},
	{"network_mode", CX_FN, .fn = svc_network_mode},
	{"networks", CX_FN, .fn = svc_networks},
	{"ports", CX_FN, .fn = svc_ports},
	{"expose", CX_FN, .fn = svc_expose},
	{"extra_hosts", CX_FN, .fn = svc_extra_hosts},
	{"dns", CX_FN, .fn = svc_dns},
	{"stdin_open", CX_BOOL, .offset = SVC(stdin_open)},
	{"tty", CX_BOOL, .offset = SVC(tty)},
	{"platform", CX_FN, .fn = svc_platform},
	{"pull_policy", CX_FN, .fn = svc_pull_policy},
	{"profiles", CX_FN, .fn = svc_profiles},

	{"annotations", CX_FN, .fn = svc_annotations},
	{"attach", CX_FN, .fn = svc_attach},
	{"label_file", CX_FN, .fn = svc_label_file},
	{"group_add", CX_FN, .fn = svc_group_add},
	{"post_start", CX_FN, .fn = svc_post_start},
	{"pre_stop", CX_FN, .fn = svc_pre_stop},
	{"extends", CX_IGNORED, .offset = 0}, /* resolved before the keys are read (include.c) */
	{"deploy", CX_FN, .fn = svc_deploy},
	{"scale", CX_FN, .fn = svc_scale},
	{"secrets", CX_FN, .fn = svc_secrets},
	{"configs", CX_FN, .fn = svc_configs},
	{"blkio_config", CX_FN, .fn = svc_blkio_config},
	{"cpu_count", CX_FN, .fn = svc_cpu_count},
	{"cpu_percent", CX_FN, .fn = svc_cpu_percent},
	{"cpu_shares", CX_FN, .fn = svc_cpu_shares},
	{"cpu_period", CX_FN, .fn = svc_cpu_period},
	{"cpu_quota", CX_FN, .fn = svc_cpu_quota},
	{"cpu_rt_runtime", CX_FN, .fn = svc_cpu_rt},
	{"cpu_rt_period", CX_FN, .fn = svc_cpu_rt},
	{"cpuset", CX_FN, .fn = svc_cpuset},
	{"mem_reservation", CX_FN, .fn = svc_mem_reservation},
	{"mem_swappiness", CX_FN, .fn = svc_mem_swappiness},
	{"oom_kill_disable", CX_FN, .fn = svc_oom_kill_disable},
	{"oom_score_adj", CX_FN, .fn = svc_oom_score_adj},
	{"devices", CX_FN, .fn = svc_devices},
	{"device_cgroup_rules", CX_FN, .fn = svc_device_cgroup_rules},
	{"security_opt", CX_FN, .fn = svc_security_opt},
	{"ipc", CX_FN, .fn = svc_ipc},
	{"pid", CX_FN, .fn = svc_pid_ns},
	{"uts", CX_FN, .fn = svc_uts},
	{"cgroup", CX_FN, .fn = svc_cgroup},
	{"cgroup_parent", CX_FN, .fn = svc_cgroup_parent},
	{"userns_mode", CX_FN, .fn = svc_userns_mode},
	{"volumes_from", CX_FN, .fn = svc_volumes_from},
	{"links", CX_FN, .fn = svc_links},
	{"external_links", CX_FN, .fn = svc_external_links},
	{"dns_search", CX_FN, .fn = svc_dns_search},
	{"dns_opt", CX_FN, .fn = svc_dns_opt},
	{"mac_address", CX_FN, .fn = svc_mac_address},

	/* What a host without a build step, a Docker daemon or Windows cannot
	 * do: refused, with what to do instead. */
	{"build", CX_REFUSED,
	 .why = "Berth has no build step: build and push the image elsewhere, then pull it or load it (put the "
		"archive in /config/images or `berth load` it) and name it with image:"},
	{"develop", CX_REFUSED,
	 .why = "watch mode rebuilds and syncs from a workstation; a Berth host runs images as they are"},
	{"gpus", CX_REFUSED,
	 .why = "no GPU driver is built into Berth; give the device nodes with devices: when the kernel has the "
		"driver"},
	{"credential_spec", CX_REFUSED, .why = "Windows containers only (managed service accounts)"},
	{"isolation", CX_REFUSED, .why = "Windows containers only; Linux containers are isolated by namespaces"},
	{"storage_opt", CX_REFUSED,
	 .why = "the overlay on DATA takes no per-container size; limit what may be written with tmpfs size: or "
		"read_only: true and volumes"},
	{"runtime", CX_REFUSED, .why = "berthd runs every container with its own runtime, berth-oci"},
	{"pull_refresh_after", CX_REFUSED,
	 .why = "not supported yet: pull_policy: always pulls at every boot and berth up"},
	{"models", CX_REFUSED, .why = "Docker Model Runner is not available: run the model server as a service"},
	{"provider", CX_REFUSED, .why = "Docker Compose's provider plugins run on the workstation, not on a host"},
	{"use_api_socket", CX_REFUSED,
	 .why = "there is no Docker API socket on Berth (berthd's API is its own): run dockerd as a service if a "
		"container needs one"},
};

static const struct cx_rules service_keys = {CX_RULES(service_rules)};

/* ---- the service as a whole ---------------------------------------------------------------- */

static void merge_env(struct ctx *x, struct compose_service *s)
{
	struct svc_scratch *sc = x->sc;
	size_t cap = sc->nfile_env + sc->ninline_env;
	s->env = cx_alloc(x, cap, sizeof(*s->env));
	struct env_list e;
	if (s->env == NULL || env_list_init(x, &e, s->env, &s->nenv, cap) < 0) {
		return;
	}
	for (size_t i = 0; i < sc->nfile_env; i++) {
		env_put(x, &e, sc->file_env[i].name, sc->file_env[i].value);
	}
	for (size_t i = 0; i < sc->ninline_env; i++) {
		env_put(x, &e, sc->inline_env[i].name, sc->inline_env[i].value);
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

/* What the service's keys say together. */
static void check_service(struct ctx *x, struct compose_service *s, const struct yt_node *key,
			  const struct yt_node *def, const struct yt_node *m)
{
	if (yt_get(m, "image") == NULL) {
		cx_fail(x, key, NULL, "no image (Berth runs prebuilt images: give 'image')");
	}
	/* An entrypoint replaces the image's and drops its Cmd: given empty,
	 * without a command, nothing is left to run whatever the image. */
	if (s->has_entrypoint && s->nentrypoint == 0 && s->ncommand == 0) {
		cx_fail(x, x->sc->entrypoint, "entrypoint",
			"is empty and no command is given: nothing would run (an entrypoint drops the image's Cmd)");
	}
	/* berthd names the container so, and its state directory after it. */
	if (s->container_name == NULL && strlen(s->name) >= COMPOSE_NAME_MAX) {
		cx_fail(x, key, NULL, "the name is longer than %d characters: give a shorter container_name",
			COMPOSE_NAME_MAX - 1);
	}
	merge_env(x, s);
	merge_labels(x, s);
	svc_apply_deploy(x, s);
	svc_merge_mounts(x, s);
	svc_check_resources(x, s);
	svc_check_networking(x, s, def);
	svc_check_isolation(x, s, def);
	/* Docker Compose: several containers cannot all have one name. */
	if (s->replicas > 1 && s->container_name != NULL) {
		cx_fail_at(x, s->line, "container_name",
			   "%u replicas cannot all be named %s: leave container_name out (they are named "
			   "%s-%s-1 and so on)",
			   s->replicas, s->container_name, x->p->name, s->name);
	}
	char name[COMPOSE_NAME_MAX];
	if (s->replicas > 1 && compose_container_name(x->p, s, s->replicas - 1, name, sizeof(name)) < 0) {
		cx_fail_at(x, s->line, NULL, "the names of its %u containers (%s-%s-N) are longer than %d characters",
			   s->replicas, x->p->name, s->name, COMPOSE_NAME_MAX - 1);
	}
	for (size_t i = 0; i < s->nvolumes_from; i++) {
		if (!s->volumes_from[i].container) {
			svc_add_dep(x, s, s->volumes_from[i].target, "its volumes_from uses", s->volumes_from[i].line);
		}
	}
}

void svc_add_dep(struct ctx *x, struct compose_service *s, const char *service, const char *why, int line)
{
	for (size_t i = 0; i < s->ndeps; i++) {
		if (strcmp(s->deps[i].service, service) == 0) {
			return;
		}
	}
	struct compose_dep *deps = cx_alloc(x, s->ndeps + 1, sizeof(*deps));
	if (deps == NULL) {
		return;
	}
	if (s->ndeps > 0) {
		memcpy(deps, s->deps, s->ndeps * sizeof(*deps));
	}
	s->deps = deps;
	struct compose_dep *d = &s->deps[s->ndeps++];
	memset(d, 0, sizeof(*d));
	d->service = cx_strdup(x, service);
	d->required = 1;
	d->implicit = why;
	d->line = line;
}

void parse_service(struct ctx *x, const struct yt_node *key, const struct yt_node *def, struct compose_service *s)
{
	struct svc_scratch sc = {0};
	s->line = key->line;
	s->file = (char *)x->file;
	s->stop_grace_ns = -1;
	s->no_new_privileges = -1;
	x->sc = &sc;
	x->service = s->name;
	x->failed = 0;
	cx_fmt(x->scope, sizeof(x->scope), "services.%s", s->name);
	const struct yt_node *m;
	if (yt_is_null(def) || def->kind != YT_MAP) {
		cx_fail(x, yt_is_null(def) ? key : def, NULL, "expected a mapping with at least 'image', got %s",
			yt_kind_name(def));
	} else if (cx_map(x, def, NULL, &m) == 0 && svc_extends(x, s, m, &m) == 0) {
		cx_fields(x, m, NULL, &service_keys, s);
		check_service(x, s, key, def, m);
	}
	s->valid = !x->failed;
	s->active = profile_enabled(x->opt, s);
	x->sc = NULL;
	x->service = NULL;
	x->scope[0] = '\0';
}
