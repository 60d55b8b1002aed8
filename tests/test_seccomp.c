/* linux.seccomp and the default profile: policies compile, errors name the
 * field, and loaded filters do what the profile says. Filters are loaded in
 * forked children (seccomp cannot be undone); a child reports each failed
 * expectation as a line on a pipe and the parent checks that it got none. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "compose/profile.h"
#include "oci/seccomp.h"

#define MAX_NAMES 8
#define MAX_ARGS 4
#define MAX_RULES 4

/* A small policy written as a test wants it; pointers into itself. */
struct policy {
	struct oci_seccomp s;
	struct oci_seccomp_rule rules[MAX_RULES];
	char *names[MAX_RULES][MAX_NAMES];
	struct oci_seccomp_arg args[MAX_RULES][MAX_ARGS];
	char *arches[4];
	char *flags[4];
};

static void policy_init(struct policy *p, enum oci_seccomp_action def)
{
	memset(p, 0, sizeof(*p));
	p->s.default_action = def;
	p->s.syscalls = p->rules;
	p->s.architectures = p->arches;
	p->s.flags = p->flags;
}

/* Adds a rule for the NULL-terminated names; returns it for args. */
static struct oci_seccomp_rule *policy_rule(struct policy *p, enum oci_seccomp_action action, ...)
{
	size_t i = p->s.nsyscalls++;
	struct oci_seccomp_rule *r = &p->rules[i];
	r->action = action;
	r->names = p->names[i];
	r->args = p->args[i];
	va_list ap;
	va_start(ap, action);
	for (char *n = va_arg(ap, char *); n != NULL && r->nnames < MAX_NAMES; n = va_arg(ap, char *)) {
		r->names[r->nnames++] = n;
	}
	va_end(ap);
	return r;
}

static void rule_arg(struct oci_seccomp_rule *r, unsigned index, enum oci_seccomp_op op, uint64_t value,
		     uint64_t value_two)
{
	struct oci_seccomp_arg *a = &r->args[r->nargs++];
	a->index = index;
	a->op = op;
	a->value = value;
	a->value_two = value_two;
}

static void rule_errno(struct oci_seccomp_rule *r, uint32_t e)
{
	r->has_errno_ret = 1;
	r->errno_ret = e;
}

/* Builds p; returns the error code and leaves the message in err. */
static int build(const struct oci_seccomp *s, struct berr *err, size_t *nwarnings, char (*warnings)[256])
{
	scmp_filter_ctx ctx = NULL;
	size_t n = 0;
	berr_clear(err);
	int rc = oci_seccomp_build(s, &ctx, warnings, warnings != NULL ? 4 : 0, &n, err);
	if (ctx != NULL) {
		seccomp_release(ctx);
	}
	if (nwarnings != NULL) {
		*nwarnings = n;
	}
	return rc;
}

static int report_fd = -1;

static void report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void report(const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n > 0) {
		ssize_t w = write(report_fd, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
		(void)w;
	}
}

/* In a child: call must fail with errno want. */
#define EXPECT_ERRNO(call, want)                                                                                    \
	do {                                                                                                        \
		errno = 0;                                                                                          \
		long r_ = (long)(call);                                                                             \
		int e_ = errno;                                                                                     \
		if (r_ != -1 || e_ != (want)) {                                                                     \
			report("%d: %s: returned %ld, errno %d; want errno %d\n", __LINE__, #call, r_, e_, (want)); \
		}                                                                                                   \
	} while (0)

/* In a child: call must not fail. */
#define EXPECT_OK(call)                                                                                         \
	do {                                                                                                    \
		errno = 0;                                                                                      \
		long r_ = (long)(call);                                                                         \
		if (r_ == -1) {                                                                                 \
			report("%d: %s: failed with errno %d (%s)\n", __LINE__, #call, errno, strerror(errno)); \
		}                                                                                               \
	} while (0)

/* In a child: call must not fail with errno unwanted (it may fail otherwise). */
#define EXPECT_NOT_ERRNO(call, unwanted)                                                                               \
	do {                                                                                                           \
		errno = 0;                                                                                             \
		long r_ = (long)(call);                                                                                \
		if (r_ == -1 && errno == (unwanted)) {                                                                 \
			report("%d: %s: failed with errno %d, which only the filter gives\n", __LINE__, #call, errno); \
		}                                                                                                      \
	} while (0)

/* Runs body(arg) in a child with no_new_privs set and policy s loaded
 * (s NULL: body loads it). Returns 1 when the child exited 0 and reported
 * nothing; prints what it reported otherwise. */
static int in_child(const struct oci_seccomp *s, void (*body)(const void *arg), const void *arg)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		return 0;
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		return 0;
	}
	if (pid == 0) {
		close(p[0]);
		report_fd = p[1];
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
			report("no_new_privs: %s\n", strerror(errno));
			_exit(1);
		}
		if (s != NULL) {
			struct berr err = {0};
			if (oci_seccomp_load(s, &err) < 0) {
				report("load: %s\n", err.msg);
				_exit(1);
			}
		}
		body(arg);
		/* _exit: no atexit handlers (LeakSanitizer) under the filter. */
		_exit(0);
	}
	close(p[1]);
	char buf[4096];
	size_t len = 0;
	for (;;) {
		ssize_t n = read(p[0], buf + len, sizeof(buf) - 1 - len);
		if (n <= 0) {
			break;
		}
		len += (size_t)n;
		if (len == sizeof(buf) - 1) {
			break;
		}
	}
	buf[len] = '\0';
	close(p[0]);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
	}
	if (len > 0) {
		fprintf(stderr, "child reported:\n%s", buf);
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "child ended with status 0x%x\n", (unsigned)status);
		return 0;
	}
	return len == 0;
}

static const struct oci_seccomp_rule *find_rule(const struct oci_seccomp *s, const char *name, size_t skip)
{
	for (size_t i = 0; i < s->nsyscalls; i++) {
		for (size_t j = 0; j < s->syscalls[i].nnames; j++) {
			if (strcmp(s->syscalls[i].names[j], name) == 0 && skip-- == 0) {
				return &s->syscalls[i];
			}
		}
	}
	return NULL;
}

static int allowed_unconditionally(const struct oci_seccomp *s, const char *name)
{
	const struct oci_seccomp_rule *r = find_rule(s, name, 0);
	return r != NULL && r->action == OCI_SECCOMP_ALLOW && r->nargs == 0;
}

/* ---- the default profile as data ---------------------------------------- */

static void test_profile_constants(void)
{
	CHECK_EQ_INT(__builtin_popcountll(PROFILE_DEFAULT_CAPS), 14);
	CHECK((PROFILE_DEFAULT_CAPS & PROFILE_CAP(CAP_NET_BIND_SERVICE)) != 0);
	CHECK((PROFILE_DEFAULT_CAPS & PROFILE_CAP(CAP_SYS_ADMIN)) == 0);
	CHECK((PROFILE_DEFAULT_CAPS & PROFILE_CAP(CAP_NET_ADMIN)) == 0);
	CHECK_EQ_INT(PROFILE_PIDS_LIMIT, 4096);
	CHECK_EQ_INT(PROFILE_NO_NEW_PRIVILEGES, 1);
	CHECK(strcmp(profile_masked_paths[2], "/proc/kcore") == 0);
	CHECK(strcmp(profile_readonly_paths[PROFILE_NREADONLY_PATHS - 1], "/proc/sysrq-trigger") == 0);

	struct arena a = {0};
	struct oci_linux l;
	memset(&l, 0, sizeof(l));
	struct berr err = {0};
	CHECK_EQ_INT(profile_paths(&a, &l, &err), 0);
	CHECK_EQ_INT(l.nmasked_paths, 11);
	CHECK_EQ_INT(l.nreadonly_paths, 5);
	CHECK(l.nmasked_paths == 11 && strcmp(l.masked_paths[10], "/sys/devices/virtual/powercap") == 0);
	arena_free(&a);
}

static void test_profile_capability_gates(void)
{
	struct arena a = {0};
	struct berr err = {0};
	struct oci_seccomp *plain = NULL;
	struct oci_seccomp *admin = NULL;
	struct oci_seccomp *all = NULL;
	CHECK_EQ_INT(profile_seccomp(&a, PROFILE_DEFAULT_CAPS, &plain, &err), 0);
	CHECK_EQ_INT(profile_seccomp(&a, PROFILE_DEFAULT_CAPS | PROFILE_CAP(CAP_SYS_ADMIN), &admin, &err), 0);
	CHECK_EQ_INT(profile_seccomp(&a, ~UINT64_C(0), &all, &err), 0);
	if (plain == NULL || admin == NULL || all == NULL) {
		arena_free(&a);
		return;
	}
	CHECK_EQ_INT(plain->default_action, OCI_SECCOMP_ERRNO);
	CHECK_EQ_INT(plain->default_errno_ret, EPERM);
	/* x86_64 only: Berth's kernel has no 32-bit entry points. */
	CHECK_EQ_INT(plain->narchitectures, 1);

	/* Without CAP_SYS_ADMIN: no mounts, clone only without namespace
	 * flags, clone3 answered with ENOSYS. */
	CHECK(allowed_unconditionally(plain, "read"));
	CHECK(allowed_unconditionally(plain, "chroot")); /* CAP_SYS_CHROOT is a default */
	CHECK(find_rule(plain, "mount", 0) == NULL);
	CHECK(find_rule(plain, "unshare", 0) == NULL);
	const struct oci_seccomp_rule *clone = find_rule(plain, "clone", 0);
	CHECK(clone != NULL && clone->nargs == 1 && clone->args[0].op == OCI_SECCOMP_OP_MASKED_EQ &&
	      clone->args[0].value == 0x7E020000 && clone->args[0].value_two == 0);
	const struct oci_seccomp_rule *clone3 = find_rule(plain, "clone3", 0);
	CHECK(clone3 != NULL && clone3->action == OCI_SECCOMP_ERRNO && clone3->errno_ret == ENOSYS);
	CHECK(find_rule(plain, "kcmp", 0) == NULL);
	CHECK(allowed_unconditionally(plain, "ptrace"));
	CHECK(find_rule(plain, "socket", 2) != NULL && find_rule(plain, "socket", 3) == NULL);
	CHECK(find_rule(plain, "personality", 4) != NULL);

	/* With it: Docker's CAP_SYS_ADMIN group, clone and clone3 open. */
	CHECK(allowed_unconditionally(admin, "mount"));
	CHECK(allowed_unconditionally(admin, "setns"));
	CHECK(allowed_unconditionally(admin, "clone"));
	CHECK(allowed_unconditionally(admin, "clone3"));
	CHECK(find_rule(admin, "clone", 1) == NULL);
	CHECK(find_rule(admin, "reboot", 0) == NULL);

	/* Every capability: every gated group, each name once. */
	const char *gated[] = {"reboot",	  "init_module",      "acct",  "kcmp",	 "iopl",
			       "clock_settime",	  "vhangup",	      "mbind", "syslog", "bpf",
			       "perf_event_open", "open_by_handle_at"};
	for (size_t i = 0; i < sizeof(gated) / sizeof(gated[0]); i++) {
		CHECK(allowed_unconditionally(all, gated[i]));
		CHECK(find_rule(all, gated[i], 1) == NULL);
	}
	arena_free(&a);
}

/* ---- compiling --------------------------------------------------------- */

static void test_default_profile_builds(void)
{
	const uint64_t caps[] = {PROFILE_DEFAULT_CAPS, PROFILE_DEFAULT_CAPS | PROFILE_CAP(CAP_SYS_ADMIN), 0,
				 ~UINT64_C(0)};
	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		struct arena a = {0};
		struct berr err = {0};
		struct oci_seccomp *s = NULL;
		char warnings[4][256];
		size_t nwarnings = 0;
		CHECK_EQ_INT(profile_seccomp(&a, caps[i], &s, &err), 0);
		if (s != NULL) {
			CHECK_EQ_INT(build(s, &err, &nwarnings, warnings), 0);
			/* Every name is known to the pinned libseccomp. */
			CHECK_EQ_INT(nwarnings, 0);
			for (size_t w = 0; w < nwarnings && w < 4; w++) {
				fprintf(stderr, "unexpected warning: %s\n", warnings[w]);
			}
			if (err.code != 0) {
				fprintf(stderr, "unexpected error: %s\n", err.msg);
			}
		}
		arena_free(&a);
	}
}

static void test_export_bpf(void)
{
	struct arena a = {0};
	struct berr err = {0};
	struct oci_seccomp *s = NULL;
	CHECK_EQ_INT(profile_seccomp(&a, PROFILE_DEFAULT_CAPS, &s, &err), 0);
	FILE *f = tmpfile();
	CHECK(f != NULL);
	if (s != NULL && f != NULL) {
		CHECK_EQ_INT(oci_seccomp_export_bpf(s, fileno(f), &err), 0);
		struct stat st;
		CHECK_EQ_INT(fstat(fileno(f), &st), 0);
		/* struct sock_filter is 8 bytes; a filter has at most 4096. */
		CHECK(st.st_size > 8 && st.st_size % 8 == 0 && st.st_size <= 4096 * 8);
	}
	if (f != NULL) {
		fclose(f);
	}
	CHECK(s != NULL && oci_seccomp_export_bpf(s, -1, &err) < 0);
	arena_free(&a);
}

static void test_unknown_syscalls_warn(void)
{
	struct policy p;
	policy_init(&p, OCI_SECCOMP_ALLOW);
	policy_rule(&p, OCI_SECCOMP_ERRNO, "getppid", NULL);
	/* listmount: Linux 6.8, newer than the pinned libseccomp's table. */
	policy_rule(&p, OCI_SECCOMP_ERRNO, "getpgrp", "no_such_syscall", "listmount", NULL);
	struct berr err;
	char warnings[4][256];
	size_t n = 0;
	CHECK_EQ_INT(build(&p.s, &err, &n, warnings), 0);
	CHECK_EQ_INT(n, 2);
	CHECK_STR_CONTAINS(warnings[0], "linux.seccomp.syscalls[1].names[1]");
	CHECK_STR_CONTAINS(warnings[0], "no_such_syscall");
	CHECK_STR_CONTAINS(warnings[1], "linux.seccomp.syscalls[1].names[2]");

	/* Warnings beyond the room given are dropped, never overflow. */
	char one[1][256];
	size_t count = 0;
	scmp_filter_ctx ctx = NULL;
	CHECK_EQ_INT(oci_seccomp_build(&p.s, &ctx, one, 1, &count, &err), 0);
	CHECK_EQ_INT(count, 1);
	seccomp_release(ctx);

	/* Names of other architectures' syscalls are known, and harmless. */
	policy_init(&p, OCI_SECCOMP_ALLOW);
	policy_rule(&p, OCI_SECCOMP_ERRNO, "arm_fadvise64_64", "chown32", "s390_runtime_instr", NULL);
	CHECK_EQ_INT(build(&p.s, &err, &n, warnings), 0);
	CHECK_EQ_INT(n, 0);
}

/* Builds p and checks that it fails with a message containing field and
 * what. */
static void expect_error(const struct policy *p, const char *field, const char *what)
{
	struct berr err;
	CHECK(build(&p->s, &err, NULL, NULL) < 0);
	CHECK_STR_CONTAINS(err.msg, field);
	CHECK_STR_CONTAINS(err.msg, what);
}

static void test_errors_name_the_field(void)
{
	struct policy p;
	policy_init(&p, OCI_SECCOMP_ERRNO);
	p.arches[p.s.narchitectures++] = "SCMP_ARCH_X86";
	p.arches[p.s.narchitectures++] = "SCMP_ARCH_Z80";
	expect_error(&p, "linux.seccomp.architectures[1]", "SCMP_ARCH_Z80");

	/* One filter cannot hold both byte orders. */
	policy_init(&p, OCI_SECCOMP_ERRNO);
	p.arches[p.s.narchitectures++] = "SCMP_ARCH_S390X";
	expect_error(&p, "linux.seccomp.architectures[0]", "byte order");

	policy_init(&p, OCI_SECCOMP_ERRNO);
	p.flags[p.s.nflags++] = "SECCOMP_FILTER_FLAG_LOG";
	p.flags[p.s.nflags++] = "SECCOMP_FILTER_FLAG_BOGUS";
	expect_error(&p, "linux.seccomp.flags[1]", "SECCOMP_FILTER_FLAG_BOGUS");

	policy_init(&p, OCI_SECCOMP_ERRNO);
	p.flags[p.s.nflags++] = "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV";
	expect_error(&p, "linux.seccomp.flags[0]", "not supported");

	policy_init(&p, (enum oci_seccomp_action)99);
	expect_error(&p, "linux.seccomp.defaultAction", "unknown action");

	policy_init(&p, OCI_SECCOMP_ALLOW);
	policy_rule(&p, OCI_SECCOMP_ERRNO, "getppid", NULL);
	policy_rule(&p, (enum oci_seccomp_action)99, "getpgrp", NULL);
	expect_error(&p, "linux.seccomp.syscalls[1].action", "unknown action");

	policy_init(&p, OCI_SECCOMP_ALLOW);
	policy_rule(&p, OCI_SECCOMP_NOTIFY, "getppid", NULL);
	expect_error(&p, "linux.seccomp.syscalls[0].action", "SCMP_ACT_NOTIFY is not supported");

	policy_init(&p, OCI_SECCOMP_NOTIFY);
	expect_error(&p, "linux.seccomp.defaultAction", "not supported");

	policy_init(&p, OCI_SECCOMP_ALLOW);
	rule_arg(policy_rule(&p, OCI_SECCOMP_ERRNO, "getpriority", NULL), 6, OCI_SECCOMP_OP_EQ, 1, 0);
	expect_error(&p, "linux.seccomp.syscalls[0].args[0].index", "6");

	policy_init(&p, OCI_SECCOMP_ALLOW);
	struct oci_seccomp_rule *r = policy_rule(&p, OCI_SECCOMP_ERRNO, "getpriority", NULL);
	rule_arg(r, 0, OCI_SECCOMP_OP_EQ, 1, 0);
	rule_arg(r, 1, (enum oci_seccomp_op)42, 1, 0);
	expect_error(&p, "linux.seccomp.syscalls[0].args[1].op", "unknown operator");

	/* errnoRet only where an errno goes, and only real errnos. */
	policy_init(&p, OCI_SECCOMP_ERRNO);
	rule_errno(policy_rule(&p, OCI_SECCOMP_ALLOW, "getppid", NULL), EPERM);
	expect_error(&p, "linux.seccomp.syscalls[0].errnoRet", "SCMP_ACT_ALLOW");

	policy_init(&p, OCI_SECCOMP_ALLOW);
	rule_errno(policy_rule(&p, OCI_SECCOMP_ERRNO, "getppid", NULL), 70000);
	expect_error(&p, "linux.seccomp.syscalls[0].errnoRet", "70000");

	policy_init(&p, OCI_SECCOMP_KILL_PROCESS);
	p.s.has_default_errno_ret = 1;
	p.s.default_errno_ret = EPERM;
	expect_error(&p, "linux.seccomp.defaultErrnoRet", "SCMP_ACT_KILL_PROCESS");

	/* A conflict libseccomp finds (two actions for the same arguments)
	 * is still tied to a field. */
	policy_init(&p, OCI_SECCOMP_ALLOW);
	rule_arg(policy_rule(&p, OCI_SECCOMP_ERRNO, "getpriority", NULL), 0, OCI_SECCOMP_OP_EQ, 1, 0);
	rule_arg(policy_rule(&p, OCI_SECCOMP_KILL, "getpgrp", "getpriority", NULL), 0, OCI_SECCOMP_OP_EQ, 1, 0);
	expect_error(&p, "linux.seccomp.syscalls[1].names[1]", "getpriority");
}

static void test_accepted_variants(void)
{
	struct policy p;
	struct berr err;
	/* Every action, every flag, every operator. */
	policy_init(&p, OCI_SECCOMP_ALLOW);
	p.flags[p.s.nflags++] = "SECCOMP_FILTER_FLAG_TSYNC";
	p.flags[p.s.nflags++] = "SECCOMP_FILTER_FLAG_LOG";
	p.flags[p.s.nflags++] = "SECCOMP_FILTER_FLAG_SPEC_ALLOW";
	p.arches[p.s.narchitectures++] = "SCMP_ARCH_X86_64";
	p.arches[p.s.narchitectures++] = "SCMP_ARCH_X86";
	p.arches[p.s.narchitectures++] = "SCMP_ARCH_X32";
	p.arches[p.s.narchitectures++] = "SCMP_ARCH_AARCH64";
	policy_rule(&p, OCI_SECCOMP_KILL, "kexec_load", NULL);
	policy_rule(&p, OCI_SECCOMP_KILL_PROCESS, "kexec_file_load", NULL);
	policy_rule(&p, OCI_SECCOMP_KILL_THREAD, "swapon", "swapoff", NULL);
	struct oci_seccomp_rule *r = policy_rule(&p, OCI_SECCOMP_TRACE, "getpriority", NULL);
	rule_errno(r, 1234);
	rule_arg(r, 0, OCI_SECCOMP_OP_NE, 0, 0);
	rule_arg(r, 1, OCI_SECCOMP_OP_LT, 10, 0);
	rule_arg(r, 2, OCI_SECCOMP_OP_LE, 10, 0);
	rule_arg(r, 3, OCI_SECCOMP_OP_GE, 1, 0);
	CHECK_EQ_INT(build(&p.s, &err, NULL, NULL), 0);

	policy_init(&p, OCI_SECCOMP_LOG);
	policy_rule(&p, OCI_SECCOMP_TRAP, "acct", NULL);
	rule_arg(policy_rule(&p, OCI_SECCOMP_ERRNO, "setpriority", NULL), 2, OCI_SECCOMP_OP_GT, 19, 0);
	rule_arg(policy_rule(&p, OCI_SECCOMP_ALLOW, "personality", NULL), 0, OCI_SECCOMP_OP_MASKED_EQ, 0xff, 0);
	CHECK_EQ_INT(build(&p.s, &err, NULL, NULL), 0);

	/* A rule with the default's action and errno changes nothing and is
	 * dropped (libseccomp would refuse it); another errno is a rule. */
	policy_init(&p, OCI_SECCOMP_ERRNO);
	policy_rule(&p, OCI_SECCOMP_ERRNO, "reboot", NULL);
	rule_errno(policy_rule(&p, OCI_SECCOMP_ERRNO, "clone3", NULL), ENOSYS);
	policy_rule(&p, OCI_SECCOMP_ALLOW, "exit_group", NULL);
	CHECK_EQ_INT(build(&p.s, &err, NULL, NULL), 0);

	/* Names for `features`. */
	CHECK(strcmp(oci_seccomp_arch_name(0), "SCMP_ARCH_X86") == 0);
	CHECK(oci_seccomp_arch_name(1000) == NULL);
	CHECK(strcmp(oci_seccomp_flag_name(0), "SECCOMP_FILTER_FLAG_TSYNC") == 0);
	CHECK(oci_seccomp_flag_name(3) == NULL);
	CHECK(strcmp(oci_seccomp_action_name(OCI_SECCOMP_KILL_PROCESS), "SCMP_ACT_KILL_PROCESS") == 0);
}

/* ---- loaded filters ----------------------------------------------------- */

static size_t count_fds(void)
{
	size_t n = 0;
	DIR *d = opendir("/proc/self/fd");
	if (d == NULL) {
		return 0;
	}
	while (readdir(d) != NULL) {
		n++;
	}
	closedir(d);
	return n;
}

static void *thread_main(void *arg)
{
	return arg;
}

static void default_profile_body(const void *arg)
{
	const struct oci_seccomp *s = arg;
	size_t fds = count_fds();
	struct berr err = {0};
	if (oci_seccomp_load(s, &err) < 0) {
		report("load: %s\n", err.msg);
		return;
	}
	if (count_fds() != fds) {
		report("loading the filter left an fd open\n");
	}

	/* What every program does. */
	EXPECT_OK(getpid());
	EXPECT_OK(write(report_fd, "", 0));
	EXPECT_OK(personality(0xffffffff));
	EXPECT_OK(personality(PER_LINUX));
	int sv[2];
	EXPECT_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	EXPECT_OK(close(sv[0]));
	EXPECT_OK(close(sv[1]));
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	EXPECT_OK(fd);
	if (fd >= 0) {
		close(fd);
	}

	/* fork and threads go through clone; a libc that tries clone3 first
	 * gets ENOSYS and falls back. */
	pid_t child = fork();
	if (child == 0) {
		_exit(0);
	}
	EXPECT_OK(child);
	int status = 0;
	EXPECT_OK(waitpid(child, &status, 0));
	pthread_t t;
	int rc = pthread_create(&t, NULL, thread_main, NULL);
	if (rc != 0) {
		report("pthread_create: %s\n", strerror(rc));
	} else {
		pthread_join(t, NULL);
	}

	/* What the profile keeps from a container without CAP_SYS_ADMIN. The
	 * calls are built so that the kernel itself would refuse them with
	 * another errno, in case the filter let them through. */
	EXPECT_ERRNO(mount("none", "/nonexistent-berth-test", "tmpfs", 0, NULL), EPERM);
	EXPECT_ERRNO(umount2("/nonexistent-berth-test", 0), EPERM);
	EXPECT_ERRNO(unshare(CLONE_NEWNS), EPERM);
	EXPECT_ERRNO(setns(-1, 0), EPERM);
	EXPECT_ERRNO(syscall(SYS_clone, CLONE_NEWNS | CLONE_FS, 0, 0, 0, 0), EPERM);
	uint64_t clone_args[11] = {0};
	EXPECT_ERRNO(syscall(SYS_clone3, clone_args, 1), ENOSYS);
	EXPECT_ERRNO(personality(PER_LINUX | ADDR_NO_RANDOMIZE), EPERM);
	EXPECT_ERRNO(socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0), EPERM);
	EXPECT_ERRNO(socket(AF_ALG, SOCK_SEQPACKET | SOCK_CLOEXEC, 0), EPERM);
	EXPECT_ERRNO(syscall(SYS_kexec_load, 0, 0, 0, ~0UL), EPERM);
	EXPECT_ERRNO(syscall(SYS_kcmp, getpid(), getpid(), 0, 0, 0), EPERM);
	EXPECT_ERRNO(syscall(SYS_reboot, 0, 0, 0, 0), EPERM);
}

static void test_default_profile_enforced(void)
{
	struct arena a = {0};
	struct berr err = {0};
	struct oci_seccomp *s = NULL;
	CHECK_EQ_INT(profile_seccomp(&a, PROFILE_DEFAULT_CAPS, &s, &err), 0);
	if (s != NULL) {
		CHECK(in_child(NULL, default_profile_body, s));
	}
	arena_free(&a);
}

static void admin_profile_body(const void *arg)
{
	(void)arg;
	/* The test runs as root: with CAP_SYS_ADMIN in the profile, the
	 * kernel decides. */
	EXPECT_OK(unshare(CLONE_NEWNS));
	EXPECT_ERRNO(syscall(SYS_clone3, NULL, 1), EINVAL);
	EXPECT_ERRNO(syscall(SYS_reboot, 0, 0, 0, 0), EPERM);
}

static void test_admin_profile_enforced(void)
{
	struct arena a = {0};
	struct berr err = {0};
	struct oci_seccomp *s = NULL;
	CHECK_EQ_INT(profile_seccomp(&a, PROFILE_DEFAULT_CAPS | PROFILE_CAP(CAP_SYS_ADMIN), &s, &err), 0);
	if (s != NULL) {
		CHECK(in_child(s, admin_profile_body, NULL));
	}
	arena_free(&a);
}

static void errno_body(const void *arg)
{
	(void)arg;
	EXPECT_ERRNO(syscall(SYS_getppid), 77);
	EXPECT_ERRNO(syscall(SYS_getpgrp), EPERM);
	EXPECT_OK(getpid());
}

static void test_custom_errno(void)
{
	struct policy p;
	policy_init(&p, OCI_SECCOMP_ALLOW);
	rule_errno(policy_rule(&p, OCI_SECCOMP_ERRNO, "getppid", NULL), 77);
	policy_rule(&p, OCI_SECCOMP_ERRNO, "getpgrp", NULL); /* no errnoRet: EPERM */
	CHECK(in_child(&p.s, errno_body, NULL));
}

static void default_errno_body(const void *arg)
{
	(void)arg;
	EXPECT_ERRNO(syscall(SYS_getppid), ENOSYS);
	EXPECT_ERRNO(syscall(SYS_getpgrp), ENOSYS);
}

static void test_default_errno(void)
{
	struct policy p;
	policy_init(&p, OCI_SECCOMP_ERRNO);
	p.s.has_default_errno_ret = 1;
	p.s.default_errno_ret = ENOSYS;
	/* Just enough to report and exit (ASan's _exit unmaps its stacks). */
	policy_rule(&p, OCI_SECCOMP_ALLOW, "write", "exit", "exit_group", "rt_sigreturn", "sigaltstack", "mmap",
		    "munmap", "madvise", NULL);
	CHECK(in_child(&p.s, default_errno_body, NULL));
}

static void conditions_body(const void *arg)
{
	(void)arg;
	/* MASKED_EQ: value is the mask, valueTwo the datum. */
	EXPECT_ERRNO(personality(PER_LINUX | ADDR_NO_RANDOMIZE), EXDEV);
	EXPECT_ERRNO(personality(PER_LINUX32 | ADDR_NO_RANDOMIZE), EXDEV);
	EXPECT_OK(personality(PER_LINUX));
	/* EQ on two arguments of one rule: both must match. */
	EXPECT_ERRNO(syscall(SYS_getpriority, PRIO_USER, 4242), EDOM);
	EXPECT_NOT_ERRNO(syscall(SYS_getpriority, PRIO_USER, 0), EDOM);
	EXPECT_NOT_ERRNO(syscall(SYS_getpriority, PRIO_PROCESS, 4242), EDOM);
	EXPECT_OK(syscall(SYS_getpriority, PRIO_PROCESS, 0));
}

static void test_conditions(void)
{
	struct policy p;
	policy_init(&p, OCI_SECCOMP_ALLOW);
	struct oci_seccomp_rule *r = policy_rule(&p, OCI_SECCOMP_ERRNO, "personality", NULL);
	rule_errno(r, EXDEV);
	rule_arg(r, 0, OCI_SECCOMP_OP_MASKED_EQ, ADDR_NO_RANDOMIZE, ADDR_NO_RANDOMIZE);
	r = policy_rule(&p, OCI_SECCOMP_ERRNO, "getpriority", NULL);
	rule_errno(r, EDOM);
	rule_arg(r, 0, OCI_SECCOMP_OP_EQ, PRIO_USER, 0);
	rule_arg(r, 1, OCI_SECCOMP_OP_EQ, 4242, 0);
	CHECK(in_child(&p.s, conditions_body, NULL));
}

static void split_body(const void *arg)
{
	(void)arg;
	EXPECT_ERRNO(syscall(SYS_getpriority, PRIO_PGRP, 0), EXDEV);
	EXPECT_ERRNO(syscall(SYS_getpriority, PRIO_USER, 0), EXDEV);
	/* runc's rule: once one argument repeats, every condition of the
	 * rule stands alone, including the one on argument 1. */
	EXPECT_ERRNO(syscall(SYS_getpriority, PRIO_PROCESS, 4242), EXDEV);
	EXPECT_OK(syscall(SYS_getpriority, PRIO_PROCESS, 0));
}

static void test_same_argument_conditions_are_ored(void)
{
	struct policy p;
	policy_init(&p, OCI_SECCOMP_ALLOW);
	struct oci_seccomp_rule *r = policy_rule(&p, OCI_SECCOMP_ERRNO, "getpriority", NULL);
	rule_errno(r, EXDEV);
	rule_arg(r, 0, OCI_SECCOMP_OP_EQ, PRIO_PGRP, 0);
	rule_arg(r, 0, OCI_SECCOMP_OP_EQ, PRIO_USER, 0);
	rule_arg(r, 1, OCI_SECCOMP_OP_EQ, 4242, 0);
	CHECK(in_child(&p.s, split_body, NULL));
}

static void flags_body(const void *arg)
{
	(void)arg;
	EXPECT_ERRNO(syscall(SYS_getppid), ENOTTY);
	EXPECT_OK(getpid());
}

static void test_flags_load(void)
{
	struct policy p;
	policy_init(&p, OCI_SECCOMP_ALLOW);
	p.flags[p.s.nflags++] = "SECCOMP_FILTER_FLAG_TSYNC";
	p.flags[p.s.nflags++] = "SECCOMP_FILTER_FLAG_LOG";
	p.flags[p.s.nflags++] = "SECCOMP_FILTER_FLAG_SPEC_ALLOW";
	rule_errno(policy_rule(&p, OCI_SECCOMP_ERRNO, "getppid", NULL), ENOTTY);
	CHECK(in_child(&p.s, flags_body, NULL));
}

static void no_privs_body(const void *arg)
{
	const struct oci_seccomp *s = arg;
	struct berr err = {0};
	/* Neither no_new_privs nor CAP_SYS_ADMIN: the kernel refuses, and
	 * the filter must not have set no_new_privs on its own. */
	if (oci_seccomp_load(s, &err) != -EACCES) {
		report("load without no_new_privs: %s\n", err.code != 0 ? err.msg : "succeeded");
	}
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 0) {
		report("the filter set no_new_privs\n");
	}
}

static void test_load_needs_no_new_privs(void)
{
	struct policy p;
	policy_init(&p, OCI_SECCOMP_ALLOW);
	policy_rule(&p, OCI_SECCOMP_ERRNO, "getppid", NULL);
	int pipefd[2];
	CHECK_EQ_INT(pipe2(pipefd, O_CLOEXEC), 0);
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		close(pipefd[0]);
		report_fd = pipefd[1];
		/* Drop CAP_SYS_ADMIN from the bounding, effective and permitted
		 * sets by becoming a plain user. */
		if (setgid(65534) < 0 || setuid(65534) < 0) {
			report("setuid: %s\n", strerror(errno));
			_exit(1);
		}
		no_privs_body(&p.s);
		_exit(0);
	}
	close(pipefd[1]);
	char buf[512];
	ssize_t n = read(pipefd[0], buf, sizeof(buf) - 1);
	close(pipefd[0]);
	int status = 0;
	waitpid(pid, &status, 0);
	if (n > 0) {
		buf[n] = '\0';
		fprintf(stderr, "child reported: %s", buf);
	}
	CHECK(n == 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

int main(void)
{
	RUN(test_profile_constants);
	RUN(test_profile_capability_gates);
	RUN(test_default_profile_builds);
	RUN(test_export_bpf);
	RUN(test_unknown_syscalls_warn);
	RUN(test_errors_name_the_field);
	RUN(test_accepted_variants);
	RUN(test_default_profile_enforced);
	RUN(test_admin_profile_enforced);
	RUN(test_custom_errno);
	RUN(test_default_errno);
	RUN(test_conditions);
	RUN(test_same_argument_conditions_are_ored);
	RUN(test_flags_load);
	RUN(test_load_needs_no_new_privs);
	return check_summary();
}
