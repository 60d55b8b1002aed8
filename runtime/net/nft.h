/* Berth's packet filtering and NAT: the whole nf_tables state of Berth is
 * one table, `ip berth`, built from a description (networks and published
 * ports) and replaced in one atomic netlink batch, so that the kernel's
 * rules always equal the description: removing a container means applying
 * the description without it, and nothing is ever left behind.
 * Owns the table `ip berth` and nothing else: it never touches other
 * tables, the host's own rules, or any other family.
 *
 * What the table does (nft syntax; `nft list table ip berth` shows it):
 *
 *   chain publish      regular chain, one rule per published port:
 *                        [ip daddr HOST_IP] meta l4proto tcp th dport 8080
 *                            dnat to 10.89.0.2:80
 *   chain prerouting   nat, hook prerouting, priority -100:
 *                        fib daddr type local jump publish
 *   chain output       nat, hook output, priority -100: the same jump, so
 *                        that the host itself reaches published ports
 *   chain postrouting  nat, hook postrouting, priority 100, per network
 *                      that is not internal:
 *                        ip saddr SUBNET oifname != BRIDGE masquerade
 *                        ct status dnat ip saddr SUBNET oifname BRIDGE
 *                            masquerade                      (hairpin)
 *                        ip saddr 127.0.0.0/8 oifname BRIDGE masquerade
 *   chain forward      filter, hook forward, priority 0, policy accept:
 *                        ct state established,related accept
 *                        per internal network: iifname B oifname != B drop,
 *                                              oifname B iifname != B drop
 *                        ct status dnat accept             (published ports)
 *                        per network: oifname B iifname != B drop
 *
 * The last forward rule isolates networks from each other and also keeps
 * the outside from routing to container addresses directly: a container
 * is reached from beyond its bridge only through a published port (as in
 * Docker 28). The host itself is not affected (its traffic to containers
 * goes through the output hook, not forward).
 *
 * Published port ranges are expanded by the caller: one nft_port per port.
 * The rules are a linear list; that is fine for the tens of ports a compose
 * file publishes.
 *
 * Reaching a published port through 127.0.0.1 from the host needs
 * net.ipv4.conf.all.route_localnet=1 (else the kernel drops a packet with
 * a loopback source that is routed out of a bridge) plus the masquerade of
 * 127.0.0.0/8 above; forwarding needs net.ipv4.ip_forward=1.
 * nft_host_sysctls sets both. Self-hairpin (a container reaching its own
 * published port) also needs hairpin mode on its bridge port when
 * br_netfilter is active; that belongs to the endpoint code. */
#ifndef BERTH_NFT_H
#define BERTH_NFT_H

#include <stddef.h>
#include <stdint.h>

#include "lib/berr.h"

#define NFT_TABLE_NAME "berth"

/* A compose network's bridge. Addresses are in network byte order. */
struct nft_network {
	char bridge[16]; /* interface name, at most 15 bytes */
	uint32_t subnet;
	int prefix;   /* 1..32 */
	int internal; /* no outbound NAT, no traffic leaves or enters the bridge */
};

/* One published port: host_port on the host goes to addr:port. */
struct nft_port {
	int proto;	    /* IPPROTO_TCP or IPPROTO_UDP */
	uint32_t host_ip;   /* 0: any local address; else only this one */
	uint16_t host_port; /* host byte order */
	uint32_t addr;	    /* the container's address */
	uint16_t port;	    /* host byte order */
};

struct nft_ruleset {
	const struct nft_network *nets;
	size_t nnets;
	const struct nft_port *ports;
	size_t nports;
};

/* Replaces the table ip berth with the one rs describes (NULL: no
 * networks, no ports), atomically: the kernel applies all of it or none
 * of it, and a refusal names the rule it refused. Needs CAP_NET_ADMIN.
 * Takes about 10 ms on Linux 6.x, most of it the kernel's commit. */
int nft_apply(const struct nft_ruleset *rs, struct berr *err);

/* Deletes the table ip berth; a missing table is fine. */
int nft_flush(struct berr *err);

/* The netlink batch nft_apply sends, as bytes (for tests: no socket, no
 * privileges). *buf is malloc'ed; the caller frees it. */
int nft_build_batch(const struct nft_ruleset *rs, uint8_t **buf, size_t *len, struct berr *err);

/* What the kernel holds, read back with netlink dumps (for tests and for
 * checking that nobody flushed the ruleset behind berthd's back). */
struct nft_state {
	int tables;    /* tables of family ip, of any name */
	int has_berth; /* table ip berth exists */
	int rules;     /* rules in table ip berth, all chains */
	int chains;    /* chains in table ip berth */
};
int nft_inspect(struct nft_state *st, struct berr *err);

/* Sets the sysctls published ports and outbound NAT need:
 * net.ipv4.ip_forward=1 and net.ipv4.conf.all.route_localnet=1. */
int nft_host_sysctls(struct berr *err);

#endif
