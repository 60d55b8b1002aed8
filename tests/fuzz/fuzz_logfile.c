/* libFuzzer entry point for the container log format: a log file is
 * written from a container's output (untrusted bytes) and read back by
 * `berth logs`. Two properties: the parser survives any line, and what
 * the writer makes of any output parses back to the same bytes. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "monitor/logfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct log_record rec;
	logfile_parse_line((const char *)data, size, &rec);
	struct timespec now = {1700000000, 0};
	struct timespec t;
	char text[64];
	size_t n = size < sizeof(text) - 1 ? size : sizeof(text) - 1;
	memcpy(text, data, n);
	text[n] = '\0';
	logfile_parse_time(text, &now, &t);

	/* Round trip: write the bytes as a container's stdout, read the file. */
	char path[] = "/tmp/berth-fuzz-log-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0) {
		return 0;
	}
	close(fd);
	struct logfile *lf = NULL;
	struct berr err;
	if (logfile_open(path, 0, 1, &lf, &err) == 0) {
		logfile_write(lf, LOG_STDOUT, (const char *)data, size, &err);
		logfile_flush(lf, &err);
		logfile_close(lf);
		FILE *out = tmpfile();
		if (out != NULL) {
			int ofd = fileno(out);
			struct logfile_read_opts o = {.tail = -1};
			if (logfile_read(path, 1, &o, ofd, ofd, &err) < 0) {
				abort();
			}
			off_t len = lseek(ofd, 0, SEEK_CUR);
			char *back = malloc(size + 1);
			if (back == NULL) {
				abort();
			}
			if (len != (off_t)size || pread(ofd, back, size, 0) != (ssize_t)size ||
			    (size > 0 && memcmp(back, data, size) != 0)) {
				abort();
			}
			free(back);
			fclose(out);
		}
	}
	unlink(path);
	return 0;
}
