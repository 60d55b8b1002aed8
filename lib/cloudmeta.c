/* Cloud metadata (see cloudmeta.h): the checks every parser shares, and the
 * merge under host.yaml. */
#include "lib/cloudmeta.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

void cloud_meta_init(struct cloud_meta *m, enum cloud_source source)
{
	memset(m, 0, sizeof(*m));
	m->source = source;
}

void cloud_meta_free(struct cloud_meta *m)
{
	for (size_t i = 0; i < m->nkeys; i++) {
		free(m->ssh_keys[i]);
		m->ssh_keys[i] = NULL;
	}
	m->nkeys = 0;
}

const char *cloud_source_name(enum cloud_source source)
{
	switch (source) {
	case CLOUD_NOCLOUD:
		return "NoCloud";
	case CLOUD_CONFIG_DRIVE:
		return "OpenStack config drive";
	case CLOUD_NONE:
		break;
	}
	return "none";
}

void cloud_error(struct cloud_meta *m, const char *fmt, ...)
{
	if (m->nerrors < CLOUD_MAX_ERRORS) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(m->errors[m->nerrors], sizeof(m->errors[0]), fmt, ap);
		va_end(ap);
	}
	m->nerrors++;
}

int cloud_set_hostname(struct cloud_meta *m, const char *text, const char *where)
{
	char name[64];
	/* A fully qualified name longer than a host name may be (OpenStack's
	 * "vm.novalocal" style) gives its first label. */
	if (strlen(text) >= sizeof(name) && strchr(text, '.') != NULL &&
	    (size_t)(strchr(text, '.') - text) < sizeof(name)) {
		snprintf(name, sizeof(name), "%.*s", (int)(strchr(text, '.') - text), text);
	} else if (strlen(text) < sizeof(name)) {
		snprintf(name, sizeof(name), "%s", text);
	} else {
		name[0] = '\0';
	}
	if (!hostcfg_valid_hostname(name)) {
		cloud_error(m, "%s: '%.100s' is not a valid host name; ignored", where, text);
		return -1;
	}
	snprintf(m->hostname, sizeof(m->hostname), "%s", name);
	snprintf(m->hostname_from, sizeof(m->hostname_from), "%s", where);
	return 0;
}

int cloud_add_key(struct cloud_meta *m, const char *text, const char *where)
{
	char *key = strdup(text);
	if (key == NULL) {
		cloud_error(m, "%s: out of memory", where);
		return -1;
	}
	/* Key files and JSON values often end with a line break. */
	size_t len = strlen(key);
	while (len > 0 && (key[len - 1] == '\n' || key[len - 1] == '\r' || key[len - 1] == ' ')) {
		key[--len] = '\0';
	}
	const char *why = NULL;
	if (len > HOST_KEY_MAX) {
		why = "longer than any public key";
	} else if (!hostcfg_valid_ssh_key(key, &why)) {
		/* why is set */
	} else {
		for (size_t i = 0; i < m->nkeys; i++) {
			if (strcmp(m->ssh_keys[i], key) == 0) {
				free(key);
				return 0; /* the same key twice (config drives list it twice) */
			}
		}
		if (m->nkeys == HOST_MAX_KEYS) {
			why = "too many keys";
		}
	}
	if (why != NULL) {
		cloud_error(m, "%s: not a public key (%s); ignored", where, why);
		free(key);
		return -1;
	}
	m->ssh_keys[m->nkeys++] = key;
	if (m->keys_from[0] == '\0') {
		snprintf(m->keys_from, sizeof(m->keys_from), "%s", where);
	}
	return 0;
}

int cloud_add_dns(struct cloud_meta *m, const char *text, const char *where)
{
	struct host_ip ip;
	if (hostcfg_parse_ip(text, 0, &ip) < 0) {
		cloud_error(m, "%s: '%.100s' is not an IP address; ignored", where, text);
		return -1;
	}
	for (size_t i = 0; i < m->ndns; i++) {
		if (m->dns[i].family == ip.family && memcmp(m->dns[i].addr, ip.addr, 16) == 0) {
			return 0;
		}
	}
	if (m->ndns == HOST_MAX_DNS) {
		cloud_error(m, "%s: more than %d name servers; %.100s ignored", where, HOST_MAX_DNS, text);
		return -1;
	}
	m->dns[m->ndns++] = ip;
	return 0;
}

static int valid_ifname(const char *name)
{
	size_t len = strlen(name);
	if (len == 0 || len >= 16 || strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
		return 0;
	}
	for (size_t i = 0; i < len; i++) {
		if (name[i] == '/' || name[i] <= ' ' || name[i] == ':' || (unsigned char)name[i] >= 0x7f) {
			return 0;
		}
	}
	return 1;
}

struct host_iface *cloud_iface(struct cloud_meta *m, const unsigned char *mac, const char *name, const char *label,
			       const char *where)
{
	if (mac == NULL && (name == NULL || !valid_ifname(name))) {
		cloud_error(m, "%s: '%.100s' is not an interface name; ignored", where, name ? name : "");
		return NULL;
	}
	for (size_t i = 0; i < m->nifaces; i++) {
		struct host_iface *f = &m->ifaces[i];
		if ((mac != NULL && f->match_mac && memcmp(f->mac, mac, 6) == 0) ||
		    (mac == NULL && !f->match_mac && strcmp(f->name, name) == 0)) {
			return f;
		}
	}
	if (m->nifaces == HOST_MAX_IFACES) {
		cloud_error(m, "%s: more than %d interfaces; ignored", where, HOST_MAX_IFACES);
		return NULL;
	}
	struct host_iface *f = &m->ifaces[m->nifaces++];
	memset(f, 0, sizeof(*f));
	snprintf(f->label, sizeof(f->label), "%s", label);
	if (mac != NULL) {
		f->match_mac = 1;
		memcpy(f->mac, mac, 6);
	} else {
		snprintf(f->name, sizeof(f->name), "%s", name);
	}
	return f;
}

int cloud_netmask_prefix(const char *mask)
{
	unsigned char b[16];
	int bytes;
	if (inet_pton(AF_INET, mask, b) == 1) {
		bytes = 4;
	} else if (inet_pton(AF_INET6, mask, b) == 1) {
		bytes = 16;
	} else {
		return -1;
	}
	int prefix = 0;
	int ended = 0;
	for (int i = 0; i < bytes * 8; i++) {
		int bit = (b[i / 8] >> (7 - i % 8)) & 1;
		if (bit && ended) {
			return -1; /* not contiguous: 255.0.255.0 */
		}
		if (bit) {
			prefix++;
		} else {
			ended = 1;
		}
	}
	return prefix;
}

/* addr, with netmask's prefix when addr has none. */
static int ip_with_mask(const char *addr, const char *netmask, int want_prefix, struct host_ip *out)
{
	char text[96];
	if (netmask != NULL && strchr(addr, '/') == NULL) {
		int prefix = cloud_netmask_prefix(netmask);
		if (prefix < 0 && strspn(netmask, "0123456789") == strlen(netmask) && strlen(netmask) <= 3) {
			prefix = atoi(netmask); /* a prefix length given as the netmask */
		}
		if (prefix < 0) {
			return -EINVAL;
		}
		snprintf(text, sizeof(text), "%.60s/%d", addr, prefix);
	} else {
		snprintf(text, sizeof(text), "%.80s", addr);
	}
	int ret = hostcfg_parse_ip(text, want_prefix, out);
	if (ret == 0 && netmask != NULL && strchr(netmask, ':') != NULL && out->family != AF_INET6) {
		return -EINVAL;
	}
	return ret;
}

int cloud_add_address(struct cloud_meta *m, struct host_iface *iface, const char *addr, const char *netmask,
		      const char *where)
{
	struct host_ip ip;
	if (ip_with_mask(addr, netmask, 1, &ip) < 0) {
		cloud_error(m, "%s: '%.100s%s%.60s' is not an address with a prefix length or netmask; ignored", where,
			    addr, netmask ? " netmask " : "", netmask ? netmask : "");
		return -1;
	}
	if (iface->naddrs == HOST_MAX_ADDRS) {
		cloud_error(m, "%s: more than %d addresses; ignored", where, HOST_MAX_ADDRS);
		return -1;
	}
	iface->addrs[iface->naddrs++] = ip;
	return 0;
}

int cloud_add_route(struct cloud_meta *m, struct host_iface *iface, const char *to, const char *netmask,
		    const char *via, const char *where)
{
	struct host_ip dst;
	struct host_ip gw;
	if (hostcfg_parse_ip(via, 0, &gw) < 0) {
		cloud_error(m, "%s: gateway '%.100s' is not an IP address; ignored", where, via);
		return -1;
	}
	if (to == NULL || strcmp(to, "default") == 0) {
		memset(&dst, 0, sizeof(dst));
		dst.family = gw.family;
		dst.prefix = 0;
	} else if (ip_with_mask(to, netmask, 1, &dst) < 0 || dst.family != gw.family) {
		cloud_error(m, "%s: route to '%.100s' via %.60s is not a network of the gateway's family; ignored",
			    where, to, via);
		return -1;
	}
	if (dst.prefix == 0 && iface->gateway.family == 0) {
		iface->gateway = gw;
		return 0;
	}
	if (dst.prefix == 0 && iface->gateway.family == gw.family) {
		if (memcmp(iface->gateway.addr, gw.addr, 16) == 0) {
			return 0;
		}
		cloud_error(m, "%s: a second default route (via %.60s); ignored", where, via);
		return -1;
	}
	if (iface->nroutes == HOST_MAX_ROUTES) {
		cloud_error(m, "%s: more than %d routes; ignored", where, HOST_MAX_ROUTES);
		return -1;
	}
	struct host_route *r = &iface->routes[iface->nroutes++];
	r->to = dst;
	if (dst.prefix == 0) {
		snprintf(r->to.text, sizeof(r->to.text), "default");
	}
	r->via = gw;
	return 0;
}

int cloud_network_done(struct cloud_meta *m, const char *name, size_t before, size_t nifaces, size_t ndns)
{
	if (m->nerrors == before) {
		return 0;
	}
	m->nifaces = nifaces;
	m->ndns = ndns;
	cloud_error(m, "%s: the network configuration is not used, because of the problem%s above", name,
		    m->nerrors - before == 1 ? "" : "s");
	return -1;
}

/* ---- merge --------------------------------------------------------------------- */

static void report(struct cloud_report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void report(struct cloud_report *r, const char *fmt, ...)
{
	if (r->n == CLOUD_REPORT_LINES) {
		return;
	}
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->lines[r->n++], sizeof(r->lines[0]), fmt, ap);
	va_end(ap);
}

void cloud_merge(struct host_config *c, struct cloud_meta *m, struct cloud_report *r)
{
	memset(r, 0, sizeof(*r));
	if (m->hostname[0] != '\0') {
		if (c->set & HOST_SET_HOSTNAME) {
			report(r, "hostname: host.yaml's %s, not the metadata's %s", c->hostname, m->hostname);
		} else {
			snprintf(c->hostname, sizeof(c->hostname), "%s", m->hostname);
			report(r, "hostname: %s (%s)", m->hostname, m->hostname_from);
		}
	}
	if (m->nkeys > 0) {
		if (c->set & HOST_SET_KEYS) {
			report(r, "ssh keys: host.yaml's %zu, not the metadata's %zu", c->nkeys, m->nkeys);
		} else {
			hostcfg_free(c);
			for (size_t i = 0; i < m->nkeys; i++) {
				c->ssh_keys[i] = m->ssh_keys[i];
				m->ssh_keys[i] = NULL;
			}
			c->nkeys = m->nkeys;
			m->nkeys = 0;
			report(r, "ssh keys: %zu (%s)", c->nkeys, m->keys_from);
		}
	}
	if (m->network_set) {
		if (c->set & HOST_SET_IFACES) {
			report(r, "network: host.yaml's %zu interface%s, not the metadata's %zu", c->nifaces,
			       c->nifaces == 1 ? "" : "s", m->nifaces);
		} else if (m->nifaces == 0) {
			report(r, "network: the metadata names no interface Berth can set up (%s); DHCP as without it",
			       m->network_from);
		} else {
			memcpy(c->ifaces, m->ifaces, sizeof(c->ifaces));
			c->nifaces = m->nifaces;
			report(r, "network: %zu interface%s (%s)", m->nifaces, m->nifaces == 1 ? "" : "s",
			       m->network_from);
		}
	}
	if (m->ndns > 0) {
		if (c->set & HOST_SET_DNS) {
			report(r, "dns: host.yaml's %zu server%s, not the metadata's %zu", c->ndns,
			       c->ndns == 1 ? "" : "s", m->ndns);
		} else {
			memcpy(c->dns, m->dns, sizeof(c->dns));
			c->ndns = m->ndns;
			report(r, "dns: %zu server%s (%s)", m->ndns, m->ndns == 1 ? "" : "s", m->network_from);
		}
	}
}
