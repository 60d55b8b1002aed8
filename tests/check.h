/* A minimal test harness for host-side unit tests: CHECK records a failure
 * and goes on; each test file's main runs its cases with RUN and ends with
 * check_summary(), which prints "N passed, N failed" and sets the exit code.
 * A test file that needs scratch space makes it with check_tmpdir() first;
 * check_summary() removes it. */
#ifndef BERTH_TESTS_CHECK_H
#define BERTH_TESTS_CHECK_H

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int check_failures;
static int check_passes;
static int check_case_failed;

#define CHECK(cond)                                                                              \
	do {                                                                                     \
		if (cond) {                                                                      \
			check_passes++;                                                          \
		} else {                                                                         \
			check_failures++;                                                        \
			check_case_failed = 1;                                                   \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
		}                                                                                \
	} while (0)

#define CHECK_EQ_INT(a, b)                                                                                            \
	do {                                                                                                          \
		long long check_a_ = (long long)(a);                                                                  \
		long long check_b_ = (long long)(b);                                                                  \
		if (check_a_ == check_b_) {                                                                           \
			check_passes++;                                                                               \
		} else {                                                                                              \
			check_failures++;                                                                             \
			check_case_failed = 1;                                                                        \
			fprintf(stderr, "%s:%d: CHECK failed: %s == %s (%lld != %lld)\n", __FILE__, __LINE__, #a, #b, \
				check_a_, check_b_);                                                                  \
		}                                                                                                     \
	} while (0)

#define CHECK_STR_CONTAINS(haystack, needle)                                                                         \
	do {                                                                                                         \
		const char *check_h_ = (haystack);                                                                   \
		if (check_h_ != NULL && strstr(check_h_, (needle)) != NULL) {                                        \
			check_passes++;                                                                              \
		} else {                                                                                             \
			check_failures++;                                                                            \
			check_case_failed = 1;                                                                       \
			fprintf(stderr, "%s:%d: CHECK failed: \"%s\" does not contain \"%s\"\n", __FILE__, __LINE__, \
				check_h_ ? check_h_ : "(null)", (needle));                                           \
		}                                                                                                    \
	} while (0)

#define RUN(test)                                                              \
	do {                                                                   \
		check_case_failed = 0;                                         \
		test();                                                        \
		printf("%s %s\n", check_case_failed ? "FAIL" : "ok  ", #test); \
	} while (0)

static const char *check_tmp;

static inline int check_rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	if (remove(path) < 0) {
		fprintf(stderr, "remove %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* Removes the tree at dir, following no symlink, as rm -rf does (a dir
 * that is not there is removed already): 0, or -1 after saying why. */
static inline int check_rmtree(const char *dir)
{
	struct stat st;
	if (lstat(dir, &st) < 0 && errno == ENOENT) {
		return 0;
	}
	if (nftw(dir, check_rm_entry, 16, FTW_DEPTH | FTW_PHYS) != 0) {
		fprintf(stderr, "remove %s: %s\n", dir, strerror(errno));
		return -1;
	}
	return 0;
}

/* Makes the directory templ names ("/tmp/...XXXXXX", rewritten in place),
 * which check_summary() removes: 0, or -1 after saying why. */
static inline int check_tmpdir(char *templ)
{
	if (mkdtemp(templ) == NULL) {
		fprintf(stderr, "mkdtemp %s: %s\n", templ, strerror(errno));
		return -1;
	}
	check_tmp = templ;
	return 0;
}

/* A scratch directory that cannot be removed is a failure too: the next
 * run would find what this one left. */
static inline int check_summary(void)
{
	if (check_tmp != NULL && check_rmtree(check_tmp) < 0) {
		check_failures++;
	}
	check_tmp = NULL;
	printf("%d passed, %d failed\n", check_passes, check_failures);
	return check_failures == 0 ? 0 : 1;
}

#endif
