/* The clock (see clock.h). */
#include "init/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/rtc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/time.h>
#include <sys/timex.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/log.h"

/* The build's SOURCE_DATE_EPOCH (Makefile): no correct clock is earlier. */
#ifndef BERTH_BUILD_EPOCH
#define BERTH_BUILD_EPOCH 1700000000
#endif

enum clock_source clock_decide(time_t now, time_t rtc, int rtc_ok, time_t build, time_t *set_to)
{
	*set_to = now;
	if (rtc_ok && rtc >= build) {
		/* x86 kernels read the CMOS clock at boot themselves (to the
		 * second): within that, the kernel's time is the RTC's, and
		 * finer. */
		if (rtc - now <= 1 && now - rtc <= 1) {
			return CLOCK_KEPT_RTC;
		}
		*set_to = rtc;
		return CLOCK_SET_RTC;
	}
	if (now >= build) {
		return CLOCK_KEPT_KERNEL;
	}
	*set_to = build;
	return CLOCK_SET_BUILD;
}

static void format_time(time_t t, char *buf, size_t size)
{
	struct tm tm;
	if (gmtime_r(&t, &tm) == NULL || strftime(buf, size, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0) {
		snprintf(buf, size, "@%lld", (long long)t);
	}
}

static int rtc_read(time_t *out, char *why, size_t size)
{
	auto_close int fd = open(CLOCK_RTC_DEVICE, O_RDONLY | O_CLOEXEC);
	struct rtc_time rt;
	if (fd < 0 || ioctl(fd, RTC_RD_TIME, &rt) < 0) {
		snprintf(why, size, "%s: %s", CLOCK_RTC_DEVICE, strerror(errno));
		return -1;
	}
	struct tm tm = {
		.tm_sec = rt.tm_sec,
		.tm_min = rt.tm_min,
		.tm_hour = rt.tm_hour,
		.tm_mday = rt.tm_mday,
		.tm_mon = rt.tm_mon,
		.tm_year = rt.tm_year,
	};
	*out = timegm(&tm);
	if (*out == (time_t)-1) {
		snprintf(why, size, "%s holds no valid date", CLOCK_RTC_DEVICE);
		return -1;
	}
	return 0;
}

static int rtc_write(time_t t)
{
	struct tm tm;
	if (gmtime_r(&t, &tm) == NULL) {
		return -EINVAL;
	}
	struct rtc_time rt = {
		.tm_sec = tm.tm_sec,
		.tm_min = tm.tm_min,
		.tm_hour = tm.tm_hour,
		.tm_mday = tm.tm_mday,
		.tm_mon = tm.tm_mon,
		.tm_year = tm.tm_year,
	};
	auto_close int fd = open(CLOCK_RTC_DEVICE, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || ioctl(fd, RTC_SET_TIME, &rt) < 0) {
		return -errno;
	}
	return 0;
}

void clock_boot(void)
{
	char why[160] = "";
	char when[64];
	char was[64];
	time_t rtc = 0;
	int rtc_ok = rtc_read(&rtc, why, sizeof(why)) == 0;
	time_t now = time(NULL);
	time_t target;
	enum clock_source src = clock_decide(now, rtc, rtc_ok, (time_t)BERTH_BUILD_EPOCH, &target);
	format_time(target, when, sizeof(when));
	format_time(now, was, sizeof(was));
	if (target != now) {
		struct timeval tv = {.tv_sec = target};
		if (settimeofday(&tv, NULL) < 0) {
			blog_err("clock: cannot set the time to %s: %s", when, strerror(errno));
			return;
		}
	}
	long long moved = (long long)(target - now);
	switch (src) {
	case CLOCK_KEPT_RTC:
		blog_info("clock: %s from the RTC (read by the kernel at boot; moved 0 s)", when);
		break;
	case CLOCK_SET_RTC:
		blog_notice("clock: %s from the RTC (moved %+lld s from %s)", when, moved, was);
		break;
	case CLOCK_KEPT_KERNEL:
		if (rtc_ok) {
			format_time(rtc, why, sizeof(why));
			blog_warn("clock: the RTC reads %s, before this image was built: its battery may be flat; "
				  "keeping "
				  "the kernel's %s (moved 0 s)",
				  why, when);
		} else {
			blog_info("clock: %s from the kernel (no RTC: %s; moved 0 s)", when, why);
		}
		break;
	case CLOCK_SET_BUILD:
		blog_warn("clock: no usable RTC (%s); starting from this image's build time, %s (moved %+lld s); NTP "
			  "will correct it",
			  rtc_ok ? "it reads a time before this image was built" : why, when, moved);
		break;
	}
}

static int ntp_synchronised(void)
{
	struct timex tx = {.modes = 0};
	return adjtimex(&tx) >= 0 && !(tx.status & STA_UNSYNC);
}

void clock_shutdown(void)
{
	char when[64];
	time_t now = time(NULL);
	format_time(now, when, sizeof(when));
	int ret = rtc_write(now);
	if (ret == -ENOENT) {
		return; /* no RTC: nothing to keep */
	}
	if (ret < 0) {
		blog_err("clock: cannot write the RTC at shutdown: %s", strerror(-ret));
		return;
	}
	blog_info("clock: RTC set to %s at shutdown (%s)", when,
		  ntp_synchronised() ? "NTP-synchronised" : "not synchronised by NTP this boot");
}

int clock_ntp_event(int argc, char **argv)
{
	blog_init("clock", open("/dev/kmsg", O_WRONLY | O_CLOEXEC | O_NOCTTY));
	const char *event = argc > 1 ? argv[1] : "";
	const char *offset = getenv("offset");
	const char *stratum = getenv("stratum");
	/* step: the first synchronisation moved the clock; stratum: ntpd
	 * (re)selected its source. Both mean the time is now right. periodic
	 * runs every poll interval, and the kernel already writes the RTC
	 * every 11 minutes while synchronised; unsync changes nothing. */
	if (strcmp(event, "step") != 0 && strcmp(event, "stratum") != 0) {
		if (strcmp(event, "unsync") == 0) {
			blog_warn("clock: NTP lost its synchronisation");
		}
		return 0;
	}
	char when[64];
	time_t now = time(NULL);
	format_time(now, when, sizeof(when));
	int ret = rtc_write(now);
	double off = offset != NULL ? strtod(offset, NULL) : 0.0;
	const char *moved = strcmp(event, "step") == 0 ? "stepped the clock by" : "synchronised, offset";
	if (ret < 0) {
		blog_err("clock: NTP %s %+.3f s (stratum %s); cannot write the RTC: %s", moved, off,
			 stratum ? stratum : "?", strerror(-ret));
		return 1;
	}
	blog_notice("clock: NTP %s %+.3f s (stratum %s); RTC set to %s", moved, off, stratum ? stratum : "?", when);
	return 0;
}
