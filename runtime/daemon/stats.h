/* What `berth stats` and `berth top` show of a running container, read
 * from its cgroup (v2) and /proc: counters only, the CLI makes rates of
 * two samples (CPU %, as docker does). A container is found by its init's
 * pid: /proc/PID/cgroup names its group, /proc/PID/net its network
 * namespace. */
#ifndef BERTH_DAEMON_STATS_H
#define BERTH_DAEMON_STATS_H

#include <json-c/json.h>
#include <sys/types.h>

#include "lib/berr.h"

/* {"cpu_usec", "mem", "mem_limit", "pids", "blk_read", "blk_write",
 * "net_rx", "net_tx"}: bytes and microseconds. mem_limit is the host's
 * memory when the group has no limit. NULL with err set when the
 * container is gone. */
json_object *stats_read(pid_t pid, struct berr *err);

/* The container's processes: [{"pid", "ppid", "uid", "cpu_ms", "cmd"}]
 * (host pids, as docker top shows), from its group's cgroup.procs. */
json_object *stats_top(pid_t pid, struct berr *err);

/* Parses the group path out of /proc/PID/cgroup's text (the v2 line
 * "0::/path"); 0, or -EINVAL. For tests. */
int stats_cgroup_of(const char *text, char *out, size_t size);

/* Sums rbytes and wbytes over io.stat's lines. For tests. */
void stats_io(const char *text, long long *rbytes, long long *wbytes);

/* Sums received and sent bytes over /proc/net/dev's lines but lo's. For
 * tests. */
void stats_net(const char *text, long long *rx, long long *tx);

#endif
