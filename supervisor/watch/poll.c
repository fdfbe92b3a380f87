/* poll: a tree watched by looking at it again at an interval, for when
 * inotify cannot watch it (the watch limit is reached). Each look walks the
 * tree (ignored folders pruned, as for inotify), keeps one entry per path
 * (size, times, inode) sorted by path, and compares it with the previous
 * look: paths that appeared, went away or changed are reported through the
 * same callback as the watcher's, with the tree id the caller chose. A
 * rename is a delete and a create. Slower than inotify and not free on big
 * trees, but no change is missed. */
#include "watch/poll.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct Entry {
    char *rel; /* relative to the root */
    int64_t mtime_ns, ctime_ns;
    uint64_t size, ino;
    bool is_dir;
} Entry;

typedef struct Snap {
    Entry *v;
    size_t n, cap;
} Snap;

struct Poller {
    uv_timer_t timer;
    char *root;
    const Ignore *ig;
    WatchCb cb;
    void *ud;
    int id;
    Snap snap;
    bool in_tick, freed;
};

static void snap_free(Snap *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i].rel);
    free(s->v);
    *s = (Snap){0};
}

static int64_t ns_of(struct timespec t)
{
    return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* Adds what is below the folder open at fd, whose path is path[0..len). */
static void snap_dir(Poller *p, Snap *s, int fd, char *path, size_t len)
{
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *name = e->d_name;
        if (name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0')))
            continue;
        size_t nl = strlen(name);
        if (len + 1 + nl >= PATH_MAX)
            continue;
        struct stat st;
        if (fstatat(dirfd(d), name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            continue;
        bool is_dir = S_ISDIR(st.st_mode);
        path[len] = '/';
        memcpy(path + len + 1, name, nl + 1);
        if (!ignore_match_entry(p->ig, path, is_dir)) {
            if (s->n == s->cap) {
                s->cap = s->cap ? s->cap * 2 : 256;
                s->v = xrealloc(s->v, s->cap * sizeof *s->v);
            }
            size_t root_len = strlen(p->root);
            s->v[s->n++] = (Entry){xstrdup(path + root_len + 1), ns_of(st.st_mtim), ns_of(st.st_ctim),
                                   (uint64_t)st.st_size, (uint64_t)st.st_ino, is_dir};
            if (is_dir) {
                int cfd = openat(dirfd(d), name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (cfd >= 0)
                    snap_dir(p, s, cfd, path, len + 1 + nl);
            }
        }
        path[len] = '\0';
    }
    closedir(d);
}

static int entry_cmp(const void *a, const void *b)
{
    return strcmp(((const Entry *)a)->rel, ((const Entry *)b)->rel);
}

static void snap_take(Poller *p, Snap *s)
{
    char path[PATH_MAX];
    size_t len = strlen(p->root);
    if (len >= sizeof path)
        return;
    memcpy(path, p->root, len + 1);
    struct stat st;
    if (stat(p->root, &st) == 0 && !S_ISDIR(st.st_mode)) {
        /* A rule may name a single file: one entry, the root itself. */
        s->v = xmalloc(sizeof *s->v);
        s->v[0] = (Entry){xstrdup(""), ns_of(st.st_mtim), ns_of(st.st_ctim), (uint64_t)st.st_size,
                          (uint64_t)st.st_ino, false};
        s->n = s->cap = 1;
        return;
    }
    int fd = open(p->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0)
        snap_dir(p, s, fd, path, len);
    qsort(s->v, s->n, sizeof *s->v, entry_cmp);
}

static void emit(Poller *p, WatchChangeKind kind, const Entry *e)
{
    _cleanup_free_ char *path = e->rel[0] ? path_join(p->root, e->rel) : xstrdup(p->root);
    WatchChange c = {.kind = kind, .path = path, .is_dir = e->is_dir};
    p->cb(p->ud, p->id, &c);
}

static void poller_destroy(Poller *p)
{
    snap_free(&p->snap);
    free(p->root);
    uv_close((uv_handle_t *)&p->timer, (uv_close_cb)free);
}

/* One look: the new snapshot against the last, both sorted by path. */
static void on_tick(uv_timer_t *t)
{
    Poller *p = t->data;
    Snap now = {0};
    snap_take(p, &now);
    Snap old = p->snap;
    p->snap = now;
    p->in_tick = true;
    size_t i = 0, j = 0;
    while ((i < old.n || j < now.n) && !p->freed) {
        int c = i == old.n ? 1 : j == now.n ? -1 : strcmp(old.v[i].rel, now.v[j].rel);
        if (c < 0) {
            emit(p, WCH_DELETED, &old.v[i++]);
        } else if (c > 0) {
            emit(p, WCH_CREATED, &now.v[j++]);
        } else {
            const Entry *a = &old.v[i++], *b = &now.v[j++];
            if (a->is_dir != b->is_dir) {
                emit(p, WCH_DELETED, a);
                if (!p->freed)
                    emit(p, WCH_CREATED, b);
            } else if (!b->is_dir && (a->mtime_ns != b->mtime_ns || a->ctime_ns != b->ctime_ns ||
                                      a->size != b->size || a->ino != b->ino)) {
                emit(p, WCH_MODIFIED, b);
            }
        }
    }
    snap_free(&old);
    p->in_tick = false;
    if (p->freed)
        poller_destroy(p);
}

Poller *poller_new(uv_loop_t *loop, const char *root, const Ignore *ig, unsigned interval_ms, WatchCb cb,
                   void *ud, int id)
{
    Poller *p = xcalloc(1, sizeof *p);
    p->root = path_normalize(root);
    p->ig = ig;
    p->cb = cb;
    p->ud = ud;
    p->id = id;
    snap_take(p, &p->snap);
    uv_timer_init(loop, &p->timer);
    p->timer.data = p;
    uv_timer_start(&p->timer, on_tick, interval_ms, interval_ms);
    return p;
}

size_t poller_count(const Poller *p)
{
    return p ? p->snap.n : 0;
}

void poller_free(Poller *p)
{
    if (!p)
        return;
    uv_timer_stop(&p->timer);
    if (p->in_tick) {
        p->freed = true; /* on_tick finishes the job */
        return;
    }
    poller_destroy(p);
}
