/* The berth command line: docker's verbs for Berth's system containers,
 * talking to berthd (client.h). `berth config check` needs no daemon: it
 * runs the host's own parsers on a config directory, on the build machine
 * as well. Exit codes follow docker: 0 fine, 1 an error, 125 a run that
 * could not start, else the container's own exit code. */
#include "cli/berth.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <json-c/json.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/attach.h"
#include "cli/client.h"
#include "cli/configapply.h"
#include "cli/configcheck.h"
#include "cli/context.h"
#include "cli/cp.h"
#include "cli/dialstdio.h"
#include "cli/events.h"
#include "cli/info.h"
#include "cli/local.h"
#include "cli/machine.h"
#include "cli/remote.h"
#include "cli/stats.h"
#include "image/store.h"
#include "lib/decimal.h"
#include "lib/signame.h"
#include "osupdate/osupdate.h"
#include "proto/proto.h"
#include "registry/registry.h"

#ifndef BERTH_VERSION
#define BERTH_VERSION "unknown"
#endif

/* ---- formatting ---------------------------------------------------------------- */

static void ago(int64_t when_ms, char *out, size_t size)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	int64_t s = ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 - when_ms) / 1000;
	if (when_ms <= 0) {
		snprintf(out, size, "-");
	} else if (s < 60) {
		snprintf(out, size, "%lld seconds ago", (long long)(s < 0 ? 0 : s));
	} else if (s < 3600) {
		snprintf(out, size, "%lld minutes ago", (long long)(s / 60));
	} else if (s < 172800) {
		snprintf(out, size, "%lld hours ago", (long long)(s / 3600));
	} else {
		snprintf(out, size, "%lld days ago", (long long)(s / 86400));
	}
}

static void human_size(int64_t bytes, char *out, size_t size)
{
	if (bytes < 1000) {
		snprintf(out, size, "%lldB", (long long)bytes);
	} else if (bytes < 1000 * 1000) {
		snprintf(out, size, "%.1fkB", (double)bytes / 1000);
	} else if (bytes < 1000LL * 1000 * 1000) {
		snprintf(out, size, "%.1fMB", (double)bytes / 1e6);
	} else {
		snprintf(out, size, "%.2fGB", (double)bytes / 1e9);
	}
}

/* ---- --format json ------------------------------------------------------------------- */

/* Takes --format json (or --format=json) out of argv, for the listing
 * commands: 1 when given, 0 when not, -1 (said) for another format. */
static int take_format(int *argc, char **argv, const char *cmd)
{
	int json = 0;
	int out = 1;
	for (int i = 1; i < *argc; i++) {
		const char *value = NULL;
		if (strcmp(argv[i], "--format") == 0 && i + 1 < *argc) {
			value = argv[++i];
		} else if (strncmp(argv[i], "--format=", 9) == 0) {
			value = argv[i] + 9;
		} else {
			argv[out++] = argv[i];
			continue;
		}
		if (strcmp(value, "json") != 0) {
			fprintf(stderr, "berth %s: --format %s: the one format is json (one object a line)\n", cmd,
				value);
			return -1;
		}
		json = 1;
	}
	*argc = out;
	argv[out] = NULL;
	return json;
}

/* Each object of list on a line of its own, for scripts (jq -c). */
static void print_json_lines(json_object *list)
{
	for (size_t i = 0; list != NULL && i < json_object_array_length(list); i++) {
		printf("%s\n", json_object_to_json_string_ext(json_object_array_get_idx(list, i),
							      JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	}
}

/* ---- simple requests ---------------------------------------------------------------- */

static int cmd_ps(int argc, char **argv)
{
	int all = 0;
	int quiet = 0;
	int opt;
	int json = take_format(&argc, argv, "ps");
	if (json < 0) {
		return 1;
	}
	while ((opt = getopt(argc, argv, "+aq")) != -1) {
		if (opt == 'a') {
			all = 1;
		} else if (opt == 'q') {
			quiet = 1;
		} else {
			return 1;
		}
	}
	json_object *req = client_req("ps");
	json_object_object_add(req, "all", json_object_new_boolean(all));
	json_object *resp = client_fetch("ps", req);
	if (resp == NULL) {
		return 1;
	}
	json_object *list = json_member(resp, "containers");
	size_t n = list != NULL ? json_object_array_length(list) : 0;
	if (json) {
		print_json_lines(list);
		json_object_put(resp);
		return 0;
	}
	if (!quiet) {
		printf("%-20s %-24s %-16s %s\n", "NAME", "IMAGE", "CREATED", "STATUS");
	}
	for (size_t i = 0; i < n; i++) {
		json_object *c = json_object_array_get_idx(list, i);
		if (quiet) {
			printf("%s\n", json_str(c, "name"));
			continue;
		}
		char created[32];
		ago(json_int(c, "created_ms"), created, sizeof(created));
		printf("%-20s %-24s %-16s %s\n", json_str(c, "name"), json_str(c, "image"), created,
		       json_str(c, "status"));
	}
	json_object_put(resp);
	return 0;
}

static int for_each_name(const char *cmd, int argc, char **argv, int first, json_object *extra)
{
	if (first >= argc) {
		fprintf(stderr, "berth %s: give at least one container name\n", cmd);
		json_object_put(extra);
		return 1;
	}
	int failed = 0;
	for (int i = first; i < argc; i++) {
		json_object *req = client_req(cmd);
		json_object_object_add(req, "name", json_object_new_string(argv[i]));
		if (extra != NULL) {
			json_object_object_foreach(extra, key, val)
			{
				json_object_object_add(req, key, json_object_get(val));
			}
		}
		json_object *resp = NULL;
		if (client_call(cmd, req, NULL, 0, &resp) < 0) {
			failed = 1;
		} else {
			const char *waiting = json_str(resp, "waiting_for");
			if (waiting != NULL) {
				printf("%s (%s)\n", argv[i], waiting);
			} else {
				printf("%s\n", argv[i]);
			}
		}
		json_object_put(resp);
	}
	json_object_put(extra);
	return failed;
}

/* start, stop, restart, kill, rm: argv[0] says which. */
static int cmd_lifecycle(int argc, char **argv)
{
	const char *cmd = argv[0];
	json_object *extra = json_object_new_object();
	int opt;
	const char *opts = strcmp(cmd, "kill") == 0 ? "+s:" : strcmp(cmd, "rm") == 0 ? "+f" : "+t:";
	while ((opt = getopt(argc, argv, opts)) != -1) {
		if (opt == 't') {
			uint64_t t;
			if (decimal_parse(optarg, INT32_MAX, &t) < 0) {
				fprintf(stderr, "berth %s: -t %s: expected seconds\n", cmd, optarg);
				json_object_put(extra);
				return 1;
			}
			json_object_object_add(extra, "timeout", json_object_new_int64((int64_t)t));
		} else if (opt == 's') {
			int sig;
			if (signal_parse(optarg, &sig) < 0) {
				fprintf(stderr, "berth kill: -s %s: unknown signal\n", optarg);
				json_object_put(extra);
				return 1;
			}
			json_object_object_add(extra, "signal", json_object_new_int(sig));
		} else if (opt == 'f') {
			json_object_object_add(extra, "force", json_object_new_boolean(1));
		} else {
			json_object_put(extra);
			return 1;
		}
	}
	return for_each_name(cmd, argc, argv, optind, extra);
}

static int cmd_inspect(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "berth inspect: give at least one container name\n");
		return 1;
	}
	json_object *all = json_object_new_array();
	int failed = 0;
	for (int i = 1; i < argc; i++) {
		json_object *req = client_req("inspect");
		json_object_object_add(req, "name", json_object_new_string(argv[i]));
		json_object *resp = NULL;
		json_object *c = NULL;
		if (client_call("inspect", req, NULL, 0, &resp) < 0 ||
		    !json_object_object_get_ex(resp, "container", &c)) {
			failed = 1;
		} else {
			json_object_array_add(all, json_object_get(c));
		}
		json_object_put(resp);
	}
	printf("%s\n", json_object_to_json_string_ext(all, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(all);
	return failed;
}

static int cmd_logs(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"follow", no_argument, NULL, 'f'},
		{"timestamps", no_argument, NULL, 't'},
		{"tail", required_argument, NULL, 'n'},
		{"since", required_argument, NULL, 's'},
		{NULL, 0, NULL, 0},
	};
	json_object *req = client_req("logs");
	int opt;
	while ((opt = getopt_long(argc, argv, "+ftn:", longopts, NULL)) != -1) {
		if (opt == 'f') {
			json_object_object_add(req, "follow", json_object_new_boolean(1));
		} else if (opt == 't') {
			json_object_object_add(req, "timestamps", json_object_new_boolean(1));
		} else if (opt == 'n') {
			uint64_t lines = UINT64_MAX; /* "all" */
			if (strcmp(optarg, "all") != 0 && decimal_parse(optarg, INT32_MAX, &lines) < 0) {
				fprintf(stderr, "berth logs: --tail %s: expected a number of lines or \"all\"\n",
					optarg);
				json_object_put(req);
				return 1;
			}
			int64_t n = lines == UINT64_MAX ? -1 : (int64_t)lines;
			json_object_object_add(req, "tail", json_object_new_int64(n));
		} else if (opt == 's') {
			json_object_object_add(req, "since", json_object_new_string(optarg));
		} else {
			json_object_put(req);
			return 1;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "berth logs: give one container name\n");
		json_object_put(req);
		return 1;
	}
	json_object_object_add(req, "name", json_object_new_string(argv[optind]));
	int fds[2] = {STDOUT_FILENO, STDERR_FILENO};
	json_object *resp = NULL;
	/* Ctrl-C ends `logs -f` here; berthd notices the closed connection. */
	int ret = client_call_io("logs", req, fds, "oe", 2, &resp);
	json_object_put(resp);
	return ret < 0 ? 1 : 0;
}

/* ---- exec: berthd says where the container is; berth-oci does the rest -- */

struct exec_opts {
	int interactive;
	int tty;
	int detach;
	const char *user;
	const char *workdir;
	const char *envs[64];
	size_t nenv;
};

static int exec_parse(int argc, char **argv, struct exec_opts *o)
{
	static const struct option longopts[] = {
		{"interactive", no_argument, NULL, 'i'},
		{"tty", no_argument, NULL, 't'},
		{"detach", no_argument, NULL, 'd'},
		{"user", required_argument, NULL, 'u'},
		{"workdir", required_argument, NULL, 'w'},
		{"env", required_argument, NULL, 'e'},
		{NULL, 0, NULL, 0},
	};
	int opt;
	while ((opt = getopt_long(argc, argv, "+itdu:w:e:", longopts, NULL)) != -1) {
		switch (opt) {
		case 'i':
			o->interactive = 1;
			break;
		case 't':
			o->tty = 1;
			break;
		case 'd':
			o->detach = 1;
			break;
		case 'u':
			o->user = optarg;
			break;
		case 'w':
			o->workdir = optarg;
			break;
		case 'e':
			if (o->nenv == sizeof(o->envs) / sizeof(o->envs[0])) {
				fprintf(stderr, "berth exec: too many -e options\n");
				return -1;
			}
			o->envs[o->nenv++] = optarg;
			break;
		default:
			return -1;
		}
	}
	if (argc - optind < 2) {
		fprintf(stderr, "berth exec: give a container name and a command\n");
		return -1;
	}
	if (o->tty && !isatty(STDIN_FILENO)) {
		fprintf(stderr, "berth exec: -t: the input device is not a terminal\n");
		return -1;
	}
	return 0;
}

/* berth-oci --root ROOT exec [OPTIONS] ID CMD... (a NULL-terminated, malloc'd array). */
static const char **exec_argv(const struct exec_opts *o, const char *root, const char *id, char **cmd, int ncmd)
{
	const char **av = calloc(16 + 2 * o->nenv + (size_t)ncmd, sizeof(*av));
	if (av == NULL) {
		return NULL;
	}
	size_t n = 0;
	av[n++] = "berth-oci";
	av[n++] = "--root";
	av[n++] = root;
	av[n++] = "exec";
	if (o->tty) {
		av[n++] = "--tty";
	}
	if (o->detach) {
		av[n++] = "--detach";
	}
	if (o->user != NULL) {
		av[n++] = "--user";
		av[n++] = o->user;
	}
	if (o->workdir != NULL) {
		av[n++] = "--cwd";
		av[n++] = o->workdir;
	}
	for (size_t i = 0; i < o->nenv; i++) {
		av[n++] = "--env";
		av[n++] = o->envs[i];
	}
	av[n++] = id;
	for (int i = 0; i < ncmd; i++) {
		av[n++] = cmd[i];
	}
	av[n] = NULL;
	return av;
}

static int cmd_exec(int argc, char **argv)
{
	struct exec_opts o = {0};
	if (exec_parse(argc, argv, &o) < 0) {
		return 1;
	}
	json_object *req = client_req("exec");
	json_object_object_add(req, "name", json_object_new_string(argv[optind]));
	json_object *resp = NULL;
	if (client_call("exec", req, NULL, 0, &resp) < 0) {
		json_object_put(resp);
		return 1;
	}
	const char *root = json_str(resp, "oci_root");
	const char *id = json_str(resp, "id");
	if (root == NULL || id == NULL) {
		fprintf(stderr, "berth exec: berthd's answer lacks the container's location\n");
		return 1;
	}
	const char **av = exec_argv(&o, root, id, argv + optind + 1, argc - optind - 1);
	if (av == NULL) {
		return 1;
	}
	if (!o.interactive && !o.tty) {
		/* Without -i the command gets no input, as with docker. */
		int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (null >= 0) {
			dup2(null, STDIN_FILENO);
			close(null);
		}
	}
	execv("/proc/self/exe", (char *const *)av);
	fprintf(stderr, "berth exec: execute the runtime: %s\n", strerror(errno));
	return 126;
}

static int cmd_attach(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "berth attach: give one container name\n");
		return 1;
	}
	json_object *req = client_req("attach");
	json_object_object_add(req, "name", json_object_new_string(argv[1]));
	json_object *resp = NULL;
	if (client_call("attach", req, NULL, 0, &resp) < 0) {
		json_object_put(resp);
		return 1;
	}
	json_object *v = NULL;
	struct attach_opts o = {
		.socket = json_str(resp, "attach"),
		.tty = json_object_object_get_ex(resp, "tty", &v) && json_object_get_boolean(v),
		.stdin_open = json_object_object_get_ex(resp, "stdin", &v) && json_object_get_boolean(v),
	};
	int code = attach_run(&o);
	json_object_put(resp);
	return code < 0 ? 1 : code;
}

/* ---- run ---------------------------------------------------------------------------- */

static int run_usage(void)
{
	fprintf(stderr, "usage: berth run [OPTIONS] IMAGE [CMD [ARG...]]\n"
			"  -d, --detach            run in the background and print its name\n"
			"  -i, --interactive       keep stdin open\n"
			"  -t, --tty               give it a terminal\n"
			"      --rm                remove it when it ends\n"
			"      --name NAME         its name (default: made up)\n"
			"  -e, --env VAR=VALUE     set a variable (VAR alone: take it from here)\n"
			"  -v, --volume SRC:DST[:ro]  a named volume or a bind mount\n"
			"  -w, --workdir DIR       working directory\n"
			"  -u, --user UID[:GID]    user (or a name in the image)\n"
			"      --entrypoint CMD    replace the image's entrypoint\n"
			"      --restart POLICY    no, always, on-failure[:N], unless-stopped\n"
			"      --hostname NAME     --network host|none   --read-only   --init\n");
	return 125;
}

enum {
	OPT_RM = 256,
	OPT_NAME,
	OPT_ENTRYPOINT,
	OPT_RESTART,
	OPT_HOSTNAME,
	OPT_NETWORK,
	OPT_READ_ONLY,
	OPT_INIT,
};

/* The options that only set a key of the request. */
static const struct run_key {
	int opt;
	const char *key;
	int is_bool;
} run_keys[] = {
	{OPT_RM, "rm", 1},
	{OPT_NAME, "name", 0},
	{'w', "workdir", 0},
	{'u', "user", 0},
	{OPT_ENTRYPOINT, "entrypoint", 0},
	{OPT_RESTART, "restart", 0},
	{OPT_HOSTNAME, "hostname", 0},
	{OPT_NETWORK, "network", 0},
	{OPT_READ_ONLY, "read_only", 1},
	{OPT_INIT, "init", 1},
};

static int run_set_key(json_object *req, int opt, const char *arg)
{
	for (size_t i = 0; i < sizeof(run_keys) / sizeof(run_keys[0]); i++) {
		if (run_keys[i].opt == opt) {
			json_object_object_add(req, run_keys[i].key,
					       run_keys[i].is_bool ? json_object_new_boolean(1)
								   : json_object_new_string(arg));
			return 1;
		}
	}
	return 0;
}

/* -e VAR=VALUE, or -e VAR: docker passes this shell's value, if any. */
static int run_add_env(json_object *env, const char *arg)
{
	if (strchr(arg, '=') != NULL) {
		json_object_array_add(env, json_object_new_string(arg));
		return 0;
	}
	const char *val = getenv(arg);
	char *kv = NULL;
	if (val == NULL) {
		return 0;
	}
	if (asprintf(&kv, "%s=%s", arg, val) < 0) {
		return -1;
	}
	json_object_array_add(env, json_object_new_string(kv));
	free(kv);
	return 0;
}

struct run_opts {
	int detach;
	int interactive;
	int tty;
};

/* The command line into the request; returns -1 to go on, or the exit
 * status to end with. */
static int run_parse(int argc, char **argv, json_object *req, struct run_opts *o)
{
	static const struct option longopts[] = {
		{"detach", no_argument, NULL, 'd'},
		{"interactive", no_argument, NULL, 'i'},
		{"tty", no_argument, NULL, 't'},
		{"rm", no_argument, NULL, OPT_RM},
		{"name", required_argument, NULL, OPT_NAME},
		{"env", required_argument, NULL, 'e'},
		{"volume", required_argument, NULL, 'v'},
		{"workdir", required_argument, NULL, 'w'},
		{"user", required_argument, NULL, 'u'},
		{"entrypoint", required_argument, NULL, OPT_ENTRYPOINT},
		{"restart", required_argument, NULL, OPT_RESTART},
		{"hostname", required_argument, NULL, OPT_HOSTNAME},
		{"network", required_argument, NULL, OPT_NETWORK},
		{"net", required_argument, NULL, OPT_NETWORK},
		{"read-only", no_argument, NULL, OPT_READ_ONLY},
		{"init", no_argument, NULL, OPT_INIT},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	json_object *env = json_object_new_array();
	json_object *volumes = json_object_new_array();
	json_object_object_add(req, "env", env);
	json_object_object_add(req, "volumes", volumes);
	int opt;
	while ((opt = getopt_long(argc, argv, "+dite:v:w:u:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'd':
			o->detach = 1;
			break;
		case 'i':
			o->interactive = 1;
			break;
		case 't':
			o->tty = 1;
			break;
		case 'e':
			if (run_add_env(env, optarg) < 0) {
				return 125;
			}
			break;
		case 'v':
			json_object_array_add(volumes, json_object_new_string(optarg));
			break;
		case 'h':
			run_usage();
			return 0;
		default:
			if (!run_set_key(req, opt, optarg)) {
				return run_usage();
			}
			break;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "berth run: give an image\n");
		return run_usage();
	}
	if (o->tty && !isatty(STDIN_FILENO)) {
		fprintf(stderr, "berth run: -t: the input device is not a terminal\n");
		return 125;
	}
	json_object_object_add(req, "image", json_object_new_string(argv[optind]));
	if (optind + 1 < argc) {
		json_object *args = json_object_new_array();
		for (int i = optind + 1; i < argc; i++) {
			json_object_array_add(args, json_object_new_string(argv[i]));
		}
		json_object_object_add(req, "args", args);
	}
	json_object_object_add(req, "detach", json_object_new_boolean(o->detach));
	json_object_object_add(req, "tty", json_object_new_boolean(o->tty));
	json_object_object_add(req, "stdin", json_object_new_boolean(o->interactive));
	return -1;
}

static int cmd_run(int argc, char **argv)
{
	struct run_opts o = {0};
	json_object *req = client_req("run");
	int code = run_parse(argc, argv, req, &o);
	if (code >= 0) {
		json_object_put(req);
		return code;
	}
	json_object *resp = NULL;
	if (client_call("run", req, NULL, 0, &resp) < 0) {
		json_object_put(resp);
		return 125;
	}
	const char *name = json_str(resp, "name");
	if (o.detach) {
		printf("%s\n", name != NULL ? name : "");
		json_object_put(resp);
		return 0;
	}
	struct attach_opts a = {
		.socket = json_str(resp, "attach"),
		.tty = o.tty,
		.stdin_open = o.interactive,
		.kill_name = o.tty ? NULL : name,
	};
	code = attach_run(&a);
	json_object_put(resp);
	return code < 0 ? 125 : code;
}

/* ---- images ----------------------------------------------------------------------------- */

#define DIGEST_HEADING "DIGEST                                                                    "

static int cmd_images(int argc, char **argv)
{
	int json = take_format(&argc, argv, "images");
	if (json < 0) {
		return 1;
	}
	int digests = argc == 2 && strcmp(argv[1], "--digests") == 0;
	if (argc > 1 && !digests) {
		fprintf(stderr, "berth images: takes no arguments but --digests and --format json\n");
		return 1;
	}
	json_object *resp = client_fetch("images", client_req("images"));
	if (resp == NULL) {
		return 1;
	}
	json_object *list = json_member(resp, "images");
	size_t n = list != NULL ? json_object_array_length(list) : 0;
	if (json) {
		print_json_lines(list);
		json_object_put(resp);
		return 0;
	}
	printf("%-40s %s%-14s %-16s %s\n", "REPOSITORY:TAG", digests ? DIGEST_HEADING : "", "IMAGE ID", "CREATED",
	       "SIZE");
	for (size_t i = 0; i < n; i++) {
		json_object *img = json_object_array_get_idx(list, i);
		const char *id = json_str(img, "id");
		char shortid[16] = "";
		if (id != NULL) {
			const char *hex = strchr(id, ':') != NULL ? strchr(id, ':') + 1 : id;
			snprintf(shortid, sizeof(shortid), "%.12s", hex);
		}
		char size[32];
		human_size(json_int(img, "size"), size, sizeof(size));
		const char *created = json_str(img, "created");
		json_object *tags = NULL;
		size_t ntags = json_object_object_get_ex(img, "tags", &tags) ? json_object_array_length(tags) : 0;
		json_object *dl = NULL;
		json_object_object_get_ex(img, "digests", &dl);
		for (size_t t = 0; t < (ntags > 0 ? ntags : 1); t++) {
			const char *tag =
				ntags > 0 ? json_object_get_string(json_object_array_get_idx(tags, t)) : "<none>";
			const char *dlist[16];
			size_t nd = 0;
			for (; dl != NULL && nd < 16 && nd < json_object_array_length(dl); nd++) {
				dlist[nd] = json_object_get_string(json_object_array_get_idx(dl, nd));
			}
			char digest[80];
			local_repo_digest(tag, dlist, nd, digest, sizeof(digest));
			printf("%-40s ", tag);
			if (digests) {
				printf("%-73s ", digest);
			}
			printf("%-14s %-16.16s %s\n", shortid, created ? created : "-", size);
		}
	}
	json_object_put(resp);
	return 0;
}

static int cmd_load(int argc, char **argv)
{
	const char *input = NULL;
	if (local_one_option(argc, argv, 'i', "input", &input) < 0) {
		return 1;
	}
	if (optind < argc) {
		input = argv[optind];
	}
	int fd = STDIN_FILENO;
	if (input != NULL && strcmp(input, "-") != 0) {
		fd = open(input, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			fprintf(stderr, "berth load: open %s: %s\n", input, strerror(errno));
			return 1;
		}
	} else if (isatty(STDIN_FILENO)) {
		fprintf(stderr, "berth load: give -i FILE, or pipe an archive in\n");
		return 1;
	}
	json_object *resp = NULL;
	int ret = client_call_io("load", client_req("load"), &fd, "i", 1, &resp);
	if (ret == 0) {
		json_object *loaded = NULL;
		if (json_object_object_get_ex(resp, "loaded", &loaded)) {
			for (size_t i = 0; i < json_object_array_length(loaded); i++) {
				printf("Loaded image: %s\n",
				       json_object_get_string(json_object_array_get_idx(loaded, i)));
			}
		}
	}
	json_object_put(resp);
	return ret < 0 ? 1 : 0;
}

static int cmd_rmi(int argc, char **argv)
{
	int force = 0;
	if (local_one_flag(argc, argv, 'f', &force) < 0) {
		return 1;
	}
	if (optind >= argc) {
		fprintf(stderr, "berth rmi: give at least one image\n");
		return 1;
	}
	int failed = 0;
	for (int i = optind; i < argc; i++) {
		json_object *req = client_req("rmi");
		json_object_object_add(req, "image", json_object_new_string(argv[i]));
		json_object_object_add(req, "force", json_object_new_boolean(force));
		json_object *resp = NULL;
		if (client_call("rmi", req, NULL, 0, &resp) < 0) {
			failed = 1;
		} else {
			json_object *removed = NULL;
			if (json_object_object_get_ex(resp, "removed", &removed)) {
				for (size_t k = 0; k < json_object_array_length(removed); k++) {
					printf("Deleted: %s\n",
					       json_object_get_string(json_object_array_get_idx(removed, k)));
				}
			}
		}
		json_object_put(resp);
	}
	return failed;
}

static int cmd_network(int argc, char **argv)
{
	int json = take_format(&argc, argv, "network ls");
	if (json < 0) {
		return 1;
	}
	if (argc != 2 || strcmp(argv[1], "ls") != 0) {
		fprintf(stderr, "usage: berth network ls [--format json]\n");
		return 1;
	}
	json_object *resp = client_fetch("network ls", client_req("networks"));
	if (resp == NULL) {
		return 1;
	}
	json_object *list = json_member(resp, "networks");
	if (json) {
		print_json_lines(list);
		json_object_put(resp);
		return 0;
	}
	printf("%-20s %-16s %-18s %-16s %s\n", "NAME", "BRIDGE", "SUBNET", "GATEWAY", "CONTAINERS");
	for (size_t i = 0; list != NULL && i < json_object_array_length(list); i++) {
		json_object *n = json_object_array_get_idx(list, i);
		json_object *internal = NULL;
		json_object_object_get_ex(n, "internal", &internal);
		printf("%-20s %-16s %-18s %-16s %lld%s\n", json_str(n, "name"), json_str(n, "bridge"),
		       json_str(n, "subnet"), json_str(n, "gateway"), (long long)json_int(n, "containers"),
		       json_object_get_boolean(internal) ? " (internal)" : "");
	}
	json_object *rules = NULL;
	if (json_object_object_get_ex(resp, "rules", &rules)) {
		printf("nf_tables: %lld rules in table ip berth\n", (long long)json_int(resp, "rules"));
	}
	json_object_put(resp);
	return 0;
}

/* ---- up, config, version ---------------------------------------------------------------- */

static void print_list(json_object *o, const char *key, const char *label)
{
	json_object *a = NULL;
	if (!json_object_object_get_ex(o, key, &a)) {
		return;
	}
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		printf("%s %s\n", label, json_object_get_string(json_object_array_get_idx(a, i)));
	}
}

int cli_up(json_object **report)
{
	json_object *resp = NULL;
	int ret = client_call("up", client_req("up"), NULL, 0, &resp);
	if (resp != NULL) {
		print_list(resp, "created", "created:");
		print_list(resp, "recreated", "recreated:");
		print_list(resp, "restarted", "restarted:");
		print_list(resp, "started", "started:");
		print_list(resp, "unchanged", "unchanged:");
		print_list(resp, "removed", "removed:");
		print_list(resp, "pulling", "pulling:");
		json_object *a = NULL;
		if (json_object_object_get_ex(resp, "warnings", &a)) {
			for (size_t i = 0; i < json_object_array_length(a); i++) {
				fprintf(stderr, "warning: %s\n",
					json_object_get_string(json_object_array_get_idx(a, i)));
			}
		}
		if (json_object_object_get_ex(resp, "errors", &a)) {
			for (size_t i = 0; i < json_object_array_length(a); i++) {
				fprintf(stderr, "error: %s\n", json_object_get_string(json_object_array_get_idx(a, i)));
			}
		}
	}
	if (report != NULL) {
		*report = resp;
	} else {
		json_object_put(resp);
	}
	return ret < 0 ? -1 : 0;
}

static int cmd_up(int argc, char **argv)
{
	(void)argv;
	if (argc > 1) {
		fprintf(stderr, "berth up: takes no arguments (it applies /config/compose.yaml)\n");
		return 1;
	}
	return cli_up(NULL) < 0 ? 1 : 0;
}

static int cmd_config(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "check") == 0 && argc <= 3) {
		return config_check(argc == 3 ? argv[2] : "/config");
	}
	return configapply_main(argc, argv);
}

static int cmd_version(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("berth %s\n", BERTH_VERSION);
	json_object *resp = NULL;
	if ((remote_target() != NULL || access(BERTH_SOCKET, F_OK) == 0) &&
	    client_call("version", client_req("version"), NULL, 0, &resp) == 0) {
		printf("berthd %s\n", json_str(resp, "version"));
	}
	json_object_put(resp);
	return 0;
}

static int cmd_system(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "dial-stdio") == 0) {
		return dialstdio_main(argc - 1, argv + 1);
	}
	if (argc >= 2 && strcmp(argv[1], "df") == 0) {
		return df_main(argc - 1, argv + 1);
	}
	fprintf(stderr, "usage: berth system df [-v] [--format json]\n"
			"       berth system dial-stdio [SOCKET]\n");
	return 1;
}

static int usage(FILE *out);

static int cmd_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return usage(stdout);
}

/* ---- registries and the local store (local.c) --------------------------------------------- */

/* --root DIR: a store directory on this machine (the build machine), not
 * berthd's; --config DIR: the CONFIG whose host.yaml, auth.json and CAs
 * pulls use. On a host, pull, login, logout and save work on berthd's
 * store beside it (the store is safe to share) with /config. */
static struct local_opts local = {
	.root = STORE_HOST_ROOT,
	.config_dir = "/config",
	.login_file = REGISTRY_HOST_LOGIN,
};
static int local_root_given;

static int cmd_pull(int argc, char **argv)
{
	return local_pull(&local, argc, argv);
}

static int cmd_login(int argc, char **argv)
{
	return local_login(&local, argc, argv);
}

static int cmd_logout(int argc, char **argv)
{
	return local_logout(&local, argc, argv);
}

static int cmd_save(int argc, char **argv)
{
	return local_save(&local, argc, argv);
}

/* The commands --root serves, and what they do then. */
static const struct {
	const char *name;
	int (*run)(const struct local_opts *o, int argc, char **argv);
} local_commands[] = {
	{"pull", local_pull}, {"images", local_images}, {"load", local_load},	  {"save", local_save},
	{"rmi", local_rmi},   {"login", local_login},	{"logout", local_logout},
};

/* -H/--host and -c/--context, before the command. */
static const char *opt_host;
static const char *opt_context;

/* One global option at argv[i]: the number of words it took, 0 if it is
 * not one. */
static int global_option(int argc, char **argv, int i)
{
	const char *opt = argv[i];
	const char *val = i + 1 < argc ? argv[i + 1] : NULL;
	if (strncmp(opt, "--host=", 7) == 0 || strncmp(opt, "--context=", 10) == 0) {
		*(opt[2] == 'h' ? &opt_host : &opt_context) = strchr(opt, '=') + 1;
		return 1;
	}
	if (val == NULL) {
		return 0;
	}
	if (strcmp(opt, "-H") == 0 || strcmp(opt, "--host") == 0) {
		opt_host = val;
	} else if (strcmp(opt, "-c") == 0 || strcmp(opt, "--context") == 0) {
		opt_context = val;
	} else if (strcmp(opt, "--root") == 0) {
		local.root = val;
		local.keep_blobs = 1;
		local_root_given = 1;
		local.config_dir = NULL;
	} else if (strcmp(opt, "--config") == 0) {
		local.config_dir = val;
	} else {
		return 0;
	}
	return 2;
}

/* Global options before the command; returns the index of the command. */
static int global_options(int argc, char **argv)
{
	int i = 1;
	int n;
	while (i < argc && argv[i][0] == '-' && (n = global_option(argc, argv, i)) > 0) {
		i += n;
	}
	if (local_root_given) {
		/* berth login keeps credentials with the store it is for. */
		static char login[PATH_MAX];
		snprintf(login, sizeof(login), "%s/auth.json", local.root);
		local.login_file = login;
	}
	return i;
}

/* Where the commands go (remote.h): -H, -c, BERTH_HOST, BERTH_CONTEXT,
 * then the context in use, as docker chooses. -1 after saying why not. */
static int choose_target(void)
{
	static struct remote r;
	struct berr err = {0};
	char current[CONTEXT_NAME_MAX];
	const char *host = opt_host;
	const char *context = opt_context;
	if (host != NULL && context != NULL) {
		fprintf(stderr, "berth: give -H or -c, not both\n");
		return -1;
	}
	if (host == NULL && context == NULL) {
		host = getenv("BERTH_HOST");
		host = host != NULL && host[0] != '\0' ? host : NULL;
		context = getenv("BERTH_CONTEXT");
		context = context != NULL && context[0] != '\0' ? context : NULL;
	}
	if (host == NULL && context == NULL) {
		if (context_current(current, sizeof(current), &err) < 0) {
			fprintf(stderr, "berth: %s\n", err.msg);
			return -1;
		}
		context = current;
	}
	int ret = host != NULL ? remote_parse(host, &r, &err) : context_host(context, &r, &err);
	if (ret < 0) {
		fprintf(stderr, "berth: %s\n", err.msg);
		return -1;
	}
	remote_set_target(ret > 0 || host != NULL ? &r : NULL);
	return 0;
}

/* exec's -i and -t, read the way exec_parse reads them. */
static void exec_flags(int argc, char **argv, int *interactive, int *tty)
{
	*interactive = 0;
	*tty = 0;
	for (int i = 1; i < argc && argv[i][0] == '-' && strcmp(argv[i], "--") != 0; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--interactive") == 0) {
			*interactive = 1;
		} else if (strcmp(a, "--tty") == 0) {
			*tty = 1;
		} else if (a[1] != '-') {
			size_t n = strcspn(a + 1, "uwe");
			*interactive |= memchr(a + 1, 'i', n) != NULL;
			*tty |= memchr(a + 1, 't', n) != NULL;
			i += a[1 + n] != '\0' && a[2 + n] == '\0'; /* -u USER: the value is the next word */
		} else if (strchr(a, '=') == NULL) {
			i++; /* --user USER */
		}
	}
}

/* Commands that run on the host itself rather than through berthd's API:
 * to a remote host they go as `berth ...` over ssh. */
static int run_on_host(const struct remote *r, int argc, char **argv)
{
	int interactive = 0;
	int tty = 0;
	if (strcmp(argv[0], "exec") == 0) {
		exec_flags(argc, argv, &interactive, &tty);
		return remote_exec(r, argc, argv, tty && isatty(STDIN_FILENO), !interactive && !tty);
	}
	if (strcmp(argv[0], "login") == 0) {
		return remote_exec(r, argc, argv, isatty(STDIN_FILENO) && isatty(STDOUT_FILENO), 0);
	}
	int reads_stdin = strcmp(argv[0], "os") == 0;
	return remote_exec(r, argc, argv, 0, !reads_stdin);
}

static int is_host_command(int argc, char **argv)
{
	static const char *const names[] = {"exec", "os", "info", "pull", "login", "logout", "save"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(argv[0], names[i]) == 0) {
			return 1;
		}
	}
	/* config check DIR checks a directory here; the host's /config there. */
	return strcmp(argv[0], "config") == 0 && argc < 3 && (argc < 2 || strcmp(argv[1], "check") == 0);
}

static int run_local(int argc, char **argv)
{
	for (size_t i = 0; i < sizeof(local_commands) / sizeof(local_commands[0]); i++) {
		if (strcmp(argv[0], local_commands[i].name) == 0) {
			optind = 1;
			return local_commands[i].run(&local, argc, argv);
		}
	}
	fprintf(stderr,
		"berth: with --root, %s needs berthd; --root serves pull, images, load, save, rmi, login, "
		"logout\n",
		argv[0]);
	return 1;
}

/* ---- the commands ------------------------------------------------------------------------ */

struct command {
	const char *name;
	int (*run)(int argc, char **argv); /* argv[0] is the command's name */
	const char *args;		   /* what follows the name in the usage text */
	const char *help;		   /* one line; NULL: another name of the one before */
	const char *section;		   /* not NULL: the usage text's heading above it */
};

static const struct command commands[] = {
	{"ps", cmd_ps, "[-a] [-q] [--format json]", "list containers (-a: also stopped ones)", "Containers"},
	{"logs", cmd_logs, "[-f] [-t] [--tail N] [--since T] NAME", "a container's output (-f: follow it)", NULL},
	{"exec", cmd_exec, "[-i] [-t] [-d] [-u USER] [-w DIR] [-e VAR=V] NAME CMD [ARG...]",
	 "run a command in a running container", NULL},
	{"attach", cmd_attach, "NAME", "the container's output (and input)", NULL},
	{"run", cmd_run, "[OPTIONS] IMAGE [CMD...]", "an ad hoc container (see berth run --help)", NULL},
	{"start", cmd_lifecycle, "NAME...", "start containers", NULL},
	{"stop", cmd_lifecycle, "[-t SECS] NAME...", "stop containers (SIGKILL after -t SECS)", NULL},
	{"restart", cmd_lifecycle, "[-t SECS] NAME...", "stop containers, then start them", NULL},
	{"kill", cmd_lifecycle, "[-s SIGNAL] NAME...", "send containers a signal (default KILL)", NULL},
	{"rm", cmd_lifecycle, "[-f] NAME...", "remove containers (-f: running ones too)", NULL},
	{"inspect", cmd_inspect, "NAME...", "containers' details, as JSON", NULL},
	{"stats", stats_main, "[--no-stream] [--format json] [NAME...]", "CPU, memory, network, block I/O, pids", NULL},
	{"top", top_main, "NAME", "a container's processes", NULL},
	{"events", events_main, "[--since T] [--until T] [--filter K=V]... [--format json]",
	 "what happens to containers, as it happens", NULL},
	{"cp", cp_main, "NAME:SRC DEST|-  or  SRC|- NAME:DEST", "copy files out of or into a container", NULL},
	{"images", cmd_images, "[--digests] [--format json]", "list images", "Images"},
	{"load", cmd_load, "[-i FILE]", "import an image archive (docker save, OCI layout)", NULL},
	{"rmi", cmd_rmi, "[-f] IMAGE...", "remove images", NULL},
	{"pull", cmd_pull, "[-q] IMAGE...", "pull images from their registries", NULL},
	{"save", cmd_save, "-o FILE IMAGE...", "write images to an archive (OCI layout)", NULL},
	{"login", cmd_login, "[-u USER] [--password-stdin] REGISTRY", "keep credentials for a registry", NULL},
	{"logout", cmd_logout, "REGISTRY", "forget them", NULL},
	{"network", cmd_network, "ls [--format json]", "bridges, subnets, and the nf_tables rule count", "Networks"},
	{"up", cmd_up, "", "apply /config/compose.yaml now", "Configuration"},
	{"config", cmd_config, "check|apply|diff|history|rollback|confirm",
	 "check a config directory; replace /config "
	 "as a whole, with rollback",
	 NULL},
	{"info", cmd_info, "", "host name, boot slot, cloud metadata", NULL},
	{"os", osupdate_main, "update|status|rollback|verify ...", "the host's OS: updates, slots, rollback", "Host"},
	{"version", cmd_version, "", "the versions of berth and berthd", NULL},
	{"context", context_main, "create|ls|use|rm|show ...", "named hosts to run commands on (ssh://)", "Remote"},
	{"machine", machine_main, "create|ls|start|stop|rm|ssh ...", "Berth VMs on this machine, each a context", NULL},
	{"system", cmd_system, "dial-stdio [SOCKET]", "(on a host) join stdio to berthd, for a remote berth", NULL},
	{"--version", cmd_version, NULL, NULL, NULL},
	{"help", cmd_help, "", "this text", NULL},
	{"--help", cmd_help, NULL, NULL, NULL},
	{"-h", cmd_help, NULL, NULL, NULL},
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))
#define USAGE_HELP_COLUMN 36

static int usage(FILE *out)
{
	fprintf(out, "usage: berth [-H ssh://[USER@]HOST[:PORT] | -c CONTEXT] COMMAND [OPTIONS]\n"
		     "       berth --root DIR [--config DIR] COMMAND [OPTIONS]\n");
	for (size_t i = 0; i < NCOMMANDS; i++) {
		const struct command *c = &commands[i];
		if (c->section != NULL) {
			fprintf(out, "\n%s:\n", c->section);
		}
		if (c->help == NULL) {
			continue;
		}
		int n = fprintf(out, "  %s%s%s", c->name, c->args[0] != '\0' ? " " : "", c->args);
		if (n >= USAGE_HELP_COLUMN - 1) {
			fprintf(out, "\n");
			n = 0;
		}
		fprintf(out, "%*s%s\n", USAGE_HELP_COLUMN - n, "", c->help);
	}
	return out == stderr ? 1 : 0;
}

/* Commands that never go to a remote host: they are about this machine. */
static int is_desk_command(const char *name)
{
	return strcmp(name, "context") == 0 || strcmp(name, "machine") == 0 || strcmp(name, "help") == 0 ||
	       strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0;
}

int berth_main(int argc, char **argv)
{
	int first = global_options(argc, argv);
	if (argc <= first) {
		return usage(stderr);
	}
	if (local_root_given) {
		return run_local(argc - first, argv + first);
	}
	if (!is_desk_command(argv[first])) {
		if (choose_target() < 0) {
			return 1;
		}
		if (remote_target() != NULL && strcmp(argv[first], "config") == 0 && argc - first >= 2 &&
		    strcmp(argv[first + 1], "check") != 0) {
			return configapply_remote(remote_target(), argc - first, argv + first);
		}
		if (remote_target() != NULL && strcmp(argv[first], "cp") == 0) {
			return cp_remote(remote_target(), argc - first, argv + first);
		}
		if (remote_target() != NULL && is_host_command(argc - first, argv + first)) {
			return run_on_host(remote_target(), argc - first, argv + first);
		}
	}
	for (size_t i = 0; i < NCOMMANDS; i++) {
		if (strcmp(argv[first], commands[i].name) == 0) {
			optind = 1;
			return commands[i].run(argc - first, argv + first);
		}
	}
	fprintf(stderr, "berth: unknown command '%s'\n", argv[first]);
	return usage(stderr);
}
