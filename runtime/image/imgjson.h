/* The JSON documents of image archives, parsed and checked: OCI image
 * indexes (and Docker manifest lists), image manifests, image configs and
 * the manifest.json of `docker save`. Input is untrusted: every field is
 * type-checked, digests must be sha256 in canonical form, strings may not
 * hide NUL bytes. Results are allocated from the caller's arena. No I/O. */
#ifndef BERTH_IMGJSON_H
#define BERTH_IMGJSON_H

#include <stddef.h>
#include <stdint.h>

#include "image/imagecfg.h"
#include "lib/arena.h"
#include "lib/berr.h"

#define IMGJSON_DIGEST_SIZE 72 /* "sha256:" + 64 hex + NUL */
#define IMGJSON_MAX_LAYERS 500 /* overlayfs stacks at most 500 lower layers */
/* Bytes in any one JSON document: the limit registries put on manifests.
 * json-c spends ~50 bytes per value, so this bounds memory too. */
#define IMGJSON_MAX_DOC (4u << 20)

enum imgjson_kind {
	IMGJSON_OTHER,
	IMGJSON_INDEX,	  /* OCI index or Docker manifest list */
	IMGJSON_MANIFEST, /* OCI or Docker image manifest */
	IMGJSON_CONFIG,	  /* OCI or Docker image config */
	IMGJSON_LAYER,	  /* a layer tar, compressed or not */
};

struct imgjson_descriptor {
	const char *media_type; /* "" when absent */
	enum imgjson_kind kind; /* from the media type */
	char digest[IMGJSON_DIGEST_SIZE];
	uint64_t size;
	int has_platform;
	const char *os; /* "" when absent */
	const char *architecture;
	const char *variant;
	const char *ref_name;	/* annotation org.opencontainers.image.ref.name, or NULL */
	const char *image_name; /* annotation io.containerd.image.name, or NULL */
	int attestation;	/* a BuildKit attestation manifest, not an image */
};

struct imgjson_index {
	struct imgjson_descriptor *manifests;
	size_t nmanifests;
};

struct imgjson_manifest {
	struct imgjson_descriptor config;
	struct imgjson_descriptor *layers;
	size_t nlayers;
};

/* One image of a `docker save` manifest.json. Paths are archive members. */
struct imgjson_docker_image {
	const char *config;
	const char **repo_tags;
	size_t nrepo_tags;
	const char **layers;
	size_t nlayers;
};

/* What the store needs from an image config besides struct image_config. */
struct imgjson_config_meta {
	char (*diff_ids)[IMGJSON_DIGEST_SIZE];
	size_t ndiff_ids;
	const char *created; /* RFC 3339, "" when absent */
	const char *os;
	const char *architecture;
	const char *variant;
};

enum imgjson_kind imgjson_media_kind(const char *media_type);

/* Checks "sha256:<64 lower-case hex>"; other algorithms are refused. */
int imgjson_check_digest(const char *digest, const char *what, struct berr *err);

/* An index (or manifest list); what names the document in messages. */
int imgjson_parse_index(const char *data, size_t len, const char *what, struct arena *a, struct imgjson_index *out,
			struct berr *err);

/* The entry of an index for linux/arch ("amd64"): its position, or
 * -ENOENT with err naming the platforms the index has. Attestations and
 * entries that are neither manifests nor indexes are passed over; an entry
 * without a platform fits any. */
int imgjson_select_platform(const struct imgjson_index *idx, const char *arch, const char *what, struct berr *err);

/* An image manifest: config and layer descriptors of known media types. */
int imgjson_parse_manifest(const char *data, size_t len, const char *what, struct arena *a,
			   struct imgjson_manifest *out, struct berr *err);

/* The `docker save` manifest.json: an array of images. */
int imgjson_parse_docker_manifest(const char *data, size_t len, const char *what, struct arena *a,
				  struct imgjson_docker_image **out, size_t *n, struct berr *err);

/* An image config: rootfs.diff_ids and the rest into meta, the runtime
 * part ("config": Entrypoint, Cmd, Env, ...) into cfg (cfg->id is left
 * for the caller). Either output may be NULL. */
int imgjson_parse_config(const char *data, size_t len, const char *what, struct arena *a,
			 struct imgjson_config_meta *meta, struct image_config *cfg, struct berr *err);

#endif
