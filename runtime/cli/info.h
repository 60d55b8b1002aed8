/* `berth info`: what this host is and how it was set up at boot: the
 * version, the host name, the boot slot, and where its cloud metadata came
 * from (the file init writes, /run/berth/metadata). */
#ifndef BERTH_CLI_INFO_H
#define BERTH_CLI_INFO_H

int cmd_info(int argc, char **argv);

#endif
