/* interp: Compose variable interpolation. `$VAR`, `${VAR}`, `${VAR:-d}`,
 * `${VAR-d}`, `${VAR:?msg}`, `${VAR?msg}`, `${VAR:+alt}`, `${VAR+alt}`,
 * nested (`${A:-${B:-x}}`), with `$$` as a literal `$`. */
#pragma once

#include "load/node.h"

/* Returns the value of a variable, or NULL when it is unset. An empty string
 * means set and empty. */
typedef const char *(*EnvLookupFn)(void *ud, const char *name);

/* Interpolates one string. On success returns 0 and a malloc'd *ret. On a
 * bad format or a required variable that is missing returns -EINVAL and a
 * malloc'd *ret_err holding the message (without location), e.g.
 *   required variable DB_PASSWORD is missing a value: set it in .env
 *   invalid interpolation format for "${FOO": a '}' is missing */
int interp_string(const char *in, EnvLookupFn lookup, void *ud, char **ret, char **ret_err);

/* Interpolates every scalar value of a tree in place (mapping keys are left
 * alone, as Compose does). Each error is reported once at the node's
 * location. Returns the number of errors. */
size_t interp_tree(Arena *a, Node *root, EnvLookupFn lookup, void *ud, Diag *d);
