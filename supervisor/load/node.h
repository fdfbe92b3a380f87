/* node: the document tree every config stage works on. A services file is
 * read by libyaml into Nodes that remember where they were written
 * (file:line:col), so that interpolation, merging, extends and validation can
 * all report errors at the source even after files were merged. Nodes live
 * in an Arena owned by the load; nothing here frees a single node.
 *
 * Diag collects error messages of the form "file:line:col: error: ..." in
 * the order they were found. Library code fills a Diag; only main prints. */
#pragma once

#include "lib/util.h"

typedef struct Loc {
    const char *file; /* arena-owned; NULL for synthesized nodes */
    int line;         /* 1-based; 0 when unknown */
    int col;          /* 1-based */
} Loc;

typedef enum NodeKind {
    NODE_NULL,
    NODE_SCALAR,
    NODE_MAP,
    NODE_SEQ,
} NodeKind;

typedef enum ScalarStyle {
    STYLE_PLAIN,  /* unquoted: may be a number, bool or null */
    STYLE_QUOTED, /* single, double, literal or folded: always a string */
} ScalarStyle;

typedef struct Node Node;
typedef struct NodeIndex NodeIndex;
struct Node {
    NodeKind kind;
    ScalarStyle style;
    bool interpolated; /* its text came through ${...} (interp.c): a string to Compose */
    Loc loc;
    const char *tag;  /* "!reset", "!override", or NULL (other tags dropped) */
    char *str;        /* scalar text (arena); NULL for map, seq and null */
    size_t len;       /* entries in a map or seq */
    size_t cap;
    Node **keys;      /* map keys (scalars), parallel to vals */
    Node **vals;      /* map values or seq items */
    NodeIndex *index; /* hash of a big map's keys (node.c); a cache, may be NULL */
};

/* ---- diagnostics ---- */

typedef struct Diag {
    StrVec msgs; /* full lines, "file:line:col: error: msg" */
    size_t errors;
    size_t warnings;
} Diag;

void diag_error(Diag *d, const Loc *loc, const char *fmt, ...) _printf_(3, 4);
void diag_warning(Diag *d, const Loc *loc, const char *fmt, ...) _printf_(3, 4);
void diag_free(Diag *d);

/* ---- construction ---- */

Node *node_new(Arena *a, NodeKind kind, const Loc *loc);
Node *node_scalar(Arena *a, const char *s, const Loc *loc);
Node *node_scalarf(Arena *a, const Loc *loc, const char *fmt, ...) _printf_(3, 4);
Node *node_bool(Arena *a, bool v, const Loc *loc); /* plain "true"/"false" */
void node_seq_push(Arena *a, Node *seq, Node *item);
/* Sets key in a map: replaces the value of an existing key, else appends. */
void node_map_set(Arena *a, Node *map, const char *key, Node *val);
void node_map_set_node(Arena *a, Node *map, Node *key, Node *val);
void node_map_remove(Node *map, const char *key);
Node *node_copy(Arena *a, const Node *n); /* deep */

/* ---- queries ---- */

Node *node_get(const Node *map, const char *key); /* NULL if absent or not a map */
Node *node_get_key(const Node *map, const char *key); /* the key node */
/* The position of `key` in `map`, or -1. Big maps (16 keys or more) built
 * through the functions above keep a hash index of their keys, so a lookup
 * there costs the same in a map of 10 or 10,000 keys. Code that edits
 * keys[] or len by hand stays correct (the index notices a new keys array,
 * a new length or a moved key and rebuilds), as long as it does not put a
 * different key at a position without changing len: use node_map_set*. */
ssize_t node_index(const Node *map, const char *key);
bool node_is_null(const Node *n);   /* NULL, ~, null, Null, NULL or empty plain */
bool node_is_scalar(const Node *n); /* non-null scalar */
const char *node_kind_name(const Node *n); /* "a string", "a mapping", ... */
/* Plain bool as YAML 1.1 and Compose read it: true/false/yes/no/on/off. */
int node_as_bool(const Node *n, bool *ret);
/* Integer (decimal) scalar. 0 or -EINVAL/-ERANGE. */
int node_as_int(const Node *n, long long *ret);
/* A scalar that is a number (int or float) in plain style. */
bool node_is_number(const Node *n);

/* ---- YAML ---- */

/* Parses one YAML document into a tree in arena `a`. Anchors and aliases
 * are expanded (aliases copy the anchored tree) and `<<` merge keys are
 * applied. `file` is used for locations. Errors go to d; returns NULL on
 * error. An empty document gives an empty map. max_nodes bounds alias
 * expansion (0: 2,000,000). */
Node *yaml_load(Arena *a, const char *file, const char *data, size_t len, Diag *d,
                size_t max_nodes);
Node *yaml_load_file(Arena *a, const char *path, Diag *d);

/* Writes a tree as block YAML, the style of `docker compose config`. */
void yaml_emit(const Node *n, StrBuf *out);
/* Writes a tree as JSON (indent 2). Plain scalars that are numbers, bools or
 * null are written bare; everything else as a string. */
void json_emit(const Node *n, StrBuf *out);
