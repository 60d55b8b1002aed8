/* berth-init (see cinit.h). Runs as PID 1 of a container: it must never
 * die of a signal it was sent for its child. */
#include "cinit/cinit.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

int cinit_main(int argc, char **argv)
{
	int first = 1;
	if (first < argc && strcmp(argv[first], "--") == 0) {
		first++;
	}
	if (first >= argc) {
		fprintf(stderr, "usage: berth-init [--] COMMAND [ARG...]\n");
		return 2;
	}
	sigset_t all;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	pid_t child = fork();
	if (child < 0) {
		fprintf(stderr, "berth-init: fork: %s\n", strerror(errno));
		return 126;
	}
	if (child == 0) {
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		/* Its own process group in the foreground, as a shell would give it. */
		setpgid(0, 0);
		tcsetpgrp(STDIN_FILENO, getpid());
		execvp(argv[first], argv + first);
		fprintf(stderr, "berth-init: %s: %s\n", argv[first], strerror(errno));
		_exit(errno == ENOENT ? 127 : 126);
	}
	int sfd = signalfd(-1, &all, SFD_CLOEXEC);
	if (sfd < 0) {
		fprintf(stderr, "berth-init: signalfd: %s\n", strerror(errno));
	}
	for (;;) {
		struct signalfd_siginfo si;
		if (read(sfd, &si, sizeof(si)) != sizeof(si)) {
			if (errno == EINTR) {
				continue;
			}
			return 1;
		}
		if (si.ssi_signo != SIGCHLD) {
			/* To the whole group: a shell's children get it too, as
			 * from a terminal. */
			if (kill(-child, (int)si.ssi_signo) < 0) {
				kill(child, (int)si.ssi_signo);
			}
			continue;
		}
		int status;
		pid_t pid;
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
			if (pid == child) {
				if (WIFEXITED(status)) {
					return WEXITSTATUS(status);
				}
				return 128 + WTERMSIG(status);
			}
		}
	}
}
