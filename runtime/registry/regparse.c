/* Parsers of registry responses (see regparse.h). The grammar of
 * WWW-Authenticate is RFC 7235's: challenges separated by commas, each a
 * scheme and comma-separated name=value parameters, a value a token or a
 * quoted string with backslash escapes. */
#include "registry/regparse.h"

#include <errno.h>
#include <json-c/json.h>
#include <string.h>
#include <strings.h>

const char REG_MANIFEST_ACCEPT[] = "Accept: application/vnd.oci.image.index.v1+json, "
				   "application/vnd.docker.distribution.manifest.list.v2+json, "
				   "application/vnd.oci.image.manifest.v1+json, "
				   "application/vnd.docker.distribution.manifest.v2+json";

struct cursor {
	const char *p;
	const char *end;
};

static int is_tchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static void skip_ws(struct cursor *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t')) {
		c->p++;
	}
}

/* A token; its length, 0 when there is none. */
static size_t token(struct cursor *c, const char **start)
{
	*start = c->p;
	while (c->p < c->end && is_tchar(*c->p)) {
		c->p++;
	}
	return (size_t)(c->p - *start);
}

/* A value (token or quoted string) into out (truncation is an error: a
 * cut realm or scope would be a wrong one). */
static int value(struct cursor *c, char *out, size_t size, struct berr *err)
{
	size_t n = 0;
	if (c->p < c->end && *c->p == '"') {
		c->p++;
		while (c->p < c->end && *c->p != '"') {
			char ch = *c->p++;
			if (ch == '\\' && c->p < c->end) {
				ch = *c->p++;
			}
			if ((unsigned char)ch < 0x20 || n + 1 >= size) {
				return berr_setx(err, EINVAL,
						 "WWW-Authenticate: a parameter is too long or has a control "
						 "character");
			}
			out[n++] = ch;
		}
		if (c->p >= c->end) {
			return berr_setx(err, EINVAL, "WWW-Authenticate: a quoted string is not closed");
		}
		c->p++;
	} else {
		const char *start;
		size_t len = token(c, &start);
		/* token68 may end in '=' padding. */
		while (c->p < c->end && *c->p == '=') {
			c->p++;
			len++;
		}
		if (len == 0 || len >= size) {
			return berr_setx(err, EINVAL, "WWW-Authenticate: a parameter has no value or is too long");
		}
		memcpy(out, start, len);
		n = len;
	}
	out[n] = '\0';
	return 0;
}

static char *param_slot(struct reg_challenge *ch, const char *name, size_t len, size_t *size)
{
	static const struct {
		const char *name;
		size_t off;
		size_t size;
	} params[] = {
		{"realm", offsetof(struct reg_challenge, realm), sizeof(((struct reg_challenge *)0)->realm)},
		{"service", offsetof(struct reg_challenge, service), sizeof(((struct reg_challenge *)0)->service)},
		{"scope", offsetof(struct reg_challenge, scope), sizeof(((struct reg_challenge *)0)->scope)},
		{"error", offsetof(struct reg_challenge, error), sizeof(((struct reg_challenge *)0)->error)},
	};
	for (size_t i = 0; i < sizeof(params) / sizeof(params[0]); i++) {
		if (strlen(params[i].name) == len && strncasecmp(params[i].name, name, len) == 0) {
			*size = params[i].size;
			return (char *)ch + params[i].off;
		}
	}
	return NULL;
}

int reg_parse_challenge(const char *text, size_t len, struct reg_challenge *out, struct berr *err)
{
	memset(out, 0, sizeof(*out));
	struct cursor c = {text, text + len};
	struct reg_challenge cur;
	int have = 0;
	memset(&cur, 0, sizeof(cur));
	char scratch[1024];
	for (;;) {
		skip_ws(&c);
		while (c.p < c.end && *c.p == ',') {
			c.p++;
			skip_ws(&c);
		}
		if (c.p >= c.end) {
			break;
		}
		const char *name;
		size_t nlen = token(&c, &name);
		if (nlen == 0) {
			return berr_setx(err, EINVAL, "WWW-Authenticate: unexpected character at offset %zu",
					 (size_t)(c.p - text));
		}
		skip_ws(&c);
		if (c.p < c.end && *c.p == '=' && have) {
			/* A parameter of the current challenge. */
			c.p++;
			skip_ws(&c);
			size_t size = sizeof(scratch);
			char *slot = param_slot(&cur, name, nlen, &size);
			int ret = value(&c, slot != NULL ? slot : scratch, slot != NULL ? size : sizeof(scratch), err);
			if (ret < 0) {
				return ret;
			}
			continue;
		}
		/* A new challenge: keep the previous one if it is the better. */
		if (have && cur.scheme != REG_SCHEME_NONE && cur.scheme >= out->scheme) {
			*out = cur;
		}
		memset(&cur, 0, sizeof(cur));
		have = 1;
		if (nlen == 6 && strncasecmp(name, "bearer", 6) == 0) {
			cur.scheme = REG_SCHEME_BEARER;
		} else if (nlen == 5 && strncasecmp(name, "basic", 5) == 0) {
			cur.scheme = REG_SCHEME_BASIC;
		}
		/* A token68 right after the scheme (no '=' parameter form). */
		const char *save = c.p;
		const char *t;
		if (token(&c, &t) > 0) {
			skip_ws(&c);
			if (c.p < c.end && *c.p == '=') {
				c.p = save; /* a parameter: read by the loop */
			}
		}
	}
	if (have && cur.scheme != REG_SCHEME_NONE && cur.scheme >= out->scheme) {
		*out = cur;
	}
	if (out->scheme == REG_SCHEME_NONE) {
		return berr_setx(err, ENOTSUP, "WWW-Authenticate: no Bearer or Basic challenge");
	}
	if (out->scheme == REG_SCHEME_BEARER && strncmp(out->realm, "https://", 8) != 0 &&
	    strncmp(out->realm, "http://", 7) != 0) {
		return berr_setx(err, EINVAL, "WWW-Authenticate: the Bearer realm is not an http(s) URL");
	}
	return 0;
}

static void json_putp(json_object **o)
{
	json_object_put(*o);
}

int reg_parse_token(const char *data, size_t len, char *token_out, size_t size, long *expires_in, struct berr *err)
{
	token_out[0] = '\0';
	*expires_in = 60;
	if (len > IMGJSON_MAX_DOC) {
		return berr_setx(err, EFBIG, "token response: %zu bytes", len);
	}
	json_tokener *tok = json_tokener_new();
	if (tok == NULL) {
		return berr_set(err, ENOMEM, "token response");
	}
	json_object *o __attribute__((cleanup(json_putp))) = json_tokener_parse_ex(tok, data, (int)len);
	enum json_tokener_error jerr = json_tokener_get_error(tok);
	json_tokener_free(tok);
	if (o == NULL || jerr != json_tokener_success || !json_object_is_type(o, json_type_object)) {
		return berr_setx(err, EINVAL, "token response: not a JSON object");
	}
	json_object *v = NULL;
	const char *field = "token";
	if (!json_object_object_get_ex(o, "token", &v) || !json_object_is_type(v, json_type_string) ||
	    json_object_get_string_len(v) == 0) {
		field = "access_token"; /* OAuth 2's name, which some token services use alone */
		if (!json_object_object_get_ex(o, "access_token", &v) || !json_object_is_type(v, json_type_string)) {
			return berr_setx(err, EINVAL, "token response: no \"token\" (or \"access_token\") string");
		}
	}
	const char *t = json_object_get_string(v);
	size_t tlen = (size_t)json_object_get_string_len(v);
	if (tlen == 0 || tlen >= size || tlen >= REG_TOKEN_MAX) {
		return berr_setx(err, EINVAL, "token response: \"%s\" is empty or longer than %d bytes", field,
				 REG_TOKEN_MAX - 1);
	}
	for (size_t i = 0; i < tlen; i++) {
		/* It goes into a header: no spaces, controls or NULs. */
		if ((unsigned char)t[i] <= 0x20 || (unsigned char)t[i] >= 0x7f) {
			return berr_setx(err, EINVAL, "token response: \"%s\" has a character a header cannot carry",
					 field);
		}
	}
	memcpy(token_out, t, tlen + 1);
	if (json_object_object_get_ex(o, "expires_in", &v) && json_object_is_type(v, json_type_int)) {
		int64_t e = json_object_get_int64(v);
		*expires_in = e < 60 ? 60 : e > 86400 ? 86400 : (long)e;
	}
	return 0;
}

/* The document's own mediaType, or its shape: "manifests" makes an index. */
static enum imgjson_kind sniff_kind(const char *data, size_t len)
{
	json_tokener *tok = json_tokener_new();
	if (tok == NULL) {
		return IMGJSON_OTHER;
	}
	json_object *o __attribute__((cleanup(json_putp))) = json_tokener_parse_ex(tok, data, (int)len);
	json_tokener_free(tok);
	if (o == NULL || !json_object_is_type(o, json_type_object)) {
		return IMGJSON_OTHER;
	}
	json_object *v = NULL;
	if (json_object_object_get_ex(o, "mediaType", &v) && json_object_is_type(v, json_type_string)) {
		return imgjson_media_kind(json_object_get_string(v));
	}
	if (json_object_object_get_ex(o, "manifests", &v)) {
		return IMGJSON_INDEX;
	}
	if (json_object_object_get_ex(o, "schemaVersion", &v) && json_object_get_int(v) == 1) {
		return IMGJSON_OTHER;
	}
	return IMGJSON_MANIFEST;
}

int reg_parse_manifest(const char *content_type, const char *data, size_t len, const char *what, struct arena *a,
		       struct reg_manifest *out, struct berr *err)
{
	memset(out, 0, sizeof(*out));
	if (len > IMGJSON_MAX_DOC) {
		return berr_setx(err, EFBIG, "%s: %zu bytes (at most %u)", what, len, IMGJSON_MAX_DOC);
	}
	/* "type/subtype; charset=..." */
	char type[128] = "";
	if (content_type != NULL) {
		size_t n = strcspn(content_type, "; \t");
		if (n < sizeof(type)) {
			memcpy(type, content_type, n);
			type[n] = '\0';
		}
	}
	if (strncmp(type, "application/vnd.docker.distribution.manifest.v1", 47) == 0) {
		return berr_setx(err, ENOTSUP,
				 "%s: a Docker schema 1 manifest; push the image again with a current tool "
				 "(schema 2 or OCI)",
				 what);
	}
	enum imgjson_kind kind = imgjson_media_kind(type);
	if (kind != IMGJSON_INDEX && kind != IMGJSON_MANIFEST) {
		kind = sniff_kind(data, len);
	}
	out->kind = kind;
	if (kind == IMGJSON_INDEX) {
		return imgjson_parse_index(data, len, what, a, &out->index, err);
	}
	if (kind == IMGJSON_MANIFEST) {
		return imgjson_parse_manifest(data, len, what, a, &out->manifest, err);
	}
	return berr_setx(err, EINVAL, "%s: neither an image manifest nor an index (Content-Type %.80s)", what,
			 type[0] != '\0' ? type : "none");
}

void reg_url_escape(const char *s, char *out, size_t size)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;
	for (; *s != '\0' && o + 4 <= size; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
		    c == '.' || c == '_' || c == '~') {
			out[o++] = (char)c;
		} else {
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	if (size > 0) {
		out[o < size ? o : size - 1] = '\0';
	}
}
