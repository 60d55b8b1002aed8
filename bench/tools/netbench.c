/* netbench: the client side of the network benchmarks (never part of the
 * image). Times are this machine's CLOCK_MONOTONIC; under QEMU with
 * -icount, guest instruction-counted time.
 *
 *   netbench rr ADDR PORT N       N times: connect, send an HTTP request,
 *                                 read the answer to EOF, close. Prints
 *                                 "CONNECT_US TOTAL_US" a line, then medians.
 *   netbench stream ADDR PORT MIB N   N times: connect, send MIB MiB, shut
 *                                 down writing, wait for the server's EOF
 *                                 (it has read everything). Prints "US" a
 *                                 line, then the median and us_per_mib.
 *
 * A failure stops it with a message and status 1. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (64 * 1024)

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

static uint64_t median(uint64_t *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_u64);
	return v[n / 2];
}

static void fail(const char *what)
{
	fprintf(stderr, "netbench: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int connect_to(const struct sockaddr_in *sa)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fail("socket");
	}
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0) {
		fail("connect");
	}
	return fd;
}

static int run_rr(const struct sockaddr_in *sa, int n)
{
	static const char request[] = "GET / HTTP/1.0\r\nHost: bench\r\n\r\n";
	uint64_t *conn = calloc((size_t)n, sizeof(*conn));
	uint64_t *total = calloc((size_t)n, sizeof(*total));
	if (conn == NULL || total == NULL) {
		fail("calloc");
	}
	for (int i = 0; i < n; i++) {
		uint64_t t0 = now_us();
		int fd = connect_to(sa);
		uint64_t t1 = now_us();
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (write(fd, request, sizeof(request) - 1) != (ssize_t)(sizeof(request) - 1)) {
			fail("write");
		}
		char buf[4096];
		size_t got = 0;
		char head[16] = "";
		for (;;) {
			ssize_t r = read(fd, buf, sizeof(buf));
			if (r < 0) {
				fail("read");
			}
			if (r == 0) {
				break;
			}
			if (got < sizeof(head) - 1) {
				size_t k = sizeof(head) - 1 - got < (size_t)r ? sizeof(head) - 1 - got : (size_t)r;
				memcpy(head + got, buf, k);
				head[got + k] = '\0';
			}
			got += (size_t)r;
		}
		close(fd);
		uint64_t t2 = now_us();
		if (strncmp(head, "HTTP/1.", 7) != 0 || strstr(head, " 200") == NULL) {
			fprintf(stderr, "netbench: unexpected answer %.15s\n", head);
			return 1;
		}
		conn[i] = t1 - t0;
		total[i] = t2 - t0;
		printf("%llu %llu\n", (unsigned long long)conn[i], (unsigned long long)total[i]);
	}
	printf("median_connect %llu\n", (unsigned long long)median(conn, n));
	printf("median %llu\n", (unsigned long long)median(total, n));
	return 0;
}

static int run_stream(const struct sockaddr_in *sa, long mib, int n)
{
	static char buf[CHUNK];
	memset(buf, 'x', sizeof(buf));
	uint64_t *times = calloc((size_t)n, sizeof(*times));
	if (times == NULL) {
		fail("calloc");
	}
	for (int i = 0; i < n; i++) {
		uint64_t t0 = now_us();
		int fd = connect_to(sa);
		uint64_t left = (uint64_t)mib * 1024 * 1024;
		while (left > 0) {
			size_t len = left < sizeof(buf) ? (size_t)left : sizeof(buf);
			ssize_t w = write(fd, buf, len);
			if (w < 0) {
				if (errno == EINTR) {
					continue;
				}
				fail("write");
			}
			left -= (uint64_t)w;
		}
		if (shutdown(fd, SHUT_WR) < 0) {
			fail("shutdown");
		}
		/* The sink closes once it has read everything. */
		for (;;) {
			ssize_t r = read(fd, buf, sizeof(buf));
			if (r < 0) {
				fail("read");
			}
			if (r == 0) {
				break;
			}
		}
		close(fd);
		times[i] = now_us() - t0;
		printf("%llu\n", (unsigned long long)times[i]);
	}
	uint64_t m = median(times, n);
	printf("median %llu\n", (unsigned long long)m);
	printf("us_per_mib %llu\n", (unsigned long long)(m / (uint64_t)mib));
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 5) {
		fprintf(stderr, "usage: netbench rr ADDR PORT N | stream ADDR PORT MIB N\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[3]))};
	if (inet_pton(AF_INET, argv[2], &sa.sin_addr) != 1) {
		fprintf(stderr, "netbench: bad address %s\n", argv[2]);
		return 2;
	}
	if (strcmp(argv[1], "rr") == 0 && argc == 5 && atoi(argv[4]) > 0) {
		return run_rr(&sa, atoi(argv[4]));
	}
	if (strcmp(argv[1], "stream") == 0 && argc == 6 && atol(argv[4]) > 0 && atoi(argv[5]) > 0) {
		return run_stream(&sa, atol(argv[4]), atoi(argv[5]));
	}
	fprintf(stderr, "usage: netbench rr ADDR PORT N | stream ADDR PORT MIB N\n");
	return 2;
}
