/* watch: one inotify instance for every watched tree, read on the loop
 * through a uv_poll_t.
 *
 * The watched folders form a tree of Dir nodes mirroring the filesystem:
 * each node holds its inotify watch descriptor, its parent and its own
 * name, so a path is rebuilt by walking up, and renaming a folder is one
 * relink that every folder below it follows. Two hash tables find a node
 * by watch descriptor (events) and by (parent, name) (renames, deletes,
 * rescans).
 *
 * Walks read folders with getdents64 on fds opened relative to their
 * parent, trust d_type (stat only when the filesystem leaves it unknown),
 * and add a folder's watch before listing it, so that anything created
 * after the listing is seen as an event. A folder that appears later is
 * walked the same way (a "scan", on the loop: one new folder) and
 * everything found in it is reported as created.
 *
 * The big walks, a tree's first and the rescans, run on a thread of the
 * watcher's own: it adds the watches and records (wd, parent, name) for
 * each folder, touching nothing of the watcher's tables; the loop stops
 * reading events meanwhile (they wait in the kernel's queue) and, woken by
 * a uv_async_t, merges the records and reads on. A first walk also reads
 * each folder's .gitignore into the tree's rules as it goes, so a tree is
 * walked once. Past the watch limit a first walk counts on without
 * watching, and its watches are taken back.
 *
 * Reads drain the fd; one drained read is a batch. IN_MOVED_FROM waits for
 * its IN_MOVED_TO (same cookie) until the batch ends, then counts as a
 * delete. IN_Q_OVERFLOW rescans every tree after the batch: new folders
 * are watched, folders that went away are dropped, and each tree gets one
 * WCH_RESCAN. Nothing here uses a timer, so an idle watcher costs no
 * wakeup. */
#include "watch/watch.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>

/* IN_MODIFY too: a program that writes a file and keeps it open (or an
 * editor that never closes) gives no IN_CLOSE_WRITE. The kernel merges
 * repeated identical events while they wait in the queue, and a batch's
 * consecutive reports of one file's change are folded here, so a save is
 * usually one report. */
#define WATCH_MASK                                                                          \
    (IN_MODIFY | IN_CLOSE_WRITE | IN_ATTRIB | IN_CREATE | IN_DELETE | IN_MOVED_FROM |       \
     IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF | IN_DONT_FOLLOW | IN_ONLYDIR | IN_EXCL_UNLINK)
#define READ_BUF_SIZE ((size_t)64 << 10)
#define DENTS_SIZE ((size_t)32 << 10)
#define SUGGESTED_WATCHES 524288L

/* Filesystems whose folders count their subfolders in st_nlink (2 + one
 * per subfolder), so that a folder with a link count of 2 has none. */
#define FS_EXT234 0xEF53
#define FS_XFS 0x58465342
#define FS_TMPFS 0x01021994

typedef struct Dir Dir;
struct Dir {
    int wd;
    unsigned visit;           /* the last walk that reached it */
    unsigned born;            /* the walk that created it */
    Dir *parent;              /* NULL: a tree's root */
    char *name;               /* last component; for a root, its absolute path */
    Dir *child, *next, *prev; /* first child; siblings */
    Dir *wd_next;             /* chain in the wd table */
    Dir *name_next;           /* chain in the (parent, name) table, when parent */
};

typedef struct Tree {
    char *root; /* normalised, absolute */
    size_t root_len;
    const Ignore *ig; /* the caller's */
    bool live;        /* watched: changes are reported (false while its first walk runs, or failed) */
    bool pending;     /* its first walk is still to start */
    Ignore *load;     /* that walk loads each folder's .gitignore into it (the caller's) */
    WatchReadyFn ready;
    void *ready_ud;
} Tree;


/* An IN_MOVED_FROM waiting for its IN_MOVED_TO. */
typedef struct Move {
    uint32_t cookie;
    char *path;
    bool is_dir;
    int wd; /* the moved folder's watch, or -1 */
} Move;

struct Watcher {
    uv_loop_t *loop;
    WatchCb cb;
    void *ud;
    int fd; /* -1 until the first tree */
    uv_poll_t poll;
    bool poll_open;
    Tree *trees;
    size_t ntrees, trees_cap;
    Dir **wd_tab; /* buckets, wd_cap a power of two */
    size_t wd_cap, ndirs;
    Dir **name_tab;
    size_t name_cap, nnamed;
    unsigned walk_seq;
    char *buf; /* READ_BUF_SIZE */
    Move *moves;
    size_t nmoves, moves_cap;
    bool overflow;
    bool in_dispatch, freed;
    /* Walks off the loop: one thread at a time walks a batch of jobs; the
     * loop stops reading events meanwhile (they wait in the kernel's
     * queue) and merges the results when the thread says it is done. */
    uv_async_t walked;
    bool async_open;
    pthread_t thread;
    bool thread_running;
    atomic_bool abort;
    struct Job *jobs;
    size_t njobs;
    bool batch_rescan; /* the running batch walks every tree again */
    unsigned batch_first;
    bool want_rescan;  /* an overflow came: walk every tree again */
    int closing;       /* handles whose close callback is still to come */
    /* The last report of the batch, when it was a change of (wd, name):
     * the same again right after is not repeated. */
    int last_mod_wd;
    char last_mod_name[NAME_MAX + 1];
};

/* ---- node tables ---- */

static size_t wd_slot(const Watcher *w, int wd)
{
    return ((uint32_t)wd * 2654435761u) & (w->wd_cap - 1);
}

static size_t name_hash(const Dir *parent, const char *name)
{
    uint64_t h = 1469598103934665603ull ^ ((uintptr_t)parent * 0x9e3779b97f4a7c15ull);
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    return (size_t)(h ^ (h >> 29));
}

static Dir *wd_find(const Watcher *w, int wd)
{
    if (!w->wd_cap)
        return NULL;
    for (Dir *d = w->wd_tab[wd_slot(w, wd)]; d; d = d->wd_next)
        if (d->wd == wd)
            return d;
    return NULL;
}

static void wd_insert(Watcher *w, Dir *d)
{
    if (w->ndirs + 1 > w->wd_cap) {
        size_t old_cap = w->wd_cap;
        Dir **old = w->wd_tab;
        w->wd_cap = old_cap ? old_cap * 2 : 256;
        w->wd_tab = xcalloc(w->wd_cap, sizeof *w->wd_tab);
        for (size_t i = 0; i < old_cap; i++)
            for (Dir *e = old[i], *nx; e; e = nx) {
                nx = e->wd_next;
                size_t s = wd_slot(w, e->wd);
                e->wd_next = w->wd_tab[s];
                w->wd_tab[s] = e;
            }
        free(old);
    }
    size_t s = wd_slot(w, d->wd);
    d->wd_next = w->wd_tab[s];
    w->wd_tab[s] = d;
    w->ndirs++;
}

static void wd_remove(Watcher *w, Dir *d)
{
    for (Dir **pp = &w->wd_tab[wd_slot(w, d->wd)]; *pp; pp = &(*pp)->wd_next)
        if (*pp == d) {
            *pp = d->wd_next;
            w->ndirs--;
            return;
        }
}

static Dir *name_find(const Watcher *w, const Dir *parent, const char *name)
{
    if (!w->name_cap)
        return NULL;
    for (Dir *d = w->name_tab[name_hash(parent, name) & (w->name_cap - 1)]; d; d = d->name_next)
        if (d->parent == parent && streq(d->name, name))
            return d;
    return NULL;
}

static void name_insert(Watcher *w, Dir *d)
{
    if (w->nnamed + 1 > w->name_cap) {
        size_t old_cap = w->name_cap;
        Dir **old = w->name_tab;
        w->name_cap = old_cap ? old_cap * 2 : 256;
        w->name_tab = xcalloc(w->name_cap, sizeof *w->name_tab);
        for (size_t i = 0; i < old_cap; i++)
            for (Dir *e = old[i], *nx; e; e = nx) {
                nx = e->name_next;
                size_t s = name_hash(e->parent, e->name) & (w->name_cap - 1);
                e->name_next = w->name_tab[s];
                w->name_tab[s] = e;
            }
        free(old);
    }
    size_t s = name_hash(d->parent, d->name) & (w->name_cap - 1);
    d->name_next = w->name_tab[s];
    w->name_tab[s] = d;
    w->nnamed++;
}

static void name_remove(Watcher *w, Dir *d)
{
    for (Dir **pp = &w->name_tab[name_hash(d->parent, d->name) & (w->name_cap - 1)]; *pp;
         pp = &(*pp)->name_next)
        if (*pp == d) {
            *pp = d->name_next;
            w->nnamed--;
            return;
        }
}

/* Takes d out of its parent (d becomes a root until linked again). */
static void dir_unlink(Watcher *w, Dir *d)
{
    if (!d->parent)
        return;
    name_remove(w, d);
    if (d->prev)
        d->prev->next = d->next;
    else
        d->parent->child = d->next;
    if (d->next)
        d->next->prev = d->prev;
    d->next = d->prev = NULL;
    d->parent = NULL;
}

static void dir_remove_tree(Watcher *w, Dir *d);

/* Places d at (parent, name); name is copied. A node already there (a
 * folder that was replaced) is dropped with its watches. */
static void dir_link(Watcher *w, Dir *d, Dir *parent, const char *name)
{
    dir_unlink(w, d);
    if (!d->name || !streq(d->name, name)) {
        free(d->name);
        d->name = xstrdup(name);
    }
    if (!parent)
        return;
    Dir *old = name_find(w, parent, name);
    if (old && old != d)
        dir_remove_tree(w, old);
    d->parent = parent;
    d->next = parent->child;
    d->prev = NULL;
    if (parent->child)
        parent->child->prev = d;
    parent->child = d;
    name_insert(w, d);
}

/* Drops d and every folder below it, with their watches. */
static void dir_remove_tree(Watcher *w, Dir *d)
{
    while (d->child)
        dir_remove_tree(w, d->child);
    dir_unlink(w, d);
    wd_remove(w, d);
    inotify_rm_watch(w->fd, d->wd); /* EINVAL when the kernel dropped it already */
    free(d->name);
    free(d);
}

/* The absolute path of d into buf (PATH_MAX); its length, or 0 when too
 * long. */
static size_t dir_path(const Dir *d, char *buf)
{
    if (!d->parent) {
        size_t n = strlen(d->name);
        if (n >= PATH_MAX)
            return 0;
        memcpy(buf, d->name, n + 1);
        return n;
    }
    size_t n = dir_path(d->parent, buf);
    if (n == 0)
        return 0;
    if (n == 1) /* below "/" */
        n = 0;
    size_t m = strlen(d->name);
    if (n + 1 + m >= PATH_MAX)
        return 0;
    buf[n] = '/';
    memcpy(buf + n + 1, d->name, m + 1);
    return n + 1 + m;
}

/* ---- reporting ---- */

/* Whether tree t sees path: inside its root and not ignored. */
static bool tree_sees(const Tree *t, const char *path, bool is_dir)
{
    if (!t->live)
        return false;
    if (strncmp(path, t->root, t->root_len) != 0)
        return false;
    if (path[t->root_len] == '\0')
        return true;
    if (path[t->root_len] != '/' && t->root_len != 1)
        return false;
    return !ignore_match(t->ig, path, is_dir);
}

/* Whether some tree wants the folder at path watched. */
static bool dir_wanted(const Watcher *w, const char *path)
{
    for (size_t i = 0; i < w->ntrees; i++)
        if (tree_sees(&w->trees[i], path, true))
            return true;
    return false;
}

static void emit(Watcher *w, int tree, WatchChangeKind kind, const char *path, const char *old,
                 bool is_dir)
{
    WatchChange c = {.kind = kind, .path = path, .old_path = old, .is_dir = is_dir};
    w->cb(w->ud, tree, &c);
}

/* One change, to every tree that sees it. A rename is a rename for a tree
 * that sees both ends, a delete or a create for one that sees one end.
 * The callback may add trees or free the watcher (w->freed). */
static void report(Watcher *w, WatchChangeKind kind, const char *path, const char *old,
                   bool is_dir)
{
    w->last_mod_wd = -1;
    for (size_t i = 0; i < w->ntrees && !w->freed; i++) {
        bool sees_new = tree_sees(&w->trees[i], path, is_dir);
        if (kind == WCH_RENAMED) {
            bool sees_old = tree_sees(&w->trees[i], old, is_dir);
            if (sees_old && sees_new)
                emit(w, (int)i, WCH_RENAMED, path, old, is_dir);
            else if (sees_old)
                emit(w, (int)i, WCH_DELETED, old, NULL, is_dir);
            else if (sees_new)
                emit(w, (int)i, WCH_CREATED, path, NULL, is_dir);
        } else if (sees_new) {
            emit(w, (int)i, kind, path, NULL, is_dir);
        }
    }
}

/* ---- walks ---- */

struct dent64 {
    uint64_t d_ino;
    int64_t d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
};

/* What a walk off the loop found: one record per folder it watched, a
 * parent before its children, and the watch descriptors it has seen (a
 * bind-mount loop or a second path to a folder is walked once). */
typedef struct WalkRec {
    int wd;
    int parent;  /* index of the parent's record; -1 for the root */
    size_t name; /* offset in names */
} WalkRec;

typedef struct WalkOut {
    WalkRec *v;
    size_t n, cap;
    char *names;
    size_t names_len, names_cap;
    int *seen; /* open addressing, -1 empty; seen_cap a power of two */
    size_t nseen, seen_cap;
} WalkOut;

typedef struct Walk {
    Watcher *w;        /* on the loop: nodes made in w's tables at once */
    WalkOut *out;      /* off the loop: watches added to ifd, recorded in out */
    int ifd;
    Ignore *load;      /* load each folder's .gitignore into it on the way */
    const atomic_bool *abort; /* set: stop as soon as possible */
    const Ignore *ig;  /* prunes (entry level), unless all_trees */
    bool all_trees;    /* prune what no tree wants (scans of new folders) */
    bool report;       /* report every entry found as WCH_CREATED */
    /* Folders only (no report) on a filesystem whose link counts count
     * subfolders: a folder with st_nlink 2 (on the root's device) is
     * watched without being opened and read. Saves 4 of 5 system calls
     * for the leaves, which are most folders of a tree. */
    bool leaf_skip;
    dev_t dev;
    unsigned id;
    size_t count;      /* folders reached */
    int err;           /* -ENOSPC or -ENOMEM: no more watches (a recording walk counts on) */
    char *err_path;
    char *dents;       /* DENTS_SIZE */
    char *names;       /* a stack of the subfolders still to walk, NUL-separated */
    size_t names_len, names_cap;
    char path[PATH_MAX];
} Walk;

/* One walk of a tree on the walker thread, and what it found. */
typedef struct Job {
    size_t tree;
    bool first;  /* the tree's first walk (else a rescan) */
    Walk k;
    WalkOut out;
    int status;
} Job;

static void walk_init(Walk *k, Watcher *w, const Ignore *ig)
{
    memset(k, 0, offsetof(Walk, path));
    k->w = w;
    k->ig = ig;
    k->ifd = -1;
    if (w)
        k->id = ++w->walk_seq;
    k->dents = xmalloc(DENTS_SIZE);
}

static void walk_done(Walk *k)
{
    free(k->dents);
    free(k->names);
    free(k->err_path);
    k->dents = k->names = k->err_path = NULL;
}

static void walkout_free(WalkOut *o)
{
    free(o->v);
    free(o->names);
    free(o->seen);
    memset(o, 0, sizeof *o);
}

/* Adds wd to the seen set; false when it was there. */
static bool walkout_see(WalkOut *o, int wd)
{
    if ((o->nseen + 1) * 2 > o->seen_cap) {
        size_t old_cap = o->seen_cap;
        int *old = o->seen;
        o->seen_cap = old_cap ? old_cap * 2 : 1024;
        o->seen = xmalloc(o->seen_cap * sizeof *o->seen);
        memset(o->seen, 0xff, o->seen_cap * sizeof *o->seen);
        o->nseen = 0;
        for (size_t i = 0; i < old_cap; i++)
            if (old[i] >= 0)
                walkout_see(o, old[i]);
        free(old);
    }
    for (size_t i = ((uint32_t)wd * 2654435761u) & (o->seen_cap - 1);; i = (i + 1) & (o->seen_cap - 1)) {
        if (o->seen[i] == wd)
            return false;
        if (o->seen[i] < 0) {
            o->seen[i] = wd;
            o->nseen++;
            return true;
        }
    }
}

static void names_push(Walk *k, const char *name, size_t n)
{
    if (k->names_len + n + 1 > k->names_cap) {
        k->names_cap = (k->names_len + n + 1) * 2;
        if (k->names_cap < 4096)
            k->names_cap = 4096;
        k->names = xrealloc(k->names, k->names_cap);
    }
    memcpy(k->names + k->names_len, name, n + 1);
    k->names_len += n + 1;
}

/* Watches the folder at path as (parent, name) for walk k. Returns 1 for a
 * new watch, 0 for a known one (moved to (parent, name) if it was
 * elsewhere; a tree's root stays where it is), 2 when this walk has been
 * there already (a bind-mount loop, or overlapping trees), or -errno. */
static int watch_dir(Walk *k, const char *path, Dir *parent, const char *name, Dir **ret)
{
    Watcher *w = k->w;
    uint32_t mask = WATCH_MASK;
    if (!parent) /* a tree's root may be a symlink */
        mask &= ~(uint32_t)IN_DONT_FOLLOW;
    int wd = inotify_add_watch(w->fd, path, mask);
    if (wd < 0)
        return -errno;
    Dir *d = wd_find(w, wd);
    int r = 0;
    if (d && d->visit == k->id) {
        r = 2;
    } else if (d) {
        if (parent && (d->parent != parent || !streq(d->name, name)))
            dir_link(w, d, parent, name);
    } else {
        d = xcalloc(1, sizeof *d);
        d->wd = wd;
        d->born = k->id;
        wd_insert(w, d);
        dir_link(w, d, parent, name);
        r = 1;
    }
    d->visit = k->id;
    *ret = d;
    return r;
}

/* watch_dir for a walk off the loop: the watch is added, the folder
 * recorded as record *ret (parent: the parent's record, -1 for a root).
 * 1, 2 when this walk has been there already, or -errno. */
static int record_dir(Walk *k, const char *path, int parent, const char *name, int *ret)
{
    uint32_t mask = WATCH_MASK;
    if (parent < 0)
        mask &= ~(uint32_t)IN_DONT_FOLLOW;
    int wd = inotify_add_watch(k->ifd, path, mask);
    if (wd < 0)
        return -errno;
    WalkOut *o = k->out;
    if (!walkout_see(o, wd))
        return 2;
    size_t nl = strlen(name);
    if (o->names_len + nl + 1 > o->names_cap) {
        o->names_cap = (o->names_len + nl + 1) * 2 + 65536;
        o->names = xrealloc(o->names, o->names_cap);
    }
    memcpy(o->names + o->names_len, name, nl + 1);
    if (o->n == o->cap) {
        o->cap = o->cap ? o->cap * 2 : 1024;
        o->v = xrealloc(o->v, o->cap * sizeof *o->v);
    }
    o->v[o->n] = (WalkRec){wd, parent, o->names_len};
    o->names_len += nl + 1;
    *ret = (int)o->n++;
    return 1;
}

/* A watch of walk k for the folder at k->path (whose parent is d / rec):
 * whether to go on into it, with its node or record. */
static bool walk_watch(Walk *k, Dir *d, int rec, const char *name, Dir **ret_c, int *ret_crec)
{
    int r = 1;
    if (k->w)
        r = watch_dir(k, k->path, d, name, ret_c);
    else if (k->out && !k->err)
        r = record_dir(k, k->path, rec, name, ret_crec);
    else
        return true; /* counting (on, past the limit) */
    if (r == -ENOSPC || r == -ENOMEM) {
        k->err = r;
        k->err_path = xstrdup(k->path);
        return k->out != NULL; /* a recording walk counts on */
    }
    return r == 0 || r == 1;
}

/* Walks the folder open at fd (closed here), whose path is k->path[0..len)
 * and whose node is d (on the loop) or record rec (off it). */
static void walk_dir(Walk *k, int fd, size_t len, Dir *d, int rec)
{
    size_t mark = k->names_len;
    bool stop = false, gitignore = false;
    for (;;) {
        long n = syscall(SYS_getdents64, fd, k->dents, DENTS_SIZE);
        if (n <= 0)
            break;
        for (long off = 0; off < n && !stop;) {
            struct dent64 *e = (struct dent64 *)(k->dents + off);
            off += e->d_reclen;
            const char *name = e->d_name;
            if (name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0')))
                continue;
            unsigned char type = e->d_type;
            if (k->load && (type == DT_REG || type == DT_UNKNOWN) && streq(name, ".gitignore")) {
                gitignore = true;
                continue;
            }
            if (type != DT_DIR && type != DT_UNKNOWN && !k->report)
                continue;
            size_t nl = strlen(name);
            if (len + 1 + nl >= PATH_MAX)
                continue;
            if (type == DT_UNKNOWN) {
                struct stat st;
                if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                    continue;
                type = S_ISDIR(st.st_mode) ? DT_DIR : DT_REG;
            }
            bool is_dir = type == DT_DIR;
            k->path[len] = '/';
            memcpy(k->path + len + 1, name, nl + 1);
            if (k->report) {
                report(k->w, WCH_CREATED, k->path, NULL, is_dir);
                if (k->w->freed) {
                    stop = true;
                    break;
                }
            }
            if (!is_dir)
                continue;
            /* While loading, this folder's own .gitignore may still come:
             * its subfolders are judged once the listing is done. */
            bool pruned = k->load       ? false
                          : k->all_trees ? !dir_wanted(k->w, k->path)
                                         : ignore_match_entry(k->ig, k->path, true);
            if (!pruned)
                names_push(k, name, nl);
        }
        if (stop)
            break;
    }
    k->path[len] = '\0';
    if (gitignore)
        ignore_load_folder_gitignore(k->load, len ? k->path : "/");
    for (size_t o = mark; o < k->names_len && !stop && !(k->err && !k->out);) {
        const char *name = k->names + o;
        size_t nl = strlen(name);
        o += nl + 1;
        if (k->abort && atomic_load(k->abort))
            break;
        k->path[len] = '/';
        memcpy(k->path + len + 1, name, nl + 1);
        if (k->load && ignore_match_entry(k->ig, k->path, true)) {
            k->path[len] = '\0';
            continue;
        }
        Dir *c = NULL;
        int crec = -1;
        bool go = walk_watch(k, d, rec, name, &c, &crec);
        if (go && k->leaf_skip) {
            /* After the watch is in place: a subfolder made from now on
             * is an event. */
            struct stat st;
            if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_nlink == 2 &&
                st.st_dev == k->dev) {
                k->count++;
                go = false;
                /* Not read, but its .gitignore still counts for its files. */
                char rel[NAME_MAX + sizeof "/.gitignore"];
                snprintf(rel, sizeof rel, "%s/.gitignore", name);
                if (k->load && fstatat(fd, rel, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
                    ignore_load_folder_gitignore(k->load, k->path);
            }
        }
        if (go) {
            k->count++;
            int cfd = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (cfd >= 0)
                walk_dir(k, cfd, len + 1 + nl, c, crec);
        }
        k->path[len] = '\0';
        if (k->w && k->w->freed)
            stop = true;
    }
    k->names_len = mark;
    close(fd);
}

/* Walks a tree's root: path, watched as a root. 0 or -errno. */
static int walk_root(Walk *k, const char *root)
{
    size_t len = strlen(root);
    if (len >= PATH_MAX)
        return -ENAMETOOLONG;
    memcpy(k->path, root, len + 1);
    Dir *d = NULL;
    int rec = -1;
    if (k->w || k->out) {
        int r = k->w ? watch_dir(k, root, NULL, root, &d) : record_dir(k, root, -1, root, &rec);
        if (r < 0) {
            k->err_path = xstrdup(root);
            return r;
        }
        if (r == 2)
            return 0;
    }
    k->count++;
    int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return k->w || k->out ? 0 : -errno; /* watched, unreadable: nothing below */
    struct statfs sfs;
    struct stat st;
    if (!k->report && fstatfs(fd, &sfs) == 0 && fstat(fd, &st) == 0 &&
        (sfs.f_type == FS_EXT234 || sfs.f_type == FS_XFS || sfs.f_type == FS_TMPFS)) {
        k->leaf_skip = true;
        k->dev = st.st_dev;
    }
    walk_dir(k, fd, len == 1 ? 0 : len, d, rec);
    return k->err;
}

/* A folder that appeared (created, or moved in from outside): watched,
 * then everything in it reported as created, folders below it likewise. */
static void scan_new_dir(Watcher *w, Dir *parent, const char *name, const char *path)
{
    Walk k;
    walk_init(&k, w, NULL);
    k.all_trees = true;
    k.report = true;
    size_t len = strlen(path);
    memcpy(k.path, path, len + 1);
    Dir *d = NULL;
    int r = watch_dir(&k, path, parent, name, &d);
    /* Only a new watch: a folder watched already (found by the scan of its
     * parent, made an instant before) has been read, or will send events. */
    if (r == 1) {
        int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd >= 0)
            walk_dir(&k, fd, len, d, -1);
    }
    /* A watch refused here (the limit, or the folder is gone again) leaves
     * the folder unwatched; the next overflow rescan tries again. */
    walk_done(&k);
}

/* Drops every folder that no walk since walk id `first` reached: after a
 * rescan of every tree, the folders that went away. */
static void drop_unvisited(Watcher *w, unsigned first)
{
    size_t n = 0;
    Dir **stale = xmalloc((w->ndirs + 1) * sizeof *stale);
    for (size_t i = 0; i < w->wd_cap; i++)
        for (Dir *d = w->wd_tab[i]; d; d = d->wd_next)
            if (d->visit < first)
                stale[n++] = d;
    /* Unreached folders form whole subtrees (a reached one is relinked
     * under a reached parent): out of the name table while every parent is
     * still there, out of the child list of a parent that stays, freed. */
    for (size_t i = 0; i < n; i++)
        if (stale[i]->parent)
            name_remove(w, stale[i]);
    for (size_t i = 0; i < n; i++) {
        Dir *d = stale[i];
        if (d->parent && d->parent->visit >= first) {
            if (d->prev)
                d->prev->next = d->next;
            else
                d->parent->child = d->next;
            if (d->next)
                d->next->prev = d->prev;
        }
    }
    for (size_t i = 0; i < n; i++) {
        wd_remove(w, stale[i]);
        inotify_rm_watch(w->fd, stale[i]->wd);
        free(stale[i]->name);
        free(stale[i]);
    }
    free(stale);
}

static void kick(Watcher *w);

/* ---- events ---- */

static void on_created(Watcher *w, Dir *parent, const char *name, const char *path, bool is_dir)
{
    report(w, WCH_CREATED, path, NULL, is_dir);
    if (is_dir && !w->freed && dir_wanted(w, path))
        scan_new_dir(w, parent, name, path);
}

static void on_moved_to(Watcher *w, Dir *parent, const char *name, const char *path, bool is_dir,
                        uint32_t cookie)
{
    size_t i = 0;
    while (i < w->nmoves && w->moves[i].cookie != cookie)
        i++;
    if (i == w->nmoves) { /* moved in from outside */
        on_created(w, parent, name, path, is_dir);
        return;
    }
    Move m = w->moves[i];
    w->moves[i] = w->moves[--w->nmoves];
    Dir *moved = m.wd >= 0 ? wd_find(w, m.wd) : NULL;
    bool scan = false;
    if (is_dir) {
        bool want = dir_wanted(w, path);
        if (moved && want)
            dir_link(w, moved, parent, name); /* the folders below follow */
        else if (moved)
            dir_remove_tree(w, moved); /* into an ignored place */
        else
            scan = want; /* out of an ignored place */
    }
    report(w, WCH_RENAMED, path, m.path, is_dir);
    if (scan && !w->freed)
        scan_new_dir(w, parent, name, path);
    free(m.path);
}

static void handle_event(Watcher *w, const struct inotify_event *ev)
{
    if (ev->mask & IN_Q_OVERFLOW) {
        w->overflow = true;
        return;
    }
    Dir *d = wd_find(w, ev->wd);
    if (!d)
        return; /* a watch already dropped */
    if (ev->mask & IN_IGNORED) {
        dir_remove_tree(w, d);
        return;
    }
    char path[PATH_MAX];
    size_t len = dir_path(d, path);
    if (len == 0)
        return;
    if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF)) {
        /* Other folders are reported by their parent's watch; a tree's root
         * only here. A root moved away is no longer at its path: dropped. */
        if (!d->parent) {
            report(w, WCH_DELETED, path, NULL, true);
            if ((ev->mask & IN_MOVE_SELF) && !w->freed)
                dir_remove_tree(w, d);
        }
        return;
    }
    if (ev->len == 0 || ev->name[0] == '\0')
        return; /* about the folder itself: its parent says it */
    size_t nl = strlen(ev->name);
    if (len + 1 + nl >= PATH_MAX)
        return;
    if (len == 1)
        len = 0;
    path[len] = '/';
    memcpy(path + len + 1, ev->name, nl + 1);
    bool is_dir = ev->mask & IN_ISDIR;

    if (ev->mask & IN_CREATE) {
        on_created(w, d, ev->name, path, is_dir);
    } else if (ev->mask & IN_MOVED_TO) {
        on_moved_to(w, d, ev->name, path, is_dir, ev->cookie);
    } else if (ev->mask & IN_MOVED_FROM) {
        Dir *c = is_dir ? name_find(w, d, ev->name) : NULL;
        if (w->nmoves == w->moves_cap) {
            w->moves_cap = w->moves_cap ? w->moves_cap * 2 : 8;
            w->moves = xrealloc(w->moves, w->moves_cap * sizeof *w->moves);
        }
        w->moves[w->nmoves++] = (Move){ev->cookie, xstrdup(path), is_dir, c ? c->wd : -1};
    } else if (ev->mask & IN_DELETE) {
        Dir *c = is_dir ? name_find(w, d, ev->name) : NULL;
        if (c)
            dir_remove_tree(w, c);
        report(w, WCH_DELETED, path, NULL, is_dir);
    } else if (ev->mask & (IN_MODIFY | IN_CLOSE_WRITE | IN_ATTRIB)) {
        if (w->last_mod_wd == ev->wd && streq(w->last_mod_name, ev->name))
            return;
        report(w, WCH_MODIFIED, path, NULL, is_dir);
        w->last_mod_wd = ev->wd;
        memcpy(w->last_mod_name, ev->name, nl + 1 <= sizeof w->last_mod_name ? nl + 1 : 1);
    }
}

/* The batch is over: a move whose other half did not come left the
 * watched trees; after an overflow, every tree is walked again. */
static void end_batch(Watcher *w)
{
    while (w->nmoves > 0 && !w->freed) {
        Move m = w->moves[--w->nmoves];
        Dir *moved = m.wd >= 0 ? wd_find(w, m.wd) : NULL;
        char now[PATH_MAX];
        /* Unless a scan found it in the meantime, inside the tree (moved
         * into a folder made after its parent's listing): then it stays. */
        if (moved && dir_path(moved, now) > 0 && streq(now, m.path))
            dir_remove_tree(w, moved);
        report(w, WCH_DELETED, m.path, NULL, m.is_dir);
        free(m.path);
    }
    if (w->overflow && !w->freed) {
        /* Walked again off the loop; WCH_RESCAN when that is done. */
        w->overflow = false;
        w->want_rescan = true;
        kick(w);
    }
}

static void watcher_destroy(Watcher *w);

static void on_readable(uv_poll_t *h, int status, int events)
{
    (void)status, (void)events;
    Watcher *w = h->data;
    w->in_dispatch = true;
    w->last_mod_wd = -1;
    for (;;) {
        ssize_t n = read(w->fd, w->buf, READ_BUF_SIZE);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        for (ssize_t off = 0; off < n && !w->freed;) {
            const struct inotify_event *ev = (const struct inotify_event *)(w->buf + off);
            off += (ssize_t)(sizeof *ev + ev->len);
            handle_event(w, ev);
        }
        if (w->freed)
            break;
    }
    if (!w->freed)
        end_batch(w);
    w->in_dispatch = false;
    if (w->freed)
        watcher_destroy(w);
}

/* ---- walks off the loop ---- */

static char *limit_message(const char *path);

/* Prepares a walk of tree i: recording, into the watcher's instance. */
static void job_init(Watcher *w, Job *j, size_t i, bool first)
{
    memset(j, 0, sizeof *j);
    j->tree = i;
    j->first = first;
    walk_init(&j->k, NULL, w->trees[i].ig);
    j->k.id = ++w->walk_seq;
    j->k.out = &j->out;
    j->k.ifd = w->fd;
    j->k.abort = &w->abort;
    if (first)
        j->k.load = w->trees[i].load;
}

static void job_run(Watcher *w, Job *j)
{
    j->status = walk_root(&j->k, w->trees[j->tree].root);
}

/* On the loop: the nodes of a walk into the tables (new folders made,
 * moved ones relinked, all marked visited by it); the watches of a first
 * walk that failed taken back, but for folders watched already. A rescan
 * keeps what it reached. */
static void job_merge(Watcher *w, Job *j)
{
    WalkOut *o = &j->out;
    if (j->status < 0 && j->first) {
        for (size_t i = 0; i < o->n; i++)
            if (!wd_find(w, o->v[i].wd))
                inotify_rm_watch(w->fd, o->v[i].wd);
        return;
    }
    Dir **at = xmalloc((o->n + 1) * sizeof *at);
    for (size_t i = 0; i < o->n; i++) {
        const WalkRec *r = &o->v[i];
        const char *name = o->names + r->name;
        Dir *parent = r->parent >= 0 ? at[r->parent] : NULL;
        Dir *d = wd_find(w, r->wd);
        if (d) {
            if (parent && (d->parent != parent || !streq(d->name, name)))
                dir_link(w, d, parent, name);
        } else {
            d = xcalloc(1, sizeof *d);
            d->wd = r->wd;
            d->born = j->k.id;
            wd_insert(w, d);
            dir_link(w, d, parent, name);
        }
        d->visit = j->k.id;
        at[i] = d;
    }
    free(at);
}

static void job_free(Job *j)
{
    walk_done(&j->k);
    walkout_free(&j->out);
}

/* The message for a walk that failed. */
static char *job_error(Watcher *w, const Job *j)
{
    const char *where = j->k.err_path ? j->k.err_path : w->trees[j->tree].root;
    return j->status == -ENOSPC ? limit_message(where)
                                : xasprintf("cannot watch %s: %s", where, strerror(-j->status));
}

static void *walker_main(void *data)
{
    Watcher *w = data;
    for (size_t i = 0; i < w->njobs && !atomic_load(&w->abort); i++)
        job_run(w, &w->jobs[i]);
    uv_async_send(&w->walked);
    return NULL;
}

/* Starts a batch when there is work and no batch runs: every tree after
 * an overflow, else the trees added since. */
static void kick(Watcher *w)
{
    if (w->thread_running || w->freed)
        return;
    size_t n = 0;
    for (size_t i = 0; i < w->ntrees; i++)
        if (w->trees[i].pending || (w->want_rescan && w->trees[i].live))
            n++;
    if (n == 0) {
        w->want_rescan = false;
        return;
    }
    w->batch_rescan = w->want_rescan;
    w->want_rescan = false;
    w->batch_first = w->walk_seq + 1;
    w->jobs = xcalloc(n, sizeof *w->jobs);
    w->njobs = 0;
    for (size_t i = 0; i < w->ntrees; i++) {
        Tree *t = &w->trees[i];
        if (t->pending || (w->batch_rescan && t->live)) {
            job_init(w, &w->jobs[w->njobs++], i, t->pending);
            t->pending = false;
        }
    }
    uv_poll_stop(&w->poll);
    if (pthread_create(&w->thread, NULL, walker_main, w) != 0) {
        /* No thread to be had: walk here. */
        for (size_t i = 0; i < w->njobs; i++)
            job_run(w, &w->jobs[i]);
        w->thread_running = true;
        uv_async_send(&w->walked);
        w->thread = pthread_self();
        return;
    }
    w->thread_running = true;
}

static void watcher_destroy(Watcher *w);

/* The batch is walked: merged, told, and the next one started. */
static void on_walked(uv_async_t *h)
{
    Watcher *w = h->data;
    if (!w->thread_running)
        return;
    if (!pthread_equal(w->thread, pthread_self()))
        pthread_join(w->thread, NULL);
    w->thread_running = false;
    Job *jobs = w->jobs;
    size_t n = w->njobs;
    w->jobs = NULL;
    w->njobs = 0;
    for (size_t i = 0; i < n; i++) {
        job_merge(w, &jobs[i]);
        if (jobs[i].status == 0)
            w->trees[jobs[i].tree].live = true;
    }
    if (w->batch_rescan)
        drop_unvisited(w, w->batch_first);
    uv_poll_start(&w->poll, UV_READABLE, on_readable);

    w->in_dispatch = true;
    for (size_t i = 0; i < n; i++) {
        Job *j = &jobs[i];
        Tree *t = &w->trees[j->tree];
        if (!w->freed && j->first && t->ready) {
            _cleanup_free_ char *err = j->status < 0 ? job_error(w, j) : NULL;
            t->ready(t->ready_ud, (int)j->tree, j->status, j->k.count, err);
        } else if (!w->freed && !j->first) {
            emit(w, (int)j->tree, WCH_RESCAN, t->root, NULL, true);
        }
        job_free(j);
    }
    free(jobs);
    w->in_dispatch = false;
    if (w->freed) {
        watcher_destroy(w);
        return;
    }
    kick(w);
}

/* ---- the watcher ---- */

Watcher *watcher_new(uv_loop_t *loop, WatchCb cb, void *ud)
{
    Watcher *w = xcalloc(1, sizeof *w);
    w->loop = loop;
    w->cb = cb;
    w->ud = ud;
    w->fd = -1;
    w->last_mod_wd = -1;
    return w;
}

/* The inotify instance, made with the first tree. */
static int watcher_open(Watcher *w, char **err)
{
    if (w->fd >= 0)
        return 0;
    w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (w->fd < 0) {
        int r = -errno;
        if (err)
            *err = r == -EMFILE ? xasprintf("cannot create an inotify instance: too many "
                                            "(fs.inotify.max_user_instances is reached)")
                                : xasprintf("cannot create an inotify instance: %s", strerror(-r));
        return r;
    }
    w->buf = xmalloc(READ_BUF_SIZE);
    int r = uv_poll_init(w->loop, &w->poll, w->fd);
    if (r == 0) {
        w->poll.data = w;
        w->poll_open = true;
        r = uv_poll_start(&w->poll, UV_READABLE, on_readable);
    }
    if (r == 0) {
        r = uv_async_init(w->loop, &w->walked, on_walked);
        w->walked.data = w;
        w->async_open = r == 0;
    }
    if (r < 0) {
        if (err)
            *err = xasprintf("cannot poll the inotify instance: %s", uv_strerror(r));
        return r;
    }
    return 0;
}

static char *limit_message(const char *path)
{
    long limit = watch_max_user_watches();
    long suggest = limit * 2 > SUGGESTED_WATCHES ? limit * 2 : SUGGESTED_WATCHES;
    if (limit < 0)
        return xasprintf("cannot watch %s: the inotify watch limit is reached; raise "
                         "fs.inotify.max_user_watches",
                         path);
    return xasprintf("cannot watch %s: the inotify watch limit is reached "
                     "(fs.inotify.max_user_watches=%ld); run sysctl "
                     "fs.inotify.max_user_watches=%ld (and add it to /etc/sysctl.d/ to keep it)",
                     path, limit, suggest);
}

/* A new slot in w->trees for root (taken: malloc'd, normalised). */
static size_t tree_new(Watcher *w, char *root, const Ignore *ig)
{
    if (w->ntrees == w->trees_cap) {
        w->trees_cap = w->trees_cap ? w->trees_cap * 2 : 4;
        w->trees = xrealloc(w->trees, w->trees_cap * sizeof *w->trees);
    }
    w->trees[w->ntrees] = (Tree){.root = root, .root_len = strlen(root), .ig = ig};
    return w->ntrees++;
}

static int check_root(const char *root, char **err)
{
    if (path_is_absolute(root))
        return 0;
    if (err)
        *err = xasprintf("cannot watch %s: not an absolute path", root);
    return -EINVAL;
}

int watcher_add_tree(Watcher *w, const char *root, const Ignore *ig, char **err)
{
    if (err)
        *err = NULL;
    int r = check_root(root, err);
    if (r < 0)
        return r;
    r = watcher_open(w, err);
    if (r < 0)
        return r;
    /* The same walk as a thread's, here. */
    size_t i = tree_new(w, path_normalize(root), ig);
    Job j;
    job_init(w, &j, i, true);
    job_run(w, &j);
    job_merge(w, &j);
    r = j.status;
    if (r < 0) {
        if (err)
            *err = job_error(w, &j);
        free(w->trees[--w->ntrees].root);
    } else {
        w->trees[i].live = true;
        r = (int)i;
    }
    job_free(&j);
    return r;
}

int watcher_add_tree_async(Watcher *w, const char *root, Ignore *ig, WatchReadyFn ready, void *ud)
{
    char *err = NULL;
    int r = check_root(root, &err);
    if (r == 0)
        r = watcher_open(w, &err);
    size_t i = tree_new(w, path_normalize(root), ig);
    Tree *t = &w->trees[i];
    t->ready = ready;
    t->ready_ud = ud;
    if (r < 0) {
        /* Told at once: the tree stays an inert slot. */
        ready(ud, (int)i, r, 0, err);
        free(err);
        return (int)i;
    }
    t->pending = true;
    t->load = ig;
    kick(w);
    return (int)i;
}

bool watcher_walking(const Watcher *w)
{
    return w && w->thread_running;
}

size_t watcher_watch_count(const Watcher *w)
{
    return w ? w->ndirs : 0;
}

static void on_handle_closed(uv_handle_t *h)
{
    Watcher *w = h->data;
    if (--w->closing > 0)
        return;
    close(w->fd);
    free(w);
}

static void watcher_destroy(Watcher *w)
{
    if (w->thread_running) {
        /* The walk stops at its next folder; its watches go with the fd. */
        atomic_store(&w->abort, true);
        if (!pthread_equal(w->thread, pthread_self()))
            pthread_join(w->thread, NULL);
        w->thread_running = false;
    }
    for (size_t i = 0; i < w->njobs; i++)
        job_free(&w->jobs[i]);
    free(w->jobs);
    for (size_t i = 0; i < w->wd_cap; i++)
        for (Dir *d = w->wd_tab[i], *nx; d; d = nx) {
            nx = d->wd_next;
            free(d->name);
            free(d);
        }
    free(w->wd_tab);
    free(w->name_tab);
    for (size_t i = 0; i < w->ntrees; i++)
        free(w->trees[i].root);
    free(w->trees);
    for (size_t i = 0; i < w->nmoves; i++)
        free(w->moves[i].path);
    free(w->moves);
    free(w->buf);
    /* Closing the instance drops every watch at once. */
    w->closing = w->poll_open + w->async_open;
    if (w->poll_open)
        uv_close((uv_handle_t *)&w->poll, on_handle_closed);
    if (w->async_open)
        uv_close((uv_handle_t *)&w->walked, on_handle_closed);
    if (w->closing)
        return;
    if (w->fd >= 0)
        close(w->fd);
    free(w);
}

void watcher_free(Watcher *w)
{
    if (!w)
        return;
    if (w->in_dispatch) {
        w->freed = true; /* on_readable or on_walked finishes the job */
        return;
    }
    watcher_destroy(w);
}

/* ---- limits ---- */

size_t watch_count_dirs(const char *root, const Ignore *ig)
{
    Walk k;
    walk_init(&k, NULL, ig);
    _cleanup_free_ char *norm = path_normalize(root);
    walk_root(&k, norm);
    size_t n = k.count;
    walk_done(&k);
    return n;
}

long watch_max_user_watches(void)
{
    _cleanup_free_ char *s = NULL;
    size_t len = 0;
    if (read_file("/proc/sys/fs/inotify/max_user_watches", 64, &s, &len) < 0 || !s)
        return -1;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s)
        return -1;
    return v;
}

/* Watches held now by this user's inotify instances, from /proc/PID/fdinfo
 * (one "inotify wd:" line per watch); what cannot be read is not counted. */
static size_t watches_in_use(void)
{
    DIR *proc = opendir("/proc");
    if (!proc)
        return 0;
    size_t total = 0;
    uid_t uid = geteuid();
    struct dirent *p;
    while ((p = readdir(proc))) {
        if (p->d_name[0] < '1' || p->d_name[0] > '9')
            continue;
        char dir[300];
        snprintf(dir, sizeof dir, "/proc/%s/fd", p->d_name);
        struct stat st;
        if (stat(dir, &st) < 0 || st.st_uid != uid)
            continue;
        DIR *fds = opendir(dir);
        if (!fds)
            continue;
        struct dirent *f;
        while ((f = readdir(fds))) {
            char link[PATH_MAX], target[64];
            snprintf(link, sizeof link, "%s/%s", dir, f->d_name);
            ssize_t n = readlink(link, target, sizeof target - 1);
            if (n <= 0)
                continue;
            target[n] = '\0';
            if (!streq(target, "anon_inode:inotify"))
                continue;
            snprintf(link, sizeof link, "/proc/%s/fdinfo/%s", p->d_name, f->d_name);
            FILE *fi = fopen(link, "re");
            if (!fi)
                continue;
            char line[512];
            while (fgets(line, sizeof line, fi))
                if (str_startswith(line, "inotify wd:"))
                    total++;
            fclose(fi);
        }
        closedir(fds);
    }
    closedir(proc);
    return total;
}

char *watch_limit_advice(size_t needed)
{
    long limit = watch_max_user_watches();
    if (limit < 0)
        return NULL;
    size_t used = watches_in_use();
    if (needed + used <= (size_t)limit)
        return NULL;
    size_t want = (needed + used) * 2;
    size_t suggest = SUGGESTED_WATCHES;
    while (suggest < want)
        suggest *= 2;
    if (used > 0)
        return xasprintf("inotify watch limit too low: %zu folders to watch, %zu watches in "
                         "use, limit %ld; run sysctl fs.inotify.max_user_watches=%zu (and add "
                         "it to /etc/sysctl.d/ to keep it)",
                         needed, used, limit, suggest);
    return xasprintf("inotify watch limit too low: %zu folders to watch, limit %ld; run sysctl "
                     "fs.inotify.max_user_watches=%zu (and add it to /etc/sysctl.d/ to keep it)",
                     needed, limit, suggest);
}
