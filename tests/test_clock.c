/* Where the clock comes from at boot: the RTC when it is plausible, the
 * kernel's own time when there is no usable RTC but that is, and the
 * image's build time as the floor. */
#include "check.h"
#include "init/clock.h"

#define BUILD 1764000000 /* a build time */

static void test_rtc_agrees_with_the_kernel(void)
{
	time_t set;
	CHECK_EQ_INT(clock_decide(BUILD + 100, BUILD + 101, 1, BUILD, &set), CLOCK_KEPT_RTC);
	CHECK_EQ_INT(set, BUILD + 100);
	CHECK_EQ_INT(clock_decide(BUILD + 100, BUILD + 99, 1, BUILD, &set), CLOCK_KEPT_RTC);
}

static void test_rtc_differs(void)
{
	time_t set;
	/* The kernel's clock starts at 1970 when it did not read the RTC. */
	CHECK_EQ_INT(clock_decide(5, BUILD + 1000, 1, BUILD, &set), CLOCK_SET_RTC);
	CHECK_EQ_INT(set, BUILD + 1000);
	CHECK_EQ_INT(clock_decide(BUILD + 5000, BUILD + 1000, 1, BUILD, &set), CLOCK_SET_RTC);
	CHECK_EQ_INT(set, BUILD + 1000);
}

static void test_rtc_before_the_build(void)
{
	time_t set;
	/* A flat battery: 2000-01-01 in the RTC. The kernel's time wins when
	 * plausible (a hypervisor's clock), else the build time. */
	CHECK_EQ_INT(clock_decide(BUILD + 7, 946684800, 1, BUILD, &set), CLOCK_KEPT_KERNEL);
	CHECK_EQ_INT(set, BUILD + 7);
	CHECK_EQ_INT(clock_decide(946684800, 946684800, 1, BUILD, &set), CLOCK_SET_BUILD);
	CHECK_EQ_INT(set, BUILD);
}

static void test_no_rtc(void)
{
	time_t set;
	CHECK_EQ_INT(clock_decide(BUILD + 7, 0, 0, BUILD, &set), CLOCK_KEPT_KERNEL);
	CHECK_EQ_INT(clock_decide(12, 0, 0, BUILD, &set), CLOCK_SET_BUILD);
	CHECK_EQ_INT(set, BUILD);
}

int main(void)
{
	RUN(test_rtc_agrees_with_the_kernel);
	RUN(test_rtc_differs);
	RUN(test_rtc_before_the_build);
	RUN(test_no_rtc);
	return check_summary();
}
