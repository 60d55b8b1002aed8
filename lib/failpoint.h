/* Test failpoints: named points in the update and boot-state code where a
 * test build stops dead, so that a QEMU test can cut the power there and
 * check what the disk holds. Armed by name only: BERTH_FAILPOINT=NAME in
 * the environment of `berth os`, or init's berth.failpoint= (see
 * init/trial.c); unarmed, a failpoint is a string compare. A reached
 * failpoint says so on the console (kernel log, warning level) and waits
 * forever without syncing anything: what was not on the disk yet is lost
 * with the power, as it would be. */
#ifndef BERTH_FAILPOINT_H
#define BERTH_FAILPOINT_H

/* Arms name (NULL or "": none). */
void failpoint_arm(const char *name);

/* Arms the failpoint named in $BERTH_FAILPOINT, if any. */
void failpoint_arm_from_env(void);

int failpoint_armed(const char *name);

/* Stops here forever when name is armed. */
void failpoint(const char *name);

#endif
