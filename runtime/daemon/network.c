/* Containers' networks (see network.h). */
#include "daemon/network.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "daemon/ctrtab.h"
#include "daemon/daemon.h"
#include "lib/cleanup.h"
#include "lib/fsutil.h"
#include "lib/log.h"
#include "net/dns.h"
#include "net/endpoint.h"
#include "net/ipam.h"
#include "net/netns.h"
#include "net/nft.h"

struct bnet {
	struct bnet *next;
	char name[IPAM_NAME_MAX];
	char bridge[IFNAMSIZ];
	int declared;
	int internal;
	char subnet[64]; /* as compose.yaml gives it; "" for automatic */
	char gateway[64];
	int open; /* ipam holds the state file */
	struct ipam_network ipam;
	int up; /* bridge and DNS listener set up by this berthd */
	int used;
};

static struct bnet *nets;
static struct dns *dns;
static struct watch dns_watch;
static int dirty = 1;

/* Clients with their own upstream resolvers, and clients on several
 * networks, as last told to the DNS. */
static uint32_t *upstream_clients;
static size_t nupstream_clients;
static uint32_t *multi_clients;
static size_t nmulti_clients;

static void on_dns(struct watch *w, uint32_t events)
{
	(void)w;
	(void)events;
	dns_run(dns);
}

/* Names and rules follow the running containers. */
static void on_ctr_event(struct ctr *c, enum ctr_event ev)
{
	(void)c;
	if (ev == CTR_CHANGED) {
		dirty = 1;
	}
}

int network_init(struct berr *err)
{
	if (ctr_observe(on_ctr_event) < 0) {
		return berr_setx(err, ENOSPC, "too many observers of the container table");
	}
	if (mkdir_p(NETNS_DIR, 0700, err) < 0 || mkdir_p(NETWORKS_DIR, 0700, err) < 0) {
		return -err->code;
	}
	if (nft_host_sysctls(err) < 0) {
		return -err->code;
	}
	if (dns_open(&dns, NULL, err) < 0) {
		return -err->code;
	}
	dns_watch = (struct watch){.fd = dns_fd(dns), .fn = on_dns};
	return watch_add(&dns_watch, EPOLLIN);
}

int network_netns_path(const char *name, char *out, size_t size)
{
	return path_join(out, size, NETNS_DIR, name);
}

static struct bnet *bnet_get(const char *name)
{
	for (struct bnet *n = nets; n != NULL; n = n->next) {
		if (strcmp(n->name, name) == 0) {
			return n;
		}
	}
	struct bnet *n = calloc(1, sizeof(*n));
	if (n == NULL || copy_string(n->name, sizeof(n->name), name) < 0) {
		free(n);
		return NULL;
	}
	net_bridge_ifname(name, n->bridge);
	n->next = nets;
	nets = n;
	return n;
}

void network_declare(const char *name, const char *subnet, const char *gateway, int internal)
{
	struct bnet *n = bnet_get(name);
	if (n == NULL) {
		return;
	}
	n->declared = 1;
	n->internal = internal;
	copy_string(n->subnet, sizeof(n->subnet), subnet != NULL ? subnet : "");
	copy_string(n->gateway, sizeof(n->gateway), gateway != NULL ? gateway : "");
	dirty = 1;
}

void network_forget_declarations(void)
{
	for (struct bnet *n = nets; n != NULL; n = n->next) {
		n->declared = 0;
	}
}

static int bnet_open(struct bnet *n, struct berr *err)
{
	if (n->open) {
		return 0;
	}
	struct ipam_subnet *avoid = NULL;
	size_t navoid = 0;
	if (net_host_subnets(&avoid, &navoid, err) < 0) {
		return -err->code;
	}
	struct ipam_config cfg = {
		.subnet = n->subnet[0] != '\0' ? n->subnet : NULL,
		.gateway = n->gateway[0] != '\0' ? n->gateway : NULL,
		.avoid = avoid,
		.navoid = navoid,
	};
	int ret = ipam_open(&n->ipam, NETWORKS_DIR, n->name, &cfg, err);
	free(avoid);
	if (ret < 0) {
		return berr_prefix(err, "network %s", n->name);
	}
	n->open = 1;
	return 0;
}

static int bnet_up(struct bnet *n, struct berr *err)
{
	if (n->up) {
		return 0;
	}
	if (bnet_open(n, err) < 0) {
		return -err->code;
	}
	struct net_bridge b = {
		.gateway = n->ipam.gateway,
		.prefix = n->ipam.subnet.prefix,
		.internal = n->internal,
	};
	copy_string(b.ifname, sizeof(b.ifname), n->bridge);
	if (net_bridge_ensure(&b, err) < 0 || dns_listen(dns, n->ipam.gateway, n->ipam.subnet.prefix, err) < 0) {
		return berr_prefix(err, "network %s", n->name);
	}
	char subnet[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &n->ipam.subnet.net, subnet, sizeof(subnet));
	blog_info("network %s: bridge %s, %s/%d", n->name, n->bridge, subnet, n->ipam.subnet.prefix);
	n->up = 1;
	return 0;
}

/* ---- a container's files: resolv.conf and hosts --------------------------------- */

static int write_ctr_file(const struct ctr *c, const char *name, const char *text, struct berr *err)
{
	char dir[PATH_MAX];
	char path[PATH_MAX];
	if (ctr_dir(c->def.name, dir, sizeof(dir)) < 0 || path_join(path, sizeof(path), dir, name) < 0) {
		return berr_setx(err, ENAMETOOLONG, "%s: name too long", c->def.name);
	}
	/* Rewritten on every boot: nothing to make durable. */
	return write_file_atomic(path, text, strlen(text), 0644, 0, err);
}

static void config_hostname(const struct ctr *c, char *out, size_t size)
{
	copy_string(out, size, c->def.name);
	json_object *o = c->def.config_json != NULL ? json_tokener_parse(c->def.config_json) : NULL;
	json_object *h = NULL;
	if (o != NULL && json_object_object_get_ex(o, "hostname", &h) && json_object_is_type(h, json_type_string)) {
		copy_string(out, size, json_object_get_string(h));
	}
	json_object_put(o);
}

/* dns_search and dns_opt: lines after the rest, which the resolver reads
 * last and so keeps ("." alone asks for no search domain). */
static int resolv_extra(const struct ctr *c, char *resolv, size_t size, struct berr *err)
{
	size_t n = strlen(resolv);
	if (c->def.ndns_search > 0) {
		n += (size_t)snprintf(resolv + n, n < size ? size - n : 0, "search");
		for (size_t i = 0; i < c->def.ndns_search && n < size; i++) {
			if (strcmp(c->def.dns_search[i], ".") != 0) {
				n += (size_t)snprintf(resolv + n, size - n, " %s", c->def.dns_search[i]);
			}
		}
		n += (size_t)snprintf(resolv + n, n < size ? size - n : 0, "\n");
	}
	if (c->def.ndns_opt > 0) {
		n += (size_t)snprintf(resolv + n, n < size ? size - n : 0, "options");
		for (size_t i = 0; i < c->def.ndns_opt && n < size; i++) {
			n += (size_t)snprintf(resolv + n, size - n, " %s", c->def.dns_opt[i]);
		}
		n += (size_t)snprintf(resolv + n, n < size ? size - n : 0, "\n");
	}
	if (n >= size) {
		return berr_setx(err, E2BIG, "%s: dns_search and dns_opt: too long for resolv.conf", c->def.name);
	}
	return 0;
}

static uint32_t link_address(const struct ctr *c, const char *target);

static int write_etc(const struct ctr *c, uint32_t addr, uint32_t gateway, struct berr *err)
{
	char resolv[4096];
	char host_resolv[4096];
	if (read_file("/etc/resolv.conf", host_resolv, sizeof(host_resolv), NULL) < 0) {
		snprintf(host_resolv, sizeof(host_resolv), "# the host has no DNS servers configured\n");
	}
	if (gateway != 0) {
		char gw[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, &gateway, gw, sizeof(gw));
		/* berthd answers here: service names, then the host's resolvers. */
		snprintf(resolv, sizeof(resolv), "nameserver %s\noptions ndots:0\n", gw);
	} else {
		copy_string(resolv, sizeof(resolv), host_resolv);
	}
	if (resolv_extra(c, resolv, sizeof(resolv), err) < 0) {
		return -err->code;
	}
	char hostname[256];
	config_hostname(c, hostname, sizeof(hostname));
	char hosts[8192];
	size_t n = 0;
	if (c->def.netmode == NETMODE_HOST && read_file("/etc/hosts", hosts, sizeof(hosts) / 2, NULL) >= 0) {
		/* The host's own names, as Docker gives host-network containers. */
		n = strlen(hosts);
	} else {
		n = (size_t)snprintf(hosts, sizeof(hosts),
				     "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n");
	}
	if (addr != 0) {
		char a[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, &addr, a, sizeof(a));
		n += (size_t)snprintf(hosts + n, sizeof(hosts) - n, "%s\t%s%s%s\n", a, hostname,
				      strcmp(hostname, c->def.name) != 0 ? " " : "",
				      strcmp(hostname, c->def.name) != 0 ? c->def.name : "");
	}
	for (size_t i = 0; i < c->def.nextra_hosts && n < sizeof(hosts); i++) {
		/* "name address"; host-gateway is the gateway of the first network. */
		char name[256];
		char value[256];
		if (sscanf(c->def.extra_hosts[i], "%255s %255s", name, value) != 2) {
			continue;
		}
		if (strcmp(value, "host-gateway") == 0) {
			/* The host: its address on the container's first network, or
			 * itself for a container on the host's network. */
			if (gateway != 0) {
				inet_ntop(AF_INET, &gateway, value, sizeof(value));
			} else {
				copy_string(value, sizeof(value), "127.0.0.1");
			}
		}
		n += (size_t)snprintf(hosts + n, sizeof(hosts) - n, "%s\t%s\n", value, name);
	}
	for (size_t i = 0; i < c->def.nlinks && n < sizeof(hosts); i++) {
		/* links: the alias and the container's name, at its address on
		 * a network both are on, as Docker writes them */
		char target[256];
		char alias[256];
		if (sscanf(c->def.links[i], "%255s %255s", target, alias) != 2) {
			continue;
		}
		uint32_t a = link_address(c, target);
		if (a == 0) {
			blog_warn("%s: links: %s is not running on a network %s is on", c->def.name, target,
				  c->def.name);
			continue;
		}
		char at[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, &a, at, sizeof(at));
		n += (size_t)snprintf(hosts + n, sizeof(hosts) - n, "%s\t%s%s%s\n", at, alias,
				      strcmp(alias, target) != 0 ? " " : "", strcmp(alias, target) != 0 ? target : "");
	}
	if (n >= sizeof(hosts)) {
		return berr_setx(err, E2BIG, "%s: extra_hosts: too many entries for /etc/hosts", c->def.name);
	}
	if (write_ctr_file(c, "resolv.conf", resolv, err) < 0 || write_ctr_file(c, "hosts", hosts, err) < 0) {
		return -err->code;
	}
	return 0;
}

/* ---- setting a container up ------------------------------------------------------- */

/* "02:42:ac:11:00:02" (compose checked it) into bytes. */
static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned b[6];
	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6) {
		return -EINVAL;
	}
	for (int i = 0; i < 6; i++) {
		mac[i] = (uint8_t)b[i];
	}
	return 0;
}

static int attach_all(struct ctr *c, const char *path, uint32_t *first_addr, uint32_t *first_gw, struct berr *err)
{
	for (size_t i = 0; i < c->def.nnets; i++) {
		const struct ctr_netattach *att = &c->def.nets[i];
		struct bnet *n = bnet_get(att->network);
		if (n == NULL) {
			return berr_set(err, ENOMEM, "network %s", att->network);
		}
		if (bnet_up(n, err) < 0) {
			return -err->code;
		}
		uint32_t addr = 0;
		if (ipam_lease(&n->ipam, c->def.name, att->ipv4, &addr, err) < 0) {
			return berr_prefix(err, "%s: network %s", c->def.name, n->name);
		}
		char ifname[IFNAMSIZ];
		snprintf(ifname, sizeof(ifname), "eth%u", (unsigned)(i % 1000));
		if (att->ifname != NULL) {
			copy_string(ifname, sizeof(ifname), att->ifname);
		}
		/* gw_priority chose one network for the default route; else the
		 * first that leads anywhere has it */
		int chosen = 0;
		for (size_t k = 0; k < c->def.nnets; k++) {
			chosen |= c->def.nets[k].gateway;
		}
		int route = chosen ? att->gateway : *first_gw == 0;
		struct net_endpoint e = {
			.netns_path = path,
			.bridge = n->bridge,
			.ifname = ifname,
			.addr = addr,
			.prefix = n->ipam.subnet.prefix,
			/* The default route goes through the first network that
			 * leads anywhere. */
			.gateway = route && !n->internal ? n->ipam.gateway : 0,
		};
		if (att->mac != NULL && parse_mac(att->mac, e.mac) < 0) {
			return berr_setx(err, EINVAL, "%s: network %s: mac_address %s", c->def.name, n->name, att->mac);
		}
		net_host_ifname(c->def.name, n->name, e.host_ifname);
		if (net_endpoint_check(&e, err) != 1 && net_endpoint_attach(&e, err) < 0) {
			return berr_prefix(err, "%s: network %s", c->def.name, n->name);
		}
		/* A container reaching its own published port: the packet goes
		 * back out of the port it came in on. */
		char hairpin[128];
		snprintf(hairpin, sizeof(hairpin), "/sys/class/net/%s/brport/hairpin_mode", e.host_ifname);
		write_file(hairpin, "1", NULL);
		if (i == 0) {
			*first_addr = addr;
		}
		if (*first_gw == 0) {
			*first_gw = n->ipam.gateway;
		}
	}
	return 0;
}

int network_setup(struct ctr *c, struct berr *err)
{
	char path[PATH_MAX];
	uint32_t addr = 0;
	uint32_t gw = 0;
	dirty = 1;
	switch (c->def.netmode) {
	case NETMODE_BRIDGE:
		if (network_netns_path(c->def.name, path, sizeof(path)) < 0) {
			return berr_setx(err, ENAMETOOLONG, "%s: name too long", c->def.name);
		}
		struct timespec t0;
		struct timespec t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (netns_exists(path) != 1 && netns_create(path, err) < 0) {
			return -err->code;
		}
		if (attach_all(c, path, &addr, &gw, err) < 0) {
			return -err->code;
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		/* The address operators look for, and what the endpoint cost
		 * (network namespace, veth pairs, addresses, routes). */
		char a[INET_ADDRSTRLEN] = "-";
		if (addr != 0) {
			inet_ntop(AF_INET, &addr, a, sizeof(a));
		}
		long us = (long)(t1.tv_sec - t0.tv_sec) * 1000000L + (t1.tv_nsec - t0.tv_nsec) / 1000;
		blog_info("%s: network: %s on %s%s (endpoints set up in %ld us)", c->def.name, a,
			  c->def.nnets > 0 ? c->def.nets[0].network : "-", c->def.nnets > 1 ? " and more" : "", us);
		break;
	case NETMODE_JOIN: {
		struct ctr *t = ctr_find(c->def.join);
		if (network_netns_path(c->def.join, path, sizeof(path)) < 0 || t == NULL ||
		    t->def.netmode != NETMODE_BRIDGE || netns_exists(path) != 1) {
			return berr_setx(err, EINVAL,
					 "%s: network_mode: container %s has no network of its own to share",
					 c->def.name, c->def.join);
		}
		/* The same resolver as the container whose network it shares. */
		for (size_t i = 0; i < t->def.nnets && gw == 0; i++) {
			struct bnet *n = bnet_get(t->def.nets[i].network);
			if (n != NULL && bnet_up(n, err) == 0) {
				gw = n->ipam.gateway;
			}
		}
		break;
	}
	case NETMODE_HOST:
	case NETMODE_NONE:
		break;
	}
	return write_etc(c, addr, gw, err);
}

void network_release(struct ctr *c)
{
	dirty = 1;
	if (c->def.netmode != NETMODE_BRIDGE) {
		return;
	}
	struct berr err = {0};
	for (size_t i = 0; i < c->def.nnets; i++) {
		struct bnet *n = bnet_get(c->def.nets[i].network);
		if (n == NULL) {
			continue;
		}
		char host_ifname[IFNAMSIZ];
		net_host_ifname(c->def.name, n->name, host_ifname);
		if (net_endpoint_detach(host_ifname, &err) < 0) {
			blog_warn("%s", err.msg);
		}
		if (bnet_open(n, &err) == 0 && ipam_find(&n->ipam, c->def.name) != NULL &&
		    ipam_release(&n->ipam, c->def.name, &err) < 0) {
			blog_warn("%s", err.msg);
		}
	}
	char path[PATH_MAX];
	if (network_netns_path(c->def.name, path, sizeof(path)) == 0 && netns_remove(path, &err) < 0) {
		blog_warn("%s", err.msg);
	}
}

/* ---- names and rules, from the containers ------------------------------------------ */

static int active(const struct ctr *c)
{
	return c->has_def && (c->state == CS_RUNNING || c->state == CS_STARTING || c->state == CS_STOPPING);
}

static uint32_t lease_of(struct bnet *n, const char *owner)
{
	const struct ipam_lease *l = n->open ? ipam_find(&n->ipam, owner) : NULL;
	return l != NULL ? l->addr : 0;
}

/* Where c reaches container target: its address on the first network of
 * c's that it is on too; 0 when none. */
static uint32_t link_address(const struct ctr *c, const char *target)
{
	const struct ctr *t = ctr_find(target);
	if (t == NULL || !active(t) || t->def.netmode != NETMODE_BRIDGE) {
		return 0;
	}
	for (size_t i = 0; i < c->def.nnets; i++) {
		for (size_t k = 0; k < t->def.nnets; k++) {
			struct bnet *n = bnet_get(c->def.nets[i].network);
			if (strcmp(c->def.nets[i].network, t->def.nets[k].network) == 0 && n != NULL) {
				uint32_t a = lease_of(n, t->def.name);
				if (a != 0) {
					return a;
				}
			}
		}
	}
	return 0;
}

/* The address a container's published ports lead to. */
static uint32_t port_target(const struct ctr *c)
{
	if (c->def.netmode == NETMODE_JOIN) {
		c = ctr_find(c->def.join);
	}
	if (c == NULL || c->def.netmode != NETMODE_BRIDGE || c->def.nnets == 0) {
		return 0;
	}
	struct bnet *n = bnet_get(c->def.nets[0].network);
	return n != NULL ? lease_of(n, c->def.name) : 0;
}

static void sync_names(void)
{
	for (struct bnet *n = nets; n != NULL; n = n->next) {
		if (!n->up) {
			continue;
		}
		size_t cap = 0;
		ctr_foreach(c) {
			for (size_t i = 0; active(c) && c->def.netmode == NETMODE_BRIDGE && i < c->def.nnets; i++) {
				cap += 2 + c->def.nets[i].naliases;
			}
		}
		struct dns_record *recs = calloc(cap + 1, sizeof(*recs));
		if (recs == NULL) {
			continue;
		}
		size_t k = 0;
		ctr_foreach(c) {
			if (!active(c) || c->def.netmode != NETMODE_BRIDGE) {
				continue;
			}
			for (size_t i = 0; i < c->def.nnets; i++) {
				if (strcmp(c->def.nets[i].network, n->name) != 0) {
					continue;
				}
				uint32_t addr = lease_of(n, c->def.name);
				if (addr == 0) {
					continue;
				}
				recs[k++] = (struct dns_record){c->def.name, addr};
				if (c->def.service != NULL && strcmp(c->def.service, c->def.name) != 0) {
					recs[k++] = (struct dns_record){c->def.service, addr};
				}
				for (size_t a = 0; a < c->def.nets[i].naliases; a++) {
					recs[k++] = (struct dns_record){c->def.nets[i].aliases[a], addr};
				}
			}
		}
		struct berr err = {0};
		if (dns_set_names(dns, n->ipam.gateway, recs, k, &err) < 0) {
			blog_err("network %s: names: %s", n->name, err.msg);
		}
		free(recs);
	}
}

static void sync_upstreams(void)
{
	uint32_t *now = NULL;
	size_t nnow = 0;
	ctr_foreach(c) {
		if (!active(c) || c->def.ndns == 0 || c->def.netmode != NETMODE_BRIDGE) {
			continue;
		}
		uint32_t servers[8];
		size_t ns = 0;
		for (size_t i = 0; i < c->def.ndns && ns < 8; i++) {
			struct in_addr a;
			if (inet_pton(AF_INET, c->def.dns[i], &a) == 1) {
				servers[ns++] = a.s_addr;
			}
		}
		for (size_t i = 0; i < c->def.nnets; i++) {
			struct bnet *n = bnet_get(c->def.nets[i].network);
			uint32_t addr = n != NULL ? lease_of(n, c->def.name) : 0;
			uint32_t *grown = addr != 0 ? realloc(now, (nnow + 1) * sizeof(*now)) : NULL;
			if (grown == NULL) {
				continue;
			}
			now = grown;
			now[nnow++] = addr;
			struct berr err = {0};
			if (dns_set_upstreams(dns, addr, servers, ns, &err) < 0) {
				blog_err("%s: dns: %s", c->def.name, err.msg);
			}
		}
	}
	/* Containers that went away fall back to the host's resolvers. */
	for (size_t i = 0; i < nupstream_clients; i++) {
		int kept = 0;
		for (size_t k = 0; k < nnow && !kept; k++) {
			kept = now[k] == upstream_clients[i];
		}
		struct berr err = {0};
		if (!kept) {
			dns_set_upstreams(dns, upstream_clients[i], NULL, 0, &err);
		}
	}
	free(upstream_clients);
	upstream_clients = now;
	nupstream_clients = nnow;
}

/* A container on several networks resolves the names of all of them. */
static void sync_multi(void)
{
	uint32_t *now = NULL;
	size_t nnow = 0;
	ctr_foreach(c) {
		if (!active(c) || c->def.netmode != NETMODE_BRIDGE || c->def.nnets < 2) {
			continue;
		}
		for (size_t i = 0; i < c->def.nnets; i++) {
			struct bnet *n = bnet_get(c->def.nets[i].network);
			uint32_t addr = n != NULL ? lease_of(n, c->def.name) : 0;
			if (addr == 0) {
				continue;
			}
			uint32_t others[16];
			size_t no = 0;
			for (size_t k = 0; k < c->def.nnets && no < 16; k++) {
				struct bnet *o = k != i ? bnet_get(c->def.nets[k].network) : NULL;
				if (o != NULL && o->up) {
					others[no++] = o->ipam.gateway;
				}
			}
			uint32_t *grown = realloc(now, (nnow + 1) * sizeof(*now));
			if (grown == NULL) {
				continue;
			}
			now = grown;
			now[nnow++] = addr;
			struct berr err = {0};
			if (dns_set_client_networks(dns, addr, others, no, &err) < 0) {
				blog_err("%s: dns: %s", c->def.name, err.msg);
			}
		}
	}
	for (size_t i = 0; i < nmulti_clients; i++) {
		int kept = 0;
		for (size_t k = 0; k < nnow && !kept; k++) {
			kept = now[k] == multi_clients[i];
		}
		struct berr err = {0};
		if (!kept) {
			dns_set_client_networks(dns, multi_clients[i], NULL, 0, &err);
		}
	}
	free(multi_clients);
	multi_clients = now;
	nmulti_clients = nnow;
}

static void sync_rules(void)
{
	size_t nn = 0;
	size_t np = 0;
	for (struct bnet *n = nets; n != NULL; n = n->next) {
		nn += n->up;
	}
	ctr_foreach(c) {
		np += active(c) ? c->def.nports : 0;
	}
	struct nft_network *nn_arr = calloc(nn + 1, sizeof(*nn_arr));
	struct nft_port *np_arr = calloc(np + 1, sizeof(*np_arr));
	if (nn_arr == NULL || np_arr == NULL) {
		free(nn_arr);
		free(np_arr);
		blog_err("network rules: out of memory");
		return;
	}
	size_t k = 0;
	for (struct bnet *n = nets; n != NULL; n = n->next) {
		if (n->up) {
			copy_string(nn_arr[k].bridge, sizeof(nn_arr[k].bridge), n->bridge);
			nn_arr[k].subnet = n->ipam.subnet.net;
			nn_arr[k].prefix = n->ipam.subnet.prefix;
			nn_arr[k].internal = n->internal;
			k++;
		}
	}
	size_t j = 0;
	ctr_foreach(c) {
		uint32_t addr = active(c) && c->def.nports > 0 ? port_target(c) : 0;
		for (size_t i = 0; addr != 0 && i < c->def.nports; i++) {
			np_arr[j++] = (struct nft_port){
				.proto = c->def.ports[i].proto,
				.host_ip = c->def.ports[i].host_ip,
				.host_port = c->def.ports[i].host_port,
				.addr = addr,
				.port = c->def.ports[i].port,
			};
		}
	}
	struct nft_ruleset rs = {.nets = nn_arr, .nnets = k, .ports = np_arr, .nports = j};
	struct berr err = {0};
	if (k == 0 && j == 0) {
		if (nft_flush(&err) < 0) {
			blog_err("network rules: %s", err.msg);
		}
	} else if (nft_apply(&rs, &err) < 0) {
		blog_err("network rules: %s", err.msg);
	}
	free(nn_arr);
	free(np_arr);
}

/* Networks no container is attached to go: bridge, listener, state. */
static void sync_unused(void)
{
	for (struct bnet *n = nets; n != NULL; n = n->next) {
		n->used = 0;
	}
	ctr_foreach(c) {
		for (size_t i = 0; c->has_def && c->def.netmode == NETMODE_BRIDGE && i < c->def.nnets; i++) {
			struct bnet *n = bnet_get(c->def.nets[i].network);
			if (n != NULL) {
				n->used = 1;
				/* After a berthd restart: running containers' networks. */
				struct berr err = {0};
				if (active(c) && bnet_up(n, &err) < 0) {
					blog_err("%s", err.msg);
				}
			}
		}
	}
	struct bnet **p = &nets;
	while (*p != NULL) {
		struct bnet *n = *p;
		if (n->used) {
			p = &n->next;
			continue;
		}
		struct berr err = {0};
		if (n->up) {
			dns_unlisten(dns, n->ipam.gateway);
		}
		/* Open but not up: its bridge may be an earlier berthd's (one
		 * killed while a container that has since gone still had it). */
		if (n->up || n->open) {
			if (net_bridge_remove(n->bridge, &err) < 0) {
				blog_warn("%s", err.msg);
			}
			blog_info("network %s: removed (no container uses it)", n->name);
		}
		if (n->open) {
			ipam_close(&n->ipam);
		}
		if ((n->up || n->open) && ipam_remove(NETWORKS_DIR, n->name, &err) < 0) {
			blog_warn("%s", err.msg);
		}
		n->up = 0;
		n->open = 0;
		if (n->declared) {
			p = &n->next;
			continue;
		}
		*p = n->next;
		free(n);
	}
}

void network_sync(void)
{
	if (!dirty || dns == NULL) {
		return;
	}
	dirty = 0;
	sync_unused();
	sync_names();
	sync_multi();
	sync_upstreams();
	sync_rules();
}

json_object *network_addresses(const struct ctr *c)
{
	json_object *o = json_object_new_object();
	for (size_t i = 0; c->def.netmode == NETMODE_BRIDGE && i < c->def.nnets; i++) {
		struct bnet *n = bnet_get(c->def.nets[i].network);
		uint32_t addr = n != NULL ? lease_of(n, c->def.name) : 0;
		if (addr != 0) {
			char a[INET_ADDRSTRLEN];
			inet_ntop(AF_INET, &addr, a, sizeof(a));
			json_object_object_add(o, c->def.nets[i].network, json_object_new_string(a));
		}
	}
	return o;
}

json_object *network_list(void)
{
	json_object *o = json_object_new_object();
	json_object *list = json_object_new_array();
	for (struct bnet *n = nets; n != NULL; n = n->next) {
		if (!n->up) {
			continue;
		}
		json_object *e = json_object_new_object();
		char subnet[INET_ADDRSTRLEN + 4];
		char gw[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, &n->ipam.subnet.net, subnet, INET_ADDRSTRLEN);
		snprintf(subnet + strlen(subnet), sizeof(subnet) - strlen(subnet), "/%d", n->ipam.subnet.prefix);
		inet_ntop(AF_INET, &n->ipam.gateway, gw, sizeof(gw));
		int count = 0;
		ctr_foreach(c) {
			for (size_t i = 0; active(c) && c->def.netmode == NETMODE_BRIDGE && i < c->def.nnets; i++) {
				count += strcmp(c->def.nets[i].network, n->name) == 0;
			}
		}
		json_object_object_add(e, "name", json_object_new_string(n->name));
		json_object_object_add(e, "bridge", json_object_new_string(n->bridge));
		json_object_object_add(e, "subnet", json_object_new_string(subnet));
		json_object_object_add(e, "gateway", json_object_new_string(gw));
		json_object_object_add(e, "internal", json_object_new_boolean(n->internal));
		json_object_object_add(e, "containers", json_object_new_int(count));
		json_object_array_add(list, e);
	}
	json_object_object_add(o, "networks", list);
	struct nft_state st = {0};
	struct berr err = {0};
	if (nft_inspect(&st, &err) == 0) {
		json_object_object_add(o, "rules", json_object_new_int(st.rules));
		json_object_object_add(o, "table", json_object_new_boolean(st.has_berth));
	}
	return o;
}
