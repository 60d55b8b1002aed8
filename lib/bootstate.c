/* Berth's A/B boot state (see bootstate.h). Pure: no I/O. */
#include "lib/bootstate.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/decimal.h"
#include "lib/fsutil.h"

static const char *const state_names[] = {
	[SLOT_EMPTY] = "empty", [SLOT_WRITING] = "writing", [SLOT_TRIAL] = "trial",
	[SLOT_GOOD] = "good",	[SLOT_FAILED] = "failed",
};

const char *slot_state_name(enum slot_state s)
{
	return (unsigned)s < sizeof(state_names) / sizeof(state_names[0]) ? state_names[s] : "?";
}

int slot_index(char slot)
{
	return slot == 'A' ? 0 : slot == 'B' ? 1 : -1;
}

char slot_other(char slot)
{
	return slot == 'B' ? 'A' : 'B';
}

void bootstate_init(struct bootstate *bs)
{
	memset(bs, 0, sizeof(*bs));
	bs->slot = 'A';
	bs->state[0] = SLOT_GOOD;
	bs->state[1] = SLOT_EMPTY;
}

/* A grubenv value that may be missing. */
static int parse_u64(const char *s, uint64_t *out)
{
	return s != NULL && decimal_parse(s, UINT64_MAX, out) == 0 ? 0 : -1;
}

static enum slot_state parse_state(const char *s, enum slot_state dflt)
{
	for (size_t i = 0; s != NULL && i < sizeof(state_names) / sizeof(state_names[0]); i++) {
		if (strcmp(s, state_names[i]) == 0) {
			return (enum slot_state)i;
		}
	}
	return dflt;
}

static void get_string(const struct grubenv *e, const char *key, char *out, size_t size)
{
	const char *v = grubenv_get(e, key);
	if (v == NULL || copy_string(out, size, v) < 0) {
		out[0] = '\0';
	}
}

int bootstate_from_env(struct bootstate *bs, const struct grubenv *e)
{
	bootstate_init(bs);
	uint64_t seq;
	uint64_t seqe;
	if (parse_u64(grubenv_get(e, "berth_seq"), &seq) < 0 || parse_u64(grubenv_get(e, "berth_seqe"), &seqe) < 0 ||
	    seq != seqe) {
		return 0;
	}
	bs->seq = seq;
	/* As grub.cfg reads them: anything but B is A, anything but A or B is
	 * no trial, and a tries count outside the if-chain boots no trial. */
	const char *slot = grubenv_get(e, "berth_slot");
	bs->slot = slot != NULL && strcmp(slot, "B") == 0 ? 'B' : 'A';
	const char *trial = grubenv_get(e, "berth_trial");
	if (trial != NULL && (strcmp(trial, "A") == 0 || strcmp(trial, "B") == 0)) {
		bs->trial = trial[0];
	}
	const char *tries = grubenv_get(e, "berth_tries");
	if (tries != NULL && tries[0] >= '0' && tries[0] <= '0' + BOOT_TRIES_MAX && tries[1] == '\0') {
		bs->tries = tries[0] - '0';
	}
	bs->state[0] = parse_state(grubenv_get(e, "berth_state_A"), SLOT_GOOD);
	bs->state[1] = parse_state(grubenv_get(e, "berth_state_B"), SLOT_EMPTY);
	get_string(e, "berth_tv", bs->trial_version, sizeof(bs->trial_version));
	const char *rb = grubenv_get(e, "berth_rb_slot");
	if (rb != NULL && slot_index(rb[0]) >= 0 && rb[1] == '\0') {
		struct boot_rollback *r = &bs->rollback;
		uint64_t t = 0;
		r->slot = rb[0];
		get_string(e, "berth_rb_version", r->version, sizeof(r->version));
		get_string(e, "berth_rb_reason", r->reason, sizeof(r->reason));
		r->time = parse_u64(grubenv_get(e, "berth_rb_time"), &t) == 0 ? (int64_t)t : 0;
		const char *unreported = grubenv_get(e, "berth_rb_new");
		r->unreported = unreported != NULL && strcmp(unreported, "1") == 0;
	}
	return 1;
}

int bootstate_to_env(const struct bootstate *bs, struct grubenv *e, struct berr *err)
{
	char num[32];
	char one[2] = {0, 0};
	int ret = 0;
	grubenv_init(e);
	snprintf(num, sizeof(num), "%010" PRIu64, bs->seq);
	ret |= grubenv_set(e, "berth_seq", num, err);
	one[0] = bs->slot;
	ret |= grubenv_set(e, "berth_slot", one, err);
	one[0] = bs->trial != 0 ? bs->trial : '-';
	ret |= grubenv_set(e, "berth_trial", one, err);
	snprintf(num, sizeof(num), "%d", bs->tries < 0 ? 0 : bs->tries > BOOT_TRIES_MAX ? BOOT_TRIES_MAX : bs->tries);
	ret |= grubenv_set(e, "berth_tries", num, err);
	ret |= grubenv_set(e, "berth_state_A", slot_state_name(bs->state[0]), err);
	ret |= grubenv_set(e, "berth_state_B", slot_state_name(bs->state[1]), err);
	if (bs->trial_version[0] != '\0') {
		ret |= grubenv_set(e, "berth_tv", bs->trial_version, err);
	}
	const struct boot_rollback *r = &bs->rollback;
	if (r->slot != 0) {
		one[0] = r->slot;
		ret |= grubenv_set(e, "berth_rb_slot", one, err);
		ret |= grubenv_set(e, "berth_rb_version", r->version, err);
		snprintf(num, sizeof(num), "%lld", (long long)r->time);
		ret |= grubenv_set(e, "berth_rb_time", num, err);
		ret |= grubenv_set(e, "berth_rb_reason", r->reason, err);
		ret |= grubenv_set(e, "berth_rb_new", r->unreported ? "1" : "0", err);
	}
	snprintf(num, sizeof(num), "%010" PRIu64, bs->seq);
	ret |= grubenv_set(e, "berth_seqe", num, err);
	return ret < 0 ? -EINVAL : 0;
}

void bootstate_begin_write(struct bootstate *bs, char target)
{
	int i = slot_index(target);
	if (i < 0 || target == bs->slot) {
		return;
	}
	if (bs->trial == target) {
		bs->trial = 0;
		bs->tries = 0;
	}
	bs->state[i] = SLOT_WRITING;
	bs->trial_version[0] = '\0';
}

void bootstate_arm_trial(struct bootstate *bs, char target, int tries, const char *version)
{
	int i = slot_index(target);
	if (i < 0 || target == bs->slot) {
		return;
	}
	bs->trial = target;
	bs->tries = tries < 1 ? 1 : tries > BOOT_TRIES_MAX ? BOOT_TRIES_MAX : tries;
	bs->state[i] = SLOT_TRIAL;
	copy_string(bs->trial_version, sizeof(bs->trial_version), version);
}

void bootstate_mark_good(struct bootstate *bs, char slot)
{
	int i = slot_index(slot);
	if (i < 0) {
		return;
	}
	bs->slot = slot;
	if (bs->trial == slot) {
		bs->trial = 0;
		bs->tries = 0;
		bs->trial_version[0] = '\0';
	}
	bs->state[i] = SLOT_GOOD;
}

void bootstate_fail_trial(struct bootstate *bs, char slot, int64_t now, const char *why)
{
	int i = slot_index(slot);
	if (i < 0 || slot == bs->slot) {
		return;
	}
	struct boot_rollback *r = &bs->rollback;
	r->slot = slot;
	copy_string(r->version, sizeof(r->version), bs->trial == slot ? bs->trial_version : "");
	r->time = now;
	/* Cut, not refused: the reason is for people, the state change matters. */
	snprintf(r->reason, sizeof(r->reason), "%s", why);
	r->unreported = 1;
	if (bs->trial == slot) {
		bs->trial = 0;
		bs->tries = 0;
		bs->trial_version[0] = '\0';
	}
	bs->state[i] = SLOT_FAILED;
}

void bootstate_request_rollback(struct bootstate *bs, int tries, const char *target_version,
				const char *current_version, int64_t now)
{
	char from = bs->slot;
	bootstate_arm_trial(bs, slot_other(from), tries, target_version);
	struct boot_rollback *r = &bs->rollback;
	r->slot = from;
	copy_string(r->version, sizeof(r->version), current_version);
	r->time = now;
	snprintf(r->reason, sizeof(r->reason), "requested by the operator (berth os rollback)");
	/* The operator asked for it: nothing to report at the next boot. */
	r->unreported = 0;
}

enum boot_verdict bootstate_verdict(const struct bootstate *bs, char booted, int booted_as_trial)
{
	if (booted_as_trial && bs->trial == booted) {
		return BOOT_TRIAL;
	}
	if (!booted_as_trial && bs->trial != 0 && bs->trial != booted) {
		return BOOT_TRIAL_ENDED;
	}
	return booted == bs->slot ? BOOT_NORMAL : BOOT_NOT_EXPECTED;
}
