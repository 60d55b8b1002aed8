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

/* "sha256:" and 64 lower-case hex digits: the only digest registries and
 * the store use. */
static int valid_digest(const char *s)
{
	if (strncmp(s, "sha256:", 7) != 0 || strlen(s) != 7 + 64) {
		return 0;
	}
	return strspn(s + 7, "0123456789abcdef") == 64;
}

int imgref_parse(const char *name, struct imgref *out, struct berr *err)
{
	char q[300];
	memset(out, 0, sizeof(*out));
	size_t len = strlen(name);
	if (len == 0 || len >= IMGREF_MAX) {
		return berr_setx(err, EINVAL, "image name %s: must be 1 to %d characters",
				 tar_quote(name, q, sizeof(q)), IMGREF_MAX - 1);
	}
	/* name[:tag][@digest]: a digest names the content, and wins over the tag. */
	const char *at = strchr(name, '@');
	size_t ref_len = len;
	if (at != NULL) {
		if (!valid_digest(at + 1)) {
			return berr_setx(err, EINVAL,
					 "image name %s: bad digest (sha256: and 64 lower-case hex digits)",
					 tar_quote(name, q, sizeof(q)));
		}
		memcpy(out->digest, at + 1, strlen(at + 1) + 1);
		ref_len = (size_t)(at - name);
	}
	const char *slash = memrchr(name, '/', ref_len);
	const char *colon = memrchr(name, ':', ref_len);
	size_t repo_len = ref_len;
	const char *tag = "latest";
	size_t tag_len = 6;
	if (colon != NULL && (slash == NULL || colon > slash)) {
		tag = colon + 1;
		tag_len = ref_len - (size_t)(colon + 1 - name);
		repo_len = (size_t)(colon - name);
	}
	if (tag_len >= sizeof(out->tag)) {
		return berr_setx(err, EINVAL, "image name %s: bad tag (letters, digits, '_', '.', '-'; at most 128)",
				 tar_quote(name, q, sizeof(q)));
	}
	memcpy(out->tag, tag, tag_len);
	out->tag[tag_len] = '\0';
	if (!valid_tag(out->tag)) {
		return berr_setx(err, EINVAL, "image name %s: bad tag (letters, digits, '_', '.', '-'; at most 128)",
				 tar_quote(name, q, sizeof(q)));
	}
	/* Components; the first is a registry when it looks like a host. */
	const char *first_end = memchr(name, '/', repo_len);
	size_t path_off = 0;
	if (first_end != NULL) {
		size_t flen = (size_t)(first_end - name);
		int is_domain = memchr(name, '.', flen) != NULL || memchr(name, ':', flen) != NULL ||
				(flen == 9 && memcmp(name, "localhost", 9) == 0);
		if (is_domain) {
			if (!valid_domain(name, flen)) {
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
		const char *end = memchr(name + i, '/', repo_len - i);
		size_t clen = end != NULL ? (size_t)(end - (name + i)) : repo_len - i;
		if (!valid_path_component(name + i, clen)) {
			return berr_setx(err, EINVAL,
					 "image name %s: bad repository (lower-case letters, digits and separators)",
					 tar_quote(name, q, sizeof(q)));
		}
		i += clen + 1;
	}
	/* Docker's rules: no registry is Docker Hub, whose official images
	 * live under library/. */
	const char *domain = "docker.io";
	size_t domain_len = 9;
	if (path_off > 0) {
		domain = name;
		domain_len = path_off - 1;
		if (domain_len == 15 && memcmp(domain, "index.docker.io", 15) == 0) {
			domain = "docker.io";
			domain_len = 9;
		}
	}
	const char *path = name + path_off;
	size_t path_len = repo_len - path_off;
	int hub = domain_len == 9 && memcmp(domain, "docker.io", 9) == 0;
	int library = hub && memchr(path, '/', path_len) == NULL;
	int n = snprintf(out->domain, sizeof(out->domain), "%.*s", (int)domain_len, domain);
	int m = snprintf(out->path, sizeof(out->path), "%s%.*s", library ? "library/" : "", (int)path_len, path);
	/* Docker Hub names are written the short way. */
	const char *shortp = out->path;
	if (hub && strncmp(shortp, "library/", 8) == 0 && strchr(shortp + 8, '/') == NULL) {
		shortp += 8;
	}
	int k = out->digest[0] != '\0' ? snprintf(out->canonical, sizeof(out->canonical), "%s%s%s@%s",
						  hub ? "" : out->domain, hub ? "" : "/", shortp, out->digest)
				       : snprintf(out->canonical, sizeof(out->canonical), "%s%s%s:%s",
						  hub ? "" : out->domain, hub ? "" : "/", shortp, out->tag);
	if (n < 0 || m < 0 || k < 0 || (size_t)n >= sizeof(out->domain) || (size_t)m >= sizeof(out->path) ||
	    (size_t)k >= sizeof(out->canonical)) {
		return berr_setx(err, ENAMETOOLONG, "image name %s: too long", tar_quote(name, q, sizeof(q)));
	}
	return 0;
}

int imgref_normalize(const char *name, char *out, size_t size, struct berr *err)
{
	struct imgref r;
	int ret = imgref_parse(name, &r, err);
	if (ret < 0) {
		return ret;
	}
	size_t len = strlen(r.canonical);
	if (len >= size) {
		char q[300];
		return berr_setx(err, ENAMETOOLONG, "image name %s: too long", tar_quote(name, q, sizeof(q)));
	}
	memcpy(out, r.canonical, len + 1);
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
