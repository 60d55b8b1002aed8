/* The boot state on disk (see bootenv.h). */
#include "lib/bootenv.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/blkdev.h"
#include "lib/cleanup.h"
#include "lib/failpoint.h"
#include "lib/fsutil.h"
#include "lib/grubenv.h"

int esp_mount(const struct bootenv *be, int rw, char *dir, size_t size, struct berr *err)
{
	if (copy_string(dir, size, "/run/berth/esp.XXXXXX") < 0) {
		return berr_setx(err, ENAMETOOLONG, "esp mount point");
	}
	if (mkdtemp(dir) == NULL) {
		return berr_set(err, errno, "mkdtemp %s", dir);
	}
	unsigned long flags = MS_NOSUID | MS_NODEV | MS_NOEXEC | (rw ? 0 : MS_RDONLY);
	/* flush: vfat writes a file's data when it is closed, not at sync. */
	if (mount(be->esp, dir, "vfat", flags, rw ? "flush" : "") < 0) {
		int e = errno;
		rmdir(dir);
		return berr_set(err, e, "mount %s (%s) on %s", ESP_LABEL, be->esp, dir);
	}
	return 0;
}

int esp_unmount(const char *dir, struct berr *err)
{
	if (umount2(dir, 0) < 0) {
		return berr_set(err, errno, "unmount %s", dir);
	}
	rmdir(dir);
	return 0;
}

/* Where each 512-byte half of a 1 KiB file lies on its filesystem's device. */
static int map_file(const char *dir, const char *name, uint64_t off[2], struct berr *err)
{
	char path[256];
	if (path_join(path, sizeof(path), dir, name) < 0) {
		return berr_setx(err, ENAMETOOLONG, "%s", name);
	}
	auto_close int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		return berr_set(err, errno, "open %s on the %s", name, ESP_LABEL);
	}
	if (st.st_size != GRUBENV_SIZE) {
		return berr_setx(err, EINVAL, "%s on the %s is %lld bytes, not %d", name, ESP_LABEL,
				 (long long)st.st_size, GRUBENV_SIZE);
	}
	int bsz = 0;
	if (ioctl(fd, FIGETBSZ, &bsz) < 0 || bsz <= 0) {
		return berr_set(err, errno, "block size of %s", name);
	}
	for (int i = 0; i < 2; i++) {
		int pos = i * GRUBENV_SECTOR;
		int blk = pos / bsz;
		if (ioctl(fd, FIBMAP, &blk) < 0) {
			return berr_set(err, errno, "FIBMAP %s", name);
		}
		if (blk == 0) {
			return berr_setx(err, EINVAL, "%s has no block on the disk at byte %d", name, pos);
		}
		off[i] = (uint64_t)blk * (uint64_t)bsz + (uint64_t)(pos % bsz);
	}
	return 0;
}

int bootenv_open(struct bootenv *be, const char *disk, struct berr *err)
{
	int partno;
	memset(be, 0, sizeof(*be));
	if (blk_find_partition(disk, ESP_LABEL, be->esp, sizeof(be->esp), &partno, err) < 0) {
		return -ENOENT;
	}
	char dir[64];
	int ret = esp_mount(be, 0, dir, sizeof(dir), err);
	if (ret < 0) {
		return ret;
	}
	ret = map_file(dir, BOOTENV_PRIMARY, be->off[0], err);
	if (ret == 0) {
		ret = map_file(dir, BOOTENV_BACKUP, be->off[1], err);
	}
	struct berr uerr;
	if (esp_unmount(dir, &uerr) < 0 && ret == 0) {
		*err = uerr;
		ret = -uerr.code;
	}
	return ret;
}

/* 512-byte I/O beneath the filesystem: O_DIRECT, so that what is read is
 * on the disk and what is written reaches it in sector units, as GRUB's
 * own writes do; buffered where the device refuses 512-byte direct I/O
 * (4 KiB-sector disks: there a 1 KiB block is one sector anyway). */
static int open_dev(const char *dev, int flags, int *direct, struct berr *err)
{
	int fd = open(dev, flags | O_CLOEXEC | O_DIRECT);
	*direct = fd >= 0;
	if (fd < 0 && errno == EINVAL) {
		fd = open(dev, flags | O_CLOEXEC);
	}
	if (fd < 0) {
		return berr_set(err, errno, "open %s", dev);
	}
	return fd;
}

static int sector_io(int fd, int write, void *buf, uint64_t off, int *direct, const char *dev, struct berr *err)
{
	for (;;) {
		ssize_t n = write ? pwrite(fd, buf, GRUBENV_SECTOR, (off_t)off)
				  : pread(fd, buf, GRUBENV_SECTOR, (off_t)off);
		if (n == GRUBENV_SECTOR) {
			return 0;
		}
		if (n < 0 && errno == EINVAL && *direct) {
			/* A logical sector larger than 512: leave direct I/O. */
			int flags = fcntl(fd, F_GETFL);
			if (flags >= 0 && fcntl(fd, F_SETFL, flags & ~O_DIRECT) == 0) {
				*direct = 0;
				continue;
			}
		}
		if (n < 0 && errno == EINTR) {
			continue;
		}
		return berr_set(err, n < 0 ? errno : EIO, "%s %s at byte %llu", write ? "write" : "read", dev,
				(unsigned long long)off);
	}
}

/* Reads copy i into blk. */
static int read_copy(const struct bootenv *be, int fd, int i, char *blk, int *direct, struct berr *err)
{
	for (int h = 0; h < 2; h++) {
		int ret = sector_io(fd, 0, blk + h * GRUBENV_SECTOR, be->off[i][h], direct, be->esp, err);
		if (ret < 0) {
			return ret;
		}
	}
	return 0;
}

int bootenv_load(const struct bootenv *be, struct bootstate *bs, int *which, struct berr *err)
{
	int direct;
	auto_close int fd = open_dev(be->esp, O_RDONLY, &direct, err);
	if (fd < 0) {
		return fd;
	}
	static char blk[GRUBENV_SIZE] __attribute__((aligned(4096)));
	static struct grubenv env;
	if (which != NULL) {
		*which = -1;
	}
	int read_one = 0;
	for (int i = 0; i < 2; i++) {
		struct berr rerr;
		if (read_copy(be, fd, i, blk, &direct, &rerr) < 0) {
			if (err != NULL) {
				*err = rerr;
			}
			continue;
		}
		read_one = 1;
		if (grubenv_parse(&env, blk, sizeof(blk), NULL) == 0 && bootstate_from_env(bs, &env)) {
			if (which != NULL) {
				*which = i;
			}
			return 0;
		}
	}
	if (!read_one) {
		return -EIO;
	}
	/* Neither copy is whole: GRUB boots from its defaults, which are a
	 * fresh image's. */
	bootstate_init(bs);
	return 0;
}

static int write_copy(const struct bootenv *be, int fd, int i, char *blk, const char *stage, int *direct,
		      struct berr *err)
{
	char fp[64];
	for (int h = 0; h < 2; h++) {
		int ret = sector_io(fd, 1, blk + h * GRUBENV_SECTOR, be->off[i][h], direct, be->esp, err);
		if (ret < 0) {
			return ret;
		}
		snprintf(fp, sizeof(fp), "%s-torn", stage);
		if (i == 0 && h == 0 && failpoint_armed(fp)) {
			fsync(fd);
			failpoint(fp);
		}
	}
	if (fsync(fd) < 0) {
		return berr_set(err, errno, "sync %s", be->esp);
	}
	return 0;
}

int bootenv_save(const struct bootenv *be, struct bootstate *bs, const char *stage, struct berr *err)
{
	static struct grubenv env;
	static char blk[GRUBENV_SIZE] __attribute__((aligned(4096)));
	struct bootstate next = *bs;
	next.seq = bs->seq + 1;
	if (bootstate_to_env(&next, &env, err) < 0 || grubenv_format(&env, "berth_seqe", blk, err) < 0) {
		return -EINVAL;
	}
	int direct;
	auto_close int fd = open_dev(be->esp, O_RDWR, &direct, err);
	if (fd < 0) {
		return fd;
	}
	int ret = write_copy(be, fd, 1, blk, stage, &direct, err);
	if (ret < 0) {
		return ret;
	}
	char fp[64];
	snprintf(fp, sizeof(fp), "%s-backup", stage);
	failpoint(fp);
	ret = write_copy(be, fd, 0, blk, stage, &direct, err);
	if (ret < 0) {
		return ret;
	}
	bs->seq = next.seq;
	return 0;
}

int bootenv_lock(int nonblock, struct berr *err)
{
	auto_close int fd = open(BOOTENV_LOCK, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		return berr_set(err, errno, "open %s", BOOTENV_LOCK);
	}
	if (flock(fd, LOCK_EX | (nonblock ? LOCK_NB : 0)) < 0) {
		int e = errno;
		if (e == EWOULDBLOCK) {
			return berr_setx(err, e,
					 "the boot state is busy (another `berth os` command, or init's health gate)");
		}
		return berr_set(err, e, "lock %s", BOOTENV_LOCK);
	}
	return take_fd(&fd);
}

int boot_cmdline_slot(const char *cmdline, char *slot, int *tries_left)
{
	*slot = 0;
	*tries_left = -1;
	const char *p = cmdline;
	while (*p != '\0') {
		while (*p == ' ' || *p == '\n' || *p == '\t') {
			p++;
		}
		size_t len = strcspn(p, " \n\t");
		if (len == 12 && strncmp(p, "berth.slot=", 11) == 0 && slot_index(p[11]) >= 0) {
			*slot = p[11];
		} else if (len == 13 && strncmp(p, "berth.trial=", 12) == 0 && p[12] >= '0' &&
			   p[12] <= '0' + BOOT_TRIES_MAX) {
			*tries_left = p[12] - '0';
		}
		p += len;
	}
	return *slot != 0 ? 0 : -ENOENT;
}

void os_version(char *out, size_t size)
{
	char buf[1024];
	copy_string(out, size, "unknown");
	if (read_file("/etc/os-release", buf, sizeof(buf), NULL) < 0) {
		return;
	}
	for (char *line = strtok(buf, "\n"); line != NULL; line = strtok(NULL, "\n")) {
		if (strncmp(line, "VERSION_ID=", 11) == 0) {
			char *v = line + 11;
			size_t len = strlen(v);
			if (len >= 2 && v[0] == '"' && v[len - 1] == '"') {
				v[len - 1] = '\0';
				v++;
			}
			copy_string(out, size, v);
			return;
		}
	}
}
