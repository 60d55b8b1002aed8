/* Services (see supervise.h). Runs in PID 1: a service that cannot start
 * is logged and retried later; it never stops the others. */
#include "supervise.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "berr.h"
#include "cleanup.h"
#include "fsutil.h"
#include "log.h"
#include "proc.h"
#include "restart.h"
#include "timeutil.h"

enum {
	SVC_CONSOLE = 1, /* runs on the console with it as controlling tty */
};

struct service {
	const char *name;
	const char *path;
	char *argv[8];
	unsigned flags;
	int stop_signal;
	pid_t pid;
	uint64_t started_ms;
	uint64_t restart_at_ms; /* 0: not scheduled */
	struct restart_state restart;
};

static char *const service_env[] = {
	"PATH=/usr/sbin:/usr/bin:/sbin:/bin",
	"HOME=/root",
	"USER=root",
	"LOGNAME=root",
	"SHELL=/bin/sh",
	"TERM=vt220",
	NULL,
};

/* The table. Order is start order; shutdown goes the other way. */
static struct service services[] = {
	{
		.name = "console",
		.path = "/bin/sh",
		.argv = {"-sh", NULL},
		.flags = SVC_CONSOLE,
		/* An interactive shell ignores SIGTERM; a hangup ends it. */
		.stop_signal = SIGHUP,
	},
};

#define NSERVICES (sizeof(services) / sizeof(services[0]))

static char console_path[64] = "/dev/console";
static int stopping;

void svc_init(const char *console)
{
	copy_string(console_path, sizeof(console_path), console);
	for (size_t i = 0; i < NSERVICES; i++) {
		restart_init(&services[i].restart);
	}
}

static void svc_start(struct service *s, uint64_t now_ms)
{
	struct berr err;
	auto_close int tty = -1;
	struct spawn_opts o = {
		.path = s->path,
		.argv = s->argv,
		.envp = service_env,
		.stdin_fd = -1,
		.stdout_fd = -1,
		.stderr_fd = -1,
		.cwd = "/",
	};
	s->restart_at_ms = 0;
	if (s->flags & SVC_CONSOLE) {
		tty = open(console_path, O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (tty < 0) {
			blog_err("%s: open %s: %s", s->name, console_path, strerror(errno));
			s->restart_at_ms = now_ms + RESTART_MAX_MS;
			return;
		}
		o.stdin_fd = o.stdout_fd = o.stderr_fd = tty;
		o.controlling_tty = 1;
		o.cwd = "/root";
	}
	if (proc_spawn(&o, &s->pid, &err) < 0) {
		blog_err("%s: %s", s->name, err.msg);
		uint32_t delay;
		restart_on_exit(&s->restart, now_ms, 0, &delay);
		s->pid = 0;
		s->restart_at_ms = now_ms + delay;
		return;
	}
	s->started_ms = now_ms;
	blog_info("started %s (pid %d)", s->name, (int)s->pid);
}

void svc_start_all(uint64_t now_ms)
{
	for (size_t i = 0; i < NSERVICES; i++) {
		svc_start(&services[i], now_ms);
	}
}

static void describe_status(int status, char *buf, size_t size)
{
	if (WIFEXITED(status)) {
		snprintf(buf, size, "exited with status %d", WEXITSTATUS(status));
	} else if (WIFSIGNALED(status)) {
		snprintf(buf, size, "killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
	} else {
		snprintf(buf, size, "ended (status 0x%x)", (unsigned)status);
	}
}

int svc_child_exited(pid_t pid, int status, uint64_t now_ms)
{
	for (size_t i = 0; i < NSERVICES; i++) {
		struct service *s = &services[i];
		if (s->pid != pid) {
			continue;
		}
		s->pid = 0;
		if (stopping) {
			return 1;
		}
		char how[96];
		describe_status(status, how, sizeof(how));
		uint32_t delay;
		uint64_t ran = now_ms - s->started_ms;
		switch (restart_on_exit(&s->restart, now_ms, ran, &delay)) {
		case RESTART_CRASH_LOOP:
			blog_err("%s %s; crash loop (%u exits within %u s), restarting only every %u s", s->name, how,
				 CRASH_LOOP_EXITS, CRASH_LOOP_WINDOW_MS / 1000, RESTART_MAX_MS / 1000);
			break;
		case RESTART_RECOVERED:
			blog_notice("%s %s after running %llu s; no longer crash looping", s->name, how,
				    (unsigned long long)(ran / 1000));
			break;
		case RESTART_NORMAL:
			blog(s->flags & SVC_CONSOLE ? BLOG_INFO : BLOG_WARN, "%s %s; restarting in %u ms", s->name, how,
			     delay);
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
	for (size_t i = 0; i < NSERVICES; i++) {
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
	for (size_t i = 0; i < NSERVICES; i++) {
		struct service *s = &services[i];
		if (s->pid == 0 && s->restart_at_ms != 0 && s->restart_at_ms <= now_ms) {
			svc_start(s, now_ms);
		}
	}
}

static int any_running(void)
{
	for (size_t i = 0; i < NSERVICES; i++) {
		if (services[i].pid != 0) {
			return 1;
		}
	}
	return 0;
}

/* Reaps children without blocking, marking services that ended. */
static void reap_services(void)
{
	pid_t pid;
	int status;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		svc_child_exited(pid, status, monotonic_ms());
	}
}

static void wait_services(uint64_t deadline_ms)
{
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	for (;;) {
		reap_services();
		uint64_t now = monotonic_ms();
		if (!any_running() || now >= deadline_ms) {
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
	for (size_t i = NSERVICES; i-- > 0;) {
		struct service *s = &services[i];
		s->restart_at_ms = 0;
		if (s->pid > 0) {
			/* The whole process group: the service's own children too. */
			kill(-s->pid, s->stop_signal);
			kill(-s->pid, SIGCONT);
		}
	}
	wait_services(deadline_ms);
	for (size_t i = 0; i < NSERVICES; i++) {
		struct service *s = &services[i];
		if (s->pid > 0) {
			blog_warn("%s did not stop in time; killing it", s->name);
			kill(-s->pid, SIGKILL);
		}
	}
	wait_services(monotonic_ms() + 2000);
}
