/* CONFIG's generations: the configurations a host has run, kept on the
 * CONFIG partition itself so that `berth config apply` can replace one as
 * a whole and go back.
 *
 * On the partition: the files as flashed (berth-image set-config) are
 * generation 0, at its root. Generation N >= 1 is the directory
 * .berth/gen/N. The one in use is named by .berth/current ("N\n"),
 * replaced with write_file_atomic (file and directory synced), so a power
 * cut leaves the old name or the new one; a generation being written is
 * .berth/tmp/N and is never named before it is whole and synced. A name
 * that does not parse, or a generation that is missing, is an error the
 * caller reports, falling back to generation 0. A failed generation (put
 * back by a rollback) has .berth/gen/N.failed holding why.
 *
 * init mounts the partition at CONFIGGEN_PART_MOUNT and the generation in
 * use, read-only, at /config; everything else reads /config only.
 * .berth/previous names the generation that was in use before (for
 * `berth config rollback`), written before .berth/current changes. */
#ifndef BERTH_CONFIGGEN_H
#define BERTH_CONFIGGEN_H

#include <stddef.h>

#include "lib/berr.h"

#define CONFIGGEN_PART_MOUNT "/run/berth/config-part"
#define CONFIGGEN_DIR ".berth"
#define CONFIGGEN_GEN_DIR ".berth/gen"
#define CONFIGGEN_TMP_DIR ".berth/tmp"
#define CONFIGGEN_CURRENT ".berth/current"
#define CONFIGGEN_PREVIOUS ".berth/previous" /* the one in use before it */
#define CONFIGGEN_TRIAL ".berth/trial"	     /* on trial: its network change unconfirmed */
#define CONFIGGEN_MAX 999999
#define CONFIGGEN_KEEP 5 /* generations kept besides the one in use and the one before */

/* The generation named by .berth/current under partfd: 0 with *gen set
 * (0 when there is no such file), -EINVAL (bad content, err names the
 * file) or -ENOENT (its directory is missing). */
int configgen_current(int partfd, unsigned *gen, struct berr *err);

/* The generation in use before the current one (.berth/previous): 0 with
 * *gen set, -ENOENT when none is named or it is gone, -EINVAL. */
int configgen_previous(int partfd, unsigned *gen, struct berr *err);

/* The directory of generation gen relative to the partition's root:
 * "." for 0, ".berth/gen/N" otherwise. */
void configgen_path(unsigned gen, char *out, size_t size);

/* Generations present (0 and every complete N), ascending, at most max
 * of them into gens; *n how many. */
int configgen_list(int partfd, unsigned *gens, size_t max, size_t *n, struct berr *err);

/* Makes gen the one in use (atomically, synced). */
int configgen_set_current(int partfd, unsigned gen, struct berr *err);

/* Marks gen failed: .berth/gen/N.failed holds why (synced). */
int configgen_mark_failed(int partfd, unsigned gen, const char *why, struct berr *err);

/* A generation on trial changes the host's network: berth config apply
 * keeps it only once a new connection confirms the host is still
 * reachable. .berth/trial names it (synced) before .berth/current does
 * and goes once it is confirmed or put back, so that a host restarting
 * while .berth/current names the generation on trial comes back on the
 * one before (configgen_settle_trial). */
int configgen_trial_begin(int partfd, unsigned gen, struct berr *err);
int configgen_trial_end(int partfd, struct berr *err);

/* The generation on trial: 0 with *gen set, 1 when there is none,
 * -errno (err set) when .berth/trial is unreadable or names nothing. */
int configgen_trial(int partfd, unsigned *gen, struct berr *err);

/* At boot, the partition writable: when the generation in use is on trial
 * (a restart before its network change was confirmed), the one before is
 * put back in use and the trial marked failed. A trial naming another
 * generation (a cut before the switch or after the way back) is only
 * cleared. 1 when a generation was put back (*was: the trial's), 0 when
 * there was nothing to do, -errno with err set. */
int configgen_settle_trial(int partfd, unsigned *was, struct berr *err);

/* Parses a generation's decimal name ("12"); -EINVAL for anything else. */
int configgen_parse(const char *s, unsigned *gen);

#endif
