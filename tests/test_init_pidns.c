/* init's supervisor as PID 1, for real: each case runs init's loop,
 * services and shutdown code as PID 1 of a fresh PID namespace (needs
 * root), with small shell services that do what misbehaving programs do,
 * and checks what init did about it. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "init/loop.h"
#include "init/shutdown.h"
#include "init/supervise.h"
#include "lib/fsutil.h"
#include "lib/log.h"
#include "lib/timeutil.h"

static char tmpdir[] = "/tmp/berth-test-init.XXXXXX";
static char *const test_env[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL};

/* Zombies among the namespace's processes (its /proc is mounted). */
static int count_zombies(void)
{
	DIR *d = opendir("/proc");
	int zombies = 0;
	struct dirent *de;
	while (d != NULL && (de = readdir(d)) != NULL) {
		char path[300];
		char stat[512];
		if (de->d_name[0] < '1' || de->d_name[0] > '9') {
			continue;
		}
		snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
		if (read_file(path, stat, sizeof(stat), NULL) < 0) {
			continue;
		}
		const char *p = strrchr(stat, ')');
		if (p != NULL && p[1] == ' ' && p[2] == 'Z') {
			zombies++;
		}
	}
	if (d != NULL) {
		closedir(d);
	}
	return zombies;
}

/* In the new namespace, as PID 1: a private /proc, init's loop, and the
 * case's own body. The exit status is the number of failed checks. */
static int as_pid1(int (*body)(void))
{
	pid_t child = fork();
	if (child == 0) {
		sigset_t all;
		sigfillset(&all);
		sigprocmask(SIG_BLOCK, &all, NULL);
		if (getpid() != 1 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
		    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) {
			fprintf(stderr, "cannot set up the PID namespace: %s\n", strerror(errno));
			_exit(100);
		}
		blog_init("init", -1);
		svc_setup("/dev/null", test_env);
		if (loop_init() < 0) {
			_exit(101);
		}
		_exit(body());
	}
	int status;
	waitpid(child, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Runs body as PID 1 of a new PID and mount namespace. */
static void in_namespace(const char *name, int (*body)(void))
{
	pid_t outer = fork();
	if (outer == 0) {
		if (unshare(CLONE_NEWPID | CLONE_NEWNS) < 0) {
			fprintf(stderr, "unshare: %s (these tests need root)\n", strerror(errno));
			_exit(102);
		}
		_exit(as_pid1(body));
	}
	int status;
	waitpid(outer, &status, 0);
	int failed = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
	if (failed != 0) {
		fprintf(stderr, "%s: %d check(s) failed inside the namespace\n", name, failed);
	}
	CHECK_EQ_INT(failed, 0);
}

#define NS_CHECK(cond)                                                                           \
	do {                                                                                     \
		if (!(cond)) {                                                                   \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
			failures++;                                                              \
		}                                                                                \
	} while (0)

static int reaps_orphans(void)
{
	int failures = 0;
	/* Each inner sh leaves a background child behind and exits: 1000
	 * orphans, re-parented to PID 1, which must reap them. */
	struct svc_def spawner = {
		.name = "spawner",
		.argv = {"/bin/sh", "-c",
			 "i=0; while [ $i -lt 1000 ]; do sh -c 'true &'; i=$((i+1)); done; sleep 0.5; kill -USR2 1",
			 NULL},
	};
	svc_add(&spawner);
	svc_start_all(monotonic_ms());
	int action = loop_run();
	NS_CHECK(action == SHUTDOWN_POWEROFF);
	usleep(200000);
	/* The spawner itself may not be reaped yet; no orphan may be left. */
	int zombies = count_zombies();
	if (zombies > 1) {
		fprintf(stderr, "%d zombies left\n", zombies);
	}
	NS_CHECK(zombies <= 1);
	return failures;
}

static int kills_what_ignores_sigterm(void)
{
	int failures = 0;
	struct svc_def stubborn = {
		.name = "stubborn",
		.argv = {"/bin/sh", "-c", "trap '' TERM; while :; do sleep 0.05; done", NULL},
		.grace_ms = 300,
	};
	struct svc_def trigger = {
		.name = "trigger",
		.argv = {"/bin/sh", "-c", "sleep 0.3; kill -TERM 1; sleep 100", NULL},
	};
	svc_add(&stubborn);
	svc_add(&trigger);
	svc_start_all(monotonic_ms());
	NS_CHECK(loop_run() == SHUTDOWN_REBOOT);
	/* A stray process outside any service, also deaf to SIGTERM. */
	pid_t stray = fork();
	if (stray == 0) {
		signal(SIGTERM, SIG_IGN);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		for (;;) {
			pause();
		}
	}
	uint64_t start = monotonic_ms();
	svc_stop_all(start + 5000);
	NS_CHECK(svc_pid("stubborn") == 0);
	NS_CHECK(svc_pid("trigger") == 0);
	uint64_t took = monotonic_ms() - start;
	/* It got its grace period, then SIGKILL; well before the deadline. */
	NS_CHECK(took >= 300);
	NS_CHECK(took < 4000);
	NS_CHECK(shutdown_signal_all(SIGTERM, monotonic_ms() + 300) == 0);
	NS_CHECK(shutdown_signal_all(SIGKILL, monotonic_ms() + 2000) == 1);
	NS_CHECK(kill(stray, 0) < 0 && errno == ESRCH);
	return failures;
}

static int children_start_clean(void)
{
	int failures = 0;
	char cmd[1024];
	/* A service reports its signal mask, ignored signals, open fds and
	 * session, then asks for a poweroff. */
	snprintf(cmd, sizeof(cmd),
		 "grep -E '^Sig(Blk|Ign)' /proc/self/status > %s/sig; ls /proc/self/fd > %s/fds; "
		 "cut -d' ' -f6 /proc/$$/stat > %s/sid; echo $$ > %s/pid; kill -USR2 1",
		 tmpdir, tmpdir, tmpdir, tmpdir);
	struct svc_def probe = {.name = "probe", .argv = {"/bin/sh", "-c", cmd, NULL}};
	/* Init's own fds (an extra one here) must not leak into children. */
	int leak = open("/dev/null", O_RDONLY);
	NS_CHECK(leak >= 3);
	fcntl(leak, F_SETFD, 0);
	svc_add(&probe);
	svc_start_all(monotonic_ms());
	NS_CHECK(loop_run() == SHUTDOWN_POWEROFF);
	char path[300];
	char text[512];
	snprintf(path, sizeof(path), "%s/sig", tmpdir);
	NS_CHECK(read_file(path, text, sizeof(text), NULL) > 0);
	NS_CHECK(strstr(text, "SigBlk:\t0000000000000000") != NULL);
	NS_CHECK(strstr(text, "SigIgn:\t0000000000000000") != NULL);
	snprintf(path, sizeof(path), "%s/fds", tmpdir);
	NS_CHECK(read_file(path, text, sizeof(text), NULL) > 0);
	/* 0, 1, 2, and the directory ls itself is reading. */
	NS_CHECK(strcmp(text, "0\n1\n2\n3\n") == 0);
	if (strcmp(text, "0\n1\n2\n3\n") != 0) {
		fprintf(stderr, "fds: %s", text);
	}
	char sid[64];
	char pid[64];
	snprintf(path, sizeof(path), "%s/sid", tmpdir);
	read_file(path, sid, sizeof(sid), NULL);
	snprintf(path, sizeof(path), "%s/pid", tmpdir);
	read_file(path, pid, sizeof(pid), NULL);
	/* Its own session: it leads it. */
	NS_CHECK(strcmp(trim_end(sid), trim_end(pid)) == 0);
	return failures;
}

static int restarts_a_failing_service(void)
{
	int failures = 0;
	char cmd[512];
	/* Fails twice, then asks for a poweroff: init must have started it
	 * three times, honouring the backoff in between. */
	snprintf(cmd, sizeof(cmd), "echo x >> %s/runs; [ $(wc -l < %s/runs) -ge 3 ] && kill -USR2 1; exit 1", tmpdir,
		 tmpdir);
	struct svc_def flaky = {.name = "flaky", .argv = {"/bin/sh", "-c", cmd, NULL}};
	svc_add(&flaky);
	uint64_t start = monotonic_ms();
	svc_start_all(start);
	NS_CHECK(loop_run() == SHUTDOWN_POWEROFF);
	/* Backoff: 1 s, then 2 s. */
	NS_CHECK(monotonic_ms() - start >= 3000);
	return failures;
}

int main(void)
{
	if (geteuid() != 0) {
		fprintf(stderr, "test_init_pidns: needs root (PID namespaces)\n");
		return 1;
	}
	if (check_tmpdir(tmpdir) < 0) {
		return 2;
	}
	in_namespace("reaps_orphans", reaps_orphans);
	printf("%s reaps_orphans\n", check_case_failed ? "FAIL" : "ok  ");
	check_case_failed = 0;
	in_namespace("kills_what_ignores_sigterm", kills_what_ignores_sigterm);
	printf("%s kills_what_ignores_sigterm\n", check_case_failed ? "FAIL" : "ok  ");
	check_case_failed = 0;
	in_namespace("children_start_clean", children_start_clean);
	printf("%s children_start_clean\n", check_case_failed ? "FAIL" : "ok  ");
	check_case_failed = 0;
	in_namespace("restarts_a_failing_service", restarts_a_failing_service);
	printf("%s restarts_a_failing_service\n", check_case_failed ? "FAIL" : "ok  ");
	return check_summary();
}
