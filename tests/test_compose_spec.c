/* The Compose specification beyond the basics (issue 15): secrets and
 * configs (parsed, written with owner and mode, bound read-only), include,
 * extends, name, label_file, platform and x- extensions. Each project is a
 * config directory read by compose_load_dir, the loader both berthd and
 * `berth config check` use. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "compose/compose.h"
#include "compose/translate.h"
#include "lib/hostcfg.h"
#include "oci/config.h"

static char tmpdir[64];

static void put(const char *rel, const char *content)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", tmpdir, rel);
	for (char *p = path + strlen(tmpdir) + 1; *p; p++) {
		if (*p == '/') {
			*p = '\0';
			mkdir(path, 0755);
			*p = '/';
		}
	}
	FILE *f = fopen(path, "w");
	if (f == NULL) {
		perror(path);
		exit(2);
	}
	fputs(content, f);
	fclose(f);
}

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
			fprintf(stderr, "  problem: %s\n", p->problems[i].msg);
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
	put(path, compose);
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

static const struct oci_mount *find_mount(const struct oci_config *c, const char *dest)
{
	for (size_t i = 0; i < c->nmounts; i++) {
		if (strcmp(c->mounts[i].destination, dest) == 0) {
			return &c->mounts[i];
		}
	}
	return NULL;
}

static int has_option(const struct oci_mount *m, const char *opt)
{
	for (size_t i = 0; m != NULL && i < m->noptions; i++) {
		if (strcmp(m->options[i], opt) == 0) {
			return 1;
		}
	}
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
	put("sec/db_password.txt", "hunter2\n");
	put("sec/nginx.conf", "server {}\n");
	put("sec/.env", "API_TOKEN=abc123\n");
	put("sec/compose.yaml", "services:\n"
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
	const struct oci_mount *m = find_mount(&rt.oci, "/run/secrets/api_token");
	snprintf(path, sizeof(path), "%s/1", dir);
	CHECK(m != NULL && strcmp(m->source, path) == 0 && has_option(m, "ro") && has_option(m, "nosuid"));
	CHECK(find_mount(&rt.oci, "/etc/nginx/nginx.conf") != NULL);
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
	put("inc/compose.yaml", "name: shop\n"
				"include:\n"
				"  - db/compose.yaml\n"
				"  - path: cache/compose.yaml\n"
				"    env_file: cache/cache.env\n"
				"services:\n"
				"  web:\n"
				"    image: web\n"
				"    depends_on: [db]\n");
	put("inc/db/compose.yaml", "services:\n"
				   "  db:\n"
				   "    image: postgres\n"
				   "    volumes: [\"./init:/docker-entrypoint-initdb.d:ro\"]\n"
				   "volumes:\n"
				   "  pgdata: {}\n");
	put("inc/cache/compose.yaml", "services:\n  cache:\n    image: redis:${REDIS_TAG}\n");
	put("inc/cache/cache.env", "REDIS_TAG=7\n");
	put("inc/db/init/schema.sql", "");
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
	put("incdup/other.yaml", "services:\n  web:\n    image: other\n");
	expect_problem("incdup", "include: [other.yaml]\nservices:\n  web:\n    image: web\n", "web");
	expect_problem("incmiss", "include: [nothere.yaml]\nservices:\n  web:\n    image: web\n", "nothere.yaml");
}

static void test_extends(void)
{
	put("ext/common.yaml", "services:\n"
			       "  base:\n"
			       "    image: app:1\n"
			       "    environment: {A: \"1\", B: \"1\"}\n"
			       "    volumes: [\"./data:/data\"]\n"
			       "    cap_add: [NET_ADMIN]\n");
	put("ext/data/keep", "");
	put("ext/compose.yaml", "services:\n"
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
	put("lbl/labels.env", "com.example.team=ops\ncom.example.tier=back\n");
	put("lbl/compose.yaml", "x-common: &common\n"
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

/* What stays refused says why and what to do instead. */
static void test_refused_say_why(void)
{
	static const struct {
		const char *line;
		const char *text;
	} cases[] = {
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
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char yaml[256];
		snprintf(yaml, sizeof(yaml), "services:\n  web:\n    image: x\n    %s\n", cases[i].line);
		expect_problem("refused", yaml, cases[i].text);
	}
}

static void cleanup_tmp(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0) {
		fprintf(stderr, "could not remove %s\n", tmpdir);
	}
}

int main(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_compose_spec.XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 2;
	}
	RUN(test_secrets_and_configs);
	RUN(test_secret_refusals);
	RUN(test_include);
	RUN(test_extends);
	RUN(test_label_file_platform_extensions);
	RUN(test_refused_say_why);
	cleanup_tmp();
	return check_summary();
}
