/* What a service may use (see parse.h): capabilities, memory, CPU and
 * process limits, sysctls and ulimits, read into the service with the
 * bounds Docker applies. */
#include <errno.h>
#include <limits.h>
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
	/* x- keys beside soft and hard are the schema's extensions. */
	size_t extensions = 0;
	for (size_t i = 0; i < um->count; i++) {
		extensions += cx_is_extension(um->keys[i]) != 0;
	}
	if (soft == NULL || hard == NULL || um->count - extensions != 2) {
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

/* ---- cpu ------------------------------------------------------------------------------ */

/* A number of microseconds, or a duration ("100ms"). */
static int micros(struct ctx *x, const struct yt_node *v, const char *field, int64_t min, int64_t max, int64_t *out)
{
	char *t;
	if (cx_str(x, v, field, &t) < 0) {
		return -1;
	}
	char *end;
	errno = 0;
	long long n = strtoll(t, &end, 10);
	if (errno != 0 || end == t || *end != '\0') {
		int64_t ns;
		if (compose_parse_duration(t, &ns) < 0) {
			return cx_fail(x, v, field, "expected microseconds or a duration like 100ms, got '%.50s'", t);
		}
		n = ns / 1000;
	}
	if (n < min || n > max) {
		return cx_fail(x, v, field, "%lld us is out of range (%lld to %lld)", n, (long long)min,
			       (long long)max);
	}
	*out = n;
	return 0;
}

int svc_cpu_period(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	struct compose_service *s = obj;
	int64_t n;
	/* The kernel's bounds for cpu.max's period. */
	if (micros(x, v, field, 1000, 1000000, &n) < 0) {
		return -1;
	}
	s->cpu_period = (uint64_t)n;
	return 0;
}

int svc_cpu_quota(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	struct compose_service *s = obj;
	int64_t n;
	if (micros(x, v, field, -1, INT64_MAX / 1000, &n) < 0) {
		return -1;
	}
	if (n > 0 && n < 1000) {
		return cx_fail(x, v, field, "at least 1000 us (1ms), or -1 for no limit");
	}
	s->cpu_quota = n == 0 ? -1 : n;
	return 0;
}

/* Real-time CPU time: Docker discards it, with a warning, where the kernel
 * has no real-time group scheduling, as on every cgroup v2 host. */
int svc_cpu_rt(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	(void)obj;
	int64_t n;
	if (micros(x, v, field, 0, INT64_MAX / 1000, &n) < 0) {
		return -1;
	}
	cx_warn(x, v, field,
		"ignored: cgroup v2 has no real-time CPU budget per container (Docker discards it too); the "
		"container's real-time tasks are limited by the host's kernel.sched_rt_runtime_us");
	return 0;
}

int svc_cpu_shares(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	struct compose_service *s = obj;
	long long n;
	/* cgroup v2's cpu.weight takes 1 to 10000: shares map onto it as runc maps them. */
	if (cx_int(x, v, field, 2, 262144, &n) < 0) {
		return -1;
	}
	s->cpu_shares = (uint64_t)n;
	return 0;
}

/* "0-3,5": CPU numbers and ranges. */
int svc_cpuset(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	struct compose_service *s = obj;
	if (cx_str(x, v, field, &s->cpuset) < 0) {
		return -1;
	}
	const char *c = s->cpuset;
	int ok = c[0] != '\0';
	while (ok && *c) {
		char *end;
		unsigned long a = strtoul(c, &end, 10);
		ok = end != c && a < 8192;
		c = end;
		if (ok && *c == '-') {
			unsigned long b = strtoul(c + 1, &end, 10);
			ok = end != c + 1 && b >= a && b < 8192;
			c = end;
		}
		if (ok && *c == ',') {
			c++;
			ok = *c != '\0';
		} else if (ok && *c != '\0') {
			ok = 0;
		}
	}
	if (!ok) {
		return cx_fail(x, v, field, "expected CPUs like 0-3 or 0,2, got '%.60s'", s->cpuset);
	}
	return 0;
}

int svc_cpu_count(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	struct compose_service *s = obj;
	long long n;
	if (cx_int(x, v, field, 0, 1024, &n) < 0) {
		return -1;
	}
	s->cpu_count = (int)n;
	return 0;
}

int svc_cpu_percent(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	struct compose_service *s = obj;
	long long n;
	if (cx_int(x, v, field, 0, 100, &n) < 0) {
		return -1;
	}
	s->cpu_percent = (int)n;
	return 0;
}

/* ---- memory and the OOM killer ----------------------------------------------------------- */

int svc_mem_reservation(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	struct compose_service *s = obj;
	if (cx_bytes(x, v, field, &s->mem_reservation) < 0) {
		return -1;
	}
	x->sc->mem_reservation = v;
	return 0;
}

/* Docker discards both, with a warning, on cgroup v2, which has neither a
 * swappiness nor an OOM killer to turn off per cgroup. */
int svc_mem_swappiness(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	(void)obj;
	long long n;
	if (cx_int(x, v, field, -1, 100, &n) < 0) {
		return -1;
	}
	if (n >= 0) {
		cx_warn(x, v, field, "ignored: cgroup v2 has no swappiness per container (Docker discards it too)");
	}
	return 0;
}

int svc_oom_kill_disable(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	(void)obj;
	int off;
	if (cx_bool(x, v, field, &off) < 0) {
		return -1;
	}
	if (off) {
		cx_warn(x, v, field,
			"ignored: cgroup v2 cannot keep the OOM killer away from a container (Docker discards it "
			"too); use oom_score_adj: -1000 to make its processes the last to go");
	}
	return 0;
}

int svc_oom_score_adj(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	struct compose_service *s = obj;
	long long n;
	if (cx_int(x, v, field, -1000, 1000, &n) < 0) {
		return -1;
	}
	s->has_oom_score_adj = 1;
	s->oom_score_adj = (int)n;
	return 0;
}

/* ---- blkio_config ------------------------------------------------------------------------ */

struct blkio_list {
	struct compose_blkio_dev **list;
	size_t *n;
	int weight; /* entries have weight:, else rate: */
};

static int blkio_devices(struct ctx *x, const struct yt_node *v, const char *field, struct blkio_list l)
{
	if (v == NULL || v->kind != YT_SEQ) {
		return cx_fail(x, v, field, "expected a list of {path, %s}, got %s", l.weight ? "weight" : "rate",
			       yt_kind_name(v));
	}
	*l.list = cx_alloc(x, v->count, sizeof(**l.list));
	if (*l.list == NULL) {
		return -1;
	}
	for (size_t i = 0; i < v->count; i++) {
		const struct yt_node *m;
		if (cx_map(x, v->items[i], field, &m) < 0) {
			continue;
		}
		const struct yt_node *path = yt_get(m, "path");
		const struct yt_node *val = yt_get(m, l.weight ? "weight" : "rate");
		struct compose_blkio_dev *d = &(*l.list)[*l.n];
		if (path == NULL || val == NULL || m->count != 2) {
			cx_fail(x, v->items[i], field, "expected {path: /dev/..., %s: N}",
				l.weight ? "weight" : "rate");
			continue;
		}
		if (cx_str(x, path, field, &d->path) < 0) {
			continue;
		}
		if (strncmp(d->path, "/dev/", 5) != 0) {
			cx_fail(x, path, field, "'%.100s' is not a device under /dev", d->path);
			continue;
		}
		if (l.weight) {
			long long w;
			if (cx_int(x, val, field, 10, 1000, &w) < 0) {
				continue;
			}
			d->value = (uint64_t)w;
		} else {
			int64_t rate;
			/* Rates are bytes (1mb) or operations per second. */
			if (cx_bytes(x, val, field, &rate) < 0) {
				continue;
			}
			if (rate <= 0) {
				cx_fail(x, val, field, "the rate must be above 0");
				continue;
			}
			d->value = (uint64_t)rate;
		}
		(*l.n)++;
	}
	return x->failed ? -1 : 0;
}

static int blkio_weight(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	struct compose_service *s = obj;
	long long n;
	if (cx_int(x, v, field, 10, 1000, &n) < 0) {
		return -1;
	}
	s->blkio.weight = (int)n;
	return 0;
}

#define BLKIO_LIST(name, member, is_weight)                                                                   \
	static int blkio_##name(struct ctx *x, void *obj, const struct yt_node *v, const char *field)         \
	{                                                                                                     \
		struct compose_blkio *b = &((struct compose_service *)obj)->blkio;                            \
		return blkio_devices(x, v, field, (struct blkio_list){&b->member, &b->n##member, is_weight}); \
	}

BLKIO_LIST(weight_device, weight_device, 1)
BLKIO_LIST(read_bps, read_bps, 0)
BLKIO_LIST(write_bps, write_bps, 0)
BLKIO_LIST(read_iops, read_iops, 0)
BLKIO_LIST(write_iops, write_iops, 0)

static const struct cx_rule blkio_rules[] = {
	{"weight", CX_FN, .fn = blkio_weight},
	{"weight_device", CX_FN, .fn = blkio_weight_device},
	{"device_read_bps", CX_FN, .fn = blkio_read_bps},
	{"device_write_bps", CX_FN, .fn = blkio_write_bps},
	{"device_read_iops", CX_FN, .fn = blkio_read_iops},
	{"device_write_iops", CX_FN, .fn = blkio_write_iops},
};

static const struct cx_rules blkio_keys = {CX_RULES(blkio_rules)};

int svc_blkio_config(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	const struct yt_node *m;
	if (cx_map(x, v, field, &m) < 0) {
		return -1;
	}
	return cx_fields(x, m, field, &blkio_keys, obj);
}

void svc_check_resources(struct ctx *x, struct compose_service *s)
{
	/* Docker's conflicts: one way to say how much CPU time. */
	if (s->cpus > 0 && (s->cpu_quota != 0 || s->cpu_period != 0)) {
		cx_fail_at(x, s->line, "cpus", "cannot be combined with cpu_quota or cpu_period (cpus sets both)");
	}
	if (s->cpus > 0 && (s->cpu_count > 0 || s->cpu_percent > 0)) {
		cx_fail_at(x, s->line, "cpus", "cannot be combined with cpu_count or cpu_percent");
	}
	if (s->cpu_count > 0 && s->cpu_percent > 0) {
		cx_fail_at(x, s->line, "cpu_count", "cannot be combined with cpu_percent");
	}
	if (s->mem_reservation > 0 && s->mem_limit > 0 && s->mem_reservation > s->mem_limit) {
		cx_fail(x, x->sc->mem_reservation, "mem_reservation", "must not be above mem_limit");
	}
	if (s->memswap_limit != 0 && s->mem_limit == 0) {
		cx_fail(x, x->sc->memswap, "memswap_limit", "needs mem_limit as well");
	} else if (s->memswap_limit > 0 && s->memswap_limit < s->mem_limit) {
		cx_fail(x, x->sc->memswap, "memswap_limit", "must be at least mem_limit (it counts memory plus swap)");
	}
}
