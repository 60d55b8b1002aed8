/* libFuzzer entry point for the DNS responder's untrusted input: arbitrary
 * bytes as a client's query (through the parser and the whole local query
 * path, names and domain included, over UDP and TCP limits) and as an
 * upstream's answer to a fixed query. Beyond "no crash, no leak", the
 * invariants: an answer never exceeds its transport's limit, carries the
 * query's ID, and is itself a message the parser walks to the end; a
 * parsed question's name is a valid wire name. */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/dns.h"
#include "net/dnsmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct dns *responder(void)
{
	static struct dns *d;
	if (d == NULL) {
		struct dns_options opt = {.domain = "berth.internal", .resolv_conf = "/nonexistent-berth-fuzz/resolv"};
		if (dns_open(&d, &opt, NULL) < 0) {
			abort();
		}
		struct dns_record recs[] = {
			{"web", htonl(0x0a590002)}, {"web", htonl(0x0a590003)}, {"db", htonl(0x0a590004)},
			{"a", htonl(0x0a590005)},   {"Z-1", htonl(0x0a590006)},
		};
		if (dns_set_names(d, htonl(0x0a590001), recs, sizeof(recs) / sizeof(recs[0]), NULL) < 0) {
			abort();
		}
	}
	return d;
}

/* Walks a built answer: header, question, records, to the last byte. */
static void check_answer(const uint8_t *q, size_t qlen, const uint8_t *a, size_t alen, size_t max)
{
	if (alen < DNS_HEADER_LEN || alen > max) {
		fprintf(stderr, "answer of %zu bytes (limit %zu)\n", alen, max);
		abort();
	}
	if (qlen >= 2 && memcmp(q, a, 2) != 0) {
		fprintf(stderr, "answer with another ID\n");
		abort();
	}
	size_t off = DNS_HEADER_LEN;
	uint8_t name[DNS_NAME_MAX];
	size_t nlen;
	unsigned qd = dnsmsg_get16(a + 4);
	unsigned rr = dnsmsg_get16(a + 6) + dnsmsg_get16(a + 8) + dnsmsg_get16(a + 10);
	for (unsigned i = 0; i < qd; i++) {
		if (dnsmsg_read_name(a, alen, off, name, &nlen, &off) < 0 || alen - off < 4) {
			abort();
		}
		off += 4;
	}
	for (unsigned i = 0; i < rr; i++) {
		if (dnsmsg_read_name(a, alen, off, name, &nlen, &off) < 0 || alen - off < 10) {
			abort();
		}
		size_t rdlen = dnsmsg_get16(a + off + 8);
		off += 10;
		if (alen - off < rdlen) {
			abort();
		}
		off += rdlen;
	}
	if (off != alen) {
		fprintf(stderr, "answer with %zu stray bytes\n", alen - off);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[DNS_ANSWER_MAX];
	struct dns *d = responder();

	/* The query path, as a UDP and as a TCP client would see it. */
	for (int tcp = 0; tcp <= 1; tcp++) {
		size_t len = 0;
		if (dns_answer(d, htonl(0x0a590001), data, size, tcp, out, &len) == DNS_ANSWER) {
			struct dnsmsg_query q;
			dnsmsg_parse_query(data, size, &q);
			check_answer(data, size, out, len, tcp ? DNS_TCP_MAX : dnsmsg_udp_limit(&q));
		}
	}

	/* The parser alone, and what is built from a parsed question. */
	struct dnsmsg_query q;
	if (dnsmsg_parse_query(data, size, &q) != DNSMSG_DROP && q.has_question) {
		char text[1024];
		dnsmsg_name_to_text(q.qname, q.qname_len, text, sizeof(text));
		uint32_t addr;
		dnsmsg_ptr_addr(q.qname, q.qname_len, &addr);
		uint32_t addrs[3] = {1, 2, 3};
		struct dnsmsg_answer a = {.addrs = addrs, .naddrs = 3, .ptr = q.qname, .ptr_len = q.qname_len};
		size_t len = dnsmsg_build_reply(&q, &a, out, DNS_UDP_MAX);
		check_answer(data, size, out, len, DNS_UDP_MAX);
	}

	/* The bytes as an upstream's answer to a fixed query, and names read
	 * from every offset. */
	static const uint8_t query[] = {0x12, 0x34, 1,	 0,   0,   1,	0,   0, 0,   0,	  0,   0, 3, 'w', 'w', 'w', 7,
					'e',  'x',  'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0, 0, 1,	  0,   1};
	struct dnsmsg_query fixed;
	if (dnsmsg_parse_query(query, sizeof(query), &fixed) != DNSMSG_QUERY) {
		abort();
	}
	dnsmsg_response_matches(data, size, 0x1234, &fixed);
	for (size_t off = 0; off < size && off < 64; off++) {
		uint8_t name[DNS_NAME_MAX];
		size_t nlen;
		size_t next;
		if (dnsmsg_read_name(data, size, off, name, &nlen, &next) == 0 &&
		    (nlen > DNS_NAME_MAX || next > size)) {
			abort();
		}
	}
	return 0;
}
