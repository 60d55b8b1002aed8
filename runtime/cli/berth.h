/* The berth CLI (see berth.c). */
#ifndef BERTH_CLI_BERTH_H
#define BERTH_CLI_BERTH_H

int berth_main(int argc, char **argv);

#endif
