/* Inside the compose.yaml parser (compose.h is its public face): the
 * context every reader takes, and the readers of the YAML tree that the
 * parser's files share. Internal to runtime/compose/.
 *
 * The parser is split by concern:
 *   tree.c        problems, scalars, lists, merge keys, key tables
 *   service.c     the service keys and one service as a whole; hooks
 *   resources.c   capabilities, limits (cpu, memory, io), sysctls and
 *                 ulimits of a service
 *   deploy.c      deploy: and scale:
 *   isolation.c   namespaces, cgroup_parent, devices, security_opt
 *   mounts.c      volumes, tmpfs and volumes_from of a service; the host's
 *                 bind rules
 *   networking.c  network_mode, networks, ports, expose, dns, extra_hosts,
 *                 links; the top-level networks' addresses
 *   files.c       secrets and configs (secrets.c writes them for berthd)
 *   include.c     include: and extends:
 *   project.c     the top level: name, volumes, networks, cross checks,
 *                 loading a file or a config directory, printing problems
 *
 * Helpers named cx_* take the context first. Those that read a value
 * record a problem ("file:line: SCOPE.FIELD: message") when it is wrong,
 * mark the current entry failed and return -1; on success they return 0.
 * Values are interpolated when they are read, never in the tree: aliases
 * share nodes, and interpolating a shared node in place would expand `$$`
 * twice. */
#ifndef BERTH_COMPOSE_PARSE_H
#define BERTH_COMPOSE_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "compose/compose.h"
#include "compose/interp.h"
#include "lib/yamltree.h"

#define CX_PATH_LEN 4096

/* What one service's keys leave for the checks that need them all. */
struct svc_scratch {
	struct compose_env *file_env; /* env_file, merged */
	size_t nfile_env;
	struct compose_env *inline_env; /* environment */
	size_t ninline_env;
	struct compose_mount *volumes;
	size_t nvolumes;
	struct compose_mount *tmpfs;
	size_t ntmpfs;
	const struct yt_node *memswap;
	const struct yt_node *healthcheck;
	const struct yt_node *networks;
	const struct yt_node *entrypoint;
	const struct yt_node *restart;
	const struct yt_node *scale;
	const struct yt_node *mem_reservation;
	const struct yt_node *user;
	struct deploy *deploy;	       /* deploy.c */
	struct compose_kv *label_file; /* label_file, merged; labels win */
	size_t nlabel_file;
};

/* A file of the project: compose.yaml, or a file it includes (include.c),
 * with what its relative paths and variables are resolved against. */
enum cx_section { CX_SERVICES, CX_VOLUMES, CX_NETWORKS, CX_SECRETS, CX_CONFIGS, CX_NSECTIONS };

struct cx_source {
	struct yt_doc doc; /* the included file's; compose.yaml's is the caller's */
	int owned;	   /* doc is this source's to free */
	const char *file;
	const char *dir;
	struct compose_vars defaults; /* include's env_file: values the project's variables override */
	const struct yt_node *section[CX_NSECTIONS];
};

#define CX_MAX_SOURCES 64 /* files of one project: compose.yaml and those it includes */

struct ctx {
	struct compose_project *p;
	const struct yt_doc *doc;
	const char *file; /* the file being read (compose.yaml, or one it includes), for messages */
	const char *dir;  /* what its relative paths are relative to */
	const struct compose_options *opt;
	struct compose_interp interp;
	char scope[300];     /* "services.web", "volumes.data", "" */
	const char *service; /* problems found now make this service invalid */
	struct svc_scratch *sc;
	int line;   /* of the value being interpolated, for warnings */
	int failed; /* the current entry has a problem */
	int nomem;
	size_t merge_work;
	struct cx_source *sources; /* [0]: compose.yaml */
	size_t nsources;
	const struct yt_node *services; /* the services of the file being read, for extends */
	struct yt_doc *extends_docs;	/* files extends: read, freed with the project's parse */
	size_t nextends_docs;
};

/* ---- problems (tree.c) ---- */

__attribute__((format(printf, 3, 4))) void cx_fmt(char *buf, size_t size, const char *fmt, ...);
/* Records "file:line: SCOPE.FIELD: message" at node n (NULL: line 0) and
 * marks the entry failed; returns -1. field may be NULL. */
__attribute__((format(printf, 4, 5))) int cx_fail(struct ctx *x, const struct yt_node *n, const char *field,
						  const char *fmt, ...);
/* The same at a line of the file rather than a node. */
__attribute__((format(printf, 4, 5))) int cx_fail_at(struct ctx *x, int line, const char *field, const char *fmt, ...);
__attribute__((format(printf, 4, 5))) void cx_warn(struct ctx *x, const struct yt_node *n, const char *field,
						   const char *fmt, ...);
int cx_oom(struct ctx *x);
/* The interpolation's report of an unset variable, as a warning. */
void cx_on_unset(void *ctx, const char *name);

/* ---- reading the tree (tree.c) ---- */

int cx_is_extension(const struct yt_node *key); /* x-... keys, which Compose leaves to tools */
/* A variable of the project (.env), then of the file's include env_file. */
const char *cx_var(const struct ctx *x, const char *name);
char *cx_strdup(struct ctx *x, const char *s);
void *cx_alloc(struct ctx *x, size_t n, size_t size); /* zeroed, in the project's arena */
int cx_str(struct ctx *x, const struct yt_node *n, const char *field, char **out);
int cx_bool(struct ctx *x, const struct yt_node *n, const char *field, int *out);
int cx_int(struct ctx *x, const struct yt_node *n, const char *field, long long min, long long max, long long *out);
int cx_duration(struct ctx *x, const struct yt_node *n, const char *field, int64_t *out);
int cx_bytes(struct ctx *x, const struct yt_node *n, const char *field, int64_t *out);
/* n as a mapping with its merge keys (`<<: *base`) applied. */
int cx_map(struct ctx *x, const struct yt_node *n, const char *field, const struct yt_node **out);
/* A list of strings (a lone string too when allow_string). */
int cx_strlist(struct ctx *x, const struct yt_node *n, const char *field, int allow_string, char ***out, size_t *count);
/* A mapping of keys to scalars, or a list of "KEY=VALUE". */
int cx_kvlist(struct ctx *x, const struct yt_node *n, const char *field, struct compose_kv **out, size_t *count);
/* path made absolute against base and lexically clean; NULL when too long
 * (x->nomem tells out of memory apart). */
char *cx_path(struct ctx *x, const char *base, const char *path);
/* Where a host path can be read now: a path under /config is read from
 * opt->config_dir when there is one (on a workstation, the directory that
 * becomes /config). Returns path or buf. (mounts.c) */
const char *cx_readable(struct ctx *x, const char *path, char *buf, size_t size);

/* ---- key tables (tree.c) ----
 * A mapping whose keys each have one meaning is read by a table of rules:
 * each known key's value goes where its rule says, x- extensions are
 * skipped, and every other key is refused by name. */

enum cx_type {
	CX_BOOL,     /* int */
	CX_INT,	     /* int, min to max */
	CX_DURATION, /* int64_t nanoseconds */
	CX_BYTES,    /* int64_t */
	CX_STR,	     /* char *, interpolated */
	CX_FN,	     /* fn reads the value */
	CX_IGNORED,  /* accepted without effect */
	CX_REFUSED,  /* a key of the specification Berth does not implement; why says what instead */
};

/* Reads value v of one key into obj; field names the key ("healthcheck.test").
 * Returns -1 after recording a problem. */
typedef int cx_read_fn(struct ctx *x, void *obj, const struct yt_node *v, const char *field);

struct cx_rule {
	const char *name;
	enum cx_type type;
	size_t offset;	 /* where the value goes in the object */
	cx_read_fn *fn;	 /* CX_FN */
	const char *why; /* CX_REFUSED */
	long long min;	 /* CX_INT */
	long long max;
};

struct cx_rules {
	const struct cx_rule *rule;
	size_t n;
	/* An unknown key: "unknown key 'K'", or "unsupported key 'K' (HINT)". */
	const char *hint;
	/* The field an unknown or refused key is named under; NULL: the
	 * mapping's own field. */
	const char *key_field;
	int stop; /* the first problem ends the mapping (the entry is dropped) */
};

#define CX_RULES(table) .rule = (table), .n = sizeof(table) / sizeof((table)[0])

/* Reads mapping m (merge keys already applied) into obj. Returns -1 when
 * a key had a problem. */
int cx_fields(struct ctx *x, const struct yt_node *m, const char *field, const struct cx_rules *r, void *obj);

/* ---- the parts of a service and of the project ---- */

/* Each key of a service is read by a cx_read_fn into the service (obj). */

/* resources.c */
cx_read_fn svc_cap_add, svc_cap_drop, svc_mem_limit, svc_memswap_limit, svc_cpus, svc_pids_limit, svc_sysctls,
	svc_ulimits;
/* Checks between the resource keys once all are read. */
void svc_check_resources(struct ctx *x, struct compose_service *s);

/* mounts.c */
cx_read_fn svc_volumes, svc_tmpfs;
/* volumes, then tmpfs, into s->mounts: a target mounted twice, a bind
 * source the host refuses (with opt->host) and an anonymous volume whose
 * name would be too long are refused. */
void svc_merge_mounts(struct ctx *x, struct compose_service *s);

/* networking.c */
cx_read_fn svc_network_mode, svc_networks, svc_ports, svc_expose, svc_extra_hosts, svc_dns;
/* Checks between the networking keys (and sysctls) once all are read. */
void svc_check_networking(struct ctx *x, struct compose_service *s, const struct yt_node *def);
/* The checks of s's networking against the project: fixed addresses, and
 * the service whose network it shares. index: s's place in the services. */
void svc_cross_check_networking(struct ctx *x, struct compose_service *s, size_t index);
/* ipam: of a top-level network (obj). */
cx_read_fn net_ipam;
/* Explicit subnets of networks in use that overlap: berthd's IPAM refuses
 * the second. Run before the services' cross checks. */
void check_network_overlaps(struct ctx *x);

/* service.c */
/* The container's name: container_name, else the service's name. */
const char *svc_container_name(const struct compose_service *s);
void parse_service(struct ctx *x, const struct yt_node *key, const struct yt_node *def, struct compose_service *s);
/* Makes service a dependency of s (it must start first) because of why
 * ("its ipc uses"); nothing when s depends on it already. */
void svc_add_dep(struct ctx *x, struct compose_service *s, const char *service, const char *why, int line);
cx_read_fn svc_cpus, svc_mem_limit;
int compose_platform_is_amd64(const char *platform);

/* resources.c: cpu, memory, io beyond the basics */
cx_read_fn svc_cpu_period, svc_cpu_quota, svc_cpu_rt, svc_cpu_shares, svc_cpuset, svc_cpu_count, svc_cpu_percent,
	svc_mem_reservation, svc_mem_swappiness, svc_oom_kill_disable, svc_oom_score_adj, svc_blkio_config;

/* deploy.c */
cx_read_fn svc_deploy, svc_scale;
/* deploy: and scale: into the service, once its own keys are read. */
void svc_apply_deploy(struct ctx *x, struct compose_service *s);

/* isolation.c */
cx_read_fn svc_ipc, svc_pid_ns, svc_uts, svc_cgroup, svc_userns_mode, svc_cgroup_parent, svc_devices,
	svc_device_cgroup_rules, svc_security_opt;
void svc_check_isolation(struct ctx *x, struct compose_service *s, const struct yt_node *def);
void svc_cross_check_isolation(struct ctx *x, struct compose_service *s);

/* mounts.c */
cx_read_fn svc_volumes_from;
/* Copies the mounts of the services named by volumes_from. */
void resolve_volumes_from(struct ctx *x);

/* networking.c */
cx_read_fn svc_dns_search, svc_dns_opt, svc_mac_address, svc_links, svc_external_links;
int cx_mac(struct ctx *x, const struct yt_node *v, const char *field, char **out);

/* files.c: secrets and configs */
cx_read_fn svc_secrets, svc_configs;
int parse_secret(struct ctx *x, const struct yt_node *key, const struct yt_node *def, void *item);
int parse_config(struct ctx *x, const struct yt_node *key, const struct yt_node *def, void *item);
void svc_cross_check_files(struct ctx *x, struct compose_service *s);

/* include.c */
/* Reads the files include: names (and those they include) into x->sources.
 * Returns -1 with err set when one cannot be read at all. */
int cx_load_includes(struct ctx *x, const struct yt_node *include, int depth, struct berr *err);
void cx_free_sources(struct ctx *x);
/* m with its extends: resolved (the base service's keys merged under its
 * own, as Docker Compose merges them), into *out; m itself when it extends
 * nothing. Returns -1 after recording a problem. */
int svc_extends(struct ctx *x, struct compose_service *s, const struct yt_node *m, const struct yt_node **out);

#endif
