/* `berth os`: the host's OS updates (docs/updates.md).
 *
 *   berth os update [--no-reboot] [--force] FILE|-   install a bundle into
 *        the inactive slot and reboot into it for a trial boot
 *   berth os status                                  both slots, the trial,
 *        the last rollback and why
 *   berth os rollback [--no-reboot] [--force]        boot the other slot
 *        (as a trial of its own)
 *   berth os verify [--keys DIR] FILE                check a bundle, write
 *        nothing (also on the build machine)
 *
 * Depends on lib/ only; the CLI's command table calls osupdate_main. */
#ifndef BERTH_OSUPDATE_H
#define BERTH_OSUPDATE_H

#define TRUSTED_KEYS_DIR "/etc/berth/update-keys"

/* argv[0] is "os". Returns the exit code. */
int osupdate_main(int argc, char **argv);

#endif
