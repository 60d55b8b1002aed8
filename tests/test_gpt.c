/* GPT growth, checked against an independent implementation: tables are
 * made by sfdisk, grown by lib/gpt.c, and verified by sfdisk again. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "lib/gpt.h"

#define MIB (1024LL * 1024)

static char dir[] = "/tmp/berth-test-gpt.XXXXXX";

/* An image shaped like Berth's: DATA last, BIOS boot partition numbered 6
 * but first on disk. */
static void make_image(const char *img, long long mib)
{
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "truncate -s %lldM %s", mib, img);
	if (system(cmd) != 0) {
		exit(2);
	}
	snprintf(cmd, sizeof(cmd),
		 "printf 'label: gpt\\nunit: sectors\\nfirst-lba: 2048\\n"
		 "%s6 : start=2048, size=2048, name=\"BIOS-BOOT\"\\n"
		 "%s1 : start=4096, size=8192, name=\"ESP\"\\n"
		 "%s4 : start=12288, size=8192, name=\"BERTH-CONFIG\"\\n"
		 "%s5 : start=20480, size=16384, name=\"BERTH-DATA\"\\n' | sfdisk -q %s",
		 img, img, img, img, img);
	if (system(cmd) != 0) {
		exit(2);
	}
}

static int sfdisk_verify(const char *img)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "sfdisk --verify %s >/dev/null 2>&1", img);
	return system(cmd);
}

static void grow_file(const char *img, long long mib)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "truncate -s %lldM %s", mib, img);
	if (system(cmd) != 0) {
		exit(2);
	}
}

static int load(const char *img, struct gpt *g, struct berr *err)
{
	int fd = open(img, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		return -1;
	}
	int ret = gpt_load(fd, g, err);
	close(fd);
	return ret;
}

static int grow(const char *img, const char *name, struct berr *err)
{
	int fd = open(img, O_RDWR | O_CLOEXEC);
	struct gpt g;
	int ret = gpt_load(fd, &g, err);
	if (ret == 0) {
		struct gpt_part p;
		int idx = gpt_find(&g, name, &p) == 0 ? p.index : -1;
		uint64_t old = g.alternate_lba;
		ret = gpt_plan_grow(&g, idx, err);
		if (ret >= 0 && gpt_write(fd, &g, old, err) < 0) {
			ret = -1;
		}
		gpt_free(&g);
	}
	close(fd);
	return ret;
}

static void test_finds_partitions_by_name(void)
{
	char img[256];
	snprintf(img, sizeof(img), "%s/find.img", dir);
	make_image(img, 64);
	struct gpt g;
	struct berr err;
	CHECK_EQ_INT(load(img, &g, &err), 0);
	struct gpt_part p;
	CHECK_EQ_INT(gpt_find(&g, "BERTH-DATA", &p), 0);
	CHECK_EQ_INT(p.index, 4);
	CHECK_EQ_INT(p.first_lba, 20480);
	CHECK_EQ_INT(gpt_find(&g, "BIOS-BOOT", &p), 0);
	CHECK_EQ_INT(p.index, 5);
	CHECK(gpt_find(&g, "BERTH-NOPE", &p) < 0);
	CHECK(!gpt_disk_grew(&g));
	gpt_free(&g);
}

static void test_grows_last_partition_to_disk_end(void)
{
	char img[256];
	snprintf(img, sizeof(img), "%s/grow.img", dir);
	make_image(img, 64);
	grow_file(img, 300);
	struct gpt g;
	struct berr err;
	CHECK_EQ_INT(load(img, &g, &err), 0);
	CHECK(gpt_disk_grew(&g));
	gpt_free(&g);
	CHECK_EQ_INT(grow(img, "BERTH-DATA", &err), 1);
	CHECK_EQ_INT(sfdisk_verify(img), 0);
	CHECK_EQ_INT(load(img, &g, &err), 0);
	CHECK(!gpt_disk_grew(&g));
	struct gpt_part p;
	CHECK_EQ_INT(gpt_find(&g, "BERTH-DATA", &p), 0);
	/* Ends on a 1 MiB boundary within the last MiB of usable space. */
	CHECK_EQ_INT((p.last_lba + 1) % 2048, 0);
	CHECK(p.last_lba <= g.last_usable);
	CHECK(g.last_usable - p.last_lba < 2048);
	CHECK_EQ_INT(g.alternate_lba, 300 * MIB / 512 - 1);
	gpt_free(&g);
	/* Growing again changes nothing. */
	CHECK_EQ_INT(grow(img, "BERTH-DATA", &err), 0);
	CHECK_EQ_INT(sfdisk_verify(img), 0);
}

static void test_moves_table_only_when_partition_not_last(void)
{
	char img[256];
	snprintf(img, sizeof(img), "%s/notlast.img", dir);
	make_image(img, 64);
	grow_file(img, 128);
	struct berr err;
	CHECK_EQ_INT(grow(img, "BERTH-CONFIG", &err), 0);
	CHECK_EQ_INT(sfdisk_verify(img), 0);
	struct gpt g;
	CHECK_EQ_INT(load(img, &g, &err), 0);
	struct gpt_part p;
	gpt_find(&g, "BERTH-CONFIG", &p);
	CHECK_EQ_INT(p.last_lba, 12288 + 8192 - 1);
	CHECK(!gpt_disk_grew(&g));
	gpt_free(&g);
}

static void test_rejects_corrupt_header(void)
{
	char img[256];
	snprintf(img, sizeof(img), "%s/corrupt.img", dir);
	make_image(img, 64);
	int fd = open(img, O_RDWR | O_CLOEXEC);
	unsigned char b = 0x5a;
	CHECK_EQ_INT(pwrite(fd, &b, 1, 512 + 60), 1); /* inside the disk GUID */
	close(fd);
	struct gpt g;
	struct berr err;
	CHECK(load(img, &g, &err) < 0);
	CHECK_STR_CONTAINS(err.msg, "checksum");
}

static void test_rejects_shrunk_disk(void)
{
	char img[256];
	snprintf(img, sizeof(img), "%s/shrunk.img", dir);
	make_image(img, 64);
	grow_file(img, 20);
	struct gpt g;
	struct berr err;
	CHECK(load(img, &g, &err) < 0);
	CHECK_STR_CONTAINS(err.msg, "larger than this one");
}

static void test_rejects_no_table(void)
{
	char img[256];
	snprintf(img, sizeof(img), "%s/blank.img", dir);
	grow_file(img, 8);
	struct gpt g;
	struct berr err;
	CHECK(load(img, &g, &err) < 0);
	CHECK_STR_CONTAINS(err.msg, "no GPT header");
}

/* Random damage to a valid header must be rejected or parsed sanely,
 * never crash (the buffers are checked by ASan here). */
static void test_parse_survives_garbage(void)
{
	uint8_t hdr[512];
	uint8_t entries[128 * 128];
	unsigned seed = 12345;
	for (int round = 0; round < 2000; round++) {
		for (size_t i = 0; i < sizeof(hdr); i++) {
			seed = seed * 1103515245u + 12345u;
			hdr[i] = (uint8_t)(seed >> 16);
		}
		memcpy(hdr, "EFI PART", 8);
		memset(entries, (int)(seed & 0xff), sizeof(entries));
		struct gpt g;
		struct berr err;
		if (gpt_parse(&g, 512, 100000, hdr, entries, sizeof(entries), &err) == 0) {
			gpt_free(&g);
		}
	}
	CHECK(1);
}

int main(void)
{
	if (check_tmpdir(dir) < 0) {
		return 2;
	}
	RUN(test_finds_partitions_by_name);
	RUN(test_grows_last_partition_to_disk_end);
	RUN(test_moves_table_only_when_partition_not_last);
	RUN(test_rejects_corrupt_header);
	RUN(test_rejects_shrunk_disk);
	RUN(test_rejects_no_table);
	RUN(test_parse_survives_garbage);
	return check_summary();
}
