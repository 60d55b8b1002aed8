/* A network change's trial state: the file round-trips; anything else in
 * it is refused with its line; a confirmation and the timeout cannot both
 * win (the first decides, the other sees it); a second confirmation finds
 * the first; a trial whose network is not applied yet cannot be confirmed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "cli/trialstate.h"

static char dir[] = "/tmp/berth-trialstate.XXXXXX";

static void fresh(unsigned gen)
{
	char path[96];
	snprintf(path, sizeof(path), "%s/state", dir);
	unlink(path);
	struct berr err = {0};
	CHECK_EQ_INT(trial_state_create(dir, gen, &err), 0);
}

static void test_round_trip(void)
{
	struct trial_state t = {.gen = 7, .pid = 4242, .phase = TRIAL_EXPIRED, .over = 1, .status = 3};
	char text[TRIAL_STATE_TEXT_MAX];
	trial_state_format(&t, text, sizeof(text));
	struct trial_state u;
	struct berr err = {0};
	CHECK_EQ_INT(trial_state_parse(text, &u, &err), 0);
	CHECK(u.gen == 7 && u.pid == 4242 && u.phase == TRIAL_EXPIRED && u.over && u.status == 3);
	t = (struct trial_state){.gen = 1, .phase = TRIAL_STARTING};
	trial_state_format(&t, text, sizeof(text));
	CHECK_STR_CONTAINS(text, "status -\n");
	CHECK_EQ_INT(trial_state_parse(text, &u, &err), 0);
	CHECK(!u.over && u.pid == 0 && u.phase == TRIAL_STARTING);
}

static void test_bad_text_is_refused(void)
{
	static const char *const bad[] = {
		"",
		"gen 1\npid 0\nphase waiting\n",
		"gen 1\npid 0\nphase waiting\nstatus -\ngen 2\n",
		"gen 0\npid 0\nphase waiting\nstatus -\n",
		"gen 1\npid -4\nphase waiting\nstatus -\n",
		"gen 1\npid 0\nphase later\nstatus -\n",
		"gen 1\npid 0\nphase waiting\nstatus 256\n",
		"gen 1\npid 0\nphase waiting\nstatus 1x\n",
		"gen 99999999999\npid 0\nphase waiting\nstatus -\n",
		"gen 1\npid 0\nphase waiting\nstatus -\nextra 1\n",
		"gen\npid 0\nphase waiting\nstatus -\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct trial_state t;
		struct berr err = {0};
		CHECK_EQ_INT(trial_state_parse(bad[i], &t, &err), -EINVAL);
		CHECK_STR_CONTAINS(err.msg, "trial state");
	}
	struct trial_state t;
	struct berr err = {0};
	CHECK_EQ_INT(trial_state_parse("gen 1\nphase later\n", &t, &err), -EINVAL);
	CHECK_STR_CONTAINS(err.msg, "line 2");
}

static void test_confirm_then_timeout(void)
{
	fresh(5);
	struct berr err = {0};
	struct trial_state t;
	/* Not applied yet: nothing to confirm. */
	CHECK_EQ_INT(trial_state_move(dir, TRIAL_WAITING, TRIAL_CONFIRMED, &t, &err), 0);
	CHECK(t.phase == TRIAL_STARTING && t.gen == 5);
	CHECK_EQ_INT(trial_state_move(dir, TRIAL_STARTING, TRIAL_WAITING, NULL, &err), 1);
	CHECK_EQ_INT(trial_state_move(dir, TRIAL_WAITING, TRIAL_CONFIRMED, &t, &err), 1);
	/* The timeout comes after: it finds the confirmation and expires nothing. */
	CHECK_EQ_INT(trial_state_move(dir, TRIAL_WAITING, TRIAL_EXPIRED, &t, &err), 0);
	CHECK(t.phase == TRIAL_CONFIRMED);
	/* A second confirmation finds the first. */
	CHECK_EQ_INT(trial_state_move(dir, TRIAL_WAITING, TRIAL_CONFIRMED, &t, &err), 0);
	CHECK(t.phase == TRIAL_CONFIRMED);
	CHECK_EQ_INT(trial_state_finish(dir, 0, &err), 0);
	CHECK_EQ_INT(trial_state_load(dir, &t, &err), 0);
	CHECK(t.over && t.status == 0 && t.phase == TRIAL_CONFIRMED);
}

static void test_timeout_then_confirm(void)
{
	fresh(6);
	struct berr err = {0};
	struct trial_state t;
	CHECK_EQ_INT(trial_state_set_pid(dir, 321, &err), 0);
	CHECK_EQ_INT(trial_state_move(dir, TRIAL_STARTING, TRIAL_WAITING, NULL, &err), 1);
	CHECK_EQ_INT(trial_state_move(dir, TRIAL_WAITING, TRIAL_EXPIRED, &t, &err), 1);
	CHECK_EQ_INT(trial_state_move(dir, TRIAL_WAITING, TRIAL_CONFIRMED, &t, &err), 0);
	CHECK(t.phase == TRIAL_EXPIRED && t.pid == 321);
}

/* Many processes race to confirm and to expire one waiting trial: exactly
 * one move wins, and the file is whole afterwards. */
static void test_one_winner_among_racers(void)
{
	for (int round = 0; round < 20; round++) {
		fresh(9);
		struct berr err = {0};
		CHECK_EQ_INT(trial_state_move(dir, TRIAL_STARTING, TRIAL_WAITING, NULL, &err), 1);
		int wins = 0;
		pid_t kids[8];
		for (int i = 0; i < 8; i++) {
			kids[i] = fork();
			if (kids[i] == 0) {
				struct berr e = {0};
				enum trial_phase to = i % 2 ? TRIAL_CONFIRMED : TRIAL_EXPIRED;
				_exit(trial_state_move(dir, TRIAL_WAITING, to, NULL, &e) == 1 ? 10 : 0);
			}
		}
		for (int i = 0; i < 8; i++) {
			int st = 0;
			waitpid(kids[i], &st, 0);
			wins += WIFEXITED(st) && WEXITSTATUS(st) == 10;
		}
		CHECK_EQ_INT(wins, 1);
		struct trial_state t;
		CHECK_EQ_INT(trial_state_load(dir, &t, &err), 0);
		CHECK(t.phase == TRIAL_CONFIRMED || t.phase == TRIAL_EXPIRED);
	}
}

static void test_no_trial(void)
{
	char empty[80];
	snprintf(empty, sizeof(empty), "%s/none", dir);
	struct trial_state t;
	struct berr err = {0};
	CHECK_EQ_INT(trial_state_load(empty, &t, &err), -ENOENT);
	CHECK_STR_CONTAINS(err.msg, "/none");
}

int main(void)
{
	if (check_tmpdir(dir) < 0) {
		return 2;
	}
	RUN(test_round_trip);
	RUN(test_bad_text_is_refused);
	RUN(test_confirm_then_timeout);
	RUN(test_timeout_then_confirm);
	RUN(test_one_winner_among_racers);
	RUN(test_no_trial);
	return check_summary();
}
