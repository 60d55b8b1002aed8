/* A service's deploy: and scale: (see parse.h). What one host can do with
 * them it does: resource limits and reservations, the restart policy, the
 * number of replicas. What only a Swarm cluster can (placement, rolling
 * updates, global services, virtual IPs) draws a warning, never an error:
 * the same file is deployed to Swarm, where it means something. */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "compose/formats.h"
#include "compose/parse.h"

#define MAX_REPLICAS 1000 /* containers of one service on one host */

/* What deploy: says, kept apart from the service's own keys until both are
 * read: the two must agree. */
struct deploy {
	int has_replicas;
	long long replicas;
	int64_t mem_limit;
	double cpus;
	int has_pids;
	long long pids;
	int64_t mem_reservation;
	double cpus_reservation;
	int has_restart;
	enum compose_restart restart;
	int max_attempts;
	int64_t delay_ns;
	int64_t window_ns;
	const struct yt_node *where;
};

static int swarm_only(struct ctx *x, const struct yt_node *v, const char *field, const char *what)
{
	(void)v;
	cx_warn(x, v, field, "ignored: %s is Swarm's; Berth runs the service on this host only", what);
	return 0;
}

static int deploy_mode(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	(void)obj;
	char *m;
	if (cx_str(x, v, field, &m) < 0) {
		return -1;
	}
	if (strcmp(m, "replicated") == 0) {
		return 0;
	}
	if (strcmp(m, "global") == 0 || strcmp(m, "replicated-job") == 0 || strcmp(m, "global-job") == 0) {
		/* One host of a cluster: a global service runs one container here. */
		return swarm_only(x, v, field, "a global or job mode");
	}
	return cx_fail(x, v, field, "expected replicated or global, got '%.40s'", m);
}

static int deploy_endpoint_mode(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	(void)obj;
	char *m;
	if (cx_str(x, v, field, &m) < 0) {
		return -1;
	}
	if (strcmp(m, "vip") != 0 && strcmp(m, "dnsrr") != 0) {
		return cx_fail(x, v, field, "expected vip or dnsrr, got '%.40s'", m);
	}
	/* Berth's DNS answers a service name with every replica's address
	 * (dnsrr); a virtual IP is Swarm's. */
	return strcmp(m, "vip") == 0 ? swarm_only(x, v, field, "a virtual IP (vip)") : 0;
}

static int deploy_replicas(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	struct deploy *d = obj;
	if (cx_int(x, v, field, 0, MAX_REPLICAS, &d->replicas) < 0) {
		return -1;
	}
	d->has_replicas = 1;
	return 0;
}

static int deploy_labels(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	(void)obj;
	struct compose_kv *kv;
	size_t n;
	/* Labels of the Swarm service, not of its containers (Docker Compose
	 * leaves them off the containers too): checked, not used. */
	return cx_kvlist(x, v, field, &kv, &n);
}

static int deploy_swarm(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	(void)obj;
	const struct yt_node *m;
	if (cx_map(x, v, field, &m) < 0) {
		return -1;
	}
	return swarm_only(x, v, field, strrchr(field, '.') + 1);
}

static int cpus_value(struct ctx *x, const struct yt_node *v, const char *field, double *out)
{
	struct compose_service tmp = {0};
	if (svc_cpus(x, &tmp, v, field) < 0) {
		return -1;
	}
	*out = tmp.cpus;
	return 0;
}

static int limit_cpus(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	return cpus_value(x, v, field, &((struct deploy *)obj)->cpus);
}

static int limit_memory(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	struct compose_service tmp = {0};
	if (svc_mem_limit(x, &tmp, v, field) < 0) {
		return -1;
	}
	((struct deploy *)obj)->mem_limit = tmp.mem_limit;
	return 0;
}

static int limit_pids(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	struct deploy *d = obj;
	if (cx_int(x, v, field, -1, INT32_MAX, &d->pids) < 0) {
		return -1;
	}
	d->has_pids = 1;
	return 0;
}

static int reserve_cpus(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	return cpus_value(x, v, field, &((struct deploy *)obj)->cpus_reservation);
}

static int reserve_memory(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	return cx_bytes(x, v, field, &((struct deploy *)obj)->mem_reservation);
}

static const struct cx_rule limits_rules[] = {
	{"cpus", CX_FN, .fn = limit_cpus},
	{"memory", CX_FN, .fn = limit_memory},
	{"pids", CX_FN, .fn = limit_pids},
};

static const struct cx_rule reservations_rules[] = {
	{"cpus", CX_FN, .fn = reserve_cpus},
	{"memory", CX_FN, .fn = reserve_memory},
	{"generic_resources", CX_REFUSED, .why = "Swarm's node resources; a single host has none to reserve"},
	{"devices", CX_REFUSED,
	 .why = "device reservations need a device driver (GPUs); give the device nodes with devices:"},
};

static const struct cx_rules limits_keys = {CX_RULES(limits_rules)};
static const struct cx_rules reservations_keys = {CX_RULES(reservations_rules)};

static int resources_part(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	const struct yt_node *m;
	if (cx_map(x, v, field, &m) < 0) {
		return -1;
	}
	int limits = strcmp(strrchr(field, '.') + 1, "limits") == 0;
	return cx_fields(x, m, field, limits ? &limits_keys : &reservations_keys, obj);
}

static const struct cx_rule resources_rules[] = {
	{"limits", CX_FN, .fn = resources_part},
	{"reservations", CX_FN, .fn = resources_part},
};

static const struct cx_rules resources_keys = {CX_RULES(resources_rules)};

static int deploy_resources(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	const struct yt_node *m;
	if (cx_map(x, v, field, &m) < 0) {
		return -1;
	}
	return cx_fields(x, m, field, &resources_keys, obj);
}

static int restart_condition(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	struct deploy *d = obj;
	char *c;
	if (cx_str(x, v, field, &c) < 0) {
		return -1;
	}
	/* Docker Compose's spellings of the conditions, Swarm's first. */
	if (strcmp(c, "none") == 0 || strcmp(c, "no") == 0) {
		d->restart = COMPOSE_RESTART_NO;
	} else if (strcmp(c, "on-failure") == 0 || strcmp(c, "on_failure") == 0) {
		d->restart = COMPOSE_RESTART_ON_FAILURE;
	} else if (strcmp(c, "any") == 0 || strcmp(c, "always") == 0) {
		d->restart = COMPOSE_RESTART_ALWAYS;
	} else if (strcmp(c, "unless-stopped") == 0) {
		d->restart = COMPOSE_RESTART_UNLESS_STOPPED;
	} else {
		return cx_fail(x, v, field, "expected none, on-failure or any, got '%.40s'", c);
	}
	return 0;
}

static const struct cx_rule restart_rules[] = {
	{"condition", CX_FN, .fn = restart_condition},
	{"delay", CX_DURATION, .offset = offsetof(struct deploy, delay_ns)},
	{"max_attempts", CX_INT, .offset = offsetof(struct deploy, max_attempts), .min = 0, .max = INT_MAX},
	{"window", CX_DURATION, .offset = offsetof(struct deploy, window_ns)},
};

static const struct cx_rules restart_keys = {CX_RULES(restart_rules)};

static int deploy_restart_policy(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	struct deploy *d = obj;
	const struct yt_node *m;
	if (cx_map(x, v, field, &m) < 0) {
		return -1;
	}
	/* Swarm's default condition is any. */
	d->has_restart = 1;
	d->restart = COMPOSE_RESTART_ALWAYS;
	return cx_fields(x, m, field, &restart_keys, obj);
}

static const struct cx_rule deploy_rules[] = {
	{"mode", CX_FN, .fn = deploy_mode},
	{"endpoint_mode", CX_FN, .fn = deploy_endpoint_mode},
	{"replicas", CX_FN, .fn = deploy_replicas},
	{"labels", CX_FN, .fn = deploy_labels},
	{"resources", CX_FN, .fn = deploy_resources},
	{"restart_policy", CX_FN, .fn = deploy_restart_policy},
	{"placement", CX_FN, .fn = deploy_swarm},
	{"update_config", CX_FN, .fn = deploy_swarm},
	{"rollback_config", CX_FN, .fn = deploy_swarm},
};

static const struct cx_rules deploy_keys = {CX_RULES(deploy_rules)};

/* Reads deploy: into the scratch; svc_apply_deploy puts it into the
 * service once the service's own keys are read. */
int svc_deploy(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	(void)obj;
	struct deploy *d = cx_alloc(x, 1, sizeof(*d));
	if (d == NULL) {
		return -1;
	}
	d->where = v;
	x->sc->deploy = d;
	if (yt_is_null(v)) {
		return 0;
	}
	const struct yt_node *m;
	if (cx_map(x, v, field, &m) < 0) {
		return -1;
	}
	return cx_fields(x, m, field, &deploy_keys, d);
}

int svc_scale(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	long long n;
	if (cx_int(x, v, field, 0, MAX_REPLICAS, &n) < 0) {
		return -1;
	}
	((struct compose_service *)obj)->replicas = (unsigned)n;
	x->sc->scale = v;
	return 0;
}

/* A value both the service's key and deploy: give: they must agree, as
 * Docker Compose requires. */
static int agree(struct ctx *x, const char *key, const char *deploy_key, int given, int same)
{
	if (given && !same) {
		return cx_fail(x, x->sc->deploy->where, key, "and deploy.%s are set with different values", deploy_key);
	}
	return 0;
}

void svc_apply_deploy(struct ctx *x, struct compose_service *s)
{
	const struct deploy *d = x->sc->deploy;
	if (x->sc->scale == NULL) {
		s->replicas = 1;
	}
	if (d == NULL) {
		return;
	}
	if (d->has_replicas) {
		agree(x, "scale", "replicas", x->sc->scale != NULL, s->replicas == (unsigned)d->replicas);
		s->replicas = (unsigned)d->replicas;
	}
	if (d->mem_limit > 0) {
		agree(x, "mem_limit", "resources.limits.memory", s->mem_limit > 0, s->mem_limit == d->mem_limit);
		s->mem_limit = d->mem_limit;
	}
	if (d->cpus > 0) {
		agree(x, "cpus", "resources.limits.cpus", s->cpus > 0, s->cpus == d->cpus);
		s->cpus = d->cpus;
	}
	if (d->has_pids) {
		agree(x, "pids_limit", "resources.limits.pids", s->has_pids_limit, s->pids_limit == d->pids);
		s->has_pids_limit = 1;
		s->pids_limit = d->pids;
	}
	if (d->mem_reservation > 0) {
		agree(x, "mem_reservation", "resources.reservations.memory", s->mem_reservation > 0,
		      s->mem_reservation == d->mem_reservation);
		s->mem_reservation = d->mem_reservation;
	}
	s->cpus_reservation = d->cpus_reservation;
	if (d->has_restart) {
		if (x->sc->restart != NULL) {
			cx_warn(x, x->sc->restart, "restart",
				"deploy.restart_policy is given too: the container restarts by restart_policy");
		}
		s->restart_policy_given = 1;
		s->restart = d->restart;
		s->max_retries = d->max_attempts;
		s->restart_delay_ns = d->delay_ns;
		s->restart_window_ns = d->window_ns;
	}
}
