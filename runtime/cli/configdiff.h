/* What differs between two generations' YAML: the entries of two
 * mappings (compose.yaml's services, host.yaml's top level) compared by
 * what they say, not how they are laid out. One walk serves both the
 * diff `berth config diff` and `apply` print and apply's choice between a
 * live switch and a trial, so the two can never disagree about what
 * changed. Reads only the trees it is given: prints nothing, opens no
 * file. */
#ifndef BERTH_CLI_CONFIGDIFF_H
#define BERTH_CLI_CONFIGDIFF_H

#include <stddef.h>

struct yt_node;

enum configdiff_change {
	CONFIGDIFF_CREATED, /* in the new mapping only */
	CONFIGDIFF_REMOVED, /* in the old one only */
	CONFIGDIFF_CHANGED, /* in both, saying different things */
};

typedef void (*configdiff_fn)(const char *key, enum configdiff_change change, void *ctx);

/* Calls fn once for each key that differs between old and new (NULL, or
 * not a mapping: no entries): first new's keys in their order, then the
 * removed ones in old's. Returns how many it reported. */
size_t configdiff_maps(const struct yt_node *old, const struct yt_node *new, configdiff_fn fn, void *ctx);

/* Whether going from one host.yaml top level to the other changes a
 * setting that applies on trial (hostcfg_when: the network). */
int configdiff_needs_trial(const struct yt_node *old_host, const struct yt_node *new_host);

#endif
