/* YAML documents as trees, built on libyaml's event parser, with the line
 * of every node kept so that config errors can say `file:line: ...`.
 * Anchors and aliases are resolved by sharing nodes; merge keys (`<<`) are
 * left to the caller. Input is untrusted: sizes, depth and alias use are
 * bounded, and every error names the file and line. */
#ifndef BERTH_YAMLTREE_H
#define BERTH_YAMLTREE_H

#include <stddef.h>

#include "lib/berr.h"

struct arena;
struct strmap;

#define YT_MAX_INPUT (4u << 20) /* bytes of YAML accepted */
#define YT_MAX_DEPTH 64
#define YT_MAX_NODES 200000
#define YT_MAX_ALIASES 10000

enum yt_kind {
	YT_SCALAR,
	YT_MAP,
	YT_SEQ,
};

struct yt_node {
	enum yt_kind kind;
	int line;	 /* 1-based */
	int plain;	 /* scalar written without quotes (so `null`, `true`, `8080` keep their YAML meaning) */
	const char *tag; /* explicit tag (`!!str`), or NULL */
	/* YT_SCALAR */
	const char *value;
	size_t len;
	/* YT_SEQ: items; YT_MAP: keys[i] -> items[i] */
	struct yt_node **items;
	struct yt_node **keys;
	size_t count;
	/* YT_MAP with more than YT_INDEX_MIN keys: key -> i + 1, so that a
	 * lookup does not walk the keys (NULL: walk them). A copy of a node
	 * whose keys change must rebuild or clear it. */
	const struct strmap *index;
};

#define YT_INDEX_MIN 8

struct yt_doc {
	char name[128];	      /* the file name used in messages */
	struct yt_node *root; /* NULL for an empty document */
	void *arena;
};

/* Parses buf as a single YAML document. On error, err says "name:line: ...". */
int yt_parse(struct yt_doc *doc, const char *name, const char *buf, size_t len, struct berr *err);

/* Reads and parses a file; the name in messages is display_name. */
int yt_parse_file(struct yt_doc *doc, const char *path, const char *display_name, struct berr *err);

void yt_free(struct yt_doc *doc);

/* Gives a mapping made or changed outside the parser its key index (slots
 * from arena). Keys must be distinct. 0 or -ENOMEM. */
int yt_index_map(struct arena *arena, struct yt_node *map);

/* The value for key in a mapping, or NULL (also when map is not one).
 * Constant time on an indexed mapping. */
const struct yt_node *yt_get(const struct yt_node *map, const char *key);

/* True for an explicit or implicit null: `~`, `null`, or nothing. */
int yt_is_null(const struct yt_node *n);

/* What n is, for messages: "a mapping", "a list", "a scalar", "nothing". */
const char *yt_kind_name(const struct yt_node *n);

/* Sets err to "file:line: fmt..." for node n (line 0 if n is NULL). */
int yt_error(const struct yt_doc *doc, const struct yt_node *n, struct berr *err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Typed reads: each fails with "file:line: FIELD: expected ..." */
int yt_string(const struct yt_doc *doc, const struct yt_node *n, const char *field, const char **out, struct berr *err);
int yt_bool(const struct yt_doc *doc, const struct yt_node *n, const char *field, int *out, struct berr *err);
int yt_int(const struct yt_doc *doc, const struct yt_node *n, const char *field, long long min, long long max,
	   long long *out, struct berr *err);

/* Fails on the first key of map not in the NULL-terminated list known:
 * "file:line: unknown key 'k' in WHERE". */
int yt_check_keys(const struct yt_doc *doc, const struct yt_node *map, const char *where, const char *const *known,
		  struct berr *err);

#endif
