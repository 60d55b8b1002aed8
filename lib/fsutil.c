/* File helpers (see fsutil.h). */
#include "lib/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/random.h>
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

/* Where a buffer for an input of unknown length starts: enough for the
 * JSON and YAML that pipes bring, without a realloc. */
#define READ_FD_FIRST 4096

/* read_fd_alloc with fd's stat taken: a regular file's size is the first
 * guess at its length, and one larger than max fails before any read. */
static int read_fd_stat(int fd, const struct stat *st, size_t max, const char *name, char **data, size_t *len,
			struct berr *err)
{
	*data = NULL;
	*len = 0;
	/* Room for max bytes, a probe byte that tells a longer input, a NUL. */
	if (max > SIZE_MAX - 2) {
		return berr_setx(err, EINVAL, "read %s: limit too large", name);
	}
	size_t limit = max + 2;
	size_t cap = READ_FD_FIRST;
	if (S_ISREG(st->st_mode)) {
		if ((uint64_t)st->st_size > max) {
			return berr_setx(err, EFBIG, "%s: larger than %zu bytes", name, max);
		}
		cap = (size_t)st->st_size + 2;
	}
	if (cap > limit) {
		cap = limit;
	}
	auto_free char *buf = malloc(cap);
	if (buf == NULL) {
		return berr_set(err, ENOMEM, "%s", name);
	}
	size_t got = 0;
	for (;;) {
		/* Full means got <= max (checked after each read), so cap < limit:
		 * it can still grow. */
		if (got + 1 == cap) {
			size_t more = cap > limit / 2 ? limit : cap * 2;
			char *bigger = realloc(buf, more);
			if (bigger == NULL) {
				return berr_set(err, ENOMEM, "%s", name);
			}
			buf = bigger;
			cap = more;
		}
		ssize_t n = read(fd, buf + got, cap - 1 - got);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n < 0) {
			return berr_set(err, errno, "read %s", name);
		}
		if (n == 0) {
			break;
		}
		got += (size_t)n;
		if (got > max) {
			return berr_setx(err, EFBIG, "%s: larger than %zu bytes", name, max);
		}
	}
	buf[got] = '\0';
	*len = got;
	*data = take_ptr(&buf);
	return 0;
}

int read_fd_alloc(int fd, size_t max, const char *name, char **data, size_t *len, struct berr *err)
{
	*data = NULL;
	*len = 0;
	struct stat st;
	if (fstat(fd, &st) < 0) {
		return berr_set(err, errno, "stat %s", name);
	}
	return read_fd_stat(fd, &st, max, name, data, len, err);
}

int read_file_alloc(int dirfd, const char *name, int oflags, size_t max, const char *display, char **data, size_t *len,
		    struct berr *err)
{
	const char *shown = display != NULL ? display : name;
	*data = NULL;
	*len = 0;
	auto_close int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | oflags);
	if (fd < 0) {
		return berr_set(err, errno, "open %s", shown);
	}
	struct stat st;
	if (fstat(fd, &st) < 0) {
		return berr_set(err, errno, "stat %s", shown);
	}
	if (!S_ISREG(st.st_mode)) {
		return berr_setx(err, EINVAL, "%s: not a regular file", shown);
	}
	return read_fd_stat(fd, &st, max, shown, data, len, err);
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

/* The directory part of name ("." when there is none), opened for fsync. */
static int open_parent(int dirfd, const char *name)
{
	char dir[4096];
	if (path_dirname(dir, sizeof(dir), name) < 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return openat(dirfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/* NAME.tmp, or .BASE.RANDOM.tmp beside NAME for ATOMIC_UNIQUE_TMP. */
static int tmp_name(char *tmp, size_t size, const char *name, int flags)
{
	int n;
	if (flags & ATOMIC_UNIQUE_TMP) {
		uint64_t r;
		if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
			return -EIO;
		}
		const char *base = strrchr(name, '/');
		int dirlen = base != NULL ? (int)(base + 1 - name) : 0;
		base = base != NULL ? base + 1 : name;
		n = snprintf(tmp, size, "%.*s.%.200s.%016llx.tmp", dirlen, name, base, (unsigned long long)r);
	} else {
		n = snprintf(tmp, size, "%s.tmp", name);
	}
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int write_file_atomic_at(int dirfd, const char *name, const void *data, size_t len, mode_t mode, int flags,
			 struct berr *err)
{
	char tmp[4096];
	int ret = tmp_name(tmp, sizeof(tmp), name, flags);
	if (ret < 0) {
		return berr_setx(err, -ret, "%s: no temporary name", name);
	}
	int excl = (flags & ATOMIC_UNIQUE_TMP) ? O_EXCL : O_TRUNC;
	auto_close int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | excl | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, mode);
	if (fd < 0) {
		return berr_set(err, errno, "create %s", tmp);
	}
	ret = write_all(fd, data, len);
	if (ret == 0 && fchmod(fd, mode) < 0) {
		ret = -errno;
	}
	if (ret == 0 && (flags & ATOMIC_FSYNC_FILE) && fsync(fd) < 0) {
		ret = -errno;
	}
	if (ret < 0) {
		unlinkat(dirfd, tmp, 0);
		return berr_set(err, -ret, "write %s", tmp);
	}
	if (renameat(dirfd, tmp, dirfd, name) < 0) {
		ret = berr_set(err, errno, "rename %s to %s", tmp, name);
		unlinkat(dirfd, tmp, 0);
		return ret;
	}
	if (flags & ATOMIC_FSYNC_DIR) {
		auto_close int dfd = open_parent(dirfd, name);
		if (dfd < 0 || fsync(dfd) < 0) {
			return berr_set(err, errno, "fsync the directory of %s", name);
		}
	}
	return 0;
}

int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode, int flags, struct berr *err)
{
	return write_file_atomic_at(AT_FDCWD, path, data, len, mode, flags, err);
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

int path_dirname(char *dst, size_t size, const char *path)
{
	if (copy_string(dst, size, path) < 0) {
		return -ENAMETOOLONG;
	}
	char *slash = strrchr(dst, '/');
	if (slash == NULL) {
		return copy_string(dst, size, ".");
	}
	if (slash == dst) {
		slash[1] = '\0';
	} else {
		*slash = '\0';
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
