/* Console (see console.h). Runs in PID 1. */
#include "init/console.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lib/berr.h"
#include "lib/fsutil.h"

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
	int fd = open("/dev/console", O_WRONLY | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
	if (fd >= 0) {
		(void)!write(fd, line, (size_t)n);
		close(fd);
	}
}
