/* A container's resource counters and processes (see stats.h). */
#include "daemon/stats.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/fsutil.h"

#define CGROUP_ROOT "/sys/fs/cgroup"
#define STATS_FILE_MAX (256 * 1024)
#define TOP_PIDS_MAX 4096

int stats_cgroup_of(const char *text, char *out, size_t size)
{
	for (const char *line = text; *line != '\0';) {
		size_t len = strcspn(line, "\n");
		if (len > 3 && strncmp(line, "0::", 3) == 0) {
			size_t plen = len - 3;
			if (plen >= size || line[3] != '/' || memmem(line + 3, plen, "..", 2) != NULL) {
				return -EINVAL;
			}
			memcpy(out, line + 3, plen);
			out[plen] = '\0';
			return 0;
		}
		line += len + (line[len] == '\n');
	}
	return -EINVAL;
}

void stats_io(const char *text, long long *rbytes, long long *wbytes)
{
	*rbytes = 0;
	*wbytes = 0;
	for (const char *p = text; (p = strstr(p, "bytes=")) != NULL; p += 6) {
		if (p - text >= 1 && (p[-1] == 'r' || p[-1] == 'w') && (p - text == 1 || p[-2] == ' ')) {
			long long v = strtoll(p + 6, NULL, 10);
			*(p[-1] == 'r' ? rbytes : wbytes) += v;
		}
	}
}

void stats_net(const char *text, long long *rx, long long *tx)
{
	*rx = 0;
	*tx = 0;
	for (const char *line = text; *line != '\0';) {
		size_t len = strcspn(line, "\n");
		const char *colon = memchr(line, ':', len);
		if (colon != NULL) {
			const char *name = line;
			while (name < colon && *name == ' ') {
				name++;
			}
			if (!(colon - name == 2 && strncmp(name, "lo", 2) == 0)) {
				/* rx: bytes packets errs drop fifo frame compressed multicast; then tx bytes */
				long long f[9] = {0};
				if (sscanf(colon + 1, "%lld %lld %lld %lld %lld %lld %lld %lld %lld", &f[0], &f[1],
					   &f[2], &f[3], &f[4], &f[5], &f[6], &f[7], &f[8]) == 9) {
					*rx += f[0];
					*tx += f[8];
				}
			}
		}
		line += len + (line[len] == '\n');
	}
}

/* A whole small file of the container's, NUL-terminated (caller frees);
 * *len its length when len is not NULL. */
static char *slurp_len(const char *path, size_t *len, struct berr *err)
{
	char *data = NULL;
	size_t n = 0;
	if (read_file_alloc(AT_FDCWD, path, O_NOFOLLOW, STATS_FILE_MAX, NULL, &data, &n, err) < 0) {
		return NULL;
	}
	if (len != NULL) {
		*len = n;
	}
	return data;
}

static char *slurp(const char *path, struct berr *err)
{
	return slurp_len(path, NULL, err);
}

static long long number_in(const char *dir, const char *name, long long fallback)
{
	char path[PATH_MAX + 64];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	auto_free char *text = slurp(path, NULL);
	if (text == NULL || !isdigit((unsigned char)text[0])) {
		return fallback;
	}
	return strtoll(text, NULL, 10);
}

static long long key_in(const char *text, const char *key)
{
	size_t klen = strlen(key);
	for (const char *line = text; line != NULL && *line != '\0';) {
		if (strncmp(line, key, klen) == 0 && line[klen] == ' ') {
			return strtoll(line + klen + 1, NULL, 10);
		}
		line = strchr(line, '\n');
		line = line != NULL ? line + 1 : NULL;
	}
	return 0;
}

static long long host_memory(void)
{
	long pages = sysconf(_SC_PHYS_PAGES);
	long page = sysconf(_SC_PAGESIZE);
	return pages > 0 && page > 0 ? (long long)pages * page : 0;
}

/* The container's cgroup directory, from its init's /proc/PID/cgroup. */
static int group_dir(pid_t pid, char *out, size_t size, struct berr *err)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	auto_free char *text = slurp(path, err);
	char group[PATH_MAX];
	if (text == NULL) {
		return -ESRCH;
	}
	if (stats_cgroup_of(text, group, sizeof(group)) < 0) {
		return berr_setx(err, EINVAL, "%s: no cgroup v2 line", path);
	}
	int n = snprintf(out, size, "%s%s", CGROUP_ROOT, group);
	return n < 0 || (size_t)n >= size ? berr_setx(err, ENAMETOOLONG, "%s: path too long", path) : 0;
}

/* FILE of the container's cgroup, read whole (the caller's); DIR gets the
 * cgroup's directory. */
static char *group_file(pid_t pid, const char *file, char dir[PATH_MAX], struct berr *err)
{
	if (group_dir(pid, dir, PATH_MAX, err) < 0) {
		return NULL;
	}
	char path[PATH_MAX + 64];
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	return slurp(path, err);
}

static void add_int(json_object *o, const char *key, long long v)
{
	json_object_object_add(o, key, json_object_new_int64(v));
}

json_object *stats_read(pid_t pid, struct berr *err)
{
	char dir[PATH_MAX];
	auto_free char *cpu = group_file(pid, "cpu.stat", dir, err);
	if (cpu == NULL) {
		return NULL;
	}
	char path[PATH_MAX + 64];
	snprintf(path, sizeof(path), "%s/io.stat", dir);
	auto_free char *io = slurp(path, NULL);
	snprintf(path, sizeof(path), "/proc/%d/net/dev", (int)pid);
	auto_free char *net = slurp(path, NULL);
	long long rb = 0;
	long long wb = 0;
	long long rx = 0;
	long long tx = 0;
	stats_io(io != NULL ? io : "", &rb, &wb);
	stats_net(net != NULL ? net : "", &rx, &tx);
	json_object *o = json_object_new_object();
	add_int(o, "cpu_usec", key_in(cpu, "usage_usec"));
	add_int(o, "mem", number_in(dir, "memory.current", 0));
	add_int(o, "mem_limit", number_in(dir, "memory.max", host_memory()));
	add_int(o, "pids", number_in(dir, "pids.current", 0));
	add_int(o, "blk_read", rb);
	add_int(o, "blk_write", wb);
	add_int(o, "net_rx", rx);
	add_int(o, "net_tx", tx);
	return o;
}

/* One process of the container, or NULL when it has gone meanwhile. */
static json_object *process(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	auto_free char *stat = slurp(path, NULL);
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	auto_free char *status = slurp(path, NULL);
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	size_t clen = 0;
	auto_free char *cmdline = slurp_len(path, &clen, NULL);
	/* The command name in stat may hold spaces and parentheses: the
	 * fields go on after its last ')'. */
	const char *close = stat != NULL ? strrchr(stat, ')') : NULL;
	if (close == NULL || status == NULL) {
		return NULL;
	}
	char state;
	int ppid;
	unsigned long long utime;
	unsigned long long stime;
	if (sscanf(close + 1, " %c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &state, &ppid, &utime, &stime) !=
	    4) {
		return NULL;
	}
	const char *uid = strstr(status, "\nUid:");
	long hz = sysconf(_SC_CLK_TCK);
	json_object *o = json_object_new_object();
	add_int(o, "pid", pid);
	add_int(o, "ppid", ppid);
	add_int(o, "uid", uid != NULL ? strtoll(uid + 5, NULL, 10) : -1);
	add_int(o, "cpu_ms", (long long)((utime + stime) * 1000 / (unsigned long long)(hz > 0 ? hz : 100)));
	/* cmdline's words are NUL-separated. */
	for (size_t i = 0; cmdline != NULL && i + 1 < clen; i++) {
		if (cmdline[i] == '\0') {
			cmdline[i] = ' ';
		}
	}
	const char *shown = cmdline != NULL ? cmdline : "";
	json_object_object_add(o, "cmd", json_object_new_string(shown));
	return o;
}

json_object *stats_top(pid_t pid, struct berr *err)
{
	char dir[PATH_MAX];
	auto_free char *procs = group_file(pid, "cgroup.procs", dir, err);
	if (procs == NULL) {
		return NULL;
	}
	json_object *list = json_object_new_array();
	size_t count = 0;
	for (char *p = procs; *p != '\0' && count < TOP_PIDS_MAX; count++) {
		char *end;
		long v = strtol(p, &end, 10);
		if (end == p) {
			break;
		}
		json_object *o = v > 0 ? process((pid_t)v) : NULL;
		if (o != NULL) {
			json_object_array_add(list, o);
		}
		p = end + (*end == '\n');
	}
	return list;
}
