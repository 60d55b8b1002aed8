/* OCI hooks: each runs with the container's state JSON on stdin, its own
 * args and env, and an optional timeout after which it is killed. */
#ifndef BERTH_OCI_HOOKS_H
#define BERTH_OCI_HOOKS_H

#include "lib/berr.h"
#include "oci/config.h"

/* Runs the hooks of one kind in order; stops at the first that fails,
 * naming it ("createRuntime hook 2 (/usr/bin/x) exited with status 1"). */
int hooks_run(const struct oci_config *cfg, enum oci_hook_kind kind, const char *state_json, struct berr *err);

#endif
