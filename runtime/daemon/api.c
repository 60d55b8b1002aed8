/* berthd's API server (see api.h). Requests are JSON objects with a "cmd";
 * answers are JSON objects with "ok" and, on failure, "error". */
#include "daemon/api.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "daemon/apply.h"
#include "daemon/ctrtab.h"
#include "daemon/daemon.h"
#include "daemon/df.h"
#include "daemon/events.h"
#include "daemon/images.h"
#include "daemon/network.h"
#include "daemon/stats.h"
#include "daemon/sup.h"
#include "lib/cleanup.h"
#include "lib/fsutil.h"
#include "lib/log.h"
#include "lib/proc.h"
#include "monitor/logfile.h"
#include "proto/proto.h"

#ifndef BERTH_VERSION
#define BERTH_VERSION "unknown"
#endif

enum wait_for {
	WAIT_NONE,
	WAIT_STOPPED, /* not running any more */
	WAIT_STARTED, /* running, or failed to */
	WAIT_REMOVED,
	WAIT_EVENTS, /* a reader of the event stream: answered when it ends */
};

struct client {
	struct client *next;
	struct watch w;
	char name[CTR_NAME_MAX]; /* the container waited for */
	enum wait_for wait;
	int restarting; /* restart: first the stop, then the start */
	/* WAIT_EVENTS: the pipe the events go to, and what the reader wants
	 * (its strings are the request's, kept with it). */
	int events_fd;
	json_object *events_req;
	struct events_filter filter;
};

static struct client *clients;
static struct watch listen_watch;

static void client_close(struct client *cl)
{
	for (struct client **p = &clients; *p != NULL; p = &(*p)->next) {
		if (*p == cl) {
			*p = cl->next;
			break;
		}
	}
	watch_del(&cl->w);
	close(cl->w.fd);
	if (cl->wait == WAIT_EVENTS) {
		close(cl->events_fd);
		json_object_put(cl->events_req);
	}
	free(cl);
}

static void reply(struct client *cl, json_object *o)
{
	struct berr err = {0};
	const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (proto_send_str(cl->w.fd, PROTO_RESPONSE, text, &err) < 0) {
		blog_debug("reply: %s", err.msg);
	}
	json_object_put(o);
	client_close(cl);
}

static json_object *ok_obj(void)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "ok", json_object_new_boolean(1));
	return o;
}

static void reply_ok(struct client *cl)
{
	reply(cl, ok_obj());
}

static void reply_error(struct client *cl, int code, const char *msg)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "ok", json_object_new_boolean(0));
	json_object_object_add(o, "error", json_object_new_string(msg));
	json_object_object_add(o, "code", json_object_new_int(code));
	reply(cl, o);
}

static const char *req_str(json_object *req, const char *key)
{
	json_object *v = NULL;
	if (!json_object_object_get_ex(req, key, &v) || !json_object_is_type(v, json_type_string)) {
		return NULL;
	}
	return json_object_get_string(v);
}

static int64_t req_int(json_object *req, const char *key, int64_t dflt)
{
	json_object *v = NULL;
	if (!json_object_object_get_ex(req, key, &v) || json_object_is_type(v, json_type_null)) {
		return dflt;
	}
	return json_object_get_int64(v);
}

static int req_bool(json_object *req, const char *key)
{
	json_object *v = NULL;
	return json_object_object_get_ex(req, key, &v) && json_object_get_boolean(v);
}

static struct ctr *need_ctr(struct client *cl, json_object *req)
{
	const char *name = req_str(req, "name");
	if (name == NULL) {
		reply_error(cl, EINVAL, "no container name given");
		return NULL;
	}
	struct ctr *c = ctr_find(name);
	if (c == NULL) {
		char msg[300];
		snprintf(msg, sizeof(msg), "no such container: %s", name);
		reply_error(cl, ENOENT, msg);
		return NULL;
	}
	return c;
}

static void ctr_changed(struct ctr *c);

static void wait_for(struct client *cl, struct ctr *c, enum wait_for what)
{
	copy_string(cl->name, sizeof(cl->name), c->def.name);
	cl->wait = what;
	/* It may be there already. */
	ctr_changed(c);
}

/* ---- container listings ------------------------------------------------------ */

static json_object *ctr_summary(const struct ctr *c)
{
	json_object *o = json_object_new_object();
	char status[1400];
	sup_status_text(c, status, sizeof(status));
	json_object_object_add(o, "name", json_object_new_string(c->def.name));
	if (c->def.service != NULL) {
		json_object_object_add(o, "service", json_object_new_string(c->def.service));
	}
	json_object_object_add(o, "image", json_object_new_string(c->def.image != NULL ? c->def.image : ""));
	json_object_object_add(o, "state", json_object_new_string(ctr_state_name(c->state)));
	json_object_object_add(o, "status", json_object_new_string(status));
	json_object_object_add(o, "health", json_object_new_string(health_status_name(c->health)));
	json_object_object_add(o, "created_ms", json_object_new_int64(c->created_ms));
	json_object_object_add(o, "started_ms", json_object_new_int64(c->started_ms));
	json_object_object_add(o, "finished_ms", json_object_new_int64(c->finished_ms));
	json_object_object_add(o, "exit_code", json_object_new_int(c->exit_code));
	json_object_object_add(o, "oom_killed", json_object_new_boolean(c->oom_killed));
	json_object_object_add(o, "restart_count", json_object_new_int(c->restart_count));
	json_object_object_add(o, "pid", json_object_new_int(c->pid));
	/* Published ports as Docker shows them ("0.0.0.0:32768->80/tcp"): the
	 * only way to learn a port berthd picked. */
	json_object *ports = json_object_new_array();
	for (size_t i = 0; i < c->def.nports; i++) {
		const struct ctr_port *p = &c->def.ports[i];
		char ip[INET_ADDRSTRLEN];
		char text[80];
		inet_ntop(AF_INET, &p->host_ip, ip, sizeof(ip));
		snprintf(text, sizeof(text), "%s:%u->%u/%s", ip, p->host_port, p->port,
			 p->proto == IPPROTO_UDP ? "udp" : "tcp");
		json_object_array_add(ports, json_object_new_string(text));
	}
	json_object_object_add(o, "ports", ports);
	if (c->error[0] != '\0') {
		json_object_object_add(o, "error", json_object_new_string(c->error));
	}
	if (c->waiting_for[0] != '\0') {
		json_object_object_add(o, "waiting_for", json_object_new_string(c->waiting_for));
	}
	return o;
}

static void cmd_ps(struct client *cl, json_object *req, struct proto_frame *f)
{
	(void)f;
	int all = req_bool(req, "all");
	json_object *list = json_object_new_array();
	ctr_foreach(c) {
		if (all || c->state == CS_RUNNING || c->state == CS_STARTING || c->state == CS_STOPPING ||
		    c->state == CS_RESTARTING) {
			json_object_array_add(list, ctr_summary(c));
		}
	}
	json_object *o = ok_obj();
	json_object_object_add(o, "containers", list);
	reply(cl, o);
}

static json_object *strv_json(char *const *v, size_t n)
{
	json_object *a = json_object_new_array();
	for (size_t i = 0; i < n; i++) {
		json_object_array_add(a, json_object_new_string(v[i]));
	}
	return a;
}

static void cmd_inspect(struct client *cl, json_object *req, struct proto_frame *f)
{
	(void)f;
	struct ctr *c = need_ctr(cl, req);
	if (c == NULL) {
		return;
	}
	json_object *o = ctr_summary(c);
	char dir[PATH_MAX];
	char rundir[PATH_MAX];
	ctr_dir(c->def.name, dir, sizeof(dir));
	ctr_run_dir(c->def.name, rundir, sizeof(rundir));
	char path[PATH_MAX + 16];
	snprintf(path, sizeof(path), "%s/log", dir);
	json_object_object_add(o, "log_path", json_object_new_string(path));
	snprintf(path, sizeof(path), "%s/rootfs", rundir);
	json_object_object_add(o, "rootfs", json_object_new_string(path));
	if (c->has_def) {
		json_object_object_add(o, "image_id", json_object_new_string(c->def.image_id ? c->def.image_id : ""));
		json_object_object_add(o, "restart_policy",
				       json_object_new_string(restart_policy_name(c->def.restart)));
		json_object_object_add(o, "definition_hash", json_object_new_string(c->def.hash));
		json_object_object_add(o, "volumes", strv_json(c->def.volumes, c->def.nvolumes));
		json_object_object_add(o, "networks", network_addresses(c));
		json_object *deps = json_object_new_array();
		for (size_t i = 0; i < c->def.ndeps; i++) {
			json_object_array_add(deps, json_object_new_string(c->def.deps[i].name));
		}
		json_object_object_add(o, "depends_on", deps);
		json_object *cfg = c->def.config_json != NULL ? json_tokener_parse(c->def.config_json) : NULL;
		if (cfg != NULL) {
			json_object_object_add(o, "config", cfg);
		}
	}
	if (c->def.health.ntest > 0) {
		json_object *h = json_object_new_object();
		json_object_object_add(h, "status", json_object_new_string(health_status_name(c->health)));
		json_object_object_add(h, "failing_streak", json_object_new_int(c->health_failing_streak));
		json_object *log = json_object_new_array();
		for (size_t i = 0; i < c->health_nlog; i++) {
			const struct health_result *r = &c->health_log[i];
			json_object *e = json_object_new_object();
			json_object_object_add(e, "start_ms", json_object_new_int64(r->start_ms));
			json_object_object_add(e, "end_ms", json_object_new_int64(r->end_ms));
			json_object_object_add(e, "exit_code", json_object_new_int(r->exit_code));
			json_object_object_add(e, "output", json_object_new_string(r->output));
			json_object_array_add(log, e);
		}
		json_object_object_add(h, "log", log);
		json_object_object_add(o, "health_check", h);
	}
	json_object *r = ok_obj();
	json_object_object_add(r, "container", o);
	reply(cl, r);
}

/* ---- lifecycle -------------------------------------------------------------------- */

static void cmd_start(struct client *cl, json_object *req, struct proto_frame *f)
{
	(void)f;
	struct ctr *c = need_ctr(cl, req);
	struct berr err = {0};
	if (c == NULL) {
		return;
	}
	if (sup_start(c, &err) < 0) {
		reply_error(cl, err.code, err.msg);
		return;
	}
	wait_for(cl, c, WAIT_STARTED);
}

static void stop_or_restart(struct client *cl, json_object *req, int restart)
{
	struct ctr *c = need_ctr(cl, req);
	struct berr err = {0};
	if (c == NULL) {
		return;
	}
	int64_t timeout = req_int(req, "timeout", -1);
	int64_t grace = timeout >= 0 ? timeout * 1000 : -1;
	int running = c->state == CS_RUNNING || c->state == CS_STARTING || c->state == CS_STOPPING;
	if (!restart) {
		c->user_stopped = 1;
	}
	if (restart && !running) {
		if (sup_start(c, &err) < 0) {
			reply_error(cl, err.code, err.msg);
			return;
		}
		wait_for(cl, c, WAIT_STARTED);
		return;
	}
	if (sup_stop(c, 0, grace, restart ? AFTER_START : AFTER_NOTHING, &err) < 0) {
		reply_error(cl, err.code, err.msg);
		return;
	}
	cl->restarting = restart;
	wait_for(cl, c, restart ? WAIT_STARTED : WAIT_STOPPED);
}

static void cmd_stop(struct client *cl, json_object *req, struct proto_frame *f)
{
	(void)f;
	stop_or_restart(cl, req, 0);
}

static void cmd_restart(struct client *cl, json_object *req, struct proto_frame *f)
{
	(void)f;
	stop_or_restart(cl, req, 1);
}

static void cmd_kill(struct client *cl, json_object *req, struct proto_frame *f)
{
	(void)f;
	struct ctr *c = need_ctr(cl, req);
	struct berr err = {0};
	if (c == NULL) {
		return;
	}
	int sig = (int)req_int(req, "signal", SIGKILL);
	if (sig <= 0 || sig >= NSIG) {
		reply_error(cl, EINVAL, "invalid signal");
		return;
	}
	if (sup_kill(c, sig, &err) < 0) {
		reply_error(cl, err.code, err.msg);
		return;
	}
	reply_ok(cl);
}

static void cmd_rm(struct client *cl, json_object *req, struct proto_frame *f)
{
	(void)f;
	struct ctr *c = need_ctr(cl, req);
	struct berr err = {0};
	if (c == NULL) {
		return;
	}
	if (c->def.service != NULL && c->has_def && !req_bool(req, "force")) {
		char msg[400];
		snprintf(msg, sizeof(msg),
			 "%s is service %s of compose.yaml: remove it there and run `berth up`, or use -f (it comes "
			 "back at the next `berth up` or boot)",
			 c->def.name, c->def.service);
		reply_error(cl, EBUSY, msg);
		return;
	}
	int running = c->state == CS_RUNNING || c->state == CS_STARTING || c->state == CS_STOPPING;
	if (running && !req_bool(req, "force")) {
		char msg[300];
		snprintf(msg, sizeof(msg), "container %s is running: stop it first, or use -f", c->def.name);
		reply_error(cl, EBUSY, msg);
		return;
	}
	if (running) {
		char name[CTR_NAME_MAX];
		copy_string(name, sizeof(name), c->def.name);
		copy_string(cl->name, sizeof(cl->name), name);
		cl->wait = WAIT_REMOVED;
		if (sup_stop(c, SIGKILL, 0, AFTER_REMOVE, &err) < 0) {
			cl->wait = WAIT_NONE;
			reply_error(cl, err.code, err.msg);
		}
		return;
	}
	if (sup_remove(c, &err) < 0) {
		reply_error(cl, err.code, err.msg);
		return;
	}
	reply_ok(cl);
}

static void cmd_attach(struct client *cl, json_object *req, struct proto_frame *f)
{
	(void)f;
	struct ctr *c = need_ctr(cl, req);
	if (c == NULL) {
		return;
	}
	if (c->state != CS_RUNNING && c->state != CS_STARTING) {
		char msg[300];
		snprintf(msg, sizeof(msg), "container %s is not running", c->def.name);
		reply_error(cl, EINVAL, msg);
		return;
	}
	char rundir[PATH_MAX];
	char path[PATH_MAX + 16];
	ctr_run_dir(c->def.name, rundir, sizeof(rundir));
	snprintf(path, sizeof(path), "%s/attach.sock", rundir);
	json_object *o = ok_obj();
	json_object_object_add(o, "attach", json_object_new_string(path));
	json_object_object_add(o, "tty", json_object_new_boolean(c->def.tty));
	json_object_object_add(o, "stdin", json_object_new_boolean(c->def.stdin_open));
	reply(cl, o);
}

static void cmd_exec(struct client *cl, json_object *req, struct proto_frame *f)
{
	(void)f;
	struct ctr *c = need_ctr(cl, req);
	if (c == NULL) {
		return;
	}
	if (c->state != CS_RUNNING) {
		char msg[300];
		snprintf(msg, sizeof(msg), "container %s is not running", c->def.name);
		reply_error(cl, EINVAL, msg);
		return;
	}
	json_object *o = ok_obj();
	json_object_object_add(o, "oci_root", json_object_new_string(OCI_ROOT));
	json_object_object_add(o, "id", json_object_new_string(c->def.name));
	reply(cl, o);
}

/* ---- logs: read in a child, straight to the client's own stdout/stderr ---- */

struct logs_ctx {
	int conn;
	int monitor_pidfd;
};

static int logs_stop(void *p)
{
	struct logs_ctx *x = p;
	struct pollfd fds[2] = {{.fd = x->conn, .events = POLLIN}, {.fd = x->monitor_pidfd, .events = POLLIN}};
	int n = poll(fds, x->monitor_pidfd >= 0 ? 2 : 1, 0);
	/* The client went away, or the container ended (the monitor's
	 * pidfd becomes readable when it exits, after the last output). */
	return n > 0 && (fds[0].revents != 0 || fds[1].revents != 0);
}

static void logs_done(struct child *ch, int status)
{
	struct client *cl = ch->ctx;
	json_object *o = json_object_new_object();
	int ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
	json_object_object_add(o, "ok", json_object_new_boolean(ok));
	if (!ok) {
		json_object_object_add(o, "error", json_object_new_string("reading the log failed"));
	}
	reply(cl, o);
}

/* The read, in the child: out, err are the client's stdout and stderr. */
static void __attribute__((noreturn))
logs_child(const char *path, unsigned max_files, struct logfile_read_opts *o, struct logs_ctx *x, int out, int err_fd)
{
	/* Keep only what the read needs: berthd's other fds (clients, the
	 * listening socket) must not live on in this child. */
	int keep[4] = {out, err_fd, x->conn, x->monitor_pidfd};
	for (int i = 0; i < 4; i++) {
		if (keep[i] >= 0 && dup3(keep[i], 3 + i, 0) < 0) {
			_exit(1);
		}
	}
	close_fds_from(7);
	x->conn = 5;
	x->monitor_pidfd = x->monitor_pidfd >= 0 ? 6 : -1;
	struct berr err = {0};
	signal(SIGPIPE, SIG_IGN);
	int ret = logfile_read(path, max_files, o, 3, 4, &err);
	/* No log yet: the container has not said anything. */
	if (ret < 0 && ret != -EPIPE && ret != -ENOENT) {
		dprintf(4, "berth logs: %s\n", err.msg);
		_exit(1);
	}
	_exit(0);
}

static int logs_opts(struct client *cl, json_object *req, struct logfile_read_opts *o)
{
	*o = (struct logfile_read_opts){.tail = req_int(req, "tail", -1), .timestamps = req_bool(req, "timestamps")};
	const char *since = req_str(req, "since");
	if (since == NULL) {
		return 0;
	}
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	if (logfile_parse_time(since, &now, &o->since) < 0) {
		char msg[300];
		snprintf(msg, sizeof(msg),
			 "--since %s: expected a time (2026-11-28T07:00:00Z, a Unix time) or a duration (10m, 1h30m)",
			 since);
		reply_error(cl, EINVAL, msg);
		return -1;
	}
	o->have_since = 1;
	return 0;
}

static void cmd_logs(struct client *cl, json_object *req, struct proto_frame *f)
{
	struct ctr *c = need_ctr(cl, req);
	struct logfile_read_opts o;
	if (c == NULL) {
		return;
	}
	if (f->nfds < 2) {
		reply_error(cl, EINVAL, "logs: the request carries no output descriptors");
		return;
	}
	if (logs_opts(cl, req, &o) < 0) {
		return;
	}
	o.follow = req_bool(req, "follow") && (c->state == CS_RUNNING || c->state == CS_STOPPING);
	char dir[PATH_MAX];
	char path[PATH_MAX + 8];
	ctr_dir(c->def.name, dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/log", dir);
	unsigned max_files = c->def.log_max_files > 0 ? c->def.log_max_files : LOGFILE_DEFAULT_MAX_FILES;
	struct logs_ctx x = {.conn = cl->w.fd, .monitor_pidfd = o.follow ? c->monitor_pidfd : -1};
	o.stop = logs_stop;
	o.stop_ctx = &x;
	watch_del(&cl->w);
	pid_t pid = fork();
	if (pid < 0) {
		reply_error(cl, errno, "logs: fork failed");
		return;
	}
	if (pid == 0) {
		logs_child(path, max_files, &o, &x, f->fds[0], f->fds[1]);
	}
	if (child_add(pid, logs_done, cl) == NULL) {
		kill(pid, SIGKILL);
	}
}

/* ---- run, images, up ------------------------------------------------------------ */

static void cmd_run(struct client *cl, json_object *req, struct proto_frame *f)
{
	(void)f;
	struct ctr_def def = {0};
	struct berr err = {0};
	if (apply_run_def(req, &def, &err) < 0) {
		reply_error(cl, err.code, err.msg);
		return;
	}
	struct ctr *c = NULL;
	if (sup_create(&def, &c, &err) < 0) {
		ctr_def_clear(&def);
		reply_error(cl, err.code, err.msg);
		return;
	}
	int detach = req_bool(req, "detach");
	c->wait_attach = !detach;
	if (sup_start(c, &err) < 0) {
		reply_error(cl, err.code, err.msg);
		return;
	}
	c->wait_attach = 0;
	if (detach) {
		wait_for(cl, c, WAIT_STARTED);
		return;
	}
	char rundir[PATH_MAX];
	char path[PATH_MAX + 16];
	ctr_run_dir(c->def.name, rundir, sizeof(rundir));
	snprintf(path, sizeof(path), "%s/attach.sock", rundir);
	json_object *o = ok_obj();
	json_object_object_add(o, "name", json_object_new_string(c->def.name));
	json_object_object_add(o, "attach", json_object_new_string(path));
	json_object_object_add(o, "tty", json_object_new_boolean(c->def.tty));
	reply(cl, o);
}

static void cmd_images(struct client *cl, json_object *req, struct proto_frame *f)
{
	(void)req;
	(void)f;
	json_object *o = ok_obj();
	struct berr err = {0};
	json_object *list = json_object_new_array();
	if (images_list(list, &err) < 0) {
		json_object_put(list);
		json_object_put(o);
		reply_error(cl, err.code, err.msg);
		return;
	}
	json_object_object_add(o, "images", list);
	reply(cl, o);
}

/* A child that answers the client itself has ended. */
static void child_answered(struct child *ch, int status)
{
	struct client *cl = ch->ctx;
	if (!WIFEXITED(status) || WEXITSTATUS(status) > 1) {
		reply_error(cl, EIO, "berthd's worker ended abnormally before it answered");
		return;
	}
	client_close(cl);
}

/* What a child's work has of the request: its fields, and the
 * descriptor it carried (or -1). */
struct child_req {
	json_object *req;
	int in;
};

/* The answer a child computes (the caller's), or NULL with err set. */
typedef json_object *child_work_fn(const struct child_req *r, struct berr *err);

/* In the child: the client's socket at 3, the request's descriptor at 4,
 * nothing else inherited. Via descriptors above both, so that neither
 * overwrites the other. */
static int child_fds(int client_fd, int in)
{
	int c = fcntl(client_fd, F_DUPFD_CLOEXEC, 10);
	int i = in >= 0 ? fcntl(in, F_DUPFD_CLOEXEC, 10) : -1;
	if (c < 0 || (in >= 0 && i < 0) || dup2(c, 3) < 0 || (in >= 0 && dup2(i, 4) < 0)) {
		return -1;
	}
	close_fds_from(in >= 0 ? 5 : 4);
	return 0;
}

/* Work that can take long (an import, a removal waiting for the store's
 * lock, a walk of DATA) runs in a child that answers the client itself;
 * berthd's loop only notices when it is done. */
static void answer_in_child(struct client *cl, const char *what, child_work_fn *work, json_object *req, int in)
{
	watch_del(&cl->w);
	pid_t pid = fork();
	if (pid < 0) {
		char msg[96];
		snprintf(msg, sizeof(msg), "%s: fork failed", what);
		reply_error(cl, errno, msg);
		return;
	}
	if (pid == 0) {
		if (child_fds(cl->w.fd, in) < 0) {
			_exit(2);
		}
		signal(SIGPIPE, SIG_IGN);
		struct berr err = {0};
		struct child_req r = {.req = req, .in = in >= 0 ? 4 : -1};
		json_object *o = work(&r, &err);
		int ok = o != NULL;
		if (!ok) {
			o = json_object_new_object();
			json_object_object_add(o, "error", json_object_new_string(err.msg));
		}
		json_object_object_add(o, "ok", json_object_new_boolean(ok));
		proto_send_str(3, PROTO_RESPONSE, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN), &err);
		_exit(ok ? 0 : 1);
	}
	if (child_add(pid, child_answered, cl) == NULL) {
		kill(pid, SIGKILL);
	}
}

static json_object *remove_image(const struct child_req *r, struct berr *err)
{
	json_object *o = json_object_new_object();
	if (images_remove(req_str(r->req, "image"), req_bool(r->req, "force"), o, err) < 0) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static json_object *load_images(const struct child_req *r, struct berr *err)
{
	json_object *o = json_object_new_object();
	if (images_load_fd(r->in, o, err) < 0) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static json_object *disk_usage(const struct child_req *r, struct berr *err)
{
	(void)r;
	return df_report(err);
}

/* Removing takes the store's lock, which an import may hold for long. */
static void cmd_rmi(struct client *cl, json_object *req, struct proto_frame *f)
{
	(void)f;
	const char *ref = req_str(req, "image");
	if (ref == NULL) {
		reply_error(cl, EINVAL, "no image given");
		return;
	}
	answer_in_child(cl, "rmi", remove_image, req, -1);
}

static void cmd_load(struct client *cl, json_object *req, struct proto_frame *f)
{
	if (f->nfds < 1) {
		reply_error(cl, EINVAL, "load: the request carries no archive");
		return;
	}
	answer_in_child(cl, "load", load_images, req, f->fds[0]);
}

/* ---- the event stream ---------------------------------------------------------------------------------- */

/* One event to a reader's pipe, whole or not at all: a reader that fell
 * behind (its pipe full) is dropped rather than let berthd wait. */
static int send_event(json_object *event, void *arg)
{
	struct client *cl = arg;
	const char *text = json_object_to_json_string_ext(event, JSON_C_TO_STRING_PLAIN);
	char line[4096];
	int n = snprintf(line, sizeof(line), "%s\n", text);
	if (n < 0 || (size_t)n >= sizeof(line)) {
		return 0; /* an event too long to pass on (a huge error text): skipped */
	}
	ssize_t w = write(cl->events_fd, line, (size_t)n);
	if (w != n) {
		return w < 0 && errno == EPIPE ? -EPIPE : -EAGAIN;
	}
	return 0;
}

static void drop_reader(struct client *cl, int code)
{
	reply_error(cl, -code,
		    code == -EPIPE ? "events: the reader is gone"
				   : "events: the reader fell behind; the stream was ended");
}

/* berth events: what is kept since "since", then (without "until") what
 * happens, until the reader hangs up. */
static void cmd_events(struct client *cl, json_object *req, struct proto_frame *f)
{
	struct berr err = {0};
	if (f->nfds < 1) {
		reply_error(cl, EINVAL, "events: the request carries no pipe for the events");
		return;
	}
	struct events_filter filter;
	if (events_filter_parse(req, &filter, &err) < 0) {
		reply_error(cl, err.code, err.msg);
		return;
	}
	int fd = fcntl(f->fds[0], F_DUPFD_CLOEXEC, 3);
	if (fd < 0 || fcntl(fd, F_SETFL, O_NONBLOCK) < 0) {
		if (fd >= 0) {
			close(fd);
		}
		reply_error(cl, errno, "events: cannot keep the pipe");
		return;
	}
	cl->wait = WAIT_EVENTS;
	cl->events_fd = fd;
	cl->events_req = json_object_get(req);
	cl->filter = filter;
	int ret = filter.since_ns != 0 ? events_replay(&cl->filter, send_event, cl) : 0;
	if (ret < 0) {
		drop_reader(cl, ret);
	} else if (filter.until_ns != 0) {
		reply_ok(cl);
	}
}

static void publish_event(json_object *event)
{
	struct client *next = NULL;
	for (struct client *cl = clients; cl != NULL; cl = next) {
		next = cl->next;
		if (cl->wait == WAIT_EVENTS && events_match(event, &cl->filter)) {
			int ret = send_event(event, cl);
			if (ret < 0) {
				drop_reader(cl, ret);
			}
		}
	}
}

static void cmd_up(struct client *cl, json_object *req, struct proto_frame *f)
{
	(void)req;
	(void)f;
	json_object *report = json_object_new_object();
	int ret = apply_compose(report);
	json_object_object_add(report, "ok", json_object_new_boolean(ret == 0));
	reply(cl, report);
}

static void cmd_version(struct client *cl, json_object *req, struct proto_frame *f)
{
	(void)req;
	(void)f;
	json_object *o = ok_obj();
	json_object_object_add(o, "version", json_object_new_string(BERTH_VERSION));
	reply(cl, o);
}

static void cmd_networks(struct client *cl, json_object *req, struct proto_frame *f)
{
	(void)req;
	(void)f;
	json_object *o = network_list();
	json_object_object_add(o, "ok", json_object_new_boolean(1));
	reply(cl, o);
}

/* ---- dispatch -------------------------------------------------------------------------- */

/* ---- stats and top: counters of running containers (stats.h) ---- */

static int ctr_is_up(const struct ctr *c)
{
	return (c->state == CS_RUNNING || c->state == CS_STARTING) && c->pid > 0;
}

static json_object *stats_entry(struct ctr *c)
{
	struct berr err = {0};
	json_object *o = stats_read(c->pid, &err);
	if (o != NULL) {
		json_object_object_add(o, "name", json_object_new_string(c->def.name));
	}
	return o;
}

/* {"names": [...]} or every running container. A named container that
 * is not running is an error, as with docker stats --no-stream. */
static void cmd_stats(struct client *cl, json_object *req, struct proto_frame *f)
{
	(void)f;
	json_object *names = NULL;
	json_object *list = json_object_new_array();
	if (json_object_object_get_ex(req, "names", &names) && json_object_array_length(names) > 0) {
		for (size_t i = 0; i < json_object_array_length(names); i++) {
			const char *name = json_object_get_string(json_object_array_get_idx(names, i));
			struct ctr *c = name != NULL ? ctr_find(name) : NULL;
			json_object *o = c != NULL && ctr_is_up(c) ? stats_entry(c) : NULL;
			if (o == NULL) {
				char msg[300];
				snprintf(msg, sizeof(msg), "container %s is not running", name != NULL ? name : "?");
				json_object_put(list);
				reply_error(cl, ENOENT, msg);
				return;
			}
			json_object_array_add(list, o);
		}
	} else {
		ctr_foreach(c) {
			json_object *o = ctr_is_up(c) ? stats_entry(c) : NULL;
			if (o != NULL) {
				json_object_array_add(list, o);
			}
		}
	}
	json_object *o = ok_obj();
	json_object_object_add(o, "stats", list);
	json_object_object_add(o, "ncpu", json_object_new_int((int)sysconf(_SC_NPROCESSORS_ONLN)));
	reply(cl, o);
}

static void cmd_top(struct client *cl, json_object *req, struct proto_frame *f)
{
	(void)f;
	struct ctr *c = need_ctr(cl, req);
	if (c == NULL) {
		return;
	}
	struct berr err = {0};
	json_object *procs = ctr_is_up(c) ? stats_top(c->pid, &err) : NULL;
	if (procs == NULL) {
		char msg[300];
		snprintf(msg, sizeof(msg), "container %s is not running", c->def.name);
		reply_error(cl, EINVAL, msg);
		return;
	}
	json_object *o = ok_obj();
	json_object_object_add(o, "processes", procs);
	reply(cl, o);
}

static void cmd_df(struct client *cl, json_object *req, struct proto_frame *f)
{
	(void)f;
	answer_in_child(cl, "system df", disk_usage, req, -1);
}

/* Every handler answers the client, now or later (reply, reply_error,
 * wait_for, or a child that answers it). */
struct request {
	const char *cmd;
	void (*fn)(struct client *cl, json_object *req, struct proto_frame *f);
};

static const struct request requests[] = {
	{"ps", cmd_ps},
	{"inspect", cmd_inspect},
	{"start", cmd_start},
	{"stop", cmd_stop},
	{"restart", cmd_restart},
	{"kill", cmd_kill},
	{"rm", cmd_rm},
	{"attach", cmd_attach},
	{"exec", cmd_exec},
	{"logs", cmd_logs},
	{"run", cmd_run},
	{"up", cmd_up},
	{"networks", cmd_networks},
	{"version", cmd_version},
	{"images", cmd_images},
	{"rmi", cmd_rmi},
	{"load", cmd_load},
	{"stats", cmd_stats},
	{"top", cmd_top},
	{"df", cmd_df},
	{"events", cmd_events},
};

static const struct request *find_request(const char *cmd)
{
	for (size_t i = 0; i < sizeof(requests) / sizeof(requests[0]); i++) {
		if (strcmp(requests[i].cmd, cmd) == 0) {
			return &requests[i];
		}
	}
	return NULL;
}

static void on_client(struct watch *w, uint32_t events)
{
	(void)events;
	struct client *cl = w->ctx;
	if (cl->wait != WAIT_NONE) {
		/* A waiting client hung up: stop waiting for it. */
		char buf[256];
		ssize_t n = recv(w->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			client_close(cl);
		}
		return;
	}
	struct proto_frame f = {0};
	struct berr err = {0};
	int n = proto_recv(w->fd, &f, &err);
	if (n <= 0 || f.type != PROTO_REQUEST) {
		proto_frame_release(&f);
		client_close(cl);
		return;
	}
	json_object *req = json_tokener_parse(f.data);
	const char *cmd = req != NULL ? req_str(req, "cmd") : NULL;
	const struct request *r = cmd != NULL ? find_request(cmd) : NULL;
	if (cmd == NULL) {
		reply_error(cl, EINVAL, "the request is not a JSON object with a \"cmd\"");
	} else if (r == NULL) {
		char msg[200];
		snprintf(msg, sizeof(msg), "unknown request '%.64s'", cmd);
		reply_error(cl, EINVAL, msg);
	} else {
		r->fn(cl, req, &f);
	}
	json_object_put(req);
	proto_frame_release(&f);
}

static void on_accept(struct watch *w, uint32_t events)
{
	(void)events;
	int fd = accept4(w->fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0) {
		return;
	}
	if (!proto_peer_is_root(fd)) {
		struct berr err = {0};
		proto_send_str(fd, PROTO_RESPONSE, "{\"ok\":false,\"error\":\"berthd serves root only\"}", &err);
		close(fd);
		return;
	}
	/* A client that stalls mid-request must not stall berthd. */
	struct timeval tv = {.tv_sec = 2};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	struct client *cl = calloc(1, sizeof(*cl));
	if (cl == NULL) {
		close(fd);
		return;
	}
	cl->w = (struct watch){.fd = fd, .fn = on_client, .ctx = cl};
	cl->next = clients;
	clients = cl;
	watch_add(&cl->w, EPOLLIN);
}

static void on_ctr_event(struct ctr *c, enum ctr_event ev);

int api_init(int listen_fd)
{
	listen_watch = (struct watch){.fd = listen_fd, .fn = on_accept};
	int ret = ctr_observe(on_ctr_event);
	return ret < 0 ? ret : watch_add(&listen_watch, EPOLLIN);
}

/* ---- answering waiting requests ---------------------------------------------------- */

static void ctr_changed(struct ctr *c)
{
	struct client *next = NULL;
	for (struct client *cl = clients; cl != NULL; cl = next) {
		next = cl->next;
		if (cl->wait == WAIT_NONE || strcmp(cl->name, c->def.name) != 0) {
			continue;
		}
		switch (cl->wait) {
		case WAIT_STARTED:
			if (c->state == CS_RUNNING) {
				json_object *o = ok_obj();
				json_object_object_add(o, "name", json_object_new_string(c->def.name));
				reply(cl, o);
			} else if (c->state == CS_CREATED && c->waiting_for[0] != '\0') {
				json_object *o = ok_obj();
				json_object_object_add(o, "name", json_object_new_string(c->def.name));
				json_object_object_add(o, "waiting_for", json_object_new_string(c->waiting_for));
				reply(cl, o);
			} else if ((c->state == CS_EXITED || c->state == CS_RESTARTING || c->state == CS_FAILED) &&
				   !(cl->restarting && c->after_stop == AFTER_START)) {
				if (c->error[0] != '\0') {
					reply_error(cl, EIO, c->error);
				} else {
					json_object *o = ok_obj();
					json_object_object_add(o, "name", json_object_new_string(c->def.name));
					json_object_object_add(o, "exited", json_object_new_int(c->exit_code));
					reply(cl, o);
				}
			}
			break;
		case WAIT_STOPPED:
			if (c->state != CS_RUNNING && c->state != CS_STARTING && c->state != CS_STOPPING) {
				reply_ok(cl);
			}
			break;
		default:
			break;
		}
	}
}

static void ctr_removed(struct ctr *c)
{
	struct client *next = NULL;
	for (struct client *cl = clients; cl != NULL; cl = next) {
		next = cl->next;
		if (cl->wait != WAIT_NONE && strcmp(cl->name, c->def.name) == 0) {
			if (cl->wait == WAIT_REMOVED || cl->wait == WAIT_STOPPED) {
				reply_ok(cl);
			} else {
				reply_error(cl, ENOENT, "the container was removed");
			}
		}
	}
}

static void on_ctr_event(struct ctr *c, enum ctr_event ev)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	json_object *event = events_note(c, ev, (int64_t)now.tv_sec * 1000000000 + now.tv_nsec);
	if (event != NULL) {
		publish_event(event);
		json_object_put(event);
	}
	if (ev == CTR_REMOVED) {
		ctr_removed(c);
	} else {
		ctr_changed(c);
	}
}
