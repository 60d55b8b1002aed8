/* Links that come later (see netwatch.h). Runs in PID 1's event loop: a
 * handler reads what is queued and returns. */
#include "init/netwatch.h"

#include <errno.h>
#include <linux/if.h>
#include <linux/if_arp.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "init/loop.h"
#include "init/services.h"
#include "lib/berr.h"
#include "lib/fsutil.h"
#include "lib/log.h"
#include "lib/netlink.h"

static struct watch link_watch = {.fd = -1};
/* Links get DHCP as they come only while host.yaml names no interface. */
static int active;
static char hostname[64];
static char dhcp[HOST_MAX_DHCP][16];
static size_t ndhcp;
/* Interfaces init has brought up itself: each once, so that one an
 * operator took down stays down. */
static char raised[32][16];
static size_t nraised;

int netwatch_parse(const void *buf, size_t len, netwatch_fn fn, void *ctx)
{
	int seen = 0;
	const struct nlmsghdr *h = buf;
	for (; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
		if (h->nlmsg_type != RTM_NEWLINK || h->nlmsg_len < NLMSG_LENGTH(sizeof(struct ifinfomsg))) {
			continue;
		}
		const struct ifinfomsg *ifi = NLMSG_DATA(h);
		const struct rtattr *tb[IFLA_MAX + 1];
		nl_attr_parse(tb, IFLA_MAX, IFLA_RTA(ifi), h->nlmsg_len - NLMSG_LENGTH(sizeof(*ifi)));
		struct netwatch_link link = {.flags = ifi->ifi_flags, .type = ifi->ifi_type};
		if (nl_attr_str(tb[IFLA_IFNAME], link.name, sizeof(link.name)) < 0) {
			continue;
		}
		fn(&link, ctx);
		seen++;
	}
	return seen;
}

static int listed(char (*names)[16], size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(names[i], name) == 0) {
			return 1;
		}
	}
	return 0;
}

static void consider(const char *name, unsigned flags)
{
	unsigned char mac[6];
	if (!active || listed(dhcp, ndhcp, name) || !host_is_ether(name, mac)) {
		return;
	}
	if (!(flags & IFF_UP)) {
		if (listed(raised, nraised, name) || nraised == 32) {
			return;
		}
		snprintf(raised[nraised++], sizeof(raised[0]), "%s", name);
		struct nl_sock nl;
		struct berr err;
		if (nl_open(&nl, &err) < 0 || nl_link_up(&nl, name, &err) < 0) {
			blog_err("network: %s", err.msg);
		} else {
			blog_info("network: %s appeared; up, DHCP when it has a link", name);
		}
		nl_close(&nl);
		return;
	}
	if (!(flags & IFF_LOWER_UP)) {
		return;
	}
	if (ndhcp == HOST_MAX_DHCP) {
		blog_warn("network: %s has a link, but %d interfaces already have DHCP", name, HOST_MAX_DHCP);
		return;
	}
	snprintf(dhcp[ndhcp++], sizeof(dhcp[0]), "%s", name);
	blog_info("network: %s has a link; starting DHCP on it", name);
	services_add_dhcp(name, hostname);
}

static void on_link(const struct netwatch_link *link, void *ctx)
{
	(void)ctx;
	if (link->type == ARPHRD_ETHER) {
		consider(link->name, link->flags);
	}
}

/* Everything as it is now: for the start, and after the socket overflowed
 * (the kernel dropped messages: container start-ups make many links). */
static void rescan(void)
{
	struct host_ether ethers[32];
	size_t n = host_list_ethers(ethers, 32);
	for (size_t i = 0; i < n; i++) {
		unsigned flags = IFF_UP | (host_has_carrier(ethers[i].name) ? IFF_LOWER_UP : 0);
		char path[300];
		char text[32];
		snprintf(path, sizeof(path), "/sys/class/net/%s/flags", ethers[i].name);
		if (read_file(path, text, sizeof(text), NULL) > 0 && !(strtoul(text, NULL, 16) & IFF_UP)) {
			flags = 0;
		}
		consider(ethers[i].name, flags);
	}
}

static void on_ready(struct watch *w, uint32_t events)
{
	(void)events;
	char buf[16384];
	for (;;) {
		ssize_t n = recv(w->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n < 0 && errno == ENOBUFS) {
			rescan();
			continue;
		}
		if (n <= 0) {
			return;
		}
		netwatch_parse(buf, (size_t)n, on_link, NULL);
	}
}

static void take_state(const struct host_state *st)
{
	snprintf(hostname, sizeof(hostname), "%s", st->hostname);
	ndhcp = 0;
	for (size_t i = 0; i < st->ndhcp && i < HOST_MAX_DHCP; i++) {
		snprintf(dhcp[ndhcp++], sizeof(dhcp[0]), "%s", st->dhcp_ifaces[i]);
	}
	active = st->dhcp_auto;
}

void netwatch_reset(const struct host_state *st)
{
	take_state(st);
	if (active && link_watch.fd < 0) {
		netwatch_start(st);
	} else if (active) {
		rescan();
	}
}

void netwatch_pause(void)
{
	active = 0;
}

int netwatch_start(const struct host_state *st)
{
	take_state(st);
	/* host_apply brought every wired interface up already. */
	struct host_ether ethers[32];
	size_t n = host_list_ethers(ethers, 32);
	for (size_t i = 0; i < n && nraised < 32; i++) {
		memcpy(raised[nraised++], ethers[i].name, sizeof(raised[0]));
	}
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
	if (fd < 0) {
		blog_err("network: cannot watch links (%s): DHCP only on the interfaces that had a link at boot",
			 strerror(errno));
		return -errno;
	}
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK, .nl_groups = RTMGRP_LINK};
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(fd);
		blog_err("network: cannot watch links (%s): DHCP only on the interfaces that had a link at boot",
			 strerror(e));
		return -e;
	}
	link_watch.fd = fd;
	link_watch.ready = on_ready;
	if (loop_add(&link_watch) < 0) {
		close(fd);
		link_watch.fd = -1;
		return -EIO;
	}
	/* After subscribing: a link that came meanwhile is either in this
	 * scan or in the socket. */
	rescan();
	return 0;
}
