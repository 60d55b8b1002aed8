/* berth machine (see machine.h). */
#include "cli/machine.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define MACHINE_PROGRAM "berth-machine"

/* berth-machine in the directory of this very binary (out/host/). */
static int beside_me(char *out, size_t size)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0) {
		return -1;
	}
	self[n] = '\0';
	char *slash = strrchr(self, '/');
	if (slash == NULL) {
		return -1;
	}
	*slash = '\0';
	int len = snprintf(out, size, "%s/%s", self, MACHINE_PROGRAM);
	return len < 0 || (size_t)len >= size ? -1 : 0;
}

int machine_main(int argc, char **argv)
{
	(void)argc;
	char path[PATH_MAX];
	if (beside_me(path, sizeof(path)) < 0 || access(path, X_OK) < 0) {
		fprintf(stderr,
			"berth machine: %s is not beside this berth: machines are made on the build machine, "
			"with out/host/berth\n",
			MACHINE_PROGRAM);
		return 1;
	}
	argv[0] = path;
	execv(path, argv);
	fprintf(stderr, "berth machine: %s: %s\n", path, strerror(errno));
	return 1;
}
