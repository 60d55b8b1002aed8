/* Unpacks one image layer (a tar stream) into an empty directory that
 * becomes an overlayfs lower layer. Docker/OCI whiteouts become overlayfs
 * whiteouts (".wh.NAME" -> character device 0:0 NAME; ".wh..wh..opq" ->
 * trusted.overlay.opaque=y on its directory).
 *
 * It must never write outside that directory: every path is resolved
 * relative to the directory fd, parents with RESOLVE_BENEATH and
 * RESOLVE_NO_SYMLINKS, files created with O_EXCL|O_NOFOLLOW. It refuses,
 * naming the entry: absolute paths, ".." components, parents through a
 * symlink, hard links to anything but a regular file of this layer,
 * device nodes (other than the 0:0 whiteout form), whiteouts of "." or
 * "..", unknown entry types. Only user.* (but user.overlay.*) and
 * security.capability extended attributes are set; others are counted.
 *
 * It does not check digests or make anything visible: the caller unpacks
 * into a temporary directory, compares dstream_digests with what the
 * image says, and renames (see store.c). */
#ifndef BERTH_UNPACK_H
#define BERTH_UNPACK_H

#include <stdint.h>

#include "image/dstream.h"
#include "lib/berr.h"

#define UNPACK_DEFAULT_MAX_BYTES (UINT64_C(8) << 30) /* uncompressed tar bytes */
#define UNPACK_DEFAULT_MAX_ENTRIES UINT64_C(1000000)

struct unpack_limits {
	uint64_t max_bytes;   /* 0: UNPACK_DEFAULT_MAX_BYTES */
	uint64_t max_entries; /* 0: UNPACK_DEFAULT_MAX_ENTRIES */
};

struct unpack_stats {
	uint64_t entries;
	uint64_t files;		 /* regular files written */
	uint64_t bytes;		 /* their data */
	uint64_t whiteouts;	 /* character devices 0:0 made */
	uint64_t opaque_dirs;	 /* directories marked opaque */
	uint64_t xattrs_set;	 /* extended attributes applied */
	uint64_t xattrs_skipped; /* not in the allowed namespaces, or on a symlink */
};

/* Unpacks the tar stream in into dirfd (an empty directory), then reads
 * the stream to its end so that its digests cover every byte. in should
 * have been opened with max_out = the byte limit; it is checked here too.
 * On failure, dirfd holds a partial tree for the caller to remove. */
int unpack_layer(int dirfd, struct dstream *in, const struct unpack_limits *limits, struct unpack_stats *stats,
		 struct berr *err);

#endif
