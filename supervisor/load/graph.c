/* graph: the dependency graph over services, as adjacency lists in both
 * directions. Everything walks iteratively so that deep chains cannot
 * exhaust the stack, and the walks that order services (levels, start
 * order) are linear in nodes plus edges. Results are deterministic: nodes
 * are visited by index, edges in the order they were added. */
#include "load/graph.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct IndexVec {
    size_t *v;
    size_t n;
    size_t cap;
} IndexVec;

struct Graph {
    size_t n;
    char **names;
    IndexVec *deps;       /* deps[i]: what i depends on, in insertion order */
    IndexVec *dependents; /* dependents[i]: who depends on i */
};

static void index_vec_push(IndexVec *iv, size_t x)
{
    if (iv->n == iv->cap) {
        iv->cap = iv->cap ? iv->cap * 2 : 4;
        iv->v = xrealloc(iv->v, iv->cap * sizeof(size_t));
    }
    iv->v[iv->n++] = x;
}

Graph *graph_new(size_t n, const char *const *names)
{
    Graph *g = xcalloc(1, sizeof(Graph));
    g->n = n;
    g->names = xcalloc(n, sizeof(char *));
    g->deps = xcalloc(n, sizeof(IndexVec));
    g->dependents = xcalloc(n, sizeof(IndexVec));
    for (size_t i = 0; i < n; i++)
        g->names[i] = names && names[i] ? xstrdup(names[i]) : xasprintf("#%zu", i);
    return g;
}

void graph_free(Graph *g)
{
    if (!g)
        return;
    for (size_t i = 0; i < g->n; i++) {
        free(g->names[i]);
        free(g->deps[i].v);
        free(g->dependents[i].v);
    }
    free(g->names);
    free(g->deps);
    free(g->dependents);
    free(g);
}

size_t graph_size(const Graph *g)
{
    return g->n;
}

const char *graph_name(const Graph *g, size_t i)
{
    assert(i < g->n);
    return g->names[i];
}

/* The duplicate check scans the node's dependencies; services declare few
 * of them, so a set would cost more than it saves. */
void graph_add_edge(Graph *g, size_t from, size_t to)
{
    assert(from < g->n && to < g->n);
    IndexVec *d = &g->deps[from];
    for (size_t k = 0; k < d->n; k++)
        if (d->v[k] == to)
            return;
    index_vec_push(d, to);
    index_vec_push(&g->dependents[to], from);
}

size_t graph_deps(const Graph *g, size_t i, const size_t **ret)
{
    assert(i < g->n);
    *ret = g->deps[i].v;
    return g->deps[i].n;
}

size_t graph_dependents(const Graph *g, size_t i, const size_t **ret)
{
    assert(i < g->n);
    *ret = g->dependents[i].v;
    return g->dependents[i].n;
}

enum { WHITE, GRAY, BLACK };

/* Depth-first search from each unvisited node in index order, following
 * dependencies in insertion order. The first edge that reaches a node still
 * on the path closes a cycle: the path from that node to here, plus the node
 * again. The explicit stack holds the path; next[] remembers each node's
 * position in its dependency list. */
int graph_find_cycle(const Graph *g, size_t **ret_cycle, size_t *ret_n)
{
    size_t n = g->n;
    _cleanup_free_ unsigned char *color = xcalloc(n, 1);
    _cleanup_free_ size_t *next = xcalloc(n, sizeof(size_t));
    _cleanup_free_ size_t *stack = xcalloc(n, sizeof(size_t));

    for (size_t root = 0; root < n; root++) {
        if (color[root] != WHITE)
            continue;
        size_t depth = 0;
        stack[depth++] = root;
        color[root] = GRAY;
        while (depth > 0) {
            size_t u = stack[depth - 1];
            const IndexVec *d = &g->deps[u];
            if (next[u] == d->n) {
                color[u] = BLACK;
                depth--;
                continue;
            }
            size_t v = d->v[next[u]++];
            if (color[v] == WHITE) {
                color[v] = GRAY;
                stack[depth++] = v;
            } else if (color[v] == GRAY) {
                size_t start = depth;
                while (stack[start - 1] != v)
                    start--;
                start--;
                size_t len = depth - start;
                size_t *cycle = xmalloc((len + 1) * sizeof(size_t));
                memcpy(cycle, stack + start, len * sizeof(size_t));
                cycle[len] = v;
                *ret_cycle = cycle;
                *ret_n = len + 1;
                return 1;
            }
        }
    }
    return 0;
}

/* Kahn's algorithm restricted to the selected nodes: a node's level is
 * final once all its selected dependencies are done. Edges to unselected
 * nodes do not count. Nodes left over sit on or behind a cycle. */
int graph_levels(const Graph *g, const bool *selected, size_t **ret_level)
{
    size_t n = g->n;
    _cleanup_free_ size_t *pending = xcalloc(n, sizeof(size_t));
    _cleanup_free_ size_t *queue = xcalloc(n, sizeof(size_t));
    size_t *level = xmalloc((n ? n : 1) * sizeof(size_t));
    size_t head = 0, tail = 0, wanted = 0, levels = 0;

#define SEL(i) (!selected || selected[i])
    for (size_t i = 0; i < n; i++) {
        level[i] = SIZE_MAX;
        if (!SEL(i))
            continue;
        wanted++;
        for (size_t k = 0; k < g->deps[i].n; k++)
            if (SEL(g->deps[i].v[k]))
                pending[i]++;
        if (pending[i] == 0) {
            level[i] = 0;
            queue[tail++] = i;
        }
    }
    while (head < tail) {
        size_t u = queue[head++];
        if (level[u] + 1 > levels)
            levels = level[u] + 1;
        const IndexVec *up = &g->dependents[u];
        for (size_t k = 0; k < up->n; k++) {
            size_t w = up->v[k];
            if (!SEL(w))
                continue;
            /* level[w] holds the running maximum until w is released. */
            if (level[w] == SIZE_MAX || level[w] < level[u] + 1)
                level[w] = level[u] + 1;
            if (--pending[w] == 0)
                queue[tail++] = w;
        }
    }
#undef SEL
    if (tail != wanted) {
        free(level);
        return -ELOOP;
    }
    *ret_level = level;
    return (int)levels;
}

/* Marks with an explicit stack. A separate visited set keeps nodes that
 * were selected before from cutting the walk short. */
void graph_closure(const Graph *g, const size_t *roots, size_t n_roots, bool *selected)
{
    size_t n = g->n;
    if (n == 0)
        return;
    _cleanup_free_ bool *seen = xcalloc(n, sizeof(bool));
    _cleanup_free_ size_t *stack = xcalloc(n, sizeof(size_t));
    size_t depth = 0;

    for (size_t r = 0; r < n_roots; r++) {
        assert(roots[r] < n);
        if (seen[roots[r]])
            continue;
        seen[roots[r]] = true;
        stack[depth++] = roots[r];
        while (depth > 0) {
            size_t u = stack[--depth];
            selected[u] = true;
            for (size_t k = 0; k < g->deps[u].n; k++) {
                size_t v = g->deps[u].v[k];
                if (!seen[v]) {
                    seen[v] = true;
                    stack[depth++] = v;
                }
            }
        }
    }
}

/* A counting sort on the levels: stable, so ties stay in index order. */
int graph_start_order(const Graph *g, const bool *selected, size_t **ret_order)
{
    _cleanup_free_ size_t *level = NULL;
    int levels = graph_levels(g, selected, &level);
    if (levels < 0)
        return levels;

    size_t n = g->n;
    _cleanup_free_ size_t *start = xcalloc((size_t)levels + 1, sizeof(size_t));
    size_t count = 0;
    for (size_t i = 0; i < n; i++)
        if (level[i] != SIZE_MAX) {
            start[level[i] + 1]++;
            count++;
        }
    for (int l = 0; l < levels; l++)
        start[l + 1] += start[l];

    size_t *order = xmalloc((count ? count : 1) * sizeof(size_t));
    for (size_t i = 0; i < n; i++)
        if (level[i] != SIZE_MAX)
            order[start[level[i]]++] = i;
    *ret_order = order;
    return (int)count;
}
