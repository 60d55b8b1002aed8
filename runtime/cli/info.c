/* berth info (see info.h). Reads only files: works without berthd. */
#include "cli/info.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lib/fsutil.h"

#define METADATA "/run/berth/metadata"

int cmd_info(int argc, char **argv)
{
	(void)argv;
	if (argc > 1) {
		fprintf(stderr, "usage: berth info\n");
		return 1;
	}
	char host[256] = "";
	gethostname(host, sizeof(host) - 1);
	printf("berth %s\nhostname: %s\n", BERTH_VERSION, host);
	char cmdline[4096];
	if (read_file("/proc/cmdline", cmdline, sizeof(cmdline), NULL) > 0) {
		const char *slot = strstr(cmdline, "berth.slot=");
		if (slot != NULL) {
			printf("boot slot: %.1s\n", slot + strlen("berth.slot="));
		}
	}
	char meta[16384];
	if (read_file(METADATA, meta, sizeof(meta), NULL) > 0) {
		printf("cloud metadata:\n");
		for (char *line = strtok(meta, "\n"); line != NULL; line = strtok(NULL, "\n")) {
			printf("  %s\n", line);
		}
	} else {
		printf("cloud metadata: not read (not a Berth host, or init is older)\n");
	}
	return 0;
}
