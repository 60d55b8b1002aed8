/* Comparing two generations' YAML (see configdiff.h). */
#include "cli/configdiff.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"
#include "lib/hostcfg.h"
#include "lib/yamltree.h"

/* A YAML node as text with mapping keys sorted: equal for two nodes
 * that say the same thing however they are laid out. */
static int key_cmp(const void *a, const void *b)
{
	const struct yt_node *x = **(const struct yt_node *const *const *)a;
	const struct yt_node *y = **(const struct yt_node *const *const *)b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->value, y->value, n);
	return c != 0 ? c : (x->len > y->len) - (x->len < y->len);
}

static void canon(const struct yt_node *n, FILE *out, int depth)
{
	if (n == NULL || depth > 64) {
		fputs("~", out);
	} else if (n->kind == YT_SCALAR) {
		fprintf(out, "%zu:", n->len);
		fwrite(n->value, 1, n->len, out);
	} else if (n->kind == YT_SEQ) {
		fputc('[', out);
		for (size_t i = 0; i < n->count; i++) {
			canon(n->items[i], out, depth + 1);
			fputc(',', out);
		}
		fputc(']', out);
	} else {
		auto_free struct yt_node ***order = calloc(n->count + 1, sizeof(*order));
		if (order == NULL) {
			fputs("!", out);
			return;
		}
		for (size_t i = 0; i < n->count; i++) {
			order[i] = &n->keys[i];
		}
		qsort(order, n->count, sizeof(order[0]), key_cmp);
		fputc('{', out);
		for (size_t i = 0; i < n->count; i++) {
			size_t k = (size_t)(order[i] - n->keys);
			canon(n->keys[k], out, depth + 1);
			fputc('=', out);
			canon(n->items[k], out, depth + 1);
			fputc(',', out);
		}
		fputc('}', out);
	}
}

/* canon() into a new string (caller frees). */
static char *canon_text(const struct yt_node *n)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (f == NULL) {
		return NULL;
	}
	canon(n, f, 0);
	fclose(f);
	return buf;
}

/* Two values that cannot be compared (out of memory) count as changed:
 * a trial taken for nothing costs a confirmation, a network change
 * switched live can cost the host. */
static int same_value(const struct yt_node *a, const struct yt_node *b)
{
	auto_free char *x = canon_text(a);
	auto_free char *y = canon_text(b);
	return x != NULL && y != NULL && strcmp(x, y) == 0;
}

static const struct yt_node *as_map(const struct yt_node *n)
{
	return n != NULL && n->kind == YT_MAP ? n : NULL;
}

size_t configdiff_maps(const struct yt_node *old, const struct yt_node *new, configdiff_fn fn, void *ctx)
{
	old = as_map(old);
	new = as_map(new);
	size_t n = 0;
	for (int pass = 0; pass < 2; pass++) {
		const struct yt_node *a = pass == 0 ? new : old;
		const struct yt_node *b = pass == 0 ? old : new;
		for (size_t i = 0; a != NULL && i < a->count; i++) {
			char key[256];
			snprintf(key, sizeof(key), "%.*s", (int)a->keys[i]->len, a->keys[i]->value);
			const struct yt_node *other = yt_get(b, key);
			if (other == NULL) {
				fn(key, pass == 0 ? CONFIGDIFF_CREATED : CONFIGDIFF_REMOVED, ctx);
				n++;
			} else if (pass == 0 && !same_value(a->items[i], other)) {
				fn(key, CONFIGDIFF_CHANGED, ctx);
				n++;
			}
		}
	}
	return n;
}

static void note_trial(const char *key, enum configdiff_change change, void *ctx)
{
	(void)change;
	if (hostcfg_when(key) == HOST_ON_TRIAL) {
		*(int *)ctx = 1;
	}
}

int configdiff_needs_trial(const struct yt_node *old_host, const struct yt_node *new_host)
{
	int on_trial = 0;
	configdiff_maps(old_host, new_host, note_trial, &on_trial);
	return on_trial;
}
