/* The table ip berth (see nft.h): encodes the description as nf_tables
 * netlink messages (with lib/netlink's message helpers) in one batch,
 * sends it over a NETLINK_NETFILTER socket and reads back what the kernel
 * refused. No libnftnl: the messages are simple enough to write by hand,
 * and one static binary stays small. Never touches a table other than
 * ip berth. */
#include "net/nft.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/fsutil.h"
#include "lib/netlink.h"

#define CHAIN_PUBLISH "publish"
#define CHAIN_PREROUTING "prerouting"
#define CHAIN_OUTPUT "output"
#define CHAIN_POSTROUTING "postrouting"
#define CHAIN_FORWARD "forward"
#define CHAIN_INPUT "input"

/* Priorities of iptables' nat and filter tables (nft's dstnat, srcnat and
 * filter), so that Berth's rules sort where Docker users expect them. */
#define PRIO_DSTNAT (-100)
#define PRIO_SRCNAT 100
#define PRIO_FILTER 0

/* The kernel answers within the sendmsg call; this only bounds a wait for
 * an answer that never comes, which would otherwise hang berthd. */
#define NFT_RECV_TIMEOUT_S 5

/* The libnftnl user-data tag of a rule comment, so that `nft list` shows
 * what each rule is for. */
#define UDATA_RULE_COMMENT 0

/* ---- messages ------------------------------------------------------------ */

/* What a batch message is, for naming the one the kernel refuses. */
struct msg_desc {
	uint32_t seq;
	char what[112];
};

/* Each message is built with lib/netlink's helpers in one struct nl_msg
 * (nf_tables messages are small), then appended to the batch: a growing
 * buffer, since a batch holds every rule of the table. The first failure
 * (no memory, a message too large) sticks in err, so that builders check
 * once, at the end. */
struct builder {
	uint8_t *data;
	size_t len;
	size_t cap;
	int err; /* negative errno, sticky */
	uint32_t seq;
	struct nl_msg m;	/* the message being built */
	struct msg_desc *descs; /* what each message is (nft_apply only) */
	size_t ndescs;
	size_t capdescs;
	int record;
};

static uint16_t nft_type(int msg)
{
	return (uint16_t)((NFNL_SUBSYS_NFTABLES << 8) | msg);
}

/* Starts the next message, with its nfgenmsg header. */
static struct nl_msg *msg_begin(struct builder *bd, uint16_t type, uint16_t flags, uint8_t family, uint16_t res_id)
{
	struct nfgenmsg *g = nl_msg_init(&bd->m, type, (uint16_t)(NLM_F_REQUEST | flags), sizeof(*g));
	g->nfgen_family = family;
	g->version = NFNETLINK_V0;
	g->res_id = htons(res_id);
	bd->m.hdr.nlmsg_seq = ++bd->seq;
	return &bd->m;
}

static void msg_end(struct builder *bd)
{
	if (bd->err < 0) {
		return;
	}
	if (bd->m.truncated) {
		bd->err = -E2BIG;
		return;
	}
	size_t n = NLMSG_ALIGN(bd->m.hdr.nlmsg_len);
	if (bd->len + n > bd->cap) {
		size_t cap = bd->cap != 0 ? bd->cap : 16384;
		while (cap < bd->len + n) {
			cap *= 2;
		}
		uint8_t *p = realloc(bd->data, cap);
		if (p == NULL) {
			bd->err = -ENOMEM;
			return;
		}
		bd->data = p;
		bd->cap = cap;
	}
	memset(bd->data + bd->len, 0, n);
	memcpy(bd->data + bd->len, &bd->m.hdr, bd->m.hdr.nlmsg_len);
	bd->len += n;
}

static void attr_be32(struct nl_msg *m, uint16_t type, uint32_t v)
{
	uint32_t be = htonl(v);
	nl_attr_put(m, type, &be, sizeof(be));
}

/* nf_tables nests say so (NLA_F_NESTED), as libnftnl's do. */
static struct rtattr *nest_begin(struct nl_msg *m, uint16_t type)
{
	return nl_nest_begin(m, (unsigned short)(type | NLA_F_NESTED));
}

/* ---- expressions -------------------------------------------------------- */

struct expr {
	struct rtattr *elem;
	struct rtattr *data;
};

static struct expr expr_begin(struct nl_msg *m, const char *name)
{
	struct expr e;
	e.elem = nest_begin(m, NFTA_LIST_ELEM);
	nl_attr_put_str(m, NFTA_EXPR_NAME, name);
	e.data = nest_begin(m, NFTA_EXPR_DATA);
	return e;
}

static void expr_end(struct nl_msg *m, struct expr e)
{
	nl_nest_end(m, e.data);
	nl_nest_end(m, e.elem);
}

/* An NFTA_DATA_VALUE nested in attribute type (cmp data, bitwise masks,
 * immediates). */
static void data_value(struct nl_msg *m, uint16_t type, const void *v, size_t len)
{
	struct rtattr *n = nest_begin(m, type);
	nl_attr_put(m, NFTA_DATA_VALUE, v, len);
	nl_nest_end(m, n);
}

static void e_payload(struct nl_msg *m, uint32_t base, uint32_t offset, uint32_t len)
{
	struct expr e = expr_begin(m, "payload");
	attr_be32(m, NFTA_PAYLOAD_DREG, NFT_REG_1);
	attr_be32(m, NFTA_PAYLOAD_BASE, base);
	attr_be32(m, NFTA_PAYLOAD_OFFSET, offset);
	attr_be32(m, NFTA_PAYLOAD_LEN, len);
	expr_end(m, e);
}

static void e_meta(struct nl_msg *m, uint32_t key)
{
	struct expr e = expr_begin(m, "meta");
	attr_be32(m, NFTA_META_DREG, NFT_REG_1);
	attr_be32(m, NFTA_META_KEY, key);
	expr_end(m, e);
}

static void e_ct(struct nl_msg *m, uint32_t key)
{
	struct expr e = expr_begin(m, "ct");
	attr_be32(m, NFTA_CT_DREG, NFT_REG_1);
	attr_be32(m, NFTA_CT_KEY, key);
	expr_end(m, e);
}

static void e_cmp(struct nl_msg *m, uint32_t op, const void *v, size_t len)
{
	struct expr e = expr_begin(m, "cmp");
	attr_be32(m, NFTA_CMP_SREG, NFT_REG_1);
	attr_be32(m, NFTA_CMP_OP, op);
	data_value(m, NFTA_CMP_DATA, v, len);
	expr_end(m, e);
}

/* reg1 = reg1 & mask (xor 0): the kernel's only way to test some bits. */
static void e_and(struct nl_msg *m, const void *mask, size_t len)
{
	static const uint8_t zero[16];
	struct expr e = expr_begin(m, "bitwise");
	attr_be32(m, NFTA_BITWISE_SREG, NFT_REG_1);
	attr_be32(m, NFTA_BITWISE_DREG, NFT_REG_1);
	attr_be32(m, NFTA_BITWISE_LEN, (uint32_t)len);
	data_value(m, NFTA_BITWISE_MASK, mask, len);
	data_value(m, NFTA_BITWISE_XOR, zero, len);
	expr_end(m, e);
}

static void e_immediate(struct nl_msg *m, uint32_t reg, const void *v, size_t len)
{
	struct expr e = expr_begin(m, "immediate");
	attr_be32(m, NFTA_IMMEDIATE_DREG, reg);
	data_value(m, NFTA_IMMEDIATE_DATA, v, len);
	expr_end(m, e);
}

/* A verdict: NF_ACCEPT, NF_DROP, or NFT_JUMP to chain. */
static void e_verdict(struct nl_msg *m, int code, const char *chain)
{
	struct expr e = expr_begin(m, "immediate");
	attr_be32(m, NFTA_IMMEDIATE_DREG, NFT_REG_VERDICT);
	struct rtattr *data = nest_begin(m, NFTA_IMMEDIATE_DATA);
	struct rtattr *verdict = nest_begin(m, NFTA_DATA_VERDICT);
	attr_be32(m, NFTA_VERDICT_CODE, (uint32_t)code);
	if (chain != NULL) {
		nl_attr_put_str(m, NFTA_VERDICT_CHAIN, chain);
	}
	nl_nest_end(m, verdict);
	nl_nest_end(m, data);
	expr_end(m, e);
}

/* ---- matches ------------------------------------------------------------ */

static uint32_t prefix_mask(int prefix)
{
	return prefix <= 0 ? 0 : htonl(0xffffffffu << (32 - prefix));
}

/* ip saddr (offset 12) or ip daddr (offset 16) in addr/prefix. */
static void m_ip(struct nl_msg *m, uint32_t offset, uint32_t addr, int prefix)
{
	uint32_t mask = prefix_mask(prefix);
	uint32_t value = addr & mask;
	e_payload(m, NFT_PAYLOAD_NETWORK_HEADER, offset, 4);
	if (prefix < 32) {
		e_and(m, &mask, sizeof(mask));
	}
	e_cmp(m, NFT_CMP_EQ, &value, sizeof(value));
}

/* iifname/oifname: the kernel compares the whole IFNAMSIZ buffer, so the
 * name is zero-padded to 16 bytes (a shorter value would be a prefix
 * match, like nft's "br*"). */
static void m_ifname(struct nl_msg *m, uint32_t key, uint32_t op, const char *name)
{
	char padded[16] = {0};
	memcpy(padded, name, strnlen(name, sizeof(padded) - 1));
	e_meta(m, key);
	e_cmp(m, op, padded, sizeof(padded));
}

/* Some bit of a conntrack u32 (state or status, host byte order) set. */
static void m_ct_bits(struct nl_msg *m, uint32_t key, uint32_t bits)
{
	static const uint32_t zero;
	e_ct(m, key);
	e_and(m, &bits, sizeof(bits));
	e_cmp(m, NFT_CMP_NEQ, &zero, sizeof(zero));
}

/* ---- the batch ------------------------------------------------------------ */

/* Records what the message being started is (before msg_begin). */
__attribute__((format(printf, 2, 3))) static void describe(struct builder *bd, const char *fmt, ...)
{
	if (!bd->record || bd->err < 0) {
		return;
	}
	if (bd->ndescs == bd->capdescs) {
		size_t cap = bd->capdescs != 0 ? bd->capdescs * 2 : 64;
		struct msg_desc *d = realloc(bd->descs, cap * sizeof(*d));
		if (d == NULL) {
			bd->err = -ENOMEM;
			return;
		}
		bd->descs = d;
		bd->capdescs = cap;
	}
	struct msg_desc *d = &bd->descs[bd->ndescs++];
	d->seq = bd->seq + 1;
	va_list ap;
	va_start(ap, fmt);
	if (vsnprintf(d->what, sizeof(d->what), fmt, ap) < 0) {
		d->what[0] = '\0';
	}
	va_end(ap);
}

static void batch_mark(struct builder *bd, uint16_t type, const char *what)
{
	describe(bd, "%s", what);
	msg_begin(bd, type, 0, AF_UNSPEC, NFNL_SUBSYS_NFTABLES);
	msg_end(bd);
}

static void table_msg(struct builder *bd, int msg, uint16_t flags, const char *what)
{
	describe(bd, "%s table ip " NFT_TABLE_NAME, what);
	struct nl_msg *m = msg_begin(bd, nft_type(msg), flags, NFPROTO_IPV4, 0);
	nl_attr_put_str(m, NFTA_TABLE_NAME, NFT_TABLE_NAME);
	if (msg == NFT_MSG_NEWTABLE) {
		attr_be32(m, NFTA_TABLE_FLAGS, 0);
	}
	msg_end(bd);
}

/* A base chain (type non-NULL) or a regular one. */
static void chain_msg(struct builder *bd, const char *name, const char *type, uint32_t hook, int prio)
{
	describe(bd, "chain %s", name);
	struct nl_msg *m = msg_begin(bd, nft_type(NFT_MSG_NEWCHAIN), NLM_F_CREATE, NFPROTO_IPV4, 0);
	nl_attr_put_str(m, NFTA_CHAIN_TABLE, NFT_TABLE_NAME);
	nl_attr_put_str(m, NFTA_CHAIN_NAME, name);
	if (type != NULL) {
		struct rtattr *h = nest_begin(m, NFTA_CHAIN_HOOK);
		attr_be32(m, NFTA_HOOK_HOOKNUM, hook);
		attr_be32(m, NFTA_HOOK_PRIORITY, (uint32_t)prio);
		nl_nest_end(m, h);
		attr_be32(m, NFTA_CHAIN_POLICY, NF_ACCEPT);
		nl_attr_put_str(m, NFTA_CHAIN_TYPE, type);
	}
	msg_end(bd);
}

/* Starts a rule in chain; what names it in errors. Returns the message
 * with its expression list open (closed by rule_end). */
static struct nl_msg *rule_begin(struct builder *bd, const char *chain, const char *what, struct rtattr **exprs)
{
	describe(bd, "rule in chain %s (%s)", chain, what);
	struct nl_msg *m = msg_begin(bd, nft_type(NFT_MSG_NEWRULE), NLM_F_CREATE | NLM_F_APPEND, NFPROTO_IPV4, 0);
	nl_attr_put_str(m, NFTA_RULE_TABLE, NFT_TABLE_NAME);
	nl_attr_put_str(m, NFTA_RULE_CHAIN, chain);
	*exprs = nest_begin(m, NFTA_RULE_EXPRESSIONS);
	return m;
}

/* comment: shown by `nft list` (NULL: none). */
static void rule_end(struct builder *bd, struct rtattr *exprs, const char *comment)
{
	nl_nest_end(&bd->m, exprs);
	if (comment != NULL) {
		/* libnftnl's TLV: type, length (with the NUL), text. */
		uint8_t udata[2 + 128];
		size_t n = strlen(comment);
		n = (n < sizeof(udata) - 3 ? n : sizeof(udata) - 3) + 1;
		udata[0] = UDATA_RULE_COMMENT;
		udata[1] = (uint8_t)n;
		memcpy(udata + 2, comment, n - 1);
		udata[2 + n - 1] = '\0';
		nl_attr_put(&bd->m, NFTA_RULE_USERDATA, udata, 2 + n);
	}
	msg_end(bd);
}

static const char *proto_name(int proto)
{
	return proto == IPPROTO_TCP ? "tcp" : "udp";
}

/* meta l4proto PROTO th dport PORT: the destination port sits at offset 2
 * for both TCP and UDP, so one payload load serves both. */
static void m_l4_dport(struct nl_msg *m, uint8_t proto, uint16_t port)
{
	e_meta(m, NFT_META_L4PROTO);
	e_cmp(m, NFT_CMP_EQ, &proto, sizeof(proto));
	uint16_t dport = htons(port);
	e_payload(m, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2);
	e_cmp(m, NFT_CMP_EQ, &dport, sizeof(dport));
}

/* ct state established,related accept */
static void rule_accept_established(struct builder *bd, const char *chain)
{
	struct rtattr *exprs;
	struct nl_msg *m = rule_begin(bd, chain, "established", &exprs);
	m_ct_bits(m, NFT_CT_STATE, NF_CT_STATE_BIT(IP_CT_ESTABLISHED) | NF_CT_STATE_BIT(IP_CT_RELATED));
	e_verdict(m, NF_ACCEPT, NULL);
	rule_end(bd, exprs, NULL);
}

static void rule_publish(struct builder *bd, const struct nft_port *p)
{
	char host[INET_ADDRSTRLEN] = "*";
	char to[INET_ADDRSTRLEN];
	if (p->host_ip != 0) {
		inet_ntop(AF_INET, &p->host_ip, host, sizeof(host));
	}
	inet_ntop(AF_INET, &p->addr, to, sizeof(to));
	char comment[80];
	snprintf(comment, sizeof(comment), "%s %s:%u -> %s:%u", proto_name(p->proto), host, p->host_port, to, p->port);
	struct rtattr *exprs;
	struct nl_msg *m = rule_begin(bd, CHAIN_PUBLISH, comment, &exprs);
	if (p->host_ip != 0) {
		m_ip(m, 16, p->host_ip, 32);
	}
	m_l4_dport(m, (uint8_t)p->proto, p->host_port);
	uint16_t port = htons(p->port);
	e_immediate(m, NFT_REG_1, &p->addr, sizeof(p->addr));
	e_immediate(m, NFT_REG_2, &port, sizeof(port));
	struct expr e = expr_begin(m, "nat");
	attr_be32(m, NFTA_NAT_TYPE, NFT_NAT_DNAT);
	attr_be32(m, NFTA_NAT_FAMILY, NFPROTO_IPV4);
	attr_be32(m, NFTA_NAT_REG_ADDR_MIN, NFT_REG_1);
	attr_be32(m, NFTA_NAT_REG_PROTO_MIN, NFT_REG_2);
	/* Recent kernels derive this flag from the proto register; older ones
	 * take the flags as given, so say it (as nft does). */
	attr_be32(m, NFTA_NAT_FLAGS, NF_NAT_RANGE_PROTO_SPECIFIED);
	expr_end(m, e);
	rule_end(bd, exprs, comment);
}

/* fib daddr type local jump publish: published ports answer on every
 * local address, the way Docker's addrtype match does. */
static void rule_jump_publish(struct builder *bd, const char *chain)
{
	struct rtattr *exprs;
	struct nl_msg *m = rule_begin(bd, chain, "jump " CHAIN_PUBLISH, &exprs);
	struct expr e = expr_begin(m, "fib");
	attr_be32(m, NFTA_FIB_DREG, NFT_REG_1);
	attr_be32(m, NFTA_FIB_RESULT, NFT_FIB_RESULT_ADDRTYPE);
	attr_be32(m, NFTA_FIB_FLAGS, NFTA_FIB_F_DADDR);
	expr_end(m, e);
	uint32_t local = RTN_LOCAL;
	e_cmp(m, NFT_CMP_EQ, &local, sizeof(local));
	e_verdict(m, NFT_JUMP, CHAIN_PUBLISH);
	rule_end(bd, exprs, NULL);
}

static void masquerade(struct nl_msg *m)
{
	struct expr e = expr_begin(m, "masq");
	expr_end(m, e);
}

static void rules_postrouting(struct builder *bd, const struct nft_network *n)
{
	char what[64];
	struct rtattr *exprs;
	/* Outbound NAT: containers leave the host with its address. */
	snprintf(what, sizeof(what), "outbound NAT of %s", n->bridge);
	struct nl_msg *m = rule_begin(bd, CHAIN_POSTROUTING, what, &exprs);
	m_ip(m, 12, n->subnet, n->prefix);
	m_ifname(m, NFT_META_OIFNAME, NFT_CMP_NEQ, n->bridge);
	masquerade(m);
	rule_end(bd, exprs, NULL);

	/* Hairpin: a container reaching a published port of a neighbour on
	 * its own bridge. Without this, the neighbour would answer it
	 * directly, from an address the container never talked to. */
	snprintf(what, sizeof(what), "hairpin NAT of %s", n->bridge);
	m = rule_begin(bd, CHAIN_POSTROUTING, what, &exprs);
	m_ct_bits(m, NFT_CT_STATUS, IPS_DST_NAT);
	m_ip(m, 12, n->subnet, n->prefix);
	m_ifname(m, NFT_META_OIFNAME, NFT_CMP_EQ, n->bridge);
	masquerade(m);
	rule_end(bd, exprs, NULL);

	/* The host reaching a published port through 127.0.0.1: a loopback
	 * source cannot leave through a bridge (route_localnet lets it be
	 * routed; this gives it an address the container can answer). */
	snprintf(what, sizeof(what), "loopback NAT to %s", n->bridge);
	m = rule_begin(bd, CHAIN_POSTROUTING, what, &exprs);
	m_ip(m, 12, htonl(0x7f000000), 8);
	m_ifname(m, NFT_META_OIFNAME, NFT_CMP_EQ, n->bridge);
	masquerade(m);
	rule_end(bd, exprs, NULL);
}

/* iifname/oifname A and the other != A: drop. */
static void rule_drop_crossing(struct builder *bd, uint32_t key_is, uint32_t key_not, const char *bridge,
			       const char *why)
{
	char what[64];
	snprintf(what, sizeof(what), "%s %s", why, bridge);
	struct rtattr *exprs;
	struct nl_msg *m = rule_begin(bd, CHAIN_FORWARD, what, &exprs);
	m_ifname(m, key_is, NFT_CMP_EQ, bridge);
	m_ifname(m, key_not, NFT_CMP_NEQ, bridge);
	e_verdict(m, NF_DROP, NULL);
	rule_end(bd, exprs, NULL);
}

static void rules_forward(struct builder *bd, const struct nft_ruleset *rs)
{
	rule_accept_established(bd, CHAIN_FORWARD);

	/* Internal networks first: not even a published port opens them. */
	for (size_t i = 0; i < rs->nnets; i++) {
		if (rs->nets[i].internal) {
			rule_drop_crossing(bd, NFT_META_IIFNAME, NFT_META_OIFNAME, rs->nets[i].bridge,
					   "internal network, leaving");
			rule_drop_crossing(bd, NFT_META_OIFNAME, NFT_META_IIFNAME, rs->nets[i].bridge,
					   "internal network, entering");
		}
	}

	struct rtattr *exprs;
	struct nl_msg *m = rule_begin(bd, CHAIN_FORWARD, "published ports", &exprs);
	m_ct_bits(m, NFT_CT_STATUS, IPS_DST_NAT);
	e_verdict(m, NF_ACCEPT, NULL);
	rule_end(bd, exprs, NULL);

	for (size_t i = 0; i < rs->nnets; i++) {
		if (!rs->nets[i].internal) {
			rule_drop_crossing(bd, NFT_META_OIFNAME, NFT_META_IIFNAME, rs->nets[i].bridge, "isolation of");
		}
	}
}

/* iifname BRIDGE meta l4proto PROTO th dport 53 accept */
static void rule_accept_dns(struct builder *bd, const char *bridge, uint8_t proto)
{
	char what[64];
	snprintf(what, sizeof(what), "DNS %s from %s", proto_name(proto), bridge);
	struct rtattr *exprs;
	struct nl_msg *m = rule_begin(bd, CHAIN_INPUT, what, &exprs);
	m_ifname(m, NFT_META_IIFNAME, NFT_CMP_EQ, bridge);
	m_l4_dport(m, proto, 53);
	e_verdict(m, NF_ACCEPT, NULL);
	rule_end(bd, exprs, NULL);
}

/* What a container on a bridge may reach on the host itself: answers to
 * connections the host made, and the embedded DNS on its gateway. Nothing
 * else that listens on the host (sshd, a host service) is theirs to reach,
 * on the gateway's address or any other; published ports are not affected
 * (they are DNATed before input and go through forward). */
static void rules_input(struct builder *bd, const struct nft_ruleset *rs)
{
	rule_accept_established(bd, CHAIN_INPUT);
	for (size_t i = 0; i < rs->nnets; i++) {
		const char *bridge = rs->nets[i].bridge;
		rule_accept_dns(bd, bridge, IPPROTO_UDP);
		rule_accept_dns(bd, bridge, IPPROTO_TCP);
		char what[64];
		snprintf(what, sizeof(what), "the host, from %s", bridge);
		struct rtattr *exprs;
		struct nl_msg *m = rule_begin(bd, CHAIN_INPUT, what, &exprs);
		m_ifname(m, NFT_META_IIFNAME, NFT_CMP_EQ, bridge);
		e_verdict(m, NF_DROP, NULL);
		rule_end(bd, exprs, what);
	}
}

static int validate(const struct nft_ruleset *rs, struct berr *err)
{
	for (size_t i = 0; i < rs->nnets; i++) {
		const struct nft_network *n = &rs->nets[i];
		size_t len = strnlen(n->bridge, sizeof(n->bridge));
		if (len == 0 || len >= sizeof(n->bridge)) {
			return berr_setx(err, EINVAL, "network %zu: bridge name must have 1 to 15 characters", i);
		}
		if (n->prefix < 1 || n->prefix > 32) {
			return berr_setx(err, EINVAL, "network %s: prefix length %d is not 1..32", n->bridge,
					 n->prefix);
		}
		for (size_t j = 0; j < i; j++) {
			if (strcmp(rs->nets[j].bridge, n->bridge) == 0) {
				return berr_setx(err, EINVAL, "bridge %s is listed twice", n->bridge);
			}
		}
	}
	for (size_t i = 0; i < rs->nports; i++) {
		const struct nft_port *p = &rs->ports[i];
		if (p->proto != IPPROTO_TCP && p->proto != IPPROTO_UDP) {
			return berr_setx(err, EINVAL, "published port %u: protocol %d is neither tcp nor udp",
					 p->host_port, p->proto);
		}
		if (p->host_port == 0 || p->port == 0 || p->addr == 0) {
			return berr_setx(err, EINVAL, "published port %u: port 0 or no container address",
					 p->host_port);
		}
	}
	return 0;
}

static int build(struct builder *bd, const struct nft_ruleset *rs, struct berr *err)
{
	static const struct nft_ruleset empty;
	if (rs == NULL) {
		rs = &empty;
	}
	int ret = validate(rs, err);
	if (ret < 0) {
		return ret;
	}
	batch_mark(bd, NFNL_MSG_BATCH_BEGIN, "batch begin");
	/* Create-if-missing, then delete, then create: deleting a table that
	 * does not exist would fail the whole batch (DESTROYTABLE, which
	 * ignores that, only came with Linux 6.3). Deleting the table
	 * deletes its chains and rules with it. */
	table_msg(bd, NFT_MSG_NEWTABLE, NLM_F_CREATE, "create");
	table_msg(bd, NFT_MSG_DELTABLE, 0, "delete");
	table_msg(bd, NFT_MSG_NEWTABLE, NLM_F_CREATE, "create");
	/* Chains before rules: a jump needs its target to exist. */
	chain_msg(bd, CHAIN_PUBLISH, NULL, 0, 0);
	chain_msg(bd, CHAIN_PREROUTING, "nat", NF_INET_PRE_ROUTING, PRIO_DSTNAT);
	chain_msg(bd, CHAIN_OUTPUT, "nat", NF_INET_LOCAL_OUT, PRIO_DSTNAT);
	chain_msg(bd, CHAIN_POSTROUTING, "nat", NF_INET_POST_ROUTING, PRIO_SRCNAT);
	chain_msg(bd, CHAIN_FORWARD, "filter", NF_INET_FORWARD, PRIO_FILTER);
	chain_msg(bd, CHAIN_INPUT, "filter", NF_INET_LOCAL_IN, PRIO_FILTER);
	for (size_t i = 0; i < rs->nports; i++) {
		rule_publish(bd, &rs->ports[i]);
	}
	rule_jump_publish(bd, CHAIN_PREROUTING);
	rule_jump_publish(bd, CHAIN_OUTPUT);
	for (size_t i = 0; i < rs->nnets; i++) {
		if (!rs->nets[i].internal) {
			rules_postrouting(bd, &rs->nets[i]);
		}
	}
	rules_forward(bd, rs);
	rules_input(bd, rs);
	batch_mark(bd, NFNL_MSG_BATCH_END, "batch end");
	if (bd->err < 0) {
		return berr_set(err, -bd->err, "build the nf_tables batch for table ip " NFT_TABLE_NAME);
	}
	return 0;
}

static void builder_free(struct builder *bd)
{
	free(bd->data);
	free(bd->descs);
}

int nft_build_batch(const struct nft_ruleset *rs, uint8_t **buf, size_t *len, struct berr *err)
{
	auto_free struct builder *bd = calloc(1, sizeof(*bd));
	if (bd == NULL) {
		return berr_set(err, ENOMEM, "nf_tables batch");
	}
	int ret = build(bd, rs, err);
	if (ret < 0) {
		builder_free(bd);
		return ret;
	}
	*buf = bd->data;
	*len = bd->len;
	free(bd->descs);
	return 0;
}

/* ---- talking to the kernel -------------------------------------------- */

static int nfnl_open(struct berr *err)
{
	auto_close int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
	if (fd < 0) {
		return berr_set(err, errno, "netfilter netlink socket");
	}
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		return berr_set(err, errno, "bind netfilter netlink socket");
	}
	/* Errors come back without a copy of the refused message (it can be
	 * large), but with the kernel's explanation when it has one. */
	int one = 1;
	setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	struct timeval tv = {.tv_sec = NFT_RECV_TIMEOUT_S};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return take_fd(&fd);
}

/* The next whole message in buf[*off..len), or NULL. Unlike NLMSG_NEXT,
 * never steps past the end when the last message is not padded. */
static const struct nlmsghdr *nl_next(const uint8_t *buf, size_t len, size_t *off)
{
	if (*off > len || len - *off < sizeof(struct nlmsghdr)) {
		return NULL;
	}
	const struct nlmsghdr *h = (const struct nlmsghdr *)(buf + *off);
	if (h->nlmsg_len < sizeof(*h) || h->nlmsg_len > len - *off) {
		return NULL;
	}
	size_t step = NLMSG_ALIGN(h->nlmsg_len);
	*off = step > len - *off ? len : *off + step;
	return h;
}

/* The kernel's own words for an error, from the extended ack (if any). */
static void ext_ack_msg(const struct nlmsghdr *h, char *out, size_t size)
{
	out[0] = '\0';
	if (!(h->nlmsg_flags & NLM_F_ACK_TLVS)) {
		return;
	}
	/* The TLVs follow the error and the refused message's header (with
	 * NETLINK_CAP_ACK) or the whole refused message (without). */
	const struct nlmsgerr *e = NLMSG_DATA(h);
	size_t off = NLMSG_HDRLEN + sizeof(*e);
	if (!(h->nlmsg_flags & NLM_F_CAPPED)) {
		if (e->msg.nlmsg_len < sizeof(e->msg) || e->msg.nlmsg_len > h->nlmsg_len) {
			return;
		}
		off += e->msg.nlmsg_len - sizeof(e->msg);
	}
	off = NLMSG_ALIGN(off);
	if (off >= h->nlmsg_len) {
		return;
	}
	const struct rtattr *tb[NLMSGERR_ATTR_MAX + 1];
	nl_attr_parse(tb, NLMSGERR_ATTR_MAX, (const struct rtattr *)((const uint8_t *)h + off), h->nlmsg_len - off);
	if (nl_attr_str(tb[NLMSGERR_ATTR_MSG], out, size) < 0) {
		out[0] = '\0';
	}
}

static const char *desc_of(const struct builder *bd, uint32_t seq)
{
	for (size_t i = 0; i < bd->ndescs; i++) {
		if (bd->descs[i].seq == seq) {
			return bd->descs[i].what;
		}
	}
	return "a message of the batch";
}

/* Sends the batch, then a GETGEN request as a marker. The kernel handles
 * a batch within sendmsg and queues one error per refused message (none
 * when all is well), so the marker's ack, read after them, says that
 * every error has been seen. Asking an ack for every message instead
 * would flood the socket's receive buffer on large rulesets. */
static int send_batch(struct builder *bd, struct berr *err)
{
	auto_close int fd = nfnl_open(err);
	if (fd < 0) {
		return fd;
	}
	/* A netlink message must fit the socket's send buffer. */
	int cur = 0;
	socklen_t optlen = sizeof(cur);
	if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &cur, &optlen) == 0 && bd->len + 4096 > (size_t)cur) {
		int want = bd->len + 4096 > (size_t)INT32_MAX / 2 ? INT32_MAX / 2 : (int)(bd->len + 4096);
		if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &want, sizeof(want)) < 0) {
			setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &want, sizeof(want));
		}
	}
	struct sockaddr_nl to = {.nl_family = AF_NETLINK};
	if (sendto(fd, bd->data, bd->len, 0, (struct sockaddr *)&to, sizeof(to)) < 0) {
		return berr_set(err, errno, "send the nf_tables batch (%zu bytes)", bd->len);
	}
	struct {
		struct nlmsghdr h;
		struct nfgenmsg g;
	} marker = {
		.h = {.nlmsg_len = sizeof(marker),
		      .nlmsg_type = nft_type(NFT_MSG_GETGEN),
		      .nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK,
		      .nlmsg_seq = ++bd->seq},
		.g = {.nfgen_family = AF_UNSPEC, .version = NFNETLINK_V0},
	};
	if (sendto(fd, &marker, sizeof(marker), 0, (struct sockaddr *)&to, sizeof(to)) < 0) {
		return berr_set(err, errno, "send to netfilter netlink");
	}
	int first = 0;
	char where[128] = "";
	char why[256] = "";
	size_t size = 16384;
	auto_free uint8_t *buf = malloc(size);
	if (buf == NULL) {
		return berr_set(err, ENOMEM, "netfilter netlink buffer");
	}
	for (;;) {
		ssize_t n = recv(fd, buf, size, 0);
		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			return berr_set(err, errno, "read the kernel's answer to the nf_tables batch");
		}
		size_t off = 0;
		const struct nlmsghdr *h;
		while ((h = nl_next(buf, (size_t)n, &off)) != NULL) {
			if (h->nlmsg_type != NLMSG_ERROR || h->nlmsg_len < NLMSG_LENGTH(sizeof(struct nlmsgerr))) {
				continue;
			}
			const struct nlmsgerr *e = NLMSG_DATA(h);
			if (h->nlmsg_seq == marker.h.nlmsg_seq) {
				if (first == 0) {
					return 0;
				}
				if (why[0] != '\0') {
					return berr_set(err, -first, "nf_tables refused %s (%s)", where, why);
				}
				return berr_set(err, -first, "nf_tables refused %s", where);
			}
			if (e->error < 0 && first == 0) {
				first = e->error;
				snprintf(where, sizeof(where), "%s", desc_of(bd, h->nlmsg_seq));
				ext_ack_msg(h, why, sizeof(why));
			}
		}
	}
}

int nft_apply(const struct nft_ruleset *rs, struct berr *err)
{
	auto_free struct builder *bd = calloc(1, sizeof(*bd));
	if (bd == NULL) {
		return berr_set(err, ENOMEM, "nf_tables batch");
	}
	bd->record = 1;
	int ret = build(bd, rs, err);
	if (ret == 0) {
		ret = send_batch(bd, err);
	}
	builder_free(bd);
	return ret;
}

int nft_flush(struct berr *err)
{
	auto_free struct builder *bd = calloc(1, sizeof(*bd));
	if (bd == NULL) {
		return berr_set(err, ENOMEM, "nf_tables batch");
	}
	bd->record = 1;
	batch_mark(bd, NFNL_MSG_BATCH_BEGIN, "batch begin");
	table_msg(bd, NFT_MSG_NEWTABLE, NLM_F_CREATE, "create");
	table_msg(bd, NFT_MSG_DELTABLE, 0, "delete");
	batch_mark(bd, NFNL_MSG_BATCH_END, "batch end");
	int ret;
	if (bd->err < 0) {
		ret = berr_set(err, -bd->err, "build the nf_tables batch");
	} else {
		ret = send_batch(bd, err);
	}
	builder_free(bd);
	return ret;
}

/* ---- reading back ------------------------------------------------------- */

/* The attribute naming a table's own name, or the table a chain or rule
 * is in: the same number in all three messages. */
#define TABLE_ATTR NFTA_TABLE_NAME
_Static_assert((int)NFTA_TABLE_NAME == (int)NFTA_CHAIN_TABLE && (int)NFTA_TABLE_NAME == (int)NFTA_RULE_TABLE,
	       "one attribute names the table in table, chain and rule messages");

/* Dumps objects of one kind (NFT_MSG_GETTABLE/GETCHAIN/GETRULE) of family
 * ip; counts all of them in *all, and in *ours those of table ip berth. */
static int dump_count(int fd, uint32_t seq, int msg, int *all, int *ours, struct berr *err)
{
	struct {
		struct nlmsghdr h;
		struct nfgenmsg g;
	} req = {
		.h = {.nlmsg_len = sizeof(req),
		      .nlmsg_type = nft_type(msg),
		      .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
		      .nlmsg_seq = seq},
		.g = {.nfgen_family = NFPROTO_IPV4, .version = NFNETLINK_V0},
	};
	struct sockaddr_nl to = {.nl_family = AF_NETLINK};
	if (sendto(fd, &req, sizeof(req), 0, (struct sockaddr *)&to, sizeof(to)) < 0) {
		return berr_set(err, errno, "ask nf_tables for a dump");
	}
	*all = 0;
	*ours = 0;
	/* Dump parts are a page or a few; 64 KiB holds any of them. */
	size_t size = 65536;
	auto_free uint8_t *buf = malloc(size);
	if (buf == NULL) {
		return berr_set(err, ENOMEM, "netfilter netlink buffer");
	}
	for (;;) {
		ssize_t n = recv(fd, buf, size, 0);
		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			return berr_set(err, errno, "read an nf_tables dump");
		}
		size_t off = 0;
		const struct nlmsghdr *h;
		while ((h = nl_next(buf, (size_t)n, &off)) != NULL) {
			if (h->nlmsg_seq != seq) {
				continue;
			}
			if (h->nlmsg_type == NLMSG_DONE) {
				return 0;
			}
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);
				if (h->nlmsg_len >= NLMSG_LENGTH(sizeof(*e)) && e->error < 0) {
					return berr_set(err, -e->error, "nf_tables dump");
				}
				continue;
			}
			(*all)++;
			size_t attrs = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct nfgenmsg));
			if (h->nlmsg_len <= attrs) {
				continue;
			}
			const struct rtattr *tb[TABLE_ATTR + 1];
			nl_attr_parse(tb, TABLE_ATTR, (const struct rtattr *)((const uint8_t *)h + attrs),
				      h->nlmsg_len - attrs);
			char table[NFT_NAME_MAXLEN];
			if (nl_attr_str(tb[TABLE_ATTR], table, sizeof(table)) == 0 &&
			    strcmp(table, NFT_TABLE_NAME) == 0) {
				(*ours)++;
			}
		}
	}
}

int nft_inspect(struct nft_state *st, struct berr *err)
{
	memset(st, 0, sizeof(*st));
	auto_close int fd = nfnl_open(err);
	if (fd < 0) {
		return fd;
	}
	int all = 0;
	int ret = dump_count(fd, 1, NFT_MSG_GETTABLE, &st->tables, &st->has_berth, err);
	if (ret < 0) {
		return ret;
	}
	ret = dump_count(fd, 2, NFT_MSG_GETCHAIN, &all, &st->chains, err);
	if (ret < 0) {
		return ret;
	}
	return dump_count(fd, 3, NFT_MSG_GETRULE, &all, &st->rules, err);
}

int nft_host_sysctls(struct berr *err)
{
	/* Forwarding between the bridges and the uplink, and loopback
	 * sources routed out of a bridge (published ports on 127.0.0.1). */
	static const char *const paths[] = {
		"/proc/sys/net/ipv4/ip_forward",
		"/proc/sys/net/ipv4/conf/all/route_localnet",
	};
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		int ret = write_file(paths[i], "1", err);
		if (ret < 0) {
			return ret;
		}
	}
	return 0;
}
