/* One compose service, with its image's config, into an OCI runtime
 * config, the way Docker would run it: entrypoint and command, the
 * environment, user and groups from the image's /etc/passwd and
 * /etc/group, working directory, Berth's default security profile
 * (compose/profile.h) adjusted by cap_add, cap_drop and privileged,
 * namespaces, mounts, limits and annotations.
 *
 * The caller decides where data lives: named volumes, anonymous volumes
 * and bind sources all go through one hook, which may refuse (a bind
 * source outside the allowed places). The only files read here are the
 * rootfs's /etc/passwd and /etc/group, resolved inside the rootfs. */
#ifndef BERTH_COMPOSE_TRANSLATE_H
#define BERTH_COMPOSE_TRANSLATE_H

#include <stddef.h>
#include <stdint.h>

#include "compose/compose.h"
#include "image/imagecfg.h"
#include "lib/berr.h"
#include "oci/config.h"

/* Default values Docker applies to a healthcheck that does not say. */
#define COMPOSE_HEALTH_INTERVAL_NS INT64_C(30000000000)
#define COMPOSE_HEALTH_TIMEOUT_NS INT64_C(30000000000)
#define COMPOSE_HEALTH_START_INTERVAL_NS INT64_C(5000000000)
#define COMPOSE_HEALTH_RETRIES 3
#define COMPOSE_STOP_GRACE_NS INT64_C(10000000000)
#define COMPOSE_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* Gives the host path to bind for m: a named volume (m->source is its
 * key), an anonymous one (m->source NULL; the image's volumes come this
 * way too), or a bind (m->source is the host path the file names; the
 * hook returns it, or refuses it). *host_path is copied before the next
 * call. Returns 0 or a negative errno with err set. */
typedef int (*compose_volume_fn)(void *ctx, const struct compose_service *s, const struct compose_mount *m,
				 const char **host_path, struct berr *err);

struct compose_translate_in {
	const struct compose_project *project;
	const struct compose_service *service;
	const struct image_config *image;
	const char *rootfs;   /* root.path: the mounted root filesystem */
	const char *hostname; /* when the service sets none (the host's for network_mode: host) */
	compose_volume_fn volume_path;
	void *volume_ctx;
	/* Files bound read-only over /etc/hostname, /etc/hosts and
	 * /etc/resolv.conf; NULL leaves the image's. */
	const char *hostname_file;
	const char *hosts_file;
	const char *resolv_file;
	/* Where the caller wrote the service's secrets and configs: file i of
	 * service->files is files_dir/i, with its owner and mode
	 * (compose_write_files). */
	const char *files_dir;
	const char *netns_path;	  /* for network_mode service:/container: the namespace to join */
	const char *cgroups_path; /* NULL: none in the config */
};

/* What runs, and what the daemon needs beside the OCI config. Everything
 * lives in oci's arena. */
struct compose_runtime {
	struct oci_config oci;
	int stop_signal;			/* compose, else the image's, else SIGTERM */
	int64_t stop_grace_ns;			/* compose, else 10 s */
	int has_healthcheck;			/* 0: none, or disabled */
	struct compose_healthcheck healthcheck; /* compose over image, Docker's defaults filled in */
	char **anon_volumes;			/* container paths of the image's volumes no service mount covers */
	size_t nanon_volumes;
};

/* Builds the runtime of in->service. Errors say "services.NAME: ...".
 * `init: true` is the caller's: the config runs the service's command
 * itself, and berthd puts its init in front of it (and binds it in). */
int compose_translate(const struct compose_translate_in *in, struct compose_runtime *out, struct berr *err);

void compose_runtime_free(struct compose_runtime *rt);

/* The capability set Docker gives: the defaults, minus cap_drop, plus
 * cap_add (ALL in cap_add gives every capability but those dropped; ALL in
 * cap_drop starts from none); privileged gives all. */
uint64_t compose_capabilities(const struct compose_service *s);

#endif
