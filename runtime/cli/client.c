/* Talking to berthd (see client.h). */
#include "cli/client.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/remote.h"
#include "lib/fsutil.h"
#include "proto/proto.h"

json_object *client_req(const char *cmd)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "cmd", json_object_new_string(cmd));
	return o;
}

const char *json_str(json_object *o, const char *key)
{
	json_object *v = NULL;
	if (o == NULL || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string)) {
		return NULL;
	}
	return json_object_get_string(v);
}

int64_t json_int(json_object *o, const char *key)
{
	json_object *v = NULL;
	if (o == NULL || !json_object_object_get_ex(o, key, &v)) {
		return 0;
	}
	return json_object_get_int64(v);
}

int client_dial(const char *path, struct berr *err)
{
	const struct remote *r = remote_target();
	return r != NULL ? remote_dial(r, path, err) : proto_connect(path, err);
}

static void say_unreachable(const char *what, const struct berr *err)
{
	const struct remote *r = remote_target();
	if (r != NULL) {
		fprintf(stderr, "berth: %s: %s: %s\n", what, r->url, err->msg);
	} else if (err->code == ENOENT || err->code == ECONNREFUSED) {
		fprintf(stderr, "berth: %s: berthd is not running (no %s)\n", what, BERTH_SOCKET);
	} else if (err->code == EACCES) {
		fprintf(stderr, "berth: %s: permission denied: berth talks to berthd as root only\n", what);
	} else {
		fprintf(stderr, "berth: %s: %s\n", what, err->msg);
	}
}

/* Through dial-stdio: the input streamed as STDIN frames, then the frames
 * until the answer, outputs written where they belong. */
static int remote_exchange(int sock, const int *fds, const char *roles, size_t nfds, struct proto_frame *f,
			   struct berr *err)
{
	for (size_t i = 0; i < nfds; i++) {
		if (roles[i] != 'i') {
			continue;
		}
		static char buf[65536];
		for (;;) {
			ssize_t n = read(fds[i], buf, sizeof(buf));
			if (n < 0 && errno == EINTR) {
				continue;
			}
			if (n < 0) {
				return berr_set(err, errno, "read the input");
			}
			if (n == 0) {
				break;
			}
			int ret = proto_send(sock, PROTO_STDIN, buf, (size_t)n, NULL, 0, err);
			if (ret < 0) {
				return ret;
			}
		}
		int ret = proto_send(sock, PROTO_STDIN_EOF, "", 0, NULL, 0, err);
		if (ret < 0) {
			return ret;
		}
	}
	for (;;) {
		int ret = proto_recv(sock, f, err);
		if (ret <= 0 || f->type == PROTO_RESPONSE) {
			return ret;
		}
		const char *want = f->type == PROTO_STDOUT ? "o" : f->type == PROTO_STDERR ? "e" : NULL;
		for (size_t i = 0; want != NULL && i < nfds; i++) {
			if (roles[i] == want[0]) {
				write_all(fds[i], f->data, f->len);
			}
		}
		proto_frame_release(f);
	}
}

/* Sends the request and receives the answer's frame. */
static int exchange(int sock, json_object *req, const int *fds, const char *roles, size_t nfds, struct proto_frame *f,
		    struct berr *err)
{
	int remote = remote_target() != NULL;
	if (remote && nfds > 0) {
		if (roles == NULL) {
			return berr_setx(err, EOPNOTSUPP, "not over a remote connection");
		}
		json_object_object_add(req, "relay", json_object_new_string_len(roles, (int)nfds));
	}
	const char *text = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	int ret = proto_send(sock, PROTO_REQUEST, text, strlen(text), remote ? NULL : fds, remote ? 0 : nfds, err);
	if (ret == 0) {
		ret = remote ? remote_exchange(sock, fds, roles, nfds, f, err) : proto_recv(sock, f, err);
		if (ret == 0) {
			berr_setx(err, EPIPE, "%s",
				  remote ? "the connection ended without an answer"
					 : "berthd closed the connection without an answer");
			ret = -EPIPE;
		}
	}
	return ret < 0 ? ret : 0;
}

int client_call_io(const char *what, json_object *req, const int *fds, const char *roles, size_t nfds,
		   json_object **resp)
{
	struct berr err = {0};
	*resp = NULL;
	int sock = client_dial(BERTH_SOCKET, &err);
	if (sock < 0) {
		say_unreachable(what, &err);
		json_object_put(req);
		return -1;
	}
	struct proto_frame f = {0};
	int ret = exchange(sock, req, fds, roles, nfds, &f, &err);
	json_object_put(req);
	close(sock);
	if (ret < 0) {
		const struct remote *r = remote_target();
		if (r != NULL && (err.code == EPIPE || err.code == ECONNRESET)) {
			fprintf(stderr,
				"berth: %s: %s: the connection ended before berthd answered (ssh says why above)\n",
				what, r->url);
		} else {
			fprintf(stderr, "berth: %s: %s\n", what, err.msg);
		}
		proto_frame_release(&f);
		return -1;
	}
	json_object *o = f.type == PROTO_RESPONSE ? json_tokener_parse(f.data) : NULL;
	proto_frame_release(&f);
	if (o == NULL) {
		fprintf(stderr, "berth: %s: berthd sent an answer that is not JSON\n", what);
		return -1;
	}
	json_object *ok = NULL;
	if (!json_object_object_get_ex(o, "ok", &ok) || !json_object_get_boolean(ok)) {
		const char *msg = json_str(o, "error");
		fprintf(stderr, "berth: %s: %s\n", what, msg != NULL ? msg : "failed");
		*resp = o;
		return -1;
	}
	*resp = o;
	return 0;
}

int client_call(const char *what, json_object *req, const int *fds, size_t nfds, json_object **resp)
{
	return client_call_io(what, req, fds, NULL, nfds, resp);
}

json_object *client_fetch(const char *what, json_object *req)
{
	json_object *resp = NULL;
	if (client_call(what, req, NULL, 0, &resp) < 0) {
		json_object_put(resp);
		return NULL;
	}
	return resp;
}

json_object *json_member(json_object *o, const char *key)
{
	json_object *v = NULL;
	json_object_object_get_ex(o, key, &v);
	return v;
}

int client_container_root(const char *what, const char *name, struct berr *err)
{
	json_object *req = client_req("inspect");
	json_object_object_add(req, "name", json_object_new_string(name));
	json_object *resp = client_fetch(what, req);
	if (resp == NULL) {
		return berr_setx(err, ENOENT, "container %s", name);
	}
	int64_t pid = json_int(json_member(resp, "container"), "pid");
	json_object_put(resp);
	if (pid <= 0) {
		return berr_setx(err, ESRCH, "container %s is not running", name);
	}
	char path[64];
	snprintf(path, sizeof(path), "/proc/%lld/root", (long long)pid);
	int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	return fd >= 0 ? fd : berr_set(err, errno, "container %s: %s", name, path);
}
