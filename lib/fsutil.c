/* File helpers (see fsutil.h). */
#include "lib/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/cleanup.h"

ssize_t read_file(const char *path, char *buf, size_t size, struct berr *err)
{
	if (size == 0) {
		return berr_setx(err, EINVAL, "read %s: no buffer", path);
	}
	auto_close int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		return berr_set(err, errno, "open %s", path);
	}
	size_t len = 0;
	for (;;) {
		if (len == size - 1) {
			char probe;
			ssize_t more = read(fd, &probe, 1);
			if (more > 0) {
				return berr_setx(err, EFBIG, "read %s: larger than %zu bytes", path, size - 1);
			}
			break;
		}
		ssize_t n = read(fd, buf + len, size - 1 - len);
		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			return berr_set(err, errno, "read %s", path);
		}
		if (n == 0) {
			break;
		}
		len += (size_t)n;
	}
	buf[len] = '\0';
	return (ssize_t)len;
}

int write_file(const char *path, const char *text, struct berr *err)
{
	auto_close int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		return berr_set(err, errno, "open %s", path);
	}
	size_t len = strlen(text);
	ssize_t n = write(fd, text, len);
	if (n < 0) {
		return berr_set(err, errno, "write %s", path);
	}
	if ((size_t)n != len) {
		return berr_setx(err, EIO, "write %s: short write", path);
	}
	return 0;
}

int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			return -errno;
		}
		if (n == 0) {
			return -EIO;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int fsync_parent(const char *path)
{
	char dir[4096];
	if (copy_string(dir, sizeof(dir), path) < 0) {
		return -ENAMETOOLONG;
	}
	char *slash = strrchr(dir, '/');
	if (slash == NULL) {
		copy_string(dir, sizeof(dir), ".");
	} else if (slash == dir) {
		slash[1] = '\0';
	} else {
		*slash = '\0';
	}
	auto_close int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd) < 0) {
		return -errno;
	}
	return 0;
}

int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode, int flags, struct berr *err)
{
	char tmp[4096];
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp)) {
		return berr_setx(err, ENAMETOOLONG, "%s: path too long", path);
	}
	auto_close int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, mode);
	if (fd < 0) {
		return berr_set(err, errno, "create %s", tmp);
	}
	int ret = write_all(fd, data, len);
	if (ret == 0 && fchmod(fd, mode) < 0) {
		ret = -errno;
	}
	if (ret == 0 && (flags & ATOMIC_FSYNC_FILE) && fsync(fd) < 0) {
		ret = -errno;
	}
	if (ret < 0) {
		unlink(tmp);
		return berr_set(err, -ret, "write %s", tmp);
	}
	if (rename(tmp, path) < 0) {
		ret = berr_set(err, errno, "rename %s to %s", tmp, path);
		unlink(tmp);
		return ret;
	}
	if ((flags & ATOMIC_FSYNC_DIR) && (ret = fsync_parent(path)) < 0) {
		return berr_set(err, -ret, "fsync the directory of %s", path);
	}
	return 0;
}

int mkdir_p(const char *path, mode_t mode, struct berr *err)
{
	char buf[4096];
	if (copy_string(buf, sizeof(buf), path) < 0) {
		return berr_setx(err, ENAMETOOLONG, "mkdir %s: path too long", path);
	}
	for (char *p = buf + 1;; p++) {
		if (*p != '/' && *p != '\0') {
			continue;
		}
		char saved = *p;
		*p = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST) {
			return berr_set(err, errno, "mkdir %s", buf);
		}
		*p = saved;
		if (saved == '\0') {
			break;
		}
	}
	return 0;
}

int copy_string(char *dst, size_t dstsize, const char *src)
{
	size_t len = strlen(src);
	if (dstsize == 0 || len >= dstsize) {
		if (dstsize > 0) {
			dst[0] = '\0';
		}
		return -ENAMETOOLONG;
	}
	memcpy(dst, src, len + 1);
	return 0;
}

int path_join(char *dst, size_t size, const char *a, const char *b)
{
	int n = snprintf(dst, size, "%s/%s", a, b);
	if (n < 0 || (size_t)n >= size) {
		if (size > 0) {
			dst[0] = '\0';
		}
		return -ENAMETOOLONG;
	}
	return 0;
}

char *trim_end(char *s)
{
	size_t len = strlen(s);
	while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r')) {
		s[--len] = '\0';
	}
	return s;
}
