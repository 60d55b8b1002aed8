/* config.json (see config.h): json-c parses, this file checks every field
 * and copies it into the arena-backed structures. The JSON tree is freed
 * before returning; nothing here outlives the parse but the structures. */
#include "oci/config.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/ioprio.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/fsutil.h"
#include "oci/trace.h"

#define CONFIG_MAX_BYTES (16u << 20)

/* ---- names ------------------------------------------------------------------ */

static const char *const cap_names[] = {
	[CAP_CHOWN] = "CAP_CHOWN",
	[CAP_DAC_OVERRIDE] = "CAP_DAC_OVERRIDE",
	[CAP_DAC_READ_SEARCH] = "CAP_DAC_READ_SEARCH",
	[CAP_FOWNER] = "CAP_FOWNER",
	[CAP_FSETID] = "CAP_FSETID",
	[CAP_KILL] = "CAP_KILL",
	[CAP_SETGID] = "CAP_SETGID",
	[CAP_SETUID] = "CAP_SETUID",
	[CAP_SETPCAP] = "CAP_SETPCAP",
	[CAP_LINUX_IMMUTABLE] = "CAP_LINUX_IMMUTABLE",
	[CAP_NET_BIND_SERVICE] = "CAP_NET_BIND_SERVICE",
	[CAP_NET_BROADCAST] = "CAP_NET_BROADCAST",
	[CAP_NET_ADMIN] = "CAP_NET_ADMIN",
	[CAP_NET_RAW] = "CAP_NET_RAW",
	[CAP_IPC_LOCK] = "CAP_IPC_LOCK",
	[CAP_IPC_OWNER] = "CAP_IPC_OWNER",
	[CAP_SYS_MODULE] = "CAP_SYS_MODULE",
	[CAP_SYS_RAWIO] = "CAP_SYS_RAWIO",
	[CAP_SYS_CHROOT] = "CAP_SYS_CHROOT",
	[CAP_SYS_PTRACE] = "CAP_SYS_PTRACE",
	[CAP_SYS_PACCT] = "CAP_SYS_PACCT",
	[CAP_SYS_ADMIN] = "CAP_SYS_ADMIN",
	[CAP_SYS_BOOT] = "CAP_SYS_BOOT",
	[CAP_SYS_NICE] = "CAP_SYS_NICE",
	[CAP_SYS_RESOURCE] = "CAP_SYS_RESOURCE",
	[CAP_SYS_TIME] = "CAP_SYS_TIME",
	[CAP_SYS_TTY_CONFIG] = "CAP_SYS_TTY_CONFIG",
	[CAP_MKNOD] = "CAP_MKNOD",
	[CAP_LEASE] = "CAP_LEASE",
	[CAP_AUDIT_WRITE] = "CAP_AUDIT_WRITE",
	[CAP_AUDIT_CONTROL] = "CAP_AUDIT_CONTROL",
	[CAP_SETFCAP] = "CAP_SETFCAP",
	[CAP_MAC_OVERRIDE] = "CAP_MAC_OVERRIDE",
	[CAP_MAC_ADMIN] = "CAP_MAC_ADMIN",
	[CAP_SYSLOG] = "CAP_SYSLOG",
	[CAP_WAKE_ALARM] = "CAP_WAKE_ALARM",
	[CAP_BLOCK_SUSPEND] = "CAP_BLOCK_SUSPEND",
	[CAP_AUDIT_READ] = "CAP_AUDIT_READ",
	[CAP_PERFMON] = "CAP_PERFMON",
	[CAP_BPF] = "CAP_BPF",
	[CAP_CHECKPOINT_RESTORE] = "CAP_CHECKPOINT_RESTORE",
};

int oci_cap_last(void)
{
	return (int)(sizeof(cap_names) / sizeof(cap_names[0])) - 1;
}

const char *oci_cap_name(int cap)
{
	if (cap < 0 || cap > oci_cap_last()) {
		return NULL;
	}
	return cap_names[cap];
}

int oci_cap_from_name(const char *name)
{
	for (int i = 0; i <= oci_cap_last(); i++) {
		if (cap_names[i] != NULL && strcmp(cap_names[i], name) == 0) {
			return i;
		}
	}
	return -1;
}

static const struct {
	const char *name;
	int resource;
} rlimit_names[] = {
	{"RLIMIT_AS", RLIMIT_AS},
	{"RLIMIT_CORE", RLIMIT_CORE},
	{"RLIMIT_CPU", RLIMIT_CPU},
	{"RLIMIT_DATA", RLIMIT_DATA},
	{"RLIMIT_FSIZE", RLIMIT_FSIZE},
	{"RLIMIT_LOCKS", RLIMIT_LOCKS},
	{"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
	{"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
	{"RLIMIT_NICE", RLIMIT_NICE},
	{"RLIMIT_NOFILE", RLIMIT_NOFILE},
	{"RLIMIT_NPROC", RLIMIT_NPROC},
	{"RLIMIT_RSS", RLIMIT_RSS},
	{"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
	{"RLIMIT_RTTIME", RLIMIT_RTTIME},
	{"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
	{"RLIMIT_STACK", RLIMIT_STACK},
};

int oci_rlimit_from_name(const char *name)
{
	for (size_t i = 0; i < sizeof(rlimit_names) / sizeof(rlimit_names[0]); i++) {
		if (strcmp(rlimit_names[i].name, name) == 0) {
			return rlimit_names[i].resource;
		}
	}
	return -1;
}

/* ---- parser plumbing ------------------------------------------------------------ */

struct parser {
	struct oci_config *cfg;
	struct arena *a;
	const char *name;
	struct berr *err;
};

__attribute__((format(printf, 3, 4))) static int fail(struct parser *p, const char *field, const char *fmt, ...)
{
	char msg[600];
	va_list ap;
	va_start(ap, fmt);
	if (vsnprintf(msg, sizeof(msg), fmt, ap) < 0) {
		msg[0] = '\0';
	}
	va_end(ap);
	return berr_setx(p->err, EINVAL, "%s: %s: %s", p->name, field, msg);
}

static int oom(struct parser *p)
{
	return berr_set(p->err, ENOMEM, "%s", p->name);
}

static void warn(struct parser *p, const char *field)
{
	struct oci_config *c = p->cfg;
	if (c->nwarnings < OCI_MAX_WARNINGS) {
		/* Cut to fit: a warning is worth less than the space it takes. */
		if (snprintf(c->warnings[c->nwarnings], sizeof(c->warnings[0]), "%s: ignoring unknown field %s",
			     p->name, field) >= 0) {
			c->nwarnings++;
		}
	}
}

/* Joins a field path: "process" + "user" -> "process.user". */
static void sub(char *out, size_t size, const char *parent, const char *child)
{
	int n = parent[0] == '\0' ? snprintf(out, size, "%s", child) : snprintf(out, size, "%s.%s", parent, child);
	if (n < 0) {
		out[0] = '\0';
	}
}

static void index_path(char *out, size_t size, const char *parent, size_t i)
{
	if (snprintf(out, size, "%s[%zu]", parent, i) < 0) {
		out[0] = '\0';
	}
}

static const char *type_name(json_object *o)
{
	switch (json_object_get_type(o)) {
	case json_type_null:
		return "null";
	case json_type_boolean:
		return "a boolean";
	case json_type_double:
		return "a fractional number";
	case json_type_int:
		return "an integer";
	case json_type_object:
		return "an object";
	case json_type_array:
		return "an array";
	case json_type_string:
		return "a string";
	}
	return "?";
}

/* Warns about fields the spec does not define (the spec says to ignore
 * them), naming each; known is NULL-terminated. */
static void check_known(struct parser *p, json_object *obj, const char *where, const char *const *known)
{
	json_object_object_foreach(obj, key, val)
	{
		(void)val;
		int found = 0;
		for (const char *const *k = known; *k != NULL; k++) {
			if (strcmp(*k, key) == 0) {
				found = 1;
				break;
			}
		}
		if (!found) {
			char field[256];
			sub(field, sizeof(field), where, key);
			warn(p, field);
		}
	}
}

static json_object *member(json_object *obj, const char *key)
{
	json_object *v = NULL;
	if (!json_object_object_get_ex(obj, key, &v) || v == NULL) {
		return NULL;
	}
	return v;
}

static int want_type(struct parser *p, json_object *o, json_type t, const char *field, const char *what)
{
	if (json_object_get_type(o) != t) {
		return fail(p, field, "expected %s, got %s", what, type_name(o));
	}
	return 0;
}

static int get_string(struct parser *p, json_object *obj, const char *key, const char *where, char **out)
{
	json_object *v = member(obj, key);
	char field[256];
	sub(field, sizeof(field), where, key);
	*out = NULL;
	if (v == NULL) {
		return 0;
	}
	if (want_type(p, v, json_type_string, field, "a string") < 0) {
		return -EINVAL;
	}
	*out = arena_strndup(p->a, json_object_get_string(v), (size_t)json_object_get_string_len(v));
	return *out ? 0 : oom(p);
}

static int get_bool(struct parser *p, json_object *obj, const char *key, const char *where, int *out)
{
	json_object *v = member(obj, key);
	char field[256];
	sub(field, sizeof(field), where, key);
	if (v == NULL) {
		return 0;
	}
	if (want_type(p, v, json_type_boolean, field, "true or false") < 0) {
		return -EINVAL;
	}
	*out = json_object_get_boolean(v);
	return 0;
}

/* An integer within [min, max]; *has set to 1 when present. */
static int get_int(struct parser *p, json_object *obj, const char *key, const char *where, int64_t min, int64_t max,
		   int *has, int64_t *out)
{
	json_object *v = member(obj, key);
	char field[256];
	sub(field, sizeof(field), where, key);
	if (v == NULL) {
		return 0;
	}
	if (want_type(p, v, json_type_int, field, "an integer") < 0) {
		return -EINVAL;
	}
	errno = 0;
	int64_t x = json_object_get_int64(v);
	if (errno != 0 || x < min || x > max) {
		return fail(p, field, "%s is out of range (%lld to %lld)", json_object_to_json_string(v),
			    (long long)min, (long long)max);
	}
	if (has != NULL) {
		*has = 1;
	}
	*out = x;
	return 0;
}

/* An unsigned 64-bit integer (may exceed INT64_MAX). */
static int get_uint64(struct parser *p, json_object *obj, const char *key, const char *where, int *has, uint64_t *out)
{
	json_object *v = member(obj, key);
	char field[256];
	sub(field, sizeof(field), where, key);
	if (v == NULL) {
		return 0;
	}
	if (want_type(p, v, json_type_int, field, "an unsigned integer") < 0) {
		return -EINVAL;
	}
	if (json_object_get_int64(v) < 0 && json_object_get_uint64(v) == 0) {
		return fail(p, field, "expected an unsigned integer, got %s", json_object_to_json_string(v));
	}
	errno = 0;
	uint64_t x = json_object_get_uint64(v);
	if (errno != 0) {
		return fail(p, field, "%s is out of range", json_object_to_json_string(v));
	}
	if (has != NULL) {
		*has = 1;
	}
	*out = x;
	return 0;
}

static int get_u32(struct parser *p, json_object *obj, const char *key, const char *where, int *has, uint32_t *out)
{
	int64_t v = 0;
	int h = 0;
	int ret = get_int(p, obj, key, where, 0, UINT32_MAX, &h, &v);
	if (ret == 0 && h) {
		*out = (uint32_t)v;
		if (has != NULL) {
			*has = 1;
		}
	}
	return ret;
}

/* An array of strings; absent gives none. */
static int get_strings(struct parser *p, json_object *obj, const char *key, const char *where, char ***out, size_t *n)
{
	json_object *v = member(obj, key);
	char field[256];
	sub(field, sizeof(field), where, key);
	*out = NULL;
	*n = 0;
	if (v == NULL) {
		return 0;
	}
	if (want_type(p, v, json_type_array, field, "an array of strings") < 0) {
		return -EINVAL;
	}
	size_t len = json_object_array_length(v);
	char **arr = arena_alloc(p->a, (len + 1) * sizeof(*arr));
	if (arr == NULL) {
		return oom(p);
	}
	for (size_t i = 0; i < len; i++) {
		json_object *s = json_object_array_get_idx(v, i);
		char item[280];
		index_path(item, sizeof(item), field, i);
		if (want_type(p, s, json_type_string, item, "a string") < 0) {
			return -EINVAL;
		}
		arr[i] = arena_strndup(p->a, json_object_get_string(s), (size_t)json_object_get_string_len(s));
		if (arr[i] == NULL) {
			return oom(p);
		}
	}
	*out = arr;
	*n = len;
	return 0;
}

/* A field the spec defines and Berth does not implement: an error when it
 * asks for anything (an empty value asks for nothing). */
static int unsupported(struct parser *p, json_object *obj, const char *key, const char *where, const char *why)
{
	json_object *v = member(obj, key);
	if (v == NULL) {
		return 0;
	}
	json_type t = json_object_get_type(v);
	if (t == json_type_null || (t == json_type_string && json_object_get_string_len(v) == 0) ||
	    (t == json_type_array && json_object_array_length(v) == 0) ||
	    (t == json_type_object && json_object_object_length(v) == 0)) {
		return 0;
	}
	char field[256];
	sub(field, sizeof(field), where, key);
	return fail(p, field, "not supported by berth-oci (%s)", why);
}

static int want_object(struct parser *p, json_object *obj, const char *key, const char *where, json_object **out)
{
	char field[256];
	sub(field, sizeof(field), where, key);
	*out = member(obj, key);
	if (*out == NULL) {
		return 0;
	}
	return want_type(p, *out, json_type_object, field, "an object");
}

static int want_array(struct parser *p, json_object *obj, const char *key, const char *where, json_object **out)
{
	char field[256];
	sub(field, sizeof(field), where, key);
	*out = member(obj, key);
	if (*out == NULL) {
		return 0;
	}
	return want_type(p, *out, json_type_array, field, "an array");
}

/* ---- sections ---------------------------------------------------------------------- */

static int parse_id_maps(struct parser *p, json_object *obj, const char *key, const char *where,
			 struct oci_id_map **out, size_t *n)
{
	json_object *arr;
	char field[256];
	sub(field, sizeof(field), where, key);
	*out = NULL;
	*n = 0;
	if (want_array(p, obj, key, where, &arr) < 0) {
		return -EINVAL;
	}
	if (arr == NULL) {
		return 0;
	}
	size_t len = json_object_array_length(arr);
	if (len > 340) {
		return fail(p, field, "at most 340 mappings");
	}
	*out = arena_alloc(p->a, (len + 1) * sizeof(**out));
	if (*out == NULL) {
		return oom(p);
	}
	static const char *const known[] = {"containerID", "hostID", "size", NULL};
	for (size_t i = 0; i < len; i++) {
		json_object *m = json_object_array_get_idx(arr, i);
		char item[280];
		index_path(item, sizeof(item), field, i);
		if (want_type(p, m, json_type_object, item, "an object") < 0) {
			return -EINVAL;
		}
		check_known(p, m, item, known);
		int has_c = 0;
		int has_h = 0;
		int has_s = 0;
		struct oci_id_map *im = &(*out)[i];
		if (get_u32(p, m, "containerID", item, &has_c, &im->container_id) < 0 ||
		    get_u32(p, m, "hostID", item, &has_h, &im->host_id) < 0 ||
		    get_u32(p, m, "size", item, &has_s, &im->size) < 0) {
			return -EINVAL;
		}
		if (!has_c || !has_h || !has_s) {
			return fail(p, item, "containerID, hostID and size are all required");
		}
	}
	*n = len;
	return 0;
}

static int parse_root(struct parser *p, json_object *root)
{
	static const char *const known[] = {"path", "readonly", NULL};
	json_object *o;
	if (want_object(p, root, "root", "", &o) < 0) {
		return -EINVAL;
	}
	if (o == NULL) {
		return fail(p, "root", "required");
	}
	check_known(p, o, "root", known);
	if (get_string(p, o, "path", "root", &p->cfg->root_path) < 0 ||
	    get_bool(p, o, "readonly", "root", &p->cfg->root_readonly) < 0) {
		return -EINVAL;
	}
	if (p->cfg->root_path == NULL || p->cfg->root_path[0] == '\0') {
		return fail(p, "root.path", "required");
	}
	return 0;
}

static int parse_mounts(struct parser *p, json_object *root)
{
	static const char *const known[] = {"destination", "type",	  "source", "options",
					    "uidMappings", "gidMappings", NULL};
	json_object *arr;
	if (want_array(p, root, "mounts", "", &arr) < 0) {
		return -EINVAL;
	}
	if (arr == NULL) {
		return 0;
	}
	size_t len = json_object_array_length(arr);
	p->cfg->mounts = arena_alloc(p->a, (len + 1) * sizeof(*p->cfg->mounts));
	if (p->cfg->mounts == NULL) {
		return oom(p);
	}
	for (size_t i = 0; i < len; i++) {
		json_object *m = json_object_array_get_idx(arr, i);
		char item[64];
		index_path(item, sizeof(item), "mounts", i);
		if (want_type(p, m, json_type_object, item, "an object") < 0) {
			return -EINVAL;
		}
		check_known(p, m, item, known);
		struct oci_mount *mt = &p->cfg->mounts[i];
		if (get_string(p, m, "destination", item, &mt->destination) < 0 ||
		    get_string(p, m, "type", item, &mt->type) < 0 ||
		    get_string(p, m, "source", item, &mt->source) < 0 ||
		    get_strings(p, m, "options", item, &mt->options, &mt->noptions) < 0 ||
		    parse_id_maps(p, m, "uidMappings", item, &mt->uid_maps, &mt->nuid_maps) < 0 ||
		    parse_id_maps(p, m, "gidMappings", item, &mt->gid_maps, &mt->ngid_maps) < 0) {
			return -EINVAL;
		}
		if (mt->destination == NULL || mt->destination[0] != '/') {
			char field[96];
			sub(field, sizeof(field), item, "destination");
			return fail(p, field, "required, and must be an absolute path");
		}
	}
	p->cfg->nmounts = len;
	return 0;
}

static int parse_caps(struct parser *p, json_object *proc, struct oci_process *pr)
{
	static const char *const known[] = {"bounding", "effective", "inheritable", "permitted", "ambient", NULL};
	static const char *const sets[] = {"bounding", "effective", "inheritable", "permitted", "ambient"};
	json_object *o;
	if (want_object(p, proc, "capabilities", "process", &o) < 0) {
		return -EINVAL;
	}
	if (o == NULL) {
		return 0;
	}
	check_known(p, o, "process.capabilities", known);
	uint64_t *masks[] = {&pr->caps.bounding, &pr->caps.effective, &pr->caps.inheritable, &pr->caps.permitted,
			     &pr->caps.ambient};
	for (size_t s = 0; s < 5; s++) {
		char **names;
		size_t n;
		char field[96];
		sub(field, sizeof(field), "process.capabilities", sets[s]);
		if (get_strings(p, o, sets[s], "process.capabilities", &names, &n) < 0) {
			return -EINVAL;
		}
		for (size_t i = 0; i < n; i++) {
			int cap = oci_cap_from_name(names[i]);
			if (cap < 0) {
				char item[128];
				index_path(item, sizeof(item), field, i);
				return fail(p, item, "unknown capability '%.64s'", names[i]);
			}
			*masks[s] |= 1ull << cap;
		}
	}
	pr->has_caps = 1;
	return 0;
}

static int parse_rlimits(struct parser *p, json_object *proc, struct oci_process *pr)
{
	static const char *const known[] = {"type", "soft", "hard", NULL};
	json_object *arr;
	if (want_array(p, proc, "rlimits", "process", &arr) < 0) {
		return -EINVAL;
	}
	if (arr == NULL) {
		return 0;
	}
	size_t len = json_object_array_length(arr);
	pr->rlimits = arena_alloc(p->a, (len + 1) * sizeof(*pr->rlimits));
	if (pr->rlimits == NULL) {
		return oom(p);
	}
	for (size_t i = 0; i < len; i++) {
		json_object *r = json_object_array_get_idx(arr, i);
		char item[64];
		index_path(item, sizeof(item), "process.rlimits", i);
		if (want_type(p, r, json_type_object, item, "an object") < 0) {
			return -EINVAL;
		}
		check_known(p, r, item, known);
		char *type;
		int has_soft = 0;
		int has_hard = 0;
		struct oci_rlimit *rl = &pr->rlimits[i];
		if (get_string(p, r, "type", item, &type) < 0 ||
		    get_uint64(p, r, "soft", item, &has_soft, &rl->soft) < 0 ||
		    get_uint64(p, r, "hard", item, &has_hard, &rl->hard) < 0) {
			return -EINVAL;
		}
		char field[96];
		sub(field, sizeof(field), item, "type");
		if (type == NULL) {
			return fail(p, field, "required");
		}
		rl->resource = oci_rlimit_from_name(type);
		if (rl->resource < 0) {
			return fail(p, field, "unknown resource '%.64s'", type);
		}
		for (size_t j = 0; j < i; j++) {
			if (pr->rlimits[j].resource == rl->resource) {
				return fail(p, field, "%s is set twice", type);
			}
		}
		if (!has_soft || !has_hard) {
			return fail(p, item, "soft and hard are both required");
		}
		if (rl->soft > rl->hard) {
			return fail(p, item, "soft limit %llu is above the hard limit %llu",
				    (unsigned long long)rl->soft, (unsigned long long)rl->hard);
		}
	}
	pr->nrlimits = len;
	return 0;
}

static int parse_user(struct parser *p, json_object *proc, struct oci_process *pr)
{
	static const char *const known[] = {"uid", "gid", "umask", "additionalGids", "username", NULL};
	json_object *o;
	if (want_object(p, proc, "user", "process", &o) < 0) {
		return -EINVAL;
	}
	if (o == NULL) {
		return fail(p, "process.user", "required");
	}
	check_known(p, o, "process.user", known);
	int has_uid = 0;
	int has_gid = 0;
	if (get_u32(p, o, "uid", "process.user", &has_uid, &pr->user.uid) < 0 ||
	    get_u32(p, o, "gid", "process.user", &has_gid, &pr->user.gid) < 0 ||
	    get_u32(p, o, "umask", "process.user", &pr->user.has_umask, &pr->user.umask) < 0 ||
	    unsupported(p, o, "username", "process.user", "Windows only") < 0) {
		return -EINVAL;
	}
	if (!has_uid || !has_gid) {
		return fail(p, "process.user", "uid and gid are required");
	}
	if (pr->user.has_umask && pr->user.umask > 0777) {
		return fail(p, "process.user.umask", "%o is not a file mode mask", pr->user.umask);
	}
	json_object *arr;
	if (want_array(p, o, "additionalGids", "process.user", &arr) < 0) {
		return -EINVAL;
	}
	if (arr != NULL) {
		size_t len = json_object_array_length(arr);
		if (len > NGROUPS_MAX) {
			return fail(p, "process.user.additionalGids", "at most %d groups", NGROUPS_MAX);
		}
		pr->user.additional_gids = arena_alloc(p->a, (len + 1) * sizeof(gid_t));
		if (pr->user.additional_gids == NULL) {
			return oom(p);
		}
		for (size_t i = 0; i < len; i++) {
			json_object *g = json_object_array_get_idx(arr, i);
			char item[64];
			index_path(item, sizeof(item), "process.user.additionalGids", i);
			if (want_type(p, g, json_type_int, item, "an integer") < 0) {
				return -EINVAL;
			}
			int64_t v = json_object_get_int64(g);
			if (v < 0 || v > UINT32_MAX) {
				return fail(p, item, "%lld is not a group id", (long long)v);
			}
			pr->user.additional_gids[i] = (gid_t)v;
		}
		pr->user.nadditional_gids = len;
	}
	return 0;
}

static int parse_process_obj(struct parser *p, json_object *o, struct oci_process *pr, int need_args)
{
	static const char *const known[] = {
		"terminal",
		"consoleSize",
		"user",
		"args",
		"commandLine",
		"env",
		"cwd",
		"capabilities",
		"rlimits",
		"noNewPrivileges",
		"apparmorProfile",
		"oomScoreAdj",
		"selinuxLabel",
		"ioPriority",
		"scheduler",
		"execCPUAffinity",
		NULL,
	};
	check_known(p, o, "process", known);
	if (get_bool(p, o, "terminal", "process", &pr->terminal) < 0 ||
	    get_strings(p, o, "args", "process", &pr->args, &pr->nargs) < 0 ||
	    get_strings(p, o, "env", "process", &pr->env, &pr->nenv) < 0 ||
	    get_string(p, o, "cwd", "process", &pr->cwd) < 0 ||
	    get_bool(p, o, "noNewPrivileges", "process", &pr->no_new_privileges) < 0 || parse_user(p, o, pr) < 0 ||
	    parse_caps(p, o, pr) < 0 || parse_rlimits(p, o, pr) < 0 ||
	    unsupported(p, o, "commandLine", "process", "Windows only") < 0 ||
	    unsupported(p, o, "apparmorProfile", "process", "the kernel has no AppArmor") < 0 ||
	    unsupported(p, o, "selinuxLabel", "process", "the kernel has no SELinux") < 0 ||
	    unsupported(p, o, "scheduler", "process", "scheduling policies are not implemented") < 0 ||
	    unsupported(p, o, "execCPUAffinity", "process", "use linux.resources.cpu.cpus") < 0) {
		return -EINVAL;
	}
	int64_t v = 0;
	if (get_int(p, o, "oomScoreAdj", "process", -1000, 1000, &pr->has_oom_score_adj, &v) < 0) {
		return -EINVAL;
	}
	pr->oom_score_adj = (int)v;
	if (need_args && pr->nargs == 0) {
		return fail(p, "process.args", "required, with at least the program to run");
	}
	for (size_t i = 0; i < pr->nenv; i++) {
		if (strchr(pr->env[i], '=') == NULL) {
			char item[64];
			index_path(item, sizeof(item), "process.env", i);
			return fail(p, item, "'%.64s' is not NAME=VALUE", pr->env[i]);
		}
	}
	if (pr->cwd == NULL || pr->cwd[0] != '/') {
		return fail(p, "process.cwd", "required, and must be an absolute path");
	}
	json_object *cs;
	if (want_object(p, o, "consoleSize", "process", &cs) < 0) {
		return -EINVAL;
	}
	if (cs != NULL) {
		static const char *const cs_known[] = {"height", "width", NULL};
		check_known(p, cs, "process.consoleSize", cs_known);
		uint32_t h = 0;
		uint32_t w = 0;
		if (get_u32(p, cs, "height", "process.consoleSize", NULL, &h) < 0 ||
		    get_u32(p, cs, "width", "process.consoleSize", NULL, &w) < 0) {
			return -EINVAL;
		}
		if (h > 65535 || w > 65535) {
			return fail(p, "process.consoleSize", "height and width must be below 65536");
		}
		pr->has_console_size = 1;
		pr->console_height = h;
		pr->console_width = w;
	}
	json_object *io;
	if (want_object(p, o, "ioPriority", "process", &io) < 0) {
		return -EINVAL;
	}
	if (io != NULL) {
		static const char *const io_known[] = {"class", "priority", NULL};
		check_known(p, io, "process.ioPriority", io_known);
		char *cls;
		int64_t prio = 0;
		if (get_string(p, io, "class", "process.ioPriority", &cls) < 0 ||
		    get_int(p, io, "priority", "process.ioPriority", 0, 7, NULL, &prio) < 0) {
			return -EINVAL;
		}
		if (cls == NULL) {
			return fail(p, "process.ioPriority.class", "required");
		}
		if (strcmp(cls, "IOPRIO_CLASS_RT") == 0) {
			pr->io_priority_class = IOPRIO_CLASS_RT;
		} else if (strcmp(cls, "IOPRIO_CLASS_BE") == 0) {
			pr->io_priority_class = IOPRIO_CLASS_BE;
		} else if (strcmp(cls, "IOPRIO_CLASS_IDLE") == 0) {
			pr->io_priority_class = IOPRIO_CLASS_IDLE;
		} else {
			return fail(p, "process.ioPriority.class", "unknown class '%.64s'", cls);
		}
		pr->io_priority = (int)prio;
		pr->has_io_priority = 1;
	}
	return 0;
}

static const char *const hook_kinds[OCI_HOOK_KINDS + 1] = {
	[OCI_HOOK_PRESTART] = "prestart",
	[OCI_HOOK_CREATE_RUNTIME] = "createRuntime",
	[OCI_HOOK_CREATE_CONTAINER] = "createContainer",
	[OCI_HOOK_START_CONTAINER] = "startContainer",
	[OCI_HOOK_POSTSTART] = "poststart",
	[OCI_HOOK_POSTSTOP] = "poststop",
	[OCI_HOOK_KINDS] = NULL,
};

const char *oci_hook_kind_name(enum oci_hook_kind kind)
{
	return kind >= 0 && kind < OCI_HOOK_KINDS ? hook_kinds[kind] : NULL;
}

static int parse_hooks(struct parser *p, json_object *root)
{
	const char *const *kinds = hook_kinds;
	const char *const *known = hook_kinds;
	static const char *const hook_known[] = {"path", "args", "env", "timeout", NULL};
	json_object *o;
	if (want_object(p, root, "hooks", "", &o) < 0) {
		return -EINVAL;
	}
	if (o == NULL) {
		return 0;
	}
	check_known(p, o, "hooks", known);
	for (int k = 0; k < OCI_HOOK_KINDS; k++) {
		json_object *arr;
		char where[64];
		sub(where, sizeof(where), "hooks", kinds[k]);
		if (want_array(p, o, kinds[k], "hooks", &arr) < 0) {
			return -EINVAL;
		}
		if (arr == NULL) {
			continue;
		}
		size_t len = json_object_array_length(arr);
		struct oci_hook *hooks = arena_alloc(p->a, (len + 1) * sizeof(*hooks));
		if (hooks == NULL) {
			return oom(p);
		}
		for (size_t i = 0; i < len; i++) {
			json_object *h = json_object_array_get_idx(arr, i);
			char item[96];
			index_path(item, sizeof(item), where, i);
			if (want_type(p, h, json_type_object, item, "an object") < 0) {
				return -EINVAL;
			}
			check_known(p, h, item, hook_known);
			int64_t timeout = 0;
			int has_timeout = 0;
			if (get_string(p, h, "path", item, &hooks[i].path) < 0 ||
			    get_strings(p, h, "args", item, &hooks[i].args, &hooks[i].nargs) < 0 ||
			    get_strings(p, h, "env", item, &hooks[i].env, &hooks[i].nenv) < 0 ||
			    get_int(p, h, "timeout", item, 1, INT32_MAX, &has_timeout, &timeout) < 0) {
				return -EINVAL;
			}
			if (hooks[i].path == NULL || hooks[i].path[0] != '/') {
				char field[128];
				sub(field, sizeof(field), item, "path");
				return fail(p, field, "required, and must be an absolute path");
			}
			hooks[i].timeout = (int)timeout;
		}
		p->cfg->hooks.list[k] = hooks;
		p->cfg->hooks.count[k] = len;
	}
	return 0;
}

static int parse_kv_object(struct parser *p, json_object *obj, const char *key, const char *where, struct oci_kv **out,
			   size_t *n)
{
	json_object *o;
	char field[256];
	sub(field, sizeof(field), where, key);
	*out = NULL;
	*n = 0;
	if (want_object(p, obj, key, where, &o) < 0) {
		return -EINVAL;
	}
	if (o == NULL) {
		return 0;
	}
	size_t len = (size_t)json_object_object_length(o);
	*out = arena_alloc(p->a, (len + 1) * sizeof(**out));
	if (*out == NULL) {
		return oom(p);
	}
	size_t i = 0;
	json_object_object_foreach(o, k, v)
	{
		char item[300];
		sub(item, sizeof(item), field, k);
		if (want_type(p, v, json_type_string, item, "a string") < 0) {
			return -EINVAL;
		}
		(*out)[i].key = arena_strdup(p->a, k);
		(*out)[i].value = arena_strndup(p->a, json_object_get_string(v), (size_t)json_object_get_string_len(v));
		if ((*out)[i].key == NULL || (*out)[i].value == NULL) {
			return oom(p);
		}
		i++;
	}
	*n = i;
	return 0;
}

static const struct {
	const char *name;
	enum oci_ns_type type;
	int flag;
} ns_names[] = {
	{"pid", OCI_NS_PID, CLONE_NEWPID},	    {"network", OCI_NS_NET, CLONE_NEWNET},
	{"mount", OCI_NS_MOUNT, CLONE_NEWNS},	    {"ipc", OCI_NS_IPC, CLONE_NEWIPC},
	{"uts", OCI_NS_UTS, CLONE_NEWUTS},	    {"user", OCI_NS_USER, CLONE_NEWUSER},
	{"cgroup", OCI_NS_CGROUP, CLONE_NEWCGROUP}, {"time", OCI_NS_TIME, CLONE_NEWTIME},
};

static int parse_namespaces(struct parser *p, json_object *lx)
{
	static const char *const known[] = {"type", "path", NULL};
	json_object *arr;
	if (want_array(p, lx, "namespaces", "linux", &arr) < 0) {
		return -EINVAL;
	}
	if (arr == NULL) {
		return 0;
	}
	struct oci_linux *l = &p->cfg->linux_;
	size_t len = json_object_array_length(arr);
	for (size_t i = 0; i < len; i++) {
		json_object *n = json_object_array_get_idx(arr, i);
		char item[64];
		index_path(item, sizeof(item), "linux.namespaces", i);
		if (want_type(p, n, json_type_object, item, "an object") < 0) {
			return -EINVAL;
		}
		check_known(p, n, item, known);
		char *type;
		char *path;
		if (get_string(p, n, "type", item, &type) < 0 || get_string(p, n, "path", item, &path) < 0) {
			return -EINVAL;
		}
		char field[96];
		sub(field, sizeof(field), item, "type");
		if (type == NULL) {
			return fail(p, field, "required");
		}
		size_t k;
		for (k = 0; k < sizeof(ns_names) / sizeof(ns_names[0]); k++) {
			if (strcmp(ns_names[k].name, type) == 0) {
				break;
			}
		}
		if (k == sizeof(ns_names) / sizeof(ns_names[0])) {
			return fail(p, field, "unknown namespace type '%.32s'", type);
		}
		for (size_t j = 0; j < l->nnamespaces; j++) {
			if (l->namespaces[j].type == ns_names[k].type) {
				return fail(p, field, "namespace '%s' is listed twice", type);
			}
		}
		if (path != NULL && path[0] != '/') {
			sub(field, sizeof(field), item, "path");
			return fail(p, field, "must be an absolute path");
		}
		struct oci_namespace *ns = &l->namespaces[l->nnamespaces++];
		ns->type = ns_names[k].type;
		ns->clone_flag = ns_names[k].flag;
		ns->path = (path != NULL && path[0] != '\0') ? path : NULL;
	}
	return 0;
}

static int parse_devices(struct parser *p, json_object *lx)
{
	static const char *const known[] = {"type", "path", "major", "minor", "fileMode", "uid", "gid", NULL};
	json_object *arr;
	if (want_array(p, lx, "devices", "linux", &arr) < 0) {
		return -EINVAL;
	}
	if (arr == NULL) {
		return 0;
	}
	struct oci_linux *l = &p->cfg->linux_;
	size_t len = json_object_array_length(arr);
	l->devices = arena_alloc(p->a, (len + 1) * sizeof(*l->devices));
	if (l->devices == NULL) {
		return oom(p);
	}
	for (size_t i = 0; i < len; i++) {
		json_object *d = json_object_array_get_idx(arr, i);
		char item[64];
		index_path(item, sizeof(item), "linux.devices", i);
		if (want_type(p, d, json_type_object, item, "an object") < 0) {
			return -EINVAL;
		}
		check_known(p, d, item, known);
		struct oci_device *dev = &l->devices[i];
		char *type;
		int has_major = 0;
		int has_minor = 0;
		if (get_string(p, d, "type", item, &type) < 0 || get_string(p, d, "path", item, &dev->path) < 0 ||
		    get_int(p, d, "major", item, 0, 0xfff, &has_major, &dev->major) < 0 ||
		    get_int(p, d, "minor", item, 0, 0xfffff, &has_minor, &dev->minor) < 0 ||
		    get_u32(p, d, "fileMode", item, &dev->has_file_mode, &dev->file_mode) < 0 ||
		    get_u32(p, d, "uid", item, &dev->has_uid, &dev->uid) < 0 ||
		    get_u32(p, d, "gid", item, &dev->has_gid, &dev->gid) < 0) {
			return -EINVAL;
		}
		char field[96];
		if (dev->path == NULL || dev->path[0] != '/') {
			sub(field, sizeof(field), item, "path");
			return fail(p, field, "required, and must be an absolute path");
		}
		sub(field, sizeof(field), item, "type");
		if (type == NULL || strlen(type) != 1 || strchr("cbup", type[0]) == NULL) {
			return fail(p, field, "expected one of c, b, u, p");
		}
		dev->type = type[0];
		if (dev->type != 'p' && (!has_major || !has_minor)) {
			return fail(p, item, "major and minor are required for a %s device",
				    dev->type == 'b' ? "block" : "character");
		}
		if (dev->has_file_mode && dev->file_mode > 07777) {
			sub(field, sizeof(field), item, "fileMode");
			return fail(p, field, "%o is not a permission mode", dev->file_mode);
		}
	}
	l->ndevices = len;
	return 0;
}

static int parse_device_rules(struct parser *p, json_object *res, struct oci_resources *r)
{
	static const char *const known[] = {"allow", "type", "major", "minor", "access", NULL};
	json_object *arr;
	if (want_array(p, res, "devices", "linux.resources", &arr) < 0) {
		return -EINVAL;
	}
	if (arr == NULL) {
		return 0;
	}
	size_t len = json_object_array_length(arr);
	r->devices = arena_alloc(p->a, (len + 1) * sizeof(*r->devices));
	if (r->devices == NULL) {
		return oom(p);
	}
	for (size_t i = 0; i < len; i++) {
		json_object *d = json_object_array_get_idx(arr, i);
		char item[64];
		index_path(item, sizeof(item), "linux.resources.devices", i);
		if (want_type(p, d, json_type_object, item, "an object") < 0) {
			return -EINVAL;
		}
		check_known(p, d, item, known);
		struct oci_device_rule *rule = &r->devices[i];
		char *type = NULL;
		char *access = NULL;
		int has_allow = 0;
		rule->major = -1;
		rule->minor = -1;
		json_object *allow = member(d, "allow");
		if (allow != NULL) {
			has_allow = 1;
		}
		if (get_bool(p, d, "allow", item, &rule->allow) < 0 || get_string(p, d, "type", item, &type) < 0 ||
		    get_string(p, d, "access", item, &access) < 0 ||
		    get_int(p, d, "major", item, -1, 0xfff, NULL, &rule->major) < 0 ||
		    get_int(p, d, "minor", item, -1, 0xfffff, NULL, &rule->minor) < 0) {
			return -EINVAL;
		}
		char field[96];
		if (!has_allow) {
			sub(field, sizeof(field), item, "allow");
			return fail(p, field, "required");
		}
		rule->type = type ? type[0] : 'a';
		if (type != NULL && (strlen(type) != 1 || strchr("acb", type[0]) == NULL)) {
			sub(field, sizeof(field), item, "type");
			return fail(p, field, "expected a, c or b");
		}
		if (access != NULL) {
			if (strlen(access) > 3 || strspn(access, "rwm") != strlen(access)) {
				sub(field, sizeof(field), item, "access");
				return fail(p, field, "expected some of r, w, m; got '%.16s'", access);
			}
			memcpy(rule->access, access, strlen(access) + 1);
		}
	}
	r->ndevices = len;
	return 0;
}

static int parse_throttle(struct parser *p, json_object *bio, const char *key, struct oci_throttle_device **out,
			  size_t *n)
{
	static const char *const known[] = {"major", "minor", "rate", NULL};
	json_object *arr;
	char where[96];
	sub(where, sizeof(where), "linux.resources.blockIO", key);
	if (want_array(p, bio, key, "linux.resources.blockIO", &arr) < 0) {
		return -EINVAL;
	}
	if (arr == NULL) {
		return 0;
	}
	size_t len = json_object_array_length(arr);
	*out = arena_alloc(p->a, (len + 1) * sizeof(**out));
	if (*out == NULL) {
		return oom(p);
	}
	for (size_t i = 0; i < len; i++) {
		json_object *d = json_object_array_get_idx(arr, i);
		char item[128];
		index_path(item, sizeof(item), where, i);
		if (want_type(p, d, json_type_object, item, "an object") < 0) {
			return -EINVAL;
		}
		check_known(p, d, item, known);
		int hm = 0;
		int hn = 0;
		int hr = 0;
		if (get_int(p, d, "major", item, 0, 0xfff, &hm, &(*out)[i].major) < 0 ||
		    get_int(p, d, "minor", item, 0, 0xfffff, &hn, &(*out)[i].minor) < 0 ||
		    get_uint64(p, d, "rate", item, &hr, &(*out)[i].rate) < 0) {
			return -EINVAL;
		}
		if (!hm || !hn || !hr) {
			return fail(p, item, "major, minor and rate are required");
		}
	}
	*n = len;
	return 0;
}

static int parse_blockio(struct parser *p, json_object *res, struct oci_resources *r)
{
	static const char *const known[] = {"weight",
					    "leafWeight",
					    "weightDevice",
					    "throttleReadBpsDevice",
					    "throttleWriteBpsDevice",
					    "throttleReadIOPSDevice",
					    "throttleWriteIOPSDevice",
					    NULL};
	json_object *o;
	if (want_object(p, res, "blockIO", "linux.resources", &o) < 0) {
		return -EINVAL;
	}
	if (o == NULL) {
		return 0;
	}
	const char *w = "linux.resources.blockIO";
	check_known(p, o, w, known);
	int64_t v = 0;
	if (get_int(p, o, "weight", w, 10, 1000, &r->has_blkio_weight, &v) < 0 ||
	    unsupported(p, o, "leafWeight", w, "cgroup v2 has no leaf weights") < 0) {
		return -EINVAL;
	}
	r->blkio_weight = (uint16_t)v;
	json_object *arr;
	if (want_array(p, o, "weightDevice", w, &arr) < 0) {
		return -EINVAL;
	}
	if (arr != NULL) {
		static const char *const wd_known[] = {"major", "minor", "weight", "leafWeight", NULL};
		size_t len = json_object_array_length(arr);
		r->weight_devices = arena_alloc(p->a, (len + 1) * sizeof(*r->weight_devices));
		if (r->weight_devices == NULL) {
			return oom(p);
		}
		for (size_t i = 0; i < len; i++) {
			json_object *d = json_object_array_get_idx(arr, i);
			char item[96];
			index_path(item, sizeof(item), "linux.resources.blockIO.weightDevice", i);
			if (want_type(p, d, json_type_object, item, "an object") < 0) {
				return -EINVAL;
			}
			check_known(p, d, item, wd_known);
			struct oci_weight_device *wd = &r->weight_devices[i];
			int hm = 0;
			int hn = 0;
			int64_t wv = 0;
			int64_t lv = 0;
			if (get_int(p, d, "major", item, 0, 0xfff, &hm, &wd->major) < 0 ||
			    get_int(p, d, "minor", item, 0, 0xfffff, &hn, &wd->minor) < 0 ||
			    get_int(p, d, "weight", item, 10, 1000, &wd->has_weight, &wv) < 0 ||
			    get_int(p, d, "leafWeight", item, 10, 1000, &wd->has_leaf_weight, &lv) < 0) {
				return -EINVAL;
			}
			if (!hm || !hn) {
				return fail(p, item, "major and minor are required");
			}
			wd->weight = (uint16_t)wv;
			wd->leaf_weight = (uint16_t)lv;
		}
		r->nweight_devices = len;
	}
	if (parse_throttle(p, o, "throttleReadBpsDevice", &r->throttle_read_bps, &r->nthrottle_read_bps) < 0 ||
	    parse_throttle(p, o, "throttleWriteBpsDevice", &r->throttle_write_bps, &r->nthrottle_write_bps) < 0 ||
	    parse_throttle(p, o, "throttleReadIOPSDevice", &r->throttle_read_iops, &r->nthrottle_read_iops) < 0 ||
	    parse_throttle(p, o, "throttleWriteIOPSDevice", &r->throttle_write_iops, &r->nthrottle_write_iops) < 0) {
		return -EINVAL;
	}
	return 0;
}

static int parse_resources(struct parser *p, json_object *lx)
{
	static const char *const known[] = {"devices",	      "memory",	 "cpu",	 "pids",    "blockIO",
					    "hugepageLimits", "network", "rdma", "unified", NULL};
	json_object *o;
	if (want_object(p, lx, "resources", "linux", &o) < 0) {
		return -EINVAL;
	}
	if (o == NULL) {
		return 0;
	}
	struct oci_resources *r = &p->cfg->linux_.resources;
	p->cfg->linux_.has_resources = 1;
	check_known(p, o, "linux.resources", known);
	if (parse_device_rules(p, o, r) < 0 || parse_blockio(p, o, r) < 0 ||
	    unsupported(p, o, "hugepageLimits", "linux.resources", "the kernel has no hugetlb controller") < 0 ||
	    unsupported(p, o, "network", "linux.resources", "cgroup v2 has no net_cls or net_prio") < 0 ||
	    unsupported(p, o, "rdma", "linux.resources", "the kernel has no rdma controller") < 0 ||
	    parse_kv_object(p, o, "unified", "linux.resources", &r->unified, &r->nunified) < 0) {
		return -EINVAL;
	}
	json_object *mem;
	if (want_object(p, o, "memory", "linux.resources", &mem) < 0) {
		return -EINVAL;
	}
	if (mem != NULL) {
		static const char *const m_known[] = {"limit",
						      "reservation",
						      "swap",
						      "kernel",
						      "kernelTCP",
						      "swappiness",
						      "disableOOMKiller",
						      "useHierarchy",
						      "checkBeforeUpdate",
						      NULL};
		const char *w = "linux.resources.memory";
		check_known(p, mem, w, m_known);
		int use_hierarchy = 1;
		int check_before = 0;
		if (get_int(p, mem, "limit", w, -1, INT64_MAX, &r->has_memory_limit, &r->memory_limit) < 0 ||
		    get_int(p, mem, "reservation", w, -1, INT64_MAX, &r->has_memory_reservation,
			    &r->memory_reservation) < 0 ||
		    get_int(p, mem, "swap", w, -1, INT64_MAX, &r->has_memory_swap, &r->memory_swap) < 0 ||
		    get_uint64(p, mem, "swappiness", w, &r->has_memory_swappiness, &r->memory_swappiness) < 0 ||
		    get_bool(p, mem, "disableOOMKiller", w, &r->disable_oom_killer) < 0 ||
		    get_bool(p, mem, "useHierarchy", w, &use_hierarchy) < 0 ||
		    get_bool(p, mem, "checkBeforeUpdate", w, &check_before) < 0 ||
		    unsupported(p, mem, "kernel", w, "kernel memory limits are gone from Linux") < 0 ||
		    unsupported(p, mem, "kernelTCP", w, "cgroup v2 accounts TCP memory with the rest") < 0) {
			return -EINVAL;
		}
		if (r->has_memory_limit && r->memory_limit == 0) {
			return fail(p, "linux.resources.memory.limit", "0 would leave no memory at all");
		}
	}
	json_object *cpu;
	if (want_object(p, o, "cpu", "linux.resources", &cpu) < 0) {
		return -EINVAL;
	}
	if (cpu != NULL) {
		static const char *const c_known[] = {"shares",		"quota", "burst", "period", "realtimeRuntime",
						      "realtimePeriod", "cpus",	 "mems",  "idle",   NULL};
		const char *w = "linux.resources.cpu";
		check_known(p, cpu, w, c_known);
		if (get_uint64(p, cpu, "shares", w, &r->has_cpu_shares, &r->cpu_shares) < 0 ||
		    get_int(p, cpu, "quota", w, -1, INT64_MAX, &r->has_cpu_quota, &r->cpu_quota) < 0 ||
		    get_uint64(p, cpu, "period", w, &r->has_cpu_period, &r->cpu_period) < 0 ||
		    get_uint64(p, cpu, "burst", w, &r->has_cpu_burst, &r->cpu_burst) < 0 ||
		    get_int(p, cpu, "idle", w, 0, 1, &r->has_cpu_idle, &r->cpu_idle) < 0 ||
		    get_string(p, cpu, "cpus", w, &r->cpuset_cpus) < 0 ||
		    get_string(p, cpu, "mems", w, &r->cpuset_mems) < 0 ||
		    unsupported(p, cpu, "realtimeRuntime", w, "the kernel has no RT group scheduling") < 0 ||
		    unsupported(p, cpu, "realtimePeriod", w, "the kernel has no RT group scheduling") < 0) {
			return -EINVAL;
		}
	}
	json_object *pids;
	if (want_object(p, o, "pids", "linux.resources", &pids) < 0) {
		return -EINVAL;
	}
	if (pids != NULL) {
		static const char *const p_known[] = {"limit", NULL};
		check_known(p, pids, "linux.resources.pids", p_known);
		if (get_int(p, pids, "limit", "linux.resources.pids", -1, INT64_MAX, &r->has_pids_limit,
			    &r->pids_limit) < 0) {
			return -EINVAL;
		}
	}
	return 0;
}

static int seccomp_action(struct parser *p, const char *field, const char *name, enum oci_seccomp_action *out)
{
	static const struct {
		const char *name;
		enum oci_seccomp_action action;
	} actions[] = {
		{"SCMP_ACT_KILL", OCI_SECCOMP_KILL},
		{"SCMP_ACT_KILL_PROCESS", OCI_SECCOMP_KILL_PROCESS},
		{"SCMP_ACT_KILL_THREAD", OCI_SECCOMP_KILL_THREAD},
		{"SCMP_ACT_TRAP", OCI_SECCOMP_TRAP},
		{"SCMP_ACT_ERRNO", OCI_SECCOMP_ERRNO},
		{"SCMP_ACT_TRACE", OCI_SECCOMP_TRACE},
		{"SCMP_ACT_ALLOW", OCI_SECCOMP_ALLOW},
		{"SCMP_ACT_LOG", OCI_SECCOMP_LOG},
		{"SCMP_ACT_NOTIFY", OCI_SECCOMP_NOTIFY},
	};
	if (name == NULL) {
		return fail(p, field, "required");
	}
	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
		if (strcmp(actions[i].name, name) == 0) {
			*out = actions[i].action;
			return 0;
		}
	}
	return fail(p, field, "unknown action '%.64s'", name);
}

static int parse_seccomp(struct parser *p, json_object *lx)
{
	static const char *const known[] = {"defaultAction", "defaultErrnoRet",	 "architectures", "flags",
					    "listenerPath",  "listenerMetadata", "syscalls",	  NULL};
	static const char *const rule_known[] = {"names",   "action",	"errnoRet", "args",
						 "comment", "includes", "excludes", NULL};
	static const char *const arg_known[] = {"index", "value", "valueTwo", "op", NULL};
	static const struct {
		const char *name;
		enum oci_seccomp_op op;
	} ops[] = {
		{"SCMP_CMP_NE", OCI_SECCOMP_OP_NE},
		{"SCMP_CMP_LT", OCI_SECCOMP_OP_LT},
		{"SCMP_CMP_LE", OCI_SECCOMP_OP_LE},
		{"SCMP_CMP_EQ", OCI_SECCOMP_OP_EQ},
		{"SCMP_CMP_GE", OCI_SECCOMP_OP_GE},
		{"SCMP_CMP_GT", OCI_SECCOMP_OP_GT},
		{"SCMP_CMP_MASKED_EQ", OCI_SECCOMP_OP_MASKED_EQ},
	};
	json_object *o;
	const char *w = "linux.seccomp";
	if (want_object(p, lx, "seccomp", "linux", &o) < 0) {
		return -EINVAL;
	}
	if (o == NULL) {
		return 0;
	}
	check_known(p, o, w, known);
	struct oci_seccomp *s = arena_alloc(p->a, sizeof(*s));
	if (s == NULL) {
		return oom(p);
	}
	char *def;
	int64_t v = 0;
	if (get_string(p, o, "defaultAction", w, &def) < 0 ||
	    seccomp_action(p, "linux.seccomp.defaultAction", def, &s->default_action) < 0 ||
	    get_int(p, o, "defaultErrnoRet", w, 0, 4095, &s->has_default_errno_ret, &v) < 0 ||
	    get_strings(p, o, "architectures", w, &s->architectures, &s->narchitectures) < 0 ||
	    get_strings(p, o, "flags", w, &s->flags, &s->nflags) < 0 ||
	    unsupported(p, o, "listenerPath", w, "seccomp user notification is not implemented") < 0) {
		return -EINVAL;
	}
	s->default_errno_ret = (uint32_t)v;
	json_object *arr;
	if (want_array(p, o, "syscalls", w, &arr) < 0) {
		return -EINVAL;
	}
	size_t len = arr ? json_object_array_length(arr) : 0;
	s->syscalls = arena_alloc(p->a, (len + 1) * sizeof(*s->syscalls));
	if (s->syscalls == NULL) {
		return oom(p);
	}
	for (size_t i = 0; i < len; i++) {
		json_object *r = json_object_array_get_idx(arr, i);
		char item[64];
		index_path(item, sizeof(item), "linux.seccomp.syscalls", i);
		if (want_type(p, r, json_type_object, item, "an object") < 0) {
			return -EINVAL;
		}
		check_known(p, r, item, rule_known);
		struct oci_seccomp_rule *rule = &s->syscalls[i];
		char *action;
		char field[96];
		if (get_strings(p, r, "names", item, &rule->names, &rule->nnames) < 0 ||
		    get_string(p, r, "action", item, &action) < 0) {
			return -EINVAL;
		}
		sub(field, sizeof(field), item, "action");
		if (seccomp_action(p, field, action, &rule->action) < 0 ||
		    get_int(p, r, "errnoRet", item, 0, 4095, &rule->has_errno_ret, &v) < 0) {
			return -EINVAL;
		}
		rule->errno_ret = (uint32_t)v;
		if (rule->nnames == 0) {
			sub(field, sizeof(field), item, "names");
			return fail(p, field, "at least one system call name is required");
		}
		json_object *args;
		if (want_array(p, r, "args", item, &args) < 0) {
			return -EINVAL;
		}
		size_t nargs = args ? json_object_array_length(args) : 0;
		rule->args = arena_alloc(p->a, (nargs + 1) * sizeof(*rule->args));
		if (rule->args == NULL) {
			return oom(p);
		}
		for (size_t j = 0; j < nargs; j++) {
			json_object *a = json_object_array_get_idx(args, j);
			char aitem[128];
			sub(field, sizeof(field), item, "args");
			index_path(aitem, sizeof(aitem), field, j);
			if (want_type(p, a, json_type_object, aitem, "an object") < 0) {
				return -EINVAL;
			}
			check_known(p, a, aitem, arg_known);
			struct oci_seccomp_arg *sa = &rule->args[j];
			int has_index = 0;
			int64_t index = 0;
			char *op;
			if (get_int(p, a, "index", aitem, 0, 5, &has_index, &index) < 0 ||
			    get_uint64(p, a, "value", aitem, NULL, &sa->value) < 0 ||
			    get_uint64(p, a, "valueTwo", aitem, NULL, &sa->value_two) < 0 ||
			    get_string(p, a, "op", aitem, &op) < 0) {
				return -EINVAL;
			}
			char afield[160];
			if (!has_index) {
				sub(afield, sizeof(afield), aitem, "index");
				return fail(p, afield, "required");
			}
			sa->index = (unsigned)index;
			sub(afield, sizeof(afield), aitem, "op");
			size_t k;
			for (k = 0; op != NULL && k < sizeof(ops) / sizeof(ops[0]); k++) {
				if (strcmp(ops[k].name, op) == 0) {
					break;
				}
			}
			if (op == NULL || k == sizeof(ops) / sizeof(ops[0])) {
				return fail(p, afield, "expected an SCMP_CMP_ operator, got '%.32s'",
					    op ? op : "nothing");
			}
			sa->op = ops[k].op;
		}
		rule->nargs = nargs;
	}
	s->nsyscalls = len;
	p->cfg->linux_.seccomp = s;
	return 0;
}

static int parse_linux(struct parser *p, json_object *root)
{
	static const char *const known[] = {
		"namespaces", "uidMappings", "gidMappings",	  "devices",	  "cgroupsPath",   "resources",
		"sysctl",     "seccomp",     "rootfsPropagation", "maskedPaths",  "readonlyPaths", "mountLabel",
		"intelRdt",   "personality", "timeOffsets",	  "memoryPolicy", "netDevices",	   NULL,
	};
	json_object *lx;
	if (want_object(p, root, "linux", "", &lx) < 0) {
		return -EINVAL;
	}
	if (lx == NULL) {
		return 0;
	}
	struct oci_linux *l = &p->cfg->linux_;
	check_known(p, lx, "linux", known);
	char *prop;
	if (parse_namespaces(p, lx) < 0 ||
	    parse_id_maps(p, lx, "uidMappings", "linux", &l->uid_maps, &l->nuid_maps) < 0 ||
	    parse_id_maps(p, lx, "gidMappings", "linux", &l->gid_maps, &l->ngid_maps) < 0 || parse_devices(p, lx) < 0 ||
	    get_string(p, lx, "cgroupsPath", "linux", &l->cgroups_path) < 0 || parse_resources(p, lx) < 0 ||
	    parse_kv_object(p, lx, "sysctl", "linux", &l->sysctl, &l->nsysctl) < 0 || parse_seccomp(p, lx) < 0 ||
	    get_string(p, lx, "rootfsPropagation", "linux", &prop) < 0 ||
	    get_strings(p, lx, "maskedPaths", "linux", &l->masked_paths, &l->nmasked_paths) < 0 ||
	    get_strings(p, lx, "readonlyPaths", "linux", &l->readonly_paths, &l->nreadonly_paths) < 0 ||
	    unsupported(p, lx, "mountLabel", "linux", "the kernel has no SELinux") < 0 ||
	    unsupported(p, lx, "intelRdt", "linux", "the kernel has no resctrl") < 0 ||
	    unsupported(p, lx, "memoryPolicy", "linux", "NUMA memory policies are not implemented") < 0 ||
	    unsupported(p, lx, "netDevices", "linux", "moving network devices is not implemented") < 0) {
		return -EINVAL;
	}
	if (prop != NULL && prop[0] != '\0') {
		static const struct {
			const char *name;
			unsigned long flag;
		} props[] = {
			{"private", MS_PRIVATE},       {"rprivate", MS_PRIVATE | MS_REC},
			{"slave", MS_SLAVE},	       {"rslave", MS_SLAVE | MS_REC},
			{"shared", MS_SHARED},	       {"rshared", MS_SHARED | MS_REC},
			{"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
		};
		size_t k;
		for (k = 0; k < sizeof(props) / sizeof(props[0]); k++) {
			if (strcmp(props[k].name, prop) == 0) {
				break;
			}
		}
		if (k == sizeof(props) / sizeof(props[0])) {
			return fail(p, "linux.rootfsPropagation", "unknown propagation '%.32s'", prop);
		}
		l->rootfs_propagation = props[k].flag;
	}
	for (size_t i = 0; i < l->nmasked_paths; i++) {
		if (l->masked_paths[i][0] != '/') {
			char item[64];
			index_path(item, sizeof(item), "linux.maskedPaths", i);
			return fail(p, item, "must be an absolute path");
		}
	}
	for (size_t i = 0; i < l->nreadonly_paths; i++) {
		if (l->readonly_paths[i][0] != '/') {
			char item[64];
			index_path(item, sizeof(item), "linux.readonlyPaths", i);
			return fail(p, item, "must be an absolute path");
		}
	}
	json_object *pers;
	if (want_object(p, lx, "personality", "linux", &pers) < 0) {
		return -EINVAL;
	}
	if (pers != NULL) {
		static const char *const pk[] = {"domain", "flags", NULL};
		check_known(p, pers, "linux.personality", pk);
		char *domain;
		char **flags;
		size_t nflags;
		if (get_string(p, pers, "domain", "linux.personality", &domain) < 0 ||
		    get_strings(p, pers, "flags", "linux.personality", &flags, &nflags) < 0) {
			return -EINVAL;
		}
		if (domain == NULL || (strcmp(domain, "LINUX") != 0 && strcmp(domain, "LINUX32") != 0)) {
			return fail(p, "linux.personality.domain", "expected LINUX or LINUX32");
		}
		if (nflags > 0) {
			return fail(p, "linux.personality.flags", "not supported by berth-oci");
		}
		l->has_personality = 1;
		l->personality = strcmp(domain, "LINUX") == 0 ? PER_LINUX : PER_LINUX32;
	}
	json_object *to;
	if (want_object(p, lx, "timeOffsets", "linux", &to) < 0) {
		return -EINVAL;
	}
	if (to != NULL) {
		static const char *const tk[] = {"monotonic", "boottime", NULL};
		static const char *const ok[] = {"secs", "nanosecs", NULL};
		check_known(p, to, "linux.timeOffsets", tk);
		const char *clocks[] = {"monotonic", "boottime"};
		int64_t *secs[] = {&l->monotonic_secs, &l->boottime_secs};
		uint32_t *nsecs[] = {&l->monotonic_nanosecs, &l->boottime_nanosecs};
		for (int c = 0; c < 2; c++) {
			json_object *co;
			char where[64];
			sub(where, sizeof(where), "linux.timeOffsets", clocks[c]);
			if (want_object(p, to, clocks[c], "linux.timeOffsets", &co) < 0) {
				return -EINVAL;
			}
			if (co == NULL) {
				continue;
			}
			check_known(p, co, where, ok);
			if (get_int(p, co, "secs", where, INT64_MIN, INT64_MAX, NULL, secs[c]) < 0 ||
			    get_u32(p, co, "nanosecs", where, NULL, nsecs[c]) < 0) {
				return -EINVAL;
			}
			if (*nsecs[c] >= 1000000000u) {
				return fail(p, where, "nanosecs must be below one second");
			}
		}
		l->has_time_offsets = 1;
	}
	return 0;
}

/* ---- top level -------------------------------------------------------------------------- */

static int line_of(const char *json, size_t offset)
{
	int line = 1;
	for (size_t i = 0; i < offset && json[i]; i++) {
		if (json[i] == '\n') {
			line++;
		}
	}
	return line;
}

static json_object *parse_json(const char *name, const char *json, size_t len, struct berr *err)
{
	if (len > CONFIG_MAX_BYTES) {
		berr_setx(err, EFBIG, "%s: larger than %u bytes", name, CONFIG_MAX_BYTES);
		return NULL;
	}
	struct json_tokener *tok = json_tokener_new_ex(64);
	if (tok == NULL) {
		berr_set(err, ENOMEM, "%s", name);
		return NULL;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	json_object *root = json_tokener_parse_ex(tok, json, (int)len);
	enum json_tokener_error jerr = json_tokener_get_error(tok);
	if (root == NULL || jerr != json_tokener_success) {
		if (jerr == json_tokener_continue) {
			berr_setx(err, EINVAL, "%s: the JSON ends too early", name);
		} else {
			size_t off = json_tokener_get_parse_end(tok);
			berr_setx(err, EINVAL, "%s:%d: invalid JSON: %s", name, line_of(json, off),
				  json_tokener_error_desc(jerr));
		}
		json_object_put(root);
		json_tokener_free(tok);
		return NULL;
	}
	size_t end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	for (size_t i = end; i < len; i++) {
		if (json[i] != ' ' && json[i] != '\n' && json[i] != '\t' && json[i] != '\r') {
			berr_setx(err, EINVAL, "%s:%d: unexpected text after the JSON value", name, line_of(json, i));
			json_object_put(root);
			return NULL;
		}
	}
	return root;
}

int oci_config_parse(struct oci_config *cfg, const char *name, const char *json, size_t len, struct berr *err)
{
	static const char *const known[] = {
		"ociVersion",  "root",	"process", "hostname", "domainname", "mounts", "hooks",
		"annotations", "linux", "solaris", "windows",  "vm",	     "zos",    NULL,
	};
	memset(cfg, 0, sizeof(*cfg));
	oci_trace("config: read");
	json_object *root = parse_json(name, json, len, err);
	oci_trace("config: parsed");
	if (root == NULL) {
		return -EINVAL;
	}
	struct parser p = {.cfg = cfg, .a = &cfg->arena, .name = name, .err = err};
	int ret = -EINVAL;
	if (json_object_get_type(root) != json_type_object) {
		berr_setx(err, EINVAL, "%s: expected a JSON object", name);
		goto out;
	}
	check_known(&p, root, "", known);
	if (get_string(&p, root, "ociVersion", "", &cfg->oci_version) < 0) {
		goto out;
	}
	if (cfg->oci_version == NULL) {
		fail(&p, "ociVersion", "required");
		goto out;
	}
	if (strncmp(cfg->oci_version, "1.", 2) != 0) {
		fail(&p, "ociVersion", "version %.32s is not supported (1.x is)", cfg->oci_version);
		goto out;
	}
	if (unsupported(&p, root, "solaris", "", "not Linux") < 0 ||
	    unsupported(&p, root, "windows", "", "not Linux") < 0 ||
	    unsupported(&p, root, "vm", "", "virtual-machine containers are not implemented") < 0 ||
	    unsupported(&p, root, "zos", "", "not Linux") < 0) {
		goto out;
	}
	if (parse_root(&p, root) < 0 || parse_mounts(&p, root) < 0 || parse_hooks(&p, root) < 0 ||
	    parse_kv_object(&p, root, "annotations", "", &cfg->annotations, &cfg->nannotations) < 0 ||
	    get_string(&p, root, "hostname", "", &cfg->hostname) < 0 ||
	    get_string(&p, root, "domainname", "", &cfg->domainname) < 0 || parse_linux(&p, root) < 0) {
		goto out;
	}
	json_object *proc;
	if (want_object(&p, root, "process", "", &proc) < 0) {
		goto out;
	}
	if (proc != NULL) {
		if (parse_process_obj(&p, proc, &cfg->process, 1) < 0) {
			goto out;
		}
		cfg->has_process = 1;
	}
	ret = 0;
out:
	json_object_put(root);
	if (ret < 0) {
		arena_free(&cfg->arena);
	}
	return ret;
}

int oci_config_load(struct oci_config *cfg, const char *bundle, struct berr *err)
{
	char path[PATH_MAX];
	if (path_join(path, sizeof(path), bundle, "config.json") < 0) {
		return berr_setx(err, ENAMETOOLONG, "bundle path too long: %s", bundle);
	}
	auto_free char *json = NULL;
	size_t len;
	int ret = read_file_alloc(AT_FDCWD, path, 0, CONFIG_MAX_BYTES, NULL, &json, &len, err);
	if (ret < 0) {
		return ret;
	}
	return oci_config_parse(cfg, path, json, len, err);
}

int oci_process_parse_file(struct oci_config *cfg, struct oci_process *pr, const char *path, struct berr *err)
{
	auto_free char *json = NULL;
	size_t len;
	int ret = read_file_alloc(AT_FDCWD, path, 0, CONFIG_MAX_BYTES, NULL, &json, &len, err);
	if (ret < 0) {
		return ret;
	}
	json_object *root = parse_json(path, json, len, err);
	if (root == NULL) {
		return -EINVAL;
	}
	struct parser p = {.cfg = cfg, .a = &cfg->arena, .name = path, .err = err};
	memset(pr, 0, sizeof(*pr));
	ret = want_type(&p, root, json_type_object, "process", "an object");
	if (ret == 0) {
		ret = parse_process_obj(&p, root, pr, 1);
	}
	json_object_put(root);
	return ret;
}

void oci_config_free(struct oci_config *cfg)
{
	arena_free(&cfg->arena);
}

const struct oci_namespace *oci_config_namespace(const struct oci_config *cfg, enum oci_ns_type type)
{
	for (size_t i = 0; i < cfg->linux_.nnamespaces; i++) {
		if (cfg->linux_.namespaces[i].type == type) {
			return &cfg->linux_.namespaces[i];
		}
	}
	return NULL;
}
