/* DNS messages (RFC 1035, EDNS0 from RFC 6891) for the embedded responder:
 * parsing queries and upstream responses, which are untrusted input, and
 * building answers. Pure functions on byte buffers: no sockets, no state,
 * no allocation, so that they can be tested and fuzzed alone. Every read
 * is bounds-checked against the packet's length; names are decompressed
 * with pointers that must point strictly backwards, so that no packet can
 * make a loop. */
#ifndef BERTH_DNSMSG_H
#define BERTH_DNSMSG_H

#include <stddef.h>
#include <stdint.h>

#define DNS_HEADER_LEN 12
#define DNS_NAME_MAX 255 /* octets of a name in wire form, RFC 1035 2.3.4 */
#define DNS_LABEL_MAX 63
#define DNS_UDP_MAX 512 /* a UDP message without EDNS */
/* What the responder accepts in and advertises for UDP with EDNS: the
 * size the DNS flag day 2020 settled on, which avoids IP fragments. */
#define DNS_EDNS_MAX 1232
#define DNS_TCP_MAX 65535

enum {
	DNS_TYPE_A = 1,
	DNS_TYPE_PTR = 12,
	DNS_TYPE_AAAA = 28,
	DNS_TYPE_OPT = 41,
	DNS_TYPE_ANY = 255,
};

#define DNS_CLASS_IN 1

enum {
	DNS_RCODE_NOERROR = 0,
	DNS_RCODE_FORMERR = 1,
	DNS_RCODE_SERVFAIL = 2,
	DNS_RCODE_NXDOMAIN = 3,
	DNS_RCODE_NOTIMP = 4,
	DNS_RCODE_REFUSED = 5,
	DNS_RCODE_BADVERS = 16, /* extended: needs an OPT record to say it */
};

/* Header flag bits (second 16-bit word). */
#define DNS_FLAG_QR 0x8000
#define DNS_FLAG_AA 0x0400
#define DNS_FLAG_TC 0x0200
#define DNS_FLAG_RD 0x0100
#define DNS_FLAG_RA 0x0080
#define DNS_OPCODE(flags) (((flags) >> 11) & 0xf)

/* A parsed query. The question's name is kept uncompressed, in the case
 * the client sent (answers echo it byte for byte). */
struct dnsmsg_query {
	uint16_t id;
	uint16_t flags;
	int has_question; /* 0: an error answer carries no question */
	uint8_t qname[DNS_NAME_MAX];
	size_t qname_len; /* with the root label */
	uint16_t qtype;
	uint16_t qclass;
	int edns; /* the query had an OPT record */
	uint8_t edns_version;
	uint16_t edns_size; /* the client's UDP payload size */
	int rcode;	    /* for DNSMSG_ERROR: what to answer */
};

enum dnsmsg_parse {
	DNSMSG_QUERY, /* a well-formed standard query */
	DNSMSG_ERROR, /* answer with q->rcode (FORMERR, NOTIMP, BADVERS) */
	DNSMSG_DROP,  /* not worth an answer: too short to hold an ID, or a response */
};

enum dnsmsg_parse dnsmsg_parse_query(const uint8_t *pkt, size_t len, struct dnsmsg_query *q);

/* Reads the name at off, following compression pointers, into out
 * (uncompressed wire form, DNS_NAME_MAX bytes). Sets *out_len and *next
 * (where the name ends in pkt). 0, or -EBADMSG. */
int dnsmsg_read_name(const uint8_t *pkt, size_t len, size_t off, uint8_t *out, size_t *out_len, size_t *next);

/* "web", "web." or "Web.Example" in wire form, lowercased. Labels hold
 * letters, digits, '-' and '_' only. 0, or -EINVAL. */
int dnsmsg_name_from_text(const char *text, uint8_t *out, size_t *out_len);

/* A wire name as dotted text (for logs and tests); never overflows out. */
void dnsmsg_name_to_text(const uint8_t *name, size_t len, char *out, size_t size);

/* Equal, ignoring the case of ASCII letters (RFC 4343). */
int dnsmsg_name_equal(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);

/* Joins name (wire, with root) and suffix (wire, with root) into out:
 * "web" + "berth.internal" = "web.berth.internal". 0, or -ENAMETOOLONG. */
int dnsmsg_name_join(const uint8_t *name, size_t nlen, const uint8_t *suffix, size_t slen, uint8_t *out,
		     size_t *out_len);

/* Whether name is domain or lies under it (label-wise: "xweb" is not
 * under "web"). */
int dnsmsg_name_in_domain(const uint8_t *name, size_t len, const uint8_t *domain, size_t dlen);

/* If name is d.c.b.a.in-addr.arpa, sets *addr (network byte order) to
 * a.b.c.d and returns 1; else 0. */
int dnsmsg_ptr_addr(const uint8_t *name, size_t len, uint32_t *addr);

/* The largest answer the client takes over UDP. */
size_t dnsmsg_udp_limit(const struct dnsmsg_query *q);

/* What a built reply says. */
struct dnsmsg_answer {
	int rcode;
	int authoritative;
	int truncated;	       /* set TC even if everything fits */
	const uint32_t *addrs; /* A records, network byte order */
	size_t naddrs;
	const uint8_t *ptr; /* a PTR record's target (wire), or NULL */
	size_t ptr_len;
	uint32_t ttl;
};

/* Writes the reply to q into out (at most max bytes, max >= 512). Records
 * that do not fit are left out and TC set. Returns the length. */
size_t dnsmsg_build_reply(const struct dnsmsg_query *q, const struct dnsmsg_answer *a, uint8_t *out, size_t max);

/* Whether resp is the answer to q sent with ID id: a response, standard
 * opcode, the same ID, and the same question (RFC 5452's checks beyond
 * the source address and port, which the caller's connected socket
 * enforces). */
int dnsmsg_response_matches(const uint8_t *resp, size_t len, uint16_t id, const struct dnsmsg_query *q);

static inline uint16_t dnsmsg_get16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static inline void dnsmsg_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* The RCODE of a message of at least DNS_HEADER_LEN bytes. */
static inline int dnsmsg_rcode(const uint8_t *pkt)
{
	return pkt[3] & 0xf;
}

#endif
