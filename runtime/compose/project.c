/* The top level of compose.yaml (see parse.h): the project's name, its
 * volumes and networks, its services and the checks between them; and
 * the ways in: text, a file, and a config directory (.env, then
 * compose.yaml) the way berthd and `berth config check` both read it. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compose/formats.h"
#include "compose/graph.h"
#include "compose/parse.h"
#include "lib/cleanup.h"
#include "lib/fsutil.h"

/* ---- top-level volumes and networks ------------------------------------------------------ */

/* What a top-level volume and network have in common: a key, a name:,
 * labels, one driver, and keys of the specification Berth has no use for.
 * A table of the kind's keys reads the entry through this view. */
struct entry_kind {
	const char *section;	/* "volumes" */
	const char *noun;	/* "volume" */
	const char *driver;	/* the one driver there is */
	const char *driver_why; /* what a user asking for another is told */
	const struct cx_rules *keys;
};

struct entry {
	const struct entry_kind *kind;
	char **key;
	char **name;
	struct compose_kv **labels;
	size_t *nlabels;
	int *line;
	struct compose_network *net; /* a network's own keys */
};

static int entry_name(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	struct entry *e = obj;
	char *t;
	if (cx_str(x, v, field, &t) < 0) {
		return -1;
	}
	*e->name = t;
	if (!compose_valid_name(t)) {
		return cx_fail(x, v, field, "'%.100s' is not a valid %s name", t, e->kind->noun);
	}
	return 0;
}

static int entry_driver(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	const struct entry_kind *k = ((struct entry *)obj)->kind;
	char *t;
	if (cx_str(x, v, field, &t) < 0) {
		return -1;
	}
	if (strcmp(t, k->driver) != 0) {
		return cx_fail(x, v, field, "'%.60s': %s", t, k->driver_why);
	}
	return 0;
}

static int entry_labels(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	struct entry *e = obj;
	return cx_kvlist(x, v, field, e->labels, e->nlabels);
}

static int network_internal(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	return cx_bool(x, v, field, &((struct entry *)obj)->net->internal);
}

static int network_ipv6(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	struct compose_network *n = ((struct entry *)obj)->net;
	if (cx_bool(x, v, field, &n->enable_ipv6) < 0) {
		return -1;
	}
	if (n->enable_ipv6) {
		return cx_fail(x, v, field,
			       "Berth's networks are IPv4 only (containers can use network_mode: host for IPv6)");
	}
	return 0;
}

static int network_ipam(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	return net_ipam(x, ((struct entry *)obj)->net, v, field);
}

#define VOLUMES_ARE "volumes are directories on the DATA partition"
#define NETWORKS_ARE "networks are bridges that berthd creates"

static const struct cx_rule volume_rules[] = {
	{"name", CX_FN, .fn = entry_name},
	{"driver", CX_FN, .fn = entry_driver},
	{"labels", CX_FN, .fn = entry_labels},
	{"external", CX_REFUSED, .why = VOLUMES_ARE},
	{"driver_opts", CX_REFUSED, .why = VOLUMES_ARE},
};

static const struct cx_rule network_rules[] = {
	{"name", CX_FN, .fn = entry_name},
	{"driver", CX_FN, .fn = entry_driver},
	{"internal", CX_FN, .fn = network_internal},
	{"enable_ipv6", CX_FN, .fn = network_ipv6},
	{"labels", CX_FN, .fn = entry_labels},
	{"ipam", CX_FN, .fn = network_ipam},
	{"external", CX_REFUSED, .why = NETWORKS_ARE},
	{"driver_opts", CX_REFUSED, .why = NETWORKS_ARE},
	{"attachable", CX_REFUSED, .why = NETWORKS_ARE},
	{"enable_ipv4", CX_REFUSED, .why = NETWORKS_ARE},
};

static const struct cx_rules volume_keys = {CX_RULES(volume_rules)};
static const struct cx_rules network_keys = {CX_RULES(network_rules)};

static const struct entry_kind volume_kind = {"volumes", "volume", "local", "Berth has local volumes only",
					      &volume_keys};
static const struct entry_kind network_kind = {"networks", "network", "bridge", "Berth has bridge networks only",
					       &network_keys};

/* Reads one entry; the scope stays set for the kind's own checks. */
static int parse_entry(struct ctx *x, const struct yt_node *key, const struct yt_node *def, struct entry *e)
{
	*e->key = cx_strdup(x, key->value);
	*e->name = *e->key;
	*e->line = key->line;
	x->failed = 0;
	cx_fmt(x->scope, sizeof(x->scope), "%s.%.200s", e->kind->section, key->value);
	if (!compose_valid_name(key->value)) {
		cx_fail(x, key, NULL, "'%.100s' is not a valid %s name ([a-zA-Z0-9][a-zA-Z0-9_.-]*)", key->value,
			e->kind->noun);
	} else if (!yt_is_null(def)) {
		const struct yt_node *m;
		if (cx_map(x, def, NULL, &m) == 0) {
			cx_fields(x, m, NULL, e->kind->keys, e);
		}
	}
	return *e->key != NULL ? 0 : -1;
}

static int parse_volume(struct ctx *x, const struct yt_node *key, const struct yt_node *def, void *item)
{
	struct compose_volume *v = item;
	struct entry e = {&volume_kind, &v->key, &v->name, &v->labels, &v->nlabels, &v->line, NULL};
	int ret = parse_entry(x, key, def, &e);
	/* berthd names the volume's directory on DATA after its key. */
	if (ret == 0 && strlen(v->key) >= COMPOSE_NAME_MAX) {
		cx_fail(x, key, NULL, "the name is longer than %d characters", COMPOSE_NAME_MAX - 1);
	}
	v->valid = !x->failed;
	x->scope[0] = '\0';
	return ret;
}

static int parse_network(struct ctx *x, const struct yt_node *key, const struct yt_node *def, void *item)
{
	struct compose_network *n = item;
	struct entry e = {&network_kind, &n->key, &n->name, &n->labels, &n->nlabels, &n->line, n};
	int ret = parse_entry(x, key, def, &e);
	/* berthd keeps each network's addresses in a file of that name. */
	if (ret == 0 && strlen(n->name) >= COMPOSE_NAME_MAX) {
		cx_fail_at(x, n->line, "name", "'%.40s...' is longer than %d characters", n->name,
			   COMPOSE_NAME_MAX - 1);
	}
	n->valid = !x->failed;
	x->scope[0] = '\0';
	return ret;
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
 * networks it names, names that must be unique, and what berthd's
 * networks take. */
static void cross_check(struct ctx *x, struct compose_service *s, size_t index)
{
	x->service = s->name;
	x->failed = 0;
	cx_fmt(x->scope, sizeof(x->scope), "services.%s", s->name);
	for (size_t i = 0; i < s->nmounts; i++) {
		const struct compose_mount *m = &s->mounts[i];
		if (m->type != COMPOSE_MOUNT_VOLUME || m->source == NULL) {
			continue;
		}
		const struct compose_volume *v = compose_volume_find(x->p, m->source);
		if (v == NULL) {
			cx_fail_at(x, m->line, "volumes",
				   "volume '%.100s' is not declared under the top-level volumes key", m->source);
		} else if (!v->valid) {
			cx_fail_at(x, m->line, "volumes", "volume '%.100s' is invalid (see its error)", m->source);
		}
	}
	for (size_t i = 0; i < s->nnetworks; i++) {
		const struct compose_netattach *a = &s->networks[i];
		const struct compose_network *n = compose_network_find(x->p, a->network);
		if (n == NULL && strcmp(a->network, "default") != 0) {
			cx_fail_at(x, a->line, "networks",
				   "network '%.100s' is not declared under the top-level networks key", a->network);
		} else if (n != NULL && !n->valid) {
			cx_fail_at(x, a->line, "networks", "network '%.100s' is invalid (see its error)", a->network);
		}
	}
	/* berthd keeps one container per name: a service named like another
	 * service's container_name would take that container over. */
	const char *container = svc_container_name(s);
	for (size_t i = 0; i < index; i++) {
		const struct compose_service *o = &x->p->services[i];
		if (strcmp(svc_container_name(o), container) == 0) {
			cx_fail_at(x, s->line, s->container_name != NULL ? "container_name" : NULL,
				   "'%.100s' is also the container name of %s", container, o->name);
		}
	}
	svc_cross_check_networking(x, s, index);
	if (x->failed) {
		s->valid = 0;
	}
	x->service = NULL;
	x->scope[0] = '\0';
}

/* The top-level keys. */
struct top {
	const struct yt_node *services;
	const struct yt_node *volumes;
	const struct yt_node *networks;
	const struct yt_node *name;
};

static const char *const unsupported_top_keys[] = {"secrets", "configs", "include", "models", NULL};

static void find_sections(struct ctx *x, const struct yt_node *root, struct top *t)
{
	for (size_t i = 0; i < root->count; i++) {
		const struct yt_node *k = root->keys[i];
		if (strcmp(k->value, "services") == 0) {
			t->services = root->items[i];
		} else if (strcmp(k->value, "volumes") == 0) {
			t->volumes = root->items[i];
		} else if (strcmp(k->value, "networks") == 0) {
			t->networks = root->items[i];
		} else if (strcmp(k->value, "name") == 0) {
			t->name = root->items[i];
		} else if (strcmp(k->value, "version") == 0) {
			cx_warn(x, k, NULL, "the top-level 'version' is obsolete and ignored");
		} else if (!cx_is_extension(k)) {
			int unsupported = 0;
			for (const char *const *u = unsupported_top_keys; *u; u++) {
				unsupported |= strcmp(*u, k->value) == 0;
			}
			if (unsupported) {
				cx_fail(x, k, NULL,
					"unsupported key '%s' (mount files from the config partition with volumes)",
					k->value);
			} else {
				cx_fail(x, k, NULL, "unknown top-level key '%.100s'", k->value);
			}
		}
	}
}

/* What makes the whole file unusable: a wrong name, no services, a section
 * that is not a mapping, or one too large to check. */
static int check_sections(struct ctx *x, const struct yt_node *root, const struct top *t, struct berr *err)
{
	if (t->name != NULL) {
		char *n;
		if (cx_str(x, t->name, "name", &n) < 0 || !compose_valid_project_name(n)) {
			return yt_error(x->doc, t->name, err,
					"name: expected a project name of lower-case letters, digits, '-' and '_' "
					"(starting with a letter or digit)");
		}
		x->p->name = n;
	}
	if (t->services == NULL) {
		return yt_error(x->doc, root, err, "no 'services' key: nothing to run");
	}
	const struct {
		const struct yt_node *node;
		const char *what;
	} sections[] = {
		{t->services, "services: expected a mapping of service names"},
		{t->volumes, "volumes: expected a mapping of volume names"},
		{t->networks, "networks: expected a mapping of network names"},
	};
	for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++) {
		const struct yt_node *n = sections[i].node;
		if (n != NULL && n->kind != YT_MAP && !yt_is_null(n)) {
			return yt_error(x->doc, n, err, "%s", sections[i].what);
		}
		/* Bounds the work of the checks between entries (names must be unique). */
		if (n != NULL && n->kind == YT_MAP && n->count > COMPOSE_MAX_ENTRIES) {
			return yt_error(x->doc, n, err, "more than %d entries", COMPOSE_MAX_ENTRIES);
		}
	}
	if (yt_is_null(t->services) || t->services->count == 0) {
		cx_warn(x, t->services, NULL, "no services are defined");
	}
	return 0;
}

typedef int entry_parser(struct ctx *x, const struct yt_node *key, const struct yt_node *def, void *item);

/* The entries of a top-level mapping (x- keys left out), parsed into a new
 * array *items of *count entries. */
static int parse_section(struct ctx *x, const struct yt_node *n, const char *name, entry_parser *parse, size_t size,
			 void **items, size_t *count, struct berr *err)
{
	const struct yt_node *m;
	if (n == NULL || n->kind != YT_MAP) {
		return 0;
	}
	if (cx_map(x, n, name, &m) < 0) {
		return yt_error(x->doc, n, err, "%s: invalid merge key", name);
	}
	char *list = cx_alloc(x, m->count, size);
	*items = list;
	for (size_t i = 0; list != NULL && i < m->count; i++) {
		if (!cx_is_extension(m->keys[i]) && parse(x, m->keys[i], m->items[i], list + *count * size) == 0) {
			(*count)++;
		}
	}
	return 0;
}

static int parse_service_entry(struct ctx *x, const struct yt_node *key, const struct yt_node *def, void *item)
{
	struct compose_service *s = item;
	s->name = cx_strdup(x, key->value);
	if (s->name == NULL) {
		return -1;
	}
	if (!compose_valid_name(key->value)) {
		x->service = s->name;
		cx_fail(x, key, NULL, "'%.100s' is not a valid service name ([a-zA-Z0-9][a-zA-Z0-9_.-]*)", key->value);
		x->service = NULL;
		return -1;
	}
	parse_service(x, key, def, s);
	return 0;
}

static int parse_top(struct ctx *x, const struct yt_node *root, struct berr *err)
{
	struct compose_project *p = x->p;
	struct top t = {0};
	void *volumes = NULL;
	void *networks = NULL;
	void *services = NULL;
	find_sections(x, root, &t);
	int ret = check_sections(x, root, &t, err);
	if (ret == 0) {
		ret = parse_section(x, t.volumes, "volumes", parse_volume, sizeof(*p->volumes), &volumes, &p->nvolumes,
				    err);
		p->volumes = volumes;
	}
	if (ret == 0) {
		ret = parse_section(x, t.networks, "networks", parse_network, sizeof(*p->networks), &networks,
				    &p->nnetworks, err);
		p->networks = networks;
	}
	if (ret == 0) {
		ret = parse_section(x, t.services, "services", parse_service_entry, sizeof(*p->services), &services,
				    &p->nservices, err);
		p->services = services;
	}
	if (ret < 0) {
		return ret;
	}
	check_network_overlaps(x);
	for (size_t i = 0; i < p->nservices; i++) {
		cross_check(x, &p->services[i], i);
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
	x.interp = (struct compose_interp){.vars = opt->vars, .unset = cx_on_unset, .ctx = &x};
	p->file = arena_strdup(&p->arena, opt->file_name ? opt->file_name : "compose.yaml");
	p->problems = arena_alloc(&p->arena, COMPOSE_MAX_PROBLEMS * sizeof(*p->problems));
	p->name = arena_strdup(&p->arena, opt->default_name ? opt->default_name : "berth");
	const char *dir = opt->dir ? opt->dir : ".";
	char cwd[CX_PATH_LEN];
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
	p->dir = cx_path(&x, dir[0] == '/' ? "/" : cwd, dir);
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
	} else if (cx_map(&x, root, NULL, &root) < 0) {
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
	char dir[CX_PATH_LEN];
	memset(p, 0, sizeof(*p));
	if (o.dir == NULL) {
		const char *slash = strrchr(path, '/');
		if (slash == NULL) {
			cx_fmt(dir, sizeof(dir), ".");
		} else if (slash == path) {
			cx_fmt(dir, sizeof(dir), "/");
		} else {
			cx_fmt(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
		}
		o.dir = dir;
	}
	if (o.file_name == NULL) {
		o.file_name = path;
	}
	auto_free char *buf = NULL;
	size_t len = 0;
	if (read_file_alloc(AT_FDCWD, path, O_NONBLOCK, YT_MAX_INPUT, o.file_name, &buf, &len, err) < 0) {
		return -err->code;
	}
	return compose_parse(p, buf, len, &o, err);
}

int compose_load_dir(struct compose_project *p, const char *dir, const struct compose_options *opt, struct berr *err)
{
	struct compose_options o = opt ? *opt : (struct compose_options){0};
	char env[CX_PATH_LEN];
	char path[CX_PATH_LEN];
	memset(p, 0, sizeof(*p));
	if (path_join(env, sizeof(env), dir, ".env") < 0 || path_join(path, sizeof(path), dir, "compose.yaml") < 0) {
		return berr_setx(err, ENAMETOOLONG, "%s: path too long", dir);
	}
	struct compose_vars vars = {0};
	int ret = compose_dotenv_load(&vars, NULL, env, ".env", err);
	if (ret < 0 && ret != -ENOENT) {
		compose_vars_free(&vars);
		return ret;
	}
	berr_clear(err);
	o.vars = &vars;
	o.file_name = o.file_name ? o.file_name : "compose.yaml";
	o.dir = o.dir ? o.dir : COMPOSE_CONFIG_DIR;
	o.config_dir = o.config_dir ? o.config_dir : dir;
	ret = compose_load(p, path, &o, err);
	compose_vars_free(&vars);
	return ret;
}

void compose_free(struct compose_project *p)
{
	arena_free(&p->arena);
	memset(p, 0, sizeof(*p));
}

int compose_check_dir(const char *dir, const struct host_config *host, FILE *out)
{
	struct compose_options opt = {.host = host};
	struct compose_project p;
	struct berr err = {0};
	if (compose_load_dir(&p, dir, &opt, &err) < 0) {
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
