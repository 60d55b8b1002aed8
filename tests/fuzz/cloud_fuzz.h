/* What every cloud metadata fuzz target checks: arbitrary bytes through one
 * parser, then the merge init does under a default host.yaml. Beyond "no
 * crash, no leak": whatever comes out is what init can apply safely
 * (bounded counts, terminated strings, a valid host name or none, keys that
 * pass host.yaml's own check, interfaces with a name or a MAC address). */
#ifndef BERTH_TESTS_CLOUD_FUZZ_H
#define BERTH_TESTS_CLOUD_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "lib/cloudmeta.h"

typedef int (*cloud_fuzz_parser)(struct cloud_meta *m, const char *name, const char *buf, size_t len);

static void cloud_fuzz_fail(const char *what)
{
	fprintf(stderr, "cloud metadata invariant broken: %s\n", what);
	abort();
}

static void cloud_fuzz_check_iface(const struct host_iface *f)
{
	if (memchr(f->name, '\0', sizeof(f->name)) == NULL || memchr(f->label, '\0', sizeof(f->label)) == NULL) {
		cloud_fuzz_fail("unterminated interface name");
	}
	if (!f->match_mac && f->name[0] == '\0') {
		cloud_fuzz_fail("interface with neither name nor MAC");
	}
	if (f->naddrs > HOST_MAX_ADDRS || f->nroutes > HOST_MAX_ROUTES || f->mtu < 0 || f->mtu > 65535) {
		cloud_fuzz_fail("interface counts");
	}
	for (size_t i = 0; i < f->naddrs; i++) {
		int max = f->addrs[i].family == AF_INET ? 32 : 128;
		if ((f->addrs[i].family != AF_INET && f->addrs[i].family != AF_INET6) || f->addrs[i].prefix < 0 ||
		    f->addrs[i].prefix > max) {
			cloud_fuzz_fail("address");
		}
	}
	for (size_t i = 0; i < f->nroutes; i++) {
		if (f->routes[i].to.family != f->routes[i].via.family) {
			cloud_fuzz_fail("route families");
		}
	}
}

static inline int cloud_fuzz_one(cloud_fuzz_parser parse, const char *name, const uint8_t *data, size_t size)
{
	struct cloud_meta m;
	cloud_meta_init(&m, CLOUD_NOCLOUD);
	parse(&m, name, (const char *)data, size);
	if (m.nkeys > HOST_MAX_KEYS || m.nifaces > HOST_MAX_IFACES || m.ndns > HOST_MAX_DNS ||
	    memchr(m.hostname, '\0', sizeof(m.hostname)) == NULL ||
	    memchr(m.instance_id, '\0', sizeof(m.instance_id)) == NULL) {
		cloud_fuzz_fail("counts or strings");
	}
	if (m.hostname[0] != '\0' && !hostcfg_valid_hostname(m.hostname)) {
		cloud_fuzz_fail("host name");
	}
	for (size_t i = 0; i < m.nkeys; i++) {
		const char *why;
		if (!hostcfg_valid_ssh_key(m.ssh_keys[i], &why)) {
			cloud_fuzz_fail("ssh key");
		}
	}
	for (size_t i = 0; i < m.nifaces; i++) {
		cloud_fuzz_check_iface(&m.ifaces[i]);
	}
	for (size_t i = 0; i < m.nerrors && i < CLOUD_MAX_ERRORS; i++) {
		if (memchr(m.errors[i], '\0', sizeof(m.errors[i])) == NULL) {
			cloud_fuzz_fail("error message");
		}
	}
	static struct host_config c;
	struct cloud_report r;
	hostcfg_defaults(&c);
	cloud_merge(&c, &m, &r);
	if (c.nkeys > HOST_MAX_KEYS || c.nifaces > HOST_MAX_IFACES || r.n > CLOUD_REPORT_LINES) {
		cloud_fuzz_fail("merge");
	}
	hostcfg_free(&c);
	cloud_meta_free(&m);
	return 0;
}

#endif
