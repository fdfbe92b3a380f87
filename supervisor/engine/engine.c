/* engine: a Docker Engine API client on the caller's libuv loop. Each
 * Engine owns one libcurl multi handle driven by libuv (a uv_poll_t per
 * socket curl wants watched, one uv_timer_t for curl's timeout), so many
 * requests and long streams share the loop without threads or blocking.
 *
 * Life of a request: it is queued until the API version is known (the
 * first request connects if nobody did), then added to the multi. When
 * curl reports it done it is removed, its done callback runs, and it is
 * freed. Callers may cancel or free from any callback, including curl's
 * write callback where curl must not be re-entered: such work is deferred
 * to the moment curl returns (the "in_curl" count), and the Engine itself
 * is freed only when no callback of ours is on the stack (the "busy" count)
 * and libuv has closed every handle. */
#include "engine/engine.h"

#include "lib/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>

#define API_MAX_MAJOR 1 /* the newest API version this client knows: 1.45 */
#define API_MAX_MINOR 45
#define BODY_MAX ((size_t)64 << 20)     /* a buffered answer */
#define JSON_LINE_MAX ((size_t)1 << 20) /* one line of a JSON stream */
#define CONNECT_TIMEOUT_MS 10000L       /* connecting only: streams have no timeout */
#define DEFAULT_HOST "unix:///var/run/docker.sock"

typedef enum ConnState {
    CONN_IDLE,    /* no version yet, nobody asking */
    CONN_PINGING, /* /_ping (then /version) in flight */
    CONN_READY,
} ConnState;

typedef enum ReqKind {
    REQ_USER,
    REQ_PING,    /* GET /_ping, unversioned */
    REQ_VERSION, /* GET /version, unversioned: no Api-Version header */
} ReqKind;

typedef struct ConnWaiter {
    struct ConnWaiter *next;
    void (*done)(void *ud, bool ok, const char *err);
    void *ud;
} ConnWaiter;

typedef struct EngineSocket {
    uv_poll_t poll;
    curl_socket_t fd;
    int events; /* what curl asked to watch */
    Engine *e;
    struct EngineSocket *prev, *next; /* in e->sockets while open */
} EngineSocket;

struct EngineReq {
    Engine *e;
    EngineReq *prev, *next; /* in e->reqs while live, in e->dead once cancelled */
    ReqKind kind;
    char *method, *path, *content_type;
    char *data; /* the request body (owned), NULL for none */
    size_t len;
    EngineChunkFn on_chunk; /* set: the answer is streamed */
    EngineDoneFn done;
    void *ud;

    CURL *easy;
    struct curl_slist *headers;
    bool queued;    /* waiting to be added to the multi */
    bool in_multi;
    bool cancelled; /* nothing reaches the caller any more */
    bool finished;  /* done is running or has run */
    bool too_big;   /* the answer passed BODY_MAX */
    bool head_done; /* the blank line that ends the answer's headers came */
    char *fail;     /* an error found while starting, reported from e->soon */
    StrBuf resp;    /* the buffered answer (or a stream's error answer) */
    char api_version[16];
    char errbuf[CURL_ERROR_SIZE];
};

struct Engine {
    uv_loop_t *loop;
    char *sock_path; /* unix:// hosts */
    char *base_url;  /* "http://localhost" or "http://host:port" */
    char *where;     /* for messages: the socket path or host:port */
    CURLM *multi;
    uv_timer_t timer; /* curl's timeout */
    uv_timer_t soon;  /* failures found while starting a request */
    unsigned refs;    /* libuv handles not yet closed, plus one until engine_free */

    ConnState conn;
    char version[16];
    ConnWaiter *waiters;

    EngineReq *reqs, *reqs_tail; /* live requests, oldest first */
    EngineReq *dead;             /* cancelled inside curl, removed when it returns */
    EngineSocket *sockets;

    unsigned in_curl; /* > 0 inside curl_multi_socket_action */
    unsigned busy;    /* > 0 while one of our loop callbacks runs */
    bool freed;       /* engine_free was called */
    bool closing;     /* tearing down: curl's socket callbacks are ignored */
};

static void engine_flush(Engine *e);
static void engine_maybe_destroy(Engine *e);
static void req_destroy(EngineReq *r);
static void on_soon(uv_timer_t *t);

/* ---- host ---- */

static int parse_host(Engine *e, const char *host, char **ret_err)
{
    if (str_startswith(host, "unix://")) {
        const char *path = host + strlen("unix://");
        if (!*path) {
            *ret_err = xasprintf("unsupported DOCKER_HOST \"%s\": no socket path", host);
            return -EINVAL;
        }
        e->sock_path = xstrdup(path);
        e->where = xstrdup(path);
        e->base_url = xstrdup("http://localhost");
        return 0;
    }
    if (str_startswith(host, "tcp://")) {
        const char *hp = host + strlen("tcp://");
        size_t n = strcspn(hp, "/");
        if (n == 0) {
            *ret_err = xasprintf("unsupported DOCKER_HOST \"%s\": no host", host);
            return -EINVAL;
        }
        /* The engine's plain-HTTP port when none is given, as the docker CLI. */
        const char *colon = NULL, *bracket = NULL; /* the last of each in host:port */
        for (size_t i = 0; i < n; i++) {
            if (hp[i] == ':')
                colon = hp + i;
            else if (hp[i] == ']')
                bracket = hp + i;
        }
        bool has_port = colon && (!bracket || colon > bracket);
        e->where = has_port ? xstrndup(hp, n) : xasprintf("%.*s:2375", (int)n, hp);
        e->base_url = xasprintf("http://%s", e->where);
        return 0;
    }
    *ret_err = xasprintf("unsupported DOCKER_HOST \"%s\": use unix:// or tcp://", host);
    return -EINVAL;
}

/* ---- curl on libuv ---- */

static void on_handle_closed(uv_handle_t *h)
{
    Engine *e = h->data;
    if (--e->refs == 0)
        free(e);
}

static void on_socket_closed(uv_handle_t *h)
{
    EngineSocket *s = h->data;
    Engine *e = s->e;
    free(s);
    if (--e->refs == 0)
        free(e);
}

static void socket_close(Engine *e, EngineSocket *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        e->sockets = s->next;
    if (s->next)
        s->next->prev = s->prev;
    s->prev = s->next = NULL;
    uv_close((uv_handle_t *)&s->poll, on_socket_closed);
}

static void engine_dispatch(Engine *e);

/* Work that waited for curl to return: requests cancelled inside it are
 * removed, requests made inside it are added, finished ones reported. */
static void after_curl(Engine *e)
{
    while (e->dead) {
        EngineReq *r = e->dead;
        e->dead = r->next;
        r->next = NULL;
        req_destroy(r);
    }
    if (e->freed)
        return;
    engine_flush(e);
    engine_dispatch(e);
}

static void socket_action(Engine *e, curl_socket_t fd, int flags)
{
    int running;
    e->busy++;
    e->in_curl++;
    curl_multi_socket_action(e->multi, fd, flags, &running);
    e->in_curl--;
    after_curl(e);
    e->busy--;
    engine_maybe_destroy(e);
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    EngineSocket *s = h->data;
    int flags = 0;
    if (status < 0) {
        /* libuv stopped the handle on POLLERR. curl reads or writes to
         * learn the error and usually drops the socket; if it keeps it,
         * watching resumes, since curl will not ask again. */
        flags |= CURL_CSELECT_ERR;
        events = s->events;
    }
    if (events & UV_READABLE)
        flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
        flags |= CURL_CSELECT_OUT;
    socket_action(s->e, s->fd, flags);
    /* s is freed only by its close callback, after this returns. */
    if (status < 0 && !uv_is_closing((uv_handle_t *)&s->poll) && s->events)
        uv_poll_start(&s->poll, s->events, on_poll);
}

static void on_curl_timer(uv_timer_t *t)
{
    socket_action(t->data, CURL_SOCKET_TIMEOUT, 0);
}

/* CURLMOPT_SOCKETFUNCTION. curl says REMOVE before it closes a socket,
 * and uv_close unregisters the fd at once, so libuv never polls a closed
 * (or reused) descriptor. */
static int on_curl_socket(CURL *easy, curl_socket_t fd, int what, void *ud, void *sockp)
{
    Engine *e = ud;
    EngineSocket *s = sockp;
    if (e->closing)
        return 0;
    if (what == CURL_POLL_REMOVE) {
        if (s) {
            curl_multi_assign(e->multi, fd, NULL);
            socket_close(e, s);
        }
        return 0;
    }
    if (!s) {
        s = xcalloc(1, sizeof *s);
        if (uv_poll_init_socket(e->loop, &s->poll, fd) < 0) {
            free(s);
            return -1;
        }
        s->poll.data = s;
        s->fd = fd;
        s->e = e;
        s->next = e->sockets;
        if (e->sockets)
            e->sockets->prev = s;
        e->sockets = s;
        e->refs++;
        curl_multi_assign(e->multi, fd, s);
    }
    int events = 0;
    if (what & CURL_POLL_IN)
        events |= UV_READABLE;
    if (what & CURL_POLL_OUT)
        events |= UV_WRITABLE;
    s->events = events;
    return uv_poll_start(&s->poll, events, on_poll) < 0 ? -1 : 0;
}

/* CURLMOPT_TIMERFUNCTION. A zero timeout goes through the loop too: curl
 * must not be re-entered from its own callback. */
static int on_curl_timeout(CURLM *multi, long ms, void *ud)
{
    Engine *e = ud;
    if (e->closing)
        return 0;
    if (ms < 0)
        uv_timer_stop(&e->timer);
    else
        uv_timer_start(&e->timer, on_curl_timer, (uint64_t)ms, 0);
    return 0;
}

/* ---- requests ---- */

static void req_link(Engine *e, EngineReq *r)
{
    r->prev = e->reqs_tail;
    r->next = NULL;
    if (e->reqs_tail)
        e->reqs_tail->next = r;
    else
        e->reqs = r;
    e->reqs_tail = r;
}

static void req_unlink(Engine *e, EngineReq *r)
{
    if (r->prev)
        r->prev->next = r->next;
    else
        e->reqs = r->next;
    if (r->next)
        r->next->prev = r->prev;
    else
        e->reqs_tail = r->prev;
    r->prev = r->next = NULL;
}

/* Frees a request that is in no list; removes it from the multi first.
 * Never called inside curl. */
static void req_destroy(EngineReq *r)
{
    if (r->in_multi)
        curl_multi_remove_handle(r->e->multi, r->easy);
    curl_easy_cleanup(r->easy);
    curl_slist_free_all(r->headers);
    free(r->method);
    free(r->path);
    free(r->content_type);
    free(r->data);
    free(r->fail);
    strbuf_free(&r->resp);
    free(r);
}

static EngineReq *req_new(Engine *e, ReqKind kind, const char *method, const char *path)
{
    EngineReq *r = xcalloc(1, sizeof *r);
    r->e = e;
    r->kind = kind;
    r->method = xstrdup(method ? method : "GET");
    r->path = xstrdup(path ? path : "/");
    strbuf_init(&r->resp, BODY_MAX);
    r->queued = true;
    req_link(e, r);
    return r;
}

static size_t on_curl_header(char *data, size_t size, size_t n, void *ud)
{
    EngineReq *r = ud;
    size_t len = size * n;
    static const char name[] = "Api-Version:";
    /* curl takes an answer whose headers were cut off for a whole one. */
    if (len >= 5 && strncmp(data, "HTTP/", 5) == 0)
        r->head_done = false;
    else if ((len == 2 && data[0] == '\r' && data[1] == '\n') || (len == 1 && data[0] == '\n'))
        r->head_done = true;
    if (len > sizeof name - 1 && strncasecmp(data, name, sizeof name - 1) == 0) {
        const char *v = data + sizeof name - 1;
        const char *end = data + len;
        while (v < end && (*v == ' ' || *v == '\t'))
            v++;
        size_t vl = 0;
        while (v + vl < end && v[vl] != '\r' && v[vl] != '\n' && v[vl] != ' ')
            vl++;
        if (vl < sizeof r->api_version) {
            memcpy(r->api_version, v, vl);
            r->api_version[vl] = '\0';
        }
    }
    return len;
}

/* Streamed answers go to on_chunk, except an error answer (>= 400),
 * which is buffered for its message. Returning short makes curl abort
 * the transfer: that is how a request cancelled in here stops at once. */
static size_t on_curl_write(char *data, size_t size, size_t n, void *ud)
{
    EngineReq *r = ud;
    size_t len = size * n;
    if (r->cancelled || r->e->freed)
        return len ? 0 : 1;
    if (r->on_chunk) {
        long code = 0;
        curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &code);
        if (code < 400) {
            r->on_chunk(r->ud, data, len);
            return r->cancelled || r->e->freed ? (len ? 0 : 1) : len;
        }
    }
    if (strbuf_append(&r->resp, data, len) < 0) {
        r->too_big = true;
        return len ? 0 : 1;
    }
    return len;
}

/* Builds the transfer and hands it to the multi. Never calls the caller:
 * a failure is reported from the soon timer. */
static void req_add(EngineReq *r)
{
    Engine *e = r->e;
    CURL *c = curl_easy_init();
    if (!c) {
        r->fail = xstrdup("Docker engine request failed: out of memory");
        uv_timer_start(&e->soon, on_soon, 0, 0);
        return;
    }
    r->easy = c;
    char *url = r->kind == REQ_USER ? xasprintf("%s/v%s%s", e->base_url, e->version, r->path)
                                    : xasprintf("%s%s", e->base_url, r->path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    free(url);
    if (e->sock_path)
        curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, e->sock_path);
    curl_easy_setopt(c, CURLOPT_PRIVATE, (char *)r);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_curl_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_curl_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, r->errbuf);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*"); /* $http_proxy is not for the engine */
    curl_easy_setopt(c, CURLOPT_USERAGENT, "tend");
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS);
    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http");
#endif

    /* No "Expect: 100-continue" wait before large bodies. */
    r->headers = curl_slist_append(r->headers, "Expect:");
    bool get = strcmp(r->method, "GET") == 0;
    if (get && !r->data) {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    } else if (strcmp(r->method, "HEAD") == 0) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (r->data || strcmp(r->method, "POST") == 0) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->len);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, r->data ? r->data : "");
        if (strcmp(r->method, "POST") != 0)
            curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, r->method);
        /* Without a body, no Content-Type at all: curl's default form type
         * would make the engine reject some empty POSTs. */
        char *ct = r->data ? xasprintf("Content-Type: %s", r->content_type)
                           : xstrdup("Content-Type:");
        r->headers = curl_slist_append(r->headers, ct);
        free(ct);
    } else {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, r->method);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, r->headers);

    CURLMcode mc = curl_multi_add_handle(e->multi, c);
    if (mc != CURLM_OK) {
        r->fail = xasprintf("Docker engine request failed: %s", curl_multi_strerror(mc));
        uv_timer_start(&e->soon, on_soon, 0, 0);
        return;
    }
    r->in_multi = true;
}

/* Adds the requests that can go now: the connection's own at once, the
 * caller's once the version is known. Outside curl only. */
static void engine_flush(Engine *e)
{
    if (e->in_curl || e->freed)
        return;
    for (EngineReq *r = e->reqs; r; r = r->next) {
        if (!r->queued || (r->kind == REQ_USER && e->conn != CONN_READY))
            continue;
        r->queued = false;
        req_add(r);
    }
}

/* ---- errors ---- */

/* A failed transfer, in words a person can act on. */
static char *transport_error(const Engine *e, CURLcode res, long os_errno, const char *errbuf)
{
    if (res == CURLE_COULDNT_CONNECT) {
        if (os_errno == EACCES || os_errno == EPERM)
            return xasprintf("permission denied on %s: add your user to the docker group, or "
                             "set DOCKER_HOST",
                             e->where);
        if (os_errno == ENOENT || os_errno == ECONNREFUSED)
            return xasprintf("cannot reach the Docker engine at %s: is it running? (set "
                             "DOCKER_HOST to use another)",
                             e->where);
    }
    return xasprintf("Docker engine request failed: %s",
                     errbuf && *errbuf ? errbuf : curl_easy_strerror(res));
}

/* The engine's own words for an error answer: {"message": "..."}. */
static char *answer_error(long status, const json_t *body)
{
    const char *msg = json_string_value(json_object_get(body, "message"));
    if (msg && *msg)
        return xstrdup(msg);
    return xasprintf("HTTP %ld", status);
}

/* ---- connecting ---- */

/* "1.41" from the engine, capped at the newest version known here. */
static bool set_version(Engine *e, const char *v)
{
    int major, minor;
    if (!v || sscanf(v, "%d.%d", &major, &minor) != 2 || major < 1 || minor < 0)
        return false;
    if (major > API_MAX_MAJOR || (major == API_MAX_MAJOR && minor > API_MAX_MINOR)) {
        major = API_MAX_MAJOR;
        minor = API_MAX_MINOR;
    }
    snprintf(e->version, sizeof e->version, "%d.%d", major, minor);
    return true;
}

static void connect_start(Engine *e)
{
    e->conn = CONN_PINGING;
    req_new(e, REQ_PING, "GET", "/_ping");
    engine_flush(e);
}

/* Ends the connection attempt: on success the waiting requests go out; on
 * failure they end with its error. Then the engine_connect callers hear.
 * Any callback may free the engine, which ends the loop. */
static void connect_done(Engine *e, const char *err)
{
    _cleanup_free_ char *copy = err ? xstrdup(err) : NULL;
    if (!copy) {
        e->conn = CONN_READY;
        engine_flush(e);
    } else {
        e->conn = CONN_IDLE; /* the next request tries again */
        for (;;) {
            EngineReq *r = e->reqs;
            while (r && !(r->queued && r->kind == REQ_USER))
                r = r->next;
            if (!r || e->freed)
                break;
            req_unlink(e, r);
            r->finished = true;
            r->done(r->ud, 0, NULL, copy);
            req_destroy(r);
        }
    }
    ConnWaiter *w = e->waiters;
    e->waiters = NULL;
    while (w) {
        ConnWaiter *next = w->next;
        if (!e->freed)
            w->done(w->ud, !copy, copy);
        free(w);
        w = next;
    }
}

/* ---- completion ---- */

/* Reports an ended request and frees it. The request is out of every list
 * first, so the callback may cancel anything, even free the engine. */
static void req_complete(EngineReq *r, int status, json_t *body, const char *err)
{
    Engine *e = r->e;
    req_unlink(e, r);
    r->finished = true;
    switch (r->kind) {
    case REQ_USER:
        r->done(r->ud, status, body, err);
        break;
    case REQ_PING:
        if (set_version(e, r->api_version)) {
            connect_done(e, NULL);
        } else if (err && status == 0) {
            connect_done(e, err);
        } else {
            /* An engine without the header: ask /version instead. */
            req_new(e, REQ_VERSION, "GET", "/version");
            engine_flush(e);
        }
        break;
    case REQ_VERSION:
        if (!err && set_version(e, json_string_value(json_object_get(body, "ApiVersion")))) {
            connect_done(e, NULL);
        } else {
            _cleanup_free_ char *m =
                err && status == 0 ? xstrdup(err)
                                   : xasprintf("cannot get the Docker engine's API version: %s",
                                               err ? err : "no ApiVersion in /version");
            connect_done(e, m);
        }
        break;
    }
    req_destroy(r);
}

static void req_transfer_done(EngineReq *r, CURLcode res)
{
    Engine *e = r->e;
    long status = 0, os_errno = 0;
    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(r->easy, CURLINFO_OS_ERRNO, &os_errno);
    curl_multi_remove_handle(e->multi, r->easy);
    r->in_multi = false;

    json_t *body = NULL;
    _cleanup_free_ char *err = NULL;
    if (r->too_big) {
        err = xasprintf("the Docker engine's answer is larger than %zu MiB", BODY_MAX >> 20);
    } else if (res != CURLE_OK) {
        err = transport_error(e, res, os_errno, r->errbuf);
    } else if (status == 0 || !r->head_done) {
        err = xasprintf("the Docker engine at %s sent %s", e->where,
                        status ? "an answer cut off in its headers" : "no HTTP answer");
    } else {
        json_error_t je;
        if (r->resp.len > 0)
            body = json_loadb(r->resp.data, r->resp.len, JSON_DECODE_ANY, &je);
        char *ctype = NULL;
        curl_easy_getinfo(r->easy, CURLINFO_CONTENT_TYPE, &ctype);
        if (status >= 400)
            err = answer_error(status, body);
        else if (!body && r->resp.len > 0 && !r->on_chunk && ctype && strstr(ctype, "json"))
            err = xasprintf("the Docker engine sent a malformed answer (HTTP %ld, %zu bytes): %s", status,
                            r->resp.len, je.text);
        if (r->on_chunk && body) {
            json_decref(body); /* a stream's done gets no body */
            body = NULL;
        }
    }
    req_complete(r, (int)status, body, err);
    json_decref(body);
}

static void engine_dispatch(Engine *e)
{
    CURLMsg *msg;
    int left;
    while (!e->freed && (msg = curl_multi_info_read(e->multi, &left))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        char *priv = NULL;
        CURLcode res = msg->data.result;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
        req_transfer_done((EngineReq *)(void *)priv, res);
    }
}

static void on_soon(uv_timer_t *t)
{
    Engine *e = t->data;
    e->busy++;
    while (!e->freed) {
        EngineReq *r = e->reqs;
        while (r && !r->fail)
            r = r->next;
        if (!r)
            break;
        _cleanup_free_ char *err = TAKE_PTR(r->fail);
        req_complete(r, 0, NULL, err);
    }
    e->busy--;
    engine_maybe_destroy(e);
}

/* ---- the engine ---- */

/* Without DOCKER_HOST: Docker's socket, else Podman's (rootful, then the
 * user's own), else Docker's again for the message. */
static const char *default_host(char buf[], size_t size)
{
    if (access("/var/run/docker.sock", F_OK) == 0)
        return DEFAULT_HOST;
    if (access("/run/podman/podman.sock", F_OK) == 0)
        return "unix:///run/podman/podman.sock";
    const char *rt = getenv("XDG_RUNTIME_DIR");
    if (rt && *rt) {
        snprintf(buf, size, "unix://%s/podman/podman.sock", rt);
        if (access(buf + strlen("unix://"), F_OK) == 0)
            return buf;
    }
    return DEFAULT_HOST;
}

Engine *engine_new(uv_loop_t *loop, const char *host, char **ret_err)
{
    static bool curl_ready;
    char found[4200];
    if (!host) {
        const char *env = getenv("DOCKER_HOST");
        host = env && *env ? env : default_host(found, sizeof found);
    }
    Engine *e = xcalloc(1, sizeof *e);
    char *err = NULL;
    if (parse_host(e, host, &err) < 0) {
        free(e->sock_path);
        free(e->where);
        free(e->base_url);
        free(e);
        if (ret_err)
            *ret_err = err;
        else
            free(err);
        return NULL;
    }
    if (!curl_ready) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        curl_ready = true;
    }
    e->multi = curl_multi_init();
    if (!e->multi) {
        free(e->sock_path);
        free(e->where);
        free(e->base_url);
        free(e);
        if (ret_err)
            *ret_err = xstrdup("Docker engine client: out of memory");
        return NULL;
    }
    e->loop = loop;
    curl_multi_setopt(e->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
    curl_multi_setopt(e->multi, CURLMOPT_SOCKETDATA, e);
    curl_multi_setopt(e->multi, CURLMOPT_TIMERFUNCTION, on_curl_timeout);
    curl_multi_setopt(e->multi, CURLMOPT_TIMERDATA, e);
    uv_timer_init(loop, &e->timer);
    e->timer.data = e;
    uv_timer_init(loop, &e->soon);
    e->soon.data = e;
    e->refs = 3; /* two timers, and the engine until engine_free */
    return e;
}

/* The last step of engine_free, once none of our callbacks is running:
 * curl lets go of its sockets (their polls are closed first, so libuv
 * never watches a descriptor curl closed), then the timers close. */
static void engine_destroy(Engine *e)
{
    while (e->reqs) {
        EngineReq *r = e->reqs;
        req_unlink(e, r);
        req_destroy(r);
    }
    after_curl(e); /* the requests cancelled inside curl */
    e->closing = true;
    while (e->sockets)
        socket_close(e, e->sockets);
    curl_multi_cleanup(e->multi);
    e->multi = NULL;
    ConnWaiter *w = e->waiters;
    while (w) {
        ConnWaiter *next = w->next;
        free(w);
        w = next;
    }
    e->waiters = NULL;
    free(e->sock_path);
    free(e->where);
    free(e->base_url);
    uv_close((uv_handle_t *)&e->timer, on_handle_closed);
    uv_close((uv_handle_t *)&e->soon, on_handle_closed);
    if (--e->refs == 0)
        free(e);
}

static void engine_maybe_destroy(Engine *e)
{
    if (e->freed && e->busy == 0 && !e->closing)
        engine_destroy(e);
}

/* Drops a live request without a word to its caller. Inside curl its
 * transfer is only marked (its write callback then stops it) and is
 * removed when curl returns. */
static void req_cancel(EngineReq *r)
{
    Engine *e = r->e;
    r->cancelled = true;
    req_unlink(e, r);
    if (e->in_curl) {
        r->next = e->dead;
        e->dead = r;
        return;
    }
    req_destroy(r);
}

void engine_free(Engine *e)
{
    if (!e || e->freed)
        return;
    e->freed = true;
    /* Every request is cancelled now; inside curl the transfers are only
     * marked and are removed when curl returns. */
    while (e->reqs)
        req_cancel(e->reqs);
    engine_maybe_destroy(e);
}

void engine_connect(Engine *e, void (*done)(void *ud, bool ok, const char *err), void *ud)
{
    if (done) {
        ConnWaiter *w = xcalloc(1, sizeof *w), **p = &e->waiters;
        w->done = done;
        w->ud = ud;
        while (*p)
            p = &(*p)->next;
        *p = w;
    }
    if (e->conn != CONN_PINGING)
        connect_start(e);
}

const char *engine_unix_path(const Engine *e)
{
    return e->sock_path;
}

const char *engine_where(const Engine *e)
{
    return e->where;
}

const char *engine_api_version(const Engine *e)
{
    return e->version[0] ? e->version : NULL;
}

bool engine_api_at_least(const Engine *e, int major, int minor)
{
    int ma, mi;
    if (!e->version[0] || sscanf(e->version, "%d.%d", &ma, &mi) != 2)
        return false;
    return ma > major || (ma == major && mi >= minor);
}

static EngineReq *request_new(Engine *e, const char *method, const char *path, char *data,
                              size_t len, const char *content_type, EngineChunkFn on_chunk,
                              EngineDoneFn done, void *ud)
{
    EngineReq *r = req_new(e, REQ_USER, method, path);
    r->data = data; /* owned from here */
    r->len = len;
    r->content_type = content_type ? xstrdup(content_type) : NULL;
    r->on_chunk = on_chunk;
    r->done = done;
    r->ud = ud;
    if (e->conn == CONN_IDLE)
        connect_start(e);
    engine_flush(e);
    return r;
}

EngineReq *engine_request(Engine *e, const char *method, const char *path, json_t *body,
                          EngineDoneFn done, void *ud)
{
    char *data = body ? json_dumps(body, JSON_COMPACT) : NULL;
    if (body && !data)
        abort(); /* out of memory, as the x* wrappers do */
    return request_new(e, method, path, data, data ? strlen(data) : 0, "application/json", NULL,
                       done, ud);
}

EngineReq *engine_stream(Engine *e, const char *method, const char *path, json_t *body,
                         EngineChunkFn on_chunk, EngineDoneFn done, void *ud)
{
    char *data = body ? json_dumps(body, JSON_COMPACT) : NULL;
    if (body && !data)
        abort();
    return request_new(e, method, path, data, data ? strlen(data) : 0, "application/json",
                       on_chunk, done, ud);
}

EngineReq *engine_upload(Engine *e, const char *method, const char *path, const char *content_type,
                         const void *data, size_t len, EngineChunkFn on_chunk, EngineDoneFn done,
                         void *ud)
{
    char *copy = xmalloc(len ? len : 1);
    if (len)
        memcpy(copy, data, len);
    return request_new(e, method, path, copy, len,
                       content_type ? content_type : "application/octet-stream", on_chunk, done,
                       ud);
}

void engine_cancel(EngineReq *r)
{
    /* The connection's own requests are not the caller's to cancel. */
    if (!r || r->cancelled || r->finished || r->kind != REQ_USER)
        return;
    req_cancel(r);
}

char *engine_escape(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(s);
    char *out = xmalloc(n * 3 + 1), *p = out;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            *p++ = (char)c;
        } else {
            *p++ = '%';
            *p++ = hex[c >> 4];
            *p++ = hex[c & 15];
        }
    }
    *p = '\0';
    return out;
}

/* ---- stream helpers ---- */

void logdemux_feed(LogDemux *d, const char *data, size_t len,
                   void (*out)(void *ud, int stream, const char *p, size_t n), void *ud)
{
    while (len > 0) {
        if (d->remaining == 0) {
            size_t take = sizeof d->hdr - d->hdr_len;
            if (take > len)
                take = len;
            memcpy(d->hdr + d->hdr_len, data, take);
            d->hdr_len += take;
            data += take;
            len -= take;
            if (d->hdr_len < sizeof d->hdr)
                return;
            d->hdr_len = 0;
            d->stream = d->hdr[0];
            d->remaining = (size_t)d->hdr[4] << 24 | (size_t)d->hdr[5] << 16 |
                           (size_t)d->hdr[6] << 8 | (size_t)d->hdr[7];
            continue; /* a zero-length frame is followed by the next header */
        }
        size_t n = d->remaining < len ? d->remaining : len;
        d->remaining -= n;
        out(ud, d->stream, data, n);
        data += n;
        len -= n;
    }
}

static void jsonlines_line(const char *p, size_t n, void (*fn)(void *ud, json_t *obj), void *ud)
{
    while (n > 0 && (p[n - 1] == '\r' || p[n - 1] == ' ' || p[n - 1] == '\t'))
        n--;
    if (n == 0)
        return;
    json_t *v = json_loadb(p, n, JSON_DECODE_ANY, NULL);
    if (v && json_is_object(v))
        fn(ud, v);
    json_decref(v);
}

void jsonlines_feed(JsonLines *j, const char *data, size_t len, void (*fn)(void *ud, json_t *obj),
                    void *ud)
{
    while (len > 0) {
        const char *nl = memchr(data, '\n', len);
        size_t n = nl ? (size_t)(nl - data) : len;
        if (nl && j->len == 0 && !j->dropping && n <= JSON_LINE_MAX) {
            /* A whole line in this piece: parsed where it is. */
            jsonlines_line(data, n, fn, ud);
        } else if (!j->dropping) {
            if (j->len + n > JSON_LINE_MAX) {
                j->dropping = true;
                j->len = 0;
            } else {
                if (j->len + n + 1 > j->cap) {
                    size_t cap = j->cap ? j->cap : 256;
                    while (cap < j->len + n + 1)
                        cap *= 2;
                    j->buf = xrealloc(j->buf, cap);
                    j->cap = cap;
                }
                memcpy(j->buf + j->len, data, n);
                j->len += n;
            }
            if (nl && !j->dropping) {
                size_t line = j->len;
                j->len = 0; /* before fn, which may feed or free */
                jsonlines_line(j->buf, line, fn, ud);
            }
        }
        if (!nl)
            return;
        if (nl && j->dropping) {
            j->dropping = false;
            j->len = 0;
        }
        data += n + 1;
        len -= n + 1;
    }
}

void jsonlines_free(JsonLines *j)
{
    free(j->buf);
    j->buf = NULL;
    j->len = j->cap = 0;
    j->dropping = false;
}
