/* Clock helpers: milliseconds of a clock, for deadlines and durations. */
#ifndef BERTH_TIMEUTIL_H
#define BERTH_TIMEUTIL_H

#include <stdint.h>
#include <time.h>

static inline uint64_t clock_ms(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static inline uint64_t monotonic_ms(void)
{
	return clock_ms(CLOCK_MONOTONIC);
}

#endif
