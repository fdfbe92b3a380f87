/* reload: reloads services when their files change (tend up --watch,
 * tend watch, or x-tend watch.enabled).
 *
 * What is watched, per service: its develop.watch and x-tend watch rules;
 * and by default (x-tend watch.bind_mounts, true unless turned off) every
 * project folder a container bind-mounts, or for a host service with
 * x-tend watch.enabled its working folder. Each is one tree of the
 * project's single inotify watcher (watch.h), with its own ignore rules
 * (ignore.h): built-in defaults, the .gitignore files, a build context's
 * .dockerignore for rules inside it, the rule's ignore/include and x-tend
 * watch.ignore.
 *
 * Changes are gathered per service until a quiet period (x-tend
 * watch.debounce, 100 ms) passes with no new one, then acted on once:
 * sync rules copy the changed files into the container first, then the
 * strongest action of the rules that saw a change runs (rebuild, restart,
 * exec, signal). A burst that ends while the service is still coming back
 * from the previous reload is kept and acted on once it is ready: queued,
 * not stacked. Each reload ends in one line saying what changed and how
 * long it took from the first change until the service was ready again.
 *
 * It sees the manager only through run/manager.h: an observer for state
 * changes, views of the services, and manager_act() to restart one. */
#include "watch/reload.h"

#include "engine/docker.h"
#include "watch/ignore.h"
#include "engine/imgbuild.h"
#include "engine/sync.h"
#include "watch/poll.h"
#include "watch/watch.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* A burst that never goes quiet (a file written without pause) is acted on
 * after this long anyway, so that a reload is not put off for ever. */
#define WATCH_MAX_WAIT (10LL * 1000000000)
/* Paths remembered per tree and burst; past it the burst counts as "the
 * whole tree changed" (as after an overflow). */
#define WATCH_MAX_PATHS 100000

/* ---- a set of paths, in the order they were added ---- */

typedef struct PathSet {
    StrVec v;      /* owns the strings, insertion order */
    char **slots;  /* open addressing over v's strings */
    size_t cap;
} PathSet;

static uint64_t hash_str(const char *s)
{
    uint64_t h = 14695981039346656037ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static char **pathset_slot(const PathSet *ps, const char *s)
{
    size_t i = (size_t)hash_str(s) & (ps->cap - 1);
    while (ps->slots[i] && !streq(ps->slots[i], s))
        i = (i + 1) & (ps->cap - 1);
    return &ps->slots[i];
}

/* Adds s; false when it was there already. */
static bool pathset_add(PathSet *ps, const char *s)
{
    if ((ps->v.n + 1) * 2 > ps->cap) {
        size_t cap = ps->cap ? ps->cap * 2 : 64;
        free(ps->slots);
        ps->slots = xcalloc(cap, sizeof(char *));
        ps->cap = cap;
        for (size_t i = 0; i < ps->v.n; i++)
            *pathset_slot(ps, ps->v.v[i]) = ps->v.v[i];
    }
    char **slot = pathset_slot(ps, s);
    if (*slot)
        return false;
    strvec_push(&ps->v, s);
    *slot = ps->v.v[ps->v.n - 1];
    return true;
}

static void pathset_clear(PathSet *ps)
{
    strvec_free(&ps->v);
    free(ps->slots);
    memset(ps, 0, sizeof(*ps));
}

/* ---- state ---- */

typedef struct WSvc WSvc;
typedef struct Reloader Reloader;

typedef struct WTree {
    WSvc *ws;
    int id;            /* the watcher's tree id; -1 when not watched */
    Poller *poller;    /* looked at every second instead (the inotify limit); id is POLL_ID + k */
    bool full;         /* its walk reached the inotify limit: polled */
    int rule;          /* index in Service.watch; -1: the default tree */
    WatchAction action;
    int signal;
    char *root;        /* absolute folder */
    char *show;        /* root as shown: relative to the project */
    Ignore *ig;
    /* the burst being gathered (relative to root) */
    PathSet changed, deleted;
    bool hit, rescan;
    /* the burst being acted on */
    StrVec cur_changed, cur_deleted;
    bool cur_hit, cur_rescan;
} WTree;

struct WSvc {
    Reloader *w;
    size_t i;          /* the service's index in the manager */
    const Service *def;
    int64_t reload_ns; /* monotonic: when the reload in flight was asked for; 0: none */
    char *reload_what; /* what changed, for the reload line */
    bool reload_queued;/* another burst arrived while this reload was starting */
    WTree **trees;
    size_t n_trees;
    uv_timer_t debounce;
    int64_t debounce_ns;
    int64_t first_ns;  /* the first change of the burst being gathered; 0: none */
    PathSet seen;      /* absolute paths of that burst, for the count */
    char *first_show;  /* the first of them, as shown */
    char *first_from;  /* a rename's old path, as shown */
    WatchChangeKind first_kind;
    bool overflowed;
    /* the reload in progress */
    const char *verb;  /* "reloaded", "rebuilt and reloaded", ... */
    size_t step;       /* which tree the sync/exec steps are at */
    int phase;         /* 0 sync, 1 exec, 2 final */
    SyncJob *job;
    ImageBuild *build;
    bool busy;         /* sync/exec/build steps running */
    bool exec_failed;
};

struct Reloader {
    Manager *m;
    const Project *p;
    bool watch;       /* up --watch: every named service with something to watch */
    StrVec named;     /* the services named on the command line */
    Watcher *watcher;
    WSvc *svcs;
    size_t n_svcs;
    WTree **trees; /* all of them, for the lookup by id */
    size_t n_trees;
    char *state_base; /* $XDG_STATE_HOME/tend: never a reason to reload */
    size_t walking;   /* trees whose first walk has not ended */
    size_t needed;    /* folders in the trees walked so far */
    bool full;        /* a walk reached the inotify watch limit: its tree is polled */
    int closing;      /* uv handles still closing */
    bool stopped;
};

static const char *rel_to(const char *root, const char *path)
{
    size_t n = strlen(root);
    if (strncmp(path, root, n) != 0)
        return NULL;
    if (path[n] == '\0')
        return "";
    if (path[n] == '/')
        return path + n + 1;
    if (n > 0 && root[n - 1] == '/')
        return path + n;
    return NULL;
}

static char *show_path(const Reloader *w, const char *abs)
{
    const char *r = rel_to(w->p->workdir, abs);
    if (!r)
        return xstrdup(abs);
    return *r ? xstrdup(r) : xstrdup(".");
}

/* ---- acting on a burst ---- */

static void fire(WSvc *ws);
static void run_steps(WSvc *ws);

static bool in_flight(const WSvc *ws)
{
    return ws->reload_ns != 0 || ws->busy;
}

static void view(const WSvc *ws, ManagerView *ret)
{
    manager_view(ws->w->m, ws->i, ret);
}

/* Ends the reload in progress with its one line. */
static void reload_done(WSvc *ws, const char *how)
{
    Manager *m = ws->w->m;
    if (ws->reload_ns) {
        char ms[32];
        fmt_elapsed(ms, (int64_t)uv_hrtime() - ws->reload_ns);
        const char *what = ws->reload_what ? ws->reload_what : "";
        if (how)
            manager_say(m, ws->i, "%s (%s) but %s", ws->verb ? ws->verb : "reloaded", what, how);
        else
            manager_say(m, ws->i, "%s (%s) in %s", ws->verb ? ws->verb : "reloaded", what, ms);
    }
    ws->reload_ns = 0;
    free(ws->reload_what);
    ws->reload_what = NULL;
    ws->verb = NULL;
    if (ws->reload_queued && !uv_is_active((uv_handle_t *)&ws->debounce) && !manager_stopping(m)) {
        ws->reload_queued = false;
        fire(ws);
    }
}

static void restart_now(WSvc *ws)
{
    Manager *m = ws->w->m;
    manager_act(m, ws->i, MANAGER_RESTART, "files changed");
    manager_flush(m);
}

static bool is_sync(WatchAction a)
{
    return a == WATCH_SYNC || a == WATCH_SYNC_RESTART || a == WATCH_SYNC_EXEC;
}

static bool is_container(const WSvc *ws)
{
    return ws->def->runtime == RUNTIME_DOCKER;
}

/* Every file under root that counts, relative (after an overflow, a sync
 * rule copies its whole tree). */
static void walk_tree(const char *root, const char *rel, const Ignore *ig, StrVec *out)
{
    if (out->n >= WATCH_MAX_PATHS)
        return;
    _cleanup_free_ char *dir = *rel ? path_join(root, rel) : xstrdup(root);
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) && out->n < WATCH_MAX_PATHS) {
        if (streq(e->d_name, ".") || streq(e->d_name, ".."))
            continue;
        _cleanup_free_ char *r = *rel ? xasprintf("%s/%s", rel, e->d_name) : xstrdup(e->d_name);
        _cleanup_free_ char *abs = path_join(root, r);
        struct stat st;
        if (lstat(abs, &st) < 0)
            continue;
        bool is_dir = S_ISDIR(st.st_mode);
        if (ig && ignore_match(ig, abs, is_dir))
            continue;
        if (is_dir)
            walk_tree(root, r, ig, out);
        else
            strvec_push(out, r);
    }
    closedir(d);
}

static void on_sync_done(void *ud, bool ok, const char *err)
{
    WSvc *ws = ud;
    ws->job = NULL;
    if (!ok)
        manager_say(ws->w->m, ws->i, "sync failed: %s", err ? err : "unknown error");
    ws->step++;
    run_steps(ws);
}

static void on_exec_line(void *ud, const char *line)
{
    WSvc *ws = ud;
    manager_say(ws->w->m, ws->i, "exec: %s", line);
}

static void on_exec_done(void *ud, int code, const char *err)
{
    WSvc *ws = ud;
    ws->job = NULL;
    if (err || code != 0) {
        ws->exec_failed = true;
        if (err)
            manager_say(ws->w->m, ws->i, "exec failed: %s", err);
        else
            manager_say(ws->w->m, ws->i, "exec failed: exit status %d", code);
    }
    ws->step++;
    run_steps(ws);
}

static void on_build_line(void *ud, const char *line)
{
    WSvc *ws = ud;
    manager_say(ws->w->m, ws->i, "build: %s", line);
}

static void on_built(void *ud, bool ok, const char *err)
{
    WSvc *ws = ud;
    ws->build = NULL;
    ws->busy = false;
    if (manager_stopping(ws->w->m))
        return;
    if (!ok) {
        manager_say(ws->w->m, ws->i, "rebuild failed: %s", err ? err : "unknown error");
        reload_done(ws, "the build failed; the old image keeps running");
        return;
    }
    restart_now(ws); /* docker_start recreates the container of a changed image */
}

static void start_rebuild(WSvc *ws)
{
    Manager *m = ws->w->m;
    const Project *p = ws->w->p;
    const Service *s = ws->def;
    Engine *e = manager_engine(m);
    if (!s->build || !e) {
        manager_say(m, ws->i, "rebuild: the service has no build:; restarting instead");
        ws->verb = "reloaded";
        restart_now(ws);
        return;
    }
    _cleanup_free_ char *tag = s->image ? xstrdup(s->image) : xasprintf("%s-%s", p->name, s->name);
    Env labels = {0};
    env_set(&labels, LABEL_PROJECT, p->name);
    env_set(&labels, LABEL_SERVICE, s->name);
    char *err = NULL;
    manager_say(m, ws->i, "rebuilding %s", tag);
    ws->busy = true;
    ws->build = image_build(e, s->build->context, s->build->dockerfile, s->build->target, &s->build->args, tag,
                            &labels, on_build_line, on_built, ws, &err);
    env_free(&labels);
    if (!ws->build) {
        ws->busy = false;
        manager_say(m, ws->i, "rebuild failed: %s", err ? err : "unknown error");
        free(err);
        reload_done(ws, "the build failed; the old image keeps running");
    }
}

/* The steps of one reload: the sync rules' copies (phase 0), the sync+exec
 * commands (phase 1), then the strongest action (phase 2). */
static void run_steps(WSvc *ws)
{
    Manager *m = ws->w->m;
    const Service *s = ws->def;
    if (manager_stopping(m)) {
        ws->busy = false;
        return;
    }
    ws->busy = true;
    Engine *e = manager_engine(m);
    ManagerView v;
    view(ws, &v);
    while (ws->phase == 0 && ws->step < ws->n_trees) {
        WTree *t = ws->trees[ws->step];
        if (!t->cur_hit || !is_sync(t->action) || !is_container(ws) || !e || !v.alive) {
            ws->step++;
            continue;
        }
        const WatchRule *r = &s->watch[t->rule];
        StrVec files = {0}, gone = {0};
        if (t->cur_rescan)
            walk_tree(t->root, "", t->ig, &files);
        else
            for (size_t i = 0; i < t->cur_changed.n; i++)
                strvec_push(&files, t->cur_changed.v[i]);
        /* A deleted path that exists again was recreated: it is copied, not removed. */
        for (size_t i = 0; i < t->cur_deleted.n; i++) {
            _cleanup_free_ char *abs = path_join(t->root, t->cur_deleted.v[i]);
            struct stat st;
            if (lstat(abs, &st) < 0 && errno == ENOENT)
                strvec_push(&gone, t->cur_deleted.v[i]);
        }
        _cleanup_free_ char *name = docker_container_name(ws->w->p, s);
        char *err = NULL;
        ws->job = sync_files(e, name, t->root, r->target ? r->target : "/", &files, &gone, on_sync_done, ws, &err);
        strvec_free(&files);
        strvec_free(&gone);
        if (ws->job)
            return;
        manager_say(m, ws->i, "sync failed: %s", err ? err : "unknown error");
        free(err);
        ws->step++;
    }
    if (ws->phase == 0) {
        ws->phase = 1;
        ws->step = 0;
    }
    /* Strongest action among the rules that saw a change. */
    bool want_rebuild = false, want_restart = false, want_exec = false, want_signal = false;
    int sig = SIGHUP;
    for (size_t i = 0; i < ws->n_trees; i++) {
        WTree *t = ws->trees[i];
        if (!t->cur_hit)
            continue;
        switch (t->action) {
        case WATCH_REBUILD:
            want_rebuild = true;
            break;
        case WATCH_RESTART:
        case WATCH_SYNC_RESTART:
            want_restart = true;
            break;
        case WATCH_SYNC_EXEC:
            want_exec = true;
            break;
        case WATCH_SIGNAL:
            want_signal = true;
            sig = t->signal;
            break;
        case WATCH_SYNC:
        case _WATCH_MAX:
            break;
        }
    }
    /* A host service runs its files in place: its sync rules have nothing
     * to copy, and sync+restart is a restart. */
    if (want_exec && !want_rebuild && !want_restart && ws->phase == 1) {
        while (ws->step < ws->n_trees) {
            WTree *t = ws->trees[ws->step];
            const WatchRule *r = t->rule >= 0 ? &s->watch[t->rule] : NULL;
            if (!t->cur_hit || t->action != WATCH_SYNC_EXEC || !r || !r->exec.n || !is_container(ws) || !e ||
                !v.alive) {
                ws->step++;
                continue;
            }
            _cleanup_free_ char *name = docker_container_name(ws->w->p, s);
            ws->job = sync_exec(e, name, &r->exec, NULL, on_exec_line, on_exec_done, ws);
            return;
        }
    }
    ws->phase = 2;
    ws->busy = false;
    view(ws, &v); /* the sync and exec steps took their time */
    bool alive = v.alive && service_state_is_live(v.state);
    if (want_rebuild && is_container(ws)) {
        ws->verb = "rebuilt and reloaded";
        start_rebuild(ws);
    } else if (want_restart || want_rebuild || (want_signal && !alive) ||
               (!alive && v.state != SS_WAITING && v.state != SS_STARTING)) {
        /* A service that is down (crashed on the previous version, say) is
         * started again whatever the action. */
        if (!ws->verb)
            ws->verb = "reloaded";
        restart_now(ws);
    } else if (want_signal) {
        manager_signal(m, ws->i, sig);
        char ms[32];
        fmt_elapsed(ms, (int64_t)uv_hrtime() - ws->reload_ns);
        const char *abbrev = sigabbrev_np(sig);
        manager_say(m, ws->i, "sent SIG%s (%s) %s after the change", abbrev ? abbrev : "?",
                    ws->reload_what ? ws->reload_what : "", ms);
        ws->reload_ns = 0; /* nothing to wait for: reload_done only clears */
        reload_done(ws, NULL);
    } else if (want_exec) {
        ws->verb = ws->exec_failed ? "synced; the command failed" : "synced and ran the command";
        reload_done(ws, NULL);
    } else {
        ws->verb = "synced";
        reload_done(ws, NULL);
    }
}

/* The quiet period passed (or a queued burst's turn came): act on what was
 * gathered, unless a reload is still coming back, in which case it waits. */
static void fire(WSvc *ws)
{
    Manager *m = ws->w->m;
    if (manager_stopping(m) || !ws->first_ns)
        return;
    ManagerView v;
    view(ws, &v);
    if (in_flight(ws) || v.state == SS_WAITING || v.state == SS_STARTING || v.state == SS_STOPPING) {
        ws->reload_queued = true; /* acted on once it is ready (on_state) */
        return;
    }
    /* Move the burst into the reload. */
    free(ws->reload_what);
    if (ws->overflowed)
        ws->reload_what = xstrdup("files changed; file events overflowed");
    else if (ws->seen.v.n == 1 && ws->first_kind == WCH_RENAMED && ws->first_from)
        ws->reload_what = xasprintf("%s renamed to %s", ws->first_from, ws->first_show);
    else if (ws->seen.v.n == 1)
        ws->reload_what = xasprintf("%s %s", ws->first_show ? ws->first_show : "a file",
                                    ws->first_kind == WCH_DELETED   ? "deleted"
                                    : ws->first_kind == WCH_CREATED ? "created"
                                                                    : "changed");
    else
        ws->reload_what = xasprintf("%zu files changed", ws->seen.v.n);
    ws->reload_ns = ws->first_ns;
    manager_reloading(m, ws->i, ws->reload_what);
    ws->first_ns = 0;
    ws->overflowed = false;
    pathset_clear(&ws->seen);
    free(ws->first_show);
    ws->first_show = NULL;
    free(ws->first_from);
    ws->first_from = NULL;
    for (size_t i = 0; i < ws->n_trees; i++) {
        WTree *t = ws->trees[i];
        strvec_free(&t->cur_changed);
        strvec_free(&t->cur_deleted);
        t->cur_changed = t->changed.v;
        memset(&t->changed.v, 0, sizeof(StrVec));
        pathset_clear(&t->changed);
        t->cur_deleted = t->deleted.v;
        memset(&t->deleted.v, 0, sizeof(StrVec));
        pathset_clear(&t->deleted);
        t->cur_hit = t->hit;
        t->cur_rescan = t->rescan;
        t->hit = t->rescan = false;
    }
    ws->reload_queued = false;
    ws->verb = NULL;
    ws->phase = 0;
    ws->step = 0;
    ws->exec_failed = false;
    bool any_sync = false;
    for (size_t i = 0; i < ws->n_trees; i++)
        if (ws->trees[i]->cur_hit && is_sync(ws->trees[i]->action) && is_container(ws))
            any_sync = true;
    if (any_sync)
        ws->verb = "synced and reloaded";
    run_steps(ws);
}

static void on_debounce(uv_timer_t *h)
{
    WSvc *ws = h->data;
    /* No quiet period ends while the watcher walks (after an overflow):
     * the changes it holds back, and its rescan, belong to this burst. */
    if (watcher_walking(ws->w->watcher)) {
        uv_timer_start(&ws->debounce, on_debounce, (uint64_t)(ws->debounce_ns / 1000000) + 1, 0);
        return;
    }
    fire(ws);
}

/* ---- changes ---- */

static WTree *tree_by_id(Reloader *w, int id)
{
    for (size_t i = 0; i < w->n_trees; i++)
        if (w->trees[i]->id == id)
            return w->trees[i];
    return NULL;
}

/* A path of a change (absolute, inside the tree). counted: it counts as a
 * changed file for the reload line (a rename's old name does not); from:
 * a rename's old path, for that line. */
static void note(WTree *t, const char *abs, WatchChangeKind kind, bool counted, const char *from)
{
    WSvc *ws = t->ws;
    const char *rel = rel_to(t->root, abs);
    if (!rel || !*rel)
        return;
    if (!counted) {
        /* not counted */
    } else if (ws->seen.v.n < WATCH_MAX_PATHS) {
        if (pathset_add(&ws->seen, abs) && ws->seen.v.n == 1) {
            ws->first_show = show_path(ws->w, abs);
            ws->first_kind = kind;
            free(ws->first_from);
            ws->first_from = from ? show_path(ws->w, from) : NULL;
        }
    } else {
        ws->overflowed = true;
    }
    PathSet *set = kind == WCH_DELETED ? &t->deleted : &t->changed;
    if (set->v.n < WATCH_MAX_PATHS)
        pathset_add(set, rel);
    else
        t->rescan = true;
    t->hit = true;
}

static void arm(WSvc *ws)
{
    int64_t now = (int64_t)uv_hrtime();
    if (!ws->first_ns)
        ws->first_ns = now;
    int64_t wait = ws->debounce_ns;
    if (now + wait > ws->first_ns + WATCH_MAX_WAIT)
        wait = ws->first_ns + WATCH_MAX_WAIT - now;
    if (wait < 0)
        wait = 0;
    uv_timer_start(&ws->debounce, on_debounce, (uint64_t)(wait / 1000000), 0);
}

/* Whether a changed path counts: not tend's own logs, not ignored. */
static bool counts(const Reloader *w, const WTree *t, const char *p, bool is_dir)
{
    if (!p)
        return false;
    if (w->state_base && rel_to(w->state_base, p))
        return false;
    return !(t->ig && ignore_match(t->ig, p, is_dir));
}

static void on_change(void *ud, int tree, const WatchChange *c)
{
    Reloader *w = ud;
    Manager *m = w->m;
    if (manager_stopping(m) || w->stopped)
        return;
    WTree *t = tree_by_id(w, tree);
    if (!t)
        return;
    if (c->kind == WCH_RESCAN) {
        manager_say(m, MANAGER_NONE, "file events overflowed; rescanned %s's tree %s", t->ws->def->name, t->show);
        t->rescan = true;
        t->hit = true;
        t->ws->overflowed = true;
        arm(t->ws);
        return;
    }
    /* A folder's own attributes, or a new empty folder (its files are
     * reported by themselves): nothing to reload for, unless copied. */
    if (c->is_dir && (c->kind == WCH_MODIFIED || (c->kind == WCH_CREATED && !is_sync(t->action))))
        return;
    bool new_ok = counts(w, t, c->path, c->is_dir);
    bool old_ok = c->kind == WCH_RENAMED && counts(w, t, c->old_path, c->is_dir);
    bool hit = new_ok || old_ok;
    if (c->kind != WCH_RENAMED) {
        if (new_ok)
            note(t, c->path, c->kind, true, NULL);
    } else if (new_ok) {
        note(t, c->path, WCH_RENAMED, true, old_ok ? c->old_path : NULL);
        if (old_ok)
            note(t, c->old_path, WCH_DELETED, false, NULL);
    } else if (old_ok) {
        note(t, c->old_path, WCH_DELETED, true, NULL); /* moved out of what counts */
    }
    if (hit)
        arm(t->ws);
}

/* ---- setup ---- */

static bool named(const Reloader *w, const Service *s)
{
    if (w->named.n == 0)
        return true;
    return strvec_contains(&w->named, s->name);
}

static WTree *add_tree(Reloader *w, WSvc *ws, const char *root_in, int rule, WatchAction action, int sig)
{
    const Service *s = ws->def;
    _cleanup_free_ char *abs = path_absolute(w->p->workdir, root_in);
    struct stat st;
    if (stat(abs, &st) < 0) {
        manager_say(w->m, ws->i, "watch: %s: %s; not watched", abs, strerror(errno));
        return NULL;
    }
    WTree *t = xcalloc(1, sizeof(*t));
    t->ws = ws;
    t->id = -1;
    t->rule = rule;
    t->action = action;
    t->signal = sig;
    bool is_file = !S_ISDIR(st.st_mode);
    t->root = is_file ? path_dirname(abs) : xstrdup(abs);
    t->show = show_path(w, abs);
    t->ig = ignore_new(t->root, true);
    /* The tree's own .gitignore files are read by the watcher's walk. */
    ignore_load_parent_gitignores(t->ig);
    if (is_file) {
        _cleanup_free_ char *inc = xasprintf("/%s", path_basename(abs));
        ignore_add_include(t->ig, inc);
    }
    if (rule >= 0) {
        const WatchRule *r = &s->watch[rule];
        if (s->build && s->build->context && !build_context_is_remote(s->build->context) &&
            (rel_to(s->build->context, t->root) || rel_to(t->root, s->build->context)))
            ignore_load_dockerignore(t->ig, s->build->context);
        for (size_t i = 0; i < r->ignore.n; i++)
            ignore_add_pattern(t->ig, t->root, r->ignore.v[i]);
        for (size_t i = 0; i < r->include.n; i++)
            ignore_add_include(t->ig, r->include.v[i]);
    }
    for (size_t i = 0; i < s->watch_opts.ignore.n; i++)
        ignore_add_pattern(t->ig, t->root, s->watch_opts.ignore.v[i]);
    const char *st_rel = w->state_base ? rel_to(t->root, w->state_base) : NULL;
    if (st_rel && *st_rel) {
        _cleanup_free_ char *pat = xasprintf("/%s/", st_rel);
        ignore_add_pattern(t->ig, t->root, pat);
    }
    ws->trees = xrealloc(ws->trees, (ws->n_trees + 1) * sizeof(*ws->trees));
    ws->trees[ws->n_trees++] = t;
    w->trees = xrealloc(w->trees, (w->n_trees + 1) * sizeof(*w->trees));
    w->trees[w->n_trees++] = t;
    return t;
}

static void tree_free(WTree *t)
{
    if (!t)
        return;
    poller_free(t->poller); /* before the ignore rules it reads */
    free(t->root);
    free(t->show);
    ignore_free(t->ig);
    pathset_clear(&t->changed);
    pathset_clear(&t->deleted);
    strvec_free(&t->cur_changed);
    strvec_free(&t->cur_deleted);
    free(t);
}

/* Whether a default tree at root is already covered by a rule's tree. */
static bool covered(const WSvc *ws, const char *root)
{
    for (size_t i = 0; i < ws->n_trees; i++)
        if (rel_to(ws->trees[i]->root, root))
            return true;
    return false;
}

static void plan_service(Reloader *w, WSvc *ws)
{
    const Project *p = w->p;
    const Service *s = ws->def;
    for (size_t i = 0; i < s->n_watch; i++) {
        const WatchRule *r = &s->watch[i];
        if (!r->path)
            continue;
        add_tree(w, ws, r->path, (int)i, r->action, r->signal);
    }
    if (!s->watch_opts.bind_mounts)
        return;
    WatchAction da = s->watch_opts.action == WATCH_SIGNAL ? WATCH_SIGNAL : WATCH_RESTART;
    if (s->runtime == RUNTIME_DOCKER) {
        for (size_t i = 0; i < s->n_mounts; i++) {
            const Mount *mt = &s->mounts[i];
            if (mt->type != VOLUME_BIND || !mt->source)
                continue;
            _cleanup_free_ char *src = path_absolute(p->workdir, mt->source);
            if (!rel_to(p->workdir, src) || covered(ws, src))
                continue; /* only the project's own folders */
            add_tree(w, ws, src, -1, da, s->watch_opts.signal);
        }
    } else if (s->watch_opts.enabled && s->n_watch == 0) {
        /* A host service runs in place: its working folder is its "mount". */
        _cleanup_free_ char *wd = s->working_dir ? path_absolute(p->workdir, s->working_dir)
                                                 : xstrdup(p->workdir);
        add_tree(w, ws, wd, -1, da, s->watch_opts.signal);
    }
}

/* The last close frees the reloader, once the manager let go of it. */
static void reloader_maybe_free(Reloader *w)
{
    if (w->closing > 0 || !w->stopped || w->m)
        return;
    strvec_free(&w->named);
    free(w->svcs);
    free(w);
}

static void on_handle_closed(uv_handle_t *h)
{
    Reloader *w = ((WSvc *)h->data)->w;
    w->closing--;
    reloader_maybe_free(w);
}

static void watch_off(Reloader *w)
{
    watcher_free(w->watcher);
    w->watcher = NULL;
    for (size_t i = 0; i < w->n_trees; i++)
        tree_free(w->trees[i]);
    free(w->trees);
    w->trees = NULL;
    w->n_trees = 0;
    for (size_t i = 0; i < w->n_svcs; i++) {
        free(w->svcs[i].trees);
        w->svcs[i].trees = NULL;
        w->svcs[i].n_trees = 0;
    }
}

/* Trees inotify cannot take (its watch limit) are looked at every POLL_MS
 * instead; their ids start at POLL_ID, apart from the watcher's. */
#define POLL_MS 1000
#define POLL_ID (1 << 20)
#define POLL_SAY "looking for changes every second instead (slower; it costs CPU on big trees)"

static void on_tree_ready(void *ud, int tree, int status, size_t folders, const char *err);

/* The services have begun starting: plan every tree, then watch them (or
 * poll, past the inotify limit). */
static void on_start(void *data)
{
    Reloader *w = data;
    Manager *m = w->m;
    size_t n = manager_size(m);
    _cleanup_free_ char *state_dir = project_state_dir(w->p);
    w->state_base = path_dirname(state_dir);
    w->svcs = xcalloc(n ? n : 1, sizeof(WSvc));
    for (size_t i = 0; i < n; i++) {
        ManagerView v;
        manager_view(m, i, &v);
        const Service *s = v.def;
        if (!v.selected || !((w->watch && named(w, s)) || s->watch_opts.enabled))
            continue;
        WSvc *ws = &w->svcs[w->n_svcs++];
        ws->w = w;
        ws->i = i;
        ws->def = s;
        ws->debounce_ns = s->watch_opts.debounce > 0 ? s->watch_opts.debounce : 0;
        uv_timer_init(manager_loop(m), &ws->debounce);
        ws->debounce.data = ws;
        plan_service(w, ws);
    }
    if (w->n_trees == 0) {
        if (w->watch)
            manager_say(m, MANAGER_NONE,
                        "nothing to watch: no selected service has develop.watch or x-tend watch rules, "
                        "or bind-mounts a folder of the project");
        return;
    }
    /* Watched off the loop, each tree in one walk that also reads its
     * .gitignore files; on_tree_ready says how it went. */
    w->watcher = watcher_new(manager_loop(m), on_change, w);
    w->walking = w->n_trees;
    for (size_t i = 0; i < w->n_trees && w->watcher; i++)
        watcher_add_tree_async(w->watcher, w->trees[i]->root, w->trees[i]->ig, on_tree_ready, w->trees[i]);
}

/* Every tree's first walk has ended: the trees past the inotify limit are
 * polled instead, and what is watched is said. */
static void on_walks_done(Reloader *w)
{
    Manager *m = w->m;
    if (w->full) {
        char *adv = watch_limit_advice(w->needed);
        manager_say(m, MANAGER_NONE, "%s; %s",
                    adv ? adv : "inotify watch limit too low; raise fs.inotify.max_user_watches", POLL_SAY);
        free(adv);
        for (size_t i = 0; i < w->n_trees; i++) {
            WTree *t = w->trees[i];
            if (!t->full)
                continue;
            t->id = POLL_ID + (int)i;
            t->poller = poller_new(manager_loop(m), t->root, t->ig, POLL_MS, on_change, w, t->id);
        }
    }
    for (size_t i = 0; i < w->n_svcs; i++) {
        WSvc *ws = &w->svcs[i];
        StrBuf b;
        strbuf_init(&b, 0);
        for (size_t k = 0; k < ws->n_trees; k++) {
            WTree *t = ws->trees[k];
            if (t->id < 0)
                continue;
            strbuf_printf(&b, "%s%s (%s%s)", b.len ? ", " : "", t->show, watch_action_to_string(t->action),
                          t->poller ? ", looked at every second" : "");
        }
        if (b.len)
            manager_say(m, ws->i, "watching %s", b.data);
        strbuf_free(&b);
    }
    if (manager_debug(m))
        manager_say(m, MANAGER_NONE, "debug: %zu folders watched", watcher_watch_count(w->watcher));
}

/* A tree's first walk ended (on the loop). */
static void on_tree_ready(void *ud, int tree, int status, size_t folders, const char *err)
{
    WTree *t = ud;
    Reloader *w = t->ws->w;
    w->needed += folders;
    if (status == -ENOSPC)
        w->full = t->full = true; /* polled instead (on_walks_done) */
    else if (status < 0)
        manager_say(w->m, t->ws->i, "cannot watch %s: %s", t->show, err ? err : strerror(-status));
    else
        t->id = tree;
    if (--w->walking == 0)
        on_walks_done(w);
}

/* A reload ends when its service is ready again, or did not come back. */
static void on_state(void *data, size_t i, ServiceState from, ServiceState to, const char *reason)
{
    (void)from;
    Reloader *w = data;
    if (w->stopped || manager_stopping(w->m))
        return;
    WSvc *ws = NULL;
    for (size_t k = 0; k < w->n_svcs; k++)
        if (w->svcs[k].i == i)
            ws = &w->svcs[k];
    if (!ws || ws->busy)
        return;
    switch (to) {
    case SS_READY:
        if (ws->reload_ns)
            reload_done(ws, NULL);
        else if (ws->reload_queued && !uv_is_active((uv_handle_t *)&ws->debounce)) {
            ws->reload_queued = false;
            fire(ws);
        }
        break;
    case SS_FAILED:
    case SS_BACKOFF:
    case SS_EXITED: {
        if (!ws->reload_ns && !ws->reload_queued)
            break;
        _cleanup_free_ char *how = xasprintf("it %s: %s", to == SS_FAILED ? "failed" : "exited",
                                             reason ? reason : "no reason given");
        if (ws->reload_ns)
            reload_done(ws, how);
        else if (!uv_is_active((uv_handle_t *)&ws->debounce)) {
            ws->reload_queued = false;
            fire(ws);
        }
        break;
    }
    default:
        break;
    }
}

static void on_stop(void *data)
{
    Reloader *w = data;
    if (w->stopped)
        return;
    w->stopped = true;
    for (size_t i = 0; i < w->n_svcs; i++) {
        WSvc *ws = &w->svcs[i];
        sync_cancel(ws->job);
        ws->job = NULL;
        image_build_cancel(ws->build);
        ws->build = NULL;
        pathset_clear(&ws->seen);
        free(ws->first_show);
        ws->first_show = NULL;
        free(ws->first_from);
        ws->first_from = NULL;
        free(ws->reload_what);
        ws->reload_what = NULL;
        w->closing++;
        uv_close((uv_handle_t *)&ws->debounce, on_handle_closed);
    }
    watch_off(w);
}

static void on_free(void *data)
{
    Reloader *w = data;
    on_stop(w);
    free(w->state_base);
    w->state_base = NULL;
    w->m = NULL;
    reloader_maybe_free(w);
}

int reload_attach(Manager *m, const ReloadOptions *o)
{
    static const ManagerObserver ob = {
        .start = on_start,
        .state = on_state,
        .stop = on_stop,
        .free = on_free,
    };
    const Project *p = manager_project(m);
    bool any = o->watch;
    for (size_t i = 0; i < p->n_services && !any; i++)
        if (p->services[i]->watch_opts.enabled)
            any = true;
    if (!any)
        return 0;
    Reloader *w = xcalloc(1, sizeof *w);
    w->m = m;
    w->p = p;
    w->watch = o->watch;
    if (o->named)
        for (size_t i = 0; i < o->named->n; i++)
            strvec_push(&w->named, o->named->v[i]);
    int r = manager_observe(m, &ob, w);
    if (r < 0) {
        strvec_free(&w->named);
        free(w);
    }
    return r;
}
