/* Berth's default security profile for the containers it runs itself:
 * capabilities, masked and read-only paths, the seccomp policy, limits.
 * The policy matches Docker's defaults, so that an image that runs under
 * `docker run` runs under Berth, and stops where Docker stops it.
 *
 * Only data and builders of OCI structures: nothing here touches the
 * system. The daemon copies these into each container's config, where the
 * user's cap_add, cap_drop, privileged and pids_limit then adjust them. */
#ifndef BERTH_PROFILE_H
#define BERTH_PROFILE_H

#include <linux/capability.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/arena.h"
#include "lib/berr.h"
#include "oci/config.h"

#define PROFILE_CAP(c) (UINT64_C(1) << (c))

/* Docker's 14 default capabilities: enough for what images commonly do as
 * root (chown files, bind low ports, drop to another user, ping), nothing
 * that reaches beyond the container (mounts, modules, raw devices, time). */
#define PROFILE_DEFAULT_CAPS                                                                                          \
	(PROFILE_CAP(CAP_CHOWN) | PROFILE_CAP(CAP_DAC_OVERRIDE) | PROFILE_CAP(CAP_FSETID) | PROFILE_CAP(CAP_FOWNER) | \
	 PROFILE_CAP(CAP_MKNOD) | PROFILE_CAP(CAP_NET_RAW) | PROFILE_CAP(CAP_SETGID) | PROFILE_CAP(CAP_SETUID) |      \
	 PROFILE_CAP(CAP_SETFCAP) | PROFILE_CAP(CAP_SETPCAP) | PROFILE_CAP(CAP_NET_BIND_SERVICE) |                    \
	 PROFILE_CAP(CAP_SYS_CHROOT) | PROFILE_CAP(CAP_KILL) | PROFILE_CAP(CAP_AUDIT_WRITE))

/* Unlike Docker, a limit by default: one container's fork bomb must not
 * take the host's PIDs from every other container and from berthd. */
#define PROFILE_PIDS_LIMIT 4096

/* Unlike Docker, on by default: setuid binaries in an image gain nothing,
 * and the seccomp filter can be loaded after capabilities are dropped. */
#define PROFILE_NO_NEW_PRIVILEGES 1

#define PROFILE_NMASKED_PATHS 11
#define PROFILE_NREADONLY_PATHS 5

/* Paths hidden from the container (an empty tmpfs or /dev/null on top). */
extern const char *const profile_masked_paths[PROFILE_NMASKED_PATHS];

/* Paths bound read-only in the container. */
extern const char *const profile_readonly_paths[PROFILE_NREADONLY_PATHS];

/* Fills l's maskedPaths and readonlyPaths with the defaults (copies in a). */
int profile_paths(struct arena *a, struct oci_linux *l, struct berr *err);

/* The default seccomp policy for a container whose effective capability set
 * is effective_caps (bit n: capability n), allocated in a. As in Docker,
 * holding a capability opens the syscalls that need it (CAP_SYS_ADMIN:
 * mount, unshare, setns, clone with namespace flags, ...). */
int profile_seccomp(struct arena *a, uint64_t effective_caps, struct oci_seccomp **out, struct berr *err);

#endif
