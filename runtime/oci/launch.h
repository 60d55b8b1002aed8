/* Starting a container's process, for `create` (a new container) and for
 * `exec` (a process joining a running one).
 *
 * berth-oci (the parent) forks a first child, which joins the namespaces
 * given by path, enters or creates the user namespace (the parent writes
 * its id maps), creates the other new namespaces, and clones the container
 * process as a sibling (CLONE_PARENT, so that berth-oci can wait for it);
 * the PID and time namespaces apply from that process on. For `create` the
 * container process then builds the root filesystem, lets the parent run
 * the prestart and createRuntime hooks, runs createContainer hooks,
 * pivots, and waits on the exec fifo until `start`. Both end in the same
 * final step: limits, identity, capabilities, seccomp, cwd, execve.
 *
 * Every step reports failure to the parent over the sync socket, so the
 * user sees why (sync.h). */
#ifndef BERTH_OCI_LAUNCH_H
#define BERTH_OCI_LAUNCH_H

#include <sys/types.h>

#include "lib/berr.h"
#include "oci/config.h"

struct launch;

/* Called by the parent when the container is ready for prestart and
 * createRuntime hooks (create only). */
typedef int (*launch_hooks_fn)(struct launch *l, struct berr *err);

struct launch {
	/* What to run. */
	const struct oci_config *cfg;
	const struct oci_process *proc;
	const char *id;
	const char *bundle;
	const char *rootfs; /* absolute */
	int fifo_fd;	    /* create: the exec fifo, open for reading (the container
			     * may not be able to open it itself: it is root's, and
			     * the container may be in a user namespace) */
	const char *cgroup_path;
	int cgroup_dirfd; /* the process is placed in this cgroup; -1: none */
	int console_fd;	  /* a connected console socket, or -1 */
	int no_pivot;
	pid_t join_pid;	  /* exec: the container's process */
	int exec_root_fd; /* exec into a container without a mount namespace: its root (set by launch) */
	int *bind_trees;  /* create in a user namespace: the bind sources cloned before (set by launch) */
	launch_hooks_fn hooks;
	void *data; /* for the hooks callback */

	/* Results. */
	pid_t pid; /* the container's (or exec'd) process, as the parent sees it */
};

/* Runs the setup until the process is created (create: waiting for start)
 * or about to execve (exec). On failure, what was started is killed. */
int launch_start(struct launch *l, struct berr *err);

/* The container's state JSON as hooks get it, with status. */
int launch_state_json(const struct launch *l, const char *status, char **out, struct berr *err);

#endif
