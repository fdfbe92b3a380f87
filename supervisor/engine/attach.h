/* attach: a connection the engine takes over. POST /exec/ID/start and
 * POST /containers/ID/attach, asked with "Upgrade: tcp", answer
 * "101 Switching Protocols" and the HTTP connection becomes a raw two-way
 * byte stream: what is written goes to the process's stdin, what comes back
 * is its output (as it is for a terminal; else multiplexed with 8-byte
 * headers, which are split here). libcurl does not hand such a connection
 * over, so this one request is written by hand on a libuv pipe to the
 * engine's unix socket. Used by `tend exec` and `tend run`. */
#pragma once

#include "engine/engine.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct EngineAttach EngineAttach;

typedef struct EngineAttachCbs {
    /* The connection is upgraded: the process may be started, input may be
     * written. Optional. */
    void (*upgraded)(void *ud);
    /* Output as it arrives: stream 1 (stdout; all of it with a terminal)
     * or 2 (stderr). */
    void (*output)(void *ud, int stream, const char *p, size_t n);
    /* The stream ended (the process's output is complete) or could not be
     * had: err says why (NULL: it ended). Called once; the handle is freed
     * after it returns. */
    void (*closed)(void *ud, const char *err);
} EngineAttachCbs;

/* Connects (on loop, the engine's) and sends `POST path` (no version prefix; the body is JSON text
 * or NULL). tty: the output is raw, not multiplexed. NULL with *ret_err
 * when the engine is not on a unix socket. */
EngineAttach *engine_attach(Engine *e, uv_loop_t *loop, const char *path, const char *json_body, bool tty,
                            const EngineAttachCbs *cbs, void *ud, char **ret_err);
/* A request whose answer is only its head: `HEAD path`, for the headers
 * libcurl's requests do not pass on (the archive API's
 * X-Docker-Container-Path-Stat). done(ud, status, head, err) once: the
 * status and the head's text (status line and headers), or 0 and err. */
void engine_head(Engine *e, uv_loop_t *loop, const char *path,
                 void (*done)(void *ud, int status, const char *head, const char *err), void *ud);

/* Writes input for the process (copied). Dropped before the upgrade. */
void engine_attach_write(EngineAttach *a, const char *p, size_t n);
/* The process's stdin reaches its end: the write side is shut down once
 * what was written has gone. */
void engine_attach_close_write(EngineAttach *a);
/* Closes at once; no callback follows. Not after closed() was called. */
void engine_attach_free(EngineAttach *a);
