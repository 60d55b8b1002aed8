/* CONFIG's generations (see configgen.h). */
#include "lib/configgen.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/decimal.h"
#include "lib/fsutil.h"

int configgen_parse(const char *s, unsigned *gen)
{
	uint64_t v;
	if ((s[0] == '0' && s[1] != '\0') || decimal_parse(s, 999999, &v) < 0) {
		return -EINVAL;
	}
	*gen = (unsigned)v;
	return 0;
}

void configgen_path(unsigned gen, char *out, size_t size)
{
	if (gen == 0) {
		snprintf(out, size, ".");
	} else {
		snprintf(out, size, "%s/%u", CONFIGGEN_GEN_DIR, gen);
	}
}

static int gen_exists(int partfd, unsigned gen)
{
	char path[64];
	configgen_path(gen, path, sizeof(path));
	struct stat st;
	return fstatat(partfd, path, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

/* The generation a file under partfd names: 0, 1 when there is no such
 * file, or -errno naming it. */
static int read_gen(int partfd, const char *name, unsigned *gen, struct berr *err)
{
	*gen = 0;
	char buf[16];
	auto_close int fd = openat(partfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		return errno == ENOENT ? 1 : berr_set(err, errno, "CONFIG's %s", name);
	}
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0) {
		return berr_set(err, errno, "CONFIG's %s", name);
	}
	buf[n] = '\0';
	trim_end(buf);
	unsigned g;
	if (configgen_parse(buf, &g) < 0) {
		return berr_setx(err, EINVAL, "CONFIG's %s: not a generation number", name);
	}
	if (!gen_exists(partfd, g)) {
		return berr_setx(err, ENOENT, "CONFIG's %s names generation %u, which is missing", name, g);
	}
	*gen = g;
	return 0;
}

int configgen_current(int partfd, unsigned *gen, struct berr *err)
{
	int ret = read_gen(partfd, CONFIGGEN_CURRENT, gen, err);
	return ret > 0 ? 0 : ret;
}

int configgen_previous(int partfd, unsigned *gen, struct berr *err)
{
	int ret = read_gen(partfd, CONFIGGEN_PREVIOUS, gen, err);
	return ret > 0 ? berr_setx(err, ENOENT, "no generation was in use before this one") : ret;
}

static int cmp_unsigned(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a;
	unsigned y = *(const unsigned *)b;
	return x < y ? -1 : x > y;
}

int configgen_list(int partfd, unsigned *gens, size_t max, size_t *n, struct berr *err)
{
	*n = 0;
	if (max == 0) {
		return 0;
	}
	gens[(*n)++] = 0;
	int dfd = openat(partfd, CONFIGGEN_GEN_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0) {
		return errno == ENOENT ? 0 : berr_set(err, errno, "CONFIG's %s", CONFIGGEN_GEN_DIR);
	}
	auto_closedir DIR *d = fdopendir(dfd);
	if (d == NULL) {
		close(dfd);
		return berr_set(err, errno, "CONFIG's %s", CONFIGGEN_GEN_DIR);
	}
	struct dirent *e;
	while ((e = readdir(d)) != NULL && *n < max) {
		unsigned g;
		if (configgen_parse(e->d_name, &g) == 0 && g > 0 && gen_exists(partfd, g)) {
			gens[(*n)++] = g;
		}
	}
	qsort(gens, *n, sizeof(*gens), cmp_unsigned);
	return 0;
}

int configgen_set_current(int partfd, unsigned gen, struct berr *err)
{
	if (gen > 0 && !gen_exists(partfd, gen)) {
		return berr_setx(err, ENOENT, "CONFIG has no generation %u", gen);
	}
	if (mkdirat(partfd, CONFIGGEN_DIR, 0755) < 0 && errno != EEXIST) {
		return berr_set(err, errno, "CONFIG's %s", CONFIGGEN_DIR);
	}
	char text[16];
	unsigned was = 0;
	struct berr ignored = {0};
	/* The one before first: a cut between the two leaves it naming the one
	 * still in use, which rollback does not take for a way back. */
	if (configgen_current(partfd, &was, &ignored) == 0 && was != gen) {
		snprintf(text, sizeof(text), "%u\n", was);
		int ret = write_file_atomic_at(partfd, CONFIGGEN_PREVIOUS, text, strlen(text), 0644,
					       ATOMIC_FSYNC_FILE | ATOMIC_FSYNC_DIR, err);
		if (ret < 0) {
			return ret;
		}
	}
	snprintf(text, sizeof(text), "%u\n", gen);
	return write_file_atomic_at(partfd, CONFIGGEN_CURRENT, text, strlen(text), 0644,
				    ATOMIC_FSYNC_FILE | ATOMIC_FSYNC_DIR, err);
}

int configgen_mark_failed(int partfd, unsigned gen, const char *why, struct berr *err)
{
	char name[64];
	snprintf(name, sizeof(name), "%s/%u.failed", CONFIGGEN_GEN_DIR, gen);
	return write_file_atomic_at(partfd, name, why, strlen(why), 0644, ATOMIC_FSYNC_FILE | ATOMIC_FSYNC_DIR, err);
}

int configgen_trial_begin(int partfd, unsigned gen, struct berr *err)
{
	char text[16];
	snprintf(text, sizeof(text), "%u\n", gen);
	return write_file_atomic_at(partfd, CONFIGGEN_TRIAL, text, strlen(text), 0644,
				    ATOMIC_FSYNC_FILE | ATOMIC_FSYNC_DIR, err);
}

int configgen_trial_end(int partfd, struct berr *err)
{
	if (unlinkat(partfd, CONFIGGEN_TRIAL, 0) < 0 && errno != ENOENT) {
		return berr_set(err, errno, "CONFIG's %s", CONFIGGEN_TRIAL);
	}
	auto_close int dir = openat(partfd, CONFIGGEN_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir >= 0 && fsync(dir) < 0) {
		return berr_set(err, errno, "CONFIG's %s", CONFIGGEN_DIR);
	}
	return 0;
}

int configgen_trial(int partfd, unsigned *gen, struct berr *err)
{
	return read_gen(partfd, CONFIGGEN_TRIAL, gen, err);
}

int configgen_settle_trial(int partfd, unsigned *was, struct berr *err)
{
	unsigned trial = 0;
	unsigned current = 0;
	unsigned before = 0;
	struct berr ignored = {0};
	int ret = configgen_trial(partfd, &trial, &ignored);
	if (ret == 1) {
		return 0;
	}
	if (ret < 0 || configgen_current(partfd, &current, &ignored) < 0 || current != trial) {
		return configgen_trial_end(partfd, err);
	}
	*was = trial;
	if (configgen_previous(partfd, &before, &ignored) < 0) {
		before = 0;
	}
	const char *why = "its network change was not confirmed before the host restarted";
	if (configgen_mark_failed(partfd, trial, why, err) < 0 || configgen_set_current(partfd, before, err) < 0) {
		return -err->code;
	}
	ret = configgen_trial_end(partfd, err);
	return ret < 0 ? ret : 1;
}
