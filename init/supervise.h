/* Supervised services: started with a clean process state (see proc.h),
 * their output captured into the host log under their name, restarted by
 * the policy in restart.h when they exit, and stopped one by one in
 * reverse order at shutdown. A service that cannot start is retried
 * later; it never stops the others. */
#ifndef BERTH_INIT_SUPERVISE_H
#define BERTH_INIT_SUPERVISE_H

#include <stdint.h>
#include <sys/types.h>

#define SVC_MAX 16
#define SVC_MAX_ARGS 32

enum svc_flags {
	SVC_CONSOLE = 1, /* on the console, with it as controlling terminal */
};

struct svc_def {
	const char *name;
	const char *path;		/* program; NULL: argv[0] */
	const char *argv[SVC_MAX_ARGS]; /* NULL-terminated */
	unsigned flags;
	int stop_signal;   /* 0: SIGTERM */
	uint32_t grace_ms; /* before SIGKILL at shutdown; 0: 5 s */
	int oom_score_adj; /* 0: as init's children are (0) */
	int limit_caps;	   /* 0: every capability (a root login, berthd) */
	uint64_t caps;	   /* with limit_caps: all it keeps (bit N: capability N) */
};

/* The terminal for SVC_CONSOLE services and the environment of all. */
void svc_setup(const char *console, char *const *env);

/* Copies def into the table; returns 0 or -ENOSPC. */
int svc_add(const struct svc_def *def);

void svc_start_all(uint64_t now_ms);

/* svc_add, and starts it at once (a service that arises after boot). */
int svc_add_start(const struct svc_def *def, uint64_t now_ms);

/* The service named def->name runs with def's arguments from now on: one
 * running with others is stopped (its stop signal) and started again at
 * once, one not there is added and started, one stopped for good starts
 * again; one with the same arguments is left alone. 0 or -errno. */
int svc_replace(const struct svc_def *def, uint64_t now_ms);

/* Stops the service for good (until svc_replace brings it back). */
void svc_retire(const char *name);

/* svc_retire, and svc_after_retired's wait covers this service: for a
 * stop whose last act must come before the caller's next step (a DHCP
 * client's release before a new network is set). */
void svc_retire_await(const char *name);

/* done runs from svc_tick once every service given to svc_retire_await has
 * ended, or at deadline_ms (those still running are logged and no longer
 * waited for): PID 1's loop goes on meanwhile. One wait at a time; a call
 * while one is pending moves its deadline and replaces its done. Never
 * runs once services are stopping. */
void svc_after_retired(uint64_t deadline_ms, void (*done)(void));

/* Handles the exit of a child; returns 1 when it was a service. */
int svc_child_exited(pid_t pid, int status, uint64_t now_ms);

/* Milliseconds until the next scheduled restart or the deadline of
 * svc_after_retired, or -1 for none. */
int svc_timeout_ms(uint64_t now_ms);

/* Starts the services whose restart time has come; runs
 * svc_after_retired's done when its wait is over. */
void svc_tick(uint64_t now_ms);

/* Stops every service, last started first: its stop signal, its grace
 * period (bounded by deadline_ms), then SIGKILL. No restarts afterwards. */
void svc_stop_all(uint64_t deadline_ms);

/* The pid of a running service, or 0. */
pid_t svc_pid(const char *name);

#endif
