/* Cloud metadata at boot: finds a NoCloud seed (a vfat or ISO 9660
 * filesystem labelled cidata) or an OpenStack config drive (config-2) on
 * any disk but the boot disk, reads it once, and fills in what host.yaml
 * leaves open (lib/cloudmeta.h). Runs in PID 1 before the host is set up:
 * it reads 34 KiB of each disk and a few small files, skips empty drives,
 * and never fails the boot: whatever is wrong is a log line naming the
 * file and field, and the defaults stay. The outcome is written to
 * /run/berth/metadata, which `berth info` prints. */
#ifndef BERTH_INIT_CLOUD_H
#define BERTH_INIT_CLOUD_H

#include "lib/hostcfg.h"

#define CLOUD_SUMMARY "/run/berth/metadata"

/* boot_disk: the disk init booted from ("vda"), never searched; may be "". */
void cloud_setup(struct host_config *cfg, const char *boot_disk);

/* Whether block device name is never searched: loop, RAM, device-mapper
 * and md devices, and boot_disk with its partitions. */
int cloud_skipped_device(const char *name, const char *boot_disk);

#endif
