/* From what the user declared to container definitions: compose.yaml (and
 * .env) of the config partition, applied at boot, on `berth up` and on
 * SIGHUP; and the options of `berth run`. Applying recreates only the
 * services whose definition changed, removes containers of services that
 * are gone, and starts what is declared. A file that does not parse
 * changes nothing that runs: at boot, the last good copy on DATA is used
 * instead, with a loud error. */
#ifndef BERTH_APPLY_H
#define BERTH_APPLY_H

#include <json-c/json.h>

#include "daemon/ctr.h"
#include "lib/berr.h"

/* Applies CONFIG/compose.yaml. report (may be NULL) gets "errors": [...],
 * "warnings", "created", "recreated", "unchanged", "removed". Returns 0,
 * or -1 when there were errors (what could be applied was). */
int apply_compose(json_object *report);

/* A pull brought an image in: applies the project again, without starting
 * the pulls of pull_policy: always (pulls.h calls this). */
void apply_after_pull(void);

/* A pull of ref failed: the services waiting for it say why (pulls.h). */
void apply_pull_failed(const char *ref);

/* The image mounts (under /run/berth/tmp) that a berthd killed while it
 * applied left behind: unmounted and removed. Only at start, before
 * anything is applied: nothing else mounts there. */
void apply_clean_tmp(void);

/* A definition for `berth run` from its request (image, cmd, entrypoint,
 * env, volumes, workdir, user, tty, stdin, rm, name, restart, ...). */
int apply_run_def(json_object *req, struct ctr_def *def, struct berr *err);

#endif
