/* env: ordered environment maps; see env.h. */
#include "lib/env.h"

#include <stdlib.h>
#include <string.h>

static ssize_t env_find(const Env *e, const char *key)
{
    for (size_t i = 0; i < e->n; i++)
        if (streq(e->keys[i], key))
            return (ssize_t)i;
    return -1;
}

void env_set(Env *e, const char *key, const char *val)
{
    ssize_t i = env_find(e, key);
    if (i >= 0) {
        /* copy first: val may be the current value (env_get of the same key) */
        char *v = val ? xstrdup(val) : NULL;
        free(e->vals[i]);
        e->vals[i] = v;
        return;
    }
    if (e->n == e->cap) {
        e->cap = e->cap ? e->cap * 2 : 16;
        e->keys = xrealloc(e->keys, e->cap * sizeof(char *));
        e->vals = xrealloc(e->vals, e->cap * sizeof(char *));
    }
    e->keys[e->n] = xstrdup(key);
    e->vals[e->n] = val ? xstrdup(val) : NULL;
    e->n++;
}

const char *env_get(const Env *e, const char *key)
{
    ssize_t i = env_find(e, key);
    return i < 0 ? NULL : e->vals[i];
}

bool env_has(const Env *e, const char *key)
{
    return env_find(e, key) >= 0;
}

void env_unset(Env *e, const char *key)
{
    ssize_t i = env_find(e, key);
    if (i < 0)
        return;
    free(e->keys[i]);
    free(e->vals[i]);
    memmove(e->keys + i, e->keys + i + 1, (e->n - i - 1) * sizeof(char *));
    memmove(e->vals + i, e->vals + i + 1, (e->n - i - 1) * sizeof(char *));
    e->n--;
}

void env_free(Env *e)
{
    for (size_t i = 0; i < e->n; i++) {
        free(e->keys[i]);
        free(e->vals[i]);
    }
    free(e->keys);
    free(e->vals);
    memset(e, 0, sizeof *e);
}

void env_from_environ(Env *e, char **environ_)
{
    for (char **p = environ_; p && *p; p++) {
        const char *eq = strchr(*p, '=');
        if (!eq)
            continue;
        _cleanup_free_ char *k = xstrndup(*p, eq - *p);
        env_set(e, k, eq + 1);
    }
}

void env_merge_missing(Env *dst, const Env *src)
{
    for (size_t i = 0; i < src->n; i++)
        if (!env_has(dst, src->keys[i]))
            env_set(dst, src->keys[i], src->vals[i]);
}

const char *env_lookup(void *ud, const char *name)
{
    return env_get((const Env *)ud, name);
}
