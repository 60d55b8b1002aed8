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
#include "lib/fsutil.h"

#define STATE_FILE "state"

static const char *const PHASES[] = {
	[TRIAL_STARTING] = "starting",
	[TRIAL_WAITING] = "waiting",
	[TRIAL_CONFIRMED] = "confirmed",
	[TRIAL_EXPIRED] = "expired",
};

/* A decimal in [0, max], the whole of s. */
static int number(const char *s, long max, long *out)
{
	if (*s < '0' || *s > '9') {
		return -1;
	}
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > max) {
		return -1;
	}
	*out = v;
	return 0;
}

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
	long v = 0;
	unsigned bit;
	int ok;
	if (strcmp(line, "gen") == 0) {
		bit = 1;
		ok = number(value, UINT_MAX, &v) == 0 && v > 0;
		t->gen = (unsigned)v;
	} else if (strcmp(line, "pid") == 0) {
		bit = 2;
		ok = number(value, INT_MAX, &v) == 0;
		t->pid = (int)v;
	} else if (strcmp(line, "phase") == 0) {
		bit = 4;
		ok = parse_phase(value, &t->phase) == 0;
	} else if (strcmp(line, "status") == 0) {
		bit = 8;
		t->over = strcmp(value, "-") != 0;
		ok = !t->over || (number(value, 255, &v) == 0);
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

enum change_kind { CHANGE_MOVE, CHANGE_PID, CHANGE_FINISH };

struct change {
	enum change_kind kind;
	enum trial_phase from;
	enum trial_phase to;
	int value;
};

static int change(const char *dir, const struct change *c, struct trial_state *seen, struct berr *err)
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
	switch (c->kind) {
	case CHANGE_MOVE:
		if (t.phase != c->from) {
			return 0;
		}
		t.phase = c->to;
		break;
	case CHANGE_PID:
		t.pid = c->value;
		break;
	case CHANGE_FINISH:
		t.over = 1;
		t.status = c->value;
		break;
	}
	ret = save_at(fd, dir, &t, err);
	return ret < 0 ? ret : 1;
}

int trial_state_move(const char *dir, enum trial_phase from, enum trial_phase to, struct trial_state *seen,
		     struct berr *err)
{
	struct change c = {.kind = CHANGE_MOVE, .from = from, .to = to};
	return change(dir, &c, seen, err);
}

int trial_state_set_pid(const char *dir, int pid, struct berr *err)
{
	struct change c = {.kind = CHANGE_PID, .value = pid};
	int ret = change(dir, &c, NULL, err);
	return ret < 0 ? ret : 0;
}

int trial_state_finish(const char *dir, int status, struct berr *err)
{
	struct change c = {.kind = CHANGE_FINISH, .value = status & 0xff};
	int ret = change(dir, &c, NULL, err);
	return ret < 0 ? ret : 0;
}
