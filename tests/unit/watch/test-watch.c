/* Tests of the inotify watcher against the real filesystem and a real
 * libuv loop: events anywhere in a tree, folders that appear later (and
 * what was made in them before their watch), renames paired by cookie
 * (with a renamed folder's children), moves in and out, deletes, ignored
 * folders that hold no watch, a burst of 5000 writes, a queue overflow
 * (fs.inotify.max_queued_events lowered for the test) followed by a
 * rescan, freeing from the callback, and the limit check. */
#include "test.h"
#include "lib/util.h"
#include "watch/watch.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- helpers ----------------------------------------------------------- */

typedef struct Seen {
    WatchChangeKind kind;
    char *path; /* relative to the tree's root, "" for the root */
    char *old;
    bool is_dir;
    int tree;
} Seen;

typedef struct Rec {
    char *root;
    size_t root_len;
    Seen *v;
    size_t n, cap;
    Watcher *w;
    bool free_in_cb; /* watcher_free from the first callback */
} Rec;

static const char *rel(const Rec *r, const char *p)
{
    if (!p)
        return NULL;
    if (strncmp(p, r->root, r->root_len) == 0 && (p[r->root_len] == '/' || !p[r->root_len]))
        return p[r->root_len] ? p + r->root_len + 1 : "";
    return p;
}

static void on_change(void *ud, int tree, const WatchChange *c)
{
    Rec *r = ud;
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 64;
        r->v = xrealloc(r->v, r->cap * sizeof *r->v);
    }
    r->v[r->n++] = (Seen){c->kind, xstrdup(rel(r, c->path)),
                          c->old_path ? xstrdup(rel(r, c->old_path)) : NULL, c->is_dir, tree};
    if (r->free_in_cb && r->w) {
        watcher_free(r->w);
        r->w = NULL;
    }
}

static void rec_clear(Rec *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->v[i].path);
        free(r->v[i].old);
    }
    r->n = 0;
}

static void rec_free(Rec *r)
{
    rec_clear(r);
    free(r->v);
    free(r->root);
}

static const char *kind_name(WatchChangeKind k)
{
    static const char *names[] = {"modified", "created", "deleted", "renamed", "rescan"};
    return names[k];
}

static void rec_dump(const Rec *r)
{
    for (size_t i = 0; i < r->n && i < 40; i++)
        printf("#     %s %s%s%s%s\n", kind_name(r->v[i].kind), r->v[i].old ? r->v[i].old : "",
               r->v[i].old ? " -> " : "", r->v[i].path, r->v[i].is_dir ? "/" : "");
}

/* Index of a recorded change of kind (-1: any but rescan) at path (and from
 * old, when given), or -1. */
static long rec_find(const Rec *r, int kind, const char *path, const char *old)
{
    for (size_t i = 0; i < r->n; i++) {
        const Seen *s = &r->v[i];
        if ((kind >= 0 ? (int)s->kind == kind : s->kind != WCH_RESCAN) && streq(s->path, path) &&
            (!old || strnull_eq(s->old, old)))
            return (long)i;
    }
    return -1;
}

static void on_tick(uv_timer_t *t)
{
    (void)t;
}

/* Runs the loop until cond (checked after each wakeup; a 5 ms timer keeps
 * it turning) or ms pass. */
static bool run_until(uv_loop_t *loop, Rec *r, bool (*cond)(Rec *r, const void *arg),
                      const void *arg, int ms)
{
    uv_timer_t t;
    uv_timer_init(loop, &t);
    uv_timer_start(&t, on_tick, 5, 5);
    uint64_t deadline = now_ns() + (uint64_t)ms * 1000000;
    bool ok = false;
    while (!(ok = cond && cond(r, arg)) && now_ns() < deadline)
        uv_run(loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
    return ok;
}

static void run_for(uv_loop_t *loop, Rec *r, int ms)
{
    run_until(loop, r, NULL, NULL, ms);
}

typedef struct Want {
    int kind;
    const char *path;
    const char *old;
} Want;

static bool has_all(Rec *r, const void *arg)
{
    for (const Want *w = arg; w->path; w++)
        if (rec_find(r, w->kind, w->path, w->old) < 0)
            return false;
    return true;
}

#define EXPECT(loop, r, ...)                                                                \
    do {                                                                                    \
        const Want want_[] = {__VA_ARGS__, {0, NULL, NULL}};                                \
        if (!run_until(loop, r, has_all, want_, 3000)) {                                    \
            printf("#   %s:%d: expected changes not all seen; got:\n", __FILE__, __LINE__); \
            for (const Want *w_ = want_; w_->path; w_++)                                    \
                if (rec_find(r, w_->kind, w_->path, w_->old) < 0)                           \
                    printf("#   missing: %s %s\n", w_->kind >= 0 ? kind_name(w_->kind) : "any", \
                           w_->path);                                                       \
            rec_dump(r);                                                                    \
            test_failed_ = true;                                                            \
        }                                                                                   \
    } while (0)

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static char *tmpdir_new(void)
{
    char *d = test_tmp_template("tend-watch");
    if (!mkdtemp(d)) {
        free(d);
        return NULL;
    }
    return d;
}

static void tmpdir_free(char *d)
{
    if (d)
        nftw(d, rm_entry, 64, FTW_DEPTH | FTW_PHYS);
    free(d);
}

/* A shell command run in dir. */
static int sh(const char *dir, const char *fmt, ...) _printf_(2, 3);
static int sh(const char *dir, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    _cleanup_free_ char *c = xvasprintf(fmt, ap);
    va_end(ap);
    _cleanup_free_ char *full = xasprintf("cd '%s' && %s", dir, c);
    int r = system(full);
    if (r != 0)
        printf("#   command failed (%d): %s\n", r, c);
    return r;
}

typedef struct Fixture {
    uv_loop_t loop;
    char *dir;
    Rec rec;
    Watcher *w;
    Ignore *ig;
    int tree;
} Fixture;

/* A watcher over a fresh temp folder in which setup (a shell command, or
 * NULL) has run, with the default ignore rules. */
static bool fixture_start(Fixture *f, const char *setup)
{
    memset(f, 0, sizeof *f);
    uv_loop_init(&f->loop);
    f->dir = tmpdir_new();
    if (!f->dir)
        return false;
    if (setup && sh(f->dir, "%s", setup) != 0)
        return false;
    f->rec.root = xstrdup(f->dir);
    f->rec.root_len = strlen(f->dir);
    f->w = watcher_new(&f->loop, on_change, &f->rec);
    f->rec.w = f->w;
    f->ig = ignore_new(f->dir, true);
    char *err = NULL;
    f->tree = watcher_add_tree(f->w, f->dir, f->ig, &err);
    if (f->tree < 0) {
        printf("#   watcher_add_tree: %s\n", err);
        free(err);
        return false;
    }
    return true;
}

static void fixture_stop(Fixture *f)
{
    watcher_free(f->rec.w);
    uv_run(&f->loop, UV_RUN_NOWAIT);
    CHECK(uv_loop_close(&f->loop) == 0);
    ignore_free(f->ig);
    rec_free(&f->rec);
    tmpdir_free(f->dir);
}

/* ---- tests ------------------------------------------------------------- */

TEST(changes_anywhere_in_a_tree_are_reported)
{
    Fixture f;
    REQUIRE(fixture_start(&f, "mkdir -p a/b/c && echo x > a/b/c/old.txt && echo y > top.txt"));
    CHECK_INT(watcher_watch_count(f.w), 4); /* root, a, a/b, a/b/c */
    CHECK_INT(watch_count_dirs(f.dir, f.ig), 4);

    sh(f.dir, "echo new > a/b/c/new.txt && echo more >> a/b/c/old.txt && chmod 600 top.txt");
    EXPECT(&f.loop, &f.rec, {WCH_CREATED, "a/b/c/new.txt", NULL},
           {WCH_MODIFIED, "a/b/c/new.txt", NULL}, {WCH_MODIFIED, "a/b/c/old.txt", NULL},
           {WCH_MODIFIED, "top.txt", NULL});
    long c = rec_find(&f.rec, WCH_CREATED, "a/b/c/new.txt", NULL);
    CHECK(c >= 0 && !f.rec.v[c].is_dir && f.rec.v[c].tree == f.tree);
    /* One write, closed: one report of the change, not one per event. */
    size_t mods = 0;
    for (size_t i = 0; i < f.rec.n; i++)
        mods += f.rec.v[i].kind == WCH_MODIFIED && streq(f.rec.v[i].path, "a/b/c/old.txt");
    CHECK_INT(mods, 1);
    fixture_stop(&f);
}

TEST(a_nested_folder_created_after_start_is_watched_with_what_was_made_in_it)
{
    Fixture f;
    REQUIRE(fixture_start(&f, NULL));
    CHECK_INT(watcher_watch_count(f.w), 1);
    /* Made faster than a watch can be added: the scan of each new folder
     * finds what its events could not say. */
    sh(f.dir, "mkdir -p x/y/z && touch x/y/z/f && echo hi > x/g");
    EXPECT(&f.loop, &f.rec, {WCH_CREATED, "x", NULL}, {WCH_CREATED, "x/y", NULL},
           {WCH_CREATED, "x/y/z", NULL}, {WCH_CREATED, "x/y/z/f", NULL}, {-1, "x/g", NULL});
    long x = rec_find(&f.rec, WCH_CREATED, "x/y/z", NULL);
    CHECK(x >= 0 && f.rec.v[x].is_dir);
    CHECK_INT(watcher_watch_count(f.w), 4);
    rec_clear(&f.rec);
    sh(f.dir, "echo later > x/y/z/later");
    EXPECT(&f.loop, &f.rec, {WCH_CREATED, "x/y/z/later", NULL},
           {WCH_MODIFIED, "x/y/z/later", NULL});
    fixture_stop(&f);
}

TEST(renames_are_paired_and_a_renamed_folder_keeps_its_children_paths)
{
    Fixture f;
    REQUIRE(fixture_start(&f, "mkdir -p d1/s/t && echo a > f1 && echo b > d1/s/t/file"));
    sh(f.dir, "mv f1 f2");
    EXPECT(&f.loop, &f.rec, {WCH_RENAMED, "f2", "f1"});
    rec_clear(&f.rec);

    sh(f.dir, "mv d1 d2");
    EXPECT(&f.loop, &f.rec, {WCH_RENAMED, "d2", "d1"});
    long r = rec_find(&f.rec, WCH_RENAMED, "d2", "d1");
    CHECK(r >= 0 && f.rec.v[r].is_dir);
    CHECK_INT(watcher_watch_count(f.w), 4);
    rec_clear(&f.rec);
    /* The watches below the renamed folder report under its new name. */
    sh(f.dir, "echo c >> d2/s/t/file && touch d2/s/new");
    EXPECT(&f.loop, &f.rec, {WCH_MODIFIED, "d2/s/t/file", NULL}, {WCH_CREATED, "d2/s/new", NULL});
    CHECK(rec_find(&f.rec, -1, "d1/s/t/file", NULL) < 0);
    rec_clear(&f.rec);

    /* A folder moved under another one. */
    sh(f.dir, "mkdir m");
    EXPECT(&f.loop, &f.rec, {WCH_CREATED, "m", NULL});
    sh(f.dir, "mv d2/s m/s2 && touch m/s2/t/z");
    EXPECT(&f.loop, &f.rec, {WCH_RENAMED, "m/s2", "d2/s"}, {WCH_CREATED, "m/s2/t/z", NULL});
    rec_clear(&f.rec);

    /* Moved into a folder made just before, faster than its watch: the
     * rename's second half is never sent; the new folder's scan finds it
     * (created), the first half is a delete, and it stays watched. */
    sh(f.dir, "mkdir n && mv m/s2 n/s3");
    EXPECT(&f.loop, &f.rec, {WCH_CREATED, "n/s3/t/file", NULL});
    run_for(&f.loop, &f.rec, 50);
    CHECK_INT(watcher_watch_count(f.w), 6); /* root d2 m n n/s3 n/s3/t */
    sh(f.dir, "touch n/s3/t/later");
    EXPECT(&f.loop, &f.rec, {WCH_CREATED, "n/s3/t/later", NULL});
    fixture_stop(&f);
}

TEST(moves_out_of_and_into_the_tree_are_deletes_and_creates)
{
    _cleanup_free_ char *outside = tmpdir_new();
    REQUIRE(outside);
    Fixture f;
    REQUIRE(fixture_start(&f, "mkdir -p gone/sub && echo a > leaving"));
    CHECK_INT(watcher_watch_count(f.w), 3);
    sh(f.dir, "mv leaving '%s'/ && mv gone '%s'/", outside, outside);
    EXPECT(&f.loop, &f.rec, {WCH_DELETED, "leaving", NULL}, {WCH_DELETED, "gone", NULL});
    CHECK_INT(watcher_watch_count(f.w), 1); /* the folder moved out is not watched any more */
    rec_clear(&f.rec);
    /* Changes in the folder now outside are not reported under old paths. */
    sh(outside, "touch gone/sub/x");
    run_for(&f.loop, &f.rec, 100);
    CHECK_INT(f.rec.n, 0);

    /* Moved back in: watched again, its content reported as created. */
    sh(f.dir, "mv '%s'/gone back && mv '%s'/leaving arrived", outside, outside);
    EXPECT(&f.loop, &f.rec, {WCH_CREATED, "back", NULL}, {WCH_CREATED, "back/sub", NULL},
           {WCH_CREATED, "back/sub/x", NULL}, {WCH_CREATED, "arrived", NULL});
    CHECK_INT(watcher_watch_count(f.w), 3);
    fixture_stop(&f);
    tmpdir_free(TAKE_PTR(outside));
}

TEST(deletes_are_reported_and_drop_their_watches)
{
    Fixture f;
    REQUIRE(fixture_start(&f, "mkdir -p a/b && echo x > a/b/f && echo y > g"));
    CHECK_INT(watcher_watch_count(f.w), 3);
    sh(f.dir, "rm g && rm -r a");
    EXPECT(&f.loop, &f.rec, {WCH_DELETED, "g", NULL}, {WCH_DELETED, "a/b/f", NULL},
           {WCH_DELETED, "a/b", NULL}, {WCH_DELETED, "a", NULL});
    long d = rec_find(&f.rec, WCH_DELETED, "a", NULL);
    CHECK(d >= 0 && f.rec.v[d].is_dir);
    run_for(&f.loop, &f.rec, 50);
    CHECK_INT(watcher_watch_count(f.w), 1);
    /* A folder of the same name made again is watched again. */
    rec_clear(&f.rec);
    sh(f.dir, "mkdir a && touch a/again");
    EXPECT(&f.loop, &f.rec, {WCH_CREATED, "a", NULL}, {WCH_CREATED, "a/again", NULL});
    CHECK_INT(watcher_watch_count(f.w), 2);
    fixture_stop(&f);
}

TEST(ignored_folders_hold_no_watch_and_their_changes_are_not_reported)
{
    Fixture f;
    REQUIRE(fixture_start(&f, "mkdir -p src node_modules/pkg/lib .git/objects skip/deep && "
                              "printf 'skip/\\n*.log\\n' > .gitignore"));
    /* the .gitignore is read after start here: load it and add a tree again */
    ignore_load_gitignores(f.ig);
    watcher_free(f.w);
    f.w = f.rec.w = watcher_new(&f.loop, on_change, &f.rec);
    char *err = NULL;
    f.tree = watcher_add_tree(f.w, f.dir, f.ig, &err);
    REQUIRE(f.tree >= 0);
    CHECK_INT(watcher_watch_count(f.w), 2); /* root and src */
    CHECK_INT(watch_count_dirs(f.dir, f.ig), 2);

    sh(f.dir, "touch node_modules/pkg/lib/x.js .git/objects/o skip/deep/y src/app.log "
              "src/.main.c.swp src/4913 && mkdir -p src/__pycache__ && touch src/__pycache__/m.pyc "
              "&& mkdir node_modules/new");
    run_for(&f.loop, &f.rec, 150);
    if (f.rec.n) {
        printf("#   reported although ignored:\n");
        rec_dump(&f.rec);
    }
    CHECK_INT(f.rec.n, 0);
    CHECK_INT(watcher_watch_count(f.w), 2); /* src/__pycache__ got no watch */

    sh(f.dir, "touch src/main.c");
    EXPECT(&f.loop, &f.rec, {WCH_CREATED, "src/main.c", NULL});

    /* A folder renamed to an ignored name loses its watches; back, regains them. */
    sh(f.dir, "mkdir -p src/lib/x");
    EXPECT(&f.loop, &f.rec, {WCH_CREATED, "src/lib/x", NULL});
    CHECK_INT(watcher_watch_count(f.w), 4);
    rec_clear(&f.rec);
    sh(f.dir, "mv src/lib src/build");
    EXPECT(&f.loop, &f.rec, {WCH_DELETED, "src/lib", NULL});
    CHECK_INT(watcher_watch_count(f.w), 2);
    sh(f.dir, "touch src/build/x/ignored");
    run_for(&f.loop, &f.rec, 50);
    CHECK(rec_find(&f.rec, -1, "src/build/x/ignored", NULL) < 0);
    sh(f.dir, "mv src/build src/lib2");
    EXPECT(&f.loop, &f.rec, {WCH_CREATED, "src/lib2", NULL},
           {WCH_CREATED, "src/lib2/x/ignored", NULL});
    CHECK_INT(watcher_watch_count(f.w), 4);
    fixture_stop(&f);
}

#define BURST 5000

typedef struct BurstSeen {
    bool *got;
    size_t distinct;
    bool rescan;
} BurstSeen;

static bool burst_done(Rec *r, const void *arg)
{
    BurstSeen *b = (BurstSeen *)arg;
    for (size_t i = 0; i < r->n; i++) {
        if (r->v[i].kind == WCH_RESCAN)
            b->rescan = true;
        unsigned k;
        if (sscanf(r->v[i].path, "burst/f%u", &k) == 1 && k < BURST && !b->got[k]) {
            b->got[k] = true;
            b->distinct++;
        }
    }
    rec_clear(r);
    return b->rescan || b->distinct == BURST;
}

TEST(a_burst_of_5000_writes_is_all_reported_or_rescanned)
{
    Fixture f;
    REQUIRE(fixture_start(&f, "mkdir burst"));
    /* Written while the loop is not running: everything waits in the queue. */
    for (int i = 0; i < BURST; i++) {
        char p[4096];
        snprintf(p, sizeof p, "%s/burst/f%d", f.dir, i);
        int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        REQUIRE(fd >= 0);
        CHECK(write(fd, "x\n", 2) == 2);
        close(fd);
    }
    BurstSeen b = {xcalloc(BURST, 1), 0, false};
    bool ok = run_until(&f.loop, &f.rec, burst_done, &b, 10000);
    printf("# %zu of %d files reported%s\n", b.distinct, BURST, b.rescan ? ", and a rescan" : "");
    CHECK(ok);
    free(b.got);
    fixture_stop(&f);
}

static bool has_rescan(Rec *r, const void *arg)
{
    (void)arg;
    for (size_t i = 0; i < r->n; i++)
        if (r->v[i].kind == WCH_RESCAN)
            return true;
    return false;
}

static int write_sysctl(const char *path, const char *value)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = write(fd, value, strlen(value));
    int r = n < 0 ? -errno : 0;
    close(fd);
    return r;
}

TEST(a_queue_overflow_rescans_the_tree_and_later_changes_are_seen)
{
    const char *knob = "/proc/sys/fs/inotify/max_queued_events";
    _cleanup_free_ char *saved = NULL;
    size_t len = 0;
    REQUIRE(read_file(knob, 64, &saved, &len) == 0);
    /* The limit is taken when an instance is made: lowered around the first
     * watcher_add_tree (which makes it) and put back at once. */
    if (write_sysctl(knob, "16") < 0) {
        printf("# skipped: cannot write %s (needs root)\n", knob);
        return;
    }
    Fixture f;
    bool started = fixture_start(&f, "mkdir -p a/b");
    CHECK(write_sysctl(knob, saved) == 0);
    REQUIRE(started);

    /* Folders made during the overflow are found by the rescan. */
    sh(f.dir, "for i in $(seq 1 100); do echo $i > a/f$i; done; mkdir -p a/b/new/deeper; "
              "rm -r a/b/new/deeper");
    CHECK(run_until(&f.loop, &f.rec, has_rescan, NULL, 3000));
    long r = rec_find(&f.rec, WCH_RESCAN, "", NULL);
    CHECK(r >= 0 && f.rec.v[r].tree == f.tree && f.rec.v[r].is_dir);
    CHECK_INT(watcher_watch_count(f.w), 4); /* root, a, a/b, a/b/new */
    rec_clear(&f.rec);
    sh(f.dir, "echo after > a/b/new/after");
    EXPECT(&f.loop, &f.rec, {WCH_CREATED, "a/b/new/after", NULL});
    fixture_stop(&f);
}

TEST(the_watcher_may_be_freed_from_its_callback)
{
    Fixture f;
    REQUIRE(fixture_start(&f, NULL));
    f.rec.free_in_cb = true;
    sh(f.dir, "touch a b c && mkdir d && touch d/e");
    run_for(&f.loop, &f.rec, 100);
    CHECK_INT(f.rec.n, 1);
    CHECK(f.rec.w == NULL);
    fixture_stop(&f);
}

TEST(overlapping_trees_report_a_change_once_for_each)
{
    Fixture f;
    REQUIRE(fixture_start(&f, "mkdir -p inner/x"));
    _cleanup_free_ char *inner = path_join(f.dir, "inner");
    char *err = NULL;
    int t2 = watcher_add_tree(f.w, inner, NULL, &err);
    REQUIRE(t2 >= 0);
    CHECK_INT(watcher_watch_count(f.w), 3); /* shared watches */
    sh(f.dir, "touch inner/x/f");
    run_for(&f.loop, &f.rec, 100);
    int for_tree[2] = {0, 0};
    for (size_t i = 0; i < f.rec.n; i++)
        if (f.rec.v[i].kind == WCH_CREATED && str_endswith(f.rec.v[i].path, "inner/x/f") &&
            f.rec.v[i].tree >= 0 && f.rec.v[i].tree < 2)
            for_tree[f.rec.v[i].tree]++;
    CHECK_INT(for_tree[0], 1);
    CHECK_INT(for_tree[1], 1);
    fixture_stop(&f);
}

TEST(errors_name_the_path_and_the_limit_advice_names_the_sysctl)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    Rec rec = {0};
    Watcher *w = watcher_new(&loop, on_change, &rec);
    char *err = NULL;
    CHECK_INT(watcher_add_tree(w, "/nonexistent/tend-watch", NULL, &err), -ENOENT);
    CHECK(err && strstr(err, "/nonexistent/tend-watch"));
    free(err);
    CHECK_INT(watcher_add_tree(w, "relative/path", NULL, &err), -EINVAL);
    free(err);
    CHECK_INT(watcher_watch_count(w), 0);
    watcher_free(w);
    uv_run(&loop, UV_RUN_NOWAIT);
    CHECK(uv_loop_close(&loop) == 0);

    long max = watch_max_user_watches();
    CHECK(max > 0);
    CHECK(watch_limit_advice(1) == NULL);
    char *advice = watch_limit_advice((size_t)max + 1);
    CHECK(advice && strstr(advice, "sysctl fs.inotify.max_user_watches="));
    if (advice)
        printf("# %s\n", advice);
    free(advice);
}

/* ---- trees walked off the loop ----------------------------------------- */

typedef struct Ready {
    int calls, tree, status;
    size_t folders;
    char *err;
} Ready;

static void on_ready(void *ud, int tree, int status, size_t folders, const char *err)
{
    Ready *r = ud;
    r->calls++;
    r->tree = tree;
    r->status = status;
    r->folders = folders;
    free(r->err);
    r->err = err ? xstrdup(err) : NULL;
}

static bool ready_came(Rec *r, const void *arg)
{
    (void)r;
    return ((const Ready *)arg)->calls > 0;
}

TEST(a_tree_watched_off_the_loop_reads_its_gitignores_in_the_same_walk)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    char *dir = tmpdir_new();
    REQUIRE(dir);
    /* src/.gitignore drops gen/ and takes keep/ back; sub/deep/.gitignore
     * drops x/; the caller's own rule (added after the parents' files)
     * drops keep/ again and must win over the .gitignore met later. */
    REQUIRE(sh(dir, "mkdir -p src/gen src/keep sub/deep/x && printf 'gen/\\n!keep/\\n' > src/.gitignore "
                    "&& printf 'x/\\n*.tmp\\n' > sub/deep/.gitignore") == 0);
    Rec rec = {.root = xstrdup(dir), .root_len = strlen(dir)};
    Watcher *w = watcher_new(&loop, on_change, &rec);
    Ignore *ig = ignore_new(dir, true);
    ignore_load_parent_gitignores(ig);
    ignore_add_pattern(ig, dir, "keep/");
    Ready rd = {0};
    int tree = watcher_add_tree_async(w, dir, ig, on_ready, &rd);
    CHECK_INT(tree, 0);
    CHECK_INT(rd.calls, 0); /* not yet: the walk runs on its thread */
    CHECK(run_until(&loop, &rec, ready_came, &rd, 5000));
    CHECK_INT(rd.status, 0);
    CHECK_INT(rd.tree, 0);
    CHECK_INT(rd.folders, 4); /* root, src, sub, sub/deep */
    CHECK_INT(watcher_watch_count(w), 4);
    _cleanup_free_ char *gen = path_join(dir, "src/gen/f.c");
    _cleanup_free_ char *tmp = path_join(dir, "sub/deep/a.tmp");
    _cleanup_free_ char *keep = path_join(dir, "src/keep/k.c");
    CHECK(ignore_match(ig, gen, false));
    CHECK(ignore_match(ig, tmp, false)); /* a leaf's .gitignore counts too */
    CHECK(ignore_match(ig, keep, false));

    sh(dir, "touch sub/deep/a.tmp sub/deep/b.c");
    EXPECT(&loop, &rec, {WCH_CREATED, "sub/deep/b.c", NULL});
    CHECK(rec_find(&rec, -1, "sub/deep/a.tmp", NULL) < 0);

    /* A second tree while nothing runs: walked too, told once. */
    _cleanup_free_ char *sub = path_join(dir, "sub");
    Ignore *ig2 = ignore_new(sub, true);
    ignore_load_parent_gitignores(ig2);
    Ready rd2 = {0};
    CHECK_INT(watcher_add_tree_async(w, sub, ig2, on_ready, &rd2), 1);
    CHECK(run_until(&loop, &rec, ready_came, &rd2, 5000));
    CHECK_INT(rd2.status, 0);
    CHECK_INT(rd.calls, 1);

    /* One that cannot be watched is told, with the path. */
    Ready rd3 = {0};
    watcher_add_tree_async(w, "/nonexistent/tend-watch", NULL, on_ready, &rd3);
    CHECK(run_until(&loop, &rec, ready_came, &rd3, 5000));
    CHECK_INT(rd3.status, -ENOENT);
    CHECK(rd3.err && strstr(rd3.err, "/nonexistent/tend-watch"));

    watcher_free(w);
    uv_run(&loop, UV_RUN_NOWAIT);
    CHECK(uv_loop_close(&loop) == 0);
    ignore_free(ig);
    ignore_free(ig2);
    free(rd.err);
    free(rd2.err);
    free(rd3.err);
    rec_free(&rec);
    tmpdir_free(dir);
}

TEST(a_watcher_freed_while_its_thread_walks_stops_it)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    char *dir = tmpdir_new();
    REQUIRE(dir);
    REQUIRE(sh(dir, "for i in $(seq 200); do mkdir -p d$i/a/b; done") == 0);
    Rec rec = {0};
    Watcher *w = watcher_new(&loop, on_change, &rec);
    Ignore *ig = ignore_new(dir, true);
    ignore_load_parent_gitignores(ig);
    Ready rd = {0};
    watcher_add_tree_async(w, dir, ig, on_ready, &rd);
    watcher_free(w); /* at once: the walk is stopped and waited for */
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK(uv_loop_close(&loop) == 0);
    CHECK_INT(rd.calls, 0);
    ignore_free(ig);
    rec_free(&rec);
    tmpdir_free(dir);
}
