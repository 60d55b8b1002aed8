/* Capability sets (see caps.h). */
#include "lib/caps.h"

#include <errno.h>
#include <linux/capability.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

int caps_bound(uint64_t keep, int *failed)
{
	for (int cap = 0; cap <= 63; cap++) {
		if (keep & (1ull << cap)) {
			continue;
		}
		/* EINVAL: a capability this kernel does not have. */
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL) {
			*failed = cap;
			return -errno;
		}
	}
	return 0;
}

int caps_set(uint64_t effective, uint64_t permitted, uint64_t inheritable)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct data[2];
	memset(data, 0, sizeof(data));
	data[0].effective = (uint32_t)effective;
	data[1].effective = (uint32_t)(effective >> 32);
	data[0].permitted = (uint32_t)permitted;
	data[1].permitted = (uint32_t)(permitted >> 32);
	data[0].inheritable = (uint32_t)inheritable;
	data[1].inheritable = (uint32_t)(inheritable >> 32);
	if (syscall(SYS_capset, &hdr, data) < 0) {
		return -errno;
	}
	return 0;
}

int caps_limit(uint64_t keep)
{
	int failed;
	int ret = caps_bound(keep, &failed);
	if (ret < 0) {
		return ret;
	}
	ret = caps_set(keep, keep, 0);
	if (ret < 0) {
		return ret;
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL) {
		return -errno;
	}
	return 0;
}
