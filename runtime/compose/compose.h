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
	int restart;  /* restart this service when the dependency restarts */
	int required; /* 0: start anyway when the dependency cannot */
	int implicit; /* from network_mode service:NAME */
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
	int nocopy;	      /* VOLUME: do not copy the image's files in */
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
	char *ipv6_address;
	int line;
};

enum compose_pull_policy {
	COMPOSE_PULL_MISSING, /* the default; Berth never pulls, so: must be loaded */
	COMPOSE_PULL_NEVER,
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
};

struct compose_volume {
	char *key;  /* as referenced by services */
	char *name; /* `name:`, else the key */
	struct compose_kv *labels;
	size_t nlabels;
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
	struct compose_problem *problems;
	size_t nproblems; /* kept in problems */
	size_t nerrors;	  /* all errors, kept or not */
	size_t nwarnings;
};

struct compose_options {
	const char *file_name;		 /* in messages; NULL: "compose.yaml" */
	const char *dir;		 /* base of relative paths; NULL: "." */
	const struct compose_vars *vars; /* interpolation (the contents of .env) */
	const char *const *profiles;	 /* enabled profiles; "*" enables all */
	size_t nprofiles;
	const char *default_name; /* project name without `name:`; NULL: "berth" */
};

/* Parses compose.yaml text. Returns the number of errors collected in
 * p->problems (0: all good), or a negative errno with err set when the
 * whole file is unusable (p is then empty). Free p with compose_free in
 * both cases. */
int compose_parse(struct compose_project *p, const char *buf, size_t len, const struct compose_options *opt,
		  struct berr *err);

/* Reads and parses a file (opt->dir defaults to the file's directory). */
int compose_load(struct compose_project *p, const char *path, const struct compose_options *opt, struct berr *err);

void compose_free(struct compose_project *p);

const struct compose_service *compose_service_find(const struct compose_project *p, const char *name);
const struct compose_volume *compose_volume_find(const struct compose_project *p, const char *key);
const struct compose_network *compose_network_find(const struct compose_project *p, const char *key);

struct compose_graph;

/* Prints every problem of p, and of g when not NULL (cycles, services
 * that cannot start), one a line, warnings marked "warning: ". Returns the
 * number of errors printed or counted. */
int compose_print_problems(const struct compose_project *p, const struct compose_graph *g, FILE *out);

/* `berth config check`: loads DIR/.env (when present) and
 * DIR/compose.yaml, builds the start order, and prints every problem,
 * errors and warnings, one a line, to out. Returns the number of errors
 * (0: the configuration is good). */
int compose_check_dir(const char *dir, const char *const *profiles, size_t nprofiles, FILE *out);

#endif
