/* The link messages init reads to start DHCP on links that come later:
 * RTM_NEWLINK with its name and flags is read; other messages, truncated
 * ones and attributes that overrun are skipped. */
#include <linux/if.h>
#include <linux/if_arp.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <string.h>

#include "check.h"
#include "init/netwatch.h"

struct seen {
	struct netwatch_link links[8];
	int n;
};

static void collect(const struct netwatch_link *link, void *ctx)
{
	struct seen *s = ctx;
	if (s->n < 8) {
		s->links[s->n++] = *link;
	}
}

/* Appends one link message at off; returns the new end. */
static size_t put_link(unsigned char *buf, size_t off, unsigned short type, unsigned flags, const char *name)
{
	struct nlmsghdr *h = (struct nlmsghdr *)(buf + off);
	struct ifinfomsg *ifi = NLMSG_DATA(h);
	memset(h, 0, NLMSG_SPACE(sizeof(*ifi)) + RTA_SPACE(16));
	ifi->ifi_type = ARPHRD_ETHER;
	ifi->ifi_flags = flags;
	struct rtattr *a = IFLA_RTA(ifi);
	a->rta_type = IFLA_IFNAME;
	a->rta_len = (unsigned short)RTA_LENGTH(strlen(name) + 1);
	memcpy(RTA_DATA(a), name, strlen(name) + 1);
	h->nlmsg_type = type;
	h->nlmsg_len = NLMSG_LENGTH(sizeof(*ifi)) + RTA_ALIGN(a->rta_len);
	return off + NLMSG_ALIGN(h->nlmsg_len);
}

static void test_links_are_read(void)
{
	unsigned char buf[1024] __attribute__((aligned(4)));
	size_t len = put_link(buf, 0, RTM_NEWLINK, IFF_UP | IFF_LOWER_UP, "eth1");
	len = put_link(buf, len, RTM_DELLINK, 0, "eth9");
	len = put_link(buf, len, RTM_NEWLINK, IFF_UP, "eth2");
	struct seen s = {.n = 0};
	CHECK_EQ_INT(netwatch_parse(buf, len, collect, &s), 2);
	CHECK(strcmp(s.links[0].name, "eth1") == 0);
	CHECK(s.links[0].flags & IFF_LOWER_UP);
	CHECK_EQ_INT(s.links[0].type, ARPHRD_ETHER);
	CHECK(strcmp(s.links[1].name, "eth2") == 0);
	CHECK(!(s.links[1].flags & IFF_LOWER_UP));
}

static void test_bad_messages_are_skipped(void)
{
	unsigned char buf[1024] __attribute__((aligned(4)));
	struct seen s = {.n = 0};
	size_t len = put_link(buf, 0, RTM_NEWLINK, IFF_UP, "eth1");
	/* Cut short: the header says more than there is. */
	CHECK_EQ_INT(netwatch_parse(buf, len - 8, collect, &s), 0);
	/* A name attribute that claims more than its message. */
	struct nlmsghdr *h = (struct nlmsghdr *)buf;
	struct rtattr *a = IFLA_RTA((struct ifinfomsg *)NLMSG_DATA(h));
	a->rta_len = 200;
	CHECK_EQ_INT(netwatch_parse(buf, len, collect, &s), 0);
	/* An unterminated name. */
	len = put_link(buf, 0, RTM_NEWLINK, IFF_UP, "eth1");
	a = IFLA_RTA((struct ifinfomsg *)NLMSG_DATA(h));
	memset(RTA_DATA(a), 'x', RTA_PAYLOAD(a));
	CHECK_EQ_INT(netwatch_parse(buf, len, collect, &s), 0);
	CHECK_EQ_INT(s.n, 0);
}

int main(void)
{
	RUN(test_links_are_read);
	RUN(test_bad_messages_are_skipped);
	return check_summary();
}
