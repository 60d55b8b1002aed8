/* The embedded DNS responder (see dns.h). Runs in berthd's event loop:
 * never blocks (every socket is non-blocking, every wait is an epoll
 * event or the timerfd), never exits, and keeps every resource bounded
 * (pending queries, TCP clients, their buffers), because its clients are
 * containers, which may misbehave. Packets are parsed by dnsmsg.c. */
#include "net/dns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/fsutil.h"
#include "lib/timeutil.h"
#include "net/dnsmsg.h"

#define DEFAULT_RESOLV_CONF "/etc/resolv.conf"
#define DEFAULT_TIMEOUT_MS 1500
/* Local answers change when a container is recreated; a short TTL keeps
 * clients from holding on to a dead address, and asking us is cheap. */
#define LOCAL_TTL 10
#define MAX_UPSTREAMS 8
#define MAX_PENDING 512
#define MAX_PENDING_PER_CLIENT 64
#define MAX_TCP_CONNS 64
#define TCP_IDLE_MS 10000
#define TCP_OUT_MAX (256 * 1024)
/* Events handled per dns_run, so that a flood cannot starve the rest of
 * berthd's loop (epoll is level-triggered: the rest comes next round). */
#define RUN_BUDGET 64
#define RESOLV_CHECK_MS 1000
#define RESOLV_MAX_SIZE 65536

enum ev_kind { EV_TIMER, EV_UDP, EV_TCP_LISTEN, EV_TCP_CONN, EV_UPSTREAM };

/* What an epoll event's data points to. */
struct ev {
	enum ev_kind kind;
	void *obj;
};

struct name_rec {
	uint8_t name[DNS_NAME_MAX];
	size_t len;
	uint8_t full[DNS_NAME_MAX]; /* name.domain, or the name without a domain */
	size_t full_len;
	uint32_t addr;
};

#define MAX_CLIENT_NETS 16

/* One network's address: its sockets (if listening) and its names. */
struct listener {
	struct listener *next;
	uint32_t addr;
	uint32_t mask;
	int udp_fd;
	int tcp_fd;
	struct ev udp_ev;
	struct ev tcp_ev;
	struct name_rec *recs;
	size_t nrecs;
	uint32_t *addrs; /* scratch for one answer, nrecs long */
	unsigned rotate; /* round robin over a name's addresses */
};

/* A client on several networks resolves the names of all of them, whichever
 * network's address its resolv.conf names. */
struct clientnets {
	struct clientnets *next;
	uint32_t client;
	uint32_t listens[MAX_CLIENT_NETS];
	size_t n;
};

struct upstreams {
	struct upstreams *next;
	uint32_t client; /* 0: the default */
	uint32_t servers[MAX_UPSTREAMS];
	size_t n;
};

struct tcpconn {
	struct tcpconn *next;
	struct ev ev;
	int fd;
	struct listener *l;
	struct sockaddr_in peer;
	uint8_t *in;
	size_t in_len;
	size_t in_cap;
	uint8_t *out;
	size_t out_len;
	size_t out_off;
	size_t out_cap;
	uint32_t events;
	int pending;
	int broken; /* closed at the end of the event: others may point at it */
	int64_t deadline;
};

enum up_state { UP_UDP, UP_TCP_CONNECTING, UP_TCP_SENDING, UP_TCP_RECEIVING };

/* A query forwarded upstream, waiting for its answer. */
struct pending {
	struct pending *next;
	struct ev ev;
	int fd; /* the socket to the current upstream */
	enum up_state state;
	struct listener *l;
	struct sockaddr_in client; /* a UDP client */
	struct tcpconn *conn;	   /* or a TCP client */
	struct dnsmsg_query q;
	uint8_t *pkt; /* the client's query, our ID in front */
	size_t len;
	uint16_t id; /* our ID towards the upstream */
	uint32_t servers[MAX_UPSTREAMS];
	size_t nservers;
	size_t next_server;
	uint32_t server; /* the current one */
	int64_t deadline;
	/* TCP to the upstream: the framed query going out, then the
	 * answer coming in. */
	uint8_t *io;
	size_t io_len;
	size_t io_off;
	uint8_t io_hdr[2];
};

struct dns {
	int epfd;
	int timerfd;
	struct ev timer_ev;
	uint16_t port;
	uint16_t upstream_port;
	unsigned timeout_ms;
	uint8_t domain[DNS_NAME_MAX];
	size_t domain_len; /* 0: none */
	struct listener *listeners;
	struct upstreams *upstreams;
	struct clientnets *clientnets;
	struct tcpconn *conns;
	size_t nconns;
	struct pending *pending;
	size_t npending;
	/* the host's resolv.conf */
	char resolv_path[PATH_MAX];
	uint32_t resolv_servers[MAX_UPSTREAMS];
	size_t nresolv;
	int resolv_loaded;
	int64_t resolv_checked;
	struct stat resolv_st;
	int64_t armed; /* the timerfd's deadline, -1: disarmed */
	uint8_t rnd[256];
	size_t rnd_pos;
	uint64_t rnd_state;
	struct dns_stats stats;
	uint8_t buf[DNS_TCP_MAX + 2]; /* one packet in, one answer out */
	uint8_t ans[DNS_TCP_MAX + 2];
};

/* ---- randomness --------------------------------------------------------- */

/* Query IDs must be unpredictable to an off-path attacker (RFC 5452).
 * The kernel's generator is used whenever it is ready; early in boot it
 * may not be, and a query must not wait for it, so a generator seeded
 * from the clock and the previous state fills in (weaker, but the
 * random source port still stands). */
static uint16_t random16(struct dns *d)
{
	if (d->rnd_pos + 2 > sizeof(d->rnd)) {
		ssize_t n = getrandom(d->rnd, sizeof(d->rnd), GRND_NONBLOCK);
		if (n != (ssize_t)sizeof(d->rnd)) {
			struct timespec ts;
			clock_gettime(CLOCK_MONOTONIC, &ts);
			d->rnd_state ^= (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ull + (uint64_t)ts.tv_sec;
			for (size_t i = 0; i < sizeof(d->rnd); i += 8) {
				/* splitmix64 */
				uint64_t z = (d->rnd_state += 0x9e3779b97f4a7c15ull);
				z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
				z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
				z ^= z >> 31;
				memcpy(d->rnd + i, &z, sizeof(z));
			}
		}
		d->rnd_pos = 0;
	}
	uint16_t v = dnsmsg_get16(d->rnd + d->rnd_pos);
	d->rnd_pos += 2;
	return v;
}

/* ---- epoll and the timer ------------------------------------------------ */

static int watch(struct dns *d, int fd, struct ev *e, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = e};
	if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		return -errno;
	}
	return 0;
}

static void rewatch(struct dns *d, int fd, struct ev *e, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = e};
	epoll_ctl(d->epfd, EPOLL_CTL_MOD, fd, &ev);
}

static void close_watched(struct dns *d, int *fd)
{
	if (*fd >= 0) {
		epoll_ctl(d->epfd, EPOLL_CTL_DEL, *fd, NULL);
		close(*fd);
		*fd = -1;
	}
}

/* Arms the timerfd for the earliest deadline of a pending query or an
 * idle TCP client. */
static void rearm(struct dns *d)
{
	int64_t next = -1;
	for (struct pending *p = d->pending; p != NULL; p = p->next) {
		if (next < 0 || p->deadline < next) {
			next = p->deadline;
		}
	}
	for (struct tcpconn *c = d->conns; c != NULL; c = c->next) {
		if (c->pending == 0 && (next < 0 || c->deadline < next)) {
			next = c->deadline;
		}
	}
	if (next == d->armed) {
		return;
	}
	struct itimerspec its = {0};
	if (next >= 0) {
		/* 0 would disarm: a deadline already past still fires. */
		int64_t at = next > 0 ? next : 1;
		its.it_value.tv_sec = at / 1000;
		its.it_value.tv_nsec = (at % 1000) * 1000000;
	}
	timerfd_settime(d->timerfd, TFD_TIMER_ABSTIME, &its, NULL);
	d->armed = next;
}

/* ---- listeners and names ------------------------------------------------ */

static struct listener *listener_find(struct dns *d, uint32_t addr)
{
	for (struct listener *l = d->listeners; l != NULL; l = l->next) {
		if (l->addr == addr) {
			return l;
		}
	}
	return NULL;
}

static struct listener *listener_get(struct dns *d, uint32_t addr)
{
	struct listener *l = listener_find(d, addr);
	if (l != NULL) {
		return l;
	}
	l = calloc(1, sizeof(*l));
	if (l == NULL) {
		return NULL;
	}
	l->addr = addr;
	l->mask = 0xffffffffu;
	l->udp_fd = -1;
	l->tcp_fd = -1;
	l->udp_ev = (struct ev){EV_UDP, l};
	l->tcp_ev = (struct ev){EV_TCP_LISTEN, l};
	l->next = d->listeners;
	d->listeners = l;
	return l;
}

static int in_subnet(const struct listener *l, uint32_t client)
{
	return (client & l->mask) == (l->addr & l->mask);
}

static void fmt_addr(uint32_t addr, uint16_t port, char *out, size_t size)
{
	char a[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &addr, a, sizeof(a));
	snprintf(out, size, "%s:%u", a, port);
}

static int open_listen_socket(struct dns *d, struct listener *l, int type, struct berr *err)
{
	char where[40];
	fmt_addr(l->addr, d->port, where, sizeof(where));
	const char *proto = type == SOCK_DGRAM ? "udp" : "tcp";
	auto_close int fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		return berr_set(err, errno, "DNS socket for %s/%s", where, proto);
	}
	int one = 1;
	/* The bridge may get its address after this (IP_FREEBIND); a
	 * restarted berthd finds its old TCP port in TIME_WAIT. */
	setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one));
	if (type == SOCK_STREAM) {
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	}
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(d->port), .sin_addr.s_addr = l->addr};
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		return berr_set(err, errno, "listen for DNS on %s/%s", where, proto);
	}
	if (type == SOCK_STREAM && listen(fd, 64) < 0) {
		return berr_set(err, errno, "listen for DNS on %s/%s", where, proto);
	}
	int ret = watch(d, fd, type == SOCK_DGRAM ? &l->udp_ev : &l->tcp_ev, EPOLLIN);
	if (ret < 0) {
		return berr_set(err, -ret, "epoll for DNS on %s/%s", where, proto);
	}
	return take_fd(&fd);
}

int dns_listen(struct dns *d, uint32_t addr, int prefix, struct berr *err)
{
	if (prefix < 0 || prefix > 32 || addr == 0) {
		return berr_setx(err, EINVAL, "DNS listen address: bad address or prefix length %d", prefix);
	}
	int existed = listener_find(d, addr) != NULL;
	struct listener *l = listener_get(d, addr);
	if (l == NULL) {
		return berr_set(err, ENOMEM, "DNS listener");
	}
	l->mask = prefix == 0 ? 0 : htonl(0xffffffffu << (32 - prefix));
	if (l->udp_fd >= 0) {
		return 0;
	}
	int fd = open_listen_socket(d, l, SOCK_DGRAM, err);
	if (fd >= 0) {
		l->udp_fd = fd;
		fd = open_listen_socket(d, l, SOCK_STREAM, err);
		if (fd >= 0) {
			l->tcp_fd = fd;
			return 0;
		}
		close_watched(d, &l->udp_fd);
	}
	if (!existed) {
		dns_unlisten(d, addr);
	}
	return fd;
}

static void pending_free(struct dns *d, struct pending *p);
static void conn_close(struct dns *d, struct tcpconn *c);

void dns_unlisten(struct dns *d, uint32_t addr)
{
	struct listener **pp = &d->listeners;
	while (*pp != NULL && (*pp)->addr != addr) {
		pp = &(*pp)->next;
	}
	struct listener *l = *pp;
	if (l == NULL) {
		return;
	}
	for (struct tcpconn *c = d->conns, *next; c != NULL; c = next) {
		next = c->next;
		if (c->l == l) {
			conn_close(d, c);
		}
	}
	for (struct pending *p = d->pending, *next; p != NULL; p = next) {
		next = p->next;
		if (p->l == l) {
			pending_free(d, p);
		}
	}
	close_watched(d, &l->udp_fd);
	close_watched(d, &l->tcp_fd);
	*pp = l->next;
	free(l->recs);
	free(l->addrs);
	free(l);
	rearm(d);
}

int dns_set_names(struct dns *d, uint32_t listen_addr, const struct dns_record *recs, size_t n, struct berr *err)
{
	auto_free struct name_rec *nr = NULL;
	auto_free uint32_t *addrs = NULL;
	if (n > 0) {
		nr = calloc(n, sizeof(*nr));
		addrs = calloc(n, sizeof(*addrs));
		if (nr == NULL || addrs == NULL) {
			return berr_set(err, ENOMEM, "DNS names");
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (recs[i].name == NULL) {
			return berr_setx(err, EINVAL, "DNS record %zu has no name", i);
		}
		if (dnsmsg_name_from_text(recs[i].name, nr[i].name, &nr[i].len) < 0) {
			return berr_setx(err, EINVAL, "DNS name \"%s\": not a valid host name", recs[i].name);
		}
		if (d->domain_len > 0) {
			if (dnsmsg_name_join(nr[i].name, nr[i].len, d->domain, d->domain_len, nr[i].full,
					     &nr[i].full_len) < 0) {
				return berr_setx(err, EINVAL, "DNS name \"%s\": too long with the domain",
						 recs[i].name);
			}
		} else {
			memcpy(nr[i].full, nr[i].name, nr[i].len);
			nr[i].full_len = nr[i].len;
		}
		nr[i].addr = recs[i].addr;
	}
	struct listener *l = listener_get(d, listen_addr);
	if (l == NULL) {
		return berr_set(err, ENOMEM, "DNS names");
	}
	free(l->recs);
	free(l->addrs);
	l->recs = take_ptr(&nr);
	l->addrs = take_ptr(&addrs);
	l->nrecs = n;
	return 0;
}

/* ---- upstream servers ------------------------------------------------- */

int dns_set_client_networks(struct dns *d, uint32_t client_addr, const uint32_t *listens, size_t n, struct berr *err)
{
	if (n > MAX_CLIENT_NETS) {
		return berr_setx(err, E2BIG, "DNS: a container on more than %d networks", MAX_CLIENT_NETS);
	}
	struct clientnets **pp = &d->clientnets;
	while (*pp != NULL && (*pp)->client != client_addr) {
		pp = &(*pp)->next;
	}
	if (n == 0) {
		if (*pp != NULL) {
			struct clientnets *c = *pp;
			*pp = c->next;
			free(c);
		}
		return 0;
	}
	struct clientnets *c = *pp;
	if (c == NULL) {
		c = calloc(1, sizeof(*c));
		if (c == NULL) {
			return berr_set(err, ENOMEM, "DNS client networks");
		}
		c->client = client_addr;
		c->next = d->clientnets;
		d->clientnets = c;
	}
	memcpy(c->listens, listens, n * sizeof(*listens));
	c->n = n;
	return 0;
}

int dns_set_upstreams(struct dns *d, uint32_t client_addr, const uint32_t *servers, size_t n, struct berr *err)
{
	struct upstreams **pp = &d->upstreams;
	while (*pp != NULL && (*pp)->client != client_addr) {
		pp = &(*pp)->next;
	}
	if (n == 0) {
		if (*pp != NULL) {
			struct upstreams *u = *pp;
			*pp = u->next;
			free(u);
		}
		return 0;
	}
	if (n > MAX_UPSTREAMS) {
		return berr_setx(err, EINVAL, "%zu DNS servers: at most %d are used", n, MAX_UPSTREAMS);
	}
	struct upstreams *u = *pp;
	if (u == NULL) {
		u = calloc(1, sizeof(*u));
		if (u == NULL) {
			return berr_set(err, ENOMEM, "DNS servers");
		}
		u->client = client_addr;
		u->next = d->upstreams;
		d->upstreams = u;
	}
	memcpy(u->servers, servers, n * sizeof(*servers));
	u->n = n;
	return 0;
}

static int is_listen_addr(struct dns *d, uint32_t addr)
{
	for (struct listener *l = d->listeners; l != NULL; l = l->next) {
		if (l->addr == addr && l->udp_fd >= 0) {
			return 1;
		}
	}
	return 0;
}

/* Reads the nameserver lines of resolv.conf. IPv6 servers are skipped
 * (the forwarder speaks IPv4), and so are our own addresses: forwarding
 * to ourselves would loop. */
static void resolv_parse(struct dns *d, char *text)
{
	d->nresolv = 0;
	for (char *line = text, *end; line != NULL && *line != '\0'; line = end) {
		end = strchr(line, '\n');
		if (end != NULL) {
			*end++ = '\0';
		}
		char *p = line;
		while (*p == ' ' || *p == '\t') {
			p++;
		}
		if (strncmp(p, "nameserver", 10) != 0 || (p[10] != ' ' && p[10] != '\t')) {
			continue;
		}
		p += 10;
		while (*p == ' ' || *p == '\t') {
			p++;
		}
		size_t n = strcspn(p, " \t#;\r");
		p[n] = '\0';
		struct in_addr a;
		if (inet_pton(AF_INET, p, &a) != 1 || a.s_addr == 0 || is_listen_addr(d, a.s_addr)) {
			continue;
		}
		if (d->nresolv < MAX_UPSTREAMS) {
			d->resolv_servers[d->nresolv++] = a.s_addr;
		}
	}
}

static void resolv_refresh(struct dns *d, int64_t now)
{
	if (d->resolv_loaded && now - d->resolv_checked < RESOLV_CHECK_MS) {
		return;
	}
	d->resolv_checked = now;
	struct stat st;
	if (stat(d->resolv_path, &st) < 0) {
		/* No file: no upstream (resolvers default to localhost, which
		 * on a Berth host has no server). */
		d->nresolv = 0;
		d->resolv_loaded = 1;
		memset(&d->resolv_st, 0, sizeof(d->resolv_st));
		return;
	}
	if (d->resolv_loaded && st.st_dev == d->resolv_st.st_dev && st.st_ino == d->resolv_st.st_ino &&
	    st.st_size == d->resolv_st.st_size && st.st_mtim.tv_sec == d->resolv_st.st_mtim.tv_sec &&
	    st.st_mtim.tv_nsec == d->resolv_st.st_mtim.tv_nsec) {
		return;
	}
	/* A small file on tmpfs: reading it does not stall the loop. */
	auto_free char *text = malloc(RESOLV_MAX_SIZE);
	if (text == NULL) {
		return;
	}
	if (read_file(d->resolv_path, text, RESOLV_MAX_SIZE, NULL) < 0) {
		return;
	}
	resolv_parse(d, text);
	d->resolv_st = st;
	d->resolv_loaded = 1;
}

/* The servers for a client: its own, else the default, else the host's. */
static size_t upstreams_for(struct dns *d, uint32_t client, uint32_t *out)
{
	const struct upstreams *def = NULL;
	for (const struct upstreams *u = d->upstreams; u != NULL; u = u->next) {
		if (u->client == client && client != 0) {
			memcpy(out, u->servers, u->n * sizeof(*out));
			return u->n;
		}
		if (u->client == 0) {
			def = u;
		}
	}
	if (def != NULL) {
		memcpy(out, def->servers, def->n * sizeof(*out));
		return def->n;
	}
	resolv_refresh(d, (int64_t)monotonic_ms());
	memcpy(out, d->resolv_servers, d->nresolv * sizeof(*out));
	return d->nresolv;
}

/* ---- local answers ------------------------------------------------------ */

/* Parses pkt and answers it from l's names (l may be NULL: no names).
 * tcp: the answer may use all of a TCP message; else it stays within the
 * client's UDP limit. */
/* The listeners whose names a client sees: its own network's, then those
 * of the other networks it is on. */
static size_t name_sources(struct dns *d, struct listener *l, uint32_t client, struct listener **out)
{
	size_t n = 0;
	if (l != NULL) {
		out[n++] = l;
	}
	for (const struct clientnets *c = d->clientnets; c != NULL && client != 0; c = c->next) {
		if (c->client != client) {
			continue;
		}
		for (size_t i = 0; i < c->n && n < MAX_CLIENT_NETS + 1; i++) {
			struct listener *o = listener_find(d, c->listens[i]);
			if (o != NULL && o != l) {
				out[n++] = o;
			}
		}
		break;
	}
	return n;
}

static enum dns_verdict answer_query(struct dns *d, struct listener *l, uint32_t client, const uint8_t *pkt, size_t len,
				     int tcp, struct dnsmsg_query *q, uint8_t *out, size_t *out_len)
{
	struct dnsmsg_answer a = {.rcode = DNS_RCODE_NOERROR, .ttl = LOCAL_TTL};
	enum dnsmsg_parse parsed = dnsmsg_parse_query(pkt, len, q);
	size_t max = tcp ? DNS_TCP_MAX : dnsmsg_udp_limit(q);
	switch (parsed) {
	case DNSMSG_DROP:
		d->stats.dropped++;
		return DNS_IGNORE;
	case DNSMSG_ERROR:
		d->stats.errors++;
		a.rcode = q->rcode;
		*out_len = dnsmsg_build_reply(q, &a, out, max);
		return DNS_ANSWER;
	case DNSMSG_QUERY:
		break;
	}
	if (q->qclass != DNS_CLASS_IN) {
		return DNS_FORWARD;
	}
	struct listener *src[MAX_CLIENT_NETS + 1];
	size_t nsrc = name_sources(d, l, client, src);
	uint32_t found[64];
	size_t naddrs = 0;
	int known = 0;
	for (size_t s_i = 0; s_i < nsrc; s_i++) {
		for (size_t i = 0; i < src[s_i]->nrecs; i++) {
			const struct name_rec *r = &src[s_i]->recs[i];
			if (dnsmsg_name_equal(q->qname, q->qname_len, r->name, r->len) ||
			    dnsmsg_name_equal(q->qname, q->qname_len, r->full, r->full_len)) {
				known = 1;
				if (naddrs < 64) {
					found[naddrs++] = r->addr;
				}
			}
		}
	}
	if (known) {
		a.authoritative = 1;
		if (q->qtype == DNS_TYPE_A || q->qtype == DNS_TYPE_ANY) {
			/* Rotate, so that clients that take the first address
			 * spread over a service's replicas. */
			uint32_t ordered[64];
			size_t start = naddrs > 1 && l != NULL ? l->rotate++ % naddrs : 0;
			size_t n = naddrs;
			for (size_t i = 0; i < n; i++) {
				ordered[i] = found[(start + i) % naddrs];
			}
			a.addrs = ordered;
			a.naddrs = n;
			*out_len = dnsmsg_build_reply(q, &a, out, max);
		} else {
			/* A known name without that type (AAAA): NOERROR and no
			 * records, so that the client does not give up on the
			 * name (NXDOMAIN would say it does not exist at all). */
			*out_len = dnsmsg_build_reply(q, &a, out, max);
		}
		d->stats.local++;
		return DNS_ANSWER;
	}
	uint32_t addr;
	if (q->qtype == DNS_TYPE_PTR && dnsmsg_ptr_addr(q->qname, q->qname_len, &addr)) {
		for (size_t s_i = 0; s_i < nsrc; s_i++) {
			for (size_t i = 0; i < src[s_i]->nrecs; i++) {
				const struct name_rec *r = &src[s_i]->recs[i];
				if (r->addr == addr) {
					a.authoritative = 1;
					a.ptr = r->full;
					a.ptr_len = r->full_len;
					*out_len = dnsmsg_build_reply(q, &a, out, max);
					d->stats.local++;
					return DNS_ANSWER;
				}
			}
		}
	}
	if (d->domain_len > 0 && dnsmsg_name_in_domain(q->qname, q->qname_len, d->domain, d->domain_len)) {
		/* Our own domain never goes upstream: nobody else knows it,
		 * and the names of containers should not leak out. */
		a.authoritative = 1;
		a.rcode = DNS_RCODE_NXDOMAIN;
		*out_len = dnsmsg_build_reply(q, &a, out, max);
		d->stats.local++;
		return DNS_ANSWER;
	}
	return DNS_FORWARD;
}

enum dns_verdict dns_answer(struct dns *d, uint32_t listen_addr, const uint8_t *pkt, size_t len, int tcp, uint8_t *out,
			    size_t *out_len)
{
	struct dnsmsg_query q;
	return answer_query(d, listener_find(d, listen_addr), 0, pkt, len, tcp, &q, out, out_len);
}

/* ---- sending to clients ------------------------------------------------- */

static void udp_reply(struct dns *d, struct listener *l, const struct sockaddr_in *to, const uint8_t *msg, size_t len)
{
	if (l->udp_fd < 0 ||
	    sendto(l->udp_fd, msg, len, MSG_DONTWAIT, (const struct sockaddr *)to, sizeof(*to)) != (ssize_t)len) {
		d->stats.dropped++;
	}
}

static void conn_flush(struct tcpconn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			if (errno != EAGAIN) {
				c->broken = 1;
			}
			break;
		}
		c->out_off += (size_t)n;
	}
	if (c->out_off == c->out_len) {
		c->out_off = 0;
		c->out_len = 0;
	}
}

static void conn_update_events(struct dns *d, struct tcpconn *c)
{
	uint32_t want = EPOLLIN | (c->out_len > c->out_off ? EPOLLOUT : 0);
	if (want != c->events && !c->broken) {
		rewatch(d, c->fd, &c->ev, want);
		c->events = want;
	}
}

/* Queues one message with its 2-byte length; a client that lets more
 * than TCP_OUT_MAX pile up is dropped rather than buffered forever. */
static void conn_send(struct dns *d, struct tcpconn *c, const uint8_t *msg, size_t len)
{
	if (c->broken) {
		return;
	}
	if (c->out_len + 2 + len > TCP_OUT_MAX) {
		c->broken = 1;
		return;
	}
	if (c->out_len + 2 + len > c->out_cap) {
		size_t cap = c->out_cap != 0 ? c->out_cap : 1024;
		while (cap < c->out_len + 2 + len) {
			cap *= 2;
		}
		uint8_t *p = realloc(c->out, cap);
		if (p == NULL) {
			c->broken = 1;
			return;
		}
		c->out = p;
		c->out_cap = cap;
	}
	dnsmsg_put16(c->out + c->out_len, (uint16_t)len);
	memcpy(c->out + c->out_len + 2, msg, len);
	c->out_len += 2 + len;
	conn_flush(c);
	conn_update_events(d, c);
}

/* Answers a query that could not be forwarded, or whose upstreams all
 * failed, with rcode. */
static void reply_error(struct dns *d, struct listener *l, const struct sockaddr_in *client, struct tcpconn *conn,
			const struct dnsmsg_query *q, int rcode)
{
	struct dnsmsg_answer a = {.rcode = rcode};
	size_t n = dnsmsg_build_reply(q, &a, d->ans, conn != NULL ? DNS_TCP_MAX : dnsmsg_udp_limit(q));
	if (conn != NULL) {
		conn_send(d, conn, d->ans, n);
	} else {
		udp_reply(d, l, client, d->ans, n);
	}
}

/* ---- forwarding --------------------------------------------------------- */

static void pending_close_socket(struct dns *d, struct pending *p)
{
	close_watched(d, &p->fd);
	free(p->io);
	p->io = NULL;
}

static void pending_free(struct dns *d, struct pending *p)
{
	struct pending **pp = &d->pending;
	while (*pp != NULL && *pp != p) {
		pp = &(*pp)->next;
	}
	if (*pp == p) {
		*pp = p->next;
	}
	pending_close_socket(d, p);
	if (p->conn != NULL) {
		p->conn->pending--;
	}
	d->npending--;
	free(p->pkt);
	free(p);
}

/* Opens a socket to the next upstream and sends the query; 0, or -1
 * when no upstream is left. */
static int pending_try_next(struct dns *d, struct pending *p)
{
	pending_close_socket(d, p);
	while (p->next_server < p->nservers) {
		p->server = p->servers[p->next_server++];
		/* A new ID per attempt: a late answer from the previous
		 * upstream must not count for this one. */
		p->id = random16(d);
		dnsmsg_put16(p->pkt, p->id);
		int tcp = p->conn != NULL;
		auto_close int fd = socket(AF_INET, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			continue;
		}
		struct sockaddr_in sa = {
			.sin_family = AF_INET, .sin_port = htons(d->upstream_port), .sin_addr.s_addr = p->server};
		/* A connected socket only hears from that server, on a port
		 * the kernel picked at random. */
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && !(tcp && errno == EINPROGRESS)) {
			continue;
		}
		uint32_t events = EPOLLIN;
		if (tcp) {
			p->io = malloc(p->len + 2);
			if (p->io == NULL) {
				continue;
			}
			dnsmsg_put16(p->io, (uint16_t)p->len);
			memcpy(p->io + 2, p->pkt, p->len);
			p->io_len = p->len + 2;
			p->io_off = 0;
			p->state = UP_TCP_CONNECTING;
			events = EPOLLOUT;
		} else {
			if (send(fd, p->pkt, p->len, MSG_DONTWAIT) != (ssize_t)p->len) {
				continue;
			}
			p->state = UP_UDP;
		}
		if (watch(d, fd, &p->ev, events) < 0) {
			free(p->io);
			p->io = NULL;
			continue;
		}
		p->fd = take_fd(&fd);
		p->deadline = (int64_t)monotonic_ms() + d->timeout_ms;
		return 0;
	}
	return -1;
}

/* Gives up on the current upstream; the client gets SERVFAIL when it was
 * the last one. */
static void pending_fail(struct dns *d, struct pending *p)
{
	if (pending_try_next(d, p) == 0) {
		return;
	}
	d->stats.servfail++;
	reply_error(d, p->l, &p->client, p->conn, &p->q, DNS_RCODE_SERVFAIL);
	pending_free(d, p);
}

static void forward(struct dns *d, struct listener *l, const struct dnsmsg_query *q, const uint8_t *pkt, size_t len,
		    const struct sockaddr_in *client, struct tcpconn *conn)
{
	size_t per_client = 0;
	for (struct pending *p = d->pending; p != NULL; p = p->next) {
		if (conn == NULL && p->conn == NULL && p->l == l &&
		    p->client.sin_addr.s_addr == client->sin_addr.s_addr) {
			if (p->client.sin_port == client->sin_port && p->q.id == q->id) {
				/* The client's retransmission: the first try is
				 * still on its way. */
				return;
			}
			per_client++;
		} else if (conn != NULL && p->conn == conn) {
			per_client++;
		}
	}
	if (d->npending >= MAX_PENDING || per_client >= MAX_PENDING_PER_CLIENT) {
		d->stats.dropped++;
		if (conn != NULL) {
			reply_error(d, l, client, conn, q, DNS_RCODE_SERVFAIL);
		}
		return;
	}
	struct pending *p = calloc(1, sizeof(*p));
	if (p == NULL || (p->pkt = malloc(len)) == NULL) {
		free(p);
		d->stats.dropped++;
		return;
	}
	p->ev = (struct ev){EV_UPSTREAM, p};
	p->fd = -1;
	p->l = l;
	p->client = *client;
	p->conn = conn;
	p->q = *q;
	memcpy(p->pkt, pkt, len);
	p->len = len;
	p->nservers = upstreams_for(d, client->sin_addr.s_addr, p->servers);
	p->next = d->pending;
	d->pending = p;
	d->npending++;
	if (conn != NULL) {
		conn->pending++;
	}
	d->stats.forwarded++;
	pending_fail(d, p);
}

/* Passes the upstream's answer on, with the client's ID. */
static void relay(struct dns *d, struct pending *p, uint8_t *resp, size_t len)
{
	dnsmsg_put16(resp, p->q.id);
	d->stats.relayed++;
	if (p->conn != NULL) {
		conn_send(d, p->conn, resp, len);
	} else if (len <= dnsmsg_udp_limit(&p->q)) {
		udp_reply(d, p->l, &p->client, resp, len);
	} else {
		/* More than the client takes over UDP (an upstream that
		 * ignored its size): say so, and it will ask over TCP. */
		struct dnsmsg_answer a = {.rcode = dnsmsg_rcode(resp), .truncated = 1};
		size_t n = dnsmsg_build_reply(&p->q, &a, d->ans, DNS_UDP_MAX);
		udp_reply(d, p->l, &p->client, d->ans, n);
	}
	pending_free(d, p);
}

/* An upstream answer; returns 1 when p is finished (freed). */
static int upstream_answer(struct dns *d, struct pending *p, uint8_t *resp, size_t len)
{
	if (!dnsmsg_response_matches(resp, len, p->id, &p->q)) {
		/* Not the answer (a spoof, or a straggler): keep waiting. */
		d->stats.dropped++;
		return 0;
	}
	int rcode = dnsmsg_rcode(resp);
	if ((rcode == DNS_RCODE_SERVFAIL || rcode == DNS_RCODE_REFUSED || rcode == DNS_RCODE_NOTIMP) &&
	    p->next_server < p->nservers) {
		/* This server cannot help; another may (as glibc does). */
		pending_fail(d, p);
		return 1;
	}
	relay(d, p, resp, len);
	return 1;
}

static void upstream_udp(struct dns *d, struct pending *p)
{
	for (int i = 0; i < 8; i++) {
		ssize_t n = recv(p->fd, d->buf, DNS_TCP_MAX, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			if (errno != EAGAIN) {
				/* ICMP port unreachable and the like: no server
				 * there, try the next one now. */
				pending_fail(d, p);
			}
			return;
		}
		if (upstream_answer(d, p, d->buf, (size_t)n)) {
			return;
		}
	}
}

static void upstream_tcp(struct dns *d, struct pending *p, uint32_t events)
{
	if (p->state == UP_TCP_CONNECTING) {
		int soerr = 0;
		socklen_t sl = sizeof(soerr);
		if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr != 0) {
			pending_fail(d, p);
			return;
		}
		p->state = UP_TCP_SENDING;
	}
	if (p->state == UP_TCP_SENDING) {
		while (p->io_off < p->io_len) {
			ssize_t n = send(p->fd, p->io + p->io_off, p->io_len - p->io_off, MSG_DONTWAIT | MSG_NOSIGNAL);
			if (n < 0) {
				if (errno == EINTR) {
					continue;
				}
				if (errno != EAGAIN) {
					pending_fail(d, p);
				}
				return;
			}
			p->io_off += (size_t)n;
		}
		free(p->io);
		p->io = NULL;
		p->io_len = 0;
		p->io_off = 0;
		p->state = UP_TCP_RECEIVING;
		rewatch(d, p->fd, &p->ev, EPOLLIN);
		return;
	}
	if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
		return;
	}
	/* Receiving: the 2-byte length into io_hdr, then the message. */
	for (;;) {
		uint8_t *dst;
		size_t want;
		if (p->io == NULL) {
			dst = p->io_hdr + p->io_off;
			want = 2 - p->io_off;
		} else {
			dst = p->io + p->io_off;
			want = p->io_len - p->io_off;
		}
		ssize_t n = recv(p->fd, dst, want, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n < 0 && errno == EAGAIN) {
			return;
		}
		if (n <= 0) {
			/* Closed or failed before a whole answer. */
			pending_fail(d, p);
			return;
		}
		p->io_off += (size_t)n;
		if (p->io == NULL && p->io_off == 2) {
			size_t len = dnsmsg_get16(p->io_hdr);
			if (len < DNS_HEADER_LEN || (p->io = malloc(len)) == NULL) {
				pending_fail(d, p);
				return;
			}
			p->io_len = len;
			p->io_off = 0;
		} else if (p->io != NULL && p->io_off == p->io_len) {
			if (!upstream_answer(d, p, p->io, p->io_len)) {
				/* Over TCP nothing else will come: give up on it. */
				pending_fail(d, p);
			}
			return;
		}
	}
}

/* ---- queries from clients ------------------------------------------------ */

static void handle_query(struct dns *d, struct listener *l, const uint8_t *pkt, size_t len,
			 const struct sockaddr_in *client, struct tcpconn *conn)
{
	d->stats.queries++;
	struct dnsmsg_query q;
	if (!in_subnet(l, client->sin_addr.s_addr)) {
		/* Not one of this network's containers: no recursion, and no
		 * names of this network. */
		if (dnsmsg_parse_query(pkt, len, &q) == DNSMSG_DROP) {
			d->stats.dropped++;
			return;
		}
		d->stats.refused++;
		reply_error(d, l, client, conn, &q, DNS_RCODE_REFUSED);
		return;
	}
	size_t n = 0;
	switch (answer_query(d, l, client->sin_addr.s_addr, pkt, len, conn != NULL, &q, d->ans, &n)) {
	case DNS_ANSWER:
		if (conn != NULL) {
			conn_send(d, conn, d->ans, n);
		} else {
			udp_reply(d, l, client, d->ans, n);
		}
		break;
	case DNS_FORWARD:
		forward(d, l, &q, pkt, len, client, conn);
		break;
	case DNS_IGNORE:
		break;
	}
}

static void handle_udp(struct dns *d, struct listener *l)
{
	for (int i = 0; i < 32; i++) {
		struct sockaddr_in client;
		struct iovec iov = {.iov_base = d->buf, .iov_len = DNS_TCP_MAX};
		struct msghdr mh = {
			.msg_name = &client, .msg_namelen = sizeof(client), .msg_iov = &iov, .msg_iovlen = 1};
		ssize_t n = recvmsg(l->udp_fd, &mh, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			return;
		}
		if ((mh.msg_flags & MSG_TRUNC) || mh.msg_namelen < sizeof(client) || client.sin_family != AF_INET) {
			d->stats.dropped++;
			continue;
		}
		handle_query(d, l, d->buf, (size_t)n, &client, NULL);
	}
}

static void conn_close(struct dns *d, struct tcpconn *c)
{
	for (struct pending *p = d->pending, *next; p != NULL; p = next) {
		next = p->next;
		if (p->conn == c) {
			pending_free(d, p);
		}
	}
	struct tcpconn **pp = &d->conns;
	while (*pp != NULL && *pp != c) {
		pp = &(*pp)->next;
	}
	if (*pp == c) {
		*pp = c->next;
	}
	close_watched(d, &c->fd);
	d->nconns--;
	free(c->in);
	free(c->out);
	free(c);
}

static void handle_accept(struct dns *d, struct listener *l)
{
	for (int i = 0; i < 16; i++) {
		struct sockaddr_in peer;
		socklen_t sl = sizeof(peer);
		auto_close int fd = accept4(l->tcp_fd, (struct sockaddr *)&peer, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED) {
				continue;
			}
			return;
		}
		if (sl < sizeof(peer) || !in_subnet(l, peer.sin_addr.s_addr) || d->nconns >= MAX_TCP_CONNS) {
			d->stats.refused++;
			continue;
		}
		struct tcpconn *c = calloc(1, sizeof(*c));
		if (c == NULL) {
			continue;
		}
		c->ev = (struct ev){EV_TCP_CONN, c};
		c->l = l;
		c->peer = peer;
		c->events = EPOLLIN;
		c->deadline = (int64_t)monotonic_ms() + TCP_IDLE_MS;
		if (watch(d, fd, &c->ev, EPOLLIN) < 0) {
			free(c);
			continue;
		}
		c->fd = take_fd(&fd);
		c->next = d->conns;
		d->conns = c;
		d->nconns++;
	}
}

static void handle_conn(struct dns *d, struct tcpconn *c, uint32_t events)
{
	if (events & EPOLLOUT) {
		conn_flush(c);
		conn_update_events(d, c);
	}
	if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)) || c->broken) {
		return;
	}
	/* Room for the length, then for the whole message it announces. */
	size_t need = c->in_len < 2 ? 2 + DNS_UDP_MAX : 2 + (size_t)dnsmsg_get16(c->in);
	if (c->in_cap < need) {
		uint8_t *p = realloc(c->in, need);
		if (p == NULL) {
			c->broken = 1;
			return;
		}
		c->in = p;
		c->in_cap = need;
	}
	ssize_t n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, MSG_DONTWAIT);
	if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
		return;
	}
	if (n <= 0) {
		c->broken = 1;
		return;
	}
	c->in_len += (size_t)n;
	c->deadline = (int64_t)monotonic_ms() + TCP_IDLE_MS;
	/* Every whole message in the buffer (clients may pipeline). */
	while (c->in_len >= 2 && !c->broken) {
		size_t len = dnsmsg_get16(c->in);
		if (len == 0) {
			c->broken = 1;
			return;
		}
		if (c->in_len < 2 + len) {
			break;
		}
		handle_query(d, c->l, c->in + 2, len, &c->peer, c);
		memmove(c->in, c->in + 2 + len, c->in_len - 2 - len);
		c->in_len -= 2 + len;
	}
}

static void handle_timer(struct dns *d)
{
	uint64_t ticks;
	if (read(d->timerfd, &ticks, sizeof(ticks)) < 0) {
		/* EAGAIN: a rearm raced the expiry; deadlines decide below. */
	}
	d->armed = -1;
	int64_t now = (int64_t)monotonic_ms();
	/* pending_fail may free p (and only p): take next first. */
	for (struct pending *p = d->pending, *next; p != NULL; p = next) {
		next = p->next;
		if (p->deadline <= now) {
			d->stats.timeouts++;
			pending_fail(d, p);
		}
	}
	for (struct tcpconn *c = d->conns; c != NULL; c = c->next) {
		if (c->pending == 0 && c->deadline <= now) {
			c->broken = 1;
		}
	}
}

/* Closes the TCP clients marked broken during the event just handled. */
static void sweep(struct dns *d)
{
	for (struct tcpconn *c = d->conns, *next; c != NULL; c = next) {
		next = c->next;
		if (c->broken) {
			conn_close(d, c);
		}
	}
}

void dns_run(struct dns *d)
{
	for (int i = 0; i < RUN_BUDGET; i++) {
		/* One event at a time: handling one may free the owner of
		 * another. */
		struct epoll_event ev;
		int n = epoll_wait(d->epfd, &ev, 1, 0);
		if (n <= 0) {
			break;
		}
		struct ev *e = ev.data.ptr;
		switch (e->kind) {
		case EV_TIMER:
			handle_timer(d);
			break;
		case EV_UDP:
			handle_udp(d, e->obj);
			break;
		case EV_TCP_LISTEN:
			handle_accept(d, e->obj);
			break;
		case EV_TCP_CONN:
			handle_conn(d, e->obj, ev.events);
			break;
		case EV_UPSTREAM: {
			struct pending *p = e->obj;
			if (p->state == UP_UDP) {
				upstream_udp(d, p);
			} else {
				upstream_tcp(d, p, ev.events);
			}
			break;
		}
		}
		sweep(d);
	}
	rearm(d);
}

/* ---- life cycle ------------------------------------------------------- */

int dns_open(struct dns **out, const struct dns_options *opt, struct berr *err)
{
	static const struct dns_options defaults = {0};
	if (opt == NULL) {
		opt = &defaults;
	}
	struct dns *d = calloc(1, sizeof(*d));
	if (d == NULL) {
		return berr_set(err, ENOMEM, "DNS responder");
	}
	d->epfd = -1;
	d->timerfd = -1;
	d->armed = -1;
	d->rnd_pos = sizeof(d->rnd);
	d->rnd_state = (uint64_t)(uintptr_t)d ^ (uint64_t)getpid() << 32;
	d->port = opt->port != 0 ? opt->port : 53;
	d->upstream_port = opt->upstream_port != 0 ? opt->upstream_port : 53;
	d->timeout_ms = opt->timeout_ms != 0 ? opt->timeout_ms : DEFAULT_TIMEOUT_MS;
	d->timer_ev = (struct ev){EV_TIMER, NULL};
	const char *resolv = opt->resolv_conf != NULL ? opt->resolv_conf : DEFAULT_RESOLV_CONF;
	int ret = 0;
	if (copy_string(d->resolv_path, sizeof(d->resolv_path), resolv) < 0) {
		ret = berr_setx(err, ENAMETOOLONG, "resolv.conf path %s is too long", resolv);
	} else if (opt->domain != NULL && opt->domain[0] != '\0' &&
		   dnsmsg_name_from_text(opt->domain, d->domain, &d->domain_len) < 0) {
		ret = berr_setx(err, EINVAL, "DNS domain \"%s\": not a valid domain name", opt->domain);
	} else if ((d->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0) {
		ret = berr_set(err, errno, "epoll for the DNS responder");
	} else if ((d->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)) < 0) {
		ret = berr_set(err, errno, "timer for the DNS responder");
	} else if ((ret = watch(d, d->timerfd, &d->timer_ev, EPOLLIN)) < 0) {
		ret = berr_set(err, -ret, "epoll for the DNS responder");
	}
	if (ret < 0) {
		dns_close(d);
		return ret;
	}
	*out = d;
	return 0;
}

void dns_close(struct dns *d)
{
	if (d == NULL) {
		return;
	}
	while (d->listeners != NULL) {
		dns_unlisten(d, d->listeners->addr);
	}
	while (d->conns != NULL) {
		conn_close(d, d->conns);
	}
	while (d->pending != NULL) {
		pending_free(d, d->pending);
	}
	while (d->clientnets != NULL) {
		struct clientnets *c = d->clientnets;
		d->clientnets = c->next;
		free(c);
	}
	while (d->upstreams != NULL) {
		struct upstreams *u = d->upstreams;
		d->upstreams = u->next;
		free(u);
	}
	if (d->timerfd >= 0) {
		close(d->timerfd);
	}
	if (d->epfd >= 0) {
		close(d->epfd);
	}
	free(d);
}

int dns_fd(const struct dns *d)
{
	return d->epfd;
}

void dns_get_stats(const struct dns *d, struct dns_stats *st)
{
	*st = d->stats;
}
