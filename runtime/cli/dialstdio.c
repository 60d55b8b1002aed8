/* The host's end of a remote CLI's connection (see dialstdio.h). */
#include "cli/dialstdio.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/fsutil.h"
#include "proto/proto.h"

#define ATTACH_PREFIX BERTH_RUN_DIR "/c/"
#define ATTACH_SUFFIX "/attach.sock"
#define RELAY_CHUNK 65536
/* After berthd's answer, what is still in the output pipes comes first;
 * a pipe that stays quiet this long is done. */
#define DRAIN_QUIET_MS 100

int dialstdio_path_allowed(const char *path)
{
	if (strcmp(path, BERTH_SOCKET) == 0) {
		return 1;
	}
	size_t plen = strlen(ATTACH_PREFIX);
	size_t slen = strlen(ATTACH_SUFFIX);
	size_t len = strlen(path);
	if (len <= plen + slen || strncmp(path, ATTACH_PREFIX, plen) != 0 ||
	    strcmp(path + len - slen, ATTACH_SUFFIX) != 0) {
		return 0;
	}
	const char *name = path + plen;
	size_t nlen = len - plen - slen;
	if (memchr(name, '/', nlen) != NULL || (nlen == 1 && name[0] == '.') ||
	    (nlen == 2 && name[0] == '.' && name[1] == '.')) {
		return 0;
	}
	return 1;
}

struct relay {
	int sock;   /* berthd or the monitor */
	int out[2]; /* read ends of the "o" and "e" pipes, or -1 */
	int in;	    /* write end of the "i" pipe, or -1 */
	int used;   /* a request has set the relays up */
};

/* berthd answers before a monitor has made its attach socket: retry for
 * about 5 s, as the local CLI does. */
static int connect_retry(const char *path, struct berr *err)
{
	long wait_ns = 1000000;
	long waited_ns = 0;
	for (;;) {
		int fd = proto_connect(path, err);
		if (fd >= 0 || (err->code != ENOENT && err->code != ECONNREFUSED) || waited_ns >= 5000000000L) {
			return fd;
		}
		struct timespec ts = {0, wait_ns};
		nanosleep(&ts, NULL);
		waited_ns += wait_ns;
		wait_ns = wait_ns * 2 > 50000000L ? 50000000L : wait_ns * 2;
	}
}

/* Replaces the request's "relay" with pipes and sends it on. */
static int forward_request(struct relay *r, const struct proto_frame *f, struct berr *err)
{
	json_object *req = json_tokener_parse(f->data);
	json_object *v = NULL;
	if (req == NULL || !json_object_is_type(req, json_type_object) ||
	    !json_object_object_get_ex(req, "relay", &v)) {
		json_object_put(req);
		return proto_send(r->sock, PROTO_REQUEST, f->data, f->len, NULL, 0, err);
	}
	const char *roles = json_object_get_string(v);
	size_t n = roles != NULL ? strlen(roles) : 0;
	if (r->used || n == 0 || n > 3 || strspn(roles, "oei") != n) {
		json_object_put(req);
		return berr_setx(err, EPROTO, "a request's relay is one of o, e, i each, once per connection");
	}
	int fds[3];
	int far[3];
	size_t nf = 0;
	int ret = 0;
	for (size_t i = 0; i < n && ret == 0; i++) {
		int p[2];
		if (pipe2(p, O_CLOEXEC) < 0) {
			ret = berr_set(err, errno, "relay pipe");
			break;
		}
		int mine = roles[i] == 'i' ? p[1] : p[0];
		far[nf] = roles[i] == 'i' ? p[0] : p[1];
		fds[nf] = far[nf];
		nf++;
		int *slot = roles[i] == 'i' ? &r->in : &r->out[roles[i] == 'o' ? 0 : 1];
		if (*slot >= 0) {
			close(mine);
			ret = berr_setx(err, EPROTO, "relay '%c' given twice", roles[i]);
		} else {
			*slot = mine;
		}
	}
	r->used = 1;
	if (ret == 0) {
		json_object_object_del(req, "relay");
		const char *text = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);
		ret = proto_send(r->sock, PROTO_REQUEST, text, strlen(text), fds, nf, err);
	}
	for (size_t i = 0; i < nf; i++) {
		close(far[i]);
	}
	json_object_put(req);
	return ret;
}

/* One frame from the client. 1 to go on, 0 at its end, negative errno. */
static int from_client(struct relay *r, struct berr *err)
{
	struct proto_frame f = {0};
	int ret = proto_recv(STDIN_FILENO, &f, err);
	if (ret <= 0) {
		return ret;
	}
	if (f.type == PROTO_REQUEST) {
		ret = forward_request(r, &f, err);
	} else if (r->in >= 0 && f.type == PROTO_STDIN) {
		if (write_all(r->in, f.data, f.len) < 0) {
			/* The reader gave up (its answer says why): drop the rest. */
			close(r->in);
			r->in = -2;
		}
	} else if (r->in >= 0 && f.type == PROTO_STDIN_EOF) {
		close(r->in);
		r->in = -2;
	} else if (r->in == -2 && (f.type == PROTO_STDIN || f.type == PROTO_STDIN_EOF)) {
		ret = 0;
	} else {
		ret = proto_send(r->sock, (enum proto_type)f.type, f.data, f.len, NULL, 0, err);
	}
	proto_frame_release(&f);
	return ret < 0 ? ret : 1;
}

/* What one output pipe has now, as a frame to the client. 1 after data,
 * 0 at its end (the pipe is closed), negative errno. */
static int pump_out(struct relay *r, int which, struct berr *err)
{
	static char buf[RELAY_CHUNK];
	ssize_t n;
	do {
		n = read(r->out[which], buf, sizeof(buf));
	} while (n < 0 && errno == EINTR);
	if (n <= 0) {
		close(r->out[which]);
		r->out[which] = -1;
		return 0;
	}
	int ret = proto_send(STDOUT_FILENO, which == 0 ? PROTO_STDOUT : PROTO_STDERR, buf, (size_t)n, NULL, 0, err);
	return ret < 0 ? ret : 1;
}

static int drain_outputs(struct relay *r, struct berr *err)
{
	while (r->out[0] >= 0 || r->out[1] >= 0) {
		struct pollfd p[2] = {{.fd = r->out[0], .events = POLLIN}, {.fd = r->out[1], .events = POLLIN}};
		int n = poll(p, 2, DRAIN_QUIET_MS);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n <= 0) {
			return 0;
		}
		for (int i = 0; i < 2; i++) {
			if (p[i].revents != 0) {
				int ret = pump_out(r, i, err);
				if (ret < 0) {
					return ret;
				}
			}
		}
	}
	return 0;
}

/* One frame from berthd or the monitor. 1 to go on, 0 at its end. */
static int from_server(struct relay *r, struct berr *err)
{
	struct proto_frame f = {0};
	int ret = proto_recv(r->sock, &f, err);
	if (ret <= 0) {
		return ret;
	}
	if (f.type == PROTO_RESPONSE || f.type == PROTO_EXIT) {
		ret = drain_outputs(r, err);
	}
	if (ret >= 0) {
		ret = proto_send(STDOUT_FILENO, (enum proto_type)f.type, f.data, f.len, NULL, 0, err);
	}
	proto_frame_release(&f);
	return ret < 0 ? ret : 1;
}

static int relay_loop(struct relay *r, struct berr *err)
{
	for (;;) {
		struct pollfd p[4] = {
			{.fd = STDIN_FILENO, .events = POLLIN},
			{.fd = r->sock, .events = POLLIN},
			{.fd = r->out[0], .events = POLLIN},
			{.fd = r->out[1], .events = POLLIN},
		};
		if (poll(p, 4, -1) < 0) {
			if (errno == EINTR) {
				continue;
			}
			return berr_set(err, errno, "poll");
		}
		int ret = 1;
		if (p[1].revents != 0) {
			ret = from_server(r, err);
		}
		for (int i = 0; i < 2 && ret > 0; i++) {
			if (p[2 + i].revents != 0) {
				ret = pump_out(r, i, err) < 0 ? -1 : 1;
			}
		}
		if (ret > 0 && p[0].revents != 0) {
			ret = from_client(r, err);
		}
		if (ret <= 0) {
			if (ret == 0) {
				drain_outputs(r, err);
			}
			return ret;
		}
	}
}

int dialstdio_main(int argc, char **argv)
{
	if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
		fprintf(stderr, "usage: berth system dial-stdio [SOCKET]\n");
		return 2;
	}
	const char *path = argc == 2 ? argv[1] : BERTH_SOCKET;
	if (!dialstdio_path_allowed(path)) {
		fprintf(stderr, "berth system dial-stdio: %s: not berthd's socket nor a container's attach socket\n",
			path);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	struct berr err = {0};
	struct relay r = {.sock = connect_retry(path, &err), .out = {-1, -1}, .in = -1};
	if (r.sock < 0) {
		fprintf(stderr, "berth system dial-stdio: %s\n", err.msg);
		return 1;
	}
	int ret = relay_loop(&r, &err);
	close(r.sock);
	if (ret < 0) {
		fprintf(stderr, "berth system dial-stdio: %s\n", err.msg);
		return 1;
	}
	return 0;
}
