/* berth-init: the tiny init a container gets with `init: true` (what
 * tini is to Docker). As the container's PID 1 it runs the real command as
 * its child, passes every catchable signal on to it, reaps the orphans
 * that get re-parented to it, and exits with the command's status. berthd
 * bind-mounts this binary at CINIT_PATH read-only. */
#ifndef BERTH_CINIT_H
#define BERTH_CINIT_H

#define CINIT_PATH "/sbin/berth-init"

int cinit_main(int argc, char **argv);

#endif
