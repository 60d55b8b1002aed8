/* A project made of several files (see parse.h): include: (other compose
 * files whose services, volumes, networks, secrets and configs join the
 * project, each file with its own directory and variables) and a
 * service's extends: (another service's keys, from this file or another,
 * with the service's own merged over them by Docker Compose's rules).
 *
 * Both work on the YAML trees before any key is read: extends builds a new
 * mapping over the shared nodes (never changing a tree, as merge keys do),
 * so that a merged service is read, checked and reported like any other.
 * Files are read from where the host's /config can be read now. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "compose/parse.h"
#include "lib/fsutil.h"

#define INCLUDE_MAX_DEPTH 8
#define EXTENDS_MAX_DEPTH 16
#define EXTENDS_MAX_DOCS 32

/* ---- include ---------------------------------------------------------------------------- */

static const char *const section_names[CX_NSECTIONS] = {"services", "volumes", "networks", "secrets", "configs"};

/* The top-level keys of an included file, into src. Its name, version and
 * x- keys are its own business; includes are followed by the caller. */
static int include_sections(struct ctx *x, struct cx_source *src, const struct yt_node **include, struct berr *err)
{
	const struct yt_node *root = src->doc.root;
	*include = NULL;
	if (root == NULL || yt_is_null(root)) {
		return 0;
	}
	if (root->kind != YT_MAP || cx_map(x, root, NULL, &root) < 0) {
		return yt_error(&src->doc, src->doc.root, err, "expected a mapping at the top level");
	}
	for (size_t i = 0; i < root->count; i++) {
		const char *k = root->keys[i]->value;
		int known = strcmp(k, "name") == 0 || strcmp(k, "version") == 0 || cx_is_extension(root->keys[i]);
		for (int s = 0; s < CX_NSECTIONS; s++) {
			if (strcmp(k, section_names[s]) == 0) {
				const struct yt_node *n = root->items[i];
				if (!yt_is_null(n) && n->kind != YT_MAP) {
					return yt_error(&src->doc, n, err, "%s: expected a mapping", k);
				}
				src->section[s] = n;
				known = 1;
			}
		}
		if (strcmp(k, "include") == 0) {
			*include = root->items[i];
			known = 1;
		}
		if (!known) {
			return yt_error(&src->doc, root->keys[i], err, "unknown top-level key '%.100s'", k);
		}
	}
	return 0;
}

static int already_included(const struct ctx *x, const char *file)
{
	for (size_t i = 0; i < x->nsources; i++) {
		if (strcmp(x->sources[i].file, file) == 0) {
			return 1;
		}
	}
	return 0;
}

/* One file of an include entry: read, and its own includes after it. */
static int include_file(struct ctx *x, const struct yt_node *at, const char *path, const char *project_dir,
			char **env_files, size_t nenv, int depth, struct berr *err)
{
	char *full = cx_path(x, x->dir, path);
	if (full == NULL) {
		return yt_error(x->doc, at, err, "include: %.200s: the path is too long", path);
	}
	if (already_included(x, full)) {
		return yt_error(x->doc, at, err, "include: %s is included twice (or includes itself)", full);
	}
	if (x->nsources >= CX_MAX_SOURCES) {
		return yt_error(x->doc, at, err, "include: more than %d files", CX_MAX_SOURCES);
	}
	struct cx_source *src = &x->sources[x->nsources];
	memset(src, 0, sizeof(*src));
	char buf[CX_PATH_LEN];
	if (yt_parse_file(&src->doc, cx_readable(x, full, buf, sizeof(buf)), full, err) < 0) {
		return berr_prefix(err, "%s:%d: include", x->file, at->line);
	}
	src->owned = 1;
	src->file = full;
	x->nsources++;
	/* Relative paths in an included file are its own directory's, or the
	 * project_directory the entry gives. */
	const char *slash = strrchr(full, '/');
	src->dir = project_dir != NULL ? cx_path(x, x->dir, project_dir)
				       : arena_strndup(&x->p->arena, full, slash == full ? 1 : (size_t)(slash - full));
	if (src->dir == NULL) {
		return berr_set(err, ENOMEM, "include");
	}
	/* Its env_file gives defaults: the project's own variables win. Without
	 * one, the .env beside it, when there is one. */
	for (size_t i = 0; i < nenv || (nenv == 0 && i == 0); i++) {
		char env[CX_PATH_LEN];
		const char *name = nenv > 0 ? env_files[i] : ".env";
		char *envpath = cx_path(x, nenv > 0 ? x->dir : src->dir, name);
		if (envpath == NULL) {
			return berr_set(err, ENOMEM, "include");
		}
		int ret = compose_dotenv_load(&src->defaults, x->interp.vars, cx_readable(x, envpath, env, sizeof(env)),
					      envpath, err);
		if (ret == -ENOENT && nenv == 0) {
			berr_clear(err);
		} else if (ret < 0) {
			return berr_prefix(err, "%s:%d: include", x->file, at->line);
		}
	}
	const struct yt_node *nested;
	if (include_sections(x, src, &nested, err) < 0) {
		return -1;
	}
	if (nested == NULL) {
		return 0;
	}
	/* Its includes are resolved from its own directory and variables. */
	const char *saved_file = x->file;
	const char *saved_dir = x->dir;
	const struct yt_doc *saved_doc = x->doc;
	const struct compose_vars *saved_fallback = x->interp.fallback;
	x->file = src->file;
	x->dir = src->dir;
	x->doc = &src->doc;
	x->interp.fallback = &src->defaults;
	int ret = cx_load_includes(x, nested, depth + 1, err);
	x->file = saved_file;
	x->dir = saved_dir;
	x->doc = saved_doc;
	x->interp.fallback = saved_fallback;
	return ret;
}

/* A scalar or a list of scalars, interpolated, as a list. */
static int include_list(struct ctx *x, const struct yt_node *v, const char *what, char ***out, size_t *n,
			struct berr *err)
{
	if (cx_strlist(x, v, what, 1, out, n) < 0 || *n == 0) {
		return yt_error(x->doc, v, err, "include: %s: expected a path or a list of paths", what);
	}
	return 0;
}

int cx_load_includes(struct ctx *x, const struct yt_node *include, int depth, struct berr *err)
{
	if (yt_is_null(include)) {
		return 0;
	}
	if (include->kind != YT_SEQ) {
		return yt_error(x->doc, include, err, "include: expected a list of files");
	}
	if (depth >= INCLUDE_MAX_DEPTH) {
		return yt_error(x->doc, include, err, "include: files include each other more than %d deep",
				INCLUDE_MAX_DEPTH);
	}
	for (size_t i = 0; i < include->count; i++) {
		const struct yt_node *e = include->items[i];
		char **paths = NULL;
		size_t npaths = 0;
		char **env = NULL;
		size_t nenv = 0;
		char *project_dir = NULL;
		if (e->kind == YT_SCALAR) {
			if (include_list(x, e, "path", &paths, &npaths, err) < 0) {
				return -1;
			}
		} else if (e->kind == YT_MAP) {
			for (size_t k = 0; k < e->count; k++) {
				const char *key = e->keys[k]->value;
				const struct yt_node *v = e->items[k];
				int ret = 0;
				if (strcmp(key, "path") == 0) {
					ret = include_list(x, v, "path", &paths, &npaths, err);
				} else if (strcmp(key, "env_file") == 0) {
					ret = include_list(x, v, "env_file", &env, &nenv, err);
				} else if (strcmp(key, "project_directory") == 0) {
					ret = cx_str(x, v, "include.project_directory", &project_dir) < 0
						      ? yt_error(x->doc, v, err,
								 "include: project_directory: expected a path")
						      : 0;
				} else {
					ret = yt_error(
						x->doc, e->keys[k], err,
						"include: unknown key '%.60s' (path, env_file, project_directory)",
						key);
				}
				if (ret < 0) {
					return -1;
				}
			}
			if (npaths == 0) {
				return yt_error(x->doc, e, err, "include: an entry needs a path");
			}
		} else {
			return yt_error(x->doc, e, err, "include: expected a path or {path: ...}");
		}
		/* Several paths of one entry are one project: files merged in order
		 * (Berth includes each; a name in two of them is an error). */
		for (size_t k = 0; k < npaths; k++) {
			if (include_file(x, e, paths[k], project_dir, env, nenv, depth, err) < 0) {
				return -1;
			}
		}
	}
	return 0;
}

void cx_free_sources(struct ctx *x)
{
	for (size_t i = 0; i < x->nsources; i++) {
		if (x->sources[i].owned) {
			yt_free(&x->sources[i].doc);
		}
		compose_vars_free(&x->sources[i].defaults);
	}
	x->nsources = 0;
	for (size_t i = 0; i < x->nextends_docs; i++) {
		yt_free(&x->extends_docs[i]);
	}
	x->nextends_docs = 0;
}

/* ---- extends: merging two services ---------------------------------------------------------- */

static struct yt_node *new_node(struct ctx *x, enum yt_kind kind, int line, size_t count)
{
	struct yt_node *n = cx_alloc(x, 1, sizeof(*n));
	if (n == NULL) {
		return NULL;
	}
	n->kind = kind;
	n->line = line;
	if (kind != YT_SCALAR) {
		n->items = cx_alloc(x, count, sizeof(*n->items));
		n->keys = kind == YT_MAP ? cx_alloc(x, count, sizeof(*n->keys)) : NULL;
		if (n->items == NULL || (kind == YT_MAP && n->keys == NULL)) {
			return NULL;
		}
	}
	return n;
}

static struct yt_node *new_scalar(struct ctx *x, const char *value, int line)
{
	struct yt_node *n = new_node(x, YT_SCALAR, line, 0);
	if (n == NULL || (n->value = cx_strdup(x, value)) == NULL) {
		return NULL;
	}
	n->len = strlen(n->value);
	return n;
}

/* Keys whose value may be a mapping or a list of KEY=VALUE: merged as
 * lists (later entries win) when the two forms differ. */
static int list_or_dict(const char *key)
{
	static const char *const keys[] = {"environment", "labels", "annotations", "sysctls", "extra_hosts", NULL};
	for (const char *const *k = keys; *k; k++) {
		if (strcmp(*k, key) == 0) {
			return 1;
		}
	}
	return 0;
}

/* A mapping as a list of KEY=VALUE (KEY alone for null). */
static const struct yt_node *as_list(struct ctx *x, const struct yt_node *n)
{
	if (n->kind != YT_MAP) {
		return n;
	}
	size_t total = 0;
	for (size_t i = 0; i < n->count; i++) {
		total += n->items[i]->kind == YT_SEQ ? n->items[i]->count : 1;
	}
	struct yt_node *seq = new_node(x, YT_SEQ, n->line, total);
	if (seq == NULL) {
		return NULL;
	}
	for (size_t i = 0; i < n->count; i++) {
		const struct yt_node *v = n->items[i];
		size_t count = v->kind == YT_SEQ ? v->count : 1;
		for (size_t k = 0; k < count; k++) {
			const struct yt_node *one = v->kind == YT_SEQ ? v->items[k] : v;
			char text[CX_PATH_LEN];
			if (yt_is_null(one) || one->kind != YT_SCALAR) {
				cx_fmt(text, sizeof(text), "%s", n->keys[i]->value);
			} else {
				cx_fmt(text, sizeof(text), "%s=%s", n->keys[i]->value, one->value);
			}
			struct yt_node *item = new_scalar(x, text, one->line);
			if (item == NULL) {
				return NULL;
			}
			seq->items[seq->count++] = item;
		}
	}
	return seq;
}

/* The container path of a list entry, for lists merged by target
 * (volumes, devices, secrets, configs): the override's entry replaces the
 * base's at the same path. NULL when it has none to compare. */
static const char *entry_target(const struct yt_node *n, char *buf, size_t size)
{
	if (n->kind == YT_MAP) {
		const struct yt_node *t = yt_get(n, "target");
		if (t == NULL) {
			t = yt_get(n, "source");
		}
		return t != NULL && t->kind == YT_SCALAR ? t->value : NULL;
	}
	if (n->kind != YT_SCALAR) {
		return NULL;
	}
	/* SOURCE:TARGET[:MODE] or TARGET alone; a secret's name. */
	cx_fmt(buf, size, "%s", n->value);
	char *colon = strchr(buf, ':');
	if (colon == NULL) {
		return buf;
	}
	char *target = colon + 1;
	char *end = strchr(target, ':');
	if (end != NULL) {
		*end = '\0';
	}
	return target;
}

static int by_target(const char *key)
{
	return strcmp(key, "volumes") == 0 || strcmp(key, "devices") == 0 || strcmp(key, "secrets") == 0 ||
	       strcmp(key, "configs") == 0;
}

static const struct yt_node *concat(struct ctx *x, const struct yt_node *base, const struct yt_node *over,
				    const char *key)
{
	struct yt_node *seq = new_node(x, YT_SEQ, over->line, base->count + over->count);
	if (seq == NULL) {
		return NULL;
	}
	for (size_t i = 0; i < base->count; i++) {
		char a[CX_PATH_LEN];
		char b[CX_PATH_LEN];
		const char *ta = by_target(key) ? entry_target(base->items[i], a, sizeof(a)) : NULL;
		int replaced = 0;
		for (size_t k = 0; ta != NULL && k < over->count && !replaced; k++) {
			const char *tb = entry_target(over->items[k], b, sizeof(b));
			replaced = tb != NULL && strcmp(ta, tb) == 0;
		}
		if (!replaced) {
			seq->items[seq->count++] = base->items[i];
		}
	}
	for (size_t i = 0; i < over->count; i++) {
		seq->items[seq->count++] = over->items[i];
	}
	return seq;
}

static const struct yt_node *merge_value(struct ctx *x, const struct yt_node *base, const struct yt_node *over,
					 const char *path, int depth);

/* over's keys win; mappings under both are merged, lists joined. */
static const struct yt_node *merge_maps(struct ctx *x, const struct yt_node *base, const struct yt_node *over,
					const char *path, int depth)
{
	if (cx_map(x, base, path, &base) < 0 || cx_map(x, over, path, &over) < 0) {
		return NULL;
	}
	struct yt_node *m = new_node(x, YT_MAP, over->line, base->count + over->count);
	if (m == NULL) {
		return NULL;
	}
	for (size_t i = 0; i < base->count; i++) {
		if (yt_get(over, base->keys[i]->value) == NULL) {
			m->keys[m->count] = base->keys[i];
			m->items[m->count++] = base->items[i];
		}
	}
	for (size_t i = 0; i < over->count; i++) {
		const struct yt_node *k = over->keys[i];
		const struct yt_node *b = yt_get(base, k->value);
		const struct yt_node *v = over->items[i];
		if (b != NULL && !cx_is_extension(k)) {
			char sub[300];
			cx_fmt(sub, sizeof(sub), "%s%s%s", path, path[0] ? "." : "", k->value);
			v = merge_value(x, b, v, sub, depth + 1);
			if (v == NULL) {
				return NULL;
			}
		}
		m->keys[m->count] = (struct yt_node *)k;
		m->items[m->count++] = (struct yt_node *)v;
	}
	return m;
}

/* Docker Compose's rules for a key in both the base and the service. */
static const struct yt_node *merge_value(struct ctx *x, const struct yt_node *base, const struct yt_node *over,
					 const char *path, int depth)
{
	const char *key = strrchr(path, '.') ? strrchr(path, '.') + 1 : path;
	if (depth > YT_MAX_DEPTH || yt_is_null(base)) {
		return over;
	}
	/* A command replaces a command. */
	if (strcmp(path, "command") == 0 || strcmp(path, "entrypoint") == 0 || strcmp(path, "healthcheck.test") == 0) {
		return over;
	}
	if (strcmp(path, "logging") == 0 && base->kind == YT_MAP && over->kind == YT_MAP) {
		const struct yt_node *bd = yt_get(base, "driver");
		const struct yt_node *od = yt_get(over, "driver");
		/* Another driver's options mean nothing to this one. */
		if (bd != NULL && od != NULL && bd->kind == YT_SCALAR && od->kind == YT_SCALAR &&
		    strcmp(bd->value, od->value) != 0) {
			return over;
		}
	}
	if (depth == 1 && list_or_dict(key) && (base->kind != over->kind || base->kind == YT_SEQ)) {
		const struct yt_node *b = as_list(x, base);
		const struct yt_node *o = as_list(x, over);
		return b != NULL && o != NULL ? concat(x, b, o, key) : NULL;
	}
	if (base->kind == YT_MAP && over->kind == YT_MAP) {
		return merge_maps(x, base, over, path, depth);
	}
	if (base->kind == YT_SEQ && over->kind == YT_SEQ) {
		return concat(x, base, over, depth == 1 ? key : "");
	}
	return over;
}

/* ---- extends: finding the base ----------------------------------------------------------------- */

/* Paths relative to another file's directory, made absolute before the
 * service is read with this file's: the keys that name host paths. '$' is
 * doubled so that interpolation gives the directory back as it is. */
static const struct yt_node *rebase_path(struct ctx *x, const struct yt_node *n, const char *dir, int volume)
{
	if (n == NULL || n->kind != YT_SCALAR || n->value[0] == '/' || n->value[0] == '$' ||
	    (volume && n->value[0] != '.')) {
		return n;
	}
	char escaped[CX_PATH_LEN];
	size_t k = 0;
	for (const char *c = dir; *c && k + 3 < sizeof(escaped); c++) {
		if (*c == '$') {
			escaped[k++] = '$';
		}
		escaped[k++] = *c;
	}
	escaped[k] = '\0';
	char text[CX_PATH_LEN * 2];
	cx_fmt(text, sizeof(text), "%s/%s", escaped, n->value);
	struct yt_node *r = new_scalar(x, text, n->line);
	return r != NULL ? r : n;
}

static const struct yt_node *rebase_list(struct ctx *x, const struct yt_node *v, const char *dir, int volumes)
{
	if (v->kind == YT_SCALAR) {
		return rebase_path(x, v, dir, 0);
	}
	if (v->kind != YT_SEQ) {
		return v;
	}
	struct yt_node *seq = new_node(x, YT_SEQ, v->line, v->count);
	if (seq == NULL) {
		return v;
	}
	for (size_t i = 0; i < v->count; i++) {
		const struct yt_node *item = v->items[i];
		if (item->kind == YT_SCALAR) {
			item = rebase_path(x, item, dir, volumes);
		} else if (item->kind == YT_MAP) {
			/* A bind's source, an env_file's path. */
			const char *key = volumes ? "source" : "path";
			const struct yt_node *type = yt_get(item, "type");
			const struct yt_node *p = yt_get(item, key);
			int bind = !volumes ||
				   (type != NULL && type->kind == YT_SCALAR && strcmp(type->value, "bind") == 0);
			if (p != NULL && bind) {
				struct yt_node *copy = new_node(x, YT_MAP, item->line, item->count);
				if (copy != NULL) {
					for (size_t k = 0; k < item->count; k++) {
						copy->keys[k] = item->keys[k];
						copy->items[k] = strcmp(item->keys[k]->value, key) == 0
									 ? (struct yt_node *)rebase_path(x, p, dir, 0)
									 : item->items[k];
					}
					copy->count = item->count;
					item = copy;
				}
			}
		}
		seq->items[seq->count++] = (struct yt_node *)item;
	}
	return seq;
}

static const struct yt_node *rebase_service(struct ctx *x, const struct yt_node *m, const char *dir)
{
	struct yt_node *copy = new_node(x, YT_MAP, m->line, m->count);
	if (copy == NULL) {
		return m;
	}
	for (size_t i = 0; i < m->count; i++) {
		const char *k = m->keys[i]->value;
		const struct yt_node *v = m->items[i];
		if (strcmp(k, "volumes") == 0) {
			v = rebase_list(x, v, dir, 1);
		} else if (strcmp(k, "env_file") == 0 || strcmp(k, "label_file") == 0) {
			v = rebase_list(x, v, dir, 0);
		}
		copy->keys[copy->count] = m->keys[i];
		copy->items[copy->count++] = (struct yt_node *)v;
	}
	return copy;
}

/* The services mapping of another file, read once per parse. */
static const struct yt_node *services_of(struct ctx *x, const char *path, const struct yt_node *at)
{
	if (x->extends_docs == NULL) {
		x->extends_docs = cx_alloc(x, EXTENDS_MAX_DOCS, sizeof(*x->extends_docs));
		if (x->extends_docs == NULL) {
			return NULL;
		}
	}
	for (size_t i = 0; i < x->nextends_docs; i++) {
		if (strcmp(x->extends_docs[i].name, path) == 0) {
			return yt_get(x->extends_docs[i].root, "services");
		}
	}
	if (x->nextends_docs >= EXTENDS_MAX_DOCS) {
		cx_fail(x, at, "extends.file", "more than %d files are extended", EXTENDS_MAX_DOCS);
		return NULL;
	}
	char buf[CX_PATH_LEN];
	struct berr e;
	struct yt_doc *d = &x->extends_docs[x->nextends_docs];
	if (yt_parse_file(d, cx_readable(x, path, buf, sizeof(buf)), path, &e) < 0) {
		cx_fail(x, at, "extends.file", "%s", e.msg);
		return NULL;
	}
	x->nextends_docs++;
	const struct yt_node *services = yt_get(d->root, "services");
	if (services == NULL || services->kind != YT_MAP) {
		cx_fail(x, at, "extends.file", "%s has no services", path);
		return NULL;
	}
	return services;
}

struct base_ref {
	char *service;
	char *file; /* absolute; NULL: this file */
};

static int extends_ref(struct ctx *x, const struct yt_node *v, const char *dir, struct base_ref *r)
{
	r->file = NULL;
	if (v->kind == YT_SCALAR) {
		return cx_str(x, v, "extends", &r->service);
	}
	const struct yt_node *m;
	if (cx_map(x, v, "extends", &m) < 0) {
		return -1;
	}
	r->service = NULL;
	for (size_t i = 0; i < m->count; i++) {
		const char *k = m->keys[i]->value;
		if (strcmp(k, "service") == 0) {
			if (cx_str(x, m->items[i], "extends.service", &r->service) < 0) {
				return -1;
			}
		} else if (strcmp(k, "file") == 0) {
			char *f;
			if (cx_str(x, m->items[i], "extends.file", &f) < 0) {
				return -1;
			}
			r->file = cx_path(x, dir, f);
			if (r->file == NULL) {
				return cx_fail(x, m->items[i], "extends.file", "the path is too long");
			}
		} else if (!cx_is_extension(m->keys[i])) {
			return cx_fail(x, m->keys[i], "extends", "unknown key '%.60s' (service and file are)", k);
		}
	}
	if (r->service == NULL) {
		return cx_fail(x, v, "extends", "give the service to extend (service:)");
	}
	return 0;
}

/* m with its extends resolved; file is where m is (NULL: the file being
 * read), dir what its paths are relative to. */
static int resolve(struct ctx *x, const struct yt_node *m, const char *file, const char *dir,
		   const struct yt_node *services, int depth, const struct yt_node **out)
{
	const struct yt_node *ext = yt_get(m, "extends");
	*out = m;
	if (ext == NULL) {
		return 0;
	}
	if (depth >= EXTENDS_MAX_DEPTH) {
		return cx_fail(x, ext, "extends", "services extend each other more than %d deep (a cycle?)",
			       EXTENDS_MAX_DEPTH);
	}
	struct base_ref r;
	if (extends_ref(x, ext, dir, &r) < 0) {
		return -1;
	}
	const char *base_file = r.file != NULL ? r.file : file;
	const char *base_dir = dir;
	const struct yt_node *base_services = services;
	if (r.file != NULL) {
		base_services = services_of(x, r.file, ext);
		if (base_services == NULL) {
			return -1;
		}
		const char *slash = strrchr(r.file, '/');
		base_dir = arena_strndup(&x->p->arena, r.file, slash == r.file ? 1 : (size_t)(slash - r.file));
	}
	const struct yt_node *base = yt_get(base_services, r.service);
	if (base == NULL || base->kind != YT_MAP) {
		return cx_fail(x, ext, "extends", "service '%.100s' is not defined%s%s", r.service,
			       r.file ? " in " : "", r.file ? r.file : "");
	}
	if (cx_map(x, base, "extends", &base) < 0 ||
	    resolve(x, base, base_file, base_dir, base_services, depth + 1, &base) < 0) {
		return -1;
	}
	if (r.file != NULL && base_dir != NULL && strcmp(base_dir, x->dir) != 0) {
		base = rebase_service(x, base, base_dir);
	}
	const struct yt_node *merged = merge_maps(x, base, m, "", 0);
	if (merged == NULL) {
		return -1;
	}
	/* The result extends nothing any more. */
	struct yt_node *copy = new_node(x, YT_MAP, m->line, merged->count);
	if (copy == NULL) {
		return -1;
	}
	for (size_t i = 0; i < merged->count; i++) {
		if (strcmp(merged->keys[i]->value, "extends") != 0) {
			copy->keys[copy->count] = merged->keys[i];
			copy->items[copy->count++] = merged->items[i];
		}
	}
	*out = copy;
	return 0;
}

int svc_extends(struct ctx *x, struct compose_service *s, const struct yt_node *m, const struct yt_node **out)
{
	(void)s;
	return resolve(x, m, NULL, x->dir, x->services, 0, out);
}
