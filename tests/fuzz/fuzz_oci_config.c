/* libFuzzer entry point for config.json as berth-oci reads it (from
 * containerd, podman or a user's bundle): arbitrary bytes through
 * oci_config_parse, and as `update --resources` reads linux.resources
 * (oci_resources_parse: zeros dropped, then the same field tables). Invariant
 * beyond "no crash, no leak": a config that parses has its strings where
 * the model says (args present when a process is). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "oci/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct oci_config cfg;
	struct berr err;
	memset(&cfg, 0, sizeof(cfg));
	if (oci_config_parse(&cfg, "config.json", (const char *)data, size, &err) == 0) {
		if (cfg.has_process && cfg.process.nargs > 0 && cfg.process.args[0] == NULL) {
			abort();
		}
	}
	oci_config_free(&cfg);
	struct oci_resources r;
	memset(&cfg, 0, sizeof(cfg));
	oci_resources_parse(&cfg, &r, "resources", (const char *)data, size, &err);
	oci_config_free(&cfg);
	return 0;
}
