/* poll: watching a tree by looking at it again at an interval, for the
 * trees inotify cannot watch (its watch limit is reached). Changes come
 * through the watcher's callback type (watch.h): created, modified,
 * deleted (a rename is a delete and a create), each with the tree id given
 * here. No change is missed between two looks; each look walks the whole
 * tree (ignored folders pruned), so it costs CPU on big trees. */
#pragma once

#include "watch/watch.h"

typedef struct Poller Poller;

/* Takes the first look now, then looks again every interval_ms on loop and
 * reports what changed to cb(ud, id, change). root is absolute; ig may be
 * NULL and must outlive the poller. */
Poller *poller_new(uv_loop_t *loop, const char *root, const Ignore *ig, unsigned interval_ms, WatchCb cb,
                   void *ud, int id);
/* Paths seen at the last look. */
size_t poller_count(const Poller *p);
/* Stops and frees (safe inside its callback, and on NULL). */
void poller_free(Poller *p);
