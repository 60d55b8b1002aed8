/* berth events (see events.h). */
#include "cli/events.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/client.h"

#define NS_PER_S 1000000000LL

/* The nanoseconds of ".123..." at *p (nothing when *p is not '.'); *p
 * moves past the digits. */
static int64_t fraction_ns(const char **p)
{
	int64_t frac = 0;
	int64_t scale = NS_PER_S;
	if (**p != '.') {
		return 0;
	}
	for ((*p)++; **p >= '0' && **p <= '9'; (*p)++) {
		scale /= 10;
		frac += (**p - '0') * scale;
	}
	return frac;
}

static int parse_rfc3339(const char *text, int64_t *ns)
{
	struct tm tm = {0};
	const char *rest = strptime(text, "%Y-%m-%dT%H:%M:%S", &tm);
	if (rest == NULL) {
		return -EINVAL;
	}
	int64_t frac = fraction_ns(&rest);
	if (strcmp(rest, "Z") != 0) {
		return -EINVAL;
	}
	time_t t = timegm(&tm);
	*ns = (int64_t)t * NS_PER_S + frac;
	return 0;
}

int events_parse_time(const char *text, int64_t now_ns, int64_t *ns)
{
	char *end = NULL;
	if (text[0] < '0' || text[0] > '9') {
		return -EINVAL;
	}
	errno = 0;
	long long whole = strtoll(text, &end, 10);
	if (errno != 0 || whole > 4000000000LL) {
		return -EINVAL;
	}
	static const struct {
		char unit;
		int64_t ns;
	} units[] = {{'s', NS_PER_S}, {'m', 60 * NS_PER_S}, {'h', 3600 * NS_PER_S}};
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (end[0] == units[i].unit && end[1] == '\0') {
			if (whole > now_ns / units[i].ns) {
				return -EINVAL; /* before the epoch */
			}
			*ns = now_ns - whole * units[i].ns;
			return 0;
		}
	}
	if (*end == '\0' || *end == '.') {
		const char *rest = end;
		int64_t frac = fraction_ns(&rest);
		if (*rest != '\0') {
			return -EINVAL;
		}
		*ns = whole * NS_PER_S + frac;
		return 0;
	}
	return parse_rfc3339(text, ns);
}

static const char *attr(json_object *attrs, const char *key)
{
	return json_str(attrs, key);
}

int events_format(const char *json_line, char *out, size_t size)
{
	json_object *o = json_tokener_parse(json_line);
	json_object *actor = json_member(o, "Actor");
	json_object *attrs = json_member(actor, "Attributes");
	const char *type = json_str(o, "Type");
	const char *action = json_str(o, "Action");
	if (o == NULL || attrs == NULL || type == NULL || action == NULL) {
		json_object_put(o);
		return -EINVAL;
	}
	int64_t ns = json_int(o, "timeNano");
	time_t secs = (time_t)(ns / NS_PER_S);
	struct tm tm;
	char when[40];
	gmtime_r(&secs, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	char extra[64] = "";
	json_object *code = json_member(attrs, "exitCode");
	if (code != NULL) {
		snprintf(extra, sizeof(extra), ", exitCode=%d", json_object_get_int(code));
	}
	const char *error = attr(attrs, "error");
	snprintf(out, size, "%s.%09lldZ %s %s %s (image=%s, name=%s%s%s%s)", when, (long long)(ns % NS_PER_S), type,
		 action, json_str(actor, "ID") != NULL ? json_str(actor, "ID") : "", attr(attrs, "image"),
		 attr(attrs, "name"), extra, error != NULL ? ", error=" : "", error != NULL ? error : "");
	json_object_put(o);
	return 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: berth events [--since TIME] [--until TIME] [--filter KEY=VALUE]... [--format json]\n"
			"       KEY: container, event, image, type; TIME: Unix seconds, 10m, 2h, or "
			"2026-12-06T07:40:00Z\n");
	return 1;
}

static int add_filter(json_object *filters, const char *spec)
{
	const char *eq = strchr(spec, '=');
	static const char *const keys[] = {"container", "event", "image", "type"};
	for (size_t i = 0; eq != NULL && eq[1] != '\0' && i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (strlen(keys[i]) == (size_t)(eq - spec) && strncmp(spec, keys[i], (size_t)(eq - spec)) == 0) {
			json_object *list = json_member(filters, keys[i]);
			if (list == NULL) {
				list = json_object_new_array();
				json_object_object_add(filters, keys[i], list);
			}
			json_object_array_add(list, json_object_new_string(eq + 1));
			return 0;
		}
	}
	fprintf(stderr, "berth events: --filter %s: KEY=VALUE with KEY container, event, image or type\n", spec);
	return -1;
}

/* The reader: berthd's JSON lines from the pipe to stdout, as they come. */
static int print_events(int fd, int json)
{
	FILE *in = fdopen(fd, "r");
	if (in == NULL) {
		return 1;
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	char text[8192];
	while ((n = getline(&line, &cap, in)) > 0) {
		if (json) {
			fputs(line, stdout);
		} else if (events_format(line, text, sizeof(text)) == 0) {
			printf("%s\n", text);
		}
		fflush(stdout);
	}
	free(line);
	fclose(in);
	return 0;
}

static int parse_args(int argc, char **argv, json_object *req, int *json)
{
	static const struct option longopts[] = {
		{"since", required_argument, NULL, 's'},
		{"until", required_argument, NULL, 'u'},
		{"filter", required_argument, NULL, 'f'},
		{"format", required_argument, NULL, 'F'},
		{NULL, 0, NULL, 0},
	};
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	int64_t now_ns = (int64_t)now.tv_sec * NS_PER_S + now.tv_nsec;
	json_object *filters = json_object_new_object();
	json_object_object_add(req, "filters", filters);
	int opt;
	while ((opt = getopt_long(argc, argv, "+f:", longopts, NULL)) != -1) {
		int64_t ns = 0;
		if ((opt == 's' || opt == 'u') && events_parse_time(optarg, now_ns, &ns) < 0) {
			fprintf(stderr,
				"berth events: --%s %s: Unix seconds, a duration (10m, 2h) or 2026-12-06T07:40:00Z\n",
				opt == 's' ? "since" : "until", optarg);
			return -1;
		}
		if (opt == 's' || opt == 'u') {
			json_object_object_add(req, opt == 's' ? "since" : "until",
					       json_object_new_int64(ns > 0 ? ns : 1));
		} else if (opt == 'f') {
			if (add_filter(filters, optarg) < 0) {
				return -1;
			}
		} else if (opt == 'F' && strcmp(optarg, "json") == 0) {
			*json = 1;
		} else {
			return usage(), -1;
		}
	}
	return optind == argc ? 0 : (usage(), -1);
}

int events_main(int argc, char **argv)
{
	json_object *req = client_req("events");
	int json = 0;
	if (parse_args(argc, argv, req, &json) < 0) {
		json_object_put(req);
		return 1;
	}
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		json_object_put(req);
		fprintf(stderr, "berth events: pipe: %s\n", strerror(errno));
		return 1;
	}
	/* A child prints while the request waits for berthd's answer, which
	 * comes only when the stream ends. */
	pid_t printer = fork();
	if (printer < 0) {
		json_object_put(req);
		fprintf(stderr, "berth events: fork: %s\n", strerror(errno));
		return 1;
	}
	if (printer == 0) {
		close(p[1]);
		_exit(print_events(p[0], json));
	}
	close(p[0]);
	json_object *resp = NULL;
	int ret = client_call_io("events", req, &p[1], "o", 1, &resp);
	json_object_put(resp);
	close(p[1]);
	int status = 0;
	while (waitpid(printer, &status, 0) < 0 && errno == EINTR) {
	}
	return ret < 0 ? 1 : 0;
}
