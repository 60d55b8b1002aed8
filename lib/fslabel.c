/* vfat and ISO 9660 labels (see fslabel.h). */
#include "lib/fslabel.h"

#include <string.h>

const char *fslabel_kind_name(enum fs_kind kind)
{
	switch (kind) {
	case FS_VFAT:
		return "vfat";
	case FS_ISO9660:
		return "iso9660";
	case FS_UNKNOWN:
		break;
	}
	return "unknown";
}

static void copy_label(const unsigned char *field, size_t n, char *label, size_t size)
{
	size_t len = 0;
	for (size_t i = 0; i < n && len + 1 < size; i++) {
		unsigned char c = field[i];
		label[len++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	while (len > 0 && label[len - 1] == ' ') {
		len--;
	}
	label[len] = '\0';
}

static unsigned le16(const unsigned char *p)
{
	return (unsigned)p[0] | (unsigned)p[1] << 8;
}

static int power_of_two(unsigned v)
{
	return v != 0 && (v & (v - 1)) == 0;
}

/* A FAT boot sector: a sane BIOS parameter block, the extended boot
 * signature, and "FAT" in the file system type, at the FAT12/16 offsets or
 * the FAT32 ones (sectors per FAT is 0 there). A partition table's first
 * sector also ends in 55 AA, but fails the rest. */
static int probe_vfat(const unsigned char *b, size_t len, char *label, size_t size)
{
	if (len < 512 || b[510] != 0x55 || b[511] != 0xaa) {
		return 0;
	}
	unsigned sector = le16(b + 0x0b);
	if (sector < 512 || sector > 4096 || !power_of_two(sector) || !power_of_two(b[0x0d]) || le16(b + 0x0e) == 0 ||
	    b[0x10] == 0) {
		return 0;
	}
	size_t sig = le16(b + 0x16) == 0 ? 0x42 : 0x26; /* FAT32 : FAT12/16 */
	if (b[sig] != 0x29 || memcmp(b + sig + 0x10, "FAT", 3) != 0) {
		return 0;
	}
	copy_label(b + sig + 5, 11, label, size);
	if (strcmp(label, "NO NAME") == 0) {
		label[0] = '\0';
	}
	return 1;
}

/* The primary volume descriptor: type 1, "CD001", version 1; the volume
 * identifier is 32 characters at offset 40. */
static int probe_iso9660(const unsigned char *b, size_t len, char *label, size_t size)
{
	const unsigned char *pvd = b + 32768;
	if (len < 32768 + 2048 || pvd[0] != 1 || memcmp(pvd + 1, "CD001", 5) != 0 || pvd[6] != 1) {
		return 0;
	}
	copy_label(pvd + 40, 32, label, size);
	return 1;
}

enum fs_kind fslabel_probe(const unsigned char *buf, size_t len, char *label, size_t size)
{
	if (size == 0) {
		return FS_UNKNOWN;
	}
	label[0] = '\0';
	if (probe_iso9660(buf, len, label, size)) {
		return FS_ISO9660;
	}
	if (probe_vfat(buf, len, label, size)) {
		return FS_VFAT;
	}
	label[0] = '\0';
	return FS_UNKNOWN;
}
