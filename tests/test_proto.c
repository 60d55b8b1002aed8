/* The daemon's wire format: frames of every size round-trip, descriptors
 * travel with them, and truncated, oversized or unknown frames are
 * rejected rather than trusted. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "proto/proto.h"

static void pair(int sv[2])
{
	int r = socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
	CHECK_EQ_INT(r, 0);
}

static void test_roundtrip_small_and_empty(void)
{
	int sv[2];
	pair(sv);
	struct berr err;
	CHECK_EQ_INT(proto_send_str(sv[0], PROTO_REQUEST, "{\"cmd\":\"ps\"}", &err), 0);
	CHECK_EQ_INT(proto_send(sv[0], PROTO_STDIN_EOF, NULL, 0, NULL, 0, &err), 0);
	struct proto_frame f;
	CHECK_EQ_INT(proto_recv(sv[1], &f, &err), 1);
	CHECK_EQ_INT(f.type, PROTO_REQUEST);
	CHECK_EQ_INT(f.len, 12);
	CHECK(strcmp(f.data, "{\"cmd\":\"ps\"}") == 0);
	CHECK_EQ_INT(f.nfds, 0);
	proto_frame_release(&f);
	CHECK_EQ_INT(proto_recv(sv[1], &f, &err), 1);
	CHECK_EQ_INT(f.type, PROTO_STDIN_EOF);
	CHECK_EQ_INT(f.len, 0);
	CHECK(f.data != NULL && f.data[0] == '\0');
	proto_frame_release(&f);
	close(sv[0]);
	/* A clean end between frames is not an error. */
	CHECK_EQ_INT(proto_recv(sv[1], &f, &err), 0);
	close(sv[1]);
}

struct big_send {
	int sock;
	char *data;
	size_t len;
	int ret;
};

static void *send_big(void *arg)
{
	struct big_send *b = arg;
	struct berr err;
	b->ret = proto_send(b->sock, PROTO_STDOUT, b->data, b->len, NULL, 0, &err);
	return NULL;
}

static void test_largest_payload_needs_several_writes(void)
{
	int sv[2];
	pair(sv);
	struct big_send b = {.sock = sv[0], .len = PROTO_MAX_PAYLOAD, .data = malloc(PROTO_MAX_PAYLOAD)};
	for (size_t i = 0; i < b.len; i++) {
		b.data[i] = (char)('a' + i % 26);
	}
	/* Larger than a socket buffer: the sender must finish short writes
	 * while the receiver reads. */
	pthread_t t;
	pthread_create(&t, NULL, send_big, &b);
	struct berr err;
	struct proto_frame f;
	CHECK_EQ_INT(proto_recv(sv[1], &f, &err), 1);
	pthread_join(t, NULL);
	CHECK_EQ_INT(b.ret, 0);
	CHECK_EQ_INT(f.len, PROTO_MAX_PAYLOAD);
	CHECK(memcmp(f.data, b.data, b.len) == 0);
	proto_frame_release(&f);
	free(b.data);
	close(sv[0]);
	close(sv[1]);
}

static void test_fds_pass_and_are_cloexec(void)
{
	int sv[2];
	pair(sv);
	int p[2];
	CHECK_EQ_INT(pipe2(p, O_CLOEXEC), 0);
	int fds[2] = {p[0], p[1]};
	struct berr err;
	CHECK_EQ_INT(proto_send_str(sv[0], PROTO_REQUEST, "{\"cmd\":\"attach\"}", &err), 0);
	CHECK_EQ_INT(proto_send(sv[0], PROTO_REQUEST, "x", 1, fds, 2, &err), 0);
	close(p[0]);
	close(p[1]);
	struct proto_frame f;
	CHECK_EQ_INT(proto_recv(sv[1], &f, &err), 1);
	/* The descriptors belong to the second frame, not the first. */
	CHECK_EQ_INT(f.nfds, 0);
	proto_frame_release(&f);
	CHECK_EQ_INT(proto_recv(sv[1], &f, &err), 1);
	CHECK_EQ_INT(f.nfds, 2);
	if (f.nfds == 2) {
		CHECK(fcntl(f.fds[0], F_GETFD) & FD_CLOEXEC);
		CHECK(fcntl(f.fds[1], F_GETFD) & FD_CLOEXEC);
		CHECK_EQ_INT(write(f.fds[1], "hi", 2), 2);
		char buf[4] = {0};
		CHECK_EQ_INT(read(f.fds[0], buf, sizeof(buf)), 2);
		CHECK(strcmp(buf, "hi") == 0);
	}
	proto_frame_release(&f);
	CHECK_EQ_INT(f.nfds, 0);
	CHECK_EQ_INT(proto_send(sv[0], PROTO_REQUEST, "x", 1, fds, PROTO_MAX_FDS + 1, &err), -EINVAL);
	close(sv[0]);
	close(sv[1]);
}

static void test_truncated_frames_rejected(void)
{
	struct berr err;
	struct proto_frame f;
	int sv[2];
	/* A header cut short. */
	pair(sv);
	CHECK_EQ_INT(write(sv[0], "Q\0\0", 3), 3);
	close(sv[0]);
	CHECK_EQ_INT(proto_recv(sv[1], &f, &err), -EPROTO);
	close(sv[1]);
	/* A payload cut short. */
	pair(sv);
	uint8_t hdr[PROTO_HEADER_SIZE];
	proto_header_encode(hdr, PROTO_STDOUT, 10);
	CHECK_EQ_INT(write(sv[0], hdr, sizeof(hdr)), (ssize_t)sizeof(hdr));
	CHECK_EQ_INT(write(sv[0], "abc", 3), 3);
	close(sv[0]);
	CHECK_EQ_INT(proto_recv(sv[1], &f, &err), -EPROTO);
	CHECK_STR_CONTAINS(err.msg, "truncated");
	close(sv[1]);
	/* A header with no payload at all. */
	pair(sv);
	CHECK_EQ_INT(write(sv[0], hdr, sizeof(hdr)), (ssize_t)sizeof(hdr));
	close(sv[0]);
	CHECK_EQ_INT(proto_recv(sv[1], &f, &err), -EPROTO);
	close(sv[1]);
}

static void test_oversized_and_unknown_rejected(void)
{
	struct berr err;
	struct proto_frame f;
	int sv[2];
	pair(sv);
	uint8_t hdr[PROTO_HEADER_SIZE];
	proto_header_encode(hdr, PROTO_STDOUT, PROTO_MAX_PAYLOAD + 1);
	CHECK_EQ_INT(write(sv[0], hdr, sizeof(hdr)), (ssize_t)sizeof(hdr));
	CHECK_EQ_INT(proto_recv(sv[1], &f, &err), -EMSGSIZE);
	close(sv[0]);
	close(sv[1]);
	/* A length near 4 GiB must not be trusted for an allocation. */
	pair(sv);
	CHECK_EQ_INT(write(sv[0], "O\xff\xff\xff\xff", 5), 5);
	CHECK_EQ_INT(proto_recv(sv[1], &f, &err), -EMSGSIZE);
	close(sv[0]);
	close(sv[1]);
	pair(sv);
	CHECK_EQ_INT(write(sv[0], "Z\0\0\0\0", 5), 5);
	CHECK_EQ_INT(proto_recv(sv[1], &f, &err), -EPROTO);
	CHECK_STR_CONTAINS(err.msg, "unknown type");
	close(sv[0]);
	close(sv[1]);
	char *big = calloc(1, PROTO_MAX_PAYLOAD + 1);
	CHECK_EQ_INT(proto_send(-1, PROTO_STDOUT, big, PROTO_MAX_PAYLOAD + 1, NULL, 0, &err), -EMSGSIZE);
	free(big);
}

static void test_listen_connect_and_peer(void)
{
	char dir[] = "/tmp/test_proto.XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	char path[256];
	snprintf(path, sizeof(path), "%s/s.sock", dir);
	struct berr err;
	int l = proto_listen(path, &err);
	CHECK(l >= 0);
	struct stat st;
	CHECK_EQ_INT(stat(path, &st), 0);
	CHECK_EQ_INT(st.st_mode & 0777, 0600);
	/* A live socket is not replaced. */
	CHECK_EQ_INT(proto_listen(path, &err), -EADDRINUSE);
	int c = proto_connect(path, &err);
	CHECK(c >= 0);
	int s = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	CHECK(s >= 0);
	CHECK_EQ_INT(proto_peer_is_root(s), getuid() == 0);
	close(s);
	close(c);
	close(l);
	/* A stale one is. */
	l = proto_listen(path, &err);
	CHECK(l >= 0);
	close(l);
	unlink(path);
	/* Something that is not a socket is never removed. */
	int fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	close(fd);
	CHECK_EQ_INT(proto_listen(path, &err), -EEXIST);
	unlink(path);
	CHECK(proto_connect(path, &err) == -ENOENT);
	rmdir(dir);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	RUN(test_roundtrip_small_and_empty);
	RUN(test_largest_payload_needs_several_writes);
	RUN(test_fds_pass_and_are_cloexec);
	RUN(test_truncated_frames_rejected);
	RUN(test_oversized_and_unknown_rejected);
	RUN(test_listen_connect_and_peer);
	return check_summary();
}
