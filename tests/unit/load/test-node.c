/* Tests for node: the located YAML reader (styles, tags, anchors, merge
 * keys, limits and its exact error messages), the tree operations and
 * queries, and the YAML and JSON writers. */
#include "load/node.h"
#include "test.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <unistd.h>

/* Loads one document as "t.yaml"; prints the first message on failure. */
static Node *load(Arena *a, const char *yaml)
{
    Diag d = {0};
    Node *n = yaml_load(a, "t.yaml", yaml, strlen(yaml), &d, 0);
    if (!n)
        printf("#   load failed: %s\n", d.msgs.n ? d.msgs.v[0] : "(no message)");
    diag_free(&d);
    return n;
}

/* Loads a document that must fail with exactly one error; returns it. */
static char *load_error(const char *yaml, size_t max_nodes)
{
    Arena *a = arena_new();
    Diag d = {0};
    Node *n = yaml_load(a, "t.yaml", yaml, strlen(yaml), &d, max_nodes);
    char *msg = NULL;
    if (n)
        msg = xstrdup("(loaded without error)");
    else if (d.errors != 1 || d.msgs.n < 1 || d.msgs.n > 2)
        msg = xasprintf("(%zu errors, %zu messages)", d.errors, d.msgs.n);
    else if (d.msgs.n == 2) /* a syntax error: its start, then its note */
        msg = xasprintf("%s\n%s", d.msgs.v[0], d.msgs.v[1]);
    else
        msg = xstrdup(d.msgs.v[0]);
    diag_free(&d);
    arena_free(a);
    return msg;
}

static char *emit_yaml(const Node *n)
{
    StrBuf b;
    strbuf_init(&b, 0);
    yaml_emit(n, &b);
    return strbuf_steal(&b);
}

static char *emit_json(const Node *n)
{
    StrBuf b;
    strbuf_init(&b, 0);
    json_emit(n, &b);
    return strbuf_steal(&b);
}

#define CHECK_LOC(n, l, c)                                                      \
    do {                                                                        \
        const Node *n_ = (n);                                                   \
        REQUIRE(n_);                                                            \
        CHECK_INT(n_->loc.line, l);                                             \
        CHECK_INT(n_->loc.col, c);                                              \
    } while (0)

#define CHECK_ERR(yaml, max, expect)                                            \
    do {                                                                        \
        char *m_ = load_error(yaml, max);                                       \
        CHECK_STR(m_, expect);                                                  \
        free(m_);                                                               \
    } while (0)

/* ---- reading ---- */

TEST(load_locations_of_keys_and_values)
{
    Arena *a = arena_new();
    Node *r = load(a, "services:\n"
                      "  web:\n"
                      "    image: \"nginx:1.25\"\n"
                      "    ports:\n"
                      "      - 80\n"
                      "      - '443'\n"
                      "    command: [a, \"b c\"]\n");
    REQUIRE(r);
    CHECK_INT(r->kind, NODE_MAP);
    CHECK_STR(r->loc.file, "t.yaml");
    CHECK_LOC(r, 1, 1);
    CHECK_INT(r->len, 1);
    CHECK_LOC(node_get_key(r, "services"), 1, 1);

    Node *services = node_get(r, "services");
    CHECK_LOC(services, 2, 3);
    CHECK_LOC(node_get_key(services, "web"), 2, 3);
    Node *web = node_get(services, "web");
    REQUIRE(web && web->kind == NODE_MAP);
    CHECK_INT(web->len, 3);
    CHECK_LOC(web, 3, 5);

    CHECK_LOC(node_get_key(web, "image"), 3, 5);
    Node *image = node_get(web, "image");
    CHECK_LOC(image, 3, 12);
    CHECK_STR(image->str, "nginx:1.25");
    CHECK_STR(image->loc.file, "t.yaml");

    CHECK_LOC(node_get_key(web, "ports"), 4, 5);
    Node *ports = node_get(web, "ports");
    REQUIRE(ports && ports->kind == NODE_SEQ);
    CHECK_INT(ports->len, 2);
    CHECK_LOC(ports, 5, 7);
    CHECK_LOC(ports->vals[0], 5, 9);
    CHECK_STR(ports->vals[0]->str, "80");
    CHECK_LOC(ports->vals[1], 6, 9);
    CHECK_STR(ports->vals[1]->str, "443");

    CHECK_LOC(node_get_key(web, "command"), 7, 5);
    Node *cmd = node_get(web, "command");
    REQUIRE(cmd && cmd->kind == NODE_SEQ && cmd->len == 2);
    CHECK_LOC(cmd, 7, 14);
    CHECK_LOC(cmd->vals[0], 7, 15);
    CHECK_LOC(cmd->vals[1], 7, 18);
    CHECK_STR(cmd->vals[1]->str, "b c");
    arena_free(a);
}

TEST(load_plain_and_quoted_styles)
{
    Arena *a = arena_new();
    Node *r = load(a, "a: x\n"
                      "b: \"x\"\n"
                      "c: 'it''s'\n"
                      "d: |\n"
                      "  lit\n"
                      "  eral\n"
                      "e: >\n"
                      "  fold\n"
                      "  ed\n"
                      "f: !!str 5\n"
                      "g: 5\n"
                      "h: \"a\\tb\\x01\"\n"
                      "'k q': 1\n");
    REQUIRE(r);
    CHECK_INT(r->len, 9);
    const struct {
        const char *key, *str;
        ScalarStyle style;
    } want[] = {
        {"a", "x", STYLE_PLAIN},          {"b", "x", STYLE_QUOTED},
        {"c", "it's", STYLE_QUOTED},      {"d", "lit\neral\n", STYLE_QUOTED},
        {"e", "fold ed\n", STYLE_QUOTED}, {"f", "5", STYLE_QUOTED},
        {"g", "5", STYLE_PLAIN},          {"h", "a\tb\x01", STYLE_QUOTED},
        {"k q", "1", STYLE_PLAIN},
    };
    for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
        Node *v = node_get(r, want[i].key);
        REQUIRE(v);
        CHECK_INT(v->kind, NODE_SCALAR);
        CHECK_STR(v->str, want[i].str);
        CHECK_INT(v->style, want[i].style);
    }
    CHECK_INT(node_get_key(r, "a")->style, STYLE_PLAIN);
    CHECK_INT(node_get_key(r, "k q")->style, STYLE_QUOTED);
    arena_free(a);
}

TEST(load_nulls_and_node_is_null)
{
    Arena *a = arena_new();
    Node *r = load(a, "a: ~\nb: null\nc:\nd: \"\"\ne: Null\nf: NULL\ng: 'null'\nh: nil\ni: ''\n");
    REQUIRE(r);
    const char *nulls[] = {"a", "b", "c", "e", "f"};
    for (size_t i = 0; i < ARRAY_SIZE(nulls); i++) {
        Node *v = node_get(r, nulls[i]);
        REQUIRE(v);
        CHECK_INT(v->kind, NODE_NULL);
        CHECK(node_is_null(v));
        CHECK(!node_is_scalar(v));
    }
    const char *strings[] = {"d", "g", "h", "i"};
    for (size_t i = 0; i < ARRAY_SIZE(strings); i++) {
        Node *v = node_get(r, strings[i]);
        REQUIRE(v);
        CHECK_INT(v->kind, NODE_SCALAR);
        CHECK(!node_is_null(v));
        CHECK(node_is_scalar(v));
    }
    CHECK_STR(node_get(r, "d")->str, "");
    CHECK_STR(node_get(r, "g")->str, "null");
    CHECK(node_is_null(NULL));
    CHECK(!node_is_null(r));

    /* built nodes: empty plain is null, empty quoted is not */
    Node *s = node_scalar(a, "", NULL);
    CHECK(!node_is_null(s));
    s->style = STYLE_PLAIN;
    CHECK(node_is_null(s));
    CHECK(node_is_null(node_new(a, NODE_NULL, NULL)));
    CHECK(!node_is_null(node_new(a, NODE_SEQ, NULL)));
    arena_free(a);
}

TEST(load_keeps_reset_and_override_tags_only)
{
    Arena *a = arena_new();
    Node *r = load(a, "a: !reset []\n"
                      "b: !override {x: 1}\n"
                      "c: !custom x\n"
                      "d: !reset\n"
                      "e: !!str x\n"
                      "f: !override\n"
                      "  - 1\n"
                      "g: !reset null\n"
                      "h: !!map {}\n"
                      "i: x\n");
    REQUIRE(r);
    Node *v;
    v = node_get(r, "a");
    REQUIRE(v);
    CHECK_INT(v->kind, NODE_SEQ);
    CHECK_STR(v->tag, "!reset");
    v = node_get(r, "b");
    REQUIRE(v);
    CHECK_INT(v->kind, NODE_MAP);
    CHECK_STR(v->tag, "!override");
    CHECK_STR(node_get(v, "x")->str, "1");
    CHECK(node_get(v, "x")->tag == NULL);
    v = node_get(r, "c");
    REQUIRE(v);
    CHECK(v->tag == NULL);
    CHECK_STR(v->str, "x");
    v = node_get(r, "d");
    REQUIRE(v);
    CHECK_INT(v->kind, NODE_NULL);
    CHECK_STR(v->tag, "!reset");
    v = node_get(r, "e");
    REQUIRE(v);
    CHECK(v->tag == NULL);
    CHECK_INT(v->style, STYLE_QUOTED);
    v = node_get(r, "f");
    REQUIRE(v);
    CHECK_INT(v->kind, NODE_SEQ);
    CHECK_STR(v->tag, "!override");
    v = node_get(r, "g");
    REQUIRE(v);
    CHECK_INT(v->kind, NODE_NULL);
    CHECK_STR(v->tag, "!reset");
    CHECK(node_get(r, "h")->tag == NULL);
    CHECK(node_get(r, "i")->tag == NULL);
    arena_free(a);
}

TEST(load_aliases_are_independent_copies)
{
    Arena *a = arena_new();
    Node *r = load(a, "base: &b\n"
                      "  image: nginx\n"
                      "  env: [A, B]\n"
                      "copy: *b\n"
                      "name: &n hello\n"
                      "again: *n\n"
                      "list: &l [1, 2]\n"
                      "lists: [*l, *l]\n");
    REQUIRE(r);
    Node *base = node_get(r, "base");
    Node *copy = node_get(r, "copy");
    REQUIRE(base && copy);
    CHECK(base != copy);
    CHECK_INT(copy->kind, NODE_MAP);
    CHECK_INT(copy->len, 2);
    CHECK_STR(node_get(copy, "image")->str, "nginx");
    CHECK(node_get(copy, "image") != node_get(base, "image"));
    CHECK(node_get(copy, "env") != node_get(base, "env"));
    /* a copy keeps the location of what it copies (a node starts at its anchor) */
    CHECK_LOC(copy, 1, 7);
    CHECK_LOC(node_get(copy, "image"), 2, 10);

    node_map_set(a, copy, "image", node_scalar(a, "redis", NULL));
    node_seq_push(a, node_get(copy, "env"), node_scalar(a, "C", NULL));
    node_get(copy, "env")->vals[0]->str[0] = 'Z';
    CHECK_STR(node_get(base, "image")->str, "nginx");
    CHECK_INT(node_get(base, "env")->len, 2);
    CHECK_STR(node_get(base, "env")->vals[0]->str, "A");
    CHECK_INT(node_get(copy, "env")->len, 3);

    Node *again = node_get(r, "again");
    REQUIRE(again);
    CHECK_STR(again->str, "hello");
    CHECK(again != node_get(r, "name"));

    Node *lists = node_get(r, "lists");
    REQUIRE(lists && lists->len == 2);
    CHECK(lists->vals[0] != lists->vals[1]);
    CHECK_INT(lists->vals[1]->len, 2);
    CHECK_STR(lists->vals[1]->vals[1]->str, "2");
    arena_free(a);
}

TEST(load_merge_key_single_map_explicit_keys_win)
{
    Arena *a = arena_new();
    Node *r = load(a, "x-base: &base\n"
                      "  image: nginx\n"
                      "  restart: always\n"
                      "web:\n"
                      "  <<: *base\n"
                      "  image: custom\n"
                      "  ports: [80]\n"
                      "api:\n"
                      "  restart: 'no'\n"
                      "  <<: *base\n"
                      "odd:\n"
                      "  '<<': 1\n");
    REQUIRE(r);
    Node *web = node_get(r, "web");
    REQUIRE(web);
    CHECK_INT(web->len, 3);
    CHECK_INT(node_index(web, "<<"), -1);
    /* written keys first, in their order, then the merged ones */
    CHECK_STR(web->keys[0]->str, "image");
    CHECK_STR(web->vals[0]->str, "custom");
    CHECK_STR(web->keys[1]->str, "ports");
    CHECK_STR(web->keys[2]->str, "restart");
    CHECK_STR(web->vals[2]->str, "always");

    Node *api = node_get(r, "api");
    REQUIRE(api);
    CHECK_INT(api->len, 2);
    CHECK_STR(node_get(api, "restart")->str, "no");
    CHECK_STR(node_get(api, "image")->str, "nginx");
    CHECK_STR(api->keys[0]->str, "restart");

    /* the anchored map itself is unchanged */
    CHECK_INT(node_get(r, "x-base")->len, 2);
    CHECK_STR(node_get(node_get(r, "x-base"), "image")->str, "nginx");

    /* a quoted "<<" is an ordinary key */
    Node *odd = node_get(r, "odd");
    REQUIRE(odd);
    CHECK_INT(odd->len, 1);
    CHECK_STR(node_get(odd, "<<")->str, "1");
    arena_free(a);
}

TEST(load_merge_key_list_earlier_sources_win)
{
    Arena *a = arena_new();
    Node *r = load(a, "a: &a {x: 1, y: 1}\n"
                      "b: &b {y: 2, z: 2}\n"
                      "c:\n"
                      "  <<: [*a, *b]\n"
                      "  w: 0\n"
                      "  x: 9\n");
    REQUIRE(r);
    Node *c = node_get(r, "c");
    REQUIRE(c);
    CHECK_INT(c->len, 4);
    const char *keys[] = {"w", "x", "y", "z"};
    const char *vals[] = {"0", "9", "1", "2"};
    for (size_t i = 0; i < 4 && i < c->len; i++) {
        CHECK_STR(c->keys[i]->str, keys[i]);
        CHECK_STR(c->vals[i]->str, vals[i]);
    }
    arena_free(a);

    CHECK_ERR("c: {<<: 5}\n", 0,
              "t.yaml:1:9: error: a merge key (<<) takes a mapping or a list of mappings");
    CHECK_ERR("a: &a {x: 1}\nc:\n  <<: [*a, [1]]\n", 0,
              "t.yaml:3:12: error: a merge key (<<) takes a mapping or a list of mappings");
}

TEST(load_duplicate_key_error)
{
    CHECK_ERR("a: 1\n"
              "b:\n"
              "  x: 1\n"
              "  y: 2\n"
              "  x: 3\n",
              0, "t.yaml:5:3: error: mapping key 'x' already defined at line 3");
    CHECK_ERR("{k: 1, k: 2}\n", 0, "t.yaml:1:8: error: mapping key 'k' already defined at line 1");
    /* quoting does not make a key different */
    CHECK_ERR("a: 1\n\"a\": 2\n", 0, "t.yaml:2:1: error: mapping key 'a' already defined at line 1");
}

TEST(load_syntax_errors)
{
    CHECK_ERR("a: b: c\n", 0,
              "t.yaml:1:5: error: invalid YAML: mapping values are not allowed in this context");
    /* where the construct started first, then where the problem was found */
    CHECK_ERR("a: [1, 2\nb: 3\n", 0,
              "t.yaml:1:4: error: invalid YAML: while parsing a flow sequence that starts here\n"
              "t.yaml:2:2: note: did not find expected ',' or ']'");
    char *m = load_error("a:\n  - x\n - y\n", 0);
    CHECK(str_startswith(m, "t.yaml:1:1: error: invalid YAML: while parsing a block mapping that starts here\n"
                            "t.yaml:3:2: note: "));
    free(m);
    /* an unclosed quote: where it opened, not only the end of the file */
    CHECK_ERR("a: 1\nb: \"unterminated\nc: 2\n", 0,
              "t.yaml:2:4: error: invalid YAML: while scanning a quoted scalar that starts here\n"
              "t.yaml:4:1: note: found unexpected end of stream");
    CHECK_ERR("a: {x: 1, y: 2\n", 0,
              "t.yaml:1:4: error: invalid YAML: while parsing a flow mapping that starts here\n"
              "t.yaml:2:1: note: did not find expected ',' or '}'");
}

TEST(load_second_document_error)
{
    CHECK_ERR("a: 1\n---\nb: 2\n", 0,
              "t.yaml:2:1: error: a services file holds one YAML document; found a second");
    CHECK_ERR("---\na: 1\n...\n---\nb: 2\n", 0,
              "t.yaml:4:1: error: a services file holds one YAML document; found a second");
    /* an explicit start and end of a single document are fine */
    Arena *a = arena_new();
    Node *r = load(a, "---\na: 1\n...\n");
    REQUIRE(r);
    CHECK_STR(node_get(r, "a")->str, "1");
    arena_free(a);
}

TEST(load_empty_document_gives_empty_map)
{
    const char *docs[] = {"", "# only a comment\n", "---\n", "~\n", "null\n", "\n\n"};
    for (size_t i = 0; i < ARRAY_SIZE(docs); i++) {
        Arena *a = arena_new();
        Node *r = load(a, docs[i]);
        REQUIRE(r);
        CHECK_INT(r->kind, NODE_MAP);
        CHECK_INT(r->len, 0);
        CHECK_STR(r->loc.file, "t.yaml");
        CHECK_LOC(r, 1, 1);
        arena_free(a);
    }
    /* a scalar or list document is returned as it is */
    Arena *a = arena_new();
    Node *s = load(a, "hello\n");
    REQUIRE(s);
    CHECK_INT(s->kind, NODE_SCALAR);
    CHECK_STR(s->str, "hello");
    Node *l = load(a, "- 1\n");
    REQUIRE(l);
    CHECK_INT(l->kind, NODE_SEQ);
    arena_free(a);
}

TEST(load_other_structure_errors)
{
    CHECK_ERR("a: *nope\n", 0, "t.yaml:1:4: error: invalid YAML: unknown anchor 'nope' referenced");
    CHECK_ERR("? {a: 1}\n: x\n", 0, "t.yaml:1:3: error: a mapping key must be a string, not a mapping");
    CHECK_ERR("[a]: 1\n", 0, "t.yaml:1:1: error: a mapping key must be a string, not a list");
    /* an anchor cannot be used inside its own definition */
    CHECK_ERR("a: &x [*x]\n", 0, "t.yaml:1:8: error: invalid YAML: unknown anchor 'x' referenced");
}

TEST(load_alias_bomb_hits_node_cap)
{
    const char *bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
                       "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                       "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
                       "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n";
    /* nodes counted so far: 135 after line 2; each *b adds 112 */
    CHECK_ERR(bomb, 1000, "t.yaml:3:36: error: invalid YAML: document expands to more than 1000 nodes");

    /* the same document fits a larger cap */
    Arena *a = arena_new();
    Diag d = {0};
    Node *r = yaml_load(a, "t.yaml", bomb, strlen(bomb), &d, 20000);
    REQUIRE(r);
    CHECK_INT(d.errors, 0);
    Node *dd = node_get(r, "d");
    REQUIRE(dd && dd->len == 10);
    CHECK_INT(dd->vals[9]->vals[9]->vals[9]->len, 10);
    diag_free(&d);
    arena_free(a);

    /* plain (alias-free) documents count too */
    CHECK_ERR("[1, 2, 3, 4]\n", 4, "t.yaml:1:11: error: invalid YAML: document expands to more than 4 nodes");
}

static char *nested_flow_seqs(int depth)
{
    StrBuf b;
    strbuf_init(&b, 0);
    for (int i = 0; i < depth; i++)
        strbuf_putc(&b, '[');
    strbuf_putc(&b, 'x');
    for (int i = 0; i < depth; i++)
        strbuf_putc(&b, ']');
    strbuf_putc(&b, '\n');
    return strbuf_steal(&b);
}

TEST(load_depth_cap_256)
{
    /* 256 lists around a scalar: the scalar sits at depth 256 */
    _cleanup_free_ char *ok = nested_flow_seqs(256);
    Arena *a = arena_new();
    Node *n = load(a, ok);
    REQUIRE(n);
    int depth = 0;
    while (n->kind == NODE_SEQ) {
        REQUIRE(n->len == 1);
        n = n->vals[0];
        depth++;
    }
    CHECK_INT(depth, 256);
    CHECK_STR(n->str, "x");
    arena_free(a);

    _cleanup_free_ char *deep = nested_flow_seqs(257);
    CHECK_ERR(deep, 0, "t.yaml:1:258: error: invalid YAML: nesting deeper than 256 levels");
}

TEST(load_file_and_read_errors)
{
    TEST_TMP(path, "tend-test-node");
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    const char *doc = "x: 1\n";
    REQUIRE(write(fd, doc, strlen(doc)) == (ssize_t)strlen(doc));
    close(fd);

    Arena *a = arena_new();
    Diag d = {0};
    Node *r = yaml_load_file(a, path, &d);
    REQUIRE(r);
    CHECK_STR(r->loc.file, path);
    CHECK_STR(node_get(r, "x")->loc.file, path);
    CHECK_LOC(node_get(r, "x"), 1, 4);
    unlink(path);

    CHECK(yaml_load_file(a, path, &d) == NULL);
    REQUIRE(d.msgs.n == 1);
    _cleanup_free_ char *want = xasprintf("%s: error: cannot read: No such file or directory", path);
    CHECK_STR(d.msgs.v[0], want);
    CHECK_INT(d.errors, 1);
    diag_free(&d);
    arena_free(a);
}

/* ---- diagnostics ---- */

TEST(diag_formats_and_counts)
{
    Diag d = {0};
    diag_error(&d, &(Loc){"f.yaml", 3, 7}, "bad %s", "thing");
    diag_error(&d, &(Loc){"f.yaml", 0, 0}, "no line");
    diag_warning(&d, NULL, "plain %d", 5);
    diag_warning(&d, &(Loc){NULL, 4, 2}, "no file");
    CHECK_INT(d.errors, 2);
    CHECK_INT(d.warnings, 2);
    REQUIRE(d.msgs.n == 4);
    CHECK_STR(d.msgs.v[0], "f.yaml:3:7: error: bad thing");
    CHECK_STR(d.msgs.v[1], "f.yaml: error: no line");
    CHECK_STR(d.msgs.v[2], "warning: plain 5");
    CHECK_STR(d.msgs.v[3], "warning: no file");
    diag_free(&d);
    CHECK_INT(d.msgs.n, 0);
    CHECK_INT(d.errors, 0);
    CHECK_INT(d.warnings, 0);
}

/* ---- tree operations ---- */

TEST(construction_helpers)
{
    Arena *a = arena_new();
    Loc loc = {"x.yaml", 2, 5};
    Node *s = node_scalar(a, "v", &loc);
    CHECK_INT(s->kind, NODE_SCALAR);
    CHECK_INT(s->style, STYLE_QUOTED);
    CHECK_STR(s->loc.file, "x.yaml");
    CHECK_LOC(s, 2, 5);
    Node *f = node_scalarf(a, NULL, "%d-%s", 7, "x");
    CHECK_STR(f->str, "7-x");
    CHECK(f->loc.file == NULL);
    CHECK_INT(f->loc.line, 0);
    Node *t = node_bool(a, true, NULL);
    CHECK_STR(t->str, "true");
    CHECK_INT(t->style, STYLE_PLAIN);
    CHECK_STR(node_bool(a, false, NULL)->str, "false");

    Node *seq = node_new(a, NODE_SEQ, NULL);
    for (int i = 0; i < 100; i++)
        node_seq_push(a, seq, node_scalarf(a, NULL, "%d", i));
    CHECK_INT(seq->len, 100);
    CHECK_STR(seq->vals[0]->str, "0");
    CHECK_STR(seq->vals[99]->str, "99");
    arena_free(a);
}

TEST(get_key_index_and_non_maps)
{
    Arena *a = arena_new();
    Node *r = load(a, "a: 1\nb: [x]\n\"c d\": 3\n");
    REQUIRE(r);
    CHECK_INT(node_index(r, "a"), 0);
    CHECK_INT(node_index(r, "b"), 1);
    CHECK_INT(node_index(r, "c d"), 2);
    CHECK_INT(node_index(r, "z"), -1);
    CHECK_INT(node_index(r, "A"), -1);
    CHECK_STR(node_get(r, "a")->str, "1");
    CHECK(node_get(r, "z") == NULL);
    Node *k = node_get_key(r, "c d");
    REQUIRE(k);
    CHECK_STR(k->str, "c d");
    CHECK_INT(k->style, STYLE_QUOTED);
    CHECK_LOC(k, 3, 1);
    CHECK(node_get_key(r, "z") == NULL);

    Node *seq = node_get(r, "b");
    CHECK(node_get(seq, "x") == NULL);
    CHECK_INT(node_index(seq, "x"), -1);
    CHECK(node_get(NULL, "a") == NULL);
    CHECK(node_get_key(node_get(r, "a"), "a") == NULL);
    arena_free(a);
}

TEST(map_set_replaces_in_place_and_remove)
{
    Arena *a = arena_new();
    Node *r = load(a, "a: 1\nb: 2\nc: 3\n");
    REQUIRE(r);
    Node *bkey = node_get_key(r, "b");
    node_map_set(a, r, "b", node_scalar(a, "two", NULL));
    CHECK_INT(r->len, 3);
    CHECK_STR(r->keys[1]->str, "b");
    CHECK(r->keys[1] == bkey); /* the written key and its location stay */
    CHECK_STR(r->vals[1]->str, "two");

    Loc loc = {"o.yaml", 9, 3};
    node_map_set(a, r, "d", node_scalar(a, "4", &loc));
    CHECK_INT(r->len, 4);
    CHECK_STR(r->keys[3]->str, "d");
    CHECK_INT(r->keys[3]->style, STYLE_PLAIN);
    CHECK_STR(r->keys[3]->loc.file, "o.yaml"); /* a new key takes the value's place */
    CHECK_LOC(r->keys[3], 9, 3);

    Node *newk = node_scalar(a, "a", NULL);
    node_map_set_node(a, r, newk, node_scalar(a, "one", NULL));
    CHECK_INT(r->len, 4);
    CHECK_STR(r->vals[0]->str, "one");

    /* growing past the initial capacity keeps every entry */
    for (int i = 0; i < 40; i++)
        node_map_set(a, r, arena_printf(a, "k%d", i), node_scalarf(a, NULL, "%d", i));
    CHECK_INT(r->len, 44);
    CHECK_STR(node_get(r, "k39")->str, "39");
    CHECK_STR(r->vals[1]->str, "two");

    node_map_remove(r, "a"); /* first */
    node_map_remove(r, "k39"); /* last */
    node_map_remove(r, "c"); /* middle */
    node_map_remove(r, "nope");
    CHECK_INT(r->len, 41);
    CHECK_STR(r->keys[0]->str, "b");
    CHECK_STR(r->keys[1]->str, "d");
    CHECK_STR(r->keys[2]->str, "k0");
    CHECK_STR(r->keys[40]->str, "k38");
    CHECK_INT(node_index(r, "a"), -1);
    CHECK_INT(node_index(r, "d"), 1);
    arena_free(a);
}

TEST(node_copy_is_deep_and_faithful)
{
    Arena *a = arena_new();
    Node *r = load(a, "m: !override\n  k: \"v\"\n  l: [1, ~]\n  e: {}\n");
    REQUIRE(r);
    Node *m = node_get(r, "m");
    Node *c = node_copy(a, m);
    REQUIRE(c && c != m);
    CHECK_INT(c->kind, NODE_MAP);
    CHECK_STR(c->tag, "!override");
    CHECK_LOC(c, 1, 4); /* a node starts at its tag */
    CHECK_INT(c->len, 3);
    CHECK(c->keys[0] != m->keys[0]);
    CHECK(c->keys[0]->str != m->keys[0]->str);
    CHECK_INT(node_get(c, "k")->style, STYLE_QUOTED);
    CHECK_LOC(node_get(c, "k"), 2, 6);
    Node *l = node_get(c, "l");
    REQUIRE(l && l->len == 2);
    CHECK_INT(l->vals[1]->kind, NODE_NULL);
    CHECK_INT(node_get(c, "e")->len, 0);

    /* changes to the copy stay in the copy */
    node_map_set(a, c, "k", node_scalar(a, "changed", NULL));
    node_seq_push(a, l, node_scalar(a, "3", NULL));
    node_map_remove(c, "e");
    CHECK_STR(node_get(m, "k")->str, "v");
    CHECK_INT(node_get(m, "l")->len, 2);
    CHECK_INT(m->len, 3);
    CHECK(node_copy(a, NULL) == NULL);
    arena_free(a);
}

/* ---- scalar queries ---- */

TEST(node_as_bool_values)
{
    Arena *a = arena_new();
    const char *yes[] = {"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON", "y", "Y"};
    const char *no[] = {"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF", "n", "N"};
    for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
        Node *n = node_scalar(a, yes[i], NULL);
        n->style = STYLE_PLAIN;
        bool b = false;
        CHECK_INT(node_as_bool(n, &b), 0);
        CHECK(b);
    }
    for (size_t i = 0; i < ARRAY_SIZE(no); i++) {
        Node *n = node_scalar(a, no[i], NULL);
        n->style = STYLE_PLAIN;
        bool b = true;
        CHECK_INT(node_as_bool(n, &b), 0);
        CHECK(!b);
    }
    const char *bad[] = {"maybe", "tRue", "1", "0", "", "yes ", "nope"};
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        Node *n = node_scalar(a, bad[i], NULL);
        n->style = STYLE_PLAIN;
        bool b = true;
        CHECK_INT(node_as_bool(n, &b), -EINVAL);
        CHECK(b); /* untouched */
    }
    /* a quoted spelling is read too: interpolated values arrive as strings */
    bool b = false;
    CHECK_INT(node_as_bool(node_scalar(a, "yes", NULL), &b), 0);
    CHECK(b);
    CHECK_INT(node_as_bool(NULL, &b), -EINVAL);
    CHECK_INT(node_as_bool(node_new(a, NODE_MAP, NULL), &b), -EINVAL);
    CHECK_INT(node_as_bool(node_new(a, NODE_NULL, NULL), &b), -EINVAL);
    arena_free(a);
}

TEST(node_as_int_values_and_range)
{
    Arena *a = arena_new();
    const struct {
        const char *s;
        long long v;
    } good[] = {
        {"42", 42},
        {"-7", -7},
        {"+3", 3},
        {"0", 0},
        {"007", 7},
        {"9223372036854775807", LLONG_MAX},
        {"-9223372036854775808", LLONG_MIN},
    };
    for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
        long long v = -1;
        CHECK_INT(node_as_int(node_scalar(a, good[i].s, NULL), &v), 0);
        CHECK_INT(v, good[i].v);
    }
    const struct {
        const char *s;
        int r;
    } bad[] = {
        {"9223372036854775808", -ERANGE},
        {"-9223372036854775809", -ERANGE},
        {"99999999999999999999999", -ERANGE},
        {"12abc", -EINVAL},
        {"1.5", -EINVAL},
        {" 5", -EINVAL},
        {"5 ", -EINVAL},
        {"", -EINVAL},
        {"0x10", -EINVAL},
        {"-", -EINVAL},
        {"1e3", -EINVAL},
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        long long v = 123;
        int r = node_as_int(node_scalar(a, bad[i].s, NULL), &v);
        if (r != bad[i].r)
            printf("#   input \"%s\"\n", bad[i].s);
        CHECK_INT(r, bad[i].r);
        CHECK_INT(v, 123);
    }
    long long v = 0;
    CHECK_INT(node_as_int(NULL, &v), -EINVAL);
    CHECK_INT(node_as_int(node_new(a, NODE_SEQ, NULL), &v), -EINVAL);
    arena_free(a);
}

TEST(node_is_number_and_kind_names)
{
    Arena *a = arena_new();
    Node *r = load(a, "[1, -1, +1, 1.5, .5, -.5, 1e3, 1.5e-3, 1., 0x1F,"
                      " \"1\", abc, 1e, inf, .inf, 1_000, '-', -x, ~, true, [], {}]\n");
    REQUIRE(r && r->len == 22);
    const bool want[] = {true,  true,  true,  true,  true,  true,  true,  true,
                         true,  true,  false, false, false, false, false, false,
                         false, false, false, false, false, false};
    for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
        if (node_is_number(r->vals[i]) != want[i])
            printf("#   item %zu \"%s\"\n", i, r->vals[i]->str ? r->vals[i]->str : "");
        CHECK(node_is_number(r->vals[i]) == want[i]);
    }
    CHECK_STR(node_kind_name(r->vals[0]), "a number");
    CHECK_STR(node_kind_name(r->vals[10]), "a string");
    CHECK_STR(node_kind_name(r->vals[11]), "a string");
    CHECK_STR(node_kind_name(r->vals[18]), "null");
    CHECK_STR(node_kind_name(r->vals[19]), "a boolean");
    CHECK_STR(node_kind_name(r->vals[20]), "a list");
    CHECK_STR(node_kind_name(r->vals[21]), "a mapping");
    CHECK_STR(node_kind_name(NULL), "null");
    CHECK_STR(node_kind_name(node_scalar(a, "true", NULL)), "a string");
    arena_free(a);
}

/* ---- writers ---- */

static const char *const nested_doc =
    "services:\n"
    "  web:\n"
    "    image: nginx\n"
    "    environment:\n"
    "      A: \"yes\"\n"
    "      B: '123'\n"
    "      C: \"\"\n"
    "      D: \": x\"\n"
    "      E: \" lead\"\n"
    "      F: \"-x\"\n"
    "      G: plain text\n"
    "      H: yes\n"
    "      I: 123\n"
    "      J: ~\n"
    "      K: \"say \\\"hi\\\"\\n\"\n"
    "      L: \"a #b\"\n"
    "      M: 'trail:'\n"
    "      N: '1.5'\n"
    "      O: 'null'\n"
    "      P: a#b\n"
    "    ports:\n"
    "      - \"8080\"\n"
    "      - 443\n"
    "    command: []\n"
    "    labels: {}\n"
    "    deploy:\n"
    "      resources: {limits: {cpus: 0.5}}\n"
    "    volumes:\n"
    "      - type: bind\n"
    "        source: ./data\n"
    "      - {}\n"
    "    \"80\": numeric key\n"
    "    \"on\": bool key\n";

TEST(yaml_emit_nested_exact)
{
    Arena *a = arena_new();
    Node *r = load(a, nested_doc);
    REQUIRE(r);
    _cleanup_free_ char *out = emit_yaml(r);
    CHECK_STR(out, "services:\n"
                   "  web:\n"
                   "    image: nginx\n"
                   "    environment:\n"
                   "      A: \"yes\"\n"
                   "      B: \"123\"\n"
                   "      C: \"\"\n"
                   "      D: \": x\"\n"
                   "      E: \" lead\"\n"
                   "      F: \"-x\"\n"
                   "      G: plain text\n"
                   "      H: yes\n"
                   "      I: 123\n"
                   "      J: null\n"
                   "      K: \"say \\\"hi\\\"\\n\"\n"
                   "      L: \"a #b\"\n"
                   "      M: \"trail:\"\n"
                   "      \"N\": \"1.5\"\n" /* N is a YAML 1.1 bool */
                   "      O: \"null\"\n"
                   "      P: a#b\n"
                   "    ports:\n"
                   "    - \"8080\"\n"
                   "    - 443\n"
                   "    command: []\n"
                   "    labels: {}\n"
                   "    deploy:\n"
                   "      resources:\n"
                   "        limits:\n"
                   "          cpus: 0.5\n"
                   "    volumes:\n"
                   "    - type: bind\n"
                   "      source: ./data\n"
                   "    - {}\n"
                   "    \"80\": numeric key\n"
                   "    \"on\": bool key\n");
    arena_free(a);
}

TEST(yaml_emit_roots_and_quoting_rules)
{
    Arena *a = arena_new();
    Node *m = node_new(a, NODE_MAP, NULL);
    _cleanup_free_ char *e1 = emit_yaml(m);
    CHECK_STR(e1, "{}\n");
    _cleanup_free_ char *e2 = emit_yaml(node_new(a, NODE_SEQ, NULL));
    CHECK_STR(e2, "[]\n");
    _cleanup_free_ char *e3 = emit_yaml(node_scalar(a, "x", NULL));
    CHECK_STR(e3, "x\n");
    _cleanup_free_ char *e4 = emit_yaml(NULL);
    CHECK_STR(e4, "null\n");

    /* built scalars are quoted strings unless made plain */
    const struct {
        const char *in, *out;
    } cases[] = {
        {"yes", "\"yes\""},  {"N", "\"N\""},       {"~", "\"~\""},      {"123", "\"123\""},
        {"-1.5e3", "\"-1.5e3\""}, {"0x1F", "\"0x1F\""}, {".inf", "\".inf\""}, {"", "\"\""},
        {": x", "\": x\""}, {" lead", "\" lead\""}, {"trail ", "\"trail \""}, {"-x", "\"-x\""},
        {"*ref", "\"*ref\""}, {"&a", "\"&a\""},  {"!tag", "\"!tag\""}, {"@at", "\"@at\""},
        {"[x", "\"[x\""},    {"{x", "\"{x\""},   {"#c", "\"#c\""},    {"a: b", "\"a: b\""},
        {"tab\tin", "\"tab\\tin\""}, {"del\x7f", "\"del\\u007f\""}, {"ctl\x01", "\"ctl\\u0001\""},
        {"back\\slash", "back\\slash"}, {"a:b", "a:b"}, {"x-y", "x-y"}, {"/abs/path", "/abs/path"},
        {"8080:80", "8080:80"}, {"hello world", "hello world"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        Node *map = node_new(a, NODE_MAP, NULL);
        node_map_set(a, map, "k", node_scalar(a, cases[i].in, NULL));
        _cleanup_free_ char *got = emit_yaml(map);
        _cleanup_free_ char *want = xasprintf("k: %s\n", cases[i].out);
        CHECK_STR(got, want);
    }

    /* keys follow the same rules; a written "<<" key must not turn into a merge key */
    Node *keys = node_new(a, NODE_MAP, NULL);
    node_map_set(a, keys, "<<", node_scalar(a, "a", NULL));
    node_map_set(a, keys, "y", node_scalar(a, "b", NULL));
    node_map_set(a, keys, "8080", node_scalar(a, "c", NULL));
    node_map_set(a, keys, "a b", node_scalar(a, "d", NULL));
    node_map_set(a, keys, "k: v", node_scalar(a, "e", NULL));
    _cleanup_free_ char *ek = emit_yaml(keys);
    CHECK_STR(ek, "\"<<\": a\n\"y\": b\n\"8080\": c\na b: d\n\"k: v\": e\n");
    arena_free(a);
}

/* Same document for a reader: same shape, same text, and every scalar reads
 * as the same type (string, bool or number, null). Styles and locations may
 * differ. */
static bool same_tree(const Node *x, const Node *y)
{
    if (node_is_null(x) || node_is_null(y))
        return node_is_null(x) && node_is_null(y);
    if (x->kind != y->kind || x->len != y->len)
        return false;
    if (x->kind == NODE_SCALAR) {
        bool b;
        bool tx = x->style == STYLE_PLAIN && (node_as_bool(x, &b) == 0 || node_is_number(x));
        bool ty = y->style == STYLE_PLAIN && (node_as_bool(y, &b) == 0 || node_is_number(y));
        return tx == ty && streq(x->str, y->str);
    }
    for (size_t i = 0; i < x->len; i++) {
        if (x->kind == NODE_MAP && !streq(x->keys[i]->str, y->keys[i]->str))
            return false;
        if (!same_tree(x->vals[i], y->vals[i]))
            return false;
    }
    return true;
}

TEST(yaml_emit_round_trip)
{
    const char *docs[] = {
        nested_doc,
        "- [a, [b, [c]]]\n- - x\n  - {k: [1, {}]}\n- ''\n- ~\n",
        "a: \"line1\\nline2\\n\"\nb: |\n  lit\n  block\n\"#k\": 1\n\"\": empty key\n",
        "x: &x {a: 1}\ny:\n  <<: *x\n  b: [true, \"true\", 'off', off, 1e3, '1e3']\n",
        "'<<': not a merge\n'a b': \"it's\"\nk: \"0o17\"\n",
    };
    for (size_t i = 0; i < ARRAY_SIZE(docs); i++) {
        Arena *a = arena_new();
        Node *r1 = load(a, docs[i]);
        REQUIRE(r1);
        _cleanup_free_ char *out1 = emit_yaml(r1);
        Node *r2 = load(a, out1);
        if (!r2)
            printf("#   emitted:\n%s", out1);
        REQUIRE(r2);
        if (!same_tree(r1, r2))
            printf("#   document %zu differs after a round trip:\n%s", i, out1);
        CHECK(same_tree(r1, r2));
        _cleanup_free_ char *out2 = emit_yaml(r2);
        CHECK_STR(out2, out1);
        arena_free(a);
    }
}

TEST(json_emit_exact_and_parses)
{
    Arena *a = arena_new();
    Node *r = load(a, "name: web\n"
                      "n: 5\n"
                      "f: 1.5\n"
                      "neg: -3\n"
                      "e: 1e3\n"
                      "t: true\n"
                      "yes: yes\n"
                      "qyes: \"yes\"\n"
                      "y: y\n"
                      "off: Off\n"
                      "nul: null\n"
                      "tilde: ~\n"
                      "empty:\n"
                      "qempty: ''\n"
                      "q5: \"5\"\n"
                      "plus: +1\n"
                      "lead0: 007\n"
                      "hex: 0x1F\n"
                      "dot: .5\n"
                      "esc: \"a\\\"b\\\\c\\nd\\te\\x01\"\n"
                      "list: [1, two]\n"
                      "emptylist: []\n"
                      "emptymap: {}\n"
                      "nested: {k: v, l: [{m: 1}]}\n");
    REQUIRE(r);
    _cleanup_free_ char *out = emit_json(r);
    CHECK_STR(out, "{\n"
                   "  \"name\": \"web\",\n"
                   "  \"n\": 5,\n"
                   "  \"f\": 1.5,\n"
                   "  \"neg\": -3,\n"
                   "  \"e\": 1e3,\n"
                   "  \"t\": true,\n"
                   "  \"yes\": true,\n"
                   "  \"qyes\": \"yes\",\n"
                   "  \"y\": \"y\",\n"
                   "  \"off\": false,\n"
                   "  \"nul\": null,\n"
                   "  \"tilde\": null,\n"
                   "  \"empty\": null,\n"
                   "  \"qempty\": \"\",\n"
                   "  \"q5\": \"5\",\n"
                   "  \"plus\": \"+1\",\n"
                   "  \"lead0\": \"007\",\n"
                   "  \"hex\": \"0x1F\",\n"
                   "  \"dot\": \".5\",\n"
                   "  \"esc\": \"a\\\"b\\\\c\\nd\\te\\u0001\",\n"
                   "  \"list\": [\n"
                   "    1,\n"
                   "    \"two\"\n"
                   "  ],\n"
                   "  \"emptylist\": [],\n"
                   "  \"emptymap\": {},\n"
                   "  \"nested\": {\n"
                   "    \"k\": \"v\",\n"
                   "    \"l\": [\n"
                   "      {\n"
                   "        \"m\": 1\n"
                   "      }\n"
                   "    ]\n"
                   "  }\n"
                   "}\n");

    json_error_t err;
    json_t *j = json_loads(out, 0, &err);
    if (!j)
        printf("#   not JSON: %s at line %d\n", err.text, err.line);
    REQUIRE(j);
    CHECK(json_is_object(j));
    CHECK_INT(json_object_size(j), 24);
    CHECK_INT(json_integer_value(json_object_get(j, "n")), 5);
    CHECK(json_is_real(json_object_get(j, "e")));
    CHECK(json_is_true(json_object_get(j, "yes")));
    CHECK(json_is_false(json_object_get(j, "off")));
    CHECK_STR(json_string_value(json_object_get(j, "qyes")), "yes");
    CHECK(json_is_null(json_object_get(j, "empty")));
    CHECK_STR(json_string_value(json_object_get(j, "esc")), "a\"b\\c\nd\te\x01");
    json_decref(j);

    _cleanup_free_ char *s = emit_json(node_scalar(a, "x", NULL));
    CHECK_STR(s, "\"x\"\n");
    _cleanup_free_ char *m = emit_json(node_new(a, NODE_MAP, NULL));
    CHECK_STR(m, "{}\n");
    arena_free(a);
}
