/* The image store, on the archives tests/fixtures/mkimages builds: every
 * archive form loads with its names and config, layers are shared, and
 * whiteouts are what overlayfs expects; every malicious layer is refused
 * naming its entry, with nothing written outside the store and nothing
 * left in tmp/; interrupted loads leave nothing half-visible; rmi and gc.
 * Runs as root (whiteouts, trusted.* xattrs, overlay mounts). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "image/overlay.h"
#include "image/store.h"

static char base[64];	 /* the test's temporary directory */
static char images[128]; /* what mkimages wrote */
static char busybox_id[80];
static char app_id[80];

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void fixture(char *out, size_t size, const char *name)
{
	snprintf(out, size, "%s/%s", images, name);
}

static int exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

/* Entries in a directory, "." and ".." aside; -1 if it cannot be read. */
static int count_entries(const char *path)
{
	DIR *d = opendir(path);
	if (d == NULL) {
		return -1;
	}
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
			n++;
		}
	}
	closedir(d);
	return n;
}

static int store_entries(const char *root, const char *sub)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", root, sub);
	return count_entries(path);
}

static void new_store_root(char *out, size_t size, const char *name)
{
	snprintf(out, size, "%s/%s", base, name);
}

static int has_name(const char **names, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(names[i], name) == 0) {
			return 1;
		}
	}
	return 0;
}

static int load(struct store *s, const char *fixture_name, struct arena *a, struct store_loaded **out, size_t *n,
		struct berr *err)
{
	char path[256];
	fixture(path, sizeof(path), fixture_name);
	berr_clear(err);
	int ret = store_load_path(s, path, a, out, n, err);
	if (ret < 0) {
		fprintf(stderr, "     load %s: %s\n", fixture_name, err->msg);
	}
	return ret;
}

static void read_ids(void)
{
	char path[256];
	fixture(path, sizeof(path), "ids.json");
	json_object *o = json_object_from_file(path);
	json_object *v;
	if (o != NULL && json_object_object_get_ex(o, "busybox", &v)) {
		snprintf(busybox_id, sizeof(busybox_id), "%s", json_object_get_string(v));
	}
	if (o != NULL && json_object_object_get_ex(o, "app", &v)) {
		snprintf(app_id, sizeof(app_id), "%s", json_object_get_string(v));
	}
	json_object_put(o);
}

/* ---- loading ----------------------------------------------------------------------- */

static int open_fds(void)
{
	return count_entries("/proc/self/fd");
}

static void test_load_every_form(void)
{
	int fds = open_fds();
	char root[128];
	new_store_root(root, sizeof(root), "forms");
	struct store *s;
	struct berr err = {0};
	CHECK_EQ_INT(store_open(&s, root, &err), 0);
	struct arena a = {0};
	struct store_loaded *l;
	size_t n;

	double t0 = now();
	CHECK_EQ_INT(load(s, "busybox-oci", &a, &l, &n, &err), 0);
	double t1 = now();
	printf("     busybox OCI layout (%s) loaded in %.1f ms\n", "0.55 MB layer, gzip", (t1 - t0) * 1000);
	CHECK(n == 1 && strcmp(l[0].id, busybox_id) == 0);
	CHECK(n == 1 && l[0].nlayers == 1 && l[0].new_layers == 1 && l[0].size > 500000);
	CHECK(n == 1 && has_name(l[0].names, l[0].nnames, "busybox:oci"));

	/* The same image as an OCI tar with a multi-platform index: shares
	 * the layer, picks amd64, never reads the arm64 blobs it lacks. */
	t0 = now();
	CHECK_EQ_INT(load(s, "busybox-oci.tar", &a, &l, &n, &err), 0);
	t1 = now();
	printf("     the same image again, as an OCI tar: %.1f ms\n", (t1 - t0) * 1000);
	CHECK(n == 1 && strcmp(l[0].id, busybox_id) == 0 && l[0].new_layers == 0);
	CHECK(n == 1 && l[0].nnames == 1 && strcmp(l[0].names[0], "busybox:1.36") == 0);

	/* Legacy docker save: two images, app's first layer a symlink. */
	CHECK_EQ_INT(load(s, "busybox-docker.tar", &a, &l, &n, &err), 0);
	CHECK_EQ_INT(n, 2);
	if (n == 2) {
		CHECK(strcmp(l[0].id, busybox_id) == 0 && has_name(l[0].names, l[0].nnames, "busybox:latest"));
		CHECK(strcmp(l[1].id, app_id) == 0 && has_name(l[1].names, l[1].nnames, "localhost/app:v1"));
		CHECK(l[1].nlayers == 2 && l[1].new_layers == 1);
	}

	/* Docker 25's form: names from index.json and manifest.json. */
	CHECK_EQ_INT(load(s, "busybox-docker-oci.tar", &a, &l, &n, &err), 0);
	CHECK(n == 1 && strcmp(l[0].id, busybox_id) == 0);
	CHECK(n == 1 && has_name(l[0].names, l[0].nnames, "busybox:stable"));
	CHECK(n == 1 && has_name(l[0].names, l[0].nnames, "mybox:latest"));

	CHECK_EQ_INT(load(s, "busybox-zstd", &a, &l, &n, &err), 0);
	CHECK(n == 1 && l[0].new_layers == 1 && has_name(l[0].names, l[0].nnames, "busybox-zstd:latest"));

	/* From a file descriptor: a file (read in place) ... */
	char path[256];
	fixture(path, sizeof(path), "busybox-docker-oci.tar");
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	CHECK_EQ_INT(store_load_fd(s, fd, "stdin", &a, &l, &n, &err), 0);
	CHECK(n == 1 && strcmp(l[0].id, busybox_id) == 0);
	close(fd);

	/* ... and a pipe carrying a gzip-compressed archive (spooled). */
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "gzip -c %s/busybox-docker.tar", images);
	FILE *p = popen(cmd, "re");
	CHECK(p != NULL);
	if (p != NULL) {
		berr_clear(&err);
		int ret = store_load_fd(s, fileno(p), "stdin", &a, &l, &n, &err);
		if (ret < 0) {
			fprintf(stderr, "     %s\n", err.msg);
		}
		CHECK_EQ_INT(ret, 0);
		CHECK_EQ_INT(n, 2);
		pclose(p);
	}

	/* A compressed archive by path: spooled, then read like the others. */
	snprintf(cmd, sizeof(cmd), "gzip -c %s/busybox-docker-oci.tar > %s/compressed.tar.gz", images, base);
	CHECK_EQ_INT(system(cmd), 0);
	snprintf(path, sizeof(path), "%s/compressed.tar.gz", base);
	CHECK_EQ_INT(store_load_path(s, path, &a, &l, &n, &err), 0);
	CHECK(n == 1 && strcmp(l[0].id, busybox_id) == 0);

	struct store_image_info *list;
	CHECK_EQ_INT(store_list(s, &a, &list, &n, &err), 0);
	CHECK_EQ_INT(n, 3);
	for (size_t i = 0; i < n; i++) {
		if (strcmp(list[i].id, busybox_id) == 0) {
			CHECK_EQ_INT(list[i].nnames, 5);
			CHECK(strcmp(list[i].created, "2024-01-02T03:04:05Z") == 0);
			CHECK(list[i].nlayers == 1 && list[i].size > 500000 && list[i].loaded > 0);
		}
	}
	CHECK_EQ_INT(store_entries(root, "layers"), 3);
	CHECK_EQ_INT(store_entries(root, "tmp"), 0);
	arena_free(&a);
	store_close(s);
	CHECK_EQ_INT(open_fds(), fds);
}

static void test_resolve_config_and_layers(void)
{
	char root[128];
	new_store_root(root, sizeof(root), "forms");
	struct store *s;
	struct berr err = {0};
	CHECK_EQ_INT(store_open(&s, root, &err), 0);
	struct arena a = {0};
	struct store_image img;
	CHECK_EQ_INT(store_resolve(s, "busybox", &a, &img, &err), 0);
	CHECK(strcmp(img.id, busybox_id) == 0 && strcmp(img.config.id, busybox_id) == 0);
	const struct image_config *c = &img.config;
	CHECK(c->nentrypoint == 2 && strcmp(c->entrypoint[0], "/bin/sh") == 0 && strcmp(c->entrypoint[1], "-c") == 0);
	CHECK(c->ncmd == 1 && strcmp(c->cmd[0], "echo hello") == 0);
	CHECK(c->nenv == 1 && strcmp(c->env[0], "PATH=/usr/sbin:/usr/bin:/sbin:/bin") == 0);
	CHECK(c->working_dir != NULL && strcmp(c->working_dir, "/tmp") == 0);
	CHECK(c->user != NULL && strcmp(c->user, "1000:1000") == 0);
	CHECK(c->stop_signal != NULL && strcmp(c->stop_signal, "SIGINT") == 0);
	CHECK(c->nvolumes == 1 && strcmp(c->volumes[0], "/data") == 0);
	CHECK(c->nexposed_ports == 2);
	CHECK(c->nlabels == 2);
	for (size_t i = 0; i < c->nlabels; i++) {
		if (strcmp(c->label_keys[i], "org.example.name") == 0) {
			CHECK(strcmp(c->label_values[i], "busybox") == 0);
		}
	}
	CHECK(c->has_healthcheck && c->healthcheck.ntest == 2 && strcmp(c->healthcheck.test[0], "CMD-SHELL") == 0);
	CHECK(c->healthcheck.interval_ns == 30000000000LL && c->healthcheck.timeout_ns == 5000000000LL);
	CHECK(c->healthcheck.start_period_ns == 1000000000LL && c->healthcheck.retries == 3);
	CHECK(img.nnames == 5 && has_name(img.names, img.nnames, "busybox:latest"));
	CHECK_EQ_INT(img.nlayers, 1);

	/* The layer's content, as the archive had it. */
	char path[512];
	struct stat st;
	struct stat bb;
	snprintf(path, sizeof(path), "%s/bin/busybox", img.layer_dirs[0]);
	CHECK(stat(path, &st) == 0 && stat("out/pkg/busybox/busybox", &bb) == 0 && st.st_size == bb.st_size);
	CHECK((st.st_mode & 07777) == 0755 && st.st_mtime == 1700000000);
	struct stat hard;
	snprintf(path, sizeof(path), "%s/bin/busybox-hardlink", img.layer_dirs[0]);
	CHECK(stat(path, &hard) == 0 && hard.st_ino == st.st_ino);
	snprintf(path, sizeof(path), "%s/bin/setuid-tool", img.layer_dirs[0]);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 04755);
	snprintf(path, sizeof(path), "%s/bin/setgid-tool", img.layer_dirs[0]);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 02755 && st.st_gid == 50);
	snprintf(path, sizeof(path), "%s/tmp", img.layer_dirs[0]);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 01777);
	snprintf(path, sizeof(path), "%s/home/user/owned", img.layer_dirs[0]);
	CHECK(stat(path, &st) == 0 && st.st_uid == 1000 && st.st_gid == 1000 && (st.st_mode & 0777) == 0640);
	snprintf(path, sizeof(path), "%s/run/fifo", img.layer_dirs[0]);
	CHECK(lstat(path, &st) == 0 && S_ISFIFO(st.st_mode));
	snprintf(path, sizeof(path), "%s/bin/sh", img.layer_dirs[0]);
	char target[64] = {0};
	CHECK(readlink(path, target, sizeof(target) - 1) == 7 && strcmp(target, "busybox") == 0);
	snprintf(path, sizeof(path), "%s/bin/cap-tool", img.layer_dirs[0]);
	char val[64];
	CHECK(getxattr(path, "user.berth", val, sizeof(val)) == 10 && memcmp(val, "test-value", 10) == 0);
	CHECK(getxattr(path, "security.capability", val, sizeof(val)) == 20);
	CHECK(getxattr(path, "trusted.evil", val, sizeof(val)) < 0);
	CHECK(getxattr(path, "user.overlay.redirect", val, sizeof(val)) < 0);
	snprintf(path, sizeof(path), "%s/usr/share", img.layer_dirs[0]);
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "test $(find %s -name 'pax-*.txt' -o -name 'gnu-*.txt' | wc -l) = 2", path);
	CHECK_EQ_INT(system(cmd), 0);
	/* Layer directories have short names (lowerdir strings stay short). */
	const char *dir = strstr(img.layer_dirs[0], "/layers/");
	CHECK(dir != NULL && strlen(dir) == strlen("/layers/") + 16 + 3);

	/* Other references to the same image. */
	struct store_image other;
	const char *refs[] = {"busybox:latest",
			      "docker.io/library/busybox:1.36",
			      "index.docker.io/library/busybox",
			      busybox_id,
			      busybox_id + 7,
			      "mybox"};
	char prefix[20];
	snprintf(prefix, sizeof(prefix), "%.12s", busybox_id + 7);
	for (size_t i = 0; i < sizeof(refs) / sizeof(refs[0]); i++) {
		CHECK_EQ_INT(store_resolve(s, refs[i], &a, &other, &err), 0);
		CHECK(strcmp(other.id, busybox_id) == 0);
	}
	CHECK_EQ_INT(store_resolve(s, prefix, &a, &other, &err), 0);
	CHECK(strcmp(other.id, busybox_id) == 0);
	prefix[11] = '\0';
	CHECK(store_resolve(s, prefix, &a, &other, &err) < 0);
	CHECK(store_resolve(s, "nosuch:tag", &a, &other, &err) == -ENOENT);
	CHECK_STR_CONTAINS(err.msg, "no image \"nosuch:tag\"");
	CHECK(store_resolve(s, "busybox@sha256:0000", &a, &other, &err) < 0);

	/* app shares busybox's layer, below its own. */
	struct store_image app;
	CHECK_EQ_INT(store_resolve(s, "localhost/app:v1", &a, &app, &err), 0);
	CHECK(app.nlayers == 2 && strcmp(app.layer_dirs[0], img.layer_dirs[0]) == 0);
	snprintf(path, sizeof(path), "%s/etc/app.conf", app.layer_dirs[1]);
	CHECK(exists(path));
	CHECK(app.config.nenv == 2 && strcmp(app.config.env[1], "APP=1") == 0);

	/* zstd layer. */
	struct store_image z;
	CHECK_EQ_INT(store_resolve(s, "busybox-zstd", &a, &z, &err), 0);
	snprintf(path, sizeof(path), "%s/zstd-marker", z.nlayers == 1 ? z.layer_dirs[0] : "/nonexistent");
	CHECK(exists(path));
	arena_free(&a);
	store_close(s);
}

/* ---- whiteouts and overlay ---------------------------------------------------------- */

static void test_whiteouts_and_overlay(void)
{
	char root[128];
	new_store_root(root, sizeof(root), "whiteout");
	struct store *s;
	struct berr err = {0};
	CHECK_EQ_INT(store_open(&s, root, &err), 0);
	struct arena a = {0};
	struct store_loaded *l;
	size_t n;
	CHECK_EQ_INT(load(s, "whiteout", &a, &l, &n, &err), 0);
	struct store_image img;
	CHECK_EQ_INT(store_resolve(s, "whiteout:test", &a, &img, &err), 0);
	CHECK_EQ_INT(img.nlayers, 2);
	if (img.nlayers != 2) {
		arena_free(&a);
		store_close(s);
		return;
	}
	const char *top = img.layer_dirs[1];
	char path[512];
	struct stat st;
	snprintf(path, sizeof(path), "%s/del", top);
	CHECK(lstat(path, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0));
	snprintf(path, sizeof(path), "%s/dir/a", top);
	CHECK(lstat(path, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0));
	snprintf(path, sizeof(path), "%s/.wh.del", top);
	CHECK(!exists(path));
	snprintf(path, sizeof(path), "%s/.wh..wh.plnk", top);
	CHECK(!exists(path));
	snprintf(path, sizeof(path), "%s/opq", top);
	char val[8] = {0};
	CHECK(getxattr(path, "trusted.overlay.opaque", val, sizeof(val)) == 1 && val[0] == 'y');
	snprintf(path, sizeof(path), "%s/opq/.wh..wh..opq", top);
	CHECK(!exists(path));

	/* The merged view, if this machine can mount overlayfs. */
	char mnt[160];
	char upper[160];
	char work[160];
	snprintf(mnt, sizeof(mnt), "%s/mnt", base);
	snprintf(upper, sizeof(upper), "%s/upper", base);
	snprintf(work, sizeof(work), "%s/work", base);
	mkdir(mnt, 0755);
	mkdir(upper, 0755);
	mkdir(work, 0755);
	if (store_mount_rootfs(&img, NULL, NULL, mnt, MS_NODEV | MS_NOSUID, &err) < 0) {
		printf("     (overlay mount not possible here: %s)\n", err.msg);
	} else {
		const char *gone[] = {"del", "dir/a", "opq/x", "opq/sub"};
		const char *there[] = {"keep", "dir/b", "opq/new"};
		for (size_t i = 0; i < 4; i++) {
			snprintf(path, sizeof(path), "%s/%s", mnt, gone[i]);
			CHECK(!exists(path));
		}
		for (size_t i = 0; i < 3; i++) {
			snprintf(path, sizeof(path), "%s/%s", mnt, there[i]);
			CHECK(exists(path));
		}
		snprintf(path, sizeof(path), "%s/new-file", mnt);
		CHECK(open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644) < 0 && errno == EROFS);
		CHECK_EQ_INT(umount2(mnt, MNT_DETACH), 0);

		/* Writable: changes land in the upper directory only. */
		CHECK_EQ_INT(store_mount_rootfs(&img, upper, work, mnt, 0, &err), 0);
		snprintf(path, sizeof(path), "%s/new-file", mnt);
		int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		CHECK(fd >= 0);
		if (fd >= 0) {
			close(fd);
		}
		snprintf(path, sizeof(path), "%s/keep", mnt);
		CHECK_EQ_INT(unlink(path), 0);
		CHECK_EQ_INT(umount2(mnt, MNT_DETACH), 0);
		snprintf(path, sizeof(path), "%s/new-file", upper);
		CHECK(exists(path));
		snprintf(path, sizeof(path), "%s/keep", img.layer_dirs[0]);
		CHECK(exists(path));
	}

	/* A one-layer image read-only: a read-only bind mount. */
	CHECK_EQ_INT(load(s, "busybox-oci", &a, &l, &n, &err), 0);
	struct store_image bb;
	CHECK_EQ_INT(store_resolve(s, "busybox:oci", &a, &bb, &err), 0);
	if (store_mount_rootfs(&bb, NULL, NULL, mnt, 0, &err) == 0) {
		snprintf(path, sizeof(path), "%s/bin/busybox", mnt);
		CHECK(exists(path));
		snprintf(path, sizeof(path), "%s/x", mnt);
		CHECK(open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644) < 0 && errno == EROFS);
		CHECK_EQ_INT(umount2(mnt, MNT_DETACH), 0);
	}
	arena_free(&a);
	store_close(s);
}

static void test_overlay_options(void)
{
	const char *lowers[300];
	char names[300][64];
	for (size_t i = 0; i < 300; i++) {
		snprintf(names[i], sizeof(names[i]), "/data/berth/store/layers/%016zx/fs", i);
		lowers[i] = names[i];
	}
	char buf[65536];
	struct berr err = {0};
	CHECK_EQ_INT(overlay_options(lowers, 3, "/u", "/w", buf, sizeof(buf), &err), 0);
	CHECK(strcmp(buf, "lowerdir=/data/berth/store/layers/0000000000000002/fs:/data/berth/store/layers/"
			  "0000000000000001/fs:/data/berth/store/layers/0000000000000000/fs,upperdir=/u,workdir=/w,"
			  "index=off") == 0);
	/* 80 layers fit in a page with the daemon's store path ... */
	CHECK_EQ_INT(overlay_options(lowers, 80, NULL, NULL, buf, sizeof(buf), &err), 0);
	/* ... 300 do not, and the message says so. */
	CHECK(overlay_options(lowers, 300, NULL, NULL, buf, sizeof(buf), &err) == -E2BIG);
	CHECK_STR_CONTAINS(err.msg, "300 layers");
	const char *bad[] = {"/a,b", "/c"};
	CHECK(overlay_options(bad, 2, NULL, NULL, buf, sizeof(buf), &err) < 0);
	CHECK(overlay_options(lowers, 1, NULL, NULL, buf, sizeof(buf), &err) < 0);
	CHECK(overlay_options(lowers, 0, "/u", "/w", buf, sizeof(buf), &err) < 0);
}

/* ---- refusals ------------------------------------------------------------------------ */

static void test_malicious_images_refused(void)
{
	char root[128];
	new_store_root(root, sizeof(root), "malicious");
	struct store *s;
	struct berr err = {0};
	CHECK_EQ_INT(store_open(&s, root, &err), 0);
	char path[256];
	fixture(path, sizeof(path), "malicious.json");
	json_object *expected = json_object_from_file(path);
	CHECK(expected != NULL);
	struct arena a = {0};
	int cases = 0;
	json_object_object_foreach(expected, name, entry)
	{
		struct store_loaded *l;
		size_t n;
		char fix[256];
		fixture(fix, sizeof(fix), name);
		berr_clear(&err);
		int ret = store_load_path(s, fix, &a, &l, &n, &err);
		char quoted[300];
		snprintf(quoted, sizeof(quoted), "\"%s\"", json_object_get_string(entry));
		if (ret == 0 || strstr(err.msg, quoted) == NULL) {
			fprintf(stderr, "     %s: %s\n", name, ret == 0 ? "loaded" : err.msg);
		}
		CHECK(ret < 0);
		CHECK_STR_CONTAINS(err.msg, quoted);
		CHECK_EQ_INT(store_entries(root, "tmp"), 0);
		CHECK_EQ_INT(store_entries(root, "layers"), 0);
		CHECK_EQ_INT(store_entries(root, "images"), 0);
		cases++;
	}
	CHECK(cases >= 15);
	json_object_put(expected);

	struct store_loaded *l;
	size_t n;
	char fix[256];
	fixture(fix, sizeof(fix), "mal-digest");
	CHECK(store_load_path(s, fix, &a, &l, &n, &err) < 0);
	CHECK_STR_CONTAINS(err.msg, "does not match its digest");
	fixture(fix, sizeof(fix), "mal-diffid");
	CHECK(store_load_path(s, fix, &a, &l, &n, &err) < 0);
	CHECK_STR_CONTAINS(err.msg, "diff_id");
	CHECK_EQ_INT(store_entries(root, "tmp"), 0);
	CHECK_EQ_INT(store_entries(root, "layers"), 0);
	CHECK(!exists(root) || access(root, F_OK) == 0);

	/* Nothing was written outside the store. */
	CHECK(!exists("/berth-evil-abs"));
	CHECK(!exists("/tmp/berth-evil-symlink"));
	CHECK(!exists("/tmp/berth-evil-dir"));
	snprintf(path, sizeof(path), "%s/escape", base);
	CHECK(!exists(path));
	snprintf(path, sizeof(path), "%s/escape", root);
	CHECK(!exists(path));
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "test -z \"$(find %s -name escape -o -name 'berth-evil*')\"", base);
	CHECK_EQ_INT(system(cmd), 0);

	/* Not image archives at all. */
	CHECK(store_load_path(s, "/etc/hostname", &a, &l, &n, &err) < 0);
	CHECK(store_load_path(s, base, &a, &l, &n, &err) < 0);
	CHECK_STR_CONTAINS(err.msg, "not an image archive");
	arena_free(&a);
	store_close(s);
}

/* A load killed at an arbitrary moment leaves a store where every image
 * has all its layers, every layer is complete, and the next open cleans
 * tmp/. */
static void test_interrupted_loads(void)
{
	char root[128];
	new_store_root(root, sizeof(root), "interrupted");
	int visible_images = 0;
	for (int round = 0; round < 12; round++) {
		CHECK_EQ_INT(check_rmtree(root), 0);
		pid_t pid = fork();
		if (pid == 0) {
			struct store *s;
			struct berr err;
			struct arena a = {0};
			struct store_loaded *l;
			size_t n;
			char path[256];
			fixture(path, sizeof(path), "busybox-docker.tar");
			if (store_open(&s, root, &err) < 0 || store_load_path(s, path, &a, &l, &n, &err) < 0) {
				_exit(1);
			}
			_exit(0);
		}
		/* From before the store exists to after the load has finished. */
		usleep((useconds_t)(round * 5000));
		kill(pid, SIGKILL);
		int status;
		waitpid(pid, &status, 0);

		struct store *s;
		struct berr err = {0};
		CHECK_EQ_INT(store_open(&s, root, &err), 0);
		CHECK_EQ_INT(store_entries(root, "tmp"), 0);
		struct arena a = {0};
		struct store_image_info *list;
		size_t n;
		CHECK_EQ_INT(store_list(s, &a, &list, &n, &err), 0);
		for (size_t i = 0; i < n; i++) {
			struct store_image img;
			CHECK_EQ_INT(store_resolve(s, list[i].id, &a, &img, &err), 0);
			for (size_t j = 0; j < img.nlayers; j++) {
				char path[512];
				snprintf(path, sizeof(path), "%s/../layer.json", img.layer_dirs[j]);
				CHECK(exists(path));
			}
			visible_images++;
		}
		/* Whatever is left is loaded again without complaint. */
		struct store_loaded *l;
		CHECK_EQ_INT(load(s, "busybox-docker.tar", &a, &l, &n, &err), 0);
		CHECK_EQ_INT(n, 2);
		arena_free(&a);
		store_close(s);
	}
	printf("     %d images were complete when killed\n", visible_images);

	/* Leftovers of a killed load in tmp/ (as a kill mid-unpack leaves
	 * them) are removed by open and by gc. */
	char path[300];
	snprintf(path, sizeof(path), "%s/tmp/layer-0123456789abcdef/fs/usr/bin", root);
	char cmd[700];
	snprintf(cmd, sizeof(cmd), "mkdir -p %s && touch %s/x", path, path);
	CHECK_EQ_INT(system(cmd), 0);
	struct store *s;
	struct berr err = {0};
	CHECK_EQ_INT(store_open(&s, root, &err), 0);
	CHECK_EQ_INT(store_entries(root, "tmp"), 0);
	store_close(s);
}

/* ---- rmi and gc --------------------------------------------------------------------- */

static const char *used_image;

static int in_use(void *ctx, const char *id)
{
	(void)ctx;
	return used_image != NULL && strcmp(id, used_image) == 0;
}

static void test_remove_and_gc(void)
{
	char root[128];
	new_store_root(root, sizeof(root), "rmi");
	struct store *s;
	struct berr err = {0};
	CHECK_EQ_INT(store_open(&s, root, &err), 0);
	struct arena a = {0};
	struct store_loaded *l;
	size_t n;
	CHECK_EQ_INT(load(s, "busybox-docker-oci.tar", &a, &l, &n, &err), 0); /* busybox:stable, mybox */
	CHECK_EQ_INT(load(s, "busybox-docker.tar", &a, &l, &n, &err), 0);     /* + busybox:latest, app */
	CHECK_EQ_INT(store_entries(root, "layers"), 2);

	struct store_removed r;
	/* Untag one name of several. */
	CHECK_EQ_INT(store_remove(s, "busybox:stable", 0, in_use, NULL, &r, &err), 0);
	CHECK(r.untagged == 1 && !r.deleted && strcmp(r.id, busybox_id) == 0);
	struct store_image img;
	CHECK(store_resolve(s, "busybox:stable", &a, &img, &err) < 0);
	CHECK_EQ_INT(store_resolve(s, "mybox", &a, &img, &err), 0);
	CHECK_EQ_INT(store_remove(s, "mybox", 0, in_use, NULL, &r, &err), 0);

	/* The last name, while a container uses the image. */
	used_image = busybox_id;
	CHECK(store_remove(s, "busybox", 0, in_use, NULL, &r, &err) == -EBUSY);
	CHECK_STR_CONTAINS(err.msg, "used by a container");
	CHECK_EQ_INT(store_resolve(s, "busybox", &a, &img, &err), 0);
	CHECK_EQ_INT(store_remove(s, "busybox", 1, in_use, NULL, &r, &err), 0);
	CHECK(r.untagged == 1 && r.kept && !r.deleted);
	CHECK_EQ_INT(store_resolve(s, busybox_id, &a, &img, &err), 0); /* still there, by ID */
	used_image = NULL;

	struct store_gc_stats gc;
	CHECK_EQ_INT(store_gc(s, &gc, &err), 0);
	CHECK(gc.layers == 0 && gc.blobs == 0);

	/* By ID, no longer in use: gone; its layer stays for app. */
	CHECK_EQ_INT(store_remove(s, busybox_id, 0, in_use, NULL, &r, &err), 0);
	CHECK(r.deleted);
	CHECK(store_resolve(s, busybox_id, &a, &img, &err) < 0);
	CHECK_EQ_INT(store_gc(s, &gc, &err), 0);
	CHECK(gc.layers == 0 && gc.blobs == 1);
	CHECK_EQ_INT(store_resolve(s, "localhost/app:v1", &a, &img, &err), 0);

	/* The last image: everything goes. */
	CHECK_EQ_INT(store_remove(s, "localhost/app:v1", 0, in_use, NULL, &r, &err), 0);
	CHECK(r.deleted && r.untagged == 1);
	CHECK_EQ_INT(store_gc(s, &gc, &err), 0);
	CHECK(gc.layers == 2 && gc.blobs == 1 && gc.bytes > 500000);
	printf("     gc freed %zu layers, %zu blobs, %llu bytes\n", gc.layers, gc.blobs, (unsigned long long)gc.bytes);
	CHECK_EQ_INT(store_entries(root, "layers"), 0);
	CHECK_EQ_INT(store_entries(root, "images"), 0);
	CHECK_EQ_INT(store_entries(root, "blobs/sha256"), 0);
	CHECK(store_remove(s, "localhost/app:v1", 0, NULL, NULL, &r, &err) == -ENOENT);

	/* Load again after gc: everything is unpacked afresh. */
	CHECK_EQ_INT(load(s, "busybox-docker.tar", &a, &l, &n, &err), 0);
	CHECK(n == 2 && l[0].new_layers == 1 && l[1].new_layers == 1);
	arena_free(&a);
	store_close(s);
}

static void test_names_move_between_images(void)
{
	char root[128];
	new_store_root(root, sizeof(root), "names");
	struct store *s;
	struct berr err = {0};
	CHECK_EQ_INT(store_open(&s, root, &err), 0);
	struct arena a = {0};
	struct store_loaded *l;
	size_t n;
	CHECK_EQ_INT(load(s, "busybox-oci", &a, &l, &n, &err), 0);
	/* Give app the busybox image's name, as a later load would. */
	char path[256];
	char cmd[600];
	fixture(path, sizeof(path), "busybox-docker.tar");
	snprintf(cmd, sizeof(cmd),
		 "set -e; d=%s/retag; rm -rf $d; mkdir -p $d; tar -C $d -xf %s; "
		 "sed -i 's#localhost/app:v1#busybox:oci#' $d/manifest.json",
		 base, path);
	CHECK_EQ_INT(system(cmd), 0);
	snprintf(path, sizeof(path), "%s/retag", base);
	CHECK_EQ_INT(store_load_path(s, path, &a, &l, &n, &err), 0);
	struct store_image img;
	CHECK_EQ_INT(store_resolve(s, "busybox:oci", &a, &img, &err), 0);
	CHECK(strcmp(img.id, app_id) == 0);
	CHECK_EQ_INT(store_resolve(s, busybox_id, &a, &img, &err), 0);
	CHECK(has_name(img.names, img.nnames, "busybox:latest"));
	CHECK(!has_name(img.names, img.nnames, "busybox:oci"));
	arena_free(&a);
	store_close(s);
}

/* A layer directory without its layer.json (damage) is unpacked again;
 * a damaged image record stops gc rather than let it guess. */
static void test_damage(void)
{
	char root[128];
	new_store_root(root, sizeof(root), "damage");
	struct store *s;
	struct berr err = {0};
	CHECK_EQ_INT(store_open(&s, root, &err), 0);
	struct arena a = {0};
	struct store_loaded *l;
	size_t n;
	CHECK_EQ_INT(load(s, "busybox-oci", &a, &l, &n, &err), 0);
	struct store_image img;
	CHECK_EQ_INT(store_resolve(s, "busybox:oci", &a, &img, &err), 0);
	char path[600];
	snprintf(path, sizeof(path), "%s/../layer.json", img.nlayers == 1 ? img.layer_dirs[0] : "/nonexistent");
	CHECK_EQ_INT(unlink(path), 0);
	CHECK_EQ_INT(load(s, "busybox-oci", &a, &l, &n, &err), 0);
	CHECK(n == 1 && l[0].new_layers == 1);
	CHECK(exists(path));
	CHECK_EQ_INT(store_resolve(s, "busybox:oci", &a, &img, &err), 0);

	snprintf(path, sizeof(path), "%s/images/%s.json", root, busybox_id + 7);
	FILE *f = fopen(path, "we");
	if (f != NULL) {
		fputs("{not json", f);
		fclose(f);
	}
	struct store_gc_stats gc;
	CHECK(store_gc(s, &gc, &err) < 0);
	CHECK_STR_CONTAINS(err.msg, "damaged");
	CHECK_EQ_INT(store_entries(root, "layers"), 1);
	CHECK(store_resolve(s, "busybox:oci", &a, &img, &err) < 0);
	CHECK_STR_CONTAINS(err.msg, "damaged");
	arena_free(&a);
	store_close(s);
}

int main(void)
{
	if (geteuid() != 0) {
		/* Whiteouts are device nodes, opaque directories trusted.* xattrs. */
		printf("test_store needs root: skipped\n");
		return check_summary();
	}
	snprintf(base, sizeof(base), "/tmp/berth-test-store-XXXXXX");
	if (check_tmpdir(base) < 0) {
		return 2;
	}
	snprintf(images, sizeof(images), "%s/images", base);
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "python3 tests/fixtures/mkimages %s out/pkg/busybox/busybox", images);
	if (system(cmd) != 0) {
		fprintf(stderr, "mkimages failed (run from the top of the tree, after make deps)\n");
		return 1;
	}
	read_ids();
	RUN(test_load_every_form);
	RUN(test_resolve_config_and_layers);
	RUN(test_whiteouts_and_overlay);
	RUN(test_overlay_options);
	RUN(test_malicious_images_refused);
	RUN(test_interrupted_loads);
	RUN(test_remove_and_gc);
	RUN(test_names_move_between_images);
	RUN(test_damage);
	return check_summary();
}
