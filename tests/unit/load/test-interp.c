/* Tests for interp: every operator with its variable set, set-but-empty and
 * unset, nesting, `$$` and literal dollars, the exact error messages, and
 * interp_tree on a YAML document (values changed, keys not, errors at the
 * node's location). */
#include "load/interp.h"
#include "lib/env.h"
#include "test.h"

#include <errno.h>

/* SET=value, EMPTY is set and empty, UNSET is not set. */
static Env test_env(void)
{
    Env e = {0};
    env_set(&e, "SET", "value");
    env_set(&e, "EMPTY", "");
    env_set(&e, "B", "bee");
    env_set(&e, "lower_9", "low");
    return e;
}

/* Interpolates `in` against test_env; returns the result or the error
 * message prefixed with "ERR: ", malloc'd. */
static char *run(const char *in)
{
    Env e = test_env();
    char *out = NULL, *err = NULL;
    int r = interp_string(in, env_lookup, &e, &out, &err);
    env_free(&e);
    if (r < 0) {
        char *s = xasprintf("ERR(%d): %s", r, err);
        free(err);
        free(out);
        return s;
    }
    if (err)
        return xstrdup("ERR: error set on success");
    return out;
}

#define CHECK_INTERP(in, expected)                                              \
    do {                                                                        \
        char *got_ = run(in);                                                   \
        CHECK_STR(got_, expected);                                              \
        free(got_);                                                             \
    } while (0)

TEST(plain_text_is_copied)
{
    CHECK_INTERP("", "");
    CHECK_INTERP("hello world {x} }", "hello world {x} }");
}

TEST(simple_forms)
{
    CHECK_INTERP("$SET", "value");
    CHECK_INTERP("${SET}", "value");
    CHECK_INTERP("a-$SET-b", "a-value-b");
    CHECK_INTERP("a${SET}b", "avalueb");
    CHECK_INTERP("$SET.x", "value.x");
    CHECK_INTERP("$SETX", "");
    CHECK_INTERP("${lower_9}", "low");
    CHECK_INTERP("[$EMPTY]", "[]");
    CHECK_INTERP("[$UNSET]", "[]");
    CHECK_INTERP("[${UNSET}]", "[]");
    CHECK_INTERP("$SET$B", "valuebee");
}

TEST(default_if_unset_or_empty)
{
    CHECK_INTERP("${SET:-d}", "value");
    CHECK_INTERP("${EMPTY:-d}", "d");
    CHECK_INTERP("${UNSET:-d}", "d");
    CHECK_INTERP("${UNSET:-}", "");
    CHECK_INTERP("${UNSET:-a b:c-d}", "a b:c-d");
}

TEST(default_if_unset)
{
    CHECK_INTERP("${SET-d}", "value");
    CHECK_INTERP("${EMPTY-d}", "");
    CHECK_INTERP("${UNSET-d}", "d");
    CHECK_INTERP("${UNSET-}", "");
}

TEST(required_nonempty)
{
    CHECK_INTERP("${SET:?need it}", "value");
    CHECK_INTERP("${EMPTY:?need it}",
                 "ERR(-22): required variable EMPTY is missing a value: need it");
    CHECK_INTERP("${UNSET:?need it}",
                 "ERR(-22): required variable UNSET is missing a value: need it");
    CHECK_INTERP("${UNSET:?}", "ERR(-22): required variable UNSET is missing a value");
}

TEST(required_set)
{
    CHECK_INTERP("${SET?need it}", "value");
    CHECK_INTERP("${EMPTY?need it}", "");
    CHECK_INTERP("${UNSET?need it}",
                 "ERR(-22): required variable UNSET is missing a value: need it");
    CHECK_INTERP("${UNSET?}", "ERR(-22): required variable UNSET is missing a value");
}

TEST(alternative_if_nonempty)
{
    CHECK_INTERP("${SET:+alt}", "alt");
    CHECK_INTERP("${EMPTY:+alt}", "");
    CHECK_INTERP("${UNSET:+alt}", "");
}

TEST(alternative_if_set)
{
    CHECK_INTERP("${SET+alt}", "alt");
    CHECK_INTERP("${EMPTY+alt}", "alt");
    CHECK_INTERP("${UNSET+alt}", "");
}

TEST(operands_are_interpolated_and_nest)
{
    CHECK_INTERP("${UNSET:-$B}", "bee");
    CHECK_INTERP("${UNSET:-x${B}y}", "xbeey");
    CHECK_INTERP("${UNSET:-${EMPTY:-x}}", "x");
    CHECK_INTERP("${UNSET:-${SET:-x}}", "value");
    CHECK_INTERP("${SET:-${UNSET:-x}}", "value");
    CHECK_INTERP("${UNSET:-${UNSET2-${B:+[$SET]}}}!", "[value]!");
    CHECK_INTERP("${SET:+${B}/${SET}}", "bee/value");
    CHECK_INTERP("${UNSET:?missing ${B}}",
                 "ERR(-22): required variable UNSET is missing a value: missing bee");
    /* Only `${` opens a nested brace: a bare `{` in an operand does not. */
    CHECK_INTERP("${UNSET:-{x}}", "{x}");
}

TEST(errors_in_unused_operands_are_errors)
{
    /* As in compose-go, the operand is interpolated before it is chosen. */
    CHECK_INTERP("${SET:-${UNSET:?inner}}",
                 "ERR(-22): required variable UNSET is missing a value: inner");
}

TEST(double_dollar_is_literal)
{
    CHECK_INTERP("$$", "$");
    CHECK_INTERP("$$SET", "$SET");
    CHECK_INTERP("$${SET}", "${SET}");
    CHECK_INTERP("$$$SET", "$value");
    CHECK_INTERP("$$$$", "$$");
    CHECK_INTERP("${UNSET:-$$}", "$");
    CHECK_INTERP("${UNSET:-$${x}}", "${x}");
}

TEST(lone_dollar_is_kept)
{
    CHECK_INTERP("$", "$");
    CHECK_INTERP("5$", "5$");
    CHECK_INTERP("a $ b", "a $ b");
    CHECK_INTERP("$1", "$1");
    CHECK_INTERP("$-x", "$-x");
    CHECK_INTERP("${UNSET:-$}", "$");
}

TEST(unclosed_brace_errors)
{
    CHECK_INTERP("${SET", "ERR(-22): invalid interpolation format for \"${SET\": a '}' is missing");
    CHECK_INTERP("x ${", "ERR(-22): invalid interpolation format for \"x ${\": a '}' is missing");
    CHECK_INTERP("${SET:-abc",
                 "ERR(-22): invalid interpolation format for \"${SET:-abc\": a '}' is missing");
    CHECK_INTERP("${A:-${B}",
                 "ERR(-22): invalid interpolation format for \"${A:-${B}\": a '}' is missing");
    CHECK_INTERP("${SET:",
                 "ERR(-22): invalid interpolation format for \"${SET:\": a '}' is missing");
    CHECK_INTERP("${1A",
                 "ERR(-22): invalid interpolation format for \"${1A\": a '}' is missing");
}

TEST(bad_substitution_errors)
{
    CHECK_INTERP("${}",
                 "ERR(-22): invalid interpolation format for \"${}\": bad substitution \"${}\"");
    CHECK_INTERP("a ${1A} b",
                 "ERR(-22): invalid interpolation format for \"a ${1A} b\": "
                 "bad substitution \"${1A}\"");
    CHECK_INTERP("${A:x}",
                 "ERR(-22): invalid interpolation format for \"${A:x}\": "
                 "bad substitution \"${A:x}\"");
    CHECK_INTERP("${A B}",
                 "ERR(-22): invalid interpolation format for \"${A B}\": "
                 "bad substitution \"${A B}\"");
    CHECK_INTERP("${A:}",
                 "ERR(-22): invalid interpolation format for \"${A:}\": "
                 "bad substitution \"${A:}\"");
    CHECK_INTERP("${-x}",
                 "ERR(-22): invalid interpolation format for \"${-x}\": "
                 "bad substitution \"${-x}\"");
    /* The quoted part runs to the `}` matching the bad `${`. */
    CHECK_INTERP("${UNSET:-${1:-${B}}}",
                 "ERR(-22): invalid interpolation format for \"${UNSET:-${1:-${B}}}\": "
                 "bad substitution \"${1:-${B}}\"");
}

TEST(nesting_is_bounded)
{
    StrBuf in;
    strbuf_init(&in, 0);
    for (int i = 0; i < 64; i++)
        strbuf_puts(&in, "${UNSET:-");
    strbuf_puts(&in, "deep");
    for (int i = 0; i < 64; i++)
        strbuf_puts(&in, "}");
    char *got = run(in.data);
    CHECK_STR(got, "deep");
    free(got);

    StrBuf too;
    strbuf_init(&too, 0);
    strbuf_printf(&too, "${UNSET:-%s}", in.data);
    char *want = xasprintf("ERR(-22): invalid interpolation format for \"%s\": more than 64 "
                           "nested substitutions",
                           too.data);
    got = run(too.data);
    CHECK_STR(got, want);
    free(got);
    free(want);
    strbuf_free(&in);
    strbuf_free(&too);
}

TEST(null_lookup_means_all_unset)
{
    char *out = NULL, *err = NULL;
    REQUIRE(interp_string("[$A${B:-d}]", NULL, NULL, &out, &err) == 0);
    CHECK_STR(out, "[d]");
    CHECK(err == NULL);
    free(out);
}

static const char *yaml_doc = "services:\n"
                              "  web:\n"
                              "    image: \"nginx:${TAG:-latest}\"\n"
                              "    $KEY: $SET\n"
                              "    command: [\"echo\", \"$$HOME\", $B]\n"
                              "    environment:\n"
                              "      PASS: ${PASS:?set PASS in .env}\n"
                              "      BAD: x${\n";

TEST(interp_tree_values_not_keys)
{
    Arena *a = arena_new();
    Diag d = {0};
    Env e = test_env();
    Node *root = yaml_load(a, "compose.yaml", yaml_doc, strlen(yaml_doc), &d, 0);
    REQUIRE(root != NULL);
    REQUIRE(d.errors == 0);

    size_t n = interp_tree(a, root, env_lookup, &e, &d);
    CHECK_INT(n, 2);
    CHECK_INT(d.errors, 2);
    REQUIRE(d.msgs.n == 2);
    CHECK_STR(d.msgs.v[0],
              "compose.yaml:7:13: error: required variable PASS is missing a value: "
              "set PASS in .env");
    CHECK_STR(d.msgs.v[1],
              "compose.yaml:8:12: error: invalid interpolation format for \"x${\": "
              "a '}' is missing");

    Node *web = node_get(node_get(root, "services"), "web");
    REQUIRE(web != NULL);
    Node *image = node_get(web, "image");
    REQUIRE(image != NULL);
    CHECK_STR(image->str, "nginx:latest");
    CHECK_INT(image->style, STYLE_QUOTED);
    CHECK_INT(image->loc.line, 3);
    CHECK_INT(image->loc.col, 12);

    /* The key `$KEY` is left as written; its value is interpolated. */
    Node *kv = node_get(web, "$KEY");
    REQUIRE(kv != NULL);
    CHECK_STR(kv->str, "value");
    CHECK_INT(kv->style, STYLE_PLAIN);

    Node *cmd = node_get(web, "command");
    REQUIRE(cmd != NULL && cmd->kind == NODE_SEQ && cmd->len == 3);
    CHECK_STR(cmd->vals[0]->str, "echo");
    CHECK_STR(cmd->vals[1]->str, "$HOME");
    CHECK_STR(cmd->vals[2]->str, "bee");

    /* A value that failed keeps its text. */
    Node *bad = node_get(node_get(web, "environment"), "BAD");
    REQUIRE(bad != NULL);
    CHECK_STR(bad->str, "x${");

    env_free(&e);
    diag_free(&d);
    arena_free(a);
}

TEST(interp_tree_no_errors_returns_zero)
{
    Arena *a = arena_new();
    Diag d = {0};
    Env e = test_env();
    const char *doc = "a: [$SET, {b: \"${UNSET-x}\"}]\nc: ~\n";
    Node *root = yaml_load(a, "f.yaml", doc, strlen(doc), &d, 0);
    REQUIRE(root != NULL);
    CHECK_INT(interp_tree(a, root, env_lookup, &e, &d), 0);
    CHECK_INT(d.errors, 0);
    Node *seq = node_get(root, "a");
    REQUIRE(seq && seq->len == 2);
    CHECK_STR(seq->vals[0]->str, "value");
    CHECK_STR(node_get(seq->vals[1], "b")->str, "x");
    CHECK(node_is_null(node_get(root, "c")));
    env_free(&e);
    diag_free(&d);
    arena_free(a);
}
