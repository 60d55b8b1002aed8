/* The container monitor, run for real (monitor_main in a forked child)
 * against fake OCI runtimes: a shell script for pipes, and this test
 * program itself for terminals. Checks what berthd and a user would see:
 * the status line, the log, exit.json and what attach clients get. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "monitor/logfile.h"
#include "monitor/monitor.h"
#include "oci/terminal.h"
#include "proto/proto.h"

/* create: starts BUNDLE/cmd.sh held back on a fifo until start, with the
 * runtime's own stdio, as runc does. Files in the bundle or the root make
 * create or start fail. */
static const char fake_runtime[] =
	"#!/bin/sh\n"
	"root=/nonexistent\n"
	"if [ \"$1\" = --root ]; then root=$2; shift 2; fi\n"
	"cmd=$1; shift\n"
	"case $cmd in\n"
	"create)\n"
	"	while [ $# -gt 1 ]; do\n"
	"		case $1 in\n"
	"		--bundle) bundle=$2 ;;\n"
	"		--pid-file) pidfile=$2 ;;\n"
	"		*) echo \"fake: bad option $1\" >&2; exit 2 ;;\n"
	"		esac\n"
	"		shift 2\n"
	"	done\n"
	"	if [ -e \"$bundle/fail-create\" ]; then\n"
	"		echo 'fake: warming up' >&2\n"
	"		echo \"fake: cannot create $1\" >&2\n"
	"		exit 1\n"
	"	fi\n"
	"	mkfifo \"$root/$1.go\" || exit 1\n"
	/* A background job's stdin is /dev/null unless handed over. */
	"	exec 3<&0\n"
	"	sh -c 'exec 0<&3 3<&-; read go < \"$1\"; exec sh \"$2\"' fake \"$root/$1.go\" \"$bundle/cmd.sh\" &\n"
	"	echo $! > \"$pidfile\"\n"
	"	;;\n"
	"start)\n"
	"	if [ -e \"$root/fail-start\" ]; then echo \"fake: cannot start $1\" >&2; exit 1; fi\n"
	"	echo go > \"$root/$1.go\" && rm -f \"$root/$1.go\"\n"
	"	;;\n"
	"*) echo \"fake: unknown command $cmd\" >&2; exit 2 ;;\n"
	"esac\n";

static const char container_cmd[] = "echo out\n"
				    "echo err >&2\n"
				    "read line\n"
				    "echo got:$line\n"
				    "cat\n"
				    "exit 3\n";

static char top[64];

static void path_in(char *out, size_t size, const char *name)
{
	snprintf(out, size, "%s/%s", top, name);
}

static void write_text(const char *name, const char *text, mode_t mode)
{
	char path[256];
	path_in(path, sizeof(path), name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	CHECK(fd >= 0);
	CHECK_EQ_INT(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static void make_dirs(void)
{
	snprintf(top, sizeof(top), "/tmp/test_monitor.XXXXXX");
	CHECK(mkdtemp(top) != NULL);
	const char *dirs[] = {"root",	    "run",	  "bundle",	 "bundle-big",	  "bundle-fail",
			      "bundle-tty", "bundle-fds", "bundle-kill", "bundle-orphan", "bundle-wc"};
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		char path[256];
		path_in(path, sizeof(path), dirs[i]);
		CHECK_EQ_INT(mkdir(path, 0700), 0);
	}
	write_text("runtime.sh", fake_runtime, 0755);
	write_text("bundle/cmd.sh", container_cmd, 0644);
	write_text("bundle-fail/cmd.sh", container_cmd, 0644);
	/* ls's own directory fd is 3. */
	write_text("bundle-fds/cmd.sh", "exec ls /proc/self/fd\n", 0644);
	write_text("bundle-wc/cmd.sh", "sleep 1\nwc -c | tr -d ' '\n", 0644);
	write_text("bundle-kill/cmd.sh", "echo bye\nkill -KILL $$\n", 0644);
	/* The subshell exits at once: its child is an orphan, the monitor's
	 * to reap. */
	write_text("bundle-orphan/cmd.sh",
		   "(sh -c 'echo $$ > \"$1\"; exec sleep 0.1' orphan \"$0.pid\" &)\n"
		   "sleep 1\n"
		   "if [ -e /proc/$(cat \"$0.pid\")/stat ]; then echo zombie; else echo reaped; fi\n",
		   0644);
	write_text("bundle-fail/fail-create", "", 0644);
	write_text("bundle-big/cmd.sh", "yes 0123456789abcdefghijklmnopqrstuvwxyz | head -c 6000000\nexit 0\n", 0644);
	write_text("bundle-tty/cmd.sh",
		   "stty size\n"
		   "echo ready\n"
		   "read line\n"
		   "stty size\n"
		   "echo got:$line\n"
		   "exit 5\n",
		   0644);
}

struct mon {
	pid_t pid;
	int status_fd;
	char dir[128];
	char log[160];
};

/* Runs monitor_main in a child, as berthd would start it. */
static void mon_start(struct mon *mon, const char *name, const char *bundle, const char *runtime,
		      const char *const *extra)
{
	int sp[2];
	CHECK_EQ_INT(pipe2(sp, O_CLOEXEC), 0);
	snprintf(mon->dir, sizeof(mon->dir), "%s/run/%s", top, name);
	snprintf(mon->log, sizeof(mon->log), "%s/ctr.log", mon->dir);
	char bundle_path[128];
	char root[128];
	char rt[128];
	char fd[16];
	path_in(bundle_path, sizeof(bundle_path), bundle);
	path_in(root, sizeof(root), "root");
	if (runtime[0] == '/') {
		snprintf(rt, sizeof(rt), "%s", runtime);
	} else {
		path_in(rt, sizeof(rt), runtime);
	}
	snprintf(fd, sizeof(fd), "%d", sp[1]);
	const char *argv[32] = {"monitor",   "--name",	    name, "--dir",	    mon->dir,	"--bundle",
				bundle_path, "--oci-root",  root, "--runtime",	    rt,		"--log",
				mon->log,    "--status-fd", fd,	  "--log-max-size", "100000000"};
	int argc = 17;
	for (size_t i = 0; extra != NULL && extra[i] != NULL; i++) {
		argv[argc++] = extra[i];
	}
	fflush(stdout);
	mon->pid = fork();
	if (mon->pid == 0) {
		close(sp[0]);
		exit(monitor_main(argc, (char **)argv));
	}
	close(sp[1]);
	mon->status_fd = sp[0];
}

/* The status line, once the monitor has closed the pipe. */
static void mon_status(struct mon *mon, char *out, size_t size)
{
	size_t len = 0;
	out[0] = '\0';
	for (;;) {
		struct pollfd p = {.fd = mon->status_fd, .events = POLLIN};
		if (poll(&p, 1, 20000) <= 0) {
			CHECK(!"status line in time");
			break;
		}
		ssize_t n = read(mon->status_fd, out + len, size - 1 - len);
		if (n <= 0) {
			break;
		}
		len += (size_t)n;
		out[len] = '\0';
	}
	close(mon->status_fd);
	mon->status_fd = -1;
}

static int mon_wait(struct mon *mon)
{
	for (int i = 0; i < 2000; i++) {
		int st;
		pid_t r = waitpid(mon->pid, &st, WNOHANG);
		if (r == mon->pid) {
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		}
		usleep(10000);
	}
	kill(mon->pid, SIGKILL);
	waitpid(mon->pid, NULL, 0);
	return -1;
}

static int file_exists(const char *dir, const char *name)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	struct stat st;
	return stat(path, &st) == 0;
}

static long read_long(const char *dir, const char *name)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "re");
	long v = -1;
	if (f != NULL) {
		if (fscanf(f, "%ld", &v) != 1) {
			v = -1;
		}
		fclose(f);
	}
	return v;
}

static void check_exit_json_signal(const struct mon *mon, int code, int sig)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/exit.json", mon->dir);
	json_object *o = json_object_from_file(path);
	CHECK(o != NULL);
	if (o == NULL) {
		return;
	}
	json_object *v;
	CHECK(json_object_object_get_ex(o, "exit_code", &v) && json_object_get_int(v) == code);
	CHECK(json_object_object_get_ex(o, "signal", &v) && json_object_get_int(v) == sig);
	CHECK(json_object_object_get_ex(o, "finished_at", &v) && json_object_get_string_len(v) == 30);
	json_object_put(o);
}

static void check_exit_json(const struct mon *mon, int code)
{
	check_exit_json_signal(mon, code, 0);
}

/* Whether the log has a record of stream whose text is text (a terminal's
 * trailing \r aside); *bytes: the total text of all records. */
static int log_has(const struct mon *mon, enum log_stream stream, const char *text, size_t *bytes)
{
	FILE *f = fopen(mon->log, "re");
	if (f == NULL) {
		return 0;
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int found = 0;
	size_t total = 0;
	while ((n = getline(&line, &cap, f)) > 0) {
		struct log_record r;
		if (logfile_parse_line(line, (size_t)n - 1, &r) < 0) {
			continue;
		}
		total += r.len + !r.partial;
		size_t len = r.len > 0 && r.text[r.len - 1] == '\r' ? r.len - 1 : r.len;
		if (r.stream == stream && len == strlen(text) && memcmp(r.text, text, len) == 0) {
			found = 1;
		}
	}
	free(line);
	fclose(f);
	if (bytes != NULL) {
		*bytes = total;
	}
	return found;
}

static int attach(const struct mon *mon)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/attach.sock", mon->dir);
	for (int i = 0; i < 1000; i++) {
		int fd = proto_connect(path, NULL);
		if (fd >= 0) {
			struct timeval tv = {.tv_sec = 20};
			setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
			return fd;
		}
		usleep(10000);
	}
	CHECK(!"attach socket in time");
	return -1;
}

struct received {
	char out[8192];
	char err[1024];
	char exit[256];
	int got_exit;
};

static void append(char *buf, size_t size, const char *data, size_t n)
{
	size_t len = strlen(buf);
	if (n > size - 1 - len) {
		n = size - 1 - len;
	}
	memcpy(buf + len, data, n);
	buf[len + n] = '\0';
}

/* Reads frames until EXIT, the end of the stream, or until stdout holds
 * until (when not NULL). */
static void receive(int sock, struct received *r, const char *until)
{
	for (;;) {
		if (until != NULL && strstr(r->out, until) != NULL) {
			return;
		}
		struct proto_frame f;
		struct berr err;
		if (proto_recv(sock, &f, &err) <= 0) {
			return;
		}
		if (f.type == PROTO_STDOUT) {
			append(r->out, sizeof(r->out), f.data, f.len);
		} else if (f.type == PROTO_STDERR) {
			append(r->err, sizeof(r->err), f.data, f.len);
		} else if (f.type == PROTO_EXIT) {
			append(r->exit, sizeof(r->exit), f.data, f.len);
			r->got_exit = 1;
		}
		proto_frame_release(&f);
		if (r->got_exit) {
			return;
		}
	}
}

static void test_detached_container_logs_and_exit(void)
{
	struct mon mon;
	mon_start(&mon, "c1", "bundle", "runtime.sh", NULL);
	char status[256];
	mon_status(&mon, status, sizeof(status));
	CHECK_EQ_INT(mon_wait(&mon), 0);
	long pid = read_long(mon.dir, "pid");
	char expect[64];
	snprintf(expect, sizeof(expect), "ok %ld\n", pid);
	CHECK(pid > 0 && strcmp(status, expect) == 0);
	CHECK_EQ_INT(read_long(mon.dir, "monitor.pid"), mon.pid);
	check_exit_json(&mon, 3);
	/* Without --stdin the container reads /dev/null. */
	CHECK(log_has(&mon, LOG_STDOUT, "out", NULL));
	CHECK(log_has(&mon, LOG_STDERR, "err", NULL));
	CHECK(log_has(&mon, LOG_STDOUT, "got:", NULL));
	CHECK(!log_has(&mon, LOG_STDERR, "out", NULL));
	CHECK(!file_exists(mon.dir, "attach.sock"));
	CHECK(!file_exists(mon.dir, "exit.json.tmp"));
}

static void test_attach_clients_get_output_and_give_input(void)
{
	struct mon mon;
	const char *extra[] = {"--stdin", "--wait-attach", NULL};
	mon_start(&mon, "c2", "bundle", "runtime.sh", extra);
	int c1 = attach(&mon);
	/* berthd stops containers with the runtime, never through this. */
	kill(mon.pid, SIGTERM);
	kill(mon.pid, SIGINT);
	kill(mon.pid, SIGHUP);
	struct received r1;
	memset(&r1, 0, sizeof(r1));
	struct berr err;
	CHECK_EQ_INT(proto_send_str(c1, PROTO_STDIN, "hello\n", &err), 0);
	receive(c1, &r1, "got:hello\n");
	/* A second client: its input reaches the container, and both see
	 * what comes of it. */
	int c2 = attach(&mon);
	struct received r2;
	memset(&r2, 0, sizeof(r2));
	CHECK_EQ_INT(proto_send_str(c2, PROTO_STDIN, "from2\n", &err), 0);
	CHECK_EQ_INT(proto_send(c2, PROTO_STDIN_EOF, NULL, 0, NULL, 0, &err), 0);
	receive(c1, &r1, NULL);
	receive(c2, &r2, NULL);
	CHECK(strcmp(r1.out, "out\ngot:hello\nfrom2\n") == 0);
	CHECK(strcmp(r1.err, "err\n") == 0);
	CHECK(r1.got_exit);
	CHECK_STR_CONTAINS(r1.exit, "\"exit_code\": 3");
	CHECK_STR_CONTAINS(r2.out, "from2\n");
	CHECK(r2.got_exit);
	CHECK_STR_CONTAINS(r2.exit, "\"exit_code\": 3");
	close(c1);
	close(c2);
	char status[256];
	mon_status(&mon, status, sizeof(status));
	CHECK(strncmp(status, "ok ", 3) == 0);
	CHECK_EQ_INT(mon_wait(&mon), 0);
	check_exit_json(&mon, 3);
	CHECK(log_has(&mon, LOG_STDOUT, "got:hello", NULL));
	CHECK(log_has(&mon, LOG_STDOUT, "from2", NULL));
}

/* 3 MiB of input for a container that reads none of it for a second:
 * the monitor stops taking input rather than buffer without bound, and
 * loses none. */
static void test_stdin_backpressure(void)
{
	struct mon mon;
	const char *extra[] = {"--stdin", "--wait-attach", NULL};
	mon_start(&mon, "c12", "bundle-wc", "runtime.sh", extra);
	int c = attach(&mon);
	static char chunk[65536];
	memset(chunk, 'i', sizeof(chunk));
	struct berr err;
	for (int i = 0; i < 48; i++) {
		CHECK_EQ_INT(proto_send(c, PROTO_STDIN, chunk, sizeof(chunk), NULL, 0, &err), 0);
	}
	CHECK_EQ_INT(proto_send(c, PROTO_STDIN_EOF, NULL, 0, NULL, 0, &err), 0);
	struct received r;
	memset(&r, 0, sizeof(r));
	receive(c, &r, NULL);
	CHECK(strcmp(r.out, "3145728\n") == 0);
	CHECK_STR_CONTAINS(r.exit, "\"exit_code\": 0");
	close(c);
	char status[256];
	mon_status(&mon, status, sizeof(status));
	CHECK_EQ_INT(mon_wait(&mon), 0);
}

static void test_wait_attach_holds_the_start(void)
{
	struct mon mon;
	const char *extra[] = {"--wait-attach", NULL};
	mon_start(&mon, "c3", "bundle", "runtime.sh", extra);
	int c = attach(&mon);
	close(c);
	/* Connected once is enough, even if gone again. */
	char status[256];
	mon_status(&mon, status, sizeof(status));
	CHECK(strncmp(status, "ok ", 3) == 0);
	CHECK_EQ_INT(mon_wait(&mon), 0);
	check_exit_json(&mon, 3);
	CHECK(log_has(&mon, LOG_STDOUT, "out", NULL));
}

static void test_container_gets_only_stdio(void)
{
	struct mon mon;
	const char *extra[] = {"--stdin", NULL};
	mon_start(&mon, "c9", "bundle-fds", "runtime.sh", extra);
	char status[256];
	mon_status(&mon, status, sizeof(status));
	CHECK_EQ_INT(mon_wait(&mon), 0);
	check_exit_json(&mon, 0);
	CHECK(log_has(&mon, LOG_STDOUT, "2", NULL));
	CHECK(log_has(&mon, LOG_STDOUT, "3", NULL));
	for (int fd = 4; fd < 16; fd++) {
		char name[16];
		snprintf(name, sizeof(name), "%d", fd);
		CHECK(!log_has(&mon, LOG_STDOUT, name, NULL));
	}
}

static void test_killed_container(void)
{
	struct mon mon;
	mon_start(&mon, "c10", "bundle-kill", "runtime.sh", NULL);
	char status[256];
	mon_status(&mon, status, sizeof(status));
	CHECK_EQ_INT(mon_wait(&mon), 0);
	check_exit_json_signal(&mon, 128 + SIGKILL, SIGKILL);
	CHECK(log_has(&mon, LOG_STDOUT, "bye", NULL));
}

static void test_orphans_are_reaped(void)
{
	struct mon mon;
	mon_start(&mon, "c11", "bundle-orphan", "runtime.sh", NULL);
	char status[256];
	mon_status(&mon, status, sizeof(status));
	CHECK_EQ_INT(mon_wait(&mon), 0);
	CHECK(log_has(&mon, LOG_STDOUT, "reaped", NULL));
}

static void test_create_failure(void)
{
	struct mon mon;
	mon_start(&mon, "c4", "bundle-fail", "runtime.sh", NULL);
	char status[256];
	mon_status(&mon, status, sizeof(status));
	CHECK(strcmp(status, "error fake: cannot create c4\n") == 0);
	CHECK_EQ_INT(mon_wait(&mon), 1);
	CHECK(!file_exists(mon.dir, "exit.json"));
	CHECK(!file_exists(mon.dir, "attach.sock"));
	/* What the runtime said is in the log too. */
	CHECK(log_has(&mon, LOG_STDERR, "fake: cannot create c4", NULL));
}

static void test_start_failure(void)
{
	write_text("root/fail-start", "", 0644);
	struct mon mon;
	mon_start(&mon, "c5", "bundle", "runtime.sh", NULL);
	char status[256];
	mon_status(&mon, status, sizeof(status));
	CHECK(strcmp(status, "error fake: cannot start c5\n") == 0);
	CHECK_EQ_INT(mon_wait(&mon), 1);
	CHECK(!file_exists(mon.dir, "exit.json"));
	/* The created container is berthd's to delete; here, the test's. */
	long pid = read_long(mon.dir, "pid");
	CHECK(pid > 0);
	if (pid > 0) {
		kill((pid_t)pid, SIGKILL);
	}
	char path[256];
	path_in(path, sizeof(path), "root/fail-start");
	unlink(path);
	path_in(path, sizeof(path), "root/c5.go");
	unlink(path);
}

static void test_runtime_missing(void)
{
	struct mon mon;
	mon_start(&mon, "c6", "bundle", "/nonexistent/runtime", NULL);
	char status[256];
	mon_status(&mon, status, sizeof(status));
	CHECK_STR_CONTAINS(status, "error execute /nonexistent/runtime: No such file or directory\n");
	CHECK_EQ_INT(mon_wait(&mon), 1);
}

static void test_bad_options(void)
{
	int sp[2];
	CHECK_EQ_INT(pipe2(sp, O_CLOEXEC), 0);
	char fd[16];
	snprintf(fd, sizeof(fd), "%d", sp[1]);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		close(sp[0]);
		const char *argv[] = {"monitor", "--status-fd", fd,	    "--name", "x",
				      "--dir",	 "relative",	"--bundle", "/b"};
		exit(monitor_main(9, (char **)argv));
	}
	close(sp[1]);
	struct mon mon = {.pid = pid, .status_fd = sp[0]};
	char status[256];
	mon_status(&mon, status, sizeof(status));
	CHECK_STR_CONTAINS(status, "error --dir, --bundle and --log must be absolute paths");
	CHECK_EQ_INT(mon_wait(&mon), 2);
}

static void test_slow_client_is_dropped(void)
{
	struct mon mon;
	const char *extra[] = {"--wait-attach", NULL};
	mon_start(&mon, "c7", "bundle-big", "runtime.sh", extra);
	/* Connects and never reads while 6 MB go by. */
	int c = attach(&mon);
	char status[256];
	mon_status(&mon, status, sizeof(status));
	CHECK(strncmp(status, "ok ", 3) == 0);
	CHECK_EQ_INT(mon_wait(&mon), 0);
	check_exit_json(&mon, 0);
	size_t bytes = 0;
	log_has(&mon, LOG_STDOUT, "", &bytes);
	CHECK_EQ_INT(bytes, 6000000);
	struct received r;
	memset(&r, 0, sizeof(r));
	receive(c, &r, NULL);
	CHECK(!r.got_exit);
	close(c);
}

/* ---- terminals: this program is the fake runtime ------------------------------ */

#define FAKE_TTY_ENV "TEST_MONITOR_FAKE_TTY_RUNTIME"

static int fake_tty_runtime(int argc, char **argv)
{
	const char *root = "/nonexistent";
	const char *bundle = NULL;
	const char *pid_file = NULL;
	const char *console = NULL;
	int i = 1;
	if (i + 1 < argc && strcmp(argv[i], "--root") == 0) {
		root = argv[i + 1];
		i += 2;
	}
	if (i >= argc) {
		return 2;
	}
	const char *cmd = argv[i++];
	for (; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--bundle") == 0) {
			bundle = argv[i + 1];
		} else if (strcmp(argv[i], "--pid-file") == 0) {
			pid_file = argv[i + 1];
		} else if (strcmp(argv[i], "--console-socket") == 0) {
			console = argv[i + 1];
		}
	}
	if (i >= argc) {
		return 2;
	}
	char fifo[256];
	snprintf(fifo, sizeof(fifo), "%s/%s.go", root, argv[i]);
	if (strcmp(cmd, "start") == 0) {
		int fd = open(fifo, O_WRONLY | O_CLOEXEC);
		int ok = fd >= 0 && write(fd, "g", 1) == 1;
		close(fd);
		unlink(fifo);
		return ok ? 0 : 1;
	}
	if (strcmp(cmd, "create") != 0 || bundle == NULL || pid_file == NULL || console == NULL) {
		fprintf(stderr, "fake: bad create\n");
		return 2;
	}
	struct berr err;
	int sock = term_connect(console, &err);
	int ready[2];
	if (sock < 0 || mkfifo(fifo, 0600) < 0 || pipe2(ready, O_CLOEXEC) < 0) {
		fprintf(stderr, "fake: setup failed\n");
		return 1;
	}
	pid_t pid = fork();
	if (pid == 0) {
		struct oci_process p;
		memset(&p, 0, sizeof(p));
		p.has_console_size = 1;
		p.console_height = 24;
		p.console_width = 80;
		if (term_setup(sock, &p, &err) < 0) {
			_exit(1);
		}
		close(ready[1]);
		int fd = open(fifo, O_RDONLY | O_CLOEXEC);
		char c;
		if (fd < 0 || read(fd, &c, 1) != 1) {
			_exit(1);
		}
		close(fd);
		char script[256];
		snprintf(script, sizeof(script), "%s/cmd.sh", bundle);
		execl("/bin/sh", "sh", script, (char *)NULL);
		_exit(127);
	}
	close(ready[1]);
	close(sock);
	/* The terminal has gone to the monitor once the child closes this. */
	char c;
	if (read(ready[0], &c, 1) != 0) {
		return 1;
	}
	close(ready[0]);
	FILE *f = fopen(pid_file, "we");
	if (f == NULL) {
		return 1;
	}
	fprintf(f, "%d", (int)pid);
	fclose(f);
	return 0;
}

static void test_terminal(void)
{
	struct mon mon;
	const char *extra[] = {"--tty", "--stdin", "--wait-attach", NULL};
	setenv(FAKE_TTY_ENV, "1", 1);
	mon_start(&mon, "c8", "bundle-tty", "/proc/self/exe", extra);
	unsetenv(FAKE_TTY_ENV);
	int c = attach(&mon);
	struct received r;
	memset(&r, 0, sizeof(r));
	receive(c, &r, "ready");
	CHECK_STR_CONTAINS(r.out, "24 80");
	struct berr err;
	CHECK_EQ_INT(proto_send_str(c, PROTO_RESIZE, "30 100", &err), 0);
	CHECK_EQ_INT(proto_send_str(c, PROTO_STDIN, "hello\n", &err), 0);
	receive(c, &r, NULL);
	CHECK(r.got_exit);
	CHECK_STR_CONTAINS(r.exit, "\"exit_code\": 5");
	/* The terminal echoes what was typed; all of it is stdout. */
	CHECK_STR_CONTAINS(r.out, "hello\r\n");
	CHECK_STR_CONTAINS(r.out, "30 100\r\n");
	CHECK_STR_CONTAINS(r.out, "got:hello\r\n");
	CHECK(r.err[0] == '\0');
	close(c);
	char status[256];
	mon_status(&mon, status, sizeof(status));
	CHECK(strncmp(status, "ok ", 3) == 0);
	CHECK_EQ_INT(mon_wait(&mon), 0);
	check_exit_json(&mon, 5);
	CHECK(log_has(&mon, LOG_STDOUT, "got:hello", NULL));
	CHECK(!file_exists(mon.dir, "console.sock"));
}

int main(int argc, char **argv)
{
	if (getenv(FAKE_TTY_ENV) != NULL) {
		return fake_tty_runtime(argc, argv);
	}
	signal(SIGPIPE, SIG_IGN);
	alarm(300);
	make_dirs();
	RUN(test_detached_container_logs_and_exit);
	RUN(test_attach_clients_get_output_and_give_input);
	RUN(test_stdin_backpressure);
	RUN(test_wait_attach_holds_the_start);
	RUN(test_container_gets_only_stdio);
	RUN(test_killed_container);
	RUN(test_orphans_are_reaped);
	RUN(test_create_failure);
	RUN(test_start_failure);
	RUN(test_runtime_missing);
	RUN(test_bad_options);
	RUN(test_slow_client_is_dropped);
	RUN(test_terminal);
	CHECK_EQ_INT(check_rmtree(top), 0);
	return check_summary();
}
