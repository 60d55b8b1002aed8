/* DATA's format marker: a new DATA gets one, an older one is migrated, a
 * newer one is refused and left as it was. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"
#include "daemon/dataformat.h"
#include "lib/fsutil.h"

static char dir[] = "/tmp/berth-test-dataformat.XXXXXX";

static void put(const char *sub, const char *name, const char *text)
{
	char path[256];
	char parent[256];
	snprintf(path, sizeof(path), "%s/%s/%s", dir, sub, name);
	path_dirname(parent, sizeof(parent), path);
	mkdir_p(parent, 0700, NULL);
	CHECK_EQ_INT(write_file_atomic(path, text, strlen(text), 0644, 0, NULL), 0);
}

static void test_new_old_and_newer(void)
{
	char sub[256];
	int format = -1;
	struct berr err;
	/* New: marked with the current format. */
	snprintf(sub, sizeof(sub), "%s/new", dir);
	CHECK_EQ_INT(dataformat_check(sub, &err), 0);
	CHECK_EQ_INT(dataformat_read(sub, &format, NULL), 0);
	CHECK_EQ_INT(format, DATA_FORMAT);
	/* From before the marker: migrated, its state kept. */
	put("old", "containers/web/record", "x");
	snprintf(sub, sizeof(sub), "%s/old", dir);
	CHECK_EQ_INT(dataformat_read(sub, &format, NULL), 0);
	CHECK_EQ_INT(format, 0);
	CHECK_EQ_INT(dataformat_check(sub, &err), 0);
	CHECK_EQ_INT(dataformat_read(sub, &format, NULL), 0);
	CHECK_EQ_INT(format, DATA_FORMAT);
	/* Newer: refused with what to do, the marker untouched. */
	put("newer", DATA_FORMAT_FILE, "7\n");
	snprintf(sub, sizeof(sub), "%s/newer", dir);
	CHECK_EQ_INT(dataformat_check(sub, &err), -EPROTONOSUPPORT);
	CHECK_STR_CONTAINS(err.msg, "format 7");
	CHECK_STR_CONTAINS(err.msg, "newer Berth");
	CHECK_STR_CONTAINS(err.msg, "berth os rollback");
	CHECK_EQ_INT(dataformat_read(sub, &format, NULL), 0);
	CHECK_EQ_INT(format, 7);
	/* Unreadable: refused too. */
	put("junk", DATA_FORMAT_FILE, "seven\n");
	snprintf(sub, sizeof(sub), "%s/junk", dir);
	CHECK_EQ_INT(dataformat_check(sub, &err), -EPROTONOSUPPORT);
}

int main(void)
{
	if (check_tmpdir(dir) < 0) {
		return 2;
	}
	RUN(test_new_old_and_newer);
	return check_summary();
}
