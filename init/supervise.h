/* Supervised services: a small declarative table, each service started
 * with a clean process state, restarted by the policy in restart.h when it
 * exits, and stopped in reverse order at shutdown. */
#ifndef BERTH_INIT_SUPERVISE_H
#define BERTH_INIT_SUPERVISE_H

#include <stdint.h>
#include <sys/types.h>

/* Prepares the table; console is the terminal for console services. */
void svc_init(const char *console);

void svc_start_all(uint64_t now_ms);

/* Handles the exit of a child; returns 1 when it was a service. */
int svc_child_exited(pid_t pid, int status, uint64_t now_ms);

/* Milliseconds until the next scheduled restart, or -1 for none. */
int svc_timeout_ms(uint64_t now_ms);

/* Starts the services whose restart time has come. */
void svc_tick(uint64_t now_ms);

/* Stops every service, last started first: its stop signal, then SIGKILL at
 * deadline_ms. No restarts afterwards. */
void svc_stop_all(uint64_t deadline_ms);

#endif
