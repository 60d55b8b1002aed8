/* Setup messages (see sync.h). */
#include "oci/sync.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

int sync_send(int fd, int type, int value)
{
	struct sync_msg m;
	memset(&m, 0, sizeof(m));
	m.type = type;
	m.value = value;
	ssize_t n;
	do {
		n = send(fd, &m, sizeof(m), MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	return n == (ssize_t)sizeof(m) ? 0 : -(errno ? errno : EIO);
}

int sync_send_error(int fd, const struct berr *err)
{
	struct sync_msg m;
	memset(&m, 0, sizeof(m));
	m.type = SYNC_ERROR;
	m.value = err->code;
	snprintf(m.text, sizeof(m.text), "%s", err->msg);
	ssize_t n;
	do {
		n = send(fd, &m, sizeof(m), MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	return n == (ssize_t)sizeof(m) ? 0 : -(errno ? errno : EIO);
}

static const char *sync_name(int type)
{
	switch (type) {
	case SYNC_GO:
		return "go";
	case SYNC_USERNS_READY:
		return "user namespace ready";
	case SYNC_PID:
		return "process id";
	case SYNC_HOOKS:
		return "ready for hooks";
	case SYNC_CREATED:
		return "created";
	case SYNC_EXECED:
		return "exec";
	default:
		return "?";
	}
}

int sync_expect(int fd, int type, struct sync_msg *msg, int timeout_ms, struct berr *err)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	int r;
	do {
		r = poll(&p, 1, timeout_ms);
	} while (r < 0 && errno == EINTR);
	if (r == 0) {
		return berr_setx(err, ETIMEDOUT, "the container did not answer within %d s (waiting for '%s')",
				 timeout_ms / 1000, sync_name(type));
	}
	ssize_t n;
	do {
		n = recv(fd, msg, sizeof(*msg), 0);
	} while (n < 0 && errno == EINTR);
	if (n == 0) {
		return berr_setx(err, EPIPE, "the container's setup process died (waiting for '%s')", sync_name(type));
	}
	if (n != (ssize_t)sizeof(*msg)) {
		return berr_set(err, n < 0 ? errno : EPROTO, "setup message");
	}
	msg->text[sizeof(msg->text) - 1] = '\0';
	if (msg->type == SYNC_ERROR) {
		return berr_setx(err, msg->value > 0 ? msg->value : EIO, "%s", msg->text);
	}
	if (msg->type != type) {
		return berr_setx(err, EPROTO, "unexpected setup message '%s' (waiting for '%s')", sync_name(msg->type),
				 sync_name(type));
	}
	return 0;
}
