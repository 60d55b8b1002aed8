/* Paths inside a container's root filesystem, resolved relative to a
 * directory fd of the root with openat2(RESOLVE_IN_ROOT): a symlink in the
 * rootfs (even one pointing at "/" or "../../..") can never lead outside
 * it, and no path is ever built by string concatenation. */
#ifndef BERTH_OCI_PATHS_H
#define BERTH_OCI_PATHS_H

#include <sys/types.h>

#include "lib/berr.h"

/* Opens path (absolute or relative, interpreted inside root_fd) with
 * openat2 and RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS. */
int root_open(int root_fd, const char *path, int flags, mode_t mode, struct berr *err);

/* Creates the directories of path inside root (like mkdir -p) and returns
 * an O_PATH fd of the last one. Each component is created relative to its
 * parent's fd, so a symlink swapped in meanwhile cannot redirect it. */
int root_mkdir_p(int root_fd, const char *path, mode_t mode, struct berr *err);

/* Ensures path exists inside root as a directory (is_dir) or a regular
 * file, creating it and its parents; returns an O_PATH fd to it. */
int root_mknode(int root_fd, const char *path, int is_dir, struct berr *err);

/* "/proc/self/fd/N": a path for APIs that take paths, naming exactly the
 * object behind fd. */
void fd_path(int fd, char *out, size_t size);

#endif
