/* Attaching the terminal to a container through its monitor's attach
 * socket: its output to our stdout/stderr, our stdin to it (when it has
 * one), window size changes to its terminal. */
#ifndef BERTH_ATTACH_H
#define BERTH_ATTACH_H

struct attach_opts {
	const char *socket;    /* the monitor's attach.sock */
	int tty;	       /* the container has a terminal */
	int stdin_open;	       /* send our stdin */
	const char *kill_name; /* not NULL: Ctrl-C and SIGTERM are passed on to this container */
};

/* Relays until the container ends; returns its exit code, or -1 when the
 * connection was lost (after saying so). */
int attach_run(const struct attach_opts *o);

#endif
