/* host.yaml: good files give the settings, bad ones give "file:line:
 * field: ..." and leave only the broken section at its default. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "check.h"
#include "lib/hostcfg.h"

#define ED25519 "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHpS7aMTSgITsZXtvxzZY9cj5XWK7bgNOrBJv4mKvaP2 user@laptop"
#define RSA_TYPE_MISMATCH "ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIHpS7aMTSgITsZXtvxzZY9cj5XWK7bgNOrBJv4mKvaP2 x"

static int parse(struct host_config *c, const char *text)
{
	hostcfg_defaults(c);
	return hostcfg_parse(c, "host.yaml", text, strlen(text));
}

static void test_empty_file_gives_defaults(void)
{
	struct host_config c;
	CHECK_EQ_INT(parse(&c, ""), 0);
	CHECK_EQ_INT(c.nifaces, 0);
	CHECK_EQ_INT(c.console, HOST_CONSOLE_SHELL);
	CHECK_EQ_INT(c.nntp, 1);
	CHECK(c.hostname[0] == '\0');
	hostcfg_free(&c);
}

static void test_full_file(void)
{
	struct host_config c;
	const char *y = "hostname: edge-01\n"
			"network:\n"
			"  interfaces:\n"
			"    eth0:\n"
			"      addresses: [192.168.1.10/24, '2001:db8::10/64']\n"
			"      gateway: 192.168.1.1\n"
			"      routes:\n"
			"        - {to: 10.0.0.0/8, via: 192.168.1.254}\n"
			"      mtu: 1400\n"
			"    eth1: {dhcp: true}\n"
			"  dns: [1.1.1.1, 9.9.9.9]\n"
			"ssh_authorized_keys:\n"
			"  - " ED25519 "\n"
			"ntp:\n"
			"  servers: [time.example.net, 192.0.2.123]\n"
			"sysctls:\n"
			"  net.core.somaxconn: 1024\n"
			"  vm.swappiness: 10\n"
			"timezone: Europe/Paris\n"
			"console: off\n"
			"on_failure: reboot\n";
	CHECK_EQ_INT(parse(&c, y), 0);
	for (size_t i = 0; i < c.nerrors; i++) {
		fprintf(stderr, "unexpected: %s\n", c.errors[i]);
	}
	CHECK(strcmp(c.hostname, "edge-01") == 0);
	CHECK_EQ_INT(c.nifaces, 2);
	CHECK(strcmp(c.ifaces[0].name, "eth0") == 0);
	CHECK_EQ_INT(c.ifaces[0].dhcp, 0);
	CHECK_EQ_INT(c.ifaces[0].naddrs, 2);
	CHECK_EQ_INT(c.ifaces[0].addrs[0].family, AF_INET);
	CHECK_EQ_INT(c.ifaces[0].addrs[0].prefix, 24);
	CHECK_EQ_INT(c.ifaces[0].addrs[1].family, AF_INET6);
	CHECK_EQ_INT(c.ifaces[0].gateway.family, AF_INET);
	CHECK_EQ_INT(c.ifaces[0].nroutes, 1);
	CHECK_EQ_INT(c.ifaces[0].routes[0].to.prefix, 8);
	CHECK_EQ_INT(c.ifaces[0].mtu, 1400);
	CHECK_EQ_INT(c.ifaces[1].dhcp, 1);
	CHECK_EQ_INT(c.ndns, 2);
	CHECK_EQ_INT(c.nkeys, 1);
	CHECK(strcmp(c.ssh_keys[0], ED25519) == 0);
	CHECK_EQ_INT(c.nntp, 2);
	CHECK(strcmp(c.ntp[1], "192.0.2.123") == 0);
	CHECK_EQ_INT(c.nsysctls, 2);
	CHECK(strcmp(c.sysctls[0].key, "net.core.somaxconn") == 0 && strcmp(c.sysctls[0].value, "1024") == 0);
	CHECK(strcmp(c.timezone, "Europe/Paris") == 0);
	CHECK_EQ_INT(c.console, HOST_CONSOLE_OFF);
	CHECK_EQ_INT(c.on_failure, HOST_ON_FAILURE_REBOOT);
	hostcfg_free(&c);
}

/* Each bad input: the error names the file, the line and the field. */
static void check_error(const char *yaml, const char *expect_prefix, const char *expect_text)
{
	struct host_config c;
	int n = parse(&c, yaml);
	CHECK(n >= 1);
	if (n >= 1) {
		CHECK(strncmp(c.errors[0], expect_prefix, strlen(expect_prefix)) == 0);
		CHECK_STR_CONTAINS(c.errors[0], expect_text);
		if (strncmp(c.errors[0], expect_prefix, strlen(expect_prefix)) != 0) {
			fprintf(stderr, "  got: %s\n", c.errors[0]);
		}
	}
	hostcfg_free(&c);
}

static void test_errors_name_file_line_and_field(void)
{
	check_error("hostname: [a, b]\n", "host.yaml:1: ", "hostname: expected a string");
	check_error("hostname: -bad-\n", "host.yaml:1: ", "hostname: '-bad-' is not a valid host name");
	check_error("\nnetwork:\n  interfaces:\n    eth0:\n      addresses: [300.1.1.1/24]\n",
		    "host.yaml:5: ", "addresses: '300.1.1.1/24'");
	check_error("network:\n  interfaces:\n    eth0:\n      addresses: [10.0.0.1]\n",
		    "host.yaml:4: ", "prefix length");
	check_error("network:\n  interfaces:\n    eth0:\n      gateway: 10.0.0.1/24\n", "host.yaml:4: ", "gateway:");
	check_error("network:\n  interfacs: {}\n", "host.yaml:2: ", "unknown key 'interfacs' in network");
	check_error("network:\n  interfaces:\n    eth0:\n      mtu: 9\n", "host.yaml:4: ", "mtu: 9 is out of range");
	check_error("network:\n  interfaces:\n    eth0:\n      dhcp: maybe\n",
		    "host.yaml:4: ", "dhcp: expected true or false");
	check_error("network:\n  interfaces:\n    eth0:\n      routes:\n        - to: 10.0.0.0/8\n",
		    "host.yaml:5: ", "needs both 'to' and 'via'");
	check_error("ssh_authorized_keys:\n  - hello world\n", "host.yaml:2: ", "entry 1 is not a public key");
	check_error("ssh_authorized_keys:\n  - " RSA_TYPE_MISMATCH "\n", "host.yaml:2: ", "does not match its type");
	check_error("ntp:\n  servers: [\"bad host!\"]\n", "host.yaml:2: ", "ntp.servers");
	check_error("sysctls:\n  ../../etc/passwd: 1\n", "host.yaml:2: ", "not a sysctl name");
	check_error("sysctls:\n  kernel.x: [1]\n", "host.yaml:2: ", "sysctls.kernel.x");
	check_error("timezone: ../../etc/shadow\n", "host.yaml:1: ", "timezone:");
	check_error("console: maybe\n", "host.yaml:1: ", "console: expected 'shell' or 'off'");
	check_error("colsone: off\n", "host.yaml:1: ", "unknown key 'colsone'");
	check_error("containers:\n  bind_mounts: [/srv/../etc]\n", "host.yaml:2: ", "not a clean absolute path");
	check_error("containers:\n  bind_mounts: [/]\n", "host.yaml:2: ", "not a clean absolute path");
	check_error("containers:\n  binds: []\n", "host.yaml:2: ", "containers: unknown key 'binds'");
	check_error("hostname: a\nhostname: b\n", "host.yaml:2: ", "duplicate key 'hostname' (first at line 1)");
	check_error("hostname: [unclosed\n", "host.yaml:", "");
	check_error("- a\n- b\n", "host.yaml:1: ", "expected a mapping");
}

static void test_container_bind_mounts(void)
{
	struct host_config c;
	CHECK_EQ_INT(parse(&c, "containers:\n  bind_mounts: [/srv/media, /dev/ttyUSB0]\n"), 0);
	CHECK_EQ_INT(c.nbind_allow, 2);
	CHECK(strcmp(c.bind_allow[0], "/srv/media") == 0 && strcmp(c.bind_allow[1], "/dev/ttyUSB0") == 0);
	hostcfg_free(&c);
}

static void test_bad_section_keeps_the_others(void)
{
	struct host_config c;
	const char *y = "hostname: good-name\n"
			"ntp:\n"
			"  servrs: [x]\n"
			"ssh_authorized_keys:\n"
			"  - " ED25519 "\n";
	CHECK_EQ_INT(parse(&c, y), 1);
	CHECK_STR_CONTAINS(c.errors[0], "host.yaml:3: unknown key 'servrs' in ntp");
	CHECK(strcmp(c.hostname, "good-name") == 0);
	CHECK_EQ_INT(c.nkeys, 1);
	CHECK_EQ_INT(c.nntp, 1); /* the default */
	hostcfg_free(&c);
}

static void test_bad_network_falls_back_to_dhcp(void)
{
	struct host_config c;
	const char *y = "network:\n"
			"  interfaces:\n"
			"    eth0: {addresses: [10.0.0.2/24]}\n"
			"    eth1: {addresses: [nonsense]}\n";
	CHECK_EQ_INT(parse(&c, y), 1);
	CHECK_EQ_INT(c.nifaces, 0);
	hostcfg_free(&c);
}

static void test_ntp_can_be_turned_off(void)
{
	struct host_config c;
	CHECK_EQ_INT(parse(&c, "ntp:\n  servers: []\n"), 0);
	CHECK_EQ_INT(c.nntp, 0);
	CHECK_EQ_INT(c.ntp_set, 1);
	hostcfg_free(&c);
}

static void test_anchors_and_aliases(void)
{
	struct host_config c;
	const char *y = "x-key: &k " ED25519 "\n"
			"ssh_authorized_keys: [*k]\n";
	/* x-key is unknown, reported; the alias still resolves. */
	CHECK_EQ_INT(parse(&c, y), 1);
	CHECK_EQ_INT(c.nkeys, 1);
	hostcfg_free(&c);
	CHECK(parse(&c, "ssh_authorized_keys: [*nope]\n") == 1);
	CHECK_STR_CONTAINS(c.errors[0], "unknown alias");
	hostcfg_free(&c);
}

static void test_ip_parser(void)
{
	struct host_ip ip;
	CHECK_EQ_INT(hostcfg_parse_ip("10.1.2.3/32", 1, &ip), 0);
	CHECK(hostcfg_parse_ip("10.1.2.3/33", 1, &ip) < 0);
	CHECK(hostcfg_parse_ip("::1/129", 1, &ip) < 0);
	CHECK(hostcfg_parse_ip("10.1.2.3/", 1, &ip) < 0);
	CHECK(hostcfg_parse_ip("10.1.2.3/-1", 1, &ip) < 0);
	CHECK(hostcfg_parse_ip("10.1.2.3/+8", 1, &ip) < 0);
	CHECK(hostcfg_parse_ip("10.1.2.3/ 8", 1, &ip) < 0);
	CHECK(hostcfg_parse_ip("10.1.2.3/99999999999999999999", 1, &ip) < 0);
	CHECK(hostcfg_parse_ip("10.1.2.3", 1, &ip) < 0);
	CHECK(hostcfg_parse_ip("10.1.2.3/8", 0, &ip) < 0);
	CHECK_EQ_INT(hostcfg_parse_ip("fe80::1", 0, &ip), 0);
	CHECK_EQ_INT(ip.family, AF_INET6);
}

static void test_many_errors_are_counted_and_bounded(void)
{
	/* 40 unknown sections: every one counts, the first HOST_MAX_ERRORS are kept. */
	char text[4096] = "";
	for (int i = 0; i < 40; i++) {
		char line[64];
		snprintf(line, sizeof(line), "unknown%d: 1\n", i);
		strcat(text, line);
	}
	struct host_config c;
	hostcfg_defaults(&c);
	int n = hostcfg_parse(&c, "host.yaml", text, strlen(text));
	CHECK(n >= 40);
	CHECK_EQ_INT((int)c.nerrors, n);
	CHECK(strstr(c.errors[HOST_MAX_ERRORS - 1], "host.yaml:") != NULL);
	hostcfg_free(&c);
}

static void test_updates_and_watchdog(void)
{
	struct host_config c;
	CHECK_EQ_INT(parse(&c, ""), 0);
	CHECK_EQ_INT(c.watchdog_sec, 60);
	CHECK_EQ_INT(c.health_timeout_sec, 300);
	CHECK_EQ_INT(c.trial_boots, 3);
	CHECK_EQ_INT(parse(&c, "watchdog: 15\nupdates: {health_timeout: 120, trial_boots: 2}\n"), 0);
	CHECK_EQ_INT(c.watchdog_sec, 15);
	CHECK_EQ_INT(c.health_timeout_sec, 120);
	CHECK_EQ_INT(c.trial_boots, 2);
	CHECK_EQ_INT(parse(&c, "watchdog: off\n"), 0);
	CHECK_EQ_INT(c.watchdog_sec, 0);
	/* Out of range: that section keeps its default, with the line. */
	CHECK_EQ_INT(parse(&c, "watchdog: 0\nupdates:\n  trial_boots: 10\n"), 2);
	CHECK_EQ_INT(c.watchdog_sec, 60);
	CHECK_EQ_INT(c.trial_boots, 3);
	CHECK_STR_CONTAINS(c.errors[0], "host.yaml:1:");
	CHECK_STR_CONTAINS(c.errors[1], "updates.trial_boots");
	CHECK_EQ_INT(parse(&c, "updates: {tries: 3}\n"), 1);
	CHECK_STR_CONTAINS(c.errors[0], "tries");
	hostcfg_free(&c);
}

static void test_interfaces_matched_by_mac(void)
{
	struct host_config c;
	const char *y = "network:\n"
			"  interfaces:\n"
			"    uplink-to-the-core-switch:\n"
			"      match: {macaddress: '52:54:00:AB:cd:01'}\n"
			"      addresses: [192.0.2.10/24]\n"
			"    eth1: {}\n";
	CHECK_EQ_INT(parse(&c, y), 0);
	CHECK_EQ_INT(c.nifaces, 2);
	CHECK_EQ_INT(c.ifaces[0].match_mac, 1);
	CHECK(c.ifaces[0].name[0] == '\0');
	CHECK(strcmp(c.ifaces[0].label, "uplink-to-the-core-switch") == 0);
	CHECK_EQ_INT(c.ifaces[0].mac[3], 0xab);
	CHECK_EQ_INT(c.ifaces[0].mac[5], 0x01);
	CHECK_EQ_INT(c.ifaces[1].match_mac, 0);
	CHECK(strcmp(c.ifaces[1].name, "eth1") == 0);
	CHECK(c.set & HOST_SET_IFACES);
	CHECK(!(c.set & HOST_SET_DNS));
	hostcfg_free(&c);

	check_error("network:\n  interfaces:\n    a:\n      match: {macaddress: '52:54:00:ab:cd'}\n",
		    "host.yaml:4: ", "network.interfaces.a.match.macaddress: '52:54:00:ab:cd' is not a MAC address");
	check_error("network:\n  interfaces:\n    a:\n      match: {name: eth0}\n",
		    "host.yaml:4: ", "unknown key 'name' in network.interfaces.a.match");
	check_error("network:\n  interfaces:\n    a:\n      match: {}\n", "host.yaml:4: ", "needs 'macaddress'");
	check_error("network:\n  interfaces:\n    uplink-to-the-core-switch: {dhcp: true}\n",
		    "host.yaml:3: ", "kernel names have at most 15 characters");
	check_error("network:\n  interfaces:\n"
		    "    a: {match: {macaddress: '52:54:00:ab:cd:01'}}\n"
		    "    b: {match: {macaddress: '52:54:00:AB:CD:01'}}\n",
		    "host.yaml:4: ", "network.interfaces.b: names the same interface as a");
	CHECK_EQ_INT(hostcfg_parse_mac("52:54:00:12:34:5g", (unsigned char[6]){0}), -EINVAL);
	CHECK_EQ_INT(hostcfg_parse_mac("52:54:00:12:34:567", (unsigned char[6]){0}), -EINVAL);
	CHECK_EQ_INT(hostcfg_parse_mac("52-54-00-12-34-56", (unsigned char[6]){0}), -EINVAL);
}

static void test_set_flags_say_what_host_yaml_gave(void)
{
	struct host_config c;
	CHECK_EQ_INT(parse(&c, ""), 0);
	CHECK_EQ_INT(c.set, 0);
	hostcfg_free(&c);
	CHECK_EQ_INT(parse(&c, "hostname: a\nssh_authorized_keys: []\nnetwork:\n  dns: [192.0.2.53]\n"), 0);
	CHECK_EQ_INT(c.set, HOST_SET_HOSTNAME | HOST_SET_KEYS | HOST_SET_DNS);
	hostcfg_free(&c);
	/* A section with an error sets nothing. */
	CHECK_EQ_INT(parse(&c, "hostname: -bad-\n"), 1);
	CHECK_EQ_INT(c.set, 0);
	hostcfg_free(&c);
}

/* Which keys change on a running host, and a network compared as
 * parsed (the same text in another order of keys is the same network):
 * its interfaces apart from its DNS servers, since init touches no link
 * for a change of DNS alone. */
static void test_when_and_same_network(void)
{
	CHECK(hostcfg_when("hostname") == HOST_LIVE);
	CHECK(hostcfg_when("ntp") == HOST_LIVE);
	CHECK(hostcfg_when("network") == HOST_ON_TRIAL);
	CHECK(hostcfg_when("timezone") == HOST_LIVE);
	CHECK(hostcfg_when("console") == HOST_AT_BOOT);
	CHECK(hostcfg_when("updates") == HOST_AT_BOOT);
	static struct host_config a;
	static struct host_config b;
	const char *iface = "network:\n  interfaces:\n    eth0:\n      addresses: [10.0.2.15/24]\n"
			    "      gateway: 10.0.2.2\n";
	char text[512];
	snprintf(text, sizeof(text), "%s  dns: [10.0.2.3]\nhostname: one\n", iface);
	const char *same = "hostname: two\nnetwork:\n  dns: [10.0.2.3]\n  interfaces:\n    eth0:\n"
			   "      gateway: 10.0.2.2\n      addresses: [10.0.2.15/24]\n";
	CHECK_EQ_INT(parse(&a, text), 0);
	CHECK_EQ_INT(parse(&b, same), 0);
	CHECK(hostcfg_same_interfaces(&a, &b));
	CHECK(hostcfg_same_dns(&a, &b));
	hostcfg_free(&b);
	/* Another server, another order, one more, none: DNS alone. */
	const char *dns_only[] = {"  dns: [10.0.2.4]\n", "  dns: [1.1.1.1, 10.0.2.3]\n", "  dns: [10.0.2.3, 1.1.1.1]\n",
				  ""};
	for (size_t i = 0; i < sizeof(dns_only) / sizeof(dns_only[0]); i++) {
		snprintf(text, sizeof(text), "%s%s", iface, dns_only[i]);
		CHECK_EQ_INT(parse(&b, text), 0);
		CHECK(hostcfg_same_interfaces(&a, &b));
		CHECK(!hostcfg_same_dns(&a, &b));
		hostcfg_free(&b);
	}
	/* An address, DHCP or an MTU: the interfaces, with the DNS the same. */
	const char *changed[] = {"network:\n  interfaces:\n    eth0:\n      addresses: [10.0.3.15/24]\n"
				 "      gateway: 10.0.2.2\n  dns: [10.0.2.3]\n",
				 "network:\n  interfaces:\n    eth0:\n      dhcp: true\n  dns: [10.0.2.3]\n",
				 "network:\n  interfaces:\n    eth0:\n      addresses: [10.0.2.15/24]\n"
				 "      gateway: 10.0.2.2\n      mtu: 9000\n  dns: [10.0.2.3]\n",
				 "network:\n  dns: [10.0.2.3]\n"};
	for (size_t i = 0; i < sizeof(changed) / sizeof(changed[0]); i++) {
		CHECK_EQ_INT(parse(&b, changed[i]), 0);
		CHECK(!hostcfg_same_interfaces(&a, &b));
		CHECK(hostcfg_same_dns(&a, &b));
		hostcfg_free(&b);
	}
	CHECK_EQ_INT(parse(&b, ""), 0);
	CHECK(!hostcfg_same_interfaces(&a, &b));
	CHECK(!hostcfg_same_dns(&a, &b));
	hostcfg_free(&a);
	hostcfg_free(&b);
}

int main(void)
{
	RUN(test_empty_file_gives_defaults);
	RUN(test_full_file);
	RUN(test_errors_name_file_line_and_field);
	RUN(test_bad_section_keeps_the_others);
	RUN(test_container_bind_mounts);
	RUN(test_bad_network_falls_back_to_dhcp);
	RUN(test_ntp_can_be_turned_off);
	RUN(test_anchors_and_aliases);
	RUN(test_ip_parser);
	RUN(test_many_errors_are_counted_and_bounded);
	RUN(test_updates_and_watchdog);
	RUN(test_interfaces_matched_by_mac);
	RUN(test_set_flags_say_what_host_yaml_gave);
	RUN(test_when_and_same_network);
	return check_summary();
}
