/* merge: folds one canonical services file onto another with Compose's
 * override rules. The walk is generic (mappings merge per key, lists
 * append without exact repeats, scalars replace, a null override keeps the
 * base) and the key table (keys.c) picks the exceptions by the path of a
 * value, the same shape as compose-go's override package: lists that hold
 * unique resources merge by a key, set-like lists drop repeats, shell
 * commands are replaced. Inputs are never modified: merged containers are
 * new nodes and the leaves are shared, so every value keeps the location
 * of the file where it was written. */
#include "load/merge.h"

#include "load/keys.h"

#include <stdlib.h>
#include <string.h>

#define MERGE_MAX_DEPTH 32

/* The path of the value being merged, as components ("services", the
 * service name, "ports", ...). Past MERGE_MAX_DEPTH nothing matches a rule,
 * which only matters for trees far deeper than any rule. */
typedef struct Merger {
    Arena *a;
    const char *path[MERGE_MAX_DEPTH];
    size_t depth;
} Merger;

static void path_push(Merger *m, const char *comp)
{
    if (m->depth < MERGE_MAX_DEPTH)
        m->path[m->depth] = comp;
    m->depth++;
}

static void path_pop(Merger *m)
{
    m->depth--;
}

/* The rule of the current path, from the key table (keys.c). */
static KeyMerge rule_for(const Merger *m)
{
    if (m->depth > MERGE_MAX_DEPTH)
        return MERGE_DEEP;
    const KeySpec *k = keys_lookup(m->path, m->depth);
    return k ? k->merge : MERGE_DEEP;
}

static bool has_tag(const Node *n, const char *tag)
{
    return n && n->tag && streq(n->tag, tag);
}

static Node *merge_node(Merger *m, Node *base, Node *over);

/* ---- mappings ---- */

/* A new mapping holding base's entries, then over's merged in: keys already
 * in base keep their place, new keys are appended in over's order, and a
 * value tagged !reset in over removes the key. */
static Node *merge_map(Merger *m, Node *base, Node *over)
{
    Node *out = node_new(m->a, NODE_MAP, &base->loc);
    out->style = base->style;
    for (size_t i = 0; i < base->len; i++)
        node_map_set_node(m->a, out, base->keys[i], base->vals[i]);
    for (size_t i = 0; i < over->len; i++) {
        Node *key = over->keys[i];
        Node *val = over->vals[i];
        ssize_t idx = node_index(out, key->str);
        if (has_tag(val, "!reset")) {
            if (idx >= 0)
                node_map_remove(out, key->str);
            continue;
        }
        if (idx < 0) {
            node_map_set_node(m->a, out, key, val);
            continue;
        }
        path_push(m, key->str);
        out->vals[idx] = merge_node(m, out->vals[idx], val);
        path_pop(m);
    }
    return out;
}

/* Logging options only make sense for their driver: they merge when both
 * sides name the same driver (or one names none); otherwise the override's
 * block replaces the base's. */
static Node *merge_logging(Merger *m, Node *base, Node *over)
{
    Node *bd = node_get(base, "driver");
    Node *od = node_get(over, "driver");
    if (node_is_scalar(bd) && node_is_scalar(od) && !streq(bd->str, od->str))
        return over;
    return merge_map(m, base, over);
}

/* ---- sequences ---- */

typedef char *(*KeyFn)(Arena *a, const Node *item);

static const char *field_str(const Node *map, const char *key, const char *dflt)
{
    const Node *v = node_get(map, key);
    return node_is_scalar(v) ? v->str : dflt;
}

/* Port identity as compose-go computes it; an unset host_ip is 0.0.0.0 so
 * that "8080:80" and "0.0.0.0:8080:80" are the same port. */
static char *key_port(Arena *a, const Node *it)
{
    if (node_is_scalar(it))
        return it->str;
    if (!it || it->kind != NODE_MAP || !node_is_scalar(node_get(it, "target")))
        return NULL;
    return arena_printf(a, "%s\n%s\n%s\n%s", field_str(it, "host_ip", "0.0.0.0"),
                        field_str(it, "published", ""), field_str(it, "target", ""),
                        field_str(it, "protocol", "tcp"));
}

static char *key_target(Arena *a, const Node *it)
{
    (void)a;
    if (!it || it->kind != NODE_MAP)
        return NULL;
    const Node *t = node_get(it, "target");
    return node_is_scalar(t) ? t->str : NULL;
}

static char *key_path(Arena *a, const Node *it)
{
    (void)a;
    if (node_is_scalar(it))
        return it->str;
    if (!it || it->kind != NODE_MAP)
        return NULL;
    const Node *p = node_get(it, "path");
    return node_is_scalar(p) ? p->str : NULL;
}

/* Secrets and configs are unique by where they are mounted, which defaults
 * to a path derived from the source. */
static char *key_mount(Arena *a, const Node *it, const char *dir)
{
    if (node_is_scalar(it))
        return arena_printf(a, "%s/%s", dir, it->str);
    if (!it || it->kind != NODE_MAP)
        return NULL;
    const Node *t = node_get(it, "target");
    if (node_is_scalar(t))
        return t->str;
    const Node *s = node_get(it, "source");
    return node_is_scalar(s) ? arena_printf(a, "%s/%s", dir, s->str) : NULL;
}

static char *key_secret(Arena *a, const Node *it)
{
    return key_mount(a, it, "/run/secrets");
}

static char *key_config(Arena *a, const Node *it)
{
    return key_mount(a, it, "");
}

/* "/dev/a:/dev/b:rwm" is mounted at /dev/b; "/dev/a" at /dev/a. */
static char *key_device(Arena *a, const Node *it)
{
    if (it && it->kind == NODE_MAP)
        return key_target(a, it);
    if (!node_is_scalar(it))
        return NULL;
    const char *s = it->str;
    const char *c = strchr(s, ':');
    if (!c)
        return it->str;
    return arena_strndup(a, c + 1, strcspn(c + 1, ":"));
}

static char *key_scalar(Arena *a, const Node *it)
{
    (void)a;
    return node_is_scalar(it) ? it->str : NULL;
}

/* "K=V" and "K" both name K. */
static char *key_kv(Arena *a, const Node *it)
{
    if (!node_is_scalar(it))
        return NULL;
    return arena_strndup(a, it->str, strcspn(it->str, "="));
}

static char *key_subnet(Arena *a, const Node *it)
{
    (void)a;
    if (!it || it->kind != NODE_MAP)
        return NULL;
    const Node *s = node_get(it, "subnet");
    return node_is_scalar(s) ? s->str : NULL;
}

/* Appends over's items to base's and keeps one item per key, at the place
 * where the key first appeared. A later item replaces the earlier one
 * (`later_wins`, as for ports and volumes), or is dropped (set-like lists,
 * where both are equal anyway and the first keeps its location), or is
 * merged into it (`deep`, for ipam.config). Items without a key are kept. */
static Node *merge_keyed(Merger *m, Node *base, Node *over, KeyFn keyfn, bool later_wins, bool deep)
{
    Node *out = node_new(m->a, NODE_SEQ, &base->loc);
    size_t total = base->len + over->len;
    char **keys = xcalloc(total ? total : 1, sizeof(char *));
    for (size_t i = 0; i < total; i++) {
        Node *it = i < base->len ? base->vals[i] : over->vals[i - base->len];
        char *k = keyfn(m->a, it);
        ssize_t found = -1;
        if (k)
            for (size_t j = 0; j < out->len; j++)
                if (keys[j] && streq(keys[j], k)) {
                    found = (ssize_t)j;
                    break;
                }
        if (found < 0) {
            keys[out->len] = k;
            node_seq_push(m->a, out, it);
        } else if (deep) {
            out->vals[found] = merge_node(m, out->vals[found], it);
        } else if (later_wins) {
            out->vals[found] = it;
        }
    }
    free(keys);
    return out;
}

/* Two values written the same: same kind, same text (a plain 80 and a
 * quoted "80" are not the same value), same entries in the same order. */
static bool same_value(const Node *x, const Node *y)
{
    if (x->kind != y->kind || x->len != y->len)
        return false;
    switch (x->kind) {
    case NODE_NULL:
        return true;
    case NODE_SCALAR:
        return x->style == y->style && streq(x->str, y->str);
    case NODE_MAP:
        for (size_t i = 0; i < x->len; i++)
            if (!streq(x->keys[i]->str, y->keys[i]->str) || !same_value(x->vals[i], y->vals[i]))
                return false;
        return true;
    case NODE_SEQ:
        for (size_t i = 0; i < x->len; i++)
            if (!same_value(x->vals[i], y->vals[i]))
                return false;
        return true;
    }
    return false;
}

/* Base's items, then over's; with `unique`, an item of over equal to one
 * already there is dropped (Compose's default for every list: two equal
 * entries never mean more than one). */
static Node *append_seq(Merger *m, Node *base, Node *over, bool unique)
{
    Node *out = node_new(m->a, NODE_SEQ, &base->loc);
    for (size_t i = 0; i < base->len; i++)
        node_seq_push(m->a, out, base->vals[i]);
    for (size_t i = 0; i < over->len; i++) {
        bool seen = false;
        for (size_t j = 0; unique && !seen && j < out->len; j++)
            seen = same_value(out->vals[j], over->vals[i]);
        if (!seen)
            node_seq_push(m->a, out, over->vals[i]);
    }
    return out;
}

/* A "K=V" list as a mapping (values as strings, a bare K maps to null), for
 * a key-value field written as a list on one side and a mapping on the
 * other. Canonical files only have mappings where canon rewrites them. */
static Node *kv_seq_to_map(Arena *a, const Node *seq)
{
    Node *out = node_new(a, NODE_MAP, &seq->loc);
    for (size_t i = 0; i < seq->len; i++) {
        const Node *it = seq->vals[i];
        if (!node_is_scalar(it))
            continue;
        size_t k = strcspn(it->str, "=");
        Node *key = node_scalar(a, "", &it->loc);
        key->str = arena_strndup(a, it->str, k);
        key->style = STYLE_PLAIN;
        Node *val = it->str[k] ? node_scalar(a, it->str + k + 1, &it->loc)
                               : node_new(a, NODE_NULL, &it->loc);
        node_map_set_node(a, out, key, val);
    }
    return out;
}

static Node *merge_seq(Merger *m, KeyMerge rule, Node *base, Node *over)
{
    switch (rule) {
    case MERGE_PORTS:
        return merge_keyed(m, base, over, key_port, true, false);
    case MERGE_VOLUMES:
        return merge_keyed(m, base, over, key_target, true, false);
    case MERGE_ENV_FILE:
        return merge_keyed(m, base, over, key_path, true, false);
    case MERGE_SECRETS:
        return merge_keyed(m, base, over, key_secret, true, false);
    case MERGE_CONFIGS:
        return merge_keyed(m, base, over, key_config, true, false);
    case MERGE_DEVICES:
        return merge_keyed(m, base, over, key_device, true, false);
    case MERGE_SET:
        return merge_keyed(m, base, over, key_scalar, false, false);
    case MERGE_KV:
        return merge_keyed(m, base, over, key_kv, true, false);
    case MERGE_IPAM:
        return merge_keyed(m, base, over, key_subnet, true, true);
    case MERGE_APPEND:
        return append_seq(m, base, over, false);
    default:
        return append_seq(m, base, over, true);
    }
}

/* ---- any value ---- */

/* Merges over onto base at the current path. Tags are read on `over` only:
 * a base value tagged !reset counts as absent (it reset an earlier file and
 * was kept for merge_strip_tags), and a base tagged !override was already
 * applied when it was merged in. */
static Node *merge_node(Merger *m, Node *base, Node *over)
{
    if (!over)
        return base;
    if (!base || has_tag(base, "!reset") || has_tag(over, "!override"))
        return over;
    KeyMerge rule = rule_for(m);
    if (rule == MERGE_REPLACE)
        return over;
    /* A null override keeps what the base says (`user:` alone changes
     * nothing; `networks: {front: }` must not drop the aliases an earlier
     * file gave the network): only !reset removes a value. */
    if (over->kind == NODE_NULL)
        return base;
    if (rule == MERGE_KV && base->kind != over->kind) {
        if (base->kind == NODE_SEQ && over->kind == NODE_MAP)
            base = kv_seq_to_map(m->a, base);
        else if (base->kind == NODE_MAP && over->kind == NODE_SEQ)
            over = kv_seq_to_map(m->a, over);
    }
    if (base->kind != over->kind)
        return over;
    switch (over->kind) {
    case NODE_MAP:
        return rule == MERGE_LOGGING ? merge_logging(m, base, over) : merge_map(m, base, over);
    case NODE_SEQ:
        return merge_seq(m, rule, base, over);
    default:
        return over;
    }
}

/* Replaces each list at `path` below n (a "*" walks every entry of a
 * mapping or list) by one item per key of `k`'s merge rule. */
static void unique_at(Merger *m, const KeySpec *k, Node *n, const char *path)
{
    if (!n || !*path)
        return;
    size_t len = strcspn(path, ".");
    const char *rest = path[len] ? path + len + 1 : "";
    if (len == 1 && path[0] == '*') {
        if (n->kind == NODE_MAP || n->kind == NODE_SEQ)
            for (size_t i = 0; i < n->len; i++)
                unique_at(m, k, n->vals[i], rest);
        return;
    }
    for (size_t i = 0; n->kind == NODE_MAP && i < n->len; i++) {
        if (strlen(n->keys[i]->str) != len || strncmp(n->keys[i]->str, path, len) != 0)
            continue;
        Node *v = n->vals[i];
        if (*rest)
            unique_at(m, k, v, rest);
        else if (v->kind == NODE_SEQ)
            n->vals[i] = merge_seq(m, k->merge, v, node_new(m->a, NODE_SEQ, &v->loc));
        return;
    }
}

void merge_unique(Arena *a, Node *root)
{
    Merger m = {.a = a};
    size_t nk;
    const KeySpec *keys = keys_table(&nk);
    for (size_t i = 0; i < nk; i++)
        if (keys[i].unique && !str_startswith(keys[i].path, "services."))
            unique_at(&m, &keys[i], root, keys[i].path);
    Node *services = node_get(root, "services");
    const size_t pl = strlen("services.*.");
    for (size_t s = 0; services && services->kind == NODE_MAP && s < services->len; s++) {
        Node *svc = services->vals[s];
        for (size_t i = 0; svc->kind == NODE_MAP && i < svc->len; i++) {
            size_t n;
            const KeySpec *const *ks = keys_for_service_key(svc->keys[i]->str, &n);
            for (size_t k = 0; k < n; k++)
                if (ks[k]->unique)
                    unique_at(&m, ks[k], svc, ks[k]->path + pl);
        }
    }
}

Node *merge_project(Arena *a, Node *base, Node *over)
{
    Merger m = {.a = a};
    return merge_node(&m, base, over);
}

Node *merge_service(Arena *a, Node *base, Node *over)
{
    Merger m = {.a = a};
    /* the rules are written for services.<name>.<field> */
    path_push(&m, "services");
    path_push(&m, "");
    return merge_node(&m, base, over);
}

void merge_strip_tags(Node *root)
{
    if (!root)
        return;
    if (has_tag(root, "!override"))
        root->tag = NULL;
    if (root->kind != NODE_MAP && root->kind != NODE_SEQ)
        return;
    size_t w = 0;
    for (size_t i = 0; i < root->len; i++) {
        Node *v = root->vals[i];
        if (has_tag(v, "!reset"))
            continue;
        merge_strip_tags(v);
        if (root->kind == NODE_MAP)
            root->keys[w] = root->keys[i];
        root->vals[w++] = v;
    }
    root->len = w;
}
