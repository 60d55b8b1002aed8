/* The mounts of a service (see parse.h): volumes in the short syntax
 * (SOURCE:TARGET[:MODE]) and the long one, tmpfs, and the rules of the
 * host they must keep: which host paths berthd binds into containers,
 * that a bind source on the config partition exists, and how anonymous
 * volumes are named on DATA. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "compose/formats.h"
#include "compose/parse.h"
#include "lib/hostcfg.h"
#include "lib/sha256.h"

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
		return cx_fail(x, n, field, "the container path '%.200s' must be absolute", t);
	}
	*out = cx_path(x, "/", t);
	if (*out == NULL) {
		return x->nomem ? -1 : cx_fail(x, n, field, "the container path is too long");
	}
	if (strcmp(*out, "/") == 0) {
		return cx_fail(x, n, field, "cannot mount over the container's root");
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
		m->source = cx_path(x, x->dir, src);
		if (m->source == NULL) {
			return x->nomem ? -1 : cx_fail(x, n, field, "the host path is too long");
		}
		return 0;
	}
	if (src[0] == '~') {
		return cx_fail(x, n, field,
			       "'%.200s': ~ is not supported: use an absolute path or one relative to the "
			       "compose file",
			       src);
	}
	if (!compose_valid_name(src)) {
		return cx_fail(x, n, field, "'%.200s' is neither a path (starting with / or .) nor a volume name", src);
	}
	m->type = COMPOSE_MOUNT_VOLUME;
	m->source = cx_strdup(x, src);
	return m->source ? 0 : -1;
}

/* SOURCE:TARGET[:MODE] or TARGET alone (an anonymous volume). */
static int short_volume(struct ctx *x, const struct yt_node *n, struct compose_mount *m)
{
	char *s;
	if (cx_str(x, n, "volumes", &s) < 0) {
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
		return cx_fail(x, n, "volumes", "expected SOURCE:TARGET[:MODE]");
	}
	m->line = n->line;
	if (np == 1) {
		m->type = COMPOSE_MOUNT_VOLUME;
		return mount_target(x, n, "volumes", parts[0], &m->target);
	}
	if (parts[0][0] == '\0') {
		return cx_fail(x, n, "volumes", "the source is empty");
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
			m->propagation = cx_strdup(x, opt);
		} else if (strcmp(opt, "z") == 0 || strcmp(opt, "Z") == 0) {
			return cx_fail(x, n, "volumes",
				       "SELinux relabeling (%s) is not supported: the kernel has no SELinux", opt);
		} else if (strcmp(opt, "cached") == 0 || strcmp(opt, "delegated") == 0 ||
			   strcmp(opt, "consistent") == 0) {
			/* Consistency modes only matter to Docker Desktop's file sharing. */
		} else {
			return cx_fail(x, n, "volumes", "unknown mode '%.50s' (expected ro, rw%s)", opt,
				       m->type == COMPOSE_MOUNT_BIND ? " or a propagation like rslave" : " or nocopy");
		}
	}
	return 0;
}

/* The options of a bind, a volume or a tmpfs in the long syntax. */

static int bind_propagation(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	struct compose_mount *m = obj;
	char *pr;
	if (cx_str(x, v, field, &pr) < 0) {
		return -1;
	}
	if (!propagation(pr)) {
		return cx_fail(x, v, field, "expected private, rprivate, shared, rshared, slave or rslave");
	}
	m->propagation = pr;
	return 0;
}

static int tmpfs_size(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	struct compose_mount *m = obj;
	int64_t size;
	if (cx_bytes(x, v, field, &size) < 0) {
		return -1;
	}
	m->has_tmpfs_size = 1;
	m->tmpfs_size = (uint64_t)size;
	return 0;
}

static int tmpfs_mode(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	struct compose_mount *m = obj;
	char *mode;
	if (cx_str(x, v, field, &mode) < 0) {
		return -1;
	}
	if (compose_parse_mode(mode, &m->tmpfs_mode) < 0) {
		return cx_fail(x, v, field, "expected an octal mode like 1777, got '%.20s'", mode);
	}
	m->has_tmpfs_mode = 1;
	return 0;
}

/* recursive: enabled (rbind, the default), disabled (bind), readonly and
 * writable (rbind; Berth makes no submount read-only or writable on its
 * own: only read_only does, and for the whole tree). */
static int bind_recursive(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	struct compose_mount *m = obj;
	char *r;
	if (cx_str(x, v, field, &r) < 0) {
		return -1;
	}
	if (strcmp(r, "disabled") == 0) {
		m->non_recursive = 1;
	} else if (strcmp(r, "enabled") == 0) {
		m->non_recursive = 0;
	} else if (strcmp(r, "readonly") == 0 || strcmp(r, "writable") == 0) {
		return cx_fail(x, v, field, "'%s': submounts follow the bind's own read_only (use enabled or disabled)",
			       r);
	} else {
		return cx_fail(x, v, field, "expected enabled, disabled, writable or readonly, got '%.40s'", r);
	}
	return 0;
}

/* subpath: a directory inside the volume, relative, without "..". */
static int volume_subpath(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	struct compose_mount *m = obj;
	char *sp;
	if (cx_str(x, v, field, &sp) < 0) {
		return -1;
	}
	if (sp[0] == '/' || sp[0] == '\0' || strcmp(sp, "..") == 0 || strncmp(sp, "../", 3) == 0 ||
	    strstr(sp, "/../") != NULL || (strlen(sp) >= 3 && strcmp(sp + strlen(sp) - 3, "/..") == 0)) {
		return cx_fail(x, v, field, "'%.100s' must be a relative path inside the volume, without ..", sp);
	}
	char *clean = cx_path(x, "/", sp);
	if (clean == NULL) {
		return x->nomem ? -1 : cx_fail(x, v, field, "the path is too long");
	}
	m->subpath = clean + 1;
	return 0;
}

static int volume_labels(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	(void)obj;
	struct compose_kv *kv;
	size_t n;
	/* Labels of the volume Docker would create: Berth's volumes are
	 * directories and keep none; checked, not kept. */
	return cx_kvlist(x, v, field, &kv, &n);
}

static const struct cx_rule bind_rules[] = {
	{"propagation", CX_FN, .fn = bind_propagation},
	{"create_host_path", CX_BOOL, .offset = offsetof(struct compose_mount, create_host_path)},
	{"recursive", CX_FN, .fn = bind_recursive},
	{"selinux", CX_REFUSED, .why = "the kernel has no SELinux"},
};
static const struct cx_rule volume_rules[] = {
	{"nocopy", CX_BOOL, .offset = offsetof(struct compose_mount, nocopy)},
	/* Read, but berthd does not resolve it inside the volume yet (safely:
	 * the volume's content is the container's, symlinks too). */
	{"subpath", CX_REFUSED, .fn = volume_subpath, .why = "not supported by Berth yet"},
	{"labels", CX_FN, .fn = volume_labels},
};
static const struct cx_rule tmpfs_rules[] = {
	{"size", CX_FN, .fn = tmpfs_size},
	{"mode", CX_FN, .fn = tmpfs_mode},
};

static const struct {
	const char *key;
	enum compose_mount_type type;
	struct cx_rules rules;
} mount_options[] = {
	{"bind",
	 COMPOSE_MOUNT_BIND,
	 {CX_RULES(bind_rules), .hint = "propagation, create_host_path and recursive are", .stop = 1}},
	{"volume", COMPOSE_MOUNT_VOLUME, {CX_RULES(volume_rules), .hint = "nocopy, subpath and labels are", .stop = 1}},
	{"tmpfs", COMPOSE_MOUNT_TMPFS, {CX_RULES(tmpfs_rules), .hint = "size and mode are", .stop = 1}},
};

/* bind:, volume: or tmpfs: (the last part of field names which). */
static int mount_type_options(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	struct compose_mount *m = obj;
	const char *key = strrchr(field, '.') + 1;
	for (size_t i = 0; i < sizeof(mount_options) / sizeof(mount_options[0]); i++) {
		if (strcmp(mount_options[i].key, key) != 0) {
			continue;
		}
		if (m->type != mount_options[i].type) {
			return cx_fail(x, v, "volumes", "'%s' options do not apply to this type of mount", key);
		}
		const struct yt_node *sub;
		if (cx_map(x, v, field, &sub) < 0) {
			return -1;
		}
		return cx_fields(x, sub, field, &mount_options[i].rules, m);
	}
	return -1;
}

static const struct cx_rule long_volume_rules[] = {
	{.name = "type", .type = CX_IGNORED},
	{.name = "target", .type = CX_IGNORED},
	{.name = "source", .type = CX_IGNORED},
	{.name = "consistency", .type = CX_IGNORED},
	{"read_only", CX_BOOL, .offset = offsetof(struct compose_mount, read_only)},
	{"bind", CX_FN, .fn = mount_type_options},
	{"volume", CX_FN, .fn = mount_type_options},
	{"tmpfs", CX_FN, .fn = mount_type_options},
	{"image", CX_REFUSED, .why = "image mounts are not supported: copy the files into a volume"},
};

static const struct cx_rules long_volume_keys = {CX_RULES(long_volume_rules), .stop = 1};

static int long_volume_type(struct ctx *x, const struct yt_node *type, struct compose_mount *m)
{
	char *t;
	if (cx_str(x, type, "volumes.type", &t) < 0) {
		return -1;
	}
	if (strcmp(t, "volume") == 0) {
		m->type = COMPOSE_MOUNT_VOLUME;
	} else if (strcmp(t, "bind") == 0) {
		m->type = COMPOSE_MOUNT_BIND;
	} else if (strcmp(t, "tmpfs") == 0) {
		m->type = COMPOSE_MOUNT_TMPFS;
	} else if (strcmp(t, "npipe") == 0 || strcmp(t, "cluster") == 0 || strcmp(t, "image") == 0) {
		return cx_fail(x, type, "volumes.type", "'%s' mounts are not supported (volume, bind and tmpfs are)",
			       t);
	} else {
		return cx_fail(x, type, "volumes.type", "expected volume, bind or tmpfs, got '%.50s'", t);
	}
	return 0;
}

static int long_volume_source(struct ctx *x, const struct yt_node *source, struct compose_mount *m)
{
	char *src;
	if (m->type == COMPOSE_MOUNT_TMPFS) {
		return cx_fail(x, source, "volumes.source", "a tmpfs mount has no source");
	}
	if (cx_str(x, source, "volumes.source", &src) < 0) {
		return -1;
	}
	if (m->type == COMPOSE_MOUNT_VOLUME) {
		if (!compose_valid_name(src)) {
			return cx_fail(x, source, "volumes.source", "'%.200s' is not a volume name", src);
		}
		m->source = src;
		return 0;
	}
	/* A bind's source is always a path, even without "./". */
	if (src[0] == '\0' || src[0] == '~') {
		return cx_fail(x, source, "volumes.source",
			       "expected an absolute path or one relative to the compose file, got '%.200s'", src);
	}
	m->source = cx_path(x, x->dir, src);
	if (m->source == NULL) {
		return x->nomem ? -1 : cx_fail(x, source, "volumes.source", "the path is too long");
	}
	return 0;
}

static int long_volume(struct ctx *x, const struct yt_node *n, struct compose_mount *m)
{
	const struct yt_node *v;
	if (cx_map(x, n, "volumes", &v) < 0) {
		return -1;
	}
	m->line = n->line;
	const struct yt_node *type = yt_get(v, "type");
	const struct yt_node *target = yt_get(v, "target");
	const struct yt_node *source = yt_get(v, "source");
	if (type == NULL) {
		return cx_fail(x, n, "volumes", "a mount needs a type (volume, bind or tmpfs)");
	}
	if (long_volume_type(x, type, m) < 0) {
		return -1;
	}
	char *tgt;
	if (target == NULL) {
		return cx_fail(x, n, "volumes", "a mount needs a target");
	}
	if (cx_str(x, target, "volumes.target", &tgt) < 0 ||
	    mount_target(x, target, "volumes.target", tgt, &m->target) < 0) {
		return -1;
	}
	if (source != NULL && !yt_is_null(source)) {
		if (long_volume_source(x, source, m) < 0) {
			return -1;
		}
	} else if (m->type == COMPOSE_MOUNT_BIND) {
		return cx_fail(x, n, "volumes", "a bind mount needs a source");
	}
	return cx_fields(x, v, "volumes", &long_volume_keys, m);
}

int svc_volumes(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	(void)obj;
	struct svc_scratch *sc = x->sc;
	if (v == NULL || v->kind != YT_SEQ) {
		return cx_fail(x, v, field, "expected a list, got %s", yt_kind_name(v));
	}
	sc->volumes = cx_alloc(x, v->count, sizeof(*sc->volumes));
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

/* One entry of tmpfs: PATH[:OPTIONS], OPTIONS being mount options
 * ("size=64m,mode=1777"). */
static int tmpfs_entry(struct ctx *x, const struct yt_node *node, char *item, struct compose_mount *m)
{
	memset(m, 0, sizeof(*m));
	m->type = COMPOSE_MOUNT_TMPFS;
	m->line = node->line;
	char *colon = strchr(item, ':');
	if (colon != NULL) {
		*colon = '\0';
	}
	if (mount_target(x, node, "tmpfs", item, &m->target) < 0) {
		return -1;
	}
	if (colon == NULL || colon[1] == '\0') {
		return 0;
	}
	size_t count = 1;
	for (const char *c = colon + 1; *c; c++) {
		count += *c == ',';
	}
	m->tmpfs_options = cx_alloc(x, count + 1, sizeof(char *));
	if (m->tmpfs_options == NULL) {
		return -1;
	}
	char *save = NULL;
	for (char *opt = strtok_r(colon + 1, ",", &save); opt != NULL; opt = strtok_r(NULL, ",", &save)) {
		if (!tmpfs_option(opt)) {
			return cx_fail(x, node, "tmpfs", "unknown option '%.50s'", opt);
		}
		if (strncmp(opt, "mode=", 5) == 0 && compose_parse_mode(opt + 5, &m->tmpfs_mode) < 0) {
			return cx_fail(x, node, "tmpfs", "mode: expected an octal mode like 1777, got '%.20s'",
				       opt + 5);
		}
		m->tmpfs_options[m->ntmpfs_options++] = opt;
	}
	return 0;
}

int svc_tmpfs(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	(void)obj;
	struct svc_scratch *sc = x->sc;
	char **items;
	size_t n;
	if (cx_strlist(x, v, field, 1, &items, &n) < 0) {
		return -1;
	}
	sc->tmpfs = cx_alloc(x, n, sizeof(*sc->tmpfs));
	if (sc->tmpfs == NULL) {
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		const struct yt_node *node = v->kind == YT_SEQ ? v->items[i] : v;
		if (tmpfs_entry(x, node, items[i], &sc->tmpfs[sc->ntmpfs]) == 0) {
			sc->ntmpfs++;
		}
	}
	return x->failed ? -1 : 0;
}

/* ---- volumes_from ----------------------------------------------------------------------- */

/* SERVICE[:ro|rw] or container:NAME[:ro|rw]. */
int svc_volumes_from(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	struct compose_service *s = obj;
	char **items;
	size_t n;
	if (cx_strlist(x, v, field, 0, &items, &n) < 0) {
		return -1;
	}
	s->volumes_from = cx_alloc(x, n, sizeof(*s->volumes_from));
	if (s->volumes_from == NULL) {
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		struct compose_volfrom *f = &s->volumes_from[s->nvolumes_from];
		char *t = items[i];
		f->line = v->items[i]->line;
		if (strncmp(t, "container:", 10) == 0) {
			/* berthd would have to copy them from the container as it
			 * is when this one is made: not yet. */
			cx_fail(x, v->items[i], field,
				"'%.100s': volumes_from a container is not supported by Berth yet (from a service is)",
				t);
			continue;
		}
		char *colon = strchr(t, ':');
		if (colon != NULL) {
			*colon = '\0';
			if (strcmp(colon + 1, "ro") != 0 && strcmp(colon + 1, "rw") != 0) {
				cx_fail(x, v->items[i], field, "'%.60s': the mode is ro or rw", colon + 1);
				continue;
			}
			f->mode_given = 1;
			f->read_only = colon[1] == 'r' && colon[2] == 'o';
		}
		f->target = t;
		if (!compose_valid_name(t)) {
			cx_fail(x, v->items[i], field, "'%.100s' does not name a %s", t,
				f->container ? "container" : "service");
			continue;
		}
		s->nvolumes_from++;
	}
	return x->failed ? -1 : 0;
}

static int has_target(const struct compose_service *s, const char *target)
{
	for (size_t i = 0; i < s->nmounts; i++) {
		if (strcmp(s->mounts[i].target, target) == 0) {
			return 1;
		}
	}
	return 0;
}

/* Appends the volumes and binds of from (not its tmpfs: Docker shares no
 * tmpfs) to s; a path s mounts itself keeps its own. Anonymous volumes
 * stay from's: named after from's first container. */
static int copy_mounts(struct ctx *x, struct compose_service *s, const struct compose_service *from,
		       const struct compose_volfrom *f)
{
	struct compose_mount *all = cx_alloc(x, s->nmounts + from->nmounts, sizeof(*all));
	char owner[COMPOSE_NAME_MAX];
	if (all == NULL || compose_first_container(x->p, from->name, owner, sizeof(owner)) < 0) {
		return -1;
	}
	memcpy(all, s->mounts, s->nmounts * sizeof(*all));
	s->mounts = all;
	for (size_t i = 0; i < from->nmounts; i++) {
		const struct compose_mount *m = &from->mounts[i];
		if (m->type == COMPOSE_MOUNT_TMPFS || has_target(s, m->target)) {
			continue;
		}
		struct compose_mount *c = &s->mounts[s->nmounts++];
		*c = *m;
		c->line = f->line;
		if (f->mode_given) {
			c->read_only = f->read_only;
		}
		if (c->type == COMPOSE_MOUNT_VOLUME && c->source == NULL && c->anon_owner == NULL) {
			c->anon_owner = cx_strdup(x, owner);
		}
	}
	return 0;
}

/* Resolves the services' volumes_from SERVICE in an order where a service
 * copies from one whose own volumes_from are done (it shares what that
 * service's container has, as Docker does). What stays unresolved is in a
 * cycle, which the dependency graph reports. */
void resolve_volumes_from(struct ctx *x)
{
	struct compose_project *p = x->p;
	unsigned char *done = cx_alloc(x, p->nservices, 1);
	if (done == NULL) {
		return;
	}
	for (int progress = 1; progress;) {
		progress = 0;
		for (size_t i = 0; i < p->nservices; i++) {
			struct compose_service *s = &p->services[i];
			if (done[i]) {
				continue;
			}
			int ready = 1;
			for (size_t k = 0; k < s->nvolumes_from && ready; k++) {
				const struct compose_service *t = compose_service_find(p, s->volumes_from[k].target);
				ready = s->volumes_from[k].container || t == NULL || done[t - p->services];
			}
			if (!ready) {
				continue;
			}
			for (size_t k = 0; k < s->nvolumes_from; k++) {
				const struct compose_volfrom *f = &s->volumes_from[k];
				const struct compose_service *t = compose_service_find(p, f->target);
				if (!f->container && t != NULL && t != s) {
					copy_mounts(x, s, t, f);
				}
			}
			done[i] = 1;
			progress = 1;
		}
	}
}

/* ---- the host's rules --------------------------------------------------------------- */

static int under(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

int compose_bind_allowed(const struct host_config *host, const char *source)
{
	if (under(source, COMPOSE_CONFIG_DIR) ||
	    (under(source, COMPOSE_DATA_DIR) && !under(source, COMPOSE_STATE_DIR))) {
		return 1;
	}
	for (size_t i = 0; host != NULL && i < host->nbind_allow; i++) {
		if (under(source, host->bind_allow[i])) {
			return 1;
		}
	}
	return 0;
}

int compose_anon_volume_name(const char *container, const char *target, char *out, size_t size)
{
	char hex[SHA256_HEX_LEN + 1];
	sha256_hex(target, strlen(target), hex);
	int n = snprintf(out, size, "%s-anon-%.12s", container, hex);
	return n < 0 || (size_t)n >= size || n >= COMPOSE_NAME_MAX ? -ENAMETOOLONG : 0;
}

const char *cx_readable(struct ctx *x, const char *path, char *buf, size_t size)
{
	const char *dir = x->opt->config_dir;
	if (dir == NULL || !under(path, COMPOSE_CONFIG_DIR)) {
		return path;
	}
	cx_fmt(buf, size, "%s%s", dir, path + strlen(COMPOSE_CONFIG_DIR));
	return buf;
}

/* What berthd refuses of a mount before it makes the container: a bind
 * source it does not bind, one on the config partition that is not there
 * (the partition is read-only: nothing can create it), an anonymous
 * volume whose name on DATA would be too long. */
static void check_mount_for_host(struct ctx *x, const struct compose_service *s, const struct compose_mount *m,
				 const char *field)
{
	if (m->type == COMPOSE_MOUNT_VOLUME && m->source == NULL) {
		char name[COMPOSE_NAME_MAX];
		char container[COMPOSE_NAME_MAX];
		/* The last replica's name is the longest. */
		if (compose_container_name(x->p, s, s->replicas > 1 ? s->replicas - 1 : 0, container,
					   sizeof(container)) < 0 ||
		    compose_anon_volume_name(container, m->target, name, sizeof(name)) < 0) {
			cx_fail_at(x, m->line, field,
				   "an anonymous volume is named after the container: the container's name must be at "
				   "most %d characters",
				   COMPOSE_NAME_MAX - 1 - COMPOSE_ANON_SUFFIX_LEN);
		}
		return;
	}
	if (m->type != COMPOSE_MOUNT_BIND || x->opt->host == NULL) {
		return;
	}
	if (!compose_bind_allowed(x->opt->host, m->source)) {
		cx_fail_at(x, m->line, field, "bind mount of %s: " COMPOSE_BIND_RULE, m->source);
		return;
	}
	char buf[CX_PATH_LEN];
	struct stat st;
	if (under(m->source, COMPOSE_CONFIG_DIR) && stat(cx_readable(x, m->source, buf, sizeof(buf)), &st) < 0) {
		cx_fail_at(x, m->line, field, "bind mount source %s: %s", m->source, strerror(errno));
	}
}

void svc_merge_mounts(struct ctx *x, struct compose_service *s)
{
	struct svc_scratch *sc = x->sc;
	s->mounts = cx_alloc(x, sc->nvolumes + sc->ntmpfs, sizeof(*s->mounts));
	if (s->mounts == NULL) {
		return;
	}
	for (size_t i = 0; i < sc->nvolumes + sc->ntmpfs; i++) {
		const struct compose_mount *m = i < sc->nvolumes ? &sc->volumes[i] : &sc->tmpfs[i - sc->nvolumes];
		const char *field = i < sc->nvolumes ? "volumes" : "tmpfs";
		for (size_t j = 0; j < s->nmounts; j++) {
			if (strcmp(s->mounts[j].target, m->target) == 0) {
				cx_fail_at(x, m->line, field, "%s is mounted twice (also at line %d)", m->target,
					   s->mounts[j].line);
			}
		}
		check_mount_for_host(x, s, m, field);
		s->mounts[s->nmounts++] = *m;
	}
}
