/* berthd's event loop (loop.c): one thread, epoll over a signalfd, the
 * API socket, client connections, monitors' status pipes and pidfds, and
 * one timerfd for every deadline (restart backoff, stop grace periods,
 * healthchecks). Nothing here blocks for long: slow work (image imports,
 * following logs) runs in forked children. The loop knows nothing of
 * containers: the deadlines come from the hooks berthd gives it. */
#ifndef BERTH_DAEMON_H
#define BERTH_DAEMON_H

#include <stdint.h>
#include <sys/types.h>

#include "daemon/watch.h"
#include "lib/berr.h"

#define OCI_ROOT "/run/berth/oci"
#define CONFIG_DIR "/config"

/* A child process berthd waits for that is not a monitor. */
struct child {
	struct child *next;
	pid_t pid;
	void (*done)(struct child *ch, int status); /* NULL: nobody waits for it any more */
	void *ctx;
};

struct loop_hooks {
	int64_t (*next_deadline)(void); /* the earliest monotonic deadline in ms, or -1 */
	void (*deadline)(void);		/* the timer went off: run what is due */
};

struct daemon {
	int epfd;
	int timerfd;
	struct watch timer_watch;
	struct child *children;
	struct loop_hooks hooks;
	char config_dir[256]; /* CONFIG_DIR, or berthd --config */
};

extern struct daemon D;

/* Creates the epoll set and the timer. */
int loop_setup(const struct loop_hooks *hooks, struct berr *err);

/* Waits for one event and handles it: 0, or -1 when epoll failed. */
int loop_run_once(void);

/* Re-arms the timer for the earliest deadline (hooks.next_deadline). */
void loop_rearm_timer(void);

/* Registers a forked child for its exit. */
struct child *child_add(pid_t pid, void (*done)(struct child *, int), void *ctx);

/* Reaps exited children (on SIGCHLD) and calls their done. */
void loop_reap(void);

/* Spawns the OCI runtime (this binary as berth-oci) with --root OCI_ROOT
 * and args; waits for it when wait is set and returns its exit status
 * (captured stderr in err on failure). */
int oci_run(char *const *args, int wait, struct berr *err);

#endif
