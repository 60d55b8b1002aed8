/* GUID partition tables: reading one, finding a partition by name, and
 * growing the disk's last partition when the disk has grown (first boot
 * after `dd` to a larger disk, or after `qemu-img resize`). The pure part
 * (gpt_parse, gpt_plan_grow) works on buffers and is unit-tested; gpt_load
 * and gpt_write do the I/O. */
#ifndef BERTH_GPT_H
#define BERTH_GPT_H

#include <stddef.h>
#include <stdint.h>

#include "lib/berr.h"

#define GPT_MAX_ENTRIES 256
#define GPT_ENTRY_SIZE_MAX 512

struct gpt {
	uint32_t sector;       /* logical sector size in bytes */
	uint64_t disk_sectors; /* size of the disk now */
	uint8_t header[512];   /* the primary header (first 512 bytes of LBA 1) */
	uint8_t *entries;      /* the partition entry array (owned) */
	size_t entries_bytes;  /* entry_count * entry_size */
	uint32_t entry_count;
	uint32_t entry_size;
	uint64_t alternate_lba; /* where the backup header is now */
	uint64_t last_usable;
};

struct gpt_part {
	int index; /* 0-based entry index; partition number is index + 1 */
	uint64_t first_lba;
	uint64_t last_lba;
	char name[37]; /* ASCII rendering of the UTF-16 name */
	char guid[37]; /* its unique GUID, lower-case text (the kernel's PARTUUID=) */
};

/* Parses the primary header (hdr, one sector) and entry array (entries, as
 * read from the header's entry LBA). Checks signature, sizes and both CRCs.
 * Takes ownership of nothing: entries are copied. */
int gpt_parse(struct gpt *g, uint32_t sector, uint64_t disk_sectors, const uint8_t *hdr, const uint8_t *entries,
	      size_t entries_len, struct berr *err);

/* Bytes of entry array that gpt_parse needs, from a parsed header sector. */
int gpt_entries_span(const uint8_t *hdr, uint32_t sector, size_t *bytes, uint64_t *lba, struct berr *err);

void gpt_free(struct gpt *g);

/* Finds the partition named name; returns 0 and fills part, or -ENOENT. */
int gpt_find(const struct gpt *g, const char *name, struct gpt_part *part);

/* True when the backup header is not at the end of the disk. */
int gpt_disk_grew(const struct gpt *g);

/* Plans growth in memory: moves the backup table to the new end, raises the
 * last usable LBA, and, if the partition at part_index is the last one on
 * the disk, extends it to the new end (aligned down to 1 MiB). Returns 1 if
 * the partition grew, 0 if only the table moved, negative on error. */
int gpt_plan_grow(struct gpt *g, int part_index, struct berr *err);

/* Reads the table of the disk open at fd. */
int gpt_load(int fd, struct gpt *g, struct berr *err);

/* Writes a grown table: backup array and header at the new end first, then
 * the primary, then the protective MBR size; a crash in between leaves the
 * old primary valid. old_alternate is the backup header LBA before growth. */
int gpt_write(int fd, const struct gpt *g, uint64_t old_alternate, struct berr *err);

#endif
