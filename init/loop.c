/* Event loop (see loop.h). Runs in PID 1: an error in one handler is
 * logged and the loop goes on. */
#include "init/loop.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "init/shutdown.h"
#include "init/supervise.h"
#include "lib/log.h"
#include "lib/timeutil.h"

static int epfd = -1;
static struct watch signal_watch = {.fd = -1};
static int requested = -1;
static void (*on_hangup)(void);

void loop_on_hangup(void (*fn)(void))
{
	on_hangup = fn;
}

void loop_request_shutdown(int action)
{
	if (requested < 0) {
		requested = action;
	}
}

static void reap_children(void)
{
	pid_t pid;
	int status;
	/* Every child, services and orphans alike: no zombie outlives a turn. */
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		svc_child_exited(pid, status, monotonic_ms());
	}
}

static void on_signal(struct watch *w, uint32_t events)
{
	(void)events;
	struct signalfd_siginfo si;
	while (read(w->fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		int action = -1;
		switch (si.ssi_signo) {
		case SIGCHLD:
			reap_children();
			break;
		case SIGUSR2:
		case SIGPWR:
			action = SHUTDOWN_POWEROFF;
			break;
		case SIGTERM:
		case SIGINT: /* Ctrl-Alt-Del, once RB_DISABLE_CAD is set */
			action = SHUTDOWN_REBOOT;
			break;
		case SIGUSR1:
			action = SHUTDOWN_HALT;
			break;
		case SIGHUP:
			if (on_hangup != NULL && si.ssi_pid != 0) {
				blog_notice("reloading host.yaml (SIGHUP from pid %u)", si.ssi_pid);
				on_hangup();
			}
			break;
		default:
			break;
		}
		if (action >= 0 && requested < 0) {
			blog_notice("%s requested by signal %s from pid %u", shutdown_action_name(action),
				    strsignal((int)si.ssi_signo), si.ssi_pid);
			requested = action;
		}
	}
}

int loop_init(void)
{
	sigset_t all;
	sigfillset(&all);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0) {
		return -errno;
	}
	signal_watch.fd = signalfd(-1, &all, SFD_NONBLOCK | SFD_CLOEXEC);
	if (signal_watch.fd < 0) {
		return -errno;
	}
	signal_watch.ready = on_signal;
	return loop_add(&signal_watch);
}

int loop_add(struct watch *w)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = w};
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, w->fd, &ev) < 0) {
		return -errno;
	}
	return 0;
}

void loop_del(struct watch *w)
{
	epoll_ctl(epfd, EPOLL_CTL_DEL, w->fd, NULL);
}

int loop_run(void)
{
	/* Children that ended before the loop existed. */
	reap_children();
	while (requested < 0) {
		struct epoll_event evs[16];
		int timeout = svc_timeout_ms(monotonic_ms());
		int n = epoll_wait(epfd, evs, 16, timeout);
		if (n < 0 && errno != EINTR) {
			blog_err("epoll_wait: %s", strerror(errno));
			sleep(1);
			continue;
		}
		for (int i = 0; i < n; i++) {
			struct watch *w = evs[i].data.ptr;
			w->ready(w, evs[i].events);
		}
		if (requested < 0) {
			svc_tick(monotonic_ms());
		}
	}
	return requested;
}
