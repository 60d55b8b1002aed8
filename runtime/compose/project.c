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
	int *external;		     /* a volume's */
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

static int network_ipv4(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	(void)obj;
	int on;
	if (cx_bool(x, v, field, &on) < 0) {
		return -1;
	}
	if (!on) {
		return cx_fail(x, v, field, "Berth's networks are IPv4 networks: IPv4 cannot be turned off");
	}
	return 0;
}

/* external: true (or {name: N}, the old spelling of name:): a volume
 * that berthd does not make, but uses when it is there. */
static int volume_external(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	struct entry *e = obj;
	if (v != NULL && v->kind == YT_MAP) {
		const struct yt_node *n = yt_get(v, "name");
		if (n == NULL || v->count != 1) {
			return cx_fail(x, v, field, "expected true, false or {name: NAME}");
		}
		*e->external = 1;
		return entry_name(x, obj, n, field);
	}
	return cx_bool(x, v, field, e->external);
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
	{"external", CX_FN, .fn = volume_external},
	{"driver_opts", CX_REFUSED, .why = VOLUMES_ARE " (the local driver's options are not supported)"},
};

static const struct cx_rule network_rules[] = {
	{"name", CX_FN, .fn = entry_name},
	{"driver", CX_FN, .fn = entry_driver},
	{"internal", CX_FN, .fn = network_internal},
	{"enable_ipv6", CX_FN, .fn = network_ipv6},
	{"labels", CX_FN, .fn = entry_labels},
	{"ipam", CX_FN, .fn = network_ipam},
	{"enable_ipv4", CX_FN, .fn = network_ipv4},
	{"attachable", CX_IGNORED, .offset = 0}, /* `berth run --network` joins any of them */
	{"external", CX_REFUSED,
	 .why = NETWORKS_ARE " for the project: declare the network here (no network exists outside the file)"},
	{"driver_opts", CX_REFUSED, .why = NETWORKS_ARE " (the bridge driver's options are not supported)"},
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
	struct entry e = {&volume_kind, &v->key, &v->name, &v->labels, &v->nlabels, &v->line, NULL, &v->external};
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
	struct entry e = {&network_kind, &n->key, &n->name, &n->labels, &n->nlabels, &n->line, n, NULL};
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

const struct compose_filedef *compose_filedef_find(const struct compose_project *p, int config, const char *key)
{
	const struct compose_filedef *list = config ? p->configs : p->secrets;
	size_t n = config ? p->nconfigs : p->nsecrets;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(list[i].key, key) == 0) {
			return &list[i];
		}
	}
	return NULL;
}

int compose_container_name(const struct compose_project *p, const struct compose_service *s, unsigned index, char *out,
			   size_t size)
{
	int n;
	if (s->replicas <= 1) {
		n = snprintf(out, size, "%s", svc_container_name(s));
	} else {
		n = snprintf(out, size, "%s-%s-%u", p->name, s->name, index + 1);
	}
	return n < 0 || (size_t)n >= size || n >= COMPOSE_NAME_MAX ? -ENAMETOOLONG : 0;
}

int compose_first_container(const struct compose_project *p, const char *service, char *out, size_t size)
{
	const struct compose_service *s = compose_service_find(p, service);
	if (s == NULL) {
		int n = snprintf(out, size, "%s", service);
		return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
	}
	return compose_container_name(p, s, 0, out, size);
}

/* Whether two services would have a container of the same name. */
static int names_collide(const struct compose_project *p, const struct compose_service *a,
			 const struct compose_service *b, char *name, size_t size)
{
	unsigned na = a->replicas > 1 ? a->replicas : 1;
	unsigned nb = b->replicas > 1 ? b->replicas : 1;
	char other[COMPOSE_NAME_MAX];
	for (unsigned i = 0; i < na; i++) {
		if (compose_container_name(p, a, i, name, size) < 0) {
			continue;
		}
		for (unsigned k = 0; k < nb; k++) {
			if (compose_container_name(p, b, k, other, sizeof(other)) == 0 && strcmp(name, other) == 0) {
				return 1;
			}
		}
	}
	return 0;
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
	char container[COMPOSE_NAME_MAX];
	for (size_t i = 0; i < index; i++) {
		const struct compose_service *o = &x->p->services[i];
		if (names_collide(x->p, s, o, container, sizeof(container))) {
			cx_fail_at(x, s->line, s->container_name != NULL ? "container_name" : NULL,
				   "'%.100s' is also the container name of %s", container, o->name);
		}
	}
	svc_cross_check_files(x, s);
	svc_cross_check_isolation(x, s);
	svc_cross_check_networking(x, s, index);
	if (x->failed) {
		s->valid = 0;
	}
	x->service = NULL;
	x->scope[0] = '\0';
}

/* The top-level keys of compose.yaml. */
struct top {
	const struct yt_node *section[CX_NSECTIONS];
	const struct yt_node *name;
	const struct yt_node *include;
};

static const char *const section_names[CX_NSECTIONS] = {"services", "volumes", "networks", "secrets", "configs"};
static const char *const section_what[CX_NSECTIONS] = {"service", "volume", "network", "secret", "config"};

static void find_sections(struct ctx *x, const struct yt_node *root, struct top *t)
{
	for (size_t i = 0; i < root->count; i++) {
		const struct yt_node *k = root->keys[i];
		int known = 0;
		for (int sct = 0; sct < CX_NSECTIONS; sct++) {
			if (strcmp(k->value, section_names[sct]) == 0) {
				t->section[sct] = root->items[i];
				known = 1;
			}
		}
		if (known) {
			continue;
		}
		if (strcmp(k->value, "name") == 0) {
			t->name = root->items[i];
		} else if (strcmp(k->value, "include") == 0) {
			t->include = root->items[i];
		} else if (strcmp(k->value, "version") == 0) {
			cx_warn(x, k, NULL, "the top-level 'version' is obsolete and ignored");
		} else if (strcmp(k->value, "models") == 0) {
			cx_fail(x, k, NULL,
				"unsupported key 'models' (Docker Model Runner is not available: run the model server "
				"as a service)");
		} else if (!cx_is_extension(k)) {
			cx_fail(x, k, NULL, "unknown top-level key '%.100s'", k->value);
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
	if (t->section[CX_SERVICES] == NULL && t->include == NULL) {
		return yt_error(x->doc, root, err, "no 'services' key: nothing to run");
	}
	for (int i = 0; i < CX_NSECTIONS; i++) {
		const struct yt_node *n = t->section[i];
		if (n != NULL && n->kind != YT_MAP && !yt_is_null(n)) {
			return yt_error(x->doc, n, err, "%s: expected a mapping of %s names", section_names[i],
					section_what[i]);
		}
	}
	return 0;
}

typedef int entry_parser(struct ctx *x, const struct yt_node *key, const struct yt_node *def, void *item);

/* Reads the file of src: its messages, paths and variables are its own. */
static void enter_source(struct ctx *x, const struct cx_source *src)
{
	x->file = src->file;
	x->dir = src->dir;
	x->doc = &src->doc;
	x->interp.fallback = &src->defaults;
	x->services = src->section[CX_SERVICES];
}

/* The entries of one section of every file (x- keys left out), parsed
 * into a new array *items of *count entries. A name in two files is an
 * error (Docker Compose refuses what an include would override). */
static int parse_section(struct ctx *x, int sct, entry_parser *parse, size_t size, void **items, size_t *count,
			 struct berr *err)
{
	size_t total = 0;
	const struct yt_node *maps[CX_MAX_SOURCES] = {0};
	for (size_t f = 0; f < x->nsources; f++) {
		const struct yt_node *n = x->sources[f].section[sct];
		if (n == NULL || n->kind != YT_MAP) {
			continue;
		}
		enter_source(x, &x->sources[f]);
		if (cx_map(x, n, section_names[sct], &maps[f]) < 0) {
			return yt_error(x->doc, n, err, "%s: invalid merge key", section_names[sct]);
		}
		total += maps[f]->count;
	}
	/* Bounds the work of the checks between entries (names must be unique). */
	if (total > COMPOSE_MAX_ENTRIES) {
		return yt_error(&x->sources[0].doc, x->sources[0].section[sct], err, "%s: more than %d entries",
				section_names[sct], COMPOSE_MAX_ENTRIES);
	}
	char *list = cx_alloc(x, total, size);
	*items = list;
	for (size_t f = 0; list != NULL && f < x->nsources; f++) {
		const struct yt_node *m = maps[f];
		enter_source(x, &x->sources[f]);
		for (size_t i = 0; m != NULL && i < m->count; i++) {
			if (cx_is_extension(m->keys[i])) {
				continue;
			}
			int dup = 0;
			for (size_t g = 0; g < f && !dup; g++) {
				dup = maps[g] != NULL && yt_get(maps[g], m->keys[i]->value) != NULL;
			}
			if (dup) {
				cx_fail(x, m->keys[i], NULL,
					"%s.%.100s is defined in %s too (included files may not redefine)",
					section_names[sct], m->keys[i]->value,
					f == 0 ? "an included file" : "another file");
				continue;
			}
			if (parse(x, m->keys[i], m->items[i], list + *count * size) == 0) {
				(*count)++;
			}
		}
	}
	enter_source(x, &x->sources[0]);
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

static int parse_top(struct ctx *x, struct cx_source *main, const struct yt_node *root, struct berr *err)
{
	struct compose_project *p = x->p;
	struct top t = {0};
	find_sections(x, root, &t);
	int ret = check_sections(x, root, &t, err);
	if (ret < 0) {
		return ret;
	}
	memcpy(main->section, t.section, sizeof(t.section));
	if (cx_load_includes(x, t.include, 0, err) < 0) {
		return -1;
	}
	enter_source(x, main);
	void *volumes = NULL;
	void *networks = NULL;
	void *services = NULL;
	void *secrets = NULL;
	void *configs = NULL;
	if (parse_section(x, CX_VOLUMES, parse_volume, sizeof(*p->volumes), &volumes, &p->nvolumes, err) < 0 ||
	    parse_section(x, CX_NETWORKS, parse_network, sizeof(*p->networks), &networks, &p->nnetworks, err) < 0 ||
	    parse_section(x, CX_SECRETS, parse_secret, sizeof(*p->secrets), &secrets, &p->nsecrets, err) < 0 ||
	    parse_section(x, CX_CONFIGS, parse_config, sizeof(*p->configs), &configs, &p->nconfigs, err) < 0 ||
	    parse_section(x, CX_SERVICES, parse_service_entry, sizeof(*p->services), &services, &p->nservices, err) <
		    0) {
		return -1;
	}
	p->volumes = volumes;
	p->networks = networks;
	p->secrets = secrets;
	p->configs = configs;
	p->services = services;
	if (p->nservices == 0) {
		cx_warn(x, t.section[CX_SERVICES], NULL, "no services are defined");
	}
	resolve_volumes_from(x);
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
	x.file = p->file;
	x.dir = p->dir;
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
	x.sources = arena_alloc(&p->arena, CX_MAX_SOURCES * sizeof(*x.sources));
	if (x.sources == NULL) {
		yt_free(&doc);
		compose_free(p);
		return berr_set(err, ENOMEM, "compose");
	}
	memset(x.sources, 0, CX_MAX_SOURCES * sizeof(*x.sources));
	struct cx_source *main = &x.sources[x.nsources++];
	main->doc = doc;
	main->file = p->file;
	main->dir = p->dir;
	const struct yt_node *root = doc.root;
	if (root == NULL || yt_is_null(root)) {
		ret = berr_setx(err, EINVAL, "%s: the file is empty", p->file);
	} else if (root->kind != YT_MAP) {
		ret = yt_error(&doc, root, err, "expected a mapping with 'services' at the top level");
	} else if (cx_map(&x, root, NULL, &root) < 0) {
		ret = yt_error(&doc, root, err, "invalid merge key at the top level");
	} else {
		ret = parse_top(&x, main, root, err);
	}
	cx_free_sources(&x);
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
