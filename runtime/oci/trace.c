/* Timing marks (see trace.h). */
#include "oci/trace.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>

int oci_trace_on;
static struct timespec started;

void oci_trace_start(void)
{
	clock_gettime(CLOCK_MONOTONIC, &started);
}

void oci_trace(const char *what)
{
	if (!oci_trace_on) {
		return;
	}
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	long us = (now.tv_sec - started.tv_sec) * 1000000L + (now.tv_nsec - started.tv_nsec) / 1000L;
	char line[160];
	int n = snprintf(line, sizeof(line), "berth-oci[%d]: %6ld us: %s\n", (int)getpid(), us, what);
	if (n > 0) {
		(void)!write(STDERR_FILENO, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
	}
}
