/* Image names: "[registry/]path[:tag]", checked and put in one canonical
 * form so that "busybox", "busybox:latest" and
 * "docker.io/library/busybox:latest" are the same name. No registry is
 * ever contacted; Docker Hub names are only written short, the way
 * `docker images` shows them. Digest references ("@sha256:") are refused. */
#ifndef BERTH_IMGREF_H
#define BERTH_IMGREF_H

#include <stddef.h>

#include "lib/berr.h"

#define IMGREF_MAX 256 /* bytes in a canonical name, with the NUL */

/* Writes the canonical form of name to out ("busybox" ->
 * "busybox:latest", "docker.io/library/busybox:1.36" -> "busybox:1.36"). */
int imgref_normalize(const char *name, char *out, size_t size, struct berr *err);

/* 1 if s is 1 to 64 lower-case hex digits (an image ID or a prefix of one). */
int imgref_is_hex(const char *s);

#endif
