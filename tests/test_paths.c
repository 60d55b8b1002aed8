/* Path resolution inside a container root: symlinks (absolute, relative,
 * chains of ..) never lead out of it, and what is created lands inside. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "oci/paths.h"

static char top[] = "/tmp/berth-test-paths.XXXXXX";
static char root[PATH_MAX];
static char outside[PATH_MAX];
static int root_fd = -1;

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (system(cmd) != 0) {
		fprintf(stderr, "failed: %s\n", cmd);
		exit(2);
	}
}

static int exists(const char *base, const char *rel)
{
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/%s", base, rel);
	struct stat st;
	return lstat(p, &st) == 0;
}

static void test_mkdir_through_symlinks_stays_inside(void)
{
	struct berr err;
	int fd = root_mkdir_p(root_fd, "/abs/escape1/a", 0755, &err);
	CHECK(fd >= 0);
	if (fd >= 0) {
		close(fd);
	}
	CHECK(exists(root, "escape1/a"));
	CHECK(!exists(outside, "escape1"));
	fd = root_mkdir_p(root_fd, "/rel/escape2", 0755, &err);
	CHECK(fd >= 0);
	if (fd >= 0) {
		close(fd);
	}
	/* rel is a dangling link (its target, taken inside the root, does not
	 * exist): the target is made inside the root. */
	CHECK(exists(root, "tmp"));
	CHECK(!exists(outside, "escape2"));
	fd = root_mkdir_p(root_fd, "../../../../escape3", 0755, &err);
	CHECK(fd >= 0);
	if (fd >= 0) {
		close(fd);
	}
	CHECK(exists(root, "escape3"));
}

static void test_open_resolves_inside(void)
{
	struct berr err;
	/* /abs -> "/" means the container's root: /abs/marker is root/marker. */
	int fd = root_open(root_fd, "/abs/marker", O_RDONLY, 0, &err);
	CHECK(fd >= 0);
	if (fd >= 0) {
		char buf[16] = {0};
		CHECK(read(fd, buf, sizeof(buf) - 1) > 0);
		CHECK_STR_CONTAINS(buf, "inside");
		close(fd);
	}
	fd = root_open(root_fd, "/proc-link/self/exe", O_RDONLY, 0, &err);
	CHECK(fd < 0);
}

static void test_mknode_file_and_dir(void)
{
	struct berr err;
	int fd = root_mknode(root_fd, "/abs/dev/console", 0, &err);
	CHECK(fd >= 0);
	if (fd >= 0) {
		struct stat st;
		CHECK(fstat(fd, &st) == 0 && S_ISREG(st.st_mode));
		close(fd);
	}
	CHECK(exists(root, "dev/console"));
	CHECK(!exists(outside, "dev"));
	/* An existing symlink as the final component resolves inside too:
	 * to the root's marker, not the host's. */
	fd = root_mknode(root_fd, "/marker-link", 0, &err);
	CHECK(fd >= 0);
	if (fd >= 0) {
		char p[64];
		char buf[16] = {0};
		snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
		int rfd = open(p, O_RDONLY | O_CLOEXEC);
		CHECK(rfd >= 0 && read(rfd, buf, sizeof(buf) - 1) > 0);
		CHECK_STR_CONTAINS(buf, "inside");
		if (rfd >= 0) {
			close(rfd);
		}
		close(fd);
	}
	CHECK(root_mknode(root_fd, "/x/..", 0, &err) < 0);
}

/* A dangling symlink as the final component of a file node: its target is
 * made, inside the root (crun's suite, mount-symlink-not-existing). */
static void test_mknode_through_a_dangling_symlink(void)
{
	struct berr err;
	sh("mkdir -p %s/etc && ln -s ../foo/bar/not/here %s/etc/not-existing && ln -s /%s/esc4 %s/abs-dangling && "
	   "ln -s loop2 %s/loop1 && ln -s loop1 %s/loop2",
	   root, root, outside + 1, root, root, root);
	int fd = root_mknode(root_fd, "/etc/not-existing", 0, &err);
	CHECK(fd >= 0);
	if (fd >= 0) {
		close(fd);
	}
	CHECK(exists(root, "foo/bar/not/here"));
	fd = root_mknode(root_fd, "/abs-dangling", 0, &err);
	CHECK(fd >= 0);
	if (fd >= 0) {
		close(fd);
	}
	CHECK(!exists(outside, "esc4"));
	char inside[sizeof(outside) + 8];
	snprintf(inside, sizeof(inside), "%s/esc4", outside + 1);
	CHECK(exists(root, inside));
	CHECK(root_mknode(root_fd, "/loop1", 0, &err) < 0);
}

int main(void)
{
	if (check_tmpdir(top) < 0) {
		return 2;
	}
	snprintf(root, sizeof(root), "%s/root", top);
	snprintf(outside, sizeof(outside), "%s/outside", top);
	sh("mkdir -p %s %s && echo inside > %s/marker && echo OUTSIDE > %s/marker", root, outside, root, outside);
	/* Links that would escape if followed on the host. */
	sh("ln -s / %s/abs && ln -s ../../../../../../%s %s/rel && ln -s /proc %s/proc-link && ln -s /marker "
	   "%s/marker-link",
	   root, outside + 1, root, root, root);
	root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	RUN(test_mkdir_through_symlinks_stays_inside);
	RUN(test_open_resolves_inside);
	RUN(test_mknode_file_and_dir);
	RUN(test_mknode_through_a_dangling_symlink);
	return check_summary();
}
