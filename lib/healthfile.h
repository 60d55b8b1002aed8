/* berthd's status for init's health gate: one small text file under /run,
 * replaced whole (rename) whenever berthd's readiness or a system
 * container's health changes. init reads it from its event loop, so it
 * never waits on berthd's socket; the file is the whole interface between
 * the two programs (neither includes the other's code).
 *
 *   berthd-status 1
 *   pid 312                     the berthd that wrote it
 *   state starting|ready|refused
 *   message TEXT                why it refused (refused only)
 *   checked 3                   system containers with a healthcheck
 *   healthy 2                   ... of which healthy now
 *   waiting NAME STATUS         one line per one that is not (at most 16) */
#ifndef BERTH_HEALTHFILE_H
#define BERTH_HEALTHFILE_H

#include <stddef.h>
#include <sys/types.h>

#include "lib/berr.h"

#define HEALTHFILE_PATH "/run/berth/berthd.status"
#define HEALTHFILE_MAX_WAITING 16

enum berthd_state {
	BERTHD_STARTING,
	BERTHD_READY,	/* its API answers and compose.yaml has been applied */
	BERTHD_REFUSED, /* it will not run (message says why) */
};

struct healthfile {
	pid_t pid;
	enum berthd_state state;
	char message[512];
	int checked;
	int healthy;
	size_t nwaiting;
	struct {
		char name[128];
		char status[32];
	} waiting[HEALTHFILE_MAX_WAITING];
};

/* The file's text for h (malloc'd; NULL: out of memory). */
char *healthfile_format(const struct healthfile *h);

/* Parses the text; -EINVAL when it is not such a file. */
int healthfile_parse(struct healthfile *h, const char *text, struct berr *err);

/* Writes h to path (atomically: readers see the old file or the new). */
int healthfile_write(const char *path, const struct healthfile *h, struct berr *err);

/* Reads and parses path (-ENOENT: berthd has not written it yet). */
int healthfile_read(const char *path, struct healthfile *h, struct berr *err);

#endif
