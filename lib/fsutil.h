/* Small file helpers shared by init and the runtime. All return 0 (or a
 * length) on success and a negative errno with err set on failure. */
#ifndef BERTH_FSUTIL_H
#define BERTH_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

#include "berr.h"

/* Reads a whole small file into buf (NUL-terminated); returns its length.
 * A file that does not fit is an error (-EFBIG), never silently cut. */
ssize_t read_file(const char *path, char *buf, size_t size, struct berr *err);

/* Writes text to an existing file (sysfs, procfs): one write, no create. */
int write_file(const char *path, const char *text, struct berr *err);

/* Creates path and its missing parents with mode. */
int mkdir_p(const char *path, mode_t mode, struct berr *err);

/* Copies src into dst of size dstsize; -ENAMETOOLONG if it does not fit. */
int copy_string(char *dst, size_t dstsize, const char *src);

/* dst = a "/" b; -ENAMETOOLONG if it does not fit (dst is then empty). */
int path_join(char *dst, size_t size, const char *a, const char *b);

/* Trims trailing whitespace in place; returns s. */
char *trim_end(char *s);

#endif
