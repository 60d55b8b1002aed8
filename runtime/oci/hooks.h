/* OCI hooks: each runs with the container's state JSON on stdin, its own
 * args and env, and an optional timeout after which it is killed. */
#ifndef BERTH_OCI_HOOKS_H
#define BERTH_OCI_HOOKS_H

#include "lib/berr.h"
#include "oci/config.h"

/* Runs the hooks of one kind in order; stops at the first that fails,
 * naming it ("createRuntime hook 2 (/usr/bin/x) exited with status 1"). */
int hooks_run(const struct oci_config *cfg, enum oci_hook_kind kind, const char *state_json, struct berr *err);

/* Runs every hook of one kind, in order, whatever the earlier ones did, as
 * the spec has it for poststart and poststop (a failure there is a warning
 * and does not stop the rest). Each failure goes to warn; returns how many
 * failed. */
int hooks_run_all(const struct oci_config *cfg, enum oci_hook_kind kind, const char *state_json,
		  void (*warn)(const char *msg));

#endif
