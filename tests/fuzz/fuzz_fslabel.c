/* libFuzzer entry point for the filesystem label probe: the first bytes of
 * every disk init looks at for cloud metadata, whatever they hold. The
 * first input byte puts the rest at the start of the device (the FAT boot
 * sector) or at 32 KiB (the ISO 9660 descriptor), so that both probes see
 * fuzzed bytes. Checks beyond "no crash": the label is terminated,
 * printable and within its buffer, and empty when nothing was recognised. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/fslabel.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static unsigned char buf[FSLABEL_PROBE_BYTES];
	if (size == 0) {
		return 0;
	}
	size_t at = data[0] & 1 ? 32768 : 0;
	size_t len = size - 1 < sizeof(buf) - at ? size - 1 : sizeof(buf) - at;
	memset(buf, 0, sizeof(buf));
	memcpy(buf + at, data + 1, len);
	char label[40];
	enum fs_kind kind = fslabel_probe(buf, at + len, label, sizeof(label));
	if (memchr(label, '\0', sizeof(label)) == NULL || (kind == FS_UNKNOWN && label[0] != '\0')) {
		abort();
	}
	for (const char *p = label; *p; p++) {
		if (*p < 0x20 || *p >= 0x7f) {
			abort();
		}
	}
	return 0;
}
