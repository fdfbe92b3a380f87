/* Tests of the ignore rules: gitignore anchoring, negation, folder-only
 * patterns, the `**` forms, escapes, nested .gitignore files read from a
 * real tree, .dockerignore, include patterns and the built-in defaults. */
#include "watch/ignore.h"
#include "test.h"
#include "lib/util.h"

#include <ftw.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#define R "/proj"

typedef struct Case {
    const char *patterns; /* a .gitignore at R */
    const char *path;     /* relative to R */
    bool is_dir;
    bool ignored;
} Case;

static const Case cases[] = {
    /* a name without '/' matches at any depth */
    {"foo", "foo", false, true},
    {"foo", "a/b/foo", false, true},
    {"foo", "a/foo/b", false, true}, /* below an ignored folder */
    {"foo", "foobar", false, false},
    /* leading or middle '/' anchors to the base */
    {"/foo", "foo", false, true},
    {"/foo", "a/foo", false, false},
    {"a/foo", "a/foo", false, true},
    {"a/foo", "x/a/foo", false, false},
    {"a/*.c", "a/x.c", false, true},
    {"a/*.c", "a/b/x.c", false, false}, /* '*' stays in one component */
    /* trailing '/': folders only */
    {"out/", "out", true, true},
    {"out/", "out", false, false},
    {"out/", "x/out/y.txt", false, true},
    /* wildcards */
    {"*.log", "a/b/x.log", false, true},
    {"x?.txt", "xy.txt", false, true},
    {"x?.txt", "x/.txt", false, false},
    {"[ab]*.c", "b1.c", false, true},
    {"[!ab]*.c", "b1.c", false, false},
    {"[!ab]*.c", "c1.c", false, true},
    /* ** forms */
    {"**/foo", "foo", false, true},
    {"**/foo", "a/b/foo", false, true},
    {"**/a/foo", "x/a/foo", false, true},
    {"a/**/b", "a/b", false, true},
    {"a/**/b", "a/x/y/b", false, true},
    {"a/**/b", "xa/b", false, false},
    {"a/**", "a/x/y", false, true},
    {"a/**", "a", true, false},
    {"a**b", "axxb", false, true}, /* not a whole component: a '*' */
    {"a**b", "ax/xb", false, false},
    /* negation: the last match wins */
    {"*.log\n!keep.log", "keep.log", false, false},
    {"*.log\n!keep.log", "other.log", false, true},
    {"!keep.log\n*.log", "keep.log", false, true},
    {"logs/\n!logs/keep.log", "logs/keep.log", false, true}, /* parent excluded: stays */
    {"logs/*\n!logs/keep.log", "logs/keep.log", false, false},
    {"logs/*\n!logs/keep.log", "logs/other.log", false, true},
    /* escapes, comments, blanks */
    {"\\#hash", "#hash", false, true},
    {"#hash", "#hash", false, false},
    {"\\!bang", "!bang", false, true},
    {"trail  ", "trail", false, true},
    {"trail\\ ", "trail ", false, true},
    {"a\\*b", "a*b", false, true},
    {"a\\*b", "axb", false, false},
    {"\n\n# comment\n", "x", false, false},
    {"crlf\r\n", "crlf", false, true},
};

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static void write_text(const char *dir, const char *rel, const char *text)
{
    _cleanup_free_ char *p = path_join(dir, rel);
    FILE *f = fopen(p, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static void mkdirs(const char *dir, const char *rel)
{
    _cleanup_free_ char *p = path_join(dir, rel);
    _cleanup_free_ char *cmd = xasprintf("mkdir -p '%s'", p);
    CHECK(system(cmd) == 0);
}

TEST(gitignore_cases_table)
{
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        const Case *c = &cases[i];
        Ignore *ig = ignore_new(R, false);
        ignore_add_text(ig, R, c->patterns);
        _cleanup_free_ char *p = path_join(R, c->path);
        bool got = ignore_match(ig, p, c->is_dir);
        if (got != c->ignored) {
            printf("#   case %zu: patterns \"%s\" path %s%s: got %s, expected %s\n", i,
                   c->patterns, c->path, c->is_dir ? "/" : "", got ? "ignored" : "kept",
                   c->ignored ? "ignored" : "kept");
            test_failed_ = true;
        }
        ignore_free(ig);
    }
}

TEST(defaults_cover_vcs_editor_files_and_build_folders)
{
    Ignore *ig = ignore_new(R, true);
    const char *ignored_files[] = {"a/x.swp", ".x.swo", "x.swx", "notes~", ".#lock", "#auto#",
                                   "4913", "a/.DS_Store", "m/x.pyc", ".git"};
    const char *ignored_dirs[] = {".git", "a/.hg", ".svn", "p/__pycache__", "node_modules",
                                  "w/node_modules", ".venv", "venv", ".tox", ".mypy_cache",
                                  ".pytest_cache", "dist", "build", "target", ".idea", ".vscode"};
    for (size_t i = 0; i < ARRAY_SIZE(ignored_files); i++) {
        _cleanup_free_ char *p = path_join(R, ignored_files[i]);
        if (!ignore_match(ig, p, false)) {
            printf("#   %s not ignored\n", p);
            test_failed_ = true;
        }
    }
    for (size_t i = 0; i < ARRAY_SIZE(ignored_dirs); i++) {
        _cleanup_free_ char *p = path_join(R, ignored_dirs[i]);
        if (!ignore_match(ig, p, true)) {
            printf("#   %s/ not ignored\n", p);
            test_failed_ = true;
        }
    }
    CHECK(ignore_match(ig, R "/node_modules/x/index.js", false));
    CHECK(ignore_match(ig, R "/.git/objects/ab", true));
    CHECK(!ignore_match(ig, R "/src/main.c", false));
    CHECK(!ignore_match(ig, R "/build", false)); /* a file called build: a script */
    CHECK(!ignore_match(ig, R "/src", true));
    CHECK(!ignore_match(ig, R, true));
    /* A later rule takes a default back. */
    ignore_add_pattern(ig, R, "!build/");
    CHECK(!ignore_match(ig, R "/build/x.o", false));
    CHECK(ignore_match(ig, R "/dist/x", false));
    ignore_free(ig);

    ig = ignore_new(R, false);
    CHECK(!ignore_match(ig, R "/node_modules", true));
    ignore_free(ig);
}

TEST(pattern_bases_apply_to_their_folder_and_below)
{
    Ignore *ig = ignore_new(R, false);
    ignore_add_text(ig, R "/sub", "/local\nany.txt\n");
    CHECK(ignore_match(ig, R "/sub/local", false));
    CHECK(!ignore_match(ig, R "/local", false));
    CHECK(!ignore_match(ig, R "/sub/x/local", false));
    CHECK(ignore_match(ig, R "/sub/x/any.txt", false));
    CHECK(!ignore_match(ig, R "/any.txt", false));
    CHECK(!ignore_match(ig, R "/subx/any.txt", false));
    CHECK(!ignore_match_entry(ig, R "/sub/x/local", false));
    ignore_free(ig);
}

TEST(include_patterns_restrict_files_not_folders)
{
    Ignore *ig = ignore_new(R, true);
    ignore_add_include(ig, "*.py");
    ignore_add_include(ig, "templates/");
    CHECK(!ignore_match(ig, R "/app/main.py", false));
    CHECK(ignore_match(ig, R "/app/README.md", false));
    CHECK(!ignore_match(ig, R "/app", true));
    CHECK(!ignore_match(ig, R "/app/templates/index.html", false));
    CHECK(ignore_match(ig, R "/app/__pycache__/main.py", false)); /* ignore still wins */
    ignore_free(ig);
}

TEST(nested_gitignores_from_a_real_tree_with_the_deeper_one_winning)
{
    TEST_TMP(dir, "tend-ignore");
    REQUIRE(mkdtemp(dir));
    mkdirs(dir, "repo/.git/info");
    mkdirs(dir, "repo/app/sub/deep");
    mkdirs(dir, "repo/app/skipped");
    write_text(dir, "repo/.git/info/exclude", "excluded.txt\n");
    write_text(dir, "repo/.gitignore", "*.tmp\n/top-only\n");
    write_text(dir, "repo/app/.gitignore", "skipped/\n!keep.tmp\n");
    write_text(dir, "repo/app/sub/.gitignore", "*.gen\n/deep/local\n");
    /* a .gitignore inside an ignored folder is not read */
    write_text(dir, "repo/app/skipped/.gitignore", "!*.tmp\n");

    _cleanup_free_ char *root = path_join(dir, "repo/app");
    Ignore *ig = ignore_new(root, true);
    ignore_load_gitignores(ig);
#define P(rel) (snprintf(buf, sizeof buf, "%s/repo/%s", dir, rel), buf)
    char buf[4096];
    CHECK(ignore_match(ig, P("app/x.tmp"), false));     /* from the parent's .gitignore */
    CHECK(!ignore_match(ig, P("app/keep.tmp"), false)); /* app's negation wins */
    CHECK(ignore_match(ig, P("app/excluded.txt"), false)); /* .git/info/exclude */
    CHECK(ignore_match(ig, P("app/skipped"), true));
    CHECK(ignore_match(ig, P("app/skipped/y.tmp"), false));
    CHECK(ignore_match(ig, P("app/sub/a.gen"), false));
    CHECK(ignore_match(ig, P("app/sub/deep/x.gen"), false));
    CHECK(ignore_match(ig, P("app/sub/deep/local"), false));
    CHECK(!ignore_match(ig, P("app/deep/local"), false));
    CHECK(!ignore_match(ig, P("app/a.gen"), false)); /* sub's rules stay in sub */
    CHECK(!ignore_match(ig, P("app/top-only"), false)); /* anchored to repo/, not app/ */
    CHECK(!ignore_match(ig, P("app/sub/main.c"), false));
#undef P
    ignore_free(ig);
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

TEST(dockerignore_patterns_are_anchored_to_the_context)
{
    TEST_TMP(dir, "tend-ignore");
    REQUIRE(mkdtemp(dir));
    write_text(dir, ".dockerignore", "# c\n  docs  \n/tmp\n*.md\n!README.md\n**/*.bak\n");
    Ignore *ig = ignore_new(dir, false);
    ignore_load_dockerignore(ig, dir);
    char buf[4096];
#define P(rel) (snprintf(buf, sizeof buf, "%s/%s", dir, rel), buf)
    CHECK(ignore_match(ig, P("docs"), true));
    CHECK(ignore_match(ig, P("docs/a.txt"), false));
    CHECK(!ignore_match(ig, P("src/docs"), true)); /* anchored, unlike git */
    CHECK(ignore_match(ig, P("tmp/x"), false));
    CHECK(ignore_match(ig, P("a.md"), false));
    CHECK(!ignore_match(ig, P("sub/a.md"), false));
    CHECK(!ignore_match(ig, P("README.md"), false));
    CHECK(ignore_match(ig, P("x/y/z.bak"), false));
#undef P
    ignore_free(ig);
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}
