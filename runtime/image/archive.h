/* Image archives as `berth load` gets them: an OCI image layout (a
 * directory, or a tar of one), or a `docker save` tarball (the legacy
 * manifest.json form, or the OCI form newer Docker writes), from a path or
 * a file descriptor, a tar possibly gzip- or zstd-compressed.
 *
 * This module finds the members of the archive and the images they make:
 * which config and which layers, with the digests the manifests promise,
 * and the names. Manifests and indexes are verified against their
 * descriptors as they are read; configs and layers are handed to the
 * caller (store.c) to verify while it imports them. It never writes
 * anything but one anonymous temporary file (O_TMPFILE), when the input
 * cannot be read twice (a pipe) or is compressed as a whole. */
#ifndef BERTH_ARCHIVE_H
#define BERTH_ARCHIVE_H

#include <stddef.h>
#include <stdint.h>

#include "image/dstream.h"
#include "image/imgjson.h"
#include "lib/arena.h"
#include "lib/berr.h"

#define ARCHIVE_MAX_MEMBERS 100000 /* files in an archive tar */
#define ARCHIVE_MAX_IMAGES 256	   /* images in one archive */
#define ARCHIVE_SIZE_UNKNOWN UINT64_MAX

struct archive;

/* path: a directory or a file. tmpfd: a directory on the store's
 * filesystem, for the spool file when one is needed. */
int archive_open_path(struct archive **out, const char *path, int tmpfd, struct berr *err);

/* fd: a file or a pipe (`berth load < image.tar`), read from its current
 * offset; not closed. name is used in messages. */
int archive_open_fd(struct archive **out, int fd, const char *name, int tmpfd, struct berr *err);

void archive_close(struct archive *a);

/* What messages call the archive (the path, or the name given). */
const char *archive_name(const struct archive *a);

struct archive_layer {
	const char *member;		  /* e.g. "blobs/sha256/<hex>" or "<id>/layer.tar" */
	char digest[IMGJSON_DIGEST_SIZE]; /* the blob's promised digest; "" when the format has none */
	uint64_t size;			  /* promised size, or ARCHIVE_SIZE_UNKNOWN */
};

struct archive_image {
	const char *config_member;
	char config_digest[IMGJSON_DIGEST_SIZE];   /* promised; "" when unknown */
	uint64_t config_size;			   /* promised, or ARCHIVE_SIZE_UNKNOWN */
	char manifest_digest[IMGJSON_DIGEST_SIZE]; /* "" for the legacy docker save form */
	struct archive_layer *layers;
	size_t nlayers;
	const char **names; /* canonical (imgref_normalize), no duplicates */
	size_t nnames;
};

/* The images of the archive, for this host's platform (a multi-platform
 * index gives its linux/<this architecture> image). */
int archive_images(struct archive *a, struct arena *ar, struct archive_image **out, size_t *n, struct berr *err);

/* The platform images are chosen for: "amd64", "arm64", ... */
const char *archive_host_arch(void);

/* Reads a whole member of at most max bytes (NUL-terminated in *data,
 * which the caller frees). */
int archive_read(struct archive *a, const char *member, size_t max, char **data, size_t *len, struct berr *err);

/* A member as a stream, for dstream_open. */
struct archive_member {
	int fd;
	int owned;
	uint64_t offset;
	uint64_t size;
	uint64_t pos;
	const char *name;
};

int archive_member_open(struct archive *a, const char *member, struct archive_member *m, struct berr *err);
void archive_member_close(struct archive_member *m);
void archive_member_source(struct archive_member *m, struct dstream_source *src);

#endif
