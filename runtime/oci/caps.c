/* Capabilities and user switching (see caps.h). Runs in the container's
 * process just before exec. */
#include "oci/caps.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/caps.h"

int caps_drop_bounding(uint64_t bounding, struct berr *err)
{
	int cap = 0;
	int ret = caps_bound(bounding, &cap);
	if (ret < 0) {
		return berr_set(err, -ret, "drop %s from the bounding set",
				oci_cap_name(cap) ? oci_cap_name(cap) : "capability");
	}
	return 0;
}

int caps_stdio_to_user(const struct oci_user *u, struct berr *err)
{
	struct stat null;
	if (u->uid == 0 || stat("/dev/null", &null) < 0) {
		return 0;
	}
	for (int fd = 0; fd <= 2; fd++) {
		struct stat st;
		if (fstat(fd, &st) < 0) {
			continue;
		}
		/* /dev/null is everyone's: never chowned. */
		if (st.st_uid == u->uid || (S_ISCHR(st.st_mode) && st.st_rdev == null.st_rdev)) {
			continue;
		}
		/* EINVAL: the uid is not mapped in a user namespace; EPERM: the
		 * owner is not; EROFS: a read-only /dev. The process can still
		 * write through the fd it has; only a reopen would fail. */
		if (fchown(fd, u->uid, (gid_t)-1) < 0 && errno != EINVAL && errno != EPERM && errno != EROFS) {
			return berr_set(err, errno, "hand stdio (fd %d) to user %u", fd, u->uid);
		}
	}
	return 0;
}

int caps_switch_user(const struct oci_user *u, struct berr *err)
{
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) {
		return berr_set(err, errno, "keep capabilities across the user change");
	}
	if (setgroups(u->nadditional_gids, u->additional_gids) < 0 && !(errno == EPERM && u->nadditional_gids == 0)) {
		return berr_set(err, errno, "set supplementary groups");
	}
	/* Raw syscalls: libc's setres[ug]id broadcasts to threads, which a
	 * single-threaded process does not need. */
	if (syscall(SYS_setresgid, u->gid, u->gid, u->gid) < 0) {
		return berr_set(err, errno, "set group id %u (is it mapped in the user namespace?)", u->gid);
	}
	if (syscall(SYS_setresuid, u->uid, u->uid, u->uid) < 0) {
		return berr_set(err, errno, "set user id %u (is it mapped in the user namespace?)", u->uid);
	}
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0) {
		return berr_set(err, errno, "reset keep-capabilities");
	}
	return 0;
}

int caps_apply(const struct oci_caps *c, struct berr *err)
{
	int ret = caps_set(c->effective, c->permitted, c->inheritable);
	if (ret < 0) {
		return berr_set(err, -ret, "set capabilities (effective %#llx, permitted %#llx, inheritable %#llx)",
				(unsigned long long)c->effective, (unsigned long long)c->permitted,
				(unsigned long long)c->inheritable);
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL) {
		return berr_set(err, errno, "clear ambient capabilities");
	}
	for (int cap = 0; cap <= 63; cap++) {
		if (!(c->ambient & (1ull << cap))) {
			continue;
		}
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0) {
			return berr_set(err, errno, "raise ambient %s (it must also be permitted and inheritable)",
					oci_cap_name(cap) ? oci_cap_name(cap) : "capability");
		}
	}
	return 0;
}
