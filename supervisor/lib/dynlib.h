/* dynlib: libcurl, libpq and hiredis, loaded when first needed.
 *
 * Linking them the usual way makes every start of tend pay for loading them
 * and the forty-odd libraries they pull in (TLS, Kerberos, LDAP, ...): about
 * 30 ms of CPU and a few MB of memory, whether or not the command talks to
 * an engine, a database or Redis. `tend ps`, `tend wait` and a stack of
 * host processes need none of them. So tend links against none of the
 * three: dynlib.c defines the functions tend calls, and each forwards to
 * the real one, found with dlopen/dlsym on first use. A command that will
 * need a library starts loading it on a background thread early
 * (dynlib_preload), so that the loop rarely waits for it. */
#pragma once

#include <stdbool.h>

typedef enum DynLib {
    DYNLIB_CURL,
    DYNLIB_PQ,
    DYNLIB_HIREDIS,
    _DYNLIB_MAX,
} DynLib;

#define DYNLIB_MASK(l) (1u << (l))
#define DYNLIB_ALL ((1u << _DYNLIB_MAX) - 1)

/* Loads the library and every function tend uses from it, once; later calls
 * return at once. Thread-safe. False, with *err malloc'd (when err is not
 * NULL), when it cannot be loaded. */
bool dynlib_load(DynLib l, char **err);
/* Starts loading the libraries of mask on a detached thread. */
void dynlib_preload(unsigned mask);
/* Whether the library is loaded (for tests and benchmarks). */
bool dynlib_loaded(DynLib l);
