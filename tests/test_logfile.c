/* Container logs: records as the CRI format has them, partial and long
 * lines, rotation by size, the parser on good and broken lines, every
 * --since form, and the reader (tail, since, timestamps, follow across
 * rotations). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "monitor/logfile.h"

static char dir[64];

static void make_dir(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test_logfile.XXXXXX");
	CHECK(mkdtemp(dir) != NULL);
}

static void remove_dir(void)
{
	CHECK_EQ_INT(check_rmtree(dir), 0);
}

static void log_path(char *out, size_t size, const char *name)
{
	snprintf(out, size, "%s/%s", dir, name);
}

/* The whole of a file (or memfd), NUL-terminated; *len its length. */
static char *slurp_fd(int fd, size_t *len)
{
	struct stat st;
	if (fstat(fd, &st) < 0) {
		return NULL;
	}
	char *buf = malloc((size_t)st.st_size + 1);
	ssize_t n = pread(fd, buf, (size_t)st.st_size, 0);
	buf[n > 0 ? n : 0] = '\0';
	if (len != NULL) {
		*len = n > 0 ? (size_t)n : 0;
	}
	return buf;
}

static char *slurp(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		return NULL;
	}
	char *buf = slurp_fd(fd, len);
	close(fd);
	return buf;
}

/* Parses the records of a log file's text into recs (pointing into text). */
static size_t parse_all(char *text, struct log_record *recs, size_t max)
{
	size_t n = 0;
	for (char *line = text; *line != '\0' && n < max;) {
		char *nl = strchr(line, '\n');
		if (nl == NULL) {
			break;
		}
		CHECK_EQ_INT(logfile_parse_line(line, (size_t)(nl - line), &recs[n]), 0);
		n++;
		line = nl + 1;
	}
	return n;
}

static int rec_is(const struct log_record *r, enum log_stream s, int partial, const char *text)
{
	return r->stream == s && r->partial == partial && r->len == strlen(text) && memcmp(r->text, text, r->len) == 0;
}

static void test_records_and_partial_lines(void)
{
	make_dir();
	char path[128];
	log_path(path, sizeof(path), "log");
	struct berr err;
	struct logfile *lf;
	struct timespec before;
	clock_gettime(CLOCK_REALTIME, &before);
	CHECK_EQ_INT(logfile_open(path, 0, 1, &lf, &err), 0);
	CHECK_EQ_INT(logfile_write(lf, LOG_STDOUT, "hello\nwor", 9, &err), 0);
	CHECK_EQ_INT(logfile_write(lf, LOG_STDERR, "oops\n", 5, &err), 0);
	CHECK_EQ_INT(logfile_write(lf, LOG_STDOUT, "ld\n\n", 4, &err), 0);
	CHECK_EQ_INT(logfile_write(lf, LOG_STDOUT, "tail", 4, &err), 0);
	CHECK_EQ_INT(logfile_flush(lf, &err), 0);
	logfile_close(lf);
	struct stat st;
	CHECK_EQ_INT(stat(path, &st), 0);
	CHECK_EQ_INT(st.st_mode & 0777, 0640);
	char *text = slurp(path, NULL);
	/* The time is RFC 3339 with nine fraction digits, in UTC. */
	CHECK(text != NULL && strlen(text) > 31 && text[10] == 'T' && text[19] == '.' && text[29] == 'Z' &&
	      text[30] == ' ');
	CHECK_STR_CONTAINS(text, " stdout F hello\n");
	struct log_record recs[8];
	size_t n = parse_all(text, recs, 8);
	CHECK_EQ_INT(n, 5);
	if (n == 5) {
		CHECK(rec_is(&recs[0], LOG_STDOUT, 0, "hello"));
		CHECK(rec_is(&recs[1], LOG_STDERR, 0, "oops"));
		CHECK(rec_is(&recs[2], LOG_STDOUT, 0, "world"));
		CHECK(rec_is(&recs[3], LOG_STDOUT, 0, ""));
		CHECK(rec_is(&recs[4], LOG_STDOUT, 1, "tail"));
		CHECK(recs[0].time.tv_sec >= before.tv_sec && recs[0].time.tv_sec <= before.tv_sec + 5);
	}
	free(text);
	/* Reopening appends. */
	CHECK_EQ_INT(logfile_open(path, 0, 1, &lf, &err), 0);
	CHECK_EQ_INT(logfile_write(lf, LOG_STDOUT, "again\n", 6, &err), 0);
	logfile_close(lf);
	text = slurp(path, NULL);
	CHECK_EQ_INT(parse_all(text, recs, 8), 6);
	free(text);
	remove_dir();
}

static void test_long_lines_split(void)
{
	make_dir();
	char path[128];
	log_path(path, sizeof(path), "log");
	struct berr err;
	struct logfile *lf;
	CHECK_EQ_INT(logfile_open(path, 0, 1, &lf, &err), 0);
	size_t big = 2 * LOGFILE_MAX_LINE + 10;
	char *x = malloc(big + 1);
	memset(x, 'x', big);
	x[big] = '\n';
	for (size_t off = 0; off < big + 1; off += 1000) {
		size_t n = big + 1 - off < 1000 ? big + 1 - off : 1000;
		CHECK_EQ_INT(logfile_write(lf, LOG_STDOUT, x + off, n, &err), 0);
	}
	/* Exactly the maximum, its newline in the same write or the next:
	 * one full record either way. */
	x[LOGFILE_MAX_LINE] = '\n';
	CHECK_EQ_INT(logfile_write(lf, LOG_STDERR, x, LOGFILE_MAX_LINE + 1, &err), 0);
	CHECK_EQ_INT(logfile_write(lf, LOG_STDERR, x, LOGFILE_MAX_LINE, &err), 0);
	CHECK_EQ_INT(logfile_write(lf, LOG_STDERR, "\n", 1, &err), 0);
	/* One byte more is a part and a one-byte line. */
	CHECK_EQ_INT(logfile_write(lf, LOG_STDERR, x, LOGFILE_MAX_LINE, &err), 0);
	CHECK_EQ_INT(logfile_write(lf, LOG_STDERR, "y\n", 2, &err), 0);
	logfile_close(lf);
	char *text = slurp(path, NULL);
	struct log_record recs[16];
	size_t n = parse_all(text, recs, 16);
	CHECK_EQ_INT(n, 7);
	if (n == 7) {
		CHECK(recs[0].partial && recs[0].len == LOGFILE_MAX_LINE);
		CHECK(recs[1].partial && recs[1].len == LOGFILE_MAX_LINE);
		CHECK(!recs[2].partial && recs[2].len == 10);
		CHECK(!recs[3].partial && recs[3].len == LOGFILE_MAX_LINE && recs[3].stream == LOG_STDERR);
		CHECK(!recs[4].partial && recs[4].len == LOGFILE_MAX_LINE);
		CHECK(recs[5].partial && recs[5].len == LOGFILE_MAX_LINE);
		CHECK(rec_is(&recs[6], LOG_STDERR, 0, "y"));
	}
	free(text);
	free(x);
	remove_dir();
}

static void write_lines(struct logfile *lf, int from, int to)
{
	struct berr err;
	for (int i = from; i < to; i++) {
		char line[32];
		int n = snprintf(line, sizeof(line), "line %d\n", i);
		CHECK_EQ_INT(logfile_write(lf, LOG_STDOUT, line, (size_t)n, &err), 0);
	}
}

static long file_size(const char *name)
{
	char path[128];
	log_path(path, sizeof(path), name);
	struct stat st;
	return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* Reads the log at dir/log into a memfd; returns its text. */
static char *read_log(unsigned max_files, const struct logfile_read_opts *o, char **err_text, int *ret)
{
	char path[128];
	log_path(path, sizeof(path), "log");
	int out = memfd_create("out", MFD_CLOEXEC);
	int errfd = memfd_create("err", MFD_CLOEXEC);
	struct berr err;
	*ret = logfile_read(path, max_files, o, out, errfd, &err);
	char *text = slurp_fd(out, NULL);
	if (err_text != NULL) {
		*err_text = slurp_fd(errfd, NULL);
	}
	close(out);
	close(errfd);
	return text;
}

static void test_rotation_keeps_max_files(void)
{
	make_dir();
	char path[128];
	log_path(path, sizeof(path), "log");
	struct berr err;
	struct logfile *lf;
	CHECK_EQ_INT(logfile_open(path, 300, 3, &lf, &err), 0);
	write_lines(lf, 0, 40);
	logfile_close(lf);
	CHECK(file_size("log") > 0 && file_size("log") <= 300);
	CHECK(file_size("log.1") > 200 && file_size("log.1") <= 300);
	CHECK(file_size("log.2") > 200 && file_size("log.2") <= 300);
	CHECK_EQ_INT(file_size("log.3"), -1);
	/* Oldest first, no gaps, ending with the last line. */
	struct logfile_read_opts o = {.tail = -1};
	int ret;
	char *text = read_log(3, &o, NULL, &ret);
	CHECK_EQ_INT(ret, 0);
	int first = -1;
	CHECK_EQ_INT(sscanf(text, "line %d", &first), 1);
	CHECK(first > 0);
	char expect[4096] = "";
	for (int i = first; i < 40; i++) {
		snprintf(expect + strlen(expect), sizeof(expect) - strlen(expect), "line %d\n", i);
	}
	CHECK(strcmp(text, expect) == 0);
	free(text);
	/* One file: it starts afresh. */
	CHECK_EQ_INT(logfile_open(path, 300, 1, &lf, &err), 0);
	write_lines(lf, 40, 60);
	logfile_close(lf);
	CHECK(file_size("log") <= 300);
	text = slurp(path, NULL);
	CHECK_STR_CONTAINS(text, "stdout F line 59\n");
	free(text);
	remove_dir();
}

static void test_parse_line(void)
{
	struct log_record r;
	const char *good = "2026-11-28T07:33:19.123456789Z stdout F the line";
	CHECK_EQ_INT(logfile_parse_line(good, strlen(good), &r), 0);
	CHECK_EQ_INT(r.time.tv_sec, 1795851199);
	CHECK_EQ_INT(r.time.tv_nsec, 123456789);
	CHECK(rec_is(&r, LOG_STDOUT, 0, "the line"));
	const char *offset = "2026-11-28T09:33:19.5+02:00 stderr P  two spaces";
	CHECK_EQ_INT(logfile_parse_line(offset, strlen(offset), &r), 0);
	CHECK_EQ_INT(r.time.tv_sec, 1795851199);
	CHECK_EQ_INT(r.time.tv_nsec, 500000000);
	CHECK(rec_is(&r, LOG_STDERR, 1, " two spaces"));
	const char *empty1 = "2026-11-28T07:33:19Z stdout F ";
	CHECK_EQ_INT(logfile_parse_line(empty1, strlen(empty1), &r), 0);
	CHECK(rec_is(&r, LOG_STDOUT, 0, ""));
	const char *empty2 = "2026-11-28T07:33:19Z stdout F";
	CHECK_EQ_INT(logfile_parse_line(empty2, strlen(empty2), &r), 0);
	CHECK_EQ_INT(r.len, 0);
	/* Only as far as len: the text after it is not the record's. */
	CHECK_EQ_INT(logfile_parse_line(good, 42, &r), 0);
	CHECK_EQ_INT(r.len, 2);
	const char *bad[] = {
		"",
		"garbage",
		"2026-11-28T07:33:19Z",
		"2026-11-28T07:33:19Z stdin F x",
		"2026-11-28T07:33:19Z stdout X x",
		"2026-11-28T07:33:19Z stdout Fx",
		"2026-11-28T07:33:19 stdout F no zone",
		"2026-13-28T07:33:19Z stdout F x",
		"2026-02-30T07:33:19Z stdout F x",
		"2026-11-28T24:00:00Z stdout F x",
		"2026-11-28T07:33:19.Z stdout F x",
		"2026-11-28 stdout F x",
		"2026-11-28T07:33:19+0200 stdout F x",
		" 2026-11-28T07:33:19Z stdout F x",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int ret = logfile_parse_line(bad[i], strlen(bad[i]), &r);
		CHECK_EQ_INT(ret, -EINVAL);
		if (ret != -EINVAL) {
			fprintf(stderr, "  accepted: \"%s\"\n", bad[i]);
		}
	}
}

static void test_parse_time(void)
{
	struct timespec now = {.tv_sec = 1795851199, .tv_nsec = 250000000};
	struct timespec t;
	CHECK_EQ_INT(logfile_parse_time("2026-11-28T07:33:19Z", &now, &t), 0);
	CHECK_EQ_INT(t.tv_sec, 1795851199);
	CHECK_EQ_INT(t.tv_nsec, 0);
	CHECK_EQ_INT(logfile_parse_time("2026-11-28T07:33:19.000000001Z", &now, &t), 0);
	CHECK_EQ_INT(t.tv_nsec, 1);
	CHECK_EQ_INT(logfile_parse_time("2026-11-28T07:33:19.1234567891234Z", &now, &t), 0);
	CHECK_EQ_INT(t.tv_nsec, 123456789);
	CHECK_EQ_INT(logfile_parse_time("2026-11-28T08:33:19+01:00", &now, &t), 0);
	CHECK_EQ_INT(t.tv_sec, 1795851199);
	CHECK_EQ_INT(logfile_parse_time("2026-11-28T02:03:19-05:30", &now, &t), 0);
	CHECK_EQ_INT(t.tv_sec, 1795851199);
	/* No offset: UTC. No time of day: midnight. */
	CHECK_EQ_INT(logfile_parse_time("2026-11-28T07:33:19", &now, &t), 0);
	CHECK_EQ_INT(t.tv_sec, 1795851199);
	CHECK_EQ_INT(logfile_parse_time("2026-11-28", &now, &t), 0);
	CHECK_EQ_INT(t.tv_sec, 1795851199 - (7 * 3600 + 33 * 60 + 19));
	CHECK_EQ_INT(logfile_parse_time("1764315199", &now, &t), 0);
	CHECK_EQ_INT(t.tv_sec, 1764315199);
	CHECK_EQ_INT(t.tv_nsec, 0);
	CHECK_EQ_INT(logfile_parse_time("1764315199.25", &now, &t), 0);
	CHECK_EQ_INT(t.tv_sec, 1764315199);
	CHECK_EQ_INT(t.tv_nsec, 250000000);
	CHECK_EQ_INT(logfile_parse_time("10m", &now, &t), 0);
	CHECK_EQ_INT(t.tv_sec, now.tv_sec - 600);
	CHECK_EQ_INT(t.tv_nsec, now.tv_nsec);
	CHECK_EQ_INT(logfile_parse_time("1h30m", &now, &t), 0);
	CHECK_EQ_INT(t.tv_sec, now.tv_sec - 5400);
	CHECK_EQ_INT(logfile_parse_time("45s", &now, &t), 0);
	CHECK_EQ_INT(t.tv_sec, now.tv_sec - 45);
	CHECK_EQ_INT(logfile_parse_time("1.5h", &now, &t), 0);
	CHECK_EQ_INT(t.tv_sec, now.tv_sec - 5400);
	CHECK_EQ_INT(logfile_parse_time("500ms", &now, &t), 0);
	CHECK_EQ_INT(t.tv_sec, now.tv_sec - 1);
	CHECK_EQ_INT(t.tv_nsec, 750000000);
	const char *bad[] = {"",
			     "abc",
			     "10x",
			     "1h30",
			     "h",
			     ".",
			     "1.",
			     "-10m",
			     "2026-11-28T25:00:00Z",
			     "2026-11-28T07:33",
			     "12:00",
			     "99999999999999999999999h",
			     "1764315199x"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int ret = logfile_parse_time(bad[i], &now, &t);
		CHECK_EQ_INT(ret, -EINVAL);
		if (ret != -EINVAL) {
			fprintf(stderr, "  accepted: \"%s\"\n", bad[i]);
		}
	}
}

static void write_text(const char *name, const char *text)
{
	char path[128];
	log_path(path, sizeof(path), name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	CHECK_EQ_INT(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static void test_read_tail_since_timestamps(void)
{
	make_dir();
	write_text("log.2", "2026-11-28T07:00:00.000000000Z stdout F zero\n");
	write_text("log.1", "2026-11-28T07:00:01.000000000Z stdout F one\n"
			    "not a record\n"
			    "2026-11-28T07:00:02.000000000Z stderr F two\n");
	write_text("log", "2026-11-28T07:00:03.000000000Z stdout P thr\n"
			  "2026-11-28T07:00:03.500000000Z stdout F ee\n"
			  "2026-11-28T07:00:04.000000000Z stderr F four\n"
			  "2026-11-28T07:00:05.000000000Z stdout F cut with no newline");
	int ret;
	char *errs;
	struct logfile_read_opts all = {.tail = -1};
	char *out = read_log(3, &all, &errs, &ret);
	CHECK_EQ_INT(ret, 0);
	CHECK(strcmp(out, "zero\none\nthree\n") == 0);
	CHECK(strcmp(errs, "two\nfour\n") == 0);
	free(out);
	free(errs);
	/* max_files 2 does not look at log.2. */
	out = read_log(2, &all, NULL, &ret);
	CHECK(strcmp(out, "one\nthree\n") == 0);
	free(out);
	struct logfile_read_opts tail = {.tail = 3};
	out = read_log(3, &tail, &errs, &ret);
	CHECK(strcmp(out, "three\n") == 0);
	CHECK(strcmp(errs, "four\n") == 0);
	free(out);
	free(errs);
	struct logfile_read_opts none = {.tail = 0};
	out = read_log(3, &none, &errs, &ret);
	CHECK(strcmp(out, "") == 0 && strcmp(errs, "") == 0);
	free(out);
	free(errs);
	struct logfile_read_opts since = {.tail = -1, .have_since = 1, .since = {.tv_sec = 1795849202}};
	out = read_log(3, &since, &errs, &ret);
	CHECK(strcmp(out, "three\n") == 0);
	CHECK(strcmp(errs, "two\nfour\n") == 0);
	free(out);
	free(errs);
	since.since.tv_sec = 1795849203;
	since.since.tv_nsec = 1;
	since.tail = 5;
	out = read_log(3, &since, NULL, &ret);
	CHECK(strcmp(out, "ee\n") == 0);
	free(out);
	struct logfile_read_opts ts = {.tail = 2, .timestamps = 1};
	out = read_log(3, &ts, &errs, &ret);
	CHECK(strcmp(out, "2026-11-28T07:00:03.500000000Z ee\n") == 0);
	CHECK(strcmp(errs, "2026-11-28T07:00:04.000000000Z four\n") == 0);
	free(out);
	free(errs);
	/* A line longer than any record is skipped whole. */
	char *junk = malloc(100000);
	memset(junk, 'j', 99998);
	memcpy(junk + 99998, "\n", 2);
	write_text("log.1", junk);
	free(junk);
	out = read_log(3, &all, NULL, &ret);
	CHECK_EQ_INT(ret, 0);
	CHECK(strcmp(out, "zero\nthree\n") == 0);
	free(out);
	remove_dir();
	/* No log at all. */
	make_dir();
	out = read_log(3, &all, NULL, &ret);
	CHECK_EQ_INT(ret, -ENOENT);
	free(out);
	remove_dir();
}

struct follow_test {
	const char *path; /* the writer opens the log itself when lf is NULL */
	struct logfile *lf;
	int from;
	int to;
	volatile int writer_done;
	int out_fd;
	size_t expect_len;
	time_t deadline;
};

static void *writer(void *arg)
{
	struct follow_test *ft = arg;
	struct berr err;
	/* Give the reader time to start (tail 0 counts what is there). */
	usleep(100000);
	if (ft->lf == NULL) {
		CHECK_EQ_INT(logfile_open(ft->path, 400, 3, &ft->lf, &err), 0);
	}
	size_t written = 0;
	size_t lag[4] = {0}; /* bytes written up to each of the last lines */
	for (int i = ft->from; i < ft->to; i++) {
		char line[32];
		int n = snprintf(line, sizeof(line), "line %d\n", i);
		/* Halves, so that the reader meets lines in the making. */
		logfile_write(ft->lf, LOG_STDOUT, line, 3, &err);
		usleep(500);
		logfile_write(ft->lf, LOG_STDOUT, line + 3, (size_t)n - 3, &err);
		usleep(1500);
		written += (size_t)n;
		/* A reader that falls more than max_files rotations behind loses
		 * lines by design; on a loaded machine it could, so the writer
		 * waits for it to be within a few lines (still across rotations). */
		size_t behind = lag[i % 4];
		lag[i % 4] = written;
		struct stat st;
		while (time(NULL) <= ft->deadline && fstat(ft->out_fd, &st) == 0 && (size_t)st.st_size < behind) {
			usleep(1000);
		}
	}
	__atomic_store_n(&ft->writer_done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static int follow_stop(void *ctx)
{
	struct follow_test *ft = ctx;
	struct stat st;
	if (time(NULL) > ft->deadline) {
		return 1;
	}
	return __atomic_load_n(&ft->writer_done, __ATOMIC_SEQ_CST) && fstat(ft->out_fd, &st) == 0 &&
	       (size_t)st.st_size >= ft->expect_len;
}

/* Follows dir/log while a writer thread writes lines from..to; the log
 * made first unless late. */
static void follow_lines(int from, int to, int late, long tail)
{
	char path[128];
	log_path(path, sizeof(path), "log");
	struct berr err;
	struct follow_test ft = {.path = path, .from = from, .to = to};
	if (!late) {
		CHECK_EQ_INT(logfile_open(path, 400, 3, &ft.lf, &err), 0);
	}
	char expect[8192] = "";
	for (int i = ft.from; i < ft.to; i++) {
		snprintf(expect + strlen(expect), sizeof(expect) - strlen(expect), "line %d\n", i);
	}
	ft.expect_len = strlen(expect);
	ft.out_fd = memfd_create("out", MFD_CLOEXEC);
	ft.deadline = time(NULL) + 20;
	pthread_t t;
	pthread_create(&t, NULL, writer, &ft);
	struct logfile_read_opts o = {.tail = tail, .follow = 1, .stop = follow_stop, .stop_ctx = &ft};
	int errfd = memfd_create("err", MFD_CLOEXEC);
	CHECK_EQ_INT(logfile_read(path, 3, &o, ft.out_fd, errfd, &err), 0);
	pthread_join(t, NULL);
	logfile_close(ft.lf);
	CHECK(time(NULL) <= ft.deadline);
	char *got = slurp_fd(ft.out_fd, NULL);
	CHECK(strcmp(got, expect) == 0);
	if (strcmp(got, expect) != 0) {
		fprintf(stderr, "  followed %zu bytes of %zu\n", strlen(got), strlen(expect));
	}
	free(got);
	close(ft.out_fd);
	close(errfd);
}

static void test_follow_across_rotations(void)
{
	make_dir();
	follow_lines(0, 300, 0, -1);
	/* Many rotations happened under the reader. */
	CHECK(file_size("log.2") > 0);
	/* With tail 0, only what comes. */
	follow_lines(300, 320, 0, 0);
	remove_dir();
}

static void test_follow_waits_for_the_log(void)
{
	make_dir();
	follow_lines(0, 20, 1, -1);
	remove_dir();
}

static int never(void *ctx)
{
	(void)ctx;
	return 0;
}

static void test_follow_ends_when_output_closes(void)
{
	make_dir();
	write_text("log", "2026-11-28T07:00:00.000000000Z stdout F zero\n");
	char path[128];
	log_path(path, sizeof(path), "log");
	int p[2];
	CHECK_EQ_INT(pipe2(p, O_CLOEXEC), 0);
	close(p[0]);
	struct logfile_read_opts o = {.tail = -1, .follow = 1, .stop = never};
	struct berr err;
	alarm(10);
	CHECK_EQ_INT(logfile_read(path, 1, &o, p[1], p[1], &err), 0);
	alarm(0);
	close(p[1]);
	remove_dir();
}

/* A disk that fills in the middle of a record (here RLIMIT_FSIZE, which
 * cuts a write short as a full disk does): the part written is cut off
 * again, so that once there is room, records start lines of their own. */
static void test_record_cut_short_is_removed(void)
{
	make_dir();
	char path[128];
	log_path(path, sizeof(path), "log");
	struct berr err;
	struct logfile *lf;
	CHECK_EQ_INT(logfile_open(path, 0, 1, &lf, &err), 0);
	CHECK_EQ_INT(logfile_write(lf, LOG_STDOUT, "first\n", 6, &err), 0);
	struct stat st;
	CHECK_EQ_INT(stat(path, &st), 0);
	struct rlimit old;
	CHECK_EQ_INT(getrlimit(RLIMIT_FSIZE, &old), 0);
	struct rlimit small = {.rlim_cur = (rlim_t)st.st_size + 10, .rlim_max = old.rlim_max};
	signal(SIGXFSZ, SIG_IGN);
	CHECK_EQ_INT(setrlimit(RLIMIT_FSIZE, &small), 0);
	CHECK(logfile_write(lf, LOG_STDOUT, "lost\n", 5, &err) < 0);
	CHECK_STR_CONTAINS(err.msg, path);
	CHECK_EQ_INT(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, SIG_DFL);
	struct stat after;
	CHECK_EQ_INT(stat(path, &after), 0);
	CHECK_EQ_INT(after.st_size, st.st_size);
	CHECK_EQ_INT(logfile_write(lf, LOG_STDOUT, "second\n", 7, &err), 0);
	logfile_close(lf);
	char *text = slurp(path, NULL);
	struct log_record recs[4];
	CHECK_EQ_INT(parse_all(text, recs, 4), 2);
	CHECK(rec_is(&recs[0], LOG_STDOUT, 0, "first"));
	CHECK(rec_is(&recs[1], LOG_STDOUT, 0, "second"));
	free(text);
	remove_dir();
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	RUN(test_records_and_partial_lines);
	RUN(test_long_lines_split);
	RUN(test_rotation_keeps_max_files);
	RUN(test_record_cut_short_is_removed);
	RUN(test_parse_line);
	RUN(test_parse_time);
	RUN(test_read_tail_since_timestamps);
	RUN(test_follow_across_rotations);
	RUN(test_follow_waits_for_the_log);
	RUN(test_follow_ends_when_output_closes);
	return check_summary();
}
