/* libFuzzer entry point for IPAM state files (DIR/NETWORK.json), which
 * berthd reads back after every restart and which anyone with access to
 * the data partition can edit. Beyond "no crash, no leak": whatever parses
 * obeys the invariants the allocator relies on (leases inside the subnet,
 * distinct, sorted, never the gateway), what the writer makes of it parses
 * back to the same network, and leasing on top of it never hands out an
 * address twice. */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/ipam.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what, const struct ipam_network *n)
{
	fprintf(stderr, "ipam invariant broken: %s (%zu leases)\n", what, n->nleases);
	abort();
}

static void check_invariants(const struct ipam_network *n)
{
	uint32_t mask = 0xffffffffu << (32 - n->subnet.prefix);
	uint32_t net = ntohl(n->subnet.net);
	uint32_t gw = ntohl(n->gateway);
	if (n->subnet.prefix < 1 || n->subnet.prefix > 30 || (net & ~mask) != 0) {
		fail("subnet", n);
	}
	if ((gw & mask) != net || gw == net || gw == (net | ~mask)) {
		fail("gateway", n);
	}
	for (size_t i = 0; i < n->nleases; i++) {
		uint32_t a = ntohl(n->leases[i].addr);
		if ((a & mask) != net || a == net || a == (net | ~mask) || a == gw) {
			fail("lease address", n);
		}
		if (i > 0 && ntohl(n->leases[i - 1].addr) >= a) {
			fail("leases not sorted and distinct", n);
		}
	}
}

static void check_same(const struct ipam_network *a, const struct ipam_network *b)
{
	if (a->subnet.net != b->subnet.net || a->subnet.prefix != b->subnet.prefix || a->gateway != b->gateway ||
	    a->nleases != b->nleases) {
		fail("round trip changed the network", a);
	}
	for (size_t i = 0; i < a->nleases; i++) {
		if (a->leases[i].addr != b->leases[i].addr || strcmp(a->leases[i].owner, b->leases[i].owner) != 0) {
			fail("round trip changed a lease", a);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ipam_network n;
	struct berr err;
	if (ipam_parse_state(&n, "fuzz.json", (const char *)data, size, &err) < 0) {
		if (err.msg[0] == '\0' || strstr(err.msg, "fuzz.json") == NULL) {
			fprintf(stderr, "error without the file name: %s\n", err.msg);
			abort();
		}
		return 0;
	}
	check_invariants(&n);

	char *text = NULL;
	if (ipam_format_state(&n, &text, &err) == 0) {
		struct ipam_network back;
		if (ipam_parse_state(&back, "written.json", text, strlen(text), &err) < 0) {
			fprintf(stderr, "written state does not parse: %s\n%s\n", err.msg, text);
			abort();
		}
		check_same(&n, &back);
		ipam_close(&back);
		free(text);
	}

	/* A few leases on top (in memory: a parsed network has no file). An
	 * owner the input already names keeps its address; others get a new
	 * one. */
	static const char *const owners[] = {"fuzz-a", "fuzz-b", "fuzz-c"};
	for (size_t i = 0; i < sizeof(owners) / sizeof(owners[0]); i++) {
		uint32_t held = 0;
		for (size_t k = 0; k < n.nleases; k++) {
			if (strcmp(n.leases[k].owner, owners[i]) == 0) {
				held = n.leases[k].addr;
			}
		}
		uint32_t addr;
		size_t before = n.nleases;
		if (ipam_lease(&n, owners[i], NULL, &addr, &err) == 0) {
			if (n.nleases != before + (held == 0)) {
				fail("lease count", &n);
			}
			if (held != 0 && addr != held) {
				fail("an owner's lease moved", &n);
			}
			check_invariants(&n);
		}
	}
	/* A fixed address taken from the input's first lease, for another
	 * owner, must be refused. (An owner that holds a lease already gets
	 * that one back, so the input must not name the thief.) */
	int thief_holds = 0;
	for (size_t k = 0; k < n.nleases; k++) {
		thief_holds |= strcmp(n.leases[k].owner, "fuzz-thief") == 0;
	}
	if (n.nleases > 0 && !thief_holds) {
		char a[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, &n.leases[0].addr, a, sizeof(a));
		uint32_t addr;
		if (ipam_lease(&n, "fuzz-thief", a, &addr, &err) == 0) {
			fail("a leased address was handed out twice", &n);
		}
	}
	ipam_close(&n);
	return 0;
}
