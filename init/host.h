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
	int static_dns; /* resolv.conf written from host.yaml */
	char tz[160];	/* TZ for services, empty for UTC */
};

/* Reads host.yaml from the CONFIG mount (or defaults), reporting every
 * problem on the console and in the log. */
void host_load_config(struct host_config *cfg, int config_mounted);

void host_apply(const struct host_config *cfg, struct host_state *st);

/* The first ethernet interface (lowest index) and its MAC address. */
int host_first_ether(char *ifname, size_t size, unsigned char mac[6]);

#endif
