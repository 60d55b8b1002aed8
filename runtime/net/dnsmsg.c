/* DNS wire format (see dnsmsg.h). Everything here reads untrusted bytes:
 * each read is preceded by a check against the packet's length, and no
 * function loops more often than the packet has bytes. */
#include "net/dnsmsg.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int dnsmsg_read_name(const uint8_t *pkt, size_t len, size_t off, uint8_t *out, size_t *out_len, size_t *next)
{
	size_t pos = off;
	/* Where the current run of labels began: a pointer must point
	 * strictly before it, so runs start at ever smaller offsets and no
	 * chain of pointers can loop. */
	size_t run_start = off;
	size_t n = 0;
	int jumped = 0;
	for (;;) {
		if (pos >= len) {
			return -EBADMSG;
		}
		uint8_t c = pkt[pos];
		if (c == 0) {
			if (n + 1 > DNS_NAME_MAX) {
				return -EBADMSG;
			}
			out[n++] = 0;
			if (!jumped) {
				*next = pos + 1;
			}
			*out_len = n;
			return 0;
		}
		if ((c & 0xc0) == 0xc0) {
			if (len - pos < 2) {
				return -EBADMSG;
			}
			size_t target = ((size_t)(c & 0x3f) << 8) | pkt[pos + 1];
			if (target >= run_start) {
				return -EBADMSG;
			}
			if (!jumped) {
				*next = pos + 2;
				jumped = 1;
			}
			pos = target;
			run_start = target;
			continue;
		}
		if ((c & 0xc0) != 0) {
			/* 0x40 and 0x80: extended label types (RFC 6891 retired
			 * them); nothing a query needs. */
			return -EBADMSG;
		}
		if (len - pos - 1 < c || n + 1 + c + 1 > DNS_NAME_MAX) {
			return -EBADMSG;
		}
		memcpy(out + n, pkt + pos, 1 + (size_t)c);
		n += 1 + (size_t)c;
		pos += 1 + (size_t)c;
	}
}

/* Skips one resource record at *off; fills type, class, ttl, and the
 * rdata's offset and length. */
static int read_rr(const uint8_t *pkt, size_t len, size_t *off, uint8_t *name, size_t *name_len, uint16_t *type,
		   uint16_t *klass, uint32_t *ttl, size_t *rdata, size_t *rdlen)
{
	size_t pos;
	if (dnsmsg_read_name(pkt, len, *off, name, name_len, &pos) < 0) {
		return -EBADMSG;
	}
	if (len - pos < 10) {
		return -EBADMSG;
	}
	*type = dnsmsg_get16(pkt + pos);
	*klass = dnsmsg_get16(pkt + pos + 2);
	*ttl = ((uint32_t)dnsmsg_get16(pkt + pos + 4) << 16) | dnsmsg_get16(pkt + pos + 6);
	*rdlen = dnsmsg_get16(pkt + pos + 8);
	pos += 10;
	if (len - pos < *rdlen) {
		return -EBADMSG;
	}
	*rdata = pos;
	*off = pos + *rdlen;
	return 0;
}

/* EDNS options are code, length, data; they must tile the rdata. */
static int check_options(const uint8_t *p, size_t len)
{
	size_t off = 0;
	while (off < len) {
		if (len - off < 4) {
			return -EBADMSG;
		}
		size_t olen = dnsmsg_get16(p + off + 2);
		if (len - off - 4 < olen) {
			return -EBADMSG;
		}
		off += 4 + olen;
	}
	return 0;
}

static enum dnsmsg_parse formerr(struct dnsmsg_query *q)
{
	q->rcode = DNS_RCODE_FORMERR;
	return DNSMSG_ERROR;
}

enum dnsmsg_parse dnsmsg_parse_query(const uint8_t *pkt, size_t len, struct dnsmsg_query *q)
{
	memset(q, 0, sizeof(*q));
	if (len < DNS_HEADER_LEN) {
		/* Not even an ID to answer to. */
		return DNSMSG_DROP;
	}
	q->id = dnsmsg_get16(pkt);
	q->flags = dnsmsg_get16(pkt + 2);
	if (q->flags & DNS_FLAG_QR) {
		/* Answering a response invites two servers to talk to each
		 * other forever. */
		return DNSMSG_DROP;
	}
	if (DNS_OPCODE(q->flags) != 0) {
		q->rcode = DNS_RCODE_NOTIMP;
		return DNSMSG_ERROR;
	}
	uint16_t qdcount = dnsmsg_get16(pkt + 4);
	uint16_t ancount = dnsmsg_get16(pkt + 6);
	uint16_t nscount = dnsmsg_get16(pkt + 8);
	uint16_t arcount = dnsmsg_get16(pkt + 10);
	/* RFC 9619: a query has exactly one question. */
	if (qdcount != 1) {
		return formerr(q);
	}
	size_t off;
	if (dnsmsg_read_name(pkt, len, DNS_HEADER_LEN, q->qname, &q->qname_len, &off) < 0 || len - off < 4) {
		q->qname_len = 0;
		return formerr(q);
	}
	q->qtype = dnsmsg_get16(pkt + off);
	q->qclass = dnsmsg_get16(pkt + off + 2);
	q->has_question = 1;
	off += 4;
	if (ancount != 0 || nscount != 0) {
		return formerr(q);
	}
	for (unsigned i = 0; i < arcount; i++) {
		uint8_t name[DNS_NAME_MAX];
		size_t name_len;
		uint16_t type;
		uint16_t klass;
		uint32_t ttl;
		size_t rdata;
		size_t rdlen;
		if (read_rr(pkt, len, &off, name, &name_len, &type, &klass, &ttl, &rdata, &rdlen) < 0) {
			return formerr(q);
		}
		if (type != DNS_TYPE_OPT) {
			continue;
		}
		/* RFC 6891 6.1.1: one OPT, owned by the root. */
		if (q->edns || name_len != 1 || check_options(pkt + rdata, rdlen) < 0) {
			return formerr(q);
		}
		q->edns = 1;
		q->edns_size = klass;
		q->edns_version = (uint8_t)(ttl >> 16);
	}
	if (off != len) {
		/* Bytes beyond the last record: not a message we understand. */
		return formerr(q);
	}
	if (q->edns && q->edns_version != 0) {
		q->rcode = DNS_RCODE_BADVERS;
		return DNSMSG_ERROR;
	}
	return DNSMSG_QUERY;
}

static int label_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

static uint8_t lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c + ('a' - 'A')) : c;
}

int dnsmsg_name_from_text(const char *text, uint8_t *out, size_t *out_len)
{
	size_t n = 0;
	const char *p = text;
	if (*p == '\0') {
		return -EINVAL;
	}
	while (*p != '\0') {
		size_t label = 0;
		while (p[label] != '\0' && p[label] != '.') {
			if (!label_char_ok(p[label])) {
				return -EINVAL;
			}
			label++;
		}
		if (label == 0 || label > DNS_LABEL_MAX || n + 1 + label + 1 > DNS_NAME_MAX) {
			return -EINVAL;
		}
		out[n++] = (uint8_t)label;
		for (size_t i = 0; i < label; i++) {
			out[n++] = lower((uint8_t)p[i]);
		}
		p += label;
		if (*p == '.') {
			p++;
		}
	}
	out[n++] = 0;
	*out_len = n;
	return 0;
}

void dnsmsg_name_to_text(const uint8_t *name, size_t len, char *out, size_t size)
{
	size_t o = 0;
	size_t i = 0;
	if (size == 0) {
		return;
	}
	while (i < len && name[i] != 0) {
		size_t l = name[i];
		if (l > len - i - 1) {
			break;
		}
		for (size_t k = 1; k <= l; k++) {
			uint8_t c = name[i + k];
			char esc[5];
			/* Anything but a plain label character is shown escaped,
			 * so that a hostile name cannot forge log lines. */
			if (label_char_ok((char)c)) {
				esc[0] = (char)c;
				esc[1] = '\0';
			} else {
				snprintf(esc, sizeof(esc), "\\%03u", c);
			}
			for (const char *e = esc; *e != '\0' && o + 1 < size; e++) {
				out[o++] = *e;
			}
		}
		if (o + 1 < size) {
			out[o++] = '.';
		}
		i += 1 + l;
	}
	if (o == 0 && size > 1) {
		out[o++] = '.';
	}
	out[o] = '\0';
}

int dnsmsg_name_equal(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	if (alen != blen) {
		return 0;
	}
	/* Length octets are below 64 and so never look like letters;
	 * comparing them case-folded too is harmless. */
	for (size_t i = 0; i < alen; i++) {
		if (lower(a[i]) != lower(b[i])) {
			return 0;
		}
	}
	return 1;
}

int dnsmsg_name_join(const uint8_t *name, size_t nlen, const uint8_t *suffix, size_t slen, uint8_t *out,
		     size_t *out_len)
{
	if (nlen < 1 || slen < 1 || nlen - 1 + slen > DNS_NAME_MAX) {
		return -ENAMETOOLONG;
	}
	memcpy(out, name, nlen - 1);
	memcpy(out + nlen - 1, suffix, slen);
	*out_len = nlen - 1 + slen;
	return 0;
}

int dnsmsg_name_in_domain(const uint8_t *name, size_t len, const uint8_t *domain, size_t dlen)
{
	size_t i = 0;
	while (i < len) {
		if (len - i == dlen && dnsmsg_name_equal(name + i, len - i, domain, dlen)) {
			return 1;
		}
		if (name[i] == 0) {
			return 0;
		}
		i += 1 + (size_t)name[i];
	}
	return 0;
}

int dnsmsg_ptr_addr(const uint8_t *name, size_t len, uint32_t *addr)
{
	static const uint8_t tail[] = "\7in-addr\4arpa";
	uint8_t octets[4];
	size_t i = 0;
	for (int k = 0; k < 4; k++) {
		if (i >= len) {
			return 0;
		}
		size_t l = name[i];
		if (l < 1 || l > 3 || l > len - i - 1) {
			return 0;
		}
		unsigned v = 0;
		for (size_t j = 1; j <= l; j++) {
			uint8_t c = name[i + j];
			if (c < '0' || c > '9') {
				return 0;
			}
			v = v * 10 + (unsigned)(c - '0');
		}
		if (v > 255) {
			return 0;
		}
		octets[3 - k] = (uint8_t)v;
		i += 1 + l;
	}
	/* The rest must be exactly in-addr.arpa. and the root. */
	if (!dnsmsg_name_equal(name + i, len - i, tail, sizeof(tail))) {
		return 0;
	}
	memcpy(addr, octets, 4);
	return 1;
}

size_t dnsmsg_udp_limit(const struct dnsmsg_query *q)
{
	if (!q->edns || q->edns_size <= DNS_UDP_MAX) {
		return DNS_UDP_MAX;
	}
	return q->edns_size < DNS_EDNS_MAX ? q->edns_size : DNS_EDNS_MAX;
}

/* The OPT record of a reply: our payload size, the extended RCODE bits. */
#define OPT_RR_LEN 11

static void put_opt(uint8_t *p, int rcode)
{
	p[0] = 0; /* the root */
	dnsmsg_put16(p + 1, DNS_TYPE_OPT);
	dnsmsg_put16(p + 3, DNS_EDNS_MAX);
	p[5] = (uint8_t)(rcode >> 4); /* extended RCODE, upper 8 bits */
	p[6] = 0;		      /* version */
	p[7] = 0;
	p[8] = 0;
	dnsmsg_put16(p + 9, 0); /* no options */
}

static void put32(uint8_t *p, uint32_t v)
{
	dnsmsg_put16(p, (uint16_t)(v >> 16));
	dnsmsg_put16(p + 2, (uint16_t)v);
}

/* An answer record for the question's name (a pointer to offset 12). */
static size_t put_rr(uint8_t *p, uint16_t type, uint32_t ttl, const void *rdata, size_t rdlen)
{
	dnsmsg_put16(p, 0xc000 | DNS_HEADER_LEN);
	dnsmsg_put16(p + 2, type);
	dnsmsg_put16(p + 4, DNS_CLASS_IN);
	put32(p + 6, ttl);
	dnsmsg_put16(p + 10, (uint16_t)rdlen);
	memcpy(p + 12, rdata, rdlen);
	return 12 + rdlen;
}

size_t dnsmsg_build_reply(const struct dnsmsg_query *q, const struct dnsmsg_answer *a, uint8_t *out, size_t max)
{
	int with_opt = q->edns;
	size_t reserve = with_opt ? OPT_RR_LEN : 0;
	size_t n = DNS_HEADER_LEN;
	uint16_t ancount = 0;
	int truncated = a->truncated;
	memset(out, 0, DNS_HEADER_LEN);
	if (q->has_question && n + q->qname_len + 4 + reserve <= max) {
		memcpy(out + n, q->qname, q->qname_len);
		n += q->qname_len;
		dnsmsg_put16(out + n, q->qtype);
		dnsmsg_put16(out + n + 2, q->qclass);
		n += 4;
		dnsmsg_put16(out + 4, 1);
		for (size_t i = 0; i < a->naddrs; i++) {
			if (n + 12 + 4 + reserve > max) {
				truncated = 1;
				break;
			}
			n += put_rr(out + n, DNS_TYPE_A, a->ttl, &a->addrs[i], 4);
			ancount++;
		}
		if (a->ptr != NULL) {
			if (n + 12 + a->ptr_len + reserve > max) {
				truncated = 1;
			} else {
				n += put_rr(out + n, DNS_TYPE_PTR, a->ttl, a->ptr, a->ptr_len);
				ancount++;
			}
		}
	}
	uint16_t flags = DNS_FLAG_QR | DNS_FLAG_RA | (q->flags & DNS_FLAG_RD) | (a->rcode & 0xf);
	if (a->authoritative) {
		flags |= DNS_FLAG_AA;
	}
	if (truncated) {
		flags |= DNS_FLAG_TC;
	}
	dnsmsg_put16(out, q->id);
	dnsmsg_put16(out + 2, flags);
	dnsmsg_put16(out + 6, ancount);
	if (with_opt && n + OPT_RR_LEN <= max) {
		put_opt(out + n, a->rcode);
		n += OPT_RR_LEN;
		dnsmsg_put16(out + 10, 1);
	}
	return n;
}

int dnsmsg_response_matches(const uint8_t *resp, size_t len, uint16_t id, const struct dnsmsg_query *q)
{
	if (len < DNS_HEADER_LEN) {
		return 0;
	}
	uint16_t flags = dnsmsg_get16(resp + 2);
	if (dnsmsg_get16(resp) != id || !(flags & DNS_FLAG_QR) || DNS_OPCODE(flags) != 0 ||
	    dnsmsg_get16(resp + 4) != 1) {
		return 0;
	}
	uint8_t name[DNS_NAME_MAX];
	size_t name_len;
	size_t off;
	if (dnsmsg_read_name(resp, len, DNS_HEADER_LEN, name, &name_len, &off) < 0 || len - off < 4) {
		return 0;
	}
	return dnsmsg_name_equal(name, name_len, q->qname, q->qname_len) && dnsmsg_get16(resp + off) == q->qtype &&
	       dnsmsg_get16(resp + off + 2) == q->qclass;
}
