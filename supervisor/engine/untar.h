/* untar: a tar stream unpacked onto the host's disk as it arrives, for
 * tend cp from a container (GET /containers/ID/archive answers with one).
 * It reads what the engine writes (ustar, PAX extended headers for long
 * names, GNU long names): regular files, folders, symlinks and hard links
 * with their permission bits and times; devices and fifos are left out.
 * Files are owned by the user running tend. An entry whose path would land
 * outside the destination ("..", an absolute name) stops the unpacking. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

typedef struct Untar Untar;

/* Called once, with the first entry's name (as in the archive) and
 * whether it is a folder, before anything is written: the caller decides
 * where the archive goes (untar_target). Returns 0, or -errno with a
 * malloc'd *ret_err to stop. */
typedef int (*UntarFirstFn)(void *ud, Untar *u, const char *name, bool is_dir, char **ret_err);

Untar *untar_new(UntarFirstFn first, void *ud);
/* Entries land under dir; the archive's first path component `from` is
 * renamed `to` there (both NULL: names kept). */
void untar_target(Untar *u, const char *dir, const char *from, const char *to);
/* Feeds bytes. 0, or -errno with a malloc'd *ret_err; after an error,
 * the rest is not read. */
int untar_feed(Untar *u, const char *data, size_t len, char **ret_err);
/* The end of the stream: folder modes and times are set. 0, or -errno
 * with *ret_err (an archive cut short). */
int untar_finish(Untar *u, char **ret_err);
/* How many entries were unpacked. */
size_t untar_count(const Untar *u);
void untar_free(Untar *u);
