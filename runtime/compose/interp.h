/* Variables for compose.yaml: the set the caller provides (the daemon reads
 * /config/.env), interpolation of ${VAR} and friends in string values, and
 * the dotenv format shared by .env and env_file. Pure text work: the only
 * file this module opens is the one it is asked to load. */
#ifndef BERTH_COMPOSE_INTERP_H
#define BERTH_COMPOSE_INTERP_H

#include <stddef.h>

#include "lib/berr.h"
#include "lib/strmap.h"

#define COMPOSE_VARS_MAX 4096	      /* variables in one set */
#define COMPOSE_DOTENV_MAX (1u << 20) /* bytes of one .env or env_file */
#define COMPOSE_INTERP_MAX (1u << 20) /* bytes of one value after interpolation */
#define COMPOSE_INTERP_DEPTH 16	      /* ${A:-${B:-...}} nesting */

struct compose_var {
	char *name;
	char *value;
};

/* An ordered set of NAME=VALUE (malloc-owned; {0} is an empty set).
 * Setting a name again replaces its value in place, so the first
 * definition keeps its place. */
struct compose_vars {
	struct compose_var *items;
	size_t count;
	size_t cap;
	struct strmap index; /* name -> position + 1 */
};

int compose_vars_set(struct compose_vars *v, const char *name, const char *value);
const char *compose_vars_get(const struct compose_vars *v, const char *name);
void compose_vars_free(struct compose_vars *v);

/* Where interpolation looks a name up: vars first, then fallback (either
 * may be NULL). unset, when not NULL, is told of every variable used while
 * unset and without a default (Compose warns and substitutes ""). */
struct compose_interp {
	const struct compose_vars *vars;
	const struct compose_vars *fallback;
	void (*unset)(void *ctx, const char *name);
	void *ctx;
};

/* Expands $VAR, ${VAR}, ${VAR:-d}, ${VAR-d}, ${VAR:?msg}, ${VAR?msg},
 * ${VAR:+r}, ${VAR+r} and $$ in text into a malloc'd *out. Errors (a
 * required variable, a malformed expression) are -EINVAL with a message
 * that names the problem but no file or line: the caller adds those. */
int compose_interpolate(const struct compose_interp *in, const char *text, char **out, struct berr *err);

/* Parses dotenv text: NAME=VALUE lines, `export` prefixes, # comments,
 * 'literal' and "escaped" values (both may span lines), inline comments
 * after a space. Unquoted and double-quoted values are interpolated from
 * the names already in out, then from lookup. A bare NAME takes its value
 * from lookup and is skipped when lookup has none. Errors say
 * "name:line: ...". */
int compose_dotenv_parse(struct compose_vars *out, const struct compose_vars *lookup, const char *name, const char *buf,
			 size_t len, struct berr *err);

/* Reads and parses a dotenv file (a regular file of at most
 * COMPOSE_DOTENV_MAX bytes); display names it in messages. A missing file
 * is -ENOENT with err set. */
int compose_dotenv_load(struct compose_vars *out, const struct compose_vars *lookup, const char *path,
			const char *display, struct berr *err);

#endif
