/* berthd: the daemon that runs the system containers (see daemon.h). */
#ifndef BERTH_BERTHD_H
#define BERTH_BERTHD_H

int berthd_main(int argc, char **argv);

#endif
