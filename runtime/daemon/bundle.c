/* Containers' files and root filesystems (see bundle.h). */
#include "daemon/bundle.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/fsutil.h"
#include "lib/log.h"

/* The kernel takes mount options of at most a page. */
#define MOUNT_OPTIONS_MAX 4000

static int write_atomic(const char *dir, const char *name, const char *text, mode_t mode, struct berr *err)
{
	char path[PATH_MAX];
	if (path_join(path, sizeof(path), dir, name) < 0) {
		return berr_setx(err, ENAMETOOLONG, "%s/%s: path too long", dir, name);
	}
	return write_file_atomic(path, text, strlen(text), mode, ATOMIC_FSYNC_FILE, err);
}

static int is_mount_point(const char *path)
{
	struct stat st;
	struct stat parent;
	char up[PATH_MAX];
	if (snprintf(up, sizeof(up), "%s/..", path) >= (int)sizeof(up) || stat(path, &st) < 0 ||
	    stat(up, &parent) < 0) {
		return 0;
	}
	return st.st_dev != parent.st_dev;
}

/* lowerdir=TOP:...:BOTTOM. When the paths would not fit in one page of
 * options, short symlinks to them are made in RUNDIR/l and the mount is
 * done from there with relative names (what Docker's overlay2 does). */
static int mount_overlay(const struct ctr *c, const char *rundir, const char *dir, const char *target, struct berr *err)
{
	size_t n = c->def.nlowerdirs;
	auto_free char *opts = malloc(MOUNT_OPTIONS_MAX + 1);
	if (opts == NULL) {
		return berr_set(err, ENOMEM, "mount %s", target);
	}
	int short_names = 0;
	for (int attempt = 0; attempt < 2; attempt++) {
		size_t len = 0;
		int over = 0;
		len += (size_t)snprintf(opts, MOUNT_OPTIONS_MAX, "lowerdir=");
		for (size_t i = 0; i < n && !over; i++) {
			const char *layer = c->def.lowerdirs[n - 1 - i];
			char shortname[24];
			if (short_names) {
				snprintf(shortname, sizeof(shortname), "%zu", n - 1 - i);
				layer = shortname;
			}
			int w = snprintf(opts + len, MOUNT_OPTIONS_MAX - len, "%s%s", i > 0 ? ":" : "", layer);
			if (w < 0 || (size_t)w >= MOUNT_OPTIONS_MAX - len) {
				over = 1;
				break;
			}
			len += (size_t)w;
		}
		if (!over && !c->def.read_only) {
			int w = snprintf(opts + len, MOUNT_OPTIONS_MAX - len, ",upperdir=%s/upper,workdir=%s/work", dir,
					 dir);
			over = w < 0 || (size_t)w >= MOUNT_OPTIONS_MAX - len;
		}
		if (!over) {
			break;
		}
		if (short_names) {
			return berr_setx(err, E2BIG, "%s: too many image layers (%zu)", c->def.name, n);
		}
		short_names = 1;
	}
	char linkdir[PATH_MAX];
	if (short_names) {
		if (path_join(linkdir, sizeof(linkdir), rundir, "l") < 0 || mkdir_p(linkdir, 0700, err) < 0) {
			return berr_setx(err, ENAMETOOLONG, "%s: path too long", rundir);
		}
		for (size_t i = 0; i < n; i++) {
			char link[PATH_MAX + 24];
			snprintf(link, sizeof(link), "%s/%zu", linkdir, i);
			unlink(link);
			if (symlink(c->def.lowerdirs[i], link) < 0) {
				return berr_set(err, errno, "symlink %s", link);
			}
		}
		if (chdir(linkdir) < 0) {
			return berr_set(err, errno, "chdir %s", linkdir);
		}
	}
	int ret = mount("overlay", target, "overlay", 0, opts);
	int saved = errno;
	if (short_names && chdir("/") < 0) {
		blog_warn("chdir /: %s", strerror(errno));
	}
	if (ret < 0) {
		return berr_set(err, saved, "%s: mount the root filesystem (overlay) on %s", c->def.name, target);
	}
	return 0;
}

int bundle_prepare(const struct ctr *c, struct berr *err)
{
	char dir[PATH_MAX];
	char rundir[PATH_MAX];
	char rootfs[PATH_MAX];
	if (ctr_dir(c->def.name, dir, sizeof(dir)) < 0 || ctr_run_dir(c->def.name, rundir, sizeof(rundir)) < 0 ||
	    path_join(rootfs, sizeof(rootfs), rundir, "rootfs") < 0) {
		return berr_setx(err, ENAMETOOLONG, "%s: name too long", c->def.name);
	}
	if (mkdir_p(dir, 0700, err) < 0 || mkdir_p(rootfs, 0755, err) < 0) {
		return -err->code;
	}
	if (!c->def.read_only) {
		char upper[PATH_MAX];
		char work[PATH_MAX];
		if (path_join(upper, sizeof(upper), dir, "upper") < 0 ||
		    path_join(work, sizeof(work), dir, "work") < 0) {
			return berr_setx(err, ENAMETOOLONG, "%s: name too long", c->def.name);
		}
		/* The upper directory's mode is the root directory's. */
		if (mkdir_p(upper, 0755, err) < 0 || mkdir_p(work, 0700, err) < 0) {
			return -err->code;
		}
	}
	if (c->def.nlowerdirs == 0) {
		return berr_setx(err, EINVAL, "%s: the image has no layers", c->def.name);
	}
	if (!is_mount_point(rootfs)) {
		if (c->def.read_only && c->def.nlowerdirs == 1) {
			/* Overlay needs two lower layers when it has no upper one. */
			if (mount(c->def.lowerdirs[0], rootfs, NULL, MS_BIND, NULL) < 0 ||
			    mount(NULL, rootfs, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0) {
				return berr_set(err, errno, "%s: bind %s on %s", c->def.name, c->def.lowerdirs[0],
						rootfs);
			}
		} else if (mount_overlay(c, rundir, dir, rootfs, err) < 0) {
			return -err->code;
		}
	}
	return write_atomic(dir, "config.json", c->def.config_json != NULL ? c->def.config_json : "{}", 0600, err);
}

void bundle_release(const struct ctr *c)
{
	char rundir[PATH_MAX];
	char rootfs[PATH_MAX];
	if (c->def.name == NULL || ctr_run_dir(c->def.name, rundir, sizeof(rundir)) < 0 ||
	    path_join(rootfs, sizeof(rootfs), rundir, "rootfs") < 0) {
		return;
	}
	while (is_mount_point(rootfs)) {
		if (umount2(rootfs, MNT_DETACH) < 0) {
			blog_err("%s: unmount %s: %s", c->def.name, rootfs, strerror(errno));
			return;
		}
	}
	struct berr err = {0};
	if (remove_tree(rundir, &err) < 0 && err.code != ENOENT) {
		blog_warn("%s", err.msg);
	}
}

int bundle_remove(const struct ctr *c, struct berr *err)
{
	bundle_release(c);
	char dir[PATH_MAX];
	char files[PATH_MAX];
	if (ctr_dir(c->def.name, dir, sizeof(dir)) < 0 || ctr_files_dir(c->def.name, files, sizeof(files)) < 0) {
		return berr_setx(err, ENAMETOOLONG, "%s: name too long", c->def.name);
	}
	if (remove_tree(files, err) < 0 && err->code != ENOENT) {
		return -err->code;
	}
	int ret = remove_tree(dir, err);
	return ret == -ENOENT ? 0 : ret;
}

int volume_path(const char *name, char *out, size_t size, int *created, struct berr *err)
{
	*created = 0;
	if (ctr_valid_name(name, err) < 0) {
		return berr_setx(err, EINVAL, "volume name '%s': use letters, digits, '_', '.' and '-'", name);
	}
	if (path_join(out, size, VOLUMES_DIR, name) < 0) {
		return berr_setx(err, ENAMETOOLONG, "volume %s: name too long", name);
	}
	if (mkdir(out, 0755) == 0) {
		*created = 1;
		return 0;
	}
	if (errno == EEXIST) {
		return 0;
	}
	if (errno == ENOENT && mkdir_p(VOLUMES_DIR, 0700, err) == 0 && mkdir(out, 0755) == 0) {
		*created = 1;
		return 0;
	}
	return berr_set(err, errno, "create volume %s", out);
}

/* Deletes what dirfd holds, staying on device dev (never into a mount). */
static int remove_contents(int dirfd, dev_t dev, const char *path, struct berr *err)
{
	int dup_fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
	if (dup_fd < 0) {
		return berr_set(err, errno, "%s", path);
	}
	auto_closedir DIR *d = fdopendir(dup_fd);
	if (d == NULL) {
		close(dup_fd);
		return berr_set(err, errno, "read %s", path);
	}
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
			continue;
		}
		struct stat st;
		if (fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			continue;
		}
		if (S_ISDIR(st.st_mode)) {
			if (st.st_dev != dev) {
				return berr_setx(err, EBUSY, "%s/%s is a mount point; not removing it", path,
						 e->d_name);
			}
			auto_close int sub = openat(dirfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub < 0) {
				return berr_set(err, errno, "open %s/%s", path, e->d_name);
			}
			/* A directory without permissions (a container may make one). */
			fchmod(sub, 0700);
			int ret = remove_contents(sub, dev, path, err);
			if (ret < 0) {
				return ret;
			}
			if (unlinkat(dirfd, e->d_name, AT_REMOVEDIR) < 0) {
				return berr_set(err, errno, "remove %s/%s", path, e->d_name);
			}
		} else if (unlinkat(dirfd, e->d_name, 0) < 0 && errno != ENOENT) {
			return berr_set(err, errno, "remove %s/%s", path, e->d_name);
		}
	}
	return 0;
}

int remove_tree(const char *path, struct berr *err)
{
	auto_close int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		return berr_set(err, errno, "open %s", path);
	}
	struct stat st;
	if (fstat(fd, &st) < 0) {
		return berr_set(err, errno, "stat %s", path);
	}
	int ret = remove_contents(fd, st.st_dev, path, err);
	if (ret < 0) {
		return ret;
	}
	if (rmdir(path) < 0) {
		return berr_set(err, errno, "remove %s", path);
	}
	return 0;
}

/* ---- copying an image's files into a new volume ----------------------------- */

#define COPY_MAX_DEPTH 64

static int copy_file(int sfd, int dfd, const char *name, const struct stat *st, struct berr *err)
{
	auto_close int in = openat(sfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	auto_close int out = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (in < 0 || out < 0) {
		return berr_set(err, errno, "copy %s", name);
	}
	char buf[65536];
	ssize_t n;
	while ((n = read(in, buf, sizeof(buf))) > 0) {
		if (write(out, buf, (size_t)n) != n) {
			return berr_set(err, errno ? errno : EIO, "copy %s", name);
		}
	}
	if (n < 0 || fchown(out, st->st_uid, st->st_gid) < 0 || fchmod(out, st->st_mode & 07777) < 0) {
		return berr_set(err, errno, "copy %s", name);
	}
	return 0;
}

static int copy_dir(int sfd, int dfd, int depth, struct berr *err)
{
	if (depth > COPY_MAX_DEPTH) {
		return berr_setx(err, ELOOP, "directories nested deeper than %d", COPY_MAX_DEPTH);
	}
	int dup_fd = fcntl(sfd, F_DUPFD_CLOEXEC, 0);
	auto_closedir DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
	if (d == NULL) {
		if (dup_fd >= 0) {
			close(dup_fd);
		}
		return berr_set(err, errno, "read directory");
	}
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
			continue;
		}
		struct stat st;
		if (fstatat(sfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			return berr_set(err, errno, "stat %s", e->d_name);
		}
		if (S_ISDIR(st.st_mode)) {
			if (mkdirat(dfd, e->d_name, 0700) < 0) {
				return berr_set(err, errno, "mkdir %s", e->d_name);
			}
			auto_close int s2 = openat(sfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			auto_close int d2 = openat(dfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (s2 < 0 || d2 < 0) {
				return berr_set(err, errno, "open %s", e->d_name);
			}
			if (copy_dir(s2, d2, depth + 1, err) < 0) {
				return berr_prefix(err, "%s/", e->d_name);
			}
			if (fchown(d2, st.st_uid, st.st_gid) < 0 || fchmod(d2, st.st_mode & 07777) < 0) {
				return berr_set(err, errno, "chown %s", e->d_name);
			}
		} else if (S_ISREG(st.st_mode)) {
			if (copy_file(sfd, dfd, e->d_name, &st, err) < 0) {
				return -err->code;
			}
		} else if (S_ISLNK(st.st_mode)) {
			char target[PATH_MAX];
			ssize_t n = readlinkat(sfd, e->d_name, target, sizeof(target) - 1);
			if (n < 0) {
				return berr_set(err, errno, "readlink %s", e->d_name);
			}
			target[n] = '\0';
			if (symlinkat(target, dfd, e->d_name) < 0 ||
			    fchownat(dfd, e->d_name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0) {
				return berr_set(err, errno, "symlink %s", e->d_name);
			}
		}
		/* Device nodes, fifos and sockets stay behind: a volume holds data. */
	}
	return 0;
}

int volume_populate(const char *image_root, const char *target, const char *volume, struct berr *err)
{
	auto_close int root = open(image_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root < 0) {
		return berr_set(err, errno, "open %s", image_root);
	}
	struct open_how how = {.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT};
	const char *rel = target[0] == '/' ? target + 1 : target;
	auto_close int src = (int)syscall(SYS_openat2, root, rel[0] != '\0' ? rel : ".", &how, sizeof(how));
	if (src < 0) {
		/* Nothing in the image there: an empty volume. */
		return errno == ENOENT || errno == ENOTDIR ? 0 : berr_set(err, errno, "open %s in the image", target);
	}
	auto_close int dst = open(volume, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dst < 0) {
		return berr_set(err, errno, "open %s", volume);
	}
	struct stat st;
	if (fstat(src, &st) < 0 || copy_dir(src, dst, 0, err) < 0) {
		return berr_prefix(err, "copy %s of the image into %s", target, volume);
	}
	if (fchown(dst, st.st_uid, st.st_gid) < 0 || fchmod(dst, st.st_mode & 07777) < 0) {
		return berr_set(err, errno, "chown %s", volume);
	}
	return 0;
}
