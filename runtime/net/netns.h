/* Persistent network namespaces: a namespace kept alive by a bind mount of
 * its nsfs file on a path (what `ip netns add` does), so that it outlives
 * the containers that join it and berthd's own restarts.
 * Never changes the caller's namespaces for longer than one call: new
 * namespaces are made in a short-lived child, and the calls that enter a
 * namespace (to open a socket there) return to the original one before
 * they return, even on errors. Assumes a single-threaded caller (setns
 * changes only the calling thread). */
#ifndef BERTH_NET_NETNS_H
#define BERTH_NET_NETNS_H

#include "lib/berr.h"
#include "lib/netlink.h"

/* Makes a new network namespace with lo up and bind-mounts it at path (a
 * file created 0600 in an existing directory; a leftover plain file is
 * reused). -EEXIST (err names path) when a namespace is mounted there. */
int netns_create(const char *path, struct berr *err);

/* 1 when a network namespace is mounted at path, 0 when not (missing, a
 * plain file, another namespace type), a negative errno when path cannot be
 * examined. */
int netns_exists(const char *path);

/* Unmounts and deletes the namespace file; a missing one is not an error.
 * The namespace itself lives on while a process or socket still uses it. */
int netns_remove(const char *path, struct berr *err);

/* An O_CLOEXEC fd of the namespace at path (for setns or IFLA_NET_NS_FD);
 * -EINVAL (err names path) when no network namespace is mounted there. */
int netns_open(const char *path, struct berr *err);

/* A socket (SOCK_CLOEXEC added) that lives in the namespace at path, for
 * listeners inside a container's network (the DNS responder). */
int netns_socket(const char *path, int domain, int type, int protocol, struct berr *err);

/* An rtnetlink socket in the namespace at path: lib/netlink and rtnl.h
 * calls on it see and change that namespace's links. */
int netns_rtnl_open(const char *path, struct nl_sock *nl, struct berr *err);

#endif
