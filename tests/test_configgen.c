/* CONFIG's generations: which one is in use, the one before it, the kept
 * ones, and names that are broken or point at nothing. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "lib/configgen.h"
#include "lib/fsutil.h"

static int part_with(const char *base, const unsigned *gens, size_t n)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", base, CONFIGGEN_GEN_DIR);
	struct berr err = {0};
	CHECK_EQ_INT(mkdir_p(path, 0755, &err), 0);
	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s/%u", base, CONFIGGEN_GEN_DIR, gens[i]);
		CHECK_EQ_INT(mkdir(path, 0755), 0);
	}
	return open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

static void test_current_and_previous(void)
{
	char base[] = "/tmp/berth-configgen-XXXXXX";
	CHECK(mkdtemp(base) != NULL);
	const unsigned gens[] = {1, 2, 10};
	int part = part_with(base, gens, 3);
	struct berr err = {0};
	unsigned g = 99;
	CHECK_EQ_INT(configgen_current(part, &g, &err), 0); /* none named: as flashed */
	CHECK_EQ_INT(g, 0);
	CHECK_EQ_INT(configgen_previous(part, &g, &err), -ENOENT);

	CHECK_EQ_INT(configgen_set_current(part, 2, &err), 0);
	CHECK_EQ_INT(configgen_current(part, &g, &err), 0);
	CHECK_EQ_INT(g, 2);
	CHECK_EQ_INT(configgen_previous(part, &g, &err), 0);
	CHECK_EQ_INT(g, 0);
	CHECK_EQ_INT(configgen_set_current(part, 10, &err), 0);
	CHECK_EQ_INT(configgen_previous(part, &g, &err), 0);
	CHECK_EQ_INT(g, 2);
	/* The same again leaves the one before alone. */
	CHECK_EQ_INT(configgen_set_current(part, 10, &err), 0);
	CHECK_EQ_INT(configgen_previous(part, &g, &err), 0);
	CHECK_EQ_INT(g, 2);
	CHECK_EQ_INT(configgen_set_current(part, 7, &err), -ENOENT);

	unsigned list[8];
	size_t n = 0;
	CHECK_EQ_INT(configgen_list(part, list, 8, &n, &err), 0);
	CHECK(n == 4 && list[0] == 0 && list[1] == 1 && list[2] == 2 && list[3] == 10);

	/* Broken names are errors naming the file; a missing generation too. */
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", base, CONFIGGEN_CURRENT);
	CHECK_EQ_INT(write_file_atomic(path, "ten\n", 4, 0644, 0, &err), 0);
	CHECK_EQ_INT(configgen_current(part, &g, &err), -EINVAL);
	CHECK_STR_CONTAINS(err.msg, CONFIGGEN_CURRENT);
	CHECK_EQ_INT(write_file_atomic(path, "3\n", 2, 0644, 0, &err), 0);
	CHECK_EQ_INT(configgen_current(part, &g, &err), -ENOENT);
	CHECK_STR_CONTAINS(err.msg, "generation 3");
	unsigned parsed = 0;
	CHECK_EQ_INT(configgen_parse("0012", &parsed), -EINVAL);
	CHECK_EQ_INT(configgen_parse("", &parsed), -EINVAL);
	CHECK_EQ_INT(configgen_parse("12", &parsed), 0);
	CHECK_EQ_INT(parsed, 12);
	close(part);
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", base);
	CHECK_EQ_INT(system(cmd), 0);
}

int main(void)
{
	RUN(test_current_and_previous);
	return check_summary();
}
