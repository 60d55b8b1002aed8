/* Image names: "[registry/]path[:tag][@sha256:hex]", checked and put in
 * one canonical form so that "busybox", "busybox:latest" and
 * "docker.io/library/busybox:latest" are the same name, and split into
 * what a registry client needs (Docker's rules: no registry is Docker Hub,
 * a one-component Hub name is under library/). No registry is ever
 * contacted here; Docker Hub names are only written short, the way
 * `docker images` shows them. A digest wins over a tag: the canonical
 * form of "busybox:1.36@sha256:..." is "busybox@sha256:...". */
#ifndef BERTH_IMGREF_H
#define BERTH_IMGREF_H

#include <stddef.h>

#include "lib/berr.h"

#define IMGREF_MAX 256 /* bytes in a canonical name, with the NUL */

struct imgref {
	char domain[256];      /* "docker.io", "ghcr.io", "localhost:5000" */
	char path[IMGREF_MAX]; /* "library/busybox", "org/app" */
	char tag[129];	       /* "latest" when none was given */
	char digest[72];       /* "sha256:<hex>", or "" */
	char canonical[IMGREF_MAX];
};

/* Parses and checks a reference. */
int imgref_parse(const char *name, struct imgref *out, struct berr *err);

/* Writes the canonical form of name to out ("busybox" ->
 * "busybox:latest", "docker.io/library/busybox:1.36" -> "busybox:1.36",
 * "ghcr.io/o/a@sha256:..." stays). */
int imgref_normalize(const char *name, char *out, size_t size, struct berr *err);

/* 1 if s is 1 to 64 lower-case hex digits (an image ID or a prefix of one). */
int imgref_is_hex(const char *s);

#endif
