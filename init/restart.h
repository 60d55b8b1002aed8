/* Restart policy for supervised services: a pure state machine driven by
 * an injected clock, so that its behaviour is tested without waiting.
 * Delays start at 1 s and double up to a cap; a service that ran long
 * enough is considered healthy again and starts over at 1 s. Too many exits
 * in a window is a crash loop: reported once, then restarted only at the cap
 * until it runs stably again. */
#ifndef BERTH_INIT_RESTART_H
#define BERTH_INIT_RESTART_H

#include <stdint.h>

#define RESTART_MIN_MS 1000u
#define RESTART_MAX_MS 60000u
#define RESTART_STABLE_MS 10000u
#define CRASH_LOOP_WINDOW_MS 60000u
#define CRASH_LOOP_EXITS 5u

struct restart_state {
	uint32_t delay_ms;	  /* delay before the next start */
	uint64_t window_start_ms; /* start of the current counting window */
	uint32_t exits_in_window;
	int crash_looping;
};

enum restart_event {
	RESTART_NORMAL,	    /* restart after the returned delay */
	RESTART_CRASH_LOOP, /* just entered a crash loop (report it) */
	RESTART_RECOVERED,  /* was crash looping, ran stably this time */
};

void restart_init(struct restart_state *s);

/* A service exited at now_ms after running ran_ms. Stores the delay before
 * its next start in *delay_ms and says what changed. */
enum restart_event restart_on_exit(struct restart_state *s, uint64_t now_ms, uint64_t ran_ms, uint32_t *delay_ms);

#endif
