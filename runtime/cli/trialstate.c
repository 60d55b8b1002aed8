/* A trial's state file and its locked changes (see trialstate.h). */
#include "cli/trialstate.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/decimal.h"
#include "lib/fsutil.h"

#define STATE_FILE "state"

static const char *const PHASES[] = {
	[TRIAL_STARTING] = "starting",
	[TRIAL_WAITING] = "waiting",
	[TRIAL_CONFIRMED] = "confirmed",
	[TRIAL_EXPIRED] = "expired",
};

static int parse_phase(const char *s, enum trial_phase *p)
{
	for (size_t i = 0; i < sizeof(PHASES) / sizeof(PHASES[0]); i++) {
		if (strcmp(s, PHASES[i]) == 0) {
			*p = (enum trial_phase)i;
			return 0;
		}
	}
	return -1;
}

/* One "key value" line into t; seen gathers which keys were there. */
static int parse_line(char *line, struct trial_state *t, unsigned *seen)
{
	char *value = strchr(line, ' ');
	if (value == NULL) {
		return -1;
	}
	*value++ = '\0';
	uint64_t v = 0;
	unsigned bit;
	int ok;
	if (strcmp(line, "gen") == 0) {
		bit = 1;
		ok = decimal_parse(value, UINT_MAX, &v) == 0 && v > 0;
		t->gen = (unsigned)v;
	} else if (strcmp(line, "pid") == 0) {
		bit = 2;
		ok = decimal_parse(value, INT_MAX, &v) == 0;
		t->pid = (int)v;
	} else if (strcmp(line, "phase") == 0) {
		bit = 4;
		ok = parse_phase(value, &t->phase) == 0;
	} else if (strcmp(line, "status") == 0) {
		bit = 8;
		t->over = strcmp(value, "-") != 0;
		ok = !t->over || decimal_parse(value, 255, &v) == 0;
		t->status = (int)v;
	} else {
		return -1;
	}
	if (!ok || (*seen & bit) != 0) {
		return -1;
	}
	*seen |= bit;
	return 0;
}

int trial_state_parse(const char *text, struct trial_state *t, struct berr *err)
{
	char buf[TRIAL_STATE_TEXT_MAX];
	if (copy_string(buf, sizeof(buf), text) < 0) {
		return berr_setx(err, EINVAL, "trial state: longer than %d bytes", TRIAL_STATE_TEXT_MAX - 1);
	}
	*t = (struct trial_state){0};
	unsigned seen = 0;
	int lineno = 0;
	char *save = NULL;
	for (char *line = strtok_r(buf, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		lineno++;
		if (parse_line(line, t, &seen) < 0) {
			return berr_setx(err, EINVAL,
					 "trial state, line %d: not gen/pid/phase/status with a valid value", lineno);
		}
	}
	if (seen != 15) {
		return berr_setx(err, EINVAL, "trial state: gen, pid, phase and status must each be there once");
	}
	return 0;
}

void trial_state_format(const struct trial_state *t, char *buf, size_t size)
{
	char status[16] = "-";
	if (t->over) {
		snprintf(status, sizeof(status), "%d", t->status);
	}
	snprintf(buf, size, "gen %u\npid %d\nphase %s\nstatus %s\n", t->gen, t->pid, PHASES[t->phase], status);
}

static int load_at(int dirfd, const char *dir, struct trial_state *t, struct berr *err)
{
	char text[TRIAL_STATE_TEXT_MAX + 1];
	auto_close int fd = openat(dirfd, STATE_FILE, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		return berr_set(err, errno, "%s/%s", dir, STATE_FILE);
	}
	ssize_t n = read(fd, text, sizeof(text) - 1);
	if (n < 0) {
		return berr_set(err, errno, "read %s/%s", dir, STATE_FILE);
	}
	text[n] = '\0';
	int ret = trial_state_parse(text, t, err);
	return ret < 0 ? berr_prefix(err, "%s/%s", dir, STATE_FILE) : 0;
}

static int save_at(int dirfd, const char *dir, const struct trial_state *t, struct berr *err)
{
	char text[TRIAL_STATE_TEXT_MAX];
	trial_state_format(t, text, sizeof(text));
	int ret = write_file_atomic_at(dirfd, STATE_FILE, text, strlen(text), 0644, 0, err);
	return ret < 0 ? berr_prefix(err, "%s", dir) : 0;
}

/* The directory, open and locked (the lock goes with the fd). */
static int lock_dir(const char *dir, struct berr *err)
{
	auto_close int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		return berr_set(err, errno, "%s", dir);
	}
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			return berr_set(err, errno, "lock %s", dir);
		}
	}
	return take_fd(&fd);
}

int trial_state_create(const char *dir, unsigned gen, struct berr *err)
{
	auto_close int fd = lock_dir(dir, err);
	if (fd < 0) {
		return fd;
	}
	struct trial_state t = {.gen = gen, .phase = TRIAL_STARTING};
	return save_at(fd, dir, &t, err);
}

int trial_state_load(const char *dir, struct trial_state *t, struct berr *err)
{
	auto_close int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		return berr_set(err, errno, "%s", dir);
	}
	/* The file is replaced whole: a reader needs no lock. */
	return load_at(fd, dir, t, err);
}

/* What a change does to the state it found: 1 to save it, 0 to leave it. */
typedef int (*trial_edit)(struct trial_state *t, const void *arg);

static int change(const char *dir, trial_edit edit, const void *arg, struct trial_state *seen, struct berr *err)
{
	auto_close int fd = lock_dir(dir, err);
	if (fd < 0) {
		return fd;
	}
	struct trial_state t;
	int ret = load_at(fd, dir, &t, err);
	if (ret < 0) {
		return ret;
	}
	if (seen != NULL) {
		*seen = t;
	}
	if (!edit(&t, arg)) {
		return 0;
	}
	ret = save_at(fd, dir, &t, err);
	return ret < 0 ? ret : 1;
}

struct move {
	enum trial_phase from;
	enum trial_phase to;
};

static int edit_move(struct trial_state *t, const void *arg)
{
	const struct move *m = arg;
	if (t->phase != m->from) {
		return 0;
	}
	t->phase = m->to;
	return 1;
}

static int edit_pid(struct trial_state *t, const void *arg)
{
	t->pid = *(const int *)arg;
	return 1;
}

static int edit_finish(struct trial_state *t, const void *arg)
{
	t->over = 1;
	t->status = *(const int *)arg;
	return 1;
}

int trial_state_move(const char *dir, enum trial_phase from, enum trial_phase to, struct trial_state *seen,
		     struct berr *err)
{
	struct move m = {.from = from, .to = to};
	return change(dir, edit_move, &m, seen, err);
}

int trial_state_set_pid(const char *dir, int pid, struct berr *err)
{
	int ret = change(dir, edit_pid, &pid, NULL, err);
	return ret < 0 ? ret : 0;
}

int trial_state_finish(const char *dir, int status, struct berr *err)
{
	int low = status & 0xff;
	int ret = change(dir, edit_finish, &low, NULL, err);
	return ret < 0 ? ret : 0;
}
