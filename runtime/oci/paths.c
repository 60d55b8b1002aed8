/* Safe path resolution in a container root (see paths.h). */
#include "oci/paths.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/fsutil.h"

static int openat2_(int dirfd, const char *path, int flags, mode_t mode, unsigned long long resolve)
{
	struct open_how how = {
		.flags = (unsigned long long)(flags | O_CLOEXEC),
		.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0,
		.resolve = resolve,
	};
	long fd;
	do {
		fd = syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
	} while (fd < 0 && errno == EAGAIN);
	return fd < 0 ? -errno : (int)fd;
}

int root_open(int root_fd, const char *path, int flags, mode_t mode, struct berr *err)
{
	int fd = openat2_(root_fd, path, flags, mode, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
	if (fd < 0) {
		return berr_set(err, -fd, "open %s in the container root", path);
	}
	return fd;
}

void fd_path(int fd, char *out, size_t size)
{
	snprintf(out, size, "/proc/self/fd/%d", fd);
}

#define MAX_LINKS 40

int root_mkdir_p(int root_fd, const char *path, mode_t mode, struct berr *err)
{
	char buf[4096];
	char *comps[256];
	int links = 0;
	if (copy_string(buf, sizeof(buf), path) < 0) {
		return berr_setx(err, ENAMETOOLONG, "path too long: %.100s", path);
	}
restart:;
	size_t n = 0;
	char work[4096];
	memcpy(work, buf, sizeof(work));
	char *save = NULL;
	for (char *c = strtok_r(work, "/", &save); c != NULL; c = strtok_r(NULL, "/", &save)) {
		if (strcmp(c, ".") == 0) {
			continue;
		}
		if (n == sizeof(comps) / sizeof(comps[0])) {
			return berr_setx(err, ENAMETOOLONG, "too many components: %.100s", path);
		}
		comps[n++] = c;
	}
	/* The longest prefix that exists, resolved as a whole inside the root
	 * (its symlinks, absolute or not, are followed within the root). */
	int cur = -1;
	size_t have = n;
	char prefix[4096];
	for (;; have--) {
		snprintf(prefix, sizeof(prefix), "/");
		for (size_t i = 0; i < have; i++) {
			size_t len = strlen(prefix);
			snprintf(prefix + len, sizeof(prefix) - len, "%s%s", i ? "/" : "", comps[i]);
		}
		cur = openat2_(root_fd, prefix, O_PATH | O_DIRECTORY, 0, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
		if (cur >= 0) {
			break;
		}
		if (cur != -ENOENT || have == 0) {
			return berr_set(err, -cur, "%s in the container root", path);
		}
	}
	/* The rest is made here, one directory at a time, never following a
	 * symlink by itself: a dangling one is read and its target resolved
	 * again from the root, so it too stays inside. */
	for (size_t i = have; i < n; i++) {
		if (strcmp(comps[i], "..") == 0) {
			close(cur);
			return berr_setx(err, EINVAL, "%s: '..' after a missing directory", path);
		}
		if (mkdirat(cur, comps[i], mode) < 0 && errno != EEXIST) {
			int e = errno;
			close(cur);
			return berr_set(err, e, "mkdir %s (in %s) in the container root", comps[i], path);
		}
		int next = openat2_(cur, comps[i], O_PATH | O_DIRECTORY, 0, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS);
		if (next == -ELOOP) {
			char target[4096];
			ssize_t tl = readlinkat(cur, comps[i], target, sizeof(target) - 1);
			close(cur);
			if (tl < 0 || ++links > MAX_LINKS) {
				return berr_setx(err, ELOOP, "%s: too many symbolic links in the container root", path);
			}
			target[tl] = '\0';
			char next_path[4096];
			int w = target[0] == '/' ? snprintf(next_path, sizeof(next_path), "%s", target)
						 : snprintf(next_path, sizeof(next_path), "%s/%s", prefix, target);
			for (size_t j = i + 1; w >= 0 && j < n; j++) {
				size_t len = strlen(next_path);
				w = snprintf(next_path + len, sizeof(next_path) - len, "/%s", comps[j]);
			}
			if (w < 0 || copy_string(buf, sizeof(buf), next_path) < 0) {
				return berr_setx(err, ENAMETOOLONG, "path too long: %.100s", path);
			}
			goto restart;
		}
		close(cur);
		if (next < 0) {
			return berr_set(err, -next, "%s in the container root (at %s)", path, comps[i]);
		}
		cur = next;
		size_t len = strlen(prefix);
		snprintf(prefix + len, sizeof(prefix) - len, "%s%s", strcmp(prefix, "/") ? "/" : "", comps[i]);
	}
	return cur;
}

int root_mknode(int root_fd, const char *path, int is_dir, struct berr *err)
{
	if (is_dir) {
		return root_mkdir_p(root_fd, path, 0755, err);
	}
	char cur[4096];
	if (copy_string(cur, sizeof(cur), path) < 0) {
		return berr_setx(err, ENAMETOOLONG, "path too long: %.100s", path);
	}
	for (int links = 0;; links++) {
		int fd = openat2_(root_fd, cur, O_PATH, 0, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
		if (fd >= 0) {
			return fd;
		}
		if (fd != -ENOENT) {
			return berr_set(err, -fd, "%s in the container root", path);
		}
		char dir[4096];
		memcpy(dir, cur, sizeof(dir));
		char *slash = strrchr(dir, '/');
		const char *base = cur;
		if (slash != NULL) {
			*slash = '\0';
			base = cur + (slash - dir) + 1;
		}
		if (*base == '\0' || strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
			return berr_setx(err, EINVAL, "%s: not a file name", path);
		}
		auto_close int parent = root_mkdir_p(root_fd, slash ? (dir[0] ? dir : "/") : ".", 0755, err);
		if (parent < 0) {
			return parent;
		}
		int f = openat(parent, base, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (f < 0 && errno != EEXIST) {
			return berr_set(err, errno, "create %s in the container root", path);
		}
		if (f >= 0) {
			close(f);
		}
		fd = openat2_(parent, base, O_PATH, 0, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS);
		if (fd != -ELOOP) {
			return fd < 0 ? berr_set(err, -fd, "%s in the container root", path) : fd;
		}
		/* A dangling symlink: its target is made instead, resolved
		 * again from the root so that it stays inside (as runc and crun
		 * do: crun's suite, mount-symlink-not-existing). */
		char target[4096];
		ssize_t tl = readlinkat(parent, base, target, sizeof(target) - 1);
		if (tl < 0 || links >= MAX_LINKS) {
			return berr_setx(err, ELOOP, "%s: too many symbolic links in the container root", path);
		}
		target[tl] = '\0';
		char next[sizeof(cur)];
		int w = target[0] == '/' ? snprintf(next, sizeof(next), "%s", target)
					 : snprintf(next, sizeof(next), "%s/%s", slash ? dir : ".", target);
		if (w < 0 || (size_t)w >= sizeof(next)) {
			return berr_setx(err, ENAMETOOLONG, "path too long: %.100s", path);
		}
		memcpy(cur, next, sizeof(cur));
	}
}
