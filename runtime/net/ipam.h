/* IPv4 address management for Berth networks: choosing a network's subnet
 * and handing out its addresses, remembered in one state file per network
 * (DIR/NETWORK.json) so that a container keeps its address across berthd
 * restarts and reboots, and no address is ever handed out twice.
 * Never touches the kernel: the host's own subnets (to keep clear of) are
 * passed in, which keeps every choice a pure, testable function.
 * Every address here is IPv4 in network byte order, as in struct in_addr.
 *
 * The state file:
 *   {"version": 1, "subnet": "172.18.0.0/16", "gateway": "172.18.0.1",
 *    "leases": {"web": "172.18.0.2", "db": "172.18.0.3"}}
 * A lease's owner is the container's name: the file already names the
 * network, so "container/network" would only repeat it. Owners are 1 to
 * IPAM_OWNER_MAX - 1 characters of [A-Za-z0-9_.:@/-]. */
#ifndef BERTH_NET_IPAM_H
#define BERTH_NET_IPAM_H

#include <stddef.h>
#include <stdint.h>

#include "lib/berr.h"

#define IPAM_OWNER_MAX 256
#define IPAM_NAME_MAX 128
/* A state file larger than this is refused (a /16 full of leases fits). */
#define IPAM_STATE_MAX (8u << 20)

struct ipam_subnet {
	uint32_t net; /* host bits zero */
	int prefix;
};

struct ipam_lease {
	char *owner;
	uint32_t addr;
};

/* One open network. Fields are read-only for callers. */
struct ipam_network {
	char *name;
	char *dir;
	char *path; /* the state file; NULL for a network parsed from memory (never saved) */
	struct ipam_subnet subnet;
	uint32_t gateway;
	struct ipam_lease *leases; /* sorted by address */
	size_t nleases;
	size_t cap;
};

struct ipam_config {
	const char *subnet;  /* compose ipam.config.subnet (CIDR); NULL: pick one from the default pools */
	const char *gateway; /* compose ipam.config.gateway; NULL: the subnet's first address */
	/* The host's own subnets (addresses and routes), which a picked subnet
	 * must not overlap. Other Berth networks (the other state files in DIR)
	 * are avoided too, picked or not. */
	const struct ipam_subnet *avoid;
	size_t navoid;
};

/* Opens network name's state in dir, creating it (and dir) if missing;
 * cfg NULL: pick a subnet, default gateway, nothing to avoid.
 * An existing network keeps its subnet and leases; -EEXIST when cfg names
 * a different subnet or gateway than the stored one (the network must then
 * be removed and created again). A new network's explicit subnet must not
 * overlap another Berth network's. -ENOSPC when no pool subnet is free. */
int ipam_open(struct ipam_network *n, const char *dir, const char *name, const struct ipam_config *cfg,
	      struct berr *err);
void ipam_close(struct ipam_network *n);

/* Deletes network name's state file; a missing one is not an error. */
int ipam_remove(const char *dir, const char *name, struct berr *err);

/* An address for owner: the one it holds already; else fixed (compose
 * ipv4_address; NULL: none), which must be inside the subnet, a host
 * address, not the gateway and not leased to another owner; else the
 * lowest free address. A fixed address replaces a different one owner
 * held. Saved before it returns. -ENOSPC when the subnet is full. */
int ipam_lease(struct ipam_network *n, const char *owner, const char *fixed, uint32_t *addr, struct berr *err);

/* Gives owner's address back; no lease is not an error. Saved. */
int ipam_release(struct ipam_network *n, const char *owner, struct berr *err);

/* owner's lease, or NULL. */
const struct ipam_lease *ipam_find(const struct ipam_network *n, const char *owner);

/* ---- pure helpers (exposed for tests and the fuzzer) ---- */

/* "a.b.c.d/n" with no host bits set and n from 1 to 30. */
int ipam_parse_subnet(const char *text, struct ipam_subnet *out, struct berr *err);
int ipam_overlaps(const struct ipam_subnet *a, const struct ipam_subnet *b);

/* text as a host address of s (network byte order): an IPv4 address inside
 * s that is not its network or broadcast address. On error *why says what
 * is wrong with it ("is outside the subnet"). compose checks the gateway
 * and ipv4_address of compose.yaml with it, as ipam_open and ipam_lease
 * will. */
int ipam_parse_host(const struct ipam_subnet *s, const char *text, uint32_t *addr, const char **why);

/* The gateway of a subnet that does not name one: its first host. */
uint32_t ipam_default_gateway(const struct ipam_subnet *s);

/* The first subnet of Docker's default pools (172.17.0.0/16 ...
 * 172.31.0.0/16, then 192.168.0.0/20, 192.168.16.0/20 ... 192.168.240.0/20)
 * that overlaps nothing in avoid; -ENOSPC when all do. */
int ipam_pick_subnet(const struct ipam_subnet *avoid, size_t navoid, struct ipam_subnet *out);

/* Parses a state file's text (len bytes, need not be NUL-terminated) into
 * n, which the caller then ipam_closes. Errors name file. */
int ipam_parse_state(struct ipam_network *n, const char *file, const char *text, size_t len, struct berr *err);

/* The state file's text for n (malloc'd, NUL-terminated). */
int ipam_format_state(const struct ipam_network *n, char **text, struct berr *err);

#endif
