/* Attaching to a container (see attach.h). */
#include "cli/attach.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cli/client.h"
#include "cli/remote.h"
#include "lib/fsutil.h"
#include "proto/proto.h"

static struct termios saved_termios;
static int termios_saved;

static void restore_terminal(void)
{
	if (termios_saved) {
		tcsetattr(STDIN_FILENO, TCSANOW, &saved_termios);
		termios_saved = 0;
	}
}

static void raw_terminal(void)
{
	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved_termios) < 0) {
		return;
	}
	struct termios raw = saved_termios;
	cfmakeraw(&raw);
	if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0) {
		termios_saved = 1;
		atexit(restore_terminal);
	}
}

static int connect_retry(const char *path)
{
	if (remote_target() != NULL) {
		/* dial-stdio on the host waits for the socket itself. */
		struct berr err = {0};
		int fd = client_dial(path, &err);
		if (fd < 0) {
			fprintf(stderr, "berth: attach: %s\n", err.msg);
		}
		return fd;
	}
	/* berthd answers before the monitor has made its socket, which
	 * usually takes a few milliseconds: retry soon, then back off (1 ms
	 * doubling to 50 ms), for about 5 s in all. */
	struct berr err = {0};
	long wait_ns = 1000000;
	long waited_ns = 0;
	while (waited_ns < 5000000000L) {
		int fd = proto_connect(path, &err);
		if (fd >= 0) {
			return fd;
		}
		struct timespec ts = {0, wait_ns};
		nanosleep(&ts, NULL);
		waited_ns += wait_ns;
		wait_ns = wait_ns * 2 > 50000000 ? 50000000 : wait_ns * 2;
	}
	fprintf(stderr, "berth: attach: %s\n", err.msg);
	return -1;
}

static void send_size(int sock)
{
	struct winsize ws;
	if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0) {
		char buf[32];
		snprintf(buf, sizeof(buf), "%u %u", ws.ws_row, ws.ws_col);
		struct berr err = {0};
		proto_send_str(sock, PROTO_RESIZE, buf, &err);
	}
}

static void pass_signal(const char *name, int sig)
{
	json_object *req = client_req("kill");
	json_object_object_add(req, "name", json_object_new_string(name));
	json_object_object_add(req, "signal", json_object_new_int(sig));
	json_object *resp = NULL;
	client_call("kill", req, NULL, 0, &resp);
	json_object_put(resp);
}

/* Signals while attached: 0 to go on, or the exit status to end with. */
static int on_signals(int sigfd, int sock, const struct attach_opts *o)
{
	struct signalfd_siginfo si;
	while (read(sigfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGWINCH) {
			send_size(sock);
		} else if (o->kill_name != NULL) {
			pass_signal(o->kill_name, (int)si.ssi_signo);
		} else {
			return 128 + (int)si.ssi_signo;
		}
	}
	return 0;
}

/* Our stdin to the container; 0 once it has ended. */
static int on_stdin(int sock)
{
	char buf[4096];
	ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
	struct berr err = {0};
	if (n > 0) {
		proto_send(sock, PROTO_STDIN, buf, (size_t)n, NULL, 0, &err);
	} else if (n == 0 || errno != EINTR) {
		proto_send(sock, PROTO_STDIN_EOF, "", 0, NULL, 0, &err);
		return 0;
	}
	return 1;
}

/* One frame from the monitor: 0 to go on, 1 when the stream has ended
 * (*code: the container's exit code, or -1 when the connection broke). */
static int on_frame(int sock, int *code)
{
	struct proto_frame f = {0};
	struct berr err = {0};
	if (proto_recv(sock, &f, &err) <= 0) {
		proto_frame_release(&f);
		return 1;
	}
	int ended = 0;
	if (f.type == PROTO_STDOUT || f.type == PROTO_STDERR) {
		write_all(f.type == PROTO_STDERR ? STDERR_FILENO : STDOUT_FILENO, f.data, f.len);
	} else if (f.type == PROTO_EXIT) {
		json_object *x = json_tokener_parse(f.data);
		*code = x != NULL ? (int)json_int(x, "exit_code") : 0;
		json_object_put(x);
		ended = 1;
	}
	proto_frame_release(&f);
	return ended;
}

int attach_run(const struct attach_opts *o)
{
	int sock = connect_retry(o->socket);
	if (sock < 0) {
		return -1;
	}
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGWINCH);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL);
	int sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (o->tty) {
		raw_terminal();
		send_size(sock);
	}
	int stdin_live = o->stdin_open;
	int code = -1;
	for (;;) {
		struct pollfd fds[3] = {
			{.fd = sock, .events = POLLIN},
			{.fd = sigfd, .events = POLLIN},
			{.fd = stdin_live ? STDIN_FILENO : -1, .events = POLLIN},
		};
		if (poll(fds, 3, -1) < 0) {
			if (errno == EINTR) {
				continue;
			}
			break;
		}
		int status = (fds[1].revents & POLLIN) ? on_signals(sigfd, sock, o) : 0;
		if (status != 0) {
			restore_terminal();
			close(sock);
			return status;
		}
		if (fds[2].revents & (POLLIN | POLLHUP | POLLERR)) {
			stdin_live = on_stdin(sock);
		}
		if ((fds[0].revents & (POLLIN | POLLHUP | POLLERR)) && on_frame(sock, &code)) {
			break;
		}
	}
	restore_terminal();
	close(sock);
	close(sigfd);
	if (code < 0) {
		fprintf(stderr, "berth: attach: the connection to the container's monitor was lost\n");
	}
	return code;
}
