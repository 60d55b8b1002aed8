/* Bridges and container endpoints (see endpoint.h). */
#include "net/endpoint.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "lib/cleanup.h"
#include "lib/fsutil.h"
#include "net/netns.h"
#include "net/rtnl.h"

/* How long an attach waits for its links to come up (see wait_oper_up). */
#define OPER_WAIT_STEP_NS 200000L
#define OPER_WAIT_MAX_NS 2000000000L

/* ---- stable names ---- */

/* FNV-1a over the parts, with a NUL between them so that ("ab", "c") and
 * ("a", "bc") differ. Stable across builds and machines, which is all a
 * name needs; not a defence against chosen collisions. */
static uint64_t name_hash(const char *a, const char *b)
{
	uint64_t h = 0xcbf29ce484222325ull;
	const char *parts[2] = {a, b};
	for (int i = 0; i < 2; i++) {
		if (parts[i] == NULL) {
			continue;
		}
		for (const unsigned char *p = (const unsigned char *)parts[i];; p++) {
			h ^= *p;
			h *= 0x100000001b3ull;
			if (*p == '\0') {
				break;
			}
		}
	}
	return h;
}

void net_host_ifname(const char *container, const char *network, char out[IFNAMSIZ])
{
	snprintf(out, IFNAMSIZ, "vb%08x", (unsigned)(name_hash(container, network) & 0xffffffffu));
}

void net_bridge_ifname(const char *network, char out[IFNAMSIZ])
{
	snprintf(out, IFNAMSIZ, "br-%012llx", (unsigned long long)(name_hash(network, NULL) & 0xffffffffffffull));
}

void net_mac_from_addr(uint32_t addr, uint8_t mac[6])
{
	const uint8_t *a = (const uint8_t *)&addr;
	mac[0] = 0x02;
	mac[1] = 0x42;
	memcpy(mac + 2, a, 4);
}

void net_bridge_mac(const char *ifname, uint8_t mac[6])
{
	uint64_t h = name_hash("bridge", ifname);
	for (int i = 0; i < 6; i++) {
		mac[i] = (uint8_t)(h >> (8 * i));
	}
	/* Locally administered, unicast; and never 02:42:..., the prefix
	 * of container MACs. */
	mac[0] = (uint8_t)((mac[0] & 0xfc) | 0x02);
	if (mac[0] == 0x02 && mac[1] == 0x42) {
		mac[1] = 0x43;
	}
}

static int mac_is_zero(const uint8_t mac[6])
{
	for (int i = 0; i < 6; i++) {
		if (mac[i] != 0) {
			return 0;
		}
	}
	return 1;
}

static uint32_t prefix_mask(int prefix)
{
	return prefix <= 0 ? 0 : htonl(0xffffffffu << (32 - prefix));
}

/* A fixed-size name from outside must hold its NUL. */
static int check_name_field(const char *name, size_t size, const char *what, struct berr *err)
{
	if (memchr(name, '\0', size) == NULL || name[0] == '\0') {
		return berr_setx(err, EINVAL, "%s: empty or longer than %zu characters", what, size - 1);
	}
	return 0;
}

/* ---- bridges ---- */

/* The bridge's IPv4 addresses become exactly gateway/prefix. */
static int bridge_set_address(struct nl_sock *nl, const struct net_bridge *b, int index, struct berr *err)
{
	auto_free struct rtnl_addr4 *addrs = NULL;
	size_t n = 0;
	int ret = rtnl_addr4_list(nl, &addrs, &n, err);
	if (ret < 0) {
		return ret;
	}
	int present = 0;
	for (size_t i = 0; i < n; i++) {
		if (addrs[i].index != index) {
			continue;
		}
		if (addrs[i].addr == b->gateway && addrs[i].prefix == b->prefix) {
			present = 1;
			continue;
		}
		ret = rtnl_addr4_del(nl, b->ifname, addrs[i].addr, addrs[i].prefix, err);
		if (ret < 0 && ret != -EADDRNOTAVAIL) {
			return ret;
		}
	}
	if (present) {
		return 0;
	}
	return rtnl_addr4_add(nl, b->ifname, b->gateway, b->prefix, err);
}

int net_bridge_ensure(const struct net_bridge *b, struct berr *err)
{
	int ret = check_name_field(b->ifname, sizeof(b->ifname), "bridge name", err);
	if (ret < 0) {
		return ret;
	}
	if (b->prefix < 1 || b->prefix > 32 || b->gateway == 0) {
		return berr_setx(err, EINVAL, "bridge %s: no gateway address or prefix not 1 to 32", b->ifname);
	}
	auto_nl struct nl_sock nl = {.fd = -1};
	ret = nl_open(&nl, err);
	if (ret < 0) {
		return ret;
	}
	struct rtnl_link l;
	ret = rtnl_link_get(&nl, b->ifname, &l, err);
	if (ret == -ENODEV) {
		uint8_t mac[6];
		net_bridge_mac(b->ifname, mac);
		ret = rtnl_bridge_add(&nl, b->ifname, mac, err);
		if (ret < 0) {
			return ret;
		}
		ret = rtnl_link_get(&nl, b->ifname, &l, err);
	}
	if (ret < 0) {
		return ret;
	}
	if (strcmp(l.kind, "bridge") != 0) {
		return berr_setx(err, EEXIST, "bridge %s: a network interface of that name exists and is %s%s",
				 b->ifname, l.kind[0] != '\0' ? "a " : "not a bridge", l.kind);
	}
	ret = bridge_set_address(&nl, b, l.index, err);
	if (ret < 0) {
		return ret;
	}
	char path[128];
	snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/forwarding", b->ifname);
	ret = write_file(path, b->internal ? "0" : "1", err);
	if (ret < 0) {
		return berr_prefix(err, "bridge %s", b->ifname);
	}
	return rtnl_link_set_up(&nl, b->ifname, 1, err);
}

int net_bridge_remove(const char *ifname, struct berr *err)
{
	auto_nl struct nl_sock nl = {.fd = -1};
	int ret = nl_open(&nl, err);
	if (ret < 0) {
		return ret;
	}
	struct rtnl_link l;
	ret = rtnl_link_get(&nl, ifname, &l, err);
	if (ret == -ENODEV) {
		return 0;
	}
	if (ret < 0) {
		return ret;
	}
	if (strcmp(l.kind, "bridge") != 0) {
		return berr_setx(err, EINVAL, "remove bridge %s: that network interface is not a bridge", ifname);
	}
	ret = rtnl_link_del(&nl, ifname, err);
	return ret == -ENODEV ? 0 : ret;
}

/* ---- endpoints ---- */

static int check_endpoint(const struct net_endpoint *e, struct berr *err)
{
	int ret = check_name_field(e->host_ifname, sizeof(e->host_ifname), "endpoint host interface name", err);
	if (ret < 0) {
		return ret;
	}
	if (e->netns_path == NULL || e->bridge == NULL || e->ifname == NULL) {
		return berr_setx(err, EINVAL, "endpoint %s: no network namespace, bridge or interface name",
				 e->host_ifname);
	}
	if (e->addr == 0 || e->prefix < 1 || e->prefix > 32) {
		return berr_setx(err, EINVAL, "endpoint %s: no address or prefix not 1 to 32", e->host_ifname);
	}
	if (e->mtu != 0 && (e->mtu < 68 || e->mtu > 65535)) {
		return berr_setx(err, EINVAL, "endpoint %s: MTU %d not 68 to 65535", e->host_ifname, e->mtu);
	}
	return 0;
}

/* Deletes host_ifname if it is a veth; anything else of that name is not
 * ours to delete. */
static int delete_leftover(struct nl_sock *nl, const char *host_ifname, struct berr *err)
{
	struct rtnl_link l;
	int ret = rtnl_link_get(nl, host_ifname, &l, err);
	if (ret == -ENODEV) {
		return 0;
	}
	if (ret < 0) {
		return ret;
	}
	if (strcmp(l.kind, "veth") != 0) {
		return berr_setx(err, EEXIST, "endpoint %s: a network interface of that name exists and is not a veth",
				 host_ifname);
	}
	ret = rtnl_link_del(nl, host_ifname, err);
	return ret == -ENODEV ? 0 : ret;
}

/* The kernel applies a veth's carrier asynchronously (linkwatch, under the
 * RTNL lock that RTM_GETLINK takes too): until then the end brought up
 * first drops what it sends and, as a bridge port, forwards nothing, so a
 * container's first datagrams would vanish. Polling the operational state
 * until it is up makes an attached endpoint usable at once; veth events
 * are urgent for linkwatch, so this takes well under a millisecond. */
static int wait_oper_up(struct nl_sock *nl, const char *ifname, struct berr *err)
{
	const struct timespec step = {.tv_nsec = OPER_WAIT_STEP_NS};
	for (long waited = 0; waited < OPER_WAIT_MAX_NS; waited += OPER_WAIT_STEP_NS) {
		struct rtnl_link l;
		int ret = rtnl_link_get(nl, ifname, &l, err);
		if (ret < 0) {
			return ret;
		}
		if (l.operstate == RTNL_OPER_UP) {
			return 0;
		}
		nanosleep(&step, NULL);
	}
	return berr_setx(err, ETIMEDOUT, "%s did not come up within %ld ms", ifname, OPER_WAIT_MAX_NS / 1000000);
}

/* Everything after the pair exists; the caller deletes it if this fails. */
static int configure_pair(struct nl_sock *host, const struct net_endpoint *e, struct berr *err)
{
	int ret = rtnl_link_set_master(host, e->host_ifname, e->bridge, err);
	if (ret < 0) {
		return ret;
	}
	ret = rtnl_link_set_up(host, e->host_ifname, 1, err);
	if (ret < 0) {
		return ret;
	}
	auto_nl struct nl_sock inner = {.fd = -1};
	ret = netns_rtnl_open(e->netns_path, &inner, err);
	if (ret < 0) {
		return ret;
	}
	ret = rtnl_addr4_add(&inner, e->ifname, e->addr, e->prefix, err);
	if (ret == 0) {
		ret = rtnl_link_set_up(&inner, e->ifname, 1, err);
	}
	/* The kernel takes a gateway only once the link is up and the
	 * gateway is on-link through the address's subnet route. */
	if (ret == 0 && e->gateway != 0) {
		ret = nl_route_add(&inner, e->ifname, AF_INET, NULL, 0, &e->gateway, err);
	}
	if (ret == 0) {
		ret = wait_oper_up(&inner, e->ifname, err);
	}
	if (ret < 0) {
		return berr_prefix(err, "in network namespace %s", e->netns_path);
	}
	return wait_oper_up(host, e->host_ifname, err);
}

int net_endpoint_attach(const struct net_endpoint *e, struct berr *err)
{
	int ret = check_endpoint(e, err);
	if (ret < 0) {
		return ret;
	}
	auto_nl struct nl_sock host = {.fd = -1};
	ret = nl_open(&host, err);
	if (ret < 0) {
		return ret;
	}
	struct rtnl_link br;
	ret = rtnl_link_get(&host, e->bridge, &br, err);
	if (ret < 0) {
		return berr_prefix(err, "endpoint %s: bridge", e->host_ifname);
	}
	if (strcmp(br.kind, "bridge") != 0) {
		return berr_setx(err, EINVAL, "endpoint %s: %s is not a bridge", e->host_ifname, e->bridge);
	}
	auto_close int nsfd = netns_open(e->netns_path, err);
	if (nsfd < 0) {
		return nsfd;
	}
	ret = delete_leftover(&host, e->host_ifname, err);
	if (ret < 0) {
		return ret;
	}
	uint8_t mac[6];
	memcpy(mac, e->mac, sizeof(mac));
	if (mac_is_zero(mac)) {
		net_mac_from_addr(e->addr, mac);
	}
	ret = rtnl_veth_add(&host, e->host_ifname, e->ifname, nsfd, mac, e->mtu > 0 ? e->mtu : br.mtu, err);
	if (ret < 0) {
		return berr_prefix(err, "endpoint in %s", e->netns_path);
	}
	ret = configure_pair(&host, e, err);
	if (ret < 0) {
		/* Deleting the host side takes the inside with it. */
		(void)rtnl_link_del(&host, e->host_ifname, NULL);
		return ret;
	}
	return 0;
}

int net_endpoint_check(const struct net_endpoint *e, struct berr *err)
{
	int ret = check_name_field(e->host_ifname, sizeof(e->host_ifname), "endpoint host interface name", err);
	if (ret < 0) {
		return ret;
	}
	auto_nl struct nl_sock nl = {.fd = -1};
	ret = nl_open(&nl, err);
	if (ret < 0) {
		return ret;
	}
	struct rtnl_link l;
	ret = rtnl_link_get(&nl, e->host_ifname, &l, err);
	if (ret == -ENODEV) {
		return 0;
	}
	if (ret < 0) {
		return ret;
	}
	int master = nl_link_index(&nl, e->bridge, NULL);
	return master > 0 && l.master == master && (l.flags & IFF_UP) && strcmp(l.kind, "veth") == 0;
}

int net_endpoint_detach(const char *host_ifname, struct berr *err)
{
	auto_nl struct nl_sock nl = {.fd = -1};
	int ret = nl_open(&nl, err);
	if (ret < 0) {
		return ret;
	}
	return delete_leftover(&nl, host_ifname, err);
}

/* ---- the host's subnets ---- */

static int add_subnet(struct ipam_subnet **arr, size_t *n, size_t *cap, uint32_t addr, int prefix)
{
	if (*n == *cap) {
		size_t ncap = *cap == 0 ? 16 : *cap * 2;
		struct ipam_subnet *p = realloc(*arr, ncap * sizeof(*p));
		if (p == NULL) {
			return -ENOMEM;
		}
		*arr = p;
		*cap = ncap;
	}
	(*arr)[*n].net = addr & prefix_mask(prefix);
	(*arr)[*n].prefix = prefix;
	(*n)++;
	return 0;
}

int net_host_subnets(struct ipam_subnet **out, size_t *nout, struct berr *err)
{
	auto_nl struct nl_sock nl = {.fd = -1};
	int ret = nl_open(&nl, err);
	if (ret < 0) {
		return ret;
	}
	auto_free struct rtnl_addr4 *addrs = NULL;
	size_t naddrs = 0;
	ret = rtnl_addr4_list(&nl, &addrs, &naddrs, err);
	if (ret < 0) {
		return ret;
	}
	auto_free struct rtnl_route4 *routes = NULL;
	size_t nroutes = 0;
	ret = rtnl_route4_list(&nl, &routes, &nroutes, err);
	if (ret < 0) {
		return ret;
	}
	auto_free struct ipam_subnet *arr = NULL;
	size_t n = 0;
	size_t cap = 0;
	for (size_t i = 0; i < naddrs && ret == 0; i++) {
		if (addrs[i].prefix > 0) {
			ret = add_subnet(&arr, &n, &cap, addrs[i].addr, addrs[i].prefix);
		}
	}
	for (size_t i = 0; i < nroutes && ret == 0; i++) {
		if (routes[i].table == RT_TABLE_MAIN && routes[i].prefix > 0) {
			ret = add_subnet(&arr, &n, &cap, routes[i].dst, routes[i].prefix);
		}
	}
	if (ret < 0) {
		return berr_set(err, -ret, "list the host's subnets");
	}
	*out = take_ptr(&arr);
	*nout = n;
	return 0;
}
