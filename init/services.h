/* Which services this host runs, from host.yaml and what the image
 * contains: the host log writer, DHCP clients, NTP, sshd, the runtime
 * daemon, the console shell. */
#ifndef BERTH_INIT_SERVICES_H
#define BERTH_INIT_SERVICES_H

#include <stdint.h>

#include "init/host.h"
#include "lib/hostcfg.h"

void services_declare(const struct host_config *cfg, const struct host_state *st);

/* A DHCP client for ifname, added and started now (a link that came
 * after boot). */
int services_add_dhcp(const char *ifname, const char *hostname);

/* A live network change: every DHCP client stops for good, and then runs
 * from the event loop once each has released its lease and cleared its
 * address (or was given 3 s); then services_start_dhcp runs them on st's
 * interfaces. */
void services_stop_dhcp(void (*then)(void), uint64_t now_ms);
void services_start_dhcp(const struct host_state *st);

/* ntpd with host.yaml's servers from now on (restarted with new ones,
 * started, or stopped for good when there are none). */
void services_update_ntp(const struct host_config *cfg, uint64_t now_ms);

#endif
