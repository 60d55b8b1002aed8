/* Framed messages over unix stream sockets (see proto.h). Owns the wire
 * format and descriptor passing; never interprets payloads. Every length
 * read from a peer is checked before anything is allocated for it. */
#include "proto/proto.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/cleanup.h"

static int known_type(uint8_t t)
{
	switch (t) {
	case PROTO_REQUEST:
	case PROTO_RESPONSE:
	case PROTO_STDOUT:
	case PROTO_STDERR:
	case PROTO_STDIN:
	case PROTO_STDIN_EOF:
	case PROTO_RESIZE:
	case PROTO_EXIT:
		return 1;
	default:
		return 0;
	}
}

void proto_header_encode(uint8_t hdr[PROTO_HEADER_SIZE], enum proto_type type, uint32_t len)
{
	hdr[0] = (uint8_t)type;
	hdr[1] = (uint8_t)(len >> 24);
	hdr[2] = (uint8_t)(len >> 16);
	hdr[3] = (uint8_t)(len >> 8);
	hdr[4] = (uint8_t)len;
}

int proto_header_decode(const uint8_t hdr[PROTO_HEADER_SIZE], uint8_t *type, uint32_t *len, struct berr *err)
{
	uint32_t n = (uint32_t)hdr[1] << 24 | (uint32_t)hdr[2] << 16 | (uint32_t)hdr[3] << 8 | hdr[4];
	if (!known_type(hdr[0])) {
		return berr_setx(err, EPROTO, "frame of unknown type 0x%02x", hdr[0]);
	}
	if (n > PROTO_MAX_PAYLOAD) {
		return berr_setx(err, EMSGSIZE, "frame of %u bytes (at most %u)", n, PROTO_MAX_PAYLOAD);
	}
	*type = hdr[0];
	*len = n;
	return 0;
}

int proto_send(int sock, enum proto_type type, const void *data, size_t len, const int *fds, size_t nfds,
	       struct berr *err)
{
	if (len > PROTO_MAX_PAYLOAD) {
		return berr_setx(err, EMSGSIZE, "send a frame of %zu bytes (at most %u)", len, PROTO_MAX_PAYLOAD);
	}
	if (nfds > PROTO_MAX_FDS) {
		return berr_setx(err, EINVAL, "send %zu descriptors (at most %d)", nfds, PROTO_MAX_FDS);
	}
	uint8_t hdr[PROTO_HEADER_SIZE];
	proto_header_encode(hdr, type, (uint32_t)len);
	union {
		char buf[CMSG_SPACE(sizeof(int) * PROTO_MAX_FDS)];
		struct cmsghdr align;
	} ctl;
	memset(&ctl, 0, sizeof(ctl));
	struct iovec iov[2] = {
		{.iov_base = hdr, .iov_len = sizeof(hdr)},
		{.iov_base = (void *)data, .iov_len = len},
	};
	struct msghdr msg = {.msg_iov = iov, .msg_iovlen = len > 0 ? 2 : 1};
	if (nfds > 0) {
		msg.msg_control = ctl.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	size_t left = sizeof(hdr) + len;
	while (left > 0) {
		ssize_t n = sendmsg(sock, &msg, MSG_NOSIGNAL);
		if (n < 0 && errno == ENOTSOCK && msg.msg_controllen == 0) {
			/* A pipe (berth system dial-stdio's stdout). */
			n = writev(sock, msg.msg_iov, (int)msg.msg_iovlen);
		}
		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			return berr_set(err, errno, "send frame");
		}
		/* The descriptors went with the first bytes; a short write
		 * resends only the rest. */
		msg.msg_control = NULL;
		msg.msg_controllen = 0;
		left -= (size_t)n;
		size_t done = (size_t)n;
		while (done > 0 && msg.msg_iovlen > 0) {
			if (done >= msg.msg_iov->iov_len) {
				done -= msg.msg_iov->iov_len;
				msg.msg_iov++;
				msg.msg_iovlen--;
			} else {
				msg.msg_iov->iov_base = (char *)msg.msg_iov->iov_base + done;
				msg.msg_iov->iov_len -= done;
				done = 0;
			}
		}
	}
	return 0;
}

int proto_send_str(int sock, enum proto_type type, const char *s, struct berr *err)
{
	return proto_send(sock, type, s, strlen(s), NULL, 0, err);
}

/* Keeps descriptors that came with a read; more than the frame can hold
 * is the peer's mistake, and those are closed. */
static void take_fds(struct msghdr *msg, struct proto_frame *f)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c != NULL; c = CMSG_NXTHDR(msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS || c->cmsg_len < CMSG_LEN(0)) {
			continue;
		}
		size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (f->nfds < PROTO_MAX_FDS) {
				f->fds[f->nfds++] = fd;
			} else {
				close(fd);
			}
		}
	}
}

/* Reads exactly len bytes, collecting descriptors. Returns len, 0 on end of
 * stream before the first byte, -EPROTO on end of stream after it. */
static ssize_t recv_exact(int sock, void *buf, size_t len, struct proto_frame *f, struct berr *err)
{
	size_t got = 0;
	while (got < len) {
		union {
			char buf[CMSG_SPACE(sizeof(int) * PROTO_MAX_FDS)];
			struct cmsghdr align;
		} ctl;
		struct iovec iov = {.iov_base = (char *)buf + got, .iov_len = len - got};
		struct msghdr msg = {
			.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf)};
		ssize_t n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
		if (n < 0 && errno == ENOTSOCK) {
			n = read(sock, iov.iov_base, iov.iov_len);
			msg.msg_controllen = 0;
			msg.msg_flags = 0;
		}
		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			return berr_set(err, errno, "receive frame");
		}
		take_fds(&msg, f);
		if (msg.msg_flags & MSG_CTRUNC) {
			return berr_setx(err, EPROTO, "frame with more than %d descriptors", PROTO_MAX_FDS);
		}
		if (n == 0) {
			if (got == 0) {
				return 0;
			}
			return berr_setx(err, EPROTO, "truncated frame (%zu of %zu bytes)", got, len);
		}
		got += (size_t)n;
	}
	return (ssize_t)len;
}

int proto_recv(int sock, struct proto_frame *f, struct berr *err)
{
	memset(f, 0, sizeof(*f));
	uint8_t hdr[PROTO_HEADER_SIZE];
	ssize_t n = recv_exact(sock, hdr, sizeof(hdr), f, err);
	if (n <= 0) {
		proto_frame_release(f);
		return (int)n;
	}
	int ret = proto_header_decode(hdr, &f->type, &f->len, err);
	if (ret < 0) {
		proto_frame_release(f);
		return ret;
	}
	f->data = malloc((size_t)f->len + 1);
	if (f->data == NULL) {
		proto_frame_release(f);
		return berr_set(err, ENOMEM, "receive frame of %u bytes", f->len);
	}
	if (f->len > 0) {
		n = recv_exact(sock, f->data, f->len, f, err);
		if (n <= 0) {
			proto_frame_release(f);
			return n == 0 ? berr_setx(err, EPROTO, "truncated frame (header only)") : (int)n;
		}
	}
	f->data[f->len] = '\0';
	return 1;
}

void proto_frame_release(struct proto_frame *f)
{
	free(f->data);
	f->data = NULL;
	for (size_t i = 0; i < f->nfds; i++) {
		if (f->fds[i] >= 0) {
			close(f->fds[i]);
		}
	}
	f->nfds = 0;
}

static int unix_addr(const char *path, struct sockaddr_un *sa, struct berr *err)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	size_t len = strlen(path);
	if (len >= sizeof(sa->sun_path)) {
		return berr_setx(err, ENAMETOOLONG, "socket path too long: %s", path);
	}
	memcpy(sa->sun_path, path, len + 1);
	return 0;
}

int proto_connect(const char *path, struct berr *err)
{
	struct sockaddr_un sa;
	int ret = unix_addr(path, &sa, err);
	if (ret < 0) {
		return ret;
	}
	auto_close int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		return berr_set(err, errno, "socket for %s", path);
	}
	while (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (errno != EINTR) {
			return berr_set(err, errno, "connect to %s", path);
		}
	}
	return take_fd(&fd);
}

int proto_listen(const char *path, struct berr *err)
{
	struct sockaddr_un sa;
	int ret = unix_addr(path, &sa, err);
	if (ret < 0) {
		return ret;
	}
	struct stat st;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			return berr_setx(err, EEXIST, "%s exists and is not a socket", path);
		}
		/* A socket someone still answers on is not stale: taking it
		 * over would cut off a running server. */
		int probe = proto_connect(path, NULL);
		if (probe >= 0) {
			close(probe);
			return berr_setx(err, EADDRINUSE, "%s: another server is listening", path);
		}
		if (unlink(path) < 0 && errno != ENOENT) {
			return berr_set(err, errno, "remove stale socket %s", path);
		}
	}
	auto_close int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		return berr_set(err, errno, "socket for %s", path);
	}
	/* bind creates the file with the socket inode's mode less the umask:
	 * setting it first leaves no moment where others could connect. */
	if (fchmod(fd, 0600) < 0) {
		return berr_set(err, errno, "chmod socket for %s", path);
	}
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		return berr_set(err, errno, "bind %s", path);
	}
	if (chmod(path, 0600) < 0) {
		return berr_set(err, errno, "chmod %s", path);
	}
	if (listen(fd, 64) < 0) {
		return berr_set(err, errno, "listen on %s", path);
	}
	return take_fd(&fd);
}

int proto_peer_is_root(int sock)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || len != sizeof(cred)) {
		return 0;
	}
	return cred.uid == 0;
}
