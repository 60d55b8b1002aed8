/* Watches DATA while the host runs: every few seconds a statvfs of /data
 * and ext4's error count in sysfs (no disk I/O) tell whether it is full,
 * or has failed: an I/O error or damage that ext4 counted (after which it
 * may stop writing, as when its journal cannot be written), or made
 * read-only. Each change is said
 * once, in the host log; a failure also on the console and in
 * /run/berth/data-failed (shown at login and by `berth info`), the way a
 * DATA on tmpfs is. */
#ifndef BERTH_INIT_DATAWATCH_H
#define BERTH_INIT_DATAWATCH_H

#include "init/disks.h"

/* Starts the timer when DATA is on disk; the loop must exist. */
void datawatch_start(const struct disks *d);

#endif
