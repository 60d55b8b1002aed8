/* Docker-style credential files (see creds.h). */
#include "registry/creds.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "lib/cleanup.h"
#include "lib/fsutil.h"

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void creds_wipe(void *p, size_t len)
{
	volatile unsigned char *v = p;
	while (len-- > 0) {
		*v++ = 0;
	}
}

int base64_encode(const void *data, size_t len, char *out, size_t size)
{
	const unsigned char *in = data;
	size_t need = (len + 2) / 3 * 4 + 1;
	if (size < need) {
		return -ENOSPC;
	}
	size_t o = 0;
	for (size_t i = 0; i < len; i += 3) {
		unsigned v = (unsigned)in[i] << 16;
		if (i + 1 < len) {
			v |= (unsigned)in[i + 1] << 8;
		}
		if (i + 2 < len) {
			v |= in[i + 2];
		}
		out[o++] = b64[(v >> 18) & 63];
		out[o++] = b64[(v >> 12) & 63];
		out[o++] = i + 1 < len ? b64[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < len ? b64[v & 63] : '=';
	}
	out[o] = '\0';
	return (int)o;
}

/* Checks that s is base64 of something with a ':' (user:password). */
static int valid_auth(const char *s)
{
	size_t len = strlen(s);
	if (len == 0 || len % 4 != 0 || strspn(s, b64) < len - 2) {
		return 0;
	}
	for (size_t i = strspn(s, b64); i < len; i++) {
		if (s[i] != '=') {
			return 0;
		}
	}
	return 1;
}

void creds_key(const char *key, char *out, size_t size)
{
	const char *k = key;
	if (strncasecmp(k, "https://", 8) == 0) {
		k += 8;
	} else if (strncasecmp(k, "http://", 7) == 0) {
		k += 7;
	}
	size_t n = strcspn(k, "/");
	if (n >= size) {
		n = size - 1;
	}
	memcpy(out, k, n);
	out[n] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (out[i] >= 'A' && out[i] <= 'Z') {
			out[i] = (char)(out[i] - 'A' + 'a');
		}
	}
	if (strcmp(out, "index.docker.io") == 0 || strcmp(out, "registry-1.docker.io") == 0 ||
	    strcmp(out, "registry.hub.docker.com") == 0) {
		snprintf(out, size, "docker.io");
	}
}

static void json_putp(json_object **o)
{
	json_object_put(*o);
}
#define auto_json __attribute__((cleanup(json_putp)))

static json_object *parse_object(const char *text, size_t len)
{
	json_tokener *tok = json_tokener_new();
	if (tok == NULL) {
		return NULL;
	}
	json_object *o = json_tokener_parse_ex(tok, text, (int)len);
	int ok = json_tokener_get_error(tok) == json_tokener_success && json_object_is_type(o, json_type_object);
	json_tokener_free(tok);
	if (!ok) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static int header_from_entry(json_object *entry, const char *what, const char *registry, char *header, size_t size,
			     struct berr *err)
{
	json_object *v = NULL;
	if (json_object_object_get_ex(entry, "auth", &v) && json_object_is_type(v, json_type_string) &&
	    json_object_get_string_len(v) > 0) {
		const char *auth = json_object_get_string(v);
		if (!valid_auth(auth) || strlen(auth) + 24 > size) {
			return berr_setx(err, EINVAL, "%s: the entry for %s has a malformed \"auth\"", what, registry);
		}
		snprintf(header, size, "Authorization: Basic %s", auth);
		return 1;
	}
	if (v != NULL && !json_object_is_type(v, json_type_string)) {
		return berr_setx(err, EINVAL, "%s: the entry for %s has an \"auth\" that is not a string", what,
				 registry);
	}
	json_object *u = NULL;
	json_object *p = NULL;
	int has_u = json_object_object_get_ex(entry, "username", &u) && u != NULL;
	int has_p = json_object_object_get_ex(entry, "password", &p) && p != NULL;
	if (has_u != has_p ||
	    (has_u && (!json_object_is_type(u, json_type_string) || !json_object_is_type(p, json_type_string)))) {
		return berr_setx(err, EINVAL,
				 "%s: the entry for %s needs \"username\" and \"password\" both, as strings (or "
				 "\"auth\")",
				 what, registry);
	}
	if (has_u) {
		char pair[CREDS_USER_MAX + CREDS_PASS_MAX + 2];
		int n = snprintf(pair, sizeof(pair), "%s:%s", json_object_get_string(u), json_object_get_string(p));
		char enc[CREDS_HEADER_MAX];
		int ret = n > 0 && (size_t)n < sizeof(pair) ? base64_encode(pair, (size_t)n, enc, sizeof(enc)) : -1;
		creds_wipe(pair, sizeof(pair));
		if (ret < 0 || (size_t)ret + 24 > size) {
			creds_wipe(enc, sizeof(enc));
			return berr_setx(err, EINVAL, "%s: the entry for %s is too long", what, registry);
		}
		snprintf(header, size, "Authorization: Basic %s", enc);
		creds_wipe(enc, sizeof(enc));
		return 1;
	}
	/* An entry with a credential helper only, or empty: not ours to use. */
	return 0;
}

int creds_parse(const char *text, size_t len, const char *what, const char *registry, char *header, size_t size,
		struct berr *err)
{
	auto_json json_object *o = parse_object(text, len);
	if (o == NULL) {
		return berr_setx(err, EINVAL, "%s: not a JSON object", what);
	}
	json_object *auths = NULL;
	if (!json_object_object_get_ex(o, "auths", &auths)) {
		return 0;
	}
	if (!json_object_is_type(auths, json_type_object)) {
		return berr_setx(err, EINVAL, "%s: \"auths\" is not an object", what);
	}
	int found = 0;
	json_object_object_foreach(auths, key, entry)
	{
		char k[256];
		creds_key(key, k, sizeof(k));
		if (strcmp(k, registry) != 0) {
			continue;
		}
		if (!json_object_is_type(entry, json_type_object)) {
			return berr_setx(err, EINVAL, "%s: the entry for %s is not an object", what, registry);
		}
		int ret = header_from_entry(entry, what, registry, header, size, err);
		if (ret < 0) {
			return ret;
		}
		found |= ret;
	}
	return found;
}

int creds_lookup(const char *const *files, size_t nfiles, const char *registry, char *header, size_t size,
		 struct berr *err)
{
	int found = 0;
	for (size_t i = 0; i < nfiles; i++) {
		if (files[i] == NULL) {
			continue;
		}
		char *text = NULL;
		size_t len = 0;
		struct berr rerr = {0};
		if (read_file_alloc(AT_FDCWD, files[i], O_NONBLOCK, CREDS_MAX_FILE, NULL, &text, &len, &rerr) < 0) {
			if (rerr.code == ENOENT) {
				continue;
			}
			*err = rerr;
			return -rerr.code;
		}
		char h[CREDS_HEADER_MAX];
		int ret = creds_parse(text, len, files[i], registry, h, sizeof(h), err);
		creds_wipe(text, len);
		free(text);
		if (ret < 0) {
			creds_wipe(h, sizeof(h));
			return ret;
		}
		if (ret > 0) {
			snprintf(header, size, "%s", h);
			found = 1;
		}
		creds_wipe(h, sizeof(h));
	}
	return found;
}

int creds_store(const char *path, const char *registry, const char *user, const char *password, struct berr *err)
{
	char *text = NULL;
	size_t len = 0;
	struct berr rerr = {0};
	json_object *o = NULL;
	if (read_file_alloc(AT_FDCWD, path, O_NONBLOCK, CREDS_MAX_FILE, NULL, &text, &len, &rerr) == 0) {
		o = parse_object(text, len);
		creds_wipe(text, len);
		free(text);
		if (o == NULL) {
			return berr_setx(err, EINVAL, "%s: not a JSON object; fix or remove it", path);
		}
	} else if (rerr.code != ENOENT) {
		*err = rerr;
		return -rerr.code;
	} else {
		o = json_object_new_object();
	}
	auto_json json_object *root = o;
	json_object *auths = NULL;
	if (root == NULL) {
		return berr_set(err, ENOMEM, "%s", path);
	}
	if (!json_object_object_get_ex(root, "auths", &auths) || !json_object_is_type(auths, json_type_object)) {
		auths = json_object_new_object();
		json_object_object_add(root, "auths", auths);
	}
	/* Other spellings of the same registry go: one entry per registry. */
	int removed = 0;
	for (int again = 1; again;) {
		again = 0;
		json_object_object_foreach(auths, key, entry)
		{
			(void)entry;
			char k[256];
			creds_key(key, k, sizeof(k));
			if (strcmp(k, registry) == 0) {
				json_object_object_del(auths, key);
				removed = 1;
				again = 1;
				break;
			}
		}
	}
	if (password != NULL) {
		char pair[CREDS_USER_MAX + CREDS_PASS_MAX + 2];
		char enc[CREDS_HEADER_MAX];
		int n = snprintf(pair, sizeof(pair), "%s:%s", user, password);
		int ret = n > 0 && (size_t)n < sizeof(pair) ? base64_encode(pair, (size_t)n, enc, sizeof(enc)) : -1;
		creds_wipe(pair, sizeof(pair));
		if (ret < 0) {
			return berr_setx(err, EINVAL, "the user name or password is too long");
		}
		json_object *entry = json_object_new_object();
		json_object_object_add(entry, "auth", json_object_new_string(enc));
		creds_wipe(enc, sizeof(enc));
		json_object_object_add(auths, registry, entry);
	}
	const char *out =
		json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash != NULL && slash != dir) {
		*slash = '\0';
		if (mkdir_p(dir, 0700, err) < 0) {
			return -err->code;
		}
	}
	int ret = write_file_atomic(path, out, strlen(out), 0600, ATOMIC_FSYNC_FILE | ATOMIC_FSYNC_DIR, err);
	/* The serialised text held every secret of the file. */
	creds_wipe((void *)out, strlen(out));
	if (ret < 0) {
		return ret;
	}
	return password != NULL ? 0 : removed;
}
