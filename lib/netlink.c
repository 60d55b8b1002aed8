/* rtnetlink requests (see netlink.h). One request at a time, each acked. */
#include "lib/netlink.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/cleanup.h"

/* The kernel sizes dump messages after the reader's buffer, up to 32 KiB;
 * with this buffer no single message is ever cut. */
#define NL_RECV_SIZE 32768

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

int nl_open(struct nl_sock *nl, struct berr *err)
{
	nl->seq = 1;
	nl->ext_msg[0] = '\0';
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
	/* Both are optional comforts (kernels before 4.12 lack extended
	 * acks): errors then carry the kernel's reason, and an error does not
	 * echo the whole request back. */
	int one = 1;
	(void)setsockopt(nl->fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	(void)setsockopt(nl->fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
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

/* ---- message building ---- */

void *nl_msg_init(struct nl_msg *m, unsigned short type, unsigned short flags, size_t hdrlen)
{
	memset(m, 0, sizeof(*m));
	m->hdr.nlmsg_type = type;
	m->hdr.nlmsg_flags = flags;
	m->hdr.nlmsg_len = NLMSG_LENGTH(hdrlen);
	if (m->hdr.nlmsg_len > NL_MSG_SIZE) {
		m->truncated = 1;
		m->hdr.nlmsg_len = NLMSG_HDRLEN;
	}
	return NLMSG_DATA(&m->hdr);
}

/* Reserves len bytes (aligned) at the end of m; NULL when they do not fit,
 * which marks m truncated. */
static void *msg_reserve(struct nl_msg *m, size_t len)
{
	size_t off = NLMSG_ALIGN(m->hdr.nlmsg_len);
	if (m->truncated || len > NL_MSG_SIZE || off + NLMSG_ALIGN(len) > NL_MSG_SIZE) {
		m->truncated = 1;
		return NULL;
	}
	char *p = (char *)&m->hdr + off;
	memset(p, 0, NLMSG_ALIGN(len));
	m->hdr.nlmsg_len = (unsigned)(off + NLMSG_ALIGN(len));
	return p;
}

void nl_attr_put(struct nl_msg *m, unsigned short type, const void *data, size_t len)
{
	struct rtattr *rta = msg_reserve(m, RTA_LENGTH(len));
	if (rta == NULL) {
		return;
	}
	rta->rta_type = type;
	rta->rta_len = (unsigned short)RTA_LENGTH(len);
	if (len > 0) {
		memcpy(RTA_DATA(rta), data, len);
	}
}

void nl_attr_put_u32(struct nl_msg *m, unsigned short type, uint32_t value)
{
	nl_attr_put(m, type, &value, sizeof(value));
}

void nl_attr_put_str(struct nl_msg *m, unsigned short type, const char *s)
{
	nl_attr_put(m, type, s, strlen(s) + 1);
}

struct rtattr *nl_nest_begin(struct nl_msg *m, unsigned short type)
{
	struct rtattr *rta = msg_reserve(m, RTA_LENGTH(0));
	if (rta != NULL) {
		rta->rta_type = type;
	}
	return rta;
}

void nl_nest_end(struct nl_msg *m, struct rtattr *nest)
{
	if (nest == NULL || m->truncated) {
		return;
	}
	size_t len = (size_t)((char *)&m->hdr + m->hdr.nlmsg_len - (char *)nest);
	if (len > 0xffff) {
		m->truncated = 1;
		return;
	}
	nest->rta_len = (unsigned short)len;
}

void nl_msg_append(struct nl_msg *m, const void *data, size_t len)
{
	void *p = msg_reserve(m, len);
	if (p != NULL && len > 0) {
		memcpy(p, data, len);
	}
}

/* ---- attribute parsing ---- */

void nl_attr_parse(const struct rtattr *tb[], int max, const struct rtattr *rta, size_t len)
{
	memset(tb, 0, sizeof(*tb) * (size_t)(max + 1));
	const char *p = (const char *)rta;
	while (len >= sizeof(struct rtattr)) {
		const struct rtattr *a = (const struct rtattr *)p;
		if (a->rta_len < sizeof(struct rtattr) || a->rta_len > len) {
			break;
		}
		unsigned short type = a->rta_type & NLA_TYPE_MASK;
		if (type <= max) {
			tb[type] = a;
		}
		size_t step = RTA_ALIGN(a->rta_len);
		if (step >= len) {
			break;
		}
		p += step;
		len -= step;
	}
}

const void *nl_attr_data(const struct rtattr *a, size_t len)
{
	if (a == NULL || RTA_PAYLOAD(a) != len) {
		return NULL;
	}
	return RTA_DATA(a);
}

int nl_attr_str(const struct rtattr *a, char *dst, size_t size)
{
	if (a == NULL || size == 0) {
		return -EINVAL;
	}
	size_t len = RTA_PAYLOAD(a);
	const char *s = RTA_DATA(a);
	size_t n = strnlen(s, len);
	if (n == len || n >= size) {
		return -EINVAL;
	}
	memcpy(dst, s, n + 1);
	return 0;
}

/* ---- the exchange ---- */

/* Keeps the kernel's extended-ack message of an NLMSG_ERROR, if any. */
static void keep_ext_msg(struct nl_sock *nl, const struct nlmsghdr *h)
{
	if (!(h->nlmsg_flags & NLM_F_ACK_TLVS)) {
		return;
	}
	if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct nlmsgerr))) {
		return;
	}
	const struct nlmsgerr *e = NLMSG_DATA(h);
	size_t off = NLMSG_HDRLEN + sizeof(*e);
	if (!(h->nlmsg_flags & NLM_F_CAPPED)) {
		/* The whole request is echoed back before the TLVs. */
		if (e->msg.nlmsg_len < sizeof(struct nlmsghdr)) {
			return;
		}
		off = NLMSG_HDRLEN + sizeof(int) + NLMSG_ALIGN(e->msg.nlmsg_len);
	}
	if (off >= h->nlmsg_len) {
		return;
	}
	const struct rtattr *tb[NLMSGERR_ATTR_MAX + 1];
	nl_attr_parse(tb, NLMSGERR_ATTR_MAX, (const struct rtattr *)((const char *)h + off), h->nlmsg_len - off);
	if (nl_attr_str(tb[NLMSGERR_ATTR_MSG], nl->ext_msg, sizeof(nl->ext_msg)) < 0) {
		nl->ext_msg[0] = '\0';
	}
}

int nl_exchange(struct nl_sock *nl, struct nl_msg *m, nl_reply_fn fn, void *ctx)
{
	nl->ext_msg[0] = '\0';
	if (m->truncated) {
		return -ENOBUFS;
	}
	m->hdr.nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	m->hdr.nlmsg_seq = ++nl->seq;
	struct sockaddr_nl to = {.nl_family = AF_NETLINK};
	if (sendto(nl->fd, &m->hdr, m->hdr.nlmsg_len, 0, (struct sockaddr *)&to, sizeof(to)) < 0) {
		return -errno;
	}
	auto_free char *buf = malloc(NL_RECV_SIZE);
	if (buf == NULL) {
		return -ENOMEM;
	}
	int ret = 0;
	for (;;) {
		/* MSG_TRUNC makes netlink return the message's real length. */
		ssize_t n = recv(nl->fd, buf, NL_RECV_SIZE, MSG_TRUNC);
		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			return -errno;
		}
		if (n > NL_RECV_SIZE) {
			return -EMSGSIZE;
		}
		/* Each message's length is checked against what is left before
		 * it is read; the last one may be shorter than its alignment. */
		size_t off = 0;
		while ((size_t)n - off >= sizeof(struct nlmsghdr)) {
			const struct nlmsghdr *h = (const struct nlmsghdr *)(buf + off);
			if (h->nlmsg_len < sizeof(struct nlmsghdr) || h->nlmsg_len > (size_t)n - off) {
				return -EPROTO;
			}
			off += NLMSG_ALIGN(h->nlmsg_len);
			if (off > (size_t)n) {
				off = (size_t)n;
			}
			if (h->nlmsg_seq != nl->seq) {
				continue;
			}
			if (h->nlmsg_type == NLMSG_ERROR) {
				if (h->nlmsg_len < NLMSG_LENGTH(sizeof(int))) {
					return -EPROTO;
				}
				const struct nlmsgerr *e = NLMSG_DATA(h);
				if (e->error != 0) {
					keep_ext_msg(nl, h);
					return e->error;
				}
				return ret;
			}
			if (h->nlmsg_type == NLMSG_DONE) {
				/* A dump that failed midway says so here. */
				if (h->nlmsg_len >= NLMSG_LENGTH(sizeof(int))) {
					int status = *(const int *)NLMSG_DATA(h);
					if (status < 0 && ret == 0) {
						ret = status;
					}
				}
				return ret;
			}
			if (h->nlmsg_type < NLMSG_MIN_TYPE) {
				continue;
			}
			if (fn != NULL && ret == 0) {
				int r = fn(h, ctx);
				if (r < 0) {
					ret = r;
				}
			}
		}
	}
}

/* ---- requests ---- */

static int link_index_reply(const struct nlmsghdr *h, void *ctx)
{
	if (h->nlmsg_type != RTM_NEWLINK || h->nlmsg_len < NLMSG_LENGTH(sizeof(struct ifinfomsg))) {
		return 0;
	}
	const struct ifinfomsg *ifi = NLMSG_DATA(h);
	*(int *)ctx = ifi->ifi_index;
	return 0;
}

int nl_link_index(struct nl_sock *nl, const char *ifname, struct berr *err)
{
	if (strlen(ifname) >= IFNAMSIZ || ifname[0] == '\0') {
		return berr_setx(err, EINVAL, "network interface name \"%s\": not 1 to %d characters", ifname,
				 IFNAMSIZ - 1);
	}
	struct nl_msg m;
	nl_msg_init(&m, RTM_GETLINK, 0, sizeof(struct ifinfomsg));
	nl_attr_put_str(&m, IFLA_IFNAME, ifname);
	nl_attr_put_u32(&m, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	int idx = 0;
	int ret = nl_exchange(nl, &m, link_index_reply, &idx);
	if (ret == 0 && idx <= 0) {
		ret = -ENODEV;
	}
	if (ret < 0) {
		return berr_set(err, -ret, "network interface %s", ifname);
	}
	return idx;
}

static void link_req(struct nl_msg *m, int ifindex)
{
	struct ifinfomsg *ifi = nl_msg_init(m, RTM_NEWLINK, 0, sizeof(struct ifinfomsg));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
}

int nl_link_up(struct nl_sock *nl, const char *ifname, struct berr *err)
{
	int idx = nl_link_index(nl, ifname, err);
	if (idx < 0) {
		return idx;
	}
	struct nl_msg m;
	link_req(&m, idx);
	struct ifinfomsg *ifi = NLMSG_DATA(&m.hdr);
	ifi->ifi_flags = IFF_UP;
	ifi->ifi_change = IFF_UP;
	int ret = nl_exchange(nl, &m, NULL, NULL);
	if (ret < 0) {
		return berr_set(err, -ret, "bring %s up", ifname);
	}
	return 0;
}

int nl_link_set_mtu(struct nl_sock *nl, const char *ifname, int mtu, struct berr *err)
{
	int idx = nl_link_index(nl, ifname, err);
	if (idx < 0) {
		return idx;
	}
	struct nl_msg m;
	link_req(&m, idx);
	nl_attr_put_u32(&m, IFLA_MTU, (uint32_t)mtu);
	int ret = nl_exchange(nl, &m, NULL, NULL);
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
	int idx = nl_link_index(nl, ifname, err);
	if (idx < 0) {
		return idx;
	}
	struct nl_msg m;
	struct ifaddrmsg *ifa = nl_msg_init(&m, RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE, sizeof(struct ifaddrmsg));
	ifa->ifa_family = (unsigned char)family;
	ifa->ifa_prefixlen = (unsigned char)prefix;
	ifa->ifa_index = (unsigned)idx;
	nl_attr_put(&m, IFA_LOCAL, addr, addr_len(family));
	nl_attr_put(&m, IFA_ADDRESS, addr, addr_len(family));
	int ret = nl_exchange(nl, &m, NULL, NULL);
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
	int idx = nl_link_index(nl, ifname, err);
	if (idx < 0) {
		return idx;
	}
	struct nl_msg m;
	struct rtmsg *rtm = nl_msg_init(&m, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, sizeof(struct rtmsg));
	rtm->rtm_family = (unsigned char)family;
	rtm->rtm_dst_len = (unsigned char)prefix;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_STATIC;
	rtm->rtm_scope = gateway ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
	rtm->rtm_type = RTN_UNICAST;
	if (prefix > 0) {
		nl_attr_put(&m, RTA_DST, dst, addr_len(family));
	}
	if (gateway != NULL) {
		nl_attr_put(&m, RTA_GATEWAY, gateway, addr_len(family));
	}
	nl_attr_put_u32(&m, RTA_OIF, (uint32_t)idx);
	int ret = nl_exchange(nl, &m, NULL, NULL);
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

/* ---- flushing a link ---- */

#define FLUSH_MAX 64

struct flush_item {
	int is_route;
	union {
		struct ifaddrmsg ifa;
		struct rtmsg rtm;
	} h;
	unsigned char addr[16]; /* the address, or the route's destination */
	unsigned char via[16];
	int has_addr;
	int has_via;
};

struct flush_list {
	int index;
	size_t n;
	struct flush_item items[FLUSH_MAX];
};

static void copy_attr(const struct rtattr *a, unsigned char out[16], int *has)
{
	size_t len = a != NULL ? RTA_PAYLOAD(a) : 0;
	if (len == 4 || len == 16) {
		memcpy(out, RTA_DATA(a), len);
		*has = 1;
	}
}

static int collect_addr(const struct nlmsghdr *h, void *ctx)
{
	struct flush_list *l = ctx;
	const struct ifaddrmsg *ifa = NLMSG_DATA(h);
	if (h->nlmsg_type != RTM_NEWADDR || h->nlmsg_len < NLMSG_LENGTH(sizeof(*ifa)) ||
	    (int)ifa->ifa_index != l->index || ifa->ifa_scope != RT_SCOPE_UNIVERSE || l->n == FLUSH_MAX) {
		return 0;
	}
	const struct rtattr *tb[IFA_MAX + 1];
	nl_attr_parse(tb, IFA_MAX, IFA_RTA(ifa), h->nlmsg_len - NLMSG_LENGTH(sizeof(*ifa)));
	struct flush_item *it = &l->items[l->n];
	memset(it, 0, sizeof(*it));
	it->h.ifa = *ifa;
	copy_attr(tb[IFA_LOCAL] != NULL ? tb[IFA_LOCAL] : tb[IFA_ADDRESS], it->addr, &it->has_addr);
	l->n += it->has_addr;
	return 0;
}

static int collect_route(const struct nlmsghdr *h, void *ctx)
{
	struct flush_list *l = ctx;
	const struct rtmsg *rtm = NLMSG_DATA(h);
	if (h->nlmsg_type != RTM_NEWROUTE || h->nlmsg_len < NLMSG_LENGTH(sizeof(*rtm)) ||
	    rtm->rtm_table != RT_TABLE_MAIN || rtm->rtm_protocol == RTPROT_KERNEL || l->n == FLUSH_MAX) {
		return 0;
	}
	const struct rtattr *tb[RTA_MAX + 1];
	nl_attr_parse(tb, RTA_MAX, RTM_RTA(rtm), h->nlmsg_len - NLMSG_LENGTH(sizeof(*rtm)));
	const uint32_t *oif = nl_attr_data(tb[RTA_OIF], sizeof(uint32_t));
	if (oif == NULL || (int)*oif != l->index) {
		return 0;
	}
	struct flush_item *it = &l->items[l->n++];
	memset(it, 0, sizeof(*it));
	it->is_route = 1;
	it->h.rtm = *rtm;
	copy_attr(tb[RTA_DST], it->addr, &it->has_addr);
	copy_attr(tb[RTA_GATEWAY], it->via, &it->has_via);
	return 0;
}

static int dump(struct nl_sock *nl, unsigned short type, size_t hdrlen, nl_reply_fn fn, struct flush_list *l)
{
	struct nl_msg m;
	unsigned char *family = nl_msg_init(&m, type, NLM_F_DUMP, hdrlen);
	*family = AF_UNSPEC; /* the first byte of ifaddrmsg and rtmsg alike */
	return nl_exchange(nl, &m, fn, l);
}

static int flush_one(struct nl_sock *nl, int index, const struct flush_item *it)
{
	struct nl_msg m;
	if (it->is_route) {
		struct rtmsg *rtm = nl_msg_init(&m, RTM_DELROUTE, 0, sizeof(struct rtmsg));
		*rtm = it->h.rtm;
		size_t len = addr_len(rtm->rtm_family);
		if (it->has_addr) {
			nl_attr_put(&m, RTA_DST, it->addr, len);
		}
		if (it->has_via) {
			nl_attr_put(&m, RTA_GATEWAY, it->via, len);
		}
		nl_attr_put_u32(&m, RTA_OIF, (uint32_t)index);
	} else {
		struct ifaddrmsg *ifa = nl_msg_init(&m, RTM_DELADDR, 0, sizeof(struct ifaddrmsg));
		*ifa = it->h.ifa;
		nl_attr_put(&m, IFA_LOCAL, it->addr, addr_len(ifa->ifa_family));
	}
	int ret = nl_exchange(nl, &m, NULL, NULL);
	/* Gone already: removing an address takes the routes that used it. */
	return ret == -ESRCH || ret == -EADDRNOTAVAIL || ret == -ENOENT ? 0 : ret;
}

int nl_flush_iface(struct nl_sock *nl, const char *ifname, struct berr *err)
{
	int idx = nl_link_index(nl, ifname, err);
	if (idx < 0) {
		return idx;
	}
	struct flush_list l = {.index = idx};
	int ret = dump(nl, RTM_GETROUTE, sizeof(struct rtmsg), collect_route, &l);
	if (ret == 0) {
		ret = dump(nl, RTM_GETADDR, sizeof(struct ifaddrmsg), collect_addr, &l);
	}
	for (size_t i = 0; ret == 0 && i < l.n; i++) {
		ret = flush_one(nl, idx, &l.items[i]);
	}
	if (ret < 0) {
		return berr_set(err, -ret, "clear the addresses and routes of %s", ifname);
	}
	return 0;
}
