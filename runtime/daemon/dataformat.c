/* The format of berthd's state on DATA (see dataformat.h). */
#include "daemon/dataformat.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"
#include "lib/decimal.h"
#include "lib/fsutil.h"
#include "lib/log.h"

#ifndef BERTH_VERSION
#define BERTH_VERSION "unknown"
#endif

/* One step forward: from format `from` to from + 1, on dir. */
struct migration {
	int from;
	const char *what;
	int (*run)(const char *dir, struct berr *err);
};

/* 0 -> 1: the layout is the same; the marker is what is new. */
static int migrate_mark(const char *dir, struct berr *err)
{
	(void)dir;
	(void)err;
	return 0;
}

static const struct migration migrations[] = {
	{0, "the format marker", migrate_mark},
};

static int write_marker(const char *dir, int format, struct berr *err)
{
	char path[512];
	char text[32];
	snprintf(path, sizeof(path), "%s/" DATA_FORMAT_FILE, dir);
	int n = snprintf(text, sizeof(text), "%d\n", format);
	return write_file_atomic(path, text, (size_t)n, 0644, ATOMIC_FSYNC_FILE | ATOMIC_FSYNC_DIR, err);
}

int dataformat_read(const char *dir, int *format, struct berr *err)
{
	char path[512];
	char text[64];
	snprintf(path, sizeof(path), "%s/" DATA_FORMAT_FILE, dir);
	struct berr rerr;
	if (read_file(path, text, sizeof(text), &rerr) < 0) {
		if (rerr.code == ENOENT) {
			*format = 0;
			return 0;
		}
		if (err != NULL) {
			*err = rerr;
		}
		return -rerr.code;
	}
	uint64_t v;
	if (decimal_parse(trim_end(text), 1000000, &v) < 0 || v < 1) {
		return berr_setx(err, EINVAL, "%s does not hold a format number", path);
	}
	*format = (int)v;
	return 0;
}

/* A DATA without a marker: new (nothing in it) or from before the marker. */
static int has_state(const char *dir)
{
	auto_closedir DIR *d = opendir(dir);
	if (d == NULL) {
		return 0;
	}
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
			return 1;
		}
	}
	return 0;
}

int dataformat_check(const char *dir, struct berr *err)
{
	if (mkdir_p(dir, 0700, err) < 0) {
		return -EIO;
	}
	int format;
	if (dataformat_read(dir, &format, err) < 0) {
		berr_prefix(err, "DATA's state format: ");
		return -EPROTONOSUPPORT;
	}
	if (format > DATA_FORMAT) {
		return berr_setx(
			err, EPROTONOSUPPORT,
			"%s is in format %d, written by a newer Berth; this berthd (%s) knows format %d at most. "
			"Refusing to start rather than damage it: boot the newer version again (berth os "
			"rollback), or move %s aside to start afresh",
			dir, format, BERTH_VERSION, DATA_FORMAT, dir);
	}
	if (format == 0 && !has_state(dir)) {
		return write_marker(dir, DATA_FORMAT, err);
	}
	for (size_t i = 0; i < sizeof(migrations) / sizeof(migrations[0]); i++) {
		const struct migration *m = &migrations[i];
		if (m->from != format) {
			continue;
		}
		blog_notice("DATA: migrating %s from format %d to %d (%s)", dir, format, format + 1, m->what);
		if (m->run(dir, err) < 0 || write_marker(dir, format + 1, err) < 0) {
			berr_prefix(err, "migrating DATA from format %d: ", format);
			return -EPROTONOSUPPORT;
		}
		format++;
	}
	if (format != DATA_FORMAT) {
		return berr_setx(err, EPROTONOSUPPORT, "%s: no migration from format %d", dir, format);
	}
	return 0;
}
