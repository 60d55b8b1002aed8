/* Supervision of containers (see sup.h). Every container reaches the
 * running state through its monitor's status pipe and leaves it through
 * its monitor's exit (a pidfd, so monitors adopted after a berthd restart,
 * which are not our children, are followed the same way). */
#include "daemon/sup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/bundle.h"
#include "daemon/ctrtab.h"
#include "daemon/daemon.h"
#include "daemon/events.h"
#include "daemon/health.h"
#include "daemon/hooks.h"
#include "daemon/network.h"
#include "lib/cleanup.h"
#include "lib/decimal.h"
#include "lib/fsutil.h"
#include "lib/log.h"
#include "lib/proc.h"

/* Set by sup_shutdown: nothing starts or restarts any more. */
static int shutting_down;

static int pidfd_open_(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

static int pidfd_signal(int pidfd, int sig)
{
	return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

static void save(struct ctr *c)
{
	if (!c->has_def) {
		return;
	}
	struct berr err = {0};
	if (ctr_save(c, &err) < 0) {
		blog_err("%s: %s", c->def.name, err.msg);
	}
}

static void changed(struct ctr *c)
{
	save(c);
	ctr_publish(c, CTR_CHANGED);
	sup_deps_changed();
	loop_rearm_timer();
}

static void run_file(const struct ctr *c, const char *file, char *out, size_t size)
{
	char dir[PATH_MAX];
	if (ctr_run_dir(c->def.name, dir, sizeof(dir)) < 0 || path_join(out, size, dir, file) < 0) {
		out[0] = '\0';
	}
}

static pid_t read_pid_file(const char *path)
{
	char buf[32];
	if (read_file(path, buf, sizeof(buf), NULL) <= 0) {
		return 0;
	}
	uint64_t pid;
	return decimal_parse(trim_end(buf), INT32_MAX, &pid) == 0 ? (pid_t)pid : 0;
}

static int active(const struct ctr *c)
{
	return c->state == CS_RUNNING || c->state == CS_STARTING || c->state == CS_STOPPING;
}

/* A container became healthy, or stopped being: its dependents may start. */
static void on_ctr_event(struct ctr *c, enum ctr_event ev)
{
	(void)c;
	if (ev == CTR_HEALTH) {
		sup_deps_changed();
	}
}

int sup_init(void)
{
	return ctr_observe(on_ctr_event);
}

/* ---- creating and removing --------------------------------------------- */

int sup_create(struct ctr_def *def, struct ctr **out, struct berr *err)
{
	if (ctr_valid_name(def->name, err) < 0) {
		return -EINVAL;
	}
	struct ctr *old = ctr_find(def->name);
	if (old != NULL && old->has_def) {
		return berr_setx(err, EEXIST, "the container name '%s' is in use", def->name);
	}
	if (old != NULL) {
		ctr_delete(old);
	}
	char dir[PATH_MAX];
	if (ctr_dir(def->name, dir, sizeof(dir)) < 0) {
		return berr_setx(err, ENAMETOOLONG, "container %s: name too long", def->name);
	}
	if (mkdir_p(dir, 0700, err) < 0) {
		return -err->code;
	}
	struct ctr *c = ctr_new();
	if (c == NULL) {
		return berr_set(err, ENOMEM, "create %s", def->name);
	}
	c->def = *def;
	memset(def, 0, sizeof(*def));
	c->has_def = 1;
	c->state = CS_CREATED;
	c->created_ms = now_wall_ms();
	if (ctr_save(c, err) < 0) {
		ctr_free(c);
		return -err->code;
	}
	ctr_add(c);
	ctr_publish(c, CTR_CHANGED); /* the event stream's "create" */
	*out = c;
	return 0;
}

/* A container without a definition, in the table only so that `berth ps
 * -a` shows why its service is not running. NULL when out of memory. */
static struct ctr *add_placeholder(const char *name, const char *service)
{
	struct ctr *c = ctr_new();
	if (c == NULL) {
		return NULL;
	}
	c->def.name = strdup(name);
	c->def.service = service != NULL ? strdup(service) : NULL;
	if (c->def.name == NULL) {
		ctr_free(c);
		return NULL;
	}
	c->state = CS_FAILED;
	ctr_add(c);
	return c;
}

void sup_note_failed(const char *name, const char *service, const char *error)
{
	struct ctr *c = ctr_find(name);
	if (c != NULL) {
		/* A container of the last good definition keeps running. */
		copy_string(c->error, sizeof(c->error), error);
		c->waiting_for[0] = '\0';
		return;
	}
	c = add_placeholder(name, service);
	if (c != NULL) {
		copy_string(c->error, sizeof(c->error), error);
	}
}

void sup_note_waiting(const char *name, const char *service, const char *image, const char *why)
{
	struct ctr *c = ctr_find(name);
	if (c != NULL && c->has_def) {
		/* The container of the last good definition goes on. */
		return;
	}
	if (c == NULL) {
		c = add_placeholder(name, service);
		if (c == NULL) {
			return;
		}
	}
	if (c->def.image == NULL) {
		c->def.image = strdup(image);
	}
	c->state = CS_FAILED;
	c->error[0] = '\0';
	copy_string(c->waiting_for, sizeof(c->waiting_for), why);
}

int sup_remove(struct ctr *c, struct berr *err)
{
	if (c->state == CS_RUNNING || c->state == CS_STARTING || c->state == CS_STOPPING) {
		return berr_setx(err, EBUSY, "container %s is running: stop it first, or remove it with -f",
				 c->def.name);
	}
	if (c->has_def) {
		network_release(c);
		if (bundle_remove(c, err) < 0) {
			return -err->code;
		}
	}
	blog_info("%s: removed", c->def.name);
	ctr_delete(c);
	sup_deps_changed();
	return 0;
}

/* ---- starting ------------------------------------------------------------ */

static void on_status(struct watch *w, uint32_t events);
static void on_monitor_exit(struct watch *w, uint32_t events);

static int deps_ready(struct ctr *c, char *why, size_t size)
{
	for (size_t i = 0; i < c->def.ndeps; i++) {
		const struct ctr_dep *dep = &c->def.deps[i];
		struct ctr *d = ctr_find(dep->name);
		if (d == NULL || !d->has_def) {
			snprintf(why, size, "waiting for %s (%s)", dep->name,
				 d == NULL ? "not defined" : "failed to be defined");
			return 0;
		}
		switch (dep->cond) {
		case DEP_STARTED:
			if (d->state != CS_RUNNING && !(d->ran && d->state != CS_STARTING)) {
				snprintf(why, size, "waiting for %s to start", dep->name);
				return 0;
			}
			break;
		case DEP_HEALTHY:
			if (d->state != CS_RUNNING || (d->def.health.ntest > 0 && d->health != HEALTH_HEALTHY)) {
				snprintf(why, size, "waiting for %s to be healthy", dep->name);
				return 0;
			}
			break;
		case DEP_COMPLETED:
			if (!(d->ran && d->state == CS_EXITED && d->exit_code == 0)) {
				snprintf(why, size, "waiting for %s to complete successfully", dep->name);
				return 0;
			}
			break;
		}
	}
	why[0] = '\0';
	return 1;
}

static void start_failed(struct ctr *c, const char *why)
{
	blog_err("%s: %s", c->def.name, why);
	copy_string(c->error, sizeof(c->error), why);
}

/* The monitor's command line and the strings it points into. */
struct monitor_cmd {
	char rundir[PATH_MAX];
	char dir[PATH_MAX];
	char log[PATH_MAX];
	char max_size[24];
	char max_files[16];
	const char *argv[32];
};

static int monitor_cmd(const struct ctr *c, struct monitor_cmd *m, struct berr *err)
{
	if (ctr_run_dir(c->def.name, m->rundir, sizeof(m->rundir)) < 0 ||
	    ctr_dir(c->def.name, m->dir, sizeof(m->dir)) < 0 || path_join(m->log, sizeof(m->log), m->dir, "log") < 0) {
		return berr_setx(err, ENAMETOOLONG, "%s: path too long", c->def.name);
	}
	snprintf(m->max_size, sizeof(m->max_size), "%llu", (unsigned long long)c->def.log_max_size);
	snprintf(m->max_files, sizeof(m->max_files), "%u", c->def.log_max_files);
	const char **argv = m->argv;
	size_t n = 0;
	argv[n++] = "berth";
	argv[n++] = "monitor";
	argv[n++] = "--name";
	argv[n++] = c->def.name;
	argv[n++] = "--dir";
	argv[n++] = m->rundir;
	argv[n++] = "--bundle";
	argv[n++] = m->dir;
	argv[n++] = "--oci-root";
	argv[n++] = OCI_ROOT;
	argv[n++] = "--log";
	argv[n++] = m->log;
	if (c->def.log_max_size > 0) {
		argv[n++] = "--log-max-size";
		argv[n++] = m->max_size;
	}
	if (c->def.log_max_files > 0) {
		argv[n++] = "--log-max-files";
		argv[n++] = m->max_files;
	}
	if (c->def.tty) {
		argv[n++] = "--tty";
	}
	if (c->def.stdin_open) {
		argv[n++] = "--stdin";
	}
	if (c->wait_attach) {
		argv[n++] = "--wait-attach";
	}
	argv[n++] = "--status-fd";
	argv[n++] = "3";
	argv[n] = NULL;
	return 0;
}

static int spawn_monitor(struct ctr *c, struct berr *err)
{
	struct monitor_cmd m;
	int ret = monitor_cmd(c, &m, err);
	if (ret < 0) {
		return ret;
	}
	int status[2];
	if (pipe2(status, O_CLOEXEC) < 0) {
		return berr_set(err, errno, "%s: pipe", c->def.name);
	}
	pid_t pid = fork();
	if (pid < 0) {
		close(status[0]);
		close(status[1]);
		return berr_set(err, errno, "%s: fork", c->def.name);
	}
	if (pid == 0) {
		/* Its own session: init stops berthd by process group, and the
		 * monitor must outlive berthd. */
		setsid();
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(status[1], 3) < 0) {
			_exit(127);
		}
		close_fds_from(4);
		reset_signals();
		execv("/proc/self/exe", (char *const *)m.argv);
		dprintf(3, "error execute the monitor: %s\n", strerror(errno));
		_exit(127);
	}
	close(status[1]);
	c->monitor_pid = pid;
	c->status_fd = status[0];
	c->status_watch = (struct watch){.fd = c->status_fd, .fn = on_status, .ctx = c};
	watch_add(&c->status_watch, EPOLLIN);
	c->monitor_pidfd = pidfd_open_(pid);
	if (c->monitor_pidfd >= 0) {
		c->monitor_watch = (struct watch){.fd = c->monitor_pidfd, .fn = on_monitor_exit, .ctx = c};
		watch_add(&c->monitor_watch, EPOLLIN);
	}
	return 0;
}

static void remove_oci_leftover(const struct ctr *c)
{
	char path[PATH_MAX];
	struct stat st;
	if (path_join(path, sizeof(path), OCI_ROOT, c->def.name) == 0 && lstat(path, &st) == 0) {
		char *args[] = {"delete", "--force", c->def.name, NULL};
		struct berr err = {0};
		if (oci_run(args, 1, &err) != 0) {
			blog_warn("%s: removing the old runtime state: %s", c->def.name, err.msg);
		}
	}
}

static int start_now(struct ctr *c, struct berr *err)
{
	c->error[0] = '\0';
	c->waiting_for[0] = '\0';
	c->want_start = 0;
	char rundir[PATH_MAX];
	if (ctr_run_dir(c->def.name, rundir, sizeof(rundir)) < 0) {
		return berr_setx(err, ENAMETOOLONG, "%s: name too long", c->def.name);
	}
	remove_oci_leftover(c);
	/* Files of an earlier run must not be read as this run's. */
	static const char *const stale[] = {"exit.json", "pid", "monitor.pid", "attach.sock"};
	for (size_t i = 0; i < sizeof(stale) / sizeof(stale[0]); i++) {
		char path[PATH_MAX];
		if (path_join(path, sizeof(path), rundir, stale[i]) == 0) {
			unlink(path);
		}
	}
	if (network_setup(c, err) < 0 || bundle_prepare(c, err) < 0 || spawn_monitor(c, err) < 0) {
		bundle_release(c);
		return -err->code;
	}
	c->state = CS_STARTING;
	blog_info("%s: starting", c->def.name);
	changed(c);
	return 0;
}

/* The next start of c, which ran for ran_ms: after the restart policy's
 * delay, or the backoff. A run that lasted the policy's window was a
 * success: the attempts count again from none. */
static void schedule_restart(struct ctr *c, int64_t ran_ms)
{
	if (c->def.restart_window_ms > 0 && ran_ms >= c->def.restart_window_ms) {
		c->window_restarts = 0;
	}
	c->backoff_ms = c->def.restart_delay_ms > 0 ? c->def.restart_delay_ms : ctr_next_backoff(c->backoff_ms, ran_ms);
	c->next_start_ms = now_mono_ms() + c->backoff_ms;
	c->state = CS_RESTARTING;
	c->restart_count++;
	c->window_restarts++;
}

/* A start that cannot happen now ends like a run that failed at once:
 * the restart policy decides, with backoff. */
static void start_or_fail(struct ctr *c)
{
	struct berr err = {0};
	if (start_now(c, &err) == 0) {
		return;
	}
	start_failed(c, err.msg);
	c->exit_code = 127;
	c->finished_ms = now_wall_ms();
	if (!shutting_down && ctr_should_restart(c)) {
		schedule_restart(c, 0);
	} else {
		c->state = CS_EXITED;
	}
	changed(c);
}

int sup_start(struct ctr *c, struct berr *err)
{
	if (!c->has_def) {
		return berr_setx(err, EINVAL, "%s cannot start: %s", c->def.name, c->error);
	}
	c->user_stopped = 0;
	switch (c->state) {
	case CS_RUNNING:
	case CS_STARTING:
		return 0;
	case CS_STOPPING:
		c->after_stop = AFTER_START;
		return 0;
	case CS_RESTARTING:
		c->next_start_ms = 0;
		break;
	default:
		break;
	}
	c->want_start = 1;
	if (shutting_down) {
		return berr_setx(err, ESHUTDOWN, "berthd is shutting down");
	}
	char why[256];
	if (!deps_ready(c, why, sizeof(why))) {
		copy_string(c->waiting_for, sizeof(c->waiting_for), why);
		if (c->state == CS_RESTARTING) {
			c->state = CS_EXITED;
		}
		changed(c);
		return 0;
	}
	start_or_fail(c);
	return 0;
}

void sup_deps_changed(void)
{
	static int running;
	if (running || shutting_down) {
		return;
	}
	/* Starting one container can make another ready: go round until
	 * nothing more starts. */
	running = 1;
	int again = 1;
	while (again) {
		again = 0;
		ctr_foreach(c) {
			if (!c->want_start || !c->has_def ||
			    (c->state != CS_CREATED && c->state != CS_EXITED && c->state != CS_FAILED)) {
				continue;
			}
			char why[256];
			if (!deps_ready(c, why, sizeof(why))) {
				if (strcmp(why, c->waiting_for) != 0) {
					copy_string(c->waiting_for, sizeof(c->waiting_for), why);
					ctr_publish(c, CTR_CHANGED);
				}
				continue;
			}
			start_or_fail(c);
			again = 1;
			break;
		}
	}
	running = 0;
}

/* "ok PID" or "error MESSAGE" from the monitor. */
static void on_status(struct watch *w, uint32_t events)
{
	(void)events;
	struct ctr *c = w->ctx;
	char line[1200];
	ssize_t n = read(c->status_fd, line, sizeof(line) - 1);
	if (n < 0 && errno == EINTR) {
		return;
	}
	watch_del(&c->status_watch);
	close(c->status_fd);
	c->status_fd = -1;
	line[n > 0 ? n : 0] = '\0';
	trim_end(line);
	if (strncmp(line, "ok ", 3) == 0) {
		c->pid = (pid_t)atoi(line + 3);
		c->pidfd = c->pid > 0 ? pidfd_open_(c->pid) : -1;
		c->state = CS_RUNNING;
		c->ran = 1;
		c->started_ms = now_wall_ms();
		c->started_mono_ms = now_mono_ms();
		c->error[0] = '\0';
		blog_info("%s: running (pid %d)", c->def.name, (int)c->pid);
		health_reset(c);
		hooks_post_start(c);
		if (c->stop_pending) {
			c->stop_pending = 0;
			struct berr err = {0};
			sup_stop(c, 0, -1, c->after_stop, &err);
		}
		changed(c);
		return;
	}
	start_failed(c, strncmp(line, "error ", 6) == 0 ? line + 6 : "the monitor ended before the container started");
	/* The monitor exits next; on_monitor_exit decides what follows. */
}

/* ---- the end of a run -------------------------------------------------- */

static int read_exit(struct ctr *c)
{
	char path[PATH_MAX];
	run_file(c, "exit.json", path, sizeof(path));
	char buf[512];
	if (read_file(path, buf, sizeof(buf), NULL) < 0) {
		return -ENOENT;
	}
	json_object *o = json_tokener_parse(buf);
	if (o == NULL) {
		return -EINVAL;
	}
	json_object *v = NULL;
	c->exit_code = json_object_object_get_ex(o, "exit_code", &v) ? json_object_get_int(v) : 255;
	c->exit_signal = json_object_object_get_ex(o, "signal", &v) ? json_object_get_int(v) : 0;
	c->oom_killed = json_object_object_get_ex(o, "oom_kills", &v) && json_object_get_int64(v) > 0;
	json_object_put(o);
	return 0;
}

static void forget_monitor(struct ctr *c)
{
	if (c->status_fd >= 0) {
		watch_del(&c->status_watch);
		close(c->status_fd);
		c->status_fd = -1;
	}
	if (c->monitor_pidfd >= 0) {
		watch_del(&c->monitor_watch);
		close(c->monitor_pidfd);
		c->monitor_pidfd = -1;
	}
	if (c->pidfd >= 0) {
		close(c->pidfd);
		c->pidfd = -1;
	}
	if (c->monitor_pid > 0) {
		/* Ours unless adopted; an adopted one is init's to reap. */
		waitpid(c->monitor_pid, NULL, WNOHANG);
	}
	c->monitor_pid = 0;
	c->pid = 0;
}

static void finish_removal(struct ctr *c)
{
	struct berr err = {0};
	struct ctr_def *replacement = c->replacement;
	c->replacement = NULL;
	enum ctr_state saved = c->state;
	c->state = CS_EXITED;
	if (sup_remove(c, &err) < 0) {
		c->state = saved;
		blog_err("%s", err.msg);
		if (replacement != NULL) {
			ctr_def_clear(replacement);
			free(replacement);
		}
		return;
	}
	if (replacement != NULL) {
		struct ctr *n = NULL;
		if (sup_create(replacement, &n, &err) < 0 || sup_start(n, &err) < 0) {
			blog_err("%s", err.msg);
		}
		ctr_def_clear(replacement);
		free(replacement);
	}
}

static void monitor_ended(struct ctr *c)
{
	int had_status = c->status_fd >= 0;
	if (had_status) {
		/* Read what the monitor said before it went. */
		on_status(&c->status_watch, EPOLLIN);
	}
	int was_running = c->state == CS_RUNNING || c->state == CS_STOPPING;
	forget_monitor(c);
	health_stop(c);
	hooks_stop(c);
	if (read_exit(c) < 0) {
		if (was_running) {
			/* Killed monitor: nothing holds the container's output any
			 * more, and nobody would learn of its end. */
			blog_err("%s: its monitor died; stopping the container", c->def.name);
			char *kill_args[] = {"kill", c->def.name, "KILL", NULL};
			struct berr ignored = {0};
			oci_run(kill_args, 1, &ignored);
			start_failed(c, "the container's monitor died");
		}
		c->exit_code = was_running ? 255 : 127;
		c->exit_signal = 0;
		c->oom_killed = 0;
	}
	if (c->oom_killed) {
		blog_warn("%s: the kernel's OOM killer killed a process of it (memory limit or host memory)",
			  c->def.name);
	}
	char *args[] = {"delete", "--force", c->def.name, NULL};
	struct berr err = {0};
	if (oci_run(args, 1, &err) != 0) {
		blog_warn("%s: delete: %s", c->def.name, err.msg);
	}
	bundle_release(c);
	int64_t now = now_wall_ms();
	int64_t ran_ms = was_running ? ctr_ran_ms(c, now_mono_ms()) : 0;
	c->finished_ms = now;
	if (was_running) {
		blog_info("%s: exited with %d", c->def.name, c->exit_code);
	}
	enum ctr_after_stop after = c->after_stop;
	int requested = c->state == CS_STOPPING || after != AFTER_NOTHING;
	c->after_stop = AFTER_NOTHING;
	c->state = CS_EXITED;
	switch (after) {
	case AFTER_REMOVE:
	case AFTER_REPLACE:
		finish_removal(c);
		sup_deps_changed();
		return;
	case AFTER_START:
		changed(c);
		if (sup_start(c, &err) < 0) {
			blog_err("%s", err.msg);
		}
		return;
	case AFTER_NOTHING:
		break;
	}
	if (!requested && c->def.auto_remove) {
		finish_removal(c);
		return;
	}
	if (c->def.restart_window_ms > 0 && ran_ms >= c->def.restart_window_ms) {
		c->window_restarts = 0; /* before the policy counts this run's attempts */
	}
	if (!requested && !shutting_down && ctr_should_restart(c)) {
		schedule_restart(c, ran_ms);
		blog_info("%s: restarting in %lld ms (policy %s)", c->def.name, (long long)c->backoff_ms,
			  restart_policy_name(c->def.restart));
	}
	changed(c);
}

static void on_monitor_exit(struct watch *w, uint32_t events)
{
	(void)events;
	monitor_ended(w->ctx);
}

/* ---- stopping ------------------------------------------------------------ */

int sup_kill(struct ctr *c, int sig, struct berr *err)
{
	if (c->state != CS_RUNNING && c->state != CS_STOPPING) {
		return berr_setx(err, EINVAL, "container %s is not running", c->def.name);
	}
	if (c->pidfd < 0 || pidfd_signal(c->pidfd, sig) < 0) {
		if (errno == ESRCH) {
			return 0; /* it is ending; the monitor will say so */
		}
		return berr_set(err, errno, "signal %d to %s", sig, c->def.name);
	}
	return 0;
}

int sup_stop(struct ctr *c, int sig, int64_t grace_ms, enum ctr_after_stop after, struct berr *err)
{
	c->want_start = 0;
	c->waiting_for[0] = '\0';
	if (after != AFTER_NOTHING) {
		c->after_stop = after;
	}
	switch (c->state) {
	case CS_STARTING:
		c->stop_pending = 1;
		return 0;
	case CS_RUNNING:
	case CS_STOPPING:
		break;
	default:
		/* Not running: what follows a stop happens now. */
		if (c->state == CS_RESTARTING) {
			c->state = CS_EXITED;
		}
		c->after_stop = AFTER_NOTHING;
		if (after == AFTER_REMOVE || after == AFTER_REPLACE) {
			finish_removal(c);
			return 0;
		}
		if (after == AFTER_START) {
			return sup_start(c, err);
		}
		changed(c);
		return 0;
	}
	if (c->state == CS_RUNNING) {
		int s = sig > 0 ? sig : c->def.stop_signal > 0 ? c->def.stop_signal : SIGTERM;
		int64_t grace = grace_ms >= 0 ? grace_ms : c->def.stop_grace_ms > 0 ? c->def.stop_grace_ms : 10000;
		blog_info("%s: stopping (signal %d, %lld ms grace)", c->def.name, s, (long long)grace);
		c->state = CS_STOPPING;
		c->kill_at_ms = now_mono_ms() + grace;
		/* pre_stop hooks first: the signal follows them (hooks.h). */
		if (!hooks_pre_stop(c, s) && sup_kill(c, s, err) < 0) {
			blog_warn("%s", err->msg);
		}
		changed(c);
	}
	return 0;
}

int sup_replace(struct ctr *c, struct ctr_def *newdef, struct berr *err)
{
	struct ctr_def *copy = calloc(1, sizeof(*copy));
	if (copy == NULL) {
		return berr_set(err, ENOMEM, "replace %s", c->def.name);
	}
	*copy = *newdef;
	memset(newdef, 0, sizeof(*newdef));
	if (c->replacement != NULL) {
		ctr_def_clear(c->replacement);
		free(c->replacement);
	}
	c->replacement = copy;
	blog_info("%s: definition changed; recreating", c->def.name);
	return sup_stop(c, 0, -1, AFTER_REPLACE, err);
}

/* ---- timers ---------------------------------------------------------------- */

void sup_tick(void)
{
	int64_t now = now_mono_ms();
	ctr_foreach(c) {
		if (c->state == CS_RESTARTING && c->next_start_ms <= now) {
			struct berr err = {0};
			c->next_start_ms = 0;
			if (sup_start(c, &err) < 0) {
				blog_err("%s", err.msg);
			}
			/* The list may have changed under a start; look again later. */
			loop_rearm_timer();
			return;
		}
		if (c->state == CS_STOPPING && c->kill_at_ms > 0 && c->kill_at_ms <= now) {
			struct berr err = {0};
			blog_warn("%s: did not stop within its grace period; killing it", c->def.name);
			c->kill_at_ms = 0;
			sup_kill(c, SIGKILL, &err);
		}
		if (c->state == CS_RUNNING) {
			health_tick(c, now);
		}
	}
	loop_rearm_timer();
}

int64_t sup_next_deadline(void)
{
	int64_t next = -1;
	ctr_foreach(c) {
		int64_t t = -1;
		if (c->state == CS_RESTARTING) {
			t = c->next_start_ms;
		} else if (c->state == CS_STOPPING && c->kill_at_ms > 0) {
			t = c->kill_at_ms;
		} else if (c->state == CS_RUNNING) {
			t = health_deadline(c);
		}
		if (t >= 0 && (next < 0 || t < next)) {
			next = t;
		}
	}
	return next;
}

/* ---- shutdown: dependents stop before what they depend on ----------------- */

static int has_active_dependent(const struct ctr *c)
{
	ctr_foreach(o) {
		if (o == c || !active(o)) {
			continue;
		}
		for (size_t i = 0; i < o->def.ndeps; i++) {
			if (strcmp(o->def.deps[i].name, c->def.name) == 0) {
				return 1;
			}
		}
	}
	return 0;
}

static void shutdown_step(void)
{
	ctr_foreach(c) {
		if (c->state == CS_RESTARTING) {
			c->state = CS_EXITED;
			save(c);
		}
		c->want_start = 0;
		if ((c->state == CS_RUNNING || c->state == CS_STARTING) && !has_active_dependent(c)) {
			struct berr err = {0};
			/* Not user_stopped: the containers come back at the next boot. */
			sup_stop(c, 0, -1, AFTER_NOTHING, &err);
		}
	}
}

void sup_shutdown(void)
{
	shutting_down = 1;
	blog_notice("stopping all containers");
	shutdown_step();
}

int sup_all_stopped(void)
{
	if (shutting_down) {
		shutdown_step();
	}
	ctr_foreach(c) {
		if (active(c)) {
			return 0;
		}
	}
	return 1;
}

/* ---- adoption after a berthd restart ------------------------------------- */

static int is_our_monitor(pid_t pid, const char *name)
{
	char path[64];
	char cmdline[4096];
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	ssize_t len = read_file(path, cmdline, sizeof(cmdline), NULL);
	if (len <= 0) {
		return 0;
	}
	/* argv: berth monitor --name NAME ... */
	const char *argv1 = cmdline + strlen(cmdline) + 1;
	if (argv1 >= cmdline + len || strcmp(argv1, "monitor") != 0) {
		return 0;
	}
	const char *opt = argv1 + strlen(argv1) + 1;
	if (opt >= cmdline + len || strcmp(opt, "--name") != 0) {
		return 0;
	}
	const char *val = opt + strlen(opt) + 1;
	return val < cmdline + len && strcmp(val, name) == 0;
}

static void adopt(struct ctr *c)
{
	char path[PATH_MAX];
	run_file(c, "monitor.pid", path, sizeof(path));
	pid_t mpid = read_pid_file(path);
	if (mpid > 0 && is_our_monitor(mpid, c->def.name)) {
		c->monitor_pid = mpid;
		c->monitor_pidfd = pidfd_open_(mpid);
		if (c->monitor_pidfd >= 0) {
			c->monitor_watch = (struct watch){.fd = c->monitor_pidfd, .fn = on_monitor_exit, .ctx = c};
			watch_add(&c->monitor_watch, EPOLLIN);
		}
		run_file(c, "pid", path, sizeof(path));
		c->pid = read_pid_file(path);
		c->pidfd = c->pid > 0 ? pidfd_open_(c->pid) : -1;
		c->state = c->state == CS_STOPPING ? CS_STOPPING : CS_RUNNING;
		if (c->state == CS_STOPPING) {
			c->kill_at_ms = now_mono_ms() + (c->def.stop_grace_ms > 0 ? c->def.stop_grace_ms : 10000);
		}
		c->ran = 1;
		health_reset(c);
		blog_info("%s: adopted (monitor %d, pid %d)", c->def.name, (int)mpid, (int)c->pid);
		return;
	}
	run_file(c, "exit.json", path, sizeof(path));
	if (access(path, F_OK) == 0) {
		/* It ended while berthd was away: as if we had seen it end. */
		c->state = CS_RUNNING;
		monitor_ended(c);
		return;
	}
	if (active(c) || c->state == CS_RESTARTING) {
		/* The host went down under it, or its monitor was killed while
		 * berthd was away (then the runtime's delete stops it). */
		remove_oci_leftover(c);
		bundle_release(c);
		if (c->state != CS_RESTARTING) {
			c->exit_code = 255;
			c->finished_ms = now_wall_ms();
		}
		c->state = CS_EXITED;
		if (c->def.auto_remove) {
			finish_removal(c);
			return;
		}
		save(c);
	} else {
		/* berthd was killed in start_now before it saved the start: the
		 * root filesystem may be mounted with no monitor to run it. A
		 * container that does not run holds no mount. */
		bundle_release(c);
	}
	/* Compose services come back when compose.yaml is applied; ad hoc
	 * containers by their restart policy, as Docker does at its start. */
	if (c->def.service == NULL &&
	    (c->def.restart == RESTART_ALWAYS || (c->def.restart == RESTART_UNLESS_STOPPED && !c->user_stopped))) {
		c->want_start = 1;
	}
}

/* A container directory without a record: berthd was killed after apply
 * wrote the files of a container it then did not create, or while it
 * removed one. Nothing of it runs (a start saves the record first), and
 * no container would ever own the directory again: it goes. */
static void remove_unrecorded(const char *name)
{
	struct ctr *c = ctr_new();
	struct berr err = {0};
	if (c == NULL || (c->def.name = strdup(name)) == NULL) {
		ctr_free(c);
		return;
	}
	blog_warn("%s: removing its files, left without a record by a berthd that was killed", name);
	if (bundle_remove(c, &err) < 0) {
		blog_warn("%s", err.msg);
	}
	ctr_free(c);
}

void sup_adopt_all(void)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s/containers", BERTH_DATA_DIR);
	auto_closedir DIR *d = opendir(dir);
	if (d == NULL) {
		return;
	}
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.') {
			continue;
		}
		struct ctr *c = NULL;
		struct berr err = {0};
		if (ctr_load(e->d_name, &c, &err) < 0) {
			if (err.code == ENOENT) {
				remove_unrecorded(e->d_name);
			} else {
				blog_err("%s", err.msg);
			}
			continue;
		}
		ctr_add(c);
		events_seen(c); /* it was there before this berthd: no "create" */
	}
	ctr_foreach_safe(c, next) {
		adopt(c);
	}
}

/* ---- status text ------------------------------------------------------------ */

static void ago(int64_t ms, char *out, size_t size)
{
	int64_t s = ms / 1000;
	if (s < 1) {
		snprintf(out, size, "Less than a second");
	} else if (s < 60) {
		snprintf(out, size, "%lld second%s", (long long)s, s == 1 ? "" : "s");
	} else if (s < 3600) {
		snprintf(out, size, "%lld minute%s", (long long)(s / 60), s / 60 == 1 ? "" : "s");
	} else if (s < 172800) {
		snprintf(out, size, "%lld hour%s", (long long)(s / 3600), s / 3600 == 1 ? "" : "s");
	} else {
		snprintf(out, size, "%lld days", (long long)(s / 86400));
	}
}

void sup_status_text(const struct ctr *c, char *out, size_t size)
{
	char when[64];
	int64_t now = now_wall_ms();
	switch (c->state) {
	case CS_RUNNING:
	case CS_STOPPING:
		ago(now - c->started_ms, when, sizeof(when));
		if (c->health != HEALTH_NONE) {
			snprintf(out, size, "Up %s (%s)%s", when,
				 c->health == HEALTH_STARTING ? "health: starting" : health_status_name(c->health),
				 c->state == CS_STOPPING ? " stopping" : "");
		} else {
			snprintf(out, size, "Up %s%s", when, c->state == CS_STOPPING ? " (stopping)" : "");
		}
		return;
	case CS_STARTING:
		snprintf(out, size, "Starting");
		return;
	case CS_RESTARTING:
		ago(now - c->finished_ms, when, sizeof(when));
		snprintf(out, size, "Restarting (%d) %s ago%s", c->exit_code, when,
			 c->oom_killed ? " (out of memory)" : "");
		return;
	case CS_EXITED:
		if (c->waiting_for[0] != '\0') {
			snprintf(out, size, "Waiting: %s", c->waiting_for);
			return;
		}
		if (c->finished_ms == 0) {
			snprintf(out, size, "Created");
			return;
		}
		ago(now - c->finished_ms, when, sizeof(when));
		snprintf(out, size, "Exited (%d) %s ago%s%s%s", c->exit_code, when,
			 c->oom_killed ? " (out of memory)" : "", c->error[0] != '\0' ? ": " : "", c->error);
		return;
	case CS_CREATED:
		snprintf(out, size, "%s%s", c->waiting_for[0] != '\0' ? "Waiting: " : "Created", c->waiting_for);
		return;
	case CS_FAILED:
		if (!c->has_def && c->waiting_for[0] != '\0') {
			snprintf(out, size, "Waiting: %s", c->waiting_for);
			return;
		}
		snprintf(out, size, "Error: %s", c->error);
		return;
	}
	snprintf(out, size, "?");
}
