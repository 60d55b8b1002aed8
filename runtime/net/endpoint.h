/* Bridges and container endpoints: what berthd calls to plug a container's
 * persistent network namespace (netns.h) into a network's bridge.
 * Every operation is idempotent, so that berthd can repeat it at each start
 * and after its own crashes, and everything it installs is removed by its
 * counterpart (net_bridge_remove, net_endpoint_detach).
 * Owns the kernel objects only: addresses come from ipam.h, firewalling and
 * NAT from the nf_tables ruleset, global forwarding is not touched here.
 * IPv4 addresses are uint32_t in network byte order. */
#ifndef BERTH_NET_ENDPOINT_H
#define BERTH_NET_ENDPOINT_H

#include <net/if.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/berr.h"
#include "net/ipam.h"

struct net_bridge {
	char ifname[IFNAMSIZ];
	uint32_t gateway; /* the bridge's own address */
	int prefix;
	/* No routing out of an internal network: the bridge's per-interface
	 * forwarding is off, so the kernel forwards nothing that arrives on it. */
	int internal;
};

/* Creates the bridge if missing (with a MAC derived from its name), gives
 * it gateway/prefix and removes any other IPv4 address from it (a leftover
 * of an older subnet), sets its forwarding, and brings it up. -EEXIST when
 * a link of that name exists and is not a bridge. */
int net_bridge_ensure(const struct net_bridge *b, struct berr *err);

/* Deletes the bridge; a missing one is not an error. */
int net_bridge_remove(const char *ifname, struct berr *err);

struct net_endpoint {
	const char *netns_path; /* a namespace made by netns_create */
	const char *bridge;
	char host_ifname[IFNAMSIZ]; /* the host side (net_host_ifname) */
	const char *ifname;	    /* inside: "eth0", "eth1", ... */
	uint32_t addr;
	int prefix;
	uint32_t gateway; /* 0: no default route */
	uint8_t mac[6];	  /* all zero: net_mac_from_addr(addr) */
	int mtu;	  /* 0: the bridge's */
};

/* A veth pair host_ifname <-> ifname (created inside the namespace), the
 * host side in the bridge and up; inside: MAC, address, up, and the
 * default route. An existing host_ifname (a crash's leftover) is deleted
 * first. On failure nothing of the new pair is left behind. */
int net_endpoint_attach(const struct net_endpoint *e, struct berr *err);

/* 1 when host_ifname exists, is up and is a port of e->bridge (the endpoint
 * survived a berthd restart and needs no attach), 0 when not. */
int net_endpoint_check(const struct net_endpoint *e, struct berr *err);

/* Deletes the pair by its host side; a missing one is not an error. */
int net_endpoint_detach(const char *host_ifname, struct berr *err);

/* ---- names and addresses derived stably from names ---- */

/* "vb" and 8 hex digits of a hash of container and network: the same pair
 * gets the same name after every restart. */
void net_host_ifname(const char *container, const char *network, char out[IFNAMSIZ]);

/* "br-" and 12 hex digits of a hash of the network's name. */
void net_bridge_ifname(const char *network, char out[IFNAMSIZ]);

/* 02:42:a:b:c:d for a.b.c.d, like Docker: a container that comes back with
 * its address comes back with its MAC, so neighbours' ARP caches stay true. */
void net_mac_from_addr(uint32_t addr, uint8_t mac[6]);

/* A locally administered unicast MAC derived from a bridge's name. */
void net_bridge_mac(const char *ifname, uint8_t mac[6]);

/* The host's IPv4 subnets, for ipam_config.avoid: every address's subnet
 * and every route of the main table except default routes. malloc'd. */
int net_host_subnets(struct ipam_subnet **out, size_t *n, struct berr *err);

#endif
