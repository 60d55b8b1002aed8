/* timeit: runs a command N times and prints each run's wall time (this
 * machine's CLOCK_MONOTONIC; under QEMU with -icount, guest time) in
 * microseconds, one per line, then a "median" line and a "maxrss_kib"
 * line (the largest resident set of any run, from wait4). "{}" in the arguments
 * becomes the run's number, for container IDs. A run that fails stops it.
 *
 *   timeit -n N [-p PARALLEL] [-r ROOT] [-q] -- command args...
 *
 * With -p, PARALLEL copies run at once per round and the time is that of
 * the whole round. With -r, each run is chrooted into ROOT first (so that
 * a glibc runtime from the benchmark disk runs without a shell in
 * between). With -q, the command's output goes to /dev/null. Part of the
 * benchmarks, never of the image. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a;
	uint64_t y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static const char *chroot_dir;
static int quiet;

static pid_t spawn(char **argv, int argc, int run)
{
	char *args[256];
	char numbers[256][32];
	if (argc > 255) {
		return -1;
	}
	for (int i = 0; i < argc; i++) {
		const char *at = strstr(argv[i], "{}");
		if (at == NULL) {
			args[i] = argv[i];
			continue;
		}
		snprintf(numbers[i], sizeof(numbers[i]), "%.*s%d%s", (int)(at - argv[i]), argv[i], run, at + 2);
		args[i] = numbers[i];
	}
	args[argc] = NULL;
	pid_t pid = fork();
	if (pid == 0) {
		if (quiet) {
			int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
			if (null < 0 || dup2(null, STDOUT_FILENO) < 0) {
				_exit(126);
			}
		}
		if (chroot_dir != NULL && (chroot(chroot_dir) < 0 || chdir("/") < 0)) {
			_exit(126);
		}
		execvp(args[0], args);
		_exit(127);
	}
	return pid;
}

int main(int argc, char **argv)
{
	int n = 10;
	int parallel = 1;
	int i = 1;
	for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
		if (strcmp(argv[i], "-n") == 0 && i + 1 < argc) {
			n = atoi(argv[++i]);
		} else if (strcmp(argv[i], "-p") == 0 && i + 1 < argc) {
			parallel = atoi(argv[++i]);
		} else if (strcmp(argv[i], "-r") == 0 && i + 1 < argc) {
			chroot_dir = argv[++i];
		} else if (strcmp(argv[i], "-q") == 0) {
			quiet = 1;
		} else {
			fprintf(stderr, "usage: timeit -n N [-p PARALLEL] [-r ROOT] [-q] -- command args...\n");
			return 2;
		}
	}
	if (i >= argc - 1 || n <= 0 || parallel <= 0 || parallel > 1000) {
		fprintf(stderr, "usage: timeit -n N [-p PARALLEL] [-r ROOT] [-q] -- command args...\n");
		return 2;
	}
	char **cmd = argv + i + 1;
	int cmdc = argc - i - 1;
	uint64_t *times = calloc((size_t)n, sizeof(*times));
	pid_t *pids = calloc((size_t)parallel, sizeof(*pids));
	long maxrss = 0;
	for (int r = 0; r < n; r++) {
		uint64_t start = now_us();
		for (int p = 0; p < parallel; p++) {
			pids[p] = spawn(cmd, cmdc, r * parallel + p);
		}
		for (int p = 0; p < parallel; p++) {
			int status;
			struct rusage ru;
			if (pids[p] < 0 || wait4(pids[p], &status, 0, &ru) < 0 || !WIFEXITED(status) ||
			    WEXITSTATUS(status) != 0) {
				fprintf(stderr, "timeit: run %d failed\n", r * parallel + p);
				return 1;
			}
			if (ru.ru_maxrss > maxrss) {
				maxrss = ru.ru_maxrss;
			}
		}
		times[r] = now_us() - start;
		printf("%llu\n", (unsigned long long)times[r]);
	}
	qsort(times, (size_t)n, sizeof(*times), cmp);
	printf("median %llu\n", (unsigned long long)times[n / 2]);
	printf("maxrss_kib %ld\n", maxrss);
	return 0;
}
