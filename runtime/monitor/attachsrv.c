/* A monitor's attach clients (see attachsrv.h). Every socket is non-blocking
 * and has an epoll set of its own, nested in the monitor's, so that the
 * monitor sees one source. Frames are read as their bytes arrive and
 * written from a bounded queue: nothing here ever waits for a client. */
#include "monitor/attachsrv.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct client {
	int fd;
	int reading; /* 0 once the client has shut its sending side */
	uint32_t events;
	char *out;
	size_t out_off;
	size_t out_len;
	size_t out_cap;
	uint8_t hdr[PROTO_HEADER_SIZE]; /* the frame being received */
	size_t hdr_got;
	uint8_t type;
	char *payload;
	uint32_t len;
	uint32_t got;
	struct client *next;
};

struct attachsrv {
	int epfd;
	int listen_fd;
	attachsrv_input_fn *on_input;
	void *ctx;
	struct client *clients;
	struct client *dead; /* dropped, freed once no event can name them */
	size_t nclients;
	int connected;
	int paused;
	char path[];
};

static void client_drop(struct attachsrv *a, struct client *c)
{
	if (c->fd < 0) {
		return;
	}
	epoll_ctl(a->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
	for (struct client **p = &a->clients; *p != NULL; p = &(*p)->next) {
		if (*p == c) {
			*p = c->next;
			break;
		}
	}
	a->nclients--;
	c->next = a->dead;
	a->dead = c;
}

static void clients_free(struct client **list)
{
	while (*list != NULL) {
		struct client *c = *list;
		*list = c->next;
		if (c->fd >= 0) {
			close(c->fd);
		}
		free(c->out);
		free(c->payload);
		free(c);
	}
}

static void client_update(struct attachsrv *a, struct client *c)
{
	uint32_t want = (c->reading && !a->paused ? EPOLLIN : 0) | (c->out_off < c->out_len ? EPOLLOUT : 0);
	struct epoll_event ev = {.events = want, .data.ptr = c};
	if (c->fd >= 0 && want != c->events && epoll_ctl(a->epfd, EPOLL_CTL_MOD, c->fd, &ev) == 0) {
		c->events = want;
	}
}

static void client_flush(struct attachsrv *a, struct client *c)
{
	while (c->fd >= 0 && c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			if (errno != EAGAIN) {
				client_drop(a, c);
			}
			break;
		}
		c->out_off += (size_t)n;
	}
	if (c->out_off == c->out_len) {
		c->out_off = 0;
		c->out_len = 0;
	}
	client_update(a, c);
}

static void client_queue(struct attachsrv *a, struct client *c, enum proto_type type, const void *data, size_t n)
{
	size_t pending = c->out_len - c->out_off;
	if (pending + PROTO_HEADER_SIZE + n > ATTACHSRV_QUEUE_MAX) {
		client_drop(a, c);
		return;
	}
	if (c->out_off > 0) {
		memmove(c->out, c->out + c->out_off, pending);
		c->out_off = 0;
		c->out_len = pending;
	}
	size_t need = c->out_len + PROTO_HEADER_SIZE + n;
	if (need > c->out_cap) {
		size_t cap = c->out_cap * 2 > need ? c->out_cap * 2 : need + 4096;
		char *p = realloc(c->out, cap);
		if (p == NULL) {
			client_drop(a, c);
			return;
		}
		c->out = p;
		c->out_cap = cap;
	}
	proto_header_encode((uint8_t *)c->out + c->out_len, type, (uint32_t)n);
	if (n > 0) {
		memcpy(c->out + c->out_len + PROTO_HEADER_SIZE, data, n);
	}
	c->out_len = need;
	client_flush(a, c);
}

static void deliver(struct attachsrv *a, struct client *c)
{
	c->payload[c->len] = '\0';
	if (c->type == PROTO_STDIN || c->type == PROTO_STDIN_EOF || c->type == PROTO_RESIZE) {
		a->on_input(a->ctx, c->type, c->payload, c->len);
	}
	free(c->payload);
	c->payload = NULL;
	c->hdr_got = 0;
	c->got = 0;
	c->len = 0;
}

/* Reads frames as their bytes arrive, never waiting for the rest. */
static void client_read(struct attachsrv *a, struct client *c)
{
	for (;;) {
		if (c->hdr_got == PROTO_HEADER_SIZE && c->got == c->len) {
			deliver(a, c);
		}
		if (c->fd < 0 || !c->reading || a->paused) {
			return;
		}
		int in_hdr = c->hdr_got < PROTO_HEADER_SIZE;
		char *dst = in_hdr ? (char *)c->hdr + c->hdr_got : c->payload + c->got;
		size_t want = in_hdr ? PROTO_HEADER_SIZE - c->hdr_got : c->len - c->got;
		/* Plain recv: descriptors a client might attach are discarded
		 * by the kernel, never installed here. */
		ssize_t n = recv(c->fd, dst, want, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			if (errno != EAGAIN) {
				client_drop(a, c);
			}
			return;
		}
		if (n == 0) {
			/* Done sending (a frame cut short is lost); it may
			 * still want output. */
			c->reading = 0;
			client_update(a, c);
			return;
		}
		if (!in_hdr) {
			c->got += (uint32_t)n;
			continue;
		}
		c->hdr_got += (size_t)n;
		if (c->hdr_got == PROTO_HEADER_SIZE) {
			if (proto_header_decode(c->hdr, &c->type, &c->len, NULL) < 0 ||
			    (c->payload = malloc((size_t)c->len + 1)) == NULL) {
				client_drop(a, c);
				return;
			}
			c->got = 0;
		}
	}
}

static void accept_clients(struct attachsrv *a)
{
	for (;;) {
		int fd = accept4(a->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0) {
			if (errno == EINTR) {
				continue;
			}
			return;
		}
		struct client *c = NULL;
		if (!proto_peer_is_root(fd) || a->nclients >= ATTACHSRV_CLIENTS_MAX ||
		    (c = calloc(1, sizeof(*c))) == NULL) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->reading = 1;
		c->events = a->paused ? 0 : EPOLLIN;
		struct epoll_event ev = {.events = c->events, .data.ptr = c};
		if (epoll_ctl(a->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			close(fd);
			free(c);
			continue;
		}
		c->next = a->clients;
		a->clients = c;
		a->nclients++;
		a->connected = 1;
	}
}

int attachsrv_open(const char *path, attachsrv_input_fn *on_input, void *ctx, struct attachsrv **out, struct berr *err)
{
	size_t len = strlen(path);
	struct attachsrv *a = calloc(1, sizeof(*a) + len + 1);
	if (a == NULL) {
		return berr_set(err, ENOMEM, "attach socket %s", path);
	}
	memcpy(a->path, path, len + 1);
	a->on_input = on_input;
	a->ctx = ctx;
	a->listen_fd = -1;
	a->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (a->epfd < 0) {
		int e = errno;
		free(a);
		return berr_set(err, e, "epoll for %s", path);
	}
	a->listen_fd = proto_listen(path, err);
	if (a->listen_fd < 0) {
		int ret = a->listen_fd;
		close(a->epfd);
		free(a);
		return ret;
	}
	/* The listener's event names no client. */
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
	int fl = fcntl(a->listen_fd, F_GETFL);
	if (fl < 0 || fcntl(a->listen_fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
	    epoll_ctl(a->epfd, EPOLL_CTL_ADD, a->listen_fd, &ev) < 0) {
		int e = errno;
		attachsrv_close(a);
		return berr_set(err, e, "attach socket %s", path);
	}
	*out = a;
	return 0;
}

int attachsrv_fd(const struct attachsrv *a)
{
	return a->epfd;
}

void attachsrv_run(struct attachsrv *a)
{
	struct epoll_event evs[16];
	int n = epoll_wait(a->epfd, evs, 16, 0);
	for (int i = 0; i < n; i++) {
		struct client *c = evs[i].data.ptr;
		if (c == NULL) {
			accept_clients(a);
			continue;
		}
		if (evs[i].events & EPOLLIN) {
			client_read(a, c);
		}
		if (evs[i].events & EPOLLOUT) {
			client_flush(a, c);
		}
		if (evs[i].events & (EPOLLERR | EPOLLHUP)) {
			client_drop(a, c);
		}
	}
	clients_free(&a->dead);
}

int attachsrv_connected(const struct attachsrv *a)
{
	return a->connected;
}

void attachsrv_pause_input(struct attachsrv *a, int paused)
{
	if (a->paused == paused) {
		return;
	}
	a->paused = paused;
	for (struct client *c = a->clients; c != NULL; c = c->next) {
		client_update(a, c);
	}
}

void attachsrv_broadcast(struct attachsrv *a, enum proto_type type, const void *data, size_t len)
{
	struct client *next;
	for (struct client *c = a->clients; c != NULL; c = next) {
		next = c->next;
		client_queue(a, c, type, data, len);
	}
}

static long ms_since(const struct timespec *start)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - start->tv_sec) * 1000 + (now.tv_nsec - start->tv_nsec) / 1000000;
}

void attachsrv_finish(struct attachsrv *a, enum proto_type type, const void *data, size_t len, int timeout_ms)
{
	/* Nobody new can connect; whoever already did still learns the
	 * end. */
	unlink(a->path);
	accept_clients(a);
	attachsrv_broadcast(a, type, data, len);
	struct timespec start;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		struct pollfd pfd[ATTACHSRV_CLIENTS_MAX];
		struct client *who[ATTACHSRV_CLIENTS_MAX];
		nfds_t n = 0;
		for (struct client *c = a->clients; c != NULL && n < ATTACHSRV_CLIENTS_MAX; c = c->next) {
			if (c->out_off < c->out_len) {
				pfd[n].fd = c->fd;
				pfd[n].events = POLLOUT;
				who[n++] = c;
			}
		}
		long left = timeout_ms - ms_since(&start);
		if (n == 0 || left <= 0) {
			return;
		}
		if (poll(pfd, n, (int)left) < 0 && errno != EINTR) {
			return;
		}
		for (nfds_t i = 0; i < n; i++) {
			if (pfd[i].revents & (POLLERR | POLLHUP | POLLNVAL)) {
				client_drop(a, who[i]);
			} else if (pfd[i].revents & POLLOUT) {
				client_flush(a, who[i]);
			}
		}
	}
}

void attachsrv_close(struct attachsrv *a)
{
	if (a == NULL) {
		return;
	}
	clients_free(&a->clients);
	clients_free(&a->dead);
	if (a->listen_fd >= 0) {
		close(a->listen_fd);
		unlink(a->path);
	}
	close(a->epfd);
	free(a);
}
