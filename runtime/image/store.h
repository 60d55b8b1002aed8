/* The image store on DATA: imports image archives into content-addressed,
 * verified, unpacked layers, keeps image configs and names, resolves a
 * reference to what a container root needs, removes images and collects
 * garbage.
 *
 * Layout under the root directory (the daemon uses /data/berth/store):
 *   lock                      flock: load, remove and gc hold it exclusively
 *   blobs/sha256/<hex>        image configs, named by their digest
 *   layers/<16 hex>/fs/       an unpacked layer (an overlayfs lowerdir),
 *                             named by the start of its chain ID (short, so
 *                             that many fit in overlayfs's mount options)
 *   layers/<16 hex>/layer.json  its full chain ID, diff ID, parent, size
 *   images/<64 hex>.json      an image: config digest, layer chain IDs,
 *                             size, created; <hex> is the image ID
 *   names.json                {"busybox:latest": "sha256:<image id>", ...}
 *   tmp/                      imports in progress; emptied on open and gc
 *
 * Every blob is checked against its digest, every layer's uncompressed
 * content against the config's diff_ids. Nothing is visible before it is
 * complete: layers are unpacked under tmp/ and renamed into layers/ after
 * their digests match; the image record is written (by rename) after its
 * layers, the name after the record. An interrupted load leaves at most
 * unreferenced layers or blobs, which gc removes. Layers are shared by
 * chain ID and unpacked once.
 *
 * Reads (list, resolve) take no lock: every file is replaced by rename.
 * Load, remove and gc wait for the lock, so while another process loads a
 * big image they wait too: a caller with an event loop runs them aside. */
#ifndef BERTH_STORE_H
#define BERTH_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "image/imagecfg.h"
#include "image/unpack.h"
#include "lib/arena.h"
#include "lib/berr.h"

#define STORE_ID_SIZE 72		    /* "sha256:" + 64 hex + NUL */
#define STORE_HOST_ROOT "/data/berth/store" /* the store of a Berth host */

struct store;

/* Opens the store at root, creating it if needed. */
int store_open(struct store **out, const char *root, struct berr *err);
void store_close(struct store *s);

/* Keep each layer's blob (compressed, as loaded or pulled) in blobs/
 * besides unpacking it, so that store_save can write the image out: the
 * build machine's stores do; a host's does not (it never saves, and the
 * blobs would double its images' disk use). */
void store_set_keep_blobs(struct store *s, int on);

/* Limits for each layer of later loads (defaults: unpack.h). */
void store_set_limits(struct store *s, const struct unpack_limits *limits);

struct store_loaded {
	char id[STORE_ID_SIZE];
	const char **names; /* canonical names now pointing at this image */
	size_t nnames;
	size_t nlayers;
	size_t new_layers; /* unpacked by this load; the others were present */
	uint64_t size;	   /* bytes of file content in its layers */
};

/* Loads every image of the archive at path (a file or a directory). */
int store_load_path(struct store *s, const char *path, struct arena *a, struct store_loaded **out, size_t *n,
		    struct berr *err);

/* Loads from an open file or pipe (`berth load < image.tar`); name is for
 * messages. fd is read, not closed. */
int store_load_fd(struct store *s, int fd, const char *name, struct arena *a, struct store_loaded **out, size_t *n,
		  struct berr *err);

struct store_image_info {
	char id[STORE_ID_SIZE];
	const char **names;
	size_t nnames;
	uint64_t size;
	const char *created; /* RFC 3339 from the config; "" when unknown */
	int64_t loaded;	     /* when it was loaded, seconds since the epoch */
	size_t nlayers;
	const char **digests; /* "repo@sha256:<manifest>" it was pulled as */
	size_t ndigests;
};

/* ---- pulls (runtime/registry): an image piece by piece ----------------------
 * Layers come one by one from any byte stream, several at a time from
 * several threads, each unpacked under tmp/ and renamed into layers/ once
 * both its digests match; the image (config, record, names) is published
 * last, after every layer is present. An interrupted pull leaves finished
 * layers (the next pull finds them; gc removes them if none does) and
 * nothing half-unpacked in sight. Pulls hold the store's lock shared, so
 * they run side by side but never beside a load, a remove or a gc. */

/* Takes and releases the shared lock around a pull. */
int store_pull_begin(struct store *s, struct berr *err);
void store_pull_end(struct store *s);

struct store_pull_layer {
	char diff_id[STORE_ID_SIZE];
	char chain[STORE_ID_SIZE];
	char parent[STORE_ID_SIZE]; /* "" for the bottom layer */
};

/* Checks an image config (its digest, this host's platform) and says what
 * its layers are, bottom first. source names the image in messages. */
int store_pull_config(const char *source, const char *cfg, size_t len, const char *digest, struct arena *a,
		      struct store_pull_layer **layers, size_t *n, struct berr *err);

/* 1 when the layer is in the store already (*size: its bytes), else 0.
 * blob: the layer's blob digest, which a store that keeps blobs must
 * have too (NULL: the layer alone counts). */
int store_layer_present(struct store *s, const char *chain, const char *blob, uint64_t *size);

/* Unpacks one layer from src (compressed or not), verifying the blob
 * against blob_digest and the content against the diff ID. */
int store_pull_layer(struct store *s, const struct store_pull_layer *l, const char *blob_digest, const char *what,
		     const struct dstream_source *src, uint64_t *size, struct berr *err);

/* Publishes the image once all its layers are present. manifest: its
 * manifest's digest; repo_digest: "repo@sha256:..." for `images --digests`. */
int store_pull_publish(struct store *s, const char *source, const char *cfg, size_t len,
		       const char (*layer_blobs)[STORE_ID_SIZE], const char *manifest, const char *repo_digest,
		       const char **names, size_t nnames, struct store_loaded *out, struct berr *err);

/* Every image, newest load first. */
int store_list(struct store *s, struct arena *a, struct store_image_info **out, size_t *n, struct berr *err);

struct store_image {
	char id[STORE_ID_SIZE];
	struct image_config config; /* config.id == id */
	const char **names;
	size_t nnames;
	const char **layer_dirs; /* absolute paths, lowest layer first */
	size_t nlayers;
};

/* ref: a name ("busybox", "busybox:1.36", "docker.io/library/busybox"),
 * a full image ID (with or without "sha256:"), or a unique prefix of at
 * least 12 hex digits. */
int store_resolve(struct store *s, const char *ref, struct arena *a, struct store_image *out, struct berr *err);

/* What writing an image out needs (save.c): its ID, the names to give it
 * (ref's name, or every name when ref is an ID) and its layers' blobs. */
struct store_image_parts {
	char id[STORE_ID_SIZE]; /* also its config's digest */
	const char **names;
	size_t nnames;
	char (*blobs)[STORE_ID_SIZE]; /* "" where the store does not know it */
	size_t nlayers;
};

int store_image_parts(struct store *s, const char *ref, struct arena *a, struct store_image_parts *out,
		      struct berr *err);

/* Opens blobs/sha256/<digest> for reading; returns the fd, *size its bytes. */
int store_open_blob(struct store *s, const char *digest, uint64_t *size, struct berr *err);

/* Writes the images refs name to fd as one tar: an OCI image layout with
 * Docker's manifest.json beside index.json (what `berth load`, CONFIG's
 * images/ and docker load all take). Needs every layer's blob: stores
 * that keep blobs have them (store_set_keep_blobs). */
int store_save(struct store *s, const char *const *refs, size_t n, int fd, struct berr *err);

/* Whether a container uses the image: 1 yes, 0 no. */
typedef int (*store_in_use_fn)(void *ctx, const char *image_id);

struct store_removed {
	char id[STORE_ID_SIZE];
	size_t untagged; /* names removed */
	int deleted;	 /* the image record is gone (its layers go at the next gc) */
	int kept;	 /* forced while in use: untagged, kept for its containers */
};

/* Removes a name, or by ID every name; the image itself goes when no name
 * is left. If in_use says a container uses it, this is refused unless
 * force, and even then the image is only untagged, never pulled from
 * under a container. Layers and configs are freed by store_gc. */
int store_remove(struct store *s, const char *ref, int force, store_in_use_fn in_use, void *ctx,
		 struct store_removed *out, struct berr *err);

struct store_gc_stats {
	size_t layers;	/* layer directories removed */
	size_t blobs;	/* configs removed */
	size_t temps;	/* leftovers of interrupted loads removed */
	uint64_t bytes; /* disk space released */
};

/* Removes layers and blobs no image references, and what interrupted
 * loads left in tmp/. */
int store_gc(struct store *s, struct store_gc_stats *out, struct berr *err);

/* Mounts img's layers as an overlayfs on target (see overlay.h): with
 * upper and work, a writable root; with both NULL, a read-only one. */
int store_mount_rootfs(const struct store_image *img, const char *upper, const char *work, const char *target,
		       unsigned long flags, struct berr *err);

#endif
