/* berthd's API: requests from the berth CLI over BERTH_SOCKET (proto.h),
 * one request per connection. A request that waits for a container (stop,
 * start, rm) keeps its connection until the container gets there. */
#ifndef BERTH_API_H
#define BERTH_API_H

/* Starts accepting connections on the listening socket, and follows the
 * container table (ctrtab.h) to answer requests waiting for a container. */
int api_init(int listen_fd);

#endif
