/* The dependency graph (see graph.h). Tarjan's algorithm finds the
 * strongly connected components without recursion (a long chain of
 * services must not overflow the stack); it emits each component after
 * every component it depends on, so one pass in emission order settles
 * each service's fate and its group (one more than its deepest
 * dependency). */
#include "compose/graph.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"

#define NONE ((size_t)-1)

struct edge {
	size_t to;
	const struct compose_dep *dep;
};

struct work {
	const struct compose_project *p;
	struct compose_graph *g;
	size_t n;
	size_t *by_name; /* service indexes sorted by name */
	size_t *rank;	 /* position of each service in by_name */
	int *is_node;	 /* active and valid: takes part in the graph */
	struct edge **edges;
	size_t *nedges;
	/* Tarjan */
	size_t *index;
	size_t *low;
	int *on_stack;
	size_t *stack;
	size_t nstack;
	size_t *call;
	size_t *call_edge;
	size_t *scc;
	size_t nscc;
	/* results */
	int *blocked;
	size_t *level;
	char **why;
};

struct named {
	const char *name;
	size_t index;
};

static int named_cmp(const void *a, const void *b)
{
	return strcmp(((const struct named *)a)->name, ((const struct named *)b)->name);
}

static size_t find(const struct work *w, const char *name)
{
	size_t lo = 0;
	size_t hi = w->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(w->p->services[w->by_name[mid]].name, name);
		if (c == 0) {
			return w->by_name[mid];
		}
		if (c < 0) {
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	return NONE;
}

__attribute__((format(printf, 2, 3))) static char *afmt(struct arena *a, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int len = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (len < 0) {
		return NULL;
	}
	char *s = arena_alloc(a, (size_t)len + 1);
	if (s == NULL) {
		return NULL;
	}
	va_start(ap, fmt);
	if (vsnprintf(s, (size_t)len + 1, fmt, ap) < 0) {
		s[0] = '\0';
	}
	va_end(ap);
	return s;
}

static int block(struct work *w, size_t v, int line, const char *reason)
{
	const struct compose_service *s = &w->p->services[v];
	w->blocked[v] = 1;
	w->why[v] = afmt(&w->g->arena, "%s:%d: services.%s: cannot start: %s", s->file ? s->file : w->p->file, line,
			 s->name, reason);
	return w->why[v] ? 0 : -ENOMEM;
}

static int edge_cmp_rank(const struct work *w, const struct edge *a, const struct edge *b)
{
	return w->rank[a->to] < w->rank[b->to] ? -1 : w->rank[a->to] > w->rank[b->to];
}

/* Insertion sort: dependency lists are short. */
static void sort_edges(const struct work *w, struct edge *e, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		struct edge t = e[i];
		size_t j = i;
		while (j > 0 && edge_cmp_rank(w, &e[j - 1], &t) > 0) {
			e[j] = e[j - 1];
			j--;
		}
		e[j] = t;
	}
}

static int build_edges(struct work *w)
{
	for (size_t v = 0; v < w->n; v++) {
		const struct compose_service *s = &w->p->services[v];
		if (!w->is_node[v]) {
			continue;
		}
		w->edges[v] = calloc(s->ndeps + 1, sizeof(struct edge));
		if (w->edges[v] == NULL) {
			return -ENOMEM;
		}
		for (size_t i = 0; i < s->ndeps; i++) {
			size_t t = find(w, s->deps[i].service);
			if (t != NONE && w->is_node[t]) {
				w->edges[v][w->nedges[v]++] = (struct edge){t, &s->deps[i]};
			}
		}
		sort_edges(w, w->edges[v], w->nedges[v]);
	}
	return 0;
}

/* The cycle through the SCC's first member by name, found breadth-first
 * (the shortest), following dependencies in name order. */
static int name_cycle(struct work *w, const size_t *members, size_t count, size_t scc_mark, size_t *scc_of)
{
	size_t start = members[0];
	for (size_t i = 1; i < count; i++) {
		if (w->rank[members[i]] < w->rank[start]) {
			start = members[i];
		}
	}
	auto_free size_t *parent = malloc(w->n * sizeof(size_t));
	auto_free size_t *queue = malloc(w->n * sizeof(size_t));
	if (parent == NULL || queue == NULL) {
		return -ENOMEM;
	}
	for (size_t i = 0; i < count; i++) {
		parent[members[i]] = NONE;
	}
	size_t head = 0;
	size_t tail = 0;
	size_t last = NONE;
	queue[tail++] = start;
	parent[start] = start;
	while (head < tail && last == NONE) {
		size_t u = queue[head++];
		for (size_t e = 0; e < w->nedges[u]; e++) {
			size_t t = w->edges[u][e].to;
			if (scc_of[t] != scc_mark) {
				continue;
			}
			if (t == start) {
				last = u;
				break;
			}
			if (parent[t] == NONE) {
				parent[t] = u;
				queue[tail++] = t;
			}
		}
	}
	/* last -> start closes the cycle; walk back from last to start. */
	size_t len = 0;
	size_t hops = 0;
	for (size_t u = last;; u = parent[u]) {
		len += strlen(w->p->services[u].name) + 4;
		hops++;
		if (u == start) {
			break;
		}
	}
	len += strlen(w->p->services[start].name) + 1;
	char *path = arena_alloc(&w->g->arena, len);
	auto_free size_t *seq = malloc(hops * sizeof(size_t));
	if (path == NULL || seq == NULL) {
		return -ENOMEM;
	}
	size_t k = hops;
	for (size_t u = last;; u = parent[u]) {
		seq[--k] = u;
		if (u == start) {
			break;
		}
	}
	size_t pos = 0;
	for (size_t i = 0; i < hops; i++) {
		const char *name = w->p->services[seq[i]].name;
		memcpy(path + pos, name, strlen(name));
		pos += strlen(name);
		memcpy(path + pos, " -> ", 4);
		pos += 4;
	}
	memcpy(path + pos, w->p->services[start].name, strlen(w->p->services[start].name) + 1);
	struct compose_graph *g = w->g;
	g->errors[g->nerrors] = afmt(&g->arena, "%s: depends_on cycle: %s", w->p->file, path);
	if (g->errors[g->nerrors] == NULL) {
		return -ENOMEM;
	}
	g->nerrors++;
	char *reason = afmt(&g->arena, "it is part of the depends_on cycle %s", path);
	if (reason == NULL) {
		return -ENOMEM;
	}
	for (size_t i = 0; i < count; i++) {
		if (block(w, members[i], w->p->services[members[i]].line, reason) < 0) {
			return -ENOMEM;
		}
	}
	return 0;
}

/* A service alone in its component: its fate follows from its
 * dependencies, which are all settled by now. */
static int settle(struct work *w, size_t v)
{
	const struct compose_service *s = &w->p->services[v];
	for (size_t i = 0; i < s->ndeps; i++) {
		const struct compose_dep *d = &s->deps[i];
		size_t t = find(w, d->service);
		const char *which = NULL;
		if (t == NONE) {
			which = "is not defined";
		} else if (!w->p->services[t].active) {
			which = "is not enabled by the active profiles";
		} else if (!w->p->services[t].valid) {
			which = "has errors in its definition";
		} else if (w->blocked[t]) {
			which = "cannot start";
		}
		if (which != NULL) {
			if (!d->required) {
				continue;
			}
			char *reason = afmt(&w->g->arena, "%s '%s', which %s", d->implicit ? d->implicit : "depends on",
					    d->service, which);
			return reason ? block(w, v, d->line, reason) : -ENOMEM;
		}
		if (w->level[t] + 1 > w->level[v]) {
			w->level[v] = w->level[t] + 1;
		}
	}
	return 0;
}

static int emit_scc(struct work *w, const size_t *members, size_t count, size_t *scc_of, size_t mark)
{
	for (size_t i = 0; i < count; i++) {
		scc_of[members[i]] = mark;
	}
	int cyclic = count > 1;
	for (size_t e = 0; !cyclic && e < w->nedges[members[0]]; e++) {
		cyclic = w->edges[members[0]][e].to == members[0];
	}
	if (cyclic) {
		return name_cycle(w, members, count, mark, scc_of);
	}
	return settle(w, members[0]);
}

static int tarjan(struct work *w)
{
	auto_free size_t *scc_of = malloc(w->n * sizeof(size_t));
	if (scc_of == NULL) {
		return -ENOMEM;
	}
	size_t counter = 0;
	size_t marks = 0;
	for (size_t i = 0; i < w->n; i++) {
		w->index[i] = NONE;
		scc_of[i] = NONE;
	}
	for (size_t r = 0; r < w->n; r++) {
		size_t root = w->by_name[r];
		if (!w->is_node[root] || w->index[root] != NONE) {
			continue;
		}
		size_t depth = 0;
		w->call[depth] = root;
		w->call_edge[depth] = 0;
		depth++;
		w->index[root] = w->low[root] = counter++;
		w->stack[w->nstack++] = root;
		w->on_stack[root] = 1;
		while (depth > 0) {
			size_t v = w->call[depth - 1];
			if (w->call_edge[depth - 1] < w->nedges[v]) {
				size_t t = w->edges[v][w->call_edge[depth - 1]++].to;
				if (w->index[t] == NONE) {
					w->index[t] = w->low[t] = counter++;
					w->stack[w->nstack++] = t;
					w->on_stack[t] = 1;
					w->call[depth] = t;
					w->call_edge[depth] = 0;
					depth++;
				} else if (w->on_stack[t] && w->index[t] < w->low[v]) {
					w->low[v] = w->index[t];
				}
				continue;
			}
			depth--;
			if (depth > 0) {
				size_t u = w->call[depth - 1];
				if (w->low[v] < w->low[u]) {
					w->low[u] = w->low[v];
				}
			}
			if (w->low[v] == w->index[v]) {
				size_t count = 0;
				size_t t;
				do {
					t = w->stack[--w->nstack];
					w->on_stack[t] = 0;
					w->scc[count++] = t;
				} while (t != v);
				int ret = emit_scc(w, w->scc, count, scc_of, marks++);
				if (ret < 0) {
					return ret;
				}
			}
		}
	}
	return 0;
}

static int collect(struct work *w)
{
	struct compose_graph *g = w->g;
	size_t ngroups = 0;
	size_t nstart = 0;
	for (size_t v = 0; v < w->n; v++) {
		if (w->is_node[v] && !w->blocked[v]) {
			nstart++;
			if (w->level[v] + 1 > ngroups) {
				ngroups = w->level[v] + 1;
			}
		}
	}
	g->order = arena_alloc(&g->arena, (nstart + 1) * sizeof(size_t));
	g->group_start = arena_alloc(&g->arena, (ngroups + 1) * sizeof(size_t));
	g->blocked = arena_alloc(&g->arena, (w->n + 1) * sizeof(*g->blocked));
	if (g->order == NULL || g->group_start == NULL || g->blocked == NULL) {
		return -ENOMEM;
	}
	/* Counting sort by group, stable in name order. */
	auto_free size_t *count = calloc(ngroups + 1, sizeof(size_t));
	if (count == NULL) {
		return -ENOMEM;
	}
	for (size_t v = 0; v < w->n; v++) {
		if (w->is_node[v] && !w->blocked[v]) {
			count[w->level[v] + 1]++;
		}
	}
	for (size_t l = 0; l < ngroups; l++) {
		count[l + 1] += count[l];
		g->group_start[l] = count[l];
	}
	g->group_start[ngroups] = nstart;
	for (size_t r = 0; r < w->n; r++) {
		size_t v = w->by_name[r];
		if (w->is_node[v] && !w->blocked[v]) {
			g->order[count[w->level[v]]++] = v;
		} else if (w->p->services[v].active && (w->blocked[v] || !w->p->services[v].valid)) {
			g->blocked[g->nblocked].service = v;
			g->blocked[g->nblocked].why = w->why[v];
			g->nblocked++;
		}
	}
	g->norder = nstart;
	g->ngroups = ngroups;
	return 0;
}

static void free_work(struct work *w)
{
	if (w->edges != NULL) {
		for (size_t i = 0; i < w->n; i++) {
			free(w->edges[i]);
		}
	}
	free(w->edges);
	free(w->nedges);
	free(w->by_name);
	free(w->rank);
	free(w->is_node);
	free(w->index);
	free(w->low);
	free(w->on_stack);
	free(w->stack);
	free(w->call);
	free(w->call_edge);
	free(w->scc);
	free(w->blocked);
	free(w->level);
	free(w->why);
}

int compose_graph_build(const struct compose_project *p, struct compose_graph *g, struct berr *err)
{
	memset(g, 0, sizeof(*g));
	size_t n = p->nservices;
	size_t m = n + 1; /* calloc(0) may return NULL */
	struct work w = {.p = p, .g = g, .n = n};
	w.by_name = calloc(m, sizeof(size_t));
	w.rank = calloc(m, sizeof(size_t));
	w.is_node = calloc(m, sizeof(int));
	w.edges = calloc(m, sizeof(struct edge *));
	w.nedges = calloc(m, sizeof(size_t));
	w.index = calloc(m, sizeof(size_t));
	w.low = calloc(m, sizeof(size_t));
	w.on_stack = calloc(m, sizeof(int));
	w.stack = calloc(m, sizeof(size_t));
	w.call = calloc(m, sizeof(size_t));
	w.call_edge = calloc(m, sizeof(size_t));
	w.scc = calloc(m, sizeof(size_t));
	w.blocked = calloc(m, sizeof(int));
	w.level = calloc(m, sizeof(size_t));
	w.why = calloc(m, sizeof(char *));
	g->errors = arena_alloc(&g->arena, m * sizeof(char *));
	int ret = -ENOMEM;
	if (w.by_name == NULL || w.rank == NULL || w.is_node == NULL || w.edges == NULL || w.nedges == NULL ||
	    w.index == NULL || w.low == NULL || w.on_stack == NULL || w.stack == NULL || w.call == NULL ||
	    w.call_edge == NULL || w.scc == NULL || w.blocked == NULL || w.level == NULL || w.why == NULL ||
	    g->errors == NULL) {
		goto out;
	}
	struct named *names = calloc(m, sizeof(*names));
	if (names == NULL) {
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		names[i] = (struct named){p->services[i].name, i};
		w.is_node[i] = p->services[i].active && p->services[i].valid;
	}
	qsort(names, n, sizeof(*names), named_cmp);
	for (size_t i = 0; i < n; i++) {
		w.by_name[i] = names[i].index;
		w.rank[names[i].index] = i;
	}
	free(names);
	for (size_t v = 0; v < n; v++) {
		if (p->services[v].active && !p->services[v].valid &&
		    block(&w, v, p->services[v].line, "its definition has errors") < 0) {
			goto out;
		}
	}
	if (build_edges(&w) < 0 || tarjan(&w) < 0 || collect(&w) < 0) {
		goto out;
	}
	ret = 0;
out:
	free_work(&w);
	if (ret < 0) {
		compose_graph_free(g);
		return berr_set(err, -ret, "%s: dependency graph", p->file);
	}
	return 0;
}

void compose_graph_free(struct compose_graph *g)
{
	arena_free(&g->arena);
	memset(g, 0, sizeof(*g));
}
