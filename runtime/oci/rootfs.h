/* The container's root filesystem: its mounts, device nodes, /dev links,
 * pivot_root, masked and read-only paths, the read-only root, and
 * namespaced sysctls. Runs in the container's mount namespace, as the
 * container's init, before the process is executed. Every target is
 * resolved inside the root (paths.h) and mounted by fd, so that no
 * symlink in the rootfs, and no file swapped in meanwhile, can make a
 * mount land outside the container. */
#ifndef BERTH_OCI_ROOTFS_H
#define BERTH_OCI_ROOTFS_H

#include "lib/berr.h"
#include "oci/config.h"

struct rootfs_ctx {
	const struct oci_config *cfg;
	const char *rootfs;	 /* absolute path of the root on the host */
	const char *cgroup_path; /* the container's cgroup, for /sys/fs/cgroup without a cgroup namespace */
	int in_userns;		 /* a new user namespace: no mknod, devices are bound */
	int new_netns;
	int new_cgroupns;
	/* A new mount namespace. Without one (the config names none: the
	 * runtime's is inherited, as the spec says) nothing is mounted and
	 * the root is entered with chroot; configs that need mounts are
	 * refused before this (see oci_config_check_mountns). */
	int new_mountns;
	int root_fd; /* O_PATH fd of the root, set by rootfs_prepare */
	/* The bind mounts' sources cloned before the user namespace was
	 * entered, one per config mount (-1: none), or NULL; each is used
	 * and closed by rootfs_prepare. */
	int *bind_trees;
};

/* Clones the source of every bind mount of cfg (open_tree, its options and
 * idmap applied) into trees[i] (-1 for the other mounts, or where that
 * fails: rootfs_prepare then tries again and names the error). Called as the runtime's user, before a
 * user namespace is entered: there, a source under a directory only the
 * host's root may search could not be reached (crun and runc open them
 * there too). */
void rootfs_clone_bind_sources(const struct oci_config *cfg, int *trees);

/* Before pivot_root: every mount of the new namespace made a slave (or
 * private) recursively, so that nothing mounted here reaches the host's
 * namespace; the root bound onto itself, the config's mounts in order,
 * devices and /dev links. */
int rootfs_prepare(struct rootfs_ctx *c, struct berr *err);

/* pivot_root into the root (chroot with no_pivot, for roots on ramfs). */
int rootfs_pivot(struct rootfs_ctx *c, int no_pivot, struct berr *err);

/* After pivot_root: sysctls, masked and read-only paths, read-only root,
 * and last linux.rootfsPropagation on the new /. */
int rootfs_finish(struct rootfs_ctx *c, struct berr *err);

/* Binds the pty slave (an open fd) over /dev/console, safely. */
int rootfs_bind_console(int slave_fd, struct berr *err);

/* Opens a file under /proc for writing and checks that it is on procfs
 * (not something mounted over it by a container): rel is relative to
 * /proc, like "self/oom_score_adj" or "sys/net/ipv4/ip_forward". */
int proc_open_verified(const char *rel, int flags, struct berr *err);

#endif
