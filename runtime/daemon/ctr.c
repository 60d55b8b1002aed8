/* Container records (see ctr.h): DATA/containers/NAME/record.json holds the
 * definition and the state that must outlive berthd and reboots. */
#include "daemon/ctr.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/fsutil.h"
#include "lib/sha256.h"

#define RECORD_MAX (4u << 20)

int64_t now_wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t now_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int ctr_valid_name(const char *name, struct berr *err)
{
	size_t len = strlen(name);
	if (len == 0 || len >= CTR_NAME_MAX) {
		return berr_setx(err, EINVAL, "container name '%s': must be 1 to %d characters", name,
				 CTR_NAME_MAX - 1);
	}
	for (size_t i = 0; i < len; i++) {
		char ch = name[i];
		int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
			 (i > 0 && (ch == '_' || ch == '.' || ch == '-'));
		if (!ok) {
			return berr_setx(err, EINVAL,
					 "container name '%s': use letters, digits, '_', '.' and '-' (not first)",
					 name);
		}
	}
	return 0;
}

int ctr_dir(const char *name, char *out, size_t size)
{
	int n = snprintf(out, size, "%s/containers/%s", BERTH_DATA_DIR, name);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int ctr_run_dir(const char *name, char *out, size_t size)
{
	int n = snprintf(out, size, "/run/berth/c/%s", name);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

struct ctr *ctr_new(void)
{
	struct ctr *c = calloc(1, sizeof(*c));
	if (c == NULL) {
		return NULL;
	}
	c->monitor_pidfd = -1;
	c->pidfd = -1;
	c->status_fd = -1;
	c->health_out_fd = -1;
	return c;
}

static void strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i]);
	}
	free(v);
}

void ctr_def_clear(struct ctr_def *d)
{
	free(d->name);
	free(d->service);
	free(d->image);
	free(d->image_id);
	free(d->config_json);
	strv_free(d->lowerdirs, d->nlowerdirs);
	strv_free(d->health.test, d->health.ntest);
	for (size_t i = 0; i < d->ndeps; i++) {
		free(d->deps[i].name);
	}
	free(d->deps);
	strv_free(d->volumes, d->nvolumes);
	free(d->join);
	for (size_t i = 0; i < d->nnets; i++) {
		free(d->nets[i].network);
		strv_free(d->nets[i].aliases, d->nets[i].naliases);
		free(d->nets[i].ipv4);
	}
	free(d->nets);
	free(d->ports);
	strv_free(d->dns, d->ndns);
	strv_free(d->extra_hosts, d->nextra_hosts);
	memset(d, 0, sizeof(*d));
}

void ctr_free(struct ctr *c)
{
	if (c == NULL) {
		return;
	}
	ctr_def_clear(&c->def);
	if (c->replacement != NULL) {
		ctr_def_clear(c->replacement);
		free(c->replacement);
	}
	if (c->monitor_pidfd >= 0) {
		close(c->monitor_pidfd);
	}
	if (c->status_fd >= 0) {
		close(c->status_fd);
	}
	if (c->pidfd >= 0) {
		close(c->pidfd);
	}
	if (c->health_out_fd >= 0) {
		close(c->health_out_fd);
	}
	free(c);
}

static char *dup_or_null(const char *s, int *failed)
{
	if (s == NULL) {
		return NULL;
	}
	char *d = strdup(s);
	if (d == NULL) {
		*failed = 1;
	}
	return d;
}

static char **strv_dup(char *const *v, size_t n, int *failed)
{
	if (n == 0) {
		return NULL;
	}
	char **out = calloc(n, sizeof(*out));
	if (out == NULL) {
		*failed = 1;
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		out[i] = dup_or_null(v[i], failed);
	}
	return out;
}

int ctr_def_copy(struct ctr_def *dst, const struct ctr_def *src)
{
	int failed = 0;
	*dst = *src;
	dst->name = dup_or_null(src->name, &failed);
	dst->service = dup_or_null(src->service, &failed);
	dst->image = dup_or_null(src->image, &failed);
	dst->image_id = dup_or_null(src->image_id, &failed);
	dst->config_json = dup_or_null(src->config_json, &failed);
	dst->lowerdirs = strv_dup(src->lowerdirs, src->nlowerdirs, &failed);
	dst->health.test = strv_dup(src->health.test, src->health.ntest, &failed);
	dst->volumes = strv_dup(src->volumes, src->nvolumes, &failed);
	dst->deps = NULL;
	if (src->ndeps > 0) {
		dst->deps = calloc(src->ndeps, sizeof(*dst->deps));
		if (dst->deps == NULL) {
			failed = 1;
			dst->ndeps = 0;
		}
		for (size_t i = 0; dst->deps != NULL && i < src->ndeps; i++) {
			dst->deps[i].name = dup_or_null(src->deps[i].name, &failed);
			dst->deps[i].cond = src->deps[i].cond;
		}
	}
	dst->join = dup_or_null(src->join, &failed);
	dst->dns = strv_dup(src->dns, src->ndns, &failed);
	dst->extra_hosts = strv_dup(src->extra_hosts, src->nextra_hosts, &failed);
	dst->ports = NULL;
	if (src->nports > 0) {
		dst->ports = calloc(src->nports, sizeof(*dst->ports));
		if (dst->ports == NULL) {
			failed = 1;
			dst->nports = 0;
		} else {
			memcpy(dst->ports, src->ports, src->nports * sizeof(*dst->ports));
		}
	}
	dst->nets = NULL;
	if (src->nnets > 0) {
		dst->nets = calloc(src->nnets, sizeof(*dst->nets));
		if (dst->nets == NULL) {
			failed = 1;
			dst->nnets = 0;
		}
		for (size_t i = 0; dst->nets != NULL && i < src->nnets; i++) {
			dst->nets[i].network = dup_or_null(src->nets[i].network, &failed);
			dst->nets[i].aliases = strv_dup(src->nets[i].aliases, src->nets[i].naliases, &failed);
			dst->nets[i].naliases = src->nets[i].naliases;
			dst->nets[i].ipv4 = dup_or_null(src->nets[i].ipv4, &failed);
		}
	}
	if (failed) {
		ctr_def_clear(dst);
		return -ENOMEM;
	}
	return 0;
}

/* ---- JSON form -------------------------------------------------------- */

static json_object *jstr(const char *s)
{
	return s != NULL ? json_object_new_string(s) : NULL;
}

static json_object *jstrv(char *const *v, size_t n)
{
	json_object *a = json_object_new_array();
	for (size_t i = 0; i < n; i++) {
		json_object_array_add(a, json_object_new_string(v[i]));
	}
	return a;
}

static json_object *def_to_json(const struct ctr_def *d, int with_hash)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "name", jstr(d->name));
	json_object_object_add(o, "service", jstr(d->service));
	json_object_object_add(o, "image", jstr(d->image));
	json_object_object_add(o, "image_id", jstr(d->image_id));
	json_object_object_add(o, "config", jstr(d->config_json));
	if (with_hash) {
		json_object_object_add(o, "hash", jstr(d->hash));
	}
	json_object_object_add(o, "lowerdirs", jstrv(d->lowerdirs, d->nlowerdirs));
	json_object_object_add(o, "read_only", json_object_new_boolean(d->read_only));
	json_object_object_add(o, "restart", json_object_new_string(restart_policy_name(d->restart)));
	json_object_object_add(o, "max_retries", json_object_new_int(d->max_retries));
	json_object_object_add(o, "stop_signal", json_object_new_int(d->stop_signal));
	json_object_object_add(o, "stop_grace_ms", json_object_new_int64(d->stop_grace_ms));
	json_object_object_add(o, "tty", json_object_new_boolean(d->tty));
	json_object_object_add(o, "stdin_open", json_object_new_boolean(d->stdin_open));
	json_object_object_add(o, "auto_remove", json_object_new_boolean(d->auto_remove));
	if (d->health.ntest > 0) {
		json_object *h = json_object_new_object();
		json_object_object_add(h, "test", jstrv(d->health.test, d->health.ntest));
		json_object_object_add(h, "interval_ms", json_object_new_int64(d->health.interval_ms));
		json_object_object_add(h, "timeout_ms", json_object_new_int64(d->health.timeout_ms));
		json_object_object_add(h, "start_period_ms", json_object_new_int64(d->health.start_period_ms));
		json_object_object_add(h, "retries", json_object_new_int(d->health.retries));
		json_object_object_add(o, "healthcheck", h);
	}
	json_object *deps = json_object_new_array();
	for (size_t i = 0; i < d->ndeps; i++) {
		static const char *const conds[] = {"service_started", "service_healthy",
						    "service_completed_successfully"};
		json_object *dep = json_object_new_object();
		json_object_object_add(dep, "name", jstr(d->deps[i].name));
		json_object_object_add(dep, "condition", json_object_new_string(conds[d->deps[i].cond]));
		json_object_array_add(deps, dep);
	}
	json_object_object_add(o, "depends_on", deps);
	json_object_object_add(o, "volumes", jstrv(d->volumes, d->nvolumes));
	json_object_object_add(o, "log_max_size", json_object_new_int64((int64_t)d->log_max_size));
	json_object_object_add(o, "log_max_files", json_object_new_int((int)d->log_max_files));
	static const char *const modes[] = {"bridge", "host", "none", "join"};
	json_object_object_add(o, "network_mode", json_object_new_string(modes[d->netmode]));
	json_object_object_add(o, "join", jstr(d->join));
	json_object *nets = json_object_new_array();
	for (size_t i = 0; i < d->nnets; i++) {
		json_object *n = json_object_new_object();
		json_object_object_add(n, "network", jstr(d->nets[i].network));
		json_object_object_add(n, "aliases", jstrv(d->nets[i].aliases, d->nets[i].naliases));
		json_object_object_add(n, "ipv4", jstr(d->nets[i].ipv4));
		json_object_array_add(nets, n);
	}
	json_object_object_add(o, "networks", nets);
	json_object *ports = json_object_new_array();
	for (size_t i = 0; i < d->nports; i++) {
		json_object *pt = json_object_new_object();
		json_object_object_add(pt, "proto", json_object_new_int(d->ports[i].proto));
		json_object_object_add(pt, "host_ip", json_object_new_int64(d->ports[i].host_ip));
		json_object_object_add(pt, "host_port", json_object_new_int(d->ports[i].host_port));
		json_object_object_add(pt, "port", json_object_new_int(d->ports[i].port));
		json_object_array_add(ports, pt);
	}
	json_object_object_add(o, "ports", ports);
	json_object_object_add(o, "dns", jstrv(d->dns, d->ndns));
	json_object_object_add(o, "extra_hosts", jstrv(d->extra_hosts, d->nextra_hosts));
	return o;
}

void ctr_def_hash(struct ctr_def *d)
{
	json_object *o = def_to_json(d, 0);
	/* auto_remove and the name do not change what runs. */
	json_object_object_del(o, "auto_remove");
	const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	sha256_hex(text, strlen(text), d->hash);
	json_object_put(o);
}

static const char *const state_names[] = {
	[CS_CREATED] = "created", [CS_STARTING] = "starting",	  [CS_RUNNING] = "running", [CS_STOPPING] = "stopping",
	[CS_EXITED] = "exited",	  [CS_RESTARTING] = "restarting", [CS_FAILED] = "failed",
};

const char *ctr_state_name(enum ctr_state s)
{
	return state_names[s];
}

const char *health_status_name(enum health_status h)
{
	static const char *const names[] = {"none", "starting", "healthy", "unhealthy"};
	return names[h];
}

const char *restart_policy_name(enum restart_policy p)
{
	static const char *const names[] = {"no", "always", "on-failure", "unless-stopped"};
	return names[p];
}

int restart_policy_parse(const char *s, enum restart_policy *p, int *max_retries)
{
	*max_retries = 0;
	if (strcmp(s, "no") == 0 || strcmp(s, "") == 0) {
		*p = RESTART_NO;
	} else if (strcmp(s, "always") == 0) {
		*p = RESTART_ALWAYS;
	} else if (strcmp(s, "unless-stopped") == 0) {
		*p = RESTART_UNLESS_STOPPED;
	} else if (strncmp(s, "on-failure", 10) == 0 && (s[10] == '\0' || s[10] == ':')) {
		*p = RESTART_ON_FAILURE;
		if (s[10] == ':') {
			char *end = NULL;
			errno = 0;
			long n = strtol(s + 11, &end, 10);
			if (errno != 0 || end == s + 11 || *end != '\0' || n < 0 || n > 1000000) {
				return -EINVAL;
			}
			*max_retries = (int)n;
		}
	} else {
		return -EINVAL;
	}
	return 0;
}

int ctr_should_restart(const struct ctr *c)
{
	switch (c->def.restart) {
	case RESTART_ALWAYS:
		return 1;
	case RESTART_UNLESS_STOPPED:
		return !c->user_stopped;
	case RESTART_ON_FAILURE:
		return c->exit_code != 0 && (c->def.max_retries == 0 || c->restart_count < c->def.max_retries);
	case RESTART_NO:
		break;
	}
	return 0;
}

int64_t ctr_next_backoff(int64_t previous_ms, int64_t ran_ms)
{
	if (previous_ms <= 0 || ran_ms >= 10000) {
		return 100;
	}
	int64_t next = previous_ms * 2;
	return next > 60000 ? 60000 : next;
}

/* ---- the record on disk ------------------------------------------------ */

int ctr_save(const struct ctr *c, struct berr *err)
{
	char dir[PATH_MAX];
	char path[PATH_MAX];
	if (ctr_dir(c->def.name, dir, sizeof(dir)) < 0 || path_join(path, sizeof(path), dir, "record.json") < 0) {
		return berr_setx(err, ENAMETOOLONG, "container %s: path too long", c->def.name);
	}
	json_object *o = json_object_new_object();
	json_object_object_add(o, "definition", def_to_json(&c->def, 1));
	json_object_object_add(o, "has_definition", json_object_new_boolean(c->has_def));
	json_object_object_add(o, "state", json_object_new_string(ctr_state_name(c->state)));
	json_object_object_add(o, "created_ms", json_object_new_int64(c->created_ms));
	json_object_object_add(o, "started_ms", json_object_new_int64(c->started_ms));
	json_object_object_add(o, "finished_ms", json_object_new_int64(c->finished_ms));
	json_object_object_add(o, "exit_code", json_object_new_int(c->exit_code));
	json_object_object_add(o, "exit_signal", json_object_new_int(c->exit_signal));
	json_object_object_add(o, "restart_count", json_object_new_int(c->restart_count));
	json_object_object_add(o, "user_stopped", json_object_new_boolean(c->user_stopped));
	json_object_object_add(o, "error", json_object_new_string(c->error));
	const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
	int ret = write_file_atomic(path, text, strlen(text), 0600, ATOMIC_FSYNC_FILE, err);
	json_object_put(o);
	return ret;
}

static char *jget_str(json_object *o, const char *key, int *failed)
{
	json_object *v = NULL;
	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string)) {
		return NULL;
	}
	return dup_or_null(json_object_get_string(v), failed);
}

static int64_t jget_int(json_object *o, const char *key)
{
	json_object *v = NULL;
	if (!json_object_object_get_ex(o, key, &v)) {
		return 0;
	}
	return json_object_get_int64(v);
}

static char **jget_strv(json_object *o, const char *key, size_t *n, int *failed)
{
	json_object *a = NULL;
	*n = 0;
	if (!json_object_object_get_ex(o, key, &a) || !json_object_is_type(a, json_type_array)) {
		return NULL;
	}
	size_t len = json_object_array_length(a);
	if (len == 0) {
		return NULL;
	}
	char **v = calloc(len, sizeof(*v));
	if (v == NULL) {
		*failed = 1;
		return NULL;
	}
	for (size_t i = 0; i < len; i++) {
		const char *s = json_object_get_string(json_object_array_get_idx(a, i));
		v[i] = dup_or_null(s != NULL ? s : "", failed);
	}
	*n = len;
	return v;
}

static int def_from_json(json_object *o, struct ctr_def *d)
{
	int failed = 0;
	d->name = jget_str(o, "name", &failed);
	d->service = jget_str(o, "service", &failed);
	d->image = jget_str(o, "image", &failed);
	d->image_id = jget_str(o, "image_id", &failed);
	d->config_json = jget_str(o, "config", &failed);
	char *hash = jget_str(o, "hash", &failed);
	if (hash != NULL) {
		copy_string(d->hash, sizeof(d->hash), hash);
		free(hash);
	}
	d->lowerdirs = jget_strv(o, "lowerdirs", &d->nlowerdirs, &failed);
	d->read_only = (int)jget_int(o, "read_only");
	char *restart = jget_str(o, "restart", &failed);
	int ignored = 0;
	if (restart == NULL || restart_policy_parse(restart, &d->restart, &ignored) < 0) {
		d->restart = RESTART_NO;
	}
	free(restart);
	d->max_retries = (int)jget_int(o, "max_retries");
	d->stop_signal = (int)jget_int(o, "stop_signal");
	if (d->stop_signal <= 0 || d->stop_signal >= NSIG) {
		d->stop_signal = SIGTERM;
	}
	d->stop_grace_ms = jget_int(o, "stop_grace_ms");
	d->tty = (int)jget_int(o, "tty");
	d->stdin_open = (int)jget_int(o, "stdin_open");
	d->auto_remove = (int)jget_int(o, "auto_remove");
	json_object *h = NULL;
	if (json_object_object_get_ex(o, "healthcheck", &h)) {
		d->health.test = jget_strv(h, "test", &d->health.ntest, &failed);
		d->health.interval_ms = jget_int(h, "interval_ms");
		d->health.timeout_ms = jget_int(h, "timeout_ms");
		d->health.start_period_ms = jget_int(h, "start_period_ms");
		d->health.retries = (int)jget_int(h, "retries");
	}
	json_object *deps = NULL;
	if (json_object_object_get_ex(o, "depends_on", &deps) && json_object_is_type(deps, json_type_array) &&
	    json_object_array_length(deps) > 0) {
		size_t n = json_object_array_length(deps);
		d->deps = calloc(n, sizeof(*d->deps));
		if (d->deps == NULL) {
			failed = 1;
		} else {
			d->ndeps = n;
			for (size_t i = 0; i < n; i++) {
				json_object *dep = json_object_array_get_idx(deps, i);
				d->deps[i].name = jget_str(dep, "name", &failed);
				char *cond = jget_str(dep, "condition", &failed);
				d->deps[i].cond = DEP_STARTED;
				if (cond != NULL && strcmp(cond, "service_healthy") == 0) {
					d->deps[i].cond = DEP_HEALTHY;
				} else if (cond != NULL && strcmp(cond, "service_completed_successfully") == 0) {
					d->deps[i].cond = DEP_COMPLETED;
				}
				free(cond);
				if (d->deps[i].name == NULL) {
					failed = 1;
				}
			}
		}
	}
	d->volumes = jget_strv(o, "volumes", &d->nvolumes, &failed);
	d->log_max_size = (uint64_t)jget_int(o, "log_max_size");
	d->log_max_files = (unsigned)jget_int(o, "log_max_files");
	char *mode = jget_str(o, "network_mode", &failed);
	d->netmode = NETMODE_BRIDGE;
	if (mode != NULL && strcmp(mode, "host") == 0) {
		d->netmode = NETMODE_HOST;
	} else if (mode != NULL && strcmp(mode, "none") == 0) {
		d->netmode = NETMODE_NONE;
	} else if (mode != NULL && strcmp(mode, "join") == 0) {
		d->netmode = NETMODE_JOIN;
	}
	free(mode);
	d->join = jget_str(o, "join", &failed);
	json_object *nets = NULL;
	if (json_object_object_get_ex(o, "networks", &nets) && json_object_is_type(nets, json_type_array) &&
	    json_object_array_length(nets) > 0) {
		size_t n = json_object_array_length(nets);
		d->nets = calloc(n, sizeof(*d->nets));
		if (d->nets == NULL) {
			failed = 1;
		} else {
			d->nnets = n;
			for (size_t i = 0; i < n; i++) {
				json_object *e = json_object_array_get_idx(nets, i);
				d->nets[i].network = jget_str(e, "network", &failed);
				d->nets[i].aliases = jget_strv(e, "aliases", &d->nets[i].naliases, &failed);
				d->nets[i].ipv4 = jget_str(e, "ipv4", &failed);
				if (d->nets[i].network == NULL) {
					failed = 1;
				}
			}
		}
	}
	json_object *ports = NULL;
	if (json_object_object_get_ex(o, "ports", &ports) && json_object_is_type(ports, json_type_array) &&
	    json_object_array_length(ports) > 0) {
		size_t n = json_object_array_length(ports);
		d->ports = calloc(n, sizeof(*d->ports));
		if (d->ports == NULL) {
			failed = 1;
		} else {
			d->nports = n;
			for (size_t i = 0; i < n; i++) {
				json_object *e = json_object_array_get_idx(ports, i);
				d->ports[i].proto = (int)jget_int(e, "proto");
				d->ports[i].host_ip = (uint32_t)jget_int(e, "host_ip");
				d->ports[i].host_port = (uint16_t)jget_int(e, "host_port");
				d->ports[i].port = (uint16_t)jget_int(e, "port");
			}
		}
	}
	d->dns = jget_strv(o, "dns", &d->ndns, &failed);
	d->extra_hosts = jget_strv(o, "extra_hosts", &d->nextra_hosts, &failed);
	if (failed || d->name == NULL) {
		ctr_def_clear(d);
		return -EINVAL;
	}
	return 0;
}

static enum ctr_state state_parse(const char *s)
{
	for (size_t i = 0; i < sizeof(state_names) / sizeof(state_names[0]); i++) {
		if (strcmp(s, state_names[i]) == 0) {
			return (enum ctr_state)i;
		}
	}
	return CS_EXITED;
}

int ctr_load(const char *name, struct ctr **out, struct berr *err)
{
	char dir[PATH_MAX];
	char path[PATH_MAX];
	if (ctr_dir(name, dir, sizeof(dir)) < 0 || path_join(path, sizeof(path), dir, "record.json") < 0) {
		return berr_setx(err, ENAMETOOLONG, "container %s: path too long", name);
	}
	auto_free char *buf = malloc(RECORD_MAX);
	if (buf == NULL) {
		return berr_set(err, ENOMEM, "load %s", path);
	}
	ssize_t len = read_file(path, buf, RECORD_MAX, err);
	if (len < 0) {
		return (int)len;
	}
	json_object *o = json_tokener_parse(buf);
	if (o == NULL) {
		return berr_setx(err, EINVAL, "%s: not valid JSON", path);
	}
	struct ctr *c = ctr_new();
	json_object *def = NULL;
	int ret = 0;
	if (c == NULL) {
		ret = berr_set(err, ENOMEM, "load %s", path);
	} else if (!json_object_object_get_ex(o, "definition", &def) || def_from_json(def, &c->def) < 0) {
		ret = berr_setx(err, EINVAL, "%s: no valid definition", path);
	} else if (strcmp(c->def.name, name) != 0) {
		ret = berr_setx(err, EINVAL, "%s: names container '%s'", path, c->def.name);
	}
	if (ret < 0) {
		ctr_free(c);
		json_object_put(o);
		return ret;
	}
	c->has_def = (int)jget_int(o, "has_definition");
	int failed = 0;
	char *state = jget_str(o, "state", &failed);
	c->state = state != NULL ? state_parse(state) : CS_EXITED;
	free(state);
	c->created_ms = jget_int(o, "created_ms");
	c->started_ms = jget_int(o, "started_ms");
	c->finished_ms = jget_int(o, "finished_ms");
	c->exit_code = (int)jget_int(o, "exit_code");
	c->exit_signal = (int)jget_int(o, "exit_signal");
	c->restart_count = (int)jget_int(o, "restart_count");
	c->user_stopped = (int)jget_int(o, "user_stopped");
	char *error = jget_str(o, "error", &failed);
	if (error != NULL) {
		copy_string(c->error, sizeof(c->error), error);
		free(error);
	}
	json_object_put(o);
	*out = c;
	return 0;
}
