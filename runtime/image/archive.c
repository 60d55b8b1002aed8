/* Image archives (see archive.h). Owns the archive's fds, its member table
 * and the spool file; reads members with pread so that any number of
 * them can be open at once without sharing a file offset. */
/* O_PATH, O_TMPFILE, syncfs: the Makefile defines _GNU_SOURCE; builds
 * that do not (the fuzzers' command line) get it here. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "image/archive.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "image/imgref.h"
#include "image/strfmt.h"
#include "image/tar.h"
#include "lib/cleanup.h"
#include "lib/fsutil.h"
#include "lib/sha256.h"

#define MAX_LINK_HOPS 16
#define MAX_INDEX_DEPTH 4
#define SPOOL_BUF (256u * 1024u)

struct member {
	const char *name;
	const char *link; /* symlink or hard link target; NULL for a file */
	int symlink;
	uint64_t offset;
	uint64_t size;
	size_t order; /* position in the tar: the last of duplicates counts */
};

struct archive {
	char name[PATH_MAX];
	int dirfd; /* a directory archive, else -1 */
	int fd;	   /* a tar archive (plain, seekable), else -1 */
	int fd_owned;
	uint64_t base; /* where the tar starts in fd */
	struct member *members;
	size_t nmembers;
	struct arena ar; /* member names */
};

const char *archive_host_arch(void)
{
#if defined(__x86_64__)
	return "amd64";
#elif defined(__aarch64__)
	return "arm64";
#elif defined(__riscv) && __riscv_xlen == 64
	return "riscv64";
#elif defined(__arm__)
	return "arm";
#elif defined(__i386__)
	return "386";
#else
	return "unknown";
#endif
}

const char *archive_name(const struct archive *a)
{
	return a->name;
}

static struct archive *archive_new(const char *name)
{
	struct archive *a = calloc(1, sizeof(*a));
	if (a == NULL) {
		return NULL;
	}
	a->dirfd = -1;
	a->fd = -1;
	if (copy_string(a->name, sizeof(a->name), name) < 0) {
		(void)strfmt(a->name, sizeof(a->name), "%.200s...", name);
	}
	return a;
}

void archive_close(struct archive *a)
{
	if (a == NULL) {
		return;
	}
	if (a->dirfd >= 0) {
		close(a->dirfd);
	}
	if (a->fd >= 0 && a->fd_owned) {
		close(a->fd);
	}
	free(a->members);
	arena_free(&a->ar);
	free(a);
}

/* Member names: components without "" or "."; ".." pops one (and may not
 * leave the archive). -1 when the name escapes or does not fit. */
static int norm_member(const char *in, char *out, size_t size)
{
	size_t len = 0;
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
			if (len == 0) {
				return -1;
			}
			while (len > 0 && out[len - 1] != '/') {
				len--;
			}
			if (len > 0) {
				len--;
			}
			s = next;
			continue;
		}
		if (len + (len > 0) + clen + 1 > size) {
			return -1;
		}
		if (len > 0) {
			out[len++] = '/';
		}
		memcpy(out + len, s, clen);
		len += clen;
		s = next;
	}
	out[len] = '\0';
	return len > 0 ? 0 : -1;
}

/* ---- reading a file by offset ------------------------------------------------ */

struct pread_src {
	int fd;
	uint64_t pos;
	uint64_t end; /* UINT64_MAX: to the end of the file */
	const char *what;
};

static ssize_t pread_read(void *ctx, void *buf, size_t len, struct berr *err)
{
	struct pread_src *s = ctx;
	if (s->end != UINT64_MAX && len > s->end - s->pos) {
		len = (size_t)(s->end - s->pos);
	}
	if (len == 0) {
		return 0;
	}
	ssize_t n;
	do {
		n = pread(s->fd, buf, len, (off_t)s->pos);
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		return berr_set(err, errno, "read %s", s->what);
	}
	if (n == 0 && s->end != UINT64_MAX) {
		return berr_setx(err, EINVAL, "read %s: the archive is truncated", s->what);
	}
	s->pos += (uint64_t)n;
	return n;
}

static int pread_skip(void *ctx, uint64_t len, struct berr *err)
{
	struct pread_src *s = ctx;
	if (len > UINT64_MAX - s->pos) {
		return berr_setx(err, EINVAL, "%s: bad offset", s->what);
	}
	s->pos += len;
	return 0;
}

static ssize_t fd_read(void *ctx, void *buf, size_t len, struct berr *err)
{
	struct pread_src *s = ctx;
	ssize_t n;
	do {
		n = read(s->fd, buf, len);
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		return berr_set(err, errno, "read %s", s->what);
	}
	return n;
}

/* ---- tar archives -------------------------------------------------------------- */

static int member_cmp(const void *pa, const void *pb)
{
	const struct member *a = pa;
	const struct member *b = pb;
	int c = strcmp(a->name, b->name);
	if (c != 0) {
		return c;
	}
	return a->order < b->order ? -1 : a->order > b->order;
}

static int add_member(struct archive *a, size_t *cap, const struct tar_entry *e, uint64_t offset, struct berr *err)
{
	char name[TAR_PATH_MAX + 1];
	if (norm_member(e->path, name, sizeof(name)) < 0) {
		return 0; /* names outside the archive cannot be referred to */
	}
	if (a->nmembers == ARCHIVE_MAX_MEMBERS) {
		return berr_setx(err, EFBIG, "%s: more than %d files", a->name, ARCHIVE_MAX_MEMBERS);
	}
	if (a->nmembers == *cap) {
		size_t ncap = *cap == 0 ? 64 : *cap * 2;
		struct member *m = realloc(a->members, ncap * sizeof(*m));
		if (m == NULL) {
			return berr_set(err, ENOMEM, "%s", a->name);
		}
		a->members = m;
		*cap = ncap;
	}
	struct member *m = &a->members[a->nmembers];
	memset(m, 0, sizeof(*m));
	m->name = arena_strdup(&a->ar, name);
	if (e->type == TAR_SYMLINK || e->type == TAR_HARDLINK) {
		m->link = arena_strdup(&a->ar, e->linkpath);
		m->symlink = e->type == TAR_SYMLINK;
		if (m->link == NULL) {
			return berr_set(err, ENOMEM, "%s", a->name);
		}
	}
	if (m->name == NULL) {
		return berr_set(err, ENOMEM, "%s", a->name);
	}
	m->offset = offset;
	m->size = e->size;
	m->order = a->nmembers;
	a->nmembers++;
	return 0;
}

/* Lists the files of a plain tar (headers only: data is skipped over).
 * 1 when the file is compressed: members cannot be read in place. */
static int scan_tar(struct archive *a, struct berr *err)
{
	struct pread_src src = {a->fd, a->base, UINT64_MAX, a->name};
	struct dstream_source ds = {pread_read, pread_skip, &src};
	struct dstream *d = NULL;
	struct tar_reader *t = NULL;
	size_t cap = 0;
	int ret = dstream_open(&d, &ds, DSTREAM_NO_DIGEST, 0, err);
	if (ret == 0 && dstream_kind(d) != DSTREAM_PLAIN) {
		dstream_close(d);
		return 1;
	}
	if (ret == 0) {
		ret = tar_open(&t, d, err);
	}
	while (ret == 0) {
		const struct tar_entry *e;
		ret = tar_next(t, &e, err);
		if (ret <= 0) {
			break;
		}
		ret = 0;
		if (e->type == TAR_REG || e->type == TAR_SYMLINK || e->type == TAR_HARDLINK) {
			ret = add_member(a, &cap, e, a->base + tar_data_offset(t), err);
		}
	}
	tar_close(t);
	dstream_close(d);
	if (ret < 0) {
		return berr_prefix(err, "%s", a->name);
	}
	if (a->nmembers > 0) {
		qsort(a->members, a->nmembers, sizeof(*a->members), member_cmp);
		/* Keep the last of each name, as extracting the tar would. */
		size_t out = 0;
		for (size_t i = 0; i < a->nmembers; i++) {
			if (i + 1 < a->nmembers && strcmp(a->members[i].name, a->members[i + 1].name) == 0) {
				continue;
			}
			a->members[out++] = a->members[i];
		}
		a->nmembers = out;
	}
	return 0;
}

static const struct member *find_member(const struct archive *a, const char *name)
{
	size_t lo = 0;
	size_t hi = a->nmembers;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(name, a->members[mid].name);
		if (c == 0) {
			return &a->members[mid];
		}
		if (c < 0) {
			hi = mid;
		} else {
			lo = mid + 1;
		}
	}
	return NULL;
}

/* Follows links inside the tar (`docker save` links layers it has already
 * written) to a regular file. */
static int resolve_member(const struct archive *a, const char *name, const struct member **out, struct berr *err)
{
	char cur[TAR_PATH_MAX + 1];
	if (norm_member(name, cur, sizeof(cur)) < 0) {
		return berr_setx(err, ENOENT, "%s: bad member name '%.200s'", a->name, name);
	}
	for (int hop = 0; hop <= MAX_LINK_HOPS; hop++) {
		const struct member *m = find_member(a, cur);
		if (m == NULL) {
			return berr_setx(err, ENOENT, "%s: no file '%.200s' in the archive", a->name, cur);
		}
		if (m->link == NULL) {
			*out = m;
			return 0;
		}
		char joined[2 * TAR_PATH_MAX + 2];
		const char *slash = strrchr(cur, '/');
		if (m->symlink && m->link[0] != '/' && slash != NULL) {
			/* Relative to the link's directory. */
			(void)strfmt(joined, sizeof(joined), "%.*s/%s", (int)(slash - cur), cur, m->link);
		} else {
			/* Hard links name archive paths; absolute symlinks are taken
			 * from the archive's root. */
			(void)strfmt(joined, sizeof(joined), "%s", m->link);
		}
		if (norm_member(joined, cur, sizeof(cur)) < 0) {
			return berr_setx(err, ENOENT, "%s: link '%.200s' points outside the archive", a->name, m->name);
		}
	}
	return berr_setx(err, ELOOP, "%s: too many links from '%.200s'", a->name, name);
}

/* Copies a stream that cannot be read twice (or is compressed as a
 * whole) into an anonymous file on DATA: it disappears with its fd. */
static int spool(struct archive *a, int in, int tmpfd, struct berr *err)
{
	auto_close int out = openat(tmpfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (out < 0) {
		return berr_set(err, errno, "create a temporary file for %s", a->name);
	}
	struct pread_src src = {in, 0, UINT64_MAX, a->name};
	struct dstream_source ds = {fd_read, NULL, &src};
	struct dstream *d = NULL;
	auto_free uint8_t *buf = malloc(SPOOL_BUF);
	if (buf == NULL) {
		return berr_set(err, ENOMEM, "%s", a->name);
	}
	int ret = dstream_open(&d, &ds, DSTREAM_NO_DIGEST, 0, err);
	while (ret == 0) {
		ssize_t n = dstream_read(d, buf, SPOOL_BUF, err);
		if (n <= 0) {
			ret = (int)n;
			break;
		}
		for (ssize_t done = 0; done < n;) {
			ssize_t w = write(out, buf + done, (size_t)(n - done));
			if (w < 0 && errno == EINTR) {
				continue;
			}
			if (w < 0) {
				ret = berr_set(err, errno, "write the temporary copy of %s", a->name);
				break;
			}
			done += w;
		}
	}
	dstream_close(d);
	if (ret < 0) {
		return berr_prefix(err, "%s", a->name);
	}
	a->fd = take_fd(&out);
	a->fd_owned = 1;
	a->base = 0;
	return 0;
}

/* fd is read in place when it is a plain tar in a file; anything else
 * (a pipe, a compressed tar) is spooled first. owned: close fd when done
 * with it. */
static int open_tar(struct archive *a, int fd, int owned, int tmpfd, struct berr *err)
{
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int ret = berr_set(err, errno, "stat %s", a->name);
		if (owned) {
			close(fd);
		}
		return ret;
	}
	if (S_ISDIR(st.st_mode)) {
		if (owned) {
			close(fd);
		}
		return berr_setx(err, EISDIR, "%s is a directory (give its path)", a->name);
	}
	off_t pos = S_ISREG(st.st_mode) ? lseek(fd, 0, SEEK_CUR) : -1;
	if (pos >= 0) {
		a->fd = fd;
		a->fd_owned = owned;
		a->base = (uint64_t)pos;
		int ret = scan_tar(a, err);
		if (ret <= 0) {
			return ret;
		}
		/* Compressed: spooled from the same offset (scan used pread). */
		a->fd = -1;
		a->fd_owned = 0;
	}
	int ret = spool(a, fd, tmpfd, err);
	if (owned) {
		close(fd);
	}
	if (ret == 0) {
		ret = scan_tar(a, err);
	}
	if (ret == 1) {
		return berr_setx(err, EINVAL, "%s: compressed twice", a->name);
	}
	return ret;
}

int archive_open_fd(struct archive **out, int fd, const char *name, int tmpfd, struct berr *err)
{
	*out = NULL;
	struct archive *a = archive_new(name);
	if (a == NULL) {
		return berr_set(err, ENOMEM, "%s", name);
	}
	int ret = open_tar(a, fd, 0, tmpfd, err);
	if (ret < 0) {
		archive_close(a);
		return ret;
	}
	*out = a;
	return 0;
}

int archive_open_path(struct archive **out, const char *path, int tmpfd, struct berr *err)
{
	*out = NULL;
	struct archive *a = archive_new(path);
	if (a == NULL) {
		return berr_set(err, ENOMEM, "%s", path);
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		int ret = berr_set(err, errno, "open %s", path);
		archive_close(a);
		return ret;
	}
	struct stat st;
	int ret = 0;
	if (fstat(fd, &st) < 0) {
		ret = berr_set(err, errno, "stat %s", path);
		close(fd);
	} else if (S_ISDIR(st.st_mode)) {
		a->dirfd = fd;
	} else {
		ret = open_tar(a, fd, 1, tmpfd, err);
	}
	if (ret < 0) {
		archive_close(a);
		return ret;
	}
	*out = a;
	return 0;
}

/* ---- members ------------------------------------------------------------------ */

static int open_dir_member(struct archive *a, const char *name, struct archive_member *m, struct berr *err)
{
	char norm[TAR_PATH_MAX + 1];
	if (norm_member(name, norm, sizeof(norm)) < 0) {
		return berr_setx(err, ENOENT, "%s: bad member name '%.200s'", a->name, name);
	}
	/* Symlinks inside the layout are followed, never out of it. */
	struct open_how how = {
		.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
	};
	int fd = (int)syscall(SYS_openat2, a->dirfd, norm, &how, sizeof(how));
	if (fd < 0) {
		if (errno == ENOENT) {
			return berr_setx(err, ENOENT, "%s: no file '%.200s'", a->name, norm);
		}
		return berr_set(err, errno, "%s: open '%.200s'", a->name, norm);
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return berr_setx(err, EINVAL, "%s: '%.200s' is not a regular file", a->name, norm);
	}
	m->fd = fd;
	m->owned = 1;
	m->offset = 0;
	m->size = (uint64_t)st.st_size;
	return 0;
}

int archive_member_open(struct archive *a, const char *member, struct archive_member *m, struct berr *err)
{
	memset(m, 0, sizeof(*m));
	m->fd = -1;
	m->name = member;
	if (a->dirfd >= 0) {
		return open_dir_member(a, member, m, err);
	}
	const struct member *mem;
	int ret = resolve_member(a, member, &mem, err);
	if (ret < 0) {
		return ret;
	}
	m->fd = a->fd;
	m->offset = mem->offset;
	m->size = mem->size;
	return 0;
}

void archive_member_close(struct archive_member *m)
{
	if (m->owned && m->fd >= 0) {
		close(m->fd);
	}
	m->fd = -1;
}

static ssize_t member_read(void *ctx, void *buf, size_t len, struct berr *err)
{
	struct archive_member *m = ctx;
	if (len > m->size - m->pos) {
		len = (size_t)(m->size - m->pos);
	}
	if (len == 0) {
		return 0;
	}
	ssize_t n;
	do {
		n = pread(m->fd, buf, len, (off_t)(m->offset + m->pos));
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		return berr_set(err, errno, "read %s", m->name);
	}
	if (n == 0) {
		return berr_setx(err, EINVAL, "read %s: file is shorter than expected", m->name);
	}
	m->pos += (uint64_t)n;
	return n;
}

void archive_member_source(struct archive_member *m, struct dstream_source *src)
{
	src->read = member_read;
	src->skip = NULL;
	src->ctx = m;
}

int archive_read(struct archive *a, const char *member, size_t max, char **data, size_t *len, struct berr *err)
{
	*data = NULL;
	*len = 0;
	struct archive_member m;
	int ret = archive_member_open(a, member, &m, err);
	if (ret < 0) {
		return ret;
	}
	if (m.size > max) {
		archive_member_close(&m);
		return berr_setx(err, EFBIG, "%s: '%.200s' is larger than %zu bytes", a->name, member, max);
	}
	char *buf = malloc((size_t)m.size + 1);
	if (buf == NULL) {
		archive_member_close(&m);
		return berr_set(err, ENOMEM, "%s", a->name);
	}
	size_t done = 0;
	while (done < m.size) {
		ssize_t n = member_read(&m, buf + done, (size_t)m.size - done, err);
		if (n < 0) {
			archive_member_close(&m);
			free(buf);
			return (int)n;
		}
		done += (size_t)n;
	}
	archive_member_close(&m);
	buf[done] = '\0';
	*data = buf;
	*len = done;
	return 0;
}

static int member_exists(struct archive *a, const char *name)
{
	struct archive_member m;
	if (archive_member_open(a, name, &m, NULL) < 0) {
		return 0;
	}
	archive_member_close(&m);
	return 1;
}

/* ---- images ------------------------------------------------------------------- */

struct collect {
	struct archive *a;
	struct arena *ar;
	struct archive_image *imgs;
	size_t nimgs;
	char seen_platforms[256]; /* for the message when none matches */
	struct berr *err;
};

static void blob_member(const char *digest, char *out, size_t size)
{
	/* Checked digests only: "sha256:<hex>" -> "blobs/sha256/<hex>". */
	(void)strfmt(out, size, "blobs/sha256/%s", digest + 7);
}

/* Reads a blob of the layout and checks it against its descriptor. */
static int read_blob(struct collect *c, const struct imgjson_descriptor *d, char **data, size_t *len)
{
	char member[96];
	blob_member(d->digest, member, sizeof(member));
	if (d->size > IMGJSON_MAX_DOC) {
		return berr_setx(c->err, EFBIG, "%s: %s is %llu bytes, more than a manifest may be", c->a->name,
				 d->digest, (unsigned long long)d->size);
	}
	int ret = archive_read(c->a, member, IMGJSON_MAX_DOC, data, len, c->err);
	if (ret < 0) {
		return ret;
	}
	char hex[SHA256_HEX_LEN + 1];
	sha256_hex(*data, *len, hex);
	if (*len != d->size || strcmp(hex, d->digest + 7) != 0) {
		free(*data);
		*data = NULL;
		if (*len != d->size) {
			return berr_setx(c->err, EINVAL, "%s: blob %s is %zu bytes, its descriptor says %llu",
					 c->a->name, d->digest, *len, (unsigned long long)d->size);
		}
		return berr_setx(c->err, EINVAL, "%s: blob %s does not match its digest (content is sha256:%s)",
				 c->a->name, d->digest, hex);
	}
	return 0;
}

static int add_name(struct collect *c, struct archive_image *img, const char *raw, const char *source)
{
	char canon[IMGREF_MAX];
	int ret = imgref_normalize(raw, canon, sizeof(canon), c->err);
	if (ret < 0) {
		return berr_prefix(c->err, "%s: %s", c->a->name, source);
	}
	for (size_t i = 0; i < img->nnames; i++) {
		if (strcmp(img->names[i], canon) == 0) {
			return 0;
		}
	}
	const char **names = arena_alloc(c->ar, (img->nnames + 1) * sizeof(*names));
	const char *copy = arena_strdup(c->ar, canon);
	if (names == NULL || copy == NULL) {
		return berr_set(c->err, ENOMEM, "%s", c->a->name);
	}
	if (img->nnames > 0) {
		memcpy(names, img->names, img->nnames * sizeof(*names));
	}
	names[img->nnames++] = copy;
	img->names = names;
	return 0;
}

/* The names a descriptor's annotations give. org.opencontainers.image.ref.name
 * is often only a tag ("latest", "1.36"): such a value names no repository
 * and is ignored; a full reference, or a bare repository name, is taken. */
static int descriptor_names(struct collect *c, struct archive_image *img, const struct imgjson_descriptor *d)
{
	if (d->image_name != NULL) {
		return add_name(c, img, d->image_name, "annotation io.containerd.image.name");
	}
	const char *r = d->ref_name;
	if (r == NULL || r[0] == '\0') {
		return 0;
	}
	int only_tag = strchr(r, '/') == NULL && strchr(r, ':') == NULL &&
		       (strcmp(r, "latest") == 0 || (r[0] >= '0' && r[0] <= '9') ||
			(r[0] == 'v' && r[1] >= '0' && r[1] <= '9'));
	if (only_tag) {
		return 0;
	}
	return add_name(c, img, r, "annotation org.opencontainers.image.ref.name");
}

static int new_image(struct collect *c, struct archive_image **out)
{
	if (c->nimgs == ARCHIVE_MAX_IMAGES) {
		return berr_setx(c->err, EFBIG, "%s: more than %d images", c->a->name, ARCHIVE_MAX_IMAGES);
	}
	struct archive_image *imgs = arena_alloc(c->ar, (c->nimgs + 1) * sizeof(*imgs));
	if (imgs == NULL) {
		return berr_set(c->err, ENOMEM, "%s", c->a->name);
	}
	if (c->nimgs > 0) {
		memcpy(imgs, c->imgs, c->nimgs * sizeof(*imgs));
	}
	c->imgs = imgs;
	*out = &imgs[c->nimgs++];
	return 0;
}

static int platform_ok(const struct imgjson_descriptor *d)
{
	if (!d->has_platform) {
		return 1;
	}
	return strcmp(d->os, "linux") == 0 && strcmp(d->architecture, archive_host_arch()) == 0;
}

static void note_platform(struct collect *c, const struct imgjson_descriptor *d)
{
	size_t len = strlen(c->seen_platforms);
	if (!d->has_platform || len + 80 > sizeof(c->seen_platforms)) {
		return;
	}
	(void)strfmt(c->seen_platforms + len, sizeof(c->seen_platforms) - len, "%s%.30s/%.30s", len > 0 ? ", " : "",
		     d->os, d->architecture);
}

static int collect_descriptor(struct collect *c, const struct imgjson_descriptor *d,
			      const struct imgjson_descriptor *named, int depth);

static int collect_manifest(struct collect *c, const struct imgjson_descriptor *d,
			    const struct imgjson_descriptor *named)
{
	auto_free char *data = NULL;
	size_t len;
	int ret = read_blob(c, d, &data, &len);
	if (ret < 0) {
		return ret;
	}
	char what[PATH_MAX + 100];
	(void)strfmt(what, sizeof(what), "%s: manifest %s", c->a->name, d->digest);
	struct imgjson_manifest man;
	ret = imgjson_parse_manifest(data, len, what, c->ar, &man, c->err);
	if (ret < 0) {
		return ret;
	}
	struct archive_image *img;
	ret = new_image(c, &img);
	if (ret < 0) {
		return ret;
	}
	char member[96];
	blob_member(man.config.digest, member, sizeof(member));
	img->config_member = arena_strdup(c->ar, member);
	memcpy(img->config_digest, man.config.digest, sizeof(img->config_digest));
	img->config_size = man.config.size;
	memcpy(img->manifest_digest, d->digest, sizeof(img->manifest_digest));
	img->layers = arena_alloc(c->ar, (man.nlayers + 1) * sizeof(*img->layers));
	if (img->config_member == NULL || img->layers == NULL) {
		return berr_set(c->err, ENOMEM, "%s", c->a->name);
	}
	for (size_t i = 0; i < man.nlayers; i++) {
		struct archive_layer *l = &img->layers[i];
		blob_member(man.layers[i].digest, member, sizeof(member));
		l->member = arena_strdup(c->ar, member);
		if (l->member == NULL) {
			return berr_set(c->err, ENOMEM, "%s", c->a->name);
		}
		memcpy(l->digest, man.layers[i].digest, sizeof(l->digest));
		l->size = man.layers[i].size;
	}
	img->nlayers = man.nlayers;
	ret = descriptor_names(c, img, named);
	if (ret == 0 && named != d) {
		ret = descriptor_names(c, img, d);
	}
	return ret;
}

/* A nested index (a multi-platform image): the one image for this host. */
static int collect_index(struct collect *c, const struct imgjson_descriptor *d, const struct imgjson_descriptor *named,
			 int depth)
{
	auto_free char *data = NULL;
	size_t len;
	int ret = read_blob(c, d, &data, &len);
	if (ret < 0) {
		return ret;
	}
	char what[PATH_MAX + 100];
	(void)strfmt(what, sizeof(what), "%s: index %s", c->a->name, d->digest);
	struct imgjson_index idx;
	ret = imgjson_parse_index(data, len, what, c->ar, &idx, c->err);
	if (ret < 0) {
		return ret;
	}
	(void)strfmt(what, sizeof(what), "%s: %s", c->a->name, d->digest);
	ret = imgjson_select_platform(&idx, archive_host_arch(), what, c->err);
	if (ret < 0) {
		return ret;
	}
	return collect_descriptor(c, &idx.manifests[ret], named, depth + 1);
}

static int collect_descriptor(struct collect *c, const struct imgjson_descriptor *d,
			      const struct imgjson_descriptor *named, int depth)
{
	if (depth > MAX_INDEX_DEPTH) {
		return berr_setx(c->err, ELOOP, "%s: indexes nested more than %d deep", c->a->name, MAX_INDEX_DEPTH);
	}
	if (d->kind == IMGJSON_INDEX) {
		return collect_index(c, d, named, depth);
	}
	if (d->kind == IMGJSON_MANIFEST) {
		return collect_manifest(c, d, named);
	}
	return berr_setx(c->err, ENOTSUP, "%s: %s has media type '%.100s', not an image manifest or index", c->a->name,
			 d->digest, d->media_type);
}

static int check_layout_version(struct collect *c)
{
	if (!member_exists(c->a, "oci-layout")) {
		return 0; /* some writers omit it; index.json says enough */
	}
	auto_free char *data = NULL;
	size_t len;
	int ret = archive_read(c->a, "oci-layout", 4096, &data, &len, c->err);
	if (ret < 0) {
		return ret;
	}
	/* {"imageLayoutVersion": "1.0.0"}: any 1.x is this format. */
	const char *v = strstr(data, "\"imageLayoutVersion\"");
	const char *q = v != NULL ? strchr(v + 20, '"') : NULL;
	if (q == NULL || strncmp(q, "\"1.", 3) != 0) {
		return berr_setx(c->err, ENOTSUP, "%s: oci-layout: unsupported image layout version", c->a->name);
	}
	return 0;
}

/* The digest a docker save member name promises: "blobs/sha256/<hex>"
 * (newer Docker) or "<hex>.json" (legacy configs); "" otherwise. */
static void digest_from_member(const char *member, char out[IMGJSON_DIGEST_SIZE])
{
	char norm[TAR_PATH_MAX + 1];
	out[0] = '\0';
	if (norm_member(member, norm, sizeof(norm)) < 0) {
		return;
	}
	const char *hex = NULL;
	size_t len = strlen(norm);
	if (len == 13 + 64 && strncmp(norm, "blobs/sha256/", 13) == 0) {
		hex = norm + 13;
	} else if (len == 64 + 5 && strcmp(norm + 64, ".json") == 0) {
		hex = norm;
	}
	if (hex == NULL || !imgref_is_hex(hex) || strspn(hex, "0123456789abcdef") < 64) {
		return;
	}
	(void)strfmt(out, IMGJSON_DIGEST_SIZE, "sha256:%.64s", hex);
}

static int docker_image(struct collect *c, const struct imgjson_docker_image *di, struct archive_image **out)
{
	struct archive_image *img;
	int ret = new_image(c, &img);
	if (ret < 0) {
		return ret;
	}
	img->config_member = di->config;
	digest_from_member(di->config, img->config_digest);
	img->config_size = ARCHIVE_SIZE_UNKNOWN;
	img->layers = arena_alloc(c->ar, (di->nlayers + 1) * sizeof(*img->layers));
	if (img->layers == NULL) {
		return berr_set(c->err, ENOMEM, "%s", c->a->name);
	}
	for (size_t i = 0; i < di->nlayers; i++) {
		img->layers[i].member = di->layers[i];
		digest_from_member(di->layers[i], img->layers[i].digest);
		img->layers[i].size = ARCHIVE_SIZE_UNKNOWN;
	}
	img->nlayers = di->nlayers;
	*out = img;
	return 0;
}

/* The config digest a manifest.json entry refers to: from the member
 * name when it says, else by hashing the member. */
static int docker_config_digest(struct collect *c, const char *member, char out[IMGJSON_DIGEST_SIZE])
{
	digest_from_member(member, out);
	if (out[0] != '\0') {
		return 0;
	}
	auto_free char *data = NULL;
	size_t len;
	int ret = archive_read(c->a, member, IMGJSON_MAX_DOC, &data, &len, c->err);
	if (ret < 0) {
		return ret;
	}
	char hex[SHA256_HEX_LEN + 1];
	sha256_hex(data, len, hex);
	(void)strfmt(out, IMGJSON_DIGEST_SIZE, "sha256:%s", hex);
	return 0;
}

/* manifest.json: the legacy form's only index, and the carrier of
 * RepoTags in the OCI form (matched to index.json's images by config). */
static int docker_manifest(struct collect *c, int have_oci)
{
	auto_free char *data = NULL;
	size_t len;
	int ret = archive_read(c->a, "manifest.json", IMGJSON_MAX_DOC, &data, &len, c->err);
	if (ret < 0) {
		return ret;
	}
	char what[PATH_MAX + 32];
	(void)strfmt(what, sizeof(what), "%s: manifest.json", c->a->name);
	struct imgjson_docker_image *di;
	size_t n;
	ret = imgjson_parse_docker_manifest(data, len, what, c->ar, &di, &n, c->err);
	if (ret < 0) {
		return ret;
	}
	size_t noci = c->nimgs;
	for (size_t i = 0; i < n; i++) {
		struct archive_image *img = NULL;
		if (have_oci) {
			char digest[IMGJSON_DIGEST_SIZE];
			ret = docker_config_digest(c, di[i].config, digest);
			if (ret < 0) {
				return ret;
			}
			for (size_t j = 0; j < noci && img == NULL; j++) {
				if (strcmp(c->imgs[j].config_digest, digest) == 0) {
					img = &c->imgs[j];
				}
			}
		}
		if (img == NULL) {
			ret = docker_image(c, &di[i], &img);
			if (ret < 0) {
				return ret;
			}
		}
		for (size_t t = 0; t < di[i].nrepo_tags; t++) {
			ret = add_name(c, img, di[i].repo_tags[t], "manifest.json RepoTags");
			if (ret < 0) {
				return ret;
			}
		}
	}
	return 0;
}

static int oci_index(struct collect *c)
{
	int ret = check_layout_version(c);
	if (ret < 0) {
		return ret;
	}
	auto_free char *data = NULL;
	size_t len;
	ret = archive_read(c->a, "index.json", IMGJSON_MAX_DOC, &data, &len, c->err);
	if (ret < 0) {
		return ret;
	}
	char what[PATH_MAX + 32];
	(void)strfmt(what, sizeof(what), "%s: index.json", c->a->name);
	struct imgjson_index idx;
	ret = imgjson_parse_index(data, len, what, c->ar, &idx, c->err);
	if (ret < 0) {
		return ret;
	}
	/* Every entry is an image (one per tag), except attestations and
	 * images for other platforms. */
	for (size_t i = 0; i < idx.nmanifests; i++) {
		const struct imgjson_descriptor *d = &idx.manifests[i];
		if (d->attestation) {
			continue;
		}
		if (!platform_ok(d)) {
			note_platform(c, d);
			continue;
		}
		ret = collect_descriptor(c, d, d, 0);
		if (ret < 0) {
			return ret;
		}
	}
	if (c->nimgs == 0 && !member_exists(c->a, "manifest.json")) {
		return berr_setx(c->err, ENOENT, "%s: no image for linux/%s (it has: %s)", c->a->name,
				 archive_host_arch(), c->seen_platforms[0] != '\0' ? c->seen_platforms : "none");
	}
	return 0;
}

int archive_images(struct archive *a, struct arena *ar, struct archive_image **out, size_t *n, struct berr *err)
{
	struct collect c = {.a = a, .ar = ar, .err = err};
	*out = NULL;
	*n = 0;
	int have_index = member_exists(a, "index.json");
	int have_manifest = member_exists(a, "manifest.json");
	if (!have_index && !have_manifest) {
		return berr_setx(
			err, EINVAL,
			"%s: not an image archive (no index.json of an OCI layout, no manifest.json of docker save)",
			a->name);
	}
	int ret = 0;
	if (have_index) {
		ret = oci_index(&c);
	}
	if (ret == 0 && have_manifest) {
		ret = docker_manifest(&c, have_index);
	}
	if (ret < 0) {
		return ret;
	}
	if (c.nimgs == 0) {
		return berr_setx(err, ENOENT, "%s: the archive holds no image", a->name);
	}
	*out = c.imgs;
	*n = c.nimgs;
	return 0;
}
