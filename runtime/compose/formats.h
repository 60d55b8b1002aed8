/* The scalar formats of compose.yaml, as Docker and Compose read them:
 * durations, byte sizes, signals, capabilities, ports, and the names and
 * addresses the file may hold. Shared by the parser, the translation and
 * their tests; each function only reads its text. */
#ifndef BERTH_COMPOSE_FORMATS_H
#define BERTH_COMPOSE_FORMATS_H

#include <stddef.h>
#include <stdint.h>

#include "compose/compose.h"
#include "lib/berr.h"
#include "lib/arena.h"

/* Each returns 0, or -EINVAL (-ERANGE for numbers too large). */
int compose_parse_duration(const char *s, int64_t *ns); /* "1m30s", "500ms", "1.5s", "0" */
int compose_parse_bytes(const char *s, int64_t *bytes); /* "512m", "1g", "100KiB", "1024" */
int compose_parse_cap(const char *s, int *cap);		/* "NET_ADMIN", "cap_net_admin"; -1 for ALL */
int compose_parse_uint(const char *s, size_t len, uint64_t max, uint64_t *out);		 /* decimal digits only */
int compose_parse_port_range(const char *s, size_t len, uint16_t *start, uint16_t *end); /* "80", "80-90" */
int compose_parse_protocol(const char *s, char out[8]);					 /* tcp, udp, sctp */
int compose_parse_id(const char *s, size_t len, uint32_t *id); /* a user or group id: 0 to COMPOSE_ID_MAX */
int compose_parse_mode(const char *s, uint32_t *mode);	       /* octal, "0o" allowed: "1777", "0o440" */

#define COMPOSE_ID_MAX INT32_MAX /* Docker's limit for user and group ids */
#define COMPOSE_USER_MAX 256	 /* bytes of USER[:GROUP] */

/* USER[:GROUP] as the translation reads it: at most COMPOSE_USER_MAX - 1
 * bytes, and a user or group given as a number in range (a number of more
 * than ten digits is a name). 0, or -EINVAL with err saying what. */
int compose_check_user(const char *spec, struct berr *err);

/* The short syntax of ports ("127.0.0.1:8080:80/udp", "[::1]::80",
 * "8000-8010:8000-8010"); host_ip is allocated in a. On error *why says
 * what is wrong. */
int compose_parse_port(struct arena *a, const char *spec, struct compose_port *out, const char **why);

/* A device cgroup rule ("c 188:* rwm"), as device_cgroup_rules and
 * Docker's --device-cgroup-rule write it. */
int compose_parse_devrule(const char *s, struct compose_devrule *r);

/* Predicates: 1 when s is valid. */
int compose_valid_name(const char *s);		 /* services, volumes, networks: [a-zA-Z0-9][a-zA-Z0-9_.-]* */
int compose_valid_project_name(const char *s);	 /* [a-z0-9][a-z0-9_-]* */
int compose_valid_hostname(const char *s);	 /* RFC 1123, at most 63 bytes */
int compose_valid_ip(const char *s, int family); /* AF_INET, AF_INET6, or 0 for either */
int compose_valid_cidr(const char *s);		 /* "10.0.0.0/8", "fd00::/64" */

#endif
