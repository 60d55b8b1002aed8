/* host.yaml (see hostcfg.h). Each section is parsed into a scratch copy
 * and committed only when the whole section is valid. */
#include "lib/hostcfg.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "lib/decimal.h"
#include "lib/fsutil.h"
#include "lib/yamltree.h"

/* ---- updates and the watchdog ---------------------------------------------- */

#define WATCHDOG_DEFAULT_SEC 60
#define HEALTH_TIMEOUT_DEFAULT_SEC 300

static void hostcfg_updates_defaults(struct host_config *c)
{
	c->watchdog_sec = WATCHDOG_DEFAULT_SEC;
	c->health_timeout_sec = HEALTH_TIMEOUT_DEFAULT_SEC;
	c->trial_boots = 3;
}

void hostcfg_defaults(struct host_config *c)
{
	memset(c, 0, sizeof(*c));
	c->console = HOST_CONSOLE_SHELL;
	c->on_failure = HOST_ON_FAILURE_SHELL;
	/* A public pool, so that a host's clock is right out of the box. */
	snprintf(c->ntp[0], sizeof(c->ntp[0]), "pool.ntp.org");
	c->nntp = 1;
	hostcfg_updates_defaults(c);
}

void hostcfg_free(struct host_config *c)
{
	for (size_t i = 0; i < c->nkeys; i++) {
		free(c->ssh_keys[i]);
		c->ssh_keys[i] = NULL;
	}
	c->nkeys = 0;
}

static void add_error(struct host_config *c, const char *msg)
{
	if (c->nerrors < HOST_MAX_ERRORS) {
		snprintf(c->errors[c->nerrors], sizeof(c->errors[0]), "%s", msg);
	}
	c->nerrors++;
}

int hostcfg_parse_ip(const char *text, int want_prefix, struct host_ip *out)
{
	char buf[64];
	memset(out, 0, sizeof(*out));
	if (copy_string(buf, sizeof(buf), text) < 0) {
		return -EINVAL;
	}
	out->prefix = -1;
	char *slash = strchr(buf, '/');
	if (slash != NULL) {
		*slash = '\0';
		uint64_t p;
		if (decimal_parse(slash + 1, 129, &p) < 0) {
			return -EINVAL;
		}
		out->prefix = (int)p;
	}
	if (inet_pton(AF_INET, buf, out->addr) == 1) {
		out->family = AF_INET;
		if (out->prefix > 32) {
			return -EINVAL;
		}
	} else if (inet_pton(AF_INET6, buf, out->addr) == 1) {
		out->family = AF_INET6;
		if (out->prefix > 128) {
			return -EINVAL;
		}
	} else {
		return -EINVAL;
	}
	if ((want_prefix == 1 && out->prefix < 0) || (want_prefix == 0 && out->prefix >= 0)) {
		return -EINVAL;
	}
	snprintf(out->text, sizeof(out->text), "%s", text);
	return 0;
}

/* ---- sections ------------------------------------------------------------- */

struct ctx {
	const struct yt_doc *doc;
	struct berr err;
};

int hostcfg_parse_mac(const char *text, unsigned char mac[6])
{
	/* Exactly six two-digit hex groups: sscanf alone would take "1:2:3:4:5:6x". */
	if (strlen(text) != 17) {
		return -EINVAL;
	}
	for (int i = 0; i < 6; i++) {
		const char *g = text + i * 3;
		if (!isxdigit((unsigned char)g[0]) || !isxdigit((unsigned char)g[1]) || (i < 5 && g[2] != ':')) {
			return -EINVAL;
		}
		char hex[3] = {g[0], g[1], '\0'};
		mac[i] = (unsigned char)strtoul(hex, NULL, 16);
	}
	return 0;
}

int hostcfg_valid_hostname(const char *h)
{
	size_t len = strlen(h);
	if (len == 0 || len > 63) {
		return 0;
	}
	size_t label = 0;
	for (size_t i = 0; i < len; i++) {
		char ch = h[i];
		if (ch == '.') {
			if (label == 0 || h[i - 1] == '-') {
				return 0;
			}
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)ch) && ch != '-') {
			return 0;
		}
		if (ch == '-' && label == 0) {
			return 0;
		}
		label++;
	}
	return label > 0 && h[len - 1] != '-';
}

static int parse_hostname(struct ctx *x, const struct yt_node *n, struct host_config *c)
{
	const char *h;
	if (yt_string(x->doc, n, "hostname", &h, &x->err) < 0) {
		return -1;
	}
	if (!hostcfg_valid_hostname(h)) {
		return yt_error(x->doc, n, &x->err,
				"hostname: '%.100s' is not a valid host name (letters, digits and '-', dot-separated, "
				"at most 63 characters)",
				h);
	}
	snprintf(c->hostname, sizeof(c->hostname), "%s", h);
	return 0;
}

static int parse_ip_node(struct ctx *x, const struct yt_node *n, const char *field, int want_prefix,
			 struct host_ip *out)
{
	const char *s;
	if (yt_string(x->doc, n, field, &s, &x->err) < 0) {
		return -1;
	}
	if (hostcfg_parse_ip(s, want_prefix, out) < 0) {
		const char *what = want_prefix == 1   ? "an address with a prefix length, like 192.0.2.10/24"
				   : want_prefix == 0 ? "an IP address, like 192.0.2.1"
						      : "an IP address or network, like 10.0.0.0/8";
		return yt_error(x->doc, n, &x->err, "%s: '%.100s' is not %s", field, s, what);
	}
	return 0;
}

static int seq_of(struct ctx *x, const struct yt_node *n, const char *field)
{
	if (n == NULL || n->kind != YT_SEQ) {
		return yt_error(x->doc, n, &x->err, "%s: expected a list", field);
	}
	return 0;
}

static int parse_routes(struct ctx *x, const struct yt_node *list, const char *ifname, struct host_iface *iface)
{
	char field[112];
	snprintf(field, sizeof(field), "%s.routes", ifname);
	if (seq_of(x, list, field) < 0) {
		return -1;
	}
	if (list->count > HOST_MAX_ROUTES) {
		return yt_error(x->doc, list, &x->err, "%s: at most %d routes", field, HOST_MAX_ROUTES);
	}
	static const char *const keys[] = {"to", "via", NULL};
	for (size_t i = 0; i < list->count; i++) {
		const struct yt_node *r = list->items[i];
		if (r->kind != YT_MAP) {
			return yt_error(x->doc, r, &x->err, "%s: each route is a mapping with 'to' and 'via'", field);
		}
		if (yt_check_keys(x->doc, r, field, keys, &x->err) < 0) {
			return -1;
		}
		struct host_route *route = &iface->routes[iface->nroutes];
		const struct yt_node *to = yt_get(r, "to");
		const struct yt_node *via = yt_get(r, "via");
		if (to == NULL || via == NULL) {
			return yt_error(x->doc, r, &x->err, "%s: a route needs both 'to' and 'via'", field);
		}
		if (to->kind == YT_SCALAR && strcmp(to->value, "default") == 0) {
			memset(&route->to, 0, sizeof(route->to));
			route->to.prefix = 0;
			snprintf(route->to.text, sizeof(route->to.text), "default");
		} else if (parse_ip_node(x, to, "routes.to", 1, &route->to) < 0) {
			return -1;
		}
		if (parse_ip_node(x, via, "routes.via", 0, &route->via) < 0) {
			return -1;
		}
		if (route->to.family == 0) {
			route->to.family = route->via.family;
		} else if (route->to.family != route->via.family) {
			return yt_error(x->doc, r, &x->err, "%s: 'to' and 'via' are of different address families",
					field);
		}
		iface->nroutes++;
	}
	return 0;
}

/* match: {macaddress: "52:54:00:12:34:56"} */
static int parse_match(struct ctx *x, const struct yt_node *n, const char *where, struct host_iface *iface)
{
	static const char *const keys[] = {"macaddress", NULL};
	char field[112];
	snprintf(field, sizeof(field), "%s.match", where);
	if (n->kind != YT_MAP) {
		return yt_error(x->doc, n, &x->err, "%s: expected a mapping with 'macaddress'", field);
	}
	if (yt_check_keys(x->doc, n, field, keys, &x->err) < 0) {
		return -1;
	}
	const struct yt_node *mac = yt_get(n, "macaddress");
	const char *text;
	if (mac == NULL) {
		return yt_error(x->doc, n, &x->err, "%s: needs 'macaddress'", field);
	}
	if (yt_string(x->doc, mac, "match.macaddress", &text, &x->err) < 0) {
		return -1;
	}
	if (hostcfg_parse_mac(text, iface->mac) < 0) {
		return yt_error(x->doc, mac, &x->err,
				"%s.macaddress: '%.100s' is not a MAC address (like 52:54:00:12:34:56)", field, text);
	}
	iface->match_mac = 1;
	return 0;
}

static int parse_iface(struct ctx *x, const struct yt_node *key, const struct yt_node *n, struct host_iface *iface)
{
	const char *name = key->value;
	static const char *const keys[] = {"match", "dhcp", "addresses", "gateway", "routes", "mtu", NULL};
	const struct yt_node *match = n != NULL && n->kind == YT_MAP ? yt_get(n, "match") : NULL;
	/* With a match the key is only a label; without, it is the kernel's name. */
	size_t max = match != NULL ? sizeof(iface->label) : sizeof(iface->name);
	if (strlen(name) == 0 || strlen(name) >= max || strchr(name, '/') != NULL || strchr(name, '\n') != NULL ||
	    strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
		return yt_error(x->doc, key, &x->err, "network.interfaces: '%.100s' is not an interface name%s", name,
				match != NULL ? " or label" : " (kernel names have at most 15 characters)");
	}
	memset(iface, 0, sizeof(*iface));
	snprintf(iface->label, sizeof(iface->label), "%s", name);
	if (match == NULL) {
		snprintf(iface->name, sizeof(iface->name), "%s", name);
	}
	if (yt_is_null(n)) {
		iface->dhcp = 1;
		return 0;
	}
	if (n->kind != YT_MAP) {
		return yt_error(x->doc, n, &x->err, "network.interfaces.%s: expected a mapping", name);
	}
	char where[96];
	snprintf(where, sizeof(where), "network.interfaces.%s", name);
	if (yt_check_keys(x->doc, n, where, keys, &x->err) < 0) {
		return -1;
	}
	if (match != NULL && parse_match(x, match, where, iface) < 0) {
		return -1;
	}
	const struct yt_node *addrs = yt_get(n, "addresses");
	if (addrs != NULL) {
		if (seq_of(x, addrs, "addresses") < 0) {
			return -1;
		}
		if (addrs->count > HOST_MAX_ADDRS) {
			return yt_error(x->doc, addrs, &x->err, "addresses: at most %d", HOST_MAX_ADDRS);
		}
		for (size_t i = 0; i < addrs->count; i++) {
			if (parse_ip_node(x, addrs->items[i], "addresses", 1, &iface->addrs[iface->naddrs++]) < 0) {
				return -1;
			}
		}
	}
	iface->dhcp = iface->naddrs == 0;
	const struct yt_node *dhcp = yt_get(n, "dhcp");
	if (dhcp != NULL && yt_bool(x->doc, dhcp, "dhcp", &iface->dhcp, &x->err) < 0) {
		return -1;
	}
	const struct yt_node *gw = yt_get(n, "gateway");
	if (gw != NULL && parse_ip_node(x, gw, "gateway", 0, &iface->gateway) < 0) {
		return -1;
	}
	const struct yt_node *routes = yt_get(n, "routes");
	if (routes != NULL && parse_routes(x, routes, where, iface) < 0) {
		return -1;
	}
	const struct yt_node *mtu = yt_get(n, "mtu");
	if (mtu != NULL) {
		long long v;
		if (yt_int(x->doc, mtu, "mtu", 576, 65535, &v, &x->err) < 0) {
			return -1;
		}
		iface->mtu = (int)v;
	}
	return 0;
}

static int parse_network(struct ctx *x, const struct yt_node *n, struct host_config *c)
{
	static const char *const keys[] = {"interfaces", "dns", NULL};
	if (n == NULL || n->kind != YT_MAP) {
		return yt_error(x->doc, n, &x->err, "network: expected a mapping with 'interfaces' and 'dns'");
	}
	if (yt_check_keys(x->doc, n, "network", keys, &x->err) < 0) {
		return -1;
	}
	const struct yt_node *ifs = yt_get(n, "interfaces");
	if (ifs != NULL) {
		if (ifs->kind != YT_MAP) {
			return yt_error(x->doc, ifs, &x->err, "network.interfaces: expected a mapping of names");
		}
		if (ifs->count > HOST_MAX_IFACES) {
			return yt_error(x->doc, ifs, &x->err, "network.interfaces: at most %d", HOST_MAX_IFACES);
		}
		for (size_t i = 0; i < ifs->count; i++) {
			struct host_iface *iface = &c->ifaces[c->nifaces];
			if (parse_iface(x, ifs->keys[i], ifs->items[i], iface) < 0) {
				return -1;
			}
			for (size_t k = 0; k < c->nifaces; k++) {
				const struct host_iface *o = &c->ifaces[k];
				if ((iface->match_mac && o->match_mac && memcmp(iface->mac, o->mac, 6) == 0) ||
				    (!iface->match_mac && !o->match_mac && strcmp(iface->name, o->name) == 0)) {
					return yt_error(x->doc, ifs->keys[i], &x->err,
							"network.interfaces.%s: names the same interface as %s",
							iface->label, o->label);
				}
			}
			c->nifaces++;
		}
	}
	const struct yt_node *dns = yt_get(n, "dns");
	if (dns != NULL) {
		if (seq_of(x, dns, "network.dns") < 0) {
			return -1;
		}
		if (dns->count > HOST_MAX_DNS) {
			return yt_error(x->doc, dns, &x->err, "network.dns: at most %d servers", HOST_MAX_DNS);
		}
		for (size_t i = 0; i < dns->count; i++) {
			if (parse_ip_node(x, dns->items[i], "network.dns", 0, &c->dns[c->ndns++]) < 0) {
				return -1;
			}
		}
	}
	return 0;
}

static int b64_value(int ch)
{
	if (ch >= 'A' && ch <= 'Z') {
		return ch - 'A';
	}
	if (ch >= 'a' && ch <= 'z') {
		return ch - 'a' + 26;
	}
	if (ch >= '0' && ch <= '9') {
		return ch - '0' + 52;
	}
	if (ch == '+') {
		return 62;
	}
	if (ch == '/') {
		return 63;
	}
	return -1;
}

/* Decodes the first bytes of a base64 blob (enough for the key type). */
static int b64_prefix(const char *s, size_t len, unsigned char *out, size_t want)
{
	size_t got = 0;
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < len && got < want; i++) {
		int v = b64_value((unsigned char)s[i]);
		if (v < 0) {
			return s[i] == '=' ? (int)got : -1;
		}
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[got++] = (unsigned char)(acc >> bits);
		}
	}
	return (int)got;
}

/* A public key line: [options] TYPE BASE64 [comment]. The blob must
 * decode to a key of the named type. */
int hostcfg_valid_ssh_key(const char *line, const char **why)
{
	static const char *const types[] = {
		"ssh-ed25519",
		"ssh-rsa",
		"ecdsa-sha2-nistp256",
		"ecdsa-sha2-nistp384",
		"ecdsa-sha2-nistp521",
		"sk-ssh-ed25519@openssh.com",
		"sk-ecdsa-sha2-nistp256@openssh.com",
		NULL,
	};
	if (strchr(line, '\n') != NULL || strchr(line, '\r') != NULL) {
		*why = "contains a line break";
		return 0;
	}
	for (const char *p = line; *p; p++) {
		for (const char *const *t = types; *t; t++) {
			size_t tl = strlen(*t);
			if ((p == line || p[-1] == ' ') && strncmp(p, *t, tl) == 0 && p[tl] == ' ') {
				const char *blob = p + tl + 1;
				while (*blob == ' ') {
					blob++;
				}
				size_t blen = strcspn(blob, " ");
				unsigned char head[64];
				int n = b64_prefix(blob, blen, head, 4 + tl);
				if (blen < 16 || n < (int)(4 + tl)) {
					*why = "its key data is not valid base64";
					return 0;
				}
				uint32_t nl = (uint32_t)head[0] << 24 | (uint32_t)head[1] << 16 |
					      (uint32_t)head[2] << 8 | head[3];
				if (nl != tl || memcmp(head + 4, *t, tl) != 0) {
					*why = "its key data does not match its type";
					return 0;
				}
				return 1;
			}
		}
	}
	*why = "it has no key type (ssh-ed25519, ssh-rsa, ecdsa-sha2-...) followed by key data";
	return 0;
}

static int parse_ssh_keys(struct ctx *x, const struct yt_node *n, struct host_config *c)
{
	if (seq_of(x, n, "ssh_authorized_keys") < 0) {
		return -1;
	}
	if (n->count > HOST_MAX_KEYS) {
		return yt_error(x->doc, n, &x->err, "ssh_authorized_keys: at most %d keys", HOST_MAX_KEYS);
	}
	for (size_t i = 0; i < n->count; i++) {
		const char *key;
		const char *why;
		if (yt_string(x->doc, n->items[i], "ssh_authorized_keys", &key, &x->err) < 0) {
			return -1;
		}
		if (strlen(key) > HOST_KEY_MAX) {
			return yt_error(x->doc, n->items[i], &x->err, "ssh_authorized_keys: key longer than %d bytes",
					HOST_KEY_MAX);
		}
		if (!hostcfg_valid_ssh_key(key, &why)) {
			return yt_error(x->doc, n->items[i], &x->err,
					"ssh_authorized_keys: entry %zu is not a public key: %s", i + 1, why);
		}
		c->ssh_keys[c->nkeys] = strdup(key);
		if (c->ssh_keys[c->nkeys] == NULL) {
			return berr_set(&x->err, ENOMEM, "ssh_authorized_keys");
		}
		c->nkeys++;
	}
	return 0;
}

static int valid_server_name(const char *s)
{
	size_t len = strlen(s);
	if (len == 0 || len > 253) {
		return 0;
	}
	for (size_t i = 0; i < len; i++) {
		if (!isalnum((unsigned char)s[i]) && s[i] != '.' && s[i] != '-' && s[i] != ':' && s[i] != '[' &&
		    s[i] != ']') {
			return 0;
		}
	}
	return s[0] != '-';
}

static int parse_ntp(struct ctx *x, const struct yt_node *n, struct host_config *c)
{
	static const char *const keys[] = {"servers", NULL};
	if (n == NULL || n->kind != YT_MAP) {
		return yt_error(x->doc, n, &x->err, "ntp: expected a mapping with 'servers'");
	}
	if (yt_check_keys(x->doc, n, "ntp", keys, &x->err) < 0) {
		return -1;
	}
	const struct yt_node *servers = yt_get(n, "servers");
	c->nntp = 0;
	c->ntp_set = 1;
	if (servers == NULL || yt_is_null(servers)) {
		return 0;
	}
	if (seq_of(x, servers, "ntp.servers") < 0) {
		return -1;
	}
	if (servers->count > HOST_MAX_NTP) {
		return yt_error(x->doc, servers, &x->err, "ntp.servers: at most %d", HOST_MAX_NTP);
	}
	for (size_t i = 0; i < servers->count; i++) {
		const char *s;
		if (yt_string(x->doc, servers->items[i], "ntp.servers", &s, &x->err) < 0) {
			return -1;
		}
		if (!valid_server_name(s)) {
			return yt_error(x->doc, servers->items[i], &x->err,
					"ntp.servers: '%.100s' is not a host name or address", s);
		}
		snprintf(c->ntp[c->nntp++], sizeof(c->ntp[0]), "%s", s);
	}
	return 0;
}

static int valid_sysctl_key(const char *k)
{
	size_t len = strlen(k);
	if (len == 0 || len >= 128 || k[0] == '.' || k[len - 1] == '.' || strstr(k, "..") != NULL) {
		return 0;
	}
	for (size_t i = 0; i < len; i++) {
		if (!isalnum((unsigned char)k[i]) && k[i] != '.' && k[i] != '_' && k[i] != '-') {
			return 0;
		}
	}
	return 1;
}

static int parse_sysctls(struct ctx *x, const struct yt_node *n, struct host_config *c)
{
	if (n == NULL || n->kind != YT_MAP) {
		return yt_error(x->doc, n, &x->err, "sysctls: expected a mapping of names to values");
	}
	if (n->count > HOST_MAX_SYSCTLS) {
		return yt_error(x->doc, n, &x->err, "sysctls: at most %d", HOST_MAX_SYSCTLS);
	}
	for (size_t i = 0; i < n->count; i++) {
		const char *k = n->keys[i]->value;
		const struct yt_node *v = n->items[i];
		if (!valid_sysctl_key(k)) {
			return yt_error(x->doc, n->keys[i], &x->err,
					"sysctls: '%.100s' is not a sysctl name (like net.ipv4.ip_forward)", k);
		}
		if (v->kind != YT_SCALAR || yt_is_null(v) || strchr(v->value, '\n') != NULL ||
		    strlen(v->value) >= sizeof(c->sysctls[0].value)) {
			return yt_error(x->doc, v, &x->err, "sysctls.%.100s: expected a single-line value", k);
		}
		snprintf(c->sysctls[c->nsysctls].key, sizeof(c->sysctls[0].key), "%s", k);
		snprintf(c->sysctls[c->nsysctls].value, sizeof(c->sysctls[0].value), "%s", v->value);
		c->nsysctls++;
	}
	return 0;
}

static int parse_timezone(struct ctx *x, const struct yt_node *n, struct host_config *c)
{
	const char *tz;
	if (yt_string(x->doc, n, "timezone", &tz, &x->err) < 0) {
		return -1;
	}
	size_t len = strlen(tz);
	int ok = len > 0 && len < sizeof(c->timezone) && strstr(tz, "..") == NULL && tz[0] != '/';
	for (size_t i = 0; ok && i < len; i++) {
		ok = isalnum((unsigned char)tz[i]) || strchr("_+-/:,.<>", tz[i]) != NULL;
	}
	if (!ok) {
		return yt_error(x->doc, n, &x->err,
				"timezone: '%.100s' is not a time zone (UTC, a name like Europe/Paris, or a POSIX TZ "
				"string)",
				tz);
	}
	snprintf(c->timezone, sizeof(c->timezone), "%s", tz);
	return 0;
}

/* containers: bind_mounts: [/srv/media, /dev/ttyUSB0] */
static int parse_containers(struct ctx *x, const struct yt_node *n, struct host_config *c)
{
	if (n == NULL || n->kind != YT_MAP) {
		return yt_error(x->doc, n, &x->err, "containers: expected a mapping (bind_mounts:)");
	}
	c->nbind_allow = 0;
	for (size_t i = 0; i < n->count; i++) {
		const char *key = n->keys[i]->value;
		const struct yt_node *v = n->items[i];
		if (strcmp(key, "bind_mounts") != 0) {
			return yt_error(x->doc, n->keys[i], &x->err,
					"containers: unknown key '%.100s' (known: bind_mounts)", key);
		}
		if (seq_of(x, v, "containers.bind_mounts") < 0) {
			return -1;
		}
		if (v->count > HOST_MAX_BINDS) {
			return yt_error(x->doc, v, &x->err, "containers.bind_mounts: at most %d paths", HOST_MAX_BINDS);
		}
		for (size_t k = 0; k < v->count; k++) {
			const char *path;
			if (yt_string(x->doc, v->items[k], "containers.bind_mounts", &path, &x->err) < 0) {
				return -1;
			}
			/* Absolute and clean, and never the whole host. */
			if (path[0] != '/' || strcmp(path, "/") == 0 || strstr(path, "/../") != NULL ||
			    strstr(path, "/./") != NULL || strstr(path, "//") != NULL ||
			    (strlen(path) >= 3 && strcmp(path + strlen(path) - 3, "/..") == 0) ||
			    path[strlen(path) - 1] == '/' || strlen(path) >= sizeof(c->bind_allow[0])) {
				return yt_error(x->doc, v->items[k], &x->err,
						"containers.bind_mounts: '%.100s' is not a clean absolute path below /",
						path);
			}
			copy_string(c->bind_allow[c->nbind_allow++], sizeof(c->bind_allow[0]), path);
		}
	}
	return 0;
}

static int parse_choice(struct ctx *x, const struct yt_node *n, const char *field, const char *a, const char *b,
			int *out)
{
	const char *s;
	/* `off` is also YAML 1.1's false, so a plain off is taken as the word. */
	if (yt_string(x->doc, n, field, &s, &x->err) < 0) {
		return -1;
	}
	if (strcmp(s, a) == 0) {
		*out = 0;
	} else if (strcmp(s, b) == 0) {
		*out = 1;
	} else {
		return yt_error(x->doc, n, &x->err, "%s: expected '%s' or '%s', got '%.100s'", field, a, b, s);
	}
	return 0;
}

/* ---- registries ------------------------------------------------------------- */

/* "host", "host:port", an IPv4 address: a registry as image names give it. */
static int valid_registry(const char *s)
{
	size_t len = strlen(s);
	if (len == 0 || len >= 256 || s[0] == '-' || s[0] == '.' || s[0] == ':') {
		return 0;
	}
	for (size_t i = 0; i < len; i++) {
		if (!isalnum((unsigned char)s[i]) && s[i] != '.' && s[i] != '-' && s[i] != ':') {
			return 0;
		}
	}
	return 1;
}

/* http(s)://host[:port][/path], no credentials, no spaces. */
static int valid_url(const char *s, size_t max)
{
	const char *rest = strncmp(s, "https://", 8) == 0 ? s + 8 : strncmp(s, "http://", 7) == 0 ? s + 7 : NULL;
	if (rest == NULL || rest[0] == '\0' || rest[0] == '/' || strlen(s) >= max) {
		return 0;
	}
	for (const char *p = s; *p != '\0'; p++) {
		if ((unsigned char)*p <= ' ' || *p == '"' || *p == '\\') {
			return 0;
		}
	}
	return 1;
}

static int add_mirror(struct ctx *x, const struct yt_node *v, const char *registry, struct host_config *c)
{
	const char *url;
	if (yt_string(x->doc, v, "registry_mirrors", &url, &x->err) < 0) {
		return -1;
	}
	if (!valid_url(url, sizeof(c->mirrors[0].url)) || strchr(url + 8, '@') != NULL) {
		return yt_error(x->doc, v, &x->err,
				"registry_mirrors: '%.100s' is not a mirror URL (https://host[:port][/path])", url);
	}
	if (c->nmirrors == HOST_MAX_MIRRORS) {
		return yt_error(x->doc, v, &x->err, "registry_mirrors: at most %d", HOST_MAX_MIRRORS);
	}
	struct host_mirror *m = &c->mirrors[c->nmirrors++];
	snprintf(m->registry, sizeof(m->registry), "%s", registry);
	snprintf(m->url, sizeof(m->url), "%s", url);
	/* A trailing slash would double the one every request path has. */
	size_t len = strlen(m->url);
	while (len > 0 && m->url[len - 1] == '/') {
		m->url[--len] = '\0';
	}
	return 0;
}

/* registry_mirrors: a list (Docker Hub's mirrors, as dockerd's
 * registry-mirrors), or a mapping of registries to lists of mirrors. */
static int parse_mirrors(struct ctx *x, const struct yt_node *n, struct host_config *c)
{
	c->nmirrors = 0;
	if (n != NULL && n->kind == YT_SEQ) {
		for (size_t i = 0; i < n->count; i++) {
			if (add_mirror(x, n->items[i], "docker.io", c) < 0) {
				return -1;
			}
		}
		return 0;
	}
	if (n == NULL || n->kind != YT_MAP) {
		return yt_error(x->doc, n, &x->err,
				"registry_mirrors: expected a list of Docker Hub mirrors, or a mapping of registries "
				"to lists of mirrors");
	}
	for (size_t i = 0; i < n->count; i++) {
		const char *reg = n->keys[i]->value;
		if (!valid_registry(reg)) {
			return yt_error(x->doc, n->keys[i], &x->err,
					"registry_mirrors: '%.100s' is not a registry (host or host:port)", reg);
		}
		if (strcmp(reg, "index.docker.io") == 0 || strcmp(reg, "registry-1.docker.io") == 0) {
			reg = "docker.io";
		}
		if (seq_of(x, n->items[i], "registry_mirrors") < 0) {
			return -1;
		}
		for (size_t k = 0; k < n->items[i]->count; k++) {
			if (add_mirror(x, n->items[i]->items[k], reg, c) < 0) {
				return -1;
			}
		}
	}
	return 0;
}

static int parse_insecure(struct ctx *x, const struct yt_node *n, struct host_config *c)
{
	c->ninsecure = 0;
	if (seq_of(x, n, "insecure_registries") < 0) {
		return -1;
	}
	if (n->count > HOST_MAX_INSECURE) {
		return yt_error(x->doc, n, &x->err, "insecure_registries: at most %d", HOST_MAX_INSECURE);
	}
	for (size_t i = 0; i < n->count; i++) {
		const char *reg;
		if (yt_string(x->doc, n->items[i], "insecure_registries", &reg, &x->err) < 0) {
			return -1;
		}
		if (!valid_registry(reg)) {
			return yt_error(
				x->doc, n->items[i], &x->err,
				"insecure_registries: '%.100s' is not a registry (host or host:port, no scheme)", reg);
		}
		snprintf(c->insecure[c->ninsecure++], sizeof(c->insecure[0]), "%s", reg);
	}
	return 0;
}

/* proxy: {https_proxy: URL, http_proxy: URL, no_proxy: "a,b" or [a, b]} */
static int parse_proxy(struct ctx *x, const struct yt_node *n, struct host_config *c)
{
	static const char *const keys[] = {"https_proxy", "http_proxy", "no_proxy", NULL};
	if (n == NULL || n->kind != YT_MAP) {
		return yt_error(x->doc, n, &x->err, "proxy: expected a mapping (https_proxy:, http_proxy:, no_proxy:)");
	}
	if (yt_check_keys(x->doc, n, "proxy", keys, &x->err) < 0) {
		return -1;
	}
	c->https_proxy[0] = c->http_proxy[0] = c->no_proxy[0] = '\0';
	for (size_t i = 0; i < n->count; i++) {
		const char *key = n->keys[i]->value;
		const struct yt_node *v = n->items[i];
		if (strcmp(key, "no_proxy") == 0) {
			size_t len = 0;
			size_t count = v->kind == YT_SEQ ? v->count : 1;
			for (size_t k = 0; k < count; k++) {
				const char *h;
				if (yt_string(x->doc, v->kind == YT_SEQ ? v->items[k] : v, "proxy.no_proxy", &h,
					      &x->err) < 0) {
					return -1;
				}
				int w = snprintf(c->no_proxy + len, sizeof(c->no_proxy) - len, "%s%s",
						 len > 0 ? "," : "", h);
				if (w < 0 || (size_t)w >= sizeof(c->no_proxy) - len || strpbrk(h, " \t\n") != NULL) {
					return yt_error(x->doc, v, &x->err,
							"proxy.no_proxy: too long, or a name with spaces");
				}
				len += (size_t)w;
			}
			continue;
		}
		char *dst = strcmp(key, "https_proxy") == 0 ? c->https_proxy : c->http_proxy;
		const char *url;
		if (yt_string(x->doc, v, key, &url, &x->err) < 0) {
			return -1;
		}
		if (!valid_url(url, sizeof(c->https_proxy))) {
			return yt_error(x->doc, v, &x->err, "proxy.%s: expected http://[user:password@]host:port", key);
		}
		snprintf(dst, sizeof(c->https_proxy), "%s", url);
	}
	return 0;
}

/* watchdog: 30 (seconds), or off */
static int parse_watchdog(struct ctx *x, const struct yt_node *n, struct host_config *c)
{
	if (n != NULL && n->kind == YT_SCALAR && strcmp(n->value, "off") == 0) {
		c->watchdog_sec = 0;
		return 0;
	}
	long long v;
	if (n == NULL || n->kind != YT_SCALAR || yt_int(x->doc, n, "watchdog", 1, 3600, &v, &x->err) < 0) {
		return yt_error(x->doc, n, &x->err, "watchdog: expected a timeout in seconds (1 to 3600) or 'off'");
	}
	c->watchdog_sec = (int)v;
	return 0;
}

/* updates: {health_timeout: 300, trial_boots: 3} */
static int parse_updates(struct ctx *x, const struct yt_node *n, struct host_config *c)
{
	static const char *const keys[] = {"health_timeout", "trial_boots", NULL};
	if (n == NULL || n->kind != YT_MAP) {
		return yt_error(x->doc, n, &x->err, "updates: expected a mapping (health_timeout:, trial_boots:)");
	}
	if (yt_check_keys(x->doc, n, "updates", keys, &x->err) < 0) {
		return -1;
	}
	long long v;
	const struct yt_node *t = yt_get(n, "health_timeout");
	if (t != NULL) {
		if (yt_int(x->doc, t, "updates.health_timeout", 10, 86400, &v, &x->err) < 0) {
			return -1;
		}
		c->health_timeout_sec = (int)v;
	}
	const struct yt_node *b = yt_get(n, "trial_boots");
	if (b != NULL) {
		if (yt_int(x->doc, b, "updates.trial_boots", 1, 9, &v, &x->err) < 0) {
			return -1;
		}
		c->trial_boots = (int)v;
	}
	return 0;
}

/* ---- top level -------------------------------------------------------------- */

int hostcfg_parse(struct host_config *c, const char *name, const char *buf, size_t len)
{
	struct yt_doc doc;
	struct ctx x;
	memset(&x, 0, sizeof(x));
	if (yt_parse(&doc, name, buf, len, &x.err) < 0) {
		add_error(c, x.err.msg);
		return (int)c->nerrors;
	}
	x.doc = &doc;
	const struct yt_node *root = doc.root;
	if (root == NULL || yt_is_null(root)) {
		yt_free(&doc);
		return 0;
	}
	if (root->kind != YT_MAP) {
		yt_error(&doc, root, &x.err, "expected a mapping of settings (hostname:, network:, ...)");
		add_error(c, x.err.msg);
		yt_free(&doc);
		return (int)c->nerrors;
	}
	for (size_t i = 0; i < root->count; i++) {
		const char *key = root->keys[i]->value;
		const struct yt_node *v = root->items[i];
		struct host_config scratch;
		int ret;
		/* Each section parses into a copy: all of it, or none of it. */
		memcpy(&scratch, c, sizeof(scratch));
		berr_clear(&x.err);
		if (strcmp(key, "hostname") == 0) {
			ret = parse_hostname(&x, v, &scratch);
			scratch.set |= HOST_SET_HOSTNAME;
		} else if (strcmp(key, "network") == 0) {
			scratch.nifaces = 0;
			scratch.ndns = 0;
			ret = parse_network(&x, v, &scratch);
			scratch.set |= (yt_get(v, "interfaces") != NULL ? HOST_SET_IFACES : 0) |
				       (yt_get(v, "dns") != NULL ? HOST_SET_DNS : 0);
		} else if (strcmp(key, "ssh_authorized_keys") == 0) {
			scratch.nkeys = 0;
			ret = parse_ssh_keys(&x, v, &scratch);
			scratch.set |= HOST_SET_KEYS;
			if (ret < 0) {
				for (size_t k = 0; k < scratch.nkeys; k++) {
					free(scratch.ssh_keys[k]);
				}
			} else {
				hostcfg_free(c);
			}
		} else if (strcmp(key, "ntp") == 0) {
			ret = parse_ntp(&x, v, &scratch);
		} else if (strcmp(key, "sysctls") == 0) {
			scratch.nsysctls = 0;
			ret = parse_sysctls(&x, v, &scratch);
		} else if (strcmp(key, "timezone") == 0) {
			ret = parse_timezone(&x, v, &scratch);
		} else if (strcmp(key, "containers") == 0) {
			ret = parse_containers(&x, v, &scratch);
		} else if (strcmp(key, "console") == 0) {
			int off;
			ret = parse_choice(&x, v, "console", "shell", "off", &off);
			scratch.console = off ? HOST_CONSOLE_OFF : HOST_CONSOLE_SHELL;
		} else if (strcmp(key, "registry_mirrors") == 0) {
			ret = parse_mirrors(&x, v, &scratch);
		} else if (strcmp(key, "insecure_registries") == 0) {
			ret = parse_insecure(&x, v, &scratch);
		} else if (strcmp(key, "proxy") == 0) {
			ret = parse_proxy(&x, v, &scratch);
		} else if (strcmp(key, "on_failure") == 0) {
			int reboot;
			ret = parse_choice(&x, v, "on_failure", "shell", "reboot", &reboot);
			scratch.on_failure = reboot ? HOST_ON_FAILURE_REBOOT : HOST_ON_FAILURE_SHELL;
		} else if (strcmp(key, "watchdog") == 0) {
			ret = parse_watchdog(&x, v, &scratch);
		} else if (strcmp(key, "updates") == 0) {
			ret = parse_updates(&x, v, &scratch);
		} else {
			ret = yt_error(&doc, root->keys[i], &x.err,
				       "unknown key '%.100s' (known: hostname, network, ssh_authorized_keys, ntp, "
				       "sysctls, timezone, console, on_failure, containers, registry_mirrors, "
				       "insecure_registries, proxy, updates, watchdog)",
				       key);
		}
		if (ret < 0) {
			add_error(c, x.err.msg);
			continue;
		}
		size_t nerrors = c->nerrors;
		char errors[HOST_MAX_ERRORS][512];
		memcpy(errors, c->errors, sizeof(errors));
		memcpy(c, &scratch, sizeof(*c));
		memcpy(c->errors, errors, sizeof(errors));
		c->nerrors = nerrors;
	}
	yt_free(&doc);
	return (int)c->nerrors;
}

int hostcfg_load(struct host_config *c, const char *path, const char *display_name)
{
	struct berr err;
	char *buf = malloc(YT_MAX_INPUT + 1);
	if (buf == NULL) {
		add_error(c, "host.yaml: out of memory");
		return (int)c->nerrors;
	}
	ssize_t n = read_file(path, buf, YT_MAX_INPUT + 1, &err);
	if (n < 0) {
		if (err.code != ENOENT) {
			add_error(c, err.msg);
		}
		free(buf);
		return (int)c->nerrors;
	}
	int ret = hostcfg_parse(c, display_name, buf, (size_t)n);
	free(buf);
	return ret;
}

enum host_when hostcfg_when(const char *key)
{
	/* ntp: init restarts ntpd (services_update_ntp); timezone: the TZ of
	 * the services init starts from then on (ntpd restarted, a new console
	 * shell). */
	static const char *const live[] = {"hostname", "ssh_authorized_keys", "sysctls", "ntp", "timezone"};
	for (size_t i = 0; i < sizeof(live) / sizeof(live[0]); i++) {
		if (strcmp(key, live[i]) == 0) {
			return HOST_LIVE;
		}
	}
	return strcmp(key, "network") == 0 ? HOST_ON_TRIAL : HOST_AT_BOOT;
}

/* Both compare bytes: configs are parsed into zeroed structures (padding
 * and unused text included). */
int hostcfg_same_interfaces(const struct host_config *a, const struct host_config *b)
{
	return a->nifaces == b->nifaces && memcmp(a->ifaces, b->ifaces, a->nifaces * sizeof(a->ifaces[0])) == 0;
}

int hostcfg_same_dns(const struct host_config *a, const struct host_config *b)
{
	return a->ndns == b->ndns && memcmp(a->dns, b->dns, a->ndns * sizeof(a->dns[0])) == 0;
}
