/* sync: puts changed files into a running container and runs commands in
 * it, through the Engine API, for the watch actions `sync`, `sync+restart`
 * and `sync+exec` (containers that do not bind-mount their sources).
 *
 * Files go as one tar body to PUT /containers/{name}/archive?path=TARGET,
 * which the engine unpacks over what is there (parents are created by the
 * engine; a missing TARGET is made first with `mkdir -p`). Deletions are
 * carried out with `rm -rf` through the exec API, which needs an `rm` in
 * the image. Commands run through POST /containers/{name}/exec and
 * /exec/{id}/start, with their output read line by line and the exit code
 * from /exec/{id}/json. Everything runs on the loop. */
#pragma once

#include "engine/engine.h"
#include "lib/util.h"

#include <stdbool.h>
#include <stddef.h>

/* Appends to out a tar (ustar; PAX headers for names over 100 bytes) of
 * the given paths, relative to src_root, under the same relative names:
 * regular files with their content, folders as folder entries (not their
 * contents: list those too), symlinks as links. Paths that no longer exist
 * are left out (counted in *ret_missing, optional). Entries are owned by
 * 0:0 with their permission bits and mtime. Returns the number of entries
 * written, or -errno with a malloc'd *ret_err naming the path (out is then
 * as it was). Reads the files synchronously: a burst of edited sources. */
int sync_tar(const char *src_root, const StrVec *paths, StrBuf *out, size_t *ret_missing, char **ret_err);
/* The same, with names->v[i] the entry's name for paths->v[i] (tend cp,
 * which renames what it copies as docker cp does). */
int sync_tar_named(const char *src_root, const StrVec *paths, const StrVec *names, StrBuf *out,
                   size_t *ret_missing, char **ret_err);

/* Appends one regular file entry (content, mode, owner, mtime) to out;
 * the caller ends the archive. -ENAMETOOLONG past 100 bytes of name. */
int sync_tar_file(StrBuf *out, const char *name, const char *data, size_t len, unsigned mode, unsigned uid,
                  unsigned gid, long long mtime);

typedef struct SyncJob SyncJob;

/* done: ok, or not with a message a person can act on. The job is freed
 * after done returns. */
typedef void (*SyncDoneFn)(void *ud, bool ok, const char *err);

/* Copies `files` (relative to src_root) to the same relative paths under
 * target (absolute, in the container), then removes `deleted` (relative
 * paths) there. Either list may be empty. NULL with *ret_err when the files
 * cannot be read; otherwise done is called exactly once. */
SyncJob *sync_files(Engine *e, const char *container, const char *src_root, const char *target,
                    const StrVec *files, const StrVec *deleted, SyncDoneFn done, void *ud, char **ret_err);

/* Runs argv in the container (workdir: NULL for the image's). Each output
 * line goes to on_line (optional, without its newline); done gets the exit
 * code, or -1 with err when it could not run. The job is freed after done. */
typedef void (*SyncExecDoneFn)(void *ud, int exit_code, const char *err);
SyncJob *sync_exec(Engine *e, const char *container, const StrVec *argv, const char *workdir,
                   void (*on_line)(void *ud, const char *line), SyncExecDoneFn done, void *ud);

/* Drops a job: its request is cancelled and no callback follows. Safe on
 * NULL; not inside its own done. */
void sync_cancel(SyncJob *j);
