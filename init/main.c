/* Berth's PID 1. Brings the host up (early mounts, console, CONFIG and
 * DATA), starts the services, then sits in one event loop on signalfd and
 * epoll: reaping children, restarting services, and shutting down on
 * request. After start-up nothing makes it exit.
 *
 * Run as poweroff, reboot or halt (by symlink) when not PID 1, it asks PID 1
 * to do so, the same signals BusyBox uses: SIGUSR2, SIGTERM, SIGUSR1. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/reboot.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "console.h"
#include "disks.h"
#include "early.h"
#include "log.h"
#include "power.h"
#include "shutdown.h"
#include "supervise.h"
#include "timeutil.h"

#ifndef BERTH_VERSION
#define BERTH_VERSION "unknown"
#endif

#define MAX_BUTTONS 4

static int control_main(const char *name, int argc, char **argv)
{
	int sig;
	int cmd;
	if (strcmp(name, "poweroff") == 0) {
		sig = SIGUSR2;
		cmd = RB_POWER_OFF;
	} else if (strcmp(name, "reboot") == 0) {
		sig = SIGTERM;
		cmd = RB_AUTOBOOT;
	} else if (strcmp(name, "halt") == 0) {
		sig = SIGUSR1;
		cmd = RB_HALT_SYSTEM;
	} else {
		fprintf(stderr, "init: must run as PID 1 (or be called as poweroff, reboot or halt)\n");
		return 2;
	}
	int force = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-f") == 0) {
			force = 1;
		} else {
			fprintf(stderr, "usage: %s [-f]\n  -f  do it now, without stopping services or unmounting\n",
				name);
			return 2;
		}
	}
	if (force) {
		sync();
		reboot(cmd);
		fprintf(stderr, "%s: %s\n", name, strerror(errno));
		return 1;
	}
	if (kill(1, sig) < 0) {
		fprintf(stderr, "%s: signal init: %s\n", name, strerror(errno));
		return 1;
	}
	return 0;
}

static void print_banner(uint64_t init_start_ms)
{
	uint64_t up = clock_ms(CLOCK_BOOTTIME);
	blog_notice("Berth %s up in %llu.%03llu s (init started at %llu.%03llu s)", BERTH_VERSION,
		    (unsigned long long)(up / 1000), (unsigned long long)(up % 1000),
		    (unsigned long long)(init_start_ms / 1000), (unsigned long long)(init_start_ms % 1000));
	console_print("\nBerth %s - up in %llu.%03llu s\n", BERTH_VERSION, (unsigned long long)(up / 1000),
		      (unsigned long long)(up % 1000));
}

/* Handles one signal; returns the shutdown it asks for, or -1. */
static int handle_signal(const struct signalfd_siginfo *si)
{
	switch (si->ssi_signo) {
	case SIGCHLD: {
		pid_t pid;
		int status;
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
			svc_child_exited(pid, status, monotonic_ms());
		}
		return -1;
	}
	case SIGUSR2:
	case SIGPWR:
		return SHUTDOWN_POWEROFF;
	case SIGTERM:
	case SIGINT: /* Ctrl-Alt-Del, once RB_DISABLE_CAD is set */
		return SHUTDOWN_REBOOT;
	case SIGUSR1:
		return SHUTDOWN_HALT;
	default:
		return -1;
	}
}

static __attribute__((noreturn)) void event_loop(int sfd, int epfd, const int *buttons, int nbuttons)
{
	for (;;) {
		struct epoll_event evs[8];
		int timeout = svc_timeout_ms(monotonic_ms());
		int n = epoll_wait(epfd, evs, 8, timeout);
		if (n < 0 && errno != EINTR) {
			blog_err("epoll_wait: %s", strerror(errno));
			sleep(1);
			continue;
		}
		int action = -1;
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			if (fd == sfd) {
				struct signalfd_siginfo si;
				while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
					int a = handle_signal(&si);
					if (a >= 0 && action < 0) {
						action = a;
						blog_notice("received %s from pid %u", strsignal((int)si.ssi_signo),
							    si.ssi_pid);
					}
				}
				continue;
			}
			for (int b = 0; b < nbuttons; b++) {
				if (fd == buttons[b] && power_button_pressed(fd) && action < 0) {
					blog_notice("power button pressed");
					action = SHUTDOWN_POWEROFF;
				}
			}
		}
		if (action >= 0) {
			shutdown_run((enum shutdown_action)action);
		}
		svc_tick(monotonic_ms());
	}
}

int main(int argc, char **argv)
{
	const char *name = strrchr(argv[0], '/');
	name = name ? name + 1 : argv[0];
	if (getpid() != 1) {
		return control_main(name, argc, argv);
	}

	/* Everything is handled through signalfd; nothing may interrupt. */
	sigset_t all;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	/* Ctrl-Alt-Del becomes SIGINT to init instead of an instant reboot. */
	reboot(RB_DISABLE_CAD);
	umask(022);

	uint64_t init_start_ms = clock_ms(CLOCK_BOOTTIME);
	early_mounts();
	int kmsg = open("/dev/kmsg", O_WRONLY | O_CLOEXEC | O_NOCTTY);
	blog_init("init", kmsg);
	early_settings();
	setenv("PATH", "/usr/sbin:/usr/bin:/sbin:/bin", 1);

	struct disks disks;
	disks_setup(&disks);

	char console[64];
	console_device(console, sizeof(console));
	blog_info("console is %s", console);

	int sfd = signalfd(-1, &all, SFD_NONBLOCK | SFD_CLOEXEC);
	int epfd = epoll_create1(EPOLL_CLOEXEC);
	if (sfd < 0 || epfd < 0) {
		/* Without these there is no way to supervise; keep the host
		 * reachable on the console and retry rather than exit. */
		blog_err("signalfd/epoll: %s", strerror(errno));
	}
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = sfd};
	epoll_ctl(epfd, EPOLL_CTL_ADD, sfd, &ev);
	int buttons[MAX_BUTTONS];
	int nbuttons = power_buttons_watch(epfd, buttons, MAX_BUTTONS);

	svc_init(console);
	svc_start_all(monotonic_ms());
	print_banner(init_start_ms);
	event_loop(sfd, epfd, buttons, nbuttons);
}
