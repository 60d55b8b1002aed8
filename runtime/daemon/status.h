/* berthd's status for init's health gate (lib/healthfile.h): whether
 * berthd is ready, and which system containers with a healthcheck are not
 * healthy yet. Rewritten whenever a container's state or health changes
 * (an observer of the container table); init reads it while a new OS
 * version is on its trial boot (init/trial.c). */
#ifndef BERTH_DAEMON_STATUS_H
#define BERTH_DAEMON_STATUS_H

/* Starts observing the table and writes "starting". */
int status_init(void);

/* compose.yaml has been applied: from now on "ready". */
void status_ready(void);

/* berthd will not run: written for the gate before berthd exits. */
void status_refused(const char *why);

#endif
