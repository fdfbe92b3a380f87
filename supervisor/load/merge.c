/* merge: folds one canonical services file onto another with Compose's
 * override rules. The walk is generic (mappings merge per key, sequences
 * append, scalars replace) and a small table keyed by the path of a value
 * picks the exceptions, the same shape as compose-go's override package:
 * lists that hold unique resources merge by a key, set-like lists drop
 * repeats, shell commands are replaced. Inputs are never modified: merged
 * containers are new nodes and the leaves are shared, so every value keeps
 * the location of the file where it was written. */
#include "load/merge.h"

#include <stdlib.h>
#include <string.h>

typedef enum MergeRule {
    RULE_DEEP,       /* the default: maps per key, seqs append, scalars replace */
    RULE_REPLACE,    /* the override's value wins as a whole */
    RULE_PORTS,      /* keyed by (host_ip, published, target, protocol) */
    RULE_VOLUMES,    /* keyed by target */
    RULE_ENV_FILE,   /* keyed by path */
    RULE_SECRETS,    /* keyed by target, else /run/secrets/<source> */
    RULE_CONFIGS,    /* keyed by target, else /<source> */
    RULE_DEVICES,    /* keyed by the container path */
    RULE_SET,        /* strings: append, then drop repeats (first one kept) */
    RULE_KV,         /* a mapping merged per key; "K=V" lists by K */
    RULE_LOGGING,    /* merged only when the drivers agree */
    RULE_IPAM,       /* ipam.config entries keyed by subnet, merged deep */
    RULE_NET_ENTRY,  /* a service's network: a null override keeps the base */
} MergeRule;

typedef struct RuleEntry {
    const char *pattern; /* dot-separated path, "*" matches one component */
    MergeRule rule;
} RuleEntry;

/* x-tend.seed is replaced rather than appended: seed steps run in order, and
 * appending an override's steps would run the shared ones twice. Other x-*
 * values follow the default rules (maps merge, sequences append). */
static const RuleEntry rules[] = {
    {"services.*.command", RULE_REPLACE},
    {"services.*.entrypoint", RULE_REPLACE},
    {"services.*.healthcheck.test", RULE_REPLACE},
    {"services.*.ulimits.*", RULE_REPLACE},
    {"services.*.x-tend.seed", RULE_REPLACE},
    {"services.*.ports", RULE_PORTS},
    {"services.*.volumes", RULE_VOLUMES},
    {"services.*.env_file", RULE_ENV_FILE},
    {"services.*.label_file", RULE_SET},
    {"services.*.secrets", RULE_SECRETS},
    {"services.*.configs", RULE_CONFIGS},
    {"services.*.devices", RULE_DEVICES},
    {"services.*.expose", RULE_SET},
    {"services.*.dns", RULE_SET},
    {"services.*.dns_search", RULE_SET},
    {"services.*.dns_opt", RULE_SET},
    {"services.*.tmpfs", RULE_SET},
    {"services.*.cap_add", RULE_SET},
    {"services.*.cap_drop", RULE_SET},
    {"services.*.profiles", RULE_SET},
    {"services.*.security_opt", RULE_SET},
    {"services.*.links", RULE_SET},
    {"services.*.external_links", RULE_SET},
    {"services.*.group_add", RULE_SET},
    {"services.*.build.tags", RULE_SET},
    {"services.*.build.platforms", RULE_SET},
    {"services.*.networks.*.aliases", RULE_SET},
    {"services.*.networks.*.link_local_ips", RULE_SET},
    {"services.*.networks.*", RULE_NET_ENTRY},
    {"services.*.environment", RULE_KV},
    {"services.*.labels", RULE_KV},
    {"services.*.annotations", RULE_KV},
    {"services.*.sysctls", RULE_KV},
    {"services.*.extra_hosts", RULE_KV},
    {"services.*.build.args", RULE_KV},
    {"services.*.build.labels", RULE_KV},
    {"services.*.build.extra_hosts", RULE_KV},
    {"services.*.build.additional_contexts", RULE_KV},
    {"services.*.deploy.labels", RULE_KV},
    {"services.*.logging", RULE_LOGGING},
    {"networks.*.labels", RULE_KV},
    {"networks.*.ipam.config", RULE_IPAM},
    {"volumes.*.labels", RULE_KV},
};

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

static bool pattern_matches(const char *pattern, const Merger *m)
{
    if (m->depth > MERGE_MAX_DEPTH)
        return false;
    const char *p = pattern;
    for (size_t i = 0; i < m->depth; i++) {
        if (!*p)
            return false;
        size_t n = strcspn(p, ".");
        const char *comp = m->path[i] ? m->path[i] : "";
        if (!(n == 1 && p[0] == '*') && (strlen(comp) != n || strncmp(p, comp, n) != 0))
            return false;
        p += n;
        if (*p == '.')
            p++;
    }
    return *p == '\0';
}

static MergeRule rule_for(const Merger *m)
{
    for (size_t i = 0; i < ARRAY_SIZE(rules); i++)
        if (pattern_matches(rules[i].pattern, m))
            return rules[i].rule;
    return RULE_DEEP;
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

static Node *append_seq(Merger *m, Node *base, Node *over)
{
    Node *out = node_new(m->a, NODE_SEQ, &base->loc);
    for (size_t i = 0; i < base->len; i++)
        node_seq_push(m->a, out, base->vals[i]);
    for (size_t i = 0; i < over->len; i++)
        node_seq_push(m->a, out, over->vals[i]);
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

static Node *merge_seq(Merger *m, MergeRule rule, Node *base, Node *over)
{
    switch (rule) {
    case RULE_PORTS:
        return merge_keyed(m, base, over, key_port, true, false);
    case RULE_VOLUMES:
        return merge_keyed(m, base, over, key_target, true, false);
    case RULE_ENV_FILE:
        return merge_keyed(m, base, over, key_path, true, false);
    case RULE_SECRETS:
        return merge_keyed(m, base, over, key_secret, true, false);
    case RULE_CONFIGS:
        return merge_keyed(m, base, over, key_config, true, false);
    case RULE_DEVICES:
        return merge_keyed(m, base, over, key_device, true, false);
    case RULE_SET:
        return merge_keyed(m, base, over, key_scalar, false, false);
    case RULE_KV:
        return merge_keyed(m, base, over, key_kv, true, false);
    case RULE_IPAM:
        return merge_keyed(m, base, over, key_subnet, true, true);
    default:
        return append_seq(m, base, over);
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
    MergeRule rule = rule_for(m);
    if (rule == RULE_REPLACE)
        return over;
    /* `networks: {front: }` attaches with defaults; it must not drop the
     * aliases or addresses an earlier file gave the same network. */
    if (rule == RULE_NET_ENTRY && over->kind == NODE_NULL)
        return base;
    if (rule == RULE_KV && base->kind != over->kind) {
        if (base->kind == NODE_SEQ && over->kind == NODE_MAP)
            base = kv_seq_to_map(m->a, base);
        else if (base->kind == NODE_MAP && over->kind == NODE_SEQ)
            over = kv_seq_to_map(m->a, over);
    }
    if (base->kind != over->kind)
        return over;
    switch (over->kind) {
    case NODE_MAP:
        return rule == RULE_LOGGING ? merge_logging(m, base, over) : merge_map(m, base, over);
    case NODE_SEQ:
        return merge_seq(m, rule, base, over);
    default:
        return over;
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
