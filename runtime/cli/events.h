/* berth events: berthd's event stream (daemon/events.h) printed as docker
 * prints it, or as JSON lines; --since replays what berthd kept, --until
 * ends at once after it, --filter narrows it. */
#ifndef BERTH_CLI_EVENTS_H
#define BERTH_CLI_EVENTS_H

#include <stddef.h>
#include <stdint.h>

/* berth events [--since T] [--until T] [--filter KEY=VALUE]... [--format json];
 * argv[0] is "events". */
int events_main(int argc, char **argv);

/* A time as docker's --since takes it: Unix seconds (with a fraction),
 * a duration before now (90s, 10m, 2h), or RFC 3339 in UTC
 * (2026-12-06T07:40:00Z). *ns: nanoseconds since the epoch. -EINVAL. */
int events_parse_time(const char *text, int64_t now_ns, int64_t *ns);

/* One event (a JSON line of berthd's) as a line of text, docker's way:
 * "2026-12-06T07:40:01.123456789Z container start web (image=busybox,
 * name=web)". -EINVAL when the line is not an event. */
int events_format(const char *json_line, char *out, size_t size);

#endif
