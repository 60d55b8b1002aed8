/* Small file helpers shared by init and the runtime. All return 0 (or a
 * length) on success and a negative errno with err set on failure. */
#ifndef BERTH_FSUTIL_H
#define BERTH_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

#include "lib/berr.h"

/* Reads a whole small file into buf (NUL-terminated); returns its length.
 * A file that does not fit is an error (-EFBIG), never silently cut. */
ssize_t read_file(const char *path, char *buf, size_t size, struct berr *err);

/* Reads fd to its end into a new buffer (NUL-terminated; the caller frees
 * it): a regular file, a pipe, stdin. More than max bytes is -EFBIG, found
 * after reading at most max + 1 bytes, so that a writer that never stops
 * cannot make the reader grow or wait without end. name names the input in
 * errors ("stdin"). fd stays open. */
int read_fd_alloc(int fd, size_t max, const char *name, char **data, size_t *len, struct berr *err);

/* Reads a whole regular file of at most max bytes into a new buffer
 * (NUL-terminated; the caller frees it). dirfd and name as for openat
 * (AT_FDCWD with a path); oflags adds O_NOFOLLOW, or O_NONBLOCK so that a
 * FIFO named by a user cannot hang the reader. Reads until end of file,
 * not st_size (sizes in /proc lie); more than max bytes is -EFBIG, never
 * a silent cut (read_fd_alloc reads it). display names the file in errors
 * (NULL: name). */
int read_file_alloc(int dirfd, const char *name, int oflags, size_t max, const char *display, char **data, size_t *len,
		    struct berr *err);

/* Writes text to an existing file (sysfs, procfs): one write, no create. */
int write_file(const char *path, const char *text, struct berr *err);

/* Writes all len bytes to fd, across short writes and EINTR; 0 or -errno
 * (no err: callers know what fd is). */
int write_all(int fd, const void *data, size_t len);

/* How write_file_atomic makes its result durable. */
enum {
	ATOMIC_FSYNC_FILE = 1, /* the new content is on disk before the rename */
	ATOMIC_FSYNC_DIR = 2,  /* and the rename itself, once it returns */
	ATOMIC_UNIQUE_TMP = 4, /* a random temporary name: writers may race */
};

/* Replaces path with data as a whole: "path.tmp" is written (mode, whatever
 * the umask), then renamed over path, so that readers see the old content
 * or the new, never a part. flags (ATOMIC_FSYNC_*) say what survives a
 * crash; files under /run need neither. The temporary is removed on
 * failure. One writer per path: the temporary's name is fixed. */
int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode, int flags, struct berr *err);

/* write_file_atomic for name relative to dirfd (AT_FDCWD: a path). With
 * ATOMIC_UNIQUE_TMP the temporary is ".NAME.RANDOM.tmp" beside it, so that
 * concurrent writers of one name never share a temporary. */
int write_file_atomic_at(int dirfd, const char *name, const void *data, size_t len, mode_t mode, int flags,
			 struct berr *err);

/* Creates path and its missing parents with mode. */
int mkdir_p(const char *path, mode_t mode, struct berr *err);

/* Copies src into dst of size dstsize; -ENAMETOOLONG if it does not fit. */
int copy_string(char *dst, size_t dstsize, const char *src);

/* dst = a "/" b; -ENAMETOOLONG if it does not fit (dst is then empty). */
int path_join(char *dst, size_t size, const char *a, const char *b);

/* dst = the directory part of path: "." without a slash, "/" for "/x";
 * -ENAMETOOLONG if it does not fit. */
int path_dirname(char *dst, size_t size, const char *path);

/* Trims trailing whitespace in place; returns s. */
char *trim_end(char *s);

#endif
