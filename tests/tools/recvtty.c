/* recvtty: the receiving end of a --console-socket, for the QEMU tests
 * (never part of the image): listens on SOCKET, takes the pseudo-terminal
 * master a runtime sends, writes INPUT to it if given, and copies what the
 * container writes to stdout until the terminal closes. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: recvtty SOCKET [INPUT]\n");
		return 2;
	}
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(argv[1]) >= sizeof(sa.sun_path)) {
		return 2;
	}
	memcpy(sa.sun_path, argv[1], strlen(argv[1]) + 1);
	unlink(argv[1]);
	int ls = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(ls, 1) < 0) {
		perror("recvtty: listen");
		return 1;
	}
	int c = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
	if (c < 0) {
		perror("recvtty: accept");
		return 1;
	}
	char name[256];
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = {.iov_base = name, .iov_len = sizeof(name) - 1};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
	ssize_t n = recvmsg(c, &msg, MSG_CMSG_CLOEXEC);
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
	if (n < 0 || cm == NULL || cm->cmsg_type != SCM_RIGHTS) {
		fprintf(stderr, "recvtty: no fd received\n");
		return 1;
	}
	name[n] = '\0';
	int master;
	memcpy(&master, CMSG_DATA(cm), sizeof(int));
	fprintf(stderr, "recvtty: got %s as fd %d\n", name, master);
	if (argc > 2) {
		(void)!write(master, argv[2], strlen(argv[2]));
		(void)!write(master, "\n", 1);
	}
	char buf[4096];
	for (;;) {
		struct pollfd p = {.fd = master, .events = POLLIN};
		if (poll(&p, 1, 20000) <= 0) {
			break;
		}
		n = read(master, buf, sizeof(buf));
		if (n <= 0) {
			break;
		}
		(void)!write(STDOUT_FILENO, buf, (size_t)n);
	}
	return 0;
}
