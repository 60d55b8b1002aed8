/* host.yaml: what the user declares about the host itself (hostname,
 * network, ssh keys, NTP, sysctls, timezone, console, updates and the
 * watchdog). Parsed by the same
 * code in init and in `berth config check`. Each top-level section is read
 * on its own: a section with an error is reported (file:line: field) and
 * left at its default, so that a mistake in one part never takes away the
 * others (a typo under ntp must not cost the operator their ssh keys). */
#ifndef BERTH_HOSTCFG_H
#define BERTH_HOSTCFG_H

#include <stddef.h>

#include "lib/berr.h"

#define HOST_MAX_IFACES 8
/* Init's count of host.yaml reloads (SIGHUP), for berth config apply to
 * see one finish. */
#define HOST_RELOADED "/run/berth/host-reloaded"
#define HOST_MAX_ADDRS 8
#define HOST_MAX_ROUTES 16
#define HOST_MAX_DNS 4
#define HOST_MAX_NTP 8
#define HOST_MAX_KEYS 64
#define HOST_MAX_SYSCTLS 64
#define HOST_MAX_ERRORS 16
#define HOST_MAX_BINDS 16
#define HOST_KEY_MAX 16384
#define HOST_MAX_MIRRORS 8
#define HOST_MAX_INSECURE 16

/* An IPv4 or IPv6 address, with a prefix length where one belongs. */
struct host_ip {
	int family; /* AF_INET or AF_INET6 */
	unsigned char addr[16];
	int prefix; /* -1 when none was given */
	char text[64];
};

struct host_route {
	struct host_ip to; /* prefix 0 for the default route */
	struct host_ip via;
};

/* An interface is named by its kernel name (the key in host.yaml), or
 * matched by MAC address (`match: {macaddress: ...}`, the key is then a
 * label of the user's choosing and init finds the name at boot). */
struct host_iface {
	char name[16];	/* kernel name; with match_mac, filled in by init */
	char label[64]; /* the key in host.yaml (or where metadata said it) */
	int match_mac;
	unsigned char mac[6];
	int dhcp;
	struct host_ip addrs[HOST_MAX_ADDRS];
	size_t naddrs;
	struct host_ip gateway; /* family 0 when none */
	struct host_route routes[HOST_MAX_ROUTES];
	size_t nroutes;
	int mtu; /* 0: leave as is */
};

enum host_console {
	HOST_CONSOLE_SHELL,
	HOST_CONSOLE_OFF,
};

enum host_on_failure {
	HOST_ON_FAILURE_SHELL,	/* emergency shell on the console */
	HOST_ON_FAILURE_REBOOT, /* reboot and try again */
};

struct host_sysctl {
	char key[128];
	char value[256];
};

/* A registry mirror: tried before the registry itself, in order. */
struct host_mirror {
	char registry[256]; /* "docker.io", "registry.example.com:5000" */
	char url[512];	    /* "https://mirror.example.com[:port][/prefix]" */
};

/* Which settings host.yaml gave (rather than left at their defaults):
 * cloud metadata fills in only what host.yaml did not set. */
enum host_set {
	HOST_SET_HOSTNAME = 1,
	HOST_SET_IFACES = 2,
	HOST_SET_DNS = 4,
	HOST_SET_KEYS = 8,
};

struct host_config {
	unsigned set;	   /* enum host_set */
	char hostname[64]; /* empty: derived from the MAC address */
	/* No interfaces: DHCP on every wired interface that has a link. */
	struct host_iface ifaces[HOST_MAX_IFACES];
	size_t nifaces;
	struct host_ip dns[HOST_MAX_DNS];
	size_t ndns;
	char ntp[HOST_MAX_NTP][256];
	size_t nntp;
	int ntp_set; /* ntp given (an empty list turns NTP off) */
	char *ssh_keys[HOST_MAX_KEYS];
	size_t nkeys;
	struct host_sysctl sysctls[HOST_MAX_SYSCTLS];
	size_t nsysctls;
	char timezone[128]; /* empty: UTC */
	enum host_console console;
	enum host_on_failure on_failure;
	/* containers.bind_mounts: host paths compose.yaml may bind into
	 * containers besides /config and /data (berthd checks). */
	char bind_allow[HOST_MAX_BINDS][256];
	size_t nbind_allow;

	/* Registries (the pulls of berthd and berth): registry_mirrors,
	 * insecure_registries (plain HTTP or unverified TLS allowed), and
	 * proxy (https_proxy, http_proxy, no_proxy; empty: none). */
	struct host_mirror mirrors[HOST_MAX_MIRRORS];
	size_t nmirrors;
	char insecure[HOST_MAX_INSECURE][256];
	size_t ninsecure;
	char https_proxy[512];
	char http_proxy[512];
	char no_proxy[1024];

	/* OS updates (updates:, watchdog:; docs/updates.md). */
	int watchdog_sec;	/* hardware watchdog timeout; 0: leave it alone */
	int health_timeout_sec; /* a trial boot's time to pass the health gate */
	int trial_boots;	/* boots a new version gets to pass it */

	/* Problems found while reading, each "file:line: message". nerrors
	 * counts them all; only the first HOST_MAX_ERRORS are kept. */
	char errors[HOST_MAX_ERRORS][512];
	size_t nerrors;
};

/* Defaults: everything a host needs to come up and be reachable. */
void hostcfg_defaults(struct host_config *c);

/* Parses YAML text; problems are collected in c->errors (the config stays
 * usable). Returns the number of problems. */
int hostcfg_parse(struct host_config *c, const char *name, const char *buf, size_t len);

/* Reads path; a missing file is not a problem (defaults), others are. */
int hostcfg_load(struct host_config *c, const char *path, const char *display_name);

void hostcfg_free(struct host_config *c);

/* When a change to a top-level host.yaml key takes effect on a running
 * host: init applies HOST_LIVE keys when it takes host.yaml again
 * (SIGHUP), HOST_ON_TRIAL ones too, but berth config apply then keeps them
 * only once a new connection confirms the host is still reachable; the
 * rest at the next boot. One list, read by init and by berth config. */
enum host_when {
	HOST_AT_BOOT,
	HOST_LIVE,
	HOST_ON_TRIAL,
};
enum host_when hostcfg_when(const char *key);

/* Whether a and b declare the same network interfaces (addresses, routes,
 * DHCP, MTU), and the same DNS servers. Apart, because init does less for
 * a change of DNS alone: resolv.conf, and no link, address or DHCP client.
 * (berth config apply's trial goes by the whole network key.) */
int hostcfg_same_interfaces(const struct host_config *a, const struct host_config *b);
int hostcfg_same_dns(const struct host_config *a, const struct host_config *b);

/* Parses "192.0.2.1", "2001:db8::1/64" and the like. want_prefix: 1 must
 * have one, 0 must not, -1 either. */
int hostcfg_parse_ip(const char *text, int want_prefix, struct host_ip *out);

/* "52:54:00:12:34:56" (either case) into mac; -EINVAL otherwise. */
int hostcfg_parse_mac(const char *text, unsigned char mac[6]);

/* Letters, digits and '-', dot-separated labels, at most 63 characters. */
int hostcfg_valid_hostname(const char *h);

/* A public key line: [options] TYPE BASE64 [comment], the blob decoding to
 * a key of the named type. 0 with *why set when it is not. */
int hostcfg_valid_ssh_key(const char *line, const char **why);

#endif
