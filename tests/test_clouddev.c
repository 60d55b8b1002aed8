/* Which disks init searches for cloud metadata: every one but its own boot
 * disk (and that disk's partitions) and the virtual block devices. */
#include "check.h"
#include "init/cloud.h"

static void test_boot_disk_and_its_partitions(void)
{
	CHECK(cloud_skipped_device("vda", "vda"));
	CHECK(cloud_skipped_device("vda5", "vda"));
	CHECK(!cloud_skipped_device("vdb", "vda"));
	CHECK(!cloud_skipped_device("vdaa", "vda"));
	CHECK(cloud_skipped_device("nvme0n1p4", "nvme0n1"));
	CHECK(!cloud_skipped_device("nvme0n10", "nvme0n1"));
	CHECK(!cloud_skipped_device("nvme0n1p", "nvme0n1"));
	CHECK(cloud_skipped_device("mmcblk0p1", "mmcblk0"));
	CHECK(!cloud_skipped_device("sr0", "sda"));
	CHECK(!cloud_skipped_device("sda", ""));
}

static void test_virtual_devices(void)
{
	CHECK(cloud_skipped_device("loop0", "vda"));
	CHECK(cloud_skipped_device("dm-0", "vda"));
	CHECK(cloud_skipped_device("ram1", "vda"));
	CHECK(cloud_skipped_device("zram0", "vda"));
	CHECK(cloud_skipped_device("md127", "vda"));
}

int main(void)
{
	RUN(test_boot_disk_and_its_partitions);
	RUN(test_virtual_devices);
	return check_summary();
}
