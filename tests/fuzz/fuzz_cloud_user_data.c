/* libFuzzer entry point for #cloud-config user-data (NoCloud and config drive): a file on a disk anyone attaching
 * it controls, read by PID 1 at boot. Checks: tests/fuzz/cloud_fuzz.h. */
#include "cloud_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return cloud_fuzz_one(cloud_parse_user_data, "user-data", data, size);
}
