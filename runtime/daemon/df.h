/* berth system df: what images, containers (their writable layers and
 * logs) and named volumes take on DATA, and how much of it is not in use.
 * Walks directories, so berthd runs it in a child (api.c). */
#ifndef BERTH_DAEMON_DF_H
#define BERTH_DAEMON_DF_H

#include <json-c/json.h>

#include "lib/berr.h"

/* {"images": {...}, "containers": {...}, "volumes": {...}}, each
 * {"total", "active", "size", "reclaimable"} (sizes in bytes), and
 * "volume_sizes": {NAME: bytes}. */
json_object *df_report(struct berr *err);

/* Bytes a directory tree takes (allocated blocks; each inode once, other
 * filesystems not entered). 0 for a missing one. */
long long df_tree_bytes(const char *path);

#endif
