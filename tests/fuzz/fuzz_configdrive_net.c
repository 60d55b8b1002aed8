/* libFuzzer entry point for the config drive's network_data.json (json-c): a file on a disk anyone attaching
 * it controls, read by PID 1 at boot. Checks: tests/fuzz/cloud_fuzz.h. */
#include "cloud_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return cloud_fuzz_one(configdrive_parse_network_data, "network_data.json", data, size);
}
