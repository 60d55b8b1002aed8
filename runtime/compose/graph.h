/* The dependency graph of a compose project: in which order services
 * start, which can start together, and which cannot start at all (a
 * dependency that is unknown, invalid, not enabled, or part of a cycle).
 * Deterministic: among services that may start at the same time, names
 * sort the order. Reads the project only. */
#ifndef BERTH_COMPOSE_GRAPH_H
#define BERTH_COMPOSE_GRAPH_H

#include <stddef.h>

#include "compose/compose.h"
#include "lib/arena.h"
#include "lib/berr.h"

struct compose_blocked {
	size_t service; /* index in the project's services */
	char *why;	/* "file:line: services.web: cannot start: ..." */
};

struct compose_graph {
	struct arena arena;
	/* Startable services (indexes into the project's services), in start
	 * order: group by group, by name within a group. */
	size_t *order;
	size_t norder;
	/* Group g is order[group_start[g] .. group_start[g + 1]): its
	 * services depend only on services of earlier groups, so they can
	 * start in parallel once those are up. */
	size_t *group_start; /* ngroups + 1 entries */
	size_t ngroups;
	struct compose_blocked *blocked; /* active services that cannot start */
	size_t nblocked;
	char **errors; /* "file: depends_on cycle: a -> b -> a" */
	size_t nerrors;
};

/* Builds the graph of the project's active services. Fails only when out
 * of memory; problems with dependencies are in blocked and errors. */
int compose_graph_build(const struct compose_project *p, struct compose_graph *g, struct berr *err);

void compose_graph_free(struct compose_graph *g);

#endif
