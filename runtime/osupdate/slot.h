/* Writing an update into the inactive slot and reading it back: the root
 * partition (erofs image, then its hash tree) and the slot's two files on
 * the ESP (berth/X/vmlinuz and berth/X/slot.env, the GRUB environment
 * block with the slot's kernel command line). Nothing here decides whether
 * to write: osupdate.c verifies the bundle first and keeps the slot
 * unbootable (bootstate "writing") until slot_verify has passed. */
#ifndef BERTH_OSUPDATE_SLOT_H
#define BERTH_OSUPDATE_SLOT_H

#include <stddef.h>
#include <stdint.h>

#include "lib/berr.h"
#include "lib/bootenv.h"
#include "osupdate/bundle.h"

#define SLOT_ENV_NAME "slot.env"
#define SLOT_KERNEL_NAME "vmlinuz"

struct slot_target {
	char slot;	    /* 'A' or 'B' */
	char dev[96];	    /* its root partition */
	char partuuid[37];  /* that partition's GUID, for the kernel's PARTUUID= */
	uint64_t dev_bytes; /* its size */
	const struct bootenv *be;
};

/* Finds slot's root partition on disk (by GPT name) and its GUID. */
int slot_find(struct slot_target *t, const char *disk, char slot, const struct bootenv *be, struct berr *err);

/* The slot's GRUB environment block (berth_dm: dm-mod.create's value,
 * berth_args: the rest of the kernel command line; and, for people,
 * berth_version, berth_build, berth_root_hash). */
int slot_env_format(const struct slot_target *t, const struct bundle_manifest *m, char blk[1024], struct berr *err);

/* Writes the root image and its hash tree to the partition, synced. */
int slot_write_root(const struct slot_target *t, const struct bundle *b, bundle_progress progress, void *ctx,
		    struct berr *err);

/* Reads them back from the disk (not the page cache) and checks their
 * sha256 against the manifest. */
int slot_verify_root(const struct slot_target *t, const struct bundle *b, bundle_progress progress, void *ctx,
		     struct berr *err);

/* Replaces the slot's kernel and slot.env on the ESP. */
int slot_write_esp(const struct slot_target *t, const struct bundle *b, const char env[1024], struct berr *err);

/* Reads both back (after the ESP was unmounted: from the disk) and compares. */
int slot_verify_esp(const struct slot_target *t, const struct bundle *b, const char env[1024], struct berr *err);

/* What a slot holds, from its slot.env on the ESP (mounted at esp_dir):
 * version and build, or empty strings. */
void slot_read_info(const char *esp_dir, char slot, char *version, size_t vsize, char *build, size_t bsize);

#endif
