/* config.json from a struct oci_config: the inverse of oci_config_parse
 * (runtime/oci/config.h), for the daemon, which writes each container's
 * bundle. Every field of the model is written, by the names the runtime
 * spec gives them, so that parsing the text gives back the same config.
 * Kept beside the compose translation (its first user); it knows nothing
 * of compose and could move to runtime/oci. */
#ifndef BERTH_OCIWRITE_H
#define BERTH_OCIWRITE_H

#include <stddef.h>

#include "lib/berr.h"
#include "oci/config.h"

/* The JSON text of cfg in a malloc'd, NUL-terminated *out (*len bytes). */
int oci_config_to_json(const struct oci_config *cfg, char **out, size_t *len, struct berr *err);

/* Writes BUNDLE/config.json: a temporary file, fsync'd, renamed over the
 * old one, so that a crash leaves the old config or the new one. */
int oci_config_write(const struct oci_config *cfg, const char *bundle, struct berr *err);

#endif
