/* newroot: runs a command in a new mount namespace whose root is DIR, for
 * make conformance (never part of the image). DIR becomes the namespace's
 * root with pivot_root, not chroot: a runtime's `exec` joins a container's
 * mount namespace with setns, which sets the caller's root to the
 * namespace's root mount; after a chroot that is still the host's /, where
 * the container's files are not. The new namespace's mounts are made
 * rshared again afterwards, as on a Berth host (or any systemd host), so
 * the runtimes meet the propagation they meet there.
 *
 *   newroot DIR COMMAND [ARG]...   (DIR must be a mount point) */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

static int fail(const char *what, const char *path)
{
	fprintf(stderr, "newroot: %s %s: %s\n", what, path, strerror(errno));
	return 1;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: newroot DIR COMMAND [ARG]...\n");
		return 2;
	}
	if (unshare(CLONE_NEWNS) < 0) {
		return fail("unshare", "mount namespace");
	}
	/* pivot_root refuses a new root whose parent mount is shared; the
	 * host's mounts must not see what the runtimes mount either. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		return fail("make private", "/");
	}
	if (chdir(argv[1]) < 0) {
		return fail("chdir", argv[1]);
	}
	/* Old root stacked under the new one, then detached (runc's way: no
	 * directory for put_old needed in a read-only DIR). */
	if (syscall(SYS_pivot_root, ".", ".") < 0) {
		return fail("pivot_root", argv[1]);
	}
	if (umount2(".", MNT_DETACH) < 0) {
		return fail("detach the old root under", argv[1]);
	}
	if (chdir("/") < 0) {
		return fail("chdir", "/");
	}
	if (mount(NULL, "/", NULL, MS_REC | MS_SHARED, NULL) < 0) {
		return fail("make rshared", "/");
	}
	execvp(argv[2], argv + 2);
	return fail("exec", argv[2]);
}
