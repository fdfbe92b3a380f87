/* Tests for dotenv: the .env format as Compose reads it. Quoting, escapes
 * (double quotes only), `export`, comments, multi-line values, interpolation
 * from earlier entries and from the environment, and errors with their exact
 * file:line:col. */
#include "load/dotenv.h"
#include "test.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

/* Parses `text` as ".env" with a shell environment of SHELL_A=shell and
 * SHELL_EMPTY="" into *out; returns what dotenv_parse returned. */
static int parse(const char *text, Env *out, Diag *d)
{
    Env shell = {0};
    env_set(&shell, "SHELL_A", "shell");
    env_set(&shell, "SHELL_EMPTY", "");
    env_set(&shell, "FROM_SHELL", "inherited");
    int r = dotenv_parse(".env", text, strlen(text), env_lookup, &shell, out, d);
    env_free(&shell);
    return r;
}

TEST(plain_pairs_blank_lines_and_comments)
{
    Env e = {0};
    Diag d = {0};
    CHECK_INT(parse("# a comment\n\nA=1\n   # indented comment\nB=two words\n\n", &e, &d), 0);
    CHECK_INT(d.errors, 0);
    CHECK_INT(e.n, 2);
    CHECK_STR(env_get(&e, "A"), "1");
    CHECK_STR(env_get(&e, "B"), "two words");
    env_free(&e);
    diag_free(&d);
}

TEST(whitespace_around_key_and_equals)
{
    Env e = {0};
    Diag d = {0};
    CHECK_INT(parse("  A = 1  \n\tB\t=\tx y\t\nC=\nD=   \n", &e, &d), 0);
    CHECK_STR(env_get(&e, "A"), "1");
    CHECK_STR(env_get(&e, "B"), "x y");
    CHECK_STR(env_get(&e, "C"), "");
    CHECK_STR(env_get(&e, "D"), "");
    CHECK_INT(e.n, 4);
    env_free(&e);
    diag_free(&d);
}

TEST(export_prefix)
{
    Env e = {0};
    Diag d = {0};
    CHECK_INT(parse("export A=1\nexport\tB='2'\nexport=3\nexporter=4\n", &e, &d), 0);
    CHECK_STR(env_get(&e, "A"), "1");
    CHECK_STR(env_get(&e, "B"), "2");
    CHECK_STR(env_get(&e, "export"), "3");
    CHECK_STR(env_get(&e, "exporter"), "4");
    CHECK(!env_has(&e, "export A"));
    env_free(&e);
    diag_free(&d);
}

TEST(key_syntax_allows_dot_and_dash)
{
    Env e = {0};
    Diag d = {0};
    CHECK_INT(parse("_a.b-c9=1\n", &e, &d), 0);
    CHECK_STR(env_get(&e, "_a.b-c9"), "1");
    env_free(&e);
    diag_free(&d);
}

TEST(inline_comments_need_a_blank_before_hash)
{
    Env e = {0};
    Diag d = {0};
    CHECK_INT(parse("A=b #c\nB=b#c\nC=b\t# c\nD= #only comment\nE=#x\nF='q' # c\nG=\"q\"#c\n",
                    &e, &d),
              0);
    CHECK_STR(env_get(&e, "A"), "b");
    CHECK_STR(env_get(&e, "B"), "b#c");
    CHECK_STR(env_get(&e, "C"), "b");
    CHECK_STR(env_get(&e, "D"), "");
    CHECK_STR(env_get(&e, "E"), "#x");
    CHECK_STR(env_get(&e, "F"), "q");
    CHECK_STR(env_get(&e, "G"), "q");
    env_free(&e);
    diag_free(&d);
}

TEST(single_quotes_are_literal)
{
    Env e = {0};
    Diag d = {0};
    CHECK_INT(parse("A='a b #c'\nB='x\\ny\\t$SHELL_A ${X:?boom}'\nC=''\nD='it\"s'\nE='x\\'\n", &e,
                    &d),
              0);
    CHECK_INT(d.errors, 0);
    CHECK_STR(env_get(&e, "A"), "a b #c");
    CHECK_STR(env_get(&e, "B"), "x\\ny\\t$SHELL_A ${X:?boom}");
    CHECK_STR(env_get(&e, "C"), "");
    CHECK_STR(env_get(&e, "D"), "it\"s");
    CHECK_STR(env_get(&e, "E"), "x\\");
    env_free(&e);
    diag_free(&d);
}

TEST(double_quote_escapes)
{
    Env e = {0};
    Diag d = {0};
    CHECK_INT(parse("A=\"l1\\nl2\\tt\\rr\"\n"
                    "B=\"q\\\"q \\\\ s\\'s\"\n"
                    "C=\"\\$SHELL_A $SHELL_A\"\n"
                    "D=\"keep \\x\"\n"
                    "E=\"a # not a comment\"\n",
                    &e, &d),
              0);
    CHECK_INT(d.errors, 0);
    CHECK_STR(env_get(&e, "A"), "l1\nl2\tt\rr");
    CHECK_STR(env_get(&e, "B"), "q\"q \\ s's");
    CHECK_STR(env_get(&e, "C"), "$SHELL_A shell");
    CHECK_STR(env_get(&e, "D"), "keep \\x");
    CHECK_STR(env_get(&e, "E"), "a # not a comment");
    env_free(&e);
    diag_free(&d);
}

TEST(unquoted_values_have_no_escapes)
{
    Env e = {0};
    Diag d = {0};
    CHECK_INT(parse("A=a\\nb\nB=\"x\n", &e, &d), -EINVAL);
    CHECK_STR(env_get(&e, "A"), "a\\nb");
    env_free(&e);
    diag_free(&d);
}

TEST(multi_line_quoted_values)
{
    Env e = {0};
    Diag d = {0};
    CHECK_INT(parse("KEY=\"-----BEGIN-----\nabc $SHELL_A\n-----END-----\"\n"
                    "S='one\ntwo'\n"
                    "AFTER=ok\n",
                    &e, &d),
              0);
    CHECK_STR(env_get(&e, "KEY"), "-----BEGIN-----\nabc shell\n-----END-----");
    CHECK_STR(env_get(&e, "S"), "one\ntwo");
    CHECK_STR(env_get(&e, "AFTER"), "ok");
    env_free(&e);
    diag_free(&d);
}

TEST(interpolation_from_earlier_entries_then_environment)
{
    Env e = {0};
    Diag d = {0};
    CHECK_INT(parse("HOST=db\n"
                    "URL=http://${HOST}:${PORT:-5432}/$SHELL_A\n"
                    "SHELL_A=mine\n"
                    "AGAIN=$SHELL_A\n"
                    "E=${SHELL_EMPTY-unset}/${SHELL_EMPTY:-empty}/${NOPE}\n"
                    "LIT=$$HOST\n",
                    &e, &d),
              0);
    CHECK_STR(env_get(&e, "URL"), "http://db:5432/shell");
    CHECK_STR(env_get(&e, "AGAIN"), "mine");
    CHECK_STR(env_get(&e, "E"), "/empty/");
    CHECK_STR(env_get(&e, "LIT"), "$HOST");
    env_free(&e);
    diag_free(&d);
}

TEST(this_file_wins_over_earlier_files_in_out)
{
    /* Entries already in `out` (from another file) are not this file's:
     * interpolation looks at this file, then the environment. */
    Env e = {0};
    Diag d = {0};
    env_set(&e, "OLD", "from-before");
    CHECK_INT(parse("A=[$OLD]\nOLD=new\nB=$OLD\n", &e, &d), 0);
    CHECK_STR(env_get(&e, "A"), "[]");
    CHECK_STR(env_get(&e, "B"), "new");
    CHECK_STR(env_get(&e, "OLD"), "new");
    env_free(&e);
    diag_free(&d);
}

TEST(later_keys_replace_earlier_ones)
{
    Env e = {0};
    Diag d = {0};
    CHECK_INT(parse("A=1\nB=2\nA=3\n", &e, &d), 0);
    CHECK_INT(e.n, 2);
    CHECK_STR(e.keys[0], "A");
    CHECK_STR(e.vals[0], "3");
    env_free(&e);
    diag_free(&d);
}

TEST(bare_key_takes_value_from_environment)
{
    Env e = {0};
    Diag d = {0};
    CHECK_INT(parse("FROM_SHELL\nNOT_IN_SHELL\n  SHELL_EMPTY  \n", &e, &d), 0);
    CHECK_STR(env_get(&e, "FROM_SHELL"), "inherited");
    CHECK(!env_has(&e, "NOT_IN_SHELL"));
    CHECK_STR(env_get(&e, "SHELL_EMPTY"), "");
    env_free(&e);
    diag_free(&d);
}

TEST(crlf_line_endings)
{
    Env e = {0};
    Diag d = {0};
    CHECK_INT(parse("A=1\r\nB=\"2\"\r\nC='3'\r\n", &e, &d), 0);
    CHECK_STR(env_get(&e, "A"), "1");
    CHECK_STR(env_get(&e, "B"), "2");
    CHECK_STR(env_get(&e, "C"), "3");
    env_free(&e);
    diag_free(&d);
}

TEST(no_final_newline)
{
    Env e = {0};
    Diag d = {0};
    CHECK_INT(parse("A=1\nB=last", &e, &d), 0);
    CHECK_STR(env_get(&e, "B"), "last");
    env_free(&e);
    diag_free(&d);
}

TEST(invalid_names_are_located_and_parsing_goes_on)
{
    Env e = {0};
    Diag d = {0};
    CHECK_INT(parse("A=1\n1BAD=x\n  export B C=2\nfoo:bar\nOK=yes\n=v\n", &e, &d), -EINVAL);
    REQUIRE(d.msgs.n == 4);
    CHECK_STR(d.msgs.v[0], ".env:2:1: error: invalid variable name \"1BAD\"");
    CHECK_STR(d.msgs.v[1], ".env:3:10: error: invalid variable name \"B C\"");
    CHECK_STR(d.msgs.v[2], ".env:4:1: error: invalid variable name \"foo:bar\"");
    CHECK_STR(d.msgs.v[3], ".env:6:1: error: invalid variable name \"\"");
    CHECK_INT(d.errors, 4);
    CHECK_STR(env_get(&e, "A"), "1");
    CHECK_STR(env_get(&e, "OK"), "yes");
    env_free(&e);
    diag_free(&d);
}

TEST(unterminated_quotes_point_at_the_opening_quote)
{
    Env e = {0};
    Diag d = {0};
    CHECK_INT(parse("A=1\nB = \"abc\nC=2\n", &e, &d), -EINVAL);
    REQUIRE(d.msgs.n == 1);
    CHECK_STR(d.msgs.v[0], ".env:2:5: error: unterminated quoted value");
    CHECK(!env_has(&e, "B"));
    CHECK(!env_has(&e, "C"));
    diag_free(&d);

    CHECK_INT(parse("\n\nS='x\n", &e, &d), -EINVAL);
    REQUIRE(d.msgs.n == 1);
    CHECK_STR(d.msgs.v[0], ".env:3:3: error: unterminated quoted value");

    env_free(&e);
    diag_free(&d);
}

TEST(text_after_closing_quote_is_an_error)
{
    Env e = {0};
    Diag d = {0};
    CHECK_INT(parse("A=\"x\" y\nB=ok\n", &e, &d), -EINVAL);
    REQUIRE(d.msgs.n == 1);
    CHECK_STR(d.msgs.v[0], ".env:1:7: error: unexpected text after quoted value");
    CHECK(!env_has(&e, "A"));
    CHECK_STR(env_get(&e, "B"), "ok");
    env_free(&e);
    diag_free(&d);
}

TEST(interpolation_errors_at_the_value)
{
    Env e = {0};
    Diag d = {0};
    CHECK_INT(parse("A=1\nPASS=${PASS:?set PASS}\nQ = \"x\n${A\"\nR=${1}\nZ=end\n", &e, &d),
              -EINVAL);
    REQUIRE(d.msgs.n == 3);
    CHECK_STR(d.msgs.v[0], ".env:2:6: error: required variable PASS is missing a value: set PASS");
    CHECK_STR(d.msgs.v[1],
              ".env:3:5: error: invalid interpolation format for \"x\n${A\": a '}' is missing");
    CHECK_STR(d.msgs.v[2],
              ".env:5:3: error: invalid interpolation format for \"${1}\": "
              "bad substitution \"${1}\"");
    CHECK(!env_has(&e, "PASS"));
    CHECK_STR(env_get(&e, "Z"), "end");
    env_free(&e);
    diag_free(&d);
}

TEST(null_lookup_is_an_empty_environment)
{
    Env e = {0};
    Diag d = {0};
    const char *text = "A=${X:-d}\nX\nB=$A\n";
    CHECK_INT(dotenv_parse("f", text, strlen(text), NULL, NULL, &e, &d), 0);
    CHECK_STR(env_get(&e, "A"), "d");
    CHECK_STR(env_get(&e, "B"), "d");
    CHECK(!env_has(&e, "X"));
    env_free(&e);
    diag_free(&d);
}

TEST(load_missing_file_is_silent_enoent)
{
    Env e = {0};
    Diag d = {0};
    CHECK_INT(dotenv_load("/nonexistent/dir/.env", NULL, NULL, &e, &d), -ENOENT);
    CHECK_INT(d.msgs.n, 0);
    CHECK_INT(d.errors, 0);
    env_free(&e);
    diag_free(&d);
}

TEST(load_reads_a_file_and_reports_with_its_path)
{
    TEST_TMP(path, "tend-dotenv");
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    const char *text = "A=1\nB=\"2\n";
    REQUIRE(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    close(fd);

    Env e = {0};
    Diag d = {0};
    CHECK_INT(dotenv_load(path, NULL, NULL, &e, &d), -EINVAL);
    CHECK_STR(env_get(&e, "A"), "1");
    REQUIRE(d.msgs.n == 1);
    char *want = xasprintf("%s:2:3: error: unterminated quoted value", path);
    CHECK_STR(d.msgs.v[0], want);
    free(want);
    unlink(path);
    env_free(&e);
    diag_free(&d);
}

TEST(load_unreadable_path_is_reported)
{
    /* A directory cannot be read as a file. */
    Env e = {0};
    Diag d = {0};
    CHECK_INT(dotenv_load("/tmp", NULL, NULL, &e, &d), -EISDIR);
    REQUIRE(d.msgs.n == 1);
    CHECK_STR(d.msgs.v[0], "/tmp: error: cannot read /tmp: Is a directory");
    env_free(&e);
    diag_free(&d);
}
