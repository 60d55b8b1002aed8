/* Where the CLI's commands go: berthd on this machine, or a Berth host
 * over the user's OpenSSH client (-H ssh://[USER@]HOST[:PORT], a context,
 * BERTH_HOST). API calls reach the host's berthd through `berth system
 * dial-stdio` (dialstdio.h); commands that run on the host itself (exec,
 * os, info, pull ...) run there as `berth ...` in the same ssh. The ssh
 * command is `ssh`, or BERTH_SSH_COMMAND (words and quotes as a shell
 * reads them, as git's GIT_SSH_COMMAND). */
#ifndef BERTH_CLI_REMOTE_H
#define BERTH_CLI_REMOTE_H

#include <sys/types.h>

#include "lib/berr.h"

#define REMOTE_URL_MAX 320

struct remote {
	char url[REMOTE_URL_MAX]; /* as given: ssh://root@host:2222 */
	char user[64];		  /* empty: ssh's default */
	char host[256];		  /* a name or an address (IPv6 without brackets) */
	char port[6];		  /* empty: ssh's default */
	/* From a context (berth machine's): ssh's -i, and its own known_hosts
	 * (first key accepted, then checked); empty: ssh's defaults. */
	char identity[1024];
	char known_hosts_opt[1100]; /* "UserKnownHostsFile=FILE" */
	/* A connection of its own, made now (no multiplexing over an older
	 * one), given up after a few seconds without an answer. */
	int fresh;
};

/* Parses "ssh://[USER@]HOST[:PORT]" (IPv6: ssh://[::1]:22); anything else
 * (another scheme, a path, a HOST that ssh would read as an option) is
 * -EINVAL naming what is wrong. */
int remote_parse(const char *url, struct remote *r, struct berr *err);

/* The host the commands go to; NULL: this machine's berthd. */
const struct remote *remote_target(void);
void remote_set_target(const struct remote *r);

/* A connection to path on the host (berthd's socket or a container's
 * attach socket): one end of a socket pair whose other end is the stdio
 * of `ssh HOST berth system dial-stdio PATH`. ssh runs in its own process
 * group, so that Ctrl-C reaches the CLI (which passes it on) and not the
 * connection. -errno with err set. */
int remote_dial(const struct remote *r, const char *path, struct berr *err);

/* Runs `berth ARGV...` on the host and waits for it: with a terminal
 * (ssh -t) when tty, without stdin (ssh -n) when no_stdin. Returns its
 * exit status (255: ssh failed, as ssh says). */
int remote_exec(const struct remote *r, int argc, char **argv, int tty, int no_stdin);

/* Starts `berth ARGV...` on the host with its stdin from in_fd and its
 * stdout to out_fd (-1: the CLI's own); returns ssh's pid for
 * remote_wait, or -1 after saying why. */
pid_t remote_spawn(const struct remote *r, int argc, char **argv, int in_fd, int out_fd);

/* Waits for a remote_spawn; its exit status as remote_exec returns it. */
int remote_wait(pid_t pid);

#endif
