/* vfat and ISO 9660 labels: filesystems made by mkfs.vfat (the tool the
 * tests and image-build use for seeds) and a hand-made ISO 9660 volume
 * descriptor are told apart, and a partition table or garbage is not
 * taken for either. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "lib/fslabel.h"

static unsigned char buf[FSLABEL_PROBE_BYTES];

/* mkfs.vfat on a file (no root needed); the size picks FAT12/16/32. */
static size_t mkfs_vfat(const char *fat, const char *kib, const char *label)
{
	char path[] = "/tmp/berth-fslabel-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0) {
		return 0;
	}
	close(fd);
	unlink(path);
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "mkfs.vfat -F %s -n '%s' -C %s %s >/dev/null 2>&1", fat, label, path, kib);
	size_t n = 0;
	if (system(cmd) == 0) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		ssize_t got = fd >= 0 ? pread(fd, buf, sizeof(buf), 0) : -1;
		n = got > 0 ? (size_t)got : 0;
		if (fd >= 0) {
			close(fd);
		}
	}
	unlink(path);
	return n;
}

static void test_vfat_labels(void)
{
	char label[64];
	size_t n = mkfs_vfat("12", "2048", "CIDATA");
	CHECK(n > 0);
	CHECK_EQ_INT(fslabel_probe(buf, n, label, sizeof(label)), FS_VFAT);
	CHECK(strcmp(label, "CIDATA") == 0);
	n = mkfs_vfat("16", "20480", "config-2");
	CHECK_EQ_INT(fslabel_probe(buf, n, label, sizeof(label)), FS_VFAT);
	CHECK(strcmp(label, "config-2") == 0);
	n = mkfs_vfat("32", "40960", "cidata");
	CHECK_EQ_INT(fslabel_probe(buf, n, label, sizeof(label)), FS_VFAT);
	CHECK(strcmp(label, "cidata") == 0);
	/* Too short to hold the boot sector. */
	CHECK_EQ_INT(fslabel_probe(buf, 100, label, sizeof(label)), FS_UNKNOWN);
	/* A label longer than the caller's buffer is cut, still terminated. */
	char small[4];
	CHECK_EQ_INT(fslabel_probe(buf, n, small, sizeof(small)), FS_VFAT);
	CHECK(strcmp(small, "cid") == 0);
}

static void test_iso9660_label(void)
{
	char label[64];
	memset(buf, 0, sizeof(buf));
	unsigned char *pvd = buf + 32768;
	pvd[0] = 1;
	memcpy(pvd + 1, "CD001", 5);
	pvd[6] = 1;
	memset(pvd + 40, ' ', 32);
	memcpy(pvd + 40, "config-2", 8);
	CHECK_EQ_INT(fslabel_probe(buf, sizeof(buf), label, sizeof(label)), FS_ISO9660);
	CHECK(strcmp(label, "config-2") == 0);
	CHECK_EQ_INT(fslabel_probe(buf, sizeof(buf) - 1, label, sizeof(label)), FS_UNKNOWN);
	pvd[6] = 2;
	CHECK_EQ_INT(fslabel_probe(buf, sizeof(buf), label, sizeof(label)), FS_UNKNOWN);
}

static void test_partition_table_and_garbage(void)
{
	char label[64];
	/* A protective MBR ends in 55 AA like a boot sector. */
	memset(buf, 0, sizeof(buf));
	buf[510] = 0x55;
	buf[511] = 0xaa;
	buf[0x1c2] = 0xee;
	CHECK_EQ_INT(fslabel_probe(buf, sizeof(buf), label, sizeof(label)), FS_UNKNOWN);
	CHECK(label[0] == '\0');
	for (size_t i = 0; i < sizeof(buf); i++) {
		buf[i] = (unsigned char)(i * 131 + 7);
	}
	CHECK_EQ_INT(fslabel_probe(buf, sizeof(buf), label, sizeof(label)), FS_UNKNOWN);
}

int main(void)
{
	RUN(test_vfat_labels);
	RUN(test_iso9660_label);
	RUN(test_partition_table_and_garbage);
	return check_summary();
}
