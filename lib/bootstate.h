/* Berth's A/B boot state, as it lives in the GRUB environment on the ESP:
 * which slot is the good one, which one (if any) is on trial and how many
 * boots it has left, what each slot holds, and the last rollback with its
 * reason. Pure logic (the model, its transitions, and its mapping onto a
 * grubenv); bootenv.h reads and writes it on disk.
 *
 * Variables (all in both copies of the environment, see bootenv.h):
 *   berth_seq, berth_seqe  the write's sequence number, at the block's start
 *                          and in its last sector: equal in a whole block,
 *                          different in a torn one (GRUB checks this too)
 *   berth_slot      A|B    the good slot, booted when no trial is due
 *   berth_trial     A|B|-  the slot on trial
 *   berth_tries     0-9    boots the trial has left; GRUB counts it down
 *                          (an if-chain: GRUB script has no arithmetic)
 *   berth_state_A, berth_state_B   empty|writing|trial|good|failed
 *   berth_tv        the version on trial (for the rollback record)
 *   berth_rb_slot, berth_rb_version, berth_rb_time, berth_rb_reason: the
 *                   last rollback; berth_rb_new=1 until the good slot has
 *                   written it to its host log
 * GRUB reads only the first five; everything else is for init and
 * `berth os`. */
#ifndef BERTH_BOOTSTATE_H
#define BERTH_BOOTSTATE_H

#include <stdint.h>

#include "lib/berr.h"
#include "lib/grubenv.h"

#define BOOT_TRIES_MAX 9
#define BOOT_TRIES_DEFAULT 3
#define BOOT_REASON_MAX 300
#define BOOT_VERSION_MAX 96

enum slot_state {
	SLOT_EMPTY,
	SLOT_WRITING, /* an update is writing it (or was cut off doing so) */
	SLOT_TRIAL,   /* armed: GRUB boots it while it has tries */
	SLOT_GOOD,
	SLOT_FAILED,
};

struct boot_rollback {
	char slot; /* 0: none on record */
	char version[BOOT_VERSION_MAX];
	int64_t time; /* seconds since the epoch, by the host's clock then */
	char reason[BOOT_REASON_MAX];
	int unreported; /* not yet in the good slot's host log */
};

struct bootstate {
	uint64_t seq;
	char slot;  /* 'A' or 'B' */
	char trial; /* 'A', 'B', or 0 */
	int tries;
	enum slot_state state[2];
	char trial_version[BOOT_VERSION_MAX];
	struct boot_rollback rollback;
};

/* A fresh image's state: A good, B empty. */
void bootstate_init(struct bootstate *bs);

/* 0 for slot 'A', 1 for 'B', -1 otherwise. */
int slot_index(char slot);
char slot_other(char slot);
const char *slot_state_name(enum slot_state s);

/* Reads the model from a parsed environment. A whole block (berth_seq ==
 * berth_seqe) gives 1; a torn or foreign one 0 (bs is then the fresh
 * state). Values GRUB would not accept are read as GRUB reads them. */
int bootstate_from_env(struct bootstate *bs, const struct grubenv *e);

/* The environment for bs (with berth_seq and berth_seqe set to bs->seq). */
int bootstate_to_env(const struct bootstate *bs, struct grubenv *e, struct berr *err);

/* Transitions. Each changes only bs; bootenv_save makes it durable. */

/* An update starts writing target (never the good slot): nothing boots it
 * until bootstate_arm_trial. */
void bootstate_begin_write(struct bootstate *bs, char target);

/* target was written and verified: GRUB boots it next, tries times at most. */
void bootstate_arm_trial(struct bootstate *bs, char target, int tries, const char *version);

/* The trial slot passed its health gate: it is the good slot from now on. */
void bootstate_mark_good(struct bootstate *bs, char slot);

/* The trial of slot failed: the good slot boots next, and why is kept. */
void bootstate_fail_trial(struct bootstate *bs, char slot, int64_t now, const char *why);

/* An operator's rollback (`berth os rollback`): the other slot, holding
 * target_version, is armed for a trial of its own, so that a slot which no
 * longer works hands the host back; the rollback record names the slot left
 * and its version. */
void bootstate_request_rollback(struct bootstate *bs, int tries, const char *target_version,
				const char *current_version, int64_t now);

/* What init must do about a trial at boot, given the slot it runs from and
 * whether GRUB booted it as a trial (berth.trial= on the command line). */
enum boot_verdict {
	BOOT_NORMAL,	   /* the good slot, no trial pending */
	BOOT_TRIAL,	   /* a trial boot: run the health gate */
	BOOT_TRIAL_ENDED,  /* the trial's boots ran out (or GRUB could not boot it): record its failure */
	BOOT_NOT_EXPECTED, /* neither the good slot nor a trial: GRUB fell back (say so, change nothing) */
};

enum boot_verdict bootstate_verdict(const struct bootstate *bs, char booted, int booted_as_trial);

#endif
