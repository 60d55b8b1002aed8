/* A small rtnetlink client: bring links up, set MTUs, add addresses and
 * routes. Shared by init (host network) and the runtime (container
 * networks). Every call waits for the kernel's answer and turns a refusal
 * into an error naming the link and address.
 *
 * Links are named relative to the socket: a socket opened inside another
 * network namespace (setns around nl_open) finds and changes that
 * namespace's links, whatever namespace the caller runs in.
 *
 * The message helpers below (nl_msg_*, nl_attr_*, nl_exchange) are the one
 * request/ack machinery; modules with more specific requests (bridges,
 * veths, dumps) build on them rather than talking to the socket. */
#ifndef BERTH_NETLINK_H
#define BERTH_NETLINK_H

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/berr.h"

struct nl_sock {
	int fd;
	unsigned seq;
	/* The kernel's own words on the last refusal (extended ack), or "". */
	char ext_msg[128];
};

int nl_open(struct nl_sock *nl, struct berr *err);
void nl_close(struct nl_sock *nl);

/* ifname's index in the caller's network namespace, or a negative errno. */
int nl_ifindex(const char *ifname, struct berr *err);

/* ifname's index in the socket's network namespace; -ENODEV (err set,
 * naming the link) when there is no such link. */
int nl_link_index(struct nl_sock *nl, const char *ifname, struct berr *err);

int nl_link_up(struct nl_sock *nl, const char *ifname, struct berr *err);
int nl_link_set_mtu(struct nl_sock *nl, const char *ifname, int mtu, struct berr *err);

/* family AF_INET or AF_INET6; addr in network byte order. */
int nl_addr_add(struct nl_sock *nl, const char *ifname, int family, const void *addr, int prefix, struct berr *err);

/* A route to dst/prefix (prefix 0: default) through gateway (NULL: on-link)
 * on ifname. */
int nl_route_add(struct nl_sock *nl, const char *ifname, int family, const void *dst, int prefix, const void *gateway,
		 struct berr *err);

/* Removes ifname's global addresses (IPv4 and IPv6; link-local ones
 * stay) and the main table's routes through it that were not the
 * kernel's own (static, DHCP's): a live network change starts from a
 * bare link. */
int nl_flush_iface(struct nl_sock *nl, const char *ifname, struct berr *err);

/* ---- building blocks for other requests ---- */

#define NL_MSG_SIZE 4096

/* One request. A request that outgrows the buffer is marked truncated and
 * never sent (nl_exchange refuses it with -ENOBUFS). */
struct nl_msg {
	struct nlmsghdr hdr;
	char body[NL_MSG_SIZE - sizeof(struct nlmsghdr)];
	int truncated;
};

/* Starts a request: type (RTM_*), flags beyond NLM_F_REQUEST|NLM_F_ACK, and
 * a zeroed family header of hdrlen bytes, which is returned. */
void *nl_msg_init(struct nl_msg *m, unsigned short type, unsigned short flags, size_t hdrlen);

void nl_attr_put(struct nl_msg *m, unsigned short type, const void *data, size_t len);
void nl_attr_put_u32(struct nl_msg *m, unsigned short type, uint32_t value);
void nl_attr_put_str(struct nl_msg *m, unsigned short type, const char *s);

/* Nested attributes: nl_nest_end closes what nl_nest_begin opened.
 * nl_msg_append adds raw bytes (a family header inside a nest). */
struct rtattr *nl_nest_begin(struct nl_msg *m, unsigned short type);
void nl_nest_end(struct nl_msg *m, struct rtattr *nest);
void nl_msg_append(struct nl_msg *m, const void *data, size_t len);

/* Called for each answer message (not for acks or the end of a dump). A
 * negative return stops the exchange with that value once the kernel has
 * finished answering. */
typedef int (*nl_reply_fn)(const struct nlmsghdr *h, void *ctx);

/* Sends m and reads the kernel's answers until its ack, error or the end of
 * a dump (set NLM_F_DUMP in the flags for dumps). Returns 0 or a negative
 * errno (the kernel's refusal, with its words in nl->ext_msg). */
int nl_exchange(struct nl_sock *nl, struct nl_msg *m, nl_reply_fn fn, void *ctx);

/* Indexes the attributes at rta (len bytes) by type into tb[0..max]; later
 * duplicates win, unknown types are skipped. */
void nl_attr_parse(const struct rtattr *tb[], int max, const struct rtattr *rta, size_t len);

/* The payload of attribute a when it is exactly len bytes, else NULL. */
const void *nl_attr_data(const struct rtattr *a, size_t len);

/* A NUL-terminated string attribute copied into dst (size bytes); -EINVAL
 * when it is missing, unterminated or too long. */
int nl_attr_str(const struct rtattr *a, char *dst, size_t size);

#endif
