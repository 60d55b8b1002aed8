/* config.json parsing: a full config comes through; every bad field is an
 * error that names it; fields of the spec Berth does not implement are
 * refused by name; fields the spec does not define are warnings. */
#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>

#include "check.h"
#include "oci/config.h"

static const char *full_config =
	"{\n"
	"  \"ociVersion\": \"1.2.0\",\n"
	"  \"root\": {\"path\": \"rootfs\", \"readonly\": true},\n"
	"  \"hostname\": \"box\",\n"
	"  \"process\": {\n"
	"    \"terminal\": true, \"consoleSize\": {\"height\": 24, \"width\": 80},\n"
	"    \"user\": {\"uid\": 1000, \"gid\": 1000, \"umask\": 18, \"additionalGids\": [5, 6]},\n"
	"    \"args\": [\"sh\", \"-c\", \"true\"], \"env\": [\"PATH=/bin\", \"A=b\"], \"cwd\": \"/\",\n"
	"    \"capabilities\": {\"bounding\": [\"CAP_KILL\", \"CAP_CHOWN\"], \"effective\": [\"CAP_KILL\"],\n"
	"                     \"permitted\": [\"CAP_KILL\"], \"inheritable\": [], \"ambient\": []},\n"
	"    \"rlimits\": [{\"type\": \"RLIMIT_NOFILE\", \"soft\": 1024, \"hard\": 4096}],\n"
	"    \"noNewPrivileges\": true, \"oomScoreAdj\": 100,\n"
	"    \"ioPriority\": {\"class\": \"IOPRIO_CLASS_BE\", \"priority\": 4}\n"
	"  },\n"
	"  \"mounts\": [{\"destination\": \"/proc\", \"type\": \"proc\", \"source\": \"proc\"},\n"
	"             {\"destination\": \"/data\", \"type\": \"bind\", \"source\": \"/srv\", \"options\": [\"rbind\", "
	"\"ro\"]}],\n"
	"  \"hooks\": {\"prestart\": [{\"path\": \"/bin/hook\", \"args\": [\"hook\", \"x\"], \"timeout\": 5}]},\n"
	"  \"annotations\": {\"a\": \"1\"},\n"
	"  \"linux\": {\n"
	"    \"namespaces\": [{\"type\": \"pid\"}, {\"type\": \"network\", \"path\": \"/run/netns/x\"}, {\"type\": "
	"\"mount\"}, {\"type\": \"user\"}],\n"
	"    \"uidMappings\": [{\"containerID\": 0, \"hostID\": 100000, \"size\": 65536}],\n"
	"    \"gidMappings\": [{\"containerID\": 0, \"hostID\": 100000, \"size\": 65536}],\n"
	"    \"devices\": [{\"type\": \"c\", \"path\": \"/dev/fuse\", \"major\": 10, \"minor\": 229, \"fileMode\": "
	"438}],\n"
	"    \"cgroupsPath\": \"/berth/box\",\n"
	"    \"resources\": {\"devices\": [{\"allow\": false, \"access\": \"rwm\"}, {\"allow\": true, \"type\": \"c\", "
	"\"major\": 10, \"minor\": 229, \"access\": \"rw\"}],\n"
	"      \"memory\": {\"limit\": 67108864, \"swap\": 134217728}, \"cpu\": {\"shares\": 512, \"quota\": 50000, "
	"\"period\": 100000, \"cpus\": \"0-1\"},\n"
	"      \"pids\": {\"limit\": 64}, \"blockIO\": {\"weight\": 500, \"throttleReadBpsDevice\": [{\"major\": 254, "
	"\"minor\": 0, \"rate\": 1048576}]},\n"
	"      \"unified\": {\"memory.high\": \"50M\"}},\n"
	"    \"sysctl\": {\"net.ipv4.ip_forward\": \"1\"},\n"
	"    \"seccomp\": {\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrnoRet\": 1, \"architectures\": "
	"[\"SCMP_ARCH_X86_64\"],\n"
	"                \"syscalls\": [{\"names\": [\"read\", \"write\"], \"action\": \"SCMP_ACT_ALLOW\"},\n"
	"                             {\"names\": [\"personality\"], \"action\": \"SCMP_ACT_ALLOW\", \"args\": "
	"[{\"index\": 0, \"value\": 8, \"op\": \"SCMP_CMP_EQ\"}]}]},\n"
	"    \"rootfsPropagation\": \"rslave\", \"maskedPaths\": [\"/proc/kcore\"], \"readonlyPaths\": "
	"[\"/proc/sys\"],\n"
	"    \"timeOffsets\": {\"monotonic\": {\"secs\": 10, \"nanosecs\": 5}}\n"
	"  }\n"
	"}\n";

static void test_full_config(void)
{
	struct oci_config c;
	struct berr err;
	int ret = oci_config_parse(&c, "config.json", full_config, strlen(full_config), &err);
	CHECK_EQ_INT(ret, 0);
	if (ret < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return;
	}
	CHECK_EQ_INT(c.nwarnings, 0);
	CHECK(strcmp(c.root_path, "rootfs") == 0 && c.root_readonly);
	CHECK(c.process.terminal && c.process.console_height == 24 && c.process.console_width == 80);
	CHECK_EQ_INT(c.process.user.uid, 1000);
	CHECK_EQ_INT(c.process.user.umask, 18);
	CHECK_EQ_INT(c.process.user.nadditional_gids, 2);
	CHECK_EQ_INT(c.process.nargs, 3);
	CHECK(c.process.caps.bounding == ((1ull << 5) | (1ull << 0)));
	CHECK_EQ_INT(c.process.nrlimits, 1);
	CHECK_EQ_INT(c.process.rlimits[0].resource, RLIMIT_NOFILE);
	CHECK_EQ_INT(c.process.oom_score_adj, 100);
	CHECK_EQ_INT(c.process.io_priority, 4);
	CHECK_EQ_INT(c.nmounts, 2);
	CHECK_EQ_INT(c.mounts[1].noptions, 2);
	CHECK_EQ_INT(c.hooks.count[OCI_HOOK_PRESTART], 1);
	CHECK_EQ_INT(c.hooks.list[OCI_HOOK_PRESTART][0].timeout, 5);
	CHECK_EQ_INT(c.linux_.nnamespaces, 4);
	const struct oci_namespace *net = oci_config_namespace(&c, OCI_NS_NET);
	CHECK(net != NULL && net->path != NULL && strcmp(net->path, "/run/netns/x") == 0);
	CHECK(oci_config_namespace(&c, OCI_NS_UTS) == NULL);
	CHECK_EQ_INT(c.linux_.uid_maps[0].host_id, 100000);
	CHECK_EQ_INT(c.linux_.devices[0].file_mode, 438);
	CHECK_EQ_INT(c.linux_.resources.ndevices, 2);
	CHECK_EQ_INT(c.linux_.resources.devices[0].major, -1);
	CHECK_EQ_INT(c.linux_.resources.memory_limit, 67108864);
	CHECK_EQ_INT(c.linux_.resources.cpu_quota, 50000);
	CHECK_EQ_INT(c.linux_.resources.pids_limit, 64);
	CHECK_EQ_INT(c.linux_.resources.nthrottle_read_bps, 1);
	CHECK_EQ_INT(c.linux_.resources.nunified, 1);
	CHECK_EQ_INT(c.linux_.nsysctl, 1);
	CHECK(c.linux_.seccomp != NULL && c.linux_.seccomp->nsyscalls == 2);
	CHECK_EQ_INT(c.linux_.seccomp->syscalls[1].args[0].op, OCI_SECCOMP_OP_EQ);
	CHECK_EQ_INT(c.linux_.rootfs_propagation, MS_SLAVE | MS_REC);
	CHECK_EQ_INT(c.linux_.monotonic_secs, 10);
	oci_config_free(&c);
}

/* Replaces the first occurrence of from with to in the full config and
 * expects the error to contain want. */
static void check_error(const char *from, const char *to, const char *want)
{
	const char *at = strstr(full_config, from);
	CHECK(at != NULL);
	if (at == NULL) {
		return;
	}
	size_t len = strlen(full_config) - strlen(from) + strlen(to) + 1;
	char *text = malloc(len);
	size_t head = (size_t)(at - full_config);
	memcpy(text, full_config, head);
	strcpy(text + head, to);
	strcat(text, at + strlen(from));
	struct oci_config c;
	struct berr err;
	int ret = oci_config_parse(&c, "config.json", text, strlen(text), &err);
	CHECK(ret < 0);
	if (ret < 0) {
		CHECK_STR_CONTAINS(err.msg, want);
	} else {
		oci_config_free(&c);
	}
	free(text);
}

static void test_errors_name_the_field(void)
{
	check_error("\"uid\": 1000", "\"uid\": \"root\"",
		    "config.json: process.user.uid: expected an integer, got a string");
	check_error("\"uid\": 1000", "\"uid\": -1", "process.user.uid: -1 is out of range");
	check_error("RLIMIT_NOFILE", "RLIMIT_FILES", "process.rlimits[0].type: unknown resource 'RLIMIT_FILES'");
	check_error("\"soft\": 1024", "\"soft\": 9999", "soft limit 9999 is above the hard limit 4096");
	check_error("\"cwd\": \"/\"", "\"cwd\": \"relative\"", "process.cwd: required, and must be an absolute path");
	check_error("\"A=b\"", "\"Ab\"", "process.env[1]: 'Ab' is not NAME=VALUE");
	check_error("{\"type\": \"pid\"}", "{\"type\": \"pidd\"}", "linux.namespaces[0].type: unknown namespace type");
	check_error("{\"type\": \"mount\"}", "{\"type\": \"pid\"}", "namespace 'pid' is listed twice");
	check_error("\"rslave\"", "\"sideways\"", "linux.rootfsPropagation: unknown propagation 'sideways'");
	check_error("\"SCMP_CMP_EQ\"", "\"SCMP_CMP_EQUALS\"", "linux.seccomp.syscalls[1].args[0].op");
	check_error("\"SCMP_ACT_ALLOW\"", "\"SCMP_ACT_PERMIT\"", "linux.seccomp.syscalls[0].action: unknown action");
	check_error("\"destination\": \"/proc\"", "\"destination\": \"proc\"", "mounts[0].destination");
	check_error("\"path\": \"/bin/hook\"", "\"path\": \"hook\"", "hooks.prestart[0].path");
	check_error("\"timeout\": 5", "\"timeout\": 0", "hooks.prestart[0].timeout: 0 is out of range");
	check_error("\"access\": \"rw\"", "\"access\": \"rwx\"", "linux.resources.devices[1].access");
	check_error("\"fileMode\": 438", "\"fileMode\": 99999", "linux.devices[0].fileMode");
	check_error("\"1.2.0\"", "\"2.0.0\"", "ociVersion: version 2.0.0 is not supported");
	check_error("\"noNewPrivileges\": true", "\"noNewPrivileges\": \"yes\"",
		    "process.noNewPrivileges: expected true or false");
	check_error("\"limit\": 67108864", "\"limit\": 1.5",
		    "linux.resources.memory.limit: expected an integer, got a fractional number");
	check_error("\"nanosecs\": 5", "\"nanosecs\": 1000000000", "nanosecs must be below one second");
	/* JSON syntax: the line is named. */
	check_error("\"hostname\": \"box\",\n", "\"hostname\": \"box\",,\n", "config.json:4: invalid JSON");
}

/* Rules that span fields (required members, duplicates, limits) name the
 * field too. */
static void test_cross_field_rules_name_the_field(void)
{
	check_error("\"hostID\": 100000, \"size\": 65536}],\n    \"gidMappings\"",
		    "\"hostID\": 100000}],\n    \"gidMappings\"",
		    "linux.uidMappings[0]: containerID, hostID and size are all required");
	check_error("\"soft\": 1024, ", "", "process.rlimits[0]: soft and hard are both required");
	check_error(
		"[{\"type\": \"RLIMIT_NOFILE\", \"soft\": 1024, \"hard\": 4096}]",
		"[{\"type\": \"RLIMIT_NOFILE\", \"soft\": 1, \"hard\": 2}, {\"type\": \"RLIMIT_NOFILE\", \"soft\": 1, "
		"\"hard\": 2}]",
		"process.rlimits[1].type: RLIMIT_NOFILE is set twice");
	check_error("{\"allow\": false, \"access\": \"rwm\"}", "{\"access\": \"rwm\"}",
		    "linux.resources.devices[0].allow: required");
	check_error("\"major\": 254, \"minor\": 0, ", "\"major\": 254, ",
		    "linux.resources.blockIO.throttleReadBpsDevice[0]: major, minor and rate are required");
	check_error("\"major\": 10, \"minor\": 229, \"fileMode\"", "\"major\": 10, \"fileMode\"",
		    "linux.devices[0]: major and minor are required for a character device");
	check_error("{\"index\": 0, ", "{", "linux.seccomp.syscalls[1].args[0].index: required");
	check_error("\"names\": [\"personality\"]", "\"names\": []",
		    "linux.seccomp.syscalls[1].names: at least one system call name is required");
	check_error("\"defaultAction\": \"SCMP_ACT_ERRNO\", ", "", "linux.seccomp.defaultAction: required");
	check_error("\"uid\": 1000, ", "", "process.user: uid and gid are required");
	check_error("\"additionalGids\": [5, 6]", "\"additionalGids\": [5, -1]",
		    "process.user.additionalGids[1]: -1 is not a group id");
	check_error("\"class\": \"IOPRIO_CLASS_BE\"", "\"class\": \"IOPRIO_CLASS_NONE\"",
		    "process.ioPriority.class: unknown class 'IOPRIO_CLASS_NONE'");
	check_error("\"height\": 24", "\"height\": 65536", "process.consoleSize: height and width must be below 65536");
	check_error("\"rslave\", ", "\"rslave\", \"personality\": {\"domain\": \"LINUX\", \"flags\": [\"x\"]}, ",
		    "linux.personality.flags: not supported by berth-oci");
	check_error("\"path\": \"rootfs\", ", "", "root.path: required");
	check_error("\"ociVersion\": \"1.2.0\",", "", "ociVersion: required");
}

static void test_too_many_id_mappings(void)
{
	char maps[341 * 64] = "";
	size_t len = 0;
	for (int i = 0; i < 341; i++) {
		len += (size_t)snprintf(maps + len, sizeof(maps) - len,
					"%s{\"containerID\": %d, \"hostID\": %d, \"size\": 1}", i ? ", " : "", i,
					i + 1000);
	}
	char *text = malloc(len + 256);
	snprintf(text, len + 256,
		 "{\"ociVersion\": \"1.0.2\", \"root\": {\"path\": \"r\"}, \"linux\": {\"gidMappings\": [%s]}}", maps);
	struct oci_config c;
	struct berr err;
	CHECK(oci_config_parse(&c, "config.json", text, strlen(text), &err) < 0);
	CHECK_STR_CONTAINS(err.msg, "config.json: linux.gidMappings: at most 340 mappings");
	free(text);
}

static void test_unsupported_fields_are_refused(void)
{
	check_error("\"noNewPrivileges\": true,", "\"noNewPrivileges\": true, \"apparmorProfile\": \"x\",",
		    "process.apparmorProfile: not supported by berth-oci");
	check_error("\"pids\": {\"limit\": 64},",
		    "\"pids\": {\"limit\": 64}, \"hugepageLimits\": [{\"pageSize\": \"2MB\", "
		    "\"limit\": 1}],",
		    "linux.resources.hugepageLimits: not supported");
	check_error("\"memory\": {", "\"memory\": {\"kernel\": 1, ", "linux.resources.memory.kernel: not supported");
	check_error("\"cpus\": \"0-1\"", "\"cpus\": \"0-1\", \"realtimeRuntime\": 5", "realtimeRuntime: not supported");
	check_error("\"architectures\"", "\"listenerPath\": \"/x\", \"architectures\"", "listenerPath: not supported");
	check_error("\"hostname\": \"box\",", "\"hostname\": \"box\", \"windows\": {\"layerFolders\": [\"x\"]},",
		    "windows: not supported");
}

static void test_empty_unsupported_fields_are_accepted(void)
{
	const char *from = "\"pids\": {\"limit\": 64},";
	const char *at = strstr(full_config, from);
	char text[8192];
	size_t head = (size_t)(at - full_config);
	memcpy(text, full_config, head);
	snprintf(text + head, sizeof(text) - head,
		 "\"pids\": {\"limit\": 64}, \"hugepageLimits\": [], \"network\": {},%s", at + strlen(from));
	struct oci_config c;
	struct berr err;
	CHECK_EQ_INT(oci_config_parse(&c, "config.json", text, strlen(text), &err), 0);
	oci_config_free(&c);
}

static void test_unknown_fields_warn(void)
{
	const char *text = "{\"ociVersion\": \"1.0.2\", \"root\": {\"path\": \"r\", \"shiny\": 1}, \"future\": {}}";
	struct oci_config c;
	struct berr err;
	CHECK_EQ_INT(oci_config_parse(&c, "config.json", text, strlen(text), &err), 0);
	CHECK_EQ_INT(c.nwarnings, 2);
	CHECK_STR_CONTAINS(c.warnings[0], "ignoring unknown field");
	CHECK(strstr(c.warnings[0], "root.shiny") != NULL || strstr(c.warnings[1], "root.shiny") != NULL);
	CHECK(!c.has_process);
	oci_config_free(&c);
}

/* The spec: a capability the kernel interface cannot map MUST be a
 * warning, and the runtime SHOULD NOT fail (crun's suite, unknown-caps). */
static void test_unknown_capabilities_warn(void)
{
	const char *text = "{\"ociVersion\": \"1.0.2\", \"root\": {\"path\": \"r\"}, \"process\": {\"cwd\": \"/\", "
			   "\"args\": [\"sh\"], \"user\": {\"uid\": 0, \"gid\": 0}, \"capabilities\": {\"bounding\": "
			   "[\"CAP_CHOWN\", \"CAP_CHOWNN\", \"CAP_KILL\"]}}}";
	struct oci_config c;
	struct berr err;
	CHECK_EQ_INT(oci_config_parse(&c, "config.json", text, strlen(text), &err), 0);
	CHECK_EQ_INT(c.nwarnings, 1);
	CHECK_STR_CONTAINS(c.warnings[0], "process.capabilities.bounding[1]: ignoring unknown capability 'CAP_CHOWNN'");
	CHECK(c.process.has_caps);
	CHECK(c.process.caps.bounding ==
	      ((1ull << oci_cap_from_name("CAP_CHOWN")) | (1ull << oci_cap_from_name("CAP_KILL"))));
	oci_config_free(&c);
}

static void test_garbage_never_crashes(void)
{
	/* Truncations and byte flips of a valid config: errors, never a crash. */
	size_t len = strlen(full_config);
	char *text = malloc(len + 1);
	unsigned seed = 7;
	for (size_t cut = 0; cut < len; cut += 7) {
		struct oci_config c;
		struct berr err;
		if (oci_config_parse(&c, "config.json", full_config, cut, &err) == 0) {
			oci_config_free(&c);
		}
	}
	for (int round = 0; round < 3000; round++) {
		memcpy(text, full_config, len + 1);
		for (int k = 0; k < 3; k++) {
			seed = seed * 1103515245u + 12345u;
			text[(seed >> 8) % len] = (char)(seed >> 20);
		}
		struct oci_config c;
		struct berr err;
		if (oci_config_parse(&c, "config.json", text, len, &err) == 0) {
			oci_config_free(&c);
		}
	}
	free(text);
	CHECK(1);
}

/* update --resources: zeros are "unchanged" (dockerd sends every field),
 * the rest is checked as in a config. */
static void test_update_resources(void)
{
	struct oci_config scratch;
	memset(&scratch, 0, sizeof(scratch));
	struct oci_resources r;
	struct berr err = {0};
	const char *docker = "{\"memory\": {\"limit\": 0, \"reservation\": 0, \"swap\": 0, \"kernel\": 0},"
			     " \"cpu\": {\"shares\": 512, \"quota\": 0, \"period\": 0, \"cpus\": \"\", \"mems\": \"\"},"
			     " \"pids\": {\"limit\": 0}, \"blockIO\": {\"weight\": 0}}";
	CHECK_EQ_INT(oci_resources_parse(&scratch, &r, "stdin", docker, strlen(docker), &err), 0);
	CHECK(r.has_cpu_shares && r.cpu_shares == 512);
	CHECK(!r.has_memory_limit && !r.has_memory_swap && !r.has_cpu_quota && !r.has_pids_limit);
	CHECK(!r.has_blkio_weight && r.cpuset_cpus == NULL);
	const char *limit = "{\"memory\": {\"limit\": 67108864}, \"pids\": {\"limit\": 32}}";
	CHECK_EQ_INT(oci_resources_parse(&scratch, &r, "stdin", limit, strlen(limit), &err), 0);
	CHECK(r.has_memory_limit && r.memory_limit == 67108864 && r.has_pids_limit && r.pids_limit == 32);
	const char *kernel = "{\"memory\": {\"kernel\": 1048576}}";
	CHECK_EQ_INT(oci_resources_parse(&scratch, &r, "stdin", kernel, strlen(kernel), &err), -EINVAL);
	CHECK_STR_CONTAINS(err.msg, "kernel");
	const char *weight = "{\"blockIO\": {\"weight\": 5}}";
	CHECK_EQ_INT(oci_resources_parse(&scratch, &r, "stdin", weight, strlen(weight), &err), -EINVAL);
	CHECK_EQ_INT(oci_resources_parse(&scratch, &r, "stdin", "[1]", 3, &err), -EINVAL);
	oci_config_free(&scratch);
}

/* Appends printf-style text to a fixed buffer, failing the test (not
 * cutting it short) when it does not fit. */
__attribute__((format(printf, 4, 5))) static void append(char *buf, size_t size, size_t *used, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf + *used, size - *used, fmt, ap);
	va_end(ap);
	CHECK(n >= 0 && (size_t)n < size - *used);
	if (n >= 0 && (size_t)n < size - *used) {
		*used += (size_t)n;
	}
}

/* A sender with more "unchanged" members than drop_zeros once kept room
 * for (64): every one goes, at the top and inside an object, and those
 * after the 64th are neither applied as a 0 nor warned about. */
static void test_update_resources_many_zeros(void)
{
	static const char *const zeros[] = {"0", "\"\"", "null"};
	char json[8192];
	size_t used = 0;
	append(json, sizeof(json), &used, "{");
	for (int i = 0; i < 100; i++) {
		append(json, sizeof(json), &used, "\"future%d\": %s, ", i, zeros[i % 3]);
	}
	/* Past the old cap: kept, this 0 was "pids must be an object". */
	append(json, sizeof(json), &used, "\"pids\": 0, \"cpu\": {");
	for (int i = 0; i < 70; i++) {
		append(json, sizeof(json), &used, "\"future%d\": %s, ", i, zeros[i % 3]);
	}
	append(json, sizeof(json), &used, "\"quota\": 0, \"cpus\": \"\", \"shares\": 256}}");

	struct oci_config scratch;
	memset(&scratch, 0, sizeof(scratch));
	struct oci_resources r;
	struct berr err = {0};
	CHECK_EQ_INT(oci_resources_parse(&scratch, &r, "stdin", json, used, &err), 0);
	CHECK_EQ_INT(err.code, 0);
	CHECK(r.has_cpu_shares && r.cpu_shares == 256);
	CHECK(!r.has_cpu_quota && r.cpuset_cpus == NULL && !r.has_pids_limit);
	CHECK_EQ_INT(scratch.nwarnings, 0);
	oci_config_free(&scratch);
}

int main(void)
{
	RUN(test_full_config);
	RUN(test_update_resources);
	RUN(test_update_resources_many_zeros);
	RUN(test_errors_name_the_field);
	RUN(test_cross_field_rules_name_the_field);
	RUN(test_too_many_id_mappings);
	RUN(test_unsupported_fields_are_refused);
	RUN(test_empty_unsupported_fields_are_accepted);
	RUN(test_unknown_fields_warn);
	RUN(test_unknown_capabilities_warn);
	RUN(test_garbage_never_crashes);
	return check_summary();
}
