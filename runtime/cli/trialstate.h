/* The state of a network change on trial (berth config apply; confirmed
 * with berth config confirm from a new connection): one file, "state", in
 * the trial's directory, beside the trial's log. Two processes change it:
 * the trial's own (started, waiting, expired, over) and a confirmation.
 * Every change is made under a lock on the directory, so that a
 * confirmation and the trial's timeout cannot both win: whichever comes
 * first decides, and the other sees it. The file is replaced as a whole. */
#ifndef BERTH_CLI_TRIALSTATE_H
#define BERTH_CLI_TRIALSTATE_H

#include "lib/berr.h"

enum trial_phase {
	TRIAL_STARTING,	 /* the generation is being switched to */
	TRIAL_WAITING,	 /* its network is applied; a new connection may confirm it */
	TRIAL_CONFIRMED, /* confirmed: the rest of the apply runs */
	TRIAL_EXPIRED,	 /* not confirmed in time: the previous generation comes back */
};

struct trial_state {
	unsigned gen; /* the generation on trial */
	int pid;      /* the trial's process; 0 before it runs */
	enum trial_phase phase;
	int over;   /* the trial's process has finished */
	int status; /* its exit status, once over */
};

#define TRIAL_STATE_TEXT_MAX 128

/* "gen N\npid N\nphase NAME\nstatus N|-\n"; -EINVAL with err naming the
 * line for anything else. */
int trial_state_parse(const char *text, struct trial_state *t, struct berr *err);
void trial_state_format(const struct trial_state *t, char *buf, size_t size);

/* A new trial of gen in dir (which must exist and hold no trial). */
int trial_state_create(const char *dir, unsigned gen, struct berr *err);

/* The state now; -ENOENT when dir holds no trial. */
int trial_state_load(const char *dir, struct trial_state *t, struct berr *err);

/* Moves the phase from `from` to `to` if it is `from`, under the lock.
 * *seen is the state found before the move. 1 moved, 0 not, or -errno. */
int trial_state_move(const char *dir, enum trial_phase from, enum trial_phase to, struct trial_state *seen,
		     struct berr *err);

/* Records the trial's process (pid) or its end (status), under the lock. */
int trial_state_set_pid(const char *dir, int pid, struct berr *err);
int trial_state_finish(const char *dir, int status, struct berr *err);

#endif
