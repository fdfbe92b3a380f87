/* Tests for util and env: strings, the arena, capped buffers, string
 * vectors, lexical paths, file reading, edit distance and ordered
 * environment maps. Each case asserts exact values. */
#include "lib/env.h"
#include "test.h"
#include "lib/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- strings ---- */

TEST(xasprintf_formats_and_allocates)
{
    char *s = xasprintf("%s-%d-%05.1f", "web", 42, 3.14159);
    CHECK_STR(s, "web-42-003.1");
    free(s);

    /* longer than any small internal buffer */
    char *big = xasprintf("%0999d|", 7);
    CHECK_INT(strlen(big), 1000);
    CHECK(big[0] == '0' && big[998] == '7' && big[999] == '|');
    free(big);

    char *empty = xasprintf("%s", "");
    CHECK_STR(empty, "");
    free(empty);
}

TEST(string_predicates)
{
    CHECK(streq("abc", "abc"));
    CHECK(!streq("abc", "abd"));
    CHECK(!streq("abc", "ab"));
    CHECK(streq("", ""));

    CHECK(strnull_eq(NULL, NULL));
    CHECK(!strnull_eq(NULL, ""));
    CHECK(!strnull_eq("", NULL));
    CHECK(strnull_eq("x", "x"));

    CHECK(str_startswith("services", "serv"));
    CHECK(str_startswith("services", ""));
    CHECK(str_startswith("services", "services"));
    CHECK(!str_startswith("serv", "services"));
    CHECK(!str_startswith("services", "Serv"));

    CHECK(str_endswith("compose.yaml", ".yaml"));
    CHECK(str_endswith("compose.yaml", ""));
    CHECK(str_endswith("x", "x"));
    CHECK(!str_endswith("yaml", ".yaml"));
    CHECK(!str_endswith("compose.yml", ".yaml"));
}

/* ---- arena ---- */

TEST(arena_many_allocations_across_chunks_stay_intact)
{
    Arena *a = arena_new();
    CHECK_INT(arena_used(a), 0);

    /* 5000 * 112 bytes spans several 64 KiB chunks */
    enum { N = 5000, SZ = 100 };
    unsigned char *ptrs[N];
    size_t expect_used = 0;
    for (size_t i = 0; i < N; i++) {
        ptrs[i] = arena_alloc(a, SZ);
        REQUIRE(ptrs[i]);
        CHECK_INT((uintptr_t)ptrs[i] % 16, 0);
        bool zero = true;
        for (size_t k = 0; k < SZ; k++)
            if (ptrs[i][k])
                zero = false;
        CHECK(zero);
        memset(ptrs[i], (int)(i & 0xff), SZ);
        expect_used += 112; /* rounded up to 16 */
    }
    CHECK_INT(arena_used(a), expect_used);

    /* earlier blocks were not overwritten by later ones */
    size_t bad = 0;
    for (size_t i = 0; i < N; i++)
        for (size_t k = 0; k < SZ; k++)
            if (ptrs[i][k] != (unsigned char)(i & 0xff))
                bad++;
    CHECK_INT(bad, 0);
    arena_free(a);
}

TEST(arena_alignment_and_big_blocks)
{
    Arena *a = arena_new();
    size_t sizes[] = {1, 3, 15, 16, 17, 31, 33, 0, 7};
    for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
        void *p = arena_alloc(a, sizes[i]);
        CHECK_INT((uintptr_t)p % 16, 0);
    }
    /* 16+16+16+16+32+32+48+0+16 */
    CHECK_INT(arena_used(a), 192);

    /* a block larger than the default chunk gets a chunk of its own */
    unsigned char *big = arena_alloc(a, 200000);
    CHECK_INT((uintptr_t)big % 16, 0);
    CHECK(big[0] == 0 && big[199999] == 0);
    memset(big, 0xab, 200000);
    unsigned char *after = arena_alloc(a, 32);
    CHECK_INT((uintptr_t)after % 16, 0);
    CHECK(after[0] == 0 && after[31] == 0);
    CHECK(big[199999] == 0xab);
    CHECK_INT(arena_used(a), 192 + 200000 + 32);
    arena_free(a);
    arena_free(NULL); /* accepted */
}

TEST(arena_strings)
{
    Arena *a = arena_new();
    const char *src = "hello world";
    char *d = arena_strdup(a, src);
    CHECK_STR(d, "hello world");
    CHECK(d != src);
    CHECK(arena_strdup(a, NULL) == NULL);

    char *n = arena_strndup(a, src, 5);
    CHECK_STR(n, "hello");
    char *z = arena_strndup(a, src, 0);
    CHECK_STR(z, "");

    char *f = arena_printf(a, "%s:%d:%d", "f.yaml", 3, 14);
    CHECK_STR(f, "f.yaml:3:14");
    CHECK_INT((uintptr_t)f % 16, 0);
    /* the earlier strings are untouched */
    CHECK_STR(d, "hello world");
    CHECK_STR(n, "hello");
    arena_free(a);
}

/* ---- StrBuf ---- */

TEST(strbuf_append_and_printf)
{
    StrBuf b;
    strbuf_init(&b, 0);
    CHECK_INT(b.max, (size_t)64 << 20);
    CHECK(b.data == NULL);
    CHECK_INT(strbuf_puts(&b, "abc"), 0);
    CHECK_INT(strbuf_append(&b, "defXYZ", 3), 0);
    CHECK_INT(strbuf_putc(&b, '!'), 0);
    CHECK_INT(strbuf_printf(&b, "[%d|%s]", 12, "x"), 0);
    CHECK_STR(b.data, "abcdef![12|x]");
    CHECK_INT(b.len, 13);
    CHECK(b.cap > b.len);

    /* growth across many appends keeps the content and the terminator */
    for (int i = 0; i < 1000; i++)
        CHECK_INT(strbuf_puts(&b, "0123456789"), 0);
    CHECK_INT(b.len, 10013);
    CHECK_INT(strlen(b.data), 10013);
    CHECK(memcmp(b.data + 10003, "0123456789", 10) == 0);

    strbuf_reset(&b);
    CHECK_INT(b.len, 0);
    CHECK_STR(b.data, "");
    strbuf_free(&b);
    CHECK(b.data == NULL);
    CHECK_INT(b.len, 0);
}

TEST(strbuf_cap_rejects_and_leaves_buffer_unchanged)
{
    StrBuf b;
    strbuf_init(&b, 10);
    CHECK_INT(strbuf_puts(&b, "hello"), 0);
    CHECK_INT(strbuf_puts(&b, "world!"), -E2BIG);
    CHECK_STR(b.data, "hello");
    CHECK_INT(b.len, 5);
    CHECK_INT(strbuf_printf(&b, "%s", "123456"), -E2BIG);
    CHECK_STR(b.data, "hello");
    CHECK_INT(b.len, 5);

    /* exactly up to max is fine */
    CHECK_INT(strbuf_puts(&b, "world"), 0);
    CHECK_STR(b.data, "helloworld");
    CHECK_INT(b.len, 10);
    CHECK_INT(strbuf_putc(&b, 'x'), -E2BIG);
    CHECK_INT(strbuf_append(&b, "", 0), 0);
    CHECK_STR(b.data, "helloworld");

    /* a huge n must not wrap around the check */
    CHECK_INT(strbuf_append(&b, "x", SIZE_MAX), -E2BIG);
    CHECK_INT(b.len, 10);
    strbuf_free(&b);

    /* an empty buffer refuses a first append larger than max */
    strbuf_init(&b, 3);
    CHECK_INT(strbuf_puts(&b, "abcd"), -E2BIG);
    CHECK(b.data == NULL);
    CHECK_INT(b.len, 0);
    strbuf_free(&b);
}

TEST(strbuf_steal_returns_string_and_resets)
{
    StrBuf b;
    strbuf_init(&b, 8);
    char *empty = strbuf_steal(&b);
    CHECK_STR(empty, "");
    free(empty);

    CHECK_INT(strbuf_puts(&b, "abcdefgh"), 0);
    char *s = strbuf_steal(&b);
    CHECK_STR(s, "abcdefgh");
    CHECK(b.data == NULL);
    CHECK_INT(b.len, 0);
    CHECK_INT(b.cap, 0);
    CHECK_INT(b.max, 8); /* the limit survives */

    /* the buffer is usable again, with the same limit */
    CHECK_INT(strbuf_puts(&b, "12345678"), 0);
    CHECK_INT(strbuf_putc(&b, '9'), -E2BIG);
    CHECK_STR(b.data, "12345678");
    CHECK_STR(s, "abcdefgh");
    free(s);
    strbuf_free(&b);
}

/* ---- StrVec ---- */

TEST(strvec_push_contains_sort_free)
{
    StrVec sv = {0};
    CHECK(!strvec_contains(&sv, "a"));
    strvec_sort(&sv); /* empty is fine */

    const char *words[] = {"web", "db", "cache", "api", "worker", "db2", "Zeta", "a", "b"};
    for (size_t i = 0; i < ARRAY_SIZE(words); i++)
        strvec_push(&sv, words[i]);
    strvec_push_take(&sv, xstrdup("mid"));
    CHECK_INT(sv.n, 10);
    CHECK(sv.v[sv.n] == NULL);
    CHECK(sv.v[0] != words[0]); /* copied */
    CHECK_STR(sv.v[0], "web");
    CHECK_STR(sv.v[9], "mid");

    CHECK(strvec_contains(&sv, "cache"));
    CHECK(strvec_contains(&sv, "mid"));
    CHECK(!strvec_contains(&sv, "cach"));
    CHECK(!strvec_contains(&sv, "zeta"));

    strvec_sort(&sv);
    const char *sorted[] = {"Zeta", "a", "api", "b", "cache", "db", "db2", "mid", "web", "worker"};
    for (size_t i = 0; i < ARRAY_SIZE(sorted); i++)
        CHECK_STR(sv.v[i], sorted[i]);
    CHECK(sv.v[sv.n] == NULL);

    strvec_free(&sv);
    CHECK(sv.v == NULL);
    CHECK_INT(sv.n, 0);
    CHECK_INT(sv.cap, 0);
    /* reusable after free */
    strvec_push(&sv, "again");
    CHECK_INT(sv.n, 1);
    CHECK_STR(sv.v[0], "again");
    strvec_free(&sv);
}

/* ---- paths ---- */

#define CHECK_PATH(call, expect)                                                \
    do {                                                                        \
        char *p_ = (call);                                                      \
        CHECK_STR(p_, expect);                                                  \
        free(p_);                                                               \
    } while (0)

TEST(path_join_cases)
{
    CHECK_PATH(path_join("/srv/app", "data"), "/srv/app/data");
    CHECK_PATH(path_join("/srv/app/", "data"), "/srv/app/data");
    CHECK_PATH(path_join("/srv/app", "/etc/x"), "/etc/x"); /* absolute rel wins */
    CHECK_PATH(path_join("rel", "x/y"), "rel/x/y");
    CHECK_PATH(path_join("", "x"), "x");
    CHECK_PATH(path_join(NULL, "x"), "x");
    CHECK_PATH(path_join("/", "x"), "/x");
    CHECK_PATH(path_join("/a", "../b"), "/a/../b"); /* join does not normalize */
    CHECK(path_is_absolute("/x"));
    CHECK(!path_is_absolute("x"));
    CHECK(!path_is_absolute(""));
    CHECK(!path_is_absolute("~/x"));
}

TEST(path_dirname_and_basename)
{
    CHECK_PATH(path_dirname("/a/b"), "/a");
    CHECK_PATH(path_dirname("/a"), "/");
    CHECK_PATH(path_dirname("/"), "/");
    CHECK_PATH(path_dirname("a"), ".");
    CHECK_PATH(path_dirname("a/b/c.yaml"), "a/b");
    CHECK_PATH(path_dirname(""), ".");

    CHECK_STR(path_basename("/a/b"), "b");
    CHECK_STR(path_basename("compose.yaml"), "compose.yaml");
    CHECK_STR(path_basename("/x"), "x");
    CHECK_STR(path_basename("/a/b/"), "");
    const char *p = "dir/file";
    CHECK(path_basename(p) == p + 4); /* points into the argument */
}

TEST(path_normalize_cases)
{
    CHECK_PATH(path_normalize("/a/./b/../c//d"), "/a/c/d");
    CHECK_PATH(path_normalize("/.."), "/");
    CHECK_PATH(path_normalize("/../../x"), "/x");
    CHECK_PATH(path_normalize("/"), "/");
    CHECK_PATH(path_normalize("//a//b//"), "/a/b");
    CHECK_PATH(path_normalize("/a/b/.."), "/a");
    CHECK_PATH(path_normalize("/a/.."), "/");
    CHECK_PATH(path_normalize(""), ".");
    CHECK_PATH(path_normalize("."), ".");
    CHECK_PATH(path_normalize("./a/"), "a");
    CHECK_PATH(path_normalize("a/.."), ".");
    CHECK_PATH(path_normalize("../a"), "../a");
    CHECK_PATH(path_normalize("a/../../b"), "../b");
    CHECK_PATH(path_normalize("../a/.."), "..");
    CHECK_PATH(path_normalize("../../a/./b"), "../../a/b");
    CHECK_PATH(path_normalize("a/b/../../.."), "..");
    CHECK_PATH(path_normalize("a/..b/.c"), "a/..b/.c"); /* only exact . and .. */
}

TEST(path_absolute_cases)
{
    const char *old = getenv("HOME");
    char *saved = old ? xstrdup(old) : NULL;
    setenv("HOME", "/home/user", 1);

    CHECK_PATH(path_absolute("/srv/app", "data/../conf"), "/srv/app/conf");
    CHECK_PATH(path_absolute("/srv/app", "./x"), "/srv/app/x");
    CHECK_PATH(path_absolute("/srv/app", "../../../x"), "/x");
    CHECK_PATH(path_absolute("/srv/app", "/etc//hosts"), "/etc/hosts");
    CHECK_PATH(path_absolute("/srv/app", "."), "/srv/app");
    CHECK_PATH(path_absolute("/srv/app", "~"), "/home/user");
    CHECK_PATH(path_absolute("/srv/app", "~/.ssh/../k"), "/home/user/k");
    /* ~user is not expanded: it is a plain relative name */
    CHECK_PATH(path_absolute("/srv/app", "~bob/x"), "/srv/app/~bob/x");

    setenv("HOME", "/home/user/", 1);
    CHECK_PATH(path_absolute("/srv", "~/x"), "/home/user/x");

    if (saved) {
        setenv("HOME", saved, 1);
        free(saved);
    } else {
        unsetenv("HOME");
    }
}

/* ---- read_file ---- */

static char *tmpdir_new(void)
{
    char *t = test_tmp_template("tend-test-util");
    if (!mkdtemp(t)) {
        free(t);
        return NULL;
    }
    return t;
}

static bool write_all(const char *path, const char *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return false;
    bool ok = write(fd, data, len) == (ssize_t)len;
    close(fd);
    return ok;
}

TEST(read_file_contents_errors_and_cap)
{
    _cleanup_free_ char *dir = tmpdir_new();
    REQUIRE(dir);
    _cleanup_free_ char *f10 = path_join(dir, "ten");
    _cleanup_free_ char *fempty = path_join(dir, "empty");
    _cleanup_free_ char *fbig = path_join(dir, "big");
    _cleanup_free_ char *missing = path_join(dir, "missing");
    REQUIRE(write_all(f10, "0123\0" "5678\n", 10));
    REQUIRE(write_all(fempty, "", 0));

    /* 200000 bytes needs several reads */
    char *bigdata = xmalloc(200000);
    for (size_t i = 0; i < 200000; i++)
        bigdata[i] = (char)('a' + i % 26);
    REQUIRE(write_all(fbig, bigdata, 200000));

    char *data = NULL;
    size_t len = 99;
    CHECK_INT(read_file(missing, 0, &data, &len), -ENOENT);
    CHECK(data == NULL);
    CHECK_INT(len, 99); /* untouched on failure */
    CHECK_INT(read_file(dir, 0, &data, &len), -EISDIR);

    CHECK_INT(read_file(f10, 10, &data, &len), 0); /* exactly max */
    CHECK_INT(len, 10);
    CHECK(data && memcmp(data, "0123\0" "5678\n", 10) == 0 && data[10] == '\0');
    free(data);
    data = NULL;

    CHECK_INT(read_file(f10, 9, &data, &len), -EFBIG);
    CHECK(data == NULL);

    CHECK_INT(read_file(fempty, 5, &data, NULL), 0);
    CHECK_STR(data, "");
    free(data);
    data = NULL;

    CHECK_INT(read_file(fbig, 0, &data, &len), 0);
    CHECK_INT(len, 200000);
    CHECK(data && memcmp(data, bigdata, 200000) == 0 && data[200000] == '\0');
    free(data);
    data = NULL;
    CHECK_INT(read_file(fbig, 199999, &data, &len), -EFBIG);
    CHECK_INT(read_file(fbig, 100000, &data, &len), -EFBIG);
    free(bigdata);

    unlink(f10);
    unlink(fempty);
    unlink(fbig);
    rmdir(dir);
}

/* ---- edit distance ---- */

TEST(edit_distance_cases)
{
    CHECK_INT(edit_distance("kitten", "sitting"), 3);
    CHECK_INT(edit_distance("sitting", "kitten"), 3);
    CHECK_INT(edit_distance("", ""), 0);
    CHECK_INT(edit_distance("", "abc"), 3);
    CHECK_INT(edit_distance("abc", ""), 3);
    CHECK_INT(edit_distance("image", "image"), 0);
    CHECK_INT(edit_distance("imgae", "image"), 2); /* a swap is two edits */
    CHECK_INT(edit_distance("enviroment", "environment"), 1);
    CHECK_INT(edit_distance("flaw", "lawn"), 2);
    CHECK_INT(edit_distance("depends_on", "depend_on"), 1);

    /* longer than 64 bytes: no suggestion is computed */
    char long_a[70];
    memset(long_a, 'a', 65);
    long_a[65] = '\0';
    CHECK(edit_distance(long_a, "a") == (size_t)-1);
    CHECK(edit_distance("a", long_a) == (size_t)-1);
    long_a[64] = '\0';
    CHECK_INT(edit_distance(long_a, long_a), 0);
    CHECK_INT(edit_distance(long_a, ""), 64);
}

/* ---- env ---- */

TEST(env_set_get_replace_keeps_position)
{
    Env e = {0};
    env_set(&e, "A", "1");
    env_set(&e, "B", "2");
    env_set(&e, "C", "3");
    env_set(&e, "A", "one");
    CHECK_INT(e.n, 3);
    CHECK_STR(e.keys[0], "A");
    CHECK_STR(e.vals[0], "one");
    CHECK_STR(e.keys[1], "B");
    CHECK_STR(e.keys[2], "C");
    CHECK_STR(env_get(&e, "A"), "one");
    CHECK_STR(env_get(&e, "C"), "3");
    CHECK(env_get(&e, "D") == NULL);
    CHECK(!env_has(&e, "D"));
    CHECK(!env_has(&e, "a")); /* names are case sensitive */

    /* the value is copied */
    char buf[8] = "x";
    env_set(&e, "B", buf);
    buf[0] = 'y';
    CHECK_STR(env_get(&e, "B"), "x");

    /* many entries grow the arrays */
    for (int i = 0; i < 100; i++) {
        char k[16];
        snprintf(k, sizeof k, "K%d", i);
        env_set(&e, k, k);
    }
    CHECK_INT(e.n, 103);
    CHECK_STR(e.keys[102], "K99");
    CHECK_STR(env_get(&e, "K57"), "K57");
    env_free(&e);
    CHECK_INT(e.n, 0);
    CHECK(e.keys == NULL);
}

TEST(env_set_with_its_own_current_value)
{
    Env e = {0};
    env_set(&e, "LONG_VARIABLE", "a value longer than sixteen bytes");
    env_set(&e, "LONG_VARIABLE", env_get(&e, "LONG_VARIABLE"));
    CHECK_STR(env_get(&e, "LONG_VARIABLE"), "a value longer than sixteen bytes");
    env_set(&e, e.keys[0], "other");
    CHECK_STR(e.keys[0], "LONG_VARIABLE");
    CHECK_STR(e.vals[0], "other");
    env_free(&e);
}

TEST(env_null_values_and_unset)
{
    Env e = {0};
    env_set(&e, "A", "1");
    env_set(&e, "NOVAL", NULL);
    env_set(&e, "EMPTY", "");
    env_set(&e, "Z", "26");

    CHECK(env_has(&e, "NOVAL"));
    CHECK(env_get(&e, "NOVAL") == NULL);
    CHECK(env_has(&e, "EMPTY"));
    CHECK_STR(env_get(&e, "EMPTY"), "");
    CHECK_STR(env_lookup(&e, "Z"), "26");
    CHECK(env_lookup(&e, "NOVAL") == NULL);

    /* a value can be set and taken away again in place */
    env_set(&e, "A", NULL);
    CHECK(env_has(&e, "A"));
    CHECK(env_get(&e, "A") == NULL);
    env_set(&e, "NOVAL", "now");
    CHECK_STR(env_get(&e, "NOVAL"), "now");
    CHECK_STR(e.keys[1], "NOVAL");

    env_unset(&e, "NOVAL");
    CHECK(!env_has(&e, "NOVAL"));
    CHECK_INT(e.n, 3);
    CHECK_STR(e.keys[0], "A");
    CHECK_STR(e.keys[1], "EMPTY");
    CHECK_STR(e.keys[2], "Z");
    CHECK_STR(e.vals[2], "26");
    env_unset(&e, "missing"); /* no-op */
    CHECK_INT(e.n, 3);
    env_unset(&e, "Z"); /* the last one */
    env_unset(&e, "A"); /* the first one */
    CHECK_INT(e.n, 1);
    CHECK_STR(e.keys[0], "EMPTY");
    env_set(&e, "NEW", "v");
    CHECK_STR(e.keys[1], "NEW");
    env_free(&e);
    env_free(&e); /* idempotent */
}

TEST(env_from_environ_parses_entries)
{
    char *environ_[] = {
        (char *)"A=1",    (char *)"B=",      (char *)"C",          (char *)"D=x=y",
        (char *)"=weird", (char *)"A=again", (char *)"PATH=/bin:/usr/bin", NULL,
    };
    Env e = {0};
    env_from_environ(&e, environ_);
    CHECK_INT(e.n, 5);
    CHECK_STR(e.keys[0], "A");
    CHECK_STR(e.vals[0], "again"); /* later wins, first position kept */
    CHECK_STR(e.keys[1], "B");
    CHECK_STR(e.vals[1], ""); /* set, empty; not valueless */
    CHECK(!env_has(&e, "C"));  /* no '=': skipped */
    CHECK_STR(e.keys[2], "D");
    CHECK_STR(e.vals[2], "x=y"); /* split at the first '=' */
    CHECK_STR(e.keys[3], "");
    CHECK_STR(e.vals[3], "weird");
    CHECK_STR(env_get(&e, "PATH"), "/bin:/usr/bin");

    env_from_environ(&e, NULL); /* accepted, no change */
    CHECK_INT(e.n, 5);
    env_free(&e);
}

TEST(env_merge_missing_keeps_existing)
{
    Env dst = {0}, src = {0};
    env_set(&dst, "A", "dst");
    env_set(&dst, "N", NULL);
    env_set(&src, "B", "src-b");
    env_set(&src, "A", "src-a");
    env_set(&src, "N", "src-n");
    env_set(&src, "M", NULL);
    env_merge_missing(&dst, &src);

    CHECK_INT(dst.n, 4);
    CHECK_STR(dst.keys[0], "A");
    CHECK_STR(dst.vals[0], "dst");
    CHECK_STR(dst.keys[1], "N");
    CHECK(dst.vals[1] == NULL); /* present without a value still wins */
    CHECK_STR(dst.keys[2], "B");
    CHECK_STR(dst.vals[2], "src-b");
    CHECK_STR(dst.keys[3], "M");
    CHECK(env_has(&dst, "M"));
    CHECK(env_get(&dst, "M") == NULL);

    /* src is not modified and its strings are not shared */
    CHECK_INT(src.n, 4);
    CHECK(dst.vals[2] != src.vals[0]);
    env_free(&src);
    CHECK_STR(env_get(&dst, "B"), "src-b");

    env_merge_missing(&dst, &dst); /* self: no change */
    CHECK_INT(dst.n, 4);
    env_free(&dst);
}
