/* engine: a Docker Engine API client on the loop. HTTP goes through
 * libcurl's multi interface driven by libuv (CURLOPT_UNIX_SOCKET_PATH for
 * unix:// hosts), JSON through jansson. The API version is negotiated from
 * /_ping and every request uses the versioned path (/v1.41/...). Nothing
 * blocks: each request ends in one callback on the loop.
 *
 * Errors a person can act on: an engine that cannot be reached, or a socket
 * without permission, is told apart and named with what to do; an error
 * from the engine carries the engine's own "message". */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

typedef struct Engine Engine;
typedef struct EngineReq EngineReq;

/* status: the HTTP status, or 0 when the request never got an answer.
 * body: the parsed JSON answer when there was one (borrowed: valid during
 * the call; json_incref to keep it). err: NULL on 2xx; else the engine's
 * message ("No such container: x") or the transport's, in words a person can
 * act on ("cannot reach the Docker engine at /var/run/docker.sock: ...
 * is it running?", "permission denied on /var/run/docker.sock: add
 * yourself to the docker group or set DOCKER_HOST"). */
typedef void (*EngineDoneFn)(void *ud, int status, json_t *body, const char *err);
/* A piece of a streamed answer body, as it arrives. */
typedef void (*EngineChunkFn)(void *ud, const char *data, size_t len);

/* host: "unix:///path", "tcp://host:port", or NULL for $DOCKER_HOST, else
 * unix:///var/run/docker.sock. Returns NULL with *ret_err for a host it
 * cannot use ("unsupported DOCKER_HOST \"ssh://x\": use unix:// or tcp://"). */
Engine *engine_new(uv_loop_t *loop, const char *host, char **ret_err);
/* Frees the engine; pending requests are cancelled without callbacks. */
void engine_free(Engine *e);

/* Pings the engine and picks the API version: the engine's
 * API-Version header, capped at the newest this client knows (1.45).
 * done(ud, ok, err). Requests made before it finished wait for it. */
void engine_connect(Engine *e, void (*done)(void *ud, bool ok, const char *err), void *ud);
/* "1.41" once connected; NULL before. */
const char *engine_api_version(const Engine *e);
/* The socket path of a unix:// engine; NULL for tcp://. For the few calls
 * that take over the connection (an interactive exec). */
const char *engine_unix_path(const Engine *e);
/* Where the engine is, for messages: its socket path or host:port. */
const char *engine_where(const Engine *e);
/* Whether the negotiated version is at least major.minor. */
bool engine_api_at_least(const Engine *e, int major, int minor);

/* A request with an optional JSON body (borrowed; serialized at once).
 * path has no version prefix ("/containers/json?all=1"); query values must
 * be escaped by the caller (engine_escape). */
EngineReq *engine_request(Engine *e, const char *method, const char *path, json_t *body,
                          EngineDoneFn done, void *ud);
/* The same, but the answer body is streamed to on_chunk as it arrives
 * (logs, events, pull progress, build output, /wait); done gets body NULL.
 * No timeout. */
EngineReq *engine_stream(Engine *e, const char *method, const char *path, json_t *body,
                         EngineChunkFn on_chunk, EngineDoneFn done, void *ud);
/* A request whose body is raw bytes (a tar for /build or the archive API);
 * data is copied. The answer is streamed when on_chunk is set. */
EngineReq *engine_upload(Engine *e, const char *method, const char *path, const char *content_type,
                         const void *data, size_t len, EngineChunkFn on_chunk, EngineDoneFn done,
                         void *ud);
/* Cancels; its done is not called. Safe inside any callback. */
void engine_cancel(EngineReq *r);

/* URL query escaping, malloc'd. */
char *engine_escape(const char *s);

/* ---- stream helpers (pure, no I/O) ---- */

/* Splits the multiplexed stream of logs/attach for containers without a
 * tty: 8-byte headers [stream, 0, 0, 0, size32be] then the payload. Feed
 * pieces as they come; each payload part goes to out (stream 1 stdout,
 * 2 stderr) as soon as it is known, in order. */
typedef struct LogDemux {
    unsigned char hdr[8];
    size_t hdr_len;
    size_t remaining;
    int stream;
} LogDemux;
void logdemux_feed(LogDemux *d, const char *data, size_t len,
                   void (*out)(void *ud, int stream, const char *p, size_t n), void *ud);

/* Splits a stream of JSON objects separated by newlines (events, pull and
 * build progress) and calls fn with each parsed object (borrowed). Lines
 * that are not JSON are skipped. A line longer than 1 MiB is dropped. */
typedef struct JsonLines {
    char *buf;
    size_t len, cap;
    bool dropping;
} JsonLines;
void jsonlines_feed(JsonLines *j, const char *data, size_t len, void (*fn)(void *ud, json_t *obj),
                    void *ud);
void jsonlines_free(JsonLines *j);
