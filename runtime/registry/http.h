/* HTTP(S) for the registry client, over libcurl: one request at a time
 * per handle, its body either whole in memory (manifests, configs, tokens:
 * bounded) or as a stream the caller pulls from (layers: never whole in
 * memory). Redirects are followed (blobs live on CDNs and object stores);
 * curl sends a request's Authorization header to the first host only.
 *
 * Nothing here logs: headers carry credentials. Error messages name the
 * URL (registry URLs never hold credentials) and what went wrong, never a
 * header or the proxy's URL (which may hold a proxy password). */
#ifndef BERTH_REGHTTP_H
#define BERTH_REGHTTP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/berr.h"

/* How to reach a server. Strings are borrowed for the request's life. */
struct http_conf {
	const char *ca_file;	 /* PEM bundle the server's certificate must chain to */
	int tls_verify;		 /* 0: an insecure registry (host.yaml says so) */
	const char *https_proxy; /* NULL: curl's environment defaults */
	const char *http_proxy;
	const char *no_proxy;
	int https_only_redirects; /* refuse redirects to plain http */
};

#define HTTP_MAX_HEADERS 6

struct http_resp {
	long status;
	char content_type[128];
	char digest[80];     /* Docker-Content-Digest */
	char www_auth[2048]; /* WWW-Authenticate (the first) */
	char url[1024];	     /* where the answer came from, after redirects */
};

/* The failures a caller treats differently. */
enum http_fail {
	HTTP_FAIL_NONE,
	HTTP_FAIL_CONNECT,   /* DNS, connect, timeout, reset: the network or the server is down */
	HTTP_FAIL_TLS_PLAIN, /* the server answered the TLS handshake in plain text */
	HTTP_FAIL_TLS,	     /* the handshake or the certificate failed */
	HTTP_FAIL_OTHER,
};

/* Sets up libcurl; once per process, before any thread starts a request. */
int http_global_init(struct berr *err);

/* GET url with the given header lines ("Name: value"), the body whole
 * into *body (malloc'd, NUL-terminated) when at most max bytes. A status
 * is not an error: the caller reads resp->status. *fail says why a
 * request failed (may be NULL). */
int http_get(const struct http_conf *conf, const char *url, const char *const *headers, size_t nheaders, size_t max,
	     struct http_resp *resp, char **body, size_t *len, enum http_fail *fail, struct berr *err);

struct http_stream;

/* Starts a GET and waits for the response's head; the body is then read
 * with http_stream_read. */
int http_stream_open(struct http_stream **out, const struct http_conf *conf, const char *url,
		     const char *const *headers, size_t nheaders, struct http_resp *resp, enum http_fail *fail,
		     struct berr *err);

/* Up to len bytes of the body; 0 at its complete end; a negative errno
 * when the transfer failed (a cut connection is an error, never an end). */
ssize_t http_stream_read(struct http_stream *s, void *buf, size_t len, struct berr *err);

void http_stream_close(struct http_stream *s);

#endif
