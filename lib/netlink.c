/* rtnetlink requests (see netlink.h). One request at a time, each acked. */
#include "netlink.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define NL_BUF 4096

struct nl_req {
	struct nlmsghdr hdr;
	char body[NL_BUF - sizeof(struct nlmsghdr)];
};

int nl_open(struct nl_sock *nl, struct berr *err)
{
	nl->seq = 1;
	nl->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (nl->fd < 0) {
		return berr_set(err, errno, "netlink socket");
	}
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
	if (bind(nl->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(nl->fd);
		nl->fd = -1;
		return berr_set(err, e, "netlink bind");
	}
	return 0;
}

void nl_close(struct nl_sock *nl)
{
	if (nl->fd >= 0) {
		close(nl->fd);
		nl->fd = -1;
	}
}

int nl_ifindex(const char *ifname, struct berr *err)
{
	unsigned idx = if_nametoindex(ifname);
	if (idx == 0) {
		return berr_set(err, errno == 0 ? ENODEV : errno, "network interface %s", ifname);
	}
	return (int)idx;
}

static int add_attr(struct nl_req *req, unsigned short type, const void *data, size_t len)
{
	size_t off = NLMSG_ALIGN(req->hdr.nlmsg_len);
	size_t alen = RTA_LENGTH(len);
	if (off + RTA_ALIGN(alen) > sizeof(*req)) {
		return -ENOBUFS;
	}
	struct rtattr *rta = (struct rtattr *)((char *)req + off);
	rta->rta_type = type;
	rta->rta_len = (unsigned short)alen;
	memcpy(RTA_DATA(rta), data, len);
	req->hdr.nlmsg_len = (unsigned)(off + RTA_ALIGN(alen));
	return 0;
}

/* Sends req and waits for its ack; returns 0 or the kernel's -errno. */
static int transact(struct nl_sock *nl, struct nl_req *req)
{
	req->hdr.nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	req->hdr.nlmsg_seq = ++nl->seq;
	struct sockaddr_nl to = {.nl_family = AF_NETLINK};
	if (sendto(nl->fd, req, req->hdr.nlmsg_len, 0, (struct sockaddr *)&to, sizeof(to)) < 0) {
		return -errno;
	}
	char buf[NL_BUF];
	for (;;) {
		ssize_t n = recv(nl->fd, buf, sizeof(buf), 0);
		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			return -errno;
		}
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (unsigned)n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_seq != nl->seq) {
				continue;
			}
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);
				return e->error;
			}
		}
	}
}

static void link_req(struct nl_req *req, int ifindex)
{
	memset(req, 0, sizeof(*req));
	req->hdr.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
	req->hdr.nlmsg_type = RTM_NEWLINK;
	struct ifinfomsg *ifi = NLMSG_DATA(&req->hdr);
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
}

int nl_link_up(struct nl_sock *nl, const char *ifname, struct berr *err)
{
	int idx = nl_ifindex(ifname, err);
	if (idx < 0) {
		return idx;
	}
	struct nl_req req;
	link_req(&req, idx);
	struct ifinfomsg *ifi = NLMSG_DATA(&req.hdr);
	ifi->ifi_flags = IFF_UP;
	ifi->ifi_change = IFF_UP;
	int ret = transact(nl, &req);
	if (ret < 0) {
		return berr_set(err, -ret, "bring %s up", ifname);
	}
	return 0;
}

int nl_link_set_mtu(struct nl_sock *nl, const char *ifname, int mtu, struct berr *err)
{
	int idx = nl_ifindex(ifname, err);
	if (idx < 0) {
		return idx;
	}
	struct nl_req req;
	link_req(&req, idx);
	unsigned value = (unsigned)mtu;
	add_attr(&req, IFLA_MTU, &value, sizeof(value));
	int ret = transact(nl, &req);
	if (ret < 0) {
		return berr_set(err, -ret, "set the MTU of %s to %d", ifname, mtu);
	}
	return 0;
}

static size_t addr_len(int family)
{
	return family == AF_INET6 ? 16 : 4;
}

int nl_addr_add(struct nl_sock *nl, const char *ifname, int family, const void *addr, int prefix, struct berr *err)
{
	int idx = nl_ifindex(ifname, err);
	if (idx < 0) {
		return idx;
	}
	struct nl_req req;
	memset(&req, 0, sizeof(req));
	req.hdr.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifaddrmsg));
	req.hdr.nlmsg_type = RTM_NEWADDR;
	req.hdr.nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE;
	struct ifaddrmsg *ifa = NLMSG_DATA(&req.hdr);
	ifa->ifa_family = (unsigned char)family;
	ifa->ifa_prefixlen = (unsigned char)prefix;
	ifa->ifa_index = (unsigned)idx;
	add_attr(&req, IFA_LOCAL, addr, addr_len(family));
	add_attr(&req, IFA_ADDRESS, addr, addr_len(family));
	int ret = transact(nl, &req);
	if (ret < 0) {
		char text[INET6_ADDRSTRLEN];
		inet_ntop(family, addr, text, sizeof(text));
		return berr_set(err, -ret, "add address %s/%d to %s", text, prefix, ifname);
	}
	return 0;
}

int nl_route_add(struct nl_sock *nl, const char *ifname, int family, const void *dst, int prefix, const void *gateway,
		 struct berr *err)
{
	int idx = nl_ifindex(ifname, err);
	if (idx < 0) {
		return idx;
	}
	struct nl_req req;
	memset(&req, 0, sizeof(req));
	req.hdr.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg));
	req.hdr.nlmsg_type = RTM_NEWROUTE;
	req.hdr.nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE;
	struct rtmsg *rtm = NLMSG_DATA(&req.hdr);
	rtm->rtm_family = (unsigned char)family;
	rtm->rtm_dst_len = (unsigned char)prefix;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_STATIC;
	rtm->rtm_scope = gateway ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
	rtm->rtm_type = RTN_UNICAST;
	if (prefix > 0) {
		add_attr(&req, RTA_DST, dst, addr_len(family));
	}
	if (gateway != NULL) {
		add_attr(&req, RTA_GATEWAY, gateway, addr_len(family));
	}
	unsigned oif = (unsigned)idx;
	add_attr(&req, RTA_OIF, &oif, sizeof(oif));
	int ret = transact(nl, &req);
	if (ret < 0) {
		char d[INET6_ADDRSTRLEN] = "default";
		char g[INET6_ADDRSTRLEN] = "";
		if (prefix > 0) {
			inet_ntop(family, dst, d, sizeof(d));
		}
		if (gateway != NULL) {
			inet_ntop(family, gateway, g, sizeof(g));
		}
		return berr_set(err, -ret, "add route %s/%d via %s on %s", d, prefix, gateway ? g : "link", ifname);
	}
	return 0;
}
