/* Removing directory trees the store owns (unpacked layers, temporary
 * imports), relative to a directory fd: never follows a symlink, never
 * crosses into a path string built from names found on disk, and holds a
 * bounded number of fds however deep the tree is. */
#ifndef BERTH_FSTREE_H
#define BERTH_FSTREE_H

#include <dirent.h>
#include <stdint.h>

#include "lib/berr.h"

/* Removes name in dirfd and everything under it. Adds the bytes of disk
 * space released (st_blocks of files removed for good) to *freed when
 * freed is not NULL. A name that does not exist is not an error. */
int fstree_remove(int dirfd, const char *name, uint64_t *freed, struct berr *err);

/* A directory stream of its own over dirfd's directory (a new open file
 * description: a dup would share the offset, and a second readdir pass
 * would start at the end). NULL with errno set on failure. */
DIR *fstree_opendir(int dirfd);

/* Creates a directory in dirfd named prefix + random hex (written to
 * name, of size >= strlen(prefix) + 17), mode 0700. */
int fstree_mkdtemp(int dirfd, const char *prefix, char *name, size_t size, struct berr *err);

#endif
