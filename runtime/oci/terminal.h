/* Container terminals: a pseudo-terminal made inside the container (from
 * its own devpts), its slave made the process's controlling terminal and
 * stdio, its master handed over a unix socket (runc's --console-socket
 * protocol: one message carrying the fd with SCM_RIGHTS), or kept by
 * berth-oci itself to relay a foreground session. */
#ifndef BERTH_OCI_TERMINAL_H
#define BERTH_OCI_TERMINAL_H

#include <sys/types.h>

#include "lib/berr.h"
#include "oci/config.h"

/* Connects to the console socket a caller gave with --console-socket. */
int term_connect(const char *path, struct berr *err);

/* In the container: make the pty, send the master over sock, make the
 * slave stdin/stdout/stderr and the controlling terminal. */
int term_setup(int sock, const struct oci_process *p, struct berr *err);

/* Receives a master fd sent by term_setup. */
int term_recv_master(int sock, struct berr *err);

/* Relays between this process's stdio and master until child exits;
 * returns child's wait status. Puts a terminal stdin in raw mode for the
 * duration and passes window size changes on. */
int term_relay(int master, pid_t child, int *status);

#endif
