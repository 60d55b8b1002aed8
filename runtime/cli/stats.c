/* berth stats and berth top (see stats.h). */
#include "cli/stats.h"

#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/client.h"

#define STATS_INTERVAL_MS 1000
#define STATS_MAX 256

/* bytes in units of base (1024: KiB, MiB...; 1000: kB, MB...). */
static void scaled_size(long long bytes, int base, char *out, size_t size)
{
	static const char *const binary[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	static const char *const decimal[] = {"B", "kB", "MB", "GB", "TB"};
	const char *const *units = base == 1024 ? binary : decimal;
	double v = (double)bytes;
	size_t u = 0;
	while (v >= base && u + 1 < 5) {
		v /= base;
		u++;
	}
	snprintf(out, size, u == 0 ? "%.0f%s" : base == 1024 ? "%.2f%s" : "%.3g%s", v, units[u]);
}

void stats_binary_size(long long bytes, char *out, size_t size)
{
	scaled_size(bytes, 1024, out, size);
}

/* Network and block I/O in decimal units, as docker shows them. */
static void decimal_size(long long bytes, char *out, size_t size)
{
	scaled_size(bytes, 1000, out, size);
}

double stats_cpu_percent(long long usec_before, long long usec_after, long long wall_usec)
{
	if (wall_usec <= 0 || usec_after < usec_before) {
		return 0.0;
	}
	return (double)(usec_after - usec_before) * 100.0 / (double)wall_usec;
}

static long long now_usec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* One sample: berthd's answer (owned by the caller) and when it came. */
static json_object *sample(char **names, int n, long long *when)
{
	json_object *req = client_req("stats");
	json_object *list = json_object_new_array();
	for (int i = 0; i < n; i++) {
		json_object_array_add(list, json_object_new_string(names[i]));
	}
	json_object_object_add(req, "names", list);
	json_object *resp = client_fetch("stats", req);
	*when = now_usec();
	return resp;
}

static json_object *entries(json_object *resp)
{
	return json_member(resp, "stats");
}

static json_object *find_entry(json_object *list, const char *name)
{
	for (size_t i = 0; list != NULL && i < json_object_array_length(list); i++) {
		json_object *o = json_object_array_get_idx(list, i);
		const char *n = json_str(o, "name");
		if (n != NULL && strcmp(n, name) == 0) {
			return o;
		}
	}
	return NULL;
}

static void print_row(json_object *o, double cpu, int json)
{
	long long mem = json_int(o, "mem");
	long long limit = json_int(o, "mem_limit");
	double mem_pct = limit > 0 ? (double)mem * 100.0 / (double)limit : 0.0;
	if (json) {
		json_object *row = json_object_get(o);
		json_object_object_add(row, "cpu_percent", json_object_new_double(cpu));
		json_object_object_add(row, "mem_percent", json_object_new_double(mem_pct));
		printf("%s\n", json_object_to_json_string_ext(row, JSON_C_TO_STRING_PLAIN));
		json_object_put(row);
		return;
	}
	char m[32];
	char l[32];
	char rx[32];
	char tx[32];
	char br[32];
	char bw[32];
	char usage[72];
	char net[72];
	char blk[72];
	stats_binary_size(mem, m, sizeof(m));
	stats_binary_size(limit, l, sizeof(l));
	decimal_size(json_int(o, "net_rx"), rx, sizeof(rx));
	decimal_size(json_int(o, "net_tx"), tx, sizeof(tx));
	decimal_size(json_int(o, "blk_read"), br, sizeof(br));
	decimal_size(json_int(o, "blk_write"), bw, sizeof(bw));
	snprintf(usage, sizeof(usage), "%s / %s", m, l);
	snprintf(net, sizeof(net), "%s / %s", rx, tx);
	snprintf(blk, sizeof(blk), "%s / %s", br, bw);
	printf("%-20s %-8.2f %-22s %-8.2f %-20s %-20s %lld\n", json_str(o, "name"), cpu, usage, mem_pct, net, blk,
	       (long long)json_int(o, "pids"));
}

static void print_table(json_object *before, long long t0, json_object *after, long long t1, int json)
{
	json_object *list = entries(after);
	if (!json) {
		printf("%-20s %-8s %-22s %-8s %-20s %-20s %s\n", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %",
		       "NET I/O", "BLOCK I/O", "PIDS");
	}
	for (size_t i = 0; list != NULL && i < json_object_array_length(list); i++) {
		json_object *o = json_object_array_get_idx(list, i);
		json_object *prev = find_entry(entries(before), json_str(o, "name"));
		double cpu = prev != NULL
				     ? stats_cpu_percent(json_int(prev, "cpu_usec"), json_int(o, "cpu_usec"), t1 - t0)
				     : 0.0;
		print_row(o, cpu, json);
	}
	fflush(stdout);
}

int stats_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"no-stream", no_argument, NULL, 'n'},
		{"format", required_argument, NULL, 'f'},
		{NULL, 0, NULL, 0},
	};
	int stream = 1;
	int json = 0;
	int opt;
	while ((opt = getopt_long(argc, argv, "+", longopts, NULL)) != -1) {
		if (opt == 'n') {
			stream = 0;
		} else if (opt == 'f' && strcmp(optarg, "json") == 0) {
			json = 1;
		} else {
			fprintf(stderr, "usage: berth stats [--no-stream] [--format json] [NAME...]\n");
			return 1;
		}
	}
	long long t0 = 0;
	json_object *before = sample(argv + optind, argc - optind, &t0);
	if (before == NULL) {
		return 1;
	}
	for (;;) {
		struct timespec ts = {STATS_INTERVAL_MS / 1000, (STATS_INTERVAL_MS % 1000) * 1000000L};
		nanosleep(&ts, NULL);
		long long t1 = 0;
		json_object *after = sample(argv + optind, argc - optind, &t1);
		if (after == NULL) {
			json_object_put(before);
			return 1;
		}
		if (stream && !json && isatty(STDOUT_FILENO)) {
			printf("\033[2J\033[H");
		}
		print_table(before, t0, after, t1, json);
		json_object_put(before);
		before = after;
		t0 = t1;
		if (!stream) {
			json_object_put(before);
			return 0;
		}
	}
}

int top_main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: berth top NAME\n");
		return 1;
	}
	json_object *req = client_req("top");
	json_object_object_add(req, "name", json_object_new_string(argv[1]));
	json_object *resp = client_fetch("top", req);
	if (resp == NULL) {
		return 1;
	}
	json_object *list = json_member(resp, "processes");
	printf("%-8s %-8s %-8s %-10s %s\n", "UID", "PID", "PPID", "TIME", "CMD");
	for (size_t i = 0; list != NULL && i < json_object_array_length(list); i++) {
		json_object *p = json_object_array_get_idx(list, i);
		long long cs = json_int(p, "cpu_ms") / 1000;
		char time_s[32];
		snprintf(time_s, sizeof(time_s), "%lld:%02lld:%02lld", cs / 3600, cs / 60 % 60, cs % 60);
		printf("%-8lld %-8lld %-8lld %-10s %s\n", (long long)json_int(p, "uid"), (long long)json_int(p, "pid"),
		       (long long)json_int(p, "ppid"), time_s, json_str(p, "cmd"));
	}
	json_object_put(resp);
	return 0;
}

static void df_row(const char *type, json_object *r)
{
	char size[32];
	char free_[32];
	long long bytes = json_int(r, "size");
	long long reclaim = json_int(r, "reclaimable");
	decimal_size(bytes, size, sizeof(size));
	decimal_size(reclaim, free_, sizeof(free_));
	printf("%-16s %-8lld %-8lld %-12s %s (%lld%%)\n", type, (long long)json_int(r, "total"),
	       (long long)json_int(r, "active"), size, free_, bytes > 0 ? reclaim * 100 / bytes : 0LL);
}

int df_main(int argc, char **argv)
{
	int verbose = 0;
	int json = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-v") == 0 || strcmp(argv[i], "--verbose") == 0) {
			verbose = 1;
		} else if ((strcmp(argv[i], "--format") == 0 && i + 1 < argc && strcmp(argv[++i], "json") == 0) ||
			   strcmp(argv[i], "--format=json") == 0) {
			json = 1;
		} else {
			fprintf(stderr, "usage: berth system df [-v] [--format json]\n");
			return 1;
		}
	}
	json_object *resp = client_fetch("system df", client_req("df"));
	if (resp == NULL) {
		return 1;
	}
	if (json) {
		json_object_object_del(resp, "ok");
		printf("%s\n", json_object_to_json_string_ext(resp, JSON_C_TO_STRING_PLAIN));
		json_object_put(resp);
		return 0;
	}
	printf("%-16s %-8s %-8s %-12s %s\n", "TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE");
	static const char *const keys[][2] = {
		{"images", "Images"}, {"containers", "Containers"}, {"volumes", "Volumes"}};
	for (size_t i = 0; i < 3; i++) {
		json_object *r = NULL;
		if (json_object_object_get_ex(resp, keys[i][0], &r)) {
			df_row(keys[i][1], r);
		}
	}
	json_object *sizes = NULL;
	if (verbose && json_object_object_get_ex(resp, "volume_sizes", &sizes)) {
		printf("\n%-40s %s\n", "VOLUME NAME", "SIZE");
		json_object_object_foreach(sizes, name, v)
		{
			char size[32];
			decimal_size(json_object_get_int64(v), size, sizeof(size));
			printf("%-40s %s\n", name, size);
		}
	}
	json_object_put(resp);
	return 0;
}
