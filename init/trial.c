/* Trial boots and the health gate (see trial.h). Runs in PID 1. */
#include "init/trial.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "init/console.h"
#include "init/loop.h"
#include "init/shutdown.h"
#include "init/supervise.h"
#include "lib/bootenv.h"
#include "lib/cleanup.h"
#include "lib/failpoint.h"
#include "lib/fsutil.h"
#include "lib/healthfile.h"
#include "lib/log.h"
#include "lib/timeutil.h"

#define GATE_PERIOD_MS 1000

static struct {
	struct bootenv be;
	char booted;
	int tries_left;
	char version[BOOT_VERSION_MAX];
	int disks_ok;
	char disks_problem[160];
	uint64_t start_ms;
	uint64_t deadline_ms;
	int timeout_sec;
	int done;
	struct watch timer;
} gate;

/* berth.failpoint=NAME, or NAME@N: only on the trial boot that has N boots
 * left after it (a test stops one boot of several, not each of them). */
static void arm_failpoint(const char *cmdline, int tries_left)
{
	const char *p = strstr(cmdline, "berth.failpoint=");
	if (p == NULL) {
		return;
	}
	char spec[64];
	size_t len = strcspn(p + 16, " \n");
	if (len >= sizeof(spec)) {
		return;
	}
	memcpy(spec, p + 16, len);
	spec[len] = '\0';
	char *at = strchr(spec, '@');
	if (at != NULL) {
		*at = '\0';
		if (tries_left != at[1] - '0') {
			return;
		}
	}
	blog_warn("test failpoint %s armed", spec);
	failpoint_arm(spec);
}

/* Changes the boot state under the lock: load, change, save. Returns 0, or
 * a negative errno (logged) when it could not be done now. */
static int change_state(void (*change)(struct bootstate *bs, void *ctx), void *ctx, const char *stage)
{
	struct berr err;
	auto_close int lock = bootenv_lock(1, &err);
	if (lock < 0) {
		blog_warn("boot state: %s", err.msg);
		return lock;
	}
	struct bootstate bs;
	if (bootenv_load(&gate.be, &bs, NULL, &err) < 0) {
		blog_err("boot state: %s", err.msg);
		return -EIO;
	}
	change(&bs, ctx);
	if (bootenv_save(&gate.be, &bs, stage, &err) < 0) {
		blog_err("boot state: %s", err.msg);
		return -EIO;
	}
	return 0;
}

static void do_mark_good(struct bootstate *bs, void *ctx)
{
	(void)ctx;
	if (bs->trial == gate.booted) {
		bootstate_mark_good(bs, gate.booted);
	}
}

struct failure {
	const char *reason;
	int reported; /* already in this boot's host log */
};

static void do_fail(struct bootstate *bs, void *ctx)
{
	const struct failure *f = ctx;
	bootstate_fail_trial(bs, bs->trial != 0 ? bs->trial : gate.booted, (int64_t)time(NULL), f->reason);
	bs->rollback.unreported = !f->reported;
}

static void do_reported(struct bootstate *bs, void *ctx)
{
	(void)ctx;
	bs->rollback.unreported = 0;
}

/* 1 when the host is healthy; else 0 and why not. */
static int host_healthy(char *why, size_t size)
{
	if (!gate.disks_ok) {
		snprintf(why, size, "%s", gate.disks_problem);
		return 0;
	}
	pid_t pid = svc_pid("berthd");
	if (pid <= 0) {
		snprintf(why, size, "berthd is not running");
		return 0;
	}
	struct healthfile h;
	struct berr err;
	if (healthfile_read(HEALTHFILE_PATH, &h, &err) < 0 || h.pid != pid) {
		snprintf(why, size, "berthd (pid %d) has not reported that it is ready", (int)pid);
		return 0;
	}
	if (h.state == BERTHD_REFUSED) {
		snprintf(why, size, "berthd refuses to run: %.180s", h.message);
		return 0;
	}
	if (h.state != BERTHD_READY) {
		snprintf(why, size, "berthd is still starting");
		return 0;
	}
	if (h.healthy < h.checked) {
		size_t n = (size_t)snprintf(why, size, "%d of %d system containers with a healthcheck are not healthy:",
					    h.checked - h.healthy, h.checked);
		for (size_t i = 0; i < h.nwaiting && n < size; i++) {
			n += (size_t)snprintf(why + n, size - n, "%s %s (%s)", i > 0 ? "," : "", h.waiting[i].name,
					      h.waiting[i].status);
		}
		return 0;
	}
	return 1;
}

static void gate_stop(void)
{
	gate.done = 1;
	loop_del(&gate.timer);
	close(gate.timer.fd);
	gate.timer.fd = -1;
}

static void on_gate_tick(struct watch *w, uint32_t events)
{
	(void)events;
	uint64_t expirations;
	while (read(w->fd, &expirations, sizeof(expirations)) > 0) {
	}
	if (gate.done) {
		return;
	}
	char why[BOOT_REASON_MAX - 64];
	uint64_t now = monotonic_ms();
	uint64_t took = now - gate.start_ms;
	if (host_healthy(why, sizeof(why))) {
		if (change_state(do_mark_good, NULL, "good") < 0) {
			return; /* again at the next tick */
		}
		blog_notice("slot %c (%s) passed its health gate in %llu.%llu s: it is the good slot now", gate.booted,
			    gate.version, (unsigned long long)(took / 1000), (unsigned long long)(took % 1000 / 100));
		console_print("berth: slot %c (%s) is healthy: marked good", gate.booted, gate.version);
		gate_stop();
		return;
	}
	if (now < gate.deadline_ms && gate.disks_ok) {
		return;
	}
	char reason[BOOT_REASON_MAX];
	snprintf(reason, sizeof(reason), "the health gate failed after %llu s: %s", (unsigned long long)(took / 1000),
		 why);
	blog_err("slot %c (%s): %s; back to slot %c", gate.booted, gate.version, reason, slot_other(gate.booted));
	console_print("\n*** berth: slot %c (%s) failed its trial boot: %s\n*** rebooting into slot %c", gate.booted,
		      gate.version, reason, slot_other(gate.booted));
	/* The good slot's init reports it again, in its own boot's log. */
	struct failure f = {reason, 0};
	if (change_state(do_fail, &f, "fail") < 0) {
		/* GRUB's tries end the trial then. */
		blog_err("could not record the failed trial; the next boots use up its tries");
	}
	gate_stop();
	loop_request_shutdown(SHUTDOWN_REBOOT);
}

static void start_gate(const struct host_config *cfg)
{
	gate.start_ms = monotonic_ms();
	gate.timeout_sec = cfg->health_timeout_sec;
	gate.deadline_ms = gate.start_ms + (uint64_t)cfg->health_timeout_sec * 1000u;
	struct itimerspec its = {
		.it_interval = {GATE_PERIOD_MS / 1000, (GATE_PERIOD_MS % 1000) * 1000000L},
		.it_value = {GATE_PERIOD_MS / 1000, (GATE_PERIOD_MS % 1000) * 1000000L},
	};
	gate.timer.fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	gate.timer.ready = on_gate_tick;
	if (gate.timer.fd < 0 || timerfd_settime(gate.timer.fd, 0, &its, NULL) < 0 || loop_add(&gate.timer) < 0) {
		/* Without the gate the trial cannot pass: its tries run out. */
		blog_err("health gate: timer: %s; this trial boot cannot be marked good", strerror(errno));
		return;
	}
	blog_notice("trial boot of slot %c (%s), %d more boot%s to go: health gate, %d s", gate.booted, gate.version,
		    gate.tries_left, gate.tries_left == 1 ? "" : "s", cfg->health_timeout_sec);
	console_print("berth: trial boot of slot %c (%s): waiting up to %d s for the host to be healthy", gate.booted,
		      gate.version, cfg->health_timeout_sec);
}

static void record_ended_trial(const struct bootstate *bs)
{
	char reason[BOOT_REASON_MAX];
	snprintf(reason, sizeof(reason),
		 "it did not pass its health gate within its trial boots (it hung, panicked or was reset by the "
		 "watchdog before init could say why)");
	/* An error: the console shows it too. */
	blog_err("the update to %s (slot %c) was rolled back: %s", bs->trial_version[0] ? bs->trial_version : "?",
		 bs->trial, reason);
	struct failure f = {reason, 1};
	change_state(do_fail, &f, "fail");
}

static void report_rollback(const struct bootstate *bs)
{
	const struct boot_rollback *r = &bs->rollback;
	blog_err("the update to %s (slot %c) was rolled back: %s", r->version[0] ? r->version : "?", r->slot,
		 r->reason);
	change_state(do_reported, NULL, "report");
}

void trial_boot_start(const struct host_config *cfg, const struct disks *d)
{
	char cmdline[4096];
	if (read_file("/proc/cmdline", cmdline, sizeof(cmdline), NULL) < 0) {
		return;
	}
	if (boot_cmdline_slot(cmdline, &gate.booted, &gate.tries_left) < 0) {
		blog_info("boot state: no berth.slot= on the command line (not booted by Berth's GRUB)");
		return;
	}
	arm_failpoint(cmdline, gate.tries_left);
	os_version(gate.version, sizeof(gate.version));
	gate.disks_ok = d->config_mounted && d->data == DATA_ON_DISK;
	snprintf(gate.disks_problem, sizeof(gate.disks_problem), "%s",
		 !d->config_mounted ? "CONFIG is not mounted" : "DATA is unusable (on tmpfs)");
	struct berr err;
	struct bootstate bs;
	int which;
	if (d->disk[0] == '\0' || bootenv_open(&gate.be, d->disk, &err) < 0 ||
	    bootenv_load(&gate.be, &bs, &which, &err) < 0) {
		blog_err("boot state unreadable: %s%s", d->disk[0] ? err.msg : "no boot disk",
			 gate.tries_left >= 0 ? "; this trial boot cannot be marked good" : "");
		return;
	}
	if (which != 0) {
		blog_warn("boot state: the primary copy of grubenv is %s; using %s", which == 1 ? "torn" : "unreadable",
			  which == 1 ? "the backup" : "a fresh image's state");
	}
	switch (bootstate_verdict(&bs, gate.booted, gate.tries_left >= 0)) {
	case BOOT_TRIAL:
		start_gate(cfg);
		break;
	case BOOT_TRIAL_ENDED:
		record_ended_trial(&bs);
		break;
	case BOOT_NOT_EXPECTED:
		blog_warn("boot state: running slot %c, but the good slot is %c and no trial is due (GRUB fell back)",
			  gate.booted, bs.slot);
		break;
	case BOOT_NORMAL:
		if (bs.rollback.unreported) {
			report_rollback(&bs);
		}
		break;
	}
}
