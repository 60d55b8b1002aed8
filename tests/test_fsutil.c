/* lib/fsutil.c's bounded readers: whatever the input (a pipe, stdin, a
 * regular file, a /proc file whose size lies), an input of up to the limit
 * comes whole, a longer one is an error that names it, never a cut, and a
 * writer that never stops cannot keep the reader reading. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "lib/cleanup.h"
#include "lib/fsutil.h"

/* Larger than read_fd_alloc's first buffer, so that it has to grow. */
#define BIG 10000

/* len bytes that differ from one offset to the next, so that a lost or
 * repeated chunk shows. */
static char *pattern(size_t len)
{
	char *text = malloc(len + 1);
	if (text == NULL) {
		abort();
	}
	for (size_t i = 0; i < len; i++) {
		text[i] = (char)('a' + i % 23);
	}
	text[len] = '\0';
	return text;
}

/* The read end of a pipe that holds len bytes of text and then ends (len
 * stays under the pipe's 64 KiB, so that nothing blocks). */
static int pipe_with(const char *text, size_t len)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		abort();
	}
	if (write_all(p[1], text, len) < 0) {
		abort();
	}
	close(p[1]);
	return p[0];
}

/* Reads a pipe holding len bytes with limit max, as update --resources -
 * reads its stdin. */
static int read_pipe(size_t len, size_t max, char **data, size_t *got, struct berr *err)
{
	auto_free char *text = pattern(len);
	auto_close int fd = pipe_with(text, len);
	int ret = read_fd_alloc(fd, max, "stdin", data, got, err);
	if (ret == 0) {
		CHECK(*got == len && memcmp(*data, text, len) == 0);
		CHECK_EQ_INT((*data)[*got], '\0');
	}
	return ret;
}

static void test_pipe_under_limit(void)
{
	struct berr err = {0};
	char *data = NULL;
	size_t len = 0;
	CHECK_EQ_INT(read_pipe(10, 100, &data, &len, &err), 0);
	CHECK_EQ_INT(len, 10);
	free(data);
	CHECK_EQ_INT(read_pipe(BIG - 1, BIG, &data, &len, &err), 0);
	CHECK_EQ_INT(len, BIG - 1);
	free(data);
}

static void test_pipe_at_limit(void)
{
	struct berr err = {0};
	char *data = NULL;
	size_t len = 0;
	CHECK_EQ_INT(read_pipe(BIG, BIG, &data, &len, &err), 0);
	CHECK_EQ_INT(len, BIG);
	free(data);
	CHECK_EQ_INT(read_pipe(5, 5, &data, &len, &err), 0);
	CHECK_EQ_INT(len, 5);
	free(data);
}

static void test_pipe_over_limit(void)
{
	struct berr err = {0};
	char *data = NULL;
	size_t len = 7;
	CHECK_EQ_INT(read_pipe(BIG + 1, BIG, &data, &len, &err), -EFBIG);
	CHECK_STR_CONTAINS(err.msg, "stdin: larger than 10000 bytes");
	CHECK(data == NULL && len == 0);
	CHECK_EQ_INT(read_pipe(1, 0, &data, &len, &err), -EFBIG);
	CHECK_STR_CONTAINS(err.msg, "stdin: larger than 0 bytes");
	CHECK(data == NULL);
}

static void test_pipe_empty(void)
{
	struct berr err = {0};
	char *data = NULL;
	size_t len = 7;
	CHECK_EQ_INT(read_pipe(0, 100, &data, &len, &err), 0);
	CHECK(data != NULL && len == 0 && data[0] == '\0');
	free(data);
	len = 7;
	CHECK_EQ_INT(read_pipe(0, 0, &data, &len, &err), 0);
	CHECK(data != NULL && len == 0);
	free(data);
}

/* A writer that never stops (a shim gone wrong): the reader gives up after
 * the limit and a probe byte rather than reading on. */
static void test_endless_writer_is_cut_off(void)
{
	int p[2];
	CHECK_EQ_INT(pipe2(p, O_CLOEXEC), 0);
	pid_t pid = fork();
	if (pid < 0) {
		CHECK(pid >= 0);
		close(p[0]);
		close(p[1]);
		return;
	}
	if (pid == 0) {
		close(p[0]);
		char chunk[4096];
		memset(chunk, 'x', sizeof(chunk));
		while (write_all(p[1], chunk, sizeof(chunk)) == 0) {
		}
		_exit(0);
	}
	close(p[1]);
	struct berr err = {0};
	char *data = NULL;
	size_t len = 0;
	/* Above the pipe's own buffer, so that the writer is still writing. */
	CHECK_EQ_INT(read_fd_alloc(p[0], 200000, "stdin", &data, &len, &err), -EFBIG);
	CHECK_STR_CONTAINS(err.msg, "stdin: larger than 200000 bytes");
	CHECK(data == NULL);
	close(p[0]);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static void test_regular_files(void)
{
	char dir[] = "/tmp/berth-fsutil-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	char path[64];
	snprintf(path, sizeof(path), "%s/f", dir);
	auto_free char *text = pattern(BIG);
	CHECK_EQ_INT(write_file_atomic(path, text, BIG, 0644, 0, NULL), 0);
	struct berr err = {0};
	char *data = NULL;
	size_t len = 0;
	CHECK_EQ_INT(read_file_alloc(AT_FDCWD, path, 0, BIG, "f", &data, &len, &err), 0);
	CHECK(len == BIG && data != NULL && memcmp(data, text, BIG) == 0 && data[BIG] == '\0');
	free(data);
	/* Its size alone says it is too long: refused before a read. */
	CHECK_EQ_INT(read_file_alloc(AT_FDCWD, path, 0, BIG - 1, "f", &data, &len, &err), -EFBIG);
	CHECK_STR_CONTAINS(err.msg, "f: larger than 9999 bytes");
	CHECK(data == NULL);

	/* The same file as stdin would be: an fd, not a name. */
	auto_close int fd = open(path, O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 0);
	CHECK_EQ_INT(read_fd_alloc(fd, BIG, "stdin", &data, &len, &err), 0);
	CHECK(len == BIG && data != NULL && memcmp(data, text, BIG) == 0);
	free(data);

	/* /proc says 0 bytes, yet the whole file comes. */
	CHECK_EQ_INT(read_file_alloc(AT_FDCWD, "/proc/self/status", 0, 1 << 20, NULL, &data, &len, &err), 0);
	CHECK(len > 100 && data != NULL && strstr(data, "Pid:") != NULL && data[len] == '\0');
	free(data);
	CHECK_EQ_INT(read_file_alloc(AT_FDCWD, "/proc/self/status", 0, 10, NULL, &data, &len, &err), -EFBIG);
	CHECK_STR_CONTAINS(err.msg, "/proc/self/status: larger than 10 bytes");

	/* read_file_alloc is for files: a FIFO, opened without blocking, is refused. */
	char fifo[64];
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	CHECK_EQ_INT(mkfifo(fifo, 0600), 0);
	CHECK_EQ_INT(read_file_alloc(AT_FDCWD, fifo, O_NONBLOCK, BIG, NULL, &data, &len, &err), -EINVAL);
	CHECK_STR_CONTAINS(err.msg, "not a regular file");
	unlink(fifo);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	RUN(test_pipe_under_limit);
	RUN(test_pipe_at_limit);
	RUN(test_pipe_over_limit);
	RUN(test_pipe_empty);
	RUN(test_endless_writer_is_cut_off);
	RUN(test_regular_files);
	return check_summary();
}
