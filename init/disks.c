/* CONFIG and DATA (see disks.h). Runs in PID 1 during boot: every failure
 * is logged and answered with a fallback, never with an exit. */
#include "init/disks.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/blkpg.h>
#include <linux/fs.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "init/console.h"
#include "lib/berr.h"
#include "lib/blkdev.h"
#include "lib/cleanup.h"
#include "lib/configgen.h"
#include "lib/gpt.h"
#include "lib/log.h"
#include "lib/proc.h"

#define E2FSCK "/sbin/e2fsck"
#define MKE2FS "/sbin/mke2fs"
#define RESIZE2FS "/sbin/resize2fs"

struct tool_log {
	const char *tag;
};

static void log_tool_line(const char *line, void *ctx)
{
	const struct tool_log *t = ctx;
	if (line[0] != '\0') {
		blog_info("%s: %s", t->tag, line);
	}
}

/* e2fsck -p; returns its exit status (a bit mask, see e2fsck(8)) or a
 * negative errno when it could not run. */
static int fsck_partition(const char *label, const char *dev)
{
	char tag[64];
	snprintf(tag, sizeof(tag), "fsck %s", label);
	struct tool_log t = {tag};
	char *argv[] = {E2FSCK, "-p", (char *)dev, NULL};
	struct berr err;
	int status = proc_run_lines(argv, log_tool_line, &t, &err);
	if (status < 0) {
		blog_err("fsck %s (%s): %s", label, dev, err.msg);
		return status;
	}
	if (status == 0) {
		blog_info("fsck %s (%s): clean", label, dev);
	} else if ((status & ~3) == 0) {
		blog_warn("fsck %s (%s): errors found and corrected (e2fsck status %d)", label, dev, status);
	} else {
		blog_err("fsck %s (%s): errors left uncorrected (e2fsck status %d)", label, dev, status);
	}
	return status;
}

static int64_t device_bytes(const char *dev)
{
	auto_close int fd = open(dev, O_RDONLY | O_CLOEXEC);
	uint64_t bytes;
	if (fd < 0 || ioctl(fd, BLKGETSIZE64, &bytes) < 0) {
		return -errno;
	}
	return (int64_t)bytes;
}

/* The ext2/3/4 superblock at byte offset off of the partition (1024 for
 * the primary): returns the filesystem size in bytes, 0 when there is no
 * superblock there, negative on I/O error. */
static int64_t ext4_size_at(int fd, uint64_t off)
{
	uint8_t sb[1024];
	ssize_t n = pread(fd, sb, sizeof(sb), (off_t)off);
	if (n < 0) {
		return -errno;
	}
	if (n != (ssize_t)sizeof(sb) || sb[56] != 0x53 || sb[57] != 0xef) {
		return 0;
	}
	uint32_t log_block = (uint32_t)sb[24] | (uint32_t)sb[25] << 8 | (uint32_t)sb[26] << 16 | (uint32_t)sb[27] << 24;
	uint64_t lo = (uint64_t)sb[4] | (uint64_t)sb[5] << 8 | (uint64_t)sb[6] << 16 | (uint64_t)sb[7] << 24;
	uint64_t hi =
		(uint64_t)sb[0x150] | (uint64_t)sb[0x151] << 8 | (uint64_t)sb[0x152] << 16 | (uint64_t)sb[0x153] << 24;
	if (log_block > 6) {
		return 0;
	}
	return (int64_t)((lo | hi << 32) * (1024u << log_block));
}

/* A partition is blank (never formatted) when its first 64 KiB are zero and
 * no backup superblock exists where mke2fs would put one; anything else,
 * including a damaged filesystem, is left to e2fsck, never reformatted. */
static int partition_blank(const char *dev)
{
	auto_close int fd = open(dev, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		return -errno;
	}
	static uint8_t buf[65536];
	ssize_t n = pread(fd, buf, sizeof(buf), 0);
	if (n < 0) {
		return -errno;
	}
	for (ssize_t i = 0; i < n; i++) {
		if (buf[i] != 0) {
			return 0;
		}
	}
	/* Backup superblocks of group 1: 4 KiB blocks (block 32768) and
	 * 1 KiB blocks (block 8193). */
	static const uint64_t backups[] = {32768ull * 4096, 8193ull * 1024};
	for (size_t i = 0; i < sizeof(backups) / sizeof(backups[0]); i++) {
		if (ext4_size_at(fd, backups[i]) != 0) {
			return 0;
		}
	}
	return 1;
}

/* Grows the partition table and DATA when the disk has grown. */
static void grow_data_partition(const char *disk, int partno)
{
	char path[96];
	struct berr err;
	snprintf(path, sizeof(path), "/dev/%s", disk);
	auto_close int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		blog_err("grow: open %s: %s", path, strerror(errno));
		return;
	}
	struct gpt g;
	if (gpt_load(fd, &g, &err) < 0) {
		blog_err("grow: partition table of %s: %s", path, err.msg);
		return;
	}
	if (!gpt_disk_grew(&g)) {
		gpt_free(&g);
		return;
	}
	struct gpt_part part;
	if (gpt_find(&g, DATA_LABEL, &part) < 0 || part.index + 1 != partno) {
		blog_err("grow: %s has no partition %s at number %d", path, DATA_LABEL, partno);
		gpt_free(&g);
		return;
	}
	uint64_t old_alternate = g.alternate_lba;
	uint64_t old_last = part.last_lba;
	int grew = gpt_plan_grow(&g, part.index, &err);
	if (grew < 0 || gpt_write(fd, &g, old_alternate, &err) < 0) {
		blog_err("grow: %s: %s", path, err.msg);
		gpt_free(&g);
		return;
	}
	gpt_find(&g, DATA_LABEL, &part);
	if (grew) {
		struct blkpg_partition bp = {
			.start = (long long)(part.first_lba * g.sector),
			.length = (long long)((part.last_lba - part.first_lba + 1) * g.sector),
			.pno = partno,
		};
		struct blkpg_ioctl_arg arg = {
			.op = BLKPG_RESIZE_PARTITION,
			.datalen = sizeof(bp),
			.data = &bp,
		};
		if (ioctl(fd, BLKPG, &arg) < 0) {
			blog_err("grow: kernel refused the new size of %s partition %d: %s (takes effect at next boot)",
				 path, partno, strerror(errno));
		} else {
			blog_notice("grew %s from %llu MiB to %llu MiB to fill %s", DATA_LABEL,
				    (unsigned long long)((old_last - part.first_lba + 1) * g.sector >> 20),
				    (unsigned long long)((part.last_lba - part.first_lba + 1) * g.sector >> 20), path);
		}
	} else {
		blog_info("moved the backup partition table of %s to the end of the disk", path);
	}
	gpt_free(&g);
}

static int make_data_fs(const char *dev)
{
	struct tool_log t = {"mke2fs " DATA_LABEL};
	/* Lazy init keeps first boot quick; the kernel zeroes inode tables in
	 * the background. 1% reserved: everything on DATA runs as root. */
	char *argv[] = {MKE2FS,
			"-q",
			"-F",
			"-t",
			"ext4",
			"-L",
			DATA_LABEL,
			"-m",
			"1",
			"-E",
			"lazy_itable_init=1,lazy_journal_init=1",
			(char *)dev,
			NULL};
	struct berr err;
	int status = proc_run_lines(argv, log_tool_line, &t, &err);
	if (status < 0) {
		blog_err("mke2fs %s: %s", dev, err.msg);
		return status;
	}
	if (status != 0) {
		blog_err("mke2fs %s failed (status %d)", dev, status);
		return -EIO;
	}
	blog_notice("created the %s filesystem on %s (first boot)", DATA_LABEL, dev);
	return 0;
}

static void resize_data_fs(const char *dev)
{
	int64_t part = device_bytes(dev);
	auto_close int fd = open(dev, O_RDONLY | O_CLOEXEC);
	int64_t fs = fd >= 0 ? ext4_size_at(fd, 1024) : -errno;
	if (part <= 0 || fs <= 0 || part - fs < 1024 * 1024) {
		return;
	}
	struct tool_log t = {"resize2fs " DATA_LABEL};
	char *argv[] = {RESIZE2FS, (char *)dev, NULL};
	struct berr err;
	int status = proc_run_lines(argv, log_tool_line, &t, &err);
	if (status != 0) {
		blog_err("resize2fs %s: %s", dev, status < 0 ? err.msg : "failed");
		return;
	}
	blog_notice("grew the %s filesystem from %lld MiB to %lld MiB", DATA_LABEL, (long long)(fs >> 20),
		    (long long)(part >> 20));
}

static void data_fallback(struct disks *d, const char *why)
{
	d->data = DATA_ON_TMPFS;
	snprintf(d->data_problem, sizeof(d->data_problem), "%s", why);
	if (mount("data-tmpfs", DATA_MOUNT, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") < 0) {
		blog_err("mount tmpfs on %s: %s", DATA_MOUNT, strerror(errno));
	}
	blog_err("%s is unusable (%s): %s is a tmpfs, NOTHING WRITTEN THERE SURVIVES A REBOOT", DATA_LABEL, why,
		 DATA_MOUNT);
	console_print("\n*** WARNING: %s is unusable (%s).\n*** %s is in memory: nothing written there survives a "
		      "reboot.\n",
		      DATA_LABEL, why, DATA_MOUNT);
	int fd = open("/run/berth/data-fallback", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd >= 0) {
		dprintf(fd, "%s\n", why);
		close(fd);
	}
}

static int bind_generation(const char *dev);

static void setup_config(struct disks *d)
{
	char dev[96];
	int partno;
	struct berr err;
	if (d->disk[0] == '\0' || blk_find_partition(d->disk, CONFIG_LABEL, dev, sizeof(dev), &partno, &err) < 0) {
		blog_warn("%s not found%s%s; using defaults", CONFIG_LABEL, d->disk[0] ? ": " : "",
			  d->disk[0] ? err.msg : "");
		return;
	}
	int status = fsck_partition(CONFIG_LABEL, dev);
	if (status < 0 || (status & ~3) != 0) {
		blog_err("%s (%s) is damaged; using defaults", CONFIG_LABEL, dev);
		return;
	}
	if (mkdir(CONFIGGEN_PART_MOUNT, 0700) < 0 && errno != EEXIST) {
		blog_err("mkdir %s: %s; using defaults", CONFIGGEN_PART_MOUNT, strerror(errno));
		return;
	}
	if (mount(dev, CONFIGGEN_PART_MOUNT, "ext4", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) {
		blog_err("mount %s (%s) on %s: %s; using defaults", CONFIG_LABEL, dev, CONFIGGEN_PART_MOUNT,
			 strerror(errno));
		return;
	}
	if (bind_generation(dev) < 0) {
		return;
	}
	d->config_mounted = 1;
}

/* A restart while a generation's network change was on trial (berth
 * config apply): the generation before comes back, since nothing said the
 * host could be reached with it. */
static void settle_trial(int part)
{
	unsigned gen = 0;
	struct berr err = {0};
	if (configgen_trial(part, &gen, &err) == 1) {
		return;
	}
	unsigned long flags = MS_REMOUNT | MS_NOSUID | MS_NODEV | MS_NOEXEC;
	if (mount(NULL, CONFIGGEN_PART_MOUNT, NULL, flags, NULL) < 0) {
		blog_err("remount %s read-write to end a trial: %s", CONFIGGEN_PART_MOUNT, strerror(errno));
		return;
	}
	int ret = configgen_settle_trial(part, &gen, &err);
	if (ret < 0) {
		blog_err("ending the configuration's trial: %s", err.msg);
	} else if (ret == 1) {
		blog_warn("configuration generation %u was on trial (its network change unconfirmed) when the host "
			  "restarted; the one before is back in use",
			  gen);
	}
	if (mount(NULL, CONFIGGEN_PART_MOUNT, NULL, flags | MS_RDONLY, NULL) < 0) {
		blog_err("remount %s read-only: %s", CONFIGGEN_PART_MOUNT, strerror(errno));
	}
}

/* /config: the generation in use (lib/configgen.h), read-only; a name
 * that is broken or points nowhere means generation 0, as flashed. */
static int bind_generation(const char *dev)
{
	auto_close int part = open(CONFIGGEN_PART_MOUNT, O_PATH | O_DIRECTORY | O_CLOEXEC);
	unsigned gen = 0;
	struct berr err = {0};
	if (part >= 0) {
		settle_trial(part);
	}
	if (part < 0 || configgen_current(part, &gen, &err) < 0) {
		blog_err("%s; using CONFIG as flashed (generation 0)", part < 0 ? strerror(errno) : err.msg);
		gen = 0;
	}
	char rel[64];
	char src[128];
	configgen_path(gen, rel, sizeof(rel));
	snprintf(src, sizeof(src), "%s/%s", CONFIGGEN_PART_MOUNT, rel);
	unsigned long ro = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
	if (mount(src, CONFIG_MOUNT, NULL, MS_BIND, NULL) < 0 ||
	    mount(NULL, CONFIG_MOUNT, NULL, MS_REMOUNT | MS_BIND | ro, NULL) < 0) {
		blog_err("bind %s on %s: %s; using defaults", src, CONFIG_MOUNT, strerror(errno));
		umount2(CONFIG_MOUNT, MNT_DETACH);
		return -1;
	}
	blog_info("mounted %s (%s) read-only on %s, generation %u", CONFIG_LABEL, dev, CONFIG_MOUNT, gen);
	return 0;
}

static void setup_data(struct disks *d)
{
	char dev[96];
	char why[160];
	int partno;
	struct berr err;
	if (d->disk[0] == '\0' || blk_find_partition(d->disk, DATA_LABEL, dev, sizeof(dev), &partno, &err) < 0) {
		data_fallback(d, "partition not found");
		return;
	}
	grow_data_partition(d->disk, partno);
	int blank = partition_blank(dev);
	if (blank < 0) {
		snprintf(why, sizeof(why), "cannot read %s: %s", dev, strerror(-blank));
		data_fallback(d, why);
		return;
	}
	if (blank) {
		if (make_data_fs(dev) < 0) {
			data_fallback(d, "could not create its filesystem");
			return;
		}
	} else {
		int status = fsck_partition(DATA_LABEL, dev);
		if (status < 0 || (status & ~3) != 0) {
			snprintf(why, sizeof(why), "e2fsck could not repair %s (status %d)", dev, status);
			data_fallback(d, why);
			return;
		}
	}
	if (mount(dev, DATA_MOUNT, "ext4", MS_NOSUID | MS_NODEV | MS_NOATIME, NULL) < 0) {
		snprintf(why, sizeof(why), "mount %s: %s", dev, strerror(errno));
		data_fallback(d, why);
		return;
	}
	d->data = DATA_ON_DISK;
	snprintf(d->data_dev, sizeof(d->data_dev), "%s", dev);
	blog_info("mounted %s (%s) read-write on %s", DATA_LABEL, dev, DATA_MOUNT);
	resize_data_fs(dev);
}

void disks_setup(struct disks *d)
{
	struct berr err;
	memset(d, 0, sizeof(*d));
	if (blk_disk_of("/", d->disk, sizeof(d->disk), &err) < 0) {
		blog_err("cannot tell which disk holds the root filesystem: %s", err.msg);
		d->disk[0] = '\0';
	}
	setup_config(d);
	setup_data(d);
}
