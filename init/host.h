/* Applying host.yaml to the running host: hostname, network links and
 * addresses, DNS, sysctls, root's ssh keys and the time zone. Each step
 * reports its own failure and the rest still happens. */
#ifndef BERTH_INIT_HOST_H
#define BERTH_INIT_HOST_H

#include <stddef.h>

#include "lib/hostcfg.h"

#define HOST_MAX_DHCP 8

struct host_state {
	char hostname[64];
	char dhcp_ifaces[HOST_MAX_DHCP][16]; /* interfaces for the DHCP client */
	size_t ndhcp;
	/* No interfaces in host.yaml: every wired interface is up, those with
	 * a link have DHCP now, the others get it when a link comes
	 * (netwatch.h). */
	int dhcp_auto;
	int static_dns; /* resolv.conf written from host.yaml */
	char tz[160];	/* "TZ=..." for services (UTC0 by default) */
};

/* Reads host.yaml from the CONFIG mount (or defaults), reporting every
 * problem on the console and in the log. */
void host_load_config(struct host_config *cfg, int config_mounted);

void host_apply(const struct host_config *cfg, struct host_state *st);

/* What of host.yaml changes on a running host (berth config apply; init
 * reads host.yaml again on SIGHUP; hostcfg_when says which): hostname,
 * sysctls, root's ssh keys. NTP and DHCP clients are the services'
 * (services.h); the rest waits for the next boot. */
void host_apply_live(const struct host_config *cfg, struct host_state *st);

/* A change of network interfaces on a running host: every wired link
 * loses its global addresses and non-kernel routes, then cfg's network is
 * applied as at boot (st's DHCP interfaces and DNS set anew). The DHCP
 * clients must have stopped first (services_stop_dhcp). */
void host_apply_network(const struct host_config *cfg, struct host_state *st);

/* resolv.conf as at boot, and all a change of DNS servers alone touches:
 * host.yaml's servers (DHCP clients then leave it alone), else those of
 * the last DHCP lease, else none until a lease brings some. */
void host_apply_dns(const struct host_config *cfg, struct host_state *st);

/* Tells berth config apply that a reload is done: HOST_RELOADED's count
 * goes up. */
void host_mark_reloaded(void);

/* A wired interface: ethernet with a device behind it (no bridge, veth or
 * tunnel). */
struct host_ether {
	char name[16];
	unsigned char mac[6];
	int index;
};

/* The wired interfaces, lowest index first; returns how many (at most max). */
size_t host_list_ethers(struct host_ether *out, size_t max);

/* Whether name is a wired interface (and then its MAC address). */
int host_is_ether(const char *name, unsigned char mac[6]);

/* 1 when the interface has a link (carrier), 0 when not or when down. */
int host_has_carrier(const char *name);

#endif
