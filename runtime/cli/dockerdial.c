/* The host's end of a desk's `docker -H ssh://` connection (dockerdial.h). */
#include "cli/dockerdial.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli/client.h"
#include "lib/cleanup.h"
#include "lib/fsutil.h"
#include "oci/paths.h"
#include "proto/proto.h"

#define CHUNK 65536

static int usage(void)
{
	fprintf(stderr,
		"docker: this Berth host runs Docker's engine in its system container '%s': run docker "
		"commands there ('berth exec %s docker ...'), or from a desk with 'docker -H ssh://root@HOST'; "
		"here only 'docker system dial-stdio' (what that runs) is served\n",
		DOCKERDIAL_CONTAINER, DOCKERDIAL_CONTAINER);
	return 1;
}

/* Connects to the engine's socket, found inside the container's root (a
 * symlink there cannot point the connection at a socket of the host's). */
static int connect_engine(struct berr *err)
{
	auto_close int root = client_container_root("docker", DOCKERDIAL_CONTAINER, err);
	if (root < 0) {
		return root;
	}
	auto_close int node = root_open(root, DOCKERDIAL_SOCKET, O_PATH, 0, err);
	if (node < 0) {
		return berr_setx(err, -node, "container %s: %s: %s (is dockerd running?)", DOCKERDIAL_CONTAINER,
				 DOCKERDIAL_SOCKET, strerror(-node));
	}
	char via[64];
	fd_path(node, via, sizeof(via));
	int s = proto_connect(via, err);
	if (s < 0) {
		return berr_prefix(err, "container %s: %s", DOCKERDIAL_CONTAINER, DOCKERDIAL_SOCKET);
	}
	return s;
}

/* Moves what one side has to the other; 0 at its end of file, -1 on error. */
static int pass(int from, int to, char *buf)
{
	ssize_t n = read(from, buf, CHUNK);
	if (n < 0) {
		return errno == EINTR || errno == EAGAIN ? 1 : -1;
	}
	if (n == 0) {
		return 0;
	}
	return write_all(to, buf, (size_t)n) < 0 ? -1 : 1;
}

/* stdin to the socket until the client's end of file (then a half close:
 * the engine finishes its answer), the socket to stdout until the engine's. */
static int relay(int sock)
{
	static char buf[CHUNK];
	int in_open = 1;
	for (;;) {
		struct pollfd p[2] = {{.fd = sock, .events = POLLIN}, {.fd = in_open ? 0 : -1, .events = POLLIN}};
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR) {
				continue;
			}
			return -1;
		}
		if (p[0].revents != 0) {
			int r = pass(sock, 1, buf);
			if (r <= 0) {
				return r;
			}
		}
		if (in_open && p[1].revents != 0) {
			int r = pass(0, sock, buf);
			if (r < 0) {
				return -1;
			}
			if (r == 0) {
				in_open = 0;
				shutdown(sock, SHUT_WR);
			}
		}
	}
}

int dockerdial_main(int argc, char **argv)
{
	if (argc != 3 || strcmp(argv[1], "system") != 0 || strcmp(argv[2], "dial-stdio") != 0) {
		return usage();
	}
	signal(SIGPIPE, SIG_IGN);
	struct berr err = {0};
	auto_close int sock = connect_engine(&err);
	if (sock < 0) {
		fprintf(stderr, "docker system dial-stdio: %s\n", err.msg);
		return 1;
	}
	if (relay(sock) < 0) {
		fprintf(stderr, "docker system dial-stdio: relay: %s\n", strerror(errno));
		return 1;
	}
	return 0;
}
