/* berthd's API: requests from the berth CLI over BERTH_SOCKET (proto.h),
 * one request per connection. A request that waits for a container (stop,
 * start, rm) keeps its connection until the container gets there. */
#ifndef BERTH_API_H
#define BERTH_API_H

#include "daemon/ctr.h"

/* Starts accepting connections on the listening socket. */
int api_init(int listen_fd);

/* A container changed state: answers the requests waiting for that. */
void api_ctr_changed(struct ctr *c);

/* A container is about to be freed. */
void api_ctr_removed(struct ctr *c);

#endif
