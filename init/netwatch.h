/* Links that come later: with no interfaces in host.yaml, a wired
 * interface whose link (carrier) comes up after boot, or that appears
 * later (hot-plug), gets its DHCP client then. A netlink socket on the
 * link group, read by the event loop; init never waits for a link. */
#ifndef BERTH_INIT_NETWATCH_H
#define BERTH_INIT_NETWATCH_H

#include <stddef.h>

#include "init/host.h"

/* Starts watching; the interfaces in st->dhcp_ifaces already have DHCP. */
int netwatch_start(const struct host_state *st);

/* After a live network change: st's interfaces have DHCP; links that come
 * get it only when st->dhcp_auto (watching starts then if it had not). */
void netwatch_reset(const struct host_state *st);

/* Until netwatch_reset, links that come get no DHCP: a live network change
 * waits for the old DHCP clients to end, and a new one would outlive them. */
void netwatch_pause(void);

/* One link message out of a netlink datagram, as netwatch reads it. */
struct netwatch_link {
	char name[16];
	unsigned flags; /* IFF_UP, IFF_LOWER_UP, ... */
	unsigned short type;
};

typedef void (*netwatch_fn)(const struct netwatch_link *link, void *ctx);

/* Calls fn for each RTM_NEWLINK in buf (len bytes, untrusted lengths
 * checked); returns the number of links seen. */
int netwatch_parse(const void *buf, size_t len, netwatch_fn fn, void *ctx);

#endif
