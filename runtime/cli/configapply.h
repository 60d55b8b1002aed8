/* berth config apply|diff|history|rollback|confirm: replacing the host's
 * whole configuration as one generation of CONFIG (lib/configgen.h),
 * checked first with the code of `berth config check`, applied like
 * `berth up`, and put back when a service does not become healthy.
 *
 *   apply [--no-rollback] [--timeout SECS] [--confirm-timeout SECS] DIR|-
 *                                                  (-: a tar on stdin)
 *   diff DIR|-                                     what apply would change
 *   history                                        the generations kept
 *   rollback [N]                                   back to N (default: the one before)
 *   confirm                                        the host is reachable with the new network
 *
 * A change of host.yaml's network goes on trial (as `netplan try`): a
 * process of its own switches, and keeps the generation only when a new
 * connection runs `berth config confirm` within --confirm-timeout
 * (default 120 s); else it puts the one before back (and so does the next
 * boot, should the host restart meanwhile).
 *
 * On the host; from the desk (remote.h) DIR is checked here first and
 * sent as a tar to the host's `berth config apply -`; a trial is
 * confirmed from the desk over a new ssh connection. */
#ifndef BERTH_CLI_CONFIGAPPLY_H
#define BERTH_CLI_CONFIGAPPLY_H

/* The host's apply or rollback left a trial running (--trial-detach). */
#define CONFIG_TRIAL_PENDING 3
/* berth config confirm came before the network changed: connect again. */
#define CONFIG_TRIAL_NOT_YET 75
/* berth config confirm came after the trial's time ran out. */
#define CONFIG_TRIAL_OVER 4

struct remote;

/* argv[0] is "config", argv[1] the subcommand. */
int configapply_main(int argc, char **argv);
int configapply_remote(const struct remote *r, int argc, char **argv);

#endif
