/* Test failpoints (see failpoint.h). */
#include "lib/failpoint.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/fsutil.h"

static char armed[64];

void failpoint_arm(const char *name)
{
	if (name == NULL || copy_string(armed, sizeof(armed), name) < 0) {
		armed[0] = '\0';
	}
}

void failpoint_arm_from_env(void)
{
	failpoint_arm(getenv("BERTH_FAILPOINT"));
}

int failpoint_armed(const char *name)
{
	return armed[0] != '\0' && strcmp(armed, name) == 0;
}

void failpoint(const char *name)
{
	if (!failpoint_armed(name)) {
		return;
	}
	char msg[128];
	int n = snprintf(msg, sizeof(msg), "<4>berth: failpoint %s reached\n", name);
	int fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC | O_NOCTTY);
	if (fd >= 0) {
		write_all(fd, msg, (size_t)n);
		close(fd);
	}
	fprintf(stderr, "%s", msg + 3);
	fflush(stderr);
	for (;;) {
		pause();
	}
}
