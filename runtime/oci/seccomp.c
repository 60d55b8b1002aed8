/* linux.seccomp -> libseccomp filter (see seccomp.h). Validates everything
 * before the kernel sees it, naming the config field at fault. Runs in the
 * runtime before the container starts and, through oci_seccomp_load, in the
 * container process itself: it never prints, never exits, opens no fds. */
#include "oci/seccomp.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "lib/cleanup.h"

/* Arguments a syscall can have (struct seccomp_data.args). */
#define SYSCALL_ARGS 6

/* The kernel turns any larger SECCOMP_RET_ERRNO data into this (MAX_ERRNO),
 * so a bigger errnoRet would silently become a different errno. */
#define ERRNO_RET_MAX 4095

/* SECCOMP_RET_TRACE passes 16 bits of data to the tracer. */
#define TRACE_RET_MAX 0xffff

/* Field names are at most "linux.seccomp.syscalls[N].args[N].index". */
#define FIELD_SIZE 96

struct arch_token {
	const char *name;
	uint32_t token;
};

/* Every architecture this libseccomp can filter, by runtime-spec name. */
static const struct arch_token arch_tokens[] = {
	{"SCMP_ARCH_X86", SCMP_ARCH_X86},
	{"SCMP_ARCH_X86_64", SCMP_ARCH_X86_64},
	{"SCMP_ARCH_X32", SCMP_ARCH_X32},
	{"SCMP_ARCH_ARM", SCMP_ARCH_ARM},
	{"SCMP_ARCH_AARCH64", SCMP_ARCH_AARCH64},
	{"SCMP_ARCH_MIPS", SCMP_ARCH_MIPS},
	{"SCMP_ARCH_MIPS64", SCMP_ARCH_MIPS64},
	{"SCMP_ARCH_MIPS64N32", SCMP_ARCH_MIPS64N32},
	{"SCMP_ARCH_MIPSEL", SCMP_ARCH_MIPSEL},
	{"SCMP_ARCH_MIPSEL64", SCMP_ARCH_MIPSEL64},
	{"SCMP_ARCH_MIPSEL64N32", SCMP_ARCH_MIPSEL64N32},
	{"SCMP_ARCH_PPC", SCMP_ARCH_PPC},
	{"SCMP_ARCH_PPC64", SCMP_ARCH_PPC64},
	{"SCMP_ARCH_PPC64LE", SCMP_ARCH_PPC64LE},
	{"SCMP_ARCH_S390", SCMP_ARCH_S390},
	{"SCMP_ARCH_S390X", SCMP_ARCH_S390X},
	{"SCMP_ARCH_PARISC", SCMP_ARCH_PARISC},
	{"SCMP_ARCH_PARISC64", SCMP_ARCH_PARISC64},
	{"SCMP_ARCH_RISCV64", SCMP_ARCH_RISCV64},
};

struct flag_attr {
	const char *name;
	enum scmp_filter_attr attr;
};

/* The seccomp(2) filter flags a config may ask for, as libseccomp
 * attributes (libseccomp passes them on when it loads the filter). */
static const struct flag_attr flag_attrs[] = {
	{"SECCOMP_FILTER_FLAG_TSYNC", SCMP_FLTATR_CTL_TSYNC},
	{"SECCOMP_FILTER_FLAG_LOG", SCMP_FLTATR_CTL_LOG},
	{"SECCOMP_FILTER_FLAG_SPEC_ALLOW", SCMP_FLTATR_CTL_SSB},
};

const char *oci_seccomp_arch_name(size_t i)
{
	return i < sizeof(arch_tokens) / sizeof(arch_tokens[0]) ? arch_tokens[i].name : NULL;
}

const char *oci_seccomp_flag_name(size_t i)
{
	return i < sizeof(flag_attrs) / sizeof(flag_attrs[0]) ? flag_attrs[i].name : NULL;
}

struct warnings {
	char (*list)[256];
	size_t max;
	size_t *n;
};

static void warn(struct warnings *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void warn(struct warnings *w, const char *fmt, ...)
{
	if (w->list == NULL || w->n == NULL || *w->n >= w->max) {
		return;
	}
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(w->list[*w->n], sizeof(w->list[0]), fmt, ap);
	va_end(ap);
	(*w->n)++;
}

/* The libseccomp action for a config action. field and ret_field name the
 * action and its errno value in messages. */
static int scmp_action(enum oci_seccomp_action action, int has_ret, uint32_t ret, const char *field,
		       const char *ret_field, uint32_t *out, struct berr *err)
{
	const char *name = oci_seccomp_action_name(action);
	if (name == NULL) {
		return berr_setx(err, EINVAL, "%s: unknown action %d", field, (int)action);
	}
	if (has_ret && action != OCI_SECCOMP_ERRNO && action != OCI_SECCOMP_TRACE) {
		/* runtime-spec: an errno for an action that has none is an error. */
		return berr_setx(err, EINVAL,
				 "%s: %s returns no errno; only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take one", ret_field,
				 name);
	}
	switch (action) {
	case OCI_SECCOMP_KILL:
		*out = SCMP_ACT_KILL;
		return 0;
	case OCI_SECCOMP_KILL_PROCESS:
		*out = SCMP_ACT_KILL_PROCESS;
		return 0;
	case OCI_SECCOMP_KILL_THREAD:
		*out = SCMP_ACT_KILL_THREAD;
		return 0;
	case OCI_SECCOMP_TRAP:
		*out = SCMP_ACT_TRAP;
		return 0;
	case OCI_SECCOMP_ERRNO:
		if (has_ret && ret > ERRNO_RET_MAX) {
			return berr_setx(err, EINVAL, "%s: %u is not an errno (at most %u)", ret_field, ret,
					 ERRNO_RET_MAX);
		}
		*out = SCMP_ACT_ERRNO(has_ret ? ret : EPERM);
		return 0;
	case OCI_SECCOMP_TRACE:
		if (has_ret && ret > TRACE_RET_MAX) {
			return berr_setx(err, EINVAL, "%s: %u does not fit the 16 bits a tracer gets", ret_field, ret);
		}
		/* Like runc: a tracer that is not there makes the syscall fail
		 * with ENOSYS; the value is what a tracer sees. */
		*out = SCMP_ACT_TRACE(has_ret ? ret : EPERM);
		return 0;
	case OCI_SECCOMP_ALLOW:
		*out = SCMP_ACT_ALLOW;
		return 0;
	case OCI_SECCOMP_LOG:
		*out = SCMP_ACT_LOG;
		return 0;
	case OCI_SECCOMP_NOTIFY:
		return berr_setx(err, EOPNOTSUPP,
				 "%s: SCMP_ACT_NOTIFY is not supported (Berth has no seccomp agent to answer it)",
				 field);
	}
	return berr_setx(err, EINVAL, "%s: unknown action %d", field, (int)action);
}

static int scmp_compare_op(enum oci_seccomp_op op, enum scmp_compare *out)
{
	switch (op) {
	case OCI_SECCOMP_OP_NE:
		*out = SCMP_CMP_NE;
		return 0;
	case OCI_SECCOMP_OP_LT:
		*out = SCMP_CMP_LT;
		return 0;
	case OCI_SECCOMP_OP_LE:
		*out = SCMP_CMP_LE;
		return 0;
	case OCI_SECCOMP_OP_EQ:
		*out = SCMP_CMP_EQ;
		return 0;
	case OCI_SECCOMP_OP_GE:
		*out = SCMP_CMP_GE;
		return 0;
	case OCI_SECCOMP_OP_GT:
		*out = SCMP_CMP_GT;
		return 0;
	case OCI_SECCOMP_OP_MASKED_EQ:
		*out = SCMP_CMP_MASKED_EQ;
		return 0;
	}
	return -EINVAL;
}

static int check_condition(const struct oci_seccomp_arg *a, size_t rule, size_t i, struct berr *err)
{
	enum scmp_compare op;
	if (a->index >= SYSCALL_ARGS) {
		return berr_setx(err, EINVAL,
				 "linux.seccomp.syscalls[%zu].args[%zu].index: %u is not an argument (0 to %d)", rule,
				 i, a->index, SYSCALL_ARGS - 1);
	}
	if (scmp_compare_op(a->op, &op) < 0) {
		return berr_setx(err, EINVAL, "linux.seccomp.syscalls[%zu].args[%zu].op: unknown operator %d", rule, i,
				 (int)a->op);
	}
	return 0;
}

/* A checked condition as libseccomp wants it. For SCMP_CMP_MASKED_EQ the
 * spec's value is the mask and valueTwo the datum, as in libseccomp. */
static struct scmp_arg_cmp scmp_condition(const struct oci_seccomp_arg *a)
{
	struct scmp_arg_cmp c;
	memset(&c, 0, sizeof(c));
	(void)scmp_compare_op(a->op, &c.op);
	c.arg = a->index;
	c.datum_a = a->value;
	c.datum_b = a->value_two;
	return c;
}

static int add_archs(scmp_filter_ctx ctx, const struct oci_seccomp *s, struct berr *err)
{
	for (size_t i = 0; i < s->narchitectures; i++) {
		const char *name = s->architectures[i];
		const struct arch_token *a = NULL;
		for (size_t j = 0; j < sizeof(arch_tokens) / sizeof(arch_tokens[0]); j++) {
			if (name != NULL && strcmp(name, arch_tokens[j].name) == 0) {
				a = &arch_tokens[j];
				break;
			}
		}
		if (a == NULL) {
			return berr_setx(err, EINVAL, "linux.seccomp.architectures[%zu]: unknown architecture \"%s\"",
					 i, name != NULL ? name : "");
		}
		int rc = seccomp_arch_add(ctx, a->token);
		if (rc == -EEXIST) {
			/* The native architecture is always there; repeats are harmless. */
			continue;
		}
		if (rc == -EDOM) {
			return berr_setx(
				err, EINVAL,
				"linux.seccomp.architectures[%zu]: %s has another byte order than this machine; "
				"one filter cannot hold both",
				i, name);
		}
		if (rc < 0) {
			return berr_set(err, -rc, "linux.seccomp.architectures[%zu]: adding %s", i, name);
		}
	}
	return 0;
}

static int set_flags(scmp_filter_ctx ctx, const struct oci_seccomp *s, struct berr *err)
{
	for (size_t i = 0; i < s->nflags; i++) {
		const char *name = s->flags[i] != NULL ? s->flags[i] : "";
		const struct flag_attr *f = NULL;
		for (size_t j = 0; j < sizeof(flag_attrs) / sizeof(flag_attrs[0]); j++) {
			if (strcmp(name, flag_attrs[j].name) == 0) {
				f = &flag_attrs[j];
				break;
			}
		}
		if (f == NULL) {
			if (strcmp(name, "SECCOMP_FILTER_FLAG_NEW_LISTENER") == 0 ||
			    strcmp(name, "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV") == 0) {
				return berr_setx(err, EOPNOTSUPP,
						 "linux.seccomp.flags[%zu]: %s is not supported (it serves "
						 "SCMP_ACT_NOTIFY, which Berth does not support)",
						 i, name);
			}
			return berr_setx(err, EINVAL, "linux.seccomp.flags[%zu]: unknown flag \"%s\"", i, name);
		}
		int rc = seccomp_attr_set(ctx, f->attr, 1);
		if (rc < 0) {
			/* libseccomp refuses flags the running kernel lacks. */
			return berr_set(err, -rc, "linux.seccomp.flags[%zu]: %s", i, name);
		}
	}
	return 0;
}

/* Adds rule i of s. Conditions are checked before anything is added, so
 * that a bad condition is reported even when the rule would be skipped. */
static int add_rule(scmp_filter_ctx ctx, const struct oci_seccomp *s, size_t i, uint32_t default_action,
		    struct warnings *w, struct berr *err)
{
	const struct oci_seccomp_rule *r = &s->syscalls[i];
	char field[FIELD_SIZE];
	char ret_field[FIELD_SIZE];
	snprintf(field, sizeof(field), "linux.seccomp.syscalls[%zu].action", i);
	snprintf(ret_field, sizeof(ret_field), "linux.seccomp.syscalls[%zu].errnoRet", i);
	uint32_t action;
	int rc = scmp_action(r->action, r->has_errno_ret, r->errno_ret, field, ret_field, &action, err);
	if (rc < 0) {
		return rc;
	}

	unsigned per_index[SYSCALL_ARGS] = {0};
	int split = 0;
	for (size_t j = 0; j < r->nargs; j++) {
		rc = check_condition(&r->args[j], i, j, err);
		if (rc < 0) {
			return rc;
		}
		if (++per_index[r->args[j].index] > 1) {
			split = 1;
		}
	}
	if (action == default_action) {
		/* Changes nothing, and libseccomp refuses it (EACCES). */
		return 0;
	}

	/* Without repeated indices there are at most SYSCALL_ARGS conditions,
	 * one per argument, ANDed in one rule. */
	struct scmp_arg_cmp all[SYSCALL_ARGS];
	if (!split) {
		for (size_t j = 0; j < r->nargs; j++) {
			all[j] = scmp_condition(&r->args[j]);
		}
	}
	for (size_t n = 0; n < r->nnames; n++) {
		const char *name = r->names[n] != NULL ? r->names[n] : "";
		int nr = seccomp_syscall_resolve_name(name);
		if (nr == __NR_SCMP_ERROR) {
			/* A name newer than this libseccomp (or a typo): runc and
			 * crun skip it too, so profiles written for newer kernels
			 * keep working. */
			warn(w, "linux.seccomp.syscalls[%zu].names[%zu]: unknown syscall \"%s\" skipped", i, n, name);
			continue;
		}
		rc = 0;
		if (!split) {
			rc = seccomp_rule_add_array(ctx, action, nr, (unsigned)r->nargs, all);
		} else {
			/* libseccomp cannot AND two comparisons of one argument;
			 * like runc, give each condition a rule of its own, so
			 * that they are ORed. */
			for (size_t j = 0; j < r->nargs && rc >= 0; j++) {
				struct scmp_arg_cmp c = scmp_condition(&r->args[j]);
				rc = seccomp_rule_add_array(ctx, action, nr, 1, &c);
			}
		}
		if (rc == -EEXIST) {
			return berr_setx(err, EEXIST,
					 "linux.seccomp.syscalls[%zu].names[%zu]: %s already has a rule with another "
					 "action for the same arguments",
					 i, n, name);
		}
		if (rc < 0) {
			return berr_set(err, -rc, "linux.seccomp.syscalls[%zu].names[%zu]: adding a rule for %s", i, n,
					name);
		}
	}
	return 0;
}

int oci_seccomp_build(const struct oci_seccomp *s, scmp_filter_ctx *out, char warnings[][256], size_t max_warnings,
		      size_t *nwarnings, struct berr *err)
{
	struct warnings w = {.list = warnings, .max = max_warnings, .n = nwarnings};
	*out = NULL;
	uint32_t default_action;
	int rc = scmp_action(s->default_action, s->has_default_errno_ret, s->default_errno_ret,
			     "linux.seccomp.defaultAction", "linux.seccomp.defaultErrnoRet", &default_action, err);
	if (rc < 0) {
		return rc;
	}
	auto_seccomp scmp_filter_ctx ctx = seccomp_init(default_action);
	if (ctx == NULL) {
		/* The action was checked above: what is left is a kernel
		 * without it (SCMP_ACT_LOG before 4.14, ...) or no memory. */
		return berr_setx(err, EINVAL,
				 "linux.seccomp.defaultAction: libseccomp cannot make a filter with %s on this kernel",
				 oci_seccomp_action_name(s->default_action));
	}
	/* process.noNewPrivileges decides no_new_privs, not the filter; and
	 * errors from the kernel should arrive as they are, not as EFAULT. */
	if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0)) < 0 ||
	    (rc = seccomp_attr_set(ctx, SCMP_FLTATR_API_SYSRAWRC, 1)) < 0) {
		return berr_set(err, -rc, "linux.seccomp: setting up the filter");
	}
	if ((rc = add_archs(ctx, s, err)) < 0 || (rc = set_flags(ctx, s, err)) < 0) {
		return rc;
	}
	for (size_t i = 0; i < s->nsyscalls; i++) {
		rc = add_rule(ctx, s, i, default_action, &w, err);
		if (rc < 0) {
			return rc;
		}
	}
	*out = take_ptr(&ctx);
	return 0;
}

int oci_seccomp_load_filter(scmp_filter_ctx ctx, struct berr *err)
{
	int rc = seccomp_load(ctx);
	if (rc == -EACCES) {
		return berr_set(err, EACCES, "linux.seccomp: loading the filter needs no_new_privs or CAP_SYS_ADMIN");
	}
	if (rc < 0) {
		return berr_set(err, -rc, "linux.seccomp: loading the filter");
	}
	return 0;
}

int oci_seccomp_load(const struct oci_seccomp *s, struct berr *err)
{
	auto_seccomp scmp_filter_ctx ctx = NULL;
	int rc = oci_seccomp_build(s, &ctx, NULL, 0, NULL, err);
	if (rc < 0) {
		return rc;
	}
	return oci_seccomp_load_filter(ctx, err);
}

int oci_seccomp_export_bpf(const struct oci_seccomp *s, int fd, struct berr *err)
{
	auto_seccomp scmp_filter_ctx ctx = NULL;
	int rc = oci_seccomp_build(s, &ctx, NULL, 0, NULL, err);
	if (rc < 0) {
		return rc;
	}
	rc = seccomp_export_bpf(ctx, fd);
	if (rc < 0) {
		return berr_set(err, -rc, "linux.seccomp: writing the BPF program");
	}
	return 0;
}
