/* A byte stream over a read callback, decompressed by its magic (gzip,
 * zstd, or plain), hashing both sides as it goes: the sha256 of the bytes
 * read from the source (an image blob's digest) and of the bytes it
 * produces (a layer's diff ID). It never seeks the source except through
 * the optional skip callback, and never produces more than a set limit. */
#ifndef BERTH_DSTREAM_H
#define BERTH_DSTREAM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/berr.h"
#include "lib/sha256.h"

enum dstream_kind {
	DSTREAM_PLAIN,
	DSTREAM_GZIP,
	DSTREAM_ZSTD,
};

struct dstream_source {
	/* Reads up to len bytes; 0 at the end, a negative errno on failure
	 * (with err set, or left for the stream to describe). */
	ssize_t (*read)(void *ctx, void *buf, size_t len, struct berr *err);
	/* Optional: advances the source by len bytes without reading them.
	 * Used only by dstream_skip on plain streams opened DSTREAM_NO_DIGEST. */
	int (*skip)(void *ctx, uint64_t len, struct berr *err);
	void *ctx;
};

/* Open flags. */
#define DSTREAM_NO_DIGEST 1u /* do not hash (the outer tar of an archive) */

struct dstream;

/* Reads the first bytes of the source to choose the decompressor.
 * max_out bounds the bytes produced (a decompression bomb is an error,
 * not a full disk); 0 means no bound. */
int dstream_open(struct dstream **out, const struct dstream_source *src, unsigned flags, uint64_t max_out,
		 struct berr *err);
void dstream_close(struct dstream *d);

/* Reads up to len produced bytes; 0 only at the true end of the stream. */
ssize_t dstream_read(struct dstream *d, void *buf, size_t len, struct berr *err);

/* Reads exactly len bytes: a stream that ends first is an error naming
 * what was being read (what). */
int dstream_read_full(struct dstream *d, void *buf, size_t len, const char *what, struct berr *err);

/* Discards len produced bytes (seeking the source when it can). A stream
 * that ends first is an error. */
int dstream_skip(struct dstream *d, uint64_t len, struct berr *err);

/* Reads (and hashes) everything left, so that the digests cover the whole
 * stream: trailing padding after a tar's end counts toward a diff ID. */
int dstream_drain(struct dstream *d, struct berr *err);

enum dstream_kind dstream_kind(const struct dstream *d);
const char *dstream_kind_name(enum dstream_kind kind);

/* Bytes read from the source / produced / handed to the caller so far
 * (the position of the next dstream_read in the produced stream). */
uint64_t dstream_in_bytes(const struct dstream *d);
uint64_t dstream_out_bytes(const struct dstream *d);
uint64_t dstream_position(const struct dstream *d);

/* The digests, once dstream_read has returned 0 or dstream_drain has
 * succeeded: "sha256:<hex>" of the source and of the produced bytes. Both
 * are the same for a plain stream. -EINVAL before the end. */
int dstream_digests(struct dstream *d, char in[72], char out[72]);

#endif
