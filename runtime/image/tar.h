/* A streaming tar reader over a dstream: POSIX ustar, GNU long names and
 * link names ('L', 'K') and PAX extended headers ('x'; 'g' is skipped).
 * Every header is validated (checksum, numbers, sizes, name lengths, no
 * bytes hidden after a NUL) before anything of it is handed out. It only
 * parses: it never touches the filesystem. */
#ifndef BERTH_TAR_H
#define BERTH_TAR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "image/dstream.h"
#include "lib/berr.h"

#define TAR_PATH_MAX 4096	    /* bytes in a path or link target, without the NUL */
#define TAR_PAX_MAX (1024u * 1024u) /* bytes in one PAX extended header */
#define TAR_XATTR_MAX 64	    /* extended attributes per entry */
#define TAR_XATTR_VALUE_MAX 65536   /* bytes in one attribute value (the kernel's limit) */

/* Entry types as they appear in the header ('\0' and '7' read as '0').
 * Anything else is handed out with its raw type byte for the caller to
 * refuse by name. */
enum {
	TAR_REG = '0',
	TAR_HARDLINK = '1',
	TAR_SYMLINK = '2',
	TAR_CHAR = '3',
	TAR_BLOCK = '4',
	TAR_DIR = '5',
	TAR_FIFO = '6',
};

struct tar_xattr {
	const char *name; /* NUL-terminated */
	const uint8_t *value;
	size_t len;
};

struct tar_entry {
	char type;
	const char *path;     /* as stored (not normalised), NUL-terminated */
	const char *linkpath; /* hardlink or symlink target; "" otherwise */
	uint64_t size;	      /* data bytes (0 for every type but regular files) */
	uint32_t mode;	      /* permission bits, including setuid/setgid/sticky */
	uint32_t uid;
	uint32_t gid;
	int64_t mtime;
	uint32_t mtime_nsec;
	uint32_t devmajor;
	uint32_t devminor;
	const struct tar_xattr *xattrs;
	size_t nxattrs;
};

struct tar_reader;

/* Reads from in (not owned; it must outlive the reader). */
int tar_open(struct tar_reader **out, struct dstream *in, struct berr *err);
void tar_close(struct tar_reader *t);

/* The next entry: 1 with *entry set (valid until the next call), 0 at the
 * end of the archive, a negative errno on a malformed or truncated
 * archive. Unread data of the previous entry is skipped. */
int tar_next(struct tar_reader *t, const struct tar_entry **entry, struct berr *err);

/* Reads the current entry's data: up to len bytes, 0 when all is read. */
ssize_t tar_read(struct tar_reader *t, void *buf, size_t len, struct berr *err);

/* Offset of the current entry's data in the (uncompressed) stream. */
uint64_t tar_data_offset(const struct tar_reader *t);

/* Headers read so far, extended ones included (for limits). */
uint64_t tar_headers(const struct tar_reader *t);

/* s quoted for a message: in double quotes, bytes outside printable
 * ASCII (and '"', '\\') as \xNN, cut with "..." to fit size (>= 8). */
const char *tar_quote(const char *s, char *buf, size_t size);

#endif
