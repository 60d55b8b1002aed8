/* A C struct described by a table of its fields, for the JSON records
 * berthd keeps on DATA: written, read, deep-copied and freed from the one
 * table, so that a field added to the table is saved, loaded, copied and
 * freed alike. Every pointer member of a described struct must be in its
 * table (a copy would otherwise share it, and a free leak it).
 *
 * Reading is lenient the way a record written by an older berthd needs:
 * a missing key leaves the member zero (an enum its default), a value of
 * the wrong type reads as missing, an integer of any JSON type goes
 * through json_object_get_int64. Only FIELD_REQUIRED strings, and memory,
 * make a read fail. */
#ifndef BERTH_DAEMON_FIELDS_H
#define BERTH_DAEMON_FIELDS_H

#include <json-c/json.h>
#include <stddef.h>

enum field_kind {
	FIELD_STR,    /* char *; NULL is written as null */
	FIELD_CHARS,  /* char[size]; a value that does not fit reads as "" */
	FIELD_STRV,   /* char ** with a size_t count at count_off */
	FIELD_BOOL,   /* an int, written true/false */
	FIELD_INT,    /* an integer of size bytes */
	FIELD_ENUM,   /* an enum, written as names[value]; a missing or unknown name reads as dflt */
	FIELD_OBJECT, /* a struct embedded at off: an object of sub's fields */
	FIELD_ARRAY,  /* a pointer to a size_t count (count_off) of structs of size bytes: an array of objects */
};

#define FIELD_REQUIRED 1u /* FIELD_STR, FIELD_OBJECT: the record is invalid without it */
#define FIELD_UNHASHED 2u /* left out of the form fields_to_json gives with FIELDS_FOR_HASH */
#define FIELD_UNSIGNED 4u /* FIELD_INT */
#define FIELD_IF_COUNT 8u /* FIELD_OBJECT, FIELD_ARRAY: written only when the size_t at count_off is not 0 */
/* FIELD_INT: written only when not 0; FIELD_STRV: only when not empty;
 * FIELD_STR: only when not NULL. A
 * field added later so leaves the records (and hashes) of containers that
 * do not use it as they were. */
#define FIELD_IF_SET 16u

struct field {
	const char *key; /* NULL ends a table */
	enum field_kind kind;
	unsigned flags;
	size_t off;
	size_t size;
	size_t count_off;
	const char *const *names; /* FIELD_ENUM */
	size_t nnames;
	int dflt;
	const struct field *sub; /* FIELD_OBJECT, FIELD_ARRAY */
};

/* Table entries: F_STR(struct ctr_def, image, "image", 0) and the like. */
#define FIELD_SIZE(T, m) sizeof(((T *)0)->m)
#define FIELD_SIGN(T, m) ((__typeof__(((T *)0)->m))-1 > 0 ? FIELD_UNSIGNED : 0u)

#define F_STR(T, m, k, fl)                                                      \
	{                                                                       \
		.key = k, .kind = FIELD_STR, .flags = fl, .off = offsetof(T, m) \
	}
#define F_CHARS(T, m, k, fl)                                                                                \
	{                                                                                                   \
		.key = k, .kind = FIELD_CHARS, .flags = fl, .off = offsetof(T, m), .size = FIELD_SIZE(T, m) \
	}
#define F_STRV(T, m, n, k)                                                                       \
	{                                                                                        \
		.key = k, .kind = FIELD_STRV, .off = offsetof(T, m), .count_off = offsetof(T, n) \
	}
#define F_BOOL(T, m, k, fl)                                                                                \
	{                                                                                                  \
		.key = k, .kind = FIELD_BOOL, .flags = fl, .off = offsetof(T, m), .size = FIELD_SIZE(T, m) \
	}
#define F_INT(T, m, k)                                                                         \
	{                                                                                      \
		.key = k, .kind = FIELD_INT, .flags = FIELD_SIGN(T, m), .off = offsetof(T, m), \
		.size = FIELD_SIZE(T, m)                                                       \
	}
/* The same, written only when set (FIELD_IF_SET). */
#define F_STR_IF_SET(T, m, k)                                                             \
	{                                                                                 \
		.key = k, .kind = FIELD_STR, .flags = FIELD_IF_SET, .off = offsetof(T, m) \
	}
#define F_INT_IF_SET(T, m, k)                                                                                 \
	{                                                                                                     \
		.key = k, .kind = FIELD_INT, .flags = FIELD_SIGN(T, m) | FIELD_IF_SET, .off = offsetof(T, m), \
		.size = FIELD_SIZE(T, m)                                                                      \
	}
#define F_STRV_IF_SET(T, m, n, k)                                                           \
	{                                                                                   \
		.key = k, .kind = FIELD_STRV, .flags = FIELD_IF_SET, .off = offsetof(T, m), \
		.count_off = offsetof(T, n)                                                 \
	}
#define F_ENUM(T, m, k, nm, d)                                                                              \
	{                                                                                                   \
		.key = k, .kind = FIELD_ENUM, .off = offsetof(T, m), .size = FIELD_SIZE(T, m), .names = nm, \
		.nnames = sizeof(nm) / sizeof(nm[0]), .dflt = d                                             \
	}
#define F_OBJECT(T, m, k, s, fl)                                                             \
	{                                                                                    \
		.key = k, .kind = FIELD_OBJECT, .flags = fl, .off = offsetof(T, m), .sub = s \
	}
#define F_OBJECT_IF(T, m, n, k, s)                                                              \
	{                                                                                       \
		.key = k, .kind = FIELD_OBJECT, .flags = FIELD_IF_COUNT, .off = offsetof(T, m), \
		.count_off = offsetof(T, n), .sub = s                                           \
	}
/* The same, written only when not empty (FIELD_IF_COUNT). */
#define F_ARRAY_IF_SET(T, m, n, k, s)                                                          \
	{                                                                                      \
		.key = k, .kind = FIELD_ARRAY, .flags = FIELD_IF_COUNT, .off = offsetof(T, m), \
		.size = sizeof(*((T *)0)->m), .count_off = offsetof(T, n), .sub = s            \
	}
#define F_ARRAY(T, m, n, k, s)                                                                      \
	{                                                                                           \
		.key = k, .kind = FIELD_ARRAY, .off = offsetof(T, m), .size = sizeof(*((T *)0)->m), \
		.count_off = offsetof(T, n), .sub = s                                               \
	}
#define F_END               \
	{                   \
		.key = NULL \
	}

enum fields_form {
	FIELDS_FOR_RECORD,
	FIELDS_FOR_HASH, /* without FIELD_UNHASHED fields */
};

/* A new object with the fields of the struct at base, in table order. */
json_object *fields_to_json(const struct field *t, const void *base, enum fields_form form);

/* Fills the (zeroed) struct at base from o. 0, -EINVAL (a required field
 * is missing) or -ENOMEM; on failure the caller frees with fields_free. */
int fields_from_json(const struct field *t, json_object *o, void *base);

/* Deep copy: dst is a copy of src with every pointer member duplicated.
 * -ENOMEM (dst then holds only what it owns, for fields_free). */
int fields_copy(const struct field *t, void *dst, const void *src);

/* Frees what the pointer members own (not base itself) and zeroes them. */
void fields_free(const struct field *t, void *base);

#endif
