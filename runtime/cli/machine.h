/* berth machine: Berth VMs on the build machine (create, ls, start, stop,
 * rm, ssh), as Docker Machine made engine hosts. The work is QEMU's and
 * the image tools', driven by out/host/berth-machine (a shell program
 * beside this berth, as docker's CLI plugins sit beside docker); this
 * command finds it and hands it the command line. */
#ifndef BERTH_CLI_MACHINE_H
#define BERTH_CLI_MACHINE_H

/* berth machine SUBCOMMAND ...; argv[0] is "machine". Does not return
 * unless berth-machine cannot be run (exit status 1, said why). */
int machine_main(int argc, char **argv);

#endif
