/* IPAM: subnet parsing and overlap, picking from Docker's pools around the
 * host's and other networks' subnets, allocation order, fixed addresses,
 * exhaustion, persistence through a temporary directory, and state files
 * that are corrupt in every way we could think of. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "net/ipam.h"

static char tmpdir[] = "/tmp/test_ipam.XXXXXX";

static uint32_t ip(const char *text)
{
	struct in_addr a;
	if (inet_pton(AF_INET, text, &a) != 1) {
		fprintf(stderr, "bad test address %s\n", text);
		abort();
	}
	return a.s_addr;
}

static struct ipam_subnet sn(const char *cidr)
{
	struct ipam_subnet s = {0};
	struct berr err;
	if (ipam_parse_subnet(cidr, &s, &err) < 0) {
		fprintf(stderr, "bad test subnet %s: %s\n", cidr, err.msg);
		abort();
	}
	return s;
}

/* A fresh directory per test, under tmpdir. */
static const char *fresh_dir(const char *name)
{
	static char path[256];
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	return path;
}

static void write_text(const char *dir, const char *file, const char *text, size_t len)
{
	char path[512];
	mkdir(dir, 0700);
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, text, len) != (ssize_t)len) {
		perror(path);
		abort();
	}
	close(fd);
}

static void test_parse_subnet(void)
{
	struct ipam_subnet s;
	struct berr err;
	CHECK_EQ_INT(ipam_parse_subnet("172.28.5.0/24", &s, &err), 0);
	CHECK_EQ_INT(s.net, ip("172.28.5.0"));
	CHECK_EQ_INT(s.prefix, 24);
	CHECK_EQ_INT(ipam_parse_subnet("10.0.0.0/8", &s, &err), 0);
	CHECK_EQ_INT(ipam_parse_subnet("172.28.5.1/24", &s, &err), -EINVAL);
	CHECK_STR_CONTAINS(err.msg, "host bits");
	CHECK_STR_CONTAINS(err.msg, "172.28.5.0/24");
	CHECK_EQ_INT(ipam_parse_subnet("10.0.0.0/31", &s, &err), -EINVAL);
	CHECK_EQ_INT(ipam_parse_subnet("10.0.0.0/0", &s, &err), -EINVAL);
	CHECK_EQ_INT(ipam_parse_subnet("10.0.0.0", &s, &err), -EINVAL);
	CHECK_EQ_INT(ipam_parse_subnet("10.0.0.0/", &s, &err), -EINVAL);
	CHECK_EQ_INT(ipam_parse_subnet("10.0.0.0/+8", &s, &err), -EINVAL);
	CHECK_EQ_INT(ipam_parse_subnet("10.0.0.0/008", &s, &err), -EINVAL);
	CHECK_EQ_INT(ipam_parse_subnet("010.0.0.0/8", &s, &err), -EINVAL);
	CHECK_EQ_INT(ipam_parse_subnet("fd00::/64", &s, &err), -EINVAL);
	CHECK_EQ_INT(ipam_parse_subnet("1.2.3.4.5.6.7.8.9.10.11/8", &s, &err), -EINVAL);
	CHECK_EQ_INT(ipam_parse_subnet("", &s, &err), -EINVAL);
}

static void test_overlaps(void)
{
	struct ipam_subnet a = sn("172.16.0.0/12");
	struct ipam_subnet b = sn("172.18.0.0/16");
	struct ipam_subnet c = sn("172.32.0.0/16");
	struct ipam_subnet d = sn("172.18.255.0/24");
	CHECK(ipam_overlaps(&a, &b));
	CHECK(ipam_overlaps(&b, &a));
	CHECK(!ipam_overlaps(&a, &c));
	CHECK(ipam_overlaps(&b, &d));
	CHECK(!ipam_overlaps(&c, &d));
}

static void test_pick_pools(void)
{
	struct ipam_subnet out;
	CHECK_EQ_INT(ipam_pick_subnet(NULL, 0, &out), 0);
	CHECK_EQ_INT(out.net, ip("172.17.0.0"));
	CHECK_EQ_INT(out.prefix, 16);

	/* A host route inside 172.17/16 pushes the pick to 172.18/16. */
	struct ipam_subnet host1[] = {sn("10.0.2.0/24"), sn("172.17.5.0/24")};
	CHECK_EQ_INT(ipam_pick_subnet(host1, 2, &out), 0);
	CHECK_EQ_INT(out.net, ip("172.18.0.0"));

	/* A route covering all of 172.16/12 moves on to 192.168.0.0/20. */
	struct ipam_subnet host2[] = {sn("172.16.0.0/12")};
	CHECK_EQ_INT(ipam_pick_subnet(host2, 1, &out), 0);
	CHECK_EQ_INT(out.net, ip("192.168.0.0"));
	CHECK_EQ_INT(out.prefix, 20);

	/* The usual home LAN 192.168.1.0/24 sits inside 192.168.0.0/20. */
	struct ipam_subnet host3[] = {sn("172.16.0.0/12"), sn("192.168.1.0/24")};
	CHECK_EQ_INT(ipam_pick_subnet(host3, 2, &out), 0);
	CHECK_EQ_INT(out.net, ip("192.168.16.0"));

	/* A default route (prefix 0) is no clash. */
	struct ipam_subnet host4[] = {{0, 0}};
	CHECK_EQ_INT(ipam_pick_subnet(host4, 1, &out), 0);
	CHECK_EQ_INT(out.net, ip("172.17.0.0"));

	/* Everything taken. */
	struct ipam_subnet host5[] = {sn("172.16.0.0/12"), sn("192.168.0.0/16")};
	CHECK_EQ_INT(ipam_pick_subnet(host5, 2, &out), -ENOSPC);

	/* The last candidate. */
	struct ipam_subnet host6[] = {sn("172.16.0.0/12"), sn("192.168.0.0/17"), sn("192.168.128.0/18"),
				      sn("192.168.192.0/19"), sn("192.168.224.0/20")};
	CHECK_EQ_INT(ipam_pick_subnet(host6, 5, &out), 0);
	CHECK_EQ_INT(out.net, ip("192.168.240.0"));
}

static void test_open_picks_around_other_networks(void)
{
	const char *dir = fresh_dir("pick");
	struct berr err;
	struct ipam_config cfg = {0};
	struct ipam_network a;
	struct ipam_network b;
	struct ipam_network c;
	CHECK_EQ_INT(ipam_open(&a, dir, "app_default", &cfg, &err), 0);
	CHECK_EQ_INT(a.subnet.net, ip("172.17.0.0"));
	CHECK_EQ_INT(a.gateway, ip("172.17.0.1"));

	/* The host has 172.18.0.0/24; the first network has 172.17/16. */
	struct ipam_subnet host[] = {sn("172.18.0.0/24")};
	cfg.avoid = host;
	cfg.navoid = 1;
	CHECK_EQ_INT(ipam_open(&b, dir, "app_back", &cfg, &err), 0);
	CHECK_EQ_INT(b.subnet.net, ip("172.19.0.0"));

	/* An explicit subnet overlapping another network is refused. */
	struct ipam_config fixed = {.subnet = "172.19.128.0/24"};
	CHECK_EQ_INT(ipam_open(&c, dir, "app_front", &fixed, &err), -EADDRINUSE);
	CHECK_STR_CONTAINS(err.msg, "app_back");
	CHECK_STR_CONTAINS(err.msg, "172.19.0.0/16");
	/* ... and leaves no file behind. */
	char path[512];
	snprintf(path, sizeof(path), "%s/app_front.json", dir);
	CHECK(access(path, F_OK) < 0);

	/* An explicit subnet may overlap the host's routes (the user knows). */
	struct ipam_config fixed2 = {.subnet = "172.18.0.0/16", .avoid = host, .navoid = 1};
	CHECK_EQ_INT(ipam_open(&c, dir, "app_front", &fixed2, &err), 0);
	ipam_close(&c);
	ipam_close(&a);
	ipam_close(&b);
}

static void test_allocation_order(void)
{
	const char *dir = fresh_dir("order");
	struct berr err;
	struct ipam_config cfg = {.subnet = "10.10.0.0/24"};
	struct ipam_network n;
	CHECK_EQ_INT(ipam_open(&n, dir, "net", &cfg, &err), 0);
	CHECK_EQ_INT(n.gateway, ip("10.10.0.1"));
	uint32_t a = 0;
	uint32_t b = 0;
	uint32_t c = 0;
	uint32_t d = 0;
	CHECK_EQ_INT(ipam_lease(&n, "web", NULL, &a, &err), 0);
	CHECK_EQ_INT(ipam_lease(&n, "db", NULL, &b, &err), 0);
	CHECK_EQ_INT(ipam_lease(&n, "cache", NULL, &c, &err), 0);
	CHECK_EQ_INT(a, ip("10.10.0.2"));
	CHECK_EQ_INT(b, ip("10.10.0.3"));
	CHECK_EQ_INT(c, ip("10.10.0.4"));
	/* The same owner gets the same address. */
	CHECK_EQ_INT(ipam_lease(&n, "db", NULL, &d, &err), 0);
	CHECK_EQ_INT(d, b);
	CHECK_EQ_INT(n.nleases, 3);
	/* A released address is the lowest free one again. */
	CHECK_EQ_INT(ipam_release(&n, "db", &err), 0);
	CHECK_EQ_INT(ipam_release(&n, "db", &err), 0);
	CHECK(ipam_find(&n, "db") == NULL);
	CHECK_EQ_INT(ipam_lease(&n, "worker", NULL, &d, &err), 0);
	CHECK_EQ_INT(d, ip("10.10.0.3"));
	/* Releasing by the lease's own owner string (which the release frees). */
	const struct ipam_lease *l = ipam_find(&n, "worker");
	CHECK(l != NULL);
	CHECK_EQ_INT(ipam_release(&n, l->owner, &err), 0);
	CHECK(ipam_find(&n, "worker") == NULL);
	/* Leases stay sorted by address. */
	for (size_t i = 1; i < n.nleases; i++) {
		CHECK(ntohl(n.leases[i - 1].addr) < ntohl(n.leases[i].addr));
	}
	CHECK_EQ_INT(ipam_lease(&n, "bad owner", NULL, &d, &err), -EINVAL);
	CHECK_EQ_INT(ipam_lease(&n, "", NULL, &d, &err), -EINVAL);
	ipam_close(&n);
}

static void test_fixed_addresses(void)
{
	const char *dir = fresh_dir("fixed");
	struct berr err;
	struct ipam_config cfg = {.subnet = "172.28.0.0/16", .gateway = "172.28.5.254"};
	struct ipam_network n;
	CHECK_EQ_INT(ipam_open(&n, dir, "front", &cfg, &err), 0);
	CHECK_EQ_INT(n.gateway, ip("172.28.5.254"));
	uint32_t a = 0;
	CHECK_EQ_INT(ipam_lease(&n, "web", "172.28.1.5", &a, &err), 0);
	CHECK_EQ_INT(a, ip("172.28.1.5"));
	/* A custom gateway frees .1 for containers. */
	CHECK_EQ_INT(ipam_lease(&n, "db", NULL, &a, &err), 0);
	CHECK_EQ_INT(a, ip("172.28.0.1"));

	CHECK_EQ_INT(ipam_lease(&n, "api", "172.28.1.5", &a, &err), -EADDRINUSE);
	CHECK_STR_CONTAINS(err.msg, "172.28.1.5");
	CHECK_STR_CONTAINS(err.msg, "web");
	CHECK_EQ_INT(ipam_lease(&n, "api", "172.29.0.5", &a, &err), -EINVAL);
	CHECK_STR_CONTAINS(err.msg, "172.29.0.5");
	CHECK_STR_CONTAINS(err.msg, "outside");
	CHECK_STR_CONTAINS(err.msg, "172.28.0.0/16");
	CHECK_EQ_INT(ipam_lease(&n, "api", "172.28.5.254", &a, &err), -EADDRINUSE);
	CHECK_STR_CONTAINS(err.msg, "gateway");
	CHECK_EQ_INT(ipam_lease(&n, "api", "172.28.255.255", &a, &err), -EINVAL);
	CHECK_STR_CONTAINS(err.msg, "broadcast");
	CHECK_EQ_INT(ipam_lease(&n, "api", "172.28.0.0", &a, &err), -EINVAL);
	CHECK_EQ_INT(ipam_lease(&n, "api", "172.28.1.500", &a, &err), -EINVAL);
	CHECK_STR_CONTAINS(err.msg, "not an IPv4 address");
	CHECK(ipam_find(&n, "api") == NULL);

	/* The owner's own fixed address again is fine; a new one replaces it. */
	CHECK_EQ_INT(ipam_lease(&n, "web", "172.28.1.5", &a, &err), 0);
	CHECK_EQ_INT(ipam_lease(&n, "web", "172.28.1.6", &a, &err), 0);
	CHECK_EQ_INT(a, ip("172.28.1.6"));
	CHECK_EQ_INT(n.nleases, 2);
	CHECK(ipam_find(&n, "web")->addr == ip("172.28.1.6"));
	/* Now 172.28.1.5 is free for someone else. */
	CHECK_EQ_INT(ipam_lease(&n, "api", "172.28.1.5", &a, &err), 0);
	ipam_close(&n);

	/* A gateway outside its subnet. */
	struct ipam_config bad = {.subnet = "10.1.0.0/24", .gateway = "10.2.0.1"};
	CHECK_EQ_INT(ipam_open(&n, dir, "bad", &bad, &err), -EINVAL);
	CHECK_STR_CONTAINS(err.msg, "gateway");
}

static void test_exhaustion(void)
{
	const char *dir = fresh_dir("small");
	struct berr err;
	struct ipam_config cfg = {.subnet = "10.9.0.0/30"};
	struct ipam_network n;
	CHECK_EQ_INT(ipam_open(&n, dir, "tiny", &cfg, &err), 0);
	uint32_t a = 0;
	CHECK_EQ_INT(ipam_lease(&n, "one", NULL, &a, &err), 0);
	CHECK_EQ_INT(a, ip("10.9.0.2"));
	CHECK_EQ_INT(ipam_lease(&n, "two", NULL, &a, &err), -ENOSPC);
	CHECK_STR_CONTAINS(err.msg, "10.9.0.0/30");
	CHECK_STR_CONTAINS(err.msg, "two");
	CHECK_EQ_INT(ipam_release(&n, "one", &err), 0);
	CHECK_EQ_INT(ipam_lease(&n, "two", NULL, &a, &err), 0);
	CHECK_EQ_INT(a, ip("10.9.0.2"));
	ipam_close(&n);

	/* A /24 hands out exactly 253 addresses (254 hosts minus the gateway). */
	struct ipam_config cfg24 = {.subnet = "10.9.1.0/24"};
	CHECK_EQ_INT(ipam_open(&n, dir, "full", &cfg24, &err), 0);
	int got = 0;
	char owner[32];
	for (int i = 0; i < 300; i++) {
		snprintf(owner, sizeof(owner), "c%d", i);
		if (ipam_lease(&n, owner, NULL, &a, &err) == 0) {
			got++;
		}
	}
	CHECK_EQ_INT(got, 253);
	CHECK_EQ_INT(n.nleases, 253);
	CHECK(ipam_find(&n, "c252")->addr == ip("10.9.1.254"));
	ipam_close(&n);
}

static void test_persistence(void)
{
	const char *dir = fresh_dir("persist");
	struct berr err;
	struct ipam_config cfg = {0};
	struct ipam_network n;
	uint32_t a = 0;
	CHECK_EQ_INT(ipam_open(&n, dir, "app_default", &cfg, &err), 0);
	CHECK_EQ_INT(ipam_lease(&n, "web", NULL, &a, &err), 0);
	CHECK_EQ_INT(ipam_lease(&n, "db", "172.17.3.3", &a, &err), 0);
	CHECK_EQ_INT(ipam_lease(&n, "cache", NULL, &a, &err), 0);
	ipam_close(&n);

	/* Reopened (a berthd restart), picking would give something else:
	 * the stored subnet wins, and the leases are all there. */
	struct ipam_subnet host[] = {sn("172.17.0.0/16")};
	struct ipam_config again = {.avoid = host, .navoid = 1};
	CHECK_EQ_INT(ipam_open(&n, dir, "app_default", &again, &err), 0);
	CHECK_EQ_INT(n.subnet.net, ip("172.17.0.0"));
	CHECK_EQ_INT(n.nleases, 3);
	CHECK(ipam_find(&n, "web") != NULL && ipam_find(&n, "web")->addr == ip("172.17.0.2"));
	CHECK(ipam_find(&n, "db") != NULL && ipam_find(&n, "db")->addr == ip("172.17.3.3"));
	CHECK_EQ_INT(ipam_lease(&n, "cache", NULL, &a, &err), 0);
	CHECK_EQ_INT(a, ip("172.17.0.3"));
	ipam_close(&n);

	/* The explicit subnet it has is fine; another one is refused. */
	struct ipam_config same = {.subnet = "172.17.0.0/16", .gateway = "172.17.0.1"};
	CHECK_EQ_INT(ipam_open(&n, dir, "app_default", &same, &err), 0);
	ipam_close(&n);
	struct ipam_config other = {.subnet = "10.0.0.0/24"};
	CHECK_EQ_INT(ipam_open(&n, dir, "app_default", &other, &err), -EEXIST);
	CHECK_STR_CONTAINS(err.msg, "172.17.0.0/16");
	CHECK_STR_CONTAINS(err.msg, "10.0.0.0/24");
	struct ipam_config othergw = {.gateway = "172.17.0.254"};
	CHECK_EQ_INT(ipam_open(&n, dir, "app_default", &othergw, &err), -EEXIST);
	CHECK_STR_CONTAINS(err.msg, "gateway");

	/* No temporary file is left behind, and the file reads as JSON text. */
	DIR *d = opendir(dir);
	int files = 0;
	for (struct dirent *de; d != NULL && (de = readdir(d)) != NULL;) {
		if (de->d_name[0] != '.') {
			files++;
			CHECK(strstr(de->d_name, ".tmp") == NULL);
		}
	}
	if (d != NULL) {
		closedir(d);
	}
	CHECK_EQ_INT(files, 1);

	/* Removal, twice. */
	CHECK_EQ_INT(ipam_remove(dir, "app_default", &err), 0);
	CHECK_EQ_INT(ipam_remove(dir, "app_default", &err), 0);
	CHECK_EQ_INT(ipam_open(&n, dir, "app_default", &other, &err), 0);
	CHECK_EQ_INT(n.subnet.net, ip("10.0.0.0"));
	ipam_close(&n);
}

static void test_failed_save_keeps_nothing(void)
{
	const char *dir = fresh_dir("rollback");
	struct berr err;
	struct ipam_config cfg = {.subnet = "10.20.0.0/24"};
	struct ipam_network n;
	uint32_t a = 0;
	CHECK_EQ_INT(ipam_open(&n, dir, "net", &cfg, &err), 0);
	CHECK_EQ_INT(ipam_lease(&n, "web", NULL, &a, &err), 0);
	/* A directory where the temporary file goes makes every save fail,
	 * whoever runs the test (root ignores permissions). */
	char tmp[512];
	snprintf(tmp, sizeof(tmp), "%s/net.json.tmp", dir);
	CHECK_EQ_INT(mkdir(tmp, 0700), 0);
	CHECK(ipam_lease(&n, "db", NULL, &a, &err) < 0);
	CHECK_STR_CONTAINS(err.msg, "net.json");
	CHECK(ipam_find(&n, "db") == NULL);
	CHECK(ipam_lease(&n, "web", "10.20.0.9", &a, &err) < 0);
	CHECK(ipam_find(&n, "web")->addr == ip("10.20.0.2"));
	CHECK(ipam_release(&n, "web", &err) < 0);
	CHECK(ipam_find(&n, "web") != NULL);
	CHECK_EQ_INT(n.nleases, 1);
	rmdir(tmp);
	ipam_close(&n);
}

struct corrupt_case {
	const char *text;
	const char *expect; /* in the message, besides the file name */
};

static void test_corrupt_files(void)
{
	static const struct corrupt_case cases[] = {
		{"", "not valid JSON"},
		{"{", "not valid JSON"},
		{"garbage", "not valid JSON"},
		{"[1, 2]", "not a JSON object"},
		{"{\"version\": 1, \"subnet\": \"10.0.0.0/24\", \"gateway\": \"10.0.0.1\", \"leases\": {}} x",
		 "text after"},
		{"{\"version\": 2, \"subnet\": \"10.0.0.0/24\", \"gateway\": \"10.0.0.1\", \"leases\": {}}", "version"},
		{"{\"version\": \"1\", \"subnet\": \"10.0.0.0/24\", \"gateway\": \"10.0.0.1\", \"leases\": {}}",
		 "version"},
		{"{\"version\": 1, \"gateway\": \"10.0.0.1\", \"leases\": {}}", "subnet"},
		{"{\"version\": 1, \"subnet\": \"10.0.0.5/24\", \"gateway\": \"10.0.0.1\", \"leases\": {}}",
		 "host bits"},
		{"{\"version\": 1, \"subnet\": 17, \"gateway\": \"10.0.0.1\", \"leases\": {}}", "subnet"},
		{"{\"version\": 1, \"subnet\": \"10.0.0.0/24\", \"gateway\": \"10.0.1.1\", \"leases\": {}}", "gateway"},
		{"{\"version\": 1, \"subnet\": \"10.0.0.0/24\", \"leases\": {}}", "gateway"},
		{"{\"version\": 1, \"subnet\": \"10.0.0.0/24\", \"gateway\": \"10.0.0.1\"}", "leases"},
		{"{\"version\": 1, \"subnet\": \"10.0.0.0/24\", \"gateway\": \"10.0.0.1\", \"leases\": []}", "leases"},
		{"{\"version\": 1, \"subnet\": \"10.0.0.0/24\", \"gateway\": \"10.0.0.1\", \"leases\": {}, \"x\": 1}",
		 "unknown key"},
		{"{\"version\": 1, \"subnet\": \"10.0.0.0/24\", \"gateway\": \"10.0.0.1\", "
		 "\"leases\": {\"web\": \"10.0.1.2\"}}",
		 "outside"},
		{"{\"version\": 1, \"subnet\": \"10.0.0.0/24\", \"gateway\": \"10.0.0.1\", "
		 "\"leases\": {\"web\": \"10.0.0.255\"}}",
		 "broadcast"},
		{"{\"version\": 1, \"subnet\": \"10.0.0.0/24\", \"gateway\": \"10.0.0.1\", "
		 "\"leases\": {\"web\": \"10.0.0.1\"}}",
		 "gateway"},
		{"{\"version\": 1, \"subnet\": \"10.0.0.0/24\", \"gateway\": \"10.0.0.1\", "
		 "\"leases\": {\"web\": \"10.0.0.7\", \"db\": \"10.0.0.7\"}}",
		 "leased to both"},
		{"{\"version\": 1, \"subnet\": \"10.0.0.0/24\", \"gateway\": \"10.0.0.1\", "
		 "\"leases\": {\"web\": 7}}",
		 "not an IPv4 address"},
		{"{\"version\": 1, \"subnet\": \"10.0.0.0/24\", \"gateway\": \"10.0.0.1\", "
		 "\"leases\": {\"we b\": \"10.0.0.7\"}}",
		 "owner"},
		{"{\"version\": 1, \"subnet\": \"10.0.0.0/24\", \"gateway\": \"10.0.0.1\", "
		 "\"leases\": {\"web\": {\"a\": [[[[[[[[[[1]]]]]]]]]]}}}",
		 "not valid JSON"},
	};
	const char *dir = fresh_dir("corrupt");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		write_text(dir, "bad.json", cases[i].text, strlen(cases[i].text));
		struct berr err;
		struct ipam_config cfg = {0};
		struct ipam_network n;
		int ret = ipam_open(&n, dir, "bad", &cfg, &err);
		CHECK_EQ_INT(ret, -EINVAL);
		if (ret == 0) {
			fprintf(stderr, "case %zu accepted: %s\n", i, cases[i].text);
			ipam_close(&n);
			continue;
		}
		CHECK_STR_CONTAINS(err.msg, "bad.json");
		CHECK_STR_CONTAINS(err.msg, cases[i].expect);
	}
	/* A NUL byte inside. */
	static const char with_nul[] = "{\"version\": 1}\0{}";
	write_text(dir, "bad.json", with_nul, sizeof(with_nul) - 1);
	struct berr err;
	struct ipam_config cfg = {0};
	struct ipam_network n;
	CHECK_EQ_INT(ipam_open(&n, dir, "bad", &cfg, &err), -EINVAL);
	CHECK_STR_CONTAINS(err.msg, "NUL");

	/* A corrupt neighbour stops the creation of a new network (its subnet
	 * is unknown, so any pick could clash), naming the neighbour. */
	CHECK_EQ_INT(ipam_open(&n, dir, "fresh", &cfg, &err), -EINVAL);
	CHECK_STR_CONTAINS(err.msg, "bad.json");
	char path[512];
	snprintf(path, sizeof(path), "%s/bad.json", dir);
	unlink(path);
	CHECK_EQ_INT(ipam_open(&n, dir, "fresh", &cfg, &err), 0);
	ipam_close(&n);
}

static void test_names(void)
{
	struct berr err;
	struct ipam_config cfg = {0};
	struct ipam_network n;
	const char *dir = fresh_dir("names");
	CHECK_EQ_INT(ipam_open(&n, dir, "../escape", &cfg, &err), -EINVAL);
	CHECK_EQ_INT(ipam_open(&n, dir, ".hidden", &cfg, &err), -EINVAL);
	CHECK_EQ_INT(ipam_open(&n, dir, "a/b", &cfg, &err), -EINVAL);
	CHECK_EQ_INT(ipam_open(&n, dir, "", &cfg, &err), -EINVAL);
	CHECK_EQ_INT(ipam_remove(dir, "../x", &err), -EINVAL);
	CHECK_EQ_INT(ipam_open(&n, dir, "My-app_default.1", &cfg, &err), 0);
	ipam_close(&n);
}

static void test_format_round_trip(void)
{
	static const char text[] = "{\"version\": 1, \"subnet\": \"192.168.16.0/20\", \"gateway\": \"192.168.16.1\", "
				   "\"leases\": {\"b/net\": \"192.168.16.9\", \"a@x:1\": \"192.168.16.3\"}}";
	struct ipam_network n;
	struct ipam_network back;
	struct berr err;
	CHECK_EQ_INT(ipam_parse_state(&n, "mem", text, sizeof(text) - 1, &err), 0);
	CHECK_EQ_INT(n.nleases, 2);
	CHECK_EQ_INT(n.leases[0].addr, ip("192.168.16.3"));
	char *out = NULL;
	CHECK_EQ_INT(ipam_format_state(&n, &out, &err), 0);
	CHECK(out != NULL);
	CHECK_EQ_INT(ipam_parse_state(&back, "mem2", out, out ? strlen(out) : 0, &err), 0);
	CHECK_EQ_INT(back.subnet.net, n.subnet.net);
	CHECK_EQ_INT(back.gateway, n.gateway);
	CHECK_EQ_INT(back.nleases, 2);
	CHECK(strcmp(back.leases[1].owner, "b/net") == 0);
	/* A parsed-only network leases in memory without a file. */
	uint32_t a = 0;
	CHECK_EQ_INT(ipam_lease(&back, "c", NULL, &a, &err), 0);
	CHECK_EQ_INT(a, ip("192.168.16.2"));
	free(out);
	ipam_close(&n);
	ipam_close(&back);
}

int main(void)
{
	if (check_tmpdir(tmpdir) < 0) {
		return 2;
	}
	RUN(test_parse_subnet);
	RUN(test_overlaps);
	RUN(test_pick_pools);
	RUN(test_open_picks_around_other_networks);
	RUN(test_allocation_order);
	RUN(test_fixed_addresses);
	RUN(test_exhaustion);
	RUN(test_persistence);
	RUN(test_failed_save_keeps_nothing);
	RUN(test_corrupt_files);
	RUN(test_names);
	RUN(test_format_round_trip);
	return check_summary();
}
