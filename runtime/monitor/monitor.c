/* A container's monitor (see monitor.h): owns the container's stdio, its
 * log, its attach clients and its exit status. It runs alone for the
 * container's whole life, so it never blocks on a client or on berthd,
 * never exits before the container has been reaped and its exit
 * recorded, and never deletes the container (berthd does). */
#include "monitor/monitor.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/decimal.h"
#include "lib/fsutil.h"
#include "lib/log.h"
#include "lib/proc.h"
#include "monitor/attachsrv.h"
#include "monitor/logfile.h"
#include "oci/cgroup.h"
#include "oci/terminal.h"
#include "proto/proto.h"

/* Input queued for the container before clients are paused. */
#define STDIN_BUF_MAX (1u << 20)
#define READ_CHUNK 32768
/* What the runtime said last, for the error line on --status-fd. */
#define TAIL_MAX 1024
#define ORPHANS_MAX 16
/* How much output is still read once the container has gone: what it
 * wrote is in the pipe, and a process it left behind writing on must
 * not keep the monitor from finishing. */
#define DRAIN_CHUNKS 64
/* How long clients get to take their last output and the EXIT frame. */
#define EXIT_FLUSH_MS 2000

extern char **environ;

/* What an epoll event names. */
enum source { S_SIGNAL, S_STDOUT, S_STDERR, S_STDIN, S_ATTACH, S_RUNTIME };

struct opts {
	const char *name;
	const char *dir;
	const char *bundle;
	const char *oci_root;
	const char *runtime;
	const char *log;
	uint64_t log_max_size;
	unsigned log_max_files;
	int tty;
	int keep_stdin;
	int wait_attach;
	int status_fd;
};

enum phase { CREATING, CREATED, STARTING, RUNNING };

struct monitor {
	struct opts o;
	char pid_path[PATH_MAX];
	char console_path[PATH_MAX];
	char attach_path[PATH_MAX];
	int epfd;
	int sigfd;
	int console_fd;
	int out_fd; /* the container's stdout, or the terminal's master */
	int err_fd;
	int in_fd; /* its stdin (pipe or a dup of the master); -1: none or closed */
	int master;
	struct winsize size; /* the last RESIZE, for a terminal still to come */
	int in_watched;
	struct logfile *log;
	int log_warned;
	struct attachsrv *attach;
	char *in_buf;
	size_t in_len;
	int in_eof;
	enum phase phase;
	pid_t rt_pid; /* the runtime command running, 0: none */
	int rt_fd;
	char tail[TAIL_MAX];
	size_t tail_len;
	pid_t cpid;
	struct cgroup cg; /* the container's, to count its OOM kills; dirfd -1: unknown */
	int exited;
	int wstatus;
	struct {
		pid_t pid;
		int status;
	} orphans[ORPHANS_MAX];
	size_t orphan_next;
	int failed;
};

/* ---- small helpers -------------------------------------------------------- */

static int ep_set(struct monitor *m, int op, int fd, uint32_t events, enum source src)
{
	struct epoll_event ev = {.events = events, .data.u32 = src};
	return epoll_ctl(m->epfd, op, fd, &ev) < 0 ? -errno : 0;
}

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	return fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ? -errno : 0;
}

/* Writes DIR/name whole or not at all: readers (berthd) never see half. */
static int write_atomic(const char *dir, const char *name, const char *text, struct berr *err)
{
	char path[PATH_MAX];
	if (path_join(path, sizeof(path), dir, name) < 0) {
		return berr_setx(err, ENAMETOOLONG, "%s/%s: path too long", dir, name);
	}
	return write_file_atomic(path, text, strlen(text), 0644, ATOMIC_FSYNC_FILE | ATOMIC_FSYNC_DIR, err);
}

/* The one line on --status-fd; the fd is closed after it. */
__attribute__((format(printf, 2, 3))) static void report_status(struct monitor *m, const char *fmt, ...)
{
	if (m->o.status_fd < 0) {
		return;
	}
	char line[TAIL_MAX + 128];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	size_t len = n < 0 ? 0 : (size_t)n < sizeof(line) - 1 ? (size_t)n : sizeof(line) - 2;
	for (size_t i = 0; i < len; i++) {
		if (line[i] == '\n' || line[i] == '\r') {
			line[i] = ' ';
		}
	}
	line[len++] = '\n';
	(void)!write(m->o.status_fd, line, len);
	close(m->o.status_fd);
	m->o.status_fd = -1;
}

static void fail(struct monitor *m, const char *msg)
{
	report_status(m, "error %s", msg);
	m->failed = 1;
}

/* Keeps the last TAIL_MAX bytes the runtime wrote. */
static void tail_append(struct monitor *m, const char *data, size_t n)
{
	if (n >= TAIL_MAX) {
		data += n - TAIL_MAX;
		n = TAIL_MAX;
	}
	if (m->tail_len + n > TAIL_MAX) {
		size_t drop = m->tail_len + n - TAIL_MAX;
		memmove(m->tail, m->tail + drop, m->tail_len - drop);
		m->tail_len -= drop;
	}
	memcpy(m->tail + m->tail_len, data, n);
	m->tail_len += n;
}

/* ---- the container's stdin -------------------------------------------------- */

static void stdin_close(struct monitor *m)
{
	if (m->in_fd >= 0) {
		if (m->in_watched) {
			epoll_ctl(m->epfd, EPOLL_CTL_DEL, m->in_fd, NULL);
		}
		close(m->in_fd);
	}
	m->in_fd = -1;
	m->in_watched = 0;
	m->in_len = 0;
	attachsrv_pause_input(m->attach, 0);
}

static void stdin_flush(struct monitor *m)
{
	size_t done = 0;
	while (m->in_fd >= 0 && done < m->in_len) {
		ssize_t n = write(m->in_fd, m->in_buf + done, m->in_len - done);
		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			if (errno != EAGAIN) {
				/* The container closed its stdin: input has
				 * nowhere to go. */
				stdin_close(m);
				return;
			}
			break;
		}
		done += (size_t)n;
	}
	if (done > 0) {
		memmove(m->in_buf, m->in_buf + done, m->in_len - done);
		m->in_len -= done;
	}
	if (m->in_fd >= 0 && m->in_len == 0 && m->in_eof) {
		stdin_close(m);
		return;
	}
	int want = m->in_fd >= 0 && m->in_len > 0;
	if (want != m->in_watched &&
	    ep_set(m, want ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, m->in_fd, EPOLLOUT, S_STDIN) == 0) {
		m->in_watched = want;
	}
	if (m->in_len >= STDIN_BUF_MAX) {
		attachsrv_pause_input(m->attach, 1);
	} else if (m->in_len < STDIN_BUF_MAX / 2) {
		attachsrv_pause_input(m->attach, 0);
	}
}

static void stdin_queue(struct monitor *m, const char *data, size_t n)
{
	/* A terminal comes when create is done; input that comes first
	 * (a client attached early) waits for it. */
	int terminal_to_come = m->o.tty && m->o.keep_stdin && m->phase == CREATING;
	if ((m->in_fd < 0 && !terminal_to_come) || m->in_eof || n == 0) {
		return;
	}
	char *p = realloc(m->in_buf, m->in_len + n);
	if (p == NULL) {
		return;
	}
	m->in_buf = p;
	memcpy(m->in_buf + m->in_len, data, n);
	m->in_len += n;
	stdin_flush(m);
}

/* A client's STDIN, STDIN_EOF or RESIZE frame (attachsrv.h). */
static void on_input(void *ctx, enum proto_type type, const char *data, size_t len)
{
	struct monitor *m = ctx;
	switch (type) {
	case PROTO_STDIN:
		stdin_queue(m, data, len);
		break;
	case PROTO_STDIN_EOF:
		/* A terminal has no end of input short of hanging up; the
		 * user's ^D reaches it as a byte. */
		if (!m->o.tty && m->in_fd >= 0) {
			m->in_eof = 1;
			stdin_flush(m);
		}
		break;
	case PROTO_RESIZE: {
		unsigned rows;
		unsigned cols;
		if (m->o.tty && sscanf(data, "%u %u", &rows, &cols) == 2 && rows > 0 && rows <= USHRT_MAX && cols > 0 &&
		    cols <= USHRT_MAX) {
			m->size.ws_row = (unsigned short)rows;
			m->size.ws_col = (unsigned short)cols;
			if (m->master >= 0) {
				ioctl(m->master, TIOCSWINSZ, &m->size);
			}
		}
		break;
	}
	default:
		break;
	}
}

/* ---- the container's output ------------------------------------------------ */

static void close_output(struct monitor *m, int *fd)
{
	epoll_ctl(m->epfd, EPOLL_CTL_DEL, *fd, NULL);
	if (*fd == m->master) {
		m->master = -1;
	}
	close(*fd);
	*fd = -1;
}

/* Reads one chunk: to the log first, then to the clients. Returns 1 when
 * it read something. */
static int read_output(struct monitor *m, enum log_stream stream)
{
	int *fd = stream == LOG_STDERR ? &m->err_fd : &m->out_fd;
	if (*fd < 0) {
		return 0;
	}
	char buf[READ_CHUNK];
	ssize_t n = read(*fd, buf, sizeof(buf));
	if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
		return 0;
	}
	if (n <= 0) {
		/* End of output (EIO: a terminal whose every slave closed). */
		close_output(m, fd);
		return 0;
	}
	if (m->phase == CREATING && stream == LOG_STDERR) {
		tail_append(m, buf, (size_t)n);
	}
	struct berr err;
	if (m->log != NULL) {
		/* Told once per outage (DATA full), and when it ends. */
		if (logfile_write(m->log, stream, buf, (size_t)n, &err) < 0) {
			if (!m->log_warned) {
				blog_warn("%s: %s", m->o.name, err.msg);
			}
			m->log_warned = 1;
		} else if (m->log_warned) {
			blog_notice("%s: writing its log again", m->o.name);
			m->log_warned = 0;
		}
	}
	attachsrv_broadcast(m->attach, stream == LOG_STDERR ? PROTO_STDERR : PROTO_STDOUT, buf, (size_t)n);
	return 1;
}

/* Reads what a source holds now, to a bound (DRAIN_CHUNKS). */
static void drain_output(struct monitor *m, enum log_stream stream)
{
	for (int i = 0; i < DRAIN_CHUNKS && read_output(m, stream) > 0; i++) {
	}
}

static void read_runtime_output(struct monitor *m, int drain)
{
	char buf[4096];
	while (m->rt_fd >= 0) {
		ssize_t n = read(m->rt_fd, buf, sizeof(buf));
		if (n > 0) {
			tail_append(m, buf, (size_t)n);
			if (drain) {
				continue;
			}
			return;
		}
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n < 0 && errno == EAGAIN) {
			return;
		}
		epoll_ctl(m->epfd, EPOLL_CTL_DEL, m->rt_fd, NULL);
		close(m->rt_fd);
		m->rt_fd = -1;
	}
}

/* ---- the runtime ------------------------------------------------------------- */

static int run_runtime(struct monitor *m, const char *cmd, int in, int out, int errfd, struct berr *err)
{
	char *argv[16];
	size_t n = 0;
	argv[n++] = (char *)(m->o.runtime != NULL ? m->o.runtime : "berth-oci");
	if (m->o.oci_root != NULL) {
		argv[n++] = (char *)"--root";
		argv[n++] = (char *)m->o.oci_root;
	}
	argv[n++] = (char *)cmd;
	if (strcmp(cmd, "create") == 0) {
		argv[n++] = (char *)"--bundle";
		argv[n++] = (char *)m->o.bundle;
		argv[n++] = (char *)"--pid-file";
		argv[n++] = m->pid_path;
		if (m->o.tty) {
			argv[n++] = (char *)"--console-socket";
			argv[n++] = m->console_path;
		}
	}
	argv[n++] = (char *)m->o.name;
	argv[n] = NULL;
	struct spawn_opts so = {
		/* berth-oci is this very program, called by that name. */
		.path = m->o.runtime != NULL ? m->o.runtime : "/proc/self/exe",
		.argv = argv,
		.envp = environ,
		.stdin_fd = in,
		.stdout_fd = out,
		.stderr_fd = errfd,
	};
	m->tail_len = 0;
	return proc_spawn(&so, &m->rt_pid, err);
}

/* Runs `start` with its output to a pipe of its own, kept for errors. */
static int run_start(struct monitor *m, struct berr *err)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0) {
		return berr_set(err, errno, "pipe");
	}
	int ret = run_runtime(m, "start", -1, p[1], p[1], err);
	close(p[1]);
	if (ret < 0) {
		close(p[0]);
		return ret;
	}
	m->rt_fd = p[0];
	ep_set(m, EPOLL_CTL_ADD, m->rt_fd, EPOLLIN, S_RUNTIME);
	m->phase = STARTING;
	return 0;
}

static void maybe_start(struct monitor *m)
{
	if (m->phase != CREATED || m->exited || (m->o.wait_attach && !attachsrv_connected(m->attach))) {
		return;
	}
	struct berr err;
	if (run_start(m, &err) < 0) {
		fail(m, err.msg);
	}
}

/* The runtime's last line, or how it ended. */
static void runtime_error(struct monitor *m, const char *cmd, int status, char *out, size_t size)
{
	size_t end = m->tail_len;
	while (end > 0 && (m->tail[end - 1] == '\n' || m->tail[end - 1] == '\r' || m->tail[end - 1] == ' ')) {
		end--;
	}
	size_t start = end;
	while (start > 0 && m->tail[start - 1] != '\n') {
		start--;
	}
	if (end > start) {
		snprintf(out, size, "%.*s", (int)(end - start), m->tail + start);
	} else if (WIFSIGNALED(status)) {
		snprintf(out, size, "runtime %s killed by signal %d", cmd, WTERMSIG(status));
	} else {
		snprintf(out, size, "runtime %s exited with status %d", cmd, WEXITSTATUS(status));
	}
}

static void remember_orphan(struct monitor *m, pid_t pid, int status)
{
	m->orphans[m->orphan_next].pid = pid;
	m->orphans[m->orphan_next].status = status;
	m->orphan_next = (m->orphan_next + 1) % ORPHANS_MAX;
}

/* The container's cgroup, as /proc names it ("0::/berth/web"), kept open
 * so that its OOM kills can be counted when it ends. Not knowing it only
 * loses that count. */
static void remember_cgroup(struct monitor *m)
{
	char path[64];
	char buf[PATH_MAX + 8];
	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)m->cpid);
	if (read_file(path, buf, sizeof(buf), NULL) < 0 || strncmp(buf, "0::", 3) != 0) {
		return;
	}
	buf[strcspn(buf, "\n")] = '\0';
	struct berr err;
	if (cgroup_open(&m->cg, NULL, buf + 3, &err) < 0) {
		blog_warn("%s: %s (its OOM kills will not be known)", m->o.name, err.msg);
		m->cg.dirfd = -1;
	}
}

/* create succeeded: learn the container's pid (and terminal). */
static int created(struct monitor *m, struct berr *err)
{
	char buf[32];
	if (read_file(m->pid_path, buf, sizeof(buf), err) < 0) {
		return berr_prefix(err, "the runtime's pid file");
	}
	uint64_t pid;
	if (decimal_parse(trim_end(buf), INT_MAX, &pid) < 0 || pid == 0) {
		return berr_setx(err, EINVAL, "%s: not a pid: %.31s", m->pid_path, buf);
	}
	m->cpid = (pid_t)pid;
	remember_cgroup(m);
	/* Reaped before its pid was known (it died early). */
	for (size_t i = 0; i < ORPHANS_MAX; i++) {
		if (m->orphans[i].pid == m->cpid) {
			m->exited = 1;
			m->wstatus = m->orphans[i].status;
		}
	}
	if (m->o.tty) {
		auto_close int conn = accept4(m->console_fd, NULL, NULL, SOCK_CLOEXEC);
		if (conn < 0) {
			return berr_set(err, errno, "the runtime sent no terminal on %s", m->console_path);
		}
		int master = term_recv_master(conn, err);
		if (master < 0) {
			return master;
		}
		close(m->console_fd);
		m->console_fd = -1;
		unlink(m->console_path);
		m->master = master;
		m->out_fd = master;
		set_nonblock(master);
		if (ep_set(m, EPOLL_CTL_ADD, master, EPOLLIN, S_STDOUT) < 0) {
			return berr_set(err, errno, "epoll");
		}
		if (m->size.ws_row > 0) {
			ioctl(master, TIOCSWINSZ, &m->size);
		}
		if (m->o.keep_stdin) {
			/* Its own fd, so that epoll can watch it for writing
			 * apart from reading. */
			m->in_fd = fcntl(master, F_DUPFD_CLOEXEC, 3);
		}
	}
	m->phase = CREATED;
	stdin_flush(m);
	return 0;
}

static void runtime_exited(struct monitor *m, int status)
{
	read_runtime_output(m, 1);
	if (m->phase == CREATING && !m->o.tty) {
		drain_output(m, LOG_STDERR);
	}
	int ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
	char msg[TAIL_MAX + 64];
	if (m->phase == CREATING) {
		struct berr err;
		if (!ok) {
			runtime_error(m, "create", status, msg, sizeof(msg));
			fail(m, msg);
		} else if (created(m, &err) < 0) {
			fail(m, err.msg);
		} else {
			maybe_start(m);
		}
	} else if (m->phase == STARTING) {
		if (!ok) {
			runtime_error(m, "start", status, msg, sizeof(msg));
			fail(m, msg);
		} else {
			m->phase = RUNNING;
			report_status(m, "ok %d", (int)m->cpid);
		}
	}
}

static void reap(struct monitor *m)
{
	struct signalfd_siginfo si;
	while (read(m->sigfd, &si, sizeof(si)) > 0) {
	}
	int status;
	pid_t pid;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (pid == m->rt_pid) {
			m->rt_pid = 0;
			runtime_exited(m, status);
		} else if (m->cpid > 0 && pid == m->cpid) {
			m->exited = 1;
			m->wstatus = status;
		} else {
			remember_orphan(m, pid, status);
		}
	}
}

/* ---- the end ------------------------------------------------------------------ */

/* As a shell reports it: the status, or 128 + the signal. */
static int exit_code(int wstatus)
{
	return WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
}

static int write_exit(struct monitor *m, struct berr *err)
{
	int sig = WIFSIGNALED(m->wstatus) ? WTERMSIG(m->wstatus) : 0;
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	char when[64];
	logfile_format_time(&now, when, sizeof(when));
	json_object *o = json_object_new_object();
	json_object_object_add(o, "exit_code", json_object_new_int(exit_code(m->wstatus)));
	json_object_object_add(o, "signal", json_object_new_int(sig));
	json_object_object_add(o, "finished_at", json_object_new_string(when));
	uint64_t kills = 0;
	struct berr e2;
	if (m->cg.dirfd >= 0 && cgroup_oom_kills(&m->cg, &kills, &e2) == 0) {
		json_object_object_add(o, "oom_kills", json_object_new_int64((int64_t)kills));
	}
	int ret = write_atomic(m->o.dir, "exit.json", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN), err);
	json_object_put(o);
	return ret;
}

static void finish(struct monitor *m)
{
	struct berr err;
	/* Output written before the exit is already in the pipes; what
	 * lingering processes write later is not the container's. */
	drain_output(m, LOG_STDOUT);
	drain_output(m, LOG_STDERR);
	if (m->log != NULL && logfile_flush(m->log, &err) < 0 && !m->log_warned) {
		blog_warn("%s: %s", m->o.name, err.msg);
	}
	if (write_exit(m, &err) < 0) {
		blog_err("%s: %s", m->o.name, err.msg);
	}
	char frame[64];
	int n = snprintf(frame, sizeof(frame), "{\"exit_code\": %d}", exit_code(m->wstatus));
	attachsrv_finish(m->attach, PROTO_EXIT, frame, (size_t)n, EXIT_FLUSH_MS);
}

/* ---- setup ---------------------------------------------------------------------- */

static int parse_number(const char *opt, const char *v, uint64_t max, uint64_t *out, struct berr *err)
{
	if (decimal_parse(v, max, out) < 0) {
		return berr_setx(err, EINVAL, "%s: bad number '%s'", opt, v);
	}
	return 0;
}

static int parse_opts(int argc, char **argv, struct opts *o, struct berr *err)
{
	memset(o, 0, sizeof(*o));
	o->status_fd = -1;
	o->log_max_size = LOGFILE_DEFAULT_MAX_SIZE;
	o->log_max_files = LOGFILE_DEFAULT_MAX_FILES;
	/* argv[0] is the command's name; a caller handing on berth's own
	 * argv unshifted leaves "monitor" in front of the options. */
	int first = argc > 1 && strcmp(argv[1], "monitor") == 0 ? 2 : 1;
	for (int i = first; i < argc; i++) {
		const char *arg = argv[i];
		if (strcmp(arg, "--tty") == 0) {
			o->tty = 1;
			continue;
		}
		if (strcmp(arg, "--stdin") == 0) {
			o->keep_stdin = 1;
			continue;
		}
		if (strcmp(arg, "--wait-attach") == 0) {
			o->wait_attach = 1;
			continue;
		}
		if (i + 1 >= argc) {
			return berr_setx(err, EINVAL, "unknown option '%s', or it needs a value", arg);
		}
		const char *v = argv[++i];
		uint64_t n = 0;
		int ret = 0;
		if (strcmp(arg, "--name") == 0) {
			o->name = v;
		} else if (strcmp(arg, "--dir") == 0) {
			o->dir = v;
		} else if (strcmp(arg, "--bundle") == 0) {
			o->bundle = v;
		} else if (strcmp(arg, "--oci-root") == 0) {
			o->oci_root = v;
		} else if (strcmp(arg, "--runtime") == 0) {
			o->runtime = v;
		} else if (strcmp(arg, "--log") == 0) {
			o->log = v;
		} else if (strcmp(arg, "--log-max-size") == 0) {
			ret = parse_number(arg, v, UINT64_MAX, &n, err);
			o->log_max_size = n;
		} else if (strcmp(arg, "--log-max-files") == 0) {
			ret = parse_number(arg, v, 1000, &n, err);
			o->log_max_files = (unsigned)n;
		} else if (strcmp(arg, "--status-fd") == 0) {
			ret = parse_number(arg, v, INT_MAX, &n, err);
			o->status_fd = ret == 0 ? (int)n : -1;
		} else {
			return berr_setx(err, EINVAL, "unknown option '%s'", arg);
		}
		if (ret < 0) {
			return ret;
		}
	}
	if (o->name == NULL || o->dir == NULL || o->bundle == NULL) {
		return berr_setx(err, EINVAL, "--name, --dir and --bundle are required");
	}
	/* The runtime runs in /: relative paths would mean something else. */
	if (o->dir[0] != '/' || o->bundle[0] != '/' || (o->log != NULL && o->log[0] != '/')) {
		return berr_setx(err, EINVAL, "--dir, --bundle and --log must be absolute paths");
	}
	return 0;
}

/* Everything up to the runtime's create, which runs in the loop. */
static int setup(struct monitor *m, struct berr *err)
{
	struct opts *o = &m->o;
	if (setsid() < 0 && errno != EPERM) {
		return berr_set(err, errno, "setsid");
	}
	/* The container's init is the runtime's child; when create exits
	 * it comes to us, and so does every orphan under it. */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) {
		return berr_set(err, errno, "become a child subreaper");
	}
	struct sigaction sa = {.sa_handler = SIG_IGN};
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGPIPE, &sa, NULL);
	/* An inherited SIG_IGN would have children reaped unseen. */
	sa.sa_handler = SIG_DFL;
	sigaction(SIGCHLD, &sa, NULL);
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	if (chdir("/") < 0) {
		return berr_set(err, errno, "chdir /");
	}
	int ret = mkdir_p(o->dir, 0700, err);
	if (ret < 0) {
		return ret;
	}
	/* A previous run's files would tell of a container that is not
	 * this one. */
	char stale[PATH_MAX];
	const char *const stale_names[] = {"exit.json", "pid"};
	for (size_t i = 0; i < 2; i++) {
		if (path_join(stale, sizeof(stale), o->dir, stale_names[i]) == 0) {
			unlink(stale);
		}
	}
	char text[32];
	snprintf(text, sizeof(text), "%d\n", (int)getpid());
	if ((ret = write_atomic(o->dir, "monitor.pid", text, err)) < 0) {
		return ret;
	}
	if (path_join(m->pid_path, sizeof(m->pid_path), o->dir, "pid") < 0 ||
	    path_join(m->console_path, sizeof(m->console_path), o->dir, "console.sock") < 0 ||
	    path_join(m->attach_path, sizeof(m->attach_path), o->dir, "attach.sock") < 0) {
		return berr_setx(err, ENAMETOOLONG, "%s: path too long", o->dir);
	}
	m->sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	m->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (m->sigfd < 0 || m->epfd < 0) {
		return berr_set(err, errno, "signalfd and epoll");
	}
	ep_set(m, EPOLL_CTL_ADD, m->sigfd, EPOLLIN, S_SIGNAL);
	if (o->log != NULL && (ret = logfile_open(o->log, o->log_max_size, o->log_max_files, &m->log, err)) < 0) {
		return ret;
	}
	if ((ret = attachsrv_open(m->attach_path, on_input, m, &m->attach, err)) < 0) {
		return ret;
	}
	ep_set(m, EPOLL_CTL_ADD, attachsrv_fd(m->attach), EPOLLIN, S_ATTACH);
	if (o->tty) {
		m->console_fd = proto_listen(m->console_path, err);
		if (m->console_fd < 0) {
			return m->console_fd;
		}
		set_nonblock(m->console_fd);
	}
	return 0;
}

/* Starts create with the container's stdio: pipes, or (with a terminal)
 * nothing, its output then kept only for errors. */
static int start_create(struct monitor *m, struct berr *err)
{
	int in[2] = {-1, -1};
	int out[2] = {-1, -1};
	int errp[2] = {-1, -1};
	int ret = 0;
	if ((m->o.keep_stdin && !m->o.tty && pipe2(in, O_CLOEXEC) < 0) || pipe2(out, O_CLOEXEC) < 0 ||
	    (!m->o.tty && pipe2(errp, O_CLOEXEC) < 0)) {
		ret = berr_set(err, errno, "pipe");
	}
	if (ret == 0) {
		ret = run_runtime(m, "create", in[0], out[1], m->o.tty ? out[1] : errp[1], err);
	}
	int keep[3] = {in[1], out[0], errp[0]};
	int gone[3] = {in[0], out[1], errp[1]};
	for (int i = 0; i < 3; i++) {
		if (gone[i] >= 0) {
			close(gone[i]);
		}
		if (ret < 0 && keep[i] >= 0) {
			close(keep[i]);
		}
	}
	if (ret < 0) {
		return ret;
	}
	for (int i = 0; i < 3; i++) {
		if (keep[i] >= 0) {
			set_nonblock(keep[i]);
		}
	}
	if (m->o.tty) {
		m->rt_fd = out[0];
		ep_set(m, EPOLL_CTL_ADD, m->rt_fd, EPOLLIN, S_RUNTIME);
		return 0;
	}
	m->in_fd = in[1];
	m->out_fd = out[0];
	m->err_fd = errp[0];
	ep_set(m, EPOLL_CTL_ADD, m->out_fd, EPOLLIN, S_STDOUT);
	ep_set(m, EPOLL_CTL_ADD, m->err_fd, EPOLLIN, S_STDERR);
	return 0;
}

static void dispatch(struct monitor *m, enum source src)
{
	switch (src) {
	case S_SIGNAL:
		reap(m);
		break;
	case S_STDOUT:
		read_output(m, LOG_STDOUT);
		break;
	case S_STDERR:
		read_output(m, LOG_STDERR);
		break;
	case S_STDIN:
		stdin_flush(m);
		break;
	case S_ATTACH:
		attachsrv_run(m->attach);
		maybe_start(m);
		break;
	case S_RUNTIME:
		read_runtime_output(m, 0);
		break;
	}
}

static void run(struct monitor *m)
{
	while (!m->failed) {
		if (m->exited && m->rt_pid == 0) {
			if (m->phase == RUNNING) {
				finish(m);
				return;
			}
			/* Killed while it waited to be started. */
			struct berr err;
			if (write_exit(m, &err) < 0) {
				blog_err("%s: %s", m->o.name, err.msg);
			}
			fail(m, "the container exited before it was started");
			return;
		}
		struct epoll_event evs[16];
		int n = epoll_wait(m->epfd, evs, 16, -1);
		if (n < 0 && errno != EINTR) {
			fail(m, "epoll_wait failed");
			return;
		}
		for (int i = 0; i < n; i++) {
			dispatch(m, (enum source)evs[i].data.u32);
		}
	}
}

static void cleanup(struct monitor *m)
{
	int *fds[] = {&m->epfd,	  &m->sigfd, &m->console_fd, &m->out_fd,
		      &m->err_fd, &m->in_fd, &m->rt_fd,	     &m->o.status_fd};
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (*fds[i] >= 0) {
			close(*fds[i]);
		}
	}
	attachsrv_close(m->attach);
	free(m->in_buf);
	logfile_close(m->log);
	free(m);
}

int monitor_main(int argc, char **argv)
{
	blog_init("berth monitor", -1);
	/* berthd is spared by the OOM killer (init gives it -900); its
	 * containers, started from here, are not. */
	set_oom_score_adj(0);
	struct monitor *m = calloc(1, sizeof(*m));
	if (m == NULL) {
		blog_err("out of memory");
		return 1;
	}
	int *fds[] = {&m->epfd,	 &m->sigfd,  &m->console_fd, &m->out_fd,  &m->err_fd,
		      &m->in_fd, &m->master, &m->rt_fd,	     &m->cg.dirfd};
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		*fds[i] = -1;
	}
	struct berr err;
	int ret = parse_opts(argc, argv, &m->o, &err);
	if (ret < 0) {
		blog_err("%s", err.msg);
		if (m->o.status_fd >= 0) {
			fail(m, err.msg);
		}
		cleanup(m);
		return 2;
	}
	/* Not for the runtime or the container to inherit. */
	if (m->o.status_fd >= 0) {
		fcntl(m->o.status_fd, F_SETFD, FD_CLOEXEC);
	}
	if (setup(m, &err) < 0 || start_create(m, &err) < 0) {
		fail(m, err.msg);
	} else {
		run(m);
	}
	int code = m->failed ? 1 : 0;
	if (m->console_fd >= 0) {
		unlink(m->console_path);
	}
	cleanup(m);
	return code;
}
