/* watch: one raw inotify instance on the loop, watching whole trees.
 *
 * uv_fs_event is not used: on Linux it is not recursive and it drops a
 * queue overflow without a word. Here every directory of a tree gets its
 * own watch (ignored directories are pruned during the walk and cost no
 * watch); a directory that appears later is watched at once and scanned,
 * so files created in it before its watch was in place are reported too;
 * renames are paired by cookie; on IN_Q_OVERFLOW the affected trees are
 * rescanned and the owner is told, so that no change is missed.
 *
 * Changes are reported as they are read, one callback per path; gathering
 * a burst (debounce) is the caller's job. */
#pragma once

#include "watch/ignore.h"

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

typedef enum WatchChangeKind {
    WCH_MODIFIED, /* written or attributes changed (IN_CLOSE_WRITE, IN_ATTRIB, IN_MODIFY) */
    WCH_CREATED,  /* a file or folder appeared (also: found by the scan of a new folder) */
    WCH_DELETED,
    WCH_RENAMED,  /* old_path -> path, both inside watched trees */
    WCH_RESCAN,   /* the queue overflowed; the tree was rescanned; path is its root */
} WatchChangeKind;

typedef struct WatchChange {
    WatchChangeKind kind;
    const char *path;     /* absolute */
    const char *old_path; /* WCH_RENAMED: absolute; else NULL */
    bool is_dir;
} WatchChange;

/* tree: the id watcher_add_tree() returned. A path inside several trees is
 * reported once for each. */
typedef void (*WatchCb)(void *ud, int tree, const WatchChange *c);

typedef struct Watcher Watcher;

/* The end of watcher_add_tree_async: status 0 (the tree is watched, its
 * changes are reported from now on) or -errno with err naming the path;
 * folders is how many the tree has (with -ENOSPC too: the walk counts on
 * past the limit, for watch_limit_advice). */
typedef void (*WatchReadyFn)(void *ud, int tree, int status, size_t folders, const char *err);

Watcher *watcher_new(uv_loop_t *loop, WatchCb cb, void *ud);
/* Watches root and every folder under it that `ig` does not exclude (`ig`
 * may be NULL; the watcher keeps a reference, the caller keeps it alive).
 * Returns the tree id (>= 0) or -errno with *err set to a message that
 * names the path; -ENOSPC means the inotify watch limit was reached (see
 * watch_limit_advice()). */
int watcher_add_tree(Watcher *w, const char *root, const Ignore *ig, char **err);
/* The same off the loop, and in one walk with the loading of the tree's
 * .gitignore files: root is walked on a thread of the watcher's own, which
 * reads each folder's .gitignore into ig as it reaches it (the caller did
 * ignore_load_parent_gitignores) and prunes by it. Returns the tree id at
 * once; ready comes on the loop. Until then nothing else may use ig, and
 * no change is read (they wait in the kernel's queue; an overflow is a
 * rescan). A queue overflow's rescan runs on that thread too. */
int watcher_add_tree_async(Watcher *w, const char *root, Ignore *ig, WatchReadyFn ready, void *ud);
/* Whether a walk runs on the watcher's thread: changes wait in the
 * kernel's queue meanwhile, and after an overflow a WCH_RESCAN is still to
 * come. A quiet period should not end during it. */
bool watcher_walking(const Watcher *w);
/* Watches in place now (for tests and the limit check). */
size_t watcher_watch_count(const Watcher *w);
/* Stops watching and frees; safe on NULL. Closes its uv handle. */
void watcher_free(Watcher *w);

/* Folders under root that would be watched (pruned as watcher_add_tree
 * does), without watching them; for the limit check before watching. */
size_t watch_count_dirs(const char *root, const Ignore *ig);
/* /proc/sys/fs/inotify/max_user_watches, or -1 when unreadable. */
long watch_max_user_watches(void);
/* When `needed` (plus what is in use, if known) exceeds the limit: a
 * message saying which sysctl value to set, e.g.
 * "inotify watch limit too low: 12000 folders to watch, limit 8192; run
 *  sysctl fs.inotify.max_user_watches=524288 (and add it to
 *  /etc/sysctl.d/ to keep it)". NULL when it fits. */
char *watch_limit_advice(size_t needed);
