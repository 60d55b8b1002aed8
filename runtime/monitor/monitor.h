/* A container's monitor (the role of podman's conmon or containerd's
 * shim): one small process per container that owns the container's stdio,
 * writes its log, serves attach clients and keeps its exit status, so that
 * containers never depend on berthd being up. berthd starts it and may die
 * and come back; the monitor carries on alone.
 *
 * Started as `berth monitor OPTIONS` (berthd forks and executes
 * /proc/self/exe) with:
 *   --name NAME           the OCI container id
 *   --dir DIR             its run-time directory (/run/berth/c/NAME); the
 *                         monitor writes there:
 *                           monitor.pid  its own pid (written first)
 *                           pid          the container's init pid, once created
 *                           attach.sock  the attach socket (mode 0600)
 *                           exit.json    {"exit_code": N, "signal": S or 0,
 *                                         "finished_at": "RFC 3339"}, written
 *                                         atomically when the container ends
 *                           console.sock transient (--console-socket)
 *   --bundle DIR          OCI bundle for `create`
 *   --oci-root DIR        --root of the OCI runtime
 *   --runtime PATH        the OCI runtime to execute (default /proc/self/exe
 *                         called as berth-oci); tests substitute a fake
 *   --log PATH            log file (logfile.h); --log-max-size BYTES,
 *                         --log-max-files N
 *   --tty                 the container has a terminal: create with
 *                         --console-socket, keep the master
 *   --stdin               keep the container's stdin open (a pipe, or the
 *                         terminal) for attach clients; otherwise /dev/null
 *   --wait-attach         start the container only once the first attach
 *                         client has connected (berth run without -d, so no
 *                         output is lost)
 *   --status-fd N         an inherited pipe: the monitor writes one line,
 *                         "ok PID\n" once the container has started, or
 *                         "error MESSAGE\n" when create or start failed
 *                         (then exits 1), and closes it
 *
 * The monitor runs in its own session (setsid), is a child subreaper (the
 * container's init is its child), ignores SIGTERM, SIGINT, SIGHUP and
 * SIGPIPE (berthd stops containers with `berth-oci kill`, never through the
 * monitor), and exits 0 after writing exit.json, sending an EXIT frame
 * (proto.h) to every attach client, flushing the log and closing. It never
 * deletes the OCI container: berthd does, after it has read exit.json.
 *
 * Attach clients (proto.h frames over attach.sock): receive STDOUT/STDERR
 * frames with live output from the moment they connect, then one EXIT
 * frame; may send STDIN, STDIN_EOF and RESIZE (applied to the terminal).
 * Several clients may attach at once; input from any goes to the
 * container. A slow client is dropped, never allowed to block the
 * container's output (the log is written first). */
#ifndef BERTH_MONITOR_H
#define BERTH_MONITOR_H

/* Entry point of `berth monitor`. */
int monitor_main(int argc, char **argv);

#endif
