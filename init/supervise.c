/* Services (see supervise.h). Runs in PID 1. */
#include "init/supervise.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "init/loop.h"
#include "init/restart.h"
#include "lib/berr.h"
#include "lib/cleanup.h"
#include "lib/fsutil.h"
#include "lib/log.h"
#include "lib/proc.h"
#include "lib/timeutil.h"

#define LINE_MAX_BYTES 900
#define DEFAULT_GRACE_MS 5000u
#define KILL_WAIT_MS 2000u

struct service {
	char name[32];
	char *path;
	char *argv[SVC_MAX_ARGS];
	unsigned flags;
	int stop_signal;
	uint32_t grace_ms;
	int oom_score_adj;
	int limit_caps;
	uint64_t caps;
	pid_t pid;
	uint64_t started_ms;
	uint64_t restart_at_ms; /* 0: not scheduled */
	int replaced;		/* stopped to start again with new arguments */
	int retired;		/* stopped for good (svc_retire) */
	int awaited;		/* svc_after_retired waits for its end */
	struct restart_state restart;
	/* Output: a pipe read by the loop, split into log lines. */
	struct watch out;
	char line[LINE_MAX_BYTES + 1];
	size_t line_len;
};

static struct service services[SVC_MAX];
static size_t nservices;
static char console_path[64] = "/dev/console";
static char *const *service_env;
static int stopping;
/* svc_after_retired's pending wait: done is NULL when there is none. */
static void (*retired_done)(void);
static uint64_t retired_deadline_ms;

void svc_setup(const char *console, char *const *env)
{
	copy_string(console_path, sizeof(console_path), console);
	service_env = env;
}

int svc_add(const struct svc_def *def)
{
	if (nservices == SVC_MAX) {
		blog_err("too many services; %s not added", def->name);
		return -ENOSPC;
	}
	struct service *s = &services[nservices];
	memset(s, 0, sizeof(*s));
	copy_string(s->name, sizeof(s->name), def->name);
	s->path = strdup(def->path ? def->path : def->argv[0]);
	for (size_t i = 0; i + 1 < SVC_MAX_ARGS && def->argv[i] != NULL; i++) {
		s->argv[i] = strdup(def->argv[i]);
		if (s->argv[i] == NULL) {
			return -ENOMEM;
		}
	}
	if (s->path == NULL) {
		return -ENOMEM;
	}
	s->flags = def->flags;
	s->stop_signal = def->stop_signal ? def->stop_signal : SIGTERM;
	s->grace_ms = def->grace_ms ? def->grace_ms : DEFAULT_GRACE_MS;
	s->oom_score_adj = def->oom_score_adj;
	s->limit_caps = def->limit_caps;
	s->caps = def->caps;
	s->out.fd = -1;
	restart_init(&s->restart);
	nservices++;
	return 0;
}

static void flush_line(struct service *s)
{
	if (s->line_len > 0) {
		s->line[s->line_len] = '\0';
		blog_as(BLOG_INFO, s->name, "%s", s->line);
		s->line_len = 0;
	}
}

static void close_output(struct service *s)
{
	if (s->out.fd >= 0) {
		loop_del(&s->out);
		close(s->out.fd);
		s->out.fd = -1;
	}
	flush_line(s);
}

static void on_output(struct watch *w, uint32_t events)
{
	struct service *s = (struct service *)((char *)w - offsetof(struct service, out));
	char buf[4096];
	(void)events;
	for (;;) {
		ssize_t n = read(w->fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n < 0 && errno == EAGAIN) {
			return;
		}
		if (n <= 0) {
			close_output(s);
			return;
		}
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] == '\n') {
				flush_line(s);
			} else if (buf[i] != '\r') {
				s->line[s->line_len++] = buf[i];
				if (s->line_len == LINE_MAX_BYTES) {
					flush_line(s);
				}
			}
		}
	}
}

static void schedule_retry(struct service *s, uint64_t now_ms)
{
	uint32_t delay;
	restart_on_exit(&s->restart, now_ms, 0, &delay);
	s->restart_at_ms = now_ms + delay;
}

static void svc_start(struct service *s, uint64_t now_ms)
{
	struct berr err;
	auto_close int tty = -1;
	int pipefd[2] = {-1, -1};
	struct spawn_opts o = {
		.path = s->path,
		.argv = s->argv,
		.envp = service_env,
		.stdin_fd = -1,
		.stdout_fd = -1,
		.stderr_fd = -1,
		.cwd = "/",
		.oom_score_adj = s->oom_score_adj,
		.limit_caps = s->limit_caps,
		.caps = s->caps,
	};
	s->restart_at_ms = 0;
	if (s->flags & SVC_CONSOLE) {
		tty = open(console_path, O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (tty < 0) {
			blog_err("%s: open %s: %s", s->name, console_path, strerror(errno));
			schedule_retry(s, now_ms);
			return;
		}
		o.stdin_fd = o.stdout_fd = o.stderr_fd = tty;
		o.controlling_tty = 1;
		o.cwd = "/root";
	} else if (pipe2(pipefd, O_CLOEXEC) == 0) {
		o.stdout_fd = o.stderr_fd = pipefd[1];
	} else {
		blog_warn("%s: no pipe for its output (%s); discarding it", s->name, strerror(errno));
	}
	int ret = proc_spawn(&o, &s->pid, &err);
	if (pipefd[1] >= 0) {
		close(pipefd[1]);
	}
	if (ret < 0) {
		if (pipefd[0] >= 0) {
			close(pipefd[0]);
		}
		blog_err("%s: %s", s->name, err.msg);
		s->pid = 0;
		schedule_retry(s, now_ms);
		return;
	}
	if (pipefd[0] >= 0) {
		close_output(s);
		fcntl(pipefd[0], F_SETFL, O_NONBLOCK);
		s->out.fd = pipefd[0];
		s->out.ready = on_output;
		if (loop_add(&s->out) < 0) {
			close(s->out.fd);
			s->out.fd = -1;
		}
	}
	s->started_ms = now_ms;
	blog_info("started %s (pid %d)", s->name, (int)s->pid);
}

void svc_start_all(uint64_t now_ms)
{
	for (size_t i = 0; i < nservices; i++) {
		svc_start(&services[i], now_ms);
	}
}

static struct service *find(const char *name)
{
	for (size_t i = 0; i < nservices; i++) {
		if (strcmp(services[i].name, name) == 0) {
			return &services[i];
		}
	}
	return NULL;
}

/* The new arguments, or -ENOMEM with the old ones kept. */
static int set_args(struct service *s, const struct svc_def *def)
{
	char *argv[SVC_MAX_ARGS] = {0};
	char *path = strdup(def->path ? def->path : def->argv[0]);
	int ok = path != NULL;
	for (size_t i = 0; ok && i + 1 < SVC_MAX_ARGS && def->argv[i] != NULL; i++) {
		argv[i] = strdup(def->argv[i]);
		ok = argv[i] != NULL;
	}
	char **drop = ok ? s->argv : argv;
	for (size_t i = 0; i < SVC_MAX_ARGS; i++) {
		free(drop[i]);
	}
	if (!ok) {
		free(path);
		return -ENOMEM;
	}
	free(s->path);
	s->path = path;
	memcpy(s->argv, argv, sizeof(argv));
	return 0;
}

static int same_args(const struct service *s, const struct svc_def *def)
{
	size_t i = 0;
	for (; def->argv[i] != NULL && s->argv[i] != NULL; i++) {
		if (strcmp(def->argv[i], s->argv[i]) != 0) {
			return 0;
		}
	}
	return def->argv[i] == NULL && s->argv[i] == NULL && !s->retired;
}

int svc_replace(const struct svc_def *def, uint64_t now_ms)
{
	struct service *s = find(def->name);
	if (s == NULL) {
		return svc_add_start(def, now_ms);
	}
	if (stopping || (same_args(s, def) && !s->retired)) {
		return 0;
	}
	int ret = set_args(s, def);
	if (ret < 0) {
		return ret;
	}
	s->retired = 0;
	s->awaited = 0;
	if (s->pid > 0) {
		s->replaced = 1;
		kill(-s->pid, s->stop_signal);
		kill(-s->pid, SIGCONT);
	} else {
		s->restart_at_ms = now_ms;
	}
	blog_info("%s: new arguments; %s", s->name, s->pid > 0 ? "restarting it" : "starting it");
	return 0;
}

void svc_retire(const char *name)
{
	struct service *s = find(name);
	if (s == NULL || s->retired) {
		return;
	}
	s->retired = 1;
	s->replaced = 0;
	s->restart_at_ms = 0;
	if (s->pid > 0) {
		kill(-s->pid, s->stop_signal);
		kill(-s->pid, SIGCONT);
	}
	blog_info("%s: stopped for good", s->name);
}

void svc_retire_await(const char *name)
{
	svc_retire(name);
	struct service *s = find(name);
	if (s != NULL && s->pid > 0) {
		s->awaited = 1;
	}
}

void svc_after_retired(uint64_t deadline_ms, void (*done)(void))
{
	retired_deadline_ms = deadline_ms;
	retired_done = done;
}

/* Whether svc_after_retired's wait is over: every awaited service has
 * ended, or its time is up (then those left are let go). */
static int retired_wait_over(uint64_t now_ms)
{
	int running = 0;
	for (size_t i = 0; i < nservices; i++) {
		const struct service *s = &services[i];
		running |= s->awaited && s->pid > 0;
	}
	if (running && now_ms < retired_deadline_ms) {
		return 0;
	}
	for (size_t i = 0; i < nservices; i++) {
		struct service *s = &services[i];
		if (s->awaited && s->pid > 0) {
			blog_warn("%s: still running after it was told to stop; going on without it", s->name);
		}
		s->awaited = 0;
	}
	return 1;
}

int svc_add_start(const struct svc_def *def, uint64_t now_ms)
{
	if (stopping) {
		return -ESHUTDOWN;
	}
	int ret = svc_add(def);
	if (ret == 0) {
		svc_start(&services[nservices - 1], now_ms);
	}
	return ret;
}

static void describe_status(int status, char *buf, size_t size)
{
	if (WIFEXITED(status)) {
		snprintf(buf, size, "exited with status %d", WEXITSTATUS(status));
	} else if (WIFSIGNALED(status)) {
		snprintf(buf, size, "was killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
	} else {
		snprintf(buf, size, "ended (status 0x%x)", (unsigned)status);
	}
}

int svc_child_exited(pid_t pid, int status, uint64_t now_ms)
{
	for (size_t i = 0; i < nservices; i++) {
		struct service *s = &services[i];
		if (s->pid != pid) {
			continue;
		}
		s->pid = 0;
		if (stopping || s->retired) {
			return 1;
		}
		if (s->replaced) {
			s->replaced = 0;
			restart_init(&s->restart);
			s->restart_at_ms = now_ms; /* at once: the next tick */
			return 1;
		}
		char how[96];
		describe_status(status, how, sizeof(how));
		uint32_t delay;
		uint64_t ran = now_ms - s->started_ms;
		switch (restart_on_exit(&s->restart, now_ms, ran, &delay)) {
		case RESTART_CRASH_LOOP:
			blog_err("%s %s; it is crash looping (%u exits within %u s), restarting it only every %u s",
				 s->name, how, CRASH_LOOP_EXITS, CRASH_LOOP_WINDOW_MS / 1000, RESTART_MAX_MS / 1000);
			break;
		case RESTART_RECOVERED:
			blog_notice("%s %s after running %llu s; it is no longer crash looping", s->name, how,
				    (unsigned long long)(ran / 1000));
			break;
		case RESTART_NORMAL:
			blog(s->flags & SVC_CONSOLE ? BLOG_INFO : BLOG_WARN, "%s %s; restarting it in %u ms", s->name,
			     how, delay);
			break;
		}
		s->restart_at_ms = now_ms + delay;
		return 1;
	}
	return 0;
}

int svc_timeout_ms(uint64_t now_ms)
{
	int64_t best = -1;
	if (retired_done != NULL) {
		best = retired_deadline_ms > now_ms ? (int64_t)(retired_deadline_ms - now_ms) : 0;
	}
	for (size_t i = 0; i < nservices; i++) {
		const struct service *s = &services[i];
		if (s->pid != 0 || s->restart_at_ms == 0) {
			continue;
		}
		int64_t left = s->restart_at_ms > now_ms ? (int64_t)(s->restart_at_ms - now_ms) : 0;
		if (best < 0 || left < best) {
			best = left;
		}
	}
	return best > 0x7fffffff ? 0x7fffffff : (int)best;
}

void svc_tick(uint64_t now_ms)
{
	if (stopping) {
		return;
	}
	if (retired_done != NULL && retired_wait_over(now_ms)) {
		/* Cleared first: done may start another wait. */
		void (*done)(void) = retired_done;
		retired_done = NULL;
		done();
	}
	for (size_t i = 0; i < nservices; i++) {
		struct service *s = &services[i];
		if (s->pid == 0 && s->restart_at_ms != 0 && s->restart_at_ms <= now_ms) {
			svc_start(s, now_ms);
		}
	}
}

pid_t svc_pid(const char *name)
{
	const struct service *s = find(name);
	return s != NULL ? s->pid : 0;
}

/* What services say while they stop (berthd tells which container it is
 * stopping) still goes to the log: the event loop no longer runs. */
static void drain_outputs(void)
{
	for (size_t i = 0; i < nservices; i++) {
		if (services[i].out.fd >= 0) {
			on_output(&services[i].out, 0);
		}
	}
}

/* Waits for one service to end, reaping whatever else ends meanwhile. */
static void wait_service(struct service *s, uint64_t deadline_ms)
{
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	for (;;) {
		pid_t pid;
		int status;
		drain_outputs();
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
			svc_child_exited(pid, status, monotonic_ms());
		}
		uint64_t now = monotonic_ms();
		if (s->pid == 0 || now >= deadline_ms) {
			return;
		}
		uint64_t wait = deadline_ms - now < 100 ? deadline_ms - now : 100;
		struct timespec ts = {0, (long)(wait * 1000000)};
		sigtimedwait(&chld, NULL, &ts);
	}
}

void svc_stop_all(uint64_t deadline_ms)
{
	stopping = 1;
	for (size_t i = nservices; i-- > 0;) {
		struct service *s = &services[i];
		s->restart_at_ms = 0;
		if (s->pid <= 0) {
			continue;
		}
		/* The whole process group: the service's own children too. */
		kill(-s->pid, s->stop_signal);
		kill(-s->pid, SIGCONT);
		uint64_t now = monotonic_ms();
		uint64_t until = now + s->grace_ms < deadline_ms ? now + s->grace_ms : deadline_ms;
		wait_service(s, until);
		if (s->pid > 0) {
			blog_warn("%s did not stop within %llu ms; killing it", s->name,
				  (unsigned long long)(monotonic_ms() - now));
			kill(-s->pid, SIGKILL);
			wait_service(s, monotonic_ms() + KILL_WAIT_MS);
		} else {
			blog_info("stopped %s", s->name);
		}
		drain_outputs();
		close_output(s);
	}
}
