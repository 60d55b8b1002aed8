/* Secrets and configs (see parse.h): the top-level entries that say where
 * a file's content comes from (a file on the config partition, a variable
 * of .env, or for a config the content itself) and the services' lists of
 * the ones they mount, with target, owner and mode. berthd writes each
 * file with its owner and mode under /run and binds it read-only into the
 * container (translate.h); a secret never lands on DATA. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "compose/formats.h"
#include "compose/parse.h"
#include "lib/hostcfg.h"

#define SECRETS_DIR "/run/secrets"

/* ---- the top-level entries ---------------------------------------------------------------- */

struct file_entry {
	struct compose_filedef *def;
	int config;
};

static int file_name(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	struct file_entry *e = obj;
	if (cx_str(x, v, field, &e->def->name) < 0) {
		return -1;
	}
	if (e->def->name[0] == '\0') {
		return cx_fail(x, v, field, "the name is empty");
	}
	return 0;
}

static int file_file(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	struct compose_filedef *d = ((struct file_entry *)obj)->def;
	char *t;
	if (cx_str(x, v, field, &t) < 0) {
		return -1;
	}
	if (t[0] == '\0') {
		return cx_fail(x, v, field, "the path is empty");
	}
	d->file = cx_path(x, x->dir, t);
	if (d->file == NULL) {
		return x->nomem ? -1 : cx_fail(x, v, field, "the path is too long");
	}
	return 0;
}

static int file_env(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	struct compose_filedef *d = ((struct file_entry *)obj)->def;
	if (cx_str(x, v, field, &d->env) < 0) {
		return -1;
	}
	if (d->env[0] == '\0' || strpbrk(d->env, "= \t\n") != NULL) {
		return cx_fail(x, v, field, "'%.100s' is not a variable name", d->env);
	}
	return 0;
}

static int file_content(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	struct file_entry *e = obj;
	if (!e->config) {
		return cx_fail(x, v, field,
			       "a secret's content comes from a file or a variable (file: or environment:)");
	}
	return cx_str(x, v, field, &e->def->content);
}

static int file_labels(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	struct compose_filedef *d = ((struct file_entry *)obj)->def;
	return cx_kvlist(x, v, field, &d->labels, &d->nlabels);
}

#define SWARM_STORE "Swarm's secret and config store; give the content with file: or environment:"

static const struct cx_rule file_rules[] = {
	{"name", CX_FN, .fn = file_name},
	{"file", CX_FN, .fn = file_file},
	{"environment", CX_FN, .fn = file_env},
	{"content", CX_FN, .fn = file_content},
	{"labels", CX_FN, .fn = file_labels},
	{"external", CX_REFUSED, .why = "there is no store to find it in on a single host: " SWARM_STORE},
	{"driver", CX_REFUSED, .why = SWARM_STORE},
	{"driver_opts", CX_REFUSED, .why = SWARM_STORE},
	{"template_driver", CX_REFUSED, .why = "templates are rendered by Swarm: give the rendered content"},
};

static const struct cx_rules file_keys = {CX_RULES(file_rules)};

/* The source's checks that the directory alone decides: a file must be a
 * place berthd binds from (the config partition above all), and one there
 * must exist; a variable must be set in .env. */
static void check_source(struct ctx *x, const struct yt_node *key, struct compose_filedef *d)
{
	int sources = (d->file != NULL) + (d->env != NULL) + (d->content != NULL);
	if (sources != 1) {
		cx_fail(x, key, NULL, "%s: file:, environment:%s", sources ? "give only one source" : "give a source",
			strncmp(x->scope, "configs", 7) == 0 ? " or content:" : "");
		return;
	}
	if (d->env != NULL) {
		/* berthd keeps no variables: the value travels as the content. */
		const char *value = cx_var(x, d->env);
		if (value == NULL) {
			cx_fail(x, key, "environment", "variable %s is not set (in .env)", d->env);
			return;
		}
		d->content = cx_strdup(x, value);
		return;
	}
	if (d->file == NULL) {
		return;
	}
	if (x->opt->host != NULL && !compose_bind_allowed(x->opt->host, d->file)) {
		cx_fail(x, key, "file", "%s: " COMPOSE_BIND_RULE, d->file);
		return;
	}
	/* What is on the config partition is there now; the rest (under /data)
	 * is berthd's to find when it makes the container. */
	int on_config = strncmp(d->file, COMPOSE_CONFIG_DIR "/", strlen(COMPOSE_CONFIG_DIR) + 1) == 0;
	char buf[CX_PATH_LEN];
	struct stat st;
	if (stat(cx_readable(x, d->file, buf, sizeof(buf)), &st) < 0) {
		if (on_config || x->opt->host == NULL) {
			cx_fail(x, key, "file", "%s: %s", d->file, strerror(errno));
		}
	} else if (!S_ISREG(st.st_mode)) {
		cx_fail(x, key, "file", "%s is not a regular file", d->file);
	}
}

static int parse_filedef(struct ctx *x, const struct yt_node *key, const struct yt_node *def, void *item, int config)
{
	struct compose_filedef *d = item;
	struct file_entry e = {d, config};
	d->key = cx_strdup(x, key->value);
	d->line = key->line;
	if (d->key == NULL) {
		return -1;
	}
	d->name = d->key;
	x->failed = 0;
	cx_fmt(x->scope, sizeof(x->scope), "%s.%.200s", config ? "configs" : "secrets", key->value);
	const struct yt_node *m;
	if (!compose_valid_name(key->value)) {
		cx_fail(x, key, NULL, "'%.100s' is not a valid name ([a-zA-Z0-9][a-zA-Z0-9_.-]*)", key->value);
	} else if (cx_map(x, def, NULL, &m) == 0 && cx_fields(x, m, NULL, &file_keys, &e) == 0) {
		check_source(x, key, d);
	}
	d->valid = !x->failed;
	x->scope[0] = '\0';
	return 0;
}

int parse_secret(struct ctx *x, const struct yt_node *key, const struct yt_node *def, void *item)
{
	return parse_filedef(x, key, def, item, 0);
}

int parse_config(struct ctx *x, const struct yt_node *key, const struct yt_node *def, void *item)
{
	return parse_filedef(x, key, def, item, 1);
}

/* ---- a service's list ------------------------------------------------------------------------- */

static int ref_id(struct ctx *x, const struct yt_node *v, const char *field, uint32_t *out)
{
	char *t;
	if (cx_str(x, v, field, &t) < 0) {
		return -1;
	}
	if (compose_parse_id(t, strlen(t), out) < 0) {
		return cx_fail(x, v, field, "expected a number (a user or group id), got '%.40s'", t);
	}
	return 0;
}

static int ref_source(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	return cx_str(x, v, field, &((struct compose_file_ref *)obj)->source);
}

static int ref_target(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	struct compose_file_ref *r = obj;
	char *t;
	if (cx_str(x, v, field, &t) < 0) {
		return -1;
	}
	if (t[0] == '\0') {
		return cx_fail(x, v, field, "the target is empty");
	}
	/* A secret's relative target is a name under /run/secrets. */
	r->target = cx_path(x, r->config ? "/" : SECRETS_DIR, t);
	if (r->target == NULL) {
		return x->nomem ? -1 : cx_fail(x, v, field, "the path is too long");
	}
	if (strcmp(r->target, "/") == 0) {
		return cx_fail(x, v, field, "cannot mount over the container's root");
	}
	return 0;
}

static int ref_uid(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	return ref_id(x, v, field, &((struct compose_file_ref *)obj)->uid);
}

static int ref_gid(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	return ref_id(x, v, field, &((struct compose_file_ref *)obj)->gid);
}

static int ref_mode(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	struct compose_file_ref *r = obj;
	char *t;
	if (cx_str(x, v, field, &t) < 0) {
		return -1;
	}
	if (compose_parse_mode(t, &r->mode) < 0 || r->mode > 0777) {
		return cx_fail(x, v, field, "expected an octal mode like 0440, got '%.20s'", t);
	}
	return 0;
}

static const struct cx_rule ref_rules[] = {
	{"source", CX_FN, .fn = ref_source}, {"target", CX_FN, .fn = ref_target}, {"uid", CX_FN, .fn = ref_uid},
	{"gid", CX_FN, .fn = ref_gid},	     {"mode", CX_FN, .fn = ref_mode},
};

static const struct cx_rules ref_keys = {CX_RULES(ref_rules), .stop = 1};

static int refs(struct ctx *x, struct compose_service *s, const struct yt_node *v, const char *field, int config)
{
	if (v == NULL || v->kind != YT_SEQ) {
		return cx_fail(x, v, field, "expected a list, got %s", yt_kind_name(v));
	}
	struct compose_file_ref *all = cx_alloc(x, s->nfiles + v->count, sizeof(*all));
	if (all == NULL) {
		return -1;
	}
	if (s->nfiles > 0) {
		memcpy(all, s->files, s->nfiles * sizeof(*all));
	}
	s->files = all;
	for (size_t i = 0; i < v->count; i++) {
		const struct yt_node *item = v->items[i];
		struct compose_file_ref *r = &s->files[s->nfiles];
		memset(r, 0, sizeof(*r));
		r->config = config;
		/* Docker's default: readable by everyone, owned by root. */
		r->mode = 0444;
		r->line = item->line;
		if (item->kind == YT_MAP) {
			const struct yt_node *m;
			if (cx_map(x, item, field, &m) < 0 || cx_fields(x, m, field, &ref_keys, r) < 0) {
				continue;
			}
			if (r->source == NULL) {
				cx_fail(x, item, field, "an entry needs a source");
				continue;
			}
		} else if (cx_str(x, item, field, &r->source) < 0) {
			continue;
		}
		if (!compose_valid_name(r->source)) {
			cx_fail(x, item, field, "'%.100s' is not a %s name", r->source, config ? "config" : "secret");
			continue;
		}
		if (r->target == NULL) {
			char t[CX_PATH_LEN];
			cx_fmt(t, sizeof(t), "%s/%s", config ? "" : SECRETS_DIR, r->source);
			r->target = cx_strdup(x, t);
		}
		if (r->target != NULL) {
			s->nfiles++;
		}
	}
	return x->failed ? -1 : 0;
}

int svc_secrets(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	return refs(x, obj, v, field, 0);
}

int svc_configs(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	return refs(x, obj, v, field, 1);
}

/* Each file a service mounts is declared, and valid; no two land on one
 * path, nor on a path a volume takes. */
void svc_cross_check_files(struct ctx *x, struct compose_service *s)
{
	for (size_t i = 0; i < s->nfiles; i++) {
		const struct compose_file_ref *r = &s->files[i];
		const char *kind = r->config ? "configs" : "secrets";
		const struct compose_filedef *d = compose_filedef_find(x->p, r->config, r->source);
		if (d == NULL) {
			cx_fail_at(x, r->line, kind, "'%.100s' is not declared under the top-level %s key", r->source,
				   kind);
			continue;
		}
		if (!d->valid) {
			cx_fail_at(x, r->line, kind, "'%.100s' is invalid (see its error)", r->source);
			continue;
		}
		for (size_t k = 0; k < i; k++) {
			if (strcmp(s->files[k].target, r->target) == 0) {
				cx_fail_at(x, r->line, kind, "%s is mounted twice (also at line %d)", r->target,
					   s->files[k].line);
			}
		}
		for (size_t k = 0; k < s->nmounts; k++) {
			if (strcmp(s->mounts[k].target, r->target) == 0) {
				cx_fail_at(x, r->line, kind, "%s is also a mount of volumes (line %d)", r->target,
					   s->mounts[k].line);
			}
		}
	}
}
