/* env: an ordered map of environment variables (name -> value), used for the
 * shell environment, .env files, --env-file and a service's final
 * environment. Values may be NULL ("set but without a value" in a compose
 * environment list). Insertion order is kept so output is stable. */
#pragma once

#include "lib/util.h"

typedef struct Env {
    char **keys;
    char **vals; /* entries may be NULL */
    size_t n, cap;
} Env;

void env_set(Env *e, const char *key, const char *val); /* replaces, keeps position */
const char *env_get(const Env *e, const char *key);     /* NULL if unset or valueless */
bool env_has(const Env *e, const char *key);
void env_unset(Env *e, const char *key);
void env_free(Env *e);
void env_from_environ(Env *e, char **environ_);
/* Adds every entry of src that dst does not have yet (lower precedence). */
void env_merge_missing(Env *dst, const Env *src);

/* The lookup signature interpolation uses. ud is an Env*. */
const char *env_lookup(void *ud, const char *name);
