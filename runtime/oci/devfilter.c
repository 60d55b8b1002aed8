/* Device access control on cgroup v2 (see devfilter.h). Owns the BPF
 * program that stands in for cgroup v1's devices.allow/deny: how it is
 * built from the rules, loaded and attached. It attaches only to the fd it
 * is given and detaches only programs it loaded itself (by name).
 *
 * The program sees struct bpf_cgroup_dev_ctx: access_type holds the device
 * type (BPF_DEVCG_DEV_*) in its low 16 bits and the requested access
 * (BPF_DEVCG_ACC_*) above; it returns 1 to allow and 0 to deny. */
#include "oci/devfilter.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/cleanup.h"

#define ACC_ALL (BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE)
#define LOG_SIZE (1u << 20)
#define LOG_TAIL 600
#define MAX_ATTACHED 64 /* the kernel's limit of programs on one cgroup hook */

/* Shaped for the verifier, which explores every path and keeps at most
 * 8192 branches pending: each rule loads the context fields it compares
 * afresh (a register compared long ago carries a learned value that keeps
 * the verifier from merging paths: quadratic work) and folds its device
 * match into one register, so that it takes one branch to the next rule,
 * two with a partial access list. */
#define MAX_RULES 4096
#define REG_RET BPF_REG_0
#define REG_MATCH BPF_REG_2  /* 0 when the device matches the rule */
#define REG_ACCESS BPF_REG_3 /* the requested bits no rule has allowed yet */
#define REG_FIELD BPF_REG_4
#define REG_CTX BPF_REG_6 /* callee-saved copy of the context pointer */

/* A rule in the form both the model and the program generator use. */
struct dev_match {
	int allow;
	uint32_t type; /* BPF_DEVCG_DEV_*; 0: any */
	int any_major;
	uint32_t major;
	int any_minor;
	uint32_t minor;
	uint32_t access; /* BPF_DEVCG_ACC_* bits; never 0 */
};

static int parse_number(const char *what, size_t i, int64_t v, int *any, uint32_t *out, struct berr *err)
{
	if (v == -1) {
		*any = 1;
		*out = 0;
		return 0;
	}
	if (v < 0 || v > UINT32_MAX) {
		return berr_setx(err, EINVAL, "linux.resources.devices[%zu].%s: %lld is not a device number or -1", i,
				 what, (long long)v);
	}
	*any = 0;
	*out = (uint32_t)v;
	return 0;
}

static int parse_rule(const struct oci_device_rule *r, size_t i, struct dev_match *m, struct berr *err)
{
	memset(m, 0, sizeof(*m));
	m->allow = r->allow != 0;
	switch (r->type) {
	case 'a':
		m->type = 0;
		break;
	case 'c':
		m->type = BPF_DEVCG_DEV_CHAR;
		break;
	case 'b':
		m->type = BPF_DEVCG_DEV_BLOCK;
		break;
	default:
		return berr_setx(err, EINVAL, "linux.resources.devices[%zu].type: '%c' is not a, b or c", i,
				 r->type >= ' ' && r->type < 127 ? r->type : '?');
	}
	int rc = parse_number("major", i, r->major, &m->any_major, &m->major, err);
	if (rc < 0) {
		return rc;
	}
	rc = parse_number("minor", i, r->minor, &m->any_minor, &m->minor, err);
	if (rc < 0) {
		return rc;
	}
	size_t len = strnlen(r->access, sizeof(r->access));
	for (size_t k = 0; k < len; k++) {
		switch (r->access[k]) {
		case 'r':
			m->access |= BPF_DEVCG_ACC_READ;
			break;
		case 'w':
			m->access |= BPF_DEVCG_ACC_WRITE;
			break;
		case 'm':
			m->access |= BPF_DEVCG_ACC_MKNOD;
			break;
		default:
			return berr_setx(err, EINVAL,
					 "linux.resources.devices[%zu].access: '%.4s' is not made of r, w and m", i,
					 r->access);
		}
	}
	if (m->access == 0) {
		m->access = ACC_ALL; /* the spec: an empty access list means all */
	}
	return 0;
}

static int matches(const struct dev_match *m, uint32_t type, uint32_t major, uint32_t minor)
{
	return (m->type == 0 || m->type == type) && (m->any_major || m->major == major) &&
	       (m->any_minor || m->minor == minor);
}

int devfilter_decide(const struct oci_device_rule *rules, size_t n, char type, uint32_t major, uint32_t minor,
		     unsigned access_mask)
{
	uint32_t dev_type = type == 'c' ? BPF_DEVCG_DEV_CHAR : type == 'b' ? BPF_DEVCG_DEV_BLOCK : 0;
	unsigned allowed = 0;
	for (size_t i = 0; i < n; i++) {
		struct dev_match m;
		if (parse_rule(&rules[i], i, &m, NULL) < 0) {
			return -EINVAL;
		}
		if (!matches(&m, dev_type, major, minor)) {
			continue;
		}
		if (m.allow) {
			allowed |= m.access;
		} else {
			allowed &= ~m.access;
		}
	}
	if (dev_type == 0 || access_mask == 0 || (access_mask & ~(unsigned)ACC_ALL) != 0) {
		return 0;
	}
	return (access_mask & ~allowed) == 0;
}

/* ---- program generation ----------------------------------------------------- */

struct prog {
	struct bpf_insn *v;
	size_t n;
	size_t cap;
	int nomem;
};

/* Appends one instruction; returns its index (for jumps to patch). */
static size_t emit(struct prog *p, uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
	if (p->nomem) {
		return 0;
	}
	if (p->n == p->cap) {
		size_t cap = p->cap == 0 ? 64 : p->cap * 2;
		struct bpf_insn *v = realloc(p->v, cap * sizeof(*v));
		if (v == NULL) {
			p->nomem = 1;
			return 0;
		}
		p->v = v;
		p->cap = cap;
	}
	struct bpf_insn *in = &p->v[p->n];
	memset(in, 0, sizeof(*in));
	in->code = code;
	in->dst_reg = dst & 0xf;
	in->src_reg = src & 0xf;
	in->off = off;
	in->imm = imm;
	return p->n++;
}

/* The few instruction forms the filter needs, all on 32-bit values. */
static void load_ctx32(struct prog *p, uint8_t dst, size_t off)
{
	emit(p, BPF_LDX | BPF_MEM | BPF_W, dst, REG_CTX, (int16_t)off, 0);
}

static void alu32_imm(struct prog *p, uint8_t op, uint8_t dst, int32_t imm)
{
	emit(p, BPF_ALU | op | BPF_K, dst, 0, 0, imm);
}

static void alu32_reg(struct prog *p, uint8_t op, uint8_t dst, uint8_t src)
{
	emit(p, BPF_ALU | op | BPF_X, dst, src, 0, 0);
}

static void mov64_reg(struct prog *p, uint8_t dst, uint8_t src)
{
	emit(p, BPF_ALU64 | BPF_MOV | BPF_X, dst, src, 0, 0);
}

/* JMP32: device numbers are u32, and a 64-bit compare would sign-extend an
 * immediate above 2^31. */
static size_t jump32_imm(struct prog *p, uint8_t op, uint8_t reg, uint32_t imm)
{
	return emit(p, BPF_JMP32 | op | BPF_K, reg, 0, 0, (int32_t)imm);
}

static void return_imm(struct prog *p, int32_t verdict)
{
	emit(p, BPF_ALU64 | BPF_MOV | BPF_K, REG_RET, 0, 0, verdict);
	emit(p, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
}

static void patch_to_here(struct prog *p, const size_t *jumps, size_t n)
{
	if (p->nomem) {
		return;
	}
	for (size_t i = 0; i < n; i++) {
		/* A rule's block is at most a dozen instructions: no overflow. */
		p->v[jumps[i]].off = (int16_t)(p->n - (jumps[i] + 1));
	}
}

/* Folds "field == value" into REG_MATCH (0 while everything matched). */
static void match_field(struct prog *p, size_t off, uint32_t value, int first)
{
	uint8_t reg = first ? REG_MATCH : REG_FIELD;
	load_ctx32(p, reg, off);
	if (off == offsetof(struct bpf_cgroup_dev_ctx, access_type)) {
		alu32_imm(p, BPF_AND, reg, 0xffff);
	}
	alu32_imm(p, BPF_XOR, reg, (int32_t)value);
	if (!first) {
		alu32_reg(p, BPF_OR, REG_MATCH, REG_FIELD);
	}
}

/* One rule: fall through to the next block unless the rule decides. An
 * allow clears its bits from the request and allows once none are left; a
 * deny of any bit still requested denies. Returns whether the rule always
 * decides (then nothing after it could run). */
static int emit_rule(struct prog *p, const struct dev_match *m)
{
	size_t jumps[2];
	size_t nj = 0;
	int fields = 0;
	if (m->type != 0) {
		match_field(p, offsetof(struct bpf_cgroup_dev_ctx, access_type), m->type, fields++ == 0);
	}
	if (!m->any_major) {
		match_field(p, offsetof(struct bpf_cgroup_dev_ctx, major), m->major, fields++ == 0);
	}
	if (!m->any_minor) {
		match_field(p, offsetof(struct bpf_cgroup_dev_ctx, minor), m->minor, fields++ == 0);
	}
	if (fields > 0) {
		jumps[nj++] = jump32_imm(p, BPF_JNE, REG_MATCH, 0);
	}
	int decides = fields == 0 && m->access == ACC_ALL;
	if (m->allow) {
		if (m->access != ACC_ALL) {
			alu32_imm(p, BPF_AND, REG_ACCESS, (int32_t)(ACC_ALL & ~m->access));
			jumps[nj++] = jump32_imm(p, BPF_JNE, REG_ACCESS, 0);
		}
		return_imm(p, 1);
	} else {
		if (m->access != ACC_ALL) {
			alu32_reg(p, BPF_MOV, REG_FIELD, REG_ACCESS);
			alu32_imm(p, BPF_AND, REG_FIELD, (int32_t)m->access);
			jumps[nj++] = jump32_imm(p, BPF_JEQ, REG_FIELD, 0);
		}
		return_imm(p, 0);
	}
	patch_to_here(p, jumps, nj);
	return decides;
}

int devfilter_build(const struct oci_device_rule *rules, size_t n, struct bpf_insn **prog, size_t *len,
		    struct berr *err)
{
	*prog = NULL;
	*len = 0;
	if (n > MAX_RULES) {
		return berr_setx(err, E2BIG, "linux.resources.devices: %zu rules; the device filter takes at most %d",
				 n, MAX_RULES);
	}
	for (size_t i = 0; i < n; i++) {
		struct dev_match m;
		int rc = parse_rule(&rules[i], i, &m, err);
		if (rc < 0) {
			return rc;
		}
	}

	struct prog p = {0};
	mov64_reg(&p, REG_CTX, BPF_REG_1);
	load_ctx32(&p, REG_ACCESS, offsetof(struct bpf_cgroup_dev_ctx, access_type));
	alu32_imm(&p, BPF_RSH, REG_ACCESS, 16);
	/* The kernel always asks for some access; deny an empty request
	 * rather than let the first partial allow grant it. */
	size_t nonempty = jump32_imm(&p, BPF_JNE, REG_ACCESS, 0);
	return_imm(&p, 0);
	patch_to_here(&p, &nonempty, 1);

	/* Last rule first: the first one that decides a bit is the one that
	 * would have been applied last. */
	int decided = 0;
	for (size_t k = n; k-- > 0 && !decided;) {
		struct dev_match m;
		parse_rule(&rules[k], k, &m, NULL);
		decided = emit_rule(&p, &m);
	}
	/* The verifier refuses unreachable instructions, so the default deny
	 * is only there when some request can reach it. */
	if (!decided) {
		return_imm(&p, 0);
	}
	if (p.nomem) {
		free(p.v);
		return berr_setx(err, ENOMEM, "device filter: out of memory for %zu rules", n);
	}
	*prog = p.v;
	*len = p.n;
	return 0;
}

/* ---- loading and attaching -------------------------------------------------- */

/* bpf(2) makes every fd it returns close-on-exec. */
static long sys_bpf(int cmd, union bpf_attr *attr)
{
	return syscall(SYS_bpf, cmd, attr, sizeof(*attr));
}

static int prog_load(const struct bpf_insn *prog, size_t len, char *log, size_t log_size)
{
	/* The license only gates GPL-only helpers, which this program does
	 * not call; the kernel wants a string all the same. */
	static const char license[] = "";
	union bpf_attr attr;
	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
	attr.expected_attach_type = BPF_CGROUP_DEVICE;
	attr.insns = (uint64_t)(uintptr_t)prog;
	attr.insn_cnt = (uint32_t)len;
	attr.license = (uint64_t)(uintptr_t)license;
	memcpy(attr.prog_name, DEVFILTER_PROG_NAME, sizeof(DEVFILTER_PROG_NAME));
	if (log != NULL) {
		attr.log_level = 1;
		attr.log_buf = (uint64_t)(uintptr_t)log;
		attr.log_size = (uint32_t)log_size;
	}
	long fd = sys_bpf(BPF_PROG_LOAD, &attr);
	return fd < 0 ? -errno : (int)fd;
}

int devfilter_load(const struct bpf_insn *prog, size_t len, struct berr *err)
{
	if (len == 0 || len > UINT32_MAX) {
		return berr_setx(err, EINVAL, "load device filter: %zu instructions", len);
	}
	/* Without a log first: it is the common case, and a log that fills
	 * its buffer would turn success into ENOSPC. */
	int fd = prog_load(prog, len, NULL, 0);
	if (fd >= 0) {
		return fd;
	}
	int code = -fd;
	auto_free char *log = malloc(LOG_SIZE);
	if (log == NULL) {
		return berr_set(err, code, "load device filter (%zu instructions)", len);
	}
	log[0] = '\0';
	fd = prog_load(prog, len, log, LOG_SIZE);
	if (fd >= 0) {
		return fd;
	}
	log[LOG_SIZE - 1] = '\0';
	size_t loglen = strlen(log);
	while (loglen > 0 && (log[loglen - 1] == '\n' || log[loglen - 1] == ' ')) {
		log[--loglen] = '\0';
	}
	/* The verifier states why at the end of its log. */
	const char *tail = loglen > LOG_TAIL ? log + loglen - LOG_TAIL : log;
	return berr_setx(err, code, "load device filter (%zu instructions): %s; verifier: %s", len, strerror(code),
			 tail[0] != '\0' ? tail : "(no log)");
}

/* Programs on the cgroup's device hook that this module attached (by name),
 * as fds; the caller closes them. */
struct old_progs {
	int fd[MAX_ATTACHED];
	size_t n;
};

static void old_progs_close(struct old_progs *o)
{
	for (size_t i = 0; i < o->n; i++) {
		close(o->fd[i]);
	}
	o->n = 0;
}

static int find_ours(int cgroup_dirfd, struct old_progs *out, struct berr *err)
{
	uint32_t ids[MAX_ATTACHED];
	union bpf_attr attr;
	memset(&attr, 0, sizeof(attr));
	attr.query.target_fd = (uint32_t)cgroup_dirfd;
	attr.query.attach_type = BPF_CGROUP_DEVICE;
	attr.query.prog_ids = (uint64_t)(uintptr_t)ids;
	attr.query.prog_cnt = MAX_ATTACHED;
	if (sys_bpf(BPF_PROG_QUERY, &attr) < 0) {
		return berr_set(err, errno, "query the cgroup's device filters");
	}
	out->n = 0;
	for (uint32_t i = 0; i < attr.query.prog_cnt && i < MAX_ATTACHED; i++) {
		union bpf_attr get;
		memset(&get, 0, sizeof(get));
		get.prog_id = ids[i];
		long fd = sys_bpf(BPF_PROG_GET_FD_BY_ID, &get);
		if (fd < 0) {
			if (errno == ENOENT) {
				continue; /* detached and freed since the query */
			}
			int code = errno;
			old_progs_close(out);
			return berr_set(err, code, "open device filter program %u", ids[i]);
		}
		struct bpf_prog_info info;
		memset(&info, 0, sizeof(info));
		union bpf_attr ia;
		memset(&ia, 0, sizeof(ia));
		ia.info.bpf_fd = (uint32_t)fd;
		ia.info.info_len = sizeof(info);
		ia.info.info = (uint64_t)(uintptr_t)&info;
		if (sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &ia) < 0) {
			int code = errno;
			close((int)fd);
			old_progs_close(out);
			return berr_set(err, code, "inspect device filter program %u", ids[i]);
		}
		if (strncmp(info.name, DEVFILTER_PROG_NAME, sizeof(info.name)) == 0) {
			out->fd[out->n++] = (int)fd;
		} else {
			close((int)fd);
		}
	}
	return 0;
}

int devfilter_attach(int cgroup_dirfd, const struct oci_device_rule *rules, size_t n, struct berr *err)
{
	auto_free struct bpf_insn *prog = NULL;
	size_t len = 0;
	int rc = devfilter_build(rules, n, &prog, &len, err);
	if (rc < 0) {
		return rc;
	}
	auto_close int fd = devfilter_load(prog, len, err);
	if (fd < 0) {
		return fd;
	}
	struct old_progs old = {.n = 0};
	rc = find_ours(cgroup_dirfd, &old, err);
	if (rc < 0) {
		return rc;
	}

	/* With BPF_F_REPLACE the new program takes the old one's place in one
	 * step; any further old ones are detached after, while the new one
	 * already guards the cgroup. */
	union bpf_attr attr;
	memset(&attr, 0, sizeof(attr));
	attr.target_fd = (uint32_t)cgroup_dirfd;
	attr.attach_bpf_fd = (uint32_t)fd;
	attr.attach_type = BPF_CGROUP_DEVICE;
	attr.attach_flags = BPF_F_ALLOW_MULTI;
	size_t first_to_detach = 0;
	if (old.n > 0) {
		attr.attach_flags |= BPF_F_REPLACE;
		attr.replace_bpf_fd = (uint32_t)old.fd[0];
		first_to_detach = 1;
	}
	if (sys_bpf(BPF_PROG_ATTACH, &attr) < 0) {
		int code = errno;
		old_progs_close(&old);
		return berr_set(err, code, "attach the device filter to the cgroup");
	}
	for (size_t i = first_to_detach; i < old.n; i++) {
		union bpf_attr det;
		memset(&det, 0, sizeof(det));
		det.target_fd = (uint32_t)cgroup_dirfd;
		det.attach_bpf_fd = (uint32_t)old.fd[i];
		det.attach_type = BPF_CGROUP_DEVICE;
		if (sys_bpf(BPF_PROG_DETACH, &det) < 0 && errno != ENOENT) {
			int code = errno;
			old_progs_close(&old);
			return berr_set(err, code, "detach the cgroup's previous device filter");
		}
	}
	old_progs_close(&old);
	return 0;
}
