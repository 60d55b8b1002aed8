/* linux.seccomp of an OCI config: compiling it into a libseccomp filter,
 * loading it, exporting its BPF.
 *
 * Semantics follow runtime-spec config-linux.md and runc where the spec is
 * silent: syscall names this libseccomp does not know are skipped with a
 * warning; a rule whose action equals the default action is dropped (the
 * kernel would do the same, libseccomp refuses it); a rule with several
 * conditions on one argument becomes one rule per condition (libseccomp
 * cannot AND two comparisons of the same argument), so those conditions are
 * ORed. Errors name the JSON field ("linux.seccomp.syscalls[3].args[0].op:
 * ..."). SCMP_ACT_NOTIFY is refused: Berth has no seccomp agent.
 *
 * This module owns no state: a filter is built, used and released. */
#ifndef BERTH_OCI_SECCOMP_H
#define BERTH_OCI_SECCOMP_H

#include <stddef.h>

/* Not <seccomp.h>: with runtime/oci on the include path that name is this
 * very file. */
#include <libseccomp/seccomp.h>

#include "lib/berr.h"
#include "oci/config.h"

/* Compiles s into a new filter, returned in *out (free it with
 * seccomp_release). Warnings are appended at warnings[*nwarnings] while
 * *nwarnings < max_warnings; later ones are dropped. warnings may be NULL
 * when max_warnings is 0.
 *
 * Loading the filter needs no_new_privs or CAP_SYS_ADMIN: the filter does not
 * set no_new_privs by itself, because process.noNewPrivileges decides that. */
int oci_seccomp_build(const struct oci_seccomp *s, scmp_filter_ctx *out, char warnings[][256], size_t max_warnings,
		      size_t *nwarnings, struct berr *err);

/* Builds s and loads it into the calling thread (all threads with
 * SECCOMP_FILTER_FLAG_TSYNC). Meant for the container process just before
 * execve; opens no fds. Warnings are dropped: report them by building the
 * filter once before the container starts. */
int oci_seccomp_load(const struct oci_seccomp *s, struct berr *err);

/* Loads a filter built by oci_seccomp_build (e.g. built before fork, loaded
 * in the child, so that the child does no parsing or allocation). */
int oci_seccomp_load_filter(scmp_filter_ctx ctx, struct berr *err);

/* Writes the BPF program of s to fd (for tests, debugging and `features`). */
int oci_seccomp_export_bpf(const struct oci_seccomp *s, int fd, struct berr *err);

/* For `features`: the i-th architecture and flag name accepted; NULL past
 * the last. */
const char *oci_seccomp_arch_name(size_t i);
const char *oci_seccomp_flag_name(size_t i);

static inline void seccomp_releasep(scmp_filter_ctx *ctx)
{
	if (*ctx != NULL) {
		seccomp_release(*ctx);
	}
}

#define auto_seccomp __attribute__((cleanup(seccomp_releasep)))

#endif
