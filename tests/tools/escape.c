/* escape: one attempt to get out of a container, for the QEMU attack tests
 * (never part of the image; copied into a test container's image).
 *
 *   escape ATTEMPT [ARG...]
 *
 * Prints "blocked: ATTEMPT: why" and exits 0 when the kernel refuses, or
 * "ESCAPED: ATTEMPT: what" and exits 1 when the attempt worked. Exit 2 is
 * a usage error. Each attempt is what a hostile program with the
 * container's default privileges (root in it, Docker's capabilities, the
 * default seccomp profile) would try first. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/klog.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static const char *attempt;

static int blocked(const char *why)
{
	printf("blocked: %s: %s\n", attempt, why);
	return 0;
}

static int refused(void)
{
	return blocked(strerror(errno));
}

static int escaped(const char *what)
{
	printf("ESCAPED: %s: %s\n", attempt, what);
	return 1;
}

static int try_mount(void)
{
	mkdir("/tmp/escape-mnt", 0700);
	if (mount("none", "/tmp/escape-mnt", "tmpfs", 0, NULL) < 0) {
		return refused();
	}
	return escaped("mounted a tmpfs");
}

static int try_unshare(int flags, const char *what)
{
	if (unshare(flags) < 0) {
		return refused();
	}
	return escaped(what);
}

static int try_keyring(void)
{
	long k = syscall(SYS_add_key, "user", "berth-escape", "x", 1, -3 /* KEY_SPEC_USER_KEYRING */);
	if (k < 0) {
		return refused();
	}
	return escaped("added a key to the user keyring");
}

/* A block device node made inside: the device cgroup must refuse to open it. */
static int try_blockdev(const char *majmin)
{
	unsigned maj = 0;
	unsigned min = 0;
	if (sscanf(majmin, "%u:%u", &maj, &min) != 2) {
		return 2;
	}
	unlink("/tmp/escape-blk");
	if (mknod("/tmp/escape-blk", S_IFBLK | 0600, makedev(maj, min)) < 0) {
		return refused();
	}
	int fd = open("/tmp/escape-blk", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		return refused();
	}
	char buf[512];
	ssize_t n = read(fd, buf, sizeof(buf));
	close(fd);
	return n > 0 ? escaped("read the raw disk") : refused();
}

static int try_cgroup(void)
{
	if (mkdir("/sys/fs/cgroup/escape", 0755) == 0) {
		rmdir("/sys/fs/cgroup/escape");
		return escaped("made a cgroup");
	}
	int e = errno;
	/* The container's cgroup namespace: it sees its own cgroup as the root. */
	FILE *f = fopen("/proc/self/cgroup", "re");
	char line[256] = "";
	if (f != NULL) {
		if (fgets(line, sizeof(line), f) == NULL) {
			line[0] = '\0';
		}
		fclose(f);
	}
	if (strcmp(line, "0::/\n") != 0) {
		return escaped("sees the host's cgroup tree");
	}
	errno = e;
	return refused();
}

static int try_bpf(void)
{
	union bpf_attr attr;
	memset(&attr, 0, sizeof(attr));
	attr.map_type = BPF_MAP_TYPE_ARRAY;
	attr.key_size = 4;
	attr.value_size = 4;
	attr.max_entries = 1;
	long fd = syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof(attr));
	if (fd < 0) {
		return refused();
	}
	return escaped("made a BPF map");
}

static int try_ptrace(const char *pid)
{
	if (ptrace(PTRACE_ATTACH, (pid_t)atoi(pid), NULL, NULL) < 0) {
		return refused();
	}
	return escaped("attached to a process");
}

static int try_write(const char *path)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		return refused();
	}
	ssize_t n = write(fd, "0", 1);
	close(fd);
	return n == 1 ? escaped(path) : refused();
}

static int try_unix(const char *path)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		return refused();
	}
	close(fd);
	return escaped("connected to the socket");
}

/* A TCP connection, given 3 s: refused, unreachable or no answer are all
 * "blocked" (a dropping firewall answers with silence). */
static int try_tcp(const char *addr, const char *port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port))};
	if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
		return 2;
	}
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		return refused();
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS) {
		return refused();
	}
	struct pollfd p = {.fd = fd, .events = POLLOUT};
	if (poll(&p, 1, 3000) != 1) {
		return blocked("no answer in 3 s");
	}
	int err = 0;
	socklen_t len = sizeof(err);
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
	close(fd);
	if (err != 0) {
		errno = err;
		return refused();
	}
	return escaped("connected");
}

static int try_kmsg(void)
{
	char buf[64];
	if (klogctl(3 /* SYSLOG_ACTION_READ_ALL */, buf, sizeof(buf)) < 0) {
		return refused();
	}
	return escaped("read the kernel log");
}

static int try_module(void)
{
	if (syscall(SYS_init_module, "", 0, "") < 0 && errno != ENOEXEC && errno != EINVAL) {
		return refused();
	}
	return escaped("reached the module loader");
}

static int try_handle(void)
{
	/* CVE-2014-3519 ("shocker"): a handle made up for the host's root. */
	struct {
		unsigned int handle_bytes;
		int handle_type;
		unsigned char f_handle[8];
	} h = {8, 1, {2, 0, 0, 0, 0, 0, 0, 0}};
	long fd = syscall(SYS_open_by_handle_at, AT_FDCWD, &h, O_RDONLY);
	if (fd < 0) {
		return refused();
	}
	return escaped("opened a file by handle");
}

static int try_clock(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	if (clock_settime(CLOCK_REALTIME, &ts) < 0) {
		return refused();
	}
	return escaped("set the host's clock");
}

static int try_perf(void)
{
	struct perf_event_attr a;
	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.type = PERF_TYPE_SOFTWARE;
	a.config = PERF_COUNT_SW_CPU_CLOCK;
	long fd = syscall(SYS_perf_event_open, &a, -1, 0, -1, 0);
	if (fd < 0) {
		return refused();
	}
	return escaped("opened a system-wide perf event");
}

static int try_reboot(void)
{
	/* In a pid namespace, CAP_SYS_BOOT would only end the namespace;
	 * without it the call fails. POWER_OFF: never a host reboot. */
	if (reboot(RB_POWER_OFF) < 0) {
		return refused();
	}
	return escaped("rebooted");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: escape ATTEMPT [ARG...]\n");
		return 2;
	}
	attempt = argv[1];
	const char *a = argv[1];
	const char *x = argc > 2 ? argv[2] : "";
	const char *y = argc > 3 ? argv[3] : "";
	if (strcmp(a, "mount") == 0) {
		return try_mount();
	}
	if (strcmp(a, "unshare-mount") == 0) {
		return try_unshare(CLONE_NEWNS, "made a mount namespace");
	}
	if (strcmp(a, "unshare-user") == 0) {
		return try_unshare(CLONE_NEWUSER, "made a user namespace");
	}
	if (strcmp(a, "keyring") == 0) {
		return try_keyring();
	}
	if (strcmp(a, "blockdev") == 0) {
		return try_blockdev(x);
	}
	if (strcmp(a, "cgroup") == 0) {
		return try_cgroup();
	}
	if (strcmp(a, "bpf") == 0) {
		return try_bpf();
	}
	if (strcmp(a, "ptrace") == 0) {
		return try_ptrace(x);
	}
	if (strcmp(a, "write") == 0) {
		return try_write(x);
	}
	if (strcmp(a, "unix") == 0) {
		return try_unix(x);
	}
	if (strcmp(a, "tcp") == 0) {
		return try_tcp(x, y);
	}
	if (strcmp(a, "kmsg") == 0) {
		return try_kmsg();
	}
	if (strcmp(a, "module") == 0) {
		return try_module();
	}
	if (strcmp(a, "handle") == 0) {
		return try_handle();
	}
	if (strcmp(a, "clock") == 0) {
		return try_clock();
	}
	if (strcmp(a, "perf") == 0) {
		return try_perf();
	}
	if (strcmp(a, "reboot") == 0) {
		return try_reboot();
	}
	fprintf(stderr, "escape: unknown attempt %s\n", a);
	return 2;
}
