/* The boot state on disk: the ESP, found by its GPT name on the boot disk,
 * and the two copies of GRUB's environment on it (boot/grub/grubenv and
 * boot/grub/grubenv.bak, 1 KiB each, made by the image builder).
 *
 * The copies are read and written beneath the filesystem, at the sectors
 * the FAT filesystem gave them when the image was built (asked once per
 * bootenv_open with FIBMAP), exactly as GRUB's save_env writes them: a
 * write never truncates, never moves a file and never touches FAT's
 * tables or directories, so a power cut can tear at most the block being
 * written, and bootstate.h's sequence markers tell a torn block from a
 * whole one. */
#ifndef BERTH_BOOTENV_H
#define BERTH_BOOTENV_H

#include <stddef.h>
#include <stdint.h>

#include "lib/berr.h"
#include "lib/bootstate.h"

#define ESP_LABEL "ESP"
#define BOOTENV_PRIMARY "boot/grub/grubenv"
#define BOOTENV_BACKUP "boot/grub/grubenv.bak"
#define BOOTENV_LOCK "/run/berth/bootenv.lock"
#define SLOT_LABEL_PREFIX "BERTH-ROOT-"

struct bootenv {
	char esp[96];	    /* the ESP's device node (or, in tests, any file) */
	uint64_t off[2][2]; /* byte offset of each 512-byte half of [primary, backup] */
};

/* Finds the ESP on disk ("vda") and maps both copies (mounting the ESP
 * read-only for the moment it takes). */
int bootenv_open(struct bootenv *be, const char *disk, struct berr *err);

/* Reads the state: the primary copy when it is whole, else the backup,
 * else a fresh image's state, which is what grub.cfg boots from as well.
 * *which (may be NULL): 0 primary, 1 backup, -1 neither. */
int bootenv_load(const struct bootenv *be, struct bootstate *bs, int *which, struct berr *err);

/* Writes bs with the next sequence number: the backup copy whole and
 * synced first, then the primary, synced. A power cut at any point leaves
 * the old state or the new one for GRUB and bootenv_load: before the
 * backup is complete the primary still holds the old state, after it a
 * torn primary sends both readers to the backup. stage names this write
 * for the test failpoints STAGE-backup (backup written, primary not) and
 * STAGE-torn (primary's first half written and synced, second not). */
int bootenv_save(const struct bootenv *be, struct bootstate *bs, const char *stage, struct berr *err);

/* Mounts the ESP on a new directory under /run/berth (read-only unless
 * rw) and writes its path to dir. */
int esp_mount(const struct bootenv *be, int rw, char *dir, size_t size, struct berr *err);

/* Unmounts and removes a directory from esp_mount. */
int esp_unmount(const char *dir, struct berr *err);

/* Serialises the ESP's users (init's health gate, `berth os`): an
 * exclusive flock on BOOTENV_LOCK, held until the returned fd is closed;
 * -EWOULDBLOCK when nonblock and someone else holds it. */
int bootenv_lock(int nonblock, struct berr *err);

/* This boot's slot and whether GRUB booted it as a trial, from the kernel
 * command line (berth.slot=, berth.trial=); *slot is 0 on a boot without
 * them (a kernel started by hand). *tries_left: the trial's boots left
 * after this one, -1 when not a trial. */
int boot_cmdline_slot(const char *cmdline, char *slot, int *tries_left);

/* The running root's version: VERSION_ID from /etc/os-release ("unknown"
 * when it cannot be read). */
void os_version(char *out, size_t size);

#endif
