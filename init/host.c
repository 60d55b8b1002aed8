/* Host settings (see host.h). Runs in PID 1 during boot. */
#include "init/host.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "init/console.h"
#include "init/disks.h"
#include "lib/cleanup.h"
#include "lib/fsutil.h"
#include "lib/log.h"
#include "lib/netlink.h"

#define HOST_YAML CONFIG_MOUNT "/host.yaml"
#define RESOLV_CONF "/run/resolv.conf"
/* While it exists the DHCP client's script leaves resolv.conf alone. */
#define STATIC_DNS "/run/berth/static-dns"
/* The script's copy of the last lease's resolv.conf, written whatever
 * STATIC_DNS says: it writes only when a lease comes, which may be hours
 * after host.yaml's network.dns goes away. */
#define DHCP_RESOLV "/run/berth/dhcp-resolv.conf"

void host_load_config(struct host_config *cfg, int config_mounted)
{
	hostcfg_defaults(cfg);
	if (!config_mounted) {
		return;
	}
	if (hostcfg_load(cfg, HOST_YAML, "host.yaml") == 0) {
		return;
	}
	size_t shown = cfg->nerrors < HOST_MAX_ERRORS ? cfg->nerrors : HOST_MAX_ERRORS;
	for (size_t i = 0; i < shown; i++) {
		blog_err("%s", cfg->errors[i]);
		console_print("berth: %s", cfg->errors[i]);
	}
	if (cfg->nerrors > shown) {
		blog_err("host.yaml: %zu more problems", cfg->nerrors - shown);
	}
	console_print("berth: host.yaml has %zu problem%s; the sections concerned use their defaults", cfg->nerrors,
		      cfg->nerrors == 1 ? "" : "s");
}

int host_is_ether(const char *name, unsigned char mac[6])
{
	char path[300];
	char text[64];
	snprintf(path, sizeof(path), "/sys/class/net/%s/type", name);
	if (read_file(path, text, sizeof(text), NULL) < 0 || atoi(text) != 1) {
		return 0; /* not ARPHRD_ETHER */
	}
	/* Virtual links (bridges, veths) have no device behind them. */
	snprintf(path, sizeof(path), "/sys/class/net/%s/device", name);
	if (access(path, F_OK) != 0) {
		return 0;
	}
	snprintf(path, sizeof(path), "/sys/class/net/%s/address", name);
	unsigned m[6];
	if (read_file(path, text, sizeof(text), NULL) < 0 ||
	    sscanf(text, "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) != 6) {
		return 0;
	}
	for (int i = 0; i < 6; i++) {
		mac[i] = (unsigned char)m[i];
	}
	return 1;
}

int host_has_carrier(const char *name)
{
	char path[300];
	char text[16];
	snprintf(path, sizeof(path), "/sys/class/net/%s/carrier", name);
	/* EINVAL while the link is down: no carrier either. */
	return read_file(path, text, sizeof(text), NULL) > 0 && text[0] == '1';
}

static int compare_index(const void *a, const void *b)
{
	const struct host_ether *x = a;
	const struct host_ether *y = b;
	return (x->index > y->index) - (x->index < y->index);
}

size_t host_list_ethers(struct host_ether *out, size_t max)
{
	auto_closedir DIR *d = opendir("/sys/class/net");
	if (d == NULL) {
		return 0;
	}
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL && n < max) {
		char path[300];
		char text[32];
		struct host_ether *e = &out[n];
		if (de->d_name[0] == '.' || copy_string(e->name, sizeof(e->name), de->d_name) < 0 ||
		    !host_is_ether(e->name, e->mac)) {
			continue;
		}
		snprintf(path, sizeof(path), "/sys/class/net/%s/ifindex", de->d_name);
		if (read_file(path, text, sizeof(text), NULL) < 0) {
			continue;
		}
		e->index = atoi(text);
		n++;
	}
	qsort(out, n, sizeof(out[0]), compare_index);
	return n;
}

static void apply_hostname(const struct host_config *cfg, struct host_state *st)
{
	struct host_ether first;
	if (cfg->hostname[0] != '\0') {
		snprintf(st->hostname, sizeof(st->hostname), "%s", cfg->hostname);
	} else if (host_list_ethers(&first, 1) == 1) {
		const unsigned char *mac = first.mac;
		snprintf(st->hostname, sizeof(st->hostname), "berth-%02x%02x%02x", mac[3], mac[4], mac[5]);
	} else {
		snprintf(st->hostname, sizeof(st->hostname), "berth");
	}
	if (sethostname(st->hostname, strlen(st->hostname)) < 0) {
		blog_err("set hostname %s: %s", st->hostname, strerror(errno));
		return;
	}
	blog_info("hostname is %s", st->hostname);
}

static void apply_static(struct nl_sock *nl, const struct host_iface *iface)
{
	struct berr err;
	if (iface->mtu > 0 && nl_link_set_mtu(nl, iface->name, iface->mtu, &err) < 0) {
		blog_err("network: %s", err.msg);
	}
	if (nl_link_up(nl, iface->name, &err) < 0) {
		blog_err("network: %s", err.msg);
		return;
	}
	for (size_t i = 0; i < iface->naddrs; i++) {
		const struct host_ip *a = &iface->addrs[i];
		if (nl_addr_add(nl, iface->name, a->family, a->addr, a->prefix, &err) < 0) {
			blog_err("network: %s", err.msg);
		} else {
			blog_info("network: %s has address %s", iface->name, a->text);
		}
	}
	if (iface->gateway.family != 0) {
		const struct host_ip *g = &iface->gateway;
		if (nl_route_add(nl, iface->name, g->family, NULL, 0, g->addr, &err) < 0) {
			blog_err("network: %s", err.msg);
		} else {
			blog_info("network: default route via %s on %s", g->text, iface->name);
		}
	}
	for (size_t i = 0; i < iface->nroutes; i++) {
		const struct host_route *r = &iface->routes[i];
		if (nl_route_add(nl, iface->name, r->via.family, r->to.addr, r->to.prefix, r->via.addr, &err) < 0) {
			blog_err("network: %s", err.msg);
		}
	}
}

/* No interfaces in host.yaml: every wired interface up, DHCP on those
 * that have a link now (netwatch starts it on the others when theirs
 * comes). */
static void network_auto(struct nl_sock *nl, struct host_state *st)
{
	struct host_ether ethers[32];
	struct berr err;
	size_t n = host_list_ethers(ethers, 32);
	st->dhcp_auto = 1;
	if (n == 0) {
		blog_warn("network: no wired interface found");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (nl_link_up(nl, ethers[i].name, &err) < 0) {
			blog_err("network: %s", err.msg);
			continue;
		}
		if (host_has_carrier(ethers[i].name) && st->ndhcp < HOST_MAX_DHCP) {
			snprintf(st->dhcp_ifaces[st->ndhcp++], sizeof(st->dhcp_ifaces[0]), "%s", ethers[i].name);
			blog_info("network: DHCP on %s (it has a link; no interfaces in host.yaml)", ethers[i].name);
		} else {
			blog_info("network: %s has no link yet; DHCP when it comes", ethers[i].name);
		}
	}
}

/* The kernel name of an interface host.yaml (or metadata) matches by MAC
 * address; 0 when found. */
static int resolve_mac(struct host_iface *iface)
{
	struct host_ether ethers[32];
	size_t n = host_list_ethers(ethers, 32);
	for (size_t i = 0; i < n; i++) {
		if (memcmp(ethers[i].mac, iface->mac, 6) == 0) {
			snprintf(iface->name, sizeof(iface->name), "%s", ethers[i].name);
			return 0;
		}
	}
	return -ENODEV;
}

/* NIC firmware from CONFIG: the root image has none, and the drivers that
 * want a file at link-up (r8169's PHY patches, tg3's TSO firmware) look in
 * firmware_class's path as the link comes up, which is after this. (ice
 * loads its DDP package at probe, before any filesystem: it stays in safe
 * mode.) */
static void firmware_path(void)
{
	struct berr err;
	if (access(CONFIG_MOUNT "/firmware", R_OK | X_OK) != 0) {
		return;
	}
	if (write_file("/sys/module/firmware_class/parameters/path", CONFIG_MOUNT "/firmware", &err) < 0) {
		blog_warn("firmware: %s", err.msg);
		return;
	}
	blog_info("firmware: drivers look for files in %s/firmware", CONFIG_MOUNT);
}

static void apply_network(const struct host_config *cfg, struct host_state *st)
{
	struct nl_sock nl;
	struct berr err;
	firmware_path();
	if (nl_open(&nl, &err) < 0) {
		blog_err("network: %s", err.msg);
		return;
	}
	if (nl_link_up(&nl, "lo", &err) < 0) {
		blog_err("network: %s", err.msg);
	}
	if (cfg->nifaces == 0) {
		network_auto(&nl, st);
	}
	for (size_t i = 0; i < cfg->nifaces; i++) {
		struct host_iface iface = cfg->ifaces[i];
		if (iface.match_mac) {
			const unsigned char *m = iface.mac;
			if (resolve_mac(&iface) < 0) {
				blog_err(
					"network: %s matches %02x:%02x:%02x:%02x:%02x:%02x, which no interface of this "
					"machine has",
					iface.label, m[0], m[1], m[2], m[3], m[4], m[5]);
				continue;
			}
			blog_info("network: %s is %s (%02x:%02x:%02x:%02x:%02x:%02x)", iface.label, iface.name, m[0],
				  m[1], m[2], m[3], m[4], m[5]);
		} else if (nl_ifindex(iface.name, &err) < 0) {
			blog_err("network: this machine has no interface %s", iface.name);
			continue;
		}
		apply_static(&nl, &iface);
		if (iface.dhcp && st->ndhcp < HOST_MAX_DHCP) {
			snprintf(st->dhcp_ifaces[st->ndhcp++], sizeof(st->dhcp_ifaces[0]), "%s", iface.name);
		}
	}
	nl_close(&nl);
}

/* Writes path atomically (temporary file, then rename). */
static int write_atomic(const char *path, const char *text, mode_t mode)
{
	/* Under /run: nothing to make durable. */
	return write_file_atomic(path, text, strlen(text), mode, 0, NULL);
}

static void remove_file(const char *path)
{
	if (unlink(path) < 0 && errno != ENOENT) {
		blog_err("dns: remove %s: %s", path, strerror(errno));
	}
}

/* No servers in host.yaml: the last lease's, or none until a lease comes
 * (as at boot). */
static void dns_from_dhcp(void)
{
	struct berr err;
	char text[4096];
	remove_file(STATIC_DNS);
	ssize_t n = read_file(DHCP_RESOLV, text, sizeof(text), &err);
	if (n < 0 && err.code == ENOENT) {
		remove_file(RESOLV_CONF);
		return;
	}
	if (n < 0 || write_file_atomic(RESOLV_CONF, text, (size_t)n, 0644, 0, &err) < 0) {
		blog_err("dns: %s", err.msg);
	}
}

void host_apply_dns(const struct host_config *cfg, struct host_state *st)
{
	struct berr err;
	st->static_dns = 0;
	if (cfg->ndns == 0) {
		dns_from_dhcp();
		return;
	}
	char text[1024] = "# from host.yaml (network.dns)\n";
	for (size_t i = 0; i < cfg->ndns; i++) {
		size_t len = strlen(text);
		snprintf(text + len, sizeof(text) - len, "nameserver %s\n", cfg->dns[i].text);
	}
	/* The marker first: a lease that comes in between must not replace
	 * host.yaml's servers. */
	static const char marker[] = "host.yaml sets network.dns\n";
	if (write_file_atomic(STATIC_DNS, marker, strlen(marker), 0644, 0, &err) < 0 ||
	    write_file_atomic(RESOLV_CONF, text, strlen(text), 0644, 0, &err) < 0) {
		blog_err("dns: %s", err.msg);
		return;
	}
	st->static_dns = 1;
}

static void apply_sysctls(const struct host_config *cfg, struct host_state *st)
{
	(void)st;
	for (size_t i = 0; i < cfg->nsysctls; i++) {
		char path[200] = "/proc/sys/";
		size_t len = strlen(path);
		for (const char *k = cfg->sysctls[i].key; *k && len < sizeof(path) - 1; k++) {
			path[len++] = *k == '.' ? '/' : *k;
		}
		path[len] = '\0';
		char value[300];
		snprintf(value, sizeof(value), "%s\n", cfg->sysctls[i].value);
		struct berr err;
		if (write_file(path, value, &err) < 0) {
			blog_err("sysctl %s = %s: %s", cfg->sysctls[i].key, cfg->sysctls[i].value, err.msg);
		} else {
			blog_info("sysctl %s = %s", cfg->sysctls[i].key, cfg->sysctls[i].value);
		}
	}
}

static void apply_ssh_keys(const struct host_config *cfg, struct host_state *st)
{
	(void)st;
	if (mkdir("/run/root/.ssh", 0700) < 0 && errno != EEXIST) {
		blog_err("mkdir /run/root/.ssh: %s", strerror(errno));
		return;
	}
	size_t total = 64;
	for (size_t i = 0; i < cfg->nkeys; i++) {
		total += strlen(cfg->ssh_keys[i]) + 1;
	}
	auto_free char *text = malloc(total);
	if (text == NULL) {
		return;
	}
	snprintf(text, total, "# from host.yaml (ssh_authorized_keys)\n");
	for (size_t i = 0; i < cfg->nkeys; i++) {
		strcat(text, cfg->ssh_keys[i]);
		strcat(text, "\n");
	}
	int ret = write_atomic("/run/root/.ssh/authorized_keys", text, 0600);
	if (ret < 0) {
		blog_err("write root's authorized_keys: %s", strerror(-ret));
		return;
	}
	if (cfg->nkeys == 0) {
		blog_warn("ssh: host.yaml has no ssh_authorized_keys; nobody can log in over ssh");
	} else {
		blog_info("ssh: %zu authorized key%s for root", cfg->nkeys, cfg->nkeys == 1 ? "" : "s");
	}
}

/* st->tz is the TZ of every service init starts (always set: the
 * services' environment points at it, so a reload changes it for those
 * started after). */
static void apply_timezone(const struct host_config *cfg, struct host_state *st)
{
	const char *tz = cfg->timezone;
	snprintf(st->tz, sizeof(st->tz), "TZ=UTC0");
	if (tz[0] == '\0' || strcmp(tz, "UTC") == 0) {
		return;
	}
	/* A zone file, as musl reads TZ: a '/' before any ','. A POSIX rule
	 * ("CET-1CEST,M3.5.0,M10.5.0/3") has its slashes after the comma. */
	const char *slash = strchr(tz, '/');
	const char *comma = strchr(tz, ',');
	if (slash != NULL && (comma == NULL || slash < comma)) {
		char path[200];
		snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", tz);
		if (access(path, R_OK) != 0) {
			blog_err("timezone %s: the image has no zone data for it; using UTC (a POSIX TZ string such as "
				 "CET-1CEST,M3.5.0,M10.5.0/3 works without zone data)",
				 tz);
			return;
		}
	}
	snprintf(st->tz, sizeof(st->tz), "TZ=%s", tz);
	blog_info("timezone is %s", tz);
}

void host_apply_live(const struct host_config *cfg, struct host_state *st)
{
	static const struct {
		const char *key;
		void (*apply)(const struct host_config *cfg, struct host_state *st);
	} steps[] = {
		{"hostname", apply_hostname},
		{"sysctls", apply_sysctls},
		{"ssh_authorized_keys", apply_ssh_keys},
		{"timezone", apply_timezone},
	};
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		if (hostcfg_when(steps[i].key) == HOST_LIVE) {
			steps[i].apply(cfg, st);
		}
	}
}

void host_apply_network(const struct host_config *cfg, struct host_state *st)
{
	struct host_ether ethers[32];
	size_t n = host_list_ethers(ethers, 32);
	struct nl_sock nl;
	struct berr err;
	if (nl_open(&nl, &err) < 0) {
		blog_err("network: %s", err.msg);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (nl_flush_iface(&nl, ethers[i].name, &err) < 0) {
			blog_err("network: %s", err.msg);
		}
	}
	nl_close(&nl);
	st->ndhcp = 0;
	st->dhcp_auto = 0;
	blog_info("network: host.yaml's network interfaces changed; applying them");
	apply_network(cfg, st);
	/* Its lease ended with the old clients. */
	remove_file(DHCP_RESOLV);
	host_apply_dns(cfg, st);
}

void host_mark_reloaded(void)
{
	static unsigned count;
	char text[32];
	snprintf(text, sizeof(text), "%u\n", ++count);
	int ret = write_atomic(HOST_RELOADED, text, 0644);
	if (ret < 0) {
		blog_err("write %s: %s", HOST_RELOADED, strerror(-ret));
	}
}

void host_apply(const struct host_config *cfg, struct host_state *st)
{
	memset(st, 0, sizeof(*st));
	apply_hostname(cfg, st);
	apply_network(cfg, st);
	host_apply_dns(cfg, st);
	apply_sysctls(cfg, st);
	apply_ssh_keys(cfg, st);
	apply_timezone(cfg, st);
}
