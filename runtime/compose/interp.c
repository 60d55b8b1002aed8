/* Variables, interpolation and dotenv files (see interp.h). Interpolation
 * follows the Compose specification: names are [A-Za-z_][A-Za-z0-9_]*, a
 * `$` that starts nothing valid is an error (as in Docker Compose, which
 * asks to write `$$`), and defaults may themselves hold expressions. */
#include "compose/interp.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/fsutil.h"

#define NAME_MAX_LEN 255

/* ---- variable sets ---------------------------------------------------------- */

static size_t vars_find(const struct compose_vars *v, const char *name)
{
	return (size_t)(uintptr_t)strmap_get(&v->index, name, strlen(name));
}

int compose_vars_set(struct compose_vars *v, const char *name, const char *value)
{
	size_t at = vars_find(v, name);
	if (at != 0) {
		char *copy = strdup(value);
		if (copy == NULL) {
			return -ENOMEM;
		}
		free(v->items[at - 1].value);
		v->items[at - 1].value = copy;
		return 0;
	}
	if (v->count >= COMPOSE_VARS_MAX) {
		return -E2BIG;
	}
	if (v->count == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 16;
		struct compose_var *items = realloc(v->items, cap * sizeof(*items));
		if (items == NULL) {
			return -ENOMEM;
		}
		v->items = items;
		v->cap = cap;
	}
	char *n = strdup(name);
	char *val = strdup(value);
	/* The index borrows the name's own copy, which never moves. */
	if (n == NULL || val == NULL ||
	    strmap_add(&v->index, n, strlen(n), (void *)(uintptr_t)(v->count + 1), NULL) < 0) {
		free(n);
		free(val);
		return -ENOMEM;
	}
	v->items[v->count].name = n;
	v->items[v->count].value = val;
	v->count++;
	return 0;
}

const char *compose_vars_get(const struct compose_vars *v, const char *name)
{
	if (v == NULL) {
		return NULL;
	}
	size_t at = vars_find(v, name);
	return at != 0 ? v->items[at - 1].value : NULL;
}

void compose_vars_free(struct compose_vars *v)
{
	for (size_t i = 0; i < v->count; i++) {
		free(v->items[i].name);
		free(v->items[i].value);
	}
	free(v->items);
	strmap_free(&v->index);
	memset(v, 0, sizeof(*v));
}

/* ---- growing output ----------------------------------------------------------- */

struct sbuf {
	char *data;
	size_t len;
	size_t cap;
};

static int sb_put(struct sbuf *b, const char *s, size_t n, struct berr *err)
{
	if (n > COMPOSE_INTERP_MAX || b->len + n > COMPOSE_INTERP_MAX) {
		return berr_setx(err, E2BIG, "the value is longer than %u bytes after interpolation",
				 COMPOSE_INTERP_MAX);
	}
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		while (cap < b->len + n + 1) {
			cap *= 2;
		}
		char *d = realloc(b->data, cap);
		if (d == NULL) {
			return berr_set(err, ENOMEM, "interpolation");
		}
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

/* ---- interpolation --------------------------------------------------------------- */

static int name_start(char c)
{
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int name_char(char c)
{
	return name_start(c) || (c >= '0' && c <= '9');
}

static int invalid(const char *text, struct berr *err)
{
	return berr_setx(err, EINVAL,
			 "invalid interpolation format in '%.120s': you may need to escape any $ with another $", text);
}

static const char *lookup(const struct compose_interp *in, const char *name)
{
	const char *v = compose_vars_get(in->vars, name);
	return v != NULL ? v : compose_vars_get(in->fallback, name);
}

static int expand(const struct compose_interp *in, const char *whole, const char *s, size_t len, struct sbuf *out,
		  int depth, struct berr *err);

/* Finds the `}` that closes a `${` whose body starts at from; nested `${`
 * (in defaults) and `$$` are skipped. */
static int find_close(const char *s, size_t len, size_t from, size_t *close)
{
	int depth = 0;
	for (size_t i = from; i < len; i++) {
		if (s[i] == '$' && i + 1 < len && (s[i + 1] == '$' || s[i + 1] == '{')) {
			depth += s[i + 1] == '{';
			i++;
		} else if (s[i] == '}') {
			if (depth == 0) {
				*close = i;
				return 0;
			}
			depth--;
		}
	}
	return -1;
}

static int substitute(const struct compose_interp *in, const char *name, struct sbuf *out, struct berr *err)
{
	const char *v = lookup(in, name);
	if (v == NULL) {
		if (in->unset != NULL) {
			in->unset(in->ctx, name);
		}
		return 0;
	}
	return sb_put(out, v, strlen(v), err);
}

/* The body of ${...}: NAME, then nothing or one of :- - :? ? :+ + and a word. */
static int braced(const struct compose_interp *in, const char *whole, const char *s, size_t len, struct sbuf *out,
		  int depth, struct berr *err)
{
	if (len == 0 || !name_start(s[0])) {
		return invalid(whole, err);
	}
	size_t n = 1;
	while (n < len && name_char(s[n])) {
		n++;
	}
	if (n > NAME_MAX_LEN) {
		return berr_setx(err, EINVAL, "variable name '%.40s...' is too long", s);
	}
	char name[NAME_MAX_LEN + 1];
	memcpy(name, s, n);
	name[n] = '\0';
	if (n == len) {
		return substitute(in, name, out, err);
	}
	const char *rest = s + n;
	size_t rlen = len - n;
	int colon = rest[0] == ':';
	if (rlen < (size_t)colon + 1) {
		return invalid(whole, err);
	}
	char op = rest[colon];
	if (op != '-' && op != '?' && op != '+') {
		return invalid(whole, err);
	}
	const char *word = rest + colon + 1;
	size_t wlen = rlen - (size_t)colon - 1;
	const char *v = lookup(in, name);
	/* With a colon an empty value counts as unset, as in the shell. */
	int present = v != NULL && (!colon || v[0] != '\0');
	switch (op) {
	case '-':
		if (present) {
			return sb_put(out, v, strlen(v), err);
		}
		return expand(in, whole, word, wlen, out, depth + 1, err);
	case '?':
		if (present) {
			return sb_put(out, v, strlen(v), err);
		}
		if (wlen == 0) {
			return berr_setx(err, EINVAL, "required variable %s is missing a value", name);
		}
		return berr_setx(err, EINVAL, "required variable %s is missing a value: %.*s", name,
				 (int)(wlen > 300 ? 300 : wlen), word);
	default:
		if (present) {
			return expand(in, whole, word, wlen, out, depth + 1, err);
		}
		return 0;
	}
}

static int expand(const struct compose_interp *in, const char *whole, const char *s, size_t len, struct sbuf *out,
		  int depth, struct berr *err)
{
	if (depth > COMPOSE_INTERP_DEPTH) {
		return berr_setx(err, EINVAL, "interpolation in '%.120s' is nested more than %d levels deep", whole,
				 COMPOSE_INTERP_DEPTH);
	}
	size_t i = 0;
	while (i < len) {
		const char *dollar = memchr(s + i, '$', len - i);
		size_t upto = dollar ? (size_t)(dollar - s) : len;
		int ret = sb_put(out, s + i, upto - i, err);
		if (ret < 0) {
			return ret;
		}
		i = upto;
		if (i == len) {
			break;
		}
		if (i + 1 == len) {
			return invalid(whole, err);
		}
		char c = s[i + 1];
		if (c == '$') {
			ret = sb_put(out, "$", 1, err);
			i += 2;
		} else if (name_start(c)) {
			size_t j = i + 1;
			while (j < len && name_char(s[j])) {
				j++;
			}
			if (j - i - 1 > NAME_MAX_LEN) {
				return berr_setx(err, EINVAL, "variable name '%.40s...' is too long", s + i + 1);
			}
			char name[NAME_MAX_LEN + 1];
			memcpy(name, s + i + 1, j - i - 1);
			name[j - i - 1] = '\0';
			ret = substitute(in, name, out, err);
			i = j;
		} else if (c == '{') {
			size_t close;
			if (find_close(s, len, i + 2, &close) < 0) {
				return berr_setx(err, EINVAL, "unterminated ${ in '%.120s'", whole);
			}
			ret = braced(in, whole, s + i + 2, close - i - 2, out, depth, err);
			i = close + 1;
		} else {
			return invalid(whole, err);
		}
		if (ret < 0) {
			return ret;
		}
	}
	return 0;
}

int compose_interpolate(const struct compose_interp *in, const char *text, char **out, struct berr *err)
{
	struct sbuf b = {0};
	int ret = sb_put(&b, "", 0, err);
	if (ret == 0) {
		ret = expand(in, text, text, strlen(text), &b, 0, err);
	}
	if (ret < 0) {
		free(b.data);
		*out = NULL;
		return ret;
	}
	*out = b.data;
	return 0;
}

/* ---- dotenv ---------------------------------------------------------------------- */

struct dotenv {
	const char *name;
	const char *buf;
	size_t len;
	size_t i;
	int line;
	struct berr *err;
};

__attribute__((format(printf, 3, 4))) static int dotenv_error(struct dotenv *d, int line, const char *fmt, ...)
{
	char msg[600];
	va_list ap;
	va_start(ap, fmt);
	if (vsnprintf(msg, sizeof(msg), fmt, ap) < 0) {
		msg[0] = '\0';
	}
	va_end(ap);
	return berr_setx(d->err, EINVAL, "%s:%d: %s", d->name, line, msg);
}

static void skip_blanks(struct dotenv *d)
{
	while (d->i < d->len && (d->buf[d->i] == ' ' || d->buf[d->i] == '\t' || d->buf[d->i] == '\r')) {
		d->i++;
	}
}

static void skip_line(struct dotenv *d)
{
	while (d->i < d->len && d->buf[d->i] != '\n') {
		d->i++;
	}
}

static int env_name_char(char c)
{
	return name_char(c) || c == '.' || c == '-';
}

/* After a closing quote only blanks and a comment may follow. */
static int after_quote(struct dotenv *d, const char *key)
{
	skip_blanks(d);
	if (d->i < d->len && d->buf[d->i] == '#') {
		skip_line(d);
	}
	if (d->i < d->len && d->buf[d->i] != '\n') {
		return dotenv_error(d, d->line, "%s: unexpected text after the closing quote", key);
	}
	return 0;
}

static int single_quoted(struct dotenv *d, const char *key, int start, struct sbuf *raw)
{
	d->i++;
	for (;;) {
		if (d->i >= d->len) {
			return dotenv_error(d, start, "%s: the quoted value is never closed", key);
		}
		char c = d->buf[d->i];
		int ret;
		if (c == '\\' && d->i + 1 < d->len && d->buf[d->i + 1] == '\'') {
			ret = sb_put(raw, "'", 1, d->err);
			d->i += 2;
		} else if (c == '\'') {
			d->i++;
			return after_quote(d, key);
		} else {
			d->line += c == '\n';
			ret = sb_put(raw, &c, 1, d->err);
			d->i++;
		}
		if (ret < 0) {
			return ret;
		}
	}
}

/* Escapes become their characters; `\$` becomes `$$`, which interpolation
 * then turns into a literal `$`. */
static int double_quoted(struct dotenv *d, const char *key, int start, struct sbuf *raw)
{
	d->i++;
	for (;;) {
		if (d->i >= d->len) {
			return dotenv_error(d, start, "%s: the quoted value is never closed", key);
		}
		char c = d->buf[d->i];
		int ret;
		if (c == '\\' && d->i + 1 < d->len) {
			char e = d->buf[d->i + 1];
			const char *rep;
			switch (e) {
			case 'n':
				rep = "\n";
				break;
			case 'r':
				rep = "\r";
				break;
			case 't':
				rep = "\t";
				break;
			case '\\':
				rep = "\\";
				break;
			case '"':
				rep = "\"";
				break;
			case '$':
				rep = "$$";
				break;
			default:
				rep = NULL;
				break;
			}
			if (rep != NULL) {
				ret = sb_put(raw, rep, strlen(rep), d->err);
			} else {
				d->line += e == '\n';
				ret = sb_put(raw, d->buf + d->i, 2, d->err);
			}
			d->i += 2;
		} else if (c == '"') {
			d->i++;
			return after_quote(d, key);
		} else {
			d->line += c == '\n';
			ret = sb_put(raw, &c, 1, d->err);
			d->i++;
		}
		if (ret < 0) {
			return ret;
		}
	}
}

static int unquoted(struct dotenv *d, int had_blank, struct sbuf *raw)
{
	size_t start = d->i;
	skip_line(d);
	size_t end = d->i;
	/* A comment needs a blank before its #: `a#b` is a value. */
	for (size_t k = start; k < end; k++) {
		if (d->buf[k] == '#' && (k == start ? had_blank : (d->buf[k - 1] == ' ' || d->buf[k - 1] == '\t'))) {
			end = k;
			break;
		}
	}
	while (end > start && (d->buf[end - 1] == ' ' || d->buf[end - 1] == '\t' || d->buf[end - 1] == '\r')) {
		end--;
	}
	return sb_put(raw, d->buf + start, end - start, d->err);
}

static int dotenv_entry(struct dotenv *d, struct compose_vars *out, const struct compose_vars *lookup)
{
	int start = d->line;
	if (d->len - d->i > 6 && memcmp(d->buf + d->i, "export", 6) == 0 &&
	    (d->buf[d->i + 6] == ' ' || d->buf[d->i + 6] == '\t')) {
		d->i += 6;
		skip_blanks(d);
	}
	size_t ns = d->i;
	while (d->i < d->len && env_name_char(d->buf[d->i])) {
		d->i++;
	}
	size_t nlen = d->i - ns;
	if (nlen == 0 || !name_start(d->buf[ns])) {
		return dotenv_error(d, start, "expected NAME=VALUE");
	}
	if (nlen > NAME_MAX_LEN) {
		return dotenv_error(d, start, "variable name too long");
	}
	char key[NAME_MAX_LEN + 1];
	memcpy(key, d->buf + ns, nlen);
	key[nlen] = '\0';
	skip_blanks(d);
	if (d->i >= d->len || d->buf[d->i] == '\n' || d->buf[d->i] == '#') {
		skip_line(d);
		const char *v = compose_vars_get(lookup, key);
		if (v == NULL) {
			return 0;
		}
		int ret = compose_vars_set(out, key, v);
		return ret < 0 ? dotenv_error(d, start, "%s: %s", key, strerror(-ret)) : 0;
	}
	if (d->buf[d->i] != '=') {
		return dotenv_error(d, start, "expected '=' after %s", key);
	}
	d->i++;
	size_t before = d->i;
	skip_blanks(d);
	int had_blank = d->i > before;
	struct sbuf raw = {0};
	int ret = sb_put(&raw, "", 0, d->err);
	int literal = 0;
	if (ret == 0 && d->i < d->len && d->buf[d->i] == '\'') {
		literal = 1;
		ret = single_quoted(d, key, start, &raw);
	} else if (ret == 0 && d->i < d->len && d->buf[d->i] == '"') {
		ret = double_quoted(d, key, start, &raw);
	} else if (ret == 0) {
		ret = unquoted(d, had_blank, &raw);
	}
	char *value = NULL;
	if (ret == 0 && !literal) {
		struct compose_interp in = {.vars = out, .fallback = lookup};
		struct berr e;
		ret = compose_interpolate(&in, raw.data, &value, &e);
		if (ret < 0) {
			ret = dotenv_error(d, start, "%s: %s", key, e.msg);
		}
	} else if (ret == 0) {
		value = raw.data;
		raw.data = NULL;
	}
	free(raw.data);
	if (ret < 0) {
		return ret;
	}
	ret = compose_vars_set(out, key, value);
	free(value);
	if (ret < 0) {
		return dotenv_error(d, start, "%s: %s", key, ret == -E2BIG ? "too many variables" : strerror(-ret));
	}
	return 0;
}

int compose_dotenv_parse(struct compose_vars *out, const struct compose_vars *lookup, const char *name, const char *buf,
			 size_t len, struct berr *err)
{
	struct dotenv d = {.name = name, .buf = buf, .len = len, .line = 1, .err = err};
	if (len > COMPOSE_DOTENV_MAX) {
		return berr_setx(err, EFBIG, "%s: larger than %u bytes", name, COMPOSE_DOTENV_MAX);
	}
	if (memchr(buf, '\0', len) != NULL) {
		return berr_setx(err, EINVAL, "%s: contains a NUL byte", name);
	}
	while (d.i < d.len) {
		skip_blanks(&d);
		if (d.i >= d.len) {
			break;
		}
		if (d.buf[d.i] == '\n') {
			d.line++;
			d.i++;
			continue;
		}
		if (d.buf[d.i] == '#') {
			skip_line(&d);
			continue;
		}
		int ret = dotenv_entry(&d, out, lookup);
		if (ret < 0) {
			return ret;
		}
	}
	return 0;
}

int compose_dotenv_load(struct compose_vars *out, const struct compose_vars *lookup, const char *path,
			const char *display, struct berr *err)
{
	auto_free char *buf = NULL;
	size_t len = 0;
	/* O_NONBLOCK: a FIFO named as an env file must not hang the daemon. */
	int ret = read_file_alloc(AT_FDCWD, path, O_NONBLOCK, COMPOSE_DOTENV_MAX, display, &buf, &len, err);
	if (ret < 0) {
		return ret;
	}
	return compose_dotenv_parse(out, lookup, display, buf, len, err);
}
