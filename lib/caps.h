/* Capability sets of the calling process: the bounding set narrowed and the
 * effective, permitted and inheritable sets written, as raw syscalls so that
 * init (through proc_spawn) and berth-oci share one implementation. Bit N of
 * a mask is capability N (linux/capability.h). */
#ifndef BERTH_CAPS_H
#define BERTH_CAPS_H

#include <stdint.h>

/* Drops every capability outside keep from the bounding set. Returns 0, or
 * a negative errno with *failed set to the capability that could not be
 * dropped. Capabilities the kernel does not know are skipped. */
int caps_bound(uint64_t keep, int *failed);

/* capset: effective, permitted and inheritable; 0 or a negative errno. */
int caps_set(uint64_t effective, uint64_t permitted, uint64_t inheritable);

/* For a process about to exec as root with only keep: the bounding set
 * narrowed (so exec cannot give back more, setuid files included),
 * effective and permitted set to keep, inheritable and ambient emptied.
 * 0 or a negative errno. */
int caps_limit(uint64_t keep);

#endif
