/* libFuzzer entry point for compose.yaml: arbitrary bytes through the
 * parser (with interpolation variables and an enabled profile), the
 * dependency graph, the translation of startable services into OCI
 * configs and the config.json writer. Beyond "no crash, no leak", one
 * invariant: whatever the writer emits, the runtime's parser accepts.
 * Files: env_file paths resolve under a directory that does not exist, and
 * the root filesystem for user lookups does not exist either. The host's
 * rules are on (host.yaml allowing one bind path), as berthd reads it,
 * with /config read from that missing directory. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compose/compose.h"
#include "compose/graph.h"
#include "compose/ociwrite.h"
#include "compose/translate.h"
#include "lib/hostcfg.h"
#include "lib/fsutil.h"
#include "oci/config.h"

#define MAX_TRANSLATED 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int volume_path(void *ctx, const struct compose_service *s, const struct compose_mount *m, const char **host,
		       struct berr *err)
{
	(void)ctx;
	(void)s;
	(void)err;
	*host = m->type == COMPOSE_MOUNT_BIND ? m->source : "/nonexistent-berth-fuzz/volume";
	return 0;
}

static void translate_and_write(const struct compose_project *p, const struct compose_service *s)
{
	static char *cmd[] = {"/bin/sh"};
	static char *env[] = {"PATH=/bin", "A=b"};
	static char *vols[] = {"/data", "/var/lib/x/"};
	struct image_config img = {.cmd = cmd, .ncmd = 1, .env = env, .nenv = 2, .volumes = vols, .nvolumes = 2};
	struct compose_translate_in in = {
		.project = p,
		.service = s,
		.image = &img,
		.rootfs = "/nonexistent-berth-fuzz/rootfs",
		.hostname = "fuzz",
		.volume_path = volume_path,
		.hosts_file = "/nonexistent-berth-fuzz/hosts",
		.netns_path = "/proc/1/ns/net",
		.files_dir = "/nonexistent-berth-fuzz/files",
	};
	struct compose_runtime rt;
	struct berr err;
	if (compose_translate(&in, &rt, &err) < 0) {
		return;
	}
	char *json = NULL;
	size_t len = 0;
	if (oci_config_to_json(&rt.oci, &json, &len, &err) == 0) {
		struct oci_config back;
		if (oci_config_parse(&back, "config.json", json, len, &err) < 0) {
			fprintf(stderr, "written config.json does not parse: %s\n%s\n", err.msg, json);
			abort();
		}
		oci_config_free(&back);
		free(json);
	}
	compose_runtime_free(&rt);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct compose_vars vars;
	static struct host_config host;
	static int ready;
	if (!ready) {
		hostcfg_defaults(&host);
		copy_string(host.bind_allow[0], sizeof(host.bind_allow[0]), "/srv");
		host.nbind_allow = 1;
		compose_vars_set(&vars, "TAG", "1.0");
		compose_vars_set(&vars, "EMPTY", "");
		compose_vars_set(&vars, "PORT", "8080");
		compose_vars_set(&vars, "NESTED", "${TAG}");
		ready = 1;
	}
	static const char *const profiles[] = {"dev"};
	struct compose_options opt = {
		.file_name = "compose.yaml",
		.dir = "/nonexistent-berth-fuzz/config",
		.vars = &vars,
		.profiles = profiles,
		.nprofiles = 1,
		.config_dir = "/nonexistent-berth-fuzz/config",
		.host = &host,
	};
	struct compose_project p;
	struct berr err;
	if (compose_parse(&p, (const char *)data, size, &opt, &err) >= 0) {
		struct compose_graph g;
		if (compose_graph_build(&p, &g, &err) == 0) {
			for (size_t i = 0; i < g.norder && i < MAX_TRANSLATED; i++) {
				translate_and_write(&p, &p.services[g.order[i]]);
			}
			compose_graph_free(&g);
		}
	}
	compose_free(&p);
	return 0;
}
