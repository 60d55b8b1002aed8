/* Layer unpacking (see unpack.h). Everything happens through fds below the
 * layer directory; the only path strings are the archive's own, normalised
 * and checked component by component before the kernel sees them. */
/* O_PATH, O_TMPFILE, syncfs: the Makefile defines _GNU_SOURCE; builds
 * that do not (the fuzzers' command line) get it here. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "image/unpack.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "image/fstree.h"
#include "image/tar.h"
#include "lib/cleanup.h"
#include "lib/fsutil.h"

#define COPY_BUF (128u * 1024u)
#define OPAQUE_XATTR "trusted.overlay.opaque"

/* Parents are resolved beneath the layer directory, and a symlink anywhere
 * on the way is an error: a layer may not write through its own links. */
#define RESOLVE_PARENT (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV)

/* A normalised archive path: components joined by '/', no ".", no "..". */
struct upath {
	char path[TAR_PATH_MAX + 1];
	char parent[TAR_PATH_MAX + 1]; /* "" for the layer directory */
	const char *base;	       /* last component; NULL for the layer directory itself */
};

struct dir_meta {
	char *path;
	uint32_t mode;
	int64_t mtime;
	uint32_t mtime_nsec;
};

struct unpacker {
	int rootfd;
	struct unpack_stats *st;
	struct tar_reader *tar;
	/* The parent directory of the last entry: tar streams list a
	 * directory's entries together, so one open serves many. */
	int cache_fd;
	char cache_path[TAR_PATH_MAX + 1];
	struct dir_meta *dirs; /* directory modes and times, applied last */
	size_t ndirs;
	size_t capdirs;
	uint8_t *buf;
};

/* "layer entry "<path>": <message>"; with_errno adds strerror. */
__attribute__((format(printf, 5, 0))) static int entry_verr(struct berr *err, int code, int with_errno,
							    const char *path, const char *fmt, va_list ap)
{
	char q[320];
	char msg[512];
	if (vsnprintf(msg, sizeof(msg), fmt, ap) < 0) {
		msg[0] = '\0';
	}
	tar_quote(path, q, sizeof(q));
	if (with_errno) {
		return berr_set(err, code, "layer entry %s: %s", q, msg);
	}
	return berr_setx(err, code, "layer entry %s: %s", q, msg);
}

__attribute__((format(printf, 4, 5))) static int entry_err(struct berr *err, int code, const char *path,
							   const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int ret = entry_verr(err, code, 0, path, fmt, ap);
	va_end(ap);
	return ret;
}

__attribute__((format(printf, 4, 5))) static int entry_errno(struct berr *err, int code, const char *path,
							     const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int ret = entry_verr(err, code, 1, path, fmt, ap);
	va_end(ap);
	return ret;
}

static int openat2_fd(int dirfd, const char *path, int flags, unsigned long long resolve)
{
	struct open_how how = {
		.flags = (unsigned long long)(flags | O_CLOEXEC),
		.resolve = resolve,
	};
	long fd;
	do {
		fd = syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
	} while (fd < 0 && errno == EAGAIN);
	return (int)fd;
}

/* Splits and checks an archive path (the entry's own, or its hard link
 * target). Why it is refused goes to err, naming the entry. */
static int normalise(const char *in, const char *entry, struct upath *p, struct berr *err)
{
	char what[340] = "path";
	if (in != entry) {
		char q[320];
		if (snprintf(what, sizeof(what), "hard link target %s", tar_quote(in, q, sizeof(q))) < 0) {
			what[0] = '\0';
		}
	}
	if (in[0] == '/') {
		return entry_err(err, EPERM, entry, "%s is an absolute path", what);
	}
	size_t len = 0;
	size_t parent_len = 0;
	size_t base_off = 0;
	int ncomp = 0;
	const char *s = in;
	while (*s != '\0') {
		const char *slash = strchr(s, '/');
		size_t clen = slash != NULL ? (size_t)(slash - s) : strlen(s);
		const char *next = slash != NULL ? slash + 1 : s + clen;
		if (clen == 0 || (clen == 1 && s[0] == '.')) {
			s = next;
			continue;
		}
		if (clen == 2 && s[0] == '.' && s[1] == '.') {
			return entry_err(err, EPERM, entry, "%s has a '..' component", what);
		}
		if (clen > NAME_MAX) {
			return entry_err(err, ENAMETOOLONG, entry, "%s has a component longer than %d bytes", what,
					 NAME_MAX);
		}
		if (ncomp > 0) {
			parent_len = len;
			p->path[len++] = '/';
		}
		base_off = len;
		memcpy(p->path + len, s, clen);
		len += clen;
		ncomp++;
		s = next;
	}
	p->path[len] = '\0';
	memcpy(p->parent, p->path, parent_len);
	p->parent[parent_len] = '\0';
	p->base = ncomp > 0 ? p->path + base_off : NULL;
	return 0;
}

/* Finds which component of parent stops the walk, for a precise message. */
static int explain_parent(struct unpacker *u, const char *entry, const char *parent, int code, struct berr *err)
{
	char prefix[TAR_PATH_MAX + 1];
	char q[320];
	size_t len = strlen(parent);
	for (size_t i = 0; i <= len; i++) {
		if (parent[i] != '/' && parent[i] != '\0') {
			continue;
		}
		memcpy(prefix, parent, i);
		prefix[i] = '\0';
		struct stat st;
		if (fstatat(u->rootfd, prefix, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			break;
		}
		if (S_ISLNK(st.st_mode)) {
			return entry_err(err, ELOOP, entry, "parent %s is a symlink", tar_quote(prefix, q, sizeof(q)));
		}
		if (!S_ISDIR(st.st_mode)) {
			return entry_err(err, ENOTDIR, entry, "parent %s is not a directory",
					 tar_quote(prefix, q, sizeof(q)));
		}
	}
	return entry_errno(err, code, entry, "open parent %s", tar_quote(parent, q, sizeof(q)));
}

/* Opens parent (below the layer directory) one component at a time,
 * creating missing directories the way tar does (0755, root). */
static int walk_parent(struct unpacker *u, const char *entry, const char *parent, int create, struct berr *err)
{
	char comp[NAME_MAX + 1];
	auto_close int cur = fcntl(u->rootfd, F_DUPFD_CLOEXEC, 0);
	if (cur < 0) {
		return berr_set(err, errno, "dup");
	}
	const char *s = parent;
	while (*s != '\0') {
		const char *slash = strchr(s, '/');
		size_t clen = slash != NULL ? (size_t)(slash - s) : strlen(s);
		memcpy(comp, s, clen);
		comp[clen] = '\0';
		int fd = openat2_fd(cur, comp, O_PATH | O_DIRECTORY, RESOLVE_PARENT);
		if (fd < 0 && errno == ENOENT && create) {
			if (mkdirat(cur, comp, 0755) < 0 && errno != EEXIST) {
				return entry_errno(err, errno, entry, "create parent directory");
			}
			fd = openat2_fd(cur, comp, O_PATH | O_DIRECTORY, RESOLVE_PARENT);
		}
		if (fd < 0) {
			return explain_parent(u, entry, parent, errno, err);
		}
		close(cur);
		cur = fd;
		s = slash != NULL ? slash + 1 : s + clen;
	}
	return take_fd(&cur);
}

/* The directory an entry goes in; owned by the unpacker (do not close). */
static int open_parent(struct unpacker *u, const char *entry, const char *parent, struct berr *err)
{
	if (parent[0] == '\0') {
		return u->rootfd;
	}
	if (u->cache_fd >= 0 && strcmp(u->cache_path, parent) == 0) {
		return u->cache_fd;
	}
	int fd = openat2_fd(u->rootfd, parent, O_PATH | O_DIRECTORY, RESOLVE_PARENT);
	if (fd < 0) {
		fd = walk_parent(u, entry, parent, 1, err);
		if (fd < 0) {
			return fd;
		}
	}
	if (u->cache_fd >= 0) {
		close(u->cache_fd);
	}
	u->cache_fd = fd;
	memcpy(u->cache_path, parent, strlen(parent) + 1);
	return fd;
}

/* Something was removed: the cached parent may have been under it. The
 * fd stays open (the current entry may be using it) until replaced. */
static void forget_parent(struct unpacker *u)
{
	/* "" never reaches the cache: the layer directory is rootfd. */
	u->cache_path[0] = '\0';
}

/* A later entry replaces an earlier one of the same name (tar semantics);
 * a directory replaced by a non-directory goes with its contents. */
static int remove_existing(struct unpacker *u, int parent, const char *base, const char *entry, struct berr *err)
{
	struct stat st;
	if (fstatat(parent, base, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		return errno == ENOENT ? 0 : entry_errno(err, errno, entry, "stat existing entry");
	}
	forget_parent(u);
	if (S_ISDIR(st.st_mode)) {
		int ret = fstree_remove(parent, base, NULL, err);
		char q[320];
		return ret < 0 ? berr_prefix(err, "layer entry %s: replace a directory", tar_quote(entry, q, sizeof(q)))
			       : 0;
	}
	if (unlinkat(parent, base, 0) < 0) {
		return entry_errno(err, errno, entry, "remove existing entry");
	}
	return 0;
}

static int xattr_allowed(const char *name, char type)
{
	if (strcmp(name, "security.capability") == 0) {
		return type == TAR_REG;
	}
	/* user.overlay.* would be overlayfs metadata on a userxattr mount. */
	if (strncmp(name, "user.", 5) == 0 && strncmp(name, "user.overlay.", 13) != 0) {
		return type == TAR_REG || type == TAR_DIR;
	}
	return 0;
}

static int apply_xattrs(struct unpacker *u, int fd, const struct tar_entry *e, struct berr *err)
{
	for (size_t i = 0; i < e->nxattrs; i++) {
		const struct tar_xattr *x = &e->xattrs[i];
		if (!xattr_allowed(x->name, e->type)) {
			u->st->xattrs_skipped++;
			continue;
		}
		if (fsetxattr(fd, x->name, x->value, x->len, 0) < 0) {
			char q[300];
			return entry_errno(err, errno, e->path, "set extended attribute %s",
					   tar_quote(x->name, q, sizeof(q)));
		}
		u->st->xattrs_set++;
	}
	return 0;
}

static void entry_times(const struct tar_entry *e, struct timespec ts[2])
{
	ts[0].tv_sec = (time_t)e->mtime;
	ts[0].tv_nsec = (long)e->mtime_nsec;
	ts[1] = ts[0];
}

/* Owner first: chown clears setuid/setgid and file capabilities, so the
 * mode and security.capability must come after it. */
static int apply_meta(struct unpacker *u, int fd, const struct tar_entry *e, struct berr *err)
{
	if (fchown(fd, e->uid, e->gid) < 0) {
		return entry_errno(err, errno, e->path, "chown %u:%u", e->uid, e->gid);
	}
	if (fchmod(fd, e->mode) < 0) {
		return entry_errno(err, errno, e->path, "chmod %o", e->mode);
	}
	int ret = apply_xattrs(u, fd, e, err);
	if (ret < 0) {
		return ret;
	}
	struct timespec ts[2];
	entry_times(e, ts);
	if (futimens(fd, ts) < 0) {
		return entry_errno(err, errno, e->path, "set times");
	}
	return 0;
}

static int unpack_file(struct unpacker *u, const struct tar_entry *e, const struct upath *p, struct berr *err)
{
	int parent = open_parent(u, e->path, p->parent, err);
	if (parent < 0) {
		return parent;
	}
	auto_close int fd = openat(parent, p->base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 && errno == EEXIST) {
		int ret = remove_existing(u, parent, p->base, e->path, err);
		if (ret < 0) {
			return ret;
		}
		fd = openat(parent, p->base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	}
	if (fd < 0) {
		return entry_errno(err, errno, e->path, "create");
	}
	for (;;) {
		ssize_t n = tar_read(u->tar, u->buf, COPY_BUF, err);
		if (n < 0) {
			return (int)n;
		}
		if (n == 0) {
			break;
		}
		int ret = write_all(fd, u->buf, (size_t)n);
		if (ret < 0) {
			return entry_errno(err, -ret, e->path, "write");
		}
	}
	u->st->files++;
	u->st->bytes += e->size;
	return apply_meta(u, fd, e, err);
}

static int defer_dir_meta(struct unpacker *u, const struct tar_entry *e, const char *path, struct berr *err)
{
	if (u->ndirs == u->capdirs) {
		size_t cap = u->capdirs == 0 ? 64 : u->capdirs * 2;
		struct dir_meta *d = realloc(u->dirs, cap * sizeof(*d));
		if (d == NULL) {
			return berr_set(err, ENOMEM, "unpack");
		}
		u->dirs = d;
		u->capdirs = cap;
	}
	char *copy = strdup(path);
	if (copy == NULL) {
		return berr_set(err, ENOMEM, "unpack");
	}
	u->dirs[u->ndirs++] = (struct dir_meta){copy, e->mode, e->mtime, e->mtime_nsec};
	return 0;
}

/* A directory's mode and times are set after everything else: the times
 * change with every entry added, and a read-only mode would stop them. */
static int unpack_dir(struct unpacker *u, const struct tar_entry *e, const struct upath *p, struct berr *err)
{
	auto_close int fd = -1;
	if (p->base == NULL) {
		fd = openat(u->rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	} else {
		int parent = open_parent(u, e->path, p->parent, err);
		if (parent < 0) {
			return parent;
		}
		if (mkdirat(parent, p->base, 0700) < 0) {
			struct stat st;
			if (errno != EEXIST) {
				return entry_errno(err, errno, e->path, "mkdir");
			}
			if (fstatat(parent, p->base, &st, AT_SYMLINK_NOFOLLOW) < 0) {
				return entry_errno(err, errno, e->path, "stat existing entry");
			}
			if (!S_ISDIR(st.st_mode)) {
				int ret = remove_existing(u, parent, p->base, e->path, err);
				if (ret < 0) {
					return ret;
				}
				if (mkdirat(parent, p->base, 0700) < 0) {
					return entry_errno(err, errno, e->path, "mkdir");
				}
			}
		}
		fd = openat(parent, p->base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd < 0) {
		return entry_errno(err, errno, e->path, "open directory");
	}
	if (fchown(fd, e->uid, e->gid) < 0) {
		return entry_errno(err, errno, e->path, "chown %u:%u", e->uid, e->gid);
	}
	int ret = apply_xattrs(u, fd, e, err);
	if (ret < 0) {
		return ret;
	}
	return defer_dir_meta(u, e, p->path, err);
}

static int unpack_symlink(struct unpacker *u, const struct tar_entry *e, const struct upath *p, struct berr *err)
{
	int parent = open_parent(u, e->path, p->parent, err);
	if (parent < 0) {
		return parent;
	}
	/* The target is not resolved here: inside the container it is
	 * resolved in the container's root, which may be anything. */
	if (symlinkat(e->linkpath, parent, p->base) < 0) {
		if (errno != EEXIST) {
			return entry_errno(err, errno, e->path, "symlink");
		}
		int ret = remove_existing(u, parent, p->base, e->path, err);
		if (ret < 0) {
			return ret;
		}
		if (symlinkat(e->linkpath, parent, p->base) < 0) {
			return entry_errno(err, errno, e->path, "symlink");
		}
	}
	if (fchownat(parent, p->base, e->uid, e->gid, AT_SYMLINK_NOFOLLOW) < 0) {
		return entry_errno(err, errno, e->path, "chown %u:%u", e->uid, e->gid);
	}
	struct timespec ts[2];
	entry_times(e, ts);
	if (utimensat(parent, p->base, ts, AT_SYMLINK_NOFOLLOW) < 0) {
		return entry_errno(err, errno, e->path, "set times");
	}
	u->st->xattrs_skipped += e->nxattrs;
	return 0;
}

/* A hard link may only name a regular file this layer already unpacked:
 * the layer directory started empty, so any regular file found below it
 * without crossing a symlink is one. */
static int unpack_hardlink(struct unpacker *u, const struct tar_entry *e, const struct upath *p, struct berr *err)
{
	struct upath target;
	char q[320];
	int ret = normalise(e->linkpath, e->path, &target, err);
	if (ret < 0) {
		return ret;
	}
	if (target.base == NULL) {
		return entry_err(err, EPERM, e->path, "hard link to the layer directory");
	}
	auto_close int tparent = -1;
	if (target.parent[0] == '\0') {
		tparent = fcntl(u->rootfd, F_DUPFD_CLOEXEC, 0);
	} else {
		tparent = openat2_fd(u->rootfd, target.parent, O_PATH | O_DIRECTORY, RESOLVE_PARENT);
	}
	struct stat st;
	if (tparent < 0 || fstatat(tparent, target.base, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT || errno == ELOOP || errno == ENOTDIR || errno == EXDEV) {
			return entry_err(err, EPERM, e->path, "hard link target %s is not a file of this layer",
					 tar_quote(e->linkpath, q, sizeof(q)));
		}
		return entry_errno(err, errno, e->path, "hard link target %s", tar_quote(e->linkpath, q, sizeof(q)));
	}
	if (!S_ISREG(st.st_mode)) {
		return entry_err(err, EPERM, e->path, "hard link target %s is not a regular file",
				 tar_quote(e->linkpath, q, sizeof(q)));
	}
	int parent = open_parent(u, e->path, p->parent, err);
	if (parent < 0) {
		return parent;
	}
	if (linkat(tparent, target.base, parent, p->base, 0) < 0) {
		if (errno != EEXIST) {
			return entry_errno(err, errno, e->path, "hard link");
		}
		struct stat cur;
		if (fstatat(parent, p->base, &cur, AT_SYMLINK_NOFOLLOW) == 0 && cur.st_dev == st.st_dev &&
		    cur.st_ino == st.st_ino) {
			return 0;
		}
		ret = remove_existing(u, parent, p->base, e->path, err);
		if (ret < 0) {
			return ret;
		}
		if (linkat(tparent, target.base, parent, p->base, 0) < 0) {
			return entry_errno(err, errno, e->path, "hard link");
		}
	}
	return 0;
}

/* mknod in parent, replacing an earlier entry of the same name. */
static int make_node(struct unpacker *u, int parent, const char *base, mode_t mode, dev_t dev, const char *entry,
		     struct berr *err)
{
	if (mknodat(parent, base, mode, dev) == 0) {
		return 0;
	}
	if (errno != EEXIST) {
		return entry_errno(err, errno, entry, "mknod");
	}
	int ret = remove_existing(u, parent, base, entry, err);
	if (ret < 0) {
		return ret;
	}
	if (mknodat(parent, base, mode, dev) < 0) {
		return entry_errno(err, errno, entry, "mknod");
	}
	return 0;
}

static int unpack_fifo(struct unpacker *u, const struct tar_entry *e, const struct upath *p, struct berr *err)
{
	int parent = open_parent(u, e->path, p->parent, err);
	if (parent < 0) {
		return parent;
	}
	int ret = make_node(u, parent, p->base, S_IFIFO | 0600, 0, e->path, err);
	if (ret < 0) {
		return ret;
	}
	/* Read-only and non-blocking: opening a FIFO so returns at once. */
	auto_close int fd = openat(parent, p->base, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		return entry_errno(err, errno, e->path, "open FIFO");
	}
	return apply_meta(u, fd, e, err);
}

/* The overlayfs whiteout: a character device 0:0 named like what it hides. */
static int make_whiteout(struct unpacker *u, const struct tar_entry *e, const char *parent_path, const char *name,
			 struct berr *err)
{
	int parent = open_parent(u, e->path, parent_path, err);
	if (parent < 0) {
		return parent;
	}
	int ret = make_node(u, parent, name, S_IFCHR, makedev(0, 0), e->path, err);
	if (ret < 0) {
		return ret;
	}
	if (fchownat(parent, name, e->uid, e->gid, AT_SYMLINK_NOFOLLOW) < 0) {
		return entry_errno(err, errno, e->path, "chown whiteout");
	}
	struct timespec ts[2];
	entry_times(e, ts);
	if (utimensat(parent, name, ts, AT_SYMLINK_NOFOLLOW) < 0) {
		return entry_errno(err, errno, e->path, "set times");
	}
	u->st->whiteouts++;
	return 0;
}

static int make_opaque(struct unpacker *u, const struct tar_entry *e, const char *dir_path, struct berr *err)
{
	int dir = open_parent(u, e->path, dir_path, err);
	if (dir < 0) {
		return dir;
	}
	/* xattrs need a real fd, not the O_PATH one. */
	auto_close int fd = openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		return entry_errno(err, errno, e->path, "open directory to make it opaque");
	}
	if (fsetxattr(fd, OPAQUE_XATTR, "y", 1, 0) < 0) {
		return entry_errno(err, errno, e->path, "set " OPAQUE_XATTR);
	}
	u->st->opaque_dirs++;
	return 0;
}

/* Docker/OCI whiteouts: ".wh..wh..opq" makes its directory opaque,
 * ".wh.NAME" hides NAME, other ".wh..wh." names are AUFS bookkeeping. */
static int unpack_whiteout(struct unpacker *u, const struct tar_entry *e, const struct upath *p, struct berr *err)
{
	if (e->type != TAR_REG) {
		return entry_err(err, EINVAL, e->path, "whiteout is not a regular file");
	}
	if (strcmp(p->base, ".wh..wh..opq") == 0) {
		return make_opaque(u, e, p->parent, err);
	}
	if (strncmp(p->base, ".wh..wh.", 8) == 0) {
		return 0;
	}
	const char *name = p->base + 4;
	if (name[0] == '\0' || strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
		return entry_err(err, EPERM, e->path, "whiteout of \"%s\"", name);
	}
	return make_whiteout(u, e, p->parent, name, err);
}

static int unpack_entry(struct unpacker *u, const struct tar_entry *e, struct berr *err)
{
	struct upath p;
	int ret = normalise(e->path, e->path, &p, err);
	if (ret < 0) {
		return ret;
	}
	/* ".wh." names a whiteout only as the last component. */
	for (const char *c = p.path; p.base != NULL && c < p.base; c = strchr(c, '/') + 1) {
		if (strncmp(c, ".wh.", 4) == 0) {
			return entry_err(err, EINVAL, e->path, "whiteout name used as a directory");
		}
	}
	if (p.base == NULL) {
		if (e->type != TAR_DIR) {
			return entry_err(err, EINVAL, e->path, "names the layer directory but is not a directory");
		}
		return unpack_dir(u, e, &p, err);
	}
	if (strncmp(p.base, ".wh.", 4) == 0) {
		return unpack_whiteout(u, e, &p, err);
	}
	switch (e->type) {
	case TAR_REG:
		return unpack_file(u, e, &p, err);
	case TAR_DIR:
		return unpack_dir(u, e, &p, err);
	case TAR_SYMLINK:
		return unpack_symlink(u, e, &p, err);
	case TAR_HARDLINK:
		return unpack_hardlink(u, e, &p, err);
	case TAR_FIFO:
		return unpack_fifo(u, e, &p, err);
	case TAR_CHAR:
		if (e->devmajor == 0 && e->devminor == 0) {
			return make_whiteout(u, e, p.parent, p.base, err);
		}
		return entry_err(err, EPERM, e->path, "character device %u:%u (device nodes are not allowed in layers)",
				 e->devmajor, e->devminor);
	case TAR_BLOCK:
		return entry_err(err, EPERM, e->path, "block device %u:%u (device nodes are not allowed in layers)",
				 e->devmajor, e->devminor);
	default:
		break;
	}
	if (e->type >= 0x21 && e->type < 0x7f) {
		return entry_err(err, ENOTSUP, e->path, "unsupported entry type '%c'", e->type);
	}
	return entry_err(err, ENOTSUP, e->path, "unsupported entry type 0x%02x", (unsigned)(unsigned char)e->type);
}

static int apply_dir_meta(struct unpacker *u, struct berr *err)
{
	for (size_t i = 0; i < u->ndirs; i++) {
		const struct dir_meta *d = &u->dirs[i];
		const char *path = d->path[0] != '\0' ? d->path : ".";
		auto_close int fd = openat2_fd(u->rootfd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, RESOLVE_PARENT);
		if (fd < 0) {
			/* Replaced by a later entry: that one's metadata counts. */
			if (errno == ENOENT || errno == ELOOP || errno == ENOTDIR) {
				continue;
			}
			return entry_errno(err, errno, d->path, "open directory");
		}
		if (fchmod(fd, d->mode) < 0) {
			return entry_errno(err, errno, d->path, "chmod %o", d->mode);
		}
		struct timespec ts[2];
		ts[0].tv_sec = (time_t)d->mtime;
		ts[0].tv_nsec = (long)d->mtime_nsec;
		ts[1] = ts[0];
		if (futimens(fd, ts) < 0) {
			return entry_errno(err, errno, d->path, "set times");
		}
	}
	return 0;
}

static int unpack_all(struct unpacker *u, struct dstream *in, const struct unpack_limits *limits, struct berr *err)
{
	uint64_t max_bytes = limits != NULL && limits->max_bytes != 0 ? limits->max_bytes : UNPACK_DEFAULT_MAX_BYTES;
	uint64_t max_entries =
		limits != NULL && limits->max_entries != 0 ? limits->max_entries : UNPACK_DEFAULT_MAX_ENTRIES;
	for (;;) {
		const struct tar_entry *e;
		int ret = tar_next(u->tar, &e, err);
		if (ret < 0) {
			return ret;
		}
		if (dstream_out_bytes(in) > max_bytes) {
			return berr_setx(err, EFBIG, "layer is larger than %llu bytes uncompressed (the limit)",
					 (unsigned long long)max_bytes);
		}
		if (ret == 0) {
			break;
		}
		if (++u->st->entries > max_entries) {
			return berr_setx(err, EFBIG, "layer has more than %llu entries (the limit)",
					 (unsigned long long)max_entries);
		}
		ret = unpack_entry(u, e, err);
		if (ret < 0) {
			return ret;
		}
	}
	int ret = apply_dir_meta(u, err);
	if (ret < 0) {
		return ret;
	}
	ret = dstream_drain(in, err);
	if (ret < 0) {
		return berr_prefix(err, "after the end of the layer archive");
	}
	if (dstream_out_bytes(in) > max_bytes) {
		return berr_setx(err, EFBIG, "layer is larger than %llu bytes uncompressed (the limit)",
				 (unsigned long long)max_bytes);
	}
	return 0;
}

int unpack_layer(int dirfd, struct dstream *in, const struct unpack_limits *limits, struct unpack_stats *stats,
		 struct berr *err)
{
	struct unpack_stats scratch;
	if (stats == NULL) {
		stats = &scratch;
	}
	memset(stats, 0, sizeof(*stats));
	struct unpacker u = {.rootfd = dirfd, .st = stats, .cache_fd = -1};
	u.buf = malloc(COPY_BUF);
	if (u.buf == NULL) {
		return berr_set(err, ENOMEM, "unpack");
	}
	int ret = tar_open(&u.tar, in, err);
	if (ret == 0) {
		ret = unpack_all(&u, in, limits, err);
	}
	tar_close(u.tar);
	if (u.cache_fd >= 0) {
		close(u.cache_fd);
	}
	for (size_t i = 0; i < u.ndirs; i++) {
		free(u.dirs[i].path);
	}
	free(u.dirs);
	free(u.buf);
	return ret;
}
