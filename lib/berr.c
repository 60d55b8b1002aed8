/* Error objects (see berr.h). Never allocates: a message that does not fit
 * is truncated, never lost. */
#include "lib/berr.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Appends src at msg[*len], truncating to what fits (messages are cut,
 * never overflowed). */
static void msg_append(char *msg, size_t size, size_t *len, const char *src)
{
	size_t n = strlen(src);
	if (*len + 1 >= size) {
		return;
	}
	if (n > size - 1 - *len) {
		n = size - 1 - *len;
	}
	memcpy(msg + *len, src, n);
	*len += n;
	msg[*len] = '\0';
}

__attribute__((format(printf, 4, 0))) static int berr_vset(struct berr *err, int code, int with_strerror,
							   const char *fmt, va_list ap)
{
	if (code <= 0) {
		code = EIO;
	}
	if (err == NULL) {
		return -code;
	}
	err->code = code;
	if (vsnprintf(err->msg, sizeof(err->msg), fmt, ap) < 0) {
		err->msg[0] = '\0';
	}
	size_t len = strlen(err->msg);
	if (with_strerror) {
		msg_append(err->msg, sizeof(err->msg), &len, ": ");
		msg_append(err->msg, sizeof(err->msg), &len, strerror(code));
	}
	return -code;
}

int berr_set(struct berr *err, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int ret = berr_vset(err, code, 1, fmt, ap);
	va_end(ap);
	return ret;
}

int berr_setx(struct berr *err, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int ret = berr_vset(err, code, 0, fmt, ap);
	va_end(ap);
	return ret;
}

int berr_prefix(struct berr *err, const char *fmt, ...)
{
	if (err == NULL) {
		return -EIO;
	}
	char old[sizeof(err->msg)];
	memcpy(old, err->msg, sizeof(old));
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	if (n < 0) {
		err->msg[0] = '\0';
	}
	size_t len = strlen(err->msg);
	msg_append(err->msg, sizeof(err->msg), &len, ": ");
	msg_append(err->msg, sizeof(err->msg), &len, old);
	return -(err->code > 0 ? err->code : EIO);
}

void berr_clear(struct berr *err)
{
	if (err != NULL) {
		err->code = 0;
		err->msg[0] = '\0';
	}
}
