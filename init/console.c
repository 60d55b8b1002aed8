/* Console (see console.h). Runs in PID 1. */
#include "init/console.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lib/berr.h"
#include "lib/fsutil.h"
#include "lib/log.h"

void console_device(char *path, size_t size)
{
	char active[256];
	/* The last active console is the one /dev/console points to, which
	 * is the last console= on the command line. */
	if (read_file("/sys/class/tty/console/active", active, sizeof(active), NULL) > 0) {
		trim_end(active);
		char *last = strrchr(active, ' ');
		last = last ? last + 1 : active;
		if (*last != '\0' && strchr(last, '/') == NULL) {
			snprintf(path, size, "/dev/%s", last);
			if (access(path, R_OK | W_OK) == 0) {
				return;
			}
		}
	}
	snprintf(path, size, "/dev/console");
}

/* 1 when tty0 is one of the kernel's consoles and not the last (primary)
 * one; read once, the consoles do not change after boot. */
static int screen_is_secondary(void)
{
	static int known = -1;
	if (known < 0) {
		char active[256];
		known = 0;
		if (read_file("/sys/class/tty/console/active", active, sizeof(active), NULL) > 0) {
			trim_end(active);
			char *save = NULL;
			char *next = NULL;
			for (char *name = strtok_r(active, " ", &save); name != NULL; name = next) {
				next = strtok_r(NULL, " ", &save);
				if (strcmp(name, "tty0") == 0 && next != NULL) {
					known = 1;
				}
			}
		}
	}
	return known;
}

/* Non-blocking, so that a console nobody drains (a stopped terminal, a
 * serial line with flow control) never stops PID 1; but a full output
 * buffer is waited for a little, and a line that is still lost is said in
 * the kernel log, where hostlog keeps it. */
static void write_line(const char *dev, const char *line, size_t len)
{
	int fd = open(dev, O_WRONLY | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		blog_warn("console: open %s: %s", dev, strerror(errno));
		return;
	}
	size_t done = 0;
	for (int waits = 0; done < len;) {
		ssize_t n = write(fd, line + done, len - done);
		if (n > 0) {
			done += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR) {
			continue;
		}
		struct pollfd p = {.fd = fd, .events = POLLOUT};
		if (n < 0 && errno == EAGAIN && waits++ < 10 && poll(&p, 1, 100) >= 0) {
			continue;
		}
		blog_warn("console: write %s: %s (%zu of %zu bytes written)", dev,
			  n < 0 ? strerror(errno) : "no progress", done, len);
		break;
	}
	close(fd);
}

void console_print(const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0) {
		return;
	}
	if ((size_t)n > sizeof(line) - 2) {
		n = (int)sizeof(line) - 2;
	}
	line[n++] = '\n';
	write_line("/dev/console", line, (size_t)n);
	if (screen_is_secondary()) {
		write_line("/dev/tty0", line, (size_t)n);
	}
}
