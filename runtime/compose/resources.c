/* What a service may use (see parse.h): capabilities, memory, CPU and
 * process limits, sysctls and ulimits, read into the service with the
 * bounds Docker applies. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "compose/formats.h"
#include "compose/parse.h"

#define MIN_MEMORY (6 << 20) /* Docker's lower bound for mem_limit */

static int caps(struct ctx *x, const struct yt_node *v, const char *field, uint64_t *mask, int *all)
{
	char **names;
	size_t n;
	if (cx_strlist(x, v, field, 0, &names, &n) < 0) {
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		int cap;
		if (compose_parse_cap(names[i], &cap) < 0) {
			cx_fail(x, v->items[i], field, "unknown capability '%.60s'", names[i]);
		} else if (cap < 0) {
			*all = 1;
		} else {
			*mask |= UINT64_C(1) << cap;
		}
	}
	return x->failed ? -1 : 0;
}

int svc_cap_add(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	struct compose_service *s = obj;
	return caps(x, v, field, &s->cap_add, &s->cap_add_all);
}

int svc_cap_drop(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	struct compose_service *s = obj;
	return caps(x, v, field, &s->cap_drop, &s->cap_drop_all);
}

int svc_mem_limit(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	struct compose_service *s = obj;
	if (cx_bytes(x, v, field, &s->mem_limit) < 0) {
		return -1;
	}
	if (s->mem_limit != 0 && s->mem_limit < MIN_MEMORY) {
		return cx_fail(x, v, field, "at least 6m (Docker's minimum)");
	}
	return 0;
}

/* A size, or -1 for unlimited swap. */
int svc_memswap_limit(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	struct compose_service *s = obj;
	x->sc->memswap = v;
	char *t;
	if (v != NULL && v->kind == YT_SCALAR && !yt_is_null(v)) {
		if (cx_str(x, v, field, &t) < 0) {
			return -1;
		}
		if (strcmp(t, "-1") == 0) {
			s->memswap_limit = -1;
			return 0;
		}
	}
	return cx_bytes(x, v, field, &s->memswap_limit);
}

int svc_cpus(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	struct compose_service *s = obj;
	char *t;
	if (cx_str(x, v, field, &t) < 0) {
		return -1;
	}
	char *end;
	errno = 0;
	double c = strtod(t, &end);
	if (errno != 0 || end == t || *end != '\0' || !isfinite(c) || c < 0) {
		return cx_fail(x, v, field, "expected a number of CPUs like 0.5 or 2, got '%.50s'", t);
	}
	if (c != 0 && (c < 0.01 || c > 1024)) {
		return cx_fail(x, v, field, "%.3f is out of range (0.01 to 1024; 0 for no limit)", c);
	}
	s->cpus = c;
	return 0;
}

int svc_pids_limit(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	struct compose_service *s = obj;
	long long n;
	if (cx_int(x, v, field, -1, INT32_MAX, &n) < 0) {
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

int svc_sysctls(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	struct compose_service *s = obj;
	if (cx_kvlist(x, v, field, &s->sysctls, &s->nsysctls) < 0) {
		return -1;
	}
	for (size_t i = 0; i < s->nsysctls; i++) {
		const char *k = s->sysctls[i].key;
		if (strspn(k, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != strlen(k) ||
		    k[0] == '.' || strstr(k, "..") != NULL) {
			cx_fail(x, v, field, "'%.100s' is not a sysctl name", k);
		} else if (!sysctl_namespaced(k)) {
			cx_fail(x, v, field,
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

static int ulimit_resource(const char *name)
{
	for (size_t k = 0; k < sizeof(ulimit_names) / sizeof(ulimit_names[0]); k++) {
		if (strcmp(ulimit_names[k].name, name) == 0) {
			return ulimit_names[k].resource;
		}
	}
	return -1;
}

static int ulimit_value(struct ctx *x, const struct yt_node *n, const char *field, uint64_t *out)
{
	long long v;
	if (cx_int(x, n, field, -1, INT64_MAX, &v) < 0) {
		return -1;
	}
	*out = v < 0 ? UINT64_MAX : (uint64_t)v;
	return 0;
}

/* NAME: N (soft and hard), or NAME: {soft: N, hard: N}; -1 is unlimited. */
static int ulimit_entry(struct ctx *x, const struct yt_node *item, const char *field, struct compose_ulimit *u)
{
	if (item->kind != YT_MAP) {
		if (ulimit_value(x, item, field, &u->soft) < 0) {
			return -1;
		}
		u->hard = u->soft;
		return 0;
	}
	const struct yt_node *um;
	if (cx_map(x, item, field, &um) < 0) {
		return -1;
	}
	const struct yt_node *soft = yt_get(um, "soft");
	const struct yt_node *hard = yt_get(um, "hard");
	if (soft == NULL || hard == NULL || um->count != 2) {
		return cx_fail(x, item, field, "expected a number or {soft: N, hard: N}");
	}
	if (ulimit_value(x, soft, field, &u->soft) < 0 || ulimit_value(x, hard, field, &u->hard) < 0) {
		return -1;
	}
	if (u->soft > u->hard) {
		return cx_fail(x, item, field, "the soft limit is above the hard limit");
	}
	return 0;
}

int svc_ulimits(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	struct compose_service *s = obj;
	const struct yt_node *m;
	if (cx_map(x, v, field, &m) < 0) {
		return -1;
	}
	s->ulimits = cx_alloc(x, m->count, sizeof(*s->ulimits));
	if (s->ulimits == NULL) {
		return -1;
	}
	for (size_t i = 0; i < m->count; i++) {
		const char *name = m->keys[i]->value;
		if (cx_is_extension(m->keys[i])) {
			continue;
		}
		int resource = ulimit_resource(name);
		if (resource < 0) {
			cx_fail(x, m->keys[i], field,
				"unknown limit '%.60s' (nofile, nproc, core, memlock, stack, ...)", name);
			continue;
		}
		char f[80];
		cx_fmt(f, sizeof(f), "%s.%.60s", field, name);
		struct compose_ulimit *u = &s->ulimits[s->nulimits];
		u->name = cx_strdup(x, name);
		u->resource = resource;
		if (ulimit_entry(x, m->items[i], f, u) == 0) {
			s->nulimits++;
		}
	}
	return x->failed ? -1 : 0;
}

void svc_check_resources(struct ctx *x, struct compose_service *s)
{
	if (s->memswap_limit != 0 && s->mem_limit == 0) {
		cx_fail(x, x->sc->memswap, "memswap_limit", "needs mem_limit as well");
	} else if (s->memswap_limit > 0 && s->memswap_limit < s->mem_limit) {
		cx_fail(x, x->sc->memswap, "memswap_limit", "must be at least mem_limit (it counts memory plus swap)");
	}
}
