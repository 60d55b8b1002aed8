/* The networking of a service and of the project (see parse.h):
 * network_mode, networks (with aliases and fixed addresses), ports,
 * expose, extra_hosts and dns; the top-level networks' ipam; and what
 * berthd refuses of them before it makes a container: ports it cannot
 * publish, subnets, gateways and addresses its IPAM will not take (the
 * same parser, net/ipam.h), a network shared from a service that has none
 * of its own. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "compose/formats.h"
#include "compose/parse.h"
#include "net/ipam.h"

_Static_assert(COMPOSE_NAME_MAX <= IPAM_NAME_MAX, "a network name compose accepts is one IPAM stores");

/* ---- network_mode and networks ------------------------------------------------------- */

int svc_network_mode(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	struct compose_service *s = obj;
	char *m;
	if (cx_str(x, v, field, &m) < 0) {
		return -1;
	}
	s->network_mode_line = v->line;
	if (strcmp(m, "host") == 0) {
		s->network_mode = COMPOSE_NET_HOST;
	} else if (strcmp(m, "none") == 0) {
		s->network_mode = COMPOSE_NET_NONE;
	} else if (strcmp(m, "bridge") == 0) {
		s->network_mode = COMPOSE_NET_BRIDGE;
	} else if (strncmp(m, "service:", 8) == 0 || strncmp(m, "container:", 10) == 0) {
		int svc = m[0] == 's';
		s->network_mode = svc ? COMPOSE_NET_SERVICE : COMPOSE_NET_CONTAINER;
		s->network_mode_target = m + (svc ? 8 : 10);
		if (!compose_valid_name(s->network_mode_target)) {
			return cx_fail(x, v, field, "'%.100s' does not name a %s", m, svc ? "service" : "container");
		}
	} else {
		return cx_fail(x, v, field, "expected host, none, bridge, service:NAME or container:NAME, got '%.100s'",
			       m);
	}
	return 0;
}

static int attach_aliases(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	struct compose_netattach *a = obj;
	if (cx_strlist(x, v, field, 0, &a->aliases, &a->naliases) < 0) {
		return -1;
	}
	for (size_t j = 0; j < a->naliases; j++) {
		if (!compose_valid_hostname(a->aliases[j])) {
			return cx_fail(x, v, field, "'%.100s' is not a valid host name", a->aliases[j]);
		}
	}
	return 0;
}

static int attach_ipv4(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	struct compose_netattach *a = obj;
	if (cx_str(x, v, field, &a->ipv4_address) < 0) {
		return -1;
	}
	if (!compose_valid_ip(a->ipv4_address, AF_INET)) {
		return cx_fail(x, v, field, "'%.100s' is not an IPv4 address", a->ipv4_address);
	}
	return 0;
}

/* Refused rather than dropped: a container the file gives an IPv6
 * address must not come up without it. */
static int attach_ipv6(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	(void)obj;
	char *addr;
	if (cx_str(x, v, field, &addr) < 0) {
		return -1;
	}
	return cx_fail(x, v, field, "'%.100s': Berth's networks are IPv4 only (no IPv6 addresses yet)", addr);
}

/* A MAC address: six pairs of hex digits separated by ':' (or '-'),
 * unicast. */
static int valid_mac(const char *s)
{
	if (strlen(s) != 17) {
		return 0;
	}
	for (size_t i = 0; i < 17; i++) {
		int sep = i % 3 == 2;
		if (sep ? (s[i] != ':' && s[i] != '-') : !isxdigit((unsigned char)s[i])) {
			return 0;
		}
	}
	unsigned first = (unsigned)strtoul(s, NULL, 16);
	return (first & 1) == 0;
}

int cx_mac(struct ctx *x, const struct yt_node *v, const char *field, char **out)
{
	if (cx_str(x, v, field, out) < 0) {
		return -1;
	}
	if (!valid_mac(*out)) {
		return cx_fail(x, v, field, "'%.60s' is not a unicast MAC address like 02:42:ac:11:00:02", *out);
	}
	for (char *c = *out; *c; c++) {
		*c = *c == '-' ? ':' : (char)tolower((unsigned char)*c);
	}
	return 0;
}

static int attach_mac(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	return cx_mac(x, v, field, &((struct compose_netattach *)obj)->mac_address);
}

/* The interface's name in the container: what the kernel takes (at most
 * 15 bytes, no '/', ':' or blanks). */
static int attach_ifname(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	struct compose_netattach *a = obj;
	if (cx_str(x, v, field, &a->interface_name) < 0) {
		return -1;
	}
	const char *n = a->interface_name;
	if (n[0] == '\0' || strlen(n) > 15 || strpbrk(n, "/: \t\n") != NULL || strcmp(n, ".") == 0 ||
	    strcmp(n, "..") == 0 || strcmp(n, "lo") == 0) {
		return cx_fail(x, v, field, "'%.60s' is not an interface name (1 to 15 characters, not lo)", n);
	}
	return 0;
}

#define ATTACH(f) offsetof(struct compose_netattach, f)

static const struct cx_rule attach_rules[] = {
	{"aliases", CX_FN, .fn = attach_aliases},
	{"ipv4_address", CX_FN, .fn = attach_ipv4},
	{"ipv6_address", CX_FN, .fn = attach_ipv6},
	{"mac_address", CX_FN, .fn = attach_mac},
	{"interface_name", CX_FN, .fn = attach_ifname},
	{"priority", CX_INT, .offset = ATTACH(priority), .min = INT_MIN, .max = INT_MAX},
	{"gw_priority", CX_INT, .offset = ATTACH(gw_priority), .min = INT_MIN, .max = INT_MAX},
	{"link_local_ips", CX_REFUSED, .why = "containers get link-local addresses only from the kernel"},
	{"driver_opts", CX_REFUSED, .why = "Berth's bridge driver has no options"},
};

static const struct cx_rules attach_keys = {CX_RULES(attach_rules), .stop = 1};

static int netattach(struct ctx *x, const struct yt_node *key, const struct yt_node *v, struct compose_netattach *a)
{
	a->network = cx_strdup(x, key->value);
	a->line = key->line;
	if (a->network == NULL) {
		return -1;
	}
	if (yt_is_null(v)) {
		return 0;
	}
	const struct yt_node *m;
	char f[300];
	cx_fmt(f, sizeof(f), "networks.%.200s", key->value);
	if (cx_map(x, v, f, &m) < 0) {
		return -1;
	}
	return cx_fields(x, m, f, &attach_keys, a);
}

int svc_networks(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	struct compose_service *s = obj;
	x->sc->networks = v;
	const struct yt_node *m = v;
	if (v != NULL && v->kind == YT_MAP && cx_map(x, v, field, &m) < 0) {
		return -1;
	}
	if (m == NULL || (m->kind != YT_MAP && m->kind != YT_SEQ)) {
		return cx_fail(x, v, field, "expected a list of networks or a mapping, got %s", yt_kind_name(v));
	}
	s->networks = cx_alloc(x, m->count, sizeof(*s->networks));
	if (s->networks == NULL) {
		return -1;
	}
	for (size_t i = 0; i < m->count; i++) {
		struct compose_netattach *a = &s->networks[s->nnetworks];
		if (m->kind == YT_MAP) {
			if (netattach(x, m->keys[i], m->items[i], a) < 0) {
				continue;
			}
		} else {
			if (cx_str(x, m->items[i], field, &a->network) < 0) {
				continue;
			}
			a->line = m->items[i]->line;
		}
		if (!compose_valid_name(a->network)) {
			cx_fail(x, m->kind == YT_MAP ? m->keys[i] : m->items[i], field,
				"'%.100s' is not a network name", a->network);
			continue;
		}
		s->nnetworks++;
	}
	return x->failed ? -1 : 0;
}

/* ---- ports ------------------------------------------------------------------------------ */

static int port_target(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	struct compose_port *p = obj;
	char *t;
	if (cx_str(x, v, field, &t) < 0) {
		return -1;
	}
	if (compose_parse_port_range(t, strlen(t), &p->target_start, &p->target_end) < 0 ||
	    p->target_start != p->target_end) {
		return cx_fail(x, v, field, "expected a port (1-65535), got '%.50s'", t);
	}
	return 0;
}

static int port_published(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	struct compose_port *p = obj;
	char *t;
	if (cx_str(x, v, field, &t) < 0) {
		return -1;
	}
	if (compose_parse_port_range(t, strlen(t), &p->published_start, &p->published_end) < 0) {
		return cx_fail(x, v, field, "expected a port (1-65535) or a range like 8000-8010, got '%.50s'", t);
	}
	return 0;
}

static int port_host_ip(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	struct compose_port *p = obj;
	char *t;
	if (cx_str(x, v, field, &t) < 0) {
		return -1;
	}
	if (!compose_valid_ip(t, 0)) {
		return cx_fail(x, v, field, "'%.100s' is not an IP address", t);
	}
	p->host_ip = t;
	return 0;
}

static int port_protocol(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	struct compose_port *p = obj;
	char *t;
	if (cx_str(x, v, field, &t) < 0) {
		return -1;
	}
	if (compose_parse_protocol(t, p->protocol) < 0) {
		return cx_fail(x, v, field, "expected tcp, udp or sctp, got '%.50s'", t);
	}
	return 0;
}

static int port_mode(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	struct compose_port *p = obj;
	char *t;
	if (cx_str(x, v, field, &t) < 0) {
		return -1;
	}
	if (strcmp(t, "host") != 0 && strcmp(t, "ingress") != 0) {
		return cx_fail(x, v, field, "expected host or ingress, got '%.50s'", t);
	}
	p->mode_host = t[0] == 'h';
	return 0;
}

static const struct cx_rule port_rules[] = {
	{"target", CX_FN, .fn = port_target},
	{"published", CX_FN, .fn = port_published},
	{"host_ip", CX_FN, .fn = port_host_ip},
	{"protocol", CX_FN, .fn = port_protocol},
	{"mode", CX_FN, .fn = port_mode},
	{"name", CX_STR, .offset = offsetof(struct compose_port, name)},
	{"app_protocol", CX_STR, .offset = offsetof(struct compose_port, app_protocol)},
};

static const struct cx_rules port_keys = {CX_RULES(port_rules), .stop = 1};

static int long_port(struct ctx *x, const struct yt_node *n, struct compose_port *p)
{
	const struct yt_node *m;
	if (cx_map(x, n, "ports", &m) < 0) {
		return -1;
	}
	memset(p, 0, sizeof(*p));
	memcpy(p->protocol, "tcp", 4);
	if (yt_get(m, "target") == NULL) {
		return cx_fail(x, n, "ports", "a port needs a target (the container port)");
	}
	if (cx_fields(x, m, "ports", &port_keys, p) < 0) {
		return -1;
	}
	p->line = n->line;
	return 0;
}

static int short_port(struct ctx *x, const struct yt_node *item, struct compose_port *p)
{
	char *t;
	const char *why = NULL;
	if (cx_str(x, item, "ports", &t) < 0) {
		return -1;
	}
	int ret = compose_parse_port(&x->p->arena, t, p, &why);
	if (ret == -ENOMEM) {
		return cx_oom(x);
	}
	if (ret < 0) {
		return cx_fail(x, item, "ports", "'%.100s': %s", t, why);
	}
	p->line = item->line;
	return 0;
}

int svc_ports(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	struct compose_service *s = obj;
	if (v == NULL || v->kind != YT_SEQ) {
		return cx_fail(x, v, field, "expected a list, got %s", yt_kind_name(v));
	}
	s->ports = cx_alloc(x, v->count, sizeof(*s->ports));
	if (s->ports == NULL) {
		return -1;
	}
	for (size_t i = 0; i < v->count; i++) {
		const struct yt_node *item = v->items[i];
		struct compose_port *p = &s->ports[s->nports];
		int ret = item->kind == YT_MAP ? long_port(x, item, p) : short_port(x, item, p);
		if (ret == 0) {
			s->nports++;
		}
	}
	return x->failed ? -1 : 0;
}

int compose_port_check(const struct compose_service *s, const struct compose_port *pt, struct berr *err)
{
	if (s->network_mode == COMPOSE_NET_HOST || s->network_mode == COMPOSE_NET_NONE) {
		return berr_setx(err, EINVAL, "the container has no network of its own to publish from");
	}
	struct in_addr host;
	if (pt->host_ip != NULL && strcmp(pt->host_ip, "0.0.0.0") != 0 && inet_pton(AF_INET, pt->host_ip, &host) != 1) {
		return berr_setx(err, EINVAL, "host address %s: only IPv4 addresses are supported", pt->host_ip);
	}
	if (strcmp(pt->protocol, "tcp") != 0 && strcmp(pt->protocol, "udp") != 0) {
		return berr_setx(err, EINVAL, "%s: only tcp and udp are supported", pt->protocol);
	}
	return 0;
}

/* ---- expose, extra_hosts, dns ---------------------------------------------------------- */

int svc_expose(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	struct compose_service *s = obj;
	char **items;
	size_t n;
	if (cx_strlist(x, v, field, 0, &items, &n) < 0) {
		return -1;
	}
	s->expose = cx_alloc(x, n, sizeof(*s->expose));
	if (s->expose == NULL) {
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		struct compose_expose *e = &s->expose[s->nexpose];
		char *slash = strchr(items[i], '/');
		memcpy(e->protocol, "tcp", 4);
		if (slash != NULL) {
			*slash = '\0';
		}
		if ((slash != NULL && compose_parse_protocol(slash + 1, e->protocol) < 0) ||
		    compose_parse_port_range(items[i], strlen(items[i]), &e->start, &e->end) < 0) {
			cx_fail(x, v->items[i], field, "expected PORT[-END][/PROTOCOL], got '%.100s'", items[i]);
			continue;
		}
		s->nexpose++;
	}
	return x->failed ? -1 : 0;
}

static int host_address(char *addr)
{
	size_t len = strlen(addr);
	if (len > 2 && addr[0] == '[' && addr[len - 1] == ']') {
		memmove(addr, addr + 1, len - 2);
		addr[len - 2] = '\0';
	}
	return strcmp(addr, "host-gateway") == 0 || compose_valid_ip(addr, 0);
}

/* HOST: ADDRESS, or HOST: [ADDRESS, ...] (one line each). */
static int extra_hosts_map(struct ctx *x, struct compose_service *s, const struct yt_node *v, const char *field)
{
	const struct yt_node *m;
	if (cx_map(x, v, field, &m) < 0) {
		return -1;
	}
	size_t n = 0;
	for (size_t i = 0; i < m->count; i++) {
		n += m->items[i]->kind == YT_SEQ ? m->items[i]->count : 1;
	}
	s->extra_hosts = cx_alloc(x, n, sizeof(*s->extra_hosts));
	if (s->extra_hosts == NULL) {
		return -1;
	}
	for (size_t i = 0; i < m->count; i++) {
		const struct yt_node *item = m->items[i];
		size_t count = item->kind == YT_SEQ ? item->count : 1;
		for (size_t k = 0; k < count; k++) {
			struct compose_kv *kv = &s->extra_hosts[s->nextra_hosts];
			kv->key = cx_strdup(x, m->keys[i]->value);
			if (kv->key != NULL &&
			    cx_str(x, item->kind == YT_SEQ ? item->items[k] : item, field, &kv->value) == 0) {
				s->nextra_hosts++;
			}
		}
	}
	return x->failed ? -1 : 0;
}

int svc_extra_hosts(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	struct compose_service *s = obj;
	if (v != NULL && v->kind == YT_SEQ) {
		s->extra_hosts = cx_alloc(x, v->count, sizeof(*s->extra_hosts));
		if (s->extra_hosts == NULL) {
			return -1;
		}
		for (size_t i = 0; i < v->count; i++) {
			char *t;
			if (cx_str(x, v->items[i], field, &t) < 0) {
				continue;
			}
			/* HOST=ADDR, or HOST:ADDR where ADDR may hold colons (IPv6). */
			char *sep = strchr(t, '=');
			if (sep == NULL) {
				sep = strchr(t, ':');
			}
			if (sep == NULL || sep == t) {
				cx_fail(x, v->items[i], field, "expected HOST:ADDRESS, got '%.100s'", t);
				continue;
			}
			*sep = '\0';
			s->extra_hosts[s->nextra_hosts].key = t;
			s->extra_hosts[s->nextra_hosts].value = sep + 1;
			s->nextra_hosts++;
		}
	} else if (extra_hosts_map(x, s, v, field) < 0) {
		return -1;
	}
	for (size_t i = 0; i < s->nextra_hosts; i++) {
		if (!compose_valid_hostname(s->extra_hosts[i].key)) {
			cx_fail(x, v, field, "'%.100s' is not a valid host name", s->extra_hosts[i].key);
		} else if (!host_address(s->extra_hosts[i].value)) {
			cx_fail(x, v, field, "%.100s: '%.100s' is not an IP address or host-gateway",
				s->extra_hosts[i].key, s->extra_hosts[i].value);
		}
	}
	return x->failed ? -1 : 0;
}

int svc_dns(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	struct compose_service *s = obj;
	if (cx_strlist(x, v, field, 1, &s->dns, &s->ndns) < 0) {
		return -1;
	}
	for (size_t i = 0; i < s->ndns; i++) {
		if (!compose_valid_ip(s->dns[i], 0)) {
			cx_fail(x, v->kind == YT_SEQ ? v->items[i] : v, field, "'%.100s' is not an IP address",
				s->dns[i]);
		}
	}
	return x->failed ? -1 : 0;
}

/* ---- the service as a whole --------------------------------------------------------- */

/* ---- dns_search, dns_opt, links, mac_address ---------------------------------------- */

int svc_dns_search(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	struct compose_service *s = obj;
	if (cx_strlist(x, v, field, 1, &s->dns_search, &s->ndns_search) < 0) {
		return -1;
	}
	for (size_t i = 0; i < s->ndns_search; i++) {
		const char *d = s->dns_search[i];
		/* "." alone asks for no search domain, as in resolv.conf. */
		if (strcmp(d, ".") != 0 && (strlen(d) > 253 ||
					    strspn(d, "abcdefghijklmnopqrstuvwxyz"
						      "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") != strlen(d) ||
					    d[0] == '.' || d[0] == '-' || strstr(d, "..") != NULL)) {
			cx_fail(x, v->kind == YT_SEQ ? v->items[i] : v, field, "'%.100s' is not a domain name", d);
		}
	}
	return x->failed ? -1 : 0;
}

/* resolv.conf options: a word, or a word with a value (ndots:2). */
int svc_dns_opt(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	struct compose_service *s = obj;
	if (cx_strlist(x, v, field, 0, &s->dns_opt, &s->ndns_opt) < 0) {
		return -1;
	}
	for (size_t i = 0; i < s->ndns_opt; i++) {
		const char *o = s->dns_opt[i];
		if (o[0] == '\0' || strlen(o) > 64 ||
		    strspn(o, "abcdefghijklmnopqrstuvwxyz0123456789-_:") != strlen(o)) {
			cx_fail(x, v->items[i], field, "'%.100s' is not a resolver option like ndots:2 or rotate", o);
		}
	}
	return x->failed ? -1 : 0;
}

int svc_mac_address(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	return cx_mac(x, v, field, &((struct compose_service *)obj)->mac_address);
}

/* links: SERVICE[:ALIAS]; external_links: CONTAINER[:ALIAS]. The names
 * resolve in this container only. */
static int links(struct ctx *x, struct compose_service *s, const struct yt_node *v, const char *field, int external)
{
	char **items;
	size_t n;
	if (cx_strlist(x, v, field, 0, &items, &n) < 0) {
		return -1;
	}
	struct compose_link *all = cx_alloc(x, s->nlinks + n, sizeof(*all));
	if (all == NULL) {
		return -1;
	}
	if (s->nlinks > 0) {
		memcpy(all, s->links, s->nlinks * sizeof(*all));
	}
	s->links = all;
	for (size_t i = 0; i < n; i++) {
		struct compose_link *l = &s->links[s->nlinks];
		char *colon = strchr(items[i], ':');
		if (colon != NULL) {
			*colon = '\0';
		}
		l->target = items[i];
		l->alias = colon != NULL ? colon + 1 : items[i];
		l->external = external;
		l->line = v->items[i]->line;
		if (!compose_valid_name(l->target)) {
			cx_fail(x, v->items[i], field, "'%.100s' does not name a %s", l->target,
				external ? "container" : "service");
		} else if (!compose_valid_hostname(l->alias)) {
			cx_fail(x, v->items[i], field, "'%.100s' is not a valid host name", l->alias);
		} else {
			s->nlinks++;
		}
	}
	return x->failed ? -1 : 0;
}

int svc_links(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	return links(x, obj, v, field, 0);
}

int svc_external_links(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	return links(x, obj, v, field, 1);
}

/* ---- the service as a whole --------------------------------------------------------- */

void svc_check_networking(struct ctx *x, struct compose_service *s, const struct yt_node *def)
{
	if (x->sc->networks != NULL && s->network_mode != COMPOSE_NET_DEFAULT) {
		cx_fail(x, x->sc->networks, "networks", "cannot be combined with network_mode");
	}
	if (s->network_mode == COMPOSE_NET_SERVICE) {
		svc_add_dep(x, s, s->network_mode_target, "its network_mode uses", s->network_mode_line);
	}
	int bridge = s->network_mode == COMPOSE_NET_DEFAULT || s->network_mode == COMPOSE_NET_BRIDGE;
	if (s->mac_address != NULL && !bridge) {
		cx_fail(x, def, "mac_address", "needs a network of the container's own (network_mode bridge)");
	}
	/* Interface names in the container are one each (eth0, ... unless given). */
	for (size_t i = 0; i < s->nnetworks; i++) {
		for (size_t k = 0; k < i && s->networks[i].interface_name != NULL; k++) {
			if (s->networks[k].interface_name != NULL &&
			    strcmp(s->networks[i].interface_name, s->networks[k].interface_name) == 0) {
				cx_fail_at(x, s->networks[i].line, "networks", "interface_name %s is given twice",
					   s->networks[i].interface_name);
			}
		}
		if (s->replicas > 1 && (s->networks[i].mac_address != NULL || s->mac_address != NULL)) {
			cx_fail_at(x, s->networks[i].line, "networks", "%u replicas cannot all have one mac_address",
				   s->replicas);
		}
	}
	for (size_t i = 0; i < s->nlinks; i++) {
		if (!bridge) {
			cx_fail_at(x, s->links[i].line, s->links[i].external ? "external_links" : "links",
				   "needs a network of the container's own (network_mode bridge)");
			break;
		}
		/* Docker Compose starts a linked service first. */
		if (!s->links[i].external) {
			svc_add_dep(x, s, s->links[i].target, "it links to", s->links[i].line);
		}
	}
	if (s->network_mode == COMPOSE_NET_HOST) {
		for (size_t i = 0; i < s->nsysctls; i++) {
			if (strncmp(s->sysctls[i].key, "net.", 4) == 0) {
				cx_fail(x, def, "sysctls", "'%.100s' cannot be set with network_mode: host",
					s->sysctls[i].key);
			}
		}
	}
	for (size_t i = 0; i < s->nports; i++) {
		struct berr e;
		if (compose_port_check(s, &s->ports[i], &e) < 0) {
			cx_fail_at(x, s->ports[i].line, "ports", "%s", e.msg);
		}
	}
}

/* ---- the top-level networks' ipam --------------------------------------------------------- */

static int ipam_driver(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	(void)obj;
	char *t;
	if (cx_str(x, v, field, &t) < 0) {
		return -1;
	}
	if (strcmp(t, "default") != 0) {
		return cx_fail(x, v, field, "'%.60s': only the default IPAM driver exists", t);
	}
	return 0;
}

static int cidr(struct ctx *x, const struct yt_node *v, const char *field, char **out)
{
	if (cx_str(x, v, field, out) < 0) {
		return -1;
	}
	if (!compose_valid_cidr(*out)) {
		return cx_fail(x, v, field, "'%.60s' is not a network like 10.1.0.0/24", *out);
	}
	return 0;
}

static int ipam_subnet(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	return cidr(x, v, field, &((struct compose_subnet *)obj)->subnet);
}

static int ipam_ip_range(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	return cidr(x, v, field, &((struct compose_subnet *)obj)->ip_range);
}

static int ipam_gateway(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	struct compose_subnet *sn = obj;
	if (cx_str(x, v, field, &sn->gateway) < 0) {
		return -1;
	}
	if (!compose_valid_ip(sn->gateway, 0)) {
		return cx_fail(x, v, field, "'%.60s' is not an IP address", sn->gateway);
	}
	return 0;
}

static const struct cx_rule subnet_rules[] = {
	{"subnet", CX_FN, .fn = ipam_subnet},
	{"ip_range", CX_FN, .fn = ipam_ip_range},
	{"gateway", CX_FN, .fn = ipam_gateway},
	{"aux_addresses", CX_REFUSED, .why = "Berth's IPAM keeps no addresses aside: leave them out of ip_range"},
};

static const struct cx_rules subnet_keys = {CX_RULES(subnet_rules), .hint = "subnet, ip_range and gateway are"};

/* berthd's IPAM takes the first entry (ipam_open): an IPv4 subnet with a
 * prefix of 1 to 30 and no host bits set, and a gateway inside it. */
static void check_first_subnet(struct ctx *x, const struct yt_node *at, const struct compose_subnet *sn)
{
	struct ipam_subnet s;
	struct berr e;
	if (ipam_parse_subnet(sn->subnet, &s, &e) < 0) {
		cx_fail(x, at, "ipam.config.subnet", "%s", e.msg);
		return;
	}
	uint32_t gateway;
	const char *why;
	if (sn->gateway != NULL && ipam_parse_host(&s, sn->gateway, &gateway, &why) < 0) {
		cx_fail(x, at, "ipam.config.gateway", "%s %s", sn->gateway, why);
	}
}

static int ipam_config(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	struct compose_network *net = obj;
	if (v->kind != YT_SEQ) {
		return cx_fail(x, v, field, "expected a list, got %s", yt_kind_name(v));
	}
	net->subnets = cx_alloc(x, v->count, sizeof(*net->subnets));
	if (net->subnets == NULL) {
		return -1;
	}
	for (size_t j = 0; j < v->count; j++) {
		const struct yt_node *cm;
		struct compose_subnet *sn = &net->subnets[net->nsubnets];
		if (cx_map(x, v->items[j], field, &cm) < 0 || cx_fields(x, cm, field, &subnet_keys, sn) < 0) {
			continue;
		}
		if (sn->subnet == NULL) {
			cx_fail(x, v->items[j], field, "an entry needs a subnet");
			continue;
		}
		if (net->nsubnets == 0) {
			check_first_subnet(x, v->items[j], sn);
		}
		net->nsubnets++;
	}
	return x->failed ? -1 : 0;
}

static const struct cx_rule ipam_rules[] = {
	{"driver", CX_FN, .fn = ipam_driver},
	{"config", CX_FN, .fn = ipam_config},
	{"options", CX_REFUSED, .why = "the default IPAM driver has no options"},
};

static const struct cx_rules ipam_keys = {CX_RULES(ipam_rules), .hint = "driver and config are"};

int net_ipam(struct ctx *x, void *obj, const struct yt_node *v, const char *field)
{
	const struct yt_node *m;
	if (cx_map(x, v, field, &m) < 0) {
		return -1;
	}
	return cx_fields(x, m, field, &ipam_keys, obj);
}

/* ---- between entries ------------------------------------------------------------------------ */

/* The subnet berthd's IPAM gives the network, when the file names one. */
static int declared_subnet(const struct compose_network *n, struct ipam_subnet *out)
{
	struct berr e;
	return n != NULL && n->valid && n->nsubnets > 0 && ipam_parse_subnet(n->subnets[0].subnet, out, &e) == 0;
}

/* berthd creates a network when a container joins it: services that name
 * no network join the one called "default". */
static int network_used(const struct compose_project *p, const struct compose_network *n)
{
	for (size_t i = 0; i < p->nservices; i++) {
		const struct compose_service *s = &p->services[i];
		int bridge = s->network_mode == COMPOSE_NET_DEFAULT || s->network_mode == COMPOSE_NET_BRIDGE;
		if (s->active && bridge && s->nnetworks == 0 && strcmp(n->name, "default") == 0) {
			return 1;
		}
		for (size_t k = 0; s->active && k < s->nnetworks; k++) {
			if (strcmp(s->networks[k].network, n->key) == 0) {
				return 1;
			}
		}
	}
	return 0;
}

void check_network_overlaps(struct ctx *x)
{
	struct compose_project *p = x->p;
	for (size_t j = 0; j < p->nnetworks; j++) {
		struct compose_network *n = &p->networks[j];
		struct ipam_subnet mine;
		if (!declared_subnet(n, &mine) || !network_used(p, n)) {
			continue;
		}
		for (size_t i = 0; i < j; i++) {
			struct ipam_subnet theirs;
			const struct compose_network *o = &p->networks[i];
			if (!declared_subnet(o, &theirs) || !network_used(p, o) || !ipam_overlaps(&mine, &theirs)) {
				continue;
			}
			x->failed = 0;
			cx_fmt(x->scope, sizeof(x->scope), "networks.%.200s", n->key);
			cx_fail_at(x, n->line, "ipam.config.subnet", "%s overlaps network %s's %s",
				   n->subnets[0].subnet, o->key, o->subnets[0].subnet);
			n->valid = 0;
			x->scope[0] = '\0';
			break;
		}
	}
}

/* A fixed address on a network whose subnet the file names: inside it,
 * not its gateway, and no other service's. */
static void check_fixed_address(struct ctx *x, size_t index, const struct compose_netattach *a)
{
	const struct compose_network *n = compose_network_find(x->p, a->network);
	struct ipam_subnet sub;
	if (a->ipv4_address == NULL || !declared_subnet(n, &sub)) {
		return;
	}
	char field[300];
	cx_fmt(field, sizeof(field), "networks.%.200s.ipv4_address", a->network);
	uint32_t addr;
	uint32_t gateway = ipam_default_gateway(&sub);
	const char *why;
	if (ipam_parse_host(&sub, a->ipv4_address, &addr, &why) < 0) {
		cx_fail_at(x, a->line, field, "%s %s %s of network %s", a->ipv4_address, why, n->subnets[0].subnet,
			   a->network);
		return;
	}
	/* A valid network's gateway parsed (check_first_subnet). */
	if (n->subnets[0].gateway != NULL) {
		ipam_parse_host(&sub, n->subnets[0].gateway, &gateway, &why);
	}
	if (addr == gateway) {
		cx_fail_at(x, a->line, field, "%s is the gateway of network %s", a->ipv4_address, a->network);
		return;
	}
	for (size_t i = 0; i < index; i++) {
		const struct compose_service *o = &x->p->services[i];
		for (size_t k = 0; o->valid && o->active && k < o->nnetworks; k++) {
			const struct compose_netattach *b = &o->networks[k];
			if (strcmp(b->network, a->network) == 0 && b->ipv4_address != NULL &&
			    strcmp(b->ipv4_address, a->ipv4_address) == 0) {
				cx_fail_at(x, a->line, field, "%s is also the address of service %s", a->ipv4_address,
					   o->name);
				return;
			}
		}
	}
}

void svc_cross_check_networking(struct ctx *x, struct compose_service *s, size_t index)
{
	for (size_t i = 0; i < s->nnetworks; i++) {
		check_fixed_address(x, index, &s->networks[i]);
	}
	if (s->network_mode != COMPOSE_NET_SERVICE) {
		return;
	}
	/* berthd joins the namespace that service's container made for itself. */
	const struct compose_service *t = compose_service_find(x->p, s->network_mode_target);
	if (t != NULL && t->network_mode != COMPOSE_NET_DEFAULT && t->network_mode != COMPOSE_NET_BRIDGE) {
		cx_fail_at(x, s->network_mode_line, "network_mode",
			   "service %s has no network of its own to share (its own network_mode is not bridge)",
			   t->name);
	}
}
