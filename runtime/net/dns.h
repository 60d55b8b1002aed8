/* The embedded DNS responder through which containers find each other by
 * name. It listens on UDP and TCP port 53 of each compose network's
 * gateway address (the containers' resolv.conf points there), answers A
 * queries for the names it is told per network, and forwards every other
 * query to upstream servers: the host's resolv.conf, or per container the
 * servers of its compose `dns:` key.
 *
 * Runs inside berthd's single-threaded event loop, so it never blocks and
 * never spawns: all its sockets are non-blocking and sit in an epoll set
 * of its own, with a timerfd for upstream timeouts. The loop watches one
 * fd, dns_fd(), and calls dns_run() when it is readable; fds come and go
 * (one socket per forwarded query, TCP clients) without the loop knowing.
 *
 * Rules it keeps:
 * - a listener answers only clients inside its own network's subnet;
 *   others get REFUSED (no open resolver, and no network learns another
 *   network's names);
 * - local names: A records (all addresses of a name), NOERROR without
 *   records for other types (AAAA), PTR for the addresses it knows; names
 *   match case-insensitively, with or without a trailing dot, and also
 *   under the optional domain (web.DOMAIN);
 * - forwarded queries leave from a fresh socket (a new random source
 *   port) with a fresh random ID; an answer counts only if it comes from
 *   that upstream, to that port, with that ID and the same question; it
 *   is relayed with the client's ID. An upstream that is silent for
 *   timeout_ms, refuses or fails is replaced by the next one; when none
 *   is left the client gets SERVFAIL. TCP clients are forwarded over TCP.
 * - queries are untrusted input: see dnsmsg.h. Malformed queries get
 *   FORMERR; fragments too short to answer are dropped.
 * The host's resolv.conf is read when the first query needs it and again
 * when it has changed (checked at most once a second, by stat). */
#ifndef BERTH_DNS_H
#define BERTH_DNS_H

#include <stddef.h>
#include <stdint.h>

#include "lib/berr.h"

struct dns;

struct dns_options {
	const char *resolv_conf; /* NULL: /etc/resolv.conf */
	const char *domain;	 /* NULL: none; names also answer as NAME.DOMAIN */
	unsigned timeout_ms;	 /* per upstream attempt; 0: 1500 */
	uint16_t port;		 /* 0: 53 (tests may pick another) */
	uint16_t upstream_port;	 /* 0: 53 */
};

/* A name and one of its addresses (network byte order). A name with
 * several addresses is given once per address. */
struct dns_record {
	const char *name;
	uint32_t addr;
};

int dns_open(struct dns **out, const struct dns_options *opt, struct berr *err);

/* Closes every socket; pending queries are dropped unanswered. */
void dns_close(struct dns *d);

/* The fd for the caller's event loop (EPOLLIN), and the handler to call
 * when it is readable. dns_run handles what is ready and returns. */
int dns_fd(const struct dns *d);
void dns_run(struct dns *d);

/* Starts answering on addr:53 (UDP and TCP) for clients in addr/prefix.
 * The address need not be configured yet (IP_FREEBIND), so that a network
 * can be announced before its bridge is up. Listening again on the same
 * address only updates the prefix. */
int dns_listen(struct dns *d, uint32_t addr, int prefix, struct berr *err);

/* Stops answering on addr; its names, TCP clients and pending queries go. */
void dns_unlisten(struct dns *d, uint32_t addr);

/* Replaces the names answered on listen_addr. Names are checked first;
 * on error nothing changes. */
int dns_set_names(struct dns *d, uint32_t listen_addr, const struct dns_record *recs, size_t n, struct berr *err);

/* A client on several networks: the listeners (gateway addresses) of its
 * other networks, whose names it also resolves. n == 0 removes it. */
int dns_set_client_networks(struct dns *d, uint32_t client_addr, const uint32_t *listens, size_t n, struct berr *err);

/* Sets the upstream servers (IPv4, network byte order) for queries from
 * client_addr, or the default ones when client_addr is 0 (instead of the
 * host's resolv.conf). n == 0 removes the setting. */
int dns_set_upstreams(struct dns *d, uint32_t client_addr, const uint32_t *servers, size_t n, struct berr *err);

/* The query path without sockets (for tests and the fuzzer): the answer
 * to pkt as the listener on listen_addr would give it over TCP (tcp != 0)
 * or UDP, in out, which holds DNS_ANSWER_MAX bytes. */
#define DNS_ANSWER_MAX 65535
enum dns_verdict {
	DNS_ANSWER,  /* out holds the answer */
	DNS_FORWARD, /* not a local name: goes upstream */
	DNS_IGNORE,  /* no answer at all */
};
enum dns_verdict dns_answer(struct dns *d, uint32_t listen_addr, const uint8_t *pkt, size_t len, int tcp, uint8_t *out,
			    size_t *out_len);

struct dns_stats {
	unsigned long queries;
	unsigned long local; /* answered from the names */
	unsigned long forwarded;
	unsigned long relayed;	/* upstream answers passed on */
	unsigned long timeouts; /* upstream attempts that timed out */
	unsigned long servfail; /* given up: no upstream answered */
	unsigned long refused;	/* clients outside the network */
	unsigned long errors;	/* malformed queries answered with an error */
	unsigned long dropped;	/* not answered: garbage, or limits reached */
};
void dns_get_stats(const struct dns *d, struct dns_stats *st);

#endif
