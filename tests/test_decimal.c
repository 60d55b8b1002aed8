/* The strict decimal reader: what it takes, what it refuses, its bounds. */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "lib/decimal.h"

static int parsed(const char *s, uint64_t max, uint64_t *v)
{
	*v = 4242;
	return decimal_parse(s, max, v);
}

static void test_numbers_are_taken(void)
{
	uint64_t v;
	CHECK_EQ_INT(parsed("0", 10, &v), 0);
	CHECK_EQ_INT(v, 0);
	CHECK_EQ_INT(parsed("10", 10, &v), 0);
	CHECK_EQ_INT(v, 10);
	CHECK_EQ_INT(parsed("007", 10, &v), 0);
	CHECK_EQ_INT(v, 7);
	CHECK_EQ_INT(parsed("2147483647", INT_MAX, &v), 0);
	CHECK_EQ_INT(v, INT_MAX);
	CHECK(parsed("18446744073709551615", UINT64_MAX, &v) == 0 && v == UINT64_MAX);
}

static void test_what_strtoul_lets_through_is_refused(void)
{
	static const char *const bad[] = {"",	  " 1",	 "1 ",	"+1",	 "-1",	"-0",
					  "0x10", "1e3", "1.0", "12abc", "1\n", "\t3"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint64_t v;
		CHECK_EQ_INT(parsed(bad[i], UINT64_MAX, &v), -EINVAL);
		CHECK_EQ_INT(v, 4242);
	}
}

static void test_the_maximum_holds(void)
{
	uint64_t v;
	CHECK_EQ_INT(parsed("11", 10, &v), -ERANGE);
	CHECK_EQ_INT(parsed("7", 5, &v), -ERANGE);
	CHECK_EQ_INT(parsed("1", 0, &v), -ERANGE);
	CHECK_EQ_INT(parsed("0", 0, &v), 0);
	CHECK_EQ_INT(parsed("2147483648", INT_MAX, &v), -ERANGE);
	CHECK_EQ_INT(parsed("18446744073709551616", UINT64_MAX, &v), -ERANGE);
	CHECK_EQ_INT(parsed("99999999999999999999999999999999", UINT64_MAX, &v), -ERANGE);
	CHECK_EQ_INT(v, 4242);
	/* Junk after an overflow is still junk. */
	CHECK_EQ_INT(parsed("99999999999999999999999x", UINT64_MAX, &v), -EINVAL);
}

/* A megabyte of digits is read once, not once per digit. */
static void test_a_long_input_is_one_pass(void)
{
	size_t n = 1 << 20;
	char *s = malloc(n + 1);
	CHECK(s != NULL);
	if (s == NULL) {
		return;
	}
	memset(s, '0', n);
	s[n] = '\0';
	s[n - 1] = '5';
	uint64_t v;
	CHECK_EQ_INT(parsed(s, 9, &v), 0);
	CHECK_EQ_INT(v, 5);
	free(s);
}

int main(void)
{
	RUN(test_numbers_are_taken);
	RUN(test_what_strtoul_lets_through_is_refused);
	RUN(test_the_maximum_holds);
	RUN(test_a_long_input_is_one_pass);
	return check_summary();
}
