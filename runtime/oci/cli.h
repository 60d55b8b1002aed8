/* berth-oci's command line (runc-compatible). */
#ifndef BERTH_OCI_CLI_H
#define BERTH_OCI_CLI_H

/* Returns the process exit status. */
int cli_main(int argc, char **argv);

#endif
