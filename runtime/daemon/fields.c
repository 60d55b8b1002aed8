/* Structs to and from JSON by their field tables (see fields.h). */
#include "daemon/fields.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/fsutil.h"

#define AT(base, off) ((char *)(base) + (off))
#define AT_CONST(base, off) ((const char *)(base) + (off))

static int64_t int_get(const void *p, size_t size, int is_unsigned)
{
	switch (size) {
	case 1:
		return is_unsigned ? (int64_t) * (const uint8_t *)p : (int64_t) * (const int8_t *)p;
	case 2:
		return is_unsigned ? (int64_t) * (const uint16_t *)p : (int64_t) * (const int16_t *)p;
	case 4:
		return is_unsigned ? (int64_t) * (const uint32_t *)p : (int64_t) * (const int32_t *)p;
	default:
		return *(const int64_t *)p;
	}
}

/* Keeps the low size bytes, as a C conversion to the member's type does. */
static void int_set(void *p, size_t size, int64_t v)
{
	switch (size) {
	case 1:
		*(uint8_t *)p = (uint8_t)v;
		break;
	case 2:
		*(uint16_t *)p = (uint16_t)v;
		break;
	case 4:
		*(uint32_t *)p = (uint32_t)v;
		break;
	default:
		*(int64_t *)p = v;
		break;
	}
}

/* ---- writing ----------------------------------------------------------------- */

static json_object *strv_to_json(char *const *v, size_t n)
{
	json_object *a = json_object_new_array();
	for (size_t i = 0; i < n; i++) {
		json_object_array_add(a, json_object_new_string(v[i]));
	}
	return a;
}

static json_object *field_to_json(const struct field *f, const void *base, enum fields_form form)
{
	const void *p = AT_CONST(base, f->off);
	switch (f->kind) {
	case FIELD_STR: {
		const char *s = *(char *const *)p;
		return s != NULL ? json_object_new_string(s) : NULL;
	}
	case FIELD_CHARS:
		return json_object_new_string(p);
	case FIELD_STRV:
		return strv_to_json(*(char **const *)p, *(const size_t *)AT_CONST(base, f->count_off));
	case FIELD_BOOL:
		return json_object_new_boolean(int_get(p, f->size, 0) != 0);
	case FIELD_INT:
		return json_object_new_int64(int_get(p, f->size, (f->flags & FIELD_UNSIGNED) != 0));
	case FIELD_ENUM: {
		int64_t v = int_get(p, f->size, 0);
		return json_object_new_string(f->names[v >= 0 && (size_t)v < f->nnames ? v : f->dflt]);
	}
	case FIELD_OBJECT:
		return fields_to_json(f->sub, p, form);
	case FIELD_ARRAY: {
		const char *elems = *(char *const *)p;
		size_t n = *(const size_t *)AT_CONST(base, f->count_off);
		json_object *a = json_object_new_array();
		for (size_t i = 0; i < n; i++) {
			json_object_array_add(a, fields_to_json(f->sub, elems + i * f->size, form));
		}
		return a;
	}
	}
	return NULL;
}

static int field_is_set(const struct field *f, const void *base)
{
	if (f->kind == FIELD_STRV) {
		return *(const size_t *)AT_CONST(base, f->count_off) != 0;
	}
	if (f->kind == FIELD_STR) {
		return *(char *const *)AT_CONST(base, f->off) != NULL;
	}
	return int_get(AT_CONST(base, f->off), f->size, (f->flags & FIELD_UNSIGNED) != 0) != 0;
}

json_object *fields_to_json(const struct field *t, const void *base, enum fields_form form)
{
	json_object *o = json_object_new_object();
	for (const struct field *f = t; f->key != NULL; f++) {
		if (form == FIELDS_FOR_HASH && (f->flags & FIELD_UNHASHED)) {
			continue;
		}
		if ((f->flags & FIELD_IF_COUNT) && *(const size_t *)AT_CONST(base, f->count_off) == 0) {
			continue;
		}
		if ((f->flags & FIELD_IF_SET) && !field_is_set(f, base)) {
			continue;
		}
		json_object_object_add(o, f->key, field_to_json(f, base, form));
	}
	return o;
}

/* ---- reading ------------------------------------------------------------------ */

static int strv_from_json(json_object *a, char ***out, size_t *n)
{
	*out = NULL;
	*n = 0;
	size_t len = json_object_is_type(a, json_type_array) ? json_object_array_length(a) : 0;
	if (len == 0) {
		return 0;
	}
	char **v = calloc(len, sizeof(*v));
	if (v == NULL) {
		return -ENOMEM;
	}
	*out = v;
	*n = len;
	for (size_t i = 0; i < len; i++) {
		const char *s = json_object_get_string(json_object_array_get_idx(a, i));
		v[i] = strdup(s != NULL ? s : "");
		if (v[i] == NULL) {
			return -ENOMEM;
		}
	}
	return 0;
}

static int array_from_json(const struct field *f, json_object *a, void *base)
{
	size_t len = json_object_is_type(a, json_type_array) ? json_object_array_length(a) : 0;
	if (len == 0) {
		return 0;
	}
	char *elems = calloc(len, f->size);
	if (elems == NULL) {
		return -ENOMEM;
	}
	*(char **)AT(base, f->off) = elems;
	*(size_t *)AT(base, f->count_off) = len;
	int ret = 0;
	for (size_t i = 0; i < len; i++) {
		int r = fields_from_json(f->sub, json_object_array_get_idx(a, i), elems + i * f->size);
		ret = ret < 0 ? ret : r;
	}
	return ret;
}

static int enum_from_json(const struct field *f, json_object *v)
{
	const char *s = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
	for (size_t i = 0; s != NULL && i < f->nnames; i++) {
		if (strcmp(s, f->names[i]) == 0) {
			return (int)i;
		}
	}
	return f->dflt;
}

static int field_from_json(const struct field *f, json_object *v, void *base)
{
	void *p = AT(base, f->off);
	int is_string = json_object_is_type(v, json_type_string);
	switch (f->kind) {
	case FIELD_STR:
		if (is_string) {
			*(char **)p = strdup(json_object_get_string(v));
			if (*(char **)p == NULL) {
				return -ENOMEM;
			}
		}
		return *(char **)p == NULL && (f->flags & FIELD_REQUIRED) ? -EINVAL : 0;
	case FIELD_CHARS:
		if (is_string) {
			copy_string(p, f->size, json_object_get_string(v));
		}
		return 0;
	case FIELD_STRV:
		return strv_from_json(v, (char ***)p, (size_t *)AT(base, f->count_off));
	case FIELD_BOOL:
	case FIELD_INT:
		int_set(p, f->size, v != NULL ? json_object_get_int64(v) : 0);
		return 0;
	case FIELD_ENUM:
		int_set(p, f->size, enum_from_json(f, v));
		return 0;
	case FIELD_OBJECT:
		if (v == NULL) {
			return f->flags & FIELD_REQUIRED ? -EINVAL : 0;
		}
		return fields_from_json(f->sub, v, p);
	case FIELD_ARRAY:
		return array_from_json(f, v, base);
	}
	return 0;
}

int fields_from_json(const struct field *t, json_object *o, void *base)
{
	int ret = 0;
	for (const struct field *f = t; f->key != NULL; f++) {
		json_object *v = NULL;
		if (!json_object_object_get_ex(o, f->key, &v)) {
			v = NULL;
		}
		int r = field_from_json(f, v, base);
		/* Go on after an error: what was read is owned, and freed, alike. */
		ret = ret < 0 ? ret : r;
	}
	return ret;
}

/* ---- copying and freeing ---------------------------------------------------------- */

static char **strv_copy(char *const *v, size_t n, int *failed)
{
	if (n == 0) {
		return NULL;
	}
	char **out = calloc(n, sizeof(*out));
	if (out == NULL) {
		*failed = 1;
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		out[i] = v[i] != NULL ? strdup(v[i]) : NULL;
		*failed |= v[i] != NULL && out[i] == NULL;
	}
	return out;
}

/* dst already holds a shallow copy of src: replaces its pointers by copies. */
static void copy_pointers(const struct field *t, void *dst, const void *src, int *failed)
{
	for (const struct field *f = t; f->key != NULL; f++) {
		void *d = AT(dst, f->off);
		const void *s = AT_CONST(src, f->off);
		switch (f->kind) {
		case FIELD_STR: {
			const char *str = *(char *const *)s;
			*(char **)d = str != NULL ? strdup(str) : NULL;
			*failed |= str != NULL && *(char **)d == NULL;
			break;
		}
		case FIELD_STRV: {
			size_t *n = (size_t *)AT(dst, f->count_off);
			*(char ***)d = strv_copy(*(char **const *)s, *n, failed);
			*n = *(char ***)d != NULL ? *n : 0;
			break;
		}
		case FIELD_OBJECT:
			copy_pointers(f->sub, d, s, failed);
			break;
		case FIELD_ARRAY: {
			size_t *n = (size_t *)AT(dst, f->count_off);
			const char *from = *(char *const *)s;
			char *to = *n > 0 ? malloc(*n * f->size) : NULL;
			*(char **)d = to;
			if (to == NULL) {
				*failed |= *n > 0;
				*n = 0;
				break;
			}
			memcpy(to, from, *n * f->size);
			for (size_t i = 0; i < *n; i++) {
				copy_pointers(f->sub, to + i * f->size, from + i * f->size, failed);
			}
			break;
		}
		default:
			break; /* a scalar: copied with the struct, owns nothing */
		}
	}
}

int fields_copy(const struct field *t, void *dst, const void *src)
{
	int failed = 0;
	copy_pointers(t, dst, src, &failed);
	return failed ? -ENOMEM : 0;
}

void fields_free(const struct field *t, void *base)
{
	for (const struct field *f = t; f->key != NULL; f++) {
		void *p = AT(base, f->off);
		switch (f->kind) {
		case FIELD_STR:
			free(*(char **)p);
			*(char **)p = NULL;
			break;
		case FIELD_STRV: {
			char **v = *(char ***)p;
			size_t *n = (size_t *)AT(base, f->count_off);
			for (size_t i = 0; v != NULL && i < *n; i++) {
				free(v[i]);
			}
			free(v);
			*(char ***)p = NULL;
			*n = 0;
			break;
		}
		case FIELD_OBJECT:
			fields_free(f->sub, p);
			break;
		case FIELD_ARRAY: {
			char *elems = *(char **)p;
			size_t *n = (size_t *)AT(base, f->count_off);
			for (size_t i = 0; elems != NULL && i < *n; i++) {
				fields_free(f->sub, elems + i * f->size);
			}
			free(elems);
			*(char **)p = NULL;
			*n = 0;
			break;
		}
		default:
			break; /* a scalar owns nothing */
		}
	}
}
