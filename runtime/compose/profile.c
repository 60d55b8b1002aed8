/* Berth's default container profile (see profile.h). The syscall lists
 * are grouped by what a program does with them; together they are the
 * syscalls Docker's default seccomp profile allows on x86, with the same
 * argument checks and the same capability gates, and AF_ALG sockets
 * blocked as Docker does since 2026. Anything not listed fails with EPERM.
 *
 * Docker (since 2025) also allows syscalls of Linux 6.8 and later
 * (listmount, statmount, mseal, the *xattrat family; lsm_* with
 * CAP_SYS_ADMIN). The pinned libseccomp knows syscalls up to Linux 6.7 and
 * Berth's kernel is 6.1, so they are left out until both move on.
 *
 * Builds OCI structures only. */
#include "compose/profile.h"

#include <errno.h>
#include <linux/sched.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/socket.h>

const char *const profile_masked_paths[PROFILE_NMASKED_PATHS] = {
	"/proc/asound",
	"/proc/acpi",
	"/proc/kcore",
	"/proc/keys",
	"/proc/latency_stats",
	"/proc/timer_list",
	"/proc/timer_stats",
	"/proc/sched_debug",
	"/proc/scsi",
	"/sys/firmware",
	"/sys/devices/virtual/powercap",
};

const char *const profile_readonly_paths[PROFILE_NREADONLY_PATHS] = {
	"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
};

/* ---- syscalls every container may make ------------------------------- */

/* Paths: looking up, creating, changing and removing files. Permission
 * checks stay with the kernel (and the container's capabilities); opening
 * a file by handle (open_by_handle_at) needs CAP_DAC_READ_SEARCH. */
static const char sys_paths[] =
	"access chdir chmod chown chown32 creat faccessat faccessat2 fchdir fchmod fchmodat fchmodat2 "
	"fchown fchown32 fchownat getcwd getdents getdents64 lchown lchown32 link linkat lstat lstat64 "
	"mkdir mkdirat mknod mknodat newfstatat open openat openat2 readlink readlinkat rename renameat "
	"renameat2 rmdir stat stat64 statfs statfs64 statx symlink symlinkat truncate truncate64 umask "
	"unlink unlinkat utime utimensat utimensat_time64 utimes futimesat name_to_handle_at";

/* Open files: metadata, space, syncing, locks, change notification. */
static const char sys_files[] = "fstat fstat64 fstatat64 fstatfs fstatfs64 ftruncate ftruncate64 fallocate fadvise64 "
				"fadvise64_64 flock fsync fdatasync sync syncfs sync_file_range readahead cachestat "
				"fanotify_mark inotify_add_watch inotify_init inotify_init1 inotify_rm_watch";

/* Extended attributes (security.* and trusted.* are the kernel's to check). */
static const char sys_xattrs[] =
	"getxattr lgetxattr fgetxattr listxattr llistxattr flistxattr setxattr lsetxattr fsetxattr "
	"removexattr lremovexattr fremovexattr";

/* File descriptors and the data through them. */
static const char sys_io[] =
	"close close_range dup dup2 dup3 fcntl fcntl64 ioctl lseek _llseek pipe pipe2 read readv pread64 "
	"preadv preadv2 write writev pwrite64 pwritev pwritev2 sendfile sendfile64 splice tee vmsplice "
	"copy_file_range";

/* Waiting for many things at once: event loops, timers and signals as fds. */
static const char sys_events[] =
	"epoll_create epoll_create1 epoll_ctl epoll_ctl_old epoll_pwait epoll_pwait2 epoll_wait "
	"epoll_wait_old eventfd eventfd2 poll ppoll ppoll_time64 select _newselect pselect6 "
	"pselect6_time64 signalfd signalfd4 timerfd_create timerfd_gettime timerfd_gettime64 "
	"timerfd_settime timerfd_settime64";

/* Asynchronous I/O: databases and runtimes use both AIO and io_uring. */
static const char sys_aio[] = "io_setup io_destroy io_submit io_cancel io_getevents io_pgetevents io_pgetevents_time64 "
			      "io_uring_setup io_uring_enter io_uring_register ioprio_get ioprio_set";

/* Memory: mappings, protection keys, locking (bounded by RLIMIT_MEMLOCK). */
static const char sys_memory[] =
	"brk mmap mmap2 munmap mremap mprotect madvise mincore msync mlock mlock2 mlockall munlock "
	"munlockall membarrier memfd_create memfd_secret remap_file_pages pkey_alloc pkey_free "
	"pkey_mprotect map_shadow_stack";

/* Processes and threads. fork and vfork carry no flags; clone is checked
 * below. futex and rseq are what every threaded libc is built on. */
static const char sys_processes[] =
	"fork vfork execve execveat exit exit_group wait4 waitid waitpid getpid getppid gettid getpgid "
	"getpgrp getsid setpgid setsid set_tid_address set_robust_list get_robust_list futex "
	"futex_time64 futex_waitv futex_wait futex_wake futex_requeue rseq prctl set_thread_area "
	"get_thread_area getrlimit setrlimit ugetrlimit prlimit64 getrusage getpriority setpriority "
	"pidfd_open pidfd_send_signal process_mrelease restart_syscall getcpu sysinfo uname times "
	"getrandom";

/* Dropping privileges: a process may restrict itself further (seccomp,
 * Landlock, capabilities it holds). */
static const char sys_self_restriction[] =
	"capget capset seccomp landlock_create_ruleset landlock_add_rule landlock_restrict_self";

/* Scheduling of the caller's own threads (raising priority needs
 * CAP_SYS_NICE, which the kernel checks). */
static const char sys_scheduling[] =
	"sched_yield sched_getaffinity sched_setaffinity sched_getattr sched_setattr sched_getparam "
	"sched_setparam sched_getscheduler sched_setscheduler sched_get_priority_max "
	"sched_get_priority_min sched_rr_get_interval sched_rr_get_interval_time64";

/* User and group IDs: changing them needs CAP_SETUID / CAP_SETGID, which
 * the kernel checks, and maps inside a user namespace. */
static const char sys_credentials[] =
	"getuid getuid32 geteuid geteuid32 getgid getgid32 getegid getegid32 getresuid getresuid32 "
	"getresgid getresgid32 getgroups getgroups32 setuid setuid32 setgid setgid32 setreuid setreuid32 "
	"setregid setregid32 setresuid setresuid32 setresgid setresgid32 setfsuid setfsuid32 setfsgid "
	"setfsgid32 setgroups setgroups32";

/* Signals (kill reaches only the container's PID namespace). */
static const char sys_signals[] =
	"kill tkill tgkill rt_sigaction rt_sigpending rt_sigprocmask rt_sigqueueinfo rt_sigreturn "
	"rt_sigsuspend rt_sigtimedwait rt_sigtimedwait_time64 rt_tgsigqueueinfo sigaltstack sigprocmask "
	"sigreturn pause alarm";

/* Reading clocks, sleeping, timers. adjtimex and clock_adjtime only read
 * unless the caller has CAP_SYS_TIME; setting the clock is gated below. */
static const char sys_time[] =
	"clock_gettime clock_gettime64 clock_getres clock_getres_time64 clock_nanosleep "
	"clock_nanosleep_time64 gettimeofday time nanosleep getitimer setitimer timer_create "
	"timer_delete timer_getoverrun timer_gettime timer_gettime64 timer_settime timer_settime64 "
	"adjtimex clock_adjtime clock_adjtime64";

/* System V IPC and POSIX message queues: private to the IPC namespace. */
static const char sys_ipc[] =
	"ipc msgget msgsnd msgrcv msgctl semget semop semtimedop semtimedop_time64 semctl shmget shmat "
	"shmdt shmctl mq_open mq_unlink mq_timedsend mq_timedsend_time64 mq_timedreceive "
	"mq_timedreceive_time64 mq_notify mq_getsetattr";

/* Sockets once they exist; creating one is checked below by family.
 * socketcall stays open as in Docker: 32-bit x86 programs still reach
 * sockets through it, and seccomp cannot see the family behind its
 * pointer argument (Docker blocks AF_ALG there with AppArmor instead,
 * which Berth does not have). */
static const char sys_sockets[] =
	"socketpair bind connect listen accept accept4 getsockname getpeername getsockopt setsockopt "
	"shutdown send sendto sendmsg sendmmsg recv recvfrom recvmsg recvmmsg recvmmsg_time64 socketcall";

/* Debugging one's own processes. Safe without CAP_SYS_PTRACE since Linux
 * 4.8, where a tracer can no longer step around a seccomp filter. */
static const char sys_debugging[] = "ptrace process_vm_readv process_vm_writev";

/* x86 only: thread-local storage (arch_prctl) and 16-bit segments for
 * Wine and old runtimes (modify_ldt). */
static const char sys_x86[] = "arch_prctl modify_ldt";

/* ---- syscalls a capability opens -------------------------------------- */

/* Mounts, namespaces, host identity, kernel-wide facilities. */
static const char sys_cap_sys_admin[] =
	"mount umount umount2 mount_setattr move_mount open_tree fsopen fsconfig fsmount fspick unshare "
	"setns clone clone3 sethostname setdomainname quotactl quotactl_fd fanotify_init lookup_dcookie "
	"bpf perf_event_open syslog";

/* Opening files by handle walks around the path checks of the mount. */
static const char sys_cap_dac_read_search[] = "open_by_handle_at";
static const char sys_cap_sys_boot[] = "reboot";
static const char sys_cap_sys_chroot[] = "chroot";
static const char sys_cap_sys_module[] = "init_module finit_module delete_module";
static const char sys_cap_sys_pacct[] = "acct";
/* Reaching into processes of other users. */
static const char sys_cap_sys_ptrace[] = "ptrace process_vm_readv process_vm_writev process_madvise pidfd_getfd kcmp";
static const char sys_cap_sys_rawio[] = "iopl ioperm";
static const char sys_cap_sys_time[] = "settimeofday stime clock_settime clock_settime64";
static const char sys_cap_sys_tty_config[] = "vhangup";
/* NUMA memory placement, which can starve other tenants of a node. */
static const char sys_cap_sys_nice[] = "get_mempolicy set_mempolicy set_mempolicy_home_node mbind";
static const char sys_cap_syslog[] = "syslog";
static const char sys_cap_bpf[] = "bpf";
static const char sys_cap_perfmon[] = "perf_event_open";

#define ALWAYS (-1)

struct syscall_group {
	int cap;	   /* ALWAYS, or the capability that opens the group */
	const char *names; /* separated by spaces */
};

static const struct syscall_group allow_groups[] = {
	{ALWAYS, sys_paths},
	{ALWAYS, sys_files},
	{ALWAYS, sys_xattrs},
	{ALWAYS, sys_io},
	{ALWAYS, sys_events},
	{ALWAYS, sys_aio},
	{ALWAYS, sys_memory},
	{ALWAYS, sys_processes},
	{ALWAYS, sys_self_restriction},
	{ALWAYS, sys_scheduling},
	{ALWAYS, sys_credentials},
	{ALWAYS, sys_signals},
	{ALWAYS, sys_time},
	{ALWAYS, sys_ipc},
	{ALWAYS, sys_sockets},
	{ALWAYS, sys_debugging},
	{ALWAYS, sys_x86},
	{CAP_SYS_ADMIN, sys_cap_sys_admin},
	{CAP_DAC_READ_SEARCH, sys_cap_dac_read_search},
	{CAP_SYS_BOOT, sys_cap_sys_boot},
	{CAP_SYS_CHROOT, sys_cap_sys_chroot},
	{CAP_SYS_MODULE, sys_cap_sys_module},
	{CAP_SYS_PACCT, sys_cap_sys_pacct},
	{CAP_SYS_PTRACE, sys_cap_sys_ptrace},
	{CAP_SYS_RAWIO, sys_cap_sys_rawio},
	{CAP_SYS_TIME, sys_cap_sys_time},
	{CAP_SYS_TTY_CONFIG, sys_cap_sys_tty_config},
	{CAP_SYS_NICE, sys_cap_sys_nice},
	{CAP_SYSLOG, sys_cap_syslog},
	{CAP_BPF, sys_cap_bpf},
	{CAP_PERFMON, sys_cap_perfmon},
};

/* personality(2) values allowed: Linux, 32-bit Linux, each with the 2.6
 * uname emulation, and 0xffffffff, which only queries. Other personalities
 * turn off ASLR or change how the kernel maps memory. */
static const uint64_t personalities[] = {
	PER_LINUX, PER_LINUX32, UNAME26, UNAME26 | PER_LINUX32, 0xffffffffu,
};

/* clone flags that create namespaces; without CAP_SYS_ADMIN, clone must
 * have none of them. (CLONE_NEWTIME only exists for clone3 and unshare.) */
#define CLONE_NAMESPACE_FLAGS \
	(CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET)

_Static_assert(AF_ALG + 1 == AF_NFC && AF_NFC + 1 == AF_VSOCK, "the socket ranges assume AF_ALG, AF_NFC, AF_VSOCK");

#define MAX_RULES 16

static int fill_strings(struct arena *a, char ***out, size_t *n, const char *const *src, size_t count)
{
	char **v = arena_alloc(a, count * sizeof(*v));
	if (v == NULL) {
		return -ENOMEM;
	}
	for (size_t i = 0; i < count; i++) {
		v[i] = arena_strdup(a, src[i]);
		if (v[i] == NULL) {
			return -ENOMEM;
		}
	}
	*out = v;
	*n = count;
	return 0;
}

int profile_paths(struct arena *a, struct oci_linux *l, struct berr *err)
{
	if (fill_strings(a, &l->masked_paths, &l->nmasked_paths, profile_masked_paths, PROFILE_NMASKED_PATHS) < 0 ||
	    fill_strings(a, &l->readonly_paths, &l->nreadonly_paths, profile_readonly_paths, PROFILE_NREADONLY_PATHS) <
		    0) {
		return berr_set(err, ENOMEM, "default profile: masked and read-only paths");
	}
	return 0;
}

static int has_cap(uint64_t caps, int cap)
{
	return cap == ALWAYS || (cap >= 0 && cap < 64 && (caps & PROFILE_CAP(cap)) != 0);
}

/* One rule: action on one syscall, with at most one condition. */
static struct oci_seccomp_rule *add_rule(struct arena *a, struct oci_seccomp *s, const char *name,
					 enum oci_seccomp_action action)
{
	if (s->nsyscalls >= MAX_RULES) {
		return NULL;
	}
	struct oci_seccomp_rule *r = &s->syscalls[s->nsyscalls];
	r->names = arena_alloc(a, sizeof(*r->names));
	if (r->names == NULL || (r->names[0] = arena_strdup(a, name)) == NULL) {
		return NULL;
	}
	r->nnames = 1;
	r->action = action;
	s->nsyscalls++;
	return r;
}

static int add_arg_rule(struct arena *a, struct oci_seccomp *s, const char *name, enum oci_seccomp_op op,
			uint64_t value, uint64_t value_two)
{
	struct oci_seccomp_rule *r = add_rule(a, s, name, OCI_SECCOMP_ALLOW);
	if (r == NULL || (r->args = arena_alloc(a, sizeof(*r->args))) == NULL) {
		return -ENOMEM;
	}
	r->args[0].index = 0;
	r->args[0].op = op;
	r->args[0].value = value;
	r->args[0].value_two = value_two;
	r->nargs = 1;
	return 0;
}

static int has_name(const struct oci_seccomp_rule *r, const char *name, size_t len)
{
	for (size_t i = 0; i < r->nnames; i++) {
		if (strncmp(r->names[i], name, len) == 0 && r->names[i][len] == '\0') {
			return 1;
		}
	}
	return 0;
}

/* The unconditional allow rule: every group the capabilities open, each
 * name once (some groups share names, e.g. syslog and bpf). */
static int add_allow_rule(struct arena *a, struct oci_seccomp *s, uint64_t caps)
{
	size_t most = 0;
	for (size_t g = 0; g < sizeof(allow_groups) / sizeof(allow_groups[0]); g++) {
		most++;
		for (const char *p = allow_groups[g].names; *p != '\0'; p++) {
			most += *p == ' ';
		}
	}
	struct oci_seccomp_rule *r = &s->syscalls[s->nsyscalls];
	r->names = arena_alloc(a, most * sizeof(*r->names));
	if (r->names == NULL) {
		return -ENOMEM;
	}
	for (size_t g = 0; g < sizeof(allow_groups) / sizeof(allow_groups[0]); g++) {
		if (!has_cap(caps, allow_groups[g].cap)) {
			continue;
		}
		for (const char *p = allow_groups[g].names; *p != '\0';) {
			size_t len = strcspn(p, " ");
			if (len > 0 && !has_name(r, p, len)) {
				if ((r->names[r->nnames] = arena_strndup(a, p, len)) == NULL) {
					return -ENOMEM;
				}
				r->nnames++;
			}
			p += len;
			p += strspn(p, " ");
		}
	}
	r->action = OCI_SECCOMP_ALLOW;
	s->nsyscalls++;
	return 0;
}

static int build_seccomp(struct arena *a, uint64_t caps, struct oci_seccomp *s)
{
	/* x86_64 only: Berth's kernel has no 32-bit or x32 system call entry
	 * (no IA32_EMULATION, no X86_X32), so filtering them buys nothing and
	 * costs about 9 ms per container to compile. */
	static const char *const arches[] = {"SCMP_ARCH_X86_64"};
	s->default_action = OCI_SECCOMP_ERRNO;
	s->has_default_errno_ret = 1;
	s->default_errno_ret = EPERM;
	if (fill_strings(a, &s->architectures, &s->narchitectures, arches, sizeof(arches) / sizeof(arches[0])) < 0) {
		return -ENOMEM;
	}
	s->syscalls = arena_alloc(a, MAX_RULES * sizeof(*s->syscalls));
	if (s->syscalls == NULL || add_allow_rule(a, s, caps) < 0) {
		return -ENOMEM;
	}
	for (size_t i = 0; i < sizeof(personalities) / sizeof(personalities[0]); i++) {
		if (add_arg_rule(a, s, "personality", OCI_SECCOMP_OP_EQ, personalities[i], 0) < 0) {
			return -ENOMEM;
		}
	}
	/* Every socket family but AF_ALG (the kernel's crypto API, a source of
	 * privilege escalations) and AF_VSOCK (talks to the hypervisor), as
	 * three ranges around them (AF_NFC is the one family in between): two
	 * NE conditions on one argument cannot be ANDed. */
	if (add_arg_rule(a, s, "socket", OCI_SECCOMP_OP_LT, AF_ALG, 0) < 0 ||
	    add_arg_rule(a, s, "socket", OCI_SECCOMP_OP_EQ, AF_NFC, 0) < 0 ||
	    add_arg_rule(a, s, "socket", OCI_SECCOMP_OP_GT, AF_VSOCK, 0) < 0) {
		return -ENOMEM;
	}
	if (!has_cap(caps, CAP_SYS_ADMIN)) {
		/* clone without namespace flags (threads, fork). clone3 passes
		 * its flags in memory, where seccomp cannot look: ENOSYS makes
		 * glibc and musl fall back to clone, which is checked here. */
		struct oci_seccomp_rule *r = add_rule(a, s, "clone3", OCI_SECCOMP_ERRNO);
		if (r == NULL || add_arg_rule(a, s, "clone", OCI_SECCOMP_OP_MASKED_EQ, CLONE_NAMESPACE_FLAGS, 0) < 0) {
			return -ENOMEM;
		}
		r->has_errno_ret = 1;
		r->errno_ret = ENOSYS;
	}
	return 0;
}

int profile_seccomp(struct arena *a, uint64_t effective_caps, struct oci_seccomp **out, struct berr *err)
{
	struct oci_seccomp *s = arena_alloc(a, sizeof(*s));
	if (s == NULL || build_seccomp(a, effective_caps, s) < 0) {
		return berr_set(err, ENOMEM, "default profile: seccomp policy");
	}
	*out = s;
	return 0;
}
