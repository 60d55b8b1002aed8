/* The service table (see services.h). Order is start order; shutdown
 * stops them the other way round, so the log writer goes last. */
#include "init/services.h"

#include <linux/capability.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "init/clock.h"
#include "init/supervise.h"
#include "lib/log.h"
#include "lib/timeutil.h"

#define HOSTLOG "/usr/bin/hostlog"
#define UDHCPC "/sbin/udhcpc"
#define UDHCPC_SCRIPT "/usr/share/udhcpc/default.script"
#define NTPD "/usr/sbin/ntpd"
#define SSHD "/usr/libexec/berth/sshd"
#define BERTHD "/usr/sbin/berthd"
#define HOST_OOM_SCORE_ADJ (-900)
/* udhcpc releases its lease and runs its script once more on SIGTERM. */
#define DHCP_STOP_WAIT_MS 3000
#define CAP(n) (1ull << (n))

/* Least privilege: the services that are not a way in for the operator
 * (sshd) or the container runtime (berthd) run as root with only the
 * capabilities their job needs, bounding set included, so neither a bug in
 * them nor a program they run can take more. */
#define CAPS_HOSTLOG CAP(CAP_SYSLOG) /* read /dev/kmsg (dmesg_restrict) */
#define CAPS_DHCP (CAP(CAP_NET_RAW) | CAP(CAP_NET_ADMIN) | CAP(CAP_NET_BIND_SERVICE))
/* The clock, -N's priority, and the hook's RTC write. */
#define CAPS_NTPD (CAP(CAP_SYS_TIME) | CAP(CAP_SYS_NICE) | CAP(CAP_NET_BIND_SERVICE))

/* Every DHCP client service made since boot (running or stopped). */
#define DHCP_MAX 32
static char dhcp_services[DHCP_MAX][32];
static size_t ndhcp_services;

static void remember_dhcp(const char *name)
{
	for (size_t i = 0; i < ndhcp_services; i++) {
		if (strcmp(dhcp_services[i], name) == 0) {
			return;
		}
	}
	if (ndhcp_services < DHCP_MAX) {
		snprintf(dhcp_services[ndhcp_services++], sizeof(dhcp_services[0]), "%s", name);
	}
}

/* udhcpc in the foreground (supervised here); -R: release the lease on
 * stop; -x hostname: tell the DHCP server our name. Started now (or again,
 * after services_stop_dhcp) when start. */
static int add_dhcp(const char *ifname, const char *hostname, int start)
{
	char name[32];
	char hostopt[80];
	snprintf(name, sizeof(name), "dhcp-%s", ifname);
	remember_dhcp(name);
	snprintf(hostopt, sizeof(hostopt), "hostname:%s", hostname);
	struct svc_def dhcp = {
		.name = name,
		.argv = {UDHCPC, "-f", "-R", "-i", ifname, "-s", UDHCPC_SCRIPT, "-x", hostopt, NULL},
		.limit_caps = 1,
		.caps = CAPS_DHCP,
	};
	return start ? svc_replace(&dhcp, monotonic_ms()) : svc_add(&dhcp);
}

void services_stop_dhcp(void (*then)(void), uint64_t now_ms)
{
	for (size_t i = 0; i < ndhcp_services; i++) {
		svc_retire_await(dhcp_services[i]);
	}
	svc_after_retired(now_ms + DHCP_STOP_WAIT_MS, then);
}

void services_start_dhcp(const struct host_state *st)
{
	for (size_t i = 0; i < st->ndhcp; i++) {
		add_dhcp(st->dhcp_ifaces[i], st->hostname, 1);
	}
}

int services_add_dhcp(const char *ifname, const char *hostname)
{
	return add_dhcp(ifname, hostname, 1);
}

static void ntp_def(const struct host_config *cfg, struct svc_def *ntp)
{
	/* -n: foreground; -N: run at high priority for accuracy; -S: the
	 * hook that writes the RTC once synchronised. */
	*ntp = (struct svc_def){.name = "ntpd",
				.argv = {NTPD, "-n", "-N", "-S", CLOCK_NTP_HOOK, NULL},
				.limit_caps = 1,
				.caps = CAPS_NTPD};
	size_t argc = 5;
	for (size_t i = 0; i < cfg->nntp && argc + 2 < SVC_MAX_ARGS; i++) {
		ntp->argv[argc++] = "-p";
		ntp->argv[argc++] = cfg->ntp[i];
	}
	ntp->argv[argc] = NULL;
}

void services_update_ntp(const struct host_config *cfg, uint64_t now_ms)
{
	if (cfg->nntp == 0) {
		svc_retire("ntpd");
		return;
	}
	struct svc_def ntp;
	ntp_def(cfg, &ntp);
	if (svc_replace(&ntp, now_ms) < 0) {
		blog_err("ntpd: cannot take the new servers; it keeps the old ones until the next boot");
	}
}

void services_declare(const struct host_config *cfg, const struct host_state *st)
{
	struct svc_def hostlog = {
		.name = "hostlog",
		.argv = {HOSTLOG, "--daemon", NULL},
		/* Last to stop: it persists everyone else's shutdown messages. */
		.grace_ms = 3000,
		.oom_score_adj = HOST_OOM_SCORE_ADJ,
		.limit_caps = 1,
		.caps = CAPS_HOSTLOG,
	};
	svc_add(&hostlog);

	for (size_t i = 0; i < st->ndhcp; i++) {
		add_dhcp(st->dhcp_ifaces[i], st->hostname, 0);
	}

	if (cfg->nntp > 0) {
		struct svc_def ntp;
		ntp_def(cfg, &ntp);
		svc_add(&ntp);
	}

	/* The way in and the one that runs the containers are the last things
	 * the OOM killer should pick when a container without a memory limit
	 * takes the host's memory (init itself is never picked). berthd's
	 * monitors give their containers 0 again. */
	struct svc_def sshd = {.name = "sshd", .argv = {SSHD, NULL}, .oom_score_adj = HOST_OOM_SCORE_ADJ};
	svc_add(&sshd);

	if (access(BERTHD, X_OK) == 0) {
		/* berthd stops containers in dependency order, each with its own
		 * grace period (10 s by default): a chain of them takes a while. */
		struct svc_def berthd = {.name = "berthd",
					 .argv = {BERTHD, NULL},
					 .grace_ms = 120000,
					 .oom_score_adj = HOST_OOM_SCORE_ADJ};
		svc_add(&berthd);
	}

	if (cfg->console == HOST_CONSOLE_SHELL) {
		struct svc_def console = {
			.name = "console",
			.path = "/bin/sh",
			.argv = {"-sh", NULL},
			.flags = SVC_CONSOLE,
			/* An interactive shell ignores SIGTERM; a hangup ends it. */
			.stop_signal = SIGHUP,
			.grace_ms = 1000,
		};
		svc_add(&console);
	} else {
		blog_info("console: off (host.yaml)");
	}
}
