/* berthd: the daemon that runs the system containers.
 *
 * Who calls whom in daemon/ (an arrow is a call or an include; nothing
 * calls back up, changes travel up through the table's observers):
 *
 *   berthd.c   main: starts the modules in order, turns signals into work
 *     |
 *   api.c      requests of the berth CLI (proto/); answers waiting ones
 *     |          when the table says a container changed
 *   apply.c    compose.yaml and `berth run` into definitions (compose/)
 *     |
 *   sup.c      containers' lives: start, stop, restart, adopt, shutdown
 *     |  \
 *     |   health.c   healthchecks            network.c  bridges, names, rules
 *     |   bundle.c   root filesystems        images.c   the image store
 *     |      (sup calls all four; network and images walk the table)
 *     |
 *   ctrtab.c   the container table: find, walk, add, delete; observers
 *   ctr.c      what a container is, and its record (fields.c) on DATA
 *   loop.c     the event loop (daemon.h): fds, the timer, children
 *
 * Observers (ctrtab.h): sup.c and health.c publish; network.c (its state
 * is derived from the running containers), api.c (requests waiting for a
 * container) and sup.c (dependencies on a healthy container) subscribe.
 * The loop gets the next deadline and what to do then from berthd.c
 * (sup_next_deadline, sup_tick), so that it calls nothing above it. */
#ifndef BERTH_BERTHD_H
#define BERTH_BERTHD_H

int berthd_main(int argc, char **argv);

#endif
