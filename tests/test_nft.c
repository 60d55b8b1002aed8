/* The table ip berth: the batch's bytes are well-formed netlink (walked
 * message by message, attribute by attribute), descriptions are
 * validated, and, where the kernel lets us (root, in a private network
 * namespace so that the host's rules are never touched), applying
 * replaces the whole table: rules read back, a smaller ruleset leaves no
 * old rule behind, a flush leaves no table, 1000 changing applies leave
 * exactly one table, and a refusal names what was refused. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "net/nft.h"

static uint32_t ip(const char *s)
{
	struct in_addr a;
	inet_pton(AF_INET, s, &a);
	return a.s_addr;
}

static const struct nft_network nets[] = {
	{.bridge = "berth0", .subnet = 0, .prefix = 24, .internal = 0},
	{.bridge = "berth1", .subnet = 0, .prefix = 16, .internal = 0},
	{.bridge = "berth2", .subnet = 0, .prefix = 24, .internal = 1},
};

static struct nft_network net_list[3];
static struct nft_port port_list[4];

static struct nft_ruleset small_ruleset(void)
{
	memcpy(net_list, nets, sizeof(nets));
	net_list[0].subnet = ip("10.89.0.0");
	net_list[1].subnet = ip("10.90.0.0");
	net_list[2].subnet = ip("10.91.0.0");
	port_list[0] = (struct nft_port){IPPROTO_TCP, 0, 8080, ip("10.89.0.2"), 80};
	port_list[1] = (struct nft_port){IPPROTO_UDP, 0, 5353, ip("10.89.0.3"), 53};
	port_list[2] = (struct nft_port){IPPROTO_TCP, ip("127.0.0.1"), 8443, ip("10.90.0.5"), 443};
	port_list[3] = (struct nft_port){IPPROTO_TCP, 0, 9000, ip("10.90.0.6"), 9000};
	return (struct nft_ruleset){.nets = net_list, .nnets = 3, .ports = port_list, .nports = 4};
}

/* What the table holds for rs: one rule per port, the two jumps, three
 * NAT rules per non-internal network, and in forward: established,
 * published, two drops per internal network and one per other network. */
static int expected_rules(const struct nft_ruleset *rs)
{
	int n = (int)rs->nports + 2 + 2 + 1; /* ports, jumps, forward's two, input's established */
	for (size_t i = 0; i < rs->nnets; i++) {
		n += (rs->nets[i].internal ? 2 : 4) + 3; /* + DNS udp, DNS tcp, drop to the host */
	}
	return n;
}

/* ---- walking the bytes -------------------------------------------------- */

/* Checks that attributes in [p, p+len) tile the space exactly, recursing
 * into nests; returns the number of attributes, or -1. */
static int walk_attrs(const uint8_t *p, size_t len, int depth)
{
	int count = 0;
	size_t off = 0;
	while (off < len) {
		if (len - off < NLA_HDRLEN) {
			return -1;
		}
		const struct nlattr *a = (const struct nlattr *)(p + off);
		if (a->nla_len < NLA_HDRLEN || a->nla_len > len - off) {
			return -1;
		}
		count++;
		if ((a->nla_type & NLA_F_NESTED) && depth < 8) {
			if (walk_attrs(p + off + NLA_HDRLEN, a->nla_len - NLA_HDRLEN, depth + 1) < 0) {
				return -1;
			}
		}
		off += NLA_ALIGN(a->nla_len);
	}
	return off == len ? count : -1;
}

/* Finds attribute type in [p, p+len) (top level only). */
static const struct nlattr *find_attr(const uint8_t *p, size_t len, uint16_t type)
{
	size_t off = 0;
	while (off + NLA_HDRLEN <= len) {
		const struct nlattr *a = (const struct nlattr *)(p + off);
		if (a->nla_len < NLA_HDRLEN || a->nla_len > len - off) {
			return NULL;
		}
		if ((a->nla_type & NLA_TYPE_MASK) == type) {
			return a;
		}
		off += NLA_ALIGN(a->nla_len);
	}
	return NULL;
}

#define ATTR_DATA(a) ((const uint8_t *)(a) + NLA_HDRLEN)
#define ATTR_LEN(a) ((size_t)(a)->nla_len - NLA_HDRLEN)

/* The expression names of a NEWRULE message, joined by spaces. */
static void rule_exprs(const struct nlmsghdr *h, char *out, size_t size)
{
	out[0] = '\0';
	const uint8_t *body = (const uint8_t *)NLMSG_DATA(h) + sizeof(struct nfgenmsg);
	size_t blen = h->nlmsg_len - NLMSG_LENGTH(sizeof(struct nfgenmsg));
	const struct nlattr *exprs = find_attr(body, blen, NFTA_RULE_EXPRESSIONS);
	if (exprs == NULL) {
		return;
	}
	size_t off = 0;
	while (off + NLA_HDRLEN <= ATTR_LEN(exprs)) {
		const struct nlattr *elem = (const struct nlattr *)(ATTR_DATA(exprs) + off);
		const struct nlattr *name = find_attr(ATTR_DATA(elem), ATTR_LEN(elem), NFTA_EXPR_NAME);
		if (name != NULL) {
			if (out[0] != '\0') {
				strncat(out, " ", size - strlen(out) - 1);
			}
			strncat(out, (const char *)ATTR_DATA(name), size - strlen(out) - 1);
		}
		off += NLA_ALIGN(elem->nla_len);
	}
}

static void test_batch_is_well_formed(void)
{
	struct nft_ruleset rs = small_ruleset();
	uint8_t *buf = NULL;
	size_t len = 0;
	struct berr err = {0};
	CHECK_EQ_INT(nft_build_batch(&rs, &buf, &len, &err), 0);
	if (buf == NULL) {
		return;
	}
	size_t off = 0;
	int msgs = 0;
	int rules = 0;
	int chains = 0;
	int tables = 0;
	int bad = 0;
	uint32_t last_seq = 0;
	uint16_t first_type = 0;
	uint16_t last_type = 0;
	char first_rule[256] = "";
	char jump_rule[256] = "";
	while (off < len) {
		if (len - off < NLMSG_HDRLEN) {
			bad++;
			break;
		}
		const struct nlmsghdr *h = (const struct nlmsghdr *)(buf + off);
		if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct nfgenmsg)) || h->nlmsg_len > len - off ||
		    h->nlmsg_len % 4 != 0) {
			bad++;
			break;
		}
		if (!(h->nlmsg_flags & NLM_F_REQUEST) || h->nlmsg_seq <= last_seq) {
			bad++;
		}
		last_seq = h->nlmsg_seq;
		const struct nfgenmsg *g = NLMSG_DATA(h);
		if (msgs == 0) {
			first_type = h->nlmsg_type;
			CHECK_EQ_INT(ntohs(g->res_id), NFNL_SUBSYS_NFTABLES);
		}
		last_type = h->nlmsg_type;
		const uint8_t *body = (const uint8_t *)g + sizeof(*g);
		size_t blen = h->nlmsg_len - NLMSG_LENGTH(sizeof(*g));
		if (walk_attrs(body, blen, 0) < 0) {
			bad++;
		}
		int sub = h->nlmsg_type >> 8;
		int type = h->nlmsg_type & 0xff;
		if (sub == NFNL_SUBSYS_NFTABLES) {
			CHECK_EQ_INT(g->nfgen_family, NFPROTO_IPV4);
			if (type == NFT_MSG_NEWRULE) {
				const struct nlattr *t = find_attr(body, blen, NFTA_RULE_TABLE);
				CHECK(t != NULL && strcmp((const char *)ATTR_DATA(t), "berth") == 0);
				const struct nlattr *c = find_attr(body, blen, NFTA_RULE_CHAIN);
				if (rules == 0) {
					CHECK(c != NULL && strcmp((const char *)ATTR_DATA(c), "publish") == 0);
					rule_exprs(h, first_rule, sizeof(first_rule));
				}
				if (c != NULL && strcmp((const char *)ATTR_DATA(c), "prerouting") == 0) {
					rule_exprs(h, jump_rule, sizeof(jump_rule));
				}
				rules++;
			} else if (type == NFT_MSG_NEWCHAIN) {
				chains++;
			} else if (type == NFT_MSG_NEWTABLE || type == NFT_MSG_DELTABLE) {
				tables++;
			}
		}
		msgs++;
		off += NLMSG_ALIGN(h->nlmsg_len);
	}
	CHECK_EQ_INT(bad, 0);
	CHECK_EQ_INT(off, len);
	CHECK_EQ_INT(first_type, NFNL_MSG_BATCH_BEGIN);
	CHECK_EQ_INT(last_type, NFNL_MSG_BATCH_END);
	CHECK_EQ_INT(tables, 3); /* create, delete, create */
	CHECK_EQ_INT(chains, 6);
	CHECK_EQ_INT(rules, expected_rules(&rs));
	CHECK_EQ_INT(msgs, 2 + 3 + 6 + expected_rules(&rs));
	CHECK_STR_CONTAINS(first_rule, "meta cmp payload cmp immediate immediate nat");
	CHECK_STR_CONTAINS(jump_rule, "fib cmp immediate");
	free(buf);
}

static void test_port_bytes(void)
{
	/* The dport compare carries the port in network byte order and the
	 * DNAT immediates the container's address and port. */
	struct nft_port p = {IPPROTO_TCP, 0, 0x1f90 /* 8080 */, ip("10.89.0.2"), 80};
	struct nft_ruleset rs = {.ports = &p, .nports = 1};
	uint8_t *buf = NULL;
	size_t len = 0;
	CHECK_EQ_INT(nft_build_batch(&rs, &buf, &len, NULL), 0);
	static const uint8_t dport[] = {0x1f, 0x90};
	static const uint8_t addr[] = {10, 89, 0, 2};
	static const uint8_t port[] = {0, 80};
	CHECK(memmem(buf, len, dport, 2) != NULL);
	CHECK(memmem(buf, len, addr, 4) != NULL);
	CHECK(memmem(buf, len, port, 2) != NULL);
	CHECK(memmem(buf, len, "tcp *:8080 -> 10.89.0.2:80", 26) != NULL);
	free(buf);
}

static void test_rejects_bad_descriptions(void)
{
	struct berr err = {0};
	uint8_t *buf = NULL;
	size_t len = 0;
	struct nft_network n = {.bridge = "", .subnet = ip("10.0.0.0"), .prefix = 24};
	struct nft_ruleset rs = {.nets = &n, .nnets = 1};
	CHECK_EQ_INT(nft_build_batch(&rs, &buf, &len, &err), -EINVAL);
	CHECK_STR_CONTAINS(err.msg, "bridge name");
	memcpy(n.bridge, "br0", 4);
	n.prefix = 33;
	CHECK_EQ_INT(nft_build_batch(&rs, &buf, &len, &err), -EINVAL);
	CHECK_STR_CONTAINS(err.msg, "prefix length 33");
	n.prefix = 24;
	struct nft_network two[2] = {n, n};
	rs.nets = two;
	rs.nnets = 2;
	CHECK_EQ_INT(nft_build_batch(&rs, &buf, &len, &err), -EINVAL);
	CHECK_STR_CONTAINS(err.msg, "listed twice");
	struct nft_port p = {IPPROTO_ICMP, 0, 80, ip("10.0.0.2"), 80};
	struct nft_ruleset rp = {.ports = &p, .nports = 1};
	CHECK_EQ_INT(nft_build_batch(&rp, &buf, &len, &err), -EINVAL);
	CHECK_STR_CONTAINS(err.msg, "neither tcp nor udp");
	p.proto = IPPROTO_TCP;
	p.port = 0;
	CHECK_EQ_INT(nft_build_batch(&rp, &buf, &len, &err), -EINVAL);
	CHECK(buf == NULL);
}

/* ---- the kernel ------------------------------------------------------- */

static int live;

/* `nft list table ip berth` when the nft tool is installed, else "". */
static char *nft_list(void)
{
	static char out[65536];
	out[0] = '\0';
	if (access("/usr/sbin/nft", X_OK) != 0) {
		return out;
	}
	FILE *f = popen("/usr/sbin/nft list table ip berth 2>&1", "r");
	if (f == NULL) {
		return out;
	}
	size_t n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = '\0';
	pclose(f);
	return out;
}

static void test_apply_and_read_back(void)
{
	if (!live) {
		return;
	}
	struct nft_ruleset rs = small_ruleset();
	struct berr err = {0};
	int ret = nft_apply(&rs, &err);
	CHECK_EQ_INT(ret, 0);
	if (ret < 0) {
		fprintf(stderr, "nft_apply: %s\n", err.msg);
		return;
	}
	struct nft_state st;
	CHECK_EQ_INT(nft_inspect(&st, &err), 0);
	CHECK_EQ_INT(st.tables, 1);
	CHECK_EQ_INT(st.has_berth, 1);
	CHECK_EQ_INT(st.chains, 6);
	CHECK_EQ_INT(st.rules, expected_rules(&rs));
	const char *list = nft_list();
	if (list[0] != '\0') {
		printf("---- nft list table ip berth\n%s----\n", list);
		CHECK_STR_CONTAINS(list, "dnat to 10.89.0.2:80");
		CHECK_STR_CONTAINS(list, "ip daddr 127.0.0.1 tcp dport 8443 dnat to 10.90.0.5:443");
		CHECK_STR_CONTAINS(list, "fib daddr type local jump publish");
		CHECK_STR_CONTAINS(list, "ip saddr 10.89.0.0/24 oifname != \"berth0\" masquerade");
		CHECK_STR_CONTAINS(list, "ip saddr 10.90.0.0/16 oifname != \"berth1\" masquerade");
		CHECK_STR_CONTAINS(list, "ct status dnat ip saddr 10.89.0.0/24 oifname \"berth0\" masquerade");
		CHECK_STR_CONTAINS(list, "ip saddr 127.0.0.0/8 oifname \"berth0\" masquerade");
		CHECK_STR_CONTAINS(list, "ct state established,related accept");
		CHECK_STR_CONTAINS(list, "iifname \"berth2\" oifname != \"berth2\" drop");
		CHECK_STR_CONTAINS(list, "type nat hook prerouting priority dstnat; policy accept;");
		CHECK_STR_CONTAINS(list, "type nat hook output priority -100; policy accept;");
		CHECK_STR_CONTAINS(list, "type filter hook forward priority filter; policy accept;");
		CHECK_STR_CONTAINS(list, "comment \"udp *:5353 -> 10.89.0.3:53\"");
		CHECK(strstr(list, "10.91.0.0/24 oifname != \"berth2\" masquerade") == NULL);
	} else {
		printf("(nft not installed: read back through netlink dumps only)\n");
	}

	/* Smaller: one network, one port. Nothing of the old one stays. */
	struct nft_ruleset small = {.nets = rs.nets, .nnets = 1, .ports = rs.ports, .nports = 1};
	CHECK_EQ_INT(nft_apply(&small, &err), 0);
	CHECK_EQ_INT(nft_inspect(&st, &err), 0);
	CHECK_EQ_INT(st.tables, 1);
	CHECK_EQ_INT(st.rules, expected_rules(&small));
	list = nft_list();
	if (list[0] != '\0') {
		CHECK(strstr(list, "5353") == NULL);
		CHECK(strstr(list, "berth1") == NULL);
		CHECK_STR_CONTAINS(list, "dnat to 10.89.0.2:80");
	}

	/* Nothing at all: the chains stay, empty of ports and networks. */
	struct nft_ruleset none = {0};
	CHECK_EQ_INT(nft_apply(&none, &err), 0);
	CHECK_EQ_INT(nft_inspect(&st, &err), 0);
	CHECK_EQ_INT(st.rules, expected_rules(&none));

	CHECK_EQ_INT(nft_flush(&err), 0);
	CHECK_EQ_INT(nft_inspect(&st, &err), 0);
	CHECK_EQ_INT(st.has_berth, 0);
	CHECK_EQ_INT(st.tables, 0);
	CHECK_EQ_INT(st.rules, 0);
	/* A missing table is fine to flush. */
	CHECK_EQ_INT(nft_flush(&err), 0);
}

static void test_thousand_applies_leave_one_table(void)
{
	if (!live) {
		return;
	}
	struct nft_ruleset base = small_ruleset();
	enum { NPORTS = 40 };
	struct nft_port ports[NPORTS];
	struct berr err = {0};
	int failures = 0;
	int wrong = 0;
	size_t last = 0;
	for (int i = 0; i < 1000; i++) {
		size_t n = (size_t)((i * 7) % NPORTS);
		for (size_t j = 0; j < n; j++) {
			ports[j] = (struct nft_port){
				.proto = (j % 2) ? IPPROTO_UDP : IPPROTO_TCP,
				.host_port = (uint16_t)(10000 + i * 3 + j),
				.addr = htonl(0x0a590000u + 2 + (uint32_t)j),
				.port = (uint16_t)(80 + j),
			};
		}
		struct nft_ruleset rs = {.nets = base.nets, .nnets = 1 + (size_t)(i % 3), .ports = ports, .nports = n};
		if (nft_apply(&rs, &err) < 0) {
			if (failures++ == 0) {
				fprintf(stderr, "apply %d: %s\n", i, err.msg);
			}
		}
		if (i % 100 == 99) {
			struct nft_state st;
			if (nft_inspect(&st, &err) < 0 || st.tables != 1 || st.rules != expected_rules(&rs)) {
				wrong++;
			}
		}
		last = n;
	}
	CHECK_EQ_INT(failures, 0);
	CHECK_EQ_INT(wrong, 0);
	struct nft_state st;
	CHECK_EQ_INT(nft_inspect(&st, &err), 0);
	CHECK_EQ_INT(st.tables, 1);
	CHECK_EQ_INT(st.chains, 6);
	struct nft_ruleset final = {.nets = base.nets, .nnets = 1 + (size_t)(999 % 3), .nports = last};
	CHECK_EQ_INT(st.rules, expected_rules(&final));
	CHECK_EQ_INT(nft_flush(&err), 0);
}

static void test_large_ruleset(void)
{
	/* More than the default socket send buffer holds in one message. */
	if (!live) {
		return;
	}
	size_t n = 3000;
	struct nft_port *ports = calloc(n, sizeof(*ports));
	for (size_t j = 0; j < n; j++) {
		ports[j] = (struct nft_port){IPPROTO_TCP, 0, (uint16_t)(20000 + j), htonl(0x0a590002u), 80};
	}
	struct nft_ruleset rs = {.ports = ports, .nports = n};
	struct berr err = {0};
	int ret = nft_apply(&rs, &err);
	CHECK_EQ_INT(ret, 0);
	if (ret < 0) {
		fprintf(stderr, "large apply: %s\n", err.msg);
	}
	struct nft_state st;
	CHECK_EQ_INT(nft_inspect(&st, &err), 0);
	CHECK_EQ_INT(st.rules, expected_rules(&rs));
	CHECK_EQ_INT(nft_flush(&err), 0);
	free(ports);
}

static void test_refusal_is_named(void)
{
	/* Without CAP_NET_ADMIN the kernel refuses the batch at its start;
	 * the error says so, nothing hangs, and the table stays as it was. */
	if (!live) {
		return;
	}
	struct nft_port one = {IPPROTO_TCP, 0, 8080, ip("10.89.0.2"), 80};
	struct nft_ruleset before = {.ports = &one, .nports = 1};
	struct berr err = {0};
	CHECK_EQ_INT(nft_apply(&before, &err), 0);
	pid_t pid = fork();
	if (pid == 0) {
		if (setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0) {
			_exit(2);
		}
		struct nft_ruleset rs = small_ruleset();
		int ret = nft_apply(&rs, &err);
		_exit(ret == -EPERM && strstr(err.msg, "nf_tables refused batch begin") != NULL ? 0 : 1);
	}
	int status = 0;
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	struct nft_state st;
	CHECK_EQ_INT(nft_inspect(&st, &err), 0);
	CHECK_EQ_INT(st.has_berth, 1);
	CHECK_EQ_INT(st.rules, expected_rules(&before));
	CHECK_EQ_INT(nft_flush(&err), 0);
}

static void test_sysctls(void)
{
	if (!live) {
		return;
	}
	struct berr err = {0};
	CHECK_EQ_INT(nft_host_sysctls(&err), 0);
	char buf[8] = "";
	FILE *f = fopen("/proc/sys/net/ipv4/conf/all/route_localnet", "re");
	if (f != NULL) {
		CHECK(fgets(buf, sizeof(buf), f) != NULL);
		fclose(f);
	}
	CHECK(buf[0] == '1');
}

int main(void)
{
	RUN(test_batch_is_well_formed);
	RUN(test_port_bytes);
	RUN(test_rejects_bad_descriptions);
	/* The host's own rules are never touched: everything live happens in
	 * a network namespace of this process's own. */
	if (geteuid() == 0 && unshare(CLONE_NEWNET) == 0) {
		live = 1;
	} else {
		printf("(not root or no network namespaces: kernel tests skipped)\n");
	}
	RUN(test_apply_and_read_back);
	RUN(test_thousand_applies_leave_one_table);
	RUN(test_large_ruleset);
	RUN(test_refusal_is_named);
	RUN(test_sysctls);
	return check_summary();
}
