/* The hardware watchdog: /dev/watchdog (i6300esb in QEMU, iTCO, sp5100 and
 * the like on servers), opened once the disks and host.yaml are in place,
 * set to host.yaml's timeout and fed from init's event loop by a timer. If
 * init's loop stops turning (a hang in init, or the kernel), the board
 * resets the machine; on a trial boot GRUB's tries count does the rest.
 * Before it is opened (the kernel, init's disk checks, which may take long
 * on a large DATA) nothing watches: a slow e2fsck must not reset the host. */
#ifndef BERTH_INIT_WATCHDOG_H
#define BERTH_INIT_WATCHDOG_H

#include <stdint.h>

#include "lib/hostcfg.h"

/* Opens and arms the watchdog, unless host.yaml turns it off or there is
 * none; the loop must exist (loop_init). Logs what it did. */
void watchdog_start(const struct host_config *cfg);

/* At shutdown, when the loop no longer turns: the timeout becomes
 * budget_ms (a hung shutdown still ends in a reset), or, where the
 * hardware cannot wait that long, the watchdog is stopped. */
void watchdog_shutdown(uint32_t budget_ms);

#endif
