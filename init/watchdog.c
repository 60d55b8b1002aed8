/* The hardware watchdog (see watchdog.h). Runs in PID 1: every failure is
 * logged and the host runs on without a watchdog. */
#include "init/watchdog.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/watchdog.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "init/console.h"
#include "init/loop.h"
#include "lib/log.h"

#define WATCHDOG_DEV "/dev/watchdog"

static int wd_fd = -1;
static struct watch feed_watch = {.fd = -1};

static void on_feed(struct watch *w, uint32_t events)
{
	(void)events;
	uint64_t expirations;
	while (read(w->fd, &expirations, sizeof(expirations)) > 0) {
	}
	if (wd_fd >= 0 && ioctl(wd_fd, WDIOC_KEEPALIVE, 0) < 0) {
		blog_err("watchdog: keepalive: %s", strerror(errno));
	}
}

/* Stops the watchdog: the magic close ('V', then close), which drivers
 * honour unless built with NOWAYOUT. */
static void watchdog_stop(void)
{
	if (write(wd_fd, "V", 1) != 1) {
		blog_warn("watchdog: magic close: %s", strerror(errno));
	}
	close(wd_fd);
	wd_fd = -1;
}

void watchdog_start(const struct host_config *cfg)
{
	if (cfg->watchdog_sec == 0) {
		blog_info("watchdog: off (host.yaml)");
		return;
	}
	wd_fd = open(WATCHDOG_DEV, O_WRONLY | O_CLOEXEC);
	if (wd_fd < 0) {
		if (errno == ENOENT) {
			blog_info("watchdog: none (no %s)", WATCHDOG_DEV);
		} else {
			blog_warn("watchdog: open %s: %s", WATCHDOG_DEV, strerror(errno));
		}
		return;
	}
	struct watchdog_info info;
	memset(&info, 0, sizeof(info));
	ioctl(wd_fd, WDIOC_GETSUPPORT, &info);
	int timeout = cfg->watchdog_sec;
	if (ioctl(wd_fd, WDIOC_SETTIMEOUT, &timeout) < 0) {
		int want = cfg->watchdog_sec;
		timeout = 0;
		ioctl(wd_fd, WDIOC_GETTIMEOUT, &timeout);
		blog_warn("watchdog: %s refuses a timeout of %d s (%s); it stays at %d s", info.identity, want,
			  strerror(errno), timeout);
	}
	if (timeout <= 0) {
		timeout = cfg->watchdog_sec;
	}
	/* Fed three times a timeout: a late turn of the loop is no reset. */
	long period_ms = timeout * 1000L / 3;
	struct itimerspec its = {
		.it_interval = {period_ms / 1000, (period_ms % 1000) * 1000000L},
		.it_value = {period_ms / 1000, (period_ms % 1000) * 1000000L},
	};
	feed_watch.fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (feed_watch.fd < 0 || timerfd_settime(feed_watch.fd, 0, &its, NULL) < 0) {
		blog_err("watchdog: timer: %s; stopping the watchdog", strerror(errno));
		watchdog_stop();
		return;
	}
	feed_watch.ready = on_feed;
	if (loop_add(&feed_watch) < 0) {
		blog_err("watchdog: cannot watch its timer; stopping the watchdog");
		watchdog_stop();
		return;
	}
	ioctl(wd_fd, WDIOC_KEEPALIVE, 0);
	blog_notice("watchdog: %s armed, %d s, fed every %ld ms", info.identity[0] ? (char *)info.identity : "?",
		    timeout, period_ms);
#ifdef BERTH_TEST_HANG
	/* The test-only build of a version that hangs once the kernel is up
	 * (make test-bundles): the watchdog must reset it. */
	console_print("berth: TEST BUILD: init hangs here, the watchdog armed");
	for (;;) {
		pause();
	}
#endif
}

void watchdog_shutdown(uint32_t budget_ms)
{
	if (wd_fd < 0) {
		return;
	}
	int timeout = (int)(budget_ms / 1000) + 1;
	if (ioctl(wd_fd, WDIOC_SETTIMEOUT, &timeout) == 0 && timeout * 1000u >= budget_ms) {
		ioctl(wd_fd, WDIOC_KEEPALIVE, 0);
		return;
	}
	blog_info("watchdog: cannot cover a %u s shutdown; stopping it", budget_ms / 1000);
	watchdog_stop();
}
