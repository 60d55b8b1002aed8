/* Telling a vfat or ISO 9660 filesystem and its label from the first bytes
 * of a block device, as blkid would, without blkid: init looks for cloud
 * metadata (labels cidata and config-2) this way. A pure function over
 * untrusted bytes (whatever a disk holds): every offset is checked against
 * the length given. */
#ifndef BERTH_FSLABEL_H
#define BERTH_FSLABEL_H

#include <stddef.h>

/* Enough bytes for both: the ISO 9660 primary volume descriptor is the
 * 2 KiB sector at 32 KiB. */
#define FSLABEL_PROBE_BYTES (32768 + 2048)

enum fs_kind {
	FS_UNKNOWN,
	FS_VFAT,
	FS_ISO9660,
};

/* The filesystem in buf (len bytes from the start of the device), with its
 * label in label (printable ASCII, trailing spaces removed; "" when it has
 * none). */
enum fs_kind fslabel_probe(const unsigned char *buf, size_t len, char *label, size_t size);

const char *fslabel_kind_name(enum fs_kind kind);

#endif
