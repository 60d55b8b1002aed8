/* berthd's event loop (see daemon.h). */
#include "daemon/daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/fsutil.h"
#include "lib/log.h"
#include "lib/proc.h"
#include "lib/timeutil.h"

struct daemon D = {.epfd = -1, .timerfd = -1};

int watch_add(struct watch *w, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = w};
	if (epoll_ctl(D.epfd, EPOLL_CTL_ADD, w->fd, &ev) < 0) {
		blog_err("epoll add fd %d: %s", w->fd, strerror(errno));
		return -errno;
	}
	return 0;
}

void watch_del(struct watch *w)
{
	if (w->fd >= 0) {
		epoll_ctl(D.epfd, EPOLL_CTL_DEL, w->fd, NULL);
	}
}

void loop_rearm_timer(void)
{
	int64_t next = D.hooks.next_deadline != NULL ? D.hooks.next_deadline() : -1;
	struct itimerspec its = {0};
	if (next >= 0) {
		int64_t delay = next - (int64_t)monotonic_ms();
		if (delay < 1) {
			delay = 1;
		}
		its.it_value.tv_sec = delay / 1000;
		its.it_value.tv_nsec = (delay % 1000) * 1000000;
	}
	timerfd_settime(D.timerfd, 0, &its, NULL);
}

static void on_timer(struct watch *w, uint32_t events)
{
	(void)events;
	uint64_t expirations;
	if (read(w->fd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN) {
		blog_warn("timerfd: %s", strerror(errno));
	}
	if (D.hooks.deadline != NULL) {
		D.hooks.deadline();
	}
}

int loop_setup(const struct loop_hooks *hooks, struct berr *err)
{
	D.hooks = *hooks;
	D.epfd = epoll_create1(EPOLL_CLOEXEC);
	D.timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (D.epfd < 0 || D.timerfd < 0) {
		return berr_set(err, errno, "event loop");
	}
	D.timer_watch = (struct watch){.fd = D.timerfd, .fn = on_timer};
	return watch_add(&D.timer_watch, EPOLLIN);
}

int loop_run_once(void)
{
	/* One event at a time: handling one may free the owner of another
	 * that is already in the batch. */
	struct epoll_event ev;
	int n = epoll_wait(D.epfd, &ev, 1, -1);
	if (n < 0 && errno != EINTR) {
		blog_err("epoll_wait: %s", strerror(errno));
		return -1;
	}
	if (n == 1) {
		struct watch *w = ev.data.ptr;
		w->fn(w, ev.events);
	}
	return 0;
}

struct child *child_add(pid_t pid, void (*done)(struct child *, int), void *ctx)
{
	struct child *ch = calloc(1, sizeof(*ch));
	if (ch == NULL) {
		return NULL;
	}
	ch->pid = pid;
	ch->done = done;
	ch->ctx = ctx;
	ch->next = D.children;
	D.children = ch;
	return ch;
}

void loop_reap(void)
{
	int status;
	pid_t pid;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		struct child **p = &D.children;
		while (*p != NULL && (*p)->pid != pid) {
			p = &(*p)->next;
		}
		if (*p != NULL) {
			struct child *ch = *p;
			*p = ch->next;
			if (ch->done != NULL) {
				ch->done(ch, status);
			}
			free(ch);
		}
	}
}

int oci_run(char *const *args, int wait, struct berr *err)
{
	const char *argv[24];
	size_t n = 0;
	argv[n++] = "berth-oci";
	argv[n++] = "--root";
	argv[n++] = OCI_ROOT;
	for (size_t i = 0; args[i] != NULL && n < 23; i++) {
		argv[n++] = args[i];
	}
	argv[n] = NULL;
	int out[2] = {-1, -1};
	if (wait && pipe2(out, O_CLOEXEC) < 0) {
		return berr_set(err, errno, "pipe");
	}
	struct spawn_opts so = {
		.path = "/proc/self/exe",
		.argv = (char *const *)argv,
		.stdin_fd = -1,
		.stdout_fd = -1,
		.stderr_fd = out[1],
	};
	pid_t pid = 0;
	int ret = proc_spawn(&so, &pid, err);
	if (out[1] >= 0) {
		close(out[1]);
	}
	if (ret < 0) {
		if (out[0] >= 0) {
			close(out[0]);
		}
		return ret;
	}
	if (!wait) {
		child_add(pid, NULL, NULL);
		return 0;
	}
	char msg[900];
	size_t len = 0;
	ssize_t r;
	while ((r = read(out[0], msg + len, sizeof(msg) - 1 - len)) > 0 || (r < 0 && errno == EINTR)) {
		len += r > 0 ? (size_t)r : 0;
		if (len == sizeof(msg) - 1) {
			break;
		}
	}
	close(out[0]);
	msg[len] = '\0';
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
	}
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	if (code != 0) {
		berr_setx(err, EIO, "berth-oci %s: %s", args[0], trim_end(msg));
	}
	return code;
}
