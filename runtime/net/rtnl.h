/* The rtnetlink requests that container networks need beyond lib/netlink:
 * bridges, veth pairs, moving links between namespaces, IPv4 address
 * deletion and broadcast, and dumps of links, addresses and routes.
 * Built on lib/netlink's message helpers; owns no state and never caches
 * an ifindex (links come and go under our feet). Every link is named, and
 * every error names it; -ENODEV always means "no such link".
 * IPv4 addresses are uint32_t in network byte order, as in struct in_addr.
 * All calls act in the socket's network namespace (see netns_rtnl_open).
 * Routes are added with lib/netlink's nl_route_add. */
#ifndef BERTH_NET_RTNL_H
#define BERTH_NET_RTNL_H

#include <net/if.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/berr.h"
#include "lib/netlink.h"

/* Closes an nl_sock at the end of its scope: auto_nl struct nl_sock nl = {.fd = -1}; */
#define auto_nl __attribute__((cleanup(nl_close)))

struct rtnl_link {
	int index;
	char name[IFNAMSIZ];
	unsigned flags; /* IFF_* */
	int mtu;
	int master;	/* the bridge's ifindex; 0: none */
	char kind[16];	/* IFLA_INFO_KIND ("bridge", "veth"); "" for plain devices */
	uint8_t mac[6]; /* valid when has_mac */
	int has_mac;
	unsigned char operstate; /* RFC 2863: RTNL_OPER_UP once the kernel has applied the carrier */
};

/* IF_OPER_UP of <linux/if.h>, which cannot be included with <net/if.h>. */
#define RTNL_OPER_UP 6

/* One link by name; -ENODEV (err set) when it does not exist. */
int rtnl_link_get(struct nl_sock *nl, const char *ifname, struct rtnl_link *out, struct berr *err);

/* Every link of the namespace, in a malloc'd array the caller frees. */
int rtnl_link_list(struct nl_sock *nl, struct rtnl_link **out, size_t *n, struct berr *err);

/* A bridge with a fixed MAC: a bridge without one takes the lowest MAC of
 * its ports, so that its address would change as containers come and go. */
int rtnl_bridge_add(struct nl_sock *nl, const char *ifname, const uint8_t mac[6], struct berr *err);

/* A veth pair ifname <-> peer whose peer is created directly in the
 * namespace peer_netns_fd (so that the peer's name never has to be free in
 * ours; -1: ours). peer_mac may be NULL (random); mtu 0 keeps the default. */
int rtnl_veth_add(struct nl_sock *nl, const char *ifname, const char *peer, int peer_netns_fd, const uint8_t *peer_mac,
		  int mtu, struct berr *err);

/* Deleting one end of a veth pair deletes both. */
int rtnl_link_del(struct nl_sock *nl, const char *ifname, struct berr *err);

/* master NULL takes the link out of its bridge. */
int rtnl_link_set_master(struct nl_sock *nl, const char *ifname, const char *master, struct berr *err);
int rtnl_link_set_up(struct nl_sock *nl, const char *ifname, int up, struct berr *err);
/* Linux 6.1 refuses (-EBUSY) to rename a link that is up; newer kernels
 * allow it. */
int rtnl_link_rename(struct nl_sock *nl, const char *ifname, const char *newname, struct berr *err);
int rtnl_link_set_mac(struct nl_sock *nl, const char *ifname, const uint8_t mac[6], struct berr *err);
/* Moves a link into the namespace netns_fd; it disappears from ours. */
int rtnl_link_set_netns(struct nl_sock *nl, const char *ifname, int netns_fd, struct berr *err);

struct rtnl_addr4 {
	int index;
	char label[IFNAMSIZ]; /* the link's name, or name:alias */
	uint32_t addr;
	int prefix;
};

/* addr/prefix on ifname, with the subnet's broadcast address (prefix up
 * to 30). Adding an address that is there already succeeds. */
int rtnl_addr4_add(struct nl_sock *nl, const char *ifname, uint32_t addr, int prefix, struct berr *err);
/* -EADDRNOTAVAIL (err set) when ifname has no such address. */
int rtnl_addr4_del(struct nl_sock *nl, const char *ifname, uint32_t addr, int prefix, struct berr *err);
/* Every IPv4 address of the namespace (all links), malloc'd. */
int rtnl_addr4_list(struct nl_sock *nl, struct rtnl_addr4 **out, size_t *n, struct berr *err);

struct rtnl_route4 {
	uint32_t dst;
	int prefix;	    /* 0: default route */
	uint32_t gateway;   /* 0: on-link */
	int oif;	    /* 0: none (multipath, unreachable, ...) */
	unsigned table;	    /* RT_TABLE_MAIN, RT_TABLE_LOCAL, ... */
	unsigned char type; /* RTN_UNICAST, RTN_LOCAL, ... */
};

/* Every IPv4 route of the namespace, all tables, malloc'd. */
int rtnl_route4_list(struct nl_sock *nl, struct rtnl_route4 **out, size_t *n, struct berr *err);

#endif
