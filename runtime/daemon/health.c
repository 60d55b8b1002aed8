/* Healthchecks (see health.h). */
#include "daemon/health.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/ctrtab.h"
#include "daemon/daemon.h"
#include "lib/fsutil.h"
#include "lib/log.h"
#include "lib/proc.h"

#define DEFAULT_INTERVAL_MS 30000
#define DEFAULT_TIMEOUT_MS 30000
#define DEFAULT_RETRIES 3

static int64_t interval(const struct ctr *c)
{
	return c->def.health.interval_ms > 0 ? c->def.health.interval_ms : DEFAULT_INTERVAL_MS;
}

static int64_t timeout(const struct ctr *c)
{
	return c->def.health.timeout_ms > 0 ? c->def.health.timeout_ms : DEFAULT_TIMEOUT_MS;
}

static void health_pid_file(const struct ctr *c, char *out, size_t size)
{
	char dir[PATH_MAX];
	if (ctr_run_dir(c->def.name, dir, sizeof(dir)) < 0 || path_join(out, size, dir, "health.pid") < 0) {
		out[0] = '\0';
	}
}

void health_reset(struct ctr *c)
{
	health_stop(c);
	c->health_failing_streak = 0;
	if (c->def.health.ntest == 0) {
		c->health = HEALTH_NONE;
		return;
	}
	c->health = HEALTH_STARTING;
	c->health_next_ms = now_mono_ms() + interval(c);
}

static void on_output(struct watch *w, uint32_t events)
{
	(void)events;
	struct ctr *c = w->ctx;
	char buf[512];
	ssize_t n = read(c->health_out_fd, buf, sizeof(buf));
	if (n < 0 && errno == EINTR) {
		return;
	}
	if (n <= 0) {
		watch_del(&c->health_watch);
		close(c->health_out_fd);
		c->health_out_fd = -1;
		return;
	}
	size_t room = sizeof(c->health_out) - 1 - c->health_out_len;
	size_t take = (size_t)n < room ? (size_t)n : room;
	memcpy(c->health_out + c->health_out_len, buf, take);
	c->health_out_len += take;
	c->health_out[c->health_out_len] = '\0';
}

static void check_exited(struct child *ch, int status);

/* berth-oci exec of the test in the container (malloc'd; NULL: out of
 * memory). ["CMD", args...] runs args; ["CMD-SHELL", "cmd"] runs
 * /bin/sh -c cmd. */
static char **check_argv(const struct ctr *c, char *pidfile)
{
	const struct ctr_health_def *h = &c->def.health;
	size_t first = 0;
	int shell = 0;
	if (h->ntest > 0 && strcmp(h->test[0], "CMD") == 0) {
		first = 1;
	} else if (h->ntest > 0 && strcmp(h->test[0], "CMD-SHELL") == 0) {
		first = 1;
		shell = 1;
	}
	size_t n = 0;
	char **argv = calloc(h->ntest + 12, sizeof(*argv));
	if (argv == NULL) {
		return NULL;
	}
	argv[n++] = "berth-oci";
	argv[n++] = "--root";
	argv[n++] = OCI_ROOT;
	argv[n++] = "exec";
	argv[n++] = "--pid-file";
	argv[n++] = pidfile;
	argv[n++] = c->def.name;
	if (shell) {
		argv[n++] = "/bin/sh";
		argv[n++] = "-c";
		argv[n++] = first < h->ntest ? h->test[first] : "";
	} else {
		for (size_t i = first; i < h->ntest; i++) {
			argv[n++] = h->test[i];
		}
	}
	argv[n] = NULL;
	return argv;
}

static void start_check(struct ctr *c, int64_t now)
{
	char pidfile[PATH_MAX];
	health_pid_file(c, pidfile, sizeof(pidfile));
	unlink(pidfile);
	char **argv = check_argv(c, pidfile);
	if (argv == NULL) {
		return;
	}
	int out[2];
	if (pipe2(out, O_CLOEXEC) < 0) {
		free(argv);
		return;
	}
	struct spawn_opts so = {
		.path = "/proc/self/exe",
		.argv = argv,
		.stdin_fd = -1,
		.stdout_fd = out[1],
		.stderr_fd = out[1],
	};
	struct berr err = {0};
	pid_t pid = 0;
	int ret = proc_spawn(&so, &pid, &err);
	close(out[1]);
	free(argv);
	if (ret == 0 && (c->health_child = child_add(pid, check_exited, c)) == NULL) {
		kill(pid, SIGKILL);
		ret = berr_setx(&err, ENOMEM, "out of memory");
	}
	if (ret < 0) {
		close(out[0]);
		blog_err("%s: healthcheck: %s", c->def.name, err.msg);
		c->health_next_ms = now + interval(c);
		return;
	}
	c->health_pid = pid;
	c->health_out_fd = out[0];
	c->health_out_len = 0;
	c->health_out[0] = '\0';
	c->health_watch = (struct watch){.fd = out[0], .fn = on_output, .ctx = c};
	watch_add(&c->health_watch, EPOLLIN);
	c->health_started_wall_ms = now_wall_ms();
	c->health_started_mono_ms = now;
	c->health_deadline_ms = now + timeout(c);
}

static void kill_check(struct ctr *c)
{
	char pidfile[PATH_MAX];
	health_pid_file(c, pidfile, sizeof(pidfile));
	char buf[32];
	if (read_file(pidfile, buf, sizeof(buf), NULL) > 0) {
		pid_t pid = (pid_t)atoi(buf);
		if (pid > 0) {
			kill(pid, SIGKILL);
		}
	}
	kill(c->health_pid, SIGKILL);
}

void health_tick(struct ctr *c, int64_t now)
{
	if (c->def.health.ntest == 0 || c->health == HEALTH_NONE) {
		return;
	}
	if (c->health_pid > 0) {
		if (now >= c->health_deadline_ms && c->health_deadline_ms > 0) {
			c->health_deadline_ms = 0;
			snprintf(c->health_out, sizeof(c->health_out), "healthcheck timed out after %lld ms",
				 (long long)timeout(c));
			c->health_out_len = strlen(c->health_out);
			kill_check(c);
		}
		return;
	}
	if (now >= c->health_next_ms) {
		start_check(c, now);
	}
}

int64_t health_deadline(const struct ctr *c)
{
	if (c->def.health.ntest == 0 || c->health == HEALTH_NONE) {
		return -1;
	}
	if (c->health_pid > 0) {
		return c->health_deadline_ms > 0 ? c->health_deadline_ms : -1;
	}
	return c->health_next_ms;
}

/* A check process ended. */
static void check_exited(struct child *ch, int status)
{
	struct ctr *c = ch->ctx;
	c->health_child = NULL;
	c->health_pid = 0;
	if (c->health_out_fd >= 0) {
		/* Take what is left in the pipe. */
		on_output(&c->health_watch, EPOLLIN);
		if (c->health_out_fd >= 0) {
			watch_del(&c->health_watch);
			close(c->health_out_fd);
			c->health_out_fd = -1;
		}
	}
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	int timed_out = c->health_deadline_ms == 0;
	if (timed_out) {
		code = -1;
	}
	if (c->health_nlog == HEALTH_LOG_KEEP) {
		memmove(&c->health_log[0], &c->health_log[1], sizeof(c->health_log[0]) * (HEALTH_LOG_KEEP - 1));
		c->health_nlog--;
	}
	struct health_result *r = &c->health_log[c->health_nlog++];
	r->start_ms = c->health_started_wall_ms;
	r->end_ms = now_wall_ms();
	r->exit_code = code;
	copy_string(r->output, sizeof(r->output), c->health_out);
	enum health_status before = c->health;
	if (code == 0) {
		c->health_failing_streak = 0;
		c->health = HEALTH_HEALTHY;
	} else {
		int in_start_period = c->def.health.start_period_ms > 0 &&
				      ctr_ran_ms(c, c->health_started_mono_ms) < c->def.health.start_period_ms;
		if (!in_start_period || c->health == HEALTH_HEALTHY) {
			c->health_failing_streak++;
		}
		int retries = c->def.health.retries > 0 ? c->def.health.retries : DEFAULT_RETRIES;
		if (c->health_failing_streak >= retries) {
			c->health = HEALTH_UNHEALTHY;
		}
	}
	c->health_next_ms = now_mono_ms() + interval(c);
	if (before != c->health) {
		blog_info("%s: %s", c->def.name, health_status_name(c->health));
		ctr_publish(c, CTR_HEALTH);
	}
	loop_rearm_timer();
}

void health_stop(struct ctr *c)
{
	if (c->health_pid > 0) {
		kill_check(c);
		c->health_pid = 0;
	}
	if (c->health_child != NULL) {
		/* It is reaped as any child; nobody waits for its result. */
		c->health_child->done = NULL;
		c->health_child = NULL;
	}
	if (c->health_out_fd >= 0) {
		watch_del(&c->health_watch);
		close(c->health_out_fd);
		c->health_out_fd = -1;
	}
}
