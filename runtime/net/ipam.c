/* IPv4 address management (see ipam.h). Addresses are kept in network
 * order in the structures and turned to host order only for arithmetic. */
#include "net/ipam.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/fsutil.h"

#define IPAM_VERSION 1
#define IPAM_SUFFIX ".json"
/* Nesting deeper than the format's own (object in object) is an error. */
#define IPAM_JSON_DEPTH 8

static void json_putp(json_object **o)
{
	json_object_put(*o);
}
#define auto_json __attribute__((cleanup(json_putp)))

/* ---- addresses and subnets ---- */

static uint32_t mask_of(int prefix)
{
	return prefix <= 0 ? 0 : 0xffffffffu << (32 - prefix);
}

/* Host-order first and last address of s. */
static uint32_t subnet_first(const struct ipam_subnet *s)
{
	return ntohl(s->net);
}

static uint32_t subnet_last(const struct ipam_subnet *s)
{
	return ntohl(s->net) | ~mask_of(s->prefix);
}

static void addr_text(uint32_t addr, char text[INET_ADDRSTRLEN])
{
	if (inet_ntop(AF_INET, &addr, text, INET_ADDRSTRLEN) == NULL) {
		snprintf(text, INET_ADDRSTRLEN, "?");
	}
}

static void subnet_text(const struct ipam_subnet *s, char text[INET_ADDRSTRLEN + 4])
{
	char a[INET_ADDRSTRLEN];
	addr_text(s->net, a);
	snprintf(text, INET_ADDRSTRLEN + 4, "%s/%d", a, s->prefix);
}

/* Dotted quad only: inet_pton refuses leading zeros (no octal surprises),
 * and both libcs agree on that. */
static int parse_addr(const char *text, uint32_t *addr)
{
	struct in_addr in;
	if (inet_pton(AF_INET, text, &in) != 1) {
		return -EINVAL;
	}
	*addr = in.s_addr;
	return 0;
}

int ipam_parse_subnet(const char *text, struct ipam_subnet *out, struct berr *err)
{
	const char *slash = strchr(text, '/');
	char a[INET_ADDRSTRLEN];
	size_t alen = slash != NULL ? (size_t)(slash - text) : 0;
	if (slash == NULL || alen >= sizeof(a)) {
		return berr_setx(err, EINVAL, "subnet \"%.64s\": not an IPv4 address/prefix", text);
	}
	memcpy(a, text, alen);
	a[alen] = '\0';
	uint32_t net;
	if (parse_addr(a, &net) < 0) {
		return berr_setx(err, EINVAL, "subnet \"%.64s\": \"%s\" is not an IPv4 address", text, a);
	}
	const char *p = slash + 1;
	size_t plen = strlen(p);
	if (plen == 0 || plen > 2 || !isdigit((unsigned char)p[0]) || (plen == 2 && !isdigit((unsigned char)p[1]))) {
		return berr_setx(err, EINVAL, "subnet \"%.64s\": the prefix length is not a number", text);
	}
	int prefix = atoi(p);
	if (prefix < 1 || prefix > 30) {
		return berr_setx(err, EINVAL, "subnet \"%.64s\": the prefix length must be 1 to 30", text);
	}
	if ((ntohl(net) & ~mask_of(prefix)) != 0) {
		char fixed[INET_ADDRSTRLEN];
		addr_text(htonl(ntohl(net) & mask_of(prefix)), fixed);
		return berr_setx(err, EINVAL, "subnet \"%.64s\" has host bits set (%s/%d?)", text, fixed, prefix);
	}
	out->net = net;
	out->prefix = prefix;
	return 0;
}

int ipam_overlaps(const struct ipam_subnet *a, const struct ipam_subnet *b)
{
	int prefix = a->prefix < b->prefix ? a->prefix : b->prefix;
	return ((ntohl(a->net) ^ ntohl(b->net)) & mask_of(prefix)) == 0;
}

/* Docker's default address pools, in its order. */
static int pool_candidate(size_t i, struct ipam_subnet *out)
{
	if (i < 15) {
		out->net = htonl((172u << 24) | ((17u + (uint32_t)i) << 16));
		out->prefix = 16;
		return 1;
	}
	i -= 15;
	if (i < 16) {
		out->net = htonl((192u << 24) | (168u << 16) | ((uint32_t)i * 16u << 8));
		out->prefix = 20;
		return 1;
	}
	return 0;
}

int ipam_pick_subnet(const struct ipam_subnet *avoid, size_t navoid, struct ipam_subnet *out)
{
	struct ipam_subnet cand;
	for (size_t i = 0; pool_candidate(i, &cand); i++) {
		int clash = 0;
		for (size_t j = 0; j < navoid && !clash; j++) {
			/* A default route overlaps everything and says nothing. */
			if (avoid[j].prefix > 0 && ipam_overlaps(&cand, &avoid[j])) {
				clash = 1;
			}
		}
		if (!clash) {
			*out = cand;
			return 0;
		}
	}
	return -ENOSPC;
}

/* 0 when addr can be a host's address in s: inside it, neither its network
 * nor its broadcast address. */
static int host_addr_ok(const struct ipam_subnet *s, uint32_t addr)
{
	uint32_t h = ntohl(addr);
	if ((h & mask_of(s->prefix)) != ntohl(s->net)) {
		return -ERANGE;
	}
	if (h == subnet_first(s) || h == subnet_last(s)) {
		return -EADDRNOTAVAIL;
	}
	return 0;
}

static const char *host_addr_problem(int ret)
{
	return ret == -ERANGE ? "is outside the subnet" : "is the subnet's network or broadcast address";
}

int ipam_parse_host(const struct ipam_subnet *s, const char *text, uint32_t *addr, const char **why)
{
	if (parse_addr(text, addr) < 0) {
		*why = "is not an IPv4 address";
		return -EINVAL;
	}
	int ret = host_addr_ok(s, *addr);
	if (ret < 0) {
		*why = host_addr_problem(ret);
		return ret;
	}
	return 0;
}

uint32_t ipam_default_gateway(const struct ipam_subnet *s)
{
	return htonl(subnet_first(s) + 1);
}

/* ---- names ---- */

static int valid_owner(const char *owner)
{
	size_t len = strlen(owner);
	if (len == 0 || len >= IPAM_OWNER_MAX) {
		return 0;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)owner[i];
		if (!isalnum(c) && strchr("_.:@/-", c) == NULL) {
			return 0;
		}
	}
	return 1;
}

/* A network name becomes a file name: no '/', no leading '.'. */
static int valid_network_name(const char *name)
{
	size_t len = strlen(name);
	if (len == 0 || len >= IPAM_NAME_MAX || !isalnum((unsigned char)name[0])) {
		return 0;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		if (!isalnum(c) && c != '_' && c != '.' && c != '-') {
			return 0;
		}
	}
	return 1;
}

/* ---- leases ---- */

const struct ipam_lease *ipam_find(const struct ipam_network *n, const char *owner)
{
	for (size_t i = 0; i < n->nleases; i++) {
		if (strcmp(n->leases[i].owner, owner) == 0) {
			return &n->leases[i];
		}
	}
	return NULL;
}

static const struct ipam_lease *find_addr(const struct ipam_network *n, uint32_t addr)
{
	for (size_t i = 0; i < n->nleases; i++) {
		if (n->leases[i].addr == addr) {
			return &n->leases[i];
		}
	}
	return NULL;
}

/* Inserts a lease in address order; owner is copied. */
static int lease_insert(struct ipam_network *n, const char *owner, uint32_t addr)
{
	if (n->nleases == n->cap) {
		size_t ncap = n->cap == 0 ? 8 : n->cap * 2;
		struct ipam_lease *p = realloc(n->leases, ncap * sizeof(*p));
		if (p == NULL) {
			return -ENOMEM;
		}
		n->leases = p;
		n->cap = ncap;
	}
	char *copy = strdup(owner);
	if (copy == NULL) {
		return -ENOMEM;
	}
	size_t at = 0;
	while (at < n->nleases && ntohl(n->leases[at].addr) < ntohl(addr)) {
		at++;
	}
	memmove(&n->leases[at + 1], &n->leases[at], (n->nleases - at) * sizeof(*n->leases));
	n->leases[at].owner = copy;
	n->leases[at].addr = addr;
	n->nleases++;
	return 0;
}

static void lease_remove(struct ipam_network *n, const struct ipam_lease *l)
{
	size_t at = (size_t)(l - n->leases);
	free(n->leases[at].owner);
	memmove(&n->leases[at], &n->leases[at + 1], (n->nleases - at - 1) * sizeof(*n->leases));
	n->nleases--;
}

/* The lowest host address that is neither the gateway nor leased (leases
 * are sorted, so one pass finds the first gap). */
static int lowest_free(const struct ipam_network *n, uint32_t *addr)
{
	uint32_t last = subnet_last(&n->subnet) - 1;
	uint32_t gw = ntohl(n->gateway);
	uint32_t cand = subnet_first(&n->subnet) + 1;
	size_t i = 0;
	while (cand <= last) {
		while (i < n->nleases && ntohl(n->leases[i].addr) < cand) {
			i++;
		}
		if (cand == gw || (i < n->nleases && ntohl(n->leases[i].addr) == cand)) {
			cand++;
			continue;
		}
		*addr = htonl(cand);
		return 0;
	}
	return -ENOSPC;
}

static int lease_cmp(const void *a, const void *b)
{
	uint32_t x = ntohl(((const struct ipam_lease *)a)->addr);
	uint32_t y = ntohl(((const struct ipam_lease *)b)->addr);
	return x < y ? -1 : x > y;
}

void ipam_close(struct ipam_network *n)
{
	for (size_t i = 0; i < n->nleases; i++) {
		free(n->leases[i].owner);
	}
	free(n->leases);
	free(n->name);
	free(n->dir);
	free(n->path);
	memset(n, 0, sizeof(*n));
}

/* ---- the state file ---- */

static int parse_leases(struct ipam_network *n, const char *file, json_object *leases, struct berr *err)
{
	struct json_object_iterator it = json_object_iter_begin(leases);
	struct json_object_iterator end = json_object_iter_end(leases);
	for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
		const char *owner = json_object_iter_peek_name(&it);
		json_object *v = json_object_iter_peek_value(&it);
		if (!valid_owner(owner)) {
			return berr_setx(err, EINVAL, "%s: lease owner \"%.64s\" is not a valid name", file, owner);
		}
		uint32_t addr;
		if (!json_object_is_type(v, json_type_string) || parse_addr(json_object_get_string(v), &addr) < 0) {
			return berr_setx(err, EINVAL, "%s: the lease of %s is not an IPv4 address", file, owner);
		}
		char text[INET_ADDRSTRLEN];
		addr_text(addr, text);
		int ret = host_addr_ok(&n->subnet, addr);
		if (ret < 0) {
			return berr_setx(err, EINVAL, "%s: the lease of %s, %s, %s", file, owner, text,
					 host_addr_problem(ret));
		}
		if (addr == n->gateway) {
			return berr_setx(err, EINVAL, "%s: the lease of %s, %s, is the gateway", file, owner, text);
		}
		/* Appended unsorted here, sorted and checked for twins below. */
		if (n->nleases == n->cap) {
			size_t ncap = n->cap == 0 ? 8 : n->cap * 2;
			struct ipam_lease *p = realloc(n->leases, ncap * sizeof(*p));
			if (p == NULL) {
				return berr_set(err, ENOMEM, "%s", file);
			}
			n->leases = p;
			n->cap = ncap;
		}
		char *copy = strdup(owner);
		if (copy == NULL) {
			return berr_set(err, ENOMEM, "%s", file);
		}
		n->leases[n->nleases].owner = copy;
		n->leases[n->nleases].addr = addr;
		n->nleases++;
	}
	if (n->nleases > 1) {
		qsort(n->leases, n->nleases, sizeof(*n->leases), lease_cmp);
	}
	for (size_t i = 1; i < n->nleases; i++) {
		if (n->leases[i].addr == n->leases[i - 1].addr) {
			char text[INET_ADDRSTRLEN];
			addr_text(n->leases[i].addr, text);
			return berr_setx(err, EINVAL, "%s: %s is leased to both %s and %s", file, text,
					 n->leases[i - 1].owner, n->leases[i].owner);
		}
	}
	return 0;
}

static int parse_root(struct ipam_network *n, const char *file, json_object *root, struct berr *err)
{
	if (!json_object_is_type(root, json_type_object)) {
		return berr_setx(err, EINVAL, "%s: not a JSON object", file);
	}
	json_object *version = NULL;
	json_object *subnet = NULL;
	json_object *gateway = NULL;
	json_object *leases = NULL;
	struct json_object_iterator it = json_object_iter_begin(root);
	struct json_object_iterator end = json_object_iter_end(root);
	for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
		const char *key = json_object_iter_peek_name(&it);
		json_object *v = json_object_iter_peek_value(&it);
		if (strcmp(key, "version") == 0) {
			version = v;
		} else if (strcmp(key, "subnet") == 0) {
			subnet = v;
		} else if (strcmp(key, "gateway") == 0) {
			gateway = v;
		} else if (strcmp(key, "leases") == 0) {
			leases = v;
		} else {
			return berr_setx(err, EINVAL, "%s: unknown key \"%.64s\"", file, key);
		}
	}
	if (!json_object_is_type(version, json_type_int) || json_object_get_int64(version) != IPAM_VERSION) {
		return berr_setx(err, EINVAL, "%s: \"version\" must be %d", file, IPAM_VERSION);
	}
	if (!json_object_is_type(subnet, json_type_string)) {
		return berr_setx(err, EINVAL, "%s: \"subnet\" missing or not a string", file);
	}
	int ret = ipam_parse_subnet(json_object_get_string(subnet), &n->subnet, err);
	if (ret < 0) {
		return berr_prefix(err, "%s", file);
	}
	if (!json_object_is_type(gateway, json_type_string) ||
	    parse_addr(json_object_get_string(gateway), &n->gateway) < 0) {
		return berr_setx(err, EINVAL, "%s: \"gateway\" missing or not an IPv4 address", file);
	}
	ret = host_addr_ok(&n->subnet, n->gateway);
	if (ret < 0) {
		return berr_setx(err, EINVAL, "%s: the gateway %s", file, host_addr_problem(ret));
	}
	if (!json_object_is_type(leases, json_type_object)) {
		return berr_setx(err, EINVAL, "%s: \"leases\" missing or not an object", file);
	}
	return parse_leases(n, file, leases, err);
}

int ipam_parse_state(struct ipam_network *n, const char *file, const char *text, size_t len, struct berr *err)
{
	memset(n, 0, sizeof(*n));
	if (len > IPAM_STATE_MAX) {
		return berr_setx(err, EFBIG, "%s: larger than %u bytes", file, IPAM_STATE_MAX);
	}
	/* json-c stops at a NUL as if the text ended there. */
	if (memchr(text, '\0', len) != NULL) {
		return berr_setx(err, EINVAL, "%s: not a text file (contains a NUL byte)", file);
	}
	struct json_tokener *tok = json_tokener_new_ex(IPAM_JSON_DEPTH);
	if (tok == NULL) {
		return berr_set(err, ENOMEM, "%s", file);
	}
	auto_json json_object *root = json_tokener_parse_ex(tok, text, (int)len);
	enum json_tokener_error jerr = json_tokener_get_error(tok);
	size_t end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (root == NULL || jerr != json_tokener_success) {
		return berr_setx(err, EINVAL, "%s: not valid JSON (%s)", file,
				 jerr == json_tokener_continue ? "unexpected end" : json_tokener_error_desc(jerr));
	}
	for (size_t i = end; i < len; i++) {
		if (!isspace((unsigned char)text[i])) {
			return berr_setx(err, EINVAL, "%s: text after the JSON object", file);
		}
	}
	int ret = parse_root(n, file, root, err);
	if (ret < 0) {
		ipam_close(n);
	}
	return ret;
}

int ipam_format_state(const struct ipam_network *n, char **text, struct berr *err)
{
	*text = NULL;
	char sub[INET_ADDRSTRLEN + 4];
	char gw[INET_ADDRSTRLEN];
	subnet_text(&n->subnet, sub);
	addr_text(n->gateway, gw);
	auto_json json_object *root = json_object_new_object();
	json_object *leases = json_object_new_object();
	/* Once added, leases belongs to root. */
	int bad = root == NULL || leases == NULL ||
		  json_object_object_add(root, "version", json_object_new_int(IPAM_VERSION)) < 0 ||
		  json_object_object_add(root, "subnet", json_object_new_string(sub)) < 0 ||
		  json_object_object_add(root, "gateway", json_object_new_string(gw)) < 0 ||
		  json_object_object_add(root, "leases", leases) < 0;
	if (bad) {
		json_object_put(leases);
		return berr_set(err, ENOMEM, "network %s state", n->name ? n->name : "");
	}
	for (size_t i = 0; i < n->nleases && !bad; i++) {
		char a[INET_ADDRSTRLEN];
		addr_text(n->leases[i].addr, a);
		bad = json_object_object_add(leases, n->leases[i].owner, json_object_new_string(a)) < 0;
	}
	const char *s =
		bad ? NULL
		    : json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
	*text = s != NULL ? strdup(s) : NULL;
	if (*text == NULL) {
		return berr_set(err, ENOMEM, "network %s state", n->name ? n->name : "");
	}
	return 0;
}

/* Reads and parses a state file; -ENOENT (err set) when it is missing. */
static int load_file(struct ipam_network *n, const char *path, struct berr *err)
{
	memset(n, 0, sizeof(*n));
	auto_free char *buf = NULL;
	size_t len = 0;
	int ret = read_file_alloc(AT_FDCWD, path, O_NOFOLLOW, IPAM_STATE_MAX, NULL, &buf, &len, err);
	if (ret < 0) {
		return ret;
	}
	return ipam_parse_state(n, path, buf, len, err);
}

/* Temporary file, fsync, rename over, fsync the directory: after a crash
 * the file is the old state or the new one, never a mix. */
static int save(const struct ipam_network *n, struct berr *err)
{
	if (n->path == NULL) {
		return 0;
	}
	auto_free char *text = NULL;
	int ret = ipam_format_state(n, &text, err);
	if (ret < 0) {
		return ret;
	}
	size_t len = strlen(text);
	/* One line, ended. */
	char *line = realloc(text, len + 2);
	if (line == NULL) {
		return berr_set(err, ENOMEM, "write %s", n->path);
	}
	text = line;
	memcpy(text + len, "\n", 2);
	return write_file_atomic(n->path, text, len + 1, 0644, ATOMIC_FSYNC_FILE | ATOMIC_FSYNC_DIR, err);
}

/* ---- networks ---- */

struct sibling {
	char name[IPAM_NAME_MAX];
	struct ipam_subnet subnet;
};

/* The subnets of the other networks in dir (every *.json but own_file). */
static int load_siblings(const char *dir, const char *own_file, struct sibling **out, size_t *nout, struct berr *err)
{
	*out = NULL;
	*nout = 0;
	auto_closedir DIR *d = opendir(dir);
	if (d == NULL) {
		return berr_set(err, errno, "open directory %s", dir);
	}
	auto_free struct sibling *sibs = NULL;
	size_t n = 0;
	size_t cap = 0;
	for (;;) {
		errno = 0;
		struct dirent *de = readdir(d);
		if (de == NULL) {
			if (errno != 0) {
				return berr_set(err, errno, "read directory %s", dir);
			}
			break;
		}
		size_t len = strlen(de->d_name);
		size_t slen = strlen(IPAM_SUFFIX);
		if (de->d_name[0] == '.' || len <= slen || len - slen >= IPAM_NAME_MAX ||
		    strcmp(de->d_name + len - slen, IPAM_SUFFIX) != 0 || strcmp(de->d_name, own_file) == 0) {
			continue;
		}
		char path[4096];
		if (path_join(path, sizeof(path), dir, de->d_name) < 0) {
			return berr_setx(err, ENAMETOOLONG, "%s/%s: path too long", dir, de->d_name);
		}
		struct ipam_network other;
		int ret = load_file(&other, path, err);
		if (ret < 0) {
			return ret;
		}
		struct ipam_subnet s = other.subnet;
		ipam_close(&other);
		if (n == cap) {
			cap = cap == 0 ? 8 : cap * 2;
			struct sibling *p = realloc(sibs, cap * sizeof(*p));
			if (p == NULL) {
				return berr_set(err, ENOMEM, "read directory %s", dir);
			}
			sibs = p;
		}
		memcpy(sibs[n].name, de->d_name, len - slen);
		sibs[n].name[len - slen] = '\0';
		sibs[n].subnet = s;
		n++;
	}
	*out = take_ptr(&sibs);
	*nout = n;
	return 0;
}

/* Chooses a new network's subnet and gateway. */
static int choose_subnet(struct ipam_network *n, const struct ipam_config *cfg, struct berr *err)
{
	char own_file[IPAM_NAME_MAX + sizeof(IPAM_SUFFIX)];
	snprintf(own_file, sizeof(own_file), "%s%s", n->name, IPAM_SUFFIX);
	auto_free struct sibling *sibs = NULL;
	size_t nsibs = 0;
	int ret = load_siblings(n->dir, own_file, &sibs, &nsibs, err);
	if (ret < 0) {
		return ret;
	}
	if (cfg->subnet != NULL) {
		ret = ipam_parse_subnet(cfg->subnet, &n->subnet, err);
		if (ret < 0) {
			return berr_prefix(err, "network %s", n->name);
		}
		for (size_t i = 0; i < nsibs; i++) {
			if (ipam_overlaps(&n->subnet, &sibs[i].subnet)) {
				char theirs[INET_ADDRSTRLEN + 4];
				subnet_text(&sibs[i].subnet, theirs);
				return berr_setx(err, EADDRINUSE, "network %s: subnet %s overlaps network %s's %s",
						 n->name, cfg->subnet, sibs[i].name, theirs);
			}
		}
	} else {
		size_t navoid = cfg->navoid + nsibs;
		auto_free struct ipam_subnet *avoid = calloc(navoid + 1, sizeof(*avoid));
		if (avoid == NULL) {
			return berr_set(err, ENOMEM, "network %s", n->name);
		}
		if (cfg->navoid > 0) {
			memcpy(avoid, cfg->avoid, cfg->navoid * sizeof(*avoid));
		}
		for (size_t i = 0; i < nsibs; i++) {
			avoid[cfg->navoid + i] = sibs[i].subnet;
		}
		if (ipam_pick_subnet(avoid, navoid, &n->subnet) < 0) {
			return berr_setx(err, ENOSPC,
					 "network %s: every subnet of the default pools (172.17-31.0.0/16, "
					 "192.168.0.0/16 in /20s) overlaps the host's networks or other networks; "
					 "set ipam.config.subnet",
					 n->name);
		}
	}
	if (cfg->gateway != NULL) {
		if (parse_addr(cfg->gateway, &n->gateway) < 0) {
			return berr_setx(err, EINVAL, "network %s: gateway \"%.64s\" is not an IPv4 address", n->name,
					 cfg->gateway);
		}
		ret = host_addr_ok(&n->subnet, n->gateway);
		if (ret < 0) {
			return berr_setx(err, EINVAL, "network %s: gateway %s %s", n->name, cfg->gateway,
					 host_addr_problem(ret));
		}
	} else {
		n->gateway = ipam_default_gateway(&n->subnet);
	}
	return 0;
}

/* An existing network must match what cfg asks for explicitly. */
static int check_stored(const struct ipam_network *n, const struct ipam_config *cfg, struct berr *err)
{
	char have[INET_ADDRSTRLEN + 4];
	if (cfg->subnet != NULL) {
		struct ipam_subnet want;
		int ret = ipam_parse_subnet(cfg->subnet, &want, err);
		if (ret < 0) {
			return berr_prefix(err, "network %s", n->name);
		}
		if (want.net != n->subnet.net || want.prefix != n->subnet.prefix) {
			subnet_text(&n->subnet, have);
			return berr_setx(
				err, EEXIST,
				"network %s exists with subnet %s (%s), not %s; remove it to change its subnet",
				n->name, have, n->path, cfg->subnet);
		}
	}
	if (cfg->gateway != NULL) {
		uint32_t want;
		if (parse_addr(cfg->gateway, &want) < 0) {
			return berr_setx(err, EINVAL, "network %s: gateway \"%.64s\" is not an IPv4 address", n->name,
					 cfg->gateway);
		}
		if (want != n->gateway) {
			addr_text(n->gateway, have);
			return berr_setx(
				err, EEXIST,
				"network %s exists with gateway %s (%s), not %s; remove it to change its gateway",
				n->name, have, n->path, cfg->gateway);
		}
	}
	return 0;
}

static int state_path(const char *dir, const char *name, char *path, size_t size, struct berr *err)
{
	if (!valid_network_name(name)) {
		return berr_setx(err, EINVAL,
				 "network name \"%.64s\": 1 to %d letters, digits, '_', '.' or '-', starting with a "
				 "letter or digit",
				 name, IPAM_NAME_MAX - 1);
	}
	int len = snprintf(path, size, "%s/%s%s", dir, name, IPAM_SUFFIX);
	if (len < 0 || (size_t)len >= size) {
		return berr_setx(err, ENAMETOOLONG, "network %s: state file path too long", name);
	}
	return 0;
}

int ipam_open(struct ipam_network *n, const char *dir, const char *name, const struct ipam_config *cfg,
	      struct berr *err)
{
	static const struct ipam_config defaults;
	if (cfg == NULL) {
		cfg = &defaults;
	}
	memset(n, 0, sizeof(*n));
	char path[4096];
	int ret = state_path(dir, name, path, sizeof(path), err);
	if (ret < 0) {
		return ret;
	}
	ret = mkdir_p(dir, 0700, err);
	if (ret < 0) {
		return ret;
	}
	struct berr load_err;
	ret = load_file(n, path, &load_err);
	if (ret < 0 && ret != -ENOENT) {
		if (err != NULL) {
			*err = load_err;
		}
		return ret;
	}
	int created = ret == -ENOENT;
	n->name = strdup(name);
	n->dir = strdup(dir);
	n->path = strdup(path);
	if (n->name == NULL || n->dir == NULL || n->path == NULL) {
		ipam_close(n);
		return berr_set(err, ENOMEM, "network %s", name);
	}
	ret = created ? choose_subnet(n, cfg, err) : check_stored(n, cfg, err);
	if (ret == 0 && created) {
		ret = save(n, err);
	}
	if (ret < 0) {
		ipam_close(n);
	}
	return ret;
}

int ipam_remove(const char *dir, const char *name, struct berr *err)
{
	char path[4096];
	int ret = state_path(dir, name, path, sizeof(path), err);
	if (ret < 0) {
		return ret;
	}
	if (unlink(path) < 0 && errno != ENOENT) {
		return berr_set(err, errno, "remove %s", path);
	}
	return 0;
}

/* Validates a fixed address for owner; returns 0 with *addr set. */
static int check_fixed(const struct ipam_network *n, const char *owner, const char *fixed, const struct ipam_lease *own,
		       uint32_t *addr, struct berr *err)
{
	char sub[INET_ADDRSTRLEN + 4];
	subnet_text(&n->subnet, sub);
	if (parse_addr(fixed, addr) < 0) {
		return berr_setx(err, EINVAL, "ipv4_address \"%.64s\" of %s: not an IPv4 address", fixed, owner);
	}
	int ret = host_addr_ok(&n->subnet, *addr);
	if (ret < 0) {
		return berr_setx(err, EINVAL, "ipv4_address %s of %s %s %s of network %s", fixed, owner,
				 host_addr_problem(ret), sub, n->name ? n->name : "");
	}
	if (*addr == n->gateway) {
		return berr_setx(err, EADDRINUSE, "ipv4_address %s of %s is the gateway of network %s", fixed, owner,
				 n->name ? n->name : "");
	}
	const struct ipam_lease *holder = find_addr(n, *addr);
	if (holder != NULL && holder != own) {
		return berr_setx(err, EADDRINUSE, "ipv4_address %s of %s is already leased to %s on network %s", fixed,
				 owner, holder->owner, n->name ? n->name : "");
	}
	return 0;
}

int ipam_lease(struct ipam_network *n, const char *owner, const char *fixed, uint32_t *addr, struct berr *err)
{
	if (!valid_owner(owner)) {
		return berr_setx(err, EINVAL, "lease owner \"%.64s\": 1 to %d of [A-Za-z0-9_.:@/-]", owner,
				 IPAM_OWNER_MAX - 1);
	}
	/* owner may be a lease's own string, which replacing the lease frees. */
	char who[IPAM_OWNER_MAX];
	memcpy(who, owner, strlen(owner) + 1);
	owner = who;
	const struct ipam_lease *own = ipam_find(n, owner);
	uint32_t want;
	if (fixed != NULL) {
		int ret = check_fixed(n, owner, fixed, own, &want, err);
		if (ret < 0) {
			return ret;
		}
		if (own != NULL && own->addr == want) {
			*addr = want;
			return 0;
		}
	} else if (own != NULL) {
		*addr = own->addr;
		return 0;
	} else if (lowest_free(n, &want) < 0) {
		char sub[INET_ADDRSTRLEN + 4];
		subnet_text(&n->subnet, sub);
		return berr_setx(err, ENOSPC, "network %s (%s) has no free address for %s", n->name ? n->name : "", sub,
				 owner);
	}
	/* A changed fixed address replaces the old lease; on a failed save
	 * the old one comes back. */
	uint32_t old = 0;
	if (own != NULL) {
		old = own->addr;
		lease_remove(n, own);
	}
	int ret = lease_insert(n, owner, want);
	if (ret < 0) {
		if (own != NULL && lease_insert(n, owner, old) < 0) {
			return berr_set(err, ENOMEM, "lease for %s", owner);
		}
		return berr_set(err, -ret, "lease for %s", owner);
	}
	ret = save(n, err);
	if (ret < 0) {
		lease_remove(n, ipam_find(n, owner));
		if (own != NULL) {
			(void)lease_insert(n, owner, old);
		}
		return ret;
	}
	*addr = want;
	return 0;
}

int ipam_release(struct ipam_network *n, const char *owner, struct berr *err)
{
	char who[IPAM_OWNER_MAX];
	if (copy_string(who, sizeof(who), owner) < 0) {
		return 0;
	}
	owner = who;
	const struct ipam_lease *own = ipam_find(n, owner);
	if (own == NULL) {
		return 0;
	}
	uint32_t old = own->addr;
	lease_remove(n, own);
	int ret = save(n, err);
	if (ret < 0) {
		(void)lease_insert(n, owner, old);
	}
	return ret;
}
