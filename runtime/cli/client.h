/* The berth CLI's side of berthd's API: one request per connection,
 * answered by one JSON object (proto.h). */
#ifndef BERTH_CLIENT_H
#define BERTH_CLIENT_H

#include <json-c/json.h>

#include "lib/berr.h"

/* Sends req (consumed) with fds attached; *resp gets the answer. Returns
 * 0 when berthd answered "ok", -1 after printing berthd's error (or why
 * berthd could not be reached) prefixed by what. */
int client_call(const char *what, json_object *req, const int *fds, size_t nfds, json_object **resp);

/* A request object {"cmd": cmd}. */
json_object *client_req(const char *cmd);

const char *json_str(json_object *o, const char *key);
int64_t json_int(json_object *o, const char *key);

#endif
