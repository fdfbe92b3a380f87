/* select: the set of services one run of tend takes part in (see select.h).
 * manager_new and `tend up --except` share it so that the rule lives in one
 * place. */
#include "load/select.h"
#include "load/graph.h"

#include <stdlib.h>
#include <string.h>

void select_services(const Project *p, const StrVec *services, bool no_deps, const StrVec *except,
                     bool *sel)
{
    size_t n = p->n_services;
    memset(sel, 0, n * sizeof(bool));
    if (services && services->n > 0) {
        size_t *roots = xcalloc(services->n, sizeof(size_t));
        size_t nr = 0;
        for (size_t k = 0; k < services->n; k++)
            for (size_t i = 0; i < n; i++)
                if (streq(p->services[i]->name, services->v[k]))
                    roots[nr++] = i;
        if (no_deps) {
            for (size_t k = 0; k < nr; k++)
                sel[roots[k]] = true;
        } else {
            /* The closure goes through excepted services: what they need
             * still runs, since whoever runs them needs it too. */
            const char **names = xcalloc(n ? n : 1, sizeof(char *));
            for (size_t i = 0; i < n; i++)
                names[i] = p->services[i]->name;
            Graph *g = graph_new(n, names);
            for (size_t i = 0; i < n; i++)
                for (size_t k = 0; k < p->services[i]->n_deps; k++)
                    graph_add_edge(g, i, p->services[i]->deps[k].index);
            graph_closure(g, roots, nr, sel);
            graph_free(g);
            free(names);
        }
        free(roots);
    } else {
        for (size_t i = 0; i < n; i++)
            sel[i] = true;
    }
    if (except)
        for (size_t i = 0; i < n; i++)
            if (strvec_contains(except, p->services[i]->name))
                sel[i] = false;
}
