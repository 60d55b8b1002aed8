/* Compose's scalar formats (see formats.h): pure functions of their text,
 * no allocation but the port's address. */
#include "compose/formats.h"

#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "lib/decimal.h"
#include "oci/config.h"

int compose_valid_name(const char *s)
{
	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= '0' && s[0] <= '9'))) {
		return 0;
	}
	for (const char *c = s + 1; *c; c++) {
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '_' ||
		      *c == '.' || *c == '-')) {
			return 0;
		}
	}
	return strlen(s) <= 255;
}

/* Compose's project names: lower case, digits, '-' and '_'. */
int compose_valid_project_name(const char *s)
{
	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9'))) {
		return 0;
	}
	for (const char *c = s + 1; *c; c++) {
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_' || *c == '-')) {
			return 0;
		}
	}
	return strlen(s) <= 63;
}

/* RFC 1123 host names, within the kernel's 64-byte limit. */
int compose_valid_hostname(const char *h)
{
	size_t len = strlen(h);
	if (len == 0 || len > 63) {
		return 0;
	}
	size_t label = 0;
	for (size_t i = 0; i < len; i++) {
		char c = h[i];
		if (c == '.') {
			if (label == 0 || h[i - 1] == '-') {
				return 0;
			}
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-')) {
			return 0;
		}
		if (c == '-' && label == 0) {
			return 0;
		}
		label++;
	}
	return label > 0 && h[len - 1] != '-';
}

int compose_valid_ip(const char *s, int family)
{
	unsigned char buf[16];
	if (family == 0) {
		return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
	}
	return inet_pton(family, s, buf) == 1;
}

/* "10.0.0.0/8", "fd00::/64": an address and a prefix within its family. */
int compose_valid_cidr(const char *s)
{
	char buf[64];
	const char *slash = strchr(s, '/');
	if (slash == NULL || (size_t)(slash - s) >= sizeof(buf)) {
		return 0;
	}
	memcpy(buf, s, (size_t)(slash - s));
	buf[slash - s] = '\0';
	uint64_t prefix;
	if (decimal_parse(slash + 1, 128, &prefix) < 0) {
		return 0;
	}
	if (compose_valid_ip(buf, AF_INET)) {
		return prefix <= 32;
	}
	return compose_valid_ip(buf, AF_INET6) && prefix <= 128;
}

int compose_parse_uint(const char *s, size_t len, uint64_t max, uint64_t *out)
{
	if (len == 0 || len > 20) {
		return -EINVAL;
	}
	uint64_t v = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9') {
			return -EINVAL;
		}
		uint64_t d = (uint64_t)(s[i] - '0');
		if (v > (max - d) / 10) {
			return -ERANGE;
		}
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/* Go's duration syntax, which Compose uses: a sequence of decimal numbers
 * (fractions allowed), each with a unit: ns, us (or µs), ms, s, m, h. A
 * bare number is refused, as in Compose ("missing unit"), except "0". */
int compose_parse_duration(const char *s, int64_t *ns)
{
	static const struct {
		const char *unit;
		int64_t ns;
	} units[] = {
		{"ns", 1},	     {"us", 1000},	{"\xc2\xb5s", 1000}, /* µs, micro sign */
		{"\xce\xbcs", 1000},					     /* μs, Greek mu */
		{"ms", 1000000},     {"s", 1000000000}, {"m", INT64_C(60000000000)}, {"h", INT64_C(3600000000000)},
	};
	if (strcmp(s, "0") == 0) {
		*ns = 0;
		return 0;
	}
	if (*s == '\0') {
		return -EINVAL;
	}
	double total = 0;
	while (*s) {
		const char *num = s;
		while ((*s >= '0' && *s <= '9') || *s == '.') {
			s++;
		}
		if (s == num || (s - num == 1 && *num == '.')) {
			return -EINVAL;
		}
		char buf[40];
		if ((size_t)(s - num) >= sizeof(buf) ||
		    memchr(num, '.', (size_t)(s - num)) != memrchr(num, '.', (size_t)(s - num))) {
			return -EINVAL;
		}
		memcpy(buf, num, (size_t)(s - num));
		buf[s - num] = '\0';
		double v = strtod(buf, NULL);
		size_t best = 0;
		int64_t mult = 0;
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			size_t ul = strlen(units[i].unit);
			/* "ms" before "m": take the longest unit that matches */
			if (ul > best && strncmp(s, units[i].unit, ul) == 0) {
				best = ul;
				mult = units[i].ns;
			}
		}
		if (best == 0) {
			return -EINVAL;
		}
		s += best;
		total += v * (double)mult;
		if (total > 9.2e18) {
			return -ERANGE;
		}
	}
	*ns = (int64_t)total;
	return 0;
}

/* Docker's byte sizes: a number (fractions allowed), an optional space and
 * an optional unit b, k, m, g, t or p (any case, optionally followed by i
 * and/or b), all powers of 1024. */
int compose_parse_bytes(const char *s, int64_t *bytes)
{
	const char *p = s;
	while ((*p >= '0' && *p <= '9') || *p == '.') {
		p++;
	}
	size_t nlen = (size_t)(p - s);
	char buf[40];
	if (nlen == 0 || nlen >= sizeof(buf) || s[0] == '.' || s[nlen - 1] == '.' ||
	    memchr(s, '.', nlen) != memrchr(s, '.', nlen)) {
		return -EINVAL;
	}
	memcpy(buf, s, nlen);
	buf[nlen] = '\0';
	if (*p == ' ') {
		p++;
	}
	double mult = 1;
	static const char units[] = "bkmgtp";
	const char *u = *p ? strchr(units, (*p | 0x20)) : NULL;
	if (u != NULL) {
		for (const char *k = units; k < u; k++) {
			mult *= 1024;
		}
		p++;
		if (u != units && (*p == 'i' || *p == 'I')) {
			p++;
		}
		if (u != units && (*p == 'b' || *p == 'B')) {
			p++;
		}
	}
	if (*p != '\0') {
		return -EINVAL;
	}
	double v = strtod(buf, NULL) * mult;
	if (!(v >= 0) || v > 9.2e18) {
		return -ERANGE;
	}
	*bytes = (int64_t)v;
	return 0;
}

int compose_parse_cap(const char *s, int *cap)
{
	if (strcasecmp(s, "ALL") == 0) {
		*cap = -1;
		return 0;
	}
	char name[64] = "CAP_";
	const char *base = strncasecmp(s, "CAP_", 4) == 0 ? s + 4 : s;
	size_t len = strlen(base);
	if (len == 0 || len + 5 > sizeof(name)) {
		return -EINVAL;
	}
	for (size_t i = 0; i < len; i++) {
		char c = base[i];
		name[4 + i] = (char)(c >= 'a' && c <= 'z' ? c - 32 : c);
	}
	name[4 + len] = '\0';
	int c = oci_cap_from_name(name);
	if (c < 0 || c > 63) {
		return -EINVAL;
	}
	*cap = c;
	return 0;
}

/* "80", "8000-8010": a port or an inclusive range, ports 1 to 65535. */
int compose_parse_port_range(const char *s, size_t len, uint16_t *start, uint16_t *end)
{
	const char *dash = memchr(s, '-', len);
	uint64_t a;
	uint64_t b;
	if (dash == NULL) {
		if (compose_parse_uint(s, len, 65535, &a) < 0 || a == 0) {
			return -EINVAL;
		}
		*start = *end = (uint16_t)a;
		return 0;
	}
	if (compose_parse_uint(s, (size_t)(dash - s), 65535, &a) < 0 ||
	    compose_parse_uint(dash + 1, len - (size_t)(dash - s) - 1, 65535, &b) < 0 || a == 0 || b < a) {
		return -EINVAL;
	}
	*start = (uint16_t)a;
	*end = (uint16_t)b;
	return 0;
}

int compose_parse_protocol(const char *s, char out[8])
{
	if (strcmp(s, "tcp") != 0 && strcmp(s, "udp") != 0 && strcmp(s, "sctp") != 0) {
		return -EINVAL;
	}
	memcpy(out, s, strlen(s) + 1);
	return 0;
}

int compose_parse_port(struct arena *a, const char *spec, struct compose_port *out, const char **why)
{
	char buf[256];
	memset(out, 0, sizeof(*out));
	memcpy(out->protocol, "tcp", 4);
	if (strlen(spec) >= sizeof(buf)) {
		*why = "too long";
		return -EINVAL;
	}
	memcpy(buf, spec, strlen(spec) + 1);
	char *slash = strrchr(buf, '/');
	if (slash != NULL) {
		*slash = '\0';
		if (compose_parse_protocol(slash + 1, out->protocol) < 0) {
			*why = "the protocol must be tcp, udp or sctp";
			return -EINVAL;
		}
	}
	char *ip = NULL;
	char *host = NULL;
	char *target = buf;
	if (buf[0] == '[') {
		/* [IPv6]:HOST:CONTAINER, HOST possibly empty */
		char *close = strchr(buf, ']');
		if (close == NULL || close[1] != ':') {
			*why = "expected [IPV6]:HOST:CONTAINER";
			return -EINVAL;
		}
		*close = '\0';
		ip = buf + 1;
		host = close + 2;
		char *colon = strrchr(host, ':');
		if (colon == NULL) {
			*why = "expected [IPV6]:HOST:CONTAINER";
			return -EINVAL;
		}
		*colon = '\0';
		target = colon + 1;
	} else {
		char *last = strrchr(buf, ':');
		if (last != NULL) {
			*last = '\0';
			target = last + 1;
			char *prev = strrchr(buf, ':');
			if (prev != NULL) {
				/* Everything before the last two colons is the address;
				 * Docker reads unbracketed IPv6 the same way. */
				*prev = '\0';
				ip = buf;
				host = prev + 1;
			} else {
				host = buf;
			}
		}
	}
	if (ip != NULL) {
		if (!compose_valid_ip(ip, 0)) {
			*why = "the host address is not an IP address";
			return -EINVAL;
		}
		out->host_ip = arena_strdup(a, ip);
		if (out->host_ip == NULL) {
			*why = "out of memory";
			return -ENOMEM;
		}
	}
	if (compose_parse_port_range(target, strlen(target), &out->target_start, &out->target_end) < 0) {
		*why = "the container port must be a port (1-65535) or a range like 8000-8010";
		return -EINVAL;
	}
	if (host != NULL && host[0] != '\0') {
		if (compose_parse_port_range(host, strlen(host), &out->published_start, &out->published_end) < 0) {
			*why = "the published port must be a port (1-65535) or a range like 8000-8010";
			return -EINVAL;
		}
		/* A host range for one container port is a pool to pick from;
		 * two ranges must match port for port. */
		if (out->target_end != out->target_start &&
		    out->published_end - out->published_start != out->target_end - out->target_start) {
			*why = "the published range and the container range differ in size";
			return -EINVAL;
		}
	}
	return 0;
}

int compose_parse_id(const char *s, size_t len, uint32_t *id)
{
	if (len == 0 || len > 10) {
		return -EINVAL;
	}
	uint64_t v = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9') {
			return -EINVAL;
		}
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > COMPOSE_ID_MAX) {
		return -ERANGE;
	}
	*id = (uint32_t)v;
	return 0;
}

int compose_check_user(const char *spec, struct berr *err)
{
	if (strlen(spec) >= COMPOSE_USER_MAX) {
		return berr_setx(err, EINVAL, "user '%.40s...' is too long", spec);
	}
	const char *colon = strchr(spec, ':');
	size_t ulen = colon != NULL ? (size_t)(colon - spec) : strlen(spec);
	uint32_t id;
	if (compose_parse_id(spec, ulen, &id) == -ERANGE) {
		return berr_setx(err, EINVAL, "user %.*s is out of range (0 to %d)", (int)ulen, spec, COMPOSE_ID_MAX);
	}
	if (colon != NULL && compose_parse_id(colon + 1, strlen(colon + 1), &id) == -ERANGE) {
		return berr_setx(err, EINVAL, "group %s is out of range (0 to %d)", colon + 1, COMPOSE_ID_MAX);
	}
	return 0;
}

int compose_parse_mode(const char *s, uint32_t *out)
{
	if (strncmp(s, "0o", 2) == 0) {
		s += 2;
	}
	if (*s == '\0' || strlen(s) > 5) {
		return -EINVAL;
	}
	uint32_t v = 0;
	for (; *s; s++) {
		if (*s < '0' || *s > '7') {
			return -EINVAL;
		}
		v = v * 8 + (uint32_t)(*s - '0');
	}
	if (v > 07777) {
		return -EINVAL;
	}
	*out = v;
	return 0;
}
