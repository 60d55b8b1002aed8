/* `berth system dial-stdio [SOCKET]`, run on a host by a remote CLI
 * through ssh: joins its stdio to berthd's socket (or to a container's
 * attach socket under /run/berth), frame by frame (proto.h). Descriptors
 * cannot cross ssh, so a request that names "relay" gets pipes in their
 * place: "o" and "e" (the client's stdout and stderr: what berthd writes
 * there comes back as STDOUT and STDERR frames, before berthd's answer)
 * and "i" (an input: the client's STDIN frames fill it, STDIN_EOF ends
 * it). */
#ifndef BERTH_CLI_DIALSTDIO_H
#define BERTH_CLI_DIALSTDIO_H

/* argv[0] is "dial-stdio". Returns the exit status. */
int dialstdio_main(int argc, char **argv);

/* 1 if path is a socket dial-stdio may join: berthd's, or an attach.sock
 * directly in a directory under /run/berth. */
int dialstdio_path_allowed(const char *path);

#endif
