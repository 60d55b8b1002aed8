/* Talking to berthd (see client.h). */
#include "cli/client.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

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

int client_call(const char *what, json_object *req, const int *fds, size_t nfds, json_object **resp)
{
	struct berr err = {0};
	*resp = NULL;
	const char *text = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	int sock = proto_connect(BERTH_SOCKET, &err);
	if (sock < 0) {
		if (err.code == ENOENT || err.code == ECONNREFUSED) {
			fprintf(stderr, "berth: %s: berthd is not running (no %s)\n", what, BERTH_SOCKET);
		} else if (err.code == EACCES) {
			fprintf(stderr, "berth: %s: permission denied: berth talks to berthd as root only\n", what);
		} else {
			fprintf(stderr, "berth: %s: %s\n", what, err.msg);
		}
		json_object_put(req);
		return -1;
	}
	int ret = proto_send(sock, PROTO_REQUEST, text, strlen(text), fds, nfds, &err);
	json_object_put(req);
	struct proto_frame f = {0};
	if (ret == 0) {
		ret = proto_recv(sock, &f, &err);
		if (ret == 0) {
			berr_setx(&err, EPIPE, "berthd closed the connection without an answer");
			ret = -EPIPE;
		}
	}
	close(sock);
	if (ret < 0) {
		fprintf(stderr, "berth: %s: %s\n", what, err.msg);
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
