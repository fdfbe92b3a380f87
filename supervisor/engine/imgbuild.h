/* imgbuild: builds a service's image from its build context through the
 * Docker Engine API (POST /build, the classic builder), for services with
 * `build:` whose image is missing. The context folder is packed into a tar
 * here, honouring .dockerignore as the docker CLI does, and sent as the
 * request body; the engine's JSON-lines answer is turned into text lines
 * and one final result.
 *
 * Error messages are in words a person can act on:
 *   "remote build contexts are not supported: URL"
 *   "cannot read CONTEXT/x: Permission denied"
 *   "build context CONTEXT is larger than 2048 MiB (list what it does not need in
 *    CONTEXT/.dockerignore)"
 *   "invalid pattern \"[a\" in CONTEXT/.dockerignore"
 * and, from the engine, its own words: "Cannot locate specified Dockerfile:
 * Dockerfile", "The command '/bin/sh -c exit 3' returned a non-zero code: 3". */
#pragma once

#include "engine/engine.h"
#include "lib/env.h"
#include "lib/util.h"

#include <stdbool.h>

/* The largest context sent: the tar is held in memory (and copied once
 * more by the request), so this bounds what a build costs. */
#define IMAGE_BUILD_CONTEXT_MAX ((size_t)2 << 30)

/* Appends to out a tar (ustar; PAX headers for paths and link targets over
 * 100 bytes) of the folder context_dir, leaving out what its .dockerignore
 * excludes. Patterns are read as the docker CLI reads them: lines starting
 * with '#' are comments, blanks are trimmed, `*` and `?` stay within one
 * path component, `**` spans any number of them, `[...]` is a class, `\`
 * escapes, a leading `!` makes an exception, a pattern is relative to the
 * context (a leading '/' is dropped) and excludes what it names and all
 * below it; the last matching pattern decides. As in the CLI, a pattern
 * that starts with `**` and has no other wildcard matches as "ends with"
 * ("**.md" takes "docs/README.md"). An excluded folder is walked only when
 * an exception names a path inside it. The Dockerfile and .dockerignore
 * are always sent (the engine drops them from the build when excluded).
 *
 * dockerfile: as Compose's `build.dockerfile`, relative to the context
 * (NULL: "Dockerfile") or absolute. One outside the context is added as
 * ".dockerfile.tend". *ret_dockerfile (optional) gets, malloc'd, the name
 * to pass to the engine.
 *
 * Entries: regular files, folders (as "dir/") and symlinks (as links, not
 * followed) with their permission bits and mtime, owned by 0:0, in name
 * order. Sockets, fifos and devices are left out. A missing Dockerfile is
 * not checked here: the engine reports it.
 *
 * out: initialised by the caller; out->max is the size cap
 * (IMAGE_BUILD_CONTEXT_MAX for a build). Returns 0, or -errno with a
 * malloc'd *ret_err and out as it was before the call (-E2BIG when the
 * context passes the cap). Reads the files synchronously. */
int build_context_tar(const char *context_dir, const char *dockerfile, StrBuf *out,
                      char **ret_dockerfile, char **ret_err);

/* Whether a build context is remote (a URL or a git address): those are
 * not supported. */
bool build_context_is_remote(const char *context);

typedef struct ImageBuild ImageBuild;

/* Builds an image from context_dir (an absolute path) and tags it tag:
 * POST /build?t=TAG&dockerfile=..&target=..&buildargs=..&labels=..&rm=1&forcerm=1
 * with the context as an application/x-tar body. target may be NULL; args
 * (build arguments; a NULL value is sent as null, the Dockerfile's default)
 * and labels (a NULL value as "") may be NULL or empty.
 *
 * The context is read and packed before this returns: synchronously, which
 * a developer's project context (capped at IMAGE_BUILD_CONTEXT_MAX) allows;
 * everything after runs on the loop. An error found there (a remote context,
 * an unreadable file, a context too large) returns NULL with a malloc'd
 * *ret_err, and no callback is made.
 *
 * Otherwise: each line of the builder's output goes to on_line (optional)
 * without its newline ("Step 1/3 : FROM tend/busybox", the RUN commands'
 * output, "Successfully tagged x:latest"); then done is called exactly once:
 * ok, or not with the engine's error (the builder's "error" message, the
 * engine's answer to the request, or the transport's). The handle is freed
 * after done returns. */
ImageBuild *image_build(Engine *e, const char *context_dir, const char *dockerfile,
                        const char *target, const Env *args, const char *tag, const Env *labels,
                        void (*on_line)(void *ud, const char *line),
                        void (*done)(void *ud, bool ok, const char *err), void *ud,
                        char **ret_err);

/* The same with flags (tend build): */
#define IMAGE_BUILD_NO_CACHE 1u /* nothing from the build cache */
#define IMAGE_BUILD_PULL 2u     /* the FROM images pulled again */
ImageBuild *image_build_with(unsigned flags, Engine *e, const char *context_dir, const char *dockerfile,
                             const char *target, const Env *args, const char *tag, const Env *labels,
                             void (*on_line)(void *ud, const char *line),
                             void (*done)(void *ud, bool ok, const char *err), void *ud,
                             char **ret_err);

/* Stops a build: the request is dropped (the engine stops the build when the
 * connection closes and, with forcerm, removes its containers); no callback
 * follows. Safe inside on_line; does nothing inside done or for NULL. */
void image_build_cancel(ImageBuild *b);
