/* Early boot: the API filesystems, /run and /tmp, cgroup2, and the few
 * kernel settings init needs before anything else runs. Runs in PID 1
 * before the event loop: reports what failed and carries on. */
#ifndef BERTH_INIT_EARLY_H
#define BERTH_INIT_EARLY_H

/* Mounts proc, sys, dev, devpts, shm, run, tmp and cgroup2 and makes the
 * root shared. Returns the number of steps that failed (already logged to
 * the console, since the kernel log may not be open yet). */
int early_mounts(void);

/* Settings that need /proc: an unthrottled kernel log for init's messages. */
void early_settings(void);

#endif
