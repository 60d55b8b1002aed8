/* berth-oci's command line, compatible with runc's: the global options,
 * the commands containerd, podman and Docker call, and their options.
 * An option runc has and berth-oci does not implement is an error that
 * says so; errors also go to --log (text or JSON lines), where containerd
 * looks for them. */
#include "oci/cli.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/fsutil.h"
#include "lib/log.h"
#include "lib/signame.h"
#include "oci/config.h"
#include "oci/container.h"
#include "oci/state.h"
#include "oci/trace.h"

#ifndef BERTH_VERSION
#define BERTH_VERSION "unknown"
#endif

static const char *log_path;
static int log_json;

static void log_to_file(const char *level, const char *msg)
{
	if (log_path == NULL) {
		return;
	}
	auto_close int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (fd < 0) {
		return;
	}
	char when[40];
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (log_json) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "level", json_object_new_string(level));
		json_object_object_add(o, "msg", json_object_new_string(msg));
		json_object_object_add(o, "time", json_object_new_string(when));
		dprintf(fd, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
		json_object_put(o);
	} else {
		dprintf(fd, "time=\"%s\" level=%s msg=\"%s\"\n", when, level, msg);
	}
}

/* With --log, warnings go there too: stderr may be the container's own
 * stream (containerd's shim hands it over), where they would end up in
 * its logs. */
static void log_sink(enum blog_level level, const char *msg)
{
	log_to_file(level <= BLOG_ERR	  ? "error"
		    : level == BLOG_WARN  ? "warning"
		    : level == BLOG_DEBUG ? "debug"
					  : "info",
		    msg);
}

__attribute__((format(printf, 1, 2))) static int usage_error(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "berth-oci: %s\n", msg);
	log_to_file("error", msg);
	return 2;
}

static int report(int ret, const struct berr *err)
{
	if (ret < 0) {
		fprintf(stderr, "berth-oci: %s\n", err->msg);
		log_to_file("error", err->msg);
		return 1;
	}
	return ret;
}

/* ---- option parsing ----------------------------------------------------------- */

struct args {
	int argc;
	char **argv;
	int i;
};

/* Matches "--name", "-n", "--name=value" and "--name value". */
static int opt(struct args *a, const char *lng, const char *shrt, int takes_value, const char **value)
{
	const char *arg = a->argv[a->i];
	size_t ln = strlen(lng);
	int match = 0;
	const char *inline_value = NULL;
	for (int dashes = 1; dashes <= 2 && !match; dashes++) {
		/* runc (urfave/cli) accepts -name as well as --name. */
		if (strncmp(arg, "--", (size_t)dashes) != 0 || (dashes == 1 && arg[1] == '-')) {
			continue;
		}
		const char *name = arg + dashes;
		if (strncmp(name, lng, ln) == 0 && (name[ln] == '\0' || name[ln] == '=')) {
			match = 1;
			inline_value = name[ln] == '=' ? name + ln + 1 : NULL;
		}
	}
	if (!match && shrt != NULL && arg[0] == '-' && strcmp(arg + 1, shrt) == 0) {
		match = 1;
	}
	if (!match) {
		return 0;
	}
	if (!takes_value) {
		if (inline_value != NULL && strcmp(inline_value, "true") != 0) {
			*value = inline_value; /* "--flag=false" */
		}
		return 1;
	}
	if (inline_value != NULL) {
		*value = inline_value;
		return 1;
	}
	if (a->i + 1 >= a->argc) {
		return -1;
	}
	*value = a->argv[++a->i];
	return 1;
}

static int is_option(const char *s)
{
	return s[0] == '-' && s[1] != '\0';
}

/* ---- signals ------------------------------------------------------------------- */

/* ---- spec and features ------------------------------------------------------------- */

static const char default_spec[] =
	"{\n"
	"\t\"ociVersion\": \"1.2.0\",\n"
	"\t\"process\": {\n"
	"\t\t\"terminal\": true,\n"
	"\t\t\"user\": {\"uid\": 0, \"gid\": 0},\n"
	"\t\t\"args\": [\"sh\"],\n"
	"\t\t\"env\": [\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\", \"TERM=xterm\"],\n"
	"\t\t\"cwd\": \"/\",\n"
	"\t\t\"capabilities\": {\n"
	"\t\t\t\"bounding\": [\"CAP_AUDIT_WRITE\", \"CAP_KILL\", \"CAP_NET_BIND_SERVICE\"],\n"
	"\t\t\t\"effective\": [\"CAP_AUDIT_WRITE\", \"CAP_KILL\", \"CAP_NET_BIND_SERVICE\"],\n"
	"\t\t\t\"permitted\": [\"CAP_AUDIT_WRITE\", \"CAP_KILL\", \"CAP_NET_BIND_SERVICE\"]\n"
	"\t\t},\n"
	"\t\t\"rlimits\": [{\"type\": \"RLIMIT_NOFILE\", \"hard\": 1024, \"soft\": 1024}],\n"
	"\t\t\"noNewPrivileges\": true\n"
	"\t},\n"
	"\t\"root\": {\"path\": \"rootfs\", \"readonly\": true},\n"
	"\t\"hostname\": \"berth\",\n"
	"\t\"mounts\": [\n"
	"\t\t{\"destination\": \"/proc\", \"type\": \"proc\", \"source\": \"proc\"},\n"
	"\t\t{\"destination\": \"/dev\", \"type\": \"tmpfs\", \"source\": \"tmpfs\",\n"
	"\t\t \"options\": [\"nosuid\", \"strictatime\", \"mode=755\", \"size=65536k\"]},\n"
	"\t\t{\"destination\": \"/dev/pts\", \"type\": \"devpts\", \"source\": \"devpts\",\n"
	"\t\t \"options\": [\"nosuid\", \"noexec\", \"newinstance\", \"ptmxmode=0666\", \"mode=0620\", \"gid=5\"]},\n"
	"\t\t{\"destination\": \"/dev/shm\", \"type\": \"tmpfs\", \"source\": \"shm\",\n"
	"\t\t \"options\": [\"nosuid\", \"noexec\", \"nodev\", \"mode=1777\", \"size=65536k\"]},\n"
	"\t\t{\"destination\": \"/dev/mqueue\", \"type\": \"mqueue\", \"source\": \"mqueue\",\n"
	"\t\t \"options\": [\"nosuid\", \"noexec\", \"nodev\"]},\n"
	"\t\t{\"destination\": \"/sys\", \"type\": \"sysfs\", \"source\": \"sysfs\",\n"
	"\t\t \"options\": [\"nosuid\", \"noexec\", \"nodev\", \"ro\"]},\n"
	"\t\t{\"destination\": \"/sys/fs/cgroup\", \"type\": \"cgroup\", \"source\": \"cgroup\",\n"
	"\t\t \"options\": [\"nosuid\", \"noexec\", \"nodev\", \"relatime\", \"ro\"]}\n"
	"\t],\n"
	"\t\"linux\": {\n"
	"\t\t\"resources\": {\"devices\": [{\"allow\": false, \"access\": \"rwm\"}]},\n"
	"\t\t\"namespaces\": [{\"type\": \"pid\"}, {\"type\": \"network\"}, {\"type\": \"ipc\"},\n"
	"\t\t\t{\"type\": \"uts\"}, {\"type\": \"mount\"}, {\"type\": \"cgroup\"}],\n"
	"\t\t\"maskedPaths\": [\"/proc/acpi\", \"/proc/asound\", \"/proc/kcore\", \"/proc/keys\",\n"
	"\t\t\t\"/proc/latency_stats\", \"/proc/timer_list\", \"/proc/timer_stats\", \"/proc/sched_debug\",\n"
	"\t\t\t\"/sys/firmware\", \"/proc/scsi\"],\n"
	"\t\t\"readonlyPaths\": [\"/proc/bus\", \"/proc/fs\", \"/proc/irq\", \"/proc/sys\", \"/proc/sysrq-trigger\"]\n"
	"\t}\n"
	"}\n";

static int cmd_spec(struct args *a)
{
	const char *bundle = ".";
	for (; a->i < a->argc; a->i++) {
		const char *v = NULL;
		int r;
		if ((r = opt(a, "bundle", "b", 1, &v)) != 0) {
			if (r < 0) {
				return usage_error("spec: --bundle needs a directory");
			}
			bundle = v;
		} else if (opt(a, "rootless", NULL, 0, &v)) {
			return usage_error("spec: --rootless is not supported");
		} else {
			return usage_error("spec: unknown option or argument '%s'", a->argv[a->i]);
		}
	}
	char path[PATH_MAX];
	if (path_join(path, sizeof(path), bundle, "config.json") < 0) {
		return usage_error("spec: bundle path too long");
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		return usage_error("spec: %s: %s", path, errno == EEXIST ? "already exists" : strerror(errno));
	}
	size_t len = sizeof(default_spec) - 1;
	int ok = write(fd, default_spec, len) == (ssize_t)len;
	close(fd);
	return ok ? 0 : usage_error("spec: write %s: %s", path, strerror(errno));
}

static json_object *strings(const char *const *list, size_t n)
{
	json_object *arr = json_object_new_array();
	for (size_t i = 0; i < n; i++) {
		json_object_array_add(arr, json_object_new_string(list[i]));
	}
	return arr;
}

static int cmd_features(void)
{
	const char *hooks[OCI_HOOK_KINDS];
	for (int k = 0; k < OCI_HOOK_KINDS; k++) {
		hooks[k] = oci_hook_kind_name(k);
	}
	static const char *const mount_opts[] = {
		"async",	 "atime",	"bind",	   "dev",    "diratime",    "dirsync", "exec",	 "idmap",
		"loud",		 "mand",	"noatime", "nodev",  "nodiratime",  "noexec",  "nomand", "norelatime",
		"nostrictatime", "nosuid",	"private", "rbind",  "relatime",    "remount", "ridmap", "ro",
		"rprivate",	 "rro",		"rshared", "rslave", "runbindable", "rw",      "shared", "silent",
		"slave",	 "strictatime", "suid",	   "sync",   "unbindable",
	};
	static const char *const namespaces[] = {"cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"};
	static const char *const actions[] = {"SCMP_ACT_ALLOW",	       "SCMP_ACT_ERRNO",       "SCMP_ACT_KILL",
					      "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG",
					      "SCMP_ACT_TRACE",	       "SCMP_ACT_TRAP"};
	static const char *const operators[] = {"SCMP_CMP_EQ", "SCMP_CMP_GE",	     "SCMP_CMP_GT", "SCMP_CMP_LE",
						"SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE"};
	static const char *const archs[] = {"SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32"};
	static const char *const flags[] = {"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
					    "SECCOMP_FILTER_FLAG_SPEC_ALLOW"};
	json_object *o = json_object_new_object();
	json_object_object_add(o, "ociVersionMin", json_object_new_string("1.0.0"));
	json_object_object_add(o, "ociVersionMax", json_object_new_string("1.2.0"));
	json_object_object_add(o, "hooks", strings(hooks, sizeof(hooks) / sizeof(hooks[0])));
	json_object_object_add(o, "mountOptions", strings(mount_opts, sizeof(mount_opts) / sizeof(mount_opts[0])));
	json_object *lx = json_object_new_object();
	json_object_object_add(lx, "namespaces", strings(namespaces, sizeof(namespaces) / sizeof(namespaces[0])));
	json_object *caps = json_object_new_array();
	for (int c = 0; c <= oci_cap_last(); c++) {
		if (oci_cap_name(c) != NULL) {
			json_object_array_add(caps, json_object_new_string(oci_cap_name(c)));
		}
	}
	json_object_object_add(lx, "capabilities", caps);
	json_object *cg = json_object_new_object();
	json_object_object_add(cg, "v1", json_object_new_boolean(0));
	json_object_object_add(cg, "v2", json_object_new_boolean(1));
	json_object_object_add(cg, "systemd", json_object_new_boolean(0));
	json_object_object_add(cg, "systemdUser", json_object_new_boolean(0));
	json_object_object_add(cg, "rdma", json_object_new_boolean(0));
	json_object_object_add(lx, "cgroup", cg);
	json_object *sc = json_object_new_object();
	json_object_object_add(sc, "enabled", json_object_new_boolean(1));
	json_object_object_add(sc, "actions", strings(actions, sizeof(actions) / sizeof(actions[0])));
	json_object_object_add(sc, "operators", strings(operators, sizeof(operators) / sizeof(operators[0])));
	json_object_object_add(sc, "archs", strings(archs, sizeof(archs) / sizeof(archs[0])));
	json_object_object_add(sc, "knownFlags", strings(flags, sizeof(flags) / sizeof(flags[0])));
	json_object_object_add(sc, "supportedFlags", strings(flags, sizeof(flags) / sizeof(flags[0])));
	json_object_object_add(lx, "seccomp", sc);
	const char *disabled[] = {"apparmor", "selinux", "intelRdt"};
	for (size_t i = 0; i < 3; i++) {
		json_object *d = json_object_new_object();
		json_object_object_add(d, "enabled", json_object_new_boolean(0));
		json_object_object_add(lx, disabled[i], d);
	}
	json_object *me = json_object_new_object();
	json_object *idmap = json_object_new_object();
	json_object_object_add(idmap, "enabled", json_object_new_boolean(1));
	json_object_object_add(me, "idmap", idmap);
	json_object_object_add(lx, "mountExtensions", me);
	json_object_object_add(o, "linux", lx);
	json_object *ann = json_object_new_object();
	json_object_object_add(ann, "org.opencontainers.runc.version", json_object_new_string("1.1.5-berth"));
	json_object_object_add(ann, "io.berth.version", json_object_new_string(BERTH_VERSION));
	json_object_object_add(o, "annotations", ann);
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return 0;
}

/* ---- commands -------------------------------------------------------------------------- */

/* Shared options of create, run and exec. */
static int common_opt(struct args *a, struct oci_opts *o, const char *cmd, int *r)
{
	const char *v = NULL;
	if ((*r = opt(a, "bundle", "b", 1, &v)) != 0) {
		o->bundle = v;
	} else if ((*r = opt(a, "pid-file", NULL, 1, &v)) != 0) {
		o->pid_file = v;
	} else if ((*r = opt(a, "console-socket", NULL, 1, &v)) != 0) {
		o->console_socket = v;
	} else if ((*r = opt(a, "no-pivot", NULL, 0, &v)) != 0) {
		o->no_pivot = v == NULL;
	} else if ((*r = opt(a, "no-new-keyring", NULL, 0, &v)) != 0) {
		/* berth-oci never creates a session keyring: nothing to skip. */
	} else if ((*r = opt(a, "preserve-fds", NULL, 1, &v)) != 0) {
		if (*r > 0 && strcmp(v, "0") != 0) {
			*r = -2;
			usage_error("%s: --preserve-fds is not supported", cmd);
		}
	} else if ((*r = opt(a, "pidfd-socket", NULL, 1, &v)) != 0) {
		*r = -2;
		usage_error("%s: --pidfd-socket is not supported", cmd);
	} else {
		return 0;
	}
	if (*r == -1) {
		usage_error("%s: %s needs a value", cmd, a->argv[a->i]);
	}
	return 1;
}

static int need_id(struct args *a, const char *cmd, const char **id)
{
	if (a->i >= a->argc) {
		return usage_error("%s: a container ID is required", cmd);
	}
	*id = a->argv[a->i++];
	return 0;
}

static int no_more(struct args *a, const char *cmd)
{
	if (a->i < a->argc) {
		return usage_error("%s: unexpected argument '%s'", cmd, a->argv[a->i]);
	}
	return 0;
}

static int cmd_create_run(struct args *a, struct oci_opts *o, int run)
{
	const char *cmd = run ? "run" : "create";
	const char *id;
	int keep = 0;
	for (; a->i < a->argc && is_option(a->argv[a->i]); a->i++) {
		int r;
		const char *v = NULL;
		if (common_opt(a, o, cmd, &r)) {
			if (r < 0) {
				return 2;
			}
			continue;
		}
		if (run && opt(a, "detach", "d", 0, &v)) {
			o->detach = v == NULL;
		} else if (run && opt(a, "keep", NULL, 0, &v)) {
			keep = v == NULL;
		} else if (run && opt(a, "no-subreaper", NULL, 0, &v)) {
			/* berth-oci waits for its own child; no subreaper needed. */
		} else {
			return usage_error("%s: unknown option '%s'", cmd, a->argv[a->i]);
		}
	}
	if (need_id(a, cmd, &id) != 0 || no_more(a, cmd) != 0) {
		return 2;
	}
	if (keep) {
		return usage_error("run: --keep is not supported");
	}
	struct berr err;
	if (run) {
		return report(container_run(o, id, &err), &err);
	}
	return report(container_create(o, id, &err), &err);
}

static int cmd_exec(struct args *a, struct oci_opts *o)
{
	const char *id;
	static const char *env[256];
	static const char *caps[64];
	static const char *gids[64];
	o->env = env;
	o->caps = caps;
	o->gids = gids;
	for (; a->i < a->argc && is_option(a->argv[a->i]); a->i++) {
		int r;
		const char *v = NULL;
		if (common_opt(a, o, "exec", &r)) {
			if (r < 0) {
				return 2;
			}
			continue;
		}
		if ((r = opt(a, "tty", "t", 0, &v)) != 0) {
			o->tty = v == NULL;
		} else if ((r = opt(a, "detach", "d", 0, &v)) != 0) {
			o->detach = v == NULL;
		} else if ((r = opt(a, "cwd", NULL, 1, &v)) != 0) {
			o->cwd = v;
		} else if ((r = opt(a, "user", "u", 1, &v)) != 0) {
			o->user = v;
		} else if ((r = opt(a, "process", "p", 1, &v)) != 0) {
			o->process_file = v;
		} else if ((r = opt(a, "env", "e", 1, &v)) != 0) {
			if (r > 0 && o->nenv < 256) {
				env[o->nenv++] = v;
			}
		} else if ((r = opt(a, "cap", "c", 1, &v)) != 0) {
			if (r > 0 && o->ncaps < 64) {
				caps[o->ncaps++] = v;
			}
		} else if ((r = opt(a, "additional-gids", "g", 1, &v)) != 0) {
			if (r > 0 && o->ngids < 64) {
				gids[o->ngids++] = v;
			}
		} else if ((r = opt(a, "no-new-privs", NULL, 0, &v)) != 0) {
			o->no_new_privs = v == NULL;
		} else if (opt(a, "process-label", NULL, 1, &v) || opt(a, "apparmor", NULL, 1, &v) ||
			   opt(a, "cgroup", NULL, 1, &v) || opt(a, "ignore-paused", NULL, 0, &v)) {
			return usage_error("exec: %s is not supported by berth-oci", a->argv[a->i]);
		} else {
			return usage_error("exec: unknown option '%s'", a->argv[a->i]);
		}
		if (r < 0) {
			return usage_error("exec: %s needs a value", a->argv[a->i]);
		}
	}
	if (need_id(a, "exec", &id) != 0) {
		return 2;
	}
	o->args = a->argv + a->i;
	o->nargs = (size_t)(a->argc - a->i);
	if (o->process_file != NULL && o->nargs > 0) {
		return usage_error("exec: give either --process or a command, not both");
	}
	struct berr err;
	return report(container_exec(o, id, &err), &err);
}

#define UPDATE_MAX_BYTES 65536

/* update --resources FILE|- ID: the limits of linux.resources, zeros
 * meaning unchanged (what containerd's shim sends for `docker update`). */
static int cmd_update(struct args *a, struct oci_opts *o)
{
	const char *file = NULL;
	const char *id = NULL;
	for (; a->i < a->argc && is_option(a->argv[a->i]); a->i++) {
		const char *v = NULL;
		int r = opt(a, "resources", "r", 1, &v);
		if (r <= 0) {
			return usage_error("update: only --resources FILE|- is supported (not '%s')", a->argv[a->i]);
		}
		file = v;
	}
	if (file == NULL) {
		return usage_error("update: --resources FILE|- is required");
	}
	if (need_id(a, "update", &id) != 0 || no_more(a, "update") != 0) {
		return 2;
	}
	struct berr err = {0};
	auto_free char *json = NULL;
	size_t len = 0;
	int ret = strcmp(file, "-") == 0
			  ? read_fd_alloc(STDIN_FILENO, UPDATE_MAX_BYTES, "stdin", &json, &len, &err)
			  : read_file_alloc(AT_FDCWD, file, 0, UPDATE_MAX_BYTES, NULL, &json, &len, &err);
	struct oci_config scratch;
	memset(&scratch, 0, sizeof(scratch));
	struct oci_resources res;
	if (ret == 0) {
		ret = oci_resources_parse(&scratch, &res, strcmp(file, "-") == 0 ? "resources (stdin)" : file, json,
					  len, &err);
	}
	if (ret == 0) {
		ret = container_update(o, id, &res, &err);
	}
	oci_config_free(&scratch);
	return report(ret, &err);
}

static int cmd_simple(struct args *a, struct oci_opts *o, const char *cmd)
{
	const char *id = NULL;
	int sig = SIGTERM;
	for (; a->i < a->argc && is_option(a->argv[a->i]); a->i++) {
		const char *v = NULL;
		int r = 0;
		if (strcmp(cmd, "kill") == 0 && opt(a, "all", "a", 0, &v)) {
			o->all = v == NULL;
		} else if (strcmp(cmd, "delete") == 0 && opt(a, "force", "f", 0, &v)) {
			o->force = v == NULL;
		} else if (strcmp(cmd, "ps") == 0 && (r = opt(a, "format", "f", 1, &v)) != 0) {
			if (r < 0 || (strcmp(v, "json") != 0 && strcmp(v, "table") != 0)) {
				return usage_error("ps: --format is table or json");
			}
			o->json = strcmp(v, "json") == 0;
		} else {
			return usage_error("%s: unknown option '%s'", cmd, a->argv[a->i]);
		}
	}
	if (need_id(a, cmd, &id) != 0) {
		return 2;
	}
	if (strcmp(cmd, "kill") == 0 && a->i < a->argc) {
		if (signal_parse(a->argv[a->i], &sig) < 0) {
			sig = -1;
		}
		if (sig < 0) {
			return usage_error("kill: unknown signal '%s'", a->argv[a->i]);
		}
		a->i++;
	}
	if (strcmp(cmd, "ps") == 0 && a->i < a->argc) {
		return usage_error("ps: ps arguments are not supported; use --format");
	}
	if (no_more(a, cmd) != 0) {
		return 2;
	}
	struct berr err;
	int ret;
	if (strcmp(cmd, "start") == 0) {
		ret = container_start(o, id, &err);
	} else if (strcmp(cmd, "state") == 0) {
		ret = container_state(o, id, &err);
	} else if (strcmp(cmd, "kill") == 0) {
		ret = container_kill(o, id, sig, &err);
	} else if (strcmp(cmd, "delete") == 0) {
		ret = container_delete(o, id, &err);
	} else if (strcmp(cmd, "ps") == 0) {
		ret = container_ps(o, id, &err);
	} else if (strcmp(cmd, "pause") == 0) {
		ret = container_pause(o, id, 1, &err);
	} else {
		ret = container_pause(o, id, 0, &err);
	}
	return report(ret, &err);
}

static int cmd_list(struct args *a, struct oci_opts *o)
{
	int quiet = 0;
	for (; a->i < a->argc; a->i++) {
		const char *v = NULL;
		int r;
		if ((r = opt(a, "format", "f", 1, &v)) != 0) {
			if (r < 0 || (strcmp(v, "json") != 0 && strcmp(v, "table") != 0)) {
				return usage_error("list: --format is table or json");
			}
			o->json = strcmp(v, "json") == 0;
		} else if (opt(a, "quiet", "q", 0, &v)) {
			quiet = 1;
		} else {
			return usage_error("list: unknown option or argument '%s'", a->argv[a->i]);
		}
	}
	if (quiet) {
		return usage_error("list: --quiet is not supported; use --format json");
	}
	struct berr err;
	return report(container_list(o, &err), &err);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: berth-oci [--root DIR] [--log FILE] [--log-format text|json] [--debug] COMMAND ...\n"
		   "\n"
		   "An OCI runtime with runc's command line. Commands:\n"
		   "  create [--bundle DIR] [--pid-file F] [--console-socket S] [--no-pivot] ID\n"
		   "  start ID              run a created container's process\n"
		   "  run [--detach] [create options] ID\n"
		   "  state ID              print the container's state (JSON)\n"
		   "  kill [--all] ID [SIGNAL]\n"
		   "  delete [--force] ID\n"
		   "  update --resources FILE|- ID   new linux.resources (0: unchanged)\n"
		   "  exec [--tty] [--env V=X] [--cwd D] [--user U[:G]] [--process F] [--detach] ID CMD...\n"
		   "  list [--format json]   ps [--format json] ID\n"
		   "  pause ID   resume ID   features   spec [--bundle DIR]   --version\n");
}

int cli_main(int argc, char **argv)
{
	struct oci_opts o;
	memset(&o, 0, sizeof(o));
	o.root = OCI_DEFAULT_ROOT;
	oci_trace_start();
	blog_init("berth-oci", -1);
	struct args a = {.argc = argc, .argv = argv, .i = 1};
	for (; a.i < argc && is_option(argv[a.i]); a.i++) {
		const char *v = NULL;
		int r;
		if ((r = opt(&a, "root", NULL, 1, &v)) != 0) {
			if (r < 0) {
				return usage_error("--root needs a directory");
			}
			o.root = v;
		} else if ((r = opt(&a, "log", NULL, 1, &v)) != 0) {
			if (r < 0) {
				return usage_error("--log needs a file");
			}
			log_path = v;
		} else if ((r = opt(&a, "log-format", NULL, 1, &v)) != 0) {
			if (r < 0 || (strcmp(v, "json") != 0 && strcmp(v, "text") != 0)) {
				return usage_error("--log-format is text or json");
			}
			log_json = strcmp(v, "json") == 0;
		} else if (opt(&a, "debug", NULL, 0, &v)) {
			/* Errors are complete without it; it adds timing marks. */
			oci_trace_on = v == NULL;
		} else if (opt(&a, "version", "v", 0, &v)) {
			printf("berth-oci version %s\nspec: 1.2.0\n", BERTH_VERSION);
			return 0;
		} else if (opt(&a, "help", "h", 0, &v)) {
			usage(stdout);
			return 0;
		} else if (opt(&a, "systemd-cgroup", NULL, 0, &v)) {
			if (v == NULL) {
				return usage_error(
					"--systemd-cgroup is not supported: berth-oci manages cgroup v2 itself");
			}
		} else if (opt(&a, "rootless", NULL, 1, &v)) {
			if (strcmp(v, "false") != 0 && strcmp(v, "auto") != 0) {
				return usage_error("--rootless %s is not supported", v);
			}
		} else if (opt(&a, "criu", NULL, 1, &v)) {
			return usage_error("--criu: checkpoint and restore are not supported");
		} else {
			return usage_error("unknown global option '%s'", argv[a.i]);
		}
	}
	if (a.i >= argc) {
		usage(stderr);
		return 2;
	}
	if (log_path != NULL) {
		blog_sink(log_sink);
	}
	const char *cmd = argv[a.i++];
	if (strcmp(cmd, "create") == 0) {
		return cmd_create_run(&a, &o, 0);
	}
	if (strcmp(cmd, "run") == 0) {
		return cmd_create_run(&a, &o, 1);
	}
	if (strcmp(cmd, "exec") == 0) {
		return cmd_exec(&a, &o);
	}
	if (strcmp(cmd, "start") == 0 || strcmp(cmd, "state") == 0 || strcmp(cmd, "kill") == 0 ||
	    strcmp(cmd, "delete") == 0 || strcmp(cmd, "ps") == 0 || strcmp(cmd, "pause") == 0 ||
	    strcmp(cmd, "resume") == 0) {
		return cmd_simple(&a, &o, cmd);
	}
	if (strcmp(cmd, "list") == 0) {
		return cmd_list(&a, &o);
	}
	if (strcmp(cmd, "spec") == 0) {
		return cmd_spec(&a);
	}
	if (strcmp(cmd, "features") == 0) {
		return no_more(&a, "features") ? 2 : cmd_features();
	}
	if (strcmp(cmd, "update") == 0) {
		return cmd_update(&a, &o);
	}
	if (strcmp(cmd, "checkpoint") == 0 || strcmp(cmd, "restore") == 0 || strcmp(cmd, "events") == 0) {
		return usage_error("%s is not supported by berth-oci", cmd);
	}
	return usage_error("unknown command '%s' (see berth-oci --help)", cmd);
}
