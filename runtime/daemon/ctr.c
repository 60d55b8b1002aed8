/* Containers (see ctr.h): their definitions, names and policies, and the
 * record DATA/containers/NAME/record.json, which holds the definition and
 * the state that must outlive berthd and reboots. One table of fields
 * (fields.h) drives the record's JSON both ways, the definition's hash,
 * copies and frees. */
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
#include <unistd.h>

#include "daemon/fields.h"
#include "lib/cleanup.h"
#include "lib/decimal.h"
#include "lib/fsutil.h"
#include "lib/sha256.h"
#include "lib/timeutil.h"

#define RECORD_MAX (4u << 20)

int64_t now_wall_ms(void)
{
	return (int64_t)clock_ms(CLOCK_REALTIME);
}

int64_t now_mono_ms(void)
{
	return (int64_t)monotonic_ms();
}

int64_t ctr_ran_ms(const struct ctr *c, int64_t mono_ms)
{
	if (c->started_mono_ms > 0) {
		return mono_ms - c->started_mono_ms;
	}
	int64_t ms = c->started_ms > 0 ? now_wall_ms() - (now_mono_ms() - mono_ms) - c->started_ms : 0;
	return ms > 0 ? ms : 0;
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

int ctr_files_dir(const char *name, char *out, size_t size)
{
	int n = snprintf(out, size, "/run/berth/files/%s", name);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* ---- the record's fields ---------------------------------------------------------------- */

static const char *const state_names[] = {
	[CS_CREATED] = "created", [CS_STARTING] = "starting",	  [CS_RUNNING] = "running", [CS_STOPPING] = "stopping",
	[CS_EXITED] = "exited",	  [CS_RESTARTING] = "restarting", [CS_FAILED] = "failed",
};
static const char *const health_names[] = {"none", "starting", "healthy", "unhealthy"};
static const char *const restart_names[] = {"no", "always", "on-failure", "unless-stopped"};
static const char *const condition_names[] = {
	[DEP_STARTED] = "service_started",
	[DEP_HEALTHY] = "service_healthy",
	[DEP_COMPLETED] = "service_completed_successfully",
};
static const char *const netmode_names[] = {"bridge", "host", "none", "join"};

/* The keys and their order are the record's format (and the order is part
 * of the definition's hash): a record an older berthd wrote must load. */
static const struct field health_fields[] = {
	F_STRV(struct ctr_health_def, test, ntest, "test"),
	F_INT(struct ctr_health_def, interval_ms, "interval_ms"),
	F_INT(struct ctr_health_def, timeout_ms, "timeout_ms"),
	F_INT(struct ctr_health_def, start_period_ms, "start_period_ms"),
	F_INT(struct ctr_health_def, retries, "retries"),
	F_END,
};

static const struct field dep_fields[] = {
	F_STR(struct ctr_dep, name, "name", FIELD_REQUIRED),
	F_ENUM(struct ctr_dep, cond, "condition", condition_names, DEP_STARTED),
	F_END,
};

static const struct field netattach_fields[] = {
	F_STR(struct ctr_netattach, network, "network", FIELD_REQUIRED),
	F_STRV(struct ctr_netattach, aliases, naliases, "aliases"),
	F_STR(struct ctr_netattach, ipv4, "ipv4", 0),
	F_STR_IF_SET(struct ctr_netattach, mac, "mac"),
	F_STR_IF_SET(struct ctr_netattach, ifname, "ifname"),
	F_INT_IF_SET(struct ctr_netattach, gateway, "gateway"),
	F_END,
};

static const struct field port_fields[] = {
	F_INT(struct ctr_port, proto, "proto"),		 F_INT(struct ctr_port, host_ip, "host_ip"),
	F_INT(struct ctr_port, host_port, "host_port"),	 F_INT(struct ctr_port, port, "port"),
	F_INT_IF_SET(struct ctr_port, picked, "picked"), F_END,
};

static const struct field hook_fields[] = {
	F_STRV(struct ctr_hook, command, ncommand, "command"),
	F_STR(struct ctr_hook, user, "user", 0),
	F_STR(struct ctr_hook, cwd, "cwd", 0),
	F_STRV(struct ctr_hook, env, nenv, "env"),
	F_END,
};

static const struct field def_fields[] = {
	F_STR(struct ctr_def, name, "name", FIELD_REQUIRED),
	F_STR(struct ctr_def, service, "service", 0),
	F_STR(struct ctr_def, image, "image", 0),
	F_STR(struct ctr_def, image_id, "image_id", 0),
	F_STR(struct ctr_def, config_json, "config", 0),
	F_CHARS(struct ctr_def, hash, "hash", FIELD_UNHASHED),
	F_STRV(struct ctr_def, lowerdirs, nlowerdirs, "lowerdirs"),
	F_BOOL(struct ctr_def, read_only, "read_only", 0),
	F_ENUM(struct ctr_def, restart, "restart", restart_names, RESTART_NO),
	F_INT(struct ctr_def, max_retries, "max_retries"),
	F_INT_IF_SET(struct ctr_def, restart_delay_ms, "restart_delay_ms"),
	F_INT_IF_SET(struct ctr_def, restart_window_ms, "restart_window_ms"),
	F_INT(struct ctr_def, stop_signal, "stop_signal"),
	F_INT(struct ctr_def, stop_grace_ms, "stop_grace_ms"),
	F_BOOL(struct ctr_def, tty, "tty", 0),
	F_BOOL(struct ctr_def, stdin_open, "stdin_open", 0),
	/* --rm does not change what runs. */
	F_BOOL(struct ctr_def, auto_remove, "auto_remove", FIELD_UNHASHED),
	F_OBJECT_IF(struct ctr_def, health, health.ntest, "healthcheck", health_fields),
	F_ARRAY(struct ctr_def, deps, ndeps, "depends_on", dep_fields),
	F_STRV(struct ctr_def, volumes, nvolumes, "volumes"),
	F_INT(struct ctr_def, log_max_size, "log_max_size"),
	F_INT(struct ctr_def, log_max_files, "log_max_files"),
	F_ENUM(struct ctr_def, netmode, "network_mode", netmode_names, NETMODE_BRIDGE),
	F_STR(struct ctr_def, join, "join", 0),
	F_ARRAY(struct ctr_def, nets, nnets, "networks", netattach_fields),
	F_ARRAY(struct ctr_def, ports, nports, "ports", port_fields),
	F_STRV(struct ctr_def, dns, ndns, "dns"),
	F_STRV_IF_SET(struct ctr_def, dns_search, ndns_search, "dns_search"),
	F_STRV_IF_SET(struct ctr_def, dns_opt, ndns_opt, "dns_opt"),
	F_STRV_IF_SET(struct ctr_def, links, nlinks, "links"),
	F_ARRAY_IF_SET(struct ctr_def, post_start, npost_start, "post_start", hook_fields),
	F_ARRAY_IF_SET(struct ctr_def, pre_stop, npre_stop, "pre_stop", hook_fields),
	F_STRV(struct ctr_def, extra_hosts, nextra_hosts, "extra_hosts"),
	F_END,
};

static const struct field record_fields[] = {
	F_OBJECT(struct ctr, def, "definition", def_fields, FIELD_REQUIRED),
	F_BOOL(struct ctr, has_def, "has_definition", 0),
	F_ENUM(struct ctr, state, "state", state_names, CS_EXITED),
	F_INT(struct ctr, created_ms, "created_ms"),
	F_INT(struct ctr, started_ms, "started_ms"),
	F_INT(struct ctr, finished_ms, "finished_ms"),
	F_INT(struct ctr, exit_code, "exit_code"),
	F_INT(struct ctr, exit_signal, "exit_signal"),
	F_BOOL(struct ctr, oom_killed, "oom_killed", FIELD_IF_SET), /* a later key: older records lack it */
	F_INT(struct ctr, restart_count, "restart_count"),
	F_BOOL(struct ctr, user_stopped, "user_stopped", 0),
	F_CHARS(struct ctr, error, "error", 0),
	F_END,
};

/* ---- definitions ------------------------------------------------------------------------- */

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

void ctr_def_clear(struct ctr_def *d)
{
	fields_free(def_fields, d);
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

int ctr_def_copy(struct ctr_def *dst, const struct ctr_def *src)
{
	*dst = *src;
	if (fields_copy(def_fields, dst, src) < 0) {
		ctr_def_clear(dst);
		return -ENOMEM;
	}
	return 0;
}

void ctr_def_hash(struct ctr_def *d)
{
	json_object *o = fields_to_json(def_fields, d, FIELDS_FOR_HASH);
	const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	sha256_hex(text, strlen(text), d->hash);
	json_object_put(o);
}

const char *ctr_state_name(enum ctr_state s)
{
	return state_names[s];
}

const char *health_status_name(enum health_status h)
{
	return health_names[h];
}

const char *restart_policy_name(enum restart_policy p)
{
	return restart_names[p];
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
			uint64_t n;
			if (decimal_parse(s + 11, 1000000, &n) < 0) {
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
	/* max_attempts of deploy.restart_policy bounds every condition (as in
	 * Swarm); restart: always and unless-stopped have none. */
	int attempts = c->def.restart_window_ms > 0 ? c->window_restarts : c->restart_count;
	int more = c->def.max_retries == 0 || attempts < c->def.max_retries;
	switch (c->def.restart) {
	case RESTART_ALWAYS:
		return more;
	case RESTART_UNLESS_STOPPED:
		return !c->user_stopped && more;
	case RESTART_ON_FAILURE:
		return c->exit_code != 0 && more;
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

static int record_path(const char *name, char *out, size_t size, struct berr *err)
{
	char dir[PATH_MAX];
	if (ctr_dir(name, dir, sizeof(dir)) < 0 || path_join(out, size, dir, "record.json") < 0) {
		return berr_setx(err, ENAMETOOLONG, "container %s: path too long", name);
	}
	return 0;
}

char *ctr_record_text(const struct ctr *c)
{
	json_object *o = fields_to_json(record_fields, c, FIELDS_FOR_RECORD);
	const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
	char *out = text != NULL ? strdup(text) : NULL;
	json_object_put(o);
	return out;
}

int ctr_save(const struct ctr *c, struct berr *err)
{
	char path[PATH_MAX];
	int ret = record_path(c->def.name, path, sizeof(path), err);
	if (ret < 0) {
		return ret;
	}
	auto_free char *text = ctr_record_text(c);
	if (text == NULL) {
		return berr_set(err, ENOMEM, "save %s", path);
	}
	return write_file_atomic(path, text, strlen(text), 0600, ATOMIC_FSYNC_FILE, err);
}

int ctr_record_parse(const char *text, const char *what, const char *name, struct ctr **out, struct berr *err)
{
	json_object *o = json_tokener_parse(text);
	if (o == NULL) {
		return berr_setx(err, EINVAL, "%s: not valid JSON", what);
	}
	struct ctr *c = ctr_new();
	int ret = 0;
	if (c == NULL) {
		ret = berr_set(err, ENOMEM, "load %s", what);
	} else if (fields_from_json(record_fields, o, c) < 0) {
		ret = berr_setx(err, EINVAL, "%s: no valid definition", what);
	} else if (name != NULL && strcmp(c->def.name, name) != 0) {
		ret = berr_setx(err, EINVAL, "%s: names container '%s'", what, c->def.name);
	}
	json_object_put(o);
	if (ret < 0) {
		ctr_free(c);
		return ret;
	}
	if (c->def.stop_signal <= 0 || c->def.stop_signal >= NSIG) {
		c->def.stop_signal = SIGTERM;
	}
	*out = c;
	return 0;
}

int ctr_load(const char *name, struct ctr **out, struct berr *err)
{
	char path[PATH_MAX];
	int ret = record_path(name, path, sizeof(path), err);
	if (ret < 0) {
		return ret;
	}
	auto_free char *text = NULL;
	size_t len = 0;
	ret = read_file_alloc(AT_FDCWD, path, 0, RECORD_MAX, NULL, &text, &len, err);
	if (ret < 0) {
		return ret;
	}
	return ctr_record_parse(text, path, name, out, err);
}
