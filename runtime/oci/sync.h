/* The conversation between berth-oci and the container's processes while
 * a container is set up, over a SOCK_SEQPACKET pair: one message per step,
 * and an error message (errno and text) from whichever side failed, so that
 * a failure deep in the container's setup reaches the user with its
 * reason. An end of file means the other side died. */
#ifndef BERTH_OCI_SYNC_H
#define BERTH_OCI_SYNC_H

#include <sys/types.h>

#include "lib/berr.h"

enum sync_type {
	SYNC_GO = 1,	   /* parent -> child: carry on */
	SYNC_USERNS_READY, /* child -> parent: write my id maps */
	SYNC_PID,	   /* child -> parent: the container process's pid */
	SYNC_HOOKS,	   /* init -> parent: run prestart/createRuntime hooks now */
	SYNC_CREATED,	   /* init -> parent: set up, waiting for start */
	SYNC_EXECED,	   /* exec'd process -> parent: about to execve */
	SYNC_ERROR,	   /* either way: the step failed */
};

struct sync_msg {
	int type;
	int value; /* pid, or errno for SYNC_ERROR */
	char text[1024];
};

int sync_send(int fd, int type, int value);

/* Sends err as a SYNC_ERROR. */
int sync_send_error(int fd, const struct berr *err);

/* Waits for a message of the given type (timeout in ms, -1: none). A
 * SYNC_ERROR from the other side becomes err; so do EOF and timeouts. */
int sync_expect(int fd, int type, struct sync_msg *msg, int timeout_ms, struct berr *err);

#endif
