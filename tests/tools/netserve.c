/* netserve: small network servers for the QEMU tests and benchmarks
 * (never part of the image; copied into test container images):
 *   netserve http PORT TEXT   answers every HTTP request with TEXT
 *   netserve udp PORT FILE    appends every datagram received to FILE
 *   netserve sink PORT        reads and discards TCP streams (throughput)
 * One process, one listening socket that stays open: no gap between
 * connections in which a client would be refused. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static int listen_on(int type, int port)
{
	int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
	int one = 1;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || (type == SOCK_STREAM && listen(fd, 64) < 0)) {
		perror("netserve: listen");
		exit(1);
	}
	return fd;
}

static void serve_http(int fd, const char *text)
{
	char head[256];
	size_t len = strlen(text);
	int hl = snprintf(head, sizeof(head), "HTTP/1.0 200 OK\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
			  len);
	for (;;) {
		int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0) {
			continue;
		}
		/* Read the request head (up to the blank line), then answer. */
		char buf[4096];
		size_t got = 0;
		while (got < sizeof(buf) - 1) {
			ssize_t n = read(c, buf + got, sizeof(buf) - 1 - got);
			if (n <= 0) {
				break;
			}
			got += (size_t)n;
			buf[got] = '\0';
			if (strstr(buf, "\r\n\r\n") != NULL || strstr(buf, "\n\n") != NULL) {
				break;
			}
		}
		if (write(c, head, (size_t)hl) == hl && write(c, text, len) == (ssize_t)len) {
			shutdown(c, SHUT_WR);
		}
		close(c);
	}
}

static void serve_udp(int fd, const char *file)
{
	for (;;) {
		char buf[65536];
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n <= 0) {
			continue;
		}
		int out = open(file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (out >= 0) {
			if (write(out, buf, (size_t)n) < 0) {
				perror("netserve: write");
			}
			close(out);
		}
	}
}

static void serve_sink(int fd)
{
	signal(SIGCHLD, SIG_IGN);
	for (;;) {
		int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0) {
			continue;
		}
		if (fork() == 0) {
			char buf[65536];
			while (read(c, buf, sizeof(buf)) > 0) {
			}
			_exit(0);
		}
		close(c);
	}
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: netserve http PORT TEXT | udp PORT FILE | sink PORT\n");
		return 2;
	}
	int port = atoi(argv[2]);
	if (strcmp(argv[1], "http") == 0 && argc == 4) {
		serve_http(listen_on(SOCK_STREAM, port), argv[3]);
	} else if (strcmp(argv[1], "udp") == 0 && argc == 4) {
		serve_udp(listen_on(SOCK_DGRAM, port), argv[3]);
	} else if (strcmp(argv[1], "sink") == 0) {
		serve_sink(listen_on(SOCK_STREAM, port));
	}
	fprintf(stderr, "netserve: bad arguments\n");
	return 2;
}
