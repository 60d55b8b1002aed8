/* What a registry (the OCI distribution API v2) answers, parsed: the
 * WWW-Authenticate challenge of a 401, a token endpoint's answer, a
 * manifest response (an image manifest, or an index / manifest list to
 * choose a platform from). Input is untrusted: every length is bounded,
 * every field checked. No I/O; results live in the caller's buffers or
 * arena. */
#ifndef BERTH_REGPARSE_H
#define BERTH_REGPARSE_H

#include <stddef.h>

#include "image/imgjson.h"
#include "lib/arena.h"
#include "lib/berr.h"

#define REG_TOKEN_MAX 8192 /* bytes of a bearer token (Docker Hub's are ~1.5 KB) */

enum reg_scheme {
	REG_SCHEME_NONE,
	REG_SCHEME_BASIC,
	REG_SCHEME_BEARER,
};

struct reg_challenge {
	enum reg_scheme scheme;
	char realm[1024]; /* Bearer: the token endpoint (https://...) */
	char service[256];
	char scope[1024];
	char error[64]; /* "insufficient_scope", "invalid_token", ... */
};

/* A WWW-Authenticate header's value: one or more challenges (RFC 7235);
 * Bearer is taken over Basic when both are offered. Unknown schemes and
 * parameters are passed over; a malformed header is an error. */
int reg_parse_challenge(const char *text, size_t len, struct reg_challenge *out, struct berr *err);

/* A token endpoint's JSON answer: "token" (or "access_token", as OAuth2
 * endpoints name it). *expires_in: seconds, 60 when absent (Docker's). */
int reg_parse_token(const char *data, size_t len, char *token, size_t size, long *expires_in, struct berr *err);

struct reg_manifest {
	enum imgjson_kind kind; /* IMGJSON_INDEX or IMGJSON_MANIFEST */
	struct imgjson_index index;
	struct imgjson_manifest manifest;
};

/* A manifest response, by its Content-Type, or by the document's own
 * mediaType (or shape) when the registry sends a generic type. Docker's
 * schema 1 manifests are refused by name: registries convert them, and no
 * image worth running has only those. */
int reg_parse_manifest(const char *content_type, const char *data, size_t len, const char *what, struct arena *a,
		       struct reg_manifest *out, struct berr *err);

/* Percent-encodes s for a URL query (RFC 3986: all but unreserved
 * characters); cut to fit out. */
void reg_url_escape(const char *s, char *out, size_t size);

/* The Accept header a manifest request sends: OCI and Docker, image
 * manifests and indexes. */
extern const char REG_MANIFEST_ACCEPT[];

#endif
