/* The OpenStack config drive's JSON files (see cloudmeta.h), read with
 * json-c: meta_data.json and network_data.json. A file that is not JSON
 * gives one error with the line where parsing stopped; a bad field is
 * reported by its path ("links[0].ethernet_mac_address") and skipped. */
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "lib/cloudmeta.h"

/* Nesting that real metadata never needs: json-c refuses deeper input
 * before it allocates for it. */
#define JSON_DEPTH 16

static json_object *parse_json(struct cloud_meta *m, const char *name, const char *buf, size_t len)
{
	if (len > CLOUD_MAX_FILE) {
		cloud_error(m, "%s: larger than %u bytes; the whole file is ignored", name, CLOUD_MAX_FILE);
		return NULL;
	}
	struct json_tokener *tok = json_tokener_new_ex(JSON_DEPTH);
	if (tok == NULL) {
		cloud_error(m, "%s: out of memory", name);
		return NULL;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	json_object *root = json_tokener_parse_ex(tok, buf, (int)len);
	enum json_tokener_error jerr = json_tokener_get_error(tok);
	size_t end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	/* Whitespace may follow the value; nothing else may. */
	size_t rest = end;
	while (rest < len && strchr(" \t\r\n", buf[rest]) != NULL && buf[rest] != '\0') {
		rest++;
	}
	if (root == NULL || jerr != json_tokener_success || rest != len) {
		int line = 1;
		for (size_t i = 0; i < end && i < len; i++) {
			line += buf[i] == '\n';
		}
		const char *why = root != NULL && jerr == json_tokener_success ? "text after the JSON value"
				  : jerr == json_tokener_continue	       ? "unexpected end"
									       : json_tokener_error_desc(jerr);
		cloud_error(m, "%s:%d: not JSON (%s); the whole file is ignored", name, line, why);
		json_object_put(root);
		return NULL;
	}
	if (!json_object_is_type(root, json_type_object)) {
		cloud_error(m, "%s:1: expected a JSON object; the whole file is ignored", name);
		json_object_put(root);
		return NULL;
	}
	return root;
}

static json_object *member(json_object *o, const char *key)
{
	json_object *v = NULL;
	if (o == NULL || !json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &v)) {
		return NULL;
	}
	return json_object_is_type(v, json_type_null) ? NULL : v;
}

/* The string at key, or NULL; a value of another type is reported. */
static const char *string_at(struct cloud_meta *m, json_object *o, const char *key, const char *where)
{
	json_object *v = member(o, key);
	if (v == NULL) {
		return NULL;
	}
	if (!json_object_is_type(v, json_type_string)) {
		cloud_error(m, "%s.%s: expected a string; ignored", where, key);
		return NULL;
	}
	return json_object_get_string(v);
}

static json_object *array_at(struct cloud_meta *m, json_object *o, const char *key, const char *where)
{
	json_object *v = member(o, key);
	if (v != NULL && !json_object_is_type(v, json_type_array)) {
		cloud_error(m, "%s.%s: expected a list; ignored", where, key);
		return NULL;
	}
	return v;
}

int configdrive_parse_meta_data(struct cloud_meta *m, const char *name, const char *buf, size_t len)
{
	json_object *root = parse_json(m, name, buf, len);
	if (root == NULL) {
		return -1;
	}
	char w[160];
	const char *s = string_at(m, root, "uuid", name);
	if (s != NULL) {
		if (strlen(s) >= sizeof(m->instance_id) || strpbrk(s, "\n\r") != NULL) {
			cloud_error(m, "%s: uuid: too long or on several lines; ignored", name);
		} else {
			snprintf(m->instance_id, sizeof(m->instance_id), "%s", s);
		}
	}
	static const char *const names[] = {"hostname", "name"};
	for (size_t i = 0; i < 2 && m->hostname[0] == '\0'; i++) {
		s = string_at(m, root, names[i], name);
		if (s != NULL) {
			snprintf(w, sizeof(w), "%s: %s", name, names[i]);
			cloud_set_hostname(m, s, w);
		}
	}
	json_object *pk = member(root, "public_keys");
	if (pk != NULL && json_object_is_type(pk, json_type_object)) {
		json_object_object_foreach(pk, key, val)
		{
			snprintf(w, sizeof(w), "%s: public_keys.%.60s", name, key);
			if (json_object_is_type(val, json_type_string)) {
				cloud_add_key(m, json_object_get_string(val), w);
			} else {
				cloud_error(m, "%s: expected a string; ignored", w);
			}
		}
	} else if (pk != NULL) {
		cloud_error(m, "%s: public_keys: expected an object of named keys; ignored", name);
	}
	json_object *keys = array_at(m, root, "keys", name);
	for (size_t i = 0; keys != NULL && i < json_object_array_length(keys); i++) {
		json_object *k = json_object_array_get_idx(keys, i);
		snprintf(w, sizeof(w), "%s: keys[%zu]", name, i);
		const char *type = string_at(m, k, "type", w);
		const char *data = string_at(m, k, "data", w);
		if (data != NULL && (type == NULL || strcmp(type, "ssh") == 0)) {
			snprintf(w, sizeof(w), "%s: keys[%zu].data", name, i);
			cloud_add_key(m, data, w);
		}
	}
	json_object_put(root);
	return 0;
}

static void dns_services(struct cloud_meta *m, json_object *services, const char *where)
{
	char w[160];
	for (size_t i = 0; services != NULL && i < json_object_array_length(services); i++) {
		json_object *svc = json_object_array_get_idx(services, i);
		snprintf(w, sizeof(w), "%.120s.services[%zu]", where, i);
		const char *type = string_at(m, svc, "type", w);
		const char *addr = string_at(m, svc, "address", w);
		if (type != NULL && strcmp(type, "dns") == 0 && addr != NULL) {
			cloud_add_dns(m, addr, w);
		}
	}
}

/* The interface of link id, as links[] describes it: by MAC address. */
static struct host_iface *link_iface(struct cloud_meta *m, json_object *links, const char *id, const char *where)
{
	char w[160];
	for (size_t i = 0; links != NULL && i < json_object_array_length(links); i++) {
		json_object *l = json_object_array_get_idx(links, i);
		snprintf(w, sizeof(w), "%.120s: links[%zu]", where, i);
		const char *lid = string_at(m, l, "id", w);
		if (lid == NULL || strcmp(lid, id) != 0) {
			continue;
		}
		const char *type = string_at(m, l, "type", w);
		if (type != NULL && (strcmp(type, "bond") == 0 || strcmp(type, "vlan") == 0)) {
			cloud_error(m, "%s: type %s is not supported (physical links are); ignored", w, type);
			return NULL;
		}
		const char *mac_text = string_at(m, l, "ethernet_mac_address", w);
		unsigned char mac[6];
		if (mac_text == NULL || hostcfg_parse_mac(mac_text, mac) < 0) {
			cloud_error(m, "%s.ethernet_mac_address: '%.60s' is not a MAC address; ignored", w,
				    mac_text ? mac_text : "");
			return NULL;
		}
		char label[64];
		snprintf(label, sizeof(label), "%.63s", id);
		struct host_iface *f = cloud_iface(m, mac, NULL, label, w);
		json_object *mtu = member(l, "mtu");
		if (f != NULL && mtu != NULL) {
			int64_t v = json_object_get_int64(mtu);
			if (!json_object_is_type(mtu, json_type_int) || v < 576 || v > 65535) {
				cloud_error(m, "%s.mtu: expected a number from 576 to 65535; ignored", w);
			} else {
				f->mtu = (int)v;
			}
		}
		return f;
	}
	cloud_error(m, "%s: link '%.60s' is not in links; ignored", where, id);
	return NULL;
}

static void network_entry(struct cloud_meta *m, json_object *links, json_object *net, const char *where)
{
	char w[160];
	const char *type = string_at(m, net, "type", where);
	const char *link = string_at(m, net, "link", where);
	if (type == NULL || link == NULL) {
		cloud_error(m, "%s: a network needs a type and a link; ignored", where);
		return;
	}
	struct host_iface *f = link_iface(m, links, link, where);
	if (f == NULL) {
		return;
	}
	if (strcmp(type, "ipv4_dhcp") == 0) {
		f->dhcp = 1;
	} else if (strcmp(type, "ipv4") == 0 || strcmp(type, "ipv6") == 0) {
		const char *addr = string_at(m, net, "ip_address", where);
		const char *mask = string_at(m, net, "netmask", where);
		if (addr == NULL) {
			cloud_error(m, "%s: a static network needs ip_address; ignored", where);
			return;
		}
		cloud_add_address(m, f, addr, mask, where);
		json_object *routes = array_at(m, net, "routes", where);
		for (size_t i = 0; routes != NULL && i < json_object_array_length(routes); i++) {
			json_object *r = json_object_array_get_idx(routes, i);
			snprintf(w, sizeof(w), "%.120s.routes[%zu]", where, i);
			const char *to = string_at(m, r, "network", w);
			const char *rmask = string_at(m, r, "netmask", w);
			const char *via = string_at(m, r, "gateway", w);
			if (to == NULL || via == NULL) {
				cloud_error(m, "%s: a route needs network and gateway; ignored", w);
				continue;
			}
			if ((strcmp(to, "0.0.0.0") == 0 || strcmp(to, "::") == 0) &&
			    (rmask == NULL || cloud_netmask_prefix(rmask) == 0)) {
				to = "default";
			}
			cloud_add_route(m, f, to, rmask, via, w);
		}
	} else if (strcmp(type, "ipv6_slaac") == 0 || strcmp(type, "ipv6_dhcpv6-stateless") == 0) {
		return; /* the kernel configures it from router advertisements */
	} else {
		cloud_error(m, "%s: type %.40s is not supported (ipv4, ipv6, ipv4_dhcp and ipv6_slaac are)", where,
			    type);
		return;
	}
	dns_services(m, array_at(m, net, "services", where), where);
}

int configdrive_parse_network_data(struct cloud_meta *m, const char *name, const char *buf, size_t len)
{
	json_object *root = parse_json(m, name, buf, len);
	if (root == NULL) {
		return -1;
	}
	size_t before = m->nerrors;
	size_t nifaces = m->nifaces;
	size_t ndns = m->ndns;
	char w[160];
	m->network_set = 1;
	snprintf(m->network_from, sizeof(m->network_from), "%s", name);
	json_object *links = array_at(m, root, "links", name);
	json_object *nets = array_at(m, root, "networks", name);
	for (size_t i = 0; nets != NULL && i < json_object_array_length(nets); i++) {
		snprintf(w, sizeof(w), "%s: networks[%zu]", name, i);
		network_entry(m, links, json_object_array_get_idx(nets, i), w);
	}
	dns_services(m, array_at(m, root, "services", name), name);
	json_object_put(root);
	return cloud_network_done(m, name, before, nifaces, ndns);
}
