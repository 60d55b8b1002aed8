/* A small rtnetlink client: bring links up, set MTUs, add addresses and
 * routes. Shared by init (host network) and the runtime (container
 * networks). Every call waits for the kernel's answer and turns a refusal
 * into an error naming the link and address. */
#ifndef BERTH_NETLINK_H
#define BERTH_NETLINK_H

#include "berr.h"

struct nl_sock {
	int fd;
	unsigned seq;
};

int nl_open(struct nl_sock *nl, struct berr *err);
void nl_close(struct nl_sock *nl);

/* ifname's index, or a negative errno. */
int nl_ifindex(const char *ifname, struct berr *err);

int nl_link_up(struct nl_sock *nl, const char *ifname, struct berr *err);
int nl_link_set_mtu(struct nl_sock *nl, const char *ifname, int mtu, struct berr *err);

/* family AF_INET or AF_INET6; addr in network byte order. */
int nl_addr_add(struct nl_sock *nl, const char *ifname, int family, const void *addr, int prefix, struct berr *err);

/* A route to dst/prefix (prefix 0: default) through gateway (NULL: on-link)
 * on ifname. */
int nl_route_add(struct nl_sock *nl, const char *ifname, int family, const void *dst, int prefix, const void *gateway,
		 struct berr *err);

#endif
