/* graph: the dependency graph over services. Nodes are indexes 0..n-1 with
 * names for messages; an edge a -> b means "a depends on b". Start order
 * comes in levels (level 0 has no dependencies; the services in one level
 * start in parallel); stop order is the reverse. Pure data, no I/O. */
#pragma once

#include "lib/util.h"

typedef struct Graph Graph;

Graph *graph_new(size_t n, const char *const *names); /* names are copied */
void graph_free(Graph *g);
size_t graph_size(const Graph *g);
const char *graph_name(const Graph *g, size_t i);
void graph_add_edge(Graph *g, size_t from, size_t to); /* from depends on to; repeats ignored */
/* Dependencies / dependents of node i. */
size_t graph_deps(const Graph *g, size_t i, const size_t **ret);
size_t graph_dependents(const Graph *g, size_t i, const size_t **ret);

/* Finds a cycle. Returns 0 when there is none; otherwise 1 with the cycle's
 * nodes in dependency order in *ret_cycle (malloc'd, the first node repeated
 * at the end: a -> b -> c -> a) and its length. */
int graph_find_cycle(const Graph *g, size_t **ret_cycle, size_t *ret_n);

/* Assigns each node its start level: 0 for no dependencies, else 1 + the
 * highest level among its dependencies. Only nodes with selected[i] (all when
 * selected is NULL) take part. Returns the number of levels, or -ELOOP on a
 * cycle. *ret_level is malloc'd, n entries, SIZE_MAX for unselected nodes. */
int graph_levels(const Graph *g, const bool *selected, size_t **ret_level);

/* Marks roots and everything they depend on, transitively. selected has n
 * entries and is only ever set to true. */
void graph_closure(const Graph *g, const size_t *roots, size_t n_roots, bool *selected);

/* Start order: selected nodes sorted by level, then by index. Stop order is
 * the same list reversed. Returns the count; -ELOOP on a cycle. */
int graph_start_order(const Graph *g, const bool *selected, size_t **ret_order);
