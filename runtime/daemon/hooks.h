/* Compose lifecycle hooks (post_start, pre_stop): each hook's command runs
 * in the container through `berth-oci exec`, one hook after the other.
 * post_start hooks start once the container runs. pre_stop hooks run when
 * it is asked to stop; its stop signal follows when they are done, or
 * when its grace period ends (then SIGKILL, as for any stop). A hook that
 * fails is logged and changes nothing else, as in Docker Compose. */
#ifndef BERTH_HOOKS_H
#define BERTH_HOOKS_H

#include "daemon/ctr.h"

/* The container runs: starts its post_start hooks. */
void hooks_post_start(struct ctr *c);

/* The container is to stop with signal sig: starts its pre_stop hooks and
 * returns 1 (the signal is sent when they end), or returns 0 when it has
 * none (the caller signals now). */
int hooks_pre_stop(struct ctr *c, int sig);

/* The container ended: its hooks are abandoned (killed). */
void hooks_stop(struct ctr *c);

#endif
