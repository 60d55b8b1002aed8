/* Contexts: named Berth hosts kept on the desk (docker context's
 * counterpart). Each is a file $XDG_CONFIG_HOME/berth/contexts/NAME
 * (~/.config/berth/... without XDG_CONFIG_HOME) of "key=value" lines
 * (host=ssh://..., description=...); the one in use is named in
 * .../berth/context. "default" is this machine's berthd. */
#ifndef BERTH_CLI_CONTEXT_H
#define BERTH_CLI_CONTEXT_H

#include <stddef.h>

#include "cli/remote.h"
#include "lib/berr.h"

#define CONTEXT_NAME_MAX 64
#define CONTEXT_DEFAULT "default"

/* `berth context create|ls|use|rm|show ...`; argv[0] is "context". */
int context_main(int argc, char **argv);

/* The host context name points at: 1 with r filled, 0 for "default", or
 * -errno with err naming the context (unknown, or a bad file). */
int context_host(const char *name, struct remote *r, struct berr *err);

/* The name of the context in use ("default" when none was chosen). */
int context_current(char *name, size_t size, struct berr *err);

/* 0 if name can name a context: a letter or digit, then letters, digits,
 * '.', '_', '-', at most CONTEXT_NAME_MAX - 1 bytes. */
int context_name_valid(const char *name, struct berr *err);

#endif
