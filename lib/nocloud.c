/* NoCloud's YAML files (see cloudmeta.h): meta-data, user-data
 * (#cloud-config) and network-config versions 1 and 2. Each field is read
 * on its own; a bad one is reported with its file and line and skipped. */
#include <stdio.h>
#include <string.h>

#include "lib/cloudmeta.h"
#include "lib/yamltree.h"

struct doc {
	struct cloud_meta *m;
	const struct yt_doc *yt;
};

/* "file:line: field" of node n, for messages. */
static void where(const struct doc *d, const struct yt_node *n, const char *field, char *buf, size_t size)
{
	snprintf(buf, size, "%s:%d: %s", d->yt->name, n != NULL ? n->line : 0, field);
}

/* A scalar's text, or NULL (reported) when n is not a string. */
static const char *scalar(const struct doc *d, const struct yt_node *n, const char *field)
{
	if (n != NULL && n->kind == YT_SCALAR && !yt_is_null(n)) {
		return n->value;
	}
	char w[160];
	where(d, n, field, w, sizeof(w));
	cloud_error(d->m, "%s: expected a string; ignored", w);
	return NULL;
}

static int parse_doc(struct cloud_meta *m, struct yt_doc *yt, const char *name, const char *buf, size_t len)
{
	struct berr err;
	if (yt_parse(yt, name, buf, len, &err) < 0) {
		cloud_error(m, "%s (the whole file is ignored)", err.msg);
		return -1;
	}
	if (yt->root != NULL && !yt_is_null(yt->root) && yt->root->kind != YT_MAP) {
		cloud_error(m, "%s:%d: expected a mapping of keys; the whole file is ignored", name, yt->root->line);
		yt_free(yt);
		return -1;
	}
	return 0;
}

typedef int (*add_fn)(struct cloud_meta *m, const char *text, const char *where);

/* A string or a list of strings (keys, name servers), each given to add
 * with its file and line. */
static void each_string(const struct doc *d, const struct yt_node *n, const char *field, add_fn add)
{
	char w[160];
	if (n->kind == YT_SCALAR && !yt_is_null(n)) {
		where(d, n, field, w, sizeof(w));
		add(d->m, n->value, w);
		return;
	}
	if (n->kind != YT_SEQ) {
		where(d, n, field, w, sizeof(w));
		cloud_error(d->m, "%s: expected a list; ignored", w);
		return;
	}
	for (size_t i = 0; i < n->count; i++) {
		const char *s = scalar(d, n->items[i], field);
		if (s != NULL) {
			where(d, n->items[i], field, w, sizeof(w));
			add(d->m, s, w);
		}
	}
}

int nocloud_parse_meta_data(struct cloud_meta *m, const char *name, const char *buf, size_t len)
{
	struct yt_doc yt;
	if (parse_doc(m, &yt, name, buf, len) < 0) {
		return -1;
	}
	struct doc d = {m, &yt};
	char w[160];
	const struct yt_node *n = yt_get(yt.root, "instance-id");
	const char *s;
	if (n != NULL && (s = scalar(&d, n, "instance-id")) != NULL) {
		if (strlen(s) >= sizeof(m->instance_id) || strpbrk(s, "\n\r") != NULL) {
			where(&d, n, "instance-id", w, sizeof(w));
			cloud_error(m, "%s: longer than %zu characters or on several lines; ignored", w,
				    sizeof(m->instance_id) - 1);
		} else {
			snprintf(m->instance_id, sizeof(m->instance_id), "%s", s);
		}
	}
	static const char *const names[] = {"local-hostname", "hostname"};
	for (size_t i = 0; i < 2 && m->hostname[0] == '\0'; i++) {
		n = yt_get(yt.root, names[i]);
		if (n != NULL && (s = scalar(&d, n, names[i])) != NULL) {
			where(&d, n, names[i], w, sizeof(w));
			cloud_set_hostname(m, s, w);
		}
	}
	n = yt_get(yt.root, "public-keys");
	if (n != NULL) {
		each_string(&d, n, "public-keys", cloud_add_key);
	}
	n = yt_get(yt.root, "network-interfaces");
	if (n != NULL) {
		where(&d, n, "network-interfaces", w, sizeof(w));
		cloud_error(m, "%s: the Debian interfaces format is not supported (use a network-config file); ignored",
			    w);
	}
	yt_free(&yt);
	return 0;
}

int cloud_parse_user_data(struct cloud_meta *m, const char *name, const char *buf, size_t len)
{
	static const char magic[] = "#cloud-config";
	if (len < sizeof(magic) - 1 || memcmp(buf, magic, sizeof(magic) - 1) != 0) {
		const char *kind = len >= 2 && buf[0] == '#' && buf[1] == '!'	       ? "a script"
				   : len >= 12 && memcmp(buf, "Content-Type", 12) == 0 ? "a MIME archive"
				   : len >= 2 && (unsigned char)buf[0] == 0x1f && (unsigned char)buf[1] == 0x8b
					   ? "gzip data"
					   : "not #cloud-config";
		cloud_error(m, "%s:1: %s: Berth reads only #cloud-config user-data; ignored", name, kind);
		return -1;
	}
	struct yt_doc yt;
	if (parse_doc(m, &yt, name, buf, len) < 0) {
		return -1;
	}
	struct doc d = {m, &yt};
	char w[160];
	const struct yt_node *n = yt_get(yt.root, "hostname");
	const char *s;
	/* cloud-init lets user-data's hostname override meta-data's. */
	if (n != NULL && (s = scalar(&d, n, "hostname")) != NULL) {
		char saved[64];
		snprintf(saved, sizeof(saved), "%s", m->hostname);
		where(&d, n, "hostname", w, sizeof(w));
		m->hostname[0] = '\0';
		if (cloud_set_hostname(m, s, w) < 0) {
			snprintf(m->hostname, sizeof(m->hostname), "%s", saved);
		}
	}
	n = yt_get(yt.root, "ssh_authorized_keys");
	if (n != NULL) {
		each_string(&d, n, "ssh_authorized_keys", cloud_add_key);
	}
	n = yt_get(yt.root, "users");
	if (n != NULL && n->kind == YT_SEQ) {
		for (size_t i = 0; i < n->count; i++) {
			const struct yt_node *keys = yt_get(n->items[i], "ssh_authorized_keys");
			if (keys != NULL) {
				each_string(&d, keys, "users.ssh_authorized_keys", cloud_add_key);
			}
		}
	} else if (n != NULL) {
		where(&d, n, "users", w, sizeof(w));
		cloud_error(m, "%s: expected a list; ignored", w);
	}
	yt_free(&yt);
	return 0;
}

/* ---- network-config ----------------------------------------------------------- */

static const char *opt_scalar(const struct doc *d, const struct yt_node *map, const char *key, const char *field)
{
	const struct yt_node *n = yt_get(map, key);
	return n == NULL || yt_is_null(n) ? NULL : scalar(d, n, field);
}

static void set_mtu(const struct doc *d, const struct yt_node *n, struct host_iface *f, const char *field)
{
	long long v;
	struct berr err;
	if (n == NULL || yt_is_null(n)) {
		return;
	}
	if (yt_int(d->yt, n, field, 576, 65535, &v, &err) < 0) {
		cloud_error(d->m, "%s; ignored", err.msg);
		return;
	}
	f->mtu = (int)v;
}

/* version 1: config: [{type: physical, name, mac_address, mtu, subnets: [...]}, {type: nameserver, ...}] */
static void v1_subnet(const struct doc *d, const struct yt_node *sn, struct host_iface *f)
{
	char w[160];
	const char *type = opt_scalar(d, sn, "type", "subnets.type");
	where(d, sn, "subnets", w, sizeof(w));
	if (type == NULL) {
		cloud_error(d->m, "%s: a subnet needs a type; ignored", w);
		return;
	}
	if (strcmp(type, "dhcp") == 0 || strcmp(type, "dhcp4") == 0) {
		f->dhcp = 1;
		return;
	}
	if (strcmp(type, "static") == 0 || strcmp(type, "static6") == 0) {
		const char *addr = opt_scalar(d, sn, "address", "subnets.address");
		if (addr == NULL) {
			cloud_error(d->m, "%s: a static subnet needs an address; ignored", w);
			return;
		}
		if (cloud_add_address(d->m, f, addr, opt_scalar(d, sn, "netmask", "subnets.netmask"), w) < 0) {
			return;
		}
		const char *gw = opt_scalar(d, sn, "gateway", "subnets.gateway");
		if (gw != NULL) {
			cloud_add_route(d->m, f, "default", NULL, gw, w);
		}
		const struct yt_node *dns = yt_get(sn, "dns_nameservers");
		if (dns != NULL) {
			each_string(d, dns, "subnets.dns_nameservers", cloud_add_dns);
		}
		const struct yt_node *routes = yt_get(sn, "routes");
		for (size_t i = 0; routes != NULL && routes->kind == YT_SEQ && i < routes->count; i++) {
			const struct yt_node *r = routes->items[i];
			char rw[160];
			where(d, r, "subnets.routes", rw, sizeof(rw));
			const char *net = opt_scalar(d, r, "network", "routes.network");
			const char *mask = opt_scalar(d, r, "netmask", "routes.netmask");
			const char *prefix = opt_scalar(d, r, "prefix", "routes.prefix");
			const char *via = opt_scalar(d, r, "gateway", "routes.gateway");
			if (net == NULL || via == NULL) {
				cloud_error(d->m, "%s: a route needs network and gateway; ignored", rw);
				continue;
			}
			cloud_add_route(d->m, f, net, mask != NULL ? mask : prefix, via, rw);
		}
		return;
	}
	/* SLAAC and stateless DHCPv6 addresses come from router
	 * advertisements, which the kernel takes by itself. */
	if (strcmp(type, "manual") == 0 || strcmp(type, "ipv6_slaac") == 0 ||
	    strcmp(type, "ipv6_dhcpv6-stateless") == 0) {
		return;
	}
	/* dhcp6, ipv6_dhcpv6-stateful: Berth's DHCP client is IPv4 only. */
	cloud_error(d->m, "%s: type %.40s is not supported (IPv4 DHCP, static addresses and SLAAC are)", w, type);
}

static void v1_config(const struct doc *d, const struct yt_node *list)
{
	char w[160];
	if (list == NULL || list->kind != YT_SEQ) {
		where(d, list, "config", w, sizeof(w));
		cloud_error(d->m, "%s: expected a list; ignored", w);
		return;
	}
	for (size_t i = 0; i < list->count; i++) {
		const struct yt_node *e = list->items[i];
		const char *type = opt_scalar(d, e, "type", "config.type");
		where(d, e, "config", w, sizeof(w));
		if (type == NULL) {
			cloud_error(d->m, "%s: an entry needs a type; ignored", w);
			continue;
		}
		if (strcmp(type, "nameserver") == 0) {
			const struct yt_node *a = yt_get(e, "address");
			if (a != NULL) {
				each_string(d, a, "config.address", cloud_add_dns);
			}
			continue;
		}
		if (strcmp(type, "physical") != 0) {
			cloud_error(d->m, "%s: type %.40s is not supported (physical interfaces are); ignored", w,
				    type);
			continue;
		}
		const char *name = opt_scalar(d, e, "name", "config.name");
		const char *mac_text = opt_scalar(d, e, "mac_address", "config.mac_address");
		unsigned char mac[6];
		if (mac_text != NULL && hostcfg_parse_mac(mac_text, mac) < 0) {
			cloud_error(d->m, "%s: mac_address '%.60s' is not a MAC address; ignored", w, mac_text);
			continue;
		}
		char label[64];
		snprintf(label, sizeof(label), "%s", name != NULL ? name : mac_text != NULL ? mac_text : "?");
		struct host_iface *f = cloud_iface(d->m, mac_text != NULL ? mac : NULL, name, label, w);
		if (f == NULL) {
			continue;
		}
		set_mtu(d, yt_get(e, "mtu"), f, "config.mtu");
		const struct yt_node *subnets = yt_get(e, "subnets");
		for (size_t k = 0; subnets != NULL && subnets->kind == YT_SEQ && k < subnets->count; k++) {
			v1_subnet(d, subnets->items[k], f);
		}
	}
}

/* version 2: ethernets: {ID: {match: {macaddress, name}, dhcp4, addresses,
 * gateway4/6, routes, nameservers, mtu}}. As in netplan, dhcp4 is off
 * unless said: an interface with nothing set is only brought up. */
static void v2_ethernet(const struct doc *d, const struct yt_node *key, const struct yt_node *e)
{
	char w[160];
	char field[96];
	snprintf(field, sizeof(field), "ethernets.%.60s", key->value);
	where(d, key, field, w, sizeof(w));
	if (e == NULL || e->kind != YT_MAP) {
		cloud_error(d->m, "%s: expected a mapping; ignored", w);
		return;
	}
	const struct yt_node *match = yt_get(e, "match");
	const char *name = key->value;
	const char *mac_text = NULL;
	unsigned char mac[6];
	if (match != NULL) {
		mac_text = opt_scalar(d, match, "macaddress", "match.macaddress");
		const char *mname = opt_scalar(d, match, "name", "match.name");
		if (mac_text == NULL && (mname == NULL || strpbrk(mname, "*?[") != NULL)) {
			cloud_error(d->m,
				    "%s: match needs a macaddress or an exact name (no patterns, no driver); ignored",
				    w);
			return;
		}
		if (mname != NULL) {
			name = mname;
		}
		if (mac_text != NULL && hostcfg_parse_mac(mac_text, mac) < 0) {
			cloud_error(d->m, "%s: match.macaddress '%.60s' is not a MAC address; ignored", w, mac_text);
			return;
		}
	}
	struct host_iface *f = cloud_iface(d->m, mac_text != NULL ? mac : NULL, name, key->value, w);
	if (f == NULL) {
		return;
	}
	const struct yt_node *n = yt_get(e, "dhcp4");
	if (n != NULL) {
		int on;
		struct berr err;
		if (yt_bool(d->yt, n, "dhcp4", &on, &err) < 0) {
			cloud_error(d->m, "%s; ignored", err.msg);
		} else {
			f->dhcp = on;
		}
	}
	n = yt_get(e, "addresses");
	for (size_t i = 0; n != NULL && n->kind == YT_SEQ && i < n->count; i++) {
		const char *a = scalar(d, n->items[i], "addresses");
		if (a != NULL) {
			char aw[160];
			where(d, n->items[i], "addresses", aw, sizeof(aw));
			cloud_add_address(d->m, f, a, NULL, aw);
		}
	}
	static const char *const gws[] = {"gateway4", "gateway6"};
	for (size_t i = 0; i < 2; i++) {
		const char *gw = opt_scalar(d, e, gws[i], gws[i]);
		if (gw != NULL) {
			cloud_add_route(d->m, f, "default", NULL, gw, w);
		}
	}
	n = yt_get(e, "routes");
	for (size_t i = 0; n != NULL && n->kind == YT_SEQ && i < n->count; i++) {
		const struct yt_node *r = n->items[i];
		char rw[160];
		where(d, r, "routes", rw, sizeof(rw));
		const char *to = opt_scalar(d, r, "to", "routes.to");
		const char *via = opt_scalar(d, r, "via", "routes.via");
		if (to == NULL || via == NULL) {
			cloud_error(d->m, "%s: a route needs to and via; ignored", rw);
			continue;
		}
		if (strcmp(to, "0.0.0.0/0") == 0 || strcmp(to, "::/0") == 0) {
			to = "default";
		}
		cloud_add_route(d->m, f, to, NULL, via, rw);
	}
	n = yt_get(e, "nameservers");
	if (n != NULL && yt_get(n, "addresses") != NULL) {
		each_string(d, yt_get(n, "addresses"), "nameservers.addresses", cloud_add_dns);
	}
	set_mtu(d, yt_get(e, "mtu"), f, "mtu");
}

int cloud_parse_network_config(struct cloud_meta *m, const char *name, const char *buf, size_t len)
{
	struct yt_doc yt;
	if (parse_doc(m, &yt, name, buf, len) < 0) {
		return -1;
	}
	struct doc d = {m, &yt};
	char w[160];
	const struct yt_node *root = yt.root;
	/* Both "network: {version: 2, ...}" and "version: 2" are seen in the wild. */
	if (yt_get(root, "network") != NULL && yt_get(root, "version") == NULL) {
		root = yt_get(root, "network");
	}
	const struct yt_node *version = yt_get(root, "version");
	long long v = 0;
	struct berr err;
	if (version == NULL || yt_int(&yt, version, "version", 1, 2, &v, &err) < 0) {
		where(&d, version != NULL ? version : root, "version", w, sizeof(w));
		cloud_error(m, "%s: expected version 1 or 2; the network configuration is ignored", w);
		yt_free(&yt);
		return -1;
	}
	size_t before = m->nerrors;
	size_t nifaces = m->nifaces;
	size_t ndns = m->ndns;
	m->network_set = 1;
	snprintf(m->network_from, sizeof(m->network_from), "%s version %lld", name, v);
	if (v == 1) {
		v1_config(&d, yt_get(root, "config"));
	} else {
		const struct yt_node *eths = yt_get(root, "ethernets");
		if (eths != NULL && eths->kind == YT_MAP) {
			for (size_t i = 0; i < eths->count; i++) {
				v2_ethernet(&d, eths->keys[i], eths->items[i]);
			}
		}
		static const char *const unsupported[] = {"bonds", "bridges", "vlans", "wifis", "tunnels", NULL};
		for (const char *const *u = unsupported; *u != NULL; u++) {
			const struct yt_node *n = yt_get(root, *u);
			if (n != NULL) {
				where(&d, n, *u, w, sizeof(w));
				cloud_error(m, "%s: not supported (ethernets are); ignored", w);
			}
		}
	}
	yt_free(&yt);
	return cloud_network_done(m, name, before, nifaces, ndns);
}
