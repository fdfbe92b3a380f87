/* Tests for imgbuild: the context tar read back by GNU tar (names, contents,
 * modes, owners, mtimes, symlinks, long paths, empty folders), the exact
 * file list a .dockerignore leaves, the errors for unreadable and oversized
 * contexts, then real builds against the Docker engine on
 * /var/run/docker.sock from the local tend/busybox image (scripts/make-images):
 * output lines, a built and labelled image, a failing RUN, a missing
 * Dockerfile, build arguments and targets, cancellation. Images are named
 * "tend-test-imgbuild/..." and removed again; temp folders too. */
#include "engine/imgbuild.h"
#include "test.h"
#include "lib/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SOCK "/var/run/docker.sock"
#define HOST "unix://" SOCK

/* ---- files ---- */

static char *make_tmpdir(void)
{
    TEST_TMP(tmpl, "tend-test-imgbuild");
    if (!mkdtemp(tmpl))
        return NULL;
    chmod(tmpl, 0755);
    return xstrdup(tmpl);
}

static void rm_rf(char *dir)
{
    if (!dir)
        return;
    char *cmd = xasprintf("rm -rf '%s'", dir);
    CHECK_INT(system(cmd), 0);
    free(cmd);
    free(dir);
}

/* Creates dir/rel (and its folders) with n bytes of data and mode. */
static void put_bytes(const char *dir, const char *rel, const char *data, size_t n, mode_t mode)
{
    char *path = path_join(dir, rel);
    for (char *s = strchr(path + strlen(dir) + 1, '/'); s; s = strchr(s + 1, '/')) {
        *s = '\0';
        mkdir(path, 0755);
        *s = '/';
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    CHECK(fd >= 0);
    if (fd >= 0) {
        CHECK(write(fd, data, n) == (ssize_t)n);
        close(fd);
    }
    CHECK_INT(chmod(path, mode), 0);
    free(path);
}

static void put(const char *dir, const char *rel, const char *text)
{
    put_bytes(dir, rel, text, strlen(text), 0644);
}

/* The standard output of a shell command (checked to succeed). */
static char *sh(const char *fmt, ...) _printf_(1, 2);
static char *sh(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *cmd = xvasprintf(fmt, ap);
    va_end(ap);
    FILE *f = popen(cmd, "r");
    StrBuf b;
    strbuf_init(&b, 0);
    if (f) {
        char buf[4096];
        size_t n;
        while ((n = fread(buf, 1, sizeof buf, f)) > 0)
            strbuf_append(&b, buf, n);
        int st = pclose(f);
        if (st != 0)
            printf("#   `%s` exited with %d\n", cmd, st);
        CHECK(st == 0);
    }
    free(cmd);
    return strbuf_steal(&b);
}

/* The context's tar, written to dir/ctx.tar; its path. */
static char *tar_of(const char *ctx, const char *dockerfile, const char *dir, char **ret_df)
{
    StrBuf b;
    strbuf_init(&b, 0);
    char *err = NULL;
    int r = build_context_tar(ctx, dockerfile, &b, ret_df, &err);
    CHECK_INT(r, 0);
    CHECK(err == NULL);
    if (err)
        printf("#   %s\n", err);
    free(err);
    CHECK_INT(b.len % 512, 0);
    char *path = path_join(dir, "ctx.tar");
    put_bytes(dir, "ctx.tar", b.data ? b.data : "", b.len, 0644);
    strbuf_free(&b);
    return path;
}

static char *names_in(const char *tarfile)
{
    return sh("tar -tf '%s'", tarfile);
}

static char *repeat(char c, size_t n)
{
    char *s = xmalloc(n + 1);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

/* ---- the tar ---- */

TEST(context_tar_reads_back_with_gnu_tar)
{
    char *ctx = make_tmpdir(), *work = make_tmpdir();
    REQUIRE(ctx && work);
    put(ctx, "Dockerfile", "FROM scratch\n");
    put_bytes(ctx, "bin/run.sh", "#!/bin/sh\necho hi\n", 18, 0755);
    put_bytes(ctx, "secret", "a\0b\0\xff", 5, 0600);
    put_bytes(ctx, "empty", "", 0, 0640);
    size_t big_n = 70001; /* not a multiple of the block size */
    char *big = xmalloc(big_n);
    for (size_t i = 0; i < big_n; i++)
        big[i] = (char)(i * 7 + 3);
    put_bytes(ctx, "big", big, big_n, 0644);
    char *a60 = repeat('a', 60), *b60 = repeat('b', 60), *c100 = repeat('c', 100);
    char *deep = xasprintf("d/%s/%s/file.txt", a60, b60); /* 132 bytes */
    put(ctx, deep, "deep\n");
    put(ctx, c100, "exactly 100\n");
    char *p = path_join(ctx, "emptydir");
    CHECK_INT(mkdir(p, 0750), 0);
    CHECK_INT(chmod(p, 0750), 0);
    free(p);
    p = path_join(ctx, "link");
    CHECK_INT(symlink("bin/run.sh", p), 0);
    free(p);
    char *far = xasprintf("../../%s/%s/%s", a60, b60, "nowhere"); /* 133 bytes, dangling */
    p = path_join(ctx, "longlink");
    CHECK_INT(symlink(far, p), 0);
    free(p);
    p = path_join(ctx, "secret");
    struct timespec times[2] = {{1500000000, 0}, {1500000000, 0}};
    CHECK_INT(utimensat(AT_FDCWD, p, times, 0), 0);
    free(p);

    char *df = NULL;
    char *tarfile = tar_of(ctx, NULL, work, &df);
    CHECK_STR(df, "Dockerfile");
    char *want = xasprintf("Dockerfile\nbig\nbin/\nbin/run.sh\n%s\nd/\nd/%s/\nd/%s/%s/\n%s\nempty\n"
                           "emptydir/\nlink\nlonglink\nsecret\n",
                           c100, a60, a60, b60, deep);
    char *names = names_in(tarfile);
    CHECK_STR(names, want);

    /* Every entry owned by 0:0; the symlinks listed as links. */
    char *owners = sh("tar -tvf '%s' --numeric-owner | awk '{print $2}' | sort -u", tarfile);
    CHECK_STR(owners, "0/0\n");
    char *links = sh("tar -tvf '%s' | grep -c ^l", tarfile);
    CHECK_STR(links, "2\n");
    /* The long name travels in a PAX header. */
    char *pax = sh("grep -c -a 'path=d/%s' '%s'", a60, tarfile);
    CHECK_STR(pax, "2\n"); /* the folder d/A/B/ and the file in it */

    /* Extracted: the same contents, modes, link targets and mtime. */
    char *out = path_join(work, "out");
    CHECK_INT(mkdir(out, 0755), 0);
    char *x = sh("tar -xpf '%s' -C '%s' --numeric-owner", tarfile, out);
    free(x);
    struct {
        const char *rel;
        const char *content;
        size_t len;
        unsigned mode;
    } files[] = {
        {"Dockerfile", "FROM scratch\n", 13, 0644}, {"bin/run.sh", "#!/bin/sh\necho hi\n", 18, 0755},
        {"secret", "a\0b\0\xff", 5, 0600},          {"empty", "", 0, 0640},
        {deep, "deep\n", 5, 0644},                  {c100, "exactly 100\n", 12, 0644},
        {"big", big, big_n, 0644},
    };
    for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
        char *path = path_join(out, files[i].rel);
        char *data = NULL;
        size_t len = 0;
        CHECK_INT(read_file(path, (size_t)1 << 20, &data, &len), 0);
        CHECK_INT(len, files[i].len);
        CHECK(data && memcmp(data, files[i].content, files[i].len) == 0);
        struct stat st;
        CHECK_INT(lstat(path, &st), 0);
        CHECK_INT(st.st_mode & 07777, files[i].mode);
        CHECK_INT(st.st_uid, 0);
        if (streq(files[i].rel, "secret"))
            CHECK_INT(st.st_mtime, 1500000000);
        free(data);
        free(path);
    }
    struct stat st;
    p = path_join(out, "emptydir");
    CHECK_INT(lstat(p, &st), 0);
    CHECK(S_ISDIR(st.st_mode));
    CHECK_INT(st.st_mode & 07777, 0750);
    free(p);
    char target[512];
    p = path_join(out, "link");
    ssize_t n = readlink(p, target, sizeof target - 1);
    REQUIRE(n > 0);
    target[n] = '\0';
    CHECK_STR(target, "bin/run.sh");
    free(p);
    p = path_join(out, "longlink");
    n = readlink(p, target, sizeof target - 1);
    REQUIRE(n > 0);
    target[n] = '\0';
    CHECK_STR(target, far);
    free(p);

    free(out);
    free(pax);
    free(links);
    free(owners);
    free(names);
    free(want);
    free(tarfile);
    free(df);
    free(far);
    free(deep);
    free(a60);
    free(b60);
    free(c100);
    free(big);
    rm_rf(ctx);
    rm_rf(work);
}

/* The patterns as the docker CLI reads them: comments only at the start of
 * a line, `*` within one folder (so *.log is only at the top), `**` across
 * folders, `?`, classes, exceptions (one reopening an excluded folder, whose
 * own entry is then not sent), a leading '/' or './' dropped, blanks
 * trimmed; the Dockerfile and .dockerignore kept although excluded. */
TEST(dockerignore_leaves_the_exact_file_list)
{
    char *ctx = make_tmpdir(), *work = make_tmpdir();
    REQUIRE(ctx && work);
    static const char *const files[] = {
        "Dockerfile",   "README.md", "a.txt",     "ab.txt",       "abs.txt",
        "app.log",      "keep.log",  "rel.txt",   "x.cfg",        "z.cfg",
        "#comment.txt", "#spaced.txt", "node_modules/a/b.js", "sub/x.log", "sub/tmp/t",
        "tmp/t2",       "deep/a/tmp/z", "deep/a/tmpx/y", "src/main.c", "docs/a.md",
        "docs/keep.md", "docs/more/c.md",
    };
    for (size_t i = 0; i < ARRAY_SIZE(files); i++)
        put(ctx, files[i], files[i]);
    put(ctx, ".dockerignore", "# dependencies\n"
                              "node_modules\n"
                              "*.log\n"
                              "!keep.log\n"
                              "**/tmp\n"
                              "   \n"
                              "\n"
                              "docs\r\n"
                              "! docs/keep.md\n"
                              "Dockerfile\n"
                              ".dockerignore\n"
                              "/abs.txt\n"
                              "./rel.txt\n"
                              "?.txt\n"
                              "[xy].cfg\n"
                              "#comment.txt\n"
                              "  #spaced.txt  \n");
    char *tarfile = tar_of(ctx, NULL, work, NULL);
    char *names = names_in(tarfile);
    CHECK_STR(names, "#comment.txt\n.dockerignore\nDockerfile\nREADME.md\nab.txt\ndeep/\ndeep/a/\n"
                     "deep/a/tmpx/\ndeep/a/tmpx/y\ndocs/keep.md\nkeep.log\nsrc/\nsrc/main.c\nsub/\n"
                     "sub/x.log\nz.cfg\n");
    free(names);
    free(tarfile);

    /* Everything excluded but one folder's file, named as the exception. */
    put(ctx, ".dockerignore", "*\n!src/main.c\n");
    tarfile = tar_of(ctx, NULL, work, NULL);
    names = names_in(tarfile);
    CHECK_STR(names, ".dockerignore\nDockerfile\nsrc/main.c\n");
    free(names);
    free(tarfile);

    /* `**` in the middle and at the end; an exception after a later match
     * loses to it (the last matching pattern decides). */
    put(ctx, ".dockerignore", "deep/**/z\ndocs/**\n!docs/a.md\nsrc\n!src/main.c\nsrc/*.c\n");
    tarfile = tar_of(ctx, NULL, work, NULL);
    names = names_in(tarfile);
    CHECK(names && strstr(names, "deep/a/tmp/\ndeep/a/tmpx/\ndeep/a/tmpx/y\ndocs/\ndocs/a.md\n"
                                 "keep.log\nnode_modules/"));
    CHECK(names && !strstr(names, "deep/a/tmp/z"));
    CHECK(names && !strstr(names, "src/"));
    CHECK(names && !strstr(names, "docs/keep.md"));
    free(names);
    free(tarfile);

    /* What the CLI compares as plain strings: `**` first and no other
     * wildcard is "ends with" (so within a name too), `**` last with no
     * other wildcard is "starts with". */
    put(ctx, ".dockerignore", "**.md\nsrc**\n!src/main.c\n**/tmp\n");
    tarfile = tar_of(ctx, NULL, work, NULL);
    names = names_in(tarfile);
    CHECK_STR(names, "#comment.txt\n#spaced.txt\n.dockerignore\nDockerfile\na.txt\nab.txt\nabs.txt\n"
                     "app.log\ndeep/\ndeep/a/\ndeep/a/tmpx/\ndeep/a/tmpx/y\ndocs/\ndocs/more/\n"
                     "keep.log\nnode_modules/\nnode_modules/a/\nnode_modules/a/b.js\nrel.txt\n"
                     "src/main.c\nsub/\nsub/x.log\nx.cfg\nz.cfg\n");
    free(names);
    free(tarfile);
    rm_rf(ctx);
    rm_rf(work);
}

/* The Dockerfile in a folder that is excluded is still sent, and given to
 * the engine by its path in the context; an absolute one inside the context
 * is made relative; one outside the context is added under a name of its
 * own. */
TEST(dockerfile_anywhere_is_sent)
{
    char *ctx = make_tmpdir(), *work = make_tmpdir();
    REQUIRE(ctx && work);
    put(ctx, "build/Dockerfile.dev", "FROM dev\n");
    put(ctx, "build/other", "x");
    put(ctx, ".dockerignore", "build\n");
    char *df = NULL;
    char *tarfile = tar_of(ctx, "build/Dockerfile.dev", work, &df);
    char *names = names_in(tarfile);
    CHECK_STR(names, ".dockerignore\nbuild/Dockerfile.dev\n");
    CHECK_STR(df, "build/Dockerfile.dev");
    free(names);
    free(tarfile);
    free(df);

    char *abs = path_join(ctx, "./build/../build/Dockerfile.dev");
    tarfile = tar_of(ctx, abs, work, &df);
    CHECK_STR(df, "build/Dockerfile.dev");
    free(tarfile);
    free(df);
    free(abs);

    put(work, "Outside", "FROM outside\n");
    abs = path_join(work, "Outside");
    tarfile = tar_of(ctx, abs, work, &df);
    CHECK_STR(df, ".dockerfile.tend");
    names = names_in(tarfile);
    CHECK_STR(names, ".dockerignore\n.dockerfile.tend\n");
    char *content = sh("tar -xOf '%s' .dockerfile.tend", tarfile);
    CHECK_STR(content, "FROM outside\n");
    free(content);
    free(names);
    free(tarfile);
    free(df);
    free(abs);
    char *rel = xasprintf("../%s/Outside", path_basename(work));
    tarfile = tar_of(ctx, rel, work, &df);
    CHECK_STR(df, ".dockerfile.tend");
    free(tarfile);
    free(df);
    free(rel);
    rm_rf(ctx);
    rm_rf(work);
}

/* Runs build_context_tar as nobody (root reads everything) and returns its
 * error message, or "ok". */
static char *tar_error_as_nobody(const char *ctx)
{
    int fds[2];
    if (pipe(fds) < 0)
        return NULL;
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        if (setgid(65534) < 0 || setuid(65534) < 0)
            _exit(3);
        StrBuf b;
        strbuf_init(&b, 0);
        char *err = NULL;
        int r = build_context_tar(ctx, NULL, &b, NULL, &err);
        char *msg = r < 0 ? xasprintf("%d %s", r, err ? err : "(no message)") : xstrdup("ok");
        ssize_t w = write(fds[1], msg, strlen(msg));
        _exit(w < 0 ? 4 : 0);
    }
    close(fds[1]);
    StrBuf b;
    strbuf_init(&b, 0);
    char buf[512];
    ssize_t n;
    while ((n = read(fds[0], buf, sizeof buf)) > 0)
        strbuf_append(&b, buf, (size_t)n);
    close(fds[0]);
    int st = 0;
    waitpid(pid, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    return strbuf_steal(&b);
}

TEST(context_errors_name_the_file)
{
    char *ctx = make_tmpdir();
    REQUIRE(ctx);
    put(ctx, "Dockerfile", "FROM x\n");
    put_bytes(ctx, "sub/private", "p", 1, 0600);
    char *msg = tar_error_as_nobody(ctx);
    char *want = xasprintf("%d cannot read %s/sub/private: Permission denied", -EACCES, ctx);
    CHECK_STR(msg, want);
    free(msg);
    free(want);
    /* An unreadable folder. */
    char *p = path_join(ctx, "sub/private");
    unlink(p);
    free(p);
    p = path_join(ctx, "sub");
    chmod(p, 0700);
    free(p);
    msg = tar_error_as_nobody(ctx);
    want = xasprintf("%d cannot read %s/sub: Permission denied", -EACCES, ctx);
    CHECK_STR(msg, want);
    free(msg);
    free(want);

    /* Nothing there at all; a file, not a folder. */
    StrBuf b;
    strbuf_init(&b, 0);
    char *err = NULL;
    CHECK_INT(build_context_tar("/nonexistent/tend-ctx", NULL, &b, NULL, &err), -ENOENT);
    CHECK_STR(err, "cannot read /nonexistent/tend-ctx: No such file or directory");
    free(err);
    err = NULL;
    char *file = path_join(ctx, "Dockerfile");
    CHECK_INT(build_context_tar(file, NULL, &b, NULL, &err), -ENOTDIR);
    want = xasprintf("cannot read %s: Not a directory", file);
    CHECK_STR(err, want);
    free(want);
    free(file);
    free(err);
    err = NULL;

    /* A bad pattern. */
    put(ctx, ".dockerignore", "ok\n[ab\n");
    CHECK_INT(build_context_tar(ctx, NULL, &b, NULL, &err), -EINVAL);
    want = xasprintf("invalid pattern \"[ab\" in %s/.dockerignore", ctx);
    CHECK_STR(err, want);
    free(want);
    free(err);
    err = NULL;
    put(ctx, ".dockerignore", "!\n");
    CHECK_INT(build_context_tar(ctx, NULL, &b, NULL, &err), -EINVAL);
    want = xasprintf("invalid pattern \"!\" in %s/.dockerignore", ctx);
    CHECK_STR(err, want);
    free(want);
    free(err);
    err = NULL;
    CHECK_INT(b.len, 0);
    strbuf_free(&b);
    rm_rf(ctx);
}

/* Past the cap: -E2BIG, the buffer as it was, and what to do about it. */
TEST(context_over_the_cap_is_refused)
{
    char *ctx = make_tmpdir();
    REQUIRE(ctx);
    put(ctx, "Dockerfile", "FROM x\n");
    char *blob = repeat('z', 10000);
    put(ctx, "blob", blob);
    StrBuf b;
    strbuf_init(&b, 8192);
    strbuf_puts(&b, "kept");
    char *err = NULL;
    CHECK_INT(build_context_tar(ctx, NULL, &b, NULL, &err), -E2BIG);
    char *want = xasprintf("build context %s is larger than 8192 bytes (list what it does not "
                           "need in %s/.dockerignore)",
                           ctx, ctx);
    CHECK_STR(err, want);
    CHECK_STR(b.data, "kept");
    CHECK_INT(b.len, 4);
    free(want);
    free(err);
    err = NULL;

    /* Ignored, it fits. */
    put(ctx, ".dockerignore", "blob\n");
    CHECK_INT(build_context_tar(ctx, NULL, &b, NULL, &err), 0);
    CHECK(err == NULL);
    CHECK_INT(b.len, 4 + 4 * 512 + 1024); /* two headers, two data blocks, the end */
    strbuf_free(&b);
    free(blob);
    rm_rf(ctx);
}

TEST(remote_contexts_are_refused)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    Engine *e = engine_new(&loop, HOST, NULL);
    REQUIRE(e);
    static const char *const urls[] = {
        "https://github.com/docker/compose.git#main",
        "git@github.com:docker/compose.git",
        "github.com/docker/compose",
        "http://example.com/context.tar.gz",
    };
    for (size_t i = 0; i < ARRAY_SIZE(urls); i++) {
        char *err = NULL;
        CHECK(image_build(e, urls[i], NULL, NULL, NULL, "x", NULL, NULL, NULL, NULL, &err) ==
              NULL);
        char *want = xasprintf("remote build contexts are not supported: %s", urls[i]);
        CHECK_STR(err, want);
        free(want);
        free(err);
    }
    CHECK(!build_context_is_remote("/home/me/app"));
    engine_free(e);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK_INT(uv_loop_close(&loop), 0);
}

/* ---- loop helpers ---- */

static void on_guard(uv_timer_t *t)
{
    *(bool *)t->data = true;
}

typedef struct Until {
    const int *count;
    int want;
} Until;

/* Before the loop blocks: a callback made from a timer (curl's work at the
 * start of an iteration) may have reached the count already, and nothing
 * else would wake the loop. */
static void on_until_prepare(uv_prepare_t *p)
{
    const Until *u = p->data;
    if (*u->count >= u->want)
        uv_stop(p->loop);
}

/* Runs the loop until *count reaches want or ms pass. */
static bool run_until(uv_loop_t *loop, const int *count, int want, int ms)
{
    bool expired = false;
    uv_timer_t guard;
    uv_timer_init(loop, &guard);
    guard.data = &expired;
    uv_timer_start(&guard, on_guard, (uint64_t)ms, 0);
    Until u = {count, want};
    uv_prepare_t prep;
    uv_prepare_init(loop, &prep);
    prep.data = &u;
    uv_prepare_start(&prep, on_until_prepare);
    uv_unref((uv_handle_t *)&prep);
    while (*count < want && !expired)
        uv_run(loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&guard, NULL);
    uv_close((uv_handle_t *)&prep, NULL);
    uv_run(loop, UV_RUN_NOWAIT); /* the handles live on this stack */
    return *count >= want;
}

static void run_for(uv_loop_t *loop, int ms)
{
    int never = 0;
    run_until(loop, &never, 1, ms);
}

static void on_hang(uv_timer_t *t)
{
    *(bool *)t->data = true;
    uv_stop(t->loop);
}

static void drain_and_close(uv_loop_t *loop)
{
    bool hung = false;
    uv_timer_t guard;
    uv_timer_init(loop, &guard);
    guard.data = &hung;
    uv_timer_start(&guard, on_hang, 5000, 0);
    uv_unref((uv_handle_t *)&guard);
    uv_run(loop, UV_RUN_DEFAULT);
    CHECK(!hung);
    uv_close((uv_handle_t *)&guard, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
    CHECK_INT(uv_loop_close(loop), 0);
}

typedef struct Reply {
    int calls;
    int status;
    json_t *body;
} Reply;

static void on_reply(void *ud, int status, json_t *body, const char *err)
{
    Reply *r = ud;
    (void)err;
    r->calls++;
    r->status = status;
    json_decref(r->body);
    r->body = json_incref(body);
}

static int call(uv_loop_t *loop, Engine *e, const char *method, const char *path, Reply *r)
{
    json_decref(r->body);
    memset(r, 0, sizeof *r);
    engine_request(e, method, path, NULL, on_reply, r);
    uint64_t t0 = now_ns();
    CHECK(run_until(loop, &r->calls, 1, 10000));
    uint64_t ms = (now_ns() - t0) / 1000000;
    if (ms > 1000) /* the engine was busy: worth knowing when a run is slow */
        printf("# %s %s: %d in %llu ms\n", method, path, r->status, (unsigned long long)ms);
    return r->status;
}

/* ---- builds ---- */

typedef struct Built {
    StrVec lines;
    int done_calls;
    bool ok;
    char *err;
    int lines_after_done;
    const char *cancel_on; /* cancel from on_line when this line comes */
    ImageBuild *b;
    bool cancelled;
} Built;

static void on_line(void *ud, const char *line)
{
    Built *bt = ud;
    if (bt->done_calls)
        bt->lines_after_done++;
    CHECK(!bt->cancelled);
    strvec_push(&bt->lines, line);
    if (bt->cancel_on && streq(line, bt->cancel_on)) {
        image_build_cancel(bt->b);
        image_build_cancel(bt->b); /* twice: nothing more */
        bt->cancelled = true;
    }
}

static void on_built(void *ud, bool ok, const char *err)
{
    Built *bt = ud;
    bt->done_calls++;
    bt->ok = ok;
    free(bt->err);
    bt->err = err ? xstrdup(err) : NULL;
    image_build_cancel(bt->b); /* inside done: does nothing */
}

static void built_clear(Built *bt)
{
    strvec_free(&bt->lines);
    free(bt->err);
    memset(bt, 0, sizeof *bt);
}

static void print_lines(const Built *bt)
{
    for (size_t i = 0; i < bt->lines.n; i++)
        printf("#   | %s\n", bt->lines.v[i]);
}

static bool have_docker(void)
{
    if (access(SOCK, F_OK) != 0) {
        printf("# skip: %s does not exist, so there is no Docker engine to test against\n", SOCK);
        return false;
    }
    return true;
}

/* tend/busybox, made once per run (idempotent, about a second). */
static bool have_busybox(void)
{
    static int state; /* 0 unknown, 1 yes, -1 no */
    if (state)
        return state > 0;
    state = -1;
    if (!have_docker())
        return false;
    const char *data = getenv("TEND_TEST_DATA");
    CHECK(data != NULL);
    if (!data)
        return false;
    char *cmd = xasprintf("'%s/../../scripts/make-images' >/dev/null", data);
    int st = system(cmd);
    free(cmd);
    CHECK_INT(st, 0);
    if (st == 0)
        state = 1;
    return state > 0;
}

static char *data_path(const char *rel)
{
    const char *data = getenv("TEND_TEST_DATA");
    return path_join(data ? data : "tests/data", rel);
}

/* Builds and runs the loop until done (or 25 s). */
static void build(uv_loop_t *loop, Engine *e, Built *bt, const char *ctx, const char *dockerfile,
                  const char *target, const Env *args, const char *tag, const Env *labels)
{
    char *err = NULL;
    bt->b = image_build(e, ctx, dockerfile, target, args, tag, labels, on_line, on_built, bt,
                        &err);
    CHECK(bt->b != NULL);
    CHECK(err == NULL);
    free(err);
    uint64_t t0 = now_ns();
    if (bt->b)
        CHECK(run_until(loop, &bt->done_calls, 1, 25000));
    printf("# built %s in %llu ms\n", tag, (unsigned long long)((now_ns() - t0) / 1000000));
    CHECK_INT(bt->done_calls, 1);
    if (!bt->ok)
        print_lines(bt);
}

static bool has_line(const Built *bt, const char *line)
{
    return strvec_contains(&bt->lines, line);
}

#define HELLO "tend-test-imgbuild/hello:latest"

TEST(build_hello_from_the_test_context)
{
    if (!have_busybox())
        return;
    uv_loop_t loop;
    uv_loop_init(&loop);
    Engine *e = engine_new(&loop, HOST, NULL);
    REQUIRE(e);
    Reply r = {0};

    char *ctx = data_path("docker/build-hello");
    Env labels = {0};
    env_set(&labels, "org.tend.test", "imgbuild");
    Built bt = {0};
    build(&loop, e, &bt, ctx, NULL, NULL, NULL, HELLO, &labels);
    CHECK(bt.ok);
    CHECK(bt.err == NULL);
    REQUIRE(bt.lines.n >= 4);
    /* The label is a step of its own. */
    CHECK_STR(bt.lines.v[0], "Step 1/4 : FROM tend/busybox");
    CHECK(has_line(&bt, "Step 2/4 : COPY hello.sh /hello.sh"));
    CHECK(has_line(&bt, "Step 3/4 : CMD [\"sh\", \"/hello.sh\"]"));
    CHECK(has_line(&bt, "Step 4/4 : LABEL org.tend.test=imgbuild"));
    CHECK_STR(bt.lines.v[bt.lines.n - 1], "Successfully tagged " HELLO);
    CHECK_INT(bt.lines_after_done, 0);

    /* There, with its labels. */
    CHECK_INT(call(&loop, e, "GET", "/images/" HELLO "/json", &r), 200);
    json_t *lb = json_object_get(json_object_get(r.body, "Config"), "Labels");
    CHECK_STR(json_string_value(json_object_get(lb, "org.tend.test")), "imgbuild");
    CHECK_INT(call(&loop, e, "DELETE", "/images/" HELLO "?force=1", &r), 200);
    CHECK_INT(call(&loop, e, "GET", "/images/" HELLO "/json", &r), 404);

    json_decref(r.body);
    built_clear(&bt);
    env_free(&labels);
    free(ctx);
    engine_free(e);
    drain_and_close(&loop);
}

TEST(build_failures_carry_the_engine_message)
{
    if (!have_busybox())
        return;
    uv_loop_t loop;
    uv_loop_init(&loop);
    Engine *e = engine_new(&loop, HOST, NULL);
    REQUIRE(e);
    char *ctx = make_tmpdir();
    REQUIRE(ctx);

    /* A RUN that fails: the builder's error, after its step's line. */
    put(ctx, "Dockerfile", "FROM tend/busybox\nRUN echo about to fail && exit 3\n");
    Built bt = {0};
    build(&loop, e, &bt, ctx, NULL, NULL, NULL, "tend-test-imgbuild/fail:latest", NULL);
    CHECK(!bt.ok);
    CHECK_STR(bt.err, "The command '/bin/sh -c echo about to fail && exit 3' returned a non-zero "
                      "code: 3");
    CHECK(has_line(&bt, "Step 2/2 : RUN echo about to fail && exit 3"));
    CHECK(has_line(&bt, "about to fail"));
    Reply r = {0};
    CHECK_INT(call(&loop, e, "GET", "/images/tend-test-imgbuild/fail:latest/json", &r), 404);
    built_clear(&bt);

    /* No Dockerfile: the engine says so. */
    build(&loop, e, &bt, ctx, "Dockerfile.missing", NULL, NULL, "tend-test-imgbuild/fail:latest",
          NULL);
    CHECK(!bt.ok);
    CHECK_STR(bt.err, "Cannot locate specified Dockerfile: Dockerfile.missing");
    CHECK_INT(bt.lines.n, 0);
    built_clear(&bt);

    /* A Dockerfile the builder cannot parse. */
    put(ctx, "Dockerfile", "FROM tend/busybox\nNOTANINSTRUCTION x\n");
    build(&loop, e, &bt, ctx, NULL, NULL, NULL, "tend-test-imgbuild/fail:latest", NULL);
    CHECK(!bt.ok);
    CHECK(bt.err && strstr(bt.err, "unknown instruction: NOTANINSTRUCTION"));
    printf("# %s\n", bt.err ? bt.err : "(null)");
    built_clear(&bt);

    json_decref(r.body);
    rm_rf(ctx);
    engine_free(e);
    drain_and_close(&loop);
}

/* Build arguments reach RUN (one without a value gets the Dockerfile's
 * default); a target stops at its stage, so the failing stage after it is
 * not built; a RUN's output comes through line by line. */
TEST(build_args_and_target_reach_the_build)
{
    if (!have_busybox())
        return;
    uv_loop_t loop;
    uv_loop_init(&loop);
    Engine *e = engine_new(&loop, HOST, NULL);
    REQUIRE(e);
    char *ctx = make_tmpdir();
    REQUIRE(ctx);
#define ARGS "tend-test-imgbuild/args:latest"
    Reply r = {0};
    call(&loop, e, "DELETE", "/images/" ARGS "?force=1", &r); /* a leftover: no cache */
    put(ctx, "Dockerfile", "FROM tend/busybox AS base\n"
                           "ARG X\n"
                           "ARG UNSET=default\n"
                           "RUN printf 'out-%s\\nsecond %s\\n' \"$X\" \"$UNSET\" && test \"$X\" = yes\n"
                           "FROM base AS broken\n"
                           "RUN exit 4\n");
    Env args = {0};
    env_set(&args, "X", "yes");
    env_set(&args, "UNSET", NULL);

    Built bt = {0};
    build(&loop, e, &bt, ctx, NULL, "base", &args, ARGS, NULL);
    CHECK(bt.ok);
    CHECK(bt.err == NULL);
    CHECK(has_line(&bt, "out-yes"));
    CHECK(has_line(&bt, "second default"));
    CHECK(has_line(&bt, "Step 1/4 : FROM tend/busybox AS base"));
    CHECK_INT(call(&loop, e, "GET", "/images/" ARGS "/json", &r), 200);
    built_clear(&bt);

    /* Another value: the test in the RUN fails. */
    env_set(&args, "X", "no");
    build(&loop, e, &bt, ctx, NULL, "base", &args, "tend-test-imgbuild/args-no:latest", NULL);
    CHECK(!bt.ok);
    CHECK(has_line(&bt, "out-no"));
    CHECK_STR(bt.err, "The command '/bin/sh -c printf 'out-%s\\nsecond %s\\n' \"$X\" \"$UNSET\" "
                      "&& test \"$X\" = yes' returned a non-zero code: 1");
    built_clear(&bt);

    /* Removing the image takes its cached steps along. */
    CHECK_INT(call(&loop, e, "DELETE", "/images/" ARGS "?force=1", &r), 200);
    json_decref(r.body);
    env_free(&args);
    rm_rf(ctx);
    engine_free(e);
    drain_and_close(&loop);
}

/* The build containers still there for the sleeping RUN below. */
static int sleepers(uv_loop_t *loop, Engine *e)
{
    Reply r = {0};
    call(loop, e, "GET", "/containers/json?all=1", &r);
    int n = 0;
    size_t k;
    json_t *c;
    json_array_foreach(r.body, k, c)
    {
        const char *cmd = json_string_value(json_object_get(c, "Command"));
        if (cmd && strstr(cmd, "echo started && sleep 30"))
            n++;
    }
    json_decref(r.body);
    return n;
}

static bool sleepers_gone(uv_loop_t *loop, Engine *e)
{
    for (int i = 0; i < 50; i++) {
        if (sleepers(loop, e) == 0)
            return true;
        run_for(loop, 200);
    }
    return false;
}

/* Cancelled while a RUN runs, from outside and from inside on_line, and
 * before the request went out: no callback after it; the engine stops the
 * build and removes its container (forcerm). */
TEST(build_cancelled_midway_calls_nothing)
{
    if (!have_busybox())
        return;
    uv_loop_t loop;
    uv_loop_init(&loop);
    Engine *e = engine_new(&loop, HOST, NULL);
    REQUIRE(e);
    char *ctx = make_tmpdir();
    REQUIRE(ctx);
    put(ctx, "Dockerfile", "FROM tend/busybox\nRUN echo started && sleep 30 && echo finished\n");
    const char *tag = "tend-test-imgbuild/cancel:latest";

    Built bt = {0};
    char *err = NULL;
    bt.b = image_build(e, ctx, NULL, NULL, NULL, tag, NULL, on_line, on_built, &bt, &err);
    REQUIRE(bt.b);
    for (int i = 0; i < 1000 && !has_line(&bt, "started"); i++)
        run_for(&loop, 10);
    CHECK(has_line(&bt, "started"));
    CHECK_INT(sleepers(&loop, e), 1);
    image_build_cancel(bt.b);
    CHECK(sleepers_gone(&loop, e));
    CHECK_INT(bt.done_calls, 0);
    built_clear(&bt);

    bt.cancel_on = "started";
    bt.b = image_build(e, ctx, NULL, NULL, NULL, tag, NULL, on_line, on_built, &bt, &err);
    REQUIRE(bt.b);
    for (int i = 0; i < 1000 && !bt.cancelled; i++)
        run_for(&loop, 10);
    CHECK(bt.cancelled);
    CHECK(sleepers_gone(&loop, e));
    CHECK_INT(bt.done_calls, 0);
    CHECK(!has_line(&bt, "finished"));
    built_clear(&bt);

    bt.b = image_build(e, ctx, NULL, NULL, NULL, tag, NULL, on_line, on_built, &bt, &err);
    REQUIRE(bt.b);
    image_build_cancel(bt.b);
    run_for(&loop, 200);
    CHECK_INT(bt.done_calls, 0);
    CHECK_INT(bt.lines.n, 0);
    image_build_cancel(NULL);
    CHECK(err == NULL);

    built_clear(&bt);
    rm_rf(ctx);
    engine_free(e);
    drain_and_close(&loop);
}
