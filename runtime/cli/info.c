/* berth info (see info.h). Reads only files: works without berthd. */
#include "cli/info.h"

#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "lib/fsutil.h"

#define METADATA "/run/berth/metadata"
#define DATA_MOUNT "/data"
/* Written by init: why DATA is a tmpfs, and how it failed while the host ran. */
#define DATA_FALLBACK "/run/berth/data-fallback"
#define DATA_FAILED "/run/berth/data-failed"

/* What DATA holds room for, and what is wrong with it. */
static void print_data(void)
{
	char why[256];
	if (read_file(DATA_FALLBACK, why, sizeof(why), NULL) > 0) {
		why[strcspn(why, "\n")] = '\0';
		printf("data: UNUSABLE (%s): %s is in memory, nothing written there survives a reboot\n", why,
		       DATA_MOUNT);
		return;
	}
	if (read_file(DATA_FAILED, why, sizeof(why), NULL) > 0) {
		why[strcspn(why, "\n")] = '\0';
		printf("data: FAILED: it %s\n", why);
		return;
	}
	struct statvfs st;
	if (statvfs(DATA_MOUNT, &st) < 0) {
		return;
	}
	unsigned long long mib = 1024 * 1024;
	printf("data: %s, %llu MiB free of %llu MiB%s\n", DATA_MOUNT,
	       (unsigned long long)st.f_bavail * st.f_frsize / mib, (unsigned long long)st.f_blocks * st.f_frsize / mib,
	       st.f_bavail == 0 ? " (FULL)" : "");
}

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
	print_data();
	return 0;
}
