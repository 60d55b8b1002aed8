/* libFuzzer entry point for what a registry answers a manifest request:
 * the first byte picks the Content-Type the answer claims (or none), the
 * rest is the body, through reg_parse_manifest and, for an index, the
 * platform choice. Invariants beyond "no crash, no leak": a parsed index
 * choice is a manifest or an index entry of it, a parsed manifest's
 * digests are canonical sha256. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "image/imgjson.h"
#include "registry/regparse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const types[] = {
	NULL,
	"application/vnd.oci.image.index.v1+json",
	"application/vnd.docker.distribution.manifest.list.v2+json",
	"application/vnd.oci.image.manifest.v1+json",
	"application/vnd.docker.distribution.manifest.v2+json",
	"application/vnd.docker.distribution.manifest.v1+prettyjws",
	"application/json; charset=utf-8",
	"text/plain",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1) {
		return 0;
	}
	const char *type = types[data[0] % (sizeof(types) / sizeof(types[0]))];
	struct arena a = {0};
	struct reg_manifest m;
	struct berr err = {0};
	if (reg_parse_manifest(type, (const char *)data + 1, size - 1, "fuzz", &a, &m, &err) == 0) {
		if (m.kind == IMGJSON_INDEX) {
			int pick = imgjson_select_platform(&m.index, "amd64", "fuzz", &err);
			if (pick >= 0 &&
			    ((size_t)pick >= m.index.nmanifests || (m.index.manifests[pick].kind != IMGJSON_MANIFEST &&
								    m.index.manifests[pick].kind != IMGJSON_INDEX))) {
				abort();
			}
		} else if (m.kind == IMGJSON_MANIFEST) {
			if (imgjson_check_digest(m.manifest.config.digest, "fuzz", &err) < 0) {
				abort();
			}
			for (size_t i = 0; i < m.manifest.nlayers; i++) {
				if (imgjson_check_digest(m.manifest.layers[i].digest, "fuzz", &err) < 0) {
					abort();
				}
			}
		} else {
			abort();
		}
	}
	arena_free(&a);
	return 0;
}
