/* Bounded formatting for names and messages of the image store: cut to
 * fit, never overflowing, and saying when it cut (a name that was cut must
 * not be used). */
#ifndef BERTH_STRFMT_H
#define BERTH_STRFMT_H

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

/* 0, or -ENAMETOOLONG when the result was cut (buf then holds the cut
 * text, NUL-terminated). */
__attribute__((format(printf, 3, 4))) static inline int strfmt(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	if (n < 0) {
		if (size > 0) {
			buf[0] = '\0';
		}
		return -EINVAL;
	}
	return (size_t)n < size ? 0 : -ENAMETOOLONG;
}

#endif
