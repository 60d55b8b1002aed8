/* Writing and reading back a slot (see slot.h). */
#include "osupdate/slot.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "lib/blkdev.h"
#include "lib/cleanup.h"
#include "lib/failpoint.h"
#include "lib/fsutil.h"
#include "lib/gpt.h"
#include "lib/grubenv.h"
#include "lib/sha256.h"

#define CHUNK (1u << 20)

int slot_find(struct slot_target *t, const char *disk, char slot, const struct bootenv *be, struct berr *err)
{
	memset(t, 0, sizeof(*t));
	t->slot = slot;
	t->be = be;
	char label[32];
	int partno;
	snprintf(label, sizeof(label), SLOT_LABEL_PREFIX "%c", slot);
	if (blk_find_partition(disk, label, t->dev, sizeof(t->dev), &partno, err) < 0) {
		return -ENOENT;
	}
	char path[96];
	snprintf(path, sizeof(path), "/dev/%s", disk);
	auto_close int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		return berr_set(err, errno, "open %s", path);
	}
	struct gpt g;
	struct gpt_part p;
	if (gpt_load(fd, &g, err) < 0) {
		return -EIO;
	}
	int found = gpt_find(&g, label, &p);
	gpt_free(&g);
	if (found < 0) {
		return berr_setx(err, ENOENT, "%s has no partition %s in its table", path, label);
	}
	copy_string(t->partuuid, sizeof(t->partuuid), p.guid);
	auto_close int pfd = open(t->dev, O_RDONLY | O_CLOEXEC);
	if (pfd < 0 || ioctl(pfd, BLKGETSIZE64, &t->dev_bytes) < 0) {
		return berr_set(err, errno, "size of %s", t->dev);
	}
	return 0;
}

int slot_env_format(const struct slot_target *t, const struct bundle_manifest *m, char blk[1024], struct berr *err)
{
	static struct grubenv env;
	char dm[512];
	char args[BUNDLE_CMDLINE_MAX + 128];
	/* The verity target over the whole image, its tree right after it
	 * on the same partition (no superblock), as /dev/dm-0. */
	snprintf(dm, sizeof(dm),
		 "vroot,,0,ro,0 %" PRIu64 " verity 1 PARTUUID=%s PARTUUID=%s %u %u %" PRIu64 " %" PRIu64
		 " sha256 %s %s",
		 m->data_blocks * (m->verity_block / 512), t->partuuid, t->partuuid, m->verity_block, m->verity_block,
		 m->data_blocks, m->data_blocks, m->root_hash, m->salt);
	/* dm-init runs once the disks present at boot have been probed;
	 * waitfor covers disks whose probing finishes later (USB, some NVMe). */
	snprintf(args, sizeof(args), "dm-mod.waitfor=PARTUUID=%s %s", t->partuuid, m->cmdline);
	grubenv_init(&env);
	if (grubenv_set(&env, "berth_dm", dm, err) < 0 || grubenv_set(&env, "berth_args", args, err) < 0 ||
	    grubenv_set(&env, "berth_version", m->version, err) < 0 ||
	    grubenv_set(&env, "berth_build", m->build, err) < 0 ||
	    grubenv_set(&env, "berth_root_hash", m->root_hash, err) < 0 || grubenv_format(&env, NULL, blk, err) < 0) {
		return -EINVAL;
	}
	return 0;
}

static void report(bundle_progress progress, void *ctx, const char *what, uint64_t done, uint64_t total)
{
	if (progress != NULL) {
		progress(what, done, total, ctx);
	}
}

int slot_write_root(const struct slot_target *t, const struct bundle *b, bundle_progress progress, void *ctx,
		    struct berr *err)
{
	const struct bundle_part *root = &b->m.parts[PART_ROOT];
	const struct bundle_part *tree = &b->m.parts[PART_HASHTREE];
	uint64_t total = root->size + tree->size;
	if (total > t->dev_bytes) {
		return berr_setx(err, ENOSPC,
				 "the root image and its hash tree (%" PRIu64
				 " bytes) do not fit slot %c's partition (%" PRIu64 " bytes)",
				 total, t->slot, t->dev_bytes);
	}
	/* O_EXCL: a partition in use (the running root, under dm-verity) is
	 * refused by the kernel itself. */
	auto_close int fd = open(t->dev, O_WRONLY | O_EXCL | O_CLOEXEC);
	if (fd < 0) {
		return berr_set(err, errno, "open slot %c's partition %s for writing", t->slot, t->dev);
	}
	const uint8_t *src[2] = {bundle_part_data(b, PART_ROOT), bundle_part_data(b, PART_HASHTREE)};
	uint64_t len[2] = {root->size, tree->size};
	uint64_t done = 0;
	int next_fp = 25;
	for (int i = 0; i < 2; i++) {
		for (uint64_t off = 0; off < len[i]; off += CHUNK) {
			size_t n = len[i] - off < CHUNK ? (size_t)(len[i] - off) : CHUNK;
			ssize_t w = pwrite(fd, src[i] + off, n, (off_t)(done));
			if (w != (ssize_t)n) {
				return berr_set(err, w < 0 ? errno : EIO, "write %s at byte %" PRIu64, t->dev, done);
			}
			done += n;
			report(progress, ctx, "writing", done, total);
			while (next_fp < 100 && done * 100 >= total * (uint64_t)next_fp) {
				char fp[32];
				snprintf(fp, sizeof(fp), "root-%d", next_fp);
				failpoint(fp);
				next_fp += 25;
			}
		}
	}
	if (fsync(fd) < 0) {
		return berr_set(err, errno, "sync %s", t->dev);
	}
	failpoint("root-written");
	return 0;
}

int slot_verify_root(const struct slot_target *t, const struct bundle *b, bundle_progress progress, void *ctx,
		     struct berr *err)
{
	auto_close int fd = open(t->dev, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		return berr_set(err, errno, "open %s", t->dev);
	}
	/* What was just written must come from the disk, not from memory. */
	if (ioctl(fd, BLKFLSBUF, 0) < 0) {
		return berr_set(err, errno, "drop the cache of %s", t->dev);
	}
	auto_free uint8_t *buf = malloc(CHUNK);
	if (buf == NULL) {
		return berr_setx(err, ENOMEM, "read-back buffer");
	}
	uint64_t total = b->m.parts[PART_ROOT].size + b->m.parts[PART_HASHTREE].size;
	uint64_t pos = 0;
	static const enum bundle_part_kind order[2] = {PART_ROOT, PART_HASHTREE};
	for (int i = 0; i < 2; i++) {
		const struct bundle_part *part = &b->m.parts[order[i]];
		struct sha256 s;
		uint8_t d[SHA256_LEN];
		sha256_init(&s);
		for (uint64_t off = 0; off < part->size; off += CHUNK) {
			size_t n = part->size - off < CHUNK ? (size_t)(part->size - off) : CHUNK;
			ssize_t r = pread(fd, buf, n, (off_t)pos);
			if (r != (ssize_t)n) {
				return berr_set(err, r < 0 ? errno : EIO, "read back %s at byte %" PRIu64, t->dev, pos);
			}
			sha256_update(&s, buf, n);
			pos += n;
			report(progress, ctx, "reading back", pos, total);
		}
		sha256_final(&s, d);
		if (memcmp(d, part->sha256, SHA256_LEN) != 0) {
			return berr_setx(err, EIO, "slot %c's %s reads back differently from what was written (%s)",
					 t->slot, bundle_part_name(order[i]), t->dev);
		}
	}
	failpoint("readback");
	return 0;
}

/* Writes data to dir/name.new, syncs it, and renames it over dir/name. */
static int replace_file(const char *dir, const char *name, const void *data, size_t len, const char *fp_base,
			struct berr *err)
{
	char path[256];
	char tmp[256];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s/%s.new", dir, name);
	unlink(tmp);
	auto_close int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		return berr_set(err, errno, "create %s", tmp);
	}
	if (write_all(fd, data, len) < 0 || fsync(fd) < 0) {
		int e = errno;
		unlink(tmp);
		return berr_set(err, e, "write %s", tmp);
	}
	char fp[32];
	snprintf(fp, sizeof(fp), "%s-tmp", fp_base);
	failpoint(fp);
	if (rename(tmp, path) < 0) {
		int e = errno;
		unlink(tmp);
		return berr_set(err, e, "rename %s to %s", tmp, name);
	}
	failpoint(fp_base);
	return 0;
}

static int sync_dir(const char *dir, struct berr *err)
{
	auto_close int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0) {
		return berr_set(err, errno, "sync %s", dir);
	}
	return 0;
}

static int write_esp_files(const char *esp, const struct slot_target *t, const struct bundle *b, const char env[1024],
			   struct berr *err)
{
	char dir[128];
	char path[160];
	snprintf(dir, sizeof(dir), "%s/berth/%c", esp, t->slot);
	if (mkdir_p(dir, 0755, err) < 0) {
		return -EIO;
	}
	/* The slot is not bootable while it is written (its state says so):
	 * its old files go first, so that the ESP needs room for one kernel
	 * more than the active slot's, not two. */
	static const char *const names[] = {SLOT_ENV_NAME, SLOT_KERNEL_NAME};
	for (size_t i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (unlink(path) < 0 && errno != ENOENT) {
			return berr_set(err, errno, "remove %s", path);
		}
	}
	if (sync_dir(dir, err) < 0) {
		return -EIO;
	}
	uint64_t ksize = b->m.parts[PART_KERNEL].size;
	struct statvfs sv;
	if (statvfs(esp, &sv) == 0 && (uint64_t)sv.f_bavail * sv.f_frsize < ksize + 65536) {
		return berr_setx(err, ENOSPC, "the %s has %llu KiB free; slot %c's kernel needs %" PRIu64 " KiB",
				 ESP_LABEL, (unsigned long long)((uint64_t)sv.f_bavail * sv.f_frsize / 1024), t->slot,
				 ksize / 1024 + 64);
	}
	if (replace_file(dir, SLOT_KERNEL_NAME, bundle_part_data(b, PART_KERNEL), (size_t)ksize, "kernel", err) < 0 ||
	    replace_file(dir, SLOT_ENV_NAME, env, 1024, "slotenv", err) < 0) {
		return -EIO;
	}
	return sync_dir(dir, err);
}

int slot_write_esp(const struct slot_target *t, const struct bundle *b, const char env[1024], struct berr *err)
{
	char esp[64];
	int ret = esp_mount(t->be, 1, esp, sizeof(esp), err);
	if (ret < 0) {
		return ret;
	}
	ret = write_esp_files(esp, t, b, env, err);
	struct berr uerr;
	if (esp_unmount(esp, &uerr) < 0 && ret == 0) {
		*err = uerr;
		ret = -EIO;
	}
	return ret;
}

static int compare_file(const char *path, const uint8_t *want, size_t len, struct berr *err)
{
	auto_free char *data = NULL;
	size_t got;
	if (read_file_alloc(AT_FDCWD, path, O_NOFOLLOW, len + 1, NULL, &data, &got, err) < 0) {
		return -EIO;
	}
	if (got != len || memcmp(data, want, len) != 0) {
		return berr_setx(err, EIO, "%s reads back differently from what was written", path);
	}
	return 0;
}

int slot_verify_esp(const struct slot_target *t, const struct bundle *b, const char env[1024], struct berr *err)
{
	char esp[64];
	char path[160];
	int ret = esp_mount(t->be, 0, esp, sizeof(esp), err);
	if (ret < 0) {
		return ret;
	}
	snprintf(path, sizeof(path), "%s/berth/%c/" SLOT_KERNEL_NAME, esp, t->slot);
	ret = compare_file(path, bundle_part_data(b, PART_KERNEL), (size_t)b->m.parts[PART_KERNEL].size, err);
	if (ret == 0) {
		snprintf(path, sizeof(path), "%s/berth/%c/" SLOT_ENV_NAME, esp, t->slot);
		ret = compare_file(path, (const uint8_t *)env, 1024, err);
	}
	esp_unmount(esp, NULL);
	if (ret == 0) {
		failpoint("esp-verified");
	}
	return ret;
}

void slot_read_info(const char *esp_dir, char slot, char *version, size_t vsize, char *build, size_t bsize)
{
	char path[160];
	char blk[GRUBENV_SIZE + 1];
	static struct grubenv env;
	version[0] = '\0';
	build[0] = '\0';
	snprintf(path, sizeof(path), "%s/berth/%c/" SLOT_ENV_NAME, esp_dir, slot);
	ssize_t n = read_file(path, blk, sizeof(blk), NULL);
	if (n < 0 || grubenv_parse(&env, blk, (size_t)n, NULL) < 0) {
		return;
	}
	const char *v = grubenv_get(&env, "berth_version");
	const char *bd = grubenv_get(&env, "berth_build");
	copy_string(version, vsize, v != NULL ? v : "");
	copy_string(build, bsize, bd != NULL ? bd : "");
}
