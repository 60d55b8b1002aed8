/* A container's files: its directory on DATA (record.json, config.json,
 * the overlay's upper and work directories, its log), its run-time
 * directory under /run/berth/c/NAME (the monitor's files and the root
 * filesystem's mount point), and the named volumes under DATA/volumes.
 * The root filesystem is an overlay of the image's layers with the upper
 * directory on top (none for read_only containers). */
#ifndef BERTH_BUNDLE_H
#define BERTH_BUNDLE_H

#include "daemon/ctr.h"
#include "lib/berr.h"

#define VOLUMES_DIR BERTH_DATA_DIR "/volumes"

/* Makes the directories, mounts the root filesystem (when not mounted
 * yet) and writes config.json: ready for `berth-oci create`. */
int bundle_prepare(const struct ctr *c, struct berr *err);

/* Unmounts the root filesystem and clears the run-time directory. */
void bundle_release(const struct ctr *c);

/* bundle_release, then deletes the container's directory on DATA. */
int bundle_remove(const struct ctr *c, struct berr *err);

/* The directory of a named volume, created when missing (*created set). */
int volume_path(const char *name, char *out, size_t size, int *created, struct berr *err);

/* Gives a new volume what the image has at target (Docker's copy-up):
 * files, directories and symlinks with their owners and modes, and the
 * directory's own owner and mode. target is resolved inside image_root.
 * Nothing happens when the image has nothing there. */
int volume_populate(const char *image_root, const char *target, const char *volume, struct berr *err);

/* Deletes a directory tree without following symlinks (openat-based). */
int remove_tree(const char *path, struct berr *err);

#endif
