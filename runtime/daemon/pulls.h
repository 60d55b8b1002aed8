/* Images berthd pulls for compose services (pull_policy missing or
 * always): one forked child per image, so that the loop never waits on
 * the network; failed pulls are tried again with backoff (1 s doubling to
 * a minute) until they succeed, as a host booting before its network is
 * up needs. A service whose image is on its way waits, its state shown by
 * `berth ps -a`; services whose images are there start meanwhile. */
#ifndef BERTH_PULLS_H
#define BERTH_PULLS_H

#include <stddef.h>
#include <stdint.h>

/* changed: called from the loop when a pull has brought an image in (the
 * compose project is then applied again); failed: when a pull of ref has
 * failed (the services waiting for it show why). */
void pulls_init(void (*changed)(void), void (*failed)(const char *ref));

/* Starts pulling ref (a canonical name) unless a pull of it runs or waits
 * to be tried again. */
void pulls_start(const char *ref);

/* What a service waiting for ref shows: "pulling IMAGE (attempt N)", or
 * the last failure and when the next attempt comes. 0 when berthd knows no
 * pull of ref, 1 otherwise. */
int pulls_status(const char *ref, char *out, size_t size);

/* The loop's hooks: the next retry's monotonic deadline (-1: none), and
 * starting the retries that are due. */
int64_t pulls_next_deadline(void);
void pulls_tick(void);

#endif
