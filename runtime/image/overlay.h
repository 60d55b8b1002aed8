/* overlayfs mounts for container roots: the option string from a stack of
 * lower directories (lowest first, the way images list layers; overlayfs
 * wants the topmost first) and an optional upper/work pair, checked
 * against what the kernel accepts before mount(2) sees it. */
#ifndef BERTH_OVERLAY_H
#define BERTH_OVERLAY_H

#include <stddef.h>

#include "lib/berr.h"

/* Writes "lowerdir=top:...:bottom[,upperdir=U,workdir=W][,index=off]".
 * Paths may not contain ',', ':' or '\\' (overlayfs separators). The
 * string must fit in one page (the kernel copies mount data that way):
 * longer is an error that says how many layers it holds. */
int overlay_options(const char *const *lowers, size_t nlowers, const char *upper, const char *work, char *buf,
		    size_t size, struct berr *err);

/* Mounts on target. Without upper and work, the mount is read-only; one
 * lower directory then is bind-mounted read-only (overlayfs needs two
 * lower layers when it has no upper one). flags are extra MS_* flags
 * (MS_NODEV, MS_NOSUID, ...). */
int overlay_mount(const char *const *lowers, size_t nlowers, const char *upper, const char *work, const char *target,
		  unsigned long flags, struct berr *err);

#endif
