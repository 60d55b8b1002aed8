/* Restart policy: backoff doubling, the cap, stable runs resetting it, and
 * crash-loop detection and recovery, on an injected clock. */
#include "check.h"
#include "init/restart.h"

static void test_backoff_doubles_to_cap(void)
{
	struct restart_state s;
	restart_init(&s);
	uint32_t delay;
	uint64_t now = 1000000;
	uint32_t expect[] = {1000, 2000, 4000, 8000};
	for (int i = 0; i < 4; i++) {
		CHECK_EQ_INT(restart_on_exit(&s, now, 100, &delay), RESTART_NORMAL);
		CHECK_EQ_INT(delay, expect[i]);
		/* Spread exits beyond the crash-loop window. */
		now += CRASH_LOOP_WINDOW_MS + 1;
	}
	for (int i = 0; i < 10; i++) {
		restart_on_exit(&s, now, 100, &delay);
		now += CRASH_LOOP_WINDOW_MS + 1;
	}
	CHECK_EQ_INT(delay, RESTART_MAX_MS);
}

static void test_never_below_one_second(void)
{
	struct restart_state s;
	restart_init(&s);
	uint32_t delay;
	restart_on_exit(&s, 5000, 0, &delay);
	CHECK(delay >= 1000);
}

static void test_stable_run_resets_backoff(void)
{
	struct restart_state s;
	restart_init(&s);
	uint32_t delay;
	uint64_t now = 0;
	for (int i = 0; i < 3; i++) {
		restart_on_exit(&s, now, 10, &delay);
		now += 100000;
	}
	CHECK(delay > RESTART_MIN_MS);
	CHECK_EQ_INT(restart_on_exit(&s, now, RESTART_STABLE_MS, &delay), RESTART_NORMAL);
	CHECK_EQ_INT(delay, RESTART_MIN_MS);
}

static void test_crash_loop_detected_once_and_throttled(void)
{
	struct restart_state s;
	restart_init(&s);
	uint32_t delay = 0;
	uint64_t now = 50000;
	int loops = 0;
	for (unsigned i = 0; i < CRASH_LOOP_EXITS + 5; i++) {
		enum restart_event ev = restart_on_exit(&s, now, 50, &delay);
		if (ev == RESTART_CRASH_LOOP) {
			loops++;
			CHECK_EQ_INT(i + 1, CRASH_LOOP_EXITS);
		}
		now += delay + 50;
		if (i + 1 >= CRASH_LOOP_EXITS) {
			CHECK_EQ_INT(delay, RESTART_MAX_MS);
		}
	}
	CHECK_EQ_INT(loops, 1);
	CHECK(s.crash_looping);
}

static void test_crash_loop_recovers_after_stable_run(void)
{
	struct restart_state s;
	restart_init(&s);
	uint32_t delay = 0;
	uint64_t now = 0;
	for (unsigned i = 0; i < CRASH_LOOP_EXITS; i++) {
		restart_on_exit(&s, now, 10, &delay);
		now += delay;
	}
	CHECK(s.crash_looping);
	CHECK_EQ_INT(restart_on_exit(&s, now, RESTART_STABLE_MS + 1, &delay), RESTART_RECOVERED);
	CHECK_EQ_INT(delay, RESTART_MIN_MS);
	CHECK(!s.crash_looping);
}

static void test_slow_failures_are_not_a_loop(void)
{
	struct restart_state s;
	restart_init(&s);
	uint32_t delay;
	uint64_t now = 0;
	for (int i = 0; i < 20; i++) {
		CHECK(restart_on_exit(&s, now, 10, &delay) != RESTART_CRASH_LOOP);
		now += CRASH_LOOP_WINDOW_MS / 2 + 1;
		/* Two exits per window at most: under the threshold. */
	}
	CHECK(!s.crash_looping);
}

int main(void)
{
	RUN(test_backoff_doubles_to_cap);
	RUN(test_never_below_one_second);
	RUN(test_stable_run_resets_backoff);
	RUN(test_crash_loop_detected_once_and_throttled);
	RUN(test_crash_loop_recovers_after_stable_run);
	RUN(test_slow_failures_are_not_a_loop);
	return check_summary();
}
