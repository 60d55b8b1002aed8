/* Restart policy (see restart.h). Pure: no clocks, no I/O. */
#include "init/restart.h"

void restart_init(struct restart_state *s)
{
	s->delay_ms = RESTART_MIN_MS;
	s->window_start_ms = 0;
	s->exits_in_window = 0;
	s->crash_looping = 0;
}

enum restart_event restart_on_exit(struct restart_state *s, uint64_t now_ms, uint64_t ran_ms, uint32_t *delay_ms)
{
	enum restart_event ev = RESTART_NORMAL;

	if (ran_ms >= RESTART_STABLE_MS) {
		/* It worked for a while: this exit is news, not a pattern. */
		if (s->crash_looping) {
			ev = RESTART_RECOVERED;
		}
		s->crash_looping = 0;
		s->delay_ms = RESTART_MIN_MS;
		s->window_start_ms = now_ms;
		s->exits_in_window = 1;
		*delay_ms = s->delay_ms;
		return ev;
	}

	if (s->exits_in_window == 0 || now_ms - s->window_start_ms > CRASH_LOOP_WINDOW_MS) {
		s->window_start_ms = now_ms;
		s->exits_in_window = 0;
	}
	s->exits_in_window++;

	if (!s->crash_looping && s->exits_in_window >= CRASH_LOOP_EXITS) {
		s->crash_looping = 1;
		ev = RESTART_CRASH_LOOP;
	}
	if (s->crash_looping) {
		s->delay_ms = RESTART_MAX_MS;
	}
	*delay_ms = s->delay_ms;
	/* Next time wait twice as long, up to the cap. */
	if (s->delay_ms < RESTART_MAX_MS) {
		s->delay_ms = s->delay_ms * 2 > RESTART_MAX_MS ? RESTART_MAX_MS : s->delay_ms * 2;
	}
	return ev;
}
