/* Healthchecks: the service's test command run inside the running
 * container every interval (through `berth-oci exec`), killed at its
 * timeout; `retries` failures in a row make the container unhealthy,
 * failures within start_period do not count, one success makes it
 * healthy. The last results are kept for `berth inspect`. Docker's
 * defaults: interval 30 s, timeout 30 s, retries 3. */
#ifndef BERTH_HEALTH_H
#define BERTH_HEALTH_H

#include <stdint.h>

#include "daemon/ctr.h"

/* A new run: status "starting", first check one interval from now. */
void health_reset(struct ctr *c);

/* Starts a check that is due, or kills one past its timeout. */
void health_tick(struct ctr *c, int64_t now_ms);

/* The monotonic time health_tick should next run for c, or -1. */
int64_t health_deadline(const struct ctr *c);

/* The container ended: abandon a running check. */
void health_stop(struct ctr *c);

#endif
