/* node: the located document tree, its YAML reader (libyaml events) and its
 * YAML/JSON writers. See node.h for the contract. */
#include "load/node.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* ---- diagnostics ---- */

static void diag_vadd(Diag *d, const Loc *loc, const char *kind, const char *fmt, va_list ap) _printf_(4, 0);
static void diag_vadd(Diag *d, const Loc *loc, const char *kind, const char *fmt, va_list ap)
{
    _cleanup_free_ char *msg = xvasprintf(fmt, ap);
    char *line;
    if (loc && loc->file && loc->line > 0)
        line = xasprintf("%s:%d:%d: %s: %s", loc->file, loc->line, loc->col, kind, msg);
    else if (loc && loc->file)
        line = xasprintf("%s: %s: %s", loc->file, kind, msg);
    else
        line = xasprintf("%s: %s", kind, msg);
    strvec_push_take(&d->msgs, line);
}

void diag_error(Diag *d, const Loc *loc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    diag_vadd(d, loc, "error", fmt, ap);
    va_end(ap);
    d->errors++;
}

void diag_warning(Diag *d, const Loc *loc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    diag_vadd(d, loc, "warning", fmt, ap);
    va_end(ap);
    d->warnings++;
}

/* A line that belongs to the error before it (the second place of a YAML
 * syntax error): neither an error nor a warning of its own. */
static void diag_note(Diag *d, const Loc *loc, const char *fmt, ...) _printf_(3, 4);
static void diag_note(Diag *d, const Loc *loc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    diag_vadd(d, loc, "note", fmt, ap);
    va_end(ap);
}

void diag_free(Diag *d)
{
    strvec_free(&d->msgs);
    d->errors = d->warnings = 0;
}

/* ---- construction ---- */

Node *node_new(Arena *a, NodeKind kind, const Loc *loc)
{
    Node *n = arena_alloc(a, sizeof(Node));
    n->kind = kind;
    if (loc)
        n->loc = *loc;
    return n;
}

Node *node_scalar(Arena *a, const char *s, const Loc *loc)
{
    Node *n = node_new(a, NODE_SCALAR, loc);
    n->str = arena_strdup(a, s);
    n->style = STYLE_QUOTED;
    return n;
}

Node *node_scalarf(Arena *a, const Loc *loc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    _cleanup_free_ char *s = xvasprintf(fmt, ap);
    va_end(ap);
    return node_scalar(a, s, loc);
}

Node *node_bool(Arena *a, bool v, const Loc *loc)
{
    Node *n = node_scalar(a, v ? "true" : "false", loc);
    n->style = STYLE_PLAIN;
    return n;
}

/* ---- the key index of big maps ----
 *
 * A services file of 500 services makes maps of 500 keys (services,
 * volumes), and every stage looks names up in them: the reader for
 * duplicate keys, merge, canon and the model for each reference. A linear
 * lookup there made loading quadratic. A map that reaches INDEX_MIN keys
 * through node.c gets an open-addressing table of (hash, position), in the
 * arena of the map. The table remembers the keys array and length it was
 * built for; a lookup that finds them changed, or a slot whose key moved,
 * rebuilds it (or falls back to the linear walk), so code elsewhere that
 * compacts or sorts keys[] in place stays correct. */

enum { INDEX_MIN = 16 };

typedef struct IndexSlot {
    uint32_t hash;
    uint32_t pos; /* position + 1; 0: empty */
} IndexSlot;

struct NodeIndex {
    Arena *a;
    Node **keys; /* the keys array and length the table holds */
    size_t len;
    size_t mask; /* slots - 1; slots is a power of two, at least 2 * len */
    IndexSlot *slots;
};

static uint32_t key_hash(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

/* Adds key position i; an earlier position of the same key stays, as the
 * linear walk finds the first one. */
static void index_put(NodeIndex *x, size_t i)
{
    const char *key = x->keys[i]->str;
    if (!key)
        return;
    uint32_t h = key_hash(key);
    for (size_t s = h & x->mask;; s = (s + 1) & x->mask) {
        IndexSlot *sl = &x->slots[s];
        if (!sl->pos) {
            *sl = (IndexSlot){h, (uint32_t)i + 1};
            return;
        }
        if (sl->hash == h && streq(x->keys[sl->pos - 1]->str, key))
            return;
    }
}

/* (Re)builds the table of `map` for its current keys, with room to grow. */
static void index_build(NodeIndex *x, const Node *map)
{
    size_t nslots = 64;
    while (nslots < map->len * 4)
        nslots *= 2;
    if (!x->slots || x->mask + 1 < nslots / 2 || x->mask + 1 < map->len * 2) {
        x->slots = arena_alloc(x->a, nslots * sizeof(IndexSlot));
        x->mask = nslots - 1;
    } else {
        memset(x->slots, 0, (x->mask + 1) * sizeof(IndexSlot));
    }
    x->keys = map->keys;
    x->len = map->len;
    for (size_t i = 0; i < map->len; i++)
        index_put(x, i);
}

/* Called after a key was appended to `map` through node.c. */
static void index_note_append(Arena *a, Node *map)
{
    NodeIndex *x = map->index;
    if (!x) {
        if (map->len < INDEX_MIN)
            return;
        x = map->index = arena_alloc(a, sizeof(NodeIndex));
        x->a = a;
        index_build(x, map);
        return;
    }
    if (x->keys == map->keys && x->len + 1 == map->len && map->len * 2 <= x->mask + 1) {
        x->len++;
        index_put(x, map->len - 1);
    } else {
        index_build(x, map);
    }
}

/* The walk of small maps: most keys differ in their first letter, which is
 * compared before calling strcmp. */
static ssize_t index_linear(const Node *map, const char *key)
{
    for (size_t i = 0; i < map->len; i++) {
        const char *k = map->keys[i]->str;
        if (k && k[0] == key[0] && streq(k, key))
            return (ssize_t)i;
    }
    return -1;
}

static ssize_t index_find(const Node *map, const char *key)
{
    NodeIndex *x = map->index;
    if (x->keys != map->keys || x->len != map->len)
        index_build(x, map);
    uint32_t h = key_hash(key);
    for (size_t s = h & x->mask;; s = (s + 1) & x->mask) {
        const IndexSlot *sl = &x->slots[s];
        if (!sl->pos)
            return -1;
        if (sl->hash != h)
            continue;
        const char *k = map->keys[sl->pos - 1]->str;
        if (k && streq(k, key))
            return (ssize_t)sl->pos - 1;
        /* The key at that position changed (keys sorted or swapped in
         * place): the table is stale. */
        index_build(x, map);
        return index_linear(map, key);
    }
}

static void node_grow(Arena *a, Node *n, bool with_keys)
{
    if (n->len < n->cap)
        return;
    size_t cap = n->cap ? n->cap * 2 : 4;
    Node **vals = arena_alloc(a, cap * sizeof(Node *));
    if (n->len)
        memcpy(vals, n->vals, n->len * sizeof(Node *));
    n->vals = vals;
    if (with_keys) {
        Node **keys = arena_alloc(a, cap * sizeof(Node *));
        if (n->len)
            memcpy(keys, n->keys, n->len * sizeof(Node *));
        /* Same keys at the same positions: the index still holds. */
        if (n->index && n->index->keys == n->keys)
            n->index->keys = keys;
        n->keys = keys;
    }
    n->cap = cap;
}

void node_seq_push(Arena *a, Node *seq, Node *item)
{
    node_grow(a, seq, false);
    seq->vals[seq->len++] = item;
}

void node_map_set_node(Arena *a, Node *map, Node *key, Node *val)
{
    ssize_t i = node_index(map, key->str);
    if (i >= 0) {
        map->vals[i] = val;
        return;
    }
    node_grow(a, map, true);
    map->keys[map->len] = key;
    map->vals[map->len] = val;
    map->len++;
    index_note_append(a, map);
}

void node_map_set(Arena *a, Node *map, const char *key, Node *val)
{
    ssize_t i = node_index(map, key);
    if (i >= 0) {
        map->vals[i] = val;
        return;
    }
    Node *k = node_scalar(a, key, val ? &val->loc : NULL);
    k->style = STYLE_PLAIN;
    node_map_set_node(a, map, k, val);
}

void node_map_remove(Node *map, const char *key)
{
    ssize_t i = node_index(map, key);
    if (i < 0)
        return;
    memmove(map->keys + i, map->keys + i + 1, (map->len - i - 1) * sizeof(Node *));
    memmove(map->vals + i, map->vals + i + 1, (map->len - i - 1) * sizeof(Node *));
    map->len--;
}

Node *node_copy(Arena *a, const Node *n)
{
    if (!n)
        return NULL;
    Node *c = node_new(a, n->kind, &n->loc);
    c->style = n->style;
    c->interpolated = n->interpolated;
    c->tag = n->tag;
    c->str = n->str ? arena_strdup(a, n->str) : NULL;
    if (n->kind == NODE_MAP || n->kind == NODE_SEQ) {
        c->cap = c->len = n->len;
        if (n->len) {
            c->vals = arena_alloc(a, n->len * sizeof(Node *));
            if (n->kind == NODE_MAP)
                c->keys = arena_alloc(a, n->len * sizeof(Node *));
        }
        for (size_t i = 0; i < n->len; i++) {
            c->vals[i] = node_copy(a, n->vals[i]);
            if (n->kind == NODE_MAP)
                c->keys[i] = node_copy(a, n->keys[i]);
        }
        if (n->kind == NODE_MAP && n->len >= INDEX_MIN) {
            c->index = arena_alloc(a, sizeof(NodeIndex));
            c->index->a = a;
            index_build(c->index, c);
        }
    }
    return c;
}

/* ---- queries ---- */

ssize_t node_index(const Node *map, const char *key)
{
    if (!map || map->kind != NODE_MAP)
        return -1;
    if (map->index)
        return index_find(map, key);
    return index_linear(map, key);
}

Node *node_get(const Node *map, const char *key)
{
    ssize_t i = node_index(map, key);
    return i < 0 ? NULL : map->vals[i];
}

Node *node_get_key(const Node *map, const char *key)
{
    ssize_t i = node_index(map, key);
    return i < 0 ? NULL : map->keys[i];
}

bool node_is_null(const Node *n)
{
    if (!n || n->kind == NODE_NULL)
        return true;
    if (n->kind != NODE_SCALAR || n->style != STYLE_PLAIN)
        return false;
    const char *s = n->str;
    if (!*s)
        return true;
    /* Most scalars are not null: one look at the first letter says so. */
    if (*s != '~' && *s != 'n' && *s != 'N')
        return false;
    return streq(s, "~") || streq(s, "null") || streq(s, "Null") || streq(s, "NULL");
}

bool node_is_scalar(const Node *n)
{
    return n && n->kind == NODE_SCALAR && !node_is_null(n);
}

const char *node_kind_name(const Node *n)
{
    if (node_is_null(n))
        return "null";
    switch (n->kind) {
    case NODE_MAP:
        return "a mapping";
    case NODE_SEQ:
        return "a list";
    case NODE_SCALAR: {
        bool b;
        if (n->style == STYLE_PLAIN && node_as_bool(n, &b) == 0)
            return "a boolean";
        if (node_is_number(n))
            return "a number";
        return "a string";
    }
    case NODE_NULL:
        break;
    }
    return "null";
}

int node_as_bool(const Node *n, bool *ret)
{
    static const char *const yes[] = {"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON", "y", "Y"};
    static const char *const no[] = {"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF", "n", "N"};
    if (!node_is_scalar(n))
        return -EINVAL;
    for (size_t i = 0; i < ARRAY_SIZE(yes); i++)
        if (streq(n->str, yes[i])) {
            *ret = true;
            return 0;
        }
    for (size_t i = 0; i < ARRAY_SIZE(no); i++)
        if (streq(n->str, no[i])) {
            *ret = false;
            return 0;
        }
    return -EINVAL;
}

int node_as_int(const Node *n, long long *ret)
{
    if (!node_is_scalar(n))
        return -EINVAL;
    const char *s = n->str;
    if (!*s)
        return -EINVAL;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (*end || isspace((unsigned char)*s))
        return -EINVAL;
    if (errno == ERANGE)
        return -ERANGE;
    *ret = v;
    return 0;
}

bool node_is_number(const Node *n)
{
    if (!node_is_scalar(n) || n->style != STYLE_PLAIN)
        return false;
    const char *s = n->str;
    if (*s == '-' || *s == '+')
        s++;
    if (!isdigit((unsigned char)*s) && !(*s == '.' && isdigit((unsigned char)s[1])))
        return false;
    char *end;
    strtod(n->str, &end);
    return *end == '\0';
}

/* ---- YAML reader ---- */

typedef struct Anchor {
    char *name;
    Node *node;
} Anchor;

typedef struct Loader {
    Arena *a;
    const char *file;
    Diag *d;
    Anchor *anchors;
    size_t n_anchors, cap_anchors;
    size_t nodes, max_nodes;
    bool failed;
} Loader;

static Loc mark_loc(Loader *l, yaml_mark_t m)
{
    return (Loc){l->file, (int)m.line + 1, (int)m.column + 1};
}

static const char *keep_tag(const yaml_char_t *tag)
{
    if (!tag)
        return NULL;
    if (streq((const char *)tag, "!reset"))
        return "!reset";
    if (streq((const char *)tag, "!override"))
        return "!override";
    return NULL;
}

static size_t count_nodes(const Node *n)
{
    size_t c = 1;
    if (n && (n->kind == NODE_MAP || n->kind == NODE_SEQ))
        for (size_t i = 0; i < n->len; i++)
            c += count_nodes(n->vals[i]) + (n->kind == NODE_MAP ? 1 : 0);
    return c;
}

static void add_anchor(Loader *l, const yaml_char_t *name, Node *n)
{
    if (!name)
        return;
    for (size_t i = 0; i < l->n_anchors; i++)
        if (streq(l->anchors[i].name, (const char *)name)) {
            l->anchors[i].node = n; /* redefinition: later wins, as in YAML */
            return;
        }
    if (l->n_anchors == l->cap_anchors) {
        l->cap_anchors = l->cap_anchors ? l->cap_anchors * 2 : 16;
        l->anchors = xrealloc(l->anchors, l->cap_anchors * sizeof(Anchor));
    }
    l->anchors[l->n_anchors++] = (Anchor){xstrdup((const char *)name), n};
}

/* A syntax error. libyaml knows two places: where the construct it was
 * reading started (context_mark: the opening quote, the "[" or the
 * mapping) and where it found the problem (problem_mark, often the end of
 * the file for an unclosed quote). Both are told, the start first, as two
 * lines:
 *   f.yaml:2:12: error: invalid YAML: while scanning a quoted scalar that starts here
 *   f.yaml:9:1: note: found unexpected end of stream
 * When libyaml gives no context, or it is the same place, one line. */
static void fail_parser(Loader *l, yaml_parser_t *p)
{
    Loc loc = mark_loc(l, p->problem_mark);
    const char *problem = p->problem ? p->problem : "malformed YAML";
    bool two = p->context && (p->context_mark.line != p->problem_mark.line ||
                              p->context_mark.column != p->problem_mark.column);
    if (two) {
        Loc cloc = mark_loc(l, p->context_mark);
        diag_error(l->d, &cloc, "invalid YAML: %s that starts here", p->context);
        diag_note(l->d, &loc, "%s", problem);
    } else if (p->context) {
        diag_error(l->d, &loc, "invalid YAML: %s %s", problem, p->context);
    } else {
        diag_error(l->d, &loc, "invalid YAML: %s", problem);
    }
    l->failed = true;
}

/* Applies YAML merge keys ("<<: *base" or "<<: [*a, *b]") to a finished
 * mapping: keys written in the mapping win over merged ones, and earlier
 * sources win over later ones. */
static void apply_merge_keys(Loader *l, Node *map)
{
    bool any = false;
    for (size_t i = 0; i < map->len; i++)
        if (map->keys[i]->style == STYLE_PLAIN && streq(map->keys[i]->str, "<<"))
            any = true;
    if (!any)
        return;
    Node *out = node_new(l->a, NODE_MAP, &map->loc);
    for (size_t i = 0; i < map->len; i++)
        if (!(map->keys[i]->style == STYLE_PLAIN && streq(map->keys[i]->str, "<<")))
            node_map_set_node(l->a, out, map->keys[i], map->vals[i]);
    for (size_t i = 0; i < map->len; i++) {
        if (!(map->keys[i]->style == STYLE_PLAIN && streq(map->keys[i]->str, "<<")))
            continue;
        Node *v = map->vals[i];
        size_t nsrc = v->kind == NODE_SEQ ? v->len : 1;
        for (size_t s = 0; s < nsrc; s++) {
            Node *src = v->kind == NODE_SEQ ? v->vals[s] : v;
            if (src->kind != NODE_MAP) {
                diag_error(l->d, &src->loc, "a merge key (<<) takes a mapping or a list of mappings");
                l->failed = true;
                return;
            }
            for (size_t k = 0; k < src->len; k++)
                if (node_index(out, src->keys[k]->str) < 0)
                    node_map_set_node(l->a, out, src->keys[k], src->vals[k]);
        }
    }
    map->keys = out->keys;
    map->vals = out->vals;
    map->len = out->len;
    map->cap = out->cap;
    map->index = out->index;
}

/* Reads one node starting with event ev (already taken). Recursion depth is
 * bounded by libyaml's own nesting limit and by the check below. */
static Node *load_node(Loader *l, yaml_parser_t *p, yaml_event_t *ev, int depth)
{
    if (depth > 256) {
        Loc loc = mark_loc(l, ev->start_mark);
        diag_error(l->d, &loc, "invalid YAML: nesting deeper than 256 levels");
        l->failed = true;
        return NULL;
    }
    if (++l->nodes > l->max_nodes) {
        Loc loc = mark_loc(l, ev->start_mark);
        diag_error(l->d, &loc, "invalid YAML: document expands to more than %zu nodes", l->max_nodes);
        l->failed = true;
        return NULL;
    }
    Loc loc = mark_loc(l, ev->start_mark);
    switch (ev->type) {
    case YAML_ALIAS_EVENT: {
        const char *name = (const char *)ev->data.alias.anchor;
        for (size_t i = l->n_anchors; i-- > 0;)
            if (streq(l->anchors[i].name, name)) {
                Node *src = l->anchors[i].node;
                l->nodes += count_nodes(src);
                if (l->nodes > l->max_nodes) {
                    diag_error(l->d, &loc, "invalid YAML: document expands to more than %zu nodes",
                               l->max_nodes);
                    l->failed = true;
                    return NULL;
                }
                return node_copy(l->a, src);
            }
        diag_error(l->d, &loc, "invalid YAML: unknown anchor '%s' referenced", name);
        l->failed = true;
        return NULL;
    }
    case YAML_SCALAR_EVENT: {
        Node *n = node_new(l->a, NODE_SCALAR, &loc);
        n->str = arena_strndup(l->a, (const char *)ev->data.scalar.value, ev->data.scalar.length);
        n->style = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE ? STYLE_PLAIN : STYLE_QUOTED;
        const char *tag = (const char *)ev->data.scalar.tag;
        if (tag && streq(tag, YAML_STR_TAG))
            n->style = STYLE_QUOTED;
        n->tag = keep_tag(ev->data.scalar.tag);
        if (n->style == STYLE_PLAIN && node_is_null(n))
            n->kind = NODE_NULL;
        add_anchor(l, ev->data.scalar.anchor, n);
        return n;
    }
    case YAML_SEQUENCE_START_EVENT: {
        Node *n = node_new(l->a, NODE_SEQ, &loc);
        n->tag = keep_tag(ev->data.sequence_start.tag);
        _cleanup_free_ char *anchor =
            ev->data.sequence_start.anchor ? xstrdup((const char *)ev->data.sequence_start.anchor) : NULL;
        for (;;) {
            yaml_event_t e;
            if (!yaml_parser_parse(p, &e)) {
                fail_parser(l, p);
                return NULL;
            }
            if (e.type == YAML_SEQUENCE_END_EVENT) {
                yaml_event_delete(&e);
                break;
            }
            Node *item = load_node(l, p, &e, depth + 1);
            yaml_event_delete(&e);
            if (!item)
                return NULL;
            node_seq_push(l->a, n, item);
        }
        add_anchor(l, (yaml_char_t *)anchor, n);
        return n;
    }
    case YAML_MAPPING_START_EVENT: {
        Node *n = node_new(l->a, NODE_MAP, &loc);
        n->tag = keep_tag(ev->data.mapping_start.tag);
        _cleanup_free_ char *anchor =
            ev->data.mapping_start.anchor ? xstrdup((const char *)ev->data.mapping_start.anchor) : NULL;
        for (;;) {
            yaml_event_t e;
            if (!yaml_parser_parse(p, &e)) {
                fail_parser(l, p);
                return NULL;
            }
            if (e.type == YAML_MAPPING_END_EVENT) {
                yaml_event_delete(&e);
                break;
            }
            Node *key = load_node(l, p, &e, depth + 1);
            yaml_event_delete(&e);
            if (!key)
                return NULL;
            if (key->kind == NODE_MAP || key->kind == NODE_SEQ) {
                diag_error(l->d, &key->loc, "a mapping key must be a string, not %s",
                           node_kind_name(key));
                l->failed = true;
                return NULL;
            }
            if (key->kind == NODE_NULL) {
                key->kind = NODE_SCALAR;
                if (!key->str)
                    key->str = arena_strdup(l->a, "");
            }
            yaml_event_t ve;
            if (!yaml_parser_parse(p, &ve)) {
                fail_parser(l, p);
                return NULL;
            }
            Node *val = load_node(l, p, &ve, depth + 1);
            yaml_event_delete(&ve);
            if (!val)
                return NULL;
            bool merge_key = key->style == STYLE_PLAIN && streq(key->str, "<<");
            ssize_t dup = merge_key ? -1 : node_index(n, key->str);
            if (dup >= 0) {
                diag_error(l->d, &key->loc, "mapping key '%s' already defined at line %d", key->str,
                           n->keys[dup]->loc.line);
                l->failed = true;
                return NULL;
            }
            /* node_map_set_node would replace "<<" duplicates: append instead */
            node_grow(l->a, n, true);
            n->keys[n->len] = key;
            n->vals[n->len] = val;
            n->len++;
            index_note_append(l->a, n);
        }
        apply_merge_keys(l, n);
        if (l->failed)
            return NULL;
        add_anchor(l, (yaml_char_t *)anchor, n);
        return n;
    }
    default:
        diag_error(l->d, &loc, "invalid YAML: unexpected event");
        l->failed = true;
        return NULL;
    }
}

Node *yaml_load(Arena *a, const char *file, const char *data, size_t len, Diag *d, size_t max_nodes)
{
    Loader l = {.a = a, .file = arena_strdup(a, file), .d = d,
                .max_nodes = max_nodes ? max_nodes : 2000000};
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p)) {
        diag_error(d, &(Loc){l.file, 0, 0}, "cannot initialize the YAML parser");
        return NULL;
    }
    yaml_parser_set_input_string(&p, (const unsigned char *)data, len);
    Node *root = NULL;
    bool done = false, seen_doc = false;
    while (!done && !l.failed) {
        yaml_event_t e;
        if (!yaml_parser_parse(&p, &e)) {
            fail_parser(&l, &p);
            break;
        }
        switch (e.type) {
        case YAML_STREAM_END_EVENT:
            done = true;
            break;
        case YAML_STREAM_START_EVENT:
        case YAML_DOCUMENT_END_EVENT:
            break;
        case YAML_DOCUMENT_START_EVENT:
            if (seen_doc) {
                Loc loc = mark_loc(&l, e.start_mark);
                diag_error(d, &loc, "a services file holds one YAML document; found a second");
                l.failed = true;
            }
            seen_doc = true;
            break;
        default:
            root = load_node(&l, &p, &e, 0);
            break;
        }
        yaml_event_delete(&e);
    }
    yaml_parser_delete(&p);
    for (size_t i = 0; i < l.n_anchors; i++)
        free(l.anchors[i].name);
    free(l.anchors);
    if (l.failed)
        return NULL;
    if (!root || root->kind == NODE_NULL)
        return node_new(a, NODE_MAP, &(Loc){l.file, 1, 1});
    return root;
}

Node *yaml_load_file(Arena *a, const char *path, Diag *d)
{
    _cleanup_free_ char *data = NULL;
    size_t len = 0;
    int r = read_file(path, 16 << 20, &data, &len);
    if (r < 0) {
        Loc loc = {arena_strdup(a, path), 0, 0};
        diag_error(d, &loc, "cannot read: %s", r == -EFBIG ? "file larger than 16 MiB" : strerror(-r));
        return NULL;
    }
    return yaml_load(a, path, data, len, d, 0);
}

/* ---- writers ---- */

/* True when a string must be quoted in YAML to read back as the same string. */
static bool yaml_needs_quotes(const char *s)
{
    if (!*s)
        return true;
    static const char *const special[] = {"true", "false", "yes", "no", "on", "off", "y", "n",
                                          "null", "~", "True", "False", "Yes", "No", "On",
                                          "Off", "Null", "NULL", "TRUE", "FALSE", "YES", "NO",
                                          "ON", "OFF", "Y", "N", "<<"}; /* "<<": merge key */
    for (size_t i = 0; i < ARRAY_SIZE(special); i++)
        if (streq(s, special[i]))
            return true;
    if (strchr("-?:,[]{}#&*!|>'\"%@` \t", s[0]))
        return true;
    size_t n = strlen(s);
    if (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == ':')
        return true;
    for (const char *p = s; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c < 0x20 || c == 0x7f)
            return true;
        if (c == ':' && (p[1] == ' ' || p[1] == '\0'))
            return true;
        if (c == '#' && p > s && p[-1] == ' ')
            return true;
    }
    /* anything that parses as a number */
    char *end;
    strtod(s, &end);
    if (*end == '\0')
        return true;
    if (str_startswith(s, "0x") || str_startswith(s, "0o") || str_startswith(s, ".inf") ||
        str_startswith(s, ".nan"))
        return true;
    return false;
}

static void write_quoted(StrBuf *out, const char *s)
{
    strbuf_putc(out, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"':
            strbuf_puts(out, "\\\"");
            break;
        case '\\':
            strbuf_puts(out, "\\\\");
            break;
        case '\n':
            strbuf_puts(out, "\\n");
            break;
        case '\t':
            strbuf_puts(out, "\\t");
            break;
        case '\r':
            strbuf_puts(out, "\\r");
            break;
        default:
            if (*p < 0x20 || *p == 0x7f)
                strbuf_printf(out, "\\u%04x", *p);
            else
                strbuf_putc(out, (char)*p);
        }
    }
    strbuf_putc(out, '"');
}

static bool plain_literal(const Node *n)
{
    /* a plain scalar that YAML would read as something other than a string */
    if (n->style != STYLE_PLAIN)
        return false;
    bool b;
    return node_as_bool(n, &b) == 0 || node_is_number(n);
}

static void yaml_scalar(StrBuf *out, const Node *n)
{
    if (node_is_null(n)) {
        strbuf_puts(out, "null");
        return;
    }
    if (plain_literal(n) || !yaml_needs_quotes(n->str))
        strbuf_puts(out, n->str);
    else
        write_quoted(out, n->str);
}

static void yaml_key(StrBuf *out, const Node *k)
{
    if (yaml_needs_quotes(k->str))
        write_quoted(out, k->str);
    else
        strbuf_puts(out, k->str);
}

static bool is_block(const Node *n)
{
    return n && (n->kind == NODE_MAP || n->kind == NODE_SEQ) && n->len > 0;
}

static void indent(StrBuf *out, int level)
{
    for (int i = 0; i < level; i++)
        strbuf_puts(out, "  ");
}

static void yaml_inline(StrBuf *out, const Node *n)
{
    if (n && n->kind == NODE_MAP)
        strbuf_puts(out, "{}");
    else if (n && n->kind == NODE_SEQ)
        strbuf_puts(out, "[]");
    else
        yaml_scalar(out, n);
}

static void yaml_block(StrBuf *out, const Node *n, int level);

/* Writes the entries of a mapping, the first one without indentation when
 * `first_inline` (it follows "- " of a list item). */
static void yaml_map_body(StrBuf *out, const Node *n, int level, bool first_inline)
{
    for (size_t i = 0; i < n->len; i++) {
        if (i > 0 || !first_inline)
            indent(out, level);
        yaml_key(out, n->keys[i]);
        strbuf_putc(out, ':');
        const Node *v = n->vals[i];
        if (is_block(v)) {
            strbuf_putc(out, '\n');
            yaml_block(out, v, v->kind == NODE_SEQ ? level : level + 1);
        } else {
            strbuf_putc(out, ' ');
            yaml_inline(out, v);
            strbuf_putc(out, '\n');
        }
    }
}

static void yaml_block(StrBuf *out, const Node *n, int level)
{
    if (n->kind == NODE_MAP) {
        yaml_map_body(out, n, level, false);
        return;
    }
    for (size_t i = 0; i < n->len; i++) {
        const Node *v = n->vals[i];
        indent(out, level);
        strbuf_puts(out, "- ");
        if (v->kind == NODE_MAP && v->len > 0) {
            yaml_map_body(out, v, level + 1, true);
        } else if (v->kind == NODE_SEQ && v->len > 0) {
            strbuf_putc(out, '\n');
            yaml_block(out, v, level + 1);
        } else {
            yaml_inline(out, v);
            strbuf_putc(out, '\n');
        }
    }
}

void yaml_emit(const Node *n, StrBuf *out)
{
    if (is_block(n))
        yaml_block(out, n, 0);
    else {
        yaml_inline(out, n);
        strbuf_putc(out, '\n');
    }
}

static void json_string(StrBuf *out, const char *s)
{
    strbuf_putc(out, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"':
            strbuf_puts(out, "\\\"");
            break;
        case '\\':
            strbuf_puts(out, "\\\\");
            break;
        case '\n':
            strbuf_puts(out, "\\n");
            break;
        case '\t':
            strbuf_puts(out, "\\t");
            break;
        case '\r':
            strbuf_puts(out, "\\r");
            break;
        default:
            if (*p < 0x20)
                strbuf_printf(out, "\\u%04x", *p);
            else
                strbuf_putc(out, (char)*p);
        }
    }
    strbuf_putc(out, '"');
}

static bool json_number(const char *s)
{
    /* JSON's number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
    const char *p = s;
    if (*p == '-')
        p++;
    if (*p == '0')
        p++;
    else if (isdigit((unsigned char)*p))
        while (isdigit((unsigned char)*p))
            p++;
    else
        return false;
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p))
            return false;
        while (isdigit((unsigned char)*p))
            p++;
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (!isdigit((unsigned char)*p))
            return false;
        while (isdigit((unsigned char)*p))
            p++;
    }
    return *p == '\0';
}

static void json_value(StrBuf *out, const Node *n, int level)
{
    if (node_is_null(n)) {
        strbuf_puts(out, "null");
        return;
    }
    if (n->kind == NODE_SCALAR) {
        bool b;
        if (n->style == STYLE_PLAIN && node_as_bool(n, &b) == 0 && strlen(n->str) > 1)
            strbuf_puts(out, b ? "true" : "false");
        else if (n->style == STYLE_PLAIN && json_number(n->str))
            strbuf_puts(out, n->str);
        else
            json_string(out, n->str);
        return;
    }
    bool map = n->kind == NODE_MAP;
    if (n->len == 0) {
        strbuf_puts(out, map ? "{}" : "[]");
        return;
    }
    strbuf_puts(out, map ? "{\n" : "[\n");
    for (size_t i = 0; i < n->len; i++) {
        indent(out, level + 1);
        if (map) {
            json_string(out, n->keys[i]->str);
            strbuf_puts(out, ": ");
        }
        json_value(out, n->vals[i], level + 1);
        strbuf_puts(out, i + 1 < n->len ? ",\n" : "\n");
    }
    indent(out, level);
    strbuf_putc(out, map ? '}' : ']');
}

void json_emit(const Node *n, StrBuf *out)
{
    json_value(out, n, 0);
    strbuf_putc(out, '\n');
}
