/* berthd's shared state and event loop: one thread, epoll over a signalfd,
 * the API socket, client connections, monitors' status pipes and pidfds,
 * and one timerfd for every deadline (restart backoff, stop grace periods,
 * healthchecks). Nothing here blocks for long: slow work (image imports,
 * following logs) runs in forked children. */
#ifndef BERTH_DAEMON_H
#define BERTH_DAEMON_H

#include <stdint.h>
#include <sys/types.h>

#include "daemon/ctr.h"
#include "daemon/watch.h"

#define OCI_ROOT "/run/berth/oci"
#define CONFIG_DIR "/config"

/* A child process berthd waits for that is not a monitor. */
struct child {
	struct child *next;
	pid_t pid;
	void (*done)(struct child *ch, int status);
	void *ctx;
	int conn_fd; /* a client connection the child's result goes to; -1: none */
};

struct daemon {
	int epfd;
	int timerfd;
	struct ctr *ctrs;
	struct child *children;
	int shutting_down;
	const char *self_exe; /* /proc/self/exe, opened at start */
	char config_dir[256];
};

extern struct daemon D;

/* Re-arms the timer for the earliest deadline of all containers. */
void loop_rearm_timer(void);

/* Registers a forked child for its exit. */
struct child *child_add(pid_t pid, void (*done)(struct child *, int), void *ctx);

struct ctr *ctr_find(const char *name);
void ctr_link(struct ctr *c);
void ctr_unlink(struct ctr *c);

/* Spawns the OCI runtime (this binary as berth-oci) with --root OCI_ROOT
 * and args; waits for it when wait is set and returns its exit status
 * (captured stderr in err on failure). */
int oci_run(char *const *args, int wait, struct berr *err);

#endif
