/* The format of berthd's state on DATA (/data/berth): a marker file names
 * it, so that a newer berthd can bring an older DATA forward (one step per
 * format, each step durable before the next) and an older berthd, booted
 * again by a rollback, refuses a DATA it does not understand instead of
 * damaging it. An update never writes DATA itself: only berthd does. */
#ifndef BERTH_DATAFORMAT_H
#define BERTH_DATAFORMAT_H

#include "lib/berr.h"

/* The format this berthd writes. 0 is DATA from before the marker. */
#define DATA_FORMAT 1
#define DATA_FORMAT_FILE "format"

/* Brings dir (BERTH_DATA_DIR) to DATA_FORMAT: writes the marker on a new
 * DATA, migrates an older one, and returns -EPROTONOSUPPORT (err says so,
 * for people) for a newer or unreadable one. */
int dataformat_check(const char *dir, struct berr *err);

/* The format named by dir's marker, 0 without one (for tests). */
int dataformat_read(const char *dir, int *format, struct berr *err);

#endif
