/* The DNS responder: the wire format as pure functions (queries, names,
 * compression pointers that loop or overrun, EDNS, answers), name
 * matching without sockets, and, as root, the responder live on
 * 127.0.0.2:53 with fake upstream servers on 127.0.0.3 and 127.0.0.5:
 * local names, forwarding with the client's ID, spoofed answers ignored,
 * silent and failing upstreams replaced, SERVFAIL when none is left,
 * REFUSED outside the network, TCP both ways, resolv.conf re-read. */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "net/dns.h"
#include "net/dnsmsg.h"

static uint32_t ip(const char *s)
{
	struct in_addr a;
	inet_pton(AF_INET, s, &a);
	return a.s_addr;
}

/* A standard query for name (dotted text, written label by label as
 * given, so that tests can send mixed case); edns_size 0: no OPT. */
static size_t make_query(uint8_t *buf, uint16_t id, const char *name, uint16_t qtype, uint16_t edns_size)
{
	memset(buf, 0, DNS_HEADER_LEN);
	dnsmsg_put16(buf, id);
	dnsmsg_put16(buf + 2, DNS_FLAG_RD);
	dnsmsg_put16(buf + 4, 1);
	size_t n = DNS_HEADER_LEN;
	const char *p = name;
	while (*p != '\0') {
		size_t l = strcspn(p, ".");
		buf[n++] = (uint8_t)l;
		memcpy(buf + n, p, l);
		n += l;
		p += l;
		if (*p == '.') {
			p++;
		}
	}
	buf[n++] = 0;
	dnsmsg_put16(buf + n, qtype);
	dnsmsg_put16(buf + n + 2, DNS_CLASS_IN);
	n += 4;
	if (edns_size != 0) {
		dnsmsg_put16(buf + 10, 1);
		buf[n++] = 0;
		dnsmsg_put16(buf + n, DNS_TYPE_OPT);
		dnsmsg_put16(buf + n + 2, edns_size);
		memset(buf + n + 4, 0, 6);
		n += 10;
	}
	return n;
}

/* What a reply says, walked independently of the builder. */
struct reply {
	uint16_t id;
	uint16_t flags;
	int rcode;
	unsigned qd, an, ns, ar;
	uint32_t addrs[64];
	size_t naddrs;
	char ptr[256];
	uint32_t ttl;
	int opt;
	int ok;
};

static struct reply parse_reply(const uint8_t *p, size_t len)
{
	struct reply r = {0};
	if (len < DNS_HEADER_LEN) {
		return r;
	}
	r.id = dnsmsg_get16(p);
	r.flags = dnsmsg_get16(p + 2);
	r.rcode = p[3] & 0xf;
	r.qd = dnsmsg_get16(p + 4);
	r.an = dnsmsg_get16(p + 6);
	r.ns = dnsmsg_get16(p + 8);
	r.ar = dnsmsg_get16(p + 10);
	size_t off = DNS_HEADER_LEN;
	uint8_t name[DNS_NAME_MAX];
	size_t nlen;
	for (unsigned i = 0; i < r.qd; i++) {
		if (dnsmsg_read_name(p, len, off, name, &nlen, &off) < 0 || len - off < 4) {
			return r;
		}
		off += 4;
	}
	for (unsigned i = 0; i < r.an + r.ns + r.ar; i++) {
		if (dnsmsg_read_name(p, len, off, name, &nlen, &off) < 0 || len - off < 10) {
			return r;
		}
		uint16_t type = dnsmsg_get16(p + off);
		r.ttl = ((uint32_t)dnsmsg_get16(p + off + 4) << 16) | dnsmsg_get16(p + off + 6);
		size_t rdlen = dnsmsg_get16(p + off + 8);
		off += 10;
		if (len - off < rdlen) {
			return r;
		}
		if (type == DNS_TYPE_A && rdlen == 4 && r.naddrs < 64) {
			memcpy(&r.addrs[r.naddrs++], p + off, 4);
		} else if (type == DNS_TYPE_PTR) {
			size_t end;
			if (dnsmsg_read_name(p, len, off, name, &nlen, &end) == 0) {
				dnsmsg_name_to_text(name, nlen, r.ptr, sizeof(r.ptr));
			}
		} else if (type == DNS_TYPE_OPT) {
			r.opt = 1;
			r.rcode |= p[off - 6] << 4;
		}
		off += rdlen;
	}
	r.ok = off == len;
	return r;
}

static int has_addr(const struct reply *r, const char *a)
{
	for (size_t i = 0; i < r->naddrs; i++) {
		if (r->addrs[i] == ip(a)) {
			return 1;
		}
	}
	return 0;
}

/* ---- wire format -------------------------------------------------------- */

static void test_parse_query(void)
{
	uint8_t buf[512];
	size_t n = make_query(buf, 0x1234, "Web", DNS_TYPE_A, 0);
	struct dnsmsg_query q;
	CHECK_EQ_INT(dnsmsg_parse_query(buf, n, &q), DNSMSG_QUERY);
	CHECK_EQ_INT(q.id, 0x1234);
	CHECK_EQ_INT(q.qtype, DNS_TYPE_A);
	CHECK_EQ_INT(q.qclass, DNS_CLASS_IN);
	CHECK_EQ_INT(q.qname_len, 5);
	CHECK(memcmp(q.qname, "\3Web\0", 5) == 0);
	CHECK_EQ_INT(q.edns, 0);
	CHECK_EQ_INT(dnsmsg_udp_limit(&q), 512);

	n = make_query(buf, 1, "web", DNS_TYPE_A, 4096);
	CHECK_EQ_INT(dnsmsg_parse_query(buf, n, &q), DNSMSG_QUERY);
	CHECK_EQ_INT(q.edns, 1);
	CHECK_EQ_INT(q.edns_size, 4096);
	CHECK_EQ_INT(dnsmsg_udp_limit(&q), DNS_EDNS_MAX);
}

static void test_malformed_queries(void)
{
	uint8_t buf[600];
	struct dnsmsg_query q;
	size_t n = make_query(buf, 7, "web", DNS_TYPE_A, 0);

	/* Too short for a header: dropped. */
	CHECK_EQ_INT(dnsmsg_parse_query(buf, 11, &q), DNSMSG_DROP);
	CHECK_EQ_INT(dnsmsg_parse_query(buf, 0, &q), DNSMSG_DROP);
	/* Truncated inside the question: FORMERR, ID kept. */
	for (size_t cut = DNS_HEADER_LEN; cut < n; cut++) {
		CHECK_EQ_INT(dnsmsg_parse_query(buf, cut, &q), DNSMSG_ERROR);
		CHECK_EQ_INT(q.rcode, DNS_RCODE_FORMERR);
		CHECK_EQ_INT(q.id, 7);
	}
	/* A response: dropped. */
	buf[2] |= 0x80;
	CHECK_EQ_INT(dnsmsg_parse_query(buf, n, &q), DNSMSG_DROP);
	buf[2] &= 0x7f;
	/* Opcode 2 (STATUS): NOTIMP. */
	buf[2] |= 2 << 3;
	CHECK_EQ_INT(dnsmsg_parse_query(buf, n, &q), DNSMSG_ERROR);
	CHECK_EQ_INT(q.rcode, DNS_RCODE_NOTIMP);
	buf[2] &= (uint8_t) ~(0xf << 3);
	/* Two questions, or none. */
	dnsmsg_put16(buf + 4, 2);
	CHECK_EQ_INT(dnsmsg_parse_query(buf, n, &q), DNSMSG_ERROR);
	dnsmsg_put16(buf + 4, 0);
	CHECK_EQ_INT(dnsmsg_parse_query(buf, n, &q), DNSMSG_ERROR);
	dnsmsg_put16(buf + 4, 1);
	/* An answer record claimed but absent. */
	dnsmsg_put16(buf + 6, 1);
	CHECK_EQ_INT(dnsmsg_parse_query(buf, n, &q), DNSMSG_ERROR);
	dnsmsg_put16(buf + 6, 0);
	/* A trailing byte. */
	buf[n] = 0;
	CHECK_EQ_INT(dnsmsg_parse_query(buf, n + 1, &q), DNSMSG_ERROR);
	CHECK_EQ_INT(q.rcode, DNS_RCODE_FORMERR);
	CHECK_EQ_INT(dnsmsg_parse_query(buf, n, &q), DNSMSG_QUERY);
}

static void test_compression_pointers(void)
{
	uint8_t buf[600];
	struct dnsmsg_query q;
	memset(buf, 0, sizeof(buf));
	dnsmsg_put16(buf + 4, 1);
	/* A pointer to itself. */
	buf[12] = 0xc0;
	buf[13] = 12;
	CHECK_EQ_INT(dnsmsg_parse_query(buf, 18, &q), DNSMSG_ERROR);
	CHECK_EQ_INT(q.rcode, DNS_RCODE_FORMERR);
	/* A label, then a pointer back to that label: a loop. */
	memcpy(buf + 12, "\1a\xc0\x0c", 4);
	CHECK_EQ_INT(dnsmsg_parse_query(buf, 20, &q), DNSMSG_ERROR);
	/* A pointer forwards. */
	memcpy(buf + 12, "\xc0\x20", 2);
	CHECK_EQ_INT(dnsmsg_parse_query(buf, 40, &q), DNSMSG_ERROR);
	/* A pointer past the end. */
	memcpy(buf + 12, "\xc3\xff", 2);
	CHECK_EQ_INT(dnsmsg_parse_query(buf, 18, &q), DNSMSG_ERROR);
	/* A pointer cut in half. */
	buf[12] = 0xc0;
	CHECK_EQ_INT(dnsmsg_parse_query(buf, 13, &q), DNSMSG_ERROR);
	/* Extended label types. */
	memcpy(buf + 12,
	       "\x41"
	       "a",
	       2);
	CHECK_EQ_INT(dnsmsg_parse_query(buf, 40, &q), DNSMSG_ERROR);
	memcpy(buf + 12,
	       "\x81"
	       "a",
	       2);
	CHECK_EQ_INT(dnsmsg_parse_query(buf, 40, &q), DNSMSG_ERROR);
	/* A label running past the end. */
	memcpy(buf + 12,
	       "\x3f"
	       "abc",
	       4);
	CHECK_EQ_INT(dnsmsg_parse_query(buf, 18, &q), DNSMSG_ERROR);

	/* A chain of backward pointers, each to the previous name:
	 * c -> b -> a: fine, and decompressed in full. */
	uint8_t pkt[64] = {0};
	memcpy(pkt + 12, "\1a\0", 3);	    /* 12: a. */
	memcpy(pkt + 15, "\1b\xc0\x0c", 4); /* 15: b.a. */
	memcpy(pkt + 19, "\1c\xc0\x0f", 4); /* 19: c.b.a. */
	uint8_t name[DNS_NAME_MAX];
	size_t len;
	size_t next;
	CHECK_EQ_INT(dnsmsg_read_name(pkt, 23, 19, name, &len, &next), 0);
	CHECK_EQ_INT(len, 7);
	CHECK(memcmp(name, "\1c\1b\1a\0", 7) == 0);
	CHECK_EQ_INT(next, 23);
	/* A two-pointer loop: 30 -> 32 -> 30 (the second points forward of
	 * its run's start after the first jump). */
	memcpy(pkt + 30, "\xc0\x20\xc0\x1e", 4);
	CHECK(dnsmsg_read_name(pkt, 34, 32, name, &len, &next) < 0);
	CHECK(dnsmsg_read_name(pkt, 34, 30, name, &len, &next) < 0);

	/* A name longer than 255 octets in wire form. */
	uint8_t big[400] = {0};
	size_t o = 0;
	for (int i = 0; i < 5; i++) {
		big[o++] = 63;
		memset(big + o, 'x', 63);
		o += 63;
	}
	big[o++] = 0;
	CHECK(dnsmsg_read_name(big, o, 0, name, &len, &next) < 0);
	/* Exactly 255 is the limit: 3 labels of 63 and one of 61. */
	o = 0;
	for (int i = 0; i < 4; i++) {
		int l = i < 3 ? 63 : 61;
		big[o++] = (uint8_t)l;
		memset(big + o, 'y', (size_t)l);
		o += (size_t)l;
	}
	big[o++] = 0;
	CHECK_EQ_INT(o, 255);
	CHECK_EQ_INT(dnsmsg_read_name(big, o, 0, name, &len, &next), 0);
	CHECK_EQ_INT(len, 255);
}

static void test_edns(void)
{
	uint8_t buf[600];
	struct dnsmsg_query q;
	size_t n = make_query(buf, 9, "web", DNS_TYPE_A, 1232);
	CHECK_EQ_INT(dnsmsg_parse_query(buf, n, &q), DNSMSG_QUERY);
	/* Version 1: BADVERS, said in an OPT record. */
	buf[n - 5] = 1;
	CHECK_EQ_INT(dnsmsg_parse_query(buf, n, &q), DNSMSG_ERROR);
	CHECK_EQ_INT(q.rcode, DNS_RCODE_BADVERS);
	uint8_t out[600];
	struct dnsmsg_answer a = {.rcode = q.rcode};
	size_t len = dnsmsg_build_reply(&q, &a, out, sizeof(out));
	struct reply r = parse_reply(out, len);
	CHECK(r.ok);
	CHECK(r.opt);
	CHECK_EQ_INT(r.rcode, DNS_RCODE_BADVERS);
	buf[n - 5] = 0;
	/* An option that overruns the record. */
	uint8_t opt[600];
	memcpy(opt, buf, n);
	dnsmsg_put16(opt + n - 2, 4);
	memcpy(opt + n, "\0\x0a\0\x09", 4); /* COOKIE, 9 bytes: only 0 follow */
	CHECK_EQ_INT(dnsmsg_parse_query(opt, n + 4, &q), DNSMSG_ERROR);
	CHECK_EQ_INT(q.rcode, DNS_RCODE_FORMERR);
	/* Well-framed options pass. */
	memcpy(opt + n, "\0\x0a\0\0", 4);
	CHECK_EQ_INT(dnsmsg_parse_query(opt, n + 4, &q), DNSMSG_QUERY);
	/* Two OPT records. */
	memcpy(opt, buf, n);
	memcpy(opt + n, buf + n - 11, 11);
	dnsmsg_put16(opt + 10, 2);
	CHECK_EQ_INT(dnsmsg_parse_query(opt, n + 11, &q), DNSMSG_ERROR);
	/* An OPT not owned by the root. */
	size_t m = make_query(opt, 9, "web", DNS_TYPE_A, 0);
	dnsmsg_put16(opt + 10, 1);
	memcpy(opt + m, "\1x\0\0\x29\x04\xd0\0\0\0\0\0\0", 13);
	CHECK_EQ_INT(dnsmsg_parse_query(opt, m + 13, &q), DNSMSG_ERROR);
	/* Another additional record type (TSIG-like) is skipped. */
	memcpy(opt + m, "\1x\0\0\xfa\0\xff\0\0\0\0\0\0", 13);
	CHECK_EQ_INT(dnsmsg_parse_query(opt, m + 13, &q), DNSMSG_QUERY);
	CHECK_EQ_INT(q.edns, 0);
}

static void test_names(void)
{
	uint8_t w[DNS_NAME_MAX];
	size_t len;
	CHECK_EQ_INT(dnsmsg_name_from_text("web", w, &len), 0);
	CHECK(len == 5 && memcmp(w, "\3web\0", 5) == 0);
	CHECK_EQ_INT(dnsmsg_name_from_text("Web.", w, &len), 0);
	CHECK(len == 5 && memcmp(w, "\3web\0", 5) == 0);
	CHECK_EQ_INT(dnsmsg_name_from_text("my_proj-web-1.Example", w, &len), 0);
	CHECK(len == 23 && memcmp(w, "\x0dmy_proj-web-1\7example\0", 23) == 0);
	CHECK_EQ_INT(dnsmsg_name_from_text("", w, &len), -EINVAL);
	CHECK_EQ_INT(dnsmsg_name_from_text(".", w, &len), -EINVAL);
	CHECK_EQ_INT(dnsmsg_name_from_text("a..b", w, &len), -EINVAL);
	CHECK_EQ_INT(dnsmsg_name_from_text("we b", w, &len), -EINVAL);
	CHECK_EQ_INT(dnsmsg_name_from_text("we\\b", w, &len), -EINVAL);
	char label[70];
	memset(label, 'a', 64);
	label[64] = '\0';
	CHECK_EQ_INT(dnsmsg_name_from_text(label, w, &len), -EINVAL);
	label[63] = '\0';
	CHECK_EQ_INT(dnsmsg_name_from_text(label, w, &len), 0);
	char long_name[300];
	memset(long_name, 'a', sizeof(long_name));
	for (size_t i = 50; i < sizeof(long_name); i += 51) {
		long_name[i] = '.';
	}
	long_name[sizeof(long_name) - 1] = '\0';
	CHECK_EQ_INT(dnsmsg_name_from_text(long_name, w, &len), -EINVAL);

	CHECK(dnsmsg_name_equal((const uint8_t *)"\3WeB\0", 5, (const uint8_t *)"\3web\0", 5));
	CHECK(!dnsmsg_name_equal((const uint8_t *)"\3wec\0", 5, (const uint8_t *)"\3web\0", 5));
	CHECK(!dnsmsg_name_equal((const uint8_t *)"\3web\0", 5, (const uint8_t *)"\3web\3com\0", 9));

	const uint8_t dom[] = "\5berth\0";
	CHECK(dnsmsg_name_in_domain((const uint8_t *)"\3web\5BERTH\0", 11, dom, 7));
	CHECK(dnsmsg_name_in_domain(dom, 7, dom, 7));
	CHECK(!dnsmsg_name_in_domain((const uint8_t *)"\6xberth\0", 8, dom, 7));
	CHECK(!dnsmsg_name_in_domain((const uint8_t *)"\3web\0", 5, dom, 7));

	uint8_t joined[DNS_NAME_MAX];
	CHECK_EQ_INT(dnsmsg_name_join((const uint8_t *)"\3web\0", 5, dom, 7, joined, &len), 0);
	CHECK(len == 11 && memcmp(joined, "\3web\5berth\0", 11) == 0);

	char text[64];
	dnsmsg_name_to_text((const uint8_t *)"\3w.b\2\n\0\0", 8, text, sizeof(text));
	CHECK(strcmp(text, "w\\046b.\\010\\000.") == 0);
	dnsmsg_name_to_text((const uint8_t *)"\0", 1, text, sizeof(text));
	CHECK(strcmp(text, ".") == 0);
	dnsmsg_name_to_text((const uint8_t *)"\3web\0", 5, text, 3);
	CHECK(strcmp(text, "we") == 0);

	uint32_t addr = 0;
	const uint8_t ptr[] = "\0012\0010\00289\00210\7in-addr\4ARPA";
	CHECK_EQ_INT(dnsmsg_ptr_addr(ptr, sizeof(ptr), &addr), 1);
	CHECK(addr == ip("10.89.0.2"));
	const uint8_t bad1[] = "\003256\0010\00289\00210\7in-addr\4arpa";
	CHECK_EQ_INT(dnsmsg_ptr_addr(bad1, sizeof(bad1), &addr), 0);
	const uint8_t bad2[] = "\0010\00289\00210\7in-addr\4arpa";
	CHECK_EQ_INT(dnsmsg_ptr_addr(bad2, sizeof(bad2), &addr), 0);
	const uint8_t bad3[] = "\0012\0010\00289\00210\7in-addr\4arpa\3com";
	CHECK_EQ_INT(dnsmsg_ptr_addr(bad3, sizeof(bad3), &addr), 0);
	const uint8_t bad4[] = "\001x\0010\00289\00210\7in-addr\4arpa";
	CHECK_EQ_INT(dnsmsg_ptr_addr(bad4, sizeof(bad4), &addr), 0);
}

static void test_build_reply(void)
{
	uint8_t buf[512];
	struct dnsmsg_query q;
	size_t n = make_query(buf, 0xbeef, "wEb", DNS_TYPE_A, 0);
	CHECK_EQ_INT(dnsmsg_parse_query(buf, n, &q), DNSMSG_QUERY);
	uint32_t addrs[40];
	for (int i = 0; i < 40; i++) {
		addrs[i] = htonl(0x0a590000u + (uint32_t)i + 2);
	}
	uint8_t out[2048];
	struct dnsmsg_answer a = {.authoritative = 1, .addrs = addrs, .naddrs = 2, .ttl = 10};
	size_t len = dnsmsg_build_reply(&q, &a, out, sizeof(out));
	struct reply r = parse_reply(out, len);
	CHECK(r.ok);
	CHECK_EQ_INT(r.id, 0xbeef);
	CHECK(r.flags & DNS_FLAG_QR);
	CHECK(r.flags & DNS_FLAG_AA);
	CHECK(r.flags & DNS_FLAG_RD);
	CHECK(!(r.flags & DNS_FLAG_TC));
	CHECK_EQ_INT(r.qd, 1);
	CHECK_EQ_INT(r.an, 2);
	CHECK_EQ_INT(r.ttl, 10);
	CHECK(has_addr(&r, "10.89.0.2") && has_addr(&r, "10.89.0.3"));
	/* The question is echoed as sent, case and all. */
	CHECK(memcmp(out + 12, "\3wEb\0", 5) == 0);

	/* 40 addresses do not fit 512 bytes: as many as fit, and TC. */
	a.naddrs = 40;
	len = dnsmsg_build_reply(&q, &a, out, DNS_UDP_MAX);
	r = parse_reply(out, len);
	CHECK(r.ok);
	CHECK(len <= DNS_UDP_MAX);
	CHECK(r.flags & DNS_FLAG_TC);
	CHECK_EQ_INT(r.an, (512 - 12 - 9) / 16);
	len = dnsmsg_build_reply(&q, &a, out, sizeof(out));
	r = parse_reply(out, len);
	CHECK_EQ_INT(r.an, 40);
	CHECK(!(r.flags & DNS_FLAG_TC));

	/* A query that failed to parse gets a header-only answer. */
	CHECK_EQ_INT(dnsmsg_parse_query(buf, 14, &q), DNSMSG_ERROR);
	struct dnsmsg_answer e = {.rcode = q.rcode};
	len = dnsmsg_build_reply(&q, &e, out, sizeof(out));
	r = parse_reply(out, len);
	CHECK(r.ok);
	CHECK_EQ_INT(len, 12);
	CHECK_EQ_INT(r.rcode, DNS_RCODE_FORMERR);
	CHECK_EQ_INT(r.id, 0xbeef);
}

static void test_response_matches(void)
{
	uint8_t buf[512];
	struct dnsmsg_query q;
	size_t n = make_query(buf, 0x0101, "example.com", DNS_TYPE_A, 0);
	CHECK_EQ_INT(dnsmsg_parse_query(buf, n, &q), DNSMSG_QUERY);
	uint8_t resp[512];
	memcpy(resp, buf, n);
	dnsmsg_put16(resp, 0x4242);
	resp[2] |= 0x80;
	CHECK(dnsmsg_response_matches(resp, n, 0x4242, &q));
	CHECK(!dnsmsg_response_matches(resp, n, 0x4243, &q));
	CHECK(!dnsmsg_response_matches(resp, 11, 0x4242, &q));
	CHECK(!dnsmsg_response_matches(resp, n - 1, 0x4242, &q));
	/* Case may differ (some servers fold it); the name may not. */
	resp[13] = 'E';
	CHECK(dnsmsg_response_matches(resp, n, 0x4242, &q));
	resp[14] = 'y';
	CHECK(!dnsmsg_response_matches(resp, n, 0x4242, &q));
	resp[14] = 'x';
	/* Another type. */
	resp[n - 3] = DNS_TYPE_AAAA;
	CHECK(!dnsmsg_response_matches(resp, n, 0x4242, &q));
	resp[n - 3] = DNS_TYPE_A;
	/* Not a response. */
	resp[2] &= 0x7f;
	CHECK(!dnsmsg_response_matches(resp, n, 0x4242, &q));
}

/* ---- name matching, no sockets ---------------------------------------- */

static const struct dns_record records[] = {
	{"web", 0}, {"web", 0}, {"db", 0}, {"myproj-web-1", 0}, {"Alias.", 0},
};
static struct dns_record recs[5];

static void fill_records(void)
{
	memcpy(recs, records, sizeof(records));
	recs[0].addr = ip("10.89.0.2");
	recs[1].addr = ip("10.89.0.3");
	recs[2].addr = ip("10.89.0.4");
	recs[3].addr = ip("10.89.0.2");
	recs[4].addr = ip("10.89.0.4");
}

static struct reply ask(struct dns *d, uint32_t listen, const char *name, uint16_t type, enum dns_verdict *v)
{
	uint8_t q[512];
	static uint8_t out[DNS_ANSWER_MAX];
	size_t n = make_query(q, 0x5151, name, type, 0);
	size_t len = 0;
	*v = dns_answer(d, listen, q, n, 0, out, &len);
	if (*v != DNS_ANSWER) {
		struct reply none = {0};
		return none;
	}
	return parse_reply(out, len);
}

static void test_local_names(void)
{
	struct dns *d = NULL;
	struct berr err = {0};
	struct dns_options opt = {.domain = "berth.internal"};
	CHECK_EQ_INT(dns_open(&d, &opt, &err), 0);
	if (d == NULL) {
		return;
	}
	fill_records();
	uint32_t net = ip("10.89.0.1");
	CHECK_EQ_INT(dns_set_names(d, net, recs, 5, &err), 0);
	enum dns_verdict v;
	const char *variants[] = {"web", "WEB", "web.", "Web.Berth.Internal", "web.berth.internal."};
	for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]); i++) {
		struct reply r = ask(d, net, variants[i], DNS_TYPE_A, &v);
		CHECK_EQ_INT(v, DNS_ANSWER);
		CHECK(r.ok);
		CHECK_EQ_INT(r.rcode, 0);
		CHECK_EQ_INT(r.an, 2);
		CHECK(r.flags & DNS_FLAG_AA);
		CHECK(has_addr(&r, "10.89.0.2") && has_addr(&r, "10.89.0.3"));
	}
	/* Round robin: the first address changes between answers. */
	struct reply r1 = ask(d, net, "web", DNS_TYPE_A, &v);
	struct reply r2 = ask(d, net, "web", DNS_TYPE_A, &v);
	CHECK(r1.addrs[0] != r2.addrs[0]);

	struct reply r = ask(d, net, "alias", DNS_TYPE_A, &v);
	CHECK(r.an == 1 && has_addr(&r, "10.89.0.4"));
	r = ask(d, net, "myproj-web-1", DNS_TYPE_A, &v);
	CHECK(r.an == 1 && has_addr(&r, "10.89.0.2"));
	/* AAAA of a known name: NOERROR, nothing. */
	r = ask(d, net, "db", DNS_TYPE_AAAA, &v);
	CHECK_EQ_INT(v, DNS_ANSWER);
	CHECK_EQ_INT(r.rcode, DNS_RCODE_NOERROR);
	CHECK_EQ_INT(r.an, 0);
	/* Reverse lookup of a known address. */
	r = ask(d, net, "4.0.89.10.in-addr.arpa", DNS_TYPE_PTR, &v);
	CHECK_EQ_INT(v, DNS_ANSWER);
	CHECK_EQ_INT(r.an, 1);
	CHECK(strcmp(r.ptr, "db.berth.internal.") == 0);
	/* Unknown names go upstream; unknown names in our domain do not. */
	ask(d, net, "example.com", DNS_TYPE_A, &v);
	CHECK_EQ_INT(v, DNS_FORWARD);
	ask(d, net, "webx", DNS_TYPE_A, &v);
	CHECK_EQ_INT(v, DNS_FORWARD);
	ask(d, net, "9.0.89.10.in-addr.arpa", DNS_TYPE_PTR, &v);
	CHECK_EQ_INT(v, DNS_FORWARD);
	r = ask(d, net, "nope.berth.internal", DNS_TYPE_A, &v);
	CHECK_EQ_INT(v, DNS_ANSWER);
	CHECK_EQ_INT(r.rcode, DNS_RCODE_NXDOMAIN);
	/* Names belong to their network only. */
	ask(d, ip("10.90.0.1"), "web", DNS_TYPE_A, &v);
	CHECK_EQ_INT(v, DNS_FORWARD);
	/* A bad name is refused and the old names stay. */
	struct dns_record bad[] = {{"ok", ip("10.89.0.9")}, {"not ok", ip("10.89.0.9")}};
	CHECK_EQ_INT(dns_set_names(d, net, bad, 2, &err), -EINVAL);
	CHECK_STR_CONTAINS(err.msg, "not ok");
	r = ask(d, net, "db", DNS_TYPE_A, &v);
	CHECK_EQ_INT(r.an, 1);
	/* Replacing the names drops the old ones. */
	CHECK_EQ_INT(dns_set_names(d, net, bad, 1, &err), 0);
	ask(d, net, "db", DNS_TYPE_A, &v);
	CHECK_EQ_INT(v, DNS_FORWARD);
	CHECK_EQ_INT(dns_set_names(d, net, NULL, 0, &err), 0);
	ask(d, net, "ok", DNS_TYPE_A, &v);
	CHECK_EQ_INT(v, DNS_FORWARD);
	/* Garbage: dropped, or FORMERR. */
	uint8_t junk[5] = {1, 2, 3, 4, 5};
	uint8_t out[DNS_ANSWER_MAX];
	size_t len;
	CHECK_EQ_INT(dns_answer(d, net, junk, sizeof(junk), 0, out, &len), DNS_IGNORE);
	uint8_t trunc[14] = {0xab, 0xcd, 0, 0, 0, 1};
	CHECK_EQ_INT(dns_answer(d, net, trunc, sizeof(trunc), 0, out, &len), DNS_ANSWER);
	r = parse_reply(out, len);
	CHECK_EQ_INT(r.rcode, DNS_RCODE_FORMERR);
	CHECK_EQ_INT(r.id, 0xabcd);
	dns_close(d);

	struct dns_options bad_opt = {.domain = "no spaces"};
	d = NULL;
	CHECK_EQ_INT(dns_open(&d, &bad_opt, &err), -EINVAL);
	CHECK(d == NULL);
}

/* ---- live: sockets on 127.0.0.x ----------------------------------------- */

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Runs the responder until fd is readable (1) or ms have passed (0). */
static int pump(struct dns *d, int fd, int ms)
{
	int64_t end = mono_ms() + ms;
	for (;;) {
		struct pollfd p[2] = {{.fd = dns_fd(d), .events = POLLIN}, {.fd = fd, .events = POLLIN}};
		int64_t left = end - mono_ms();
		if (left < 0) {
			left = 0;
		}
		int n = poll(p, fd >= 0 ? 2 : 1, (int)left);
		if (n > 0 && (p[0].revents & POLLIN)) {
			dns_run(d);
		}
		if (fd >= 0 && (p[1].revents & POLLIN)) {
			return 1;
		}
		if (left == 0) {
			return 0;
		}
	}
}

static int udp_socket(const char *bind_ip, uint16_t port)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = ip(bind_ip)};
	if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void send_to(int fd, const char *to, uint16_t port, const uint8_t *msg, size_t len)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = ip(to)};
	sendto(fd, msg, len, 0, (struct sockaddr *)&sa, sizeof(sa));
}

struct live {
	struct dns *d;
	int client; /* UDP on 127.0.0.1 */
	int up1;    /* fake upstream 127.0.0.3:53 */
	int up2;    /* fake upstream 127.0.0.5:53 */
	char resolv[64];
};

/* The upstream side: receives a query (returns its length, with the
 * sender in from) while running the responder. */
static ssize_t upstream_recv(struct live *L, int fd, uint8_t *buf, struct sockaddr_in *from, int ms)
{
	if (!pump(L->d, fd, ms)) {
		return -1;
	}
	socklen_t sl = sizeof(*from);
	return recvfrom(fd, buf, 2048, MSG_DONTWAIT, (struct sockaddr *)from, &sl);
}

/* Answers query q (len n) as an upstream: same question, one A record. */
static size_t upstream_answer(const uint8_t *q, size_t n, uint8_t *out, uint16_t id, int rcode, const char *addr)
{
	memcpy(out, q, n);
	dnsmsg_put16(out, id);
	out[2] |= 0x80;
	out[3] = (uint8_t)(0x80 | rcode);
	/* Drop any OPT: answer header, question, one record. */
	dnsmsg_put16(out + 10, 0);
	size_t qend = DNS_HEADER_LEN;
	while (out[qend] != 0) {
		qend += 1 + out[qend];
	}
	qend += 5;
	if (addr == NULL) {
		return qend;
	}
	dnsmsg_put16(out + 6, 1);
	static const uint8_t rr[] = {0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4};
	memcpy(out + qend, rr, sizeof(rr));
	uint32_t a = ip(addr);
	memcpy(out + qend + sizeof(rr), &a, 4);
	return qend + sizeof(rr) + 4;
}

static struct reply client_wait(struct live *L, int ms)
{
	struct reply none = {0};
	uint8_t buf[2048];
	if (!pump(L->d, L->client, ms)) {
		return none;
	}
	ssize_t n = recv(L->client, buf, sizeof(buf), MSG_DONTWAIT);
	if (n < 0) {
		return none;
	}
	return parse_reply(buf, (size_t)n);
}

static void client_ask(struct live *L, uint16_t id, const char *name)
{
	uint8_t q[512];
	size_t n = make_query(q, id, name, DNS_TYPE_A, 0);
	send_to(L->client, "127.0.0.2", 53, q, n);
}

static void live_local_name(struct live *L)
{
	client_ask(L, 0x1111, "Web");
	struct reply r = client_wait(L, 1000);
	CHECK(r.ok);
	CHECK_EQ_INT(r.id, 0x1111);
	CHECK_EQ_INT(r.an, 2);
	CHECK(has_addr(&r, "10.89.0.2") && has_addr(&r, "10.89.0.3"));
}

static void live_forwarded(struct live *L)
{
	client_ask(L, 0x2222, "example.com");
	uint8_t q[2048];
	struct sockaddr_in from;
	ssize_t n = upstream_recv(L, L->up1, q, &from, 1000);
	CHECK(n > 12);
	if (n <= 12) {
		return;
	}
	/* The upstream sees the client's question. */
	CHECK(memcmp(q + 12, "\7example\3com\0", 13) == 0);
	uint16_t up_id = dnsmsg_get16(q);
	uint8_t ans[2048];
	/* A spoof first: the wrong ID. Ignored. */
	size_t m = upstream_answer(q, (size_t)n, ans, (uint16_t)(up_id ^ 0x5a5a), 0, "6.6.6.6");
	sendto(L->up1, ans, m, 0, (struct sockaddr *)&from, sizeof(from));
	/* Another spoof: the right ID from another address. */
	int other = udp_socket("127.0.0.4", 53);
	m = upstream_answer(q, (size_t)n, ans, up_id, 0, "6.6.6.7");
	if (other >= 0) {
		sendto(other, ans, m, 0, (struct sockaddr *)&from, sizeof(from));
	}
	struct reply r = client_wait(L, 200);
	CHECK_EQ_INT(r.id, 0); /* nothing relayed */
	/* The real answer. */
	m = upstream_answer(q, (size_t)n, ans, up_id, 0, "93.184.216.34");
	sendto(L->up1, ans, m, 0, (struct sockaddr *)&from, sizeof(from));
	r = client_wait(L, 1000);
	CHECK(r.ok);
	CHECK_EQ_INT(r.id, 0x2222);
	CHECK_EQ_INT(r.an, 1);
	CHECK(has_addr(&r, "93.184.216.34"));
	if (other >= 0) {
		close(other);
	}
}

static void live_silent_then_next(struct live *L)
{
	/* 127.0.0.3 stays silent; after the timeout 127.0.0.5 is asked. */
	uint32_t ups[] = {ip("127.0.0.3"), ip("127.0.0.5")};
	struct berr err = {0};
	CHECK_EQ_INT(dns_set_upstreams(L->d, 0, ups, 2, &err), 0);
	client_ask(L, 0x3333, "slow.example");
	uint8_t q[2048];
	struct sockaddr_in from;
	int64_t t0 = mono_ms();
	ssize_t n = upstream_recv(L, L->up1, q, &from, 1000);
	CHECK(n > 12);
	n = upstream_recv(L, L->up2, q, &from, 2000);
	CHECK(n > 12);
	CHECK(mono_ms() - t0 >= 250); /* the 300 ms timeout, give or take a tick */
	if (n > 12) {
		uint8_t ans[2048];
		size_t m = upstream_answer(q, (size_t)n, ans, dnsmsg_get16(q), 0, "1.2.3.4");
		sendto(L->up2, ans, m, 0, (struct sockaddr *)&from, sizeof(from));
	}
	struct reply r = client_wait(L, 1000);
	CHECK_EQ_INT(r.id, 0x3333);
	CHECK(has_addr(&r, "1.2.3.4"));

	/* Both silent: SERVFAIL with the client's ID. */
	client_ask(L, 0x3334, "dead.example");
	CHECK(upstream_recv(L, L->up1, q, &from, 1000) > 12);
	CHECK(upstream_recv(L, L->up2, q, &from, 1000) > 12);
	r = client_wait(L, 1000);
	CHECK(r.ok);
	CHECK_EQ_INT(r.id, 0x3334);
	CHECK_EQ_INT(r.rcode, DNS_RCODE_SERVFAIL);

	/* The first answers SERVFAIL: the second is asked at once. */
	client_ask(L, 0x3335, "broken.example");
	n = upstream_recv(L, L->up1, q, &from, 1000);
	CHECK(n > 12);
	if (n > 12) {
		uint8_t ans[2048];
		size_t m = upstream_answer(q, (size_t)n, ans, dnsmsg_get16(q), DNS_RCODE_SERVFAIL, NULL);
		sendto(L->up1, ans, m, 0, (struct sockaddr *)&from, sizeof(from));
	}
	t0 = mono_ms();
	n = upstream_recv(L, L->up2, q, &from, 1000);
	CHECK(n > 12);
	CHECK(mono_ms() - t0 < 250);
	if (n > 12) {
		uint8_t ans[2048];
		size_t m = upstream_answer(q, (size_t)n, ans, dnsmsg_get16(q), DNS_RCODE_NXDOMAIN, NULL);
		sendto(L->up2, ans, m, 0, (struct sockaddr *)&from, sizeof(from));
	}
	r = client_wait(L, 1000);
	CHECK_EQ_INT(r.id, 0x3335);
	CHECK_EQ_INT(r.rcode, DNS_RCODE_NXDOMAIN);

	/* Nobody listens on 127.0.0.7: the port-unreachable error moves on
	 * to the next server without waiting for the timeout. */
	uint32_t ups2[] = {ip("127.0.0.7"), ip("127.0.0.3")};
	CHECK_EQ_INT(dns_set_upstreams(L->d, 0, ups2, 2, &err), 0);
	client_ask(L, 0x3336, "refused.example");
	t0 = mono_ms();
	n = upstream_recv(L, L->up1, q, &from, 1000);
	CHECK(n > 12);
	CHECK(mono_ms() - t0 < 250);
	if (n > 12) {
		uint8_t ans[2048];
		size_t m = upstream_answer(q, (size_t)n, ans, dnsmsg_get16(q), 0, "5.6.7.8");
		sendto(L->up1, ans, m, 0, (struct sockaddr *)&from, sizeof(from));
	}
	r = client_wait(L, 1000);
	CHECK_EQ_INT(r.id, 0x3336);
	CHECK(has_addr(&r, "5.6.7.8"));
	CHECK_EQ_INT(dns_set_upstreams(L->d, 0, NULL, 0, &err), 0);
}

static void live_per_client_upstreams(struct live *L)
{
	/* The client's own `dns:` servers win over the host's. */
	uint32_t ups[] = {ip("127.0.0.5")};
	struct berr err = {0};
	CHECK_EQ_INT(dns_set_upstreams(L->d, ip("127.0.0.1"), ups, 1, &err), 0);
	client_ask(L, 0x4444, "own.example");
	uint8_t q[2048];
	struct sockaddr_in from;
	ssize_t n = upstream_recv(L, L->up2, q, &from, 1000);
	CHECK(n > 12);
	if (n > 12) {
		uint8_t ans[2048];
		size_t m = upstream_answer(q, (size_t)n, ans, dnsmsg_get16(q), 0, "9.9.9.9");
		sendto(L->up2, ans, m, 0, (struct sockaddr *)&from, sizeof(from));
	}
	struct reply r = client_wait(L, 1000);
	CHECK_EQ_INT(r.id, 0x4444);
	CHECK(has_addr(&r, "9.9.9.9"));
	CHECK_EQ_INT(dns_set_upstreams(L->d, ip("127.0.0.1"), NULL, 0, &err), 0);
}

static void live_refused_and_formerr(struct live *L)
{
	/* A listener for 127.0.0.6/32: the client (127.0.0.1) is not on
	 * its network. */
	struct berr err = {0};
	CHECK_EQ_INT(dns_listen(L->d, ip("127.0.0.6"), 32, &err), 0);
	struct dns_record r6 = {"web", ip("10.0.0.1")};
	dns_set_names(L->d, ip("127.0.0.6"), &r6, 1, &err);
	uint8_t q[512];
	size_t n = make_query(q, 0x5555, "web", DNS_TYPE_A, 0);
	send_to(L->client, "127.0.0.6", 53, q, n);
	struct reply r = client_wait(L, 1000);
	CHECK_EQ_INT(r.id, 0x5555);
	CHECK_EQ_INT(r.rcode, DNS_RCODE_REFUSED);
	CHECK_EQ_INT(r.an, 0);
	dns_unlisten(L->d, ip("127.0.0.6"));

	/* A broken query: FORMERR, with its ID. */
	uint8_t bad[20] = {0x66, 0x66, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 0x0c};
	send_to(L->client, "127.0.0.2", 53, bad, sizeof(bad));
	r = client_wait(L, 1000);
	CHECK_EQ_INT(r.id, 0x6666);
	CHECK_EQ_INT(r.rcode, DNS_RCODE_FORMERR);
	/* A response sent to us: no answer at all. */
	bad[2] = 0x80;
	send_to(L->client, "127.0.0.2", 53, bad, sizeof(bad));
	r = client_wait(L, 200);
	CHECK_EQ_INT(r.id, 0);
}

static int tcp_connect(const char *to)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(53), .sin_addr.s_addr = ip(to)};
	connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	return fd;
}

/* Reads one framed message from a non-blocking TCP fd, running the
 * responder meanwhile. */
static ssize_t tcp_read_msg(struct dns *d, int fd, uint8_t *buf, size_t size, int ms)
{
	size_t have = 0;
	size_t need = 2;
	int64_t end = mono_ms() + ms;
	while (have < need) {
		if (!pump(d, fd, (int)(end - mono_ms()))) {
			return -1;
		}
		ssize_t n = recv(fd, buf + have, need - have, MSG_DONTWAIT);
		if (n == 0) {
			return -1;
		}
		if (n > 0) {
			have += (size_t)n;
			if (have == 2) {
				need = 2 + dnsmsg_get16(buf);
				if (need > size) {
					return -1;
				}
			}
		}
	}
	memmove(buf, buf + 2, have - 2);
	return (ssize_t)(have - 2);
}

static void live_tcp(struct live *L)
{
	/* A TCP listener on the fake upstream's address. */
	int up = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	setsockopt(up, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(53), .sin_addr.s_addr = ip("127.0.0.3")};
	CHECK(bind(up, (struct sockaddr *)&sa, sizeof(sa)) == 0 && listen(up, 4) == 0);

	int c = tcp_connect("127.0.0.2");
	uint8_t q[600];
	/* Two queries pipelined in one write: a local name, then a
	 * forwarded one. */
	size_t n1 = make_query(q + 2, 0x7001, "db", DNS_TYPE_A, 0);
	dnsmsg_put16(q, (uint16_t)n1);
	size_t n2 = make_query(q + 2 + n1 + 2, 0x7002, "big.example", DNS_TYPE_A, 0);
	dnsmsg_put16(q + 2 + n1, (uint16_t)n2);
	pump(L->d, -1, 50);
	CHECK(send(c, q, 4 + n1 + n2, MSG_NOSIGNAL) == (ssize_t)(4 + n1 + n2));
	uint8_t buf[4096];
	ssize_t n = tcp_read_msg(L->d, c, buf, sizeof(buf), 1000);
	struct reply r = n > 0 ? parse_reply(buf, (size_t)n) : (struct reply){0};
	CHECK_EQ_INT(r.id, 0x7001);
	CHECK(has_addr(&r, "10.89.0.4"));

	/* The forwarded one arrives over TCP at the upstream. */
	CHECK(pump(L->d, up, 1000));
	int s = accept4(up, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	CHECK(s >= 0);
	n = tcp_read_msg(L->d, s, buf, sizeof(buf), 1000);
	CHECK(n > 12);
	if (n > 12) {
		/* A big answer, as only TCP carries it: 100 A records. */
		uint8_t ans[4096];
		size_t m = upstream_answer(buf, (size_t)n, ans + 2, dnsmsg_get16(buf), 0, "10.1.1.1");
		size_t rr = m - 16;
		for (int i = 1; i < 100; i++) {
			memcpy(ans + 2 + m, ans + 2 + rr, 16);
			ans[2 + m + 15] = (uint8_t)i;
			m += 16;
		}
		dnsmsg_put16(ans + 2 + 6, 100);
		dnsmsg_put16(ans, (uint16_t)m);
		CHECK(send(s, ans, m + 2, MSG_NOSIGNAL) == (ssize_t)(m + 2));
	}
	n = tcp_read_msg(L->d, c, buf, sizeof(buf), 1000);
	r = n > 0 ? parse_reply(buf, (size_t)n) : (struct reply){0};
	CHECK(r.ok);
	CHECK_EQ_INT(r.id, 0x7002);
	CHECK_EQ_INT(r.an, 100);
	CHECK(n > 512);
	if (s >= 0) {
		close(s);
	}
	/* A message announced with length 0 ends the connection. */
	uint8_t zero[2] = {0, 0};
	send(c, zero, 2, MSG_NOSIGNAL);
	CHECK_EQ_INT(tcp_read_msg(L->d, c, buf, sizeof(buf), 500), -1);
	close(c);
	close(up);
}

static void live_resolv_conf_reread(struct live *L)
{
	/* The host's resolv.conf changes to 127.0.0.5: the next query after
	 * the once-a-second check goes there. */
	FILE *f = fopen(L->resolv, "we");
	if (f != NULL) {
		fprintf(f, "# changed\nsearch example\nnameserver ::1\nnameserver 127.0.0.5 # new\n");
		fclose(f);
	}
	pump(L->d, -1, 1100);
	client_ask(L, 0x8888, "moved.example");
	uint8_t q[2048];
	struct sockaddr_in from;
	ssize_t n = upstream_recv(L, L->up2, q, &from, 1000);
	CHECK(n > 12);
	if (n > 12) {
		uint8_t ans[2048];
		size_t m = upstream_answer(q, (size_t)n, ans, dnsmsg_get16(q), 0, "7.7.7.7");
		sendto(L->up2, ans, m, 0, (struct sockaddr *)&from, sizeof(from));
	}
	struct reply r = client_wait(L, 1000);
	CHECK_EQ_INT(r.id, 0x8888);
	CHECK(has_addr(&r, "7.7.7.7"));
}

static void live_listen_errors(struct live *L)
{
	(void)L;
	/* Another responder cannot take the same address; the error names
	 * it. An address not (yet) on any interface is fine (the bridge may
	 * get it later). */
	struct dns *d2 = NULL;
	struct berr err = {0};
	CHECK_EQ_INT(dns_open(&d2, NULL, &err), 0);
	if (d2 == NULL) {
		return;
	}
	CHECK_EQ_INT(dns_listen(d2, ip("127.0.0.2"), 8, &err), -EADDRINUSE);
	CHECK_STR_CONTAINS(err.msg, "127.0.0.2:53/udp");
	CHECK_EQ_INT(dns_listen(d2, ip("10.255.255.1"), 24, &err), 0);
	CHECK_EQ_INT(dns_listen(d2, ip("10.255.255.1"), 16, &err), 0);
	CHECK_EQ_INT(dns_listen(d2, 0, 24, &err), -EINVAL);
	dns_close(d2);
}

static void live_unlisten(struct live *L)
{
	dns_unlisten(L->d, ip("127.0.0.2"));
	client_ask(L, 0x9999, "web");
	struct reply r = client_wait(L, 200);
	CHECK_EQ_INT(r.id, 0);
	struct dns_stats st;
	dns_get_stats(L->d, &st);
	CHECK(st.queries >= 10);
	CHECK(st.local >= 2);
	CHECK(st.forwarded >= 6);
	CHECK(st.relayed >= 6);
	CHECK(st.timeouts >= 3);
	CHECK(st.servfail >= 1);
	CHECK(st.refused >= 1);
	CHECK(st.errors >= 1);
}

/* A network namespace of this process's own, with loopback up, so that
 * port 53 on 127.0.0.x never meets the host's own resolver. */
static void private_loopback(void)
{
	if (unshare(CLONE_NEWNET) < 0) {
		printf("(no private network namespace: using the host's loopback)\n");
		return;
	}
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr = {0};
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (fd >= 0 && ioctl(fd, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP;
		ioctl(fd, SIOCSIFFLAGS, &ifr);
	}
	if (fd >= 0) {
		close(fd);
	}
}

static void test_live(void)
{
	struct live L = {.client = -1, .up1 = -1, .up2 = -1};
	private_loopback();
	snprintf(L.resolv, sizeof(L.resolv), "/tmp/berth-test-resolv.%d", (int)getpid());
	FILE *f = fopen(L.resolv, "we");
	if (f == NULL) {
		CHECK(0);
		return;
	}
	fprintf(f, "nameserver 127.0.0.3\n");
	fclose(f);
	struct dns_options opt = {.resolv_conf = L.resolv, .timeout_ms = 300};
	struct berr err = {0};
	CHECK_EQ_INT(dns_open(&L.d, &opt, &err), 0);
	if (L.d == NULL) {
		return;
	}
	if (dns_listen(L.d, ip("127.0.0.2"), 8, &err) < 0) {
		printf("(cannot listen on 127.0.0.2:53: %s; live tests skipped)\n", err.msg);
		dns_close(L.d);
		unlink(L.resolv);
		return;
	}
	fill_records();
	CHECK_EQ_INT(dns_set_names(L.d, ip("127.0.0.2"), recs, 5, &err), 0);
	L.client = udp_socket("127.0.0.1", 0);
	L.up1 = udp_socket("127.0.0.3", 53);
	L.up2 = udp_socket("127.0.0.5", 53);
	CHECK(L.client >= 0 && L.up1 >= 0 && L.up2 >= 0);
	if (L.client >= 0 && L.up1 >= 0 && L.up2 >= 0) {
		live_local_name(&L);
		live_forwarded(&L);
		live_silent_then_next(&L);
		live_per_client_upstreams(&L);
		live_refused_and_formerr(&L);
		live_tcp(&L);
		live_resolv_conf_reread(&L);
		live_listen_errors(&L);
		live_unlisten(&L);
	}
	close(L.client);
	close(L.up1);
	close(L.up2);
	dns_close(L.d);
	unlink(L.resolv);
}

int main(void)
{
	RUN(test_parse_query);
	RUN(test_malformed_queries);
	RUN(test_compression_pointers);
	RUN(test_edns);
	RUN(test_names);
	RUN(test_build_reply);
	RUN(test_response_matches);
	RUN(test_local_names);
	RUN(test_live);
	return check_summary();
}
