/* The berth CLI's side of berthd's API: one request per connection,
 * answered by one JSON object (proto.h). */
#ifndef BERTH_CLIENT_H
#define BERTH_CLIENT_H

#include <json-c/json.h>

#include "lib/berr.h"

/* Sends req (consumed) with fds attached; *resp gets the answer. Returns
 * 0 when berthd answered "ok", -1 after printing berthd's error (or why
 * berthd could not be reached) prefixed by what. To a remote host
 * (remote.h) descriptors cannot go: roles says what each one is, for
 * dial-stdio's relay ('o' and 'e': outputs berthd writes to, 'i': an
 * input it reads; dialstdio.h); roles NULL: none is relayed. */
int client_call_io(const char *what, json_object *req, const int *fds, const char *roles, size_t nfds,
		   json_object **resp);
int client_call(const char *what, json_object *req, const int *fds, size_t nfds, json_object **resp);
/* A request without descriptors: berthd's answer (the caller's), or NULL
 * when it failed, the error printed. */
json_object *client_fetch(const char *what, json_object *req);
/* o's member KEY (borrowed), or NULL. */
json_object *json_member(json_object *o, const char *key);

/* A connection to a socket on the host the commands go to: a unix socket
 * here, or through ssh and dial-stdio. -errno with err set. */
int client_dial(const char *path, struct berr *err);

/* A request object {"cmd": cmd}. */
json_object *client_req(const char *cmd);

/* An O_PATH fd of a running container's root as its init sees it (mounts
 * included: /proc/PID/root), asked of berthd (its errors printed after
 * what); -errno with err set. */
int client_container_root(const char *what, const char *name, struct berr *err);

const char *json_str(json_object *o, const char *key);
int64_t json_int(json_object *o, const char *key);

#endif
