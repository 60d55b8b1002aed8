/* Strict unsigned decimals (see decimal.h). */
#include "lib/decimal.h"

#include <errno.h>
#include <stdint.h>

int decimal_parse(const char *s, uint64_t max, uint64_t *out)
{
	if (*s == '\0') {
		return -EINVAL;
	}
	uint64_t v = 0;
	int over = 0;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9') {
			return -EINVAL;
		}
		unsigned d = (unsigned)(*s - '0');
		/* Past max once, past it for good: the rest are still read, so that
		 * "99999999999999999999x" is -EINVAL, not -ERANGE. */
		if (over || d > max || v > (max - d) / 10) {
			over = 1;
		} else {
			v = v * 10 + d;
		}
	}
	if (over) {
		return -ERANGE;
	}
	*out = v;
	return 0;
}
