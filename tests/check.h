/* A minimal test harness for host-side unit tests: CHECK records a failure
 * and goes on; each test file's main runs its cases with RUN and ends with
 * check_summary(), which prints "N passed, N failed" and sets the exit code. */
#ifndef BERTH_TESTS_CHECK_H
#define BERTH_TESTS_CHECK_H

#include <stdio.h>
#include <string.h>

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

static inline int check_summary(void)
{
	printf("%d passed, %d failed\n", check_passes, check_failures);
	return check_failures == 0 ? 0 : 1;
}

#endif
