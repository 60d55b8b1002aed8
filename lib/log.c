/* Logging (see log.h). Never allocates and never fails loudly: a message
 * that cannot be written is dropped, never allowed to stop the caller. */
#include "lib/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *log_ident = "berth";
static int log_kmsg_fd = -1;
static void (*log_sink)(enum blog_level level, const char *msg);

void blog_sink(void (*fn)(enum blog_level level, const char *msg))
{
	log_sink = fn;
}

void blog_init(const char *ident, int kmsg_fd)
{
	log_ident = ident;
	log_kmsg_fd = kmsg_fd;
}

__attribute__((format(printf, 3, 0))) static void blog_v(enum blog_level level, const char *ident, const char *fmt,
							 va_list ap)
{
	int saved = errno;
	char line[1024];
	size_t n = 0;
	int r;

	if (log_sink != NULL) {
		vsnprintf(line, sizeof(line), fmt, ap);
		log_sink(level, line);
		errno = saved;
		return;
	}
	if (log_kmsg_fd >= 0) {
		r = snprintf(line, sizeof(line), "<%d>%s: ", (int)level, ident);
	} else {
		r = snprintf(line, sizeof(line), "%s%s%s", ident, ident[0] != '\0' ? ": " : "",
			     level <= BLOG_ERR	  ? "error: "
			     : level == BLOG_WARN ? "warning: "
						  : "");
	}
	if (r > 0) {
		n = (size_t)r < sizeof(line) ? (size_t)r : sizeof(line) - 1;
	}
	r = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	if (r > 0) {
		n += (size_t)r < sizeof(line) - n ? (size_t)r : sizeof(line) - n - 1;
	}
	/* One record per line: the kernel log treats each write as a record. */
	if (n > 0 && line[n - 1] != '\n' && n < sizeof(line) - 1) {
		line[n++] = '\n';
	}
	if (log_kmsg_fd >= 0) {
		if (write(log_kmsg_fd, line, n) >= 0) {
			errno = saved;
			return;
		}
	}
	(void)!write(STDERR_FILENO, line, n);
	errno = saved;
}

void blog(enum blog_level level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	blog_v(level, log_ident, fmt, ap);
	va_end(ap);
}

void blog_as(enum blog_level level, const char *ident, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	blog_v(level, ident, fmt, ap);
	va_end(ap);
}
