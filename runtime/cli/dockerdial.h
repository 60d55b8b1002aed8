/* `docker system dial-stdio` on a Berth host: the command a desk's docker
 * CLI runs through ssh (`docker -H ssh://root@HOST ...`). The host has no
 * Docker of its own; dockerd runs in the system container named "engine"
 * (docs/fleet.md), and this joins stdio to its API socket, /run/docker.sock
 * resolved inside that container's root. The bytes (HTTP) pass unchanged
 * both ways. Any other docker command is refused with what to run instead. */
#ifndef BERTH_CLI_DOCKERDIAL_H
#define BERTH_CLI_DOCKERDIAL_H

#define DOCKERDIAL_CONTAINER "engine"
#define DOCKERDIAL_SOCKET "/run/docker.sock"

/* argv[0] is "docker". Returns the exit status. */
int dockerdial_main(int argc, char **argv);

#endif
