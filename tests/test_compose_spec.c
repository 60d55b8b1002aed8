/* The Compose specification beyond the basics (issue 15): secrets and
 * configs (parsed, written with owner and mode, bound read-only), include,
 * extends, name, label_file, platform and x- extensions. Each project is a
 * config directory read by compose_load_dir, the loader both berthd and
 * `berth config check` use. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "composetest.h"
#include "compose/compose.h"
#include "compose/translate.h"
#include "lib/hostcfg.h"
#include "oci/config.h"

static char whole_file_error[sizeof(((struct berr *)0)->msg)];

/* Loads config directory tmpdir/rel as berthd does (the directory seen as
 * /config, with the host's bind rules); returns its errors (-1: the whole
 * file failed). Problems are printed when want_errors is 0. */
static int load_as(struct compose_project *p, const char *rel, int want_errors, int local)
{
	char dir[256];
	snprintf(dir, sizeof(dir), "%s/%s", tmpdir, rel);
	struct host_config hc;
	hostcfg_defaults(&hc);
	struct compose_options opt = {.config_dir = dir, .host = &hc};
	if (local) {
		/* paths as they are here, to read the files the project names */
		opt = (struct compose_options){.config_dir = dir, .dir = dir};
	}
	struct berr err = {0};
	int ret = compose_load_dir(p, dir, &opt, &err);
	hostcfg_free(&hc);
	whole_file_error[0] = '\0';
	if (ret < 0) {
		snprintf(whole_file_error, sizeof(whole_file_error), "%s", err.msg);
		if (!want_errors) {
			fprintf(stderr, "  whole file: %s\n", err.msg);
		}
		return -1;
	}
	if (!want_errors) {
		for (size_t i = 0; i < p->nproblems; i++) {
			if (p->problems[i].error) {
				fprintf(stderr, "  problem: %s\n", p->problems[i].msg);
			}
		}
	}
	return (int)p->nerrors;
}

static int load(struct compose_project *p, const char *rel, int want_errors)
{
	return load_as(p, rel, want_errors, 0);
}

static int has_problem(const struct compose_project *p, const char *text)
{
	if (strstr(whole_file_error, text) != NULL) {
		return 1;
	}
	for (size_t i = 0; i < p->nproblems; i++) {
		if (strstr(p->problems[i].msg, text) != NULL) {
			return 1;
		}
	}
	fprintf(stderr, "  wanted a problem with: %s\n", text);
	for (size_t i = 0; i < p->nproblems; i++) {
		fprintf(stderr, "  problem: %s\n", p->problems[i].msg);
	}
	return 0;
}

static void expect_problem(const char *rel, const char *compose, const char *text)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/compose.yaml", rel);
	put_file(path, compose);
	struct compose_project p;
	CHECK(load(&p, rel, 1) != 0);
	CHECK(has_problem(&p, text));
	compose_free(&p);
}

static const char *label_of(const struct compose_service *s, const char *key)
{
	for (size_t i = 0; i < s->nlabels; i++) {
		if (strcmp(s->labels[i].key, key) == 0) {
			return s->labels[i].value;
		}
	}
	return NULL;
}

static const char *env_of(const struct compose_service *s, const char *name)
{
	for (size_t i = 0; i < s->nenv; i++) {
		if (strcmp(s->env[i].name, name) == 0) {
			return s->env[i].value;
		}
	}
	return NULL;
}

/* ---- secrets and configs ---------------------------------------------------------------- */

static int volume_path(void *ctx, const struct compose_service *s, const struct compose_mount *m, const char **host,
		       struct berr *err)
{
	(void)ctx;
	(void)s;
	(void)err;
	*host = m->source != NULL ? m->source : "/data/anon";
	return 0;
}

static void check_file(const char *path, const char *content, unsigned mode, unsigned uid, unsigned gid)
{
	struct stat st;
	CHECK_EQ_INT(stat(path, &st), 0);
	CHECK_EQ_INT(st.st_mode & 07777, mode);
	CHECK_EQ_INT(st.st_uid, uid);
	CHECK_EQ_INT(st.st_gid, gid);
	char buf[256] = {0};
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 0);
	if (fd >= 0) {
		CHECK(read(fd, buf, sizeof(buf) - 1) >= 0);
		close(fd);
	}
	CHECK(strcmp(buf, content) == 0);
}

static void test_secrets_and_configs(void)
{
	put_file("sec/db_password.txt", "hunter2\n");
	put_file("sec/nginx.conf", "server {}\n");
	put_file("sec/.env", "API_TOKEN=abc123\n");
	put_file("sec/compose.yaml", "services:\n"
				     "  web:\n"
				     "    image: x\n"
				     "    secrets:\n"
				     "      - db_password\n"
				     "      - source: token\n"
				     "        target: api_token\n"
				     "        uid: \"101\"\n"
				     "        gid: \"102\"\n"
				     "        mode: 0400\n"
				     "    configs:\n"
				     "      - source: nginx\n"
				     "        target: /etc/nginx/nginx.conf\n"
				     "      - inline\n"
				     "secrets:\n"
				     "  db_password:\n"
				     "    file: ./db_password.txt\n"
				     "  token:\n"
				     "    environment: API_TOKEN\n"
				     "configs:\n"
				     "  nginx:\n"
				     "    file: ./nginx.conf\n"
				     "  inline:\n"
				     "    content: |\n"
				     "      hello\n");
	struct compose_project p;
	CHECK_EQ_INT(load(&p, "sec", 0), 0);
	compose_free(&p);
	/* read where the files are, as berthd reads /config */
	CHECK_EQ_INT(load_as(&p, "sec", 0, 1), 0);
	const struct compose_service *s = compose_service_find(&p, "web");
	CHECK(s != NULL && s->nfiles == 4);
	if (s == NULL || s->nfiles != 4) {
		compose_free(&p);
		return;
	}
	CHECK(strcmp(s->files[0].target, "/run/secrets/db_password") == 0 && s->files[0].mode == 0444);
	CHECK(strcmp(s->files[1].target, "/run/secrets/api_token") == 0 && s->files[1].mode == 0400);
	CHECK(strcmp(s->files[2].target, "/etc/nginx/nginx.conf") == 0);
	CHECK(strcmp(s->files[3].target, "/inline") == 0);

	/* berthd writes them with owner and mode ... */
	char dir[256];
	snprintf(dir, sizeof(dir), "%s/run/files/web", tmpdir);
	struct berr err = {0};
	CHECK_EQ_INT(compose_write_files(&p, s, dir, &err), 0);
	char path[300];
	snprintf(path, sizeof(path), "%s/0", dir);
	check_file(path, "hunter2\n", 0444, 0, 0);
	snprintf(path, sizeof(path), "%s/1", dir);
	check_file(path, "abc123", 0400, 101, 102);
	snprintf(path, sizeof(path), "%s/2", dir);
	check_file(path, "server {}\n", 0444, 0, 0);
	snprintf(path, sizeof(path), "%s/3", dir);
	check_file(path, "hello\n", 0444, 0, 0);
	struct stat st;
	CHECK(stat(dir, &st) == 0 && (st.st_mode & 0777) == 0700);

	/* ... and the translation binds them read-only at their targets */
	char *cmd[] = {"run"};
	struct image_config img = {.cmd = cmd, .ncmd = 1};
	char rootfs[256];
	snprintf(rootfs, sizeof(rootfs), "%s/rootfs", tmpdir);
	mkdir(rootfs, 0755);
	struct compose_translate_in in = {
		.project = &p,
		.service = s,
		.image = &img,
		.rootfs = rootfs,
		.volume_path = volume_path,
		.files_dir = dir,
	};
	struct compose_runtime rt;
	CHECK_EQ_INT(compose_translate(&in, &rt, &err), 0);
	if (err.code) {
		fprintf(stderr, "  %s\n", err.msg);
	}
	const struct oci_mount *m = find_mount(&rt.oci, "/run/secrets/api_token", NULL);
	snprintf(path, sizeof(path), "%s/1", dir);
	CHECK(m != NULL && strcmp(m->source, path) == 0 && has_option(m, "ro") && has_option(m, "nosuid"));
	CHECK(find_mount(&rt.oci, "/etc/nginx/nginx.conf", NULL) != NULL);
	compose_runtime_free(&rt);
	/* without the directory there is nothing to bind: refused, not dropped */
	in.files_dir = NULL;
	CHECK(compose_translate(&in, &rt, &err) < 0);
	compose_free(&p);
}

static void test_secret_refusals(void)
{
	expect_problem("secbad", "services:\n  web:\n    image: x\n    secrets: [nope]\n",
		       "compose.yaml:4: services.web.secrets: 'nope' is not declared under the top-level secrets key");
	expect_problem("secbad", "services:\n  web: {image: x}\nsecrets:\n  s:\n    file: ./missing\n",
		       "compose.yaml:4: secrets.s.file: ");
	expect_problem("secbad", "services:\n  web: {image: x}\nsecrets:\n  s:\n    external: true\n",
		       "unsupported key 'external'");
	expect_problem("secbad", "services:\n  web: {image: x}\nsecrets:\n  s:\n    content: x\n",
		       "a secret's content comes from a file or a variable");
	expect_problem("secbad", "services:\n  web: {image: x}\nsecrets:\n  s:\n    environment: UNSET_VAR_X\n",
		       "variable UNSET_VAR_X is not set");
	expect_problem("secbad",
		       "services:\n  web:\n    image: x\n    secrets: [{source: s, mode: 999}]\nsecrets:\n  s:\n    "
		       "environment: HOME\n",
		       "expected an octal mode");
	expect_problem("secbad",
		       "services:\n  web:\n    image: x\n    volumes: [\"./d:/run/secrets/s\"]\n    secrets: [s]\n"
		       "secrets:\n  s:\n    file: ./compose.yaml\n",
		       "/run/secrets/s is also a mount of volumes");
}

/* ---- include, extends, name, label_file ----------------------------------------------------- */

static void test_include(void)
{
	put_file("inc/compose.yaml", "name: shop\n"
				     "include:\n"
				     "  - db/compose.yaml\n"
				     "  - path: cache/compose.yaml\n"
				     "    env_file: cache/cache.env\n"
				     "services:\n"
				     "  web:\n"
				     "    image: web\n"
				     "    depends_on: [db]\n");
	put_file("inc/db/compose.yaml", "services:\n"
					"  db:\n"
					"    image: postgres\n"
					"    volumes: [\"./init:/docker-entrypoint-initdb.d:ro\"]\n"
					"volumes:\n"
					"  pgdata: {}\n");
	put_file("inc/cache/compose.yaml", "services:\n  cache:\n    image: redis:${REDIS_TAG}\n");
	put_file("inc/cache/cache.env", "REDIS_TAG=7\n");
	put_file("inc/db/init/schema.sql", "");
	struct compose_project p;
	CHECK_EQ_INT(load(&p, "inc", 0), 0);
	CHECK(p.name != NULL && strcmp(p.name, "shop") == 0);
	CHECK_EQ_INT(p.nservices, 3);
	const struct compose_service *db = compose_service_find(&p, "db");
	const struct compose_service *cache = compose_service_find(&p, "cache");
	char want[256];
	/* an included file's paths are relative to its own directory */
	snprintf(want, sizeof(want), "/config/db/init");
	CHECK(db != NULL && db->nmounts == 1 && strcmp(db->mounts[0].source, want) == 0);
	CHECK(cache != NULL && strcmp(cache->image, "redis:7") == 0);
	CHECK(compose_volume_find(&p, "pgdata") != NULL);
	compose_free(&p);

	/* a name in two files is an error, as in Docker Compose */
	put_file("incdup/other.yaml", "services:\n  web:\n    image: other\n");
	expect_problem("incdup", "include: [other.yaml]\nservices:\n  web:\n    image: web\n", "web");
	expect_problem("incmiss", "include: [nothere.yaml]\nservices:\n  web:\n    image: web\n", "nothere.yaml");
}

static void test_extends(void)
{
	put_file("ext/common.yaml", "services:\n"
				    "  base:\n"
				    "    image: app:1\n"
				    "    environment: {A: \"1\", B: \"1\"}\n"
				    "    volumes: [\"./data:/data\"]\n"
				    "    cap_add: [NET_ADMIN]\n");
	put_file("ext/data/keep", "");
	put_file("ext/compose.yaml", "services:\n"
				     "  local:\n"
				     "    image: app:1\n"
				     "    restart: always\n"
				     "  web:\n"
				     "    extends: {file: common.yaml, service: base}\n"
				     "    environment: {B: \"2\"}\n"
				     "    cap_add: [SYS_TIME]\n"
				     "  worker:\n"
				     "    extends: local\n"
				     "    command: work\n");
	struct compose_project p;
	CHECK_EQ_INT(load(&p, "ext", 0), 0);
	const struct compose_service *web = compose_service_find(&p, "web");
	const struct compose_service *worker = compose_service_find(&p, "worker");
	CHECK(web != NULL && strcmp(web->image, "app:1") == 0);
	CHECK(web != NULL && env_of(web, "A") && strcmp(env_of(web, "A"), "1") == 0);
	CHECK(web != NULL && env_of(web, "B") && strcmp(env_of(web, "B"), "2") == 0);
	/* sequences like cap_add are joined */
	CHECK(web != NULL && (web->cap_add & (1ull << 25)) && (web->cap_add & (1ull << 12)));
	char want[256];
	snprintf(want, sizeof(want), "/config/data");
	CHECK(web != NULL && web->nmounts == 1 && strcmp(web->mounts[0].source, want) == 0);
	CHECK(worker != NULL && worker->restart == COMPOSE_RESTART_ALWAYS && worker->ncommand == 1);
	compose_free(&p);
	expect_problem("extbad", "services:\n  web:\n    extends: nothere\n", "service 'nothere' is not defined");
	expect_problem("extbad", "services:\n  a:\n    extends: b\n  b:\n    extends: a\n", "extends");
}

static void test_label_file_platform_extensions(void)
{
	put_file("lbl/labels.env", "com.example.team=ops\ncom.example.tier=back\n");
	put_file("lbl/compose.yaml", "x-common: &common\n"
				     "  image: x\n"
				     "services:\n"
				     "  web:\n"
				     "    <<: *common\n"
				     "    label_file: ./labels.env\n"
				     "    labels: {com.example.tier: front}\n"
				     "    platform: linux/x86_64\n"
				     "    attach: false\n"
				     "    x-note: anything\n"
				     "    logging:\n"
				     "      driver: json-file\n"
				     "      x-mine: 1\n"
				     "    ulimits:\n"
				     "      nofile: {soft: 10, hard: 20, x-why: test}\n"
				     "      x-other: 1\n"
				     "  a: {image: x, platform: amd64}\n"
				     "  b: {image: x, platform: LINUX/AMD64/v3}\n"
				     "  c: {image: x, platform: linux/x86-64}\n"
				     "x-anything: [1, 2]\n");
	struct compose_project p;
	CHECK_EQ_INT(load(&p, "lbl", 0), 0);
	const struct compose_service *web = compose_service_find(&p, "web");
	CHECK(web != NULL && label_of(web, "com.example.team") &&
	      strcmp(label_of(web, "com.example.team"), "ops") == 0);
	CHECK(web != NULL && label_of(web, "com.example.tier") &&
	      strcmp(label_of(web, "com.example.tier"), "front") == 0);
	compose_free(&p);
	expect_problem("lblbad", "services:\n  web: {image: x, platform: linux/arm64}\n",
		       "'linux/arm64': Berth runs linux/amd64 images only");
	expect_problem("lblbad", "services:\n  web: {image: x, platform: windows/amd64}\n", "linux/amd64 images only");
	expect_problem("lblbad", "services:\n  web: {image: x, label_file: nothere.env}\n", "nothere.env");
}

/* A line of a service "web" and what its refusal says. */
struct refusal {
	const char *line;
	const char *text;
};

static void check_refusals(const char *rel, const struct refusal *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char yaml[256];
		snprintf(yaml, sizeof(yaml), "services:\n  web:\n    image: x\n    %s\n", cases[i].line);
		expect_problem(rel, yaml, cases[i].text);
	}
}

/* What stays refused says why and what to do instead. */
static void test_refused_say_why(void)
{
	static const struct refusal cases[] = {
		{"build: .", "build and push the image elsewhere, then pull it or load it"},
		{"develop: {}", "watch mode"},
		{"gpus: all", "devices:"},
		{"credential_spec: {}", "Windows"},
		{"isolation: default", "Windows"},
		{"storage_opt: {size: 1g}", "tmpfs size"},
		{"runtime: runc", "berth-oci"},
		{"models: [m]", "Model Runner"},
		{"provider: {type: x}", "provider"},
		{"use_api_socket: true", "Docker API socket"},
	};
	check_refusals("refused", cases, sizeof(cases) / sizeof(cases[0]));
}

/* ---- deploy and the Linux keys, into the OCI config ---------------------------------------- */

static int translate_one(struct compose_project *p, const char *rel, const char *compose, const char *service,
			 struct compose_runtime *rt)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/compose.yaml", rel);
	put_file(path, compose);
	memset(rt, 0, sizeof(*rt));
	if (load_as(p, rel, 0, 1) != 0) {
		return -100;
	}
	static char *cmd[] = {"run"};
	static struct image_config img = {.cmd = cmd, .ncmd = 1};
	char rootfs[256];
	snprintf(rootfs, sizeof(rootfs), "%s/rootfs", tmpdir);
	mkdir(rootfs, 0755);
	put_file("rootfs/etc/group", "root:x:0:\naudio:x:29:\n");
	struct compose_translate_in in = {
		.project = p,
		.service = compose_service_find(p, service),
		.image = &img,
		.rootfs = rootfs,
		.volume_path = volume_path,
	};
	struct berr err = {0};
	int ret = compose_translate(&in, rt, &err);
	if (ret < 0) {
		fprintf(stderr, "  translate: %s\n", err.msg);
	}
	return ret;
}

static int has_ns(const struct oci_config *c, enum oci_ns_type type)
{
	for (size_t i = 0; i < c->linux_.nnamespaces; i++) {
		if (c->linux_.namespaces[i].type == type) {
			return 1;
		}
	}
	return 0;
}

static const char *annotation(const struct oci_config *c, const char *key)
{
	for (size_t i = 0; i < c->nannotations; i++) {
		if (strcmp(c->annotations[i].key, key) == 0) {
			return c->annotations[i].value;
		}
	}
	return NULL;
}

static void test_deploy(void)
{
	struct compose_project p;
	struct compose_runtime rt;
	CHECK_EQ_INT(
		translate_one(&p, "dep",
			      "name: shop\n"
			      "services:\n"
			      "  web:\n"
			      "    image: x\n"
			      "    deploy:\n"
			      "      replicas: 3\n"
			      "      resources:\n"
			      "        limits: {cpus: \"0.5\", memory: 64m, pids: 50}\n"
			      "        reservations: {cpus: \"0.25\", memory: 32m}\n"
			      "      restart_policy: {condition: on-failure, delay: 2s, max_attempts: 4, window: 30s}\n"
			      "      placement: {constraints: [node.role==manager]}\n"
			      "      update_config: {parallelism: 2}\n"
			      "      endpoint_mode: dnsrr\n",
			      "web", &rt),
		0);
	const struct compose_service *s = compose_service_find(&p, "web");
	CHECK(s != NULL && s->replicas == 3 && s->restart == COMPOSE_RESTART_ON_FAILURE && s->max_retries == 4);
	CHECK(s != NULL && s->restart_delay_ns == 2000000000LL && s->restart_window_ns == 30000000000LL);
	const struct oci_resources *r = &rt.oci.linux_.resources;
	CHECK(r->has_memory_limit && r->memory_limit == 64 << 20);
	CHECK(r->has_cpu_quota && r->cpu_quota == 50000 && r->cpu_period == 100000);
	CHECK(r->has_pids_limit && r->pids_limit == 50);
	CHECK(r->has_memory_reservation && r->memory_reservation == 32 << 20);
	CHECK(r->has_cpu_shares && r->cpu_shares == 256);
	/* replicas are named as Docker Compose names them */
	char name[64];
	CHECK(s != NULL && compose_container_name(&p, s, 1, name, sizeof(name)) == 0 &&
	      strcmp(name, "shop-web-2") == 0);
	/* Swarm's parts are warnings */
	int warned = 0;
	for (size_t i = 0; i < p.nproblems; i++) {
		warned += !p.problems[i].error && strstr(p.problems[i].msg, "Swarm") != NULL;
	}
	CHECK(warned >= 2);
	compose_runtime_free(&rt);
	compose_free(&p);
	expect_problem("depbad",
		       "services:\n  web:\n    image: x\n    mem_limit: 1g\n    deploy:\n      resources:\n"
		       "        limits: {memory: 2g}\n",
		       "deploy.resources.limits.memory are set with different values");
	expect_problem("depbad", "services:\n  web:\n    image: x\n    container_name: w\n    scale: 2\n",
		       "2 replicas cannot all be named w");
	expect_problem("depbad",
		       "services:\n  web:\n    image: x\n    deploy: {resources: {reservations: {devices: "
		       "[{capabilities: [gpu]}]}}}\n",
		       "give the device nodes with devices:");
}

static void test_linux_keys(void)
{
	struct compose_project p;
	struct compose_runtime rt;
	CHECK_EQ_INT(translate_one(&p, "lin",
				   "services:\n"
				   "  web:\n"
				   "    image: x\n"
				   "    pid: host\n"
				   "    ipc: host\n"
				   "    uts: host\n"
				   "    cgroup: host\n"
				   "    cpu_shares: 512\n"
				   "    cpu_period: 50ms\n"
				   "    cpu_quota: 25000\n"
				   "    cpuset: 0-1\n"
				   "    mem_reservation: 16m\n"
				   "    oom_score_adj: -500\n"
				   "    group_add: [audio, \"1234\"]\n"
				   "    security_opt: [\"no-new-privileges:false\", seccomp=unconfined, "
				   "systempaths=unconfined]\n"
				   "    annotations: {com.example.note: hi}\n"
				   "    devices: [\"/dev/null:/dev/mynull:rw\"]\n"
				   "    device_cgroup_rules: [\"c 188:* rwm\"]\n"
				   "    blkio_config: {weight: 300}\n"
				   "    mem_swappiness: 10\n"
				   "    oom_kill_disable: true\n"
				   "    cpu_rt_runtime: 400ms\n",
				   "web", &rt),
		     0);
	const struct oci_config *c = &rt.oci;
	CHECK(!has_ns(c, OCI_NS_PID) && !has_ns(c, OCI_NS_IPC) && !has_ns(c, OCI_NS_UTS) && !has_ns(c, OCI_NS_CGROUP));
	CHECK(has_ns(c, OCI_NS_NET) && has_ns(c, OCI_NS_MOUNT));
	CHECK(c->hostname == NULL); /* uts: host */
	const struct oci_resources *r = &c->linux_.resources;
	CHECK(r->has_cpu_shares && r->cpu_shares == 512);
	CHECK(r->has_cpu_period && r->cpu_period == 50000 && r->has_cpu_quota && r->cpu_quota == 25000);
	CHECK(r->cpuset_cpus != NULL && strcmp(r->cpuset_cpus, "0-1") == 0);
	CHECK(r->has_memory_reservation && r->memory_reservation == 16 << 20);
	CHECK(r->has_blkio_weight && r->blkio_weight == 300);
	CHECK(c->process.has_oom_score_adj && c->process.oom_score_adj == -500);
	int audio = 0;
	int other = 0;
	for (size_t i = 0; i < c->process.user.nadditional_gids; i++) {
		audio |= c->process.user.additional_gids[i] == 29;
		other |= c->process.user.additional_gids[i] == 1234;
	}
	CHECK(audio && other);
	CHECK(!c->process.no_new_privileges);
	CHECK(c->linux_.seccomp == NULL);
	CHECK(c->linux_.nmasked_paths == 0 && c->linux_.nreadonly_paths == 0);
	CHECK(annotation(c, "com.example.note") && strcmp(annotation(c, "com.example.note"), "hi") == 0);
	CHECK(c->linux_.ndevices == 1 && strcmp(c->linux_.devices[0].path, "/dev/mynull") == 0 &&
	      c->linux_.devices[0].type == 'c' && c->linux_.devices[0].major == 1 && c->linux_.devices[0].minor == 3);
	int null_rule = 0;
	int usb_rule = 0;
	for (size_t i = 0; i < r->ndevices; i++) {
		null_rule |= r->devices[i].allow && r->devices[i].major == 1 && r->devices[i].minor == 3 &&
			     strcmp(r->devices[i].access, "rwm") == 0;
		usb_rule |= r->devices[i].allow && r->devices[i].major == 188 && r->devices[i].minor == -1;
	}
	CHECK(null_rule && usb_rule);
	/* what cgroup v2 cannot do warns, as in Docker */
	int warnings = 0;
	for (size_t i = 0; i < p.nproblems; i++) {
		warnings += !p.problems[i].error && strstr(p.problems[i].msg, "ignored") != NULL;
	}
	CHECK_EQ_INT(warnings, 3);
	compose_runtime_free(&rt);
	compose_free(&p);

	/* the defaults keep every namespace */
	CHECK_EQ_INT(translate_one(&p, "lin", "services:\n  web:\n    image: x\n    cpu_count: 2\n", "web", &rt), 0);
	CHECK(has_ns(&rt.oci, OCI_NS_PID) && has_ns(&rt.oci, OCI_NS_IPC) && has_ns(&rt.oci, OCI_NS_UTS));
	CHECK(rt.oci.linux_.resources.cpu_quota == 200000 && rt.oci.process.no_new_privileges);
	compose_runtime_free(&rt);
	compose_free(&p);
}

static void test_hooks(void)
{
	put_file("hooks/compose.yaml", "services:\n"
				       "  web:\n"
				       "    image: x\n"
				       "    post_start:\n"
				       "      - command: [\"sh\", \"-c\", \"echo started > /tmp/hook\"]\n"
				       "        user: \"0:0\"\n"
				       "        working_dir: /tmp\n"
				       "        environment: {STAGE: post}\n"
				       "    pre_stop:\n"
				       "      - command: /app/drain --wait\n");
	struct compose_project p;
	CHECK_EQ_INT(load(&p, "hooks", 0), 0);
	const struct compose_service *s = compose_service_find(&p, "web");
	CHECK(s != NULL && s->npost_start == 1 && s->npre_stop == 1);
	if (s != NULL && s->npost_start == 1 && s->npre_stop == 1) {
		const struct compose_hook *h = &s->post_start[0];
		CHECK(h->ncommand == 3 && strcmp(h->command[2], "echo started > /tmp/hook") == 0);
		CHECK(strcmp(h->user, "0:0") == 0 && strcmp(h->working_dir, "/tmp") == 0);
		CHECK(h->nenv == 1 && strcmp(h->env[0].name, "STAGE") == 0 && strcmp(h->env[0].value, "post") == 0);
		/* a string is split like a shell, as command: is */
		CHECK(s->pre_stop[0].ncommand == 2 && strcmp(s->pre_stop[0].command[1], "--wait") == 0);
	}
	compose_free(&p);
}

static void test_links(void)
{
	put_file("links/compose.yaml", "services:\n"
				       "  db: {image: x}\n"
				       "  web:\n"
				       "    image: x\n"
				       "    links: [\"db:database\", db]\n"
				       "    external_links: [\"legacy:old\"]\n");
	struct compose_project p;
	CHECK_EQ_INT(load(&p, "links", 0), 0);
	const struct compose_service *s = compose_service_find(&p, "web");
	CHECK(s != NULL && s->nlinks == 3);
	if (s != NULL && s->nlinks == 3) {
		CHECK(strcmp(s->links[0].target, "db") == 0 && strcmp(s->links[0].alias, "database") == 0);
		CHECK(strcmp(s->links[1].alias, "db") == 0 && !s->links[1].external);
		CHECK(s->links[2].external && strcmp(s->links[2].target, "legacy") == 0);
	}
	/* a linked service starts first */
	CHECK(s != NULL && s->ndeps == 1 && strcmp(s->deps[0].service, "db") == 0);
	compose_free(&p);
	expect_problem("linksbad",
		       "services:\n  web:\n    image: x\n    network_mode: host\n    links: [db]\n  db: {image: x}\n",
		       "needs a network of the container's own");
}

static void test_linux_refusals(void)
{
	static const struct refusal cases[] = {
		{"security_opt: [\"label:disable\"]", "no SELinux"},
		{"security_opt: [\"apparmor=unconfined\"]", "no AppArmor"},
		{"security_opt: [\"seccomp=/config/p.json\"]", "seccomp"},
		{"ipc: service:db", "service:db is not supported by Berth yet"},
		{"pid: \"container:x\"", "container:x is not supported by Berth yet"},
		{"userns_mode: remap", "remap is not supported by Berth yet"},
		{"cgroup_parent: /system.slice", "outside berthd's cgroup /berth"},
		{"cgroup_parent: other\n  other: {image: x}", "'other' is the group of a container"},
		{"uts: host\n    hostname: h", "cannot be set with uts: host"},
		{"devices: [\"/etc/passwd\"]", "not a device under /dev"},
		{"cpus: 1\n    cpu_quota: 5000", "cannot be combined with cpu_quota"},
		{"mac_address: 03:42:ac:11:00:02", "is not a unicast MAC address"},
		{"networks:\n      a: {interface_name: lan}\n      b: {interface_name: lan}\n    x-n: 1\nnetworks: {a: "
		 "{}, b: {}}",
		 "interface_name lan is given twice"},
		{"networks:\n      a: {ipv6_address: \"fd00::2\"}\nnetworks: {a: {}}", "IPv4 only"},
		{"post_start: [{command: echo, privileged: true}]", "privileged hooks are not supported by Berth yet"},
		{"pre_stop: [{command: echo, user: www}]", "give the hook's user as numbers"},
		{"post_start: [{user: \"0\"}]", "a hook needs a command"},
	};
	check_refusals("linbad", cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_volumes_from_and_external(void)
{
	put_file("vf/compose.yaml", "services:\n"
				    "  data:\n"
				    "    image: x\n"
				    "    volumes: [\"shared:/shared\", \"/scratch\"]\n"
				    "  app:\n"
				    "    image: x\n"
				    "    volumes_from: [\"data:ro\"]\n"
				    "volumes:\n"
				    "  shared:\n"
				    "    external: true\n"
				    "    name: made-before\n");
	struct compose_project p;
	CHECK_EQ_INT(load(&p, "vf", 0), 0);
	const struct compose_service *app = compose_service_find(&p, "app");
	CHECK(app != NULL && app->nmounts == 2);
	if (app != NULL && app->nmounts == 2) {
		CHECK(strcmp(app->mounts[0].target, "/shared") == 0 && app->mounts[0].read_only);
		/* the anonymous volume stays data's */
		CHECK(app->mounts[1].source == NULL && app->mounts[1].anon_owner != NULL &&
		      strcmp(app->mounts[1].anon_owner, "data") == 0);
	}
	/* data starts first */
	CHECK(app != NULL && app->ndeps == 1 && strcmp(app->deps[0].service, "data") == 0);
	const struct compose_volume *v = compose_volume_find(&p, "shared");
	CHECK(v != NULL && v->external && strcmp(v->name, "made-before") == 0);
	compose_free(&p);
	expect_problem("vfbad", "services:\n  app:\n    image: x\n    volumes_from: [\"container:c\"]\n",
		       "volumes_from a container is not supported by Berth yet");
}

/* ---- the corpus ---------------------------------------------------------------------------- */

/* Each config directory of tests/compose-corpus through config check's
 * code: no error, or exactly the lines of its expected.txt as errors and
 * warnings among the output. */
static void test_corpus(void)
{
	char corpus[256];
	snprintf(corpus, sizeof(corpus), "%.*s/compose-corpus", (int)(strrchr(__FILE__, '/') - __FILE__), __FILE__);
	DIR *d = opendir(corpus);
	CHECK(d != NULL);
	if (d == NULL) {
		return;
	}
	struct dirent *e;
	int seen = 0;
	while ((e = readdir(d)) != NULL) {
		char dir[512];
		struct stat st;
		snprintf(dir, sizeof(dir), "%s/%s", corpus, e->d_name);
		if (e->d_name[0] == '.' || stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
			continue;
		}
		seen++;
		struct host_config hc;
		hostcfg_defaults(&hc);
		char *out = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&out, &len);
		int errors = compose_check_dir(dir, &hc, f);
		fclose(f);
		hostcfg_free(&hc);
		char path[600];
		snprintf(path, sizeof(path), "%s/expected.txt", dir);
		FILE *x = fopen(path, "r");
		int expected_errors = 0;
		char line[1024];
		while (x != NULL && fgets(line, sizeof(line), x) != NULL) {
			int found = strstr(out, line) != NULL &&
				    (strstr(out, line) == out || strstr(out, line)[-1] == '\n');
			CHECK(found);
			if (!found) {
				fprintf(stderr, "  %s: wanted the line %s  got:\n%s", e->d_name, line, out);
			}
			expected_errors += strstr(line, "warning: ") == NULL;
		}
		if (x != NULL) {
			fclose(x);
		}
		CHECK_EQ_INT(errors, expected_errors);
		if (errors != expected_errors) {
			fprintf(stderr, "  %s:\n%s", e->d_name, out);
		}
		free(out);
	}
	closedir(d);
	CHECK(seen >= 7);
}

int main(void)
{
	if (check_tmpdir(tmpdir) < 0) {
		return 2;
	}
	RUN(test_secrets_and_configs);
	RUN(test_secret_refusals);
	RUN(test_include);
	RUN(test_extends);
	RUN(test_label_file_platform_extensions);
	RUN(test_refused_say_why);
	RUN(test_deploy);
	RUN(test_linux_keys);
	RUN(test_linux_refusals);
	RUN(test_hooks);
	RUN(test_links);
	RUN(test_volumes_from_and_external);
	RUN(test_corpus);
	return check_summary();
}
