/* tcpproxy: a minimal userspace TCP port forwarder, the way docker-proxy
 * publishes a port: accept on a host address and port, connect to the
 * container's address and port, and move the bytes both ways. It exists
 * to measure what a userspace proxy costs against the kernel's nf_tables
 * DNAT that Berth uses; part of the benchmarks, never of the image.
 *
 *   tcpproxy [-l LISTEN_ADDR] LISTEN_PORT TARGET_ADDR TARGET_PORT
 *
 * One process, one epoll loop, no thread or fork per connection (as cheap
 * as a userspace proxy gets). Bytes go socket -> pipe -> socket with
 * splice(2), never through this process's memory. Each direction ends on
 * its own: EOF from one side becomes shutdown(SHUT_WR) towards the other,
 * so half-closed streams (send everything, then wait for the answer) work. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define PIPE_BYTES (256 * 1024)
#define MAX_EVENTS 64

/* One direction of a connection: from -> pipe -> to. */
struct flow {
	int from;
	int to;
	int pipe[2];
	size_t queued; /* bytes in the pipe */
	int eof;       /* from has no more */
	int done;      /* to was shut down for writing */
};

struct conn {
	struct conn *next_dead;
	int dead;
	int client;
	int server;
	int connected;
	struct flow up;	  /* client -> server */
	struct flow down; /* server -> client */
};

static int epfd;
static struct sockaddr_in target;
/* Connections ended while a batch of events is handled: a later event of
 * the batch may still point at one, so they are freed after the batch. */
static struct conn *dead;

static void usage(void)
{
	fprintf(stderr, "usage: tcpproxy [-l LISTEN_ADDR] LISTEN_PORT TARGET_ADDR TARGET_PORT\n");
	exit(2);
}

static int parse_addr(const char *addr, const char *port, struct sockaddr_in *sa)
{
	char *end;
	long p = strtol(port, &end, 10);
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	if (*port == '\0' || *end != '\0' || p <= 0 || p > 65535 || inet_pton(AF_INET, addr, &sa->sin_addr) != 1) {
		return -1;
	}
	sa->sin_port = htons((uint16_t)p);
	return 0;
}

static void flow_close(struct flow *f)
{
	if (f->pipe[0] >= 0) {
		close(f->pipe[0]);
		close(f->pipe[1]);
	}
	f->pipe[0] = -1;
	f->pipe[1] = -1;
}

static void conn_end(struct conn *c)
{
	/* Closing the sockets takes them out of the epoll set. */
	close(c->client);
	if (c->server >= 0) {
		close(c->server);
	}
	flow_close(&c->up);
	flow_close(&c->down);
	c->dead = 1;
	c->next_dead = dead;
	dead = c;
}

static int flow_init(struct flow *f, int from, int to)
{
	f->from = from;
	f->to = to;
	if (pipe2(f->pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
		f->pipe[0] = -1;
		f->pipe[1] = -1;
		return -1;
	}
	/* A bigger pipe than the default 64 KiB moves more per splice. */
	(void)fcntl(f->pipe[1], F_SETPIPE_SZ, PIPE_BYTES);
	return 0;
}

/* Moves what can be moved now; -1 when the connection is broken. The
 * sockets are edge-triggered, so this goes on until the kernel says EAGAIN
 * on the side that blocks: the next edge on that side brings us back. */
static int flow_pump(struct flow *f)
{
	for (;;) {
		if (f->queued > 0) {
			ssize_t n = splice(f->pipe[0], NULL, f->to, NULL, f->queued, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
			if (n < 0) {
				return errno == EAGAIN ? 0 : -1;
			}
			f->queued -= (size_t)n;
			continue;
		}
		if (f->eof) {
			if (!f->done) {
				f->done = 1;
				if (shutdown(f->to, SHUT_WR) < 0 && errno != ENOTCONN) {
					return -1;
				}
			}
			return 0;
		}
		ssize_t n = splice(f->from, NULL, f->pipe[1], NULL, PIPE_BYTES, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n < 0) {
			return errno == EAGAIN ? 0 : -1;
		}
		if (n == 0) {
			f->eof = 1;
			continue;
		}
		f->queued += (size_t)n;
	}
}

static void conn_event(struct conn *c)
{
	if (c->dead) {
		return;
	}
	if (!c->connected) {
		int soerr = 0;
		socklen_t len = sizeof(soerr);
		if (getsockopt(c->server, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0 || soerr != 0) {
			conn_end(c);
			return;
		}
		/* The event may be the client's: the server side is connected
		 * once it has a peer. */
		struct sockaddr_in peer;
		socklen_t plen = sizeof(peer);
		if (getpeername(c->server, (struct sockaddr *)&peer, &plen) < 0) {
			if (errno != ENOTCONN) {
				conn_end(c);
			}
			return;
		}
		c->connected = 1;
	}
	if (flow_pump(&c->up) < 0 || flow_pump(&c->down) < 0) {
		conn_end(c);
		return;
	}
	if (c->up.done && c->down.done) {
		conn_end(c);
	}
}

static void accept_all(int lfd)
{
	for (;;) {
		int cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (cfd < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) {
				perror("tcpproxy: accept");
			}
			if (errno == EAGAIN) {
				return;
			}
			continue;
		}
		struct conn *c = calloc(1, sizeof(*c));
		if (c == NULL) {
			close(cfd);
			continue;
		}
		c->client = cfd;
		c->server = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		c->up.pipe[0] = c->up.pipe[1] = c->down.pipe[0] = c->down.pipe[1] = -1;
		int one = 1;
		if (c->server < 0 || flow_init(&c->up, cfd, c->server) < 0 || flow_init(&c->down, c->server, cfd) < 0) {
			conn_end(c);
			continue;
		}
		/* The proxy must not add Nagle delays the direct path does not have. */
		setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		setsockopt(c->server, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (connect(c->server, (struct sockaddr *)&target, sizeof(target)) < 0 && errno != EINPROGRESS) {
			conn_end(c);
			continue;
		}
		struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = c};
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, cfd, &ev) < 0 ||
		    epoll_ctl(epfd, EPOLL_CTL_ADD, c->server, &ev) < 0) {
			conn_end(c);
		}
	}
}

int main(int argc, char **argv)
{
	const char *listen_addr = "0.0.0.0";
	int i = 1;
	if (argc > 2 && strcmp(argv[1], "-l") == 0) {
		listen_addr = argv[2];
		i = 3;
	}
	if (argc - i != 3) {
		usage();
	}
	struct sockaddr_in lsa;
	if (parse_addr(listen_addr, argv[i], &lsa) < 0 || parse_addr(argv[i + 1], argv[i + 2], &target) < 0) {
		usage();
	}
	signal(SIGPIPE, SIG_IGN);
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int one = 1;
	if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(lfd, (struct sockaddr *)&lsa, sizeof(lsa)) < 0 || listen(lfd, 128) < 0) {
		perror("tcpproxy: listen");
		return 1;
	}
	epfd = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event lev = {.events = EPOLLIN, .data.ptr = NULL};
	if (epfd < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &lev) < 0) {
		perror("tcpproxy: epoll");
		return 1;
	}
	for (;;) {
		struct epoll_event evs[MAX_EVENTS];
		int n = epoll_wait(epfd, evs, MAX_EVENTS, -1);
		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			perror("tcpproxy: epoll_wait");
			return 1;
		}
		for (int k = 0; k < n; k++) {
			if (evs[k].data.ptr == NULL) {
				accept_all(lfd);
			} else {
				conn_event(evs[k].data.ptr);
			}
		}
		while (dead != NULL) {
			struct conn *c = dead;
			dead = c->next_dead;
			free(c);
		}
	}
}
