/* A container's cgroup on cgroup v2 (see cgroup.h). Owns the cgroup's
 * directory and what is written into it; outside it, it only ever enables
 * controllers in the ancestors' cgroup.subtree_control. It never creates
 * files (cgroupfs makes them; a missing one means a controller is off) and
 * never follows a symlink (cgroupfs has none). Device rules: devfilter.c. */
#include "oci/cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/decimal.h"
#include "lib/fsutil.h"
#include "lib/timeutil.h"

#define DEFAULT_PARENT "/berth-oci"
#define FREEZE_TIMEOUT_MS 2000
#define FREEZE_POLL_MS 100
#define DESTROY_TIMEOUT_MS 1000
#define KILL_ROUNDS 10
#define MAX_DEPTH 64	    /* sub-cgroup nesting followed when listing or removing */
#define SMALL_FILE_MAX 4096 /* cgroup.controllers, cgroup.events, memory.events */
#define VALUE_MAX 64	    /* a number, "max" or "MAJ:MIN key=N" */

/* What a container can be limited by; the kernel offers these on Berth. */
static const char *const wanted_controllers[] = {"cpu", "cpuset", "io", "memory", "pids"};

/* ---- small helpers ---------------------------------------------------------- */

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {.tv_sec = ms / 1000u, .tv_nsec = (long)(ms % 1000u) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
	}
}

/* Reads a whole small file from offset 0 with pread, so that one fd can be
 * read again (cgroup.events while waiting for a freeze). */
static ssize_t read_fd(int fd, char *buf, size_t size)
{
	size_t len = 0;
	for (;;) {
		if (len == size - 1) {
			char probe;
			ssize_t more = pread(fd, &probe, 1, (off_t)len);
			if (more > 0) {
				return -EFBIG;
			}
			break;
		}
		ssize_t n = pread(fd, buf + len, size - 1 - len, (off_t)len);
		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			return -errno;
		}
		if (n == 0) {
			break;
		}
		len += (size_t)n;
	}
	buf[len] = '\0';
	return (ssize_t)len;
}

static ssize_t read_at(int dirfd, const char *name, char *buf, size_t size)
{
	auto_close int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	if (fd < 0) {
		return -errno;
	}
	return read_fd(fd, buf, size);
}

static int has_file(int dirfd, const char *name)
{
	struct stat st;
	return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

/* Whether a space-separated list (cgroup.controllers) holds word. */
static int has_word(const char *list, const char *word)
{
	size_t wlen = strlen(word);
	const char *p = list;
	while (*p != '\0') {
		while (*p == ' ' || *p == '\n' || *p == '\t') {
			p++;
		}
		const char *start = p;
		while (*p != '\0' && *p != ' ' && *p != '\n' && *p != '\t') {
			p++;
		}
		if ((size_t)(p - start) == wlen && wlen > 0 && memcmp(start, word, wlen) == 0) {
			return 1;
		}
	}
	return 0;
}

/* The value of KEY in a flat-keyed file ("key value" lines: cgroup.events,
 * memory.events); -ENOENT when the key is absent. */
static int keyed_value(const char *text, const char *key, uint64_t *out)
{
	size_t klen = strlen(key);
	for (const char *line = text; *line != '\0';) {
		const char *eol = strchr(line, '\n');
		if (strncmp(line, key, klen) == 0 && line[klen] == ' ') {
			char *end;
			errno = 0;
			unsigned long long v = strtoull(line + klen + 1, &end, 10);
			if (errno != 0 || end == line + klen + 1 || (*end != '\n' && *end != '\0')) {
				return -EINVAL;
			}
			*out = v;
			return 0;
		}
		if (eol == NULL) {
			break;
		}
		line = eol + 1;
	}
	return -ENOENT;
}

/* ---- writing interface files ------------------------------------------------ */

/* Fills err for a failed write of value to file, with a hint where the
 * errno alone misleads: a missing file means that its controller is not
 * enabled for this cgroup (or not in the kernel); io.weight refuses
 * per-device weights where io.cost is off; EBUSY on subtree_control is the
 * "no internal processes" rule. */
static int write_error(const char *cgpath, const char *file, const char *value, int code, struct berr *err)
{
	int vlen = (int)strcspn(value, "\n");
	if (vlen > 200) {
		vlen = 200;
	}
	const char *dot = strchr(file, '.');
	if (code == ENOENT && dot != NULL && strncmp(file, "cgroup.", 7) != 0) {
		return berr_setx(err, code, "cgroup %s: %s = %.*s: %s (is the %.*s controller enabled?)", cgpath, file,
				 vlen, value, strerror(code), (int)(dot - file), file);
	}
	if (code == EOPNOTSUPP && strcmp(file, "io.weight") == 0 && strchr(value, ':') != NULL) {
		return berr_setx(err, code, "cgroup %s: %s = %.*s: %s (io.cost is not enabled for this device)", cgpath,
				 file, vlen, value, strerror(code));
	}
	if (code == EBUSY && strcmp(file, "cgroup.subtree_control") == 0) {
		return berr_setx(err, code,
				 "cgroup %s: %s = %.*s: %s (a cgroup with processes of its own cannot pass controllers "
				 "to its children)",
				 cgpath, file, vlen, value, strerror(code));
	}
	return berr_set(err, code, "cgroup %s: %s = %.*s", cgpath, file, vlen, value);
}

/* One write() per value: cgroupfs takes each write as one command. */
static int write_value(int fd, const char *cgpath, const char *file, const char *value, struct berr *err)
{
	size_t len = strlen(value);
	ssize_t n;
	do {
		n = write(fd, value, len);
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		return write_error(cgpath, file, value, errno, err);
	}
	if ((size_t)n != len) {
		return berr_setx(err, EIO, "cgroup %s: %s = %s: short write", cgpath, file, value);
	}
	return 0;
}

static int write_at(int dirfd, const char *cgpath, const char *file, const char *value, struct berr *err)
{
	/* O_TRUNC does nothing on cgroupfs; it keeps the tests' stand-in files
	 * holding exactly the last value written. */
	auto_close int fd = openat(dirfd, file, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	if (fd < 0) {
		return write_error(cgpath, file, value, errno, err);
	}
	return write_value(fd, cgpath, file, value, err);
}

static int cg_write(const struct cgroup *cg, const char *file, const char *value, struct berr *err)
{
	return write_at(cg->dirfd, cg->path, file, value, err);
}

/* A file that takes several lines (io.max, per-device weights), written
 * through one fd so that all of them land (and stay visible in tests). */
struct line_file {
	const struct cgroup *cg;
	const char *name;
	int fd;
};

static int line_write(struct line_file *f, const char *line, struct berr *err)
{
	if (f->fd < 0) {
		f->fd = openat(f->cg->dirfd, f->name, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
		if (f->fd < 0) {
			return write_error(f->cg->path, f->name, line, errno, err);
		}
	}
	return write_value(f->fd, f->cg->path, f->name, line, err);
}

static void line_close(struct line_file *f)
{
	if (f->fd >= 0) {
		close(f->fd);
		f->fd = -1;
	}
}

/* ---- paths and creation ----------------------------------------------------- */

int cgroup_path_resolve(char *out, size_t size, const char *cgroups_path, const char *id, struct berr *err)
{
	char given[PATH_MAX];
	if (size < 2) {
		return berr_setx(err, EINVAL, "cgroups path: no room for the result");
	}
	out[0] = '\0';
	if (cgroups_path == NULL || cgroups_path[0] == '\0') {
		if (id == NULL || id[0] == '\0' || strchr(id, '/') != NULL || strcmp(id, ".") == 0 ||
		    strcmp(id, "..") == 0) {
			return berr_setx(err, EINVAL, "container id '%.100s' cannot name a cgroup",
					 id != NULL ? id : "");
		}
		int n = snprintf(given, sizeof(given), "%s/%s", DEFAULT_PARENT, id);
		if (n < 0 || (size_t)n >= sizeof(given)) {
			return berr_setx(err, ENAMETOOLONG, "container id '%.100s...' is too long", id);
		}
	} else {
		/* runc reads "slice:prefix:name" only with --systemd-cgroup; a
		 * colon in a relative path means that form was meant. */
		if (cgroups_path[0] != '/' && strchr(cgroups_path, ':') != NULL) {
			return berr_setx(err, EOPNOTSUPP,
					 "cgroups path '%.200s': the systemd cgroup driver (slice:prefix:name) is not "
					 "supported; give a path such as /berth/NAME",
					 cgroups_path);
		}
		if (copy_string(given, sizeof(given), cgroups_path) < 0) {
			return berr_setx(err, ENAMETOOLONG, "cgroups path '%.100s...' is too long", cgroups_path);
		}
	}

	size_t len = 0;
	char *save = NULL;
	for (char *comp = strtok_r(given, "/", &save); comp != NULL; comp = strtok_r(NULL, "/", &save)) {
		if (strcmp(comp, ".") == 0) {
			continue;
		}
		if (strcmp(comp, "..") == 0) {
			return berr_setx(err, EINVAL, "cgroups path '%.200s': '..' is not allowed",
					 cgroups_path != NULL ? cgroups_path : "");
		}
		size_t clen = strlen(comp);
		if (clen > NAME_MAX) {
			return berr_setx(err, ENAMETOOLONG, "cgroups path: component '%.40s...' is too long", comp);
		}
		if (len + 1 + clen + 1 > size) {
			out[0] = '\0';
			return berr_setx(err, ENAMETOOLONG, "cgroups path '%.100s...' is too long", cgroups_path);
		}
		out[len++] = '/';
		memcpy(out + len, comp, clen);
		len += clen;
		out[len] = '\0';
	}
	if (len == 0) {
		return berr_setx(err, EINVAL, "cgroups path '%.200s' names the root cgroup; a container needs its own",
				 cgroups_path != NULL ? cgroups_path : "");
	}
	return 0;
}

/* Turns on the wanted controllers that dirfd's cgroup offers, in its
 * subtree_control, so that its children get their interface files. */
static int enable_controllers(int dirfd, const char *cgpath, struct berr *err)
{
	char offered[SMALL_FILE_MAX];
	char enabled[SMALL_FILE_MAX];
	ssize_t n = read_at(dirfd, "cgroup.controllers", offered, sizeof(offered));
	if (n == -ENOENT) {
		return berr_setx(err, ENOTSUP, "cgroup %s: no cgroup.controllers: not a cgroup v2 hierarchy", cgpath);
	}
	if (n < 0) {
		return berr_set(err, (int)-n, "cgroup %s: read cgroup.controllers", cgpath);
	}
	n = read_at(dirfd, "cgroup.subtree_control", enabled, sizeof(enabled));
	if (n < 0) {
		return berr_set(err, (int)-n, "cgroup %s: read cgroup.subtree_control", cgpath);
	}
	char add[VALUE_MAX];
	size_t len = 0;
	for (size_t i = 0; i < sizeof(wanted_controllers) / sizeof(wanted_controllers[0]); i++) {
		const char *c = wanted_controllers[i];
		if (!has_word(offered, c) || has_word(enabled, c)) {
			continue;
		}
		int w = snprintf(add + len, sizeof(add) - len, "%s+%s", len > 0 ? " " : "", c);
		if (w < 0 || (size_t)w >= sizeof(add) - len) {
			return berr_setx(err, EOVERFLOW, "cgroup %s: controller list too long", cgpath);
		}
		len += (size_t)w;
	}
	if (len == 0) {
		return 0;
	}
	/* One write for all: the kernel applies the list all or nothing. */
	return write_at(dirfd, cgpath, "cgroup.subtree_control", add, err);
}

/* Opens (and with create, makes) each component of a normalized path,
 * one openat at a time below the root's fd. */
static int walk(struct cgroup *cg, const char *root, const char *path, int create, struct berr *err)
{
	if (root == NULL) {
		root = CGROUP_ROOT;
	}
	auto_close int dir = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0) {
		return berr_set(err, errno, "open cgroup root %s", root);
	}
	char here[PATH_MAX] = "/";
	char name[NAME_MAX + 1];
	const char *p = path;
	while (*p == '/') {
		const char *start = p + 1;
		size_t clen = strcspn(start, "/");
		if (clen == 0 || clen > NAME_MAX) {
			return berr_setx(err, EINVAL, "cgroup %s: bad path", path);
		}
		memcpy(name, start, clen);
		name[clen] = '\0';
		if (create) {
			int rc = enable_controllers(dir, here, err);
			if (rc < 0) {
				return rc;
			}
		}
		size_t hlen = (size_t)(start + clen - path);
		memcpy(here, path, hlen);
		here[hlen] = '\0';
		if (create && mkdirat(dir, name, 0755) < 0 && errno != EEXIST) {
			return berr_set(err, errno, "cgroup %s: mkdir in %s", here, root);
		}
		int next = openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0) {
			return berr_set(err, errno, "cgroup %s: open in %s", here, root);
		}
		close(dir);
		dir = next;
		p = start + clen;
	}
	if (copy_string(cg->path, sizeof(cg->path), path) < 0) {
		return berr_setx(err, ENAMETOOLONG, "cgroup path too long");
	}
	cg->dirfd = take_fd(&dir);
	return 0;
}

int cgroup_create(struct cgroup *cg, const char *root, const char *cgroups_path, const char *id, struct berr *err)
{
	char path[PATH_MAX];
	cg->dirfd = -1;
	cg->path[0] = '\0';
	int rc = cgroup_path_resolve(path, sizeof(path), cgroups_path, id, err);
	if (rc < 0) {
		return rc;
	}
	return walk(cg, root, path, 1, err);
}

int cgroup_open(struct cgroup *cg, const char *root, const char *path, struct berr *err)
{
	char norm[PATH_MAX];
	cg->dirfd = -1;
	cg->path[0] = '\0';
	if (path == NULL || path[0] == '\0') {
		return berr_setx(err, EINVAL, "cgroup: no path to open");
	}
	int rc = cgroup_path_resolve(norm, sizeof(norm), path, NULL, err);
	if (rc < 0) {
		return rc;
	}
	return walk(cg, root, norm, 0, err);
}

/* The "0::/path" line of a /proc/PID/cgroup text: the unified hierarchy's. */
static int unified_line(const char *text, char *out, size_t size)
{
	const char *line = text;
	while (line != NULL && *line != '\0') {
		const char *end = strchr(line, '\n');
		size_t len = end != NULL ? (size_t)(end - line) : strlen(line);
		if (len > 3 && strncmp(line, "0::", 3) == 0 && len - 3 < size) {
			memcpy(out, line + 3, len - 3);
			out[len - 3] = '\0';
			return 0;
		}
		line = end != NULL ? end + 1 : NULL;
	}
	return -ENOENT;
}

int cgroup_open_for_exec(struct cgroup *cg, const char *root, const char *path, pid_t init_pid, struct berr *err)
{
	int rc = cgroup_open(cg, root, path, err);
	if (rc < 0) {
		return rc;
	}
	char controllers[512];
	ssize_t n = read_at(cg->dirfd, "cgroup.subtree_control", controllers, sizeof(controllers));
	if (n <= 0 || controllers[0] == '\n' || init_pid <= 0) {
		return 0;
	}
	/* An engine inside (dockerd) moved its processes to a leaf and handed the
	 * controllers down: cgroup v2 takes no process into this group any more
	 * (EBUSY), so the new process joins the container's init, below it. */
	char file[64];
	char text[4096];
	char below[PATH_MAX];
	snprintf(file, sizeof(file), "/proc/%d/cgroup", (int)init_pid);
	auto_close int fd = open(file, O_RDONLY | O_CLOEXEC);
	n = fd < 0 ? -errno : read_fd(fd, text, sizeof(text));
	if (n < 0) {
		cgroup_close(cg);
		return berr_set(err, (int)-n, "cgroup %s: read %s", path, file);
	}
	size_t plen = strlen(cg->path);
	if (unified_line(text, below, sizeof(below)) < 0 || strncmp(below, cg->path, plen) != 0 ||
	    (below[plen] != '/' && below[plen] != '\0')) {
		cgroup_close(cg);
		return berr_setx(err, EPERM,
				 "cgroup %s hands its controllers down, and the container's init (pid %d) is not in a "
				 "group below it",
				 path, (int)init_pid);
	}
	cgroup_close(cg);
	return cgroup_open(cg, root, below, err);
}

void cgroup_close(struct cgroup *cg)
{
	if (cg->dirfd >= 0) {
		close(cg->dirfd);
		cg->dirfd = -1;
	}
}

/* ---- conversions ------------------------------------------------------------ */

uint64_t cgroup_cpu_shares_to_weight(uint64_t shares)
{
	/* 0 is "unset" for runc. Out-of-range shares are clamped as cgroup v1
	 * clamped them (2..262144), which keeps the weight in 1..10000. */
	if (shares == 0) {
		return 0;
	}
	if (shares < 2) {
		shares = 2;
	}
	if (shares > 262144) {
		shares = 262144;
	}
	return 1 + ((shares - 2) * 9999) / 262142;
}

uint64_t cgroup_blkio_weight_to_io_weight(uint16_t weight)
{
	if (weight == 0) {
		return 0;
	}
	uint64_t w = weight < 10 ? 10 : weight > 1000 ? 1000 : weight;
	return 1 + ((w - 10) * 9999) / 990;
}

int cgroup_swap_max(int has_swap, int64_t swap, int has_limit, int64_t limit, int64_t *out, struct berr *err)
{
	int64_t mem = has_limit ? limit : 0;
	int64_t sw = has_swap ? swap : 0;
	/* As on cgroup v1, unlimited memory with swap unset means unlimited
	 * memory and swap. */
	if (mem == -1 && sw == 0) {
		*out = -1;
		return 1;
	}
	if (sw == 0) {
		return 0;
	}
	if (sw == -1) {
		*out = -1;
		return 1;
	}
	if (sw < -1) {
		return berr_setx(err, EINVAL, "linux.resources.memory.swap: %" PRId64 " is not a size or -1", sw);
	}
	if (mem == 0 || mem == -1) {
		return berr_setx(err, EINVAL,
				 "linux.resources.memory.swap: a swap limit needs a memory limit (swap is memory plus "
				 "swap)");
	}
	if (mem < 0) {
		return berr_setx(err, EINVAL, "linux.resources.memory.limit: %" PRId64 " is not a size or -1", mem);
	}
	if (sw < mem) {
		return berr_setx(err, EINVAL,
				 "linux.resources.memory.swap (%" PRId64 ") is less than memory.limit (%" PRId64
				 "); swap counts memory plus swap",
				 sw, mem);
	}
	/* cgroup v2 limits swap alone; the OCI value is memory plus swap. */
	*out = sw - mem;
	return 1;
}

static void format_limit(char *buf, size_t size, int64_t v)
{
	if (v == -1) {
		snprintf(buf, size, "max");
	} else {
		snprintf(buf, size, "%" PRId64, v);
	}
}

/* ---- resources -------------------------------------------------------------- */

static int unsupported(const char *field, struct berr *err)
{
	return berr_setx(err, EOPNOTSUPP, "linux.resources.%s: not supported with cgroup v2", field);
}

static int check_device_number(const char *field, size_t i, int64_t major, int64_t minor, struct berr *err)
{
	if (major < 0 || major > UINT32_MAX || minor < 0 || minor > UINT32_MAX) {
		return berr_setx(err, EINVAL, "linux.resources.blockIO.%s[%zu]: bad device %" PRId64 ":%" PRId64, field,
				 i, major, minor);
	}
	return 0;
}

/* blockIO's four throttle lists, each with its io.max key. */
struct throttle_list {
	const char *field;
	const char *key;
	const struct oci_throttle_device *v;
	size_t n;
};

#define THROTTLE_LISTS 4

static void throttle_lists(const struct oci_resources *r, struct throttle_list out[THROTTLE_LISTS])
{
	out[0] = (struct throttle_list){"throttleReadBpsDevice", "rbps", r->throttle_read_bps, r->nthrottle_read_bps};
	out[1] =
		(struct throttle_list){"throttleWriteBpsDevice", "wbps", r->throttle_write_bps, r->nthrottle_write_bps};
	out[2] = (struct throttle_list){"throttleReadIOPSDevice", "riops", r->throttle_read_iops,
					r->nthrottle_read_iops};
	out[3] = (struct throttle_list){"throttleWriteIOPSDevice", "wiops", r->throttle_write_iops,
					r->nthrottle_write_iops};
}

static int check_unified_key(const char *key, struct berr *err)
{
	if (key[0] == '\0' || key[0] == '.' || strchr(key, '/') != NULL || strchr(key, '.') == NULL) {
		return berr_setx(err, EINVAL,
				 "linux.resources.unified: '%.100s' is not a cgroup interface file name "
				 "(CONTROLLER.SETTING)",
				 key);
	}
	return 0;
}

/* Refuses what cgroup v2 cannot do and values that are wrong, before
 * anything is written, so that a bad config leaves the cgroup untouched. */
static int check_resources(const struct oci_resources *r, struct berr *err)
{
	if (r->has_memory_swappiness) {
		return unsupported("memory.swappiness", err);
	}
	if (r->disable_oom_killer) {
		return unsupported("memory.disableOOMKiller", err);
	}
	if (r->has_memory_limit && r->memory_limit < -1) {
		return berr_setx(err, EINVAL, "linux.resources.memory.limit: %" PRId64 " is not a size or -1",
				 r->memory_limit);
	}
	if (r->has_memory_reservation && r->memory_reservation < -1) {
		return berr_setx(err, EINVAL, "linux.resources.memory.reservation: %" PRId64 " is not a size or -1",
				 r->memory_reservation);
	}
	int64_t swap;
	int rc = cgroup_swap_max(r->has_memory_swap, r->memory_swap, r->has_memory_limit, r->memory_limit, &swap, err);
	if (rc < 0) {
		return rc;
	}
	if (r->has_blkio_weight && r->blkio_weight != 0 && (r->blkio_weight < 10 || r->blkio_weight > 1000)) {
		return berr_setx(err, EINVAL, "linux.resources.blockIO.weight: %u is not in 10..1000",
				 (unsigned)r->blkio_weight);
	}
	for (size_t i = 0; i < r->nweight_devices; i++) {
		const struct oci_weight_device *d = &r->weight_devices[i];
		if (d->has_leaf_weight) {
			char field[64];
			snprintf(field, sizeof(field), "blockIO.weightDevice[%zu].leafWeight", i);
			return unsupported(field, err);
		}
		rc = check_device_number("weightDevice", i, d->major, d->minor, err);
		if (rc < 0) {
			return rc;
		}
		if (d->has_weight && (d->weight < 10 || d->weight > 1000)) {
			return berr_setx(err, EINVAL,
					 "linux.resources.blockIO.weightDevice[%zu].weight: %u is not in 10..1000", i,
					 (unsigned)d->weight);
		}
	}
	struct throttle_list lists[THROTTLE_LISTS];
	throttle_lists(r, lists);
	for (size_t l = 0; l < THROTTLE_LISTS; l++) {
		for (size_t i = 0; i < lists[l].n; i++) {
			rc = check_device_number(lists[l].field, i, lists[l].v[i].major, lists[l].v[i].minor, err);
			if (rc < 0) {
				return rc;
			}
		}
	}
	for (size_t i = 0; i < r->nunified; i++) {
		rc = check_unified_key(r->unified[i].key, err);
		if (rc < 0) {
			return rc;
		}
	}
	return 0;
}

static int apply_cpuset(struct cgroup *cg, const struct oci_resources *r, struct berr *err)
{
	if (r->cpuset_cpus != NULL && r->cpuset_cpus[0] != '\0') {
		int rc = cg_write(cg, "cpuset.cpus", r->cpuset_cpus, err);
		if (rc < 0) {
			return rc;
		}
	}
	if (r->cpuset_mems != NULL && r->cpuset_mems[0] != '\0') {
		return cg_write(cg, "cpuset.mems", r->cpuset_mems, err);
	}
	return 0;
}

static int apply_memory(struct cgroup *cg, const struct oci_resources *r, struct berr *err)
{
	char v[VALUE_MAX];
	int rc;
	/* A limit of 0 is "unset" for runc, not "no memory at all". */
	if (r->has_memory_limit && r->memory_limit != 0) {
		format_limit(v, sizeof(v), r->memory_limit);
		if ((rc = cg_write(cg, "memory.max", v, err)) < 0) {
			return rc;
		}
	}
	int64_t swap;
	rc = cgroup_swap_max(r->has_memory_swap, r->memory_swap, r->has_memory_limit, r->memory_limit, &swap, err);
	if (rc < 0) {
		return rc;
	}
	if (rc == 1) {
		format_limit(v, sizeof(v), swap);
		/* Without swap accounting (no swap in the kernel) there is no
		 * memory.swap.max; "no limit" and "no swap" then hold anyway. */
		int has_swap_file = has_file(cg->dirfd, "memory.swap.max");
		if (!has_swap_file && swap != -1 && swap != 0 && has_file(cg->dirfd, "memory.max")) {
			return berr_setx(err, ENOENT,
					 "cgroup %s: memory.swap.max = %s: the kernel does not account swap (a swap "
					 "limit can only be -1 or equal to the memory limit)",
					 cg->path, v);
		}
		if (has_swap_file || (swap != -1 && swap != 0)) {
			if ((rc = cg_write(cg, "memory.swap.max", v, err)) < 0) {
				return rc;
			}
		}
	}
	if (r->has_memory_reservation && r->memory_reservation != 0) {
		format_limit(v, sizeof(v), r->memory_reservation);
		if ((rc = cg_write(cg, "memory.low", v, err)) < 0) {
			return rc;
		}
	}
	return 0;
}

static int apply_pids(struct cgroup *cg, const struct oci_resources *r, struct berr *err)
{
	if (!r->has_pids_limit) {
		return 0;
	}
	char v[VALUE_MAX];
	format_limit(v, sizeof(v), r->pids_limit <= 0 ? -1 : r->pids_limit);
	return cg_write(cg, "pids.max", v, err);
}

static int apply_cpu(struct cgroup *cg, const struct oci_resources *r, struct berr *err)
{
	char v[VALUE_MAX];
	char burst[VALUE_MAX];
	int rc;
	if (r->has_cpu_idle) {
		snprintf(v, sizeof(v), "%" PRId64, r->cpu_idle);
		if ((rc = cg_write(cg, "cpu.idle", v, err)) < 0) {
			return rc;
		}
	}
	if (r->has_cpu_shares && r->cpu_shares != 0) {
		snprintf(v, sizeof(v), "%" PRIu64, cgroup_cpu_shares_to_weight(r->cpu_shares));
		if ((rc = cg_write(cg, "cpu.weight", v, err)) < 0) {
			return rc;
		}
	}
	int set_max = (r->has_cpu_quota && r->cpu_quota != 0) || (r->has_cpu_period && r->cpu_period != 0);
	int burst_later = 0;
	if (r->has_cpu_burst) {
		/* The kernel wants burst <= quota. A burst above the old quota
		 * is refused until the new quota is in, so then retry after. */
		snprintf(burst, sizeof(burst), "%" PRIu64, r->cpu_burst);
		rc = cg_write(cg, "cpu.max.burst", burst, err);
		if (rc == -EINVAL && set_max) {
			berr_clear(err);
			burst_later = 1;
		} else if (rc < 0) {
			return rc;
		}
	}
	if (set_max) {
		/* "QUOTA [PERIOD]"; without a quota, "max": no limit. A missing
		 * period keeps the kernel's. */
		int n;
		if (r->has_cpu_quota && r->cpu_quota > 0) {
			n = snprintf(v, sizeof(v), "%" PRId64, r->cpu_quota);
		} else {
			n = snprintf(v, sizeof(v), "max");
		}
		if (r->has_cpu_period && r->cpu_period != 0 && n > 0 && (size_t)n < sizeof(v)) {
			snprintf(v + n, sizeof(v) - (size_t)n, " %" PRIu64, r->cpu_period);
		}
		if ((rc = cg_write(cg, "cpu.max", v, err)) < 0) {
			return rc;
		}
	}
	if (burst_later) {
		return cg_write(cg, "cpu.max.burst", burst, err);
	}
	return 0;
}

static int write_throttles(struct line_file *f, const struct throttle_list *t, struct berr *err)
{
	char line[VALUE_MAX];
	for (size_t i = 0; i < t->n; i++) {
		const struct oci_throttle_device *d = &t->v[i];
		/* On cgroup v1 a rate of 0 lifted the limit; io.max says that
		 * with "max" and refuses 0 (ERANGE). */
		if (d->rate == 0) {
			snprintf(line, sizeof(line), "%" PRId64 ":%" PRId64 " %s=max\n", d->major, d->minor, t->key);
		} else {
			snprintf(line, sizeof(line), "%" PRId64 ":%" PRId64 " %s=%" PRIu64 "\n", d->major, d->minor,
				 t->key, d->rate);
		}
		int rc = line_write(f, line, err);
		if (rc < 0) {
			return rc;
		}
	}
	return 0;
}

/* blockIO. Weights go to io.bfq.weight (the BFQ scheduler, v1's scale
 * 1..1000) and io.weight (io.cost, 1..10000, converted as runc does),
 * whichever the kernel has. A per-device weight goes to only one of them,
 * BFQ first: io.weight refuses devices where io.cost is not enabled. */
static int apply_io(struct cgroup *cg, const struct oci_resources *r, struct berr *err)
{
	struct line_file bfq = {.cg = cg, .name = "io.bfq.weight", .fd = -1};
	struct line_file iow = {.cg = cg, .name = "io.weight", .fd = -1};
	struct line_file max = {.cg = cg, .name = "io.max", .fd = -1};
	int has_bfq = has_file(cg->dirfd, "io.bfq.weight");
	int has_iow = has_file(cg->dirfd, "io.weight");
	char line[VALUE_MAX];
	int rc = 0;

	int any_weight = r->has_blkio_weight && r->blkio_weight != 0;
	for (size_t i = 0; i < r->nweight_devices; i++) {
		any_weight |= r->weight_devices[i].has_weight;
	}
	if (any_weight && !has_bfq && !has_iow) {
		return berr_setx(err, ENOENT,
				 "cgroup %s: blockIO weights: neither io.weight nor io.bfq.weight exists (is the io "
				 "controller enabled?)",
				 cg->path);
	}
	if (r->has_blkio_weight && r->blkio_weight != 0) {
		if (has_bfq) {
			snprintf(line, sizeof(line), "%u\n", (unsigned)r->blkio_weight);
			rc = line_write(&bfq, line, err);
		}
		if (rc == 0 && has_iow) {
			snprintf(line, sizeof(line), "%" PRIu64 "\n",
				 cgroup_blkio_weight_to_io_weight(r->blkio_weight));
			rc = line_write(&iow, line, err);
		}
	}
	for (size_t i = 0; rc == 0 && i < r->nweight_devices; i++) {
		const struct oci_weight_device *d = &r->weight_devices[i];
		if (!d->has_weight) {
			continue;
		}
		if (has_bfq) {
			snprintf(line, sizeof(line), "%" PRId64 ":%" PRId64 " %u\n", d->major, d->minor,
				 (unsigned)d->weight);
			rc = line_write(&bfq, line, err);
		} else {
			snprintf(line, sizeof(line), "%" PRId64 ":%" PRId64 " %" PRIu64 "\n", d->major, d->minor,
				 cgroup_blkio_weight_to_io_weight(d->weight));
			rc = line_write(&iow, line, err);
		}
	}
	struct throttle_list lists[THROTTLE_LISTS];
	throttle_lists(r, lists);
	for (size_t l = 0; rc == 0 && l < THROTTLE_LISTS; l++) {
		rc = write_throttles(&max, &lists[l], err);
	}
	line_close(&bfq);
	line_close(&iow);
	line_close(&max);
	return rc;
}

/* Last, so that a unified entry overrides what the fields set, as with
 * runc. */
static int apply_unified(struct cgroup *cg, const struct oci_resources *r, struct berr *err)
{
	for (size_t i = 0; i < r->nunified; i++) {
		int rc = cg_write(cg, r->unified[i].key, r->unified[i].value, err);
		if (rc < 0) {
			return rc;
		}
	}
	return 0;
}

int cgroup_apply(struct cgroup *cg, const struct oci_resources *r, struct berr *err)
{
	static int (*const steps[])(struct cgroup *, const struct oci_resources *, struct berr *) = {
		apply_cpuset, apply_memory, apply_pids, apply_cpu, apply_io, apply_unified,
	};
	int rc = check_resources(r, err);
	for (size_t i = 0; rc == 0 && i < sizeof(steps) / sizeof(steps[0]); i++) {
		rc = steps[i](cg, r, err);
	}
	return rc;
}

/* ---- processes -------------------------------------------------------------- */

int cgroup_add_process(struct cgroup *cg, pid_t pid, struct berr *err)
{
	char v[VALUE_MAX];
	snprintf(v, sizeof(v), "%d", (int)pid);
	return cg_write(cg, "cgroup.procs", v, err);
}

static int wait_frozen(struct cgroup *cg, int frozen, struct berr *err)
{
	auto_close int fd = openat(cg->dirfd, "cgroup.events", O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	if (fd < 0) {
		return berr_set(err, errno, "cgroup %s: open cgroup.events", cg->path);
	}
	uint64_t deadline = monotonic_ms() + FREEZE_TIMEOUT_MS;
	for (;;) {
		char buf[SMALL_FILE_MAX];
		ssize_t n = read_fd(fd, buf, sizeof(buf));
		if (n < 0) {
			return berr_set(err, (int)-n, "cgroup %s: read cgroup.events", cg->path);
		}
		uint64_t state;
		if (keyed_value(buf, "frozen", &state) < 0) {
			return berr_setx(err, EIO, "cgroup %s: cgroup.events has no 'frozen' line", cg->path);
		}
		if ((state != 0) == (frozen != 0)) {
			return 0;
		}
		uint64_t now = monotonic_ms();
		if (now >= deadline) {
			return berr_setx(err, ETIMEDOUT, "cgroup %s: not %s after %d ms", cg->path,
					 frozen ? "frozen" : "thawed", FREEZE_TIMEOUT_MS);
		}
		/* cgroupfs reports a change of cgroup.events as POLLPRI; the cap
		 * keeps re-reading where it does not (the tests' plain files). */
		uint64_t wait = deadline - now < FREEZE_POLL_MS ? deadline - now : FREEZE_POLL_MS;
		struct pollfd pfd = {.fd = fd, .events = POLLPRI};
		if (poll(&pfd, 1, (int)wait) < 0 && errno != EINTR) {
			return berr_set(err, errno, "cgroup %s: poll cgroup.events", cg->path);
		}
	}
}

int cgroup_freeze(struct cgroup *cg, int frozen, struct berr *err)
{
	int rc = cg_write(cg, "cgroup.freeze", frozen ? "1" : "0", err);
	if (rc < 0) {
		return rc;
	}
	rc = wait_frozen(cg, frozen, err);
	if (rc < 0 && frozen) {
		/* Half frozen is worse than running: the frozen processes may
		 * hold what the others wait for. */
		struct berr ignored;
		cg_write(cg, "cgroup.freeze", "0", &ignored);
	}
	return rc;
}

struct pid_list {
	pid_t *v;
	size_t n;
	size_t cap;
};

static int pid_list_add(struct pid_list *l, pid_t pid)
{
	if (l->n == l->cap) {
		size_t cap = l->cap == 0 ? 64 : l->cap * 2;
		pid_t *v = realloc(l->v, cap * sizeof(*v));
		if (v == NULL) {
			return -ENOMEM;
		}
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = pid;
	return 0;
}

static int is_subdir(int dirfd, const struct dirent *e)
{
	if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
		return 0;
	}
	if (e->d_type == DT_DIR) {
		return 1;
	}
	if (e->d_type != DT_UNKNOWN) {
		return 0;
	}
	struct stat st;
	return fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

/* A DIR stream on its own fd, so that reading it does not move dirfd's
 * offset and closing it does not close dirfd. */
static DIR *open_dir_stream(int dirfd)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		return NULL;
	}
	DIR *d = fdopendir(fd);
	if (d == NULL) {
		int saved = errno;
		close(fd);
		errno = saved;
	}
	return d;
}

static int read_procs(int dirfd, const char *cgpath, void *arg, struct berr *err)
{
	struct pid_list *l = arg;
	auto_close int fd = openat(dirfd, "cgroup.procs", O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	if (fd < 0) {
		return berr_set(err, errno, "cgroup %s: open cgroup.procs", cgpath);
	}
	auto_fclose FILE *f = fdopen(fd, "r");
	if (f == NULL) {
		return berr_set(err, errno, "cgroup %s: read cgroup.procs", cgpath);
	}
	fd = -1;
	char line[32];
	while (fgets(line, sizeof(line), f) != NULL) {
		trim_end(line);
		if (line[0] == '\0') {
			continue;
		}
		uint64_t pid;
		if (decimal_parse(line, INT32_MAX, &pid) < 0 || pid == 0) {
			return berr_setx(err, EIO, "cgroup %s: cgroup.procs: '%s' is not a pid", cgpath, line);
		}
		if (pid_list_add(l, (pid_t)pid) < 0) {
			return berr_setx(err, ENOMEM, "cgroup %s: out of memory listing pids", cgpath);
		}
	}
	if (ferror(f)) {
		return berr_set(err, errno, "cgroup %s: read cgroup.procs", cgpath);
	}
	return 0;
}

/* What visit_tree does at each cgroup: at_cgroup before its sub-cgroups,
 * after_child once a sub-cgroup's own tree is done (either may be NULL). */
struct tree_visit {
	int (*at_cgroup)(int dirfd, const char *cgpath, void *arg, struct berr *err);
	int (*after_child)(int dirfd, const char *name, const char *subpath, void *arg, struct berr *err);
	void *arg;
};

/* Walks the cgroup at dirfd and its descendants, depth first, through
 * openat of each directory entry (never following a symlink). */
static int visit_tree(int dirfd, const char *cgpath, int depth, const struct tree_visit *v, struct berr *err)
{
	if (v->at_cgroup != NULL) {
		int rc = v->at_cgroup(dirfd, cgpath, v->arg, err);
		if (rc < 0) {
			return rc;
		}
	}
	auto_closedir DIR *d = open_dir_stream(dirfd);
	if (d == NULL) {
		return berr_set(err, errno, "cgroup %s: open directory", cgpath);
	}
	for (;;) {
		errno = 0;
		struct dirent *e = readdir(d);
		if (e == NULL) {
			if (errno != 0) {
				return berr_set(err, errno, "cgroup %s: read directory", cgpath);
			}
			return 0;
		}
		if (!is_subdir(dirfd, e)) {
			continue;
		}
		char sub[PATH_MAX];
		snprintf(sub, sizeof(sub), "%s/%s", cgpath, e->d_name);
		if (depth >= MAX_DEPTH) {
			return berr_setx(err, ELOOP, "cgroup %s: nested deeper than %d", sub, MAX_DEPTH);
		}
		auto_close int subfd = openat(dirfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (subfd < 0) {
			if (errno == ENOENT) {
				continue; /* removed while we looked */
			}
			return berr_set(err, errno, "cgroup %s: open", sub);
		}
		int rc = visit_tree(subfd, sub, depth + 1, v, err);
		if (rc == 0 && v->after_child != NULL) {
			rc = v->after_child(dirfd, e->d_name, sub, v->arg, err);
		}
		if (rc < 0) {
			return rc;
		}
	}
}

int cgroup_pids(struct cgroup *cg, pid_t **pids, size_t *n, struct berr *err)
{
	struct pid_list l = {0};
	*pids = NULL;
	*n = 0;
	const struct tree_visit v = {.at_cgroup = read_procs, .arg = &l};
	int rc = visit_tree(cg->dirfd, cg->path, 0, &v, err);
	if (rc < 0) {
		free(l.v);
		return rc;
	}
	*pids = l.v;
	*n = l.n;
	return 0;
}

int cgroup_signal_all(struct cgroup *cg, int sig, struct berr *err)
{
	if (sig == SIGKILL && has_file(cg->dirfd, "cgroup.kill")) {
		return cg_write(cg, "cgroup.kill", "1", err);
	}
	/* A list of pids can miss a child forked after it was read. For other
	 * signals that is the caller's race to accept (as with kill(1)); for
	 * SIGKILL without cgroup.kill (kernels before 5.14), look again until
	 * nothing is left. */
	int rounds = sig == SIGKILL ? KILL_ROUNDS : 1;
	for (int round = 0; round < rounds; round++) {
		auto_free pid_t *pids = NULL;
		size_t n = 0;
		int rc = cgroup_pids(cg, &pids, &n, err);
		if (rc < 0) {
			return rc;
		}
		if (n == 0) {
			break;
		}
		for (size_t i = 0; i < n; i++) {
			if (kill(pids[i], sig) < 0 && errno != ESRCH) {
				return berr_set(err, errno, "cgroup %s: kill %d", cg->path, (int)pids[i]);
			}
		}
		if (round + 1 < rounds) {
			sleep_ms(10);
		}
	}
	return 0;
}

int cgroup_oom_kills(struct cgroup *cg, uint64_t *count, struct berr *err)
{
	char buf[SMALL_FILE_MAX];
	*count = 0;
	ssize_t n = read_at(cg->dirfd, "memory.events", buf, sizeof(buf));
	if (n == -ENOENT) {
		return berr_setx(err, ENOENT, "cgroup %s: no memory.events (is the memory controller enabled?)",
				 cg->path);
	}
	if (n < 0) {
		return berr_set(err, (int)-n, "cgroup %s: read memory.events", cg->path);
	}
	int rc = keyed_value(buf, "oom_kill", count);
	if (rc == -EINVAL) {
		return berr_setx(err, EIO, "cgroup %s: memory.events: bad oom_kill line", cg->path);
	}
	return 0;
}

/* ---- removal ---------------------------------------------------------------- */

/* Sub-cgroups go deepest first. cgroupfs removes a cgroup's interface
 * files with it: only directories are ever unlinked. */
static int remove_child(int dirfd, const char *name, const char *subpath, void *arg, struct berr *err)
{
	(void)arg;
	if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT) {
		return berr_set(err, errno, "cgroup %s: rmdir", subpath);
	}
	return 0;
}

int cgroup_destroy(struct cgroup *cg, struct berr *err)
{
	if (cg->dirfd < 0) {
		return berr_setx(err, EBADF, "cgroup %s: not open", cg->path);
	}
	const char *slash = strrchr(cg->path, '/');
	const char *base = slash != NULL ? slash + 1 : cg->path;
	if (base[0] == '\0') {
		return berr_setx(err, EINVAL, "cgroup %s: will not remove the root", cg->path);
	}
	/* The parent through "..", and a check that the name there is still
	 * this directory: never remove a cgroup that took its place. */
	auto_close int parent = openat(cg->dirfd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (parent < 0) {
		if (errno == ENOENT) {
			return 0;
		}
		return berr_set(err, errno, "cgroup %s: open parent", cg->path);
	}
	struct stat self;
	struct stat there;
	if (fstat(cg->dirfd, &self) < 0) {
		return berr_set(err, errno, "cgroup %s: stat", cg->path);
	}
	if (fstatat(parent, base, &there, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT) {
			return 0;
		}
		return berr_set(err, errno, "cgroup %s: stat", cg->path);
	}
	if (self.st_dev != there.st_dev || self.st_ino != there.st_ino) {
		return berr_setx(err, ESTALE, "cgroup %s: the directory was replaced; not removing it", cg->path);
	}

	/* rmdir says EBUSY while a cgroup still has processes: those that were
	 * just killed leave it as they finish exiting. */
	unsigned waited = 0;
	unsigned delay = 10;
	for (;;) {
		const struct tree_visit v = {.after_child = remove_child};
		int rc = visit_tree(cg->dirfd, cg->path, 0, &v, err);
		if (rc == 0) {
			if (unlinkat(parent, base, AT_REMOVEDIR) == 0 || errno == ENOENT) {
				return 0;
			}
			rc = errno == EBUSY ? -EBUSY : berr_set(err, errno, "cgroup %s: rmdir", cg->path);
		}
		if (rc != -EBUSY) {
			return rc;
		}
		if (waited >= DESTROY_TIMEOUT_MS) {
			return berr_setx(err, EBUSY, "cgroup %s: still has processes after %u ms; not removed",
					 cg->path, waited);
		}
		sleep_ms(delay);
		waited += delay;
		delay = delay * 2 > 100 ? 100 : delay * 2;
	}
}
