/* config.json (see config.h): json-c parses, this file checks every field
 * and copies it into the arena-backed structures, driven by one table of
 * fields per JSON object (see "field tables"). The JSON tree is freed before
 * returning; nothing here outlives the parse but the structures. Owns the
 * spec's names too: capabilities, rlimits, hook kinds, seccomp actions. */
#include "oci/config.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/ioprio.h>
#include <sched.h>
#include <stdarg.h>
#include <stddef.h>
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

/* The position of name in names (NULL entries match nothing), or -1. */
static int name_index(const char *const *names, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++) {
		if (names[i] != NULL && strcmp(names[i], name) == 0) {
			return (int)i;
		}
	}
	return -1;
}

#define NAME_INDEX(names, name) name_index(names, sizeof(names) / sizeof(names[0]), name)

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
	return NAME_INDEX(cap_names, name);
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

const char *oci_rlimit_name(int resource)
{
	for (size_t i = 0; i < sizeof(rlimit_names) / sizeof(rlimit_names[0]); i++) {
		if (rlimit_names[i].resource == resource) {
			return rlimit_names[i].name;
		}
	}
	return NULL;
}

/* ---- parser plumbing ------------------------------------------------------------ */

/* Room for a field's path in messages ("linux.resources.memory.limit");
 * keys of annotations and sysctl are the user's and are cut to fit. */
#define FIELD_MAX 300

struct parser {
	struct oci_config *cfg;
	struct arena *a;
	const char *name;
	struct berr *err;
};

__attribute__((format(printf, 3, 0))) static int vfail(struct parser *p, const char *field, const char *fmt, va_list ap)
{
	char msg[600];
	if (vsnprintf(msg, sizeof(msg), fmt, ap) < 0) {
		msg[0] = '\0';
	}
	return berr_setx(p->err, EINVAL, "%s: %s: %s", p->name, field, msg);
}

__attribute__((format(printf, 3, 4))) static int fail(struct parser *p, const char *field, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int ret = vfail(p, field, fmt, ap);
	va_end(ap);
	return ret;
}

static int oom(struct parser *p)
{
	return berr_set(p->err, ENOMEM, "%s", p->name);
}

/* A warning kept for the caller to print: "NAME: " and the message, cut to
 * fit (a warning is worth less than the space it takes). */
__attribute__((format(printf, 2, 3))) static void warn(struct parser *p, const char *fmt, ...)
{
	struct oci_config *c = p->cfg;
	if (c->nwarnings >= OCI_MAX_WARNINGS) {
		return;
	}
	char msg[200];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n >= 0 && snprintf(c->warnings[c->nwarnings], sizeof(c->warnings[0]), "%s: %s", p->name, msg) >= 0) {
		c->nwarnings++;
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

/* fail, naming the field key of the object at where. */
__attribute__((format(printf, 4, 5))) static int fail_in(struct parser *p, const char *where, const char *key,
							 const char *fmt, ...)
{
	char field[FIELD_MAX];
	sub(field, sizeof(field), where, key);
	va_list ap;
	va_start(ap, fmt);
	int ret = vfail(p, field, fmt, ap);
	va_end(ap);
	return ret;
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

/* A member's value; NULL when absent or null (null means absent). */
static json_object *member(json_object *obj, const char *key)
{
	json_object *v = NULL;
	if (!json_object_object_get_ex(obj, key, &v) || v == NULL) {
		return NULL;
	}
	return v;
}

/* A string member that its table checked and left in the JSON (RAW_STRING), or NULL. */
static const char *raw_string(json_object *obj, const char *key)
{
	json_object *v = member(obj, key);
	return v != NULL ? json_object_get_string(v) : NULL;
}

static int want_type(struct parser *p, json_object *o, json_type t, const char *field, const char *what)
{
	if (json_object_get_type(o) != t) {
		return fail(p, field, "expected %s, got %s", what, type_name(o));
	}
	return 0;
}

/* ---- values ------------------------------------------------------------------------ */

/* A string; with out NULL, only checked. */
static int read_string(struct parser *p, json_object *v, const char *field, char **out)
{
	if (want_type(p, v, json_type_string, field, "a string") < 0) {
		return -EINVAL;
	}
	if (out == NULL) {
		return 0;
	}
	*out = arena_strndup(p->a, json_object_get_string(v), (size_t)json_object_get_string_len(v));
	return *out ? 0 : oom(p);
}

/* An integer within [min, max]. */
static int read_int(struct parser *p, json_object *v, const char *field, int64_t min, int64_t max, int64_t *out)
{
	if (want_type(p, v, json_type_int, field, "an integer") < 0) {
		return -EINVAL;
	}
	errno = 0;
	int64_t x = json_object_get_int64(v);
	if (errno != 0 || x < min || x > max) {
		return fail(p, field, "%s is out of range (%lld to %lld)", json_object_to_json_string(v),
			    (long long)min, (long long)max);
	}
	*out = x;
	return 0;
}

/* An unsigned 64-bit integer (may exceed INT64_MAX). */
static int read_uint64(struct parser *p, json_object *v, const char *field, uint64_t *out)
{
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
	*out = x;
	return 0;
}

/* An array of strings, NULL-terminated (args go to execve as they are);
 * with out NULL, only checked. */
static int read_strings(struct parser *p, json_object *v, const char *field, char ***out, size_t *n)
{
	if (want_type(p, v, json_type_array, field, "an array of strings") < 0) {
		return -EINVAL;
	}
	size_t len = json_object_array_length(v);
	char **arr = NULL;
	if (out != NULL) {
		arr = arena_alloc(p->a, (len + 1) * sizeof(*arr));
		if (arr == NULL) {
			return oom(p);
		}
	}
	for (size_t i = 0; i < len; i++) {
		char item[FIELD_MAX];
		index_path(item, sizeof(item), field, i);
		if (read_string(p, json_object_array_get_idx(v, i), item, arr ? &arr[i] : NULL) < 0) {
			return -EINVAL;
		}
	}
	if (out != NULL) {
		*out = arr;
		*n = len;
	}
	return 0;
}

/* An object of strings (annotations, sysctl, unified). */
static int read_kv(struct parser *p, json_object *v, const char *field, struct oci_kv **out, size_t *n)
{
	if (want_type(p, v, json_type_object, field, "an object") < 0) {
		return -EINVAL;
	}
	size_t len = (size_t)json_object_object_length(v);
	struct oci_kv *kv = arena_alloc(p->a, (len + 1) * sizeof(*kv));
	if (kv == NULL) {
		return oom(p);
	}
	size_t i = 0;
	json_object_object_foreach(v, key, val)
	{
		char item[FIELD_MAX];
		sub(item, sizeof(item), field, key);
		if (read_string(p, val, item, &kv[i].value) < 0) {
			return -EINVAL;
		}
		kv[i].key = arena_strdup(p->a, key);
		if (kv[i].key == NULL) {
			return oom(p);
		}
		i++;
	}
	*out = kv;
	*n = i;
	return 0;
}

/* Empty values of fields Berth does not implement ask for nothing. */
static int is_empty(json_object *v)
{
	json_type t = json_object_get_type(v);
	return t == json_type_null || (t == json_type_string && json_object_get_string_len(v) == 0) ||
	       (t == json_type_array && json_object_array_length(v) == 0) ||
	       (t == json_type_object && json_object_object_length(v) == 0);
}

/* Calls each for every element of the array arr at field, which must be objects. */
typedef int item_fn(struct parser *p, json_object *item, const char *name, size_t i, void *ctx);

static int each_object(struct parser *p, json_object *arr, const char *field, item_fn *each, void *ctx)
{
	size_t len = json_object_array_length(arr);
	for (size_t i = 0; i < len; i++) {
		json_object *o = json_object_array_get_idx(arr, i);
		char item[FIELD_MAX];
		index_path(item, sizeof(item), field, i);
		if (want_type(p, o, json_type_object, item, "an object") < 0) {
			return -EINVAL;
		}
		int ret = each(p, o, item, i, ctx);
		if (ret < 0) {
			return ret;
		}
	}
	return 0;
}

/* ---- field tables -------------------------------------------------------------------- */

/* Each JSON object of a config has a table of its fields: key, JSON type,
 * where the value goes in the C structure the table describes (T, while the
 * table is written), whether it is required. An object is read in table
 * order, so the first error reported is the first in the table; CHECK lines
 * check what the lines above them read, where a rule spans fields. Keys that
 * no line names are warnings. */

enum kind {
	K_END,
	K_STRING,      /* char *; RAW: checked, left in the JSON for a CHECK */
	K_BOOL,	       /* int; RAW: checked and ignored */
	K_INT,	       /* an integer of .size bytes, within [.min, .max] */
	K_UINT64,      /* uint64_t */
	K_STRINGS,     /* char ** and a size_t count; RAW: checked */
	K_KV,	       /* an object of strings: struct oci_kv * and a size_t count */
	K_OBJECT,      /* a structure at the member, read with .fields */
	K_ARRAY,       /* objects, each a .size-byte structure read with .fields, into an
			* arena array and a size_t count; .max of them if not 0 */
	K_CUSTOM,      /* .parse reads the value */
	K_UNSUPPORTED, /* in the spec, not in Berth: an error unless empty (.why) */
	K_IGNORED,     /* in the spec, without effect here */
	K_CHECK,       /* not a key: .check runs */
};

/* What a CHECK sees: the object, its path in messages, the structure its
 * table read it into, and its place in its array (0 outside arrays). */
struct obj {
	json_object *json;
	const char *where;
	void *out;
	size_t index;
};

/* dst: the member the line names (the structure itself when none). */
typedef int parse_fn(struct parser *p, json_object *v, const char *field, void *dst);
typedef int check_fn(struct parser *p, const struct obj *o);

struct field {
	const char *key;
	enum kind kind;
	int required; /* absent (or null): "KEY: required" */
	int discard;  /* RAW lines */
	size_t offset;
	size_t count; /* of the size_t count (STRINGS, KV, ARRAY) */
	size_t has;   /* 1 + offset of an int set to 1 when the key is there; 0: none */
	size_t size;  /* of the integer (INT), of an element (ARRAY) */
	int64_t min;
	int64_t max;
	const char *noun; /* ARRAY with .max: what its elements are, in the message */
	const struct field *fields;
	parse_fn *parse;
	check_fn *check;
	const char *why;
};

#define MEMBER(m) .offset = offsetof(T, m)
#define HAS(m) .has = offsetof(T, m) + 1
#define REQUIRED .required = 1
#define STRING(k, m) .key = (k), .kind = K_STRING, MEMBER(m)
#define BOOL(k, m) .key = (k), .kind = K_BOOL, MEMBER(m)
#define INT(k, m, lo, hi) .key = (k), .kind = K_INT, MEMBER(m), .size = sizeof(((T *)0)->m), .min = (lo), .max = (hi)
#define U32(k, m) INT(k, m, 0, UINT32_MAX)
#define UINT64(k, m) .key = (k), .kind = K_UINT64, MEMBER(m)
#define STRINGS(k, m, n) .key = (k), .kind = K_STRINGS, MEMBER(m), .count = offsetof(T, n)
#define KV(k, m, n) .key = (k), .kind = K_KV, MEMBER(m), .count = offsetof(T, n)
#define OBJECT(k, m, fl) .key = (k), .kind = K_OBJECT, MEMBER(m), .fields = (fl)
#define SECTION(k, fl) .key = (k), .kind = K_OBJECT, .fields = (fl) /* its fields are T's own */
#define ARRAY(k, m, n, fl) \
	.key = (k), .kind = K_ARRAY, MEMBER(m), .count = offsetof(T, n), .size = sizeof(*((T *)0)->m), .fields = (fl)
#define CUSTOM(k, fn) .key = (k), .kind = K_CUSTOM, .parse = (fn)
#define RAW_STRING(k) .key = (k), .kind = K_STRING, .discard = 1
#define RAW_BOOL(k) .key = (k), .kind = K_BOOL, .discard = 1
#define RAW_STRINGS(k) .key = (k), .kind = K_STRINGS, .discard = 1
#define UNSUPPORTED(k, w) .key = (k), .kind = K_UNSUPPORTED, .why = (w)
#define IGNORED(k) .key = (k), .kind = K_IGNORED
#define CHECK(fn) .kind = K_CHECK, .check = (fn)
#define END .kind = K_END

static int parse_object(struct parser *p, json_object *o, const char *where, const struct field *fields, void *out,
			size_t index);

struct array_ctx {
	const struct field *fields;
	char *items;
	size_t size;
};

static int read_item(struct parser *p, json_object *item, const char *name, size_t i, void *ctx)
{
	struct array_ctx *a = ctx;
	return parse_object(p, item, name, a->fields, a->items + i * a->size, i);
}

static int read_array(struct parser *p, json_object *v, const char *field, const struct field *f, char *base)
{
	if (want_type(p, v, json_type_array, field, "an array") < 0) {
		return -EINVAL;
	}
	size_t len = json_object_array_length(v);
	if (f->max != 0 && len > (size_t)f->max) {
		return fail(p, field, "at most %lld %s", (long long)f->max, f->noun);
	}
	struct array_ctx a = {.fields = f->fields, .items = arena_alloc(p->a, (len + 1) * f->size), .size = f->size};
	if (a.items == NULL) {
		return oom(p);
	}
	int ret = each_object(p, v, field, read_item, &a);
	if (ret < 0) {
		return ret;
	}
	memcpy(base + f->offset, &a.items, sizeof(a.items));
	*(size_t *)(base + f->count) = len;
	return 0;
}

/* The integer types of the structures: int64_t, int, uint32_t, unsigned, uint16_t. */
static void store_int(void *dst, size_t size, int64_t x)
{
	if (size == sizeof(uint16_t)) {
		uint16_t v = (uint16_t)x;
		memcpy(dst, &v, sizeof(v));
	} else if (size == sizeof(uint32_t)) {
		uint32_t v = (uint32_t)x;
		memcpy(dst, &v, sizeof(v));
	} else {
		memcpy(dst, &x, sizeof(x));
	}
}

static int read_value(struct parser *p, json_object *v, const char *field, const struct field *f, char *base)
{
	char *dst = f->discard ? NULL : base + f->offset;
	int ret = 0;
	int64_t x = 0;
	switch (f->kind) {
	case K_STRING:
		return read_string(p, v, field, (char **)dst);
	case K_BOOL:
		ret = want_type(p, v, json_type_boolean, field, "true or false");
		if (ret == 0 && dst != NULL) {
			*(int *)dst = json_object_get_boolean(v);
		}
		return ret;
	case K_INT:
		ret = read_int(p, v, field, f->min, f->max, &x);
		if (ret == 0) {
			store_int(dst, f->size, x);
		}
		return ret;
	case K_UINT64:
		return read_uint64(p, v, field, (uint64_t *)dst);
	case K_STRINGS:
		return read_strings(p, v, field, (char ***)dst, dst ? (size_t *)(base + f->count) : NULL);
	case K_KV:
		return read_kv(p, v, field, (struct oci_kv **)dst, (size_t *)(base + f->count));
	case K_OBJECT:
		ret = want_type(p, v, json_type_object, field, "an object");
		return ret < 0 ? ret : parse_object(p, v, field, f->fields, dst, 0);
	case K_ARRAY:
		return read_array(p, v, field, f, base);
	case K_CUSTOM:
		return f->parse(p, v, field, dst);
	case K_UNSUPPORTED:
		return is_empty(v) ? 0 : fail(p, field, "not supported by berth-oci (%s)", f->why);
	case K_IGNORED:
	case K_CHECK:
	case K_END:
		break;
	}
	return 0;
}

/* Warns about keys the spec does not define (the spec says to ignore them). */
static void warn_unknown(struct parser *p, json_object *o, const char *where, const struct field *fields)
{
	json_object_object_foreach(o, key, val)
	{
		(void)val;
		const struct field *f = fields;
		while (f->kind != K_END && (f->key == NULL || strcmp(f->key, key) != 0)) {
			f++;
		}
		if (f->kind == K_END) {
			char field[FIELD_MAX];
			sub(field, sizeof(field), where, key);
			warn(p, "ignoring unknown field %s", field);
		}
	}
}

static int read_field(struct parser *p, json_object *o, const char *where, const struct field *f, char *out)
{
	json_object *v = member(o, f->key);
	if (v == NULL) {
		return f->required ? fail_in(p, where, f->key, "required") : 0;
	}
	char field[FIELD_MAX];
	sub(field, sizeof(field), where, f->key);
	int ret = read_value(p, v, field, f, out);
	if (ret == 0 && f->has != 0) {
		*(int *)(out + f->has - 1) = 1;
	}
	return ret;
}

/* Reads the object o at where into out, line by line of its table. */
static int parse_object(struct parser *p, json_object *o, const char *where, const struct field *fields, void *out,
			size_t index)
{
	warn_unknown(p, o, where, fields);
	for (const struct field *f = fields; f->kind != K_END; f++) {
		int ret = 0;
		if (f->kind == K_CHECK) {
			struct obj self = {.json = o, .where = where, .out = out, .index = index};
			ret = f->check(p, &self);
		} else {
			ret = read_field(p, o, where, f, out);
		}
		if (ret < 0) {
			return ret;
		}
	}
	return 0;
}

/* ---- process -------------------------------------------------------------------------- */

static int check_user(struct parser *p, const struct obj *o)
{
	const struct oci_user *u = o->out;
	if (member(o->json, "uid") == NULL || member(o->json, "gid") == NULL) {
		return fail(p, o->where, "uid and gid are required");
	}
	if (u->has_umask && u->umask > 0777) {
		return fail_in(p, o->where, "umask", "%o is not a file mode mask", u->umask);
	}
	return 0;
}

static int read_gids(struct parser *p, json_object *v, const char *field, void *dst)
{
	struct oci_user *u = dst;
	if (want_type(p, v, json_type_array, field, "an array") < 0) {
		return -EINVAL;
	}
	size_t len = json_object_array_length(v);
	if (len > NGROUPS_MAX) {
		return fail(p, field, "at most %d groups", NGROUPS_MAX);
	}
	u->additional_gids = arena_alloc(p->a, (len + 1) * sizeof(gid_t));
	if (u->additional_gids == NULL) {
		return oom(p);
	}
	for (size_t i = 0; i < len; i++) {
		json_object *g = json_object_array_get_idx(v, i);
		char item[FIELD_MAX];
		index_path(item, sizeof(item), field, i);
		if (want_type(p, g, json_type_int, item, "an integer") < 0) {
			return -EINVAL;
		}
		int64_t gid = json_object_get_int64(g);
		if (gid < 0 || gid > UINT32_MAX) {
			return fail(p, item, "%lld is not a group id", (long long)gid);
		}
		u->additional_gids[i] = (gid_t)gid;
	}
	u->nadditional_gids = len;
	return 0;
}

#define T struct oci_user
static const struct field user_fields[] = {
	{U32("uid", uid)},
	{U32("gid", gid)},
	{U32("umask", umask), HAS(has_umask)},
	{UNSUPPORTED("username", "Windows only")},
	{CHECK(check_user)},
	{CUSTOM("additionalGids", read_gids)},
	{END},
};
#undef T

/* One set of capabilities, into a bit mask. */
static int read_cap_set(struct parser *p, json_object *v, const char *field, void *dst)
{
	uint64_t *mask = dst;
	if (read_strings(p, v, field, NULL, NULL) < 0) {
		return -EINVAL;
	}
	for (size_t i = 0; i < json_object_array_length(v); i++) {
		const char *name = json_object_get_string(json_object_array_get_idx(v, i));
		int cap = oci_cap_from_name(name);
		if (cap < 0) {
			/* The spec: a capability that cannot be mapped to the kernel
			 * MUST be logged as a warning, and runtimes SHOULD NOT fail
			 * for it (a newer one than this kernel or berth-oci knows). */
			char item[FIELD_MAX];
			index_path(item, sizeof(item), field, i);
			warn(p, "%s: ignoring unknown capability '%.64s'", item, name);
			continue;
		}
		*mask |= 1ull << cap;
	}
	return 0;
}

#define T struct oci_caps
static const struct field caps_fields[] = {
	{CUSTOM("bounding", read_cap_set), MEMBER(bounding)},
	{CUSTOM("effective", read_cap_set), MEMBER(effective)},
	{CUSTOM("inheritable", read_cap_set), MEMBER(inheritable)},
	{CUSTOM("permitted", read_cap_set), MEMBER(permitted)},
	{CUSTOM("ambient", read_cap_set), MEMBER(ambient)},
	{END},
};
#undef T

static int check_rlimit(struct parser *p, const struct obj *o)
{
	struct oci_rlimit *rl = o->out;
	const char *type = raw_string(o->json, "type");
	if (type == NULL) {
		return fail_in(p, o->where, "type", "required");
	}
	rl->resource = oci_rlimit_from_name(type);
	if (rl->resource < 0) {
		return fail_in(p, o->where, "type", "unknown resource '%.64s'", type);
	}
	/* The array so far: rl is its o->index-th element. */
	for (const struct oci_rlimit *prev = rl - o->index; prev < rl; prev++) {
		if (prev->resource == rl->resource) {
			return fail_in(p, o->where, "type", "%s is set twice", type);
		}
	}
	if (member(o->json, "soft") == NULL || member(o->json, "hard") == NULL) {
		return fail(p, o->where, "soft and hard are both required");
	}
	if (rl->soft > rl->hard) {
		return fail(p, o->where, "soft limit %llu is above the hard limit %llu", (unsigned long long)rl->soft,
			    (unsigned long long)rl->hard);
	}
	return 0;
}

#define T struct oci_rlimit
static const struct field rlimit_fields[] = {
	{RAW_STRING("type")}, {UINT64("soft", soft)}, {UINT64("hard", hard)}, {CHECK(check_rlimit)}, {END},
};
#undef T

static int check_process(struct parser *p, const struct obj *o)
{
	const struct oci_process *pr = o->out;
	if (pr->nargs == 0) {
		return fail_in(p, o->where, "args", "required, with at least the program to run");
	}
	for (size_t i = 0; i < pr->nenv; i++) {
		if (strchr(pr->env[i], '=') == NULL) {
			char field[FIELD_MAX];
			char item[FIELD_MAX];
			sub(field, sizeof(field), o->where, "env");
			index_path(item, sizeof(item), field, i);
			return fail(p, item, "'%.64s' is not NAME=VALUE", pr->env[i]);
		}
	}
	if (pr->cwd == NULL || pr->cwd[0] != '/') {
		return fail_in(p, o->where, "cwd", "required, and must be an absolute path");
	}
	return 0;
}

static int check_console_size(struct parser *p, const struct obj *o)
{
	const struct oci_process *pr = o->out;
	if (pr->console_height > 65535 || pr->console_width > 65535) {
		return fail(p, o->where, "height and width must be below 65536");
	}
	return 0;
}

static const char *const io_classes[] = {
	[IOPRIO_CLASS_RT] = "IOPRIO_CLASS_RT",
	[IOPRIO_CLASS_BE] = "IOPRIO_CLASS_BE",
	[IOPRIO_CLASS_IDLE] = "IOPRIO_CLASS_IDLE",
};

static int check_io_priority(struct parser *p, const struct obj *o)
{
	struct oci_process *pr = o->out;
	const char *cls = raw_string(o->json, "class");
	if (cls == NULL) {
		return fail_in(p, o->where, "class", "required");
	}
	pr->io_priority_class = NAME_INDEX(io_classes, cls);
	if (pr->io_priority_class < 0) {
		return fail_in(p, o->where, "class", "unknown class '%.64s'", cls);
	}
	return 0;
}

#define T struct oci_process
static const struct field console_size_fields[] = {
	{U32("height", console_height)},
	{U32("width", console_width)},
	{CHECK(check_console_size)},
	{END},
};

static const struct field io_priority_fields[] = {
	{RAW_STRING("class")},
	{INT("priority", io_priority, 0, 7)},
	{CHECK(check_io_priority)},
	{END},
};

static const struct field process_fields[] = {
	{BOOL("terminal", terminal)},
	{STRINGS("args", args, nargs)},
	{STRINGS("env", env, nenv)},
	{STRING("cwd", cwd)},
	{BOOL("noNewPrivileges", no_new_privileges)},
	{OBJECT("user", user, user_fields), REQUIRED},
	{OBJECT("capabilities", caps, caps_fields), HAS(has_caps)},
	{ARRAY("rlimits", rlimits, nrlimits, rlimit_fields)},
	{UNSUPPORTED("commandLine", "Windows only")},
	{UNSUPPORTED("apparmorProfile", "the kernel has no AppArmor")},
	{UNSUPPORTED("selinuxLabel", "the kernel has no SELinux")},
	{UNSUPPORTED("scheduler", "scheduling policies are not implemented")},
	{UNSUPPORTED("execCPUAffinity", "use linux.resources.cpu.cpus")},
	{INT("oomScoreAdj", oom_score_adj, -1000, 1000), HAS(has_oom_score_adj)},
	{CHECK(check_process)},
	{SECTION("consoleSize", console_size_fields), HAS(has_console_size)},
	{SECTION("ioPriority", io_priority_fields), HAS(has_io_priority)},
	{END},
};
#undef T

/* ---- root, mounts, hooks ------------------------------------------------------------- */

static int check_root(struct parser *p, const struct obj *o)
{
	const struct oci_config *cfg = o->out;
	if (cfg->root_path == NULL || cfg->root_path[0] == '\0') {
		return fail_in(p, o->where, "path", "required");
	}
	return 0;
}

static int check_id_map(struct parser *p, const struct obj *o)
{
	if (member(o->json, "containerID") == NULL || member(o->json, "hostID") == NULL ||
	    member(o->json, "size") == NULL) {
		return fail(p, o->where, "containerID, hostID and size are all required");
	}
	return 0;
}

#define T struct oci_id_map
static const struct field id_map_fields[] = {
	{U32("containerID", container_id)}, {U32("hostID", host_id)}, {U32("size", size)}, {CHECK(check_id_map)}, {END},
};
#undef T

/* The kernel takes at most 340 lines in a uid_map or gid_map. */
#define ID_MAPS(k, m, n) ARRAY(k, m, n, id_map_fields), .max = 340, .noun = "mappings"

static int check_mount(struct parser *p, const struct obj *o)
{
	const struct oci_mount *m = o->out;
	if (m->destination == NULL || m->destination[0] != '/') {
		return fail_in(p, o->where, "destination", "required, and must be an absolute path");
	}
	return 0;
}

#define T struct oci_mount
static const struct field mount_fields[] = {
	{STRING("destination", destination)},
	{STRING("type", type)},
	{STRING("source", source)},
	{STRINGS("options", options, noptions)},
	{ID_MAPS("uidMappings", uid_maps, nuid_maps)},
	{ID_MAPS("gidMappings", gid_maps, ngid_maps)},
	{CHECK(check_mount)},
	{END},
};
#undef T

static int check_hook(struct parser *p, const struct obj *o)
{
	const struct oci_hook *h = o->out;
	if (h->path == NULL || h->path[0] != '/') {
		return fail_in(p, o->where, "path", "required, and must be an absolute path");
	}
	return 0;
}

#define T struct oci_hook
static const struct field hook_fields[] = {
	{STRING("path", path)},
	{STRINGS("args", args, nargs)},
	{STRINGS("env", env, nenv), HAS(has_env)},
	{INT("timeout", timeout, 1, INT32_MAX)},
	{CHECK(check_hook)},
	{END},
};
#undef T

#define T struct oci_hooks
#define HOOKS(k, kind) ARRAY(k, list[kind], count[kind], hook_fields)
static const struct field hooks_fields[OCI_HOOK_KINDS + 1] = {
	[OCI_HOOK_PRESTART] = {HOOKS("prestart", OCI_HOOK_PRESTART)},
	[OCI_HOOK_CREATE_RUNTIME] = {HOOKS("createRuntime", OCI_HOOK_CREATE_RUNTIME)},
	[OCI_HOOK_CREATE_CONTAINER] = {HOOKS("createContainer", OCI_HOOK_CREATE_CONTAINER)},
	[OCI_HOOK_START_CONTAINER] = {HOOKS("startContainer", OCI_HOOK_START_CONTAINER)},
	[OCI_HOOK_POSTSTART] = {HOOKS("poststart", OCI_HOOK_POSTSTART)},
	[OCI_HOOK_POSTSTOP] = {HOOKS("poststop", OCI_HOOK_POSTSTOP)},
	[OCI_HOOK_KINDS] = {END},
};
#undef T

const char *oci_hook_kind_name(enum oci_hook_kind kind)
{
	return kind >= 0 && kind < OCI_HOOK_KINDS ? hooks_fields[kind].key : NULL;
}

/* ---- linux: namespaces, devices ---------------------------------------------------------- */

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

const char *oci_ns_type_name(enum oci_ns_type type)
{
	for (size_t i = 0; i < sizeof(ns_names) / sizeof(ns_names[0]); i++) {
		if (ns_names[i].type == type) {
			return ns_names[i].name;
		}
	}
	return NULL;
}

#define T struct oci_namespace
static const struct field namespace_fields[] = {
	{RAW_STRING("type")},
	{STRING("path", path)},
	{END},
};
#undef T

/* A namespace goes into the fixed array of the config only once it is known
 * to be of a type not listed before: at most one of each. */
static int read_namespace(struct parser *p, json_object *item, const char *name, size_t i, void *ctx)
{
	struct oci_linux *l = ctx;
	struct oci_namespace ns = {.path = NULL};
	int ret = parse_object(p, item, name, namespace_fields, &ns, i);
	if (ret < 0) {
		return ret;
	}
	const char *type = raw_string(item, "type");
	if (type == NULL) {
		return fail_in(p, name, "type", "required");
	}
	size_t k = 0;
	while (k < sizeof(ns_names) / sizeof(ns_names[0]) && strcmp(ns_names[k].name, type) != 0) {
		k++;
	}
	if (k == sizeof(ns_names) / sizeof(ns_names[0])) {
		return fail_in(p, name, "type", "unknown namespace type '%.32s'", type);
	}
	for (size_t j = 0; j < l->nnamespaces; j++) {
		if (l->namespaces[j].type == ns_names[k].type) {
			return fail_in(p, name, "type", "namespace '%s' is listed twice", type);
		}
	}
	if (ns.path != NULL && ns.path[0] != '/') {
		return fail_in(p, name, "path", "must be an absolute path");
	}
	ns.type = ns_names[k].type;
	ns.clone_flag = ns_names[k].flag;
	if (ns.path != NULL && ns.path[0] == '\0') {
		ns.path = NULL;
	}
	l->namespaces[l->nnamespaces++] = ns;
	return 0;
}

static int read_namespaces(struct parser *p, json_object *v, const char *field, void *dst)
{
	if (want_type(p, v, json_type_array, field, "an array") < 0) {
		return -EINVAL;
	}
	return each_object(p, v, field, read_namespace, dst);
}

static int check_device(struct parser *p, const struct obj *o)
{
	struct oci_device *dev = o->out;
	if (dev->path == NULL || dev->path[0] != '/') {
		return fail_in(p, o->where, "path", "required, and must be an absolute path");
	}
	const char *type = raw_string(o->json, "type");
	if (type == NULL || strlen(type) != 1 || strchr("cbup", type[0]) == NULL) {
		return fail_in(p, o->where, "type", "expected one of c, b, u, p");
	}
	dev->type = type[0];
	if (dev->type != 'p' && (member(o->json, "major") == NULL || member(o->json, "minor") == NULL)) {
		return fail(p, o->where, "major and minor are required for a %s device",
			    dev->type == 'b' ? "block" : "character");
	}
	if (dev->has_file_mode && dev->file_mode > 07777) {
		return fail_in(p, o->where, "fileMode", "%o is not a permission mode", dev->file_mode);
	}
	return 0;
}

#define T struct oci_device
static const struct field device_fields[] = {
	{RAW_STRING("type")},
	{STRING("path", path)},
	{INT("major", major, 0, 0xfff)},
	{INT("minor", minor, 0, 0xfffff)},
	{U32("fileMode", file_mode), HAS(has_file_mode)},
	{U32("uid", uid), HAS(has_uid)},
	{U32("gid", gid), HAS(has_gid)},
	{CHECK(check_device)},
	{END},
};
#undef T

/* ---- linux.resources ---------------------------------------------------------------------- */

static int check_device_rule(struct parser *p, const struct obj *o)
{
	struct oci_device_rule *rule = o->out;
	/* Absent: any. */
	if (member(o->json, "major") == NULL) {
		rule->major = -1;
	}
	if (member(o->json, "minor") == NULL) {
		rule->minor = -1;
	}
	if (member(o->json, "allow") == NULL) {
		return fail_in(p, o->where, "allow", "required");
	}
	const char *type = raw_string(o->json, "type");
	rule->type = type ? type[0] : 'a';
	if (type != NULL && (strlen(type) != 1 || strchr("acb", type[0]) == NULL)) {
		return fail_in(p, o->where, "type", "expected a, c or b");
	}
	const char *access = raw_string(o->json, "access");
	if (access != NULL) {
		if (strlen(access) > 3 || strspn(access, "rwm") != strlen(access)) {
			return fail_in(p, o->where, "access", "expected some of r, w, m; got '%.16s'", access);
		}
		memcpy(rule->access, access, strlen(access) + 1);
	}
	return 0;
}

#define T struct oci_device_rule
static const struct field device_rule_fields[] = {
	{BOOL("allow", allow)},
	{RAW_STRING("type")},
	{RAW_STRING("access")},
	{INT("major", major, -1, 0xfff)},
	{INT("minor", minor, -1, 0xfffff)},
	{CHECK(check_device_rule)},
	{END},
};
#undef T

static int check_weight_device(struct parser *p, const struct obj *o)
{
	if (member(o->json, "major") == NULL || member(o->json, "minor") == NULL) {
		return fail(p, o->where, "major and minor are required");
	}
	return 0;
}

#define T struct oci_weight_device
static const struct field weight_device_fields[] = {
	{INT("major", major, 0, 0xfff)},
	{INT("minor", minor, 0, 0xfffff)},
	{INT("weight", weight, 10, 1000), HAS(has_weight)},
	{INT("leafWeight", leaf_weight, 10, 1000), HAS(has_leaf_weight)},
	{CHECK(check_weight_device)},
	{END},
};
#undef T

static int check_throttle(struct parser *p, const struct obj *o)
{
	if (member(o->json, "major") == NULL || member(o->json, "minor") == NULL || member(o->json, "rate") == NULL) {
		return fail(p, o->where, "major, minor and rate are required");
	}
	return 0;
}

#define T struct oci_throttle_device
static const struct field throttle_fields[] = {
	{INT("major", major, 0, 0xfff)},
	{INT("minor", minor, 0, 0xfffff)},
	{UINT64("rate", rate)},
	{CHECK(check_throttle)},
	{END},
};
#undef T

static int check_memory(struct parser *p, const struct obj *o)
{
	const struct oci_resources *r = o->out;
	if (r->has_memory_limit && r->memory_limit == 0) {
		return fail_in(p, o->where, "limit", "0 would leave no memory at all");
	}
	return 0;
}

static int check_blockio(struct parser *p, const struct obj *o)
{
	const struct oci_resources *r = o->out;
	if (r->has_blkio_weight && r->blkio_weight != 0 && r->blkio_weight < 10) {
		return fail_in(p, o->where, "weight", "10 to 1000, or 0 for none");
	}
	return 0;
}

#define T struct oci_resources
static const struct field blockio_fields[] = {
	/* 0: not set, as dockerd writes it for every container (cgroup.c
	 * refuses 1 to 9). */
	{INT("weight", blkio_weight, 0, 1000), HAS(has_blkio_weight)},
	{UNSUPPORTED("leafWeight", "cgroup v2 has no leaf weights")},
	{ARRAY("weightDevice", weight_devices, nweight_devices, weight_device_fields)},
	{ARRAY("throttleReadBpsDevice", throttle_read_bps, nthrottle_read_bps, throttle_fields)},
	{ARRAY("throttleWriteBpsDevice", throttle_write_bps, nthrottle_write_bps, throttle_fields)},
	{ARRAY("throttleReadIOPSDevice", throttle_read_iops, nthrottle_read_iops, throttle_fields)},
	{ARRAY("throttleWriteIOPSDevice", throttle_write_iops, nthrottle_write_iops, throttle_fields)},
	{CHECK(check_blockio)},
	{END},
};

static const struct field memory_fields[] = {
	{INT("limit", memory_limit, -1, INT64_MAX), HAS(has_memory_limit)},
	{INT("reservation", memory_reservation, -1, INT64_MAX), HAS(has_memory_reservation)},
	{INT("swap", memory_swap, -1, INT64_MAX), HAS(has_memory_swap)},
	{UINT64("swappiness", memory_swappiness), HAS(has_memory_swappiness)},
	{BOOL("disableOOMKiller", disable_oom_killer)},
	{RAW_BOOL("useHierarchy")},	 /* cgroup v2 is always hierarchical */
	{RAW_BOOL("checkBeforeUpdate")}, /* the kernel refuses a limit below usage anyway */
	{UNSUPPORTED("kernel", "kernel memory limits are gone from Linux")},
	{UNSUPPORTED("kernelTCP", "cgroup v2 accounts TCP memory with the rest")},
	{CHECK(check_memory)},
	{END},
};

static const struct field cpu_fields[] = {
	{UINT64("shares", cpu_shares), HAS(has_cpu_shares)},
	{INT("quota", cpu_quota, -1, INT64_MAX), HAS(has_cpu_quota)},
	{UINT64("period", cpu_period), HAS(has_cpu_period)},
	{UINT64("burst", cpu_burst), HAS(has_cpu_burst)},
	{INT("idle", cpu_idle, 0, 1), HAS(has_cpu_idle)},
	{STRING("cpus", cpuset_cpus)},
	{STRING("mems", cpuset_mems)},
	{UNSUPPORTED("realtimeRuntime", "the kernel has no RT group scheduling")},
	{UNSUPPORTED("realtimePeriod", "the kernel has no RT group scheduling")},
	{END},
};

static const struct field pids_fields[] = {
	{INT("limit", pids_limit, -1, INT64_MAX), HAS(has_pids_limit)},
	{END},
};

static const struct field resources_fields[] = {
	{ARRAY("devices", devices, ndevices, device_rule_fields)},
	{SECTION("blockIO", blockio_fields)},
	{UNSUPPORTED("hugepageLimits", "the kernel has no hugetlb controller")},
	{UNSUPPORTED("network", "cgroup v2 has no net_cls or net_prio")},
	{UNSUPPORTED("rdma", "the kernel has no rdma controller")},
	{KV("unified", unified, nunified)},
	{SECTION("memory", memory_fields)},
	{SECTION("cpu", cpu_fields)},
	{SECTION("pids", pids_fields)},
	{END},
};
#undef T

/* ---- linux.seccomp ----------------------------------------------------------------------- */

static const char *const seccomp_actions[] = {
	[OCI_SECCOMP_KILL] = "SCMP_ACT_KILL",
	[OCI_SECCOMP_KILL_PROCESS] = "SCMP_ACT_KILL_PROCESS",
	[OCI_SECCOMP_KILL_THREAD] = "SCMP_ACT_KILL_THREAD",
	[OCI_SECCOMP_TRAP] = "SCMP_ACT_TRAP",
	[OCI_SECCOMP_ERRNO] = "SCMP_ACT_ERRNO",
	[OCI_SECCOMP_TRACE] = "SCMP_ACT_TRACE",
	[OCI_SECCOMP_ALLOW] = "SCMP_ACT_ALLOW",
	[OCI_SECCOMP_LOG] = "SCMP_ACT_LOG",
	[OCI_SECCOMP_NOTIFY] = "SCMP_ACT_NOTIFY",
};

const char *oci_seccomp_action_name(enum oci_seccomp_action action)
{
	if ((size_t)action >= sizeof(seccomp_actions) / sizeof(seccomp_actions[0])) {
		return NULL;
	}
	return seccomp_actions[action];
}

static const char *const seccomp_ops[] = {
	[OCI_SECCOMP_OP_NE] = "SCMP_CMP_NE",
	[OCI_SECCOMP_OP_LT] = "SCMP_CMP_LT",
	[OCI_SECCOMP_OP_LE] = "SCMP_CMP_LE",
	[OCI_SECCOMP_OP_EQ] = "SCMP_CMP_EQ",
	[OCI_SECCOMP_OP_GE] = "SCMP_CMP_GE",
	[OCI_SECCOMP_OP_GT] = "SCMP_CMP_GT",
	[OCI_SECCOMP_OP_MASKED_EQ] = "SCMP_CMP_MASKED_EQ",
};

const char *oci_seccomp_op_name(enum oci_seccomp_op op)
{
	if ((size_t)op >= sizeof(seccomp_ops) / sizeof(seccomp_ops[0])) {
		return NULL;
	}
	return seccomp_ops[op];
}

static int read_action(struct parser *p, json_object *v, const char *field, void *dst)
{
	enum oci_seccomp_action *action = dst;
	if (want_type(p, v, json_type_string, field, "a string") < 0) {
		return -EINVAL;
	}
	int a = NAME_INDEX(seccomp_actions, json_object_get_string(v));
	if (a < 0) {
		return fail(p, field, "unknown action '%.64s'", json_object_get_string(v));
	}
	*action = (enum oci_seccomp_action)a;
	return 0;
}

static int check_arg(struct parser *p, const struct obj *o)
{
	struct oci_seccomp_arg *arg = o->out;
	if (member(o->json, "index") == NULL) {
		return fail_in(p, o->where, "index", "required");
	}
	const char *op = raw_string(o->json, "op");
	int k = op != NULL ? NAME_INDEX(seccomp_ops, op) : -1;
	if (k < 0) {
		return fail_in(p, o->where, "op", "expected an SCMP_CMP_ operator, got '%.32s'", op ? op : "nothing");
	}
	arg->op = (enum oci_seccomp_op)k;
	return 0;
}

#define T struct oci_seccomp_arg
static const struct field arg_fields[] = {
	{INT("index", index, 0, 5)}, {UINT64("value", value)}, {UINT64("valueTwo", value_two)},
	{RAW_STRING("op")},	     {CHECK(check_arg)},       {END},
};
#undef T

static int check_rule_names(struct parser *p, const struct obj *o)
{
	const struct oci_seccomp_rule *rule = o->out;
	if (rule->nnames == 0) {
		return fail_in(p, o->where, "names", "at least one system call name is required");
	}
	return 0;
}

#define T struct oci_seccomp_rule
static const struct field rule_fields[] = {
	{STRINGS("names", names, nnames)},
	{CUSTOM("action", read_action), MEMBER(action), REQUIRED},
	{INT("errnoRet", errno_ret, 0, 4095), HAS(has_errno_ret)},
	{CHECK(check_rule_names)},
	{ARRAY("args", args, nargs, arg_fields)},
	{IGNORED("comment")},
	{IGNORED("includes")},
	{IGNORED("excludes")},
	{END},
};
#undef T

#define T struct oci_seccomp
static const struct field seccomp_fields[] = {
	{CUSTOM("defaultAction", read_action), MEMBER(default_action), REQUIRED},
	{INT("defaultErrnoRet", default_errno_ret, 0, 4095), HAS(has_default_errno_ret)},
	{STRINGS("architectures", architectures, narchitectures)},
	{STRINGS("flags", flags, nflags)},
	{UNSUPPORTED("listenerPath", "seccomp user notification is not implemented")},
	{IGNORED("listenerMetadata")},
	{ARRAY("syscalls", syscalls, nsyscalls, rule_fields)},
	{END},
};
#undef T

static int read_seccomp(struct parser *p, json_object *v, const char *field, void *dst)
{
	struct oci_seccomp **out = dst;
	if (want_type(p, v, json_type_object, field, "an object") < 0) {
		return -EINVAL;
	}
	*out = arena_alloc(p->a, sizeof(**out));
	if (*out == NULL) {
		return oom(p);
	}
	return parse_object(p, v, field, seccomp_fields, *out, 0);
}

/* ---- linux ---------------------------------------------------------------------------------- */

static int check_absolute(struct parser *p, const char *where, const char *key, char *const *paths, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (paths[i][0] != '/') {
			char field[FIELD_MAX];
			char item[FIELD_MAX];
			sub(field, sizeof(field), where, key);
			index_path(item, sizeof(item), field, i);
			return fail(p, item, "must be an absolute path");
		}
	}
	return 0;
}

static const struct {
	const char *name;
	unsigned long flag;
} propagations[] = {
	{"private", MS_PRIVATE},       {"rprivate", MS_PRIVATE | MS_REC},
	{"slave", MS_SLAVE},	       {"rslave", MS_SLAVE | MS_REC},
	{"shared", MS_SHARED},	       {"rshared", MS_SHARED | MS_REC},
	{"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
};

unsigned long oci_propagation_from_name(const char *name)
{
	for (size_t i = 0; i < sizeof(propagations) / sizeof(propagations[0]); i++) {
		if (strcmp(propagations[i].name, name) == 0) {
			return propagations[i].flag;
		}
	}
	return 0;
}

const char *oci_propagation_name(unsigned long flags)
{
	for (size_t i = 0; i < sizeof(propagations) / sizeof(propagations[0]); i++) {
		if (propagations[i].flag == flags) {
			return propagations[i].name;
		}
	}
	return NULL;
}

static int check_linux(struct parser *p, const struct obj *o)
{
	struct oci_linux *l = o->out;
	const char *prop = raw_string(o->json, "rootfsPropagation");
	if (prop != NULL && prop[0] != '\0') {
		l->rootfs_propagation = oci_propagation_from_name(prop);
		if (l->rootfs_propagation == 0) {
			return fail_in(p, o->where, "rootfsPropagation", "unknown propagation '%.32s'", prop);
		}
	}
	if (check_absolute(p, o->where, "maskedPaths", l->masked_paths, l->nmasked_paths) < 0 ||
	    check_absolute(p, o->where, "readonlyPaths", l->readonly_paths, l->nreadonly_paths) < 0) {
		return -EINVAL;
	}
	return 0;
}

static int check_personality(struct parser *p, const struct obj *o)
{
	struct oci_linux *l = o->out;
	const char *domain = raw_string(o->json, "domain");
	if (domain == NULL || (strcmp(domain, "LINUX") != 0 && strcmp(domain, "LINUX32") != 0)) {
		return fail_in(p, o->where, "domain", "expected LINUX or LINUX32");
	}
	json_object *flags = member(o->json, "flags");
	if (flags != NULL && json_object_array_length(flags) > 0) {
		return fail_in(p, o->where, "flags", "not supported by berth-oci");
	}
	l->personality = strcmp(domain, "LINUX") == 0 ? PER_LINUX : PER_LINUX32;
	return 0;
}

static int check_nanosecs(struct parser *p, const char *where, uint32_t nanosecs)
{
	return nanosecs >= 1000000000u ? fail(p, where, "nanosecs must be below one second") : 0;
}

static int check_monotonic(struct parser *p, const struct obj *o)
{
	return check_nanosecs(p, o->where, ((const struct oci_linux *)o->out)->monotonic_nanosecs);
}

static int check_boottime(struct parser *p, const struct obj *o)
{
	return check_nanosecs(p, o->where, ((const struct oci_linux *)o->out)->boottime_nanosecs);
}

#define T struct oci_linux
static const struct field personality_fields[] = {
	{RAW_STRING("domain")},
	{RAW_STRINGS("flags")},
	{CHECK(check_personality)},
	{END},
};

static const struct field monotonic_fields[] = {
	{INT("secs", monotonic_secs, INT64_MIN, INT64_MAX)},
	{U32("nanosecs", monotonic_nanosecs)},
	{CHECK(check_monotonic)},
	{END},
};

static const struct field boottime_fields[] = {
	{INT("secs", boottime_secs, INT64_MIN, INT64_MAX)},
	{U32("nanosecs", boottime_nanosecs)},
	{CHECK(check_boottime)},
	{END},
};

static const struct field time_offsets_fields[] = {
	{SECTION("monotonic", monotonic_fields)},
	{SECTION("boottime", boottime_fields)},
	{END},
};

static const struct field linux_fields[] = {
	{CUSTOM("namespaces", read_namespaces)},
	{ID_MAPS("uidMappings", uid_maps, nuid_maps)},
	{ID_MAPS("gidMappings", gid_maps, ngid_maps)},
	{ARRAY("devices", devices, ndevices, device_fields)},
	{STRING("cgroupsPath", cgroups_path)},
	{OBJECT("resources", resources, resources_fields), HAS(has_resources)},
	{KV("sysctl", sysctl, nsysctl)},
	{CUSTOM("seccomp", read_seccomp), MEMBER(seccomp)},
	{RAW_STRING("rootfsPropagation")},
	{STRINGS("maskedPaths", masked_paths, nmasked_paths)},
	{STRINGS("readonlyPaths", readonly_paths, nreadonly_paths)},
	{UNSUPPORTED("mountLabel", "the kernel has no SELinux")},
	{UNSUPPORTED("intelRdt", "the kernel has no resctrl")},
	{UNSUPPORTED("memoryPolicy", "NUMA memory policies are not implemented")},
	{UNSUPPORTED("netDevices", "moving network devices is not implemented")},
	{CHECK(check_linux)},
	{SECTION("personality", personality_fields), HAS(has_personality)},
	{SECTION("timeOffsets", time_offsets_fields), HAS(has_time_offsets)},
	{END},
};
#undef T

/* ---- the config ------------------------------------------------------------------------------ */

static int check_version(struct parser *p, const struct obj *o)
{
	const struct oci_config *cfg = o->out;
	if (strncmp(cfg->oci_version, "1.", 2) != 0) {
		return fail_in(p, o->where, "ociVersion", "version %.32s is not supported (1.x is)", cfg->oci_version);
	}
	return 0;
}

#define T struct oci_config
static const struct field root_fields[] = {
	{STRING("path", root_path)},
	{BOOL("readonly", root_readonly)},
	{CHECK(check_root)},
	{END},
};

static const struct field config_fields[] = {
	{STRING("ociVersion", oci_version), REQUIRED},
	{CHECK(check_version)},
	{UNSUPPORTED("solaris", "not Linux")},
	{UNSUPPORTED("windows", "not Linux")},
	{UNSUPPORTED("vm", "virtual-machine containers are not implemented")},
	{UNSUPPORTED("zos", "not Linux")},
	{SECTION("root", root_fields), REQUIRED},
	{ARRAY("mounts", mounts, nmounts, mount_fields)},
	{OBJECT("hooks", hooks, hooks_fields)},
	{KV("annotations", annotations, nannotations)},
	{STRING("hostname", hostname)},
	{STRING("domainname", domainname)},
	{OBJECT("linux", linux_, linux_fields)},
	{OBJECT("process", process, process_fields), HAS(has_process)},
	{END},
};
#undef T

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
	memset(cfg, 0, sizeof(*cfg));
	oci_trace("config: read");
	json_object *root = parse_json(name, json, len, err);
	oci_trace("config: parsed");
	if (root == NULL) {
		return -EINVAL;
	}
	struct parser p = {.cfg = cfg, .a = &cfg->arena, .name = name, .err = err};
	int ret;
	if (json_object_get_type(root) != json_type_object) {
		ret = berr_setx(err, EINVAL, "%s: expected a JSON object", name);
	} else {
		ret = parse_object(&p, root, "", config_fields, cfg, 0);
	}
	json_object_put(root);
	if (ret < 0) {
		arena_free(&cfg->arena);
		return -EINVAL;
	}
	return 0;
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
		ret = parse_object(&p, root, "process", process_fields, pr, 0);
	}
	json_object_put(root);
	return ret < 0 ? -EINVAL : 0;
}

/* Members that mean "unchanged" go, at every depth, however many there
 * are: one left behind would be applied as a real 0. lh_foreach_safe is
 * json-c's iteration that allows deleting the current member. */
static void drop_zeros(json_object *o, int depth)
{
	if (depth > 8 || !json_object_is_type(o, json_type_object)) {
		return;
	}
	struct lh_entry *e;
	struct lh_entry *next;
	lh_foreach_safe(json_object_get_object(o), e, next)
	{
		json_object *val = (json_object *)lh_entry_v(e);
		enum json_type t = json_object_get_type(val);
		int zero = t == json_type_null || (t == json_type_int && json_object_get_int64(val) == 0) ||
			   (t == json_type_string && json_object_get_string_len(val) == 0);
		if (zero) {
			json_object_object_del(o, (const char *)lh_entry_k(e));
		} else {
			drop_zeros(val, depth + 1);
		}
	}
}

int oci_resources_parse(struct oci_config *cfg, struct oci_resources *r, const char *name, const char *json, size_t len,
			struct berr *err)
{
	json_object *root = parse_json(name, json, len, err);
	if (root == NULL) {
		return -EINVAL;
	}
	struct parser p = {.cfg = cfg, .a = &cfg->arena, .name = name, .err = err};
	memset(r, 0, sizeof(*r));
	int ret = want_type(&p, root, json_type_object, "resources", "an object");
	if (ret == 0) {
		drop_zeros(root, 0);
		ret = parse_object(&p, root, "resources", resources_fields, r, 0);
	}
	json_object_put(root);
	return ret < 0 ? -EINVAL : 0;
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
