/* berth config apply|diff|history|rollback: replacing the host's whole
 * configuration as one generation of CONFIG (lib/configgen.h), checked
 * first with the code of `berth config check`, applied like `berth up`,
 * and put back when a service does not become healthy.
 *
 *   apply [--no-rollback] [--timeout SECS] DIR|-   (-: a tar on stdin)
 *   diff DIR|-                                     what apply would change
 *   history                                        the generations kept
 *   rollback [N]                                   back to N (default: the one before)
 *
 * On the host; from the desk (remote.h) DIR is checked here first and
 * sent as a tar to the host's `berth config apply -`. */
#ifndef BERTH_CLI_CONFIGAPPLY_H
#define BERTH_CLI_CONFIGAPPLY_H

struct remote;

/* argv[0] is "config", argv[1] the subcommand. */
int configapply_main(int argc, char **argv);
int configapply_remote(const struct remote *r, int argc, char **argv);

#endif
