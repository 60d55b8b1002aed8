/* Image name checking and canonical form (see imgref.h). The grammar is
 * that of the distribution reference format, kept to what a name in an
 * archive or a compose file needs. */
#include "image/imgref.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "image/tar.h"

static int is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static int is_alnum(char c)
{
	return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

/* A path component: lower-case alphanumerics separated by ".", "_", "__"
 * or runs of "-". */
static int valid_path_component(const char *s, size_t len)
{
	if (len == 0 || !is_lower_alnum(s[0]) || !is_lower_alnum(s[len - 1])) {
		return 0;
	}
	for (size_t i = 1; i < len; i++) {
		char c = s[i];
		if (is_lower_alnum(c)) {
			continue;
		}
		if (c == '.' || c == '_') {
			int dunder = c == '_' && s[i + 1] == '_';
			size_t next = i + 1 + (size_t)dunder;
			if (next >= len || !is_lower_alnum(s[next])) {
				return 0;
			}
			i = next;
			continue;
		}
		if (c == '-') {
			continue;
		}
		return 0;
	}
	return 1;
}

/* A registry host: DNS labels (or an IPv4 address), an optional port. */
static int valid_domain(const char *s, size_t len)
{
	const char *colon = memchr(s, ':', len);
	size_t host = colon != NULL ? (size_t)(colon - s) : len;
	if (host == 0) {
		return 0;
	}
	for (size_t i = 0; i < host; i++) {
		char c = s[i];
		if (is_alnum(c)) {
			continue;
		}
		if ((c == '.' || c == '-') && i > 0 && i + 1 < host && is_alnum(s[i - 1])) {
			continue;
		}
		return 0;
	}
	if (colon != NULL) {
		size_t plen = len - host - 1;
		if (plen == 0 || plen > 5) {
			return 0;
		}
		for (size_t i = host + 1; i < len; i++) {
			if (s[i] < '0' || s[i] > '9') {
				return 0;
			}
		}
	}
	return 1;
}

static int valid_tag(const char *s)
{
	size_t len = strlen(s);
	if (len == 0 || len > 128) {
		return 0;
	}
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (is_alnum(c) || c == '_' || (i > 0 && (c == '.' || c == '-'))) {
			continue;
		}
		return 0;
	}
	return 1;
}

int imgref_normalize(const char *name, char *out, size_t size, struct berr *err)
{
	char q[300];
	size_t len = strlen(name);
	if (len == 0 || len >= IMGREF_MAX) {
		return berr_setx(err, EINVAL, "image name %s: must be 1 to %d characters",
				 tar_quote(name, q, sizeof(q)), IMGREF_MAX - 1);
	}
	if (strchr(name, '@') != NULL) {
		return berr_setx(err, EINVAL, "image name %s: digest references are not supported",
				 tar_quote(name, q, sizeof(q)));
	}
	const char *slash = strrchr(name, '/');
	const char *colon = strrchr(name, ':');
	const char *tag = "latest";
	size_t repo_len = len;
	if (colon != NULL && (slash == NULL || colon > slash)) {
		tag = colon + 1;
		repo_len = (size_t)(colon - name);
	}
	if (!valid_tag(tag)) {
		return berr_setx(err, EINVAL, "image name %s: bad tag (letters, digits, '_', '.', '-'; at most 128)",
				 tar_quote(name, q, sizeof(q)));
	}
	/* Components; the first is a registry when it looks like a host. */
	const char *repo = name;
	const char *first_end = memchr(repo, '/', repo_len);
	size_t path_off = 0;
	if (first_end != NULL) {
		size_t flen = (size_t)(first_end - repo);
		int is_domain = memchr(repo, '.', flen) != NULL || memchr(repo, ':', flen) != NULL ||
				(flen == 9 && memcmp(repo, "localhost", 9) == 0);
		if (is_domain) {
			if (!valid_domain(repo, flen)) {
				return berr_setx(err, EINVAL, "image name %s: bad registry host",
						 tar_quote(name, q, sizeof(q)));
			}
			path_off = flen + 1;
		}
	}
	if (path_off >= repo_len) {
		return berr_setx(err, EINVAL, "image name %s: no repository", tar_quote(name, q, sizeof(q)));
	}
	for (size_t i = path_off; i < repo_len;) {
		const char *end = memchr(repo + i, '/', repo_len - i);
		size_t clen = end != NULL ? (size_t)(end - (repo + i)) : repo_len - i;
		if (!valid_path_component(repo + i, clen)) {
			return berr_setx(err, EINVAL,
					 "image name %s: bad repository (lower-case letters, digits and separators)",
					 tar_quote(name, q, sizeof(q)));
		}
		i += clen + 1;
	}
	/* Docker Hub names are written the short way. */
	size_t keep = 0;
	if (path_off > 0 && ((path_off == 10 && memcmp(repo, "docker.io/", 10) == 0) ||
			     (path_off == 16 && memcmp(repo, "index.docker.io/", 16) == 0))) {
		keep = path_off;
		if (repo_len - keep > 8 && memcmp(repo + keep, "library/", 8) == 0 &&
		    memchr(repo + keep + 8, '/', repo_len - keep - 8) == NULL) {
			keep += 8;
		}
	}
	int n = snprintf(out, size, "%.*s:%s", (int)(repo_len - keep), repo + keep, tag);
	if (n < 0 || (size_t)n >= size) {
		return berr_setx(err, ENAMETOOLONG, "image name %s: too long", tar_quote(name, q, sizeof(q)));
	}
	return 0;
}

int imgref_is_hex(const char *s)
{
	size_t len = strlen(s);
	if (len == 0 || len > 64) {
		return 0;
	}
	for (size_t i = 0; i < len; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) {
			return 0;
		}
	}
	return 1;
}
