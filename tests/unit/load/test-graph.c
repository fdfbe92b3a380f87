/* Unit tests for graph: levels, closure, start order and cycle reports. */
#include <errno.h>
#include <stdint.h>

#include "load/graph.h"
#include "test.h"

static const char *const abcd[] = {"a", "b", "c", "d"};

/* a depends on b and c, both of which depend on d. */
static Graph *diamond(void)
{
    Graph *g = graph_new(4, abcd);
    graph_add_edge(g, 0, 1);
    graph_add_edge(g, 0, 2);
    graph_add_edge(g, 1, 3);
    graph_add_edge(g, 2, 3);
    return g;
}

/* Renders a list of node indexes as names: "a b c"; "-" for SIZE_MAX. */
static const char *names(const Graph *g, const size_t *v, size_t n)
{
    static char out[256];
    size_t w = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && w < sizeof out; i++)
        w += (size_t)snprintf(out + w, sizeof out - w, "%s%s", i ? " " : "",
                              v[i] == SIZE_MAX ? "-" : graph_name(g, v[i]));
    return out;
}

static const char *levels_str(const size_t *lv, size_t n)
{
    static char out[256];
    size_t w = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && w < sizeof out; i++) {
        if (lv[i] == SIZE_MAX)
            w += (size_t)snprintf(out + w, sizeof out - w, "%s-", i ? " " : "");
        else
            w += (size_t)snprintf(out + w, sizeof out - w, "%s%zu", i ? " " : "", lv[i]);
    }
    return out;
}

static const char *cycle_str(const Graph *g)
{
    static char out[256];
    size_t *c = NULL, n = 0;
    if (graph_find_cycle(g, &c, &n) == 0)
        return "none";
    size_t w = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && w < sizeof out; i++)
        w += (size_t)snprintf(out + w, sizeof out - w, "%s%s", i ? " -> " : "",
                              graph_name(g, c[i]));
    free(c);
    return out;
}

TEST(graph_keeps_names_and_edges_without_repeats)
{
    const char *nm[] = {"web", "db"};
    Graph *g = graph_new(2, nm);
    CHECK_INT(graph_size(g), 2);
    CHECK_STR(graph_name(g, 0), "web");
    CHECK_STR(graph_name(g, 1), "db");
    graph_add_edge(g, 0, 1);
    graph_add_edge(g, 0, 1);
    const size_t *d;
    CHECK_INT(graph_deps(g, 0, &d), 1);
    CHECK_INT(d[0], 1);
    CHECK_INT(graph_deps(g, 1, &d), 0);
    CHECK_INT(graph_dependents(g, 1, &d), 1);
    CHECK_INT(d[0], 0);
    CHECK_INT(graph_dependents(g, 0, &d), 0);
    graph_free(g);
    graph_free(NULL);
}

TEST(graph_levels_of_a_diamond)
{
    Graph *g = diamond();
    size_t *lv = NULL;
    CHECK_INT(graph_levels(g, NULL, &lv), 3);
    REQUIRE(lv);
    CHECK_STR(levels_str(lv, 4), "2 1 1 0");
    free(lv);
    size_t *order = NULL;
    CHECK_INT(graph_start_order(g, NULL, &order), 4);
    REQUIRE(order);
    CHECK_STR(names(g, order, 4), "d b c a");
    free(order);
    CHECK_STR(cycle_str(g), "none");
    graph_free(g);
}

TEST(graph_levels_of_a_chain)
{
    Graph *g = graph_new(4, abcd);
    graph_add_edge(g, 0, 1);
    graph_add_edge(g, 1, 2);
    graph_add_edge(g, 2, 3);
    size_t *lv = NULL;
    CHECK_INT(graph_levels(g, NULL, &lv), 4);
    CHECK_STR(levels_str(lv, 4), "3 2 1 0");
    free(lv);
    size_t *order = NULL;
    CHECK_INT(graph_start_order(g, NULL, &order), 4);
    CHECK_STR(names(g, order, 4), "d c b a");
    free(order);
    CHECK_STR(cycle_str(g), "none");
    graph_free(g);
}

TEST(graph_levels_of_independent_nodes)
{
    Graph *g = graph_new(3, abcd);
    size_t *lv = NULL;
    CHECK_INT(graph_levels(g, NULL, &lv), 1);
    CHECK_STR(levels_str(lv, 3), "0 0 0");
    free(lv);
    size_t *order = NULL;
    CHECK_INT(graph_start_order(g, NULL, &order), 3);
    CHECK_STR(names(g, order, 3), "a b c");
    free(order);
    graph_free(g);
}

TEST(graph_empty)
{
    Graph *g = graph_new(0, NULL);
    size_t *lv = NULL, *order = NULL;
    CHECK_INT(graph_levels(g, NULL, &lv), 0);
    free(lv);
    CHECK_INT(graph_start_order(g, NULL, &order), 0);
    free(order);
    CHECK_STR(cycle_str(g), "none");
    graph_free(g);
}

TEST(graph_start_order_sorts_by_level_then_index)
{
    /* e(4) depends on nothing, a(0) on d(3), c(2) on b(1): levels 1 0 1 0 0. */
    const char *nm[] = {"a", "b", "c", "d", "e"};
    Graph *g = graph_new(5, nm);
    graph_add_edge(g, 0, 3);
    graph_add_edge(g, 2, 1);
    size_t *order = NULL;
    CHECK_INT(graph_start_order(g, NULL, &order), 5);
    CHECK_STR(names(g, order, 5), "b d e a c");
    free(order);
    graph_free(g);
}

TEST(graph_levels_of_a_selected_subset)
{
    Graph *g = diamond();
    /* Only a and b: a's edges to c and b's edge to d do not count. */
    bool sel[4] = {true, true, false, false};
    size_t *lv = NULL;
    CHECK_INT(graph_levels(g, sel, &lv), 2);
    CHECK_STR(levels_str(lv, 4), "1 0 - -");
    free(lv);
    size_t *order = NULL;
    CHECK_INT(graph_start_order(g, sel, &order), 2);
    CHECK_STR(names(g, order, 2), "b a");
    free(order);

    bool none[4] = {false, false, false, false};
    CHECK_INT(graph_levels(g, none, &lv), 0);
    CHECK_STR(levels_str(lv, 4), "- - - -");
    free(lv);
    graph_free(g);
}

TEST(graph_closure_marks_transitive_deps)
{
    Graph *g = diamond();
    bool sel[4] = {false, false, false, false};
    size_t root = 1;
    graph_closure(g, &root, 1, sel);
    CHECK(!sel[0] && sel[1] && !sel[2] && sel[3]);

    /* A node selected beforehand does not stop the walk through it. */
    bool pre[4] = {false, true, false, false};
    root = 0;
    graph_closure(g, &root, 1, pre);
    CHECK(pre[0] && pre[1] && pre[2] && pre[3]);

    bool two[4] = {false, false, false, false};
    size_t roots[] = {2, 3};
    graph_closure(g, roots, 2, two);
    CHECK(!two[0] && !two[1] && two[2] && two[3]);

    size_t *order = NULL;
    CHECK_INT(graph_start_order(g, two, &order), 2);
    CHECK_STR(names(g, order, 2), "d c");
    free(order);
    graph_free(g);
}

TEST(graph_cycle_of_one)
{
    Graph *g = graph_new(2, abcd);
    graph_add_edge(g, 1, 1);
    CHECK_STR(cycle_str(g), "b -> b");
    size_t *c = NULL, n = 0;
    CHECK_INT(graph_find_cycle(g, &c, &n), 1);
    CHECK_INT(n, 2);
    free(c);
    size_t *lv = NULL, *order = NULL;
    CHECK_INT(graph_levels(g, NULL, &lv), -ELOOP);
    CHECK_INT(graph_start_order(g, NULL, &order), -ELOOP);
    /* Without the looping node there is nothing wrong. */
    bool sel[2] = {true, false};
    CHECK_INT(graph_levels(g, sel, &lv), 1);
    free(lv);
    graph_free(g);
}

TEST(graph_cycle_of_two)
{
    Graph *g = graph_new(2, abcd);
    graph_add_edge(g, 0, 1);
    graph_add_edge(g, 1, 0);
    CHECK_STR(cycle_str(g), "a -> b -> a");
    size_t *lv = NULL;
    CHECK_INT(graph_levels(g, NULL, &lv), -ELOOP);
    graph_free(g);
}

TEST(graph_cycle_of_three)
{
    Graph *g = graph_new(3, abcd);
    graph_add_edge(g, 0, 1);
    graph_add_edge(g, 1, 2);
    graph_add_edge(g, 2, 0);
    CHECK_STR(cycle_str(g), "a -> b -> c -> a");
    size_t *c = NULL, n = 0;
    CHECK_INT(graph_find_cycle(g, &c, &n), 1);
    REQUIRE(n == 4);
    CHECK_INT(c[0], 0);
    CHECK_INT(c[1], 1);
    CHECK_INT(c[2], 2);
    CHECK_INT(c[3], 0);
    free(c);
    size_t *order = NULL;
    CHECK_INT(graph_start_order(g, NULL, &order), -ELOOP);
    graph_free(g);
}

TEST(graph_cycle_reached_from_outside_starts_where_it_closes)
{
    /* a depends on b; b -> c -> d -> b loops. The report leaves a out. */
    Graph *g = graph_new(4, abcd);
    graph_add_edge(g, 0, 1);
    graph_add_edge(g, 1, 2);
    graph_add_edge(g, 2, 3);
    graph_add_edge(g, 3, 1);
    CHECK_STR(cycle_str(g), "b -> c -> d -> b");
    graph_free(g);
}

TEST(graph_cycle_follows_insertion_order)
{
    /* a depends on c, then b; both depend on a. c was added first. */
    Graph *g = graph_new(3, abcd);
    graph_add_edge(g, 0, 2);
    graph_add_edge(g, 0, 1);
    graph_add_edge(g, 1, 0);
    graph_add_edge(g, 2, 0);
    CHECK_STR(cycle_str(g), "a -> c -> a");
    graph_free(g);
}

TEST(graph_cycle_search_starts_at_lowest_index)
{
    /* Two separate loops: c <-> d and a <-> b; a's comes first. */
    Graph *g = graph_new(4, abcd);
    graph_add_edge(g, 2, 3);
    graph_add_edge(g, 3, 2);
    graph_add_edge(g, 1, 0);
    graph_add_edge(g, 0, 1);
    CHECK_STR(cycle_str(g), "a -> b -> a");
    graph_free(g);
}

TEST(graph_handles_long_chains)
{
    enum { N = 10000 };
    Graph *g = graph_new(N, NULL);
    for (size_t i = 0; i + 1 < N; i++)
        graph_add_edge(g, i, i + 1);
    size_t *lv = NULL;
    CHECK_INT(graph_levels(g, NULL, &lv), N);
    REQUIRE(lv);
    CHECK_INT(lv[0], N - 1);
    CHECK_INT(lv[N - 1], 0);
    free(lv);
    size_t *c = NULL, n = 0;
    CHECK_INT(graph_find_cycle(g, &c, &n), 0);

    graph_add_edge(g, N - 1, 0);
    CHECK_INT(graph_find_cycle(g, &c, &n), 1);
    REQUIRE(n == N + 1);
    CHECK_INT(c[0], 0);
    CHECK_INT(c[N - 1], N - 1);
    CHECK_INT(c[N], 0);
    free(c);

    bool *sel = calloc(N, sizeof(bool));
    REQUIRE(sel);
    size_t root = N / 2;
    graph_closure(g, &root, 1, sel);
    size_t marked = 0;
    for (size_t i = 0; i < N; i++)
        marked += sel[i];
    CHECK_INT(marked, N);
    free(sel);
    graph_free(g);
}
