/* The wire format between the berth CLI, berthd and the per-container
 * monitors: framed messages over unix stream sockets, with file
 * descriptors passed alongside (SCM_RIGHTS) where a client hands its own
 * stdio or a file to the daemon. Root only: servers check the peer's uid
 * with SO_PEERCRED (proto_peer_is_root). proto_send and proto_recv also
 * work on pipes, without descriptors (berth system dial-stdio's stdio). */
#ifndef BERTH_PROTO_H
#define BERTH_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "lib/berr.h"

/* Where berthd listens, and where per-container run-time files live. */
#define BERTH_RUN_DIR "/run/berth"
#define BERTH_SOCKET BERTH_RUN_DIR "/berth.sock"

/* Largest payload of one frame; longer data is sent as several frames. */
#define PROTO_MAX_PAYLOAD (1u << 20)
#define PROTO_MAX_FDS 4

enum proto_type {
	PROTO_REQUEST = 'Q',  /* client -> server: one JSON object {"cmd": ..., ...} */
	PROTO_RESPONSE = 'R', /* server -> client: JSON {"ok": true, ...} or {"ok": false, "error": "..."} */
	PROTO_STDOUT = 'O',   /* a container's output (a terminal's output is all STDOUT) */
	PROTO_STDERR = 'E',
	PROTO_STDIN = 'I',     /* client -> monitor: input for the container */
	PROTO_STDIN_EOF = 'C', /* client -> monitor: no more input */
	PROTO_RESIZE = 'W',    /* client -> monitor: payload "ROWS COLS" in decimal */
	PROTO_EXIT = 'X',      /* server -> client: JSON {"exit_code": N}; the stream ends */
};

struct proto_frame {
	uint8_t type;
	uint32_t len;
	char *data; /* len bytes plus a terminating NUL; owned by the frame */
	int fds[PROTO_MAX_FDS];
	size_t nfds;
};

/* On the wire a frame is a header, the type byte and the payload length
 * as 4 bytes big-endian, then the payload; descriptors ride on the
 * header's first byte. The header is public for callers that frame into
 * their own buffers (a monitor's attach clients, attachsrv.h, never
 * blocked on). */
#define PROTO_HEADER_SIZE 5

void proto_header_encode(uint8_t hdr[PROTO_HEADER_SIZE], enum proto_type type, uint32_t len);

/* Checks a received header: a known type and a length within
 * PROTO_MAX_PAYLOAD. 0, -EPROTO or -EMSGSIZE. */
int proto_header_decode(const uint8_t hdr[PROTO_HEADER_SIZE], uint8_t *type, uint32_t *len, struct berr *err);

/* Sends one frame (header and payload in one sendmsg where possible),
 * with nfds descriptors attached. Handles EINTR and short writes. */
int proto_send(int sock, enum proto_type type, const void *data, size_t len, const int *fds, size_t nfds,
	       struct berr *err);

/* Convenience: a NUL-terminated string (a JSON text) as one frame. */
int proto_send_str(int sock, enum proto_type type, const char *s, struct berr *err);

/* Receives one frame. Returns 1 with *f filled, 0 on a clean end of
 * stream before a frame started, negative errno on error (-EPROTO for a
 * truncated frame or an unknown type, -EMSGSIZE for a payload over
 * PROTO_MAX_PAYLOAD; the stream is then unusable). Received fds are
 * O_CLOEXEC. */
int proto_recv(int sock, struct proto_frame *f, struct berr *err);

/* Frees the payload and closes any fds still in the frame. */
void proto_frame_release(struct proto_frame *f);

/* Connects to a unix socket path (SOCK_CLOEXEC). */
int proto_connect(const char *path, struct berr *err);

/* Binds and listens on path with mode 0600, replacing a stale socket file. */
int proto_listen(const char *path, struct berr *err);

/* 1 if the peer of a connected unix socket runs as uid 0. */
int proto_peer_is_root(int sock);

#endif
