/* Child process helpers (see proc.h). Used from PID 1, so they never exit
 * the caller and never leave a zombie they created unwaited, except on
 * success of proc_spawn, where the caller owns the child. */
#include "lib/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/caps.h"
#include "lib/cleanup.h"

static char *const empty_env[] = {NULL};

void close_fds_from(int lowest)
{
#ifdef SYS_close_range
	if (syscall(SYS_close_range, (unsigned)lowest, ~0U, 0) == 0) {
		return;
	}
#endif
	for (int fd = lowest; fd < 1024; fd++) {
		close(fd);
	}
}

/* The kernel's struct sigaction, for signals the C library reserves for
 * itself (32 and 33 with glibc and musl) and will not let sigaction(2)
 * touch, though they can be ignored and inherited across exec. */
struct kernel_sigaction {
	void (*handler)(int);
	unsigned long flags;
	void (*restorer)(void);
	unsigned long mask;
};

void reset_signals(void)
{
	struct kernel_sigaction ksa;
	memset(&ksa, 0, sizeof(ksa));
	ksa.handler = SIG_DFL;
	for (int sig = 1; sig <= 64; sig++) {
		if (sig != SIGKILL && sig != SIGSTOP) {
			syscall(SYS_rt_sigaction, sig, &ksa, NULL, sizeof(ksa.mask));
		}
	}
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/* In the child: put fd on target, opening /dev/null for -1. */
static int child_fd(int fd, int target)
{
	if (fd < 0) {
		fd = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (fd < 0) {
			return -1;
		}
	}
	if (fd == target) {
		/* dup2 onto itself keeps CLOEXEC set; clear it instead. */
		return fcntl(fd, F_SETFD, 0);
	}
	return dup2(fd, target) < 0 ? -1 : 0;
}

int set_oom_score_adj(int value)
{
	char v[16];
	int n = snprintf(v, sizeof(v), "%d", value);
	int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		return -errno;
	}
	ssize_t w = write(fd, v, (size_t)n);
	int e = errno;
	close(fd);
	return w == n ? 0 : -e;
}

int proc_spawn(const struct spawn_opts *opts, pid_t *pid, struct berr *err)
{
	int report[2];
	if (pipe2(report, O_CLOEXEC) < 0) {
		return berr_set(err, errno, "spawn %s: pipe", opts->argv[0]);
	}
	/* Lift stdio fds above 2 first, so that dup2 in the child cannot
	 * clobber one source with another. */
	int in = opts->stdin_fd >= 0 ? fcntl(opts->stdin_fd, F_DUPFD_CLOEXEC, 3) : -1;
	int out = opts->stdout_fd >= 0 ? fcntl(opts->stdout_fd, F_DUPFD_CLOEXEC, 3) : -1;
	int errfd = opts->stderr_fd >= 0 ? fcntl(opts->stderr_fd, F_DUPFD_CLOEXEC, 3) : -1;

	pid_t child = fork();
	if (child == 0) {
		int saved;
		reset_signals();
		if (setsid() < 0) {
			goto fail;
		}
		if (child_fd(in, 0) < 0 || child_fd(out, 1) < 0 || child_fd(errfd, 2) < 0) {
			goto fail;
		}
		if (opts->controlling_tty && ioctl(0, TIOCSCTTY, 1) < 0) {
			goto fail;
		}
		if (chdir(opts->cwd ? opts->cwd : "/") < 0) {
			goto fail;
		}
		if (opts->oom_score_adj != 0 && set_oom_score_adj(opts->oom_score_adj) < 0) {
			goto fail;
		}
		if (opts->limit_caps) {
			int ret = caps_limit(opts->caps);
			if (ret < 0) {
				errno = -ret;
				goto fail;
			}
		}
		/* Keep only stdio and the report pipe (closed by exec). */
		if (report[1] != 3 && dup2(report[1], 3) < 0) {
			goto fail;
		}
		fcntl(3, F_SETFD, FD_CLOEXEC);
		report[1] = 3;
		close_fds_from(4);
		execve(opts->path ? opts->path : opts->argv[0], opts->argv, opts->envp ? opts->envp : empty_env);
	fail:
		saved = errno;
		(void)!write(report[1], &saved, sizeof(saved));
		_exit(127);
	}
	int fork_errno = errno;
	close(report[1]);
	if (in >= 0) {
		close(in);
	}
	if (out >= 0) {
		close(out);
	}
	if (errfd >= 0) {
		close(errfd);
	}
	if (child < 0) {
		close(report[0]);
		return berr_set(err, fork_errno, "spawn %s: fork", opts->argv[0]);
	}
	int child_errno = 0;
	ssize_t n;
	do {
		n = read(report[0], &child_errno, sizeof(child_errno));
	} while (n < 0 && errno == EINTR);
	close(report[0]);
	if (n > 0) {
		while (waitpid(child, NULL, 0) < 0 && errno == EINTR) {
		}
		return berr_set(err, child_errno, "execute %s", opts->path ? opts->path : opts->argv[0]);
	}
	*pid = child;
	return 0;
}

static int wait_status(pid_t pid, const char *what, struct berr *err)
{
	int status;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			return berr_set(err, errno, "wait for %s", what);
		}
	}
	if (WIFEXITED(status)) {
		return WEXITSTATUS(status);
	}
	return 128 + WTERMSIG(status);
}

int proc_run(char *const *argv, int out_fd, struct berr *err)
{
	struct spawn_opts o = {
		.argv = argv,
		.stdin_fd = -1,
		.stdout_fd = out_fd,
		.stderr_fd = out_fd,
	};
	pid_t pid;
	int ret = proc_spawn(&o, &pid, err);
	if (ret < 0) {
		return ret;
	}
	return wait_status(pid, argv[0], err);
}

int proc_run_lines(char *const *argv, void (*on_line)(const char *line, void *ctx), void *ctx, struct berr *err)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		return berr_set(err, errno, "run %s: pipe", argv[0]);
	}
	struct spawn_opts o = {
		.argv = argv,
		.stdin_fd = -1,
		.stdout_fd = p[1],
		.stderr_fd = p[1],
	};
	pid_t pid;
	int ret = proc_spawn(&o, &pid, err);
	close(p[1]);
	if (ret < 0) {
		close(p[0]);
		return ret;
	}
	char buf[1024];
	size_t len = 0;
	for (;;) {
		ssize_t n = read(p[0], buf + len, sizeof(buf) - 1 - len);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n <= 0) {
			break;
		}
		len += (size_t)n;
		buf[len] = '\0';
		char *start = buf;
		char *nl;
		while ((nl = strchr(start, '\n')) != NULL) {
			*nl = '\0';
			on_line(start, ctx);
			start = nl + 1;
		}
		len = strlen(start);
		memmove(buf, start, len);
		if (len == sizeof(buf) - 1) {
			buf[len] = '\0';
			on_line(buf, ctx);
			len = 0;
		}
	}
	if (len > 0) {
		buf[len] = '\0';
		on_line(buf, ctx);
	}
	close(p[0]);
	return wait_status(pid, argv[0], err);
}
