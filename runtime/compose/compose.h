/* compose.yaml: the model of a project (services, named volumes,
 * networks) and its parser and validator, on the YAML tree of yamltree.h.
 *
 * Values are interpolated from the caller's variables as they are read;
 * YAML anchors, aliases and merge keys (`<<: *base`, `<<: [*a, *b]`) are
 * resolved here. Every key of the Compose specification that Berth does
 * not implement is an error that names it, never silently ignored.
 *
 * Errors are collected, each "file:line: services.NAME.FIELD: message".
 * A service whose definition is wrong is marked invalid and the others
 * stay usable: one typo must not keep every container down. Only a YAML
 * syntax error or a broken top level fails the whole file.
 *
 * Everything a project owns lives in its arena and is freed at once. */
#ifndef BERTH_COMPOSE_H
#define BERTH_COMPOSE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "compose/interp.h"
#include "lib/arena.h"
#include "lib/berr.h"

#define COMPOSE_MAX_PROBLEMS 256 /* kept; more are counted */
#define COMPOSE_MAX_ENTRIES 4096 /* services, volumes or networks in one file */

/* Container, volume and network names are at most COMPOSE_NAME_MAX - 1
 * bytes: berthd names directories and state files after them. An
 * anonymous volume is named after its container, plus "-anon-" and 12 hex
 * digits of its path. */
#define COMPOSE_NAME_MAX 128
#define COMPOSE_ANON_SUFFIX_LEN 18

/* Where a host keeps what containers may bind: the config partition
 * (read-only), and the DATA partition but for berthd's own state. */
#define COMPOSE_CONFIG_DIR "/config"
#define COMPOSE_DATA_DIR "/data"
#define COMPOSE_STATE_DIR "/data/berth"
#define COMPOSE_BIND_RULE                                                                                           \
	"only paths under /config (read-only), /data (but not /data/berth) and host.yaml's containers.bind_mounts " \
	"may be bound into containers"

enum compose_restart {
	COMPOSE_RESTART_NO,
	COMPOSE_RESTART_ALWAYS,
	COMPOSE_RESTART_ON_FAILURE,
	COMPOSE_RESTART_UNLESS_STOPPED,
};

enum compose_condition {
	COMPOSE_DEP_STARTED,
	COMPOSE_DEP_HEALTHY,
	COMPOSE_DEP_COMPLETED, /* service_completed_successfully */
};

struct compose_dep {
	char *service;
	enum compose_condition condition;
	int restart;	      /* restart this service when the dependency restarts */
	int required;	      /* 0: start anyway when the dependency cannot */
	const char *implicit; /* NULL: depends_on; else what makes it one ("its network_mode uses") */
	int line;
};

enum compose_mount_type {
	COMPOSE_MOUNT_VOLUME, /* named (source set) or anonymous (source NULL) */
	COMPOSE_MOUNT_BIND,
	COMPOSE_MOUNT_TMPFS,
};

struct compose_mount {
	enum compose_mount_type type;
	/* VOLUME: the volume's key under the top-level volumes; BIND: an
	 * absolute, lexically clean host path (relative ones are resolved
	 * against the compose file's directory); TMPFS: NULL. */
	char *source;
	char *target; /* absolute and clean */
	int read_only;
	char *propagation;    /* BIND: "rprivate" ... NULL: the default */
	int create_host_path; /* BIND: create a missing source (short syntax does) */
	int non_recursive;    /* BIND: bind.recursive: disabled (a plain bind, not rbind) */
	int nocopy;	      /* VOLUME: do not copy the image's files in */
	char *subpath;	      /* VOLUME: volume.subpath, relative and clean; NULL: the volume's root */
	/* VOLUME with source NULL: the container whose anonymous volume it is
	 * (volumes_from another service's); NULL: this container's own. */
	const char *anon_owner;
	/* TMPFS: size and mode, and the mount options of the `tmpfs:` key */
	int has_tmpfs_size;
	uint64_t tmpfs_size;
	int has_tmpfs_mode;
	uint32_t tmpfs_mode;
	char **tmpfs_options;
	size_t ntmpfs_options;
	int line;
};

struct compose_port {
	char *host_ip;		  /* NULL: every address */
	uint16_t published_start; /* 0: any free port */
	uint16_t published_end;
	uint16_t target_start;
	uint16_t target_end;
	char protocol[8]; /* "tcp", "udp" or "sctp" */
	int mode_host;	  /* long syntax mode: host (1) or ingress (0) */
	char *name;
	char *app_protocol;
	int line;
};

struct compose_expose {
	uint16_t start;
	uint16_t end;
	char protocol[8];
};

struct compose_healthcheck {
	char **test; /* ["CMD", ...], ["CMD-SHELL", "..."], ["NONE"]; NULL: the image's */
	size_t ntest;
	/* 0: not given (the image's, then Docker's default) */
	int64_t interval_ns;
	int64_t timeout_ns;
	int64_t start_period_ns;
	int64_t start_interval_ns;
	int retries;
};

struct compose_kv {
	char *key;
	char *value;
};

/* An environment entry; value NULL unsets the name (a bare NAME whose
 * variable is not set: Docker then removes it, the image's value too). */
struct compose_env {
	char *name;
	char *value;
};

struct compose_ulimit {
	char *name;    /* "nofile", ... */
	int resource;  /* RLIMIT_* */
	uint64_t soft; /* UINT64_MAX: unlimited */
	uint64_t hard;
};

enum compose_netmode {
	COMPOSE_NET_DEFAULT, /* not given: the project's networks */
	COMPOSE_NET_BRIDGE,
	COMPOSE_NET_HOST,
	COMPOSE_NET_NONE,
	COMPOSE_NET_SERVICE,   /* service:NAME */
	COMPOSE_NET_CONTAINER, /* container:NAME */
};

struct compose_netattach {
	char *network;
	char **aliases;
	size_t naliases;
	char *ipv4_address;
	char *mac_address;    /* NULL: the kernel's */
	char *interface_name; /* NULL: ethN */
	int priority;	      /* higher first (eth0); the file's order otherwise */
	int gw_priority;      /* the highest gives the default route */
	int line;
};

/* ipc, pid: the namespace a container has or shares. */
enum compose_nsmode {
	COMPOSE_NS_PRIVATE,   /* its own (the default; ipc: private) */
	COMPOSE_NS_SHAREABLE, /* ipc: its own, which others may join */
	COMPOSE_NS_HOST,      /* the host's */
	COMPOSE_NS_NONE,      /* ipc: its own, without /dev/shm */
	COMPOSE_NS_SERVICE,   /* service:NAME's */
	COMPOSE_NS_CONTAINER, /* container:NAME's */
};

struct compose_nsshare {
	enum compose_nsmode mode;
	char *target; /* SERVICE and CONTAINER */
	int line;
};

enum compose_userns {
	COMPOSE_USERNS_DEFAULT, /* none: the host's user ids */
	COMPOSE_USERNS_HOST,	/* the same, said explicitly */
	COMPOSE_USERNS_REMAP,	/* a user namespace: ids 0-65535 are COMPOSE_USERNS_BASE + id on the host */
};

/* The host ids a remapped container's ids 0 to COMPOSE_USERNS_SIZE - 1
 * map to (what Docker's --userns-remap gives its default user). */
#define COMPOSE_USERNS_BASE 100000u
#define COMPOSE_USERNS_SIZE 65536u

/* A host device given to the container (devices:). */
struct compose_device {
	char *source;  /* a host path under /dev: a device node or a directory of them */
	char *target;  /* in the container; NULL: source */
	char perms[4]; /* some of "rwm" */
	int line;
};

/* A cgroup device rule (device_cgroup_rules:), allowed. */
struct compose_devrule {
	char type;     /* 'a', 'c' or 'b' */
	int64_t major; /* -1: any */
	int64_t minor;
	char access[4];
};

/* A blkio_config entry: a device and a weight or a rate. */
struct compose_blkio_dev {
	char *path;
	uint64_t value;
};

struct compose_blkio {
	int weight; /* 0: not given */
	struct compose_blkio_dev *weight_device;
	size_t nweight_device;
	struct compose_blkio_dev *read_bps;
	size_t nread_bps;
	struct compose_blkio_dev *write_bps;
	size_t nwrite_bps;
	struct compose_blkio_dev *read_iops;
	size_t nread_iops;
	struct compose_blkio_dev *write_iops;
	size_t nwrite_iops;
};

/* links and external_links: a name the container resolves to another
 * container. */
struct compose_link {
	char *target; /* a service (links) or a container name (external_links) */
	char *alias;  /* the name it is known by; the target's own name when not given */
	int external; /* external_links */
	int line;
};

/* volumes_from: the mounts of another service's container (copied into
 * the service's own mounts when the file is read) or of a container of
 * `berth run` (container:NAME, copied by berthd). */
struct compose_volfrom {
	char *target;
	int container;	/* container:NAME */
	int read_only;	/* :ro */
	int mode_given; /* :ro or :rw: every mount takes it; else each keeps its own */
	int line;
};

/* A post_start or pre_stop hook: run in the container through exec. */
struct compose_hook {
	char **command;
	size_t ncommand;
	char *user; /* NULL: the service's */
	int privileged;
	char *working_dir; /* NULL: the service's */
	struct compose_env *env;
	size_t nenv;
	int line;
};

/* A secret or a config a service mounts. */
struct compose_file_ref {
	int config;   /* 0: a secret */
	char *source; /* the key under the top-level secrets or configs */
	char *target; /* absolute and clean: /run/secrets/SOURCE, /SOURCE, or what the file says */
	uint32_t uid;
	uint32_t gid;
	uint32_t mode;
	int line;
};

enum compose_pull_policy {
	COMPOSE_PULL_MISSING, /* the default: pulled when the store lacks it */
	COMPOSE_PULL_NEVER,   /* must be loaded (images/, berth load) */
	COMPOSE_PULL_ALWAYS,  /* pulled at each up and boot; the stored one runs meanwhile */
};

struct compose_service {
	char *name;
	int line;
	int valid;  /* the definition has no error */
	int active; /* enabled by the profiles */

	char *image;
	int has_entrypoint; /* given, even empty: replaces the image's and drops its Cmd */
	char **entrypoint;
	size_t nentrypoint;
	int has_command; /* given, even empty: replaces the image's Cmd */
	char **command;
	size_t ncommand;
	struct compose_env *env; /* env_file entries, then environment; later wins */
	size_t nenv;
	struct compose_mount *mounts; /* volumes, then tmpfs */
	size_t nmounts;
	enum compose_restart restart;
	int max_retries; /* on-failure:N; 0: no limit */
	struct compose_dep *deps;
	size_t ndeps;
	int has_healthcheck;
	int healthcheck_disabled;
	struct compose_healthcheck healthcheck;
	char *user;
	char *working_dir;
	int read_only;
	int privileged;
	int init;
	int stdin_open;
	int tty;
	uint64_t cap_add; /* bit n: capability n */
	uint64_t cap_drop;
	int cap_add_all;
	int cap_drop_all;
	char *hostname;
	char *domainname;
	char *container_name;
	int64_t mem_limit;     /* bytes; 0: none */
	int64_t memswap_limit; /* memory + swap; 0: not given; -1: unlimited swap */
	int64_t shm_size;      /* 0: the default (64 MiB) */
	double cpus;	       /* 0: no limit */
	int has_pids_limit;
	int64_t pids_limit; /* <= 0: unlimited */
	struct compose_kv *sysctls;
	size_t nsysctls;
	struct compose_ulimit *ulimits;
	size_t nulimits;
	struct compose_kv *labels;
	size_t nlabels;
	int stop_signal;       /* 0: the image's, else SIGTERM */
	int64_t stop_grace_ns; /* -1: not given (10 s) */
	enum compose_netmode network_mode;
	char *network_mode_target; /* SERVICE and CONTAINER */
	int network_mode_line;
	struct compose_netattach *networks;
	size_t nnetworks;
	struct compose_port *ports;
	size_t nports;
	struct compose_expose *expose;
	size_t nexpose;
	struct compose_kv *extra_hosts; /* host -> address (or "host-gateway") */
	size_t nextra_hosts;
	char **dns;
	size_t ndns;
	enum compose_pull_policy pull_policy;
	int64_t log_max_size; /* logging.options.max-size; 0: berthd's default */
	int log_max_files;    /* logging.options.max-file; 0: berthd's default */
	char **profiles;
	size_t nprofiles;

	char *file; /* the file it is defined in (include:), for messages */

	/* replicas: scale, or deploy.replicas (1 when neither) */
	unsigned replicas;
	int global; /* deploy.mode: global (one container here) */

	/* deploy.restart_policy, when given (restart_policy_given) */
	int restart_policy_given;
	int64_t restart_delay_ns;  /* 0: Berth's backoff */
	int64_t restart_window_ns; /* 0: every restart counts towards max_retries */

	/* cpu, memory and io */
	int64_t mem_reservation; /* bytes; 0: none */
	uint64_t cpu_shares;	 /* 0: not given */
	int64_t cpu_quota;	 /* microseconds per period; 0: not given, -1: none */
	uint64_t cpu_period;	 /* microseconds; 0: not given */
	char *cpuset;		 /* "0-3,5" */
	int cpu_count;		 /* 0: not given */
	int cpu_percent;	 /* 0: not given */
	double cpus_reservation; /* deploy.resources.reservations.cpus */
	int has_oom_score_adj;
	int oom_score_adj;
	struct compose_blkio blkio;

	/* devices */
	struct compose_device *devices;
	size_t ndevices;
	struct compose_devrule *devrules;
	size_t ndevrules;

	/* namespaces and their neighbours */
	struct compose_nsshare ipc;
	struct compose_nsshare pid;
	int uts_host;
	int cgroup_host;
	enum compose_userns userns;
	char *cgroup_parent; /* relative and clean, under berthd's /berth */
	char **group_add;
	size_t ngroup_add;

	/* security_opt */
	int no_new_privileges; /* -1: Berth's default (on) */
	int seccomp_unconfined;
	char *seccomp_profile; /* a host path (on CONFIG) of a Docker seccomp profile */
	int systempaths_unconfined;

	/* names */
	char *mac_address; /* of the first network */
	char **dns_search;
	size_t ndns_search;
	char **dns_opt;
	size_t ndns_opt;
	struct compose_link *links;
	size_t nlinks;
	struct compose_volfrom *volumes_from;
	size_t nvolumes_from;

	struct compose_kv *annotations;
	size_t nannotations;
	struct compose_hook *post_start;
	size_t npost_start;
	struct compose_hook *pre_stop;
	size_t npre_stop;
	struct compose_file_ref *files; /* secrets, then configs */
	size_t nfiles;
};

/* A top-level secret or config: where its content comes from. */
struct compose_filedef {
	char *key;
	char *name;    /* `name:`, else the key */
	char *file;    /* a host path; or */
	char *env;     /* the variable that holds it (from .env); or */
	char *content; /* configs: the content itself */
	struct compose_kv *labels;
	size_t nlabels;
	int valid;
	int line;
};

struct compose_volume {
	char *key;  /* as referenced by services */
	char *name; /* `name:`, else the key */
	struct compose_kv *labels;
	size_t nlabels;
	int external; /* made outside the file: berthd uses it and never creates it */
	int valid;
	int line;
};

struct compose_subnet {
	char *subnet; /* CIDR */
	char *gateway;
	char *ip_range;
};

struct compose_network {
	char *key;
	char *name;
	int internal;
	int enable_ipv6;
	struct compose_subnet *subnets;
	size_t nsubnets;
	struct compose_kv *labels;
	size_t nlabels;
	int valid;
	int line;
};

struct compose_problem {
	int error;     /* 0: a warning */
	char *service; /* the service it makes invalid, or NULL */
	char *msg;     /* "file:line: ..." */
};

struct compose_project {
	struct arena arena;
	char *name;
	char *file; /* the name used in messages */
	char *dir;  /* relative paths are relative to this */
	struct compose_service *services;
	size_t nservices;
	struct compose_volume *volumes;
	size_t nvolumes;
	struct compose_network *networks;
	size_t nnetworks;
	struct compose_filedef *secrets;
	size_t nsecrets;
	struct compose_filedef *configs;
	size_t nconfigs;
	struct compose_problem *problems;
	size_t nproblems; /* kept in problems */
	size_t nerrors;	  /* all errors, kept or not */
	size_t nwarnings;
};

struct host_config;

struct compose_options {
	const char *file_name;		 /* in messages; NULL: "compose.yaml" */
	const char *dir;		 /* base of relative paths, as the host sees it; NULL: "." */
	const struct compose_vars *vars; /* interpolation (the contents of .env) */
	const char *const *profiles;	 /* enabled profiles; "*" enables all */
	size_t nprofiles;
	const char *default_name; /* project name without `name:`; NULL: "berth" */
	/* Where the host's /config can be read now (env_file, bind sources);
	 * NULL: /config itself. */
	const char *config_dir;
	/* The host the project is for (host.yaml's containers.bind_mounts):
	 * bind sources it does not allow, and those on /config that do not
	 * exist, are errors. NULL: binds are not checked (a file on its own). */
	const struct host_config *host;
};

/* Parses compose.yaml text. Returns the number of errors collected in
 * p->problems (0: all good), or a negative errno with err set when the
 * whole file is unusable (p is then empty). Free p with compose_free in
 * both cases. */
int compose_parse(struct compose_project *p, const char *buf, size_t len, const struct compose_options *opt,
		  struct berr *err);

/* Reads and parses a file (opt->dir defaults to the file's directory). */
int compose_load(struct compose_project *p, const char *path, const struct compose_options *opt, struct berr *err);

/* A config directory, the one way berthd and `berth config check` read it:
 * DIR/.env (when present), then DIR/compose.yaml interpolated with it.
 * opt->vars is ignored; file_name defaults to "compose.yaml", dir to
 * /config (relative paths are the host's) and config_dir to DIR. Returns
 * what compose_load does; a broken .env fails the whole file.
 *
 * What the directory alone decides is checked here, so that `config check`
 * finds every mistake berthd would refuse. What needs the host as it runs
 * is checked by berthd only:
 *   - the image: loaded, or in images/ (config check looks at images/ and,
 *     on a host, at the store); the user, group, command, StopSignal and
 *     VOLUMEs it brings (an anonymous volume for a container name longer
 *     than COMPOSE_NAME_MAX - 1 - COMPOSE_ANON_SUFFIX_LEN characters);
 *   - a container name taken by a container of `berth run`;
 *   - bind sources under /data and host.yaml's bind_mounts that do not
 *     exist (/data is created when create_host_path allows, the rest not);
 *   - a network's subnet picked from the pools, one that overlaps a
 *     network berthd has from before, a network whose stored subnet or
 *     gateway differ from the file's, a fixed address on a network whose
 *     subnet is picked, a network with no free address;
 *   - what the kernel refuses when the container starts: a sysctl it does
 *     not have, a tmpfs size it does not take, limits of its cgroups;
 *   - a container's /etc/hosts over 8 KiB (extra_hosts). */
int compose_load_dir(struct compose_project *p, const char *dir, const struct compose_options *opt, struct berr *err);

void compose_free(struct compose_project *p);

const struct compose_service *compose_service_find(const struct compose_project *p, const char *name);
const struct compose_volume *compose_volume_find(const struct compose_project *p, const char *key);
const struct compose_network *compose_network_find(const struct compose_project *p, const char *key);
const struct compose_filedef *compose_filedef_find(const struct compose_project *p, int config, const char *key);

/* The name of container index (0 to s->replicas - 1) of service s: its
 * container_name, or the service's name, when it runs one container; the
 * project, the service and index + 1 joined by '-' (as Docker Compose
 * names them: shop-web-2) when it runs several. -ENAMETOOLONG when the
 * name would be COMPOSE_NAME_MAX bytes or more. */
int compose_container_name(const struct compose_project *p, const struct compose_service *s, unsigned index, char *out,
			   size_t size);

/* The container that stands for service NAME where one container is meant
 * (network_mode, ipc and pid service:NAME, volumes_from): its first. */
int compose_first_container(const struct compose_project *p, const char *service, char *out, size_t size);

struct compose_graph;

/* Prints every problem of p, and of g when not NULL (cycles, services
 * that cannot start), one a line, warnings marked "warning: ". Returns the
 * number of errors printed or counted. */
int compose_print_problems(const struct compose_project *p, const struct compose_graph *g, FILE *out);

/* `berth config check`: loads DIR as berthd would (compose_load_dir, for
 * host, which may be NULL), builds the start order, and prints every
 * problem, errors and warnings, one a line, to out. Returns the number of
 * errors (0: the configuration is good). */
int compose_check_dir(const char *dir, const struct host_config *host, FILE *out);

/* ---- the host's rules, for berthd's own guards (mounts.c, networking.c) ---- */

/* Whether berthd binds source (an absolute, clean host path) into a
 * container (COMPOSE_BIND_RULE); host may be NULL. */
int compose_bind_allowed(const struct host_config *host, const char *source);

/* The name on DATA of an anonymous volume of container at target;
 * -ENAMETOOLONG when it would be COMPOSE_NAME_MAX bytes or more. */
int compose_anon_volume_name(const char *container, const char *target, char *out, size_t size);

/* What berthd refuses of a published port of s: a container with no
 * network of its own, a host address other than IPv4, a protocol other
 * than tcp and udp. A port without a host port gets one berthd picks from
 * the ephemeral range, as Docker does. 0, or -EINVAL with err saying what
 * (no file or field). */
int compose_port_check(const struct compose_service *s, const struct compose_port *pt, struct berr *err);

/* Writes the secrets and configs of s (s->files) into dir (made 0700): file
 * i is dir/i, with the content its top-level entry gives (read now from a
 * host file), owned by its uid and gid, with its mode. The translation
 * binds them (compose_translate_in.files_dir). 0, or a negative errno with
 * err saying "services.NAME.secrets: ...". */
int compose_write_files(const struct compose_project *p, const struct compose_service *s, const char *dir,
			struct berr *err);

#endif
