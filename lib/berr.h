/* Error objects: a negative errno plus one message, filled once at the place
 * that knows the failing path or field, printed once at the top level. */
#ifndef BERTH_BERR_H
#define BERTH_BERR_H

#include <stddef.h>

struct berr {
	int code;	/* positive errno; 0 when no error was set */
	char msg[1024]; /* what failed, naming the path, field or line */
};

/* Sets the error, appending strerror(code) when code is a real errno, and
 * returns -code so that callers can `return berr_set(...)`. err may be NULL. */
int berr_set(struct berr *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Like berr_set, without the strerror suffix (for config and format errors). */
int berr_setx(struct berr *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Prefixes context to an error already set ("mount /data: <old message>"). */
int berr_prefix(struct berr *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void berr_clear(struct berr *err);

#endif
