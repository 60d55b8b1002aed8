/* Cloud metadata: NoCloud's YAML files and the config drive's JSON give the
 * instance's name, keys and network; bad fields are reported by file and
 * field and left out; host.yaml wins where it sets something. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "check.h"
#include "lib/cloudmeta.h"

#define KEY1 "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHpS7aMTSgITsZXtvxzZY9cj5XWK7bgNOrBJv4mKvaP2 user@laptop"
#define KEY2 "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICrQ68HJnoonEJMKF18yzrIL64/CIclYf9OiQHCIkZyK ops"

typedef int (*parser)(struct cloud_meta *m, const char *name, const char *buf, size_t len);

static int run(struct cloud_meta *m, parser p, const char *name, const char *text)
{
	return p(m, name, text, strlen(text));
}

static void show_errors(const struct cloud_meta *m)
{
	for (size_t i = 0; i < m->nerrors && i < CLOUD_MAX_ERRORS; i++) {
		fprintf(stderr, "  error: %s\n", m->errors[i]);
	}
}

static void test_nocloud_meta_data(void)
{
	struct cloud_meta m;
	cloud_meta_init(&m, CLOUD_NOCLOUD);
	run(&m, nocloud_parse_meta_data, "meta-data", "instance-id: iid-local01\nlocal-hostname: web-1\n");
	show_errors(&m);
	CHECK_EQ_INT(m.nerrors, 0);
	CHECK(strcmp(m.instance_id, "iid-local01") == 0);
	CHECK(strcmp(m.hostname, "web-1") == 0);
	CHECK_STR_CONTAINS(m.hostname_from, "meta-data:2: local-hostname");
	cloud_meta_free(&m);

	/* A fully qualified name too long for a host name gives its first label. */
	cloud_meta_init(&m, CLOUD_NOCLOUD);
	run(&m, nocloud_parse_meta_data, "meta-data",
	    "local-hostname: node7.a-very-long-domain-name-that-goes-on-and-on-and-on.region-1.example.com\n");
	CHECK(strcmp(m.hostname, "node7") == 0);
	cloud_meta_free(&m);

	/* JSON is YAML too; public-keys are taken. */
	cloud_meta_init(&m, CLOUD_NOCLOUD);
	run(&m, nocloud_parse_meta_data, "meta-data",
	    "{\"instance-id\": \"i-1\", \"hostname\": \"h1\", \"public-keys\": [\"" KEY1 "\"]}");
	CHECK(strcmp(m.hostname, "h1") == 0);
	CHECK_EQ_INT(m.nkeys, 1);
	cloud_meta_free(&m);
}

static void test_bad_fields_are_named_and_skipped(void)
{
	struct cloud_meta m;
	cloud_meta_init(&m, CLOUD_NOCLOUD);
	run(&m, nocloud_parse_meta_data, "meta-data", "instance-id: i-2\nlocal-hostname: not a name!\n");
	CHECK_EQ_INT(m.nerrors, 1);
	CHECK_STR_CONTAINS(m.errors[0], "meta-data:2: local-hostname: 'not a name!' is not a valid host name");
	CHECK(strcmp(m.instance_id, "i-2") == 0);
	CHECK(m.hostname[0] == '\0');
	cloud_meta_free(&m);

	/* Not YAML at all: one error naming the file, nothing taken. */
	cloud_meta_init(&m, CLOUD_NOCLOUD);
	run(&m, nocloud_parse_meta_data, "meta-data", "instance-id: [unclosed\nlocal-hostname: x\n");
	CHECK_EQ_INT(m.nerrors, 1);
	CHECK_STR_CONTAINS(m.errors[0], "meta-data:");
	CHECK_STR_CONTAINS(m.errors[0], "the whole file is ignored");
	CHECK(m.hostname[0] == '\0');
	cloud_meta_free(&m);

	cloud_meta_init(&m, CLOUD_NOCLOUD);
	run(&m, nocloud_parse_meta_data, "meta-data", "- a list\n- not a mapping\n");
	CHECK_EQ_INT(m.nerrors, 1);
	CHECK_STR_CONTAINS(m.errors[0], "meta-data:1: expected a mapping");
	cloud_meta_free(&m);
}

static void test_user_data(void)
{
	struct cloud_meta m;
	cloud_meta_init(&m, CLOUD_NOCLOUD);
	run(&m, cloud_parse_user_data, "user-data",
	    "#cloud-config\n"
	    "ssh_authorized_keys:\n"
	    "  - " KEY1 "\n"
	    "  - not a key\n"
	    "users:\n"
	    "  - default\n"
	    "  - name: ops\n"
	    "    ssh_authorized_keys: [\"" KEY2 "\", \"" KEY1 "\"]\n");
	CHECK_EQ_INT(m.nkeys, 2); /* KEY1 once */
	CHECK_EQ_INT(m.nerrors, 1);
	CHECK_STR_CONTAINS(m.errors[0], "user-data:4: ssh_authorized_keys: not a public key");
	CHECK_STR_CONTAINS(m.keys_from, "user-data:3");
	cloud_meta_free(&m);

	cloud_meta_init(&m, CLOUD_NOCLOUD);
	run(&m, cloud_parse_user_data, "user-data", "#!/bin/sh\necho hi\n");
	CHECK_EQ_INT(m.nerrors, 1);
	CHECK_STR_CONTAINS(m.errors[0], "user-data:1: a script: Berth reads only #cloud-config");
	cloud_meta_free(&m);

	/* user-data's hostname overrides meta-data's, as cloud-init does. */
	cloud_meta_init(&m, CLOUD_NOCLOUD);
	run(&m, nocloud_parse_meta_data, "meta-data", "local-hostname: from-meta\n");
	run(&m, cloud_parse_user_data, "user-data", "#cloud-config\nhostname: from-user\n");
	CHECK(strcmp(m.hostname, "from-user") == 0);
	run(&m, cloud_parse_user_data, "user-data", "#cloud-config\nhostname: 'bad name'\n");
	CHECK(strcmp(m.hostname, "from-user") == 0);
	cloud_meta_free(&m);
}

static void test_network_config_v2(void)
{
	/* With and without the top-level `network:`. */
	static const char *const texts[] = {
		"network:\n"
		"  version: 2\n"
		"  ethernets:\n"
		"    uplink:\n"
		"      match: {macaddress: '52:54:00:12:34:56'}\n"
		"      addresses: [192.0.2.10/24, '2001:db8::10/64']\n"
		"      gateway4: 192.0.2.1\n"
		"      gateway6: '2001:db8::1'\n"
		"      routes: [{to: 10.0.0.0/8, via: 192.0.2.254}]\n"
		"      nameservers: {addresses: [192.0.2.53]}\n"
		"      mtu: 9000\n"
		"    eth1: {dhcp4: true}\n",
		"version: 2\n"
		"ethernets:\n"
		"  uplink:\n"
		"    match: {macaddress: '52:54:00:12:34:56'}\n"
		"    addresses: [192.0.2.10/24, '2001:db8::10/64']\n"
		"    gateway4: 192.0.2.1\n"
		"    gateway6: '2001:db8::1'\n"
		"    routes: [{to: 10.0.0.0/8, via: 192.0.2.254}]\n"
		"    nameservers: {addresses: [192.0.2.53]}\n"
		"    mtu: 9000\n"
		"  eth1: {dhcp4: true}\n",
	};
	for (size_t t = 0; t < 2; t++) {
		struct cloud_meta m;
		cloud_meta_init(&m, CLOUD_NOCLOUD);
		CHECK_EQ_INT(run(&m, cloud_parse_network_config, "network-config", texts[t]), 0);
		show_errors(&m);
		CHECK_EQ_INT(m.network_set, 1);
		CHECK_EQ_INT(m.nifaces, 2);
		const struct host_iface *f = &m.ifaces[0];
		CHECK_EQ_INT(f->match_mac, 1);
		CHECK_EQ_INT(f->mac[5], 0x56);
		CHECK(strcmp(f->label, "uplink") == 0);
		CHECK_EQ_INT(f->dhcp, 0);
		CHECK_EQ_INT(f->naddrs, 2);
		CHECK_EQ_INT(f->gateway.family, AF_INET);
		CHECK_EQ_INT(f->nroutes, 2); /* 10/8, and the IPv6 default */
		CHECK_EQ_INT(f->mtu, 9000);
		CHECK_EQ_INT(m.ndns, 1);
		CHECK(strcmp(m.ifaces[1].name, "eth1") == 0);
		CHECK_EQ_INT(m.ifaces[1].dhcp, 1);
		CHECK_EQ_INT(m.ifaces[1].match_mac, 0);
		cloud_meta_free(&m);
	}
}

static const char *const V1 = "version: 1\n"
			      "config:\n"
			      "  - type: physical\n"
			      "    name: eth0\n"
			      "    mac_address: 'AA:BB:CC:DD:EE:01'\n"
			      "    subnets:\n"
			      "      - type: static\n"
			      "        address: 198.51.100.7\n"
			      "        netmask: 255.255.255.0\n"
			      "        gateway: 198.51.100.1\n"
			      "        dns_nameservers: [198.51.100.53]\n"
			      "        routes:\n"
			      "          - {network: 10.1.0.0, netmask: 255.255.0.0, gateway: 198.51.100.254}\n"
			      "      - type: ipv6_slaac\n"
			      "  - type: physical\n"
			      "    name: eth1\n"
			      "    subnets: [{type: dhcp}]\n"
			      "  - type: nameserver\n"
			      "    address: [198.51.100.54]\n";

static void test_network_config_v1(void)
{
	struct cloud_meta m;
	cloud_meta_init(&m, CLOUD_NOCLOUD);
	CHECK_EQ_INT(run(&m, cloud_parse_network_config, "network-config", V1), 0);
	show_errors(&m);
	CHECK_EQ_INT(m.nerrors, 0);
	CHECK_EQ_INT(m.nifaces, 2);
	CHECK_EQ_INT(m.ifaces[0].match_mac, 1);
	CHECK_EQ_INT(m.ifaces[0].mac[0], 0xaa);
	CHECK_EQ_INT(m.ifaces[0].naddrs, 1);
	CHECK_EQ_INT(m.ifaces[0].addrs[0].prefix, 24);
	CHECK_EQ_INT(m.ifaces[0].gateway.family, AF_INET);
	CHECK_EQ_INT(m.ifaces[0].nroutes, 1);
	CHECK_EQ_INT(m.ifaces[0].routes[0].to.prefix, 16);
	CHECK_EQ_INT(m.ifaces[1].dhcp, 1);
	CHECK_EQ_INT(m.ndns, 2);
	cloud_meta_free(&m);

	cloud_meta_init(&m, CLOUD_NOCLOUD);
	run(&m, cloud_parse_network_config, "network-config", "version: 3\n");
	CHECK_EQ_INT(m.network_set, 0);
	CHECK_STR_CONTAINS(m.errors[0], "network-config:1: version: expected version 1 or 2");
	cloud_meta_free(&m);
}

static void test_network_is_taken_whole_or_not_at_all(void)
{
	/* A bond Berth cannot set up: none of the file is used, so the host
	 * does what it does without metadata (DHCP where there is a link)
	 * rather than half of what the file meant. */
	char text[2048];
	snprintf(text, sizeof(text), "%s  - type: bond\n    name: bond0\n", V1);
	struct cloud_meta m;
	cloud_meta_init(&m, CLOUD_NOCLOUD);
	CHECK_EQ_INT(run(&m, cloud_parse_network_config, "network-config", text), -1);
	CHECK_EQ_INT(m.network_set, 1);
	CHECK_EQ_INT(m.nifaces, 0);
	CHECK_EQ_INT(m.ndns, 0);
	CHECK_EQ_INT(m.nerrors, 2);
	CHECK_STR_CONTAINS(m.errors[0], "network-config:20: config: type bond is not supported");
	CHECK_STR_CONTAINS(m.errors[1], "network-config: the network configuration is not used, because of the problem "
					"above");
	struct host_config c;
	struct cloud_report r;
	hostcfg_defaults(&c);
	cloud_merge(&c, &m, &r);
	CHECK_EQ_INT(c.nifaces, 0);
	CHECK_STR_CONTAINS(r.lines[0], "network: the metadata names no interface Berth can set up");
	hostcfg_free(&c);
	cloud_meta_free(&m);

	cloud_meta_init(&m, CLOUD_NOCLOUD);
	run(&m, cloud_parse_network_config, "network-config",
	    "version: 2\nethernets:\n  eth0:\n    addresses: [not-an-address]\n  eth1: {dhcp4: true}\n");
	CHECK_EQ_INT(m.nifaces, 0);
	CHECK_STR_CONTAINS(m.errors[0], "network-config:4: addresses: 'not-an-address' is not an address");
	cloud_meta_free(&m);
}

static const char *const META_JSON = "{\"uuid\": \"83679162-1378-4288-a2d4-70e13ec132aa\",\n"
				     " \"hostname\": \"test-vm.novalocal\", \"name\": \"test vm\",\n"
				     " \"public_keys\": {\"mykey\": \"" KEY1 "\\n\"},\n"
				     " \"keys\": [{\"name\": \"mykey\", \"type\": \"ssh\", \"data\": \"" KEY1 "\"},\n"
				     "          {\"name\": \"other\", \"type\": \"ssh\", \"data\": \"" KEY2 "\"}],\n"
				     " \"availability_zone\": \"nova\", \"meta\": {\"x\": [1, 2, {\"y\": null}]}}\n";

static void test_config_drive_meta_data(void)
{
	struct cloud_meta m;
	cloud_meta_init(&m, CLOUD_CONFIG_DRIVE);
	CHECK_EQ_INT(run(&m, configdrive_parse_meta_data, "meta_data.json", META_JSON), 0);
	show_errors(&m);
	CHECK_EQ_INT(m.nerrors, 0);
	CHECK(strcmp(m.instance_id, "83679162-1378-4288-a2d4-70e13ec132aa") == 0);
	CHECK(strcmp(m.hostname, "test-vm.novalocal") == 0);
	CHECK_EQ_INT(m.nkeys, 2);
	CHECK(strcmp(m.ssh_keys[0], KEY1) == 0); /* the line break is gone */
	cloud_meta_free(&m);

	cloud_meta_init(&m, CLOUD_CONFIG_DRIVE);
	run(&m, configdrive_parse_meta_data, "meta_data.json", "{\"hostname\": 7, \"public_keys\": [1]}");
	CHECK_EQ_INT(m.nerrors, 2);
	CHECK_STR_CONTAINS(m.errors[0], "meta_data.json.hostname: expected a string");
	CHECK_STR_CONTAINS(m.errors[1], "public_keys: expected an object");
	cloud_meta_free(&m);

	/* Not JSON: the line where parsing stopped. */
	cloud_meta_init(&m, CLOUD_CONFIG_DRIVE);
	run(&m, configdrive_parse_meta_data, "meta_data.json", "{\n\"uuid\": \"x\",\n\"hostname\": oops\n}");
	CHECK_EQ_INT(m.nerrors, 1);
	CHECK_STR_CONTAINS(m.errors[0], "meta_data.json:3: not JSON");
	cloud_meta_free(&m);

	cloud_meta_init(&m, CLOUD_CONFIG_DRIVE);
	run(&m, configdrive_parse_meta_data, "meta_data.json", "{}\n\n{\"hostname\": \"second\"}");
	CHECK_STR_CONTAINS(m.errors[0], "meta_data.json:3: not JSON");
	CHECK(m.hostname[0] == '\0');
	cloud_meta_free(&m);
}

static void test_config_drive_network_data(void)
{
	struct cloud_meta m;
	cloud_meta_init(&m, CLOUD_CONFIG_DRIVE);
	int ret = run(
		&m, configdrive_parse_network_data, "network_data.json",
		"{\"links\": [{\"id\": \"tap1\", \"type\": \"ovs\", \"ethernet_mac_address\": \"fa:16:3e:00:00:01\","
		"              \"mtu\": 1450},"
		"             {\"id\": \"tap2\", \"type\": \"phy\", \"ethernet_mac_address\": \"fa:16:3e:00:00:02\"},"
		"             {\"id\": \"bond0\", \"type\": \"bond\", \"ethernet_mac_address\": "
		"\"fa:16:3e:00:00:03\"}],"
		" \"networks\": [{\"id\": \"n0\", \"type\": \"ipv4\", \"link\": \"tap1\", \"ip_address\": \"10.0.0.5\","
		"                \"netmask\": \"255.255.255.0\","
		"                \"routes\": [{\"network\": \"0.0.0.0\", \"netmask\": \"0.0.0.0\", \"gateway\": "
		"\"10.0.0.1\"}]},"
		"               {\"id\": \"n1\", \"type\": \"ipv6\", \"link\": \"tap1\", \"ip_address\": \"fd00::5\","
		"                \"netmask\": \"ffff:ffff:ffff:ffff::\"},"
		"               {\"id\": \"n2\", \"type\": \"ipv4_dhcp\", \"link\": \"tap2\"}],"
		" \"services\": [{\"type\": \"dns\", \"address\": \"10.0.0.2\"}]}");
	CHECK_EQ_INT(ret, 0);
	show_errors(&m);
	CHECK_EQ_INT(m.nerrors, 0);
	CHECK_EQ_INT(m.nifaces, 2);
	CHECK_EQ_INT(m.ifaces[0].match_mac, 1);
	CHECK_EQ_INT(m.ifaces[0].mac[5], 1);
	CHECK_EQ_INT(m.ifaces[0].mtu, 1450);
	CHECK_EQ_INT(m.ifaces[0].naddrs, 2);
	CHECK_EQ_INT(m.ifaces[0].addrs[1].prefix, 64);
	CHECK_EQ_INT(m.ifaces[0].gateway.family, AF_INET);
	CHECK_EQ_INT(m.ifaces[1].dhcp, 1);
	CHECK_EQ_INT(m.ndns, 1);
	cloud_meta_free(&m);

	cloud_meta_init(&m, CLOUD_CONFIG_DRIVE);
	run(&m, configdrive_parse_network_data, "network_data.json",
	    "{\"links\": [{\"id\": \"b\", \"type\": \"bond\", \"ethernet_mac_address\": \"fa:16:3e:00:00:03\"}],"
	    " \"networks\": [{\"id\": \"n\", \"type\": \"ipv4_dhcp\", \"link\": \"b\"}]}");
	CHECK_EQ_INT(m.nifaces, 0);
	CHECK_STR_CONTAINS(m.errors[0], "network_data.json: networks[0]: links[0]: type bond is not supported");
	cloud_meta_free(&m);
}

static void test_netmask_prefix(void)
{
	CHECK_EQ_INT(cloud_netmask_prefix("255.255.255.0"), 24);
	CHECK_EQ_INT(cloud_netmask_prefix("255.255.255.255"), 32);
	CHECK_EQ_INT(cloud_netmask_prefix("0.0.0.0"), 0);
	CHECK_EQ_INT(cloud_netmask_prefix("255.0.255.0"), -1);
	CHECK_EQ_INT(cloud_netmask_prefix("ffff:ffff:ffff:ffff::"), 64);
	CHECK_EQ_INT(cloud_netmask_prefix("nonsense"), -1);
}

static void test_host_yaml_wins_where_it_sets_something(void)
{
	struct cloud_meta m;
	cloud_meta_init(&m, CLOUD_NOCLOUD);
	run(&m, nocloud_parse_meta_data, "meta-data", "local-hostname: meta-name\n");
	run(&m, cloud_parse_user_data, "user-data", "#cloud-config\nssh_authorized_keys: [\"" KEY2 "\"]\n");
	run(&m, cloud_parse_network_config, "network-config",
	    "version: 2\nethernets:\n  eth0: {addresses: [192.0.2.9/24]}\n  eth1: {dhcp4: true}\n");

	/* host.yaml with a host name and its own network: those stay, the
	 * keys come from the metadata. */
	struct host_config c;
	hostcfg_defaults(&c);
	const char *y = "hostname: from-yaml\nnetwork:\n  interfaces:\n    eth0: {dhcp: true}\n";
	CHECK_EQ_INT(hostcfg_parse(&c, "host.yaml", y, strlen(y)), 0);
	struct cloud_report r;
	cloud_merge(&c, &m, &r);
	CHECK(strcmp(c.hostname, "from-yaml") == 0);
	CHECK_EQ_INT(c.nifaces, 1);
	CHECK_EQ_INT(c.ifaces[0].dhcp, 1);
	CHECK_EQ_INT(c.nkeys, 1);
	CHECK(strcmp(c.ssh_keys[0], KEY2) == 0);
	CHECK_EQ_INT(r.n, 3);
	CHECK_STR_CONTAINS(r.lines[0], "hostname: host.yaml's from-yaml, not the metadata's meta-name");
	CHECK_STR_CONTAINS(r.lines[1], "ssh keys: 1 (user-data:2: ssh_authorized_keys)");
	CHECK_STR_CONTAINS(r.lines[2], "network: host.yaml's 1 interface, not the metadata's 2");
	hostcfg_free(&c);
	cloud_meta_free(&m);

	/* An empty host.yaml takes everything. */
	cloud_meta_init(&m, CLOUD_NOCLOUD);
	run(&m, nocloud_parse_meta_data, "meta-data", "local-hostname: meta-name\n");
	run(&m, cloud_parse_network_config, "network-config",
	    "version: 2\nethernets:\n  eth0:\n    addresses: [192.0.2.9/24]\n    nameservers: {addresses: "
	    "[192.0.2.53]}\n");
	hostcfg_defaults(&c);
	cloud_merge(&c, &m, &r);
	CHECK(strcmp(c.hostname, "meta-name") == 0);
	CHECK_EQ_INT(c.nifaces, 1);
	CHECK_EQ_INT(c.ndns, 1);
	CHECK_STR_CONTAINS(r.lines[0], "hostname: meta-name (meta-data:1: local-hostname)");
	hostcfg_free(&c);
	cloud_meta_free(&m);
}

static void test_errors_are_counted_and_bounded(void)
{
	struct cloud_meta m;
	cloud_meta_init(&m, CLOUD_NOCLOUD);
	char text[8192] = "#cloud-config\nssh_authorized_keys:\n";
	for (int i = 0; i < 40; i++) {
		strcat(text, "  - nope\n");
	}
	run(&m, cloud_parse_user_data, "user-data", text);
	CHECK_EQ_INT(m.nerrors, 40);
	CHECK_EQ_INT(m.nkeys, 0);
	CHECK_STR_CONTAINS(m.errors[CLOUD_MAX_ERRORS - 1], "user-data:");
	cloud_meta_free(&m);
}

int main(void)
{
	RUN(test_nocloud_meta_data);
	RUN(test_bad_fields_are_named_and_skipped);
	RUN(test_user_data);
	RUN(test_network_config_v2);
	RUN(test_network_config_v1);
	RUN(test_network_is_taken_whole_or_not_at_all);
	RUN(test_config_drive_meta_data);
	RUN(test_config_drive_network_data);
	RUN(test_netmask_prefix);
	RUN(test_host_yaml_wins_where_it_sets_something);
	RUN(test_errors_are_counted_and_bounded);
	return check_summary();
}
