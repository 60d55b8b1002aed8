/* Cloud metadata: what a NoCloud seed (a filesystem labelled cidata) or an
 * OpenStack config drive (labelled config-2) says about this instance: its
 * id, host name, ssh keys and network. The parsers are pure functions (text
 * in, struct out): init finds the filesystem, reads the files, and merges
 * the result under host.yaml, which wins wherever it says something.
 *
 * Metadata is untrusted input, checked as host.yaml is: a bad field is
 * reported ("meta-data:3: local-hostname: ...", or "meta_data.json:
 * public_keys.k1: ..." for JSON, which keeps no lines once parsed) and
 * left out, never taking the rest of the file with it; a file that does
 * not parse at all gives one error and nothing. Keys this code does not
 * use are ignored: clouds put many more in their metadata than a host
 * needs. */
#ifndef BERTH_CLOUDMETA_H
#define BERTH_CLOUDMETA_H

#include <stddef.h>

#include "lib/hostcfg.h"

#define CLOUD_MAX_ERRORS 8
#define CLOUD_MAX_FILE (256u << 10) /* bytes read of any one metadata file */

enum cloud_source {
	CLOUD_NONE,
	CLOUD_NOCLOUD,
	CLOUD_CONFIG_DRIVE,
};

struct cloud_meta {
	enum cloud_source source;
	char instance_id[128];
	char hostname[64];
	char hostname_from[64]; /* which file and key gave it */
	char *ssh_keys[HOST_MAX_KEYS];
	size_t nkeys;
	char keys_from[64];
	/* The network, as host.yaml would say it (MAC matches where the
	 * metadata names MAC addresses). network_set: the metadata described
	 * one, even with no interface Berth could use. */
	int network_set;
	char network_from[64];
	struct host_iface ifaces[HOST_MAX_IFACES];
	size_t nifaces;
	struct host_ip dns[HOST_MAX_DNS];
	size_t ndns;
	/* Problems, each naming the file and field; nerrors counts them all. */
	char errors[CLOUD_MAX_ERRORS][512];
	size_t nerrors;
};

void cloud_meta_init(struct cloud_meta *m, enum cloud_source source);
void cloud_meta_free(struct cloud_meta *m);

const char *cloud_source_name(enum cloud_source source);

/* ---- NoCloud (lib/nocloud.c): YAML -------------------------------------- */

/* meta-data: instance-id, local-hostname (or hostname), public-keys. */
int nocloud_parse_meta_data(struct cloud_meta *m, const char *name, const char *buf, size_t len);

/* user-data in the #cloud-config format: hostname, ssh_authorized_keys, and
 * users[].ssh_authorized_keys (Berth has one user, root, who gets them
 * all). Other formats (scripts, MIME archives) are reported and skipped.
 * Also the user_data of a config drive. */
int cloud_parse_user_data(struct cloud_meta *m, const char *name, const char *buf, size_t len);

/* network-config, version 1 or 2 (netplan's format), with or without a
 * top-level `network:`. Physical interfaces only: static addresses,
 * gateways, routes, DHCP (IPv4), name servers, MTU. A network file is
 * taken whole or not at all (as with every network file here): half of a
 * network configuration can leave a host unreachable, while without it the
 * host does what it does with no metadata (DHCP wherever there is a link). */
int cloud_parse_network_config(struct cloud_meta *m, const char *name, const char *buf, size_t len);

/* ---- OpenStack config drive (lib/configdrive.c): JSON ------------------ */

/* openstack/latest/meta_data.json: uuid, hostname (or name), public_keys
 * and keys. */
int configdrive_parse_meta_data(struct cloud_meta *m, const char *name, const char *buf, size_t len);

/* openstack/latest/network_data.json: links, networks and services. */
int configdrive_parse_network_data(struct cloud_meta *m, const char *name, const char *buf, size_t len);

/* ---- shared by the parsers -------------------------------------------------- */

void cloud_error(struct cloud_meta *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Each returns 0 when taken, -1 after reporting why not (where names the
 * file and field). */
int cloud_set_hostname(struct cloud_meta *m, const char *text, const char *where);
int cloud_add_key(struct cloud_meta *m, const char *text, const char *where);
int cloud_add_dns(struct cloud_meta *m, const char *text, const char *where);

/* The interface a MAC address (mac != NULL) or a kernel name designates,
 * added if new; NULL (reported) when there is no room or name is not one. */
struct host_iface *cloud_iface(struct cloud_meta *m, const unsigned char *mac, const char *name, const char *label,
			       const char *where);

/* An address with or without its prefix; netmask ("255.255.255.0",
 * "ffff:ffff::") gives it when the address has none. */
int cloud_add_address(struct cloud_meta *m, struct host_iface *iface, const char *addr, const char *netmask,
		      const char *where);

/* A route (to "default", "0.0.0.0/0" and "::/0" being the default route). */
int cloud_add_route(struct cloud_meta *m, struct host_iface *iface, const char *to, const char *netmask,
		    const char *via, const char *where);

/* The prefix length of a netmask, or -1 when it is not one. */
int cloud_netmask_prefix(const char *mask);

/* The end of a network file: with problems since before (m->nerrors then),
 * its interfaces and name servers are dropped (nifaces and ndns back to
 * what they were) and that is said. Returns 0, or -1 when dropped. */
int cloud_network_done(struct cloud_meta *m, const char *name, size_t before, size_t nifaces, size_t ndns);

/* ---- merging under host.yaml (lib/cloudmeta.c) ------------------------------- */

#define CLOUD_REPORT_LINES 6

/* What the merge did, a line per setting, for the host log and
 * /run/berth/metadata. */
struct cloud_report {
	char lines[CLOUD_REPORT_LINES][256];
	size_t n;
};

/* Fills in from m what c (host.yaml) did not set: host name, ssh keys,
 * interfaces, name servers. Keys move from m to c. */
void cloud_merge(struct host_config *c, struct cloud_meta *m, struct cloud_report *r);

#endif
