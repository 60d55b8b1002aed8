/* Container lifecycle (see container.h). */
#include "oci/container.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/decimal.h"
#include "lib/fsutil.h"
#include "lib/log.h"
#include "oci/cgroup.h"
#include "oci/config.h"
#include "oci/devfilter.h"
#include "oci/hooks.h"
#include "oci/launch.h"
#include "oci/state.h"
#include "oci/terminal.h"
#include "oci/trace.h"

#define CGROUP_ROOT "/sys/fs/cgroup"

static int delete (const struct oci_opts *o, const char *id, const struct oci_config *cfg, struct berr *err);

static void now_rfc3339(char *out, size_t size)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	if (snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
		     tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec) < 0) {
		out[0] = '\0';
	}
}

static int write_pid_file(const char *path, pid_t pid, struct berr *err)
{
	char text[16];
	int len = snprintf(text, sizeof(text), "%d", (int)pid);
	return write_file_atomic(path, text, (size_t)len, 0644, 0, err);
}

/* The devices a container may use: the nodes the config creates, then the
 * config's cgroup rules (which may narrow what those nodes allow, as runc,
 * which allows them only by those rules, lets Docker's --device ...:r do),
 * then what every container needs (the default nodes, its ptys, its
 * console). */
static int device_rules(const struct oci_config *cfg, struct oci_device_rule **out, size_t *n)
{
	static const struct oci_device_rule defaults[] = {
		{1, 'c', 1, 3, "rwm"}, {1, 'c', 1, 5, "rwm"}, {1, 'c', 1, 7, "rwm"},
		{1, 'c', 1, 8, "rwm"}, {1, 'c', 1, 9, "rwm"}, {1, 'c', 5, 0, "rwm"},
		{1, 'c', 5, 1, "rwm"}, {1, 'c', 5, 2, "rwm"}, {1, 'c', 136, -1, "rwm"},
	};
	const struct oci_resources *r = &cfg->linux_.resources;
	size_t nd = sizeof(defaults) / sizeof(defaults[0]);
	size_t total = 1 + r->ndevices + nd + cfg->linux_.ndevices;
	struct oci_device_rule *rules = calloc(total, sizeof(*rules));
	if (rules == NULL) {
		return -ENOMEM;
	}
	size_t k = 0;
	/* Start from nothing: least privilege when the config says nothing. */
	rules[k++] = (struct oci_device_rule){0, 'a', -1, -1, "rwm"};
	for (size_t i = 0; i < cfg->linux_.ndevices; i++) {
		const struct oci_device *d = &cfg->linux_.devices[i];
		if (d->type == 'c' || d->type == 'b' || d->type == 'u') {
			rules[k++] = (struct oci_device_rule){1, d->type == 'b' ? 'b' : 'c', d->major, d->minor, "rwm"};
		}
	}
	for (size_t i = 0; i < r->ndevices; i++) {
		rules[k++] = r->devices[i];
	}
	for (size_t i = 0; i < nd; i++) {
		rules[k++] = defaults[i];
	}
	*out = rules;
	*n = k;
	return 0;
}

/* ---- create ---------------------------------------------------------------------- */

/* What create has made so far: each step adds to it, and a failure undoes
 * all of it (undo_create). */
struct create_ctx {
	const struct oci_opts *o;
	const char *id;
	struct oci_config *cfg;
	char bundle[PATH_MAX];
	char rootfs[PATH_MAX];
	char dir[PATH_MAX]; /* the state directory */
	char fifo[PATH_MAX];
	struct cgroup cg;
	int fifo_fd;
	int console_fd;
	int relay[2]; /* a foreground terminal: the master arrives on relay[0] */
	pid_t pid;
};

static int create_hooks(struct launch *l, struct berr *err)
{
	auto_free char *state = NULL;
	/* "created": the spec's state for after the runtime environment is
	 * made (lifecycle step 2), which is when these hooks run; crun says
	 * the same, runc says "creating". */
	int ret = launch_state_json(l, "created", &state, err);
	if (ret < 0) {
		return ret;
	}
	ret = hooks_run(l->cfg, OCI_HOOK_PRESTART, state, err);
	if (ret == 0) {
		ret = hooks_run(l->cfg, OCI_HOOK_CREATE_RUNTIME, state, err);
	}
	return ret;
}

/* Without a mount namespace the container shares the runtime's (the spec:
 * an absent namespace is inherited). Then nothing may be mounted: a mount
 * would change the host's mount table, so what needs one is refused. */
static int check_without_mountns(const struct oci_config *cfg, const char *bundle, struct berr *err)
{
	if (oci_config_namespace(cfg, OCI_NS_MOUNT) != NULL) {
		return 0;
	}
	const char *field = NULL;
	if (cfg->nmounts > 0) {
		field = "mounts";
	} else if (cfg->linux_.nmasked_paths > 0) {
		field = "linux.maskedPaths";
	} else if (cfg->linux_.nreadonly_paths > 0) {
		field = "linux.readonlyPaths";
	} else if (cfg->root_readonly) {
		field = "root.readonly";
	} else if (cfg->linux_.rootfs_propagation != 0) {
		field = "linux.rootfsPropagation";
	} else if (cfg->linux_.ndevices > 0) {
		field = "linux.devices";
	}
	if (field == NULL) {
		return 0;
	}
	return berr_setx(err, EINVAL,
			 "%s/config.json: %s needs a mount namespace, and linux.namespaces has none (the container "
			 "would share the host's mounts, and change them)",
			 bundle, field);
}

static void print_warnings(const struct oci_config *cfg)
{
	for (size_t i = 0; i < cfg->nwarnings; i++) {
		blog_warn("%s", cfg->warnings[i]);
	}
}

/* The bundle's config, checked for what a container needs beyond what the
 * spec requires, and the real path of its root filesystem. keep_terminal:
 * berth-oci itself will hold the terminal (a foreground run). */
static int load_bundle(struct create_ctx *c, int keep_terminal, struct berr *err)
{
	const struct oci_opts *o = c->o;
	if (realpath(o->bundle ? o->bundle : ".", c->bundle) == NULL) {
		return berr_set(err, errno, "bundle %s", o->bundle ? o->bundle : ".");
	}
	int ret = oci_config_load(c->cfg, c->bundle, err);
	if (ret < 0) {
		return ret;
	}
	oci_trace("config loaded");
	print_warnings(c->cfg);
	if (!c->cfg->has_process) {
		return berr_setx(err, EINVAL, "%s/config.json: process: required to create a container", c->bundle);
	}
	ret = check_without_mountns(c->cfg, c->bundle, err);
	if (ret < 0) {
		return ret;
	}
	char root_in[PATH_MAX];
	if (c->cfg->root_path[0] == '/') {
		snprintf(root_in, sizeof(root_in), "%s", c->cfg->root_path);
	} else if (path_join(root_in, sizeof(root_in), c->bundle, c->cfg->root_path) < 0) {
		return berr_setx(err, ENAMETOOLONG, "root path too long");
	}
	if (realpath(root_in, c->rootfs) == NULL) {
		return berr_set(err, errno, "%s/config.json: root.path %s", c->bundle, root_in);
	}
	if (c->cfg->process.terminal && o->console_socket == NULL && !keep_terminal) {
		return berr_setx(err, EINVAL, "process.terminal is set: --console-socket is required");
	}
	return 0;
}

/* The fifo the container waits on until `start` writes to it. */
static int make_exec_fifo(struct create_ctx *c, struct berr *err)
{
	if (path_join(c->fifo, sizeof(c->fifo), c->dir, "exec.fifo") < 0 || mkfifo(c->fifo, 0600) < 0) {
		return berr_set(err, errno, "make the exec fifo in %s", c->dir);
	}
	/* Opened here, for the container: non-blocking, it does not wait for
	 * a writer; start will be that writer. */
	c->fifo_fd = open(c->fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (c->fifo_fd < 0) {
		return berr_set(err, errno, "open the exec fifo %s", c->fifo);
	}
	return 0;
}

static int attach_device_filter(const struct oci_config *cfg, int cgroup_dirfd, struct berr *err)
{
	struct oci_device_rule *rules = NULL;
	size_t nrules = 0;
	int ret = device_rules(cfg, &rules, &nrules);
	if (ret < 0) {
		return berr_set(err, -ret, "device rules");
	}
	ret = devfilter_attach(cgroup_dirfd, rules, nrules, err);
	free(rules);
	return ret;
}

/* The container's cgroup, with its limits and device filter. */
static int make_cgroup(struct create_ctx *c, struct berr *err)
{
	const struct oci_linux *lx = &c->cfg->linux_;
	int ret = cgroup_create(&c->cg, CGROUP_ROOT, lx->cgroups_path, c->id, err);
	if (ret == 0 && lx->has_resources) {
		ret = cgroup_apply(&c->cg, &lx->resources, err);
	}
	if (ret == 0) {
		ret = attach_device_filter(c->cfg, c->cg.dirfd, err);
	}
	if (ret == 0) {
		oci_trace("cgroup ready");
	}
	return ret;
}

/* The console of a process with a terminal: the caller's console socket,
 * or else one end of a socketpair whose other end, relay[0], receives the
 * terminal's master (berth-oci relays the terminal itself). */
static int connect_console(const char *console_socket, int relay[2], struct berr *err)
{
	if (console_socket != NULL) {
		return term_connect(console_socket, err);
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, relay) < 0) {
		return berr_set(err, errno, "socketpair");
	}
	return relay[1];
}

static int start_container_process(struct create_ctx *c, struct berr *err)
{
	struct launch l = {
		.cfg = c->cfg,
		.proc = &c->cfg->process,
		.id = c->id,
		.bundle = c->bundle,
		.rootfs = c->rootfs,
		.fifo_fd = c->fifo_fd,
		.cgroup_path = c->cg.path,
		.cgroup_dirfd = c->cg.dirfd,
		.console_fd = c->console_fd,
		.no_pivot = c->o->no_pivot,
		.hooks = create_hooks,
	};
	int ret = launch_start(&l, err);
	oci_trace("container created");
	/* The container has its own copies now. */
	if (c->console_fd >= 0) {
		close(c->console_fd);
		c->console_fd = -1;
	}
	close(c->fifo_fd);
	c->fifo_fd = -1;
	c->pid = l.pid;
	return ret;
}

/* A foreground run keeps the terminal: its master arrives over the relay. */
static int receive_master(struct create_ctx *c, int *console_out, struct berr *err)
{
	if (c->relay[0] < 0) {
		return 0;
	}
	int master = term_recv_master(c->relay[0], err);
	close(c->relay[0]);
	c->relay[0] = -1;
	if (master < 0) {
		kill(c->pid, SIGKILL);
		return master;
	}
	*console_out = master;
	return 0;
}

static int save_state(struct create_ctx *c, struct berr *err)
{
	struct oci_state st;
	memset(&st, 0, sizeof(st));
	snprintf(st.id, sizeof(st.id), "%s", c->id);
	st.pid = c->pid;
	st.pid_start = state_pid_start(c->pid);
	snprintf(st.bundle, sizeof(st.bundle), "%s", c->bundle);
	snprintf(st.rootfs, sizeof(st.rootfs), "%s", c->rootfs);
	snprintf(st.cgroup, sizeof(st.cgroup), "%s", c->cg.path);
	now_rfc3339(st.created, sizeof(st.created));
	state_set_annotations(&st, c->cfg);
	st.poststart_hooks = (int)c->cfg->hooks.count[OCI_HOOK_POSTSTART];
	st.poststop_hooks = (int)c->cfg->hooks.count[OCI_HOOK_POSTSTOP];
	int ret = state_save(c->dir, &st, err);
	if (ret == 0 && c->o->pid_file != NULL) {
		ret = write_pid_file(c->o->pid_file, c->pid, err);
	}
	if (ret < 0) {
		kill(c->pid, SIGKILL);
	}
	return ret;
}

/* After a failure: nothing of the container stays behind. */
static void undo_create(struct create_ctx *c)
{
	if (c->relay[0] >= 0) {
		close(c->relay[0]);
	}
	if (c->fifo_fd >= 0) {
		close(c->fifo_fd);
	}
	if (c->cg.dirfd >= 0) {
		struct berr e2;
		cgroup_signal_all(&c->cg, SIGKILL, &e2);
		cgroup_destroy(&c->cg, &e2);
		cgroup_close(&c->cg);
	}
	unlink(c->fifo);
	char statef[PATH_MAX];
	if (path_join(statef, sizeof(statef), c->dir, "state.json") == 0) {
		unlink(statef);
	}
	rmdir(c->dir);
}

/* Creates the container; with console_out, berth-oci keeps the terminal
 * (a foreground run) and returns its master there. */
static int create(const struct oci_opts *o, const char *id, struct oci_config *cfg, pid_t *pid_out, int *console_out,
		  struct berr *err)
{
	struct create_ctx c;
	c.o = o;
	c.id = id;
	c.cfg = cfg;
	c.fifo[0] = '\0';
	c.cg.dirfd = -1;
	c.fifo_fd = -1;
	c.console_fd = -1;
	c.relay[0] = -1;
	c.relay[1] = -1;
	c.pid = 0;
	oci_trace("create");
	int ret = load_bundle(&c, console_out != NULL, err);
	if (ret < 0) {
		return ret;
	}
	ret = state_dir_create(o->root, id, c.dir, sizeof(c.dir), err);
	if (ret < 0) {
		return ret;
	}
	oci_trace("state directory made");
	/* From here on, a failure removes what was made. */
	ret = make_exec_fifo(&c, err);
	if (ret == 0) {
		ret = make_cgroup(&c, err);
	}
	if (ret == 0 && cfg->process.terminal) {
		c.console_fd = connect_console(o->console_socket, c.relay, err);
		ret = c.console_fd < 0 ? c.console_fd : 0;
	}
	if (ret == 0) {
		ret = start_container_process(&c, err);
	}
	if (ret == 0) {
		ret = receive_master(&c, console_out, err);
	}
	if (ret == 0) {
		ret = save_state(&c, err);
	}
	if (ret < 0) {
		undo_create(&c);
		return ret;
	}
	cgroup_close(&c.cg);
	if (pid_out != NULL) {
		*pid_out = c.pid;
	}
	oci_trace("state saved");
	return 0;
}

int container_create(const struct oci_opts *o, const char *id, struct berr *err)
{
	struct oci_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	int ret = create(o, id, &cfg, NULL, NULL, err);
	oci_config_free(&cfg);
	return ret;
}

/* ---- start -------------------------------------------------------------------------- */

static void warn_hook(const char *msg)
{
	blog_warn("%s", msg);
}

/* Runs hooks of a kind with the container's state; cfg is the config
 * already in memory, or NULL to read it from the bundle. A failure is a
 * warning: the spec has poststart and poststop hooks not stop anything. */
static void late_hooks(const struct oci_config *cfg, const struct oci_state *st, enum oci_status status,
		       enum oci_hook_kind kind)
{
	struct oci_config loaded;
	struct berr e2;
	if (cfg == NULL) {
		if (oci_config_load(&loaded, st->bundle, &e2) < 0) {
			blog_warn("%s hooks not run: %s", oci_hook_kind_name(kind), e2.msg);
			return;
		}
		cfg = &loaded;
	}
	auto_free char *json = NULL;
	if (state_to_json(st, status, &json, &e2) < 0) {
		blog_warn("%s", e2.msg);
	} else {
		hooks_run_all(cfg, kind, json, warn_hook);
	}
	if (cfg == &loaded) {
		oci_config_free(&loaded);
	}
}

static int start(const struct oci_opts *o, const char *id, const struct oci_config *cfg, struct berr *err)
{
	struct oci_state st;
	int ret = state_load(o->root, id, &st, err);
	if (ret < 0) {
		return ret;
	}
	enum oci_status s = state_status(o->root, &st);
	if (s != OCI_CREATED) {
		return berr_setx(err, EINVAL, "container %s is %s, not created: it cannot be started", id,
				 state_status_name(s));
	}
	char dir[PATH_MAX];
	char fifo[PATH_MAX];
	state_dir(o->root, id, dir, sizeof(dir), err);
	if (path_join(fifo, sizeof(fifo), dir, "exec.fifo") < 0) {
		return berr_setx(err, ENAMETOOLONG, "state path too long");
	}
	auto_close int fd = open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		return berr_set(err, errno == ENXIO ? ESRCH : errno, "container %s is not waiting to start", id);
	}
	/* The fifo goes first: from now on the container is running, and a
	 * second start must fail. */
	unlink(fifo);
	if (write(fd, "0", 1) != 1) {
		return berr_set(err, errno, "start container %s", id);
	}
	/* The container holds the fifo's read end until it executes its
	 * process (close-on-exec): then the write end reports an error. */
	oci_trace("start signalled");
	struct pollfd pfd = {.fd = fd, .events = 0};
	for (int waited = 0; waited < 30000; waited += 100) {
		if (poll(&pfd, 1, 100) > 0 && (pfd.revents & (POLLERR | POLLHUP))) {
			break;
		}
	}
	oci_trace("process executed");
	if (st.poststart_hooks > 0) {
		late_hooks(cfg, &st, OCI_RUNNING, OCI_HOOK_POSTSTART);
	}
	return 0;
}

int container_start(const struct oci_opts *o, const char *id, struct berr *err)
{
	return start(o, id, NULL, err);
}

/* ---- run ------------------------------------------------------------------------------ */

static int forward_signals_until_exit(pid_t pid, int *status)
{
	sigset_t set;
	sigemptyset(&set);
	int fwd[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};
	for (size_t i = 0; i < sizeof(fwd) / sizeof(fwd[0]); i++) {
		sigaddset(&set, fwd[i]);
	}
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, NULL);
	for (;;) {
		if (waitpid(pid, status, WNOHANG) == pid) {
			return 0;
		}
		struct timespec ts = {0, 100000000};
		siginfo_t si;
		int sig = sigtimedwait(&set, &si, &ts);
		if (sig > 0 && sig != SIGCHLD) {
			kill(pid, sig);
		}
	}
}

/* Waits for a process in the foreground: relaying its terminal when
 * berth-oci holds the master, forwarding signals to it otherwise. Returns its
 * wait status. */
static int wait_foreground(pid_t pid, int master)
{
	int status = 0;
	if (master >= 0) {
		term_relay(master, pid, &status);
		close(master);
	} else {
		forward_signals_until_exit(pid, &status);
	}
	return status;
}

static int exit_code(int status)
{
	if (WIFEXITED(status)) {
		return WEXITSTATUS(status);
	}
	if (WIFSIGNALED(status)) {
		return 128 + WTERMSIG(status);
	}
	return 1;
}

int container_run(const struct oci_opts *o, const char *id, struct berr *err)
{
	struct oci_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	pid_t pid = 0;
	int master = -1;
	/* Foreground with a terminal and no console socket: relay it here. */
	int relay = !o->detach && o->console_socket == NULL;
	int ret = create(o, id, &cfg, &pid, relay ? &master : NULL, err);
	if (ret < 0) {
		oci_config_free(&cfg);
		return ret;
	}
	ret = start(o, id, &cfg, err);
	if (ret < 0) {
		struct oci_opts force = *o;
		force.force = 1;
		struct berr e2;
		delete (&force, id, &cfg, &e2);
		oci_config_free(&cfg);
		return ret;
	}
	if (o->detach) {
		oci_config_free(&cfg);
		return 0;
	}
	int status = wait_foreground(pid, master);
	oci_trace("process exited");
	struct oci_opts force = *o;
	force.force = 1;
	struct berr e2;
	if (delete (&force, id, &cfg, &e2) < 0) {
		blog_warn("%s", e2.msg);
	}
	oci_config_free(&cfg);
	return exit_code(status);
}

/* ---- state, kill, delete --------------------------------------------------------------- */

static void fill_oom(struct oci_state *st)
{
	struct cgroup cg = {.dirfd = -1};
	struct berr e2;
	uint64_t count = 0;
	if (st->cgroup[0] != '\0' && cgroup_open(&cg, CGROUP_ROOT, st->cgroup, &e2) == 0) {
		if (cgroup_oom_kills(&cg, &count, &e2) == 0) {
			st->oom_kills = (int)count;
		}
		cgroup_close(&cg);
	}
}

int container_state(const struct oci_opts *o, const char *id, struct berr *err)
{
	struct oci_state st;
	int ret = state_load(o->root, id, &st, err);
	if (ret < 0) {
		return ret;
	}
	enum oci_status s = state_status(o->root, &st);
	fill_oom(&st);
	auto_free char *json = NULL;
	ret = state_to_json(&st, s, &json, err);
	if (ret == 0) {
		printf("%s\n", json);
	}
	return ret;
}

/* What kill --all, update, pause and resume share: a container's cgroup,
 * opened once refuse (NULL: any status will do) has not ruled the
 * container out by its status, and closed whatever act did. */
typedef int (*status_refusal)(const char *id, enum oci_status s, const void *arg, struct berr *err);
typedef int (*cgroup_action)(struct cgroup *cg, const void *arg, struct berr *err);

static int with_container_cgroup(const struct oci_opts *o, const char *id, status_refusal refuse, cgroup_action act,
				 const void *arg, struct berr *err)
{
	struct oci_state st;
	int ret = state_load(o->root, id, &st, err);
	if (ret < 0) {
		return ret;
	}
	if (refuse != NULL) {
		ret = refuse(id, state_status(o->root, &st), arg, err);
		if (ret < 0) {
			return ret;
		}
	}
	struct cgroup cg = {.dirfd = -1};
	ret = cgroup_open(&cg, CGROUP_ROOT, st.cgroup, err);
	if (ret == 0) {
		ret = act(&cg, arg, err);
		cgroup_close(&cg);
	}
	return ret;
}

static int signal_all(struct cgroup *cg, const void *sig, struct berr *err)
{
	return cgroup_signal_all(cg, *(const int *)sig, err);
}

int container_kill(const struct oci_opts *o, const char *id, int sig, struct berr *err)
{
	/* --all reaches what is left in the cgroup of a stopped container too. */
	if (o->all) {
		return with_container_cgroup(o, id, NULL, signal_all, &sig, err);
	}
	struct oci_state st;
	int ret = state_load(o->root, id, &st, err);
	if (ret < 0) {
		return ret;
	}
	if (state_status(o->root, &st) == OCI_STOPPED) {
		/* The words containerd's shim looks for to call it gone. */
		return berr_setx(err, ESRCH, "kill %s: container not running", id);
	}
	if (kill(st.pid, sig) < 0) {
		return berr_set(err, errno, "signal %d to container %s (pid %d)", sig, id, (int)st.pid);
	}
	return 0;
}

static int refuse_stopped_update(const char *id, enum oci_status s, const void *arg, struct berr *err)
{
	(void)arg;
	return s == OCI_STOPPED ? berr_setx(err, ESRCH, "update %s: container not running", id) : 0;
}

static int apply_resources(struct cgroup *cg, const void *r, struct berr *err)
{
	return cgroup_apply(cg, r, err);
}

int container_update(const struct oci_opts *o, const char *id, const struct oci_resources *r, struct berr *err)
{
	return with_container_cgroup(o, id, refuse_stopped_update, apply_resources, r, err);
}

static int wait_stopped(const char *root, const struct oci_state *st, int ms)
{
	for (int waited = 0; waited < ms; waited += 20) {
		if (state_status(root, st) == OCI_STOPPED) {
			return 0;
		}
		/* A child of ours (run) must be reaped to stop being a zombie. */
		waitpid(st->pid, NULL, WNOHANG);
		poll(NULL, 0, 20);
	}
	return state_status(root, st) == OCI_STOPPED ? 0 : -ETIMEDOUT;
}

int container_delete(const struct oci_opts *o, const char *id, struct berr *err)
{
	return delete (o, id, NULL, err);
}

static int delete (const struct oci_opts *o, const char *id, const struct oci_config *cfg, struct berr *err)
{
	struct oci_state st;
	int ret = state_load(o->root, id, &st, err);
	if (ret < 0) {
		if (o->force && err->code == ENOENT) {
			return 0;
		}
		return ret;
	}
	enum oci_status s = state_status(o->root, &st);
	struct cgroup cg = {.dirfd = -1};
	int have_cg = st.cgroup[0] != '\0' && cgroup_open(&cg, CGROUP_ROOT, st.cgroup, err) == 0;
	if (s != OCI_STOPPED) {
		/* A container created and never started goes without --force,
		 * as runc and crun do (containerd's shim deletes one whose start
		 * failed that way). */
		if (!o->force && s != OCI_CREATED) {
			if (have_cg) {
				cgroup_close(&cg);
			}
			return berr_setx(err, EBUSY, "container %s is %s: stop it first, or delete --force", id,
					 state_status_name(s));
		}
		if (s == OCI_PAUSED && have_cg) {
			cgroup_freeze(&cg, 0, err);
		}
		if (have_cg) {
			cgroup_signal_all(&cg, SIGKILL, err);
		}
		kill(st.pid, SIGKILL);
		if (wait_stopped(o->root, &st, 10000) < 0) {
			if (have_cg) {
				cgroup_close(&cg);
			}
			return berr_setx(err, ETIMEDOUT, "container %s did not die after SIGKILL", id);
		}
	}
	oci_trace("delete: stopped");
	if (have_cg) {
		/* Processes the init left behind (no pid namespace) go too. */
		struct berr e2;
		cgroup_signal_all(&cg, SIGKILL, &e2);
		if (cgroup_destroy(&cg, &e2) < 0) {
			blog_warn("%s", e2.msg);
		}
		cgroup_close(&cg);
	}
	char dir[PATH_MAX];
	char path[PATH_MAX];
	state_dir(o->root, id, dir, sizeof(dir), err);
	if (st.poststop_hooks > 0) {
		late_hooks(cfg, &st, OCI_STOPPED, OCI_HOOK_POSTSTOP);
	}
	oci_trace("delete: cgroup removed, hooks run");
	static const char *const files[] = {"exec.fifo", "state.json", ".state.json"};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		if (path_join(path, sizeof(path), dir, files[i]) == 0) {
			unlink(path);
		}
	}
	if (rmdir(dir) < 0 && errno != ENOENT) {
		return berr_set(err, errno, "remove %s", dir);
	}
	return 0;
}

/* ---- exec ------------------------------------------------------------------------------------ */

static int parse_user_spec(const char *spec, struct oci_user *u, struct berr *err)
{
	char buf[32];
	if (copy_string(buf, sizeof(buf), spec) < 0) {
		return berr_setx(err, EINVAL, "--user: expected UID[:GID] (numbers), got %zu bytes", strlen(spec));
	}
	char *gid = strchr(buf, ':');
	if (gid != NULL) {
		*gid++ = '\0';
	}
	/* (uid_t)-1 means "no change" to the kernel, never an id. */
	uint64_t uid_v;
	uint64_t gid_v = u->gid;
	if (decimal_parse(buf, UINT32_MAX - 1, &uid_v) < 0 ||
	    (gid != NULL && decimal_parse(gid, UINT32_MAX - 1, &gid_v) < 0)) {
		return berr_setx(err, EINVAL, "--user %s: expected UID[:GID] (numbers)", spec);
	}
	u->uid = (uint32_t)uid_v;
	u->gid = (uint32_t)gid_v;
	u->additional_gids = NULL;
	u->nadditional_gids = 0;
	return 0;
}

/* runc's exec options beyond the process: --cap adds a capability to the
 * bounding, effective and permitted sets (and to the ambient set when the
 * inheritable set is not empty, which ambient needs); an unknown one is a
 * warning, as in a config. --additional-gids adds groups, --no-new-privs
 * sets no_new_privileges. */
static int exec_options(const struct oci_opts *o, struct oci_config *cfg, struct oci_process *proc, struct berr *err)
{
	for (size_t i = 0; i < o->ncaps; i++) {
		int cap = oci_cap_from_name(o->caps[i]);
		if (cap < 0) {
			blog_warn("exec: ignoring unknown capability '%.64s'", o->caps[i]);
			continue;
		}
		if (!proc->has_caps) {
			memset(&proc->caps, 0, sizeof(proc->caps));
			proc->has_caps = 1;
		}
		uint64_t bit = 1ull << cap;
		proc->caps.bounding |= bit;
		proc->caps.effective |= bit;
		proc->caps.permitted |= bit;
		if (proc->caps.inheritable != 0) {
			proc->caps.ambient |= bit;
		}
	}
	if (o->ngids > 0) {
		size_t n = proc->user.nadditional_gids;
		gid_t *gids = arena_alloc(&cfg->arena, (n + o->ngids) * sizeof(gid_t));
		if (gids == NULL) {
			return berr_set(err, ENOMEM, "exec");
		}
		if (n > 0) {
			memcpy(gids, proc->user.additional_gids, n * sizeof(gid_t));
		}
		for (size_t i = 0; i < o->ngids; i++) {
			uint64_t g;
			if (decimal_parse(o->gids[i], UINT32_MAX - 1, &g) < 0) {
				return berr_setx(err, EINVAL, "--additional-gids %s: expected a number", o->gids[i]);
			}
			gids[n++] = (gid_t)g;
		}
		proc->user.additional_gids = gids;
		proc->user.nadditional_gids = n;
	}
	if (o->no_new_privs) {
		proc->no_new_privileges = 1;
	}
	return 0;
}

/* The process to exec: --process FILE, or the config's own process with the
 * command line's args, env, terminal, cwd and user. */
static int exec_process_spec(const struct oci_opts *o, struct oci_config *cfg, struct oci_process *proc,
			     struct berr *err)
{
	if (o->process_file != NULL) {
		return oci_process_parse_file(cfg, proc, o->process_file, err);
	}
	if (o->nargs == 0) {
		return berr_setx(err, EINVAL, "exec: no command given");
	}
	proc->args = arena_alloc(&cfg->arena, (o->nargs + 1) * sizeof(char *));
	char **env = arena_alloc(&cfg->arena, (proc->nenv + o->nenv + 1) * sizeof(char *));
	if (proc->args == NULL || env == NULL) {
		return berr_set(err, ENOMEM, "exec");
	}
	for (size_t i = 0; i < o->nargs; i++) {
		proc->args[i] = o->args[i];
	}
	proc->nargs = o->nargs;
	memcpy(env, proc->env, proc->nenv * sizeof(char *));
	size_t nenv = proc->nenv;
	for (size_t i = 0; i < o->nenv; i++) {
		const char *eq = strchr(o->env[i], '=');
		if (eq == NULL) {
			return berr_setx(err, EINVAL, "--env %s: expected NAME=VALUE", o->env[i]);
		}
		/* --env NAME=... replaces the config's NAME (a process reads the
		 * first of two), as with runc and crun. */
		size_t j = 0;
		size_t len = (size_t)(eq - o->env[i]) + 1;
		while (j < nenv && strncmp(env[j], o->env[i], len) != 0) {
			j++;
		}
		env[j] = (char *)o->env[i];
		nenv += j == nenv;
	}
	proc->env = env;
	proc->nenv = nenv;
	proc->terminal = o->tty;
	proc->has_console_size = 0;
	if (o->cwd != NULL) {
		proc->cwd = (char *)o->cwd;
	}
	if (o->user != NULL && parse_user_spec(o->user, &proc->user, err) < 0) {
		return -EINVAL;
	}
	return exec_options(o, cfg, proc, err);
}

/* Starts proc in the container of st, in its cgroup; a terminal berth-oci
 * relays itself has its master returned in *master. */
static int exec_launch(const struct oci_opts *o, const char *id, const struct oci_state *st,
		       const struct oci_config *cfg, const struct oci_process *proc, pid_t *pid, int *master,
		       struct berr *err)
{
	struct cgroup cg = {.dirfd = -1};
	if (st->cgroup[0] != '\0' && cgroup_open_for_exec(&cg, CGROUP_ROOT, st->cgroup, st->pid, err) < 0) {
		return -err->code;
	}
	int console_fd = -1;
	int relay[2] = {-1, -1};
	if (proc->terminal) {
		console_fd = connect_console(o->console_socket, relay, err);
		if (console_fd < 0) {
			cgroup_close(&cg);
			return -EIO;
		}
	}
	struct launch l = {
		.cfg = cfg,
		.proc = proc,
		.id = id,
		.bundle = st->bundle,
		.rootfs = st->rootfs,
		.cgroup_path = cg.dirfd >= 0 ? cg.path : st->cgroup,
		.cgroup_dirfd = cg.dirfd,
		.console_fd = console_fd,
		.fifo_fd = -1,
		.join_pid = st->pid,
	};
	int ret = launch_start(&l, err);
	cgroup_close(&cg);
	if (console_fd >= 0) {
		close(console_fd);
	}
	if (ret == 0 && relay[0] >= 0) {
		*master = term_recv_master(relay[0], err);
		if (*master < 0) {
			ret = *master;
		}
	}
	if (relay[0] >= 0) {
		close(relay[0]);
	}
	*pid = l.pid;
	return ret;
}

int container_exec(const struct oci_opts *o, const char *id, struct berr *err)
{
	struct oci_state st;
	int ret = state_load(o->root, id, &st, err);
	if (ret < 0) {
		return ret;
	}
	enum oci_status s = state_status(o->root, &st);
	if (s != OCI_RUNNING && s != OCI_CREATED) {
		return berr_setx(err, EINVAL, "container %s is %s: cannot exec into it", id, state_status_name(s));
	}
	struct oci_config cfg;
	ret = oci_config_load(&cfg, st.bundle, err);
	if (ret < 0) {
		return ret;
	}
	struct oci_process proc = cfg.process;
	pid_t pid = 0;
	int master = -1;
	ret = exec_process_spec(o, &cfg, &proc, err);
	if (ret == 0 && proc.terminal && o->console_socket == NULL && o->detach) {
		ret = berr_setx(err, EINVAL, "exec --tty --detach needs --console-socket");
	}
	if (ret == 0) {
		ret = exec_launch(o, id, &st, &cfg, &proc, &pid, &master, err);
	}
	if (ret == 0 && o->pid_file != NULL) {
		ret = write_pid_file(o->pid_file, pid, err);
	}
	if (ret == 0 && !o->detach) {
		ret = exit_code(wait_foreground(pid, master));
	}
	oci_config_free(&cfg);
	return ret;
}

/* ---- list, ps, pause -------------------------------------------------------------------------- */

int container_list(const struct oci_opts *o, struct berr *err)
{
	auto_closedir DIR *d = opendir(o->root);
	json_object *arr = o->json ? json_object_new_array() : NULL;
	if (!o->json) {
		printf("%-24s %-8s %-8s %-40s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED");
	}
	struct dirent *de;
	while (d != NULL && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.') {
			continue;
		}
		struct oci_state st;
		struct berr e2;
		if (state_load(o->root, de->d_name, &st, &e2) < 0) {
			continue;
		}
		enum oci_status s = state_status(o->root, &st);
		pid_t pid = s == OCI_STOPPED ? 0 : st.pid;
		if (o->json) {
			json_object *c = json_object_new_object();
			json_object_object_add(c, "id", json_object_new_string(st.id));
			json_object_object_add(c, "pid", json_object_new_int(pid));
			json_object_object_add(c, "status", json_object_new_string(state_status_name(s)));
			json_object_object_add(c, "bundle", json_object_new_string(st.bundle));
			json_object_object_add(c, "rootfs", json_object_new_string(st.rootfs));
			json_object_object_add(c, "created", json_object_new_string(st.created));
			json_object_array_add(arr, c);
		} else {
			printf("%-24s %-8d %-8s %-40s %s\n", st.id, (int)pid, state_status_name(s), st.bundle,
			       st.created);
		}
	}
	if (o->json) {
		printf("%s\n",
		       json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(arr);
	}
	(void)err;
	return 0;
}

int container_ps(const struct oci_opts *o, const char *id, struct berr *err)
{
	struct oci_state st;
	int ret = state_load(o->root, id, &st, err);
	if (ret < 0) {
		return ret;
	}
	struct cgroup cg = {.dirfd = -1};
	ret = cgroup_open(&cg, CGROUP_ROOT, st.cgroup, err);
	if (ret < 0) {
		return ret;
	}
	pid_t *pids = NULL;
	size_t n = 0;
	ret = cgroup_pids(&cg, &pids, &n, err);
	cgroup_close(&cg);
	if (ret < 0) {
		return ret;
	}
	if (o->json) {
		printf("[");
		for (size_t i = 0; i < n; i++) {
			printf("%s%d", i ? "," : "", (int)pids[i]);
		}
		printf("]\n");
	} else {
		printf("%-8s %s\n", "PID", "CMD");
		for (size_t i = 0; i < n; i++) {
			char path[64];
			char comm[64] = "?";
			snprintf(path, sizeof(path), "/proc/%d/comm", (int)pids[i]);
			read_file(path, comm, sizeof(comm), NULL);
			printf("%-8d %s\n", (int)pids[i], trim_end(comm));
		}
	}
	free(pids);
	return 0;
}

static int refuse_unpausable(const char *id, enum oci_status s, const void *arg, struct berr *err)
{
	int pause = *(const int *)arg;
	if (pause && s != OCI_RUNNING && s != OCI_CREATED) {
		return berr_setx(err, EINVAL, "container %s is %s: only a running container can be paused", id,
				 state_status_name(s));
	}
	if (!pause && s != OCI_PAUSED) {
		return berr_setx(err, EINVAL, "container %s is %s, not paused", id, state_status_name(s));
	}
	return 0;
}

static int freeze(struct cgroup *cg, const void *pause, struct berr *err)
{
	return cgroup_freeze(cg, *(const int *)pause, err);
}

int container_pause(const struct oci_opts *o, const char *id, int pause, struct berr *err)
{
	return with_container_cgroup(o, id, refuse_unpausable, freeze, &pause, err);
}
