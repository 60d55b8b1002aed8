/* How a service is set apart from the host and from other containers (see
 * parse.h): the namespaces it has or shares (ipc, pid, uts, cgroup,
 * userns_mode), the cgroup it lives in (cgroup_parent), the devices it may
 * use (devices, device_cgroup_rules) and the security options Docker
 * takes (security_opt). The host's device nodes and a seccomp profile's
 * content are the translation's to read (translate.h); a profile file is
 * checked here to be on the config partition. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "compose/formats.h"
#include "compose/parse.h"

/* ---- namespaces ------------------------------------------------------------------------- */

/* ipc and pid: host, service:NAME, container:NAME, and for ipc private,
 * shareable and none. */
static int nsshare(struct ctx *x, const struct yt_node *v, const char *field, int ipc, struct compose_nsshare *ns)
{
	char *m;
	if (cx_str(x, v, field, &m) < 0) {
		return -1;
	}
	ns->line = v->line;
	if (strcmp(m, "host") == 0) {
		ns->mode = COMPOSE_NS_HOST;
	} else if (ipc && strcmp(m, "private") == 0) {
		ns->mode = COMPOSE_NS_PRIVATE;
	} else if (ipc && strcmp(m, "shareable") == 0) {
		ns->mode = COMPOSE_NS_SHAREABLE;
	} else if (ipc && strcmp(m, "none") == 0) {
		ns->mode = COMPOSE_NS_NONE;
	} else if (strncmp(m, "service:", 8) == 0 || strncmp(m, "container:", 10) == 0) {
		int svc = m[0] == 's';
		ns->mode = svc ? COMPOSE_NS_SERVICE : COMPOSE_NS_CONTAINER;
		ns->target = m + (svc ? 8 : 10);
		if (!compose_valid_name(ns->target)) {
			return cx_fail(x, v, field, "'%.100s' does not name a %s", m, svc ? "service" : "container");
		}
	} else if (!ipc && m[0] == '\0') {
		ns->mode = COMPOSE_NS_PRIVATE;
	} else {
		return cx_fail(x, v, field, "expected %s, service:NAME or container:NAME, got '%.60s'",
			       ipc ? "private, shareable, host, none" : "host", m);
	}
	return 0;
}

int svc_ipc(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	return nsshare(x, v, field, 1, &((struct compose_service *)obj)->ipc);
}

int svc_pid_ns(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	if (yt_is_null(v)) {
		return 0;
	}
	return nsshare(x, v, field, 0, &((struct compose_service *)obj)->pid);
}

/* uts: host only (the default is the container's own). */
int svc_uts(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	char *m;
	if (cx_str(x, v, field, &m) < 0) {
		return -1;
	}
	if (strcmp(m, "host") != 0) {
		return cx_fail(x, v, field, "expected host, got '%.60s'", m);
	}
	((struct compose_service *)obj)->uts_host = 1;
	return 0;
}

int svc_cgroup(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	char *m;
	if (cx_str(x, v, field, &m) < 0) {
		return -1;
	}
	if (strcmp(m, "host") != 0 && strcmp(m, "private") != 0) {
		return cx_fail(x, v, field, "expected host or private, got '%.60s'", m);
	}
	((struct compose_service *)obj)->cgroup_host = m[0] == 'h';
	return 0;
}

/* userns_mode: host (no user namespace, Berth's default too), or remap:
 * a user namespace whose ids 0-65535 are the host's 100000-165535. */
int svc_userns_mode(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	struct compose_service *s = obj;
	char *m;
	if (cx_str(x, v, field, &m) < 0) {
		return -1;
	}
	if (strcmp(m, "host") == 0) {
		s->userns = COMPOSE_USERNS_HOST;
	} else if (strcmp(m, "remap") == 0 || strcmp(m, "auto") == 0) {
		s->userns = COMPOSE_USERNS_REMAP;
	} else {
		return cx_fail(x, v, field,
			       "expected host or remap (ids 0-65535 of the container are %u-%u on the host), got "
			       "'%.60s'",
			       COMPOSE_USERNS_BASE, COMPOSE_USERNS_BASE + COMPOSE_USERNS_SIZE - 1, m);
	}
	return 0;
}

/* cgroup_parent: a group under berthd's own (/berth), never elsewhere in
 * the host's tree: "batch" and "/berth/batch" are both /berth/batch. */
int svc_cgroup_parent(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	struct compose_service *s = obj;
	char *t;
	if (cx_str(x, v, field, &t) < 0) {
		return -1;
	}
	char *clean = cx_path(x, "/", t);
	if (clean == NULL) {
		return x->nomem ? -1 : cx_fail(x, v, field, "the path is too long");
	}
	const char *rel = clean + 1;
	if (strncmp(clean, "/berth/", 7) == 0) {
		rel = clean + 7;
	} else if (t[0] == '/' || strcmp(clean, "/berth") == 0) {
		return cx_fail(
			x, v, field,
			"'%.100s' is outside berthd's cgroup /berth: give a group under it (batch, or /berth/batch)",
			t);
	}
	if (rel[0] == '\0' || strlen(rel) > 200 ||
	    strspn(rel, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-/") != strlen(rel)) {
		return cx_fail(x, v, field, "'%.100s' is not a cgroup name ([a-zA-Z0-9_.-/])", t);
	}
	s->cgroup_parent = (char *)rel;
	return 0;
}

/* ---- devices -------------------------------------------------------------------------------- */

static int perms(const char *p, char out[4])
{
	size_t n = strlen(p);
	if (n == 0 || n > 3 || strspn(p, "rwm") != n) {
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (strchr(p + i + 1, p[i]) != NULL) {
			return -1;
		}
	}
	memcpy(out, p, n + 1);
	return 0;
}

static int device_path(struct ctx *x, const struct yt_node *v, const char *field, const char *what, const char *p,
		       char **out)
{
	if (p[0] != '/') {
		return cx_fail(x, v, field, "the %s '%.100s' must be an absolute path", what, p);
	}
	*out = cx_path(x, "/", p);
	if (*out == NULL) {
		return x->nomem ? -1 : cx_fail(x, v, field, "the %s is too long", what);
	}
	return 0;
}

/* HOST[:CONTAINER[:PERMISSIONS]], or {source, target, permissions}. */
static int device_entry(struct ctx *x, const struct yt_node *item, const char *field, struct compose_device *d)
{
	char *src = NULL;
	char *dst = NULL;
	char *p = "rwm";
	d->line = item->line;
	if (item->kind == YT_MAP) {
		const struct yt_node *m;
		if (cx_map(x, item, field, &m) < 0) {
			return -1;
		}
		for (size_t i = 0; i < m->count; i++) {
			const char *k = m->keys[i]->value;
			char **to = strcmp(k, "source") == 0	    ? &src
				    : strcmp(k, "target") == 0	    ? &dst
				    : strcmp(k, "permissions") == 0 ? &p
								    : NULL;
			if (cx_is_extension(m->keys[i])) {
				continue;
			}
			if (to == NULL) {
				return cx_fail(x, m->keys[i], field,
					       "unknown key '%.60s' (source, target, permissions)", k);
			}
			if (cx_str(x, m->items[i], field, to) < 0) {
				return -1;
			}
		}
		if (src == NULL) {
			return cx_fail(x, item, field, "a device needs a source");
		}
	} else {
		char *t;
		if (cx_str(x, item, field, &t) < 0) {
			return -1;
		}
		src = t;
		char *c = strchr(t, ':');
		if (c != NULL) {
			*c++ = '\0';
			dst = c;
			c = strchr(c, ':');
			if (c != NULL) {
				*c++ = '\0';
				p = c;
			}
			/* HOST:PERMISSIONS is Docker's too. */
			if (c == NULL && dst[0] != '/' && perms(dst, d->perms) == 0) {
				p = dst;
				dst = NULL;
			}
		}
	}
	if (device_path(x, item, field, "device", src, &d->source) < 0 ||
	    (dst != NULL && device_path(x, item, field, "container path", dst, &d->target) < 0)) {
		return -1;
	}
	if (strncmp(d->source, "/dev/", 5) != 0) {
		return cx_fail(x, item, field, "'%.100s' is not a device under /dev", d->source);
	}
	if (perms(p, d->perms) < 0) {
		return cx_fail(x, item, field, "'%.20s': permissions are some of r, w and m", p);
	}
	return 0;
}

int svc_devices(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	struct compose_service *s = obj;
	if (v == NULL || v->kind != YT_SEQ) {
		return cx_fail(x, v, field, "expected a list, got %s", yt_kind_name(v));
	}
	s->devices = cx_alloc(x, v->count, sizeof(*s->devices));
	if (s->devices == NULL) {
		return -1;
	}
	for (size_t i = 0; i < v->count; i++) {
		if (device_entry(x, v->items[i], field, &s->devices[s->ndevices]) == 0) {
			s->ndevices++;
		}
	}
	return x->failed ? -1 : 0;
}

static int dev_number(const char *s, size_t len, int64_t *out)
{
	uint64_t n;
	if (len == 1 && s[0] == '*') {
		*out = -1;
		return 0;
	}
	if (compose_parse_uint(s, len, 0xfffff, &n) < 0) {
		return -1;
	}
	*out = (int64_t)n;
	return 0;
}

int compose_parse_devrule(const char *s, struct compose_devrule *r)
{
	const char *sp = strchr(s, ' ');
	if ((s[0] != 'a' && s[0] != 'b' && s[0] != 'c') || s[1] != ' ' || sp != s + 1) {
		return -EINVAL;
	}
	r->type = s[0];
	const char *nums = s + 2;
	const char *colon = strchr(nums, ':');
	const char *space = strchr(nums, ' ');
	if (colon == NULL || space == NULL || colon > space) {
		return -EINVAL;
	}
	if (dev_number(nums, (size_t)(colon - nums), &r->major) < 0 ||
	    dev_number(colon + 1, (size_t)(space - colon - 1), &r->minor) < 0) {
		return -EINVAL;
	}
	return perms(space + 1, r->access);
}

int svc_device_cgroup_rules(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	struct compose_service *s = obj;
	char **items;
	size_t n;
	if (cx_strlist(x, v, field, 0, &items, &n) < 0) {
		return -1;
	}
	s->devrules = cx_alloc(x, n, sizeof(*s->devrules));
	if (s->devrules == NULL) {
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (compose_parse_devrule(items[i], &s->devrules[s->ndevrules]) < 0) {
			cx_fail(x, v->items[i], field,
				"'%.100s': expected TYPE MAJOR:MINOR ACCESS, like \"c 188:* rwm\" (type a, b or c; * "
				"for "
				"any number; access some of rwm)",
				items[i]);
			continue;
		}
		s->ndevrules++;
	}
	return x->failed ? -1 : 0;
}

/* ---- security_opt --------------------------------------------------------------------------- */

/* KEY=VALUE or KEY:VALUE (Docker takes both). */
static const char *opt_value(const char *o, const char *key)
{
	size_t n = strlen(key);
	if (strncmp(o, key, n) != 0) {
		return NULL;
	}
	if (o[n] == '\0') {
		return "";
	}
	return o[n] == '=' || o[n] == ':' ? o + n + 1 : NULL;
}

static int security_seccomp(struct ctx *x, struct compose_service *s, const struct yt_node *at, const char *field,
			    const char *v)
{
	if (strcmp(v, "unconfined") == 0) {
		s->seccomp_unconfined = 1;
		return 0;
	}
	if (v[0] == '\0') {
		return cx_fail(x, at, field, "seccomp: give unconfined or a profile file");
	}
	char *path = cx_path(x, x->dir, v);
	if (path == NULL) {
		return x->nomem ? -1 : cx_fail(x, at, field, "seccomp: the path is too long");
	}
	/* The profile is read when the container is made: it must be on the
	 * config partition, which nothing changes under a running host. */
	if (strncmp(path, COMPOSE_CONFIG_DIR "/", strlen(COMPOSE_CONFIG_DIR) + 1) != 0) {
		return cx_fail(x, at, field, "seccomp profile %s: put it on the config partition (under %s)", path,
			       COMPOSE_CONFIG_DIR);
	}
	char buf[CX_PATH_LEN];
	struct stat st;
	if (stat(cx_readable(x, path, buf, sizeof(buf)), &st) < 0) {
		return cx_fail(x, at, field, "seccomp profile %s: %s", path, strerror(errno));
	}
	s->seccomp_profile = path;
	return 0;
}

int svc_security_opt(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	struct compose_service *s = obj;
	char **items;
	size_t n;
	if (cx_strlist(x, v, field, 0, &items, &n) < 0) {
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		const char *o = items[i];
		const struct yt_node *at = v->items[i];
		const char *val;
		if ((val = opt_value(o, "no-new-privileges")) != NULL) {
			int on = val[0] == '\0' || strcmp(val, "true") == 0;
			if (!on && strcmp(val, "false") != 0) {
				cx_fail(x, at, field, "no-new-privileges: expected true or false, got '%.40s'", val);
			}
			s->no_new_privileges = on;
		} else if ((val = opt_value(o, "seccomp")) != NULL) {
			security_seccomp(x, s, at, field, val);
		} else if ((val = opt_value(o, "systempaths")) != NULL) {
			if (strcmp(val, "unconfined") != 0) {
				cx_fail(x, at, field, "systempaths: only unconfined is known, got '%.40s'", val);
			}
			s->systempaths_unconfined = 1;
		} else if (opt_value(o, "label") != NULL) {
			cx_fail(x, at, field,
				"'%.60s': the kernel has no SELinux, so there are no labels to set or disable: remove "
				"it",
				o);
		} else if (opt_value(o, "apparmor") != NULL) {
			cx_fail(x, at, field,
				"'%.60s': the kernel has no AppArmor, so there is no profile to set or disable: remove "
				"it",
				o);
		} else {
			cx_fail(x, at, field,
				"unknown option '%.60s' (no-new-privileges, seccomp=unconfined, seccomp=PROFILE.json "
				"and "
				"systempaths=unconfined are known)",
				o);
		}
	}
	return x->failed ? -1 : 0;
}

/* ---- between keys and services ---------------------------------------------------------------- */

void svc_check_isolation(struct ctx *x, struct compose_service *s, const struct yt_node *def)
{
	if (s->uts_host && s->hostname != NULL) {
		cx_fail(x, def, "hostname", "cannot be set with uts: host (the container has the host's name)");
	}
	if (s->uts_host && s->domainname != NULL) {
		cx_fail(x, def, "domainname", "cannot be set with uts: host");
	}
	/* Joining another container's namespace needs the namespace when the
	 * container starts, which berthd does not keep yet (as it keeps
	 * network namespaces). */
	const struct compose_nsshare *shares[] = {&s->ipc, &s->pid};
	for (size_t i = 0; i < 2; i++) {
		if (shares[i]->mode == COMPOSE_NS_SERVICE || shares[i]->mode == COMPOSE_NS_CONTAINER) {
			cx_fail_at(
				x, shares[i]->line, i == 0 ? "ipc" : "pid",
				"%s:%s is not supported by Berth yet (host, and for ipc private, shareable and none, "
				"are)",
				shares[i]->mode == COMPOSE_NS_SERVICE ? "service" : "container", shares[i]->target);
		}
	}
	if (s->userns == COMPOSE_USERNS_REMAP) {
		cx_fail(x, def, "userns_mode",
			"remap is not supported by Berth yet: its image layers would need their owners shifted (host "
			"is supported)");
	}
	if (s->seccomp_profile != NULL) {
		cx_fail(x, def, "security_opt",
			"seccomp=%s: Docker seccomp profile files are not supported by Berth yet (unconfined is)",
			s->seccomp_profile);
	}
	if (s->userns == COMPOSE_USERNS_REMAP && (s->privileged || s->network_mode == COMPOSE_NET_HOST ||
						  s->pid.mode == COMPOSE_NS_HOST || s->ipc.mode == COMPOSE_NS_HOST)) {
		cx_fail(x, def, "userns_mode",
			"remap cannot be combined with privileged or with the host's network, pid or ipc (Docker "
			"refuses these too)");
	}
	for (size_t i = 0; i < s->nsysctls; i++) {
		const char *k = s->sysctls[i].key;
		int ipc_key = strncmp(k, "kernel.", 7) == 0 || strncmp(k, "fs.mqueue.", 10) == 0;
		if (ipc_key && s->ipc.mode == COMPOSE_NS_HOST) {
			cx_fail(x, def, "sysctls", "'%.100s' cannot be set with ipc: host", k);
		}
	}
}

/* A namespace shared from another service: that service must have one of
 * its own to share, and an ipc namespace it keeps private is its own. */
void svc_cross_check_isolation(struct ctx *x, struct compose_service *s)
{
	/* A container's own group is /berth/NAME: a parent must not be one
	 * (known once every service is read). */
	char name[COMPOSE_NAME_MAX];
	for (size_t i = 0; s->cgroup_parent != NULL && strchr(s->cgroup_parent, '/') == NULL && i < x->p->nservices;
	     i++) {
		const struct compose_service *o = &x->p->services[i];
		for (unsigned k = 0; k < (o->replicas > 1 ? o->replicas : 1); k++) {
			if (compose_container_name(x->p, o, k, name, sizeof(name)) == 0 &&
			    strcmp(name, s->cgroup_parent) == 0) {
				cx_fail_at(x, s->line, "cgroup_parent",
					   "'%.100s' is the group of a container: give another name", s->cgroup_parent);
			}
		}
	}
	const struct compose_nsshare *shares[] = {&s->ipc, &s->pid};
	static const char *const keys[] = {"ipc", "pid"};
	for (size_t i = 0; i < 2; i++) {
		const struct compose_nsshare *ns = shares[i];
		if (ns->mode != COMPOSE_NS_SERVICE) {
			continue;
		}
		const struct compose_service *t = compose_service_find(x->p, ns->target);
		const struct compose_nsshare *theirs = t == NULL ? NULL : i == 0 ? &t->ipc : &t->pid;
		if (theirs == NULL) {
			continue;
		}
		if (theirs->mode == COMPOSE_NS_PRIVATE && i == 0 && t->ipc.line != 0) {
			cx_fail_at(x, ns->line, keys[i],
				   "service %s keeps its ipc namespace private: make it shareable", t->name);
		} else if (theirs->mode != COMPOSE_NS_PRIVATE && theirs->mode != COMPOSE_NS_SHAREABLE) {
			cx_fail_at(x, ns->line, keys[i], "service %s has no %s namespace of its own to share", t->name,
				   keys[i]);
		}
	}
}
