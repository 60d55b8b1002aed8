/* hostlog: the host log, kept across boots.
 *
 *   hostlog --daemon        (run by init) copy the kernel log, which holds
 *                           init's and every service's messages, to DATA
 *   hostlog [-b N] [-n N] [-f]   print a boot's log (0: this boot, -1: the one
 *                           before, ...), the last N lines, and follow it
 *   hostlog --boots         list the boots on record
 *
 * The RAM ring is the kernel's (/dev/kmsg). On DATA each boot has its own
 * directory under /data/log/host/, its log rotated by size, and only the
 * newest boots are kept. A separate process from PID 1, so that a slow or
 * broken disk can delay the log but never init. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/decimal.h"
#include "lib/fsutil.h"

#define LOG_ROOT "/data/log/host"
#define STATE_FILE "/run/berth/hostlog.state"
#define ROTATE_BYTES (1024 * 1024)
#define KEEP_ROTATED 3
#define KEEP_BOOTS 10
#define MAX_BOOTS 1000
/* Lines kept in memory while DATA takes no writes (full): about 1500. */
#define HELD_BYTES (256 * 1024)

static volatile sig_atomic_t stop_requested;

static void on_stop(int sig)
{
	(void)sig;
	stop_requested = 1;
}

__attribute__((noreturn, format(printf, 1, 2))) static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "hostlog: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

static void current_boot_id(char *out, size_t size)
{
	if (read_file("/proc/sys/kernel/random/boot_id", out, size, NULL) < 0) {
		snprintf(out, size, "unknown");
	}
	trim_end(out);
}

/* Boot directories are numbered; returns them sorted, oldest first. */
static int list_boots(long *nums, int max)
{
	auto_closedir DIR *d = opendir(LOG_ROOT);
	if (d == NULL) {
		return 0;
	}
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL && n < max) {
		uint64_t v;
		if (decimal_parse(de->d_name, LONG_MAX, &v) == 0 && v > 0) {
			nums[n++] = (long)v;
		}
	}
	for (int i = 1; i < n; i++) {
		for (int j = i; j > 0 && nums[j - 1] > nums[j]; j--) {
			long t = nums[j];
			nums[j] = nums[j - 1];
			nums[j - 1] = t;
		}
	}
	return n;
}

static void boot_dir(long num, char *out, size_t size)
{
	snprintf(out, size, LOG_ROOT "/%06ld", num);
}

static int boot_id_of(long num, char *out, size_t size)
{
	char dir[128];
	char path[160];
	boot_dir(num, dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/boot_id", dir);
	if (read_file(path, out, size, NULL) < 0) {
		return -1;
	}
	trim_end(out);
	return 0;
}

/* ---- daemon ---------------------------------------------------------------- */

struct writer {
	char dir[128];
	int fd;
	off_t size;
	int dirty;
	unsigned long long last_seq;
	int have_seq;
	char *held; /* lines not written yet (HELD_BYTES) */
	size_t held_len;
	unsigned long long dropped; /* lines that did not fit in held */
	time_t retry_at;	    /* CLOCK_MONOTONIC: no write is tried before */
	int broken;		    /* DATA failed (EIO, EROFS): no write is tried again */
};

static void remove_tree_files(const char *dir)
{
	auto_closedir DIR *d = opendir(dir);
	if (d == NULL) {
		return;
	}
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.') {
			char path[400];
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			unlink(path);
		}
	}
}

static void prune_boots(void)
{
	static long nums[MAX_BOOTS];
	int n = list_boots(nums, MAX_BOOTS);
	for (int i = 0; i < n - KEEP_BOOTS; i++) {
		char dir[128];
		boot_dir(nums[i], dir, sizeof(dir));
		remove_tree_files(dir);
		rmdir(dir);
	}
}

static int open_log(struct writer *w)
{
	char path[160];
	snprintf(path, sizeof(path), "%s/host.log", w->dir);
	w->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (w->fd < 0) {
		return -errno;
	}
	struct stat st;
	w->size = fstat(w->fd, &st) == 0 ? st.st_size : 0;
	return 0;
}

static void rotate(struct writer *w)
{
	char from[160];
	char to[160];
	close(w->fd);
	for (int i = KEEP_ROTATED; i >= 1; i--) {
		snprintf(to, sizeof(to), "%s/host.log.%d", w->dir, i);
		if (i == 1) {
			snprintf(from, sizeof(from), "%s/host.log", w->dir);
		} else {
			snprintf(from, sizeof(from), "%s/host.log.%d", w->dir, i - 1);
		}
		rename(from, to);
	}
	if (open_log(w) < 0) {
		w->fd = -1;
	}
}

/* This boot's directory: the newest one if it has this boot's id (the
 * daemon was restarted), else a new one. */
static int setup_writer(struct writer *w)
{
	char boot_id[64];
	static long nums[MAX_BOOTS];
	current_boot_id(boot_id, sizeof(boot_id));
	if (mkdir("/data/log", 0755) < 0 && errno != EEXIST) {
		return -errno;
	}
	if (mkdir(LOG_ROOT, 0750) < 0 && errno != EEXIST) {
		return -errno;
	}
	int n = list_boots(nums, MAX_BOOTS);
	long last = n > 0 ? nums[n - 1] : 0;
	char id[64];
	if (n > 0 && boot_id_of(last, id, sizeof(id)) == 0 && strcmp(id, boot_id) == 0) {
		boot_dir(last, w->dir, sizeof(w->dir));
	} else {
		boot_dir(last + 1, w->dir, sizeof(w->dir));
		if (mkdir(w->dir, 0750) < 0 && errno != EEXIST) {
			return -errno;
		}
		char path[160];
		snprintf(path, sizeof(path), "%s/boot_id", w->dir);
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
		if (fd >= 0) {
			dprintf(fd, "%s\n", boot_id);
			close(fd);
		}
		prune_boots();
	}
	/* Where a previous instance of this boot stopped. */
	char state[256];
	char sdir[128];
	unsigned long long seq;
	if (read_file(STATE_FILE, state, sizeof(state), NULL) > 0 && sscanf(state, "%127s %llu", sdir, &seq) == 2 &&
	    strcmp(sdir, w->dir) == 0) {
		w->last_seq = seq;
		w->have_seq = 1;
	}
	return open_log(w);
}

static void save_state(const struct writer *w)
{
	int fd = open(STATE_FILE ".tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd >= 0) {
		dprintf(fd, "%s %llu\n", w->dir, w->last_seq);
		close(fd);
		rename(STATE_FILE ".tmp", STATE_FILE);
	}
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9') {
		return c - '0';
	}
	if (c >= 'a' && c <= 'f') {
		return c - 'a' + 10;
	}
	return -1;
}

/* The kernel escapes tabs, backslashes and non-ASCII bytes as \xNN in
 * /dev/kmsg. Undo that for everything but control characters, which stay
 * escaped so that a log line never moves a terminal's cursor. */
static void unescape_record(char *text)
{
	char *out = text;
	for (char *in = text; *in; in++) {
		if (in[0] == '\\' && in[1] == 'x' && hex_digit(in[2]) >= 0 && hex_digit(in[3]) >= 0) {
			int v = hex_digit(in[2]) * 16 + hex_digit(in[3]);
			if (v == '\t' || v == '\\' || v >= 0x80) {
				*out++ = (char)v;
				in += 3;
				continue;
			}
		}
		*out++ = *in;
	}
	*out = '\0';
}

static const char *level_name(int level)
{
	static const char *const names[] = {"emerg", "alert", "crit", "err", "warn", "notice", "info", "debug"};
	return names[level & 7];
}

/* DATA failed: every write there would make the kernel log an error,
 * which this logger would read and try to write again, in a loop. */
static void stop_writing(struct writer *w, int e)
{
	if (!w->broken) {
		fprintf(stderr,
			"hostlog: cannot write %s: %s; the rest of this boot's log is in the kernel's ring only "
			"(dmesg)\n",
			w->dir, strerror(e));
	}
	w->broken = 1;
}

/* Appends whole lines to the log; a write that fails part way is cut back
 * to the last whole line. 0 or -1. */
static int append(struct writer *w, const char *data, size_t len)
{
	ssize_t n = write(w->fd, data, len);
	if (n == (ssize_t)len) {
		w->size += (off_t)len;
		w->dirty = 1;
		return 0;
	}
	int e = n < 0 ? errno : ENOSPC;
	if (n > 0 && ftruncate(w->fd, w->size) < 0) {
		w->size += n;
	}
	/* A full DATA is tried again once a second. */
	if (e == EIO || e == EROFS) {
		stop_writing(w, e);
	}
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	w->retry_at = now.tv_sec + 1;
	return -1;
}

/* Writes a line of the log. While DATA takes no writes (full), lines wait
 * in memory, and go out before the next line once it does: the log then
 * still tells what happened while DATA was full (init says so). */
static void put_line(struct writer *w, const char *line, size_t len)
{
	if (w->fd < 0 || w->broken) {
		return;
	}
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	int may_write = now.tv_sec >= w->retry_at;
	if (may_write && w->held_len > 0 && append(w, w->held, w->held_len) == 0) {
		w->held_len = 0;
		if (w->dropped > 0) {
			char note[160];
			int n = snprintf(note, sizeof(note), "hostlog: %llu lines were lost while %s took no writes\n",
					 w->dropped, LOG_ROOT);
			append(w, note, (size_t)n);
			w->dropped = 0;
		}
	}
	if (may_write && w->held_len == 0 && append(w, line, len) == 0) {
		return;
	}
	if (w->held == NULL) {
		w->held = malloc(HELD_BYTES);
	}
	if (w->held != NULL && w->held_len + len <= HELD_BYTES) {
		memcpy(w->held + w->held_len, line, len);
		w->held_len += len;
	} else {
		w->dropped++;
	}
}

/* One /dev/kmsg record: "prio,seq,usec,flags;text\n" plus continuation
 * lines. Writes one line of the host log. */
static void write_record(struct writer *w, char *rec, size_t len)
{
	rec[len] = '\0';
	char *semi = strchr(rec, ';');
	if (semi == NULL) {
		return;
	}
	*semi = '\0';
	unsigned prio = 0;
	unsigned long long seq = 0;
	unsigned long long usec = 0;
	if (sscanf(rec, "%u,%llu,%llu", &prio, &seq, &usec) != 3) {
		return;
	}
	if (w->have_seq && seq <= w->last_seq) {
		return;
	}
	char *text = semi + 1;
	char *nl = strchr(text, '\n');
	if (nl != NULL) {
		*nl = '\0';
	}
	unescape_record(text);
	struct timespec now_rt;
	struct timespec now_mono;
	clock_gettime(CLOCK_REALTIME, &now_rt);
	clock_gettime(CLOCK_MONOTONIC, &now_mono);
	long long mono_us = (long long)now_mono.tv_sec * 1000000 + now_mono.tv_nsec / 1000;
	long long wall_us = (long long)now_rt.tv_sec * 1000000 + now_rt.tv_nsec / 1000 - (mono_us - (long long)usec);
	time_t wall = (time_t)(wall_us / 1000000);
	struct tm tm;
	gmtime_r(&wall, &tm);
	char line[1400];
	int n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ [%5llu.%06llu] %-6s %s\n",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
			 wall_us % 1000000, usec / 1000000, usec % 1000000, level_name((int)prio), text);
	if (n < 0) {
		return;
	}
	if ((size_t)n >= sizeof(line)) {
		n = (int)sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	put_line(w, line, (size_t)n);
	w->last_seq = seq;
	w->have_seq = 1;
	if (w->size >= ROTATE_BYTES) {
		rotate(w);
	}
}

static void note(struct writer *w, const char *text)
{
	char rec[256];
	int n = snprintf(rec, sizeof(rec), "4,%llu,0,-;hostlog: %s", w->last_seq, text);
	int had = w->have_seq;
	w->have_seq = 0;
	write_record(w, rec, (size_t)n);
	w->have_seq = had;
}

static int daemon_main(void)
{
	struct writer w;
	memset(&w, 0, sizeof(w));
	w.fd = -1;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	int ret = setup_writer(&w);
	if (ret < 0) {
		fprintf(stderr, "hostlog: cannot write under %s: %s\n", LOG_ROOT, strerror(-ret));
		return 1;
	}
	int kmsg = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (kmsg < 0) {
		fprintf(stderr, "hostlog: open /dev/kmsg: %s\n", strerror(errno));
		return 1;
	}
	char rec[8192];
	time_t last_sync = 0;
	for (;;) {
		ssize_t n = read(kmsg, rec, sizeof(rec) - 1);
		if (n > 0) {
			write_record(&w, rec, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EPIPE) {
			note(&w, "the kernel log ring overflowed; some messages were lost");
			continue;
		}
		if (n < 0 && errno == EINTR && !stop_requested) {
			continue;
		}
		/* Caught up: make it durable, at most once a second. */
		time_t now = time(NULL);
		if (w.dirty && (now != last_sync || stop_requested)) {
			/* A failed DATA may take writes into memory only
			 * (ext4 with an aborted journal): its fsync says so. */
			if (fdatasync(w.fd) < 0 && (errno == EIO || errno == EROFS)) {
				stop_writing(&w, errno);
			}
			save_state(&w);
			w.dirty = 0;
			last_sync = now;
		}
		if (stop_requested) {
			break;
		}
		struct pollfd p = {.fd = kmsg, .events = POLLIN};
		poll(&p, 1, w.dirty ? 200 : -1);
	}
	if (w.fd >= 0) {
		fdatasync(w.fd);
		close(w.fd);
	}
	save_state(&w);
	return 0;
}

/* ---- reader ------------------------------------------------------------------ */

static int copy_fd(int fd, FILE *out)
{
	char buf[65536];
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (fwrite(buf, 1, (size_t)n, out) != (size_t)n) {
			return -1;
		}
	}
	return 0;
}

static void log_path(const char *dir, int rotation, char *out, size_t size)
{
	if (rotation == 0) {
		snprintf(out, size, "%s/host.log", dir);
	} else {
		snprintf(out, size, "%s/host.log.%d", dir, rotation);
	}
}

/* Prints the last `lines` lines (all when < 0) of a boot's files, oldest
 * rotation first. */
static void print_boot(const char *dir, long lines)
{
	char path[200];
	if (lines < 0) {
		for (int i = KEEP_ROTATED; i >= 0; i--) {
			log_path(dir, i, path, sizeof(path));
			auto_close int fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd >= 0) {
				copy_fd(fd, stdout);
			}
		}
		fflush(stdout);
		return;
	}
	/* Tail: the files into memory (a boot keeps at most a few MiB). */
	size_t cap = 0;
	size_t len = 0;
	auto_free char *all = NULL;
	for (int i = KEEP_ROTATED; i >= 0; i--) {
		log_path(dir, i, path, sizeof(path));
		auto_close int fd = open(path, O_RDONLY | O_CLOEXEC);
		struct stat st;
		if (fd < 0 || fstat(fd, &st) < 0) {
			continue;
		}
		if (len + (size_t)st.st_size + 1 > cap) {
			cap = len + (size_t)st.st_size + 1;
			char *bigger = realloc(all, cap);
			if (bigger == NULL) {
				return;
			}
			all = bigger;
		}
		ssize_t n;
		while (len < cap - 1 && (n = read(fd, all + len, cap - 1 - len)) > 0) {
			len += (size_t)n;
		}
	}
	if (all == NULL) {
		return;
	}
	size_t start = len;
	long seen = 0;
	while (start > 0) {
		if (all[start - 1] == '\n' && start != len) {
			if (++seen > lines) {
				break;
			}
		}
		start--;
	}
	fwrite(all + start, 1, len - start, stdout);
	fflush(stdout);
}

static void follow(const char *dir)
{
	char path[200];
	snprintf(path, sizeof(path), "%s/host.log", dir);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		die("cannot follow %s", path);
	}
	lseek(fd, 0, SEEK_END);
	for (;;) {
		char buf[65536];
		ssize_t n;
		while ((n = read(fd, buf, sizeof(buf))) > 0) {
			fwrite(buf, 1, (size_t)n, stdout);
		}
		fflush(stdout);
		usleep(250000);
		struct stat now;
		/* Rotated: the name points at a new file now. */
		if (stat(path, &now) == 0 && now.st_ino != st.st_ino) {
			while ((n = read(fd, buf, sizeof(buf))) > 0) {
				fwrite(buf, 1, (size_t)n, stdout);
			}
			close(fd);
			fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd < 0 || fstat(fd, &st) < 0) {
				die("cannot follow %s", path);
			}
		}
	}
}

static void usage(int status)
{
	fprintf(status ? stderr : stdout, "usage: hostlog [-b BOOT] [-n LINES] [-f]\n"
					  "       hostlog --boots\n"
					  "  -b BOOT   0: this boot (default), -1: the boot before, ...;\n"
					  "            1, 2, ...: counted from the oldest on record (see --boots)\n"
					  "  -n LINES  only the last LINES lines\n"
					  "  -f        keep printing new messages (this boot only)\n"
					  "  --boots   list the boots on record\n");
	exit(status);
}

static int list_main(void)
{
	static long nums[MAX_BOOTS];
	int n = list_boots(nums, MAX_BOOTS);
	char current[64];
	current_boot_id(current, sizeof(current));
	if (n == 0) {
		printf("no boots on record under %s\n", LOG_ROOT);
		return 0;
	}
	for (int i = 0; i < n; i++) {
		char id[64] = "?";
		char dir[128];
		char path[200];
		boot_id_of(nums[i], id, sizeof(id));
		boot_dir(nums[i], dir, sizeof(dir));
		snprintf(path, sizeof(path), "%s/host.log", dir);
		char first[40] = "";
		FILE *f = fopen(path, "re");
		if (f != NULL) {
			if (fgets(first, sizeof(first), f) != NULL) {
				first[27] = '\0';
			}
			fclose(f);
		}
		printf("%4d %4d  %s  %s%s\n", i + 1, i - n + 1, first, id,
		       strcmp(id, current) == 0 ? "  (this boot)" : "");
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"daemon", no_argument, NULL, 'D'},
		{"boots", no_argument, NULL, 'B'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	long boot = 0;
	long lines = -1;
	int do_follow = 0;
	int c;
	while ((c = getopt_long(argc, argv, "b:n:fh", opts, NULL)) != -1) {
		char *end;
		switch (c) {
		case 'D':
			return daemon_main();
		case 'B':
			return list_main();
		case 'b':
			boot = strtol(optarg, &end, 10);
			if (*end != '\0') {
				die("-b: '%s' is not a boot number", optarg);
			}
			break;
		case 'n':
			lines = strtol(optarg, &end, 10);
			if (*end != '\0' || lines < 0) {
				die("-n: '%s' is not a number of lines", optarg);
			}
			break;
		case 'f':
			do_follow = 1;
			break;
		case 'h':
			usage(0);
			break;
		default:
			usage(2);
		}
	}
	if (optind != argc) {
		usage(2);
	}
	static long nums[MAX_BOOTS];
	int n = list_boots(nums, MAX_BOOTS);
	if (n == 0) {
		die("no host log under %s yet", LOG_ROOT);
	}
	long index = boot <= 0 ? n - 1 + boot : boot - 1;
	if (index < 0 || index >= n) {
		die("no boot %ld on record (see hostlog --boots)", boot);
	}
	if (boot == 0) {
		char id[64] = "";
		char current[64];
		current_boot_id(current, sizeof(current));
		boot_id_of(nums[index], id, sizeof(id));
		if (strcmp(id, current) != 0) {
			die("this boot has no log on DATA yet");
		}
	}
	char dir[128];
	boot_dir(nums[index], dir, sizeof(dir));
	print_boot(dir, lines);
	if (do_follow) {
		if (index != n - 1) {
			die("-f follows this boot only");
		}
		follow(dir);
	}
	return 0;
}
