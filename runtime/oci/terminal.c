/* Terminals (see terminal.h). */
#include "oci/terminal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "lib/cleanup.h"

int term_connect(const char *path, struct berr *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path)) {
		return berr_setx(err, ENAMETOOLONG, "console socket path too long: %s", path);
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		return berr_set(err, errno, "console socket");
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(fd);
		return berr_set(err, e, "connect to console socket %s", path);
	}
	return fd;
}

static int send_fd(int sock, int fd, const char *name)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	memset(cbuf, 0, sizeof(cbuf));
	struct iovec iov = {.iov_base = (void *)name, .iov_len = strlen(name)};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	ssize_t n;
	do {
		n = sendmsg(sock, &msg, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : 0;
}

int term_setup(int sock, const struct oci_process *p, struct berr *err)
{
	auto_close int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0) {
		return berr_set(err, errno, "open /dev/ptmx in the container (is devpts mounted on /dev/pts?)");
	}
	int unlock = 0;
	if (ioctl(master, TIOCSPTLCK, &unlock) < 0) {
		return berr_set(err, errno, "unlock the pseudo-terminal");
	}
	/* The peer by fd: no path lookup that a container could race. */
	auto_close int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (slave < 0) {
		return berr_set(err, errno, "open the pseudo-terminal's slave");
	}
	if (p->has_console_size) {
		struct winsize ws = {.ws_row = (unsigned short)p->console_height,
				     .ws_col = (unsigned short)p->console_width};
		ioctl(slave, TIOCSWINSZ, &ws);
	}
	int ret = send_fd(sock, master, "/dev/ptmx");
	if (ret < 0) {
		return berr_set(err, -ret, "send the terminal over the console socket");
	}
	if (setsid() < 0 && errno != EPERM) {
		return berr_set(err, errno, "setsid");
	}
	if (ioctl(slave, TIOCSCTTY, 0) < 0) {
		return berr_set(err, errno, "make the terminal controlling");
	}
	for (int fd = 0; fd < 3; fd++) {
		if (dup2(slave, fd) < 0) {
			return berr_set(err, errno, "terminal on fd %d", fd);
		}
	}
	return 0;
}

int term_recv_master(int sock, struct berr *err)
{
	char name[256];
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = {.iov_base = name, .iov_len = sizeof(name)};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
	ssize_t n;
	do {
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	if (n <= 0) {
		return berr_set(err, n < 0 ? errno : EPIPE, "receive the container's terminal");
	}
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	if (c == NULL || c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(sizeof(int))) {
		return berr_setx(err, EPROTO, "the container sent no terminal");
	}
	int fd;
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

static void copy_winsize(int from, int to)
{
	struct winsize ws;
	if (ioctl(from, TIOCGWINSZ, &ws) == 0) {
		ioctl(to, TIOCSWINSZ, &ws);
	}
}

int term_relay(int master, pid_t child, int *status)
{
	struct termios saved;
	int raw = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0;
	if (raw) {
		struct termios t = saved;
		cfmakeraw(&t);
		tcsetattr(STDIN_FILENO, TCSANOW, &t);
		copy_winsize(STDIN_FILENO, master);
	}
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGWINCH);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	int in_open = 1;
	int exited = 0;
	char buf[16384];
	while (!exited) {
		struct pollfd fds[3] = {
			{.fd = master, .events = POLLIN},
			{.fd = in_open ? STDIN_FILENO : -1, .events = POLLIN},
			{.fd = sfd, .events = POLLIN},
		};
		if (poll(fds, 3, -1) < 0 && errno != EINTR) {
			break;
		}
		if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = read(master, buf, sizeof(buf));
			if (n > 0) {
				(void)!write(STDOUT_FILENO, buf, (size_t)n);
			} else if (n < 0 && errno == EIO) {
				/* Every slave closed: the session is over. */
				fds[0].fd = -1;
			}
		}
		if (fds[1].revents & (POLLIN | POLLHUP)) {
			ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
			if (n > 0) {
				(void)!write(master, buf, (size_t)n);
			} else {
				in_open = 0;
			}
		}
		if (sfd >= 0 && (fds[2].revents & POLLIN)) {
			struct signalfd_siginfo si;
			while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
				if (si.ssi_signo == SIGWINCH && raw) {
					copy_winsize(STDIN_FILENO, master);
				}
			}
		}
		if (waitpid(child, status, WNOHANG) == child) {
			exited = 1;
		}
	}
	/* Whatever the process wrote last. */
	fcntl(master, F_SETFL, O_NONBLOCK);
	ssize_t n;
	while ((n = read(master, buf, sizeof(buf))) > 0) {
		(void)!write(STDOUT_FILENO, buf, (size_t)n);
	}
	if (raw) {
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	}
	if (sfd >= 0) {
		close(sfd);
	}
	if (!exited) {
		waitpid(child, status, 0);
	}
	return 0;
}
