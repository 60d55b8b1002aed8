/* Capabilities and identity of the container process: the bounding set
 * dropped to what the config allows, user and groups switched, then the
 * effective, permitted, inheritable and ambient sets set exactly as asked
 * (inheritable stays empty unless the config lists it). */
#ifndef BERTH_OCI_CAPS_H
#define BERTH_OCI_CAPS_H

#include "lib/berr.h"
#include "oci/config.h"

/* Drops every capability outside bounding from the bounding set. */
int caps_drop_bounding(uint64_t bounding, struct berr *err);

/* Gives stdio to the process's user (its uid; runc does the same), so that
 * a program running as that user can reopen /dev/stdout or /proc/self/fd/1
 * (nginx's logs are links to them): pipes made by a shim belong to root.
 * /dev/null is never chowned; a chown the kernel refuses is skipped. */
int caps_stdio_to_user(const struct oci_user *u, struct berr *err);

/* setgroups/setresgid/setresuid to the process's user, keeping the
 * capabilities across the uid change so that caps_apply can set them. */
int caps_switch_user(const struct oci_user *u, struct berr *err);

/* Sets effective, permitted, inheritable and ambient. */
int caps_apply(const struct oci_caps *c, struct berr *err);

#endif
