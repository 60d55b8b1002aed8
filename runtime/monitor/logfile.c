/* Container logs in the CRI format (see logfile.h): the writer, used by the
 * monitor only, and the reader behind `berth logs`. The writer emits each
 * record with one write(2) to an O_APPEND file and renames files only
 * between records, so a reader never sees a record split across files.
 * The reader never blocks a writer and never changes the files. */
#include "monitor/logfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/fsutil.h"

/* "2026-11-28T07:33:19.123456789Z" is 30 characters; years past 9999
 * would take more, so leave room. */
#define TIME_MAX 40
/* time, " stdout F ", the text and the newline. */
#define RECORD_MAX (TIME_MAX + 10 + LOGFILE_MAX_LINE + 1)

struct pending_line {
	char buf[LOGFILE_MAX_LINE];
	size_t len;
};

struct logfile {
	int fd;
	uint64_t size;
	uint64_t max_size;
	unsigned max_files;
	struct pending_line pending[2];
	char record[RECORD_MAX];
	char path[PATH_MAX];
};

/* RFC 3339 with a fixed nine-digit fraction, as kubelet writes it. */
size_t logfile_format_time(const struct timespec *ts, char *out, size_t size)
{
	struct tm tm;
	if (gmtime_r(&ts->tv_sec, &tm) == NULL) {
		memset(&tm, 0, sizeof(tm));
	}
	int n = snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
			 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long)ts->tv_nsec);
	if (n < 0 || (size_t)n >= size) {
		out[0] = '\0';
		return 0;
	}
	return (size_t)n;
}

/* path.N, or path itself for N == 0. */
static int rotated_name(char *out, size_t size, const char *path, unsigned n)
{
	int r = n == 0 ? snprintf(out, size, "%s", path) : snprintf(out, size, "%s.%u", path, n);
	return r < 0 || (size_t)r >= size ? -ENAMETOOLONG : 0;
}

static int open_for_append(struct logfile *lf, struct berr *err)
{
	lf->fd = open(lf->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0640);
	if (lf->fd < 0) {
		return berr_set(err, errno, "open log %s", lf->path);
	}
	struct stat st;
	if (fstat(lf->fd, &st) < 0) {
		return berr_set(err, errno, "stat log %s", lf->path);
	}
	lf->size = (uint64_t)st.st_size;
	return 0;
}

int logfile_open(const char *path, uint64_t max_size, unsigned max_files, struct logfile **out, struct berr *err)
{
	struct logfile *lf = calloc(1, sizeof(*lf));
	if (lf == NULL) {
		return berr_set(err, ENOMEM, "log %s", path);
	}
	lf->fd = -1;
	lf->max_size = max_size;
	lf->max_files = max_files == 0 ? 1 : max_files;
	if (copy_string(lf->path, sizeof(lf->path), path) < 0) {
		free(lf);
		return berr_setx(err, ENAMETOOLONG, "log path too long: %s", path);
	}
	int ret = open_for_append(lf, err);
	if (ret < 0) {
		logfile_close(lf);
		return ret;
	}
	*out = lf;
	return 0;
}

/* log.(max-2) -> log.(max-1), ..., log -> log.1; the rename onto the
 * oldest name drops it. With one file, the log starts afresh. */
static int rotate(struct logfile *lf, struct berr *err)
{
	close(lf->fd);
	lf->fd = -1;
	int ret = 0;
	if (lf->max_files == 1) {
		if (unlink(lf->path) < 0 && errno != ENOENT) {
			ret = berr_set(err, errno, "rotate log: remove %s", lf->path);
		}
	}
	for (unsigned i = lf->max_files - 1; i >= 1 && ret == 0; i--) {
		char from[PATH_MAX + 16];
		char to[PATH_MAX + 16];
		if (rotated_name(from, sizeof(from), lf->path, i - 1) < 0 ||
		    rotated_name(to, sizeof(to), lf->path, i) < 0) {
			ret = berr_setx(err, ENAMETOOLONG, "rotate log: path too long: %s", lf->path);
		} else if (rename(from, to) < 0 && errno != ENOENT) {
			ret = berr_set(err, errno, "rotate log: rename %s to %s", from, to);
		}
	}
	/* Reopened even after a failed rename: a log that cannot rotate
	 * still records. */
	int ret2 = open_for_append(lf, ret < 0 ? NULL : err);
	return ret < 0 ? ret : ret2;
}

static int write_record(struct logfile *lf, enum log_stream stream, int partial, const char *text, size_t len,
			struct berr *err)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	size_t n = logfile_format_time(&now, lf->record, TIME_MAX);
	int r = snprintf(lf->record + n, RECORD_MAX - n, " %s %c ", stream == LOG_STDERR ? "stderr" : "stdout",
			 partial ? 'P' : 'F');
	if (r < 0 || len > LOGFILE_MAX_LINE) {
		return berr_setx(err, EINVAL, "log record too long");
	}
	n += (size_t)r;
	memcpy(lf->record + n, text, len);
	n += len;
	lf->record[n++] = '\n';
	int rotated = 0;
	if (lf->fd < 0 || (lf->max_size > 0 && lf->size > 0 && lf->size + n > lf->max_size)) {
		rotated = lf->fd < 0 ? open_for_append(lf, err) : rotate(lf, err);
		if (lf->fd < 0) {
			return rotated;
		}
	}
	int ret = write_all(lf->fd, lf->record, n);
	if (ret < 0) {
		/* A record cut short (DATA full) is cut off, so that the
		 * next one starts a line of its own. */
		struct stat st;
		if (ftruncate(lf->fd, (off_t)lf->size) < 0 && fstat(lf->fd, &st) == 0) {
			lf->size = (uint64_t)st.st_size;
		}
		return berr_set(err, -ret, "write log %s", lf->path);
	}
	lf->size += n;
	/* A log that could not rotate still recorded the line; the failure
	 * is still told. */
	return rotated;
}

int logfile_write(struct logfile *lf, enum log_stream stream, const char *data, size_t len, struct berr *err)
{
	struct pending_line *p = &lf->pending[stream == LOG_STDERR];
	while (len > 0) {
		int ret = 0;
		if (p->len == LOGFILE_MAX_LINE) {
			/* A full buffer waits for the next byte, so that a line
			 * of exactly the maximum is still one full record. */
			int full = data[0] == '\n';
			ret = write_record(lf, stream, !full, p->buf, p->len, err);
			p->len = 0;
			if (full) {
				data++;
				len--;
			}
		} else {
			size_t room = LOGFILE_MAX_LINE - p->len;
			size_t take = len < room ? len : room;
			const char *nl = memchr(data, '\n', take);
			size_t n = nl != NULL ? (size_t)(nl - data) : take;
			memcpy(p->buf + p->len, data, n);
			p->len += n;
			data += n;
			len -= n;
			if (nl != NULL) {
				ret = write_record(lf, stream, 0, p->buf, p->len, err);
				p->len = 0;
				data++;
				len--;
			}
		}
		if (ret < 0) {
			return ret;
		}
	}
	return 0;
}

int logfile_flush(struct logfile *lf, struct berr *err)
{
	int ret = 0;
	for (int s = 0; s < 2; s++) {
		struct pending_line *p = &lf->pending[s];
		if (p->len > 0) {
			int r = write_record(lf, s == 1 ? LOG_STDERR : LOG_STDOUT, 1, p->buf, p->len, err);
			ret = ret < 0 ? ret : r;
			p->len = 0;
		}
	}
	return ret;
}

void logfile_close(struct logfile *lf)
{
	if (lf == NULL) {
		return;
	}
	if (lf->fd >= 0) {
		close(lf->fd);
	}
	free(lf);
}

/* ---- parsing ---------------------------------------------------------------- */

struct cursor {
	const char *p;
	const char *end;
};

static int take_digits(struct cursor *c, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (c->p >= c->end || *c->p < '0' || *c->p > '9') {
			return -EINVAL;
		}
		v = v * 10 + (*c->p++ - '0');
	}
	*out = v;
	return 0;
}

static int take_char(struct cursor *c, const char *accept)
{
	if (c->p >= c->end || strchr(accept, *c->p) == NULL || *c->p == '\0') {
		return -EINVAL;
	}
	c->p++;
	return 0;
}

/* ".123" -> nanoseconds; digits past the ninth are dropped, not rounded. */
static long take_fraction(struct cursor *c)
{
	long ns = 0;
	int digits = 0;
	while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
		if (digits < 9) {
			ns = ns * 10 + (*c->p - '0');
			digits++;
		}
		c->p++;
	}
	if (digits == 0) {
		return -1;
	}
	for (; digits < 9; digits++) {
		ns *= 10;
	}
	return ns;
}

static int days_in_month(int year, int month)
{
	static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
	return days[month - 1] + (month == 2 && leap);
}

/* RFC 3339, the whole of [s, s+len). need_zone: a log record's time must
 * say its offset; a user's --since may leave it (and the time of day)
 * out, meaning UTC, the host's only zone. */
static int parse_rfc3339(const char *s, size_t len, int need_zone, struct timespec *out)
{
	struct cursor c = {s, s + len};
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	int year;
	int mon;
	int day;
	int hour = 0;
	int min = 0;
	int sec = 0;
	long ns = 0;
	long offset = 0;
	if (take_digits(&c, 4, &year) < 0 || take_char(&c, "-") < 0 || take_digits(&c, 2, &mon) < 0 ||
	    take_char(&c, "-") < 0 || take_digits(&c, 2, &day) < 0) {
		return -EINVAL;
	}
	if (mon < 1 || mon > 12 || day < 1 || day > days_in_month(year, mon)) {
		return -EINVAL;
	}
	int have_time = c.p < c.end;
	if (have_time) {
		if (take_char(&c, "Tt ") < 0 || take_digits(&c, 2, &hour) < 0 || take_char(&c, ":") < 0 ||
		    take_digits(&c, 2, &min) < 0 || take_char(&c, ":") < 0 || take_digits(&c, 2, &sec) < 0) {
			return -EINVAL;
		}
		/* 60: a leap second, which time_t cannot name; it counts as
		 * the next minute's first. */
		if (hour > 23 || min > 59 || sec > 60) {
			return -EINVAL;
		}
		if (c.p < c.end && *c.p == '.') {
			c.p++;
			ns = take_fraction(&c);
			if (ns < 0) {
				return -EINVAL;
			}
		}
	}
	if (c.p < c.end && (*c.p == 'Z' || *c.p == 'z')) {
		c.p++;
	} else if (c.p < c.end && (*c.p == '+' || *c.p == '-')) {
		int sign = *c.p++ == '-' ? -1 : 1;
		int oh;
		int om;
		if (take_digits(&c, 2, &oh) < 0 || take_char(&c, ":") < 0 || take_digits(&c, 2, &om) < 0 || oh > 23 ||
		    om > 59) {
			return -EINVAL;
		}
		offset = sign * (oh * 3600L + om * 60L);
	} else if (need_zone) {
		return -EINVAL;
	}
	if (c.p != c.end) {
		return -EINVAL;
	}
	tm.tm_year = year - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = day;
	tm.tm_hour = hour;
	tm.tm_min = min;
	tm.tm_sec = sec;
	out->tv_sec = timegm(&tm) - offset;
	out->tv_nsec = ns;
	return 0;
}

int logfile_parse_line(const char *line, size_t len, struct log_record *rec)
{
	const char *end = line + len;
	const char *sp = memchr(line, ' ', len);
	if (sp == NULL || parse_rfc3339(line, (size_t)(sp - line), 1, &rec->time) < 0) {
		return -EINVAL;
	}
	const char *p = sp + 1;
	if (end - p >= 7 && memcmp(p, "stdout ", 7) == 0) {
		rec->stream = LOG_STDOUT;
	} else if (end - p >= 7 && memcmp(p, "stderr ", 7) == 0) {
		rec->stream = LOG_STDERR;
	} else {
		return -EINVAL;
	}
	p += 7;
	if (p >= end || (*p != 'F' && *p != 'P')) {
		return -EINVAL;
	}
	rec->partial = *p++ == 'P';
	/* An empty line's record may end right after its tag. */
	if (p < end && *p++ != ' ') {
		return -EINVAL;
	}
	rec->text = p;
	rec->len = (size_t)(end - p);
	return 0;
}

/* "1764315199" or "1764315199.25". */
static int parse_unix(const char *s, struct timespec *out)
{
	struct cursor c = {s, s + strlen(s)};
	long long sec = 0;
	if (c.p == c.end) {
		return -EINVAL;
	}
	while (c.p < c.end && *c.p >= '0' && *c.p <= '9') {
		if (sec > (LLONG_MAX - 9) / 10) {
			return -EINVAL;
		}
		sec = sec * 10 + (*c.p++ - '0');
	}
	long ns = 0;
	if (c.p < c.end && *c.p == '.') {
		c.p++;
		ns = take_fraction(&c);
	}
	if (c.p != c.end || ns < 0 || (time_t)sec != sec) {
		return -EINVAL;
	}
	out->tv_sec = (time_t)sec;
	out->tv_nsec = ns;
	return 0;
}

/* Go's duration syntax, as docker takes it: "1h30m", "45s", "1.5h",
 * "250ms". Returns nanoseconds, or -EINVAL. */
static int parse_duration(const char *s, unsigned long long *out)
{
	static const struct {
		const char *name;
		unsigned long long ns;
	} units[] = {
		{"ns", 1ULL},	      {"us", 1000ULL},	     {"ms", 1000000ULL},
		{"s", 1000000000ULL}, {"m", 60000000000ULL}, {"h", 3600000000000ULL},
	};
	/* A century: far past any log, far below overflow. */
	const unsigned long long limit = 100ULL * 366 * 24 * 3600000000000ULL;
	unsigned long long total = 0;
	if (*s == '\0') {
		return -EINVAL;
	}
	while (*s != '\0') {
		unsigned long long whole = 0;
		const char *start = s;
		while (*s >= '0' && *s <= '9') {
			whole = whole * 10 + (unsigned)(*s++ - '0');
			if (whole > limit) {
				return -EINVAL;
			}
		}
		unsigned long long frac = 0;
		unsigned long long scale = 1;
		if (*s == '.') {
			s++;
			while (*s >= '0' && *s <= '9') {
				if (scale < 1000000000ULL) {
					frac = frac * 10 + (unsigned)(*s - '0');
					scale *= 10;
				}
				s++;
			}
		}
		if (s == start || (s == start + 1 && *start == '.')) {
			return -EINVAL;
		}
		size_t ulen = 0;
		while (s[ulen] != '\0' && (s[ulen] < '0' || s[ulen] > '9') && s[ulen] != '.') {
			ulen++;
		}
		unsigned long long unit = 0;
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			if (strlen(units[i].name) == ulen && memcmp(units[i].name, s, ulen) == 0) {
				unit = units[i].ns;
			}
		}
		if (unit == 0 || whole > limit / unit) {
			return -EINVAL;
		}
		total += whole * unit + frac * unit / scale;
		if (total > limit) {
			return -EINVAL;
		}
		s += ulen;
	}
	*out = total;
	return 0;
}

int logfile_parse_time(const char *s, const struct timespec *now, struct timespec *out)
{
	if (parse_unix(s, out) == 0 || parse_rfc3339(s, strlen(s), 0, out) == 0) {
		return 0;
	}
	unsigned long long d;
	if (parse_duration(s, &d) < 0) {
		return -EINVAL;
	}
	long long ns = (long long)now->tv_sec * 1000000000LL + now->tv_nsec - (long long)d;
	if (ns < 0) {
		ns = 0;
	}
	out->tv_sec = (time_t)(ns / 1000000000LL);
	out->tv_nsec = (long)(ns % 1000000000LL);
	return 0;
}

/* ---- reading ---------------------------------------------------------------- */

/* Larger than any record the writer makes; a longer line is not ours and
 * is skipped. */
#define LINE_BUF (RECORD_MAX + 4096)
/* More rotated files than anyone keeps; the reader looks no further. */
#define READ_FILES_MAX 64

struct line_reader {
	int fd;
	uint64_t file_off; /* how far the file has been read into buf */
	size_t start;
	size_t len;
	int skipping; /* inside an over-long line */
	char buf[LINE_BUF];
};

/* Returns 1 with the next complete line, 0 when none is complete (yet). */
static int next_line(struct line_reader *lr, const char **line, size_t *n, struct berr *err)
{
	for (;;) {
		char *nl = memchr(lr->buf + lr->start, '\n', lr->len);
		if (nl != NULL) {
			size_t l = (size_t)(nl - (lr->buf + lr->start));
			*line = lr->buf + lr->start;
			*n = l;
			lr->start += l + 1;
			lr->len -= l + 1;
			if (lr->skipping) {
				lr->skipping = 0;
				continue;
			}
			return 1;
		}
		if (lr->len == LINE_BUF) {
			lr->skipping = 1;
			lr->len = 0;
		}
		memmove(lr->buf, lr->buf + lr->start, lr->len);
		lr->start = 0;
		ssize_t got = pread(lr->fd, lr->buf + lr->len, LINE_BUF - lr->len, (off_t)lr->file_off);
		if (got < 0) {
			if (errno == EINTR) {
				continue;
			}
			return berr_set(err, errno, "read log");
		}
		if (got == 0) {
			return 0;
		}
		lr->len += (size_t)got;
		lr->file_off += (uint64_t)got;
	}
}

static void reader_reset(struct line_reader *lr, int fd)
{
	lr->fd = fd;
	lr->file_off = 0;
	lr->start = 0;
	lr->len = 0;
	lr->skipping = 0;
}

struct reader {
	const struct logfile_read_opts *o;
	unsigned max_files;
	int out_fd[2];
	long skip;	/* matching records still to pass over (tail) */
	int out_closed; /* a reader went away: stop quietly */
	struct line_reader lr;
	char out[TIME_MAX + 1 + LINE_BUF + 1];
};

static int matches(const struct reader *r, const struct log_record *rec)
{
	if (!r->o->have_since) {
		return 1;
	}
	const struct timespec *s = &r->o->since;
	return rec->time.tv_sec > s->tv_sec || (rec->time.tv_sec == s->tv_sec && rec->time.tv_nsec >= s->tv_nsec);
}

static int emit(struct reader *r, const struct log_record *rec, struct berr *err)
{
	size_t n = 0;
	if (r->o->timestamps) {
		n = logfile_format_time(&rec->time, r->out, TIME_MAX);
		r->out[n++] = ' ';
	}
	memcpy(r->out + n, rec->text, rec->len);
	n += rec->len;
	if (!rec->partial) {
		r->out[n++] = '\n';
	}
	int ret = write_all(r->out_fd[rec->stream == LOG_STDERR], r->out, n);
	if (ret == -EPIPE || ret == -ECONNRESET) {
		r->out_closed = 1;
		return 0;
	}
	return ret < 0 ? berr_set(err, -ret, "write log output") : 0;
}

/* Counts (count != NULL) or writes the complete records now in r->lr. */
static int pump(struct reader *r, long *count, struct berr *err)
{
	const char *line = NULL;
	size_t len = 0;
	int ret = 0;
	if (r->lr.fd < 0) {
		return 0;
	}
	while (!r->out_closed && (ret = next_line(&r->lr, &line, &len, err)) > 0) {
		struct log_record rec;
		if (logfile_parse_line(line, len, &rec) < 0 || !matches(r, &rec)) {
			continue;
		}
		if (count != NULL) {
			(*count)++;
		} else if (r->skip > 0) {
			r->skip--;
		} else if ((ret = emit(r, &rec, err)) < 0) {
			return ret;
		}
	}
	return r->out_closed ? 0 : ret;
}

/* Opens the log's files newest first, so that a rotation between two
 * opens shows up as one file twice (same inode: dropped) and never as a
 * gap. fds[0] is the oldest; the current file, when present, is last. */
static int open_files(const char *path, unsigned max_files, int *fds, size_t *nfds, struct berr *err)
{
	struct stat seen[READ_FILES_MAX];
	size_t n = 0;
	int tmp[READ_FILES_MAX];
	if (max_files == 0) {
		max_files = 1;
	}
	if (max_files > READ_FILES_MAX) {
		max_files = READ_FILES_MAX;
	}
	for (unsigned i = 0; i < max_files; i++) {
		char name[PATH_MAX + 16];
		if (rotated_name(name, sizeof(name), path, i) < 0) {
			return berr_setx(err, ENAMETOOLONG, "log path too long: %s", path);
		}
		int fd = open(name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		if (fd < 0) {
			if (errno == ENOENT) {
				continue;
			}
			int e = errno;
			for (size_t j = 0; j < n; j++) {
				close(tmp[j]);
			}
			return berr_set(err, e, "open log %s", name);
		}
		struct stat st;
		int dup = fstat(fd, &st) < 0;
		for (size_t j = 0; j < n && !dup; j++) {
			dup = seen[j].st_ino == st.st_ino && seen[j].st_dev == st.st_dev;
		}
		if (dup) {
			close(fd);
			continue;
		}
		seen[n] = st;
		tmp[n++] = fd;
	}
	for (size_t j = 0; j < n; j++) {
		fds[j] = tmp[n - 1 - j];
	}
	*nfds = n;
	return 0;
}

static int same_file(int fd, const char *path)
{
	struct stat a;
	struct stat b;
	if (fd < 0 || fstat(fd, &a) < 0 || stat(path, &b) < 0) {
		return 0;
	}
	return a.st_ino == b.st_ino && a.st_dev == b.st_dev;
}

/* The file written after the one open on fd: if fd is now path.k, that is
 * path.(k-1), so that rotations quicker than the reader lose nothing
 * while their files still exist; otherwise the current file. */
static int open_successor(const char *path, unsigned max_files, int fd)
{
	unsigned next = 0;
	for (unsigned i = 1; fd >= 0 && i < max_files && next == 0; i++) {
		char name[PATH_MAX + 16];
		if (rotated_name(name, sizeof(name), path, i) == 0 && same_file(fd, name)) {
			next = i - 1;
		}
	}
	char name[PATH_MAX + 16];
	if (rotated_name(name, sizeof(name), path, next) < 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return open(name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
}

/* Watches the log's directory: every write, creation and rename there
 * wakes the follower, which then looks at the files itself. */
static int watch_dir(const char *path)
{
	char dir[PATH_MAX];
	if (path_dirname(dir, sizeof(dir), path) < 0) {
		return -1;
	}
	int fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (fd < 0) {
		return -1;
	}
	uint32_t mask = IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE;
	if (inotify_add_watch(fd, dir, mask) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int follow(struct reader *r, const char *path, struct berr *err)
{
	/* Without inotify (no instances left), polling alone still works. */
	auto_close int ino = watch_dir(path);
	for (;;) {
		int ret = pump(r, NULL, err);
		if (ret < 0 || r->out_closed) {
			return ret;
		}
		if (r->o->stop != NULL && r->o->stop(r->o->stop_ctx)) {
			return 0;
		}
		if (!same_file(r->lr.fd, path)) {
			/* Renamed away (rotated): the writer is done with it,
			 * so what it holds now is all it will hold. */
			ret = pump(r, NULL, err);
			if (ret < 0 || r->out_closed) {
				return ret;
			}
			int fd = open_successor(path, r->max_files, r->lr.fd);
			int open_errno = errno;
			if (r->lr.fd >= 0) {
				close(r->lr.fd);
				reader_reset(&r->lr, -1);
			}
			if (fd >= 0) {
				reader_reset(&r->lr, fd);
				continue;
			}
			if (open_errno != ENOENT) {
				return berr_set(err, open_errno, "open log %s", path);
			}
		}
		struct pollfd pfd[3] = {
			{.fd = ino, .events = POLLIN},
			{.fd = r->out_fd[0], .events = 0},
			{.fd = r->out_fd[1], .events = 0},
		};
		if (poll(pfd, 3, 250) < 0 && errno != EINTR) {
			return berr_set(err, errno, "poll");
		}
		if ((pfd[1].revents | pfd[2].revents) & (POLLERR | POLLHUP)) {
			return 0;
		}
		if (pfd[0].revents & POLLIN) {
			char evbuf[4096];
			while (read(ino, evbuf, sizeof(evbuf)) > 0) {
			}
		}
	}
}

int logfile_read(const char *path, unsigned max_files, const struct logfile_read_opts *o, int stdout_fd, int stderr_fd,
		 struct berr *err)
{
	int fds[READ_FILES_MAX];
	size_t nfds = 0;
	int ret = open_files(path, max_files, fds, &nfds, err);
	if (ret < 0) {
		return ret;
	}
	/* The current file is the last one opened, unless it was missing. */
	int have_current = nfds > 0 && same_file(fds[nfds - 1], path);
	if (nfds == 0 && !o->follow) {
		return berr_set(err, ENOENT, "open log %s", path);
	}
	struct reader *r = calloc(1, sizeof(*r));
	if (r == NULL) {
		for (size_t i = 0; i < nfds; i++) {
			close(fds[i]);
		}
		return berr_set(err, ENOMEM, "read log %s", path);
	}
	r->o = o;
	r->max_files = max_files == 0 ? 1 : max_files > READ_FILES_MAX ? READ_FILES_MAX : max_files;
	r->out_fd[0] = stdout_fd;
	r->out_fd[1] = stderr_fd;
	if (o->tail >= 0) {
		long count = 0;
		for (size_t i = 0; i < nfds && ret >= 0; i++) {
			reader_reset(&r->lr, fds[i]);
			ret = pump(r, &count, err);
		}
		r->skip = count > o->tail ? count - o->tail : 0;
	}
	reader_reset(&r->lr, -1);
	for (size_t i = 0; i < nfds; i++) {
		if (r->lr.fd >= 0) {
			close(r->lr.fd);
		}
		reader_reset(&r->lr, fds[i]);
		if (ret >= 0) {
			ret = pump(r, NULL, err);
		}
	}
	/* Rotated files are done with; the current one is followed from
	 * where the reader stands, a partial line still in its buffer. */
	if (r->lr.fd >= 0 && !(have_current && o->follow)) {
		close(r->lr.fd);
		reader_reset(&r->lr, -1);
	}
	if (ret >= 0 && o->follow && !r->out_closed) {
		ret = follow(r, path, err);
	}
	if (r->lr.fd >= 0) {
		close(r->lr.fd);
	}
	free(r);
	return ret < 0 ? ret : 0;
}
