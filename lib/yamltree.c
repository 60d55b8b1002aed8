/* YAML trees on libyaml (see yamltree.h). All nodes and strings of a
 * document live in one arena, freed at once; aliases share nodes. */
#include "lib/yamltree.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "lib/arena.h"
#include "lib/cleanup.h"
#include "lib/fsutil.h"
#include "lib/strmap.h"

/* ---- building ------------------------------------------------------------- */

struct vec {
	struct yt_node **items;
	size_t count;
	size_t cap;
};

static int vec_push(struct vec *v, struct yt_node *n)
{
	if (v->count == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 8;
		struct yt_node **items = realloc(v->items, cap * sizeof(*items));
		if (items == NULL) {
			return -ENOMEM;
		}
		v->items = items;
		v->cap = cap;
	}
	v->items[v->count++] = n;
	return 0;
}

struct frame {
	struct yt_node *node;
	struct vec keys;      /* maps only */
	struct vec items;     /* values of maps, items of sequences */
	struct strmap *index; /* maps with more than YT_INDEX_MIN keys: key -> position + 1 */
};

struct builder {
	struct yt_doc *doc;
	struct arena *arena;
	struct frame stack[YT_MAX_DEPTH];
	int depth;
	struct strmap anchors; /* name -> node */
	size_t nodes;
	size_t aliases;
	struct berr *err;
};

int yt_error(const struct yt_doc *doc, const struct yt_node *n, struct berr *err, const char *fmt, ...)
{
	char msg[768];
	va_list ap;
	va_start(ap, fmt);
	if (vsnprintf(msg, sizeof(msg), fmt, ap) < 0) {
		msg[0] = '\0';
	}
	va_end(ap);
	return berr_setx(err, EINVAL, "%s:%d: %s", doc->name, n ? n->line : 0, msg);
}

__attribute__((format(printf, 3, 4))) static int line_error(struct builder *b, size_t line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	if (vsnprintf(msg, sizeof(msg), fmt, ap) < 0) {
		msg[0] = '\0';
	}
	va_end(ap);
	return berr_setx(b->err, EINVAL, "%s:%zu: %s", b->doc->name, line, msg);
}

static struct yt_node *new_node(struct builder *b, enum yt_kind kind, const yaml_event_t *ev)
{
	if (++b->nodes > YT_MAX_NODES) {
		line_error(b, ev->start_mark.line + 1, "document too large (more than %d nodes)", YT_MAX_NODES);
		return NULL;
	}
	struct yt_node *n = arena_alloc(b->arena, sizeof(*n));
	if (n == NULL) {
		berr_set(b->err, ENOMEM, "%s", b->doc->name);
		return NULL;
	}
	n->kind = kind;
	n->line = (int)(ev->start_mark.line + 1);
	return n;
}

static int set_tag(struct builder *b, struct yt_node *n, const yaml_char_t *tag)
{
	if (tag != NULL) {
		n->tag = arena_strdup(b->arena, (const char *)tag);
		if (n->tag == NULL) {
			return berr_set(b->err, ENOMEM, "%s", b->doc->name);
		}
	}
	return 0;
}

static int remember_anchor(struct builder *b, const yaml_char_t *anchor, struct yt_node *n)
{
	if (anchor == NULL) {
		return 0;
	}
	/* A redefined anchor replaces the old one for later aliases. */
	const char *name = arena_strdup(b->arena, (const char *)anchor);
	if (name == NULL || strmap_set(&b->anchors, name, strlen(name), n) < 0) {
		return berr_set(b->err, ENOMEM, "%s", b->doc->name);
	}
	return 0;
}

static struct yt_node *find_anchor(struct builder *b, const char *name)
{
	return strmap_get(&b->anchors, name, strlen(name));
}

/* The position + 1 of key in the open mapping f, or 0. Small mappings are
 * walked; past YT_INDEX_MIN keys the mapping gets an index, so that a
 * mapping of n keys costs O(n) and not O(n^2) to check for duplicates. */
static size_t frame_find_key(const struct frame *f, const struct yt_node *key)
{
	if (f->index != NULL) {
		return (size_t)(uintptr_t)strmap_get(f->index, key->value, key->len);
	}
	for (size_t i = 0; i < f->keys.count; i++) {
		if (f->keys.items[i]->len == key->len && memcmp(f->keys.items[i]->value, key->value, key->len) == 0) {
			return i + 1;
		}
	}
	return 0;
}

static int frame_add_key(struct builder *b, struct frame *f, struct yt_node *key)
{
	if (vec_push(&f->keys, key) < 0) {
		return berr_set(b->err, ENOMEM, "%s", b->doc->name);
	}
	if (f->index == NULL && f->keys.count <= YT_INDEX_MIN) {
		return 0;
	}
	if (f->index == NULL) {
		f->index = arena_alloc(b->arena, sizeof(*f->index));
		if (f->index == NULL) {
			return berr_set(b->err, ENOMEM, "%s", b->doc->name);
		}
		strmap_init(f->index, b->arena);
		for (size_t i = 0; i + 1 < f->keys.count; i++) {
			const struct yt_node *k = f->keys.items[i];
			if (strmap_add(f->index, k->value, k->len, (void *)(uintptr_t)(i + 1), NULL) < 0) {
				return berr_set(b->err, ENOMEM, "%s", b->doc->name);
			}
		}
	}
	if (strmap_add(f->index, key->value, key->len, (void *)(uintptr_t)f->keys.count, NULL) < 0) {
		return berr_set(b->err, ENOMEM, "%s", b->doc->name);
	}
	return 0;
}

/* Adds a finished node to its parent (or makes it the root). */
static int attach(struct builder *b, struct yt_node *n)
{
	if (b->depth == 0) {
		b->doc->root = n;
		return 0;
	}
	struct frame *f = &b->stack[b->depth - 1];
	if (f->node->kind == YT_SEQ) {
		return vec_push(&f->items, n) < 0 ? berr_set(b->err, ENOMEM, "%s", b->doc->name) : 0;
	}
	if (f->keys.count == f->items.count) {
		if (n->kind != YT_SCALAR) {
			return line_error(b, (size_t)n->line, "mapping keys must be plain strings");
		}
		size_t first = frame_find_key(f, n);
		if (first != 0) {
			return line_error(b, (size_t)n->line, "duplicate key '%.200s' (first at line %d)", n->value,
					  f->keys.items[first - 1]->line);
		}
		return frame_add_key(b, f, n);
	}
	return vec_push(&f->items, n) < 0 ? berr_set(b->err, ENOMEM, "%s", b->doc->name) : 0;
}

static int open_container(struct builder *b, enum yt_kind kind, const yaml_event_t *ev, const yaml_char_t *anchor,
			  const yaml_char_t *tag)
{
	if (b->depth == YT_MAX_DEPTH) {
		return line_error(b, ev->start_mark.line + 1, "nesting deeper than %d levels", YT_MAX_DEPTH);
	}
	struct yt_node *n = new_node(b, kind, ev);
	if (n == NULL || set_tag(b, n, tag) < 0 || remember_anchor(b, anchor, n) < 0) {
		return -EINVAL;
	}
	struct frame *f = &b->stack[b->depth++];
	memset(f, 0, sizeof(*f));
	f->node = n;
	return 0;
}

static int close_container(struct builder *b)
{
	struct frame *f = &b->stack[--b->depth];
	struct yt_node *n = f->node;
	n->count = f->items.count;
	if (n->count > 0) {
		n->items = arena_alloc(b->arena, n->count * sizeof(*n->items));
		if (n->items == NULL) {
			return berr_set(b->err, ENOMEM, "%s", b->doc->name);
		}
		memcpy(n->items, f->items.items, n->count * sizeof(*n->items));
		if (n->kind == YT_MAP) {
			n->keys = arena_alloc(b->arena, n->count * sizeof(*n->keys));
			if (n->keys == NULL) {
				return berr_set(b->err, ENOMEM, "%s", b->doc->name);
			}
			memcpy(n->keys, f->keys.items, n->count * sizeof(*n->keys));
			n->index = f->index;
		}
	}
	free(f->items.items);
	free(f->keys.items);
	memset(f, 0, sizeof(*f));
	return attach(b, n);
}

static int on_scalar(struct builder *b, const yaml_event_t *ev)
{
	const char *value = (const char *)ev->data.scalar.value;
	size_t len = ev->data.scalar.length;
	if (memchr(value, '\0', len) != NULL) {
		return line_error(b, ev->start_mark.line + 1, "a value contains a NUL byte");
	}
	struct yt_node *n = new_node(b, YT_SCALAR, ev);
	if (n == NULL) {
		return -EINVAL;
	}
	n->value = arena_strndup(b->arena, value, len);
	n->len = len;
	n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	if (n->value == NULL) {
		return berr_set(b->err, ENOMEM, "%s", b->doc->name);
	}
	if (set_tag(b, n, ev->data.scalar.tag) < 0 || remember_anchor(b, ev->data.scalar.anchor, n) < 0) {
		return -EINVAL;
	}
	return attach(b, n);
}

static int on_alias(struct builder *b, const yaml_event_t *ev)
{
	const char *name = (const char *)ev->data.alias.anchor;
	if (++b->aliases > YT_MAX_ALIASES) {
		return line_error(b, ev->start_mark.line + 1, "too many aliases (more than %d)", YT_MAX_ALIASES);
	}
	struct yt_node *n = find_anchor(b, name);
	if (n == NULL) {
		return line_error(b, ev->start_mark.line + 1, "unknown alias *%s", name);
	}
	/* An alias to a mapping that is still open would make a cycle. */
	for (int i = 0; i < b->depth; i++) {
		if (b->stack[i].node == n) {
			return line_error(b, ev->start_mark.line + 1, "alias *%s refers to its own parent", name);
		}
	}
	return attach(b, n);
}

static int parser_error(struct builder *b, const yaml_parser_t *p)
{
	const char *problem = p->problem ? p->problem : "invalid YAML";
	size_t line = p->problem_mark.line + 1;
	if (p->context != NULL) {
		return berr_setx(b->err, EINVAL, "%s:%zu: %s %s", b->doc->name, line, p->problem ? p->problem : "",
				 p->context);
	}
	return berr_setx(b->err, EINVAL, "%s:%zu: %s", b->doc->name, line, problem);
}

int yt_parse(struct yt_doc *doc, const char *name, const char *buf, size_t len, struct berr *err)
{
	memset(doc, 0, sizeof(*doc));
	snprintf(doc->name, sizeof(doc->name), "%s", name);
	if (len > YT_MAX_INPUT) {
		return berr_setx(err, EFBIG, "%s: larger than %u bytes", name, YT_MAX_INPUT);
	}
	struct arena *arena = calloc(1, sizeof(*arena));
	if (arena == NULL) {
		return berr_set(err, ENOMEM, "%s", name);
	}
	doc->arena = arena;
	struct builder b = {.doc = doc, .arena = arena, .err = err};
	strmap_init(&b.anchors, NULL);
	yaml_parser_t parser;
	if (!yaml_parser_initialize(&parser)) {
		return berr_set(err, ENOMEM, "%s: YAML parser", name);
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	int ret = 0;
	int documents = 0;
	int done = 0;
	while (!done && ret == 0) {
		yaml_event_t ev;
		if (!yaml_parser_parse(&parser, &ev)) {
			ret = parser_error(&b, &parser);
			break;
		}
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = 1;
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (++documents > 1) {
				ret = line_error(&b, ev.start_mark.line + 1, "only one YAML document is allowed");
			}
			break;
		case YAML_SCALAR_EVENT:
			ret = on_scalar(&b, &ev);
			break;
		case YAML_ALIAS_EVENT:
			ret = on_alias(&b, &ev);
			break;
		case YAML_SEQUENCE_START_EVENT:
			ret = open_container(&b, YT_SEQ, &ev, ev.data.sequence_start.anchor,
					     ev.data.sequence_start.tag);
			break;
		case YAML_MAPPING_START_EVENT:
			ret = open_container(&b, YT_MAP, &ev, ev.data.mapping_start.anchor, ev.data.mapping_start.tag);
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			ret = close_container(&b);
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&parser);
	while (b.depth > 0) {
		struct frame *f = &b.stack[--b.depth];
		free(f->items.items);
		free(f->keys.items);
	}
	strmap_free(&b.anchors);
	if (ret < 0) {
		yt_free(doc);
		return ret < 0 ? ret : -EINVAL;
	}
	return 0;
}

int yt_parse_file(struct yt_doc *doc, const char *path, const char *display_name, struct berr *err)
{
	memset(doc, 0, sizeof(*doc));
	auto_free char *buf = NULL;
	size_t len = 0;
	int ret = read_file_alloc(AT_FDCWD, path, 0, YT_MAX_INPUT, display_name, &buf, &len, err);
	if (ret < 0) {
		return ret;
	}
	return yt_parse(doc, display_name, buf, len, err);
}

void yt_free(struct yt_doc *doc)
{
	if (doc->arena != NULL) {
		arena_free(doc->arena);
		free(doc->arena);
	}
	doc->arena = NULL;
	doc->root = NULL;
}

/* ---- reading ---------------------------------------------------------------- */

int yt_index_map(struct arena *arena, struct yt_node *map)
{
	map->index = NULL;
	if (map->count <= YT_INDEX_MIN) {
		return 0;
	}
	struct strmap *index = arena_alloc(arena, sizeof(*index));
	if (index == NULL) {
		return -ENOMEM;
	}
	strmap_init(index, arena);
	if (strmap_reserve(index, map->count) < 0) {
		return -ENOMEM;
	}
	for (size_t i = 0; i < map->count; i++) {
		const struct yt_node *k = map->keys[i];
		if (strmap_add(index, k->value, k->len, (void *)(uintptr_t)(i + 1), NULL) < 0) {
			return -ENOMEM;
		}
	}
	map->index = index;
	return 0;
}

const struct yt_node *yt_get(const struct yt_node *map, const char *key)
{
	if (map == NULL || map->kind != YT_MAP) {
		return NULL;
	}
	if (map->index != NULL) {
		size_t at = (size_t)(uintptr_t)strmap_get(map->index, key, strlen(key));
		return at != 0 ? map->items[at - 1] : NULL;
	}
	for (size_t i = 0; i < map->count; i++) {
		if (strcmp(map->keys[i]->value, key) == 0) {
			return map->items[i];
		}
	}
	return NULL;
}

int yt_is_null(const struct yt_node *n)
{
	if (n == NULL) {
		return 1;
	}
	if (n->kind != YT_SCALAR) {
		return 0;
	}
	if (n->tag != NULL && strcmp(n->tag, "tag:yaml.org,2002:null") == 0) {
		return 1;
	}
	return n->plain && n->tag == NULL &&
	       (n->len == 0 || strcmp(n->value, "~") == 0 || strcmp(n->value, "null") == 0 ||
		strcmp(n->value, "Null") == 0 || strcmp(n->value, "NULL") == 0);
}

const char *yt_kind_name(const struct yt_node *n)
{
	if (yt_is_null(n)) {
		return "nothing";
	}
	switch (n->kind) {
	case YT_MAP:
		return "a mapping";
	case YT_SEQ:
		return "a list";
	case YT_SCALAR:
		return "a scalar";
	}
	return "?";
}

int yt_string(const struct yt_doc *doc, const struct yt_node *n, const char *field, const char **out, struct berr *err)
{
	if (n == NULL || n->kind != YT_SCALAR || yt_is_null(n)) {
		return yt_error(doc, n, err, "%s: expected a string, got %s", field, yt_kind_name(n));
	}
	*out = n->value;
	return 0;
}

int yt_bool(const struct yt_doc *doc, const struct yt_node *n, const char *field, int *out, struct berr *err)
{
	static const char *const yes[] = {"true", "yes", "on"};
	static const char *const no[] = {"false", "no", "off"};
	if (n != NULL && n->kind == YT_SCALAR && n->plain) {
		for (size_t i = 0; i < 3; i++) {
			if (strcasecmp(n->value, yes[i]) == 0) {
				*out = 1;
				return 0;
			}
			if (strcasecmp(n->value, no[i]) == 0) {
				*out = 0;
				return 0;
			}
		}
	}
	if (n != NULL && n->kind == YT_SCALAR) {
		return yt_error(doc, n, err, "%s: expected true or false, got '%.100s'", field, n->value);
	}
	return yt_error(doc, n, err, "%s: expected true or false, got %s", field, yt_kind_name(n));
}

int yt_int(const struct yt_doc *doc, const struct yt_node *n, const char *field, long long min, long long max,
	   long long *out, struct berr *err)
{
	if (n == NULL || n->kind != YT_SCALAR || yt_is_null(n)) {
		return yt_error(doc, n, err, "%s: expected a number, got %s", field, yt_kind_name(n));
	}
	char *end;
	errno = 0;
	long long v = strtoll(n->value, &end, 10);
	if (errno != 0 || end == n->value || *end != '\0') {
		return yt_error(doc, n, err, "%s: expected a number, got '%.100s'", field, n->value);
	}
	if (v < min || v > max) {
		return yt_error(doc, n, err, "%s: %lld is out of range (%lld to %lld)", field, v, min, max);
	}
	*out = v;
	return 0;
}

int yt_check_keys(const struct yt_doc *doc, const struct yt_node *map, const char *where, const char *const *known,
		  struct berr *err)
{
	if (map == NULL || map->kind != YT_MAP) {
		return 0;
	}
	for (size_t i = 0; i < map->count; i++) {
		const char *k = map->keys[i]->value;
		int found = 0;
		for (const char *const *p = known; *p != NULL; p++) {
			if (strcmp(*p, k) == 0) {
				found = 1;
				break;
			}
		}
		if (!found) {
			return yt_error(doc, map->keys[i], err, "unknown key '%.100s' in %s", k, where);
		}
	}
	return 0;
}
