/* Hooks (see hooks.h). */
#include "oci/hooks.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/proc.h"
#include "lib/timeutil.h"

static int run_hook(const struct oci_hook *h, const char *kind, size_t index, const char *state_json, struct berr *err)
{
	int in[2];
	if (pipe2(in, O_CLOEXEC) < 0) {
		return berr_set(err, errno, "%s hook %zu: pipe", kind, index);
	}
	/* argv[0] of the hook is args[0] when given, else its path. */
	char *default_argv[] = {h->path, NULL};
	char *const *argv = h->nargs > 0 ? h->args : default_argv;
	/* A hook without env inherits the runtime's environment, as with runc
	 * and crun (crun's suite, test-hook-env-inherit); "env": [] is empty. */
	char *empty_env[] = {NULL};
	struct spawn_opts o = {
		.path = h->path,
		.argv = argv,
		.envp = !h->has_env   ? environ
			: h->nenv > 0 ? h->env
				      : empty_env,
		.stdin_fd = in[0],
		.stdout_fd = STDERR_FILENO,
		.stderr_fd = STDERR_FILENO,
	};
	pid_t pid;
	struct berr serr;
	int ret = proc_spawn(&o, &pid, &serr);
	close(in[0]);
	if (ret < 0) {
		close(in[1]);
		return berr_setx(err, serr.code, "%s hook %zu: %s", kind, index, serr.msg);
	}
	/* The hook may not read its stdin; that is its business. */
	size_t len = strlen(state_json);
	signal(SIGPIPE, SIG_IGN);
	if (write(in[1], state_json, len) < 0 && errno != EPIPE) {
		/* reported through its exit status if it matters */
	}
	close(in[1]);
	/* 64-bit milliseconds: an int wrapped after 24 days of uptime. */
	int timed = h->timeout > 0;
	uint64_t deadline = timed ? monotonic_ms() + (uint64_t)h->timeout * 1000 : 0;
	int status;
	for (;;) {
		pid_t r = waitpid(pid, &status, timed ? WNOHANG : 0);
		if (r == pid) {
			break;
		}
		if (r < 0 && errno != EINTR) {
			return berr_set(err, errno, "%s hook %zu (%s): wait", kind, index, h->path);
		}
		if (timed && monotonic_ms() >= deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return berr_setx(err, ETIMEDOUT, "%s hook %zu (%s) timed out after %d s", kind, index, h->path,
					 h->timeout);
		}
		if (timed) {
			poll(NULL, 0, 20);
		}
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		return 0;
	}
	if (WIFSIGNALED(status)) {
		return berr_setx(err, EIO, "%s hook %zu (%s) was killed by signal %d", kind, index, h->path,
				 WTERMSIG(status));
	}
	return berr_setx(err, EIO, "%s hook %zu (%s) exited with status %d", kind, index, h->path, WEXITSTATUS(status));
}

int hooks_run(const struct oci_config *cfg, enum oci_hook_kind kind, const char *state_json, struct berr *err)
{
	for (size_t i = 0; i < cfg->hooks.count[kind]; i++) {
		int ret = run_hook(&cfg->hooks.list[kind][i], oci_hook_kind_name(kind), i, state_json, err);
		if (ret < 0) {
			return ret;
		}
	}
	return 0;
}

int hooks_run_all(const struct oci_config *cfg, enum oci_hook_kind kind, const char *state_json,
		  void (*warn)(const char *msg))
{
	int failed = 0;
	for (size_t i = 0; i < cfg->hooks.count[kind]; i++) {
		struct berr err;
		if (run_hook(&cfg->hooks.list[kind][i], oci_hook_kind_name(kind), i, state_json, &err) < 0) {
			warn(err.msg);
			failed++;
		}
	}
	return failed;
}
