/* Pulling an image (see registry.h): endpoints (mirrors, then the
 * registry), authentication, the manifest and its platform, the config,
 * and the layers, `jobs` at a time on threads of their own, each streamed
 * from its HTTP response through image/'s decompressor and unpacker into
 * the store. Owns the endpoint state (the Authorization in use, the CA
 * bundle); the store owns what is written. */

#include "registry/registry.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "image/archive.h"
#include "image/dstream.h"
#include "image/imgjson.h"
#include "image/imgref.h"
#include "lib/cleanup.h"
#include "lib/fsutil.h"
#include "lib/sha256.h"
#include "registry/creds.h"
#include "registry/http.h"
#include "registry/regparse.h"

#define MAX_ENDPOINTS (HOST_MAX_MIRRORS + 1)
#define MAX_JOBS 8
#define AUTH_MAX (REG_TOKEN_MAX + 64)
#define CA_EXTRA_MAX (1u << 20) /* bytes of one extra CA file */
#define PROGRESS_STEP (256u * 1024u)
#define WORKER_STACK (8u << 20)

struct endpoint {
	char base[600]; /* "https://host[:port][/prefix]", no trailing slash */
	char host[256]; /* host[:port]: certs.d/ and the auths files know it by this */
	int mirror;
	int tls_verify;
	int plain_ok; /* may fall back to plain http */
	int ca_fd;    /* the CA bundle with CONFIG's CAs, or -1 */
	char ca_file[PATH_MAX];
	pthread_mutex_t lock; /* guards auth and base */
	char auth[AUTH_MAX];  /* the Authorization header in use; "" anonymous */
	char basic[CREDS_HEADER_MAX + 32];
	int have_basic;
};

struct pull {
	struct store *s;
	const struct registry_opts *o;
	struct imgref ref;
	struct endpoint *ep; /* the one serving this attempt */
	pthread_mutex_t lock;
	/* the layers of this attempt */
	const struct imgjson_descriptor *blobs;
	const struct store_pull_layer *layers;
	size_t nlayers;
	size_t next;
	int failed;
	struct berr err; /* the first failure */
	uint64_t bytes;
	size_t fresh;
};

static void report(struct pull *p, enum registry_event ev, size_t layer, const char *digest, uint64_t done,
		   uint64_t total, const char *text)
{
	if (p->o->progress == NULL) {
		return;
	}
	struct registry_progress pr = {ev, layer, p->nlayers, digest, done, total, text};
	pthread_mutex_lock(&p->lock);
	p->o->progress(p->o->progress_ctx, &pr);
	pthread_mutex_unlock(&p->lock);
}

/* ---- endpoints ----------------------------------------------------------------- */

static int host_is_local(const char *host)
{
	return strcmp(host, "localhost") == 0 || strncmp(host, "localhost:", 10) == 0 ||
	       strncmp(host, "127.", 4) == 0 || strncmp(host, "[::1]", 5) == 0;
}

static int host_is_insecure(const struct host_config *h, const char *host)
{
	for (size_t i = 0; h != NULL && i < h->ninsecure; i++) {
		if (strcmp(h->insecure[i], host) == 0) {
			return 1;
		}
	}
	return 0;
}

/* Appends the *.crt files of dir to fd; a missing dir adds nothing. */
static int append_cas(int fd, const char *dir, size_t *added, struct berr *err)
{
	auto_closedir DIR *d = opendir(dir);
	if (d == NULL) {
		return errno == ENOENT || errno == ENOTDIR ? 0 : berr_set(err, errno, "open %s", dir);
	}
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		size_t n = strlen(e->d_name);
		if (e->d_name[0] == '.' || n < 5 ||
		    (strcmp(e->d_name + n - 4, ".crt") != 0 && strcmp(e->d_name + n - 4, ".pem") != 0)) {
			continue;
		}
		char path[PATH_MAX];
		auto_free char *data = NULL;
		size_t len = 0;
		if (path_join(path, sizeof(path), dir, e->d_name) < 0 ||
		    read_file_alloc(AT_FDCWD, path, O_NONBLOCK, CA_EXTRA_MAX, NULL, &data, &len, err) < 0) {
			return berr_prefix(err, "CA certificates");
		}
		if (write_all(fd, data, len) < 0 || write_all(fd, "\n", 1) < 0) {
			return berr_set(err, EIO, "CA bundle");
		}
		(*added)++;
	}
	return 0;
}

/* The CAs the endpoint's certificate may chain to: the system bundle,
 * CONFIG/ca-certificates/ (every registry) and CONFIG/certs.d/HOST/ (this
 * one, Docker's layout). Without extra CAs, the bundle's own path. */
static int endpoint_cas(struct endpoint *ep, const struct registry_opts *o, struct berr *err)
{
	const char *bundle = o->ca_bundle != NULL ? o->ca_bundle : REGISTRY_CA_BUNDLE;
	copy_string(ep->ca_file, sizeof(ep->ca_file), bundle);
	ep->ca_fd = -1;
	if (o->config_dir == NULL) {
		return 0;
	}
	int fd = memfd_create("berth-ca", MFD_CLOEXEC);
	if (fd < 0) {
		return berr_set(err, errno, "CA bundle");
	}
	size_t added = 0;
	char dir[PATH_MAX];
	char certs_d[PATH_MAX];
	char certs[PATH_MAX];
	int ret = 0;
	if (path_join(dir, sizeof(dir), o->config_dir, "ca-certificates") < 0 ||
	    path_join(certs_d, sizeof(certs_d), o->config_dir, "certs.d") < 0 ||
	    path_join(certs, sizeof(certs), certs_d, ep->host) < 0) {
		ret = berr_setx(err, ENAMETOOLONG, "CA directories");
	}
	if (ret == 0) {
		ret = append_cas(fd, dir, &added, err);
	}
	if (ret == 0) {
		ret = append_cas(fd, certs, &added, err);
	}
	if (ret == 0 && added > 0) {
		auto_free char *data = NULL;
		size_t len = 0;
		struct berr ignored;
		/* Without the system bundle (a bare build machine), CONFIG's CAs alone. */
		if (read_file_alloc(AT_FDCWD, bundle, O_NONBLOCK, 16u << 20, NULL, &data, &len, &ignored) == 0 &&
		    write_all(fd, data, len) < 0) {
			ret = berr_set(err, EIO, "CA bundle");
		}
	}
	if (ret < 0 || added == 0) {
		close(fd);
		return ret;
	}
	ep->ca_fd = fd;
	snprintf(ep->ca_file, sizeof(ep->ca_file), "/proc/self/fd/%d", fd);
	return 0;
}

static int endpoint_init(struct endpoint *ep, const char *base, int mirror, const struct registry_opts *o,
			 struct berr *err)
{
	memset(ep, 0, sizeof(*ep));
	ep->ca_fd = -1;
	pthread_mutex_init(&ep->lock, NULL);
	copy_string(ep->base, sizeof(ep->base), base);
	const char *h = strstr(base, "://") + 3;
	size_t hl = strcspn(h, "/");
	snprintf(ep->host, sizeof(ep->host), "%.*s", (int)(hl < sizeof(ep->host) ? hl : sizeof(ep->host) - 1), h);
	ep->mirror = mirror;
	int insecure = host_is_insecure(o->host, ep->host);
	ep->tls_verify = !insecure;
	ep->plain_ok = insecure || host_is_local(ep->host);
	int ret = endpoint_cas(ep, o, err);
	if (ret < 0) {
		return ret;
	}
	/* Credentials: CONFIG's file, then berth login's (which wins). */
	char authfile[PATH_MAX] = "";
	if (o->config_dir != NULL) {
		path_join(authfile, sizeof(authfile), o->config_dir, "auth.json");
	}
	const char *files[] = {authfile[0] != '\0' ? authfile : NULL, o->login_file};
	char key[256];
	creds_key(ep->host, key, sizeof(key));
	ret = creds_lookup(files, 2, key, ep->basic, sizeof(ep->basic), err);
	if (ret < 0) {
		return ret;
	}
	ep->have_basic = ret > 0;
	return 0;
}

static void endpoint_free(struct endpoint *ep)
{
	creds_wipe(ep->auth, sizeof(ep->auth));
	creds_wipe(ep->basic, sizeof(ep->basic));
	if (ep->ca_fd >= 0) {
		close(ep->ca_fd);
	}
	pthread_mutex_destroy(&ep->lock);
}

/* Mirrors of the reference's registry, then the registry itself. */
static int endpoints(const struct imgref *ref, const struct registry_opts *o, struct endpoint *eps, size_t *n,
		     struct berr *err)
{
	*n = 0;
	const struct host_config *h = o->host;
	for (size_t i = 0; h != NULL && i < h->nmirrors; i++) {
		if (strcmp(h->mirrors[i].registry, ref->domain) == 0) {
			int ret = endpoint_init(&eps[*n], h->mirrors[i].url, 1, o, err);
			if (ret < 0) {
				return ret;
			}
			(*n)++;
		}
	}
	char base[600];
	snprintf(base, sizeof(base), "https://%s",
		 strcmp(ref->domain, "docker.io") == 0 ? "registry-1.docker.io" : ref->domain);
	int ret = endpoint_init(&eps[*n], base, 0, o, err);
	if (ret < 0) {
		return ret;
	}
	(*n)++;
	return 0;
}

/* ---- requests with authentication ------------------------------------------------ */

static void ep_conf(const struct endpoint *ep, const struct registry_opts *o, struct http_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->ca_file = ep->ca_file;
	c->tls_verify = ep->tls_verify;
	const struct host_config *h = o->host;
	if (h != NULL) {
		c->https_proxy = h->https_proxy[0] != '\0' ? h->https_proxy : NULL;
		c->http_proxy = h->http_proxy[0] != '\0' ? h->http_proxy : NULL;
		c->no_proxy = h->no_proxy[0] != '\0' ? h->no_proxy : NULL;
	}
	c->https_only_redirects = strncmp(ep->base, "https://", 8) == 0 && ep->tls_verify;
}

/* Gets a bearer token for the challenge, with basic credentials if the
 * auths files have some. The token becomes the endpoint's Authorization. */
static int bearer_token(struct pull *p, struct endpoint *ep, const struct reg_challenge *ch, struct berr *err)
{
	char scope[1200] = "";
	if (ch->scope[0] != '\0') {
		copy_string(scope, sizeof(scope), ch->scope);
	} else if (p->ref.path[0] != '\0') {
		snprintf(scope, sizeof(scope), "repository:%s:pull", p->ref.path);
	}
	char url[3072];
	char esc_service[800];
	char esc_scope[3600];
	reg_url_escape(ch->service, esc_service, sizeof(esc_service));
	reg_url_escape(scope, esc_scope, sizeof(esc_scope));
	int q = strchr(ch->realm, '?') != NULL;
	int n = snprintf(url, sizeof(url), "%s", ch->realm);
	if (esc_service[0] != '\0' && n > 0 && (size_t)n < sizeof(url)) {
		n += snprintf(url + n, sizeof(url) - (size_t)n, "%sservice=%s", q++ ? "&" : "?", esc_service);
	}
	if (esc_scope[0] != '\0' && n > 0 && (size_t)n < sizeof(url)) {
		n += snprintf(url + n, sizeof(url) - (size_t)n, "%sscope=%s", q++ ? "&" : "?", esc_scope);
	}
	if (n < 0 || (size_t)n >= sizeof(url)) {
		return berr_setx(err, ENAMETOOLONG, "%s: the token request is too long", ep->host);
	}
	struct http_conf c;
	ep_conf(ep, p->o, &c);
	c.https_only_redirects = strncmp(ch->realm, "https://", 8) == 0;
	const char *headers[1];
	size_t nh = 0;
	if (ep->have_basic) {
		headers[nh++] = ep->basic;
	}
	struct http_resp resp;
	auto_free char *body = NULL;
	size_t len = 0;
	/* The realm's URL as the server gave it, without the query (no secrets in either). */
	char realm[300];
	snprintf(realm, sizeof(realm), "%.*s", (int)strcspn(ch->realm, "?"), ch->realm);
	int ret = http_get(&c, url, headers, nh, 64 * 1024, &resp, &body, &len, NULL, err);
	if (ret < 0) {
		return berr_setx(err, -ret, "%s: token service %s: %s", p->ref.domain, realm,
				 strstr(err->msg, ": ") != NULL ? strstr(err->msg, ": ") + 2 : err->msg);
	}
	if (resp.status == 401 || resp.status == 403) {
		return berr_setx(err, EACCES,
				 ep->have_basic
					 ? "%s: the registry's token service %s refused the credentials for %s "
					   "(HTTP %ld): check them with berth login"
					 : "%s: pulling %s needs credentials (the token service %s said HTTP %ld): "
					   "berth login %s",
				 p->ref.domain, ep->have_basic ? realm : p->ref.path, ep->have_basic ? ep->host : realm,
				 resp.status, ep->host);
	}
	if (resp.status != 200) {
		return berr_setx(err, EIO, "%s: token service %s: HTTP %ld", p->ref.domain, realm, resp.status);
	}
	char token[REG_TOKEN_MAX];
	long expires = 0;
	ret = reg_parse_token(body, len, token, sizeof(token), &expires, err);
	creds_wipe(body, len);
	if (ret < 0) {
		return berr_prefix(err, "%s: %s", p->ref.domain, realm);
	}
	pthread_mutex_lock(&ep->lock);
	snprintf(ep->auth, sizeof(ep->auth), "Authorization: Bearer %s", token);
	pthread_mutex_unlock(&ep->lock);
	creds_wipe(token, sizeof(token));
	return 0;
}

/* After a 401: the next Authorization to try, from the challenge. used is
 * what the refused request carried. */
static int authenticate(struct pull *p, struct endpoint *ep, const struct http_resp *resp, const char *used,
			struct berr *err)
{
	pthread_mutex_lock(&ep->lock);
	int changed = strcmp(ep->auth, used) != 0;
	pthread_mutex_unlock(&ep->lock);
	if (changed) {
		return 0; /* another thread has just renewed it */
	}
	struct reg_challenge ch;
	if (resp->www_auth[0] == '\0') {
		return berr_setx(err, EACCES, "%s: HTTP 401 without a WWW-Authenticate challenge", ep->host);
	}
	int ret = reg_parse_challenge(resp->www_auth, strlen(resp->www_auth), &ch, err);
	if (ret < 0) {
		return berr_prefix(err, "%s", ep->host);
	}
	if (ch.scheme == REG_SCHEME_BEARER) {
		return bearer_token(p, ep, &ch, err);
	}
	if (!ep->have_basic) {
		return berr_setx(err, EACCES, "%s: pulling %s needs credentials: berth login %s", ep->host, p->ref.path,
				 ep->host);
	}
	if (strncmp(used, "Authorization: Basic ", 21) == 0) {
		return berr_setx(err, EACCES,
				 "%s: the credentials for %s were refused (HTTP 401): check them with "
				 "berth login",
				 ep->host, ep->host);
	}
	pthread_mutex_lock(&ep->lock);
	snprintf(ep->auth, sizeof(ep->auth), "%s", ep->basic);
	pthread_mutex_unlock(&ep->lock);
	return 0;
}

/* GET base+path: the body whole (st NULL, at most max bytes) or as a
 * stream. Follows one round of authentication, and falls back to plain
 * HTTP where that is allowed. The status is the caller's to judge. */
static int ep_get(struct pull *p, struct endpoint *ep, const char *path, const char *accept, size_t max,
		  struct http_resp *resp, char **body, size_t *len, struct http_stream **st, enum http_fail *fail,
		  struct berr *err)
{
	char used[AUTH_MAX];
	for (int attempt = 0;; attempt++) {
		char url[1600];
		const char *headers[2];
		size_t nh = 0;
		pthread_mutex_lock(&ep->lock);
		snprintf(url, sizeof(url), "%s%s", ep->base, path);
		memcpy(used, ep->auth, sizeof(used));
		pthread_mutex_unlock(&ep->lock);
		if (accept != NULL) {
			headers[nh++] = accept;
		}
		if (used[0] != '\0') {
			headers[nh++] = used;
		}
		struct http_conf c;
		ep_conf(ep, p->o, &c);
		int ret = st != NULL ? http_stream_open(st, &c, url, headers, nh, resp, fail, err)
				     : http_get(&c, url, headers, nh, max, resp, body, len, fail, err);
		if (ret < 0 && *fail == HTTP_FAIL_TLS_PLAIN && ep->plain_ok && strncmp(url, "https://", 8) == 0 &&
		    attempt < 3) {
			/* Perhaps the server speaks plain HTTP, which it may
			 * (insecure, or local): try that; if that fails too, the
			 * TLS error is the one to tell. */
			struct berr tls_err = *err;
			char plain[1600];
			snprintf(plain, sizeof(plain), "http://%s", url + 8);
			enum http_fail f2 = HTTP_FAIL_NONE;
			berr_clear(err);
			ret = st != NULL ? http_stream_open(st, &c, plain, headers, nh, resp, &f2, err)
					 : http_get(&c, plain, headers, nh, max, resp, body, len, &f2, err);
			if (ret < 0) {
				*err = tls_err;
				creds_wipe(used, sizeof(used));
				return -tls_err.code;
			}
			pthread_mutex_lock(&ep->lock);
			if (strncmp(ep->base, "https://", 8) == 0) {
				char base[600];
				snprintf(base, sizeof(base), "http://%s", ep->base + 8);
				copy_string(ep->base, sizeof(ep->base), base);
			}
			pthread_mutex_unlock(&ep->lock);
		}
		if (ret < 0 || resp->status != 401 || attempt >= 2) {
			creds_wipe(used, sizeof(used));
			return ret;
		}
		if (st != NULL) {
			http_stream_close(*st);
			*st = NULL;
		} else {
			free(*body);
			*body = NULL;
		}
		ret = authenticate(p, ep, resp, used, err);
		if (ret < 0) {
			creds_wipe(used, sizeof(used));
			*fail = HTTP_FAIL_OTHER;
			return ret;
		}
	}
}

static int status_error(struct pull *p, const struct endpoint *ep, const char *what, const struct http_resp *resp,
			struct berr *err)
{
	if (resp->status == 404) {
		return berr_setx(err, ENOENT, "%s: %s not found on %s (HTTP 404)", p->ref.canonical, what, ep->host);
	}
	if (resp->status == 401 || resp->status == 403) {
		return berr_setx(err, EACCES, "%s: %s: access denied by %s (HTTP %ld); berth login %s",
				 p->ref.canonical, what, ep->host, resp->status, ep->host);
	}
	if (resp->status == 429) {
		return berr_setx(err, EAGAIN, "%s: %s: %s limits the rate of pulls (HTTP 429); try again later",
				 p->ref.canonical, what, ep->host);
	}
	return berr_setx(err, resp->status >= 500 ? EAGAIN : EIO, "%s: %s: %s answered HTTP %ld", p->ref.canonical,
			 what, ep->host, resp->status);
}

/* ---- documents ----------------------------------------------------------------- */

/* A manifest (or index) by tag or digest; *digest: its sha256. */
static int get_manifest(struct pull *p, struct endpoint *ep, const char *ref, const char *want_digest, struct arena *a,
			struct reg_manifest *m, char digest[IMGJSON_DIGEST_SIZE], enum http_fail *fail,
			struct berr *err)
{
	char path[800];
	snprintf(path, sizeof(path), "/v2/%s/manifests/%s", p->ref.path, ref);
	struct http_resp resp;
	auto_free char *body = NULL;
	size_t len = 0;
	int ret = ep_get(p, ep, path, REG_MANIFEST_ACCEPT, IMGJSON_MAX_DOC, &resp, &body, &len, NULL, fail, err);
	if (ret < 0) {
		return ret;
	}
	char what[400];
	snprintf(what, sizeof(what), "manifest %s", ref);
	if (resp.status != 200) {
		return status_error(p, ep, what, &resp, err);
	}
	char hex[SHA256_HEX_LEN + 1];
	sha256_hex(body, len, hex);
	snprintf(digest, IMGJSON_DIGEST_SIZE, "sha256:%s", hex);
	if (want_digest != NULL && strcmp(digest, want_digest) != 0) {
		return berr_setx(err, EINVAL, "%s: %s from %s does not match its digest (content is %s)",
				 p->ref.canonical, what, ep->host, digest);
	}
	if (resp.digest[0] != '\0' && strncmp(resp.digest, "sha256:", 7) == 0 && strcmp(resp.digest, digest) != 0) {
		return berr_setx(err, EINVAL, "%s: %s from %s: Docker-Content-Digest says %s, the content is %s",
				 p->ref.canonical, what, ep->host, resp.digest, digest);
	}
	char mwhat[IMGREF_MAX + sizeof(what) + 8];
	snprintf(mwhat, sizeof(mwhat), "%s: %s", p->ref.canonical, what);
	return reg_parse_manifest(resp.content_type, body, len, mwhat, a, m, err);
}

/* A small blob (an image config) whole, checked against its descriptor. */
static int get_small_blob(struct pull *p, struct endpoint *ep, const struct imgjson_descriptor *d, char **data,
			  size_t *len, enum http_fail *fail, struct berr *err)
{
	if (d->size > IMGJSON_MAX_DOC) {
		return berr_setx(err, EFBIG, "%s: config %s is %llu bytes (at most %u)", p->ref.canonical, d->digest,
				 (unsigned long long)d->size, IMGJSON_MAX_DOC);
	}
	char path[800];
	snprintf(path, sizeof(path), "/v2/%s/blobs/%s", p->ref.path, d->digest);
	struct http_resp resp;
	int ret = ep_get(p, ep, path, NULL, IMGJSON_MAX_DOC, &resp, data, len, NULL, fail, err);
	if (ret < 0) {
		return ret;
	}
	if (resp.status != 200) {
		char what[100];
		snprintf(what, sizeof(what), "config %.19s", d->digest);
		return status_error(p, ep, what, &resp, err);
	}
	if (*len != d->size) {
		return berr_setx(err, EINVAL, "%s: config %s from %s is %zu bytes, its descriptor says %llu",
				 p->ref.canonical, d->digest, ep->host, *len, (unsigned long long)d->size);
	}
	return 0;
}

/* ---- layers ------------------------------------------------------------------------ */

struct blob_reader {
	struct pull *p;
	struct http_stream *st;
	size_t layer;
	const char *digest;
	uint64_t size;
	uint64_t got;
	uint64_t reported;
};

static ssize_t blob_read(void *ctx, void *buf, size_t len, struct berr *err)
{
	struct blob_reader *r = ctx;
	/* A failed layer stops no other: what is on its way is finished and
	 * kept for the next pull (no new layer starts, layer_worker). */
	ssize_t n = http_stream_read(r->st, buf, len, err);
	if (n <= 0) {
		if (n == 0 && r->got != r->size) {
			return berr_setx(err, EIO, "the blob ended after %llu of %llu bytes",
					 (unsigned long long)r->got, (unsigned long long)r->size);
		}
		return n;
	}
	r->got += (uint64_t)n;
	if (r->got > r->size) {
		return berr_setx(err, EFBIG, "the blob is longer than its descriptor's %llu bytes",
				 (unsigned long long)r->size);
	}
	if (r->got - r->reported >= PROGRESS_STEP || r->got == r->size) {
		r->reported = r->got;
		report(r->p, REG_EV_LAYER_BYTES, r->layer, r->digest, r->got, r->size, NULL);
	}
	return n;
}

static int fetch_layer(struct pull *p, size_t i, struct berr *err)
{
	const struct imgjson_descriptor *d = &p->blobs[i];
	char path[800];
	snprintf(path, sizeof(path), "/v2/%s/blobs/%s", p->ref.path, d->digest);
	char what[600];
	snprintf(what, sizeof(what), "%s: layer %zu of %zu (%.19s)", p->ref.canonical, i + 1, p->nlayers, d->digest);
	report(p, REG_EV_LAYER_START, i, d->digest, 0, d->size, NULL);
	struct http_resp resp;
	struct http_stream *st = NULL;
	enum http_fail fail = HTTP_FAIL_NONE;
	int ret = ep_get(p, p->ep, path, NULL, 0, &resp, NULL, NULL, &st, &fail, err);
	if (ret < 0) {
		return berr_prefix(err, "%s", what);
	}
	if (resp.status != 200) {
		http_stream_close(st);
		char w[100];
		snprintf(w, sizeof(w), "layer %.19s", d->digest);
		return status_error(p, p->ep, w, &resp, err);
	}
	struct blob_reader r = {.p = p, .st = st, .layer = i, .digest = d->digest, .size = d->size};
	struct dstream_source src = {.read = blob_read, .ctx = &r};
	uint64_t size = 0;
	ret = store_pull_layer(p->s, &p->layers[i], d->digest, what, &src, &size, err);
	http_stream_close(st);
	if (ret < 0) {
		return ret;
	}
	pthread_mutex_lock(&p->lock);
	p->bytes += r.got;
	p->fresh++;
	pthread_mutex_unlock(&p->lock);
	report(p, REG_EV_LAYER_DONE, i, d->digest, d->size, d->size, NULL);
	return 0;
}

static void *layer_worker(void *arg)
{
	struct pull *p = arg;
	for (;;) {
		pthread_mutex_lock(&p->lock);
		size_t i = p->next;
		int stop = p->failed || i >= p->nlayers;
		if (!stop) {
			p->next++;
		}
		pthread_mutex_unlock(&p->lock);
		if (stop) {
			return NULL;
		}
		uint64_t size;
		if (store_layer_present(p->s, p->layers[i].chain, p->blobs[i].digest, &size)) {
			report(p, REG_EV_LAYER_EXISTS, i, p->blobs[i].digest, 0, 0, NULL);
			continue;
		}
		struct berr err = {0};
		if (fetch_layer(p, i, &err) < 0) {
			pthread_mutex_lock(&p->lock);
			/* The first failure says why. */
			if (!p->failed) {
				p->err = err;
			}
			p->failed = 1;
			pthread_mutex_unlock(&p->lock);
		}
	}
}

/* Fetches the missing layers, jobs at a time. */
static int fetch_layers(struct pull *p, struct berr *err)
{
	int jobs = p->o->jobs > 0 ? p->o->jobs : REGISTRY_DEFAULT_JOBS;
	if (jobs > MAX_JOBS) {
		jobs = MAX_JOBS;
	}
	if ((size_t)jobs > p->nlayers) {
		jobs = (int)p->nlayers;
	}
	pthread_t threads[MAX_JOBS];
	int started = 0;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, WORKER_STACK);
	for (int i = 1; i < jobs; i++) {
		if (pthread_create(&threads[started], &attr, layer_worker, p) != 0) {
			break; /* fewer at a time, not a failure */
		}
		started++;
	}
	pthread_attr_destroy(&attr);
	layer_worker(p);
	for (int i = 0; i < started; i++) {
		pthread_join(threads[i], NULL);
	}
	if (p->failed) {
		*err = p->err;
		return -p->err.code;
	}
	return 0;
}

/* ---- one endpoint ------------------------------------------------------------------ */

static int pull_from(struct pull *p, struct endpoint *ep, struct registry_pulled *out, enum http_fail *fail,
		     struct berr *err)
{
	p->ep = ep;
	struct arena a = {0};
	struct reg_manifest top;
	char top_digest[IMGJSON_DIGEST_SIZE];
	const char *ref = p->ref.digest[0] != '\0' ? p->ref.digest : p->ref.tag;
	int ret = get_manifest(p, ep, ref, p->ref.digest[0] != '\0' ? p->ref.digest : NULL, &a, &top, top_digest, fail,
			       err);
	struct reg_manifest one = top;
	char one_digest[IMGJSON_DIGEST_SIZE];
	memcpy(one_digest, top_digest, sizeof(one_digest));
	for (int depth = 0; ret == 0 && one.kind == IMGJSON_INDEX; depth++) {
		char what[400];
		snprintf(what, sizeof(what), "%s: index %.19s", p->ref.canonical, one_digest);
		int pick = depth < 2 ? imgjson_select_platform(&one.index, archive_host_arch(), what, err)
				     : berr_setx(err, EINVAL, "%s nests indexes too deep", what);
		if (pick < 0) {
			ret = pick;
			break;
		}
		const struct imgjson_descriptor *d = &one.index.manifests[pick];
		memcpy(one_digest, d->digest, sizeof(one_digest));
		ret = get_manifest(p, ep, d->digest, d->digest, &a, &one, one_digest, fail, err);
	}
	auto_free char *cfg = NULL;
	size_t cfglen = 0;
	if (ret == 0) {
		p->nlayers = one.manifest.nlayers;
		report(p, REG_EV_RESOLVED, 0, top_digest, 0, 0, top_digest);
		ret = get_small_blob(p, ep, &one.manifest.config, &cfg, &cfglen, fail, err);
	}
	struct store_pull_layer *layers = NULL;
	size_t n = 0;
	if (ret == 0) {
		ret = store_pull_config(p->ref.canonical, cfg, cfglen, one.manifest.config.digest, &a, &layers, &n,
					err);
	}
	if (ret == 0 && n != one.manifest.nlayers) {
		ret = berr_setx(err, EINVAL, "%s: the config lists %zu layers (rootfs.diff_ids), the manifest %zu",
				p->ref.canonical, n, one.manifest.nlayers);
	}
	if (ret == 0) {
		p->blobs = one.manifest.layers;
		p->layers = layers;
		p->nlayers = n;
		p->next = 0;
		p->failed = 0;
		ret = fetch_layers(p, err);
		*fail = HTTP_FAIL_OTHER; /* a failed layer is no reason to try a mirror's next */
	}
	if (ret == 0) {
		char repo_digest[IMGREF_MAX + 80];
		const char *name = p->ref.canonical;
		size_t base_len = strcspn(p->ref.canonical, "@");
		if (p->ref.digest[0] == '\0') {
			base_len = (size_t)(strrchr(p->ref.canonical, ':') - p->ref.canonical);
		}
		snprintf(repo_digest, sizeof(repo_digest), "%.*s@%s", (int)base_len, p->ref.canonical, top_digest);
		struct store_loaded loaded;
		char(*blobs)[STORE_ID_SIZE] = arena_alloc(&a, (n + 1) * STORE_ID_SIZE);
		for (size_t i = 0; blobs != NULL && i < n; i++) {
			memcpy(blobs[i], one.manifest.layers[i].digest, STORE_ID_SIZE);
		}
		ret = blobs == NULL ? berr_set(err, ENOMEM, "%s", p->ref.canonical)
				    : store_pull_publish(p->s, p->ref.canonical, cfg, cfglen,
							 (const char(*)[STORE_ID_SIZE])blobs, one_digest, repo_digest,
							 &name, 1, &loaded, err);
		if (ret == 0) {
			memcpy(out->id, loaded.id, sizeof(out->id));
			copy_string(out->name, sizeof(out->name), p->ref.canonical);
			memcpy(out->digest, top_digest, sizeof(out->digest));
			out->nlayers = n;
			out->new_layers = p->fresh;
			out->bytes = p->bytes;
			out->up_to_date = p->fresh == 0;
		}
	}
	arena_free(&a);
	return ret;
}

int registry_pull(struct store *s, const char *ref, const struct registry_opts *o, struct registry_pulled *out,
		  struct berr *err)
{
	memset(out, 0, sizeof(*out));
	struct pull p = {.s = s, .o = o};
	int ret = imgref_parse(ref, &p.ref, err);
	if (ret < 0) {
		return ret;
	}
	ret = http_global_init(err);
	if (ret < 0) {
		return ret;
	}
	pthread_mutex_init(&p.lock, NULL);
	struct endpoint eps[MAX_ENDPOINTS];
	size_t neps = 0;
	ret = endpoints(&p.ref, o, eps, &neps, err);
	if (ret == 0) {
		ret = store_pull_begin(s, err);
	}
	if (ret == 0) {
		for (size_t i = 0; i < neps; i++) {
			enum http_fail fail = HTTP_FAIL_NONE;
			berr_clear(err);
			ret = pull_from(&p, &eps[i], out, &fail, err);
			if (ret == 0 || !eps[i].mirror) {
				break;
			}
			/* A mirror that is down, or lacks the image, is passed over
			 * (as dockerd does); the registry itself is the last word. */
			report(&p, REG_EV_MIRROR_FAILED, 0, NULL, 0, 0, err->msg);
		}
		store_pull_end(s);
	}
	for (size_t i = 0; i < neps; i++) {
		endpoint_free(&eps[i]);
	}
	pthread_mutex_destroy(&p.lock);
	return ret;
}

/* ---- berth login -------------------------------------------------------------------- */

void registry_login_key(const char *arg, char *out, size_t size)
{
	creds_key(arg, out, size);
}

int registry_login_check(const char *registry, const char *user, const char *password, const struct registry_opts *o,
			 struct berr *err)
{
	int ret = http_global_init(err);
	if (ret < 0) {
		return ret;
	}
	struct pull p = {.o = o};
	snprintf(p.ref.domain, sizeof(p.ref.domain), "%s", registry);
	snprintf(p.ref.canonical, sizeof(p.ref.canonical), "%s", registry);
	pthread_mutex_init(&p.lock, NULL);
	struct endpoint ep;
	char base[600];
	snprintf(base, sizeof(base), "https://%s",
		 strcmp(registry, "docker.io") == 0 ? "registry-1.docker.io" : registry);
	/* Only the credentials given count: none from the files. */
	struct registry_opts bare = *o;
	bare.login_file = NULL;
	bare.config_dir = o->config_dir;
	ret = endpoint_init(&ep, base, 0, &bare, err);
	if (ret == 0) {
		char pair[CREDS_USER_MAX + CREDS_PASS_MAX + 2];
		char enc[CREDS_HEADER_MAX];
		int n = snprintf(pair, sizeof(pair), "%s:%s", user, password);
		if (n < 0 || (size_t)n >= sizeof(pair) || base64_encode(pair, (size_t)n, enc, sizeof(enc)) < 0) {
			ret = berr_setx(err, EINVAL, "the user name or password is too long");
		} else {
			snprintf(ep.basic, sizeof(ep.basic), "Authorization: Basic %s", enc);
			ep.have_basic = 1;
		}
		creds_wipe(pair, sizeof(pair));
		creds_wipe(enc, sizeof(enc));
	}
	/* /v2/ answers 401 with the challenge; ep_get then presents the
	 * credentials (to the token service, or as basic) and asks again. */
	if (ret == 0) {
		struct http_resp resp;
		auto_free char *body = NULL;
		size_t len = 0;
		enum http_fail fail = HTTP_FAIL_NONE;
		ret = ep_get(&p, &ep, "/v2/", NULL, 64 * 1024, &resp, &body, &len, NULL, &fail, err);
		if (ret == 0 && resp.status != 200) {
			ret = berr_setx(err, EACCES, "%s: login refused (HTTP %ld)", registry, resp.status);
		}
	}
	endpoint_free(&ep);
	pthread_mutex_destroy(&p.lock);
	return ret;
}
