/* berth cp (see cp.h). A copy is always a tar stream from a packer to an
 * unpacker, in one process pair here or across ssh: the packer names the
 * top entry after SRC's last component ("." for SRC/. : its contents);
 * the unpacker applies docker's rule for DEST (an existing directory
 * receives the top entry as it is named; anything else is the top entry
 * itself, renamed to DEST's last component). */
#include "cli/cp.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/client.h"
#include "cli/remote.h"
#include "image/dstream.h"
#include "image/tar.h"
#include "image/tarw.h"
#include "lib/cleanup.h"
#include "lib/fsutil.h"
#include "oci/paths.h"

#define CP_DEPTH_MAX 128
#define CP_ENTRIES_MAX 1000000

/* ---- the two ends' places ------------------------------------------------------------------------------- */

/* NAME:PATH (a container's) or a local path; "-" is a tar stream. */
struct place {
	char name[256]; /* the container; empty: this machine */
	const char *path;
};

static int parse_place(const char *arg, struct place *p)
{
	memset(p, 0, sizeof(*p));
	const char *colon = strchr(arg, ':');
	/* A local path with a colon is written ./a:b, as with docker. */
	if (colon != NULL && colon != arg && memchr(arg, '/', (size_t)(colon - arg)) == NULL && arg[0] != '.') {
		size_t n = (size_t)(colon - arg);
		if (n >= sizeof(p->name)) {
			return -1;
		}
		memcpy(p->name, arg, n);
		p->path = colon + 1;
		return p->path[0] != '\0' ? 0 : -1;
	}
	p->path = arg;
	return 0;
}

/* SRC's parent and last component; *contents when SRC ends in "/." or is
 * "/" (the directory's entries, not the directory). */
static void split(const char *src, char *parent, size_t psize, char *base, size_t bsize, int *contents)
{
	char buf[PATH_MAX];
	copy_string(buf, sizeof(buf), src);
	size_t n = strlen(buf);
	*contents = 0;
	if (n >= 2 && strcmp(buf + n - 2, "/.") == 0) {
		*contents = 1;
		buf[n - 2] = '\0';
		n -= 2;
	}
	while (n > 1 && buf[n - 1] == '/') {
		buf[--n] = '\0';
	}
	if (n == 0 || strcmp(buf, "/") == 0) {
		copy_string(parent, psize, "/");
		copy_string(base, bsize, ".");
		*contents = 1;
		return;
	}
	char *slash = strrchr(buf, '/');
	if (slash == NULL) {
		copy_string(parent, psize, ".");
		copy_string(base, bsize, buf);
	} else {
		*slash = '\0';
		copy_string(parent, psize, slash == buf ? "/" : buf);
		copy_string(base, bsize, slash + 1);
	}
}

/* ---- packing ------------------------------------------------------------------------------------------- */

struct packer {
	int out;
	uint64_t entries;
};

static int pack_at(struct packer *p, int dirfd, const char *name, const char *arcname, int depth, struct berr *err);

static int pack_dir(struct packer *p, int at, const char *name, const char *arcname, int depth, struct berr *err)
{
	int fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		return berr_set(err, errno, "open %s", arcname);
	}
	auto_closedir DIR *d = fdopendir(fd);
	if (d == NULL) {
		close(fd);
		return berr_set(err, errno, "read %s", arcname);
	}
	struct dirent *e;
	int ret = 0;
	while (ret == 0 && (e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
			continue;
		}
		char child[PATH_MAX];
		if (snprintf(child, sizeof(child), "%s/%s", arcname, e->d_name) >= (int)sizeof(child)) {
			return berr_setx(err, ENAMETOOLONG, "%s/%s: path too long", arcname, e->d_name);
		}
		ret = pack_at(p, dirfd(d), e->d_name, child, depth + 1, err);
	}
	return ret;
}

static int pack_at(struct packer *p, int dirfd, const char *name, const char *arcname, int depth, struct berr *err)
{
	struct stat st;
	if (depth > CP_DEPTH_MAX || ++p->entries > CP_ENTRIES_MAX) {
		return berr_setx(err, E2BIG, "%s: deeper than %d or more than %d entries", arcname, CP_DEPTH_MAX,
				 CP_ENTRIES_MAX);
	}
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		return berr_set(err, errno, "%s", arcname);
	}
	struct tarw_entry e = {.path = arcname,
			       .mode = st.st_mode & 07777,
			       .uid = st.st_uid,
			       .gid = st.st_gid,
			       .mtime = st.st_mtim.tv_sec};
	if (S_ISREG(st.st_mode)) {
		auto_close int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			return berr_set(err, errno, "open %s", arcname);
		}
		e.type = '0';
		e.size = (uint64_t)st.st_size;
		int ret = tarw_header(p->out, &e, err);
		return ret < 0 ? ret : tarw_copy(p->out, fd, e.size, arcname, err);
	}
	if (S_ISLNK(st.st_mode)) {
		char target[PATH_MAX];
		ssize_t n = readlinkat(dirfd, name, target, sizeof(target) - 1);
		if (n < 0) {
			return berr_set(err, errno, "readlink %s", arcname);
		}
		target[n] = '\0';
		e.type = '2';
		e.linkpath = target;
		return tarw_header(p->out, &e, err);
	}
	if (S_ISDIR(st.st_mode)) {
		e.type = '5';
		int ret = strcmp(arcname, ".") == 0 ? 0 : tarw_header(p->out, &e, err);
		return ret < 0 ? ret : pack_dir(p, dirfd, name, arcname, depth, err);
	}
	fprintf(stderr, "berth cp: %s: skipped (not a file, directory or symlink)\n", arcname);
	return 0;
}

/* A tar of src (inside root_fd, or on this machine when root_fd < 0) on
 * out: its top entry named after src's last component, or "." and its
 * entries for a directory's contents. */
static int pack(int root_fd, const char *src, int out, struct berr *err)
{
	char parent[PATH_MAX];
	char base[NAME_MAX + 1];
	int contents;
	split(src, parent, sizeof(parent), base, sizeof(base), &contents);
	auto_close int pfd = root_fd >= 0 ? root_open(root_fd, parent, O_PATH | O_DIRECTORY, 0, err)
					  : open(parent, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (pfd < 0) {
		return root_fd >= 0 ? pfd : berr_set(err, errno, "%s", parent);
	}
	struct packer p = {.out = out};
	int ret;
	if (contents) {
		/* The directory itself, a symlink to one followed inside the
		 * container's root (never outside it). */
		char dir[PATH_MAX];
		int dn = strcmp(base, ".") == 0 ? snprintf(dir, sizeof(dir), "%s", parent)
						: snprintf(dir, sizeof(dir), "%s/%s", parent, base);
		if (dn < 0 || (size_t)dn >= sizeof(dir)) {
			return berr_setx(err, ENAMETOOLONG, "%s: path too long", src);
		}
		auto_close int dfd = root_fd >= 0 ? root_open(root_fd, dir, O_PATH | O_DIRECTORY, 0, err)
						  : open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0) {
			return root_fd >= 0 ? dfd : berr_set(err, errno, "%s", dir);
		}
		struct tarw_entry top = {.type = '5', .path = ".", .mode = 0755};
		ret = tarw_header(out, &top, err);
		if (ret == 0) {
			ret = pack_dir(&p, dfd, ".", ".", 0, err);
		}
	} else {
		ret = pack_at(&p, pfd, base, base, 0, err);
	}
	return ret < 0 ? ret : tarw_end(out, err);
}

/* ---- unpacking ----------------------------------------------------------------------------------------- */

struct unpacker {
	int anchor;		/* the directory entries are made in */
	char top[NAME_MAX + 1]; /* the archive's top component ("" for a directory's contents) */
	int top_known;
	const char *rename; /* NULL: names as they are; else the top's new name */
};

static ssize_t fd_read(void *ctx, void *buf, size_t len, struct berr *err)
{
	int fd = *(int *)ctx;
	for (;;) {
		ssize_t n = read(fd, buf, len);
		if (n >= 0 || errno != EINTR) {
			return n >= 0 ? n : berr_set(err, errno, "read the archive");
		}
	}
}

/* An entry's path as it goes under the anchor, in out; -EINVAL for a path
 * that is absolute, has "..", or is outside the archive's top. */
static int entry_path(struct unpacker *u, const char *stored, char *out, size_t size, struct berr *err)
{
	char q[96];
	const char *p = stored;
	while (p[0] == '.' && p[1] == '/') {
		p += 2;
	}
	if (strcmp(p, ".") == 0) {
		p = "";
	}
	if (p[0] == '/') {
		return berr_setx(err, EINVAL, "archive entry %s: an absolute path", tar_quote(stored, q, sizeof(q)));
	}
	for (const char *c = p; *c != '\0';) {
		size_t n = strcspn(c, "/");
		if ((n == 2 && c[0] == '.' && c[1] == '.') || (n == 0 && c[0] == '/')) {
			return berr_setx(err, EINVAL, "archive entry %s: '..' or an empty component",
					 tar_quote(stored, q, sizeof(q)));
		}
		c += n + (c[n] == '/');
	}
	size_t first = strcspn(p, "/");
	int contents = stored[0] == '.' && (stored[1] == '\0' || stored[1] == '/');
	if (!u->top_known) {
		u->top_known = 1;
		if (!contents && first > 0 && first < sizeof(u->top)) {
			memcpy(u->top, p, first);
			u->top[first] = '\0';
		}
	}
	const char *rest = p; /* below the top */
	if (u->top[0] != '\0') {
		size_t t = strlen(u->top);
		if (strncmp(p, u->top, t) != 0 || (p[t] != '\0' && p[t] != '/')) {
			return berr_setx(err, EINVAL, "archive entry %s: not under its first entry %s",
					 tar_quote(stored, q, sizeof(q)), u->top);
		}
		rest = p + t + (p[t] == '/');
	}
	const char *top = u->rename != NULL ? u->rename : u->top;
	int n = top[0] == '\0' ? snprintf(out, size, "%s", rest)
			       : snprintf(out, size, "%s%s%s", top, rest[0] != '\0' ? "/" : "", rest);
	if (n < 0 || (size_t)n >= size) {
		return berr_setx(err, ENAMETOOLONG, "archive entry %s: path too long", tar_quote(stored, q, sizeof(q)));
	}
	return 0;
}

/* The directory that holds rel, made as needed; its last component in
 * *base. */
static int parent_of(struct unpacker *u, char *rel, const char **base, struct berr *err)
{
	char *slash = strrchr(rel, '/');
	if (slash == NULL) {
		*base = rel;
		int fd = fcntl(u->anchor, F_DUPFD_CLOEXEC, 3);
		return fd >= 0 ? fd : berr_set(err, errno, "dup");
	}
	*slash = '\0';
	*base = slash + 1;
	int fd = root_mkdir_p(u->anchor, rel, 0755, err);
	*slash = '/';
	return fd;
}

static int make_file(struct tar_reader *t, int parent, const char *base, const struct tar_entry *e, const char *rel,
		     struct berr *err)
{
	int flags = O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC;
	auto_close int fd = openat(parent, base, flags, 0600);
	if (fd < 0 && (errno == ELOOP || errno == EISDIR || errno == ETXTBSY)) {
		/* A symlink or another kind of file is in the way: replaced. */
		unlinkat(parent, base, 0);
		fd = openat(parent, base, flags | O_EXCL, 0600);
	}
	if (fd < 0) {
		return berr_set(err, errno, "create %s", rel);
	}
	static char buf[65536];
	for (;;) {
		ssize_t n = tar_read(t, buf, sizeof(buf), err);
		if (n < 0) {
			return (int)n;
		}
		if (n == 0) {
			break;
		}
		if (write_all(fd, buf, (size_t)n) < 0) {
			return berr_set(err, errno, "write %s", rel);
		}
	}
	/* setuid and setgid bits do not travel: a copy is not an install. */
	return fchmod(fd, e->mode & 01777) < 0 ? berr_set(err, errno, "chmod %s", rel) : 0;
}

static int make_entry(struct unpacker *u, struct tar_reader *t, const struct tar_entry *e, struct berr *err)
{
	char rel[PATH_MAX];
	int ret = entry_path(u, e->path, rel, sizeof(rel), err);
	if (ret < 0) {
		return ret;
	}
	if (rel[0] == '\0') {
		return 0; /* the anchor itself */
	}
	if (e->type == TAR_DIR) {
		auto_close int fd = root_mkdir_p(u->anchor, rel, 0755, err);
		return fd < 0 ? fd : 0;
	}
	const char *base;
	auto_close int parent = parent_of(u, rel, &base, err);
	if (parent < 0) {
		return parent;
	}
	if (e->type == TAR_REG) {
		return make_file(t, parent, base, e, rel, err);
	}
	if (e->type == TAR_SYMLINK) {
		unlinkat(parent, base, 0);
		return symlinkat(e->linkpath, parent, base) < 0 ? berr_set(err, errno, "symlink %s", rel) : 0;
	}
	fprintf(stderr, "berth cp: %s: skipped (not a file, directory or symlink)\n", rel);
	return 0;
}

/* Where dest is: an existing directory takes the archive's top as it is
 * named, anything else is the top renamed. */
static int open_dest(int root_fd, const char *dest, struct unpacker *u, struct berr *err)
{
	int fd = root_fd >= 0 ? root_open(root_fd, dest, O_PATH | O_DIRECTORY, 0, NULL)
			      : open(dest, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		u->rename = NULL;
		return fd;
	}
	char parent[PATH_MAX];
	static char base[NAME_MAX + 1];
	int contents;
	split(dest, parent, sizeof(parent), base, sizeof(base), &contents);
	if (contents) {
		return berr_setx(err, ENOENT, "%s: no such directory", dest);
	}
	fd = root_fd >= 0 ? root_open(root_fd, parent, O_PATH | O_DIRECTORY, 0, err)
			  : open(parent, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		return root_fd >= 0 ? fd : berr_set(err, errno, "%s", parent);
	}
	u->rename = base;
	return fd;
}

static int unpack_stream(struct unpacker *u, int in, struct berr *err);

static int unpack(int root_fd, const char *dest, int in, struct berr *err)
{
	struct unpacker u = {0};
	u.anchor = open_dest(root_fd, dest, &u, err);
	if (u.anchor < 0) {
		return u.anchor;
	}
	int ret = unpack_stream(&u, in, err);
	close(u.anchor);
	return ret;
}

int cp_unpack_at(int anchor, int in, struct berr *err)
{
	struct unpacker u = {.anchor = anchor};
	return unpack_stream(&u, in, err);
}

int cp_pack_contents(const char *dir, int out, struct berr *err)
{
	char src[PATH_MAX];
	if (snprintf(src, sizeof(src), "%s/.", dir) >= (int)sizeof(src)) {
		return berr_setx(err, ENAMETOOLONG, "%s: path too long", dir);
	}
	return pack(-1, src, out, err);
}

static int unpack_stream(struct unpacker *u, int in, struct berr *err)
{
	struct dstream_source src = {fd_read, NULL, &in};
	struct dstream *d = NULL;
	struct tar_reader *t = NULL;
	int ret = dstream_open(&d, &src, DSTREAM_NO_DIGEST, 0, err);
	if (ret == 0) {
		ret = tar_open(&t, d, err);
	}
	uint64_t count = 0;
	while (ret == 0) {
		const struct tar_entry *e;
		ret = tar_next(t, &e, err);
		if (ret <= 0) {
			break;
		}
		ret = ++count > CP_ENTRIES_MAX ? berr_setx(err, E2BIG, "more than %d entries", CP_ENTRIES_MAX)
					       : make_entry(u, t, e, err);
	}
	if (t != NULL) {
		tar_close(t);
	}
	if (d != NULL) {
		dstream_close(d);
	}
	return ret < 0 ? ret : 0;
}

/* ---- the command ---------------------------------------------------------------------------------------- */

static int usage(void)
{
	fprintf(stderr, "usage: berth cp NAME:SRC DEST|-\n"
			"       berth cp SRC|- NAME:DEST\n");
	return 1;
}

/* What a command line asks: the two places, whether the source is the
 * container's, and whether the side here is a stream (stdin or stdout). */
struct cp_plan {
	struct place src;
	struct place dst;
	int from_container;
	int streamed;
};

static int cp_plan(int argc, char **argv, struct cp_plan *p)
{
	if (argc != 3 || parse_place(argv[1], &p->src) < 0 || parse_place(argv[2], &p->dst) < 0) {
		usage();
		return -1;
	}
	p->from_container = p->src.name[0] != '\0';
	if (p->from_container == (p->dst.name[0] != '\0')) {
		fprintf(stderr, "berth cp: one of SRC and DEST is a container's NAME:PATH, the other a path here\n");
		return -1;
	}
	p->streamed = strcmp(p->from_container ? p->dst.path : p->src.path, "-") == 0;
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

/* Runs pack in a child writing to a pipe; returns the read end, *pid the
 * child's. */
static int pack_child(int root_fd, const char *src, pid_t *pid, struct berr *err)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		return berr_set(err, errno, "pipe");
	}
	*pid = fork();
	if (*pid < 0) {
		close(p[0]);
		close(p[1]);
		return berr_set(err, errno, "fork");
	}
	if (*pid == 0) {
		close(p[0]);
		struct berr e = {0};
		int ret = pack(root_fd, src, p[1], &e);
		if (ret < 0) {
			fprintf(stderr, "berth cp: %s\n", e.msg);
		}
		_exit(ret < 0 ? 1 : 0);
	}
	close(p[1]);
	return p[0];
}

static int child_status(pid_t pid)
{
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

static int fail(const struct berr *err)
{
	fprintf(stderr, "berth cp: %s\n", err->msg);
	return 1;
}

int cp_main(int argc, char **argv)
{
	struct cp_plan p;
	if (cp_plan(argc, argv, &p) < 0) {
		return 1;
	}
	struct berr err = {0};
	auto_close int root = client_container_root("cp", p.from_container ? p.src.name : p.dst.name, &err);
	if (root < 0) {
		return fail(&err);
	}
	if (p.streamed) {
		int ret = p.from_container ? pack(root, p.src.path, STDOUT_FILENO, &err)
					   : unpack(root, p.dst.path, STDIN_FILENO, &err);
		return ret < 0 ? fail(&err) : 0;
	}
	pid_t pid = -1;
	auto_close int r = pack_child(p.from_container ? root : -1, p.src.path, &pid, &err);
	if (r < 0) {
		return fail(&err);
	}
	int ret = unpack(p.from_container ? -1 : root, p.dst.path, r, &err);
	close(r);
	r = -1;
	int packed = child_status(pid);
	if (ret < 0) {
		return fail(&err);
	}
	return packed;
}

int cp_remote(const struct remote *rm, int argc, char **argv)
{
	struct cp_plan p;
	if (cp_plan(argc, argv, &p) < 0) {
		return 1;
	}
	if (p.streamed) {
		return remote_exec(rm, argc, argv, 0, 0); /* the stream is ours: stdin or stdout */
	}
	int from = p.from_container;
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0) {
		return fail(&(struct berr){.msg = "pipe failed"});
	}
	char dash[] = "-";
	char *av[3] = {argv[0], from ? argv[1] : dash, from ? dash : argv[2]};
	pid_t ssh = remote_spawn(rm, 3, av, from ? -1 : fds[0], from ? fds[1] : -1);
	close(from ? fds[1] : fds[0]);
	if (ssh < 0) {
		close(from ? fds[0] : fds[1]);
		return 1;
	}
	struct berr err = {0};
	int ret = from ? unpack(-1, p.dst.path, fds[0], &err) : pack(-1, p.src.path, fds[1], &err);
	close(from ? fds[0] : fds[1]);
	int status = remote_wait(ssh);
	if (ret < 0) {
		return fail(&err);
	}
	return status;
}
