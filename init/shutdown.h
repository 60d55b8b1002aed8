/* Bringing the host down: every process asked to stop, then killed, the
 * filesystems synced and unmounted (or remounted read-only), and reboot(2)
 * called from a child. Bounded in time: a process that ignores SIGTERM
 * holds the host for the grace period and no longer. */
#ifndef BERTH_INIT_SHUTDOWN_H
#define BERTH_INIT_SHUTDOWN_H

#include <stdint.h>

enum shutdown_action {
	SHUTDOWN_POWEROFF,
	SHUTDOWN_REBOOT,
	SHUTDOWN_HALT,
};

#define SHUTDOWN_GRACE_MS 5000u
/* All services together, each within its own grace period (berthd's is
 * long: it stops containers one dependency level at a time). */
#define SHUTDOWN_SERVICES_MAX_MS 180000u
#define SHUTDOWN_KILL_WAIT_MS 2000u

const char *shutdown_action_name(enum shutdown_action action);

/* Signals every process but init, waits until they are gone or until
 * deadline_ms (CLOCK_MONOTONIC), reaping them. Returns 1 when none is left. */
int shutdown_signal_all(int sig, uint64_t deadline_ms);

/* The whole sequence; does not return. */
__attribute__((noreturn)) void shutdown_run(enum shutdown_action action);

#endif
