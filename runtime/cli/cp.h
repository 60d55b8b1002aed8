/* berth cp: files between a running container and this machine, as
 * docker cp copies them:
 *   berth cp NAME:SRC DEST    DEST "-": a tar of SRC on stdout
 *   berth cp SRC NAME:DEST    SRC "-": a tar on stdin, unpacked into DEST
 * Runs on the host: the container's files are reached through its init's
 * /proc/PID/root, every path resolved with openat2(RESOLVE_IN_ROOT) (a
 * symlink in the container never leads outside it) and every file made
 * relative to its parent's descriptor without following symlinks.
 * Regular files, directories and symlinks; files written into a container
 * belong to its root user. From the desk (remote.h) the tar crosses ssh:
 * the host runs `berth cp ... -`, this machine packs or unpacks. */
#ifndef BERTH_CLI_CP_H
#define BERTH_CLI_CP_H

/* argv[0] is "cp". Returns the exit status. */
int cp_main(int argc, char **argv);

/* The same from the desk against r's host. */
struct remote;
int cp_remote(const struct remote *r, int argc, char **argv);

/* The building blocks, for config apply: a tar of a directory's
 * contents (entries "./..."), and unpacking a tar into a directory
 * (anchor: its fd) with names as they are. */
#include "lib/berr.h"
int cp_pack_contents(const char *dir, int out, struct berr *err);
int cp_unpack_at(int anchor, int in, struct berr *err);

#endif
