/* Trial boots and the health gate. After an update GRUB boots the new slot
 * as a trial (berth.trial= on its command line, a few boots at most, see
 * lib/bootstate.h). init then marks it good once the host is healthy: init
 * up (this runs from its loop), CONFIG and DATA mounted from their
 * partitions, berthd up, and every system container with a healthcheck
 * healthy (berthd's status file, lib/healthfile.h), all within host.yaml's
 * updates.health_timeout. A gate that fails records why in the boot state
 * and reboots at once into the good slot; a trial whose boots ran out
 * (hangs, panics, watchdog resets) is recorded by the good slot's init on
 * its next boot. Every rollback reaches the host log of the slot that
 * takes over. Never blocks, never exits: the boot state is a few sectors
 * written from the loop. */
#ifndef BERTH_INIT_TRIAL_H
#define BERTH_INIT_TRIAL_H

#include "init/disks.h"
#include "lib/hostcfg.h"

/* Reads the boot state and acts on it: records a trial that ended, reports
 * a rollback, or starts the health gate on a trial boot. Needs the loop. */
void trial_boot_start(const struct host_config *cfg, const struct disks *d);

#endif
