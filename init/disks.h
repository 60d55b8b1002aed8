/* The CONFIG and DATA partitions: found by GPT name on the boot disk,
 * checked with e2fsck, DATA created on first boot, grown to fill the disk
 * when the disk is larger than the partition table says, and mounted.
 * Nothing here can stop the boot: a CONFIG that cannot be used means
 * defaults, a DATA that cannot be used means a tmpfs and a loud warning. */
#ifndef BERTH_INIT_DISKS_H
#define BERTH_INIT_DISKS_H

#define CONFIG_LABEL "BERTH-CONFIG"
#define DATA_LABEL "BERTH-DATA"
#define CONFIG_MOUNT "/config"
#define DATA_MOUNT "/data"

enum data_state {
	DATA_ON_DISK,
	DATA_ON_TMPFS, /* DATA unusable: nothing written survives a reboot */
};

struct disks {
	char disk[64];
	int config_mounted;
	enum data_state data;
	char data_problem[256]; /* why DATA is on tmpfs */
	char data_dev[96];	/* DATA's block device ("/dev/vda5") when on disk */
};

void disks_setup(struct disks *d);

#endif
