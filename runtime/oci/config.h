/* The OCI runtime-spec configuration (config.json), as C structures.
 *
 * oci_config_parse reads runtime-spec 1.x JSON with json-c into these
 * structures, checking every field's type and value. Errors name the JSON
 * field ("config.json: process.user.uid: expected an unsigned integer").
 * Fields that the spec defines but Berth does not implement are errors that
 * say so; fields the spec does not define are reported as warnings and
 * ignored, as the spec requires of runtimes (a newer containerd may send
 * fields from a newer spec).
 *
 * Everything a config owns lives in its arena and is freed at once. */
#ifndef BERTH_OCI_CONFIG_H
#define BERTH_OCI_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/arena.h"
#include "lib/berr.h"

#define OCI_MAX_WARNINGS 32

struct oci_id_map {
	uint32_t container_id;
	uint32_t host_id;
	uint32_t size;
};

struct oci_mount {
	char *destination;
	char *type;   /* NULL: bind when options say so */
	char *source; /* NULL when absent */
	char **options;
	size_t noptions;
	struct oci_id_map *uid_maps; /* for idmapped mounts */
	size_t nuid_maps;
	struct oci_id_map *gid_maps;
	size_t ngid_maps;
};

/* Bit masks of capabilities (bit n: capability number n). */
struct oci_caps {
	uint64_t bounding;
	uint64_t effective;
	uint64_t inheritable;
	uint64_t permitted;
	uint64_t ambient;
};

struct oci_rlimit {
	int resource; /* RLIMIT_* */
	uint64_t soft;
	uint64_t hard;
};

struct oci_user {
	uint32_t uid;
	uint32_t gid;
	int has_umask;
	uint32_t umask;
	gid_t *additional_gids;
	size_t nadditional_gids;
};

struct oci_process {
	int terminal;
	int has_console_size;
	unsigned console_height;
	unsigned console_width;
	struct oci_user user;
	char **args;
	size_t nargs;
	char **env;
	size_t nenv;
	char *cwd;
	int has_caps;
	struct oci_caps caps;
	struct oci_rlimit *rlimits;
	size_t nrlimits;
	int no_new_privileges;
	int has_oom_score_adj;
	int oom_score_adj;
	int has_io_priority;
	int io_priority_class; /* IOPRIO_CLASS_* */
	int io_priority;
};

enum oci_ns_type {
	OCI_NS_PID,
	OCI_NS_NET,
	OCI_NS_MOUNT,
	OCI_NS_IPC,
	OCI_NS_UTS,
	OCI_NS_USER,
	OCI_NS_CGROUP,
	OCI_NS_TIME,
	OCI_NS_COUNT,
};

struct oci_namespace {
	enum oci_ns_type type;
	int clone_flag; /* CLONE_NEW* */
	char *path;	/* NULL: create a new one */
};

struct oci_device {
	char type; /* 'c', 'b', 'u' or 'p' */
	char *path;
	int64_t major;
	int64_t minor;
	int has_file_mode;
	uint32_t file_mode;
	int has_uid;
	uint32_t uid;
	int has_gid;
	uint32_t gid;
};

/* linux.resources.devices: a cgroup device rule. */
struct oci_device_rule {
	int allow;
	char type;	/* 'a', 'c' or 'b' */
	int64_t major;	/* -1: any */
	int64_t minor;	/* -1: any */
	char access[4]; /* some of "rwm"; empty: all */
};

struct oci_weight_device {
	int64_t major;
	int64_t minor;
	int has_weight;
	uint16_t weight;
	int has_leaf_weight;
	uint16_t leaf_weight;
};

struct oci_throttle_device {
	int64_t major;
	int64_t minor;
	uint64_t rate;
};

struct oci_kv {
	char *key;
	char *value;
};

struct oci_resources {
	struct oci_device_rule *devices;
	size_t ndevices;

	/* memory; -1 in a limit means unlimited */
	int has_memory_limit;
	int64_t memory_limit;
	int has_memory_reservation;
	int64_t memory_reservation;
	int has_memory_swap;
	int64_t memory_swap;
	int has_memory_swappiness;
	uint64_t memory_swappiness;
	int disable_oom_killer;

	/* cpu */
	int has_cpu_shares;
	uint64_t cpu_shares;
	int has_cpu_quota;
	int64_t cpu_quota;
	int has_cpu_period;
	uint64_t cpu_period;
	int has_cpu_burst;
	uint64_t cpu_burst;
	int has_cpu_idle;
	int64_t cpu_idle;
	char *cpuset_cpus;
	char *cpuset_mems;

	/* pids */
	int has_pids_limit;
	int64_t pids_limit;

	/* blockIO */
	int has_blkio_weight;
	uint16_t blkio_weight;
	struct oci_weight_device *weight_devices;
	size_t nweight_devices;
	struct oci_throttle_device *throttle_read_bps;
	size_t nthrottle_read_bps;
	struct oci_throttle_device *throttle_write_bps;
	size_t nthrottle_write_bps;
	struct oci_throttle_device *throttle_read_iops;
	size_t nthrottle_read_iops;
	struct oci_throttle_device *throttle_write_iops;
	size_t nthrottle_write_iops;

	/* unified: cgroup v2 files written as given */
	struct oci_kv *unified;
	size_t nunified;
};

enum oci_seccomp_action {
	OCI_SECCOMP_KILL,	  /* SCMP_ACT_KILL (the thread) */
	OCI_SECCOMP_KILL_PROCESS, /* SCMP_ACT_KILL_PROCESS */
	OCI_SECCOMP_KILL_THREAD,  /* SCMP_ACT_KILL_THREAD */
	OCI_SECCOMP_TRAP,
	OCI_SECCOMP_ERRNO,
	OCI_SECCOMP_TRACE,
	OCI_SECCOMP_ALLOW,
	OCI_SECCOMP_LOG,
	OCI_SECCOMP_NOTIFY,
};

enum oci_seccomp_op {
	OCI_SECCOMP_OP_NE,
	OCI_SECCOMP_OP_LT,
	OCI_SECCOMP_OP_LE,
	OCI_SECCOMP_OP_EQ,
	OCI_SECCOMP_OP_GE,
	OCI_SECCOMP_OP_GT,
	OCI_SECCOMP_OP_MASKED_EQ,
};

/* An action's name in config.json ("SCMP_ACT_ERRNO"); NULL if unknown. */
const char *oci_seccomp_action_name(enum oci_seccomp_action action);
const char *oci_seccomp_op_name(enum oci_seccomp_op op);

struct oci_seccomp_arg {
	unsigned index; /* 0..5 */
	uint64_t value;
	uint64_t value_two;
	enum oci_seccomp_op op;
};

struct oci_seccomp_rule {
	char **names;
	size_t nnames;
	enum oci_seccomp_action action;
	int has_errno_ret;
	uint32_t errno_ret;
	struct oci_seccomp_arg *args;
	size_t nargs;
};

struct oci_seccomp {
	enum oci_seccomp_action default_action;
	int has_default_errno_ret;
	uint32_t default_errno_ret;
	char **architectures; /* "SCMP_ARCH_X86_64", ... */
	size_t narchitectures;
	char **flags; /* "SECCOMP_FILTER_FLAG_LOG", ... */
	size_t nflags;
	struct oci_seccomp_rule *syscalls;
	size_t nsyscalls;
};

struct oci_hook {
	char *path;
	char **args;
	size_t nargs;
	char **env;
	size_t nenv;
	int has_env; /* without env, a hook inherits the runtime's (as with runc and crun) */
	int timeout; /* seconds; 0: none */
};

enum oci_hook_kind {
	OCI_HOOK_PRESTART,
	OCI_HOOK_CREATE_RUNTIME,
	OCI_HOOK_CREATE_CONTAINER,
	OCI_HOOK_START_CONTAINER,
	OCI_HOOK_POSTSTART,
	OCI_HOOK_POSTSTOP,
	OCI_HOOK_KINDS,
};

/* The hook kind's name in config.json ("prestart", ...). */
const char *oci_hook_kind_name(enum oci_hook_kind kind);

struct oci_hooks {
	struct oci_hook *list[OCI_HOOK_KINDS];
	size_t count[OCI_HOOK_KINDS];
};

struct oci_linux {
	struct oci_namespace namespaces[OCI_NS_COUNT];
	size_t nnamespaces;
	struct oci_id_map *uid_maps;
	size_t nuid_maps;
	struct oci_id_map *gid_maps;
	size_t ngid_maps;
	struct oci_device *devices;
	size_t ndevices;
	char *cgroups_path;
	int has_resources;
	struct oci_resources resources;
	struct oci_kv *sysctl;
	size_t nsysctl;
	struct oci_seccomp *seccomp;	  /* NULL: none */
	unsigned long rootfs_propagation; /* MS_* flag; 0: unset */
	char **masked_paths;
	size_t nmasked_paths;
	char **readonly_paths;
	size_t nreadonly_paths;
	int has_time_offsets;
	int64_t monotonic_secs;
	uint32_t monotonic_nanosecs;
	int64_t boottime_secs;
	uint32_t boottime_nanosecs;
	int has_personality;
	unsigned long personality; /* PER_LINUX or PER_LINUX32 */
};

struct oci_config {
	struct arena arena;
	char *oci_version;
	char *root_path; /* relative paths are relative to the bundle */
	int root_readonly;
	int has_process;
	struct oci_process process;
	char *hostname;
	char *domainname;
	struct oci_mount *mounts;
	size_t nmounts;
	struct oci_hooks hooks;
	struct oci_kv *annotations;
	size_t nannotations;
	struct oci_linux linux_;
	char warnings[OCI_MAX_WARNINGS][256];
	size_t nwarnings;
};

/* Parses config.json text; name is used in messages ("config.json"). */
int oci_config_parse(struct oci_config *cfg, const char *name, const char *json, size_t len, struct berr *err);

/* Reads BUNDLE/config.json. */
int oci_config_load(struct oci_config *cfg, const char *bundle, struct berr *err);

/* Parses a lone Process object (`exec --process FILE`) into p, allocating
 * from cfg's arena. */
int oci_process_parse_file(struct oci_config *cfg, struct oci_process *p, const char *path, struct berr *err);

/* linux.resources for `update --resources`: JSON text (name in errors) in
 * which a member that is 0, "" or null means "leave it as it is", as runc
 * reads it (dockerd sends every field, zeros for those not changed); the
 * rest is checked as in a config. Strings live in cfg's arena. */
int oci_resources_parse(struct oci_config *cfg, struct oci_resources *r, const char *name, const char *json, size_t len,
			struct berr *err);

void oci_config_free(struct oci_config *cfg);

/* The namespace of a type, or NULL when the config does not ask for one. */
const struct oci_namespace *oci_config_namespace(const struct oci_config *cfg, enum oci_ns_type type);

/* Capability and rlimit names, for parsing and for `features`. */
int oci_cap_from_name(const char *name);    /* -1 if unknown */
const char *oci_cap_name(int cap);	    /* NULL if unknown */
int oci_cap_last(void);			    /* highest capability number known */
int oci_rlimit_from_name(const char *name); /* -1 if unknown */
const char *oci_rlimit_name(int resource);  /* NULL if unknown */
const char *oci_ns_type_name(enum oci_ns_type type);

/* A mount propagation ("rslave", for rootfsPropagation and mount options)
 * as MS_* flags; 0 if unknown. */
unsigned long oci_propagation_from_name(const char *name);
const char *oci_propagation_name(unsigned long flags); /* NULL if none matches */

#endif
