/* overlayfs mounts (see overlay.h). Builds strings and calls mount(2);
 * never creates or changes the directories it is given. */
#include "image/overlay.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

static int check_path(const char *path, const char *what, struct berr *err)
{
	if (path[0] != '/') {
		return berr_setx(err, EINVAL, "overlay %s '%.200s' is not an absolute path", what, path);
	}
	if (strpbrk(path, ",:\\") != NULL) {
		return berr_setx(err, EINVAL,
				 "overlay %s '%.200s' contains ',', ':' or '\\', which overlayfs reads as separators",
				 what, path);
	}
	return 0;
}

static int append(char *buf, size_t size, size_t *len, const char *s)
{
	size_t n = strlen(s);
	if (*len + n + 1 > size) {
		return -1;
	}
	memcpy(buf + *len, s, n + 1);
	*len += n;
	return 0;
}

int overlay_options(const char *const *lowers, size_t nlowers, const char *upper, const char *work, char *buf,
		    size_t size, struct berr *err)
{
	if (nlowers == 0) {
		return berr_setx(err, EINVAL, "overlay: no lower directories (an image without layers)");
	}
	if ((upper == NULL) != (work == NULL)) {
		return berr_setx(err, EINVAL, "overlay: upperdir and workdir go together");
	}
	if (upper == NULL && nlowers < 2) {
		return berr_setx(err, EINVAL, "overlay: a read-only overlay needs at least two lower directories");
	}
	for (size_t i = 0; i < nlowers; i++) {
		int ret = check_path(lowers[i], "lowerdir", err);
		if (ret < 0) {
			return ret;
		}
	}
	if (upper != NULL) {
		int ret = check_path(upper, "upperdir", err);
		if (ret == 0) {
			ret = check_path(work, "workdir", err);
		}
		if (ret < 0) {
			return ret;
		}
	}
	size_t len = 0;
	int bad = size == 0;
	if (!bad) {
		buf[0] = '\0';
	}
	bad = bad || append(buf, size, &len, "lowerdir=") < 0;
	/* overlayfs lists the topmost layer first. */
	for (size_t i = nlowers; i-- > 0 && !bad;) {
		bad = append(buf, size, &len, lowers[i]) < 0 || (i > 0 && append(buf, size, &len, ":") < 0);
	}
	if (upper != NULL && !bad) {
		/* index=off: the inode index ties an upper directory to its exact
		 * lower layers, which breaks sharing layers between containers. */
		bad = append(buf, size, &len, ",upperdir=") < 0 || append(buf, size, &len, upper) < 0 ||
		      append(buf, size, &len, ",workdir=") < 0 || append(buf, size, &len, work) < 0 ||
		      append(buf, size, &len, ",index=off") < 0;
	}
	long page = sysconf(_SC_PAGESIZE);
	if (page <= 0) {
		page = 4096;
	}
	if (bad || len + 1 > (size_t)page) {
		size_t need = 10 + (upper != NULL ? 30 + strlen(upper) + strlen(work) : 0);
		for (size_t i = 0; i < nlowers; i++) {
			need += strlen(lowers[i]) + 1;
		}
		return berr_setx(err, E2BIG,
				 "overlay: the mount options for %zu layers take %zu bytes; the kernel accepts at most "
				 "%ld (use a store path that is shorter, or an image with fewer layers)",
				 nlowers, need, page - 1);
	}
	return 0;
}

int overlay_mount(const char *const *lowers, size_t nlowers, const char *upper, const char *work, const char *target,
		  unsigned long flags, struct berr *err)
{
	if (upper == NULL && work == NULL && nlowers == 1) {
		int ret = check_path(lowers[0], "lowerdir", err);
		if (ret < 0) {
			return ret;
		}
		if (mount(lowers[0], target, NULL, MS_BIND, NULL) < 0) {
			return berr_set(err, errno, "bind mount %s on %s", lowers[0], target);
		}
		if (mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | flags, NULL) < 0) {
			int saved = errno;
			umount2(target, MNT_DETACH);
			return berr_set(err, saved, "make %s read-only", target);
		}
		return 0;
	}
	char opts[8192];
	int ret = overlay_options(lowers, nlowers, upper, work, opts, sizeof(opts), err);
	if (ret < 0) {
		return ret;
	}
	if (upper == NULL) {
		flags |= MS_RDONLY;
	}
	if (mount("overlay", target, "overlay", flags, opts) < 0) {
		return berr_set(err, errno, "mount overlay (%zu layers) on %s", nlowers, target);
	}
	return 0;
}
