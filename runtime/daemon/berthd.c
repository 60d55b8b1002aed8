/* berthd's entry point and event loop (see daemon.h). Started and
 * restarted by init; its stderr goes to the host log. */
#include "daemon/berthd.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "daemon/api.h"
#include "daemon/apply.h"
#include "daemon/daemon.h"
#include "daemon/images.h"
#include "daemon/network.h"
#include "daemon/sup.h"
#include "lib/cleanup.h"
#include "lib/fsutil.h"
#include "lib/log.h"
#include "lib/proc.h"
#include "proto/proto.h"

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
	int64_t next = sup_next_deadline();
	struct itimerspec its = {0};
	if (next >= 0) {
		int64_t delay = next - now_mono_ms();
		if (delay < 1) {
			delay = 1;
		}
		its.it_value.tv_sec = delay / 1000;
		its.it_value.tv_nsec = (delay % 1000) * 1000000;
	}
	timerfd_settime(D.timerfd, 0, &its, NULL);
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
	ch->conn_fd = -1;
	ch->next = D.children;
	D.children = ch;
	return ch;
}

struct ctr *ctr_find(const char *name)
{
	for (struct ctr *c = D.ctrs; c != NULL; c = c->next) {
		if (c->def.name != NULL && strcmp(c->def.name, name) == 0) {
			return c;
		}
	}
	return NULL;
}

void ctr_link(struct ctr *c)
{
	/* Sorted by name: listings and start order are stable. */
	struct ctr **p = &D.ctrs;
	while (*p != NULL && strcmp((*p)->def.name, c->def.name) < 0) {
		p = &(*p)->next;
	}
	c->next = *p;
	*p = c;
}

void ctr_unlink(struct ctr *c)
{
	for (struct ctr **p = &D.ctrs; *p != NULL; p = &(*p)->next) {
		if (*p == c) {
			*p = c->next;
			c->next = NULL;
			return;
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

/* ---- signals and children ---------------------------------------------------- */

static int got_term;

static void reap(void)
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
			continue;
		}
		sup_child_exited(pid, status);
	}
}

static void on_signal(struct watch *w, uint32_t events)
{
	(void)events;
	struct signalfd_siginfo si;
	while (read(w->fd, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGCHLD:
			reap();
			break;
		case SIGTERM:
		case SIGINT:
			if (!got_term) {
				got_term = 1;
				sup_shutdown();
			}
			break;
		case SIGHUP: {
			blog_notice("SIGHUP: applying %s/compose.yaml", D.config_dir);
			apply_compose(NULL);
			break;
		}
		default:
			break;
		}
	}
}

static void on_timer(struct watch *w, uint32_t events)
{
	(void)events;
	uint64_t expirations;
	if (read(w->fd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN) {
		blog_warn("timerfd: %s", strerror(errno));
	}
	sup_tick();
}

static int make_dirs(void)
{
	static const char *const dirs[] = {
		BERTH_RUN_DIR,	BERTH_RUN_DIR "/c",	      OCI_ROOT,
		BERTH_DATA_DIR, BERTH_DATA_DIR "/containers", BERTH_DATA_DIR "/volumes",
	};
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		struct berr err = {0};
		if (mkdir_p(dirs[i], 0700, &err) < 0) {
			blog_err("%s", err.msg);
			return -1;
		}
	}
	return 0;
}

int berthd_main(int argc, char **argv)
{
	/* Under init, whose log already names the service, no prefix. */
	blog_init(getppid() == 1 ? "" : "berthd", -1);
	const char *config_dir = getenv("BERTH_CONFIG_DIR");
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
			config_dir = argv[++i];
		} else {
			fprintf(stderr, "usage: berthd [--config DIR]\n");
			return 2;
		}
	}
	copy_string(D.config_dir, sizeof(D.config_dir), config_dir != NULL ? config_dir : CONFIG_DIR);
	umask(022);
	if (make_dirs() < 0) {
		return 1;
	}
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	D.epfd = epoll_create1(EPOLL_CLOEXEC);
	int sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	D.timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (D.epfd < 0 || sigfd < 0 || D.timerfd < 0) {
		blog_err("event loop: %s", strerror(errno));
		return 1;
	}
	struct watch sigw = {.fd = sigfd, .fn = on_signal};
	struct watch timew = {.fd = D.timerfd, .fn = on_timer};
	watch_add(&sigw, EPOLLIN);
	watch_add(&timew, EPOLLIN);

	struct berr err = {0};
	int listen_fd = proto_listen(BERTH_SOCKET, &err);
	if (listen_fd < 0) {
		blog_err("%s", err.msg);
		return 1;
	}
	if (network_init(&err) < 0) {
		/* Containers on host networking still work. */
		blog_err("networks: %s", err.msg);
	}
	sup_adopt_all();
	images_load_config_dir(D.config_dir);
	api_init(listen_fd);
	/* Ready: the API answers and the store has CONFIG's images; the
	 * containers start from here on (each logs "NAME: running"). */
	blog_notice("ready");
	apply_compose(NULL);
	sup_deps_changed();
	network_sync();
	loop_rearm_timer();

	for (;;) {
		if (got_term && sup_all_stopped()) {
			break;
		}
		/* One event at a time: handling one may free the owner of
		 * another that is already in the batch. */
		struct epoll_event ev;
		int n = epoll_wait(D.epfd, &ev, 1, -1);
		if (n < 0 && errno != EINTR) {
			blog_err("epoll_wait: %s", strerror(errno));
			return 1;
		}
		if (n == 1) {
			struct watch *w = ev.data.ptr;
			w->fn(w, ev.events);
		}
		network_sync();
	}
	blog_notice("all containers stopped");
	unlink(BERTH_SOCKET);
	return 0;
}
