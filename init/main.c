/* Berth's PID 1. Brings the host up (early mounts, CONFIG and DATA,
 * host.yaml, network, entropy), starts the services, then sits in one
 * event loop (loop.c) until asked to shut down. After start-up nothing
 * makes it exit: failures are logged and the host degrades as host.yaml's
 * on_failure says (an emergency shell on the console, or a reboot).
 *
 * Run as poweroff, reboot or halt (by symlink) when not PID 1, it asks PID 1
 * to do so with the signals BusyBox uses: SIGUSR2, SIGTERM, SIGUSR1. Run as
 * ntp-event, it is ntpd's hook that writes the RTC (clock.h). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "init/clock.h"
#include "init/cloud.h"
#include "init/console.h"
#include "init/datawatch.h"
#include "init/disks.h"
#include "init/early.h"
#include "init/entropy.h"
#include "init/host.h"
#include "init/loop.h"
#include "init/netwatch.h"
#include "init/power.h"
#include "init/services.h"
#include "init/shutdown.h"
#include "init/supervise.h"
#include "init/trial.h"
#include "init/watchdog.h"
#include "lib/hostcfg.h"
#include "lib/log.h"
#include "lib/timeutil.h"

#ifndef BERTH_VERSION
#define BERTH_VERSION "unknown"
#endif

static int control_main(const char *name, int argc, char **argv)
{
	int sig;
	int cmd;
	if (strcmp(name, "ntp-event") == 0) {
		return clock_ntp_event(argc, argv);
	}
	if (strcmp(name, "poweroff") == 0) {
		sig = SIGUSR2;
		cmd = RB_POWER_OFF;
	} else if (strcmp(name, "reboot") == 0) {
		sig = SIGTERM;
		cmd = RB_AUTOBOOT;
	} else if (strcmp(name, "halt") == 0) {
		sig = SIGUSR1;
		cmd = RB_HALT_SYSTEM;
	} else {
		fprintf(stderr, "init: must run as PID 1 (or be called as poweroff, reboot or halt)\n");
		return 2;
	}
	int force = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-f") == 0) {
			force = 1;
		} else {
			fprintf(stderr, "usage: %s [-f]\n  -f  now, without stopping services or unmounting\n", name);
			return 2;
		}
	}
	if (force) {
		sync();
		reboot(cmd);
		fprintf(stderr, "%s: %s\n", name, strerror(errno));
		return 1;
	}
	if (kill(1, sig) < 0) {
		fprintf(stderr, "%s: signal init: %s\n", name, strerror(errno));
		return 1;
	}
	return 0;
}

static void print_banner(uint64_t init_start_ms, const struct host_state *st)
{
	uint64_t up = clock_ms(CLOCK_BOOTTIME);
	blog_notice("Berth %s on %s: all services started at %llu.%03llu s (init started at %llu.%03llu s)",
		    BERTH_VERSION, st->hostname, (unsigned long long)(up / 1000), (unsigned long long)(up % 1000),
		    (unsigned long long)(init_start_ms / 1000), (unsigned long long)(init_start_ms % 1000));
	console_print("\nBerth %s on %s - up in %llu.%03llu s\n", BERTH_VERSION, st->hostname,
		      (unsigned long long)(up / 1000), (unsigned long long)(up % 1000));
}

static struct watch power_watches[4];

static void on_power_button(struct watch *w, uint32_t events)
{
	(void)events;
	if (power_button_pressed(w->fd)) {
		blog_notice("power button pressed");
		console_print("berth: power button pressed");
		loop_request_shutdown(SHUTDOWN_POWEROFF);
	}
}

/* Without an event loop init cannot supervise anything. What is left is
 * what host.yaml chose: a reboot, or a shell on the console while init
 * reaps children and still honours poweroff and reboot. */
static __attribute__((noreturn)) void degraded(const char *why, const struct host_config *cfg, const char *console)
{
	blog_err("init cannot supervise services: %s", why);
	console_print("\n*** init cannot supervise services (%s).", why);
	if (cfg->on_failure == HOST_ON_FAILURE_REBOOT) {
		console_print("*** Rebooting in 10 s (host.yaml on_failure: reboot).");
		sleep(10);
		shutdown_run(SHUTDOWN_REBOOT);
	}
	console_print("*** Emergency shell on %s (host.yaml on_failure: shell).", console);
	struct svc_def shell = {.name = "emergency",
				.path = "/bin/sh",
				.argv = {"-sh", NULL},
				.flags = SVC_CONSOLE,
				.stop_signal = SIGHUP};
	svc_add(&shell);
	svc_start_all(monotonic_ms());
	sigset_t all;
	sigfillset(&all);
	for (;;) {
		siginfo_t si;
		struct timespec ts = {1, 0};
		int sig = sigtimedwait(&all, &si, &ts);
		pid_t pid;
		int status;
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
			svc_child_exited(pid, status, monotonic_ms());
		}
		svc_tick(monotonic_ms());
		if (sig == SIGUSR2 || sig == SIGPWR) {
			shutdown_run(SHUTDOWN_POWEROFF);
		} else if (sig == SIGTERM || sig == SIGINT) {
			shutdown_run(SHUTDOWN_REBOOT);
		} else if (sig == SIGUSR1) {
			shutdown_run(SHUTDOWN_HALT);
		}
	}
}

/* The disks, host.yaml's settings in force and what init made of them. */
static struct disks disks;
static struct host_config cfg;
static struct host_state st;

/* A change of network interfaces waits in the event loop, never in a
 * handler, for the old DHCP clients to release their leases; the apply
 * then takes cfg as it is by then, so reloads meanwhile need no more. */
static int network_pending;

static void network_retired(void)
{
	network_pending = 0;
	host_apply_network(&cfg, &st);
	services_start_dhcp(&st);
	netwatch_reset(&st);
	/* Only now: berth config apply's trial must not take a confirmation
	 * that came over the old network. */
	host_mark_reloaded();
}

/* SIGHUP: host.yaml (with the cloud's metadata where it is silent, as at
 * boot) again, and what can change live. */
static void reload_host_settings(void)
{
	static struct host_config next;
	host_load_config(&next, disks.config_mounted);
	cloud_setup(&next, disks.disk);
	host_apply_live(&next, &st);
	int network_live = hostcfg_when("network") != HOST_AT_BOOT;
	int interfaces = network_live && !hostcfg_same_interfaces(&cfg, &next);
	int dns = network_live && !hostcfg_same_dns(&cfg, &next);
	hostcfg_free(&cfg);
	cfg = next; /* cfg owns next's keys now; the next load starts afresh */
	if (hostcfg_when("ntp") != HOST_AT_BOOT) {
		services_update_ntp(&cfg, monotonic_ms());
	}
	if (network_pending) {
		return; /* network_retired marks this reload done too */
	}
	if (interfaces) {
		network_pending = 1;
		netwatch_pause();
		services_stop_dhcp(network_retired, monotonic_ms());
		return;
	}
	if (dns) {
		blog_info("network: only host.yaml's DNS servers changed; links, addresses and DHCP stay as they are");
		host_apply_dns(&cfg, &st);
	}
	host_mark_reloaded();
}

int main(int argc, char **argv)
{
	const char *name = strrchr(argv[0], '/');
	name = name ? name + 1 : argv[0];
	if (getpid() != 1) {
		return control_main(name, argc, argv);
	}

	/* Everything is handled through signalfd; nothing may interrupt. */
	sigset_t all;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	/* Ctrl-Alt-Del becomes SIGINT to init instead of an instant reboot. */
	reboot(RB_DISABLE_CAD);
	umask(022);

	uint64_t init_start_ms = clock_ms(CLOCK_BOOTTIME);
	early_mounts();
	int kmsg = open("/dev/kmsg", O_WRONLY | O_CLOEXEC | O_NOCTTY);
	blog_init("init", kmsg);
	early_settings();
	clock_boot();

	disks_setup(&disks);

	host_load_config(&cfg, disks.config_mounted);
	cloud_setup(&cfg, disks.disk);
	host_apply(&cfg, &st);
	entropy_seed(disks.data == DATA_ON_DISK);

	char console[64];
	console_device(console, sizeof(console));
	blog_info("console is %s", console);

	static char *env[8];
	size_t n = 0;
	env[n++] = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";
	env[n++] = "HOME=/root";
	env[n++] = "USER=root";
	env[n++] = "LOGNAME=root";
	env[n++] = "SHELL=/bin/sh";
	env[n++] = "TERM=vt220";
	env[n++] = st.tz; /* reloads change it in place (host.h) */
	env[n] = NULL;
	svc_setup(console, env);

	int ret = loop_init();
	if (ret < 0) {
		degraded(strerror(-ret), &cfg, console);
	}
	watchdog_start(&cfg);
	datawatch_start(&disks);
	int fds[4];
	int nbuttons = power_buttons_watch(fds, 4);
	for (int i = 0; i < nbuttons; i++) {
		power_watches[i].fd = fds[i];
		power_watches[i].ready = on_power_button;
		loop_add(&power_watches[i]);
	}

	services_declare(&cfg, &st);
	svc_start_all(monotonic_ms());
	loop_on_hangup(reload_host_settings);
	if (st.dhcp_auto) {
		netwatch_start(&st);
	}
	trial_boot_start(&cfg, &disks);
	print_banner(init_start_ms, &st);
	shutdown_run((enum shutdown_action)loop_run());
}
