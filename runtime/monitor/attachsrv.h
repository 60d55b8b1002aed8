/* The attach socket of a container's monitor (monitor.h): accepts root
 * clients, sends each the container's output as frames (proto.h) through
 * a bounded queue of its own, and hands their input frames to the
 * monitor. Never blocks: a client that cannot keep up is dropped, never
 * waited for, so that it cannot hold the container's output back. */
#ifndef BERTH_ATTACHSRV_H
#define BERTH_ATTACHSRV_H

#include <stddef.h>

#include "lib/berr.h"
#include "proto/proto.h"

/* Output queued for one client before it counts as too slow. */
#define ATTACHSRV_QUEUE_MAX (1u << 20)
#define ATTACHSRV_CLIENTS_MAX 64

struct attachsrv;

/* Called with each STDIN, STDIN_EOF and RESIZE frame a client sends
 * (other types are ignored); data is NUL-terminated. */
typedef void attachsrv_input_fn(void *ctx, enum proto_type type, const char *data, size_t len);

/* Listens on path (mode 0600, replacing a stale socket). */
int attachsrv_open(const char *path, attachsrv_input_fn *on_input, void *ctx, struct attachsrv **out, struct berr *err);

/* An epoll fd, readable when attachsrv_run has work. */
int attachsrv_fd(const struct attachsrv *a);

/* Accepts clients, reads their frames, sends what is queued. */
void attachsrv_run(struct attachsrv *a);

/* 1 once any client has connected, even if it has gone again. */
int attachsrv_connected(const struct attachsrv *a);

/* Stops reading clients' input (while the container's stdin is full),
 * or resumes. */
void attachsrv_pause_input(struct attachsrv *a, int paused);

/* Queues one frame to every client. */
void attachsrv_broadcast(struct attachsrv *a, enum proto_type type, const void *data, size_t len);

/* The end: removes the socket file, takes in clients still waiting to
 * connect, sends every client the frame (EXIT) and gives them up to
 * timeout_ms to take what is queued. */
void attachsrv_finish(struct attachsrv *a, enum proto_type type, const void *data, size_t len, int timeout_ms);

/* Closes every client and the socket, and removes the socket file. */
void attachsrv_close(struct attachsrv *a);

#endif
