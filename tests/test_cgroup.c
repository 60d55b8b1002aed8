/* The cgroup v2 module against a plain directory standing in for
 * /sys/fs/cgroup (the interface files are empty files the test creates, so
 * that what cgroup_apply writes can be read back), and the device filter:
 * its semantic model against a table, its BPF programs against that model
 * (through a small interpreter of the instructions it emits), and the
 * kernel verifier's acceptance of them (loaded, never attached). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "lib/fsutil.h"
#include "oci/cgroup.h"
#include "oci/devfilter.h"

static char root[] = "/tmp/berth-test-cgroup.XXXXXX";

/* ---- fixtures --------------------------------------------------------------- */

static void put(const char *rel, const char *content)
{
	char path[PATH_MAX];
	char dir[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	*slash = '\0';
	if (mkdir_p(dir, 0755, NULL) < 0) {
		exit(2);
	}
	FILE *f = fopen(path, "we");
	if (f == NULL || fputs(content, f) < 0 || fclose(f) != 0) {
		perror(path);
		exit(2);
	}
}

/* The text of a file below root; "(missing)" if it cannot be read. */
static const char *get(const char *rel)
{
	static char buf[4096];
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	if (read_file(path, buf, sizeof(buf), NULL) < 0) {
		return "(missing)";
	}
	return buf;
}

static int exists(const char *rel)
{
	char path[PATH_MAX];
	struct stat st;
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	return lstat(path, &st) == 0;
}

static void make_dir(const char *rel)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	if (mkdir_p(path, 0755, NULL) < 0) {
		exit(2);
	}
}

static const char *const interface_files[] = {
	"cgroup.procs", "cgroup.freeze", "cgroup.events", "cgroup.controllers", "cgroup.subtree_control",
	"memory.max",	"memory.low",	 "memory.high",	  "memory.swap.max",	"memory.events",
	"cpu.weight",	"cpu.max",	 "cpu.max.burst", "cpu.idle",		"cpuset.cpus",
	"cpuset.mems",	"pids.max",	 "io.weight",	  "io.bfq.weight",	"io.max",
	NULL,
};

/* A stand-in cgroup REL with every interface file, empty. */
static void fake_cgroup(const char *rel)
{
	char file[PATH_MAX];
	for (size_t i = 0; interface_files[i] != NULL; i++) {
		snprintf(file, sizeof(file), "%s/%s", rel, interface_files[i]);
		put(file, "");
	}
}

static void remove_file(const char *rel)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	unlink(path);
}

static int open_fake(struct cgroup *cg, const char *rel)
{
	struct berr err = {0};
	int rc = cgroup_open(cg, root, rel, &err);
	if (rc < 0) {
		fprintf(stderr, "cgroup_open %s: %s\n", rel, err.msg);
	}
	return rc;
}

/* ---- conversions ------------------------------------------------------------ */

static void test_cpu_shares_to_weight(void)
{
	CHECK_EQ_INT(cgroup_cpu_shares_to_weight(0), 0);
	CHECK_EQ_INT(cgroup_cpu_shares_to_weight(1), 1);
	CHECK_EQ_INT(cgroup_cpu_shares_to_weight(2), 1);
	CHECK_EQ_INT(cgroup_cpu_shares_to_weight(1024), 39);
	CHECK_EQ_INT(cgroup_cpu_shares_to_weight(262144), 10000);
	CHECK_EQ_INT(cgroup_cpu_shares_to_weight(1000000), 10000);
}

static void test_blkio_weight_to_io_weight(void)
{
	CHECK_EQ_INT(cgroup_blkio_weight_to_io_weight(0), 0);
	CHECK_EQ_INT(cgroup_blkio_weight_to_io_weight(10), 1);
	CHECK_EQ_INT(cgroup_blkio_weight_to_io_weight(100), 910);
	CHECK_EQ_INT(cgroup_blkio_weight_to_io_weight(300), 2930);
	CHECK_EQ_INT(cgroup_blkio_weight_to_io_weight(500), 4950);
	CHECK_EQ_INT(cgroup_blkio_weight_to_io_weight(1000), 10000);
}

static void test_swap_conversion(void)
{
	struct berr err = {0};
	int64_t out = 123;
	/* unlimited memory, swap unset: both unlimited */
	CHECK_EQ_INT(cgroup_swap_max(0, 0, 1, -1, &out, &err), 1);
	CHECK_EQ_INT(out, -1);
	CHECK_EQ_INT(cgroup_swap_max(1, -1, 1, 1 << 20, &out, &err), 1);
	CHECK_EQ_INT(out, -1);
	CHECK_EQ_INT(cgroup_swap_max(1, 3 << 20, 1, 1 << 20, &out, &err), 1);
	CHECK_EQ_INT(out, 2 << 20);
	CHECK_EQ_INT(cgroup_swap_max(1, 1 << 20, 1, 1 << 20, &out, &err), 1);
	CHECK_EQ_INT(out, 0);
	/* nothing said about swap: leave it */
	CHECK_EQ_INT(cgroup_swap_max(0, 0, 1, 1 << 20, &out, &err), 0);
	CHECK_EQ_INT(cgroup_swap_max(0, 0, 0, 0, &out, &err), 0);
	CHECK_EQ_INT(cgroup_swap_max(1, 1 << 20, 1, 2 << 20, &out, &err), -EINVAL);
	CHECK_STR_CONTAINS(err.msg, "less than memory.limit");
	CHECK_EQ_INT(cgroup_swap_max(1, 1 << 20, 0, 0, &out, &err), -EINVAL);
	CHECK_STR_CONTAINS(err.msg, "needs a memory limit");
	CHECK_EQ_INT(cgroup_swap_max(1, 1 << 20, 1, -1, &out, &err), -EINVAL);
}

/* ---- paths and creation ----------------------------------------------------- */

static void test_path_resolve(void)
{
	char out[PATH_MAX];
	struct berr err = {0};
	CHECK_EQ_INT(cgroup_path_resolve(out, sizeof(out), NULL, "web", &err), 0);
	CHECK(strcmp(out, "/berth-oci/web") == 0);
	CHECK_EQ_INT(cgroup_path_resolve(out, sizeof(out), "", "web", &err), 0);
	CHECK(strcmp(out, "/berth-oci/web") == 0);
	CHECK_EQ_INT(cgroup_path_resolve(out, sizeof(out), "berth/web", "x", &err), 0);
	CHECK(strcmp(out, "/berth/web") == 0);
	CHECK_EQ_INT(cgroup_path_resolve(out, sizeof(out), "//a/./b//c/", "x", &err), 0);
	CHECK(strcmp(out, "/a/b/c") == 0);

	CHECK_EQ_INT(cgroup_path_resolve(out, sizeof(out), "system.slice:docker:abc", "x", &err), -EOPNOTSUPP);
	CHECK_STR_CONTAINS(err.msg, "systemd cgroup driver");
	CHECK_EQ_INT(cgroup_path_resolve(out, sizeof(out), "/a/../b", "x", &err), -EINVAL);
	CHECK_STR_CONTAINS(err.msg, "'..' is not allowed");
	CHECK_EQ_INT(cgroup_path_resolve(out, sizeof(out), "..", "x", &err), -EINVAL);
	CHECK_EQ_INT(cgroup_path_resolve(out, sizeof(out), "/a/..", "x", &err), -EINVAL);
	CHECK_EQ_INT(cgroup_path_resolve(out, sizeof(out), "/", "x", &err), -EINVAL);
	CHECK_STR_CONTAINS(err.msg, "root cgroup");
	CHECK_EQ_INT(cgroup_path_resolve(out, sizeof(out), "/./", "x", &err), -EINVAL);
	CHECK_EQ_INT(cgroup_path_resolve(out, sizeof(out), NULL, "a/b", &err), -EINVAL);
	CHECK_EQ_INT(cgroup_path_resolve(out, sizeof(out), NULL, "..", &err), -EINVAL);
	CHECK_EQ_INT(cgroup_path_resolve(out, sizeof(out), NULL, "", &err), -EINVAL);
	/* a colon in an absolute path is just a name */
	CHECK_EQ_INT(cgroup_path_resolve(out, sizeof(out), "/a:b", "x", &err), 0);
	char small[8];
	CHECK_EQ_INT(cgroup_path_resolve(small, sizeof(small), "/abc/defgh", "x", &err), -ENAMETOOLONG);
}

static void test_create_enables_controllers_top_down(void)
{
	struct berr err = {0};
	struct cgroup cg;
	put("c1/cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma misc\n");
	put("c1/cgroup.subtree_control", "");
	put("c1/berth/cgroup.controllers", "cpu memory pids\n");
	put("c1/berth/cgroup.subtree_control", "memory\n");
	char croot[PATH_MAX];
	snprintf(croot, sizeof(croot), "%s/c1", root);

	CHECK_EQ_INT(cgroup_create(&cg, croot, "/berth/web", "ignored", &err), 0);
	CHECK(strcmp(cg.path, "/berth/web") == 0);
	CHECK(cg.dirfd >= 0);
	CHECK(strcmp(get("c1/cgroup.subtree_control"), "+cpu +cpuset +io +memory +pids") == 0);
	/* only what the parent offers, and not what is on already */
	CHECK(strcmp(get("c1/berth/cgroup.subtree_control"), "+cpu +pids") == 0);
	CHECK(exists("c1/berth/web"));
	/* the leaf gets no subtree_control write: it will hold processes */
	CHECK(!exists("c1/berth/web/cgroup.subtree_control"));
	cgroup_close(&cg);
	CHECK_EQ_INT(cg.dirfd, -1);

	/* an existing cgroup is reused */
	CHECK_EQ_INT(cgroup_create(&cg, croot, "berth/web", "x", &err), 0);
	cgroup_close(&cg);

	/* a missing ancestor is made, but must then be a cgroup v2 directory */
	CHECK(cgroup_create(&cg, croot, "/other/deeper/web", "x", &err) < 0);
	CHECK_STR_CONTAINS(err.msg, "cgroup /other: no cgroup.controllers: not a cgroup v2 hierarchy");
	CHECK(exists("c1/other"));
	CHECK_EQ_INT(cg.dirfd, -1);

	/* never through a symlink */
	char target[PATH_MAX];
	char link[PATH_MAX];
	snprintf(target, sizeof(target), "%s/c1/berth", root);
	snprintf(link, sizeof(link), "%s/c1/link", root);
	CHECK_EQ_INT(symlink(target, link), 0);
	CHECK(cgroup_create(&cg, croot, "/link/web", "x", &err) < 0);
	CHECK_STR_CONTAINS(err.msg, "cgroup /link: open");
	CHECK(cgroup_open(&cg, croot, "/link/web", &err) < 0);

	/* not a cgroup v2 root (the hybrid layout's tmpfs /sys/fs/cgroup) */
	make_dir("notcg");
	snprintf(croot, sizeof(croot), "%s/notcg", root);
	CHECK(cgroup_create(&cg, croot, NULL, "web", &err) < 0);
	CHECK_STR_CONTAINS(err.msg, "not a cgroup v2 hierarchy");

	CHECK(cgroup_create(&cg, croot, "slice:berth:web", "web", &err) < 0);
	CHECK_STR_CONTAINS(err.msg, "not supported");
	CHECK(cgroup_create(&cg, croot, "/a/../../etc", "web", &err) < 0);
	CHECK(cgroup_open(&cg, croot, "/nonexistent", &err) < 0);
	CHECK_STR_CONTAINS(err.msg, "cgroup /nonexistent: open");
}

/* ---- resources -------------------------------------------------------------- */

static void test_apply_writes_v2_files(void)
{
	struct berr err = {0};
	struct cgroup cg;
	fake_cgroup("full");
	CHECK_EQ_INT(open_fake(&cg, "/full"), 0);
	char cpus[] = "0-1";
	char mems[] = "0";
	char high_key[] = "memory.high";
	char high_val[] = "400000000";
	struct oci_weight_device wd[] = {{.major = 8, .minor = 0, .has_weight = 1, .weight = 300}};
	struct oci_throttle_device rbps[] = {{.major = 8, .minor = 0, .rate = 1048576}};
	struct oci_throttle_device wbps[] = {{.major = 8, .minor = 0, .rate = 2097152}};
	struct oci_throttle_device riops[] = {{.major = 8, .minor = 16, .rate = 100}};
	struct oci_throttle_device wiops[] = {{.major = 8, .minor = 16, .rate = 0}};
	struct oci_kv unified[] = {{.key = high_key, .value = high_val}};
	struct oci_resources r = {
		.has_memory_limit = 1,
		.memory_limit = 536870912,
		.has_memory_reservation = 1,
		.memory_reservation = 268435456,
		.has_memory_swap = 1,
		.memory_swap = 1073741824,
		.has_cpu_shares = 1,
		.cpu_shares = 1024,
		.has_cpu_quota = 1,
		.cpu_quota = 50000,
		.has_cpu_period = 1,
		.cpu_period = 100000,
		.has_cpu_burst = 1,
		.cpu_burst = 10000,
		.has_cpu_idle = 1,
		.cpu_idle = 0,
		.cpuset_cpus = cpus,
		.cpuset_mems = mems,
		.has_pids_limit = 1,
		.pids_limit = 100,
		.has_blkio_weight = 1,
		.blkio_weight = 500,
		.weight_devices = wd,
		.nweight_devices = 1,
		.throttle_read_bps = rbps,
		.nthrottle_read_bps = 1,
		.throttle_write_bps = wbps,
		.nthrottle_write_bps = 1,
		.throttle_read_iops = riops,
		.nthrottle_read_iops = 1,
		.throttle_write_iops = wiops,
		.nthrottle_write_iops = 1,
		.unified = unified,
		.nunified = 1,
	};
	int rc = cgroup_apply(&cg, &r, &err);
	CHECK_EQ_INT(rc, 0);
	if (rc < 0) {
		fprintf(stderr, "apply: %s\n", err.msg);
	}
	CHECK(strcmp(get("full/memory.max"), "536870912") == 0);
	CHECK(strcmp(get("full/memory.low"), "268435456") == 0);
	CHECK(strcmp(get("full/memory.swap.max"), "536870912") == 0);
	CHECK(strcmp(get("full/memory.high"), "400000000") == 0);
	CHECK(strcmp(get("full/cpu.weight"), "39") == 0);
	CHECK(strcmp(get("full/cpu.max"), "50000 100000") == 0);
	CHECK(strcmp(get("full/cpu.max.burst"), "10000") == 0);
	CHECK(strcmp(get("full/cpu.idle"), "0") == 0);
	CHECK(strcmp(get("full/cpuset.cpus"), "0-1") == 0);
	CHECK(strcmp(get("full/cpuset.mems"), "0") == 0);
	CHECK(strcmp(get("full/pids.max"), "100") == 0);
	/* BFQ takes v1's scale and the device weight; io.weight the converted default */
	CHECK(strcmp(get("full/io.bfq.weight"), "500\n8:0 300\n") == 0);
	CHECK(strcmp(get("full/io.weight"), "4950\n") == 0);
	CHECK(strcmp(get("full/io.max"), "8:0 rbps=1048576\n8:0 wbps=2097152\n8:16 riops=100\n8:16 wiops=max\n") == 0);
	/* untouched */
	CHECK(strcmp(get("full/cgroup.procs"), "") == 0);
	cgroup_close(&cg);
}

static void test_apply_without_bfq(void)
{
	struct berr err = {0};
	struct cgroup cg;
	fake_cgroup("nobfq");
	remove_file("nobfq/io.bfq.weight");
	CHECK_EQ_INT(open_fake(&cg, "nobfq"), 0);
	struct oci_weight_device wd[] = {{.major = 8, .minor = 0, .has_weight = 1, .weight = 300}};
	struct oci_resources r = {
		.has_blkio_weight = 1,
		.blkio_weight = 500,
		.weight_devices = wd,
		.nweight_devices = 1,
	};
	CHECK_EQ_INT(cgroup_apply(&cg, &r, &err), 0);
	CHECK(strcmp(get("nobfq/io.weight"), "4950\n8:0 2930\n") == 0);

	/* neither weight file: the io controller is off */
	remove_file("nobfq/io.weight");
	CHECK_EQ_INT(cgroup_apply(&cg, &r, &err), -ENOENT);
	CHECK_STR_CONTAINS(err.msg, "neither io.weight nor io.bfq.weight");

	struct oci_resources bad = {.has_blkio_weight = 1, .blkio_weight = 5};
	CHECK_EQ_INT(cgroup_apply(&cg, &bad, &err), -EINVAL);
	CHECK_STR_CONTAINS(err.msg, "blockIO.weight: 5 is not in 10..1000");
	cgroup_close(&cg);
}

static void test_apply_limits_and_max(void)
{
	struct berr err = {0};
	struct cgroup cg;
	fake_cgroup("max");
	CHECK_EQ_INT(open_fake(&cg, "/max"), 0);
	struct oci_resources r = {
		.has_memory_limit = 1,
		.memory_limit = -1,
		.has_memory_reservation = 1,
		.memory_reservation = -1,
		.has_pids_limit = 1,
		.pids_limit = 0,
	};
	CHECK_EQ_INT(cgroup_apply(&cg, &r, &err), 0);
	CHECK(strcmp(get("max/memory.max"), "max") == 0);
	CHECK(strcmp(get("max/memory.swap.max"), "max") == 0);
	CHECK(strcmp(get("max/memory.low"), "max") == 0);
	CHECK(strcmp(get("max/pids.max"), "max") == 0);

	r.pids_limit = -1;
	r.has_memory_limit = 1;
	r.memory_limit = 1 << 30;
	r.has_memory_swap = 1;
	r.memory_swap = 1 << 30;
	CHECK_EQ_INT(cgroup_apply(&cg, &r, &err), 0);
	CHECK(strcmp(get("max/pids.max"), "max") == 0);
	CHECK(strcmp(get("max/memory.max"), "1073741824") == 0);
	CHECK(strcmp(get("max/memory.swap.max"), "0") == 0); /* swap == limit: no swap */

	/* no swap accounting in the kernel: "max" and "0" hold anyway */
	remove_file("max/memory.swap.max");
	CHECK_EQ_INT(cgroup_apply(&cg, &r, &err), 0);
	r.memory_swap = 2LL << 30;
	CHECK_EQ_INT(cgroup_apply(&cg, &r, &err), -ENOENT);
	CHECK_STR_CONTAINS(err.msg, "memory.swap.max = 1073741824: the kernel does not account swap");

	r.memory_swap = 1 << 20;
	CHECK_EQ_INT(cgroup_apply(&cg, &r, &err), -EINVAL);
	CHECK_STR_CONTAINS(err.msg, "less than memory.limit");
	cgroup_close(&cg);
}

static void test_cpu_max_forms(void)
{
	static const struct {
		int has_quota;
		int64_t quota;
		int has_period;
		uint64_t period;
		const char *want; /* NULL: cpu.max not written */
	} cases[] = {
		{1, 50000, 1, 100000, "50000 100000"},
		{1, 20000, 0, 0, "20000"},
		{0, 0, 1, 100000, "max 100000"},
		{1, -1, 1, 250000, "max 250000"},
		{1, -1, 0, 0, "max"},
		{1, 0, 0, 0, NULL},
		{0, 0, 0, 0, NULL},
	};
	struct berr err = {0};
	struct cgroup cg;
	fake_cgroup("cpumax");
	CHECK_EQ_INT(open_fake(&cg, "cpumax"), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		put("cpumax/cpu.max", "untouched");
		struct oci_resources r = {
			.has_cpu_quota = cases[i].has_quota,
			.cpu_quota = cases[i].quota,
			.has_cpu_period = cases[i].has_period,
			.cpu_period = cases[i].period,
		};
		CHECK_EQ_INT(cgroup_apply(&cg, &r, &err), 0);
		const char *want = cases[i].want != NULL ? cases[i].want : "untouched";
		if (strcmp(get("cpumax/cpu.max"), want) != 0) {
			fprintf(stderr, "case %zu: cpu.max '%s', want '%s'\n", i, get("cpumax/cpu.max"), want);
			CHECK(0);
		}
	}
	cgroup_close(&cg);
}

static void test_write_errors_name_file_and_value(void)
{
	struct berr err = {0};
	struct cgroup cg;
	fake_cgroup("web");
	CHECK_EQ_INT(open_fake(&cg, "/web"), 0);
	struct oci_resources r = {.has_memory_limit = 1, .memory_limit = 1000};

	remove_file("web/memory.max");
	CHECK_EQ_INT(cgroup_apply(&cg, &r, &err), -ENOENT);
	CHECK_STR_CONTAINS(
		err.msg,
		"cgroup /web: memory.max = 1000: No such file or directory (is the memory controller enabled?)");

	/* a symlink is refused, not followed */
	char target[PATH_MAX];
	char link[PATH_MAX];
	snprintf(target, sizeof(target), "%s/web/memory.low", root);
	snprintf(link, sizeof(link), "%s/web/memory.max", root);
	CHECK_EQ_INT(symlink(target, link), 0);
	CHECK_EQ_INT(cgroup_apply(&cg, &r, &err), -ELOOP);
	CHECK_STR_CONTAINS(err.msg, "cgroup /web: memory.max = 1000: ");
	CHECK(strcmp(get("web/memory.low"), "") == 0);

	struct oci_throttle_device t[] = {{.major = 8, .minor = 0, .rate = 5}};
	struct oci_resources io = {.throttle_read_bps = t, .nthrottle_read_bps = 1};
	remove_file("web/io.max");
	CHECK_EQ_INT(cgroup_apply(&cg, &io, &err), -ENOENT);
	CHECK_STR_CONTAINS(err.msg, "cgroup /web: io.max = 8:0 rbps=5: No such file or directory");

	CHECK_EQ_INT(cgroup_add_process(&cg, 4321, &err), 0);
	CHECK(strcmp(get("web/cgroup.procs"), "4321") == 0);
	remove_file("web/cgroup.procs");
	CHECK_EQ_INT(cgroup_add_process(&cg, 4321, &err), -ENOENT);
	CHECK_STR_CONTAINS(err.msg, "cgroup /web: cgroup.procs = 4321: No such file or directory");
	cgroup_close(&cg);
}

static void test_unsupported_settings_are_refused(void)
{
	struct berr err = {0};
	struct cgroup cg;
	fake_cgroup("unsup");
	CHECK_EQ_INT(open_fake(&cg, "unsup"), 0);

	struct oci_resources r = {
		.has_memory_limit = 1, .memory_limit = 1000, .has_memory_swappiness = 1, .memory_swappiness = 10};
	CHECK_EQ_INT(cgroup_apply(&cg, &r, &err), -EOPNOTSUPP);
	CHECK_STR_CONTAINS(err.msg, "linux.resources.memory.swappiness: not supported with cgroup v2");
	/* refused before anything was written */
	CHECK(strcmp(get("unsup/memory.max"), "") == 0);

	struct oci_resources oom = {.disable_oom_killer = 1};
	CHECK_EQ_INT(cgroup_apply(&cg, &oom, &err), -EOPNOTSUPP);
	CHECK_STR_CONTAINS(err.msg, "memory.disableOOMKiller: not supported with cgroup v2");

	struct oci_weight_device wd[] = {{.major = 8, .minor = 0, .has_leaf_weight = 1, .leaf_weight = 100}};
	struct oci_resources leaf = {.weight_devices = wd, .nweight_devices = 1};
	CHECK_EQ_INT(cgroup_apply(&cg, &leaf, &err), -EOPNOTSUPP);
	CHECK_STR_CONTAINS(err.msg, "blockIO.weightDevice[0].leafWeight: not supported with cgroup v2");

	struct oci_resources neg = {.has_memory_limit = 1, .memory_limit = -2};
	CHECK_EQ_INT(cgroup_apply(&cg, &neg, &err), -EINVAL);
	struct oci_throttle_device t[] = {{.major = -1, .minor = 0, .rate = 5}};
	struct oci_resources badmaj = {.throttle_write_iops = t, .nthrottle_write_iops = 1};
	CHECK_EQ_INT(cgroup_apply(&cg, &badmaj, &err), -EINVAL);
	CHECK_STR_CONTAINS(err.msg, "throttleWriteIOPSDevice[0]: bad device -1:0");
	cgroup_close(&cg);
}

static void test_unified(void)
{
	struct berr err = {0};
	struct cgroup cg;
	fake_cgroup("uni");
	CHECK_EQ_INT(open_fake(&cg, "uni"), 0);
	static const char *const bad_keys[] = {"", ".hidden", "../memory.max", "a/b", "memory", "/memory.max"};
	for (size_t i = 0; i < sizeof(bad_keys) / sizeof(bad_keys[0]); i++) {
		char key[32];
		char value[] = "1";
		snprintf(key, sizeof(key), "%s", bad_keys[i]);
		struct oci_kv kv[] = {{.key = key, .value = value}};
		struct oci_resources r = {.unified = kv, .nunified = 1};
		CHECK_EQ_INT(cgroup_apply(&cg, &r, &err), -EINVAL);
		CHECK_STR_CONTAINS(err.msg, "is not a cgroup interface file name");
	}
	char key[] = "hugetlb.2MB.max";
	char value[] = "1073741824";
	struct oci_kv kv[] = {{.key = key, .value = value}};
	struct oci_resources r = {.unified = kv, .nunified = 1};
	CHECK_EQ_INT(cgroup_apply(&cg, &r, &err), -ENOENT);
	CHECK_STR_CONTAINS(err.msg, "cgroup /uni: hugetlb.2MB.max = 1073741824: No such file or directory (is the "
				    "hugetlb controller enabled?)");

	/* unified comes last and wins over the field it duplicates */
	char pkey[] = "pids.max";
	char pval[] = "42";
	struct oci_kv pkv[] = {{.key = pkey, .value = pval}};
	struct oci_resources p = {.has_pids_limit = 1, .pids_limit = 7, .unified = pkv, .nunified = 1};
	CHECK_EQ_INT(cgroup_apply(&cg, &p, &err), 0);
	CHECK(strcmp(get("uni/pids.max"), "42") == 0);
	cgroup_close(&cg);
}

/* ---- processes -------------------------------------------------------------- */

static void test_freeze(void)
{
	struct berr err = {0};
	struct cgroup cg;
	fake_cgroup("frz");
	CHECK_EQ_INT(open_fake(&cg, "frz"), 0);
	put("frz/cgroup.events", "populated 1\nfrozen 1\n");
	CHECK_EQ_INT(cgroup_freeze(&cg, 1, &err), 0);
	CHECK(strcmp(get("frz/cgroup.freeze"), "1") == 0);
	put("frz/cgroup.events", "populated 1\nfrozen 0\n");
	CHECK_EQ_INT(cgroup_freeze(&cg, 0, &err), 0);
	CHECK(strcmp(get("frz/cgroup.freeze"), "0") == 0);

	/* never reports frozen: time out and thaw again (takes 2 s) */
	CHECK_EQ_INT(cgroup_freeze(&cg, 1, &err), -ETIMEDOUT);
	CHECK_STR_CONTAINS(err.msg, "cgroup /frz: not frozen after 2000 ms");
	CHECK(strcmp(get("frz/cgroup.freeze"), "0") == 0);

	put("frz/cgroup.events", "populated 1\n");
	CHECK_EQ_INT(cgroup_freeze(&cg, 1, &err), -EIO);
	CHECK_STR_CONTAINS(err.msg, "no 'frozen' line");
	cgroup_close(&cg);
}

static int has_pid(const pid_t *pids, size_t n, pid_t pid)
{
	for (size_t i = 0; i < n; i++) {
		if (pids[i] == pid) {
			return 1;
		}
	}
	return 0;
}

static void test_pids_are_recursive(void)
{
	struct berr err = {0};
	struct cgroup cg;
	fake_cgroup("tree");
	fake_cgroup("tree/a");
	fake_cgroup("tree/a/deep");
	fake_cgroup("tree/b");
	put("tree/cgroup.procs", "11\n12\n");
	put("tree/a/cgroup.procs", "");
	put("tree/a/deep/cgroup.procs", "31\n");
	put("tree/b/cgroup.procs", "41\n");
	CHECK_EQ_INT(open_fake(&cg, "tree"), 0);
	pid_t *pids = NULL;
	size_t n = 0;
	CHECK_EQ_INT(cgroup_pids(&cg, &pids, &n, &err), 0);
	CHECK_EQ_INT(n, 4);
	CHECK(has_pid(pids, n, 11) && has_pid(pids, n, 12) && has_pid(pids, n, 31) && has_pid(pids, n, 41));
	free(pids);

	put("tree/b/cgroup.procs", "41\nnot-a-pid\n");
	CHECK(cgroup_pids(&cg, &pids, &n, &err) < 0);
	CHECK_STR_CONTAINS(err.msg, "cgroup /tree/b: cgroup.procs: 'not-a-pid' is not a pid");
	CHECK(pids == NULL && n == 0);
	cgroup_close(&cg);
}

static void test_signal_all(void)
{
	struct berr err = {0};
	struct cgroup cg;
	fake_cgroup("sig");
	fake_cgroup("sig/inner");
	put("sig/cgroup.kill", "");
	CHECK_EQ_INT(open_fake(&cg, "sig"), 0);

	/* SIGKILL through cgroup.kill */
	CHECK_EQ_INT(cgroup_signal_all(&cg, SIGKILL, &err), 0);
	CHECK(strcmp(get("sig/cgroup.kill"), "1") == 0);

	/* other signals: every listed process, descendants' included */
	pid_t child = fork();
	if (child == 0) {
		for (;;) {
			pause();
		}
	}
	CHECK(child > 0);
	char procs[32];
	snprintf(procs, sizeof(procs), "%d\n", (int)child);
	put("sig/inner/cgroup.procs", procs);
	CHECK_EQ_INT(cgroup_signal_all(&cg, SIGTERM, &err), 0);
	int status = 0;
	CHECK_EQ_INT(waitpid(child, &status, 0), child);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);

	/* a pid that has gone is not an error */
	CHECK_EQ_INT(cgroup_signal_all(&cg, SIGTERM, &err), 0);
	cgroup_close(&cg);
}

static void test_oom_kills(void)
{
	struct berr err = {0};
	struct cgroup cg;
	fake_cgroup("oom");
	CHECK_EQ_INT(open_fake(&cg, "oom"), 0);
	put("oom/memory.events", "low 0\nhigh 4\nmax 9\noom 3\noom_kill 2\noom_group_kill 0\n");
	uint64_t count = 99;
	CHECK_EQ_INT(cgroup_oom_kills(&cg, &count, &err), 0);
	CHECK_EQ_INT(count, 2);
	put("oom/memory.events", "oom_group_kill 5\noom 1\n");
	CHECK_EQ_INT(cgroup_oom_kills(&cg, &count, &err), 0);
	CHECK_EQ_INT(count, 0);
	remove_file("oom/memory.events");
	CHECK_EQ_INT(cgroup_oom_kills(&cg, &count, &err), -ENOENT);
	CHECK_STR_CONTAINS(err.msg, "is the memory controller enabled?");
	cgroup_close(&cg);
}

/* exec joins the container's group, or, once something inside handed the
 * controllers down (dockerd in the engine container), its init's group below
 * it; never a group outside. This process stands in for the init. */
static void test_open_for_exec(void)
{
	struct berr err = {0};
	struct cgroup cg;
	char self[PATH_MAX];
	char *mine = NULL;
	if (read_file("/proc/self/cgroup", self, sizeof(self), NULL) >= 0) {
		mine = strncmp(self, "0::/", 4) == 0 ? self : strstr(self, "\n0::/");
	}
	if (mine == NULL) {
		fprintf(stderr, "test_open_for_exec: no unified line in /proc/self/cgroup; skipped\n");
		return;
	}
	mine += mine[0] == '\n' ? 4 : 3;
	mine[strcspn(mine, "\n")] = '\0';
	fake_cgroup("leaf");
	CHECK_EQ_INT(cgroup_open_for_exec(&cg, root, "/leaf", getpid(), &err), 0);
	CHECK(strcmp(cg.path, "/leaf") == 0);
	cgroup_close(&cg);

	put("leaf/cgroup.subtree_control", "memory pids\n");
	CHECK_EQ_INT(cgroup_open_for_exec(&cg, root, "/leaf", getpid(), &err), -EPERM);
	CHECK_STR_CONTAINS(err.msg, "is not in a group below it");
	CHECK_EQ_INT(cg.dirfd, -1);

	char parent[PATH_MAX];
	snprintf(parent, sizeof(parent), "%s", mine);
	char *slash = strrchr(parent, '/');
	if (slash == NULL || slash == parent) {
		fprintf(stderr, "test_open_for_exec: this process's group %s has no parent; the rest skipped\n", mine);
		return;
	}
	*slash = '\0';
	fake_cgroup(parent + 1);
	fake_cgroup(mine + 1);
	put("leaf/cgroup.subtree_control", "");
	char file[PATH_MAX + 32];
	snprintf(file, sizeof(file), "%s/cgroup.subtree_control", parent + 1);
	put(file, "memory\n");
	CHECK_EQ_INT(cgroup_open_for_exec(&cg, root, parent, getpid(), &err), 0);
	CHECK(strcmp(cg.path, mine) == 0);
	cgroup_close(&cg);
}

static void test_destroy(void)
{
	struct berr err = {0};
	struct cgroup cg;
	make_dir("rm/parent/victim/a/deep");
	make_dir("rm/parent/victim/b");
	make_dir("rm/parent/sibling");
	CHECK_EQ_INT(open_fake(&cg, "/rm/parent/victim"), 0);
	CHECK_EQ_INT(cgroup_destroy(&cg, &err), 0);
	CHECK(!exists("rm/parent/victim"));
	CHECK(exists("rm/parent/sibling"));
	/* already gone */
	CHECK_EQ_INT(cgroup_destroy(&cg, &err), 0);
	cgroup_close(&cg);

	/* a directory that took the old one's name is left alone */
	make_dir("rm/parent/again");
	CHECK_EQ_INT(open_fake(&cg, "/rm/parent/again"), 0);
	char path[PATH_MAX];
	char moved[PATH_MAX];
	snprintf(path, sizeof(path), "%s/rm/parent/again", root);
	snprintf(moved, sizeof(moved), "%s/rm/parent/moved", root);
	CHECK_EQ_INT(rename(path, moved), 0);
	make_dir("rm/parent/again");
	CHECK_EQ_INT(cgroup_destroy(&cg, &err), -ESTALE);
	CHECK(exists("rm/parent/again"));
	cgroup_close(&cg);

	/* errors other than EBUSY are not retried */
	put("rm/parent/full/stray", "");
	CHECK_EQ_INT(open_fake(&cg, "/rm/parent/full"), 0);
	CHECK_EQ_INT(cgroup_destroy(&cg, &err), -ENOTEMPTY);
	CHECK_STR_CONTAINS(err.msg, "cgroup /rm/parent/full: rmdir");
	cgroup_close(&cg);
}

/* ---- device filter ---------------------------------------------------------- */

#define RULE(allow_, type_, major_, minor_, access_)                                                        \
	{                                                                                                   \
		.allow = (allow_), .type = (type_), .major = (major_), .minor = (minor_), .access = access_ \
	}

#define R BPF_DEVCG_ACC_READ
#define W BPF_DEVCG_ACC_WRITE
#define M BPF_DEVCG_ACC_MKNOD

/* What `runc spec` and containerd put in every config. */
static const struct oci_device_rule default_rules[] = {
	RULE(0, 'a', -1, -1, "rwm"),  RULE(1, 'c', 1, 3, "rwm"),    RULE(1, 'c', 1, 5, "rwm"),
	RULE(1, 'c', 1, 7, "rwm"),    RULE(1, 'c', 5, 0, "rwm"),    RULE(1, 'c', 5, 1, "rwm"),
	RULE(1, 'c', 5, 2, "rwm"),    RULE(1, 'c', 1, 8, "rwm"),    RULE(1, 'c', 1, 9, "rwm"),
	RULE(1, 'c', 136, -1, "rwm"), RULE(1, 'c', 10, 200, "rwm"),
};

/* Docker adds mknod of anything on top of the defaults. */
static const struct oci_device_rule docker_rules[] = {
	RULE(0, 'a', -1, -1, "rwm"), RULE(1, 'c', -1, -1, "m"),	   RULE(1, 'b', -1, -1, "m"),
	RULE(1, 'c', 1, 3, "rwm"),   RULE(1, 'c', 136, -1, "rwm"),
};

static const struct oci_device_rule allow_all[] = {RULE(1, 'a', -1, -1, "rwm")};
static const struct oci_device_rule allow_all_empty_access[] = {RULE(1, 'a', -1, -1, "")};
static const struct oci_device_rule later_deny[] = {RULE(1, 'a', -1, -1, "rwm"), RULE(0, 'c', 1, 3, "w")};
static const struct oci_device_rule deny_after_allow[] = {RULE(1, 'c', 1, 3, "rwm"), RULE(0, 'c', 1, -1, "rwm")};
static const struct oci_device_rule allow_after_deny[] = {RULE(0, 'c', 1, -1, "rwm"), RULE(1, 'c', 1, 3, "r")};
static const struct oci_device_rule split_bits[] = {RULE(1, 'c', 1, 3, "r"), RULE(1, 'c', 1, 3, "w")};
static const struct oci_device_rule take_back[] = {RULE(1, 'c', 1, 3, "rw"), RULE(0, 'c', 1, 3, "r")};
static const struct oci_device_rule mknod_only[] = {RULE(1, 'c', -1, -1, "m"), RULE(1, 'b', 8, -1, "m")};
static const struct oci_device_rule big_numbers[] = {RULE(1, 'c', 4095, 1048575, "rw"),
						     RULE(1, 'b', 4294967295LL, 2147483648LL, "r")};

struct decision {
	const struct oci_device_rule *rules;
	size_t n;
	char type;
	uint32_t major;
	uint32_t minor;
	unsigned access;
	int want;
};

#define RULES(x) (x), sizeof(x) / sizeof((x)[0])

static const struct decision decisions[] = {
	{RULES(default_rules), 'c', 1, 3, R | W, 1},
	{RULES(default_rules), 'c', 1, 3, M, 1},
	{RULES(default_rules), 'c', 1, 9, R | W | M, 1},
	{RULES(default_rules), 'c', 1, 4, R, 0},
	{RULES(default_rules), 'b', 1, 3, R, 0},
	{RULES(default_rules), 'c', 136, 0, R | W, 1},
	{RULES(default_rules), 'c', 136, 4242, W, 1},
	{RULES(default_rules), 'c', 10, 200, R | W, 1},
	{RULES(default_rules), 'c', 10, 229, R, 0},
	{RULES(default_rules), 'b', 8, 0, R, 0},
	{RULES(default_rules), 'c', 5, 3, R, 0},
	{RULES(docker_rules), 'c', 4, 0, M, 1},
	{RULES(docker_rules), 'b', 8, 0, M, 1},
	{RULES(docker_rules), 'c', 4, 0, R, 0},
	{RULES(docker_rules), 'c', 4, 0, R | M, 0},
	{RULES(docker_rules), 'c', 1, 3, R | W, 1},
	{RULES(allow_all), 'c', 1, 3, R | W | M, 1},
	{RULES(allow_all), 'b', 259, 7, W, 1},
	{RULES(allow_all_empty_access), 'b', 8, 1, R | W | M, 1},
	{RULES(later_deny), 'c', 1, 3, R, 1},
	{RULES(later_deny), 'c', 1, 3, W, 0},
	{RULES(later_deny), 'c', 1, 3, R | W, 0},
	{RULES(later_deny), 'c', 1, 4, W, 1},
	{RULES(later_deny), 'b', 1, 3, W, 1},
	{RULES(deny_after_allow), 'c', 1, 3, R, 0},
	{RULES(allow_after_deny), 'c', 1, 3, R, 1},
	{RULES(allow_after_deny), 'c', 1, 3, W, 0},
	{RULES(allow_after_deny), 'c', 1, 3, R | W, 0},
	{RULES(split_bits), 'c', 1, 3, R | W, 1},
	{RULES(split_bits), 'c', 1, 3, R | M, 0},
	{RULES(take_back), 'c', 1, 3, W, 1},
	{RULES(take_back), 'c', 1, 3, R, 0},
	{RULES(take_back), 'c', 1, 3, R | W, 0},
	{RULES(mknod_only), 'c', 7, 7, M, 1},
	{RULES(mknod_only), 'c', 7, 7, R, 0},
	{RULES(mknod_only), 'b', 8, 3, M, 1},
	{RULES(mknod_only), 'b', 9, 3, M, 0},
	{RULES(big_numbers), 'c', 4095, 1048575, W, 1},
	{RULES(big_numbers), 'b', 4294967295u, 2147483648u, R, 1},
	{RULES(big_numbers), 'b', 4294967295u, 2147483647u, R, 0},
	{NULL, 0, 'c', 1, 3, R, 0},
	/* not requests the kernel makes */
	{RULES(allow_all), 'c', 1, 3, 0, 0},
	{RULES(allow_all), 'a', 1, 3, R, 0},
};

static void test_devfilter_decide_table(void)
{
	for (size_t i = 0; i < sizeof(decisions) / sizeof(decisions[0]); i++) {
		const struct decision *d = &decisions[i];
		int got = devfilter_decide(d->rules, d->n, d->type, d->major, d->minor, d->access);
		if (got != d->want) {
			fprintf(stderr, "decision %zu: %c %u:%u access %u: got %d, want %d\n", i, d->type, d->major,
				d->minor, d->access, got, d->want);
			CHECK(0);
		} else {
			CHECK(1);
		}
	}
	struct oci_device_rule bad[] = {RULE(1, 'x', 1, 3, "r")};
	CHECK_EQ_INT(devfilter_decide(bad, 1, 'c', 1, 3, R), -EINVAL);
}

/* Runs the instructions devfilter_build emits, as the kernel would. */
static int run_filter(const struct bpf_insn *prog, size_t len, char type, uint32_t major, uint32_t minor,
		      unsigned access, int *verdict)
{
	struct bpf_cgroup_dev_ctx ctx = {
		.access_type = (access << 16) | (type == 'c' ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK),
		.major = major,
		.minor = minor,
	};
	/* r1 holds the context pointer; a marker value stands for it */
	const uint64_t ctx_ptr = 0xc0ffee00c0ffee00ull;
	uint64_t reg[11] = {0, ctx_ptr};
	size_t pc = 0;
	for (size_t steps = 0; pc < len && steps < 100000; steps++) {
		const struct bpf_insn *in = &prog[pc++];
		uint32_t imm = (uint32_t)in->imm;
		switch (in->code) {
		case BPF_LDX | BPF_MEM | BPF_W: {
			uint32_t v;
			if (reg[in->src_reg] != ctx_ptr || in->off < 0 || (size_t)in->off + 4 > sizeof(ctx)) {
				return -1;
			}
			memcpy(&v, (const char *)&ctx + in->off, 4);
			reg[in->dst_reg] = v;
			break;
		}
		case BPF_ALU | BPF_AND | BPF_K:
			reg[in->dst_reg] = (uint32_t)reg[in->dst_reg] & imm;
			break;
		case BPF_ALU | BPF_RSH | BPF_K:
			reg[in->dst_reg] = (uint32_t)reg[in->dst_reg] >> (imm & 31);
			break;
		case BPF_ALU | BPF_XOR | BPF_K:
			reg[in->dst_reg] = (uint32_t)reg[in->dst_reg] ^ imm;
			break;
		case BPF_ALU | BPF_OR | BPF_X:
			reg[in->dst_reg] = (uint32_t)reg[in->dst_reg] | (uint32_t)reg[in->src_reg];
			break;
		case BPF_ALU | BPF_MOV | BPF_X:
			reg[in->dst_reg] = (uint32_t)reg[in->src_reg];
			break;
		case BPF_ALU64 | BPF_MOV | BPF_X:
			reg[in->dst_reg] = reg[in->src_reg];
			break;
		case BPF_ALU64 | BPF_MOV | BPF_K:
			reg[in->dst_reg] = (uint64_t)(int64_t)in->imm;
			break;
		case BPF_JMP32 | BPF_JNE | BPF_K:
			if ((uint32_t)reg[in->dst_reg] != imm) {
				pc += (size_t)(ptrdiff_t)in->off;
			}
			break;
		case BPF_JMP32 | BPF_JEQ | BPF_K:
			if ((uint32_t)reg[in->dst_reg] == imm) {
				pc += (size_t)(ptrdiff_t)in->off;
			}
			break;
		case BPF_JMP | BPF_EXIT:
			*verdict = (int)reg[0];
			return 0;
		default:
			return -1;
		}
	}
	return -1;
}

static int filter_agrees(const struct oci_device_rule *rules, size_t n, const struct bpf_insn *prog, size_t len)
{
	static const char types[] = {'c', 'b'};
	static const uint32_t majors[] = {1, 5, 9};
	static const uint32_t minors[] = {3, 7, 8};
	for (size_t t = 0; t < 2; t++) {
		for (size_t a = 0; a < 3; a++) {
			for (size_t b = 0; b < 3; b++) {
				for (unsigned acc = 1; acc <= 7; acc++) {
					int want = devfilter_decide(rules, n, types[t], majors[a], minors[b], acc);
					int got = -1;
					if (run_filter(prog, len, types[t], majors[a], minors[b], acc, &got) < 0 ||
					    got != want) {
						fprintf(stderr, "%c %u:%u access %u: program %d, model %d\n", types[t],
							majors[a], minors[b], acc, got, want);
						return 0;
					}
				}
			}
		}
	}
	return 1;
}

static uint32_t rng_state = 2463534242u;

static uint32_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

static void random_rules(struct oci_device_rule *rules, size_t n)
{
	static const char types[] = {'a', 'c', 'b'};
	static const int64_t majors[] = {-1, 1, 5};
	static const int64_t minors[] = {-1, 3, 7};
	for (size_t i = 0; i < n; i++) {
		struct oci_device_rule *r = &rules[i];
		memset(r, 0, sizeof(*r));
		r->allow = (int)(rng() & 1);
		r->type = types[rng() % 3];
		r->major = majors[rng() % 3];
		r->minor = minors[rng() % 3];
		unsigned bits = rng() % 8;
		size_t k = 0;
		if (bits & 1) {
			r->access[k++] = 'r';
		}
		if (bits & 2) {
			r->access[k++] = 'w';
		}
		if (bits & 4) {
			r->access[k++] = 'm';
		}
	}
}

/* Loads a program into the kernel (the verifier's verdict) and drops it. */
static int kernel_accepts(const struct bpf_insn *prog, size_t len)
{
	struct berr err = {0};
	int fd = devfilter_load(prog, len, &err);
	if (fd < 0) {
		fprintf(stderr, "BPF_PROG_LOAD refused %zu instructions: %s\n", len, err.msg);
		return 0;
	}
	close(fd);
	return 1;
}

static void test_devfilter_program_matches_model(void)
{
	struct berr err = {0};
	for (size_t i = 0; i < sizeof(decisions) / sizeof(decisions[0]); i++) {
		const struct decision *d = &decisions[i];
		if (i > 0 && d->rules == decisions[i - 1].rules) {
			continue;
		}
		struct bpf_insn *prog = NULL;
		size_t len = 0;
		CHECK_EQ_INT(devfilter_build(d->rules, d->n, &prog, &len, &err), 0);
		CHECK(filter_agrees(d->rules, d->n, prog, len));
		CHECK(kernel_accepts(prog, len));
		/* and the table's own requests, big numbers included */
		for (size_t j = i; j < sizeof(decisions) / sizeof(decisions[0]) && decisions[j].rules == d->rules;
		     j++) {
			const struct decision *q = &decisions[j];
			if (q->access == 0 || q->type == 'a') {
				continue;
			}
			int got = -1;
			CHECK_EQ_INT(run_filter(prog, len, q->type, q->major, q->minor, q->access, &got), 0);
			CHECK_EQ_INT(got, q->want);
		}
		free(prog);
	}

	/* Random rule lists: the program and the model agree on every request,
	 * and the verifier takes the program. */
	struct oci_device_rule rules[12];
	int agree = 1;
	int accepted = 1;
	for (int round = 0; round < 3000; round++) {
		size_t n = rng() % 13;
		random_rules(rules, n);
		struct bpf_insn *prog = NULL;
		size_t len = 0;
		if (devfilter_build(rules, n, &prog, &len, &err) < 0) {
			fprintf(stderr, "build: %s\n", err.msg);
			agree = 0;
			break;
		}
		if (!filter_agrees(rules, n, prog, len)) {
			fprintf(stderr, "round %d (%zu rules) disagrees\n", round, n);
			agree = 0;
		}
		if (round < 300 && !kernel_accepts(prog, len)) {
			accepted = 0;
		}
		free(prog);
		if (!agree || !accepted) {
			break;
		}
	}
	CHECK(agree);
	CHECK(accepted);
}

static void test_devfilter_large_list_loads(void)
{
	/* The most rules taken, all with partial access (the most branches
	 * per rule): the verifier must still finish. One more is refused. */
	size_t n = 4096;
	struct oci_device_rule *rules = calloc(n + 1, sizeof(*rules));
	CHECK(rules != NULL);
	if (rules == NULL) {
		return;
	}
	for (size_t i = 0; i < n + 1; i++) {
		rules[i].allow = (int)(i % 3 != 0);
		rules[i].type = i % 2 ? 'c' : 'b';
		rules[i].major = (int64_t)(i % 300);
		rules[i].minor = (int64_t)i;
		snprintf(rules[i].access, sizeof(rules[i].access), "%s", i % 3 == 0 ? "r" : i % 3 == 1 ? "wm" : "rw");
	}
	struct berr err = {0};
	struct bpf_insn *prog = NULL;
	size_t len = 0;
	CHECK_EQ_INT(devfilter_build(rules, n, &prog, &len, &err), 0);
	CHECK(len > n);
	CHECK(kernel_accepts(prog, len));
	free(prog);
	CHECK_EQ_INT(devfilter_build(rules, n + 1, &prog, &len, &err), -E2BIG);
	CHECK_STR_CONTAINS(err.msg, "4097 rules; the device filter takes at most 4096");
	free(rules);
}

static void test_devfilter_rejects_bad_rules(void)
{
	struct berr err = {0};
	struct bpf_insn *prog = NULL;
	size_t len = 0;
	struct oci_device_rule bad_type[] = {RULE(1, 'c', 1, 3, "r"), RULE(1, 'u', 1, 3, "r")};
	CHECK_EQ_INT(devfilter_build(bad_type, 2, &prog, &len, &err), -EINVAL);
	CHECK_STR_CONTAINS(err.msg, "linux.resources.devices[1].type: 'u' is not a, b or c");
	CHECK(prog == NULL && len == 0);
	struct oci_device_rule bad_access[] = {RULE(1, 'c', 1, 3, "rwx")};
	CHECK_EQ_INT(devfilter_build(bad_access, 1, &prog, &len, &err), -EINVAL);
	CHECK_STR_CONTAINS(err.msg, "devices[0].access: 'rwx'");
	struct oci_device_rule bad_major[] = {RULE(1, 'c', -2, 3, "r")};
	CHECK_EQ_INT(devfilter_build(bad_major, 1, &prog, &len, &err), -EINVAL);
	CHECK_STR_CONTAINS(err.msg, "devices[0].major: -2 is not a device number");
	struct oci_device_rule bad_minor[] = {RULE(1, 'c', 1, 4294967296LL, "r")};
	CHECK_EQ_INT(devfilter_build(bad_minor, 1, &prog, &len, &err), -EINVAL);

	/* an empty list denies everything, and still loads */
	CHECK_EQ_INT(devfilter_build(NULL, 0, &prog, &len, &err), 0);
	int got = -1;
	CHECK_EQ_INT(run_filter(prog, len, 'c', 1, 3, R, &got), 0);
	CHECK_EQ_INT(got, 0);
	CHECK(kernel_accepts(prog, len));
	free(prog);
}

int main(void)
{
	if (check_tmpdir(root) < 0) {
		return 2;
	}
	RUN(test_cpu_shares_to_weight);
	RUN(test_blkio_weight_to_io_weight);
	RUN(test_swap_conversion);
	RUN(test_path_resolve);
	RUN(test_create_enables_controllers_top_down);
	RUN(test_apply_writes_v2_files);
	RUN(test_apply_without_bfq);
	RUN(test_apply_limits_and_max);
	RUN(test_cpu_max_forms);
	RUN(test_write_errors_name_file_and_value);
	RUN(test_unsupported_settings_are_refused);
	RUN(test_unified);
	RUN(test_freeze);
	RUN(test_pids_are_recursive);
	RUN(test_signal_all);
	RUN(test_oom_kills);
	RUN(test_open_for_exec);
	RUN(test_destroy);
	RUN(test_devfilter_decide_table);
	RUN(test_devfilter_program_matches_model);
	RUN(test_devfilter_large_list_loads);
	RUN(test_devfilter_rejects_bad_rules);
	return check_summary();
}
