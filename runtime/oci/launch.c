/* Container process setup (see launch.h). The children run only this
 * file's code between fork and execve: single-threaded, no allocation that
 * matters, every error sent to the parent. */
#include "oci/launch.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/ioprio.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/decimal.h"
#include "lib/fsutil.h"
#include "lib/proc.h"
#include "oci/caps.h"
#include "oci/hooks.h"
#include "oci/rootfs.h"
#include "oci/seccomp.h"
#include "oci/state.h"
#include "oci/sync.h"
#include "oci/terminal.h"
#include "oci/trace.h"

#define SETUP_TIMEOUT_MS 60000
#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* ---- in the children: failing -------------------------------------------------- */

static __attribute__((noreturn)) void child_fail(int sock, struct berr *err)
{
	sync_send_error(sock, err);
	_exit(1);
}

/* ---- state for hooks ------------------------------------------------------------ */

int launch_state_json(const struct launch *l, const char *status, char **out, struct berr *err)
{
	struct oci_state st;
	memset(&st, 0, sizeof(st));
	snprintf(st.id, sizeof(st.id), "%s", l->id);
	st.pid = l->pid;
	snprintf(st.bundle, sizeof(st.bundle), "%s", l->bundle);
	snprintf(st.rootfs, sizeof(st.rootfs), "%s", l->rootfs);
	state_set_annotations(&st, l->cfg);
	enum oci_status s = strcmp(status, "created") == 0 ? OCI_CREATED : OCI_CREATING;
	return state_to_json(&st, s, out, err);
}

/* ---- the executable ---------------------------------------------------------------- */

static const char *env_get(char *const *env, size_t n, const char *name)
{
	size_t len = strlen(name);
	for (size_t i = 0; i < n; i++) {
		if (strncmp(env[i], name, len) == 0 && env[i][len] == '=') {
			return env[i] + len + 1;
		}
	}
	return NULL;
}

/* Why path cannot be executed, in words: the error a user needs when
 * execve only says ENOENT. Each also holds the words dockerd looks for to
 * exit 127 ("no such file or directory", "executable file not found") or
 * 126 ("permission denied"), as it does with runc. */
static int explain_exec(const char *path, int exec_errno, struct berr *err)
{
	struct stat st;
	if (stat(path, &st) < 0) {
		return berr_setx(err, ENOENT, "exec %s: no such file or directory in the container's root filesystem",
				 path);
	}
	if (S_ISDIR(st.st_mode)) {
		return berr_setx(err, EISDIR, "exec %s: is a directory", path);
	}
	if (!S_ISREG(st.st_mode)) {
		return berr_setx(err, EACCES, "exec %s: not a regular file: permission denied", path);
	}
	if ((st.st_mode & 0111) == 0) {
		return berr_setx(err, EACCES, "exec %s: not executable (mode %04o): permission denied", path,
				 (unsigned)(st.st_mode & 07777));
	}
	auto_close int fd = open(path, O_RDONLY | O_CLOEXEC);
	unsigned char head[256];
	ssize_t n = fd >= 0 ? read(fd, head, sizeof(head) - 1) : -1;
	if (n >= 2 && head[0] == '#' && head[1] == '!') {
		head[n] = '\0';
		char *interp = (char *)head + 2;
		interp += strspn(interp, " \t");
		interp[strcspn(interp, " \t\n")] = '\0';
		if (access(interp, F_OK) < 0) {
			return berr_setx(
				err, ENOENT,
				"exec %s: its interpreter %s is missing from the container (no such file or directory)",
				path, interp);
		}
	}
	if (n >= (ssize_t)sizeof(Elf64_Ehdr) && memcmp(head, ELFMAG, SELFMAG) == 0 && head[EI_CLASS] == ELFCLASS64) {
		Elf64_Ehdr eh;
		memcpy(&eh, head, sizeof(eh));
		for (unsigned i = 0; i < eh.e_phnum && i < 64; i++) {
			Elf64_Phdr ph;
			if (pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + (uint64_t)i * eh.e_phentsize)) !=
			    (ssize_t)sizeof(ph)) {
				break;
			}
			if (ph.p_type != PT_INTERP || ph.p_filesz == 0 || ph.p_filesz > 255) {
				continue;
			}
			char loader[256];
			if (pread(fd, loader, ph.p_filesz, (off_t)ph.p_offset) == (ssize_t)ph.p_filesz) {
				loader[ph.p_filesz - 1] = '\0';
				if (access(loader, F_OK) < 0) {
					return berr_setx(err, ENOENT,
							 "exec %s: its dynamic loader %s is missing from the container "
							 "(a binary built for another C library?)",
							 path, loader);
				}
			}
		}
	}
	if (exec_errno == ENOEXEC) {
		return berr_setx(err, ENOEXEC, "exec %s: not a program this kernel can run (wrong architecture?)",
				 path);
	}
	return berr_set(err, exec_errno ? exec_errno : EACCES, "exec %s", path);
}

/* The program to run: args[0] itself when it has a '/', else the first
 * match in the process's PATH, as a shell would. */
static int find_executable(const struct oci_process *p, char *out, size_t size, struct berr *err)
{
	const char *arg0 = p->args[0];
	if (strchr(arg0, '/') != NULL) {
		if (copy_string(out, size, arg0) < 0) {
			return berr_setx(err, ENAMETOOLONG, "exec: path too long");
		}
		struct stat st;
		if (stat(out, &st) < 0 || !S_ISREG(st.st_mode) || access(out, X_OK) < 0) {
			return explain_exec(out, errno, err);
		}
		return 0;
	}
	const char *path = env_get(p->env, p->nenv, "PATH");
	if (path == NULL) {
		path = DEFAULT_PATH;
	}
	char dirs[4096];
	if (copy_string(dirs, sizeof(dirs), path) < 0) {
		return berr_setx(err, ENAMETOOLONG, "PATH too long");
	}
	char *save = NULL;
	for (char *d = strtok_r(dirs, ":", &save); d != NULL; d = strtok_r(NULL, ":", &save)) {
		char cand[PATH_MAX];
		if (path_join(cand, sizeof(cand), *d ? d : ".", arg0) < 0) {
			continue;
		}
		struct stat st;
		if (stat(cand, &st) == 0 && S_ISREG(st.st_mode) && access(cand, X_OK) == 0) {
			return copy_string(out, size, cand) < 0 ? berr_setx(err, ENAMETOOLONG, "exec: path too long")
								: 0;
		}
	}
	return berr_setx(err, ENOENT, "exec %s: executable file not found in the container's PATH (%s)", arg0, path);
}

/* ---- in the container process: the last steps --------------------------------------- */

static int set_limits(const struct oci_process *p, struct berr *err)
{
	for (size_t i = 0; i < p->nrlimits; i++) {
		struct rlimit rl = {.rlim_cur = p->rlimits[i].soft, .rlim_max = p->rlimits[i].hard};
		if (setrlimit(p->rlimits[i].resource, &rl) < 0) {
			return berr_set(err, errno, "process.rlimits[%zu]: set to %llu/%llu", i,
					(unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max);
		}
	}
	if (p->has_oom_score_adj) {
		/* /proc/self is a symlink, which proc_open_verified refuses to
		 * follow: name the process by the pid it gives, as this /proc
		 * numbers it (whichever pid namespace it belongs to). */
		char self[32];
		char rel[64];
		ssize_t n = readlink("/proc/self", self, sizeof(self) - 1);
		if (n <= 0) {
			return berr_set(err, errno, "process.oomScoreAdj: readlink /proc/self");
		}
		self[n] = '\0';
		if (strspn(self, "0123456789") != (size_t)n) {
			return berr_setx(err, EXDEV, "process.oomScoreAdj: /proc/self is '%s', not a pid", self);
		}
		snprintf(rel, sizeof(rel), "%s/oom_score_adj", self);
		auto_close int fd = proc_open_verified(rel, O_WRONLY, err);
		if (fd < 0) {
			return berr_prefix(err, "process.oomScoreAdj");
		}
		char v[16];
		snprintf(v, sizeof(v), "%d", p->oom_score_adj);
		if (write(fd, v, strlen(v)) < 0) {
			return berr_set(err, errno, "process.oomScoreAdj = %d", p->oom_score_adj);
		}
	}
	if (p->has_io_priority) {
		int value = IOPRIO_PRIO_VALUE(p->io_priority_class, p->io_priority);
		if (syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, value) < 0) {
			return berr_set(err, errno, "process.ioPriority");
		}
	}
	return 0;
}

/* HOME=the home directory of uid in the container's /etc/passwd, or
 * HOME=/ without one: what runc, crun and Docker give a process whose env
 * has no HOME (crun's suite: empty-home, exec with another user). Reads
 * the container's own file, so it is refused unless regular; a line longer
 * than the buffer is skipped. */
static void home_from_passwd(uid_t uid, char *out, size_t size)
{
	snprintf(out, size, "HOME=/");
	auto_close int fd = open("/etc/passwd", O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		return;
	}
	char buf[4096];
	size_t have = 0;
	int skipping = 0;
	for (;;) {
		ssize_t n = read(fd, buf + have, sizeof(buf) - 1 - have);
		if (n <= 0) {
			if (have == 0 || skipping) {
				return;
			}
			buf[have++] = '\n'; /* the last line, without its newline */
		}
		have += n > 0 ? (size_t)n : 0;
		char *line = buf;
		char *nl;
		while ((nl = memchr(line, '\n', have - (size_t)(line - buf))) != NULL) {
			*nl = '\0';
			/* name:password:uid:gid:gecos:home:shell */
			char *f[7];
			size_t nf = 0;
			for (char *p = line; nf < 7 && p != NULL; nf++) {
				f[nf] = p;
				p = strchr(p, ':');
				if (p != NULL) {
					*p++ = '\0';
				}
			}
			uint64_t id;
			if (!skipping && nf >= 6 && decimal_parse(f[2], UINT32_MAX, &id) == 0 && id == uid &&
			    f[5][0] == '/') {
				snprintf(out, size, "HOME=%s", f[5]);
				return;
			}
			skipping = 0;
			line = nl + 1;
		}
		if (n <= 0) {
			return;
		}
		size_t rest = have - (size_t)(line - buf);
		if (rest == sizeof(buf) - 1) {
			skipping = 1; /* a line longer than buf: drop it up to its newline */
			rest = 0;
		}
		memmove(buf, line, rest);
		have = rest;
	}
}

static __attribute__((noreturn)) void exec_process(const struct launch *l, int sock)
{
	const struct oci_process *p = l->proc;
	const struct oci_linux *lx = &l->cfg->linux_;
	struct berr err;
	char exe[PATH_MAX];

	struct oci_caps none;
	memset(&none, 0, sizeof(none));
	/* No capabilities section: none at all, not the runtime's. */
	const struct oci_caps *caps = p->has_caps ? &p->caps : &none;
	/* The environment, with HOME added when it has none (read as root,
	 * before the switch to the process's user). */
	char home[PATH_MAX + 8];
	char *empty_env[] = {NULL};
	char *const *envp = p->nenv ? p->env : empty_env;
	if (env_get(p->env, p->nenv, "HOME") == NULL) {
		char **with_home = calloc(p->nenv + 2, sizeof(char *));
		if (with_home != NULL) {
			home_from_passwd(p->user.uid, home, sizeof(home));
			for (size_t i = 0; i < p->nenv; i++) {
				with_home[i] = p->env[i];
			}
			with_home[p->nenv] = home;
			envp = with_home;
		}
	}

	if (p->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		berr_set(&err, errno, "process.noNewPrivileges");
		child_fail(sock, &err);
	}
	/* Without no_new_privs, loading a filter needs CAP_SYS_ADMIN: load it
	 * while the runtime still has it (the rest must then be allowed). */
	if (lx->seccomp != NULL && !p->no_new_privileges && oci_seccomp_load(lx->seccomp, &err) < 0) {
		child_fail(sock, &err);
	}
	if (caps_drop_bounding(caps->bounding, &err) < 0 || caps_stdio_to_user(&p->user, &err) < 0 ||
	    caps_switch_user(&p->user, &err) < 0) {
		child_fail(sock, &err);
	}
	umask(p->user.has_umask ? p->user.umask : 022);
	if (chdir(p->cwd) < 0) {
		berr_set(&err, errno, "process.cwd %s (as user %u)", p->cwd, p->user.uid);
		child_fail(sock, &err);
	}
	/* A cwd outside the container (through a leaked directory fd, the
	 * CVE-2024-21626 class) would show as an unreachable path. */
	char cwd[PATH_MAX];
	if (getcwd(cwd, sizeof(cwd)) == NULL || cwd[0] != '/') {
		berr_setx(&err, EPERM, "process.cwd %s is not inside the container", p->cwd);
		child_fail(sock, &err);
	}
	if (find_executable(p, exe, sizeof(exe), &err) < 0) {
		child_fail(sock, &err);
	}
	if (caps_apply(caps, &err) < 0) {
		child_fail(sock, &err);
	}
	if (lx->seccomp != NULL && p->no_new_privileges && oci_seccomp_load(lx->seccomp, &err) < 0) {
		child_fail(sock, &err);
	}
	/* Only stdio crosses into the container; the sync socket (moved to fd
	 * 3, close-on-exec) carries an exec failure back. */
	if (sock != 3) {
		if (dup3(sock, 3, O_CLOEXEC) < 0) {
			_exit(127);
		}
		sock = 3;
	}
	close_fds_from(4);
	oci_trace("init: execve");
	sync_send(sock, SYNC_EXECED, 0);
	execve(exe, p->args, envp);
	int e = errno;
	explain_exec(exe, e, &err);
	sync_send_error(sock, &err);
	(void)!write(STDERR_FILENO, "berth-oci: ", 11);
	(void)!write(STDERR_FILENO, err.msg, strlen(err.msg));
	(void)!write(STDERR_FILENO, "\n", 1);
	_exit(127);
}

/* ---- the container process of `create` ------------------------------------------------- */

static int wait_for_start(int fifo_fd)
{
	struct pollfd pfd = {.fd = fifo_fd, .events = POLLIN};
	for (;;) {
		int r = poll(&pfd, 1, -1);
		if (r < 0 && errno == EINTR) {
			continue;
		}
		if (r < 0) {
			return -errno;
		}
		char c;
		ssize_t n = read(fifo_fd, &c, 1);
		if (n == 1) {
			return 0;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			return -errno;
		}
		/* A writer came and went without a byte: keep waiting. */
		if (n == 0) {
			poll(NULL, 0, 10);
		}
	}
}

/* Makes the console the process's terminal (its stdio); missing: the
 * message when there is no console. */
static void attach_terminal(const struct launch *l, int sock, const char *missing, int bind_console)
{
	struct berr err;
	if (l->console_fd < 0) {
		berr_setx(&err, EINVAL, "%s", missing);
		child_fail(sock, &err);
	}
	if (term_setup(l->console_fd, l->proc, &err) < 0 ||
	    (bind_console && rootfs_bind_console(STDIN_FILENO, &err) < 0)) {
		child_fail(sock, &err);
	}
	close(l->console_fd);
}

/* The root filesystem, up to the createContainer hooks; *state: the state
 * JSON the createContainer and startContainer hooks get. */
static void prepare_root(struct launch *l, struct rootfs_ctx *rc, char **state, int sock)
{
	const struct oci_config *cfg = l->cfg;
	struct berr err;
	struct sync_msg msg;
	if (rootfs_prepare(rc, &err) < 0) {
		child_fail(sock, &err);
	}
	oci_trace("init: root filesystem prepared");
	/* prestart and createRuntime hooks run in the runtime's namespaces,
	 * now that the container's exist and before pivot_root. */
	if (sync_send(sock, SYNC_HOOKS, 0) < 0 || sync_expect(sock, SYNC_GO, &msg, SETUP_TIMEOUT_MS, &err) < 0) {
		_exit(1);
	}
	if (cfg->hooks.count[OCI_HOOK_CREATE_CONTAINER] > 0 || cfg->hooks.count[OCI_HOOK_START_CONTAINER] > 0) {
		if (launch_state_json(l, "created", state, &err) < 0) {
			child_fail(sock, &err);
		}
	}
	if (hooks_run(cfg, OCI_HOOK_CREATE_CONTAINER, *state, &err) < 0) {
		child_fail(sock, &err);
	}
}

/* Into the new root, with the container's names, and the root finished. */
static void enter_root(const struct launch *l, struct rootfs_ctx *rc, int sock)
{
	const struct oci_config *cfg = l->cfg;
	struct berr err;
	if (rootfs_pivot(rc, l->no_pivot, &err) < 0) {
		child_fail(sock, &err);
	}
	if (cfg->hostname != NULL && sethostname(cfg->hostname, strlen(cfg->hostname)) < 0) {
		berr_set(&err, errno, "hostname %s (needs a uts namespace)", cfg->hostname);
		child_fail(sock, &err);
	}
	if (cfg->domainname != NULL && setdomainname(cfg->domainname, strlen(cfg->domainname)) < 0) {
		berr_set(&err, errno, "domainname %s (needs a uts namespace)", cfg->domainname);
		child_fail(sock, &err);
	}
	oci_trace("init: pivoted");
	if (rootfs_finish(rc, &err) < 0) {
		child_fail(sock, &err);
	}
	oci_trace("init: root filesystem finished");
	close(rc->root_fd);
}

/* What the process gets before it waits for start: terminal, personality,
 * limits; and a check that its program is there. */
static void prepare_process(const struct launch *l, int sock)
{
	const struct oci_config *cfg = l->cfg;
	struct berr err;
	if (l->proc->terminal) {
		/* Without a mount namespace /dev/console is the host's: not bound. */
		attach_terminal(l, sock, "process.terminal is set but there is no console socket",
				oci_config_namespace(cfg, OCI_NS_MOUNT) != NULL);
	}
	if (cfg->linux_.has_personality && personality(cfg->linux_.personality) < 0) {
		berr_set(&err, errno, "linux.personality");
		child_fail(sock, &err);
	}
	if (set_limits(l->proc, &err) < 0) {
		child_fail(sock, &err);
	}
	/* Fail at create, not later, when the program is not there. */
	char exe[PATH_MAX];
	if (chdir(l->proc->cwd) == 0 && find_executable(l->proc, exe, sizeof(exe), &err) < 0) {
		child_fail(sock, &err);
	}
	if (chdir("/") < 0) {
		berr_set(&err, errno, "chdir /");
		child_fail(sock, &err);
	}
}

static __attribute__((noreturn)) void container_init(struct launch *l, int sock, int ns_flags)
{
	struct berr err;
	const struct oci_config *cfg = l->cfg;
	struct sync_msg msg;

	/* Until it is created, the container dies with its creator. */
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	if (sync_expect(sock, SYNC_GO, &msg, SETUP_TIMEOUT_MS, &err) < 0) {
		_exit(1);
	}
	l->pid = msg.value;

	struct rootfs_ctx rc = {
		.cfg = cfg,
		.rootfs = l->rootfs,
		.cgroup_path = l->cgroup_path,
		.in_userns = (ns_flags & CLONE_NEWUSER) != 0 || oci_config_namespace(cfg, OCI_NS_USER) != NULL,
		.new_netns = (ns_flags & CLONE_NEWNET) != 0,
		.new_cgroupns = (ns_flags & CLONE_NEWCGROUP) != 0,
		.new_mountns = oci_config_namespace(cfg, OCI_NS_MOUNT) != NULL,
		.root_fd = -1,
		.bind_trees = l->bind_trees,
	};
	oci_trace("init: go");
	auto_free char *state = NULL;
	prepare_root(l, &rc, &state, sock);
	enter_root(l, &rc, sock);
	prepare_process(l, sock);
	/* Created: from here the container outlives berth-oci create. */
	prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
	if (sync_send(sock, SYNC_CREATED, 0) < 0) {
		_exit(1);
	}
	if (wait_for_start(l->fifo_fd) < 0) {
		_exit(1);
	}
	/* The fifo stays open until execve closes it: `start` waits for that
	 * to run poststart hooks after the process is executed. */
	if (hooks_run(cfg, OCI_HOOK_START_CONTAINER, state, &err) < 0) {
		(void)!write(STDERR_FILENO, err.msg, strlen(err.msg));
		_exit(1);
	}
	exec_process(l, sock);
}

/* ---- the first child: namespaces ---------------------------------------------------- */

static const char *const ns_file[OCI_NS_COUNT] = {
	[OCI_NS_PID] = "pid", [OCI_NS_NET] = "net",   [OCI_NS_MOUNT] = "mnt",	  [OCI_NS_IPC] = "ipc",
	[OCI_NS_UTS] = "uts", [OCI_NS_USER] = "user", [OCI_NS_CGROUP] = "cgroup", [OCI_NS_TIME] = "time",
};

static const int ns_clone_flag[OCI_NS_COUNT] = {
	[OCI_NS_PID] = CLONE_NEWPID,	   [OCI_NS_NET] = CLONE_NEWNET,	  [OCI_NS_MOUNT] = CLONE_NEWNS,
	[OCI_NS_IPC] = CLONE_NEWIPC,	   [OCI_NS_UTS] = CLONE_NEWUTS,	  [OCI_NS_USER] = CLONE_NEWUSER,
	[OCI_NS_CGROUP] = CLONE_NEWCGROUP, [OCI_NS_TIME] = CLONE_NEWTIME,
};

/* Two namespace files name the same namespace. */
static int same_ns(const char *a, const char *b)
{
	struct stat sa;
	struct stat sb;
	return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* Opens every namespace file the process joins, into join_fd (-1: none),
 * before any setns: after joining a mount namespace, paths mean something
 * else. Returns the CLONE_NEW* flags of the namespaces to create. exec joins
 * each namespace of the container's process that is not already ours. */
static int open_namespaces(const struct launch *l, int join_fd[OCI_NS_COUNT], int sock)
{
	struct berr err;
	int new_flags = 0;
	for (int t = 0; t < OCI_NS_COUNT; t++) {
		join_fd[t] = -1;
		char path[PATH_MAX];
		if (l->join_pid > 0) {
			snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)l->join_pid, ns_file[t]);
			char mine[64];
			snprintf(mine, sizeof(mine), "/proc/self/ns/%s", ns_file[t]);
			if (access(path, F_OK) < 0 || same_ns(path, mine)) {
				continue;
			}
		} else {
			const struct oci_namespace *ns = oci_config_namespace(l->cfg, (enum oci_ns_type)t);
			if (ns == NULL) {
				continue;
			}
			if (ns->path == NULL) {
				new_flags |= ns_clone_flag[t];
				continue;
			}
			snprintf(path, sizeof(path), "%s", ns->path);
		}
		join_fd[t] = open(path, O_RDONLY | O_CLOEXEC);
		if (join_fd[t] < 0) {
			berr_set(&err, errno, "open %s namespace %s", ns_file[t], path);
			child_fail(sock, &err);
		}
	}
	return new_flags;
}

/* Joins everything but the user namespace first, while this process still
 * holds the host's capabilities over them. */
static void join_namespaces(const int join_fd[OCI_NS_COUNT], int sock)
{
	struct berr err;
	for (int t = 0; t < OCI_NS_COUNT; t++) {
		if (t == OCI_NS_USER || join_fd[t] < 0) {
			continue;
		}
		if (setns(join_fd[t], ns_clone_flag[t]) < 0) {
			berr_set(&err, errno, "join the %s namespace", ns_file[t]);
			child_fail(sock, &err);
		}
		close(join_fd[t]);
	}
}

/* Joins (user_fd) or creates the user namespace, if any, and becomes its
 * root, which owns what comes next. */
static void enter_user_namespace(int user_fd, int new_flags, int sock)
{
	struct berr err;
	struct sync_msg msg;
	if (user_fd >= 0) {
		if (setns(user_fd, CLONE_NEWUSER) < 0) {
			berr_set(&err, errno, "join the user namespace");
			child_fail(sock, &err);
		}
		close(user_fd);
	} else if (new_flags & CLONE_NEWUSER) {
		if (unshare(CLONE_NEWUSER) < 0) {
			berr_set(&err, errno, "create a user namespace");
			child_fail(sock, &err);
		}
		/* The parent writes the id maps of this process. */
		if (sync_send(sock, SYNC_USERNS_READY, 0) < 0 ||
		    sync_expect(sock, SYNC_GO, &msg, SETUP_TIMEOUT_MS, &err) < 0) {
			_exit(1);
		}
	} else {
		return;
	}
	if (syscall(SYS_setresgid, 0, 0, 0) < 0 || syscall(SYS_setresuid, 0, 0, 0) < 0) {
		berr_set(&err, errno, "become root in the user namespace (is 0 mapped?)");
		child_fail(sock, &err);
	}
}

/* The new namespaces but the user namespace. The pid and time namespaces
 * apply to the children of this process from now on. */
static void create_namespaces(const struct launch *l, int new_flags, int sock)
{
	struct berr err;
	int unshare_flags = new_flags & ~(CLONE_NEWUSER | CLONE_NEWPID);
	if (unshare_flags != 0 && unshare(unshare_flags) < 0) {
		berr_set(&err, errno, "create namespaces (flags %#x)", unshare_flags);
		child_fail(sock, &err);
	}
	if (new_flags & CLONE_NEWPID) {
		if (unshare(CLONE_NEWPID) < 0) {
			berr_set(&err, errno, "create a pid namespace");
			child_fail(sock, &err);
		}
	}
	if ((new_flags & CLONE_NEWTIME) && l->cfg->linux_.has_time_offsets) {
		const struct oci_linux *lx = &l->cfg->linux_;
		char offsets[128];
		snprintf(offsets, sizeof(offsets), "monotonic %lld %u\nboottime %lld %u\n",
			 (long long)lx->monotonic_secs, lx->monotonic_nanosecs, (long long)lx->boottime_secs,
			 lx->boottime_nanosecs);
		auto_close int fd = open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
		if (fd < 0 || write(fd, offsets, strlen(offsets)) < 0) {
			berr_set(&err, errno, "linux.timeOffsets");
			child_fail(sock, &err);
		}
	}
}

/* exec's process, in the container's namespaces: terminal, limits, execve. */
/* An exec'd process scores like the container's own (as Docker's do), not
 * like whoever ran berth-oci exec (berthd is spared by the OOM killer). */
static void inherit_oom_score_adj(pid_t container)
{
	char path[64];
	char buf[16];
	snprintf(path, sizeof(path), "/proc/%d/oom_score_adj", (int)container);
	if (read_file(path, buf, sizeof(buf), NULL) >= 0) {
		set_oom_score_adj(atoi(buf));
	}
}

static __attribute__((noreturn)) void exec_child(struct launch *l, int sock)
{
	struct berr err;
	struct sync_msg msg;
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	if (sync_expect(sock, SYNC_GO, &msg, SETUP_TIMEOUT_MS, &err) < 0) {
		_exit(1);
	}
	if (l->exec_root_fd >= 0 && (fchdir(l->exec_root_fd) < 0 || chroot(".") < 0 || chdir("/") < 0)) {
		berr_set(&err, errno, "enter the container's root");
		child_fail(sock, &err);
	}
	if (l->proc->terminal) {
		attach_terminal(l, sock, "a terminal was asked for but there is no console socket", 0);
	}
	if (set_limits(l->proc, &err) < 0) {
		child_fail(sock, &err);
	}
	/* Set up: from here the process is the container's, and outlives
	 * whoever ran exec (exec --detach returns at once). */
	prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
	exec_process(l, sock);
}

static __attribute__((noreturn)) void first_child(struct launch *l, int sock)
{
	struct berr err;
	struct sync_msg msg;
	int join_fd[OCI_NS_COUNT];

	/* Nothing in a container may open this process's /proc/PID/exe: the
	 * runtime's own binary (CVE-2019-5736). execve makes the process
	 * dumpable again, as the container's program. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	if (sync_expect(sock, SYNC_GO, &msg, SETUP_TIMEOUT_MS, &err) < 0) {
		_exit(1);
	}
	l->exec_root_fd = -1;
	if (l->join_pid > 0 && !l->proc->has_oom_score_adj) {
		/* Before joining: /proc still is the host's here. */
		inherit_oom_score_adj(l->join_pid);
	}
	if (l->join_pid > 0) {
		/* A container without a mount namespace shares ours: its root is
		 * only where its process chrooted to. */
		char mnt[64];
		snprintf(mnt, sizeof(mnt), "/proc/%d/ns/mnt", (int)l->join_pid);
		if (same_ns(mnt, "/proc/self/ns/mnt")) {
			snprintf(mnt, sizeof(mnt), "/proc/%d/root", (int)l->join_pid);
			l->exec_root_fd = open(mnt, O_PATH | O_DIRECTORY | O_CLOEXEC);
			if (l->exec_root_fd < 0) {
				berr_set(&err, errno, "open %s", mnt);
				child_fail(sock, &err);
			}
		}
	}
	int new_flags = open_namespaces(l, join_fd, sock);
	l->bind_trees = NULL;
	int userns = (new_flags & CLONE_NEWUSER) != 0 || join_fd[OCI_NS_USER] >= 0;
	if (l->join_pid == 0 && userns && oci_config_namespace(l->cfg, OCI_NS_MOUNT) != NULL && l->cfg->nmounts > 0) {
		/* Still the runtime's user: bind sources it can reach but the
		 * container's root could not (see rootfs_clone_bind_sources). */
		l->bind_trees = calloc(l->cfg->nmounts, sizeof(int));
		if (l->bind_trees != NULL) {
			rootfs_clone_bind_sources(l->cfg, l->bind_trees);
		}
	}
	join_namespaces(join_fd, sock);
	enter_user_namespace(join_fd[OCI_NS_USER], new_flags, sock);
	create_namespaces(l, new_flags, sock);
	oci_trace("first child: namespaces made");
	/* The container process, a sibling: berth-oci is its parent. */
	pid_t pid = (pid_t)syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, NULL, NULL, 0);
	if (pid == 0) {
		if (l->join_pid > 0) {
			exec_child(l, sock);
		}
		container_init(l, sock, new_flags);
	}
	if (pid < 0) {
		berr_set(&err, errno, "start the container process");
		child_fail(sock, &err);
	}
	sync_send(sock, SYNC_PID, pid);
	_exit(0);
}

/* ---- the parent --------------------------------------------------------------------------- */

static int write_id_maps(const struct launch *l, pid_t pid, struct berr *err)
{
	const struct oci_linux *lx = &l->cfg->linux_;
	const struct oci_id_map *maps[2] = {lx->uid_maps, lx->gid_maps};
	size_t n[2] = {lx->nuid_maps, lx->ngid_maps};
	const char *files[2] = {"uid_map", "gid_map"};
	const char *fields[2] = {"linux.uidMappings", "linux.gidMappings"};
	for (int k = 0; k < 2; k++) {
		if (n[k] == 0) {
			return berr_setx(err, EINVAL, "%s: a new user namespace needs mappings", fields[k]);
		}
		char text[8192] = "";
		for (size_t i = 0; i < n[k]; i++) {
			size_t len = strlen(text);
			snprintf(text + len, sizeof(text) - len, "%u %u %u\n", maps[k][i].container_id,
				 maps[k][i].host_id, maps[k][i].size);
		}
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, files[k]);
		struct berr e2;
		if (write_file(path, text, &e2) < 0) {
			return berr_setx(err, e2.code, "%s: %s", fields[k], e2.msg);
		}
	}
	return 0;
}

static int place_in_cgroup(int dirfd, pid_t pid, struct berr *err)
{
	if (dirfd < 0) {
		return 0;
	}
	auto_close int fd = openat(dirfd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
	char v[32];
	snprintf(v, sizeof(v), "%d", (int)pid);
	if (fd < 0 || write(fd, v, strlen(v)) < 0) {
		return berr_set(err, errno, "add pid %d to the container's cgroup", (int)pid);
	}
	return 0;
}

/* fork, into the container's cgroup from the start when the kernel can
 * (clone3 with CLONE_INTO_CGROUP, Linux 5.7): moving a process between
 * cgroups afterwards waits for an RCU grace period, which is most of a
 * container start's time on a quiet machine. Sets *placed when it did. */
static pid_t fork_into_cgroup(int cgroup_dirfd, int *placed)
{
	*placed = 0;
	if (cgroup_dirfd >= 0) {
		struct clone_args args;
		memset(&args, 0, sizeof(args));
		args.flags = CLONE_INTO_CGROUP;
		args.exit_signal = SIGCHLD;
		args.cgroup = (uint64_t)cgroup_dirfd;
		long pid = syscall(SYS_clone3, &args, sizeof(args));
		if (pid >= 0) {
			*placed = 1;
			return (pid_t)pid;
		}
		if (errno != ENOSYS && errno != EINVAL && errno != E2BIG) {
			return -1;
		}
	}
	return fork();
}

static void reap(pid_t pid)
{
	if (pid > 0) {
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
		}
	}
}

int launch_start(struct launch *l, struct berr *err)
{
	int sp[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0) {
		return berr_set(err, errno, "socketpair");
	}
	l->pid = 0;
	int placed;
	pid_t first = fork_into_cgroup(l->cgroup_dirfd, &placed);
	if (first < 0) {
		close(sp[0]);
		close(sp[1]);
		return berr_set(err, errno, "fork");
	}
	if (first == 0) {
		close(sp[0]);
		first_child(l, sp[1]);
	}
	close(sp[1]);
	auto_close int sock = sp[0];
	struct sync_msg msg;
	int ret = placed ? 0 : place_in_cgroup(l->cgroup_dirfd, first, err);
	if (ret == 0 && sync_send(sock, SYNC_GO, 0) < 0) {
		ret = berr_set(err, EPIPE, "the container's setup process died");
	}
	int new_userns = l->join_pid == 0 && oci_config_namespace(l->cfg, OCI_NS_USER) != NULL &&
			 oci_config_namespace(l->cfg, OCI_NS_USER)->path == NULL;
	if (ret == 0 && new_userns) {
		ret = sync_expect(sock, SYNC_USERNS_READY, &msg, SETUP_TIMEOUT_MS, err);
		if (ret == 0) {
			ret = write_id_maps(l, first, err);
		}
		if (ret == 0) {
			sync_send(sock, SYNC_GO, 0);
		}
	}
	if (ret == 0) {
		ret = sync_expect(sock, SYNC_PID, &msg, SETUP_TIMEOUT_MS, err);
		if (ret == 0) {
			l->pid = msg.value;
		}
	}
	if (ret < 0) {
		kill(first, SIGKILL);
		reap(first);
		return ret;
	}
	reap(first);
	oci_trace("container process cloned");
	/* The container process learns the pid the world knows it by. */
	sync_send(sock, SYNC_GO, l->pid);
	if (l->join_pid > 0) {
		ret = sync_expect(sock, SYNC_EXECED, &msg, SETUP_TIMEOUT_MS, err);
	} else {
		ret = sync_expect(sock, SYNC_HOOKS, &msg, SETUP_TIMEOUT_MS, err);
		if (ret == 0 && l->hooks != NULL) {
			ret = l->hooks(l, err);
		}
		if (ret == 0) {
			sync_send(sock, SYNC_GO, 0);
			ret = sync_expect(sock, SYNC_CREATED, &msg, SETUP_TIMEOUT_MS, err);
		}
	}
	if (ret < 0) {
		kill(l->pid, SIGKILL);
		reap(l->pid);
		l->pid = 0;
		return ret;
	}
	if (l->join_pid > 0) {
		/* A failure of execve itself arrives right after SYNC_EXECED;
		 * success closes the socket (close-on-exec). */
		struct berr e2;
		if (sync_expect(sock, SYNC_EXECED, &msg, SETUP_TIMEOUT_MS, &e2) < 0 && e2.code != EPIPE) {
			*err = e2;
			reap(l->pid);
			l->pid = 0;
			return -e2.code;
		}
	}
	return 0;
}
