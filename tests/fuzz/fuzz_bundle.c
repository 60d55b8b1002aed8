/* libFuzzer entry point for update bundles: arbitrary bytes through the
 * parser `berth os update` runs on whatever it is given (from stdin, over
 * ssh) before anything is verified. Invariant beyond "no crash, no leak":
 * a bundle that parses has every part inside the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "osupdate/bundle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct bundle b;
	if (bundle_parse(&b, data, size, NULL) == 0) {
		for (int k = 0; k < PART_COUNT; k++) {
			const struct bundle_part *p = &b.m.parts[k];
			if (b.payload + p->offset + p->size > size ||
			    memchr(b.m.cmdline, '\0', sizeof(b.m.cmdline)) == NULL) {
				abort();
			}
		}
		bundle_check_parts(&b, NULL, NULL, NULL);
	}
	static struct bundle_manifest m;
	manifest_parse(&m, (const char *)data, size, NULL);
	return 0;
}
