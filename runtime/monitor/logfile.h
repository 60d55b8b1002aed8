/* A container's log on DATA: what its stdout and stderr said, one record
 * per line with the time it was read and the stream, in the CRI log format
 * that kubelet and crictl use:
 *
 *     2026-11-28T07:33:19.123456789Z stdout F the line
 *
 * ("F" a full line, "P" a part of a line longer than LOGFILE_MAX_LINE or
 * cut by the end of the output). Files rotate by size: log, log.1, ...,
 * log.(max_files-1); the oldest is dropped. Written by the container's
 * monitor only; read by berthd for `berth logs`. */
#ifndef BERTH_LOGFILE_H
#define BERTH_LOGFILE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "lib/berr.h"

#define LOGFILE_MAX_LINE 16384
#define LOGFILE_DEFAULT_MAX_SIZE (10u << 20)
#define LOGFILE_DEFAULT_MAX_FILES 3

enum log_stream { LOG_STDOUT, LOG_STDERR };

struct logfile;

/* Opens (appending to) path, creating it 0640. max_size 0 never rotates;
 * max_files 0 counts as 1 (the log starts afresh when full). */
int logfile_open(const char *path, uint64_t max_size, unsigned max_files, struct logfile **out, struct berr *err);

/* Appends output as read from a stream: complete lines become records; a
 * trailing partial line is kept per stream until its end arrives, or written
 * as "P" once it reaches LOGFILE_MAX_LINE. Rotates before a record that
 * would take the file over max_size. */
int logfile_write(struct logfile *lf, enum log_stream stream, const char *data, size_t len, struct berr *err);

/* Writes out partial lines kept for both streams (at the container's exit). */
int logfile_flush(struct logfile *lf, struct berr *err);

void logfile_close(struct logfile *lf);

/* One parsed record. */
struct log_record {
	struct timespec time;
	enum log_stream stream;
	int partial;
	const char *text; /* not NUL-terminated when it came from a buffer */
	size_t len;
};

/* Formats a time as records carry it: RFC 3339 in UTC with nine fraction
 * digits, "2026-11-28T07:33:19.123456789Z" (the length of a record's
 * time, for all times before the year 10000). Returns the length, 0 if
 * size (40 is plenty) is too small. */
size_t logfile_format_time(const struct timespec *t, char *out, size_t size);

/* Parses one line of a log file (without its newline). 0 or -EINVAL. */
int logfile_parse_line(const char *line, size_t len, struct log_record *rec);

/* Parses RFC 3339 times ("2026-11-28T07:33:19Z", with optional fraction
 * and offset), Unix seconds ("1764315199" or with a fraction) and
 * durations back from now ("10m", "1h30m", "45s"), as `docker logs
 * --since` takes them. 0 or -EINVAL. */
int logfile_parse_time(const char *s, const struct timespec *now, struct timespec *out);

struct logfile_read_opts {
	long tail; /* -1: all; otherwise the last N records */
	int have_since;
	struct timespec since;	/* only records at or after this time */
	int timestamps;		/* prefix each line with its time */
	int follow;		/* keep reading as the file grows or rotates */
	int (*stop)(void *ctx); /* when following: polled; nonzero ends the read */
	void *stop_ctx;
};

/* Writes the records of the log at path (and its rotated files, oldest
 * first) as a user reads them: the text with its newline back (unless
 * partial), to stdout_fd or stderr_fd by stream. Following ends when
 * stop() says so or an output fd closes (the caller ignores SIGPIPE); a
 * missing log is then waited for, otherwise -ENOENT. tail counts records,
 * each part of a long line as one. */
int logfile_read(const char *path, unsigned max_files, const struct logfile_read_opts *o, int stdout_fd, int stderr_fd,
		 struct berr *err);

#endif
