/* Signal names as users and runtimes' command lines give them: "SIGTERM",
 * "term", "15", "RTMIN+3", "SIGRTMAX-1". The one parser of signal names in
 * Berth (the CLI, compose's stop_signal, berth-oci kill). */
#ifndef BERTH_SIGNAME_H
#define BERTH_SIGNAME_H

/* The kernel's real-time signal range. The C library reserves a few at the
 * bottom (SIGRTMIN is 34 with glibc's headers' kernel view, 35 in musl);
 * Docker and runc name the kernel's numbers, and so does Berth, since the
 * signal goes to another program with its own libc. */
#define SIGNAME_RTMIN 34
#define SIGNAME_RTMAX 64

/* Stores the signal number for s in *sig; -EINVAL for anything else
 * (unknown names, 0, numbers above 64, RTMIN+31). */
int signal_parse(const char *s, int *sig);

#endif
