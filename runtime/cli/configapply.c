/* berth config apply, diff, history, rollback (see configapply.h). */
#include "cli/configapply.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/berth.h"
#include "cli/client.h"
#include "cli/configcheck.h"
#include "cli/configdiff.h"
#include "cli/trialstate.h"
#include "cli/cp.h"
#include "cli/remote.h"
#include "lib/cleanup.h"
#include "lib/configgen.h"
#include "lib/failpoint.h"
#include "lib/fsutil.h"
#include "lib/hostcfg.h"
#include "lib/yamltree.h"

#define CONFIG_MOUNT "/config"
#define APPLY_TIMEOUT_DEFAULT 60
#define TREE_DEPTH_MAX 32
#define GENS_MAX 4096
#define HOST_RELOAD_WAIT_MS 10000
#define CONFIRM_TIMEOUT_DEFAULT 120
/* A trial's state (cli/trialstate.h: one file, for `berth config confirm`
 * and the apply that waits) and its log. Under /run: a restart ends every
 * trial (configgen.h). */
#define TRIAL_DIR "/run/berth/config-trial"
#define TRIAL_WAIT_FOR_SWITCH_S 30

struct apply_opts {
	int no_rollback;
	int timeout;
	int confirm_timeout; /* a network change's trial */
	int trial_detach;    /* from the desk: leave a trial running, exit CONFIG_TRIAL_PENDING */
	const char *src;     /* DIR, or "-" */
};

static int fail(const char *what, const struct berr *err)
{
	fprintf(stderr, "berth config %s: %s\n", what, err->msg);
	return 1;
}

/* ---- the partition ------------------------------------------------------------------------------------- */

static int part_open(struct berr *err)
{
	int fd = open(CONFIGGEN_PART_MOUNT, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		return berr_set(err, errno, "%s (CONFIG as init mounted it)", CONFIGGEN_PART_MOUNT);
	}
	return fd;
}

/* The superblock read-write only while a generation is written; /config's
 * bind mount stays read-only throughout. */
static int part_writable(int rw, struct berr *err)
{
	unsigned long flags = MS_REMOUNT | MS_NOSUID | MS_NODEV | MS_NOEXEC | (rw ? 0 : MS_RDONLY);
	if (mount(NULL, CONFIGGEN_PART_MOUNT, NULL, flags, NULL) < 0) {
		return berr_set(err, errno, "remount %s %s", CONFIGGEN_PART_MOUNT, rw ? "read-write" : "read-only");
	}
	return 0;
}

static int rm_tree_at(int dirfd, const char *name, int depth)
{
	if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT) {
		return 0;
	}
	if ((errno != EISDIR && errno != EPERM) || depth > TREE_DEPTH_MAX) {
		return -errno;
	}
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		return -errno;
	}
	auto_closedir DIR *d = fdopendir(fd);
	if (d == NULL) {
		close(fd);
		return -errno;
	}
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
			rm_tree_at(fd, e->d_name, depth + 1);
		}
	}
	return unlinkat(dirfd, name, AT_REMOVEDIR) == 0 ? 0 : -errno;
}

static int mkdir_at(int dirfd, const char *name, struct berr *err)
{
	if (mkdirat(dirfd, name, 0755) < 0 && errno != EEXIST) {
		return berr_set(err, errno, "CONFIG: mkdir %s", name);
	}
	return 0;
}

/* ---- staging a generation ------------------------------------------------------------------------------ */

static int same_content(int a, int b)
{
	static char x[65536];
	static char y[65536];
	for (;;) {
		ssize_t n = read(a, x, sizeof(x));
		ssize_t m = n > 0 ? read(b, y, (size_t)n) : read(b, y, 1);
		if (n < 0 || m < 0 || n != m) {
			return 0;
		}
		if (n == 0) {
			return 1;
		}
		if (memcmp(x, y, (size_t)n) != 0) {
			return 0;
		}
	}
}

/* A file the generation in use has with the same bytes: linked, not
 * copied (image archives are most of CONFIG and rarely change). */
static int link_if_same(int src, const struct stat *st, int prev, const char *rel, int dst, const char *name)
{
	if (prev < 0) {
		return 0;
	}
	auto_close int old = openat(prev, rel, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat ost;
	if (old < 0 || fstat(old, &ost) < 0 || !S_ISREG(ost.st_mode) || ost.st_size != st->st_size ||
	    !same_content(src, old)) {
		lseek(src, 0, SEEK_SET);
		return 0;
	}
	return linkat(prev, rel, dst, name, 0) == 0;
}

static int copy_file(int src, int dst, const char *name, const char *shown, struct berr *err)
{
	auto_close int out = openat(dst, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (out < 0) {
		return berr_set(err, errno, "CONFIG: create %s", shown);
	}
	static char buf[65536];
	ssize_t n;
	while ((n = read(src, buf, sizeof(buf))) > 0) {
		if (write_all(out, buf, (size_t)n) < 0) {
			return berr_set(err, errno, "CONFIG: write %s", shown);
		}
	}
	if (n < 0) {
		return berr_set(err, errno, "read %s", shown);
	}
	failpoint("config-copying");
	return fsync(out) < 0 ? berr_set(err, errno, "CONFIG: fsync %s", shown) : 0;
}

/* Copies the tree at src into dst (both directory fds); rel is the path
 * below the top, for errors and for prev (the generation in use). */
static int copy_tree(int src, int dst, int prev, const char *rel, int depth, struct berr *err)
{
	if (depth > TREE_DEPTH_MAX) {
		return berr_setx(err, E2BIG, "%s: deeper than %d directories", rel, TREE_DEPTH_MAX);
	}
	int dfd = dup(src);
	auto_closedir DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	if (d == NULL) {
		return berr_set(err, errno, "read %s", rel[0] ? rel : ".");
	}
	struct dirent *e;
	int ret = 0;
	while (ret == 0 && (e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
		    (depth == 0 && strcmp(e->d_name, CONFIGGEN_DIR) == 0) || strcmp(e->d_name, "lost+found") == 0) {
			continue;
		}
		char sub[PATH_MAX];
		snprintf(sub, sizeof(sub), "%s%s%s", rel, rel[0] ? "/" : "", e->d_name);
		auto_close int fd = openat(src, e->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		struct stat st;
		if (fd < 0 || fstat(fd, &st) < 0) {
			return berr_set(err, errno, "%s", sub);
		}
		if (S_ISDIR(st.st_mode)) {
			ret = mkdir_at(dst, e->d_name, err);
			auto_close int child =
				ret == 0 ? openat(dst, e->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
			if (ret == 0 && child < 0) {
				ret = berr_set(err, errno, "CONFIG: open %s", sub);
			}
			if (ret == 0) {
				ret = copy_tree(fd, child, prev, sub, depth + 1, err);
			}
			if (ret == 0 && fsync(child) < 0) {
				ret = berr_set(err, errno, "CONFIG: fsync %s", sub);
			}
		} else if (S_ISREG(st.st_mode)) {
			if (!link_if_same(fd, &st, prev, sub, dst, e->d_name)) {
				ret = copy_file(fd, dst, e->d_name, sub, err);
			}
		} else {
			ret = berr_setx(err, EINVAL, "%s: only files and directories go on CONFIG", sub);
		}
	}
	return ret;
}

/* A tree unpacked from a tar: synced file by file, then its directories. */
static int fsync_tree(int dirfd, int depth)
{
	int dfd = dup(dirfd);
	auto_closedir DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	if (d == NULL || depth > TREE_DEPTH_MAX) {
		return -EIO;
	}
	struct dirent *e;
	int ret = 0;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
			continue;
		}
		auto_close int fd = openat(dirfd, e->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		struct stat st;
		if (fd < 0 || fstat(fd, &st) < 0) {
			return -errno;
		}
		if (S_ISDIR(st.st_mode)) {
			ret = ret < 0 ? ret : fsync_tree(fd, depth + 1);
		} else if (!S_ISREG(st.st_mode)) {
			return -EINVAL; /* a symlink from a tar: CONFIG takes files and directories */
		}
		if (fsync(fd) < 0) {
			return -errno;
		}
	}
	return ret < 0 ? ret : (fsync(dirfd) < 0 ? -errno : 0);
}

/* .berth/tmp/N holding the new configuration, synced; its path in out. */
static int stage(int part, unsigned gen_in_use, unsigned n, const char *src, char *out, size_t size, struct berr *err)
{
	char tmp[64];
	snprintf(tmp, sizeof(tmp), "%s/%u", CONFIGGEN_TMP_DIR, n);
	rm_tree_at(part, CONFIGGEN_TMP_DIR, 0);
	if (mkdir_at(part, CONFIGGEN_DIR, err) < 0 || mkdir_at(part, CONFIGGEN_TMP_DIR, err) < 0 ||
	    mkdir_at(part, tmp, err) < 0) {
		return -err->code;
	}
	auto_close int dst = openat(part, tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dst < 0) {
		return berr_set(err, errno, "CONFIG: open %s", tmp);
	}
	snprintf(out, size, "%s/%s", CONFIGGEN_PART_MOUNT, tmp);
	if (strcmp(src, "-") == 0) {
		int ret = cp_unpack_at(dst, STDIN_FILENO, err);
		failpoint("config-unpacked");
		if (ret == 0 && fsync_tree(dst, 0) < 0) {
			ret = berr_setx(err, EINVAL, "the archive holds something other than files and directories");
		}
		return ret;
	}
	char prev_path[64];
	configgen_path(gen_in_use, prev_path, sizeof(prev_path));
	auto_close int prev = openat(part, prev_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	auto_close int in = open(src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (in < 0) {
		return berr_set(err, errno, "%s", src);
	}
	int ret = copy_tree(in, dst, prev, "", 0, err);
	return ret < 0 ? ret : (fsync(dst) < 0 ? berr_set(err, errno, "CONFIG: fsync %s", tmp) : 0);
}

/* ---- what changes -------------------------------------------------------------------------------------- */

static const struct yt_node *top_map(struct yt_doc *doc, const char *dir, const char *file, int *ok)
{
	char path[PATH_MAX];
	struct berr err = {0};
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	memset(doc, 0, sizeof(*doc));
	*ok = access(path, F_OK) == 0 && yt_parse_file(doc, path, file, &err) == 0;
	return *ok && doc->root != NULL && doc->root->kind == YT_MAP ? doc->root : NULL;
}

/* What a changed service does. */
static const char *service_change(const char *key)
{
	(void)key;
	return "recreated";
}

/* When a host.yaml setting takes effect: what init applies again on a
 * running host (init/host.h, host_apply_live; NTP by restarting ntpd), or
 * at the next boot. */
static const char *host_change(const char *key)
{
	switch (hostcfg_when(key)) {
	case HOST_LIVE:
		return "now";
	case HOST_ON_TRIAL:
		return "now, on trial until a new connection confirms it";
	default:
		return "at the next boot";
	}
}

/* How a changed entry is printed: its label ("service", "host
 * setting") and when its change takes effect. */
struct diff_print {
	const char *label;
	const char *(*when)(const char *key);
};

static void print_change(const char *key, enum configdiff_change change, void *ctx)
{
	const struct diff_print *p = ctx;
	static const char *const what[] = {
		[CONFIGDIFF_CREATED] = "created",
		[CONFIGDIFF_REMOVED] = "removed",
		[CONFIGDIFF_CHANGED] = "changed",
	};
	printf("  %s %s: %s (%s)\n", p->label, key, what[change], p->when(key));
}

/* Prints what differs between the entries of two mappings (services,
 * or host.yaml's top level): "label NAME: created|removed|changed (when)". */
static int diff_maps(const struct yt_node *old, const struct yt_node *new, const char *label,
		     const char *(*when)(const char *key))
{
	struct diff_print p = {label, when};
	return (int)configdiff_maps(old, new, print_change, &p);
}

static const struct yt_node *services_of(const struct yt_node *root)
{
	const struct yt_node *s = root != NULL ? yt_get(root, "services") : NULL;
	return s != NULL && s->kind == YT_MAP ? s : NULL;
}

/* Files added, removed or changed between two trees (relative names). */
static int diff_files(const char *old, const char *new, const char *rel, int depth)
{
	int n = 0;
	for (int pass = 0; pass < 2 && depth < TREE_DEPTH_MAX; pass++) {
		char a[PATH_MAX];
		snprintf(a, sizeof(a), "%s/%s", pass == 0 ? new : old, rel);
		auto_closedir DIR *d = opendir(a);
		struct dirent *e;
		while (d != NULL && (e = readdir(d)) != NULL) {
			if (e->d_name[0] == '.' && (e->d_name[1] == '\0' || strcmp(e->d_name, "..") == 0 ||
						    (depth == 0 && strcmp(e->d_name, CONFIGGEN_DIR) == 0))) {
				continue;
			}
			if (depth == 0 && strcmp(e->d_name, "lost+found") == 0) {
				continue;
			}
			char sub[PATH_MAX];
			char pa[PATH_MAX * 2];
			char pb[PATH_MAX * 2];
			snprintf(sub, sizeof(sub), "%s%s%s", rel, rel[0] ? "/" : "", e->d_name);
			snprintf(pa, sizeof(pa), "%s/%s", old, sub);
			snprintf(pb, sizeof(pb), "%s/%s", new, sub);
			struct stat sa;
			struct stat sb;
			int in_old = lstat(pa, &sa) == 0;
			int in_new = lstat(pb, &sb) == 0;
			if (pass == 0 && in_new && S_ISDIR(sb.st_mode) && in_old && S_ISDIR(sa.st_mode)) {
				n += diff_files(old, new, sub, depth + 1);
			} else if (pass == 0 && !in_old) {
				printf("  file %s: added\n", sub);
				n++;
			} else if (pass == 1 && !in_new) {
				printf("  file %s: removed\n", sub);
				n++;
			} else if (pass == 0 && S_ISREG(sa.st_mode) && S_ISREG(sb.st_mode)) {
				auto_close int fa = open(pa, O_RDONLY | O_CLOEXEC);
				auto_close int fb = open(pb, O_RDONLY | O_CLOEXEC);
				if (sa.st_size != sb.st_size || fa < 0 || fb < 0 || !same_content(fa, fb)) {
					printf("  file %s: changed\n", sub);
					n++;
				}
			}
		}
	}
	return n;
}

/* What applying new over old would change; the number of changes. */
static int show_diff(const char *old, const char *new)
{
	struct yt_doc od;
	struct yt_doc nd;
	int ook;
	int nok;
	printf("changes:\n");
	int n = diff_files(old, new, "", 0);
	const struct yt_node *oc = top_map(&od, old, "compose.yaml", &ook);
	const struct yt_node *nc = top_map(&nd, new, "compose.yaml", &nok);
	n += diff_maps(services_of(oc), services_of(nc), "service", service_change);
	if (ook) {
		yt_free(&od);
	}
	if (nok) {
		yt_free(&nd);
	}
	oc = top_map(&od, old, "host.yaml", &ook);
	nc = top_map(&nd, new, "host.yaml", &nok);
	n += diff_maps(oc, nc, "host setting", host_change);
	if (ook) {
		yt_free(&od);
	}
	if (nok) {
		yt_free(&nd);
	}
	if (n == 0) {
		printf("  none\n");
	}
	return n;
}

/* ---- switching /config --------------------------------------------------------------------------------- */

static int switch_config(unsigned gen, struct berr *err)
{
	char rel[64];
	char src[128];
	configgen_path(gen, rel, sizeof(rel));
	snprintf(src, sizeof(src), "%s/%s", CONFIGGEN_PART_MOUNT, rel);
	/* Readers see the old tree or the new one; a reader between the two
	 * calls finds /config empty and retries at its next `up`. */
	if (umount2(CONFIG_MOUNT, MNT_DETACH) < 0 && errno != EINVAL) {
		return berr_set(err, errno, "unmount %s", CONFIG_MOUNT);
	}
	unsigned long ro = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
	if (mount(src, CONFIG_MOUNT, NULL, MS_BIND, NULL) < 0 ||
	    mount(NULL, CONFIG_MOUNT, NULL, MS_REMOUNT | MS_BIND | ro, NULL) < 0) {
		return berr_set(err, errno, "bind %s on %s", src, CONFIG_MOUNT);
	}
	return 0;
}

/* Makes gen the one in use on disk (synced) and at /config. */
/* Init reads host.yaml again and applies what changes on a running host
 * (SIGHUP); waits until it says it is done. */
static void reload_host(void)
{
	char before[32] = "";
	read_file(HOST_RELOADED, before, sizeof(before), NULL);
	if (kill(1, SIGHUP) < 0) {
		fprintf(stderr, "berth config apply: signal init: %s; host settings apply at the next boot\n",
			strerror(errno));
		return;
	}
	for (int waited = 0; waited < HOST_RELOAD_WAIT_MS; waited += 50) {
		char now[32] = "";
		if (read_file(HOST_RELOADED, now, sizeof(now), NULL) >= 0 && strcmp(now, before) != 0) {
			return;
		}
		struct timespec ts = {0, 50 * 1000000L};
		nanosleep(&ts, NULL);
	}
	fprintf(stderr,
		"berth config apply: init did not take host.yaml again within %d s; host settings apply at "
		"the next boot\n",
		HOST_RELOAD_WAIT_MS / 1000);
}

static int use_generation(int part, unsigned gen, struct berr *err)
{
	int ret = part_writable(1, err);
	if (ret == 0) {
		ret = configgen_set_current(part, gen, err);
		failpoint("config-current");
		struct berr ro = {0};
		if (part_writable(0, &ro) < 0 && ret == 0) {
			*err = ro;
			ret = -ro.code;
		}
	}
	if (ret == 0) {
		ret = switch_config(gen, err);
	}
	if (ret == 0) {
		reload_host();
	}
	return ret;
}

static void note_failed(int part, unsigned gen, const char *why)
{
	struct berr err = {0};
	if (part_writable(1, &err) == 0) {
		configgen_mark_failed(part, gen, why, &err);
		part_writable(0, &err);
	}
}

/* ---- the health gate ----------------------------------------------------------------------------------- */

static json_object *containers(void)
{
	json_object *req = client_req("ps");
	json_object_object_add(req, "all", json_object_new_boolean(1));
	return client_fetch("config apply", req);
}

static json_object *list_of(json_object *resp)
{
	return json_member(resp, "containers");
}

static int is(json_object *c, const char *key, const char *value)
{
	const char *v = json_str(c, key);
	return v != NULL && strcmp(v, value) == 0;
}

/* The services whose containers are healthy now (NULL: berthd did not
 * answer); a json array of names. */
static json_object *healthy_services(void)
{
	json_object *resp = containers();
	if (resp == NULL) {
		return NULL;
	}
	json_object *out = json_object_new_array();
	json_object *list = list_of(resp);
	for (size_t i = 0; list != NULL && i < json_object_array_length(list); i++) {
		json_object *c = json_object_array_get_idx(list, i);
		const char *s = json_str(c, "service");
		if (s != NULL && is(c, "health", "healthy")) {
			json_object_array_add(out, json_object_new_string(s));
		}
	}
	json_object_put(resp);
	return out;
}

static int in_array(json_object *a, const char *s)
{
	for (size_t i = 0; a != NULL && i < json_object_array_length(a); i++) {
		if (strcmp(json_object_get_string(json_object_array_get_idx(a, i)), s) == 0) {
			return 1;
		}
	}
	return 0;
}

static int in_report(json_object *report, const char *name)
{
	static const char *const keys[] = {"created", "recreated", "restarted", "started"};
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		json_object *a = NULL;
		if (report != NULL && json_object_object_get_ex(report, keys[k], &a) && in_array(a, name)) {
			return 1;
		}
	}
	return 0;
}

/* Not ready yet: why, in why; 0 when every container the apply started
 * runs this start (healthy when it has a check) and every service healthy
 * before is healthy again. */
static int gate_once(json_object *before, json_object *report, int64_t t0_ms, char *why, size_t size)
{
	json_object *resp = containers();
	json_object *list = list_of(resp);
	int ready = resp != NULL;
	if (!ready) {
		snprintf(why, size, "berthd did not answer");
	}
	for (size_t i = 0; ready && list != NULL && i < json_object_array_length(list); i++) {
		json_object *c = json_object_array_get_idx(list, i);
		const char *name = json_str(c, "name");
		const char *svc = json_str(c, "service");
		int fresh = name != NULL && in_report(report, name);
		if (fresh && (json_int(c, "started_ms") < t0_ms || !is(c, "state", "running") ||
			      !(is(c, "health", "healthy") || is(c, "health", "none")))) {
			snprintf(why, size, "%s (started by this apply) is %s, health %s", name, json_str(c, "state"),
				 json_str(c, "health"));
			ready = 0;
		} else if (svc != NULL && in_array(before, svc) && !is(c, "health", "healthy")) {
			snprintf(why, size, "service %s was healthy before and is %s", svc, json_str(c, "health"));
			ready = 0;
		}
	}
	json_object_put(resp);
	return ready ? 0 : -1;
}

static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int health_gate(json_object *before, json_object *report, int64_t t0_ms, int timeout, char *why, size_t size)
{
	struct timespec start;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		if (gate_once(before, report, t0_ms, why, size) == 0) {
			return 0;
		}
		struct timespec t;
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec - start.tv_sec >= timeout) {
			size_t n = strlen(why);
			snprintf(why + n, size - n, " after %d s", timeout);
			return -1;
		}
		sleep(1);
	}
}

/* ---- apply, rollback, history -------------------------------------------------------------------------- */

/* Generations beyond the newest CONFIGGEN_KEEP, the one in use and the
 * one before it go (never 0, the flashed one). */
static void prune(int part, unsigned in_use, unsigned before)
{
	failpoint("config-prune");
	static unsigned gens[GENS_MAX];
	size_t n = 0;
	struct berr err = {0};
	if (configgen_list(part, gens, GENS_MAX, &n, &err) < 0 || n <= CONFIGGEN_KEEP + 1) {
		return;
	}
	for (size_t i = 1; i + CONFIGGEN_KEEP < n; i++) {
		if (gens[i] != in_use && gens[i] != before) {
			char path[64];
			configgen_path(gens[i], path, sizeof(path));
			rm_tree_at(part, path, 0);
			snprintf(path, sizeof(path), "%s/%u.failed", CONFIGGEN_GEN_DIR, gens[i]);
			unlinkat(part, path, 0);
		}
	}
}

/* gen in use: runs up and the gate; on a failed gate (unless no_rollback)
 * goes back to prev. before: the services healthy before the switch
 * (taken). The exit status. */
static int finish_live(int part, unsigned gen, unsigned prev, json_object *before, const struct apply_opts *o)
{
	struct berr err = {0};
	printf("generation %u is in use; applying it:\n", gen);
	fflush(stdout);
	int64_t t0 = wall_ms();
	json_object *report = NULL;
	int up = cli_up(&report);
	failpoint("config-up");
	char why[512] = "";
	if (up < 0) {
		snprintf(why, sizeof(why), "berthd reported errors applying it");
	} else if (health_gate(before, report, t0, o->timeout, why, sizeof(why)) == 0) {
		printf("generation %u is healthy\n", gen);
		json_object_put(before);
		json_object_put(report);
		return 0;
	}
	json_object_put(before);
	json_object_put(report);
	if (o->no_rollback) {
		fprintf(stderr, "berth config apply: %s; kept (--no-rollback)\n", why);
		return 1;
	}
	fprintf(stderr, "berth config apply: %s; rolling back to generation %u\n", why, prev);
	note_failed(part, gen, why);
	failpoint("config-rollback");
	if (use_generation(part, prev, &err) < 0) {
		return fail("apply", &err);
	}
	failpoint("config-rolled-back");
	cli_up(NULL);
	fprintf(stderr, "berth config apply: generation %u is in use again\n", prev);
	return 1;
}

/* Switches to gen, then finish_live. */
static int go_live(int part, unsigned gen, unsigned prev, const struct apply_opts *o)
{
	struct berr err = {0};
	json_object *before = healthy_services();
	if (use_generation(part, gen, &err) < 0) {
		json_object_put(before);
		return fail("apply", &err);
	}
	failpoint("config-switched");
	return finish_live(part, gen, prev, before, o);
}

/* ---- a network change on trial ------------------------------------------------------------------------- */

/* Whether going from generation a to b changes a host.yaml setting that
 * applies on trial (the network). */
static int needs_trial(unsigned a, unsigned b)
{
	char rel[64];
	char da[128];
	char db[128];
	configgen_path(a, rel, sizeof(rel));
	snprintf(da, sizeof(da), "%s/%s", CONFIGGEN_PART_MOUNT, rel);
	configgen_path(b, rel, sizeof(rel));
	snprintf(db, sizeof(db), "%s/%s", CONFIGGEN_PART_MOUNT, rel);
	struct yt_doc xd;
	struct yt_doc yd;
	int xok = 0;
	int yok = 0;
	const struct yt_node *x = top_map(&xd, da, "host.yaml", &xok);
	const struct yt_node *y = top_map(&yd, db, "host.yaml", &yok);
	int differs = configdiff_needs_trial(x, y);
	if (xok) {
		yt_free(&xd);
	}
	if (yok) {
		yt_free(&yd);
	}
	return differs;
}

/* A trial is running: there, not over, and its process alive. */
static int trial_running(unsigned *gen)
{
	struct trial_state t;
	if (trial_state_load(TRIAL_DIR, &t, NULL) < 0) {
		return 0;
	}
	*gen = t.gen;
	return !t.over && t.pid > 0 && kill((pid_t)t.pid, 0) == 0;
}

/* Copies the trial's log to stdout as it grows, until the trial is over;
 * its exit status. */
static int follow_trial(void)
{
	auto_close int fd = open(TRIAL_DIR "/log", O_RDONLY | O_CLOEXEC);
	char buf[4096];
	for (;;) {
		struct trial_state t;
		int over = trial_state_load(TRIAL_DIR, &t, NULL) == 0 && t.over;
		ssize_t n;
		while (fd >= 0 && (n = read(fd, buf, sizeof(buf))) > 0) {
			fwrite(buf, 1, (size_t)n, stdout);
		}
		fflush(stdout);
		if (over) {
			return t.status;
		}
		unsigned gen;
		if (!trial_running(&gen)) {
			fprintf(stderr, "berth config: the trial's process ended without a result\n");
			return 1;
		}
		struct timespec ts = {0, 200 * 1000000L};
		nanosleep(&ts, NULL);
	}
}

/* Whether a new connection confirms the trial within timeout_s. When the
 * time is up the trial expires, unless a confirmation came first: the
 * state's lock lets only one of the two happen. */
static int confirmed_in_time(int timeout_s)
{
	struct trial_state t;
	for (int waited = 0; waited < timeout_s * 5; waited++) {
		if (trial_state_load(TRIAL_DIR, &t, NULL) == 0 && t.phase == TRIAL_CONFIRMED) {
			return 1;
		}
		struct timespec ts = {0, 200 * 1000000L};
		nanosleep(&ts, NULL);
	}
	struct berr err = {0};
	int moved = trial_state_move(TRIAL_DIR, TRIAL_WAITING, TRIAL_EXPIRED, &t, &err);
	if (moved < 0) {
		fprintf(stderr, "berth config apply: %s\n", err.msg);
	}
	return moved == 0 && t.phase == TRIAL_CONFIRMED;
}

static int end_trial(int part, struct berr *err)
{
	int ret = part_writable(1, err);
	if (ret == 0) {
		ret = configgen_trial_end(part, err);
		part_writable(0, err);
	}
	return ret;
}

/* The trial itself, in a process of its own (it outlives the connection
 * the change came over): the switch, the wait for a confirmation, then
 * either the rest of the apply or the way back. The exit status. */
static int run_trial(int part, unsigned gen, unsigned prev, const struct apply_opts *o)
{
	struct berr err = {0};
	if (o->trial_detach) {
		sleep(1); /* the desk's connection ends before its network changes */
	}
	int ret = part_writable(1, &err);
	if (ret == 0) {
		ret = configgen_trial_begin(part, gen, &err);
		part_writable(0, &err);
	}
	json_object *before = ret == 0 ? healthy_services() : NULL;
	if (ret < 0 || use_generation(part, gen, &err) < 0) {
		json_object_put(before);
		end_trial(part, &err);
		return fail("apply", &err);
	}
	failpoint("config-trial");
	printf("generation %u is in use with its network; waiting up to %d s for a confirmation from a new "
	       "connection\n",
	       gen, o->confirm_timeout);
	fflush(stdout);
	if (trial_state_move(TRIAL_DIR, TRIAL_STARTING, TRIAL_WAITING, NULL, &err) < 0) {
		fprintf(stderr, "berth config apply: %s\n", err.msg);
	}
	if (confirmed_in_time(o->confirm_timeout)) {
		printf("confirmed: the host was reached over a new connection\n");
		if (end_trial(part, &err) < 0) {
			fprintf(stderr, "berth config apply: %s\n", err.msg);
		}
		int status = finish_live(part, gen, prev, before, o);
		if (status == 0 && part_writable(1, &err) == 0) {
			prune(part, gen, prev);
			part_writable(0, &err);
		}
		return status;
	}
	json_object_put(before);
	char why[160];
	snprintf(why, sizeof(why),
		 "its network change was not confirmed within %d s (no new connection reached the host)",
		 o->confirm_timeout);
	fprintf(stderr, "berth config apply: %s; rolling back to generation %u\n", why, prev);
	note_failed(part, gen, why);
	if (use_generation(part, prev, &err) < 0 || end_trial(part, &err) < 0) {
		return fail("apply", &err);
	}
	fprintf(stderr, "berth config apply: generation %u is in use again\n", prev);
	return 1;
}

/* In the trial's process: stdio to the log, out of the caller's session. */
static void trial_process(int part, unsigned gen, unsigned prev, const struct apply_opts *o)
{
	int log = open(TRIAL_DIR "/log", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (log < 0 || null < 0 || dup2(null, STDIN_FILENO) < 0 || dup2(log, STDOUT_FILENO) < 0 ||
	    dup2(log, STDERR_FILENO) < 0) {
		_exit(1);
	}
	signal(SIGHUP, SIG_IGN);
	int status = run_trial(part, gen, prev, o);
	fflush(stdout);
	struct berr err = {0};
	if (trial_state_finish(TRIAL_DIR, status, &err) < 0) {
		fprintf(stderr, "berth config apply: %s\n", err.msg);
	}
	_exit(status);
}

static int start_trial(int part, unsigned gen, unsigned prev, const struct apply_opts *o)
{
	rm_tree_at(AT_FDCWD, TRIAL_DIR, 0);
	struct berr err = {0};
	if (mkdir(TRIAL_DIR, 0700) < 0) {
		perror("berth config: mkdir " TRIAL_DIR);
		return 1;
	}
	if (trial_state_create(TRIAL_DIR, gen, &err) < 0) {
		return fail("apply", &err);
	}
	printf("host.yaml changes the network: generation %u goes on trial. Confirm it from a new connection "
	       "within %d s (berth config confirm), or generation %u comes back by itself.\n",
	       gen, o->confirm_timeout, prev);
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0) {
		perror("berth config: fork");
		return 1;
	}
	if (pid == 0) {
		setsid();
		pid_t inner = fork();
		if (inner == 0) {
			trial_process(part, gen, prev, o);
		}
		/* Recorded before the caller follows the trial: it must find
		 * the process it waits for. */
		_exit(inner < 0 || trial_state_set_pid(TRIAL_DIR, (int)inner, &err) < 0);
	}
	int status = 0;
	waitpid(pid, &status, 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "berth config: could not start the trial\n");
		return 1;
	}
	if (o->trial_detach) {
		return CONFIG_TRIAL_PENDING;
	}
	printf("(Ctrl-C leaves the trial running)\n");
	return follow_trial();
}

/* Goes to gen: on trial when it changes the network, else live. */
static int go(int part, unsigned gen, unsigned prev, const struct apply_opts *o)
{
	return needs_trial(prev, gen) ? start_trial(part, gen, prev, o) : go_live(part, gen, prev, o);
}

static int cmd_confirm(void)
{
	struct trial_state t;
	unsigned g;
	if (trial_state_load(TRIAL_DIR, &t, NULL) < 0) {
		fprintf(stderr, "berth config confirm: no generation is on trial\n");
		return 1;
	}
	if (!trial_running(&g)) {
		printf("generation %u was on trial and its trial is over:\n", t.gen);
		follow_trial();
		int expired = trial_state_load(TRIAL_DIR, &t, NULL) == 0 && t.phase == TRIAL_EXPIRED;
		return expired ? CONFIG_TRIAL_OVER : 1;
	}
	struct berr err = {0};
	int moved = trial_state_move(TRIAL_DIR, TRIAL_WAITING, TRIAL_CONFIRMED, &t, &err);
	if (moved < 0) {
		return fail("confirm", &err);
	}
	if (moved == 0 && t.phase == TRIAL_EXPIRED) {
		printf("generation %u was not confirmed in time and is being put back:\n", t.gen);
		follow_trial();
		return CONFIG_TRIAL_OVER;
	}
	/* Only a connection made after the change proves anything. */
	if (moved == 0 && t.phase == TRIAL_STARTING) {
		fprintf(stderr, "berth config confirm: generation %u's network is not applied yet; connect again\n",
			t.gen);
		return CONFIG_TRIAL_NOT_YET;
	}
	printf(moved ? "generation %u confirmed from this connection\n" : "generation %u was confirmed already\n",
	       t.gen);
	return follow_trial();
}

static unsigned newest(int part)
{
	static unsigned gens[GENS_MAX];
	size_t n = 0;
	struct berr err = {0};
	configgen_list(part, gens, GENS_MAX, &n, &err);
	return n > 0 ? gens[n - 1] : 0;
}

/* One change at a time: not while a trial waits for its confirmation. */
static int refuse_during_trial(const char *what)
{
	unsigned gen;
	if (!trial_running(&gen)) {
		return 0;
	}
	fprintf(stderr,
		"berth config %s: generation %u is on trial; confirm it (berth config confirm, from a new "
		"connection) or wait until it is put back\n",
		what, gen);
	return 1;
}

static int cmd_apply(const struct apply_opts *o, int diff_only)
{
	struct berr err = {0};
	const char *what = diff_only ? "diff" : "apply";
	if (!diff_only && refuse_during_trial(what)) {
		return 1;
	}
	auto_close int part = part_open(&err);
	unsigned in_use = 0;
	if (part < 0 || configgen_current(part, &in_use, &err) < 0) {
		return fail(what, &err);
	}
	unsigned gen = newest(part) + 1;
	if (gen > CONFIGGEN_MAX) {
		fprintf(stderr, "berth config %s: CONFIG has generation %u already\n", what, gen - 1);
		return 1;
	}
	char staged[PATH_MAX];
	if (part_writable(1, &err) < 0) {
		return fail(what, &err);
	}
	int ret = stage(part, in_use, gen, o->src, staged, sizeof(staged), &err);
	int status =
		ret < 0 ? fail(what, &err)
			: config_check_as(staged, strcmp(o->src, "-") == 0 ? "the configuration received" : o->src);
	if (status != 0) {
		fprintf(stderr, "berth config %s: nothing changed\n", what);
	} else {
		show_diff(CONFIG_MOUNT, staged);
	}
	if (status != 0 || diff_only) {
		rm_tree_at(part, CONFIGGEN_TMP_DIR, 0);
		part_writable(0, &err);
		return status;
	}
	failpoint("config-staged");
	char tmp[64];
	char final[64];
	snprintf(tmp, sizeof(tmp), "%s/%u", CONFIGGEN_TMP_DIR, gen);
	configgen_path(gen, final, sizeof(final));
	if (mkdir_at(part, CONFIGGEN_GEN_DIR, &err) < 0 || renameat(part, tmp, part, final) < 0) {
		int e = errno;
		part_writable(0, &err);
		return fail("apply", err.code ? &err : &(struct berr){.code = e, .msg = "rename the new generation"});
	}
	auto_close int gendir = openat(part, CONFIGGEN_GEN_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (gendir < 0 || fsync(gendir) < 0) {
		part_writable(0, &err);
		return fail("apply", &(struct berr){.code = EIO, .msg = "fsync CONFIG's .berth/gen"});
	}
	failpoint("config-renamed");
	part_writable(0, &err);
	status = go(part, gen, in_use, o);
	if (status == 0) {
		part_writable(1, &err);
		prune(part, gen, in_use);
		part_writable(0, &err);
	}
	return status;
}

/* The partition, the generation in use and every kept one, ascending. */
struct gen_table {
	int part;
	unsigned in_use;
	size_t n;
	unsigned gens[GENS_MAX];
};

static int gen_table_load(struct gen_table *t, struct berr *err)
{
	t->in_use = 0;
	t->n = 0;
	t->part = part_open(err);
	if (t->part < 0) {
		return -1;
	}
	if (configgen_current(t->part, &t->in_use, err) < 0 ||
	    configgen_list(t->part, t->gens, GENS_MAX, &t->n, err) < 0) {
		close(t->part);
		t->part = -1;
		return -1;
	}
	return 0;
}

static int cmd_history(void)
{
	struct berr err = {0};
	static struct gen_table t;
	if (gen_table_load(&t, &err) < 0) {
		return fail("history", &err);
	}
	auto_close int part = t.part;
	unsigned in_use = t.in_use;
	const unsigned *gens = t.gens;
	size_t n = t.n;
	unsigned trial_gen = 0;
	int on_trial = trial_running(&trial_gen) && trial_gen == in_use;
	printf("%-12s %-22s %s\n", "GENERATION", "WRITTEN (UTC)", "STATE");
	for (size_t i = n; i-- > 0;) {
		char path[64];
		configgen_path(gens[i], path, sizeof(path));
		struct stat st;
		char when[32] = "-";
		if (fstatat(part, path, &st, 0) == 0) {
			struct tm tm;
			gmtime_r(&st.st_mtime, &tm);
			strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
		}
		char failed[600] = "";
		char fpath[64];
		snprintf(fpath, sizeof(fpath), "%s/%s/%u.failed", CONFIGGEN_PART_MOUNT, CONFIGGEN_GEN_DIR, gens[i]);
		int was_failed = read_file(fpath, failed, sizeof(failed), NULL) >= 0;
		printf("%-12u %-22s %s%s%s%s%s\n", gens[i], when, gens[i] == in_use ? "in use" : "kept",
		       gens[i] == 0 ? " (as flashed)" : "", gens[i] == in_use && on_trial ? " (on trial)" : "",
		       was_failed ? "; rolled back: " : "", failed);
	}
	return 0;
}

static int kept(const struct gen_table *t, unsigned gen)
{
	for (size_t i = 0; i < t->n; i++) {
		if (t->gens[i] == gen) {
			return 1;
		}
	}
	return 0;
}

static int failed(const struct gen_table *t, unsigned gen)
{
	char name[64];
	snprintf(name, sizeof(name), "%s/%u.failed", CONFIGGEN_GEN_DIR, gen);
	return faccessat(t->part, name, F_OK, 0) == 0;
}

/* The generation NAMED (kept, not in use); without a name the one in use
 * before this one, unless it failed (then the newest older one that did
 * not). */
static int rollback_target(const struct gen_table *t, const char *named, unsigned *target)
{
	if (named != NULL) {
		return configgen_parse(named, target) == 0 && *target != t->in_use && kept(t, *target);
	}
	struct berr ignored = {0};
	if (configgen_previous(t->part, target, &ignored) == 0 && *target != t->in_use && kept(t, *target) &&
	    !failed(t, *target)) {
		return 1;
	}
	int found = 0;
	for (size_t i = 0; i < t->n && t->gens[i] < t->in_use; i++) {
		if (!failed(t, t->gens[i])) {
			*target = t->gens[i];
			found = 1;
		}
	}
	return found;
}

static int cmd_rollback(int argc, char **argv, const struct apply_opts *o)
{
	struct berr err = {0};
	if (refuse_during_trial("rollback")) {
		return 1;
	}
	static struct gen_table t;
	if (gen_table_load(&t, &err) < 0) {
		return fail("rollback", &err);
	}
	auto_close int part = t.part;
	unsigned target = 0;
	if (!rollback_target(&t, argc > 0 ? argv[0] : NULL, &target)) {
		fprintf(stderr, "berth config rollback: %s (berth config history lists them)\n",
			argc > 0 ? "no such generation, or it is in use" : "no generation before the one in use");
		return 1;
	}
	struct apply_opts keep = *o;
	keep.no_rollback = 1; /* going back is the way out: it is not undone */
	return go(part, target, t.in_use, &keep);
}

static int parse_opts(int argc, char **argv, struct apply_opts *o)
{
	o->timeout = APPLY_TIMEOUT_DEFAULT;
	o->confirm_timeout = CONFIRM_TIMEOUT_DEFAULT;
	int i = 2;
	for (; i < argc && argv[i][0] == '-' && argv[i][1] != '\0'; i++) {
		if (strcmp(argv[i], "--no-rollback") == 0) {
			o->no_rollback = 1;
		} else if (strcmp(argv[i], "--trial-detach") == 0) {
			o->trial_detach = 1;
		} else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc && atoi(argv[i + 1]) > 0) {
			o->timeout = atoi(argv[++i]);
		} else if (strcmp(argv[i], "--confirm-timeout") == 0 && i + 1 < argc && atoi(argv[i + 1]) > 0) {
			o->confirm_timeout = atoi(argv[++i]);
		} else {
			return -1;
		}
	}
	return i;
}

static int usage(void)
{
	fprintf(stderr, "usage: berth config check [DIR]\n"
			"       berth config apply [--no-rollback] [--timeout SECS] [--confirm-timeout SECS] DIR|-\n"
			"       berth config diff DIR|-\n"
			"       berth config history\n"
			"       berth config rollback [--confirm-timeout SECS] [GENERATION]\n"
			"       berth config confirm\n");
	return 1;
}

int configapply_main(int argc, char **argv)
{
	failpoint_arm_from_env();
	signal(SIGPIPE, SIG_IGN);
	struct apply_opts o = {0};
	const char *sub = argc > 1 ? argv[1] : "";
	int i = parse_opts(argc, argv, &o);
	if (i < 0) {
		return usage();
	}
	if ((strcmp(sub, "apply") == 0 || strcmp(sub, "diff") == 0) && i + 1 == argc) {
		o.src = argv[i];
		return cmd_apply(&o, sub[0] == 'd');
	}
	if (strcmp(sub, "history") == 0 && argc == 2) {
		return cmd_history();
	}
	if (strcmp(sub, "confirm") == 0 && argc == 2) {
		return cmd_confirm();
	}
	if (strcmp(sub, "rollback") == 0 && argc - i <= 1) {
		return cmd_rollback(argc - i, argv + i, &o);
	}
	return usage();
}

/* A trial the host started (CONFIG_TRIAL_PENDING): confirmed from a new
 * connection, made once the host's network has changed, which is the
 * proof that the host can still be reached; when none gets through, the
 * host goes back by itself, and this waits to show it. */
static int confirm_from_desk(const struct remote *r, int timeout)
{
	struct remote fresh = *r;
	fresh.fresh = 1;
	char *confirm[] = {"config", "confirm", NULL};
	printf("confirming from a new connection to %s\n", r->url);
	fflush(stdout);
	time_t start = time(NULL);
	int said = 0;
	/* The host switches a second after the first connection ends; after
	 * the timeout, a connection that gets through shows the way back. */
	while (time(NULL) - start < timeout + 90) {
		int status = remote_exec(&fresh, 2, confirm, 0, 1);
		if (status == CONFIG_TRIAL_OVER) {
			fprintf(stderr,
				"berth config: %s could not be reached over a new connection within %d s of its "
				"network change, and went back by itself (above)\n",
				r->url, timeout);
			return 1;
		}
		if (status != 255 && status != CONFIG_TRIAL_NOT_YET) {
			return status;
		}
		if (!said && time(NULL) - start >= timeout + 5) {
			fprintf(stderr,
				"berth config: %s could not be reached over a new connection within %d s of its "
				"network change; it puts the generation before back by itself\n",
				r->url, timeout);
			said = 1;
		}
		sleep(2);
	}
	fprintf(stderr, "berth config: %s is still unreachable\n", r->url);
	return 1;
}

/* argv with --trial-detach after the subcommand (at most 32 words). */
static char **with_detach(int argc, char **argv, char **out)
{
	int n = 0;
	for (int i = 0; i < argc && n < 31; i++) {
		out[n++] = argv[i];
		if (i == 1) {
			out[n++] = "--trial-detach";
		}
	}
	out[n] = NULL;
	return out;
}

int configapply_remote(const struct remote *r, int argc, char **argv)
{
	struct apply_opts o = {0};
	int i = parse_opts(argc, argv, &o);
	int sends = argc > 1 && (strcmp(argv[1], "apply") == 0 || strcmp(argv[1], "diff") == 0);
	int may_trial = argc > 1 && argc < 31 && (strcmp(argv[1], "apply") == 0 || strcmp(argv[1], "rollback") == 0);
	char *detached[32];
	if (may_trial && i >= 0) {
		argv = with_detach(argc++, argv, detached);
		i++;
	}
	if (!sends || i < 0 || i + 1 != argc || strcmp(argv[i], "-") == 0) {
		int status = remote_exec(r, argc, argv, 0, !sends);
		return may_trial && status == CONFIG_TRIAL_PENDING ? confirm_from_desk(r, o.confirm_timeout) : status;
	}
	/* The checks the host runs, here first: nothing is sent on an error. */
	if (config_check(argv[i]) != 0) {
		fprintf(stderr, "berth config %s: nothing was sent to %s\n", argv[1], r->url);
		return 1;
	}
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		perror("berth config: pipe");
		return 1;
	}
	const char *dir = argv[i];
	argv[i] = "-";
	pid_t ssh = remote_spawn(r, argc, argv, p[0], -1);
	close(p[0]);
	if (ssh < 0) {
		close(p[1]);
		return 1;
	}
	struct berr err = {0};
	int ret = cp_pack_contents(dir, p[1], &err);
	close(p[1]);
	int status = remote_wait(ssh);
	if (ret < 0) {
		return fail(argv[1], &err);
	}
	return may_trial && status == CONFIG_TRIAL_PENDING ? confirm_from_desk(r, o.confirm_timeout) : status;
}
