/* DATA's state while the host runs (see datawatch.h). Runs in PID 1: a
 * failure to watch is logged once, and the host runs on. */
#include "init/datawatch.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "init/console.h"
#include "init/loop.h"
#include "lib/fsutil.h"
#include "lib/log.h"

#define CHECK_EVERY_SEC 5
#define FAILED_FILE "/run/berth/data-failed"

static struct watch timer = {.fd = -1};
static char errors_path[160]; /* /sys/fs/ext4/<dev>/errors_count */
static long errors_at_start = -1;
static int was_full;
static int has_failed;

/* The filesystem errors ext4 has counted on DATA (kept in its superblock
 * until e2fsck repairs them), or -1. */
static long errors_count(void)
{
	char buf[32];
	if (errors_path[0] == '\0' || read_file(errors_path, buf, sizeof(buf), NULL) <= 0) {
		return -1;
	}
	return strtol(buf, NULL, 10);
}

/* Why DATA stopped working, or NULL while it works. ext4 on this kernel
 * answers an error it cannot continue after (a journal that cannot be
 * written) by aborting its journal: creating, renaming and removing fail
 * with EROFS, writes to files reach only memory and fsync fails, yet the
 * mount still says rw. What tells it without any I/O is the error count
 * in sysfs; a filesystem mounted read-only tells it in statvfs. */
static const char *failure(const struct statvfs *st, char *why, size_t size)
{
	if ((st->f_flag & ST_RDONLY) != 0) {
		return "went read-only after an error";
	}
	long errors = errors_count();
	if (errors_at_start >= 0 && errors > errors_at_start) {
		snprintf(why, size, "had %ld filesystem errors (an I/O error or damage)", errors - errors_at_start);
		return why;
	}
	return NULL;
}

static void note_failed(const char *why)
{
	blog_err("%s (%s) %s (see dmesg): writes there fail or are lost until a reboot, whose fsck repairs it",
		 DATA_LABEL, DATA_MOUNT, why);
	console_print("\n*** WARNING: %s (%s) %s.\n*** Writes there fail or are lost until a reboot.\n", DATA_LABEL,
		      DATA_MOUNT, why);
	int fd = open(FAILED_FILE, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd >= 0) {
		dprintf(fd, "%s; reboot to repair\n", why);
		close(fd);
	}
}

static void on_tick(struct watch *w, uint32_t events)
{
	(void)events;
	uint64_t expirations;
	while (read(w->fd, &expirations, sizeof(expirations)) > 0) {
	}
	struct statvfs st;
	if (has_failed || statvfs(DATA_MOUNT, &st) < 0) {
		return;
	}
	char buf[128];
	const char *why = failure(&st, buf, sizeof(buf));
	if (why != NULL) {
		/* Until a reboot: a failed filesystem does not come back. */
		has_failed = 1;
		note_failed(why);
		return;
	}
	/* No space but ext4's reserves: writes fail with ENOSPC now or soon
	 * (everything on DATA runs as root, which may take the last of them). */
	int full = st.f_bavail == 0;
	if (full && !was_full) {
		blog_err("%s (%s) is full: writes there fail with ENOSPC until space is freed", DATA_LABEL, DATA_MOUNT);
	} else if (!full && was_full) {
		blog_notice("%s (%s) has free space again: %llu MiB", DATA_LABEL, DATA_MOUNT,
			    (unsigned long long)st.f_bavail * st.f_frsize >> 20);
	}
	was_full = full;
}

void datawatch_start(const struct disks *d)
{
	if (d->data != DATA_ON_DISK) {
		return;
	}
	const char *dev = strrchr(d->data_dev, '/');
	snprintf(errors_path, sizeof(errors_path), "/sys/fs/ext4/%s/errors_count", dev != NULL ? dev + 1 : d->data_dev);
	errors_at_start = errors_count();
	struct itimerspec its = {
		.it_interval = {.tv_sec = CHECK_EVERY_SEC},
		.it_value = {.tv_sec = CHECK_EVERY_SEC},
	};
	timer.ready = on_tick;
	timer.fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (timer.fd < 0 || timerfd_settime(timer.fd, 0, &its, NULL) < 0 || loop_add(&timer) < 0) {
		blog_err("cannot watch %s for a full or read-only filesystem: %s", DATA_MOUNT, strerror(errno));
		if (timer.fd >= 0) {
			close(timer.fd);
			timer.fd = -1;
		}
	}
}
