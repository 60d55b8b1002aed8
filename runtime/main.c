/* The runtime's one binary, by the name it is called with: berth-oci (the
 * OCI runtime; berthd and berth, the daemon and its CLI, come next). */
#include <stdio.h>
#include <string.h>

#include "cli.h"

int main(int argc, char **argv)
{
	const char *name = strrchr(argv[0], '/');
	name = name ? name + 1 : argv[0];
	if (strcmp(name, "berth-oci") == 0 || strcmp(name, "runc") == 0) {
		return cli_main(argc, argv);
	}
	/* Called by another name (or as berth): the OCI runtime's commands
	 * are also reachable as `berth oci ...`. */
	if (argc > 1 && strcmp(argv[1], "oci") == 0) {
		argv[1] = "berth-oci";
		return cli_main(argc - 1, argv + 1);
	}
	fprintf(stderr, "%s: unknown name; call this program as berth-oci\n", name);
	return 2;
}
