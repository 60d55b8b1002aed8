/* The container record berthd keeps on DATA (daemon/ctr.c): records that
 * an earlier berthd wrote (tests/fixtures/record/, written by the
 * hand-written reader and writer that the field table replaced) load with
 * every field, are written back byte for byte, and keep their definition's
 * hash, so that an update neither loses containers nor recreates them. */
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>

#include "check.h"
#include "daemon/ctr.h"
#include "lib/fsutil.h"

static char *fixture(const char *name)
{
	char path[256];
	snprintf(path, sizeof(path), "tests/fixtures/record/%s", name);
	char *text = NULL;
	size_t len = 0;
	struct berr err = {0};
	if (read_file_alloc(AT_FDCWD, path, 0, 1 << 20, NULL, &text, &len, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return NULL;
	}
	trim_end(text);
	return text;
}

static struct ctr *load(const char *file, const char *name, char **text)
{
	*text = fixture(file);
	struct ctr *c = NULL;
	struct berr err = {0};
	CHECK(*text != NULL);
	if (*text == NULL) {
		return NULL;
	}
	CHECK_EQ_INT(ctr_record_parse(*text, file, name, &c, &err), 0);
	if (c == NULL) {
		fprintf(stderr, "%s\n", err.msg);
	}
	return c;
}

/* Written back the same, and hashed the same. */
static void check_round_trip(const struct ctr *c, const char *text)
{
	char *again = ctr_record_text(c);
	CHECK(again != NULL && strcmp(again, text) == 0);
	if (again != NULL && strcmp(again, text) != 0) {
		fprintf(stderr, "written back:\n%s\n", again);
	}
	free(again);
	struct ctr_def d = {0};
	CHECK_EQ_INT(ctr_def_copy(&d, &c->def), 0);
	char stored[65];
	copy_string(stored, sizeof(stored), d.hash);
	ctr_def_hash(&d);
	CHECK(strcmp(d.hash, stored) == 0);
	ctr_def_clear(&d);
}

static void test_service_record(void)
{
	char *text = NULL;
	struct ctr *c = load("service.json", "web", &text);
	if (c == NULL) {
		free(text);
		return;
	}
	const struct ctr_def *d = &c->def;
	CHECK(strcmp(d->name, "web") == 0 && strcmp(d->service, "web") == 0);
	CHECK(strcmp(d->image, "registry.example/web:1.2") == 0);
	CHECK_STR_CONTAINS(d->image_id, "sha256:0123");
	CHECK_STR_CONTAINS(d->config_json, "\"cwd\":\"/srv/www\"");
	CHECK(strcmp(d->hash, "f0d372dbd1a78cc5cc5e82ff48efa2f99f7fb7227636bccc66a8a810ce272024") == 0);
	CHECK_EQ_INT(d->nlowerdirs, 2);
	CHECK(d->nlowerdirs == 2 && strcmp(d->lowerdirs[1], "/data/berth/store/layers/bbb/fs") == 0);
	CHECK_EQ_INT(d->read_only, 1);
	CHECK_EQ_INT(d->restart, RESTART_ON_FAILURE);
	CHECK_EQ_INT(d->max_retries, 5);
	CHECK_EQ_INT(d->stop_signal, SIGQUIT);
	CHECK_EQ_INT(d->stop_grace_ms, 25000);
	CHECK(d->tty && d->stdin_open && !d->auto_remove);
	CHECK_EQ_INT(d->health.ntest, 2);
	CHECK(d->health.ntest == 2 && strcmp(d->health.test[0], "CMD-SHELL") == 0);
	CHECK_EQ_INT(d->health.interval_ms, 5000);
	CHECK_EQ_INT(d->health.timeout_ms, 2000);
	CHECK_EQ_INT(d->health.start_period_ms, 10000);
	CHECK_EQ_INT(d->health.retries, 4);
	CHECK_EQ_INT(d->ndeps, 3);
	if (d->ndeps == 3) {
		CHECK(strcmp(d->deps[0].name, "db") == 0 && d->deps[0].cond == DEP_HEALTHY);
		CHECK(strcmp(d->deps[1].name, "migrate") == 0 && d->deps[1].cond == DEP_COMPLETED);
		CHECK(strcmp(d->deps[2].name, "cache") == 0 && d->deps[2].cond == DEP_STARTED);
	}
	CHECK(d->nvolumes == 2 && strcmp(d->volumes[0], "webdata") == 0);
	CHECK_EQ_INT(d->log_max_size, 10485760);
	CHECK_EQ_INT(d->log_max_files, 3);
	CHECK_EQ_INT(d->netmode, NETMODE_BRIDGE);
	CHECK(d->join == NULL);
	CHECK_EQ_INT(d->nnets, 2);
	if (d->nnets == 2) {
		CHECK(strcmp(d->nets[0].network, "front") == 0 && d->nets[0].naliases == 2);
		CHECK(d->nets[0].naliases == 2 && strcmp(d->nets[0].aliases[1], "frontend") == 0);
		CHECK(strcmp(d->nets[0].ipv4, "172.20.0.10") == 0);
		CHECK(strcmp(d->nets[1].network, "back") == 0 && d->nets[1].naliases == 0 && d->nets[1].ipv4 == NULL);
	}
	CHECK_EQ_INT(d->nports, 2);
	if (d->nports == 2) {
		CHECK(d->ports[0].proto == IPPROTO_TCP && d->ports[0].host_ip == 0);
		CHECK(d->ports[0].host_port == 8080 && d->ports[0].port == 80);
		CHECK(d->ports[1].proto == IPPROTO_UDP && d->ports[1].host_ip == htonl(0x7f000001));
		CHECK(d->ports[1].host_port == 5353 && d->ports[1].port == 53);
	}
	CHECK(d->ndns == 1 && strcmp(d->dns[0], "9.9.9.9") == 0);
	CHECK(d->nextra_hosts == 2 && strcmp(d->extra_hosts[1], "printer 10.0.0.9") == 0);
	CHECK(c->has_def);
	CHECK_EQ_INT(c->state, CS_RUNNING);
	CHECK_EQ_INT(c->created_ms, 1767225600123);
	CHECK_EQ_INT(c->started_ms, 1767225601456);
	CHECK_EQ_INT(c->finished_ms, 1767225500789);
	CHECK_EQ_INT(c->exit_code, 137);
	CHECK_EQ_INT(c->exit_signal, 9);
	CHECK_EQ_INT(c->restart_count, 2);
	CHECK_EQ_INT(c->user_stopped, 0);
	CHECK(c->error[0] == '\0');
	check_round_trip(c, text);
	ctr_free(c);
	free(text);
}

static void test_run_records(void)
{
	char *text = NULL;
	struct ctr *c = load("run-none.json", "busybox-1", &text);
	if (c != NULL) {
		CHECK(c->def.service == NULL && c->def.health.ntest == 0 && c->def.ndeps == 0);
		CHECK_EQ_INT(c->def.netmode, NETMODE_NONE);
		CHECK_EQ_INT(c->def.restart, RESTART_UNLESS_STOPPED);
		CHECK(c->def.auto_remove && !c->def.tty);
		CHECK_EQ_INT(c->state, CS_EXITED);
		CHECK_EQ_INT(c->exit_code, 1);
		CHECK_EQ_INT(c->user_stopped, 1);
		CHECK(strcmp(c->error, "exec: \"nosuch\": not found / in $PATH") == 0);
		check_round_trip(c, text);
		ctr_free(c);
	}
	free(text);
	c = load("run-join.json", "busybox-1", &text);
	if (c != NULL) {
		CHECK_EQ_INT(c->def.netmode, NETMODE_JOIN);
		CHECK(c->def.join != NULL && strcmp(c->def.join, "web") == 0);
		check_round_trip(c, text);
		ctr_free(c);
	}
	free(text);
}

/* What an older or damaged record may hold: defaults where the old reader
 * had them, and a refusal where it refused. */
static void test_lenient_and_refused(void)
{
	struct ctr *c = NULL;
	struct berr err = {0};
	CHECK_EQ_INT(
		ctr_record_parse("{\"definition\": {\"name\": \"a\", \"stop_signal\": 0, \"restart\": \"sometimes\","
				 " \"network_mode\": 7, \"depends_on\": [{\"name\": \"b\", \"condition\": \"x\"}],"
				 " \"lowerdirs\": [\"/l\", 3, null]}, \"state\": \"gone\"}",
				 "r", "a", &c, &err),
		0);
	if (c != NULL) {
		CHECK_EQ_INT(c->def.stop_signal, SIGTERM);
		CHECK_EQ_INT(c->def.restart, RESTART_NO);
		CHECK_EQ_INT(c->def.netmode, NETMODE_BRIDGE);
		CHECK(c->def.ndeps == 1 && c->def.deps[0].cond == DEP_STARTED);
		CHECK(c->def.nlowerdirs == 3 && strcmp(c->def.lowerdirs[1], "3") == 0 &&
		      strcmp(c->def.lowerdirs[2], "") == 0);
		CHECK_EQ_INT(c->state, CS_EXITED);
		CHECK_EQ_INT(c->has_def, 0);
		ctr_free(c);
		c = NULL;
	}
	CHECK(ctr_record_parse("{\"state\": \"running\"}", "r", "a", &c, &err) < 0);
	CHECK_STR_CONTAINS(err.msg, "r: no valid definition");
	CHECK(ctr_record_parse("{\"definition\": {\"image\": \"x\"}}", "r", NULL, &c, &err) < 0);
	CHECK(ctr_record_parse("{\"definition\": {\"name\": \"a\", \"depends_on\": [{\"condition\": \"x\"}]}}", "r",
			       NULL, &c, &err) < 0);
	CHECK(ctr_record_parse("{\"definition\": {\"name\": \"a\", \"networks\": [{\"ipv4\": \"1.2.3.4\"}]}}", "r",
			       NULL, &c, &err) < 0);
	CHECK(ctr_record_parse("{\"definition\": {\"name\": \"b\"}}", "r", "a", &c, &err) < 0);
	CHECK_STR_CONTAINS(err.msg, "names container 'b'");
	CHECK(ctr_record_parse("{\"definition\": ", "r", "a", &c, &err) < 0);
	CHECK_STR_CONTAINS(err.msg, "not valid JSON");
	CHECK(c == NULL);
}

int main(void)
{
	RUN(test_service_record);
	RUN(test_run_records);
	RUN(test_lenient_and_refused);
	return check_summary();
}
