/* HTTP over libcurl (see http.h). A stream is an easy handle on a multi
 * handle of its own: reading drives the transfer until the write callback
 * has buffered something, and a full buffer pauses the transfer, so a
 * layer of any size costs at most STREAM_BUF bytes of memory. */
#include "registry/http.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define STREAM_BUF (1u << 20)
#define CONNECT_TIMEOUT_S 20L
/* A transfer that moves less than a byte a second for this long has
 * stalled (a dead peer behind a NAT): it fails, and the pull retries. */
#define STALL_S 60L
/* ChaCha20-Poly1305 first: wolfSSL is built without its assembly (no
 * AES-NI), and its AES-GCM in C moves ~4x fewer bytes a second than its
 * ChaCha20-Poly1305 (bench/registry.py); servers honour a client that
 * prefers ChaCha (BoringSSL's, Go's and OpenSSL's do). AES-GCM stays for
 * servers without ChaCha. TLS 1.3 suites, then TLS 1.2's (ECDHE only). */
#define TLS_CIPHERS                                                                                \
	"TLS13-CHACHA20-POLY1305-SHA256:TLS13-AES128-GCM-SHA256:TLS13-AES256-GCM-SHA384:"          \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-GCM-SHA256:" \
	"ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384"

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_result = CURLE_FAILED_INIT;

static void global_init(void)
{
	global_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int http_global_init(struct berr *err)
{
	pthread_once(&global_once, global_init);
	if (global_result != CURLE_OK) {
		return berr_setx(err, EIO, "libcurl: %s", curl_easy_strerror(global_result));
	}
	return 0;
}

/* ---- a transfer ------------------------------------------------------------------- */

struct xfer {
	CURL *easy;
	struct curl_slist *headers;
	struct http_resp *resp;
	char errbuf[CURL_ERROR_SIZE];
	/* body: in memory (get) or buffered for a reader (stream) */
	char *buf;
	size_t len; /* bytes held */
	size_t off; /* stream: bytes of buf already read */
	size_t cap;
	size_t max; /* get: the most the body may be */
	int too_big;
	int streaming;
	int paused;
	int got_body;
	char proxy[300]; /* the proxy's host:port, without credentials; "" none */
	long proxy_port;
};

/* host:port of a proxy URL ("http://user:pw@host:port/"), for messages
 * (never its credentials), and its port (1080, curl's default, when none). */
static void proxy_place(const char *url, char *out, size_t size, long *port)
{
	const char *h = strstr(url, "://");
	h = h != NULL ? h + 3 : url;
	size_t n = strcspn(h, "/?#");
	const char *at = memchr(h, '@', n);
	if (at != NULL) {
		n -= (size_t)(at + 1 - h);
		h = at + 1;
	}
	snprintf(out, size, "%.*s", (int)(n < size ? n : size - 1), h);
	const char *colon = strrchr(out, ':');
	*port = colon != NULL && strchr(colon, ']') == NULL ? strtol(colon + 1, NULL, 10) : 1080;
}

static void header_value(const char *line, size_t n, size_t name_len, char *out, size_t size)
{
	const char *v = line + name_len;
	size_t vlen = n - name_len;
	while (vlen > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		vlen--;
	}
	while (vlen > 0 && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' || v[vlen - 1] == ' ')) {
		vlen--;
	}
	if (vlen >= size) {
		vlen = size - 1;
	}
	memcpy(out, v, vlen);
	out[vlen] = '\0';
}

static int header_is(const char *line, size_t n, const char *name)
{
	size_t len = strlen(name);
	return n > len && strncasecmp(line, name, len) == 0;
}

/* Headers of each response in a redirect chain; the last one's stay. */
static size_t on_header(char *line, size_t size, size_t nitems, void *ctx)
{
	struct xfer *x = ctx;
	size_t n = size * nitems;
	struct http_resp *r = x->resp;
	if (n >= 5 && strncmp(line, "HTTP/", 5) == 0) {
		long status = r->status;
		memset(r, 0, sizeof(*r));
		const char *sp = memchr(line, ' ', n);
		r->status = sp != NULL ? strtol(sp + 1, NULL, 10) : status;
	} else if (header_is(line, n, "content-type:")) {
		header_value(line, n, 13, r->content_type, sizeof(r->content_type));
	} else if (header_is(line, n, "docker-content-digest:")) {
		header_value(line, n, 22, r->digest, sizeof(r->digest));
	} else if (header_is(line, n, "www-authenticate:") && r->www_auth[0] == '\0') {
		header_value(line, n, 17, r->www_auth, sizeof(r->www_auth));
	}
	return n;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ctx)
{
	struct xfer *x = ctx;
	size_t n = size * nmemb;
	x->got_body = 1;
	if (x->streaming) {
		if (x->off > 0 && x->off == x->len) {
			x->off = x->len = 0;
		}
		if (x->cap - x->len < n) {
			if (x->off > 0) {
				memmove(x->buf, x->buf + x->off, x->len - x->off);
				x->len -= x->off;
				x->off = 0;
			}
			if (x->cap - x->len < n) {
				if (x->len > 0) {
					x->paused = 1;
					return CURL_WRITEFUNC_PAUSE;
				}
				char *nb = realloc(x->buf, n);
				if (nb == NULL) {
					return 0;
				}
				x->buf = nb;
				x->cap = n;
			}
		}
		memcpy(x->buf + x->len, data, n);
		x->len += n;
		return n;
	}
	if (x->len + n > x->max) {
		x->too_big = 1;
		return 0;
	}
	if (x->len + n + 1 > x->cap) {
		size_t cap = x->cap == 0 ? 16384 : x->cap;
		while (cap < x->len + n + 1) {
			cap *= 2;
		}
		char *nb = realloc(x->buf, cap);
		if (nb == NULL) {
			return 0;
		}
		x->buf = nb;
		x->cap = cap;
	}
	memcpy(x->buf + x->len, data, n);
	x->len += n;
	x->buf[x->len] = '\0';
	return n;
}

static void xfer_free(struct xfer *x)
{
	if (x->easy != NULL) {
		curl_easy_cleanup(x->easy);
	}
	curl_slist_free_all(x->headers);
	free(x->buf);
	memset(x, 0, sizeof(*x));
}

static int xfer_setup(struct xfer *x, const struct http_conf *conf, const char *url, const char *const *headers,
		      size_t nheaders, struct http_resp *resp, struct berr *err)
{
	memset(resp, 0, sizeof(*resp));
	x->resp = resp;
	if (http_global_init(err) < 0) {
		return -err->code;
	}
	x->easy = curl_easy_init();
	if (x->easy == NULL) {
		return berr_set(err, ENOMEM, "GET %s", url);
	}
	for (size_t i = 0; i < nheaders; i++) {
		struct curl_slist *l = curl_slist_append(x->headers, headers[i]);
		if (l == NULL) {
			return berr_set(err, ENOMEM, "GET %s", url);
		}
		x->headers = l;
	}
	CURL *e = x->easy;
	int https = strncmp(url, "https://", 8) == 0;
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, conf->https_only_redirects ? "https" : "http,https");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(e, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->headers);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_S);
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, STALL_S);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "berth/" BERTH_VERSION);
	curl_easy_setopt(e, CURLOPT_BUFFERSIZE, 256L * 1024);
	if (conf->ca_file != NULL) {
		curl_easy_setopt(e, CURLOPT_CAINFO, conf->ca_file);
	}
	curl_easy_setopt(e, CURLOPT_SSL_CIPHER_LIST, TLS_CIPHERS);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, conf->tls_verify ? 1L : 0L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, conf->tls_verify ? 2L : 0L);
	const char *proxy = https ? conf->https_proxy : conf->http_proxy;
	if (proxy != NULL) {
		curl_easy_setopt(e, CURLOPT_PROXY, proxy);
		proxy_place(proxy, x->proxy, sizeof(x->proxy), &x->proxy_port);
	}
	if (conf->no_proxy != NULL) {
		curl_easy_setopt(e, CURLOPT_NOPROXY, conf->no_proxy);
	}
	return 0;
}

static enum http_fail classify(CURLcode rc)
{
	switch (rc) {
	case CURLE_OK:
		return HTTP_FAIL_NONE;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
		return HTTP_FAIL_CONNECT;
	case CURLE_SSL_CONNECT_ERROR:
		return HTTP_FAIL_TLS_PLAIN;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
		return HTTP_FAIL_TLS;
	default:
		return HTTP_FAIL_OTHER;
	}
}

/* The message for a failed transfer. */
static int xfer_error(struct xfer *x, CURLcode rc, const char *url, enum http_fail *fail, struct berr *err)
{
	enum http_fail f = classify(rc);
	if (fail != NULL) {
		*fail = f;
	}
	const char *detail = x->errbuf[0] != '\0' ? x->errbuf : curl_easy_strerror(rc);
	if (x->too_big) {
		return berr_setx(err, EFBIG, "GET %s: the answer is over %zu bytes", url, x->max);
	}
	/* wolfSSL's "CA signer not available" comes as a bad CA file. */
	if (rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE) {
		return berr_setx(err, EPROTO,
				 "GET %s: TLS: the server's certificate is not trusted (%s); give its CA in CONFIG "
				 "(certs.d/HOST:PORT/ca.crt or ca-certificates/), or list the registry under "
				 "insecure_registries in host.yaml",
				 url, detail);
	}
	if (f == HTTP_FAIL_TLS || f == HTTP_FAIL_TLS_PLAIN) {
		return berr_setx(err, EPROTO, "GET %s: TLS: %s", url, detail);
	}
	if (f == HTTP_FAIL_CONNECT) {
		/* libcurl is built without its message texts (--disable-verbose):
		 * say what happened here. */
		long os_errno = 0;
		curl_easy_getinfo(x->easy, CURLINFO_OS_ERRNO, &os_errno);
		switch (rc) {
		case CURLE_COULDNT_RESOLVE_HOST:
		case CURLE_COULDNT_RESOLVE_PROXY:
			return berr_setx(err, EHOSTUNREACH, "GET %s: cannot resolve the %s's name", url,
					 rc == CURLE_COULDNT_RESOLVE_PROXY ? "proxy" : "server");
		case CURLE_COULDNT_CONNECT: {
			long tunnel = 0;
			long port = 0;
			curl_easy_getinfo(x->easy, CURLINFO_HTTP_CONNECTCODE, &tunnel);
			curl_easy_getinfo(x->easy, CURLINFO_PRIMARY_PORT, &port);
			if (x->proxy[0] != '\0' && tunnel >= 300) {
				return berr_setx(err, EHOSTUNREACH,
						 "GET %s: the proxy %s refused the connection (HTTP %ld to CONNECT)",
						 url, x->proxy, tunnel);
			}
			if (x->proxy[0] != '\0' && (port == x->proxy_port || port == 0)) {
				return berr_setx(err, EHOSTUNREACH, "GET %s: cannot connect to the proxy %s: %s", url,
						 x->proxy,
						 os_errno != 0 ? strerror((int)os_errno) : "no route or refused");
			}
			return berr_setx(err, EHOSTUNREACH, "GET %s: cannot connect: %s", url,
					 os_errno != 0 ? strerror((int)os_errno) : "no route or refused");
		}
		case CURLE_OPERATION_TIMEDOUT:
			return berr_setx(err, ETIMEDOUT, "GET %s: timed out (no answer, or a stalled transfer)", url);
		default:
			return berr_setx(err, ECONNRESET, "GET %s: the connection was cut (%s)", url,
					 os_errno != 0 ? strerror((int)os_errno) : "before the answer was complete");
		}
	}
	return berr_setx(err, EIO, "GET %s: %s", url, detail);
}

static void note_url(struct xfer *x)
{
	char *eff = NULL;
	if (curl_easy_getinfo(x->easy, CURLINFO_EFFECTIVE_URL, &eff) == CURLE_OK && eff != NULL) {
		snprintf(x->resp->url, sizeof(x->resp->url), "%s", eff);
	}
}

int http_get(const struct http_conf *conf, const char *url, const char *const *headers, size_t nheaders, size_t max,
	     struct http_resp *resp, char **body, size_t *len, enum http_fail *fail, struct berr *err)
{
	*body = NULL;
	*len = 0;
	if (fail != NULL) {
		*fail = HTTP_FAIL_NONE;
	}
	struct xfer x = {.max = max};
	int ret = xfer_setup(&x, conf, url, headers, nheaders, resp, err);
	if (ret == 0) {
		CURLcode rc = curl_easy_perform(x.easy);
		if (rc != CURLE_OK) {
			ret = xfer_error(&x, rc, url, fail, err);
		} else {
			note_url(&x);
			if (x.buf == NULL) {
				x.buf = calloc(1, 1);
			}
			*body = x.buf;
			*len = x.len;
			x.buf = NULL;
			if (*body == NULL) {
				ret = berr_set(err, ENOMEM, "GET %s", url);
			}
		}
	}
	xfer_free(&x);
	return ret;
}

/* ---- streams ----------------------------------------------------------------------- */

struct http_stream {
	struct xfer x;
	CURLM *multi;
	int done;
	CURLcode result;
	char url[1024];
	enum http_fail fail;
};

/* Runs the transfer until the buffer has data or it has ended. */
static int stream_pump(struct http_stream *s, int want_head, struct berr *err)
{
	for (;;) {
		if (s->x.len > s->x.off || s->done || (want_head && s->x.got_body)) {
			return 0;
		}
		if (s->x.paused) {
			s->x.paused = 0;
			curl_easy_pause(s->x.easy, CURLPAUSE_CONT);
			continue;
		}
		int running = 0;
		CURLMcode mc = curl_multi_perform(s->multi, &running);
		if (mc != CURLM_OK) {
			return berr_setx(err, EIO, "GET %s: %s", s->url, curl_multi_strerror(mc));
		}
		int left = 0;
		CURLMsg *m;
		while ((m = curl_multi_info_read(s->multi, &left)) != NULL) {
			if (m->msg == CURLMSG_DONE) {
				s->done = 1;
				s->result = m->data.result;
			}
		}
		if (s->done || s->x.len > s->x.off || (want_head && s->x.got_body) || s->x.paused) {
			continue;
		}
		mc = curl_multi_poll(s->multi, NULL, 0, 1000, NULL);
		if (mc != CURLM_OK) {
			return berr_setx(err, EIO, "GET %s: %s", s->url, curl_multi_strerror(mc));
		}
	}
}

int http_stream_open(struct http_stream **out, const struct http_conf *conf, const char *url,
		     const char *const *headers, size_t nheaders, struct http_resp *resp, enum http_fail *fail,
		     struct berr *err)
{
	*out = NULL;
	if (fail != NULL) {
		*fail = HTTP_FAIL_NONE;
	}
	struct http_stream *s = calloc(1, sizeof(*s));
	if (s == NULL) {
		return berr_set(err, ENOMEM, "GET %s", url);
	}
	snprintf(s->url, sizeof(s->url), "%s", url);
	s->x.streaming = 1;
	s->x.cap = STREAM_BUF;
	s->x.buf = malloc(STREAM_BUF);
	int ret = s->x.buf == NULL ? berr_set(err, ENOMEM, "GET %s", url)
				   : xfer_setup(&s->x, conf, url, headers, nheaders, resp, err);
	if (ret == 0) {
		s->multi = curl_multi_init();
		if (s->multi == NULL || curl_multi_add_handle(s->multi, s->x.easy) != CURLM_OK) {
			ret = berr_set(err, ENOMEM, "GET %s", url);
		}
	}
	if (ret == 0) {
		ret = stream_pump(s, 1, err);
	}
	if (ret == 0 && s->done && s->result != CURLE_OK) {
		ret = xfer_error(&s->x, s->result, url, fail, err);
	}
	if (ret < 0) {
		http_stream_close(s);
		return ret;
	}
	note_url(&s->x);
	*out = s;
	return 0;
}

ssize_t http_stream_read(struct http_stream *s, void *buf, size_t len, struct berr *err)
{
	int ret = stream_pump(s, 0, err);
	if (ret < 0) {
		return ret;
	}
	size_t have = s->x.len - s->x.off;
	if (have == 0) {
		if (s->result != CURLE_OK) {
			return xfer_error(&s->x, s->result, s->url, &s->fail, err);
		}
		return 0;
	}
	size_t n = have < len ? have : len;
	memcpy(buf, s->x.buf + s->x.off, n);
	s->x.off += n;
	return (ssize_t)n;
}

void http_stream_close(struct http_stream *s)
{
	if (s == NULL) {
		return;
	}
	if (s->multi != NULL) {
		if (s->x.easy != NULL) {
			curl_multi_remove_handle(s->multi, s->x.easy);
		}
		curl_multi_cleanup(s->multi);
	}
	xfer_free(&s->x);
	free(s);
}
