/* Device access control on cgroup v2: linux.resources.devices turned into
 * an eBPF program (BPF_PROG_TYPE_CGROUP_DEVICE) that the kernel runs on
 * every open and mknod of a device node by a process in the cgroup.
 *
 * Semantics are cgroup v1's as runc emulates them: the rules apply in order
 * to a state that denies everything, so for each access bit the last rule
 * that matches the device decides. A request (one or more of read, write,
 * mknod) is allowed only when every bit in it is. Rules are taken literally:
 * type 'a' with numbers or a partial access list means just that.
 *
 * Uses the raw bpf(2) system call; no libbpf. */
#ifndef BERTH_OCI_DEVFILTER_H
#define BERTH_OCI_DEVFILTER_H

#include <linux/bpf.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/berr.h"
#include "oci/config.h"

/* The name the program is loaded under; attach replaces programs of this
 * name on the cgroup, and leaves others alone. */
#define DEVFILTER_PROG_NAME "berth_devices"

/* The semantic model: whether rules allow access_mask (BPF_DEVCG_ACC_*
 * bits) on device type ('c' or 'b') major:minor. 1 allow, 0 deny, -EINVAL
 * if a rule is malformed. An empty mask or another type is denied. */
int devfilter_decide(const struct oci_device_rule *rules, size_t n, char type, uint32_t major, uint32_t minor,
		     unsigned access_mask);

/* The program for rules; *prog is malloc'd and the caller frees it. */
int devfilter_build(const struct oci_device_rule *rules, size_t n, struct bpf_insn **prog, size_t *len,
		    struct berr *err);

/* Loads a program built above; returns its fd. On refusal the error holds
 * the end of the verifier's log. */
int devfilter_load(const struct bpf_insn *prog, size_t len, struct berr *err);

/* Builds, loads and attaches the filter to the cgroup (BPF_F_ALLOW_MULTI),
 * replacing in place the program this module attached before, so that the
 * cgroup is never without a filter. */
int devfilter_attach(int cgroup_dirfd, const struct oci_device_rule *rules, size_t n, struct berr *err);

#endif
