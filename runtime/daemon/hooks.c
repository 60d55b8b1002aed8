/* Lifecycle hooks (see hooks.h). */
#include "daemon/hooks.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "daemon/daemon.h"
#include "daemon/sup.h"
#include "lib/log.h"
#include "lib/proc.h"

static const char *const kind_names[] = {
	[HOOK_NONE] = "", [HOOK_POST_START] = "post_start", [HOOK_PRE_STOP] = "pre_stop"};

static void hook_exited(struct child *ch, int status);

/* berth-oci exec of hook h in c (malloc'd; NULL: out of memory). */
static char **hook_argv(const struct ctr *c, const struct ctr_hook *h)
{
	char **argv = calloc(h->ncommand + 2 * h->nenv + 16, sizeof(*argv));
	if (argv == NULL) {
		return NULL;
	}
	size_t n = 0;
	argv[n++] = "berth-oci";
	argv[n++] = "--root";
	argv[n++] = OCI_ROOT;
	argv[n++] = "exec";
	if (h->user != NULL) {
		argv[n++] = "--user";
		argv[n++] = h->user;
	}
	if (h->cwd != NULL) {
		argv[n++] = "--cwd";
		argv[n++] = h->cwd;
	}
	for (size_t i = 0; i < h->nenv; i++) {
		argv[n++] = "--env";
		argv[n++] = h->env[i];
	}
	argv[n++] = c->def.name;
	for (size_t i = 0; i < h->ncommand; i++) {
		argv[n++] = h->command[i];
	}
	argv[n] = NULL;
	return argv;
}

/* Starts the next hook of the current kind: 1, or 0 when none is left. */
static int next_hook(struct ctr *c)
{
	const struct ctr_hook *list = c->hook_kind == HOOK_PRE_STOP ? c->def.pre_stop : c->def.post_start;
	size_t n = c->hook_kind == HOOK_PRE_STOP ? c->def.npre_stop : c->def.npost_start;
	while (c->hook_next < n) {
		const struct ctr_hook *h = &list[c->hook_next++];
		char **argv = hook_argv(c, h);
		if (argv == NULL) {
			blog_err("%s: %s hook: out of memory", c->def.name, kind_names[c->hook_kind]);
			continue;
		}
		/* Its output goes to berthd's log. */
		struct spawn_opts so = {
			.path = "/proc/self/exe", .argv = argv, .stdin_fd = -1, .stdout_fd = 2, .stderr_fd = 2};
		struct berr err = {0};
		pid_t pid = 0;
		int ret = proc_spawn(&so, &pid, &err);
		free(argv);
		if (ret == 0 && (c->hook_child = child_add(pid, hook_exited, c)) == NULL) {
			kill(pid, SIGKILL);
			ret = berr_setx(&err, ENOMEM, "out of memory");
		}
		if (ret < 0) {
			blog_err("%s: %s hook %zu: %s", c->def.name, kind_names[c->hook_kind], c->hook_next, err.msg);
			continue;
		}
		c->hook_pid = pid;
		return 1;
	}
	return 0;
}

/* The hooks of the current kind are done: a pre_stop's signal follows. */
static void hooks_done(struct ctr *c)
{
	int sig = c->hook_signal;
	int pre_stop = c->hook_kind == HOOK_PRE_STOP;
	c->hook_kind = HOOK_NONE;
	c->hook_signal = 0;
	if (pre_stop && c->state == CS_STOPPING && sig > 0) {
		struct berr err = {0};
		if (sup_kill(c, sig, &err) < 0) {
			blog_warn("%s", err.msg);
		}
	}
}

static void hook_exited(struct child *ch, int status)
{
	struct ctr *c = ch->ctx;
	c->hook_child = NULL;
	c->hook_pid = 0;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		blog_warn("%s: %s hook %zu failed (%s %d)", c->def.name, kind_names[c->hook_kind], c->hook_next,
			  WIFEXITED(status) ? "exit status" : "signal",
			  WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	} else {
		blog_info("%s: %s hook %zu done", c->def.name, kind_names[c->hook_kind], c->hook_next);
	}
	if (!next_hook(c)) {
		hooks_done(c);
	}
}

static int start_kind(struct ctr *c, enum hook_kind kind)
{
	hooks_stop(c);
	c->hook_kind = kind;
	c->hook_next = 0;
	if (next_hook(c)) {
		return 1;
	}
	c->hook_kind = HOOK_NONE;
	return 0;
}

void hooks_post_start(struct ctr *c)
{
	if (c->def.npost_start > 0) {
		start_kind(c, HOOK_POST_START);
	}
}

int hooks_pre_stop(struct ctr *c, int sig)
{
	if (c->def.npre_stop == 0 || c->hook_kind == HOOK_PRE_STOP) {
		return c->hook_kind == HOOK_PRE_STOP;
	}
	if (!start_kind(c, HOOK_PRE_STOP)) {
		return 0;
	}
	c->hook_signal = sig;
	return 1;
}

void hooks_stop(struct ctr *c)
{
	if (c->hook_child != NULL) {
		/* Reaped as any child; nobody waits for its result. */
		c->hook_child->done = NULL;
		c->hook_child = NULL;
	}
	if (c->hook_pid > 0) {
		kill(c->hook_pid, SIGKILL);
		c->hook_pid = 0;
	}
	c->hook_kind = HOOK_NONE;
	c->hook_signal = 0;
}
