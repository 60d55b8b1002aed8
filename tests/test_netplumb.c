/* Container network plumbing against the real kernel: persistent network
 * namespaces, the rtnetlink requests, bridges and endpoints, traffic
 * between two namespaces through a bridge, and 1000 attach/detach cycles
 * that must leave no link, address, route or fd behind.
 * Needs root. The test first moves into private network and mount
 * namespaces, so nothing of the build machine's network is touched and
 * every namespace file lives on a private tmpfs. Checks that the kernel
 * cannot support (no bridge or veth driver) are skipped, saying so. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "lib/cleanup.h"
#include "net/endpoint.h"
#include "net/netns.h"
#include "net/rtnl.h"

#define LEAK_CYCLES 1000
#define BRIDGE "brtest0"

/* Like CHECK_EQ_INT(call, 0), showing err's message when it fails. */
#define CHECK_OK(call)                                                 \
	do {                                                           \
		int check_ok_ = (call);                                \
		if (check_ok_ != 0) {                                  \
			fprintf(stderr, "  %s: %s\n", #call, err.msg); \
		}                                                      \
		CHECK_EQ_INT(check_ok_, 0);                            \
	} while (0)

static char tmpdir[] = "/tmp/test_netplumb.XXXXXX";
static int have_bridge;
static int have_veth;
static int have_sysfs;

static uint32_t ip(const char *text)
{
	struct in_addr a;
	if (inet_pton(AF_INET, text, &a) != 1) {
		abort();
	}
	return a.s_addr;
}

static const char *ns_path(const char *name)
{
	static char paths[4][256];
	static int next;
	char *p = paths[next++ % 4];
	snprintf(p, 256, "%s/%s", tmpdir, name);
	return p;
}

static int skip_unless(int have, const char *what)
{
	if (!have) {
		printf("  skip: the kernel has no %s support\n", what);
	}
	return !have;
}

/* ---- snapshots for the leak checks ---- */

/* The namespace's links, IPv4 addresses and routes as one text. */
static char *snapshot(struct nl_sock *nl)
{
	struct berr err;
	struct rtnl_link *links = NULL;
	struct rtnl_addr4 *addrs = NULL;
	struct rtnl_route4 *routes = NULL;
	size_t nlinks = 0;
	size_t naddrs = 0;
	size_t nroutes = 0;
	if (rtnl_link_list(nl, &links, &nlinks, &err) < 0 || rtnl_addr4_list(nl, &addrs, &naddrs, &err) < 0 ||
	    rtnl_route4_list(nl, &routes, &nroutes, &err) < 0) {
		fprintf(stderr, "snapshot: %s\n", err.msg);
		abort();
	}
	size_t size = 64 + nlinks * 64 + naddrs * 64 + nroutes * 96;
	char *s = calloc(1, size);
	size_t len = 0;
	for (size_t i = 0; i < nlinks; i++) {
		/* Only IFF_UP: carrier flags follow the kernel's linkwatch,
		 * up to a second late. */
		len += (size_t)snprintf(s + len, size - len, "link %d %s %x %d\n", links[i].index, links[i].name,
					links[i].flags & IFF_UP, links[i].master);
	}
	for (size_t i = 0; i < naddrs; i++) {
		len += (size_t)snprintf(s + len, size - len, "addr %d %08x/%d\n", addrs[i].index, addrs[i].addr,
					addrs[i].prefix);
	}
	for (size_t i = 0; i < nroutes; i++) {
		len += (size_t)snprintf(s + len, size - len, "route %08x/%d %08x %d %u\n", routes[i].dst,
					routes[i].prefix, routes[i].gateway, routes[i].oif, routes[i].table);
	}
	free(links);
	free(addrs);
	free(routes);
	return s;
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;
	for (struct dirent *de; d != NULL && (de = readdir(d)) != NULL;) {
		n += de->d_name[0] != '.';
	}
	if (d != NULL) {
		closedir(d);
	}
	return n;
}

static int link_exists(struct nl_sock *nl, const char *name)
{
	return nl_link_index(nl, name, NULL) > 0;
}

/* ---- network namespaces ---- */

static void test_netns_lifecycle(void)
{
	struct berr err;
	const char *a = ns_path("life");
	CHECK_EQ_INT(netns_exists(a), 0);
	CHECK_OK(netns_create(a, &err));
	CHECK_EQ_INT(netns_exists(a), 1);
	CHECK_EQ_INT(netns_create(a, &err), -EEXIST);
	CHECK_STR_CONTAINS(err.msg, a);

	/* A different namespace from ours, with lo up inside. */
	struct stat ours;
	struct stat theirs;
	CHECK_EQ_INT(stat("/proc/self/ns/net", &ours), 0);
	CHECK_EQ_INT(stat(a, &theirs), 0);
	CHECK(ours.st_ino != theirs.st_ino);
	struct nl_sock nl;
	CHECK_OK(netns_rtnl_open(a, &nl, &err));
	struct rtnl_link lo;
	CHECK_OK(rtnl_link_get(&nl, "lo", &lo, &err));
	CHECK(lo.flags & IFF_UP);
	struct rtnl_link *links = NULL;
	size_t n = 0;
	CHECK_OK(rtnl_link_list(&nl, &links, &n, &err));
	CHECK_EQ_INT(n, 1);
	free(links);
	nl_close(&nl);

	/* Removal, twice, and creation again on the same path. */
	CHECK_OK(netns_remove(a, &err));
	CHECK_EQ_INT(netns_exists(a), 0);
	CHECK(access(a, F_OK) < 0);
	CHECK_OK(netns_remove(a, &err));
	CHECK_OK(netns_create(a, &err));

	/* A leftover plain file (a reboot's) is reused. */
	const char *b = ns_path("leftover");
	int fd = open(b, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	close(fd);
	CHECK_EQ_INT(netns_exists(b), 0);
	CHECK_EQ_INT(netns_open(b, &err), -EINVAL);
	CHECK_STR_CONTAINS(err.msg, b);
	CHECK_OK(netns_create(b, &err));
	CHECK_EQ_INT(netns_exists(b), 1);
	CHECK_OK(netns_remove(b, &err));

	/* Errors name the path. */
	CHECK(netns_create("/nonexistent-berth-dir/x", &err) < 0);
	CHECK_STR_CONTAINS(err.msg, "/nonexistent-berth-dir/x");
	CHECK(netns_rtnl_open("/nonexistent-berth-dir/x", &nl, &err) < 0);
	CHECK_STR_CONTAINS(err.msg, "/nonexistent-berth-dir/x");
	CHECK_OK(netns_remove(a, &err));
}

/* ---- rtnetlink requests ---- */

static void test_rtnl_links(void)
{
	if (skip_unless(have_bridge && have_veth, "bridge or veth")) {
		return;
	}
	struct berr err;
	struct nl_sock nl;
	CHECK_OK(nl_open(&nl, &err));
	uint8_t mac[6] = {0x02, 0x11, 0x22, 0x33, 0x44, 0x55};
	CHECK_OK(rtnl_bridge_add(&nl, "rtbr0", mac, &err));
	CHECK_EQ_INT(rtnl_bridge_add(&nl, "rtbr0", mac, &err), -EEXIST);
	CHECK_STR_CONTAINS(err.msg, "rtbr0");
	struct rtnl_link l;
	CHECK_OK(rtnl_link_get(&nl, "rtbr0", &l, &err));
	CHECK(strcmp(l.kind, "bridge") == 0);
	CHECK(l.has_mac && memcmp(l.mac, mac, 6) == 0);
	CHECK_OK(rtnl_link_set_up(&nl, "rtbr0", 1, &err));
	CHECK_OK(rtnl_link_get(&nl, "rtbr0", &l, &err));
	CHECK(l.flags & IFF_UP);
	/* Linux 6.1 renames only links that are down. */
	CHECK_OK(rtnl_link_set_up(&nl, "rtbr0", 0, &err));
	CHECK_OK(rtnl_link_rename(&nl, "rtbr0", "rtbr1", &err));
	CHECK_EQ_INT(nl_link_index(&nl, "rtbr0", &err), -ENODEV);
	CHECK_STR_CONTAINS(err.msg, "rtbr0");
	uint8_t mac2[6] = {0x02, 0x99, 0x88, 0x77, 0x66, 0x55};
	CHECK_OK(rtnl_link_set_mac(&nl, "rtbr1", mac2, &err));
	CHECK_OK(rtnl_link_get(&nl, "rtbr1", &l, &err));
	CHECK(memcmp(l.mac, mac2, 6) == 0);

	/* A veth pair in our namespace, one end into the bridge. */
	CHECK_OK(rtnl_veth_add(&nl, "rtv0", "rtv1", -1, NULL, 1400, &err));
	struct rtnl_link v;
	CHECK_OK(rtnl_link_get(&nl, "rtv1", &v, &err));
	CHECK(strcmp(v.kind, "veth") == 0);
	CHECK_EQ_INT(v.mtu, 1400);
	CHECK_OK(rtnl_link_set_master(&nl, "rtv0", "rtbr1", &err));
	CHECK_OK(rtnl_link_get(&nl, "rtv0", &v, &err));
	CHECK_EQ_INT(v.master, l.index);
	CHECK_OK(rtnl_link_set_master(&nl, "rtv0", NULL, &err));
	CHECK_OK(rtnl_link_get(&nl, "rtv0", &v, &err));
	CHECK_EQ_INT(v.master, 0);
	CHECK_EQ_INT(rtnl_link_set_master(&nl, "rtv0", "nosuchbr", &err), -ENODEV);
	CHECK_STR_CONTAINS(err.msg, "nosuchbr");

	/* Move one end into another namespace: gone here, there inside. */
	const char *ns = ns_path("move");
	CHECK_OK(netns_create(ns, &err));
	int nsfd = netns_open(ns, &err);
	CHECK(nsfd >= 0);
	CHECK_OK(rtnl_link_set_netns(&nl, "rtv1", nsfd, &err));
	CHECK(!link_exists(&nl, "rtv1"));
	struct nl_sock inner;
	CHECK_OK(netns_rtnl_open(ns, &inner, &err));
	CHECK(link_exists(&inner, "rtv1"));
	/* Names are per namespace: an rtv0 inside is no clash. */
	CHECK_OK(rtnl_link_rename(&inner, "rtv1", "rtv0", &err));
	CHECK(link_exists(&inner, "rtv0"));
	CHECK_OK(rtnl_link_del(&nl, "rtv0", &err));
	CHECK(!link_exists(&inner, "rtv0"));
	CHECK_EQ_INT(rtnl_link_del(&nl, "rtv0", &err), -ENODEV);
	CHECK_STR_CONTAINS(err.msg, "rtv0");
	close(nsfd);
	nl_close(&inner);
	CHECK_OK(netns_remove(ns, &err));

	/* Addresses: add (twice is fine), list, delete, delete again. */
	CHECK_OK(rtnl_addr4_add(&nl, "rtbr1", ip("10.77.0.1"), 24, &err));
	CHECK_OK(rtnl_addr4_add(&nl, "rtbr1", ip("10.77.0.1"), 24, &err));
	struct rtnl_addr4 *addrs = NULL;
	size_t naddrs = 0;
	CHECK_OK(rtnl_addr4_list(&nl, &addrs, &naddrs, &err));
	int found = 0;
	for (size_t i = 0; i < naddrs; i++) {
		if (addrs[i].index == l.index) {
			found++;
			CHECK_EQ_INT(addrs[i].addr, ip("10.77.0.1"));
			CHECK_EQ_INT(addrs[i].prefix, 24);
			CHECK(strcmp(addrs[i].label, "rtbr1") == 0);
		}
	}
	CHECK_EQ_INT(found, 1);
	free(addrs);
	CHECK_OK(rtnl_addr4_del(&nl, "rtbr1", ip("10.77.0.1"), 24, &err));
	CHECK_EQ_INT(rtnl_addr4_del(&nl, "rtbr1", ip("10.77.0.1"), 24, &err), -EADDRNOTAVAIL);
	CHECK_STR_CONTAINS(err.msg, "10.77.0.1/24");
	CHECK_STR_CONTAINS(err.msg, "rtbr1");

	/* Bad names never reach the kernel. */
	CHECK_EQ_INT(rtnl_bridge_add(&nl, "a-name-far-too-long", mac, &err), -EINVAL);
	CHECK_EQ_INT(rtnl_bridge_add(&nl, "a/b", mac, &err), -EINVAL);
	CHECK_OK(rtnl_link_del(&nl, "rtbr1", &err));
	nl_close(&nl);
}

/* lib/netlink's calls (init's) on a socket in another namespace act
 * there: links are looked up through the socket, not in the caller's
 * namespace, where a link of the same name may exist or not. */
static void test_lib_netlink_in_netns(void)
{
	if (skip_unless(have_veth, "veth")) {
		return;
	}
	struct berr err;
	const char *ns = ns_path("libnl");
	CHECK_OK(netns_create(ns, &err));
	struct nl_sock inner;
	CHECK_OK(netns_rtnl_open(ns, &inner, &err));
	CHECK_OK(rtnl_veth_add(&inner, "lnl0", "lnl1", -1, NULL, 0, &err));
	CHECK_OK(nl_link_set_mtu(&inner, "lnl0", 1280, &err));
	CHECK_OK(nl_link_up(&inner, "lnl1", &err));
	CHECK_OK(nl_link_up(&inner, "lnl0", &err));
	uint32_t a = ip("10.66.0.2");
	uint32_t gw = ip("10.66.0.1");
	uint32_t dst = ip("10.67.0.0");
	CHECK_OK(nl_addr_add(&inner, "lnl0", AF_INET, &a, 24, &err));
	CHECK_OK(nl_route_add(&inner, "lnl0", AF_INET, &dst, 16, &gw, &err));
	CHECK_OK(nl_route_add(&inner, "lnl0", AF_INET, NULL, 0, &gw, &err));
	if (access("/proc/sys/net/ipv6", F_OK) == 0) {
		struct in6_addr a6;
		inet_pton(AF_INET6, "fd00:66::2", &a6);
		CHECK_OK(nl_addr_add(&inner, "lnl0", AF_INET6, &a6, 64, &err));
	}
	struct rtnl_link l;
	CHECK_OK(rtnl_link_get(&inner, "lnl0", &l, &err));
	CHECK_EQ_INT(l.mtu, 1280);
	CHECK(l.flags & IFF_UP);
	struct rtnl_route4 *routes = NULL;
	size_t n = 0;
	CHECK_OK(rtnl_route4_list(&inner, &routes, &n, &err));
	int found = 0;
	for (size_t i = 0; i < n; i++) {
		found += routes[i].oif == l.index && routes[i].gateway == gw &&
			 ((routes[i].prefix == 16 && routes[i].dst == dst) || routes[i].prefix == 0);
	}
	CHECK_EQ_INT(found, 2);
	free(routes);
	/* Not in our namespace. */
	CHECK_EQ_INT(nl_ifindex("lnl0", NULL), -ENODEV);
	CHECK_EQ_INT(nl_link_up(&inner, "nosuchlink", &err), -ENODEV);
	CHECK_STR_CONTAINS(err.msg, "nosuchlink");
	nl_close(&inner);
	CHECK_OK(netns_remove(ns, &err));
}

/* ---- bridges ---- */

static void test_bridge_ensure(void)
{
	if (skip_unless(have_bridge && have_veth, "bridge or veth")) {
		return;
	}
	struct berr err;
	struct net_bridge b = {.ifname = "brens0", .gateway = ip("10.88.0.1"), .prefix = 16};
	CHECK_OK(net_bridge_ensure(&b, &err));
	CHECK_OK(net_bridge_ensure(&b, &err));
	struct nl_sock nl;
	CHECK_OK(nl_open(&nl, &err));
	struct rtnl_link l;
	CHECK_OK(rtnl_link_get(&nl, "brens0", &l, &err));
	CHECK(l.flags & IFF_UP);
	uint8_t mac[6];
	net_bridge_mac("brens0", mac);
	CHECK(memcmp(l.mac, mac, 6) == 0);
	CHECK(mac[0] & 0x02);
	CHECK(!(mac[0] & 0x01));

	/* A stale address (an older subnet) goes; the gateway stays, once. */
	CHECK_OK(rtnl_addr4_add(&nl, "brens0", ip("10.99.0.1"), 24, &err));
	CHECK_OK(net_bridge_ensure(&b, &err));
	struct rtnl_addr4 *addrs = NULL;
	size_t naddrs = 0;
	CHECK_OK(rtnl_addr4_list(&nl, &addrs, &naddrs, &err));
	int found = 0;
	for (size_t i = 0; i < naddrs; i++) {
		if (addrs[i].index == l.index) {
			found++;
			CHECK_EQ_INT(addrs[i].addr, ip("10.88.0.1"));
			CHECK_EQ_INT(addrs[i].prefix, 16);
		}
	}
	CHECK_EQ_INT(found, 1);
	free(addrs);

	/* Forwarding per bridge: on, or off for an internal network. */
	char buf[16] = "";
	FILE *f = fopen("/proc/sys/net/ipv4/conf/brens0/forwarding", "re");
	CHECK(f != NULL && fgets(buf, sizeof(buf), f) != NULL && buf[0] == '1');
	if (f != NULL) {
		fclose(f);
	}
	b.internal = 1;
	CHECK_OK(net_bridge_ensure(&b, &err));
	f = fopen("/proc/sys/net/ipv4/conf/brens0/forwarding", "re");
	CHECK(f != NULL && fgets(buf, sizeof(buf), f) != NULL && buf[0] == '0');
	if (f != NULL) {
		fclose(f);
	}
	if (have_sysfs) {
		CHECK(access("/sys/class/net/brens0/bridge", F_OK) == 0);
	}

	/* The host's subnets include the bridge's. */
	struct ipam_subnet *subs = NULL;
	size_t nsubs = 0;
	CHECK_OK(net_host_subnets(&subs, &nsubs, &err));
	found = 0;
	for (size_t i = 0; i < nsubs; i++) {
		found += subs[i].net == ip("10.88.0.0") && subs[i].prefix == 16;
		CHECK(subs[i].prefix > 0);
	}
	CHECK(found >= 1);
	free(subs);

	/* A link of that name that is no bridge is refused, not reused. */
	CHECK_OK(rtnl_veth_add(&nl, "notabr", "notabr-p", -1, NULL, 0, &err));
	struct net_bridge wrong = {.ifname = "notabr", .gateway = ip("10.87.0.1"), .prefix = 24};
	CHECK_EQ_INT(net_bridge_ensure(&wrong, &err), -EEXIST);
	CHECK_STR_CONTAINS(err.msg, "notabr");
	CHECK_EQ_INT(net_bridge_remove("notabr", &err), -EINVAL);
	CHECK_OK(rtnl_link_del(&nl, "notabr", &err));

	CHECK_OK(net_bridge_remove("brens0", &err));
	CHECK_OK(net_bridge_remove("brens0", &err));
	CHECK(!link_exists(&nl, "brens0"));
	nl_close(&nl);
}

/* ---- endpoints and traffic ---- */

static void endpoint_for(struct net_endpoint *e, const char *netns, const char *container, const char *addr)
{
	memset(e, 0, sizeof(*e));
	e->netns_path = netns;
	e->bridge = BRIDGE;
	net_host_ifname(container, "test_default", e->host_ifname);
	e->ifname = "eth0";
	e->addr = ip(addr);
	e->prefix = 24;
	e->gateway = ip("10.89.0.1");
	net_mac_from_addr(e->addr, e->mac);
}

/* Sends one datagram from a socket in netns `from` (NULL: ours) to addr:port
 * where a socket in netns `to` (NULL: ours) listens; returns 1 when it
 * arrived intact from the expected source. */
static int datagram_arrives(const char *from, uint32_t from_addr, const char *to, uint32_t to_addr, int port)
{
	struct berr err;
	auto_close int rx =
		to ? netns_socket(to, AF_INET, SOCK_DGRAM, 0, &err) : socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (rx < 0) {
		fprintf(stderr, "datagram: %s\n", err.msg);
		return 0;
	}
	auto_close int tx =
		from ? netns_socket(from, AF_INET, SOCK_DGRAM, 0, &err) : socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (tx < 0) {
		fprintf(stderr, "datagram: %s\n", err.msg);
		return 0;
	}
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr.s_addr = to_addr};
	struct timeval tv = {.tv_sec = 3};
	setsockopt(rx, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (bind(rx, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("datagram: bind");
		return 0;
	}
	static const char msg[] = "hello from the other namespace";
	if (sendto(tx, msg, sizeof(msg), 0, (struct sockaddr *)&sa, sizeof(sa)) != (ssize_t)sizeof(msg)) {
		perror("datagram: sendto");
		return 0;
	}
	char buf[128];
	struct sockaddr_in src;
	socklen_t srclen = sizeof(src);
	ssize_t n = recvfrom(rx, buf, sizeof(buf), 0, (struct sockaddr *)&src, &srclen);
	if (n < 0) {
		perror("datagram: recvfrom");
		return 0;
	}
	return n == (ssize_t)sizeof(msg) && memcmp(buf, msg, sizeof(msg)) == 0 && src.sin_addr.s_addr == from_addr;
}

static void test_endpoints_and_traffic(void)
{
	if (skip_unless(have_bridge && have_veth, "bridge or veth")) {
		return;
	}
	struct berr err;
	struct net_bridge b = {.ifname = BRIDGE, .gateway = ip("10.89.0.1"), .prefix = 24};
	CHECK_OK(net_bridge_ensure(&b, &err));
	struct nl_sock host;
	CHECK_OK(nl_open(&host, &err));
	struct rtnl_link br_before;
	CHECK_OK(rtnl_link_get(&host, BRIDGE, &br_before, &err));

	const char *a = ns_path("web");
	const char *bns = ns_path("db");
	CHECK_OK(netns_create(a, &err));
	CHECK_OK(netns_create(bns, &err));
	struct net_endpoint ea;
	struct net_endpoint eb;
	endpoint_for(&ea, a, "web", "10.89.0.2");
	endpoint_for(&eb, bns, "db", "10.89.0.3");
	CHECK_OK(net_endpoint_check(&ea, &err));
	CHECK_OK(net_endpoint_attach(&ea, &err));
	CHECK_OK(net_endpoint_attach(&eb, &err));
	CHECK_EQ_INT(net_endpoint_check(&ea, &err), 1);
	CHECK(strncmp(ea.host_ifname, "vb", 2) == 0 && strlen(ea.host_ifname) == 10);

	/* The bridge kept its MAC when its first ports came. */
	struct rtnl_link br_after;
	CHECK_OK(rtnl_link_get(&host, BRIDGE, &br_after, &err));
	CHECK(memcmp(br_before.mac, br_after.mac, 6) == 0);

	/* Inside: eth0 with the address, the MAC and the bridge's MTU, up, and
	 * a default route through the gateway. */
	struct nl_sock inner;
	CHECK_OK(netns_rtnl_open(a, &inner, &err));
	struct rtnl_link eth0;
	CHECK_OK(rtnl_link_get(&inner, "eth0", &eth0, &err));
	CHECK(eth0.flags & IFF_UP);
	static const uint8_t want_mac[6] = {0x02, 0x42, 10, 89, 0, 2};
	CHECK(memcmp(eth0.mac, want_mac, 6) == 0);
	CHECK_EQ_INT(eth0.mtu, br_after.mtu);
	struct rtnl_addr4 *addrs = NULL;
	size_t naddrs = 0;
	CHECK_OK(rtnl_addr4_list(&inner, &addrs, &naddrs, &err));
	int found = 0;
	for (size_t i = 0; i < naddrs; i++) {
		found += addrs[i].index == eth0.index && addrs[i].addr == ip("10.89.0.2") && addrs[i].prefix == 24;
	}
	CHECK_EQ_INT(found, 1);
	free(addrs);
	struct rtnl_route4 *routes = NULL;
	size_t nroutes = 0;
	CHECK_OK(rtnl_route4_list(&inner, &routes, &nroutes, &err));
	found = 0;
	for (size_t i = 0; i < nroutes; i++) {
		found += routes[i].prefix == 0 && routes[i].gateway == ip("10.89.0.1") && routes[i].oif == eth0.index &&
			 routes[i].table == RT_TABLE_MAIN;
	}
	CHECK_EQ_INT(found, 1);
	free(routes);
	/* On the host side: the veth is a port of the bridge. */
	struct rtnl_link hv;
	CHECK_OK(rtnl_link_get(&host, ea.host_ifname, &hv, &err));
	CHECK_EQ_INT(hv.master, br_after.index);
	CHECK(hv.flags & IFF_UP);
	CHECK(!link_exists(&host, "eth0"));

	/* Traffic: container to container, container to the gateway, and the
	 * gateway to a container. */
	CHECK(datagram_arrives(a, ip("10.89.0.2"), bns, ip("10.89.0.3"), 5000));
	CHECK(datagram_arrives(bns, ip("10.89.0.3"), a, ip("10.89.0.2"), 5001));
	CHECK(datagram_arrives(a, ip("10.89.0.2"), NULL, ip("10.89.0.1"), 5002));
	CHECK(datagram_arrives(NULL, ip("10.89.0.1"), bns, ip("10.89.0.3"), 5003));

	/* Attaching again (berthd after a crash) replaces the pair. */
	CHECK_OK(net_endpoint_attach(&ea, &err));
	CHECK(datagram_arrives(a, ip("10.89.0.2"), bns, ip("10.89.0.3"), 5004));

	/* A second network in the same container: eth1, no default route. */
	struct net_bridge b2 = {.ifname = "brtest1", .gateway = ip("10.90.0.1"), .prefix = 24, .internal = 1};
	CHECK_OK(net_bridge_ensure(&b2, &err));
	struct net_endpoint ea2;
	memset(&ea2, 0, sizeof(ea2));
	ea2.netns_path = a;
	ea2.bridge = "brtest1";
	net_host_ifname("web", "test_back", ea2.host_ifname);
	ea2.ifname = "eth1";
	ea2.addr = ip("10.90.0.2");
	ea2.prefix = 24;
	CHECK(strcmp(ea2.host_ifname, ea.host_ifname) != 0);
	CHECK_OK(net_endpoint_attach(&ea2, &err));
	struct rtnl_link eth1;
	CHECK_OK(rtnl_link_get(&inner, "eth1", &eth1, &err));
	static const uint8_t want_mac2[6] = {0x02, 0x42, 10, 90, 0, 2};
	CHECK(memcmp(eth1.mac, want_mac2, 6) == 0);
	CHECK(datagram_arrives(a, ip("10.90.0.2"), NULL, ip("10.90.0.1"), 5005));
	CHECK_OK(net_endpoint_detach(ea2.host_ifname, &err));
	CHECK(!link_exists(&inner, "eth1"));
	CHECK_OK(net_bridge_remove("brtest1", &err));

	/* Detach: both ends go; twice is fine. */
	CHECK_OK(net_endpoint_detach(ea.host_ifname, &err));
	CHECK(!link_exists(&host, ea.host_ifname));
	CHECK(!link_exists(&inner, "eth0"));
	CHECK_OK(net_endpoint_detach(ea.host_ifname, &err));
	CHECK_OK(net_endpoint_check(&ea, &err));
	/* The namespace stays, and attaches again with the same address. */
	CHECK_OK(net_endpoint_attach(&ea, &err));
	CHECK(datagram_arrives(bns, ip("10.89.0.3"), a, ip("10.89.0.2"), 5006));
	CHECK_OK(net_endpoint_detach(ea.host_ifname, &err));
	CHECK_OK(net_endpoint_detach(eb.host_ifname, &err));
	nl_close(&inner);
	nl_close(&host);
	CHECK_OK(netns_remove(a, &err));
	CHECK_OK(netns_remove(bns, &err));
}

static void test_failed_attach_leaves_nothing(void)
{
	if (skip_unless(have_bridge && have_veth, "bridge or veth")) {
		return;
	}
	struct berr err;
	struct net_bridge b = {.ifname = BRIDGE, .gateway = ip("10.89.0.1"), .prefix = 24};
	CHECK_OK(net_bridge_ensure(&b, &err));
	const char *ns = ns_path("failing");
	CHECK_OK(netns_create(ns, &err));
	struct nl_sock host;
	struct nl_sock inner;
	CHECK_OK(nl_open(&host, &err));
	CHECK_OK(netns_rtnl_open(ns, &inner, &err));
	char *host_before = snapshot(&host);
	char *inner_before = snapshot(&inner);

	struct net_endpoint e;
	endpoint_for(&e, ns, "failing", "10.89.0.50");
	e.bridge = "nosuchbridge";
	CHECK_EQ_INT(net_endpoint_attach(&e, &err), -ENODEV);
	CHECK_STR_CONTAINS(err.msg, "nosuchbridge");
	/* The inside name is taken (lo): the pair is never made. */
	endpoint_for(&e, ns, "failing", "10.89.0.50");
	e.ifname = "lo";
	CHECK_EQ_INT(net_endpoint_attach(&e, &err), -EEXIST);
	CHECK_STR_CONTAINS(err.msg, e.host_ifname);
	/* A gateway off the subnet: the pair is made, then removed. */
	endpoint_for(&e, ns, "failing", "10.89.0.50");
	e.gateway = ip("10.123.0.1");
	CHECK(net_endpoint_attach(&e, &err) < 0);
	CHECK_STR_CONTAINS(err.msg, "10.123.0.1");
	CHECK_STR_CONTAINS(err.msg, ns);
	/* Not a namespace. */
	endpoint_for(&e, tmpdir, "failing", "10.89.0.50");
	CHECK_EQ_INT(net_endpoint_attach(&e, &err), -EINVAL);
	CHECK_STR_CONTAINS(err.msg, tmpdir);
	/* Not an endpoint: no address. */
	endpoint_for(&e, ns, "failing", "10.89.0.50");
	e.addr = 0;
	CHECK_EQ_INT(net_endpoint_attach(&e, &err), -EINVAL);

	char *host_after = snapshot(&host);
	char *inner_after = snapshot(&inner);
	CHECK(strcmp(host_before, host_after) == 0);
	CHECK(strcmp(inner_before, inner_after) == 0);
	free(host_before);
	free(host_after);
	free(inner_before);
	free(inner_after);
	nl_close(&inner);
	nl_close(&host);
	CHECK_OK(netns_remove(ns, &err));
}

static void test_no_leak_after_many_cycles(void)
{
	if (skip_unless(have_bridge && have_veth, "bridge or veth")) {
		return;
	}
	struct berr err;
	struct net_bridge b = {.ifname = BRIDGE, .gateway = ip("10.89.0.1"), .prefix = 24};
	CHECK_OK(net_bridge_ensure(&b, &err));
	const char *ns = ns_path("cycles");
	CHECK_OK(netns_create(ns, &err));
	struct nl_sock host;
	struct nl_sock inner;
	CHECK_OK(nl_open(&host, &err));
	CHECK_OK(netns_rtnl_open(ns, &inner, &err));
	char *host_before = snapshot(&host);
	char *inner_before = snapshot(&inner);
	int fds_before = count_fds();

	struct timespec t0;
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int failures = 0;
	for (int i = 0; i < LEAK_CYCLES && failures < 5; i++) {
		char addr[32];
		snprintf(addr, sizeof(addr), "10.89.0.%d", 10 + i % 200);
		struct net_endpoint e;
		endpoint_for(&e, ns, "cycler", addr);
		if (net_endpoint_attach(&e, &err) < 0 || net_endpoint_detach(e.host_ifname, &err) < 0) {
			fprintf(stderr, "cycle %d: %s\n", i, err.msg);
			failures++;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	CHECK_EQ_INT(failures, 0);
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("  %d attach/detach cycles in %.1f s\n", LEAK_CYCLES, secs);

	char *host_after = snapshot(&host);
	char *inner_after = snapshot(&inner);
	CHECK(strcmp(host_before, host_after) == 0);
	CHECK(strcmp(inner_before, inner_after) == 0);
	if (strcmp(host_before, host_after) != 0) {
		fprintf(stderr, "before:\n%s\nafter:\n%s\n", host_before, host_after);
	}
	CHECK_EQ_INT(count_fds(), fds_before);
	free(host_before);
	free(host_after);
	free(inner_before);
	free(inner_after);
	nl_close(&inner);
	nl_close(&host);
	CHECK_OK(netns_remove(ns, &err));
	CHECK_OK(net_bridge_remove(BRIDGE, &err));
}

static void test_names_are_stable(void)
{
	char a[IFNAMSIZ];
	char b[IFNAMSIZ];
	net_host_ifname("web", "app_default", a);
	net_host_ifname("web", "app_default", b);
	CHECK(strcmp(a, b) == 0);
	net_host_ifname("web", "app_back", b);
	CHECK(strcmp(a, b) != 0);
	net_host_ifname("we", "bapp_default", b);
	CHECK(strcmp(a, b) != 0);
	net_bridge_ifname("app_default", a);
	CHECK(strncmp(a, "br-", 3) == 0 && strlen(a) == 15);
	uint8_t mac[6];
	net_mac_from_addr(ip("172.17.0.2"), mac);
	static const uint8_t want[6] = {0x02, 0x42, 172, 17, 0, 2};
	CHECK(memcmp(mac, want, 6) == 0);
}

/* Moves the test into its own network and mount namespaces, with a private
 * tmpfs for namespace files and a sysfs that shows our links. */
static int enter_sandbox(void)
{
	if (geteuid() != 0) {
		printf("skip: test_netplumb needs root (network and mount namespaces)\n");
		return -1;
	}
	if (unshare(CLONE_NEWNET | CLONE_NEWNS) < 0) {
		printf("skip: cannot unshare network and mount namespaces: %s\n", strerror(errno));
		return -1;
	}
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		printf("skip: cannot make / private: %s\n", strerror(errno));
		return -1;
	}
	if (mkdtemp(tmpdir) == NULL) {
		printf("skip: cannot create %s: %s\n", tmpdir, strerror(errno));
		return -1;
	}
	if (mount("tmpfs", tmpdir, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0700") < 0) {
		printf("skip: cannot mount a tmpfs on %s: %s\n", tmpdir, strerror(errno));
		rmdir(tmpdir);
		return -1;
	}
	/* A sysfs keeps the network namespace of whoever mounted it; the
	 * host's /sys would show the host's links. */
	have_sysfs = mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) == 0;
	if (!have_sysfs) {
		printf("  note: no fresh sysfs (%s); /sys checks skipped\n", strerror(errno));
	}
	struct berr err;
	struct nl_sock nl;
	if (nl_open(&nl, &err) < 0 || nl_link_up(&nl, "lo", &err) < 0) {
		printf("skip: %s\n", err.msg);
		return -1;
	}
	uint8_t mac[6] = {0x02, 0, 0, 0, 0, 1};
	have_bridge = rtnl_bridge_add(&nl, "brprobe", mac, &err) == 0;
	if (!have_bridge) {
		printf("  note: no bridges: %s\n", err.msg);
	}
	have_veth = rtnl_veth_add(&nl, "vprobe0", "vprobe1", -1, NULL, 0, &err) == 0;
	if (!have_veth) {
		printf("  note: no veth pairs: %s\n", err.msg);
	}
	(void)rtnl_link_del(&nl, "brprobe", NULL);
	(void)rtnl_link_del(&nl, "vprobe0", NULL);
	nl_close(&nl);
	return 0;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (enter_sandbox() < 0) {
		return check_summary();
	}
	RUN(test_names_are_stable);
	RUN(test_netns_lifecycle);
	RUN(test_rtnl_links);
	RUN(test_lib_netlink_in_netns);
	RUN(test_bridge_ensure);
	RUN(test_endpoints_and_traffic);
	RUN(test_failed_attach_leaves_nothing);
	RUN(test_no_leak_after_many_cycles);
	/* The directory under the tmpfs is the host's: it goes too. */
	if (umount2(tmpdir, MNT_DETACH) < 0 || rmdir(tmpdir) < 0) {
		fprintf(stderr, "remove %s: %s\n", tmpdir, strerror(errno));
	}
	return check_summary();
}
