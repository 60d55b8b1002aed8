/* A container's cgroup on the cgroup v2 (unified) hierarchy: creating it with
 * its controllers enabled, writing linux.resources into its interface files,
 * moving, freezing, signalling and listing its processes, and removing it.
 *
 * The hierarchy's mount point is a parameter (normally CGROUP_ROOT) so that
 * unit tests can run against a plain directory. Every file is opened relative
 * to the cgroup's directory fd; names from a config never travel through
 * string concatenation. Device access control (BPF) lives in devfilter.c.
 *
 * Functions return 0 or a negative errno with err set; messages name the
 * cgroup by its path below the root ("cgroup /berth/web: memory.max = 12x:
 * Invalid argument"). Only the cgroup v2 hierarchy and the cgroupfs driver
 * are supported: systemd cgroup paths are refused. */
#ifndef BERTH_OCI_CGROUP_H
#define BERTH_OCI_CGROUP_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/berr.h"
#include "oci/config.h"

#define CGROUP_ROOT "/sys/fs/cgroup"

struct cgroup {
	int dirfd;	     /* the cgroup's directory; -1 when closed */
	char path[PATH_MAX]; /* below the root, normalized: "/berth/web" */
};

/* Turns linux.cgroupsPath into a normalized path below the root: NULL or ""
 * gives "/berth-oci/ID"; a relative path is taken from the root (as runc does
 * on cgroup v2); "//" and "." collapse; "..", the root itself and systemd's
 * "slice:prefix:name" form are errors. id is only used for the default. */
int cgroup_path_resolve(char *out, size_t size, const char *cgroups_path, const char *id, struct berr *err);

/* Creates the cgroup and its missing parents below root (NULL: CGROUP_ROOT)
 * and enables cpu, cpuset, io, memory and pids (those the kernel offers) in
 * the subtree_control of every ancestor, so that the new cgroup has their
 * files. An existing cgroup is reused. */
int cgroup_create(struct cgroup *cg, const char *root, const char *cgroups_path, const char *id, struct berr *err);

/* Opens an existing cgroup; path as for cgroup_path_resolve (no default). */
int cgroup_open(struct cgroup *cg, const char *root, const char *path, struct berr *err);

/* Writes linux.resources (all but devices, see devfilter.h). Settings that
 * cgroup v2 cannot express are refused before anything is written. */
int cgroup_apply(struct cgroup *cg, const struct oci_resources *r, struct berr *err);

/* Moves a process (all its threads) into the cgroup. */
int cgroup_add_process(struct cgroup *cg, pid_t pid, struct berr *err);

/* Freezes (frozen != 0) or thaws the cgroup and its descendants, and waits
 * up to 2 s until cgroup.events reports the new state. A freeze that does
 * not complete is undone and reported as -ETIMEDOUT. */
int cgroup_freeze(struct cgroup *cg, int frozen, struct berr *err);

/* Sends sig to every process in the cgroup and its descendants. SIGKILL
 * goes through cgroup.kill, which also catches processes forked meanwhile. */
int cgroup_signal_all(struct cgroup *cg, int sig, struct berr *err);

/* The pids in the cgroup and its descendants; *pids is malloc'd (NULL when
 * *n is 0) and the caller frees it. */
int cgroup_pids(struct cgroup *cg, pid_t **pids, size_t *n, struct berr *err);

/* How many times the OOM killer killed a process in the cgroup (or below):
 * memory.events "oom_kill". */
int cgroup_oom_kills(struct cgroup *cg, uint64_t *count, struct berr *err);

/* Removes the cgroup and its (empty) descendants, deepest first, retrying
 * for about a second while exiting processes leave. A cgroup that is already
 * gone is not an error. cg stays open: cgroup_close it afterwards. */
int cgroup_destroy(struct cgroup *cg, struct berr *err);

/* Opens the cgroup a process exec'd into a container joins: the container's
 * (path), or, when that group has controllers enabled for its children (an
 * engine inside, such as dockerd, moved its own processes to a leaf), the
 * group of the container's init (init_pid), which must lie below path. */
int cgroup_open_for_exec(struct cgroup *cg, const char *root, const char *path, pid_t init_pid, struct berr *err);

void cgroup_close(struct cgroup *cg);

/* runc's conversions from cgroup v1 values to cgroup v2 weights. */
uint64_t cgroup_cpu_shares_to_weight(uint64_t shares);	    /* 2..262144 -> 1..10000 */
uint64_t cgroup_blkio_weight_to_io_weight(uint16_t weight); /* 10..1000 -> 1..10000 */

/* memory.swap.max from the OCI swap (memory + swap) and memory limits, as
 * runc computes it. Returns 1 with *out set (the swap-only limit; -1 for
 * "max") when memory.swap.max is to be written, 0 when it is left alone. */
int cgroup_swap_max(int has_swap, int64_t swap, int has_limit, int64_t limit, int64_t *out, struct berr *err);

#endif
