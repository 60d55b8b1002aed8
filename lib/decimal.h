/* The one strict reader of unsigned decimals that init and the runtime take
 * from files, names and command lines: digits only, the whole string, no
 * sign, no space, no base prefix, and never past a given maximum. strtoul
 * lets " 12", "+12", "-1" (as ULONG_MAX) and "12abc" through unless every
 * caller checks each case; this checks them once. */
#ifndef BERTH_DECIMAL_H
#define BERTH_DECIMAL_H

#include <stdint.h>

/* s as a number in [0, max] into *out: 0, -EINVAL when s is not one or more
 * decimal digits and nothing else, -ERANGE when it is above max. *out is
 * left alone on failure. Time linear in strlen(s). */
int decimal_parse(const char *s, uint64_t max, uint64_t *out);

#endif
