/* libFuzzer entry point for network-config, versions 1 and 2: a file on a disk anyone attaching
 * it controls, read by PID 1 at boot. Checks: tests/fuzz/cloud_fuzz.h. */
#include "cloud_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return cloud_fuzz_one(cloud_parse_network_config, "network-config", data, size);
}
