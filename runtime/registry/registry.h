/* The registry client: pulls images over the OCI distribution API v2 into
 * the image store (image/store.h), on a host (berthd, `berth pull`) and on
 * the build machine (`berth --root DIR pull`).
 *
 * A pull resolves a reference the way Docker does (imgref_parse), asks the
 * registry's mirrors first and then the registry, follows the WWW-Authenticate
 * challenge (anonymous, a bearer token, basic credentials from the auths
 * files), takes linux/<this arch> from an index, verifies every document
 * and blob against its digest while it streams, and unpacks up to `jobs`
 * layers at a time straight into the store (never a whole layer in memory).
 * The image becomes visible only when all of it is there; an interrupted
 * pull keeps the layers it finished, for the next one.
 *
 * Credentials go from the auths files into request headers and nowhere
 * else: not into messages, logs, progress, or any process's arguments. */
#ifndef BERTH_REGISTRY_H
#define BERTH_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "image/store.h"
#include "lib/berr.h"
#include "lib/hostcfg.h"

#define REGISTRY_CA_BUNDLE "/etc/ssl/certs/ca-certificates.crt"
#define REGISTRY_DEFAULT_JOBS 3
/* What `berth login` writes on a host (mode 0600, on DATA). */
#define REGISTRY_HOST_LOGIN "/data/berth/auth.json"

enum registry_event {
	REG_EV_RESOLVED,      /* the manifest is in: nlayers known; text: the digest */
	REG_EV_LAYER_EXISTS,  /* a layer the store has */
	REG_EV_LAYER_START,   /* a layer's download begins (total: its size) */
	REG_EV_LAYER_BYTES,   /* done of total bytes so far */
	REG_EV_LAYER_DONE,    /* downloaded, verified, unpacked */
	REG_EV_MIRROR_FAILED, /* a mirror failed; text: why; the next endpoint is tried */
};

struct registry_progress {
	enum registry_event event;
	size_t layer; /* 0-based, bottom first */
	size_t nlayers;
	const char *digest; /* the layer's blob */
	uint64_t done;
	uint64_t total;
	const char *text;
};

struct registry_opts {
	const struct host_config *host; /* mirrors, insecure registries, proxy; NULL: none */
	const char *config_dir;		/* CONFIG: auth.json, certs.d/, ca-certificates/; NULL: none */
	const char *login_file;		/* `berth login`'s auths file; NULL: none */
	const char *ca_bundle;		/* NULL: REGISTRY_CA_BUNDLE */
	int jobs;			/* layers at a time; 0: REGISTRY_DEFAULT_JOBS */
	/* Called from the pulling threads, one call at a time. */
	void (*progress)(void *ctx, const struct registry_progress *p);
	void *progress_ctx;
};

struct registry_pulled {
	char id[STORE_ID_SIZE];
	char name[256];	 /* the canonical name now pointing at it */
	char digest[72]; /* what the reference resolved to (an index or a manifest) */
	size_t nlayers;
	size_t new_layers;
	uint64_t bytes; /* downloaded */
	int up_to_date; /* the store had it all */
};

/* Pulls ref into the store. */
int registry_pull(struct store *s, const char *ref, const struct registry_opts *o, struct registry_pulled *out,
		  struct berr *err);

/* Checks credentials against a registry (`berth login`): the registry's
 * /v2/ endpoint with the given user and password, through its token
 * endpoint if it has one. 0 when accepted. */
int registry_login_check(const char *registry, const char *user, const char *password, const struct registry_opts *o,
			 struct berr *err);

/* The registry a name or host given to `berth login` means, in the form
 * the auths files use ("docker.io" for Docker Hub). */
void registry_login_key(const char *arg, char *out, size_t size);

#endif
