/* compose.yaml: parsing every supported form, refusing the rest by name
 * with file:line and field, interpolation and dotenv files, the start
 * order, the translation into an OCI config with Docker's rules, and the
 * config.json writer read back by the runtime's own parser. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "composetest.h"
#include "compose/compose.h"
#include "compose/formats.h"
#include "compose/graph.h"
#include "compose/interp.h"
#include "compose/ociwrite.h"
#include "compose/profile.h"
#include "compose/shlex.h"
#include "compose/translate.h"
#include "lib/hostcfg.h"
#include "lib/signame.h"
#include "oci/config.h"

static struct compose_vars vars;

/* ---- helpers ---------------------------------------------------------------------- */

static int parse_with(struct compose_project *p, const char *yaml, const char *const *profiles, size_t nprofiles,
		      struct berr *err)
{
	struct compose_options o = {
		.file_name = "compose.yaml",
		.dir = tmpdir,
		.vars = &vars,
		.profiles = profiles,
		.nprofiles = nprofiles,
	};
	return compose_parse(p, yaml, strlen(yaml), &o, err);
}

static int parse(struct compose_project *p, const char *yaml)
{
	struct berr err = {0};
	int ret = parse_with(p, yaml, NULL, 0, &err);
	if (ret < 0) {
		fprintf(stderr, "  whole-file error: %s\n", err.msg);
	}
	return ret;
}

static void dump_problems(const struct compose_project *p)
{
	for (size_t i = 0; i < p->nproblems; i++) {
		fprintf(stderr, "  problem: %s\n", p->problems[i].msg);
	}
}

static const struct compose_service *svc(const struct compose_project *p, const char *name)
{
	return compose_service_find(p, name);
}

static int has_problem(const struct compose_project *p, const char *prefix, const char *text)
{
	for (size_t i = 0; i < p->nproblems; i++) {
		if (strncmp(p->problems[i].msg, prefix, strlen(prefix)) == 0 && strstr(p->problems[i].msg, text)) {
			return 1;
		}
	}
	return 0;
}

/* yaml must give an error starting with prefix ("compose.yaml:3: services.web.x: ") and holding text. */
static void check_error(const char *yaml, const char *prefix, const char *text)
{
	struct compose_project p;
	int n = parse(&p, yaml);
	CHECK(n >= 1);
	int found = has_problem(&p, prefix, text);
	CHECK(found);
	if (!found) {
		fprintf(stderr, "  wanted: %s...%s\n", prefix, text);
		dump_problems(&p);
	}
	compose_free(&p);
}

static int argv_is(char **argv, size_t argc, const char *const *want)
{
	size_t n = 0;
	while (want[n] != NULL) {
		n++;
	}
	if (argc != n) {
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		if (strcmp(argv[i], want[i]) != 0) {
			return 0;
		}
	}
	return 1;
}

static const char *env_of(const struct compose_service *s, const char *name, int *present)
{
	for (size_t i = 0; i < s->nenv; i++) {
		if (strcmp(s->env[i].name, name) == 0) {
			*present = 1;
			return s->env[i].value;
		}
	}
	*present = 0;
	return NULL;
}

/* ---- parsing ------------------------------------------------------------------------- */

static void test_full_service(void)
{
	struct compose_project p;
	const char *y = "name: demo\n"
			"services:\n"
			"  web:\n"
			"    image: nginx:1.25\n"
			"    command: [\"nginx\", \"-g\", \"daemon off;\"]\n"
			"    entrypoint: /docker-entrypoint.sh\n"
			"    user: \"101:101\"\n"
			"    working_dir: /srv/./www/\n"
			"    read_only: true\n"
			"    privileged: false\n"
			"    init: false\n"
			"    stdin_open: yes\n"
			"    tty: true\n"
			"    hostname: web-1\n"
			"    domainname: example.org\n"
			"    container_name: web_main\n"
			"    mem_limit: 512m\n"
			"    memswap_limit: 1g\n"
			"    shm_size: 128m\n"
			"    cpus: 1.5\n"
			"    pids_limit: 200\n"
			"    restart: on-failure:3\n"
			"    stop_signal: SIGQUIT\n"
			"    stop_grace_period: 1m30s\n"
			"    cap_add: [NET_ADMIN, cap_sys_time]\n"
			"    cap_drop: [CAP_MKNOD]\n"
			"    sysctls: {net.core.somaxconn: 1024}\n"
			"    ulimits:\n"
			"      nofile: {soft: 1024, hard: 4096}\n"
			"      nproc: 512\n"
			"    labels: [\"a=1\", \"b\"]\n"
			"    extra_hosts: [\"db.local:10.0.0.5\", \"v6=::1\"]\n"
			"    dns: 1.1.1.1\n"
			"    expose: [\"80\", \"9000-9002/udp\"]\n"
			"    platform: linux/amd64\n"
			"    pull_policy: never\n"
			"    x-anything: {ignored: [1, 2]}\n";
	CHECK_EQ_INT(parse(&p, y), 0);
	dump_problems(&p);
	CHECK(strcmp(p.name, "demo") == 0);
	const struct compose_service *s = svc(&p, "web");
	CHECK(s != NULL);
	if (s == NULL) {
		compose_free(&p);
		return;
	}
	CHECK(s->valid && s->active);
	CHECK(strcmp(s->image, "nginx:1.25") == 0);
	CHECK(s->has_command && argv_is(s->command, s->ncommand, (const char *[]){"nginx", "-g", "daemon off;", NULL}));
	CHECK(s->has_entrypoint &&
	      argv_is(s->entrypoint, s->nentrypoint, (const char *[]){"/docker-entrypoint.sh", NULL}));
	CHECK(strcmp(s->user, "101:101") == 0);
	CHECK(strcmp(s->working_dir, "/srv/www") == 0);
	CHECK(s->read_only && !s->privileged && !s->init && s->stdin_open && s->tty);
	CHECK(strcmp(s->hostname, "web-1") == 0 && strcmp(s->domainname, "example.org") == 0);
	CHECK(strcmp(s->container_name, "web_main") == 0);
	CHECK_EQ_INT(s->mem_limit, 512LL << 20);
	CHECK_EQ_INT(s->memswap_limit, 1LL << 30);
	CHECK_EQ_INT(s->shm_size, 128LL << 20);
	CHECK(s->cpus > 1.49 && s->cpus < 1.51);
	CHECK(s->has_pids_limit && s->pids_limit == 200);
	CHECK_EQ_INT(s->restart, COMPOSE_RESTART_ON_FAILURE);
	CHECK_EQ_INT(s->max_retries, 3);
	CHECK_EQ_INT(s->stop_signal, SIGQUIT);
	CHECK_EQ_INT(s->stop_grace_ns, 90LL * 1000000000);
	CHECK(s->cap_add == ((UINT64_C(1) << CAP_NET_ADMIN) | (UINT64_C(1) << CAP_SYS_TIME)));
	CHECK(s->cap_drop == (UINT64_C(1) << CAP_MKNOD));
	CHECK_EQ_INT(s->nsysctls, 1);
	CHECK(strcmp(s->sysctls[0].key, "net.core.somaxconn") == 0 && strcmp(s->sysctls[0].value, "1024") == 0);
	CHECK_EQ_INT(s->nulimits, 2);
	CHECK(s->ulimits[0].resource == RLIMIT_NOFILE && s->ulimits[0].soft == 1024 && s->ulimits[0].hard == 4096);
	CHECK(s->ulimits[1].resource == RLIMIT_NPROC && s->ulimits[1].soft == 512 && s->ulimits[1].hard == 512);
	CHECK_EQ_INT(s->nlabels, 2);
	CHECK(strcmp(s->labels[1].key, "b") == 0 && strcmp(s->labels[1].value, "") == 0);
	CHECK_EQ_INT(s->nextra_hosts, 2);
	CHECK(strcmp(s->extra_hosts[0].key, "db.local") == 0 && strcmp(s->extra_hosts[0].value, "10.0.0.5") == 0);
	CHECK(strcmp(s->extra_hosts[1].key, "v6") == 0 && strcmp(s->extra_hosts[1].value, "::1") == 0);
	CHECK(s->ndns == 1 && strcmp(s->dns[0], "1.1.1.1") == 0);
	CHECK_EQ_INT(s->nexpose, 2);
	CHECK(s->expose[1].start == 9000 && s->expose[1].end == 9002 && strcmp(s->expose[1].protocol, "udp") == 0);
	CHECK_EQ_INT(s->pull_policy, COMPOSE_PULL_NEVER);
	compose_free(&p);
}

static void test_shlex(void)
{
	struct arena a = {0};
	struct berr err;
	char **v;
	size_t n;
	CHECK_EQ_INT(compose_shlex_split(&a, "  echo  'a b'  \"c \\\"d\\\" \\$e \\n\" f\\ g h\\\\i ", &v, &n, &err), 0);
	CHECK(argv_is(v, n, (const char *[]){"echo", "a b", "c \"d\" $e \\n", "f g", "h\\i", NULL}));
	CHECK_EQ_INT(compose_shlex_split(&a, "sh -c 'echo $HOME; exit 1' # not a comment", &v, &n, &err), 0);
	CHECK(argv_is(v, n, (const char *[]){"sh", "-c", "echo $HOME; exit 1", "#", "not", "a", "comment", NULL}));
	CHECK_EQ_INT(compose_shlex_split(&a, "a '' \"\" b", &v, &n, &err), 0);
	CHECK(argv_is(v, n, (const char *[]){"a", "", "", "b", NULL}));
	CHECK_EQ_INT(compose_shlex_split(&a, "one \\\n two\\\nthree", &v, &n, &err), 0);
	CHECK(argv_is(v, n, (const char *[]){"one", "twothree", NULL}));
	CHECK_EQ_INT(compose_shlex_split(&a, "x'y'\"z\"", &v, &n, &err), 0);
	CHECK(argv_is(v, n, (const char *[]){"xyz", NULL}));
	CHECK_EQ_INT(compose_shlex_split(&a, "   ", &v, &n, &err), 0);
	CHECK_EQ_INT(n, 0);
	CHECK(compose_shlex_split(&a, "echo 'open", &v, &n, &err) == -EINVAL);
	CHECK_STR_CONTAINS(err.msg, "unterminated single quote");
	CHECK(compose_shlex_split(&a, "echo \"open", &v, &n, &err) == -EINVAL);
	CHECK_STR_CONTAINS(err.msg, "unterminated double quote");
	CHECK(compose_shlex_split(&a, "echo \\", &v, &n, &err) == -EINVAL);
	arena_free(&a);
}

static void test_command_forms(void)
{
	struct compose_project p;
	const char *y = "services:\n"
			"  a: {image: x, command: \"sh -c 'echo \\\"hi there\\\"'\"}\n"
			"  b: {image: x, command: ~}\n"
			"  c: {image: x, command: \"\"}\n"
			"  d: {image: x, command: [], entrypoint: []}\n"
			"  e: {image: x, command: [echo, 42, true]}\n";
	/* d runs nothing whatever its image: berthd refuses it, so compose does */
	CHECK_EQ_INT(parse(&p, y), 1);
	CHECK(has_problem(&p, "compose.yaml:5: services.d.entrypoint: ", "is empty and no command is given"));
	const struct compose_service *a = svc(&p, "a");
	CHECK(a && a->has_command &&
	      argv_is(a->command, a->ncommand, (const char *[]){"sh", "-c", "echo \"hi there\"", NULL}));
	CHECK(svc(&p, "b") && !svc(&p, "b")->has_command);
	CHECK(svc(&p, "c") && svc(&p, "c")->has_command && svc(&p, "c")->ncommand == 0);
	CHECK(svc(&p, "d") && svc(&p, "d")->has_entrypoint && svc(&p, "d")->nentrypoint == 0);
	const struct compose_service *e = svc(&p, "e");
	CHECK(e && argv_is(e->command, e->ncommand, (const char *[]){"echo", "42", "true", NULL}));
	compose_free(&p);
	check_error("services:\n  a:\n    image: x\n    command: \"echo 'oops\"\n",
		    "compose.yaml:4: services.a.command: ", "unterminated single quote");
	check_error("services:\n  a:\n    image: x\n    command: {a: b}\n",
		    "compose.yaml:4: services.a.command: ", "expected a list, got a mapping");
}

static void test_interpolate_direct(void)
{
	struct compose_vars v = {0};
	compose_vars_set(&v, "A", "alpha");
	compose_vars_set(&v, "E", "");
	compose_vars_set(&v, "N", "${A}");
	struct compose_interp in = {.vars = &v};
	struct {
		const char *in;
		const char *out;
	} ok[] = {
		{"x${A}y", "xalphay"},
		{"$A-$A", "alpha-alpha"},
		{"$A_x", ""}, /* the name is A_x, unset */
		{"${U:-def}", "def"},
		{"${E:-def}", "def"},
		{"${E-def}", ""},
		{"${U-def}", "def"},
		{"${A:-def}", "alpha"},
		{"${A:+rep}", "rep"},
		{"${E:+rep}", ""},
		{"${E+rep}", "rep"},
		{"${U+rep}", ""},
		{"${A:?must}", "alpha"},
		{"${E?must}", ""},
		{"$$A and $${A} cost $$5", "$A and ${A} cost $5"},
		{"${U:-${A}}", "alpha"},
		{"${U:-${V:-deep}}", "deep"},
		{"${U:-a}b}", "ab}"},
		{"${N}", "${A}"}, /* values are not expanded again */
		{"no vars", "no vars"},
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		char *out = NULL;
		struct berr err = {0};
		int ret = compose_interpolate(&in, ok[i].in, &out, &err);
		CHECK_EQ_INT(ret, 0);
		CHECK(out != NULL && strcmp(out, ok[i].out) == 0);
		if (out == NULL || strcmp(out, ok[i].out) != 0) {
			fprintf(stderr, "  %s -> '%s' (%s), want '%s'\n", ok[i].in, out ? out : "", err.msg, ok[i].out);
		}
		free(out);
	}
	struct {
		const char *in;
		const char *msg;
	} bad[] = {
		{"${U:?set U in .env}", "required variable U is missing a value: set U in .env"},
		{"${E:?}", "required variable E is missing a value"},
		{"${U?x}", "required variable U is missing a value: x"},
		{"cost $5", "invalid interpolation format"},
		{"end $", "invalid interpolation format"},
		{"${}", "invalid interpolation format"},
		{"${A:x}", "invalid interpolation format"},
		{"${1A}", "invalid interpolation format"},
		{"${A", "unterminated ${"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *out = NULL;
		struct berr err = {0};
		CHECK(compose_interpolate(&in, bad[i].in, &out, &err) == -EINVAL);
		CHECK_STR_CONTAINS(err.msg, bad[i].msg);
		free(out);
	}
	compose_vars_free(&v);
}

static void test_interpolation_in_file(void)
{
	struct compose_project p;
	const char *y = "services:\n"
			"  web:\n"
			"    image: \"nginx:${TAG:-latest}\"\n"
			"    environment:\n"
			"      URL: http://$HOST_NAME:${PORT}/\n"
			"      COST: $$5\n"
			"    ports: [\"${PORT}:80\"]\n"
			"    read_only: ${RO:-true}\n"
			"    labels: {\"${NOT_A_KEY}\": v}\n"
			"  other:\n"
			"    image: \"${MISSING_IMAGE:?set MISSING_IMAGE}\"\n"
			"  third:\n"
			"    image: x\n"
			"    command: echo ${NOBODY}\n";
	CHECK_EQ_INT(parse(&p, y), 1);
	const struct compose_service *web = svc(&p, "web");
	CHECK(web && web->valid);
	if (web) {
		CHECK(strcmp(web->image, "nginx:latest") == 0);
		int present;
		CHECK(strcmp(env_of(web, "URL", &present), "http://box:8080/") == 0);
		CHECK(strcmp(env_of(web, "COST", &present), "$5") == 0);
		CHECK(web->nports == 1 && web->ports[0].published_start == 8080);
		CHECK(web->read_only);
		CHECK(strcmp(web->labels[0].key, "${NOT_A_KEY}") == 0); /* keys are not interpolated */
	}
	CHECK(svc(&p, "other") && !svc(&p, "other")->valid);
	CHECK(has_problem(&p, "compose.yaml:11: services.other.image: ",
			  "required variable MISSING_IMAGE is missing a value: set MISSING_IMAGE"));
	CHECK(svc(&p, "third") && svc(&p, "third")->valid);
	CHECK(has_problem(&p, "compose.yaml:14: variable NOBODY is not set", "empty string"));
	compose_free(&p);
}

static void test_dotenv(void)
{
	struct compose_vars out = {0};
	struct compose_vars lookup = {0};
	struct berr err = {0};
	compose_vars_set(&lookup, "OUTSIDE", "o");
	const char *text = "# comment\n"
			   "\n"
			   "PLAIN=value with spaces   \n"
			   "export EXPORTED=yes\n"
			   "COMMENTED=val # a comment\n"
			   "HASH=val#not-a-comment\n"
			   "SQ='single $PLAIN \\n'\n"
			   "SQ2='Let\\'s go!'\n"
			   "DQ=\"tab\\there \\\"q\\\" \\$PLAIN ${PLAIN}\"\n"
			   "MULTI=\"line1\n"
			   "line2\" # trailing comment\n"
			   "REF=${OUTSIDE}-$EXPORTED\n"
			   "EMPTY=\n"
			   "  SPACED = padded\n"
			   "OUTSIDE\n"
			   "NOT_THERE\n"
			   "CRLF=dos\r\n"
			   "PLAIN=second wins\n";
	CHECK_EQ_INT(compose_dotenv_parse(&out, &lookup, ".env", text, strlen(text), &err), 0);
	if (err.code) {
		fprintf(stderr, "  %s\n", err.msg);
	}
	struct {
		const char *name;
		const char *value;
	} want[] = {
		{"PLAIN", "second wins"},
		{"EXPORTED", "yes"},
		{"COMMENTED", "val"},
		{"HASH", "val#not-a-comment"},
		{"SQ", "single $PLAIN \\n"},
		{"SQ2", "Let's go!"},
		{"DQ", "tab\there \"q\" $PLAIN value with spaces"},
		{"MULTI", "line1\nline2"},
		{"REF", "o-yes"},
		{"EMPTY", ""},
		{"SPACED", "padded"},
		{"OUTSIDE", "o"},
		{"CRLF", "dos"},
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const char *v = compose_vars_get(&out, want[i].name);
		CHECK(v != NULL && strcmp(v, want[i].value) == 0);
		if (v == NULL || strcmp(v, want[i].value) != 0) {
			fprintf(stderr, "  %s = '%s', want '%s'\n", want[i].name, v ? v : "(unset)", want[i].value);
		}
	}
	CHECK(compose_vars_get(&out, "NOT_THERE") == NULL);
	CHECK(strcmp(out.items[0].name, "PLAIN") == 0); /* redefinition keeps the place */
	compose_vars_free(&out);
	const char *bad[][2] = {
		{"A=1\nB='open\n", ".env:2: B: the quoted value is never closed"},
		{"A=\"x\" y\n", ".env:1: A: unexpected text after the closing quote"},
		{"1A=x\n", ".env:1: expected NAME=VALUE"},
		{"A B\n", ".env:1: expected '=' after A"},
		{"A=${X:?need X}\n", ".env:1: A: required variable X is missing a value: need X"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(compose_dotenv_parse(&out, NULL, ".env", bad[i][0], strlen(bad[i][0]), &err) < 0);
		CHECK_STR_CONTAINS(err.msg, bad[i][1]);
		compose_vars_free(&out);
	}
	compose_vars_free(&lookup);
}

static void test_environment_and_env_file(void)
{
	put_file("app.env", "# defaults\nLEVEL=info\nFROM_FILE=1\nSHARED=file\n");
	put_file("sub/more.env", "SHARED=more\n");
	struct compose_project p;
	const char *y = "services:\n"
			"  web:\n"
			"    image: x\n"
			"    env_file: [app.env, ./sub/more.env, {path: missing.env, required: false}]\n"
			"    environment:\n"
			"      SHARED: inline\n"
			"      HOST_NAME:\n"
			"      UNSET_ONE: ~\n"
			"      NUM: 3\n"
			"  list:\n"
			"    image: x\n"
			"    env_file: app.env\n"
			"    environment: [\"LEVEL=debug\", PORT, \"EQ=a=b\"]\n";
	CHECK_EQ_INT(parse(&p, y), 0);
	dump_problems(&p);
	const struct compose_service *s = svc(&p, "web");
	int present;
	CHECK(s != NULL);
	if (s != NULL) {
		CHECK(strcmp(env_of(s, "LEVEL", &present), "info") == 0);
		CHECK(strcmp(env_of(s, "SHARED", &present), "inline") == 0);
		CHECK(strcmp(env_of(s, "HOST_NAME", &present), "box") == 0);
		CHECK(env_of(s, "UNSET_ONE", &present) == NULL && present);
		CHECK(strcmp(env_of(s, "NUM", &present), "3") == 0);
		/* env_file entries come first, then environment */
		CHECK(strcmp(s->env[0].name, "LEVEL") == 0);
	}
	s = svc(&p, "list");
	if (s != NULL) {
		CHECK(strcmp(env_of(s, "LEVEL", &present), "debug") == 0);
		CHECK(strcmp(env_of(s, "PORT", &present), "8080") == 0);
		CHECK(strcmp(env_of(s, "EQ", &present), "a=b") == 0);
		CHECK(strcmp(env_of(s, "FROM_FILE", &present), "1") == 0);
	}
	compose_free(&p);
	check_error("services:\n  web:\n    image: x\n    env_file: nope.env\n",
		    "compose.yaml:4: services.web.env_file: ", "nope.env (");
	check_error("services:\n  web:\n    image: x\n    env_file: [ok.env, {required: true}]\n",
		    "compose.yaml:4: services.web.env_file: ", "an entry needs a path");
	check_error("services:\n  web:\n    image: x\n    environment: [\"=x\"]\n",
		    "compose.yaml:4: services.web.environment: ", "is not a variable name");
	check_error("services:\n  web:\n    image: x\n    environment:\n      A: [1]\n",
		    "compose.yaml:5: services.web.environment: ", "A: expected a string, number or boolean");
}

static void test_merge_keys_and_anchors(void)
{
	struct compose_project p;
	const char *y = "x-base: &base\n"
			"  image: base:1\n"
			"  restart: always\n"
			"  environment: &env\n"
			"    A: 1\n"
			"    B: 2\n"
			"x-limits: &limits\n"
			"  mem_limit: 64m\n"
			"  restart: \"no\"\n"
			"x-cmd: &cmd [run, --fast]\n"
			"services:\n"
			"  one:\n"
			"    <<: *base\n"
			"    image: one:2\n"
			"  two:\n"
			"    <<: [*limits, *base]\n"
			"    command: *cmd\n"
			"    environment:\n"
			"      <<: *env\n"
			"      B: 3\n"
			"  three:\n"
			"    <<: *base\n"
			"    environment: *env\n";
	CHECK_EQ_INT(parse(&p, y), 0);
	dump_problems(&p);
	const struct compose_service *one = svc(&p, "one");
	const struct compose_service *two = svc(&p, "two");
	const struct compose_service *three = svc(&p, "three");
	int present;
	CHECK(one && strcmp(one->image, "one:2") == 0 && one->restart == COMPOSE_RESTART_ALWAYS);
	CHECK(one && strcmp(env_of(one, "A", &present), "1") == 0);
	/* earlier merged mappings win: restart from *limits, image from *base */
	CHECK(two && two->restart == COMPOSE_RESTART_NO && strcmp(two->image, "base:1") == 0);
	CHECK(two && two->mem_limit == 64 << 20);
	CHECK(two && argv_is(two->command, two->ncommand, (const char *[]){"run", "--fast", NULL}));
	CHECK(two && strcmp(env_of(two, "B", &present), "3") == 0 && strcmp(env_of(two, "A", &present), "1") == 0);
	CHECK(three && strcmp(env_of(three, "B", &present), "2") == 0);
	CHECK_EQ_INT(p.nservices, 3); /* x-* keys are not services */
	compose_free(&p);
	check_error("services:\n  a:\n    <<: [1, 2]\n    image: x\n",
		    "compose.yaml:3: services.a: ", "<<: expected a mapping");
}

static void test_unsupported_keys(void)
{
	static const char *const keys[] = {
		"build",     "develop", "gpus",	    "storage_opt", "credential_spec",
		"isolation", "runtime", "provider", "models",	   "use_api_socket",
	};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		char yaml[256];
		char want[128];
		snprintf(yaml, sizeof(yaml), "services:\n  web:\n    image: x\n\n    %s: whatever\n", keys[i]);
		snprintf(want, sizeof(want), "unsupported key '%s' (", keys[i]);
		check_error(yaml, "compose.yaml:5: services.web: ", want);
	}
	check_error(
		"services:\n  web:\n    image: x\n    build: .\n", "compose.yaml:4: services.web: ",
		"unsupported key 'build' (Berth has no build step: build and push the image elsewhere, then pull it or "
		"load it");
	check_error("services:\n  web:\n    image: x\n    imagee: y\n",
		    "compose.yaml:4: services.web: ", "unknown key 'imagee'");
	check_error("models: {}\nservices:\n  web: {image: x}\n", "compose.yaml:1: ", "unsupported key 'models'");
	check_error("servics: {}\nservices:\n  web: {image: x}\n",
		    "compose.yaml:1: ", "unknown top-level key 'servics'");
}

/* logging: Docker's size options for berthd's own log; other drivers are
 * refused by name. */
static void test_logging_options(void)
{
	struct compose_project p;
	CHECK_EQ_INT(parse(&p, "services:\n  a:\n    image: x\n    logging:\n      driver: json-file\n"
			       "      options:\n        max-size: 20k\n        max-file: \"3\"\n"),
		     0);
	CHECK(p.nservices == 1 && p.services[0].log_max_size == 20480 && p.services[0].log_max_files == 3);
	compose_free(&p);
	check_error("services:\n  a:\n    image: x\n    logging:\n      driver: syslog\n",
		    "compose.yaml:5: services.a.logging.driver: ", "'syslog' is not available");
	check_error("services:\n  a:\n    image: x\n    logging:\n      options:\n        max-size: 1k\n",
		    "compose.yaml:6: services.a.logging.options.max-size: ", "at least 4k");
	check_error("services:\n  a:\n    image: x\n    logging:\n      options:\n        compress: \"true\"\n",
		    "compose.yaml:6: services.a.logging.options.compress: ", "not supported");
}

static void test_wrong_types_and_values(void)
{
	static const struct {
		const char *line; /* the fifth line of a service "web" */
		const char *field;
		const char *text;
	} cases[] = {
		{"read_only: maybe", "read_only", "expected true or false, got 'maybe'"},
		{"privileged: [1]", "privileged", "expected true or false, got a list"},
		{"tty: {}", "tty", "expected true or false, got a mapping"},
		{"mem_limit: lots", "mem_limit", "expected a size like 512m"},
		{"mem_limit: 1k", "mem_limit", "at least 6m"},
		{"memswap_limit: 1g", "memswap_limit", "needs mem_limit"},
		{"cpus: fast", "cpus", "expected a number of CPUs"},
		{"cpus: 5000", "cpus", "out of range"},
		{"pids_limit: 1.5", "pids_limit", "expected a whole number"},
		{"pids_limit: -5", "pids_limit", "-5 is out of range"},
		{"restart: sometimes", "restart", "expected \"no\", always, on-failure[:N] or unless-stopped"},
		{"restart: on-failure:x", "restart", "on-failure:N needs a number"},
		{"stop_signal: SIGNOPE", "stop_signal", "expected a signal"},
		{"stop_grace_period: 10", "stop_grace_period", "expected a duration"},
		{"stop_grace_period: 1x", "stop_grace_period", "expected a duration"},
		{"cap_add: [NET_FLY]", "cap_add", "unknown capability 'NET_FLY'"},
		{"cap_drop: CHOWN", "cap_drop", "expected a list, got a scalar"},
		{"hostname: -bad-", "hostname", "not a valid host name"},
		{"domainname: \"a b\"", "domainname", "not a valid domain name"},
		{"container_name: \"-x\"", "container_name", "not a valid name"},
		{"working_dir: relative/dir", "working_dir", "must be an absolute path"},
		{"user: \"\"", "user", "expected USER[:GROUP]"},
		{"sysctls: {vm.swappiness: 10}", "sysctls", "'vm.swappiness' is not namespaced"},
		{"sysctls: [\"kernel.shmmax=1\", \"net..x=1\"]", "sysctls", "'net..x' is not a sysctl name"},
		{"ulimits: {nofiles: 10}", "ulimits", "unknown limit 'nofiles'"},
		{"ulimits: {nofile: {soft: 10, hard: 5}}", "ulimits.nofile", "soft limit is above the hard limit"},
		{"ulimits: {nofile: {soft: 10}}", "ulimits.nofile", "expected a number or {soft: N, hard: N}"},
		{"labels: 5", "labels", "expected a mapping or a list of KEY=VALUE"},
		{"network_mode: bridged", "network_mode",
		 "expected host, none, bridge, service:NAME or container:NAME"},
		{"network_mode: \"service:\"", "network_mode", "does not name a service"},
		{"networks: 5", "networks", "expected a list of networks or a mapping"},
		{"extra_hosts: [\"nohost\"]", "extra_hosts", "expected HOST:ADDRESS"},
		{"extra_hosts: {db: not-an-ip}", "extra_hosts", "is not an IP address or host-gateway"},
		{"dns: [8.8.8.300]", "dns", "is not an IP address"},
		{"expose: [\"80/icmp\"]", "expose", "expected PORT[-END][/PROTOCOL]"},
		{"platform: linux/arm64", "platform", "Berth runs linux/amd64 images only"},
		{"pull_policy: build", "pull_policy", "'build' is not supported: Berth does not build images"},
		{"pull_policy: daily", "pull_policy", "Berth pulls at up and boot"},
		{"pull_policy: often", "pull_policy", "expected always, missing or never"},
		{"profiles: [\"bad name\"]", "profiles", "is not a profile name"},
		/* fuzz: a list item that is not a string left a NULL in the list */
		{"profiles: [dev, {a: b}]", "profiles", "expected a string, got a mapping"},
		{"cap_add: [NET_ADMIN, [x]]", "cap_add", "expected a string, got a list"},
		{"depends_on: {db: {condition: service_ready}}", "depends_on.db.condition",
		 "expected service_started, service_healthy or service_completed_successfully"},
		{"depends_on: 5", "depends_on", "expected a list of services or a mapping"},
		{"healthcheck: {test: [CMD]}", "healthcheck.test", "expected [\"CMD\", program"},
		{"healthcheck: {test: [WHAT, x]}", "healthcheck.test", "expected [\"CMD\", program"},
		{"healthcheck: {interval: soon}", "healthcheck.interval", "expected a duration"},
		{"healthcheck: {retries: -1}", "healthcheck.retries", "out of range"},
		{"healthcheck: {tests: x}", "healthcheck", "unknown key 'tests'"},
		{"tmpfs: [\"/run:size=64m,bogus\"]", "tmpfs", "unknown option 'bogus'"},
		{"tmpfs: relative", "tmpfs", "must be absolute"},
		{"image: [x]", "image", "expected a string, got a list"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char yaml[512];
		char prefix[128];
		snprintf(yaml, sizeof(yaml), "services:\n  web:\n    image: x\n\n    %s\n", cases[i].line);
		if (strncmp(cases[i].line, "image:", 6) == 0) {
			snprintf(yaml, sizeof(yaml), "services:\n  web:\n\n\n    %s\n", cases[i].line);
		}
		snprintf(prefix, sizeof(prefix), "compose.yaml:5: services.web.%s: ", cases[i].field);
		check_error(yaml, prefix, cases[i].text);
	}
	check_error("services:\n  web:\n    command: x\n", "compose.yaml:2: services.web: ", "no image");
	check_error("services:\n  web:\n",
		    "compose.yaml:2: services.web: ", "expected a mapping with at least 'image'");
	check_error("services:\n  \"bad name\": {image: x}\n",
		    "compose.yaml:2: ", "'bad name' is not a valid service name");
	check_error("services:\n  web:\n    image: x\n    healthcheck: {disable: true, test: [CMD, x]}\n",
		    "compose.yaml:4: services.web.healthcheck: ", "cannot both be given");
	check_error("services:\n  web:\n    image: x\n    network_mode: host\n    networks: [a]\n",
		    "compose.yaml:5: services.web.networks: ", "cannot be combined with network_mode");
	check_error("services:\n  web:\n    image: x\n    network_mode: host\n    sysctls: {net.ipv4.ip_forward: 1}\n",
		    "compose.yaml:3: services.web.sysctls: ", "cannot be set with network_mode: host");
	check_error("services:\n  a: {image: x, container_name: same}\n  b: {image: y, container_name: same}\n",
		    "compose.yaml:3: services.b.container_name: ", "'same' is also the container name of a");
	check_error("services:\n  a:\n    image: x\n    mem_limit: 1g\n    memswap_limit: 512m\n",
		    "compose.yaml:5: services.a.memswap_limit: ", "must be at least mem_limit");
}

static void test_broken_service_fails_alone(void)
{
	struct compose_project p;
	const char *y = "services:\n"
			"  good:\n"
			"    image: good\n"
			"  bad:\n"
			"    image: bad\n"
			"    build: .\n"
			"    read_only: perhaps\n"
			"    ports: [\"99999:80\"]\n"
			"  also_good:\n"
			"    image: fine\n";
	int n = parse(&p, y);
	CHECK_EQ_INT(n, 3); /* every problem of the broken service is reported */
	CHECK(svc(&p, "good") && svc(&p, "good")->valid);
	CHECK(svc(&p, "also_good") && svc(&p, "also_good")->valid);
	CHECK(svc(&p, "bad") && !svc(&p, "bad")->valid);
	CHECK(has_problem(&p, "compose.yaml:6: services.bad: ", "unsupported key 'build'"));
	CHECK(has_problem(&p, "compose.yaml:7: services.bad.read_only: ", "expected true or false"));
	CHECK(has_problem(&p, "compose.yaml:8: services.bad.ports: ", "'99999:80'"));
	for (size_t i = 0; i < p.nproblems; i++) {
		CHECK(p.problems[i].service != NULL && strcmp(p.problems[i].service, "bad") == 0);
	}
	compose_free(&p);
}

static void check_fatal(const char *yaml, const char *text)
{
	struct compose_project p;
	struct berr err = {0};
	CHECK(parse_with(&p, yaml, NULL, 0, &err) < 0);
	CHECK_STR_CONTAINS(err.msg, text);
	CHECK_EQ_INT(p.nservices, 0);
	compose_free(&p);
}

static void test_whole_file_failures(void)
{
	check_fatal("services:\n  web:\n    image: [x\n", "compose.yaml:");
	check_fatal("services:\n  a: {image: x}\n  a: {image: y}\n", "compose.yaml:3: duplicate key 'a'");
	check_fatal("- services\n", "compose.yaml:1: expected a mapping with 'services'");
	check_fatal("services: [web]\n", "compose.yaml:1: services: expected a mapping of service names");
	check_fatal("", "compose.yaml: the file is empty");
	check_fatal("volumes: {}\n", "no 'services' key");
	check_fatal("name: Bad_Name\nservices: {}\n", "compose.yaml:1: name: expected a project name");
	check_fatal("volumes: [a]\nservices: {}\n", "compose.yaml:1: volumes: expected a mapping");
	check_fatal("a: &a [x]\nb: *nope\n", "unknown alias");
}

static void test_volumes(void)
{
	struct compose_project p;
	const char *y = "services:\n"
			"  db:\n"
			"    image: pg\n"
			"    volumes:\n"
			"      - data:/var/lib/postgresql/data\n"
			"      - /srv/conf:/etc/conf:ro\n"
			"      - ./init/../initdb:/docker-entrypoint-initdb.d:ro,rslave\n"
			"      - /cache\n"
			"      - data2:/data2:nocopy\n"
			"      - type: bind\n"
			"        source: sub/dir\n"
			"        target: /mnt/sub\n"
			"        read_only: true\n"
			"        bind: {propagation: rshared, create_host_path: false}\n"
			"      - type: volume\n"
			"        source: data\n"
			"        target: /again\n"
			"        volume: {nocopy: true}\n"
			"      - {type: volume, target: /anon2}\n"
			"      - type: tmpfs\n"
			"        target: /scratch\n"
			"        tmpfs: {size: 64m, mode: 1777}\n"
			"    tmpfs:\n"
			"      - /run\n"
			"      - /tmp:size=100m,mode=1777,exec\n"
			"volumes:\n"
			"  data:\n"
			"  data2: {name: other-name, labels: [x=y]}\n";
	CHECK_EQ_INT(parse(&p, y), 0);
	dump_problems(&p);
	const struct compose_service *s = svc(&p, "db");
	CHECK(s != NULL && s->nmounts == 11);
	if (s == NULL || s->nmounts != 11) {
		compose_free(&p);
		return;
	}
	char base[128];
	const struct compose_mount *m = s->mounts;
	CHECK(m[0].type == COMPOSE_MOUNT_VOLUME && strcmp(m[0].source, "data") == 0 &&
	      strcmp(m[0].target, "/var/lib/postgresql/data") == 0 && !m[0].read_only);
	CHECK(m[1].type == COMPOSE_MOUNT_BIND && strcmp(m[1].source, "/srv/conf") == 0 && m[1].read_only);
	snprintf(base, sizeof(base), "%s/initdb", tmpdir);
	CHECK(m[2].type == COMPOSE_MOUNT_BIND && strcmp(m[2].source, base) == 0 && m[2].read_only &&
	      strcmp(m[2].propagation, "rslave") == 0 && m[2].create_host_path);
	CHECK(m[3].type == COMPOSE_MOUNT_VOLUME && m[3].source == NULL && strcmp(m[3].target, "/cache") == 0);
	CHECK(m[4].nocopy && strcmp(m[4].source, "data2") == 0);
	snprintf(base, sizeof(base), "%s/sub/dir", tmpdir);
	CHECK(m[5].type == COMPOSE_MOUNT_BIND && strcmp(m[5].source, base) == 0 && m[5].read_only &&
	      strcmp(m[5].propagation, "rshared") == 0 && !m[5].create_host_path);
	CHECK(m[6].type == COMPOSE_MOUNT_VOLUME && m[6].nocopy && strcmp(m[6].target, "/again") == 0);
	CHECK(m[7].type == COMPOSE_MOUNT_VOLUME && m[7].source == NULL);
	CHECK(m[8].type == COMPOSE_MOUNT_TMPFS && m[8].has_tmpfs_size && m[8].tmpfs_size == 64 << 20 &&
	      m[8].has_tmpfs_mode && m[8].tmpfs_mode == 01777);
	CHECK(m[9].type == COMPOSE_MOUNT_TMPFS && strcmp(m[9].target, "/run") == 0 && m[9].ntmpfs_options == 0);
	CHECK(m[10].type == COMPOSE_MOUNT_TMPFS && m[10].ntmpfs_options == 3 &&
	      strcmp(m[10].tmpfs_options[2], "exec") == 0);
	const struct compose_volume *v = compose_volume_find(&p, "data2");
	CHECK(v && strcmp(v->name, "other-name") == 0 && v->nlabels == 1);
	compose_free(&p);

	check_error("services:\n  a:\n    image: x\n    volumes: [\"undeclared:/d\"]\n",
		    "compose.yaml:4: services.a.volumes: ", "volume 'undeclared' is not declared");
	check_error("services:\n  a:\n    image: x\n    volumes: [\"/a:/d\", \"/b:/d/\"]\n",
		    "compose.yaml:4: services.a.volumes: ", "/d is mounted twice");
	check_error("services:\n  a:\n    image: x\n    volumes: [\"~/x:/d\"]\n",
		    "compose.yaml:4: services.a.volumes: ", "~ is not supported");
	check_error("services:\n  a:\n    image: x\n    volumes: [\"/x:/d:z\"]\n",
		    "compose.yaml:4: services.a.volumes: ", "SELinux");
	check_error("services:\n  a:\n    image: x\n    volumes: [\"/x:/d:rx\"]\n",
		    "compose.yaml:4: services.a.volumes: ", "unknown mode 'rx'");
	check_error("services:\n  a:\n    image: x\n    volumes: [\"/x:rel\"]\n",
		    "compose.yaml:4: services.a.volumes: ", "must be absolute");
	check_error("services:\n  a:\n    image: x\n    volumes: [\"/x:/\"]\n",
		    "compose.yaml:4: services.a.volumes: ", "cannot mount over the container's root");
	check_error("services:\n  a:\n    image: x\n    volumes: [\"a:b:c:d\"]\n",
		    "compose.yaml:4: services.a.volumes: ", "expected SOURCE:TARGET[:MODE]");
	check_error("services:\n  a:\n    image: x\n    volumes:\n      - {type: bind, target: /x}\n",
		    "compose.yaml:5: services.a.volumes: ", "a bind mount needs a source");
	check_error("services:\n  a:\n    image: x\n    volumes:\n      - {type: npipe, source: x, target: /x}\n",
		    "compose.yaml:5: services.a.volumes.type: ", "'npipe' mounts are not supported");
	check_error("services:\n  a:\n    image: x\n    volumes:\n      - {type: tmpfs, source: x, target: /x}\n",
		    "compose.yaml:5: services.a.volumes.source: ", "a tmpfs mount has no source");
	check_error("services:\n  a:\n    image: x\n    volumes:\n      - {type: volume, source: v, target: /x, bind: "
		    "{propagation: rshared}}\nvolumes: {v: }\n",
		    "compose.yaml:5: services.a.volumes: ", "'bind' options do not apply");
	check_error(
		"services:\n  a:\n    image: x\n    volumes:\n      - type: bind\n        source: /x\n        target: "
		"/y\n        bind: {selinux: z}\n",
		"compose.yaml:8: services.a.volumes.bind: ", "unsupported key 'selinux' (the kernel has no SELinux)");
	check_error("services:\n  a: {image: x}\nvolumes:\n  v: {external: maybe}\n",
		    "compose.yaml:4: volumes.v.external: ", "expected true or false");
	check_error("services:\n  a: {image: x}\nvolumes:\n  v: {driver: nfs}\n",
		    "compose.yaml:4: volumes.v.driver: ", "local volumes only");
	/* a service using an invalid volume is invalid too */
	check_error("services:\n  a:\n    image: x\n    volumes: [\"v:/d\"]\nvolumes:\n  v: {driver: nfs}\n",
		    "compose.yaml:4: services.a.volumes: ", "volume 'v' is invalid");
}

static void test_ports(void)
{
	struct arena a = {0};
	struct compose_port port;
	const char *why;
	static const struct {
		const char *spec;
		const char *ip;
		int ps, pe, ts, te;
		const char *proto;
	} ok[] = {
		{"80", NULL, 0, 0, 80, 80, "tcp"},
		{"8080:80", NULL, 8080, 8080, 80, 80, "tcp"},
		{"127.0.0.1:8080:80/udp", "127.0.0.1", 8080, 8080, 80, 80, "udp"},
		{"127.0.0.1::5000", "127.0.0.1", 0, 0, 5000, 5000, "tcp"},
		{"8000-8010:8000-8010", NULL, 8000, 8010, 8000, 8010, "tcp"},
		{"9090-9091:8080-8081", NULL, 9090, 9091, 8080, 8081, "tcp"},
		{"8000-8010:80", NULL, 8000, 8010, 80, 80, "tcp"},
		{"3000-3005", NULL, 0, 0, 3000, 3005, "tcp"},
		{"[::1]:6001:6001", "::1", 6001, 6001, 6001, 6001, "tcp"},
		{"::1:6001:6001/sctp", "::1", 6001, 6001, 6001, 6001, "sctp"},
		{"0.0.0.0:53:53/udp", "0.0.0.0", 53, 53, 53, 53, "udp"},
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		why = NULL;
		int ret = compose_parse_port(&a, ok[i].spec, &port, &why);
		CHECK_EQ_INT(ret, 0);
		if (ret != 0) {
			fprintf(stderr, "  %s: %s\n", ok[i].spec, why);
			continue;
		}
		CHECK(ok[i].ip == NULL ? port.host_ip == NULL : port.host_ip && strcmp(port.host_ip, ok[i].ip) == 0);
		CHECK(port.published_start == ok[i].ps && port.published_end == ok[i].pe);
		CHECK(port.target_start == ok[i].ts && port.target_end == ok[i].te);
		CHECK(strcmp(port.protocol, ok[i].proto) == 0);
	}
	static const char *const bad[] = {
		"",    "0",	      "65536",	    "80/icmp", "8000-8010:80-81", "8080:80-81",
		"abc", "1.2.3:80:80", "[::1:80:80", "10-5",    "8080:",		  ":80x",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(compose_parse_port(&a, bad[i], &port, &why) == -EINVAL);
	}
	arena_free(&a);

	struct compose_project p;
	const char *y = "services:\n"
			"  web:\n"
			"    image: x\n"
			"    ports:\n"
			"      - 80\n"
			"      - \"443:8443\"\n"
			"      - target: 53\n"
			"        published: \"5353\"\n"
			"        host_ip: 127.0.0.1\n"
			"        protocol: udp\n"
			"        mode: host\n"
			"        name: dns\n"
			"        app_protocol: dns\n"
			"      - {target: 9000, published: 9000-9005}\n";
	/* read as written; berthd picks a host port for 80, as Docker does */
	CHECK_EQ_INT(parse(&p, y), 0);
	const struct compose_service *s = svc(&p, "web");
	CHECK(s && s->nports == 4);
	if (s && s->nports == 4) {
		CHECK(s->ports[0].target_start == 80 && s->ports[0].published_start == 0);
		CHECK(s->ports[1].published_start == 443 && s->ports[1].target_start == 8443);
		CHECK(s->ports[2].target_start == 53 && s->ports[2].published_start == 5353 &&
		      strcmp(s->ports[2].host_ip, "127.0.0.1") == 0 && strcmp(s->ports[2].protocol, "udp") == 0 &&
		      s->ports[2].mode_host && strcmp(s->ports[2].name, "dns") == 0);
		CHECK(s->ports[3].published_start == 9000 && s->ports[3].published_end == 9005);
		CHECK_EQ_INT(s->ports[2].line, 7);
	}
	compose_free(&p);
	check_error("services:\n  a:\n    image: x\n    ports: [\"70000:80\"]\n",
		    "compose.yaml:4: services.a.ports: ", "the published port must be a port");
	check_error("services:\n  a:\n    image: x\n    ports:\n      - {published: 80}\n",
		    "compose.yaml:5: services.a.ports: ", "needs a target");
	check_error("services:\n  a:\n    image: x\n    ports:\n      - {target: 80, mode: global}\n",
		    "compose.yaml:5: services.a.ports.mode: ", "expected host or ingress");
	check_error("services:\n  a:\n    image: x\n    ports:\n      - {target: 80, host_ip: nowhere}\n",
		    "compose.yaml:5: services.a.ports.host_ip: ", "not an IP address");
	check_error("services:\n  a:\n    image: x\n    ports:\n      - {target: 80, protocol: icmp}\n",
		    "compose.yaml:5: services.a.ports.protocol: ", "expected tcp, udp or sctp");
	check_error("services:\n  a:\n    image: x\n    ports:\n      - {target: 80, hostport: 1}\n",
		    "compose.yaml:5: services.a.ports: ", "unknown key 'hostport'");
	/* host networking: berthd has nothing to publish from */
	check_error("services:\n  a:\n    image: x\n    network_mode: host\n    ports: [\"80:80\"]\n",
		    "compose.yaml:5: services.a.ports: ", "the container has no network of its own to publish from");
}

static void test_value_formats(void)
{
	int64_t v;
	CHECK(compose_parse_duration("1m30s", &v) == 0 && v == 90000000000LL);
	CHECK(compose_parse_duration("500ms", &v) == 0 && v == 500000000LL);
	CHECK(compose_parse_duration("1h2m3s4ms5us6ns", &v) == 0 && v == 3723004005006LL);
	CHECK(compose_parse_duration("1.5s", &v) == 0 && v == 1500000000LL);
	CHECK(compose_parse_duration("0", &v) == 0 && v == 0);
	CHECK(compose_parse_duration("10\xc2\xb5s", &v) == 0 && v == 10000);
	CHECK(compose_parse_duration("10", &v) < 0);
	CHECK(compose_parse_duration("", &v) < 0);
	CHECK(compose_parse_duration("-1s", &v) < 0);
	CHECK(compose_parse_duration("1d", &v) < 0);
	CHECK(compose_parse_duration("1.2.3s", &v) < 0);
	CHECK(compose_parse_duration("99999999999h", &v) < 0);
	CHECK(compose_parse_bytes("512m", &v) == 0 && v == 512LL << 20);
	CHECK(compose_parse_bytes("1g", &v) == 0 && v == 1LL << 30);
	CHECK(compose_parse_bytes("1GB", &v) == 0 && v == 1LL << 30);
	CHECK(compose_parse_bytes("100k", &v) == 0 && v == 102400);
	CHECK(compose_parse_bytes("100KiB", &v) == 0 && v == 102400);
	CHECK(compose_parse_bytes("1024", &v) == 0 && v == 1024);
	CHECK(compose_parse_bytes("10b", &v) == 0 && v == 10);
	CHECK(compose_parse_bytes("1.5m", &v) == 0 && v == 1572864);
	CHECK(compose_parse_bytes("2 t", &v) == 0 && v == 2LL << 40);
	CHECK(compose_parse_bytes("1x", &v) < 0);
	CHECK(compose_parse_bytes("m", &v) < 0);
	CHECK(compose_parse_bytes("-1m", &v) < 0);
	CHECK(compose_parse_bytes("99999999p", &v) < 0);
	int sig;
	CHECK(signal_parse("SIGTERM", &sig) == 0 && sig == SIGTERM);
	CHECK(signal_parse("quit", &sig) == 0 && sig == SIGQUIT);
	CHECK(signal_parse("9", &sig) == 0 && sig == 9);
	CHECK(signal_parse("SIGRTMIN+3", &sig) == 0 && sig == 37);
	CHECK(signal_parse("RTMAX-1", &sig) == 0 && sig == 63);
	CHECK(signal_parse("SIGFOO", &sig) < 0);
	CHECK(signal_parse("0", &sig) < 0);
	CHECK(signal_parse("65", &sig) < 0);
	CHECK(signal_parse("RTMIN", &sig) == 0 && sig == 34);
	CHECK(signal_parse("rtmin+30", &sig) == 0 && sig == 64);
	CHECK(signal_parse("RTMIN+31", &sig) < 0);
	CHECK(signal_parse("RTMIN-1", &sig) < 0);
	CHECK(signal_parse("RTMAX+1", &sig) < 0);
	CHECK(signal_parse("1234", &sig) < 0);
	CHECK(signal_parse("", &sig) < 0);
	int cap;
	CHECK(compose_parse_cap("NET_ADMIN", &cap) == 0 && cap == CAP_NET_ADMIN);
	CHECK(compose_parse_cap("cap_sys_admin", &cap) == 0 && cap == CAP_SYS_ADMIN);
	CHECK(compose_parse_cap("all", &cap) == 0 && cap == -1);
	CHECK(compose_parse_cap("CAP_", &cap) < 0);
	CHECK(compose_parse_cap("NOPE", &cap) < 0);
}

static void test_restart_depends_healthcheck(void)
{
	struct compose_project p;
	const char *y = "services:\n"
			"  a:\n"
			"    image: x\n"
			"    restart: unless-stopped\n"
			"    depends_on: [b, c, b]\n"
			"    healthcheck:\n"
			"      test: curl -f http://localhost || exit 1\n"
			"      interval: 10s\n"
			"      timeout: 2s\n"
			"      start_period: 1m\n"
			"      start_interval: 500ms\n"
			"      retries: 5\n"
			"  b:\n"
			"    image: x\n"
			"    restart: \"no\"\n"
			"    depends_on:\n"
			"      c: {condition: service_healthy, restart: true}\n"
			"      d: {condition: service_completed_successfully, required: false}\n"
			"    healthcheck: {test: [\"CMD\", \"pg_isready\", \"-U\", \"x\"]}\n"
			"  c:\n"
			"    image: x\n"
			"    restart: always\n"
			"    healthcheck: {disable: true}\n"
			"  d:\n"
			"    image: x\n"
			"    restart: on-failure\n"
			"    healthcheck: {test: [NONE]}\n";
	CHECK_EQ_INT(parse(&p, y), 0);
	dump_problems(&p);
	const struct compose_service *a = svc(&p, "a");
	const struct compose_service *b = svc(&p, "b");
	CHECK(a && a->restart == COMPOSE_RESTART_UNLESS_STOPPED && a->ndeps == 2);
	if (a) {
		CHECK(strcmp(a->deps[0].service, "b") == 0 && a->deps[0].condition == COMPOSE_DEP_STARTED &&
		      a->deps[0].required);
		CHECK(a->has_healthcheck &&
		      argv_is(a->healthcheck.test, a->healthcheck.ntest,
			      (const char *[]){"CMD-SHELL", "curl -f http://localhost || exit 1", NULL}));
		CHECK(a->healthcheck.interval_ns == 10000000000LL && a->healthcheck.timeout_ns == 2000000000LL &&
		      a->healthcheck.start_period_ns == 60000000000LL &&
		      a->healthcheck.start_interval_ns == 500000000LL && a->healthcheck.retries == 5);
	}
	CHECK(b && b->restart == COMPOSE_RESTART_NO && b->ndeps == 2);
	if (b && b->ndeps == 2) {
		CHECK(b->deps[0].condition == COMPOSE_DEP_HEALTHY && b->deps[0].restart && b->deps[0].required);
		CHECK(b->deps[1].condition == COMPOSE_DEP_COMPLETED && !b->deps[1].required);
		CHECK(b->healthcheck.ntest == 4 && strcmp(b->healthcheck.test[0], "CMD") == 0);
	}
	CHECK(svc(&p, "c") && svc(&p, "c")->healthcheck_disabled && svc(&p, "c")->restart == COMPOSE_RESTART_ALWAYS);
	CHECK(svc(&p, "d") && svc(&p, "d")->restart == COMPOSE_RESTART_ON_FAILURE && svc(&p, "d")->max_retries == 0);
	compose_free(&p);
}

static void test_networks(void)
{
	struct compose_project p;
	const char *y = "services:\n"
			"  web:\n"
			"    image: x\n"
			"    networks:\n"
			"      front:\n"
			"        aliases: [www, site.local]\n"
			"        ipv4_address: 172.20.0.10\n"
			"      back:\n"
			"  db:\n"
			"    image: x\n"
			"    networks: [back, default]\n"
			"  sidecar:\n"
			"    image: x\n"
			"    network_mode: service:web\n"
			"  hosted: {image: x, network_mode: host}\n"
			"  isolated: {image: x, network_mode: none}\n"
			"  other: {image: x, network_mode: \"container:abc\"}\n"
			"networks:\n"
			"  front:\n"
			"    driver: bridge\n"
			"    ipam:\n"
			"      driver: default\n"
			"      config:\n"
			"        - subnet: 172.20.0.0/16\n"
			"          gateway: 172.20.0.1\n"
			"    labels: {tier: front}\n"
			"  back: {internal: true, enable_ipv6: false, name: backnet}\n";
	CHECK_EQ_INT(parse(&p, y), 0);
	dump_problems(&p);
	const struct compose_service *web = svc(&p, "web");
	CHECK(web && web->nnetworks == 2);
	if (web && web->nnetworks == 2) {
		CHECK(strcmp(web->networks[0].network, "front") == 0 && web->networks[0].naliases == 2 &&
		      strcmp(web->networks[0].ipv4_address, "172.20.0.10") == 0);
		CHECK(strcmp(web->networks[1].network, "back") == 0 && web->networks[1].naliases == 0);
	}
	const struct compose_service *sc = svc(&p, "sidecar");
	CHECK(sc && sc->network_mode == COMPOSE_NET_SERVICE && strcmp(sc->network_mode_target, "web") == 0);
	CHECK(sc && sc->ndeps == 1 && sc->deps[0].implicit && strcmp(sc->deps[0].service, "web") == 0);
	CHECK(svc(&p, "hosted")->network_mode == COMPOSE_NET_HOST);
	CHECK(svc(&p, "isolated")->network_mode == COMPOSE_NET_NONE);
	CHECK(svc(&p, "other")->network_mode == COMPOSE_NET_CONTAINER);
	const struct compose_network *front = compose_network_find(&p, "front");
	CHECK(front && front->nsubnets == 1 && strcmp(front->subnets[0].subnet, "172.20.0.0/16") == 0);
	const struct compose_network *back = compose_network_find(&p, "back");
	CHECK(back && back->internal && !back->enable_ipv6 && strcmp(back->name, "backnet") == 0);
	compose_free(&p);
	check_error("services:\n  a:\n    image: x\n    networks: [nowhere]\n",
		    "compose.yaml:4: services.a.networks: ", "network 'nowhere' is not declared");
	check_error(
		"services:\n  a:\n    image: x\n    networks:\n      n: {ipv4_address: 300.0.0.1}\nnetworks: {n: }\n",
		"compose.yaml:5: services.a.networks.n.ipv4_address: ", "not an IPv4 address");
	check_error("services:\n  a:\n    image: x\n    networks:\n      n: {mac_address: x}\nnetworks: {n: }\n",
		    "compose.yaml:5: services.a.networks.n.mac_address: ", "'x' is not a unicast MAC address");
	check_error("services:\n  a: {image: x}\nnetworks:\n  n: {driver: overlay}\n",
		    "compose.yaml:4: networks.n.driver: ", "bridge networks only");
	check_error("services:\n  a: {image: x}\nnetworks:\n  n: {enable_ipv6: true}\n",
		    "compose.yaml:4: networks.n.enable_ipv6: ", "IPv4 only");
	check_error("services:\n  a: {image: x}\nnetworks:\n  n: {external: true}\n",
		    "compose.yaml:4: networks.n: ", "unsupported key 'external'");
	check_error("services:\n  a: {image: x}\nnetworks:\n  n:\n    ipam:\n      config: [{subnet: 10.0.0.0/33}]\n",
		    "compose.yaml:6: networks.n.ipam.config.subnet: ", "is not a network like");
	check_error("services:\n  a: {image: x}\nnetworks:\n  n:\n    ipam:\n      config: [{subnet: 10.0.0.0/+8}]\n",
		    "compose.yaml:6: networks.n.ipam.config.subnet: ", "is not a network like");
}

/* ---- profiles and the start order ------------------------------------------------------ */

static const char *order_names(const struct compose_project *p, const struct compose_graph *g, char *buf, size_t size)
{
	size_t len = 0;
	buf[0] = '\0';
	for (size_t gi = 0; gi < g->ngroups; gi++) {
		for (size_t i = g->group_start[gi]; i < g->group_start[gi + 1]; i++) {
			len += (size_t)snprintf(buf + len, size - len, "%s%s", i == g->group_start[gi] ? "" : ",",
						p->services[g->order[i]].name);
		}
		if (gi + 1 < g->ngroups) {
			len += (size_t)snprintf(buf + len, size - len, " | ");
		}
	}
	return buf;
}

static const char *blocked_why(const struct compose_project *p, const struct compose_graph *g, const char *name)
{
	for (size_t i = 0; i < g->nblocked; i++) {
		if (strcmp(p->services[g->blocked[i].service].name, name) == 0) {
			return g->blocked[i].why;
		}
	}
	return NULL;
}

static void test_start_order_and_groups(void)
{
	struct compose_project p;
	const char *y = "services:\n"
			"  web: {image: x, depends_on: [api, cache]}\n"
			"  api: {image: x, depends_on: {db: {condition: service_healthy}}}\n"
			"  db: {image: x}\n"
			"  cache: {image: x}\n"
			"  zlog: {image: x}\n"
			"  admin: {image: x, depends_on: [db]}\n"
			"  worker: {image: x, depends_on: [api, zlog]}\n";
	CHECK_EQ_INT(parse(&p, y), 0);
	struct compose_graph g;
	struct berr err;
	CHECK_EQ_INT(compose_graph_build(&p, &g, &err), 0);
	char buf[256];
	const char *got = order_names(&p, &g, buf, sizeof(buf));
	CHECK(strcmp(got, "cache,db,zlog | admin,api | web,worker") == 0);
	if (strcmp(got, "cache,db,zlog | admin,api | web,worker") != 0) {
		fprintf(stderr, "  order: %s\n", got);
	}
	CHECK_EQ_INT(g.norder, 7);
	CHECK_EQ_INT(g.nblocked, 0);
	CHECK_EQ_INT(g.nerrors, 0);
	compose_graph_free(&g);
	compose_free(&p);
}

static void test_cycles_and_blocked(void)
{
	struct compose_project p;
	const char *y = "services:\n"
			"  a: {image: x, depends_on: [b]}\n"
			"  b: {image: x, depends_on: [c]}\n"
			"  c: {image: x, depends_on: [a]}\n"
			"  d: {image: x, depends_on: [a]}\n"
			"  self: {image: x, depends_on: [self]}\n"
			"  e: {image: x, depends_on: [ghost]}\n"
			"  f:\n"
			"    image: x\n"
			"    depends_on: [broken]\n"
			"  broken: {image: x, read_only: 7}\n"
			"  g: {image: x, depends_on: {ghost: {required: false}, h: {}}}\n"
			"  h: {image: x}\n"
			"  i: {image: x, depends_on: [debug]}\n"
			"  debug: {image: x, profiles: [dev]}\n"
			"  j: {image: x, network_mode: \"service:ghost2\"}\n"
			"  k: {image: x, depends_on: [e]}\n";
	CHECK_EQ_INT(parse(&p, y), 1);
	struct compose_graph g;
	struct berr err;
	CHECK_EQ_INT(compose_graph_build(&p, &g, &err), 0);
	CHECK_EQ_INT(g.nerrors, 2);
	if (g.nerrors == 2) {
		CHECK(strcmp(g.errors[0], "compose.yaml: depends_on cycle: a -> b -> c -> a") == 0 ||
		      strcmp(g.errors[1], "compose.yaml: depends_on cycle: a -> b -> c -> a") == 0);
		CHECK(strcmp(g.errors[0], "compose.yaml: depends_on cycle: self -> self") == 0 ||
		      strcmp(g.errors[1], "compose.yaml: depends_on cycle: self -> self") == 0);
	}
	CHECK_STR_CONTAINS(blocked_why(&p, &g, "b"), "compose.yaml:3: services.b: cannot start: it is part of the "
						     "depends_on cycle a -> b -> c -> a");
	CHECK_STR_CONTAINS(blocked_why(&p, &g, "d"), "compose.yaml:5: services.d: cannot start: depends on 'a', which "
						     "cannot start");
	CHECK_STR_CONTAINS(blocked_why(&p, &g, "e"), "compose.yaml:7: services.e: cannot start: depends on 'ghost', "
						     "which is not defined");
	CHECK_STR_CONTAINS(blocked_why(&p, &g, "f"), "compose.yaml:10: services.f: cannot start: depends on 'broken', "
						     "which has errors in its definition");
	CHECK_STR_CONTAINS(blocked_why(&p, &g, "broken"), "services.broken: cannot start: its definition has errors");
	CHECK_STR_CONTAINS(blocked_why(&p, &g, "i"), "depends on 'debug', which is not enabled by the active profiles");
	CHECK_STR_CONTAINS(blocked_why(&p, &g, "j"), "its network_mode uses 'ghost2', which is not defined");
	CHECK_STR_CONTAINS(blocked_why(&p, &g, "k"), "depends on 'e', which cannot start");
	CHECK(blocked_why(&p, &g, "debug") == NULL); /* inactive, not blocked */
	char buf[256];
	const char *got = order_names(&p, &g, buf, sizeof(buf));
	CHECK(strcmp(got, "h | g") == 0);
	if (strcmp(got, "h | g") != 0) {
		fprintf(stderr, "  order: %s\n", got);
	}
	compose_graph_free(&g);
	compose_free(&p);

	/* the same file with the dev profile: i starts after debug */
	const char *profiles[] = {"dev"};
	CHECK(parse_with(&p, y, profiles, 1, &err) == 1);
	CHECK(svc(&p, "debug")->active);
	CHECK_EQ_INT(compose_graph_build(&p, &g, &err), 0);
	CHECK(blocked_why(&p, &g, "i") == NULL);
	compose_graph_free(&g);
	compose_free(&p);
}

static void test_long_chain_has_no_recursion(void)
{
	/* 3000 services in a chain: the graph must not recurse per level. */
	size_t n = 3000;
	size_t size = n * 64 + 64;
	char *y = malloc(size);
	size_t len = (size_t)snprintf(y, size, "services:\n");
	for (size_t i = 0; i < n; i++) {
		if (i + 1 < n) {
			len += (size_t)snprintf(y + len, size - len, "  s%05zu: {image: x, depends_on: [s%05zu]}\n", i,
						i + 1);
		} else {
			len += (size_t)snprintf(y + len, size - len, "  s%05zu: {image: x}\n", i);
		}
	}
	struct compose_project p;
	CHECK_EQ_INT(parse(&p, y), 0);
	struct compose_graph g;
	struct berr err;
	CHECK_EQ_INT(compose_graph_build(&p, &g, &err), 0);
	CHECK_EQ_INT(g.ngroups, n);
	CHECK(g.norder == n && strcmp(p.services[g.order[0]].name, "s02999") == 0);
	compose_graph_free(&g);
	compose_free(&p);
	free(y);
}

/* ---- translation -------------------------------------------------------------------------- */

static int volume_path(void *ctx, const struct compose_service *s, const struct compose_mount *m, const char **host,
		       struct berr *err)
{
	static char buf[512];
	(void)ctx;
	if (m->type == COMPOSE_MOUNT_BIND) {
		if (strncmp(m->source, "/forbidden", 10) == 0) {
			return berr_setx(err, EPERM, "services.%s: bind source %s is outside /config and /data",
					 s->name, m->source);
		}
		*host = m->source;
		return 0;
	}
	if (m->source != NULL) {
		snprintf(buf, sizeof(buf), "/data/volumes/%s", m->source);
	} else {
		snprintf(buf, sizeof(buf), "/data/anon/%s%s", s->name, m->target);
	}
	*host = buf;
	return 0;
}

static char rootfs[128];

static struct compose_translate_in input(const struct compose_project *p, const char *service,
					 const struct image_config *img)
{
	struct compose_translate_in in = {
		.project = p,
		.service = compose_service_find(p, service),
		.image = img,
		.rootfs = rootfs,
		.hostname = "default-host",
		.volume_path = volume_path,
		.hostname_file = "/run/berth/web/hostname",
		.hosts_file = "/run/berth/web/hosts",
		.resolv_file = "/run/berth/web/resolv.conf",
		.cgroups_path = "/berth/web",
	};
	return in;
}

static int translate(const char *yaml, const char *service, const struct image_config *img, struct compose_runtime *rt,
		     struct berr *err)
{
	struct compose_project p;
	memset(rt, 0, sizeof(*rt));
	if (parse(&p, yaml) != 0) {
		dump_problems(&p);
		compose_free(&p);
		return -100;
	}
	struct compose_translate_in in = input(&p, service, img);
	int ret = compose_translate(&in, rt, err);
	compose_free(&p);
	return ret;
}

static const char *env_get(const struct oci_process *pr, const char *name)
{
	size_t len = strlen(name);
	for (size_t i = 0; i < pr->nenv; i++) {
		if (strncmp(pr->env[i], name, len) == 0 && pr->env[i][len] == '=') {
			return pr->env[i] + len + 1;
		}
	}
	return NULL;
}

static void test_entrypoint_and_command_rules(void)
{
	char *ep[] = {"/entry.sh", "--flag"};
	char *cmd[] = {"serve", "--port=80"};
	struct image_config both = {.entrypoint = ep, .nentrypoint = 2, .cmd = cmd, .ncmd = 2};
	struct image_config only_cmd = {.cmd = cmd, .ncmd = 2};
	struct image_config none = {0};
	static const struct {
		const char *keys;
		int image; /* 0 both, 1 only cmd, 2 none */
		const char *const want[8];
	} cases[] = {
		{"", 0, {"/entry.sh", "--flag", "serve", "--port=80"}},
		{"command: run fast", 0, {"/entry.sh", "--flag", "run", "fast"}},
		{"entrypoint: [/bin/sh, -c]", 0, {"/bin/sh", "-c"}},
		{"entrypoint: /bin/sh -c\n    command: [\"echo hi\"]", 0, {"/bin/sh", "-c", "echo hi"}},
		{"entrypoint: []\n    command: [ls]", 0, {"ls"}},
		{"command: []", 0, {"/entry.sh", "--flag"}},
		{"", 1, {"serve", "--port=80"}},
		{"command: echo 'a b' \"c\\\"d\"", 2, {"echo", "a b", "c\"d"}},
		{"", 2, {NULL}},
	};
	const struct image_config *images[] = {&both, &only_cmd, &none};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char yaml[256];
		snprintf(yaml, sizeof(yaml), "services:\n  web:\n    image: x\n    %s\n", cases[i].keys);
		struct compose_runtime rt;
		struct berr err = {0};
		int ret = translate(yaml, "web", images[cases[i].image], &rt, &err);
		if (cases[i].want[0] == NULL) {
			CHECK(ret == -EINVAL);
			CHECK_STR_CONTAINS(err.msg,
					   "services.web: no command: the image has no Entrypoint or Cmd and the "
					   "service gives none");
			continue;
		}
		CHECK_EQ_INT(ret, 0);
		if (ret != 0) {
			fprintf(stderr, "  case %zu: %s\n", i, err.msg);
			continue;
		}
		int same = argv_is(rt.oci.process.args, rt.oci.process.nargs, (const char *const *)cases[i].want);
		CHECK(same);
		if (!same) {
			fprintf(stderr, "  case %zu: got", i);
			for (size_t k = 0; k < rt.oci.process.nargs; k++) {
				fprintf(stderr, " [%s]", rt.oci.process.args[k]);
			}
			fprintf(stderr, "\n");
		}
		compose_runtime_free(&rt);
	}
	/* The image's Cmd dropped by an empty entrypoint: nothing left, whatever the image. */
	check_error("services:\n  web:\n    image: x\n    entrypoint: \"\"\n",
		    "compose.yaml:4: services.web.entrypoint: ", "is empty and no command is given");
}

static void test_translate_env_and_workdir(void)
{
	put_file("t.env", "FROM_FILE=file\nSHARED=file\nLANG=C.UTF-8\n");
	char *env[] = {"PATH=/image/bin", "SHARED=image", "IMAGE_ONLY=1", "REMOVED=image", "HOME=/image-home"};
	char *cmd[] = {"run"};
	struct image_config img = {.cmd = cmd, .ncmd = 1, .env = env, .nenv = 5, .working_dir = "/app"};
	struct compose_runtime rt;
	struct berr err = {0};
	const char *y = "services:\n"
			"  web:\n"
			"    image: x\n"
			"    tty: true\n"
			"    env_file: t.env\n"
			"    environment:\n"
			"      SHARED: inline\n"
			"      REMOVED:\n"
			"      HOSTNAME_OVERRIDE: x\n";
	CHECK_EQ_INT(translate(y, "web", &img, &rt, &err), 0);
	const struct oci_process *pr = &rt.oci.process;
	CHECK(strcmp(env_get(pr, "PATH"), "/image/bin") == 0);
	CHECK(strcmp(env_get(pr, "SHARED"), "inline") == 0);
	CHECK(strcmp(env_get(pr, "FROM_FILE"), "file") == 0);
	CHECK(strcmp(env_get(pr, "IMAGE_ONLY"), "1") == 0);
	CHECK(env_get(pr, "REMOVED") == NULL); /* bare and unset: removed, the image's value too */
	CHECK(strcmp(env_get(pr, "HOSTNAME"), "default-host") == 0);
	CHECK(strcmp(env_get(pr, "TERM"), "xterm") == 0);
	CHECK(strcmp(env_get(pr, "HOME"), "/image-home") == 0);
	/* Docker's order: its defaults first (no PATH: the config has one), then the config's */
	CHECK(strcmp(pr->env[0], "HOSTNAME=default-host") == 0 && strcmp(pr->env[1], "TERM=xterm") == 0 &&
	      strcmp(pr->env[2], "PATH=/image/bin") == 0);
	CHECK(strcmp(pr->cwd, "/app") == 0);
	CHECK(pr->terminal);
	compose_runtime_free(&rt);

	struct image_config bare = {.cmd = cmd, .ncmd = 1};
	y = "services:\n  web:\n    image: x\n    hostname: named\n    working_dir: /w\n"
	    "    environment: {HOSTNAME: mine}\n";
	CHECK_EQ_INT(translate(y, "web", &bare, &rt, &err), 0);
	pr = &rt.oci.process;
	CHECK(strcmp(env_get(pr, "PATH"), COMPOSE_DEFAULT_PATH) == 0);
	CHECK(strcmp(env_get(pr, "HOSTNAME"), "mine") == 0);
	CHECK(strcmp(env_get(pr, "HOME"), "/root") == 0);
	CHECK(env_get(pr, "TERM") == NULL);
	CHECK(strcmp(pr->cwd, "/w") == 0);
	CHECK(strcmp(rt.oci.hostname, "named") == 0);
	compose_runtime_free(&rt);

	CHECK_EQ_INT(translate("services:\n  web: {image: x}\n", "web", &bare, &rt, &err), 0);
	CHECK(strcmp(rt.oci.process.cwd, "/") == 0);
	compose_runtime_free(&rt);
}

static void make_rootfs(void)
{
	snprintf(rootfs, sizeof(rootfs), "%s/rootfs", tmpdir);
	put_file("rootfs/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"
				      "# a comment\n"
				      "daemon:x:2:2::/sbin:/bin/false\n"
				      "app:x:1000:1000:App:/home/app:/bin/sh\n"
				      "broken:x:notanumber:1\n"
				      "nohome:x:1001:1001\n");
	put_file("rootfs/etc/group", "root:x:0:\n"
				     "bin:x:1:root,daemon\n"
				     "wheel:x:10:root\n"
				     "app:x:1000:\n"
				     "staff:x:50:app,other\n"
				     "audio:x:29:other,app\n"
				     "dup:x:50:app\n");
	/* A symlink that points outside the rootfs must resolve inside it. */
	put_file("rootfs2/etc/passwd.real", "root:x:0:0:root:/r2:/bin/sh\n");
	char link[256];
	snprintf(link, sizeof(link), "%s/rootfs2/etc/passwd", tmpdir);
	unlink(link);
	CHECK(symlink("/../../../etc/passwd.real", link) == 0);
}

static void test_translate_user(void)
{
	char *cmd[] = {"run"};
	struct image_config img = {.cmd = cmd, .ncmd = 1};
	static const struct {
		const char *user; /* NULL: none */
		const char *image_user;
		uint32_t uid, gid;
		size_t ngids;
		gid_t gids[4];
		const char *home;
	} cases[] = {
		{NULL, NULL, 0, 0, 2, {1, 10}, "/root"},
		{"app", NULL, 1000, 1000, 2, {50, 29}, "/home/app"},
		{"1000", NULL, 1000, 1000, 2, {50, 29}, "/home/app"},
		{"app:staff", NULL, 1000, 50, 0, {0}, "/home/app"},
		{"app:29", NULL, 1000, 29, 0, {0}, "/home/app"},
		{"1000:4242", NULL, 1000, 4242, 0, {0}, "/home/app"},
		{"4242", NULL, 4242, 0, 0, {0}, "/"},
		{"4242:app", NULL, 4242, 1000, 0, {0}, "/"},
		{"daemon", NULL, 2, 2, 1, {1}, "/sbin"},
		{NULL, "app", 1000, 1000, 2, {50, 29}, "/home/app"},
		{"root", "app", 0, 0, 2, {1, 10}, "/root"},
		{"nohome", NULL, 1001, 1001, 0, {0}, "/"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char yaml[256];
		snprintf(yaml, sizeof(yaml), "services:\n  web:\n    image: x\n%s%s%s",
			 cases[i].user ? "    user: \"" : "", cases[i].user ? cases[i].user : "",
			 cases[i].user ? "\"\n" : "");
		img.user = (char *)cases[i].image_user;
		struct compose_runtime rt;
		struct berr err = {0};
		int ret = translate(yaml, "web", &img, &rt, &err);
		CHECK_EQ_INT(ret, 0);
		if (ret != 0) {
			fprintf(stderr, "  case %zu: %s\n", i, err.msg);
			continue;
		}
		const struct oci_user *u = &rt.oci.process.user;
		CHECK_EQ_INT(u->uid, cases[i].uid);
		CHECK_EQ_INT(u->gid, cases[i].gid);
		CHECK_EQ_INT(u->nadditional_gids, cases[i].ngids);
		for (size_t k = 0; k < cases[i].ngids && k < u->nadditional_gids; k++) {
			CHECK_EQ_INT(u->additional_gids[k], cases[i].gids[k]);
		}
		CHECK(strcmp(env_get(&rt.oci.process, "HOME"), cases[i].home) == 0);
		compose_runtime_free(&rt);
	}
	img.user = NULL;
	struct compose_runtime rt;
	struct berr err = {0};
	CHECK(translate("services:\n  web: {image: x, user: ghost}\n", "web", &img, &rt, &err) == -EINVAL);
	CHECK_STR_CONTAINS(err.msg, "services.web: user 'ghost' is not in the image's /etc/passwd");
	CHECK(translate("services:\n  web: {image: x, user: \"app:nogroup\"}\n", "web", &img, &rt, &err) == -EINVAL);
	CHECK_STR_CONTAINS(err.msg, "services.web: group 'nogroup' is not in the image's /etc/group");
	/* out of range: compose refuses the service's, the translation the image's */
	check_error("services:\n  web: {image: x, user: \"3000000000\"}\n",
		    "compose.yaml:2: services.web.user: ", "user 3000000000 is out of range (0 to 2147483647)");
	check_error("services:\n  web: {image: x, user: \"app:4000000000\"}\n",
		    "compose.yaml:2: services.web.user: ", "group 4000000000 is out of range");
	img.user = "3000000000";
	CHECK(translate("services:\n  web: {image: x}\n", "web", &img, &rt, &err) == -EINVAL);
	CHECK_STR_CONTAINS(err.msg, "services.web: user 3000000000 is out of range");
	img.user = NULL;

	/* passwd as a symlink to an absolute path: resolved inside the rootfs */
	char saved[128];
	snprintf(saved, sizeof(saved), "%s", rootfs);
	snprintf(rootfs, sizeof(rootfs), "%s/rootfs2", tmpdir);
	CHECK_EQ_INT(translate("services:\n  web: {image: x}\n", "web", &img, &rt, &err), 0);
	CHECK(strcmp(env_get(&rt.oci.process, "HOME"), "/r2") == 0);
	compose_runtime_free(&rt);
	/* no /etc/passwd at all: numbers work, names do not */
	snprintf(rootfs, sizeof(rootfs), "%s/empty-rootfs", tmpdir);
	mkdir(rootfs, 0755);
	CHECK_EQ_INT(translate("services:\n  web: {image: x, user: \"5:6\"}\n", "web", &img, &rt, &err), 0);
	CHECK(rt.oci.process.user.uid == 5 && rt.oci.process.user.gid == 6);
	compose_runtime_free(&rt);
	CHECK(translate("services:\n  web: {image: x, user: app}\n", "web", &img, &rt, &err) == -EINVAL);
	snprintf(rootfs, sizeof(rootfs), "%s", saved);
}

static uint64_t caps_of(const char *keys)
{
	char *cmd[] = {"run"};
	struct image_config img = {.cmd = cmd, .ncmd = 1};
	char yaml[256];
	snprintf(yaml, sizeof(yaml), "services:\n  web:\n    image: x\n    %s\n", keys);
	struct compose_runtime rt;
	struct berr err = {0};
	if (translate(yaml, "web", &img, &rt, &err) != 0) {
		fprintf(stderr, "  %s: %s\n", keys, err.msg);
		return 0;
	}
	uint64_t caps = rt.oci.process.caps.effective;
	CHECK(rt.oci.process.caps.bounding == caps && rt.oci.process.caps.permitted == caps);
	CHECK(rt.oci.process.caps.inheritable == 0 && rt.oci.process.caps.ambient == 0);
	compose_runtime_free(&rt);
	return caps;
}

#define C(x) (UINT64_C(1) << (x))

static void test_capabilities(void)
{
	uint64_t all = 0;
	for (int c = 0; c <= oci_cap_last(); c++) {
		all |= C(c);
	}
	CHECK(caps_of("x-none: 1") == PROFILE_DEFAULT_CAPS);
	CHECK(caps_of("cap_add: [NET_ADMIN]") == (PROFILE_DEFAULT_CAPS | C(CAP_NET_ADMIN)));
	CHECK(caps_of("cap_drop: [NET_RAW, CAP_MKNOD]") == (PROFILE_DEFAULT_CAPS & ~(C(CAP_NET_RAW) | C(CAP_MKNOD))));
	CHECK(caps_of("cap_drop: [ALL]\n    cap_add: [CHOWN, NET_BIND_SERVICE]") ==
	      (C(CAP_CHOWN) | C(CAP_NET_BIND_SERVICE)));
	CHECK(caps_of("cap_add: [ALL]\n    cap_drop: [SYS_ADMIN]") == (all & ~C(CAP_SYS_ADMIN)));
	CHECK(caps_of("cap_add: [ALL]\n    cap_drop: [ALL]") == all);
	CHECK(caps_of("cap_add: [CHOWN]\n    cap_drop: [CHOWN]") == PROFILE_DEFAULT_CAPS);
	CHECK(caps_of("privileged: true\n    cap_drop: [ALL]") == all);
}

static void test_security_profile(void)
{
	char *cmd[] = {"run"};
	struct image_config img = {.cmd = cmd, .ncmd = 1};
	struct compose_runtime rt;
	struct berr err = {0};
	CHECK_EQ_INT(translate("services:\n  web: {image: x}\n", "web", &img, &rt, &err), 0);
	const struct oci_linux *l = &rt.oci.linux_;
	CHECK(rt.oci.process.no_new_privileges == PROFILE_NO_NEW_PRIVILEGES);
	CHECK(l->seccomp != NULL && l->seccomp->default_action == OCI_SECCOMP_ERRNO);
	CHECK_EQ_INT(l->nmasked_paths, PROFILE_NMASKED_PATHS);
	CHECK_EQ_INT(l->nreadonly_paths, PROFILE_NREADONLY_PATHS);
	CHECK(l->resources.ndevices == 1 && !l->resources.devices[0].allow && l->resources.devices[0].type == 'a');
	CHECK(l->resources.has_pids_limit && l->resources.pids_limit == PROFILE_PIDS_LIMIT);
	CHECK(!rt.oci.root_readonly);
	compose_runtime_free(&rt);

	CHECK_EQ_INT(translate("services:\n  web: {image: x, privileged: true, pids_limit: -1, read_only: true}\n",
			       "web", &img, &rt, &err),
		     0);
	l = &rt.oci.linux_;
	CHECK(!rt.oci.process.no_new_privileges);
	CHECK(l->seccomp == NULL && l->nmasked_paths == 0 && l->nreadonly_paths == 0);
	CHECK(l->resources.ndevices == 1 && l->resources.devices[0].allow && l->resources.devices[0].type == 'a' &&
	      strcmp(l->resources.devices[0].access, "rwm") == 0);
	CHECK(l->resources.pids_limit == -1);
	CHECK(rt.oci.root_readonly);
	for (size_t i = 0; i < rt.oci.nmounts; i++) {
		if (strcmp(rt.oci.mounts[i].destination, "/sys") == 0) {
			CHECK(strcmp(rt.oci.mounts[i].options[3], "rw") == 0);
		}
	}
	compose_runtime_free(&rt);

	CHECK_EQ_INT(translate("services:\n  web: {image: x, pids_limit: 50, cap_add: [SYS_ADMIN]}\n", "web", &img, &rt,
			       &err),
		     0);
	CHECK(rt.oci.linux_.resources.pids_limit == 50);
	/* CAP_SYS_ADMIN opens the syscalls that need it: no clone3 rule */
	int has_clone3 = 0;
	for (size_t i = 0; i < rt.oci.linux_.seccomp->nsyscalls; i++) {
		has_clone3 |= strcmp(rt.oci.linux_.seccomp->syscalls[i].names[0], "clone3") == 0;
	}
	CHECK(!has_clone3);
	compose_runtime_free(&rt);
}

static void test_translate_mounts(void)
{
	char *cmd[] = {"run"};
	char *vols[] = {"/var/lib/data", "/logs/", "/covered"};
	struct image_config img = {.cmd = cmd, .ncmd = 1, .volumes = vols, .nvolumes = 3};
	struct compose_runtime rt;
	struct berr err = {0};
	const char *y = "services:\n"
			"  web:\n"
			"    image: x\n"
			"    shm_size: 256m\n"
			"    volumes:\n"
			"      - data:/srv/data/cache\n"
			"      - ./site:/srv/data:ro\n"
			"      - /covered\n"
			"      - type: tmpfs\n"
			"        target: /scratch\n"
			"        tmpfs: {size: 1m, mode: 700}\n"
			"      - type: bind\n"
			"        source: ./site\n"
			"        target: /flat\n"
			"        bind: {recursive: disabled}\n"
			"    tmpfs: [\"/tmp:size=10m,exec\"]\n"
			"volumes: {data: }\n";
	CHECK_EQ_INT(translate(y, "web", &img, &rt, &err), 0);
	if (err.code) {
		fprintf(stderr, "  %s\n", err.msg);
	}
	const struct oci_config *c = &rt.oci;
	static const char *const first[] = {"/proc",	   "/dev", "/dev/pts",	    "/dev/shm",
					    "/dev/mqueue", "/sys", "/sys/fs/cgroup"};
	for (size_t i = 0; i < 7 && i < c->nmounts; i++) {
		CHECK(strcmp(c->mounts[i].destination, first[i]) == 0);
	}
	CHECK(strcmp(c->mounts[6].type, "cgroup2") == 0 && has_option(&c->mounts[6], "ro"));
	CHECK(has_option(&c->mounts[5], "ro"));
	CHECK(has_option(find_mount(c, "/dev/shm", NULL), "size=268435456"));
	size_t parent;
	size_t child;
	const struct oci_mount *site = find_mount(c, "/srv/data", &parent);
	const struct oci_mount *data = find_mount(c, "/srv/data/cache", &child);
	CHECK(site && data && parent < child);
	char src[256];
	snprintf(src, sizeof(src), "%s/site", tmpdir);
	CHECK(site && strcmp(site->source, src) == 0 && strcmp(site->type, "bind") == 0 && has_option(site, "ro") &&
	      has_option(site, "rbind") && has_option(site, "rprivate"));
	CHECK(data && strcmp(data->source, "/data/volumes/data") == 0 && has_option(data, "rw"));
	/* recursive: disabled: the source's submounts are left out */
	const struct oci_mount *flat = find_mount(c, "/flat", NULL);
	CHECK(flat && has_option(flat, "bind") && !has_option(flat, "rbind"));
	const struct oci_mount *covered = find_mount(c, "/covered", NULL);
	CHECK(covered && strcmp(covered->source, "/data/anon/web/covered") == 0);
	const struct oci_mount *anon = find_mount(c, "/var/lib/data", NULL);
	CHECK(anon && strcmp(anon->source, "/data/anon/web/var/lib/data") == 0);
	CHECK(find_mount(c, "/logs", NULL) != NULL);
	CHECK_EQ_INT(rt.nanon_volumes, 2);
	CHECK(rt.nanon_volumes == 2 && strcmp(rt.anon_volumes[0], "/var/lib/data") == 0 &&
	      strcmp(rt.anon_volumes[1], "/logs") == 0);
	const struct oci_mount *scratch = find_mount(c, "/scratch", NULL);
	CHECK(scratch && strcmp(scratch->type, "tmpfs") == 0 && has_option(scratch, "size=1048576") &&
	      has_option(scratch, "mode=700") && has_option(scratch, "nosuid") && has_option(scratch, "nodev"));
	const struct oci_mount *tmp = find_mount(c, "/tmp", NULL);
	CHECK(tmp && has_option(tmp, "size=10m") && strcmp(tmp->options[tmp->noptions - 1], "exec") == 0);
	const struct oci_mount *hosts = find_mount(c, "/etc/hosts", NULL);
	CHECK(hosts && strcmp(hosts->source, "/run/berth/web/hosts") == 0 && has_option(hosts, "ro"));
	CHECK(find_mount(c, "/etc/resolv.conf", NULL) && find_mount(c, "/etc/hostname", NULL));
	CHECK(c->nmounts == 7 + 8 + 3);
	compose_runtime_free(&rt);

	/* a service mount replaces the default at the same path */
	img.nvolumes = 0;
	CHECK_EQ_INT(translate("services:\n  web:\n    image: x\n    volumes: [\"/host/shm:/dev/shm\", "
			       "\"/host/hosts:/etc/hosts:ro\"]\n",
			       "web", &img, &rt, &err),
		     0);
	size_t shm_at;
	const struct oci_mount *shm = find_mount(&rt.oci, "/dev/shm", &shm_at);
	CHECK(shm && strcmp(shm->type, "bind") == 0);
	CHECK(find_mount(&rt.oci, "/etc/hosts", NULL) &&
	      strcmp(find_mount(&rt.oci, "/etc/hosts", NULL)->source, "/host/hosts") == 0);
	compose_runtime_free(&rt);

	/* the hook refuses a bind source */
	CHECK(translate("services:\n  web:\n    image: x\n    volumes: [\"/forbidden/x:/x\"]\n", "web", &img, &rt,
			&err) == -EPERM);
	CHECK_STR_CONTAINS(err.msg, "bind source /forbidden/x is outside /config and /data");
}

static void test_translate_rest(void)
{
	char *cmd[] = {"run"};
	char *hc[] = {"CMD", "true"};
	char *lk[] = {"org.opencontainers.image.title", "shared"};
	char *lv[] = {"img", "image"};
	struct image_config img = {
		.cmd = cmd,
		.ncmd = 1,
		.stop_signal = "SIGQUIT",
		.label_keys = lk,
		.label_values = lv,
		.nlabels = 2,
		.has_healthcheck = 1,
		.healthcheck = {.test = hc, .ntest = 2, .interval_ns = 7000000000LL, .retries = 9},
	};
	struct compose_runtime rt;
	struct berr err = {0};
	const char *y = "name: proj\n"
			"services:\n"
			"  web:\n"
			"    image: x\n"
			"    mem_limit: 256m\n"
			"    cpus: 0.5\n"
			"    sysctls: [\"net.ipv4.ip_unprivileged_port_start=80\", \"kernel.shmmax=1000\"]\n"
			"    ulimits: {nofile: {soft: 100, hard: 200}, core: -1}\n"
			"    labels: {shared: service, mine: \"1\"}\n"
			"    domainname: example.net\n"
			"    healthcheck: {timeout: 3s}\n"
			"    stop_grace_period: 20s\n";
	CHECK_EQ_INT(translate(y, "web", &img, &rt, &err), 0);
	const struct oci_config *c = &rt.oci;
	const struct oci_resources *r = &c->linux_.resources;
	CHECK(r->has_memory_limit && r->memory_limit == 256 << 20);
	CHECK(r->has_memory_swap && r->memory_swap == 512 << 20);
	CHECK(r->has_cpu_quota && r->cpu_quota == 50000 && r->has_cpu_period && r->cpu_period == 100000);
	CHECK_EQ_INT(c->linux_.nsysctl, 2);
	CHECK(strcmp(c->linux_.sysctl[1].key, "kernel.shmmax") == 0 && strcmp(c->linux_.sysctl[1].value, "1000") == 0);
	CHECK_EQ_INT(c->process.nrlimits, 2);
	CHECK(c->process.rlimits[0].resource == RLIMIT_NOFILE && c->process.rlimits[0].soft == 100 &&
	      c->process.rlimits[0].hard == 200);
	CHECK(c->process.rlimits[1].resource == RLIMIT_CORE && c->process.rlimits[1].soft == UINT64_MAX);
	CHECK_EQ_INT(c->nannotations, 5);
	int seen = 0;
	for (size_t i = 0; i < c->nannotations; i++) {
		const struct oci_kv *kv = &c->annotations[i];
		seen += strcmp(kv->key, "shared") == 0 && strcmp(kv->value, "service") == 0;
		seen += strcmp(kv->key, "org.opencontainers.image.title") == 0 && strcmp(kv->value, "img") == 0;
		seen += strcmp(kv->key, "com.docker.compose.project") == 0 && strcmp(kv->value, "proj") == 0;
		seen += strcmp(kv->key, "com.docker.compose.service") == 0 && strcmp(kv->value, "web") == 0;
	}
	CHECK_EQ_INT(seen, 4);
	CHECK(strcmp(c->domainname, "example.net") == 0 && strcmp(c->hostname, "default-host") == 0);
	CHECK(strcmp(c->linux_.cgroups_path, "/berth/web") == 0);
	CHECK_EQ_INT(rt.stop_signal, SIGQUIT);
	CHECK_EQ_INT(rt.stop_grace_ns, 20000000000LL);
	/* healthcheck: the image's test and interval, the service's timeout, Docker's defaults */
	CHECK(rt.has_healthcheck && rt.healthcheck.ntest == 2 && strcmp(rt.healthcheck.test[1], "true") == 0);
	CHECK(rt.healthcheck.interval_ns == 7000000000LL && rt.healthcheck.timeout_ns == 3000000000LL &&
	      rt.healthcheck.retries == 9 && rt.healthcheck.start_interval_ns == COMPOSE_HEALTH_START_INTERVAL_NS);
	CHECK(oci_config_namespace(c, OCI_NS_NET) != NULL && oci_config_namespace(c, OCI_NS_NET)->path == NULL);
	CHECK(oci_config_namespace(c, OCI_NS_PID) && oci_config_namespace(c, OCI_NS_IPC) &&
	      oci_config_namespace(c, OCI_NS_UTS) && oci_config_namespace(c, OCI_NS_MOUNT) &&
	      oci_config_namespace(c, OCI_NS_CGROUP) && !oci_config_namespace(c, OCI_NS_USER));
	compose_runtime_free(&rt);

	img.stop_signal = NULL;
	img.has_healthcheck = 0;
	CHECK_EQ_INT(translate("services:\n  web: {image: x, network_mode: host, stop_signal: 10, memswap_limit: -1, "
			       "mem_limit: 10m, healthcheck: {test: \"true\"}}\n",
			       "web", &img, &rt, &err),
		     0);
	CHECK(oci_config_namespace(&rt.oci, OCI_NS_NET) == NULL);
	CHECK_EQ_INT(rt.stop_signal, 10);
	CHECK_EQ_INT(rt.stop_grace_ns, COMPOSE_STOP_GRACE_NS);
	CHECK(rt.oci.linux_.resources.memory_swap == -1);
	CHECK(rt.has_healthcheck && rt.healthcheck.interval_ns == COMPOSE_HEALTH_INTERVAL_NS &&
	      rt.healthcheck.retries == COMPOSE_HEALTH_RETRIES && strcmp(rt.healthcheck.test[0], "CMD-SHELL") == 0);
	compose_runtime_free(&rt);

	CHECK_EQ_INT(translate("services:\n  web: {image: x}\n", "web", &img, &rt, &err), 0);
	CHECK_EQ_INT(rt.stop_signal, SIGTERM);
	CHECK(!rt.has_healthcheck);
	compose_runtime_free(&rt);

	img.has_healthcheck = 1;
	CHECK_EQ_INT(translate("services:\n  web: {image: x, healthcheck: {disable: true}}\n", "web", &img, &rt, &err),
		     0);
	CHECK(!rt.has_healthcheck);
	compose_runtime_free(&rt);

	/* init: the caller puts its init in front of the command */
	CHECK_EQ_INT(translate("services:\n  web: {image: x, init: true}\n", "web", &img, &rt, &err), 0);
	CHECK(rt.oci.process.nargs == 1 && strcmp(rt.oci.process.args[0], "run") == 0);
	compose_runtime_free(&rt);

	/* network_mode service: joins the namespace the caller names */
	struct compose_project p;
	CHECK_EQ_INT(parse(&p, "services:\n  db: {image: x}\n  side: {image: x, network_mode: \"service:db\"}\n"), 0);
	struct compose_translate_in in = input(&p, "side", &img);
	CHECK(compose_translate(&in, &rt, &err) == -EINVAL);
	CHECK_STR_CONTAINS(err.msg, "network_mode service:db needs the path of that network namespace");
	in.netns_path = "/proc/123/ns/net";
	CHECK_EQ_INT(compose_translate(&in, &rt, &err), 0);
	CHECK(oci_config_namespace(&rt.oci, OCI_NS_NET) &&
	      strcmp(oci_config_namespace(&rt.oci, OCI_NS_NET)->path, "/proc/123/ns/net") == 0);
	compose_runtime_free(&rt);
	compose_free(&p);

	/* an invalid service is refused */
	CHECK_EQ_INT(parse(&p, "services:\n  web: {image: x, read_only: 3}\n"), 1);
	in = input(&p, "web", &img);
	CHECK(compose_translate(&in, &rt, &err) == -EINVAL);
	CHECK_STR_CONTAINS(err.msg, "services.web: its definition has errors");
	compose_free(&p);
}

/* ---- config.json round trip ---------------------------------------------------------------- */

static const char *full_config =
	"{\n"
	"  \"ociVersion\": \"1.2.0\",\n"
	"  \"root\": {\"path\": \"rootfs\", \"readonly\": true},\n"
	"  \"hostname\": \"box\", \"domainname\": \"example.org\",\n"
	"  \"process\": {\n"
	"    \"terminal\": true, \"consoleSize\": {\"height\": 24, \"width\": 80},\n"
	"    \"user\": {\"uid\": 1000, \"gid\": 1000, \"umask\": 18, \"additionalGids\": [5, 6]},\n"
	"    \"args\": [\"sh\", \"-c\", \"echo \\\"quoted\\\" \\\\ / done\"], \"env\": [\"PATH=/bin\", \"A=b\"],\n"
	"    \"cwd\": \"/\",\n"
	"    \"capabilities\": {\"bounding\": [\"CAP_KILL\", \"CAP_CHOWN\"], \"effective\": [\"CAP_KILL\"],\n"
	"                     \"permitted\": [\"CAP_KILL\"], \"inheritable\": [\"CAP_KILL\"], \"ambient\": "
	"[\"CAP_KILL\"]},\n"
	"    \"rlimits\": [{\"type\": \"RLIMIT_NOFILE\", \"soft\": 1024, \"hard\": 4096},\n"
	"                {\"type\": \"RLIMIT_CORE\", \"soft\": 18446744073709551615, \"hard\": "
	"18446744073709551615}],\n"
	"    \"noNewPrivileges\": true, \"oomScoreAdj\": -100,\n"
	"    \"ioPriority\": {\"class\": \"IOPRIO_CLASS_IDLE\", \"priority\": 4}\n"
	"  },\n"
	"  \"mounts\": [{\"destination\": \"/proc\", \"type\": \"proc\", \"source\": \"proc\"},\n"
	"             {\"destination\": \"/data\", \"type\": \"bind\", \"source\": \"/srv\", \"options\": [\"rbind\", "
	"\"ro\"],\n"
	"              \"uidMappings\": [{\"containerID\": 0, \"hostID\": 1000, \"size\": 1}],\n"
	"              \"gidMappings\": [{\"containerID\": 0, \"hostID\": 1000, \"size\": 1}]}],\n"
	"  \"hooks\": {\"prestart\": [{\"path\": \"/bin/hook\", \"args\": [\"hook\", \"x\"], \"env\": [\"A=1\"], "
	"\"timeout\": 5}],\n"
	"            \"poststop\": [{\"path\": \"/bin/post\"}]},\n"
	"  \"annotations\": {\"a\": \"1\", \"b.c\": \"two words\"},\n"
	"  \"linux\": {\n"
	"    \"namespaces\": [{\"type\": \"pid\"}, {\"type\": \"network\", \"path\": \"/run/netns/x\"}, {\"type\": "
	"\"mount\"}, {\"type\": \"user\"}, {\"type\": \"time\"}],\n"
	"    \"uidMappings\": [{\"containerID\": 0, \"hostID\": 100000, \"size\": 65536}],\n"
	"    \"gidMappings\": [{\"containerID\": 0, \"hostID\": 100000, \"size\": 65536}],\n"
	"    \"devices\": [{\"type\": \"c\", \"path\": \"/dev/fuse\", \"major\": 10, \"minor\": 229, \"fileMode\": "
	"438, \"uid\": 0, \"gid\": 0},\n"
	"                {\"type\": \"p\", \"path\": \"/dev/fifo\"}],\n"
	"    \"cgroupsPath\": \"/berth/box\",\n"
	"    \"resources\": {\"devices\": [{\"allow\": false, \"access\": \"rwm\"}, {\"allow\": true, \"type\": \"c\", "
	"\"major\": 10, \"minor\": 229, \"access\": \"rw\"}, {\"allow\": true, \"type\": \"b\", \"major\": 8}],\n"
	"      \"memory\": {\"limit\": 67108864, \"reservation\": 1048576, \"swap\": -1, \"swappiness\": 10, "
	"\"disableOOMKiller\": true},\n"
	"      \"cpu\": {\"shares\": 512, \"quota\": 50000, \"period\": 100000, \"burst\": 1000, \"idle\": 1, "
	"\"cpus\": \"0-1\", \"mems\": \"0\"},\n"
	"      \"pids\": {\"limit\": 64}, \"blockIO\": {\"weight\": 500, \"weightDevice\": [{\"major\": 8, \"minor\": "
	"0, \"weight\": 100}],\n"
	"      \"throttleReadBpsDevice\": [{\"major\": 254, \"minor\": 0, \"rate\": 1048576}],\n"
	"      \"throttleWriteBpsDevice\": [{\"major\": 254, \"minor\": 1, \"rate\": 2}],\n"
	"      \"throttleReadIOPSDevice\": [{\"major\": 254, \"minor\": 2, \"rate\": 3}],\n"
	"      \"throttleWriteIOPSDevice\": [{\"major\": 254, \"minor\": 3, \"rate\": 4}]},\n"
	"      \"unified\": {\"memory.high\": \"50M\"}},\n"
	"    \"sysctl\": {\"net.ipv4.ip_forward\": \"1\"},\n"
	"    \"seccomp\": {\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrnoRet\": 1, \"architectures\": "
	"[\"SCMP_ARCH_X86_64\"], \"flags\": [\"SECCOMP_FILTER_FLAG_LOG\"],\n"
	"                \"syscalls\": [{\"names\": [\"read\", \"write\"], \"action\": \"SCMP_ACT_ALLOW\"},\n"
	"                             {\"names\": [\"clone3\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 38},\n"
	"                             {\"names\": [\"personality\"], \"action\": \"SCMP_ACT_ALLOW\", \"args\": "
	"[{\"index\": 0, \"value\": 18446744073709551615, \"valueTwo\": 3, \"op\": \"SCMP_CMP_MASKED_EQ\"}]}]},\n"
	"    \"rootfsPropagation\": \"rslave\", \"maskedPaths\": [\"/proc/kcore\"], \"readonlyPaths\": "
	"[\"/proc/sys\"],\n"
	"    \"timeOffsets\": {\"monotonic\": {\"secs\": 10, \"nanosecs\": 5}, \"boottime\": {\"secs\": -3, "
	"\"nanosecs\": 0}},\n"
	"    \"personality\": {\"domain\": \"LINUX32\"}\n"
	"  }\n"
	"}\n";

static int str_eq(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static int strs_eq(char **a, size_t na, char **b, size_t nb)
{
	if (na != nb) {
		return 0;
	}
	for (size_t i = 0; i < na; i++) {
		if (!str_eq(a[i], b[i])) {
			return 0;
		}
	}
	return 1;
}

static int maps_eq(const struct oci_id_map *a, size_t na, const struct oci_id_map *b, size_t nb)
{
	return na == nb && (na == 0 || memcmp(a, b, na * sizeof(*a)) == 0);
}

static int kvs_eq(const struct oci_kv *a, size_t na, const struct oci_kv *b, size_t nb)
{
	if (na != nb) {
		return 0;
	}
	/* JSON objects carry no order; json-c keeps it, but compare by key. */
	for (size_t i = 0; i < na; i++) {
		int found = 0;
		for (size_t j = 0; j < nb; j++) {
			found |= str_eq(a[i].key, b[j].key) && str_eq(a[i].value, b[j].value);
		}
		if (!found) {
			return 0;
		}
	}
	return 1;
}

#define SAME(cond, what)                                          \
	do {                                                      \
		if (!(cond)) {                                    \
			fprintf(stderr, "  differs: %s\n", what); \
			return 0;                                 \
		}                                                 \
	} while (0)

/* Every field of the model, compared. */
static int config_eq(const struct oci_config *a, const struct oci_config *b)
{
	SAME(str_eq(a->oci_version, b->oci_version), "ociVersion");
	SAME(str_eq(a->root_path, b->root_path) && a->root_readonly == b->root_readonly, "root");
	SAME(str_eq(a->hostname, b->hostname) && str_eq(a->domainname, b->domainname), "hostname");
	SAME(a->has_process == b->has_process, "has_process");
	const struct oci_process *pa = &a->process;
	const struct oci_process *pb = &b->process;
	SAME(pa->terminal == pb->terminal && pa->has_console_size == pb->has_console_size &&
		     pa->console_height == pb->console_height && pa->console_width == pb->console_width,
	     "terminal");
	SAME(pa->user.uid == pb->user.uid && pa->user.gid == pb->user.gid && pa->user.has_umask == pb->user.has_umask &&
		     pa->user.umask == pb->user.umask && pa->user.nadditional_gids == pb->user.nadditional_gids,
	     "user");
	for (size_t i = 0; i < pa->user.nadditional_gids; i++) {
		SAME(pa->user.additional_gids[i] == pb->user.additional_gids[i], "additionalGids");
	}
	SAME(strs_eq(pa->args, pa->nargs, pb->args, pb->nargs), "args");
	SAME(strs_eq(pa->env, pa->nenv, pb->env, pb->nenv), "env");
	SAME(str_eq(pa->cwd, pb->cwd), "cwd");
	SAME(pa->has_caps == pb->has_caps && memcmp(&pa->caps, &pb->caps, sizeof(pa->caps)) == 0, "capabilities");
	SAME(pa->nrlimits == pb->nrlimits, "rlimits");
	for (size_t i = 0; i < pa->nrlimits; i++) {
		SAME(memcmp(&pa->rlimits[i], &pb->rlimits[i], sizeof(pa->rlimits[i])) == 0, "rlimit");
	}
	SAME(pa->no_new_privileges == pb->no_new_privileges, "noNewPrivileges");
	/* Values behind a has_ flag that is 0 are not compared: the parser
	 * leaves some of them undefined. */
	SAME(pa->has_oom_score_adj == pb->has_oom_score_adj &&
		     (!pa->has_oom_score_adj || pa->oom_score_adj == pb->oom_score_adj),
	     "oomScoreAdj");
	SAME(pa->has_io_priority == pb->has_io_priority && pa->io_priority_class == pb->io_priority_class &&
		     pa->io_priority == pb->io_priority,
	     "ioPriority");
	SAME(a->nmounts == b->nmounts, "mounts");
	for (size_t i = 0; i < a->nmounts; i++) {
		const struct oci_mount *ma = &a->mounts[i];
		const struct oci_mount *mb = &b->mounts[i];
		SAME(str_eq(ma->destination, mb->destination) && str_eq(ma->type, mb->type) &&
			     str_eq(ma->source, mb->source) &&
			     strs_eq(ma->options, ma->noptions, mb->options, mb->noptions),
		     "mount");
		SAME(maps_eq(ma->uid_maps, ma->nuid_maps, mb->uid_maps, mb->nuid_maps) &&
			     maps_eq(ma->gid_maps, ma->ngid_maps, mb->gid_maps, mb->ngid_maps),
		     "mount id maps");
	}
	for (int k = 0; k < OCI_HOOK_KINDS; k++) {
		SAME(a->hooks.count[k] == b->hooks.count[k], "hooks");
		for (size_t i = 0; i < a->hooks.count[k]; i++) {
			const struct oci_hook *ha = &a->hooks.list[k][i];
			const struct oci_hook *hb = &b->hooks.list[k][i];
			SAME(str_eq(ha->path, hb->path) && strs_eq(ha->args, ha->nargs, hb->args, hb->nargs) &&
				     strs_eq(ha->env, ha->nenv, hb->env, hb->nenv) && ha->timeout == hb->timeout,
			     "hook");
		}
	}
	SAME(kvs_eq(a->annotations, a->nannotations, b->annotations, b->nannotations), "annotations");
	const struct oci_linux *la = &a->linux_;
	const struct oci_linux *lb = &b->linux_;
	SAME(la->nnamespaces == lb->nnamespaces, "namespaces");
	for (size_t i = 0; i < la->nnamespaces; i++) {
		SAME(la->namespaces[i].type == lb->namespaces[i].type &&
			     la->namespaces[i].clone_flag == lb->namespaces[i].clone_flag &&
			     str_eq(la->namespaces[i].path, lb->namespaces[i].path),
		     "namespace");
	}
	SAME(maps_eq(la->uid_maps, la->nuid_maps, lb->uid_maps, lb->nuid_maps) &&
		     maps_eq(la->gid_maps, la->ngid_maps, lb->gid_maps, lb->ngid_maps),
	     "id maps");
	SAME(la->ndevices == lb->ndevices, "devices");
	for (size_t i = 0; i < la->ndevices; i++) {
		const struct oci_device *da = &la->devices[i];
		const struct oci_device *db = &lb->devices[i];
		SAME(da->type == db->type && str_eq(da->path, db->path) && da->major == db->major &&
			     da->minor == db->minor && da->has_file_mode == db->has_file_mode &&
			     da->file_mode == db->file_mode && da->has_uid == db->has_uid && da->uid == db->uid &&
			     da->has_gid == db->has_gid && da->gid == db->gid,
		     "device");
	}
	SAME(str_eq(la->cgroups_path, lb->cgroups_path), "cgroupsPath");
	SAME(la->has_resources == lb->has_resources, "has_resources");
	const struct oci_resources *ra = &la->resources;
	const struct oci_resources *rb = &lb->resources;
	SAME(ra->ndevices == rb->ndevices, "device rules");
	for (size_t i = 0; i < ra->ndevices; i++) {
		SAME(memcmp(&ra->devices[i], &rb->devices[i], sizeof(ra->devices[i])) == 0, "device rule");
	}
	SAME(ra->has_memory_limit == rb->has_memory_limit && ra->memory_limit == rb->memory_limit &&
		     ra->has_memory_reservation == rb->has_memory_reservation &&
		     ra->memory_reservation == rb->memory_reservation && ra->has_memory_swap == rb->has_memory_swap &&
		     ra->memory_swap == rb->memory_swap && ra->has_memory_swappiness == rb->has_memory_swappiness &&
		     ra->memory_swappiness == rb->memory_swappiness && ra->disable_oom_killer == rb->disable_oom_killer,
	     "memory");
	SAME(ra->has_cpu_shares == rb->has_cpu_shares && ra->cpu_shares == rb->cpu_shares &&
		     ra->has_cpu_quota == rb->has_cpu_quota && ra->cpu_quota == rb->cpu_quota &&
		     ra->has_cpu_period == rb->has_cpu_period && ra->cpu_period == rb->cpu_period &&
		     ra->has_cpu_burst == rb->has_cpu_burst && ra->cpu_burst == rb->cpu_burst &&
		     ra->has_cpu_idle == rb->has_cpu_idle && ra->cpu_idle == rb->cpu_idle &&
		     str_eq(ra->cpuset_cpus, rb->cpuset_cpus) && str_eq(ra->cpuset_mems, rb->cpuset_mems),
	     "cpu");
	SAME(ra->has_pids_limit == rb->has_pids_limit && ra->pids_limit == rb->pids_limit, "pids");
	SAME(ra->has_blkio_weight == rb->has_blkio_weight &&
		     (!ra->has_blkio_weight || ra->blkio_weight == rb->blkio_weight) &&
		     ra->nweight_devices == rb->nweight_devices,
	     "blockIO");
	for (size_t i = 0; i < ra->nweight_devices; i++) {
		SAME(memcmp(&ra->weight_devices[i], &rb->weight_devices[i], sizeof(ra->weight_devices[i])) == 0,
		     "weightDevice");
	}
	const struct {
		const struct oci_throttle_device *a, *b;
		size_t na, nb;
	} th[] = {
		{ra->throttle_read_bps, rb->throttle_read_bps, ra->nthrottle_read_bps, rb->nthrottle_read_bps},
		{ra->throttle_write_bps, rb->throttle_write_bps, ra->nthrottle_write_bps, rb->nthrottle_write_bps},
		{ra->throttle_read_iops, rb->throttle_read_iops, ra->nthrottle_read_iops, rb->nthrottle_read_iops},
		{ra->throttle_write_iops, rb->throttle_write_iops, ra->nthrottle_write_iops, rb->nthrottle_write_iops},
	};
	for (size_t k = 0; k < 4; k++) {
		SAME(th[k].na == th[k].nb &&
			     (th[k].na == 0 || memcmp(th[k].a, th[k].b, th[k].na * sizeof(*th[k].a)) == 0),
		     "throttle");
	}
	SAME(kvs_eq(ra->unified, ra->nunified, rb->unified, rb->nunified), "unified");
	SAME(kvs_eq(la->sysctl, la->nsysctl, lb->sysctl, lb->nsysctl), "sysctl");
	SAME((la->seccomp == NULL) == (lb->seccomp == NULL), "seccomp");
	if (la->seccomp != NULL) {
		const struct oci_seccomp *sa = la->seccomp;
		const struct oci_seccomp *sb = lb->seccomp;
		SAME(sa->default_action == sb->default_action &&
			     sa->has_default_errno_ret == sb->has_default_errno_ret &&
			     (!sa->has_default_errno_ret || sa->default_errno_ret == sb->default_errno_ret) &&
			     strs_eq(sa->architectures, sa->narchitectures, sb->architectures, sb->narchitectures) &&
			     strs_eq(sa->flags, sa->nflags, sb->flags, sb->nflags) && sa->nsyscalls == sb->nsyscalls,
		     "seccomp header");
		for (size_t i = 0; i < sa->nsyscalls; i++) {
			const struct oci_seccomp_rule *ra2 = &sa->syscalls[i];
			const struct oci_seccomp_rule *rb2 = &sb->syscalls[i];
			SAME(strs_eq(ra2->names, ra2->nnames, rb2->names, rb2->nnames) && ra2->action == rb2->action &&
				     ra2->has_errno_ret == rb2->has_errno_ret &&
				     (!ra2->has_errno_ret || ra2->errno_ret == rb2->errno_ret) &&
				     ra2->nargs == rb2->nargs,
			     "seccomp rule");
			for (size_t j = 0; j < ra2->nargs; j++) {
				SAME(memcmp(&ra2->args[j], &rb2->args[j], sizeof(ra2->args[j])) == 0, "seccomp arg");
			}
		}
	}
	SAME(la->rootfs_propagation == lb->rootfs_propagation, "rootfsPropagation");
	SAME(strs_eq(la->masked_paths, la->nmasked_paths, lb->masked_paths, lb->nmasked_paths) &&
		     strs_eq(la->readonly_paths, la->nreadonly_paths, lb->readonly_paths, lb->nreadonly_paths),
	     "paths");
	SAME(la->has_time_offsets == lb->has_time_offsets && la->monotonic_secs == lb->monotonic_secs &&
		     la->monotonic_nanosecs == lb->monotonic_nanosecs && la->boottime_secs == lb->boottime_secs &&
		     la->boottime_nanosecs == lb->boottime_nanosecs,
	     "timeOffsets");
	SAME(la->has_personality == lb->has_personality && la->personality == lb->personality, "personality");
	return 1;
}

static void roundtrip(const struct oci_config *cfg)
{
	char *json = NULL;
	size_t len = 0;
	struct berr err = {0};
	CHECK_EQ_INT(oci_config_to_json(cfg, &json, &len, &err), 0);
	struct oci_config back;
	int ret = oci_config_parse(&back, "config.json", json, len, &err);
	CHECK_EQ_INT(ret, 0);
	if (ret != 0) {
		fprintf(stderr, "  %s\n", err.msg);
		free(json);
		return;
	}
	CHECK_EQ_INT(back.nwarnings, 0);
	CHECK(config_eq(cfg, &back));
	/* and the text is stable: writing what was read gives the same text */
	char *again = NULL;
	size_t len2 = 0;
	CHECK_EQ_INT(oci_config_to_json(&back, &again, &len2, &err), 0);
	CHECK(len == len2 && again != NULL && memcmp(json, again, len) == 0);
	free(again);
	free(json);
	oci_config_free(&back);
}

static void test_serializer_roundtrip(void)
{
	struct oci_config cfg;
	struct berr err = {0};
	int ret = oci_config_parse(&cfg, "config.json", full_config, strlen(full_config), &err);
	CHECK_EQ_INT(ret, 0);
	if (ret != 0) {
		fprintf(stderr, "  %s\n", err.msg);
		return;
	}
	CHECK_EQ_INT(cfg.nwarnings, 0);
	roundtrip(&cfg);
	oci_config_free(&cfg);

	/* a translated service, with the default profile's seccomp policy */
	char *cmd[] = {"run", "it"};
	char *vols[] = {"/v"};
	struct image_config img = {.cmd = cmd, .ncmd = 2, .volumes = vols, .nvolumes = 1};
	struct compose_runtime rt;
	const char *y = "services:\n"
			"  web:\n"
			"    image: x\n"
			"    user: \"app\"\n"
			"    mem_limit: 64m\n"
			"    cpus: 2\n"
			"    sysctls: {net.core.somaxconn: 1024}\n"
			"    ulimits: {nofile: 1000}\n"
			"    labels: {a: \"b\\\"c\"}\n"
			"    volumes: [\"/srv:/srv:ro\"]\n"
			"    tmpfs: /run\n"
			"    cap_add: [NET_ADMIN]\n";
	CHECK_EQ_INT(translate(y, "web", &img, &rt, &err), 0);
	roundtrip(&rt.oci);
	compose_runtime_free(&rt);
	CHECK_EQ_INT(translate("services:\n  web: {image: x, privileged: true, network_mode: host}\n", "web", &img, &rt,
			       &err),
		     0);
	roundtrip(&rt.oci);

	/* written as a bundle's config.json and loaded by the runtime */
	char bundle[128];
	snprintf(bundle, sizeof(bundle), "%s/bundle", tmpdir);
	mkdir(bundle, 0755);
	CHECK_EQ_INT(oci_config_write(&rt.oci, bundle, &err), 0);
	struct oci_config loaded;
	CHECK_EQ_INT(oci_config_load(&loaded, bundle, &err), 0);
	CHECK(config_eq(&rt.oci, &loaded));
	oci_config_free(&loaded);
	CHECK(oci_config_write(&rt.oci, "/nonexistent-dir-for-test", &err) < 0);
	compose_runtime_free(&rt);
}

/* ---- berth config check ---------------------------------------------------------------------- */

static void test_check_dir(void)
{
	char dir[128];
	snprintf(dir, sizeof(dir), "%s/config", tmpdir);
	mkdir(dir, 0755);
	put_file("config/.env", "TAG=1.2\n");
	put_file("config/compose.yaml", "services:\n"
					"  web:\n"
					"    image: \"app:${TAG}\"\n"
					"    depends_on: [db]\n"
					"  db:\n"
					"    image: pg\n"
					"    build: .\n"
					"  log:\n"
					"    image: \"l:${UNSET_TAG}\"\n"
					"  a: {image: x, depends_on: [b]}\n"
					"  b: {image: x, depends_on: [a]}\n");
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	int errors = compose_check_dir(dir, NULL, out);
	fclose(out);
	CHECK_EQ_INT(errors, 5); /* build, web blocked, cycle, a and b blocked */
	CHECK_STR_CONTAINS(text, "compose.yaml:7: services.db: unsupported key 'build'");
	CHECK_STR_CONTAINS(text, "warning: compose.yaml:9: variable UNSET_TAG is not set");
	CHECK_STR_CONTAINS(text, "compose.yaml:4: services.web: cannot start: depends on 'db', which has errors");
	CHECK_STR_CONTAINS(text, "compose.yaml: depends_on cycle: a -> b -> a");
	free(text);

	put_file("config/compose.yaml", "services:\n  web:\n    image: \"app:${TAG:?}\"\n");
	out = open_memstream(&text, &len);
	CHECK_EQ_INT(compose_check_dir(dir, NULL, out), 0);
	fclose(out);
	CHECK(len == 0);
	free(text);

	put_file("config/.env", "BROKEN='x\n");
	out = open_memstream(&text, &len);
	CHECK_EQ_INT(compose_check_dir(dir, NULL, out), 1);
	fclose(out);
	CHECK_STR_CONTAINS(text, ".env:1: BROKEN: the quoted value is never closed");
	free(text);
}

/* ---- one check path -------------------------------------------------------------------------- */

/* Everything berthd refuses of a config directory that the directory
 * alone decides, read both ways a directory is read: `berth config check`
 * (compose_check_dir) and berthd's apply before it builds containers
 * (compose_load_dir with the host's rules, then the start order). Each
 * refusal must give the same message both ways. */
static const struct {
	const char *compose; /* the services (and more) of compose.yaml */
	const char *host;    /* host.yaml, or NULL */
	const char *message; /* what both must say, in full up to the end or a strerror */
} refusals[] = {
	/* ports berthd cannot publish (daemon/apply.c build_net) */
	{"  web:\n    image: x\n    ports: [\"80:80/sctp\"]\n", NULL,
	 "compose.yaml:4: services.web.ports: sctp: only tcp and udp are supported"},
	{"  web:\n    image: x\n    ports: [\"[::1]:80:80\"]\n", NULL,
	 "compose.yaml:4: services.web.ports: host address ::1: only IPv4 addresses are supported"},
	{"  web:\n    image: x\n    ports:\n      - {target: 80, published: 80, host_ip: \"fe80::1\"}\n", NULL,
	 "compose.yaml:5: services.web.ports: host address fe80::1: only IPv4 addresses are supported"},
	{"  web:\n    image: x\n    network_mode: none\n    ports: [\"80:80\"]\n", NULL,
	 "compose.yaml:5: services.web.ports: the container has no network of its own to publish from"},
	{"  web:\n    image: x\n    network_mode: host\n    ports: [\"80:80\"]\n", NULL,
	 "compose.yaml:5: services.web.ports: the container has no network of its own to publish from"},
	/* bind mounts (volume_hook), with host.yaml's containers.bind_mounts */
	{"  web:\n    image: x\n    volumes: [\"/etc:/e\"]\n", NULL,
	 "compose.yaml:4: services.web.volumes: bind mount of /etc: " COMPOSE_BIND_RULE},
	{"  web:\n    image: x\n    volumes:\n      - {type: bind, source: /data/berth/state, target: /s}\n", NULL,
	 "compose.yaml:5: services.web.volumes: bind mount of /data/berth/state: " COMPOSE_BIND_RULE},
	{"  web:\n    image: x\n    volumes: [\"/srv/media:/m\"]\n", "containers:\n  bind_mounts: [/srv/other]\n",
	 "compose.yaml:4: services.web.volumes: bind mount of /srv/media: " COMPOSE_BIND_RULE},
	{"  web:\n    image: x\n    volumes: [\"./nginx.conf:/etc/nginx.conf:ro\"]\n", NULL,
	 "compose.yaml:4: services.web.volumes: bind mount source /config/nginx.conf: "},
	/* names berthd gives directories and files (sup_create, volume_path, ipam_open) */
	{"  web:\n    image: x\n    container_name: "
	 "c123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678"
	 "90"
	 "12345678901234567\n",
	 NULL,
	 "services.web.container_name: 'c123456789012345678901234567890123456789...' is longer than 127 characters"},
	{"  "
	 "s123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678"
	 "90"
	 "12345678901234567:\n    image: x\n",
	 NULL, "the name is longer than 127 characters: give a shorter container_name"},
	{"  web:\n    image: x\n    container_name: "
	 "c123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678"
	 "9\n"
	 "    volumes: [\"/cache\"]\n",
	 NULL,
	 "compose.yaml:5: services.web.volumes: an anonymous volume is named after the container: the container's name "
	 "must be at most 109 characters"},
	{"  web: {image: x}\nvolumes:\n  "
	 "v12345678901234567890123456789012345678901234567890123456789012345678901234567890"
	 "12345678901234567890123456789012345678901234567: {}\n",
	 NULL, "the name is longer than 127 characters"},
	{"  web: {image: x, networks: [n]}\nnetworks:\n  n:\n    name: "
	 "n123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
	 "0123456789012345678901234567\n",
	 NULL, "compose.yaml:4: networks.n.name: 'n123456789012345678901234567890123456789...' is longer than 127"},
	/* what the translation refuses whatever the image (compose_translate) */
	{"  web:\n    image: x\n    user: \"3000000000:0\"\n", NULL,
	 "compose.yaml:4: services.web.user: user 3000000000 is out of range (0 to 2147483647)"},
	{"  web:\n    image: x\n    user: \"app:9999999999\"\n", NULL,
	 "compose.yaml:4: services.web.user: group 9999999999 is out of range (0 to 2147483647)"},
	{"  web:\n    image: x\n    entrypoint: []\n", NULL,
	 "compose.yaml:4: services.web.entrypoint: is empty and no command is given: nothing would run (an entrypoint "
	 "drops the image's Cmd)"},
	/* networks berthd's IPAM will not make (ipam_open, ipam_lease) */
	{"  web: {image: x, networks: [n]}\nnetworks:\n  n:\n    ipam:\n      config:\n        - subnet: fd00::/64\n",
	 NULL,
	 "compose.yaml:7: networks.n.ipam.config.subnet: subnet \"fd00::/64\": \"fd00::\" is not an IPv4 address"},
	{"  web: {image: x, networks: [n]}\nnetworks:\n  n:\n    ipam:\n      config:\n        - subnet: 10.1.0.1/24\n",
	 NULL,
	 "compose.yaml:7: networks.n.ipam.config.subnet: subnet \"10.1.0.1/24\" has host bits set (10.1.0.0/24?)"},
	{"  web: {image: x, networks: [n]}\nnetworks:\n  n:\n    ipam:\n      config:\n        - subnet: 10.1.0.0/31\n",
	 NULL,
	 "compose.yaml:7: networks.n.ipam.config.subnet: subnet \"10.1.0.0/31\": the prefix length must be 1 to 30"},
	{"  web: {image: x, networks: [n]}\nnetworks:\n  n:\n    ipam:\n      config:\n        - {subnet: 10.1.0.0/24, "
	 "gateway: 10.2.0.1}\n",
	 NULL, "compose.yaml:7: networks.n.ipam.config.gateway: 10.2.0.1 is outside the subnet"},
	{"  web:\n    image: x\n    networks:\n      n: {ipv4_address: 10.9.0.5}\nnetworks:\n  n:\n    ipam:\n      "
	 "config: "
	 "[{subnet: 10.1.0.0/24}]\n",
	 NULL,
	 "compose.yaml:5: services.web.networks.n.ipv4_address: 10.9.0.5 is outside the subnet 10.1.0.0/24 of network "
	 "n"},
	{"  web:\n    image: x\n    networks:\n      n: {ipv4_address: 10.1.0.1}\nnetworks:\n  n:\n    ipam:\n      "
	 "config: "
	 "[{subnet: 10.1.0.0/24}]\n",
	 NULL, "compose.yaml:5: services.web.networks.n.ipv4_address: 10.1.0.1 is the gateway of network n"},
	{"  a:\n    image: x\n    networks:\n      n: {ipv4_address: 10.1.0.7}\n  b:\n    image: x\n    networks:\n    "
	 "  n: "
	 "{ipv4_address: 10.1.0.7}\nnetworks:\n  n:\n    ipam:\n      config: [{subnet: 10.1.0.0/24}]\n",
	 NULL, "compose.yaml:9: services.b.networks.n.ipv4_address: 10.1.0.7 is also the address of service a"},
	{"  a: {image: x, networks: [m]}\n  b: {image: x, networks: [n]}\nnetworks:\n  m:\n    ipam: {config: "
	 "[{subnet: "
	 "10.1.0.0/16}]}\n  n:\n    ipam: {config: [{subnet: 10.1.2.0/24}]}\n",
	 NULL, "compose.yaml:7: networks.n.ipam.config.subnet: 10.1.2.0/24 overlaps network m's 10.1.0.0/16"},
	/* a network shared from a service that has none of its own (network_setup) */
	{"  a: {image: x, network_mode: host}\n  b: {image: x, network_mode: \"service:a\"}\n", NULL,
	 "compose.yaml:3: services.b.network_mode: service a has no network of its own to share"},
	/* one container per name (sup_create, or a silent takeover by sup_replace) */
	{"  a: {image: x}\n  b: {image: x, container_name: a}\n", NULL,
	 "compose.yaml:3: services.b.container_name: 'a' is also the container name of a"},
	{"  a: {image: x, container_name: b}\n  b: {image: x}\n", NULL,
	 "compose.yaml:3: services.b: 'b' is also the container name of a"},
};

/* What both ways accept: the rules above are no stricter than berthd. */
static const struct {
	const char *compose;
	const char *host;
} acceptances[] = {
	/* a port without a host port: berthd picks one */
	{"  web:\n    image: x\n    ports: [\"80\", \"127.0.0.1::53/udp\", {target: 9000}]\n", NULL},
	{"  web:\n    image: x\n    ports: [\"8080:80\", \"0.0.0.0:53:53/udp\", \"127.0.0.1:8000-8001:80-81\"]\n",
	 NULL},
	{"  web:\n    image: x\n    network_mode: \"service:db\"\n    ports: [\"80:80\"]\n  db: {image: x}\n", NULL},
	{"  web:\n    image: x\n    volumes: [\"./present.conf:/p:ro\", \"/data/site:/s\", \"/srv/media/x:/m\"]\n",
	 "containers:\n  bind_mounts: [/srv/media]\n"},
	{"  web:\n    image: x\n    user: \"2147483647:0\"\n    entrypoint: []\n    command: [run]\n", NULL},
	{"  web:\n    image: x\n    networks:\n      n: {ipv4_address: 10.1.0.9}\n  db:\n    image: x\n    networks: "
	 "[m]\nnetworks:\n  n:\n    ipam: {config: [{subnet: 10.1.0.0/24, gateway: 10.1.0.254}]}\n  m:\n    ipam: "
	 "{config: [{subnet: 10.2.0.0/24}]}\n  unused:\n    ipam: {config: [{subnet: 10.1.0.0/16}]}\n",
	 NULL},
};

/* One config directory read both ways. */
struct both_paths {
	char *check_text; /* config check's output */
	int check_errors;
	const char *berthd[16]; /* berthd's error messages, as it reports them */
	size_t nberthd;
	int berthd_errors;
	struct compose_project p;
	struct compose_graph g;
};

static void read_both_paths(const char *dir, const char *compose, const char *host, struct both_paths *b)
{
	memset(b, 0, sizeof(*b));
	char text[2048];
	snprintf(text, sizeof(text), "services:\n%s", compose);
	put_file("onepath/compose.yaml", text);
	char path[256];
	snprintf(path, sizeof(path), "%s/host.yaml", dir);
	unlink(path);
	if (host != NULL) {
		put_file("onepath/host.yaml", host);
	}
	struct host_config hc;
	hostcfg_defaults(&hc);
	CHECK_EQ_INT(hostcfg_load(&hc, path, "host.yaml"), 0);
	/* `berth config check` */
	size_t len = 0;
	FILE *out = open_memstream(&b->check_text, &len);
	b->check_errors = compose_check_dir(dir, &hc, out);
	fclose(out);
	/* berthd's apply: its loader with the same inputs, then the start order */
	struct compose_options opt = {.config_dir = dir, .host = &hc};
	struct berr err = {0};
	if (compose_load_dir(&b->p, dir, &opt, &err) < 0 || compose_graph_build(&b->p, &b->g, &err) < 0) {
		fprintf(stderr, "  %s\n", err.msg);
		b->berthd_errors = -1;
		hostcfg_free(&hc);
		return;
	}
	for (size_t i = 0; i < b->p.nproblems && b->nberthd < 16; i++) {
		if (b->p.problems[i].error) {
			b->berthd[b->nberthd++] = b->p.problems[i].msg;
		}
	}
	for (size_t i = 0; i < b->g.nerrors && b->nberthd < 16; i++) {
		b->berthd[b->nberthd++] = b->g.errors[i];
	}
	b->berthd_errors = (int)(b->p.nerrors + b->g.nerrors);
	hostcfg_free(&hc);
}

static void free_both_paths(struct both_paths *b)
{
	free(b->check_text);
	compose_graph_free(&b->g);
	compose_free(&b->p);
}

/* The message berthd gives that holds want, when config check printed the
 * same as a line of its own; NULL otherwise. */
static const char *same_message(const struct both_paths *b, const char *want)
{
	for (size_t k = 0; k < b->nberthd && b->check_text != NULL; k++) {
		const char *m = b->berthd[k];
		size_t len = strlen(m);
		if (strstr(m, want) == NULL) {
			continue;
		}
		for (const char *at = strstr(b->check_text, m); at != NULL; at = strstr(at + 1, m)) {
			if ((at == b->check_text || at[-1] == '\n') && at[len] == '\n') {
				return m;
			}
		}
	}
	return NULL;
}

static void test_one_check_path(void)
{
	char dir[128];
	snprintf(dir, sizeof(dir), "%s/onepath", tmpdir);
	mkdir(dir, 0755);
	put_file("onepath/present.conf", "x\n");
	for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
		struct both_paths b;
		read_both_paths(dir, refusals[i].compose, refusals[i].host, &b);
		int same = same_message(&b, refusals[i].message) != NULL;
		CHECK(same);
		CHECK(b.check_errors >= 1 && b.berthd_errors >= 1);
		if (!same) {
			fprintf(stderr, "  case %zu: wanted \"%s\"\n  config check said:\n%s", i, refusals[i].message,
				b.check_text ? b.check_text : "");
			for (size_t k = 0; k < b.nberthd; k++) {
				fprintf(stderr, "  berthd: %s\n", b.berthd[k]);
			}
		}
		free_both_paths(&b);
	}
	for (size_t i = 0; i < sizeof(acceptances) / sizeof(acceptances[0]); i++) {
		struct both_paths b;
		read_both_paths(dir, acceptances[i].compose, acceptances[i].host, &b);
		CHECK_EQ_INT(b.check_errors, 0);
		CHECK_EQ_INT(b.berthd_errors, 0);
		if (b.check_errors != 0) {
			fprintf(stderr, "  acceptance %zu:\n%s", i, b.check_text ? b.check_text : "");
		}
		free_both_paths(&b);
	}
}

static void test_load_file(void)
{
	put_file("loaded/compose.yaml", "services:\n  web:\n    image: x\n    volumes: [\"./d:/d\"]\n");
	char path[256];
	snprintf(path, sizeof(path), "%s/loaded/compose.yaml", tmpdir);
	struct compose_project p;
	struct berr err = {0};
	CHECK_EQ_INT(compose_load(&p, path, NULL, &err), 0);
	char want[256];
	snprintf(want, sizeof(want), "%s/loaded/d", tmpdir);
	CHECK(p.nservices == 1 && strcmp(p.services[0].mounts[0].source, want) == 0);
	CHECK(strcmp(p.file, path) == 0);
	compose_free(&p);
	CHECK(compose_load(&p, "/nonexistent/compose.yaml", NULL, &err) == -ENOENT);
	compose_free(&p);
}

int main(void)
{
	if (check_tmpdir(tmpdir) < 0) {
		return 2;
	}
	compose_vars_set(&vars, "HOST_NAME", "box");
	compose_vars_set(&vars, "PORT", "8080");
	make_rootfs();
	RUN(test_full_service);
	RUN(test_shlex);
	RUN(test_command_forms);
	RUN(test_interpolate_direct);
	RUN(test_interpolation_in_file);
	RUN(test_dotenv);
	RUN(test_environment_and_env_file);
	RUN(test_merge_keys_and_anchors);
	RUN(test_unsupported_keys);
	RUN(test_logging_options);
	RUN(test_wrong_types_and_values);
	RUN(test_broken_service_fails_alone);
	RUN(test_whole_file_failures);
	RUN(test_volumes);
	RUN(test_ports);
	RUN(test_value_formats);
	RUN(test_restart_depends_healthcheck);
	RUN(test_networks);
	RUN(test_start_order_and_groups);
	RUN(test_cycles_and_blocked);
	RUN(test_long_chain_has_no_recursion);
	RUN(test_entrypoint_and_command_rules);
	RUN(test_translate_env_and_workdir);
	RUN(test_translate_user);
	RUN(test_capabilities);
	RUN(test_security_profile);
	RUN(test_translate_mounts);
	RUN(test_translate_rest);
	RUN(test_serializer_roundtrip);
	RUN(test_check_dir);
	RUN(test_load_file);
	RUN(test_one_check_path);
	compose_vars_free(&vars);
	return check_summary();
}
