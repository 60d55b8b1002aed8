/* berthd's containers: what each one is (its definition, persisted on DATA
 * so that it survives berthd restarts and reboots) and where it is in its
 * life (its state, partly persisted, partly rebuilt from the monitor's
 * files under /run). Owns the on-disk record; knows nothing of compose. */
#ifndef BERTH_CTR_H
#define BERTH_CTR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "daemon/watch.h"
#include "lib/berr.h"

#define BERTH_DATA_DIR "/data/berth"
#define CTR_NAME_MAX 128

enum restart_policy {
	RESTART_NO,
	RESTART_ALWAYS,
	RESTART_ON_FAILURE,
	RESTART_UNLESS_STOPPED,
};

enum dep_condition {
	DEP_STARTED,
	DEP_HEALTHY,
	DEP_COMPLETED,
};

struct ctr_dep {
	char *name;
	enum dep_condition cond;
};

struct ctr_health_def {
	char **test; /* argv to run in the container; NULL: no healthcheck */
	size_t ntest;
	int64_t interval_ms;
	int64_t timeout_ms;
	int64_t start_period_ms;
	int retries;
};

struct ctr_mount_volume {
	char *name; /* a named volume's name (its data lives under DATA) */
};

enum ctr_netmode {
	NETMODE_BRIDGE, /* its own network namespace, on the networks below */
	NETMODE_HOST,	/* the host's network */
	NETMODE_NONE,	/* its own namespace with loopback only */
	NETMODE_JOIN,	/* another container's namespace (network_mode service:/container:) */
};

/* A network the container is attached to. */
struct ctr_netattach {
	char *network;
	char **aliases;
	size_t naliases;
	char *ipv4;   /* a fixed address (ipv4_address); NULL: from IPAM */
	char *mac;    /* "02:42:..."; NULL: from the address */
	char *ifname; /* in the container; NULL: ethN */
	int gateway;  /* gw_priority chose it for the default route */
};

/* A published port: host_port on host_ip (0: every address) to port. */
struct ctr_port {
	int proto; /* IPPROTO_TCP or IPPROTO_UDP */
	uint32_t host_ip;
	uint16_t host_port;
	uint16_t port;
	int picked; /* host_port was picked by berthd (the file gives none) */
};

/* A post_start or pre_stop hook: a command run in the container. */
struct ctr_hook {
	char **command;
	size_t ncommand;
	char *user; /* UID[:GID]; NULL: the container's */
	char *cwd;  /* NULL: the container's */
	char **env; /* NAME=VALUE, over the container's */
	size_t nenv;
};

enum hook_kind { HOOK_NONE, HOOK_POST_START, HOOK_PRE_STOP };

/* What a container is; fixed from creation until it is removed. */
struct ctr_def {
	char *name;
	char *service; /* the compose service it comes from; NULL: `berth run` */
	char *image;   /* as the user named it */
	char *image_id;
	char *config_json; /* the OCI config.json of its bundle */
	char hash[65];	   /* of everything above that defines it */
	char **lowerdirs;  /* image layers, lowest first */
	size_t nlowerdirs;
	int read_only; /* no upper directory */
	enum restart_policy restart;
	int max_retries; /* on-failure:N, deploy.restart_policy.max_attempts; 0: unlimited */
	/* deploy.restart_policy: the wait before each restart (0: the
	 * backoff), and how long a run must last not to count as an attempt
	 * (0: every restart counts). */
	int64_t restart_delay_ms;
	int64_t restart_window_ms;
	int stop_signal;
	int64_t stop_grace_ms;
	int tty;
	int stdin_open;
	int auto_remove; /* --rm */
	struct ctr_health_def health;
	struct ctr_dep *deps;
	size_t ndeps;
	char **volumes; /* named volumes it uses (so rmi and cleanup know) */
	size_t nvolumes;
	uint64_t log_max_size;
	unsigned log_max_files;
	enum ctr_netmode netmode;
	char *join; /* NETMODE_JOIN: the container whose namespace it shares */
	struct ctr_netattach *nets;
	size_t nnets;
	struct ctr_port *ports;
	size_t nports;
	char **dns; /* its own upstream resolvers (compose dns:) */
	size_t ndns;
	char **dns_search; /* resolv.conf's search domains ("." alone: none) */
	size_t ndns_search;
	char **dns_opt; /* resolv.conf's options */
	size_t ndns_opt;
	char **links; /* "CONTAINER ALIAS": names in its /etc/hosts (links, external_links) */
	size_t nlinks;
	struct ctr_hook *post_start;
	size_t npost_start;
	struct ctr_hook *pre_stop;
	size_t npre_stop;
	char **extra_hosts; /* "name address" lines for /etc/hosts */
	size_t nextra_hosts;
};

enum ctr_state {
	CS_CREATED,  /* defined, never started (or waiting for its dependencies) */
	CS_STARTING, /* monitor started, container not yet running */
	CS_RUNNING,
	CS_STOPPING,   /* stop signal sent, waiting for it to end */
	CS_EXITED,     /* ended; not to be restarted (now) */
	CS_RESTARTING, /* ended; a restart is scheduled */
	CS_FAILED,     /* could not be defined or started; see error */
};

enum health_status {
	HEALTH_NONE,
	HEALTH_STARTING,
	HEALTH_HEALTHY,
	HEALTH_UNHEALTHY,
};

#define HEALTH_LOG_KEEP 5

struct health_result {
	int64_t start_ms; /* wall clock, ms since the epoch */
	int64_t end_ms;
	int exit_code;
	char output[1024];
};

/* What to do once the container has stopped. */
enum ctr_after_stop {
	AFTER_NOTHING,
	AFTER_START,   /* restart */
	AFTER_REMOVE,  /* rm -f, a service gone from compose.yaml */
	AFTER_REPLACE, /* a changed service: remove, then create the new definition */
};

struct child;

struct ctr {
	struct ctr *next; /* the container table's (ctrtab.h) */
	struct ctr_def def;
	int has_def; /* 0 for a service whose definition failed (error says why) */

	/* persisted */
	enum ctr_state state;
	int64_t created_ms;
	int64_t started_ms;
	int64_t finished_ms;
	int exit_code;
	int exit_signal;
	int oom_killed; /* the kernel's OOM killer killed a process of its last run */
	int restart_count;
	int user_stopped; /* stopped by `berth stop`: unless-stopped stays down */
	char error[1024]; /* why it failed to be created or started */

	/* What the event stream (events.h) last reported of it. */
	int ev_known;
	enum ctr_state ev_state;
	enum health_status ev_health;

	/* run time */
	pid_t monitor_pid;
	int monitor_pidfd;
	int status_fd; /* the monitor's --status-fd pipe while starting */
	struct watch monitor_watch;
	struct watch status_watch;
	struct watch health_watch;
	pid_t pid;		 /* the container's init, on the host */
	int pidfd;		 /* of pid: signals never reach a recycled pid */
	int ran;		 /* reached running since berthd started or it was (re)created */
	int stop_pending;	 /* stop asked for while it was starting */
	int64_t started_mono_ms; /* monotonic; 0: started before this berthd */
	int64_t next_start_ms;	 /* monotonic; CS_RESTARTING */
	int64_t kill_at_ms;	 /* monotonic; CS_STOPPING: SIGKILL then */
	int64_t backoff_ms;
	int window_restarts;	  /* restarts since a run lasted restart_window_ms */
	enum hook_kind hook_kind; /* the hooks running now (hooks.h) */
	size_t hook_next;	  /* the next of them to start */
	pid_t hook_pid;
	struct child *hook_child;
	int hook_signal; /* pre_stop: the stop signal to send when they are done */
	enum ctr_after_stop after_stop;
	struct ctr_def *replacement; /* AFTER_REPLACE */
	char waiting_for[256];	     /* why a CS_CREATED container has not started */
	int want_start;		     /* start once dependencies allow */
	int wait_attach;	     /* berth run in the foreground: start once attached */

	/* health */
	enum health_status health;
	int health_failing_streak;
	int64_t health_next_ms; /* monotonic */
	int64_t health_deadline_ms;
	pid_t health_pid;
	struct child *health_child; /* the loop's record of health_pid */
	int health_out_fd;
	char health_out[1024];
	size_t health_out_len;
	int64_t health_started_wall_ms;
	int64_t health_started_mono_ms;
	struct health_result health_log[HEALTH_LOG_KEEP];
	size_t health_nlog;
};

/* Paths of a container. */
int ctr_dir(const char *name, char *out, size_t size);	   /* DATA: record, bundle, upper, log */
int ctr_run_dir(const char *name, char *out, size_t size); /* /run: monitor files, rootfs mount */
/* /run: its secrets and configs, written at each apply; kept while it stops
 * and restarts, removed with it. */
int ctr_files_dir(const char *name, char *out, size_t size);

/* A valid container name: [A-Za-z0-9][A-Za-z0-9_.-]*, at most CTR_NAME_MAX-1. */
int ctr_valid_name(const char *name, struct berr *err);

/* Saves the record (definition and persisted state) atomically. */
int ctr_save(const struct ctr *c, struct berr *err);

/* Loads the record of the container directory name. */
int ctr_load(const char *name, struct ctr **out, struct berr *err);

/* The record as ctr_save writes it (malloc'd; NULL: out of memory). */
char *ctr_record_text(const struct ctr *c);

/* A new container from a record's text; what names the record in errors,
 * name (NULL: any) is the container it must define. */
int ctr_record_parse(const char *text, const char *what, const char *name, struct ctr **out, struct berr *err);

struct ctr *ctr_new(void);
void ctr_free(struct ctr *c);
void ctr_def_clear(struct ctr_def *d);

/* Deep copy of a definition. */
int ctr_def_copy(struct ctr_def *dst, const struct ctr_def *src);

/* Fills d->hash from the definition's content. */
void ctr_def_hash(struct ctr_def *d);

const char *ctr_state_name(enum ctr_state s);
const char *health_status_name(enum health_status h);
const char *restart_policy_name(enum restart_policy p);

/* Parses "no", "always", "on-failure[:N]", "unless-stopped". */
int restart_policy_parse(const char *s, enum restart_policy *p, int *max_retries);

/* The restart decision after an exit (not a requested stop): 1 to restart. */
int ctr_should_restart(const struct ctr *c);

/* The delay before the next restart: 100 ms doubling to 1 min, back to
 * 100 ms after a run of 10 s or more (what Docker does). */
int64_t ctr_next_backoff(int64_t previous_ms, int64_t ran_ms);

int64_t now_wall_ms(void);
int64_t now_mono_ms(void);

/* How long c's current or last run had lasted at monotonic time mono_ms.
 * Durations come from the monotonic clock, so that NTP or an operator
 * moving the wall clock by a day neither resets a crash loop's backoff nor
 * stretches a healthcheck's start period; a run older than this berthd
 * falls back to the wall clock, never below 0. */
int64_t ctr_ran_ms(const struct ctr *c, int64_t mono_ms);

#endif
