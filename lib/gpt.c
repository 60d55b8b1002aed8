/* GUID partition tables (see gpt.h). Everything read from disk is checked
 * (signature, sizes, CRCs) before it is used; a table that fails a check is
 * never written back. */
#include "lib/gpt.h"

#include <errno.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/crc32.h"

enum {
	H_SIGNATURE = 0,
	H_HEADER_SIZE = 12,
	H_HEADER_CRC = 16,
	H_MY_LBA = 24,
	H_ALTERNATE_LBA = 32,
	H_FIRST_USABLE = 40,
	H_LAST_USABLE = 48,
	H_ENTRIES_LBA = 72,
	H_ENTRY_COUNT = 80,
	H_ENTRY_SIZE = 84,
	H_ENTRIES_CRC = 88,
	E_UNIQUE_GUID = 16,
	E_FIRST_LBA = 32,
	E_LAST_LBA = 40,
	E_NAME = 56,
	E_NAME_CHARS = 36,
};

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++) {
		p[i] = (uint8_t)(v >> (8 * i));
	}
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

static int entry_used(const uint8_t *e)
{
	for (int i = 0; i < 16; i++) {
		if (e[i] != 0) {
			return 1;
		}
	}
	return 0;
}

static uint32_t header_crc(const uint8_t *hdr)
{
	uint8_t copy[512];
	uint32_t size = get32(hdr + H_HEADER_SIZE);
	memcpy(copy, hdr, size);
	put32(copy + H_HEADER_CRC, 0);
	return crc32_ieee(copy, size);
}

int gpt_entries_span(const uint8_t *hdr, uint32_t sector, size_t *bytes, uint64_t *lba, struct berr *err)
{
	if (memcmp(hdr + H_SIGNATURE, "EFI PART", 8) != 0) {
		return berr_setx(err, EINVAL, "no GPT header (signature missing)");
	}
	uint32_t count = get32(hdr + H_ENTRY_COUNT);
	uint32_t size = get32(hdr + H_ENTRY_SIZE);
	if (size < 128 || size > GPT_ENTRY_SIZE_MAX || size % 8 != 0) {
		return berr_setx(err, EINVAL, "GPT entry size %u is invalid", size);
	}
	if (count == 0 || count > GPT_MAX_ENTRIES) {
		return berr_setx(err, EINVAL, "GPT entry count %u is out of range (1..%d)", count, GPT_MAX_ENTRIES);
	}
	size_t total = (size_t)count * size;
	/* Whole sectors, as the array is read and written by sector. */
	*bytes = (total + sector - 1) / sector * sector;
	*lba = get64(hdr + H_ENTRIES_LBA);
	return 0;
}

int gpt_parse(struct gpt *g, uint32_t sector, uint64_t disk_sectors, const uint8_t *hdr, const uint8_t *entries,
	      size_t entries_len, struct berr *err)
{
	memset(g, 0, sizeof(*g));
	if (sector < 512 || sector > 4096 || (sector & (sector - 1)) != 0) {
		return berr_setx(err, EINVAL, "sector size %u is not supported", sector);
	}
	size_t span;
	uint64_t entries_lba;
	int ret = gpt_entries_span(hdr, sector, &span, &entries_lba, err);
	if (ret < 0) {
		return ret;
	}
	uint32_t hsize = get32(hdr + H_HEADER_SIZE);
	if (hsize < 92 || hsize > 512) {
		return berr_setx(err, EINVAL, "GPT header size %u is invalid", hsize);
	}
	if (header_crc(hdr) != get32(hdr + H_HEADER_CRC)) {
		return berr_setx(err, EINVAL, "GPT header checksum mismatch");
	}
	if (get64(hdr + H_MY_LBA) != 1) {
		return berr_setx(err, EINVAL, "primary GPT header does not point at itself");
	}
	g->sector = sector;
	g->disk_sectors = disk_sectors;
	g->entry_count = get32(hdr + H_ENTRY_COUNT);
	g->entry_size = get32(hdr + H_ENTRY_SIZE);
	g->entries_bytes = (size_t)g->entry_count * g->entry_size;
	g->alternate_lba = get64(hdr + H_ALTERNATE_LBA);
	g->last_usable = get64(hdr + H_LAST_USABLE);
	uint64_t first_usable = get64(hdr + H_FIRST_USABLE);
	if (entries_len < g->entries_bytes) {
		return berr_setx(err, EINVAL, "GPT entry array is truncated");
	}
	if (crc32_ieee(entries, g->entries_bytes) != get32(hdr + H_ENTRIES_CRC)) {
		return berr_setx(err, EINVAL, "GPT entry array checksum mismatch");
	}
	if (g->alternate_lba >= disk_sectors || g->last_usable >= g->alternate_lba || first_usable > g->last_usable) {
		return berr_setx(
			err, EINVAL,
			"GPT describes a disk larger than this one (backup header at LBA %llu, disk has %llu sectors)",
			(unsigned long long)g->alternate_lba, (unsigned long long)disk_sectors);
	}
	if (entries_lba < 2 || entries_lba + span / sector > first_usable) {
		return berr_setx(err, EINVAL, "GPT entry array overlaps the usable area");
	}
	for (uint32_t i = 0; i < g->entry_count; i++) {
		const uint8_t *e = entries + (size_t)i * g->entry_size;
		if (!entry_used(e)) {
			continue;
		}
		uint64_t first = get64(e + E_FIRST_LBA);
		uint64_t last = get64(e + E_LAST_LBA);
		if (first > last || first < first_usable || last > g->last_usable) {
			return berr_setx(err, EINVAL, "GPT partition %u lies outside the usable area", i + 1);
		}
	}
	memcpy(g->header, hdr, 512);
	g->entries = malloc(g->entries_bytes);
	if (g->entries == NULL) {
		return berr_set(err, ENOMEM, "GPT entries");
	}
	memcpy(g->entries, entries, g->entries_bytes);
	return 0;
}

void gpt_free(struct gpt *g)
{
	free(g->entries);
	g->entries = NULL;
}

static void entry_name(const uint8_t *e, char *out)
{
	int i;
	for (i = 0; i < E_NAME_CHARS; i++) {
		uint16_t c = (uint16_t)(e[E_NAME + 2 * i] | e[E_NAME + 2 * i + 1] << 8);
		if (c == 0) {
			break;
		}
		out[i] = c < 0x80 ? (char)c : '?';
	}
	out[i] = '\0';
}

/* A GUID in its text form: the first three fields are little-endian on
 * disk, the last two big-endian (as the kernel's PARTUUID= reads it). */
static void entry_guid(const uint8_t *g, char out[37])
{
	static const int order[16] = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10) {
			out[o++] = '-';
		}
		out[o++] = hex[g[order[i]] >> 4];
		out[o++] = hex[g[order[i]] & 15];
	}
	out[o] = '\0';
}

int gpt_find(const struct gpt *g, const char *name, struct gpt_part *part)
{
	for (uint32_t i = 0; i < g->entry_count; i++) {
		const uint8_t *e = g->entries + (size_t)i * g->entry_size;
		if (!entry_used(e)) {
			continue;
		}
		char n[E_NAME_CHARS + 1];
		entry_name(e, n);
		if (strcmp(n, name) == 0) {
			part->index = (int)i;
			part->first_lba = get64(e + E_FIRST_LBA);
			part->last_lba = get64(e + E_LAST_LBA);
			memcpy(part->name, n, sizeof(part->name));
			entry_guid(e + E_UNIQUE_GUID, part->guid);
			return 0;
		}
	}
	return -ENOENT;
}

int gpt_disk_grew(const struct gpt *g)
{
	return g->alternate_lba != g->disk_sectors - 1;
}

int gpt_plan_grow(struct gpt *g, int part_index, struct berr *err)
{
	if (!gpt_disk_grew(g)) {
		return 0;
	}
	uint64_t entry_sectors = (g->entries_bytes + g->sector - 1) / g->sector;
	uint64_t new_alternate = g->disk_sectors - 1;
	if (new_alternate <= entry_sectors + 1) {
		return berr_setx(err, EINVAL, "disk too small for a GPT");
	}
	uint64_t new_last_usable = new_alternate - entry_sectors - 1;
	if (new_last_usable < g->last_usable) {
		return berr_setx(err, EINVAL, "disk shrank below its partition table (last usable LBA %llu > %llu)",
				 (unsigned long long)g->last_usable, (unsigned long long)new_last_usable);
	}
	int grew = 0;
	if (part_index >= 0 && (uint32_t)part_index < g->entry_count) {
		uint8_t *target = g->entries + (size_t)part_index * g->entry_size;
		uint64_t target_last = get64(target + E_LAST_LBA);
		int is_last = entry_used(target);
		for (uint32_t i = 0; i < g->entry_count && is_last; i++) {
			const uint8_t *e = g->entries + (size_t)i * g->entry_size;
			if ((int)i != part_index && entry_used(e) && get64(e + E_LAST_LBA) > target_last) {
				is_last = 0;
			}
		}
		uint64_t align = (1024 * 1024) / g->sector;
		uint64_t new_end = (new_last_usable + 1) / align * align - 1;
		if (is_last && new_end > target_last) {
			put64(target + E_LAST_LBA, new_end);
			grew = 1;
		}
	}
	g->alternate_lba = new_alternate;
	g->last_usable = new_last_usable;
	put64(g->header + H_ALTERNATE_LBA, new_alternate);
	put64(g->header + H_LAST_USABLE, new_last_usable);
	put32(g->header + H_ENTRIES_CRC, crc32_ieee(g->entries, g->entries_bytes));
	put32(g->header + H_HEADER_CRC, header_crc(g->header));
	return grew;
}

static int pread_full(int fd, void *buf, size_t len, uint64_t off, struct berr *err)
{
	size_t done = 0;
	while (done < len) {
		ssize_t n = pread(fd, (char *)buf + done, len - done, (off_t)(off + done));
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n <= 0) {
			return berr_set(err, n < 0 ? errno : EIO, "read disk at byte %llu",
					(unsigned long long)(off + done));
		}
		done += (size_t)n;
	}
	return 0;
}

static int pwrite_full(int fd, const void *buf, size_t len, uint64_t off, struct berr *err)
{
	size_t done = 0;
	while (done < len) {
		ssize_t n = pwrite(fd, (const char *)buf + done, len - done, (off_t)(off + done));
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n <= 0) {
			return berr_set(err, n < 0 ? errno : EIO, "write disk at byte %llu",
					(unsigned long long)(off + done));
		}
		done += (size_t)n;
	}
	return 0;
}

int gpt_load(int fd, struct gpt *g, struct berr *err)
{
	struct stat st;
	if (fstat(fd, &st) < 0) {
		return berr_set(err, errno, "stat disk");
	}
	uint64_t bytes;
	uint32_t sector = 512;
	if (S_ISBLK(st.st_mode)) {
		int ssz;
		if (ioctl(fd, BLKGETSIZE64, &bytes) < 0) {
			return berr_set(err, errno, "disk size");
		}
		if (ioctl(fd, BLKSSZGET, &ssz) < 0) {
			return berr_set(err, errno, "disk sector size");
		}
		sector = (uint32_t)ssz;
	} else {
		bytes = (uint64_t)st.st_size;
	}
	if (sector < 512 || sector > 4096) {
		return berr_setx(err, EINVAL, "sector size %u is not supported", sector);
	}
	uint8_t hdr[4096];
	int ret = pread_full(fd, hdr, sector, sector, err);
	if (ret < 0) {
		return ret;
	}
	size_t span;
	uint64_t lba;
	ret = gpt_entries_span(hdr, sector, &span, &lba, err);
	if (ret < 0) {
		return ret;
	}
	if (lba >= bytes / sector || span > bytes - lba * sector) {
		return berr_setx(err, EINVAL, "GPT entry array lies beyond the disk");
	}
	auto_free uint8_t *entries = malloc(span);
	if (entries == NULL) {
		return berr_set(err, ENOMEM, "GPT entries");
	}
	ret = pread_full(fd, entries, span, lba * sector, err);
	if (ret < 0) {
		return ret;
	}
	return gpt_parse(g, sector, bytes / sector, hdr, entries, span, err);
}

int gpt_write(int fd, const struct gpt *g, uint64_t old_alternate, struct berr *err)
{
	uint64_t entry_sectors = (g->entries_bytes + g->sector - 1) / g->sector;
	size_t span = (size_t)entry_sectors * g->sector;
	auto_free uint8_t *array = calloc(1, span);
	if (array == NULL) {
		return berr_set(err, ENOMEM, "GPT entries");
	}
	memcpy(array, g->entries, g->entries_bytes);

	uint8_t backup[4096];
	memset(backup, 0, sizeof(backup));
	memcpy(backup, g->header, 512);
	uint64_t backup_entries = g->alternate_lba - entry_sectors;
	put64(backup + H_MY_LBA, g->alternate_lba);
	put64(backup + H_ALTERNATE_LBA, 1);
	put64(backup + H_ENTRIES_LBA, backup_entries);
	put32(backup + H_HEADER_CRC, header_crc(backup));

	/* Backup first: until the primary is rewritten, the old table stays
	 * the valid one. */
	int ret = pwrite_full(fd, array, span, backup_entries * g->sector, err);
	if (ret == 0) {
		ret = pwrite_full(fd, backup, g->sector, g->alternate_lba * g->sector, err);
	}
	if (ret == 0 && fdatasync(fd) < 0) {
		ret = berr_set(err, errno, "sync disk");
	}
	if (ret < 0) {
		return ret;
	}

	uint8_t primary[4096];
	memset(primary, 0, sizeof(primary));
	memcpy(primary, g->header, 512);
	ret = pwrite_full(fd, array, span, get64(g->header + H_ENTRIES_LBA) * g->sector, err);
	if (ret == 0) {
		ret = pwrite_full(fd, primary, g->sector, g->sector, err);
	}
	if (ret == 0 && fdatasync(fd) < 0) {
		ret = berr_set(err, errno, "sync disk");
	}
	if (ret < 0) {
		return ret;
	}

	/* The protective MBR covers the whole disk (capped at 2 TiB). */
	uint8_t mbr[512];
	ret = pread_full(fd, mbr, sizeof(mbr), 0, err);
	if (ret < 0) {
		return ret;
	}
	if (mbr[510] == 0x55 && mbr[511] == 0xaa && mbr[446 + 4] == 0xee) {
		uint64_t size = g->disk_sectors - 1;
		put32(mbr + 446 + 12, size > 0xffffffffu ? 0xffffffffu : (uint32_t)size);
		ret = pwrite_full(fd, mbr, sizeof(mbr), 0, err);
		if (ret < 0) {
			return ret;
		}
	}
	/* A stale backup header inside the grown partition would confuse
	 * tools that scan for one; it is unused space now. */
	if (old_alternate != g->alternate_lba && old_alternate < g->disk_sectors) {
		uint8_t zero[4096];
		memset(zero, 0, sizeof(zero));
		ret = pwrite_full(fd, zero, g->sector, old_alternate * g->sector, err);
		if (ret < 0) {
			return ret;
		}
	}
	if (fdatasync(fd) < 0) {
		return berr_set(err, errno, "sync disk");
	}
	return 0;
}
