/* Checking a config directory (see configcheck.h). */
#include "configcheck.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compose.h"
#include "fsutil.h"
#include "hostcfg.h"
#include "imagecheck.h"

int config_check(const char *dir)
{
	struct stat st;
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "berth config check: %s: %s\n", dir, errno ? strerror(errno) : "not a directory");
		return 1;
	}
	size_t errors = 0;
	char path[PATH_MAX];

	if (path_join(path, sizeof(path), dir, "compose.yaml") == 0 && access(path, F_OK) == 0) {
		int n = compose_check_dir(dir, NULL, 0, stdout);
		errors += n > 0 ? (size_t)n : (size_t)(n < 0);
	} else {
		printf("%s/compose.yaml: not present (no system containers)\n", dir);
	}

	if (path_join(path, sizeof(path), dir, "host.yaml") == 0 && access(path, F_OK) == 0) {
		struct host_config hc;
		hostcfg_defaults(&hc);
		hostcfg_load(&hc, path, "host.yaml");
		for (size_t i = 0; i < hc.nerrors; i++) {
			printf("%s\n", hc.errors[i]);
		}
		errors += hc.nerrors;
		hostcfg_free(&hc);
	}

	if (path_join(path, sizeof(path), dir, "images") == 0 && access(path, F_OK) == 0) {
		errors += (size_t)image_check_dir(path, stdout);
	}

	if (errors > 0) {
		printf("%s: %zu error%s\n", dir, errors, errors == 1 ? "" : "s");
		return 1;
	}
	printf("%s: OK\n", dir);
	return 0;
}
