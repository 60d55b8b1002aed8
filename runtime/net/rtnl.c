/* Container-network rtnetlink requests (see rtnl.h). Each function builds
 * one request with lib/netlink's helpers and sends it with nl_exchange. */
#include "net/rtnl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_link.h>
#include <linux/veth.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "lib/cleanup.h"

/* Fills err with the request's description, the kernel's own words when it
 * gave any, and the errno text. */
__attribute__((format(printf, 4, 5))) static int rtnl_fail(const struct nl_sock *nl, struct berr *err, int ret,
							   const char *fmt, ...)
{
	char what[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (n < 0) {
		what[0] = '\0';
	}
	if (nl->ext_msg[0] != '\0') {
		return berr_set(err, -ret, "%s (kernel: %s)", what, nl->ext_msg);
	}
	return berr_set(err, -ret, "%s", what);
}

/* Sends a request that wants no reply but the kernel's ack; a failure is
 * described by fmt. */
__attribute__((format(printf, 4, 5))) static int rtnl_send(struct nl_sock *nl, struct nl_msg *m, struct berr *err,
							   const char *fmt, ...)
{
	int ret = nl_exchange(nl, m, NULL, NULL);
	if (ret >= 0) {
		return 0;
	}
	char what[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return rtnl_fail(nl, err, ret, "%s", n < 0 ? "" : what);
}

/* The kernel's rules for a link name (dev_valid_name), checked here so that
 * the error can say what is wrong with it. */
static int check_ifname(const char *ifname, struct berr *err)
{
	size_t len = strlen(ifname);
	if (len == 0 || len >= IFNAMSIZ) {
		return berr_setx(err, EINVAL, "network interface name \"%s\": not 1 to %d characters", ifname,
				 IFNAMSIZ - 1);
	}
	if (strcmp(ifname, ".") == 0 || strcmp(ifname, "..") == 0 || strpbrk(ifname, "/: \t\n\r\f\v") != NULL) {
		return berr_setx(err, EINVAL, "network interface name \"%s\": no '/', ':' or spaces allowed", ifname);
	}
	return 0;
}

static uint32_t prefix_mask(int prefix)
{
	return prefix <= 0 ? 0 : htonl(0xffffffffu << (32 - prefix));
}

/* Grows a malloc'd array to hold at least n + 1 elements. */
static int grow(void *arrp, size_t *cap, size_t n, size_t elem)
{
	if (n < *cap) {
		return 0;
	}
	size_t ncap = *cap == 0 ? 16 : *cap * 2;
	if (ncap > SIZE_MAX / elem) {
		return -ENOMEM;
	}
	void *p = realloc(*(void **)arrp, ncap * elem);
	if (p == NULL) {
		return -ENOMEM;
	}
	*(void **)arrp = p;
	*cap = ncap;
	return 0;
}

/* A dump request's results: an array of records of elem bytes, one for
 * each message that parse fills (it returns 1; 0 skips the message). */
struct dump {
	int (*parse)(const struct nlmsghdr *h, void *item);
	size_t elem;
	void *items;
	size_t n;
	size_t cap;
};

static int dump_reply(const struct nlmsghdr *h, void *ctx)
{
	struct dump *d = ctx;
	if (grow(&d->items, &d->cap, d->n, d->elem) < 0) {
		return -ENOMEM;
	}
	if (d->parse(h, (char *)d->items + d->n * d->elem) > 0) {
		d->n++;
	}
	return 0;
}

/* Sends the dump request m and hands its records over in *out and *n. */
static int dump(struct nl_sock *nl, struct nl_msg *m, int (*parse)(const struct nlmsghdr *, void *), size_t elem,
		void *out, size_t *n, const char *what, struct berr *err)
{
	struct dump d = {.parse = parse, .elem = elem};
	int ret = nl_exchange(nl, m, dump_reply, &d);
	if (ret < 0) {
		free(d.items);
		return rtnl_fail(nl, err, ret, "%s", what);
	}
	*(void **)out = d.items;
	*n = d.n;
	return 0;
}

/* ---- links ---- */

/* Parses an RTM_NEWLINK message; 0 when h is something else. */
static int parse_link(const struct nlmsghdr *h, void *item)
{
	struct rtnl_link *l = item;
	if (h->nlmsg_type != RTM_NEWLINK || h->nlmsg_len < NLMSG_LENGTH(sizeof(struct ifinfomsg))) {
		return 0;
	}
	const struct ifinfomsg *ifi = NLMSG_DATA(h);
	memset(l, 0, sizeof(*l));
	l->index = ifi->ifi_index;
	l->flags = ifi->ifi_flags;
	const struct rtattr *tb[IFLA_MAX + 1];
	nl_attr_parse(tb, IFLA_MAX, IFLA_RTA(ifi), h->nlmsg_len - NLMSG_LENGTH(sizeof(*ifi)));
	if (nl_attr_str(tb[IFLA_IFNAME], l->name, sizeof(l->name)) < 0) {
		l->name[0] = '\0';
	}
	const uint32_t *u = nl_attr_data(tb[IFLA_MTU], sizeof(uint32_t));
	if (u != NULL) {
		l->mtu = (int)*u;
	}
	u = nl_attr_data(tb[IFLA_MASTER], sizeof(uint32_t));
	if (u != NULL) {
		l->master = (int)*u;
	}
	const uint8_t *oper = nl_attr_data(tb[IFLA_OPERSTATE], sizeof(uint8_t));
	if (oper != NULL) {
		l->operstate = *oper;
	}
	const uint8_t *mac = nl_attr_data(tb[IFLA_ADDRESS], sizeof(l->mac));
	if (mac != NULL) {
		memcpy(l->mac, mac, sizeof(l->mac));
		l->has_mac = 1;
	}
	if (tb[IFLA_LINKINFO] != NULL) {
		const struct rtattr *info[IFLA_INFO_MAX + 1];
		nl_attr_parse(info, IFLA_INFO_MAX, RTA_DATA(tb[IFLA_LINKINFO]), RTA_PAYLOAD(tb[IFLA_LINKINFO]));
		if (nl_attr_str(info[IFLA_INFO_KIND], l->kind, sizeof(l->kind)) < 0) {
			l->kind[0] = '\0';
		}
	}
	return 1;
}

static int link_get_reply(const struct nlmsghdr *h, void *ctx)
{
	parse_link(h, ctx);
	return 0;
}

int rtnl_link_get(struct nl_sock *nl, const char *ifname, struct rtnl_link *out, struct berr *err)
{
	int ret = check_ifname(ifname, err);
	if (ret < 0) {
		return ret;
	}
	struct nl_msg m;
	nl_msg_init(&m, RTM_GETLINK, 0, sizeof(struct ifinfomsg));
	nl_attr_put_str(&m, IFLA_IFNAME, ifname);
	nl_attr_put_u32(&m, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	memset(out, 0, sizeof(*out));
	ret = nl_exchange(nl, &m, link_get_reply, out);
	if (ret == 0 && out->index <= 0) {
		ret = -ENODEV;
	}
	if (ret < 0) {
		return rtnl_fail(nl, err, ret, "network interface %s", ifname);
	}
	return 0;
}

int rtnl_link_list(struct nl_sock *nl, struct rtnl_link **out, size_t *n, struct berr *err)
{
	struct nl_msg m;
	struct ifinfomsg *ifi = nl_msg_init(&m, RTM_GETLINK, NLM_F_DUMP, sizeof(struct ifinfomsg));
	ifi->ifi_family = AF_UNSPEC;
	nl_attr_put_u32(&m, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	return dump(nl, &m, parse_link, sizeof(**out), out, n, "list network interfaces", err);
}

int rtnl_bridge_add(struct nl_sock *nl, const char *ifname, const uint8_t mac[6], struct berr *err)
{
	int ret = check_ifname(ifname, err);
	if (ret < 0) {
		return ret;
	}
	struct nl_msg m;
	struct ifinfomsg *ifi = nl_msg_init(&m, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, sizeof(struct ifinfomsg));
	ifi->ifi_family = AF_UNSPEC;
	nl_attr_put_str(&m, IFLA_IFNAME, ifname);
	nl_attr_put(&m, IFLA_ADDRESS, mac, 6);
	struct rtattr *info = nl_nest_begin(&m, IFLA_LINKINFO);
	nl_attr_put_str(&m, IFLA_INFO_KIND, "bridge");
	nl_nest_end(&m, info);
	return rtnl_send(nl, &m, err, "create bridge %s", ifname);
}

int rtnl_veth_add(struct nl_sock *nl, const char *ifname, const char *peer, int peer_netns_fd, const uint8_t *peer_mac,
		  int mtu, struct berr *err)
{
	int ret = check_ifname(ifname, err);
	if (ret < 0) {
		return ret;
	}
	ret = check_ifname(peer, err);
	if (ret < 0) {
		return ret;
	}
	struct nl_msg m;
	struct ifinfomsg *ifi = nl_msg_init(&m, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, sizeof(struct ifinfomsg));
	ifi->ifi_family = AF_UNSPEC;
	nl_attr_put_str(&m, IFLA_IFNAME, ifname);
	if (mtu > 0) {
		nl_attr_put_u32(&m, IFLA_MTU, (uint32_t)mtu);
	}
	struct rtattr *info = nl_nest_begin(&m, IFLA_LINKINFO);
	nl_attr_put_str(&m, IFLA_INFO_KIND, "veth");
	struct rtattr *data = nl_nest_begin(&m, IFLA_INFO_DATA);
	/* The peer's attributes follow a family header of its own. */
	struct rtattr *peer_attr = nl_nest_begin(&m, VETH_INFO_PEER);
	struct ifinfomsg peer_ifi = {.ifi_family = AF_UNSPEC};
	nl_msg_append(&m, &peer_ifi, sizeof(peer_ifi));
	nl_attr_put_str(&m, IFLA_IFNAME, peer);
	if (peer_netns_fd >= 0) {
		nl_attr_put_u32(&m, IFLA_NET_NS_FD, (uint32_t)peer_netns_fd);
	}
	if (peer_mac != NULL) {
		nl_attr_put(&m, IFLA_ADDRESS, peer_mac, 6);
	}
	if (mtu > 0) {
		nl_attr_put_u32(&m, IFLA_MTU, (uint32_t)mtu);
	}
	nl_nest_end(&m, peer_attr);
	nl_nest_end(&m, data);
	nl_nest_end(&m, info);
	return rtnl_send(nl, &m, err, "create veth pair %s <-> %s", ifname, peer);
}

int rtnl_link_del(struct nl_sock *nl, const char *ifname, struct berr *err)
{
	int ret = check_ifname(ifname, err);
	if (ret < 0) {
		return ret;
	}
	struct nl_msg m;
	struct ifinfomsg *ifi = nl_msg_init(&m, RTM_DELLINK, 0, sizeof(struct ifinfomsg));
	ifi->ifi_family = AF_UNSPEC;
	nl_attr_put_str(&m, IFLA_IFNAME, ifname);
	return rtnl_send(nl, &m, err, "delete network interface %s", ifname);
}

/* Starts an RTM_NEWLINK that changes the existing link ifname. */
static int link_change(struct nl_sock *nl, struct nl_msg *m, const char *ifname, struct berr *err)
{
	int idx = nl_link_index(nl, ifname, err);
	if (idx < 0) {
		return idx;
	}
	struct ifinfomsg *ifi = nl_msg_init(m, RTM_NEWLINK, 0, sizeof(struct ifinfomsg));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = idx;
	return 0;
}

int rtnl_link_set_master(struct nl_sock *nl, const char *ifname, const char *master, struct berr *err)
{
	int master_idx = 0;
	if (master != NULL) {
		master_idx = nl_link_index(nl, master, err);
		if (master_idx < 0) {
			return master_idx;
		}
	}
	struct nl_msg m;
	int ret = link_change(nl, &m, ifname, err);
	if (ret < 0) {
		return ret;
	}
	nl_attr_put_u32(&m, IFLA_MASTER, (uint32_t)master_idx);
	ret = nl_exchange(nl, &m, NULL, NULL);
	if (ret < 0) {
		if (master == NULL) {
			return rtnl_fail(nl, err, ret, "take %s out of its bridge", ifname);
		}
		return rtnl_fail(nl, err, ret, "put %s into bridge %s", ifname, master);
	}
	return 0;
}

int rtnl_link_set_up(struct nl_sock *nl, const char *ifname, int up, struct berr *err)
{
	struct nl_msg m;
	int ret = link_change(nl, &m, ifname, err);
	if (ret < 0) {
		return ret;
	}
	struct ifinfomsg *ifi = NLMSG_DATA(&m.hdr);
	ifi->ifi_flags = up ? IFF_UP : 0;
	ifi->ifi_change = IFF_UP;
	return rtnl_send(nl, &m, err, "bring %s %s", ifname, up ? "up" : "down");
}

int rtnl_link_rename(struct nl_sock *nl, const char *ifname, const char *newname, struct berr *err)
{
	int ret = check_ifname(newname, err);
	if (ret < 0) {
		return ret;
	}
	struct nl_msg m;
	ret = link_change(nl, &m, ifname, err);
	if (ret < 0) {
		return ret;
	}
	nl_attr_put_str(&m, IFLA_IFNAME, newname);
	return rtnl_send(nl, &m, err, "rename %s to %s", ifname, newname);
}

int rtnl_link_set_mac(struct nl_sock *nl, const char *ifname, const uint8_t mac[6], struct berr *err)
{
	struct nl_msg m;
	int ret = link_change(nl, &m, ifname, err);
	if (ret < 0) {
		return ret;
	}
	nl_attr_put(&m, IFLA_ADDRESS, mac, 6);
	return rtnl_send(nl, &m, err, "set the MAC of %s to %02x:%02x:%02x:%02x:%02x:%02x", ifname, mac[0], mac[1],
			 mac[2], mac[3], mac[4], mac[5]);
}

int rtnl_link_set_netns(struct nl_sock *nl, const char *ifname, int netns_fd, struct berr *err)
{
	struct nl_msg m;
	int ret = link_change(nl, &m, ifname, err);
	if (ret < 0) {
		return ret;
	}
	nl_attr_put_u32(&m, IFLA_NET_NS_FD, (uint32_t)netns_fd);
	return rtnl_send(nl, &m, err, "move %s to another network namespace", ifname);
}

/* ---- IPv4 addresses ---- */

static int addr4_change(struct nl_sock *nl, unsigned short type, unsigned short flags, const char *ifname,
			uint32_t addr, int prefix, struct berr *err)
{
	char text[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &addr, text, sizeof(text));
	if (prefix < 0 || prefix > 32) {
		return berr_setx(err, EINVAL, "address %s/%d on %s: prefix not 0 to 32", text, prefix, ifname);
	}
	int idx = nl_link_index(nl, ifname, err);
	if (idx < 0) {
		return idx;
	}
	struct nl_msg m;
	struct ifaddrmsg *ifa = nl_msg_init(&m, type, flags, sizeof(struct ifaddrmsg));
	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = (unsigned char)prefix;
	ifa->ifa_index = (unsigned)idx;
	nl_attr_put(&m, IFA_LOCAL, &addr, sizeof(addr));
	nl_attr_put(&m, IFA_ADDRESS, &addr, sizeof(addr));
	/* /31 and /32 have no broadcast address (RFC 3021). */
	if (type == RTM_NEWADDR && prefix <= 30) {
		uint32_t brd = addr | ~prefix_mask(prefix);
		nl_attr_put(&m, IFA_BROADCAST, &brd, sizeof(brd));
	}
	return rtnl_send(nl, &m, err, "%s address %s/%d %s %s", type == RTM_NEWADDR ? "add" : "delete", text, prefix,
			 type == RTM_NEWADDR ? "to" : "from", ifname);
}

int rtnl_addr4_add(struct nl_sock *nl, const char *ifname, uint32_t addr, int prefix, struct berr *err)
{
	return addr4_change(nl, RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE, ifname, addr, prefix, err);
}

int rtnl_addr4_del(struct nl_sock *nl, const char *ifname, uint32_t addr, int prefix, struct berr *err)
{
	return addr4_change(nl, RTM_DELADDR, 0, ifname, addr, prefix, err);
}

static int parse_addr4(const struct nlmsghdr *h, void *item)
{
	if (h->nlmsg_type != RTM_NEWADDR || h->nlmsg_len < NLMSG_LENGTH(sizeof(struct ifaddrmsg))) {
		return 0;
	}
	const struct ifaddrmsg *ifa = NLMSG_DATA(h);
	if (ifa->ifa_family != AF_INET) {
		return 0;
	}
	const struct rtattr *tb[IFA_MAX + 1];
	nl_attr_parse(tb, IFA_MAX, IFA_RTA(ifa), h->nlmsg_len - NLMSG_LENGTH(sizeof(*ifa)));
	/* IFA_ADDRESS is the peer on point-to-point links; IFA_LOCAL is ours. */
	const uint32_t *a = nl_attr_data(tb[IFA_LOCAL], sizeof(uint32_t));
	if (a == NULL) {
		a = nl_attr_data(tb[IFA_ADDRESS], sizeof(uint32_t));
	}
	if (a == NULL) {
		return 0;
	}
	struct rtnl_addr4 *out = item;
	memset(out, 0, sizeof(*out));
	out->index = (int)ifa->ifa_index;
	out->addr = *a;
	out->prefix = ifa->ifa_prefixlen;
	if (nl_attr_str(tb[IFA_LABEL], out->label, sizeof(out->label)) < 0) {
		out->label[0] = '\0';
	}
	return 1;
}

int rtnl_addr4_list(struct nl_sock *nl, struct rtnl_addr4 **out, size_t *n, struct berr *err)
{
	struct nl_msg m;
	struct ifaddrmsg *ifa = nl_msg_init(&m, RTM_GETADDR, NLM_F_DUMP, sizeof(struct ifaddrmsg));
	ifa->ifa_family = AF_INET;
	return dump(nl, &m, parse_addr4, sizeof(**out), out, n, "list IPv4 addresses", err);
}

/* ---- IPv4 routes ---- */

static int parse_route4(const struct nlmsghdr *h, void *item)
{
	if (h->nlmsg_type != RTM_NEWROUTE || h->nlmsg_len < NLMSG_LENGTH(sizeof(struct rtmsg))) {
		return 0;
	}
	const struct rtmsg *rtm = NLMSG_DATA(h);
	if (rtm->rtm_family != AF_INET || rtm->rtm_dst_len > 32) {
		return 0;
	}
	const struct rtattr *tb[RTA_MAX + 1];
	nl_attr_parse(tb, RTA_MAX, RTM_RTA(rtm), h->nlmsg_len - NLMSG_LENGTH(sizeof(*rtm)));
	struct rtnl_route4 *r = item;
	memset(r, 0, sizeof(*r));
	r->prefix = rtm->rtm_dst_len;
	r->type = rtm->rtm_type;
	r->table = rtm->rtm_table;
	const uint32_t *u = nl_attr_data(tb[RTA_DST], sizeof(uint32_t));
	if (u != NULL) {
		r->dst = *u;
	}
	u = nl_attr_data(tb[RTA_GATEWAY], sizeof(uint32_t));
	if (u != NULL) {
		r->gateway = *u;
	}
	u = nl_attr_data(tb[RTA_OIF], sizeof(uint32_t));
	if (u != NULL) {
		r->oif = (int)*u;
	}
	/* Tables above 255 only fit in the attribute. */
	u = nl_attr_data(tb[RTA_TABLE], sizeof(uint32_t));
	if (u != NULL) {
		r->table = *u;
	}
	return 1;
}

int rtnl_route4_list(struct nl_sock *nl, struct rtnl_route4 **out, size_t *n, struct berr *err)
{
	struct nl_msg m;
	struct rtmsg *rtm = nl_msg_init(&m, RTM_GETROUTE, NLM_F_DUMP, sizeof(struct rtmsg));
	rtm->rtm_family = AF_INET;
	return dump(nl, &m, parse_route4, sizeof(**out), out, n, "list IPv4 routes", err);
}
