/* berth stats, top and system df: what berthd reads of running
 * containers' cgroups (daemon/stats.h) and of DATA (daemon/df.h), shown
 * as docker shows it. */
#ifndef BERTH_CLI_STATS_H
#define BERTH_CLI_STATS_H

#include <stddef.h>

/* berth stats [--no-stream] [--format json] [NAME...]; argv[0] is "stats". */
int stats_main(int argc, char **argv);

/* berth system df [-v] [--format json]; argv[0] is "df". */
int df_main(int argc, char **argv);

/* berth top NAME; argv[0] is "top". */
int top_main(int argc, char **argv);

/* "12.3MiB" (binary units, as docker's memory column) into out. */
void stats_binary_size(long long bytes, char *out, size_t size);

/* CPU % between two samples: of one CPU, as docker reports it (200% is
 * two CPUs busy). */
double stats_cpu_percent(long long usec_before, long long usec_after, long long wall_usec);

#endif
