/* Registry credentials in Docker's format: a JSON file whose "auths" map
 * registry hosts to {"auth": base64("user:password")} (or "username" and
 * "password"), the file `docker login` writes. Berth reads one on CONFIG
 * (auth.json) and one that `berth login` keeps (on DATA, mode 0600); the
 * latter wins. Keys are matched the way Docker does: "https://host/v1/",
 * "host" and "host:port" name the same registry; index.docker.io,
 * registry-1.docker.io and docker.io are Docker Hub.
 *
 * Secrets live only in the buffers given and are wiped after use; nothing
 * here prints or logs them, and error messages name files and hosts only. */
#ifndef BERTH_REGCREDS_H
#define BERTH_REGCREDS_H

#include <stddef.h>

#include "lib/berr.h"

#define CREDS_MAX_FILE (1u << 20)
#define CREDS_USER_MAX 256
#define CREDS_PASS_MAX 4096
/* "Authorization: Basic " + base64 of "user:password" */
#define CREDS_HEADER_MAX (32 + (CREDS_USER_MAX + CREDS_PASS_MAX + 2) * 4 / 3 + 4)

/* The registry a key of "auths" names, in the form lookups use: no
 * scheme, no path, Docker Hub's names as "docker.io". */
void creds_key(const char *key, char *out, size_t size);

/* Parses an auths file's text; the entry for registry (a creds_key form)
 * as a ready "Authorization: Basic ..." header line into header. Returns 1
 * when found, 0 when the file has no entry, negative on a damaged file. */
int creds_parse(const char *text, size_t len, const char *what, const char *registry, char *header, size_t size,
		struct berr *err);

/* Looks registry up in the files given, the last one that has it winning;
 * a missing file is no error. 1 found, 0 none. */
int creds_lookup(const char *const *files, size_t nfiles, const char *registry, char *header, size_t size,
		 struct berr *err);

/* Stores (user, password) for registry in path (created 0600), keeping the
 * other entries; password NULL removes the entry (logout): 1 removed, 0 there
 * was none. */
int creds_store(const char *path, const char *registry, const char *user, const char *password, struct berr *err);

/* Base64 (RFC 4648, padded). encode: -ENOSPC when out is too small. */
int base64_encode(const void *data, size_t len, char *out, size_t size);

/* Wipes a secret from memory in a way the compiler keeps. */
void creds_wipe(void *p, size_t len);

#endif
