/* berthd's pulls (see pulls.h). A pull runs in a forked child that uses
 * the registry client on the store directly (the store is safe to change
 * beside berthd) and writes one line back through a pipe: empty when it
 * worked, else the error. Errors name images, registries and URLs, never
 * credentials (registry.h). */
#include "daemon/pulls.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/ctr.h"
#include "daemon/daemon.h"
#include "daemon/images.h"
#include "lib/fsutil.h"
#include "lib/hostcfg.h"
#include "lib/log.h"
#include "registry/registry.h"

#define RETRY_FIRST_MS 1000
#define RETRY_MAX_MS 60000

enum pull_state {
	PULL_RUNNING,
	PULL_RETRY, /* failed; tried again at next_ms */
	PULL_DONE,
};

struct pull {
	struct pull *next;
	char ref[256];
	enum pull_state state;
	int attempt;
	int64_t next_ms;
	int64_t delay_ms;
	pid_t pid;
	int result_fd;
	char error[1100];
};

static struct pull *pulls;
static void (*on_changed)(void);
static void (*on_failed)(const char *ref);

void pulls_init(void (*changed)(void), void (*failed)(const char *ref))
{
	on_changed = changed;
	on_failed = failed;
}

static int64_t now_ms(void)
{
	return now_mono_ms();
}

static struct pull *find(const char *ref)
{
	for (struct pull *p = pulls; p != NULL; p = p->next) {
		if (strcmp(p->ref, ref) == 0) {
			return p;
		}
	}
	return NULL;
}

/* In the child: the pull itself; the error (or nothing) to fd. */
static void __attribute__((noreturn)) child_pull(const char *ref, int fd)
{
	struct host_config *host = malloc(sizeof(*host));
	char path[PATH_MAX];
	struct berr err = {0};
	int ret = host == NULL ? berr_set(&err, ENOMEM, "pull") : 0;
	if (ret == 0) {
		hostcfg_defaults(host);
		if (path_join(path, sizeof(path), D.config_dir, "host.yaml") == 0) {
			hostcfg_load(host, path, "host.yaml");
		}
	}
	struct store *s = NULL;
	if (ret == 0) {
		ret = store_open(&s, STORE_DIR, &err);
	}
	struct registry_pulled res;
	if (ret == 0) {
		struct registry_opts o = {.host = host, .config_dir = D.config_dir, .login_file = REGISTRY_HOST_LOGIN};
		ret = registry_pull(s, ref, &o, &res, &err);
	}
	if (ret == 0) {
		char msg[600];
		int n = snprintf(msg, sizeof(msg), "pulled %s (%s, %zu layers, %zu new, %llu bytes)", ref, res.digest,
				 res.nlayers, res.new_layers, (unsigned long long)res.bytes);
		(void)write_all(fd, "\n", 1);
		(void)write_all(fd, msg, n > 0 ? (size_t)n : 0);
	} else {
		(void)write_all(fd, err.msg, strlen(err.msg));
	}
	_exit(ret == 0 ? 0 : 1);
}

static void pull_done(struct child *ch, int status)
{
	struct pull *p = ch->ctx;
	char buf[1024] = "";
	ssize_t n = read(p->result_fd, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	close(p->result_fd);
	p->result_fd = -1;
	p->pid = 0;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		blog_info("%s", buf[0] == '\n' ? buf + 1 : buf);
		p->state = PULL_DONE;
		p->error[0] = '\0';
		if (on_changed != NULL) {
			on_changed();
		}
		return;
	}
	if (buf[0] == '\0') {
		snprintf(buf, sizeof(buf), "the pull ended abnormally (status %d)", status);
	}
	p->state = PULL_RETRY;
	p->delay_ms = p->delay_ms == 0 ? RETRY_FIRST_MS : p->delay_ms * 2;
	if (p->delay_ms > RETRY_MAX_MS) {
		p->delay_ms = RETRY_MAX_MS;
	}
	p->next_ms = now_ms() + p->delay_ms;
	snprintf(p->error, sizeof(p->error), "%s", buf);
	blog_warn("pull of %s failed (attempt %d): %s; trying again in %lld s", p->ref, p->attempt, buf,
		  (long long)(p->delay_ms / 1000));
	loop_rearm_timer();
	if (on_failed != NULL) {
		on_failed(p->ref); /* the waiting services show why */
	}
}

static void run(struct pull *p)
{
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0) {
		blog_err("pull %s: pipe: %s", p->ref, strerror(errno));
		return;
	}
	pid_t pid = fork();
	if (pid < 0) {
		blog_err("pull %s: fork: %s", p->ref, strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return;
	}
	if (pid == 0) {
		close(fds[0]);
		/* berthd blocks these for its signalfd; the pull's threads
		 * must not inherit a mask that leaves SIGPIPE and the like. */
		sigset_t all;
		sigfillset(&all);
		sigprocmask(SIG_UNBLOCK, &all, NULL);
		signal(SIGPIPE, SIG_IGN);
		child_pull(p->ref, fds[1]);
	}
	close(fds[1]);
	p->pid = pid;
	p->result_fd = fds[0];
	p->state = PULL_RUNNING;
	p->attempt++;
	blog_info("pulling %s%s", p->ref, p->attempt > 1 ? " (again)" : "");
	if (child_add(pid, pull_done, p) == NULL) {
		kill(pid, SIGKILL);
	}
}

void pulls_start(const char *ref)
{
	struct pull *p = find(ref);
	if (p != NULL && (p->state == PULL_RUNNING || p->state == PULL_RETRY)) {
		return;
	}
	if (p == NULL) {
		p = calloc(1, sizeof(*p));
		if (p == NULL) {
			return;
		}
		snprintf(p->ref, sizeof(p->ref), "%s", ref);
		p->result_fd = -1;
		p->next = pulls;
		pulls = p;
	}
	p->attempt = 0;
	p->delay_ms = 0;
	run(p);
}

int pulls_status(const char *ref, char *out, size_t size)
{
	struct pull *p = find(ref);
	if (p == NULL) {
		return 0;
	}
	switch (p->state) {
	case PULL_RUNNING:
		if (p->attempt > 1) {
			snprintf(out, size, "pulling image %s (attempt %d; the last said: %.300s)", ref, p->attempt,
				 p->error);
		} else {
			snprintf(out, size, "pulling image %s", ref);
		}
		break;
	case PULL_RETRY: {
		int64_t left = (p->next_ms - now_ms() + 999) / 1000;
		/* The error last: ps -a keeps the start of a long line. */
		snprintf(out, size, "pull of image %s failed (attempt %d; trying again in %lld s): %.300s", ref,
			 p->attempt, (long long)(left > 0 ? left : 0), p->error);
		break;
	}
	case PULL_DONE:
		snprintf(out, size, "image %s pulled", ref);
		break;
	}
	return 1;
}

int64_t pulls_next_deadline(void)
{
	int64_t next = -1;
	for (struct pull *p = pulls; p != NULL; p = p->next) {
		if (p->state == PULL_RETRY && (next < 0 || p->next_ms < next)) {
			next = p->next_ms;
		}
	}
	return next;
}

void pulls_tick(void)
{
	int64_t now = now_ms();
	for (struct pull *p = pulls; p != NULL; p = p->next) {
		if (p->state == PULL_RETRY && p->next_ms <= now) {
			run(p);
		}
	}
}
