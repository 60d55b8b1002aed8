/* The wall clock and the real-time clock (RTC). At boot: where the time
 * comes from (the RTC, or the image's build time when there is no usable
 * RTC, so that certificates are not all "not yet valid") and how far that
 * moved the clock. Later: the RTC written back once NTP has synchronised
 * (BusyBox ntpd runs this binary as /usr/libexec/berth/ntp-event, its -S
 * hook) and at shutdown, so that the next boot starts from a good time.
 * The RTC is kept in UTC. Runs in PID 1 (and in the hook): every failure
 * is a log line, nothing waits. */
#ifndef BERTH_INIT_CLOCK_H
#define BERTH_INIT_CLOCK_H

#include <time.h>

#define CLOCK_RTC_DEVICE "/dev/rtc0"
#define CLOCK_NTP_HOOK "/usr/libexec/berth/ntp-event"

enum clock_source {
	CLOCK_KEPT_RTC,	   /* the kernel had read the RTC already; they agree */
	CLOCK_SET_RTC,	   /* set from the RTC */
	CLOCK_KEPT_KERNEL, /* no usable RTC; the kernel's time is plausible (a hypervisor's clock) */
	CLOCK_SET_BUILD,   /* nothing better: the image's build time */
};

/* What to do at boot, from the system time now, the RTC's time (rtc_ok: it
 * could be read) and the build time; *set_to is the time to set (now when
 * kept). Pure. */
enum clock_source clock_decide(time_t now, time_t rtc, int rtc_ok, time_t build, time_t *set_to);

/* At boot, before anything looks at the time. */
void clock_boot(void);

/* At shutdown: the system time into the RTC. */
void clock_shutdown(void);

/* The ntpd hook (argv[1]: step, stratum, periodic or unsync; ntpd puts
 * offset and stratum in the environment). Returns an exit status. */
int clock_ntp_event(int argc, char **argv);

#endif
