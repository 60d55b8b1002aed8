/* Starting child processes with a clean slate: an empty signal mask,
 * default signal dispositions, their own session, only the stdio fds the
 * caller names, and an error that says why exec failed. */
#ifndef BERTH_PROC_H
#define BERTH_PROC_H

#include <stdint.h>
#include <sys/types.h>

#include "lib/berr.h"

struct spawn_opts {
	const char *path; /* program to execute; NULL: argv[0] */
	char *const *argv;
	char *const *envp;   /* NULL: an empty environment */
	int stdin_fd;	     /* -1: /dev/null */
	int stdout_fd;	     /* -1: /dev/null */
	int stderr_fd;	     /* -1: /dev/null */
	int controlling_tty; /* make stdin the session's controlling terminal */
	const char *cwd;     /* NULL: / */
	int oom_score_adj;   /* the child's /proc/self/oom_score_adj; 0: inherited */
	int limit_caps;	     /* run with only caps (caps_limit), bounding set included */
	uint64_t caps;	     /* bit N: capability N */
};

/* Writes this process's /proc/self/oom_score_adj (-1000..1000); 0 or a
 * negative errno. Raising it needs no privilege; lowering it does. */
int set_oom_score_adj(int value);

/* Starts a child; *pid is its pid. Fails (with the reason exec gave) when the
 * program could not be executed. */
int proc_spawn(const struct spawn_opts *opts, pid_t *pid, struct berr *err);

/* Runs argv to completion with stdout and stderr sent to out_fd (-1 to
 * discard), stdin from /dev/null. Returns the exit status (0..255), 128+N
 * for death by signal N, or a negative errno when it could not run. */
int proc_run(char *const *argv, int out_fd, struct berr *err);

/* Like proc_run, but hands each line of output to on_line. */
int proc_run_lines(char *const *argv, void (*on_line)(const char *line, void *ctx), void *ctx, struct berr *err);

/* Closes every fd >= lowest (close_range, with a fallback for old kernels). */
void close_fds_from(int lowest);

/* Restores default dispositions and an empty mask (for a new child). */
void reset_signals(void);

#endif
