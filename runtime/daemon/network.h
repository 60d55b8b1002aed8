/* Containers' networks under berthd: a bridge per network with addresses
 * from IPAM (runtime/net), a persistent network namespace per container
 * (/run/berth/netns/NAME, kept across restarts of the container and of
 * berthd, so a container keeps its address), the DNS responder that
 * answers service names on each bridge's gateway address, and one
 * nf_tables ruleset for published ports, outbound NAT and isolation.
 *
 * The kernel state is derived from berthd's containers: after any change
 * the container table publishes (ctrtab.h), network_sync() rebuilds names
 * and rules from the running containers and removes networks nobody uses.
 * Nothing is installed that a sync would not also remove. */
#ifndef BERTH_NETWORK_H
#define BERTH_NETWORK_H

#include <json-c/json.h>

#include "daemon/ctr.h"
#include "lib/berr.h"

#define NETNS_DIR "/run/berth/netns"
#define NETWORKS_DIR BERTH_DATA_DIR "/networks"
#define DEFAULT_NETWORK "default"

/* The DNS responder, the sysctls forwarding needs. */
int network_init(struct berr *err);

/* Networks compose.yaml declares: subnet, gateway, internal. Networks
 * not declared get an automatic subnet. */
void network_declare(const char *name, const char *subnet, const char *gateway, int internal);
void network_forget_declarations(void);

/* Before a container starts: its namespace plugged into its networks,
 * and its /etc/resolv.conf and /etc/hosts written into its directory. */
int network_setup(struct ctr *c, struct berr *err);

/* A container is removed: its endpoints, addresses and namespace go. */
void network_release(struct ctr *c);

/* Brings the kernel's state (names, rules, bridges) up to date if needed. */
void network_sync(void);

/* The container's addresses, for inspect: {"network": "10.x.y.z", ...}. */
json_object *network_addresses(const struct ctr *c);

/* `berth network ls`: {"networks": [{name, bridge, subnet, gateway,
 * internal, containers}], "rules": N} with the kernel's count of Berth's
 * nf_tables rules. */
json_object *network_list(void);

/* The namespace path of a container (for NETMODE_BRIDGE, and what a
 * NETMODE_JOIN container joins). */
int network_netns_path(const char *name, char *out, size_t size);

#endif
