/* ocilife: times an OCI runtime's container lifecycle the way a container
 * manager drives it, one command per step (part of the benchmarks, never
 * of the image):
 *
 *   RUNTIME create --bundle BUNDLE --pid-file F ID
 *   RUNTIME start ID
 *   (wait for the container's process to exit)
 *   RUNTIME delete ID
 *
 *   ocilife -n N [-p PARALLEL] [-r ROOT] -b BUNDLE -i ID -- RUNTIME [GLOBAL OPTIONS...]
 *
 * "{}" in ID becomes the run's number. ocilife is a child subreaper, so
 * the container's process, orphaned when `create` exits, becomes its child
 * and its exit is seen at once (what a shim does). With -r, each runtime
 * command is chrooted into ROOT (a glibc runtime on the benchmark disk);
 * paths given (BUNDLE, the pid file under /tmp) are then inside ROOT.
 *
 * Output, times in microseconds of CLOCK_MONOTONIC (under QEMU with
 * -icount, guest instruction-counted time):
 *   without -p: a line per run "TOTAL CREATE START WAIT DELETE"
 *   with -p P:  a line per round of P lifecycles at once, its total
 * then "median ...", "all_us" (the whole batch), and without -p
 * "maxrss_kib" (the largest runtime command, from wait4) and
 * "ctr_maxrss_kib" (the container's process: runtime code before the exec). */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_ARGS 64

static const char *root;
static const char *bundle;
static const char *id_pattern;
static char **rt_argv;
static int rt_argc;
static long maxrss;
static long ctr_maxrss;

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a;
	uint64_t y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static uint64_t median(const uint64_t *v, int n)
{
	uint64_t *s = malloc((size_t)n * sizeof(*s));
	if (s == NULL) {
		return 0;
	}
	memcpy(s, v, (size_t)n * sizeof(*s));
	qsort(s, (size_t)n, sizeof(*s), cmp_u64);
	uint64_t m = s[n / 2];
	free(s);
	return m;
}

/* Runs RUNTIME [global options] EXTRA...; 0 when it exited with 0. */
static int runtime_cmd(const char *const *extra)
{
	char *args[MAX_ARGS];
	int n = 0;
	for (int i = 0; i < rt_argc && n < MAX_ARGS - 1; i++) {
		args[n++] = rt_argv[i];
	}
	for (int i = 0; extra[i] != NULL && n < MAX_ARGS - 1; i++) {
		args[n++] = (char *)extra[i];
	}
	args[n] = NULL;
	pid_t pid = fork();
	if (pid < 0) {
		return -1;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (null >= 0) {
			dup2(null, 0);
		}
		if (root != NULL && (chroot(root) < 0 || chdir("/") < 0)) {
			_exit(126);
		}
		execvp(args[0], args);
		_exit(127);
	}
	int status;
	struct rusage ru;
	if (wait4(pid, &status, 0, &ru) < 0) {
		return -1;
	}
	if (ru.ru_maxrss > maxrss) {
		maxrss = ru.ru_maxrss;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "ocilife: %s %s failed (status %d)\n", args[0], extra[0], status);
		return -1;
	}
	return 0;
}

static pid_t read_pid(const char *path)
{
	char full[512];
	snprintf(full, sizeof(full), "%s%s", root != NULL ? root : "", path);
	FILE *f = fopen(full, "re");
	if (f == NULL) {
		fprintf(stderr, "ocilife: %s: %s\n", full, strerror(errno));
		return -1;
	}
	long pid = -1;
	if (fscanf(f, "%ld", &pid) != 1) {
		pid = -1;
	}
	fclose(f);
	unlink(full);
	return (pid_t)pid;
}

/* One lifecycle; times[0..4]: total, create, start, wait, delete. */
static int lifecycle(int run, uint64_t times[5])
{
	char id[128];
	char pidfile[160];
	const char *at = strstr(id_pattern, "{}");
	if (at != NULL) {
		snprintf(id, sizeof(id), "%.*s%d%s", (int)(at - id_pattern), id_pattern, run, at + 2);
	} else {
		snprintf(id, sizeof(id), "%s%d", id_pattern, run);
	}
	snprintf(pidfile, sizeof(pidfile), "/tmp/ocilife-%s.pid", id);
	uint64_t t0 = now_us();
	const char *create[] = {"create", "--bundle", bundle, "--pid-file", pidfile, id, NULL};
	if (runtime_cmd(create) < 0) {
		return -1;
	}
	uint64_t t1 = now_us();
	pid_t pid = read_pid(pidfile);
	const char *start[] = {"start", id, NULL};
	if (pid <= 0 || runtime_cmd(start) < 0) {
		return -1;
	}
	uint64_t t2 = now_us();
	int status;
	struct rusage ru;
	if (wait4(pid, &status, 0, &ru) < 0) {
		fprintf(stderr, "ocilife: waiting for %s (pid %d): %s\n", id, (int)pid, strerror(errno));
		return -1;
	}
	if (ru.ru_maxrss > ctr_maxrss) {
		ctr_maxrss = ru.ru_maxrss;
	}
	uint64_t t3 = now_us();
	const char *del[] = {"delete", id, NULL};
	if (runtime_cmd(del) < 0) {
		return -1;
	}
	uint64_t t4 = now_us();
	/* Whatever else the runtime left to us. */
	while (waitpid(-1, &status, WNOHANG) > 0) {
	}
	times[0] = t4 - t0;
	times[1] = t1 - t0;
	times[2] = t2 - t1;
	times[3] = t3 - t2;
	times[4] = t4 - t3;
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: ocilife -n N [-p PARALLEL] [-r ROOT] -b BUNDLE -i ID -- RUNTIME [OPTIONS...]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	int n = 10;
	int parallel = 0;
	int i = 1;
	for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
		if (i + 1 >= argc) {
			usage();
		}
		if (strcmp(argv[i], "-n") == 0) {
			n = atoi(argv[++i]);
		} else if (strcmp(argv[i], "-p") == 0) {
			parallel = atoi(argv[++i]);
		} else if (strcmp(argv[i], "-r") == 0) {
			root = argv[++i];
		} else if (strcmp(argv[i], "-b") == 0) {
			bundle = argv[++i];
		} else if (strcmp(argv[i], "-i") == 0) {
			id_pattern = argv[++i];
		} else {
			usage();
		}
	}
	if (i >= argc - 1 || n <= 0 || parallel < 0 || parallel > 1000 || bundle == NULL || id_pattern == NULL) {
		usage();
	}
	rt_argv = argv + i + 1;
	rt_argc = argc - i - 1;
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) {
		perror("ocilife: PR_SET_CHILD_SUBREAPER");
		return 1;
	}
	uint64_t *t[5];
	for (int k = 0; k < 5; k++) {
		t[k] = calloc((size_t)n, sizeof(uint64_t));
		if (t[k] == NULL) {
			return 1;
		}
	}
	uint64_t all0 = now_us();
	for (int r = 0; r < n; r++) {
		if (parallel == 0) {
			uint64_t one[5];
			if (lifecycle(r, one) < 0) {
				return 1;
			}
			for (int k = 0; k < 5; k++) {
				t[k][r] = one[k];
			}
			printf("%llu %llu %llu %llu %llu\n", (unsigned long long)one[0], (unsigned long long)one[1],
			       (unsigned long long)one[2], (unsigned long long)one[3], (unsigned long long)one[4]);
			continue;
		}
		/* Each lifecycle of the round in its own subreaper process. */
		uint64_t r0 = now_us();
		pid_t pids[1000];
		for (int p = 0; p < parallel; p++) {
			pids[p] = fork();
			if (pids[p] == 0) {
				uint64_t one[5];
				if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0 || lifecycle(r * parallel + p, one) < 0) {
					_exit(1);
				}
				_exit(0);
			}
		}
		int failed = 0;
		for (int p = 0; p < parallel; p++) {
			int status;
			if (pids[p] < 0 || waitpid(pids[p], &status, 0) < 0 || !WIFEXITED(status) ||
			    WEXITSTATUS(status) != 0) {
				failed = 1;
			}
		}
		if (failed) {
			fprintf(stderr, "ocilife: a lifecycle of round %d failed\n", r);
			return 1;
		}
		t[0][r] = now_us() - r0;
		printf("%llu\n", (unsigned long long)t[0][r]);
	}
	uint64_t all = now_us() - all0;
	if (parallel == 0) {
		printf("median %llu %llu %llu %llu %llu\n", (unsigned long long)median(t[0], n),
		       (unsigned long long)median(t[1], n), (unsigned long long)median(t[2], n),
		       (unsigned long long)median(t[3], n), (unsigned long long)median(t[4], n));
		printf("maxrss_kib %ld\n", maxrss);
		printf("ctr_maxrss_kib %ld\n", ctr_maxrss);
	} else {
		printf("median %llu\n", (unsigned long long)median(t[0], n));
	}
	printf("all_us %llu\n", (unsigned long long)all);
	return 0;
}
