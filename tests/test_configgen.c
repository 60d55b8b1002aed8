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

/* A CONFIG partition in a fresh directory under /tmp, holding the
 * generation directories gens (0, as flashed, needs none). */
struct part {
	char base[32];
	int fd;
};

static int make_part(struct part *p, const unsigned *gens, size_t n)
{
	snprintf(p->base, sizeof(p->base), "/tmp/berth-configgen-XXXXXX");
	p->fd = -1;
	const char *made = mkdtemp(p->base);
	CHECK(made != NULL);
	if (made == NULL) {
		return -1;
	}
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", p->base, CONFIGGEN_GEN_DIR);
	struct berr err = {0};
	CHECK_EQ_INT(mkdir_p(path, 0755, &err), 0);
	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s/%u", p->base, CONFIGGEN_GEN_DIR, gens[i]);
		CHECK_EQ_INT(mkdir(path, 0755), 0);
	}
	p->fd = open(p->base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK(p->fd >= 0);
	return p->fd;
}

static void remove_part(struct part *p)
{
	if (p->fd >= 0) {
		close(p->fd);
		p->fd = -1;
	}
	CHECK_EQ_INT(check_rmtree(p->base), 0);
}

/* Replaces one of the partition's files (name below its top), as a
 * broken or stale one would be left. */
static void put_file(const struct part *p, const char *name, const char *text)
{
	char path[512];
	struct berr err = {0};
	snprintf(path, sizeof(path), "%s/%s", p->base, name);
	CHECK_EQ_INT(write_file_atomic(path, text, strlen(text), 0644, 0, &err), 0);
}

static int failed_with(const struct part *p, unsigned gen, const char *text)
{
	char path[512];
	char buf[256] = "";
	snprintf(path, sizeof(path), "%s/%s/%u.failed", p->base, CONFIGGEN_GEN_DIR, gen);
	return read_file(path, buf, sizeof(buf), NULL) >= 0 && strstr(buf, text) != NULL;
}

static void test_current_and_previous(void)
{
	const unsigned gens[] = {1, 2, 10};
	struct part p;
	int part = make_part(&p, gens, 3);
	if (part < 0) {
		return;
	}
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
	put_file(&p, CONFIGGEN_CURRENT, "ten\n");
	CHECK_EQ_INT(configgen_current(part, &g, &err), -EINVAL);
	CHECK_STR_CONTAINS(err.msg, CONFIGGEN_CURRENT);
	put_file(&p, CONFIGGEN_CURRENT, "3\n");
	CHECK_EQ_INT(configgen_current(part, &g, &err), -ENOENT);
	CHECK_STR_CONTAINS(err.msg, "generation 3");
	unsigned parsed = 0;
	CHECK_EQ_INT(configgen_parse("0012", &parsed), -EINVAL);
	CHECK_EQ_INT(configgen_parse("", &parsed), -EINVAL);
	CHECK_EQ_INT(configgen_parse("12", &parsed), 0);
	CHECK_EQ_INT(parsed, 12);
	remove_part(&p);
}

/* A restart while a generation is on trial brings the one before back;
 * a trial file left by a cut before the switch or after the way back
 * changes nothing but itself. */
static void test_trial_settles_at_boot(void)
{
	const unsigned gens[] = {1, 2, 3};
	struct part p;
	int part = make_part(&p, gens, 3);
	if (part < 0) {
		return;
	}
	struct berr err = {0};
	unsigned g = 0;
	unsigned was = 0;
	CHECK_EQ_INT(configgen_settle_trial(part, &was, &err), 0); /* none */

	CHECK_EQ_INT(configgen_set_current(part, 1, &err), 0);
	CHECK_EQ_INT(configgen_trial_begin(part, 2, &err), 0);
	CHECK_EQ_INT(configgen_trial(part, &g, &err), 0);
	CHECK_EQ_INT(g, 2);
	/* Cut before the switch: 1 stays, the trial is forgotten. */
	CHECK_EQ_INT(configgen_settle_trial(part, &was, &err), 0);
	CHECK_EQ_INT(configgen_trial(part, &g, &err), 1);
	CHECK_EQ_INT(configgen_current(part, &g, &err), 0);
	CHECK_EQ_INT(g, 1);
	CHECK(!failed_with(&p, 2, ""));

	/* Cut while 2 is on trial and in use: 1 is back, 2 failed. */
	CHECK_EQ_INT(configgen_trial_begin(part, 2, &err), 0);
	CHECK_EQ_INT(configgen_set_current(part, 2, &err), 0);
	CHECK_EQ_INT(configgen_settle_trial(part, &was, &err), 1);
	CHECK_EQ_INT(was, 2);
	CHECK_EQ_INT(configgen_current(part, &g, &err), 0);
	CHECK_EQ_INT(g, 1);
	CHECK(failed_with(&p, 2, "not confirmed"));
	CHECK_EQ_INT(configgen_trial(part, &g, &err), 1);

	/* Confirmed: the trial ends and 3 stays through a restart. */
	CHECK_EQ_INT(configgen_trial_begin(part, 3, &err), 0);
	CHECK_EQ_INT(configgen_set_current(part, 3, &err), 0);
	CHECK_EQ_INT(configgen_trial_end(part, &err), 0);
	CHECK_EQ_INT(configgen_settle_trial(part, &was, &err), 0);
	CHECK_EQ_INT(configgen_current(part, &g, &err), 0);
	CHECK_EQ_INT(g, 3);

	/* A trial naming nothing is cleared. */
	put_file(&p, CONFIGGEN_TRIAL, "junk\n");
	CHECK_EQ_INT(configgen_trial(part, &g, &err), -EINVAL);
	CHECK_EQ_INT(configgen_settle_trial(part, &was, &err), 0);
	CHECK_EQ_INT(configgen_trial(part, &g, &err), 1);
	CHECK_EQ_INT(configgen_current(part, &g, &err), 0);
	CHECK_EQ_INT(g, 3);
	remove_part(&p);
}

int main(void)
{
	RUN(test_current_and_previous);
	RUN(test_trial_settles_at_boot);
	return check_summary();
}
