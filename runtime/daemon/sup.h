/* Supervision: containers' lives under berthd. Starts a container through
 * its monitor once its dependencies allow, follows it to its end through
 * the monitor's pidfd and exit.json, restarts it by policy with backoff,
 * stops it with its stop signal and grace period, re-adopts containers
 * that outlived a berthd restart, and stops everything in reverse
 * dependency order at shutdown. */
#ifndef BERTH_SUP_H
#define BERTH_SUP_H

#include "daemon/ctr.h"
#include "lib/berr.h"

/* Follows the table's health events (dependencies on a healthy container). */
int sup_init(void);

/* Registers a new container with the definition (taken over; *def is
 * cleared). Fails when the name is taken. */
int sup_create(struct ctr_def *def, struct ctr **out, struct berr *err);

/* A compose service whose definition failed: listed with its error. */
void sup_note_failed(const char *name, const char *service, const char *error);

/* A service waits for its image (pulls.h): ps -a shows "Waiting: why";
 * a container of its last good definition, if any, goes on. */
void sup_note_waiting(const char *name, const char *service, const char *image, const char *why);

/* Asks for the container to run: at once, or when its dependencies are. */
int sup_start(struct ctr *c, struct berr *err);

/* Stops a running container (sig 0: its stop signal; grace_ms < 0: its
 * grace period), then does what after says. */
int sup_stop(struct ctr *c, int sig, int64_t grace_ms, enum ctr_after_stop after, struct berr *err);

/* Sends a signal to the container's init. */
int sup_kill(struct ctr *c, int sig, struct berr *err);

/* Removes a container that is not running: its record, upper directory and
 * log (named volumes stay). */
int sup_remove(struct ctr *c, struct berr *err);

/* Replaces a container's definition: stops it if needed, removes it,
 * creates and starts the new one. newdef is taken over. */
int sup_replace(struct ctr *c, struct ctr_def *newdef, struct berr *err);

/* Loads the records on DATA and re-adopts containers whose monitor is alive. */
void sup_adopt_all(void);

/* Runs what is due: restarts after backoff, SIGKILL after grace periods,
 * healthchecks. */
void sup_tick(void);

/* The earliest monotonic deadline of all containers, or -1. */
int64_t sup_next_deadline(void);

/* Starts containers whose dependencies have become ready. */
void sup_deps_changed(void);

/* Begins the ordered stop of everything; sup_all_stopped tells when done. */
void sup_shutdown(void);
int sup_all_stopped(void);

/* Status text as `berth ps` shows it ("Up 5 minutes (healthy)"). */
void sup_status_text(const struct ctr *c, char *out, size_t size);

#endif
