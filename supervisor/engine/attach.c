/* attach: the engine's upgraded connections (see attach.h). The answer's
 * head is read up to its blank line; a 101 (or a 200 from engines that do
 * not switch) starts the stream, anything else is an error carrying the
 * engine's words. The object is freed once its pipe is closed. */
#include "engine/attach.h"

#include "lib/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEAD_MAX (64 * 1024)

struct EngineAttach {
    Engine *e;
    uv_pipe_t conn;
    EngineAttachCbs cb;
    void *ud;
    bool tty;
    char *request;
    StrBuf head;   /* the answer's head until its blank line */
    bool upgraded;
    bool closing;
    bool silent;   /* engine_attach_free: no callbacks */
    bool want_shutdown, shut;
    int writes;    /* in flight */
    char *err;
    LogDemux demux;
    uv_shutdown_t shutdown_req;
    /* engine_head: the head is the answer */
    void (*head_done)(void *ud, int status, const char *head, const char *err);
};

static void on_closed(uv_handle_t *h)
{
    EngineAttach *a = h->data;
    if (!a->silent && a->head_done)
        a->head_done(a->ud, 0, NULL, a->err ? a->err : "the engine closed the connection");
    else if (!a->silent && a->cb.closed)
        a->cb.closed(a->ud, a->err);
    strbuf_free(&a->head);
    free(a->request);
    free(a->err);
    free(a);
}

static void attach_end(EngineAttach *a, const char *why)
{
    if (a->closing)
        return;
    a->closing = true;
    if (why && !a->err)
        a->err = xstrdup(why);
    uv_close((uv_handle_t *)&a->conn, on_closed);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    buf->base = xmalloc(suggested);
    buf->len = suggested;
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
    (void)req;
    (void)status;
}

static void maybe_shutdown(EngineAttach *a)
{
    if (!a->want_shutdown || a->shut || a->writes || a->closing || !a->upgraded)
        return;
    a->shut = true;
    uv_shutdown(&a->shutdown_req, (uv_stream_t *)&a->conn, on_shutdown);
}

typedef struct Write {
    uv_write_t req;
    EngineAttach *a;
    char data[];
} Write;

static void on_written(uv_write_t *w, int status)
{
    Write *wr = (Write *)w;
    EngineAttach *a = wr->a;
    (void)status;
    free(wr);
    a->writes--;
    maybe_shutdown(a);
}

static void conn_write(EngineAttach *a, const char *p, size_t n)
{
    Write *w = xmalloc(sizeof *w + (n ? n : 1));
    w->a = a;
    memcpy(w->data, p, n);
    uv_buf_t b = uv_buf_init(w->data, (unsigned)n);
    if (uv_write(&w->req, (uv_stream_t *)&a->conn, &b, 1, on_written) < 0) {
        free(w);
        return;
    }
    a->writes++;
}

static void out_part(void *ud, int stream, const char *p, size_t n)
{
    EngineAttach *a = ud;
    if (!a->silent && a->cb.output && n)
        a->cb.output(a->ud, stream, p, n);
}

static void deliver(EngineAttach *a, const char *p, size_t n)
{
    if (a->tty)
        out_part(a, 1, p, n);
    else
        logdemux_feed(&a->demux, p, n, out_part, a);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    EngineAttach *a = s->data;
    if (n < 0) {
        free(buf->base);
        attach_end(a, a->upgraded ? NULL : "the engine closed the connection");
        return;
    }
    if (a->upgraded) {
        deliver(a, buf->base, (size_t)n);
        free(buf->base);
        return;
    }
    if (strbuf_append(&a->head, buf->base, (size_t)n) < 0) {
        free(buf->base);
        attach_end(a, "the engine's answer has no end");
        return;
    }
    free(buf->base);
    const char *end = a->head.data ? strstr(a->head.data, "\r\n\r\n") : NULL;
    if (!end)
        return;
    int code = 0;
    (void)sscanf(a->head.data, "HTTP/1.%*d %d", &code);
    const char *body = end + 4;
    if (a->head_done) {
        a->head.data[end + 2 - a->head.data] = '\0'; /* the head, with its last line's end */
        a->head_done(a->ud, code, a->head.data, NULL);
        a->silent = true;
        attach_end(a, NULL);
        return;
    }
    if (code != 101 && code != 200) {
        /* The engine's JSON message, when it sent one. */
        json_t *j = json_loads(body, 0, NULL);
        const char *msg = json_string_value(json_object_get(j, "message"));
        _cleanup_free_ char *why = xasprintf("%s (HTTP %d)", msg ? msg : *body ? body : "refused", code);
        json_decref(j);
        attach_end(a, why);
        return;
    }
    a->upgraded = true;
    size_t used = (size_t)(body - a->head.data);
    if (a->cb.upgraded)
        a->cb.upgraded(a->ud);
    if (!a->closing)
        deliver(a, a->head.data + used, a->head.len - used);
    maybe_shutdown(a);
}

static void on_connect(uv_connect_t *req, int status)
{
    EngineAttach *a = req->data;
    free(req);
    if (a->closing)
        return;
    if (status < 0) {
        _cleanup_free_ char *why = xasprintf("cannot connect to the engine: %s", uv_strerror(status));
        attach_end(a, why);
        return;
    }
    conn_write(a, a->request, strlen(a->request));
    uv_read_start((uv_stream_t *)&a->conn, on_alloc, on_read);
}

static EngineAttach *attach_new(Engine *e, uv_loop_t *loop, char *request, const EngineAttachCbs *cbs, void *ud)
{
    EngineAttach *a = xcalloc(1, sizeof *a);
    a->e = e;
    if (cbs)
        a->cb = *cbs;
    a->ud = ud;
    a->request = request;
    strbuf_init(&a->head, HEAD_MAX);
    uv_pipe_init(loop, &a->conn, 0);
    a->conn.data = a;
    uv_connect_t *req = xcalloc(1, sizeof *req);
    req->data = a;
    uv_pipe_connect(req, &a->conn, engine_unix_path(e), on_connect);
    return a;
}

void engine_head(Engine *e, uv_loop_t *loop, const char *path,
                 void (*done)(void *ud, int status, const char *head, const char *err), void *ud)
{
    if (!engine_unix_path(e) || !engine_api_version(e)) {
        done(ud, 0, NULL, "the engine is not on a unix socket");
        return;
    }
    char *request = xasprintf("HEAD /v%s%s HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n",
                              engine_api_version(e), path);
    EngineAttach *a = attach_new(e, loop, request, NULL, ud);
    a->head_done = done;
}

EngineAttach *engine_attach(Engine *e, uv_loop_t *loop, const char *path, const char *json_body, bool tty,
                            const EngineAttachCbs *cbs, void *ud, char **ret_err)
{
    const char *sock = engine_unix_path(e);
    if (!sock || !engine_api_version(e)) {
        *ret_err = xstrdup(sock ? "not connected to the engine"
                                : "an interactive session needs the engine on a unix socket (DOCKER_HOST=unix://...)");
        return NULL;
    }
    const char *body = json_body ? json_body : "";
    char *request = xasprintf("POST /v%s%s HTTP/1.1\r\n"
                           "Host: docker\r\n"
                           "Content-Type: application/json\r\n"
                           "Connection: Upgrade\r\n"
                           "Upgrade: tcp\r\n"
                           "Content-Length: %zu\r\n\r\n%s",
                           engine_api_version(e), path, strlen(body), body);
    EngineAttach *a = attach_new(e, loop, request, cbs, ud);
    a->tty = tty;
    return a;
}

void engine_attach_write(EngineAttach *a, const char *p, size_t n)
{
    if (a->upgraded && !a->closing && !a->want_shutdown && n)
        conn_write(a, p, n);
}

void engine_attach_close_write(EngineAttach *a)
{
    a->want_shutdown = true;
    maybe_shutdown(a);
}

void engine_attach_free(EngineAttach *a)
{
    if (!a)
        return;
    a->silent = true;
    attach_end(a, NULL);
}
