/* Finding Berth's partitions by GPT name through sysfs, on the disk that
 * holds the running root filesystem (so a second Berth disk or USB stick
 * plugged into the same machine is never mistaken for this one). */
#ifndef BERTH_BLKDEV_H
#define BERTH_BLKDEV_H

#include <stddef.h>

#include "lib/berr.h"

/* The whole disk ("vda", "nvme0n1") holding the filesystem at path. */
int blk_disk_of(const char *path, char *disk, size_t size, struct berr *err);

/* The partition named label on disk: its device node ("/dev/vda5") and
 * number. -ENOENT when the disk has no such partition. */
int blk_find_partition(const char *disk, const char *label, char *devnode, size_t size, int *partno, struct berr *err);

#endif
