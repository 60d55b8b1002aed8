/* berth stats' readers of cgroup and /proc text, and its figures. */
#include <errno.h>
#include <string.h>

#include "check.h"
#include "cli/stats.h"
#include "daemon/stats.h"

static void test_cgroup_line(void)
{
	char out[256];
	CHECK_EQ_INT(stats_cgroup_of("0::/berth/web\n", out, sizeof(out)), 0);
	CHECK(strcmp(out, "/berth/web") == 0);
	CHECK_EQ_INT(stats_cgroup_of("1:name=systemd:/x\n0::/berth/a/b\n", out, sizeof(out)), 0);
	CHECK(strcmp(out, "/berth/a/b") == 0);
	CHECK_EQ_INT(stats_cgroup_of("1:cpu:/x\n", out, sizeof(out)), -EINVAL);
	CHECK_EQ_INT(stats_cgroup_of("0::/../../etc\n", out, sizeof(out)), -EINVAL);
	CHECK_EQ_INT(stats_cgroup_of("0::relative\n", out, sizeof(out)), -EINVAL);
	CHECK_EQ_INT(stats_cgroup_of("", out, sizeof(out)), -EINVAL);
	CHECK_EQ_INT(stats_cgroup_of("0::/a-very-long-path\n", out, 8), -EINVAL);
}

static void test_io_and_net(void)
{
	long long r;
	long long w;
	stats_io("254:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n"
		 "8:0 rbytes=100 wbytes=1 rios=1 wios=1 dbytes=7 dios=0\n",
		 &r, &w);
	CHECK_EQ_INT(r, 4196);
	CHECK_EQ_INT(w, 8193);
	stats_io("", &r, &w);
	CHECK_EQ_INT(r + w, 0);
	long long rx;
	long long tx;
	stats_net("Inter-|   Receive                                                |  Transmit\n"
		  " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo "
		  "colls carrier compressed\n"
		  "    lo:  999 9 0 0 0 0 0 0  999 9 0 0 0 0 0 0\n"
		  "  eth0: 1500 10 0 0 0 0 0 0  700 5 0 0 0 0 0 0\n"
		  "  eth1: 500 1 0 0 0 0 0 0  300 5 0 0 0 0 0 0\n",
		  &rx, &tx);
	CHECK_EQ_INT(rx, 2000);
	CHECK_EQ_INT(tx, 1000);
}

static void test_figures(void)
{
	char out[32];
	stats_binary_size(64LL << 20, out, sizeof(out));
	CHECK(strcmp(out, "64.00MiB") == 0);
	stats_binary_size(512, out, sizeof(out));
	CHECK(strcmp(out, "512B") == 0);
	CHECK(stats_cpu_percent(0, 1000000, 1000000) > 99.9);
	CHECK(stats_cpu_percent(0, 2000000, 1000000) > 199.9);
	CHECK(stats_cpu_percent(5, 1, 1000000) == 0.0);
	CHECK(stats_cpu_percent(0, 1, 0) == 0.0);
}

int main(void)
{
	RUN(test_cgroup_line);
	RUN(test_io_and_net);
	RUN(test_figures);
	return check_summary();
}
