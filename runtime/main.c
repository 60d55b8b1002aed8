/* The runtime's one binary, by the name it is called with:
 *   berth-oci (or runc)  the OCI runtime (runtime/oci)
 *   berthd               the daemon (runtime/daemon)
 *   berth-init           a container's PID 1 with `init: true`
 *   berth                the CLI (runtime/cli); `berth oci ...` is berth-oci,
 *                        `berth monitor ...` a container's monitor (berthd
 *                        starts those)
 *   docker               only `docker system dial-stdio`: a desk's docker CLI
 *                        reaching the engine container's dockerd over ssh */
#include <stdio.h>
#include <string.h>

#include "cinit/cinit.h"
#include "cli/berth.h"
#include "cli/dockerdial.h"
#include "daemon/berthd.h"
#include "monitor/monitor.h"
#include "oci/cli.h"

int main(int argc, char **argv)
{
	const char *name = strrchr(argv[0], '/');
	name = name ? name + 1 : argv[0];
	if (strcmp(name, "berth-oci") == 0 || strcmp(name, "runc") == 0) {
		return cli_main(argc, argv);
	}
	if (strcmp(name, "berth-init") == 0) {
		return cinit_main(argc, argv);
	}
	if (strcmp(name, "berthd") == 0) {
		return berthd_main(argc, argv);
	}
	if (strcmp(name, "docker") == 0) {
		return dockerdial_main(argc, argv);
	}
	if (argc > 1 && strcmp(argv[1], "oci") == 0) {
		argv[1] = "berth-oci";
		return cli_main(argc - 1, argv + 1);
	}
	if (argc > 1 && strcmp(argv[1], "monitor") == 0) {
		return monitor_main(argc - 1, argv + 1);
	}
	return berth_main(argc, argv);
}
