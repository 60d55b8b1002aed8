/* berthd's entry point (see berthd.h): its arguments, signals and the
 * order in which the modules start. Started and restarted by init; its
 * stderr goes to the host log. */
#include "daemon/berthd.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/api.h"
#include "daemon/apply.h"
#include "daemon/daemon.h"
#include "daemon/dataformat.h"
#include "daemon/images.h"
#include "daemon/network.h"
#include "daemon/pulls.h"
#include "daemon/status.h"
#include "daemon/sup.h"
#include "lib/fsutil.h"
#include "lib/log.h"
#include "proto/proto.h"

static int got_term;

static void on_signal(struct watch *w, uint32_t events)
{
	(void)events;
	struct signalfd_siginfo si;
	while (read(w->fd, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGCHLD:
			loop_reap();
			break;
		case SIGTERM:
		case SIGINT:
			if (!got_term) {
				got_term = 1;
				sup_shutdown();
			}
			break;
		case SIGHUP: {
			blog_notice("SIGHUP: applying %s/compose.yaml", D.config_dir);
			apply_compose(NULL);
			break;
		}
		default:
			break;
		}
	}
}

static int make_dirs(void)
{
	static const char *const dirs[] = {
		BERTH_RUN_DIR,	BERTH_RUN_DIR "/c",	      OCI_ROOT,
		BERTH_DATA_DIR, BERTH_DATA_DIR "/containers", BERTH_DATA_DIR "/volumes",
	};
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		struct berr err = {0};
		if (mkdir_p(dirs[i], 0700, &err) < 0) {
			blog_err("%s", err.msg);
			return -1;
		}
	}
	return 0;
}

static int parse_args(int argc, char **argv)
{
	const char *config_dir = getenv("BERTH_CONFIG_DIR");
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
			config_dir = argv[++i];
		} else {
			fprintf(stderr, "usage: berthd [--config DIR]\n");
			return -1;
		}
	}
	copy_string(D.config_dir, sizeof(D.config_dir), config_dir != NULL ? config_dir : CONFIG_DIR);
	return 0;
}

/* Signals arrive as events of the loop, through a signalfd. */
static int watch_signals(struct berr *err)
{
	static struct watch sigw;
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	int sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sigfd < 0) {
		return berr_set(err, errno, "signalfd");
	}
	sigw = (struct watch){.fd = sigfd, .fn = on_signal};
	return watch_add(&sigw, EPOLLIN);
}

/* Supervision's deadlines and the pulls' retries share the one timer. */
static int64_t next_deadline(void)
{
	int64_t a = sup_next_deadline();
	int64_t b = pulls_next_deadline();
	return a < 0 ? b : b < 0 ? a : a < b ? a : b;
}

static void deadline(void)
{
	sup_tick();
	pulls_tick();
}

int berthd_main(int argc, char **argv)
{
	/* Under init, whose log already names the service, no prefix. */
	blog_init(getppid() == 1 ? "" : "berthd", -1);
	if (parse_args(argc, argv) < 0) {
		return 2;
	}
	umask(022);
	struct berr err = {0};
	/* Before anything under DATA is touched. */
	if (dataformat_check(BERTH_DATA_DIR, &err) < 0) {
		blog_err("%s", err.msg);
		status_refused(err.msg);
		return 1;
	}
	if (make_dirs() < 0) {
		return 1;
	}
	struct loop_hooks hooks = {.next_deadline = next_deadline, .deadline = deadline};
	int listen_fd = -1;
	if (loop_setup(&hooks, &err) < 0 || watch_signals(&err) < 0 ||
	    (listen_fd = proto_listen(BERTH_SOCKET, &err)) < 0) {
		blog_err("%s", err.msg);
		return 1;
	}
	/* Observers in this order: the networks, the API, supervision. */
	if (network_init(&err) < 0) {
		/* Containers on host networking still work. */
		blog_err("networks: %s", err.msg);
	}
	apply_clean_tmp();
	sup_adopt_all();
	images_load_config_dir(D.config_dir);
	pulls_init(apply_after_pull, apply_pull_failed);
	if (api_init(listen_fd) < 0 || sup_init() < 0 || status_init() < 0) {
		blog_err("the API could not start");
		return 1;
	}
	/* Ready: the API answers and the store has CONFIG's images; the
	 * containers start from here on (each logs "NAME: running"). */
	blog_notice("ready");
	apply_compose(NULL);
	sup_deps_changed();
	network_sync();
	status_ready();
	loop_rearm_timer();
	while (!(got_term && sup_all_stopped())) {
		if (loop_run_once() < 0) {
			return 1;
		}
		network_sync();
	}
	blog_notice("all containers stopped");
	unlink(BERTH_SOCKET);
	return 0;
}
