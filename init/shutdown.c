/* Shutdown (see shutdown.h). Runs in PID 1 and never returns: if reboot(2)
 * fails, init stays up, idle, rather than panicking the kernel. */
#include "init/shutdown.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "init/clock.h"
#include "init/console.h"
#include "init/supervise.h"
#include "init/watchdog.h"
#include "lib/cleanup.h"
#include "lib/decimal.h"
#include "lib/fsutil.h"
#include "lib/log.h"
#include "lib/timeutil.h"

const char *shutdown_action_name(enum shutdown_action action)
{
	switch (action) {
	case SHUTDOWN_POWEROFF:
		return "poweroff";
	case SHUTDOWN_REBOOT:
		return "reboot";
	case SHUTDOWN_HALT:
		return "halt";
	}
	return "?";
}

#define PF_KTHREAD_FLAG 0x00200000u

/* Processes other than init and kernel threads. kill(-1, 0) cannot tell:
 * it succeeds as long as a kernel thread exists. */
static int user_processes_left(void)
{
	auto_closedir DIR *d = opendir("/proc");
	if (d == NULL) {
		return -1;
	}
	int count = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		uint64_t pid;
		if (decimal_parse(de->d_name, INT_MAX, &pid) < 0 || pid <= 1) {
			continue;
		}
		char path[64];
		char stat[512];
		snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
		if (read_file(path, stat, sizeof(stat), NULL) < 0) {
			continue; /* gone meanwhile */
		}
		/* Fields after the parenthesised name: state ppid pgrp session
		 * tty_nr tpgid flags ... */
		const char *rest = strrchr(stat, ')');
		unsigned long flags = 0;
		char state;
		int ppid;
		if (rest == NULL || sscanf(rest + 1, " %c %d %*d %*d %*d %*d %lu", &state, &ppid, &flags) != 3) {
			continue;
		}
		if (flags & PF_KTHREAD_FLAG) {
			continue;
		}
		count++;
	}
	return count;
}

int shutdown_signal_all(int sig, uint64_t deadline_ms)
{
	kill(-1, sig);
	if (sig != SIGKILL) {
		kill(-1, SIGCONT);
	}
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	for (;;) {
		while (waitpid(-1, NULL, WNOHANG) > 0) {
		}
		if (user_processes_left() == 0) {
			return 1;
		}
		uint64_t now = monotonic_ms();
		if (now >= deadline_ms) {
			return 0;
		}
		uint64_t wait = deadline_ms - now < 100 ? deadline_ms - now : 100;
		struct timespec ts = {0, (long)(wait * 1000000)};
		sigtimedwait(&chld, NULL, &ts);
	}
}

/* Mount points are escaped in mountinfo (space as \040 and so on). */
static void unescape_mountpoint(char *s)
{
	char *out = s;
	for (char *in = s; *in; in++) {
		if (in[0] == '\\' && in[1] >= '0' && in[1] <= '3' && in[2] >= '0' && in[2] <= '7' && in[3] >= '0' &&
		    in[3] <= '7') {
			*out++ = (char)((in[1] - '0') * 64 + (in[2] - '0') * 8 + (in[3] - '0'));
			in += 3;
		} else {
			*out++ = *in;
		}
	}
	*out = '\0';
}

static int is_api_mount(const char *mp)
{
	static const char *const keep[] = {"/proc", "/sys", "/dev"};
	if (strcmp(mp, "/") == 0) {
		return 1;
	}
	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
		size_t n = strlen(keep[i]);
		if (strncmp(mp, keep[i], n) == 0 && (mp[n] == '\0' || mp[n] == '/')) {
			return 1;
		}
	}
	return 0;
}

#define MAX_MOUNTS 512

/* Unmounts everything but / and the API filesystems, innermost first;
 * what is still busy is remounted read-only so that it is clean on disk. */
static void unmount_all(void)
{
	static char points[MAX_MOUNTS][256];
	size_t count = 0;
	auto_fclose FILE *f = fopen("/proc/self/mountinfo", "re");
	if (f == NULL) {
		blog_err("shutdown: read mountinfo: %s", strerror(errno));
		return;
	}
	char line[4096];
	while (count < MAX_MOUNTS && fgets(line, sizeof(line), f) != NULL) {
		/* id parent major:minor root mountpoint ... */
		char *save = NULL;
		char *field = strtok_r(line, " ", &save);
		for (int i = 0; i < 4 && field != NULL; i++) {
			field = strtok_r(NULL, " ", &save);
		}
		if (field == NULL) {
			continue;
		}
		unescape_mountpoint(field);
		if (is_api_mount(field) || strlen(field) >= sizeof(points[0])) {
			continue;
		}
		memcpy(points[count++], field, strlen(field) + 1);
	}
	for (size_t i = count; i-- > 0;) {
		if (umount2(points[i], UMOUNT_NOFOLLOW) == 0) {
			continue;
		}
		int why = errno;
		if (why == EINVAL || why == ENOENT) {
			continue; /* already gone with its parent */
		}
		if (mount(NULL, points[i], NULL, MS_REMOUNT | MS_RDONLY, NULL) == 0) {
			blog_warn("shutdown: %s busy (%s), remounted read-only", points[i], strerror(why));
		} else {
			blog_err("shutdown: cannot unmount or remount %s read-only: %s", points[i], strerror(errno));
		}
	}
}

void shutdown_run(enum shutdown_action action)
{
	static const int cmds[] = {
		[SHUTDOWN_POWEROFF] = RB_POWER_OFF,
		[SHUTDOWN_REBOOT] = RB_AUTOBOOT,
		[SHUTDOWN_HALT] = RB_HALT_SYSTEM,
	};
	uint64_t start = monotonic_ms();
	/* The loop no longer feeds it: it now bounds the whole shutdown. */
	watchdog_shutdown(SHUTDOWN_SERVICES_MAX_MS + SHUTDOWN_GRACE_MS + SHUTDOWN_KILL_WAIT_MS + 30000u);
	blog_notice("%s: stopping services", shutdown_action_name(action));
	/* First, while the host log still runs to keep what it says. */
	clock_shutdown();
	svc_stop_all(start + SHUTDOWN_SERVICES_MAX_MS);

	if (!shutdown_signal_all(SIGTERM, monotonic_ms() + SHUTDOWN_GRACE_MS)) {
		blog_warn("%s: processes left after %u ms, killing them", shutdown_action_name(action),
			  SHUTDOWN_GRACE_MS);
		if (!shutdown_signal_all(SIGKILL, monotonic_ms() + SHUTDOWN_KILL_WAIT_MS)) {
			blog_err("%s: some processes survived SIGKILL (stuck in the kernel)",
				 shutdown_action_name(action));
		}
	}
	sync();
	unmount_all();
	sync();
	blog_notice("%s: filesystems unmounted after %llu ms", shutdown_action_name(action),
		    (unsigned long long)(monotonic_ms() - start));
	console_print("berth: %s", shutdown_action_name(action));

	/* From a child: when halt or power-off does not stop the machine, the
	 * kernel ends the calling task (do_exit in kernel/reboot.c), and if
	 * that were PID 1 the kernel would panic. */
	pid_t child = fork();
	if (child == 0) {
		reboot(cmds[action]);
		_exit(errno);
	}
	int status = 0;
	if (child > 0) {
		while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
		}
	}
	blog_err("%s failed: %s; the host is stopped, power it off by hand", shutdown_action_name(action),
		 child > 0 && WIFEXITED(status) ? strerror(WEXITSTATUS(status)) : "cannot fork");
	for (;;) {
		pause();
	}
}
