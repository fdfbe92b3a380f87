/* select: which services of a loaded project a run takes part in. The named
 * services with everything they depend on (only the named ones with
 * no_deps), or every service when none is named; then the excepted ones are
 * dropped. An excepted service counts as managed from outside (an IDE runs
 * it): nothing waits for it, as with --no-deps for that edge, but what it
 * depends on still runs, so `tend up web --except web` runs exactly what
 * web needs. Pure data, no I/O. */
#pragma once

#include "load/model.h"

/* Fills sel[0..p->n_services) (indexes as in p->services). Names that are
 * not services of p are ignored; callers check them first. services and
 * except may be NULL. */
void select_services(const Project *p, const StrVec *services, bool no_deps, const StrVec *except,
                     bool *sel);
