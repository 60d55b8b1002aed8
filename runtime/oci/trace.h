/* Timing marks for --debug: each step of a command, with the time since
 * the command started, on stderr. Costs nothing when off. */
#ifndef BERTH_OCI_TRACE_H
#define BERTH_OCI_TRACE_H

extern int oci_trace_on;

void oci_trace_start(void);
void oci_trace(const char *what);

#endif
