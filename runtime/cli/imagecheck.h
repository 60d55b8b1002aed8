/* The images/ directory of a config: every archive opened as berthd
 * would import it, its manifests checked and every blob (configs and
 * layers) hashed against the digest its manifest promises. Nothing is
 * unpacked or written. */
#ifndef BERTH_IMAGECHECK_H
#define BERTH_IMAGECHECK_H

#include <stdio.h>

/* Prints one line per image ("images/app.tar: app:1.0, 3 layers, OK") and
 * one per problem; returns the number of problems. The canonical names of
 * the good images are added to *names (malloc'd; the caller frees). */
int image_check_dir(const char *dir, FILE *out, char ***names, size_t *nnames);

#endif
