/* A small tar writer: ustar headers, with a PAX extended header in front
 * of an entry whose path or link target does not fit ustar's fields or
 * whose size does not fit 11 octal digits. Regular files, directories and
 * symlinks; what the writer needs of an entry is named by the caller. */
#ifndef BERTH_TARW_H
#define BERTH_TARW_H

#include <stdint.h>
#include <sys/types.h>

#include "lib/berr.h"

#define TARW_BLOCK 512

struct tarw_entry {
	char type;	      /* '0' file, '5' directory, '2' symlink */
	const char *path;     /* relative, "/"-separated; a directory's without a trailing "/" */
	const char *linkpath; /* a symlink's target */
	uint64_t size;	      /* a file's data bytes */
	mode_t mode;	      /* permission bits */
	uid_t uid;
	gid_t gid;
	int64_t mtime;
};

/* Writes e's header(s) to fd; a file's data follows (tarw_data), then
 * tarw_pad. 0 or -errno with err naming e->path. */
int tarw_header(int fd, const struct tarw_entry *e, struct berr *err);

/* Copies exactly size bytes from src to fd, then the padding; a source
 * that ends early is -EIO (an archive never holds a silent hole). */
int tarw_copy(int fd, int src, uint64_t size, const char *path, struct berr *err);

/* The zero padding after size bytes of data. */
int tarw_pad(int fd, uint64_t size, struct berr *err);

/* The two zero blocks that end an archive. */
int tarw_end(int fd, struct berr *err);

#endif
