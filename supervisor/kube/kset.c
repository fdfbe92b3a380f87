/* kset: the object set of the export and the small constructors that make
 * its YAML trees. Scalars made here carry their YAML type in their style:
 * numbers and booleans plain, everything else a string (quoted on output
 * where YAML would read it as something else). */
#include "kube/kset.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

KubeSet *kubeset_new(void)
{
    KubeSet *k = xcalloc(1, sizeof(*k));
    k->a = arena_new();
    return k;
}

void kubeset_free(KubeSet *k)
{
    if (!k)
        return;
    free(k->objs);
    for (size_t i = 0; i < k->n_gens; i++)
        free(k->gens[i].e);
    free(k->gens);
    arena_free(k->a);
    free(k);
}

Node *kmap(KubeSet *k)
{
    return node_new(k->a, NODE_MAP, NULL);
}

Node *kseq(KubeSet *k)
{
    return node_new(k->a, NODE_SEQ, NULL);
}

Node *kstr(KubeSet *k, const char *s)
{
    return node_scalar(k->a, s, NULL);
}

Node *kstrf(KubeSet *k, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    _cleanup_free_ char *s = xvasprintf(fmt, ap);
    va_end(ap);
    return kstr(k, s);
}

Node *kint(KubeSet *k, long long v)
{
    Node *n = node_scalarf(k->a, NULL, "%lld", v);
    n->style = STYLE_PLAIN;
    return n;
}

Node *kbool(KubeSet *k, bool v)
{
    return node_bool(k->a, v, NULL);
}

Node *kset(KubeSet *k, Node *map, const char *key, Node *val)
{
    if (val)
        node_map_set(k->a, map, key, val);
    return val;
}

Node *kpush(KubeSet *k, Node *seq, Node *item)
{
    node_seq_push(k->a, seq, item);
    return item;
}

Node *kmap_at(KubeSet *k, Node *map, const char *key)
{
    Node *n = node_get(map, key);
    return n && n->kind == NODE_MAP ? n : kset(k, map, key, kmap(k));
}

Node *kseq_at(KubeSet *k, Node *map, const char *key)
{
    Node *n = node_get(map, key);
    return n && n->kind == NODE_SEQ ? n : kset(k, map, key, kseq(k));
}

Node *kstrv(KubeSet *k, const StrVec *v)
{
    Node *s = kseq(k);
    for (size_t i = 0; i < v->n; i++)
        kpush(k, s, kstr(k, v->v[i]));
    return s;
}

Node *kobj_add(KubeSet *k, const char *api, const char *kind, const char *name, const char *group,
               const char *from, Node *labels)
{
    if (k->n_objs == k->cap_objs) {
        k->cap_objs = k->cap_objs ? 2 * k->cap_objs : 16;
        k->objs = xrealloc(k->objs, k->cap_objs * sizeof(*k->objs));
    }
    Node *doc = kmap(k);
    kset(k, doc, "apiVersion", kstr(k, api));
    kset(k, doc, "kind", kstr(k, kind));
    Node *md = kmap_at(k, doc, "metadata");
    kset(k, md, "name", kstr(k, name));
    if (labels && labels->len)
        kset(k, md, "labels", node_copy(k->a, labels));
    k->objs[k->n_objs++] = (KObj){arena_strdup(k->a, kind), arena_strdup(k->a, name),
                                  arena_strdup(k->a, group), from ? arena_strdup(k->a, from) : NULL, doc};
    return doc;
}

const KObj *kobj_find(const KubeSet *k, const char *kind, const char *name)
{
    for (size_t i = 0; i < k->n_objs; i++)
        if (streq(k->objs[i].kind, kind) && streq(k->objs[i].name, name))
            return &k->objs[i];
    return NULL;
}

KGen *kgen_add(KubeSet *k, bool secret, bool literals, const char *name, const char *component)
{
    if (k->n_gens == k->cap_gens) {
        k->cap_gens = k->cap_gens ? 2 * k->cap_gens : 16;
        k->gens = xrealloc(k->gens, k->cap_gens * sizeof(*k->gens));
    }
    KGen *g = &k->gens[k->n_gens++];
    *g = (KGen){.secret = secret,
                .literals = literals,
                .name = arena_strdup(k->a, name),
                .component = component ? arena_strdup(k->a, component) : NULL};
    return g;
}

void kgen_put(KubeSet *k, KGen *g, const char *key, const char *data, size_t len)
{
    for (size_t i = 0; i < g->n; i++)
        if (streq(g->e[i].key, key)) {
            g->e[i].data = arena_strndup(k->a, data, len);
            g->e[i].len = len;
            return;
        }
    if (g->n == g->cap) {
        g->cap = g->cap ? 2 * g->cap : 8;
        g->e = xrealloc(g->e, g->cap * sizeof(*g->e));
    }
    g->e[g->n++] = (KGenEntry){arena_strdup(k->a, key), arena_strndup(k->a, data, len), len};
}

const KGen *kgen_find(const KubeSet *k, bool secret, const char *name)
{
    for (size_t i = 0; i < k->n_gens; i++)
        if (k->gens[i].secret == secret && streq(k->gens[i].name, name))
            return &k->gens[i];
    return NULL;
}

bool kgen_equal(const KGen *a, const KGen *b)
{
    if (a->literals != b->literals || a->n != b->n || !strnull_eq(a->component, b->component))
        return false;
    for (size_t i = 0; i < a->n; i++)
        if (!streq(a->e[i].key, b->e[i].key) || a->e[i].len != b->e[i].len ||
            memcmp(a->e[i].data, b->e[i].data, a->e[i].len) != 0)
            return false;
    return true;
}

bool knode_equal(const Node *a, const Node *b)
{
    if (node_is_null(a) || node_is_null(b))
        return node_is_null(a) && node_is_null(b);
    if (a->kind != b->kind || a->len != b->len)
        return false;
    if (a->kind == NODE_SCALAR)
        return streq(a->str, b->str) && a->style == b->style;
    for (size_t i = 0; i < a->len; i++) {
        if (a->kind == NODE_MAP && !streq(a->keys[i]->str, b->keys[i]->str))
            return false;
        if (!knode_equal(a->vals[i], b->vals[i]))
            return false;
    }
    return true;
}

const char *kname(KubeSet *k, const char *s)
{
    char buf[64];
    size_t n = 0;
    for (const char *p = s; *p && n < 63; p++) {
        char c = *p;
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
            c = '-';
        if (c == '-' && (n == 0 || buf[n - 1] == '-'))
            continue;
        buf[n++] = c;
    }
    while (n > 0 && buf[n - 1] == '-')
        n--;
    buf[n] = '\0';
    return arena_strdup(k->a, n ? buf : "x");
}
