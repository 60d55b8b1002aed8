/* Decompressing, hashing byte stream (see dstream.h). Owns its buffers and
 * the zlib/zstd state; reads its source only through the callbacks. */
#include "image/dstream.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "image/strfmt.h"

#define IN_SIZE (128u * 1024u)
#define OUT_SIZE (128u * 1024u)

enum gzip_state {
	GZIP_MEMBER,  /* inflating a member */
	GZIP_BETWEEN, /* after a member: another member, zero padding or the end */
	GZIP_PADDING, /* only zero bytes may follow */
};

struct dstream {
	struct dstream_source src;
	unsigned flags;
	enum dstream_kind kind;
	uint64_t max_out;
	uint64_t in_bytes;
	uint64_t out_bytes;
	uint64_t pos;
	int src_eof;
	int finished;
	int digested;
	struct sha256 in_hash;
	struct sha256 out_hash;
	char in_digest[72];
	char out_digest[72];
	z_stream z;
	int z_ready;
	enum gzip_state gzip;
	ZSTD_DStream *zs;
	size_t zstd_hint; /* last ZSTD_decompressStream result: 0 at a frame boundary */
	uint8_t *in;
	size_t in_start;
	size_t in_end;
	uint8_t *out;
	size_t out_start;
	size_t out_end;
};

const char *dstream_kind_name(enum dstream_kind kind)
{
	switch (kind) {
	case DSTREAM_GZIP:
		return "gzip";
	case DSTREAM_ZSTD:
		return "zstd";
	case DSTREAM_PLAIN:
		break;
	}
	return "uncompressed";
}

static int over_limit(struct dstream *d, struct berr *err)
{
	if (d->max_out != 0 && d->out_bytes > d->max_out) {
		return berr_setx(err, EFBIG, "more than %llu bytes after decompression (the limit)",
				 (unsigned long long)d->max_out);
	}
	return 0;
}

/* Reads more source bytes after what is buffered; returns how many (0 at
 * the end of the source). Hashes them as the blob's bytes. */
static ssize_t refill(struct dstream *d, struct berr *err)
{
	if (d->src_eof) {
		return 0;
	}
	if (d->in_start == d->in_end) {
		d->in_start = 0;
		d->in_end = 0;
	} else if (d->in_end == IN_SIZE) {
		memmove(d->in, d->in + d->in_start, d->in_end - d->in_start);
		d->in_end -= d->in_start;
		d->in_start = 0;
	}
	ssize_t n = d->src.read(d->src.ctx, d->in + d->in_end, IN_SIZE - d->in_end, err);
	if (n < 0) {
		return n;
	}
	if ((size_t)n > IN_SIZE - d->in_end) {
		return berr_setx(err, EIO, "source returned more than it was asked for");
	}
	if (n == 0) {
		d->src_eof = 1;
		return 0;
	}
	if (!(d->flags & DSTREAM_NO_DIGEST)) {
		sha256_update(&d->in_hash, d->in + d->in_end, (size_t)n);
	}
	d->in_end += (size_t)n;
	d->in_bytes += (uint64_t)n;
	if (d->kind == DSTREAM_PLAIN) {
		d->out_bytes = d->in_bytes;
		int ret = over_limit(d, err);
		if (ret < 0) {
			return ret;
		}
	}
	return n;
}

static int produced(struct dstream *d, size_t n, struct berr *err)
{
	d->out_start = 0;
	d->out_end = n;
	d->out_bytes += n;
	if (!(d->flags & DSTREAM_NO_DIGEST)) {
		sha256_update(&d->out_hash, d->out, n);
	}
	return over_limit(d, err);
}

/* After a gzip member: another member may follow (multi-member files, as
 * pigz and concatenation make), then optionally zero padding, then the end.
 * Anything else is refused rather than silently ignored. */
static int gzip_between(struct dstream *d, struct berr *err)
{
	for (;;) {
		if (d->in_start == d->in_end) {
			ssize_t n = refill(d, err);
			if (n < 0) {
				return (int)n;
			}
			if (n == 0) {
				d->finished = 1;
				return 0;
			}
		}
		if (d->gzip == GZIP_PADDING || d->in[d->in_start] == 0) {
			while (d->in_start < d->in_end && d->in[d->in_start] == 0) {
				d->in_start++;
			}
			if (d->in_start < d->in_end) {
				return berr_setx(err, EINVAL,
						 "gzip: data after the zero padding that follows the stream");
			}
			d->gzip = GZIP_PADDING;
			continue;
		}
		while (d->in_end - d->in_start < 2) {
			ssize_t n = refill(d, err);
			if (n < 0) {
				return (int)n;
			}
			if (n == 0) {
				return berr_setx(err, EINVAL, "gzip: trailing byte after the stream");
			}
		}
		if (d->in[d->in_start] != 0x1f || d->in[d->in_start + 1] != 0x8b) {
			return berr_setx(err, EINVAL, "gzip: trailing data after the stream");
		}
		if (inflateReset(&d->z) != Z_OK) {
			return berr_setx(err, EIO, "gzip: cannot reset the decompressor");
		}
		d->gzip = GZIP_MEMBER;
		return 0;
	}
}

static int produce_gzip(struct dstream *d, struct berr *err)
{
	while (!d->finished) {
		if (d->gzip != GZIP_MEMBER) {
			int ret = gzip_between(d, err);
			if (ret < 0) {
				return ret;
			}
			continue;
		}
		if (d->in_start == d->in_end) {
			ssize_t n = refill(d, err);
			if (n < 0) {
				return (int)n;
			}
			if (n == 0) {
				return berr_setx(err, EINVAL, "gzip: stream is truncated");
			}
		}
		size_t avail = d->in_end - d->in_start;
		d->z.next_in = d->in + d->in_start;
		d->z.avail_in = (uInt)avail;
		d->z.next_out = d->out;
		d->z.avail_out = OUT_SIZE;
		int zret = inflate(&d->z, Z_NO_FLUSH);
		d->in_start += avail - d->z.avail_in;
		size_t n = OUT_SIZE - d->z.avail_out;
		if (zret == Z_STREAM_END) {
			d->gzip = GZIP_BETWEEN;
		} else if (zret != Z_OK && zret != Z_BUF_ERROR) {
			return berr_setx(err, EINVAL, "gzip: %s", d->z.msg != NULL ? d->z.msg : "corrupt data");
		}
		if (n > 0) {
			return produced(d, n, err);
		}
		if (avail > 0 && d->z.avail_in == avail && zret != Z_STREAM_END) {
			/* zlib made no progress with input and room: never spin. */
			return berr_setx(err, EINVAL, "gzip: corrupt data");
		}
	}
	return 0;
}

static int produce_zstd(struct dstream *d, struct berr *err)
{
	while (!d->finished) {
		if (d->in_start == d->in_end) {
			ssize_t n = refill(d, err);
			if (n < 0) {
				return (int)n;
			}
			if (n == 0 && d->zstd_hint == 0) {
				d->finished = 1;
				return 0;
			}
		}
		ZSTD_inBuffer ib = {d->in + d->in_start, d->in_end - d->in_start, 0};
		ZSTD_outBuffer ob = {d->out, OUT_SIZE, 0};
		size_t r = ZSTD_decompressStream(d->zs, &ob, &ib);
		if (ZSTD_isError(r)) {
			return berr_setx(err, EINVAL, "zstd: %s", ZSTD_getErrorName(r));
		}
		d->zstd_hint = r;
		d->in_start += ib.pos;
		if (ob.pos > 0) {
			return produced(d, ob.pos, err);
		}
		if (d->src_eof && d->in_start == d->in_end && r != 0) {
			return berr_setx(err, EINVAL, "zstd: stream is truncated");
		}
		if (ib.size > 0 && ib.pos == 0) {
			/* No progress with input and room: never spin. */
			return berr_setx(err, EINVAL, "zstd: corrupt data");
		}
	}
	return 0;
}

/* Makes produced bytes available (or sets finished). */
static int fill(struct dstream *d, struct berr *err)
{
	if (d->kind == DSTREAM_PLAIN) {
		if (d->in_start < d->in_end || d->finished) {
			return 0;
		}
		ssize_t n = refill(d, err);
		if (n < 0) {
			return (int)n;
		}
		if (n == 0) {
			d->finished = 1;
		}
		return 0;
	}
	if (d->out_start < d->out_end || d->finished) {
		return 0;
	}
	return d->kind == DSTREAM_GZIP ? produce_gzip(d, err) : produce_zstd(d, err);
}

/* The produced bytes not yet handed out. */
static const uint8_t *window(struct dstream *d, size_t *len)
{
	if (d->kind == DSTREAM_PLAIN) {
		*len = d->in_end - d->in_start;
		return d->in + d->in_start;
	}
	*len = d->out_end - d->out_start;
	return d->out + d->out_start;
}

static void consume(struct dstream *d, size_t n)
{
	if (d->kind == DSTREAM_PLAIN) {
		d->in_start += n;
	} else {
		d->out_start += n;
	}
	d->pos += n;
}

static int is_zstd_magic(const uint8_t *p)
{
	/* A zstd frame, or a skippable frame (magic 0x184D2A50..5F, little endian). */
	return (p[0] == 0x28 && p[1] == 0xb5 && p[2] == 0x2f && p[3] == 0xfd) ||
	       ((p[0] & 0xf0) == 0x50 && p[1] == 0x2a && p[2] == 0x4d && p[3] == 0x18);
}

int dstream_open(struct dstream **out, const struct dstream_source *src, unsigned flags, uint64_t max_out,
		 struct berr *err)
{
	*out = NULL;
	struct dstream *d = calloc(1, sizeof(*d));
	if (d == NULL) {
		return berr_set(err, ENOMEM, "stream");
	}
	d->src = *src;
	d->flags = flags;
	d->max_out = max_out;
	d->in = malloc(IN_SIZE);
	if (d->in == NULL) {
		dstream_close(d);
		return berr_set(err, ENOMEM, "stream");
	}
	sha256_init(&d->in_hash);
	sha256_init(&d->out_hash);
	/* The kind stays plain while sniffing so that refill does not count
	 * the magic as produced bytes twice; max_out applies from here on. */
	d->kind = DSTREAM_PLAIN;
	while (d->in_end < 4) {
		ssize_t n = refill(d, err);
		if (n < 0) {
			dstream_close(d);
			return (int)n;
		}
		if (n == 0) {
			break;
		}
	}
	size_t have = d->in_end;
	if (have >= 2 && d->in[0] == 0x1f && d->in[1] == 0x8b) {
		d->kind = DSTREAM_GZIP;
	} else if (have >= 4 && is_zstd_magic(d->in)) {
		d->kind = DSTREAM_ZSTD;
	}
	if (d->kind == DSTREAM_PLAIN) {
		*out = d;
		return 0;
	}
	d->out_bytes = 0;
	d->out = malloc(OUT_SIZE);
	if (d->out == NULL) {
		dstream_close(d);
		return berr_set(err, ENOMEM, "stream");
	}
	if (d->kind == DSTREAM_GZIP) {
		/* 16 + MAX_WBITS: gzip wrapper only, with its CRC and length checked. */
		if (inflateInit2(&d->z, 16 + MAX_WBITS) != Z_OK) {
			dstream_close(d);
			return berr_set(err, ENOMEM, "gzip");
		}
		d->z_ready = 1;
		d->gzip = GZIP_MEMBER;
	} else {
		d->zs = ZSTD_createDStream();
		if (d->zs == NULL || ZSTD_isError(ZSTD_initDStream(d->zs))) {
			dstream_close(d);
			return berr_set(err, ENOMEM, "zstd");
		}
	}
	*out = d;
	return 0;
}

void dstream_close(struct dstream *d)
{
	if (d == NULL) {
		return;
	}
	if (d->z_ready) {
		inflateEnd(&d->z);
	}
	ZSTD_freeDStream(d->zs);
	free(d->in);
	free(d->out);
	free(d);
}

ssize_t dstream_read(struct dstream *d, void *buf, size_t len, struct berr *err)
{
	if (len == 0) {
		return 0;
	}
	int ret = fill(d, err);
	if (ret < 0) {
		return ret;
	}
	size_t avail;
	const uint8_t *p = window(d, &avail);
	if (avail == 0) {
		return 0;
	}
	if (avail > len) {
		avail = len;
	}
	memcpy(buf, p, avail);
	consume(d, avail);
	return (ssize_t)avail;
}

int dstream_read_full(struct dstream *d, void *buf, size_t len, const char *what, struct berr *err)
{
	size_t done = 0;
	while (done < len) {
		ssize_t n = dstream_read(d, (uint8_t *)buf + done, len - done, err);
		if (n < 0) {
			return (int)n;
		}
		if (n == 0) {
			return berr_setx(err, EINVAL, "unexpected end of data in %s", what);
		}
		done += (size_t)n;
	}
	return 0;
}

int dstream_skip(struct dstream *d, uint64_t len, struct berr *err)
{
	while (len > 0) {
		size_t avail;
		window(d, &avail);
		if (avail == 0 && d->kind == DSTREAM_PLAIN && (d->flags & DSTREAM_NO_DIGEST) && d->src.skip != NULL &&
		    !d->finished) {
			int ret = d->src.skip(d->src.ctx, len, err);
			if (ret < 0) {
				return ret;
			}
			d->in_bytes += len;
			d->out_bytes = d->in_bytes;
			d->pos += len;
			return over_limit(d, err);
		}
		int ret = fill(d, err);
		if (ret < 0) {
			return ret;
		}
		window(d, &avail);
		if (avail == 0) {
			return berr_setx(err, EINVAL, "unexpected end of data");
		}
		if (avail > len) {
			avail = (size_t)len;
		}
		consume(d, avail);
		len -= avail;
	}
	return 0;
}

int dstream_drain(struct dstream *d, struct berr *err)
{
	for (;;) {
		size_t avail;
		window(d, &avail);
		consume(d, avail);
		if (d->finished) {
			return 0;
		}
		int ret = fill(d, err);
		if (ret < 0) {
			return ret;
		}
	}
}

enum dstream_kind dstream_kind(const struct dstream *d)
{
	return d->kind;
}

uint64_t dstream_in_bytes(const struct dstream *d)
{
	return d->in_bytes;
}

uint64_t dstream_out_bytes(const struct dstream *d)
{
	return d->out_bytes;
}

uint64_t dstream_position(const struct dstream *d)
{
	return d->pos;
}

int dstream_digests(struct dstream *d, char in[72], char out[72])
{
	if (!d->finished || (d->flags & DSTREAM_NO_DIGEST)) {
		return -EINVAL;
	}
	if (!d->digested) {
		uint8_t digest[SHA256_LEN];
		char hex[SHA256_HEX_LEN + 1];
		sha256_final(&d->in_hash, digest);
		sha256_to_hex(digest, hex);
		(void)strfmt(d->in_digest, sizeof(d->in_digest), "sha256:%s", hex);
		if (d->kind == DSTREAM_PLAIN) {
			memcpy(d->out_digest, d->in_digest, sizeof(d->out_digest));
		} else {
			sha256_final(&d->out_hash, digest);
			sha256_to_hex(digest, hex);
			(void)strfmt(d->out_digest, sizeof(d->out_digest), "sha256:%s", hex);
		}
		d->digested = 1;
	}
	if (in != NULL) {
		memcpy(in, d->in_digest, sizeof(d->in_digest));
	}
	if (out != NULL) {
		memcpy(out, d->out_digest, sizeof(d->out_digest));
	}
	return 0;
}
