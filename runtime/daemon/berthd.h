/* berthd: the daemon that runs the system containers.
 *
 * daemon/ in layers; each calls only modules below it (besides the table,
 * ctr and the loop, which every module above them uses):
 *
 *   berthd.c   main: start order, signals     -> api apply sup network images pulls status dataformat loop
 *   api.c      the CLI's requests (proto/)     -> apply sup network images
 *   apply.c    compose.yaml, `berth run`       -> sup network images pulls bundle
 *   sup.c      containers' lives               -> health network bundle
 *   health.c   healthchecks                    -> (table, loop)
 *   network.c  bridges, names, rules (net/)    -> (table, loop)
 *   images.c   the image store (image/)        -> (table)
 *   pulls.c    pulls in children (registry/)   -> (loop; apply through a hook)
 *   bundle.c   root filesystems, volumes       -> (ctr)
 *   status.c   the status file for init's gate -> (table)
 *   dataformat.c  DATA's format marker, migrations -> lib/ only
 *   ctrtab.c   the container table, observers  -> ctr
 *   ctr.c      containers, their record        -> fields.c
 *   loop.c     the event loop (daemon.h)       -> lib/ only
 *
 * Nothing calls back up. Changes travel up through the table's observers
 * (ctrtab.h): sup.c and health.c publish; network.c (names and rules
 * follow the running containers), api.c (requests waiting for a
 * container), sup.c (dependencies on a healthy container) and status.c
 * (init's health gate after an OS update) subscribe.
 * The loop learns the next deadline and what to do then from hooks that
 * berthd.c gives it (sup_next_deadline, sup_tick). */
#ifndef BERTH_BERTHD_H
#define BERTH_BERTHD_H

int berthd_main(int argc, char **argv);

#endif
