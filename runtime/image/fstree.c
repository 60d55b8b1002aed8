/* Tree removal and temporary directories (see fstree.h). */
#include "image/fstree.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <linux/fs.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/cleanup.h"

/* Deeper directories are moved up to the top directory and removed from
 * there, so that at most this many directory fds are open at once (a
 * layer may nest 2048 levels deep within its 4096-byte paths). */
#define MAX_DEPTH 32

struct rm_ctx {
	int topfd;
	uint64_t tag; /* random: names of moved subtrees cannot clash */
	uint64_t moved;
	uint64_t *freed;
	struct berr *err;
};

DIR *fstree_opendir(int dirfd)
{
	int dfd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		return NULL;
	}
	DIR *d = fdopendir(dfd);
	if (d == NULL) {
		int saved = errno;
		close(dfd);
		errno = saved;
	}
	return d;
}

/* musl has no renameat2 wrapper. */
static int rename_noreplace(int olddirfd, const char *oldpath, int newdirfd, const char *newpath)
{
	return (int)syscall(SYS_renameat2, olddirfd, oldpath, newdirfd, newpath, RENAME_NOREPLACE);
}

static void moved_name(const struct rm_ctx *c, uint64_t i, char *out, size_t size)
{
	if (snprintf(out, size, ".rm-%016llx-%llu", (unsigned long long)c->tag, (unsigned long long)i) < 0) {
		out[0] = '\0';
	}
}

static void count(struct rm_ctx *c, const struct stat *st)
{
	/* A hard-linked file frees its blocks with its last name. */
	if (c->freed != NULL && (S_ISDIR(st->st_mode) || st->st_nlink <= 1)) {
		*c->freed += (uint64_t)st->st_blocks * 512;
	}
}

static int remove_entry(struct rm_ctx *c, int parentfd, const char *name, unsigned depth);

static int empty_dir(struct rm_ctx *c, int fd, const char *name, unsigned depth)
{
	auto_closedir DIR *d = fstree_opendir(fd);
	if (d == NULL) {
		return berr_set(c->err, errno, "remove %s", name);
	}
	for (;;) {
		errno = 0;
		struct dirent *de = readdir(d);
		if (de == NULL) {
			if (errno != 0) {
				return berr_set(c->err, errno, "read directory %s", name);
			}
			return 0;
		}
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) {
			continue;
		}
		int ret = remove_entry(c, fd, de->d_name, depth + 1);
		if (ret < 0) {
			return ret;
		}
	}
}

static int remove_entry(struct rm_ctx *c, int parentfd, const char *name, unsigned depth)
{
	struct stat st;
	if (fstatat(parentfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT) {
			return 0;
		}
		return berr_set(c->err, errno, "stat %s", name);
	}
	if (!S_ISDIR(st.st_mode)) {
		if (unlinkat(parentfd, name, 0) < 0 && errno != ENOENT) {
			return berr_set(c->err, errno, "remove %s", name);
		}
		count(c, &st);
		return 0;
	}
	if (depth >= MAX_DEPTH) {
		char moved[64];
		moved_name(c, c->moved, moved, sizeof(moved));
		if (rename_noreplace(parentfd, name, c->topfd, moved) < 0) {
			return berr_set(c->err, errno, "move %s up for removal", name);
		}
		c->moved++;
		return 0;
	}
	auto_close int fd = openat(parentfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		return berr_set(c->err, errno, "open %s", name);
	}
	/* Entries removed while a directory is read may shift what readdir
	 * returns; a second pass catches anything it skipped. */
	for (int pass = 0;; pass++) {
		int ret = empty_dir(c, fd, name, depth);
		if (ret < 0) {
			return ret;
		}
		if (unlinkat(parentfd, name, AT_REMOVEDIR) == 0) {
			count(c, &st);
			return 0;
		}
		if (errno != ENOTEMPTY || pass == 3) {
			return berr_set(c->err, errno, "remove directory %s", name);
		}
	}
}

int fstree_remove(int dirfd, const char *name, uint64_t *freed, struct berr *err)
{
	struct rm_ctx c = {.topfd = dirfd, .freed = freed, .err = err};
	if (getrandom(&c.tag, sizeof(c.tag), 0) != (ssize_t)sizeof(c.tag)) {
		c.tag = (uint64_t)getpid() << 32 ^ (uint64_t)(uintptr_t)&c;
	}
	int ret = remove_entry(&c, dirfd, name, 0);
	for (uint64_t i = 0; ret == 0 && i < c.moved; i++) {
		char moved[64];
		moved_name(&c, i, moved, sizeof(moved));
		ret = remove_entry(&c, dirfd, moved, 0);
	}
	return ret;
}

int fstree_mkdtemp(int dirfd, const char *prefix, char *name, size_t size, struct berr *err)
{
	for (int attempt = 0; attempt < 16; attempt++) {
		uint64_t r;
		if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
			return berr_set(err, errno ? errno : EIO, "getrandom");
		}
		int n = snprintf(name, size, "%s%016llx", prefix, (unsigned long long)r);
		if (n < 0 || (size_t)n >= size) {
			return berr_setx(err, ENAMETOOLONG, "temporary name too long");
		}
		if (mkdirat(dirfd, name, 0700) == 0) {
			return 0;
		}
		if (errno != EEXIST) {
			return berr_set(err, errno, "mkdir %s", name);
		}
	}
	return berr_setx(err, EEXIST, "cannot find a free temporary name for %s", prefix);
}
