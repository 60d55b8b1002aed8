/* GRUB environment blocks (see grubenv.h). No I/O, no allocation. */
#include "lib/grubenv.h"

#include <errno.h>
#include <string.h>

#include "lib/fsutil.h"

void grubenv_init(struct grubenv *e)
{
	e->n = 0;
}

static int valid_key(const char *key, size_t len)
{
	if (len == 0 || len >= GRUBENV_KEY_MAX) {
		return 0;
	}
	for (size_t i = 0; i < len; i++) {
		char c = key[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) {
			return 0;
		}
	}
	return 1;
}

static struct grubenv_var *find(const struct grubenv *e, const char *key)
{
	for (size_t i = 0; i < e->n; i++) {
		if (strcmp(e->vars[i].key, key) == 0) {
			return (struct grubenv_var *)&e->vars[i];
		}
	}
	return NULL;
}

const char *grubenv_get(const struct grubenv *e, const char *key)
{
	const struct grubenv_var *v = find(e, key);
	return v != NULL ? v->value : NULL;
}

int grubenv_set(struct grubenv *e, const char *key, const char *value, struct berr *err)
{
	if (!valid_key(key, strlen(key))) {
		return berr_setx(err, EINVAL, "grubenv: '%.40s' is not a variable name", key);
	}
	if (strlen(value) >= GRUBENV_VALUE_MAX) {
		return berr_setx(err, EINVAL, "grubenv: the value of %s is longer than %d bytes", key,
				 GRUBENV_VALUE_MAX - 1);
	}
	struct grubenv_var *v = find(e, key);
	if (v == NULL) {
		if (e->n == GRUBENV_MAX_VARS) {
			return berr_setx(err, ENOSPC, "grubenv: more than %d variables", GRUBENV_MAX_VARS);
		}
		v = &e->vars[e->n++];
		copy_string(v->key, sizeof(v->key), key);
	}
	copy_string(v->value, sizeof(v->value), value);
	return 0;
}

void grubenv_unset(struct grubenv *e, const char *key)
{
	struct grubenv_var *v = find(e, key);
	if (v != NULL) {
		size_t i = (size_t)(v - e->vars);
		memmove(&e->vars[i], &e->vars[i + 1], (e->n - i - 1) * sizeof(e->vars[0]));
		e->n--;
	}
}

/* The end of the line starting at p, as GRUB finds it: a backslash hides
 * the character after it, newlines included. */
static const char *line_end(const char *p, const char *end)
{
	while (p < end && *p != '\n') {
		p += *p == '\\' ? 2 : 1;
	}
	return p;
}

int grubenv_parse(struct grubenv *e, const char *blk, size_t len, struct berr *err)
{
	size_t siglen = sizeof(GRUBENV_SIGNATURE) - 1;
	grubenv_init(e);
	if (len < siglen || memcmp(blk, GRUBENV_SIGNATURE, siglen) != 0) {
		return berr_setx(err, EINVAL, "not a GRUB environment block (no signature)");
	}
	const char *end = blk + len;
	const char *p = blk + siglen;
	while (p < end) {
		if (*p == '#') {
			p = line_end(p, end) + 1;
			continue;
		}
		const char *eq = memchr(p, '=', (size_t)(end - p));
		if (eq == NULL) {
			break; /* GRUB stops here too */
		}
		const char *vend = line_end(eq + 1, end);
		if (vend >= end) {
			break;
		}
		if (!valid_key(p, (size_t)(eq - p))) {
			return berr_setx(err, EINVAL, "grubenv: a variable name at byte %zu is not valid",
					 (size_t)(p - blk));
		}
		char key[GRUBENV_KEY_MAX];
		char value[GRUBENV_VALUE_MAX];
		memcpy(key, p, (size_t)(eq - p));
		key[eq - p] = '\0';
		size_t n = 0;
		for (const char *q = eq + 1; q < vend; q++) {
			if (*q == '\\') {
				q++;
			}
			if (n + 1 >= sizeof(value) || *q == '\0') {
				return berr_setx(err, EINVAL, "grubenv: the value of %s is too long or holds a NUL",
						 key);
			}
			value[n++] = *q;
		}
		value[n] = '\0';
		if (grubenv_set(e, key, value, err) < 0) {
			return -EINVAL;
		}
		p = vend + 1;
	}
	return 0;
}

/* Appends key=value\n with GRUB's escapes at blk[*pos], within limit. */
static int put_var(char *blk, size_t *pos, size_t limit, const struct grubenv_var *v)
{
	size_t need = strlen(v->key) + 2;
	for (const char *c = v->value; *c; c++) {
		need += (*c == '\\' || *c == '\n') ? 2 : 1;
	}
	if (*pos + need > limit) {
		return -ENOSPC;
	}
	size_t p = *pos;
	memcpy(blk + p, v->key, strlen(v->key));
	p += strlen(v->key);
	blk[p++] = '=';
	for (const char *c = v->value; *c; c++) {
		if (*c == '\\' || *c == '\n') {
			blk[p++] = '\\';
		}
		blk[p++] = *c;
	}
	blk[p++] = '\n';
	*pos = p;
	return 0;
}

int grubenv_format(const struct grubenv *e, const char *tail_key, char blk[GRUBENV_SIZE], struct berr *err)
{
	const struct grubenv_var *tail = tail_key != NULL ? find(e, tail_key) : NULL;
	char tail_line[GRUBENV_KEY_MAX + 2 * GRUBENV_VALUE_MAX + 2];
	size_t tail_len = 0;
	if (tail != NULL && put_var(tail_line, &tail_len, sizeof(tail_line), tail) < 0) {
		return berr_setx(err, ENOSPC, "grubenv: %s does not fit", tail->key);
	}
	/* The tail line plus one '#' after it stays in the last sector, and a
	 * comment line ('#'..., '\n') moves it there. */
	if (tail_len + 1 > GRUBENV_SECTOR - 2) {
		return berr_setx(err, ENOSPC, "grubenv: %s is longer than a sector", tail->key);
	}
	memset(blk, '#', GRUBENV_SIZE);
	size_t pos = sizeof(GRUBENV_SIGNATURE) - 1;
	memcpy(blk, GRUBENV_SIGNATURE, pos);
	size_t limit = GRUBENV_SIZE - (tail != NULL ? tail_len + 3 : 1);
	for (size_t i = 0; i < e->n; i++) {
		if (&e->vars[i] == tail) {
			continue;
		}
		if (put_var(blk, &pos, limit, &e->vars[i]) < 0) {
			return berr_setx(err, ENOSPC, "grubenv: the variables do not fit in %d bytes", GRUBENV_SIZE);
		}
	}
	if (tail != NULL) {
		/* The tail starts at the latest of: right after the variables
		 * plus a comment line, or where it still ends one '#' before the
		 * end. Either way in the last sector. */
		size_t start = GRUBENV_SIZE - 1 - tail_len;
		if (start < GRUBENV_SIZE - GRUBENV_SECTOR) {
			start = GRUBENV_SIZE - GRUBENV_SECTOR;
		}
		if (pos + 2 > start) {
			return berr_setx(err, ENOSPC, "grubenv: the variables do not fit in %d bytes", GRUBENV_SIZE);
		}
		/* blk[pos..start-2] stays '#': a comment line, ended here. */
		blk[start - 1] = '\n';
		memcpy(blk + start, tail_line, tail_len);
	}
	return 0;
}
