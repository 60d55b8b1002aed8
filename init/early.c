/* Early mounts (see early.h). Runs in PID 1: never exits. */
#include "init/early.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/berr.h"
#include "lib/fsutil.h"
#include "lib/log.h"

struct early_mount {
	const char *source;
	const char *target;
	const char *fstype;
	unsigned long flags;
	const char *data;
	mode_t mode; /* directory to create first (0: must exist) */
};

/* Order matters: /dev before its subdirectories; cgroup2 needs /sys. */
static const struct early_mount early_table[] = {
	{"proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "hidepid=0", 0},
	{"sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, 0},
	{"devtmpfs", "/dev", "devtmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755", 0},
	{"devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "gid=5,mode=0620,ptmxmode=0666", 0755},
	{"shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777", 01777},
	{"run", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755", 0},
	{"tmp", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777", 0},
	/* nsdelegate: a container's cgroup namespace is a delegation
	 * boundary the kernel enforces. */
	{"cgroup2", "/sys/fs/cgroup", "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, "nsdelegate", 0},
};

static const char *const dev_links[][2] = {
	{"/proc/self/fd", "/dev/fd"},
	{"/proc/self/fd/0", "/dev/stdin"},
	{"/proc/self/fd/1", "/dev/stdout"},
	{"/proc/self/fd/2", "/dev/stderr"},
};

static const char *const run_dirs[] = {"/run/berth", "/run/root", "/run/lock"};

static void early_warn(const char *what, int code)
{
	/* The kernel log is not set up yet; the console is fd 2. */
	fprintf(stderr, "init: warning: %s: %s\n", what, strerror(code));
}

int early_mounts(void)
{
	int failures = 0;
	for (size_t i = 0; i < sizeof(early_table) / sizeof(early_table[0]); i++) {
		const struct early_mount *m = &early_table[i];
		if (m->mode != 0 && mkdir(m->target, m->mode) < 0 && errno != EEXIST) {
			early_warn(m->target, errno);
			failures++;
			continue;
		}
		if (mount(m->source, m->target, m->fstype, m->flags, m->data) < 0) {
			/* devtmpfs may already be mounted by the kernel. */
			if (errno == EBUSY) {
				continue;
			}
			char what[128];
			snprintf(what, sizeof(what), "mount %s on %s", m->fstype, m->target);
			early_warn(what, errno);
			failures++;
		}
	}
	for (size_t i = 0; i < sizeof(dev_links) / sizeof(dev_links[0]); i++) {
		if (symlink(dev_links[i][0], dev_links[i][1]) < 0 && errno != EEXIST) {
			early_warn(dev_links[i][1], errno);
			failures++;
		}
	}
	for (size_t i = 0; i < sizeof(run_dirs) / sizeof(run_dirs[0]); i++) {
		if (mkdir(run_dirs[i], 0755) < 0 && errno != EEXIST) {
			early_warn(run_dirs[i], errno);
			failures++;
		}
	}
	chmod("/run/root", 0700);
	/* Containers rely on mount propagation from the host: every mount
	 * below / is shared, as systemd does. */
	if (mount(NULL, "/", NULL, MS_REC | MS_SHARED, NULL) < 0) {
		early_warn("make / shared", errno);
		failures++;
	}
	return failures;
}

void early_settings(void)
{
	struct berr err;
	/* Userspace writes to /dev/kmsg are rate-limited by default; init's
	 * messages must not be dropped. */
	if (write_file("/proc/sys/kernel/printk_devkmsg", "on\n", &err) < 0) {
		blog_warn("%s", err.msg);
	}
	/* Kernel pointers in /proc and in messages show as zeros to anyone
	 * without CAP_SYSLOG (containers): they defeat address randomisation.
	 * host.yaml's sysctls come later and may change it. */
	if (write_file("/proc/sys/kernel/kptr_restrict", "1\n", &err) < 0) {
		blog_warn("%s", err.msg);
	}
	/* ptrace only of one's own descendants without CAP_SYS_PTRACE: Yama's
	 * own default, which Debian's kernel patches to 0. */
	if (write_file("/proc/sys/kernel/yama/ptrace_scope", "1\n", &err) < 0) {
		blog_warn("%s", err.msg);
	}
}
