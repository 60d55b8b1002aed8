/* Splitting a command line into words the way Docker Compose does for
 * `command: "..."` and `entrypoint: "..."`: POSIX shell quoting and
 * escapes, and nothing else (no variables, globs, comments or operators:
 * `;`, `|` and `#` are ordinary characters, since no shell runs). */
#ifndef BERTH_COMPOSE_SHLEX_H
#define BERTH_COMPOSE_SHLEX_H

#include <stddef.h>

#include "lib/arena.h"
#include "lib/berr.h"

/* Splits s into words allocated in a (*argv has *argc entries and a NULL
 * after them). Blanks (space, tab, newline, carriage return) separate
 * words; 'single quotes' keep everything literally; "double quotes" keep
 * everything but \" \\ \$ \` and backslash-newline; outside quotes a
 * backslash keeps the next character and backslash-newline joins lines.
 * An unterminated quote or a trailing backslash is -EINVAL. */
int compose_shlex_split(struct arena *a, const char *s, char ***argv, size_t *argc, struct berr *err);

#endif
