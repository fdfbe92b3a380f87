/* probe: readiness attempts and the prober that schedules them. Every
 * attempt runs on the caller's libuv loop: libpq's non-blocking connect
 * driven by a uv_poll_t, hiredis through libuv event hooks, libcurl's multi
 * interface driven by uv_poll_t and uv_timer_t, uv_tcp_connect, and uv_spawn.
 * Host names are resolved with uv_getaddrinfo first, because libpq and
 * hiredis would otherwise resolve them blocking.
 *
 * A ProbeRun lives until libuv is done with every handle it opened: it
 * counts them (refs) and is freed by the last close callback. Once it has
 * reported, or was cancelled, it is "finished" and nothing reaches the
 * caller any more; the caller must drop its pointer when done is called. */
#include "run/probe.h"

#include "lib/redisuv.h"

#include <ctype.h>
#include <errno.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include <libpq-fe.h>

#define OUTPUT_TAIL 256        /* bytes of command output kept for the detail */
#define DETAIL_MAX 200         /* longest output line quoted in a detail */
#define EXIT_GRACE_MS 100      /* wait for output still in the pipe after exit */
#define LOG_LINE_MAX 4096      /* longer log lines are matched on their start */

typedef struct HttpMulti HttpMulti;
typedef struct PgPoll PgPoll;

struct ProbeRun {
    uv_loop_t *loop;
    ProbeKind kind;
    ProbeDoneFn done;
    void *ud;
    int64_t timeout_ns;
    bool finished;      /* reported or cancelled: the caller hears nothing more */
    unsigned refs;      /* handles and requests libuv still holds */
    uv_timer_t timer;   /* the timeout; also delivers failures found while starting */
    bool timer_open;
    char *pending;      /* such a failure, reported from the timer */

    /* Copies of the target, for the steps that run after probe_start. */
    char *host, *user, *password, *dbname;
    int port, status;

    /* Name resolution for postgres, redis and tcp. */
    uv_getaddrinfo_t *gai;
    char addr[64];      /* the numeric address connected to */
    struct sockaddr_storage sa;

    /* tcp */
    uv_tcp_t tcp;
    bool tcp_open;
    uv_connect_t connect_req;

    /* postgres */
    PGconn *pg;
    PgPoll *pg_poll;

    /* redis */
    redisAsyncContext *ac;

    /* http */
    HttpMulti *multi;
    CURL *easy;
    char errbuf[CURL_ERROR_SIZE];

    /* exec */
    uv_process_t proc;
    bool spawned, exited, out_open, eof;
    int64_t exit_status;
    int term_signal;
    uv_pipe_t out;
    char tail[OUTPUT_TAIL];
    size_t tail_len;
    char rbuf[1024];
};

/* ---- the run's life ---- */

static void run_unref(ProbeRun *r)
{
    if (--r->refs > 0)
        return;
    free(r->pending);
    free(r->host);
    free(r->user);
    free(r->password);
    free(r->dbname);
    free(r);
}

static void on_run_handle_closed(uv_handle_t *h)
{
    run_unref(h->data);
}

/* "200ms" under a second, else seconds with at most one decimal ("1s",
 * "1.5s"). */
static void format_duration(char *buf, size_t size, int64_t ns)
{
    long long ms = (ns + 500000) / 1000000;
    if (ms < 1000) {
        snprintf(buf, size, "%lldms", ms);
        return;
    }
    long long tenths = (ns + 50000000) / 100000000;
    if (tenths % 10 == 0)
        snprintf(buf, size, "%llds", tenths / 10);
    else
        snprintf(buf, size, "%lld.%llds", tenths / 10, tenths % 10);
}

static void timed_out_detail(const ProbeRun *r, char *buf, size_t size)
{
    char d[32];
    format_duration(d, sizeof d, r->timeout_ns);
    snprintf(buf, size, "timed out after %s", d);
}

/* strerror-style messages start with a capital ("Connection refused"); the
 * details read better in lower case, like uv_strerror's. */
static char *lower_first(char *s)
{
    if (s[0] && isupper((unsigned char)s[0]) && islower((unsigned char)s[1]))
        s[0] = (char)tolower((unsigned char)s[0]);
    return s;
}

static void http_remove(ProbeRun *r);
static void pg_close_poll(ProbeRun *r);

/* Releases what the attempt holds. Never calls the caller; safe from the
 * libraries' callbacks because each release below is deferred by its
 * library while it is on the stack (hiredis, uv_close) or made from our own
 * callbacks only (libpq, libcurl). */
static void run_teardown(ProbeRun *r)
{
    if (r->timer_open) {
        r->timer_open = false;
        uv_close((uv_handle_t *)&r->timer, on_run_handle_closed);
    }
    if (r->gai)
        uv_cancel((uv_req_t *)r->gai); /* its callback still runs and frees it */
    if (r->tcp_open) {
        r->tcp_open = false;
        uv_close((uv_handle_t *)&r->tcp, on_run_handle_closed);
    }
    if (r->pg) {
        /* Close the poll first: uv_close unregisters the fd, which PQfinish
         * then closes. */
        pg_close_poll(r);
        PQfinish(r->pg);
        r->pg = NULL;
    }
    if (r->ac) {
        /* Callbacks hiredis still makes (pending replies get NULL while it
         * frees the context) see no run. Inside a hiredis callback the free
         * is deferred until it returns. */
        r->ac->data = NULL;
        redisAsyncFree(r->ac);
        r->ac = NULL;
    }
    if (r->easy)
        http_remove(r);
    if (r->spawned && !r->exited) {
        /* The command runs in its own process group (UV_PROCESS_DETACHED
         * makes it a session leader): kill what it started too. The process
         * handle stays open until the exit callback reaps it. */
        if (kill(-r->proc.pid, SIGKILL) < 0)
            kill(r->proc.pid, SIGKILL);
    }
    if (r->out_open) {
        r->out_open = false;
        uv_close((uv_handle_t *)&r->out, on_run_handle_closed);
    }
}

/* Reports once: tears the attempt down, then calls done. The detail is
 * copied first because it may point into what the teardown frees. */
static void run_finish(ProbeRun *r, bool ok, const char *detail)
{
    if (r->finished)
        return;
    char *copy = detail ? xstrdup(detail) : NULL;
    r->finished = true;
    run_teardown(r);
    r->done(r->ud, ok, copy);
    free(copy);
}

static void exec_report(ProbeRun *r);

static void on_run_timer(uv_timer_t *t)
{
    ProbeRun *r = t->data;
    if (r->pending) {
        run_finish(r, false, r->pending);
    } else if (r->kind == PROBE_EXEC && r->exited) {
        exec_report(r); /* the grace period for the last output is over */
    } else {
        char buf[64];
        timed_out_detail(r, buf, sizeof buf);
        run_finish(r, false, buf);
    }
}

/* A failure found before the loop got control: done must not run inside
 * probe_start, so it is delivered from the timer on the next iteration. */
static void run_fail_soon(ProbeRun *r, const char *detail)
{
    if (r->pending || r->finished)
        return;
    r->pending = xstrdup(detail);
    uv_timer_start(&r->timer, on_run_timer, 0, 0);
}

/* ---- tcp ---- */

static void on_tcp_connect(uv_connect_t *req, int status)
{
    ProbeRun *r = req->data;
    if (r->finished)
        return; /* UV_ECANCELED from closing the handle */
    if (status == 0)
        run_finish(r, true, NULL);
    else
        run_finish(r, false, uv_strerror(status));
}

static void tcp_connect(ProbeRun *r)
{
    int err = uv_tcp_init(r->loop, &r->tcp);
    if (err < 0) {
        run_fail_soon(r, uv_strerror(err));
        return;
    }
    r->tcp.data = r;
    r->tcp_open = true;
    r->refs++;
    r->connect_req.data = r;
    err = uv_tcp_connect(&r->connect_req, &r->tcp, (const struct sockaddr *)&r->sa, on_tcp_connect);
    if (err < 0)
        run_fail_soon(r, uv_strerror(err));
}

/* ---- postgres ---- */

struct PgPoll {
    uv_poll_t poll;
    ProbeRun *run;
    int fd;
};

static void on_pg_poll_closed(uv_handle_t *h)
{
    PgPoll *pp = h->data;
    ProbeRun *r = pp->run;
    free(pp);
    run_unref(r);
}

static void pg_close_poll(ProbeRun *r)
{
    if (!r->pg_poll)
        return;
    uv_close((uv_handle_t *)&r->pg_poll->poll, on_pg_poll_closed);
    r->pg_poll = NULL;
}

/* The message of a failed connection, reduced to its reason: the first
 * line without libpq's "connection to server at ... failed: " and the
 * server's "FATAL:  " prefixes. */
static char *pg_detail(const char *msg)
{
    size_t n = strcspn(msg, "\n");
    char *line = xstrndup(msg, n);
    char *s = line;
    char *f = strstr(s, " failed: ");
    if (f && str_startswith(s, "connection to server"))
        s = f + strlen(" failed: ");
    if (str_startswith(s, "FATAL:") || str_startswith(s, "ERROR:"))
        s += strlen("FATAL:");
    while (*s == ' ')
        s++;
    size_t len = strlen(s);
    while (len > 0 && isspace((unsigned char)s[len - 1]))
        s[--len] = '\0';
    char *d = xstrdup(*s ? s : "connection failed");
    free(line);
    return lower_first(d);
}

/* Whether a failed connection still means the server is ready, as PQping
 * would say. PQping looks at the SQLSTATE: 57P03 (cannot connect now: the
 * server is starting up, shutting down or in recovery) is PQPING_REJECT,
 * and any other answer from the server is PQPING_OK, since a server that
 * refuses a password is up. A failed PGconn does not expose the SQLSTATE,
 * so this matches the (English) message texts instead: 57P03's first, then
 * the answers that prove a live server (authentication and unknown role or
 * database, a pg_hba.conf refusal, "too many clients", or any FATAL from the
 * server). Everything else (refused, unreachable, closed) is not ready. */
static bool pg_failure_is_ready(const char *msg)
{
    static const char *const rejecting[] = {
        "is starting up",
        "is shutting down",
        "in recovery",
        "not yet accepting connections",
        "not accepting connections",
    };
    static const char *const answered[] = {
        "password authentication failed",
        "no password supplied",
        "does not exist",
        "no pg_hba.conf entry",
        "authentication failed",
        "too many clients",
        "FATAL:",
    };
    for (size_t i = 0; i < ARRAY_SIZE(rejecting); i++)
        if (strstr(msg, rejecting[i]))
            return false;
    for (size_t i = 0; i < ARRAY_SIZE(answered); i++)
        if (strstr(msg, answered[i]))
            return true;
    return false;
}

static void pg_wait(ProbeRun *r, PostgresPollingStatusType st);

static void on_pg_poll(uv_poll_t *h, int status, int events)
{
    PgPoll *pp = h->data;
    ProbeRun *r = pp->run;
    if (r->finished)
        return;
    /* Stopped while libpq works: it may close this socket and open another
     * (next address, or a retry without SSL). */
    uv_poll_stop(h);
    PostgresPollingStatusType st = PQconnectPoll(r->pg);
    if (st == PGRES_POLLING_OK) {
        run_finish(r, true, NULL);
    } else if (st == PGRES_POLLING_FAILED) {
        const char *msg = PQerrorMessage(r->pg);
        char *d = pg_detail(msg);
        run_finish(r, pg_failure_is_ready(msg), d);
        free(d);
    } else {
        pg_wait(r, st);
    }
}

/* Waits for the socket to be ready as PQconnectPoll asked; a new socket
 * gets a new poll handle. */
static void pg_wait(ProbeRun *r, PostgresPollingStatusType st)
{
    int fd = PQsocket(r->pg);
    if (fd < 0) {
        char *d = pg_detail(PQerrorMessage(r->pg));
        run_fail_soon(r, d);
        free(d);
        return;
    }
    if (r->pg_poll && r->pg_poll->fd != fd)
        pg_close_poll(r);
    if (!r->pg_poll) {
        PgPoll *pp = xcalloc(1, sizeof *pp);
        int err = uv_poll_init(r->loop, &pp->poll, fd);
        if (err < 0) {
            free(pp);
            run_fail_soon(r, uv_strerror(err));
            return;
        }
        pp->poll.data = pp;
        pp->run = r;
        pp->fd = fd;
        r->pg_poll = pp;
        r->refs++;
    }
    int events = st == PGRES_POLLING_READING ? UV_READABLE : UV_WRITABLE;
    int err = uv_poll_start(&r->pg_poll->poll, events, on_pg_poll);
    if (err < 0)
        run_fail_soon(r, uv_strerror(err));
}

static void pg_connect(ProbeRun *r, bool resolved)
{
    char port[16], timeout[16];
    snprintf(port, sizeof port, "%d", r->port);
    /* libpq ignores connect_timeout under PQconnectPoll; the run's timer
     * enforces it. Passed anyway so the server-side view is consistent. */
    long long secs = (r->timeout_ns + 999999999) / 1000000000;
    snprintf(timeout, sizeof timeout, "%lld", secs < 2 ? 2 : secs);

    const char *kw[12], *val[12];
    size_t n = 0;
#define PG_PARAM(k, v) (kw[n] = (k), val[n] = (v), n++)
    PG_PARAM("host", r->host);
    if (resolved)
        PG_PARAM("hostaddr", r->addr); /* no blocking lookup inside libpq */
    PG_PARAM("port", port);
    PG_PARAM("user", r->user ? r->user : "postgres");
    if (r->password)
        PG_PARAM("password", r->password);
    PG_PARAM("dbname", r->dbname ? r->dbname : "postgres");
    PG_PARAM("connect_timeout", timeout);
    PG_PARAM("application_name", "tend-probe");
    /* GSSAPI negotiation would look for Kerberos credentials first. */
    PG_PARAM("gssencmode", "disable");
#undef PG_PARAM
    kw[n] = val[n] = NULL;

    r->pg = PQconnectStartParams(kw, val, 0);
    if (!r->pg) {
        run_fail_soon(r, "out of memory");
        return;
    }
    if (PQstatus(r->pg) == CONNECTION_BAD) {
        char *d = pg_detail(PQerrorMessage(r->pg));
        run_fail_soon(r, d);
        free(d);
        return;
    }
    /* As documented: behave as if PQconnectPoll last said WRITING. */
    pg_wait(r, PGRES_POLLING_WRITING);
}

/* ---- redis ---- */

static void on_redis_reply(redisAsyncContext *ac, void *reply_, void *privdata)
{
    ProbeRun *r = ac->data;
    const redisReply *reply = reply_;
    if (!r)
        return; /* the run is gone; hiredis is freeing the context */
    if (!reply) {
        /* Only __redisAsyncFree calls back without a reply: the connection
         * failed or closed, and hiredis frees the context itself. */
        r->ac = NULL;
        ac->data = NULL;
        char *d = xstrdup(ac->c.err ? ac->c.errstr : "connection closed");
        run_finish(r, false, lower_first(d));
        free(d);
        return;
    }
    if (reply->type == REDIS_REPLY_ERROR) {
        const char *s = reply->str ? reply->str : "";
        if (str_startswith(s, "LOADING")) {
            run_finish(r, false, "loading the dataset");
            return;
        }
        /* Busy with a script, or a replica without its master: up but not
         * serving. Any other error (NOAUTH, WRONGPASS, DENIED...) is an
         * answer from a running server. */
        if (str_startswith(s, "BUSY") || str_startswith(s, "MASTERDOWN")) {
            run_finish(r, false, s);
            return;
        }
    }
    run_finish(r, true, NULL);
}

static void redis_connect(ProbeRun *r)
{
    /* No AUTH: an authentication error is an answer, which is all the
     * probe needs. */
    redisAsyncContext *ac = redisAsyncConnect(r->addr, r->port);
    if (!ac) {
        run_fail_soon(r, "out of memory");
        return;
    }
    if (ac->err) {
        char *d = xstrdup(ac->errstr);
        redisAsyncFree(ac);
        run_fail_soon(r, lower_first(d));
        free(d);
        return;
    }
    int err = redisuv_attach(ac, r->loop);
    if (err < 0) {
        redisAsyncFree(ac);
        run_fail_soon(r, uv_strerror(err));
        return;
    }
    ac->data = r;
    r->ac = ac;
    if (redisAsyncCommand(ac, on_redis_reply, NULL, "PING") != REDIS_OK)
        run_fail_soon(r, "cannot queue PING");
}

/* ---- name resolution ---- */

static void net_connect(ProbeRun *r, bool resolved)
{
    switch (r->kind) {
    case PROBE_TCP:
        tcp_connect(r);
        break;
    case PROBE_POSTGRES:
        pg_connect(r, resolved);
        break;
    case PROBE_REDIS:
        redis_connect(r);
        break;
    default:
        run_fail_soon(r, "not a network probe");
        break;
    }
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    ProbeRun *r = req->data;
    r->gai = NULL;
    free(req);
    if (!r->finished) {
        /* IPv4 first: "localhost" often lists ::1 first while services
         * listen on 127.0.0.1 only. */
        const struct addrinfo *pick = NULL;
        for (const struct addrinfo *ai = status == 0 ? res : NULL; ai; ai = ai->ai_next) {
            if (ai->ai_family == AF_INET) {
                pick = ai;
                break;
            }
            if (!pick && ai->ai_family == AF_INET6)
                pick = ai;
        }
        if (status < 0) {
            char *d = xasprintf("cannot resolve %s: %s", r->host, uv_strerror(status));
            run_fail_soon(r, d);
            free(d);
        } else if (!pick) {
            char *d = xasprintf("cannot resolve %s: no address", r->host);
            run_fail_soon(r, d);
            free(d);
        } else {
            memcpy(&r->sa, pick->ai_addr, pick->ai_addrlen);
            struct sockaddr_in *sin = (struct sockaddr_in *)&r->sa;
            struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&r->sa;
            if (pick->ai_family == AF_INET) {
                sin->sin_port = htons((uint16_t)r->port);
                uv_ip4_name(sin, r->addr, sizeof r->addr);
            } else {
                sin6->sin6_port = htons((uint16_t)r->port);
                uv_ip6_name(sin6, r->addr, sizeof r->addr);
            }
            net_connect(r, true);
        }
    }
    uv_freeaddrinfo(res);
    run_unref(r);
}

/* Numeric addresses connect at once; names are looked up on the thread
 * pool first. */
static void net_begin(ProbeRun *r)
{
    if (r->port <= 0 || r->port > 65535) {
        run_fail_soon(r, "no port to probe");
        return;
    }
    /* "[::1]" as written in URLs and Compose files. */
    size_t hl = strlen(r->host);
    if (hl > 2 && r->host[0] == '[' && r->host[hl - 1] == ']') {
        memmove(r->host, r->host + 1, hl - 2);
        r->host[hl - 2] = '\0';
    }
    if (uv_ip4_addr(r->host, r->port, (struct sockaddr_in *)&r->sa) == 0 ||
        uv_ip6_addr(r->host, r->port, (struct sockaddr_in6 *)&r->sa) == 0) {
        snprintf(r->addr, sizeof r->addr, "%s", r->host);
        net_connect(r, false);
        return;
    }
    uv_getaddrinfo_t *req = xcalloc(1, sizeof *req);
    req->data = r;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    int err = uv_getaddrinfo(r->loop, req, on_resolved, r->host, NULL, &hints);
    if (err < 0) {
        free(req);
        char *d = xasprintf("cannot resolve %s: %s", r->host, uv_strerror(err));
        run_fail_soon(r, d);
        free(d);
        return;
    }
    r->gai = req;
    r->refs++;
}

/* ---- http ---- */

/* The libcurl multi handle and the libuv handles that drive it (the
 * multi-uv pattern). The process runs one loop, so one multi serves every
 * HTTP attempt; it is created with the first attempt and dropped when the
 * last one ends, so an idle tend holds no timer and no socket for it. */
struct HttpMulti {
    uv_loop_t *loop;
    CURLM *multi;
    uv_timer_t timer;
    unsigned runs;  /* easy handles in the multi */
    unsigned depth; /* > 0 while reading curl's messages */
};

typedef struct HttpSocket {
    uv_poll_t poll;
    curl_socket_t fd;
    HttpMulti *m;
} HttpSocket;

static HttpMulti *http_multi;

static void on_http_multi_closed(uv_handle_t *h)
{
    free(h->data);
}

static void http_multi_maybe_release(HttpMulti *m)
{
    if (m->depth > 0 || m->runs > 0 || !m->multi)
        return;
    curl_multi_cleanup(m->multi);
    m->multi = NULL;
    if (http_multi == m)
        http_multi = NULL;
    uv_close((uv_handle_t *)&m->timer, on_http_multi_closed);
}

static size_t on_http_body(char *data, size_t size, size_t n, void *ud)
{
    return size * n; /* the body is not needed */
}

static void http_report(ProbeRun *r, CURLcode res)
{
    char buf[CURL_ERROR_SIZE + 64];
    if (res == CURLE_OK) {
        long code = 0;
        curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &code);
        bool ok = r->status ? code == r->status : code >= 200 && code < 400;
        snprintf(buf, sizeof buf, "HTTP %ld", code);
        run_finish(r, ok, ok ? NULL : buf);
        return;
    }
    long os_errno = 0;
    curl_easy_getinfo(r->easy, CURLINFO_OS_ERRNO, &os_errno);
    if (res == CURLE_OPERATION_TIMEDOUT)
        timed_out_detail(r, buf, sizeof buf);
    else if (res == CURLE_COULDNT_CONNECT && os_errno > 0)
        snprintf(buf, sizeof buf, "%s", strerror((int)os_errno));
    else
        snprintf(buf, sizeof buf, "%s", r->errbuf[0] ? r->errbuf : curl_easy_strerror(res));
    run_finish(r, false, lower_first(buf));
}

/* Reports the transfers curl has finished. Reporting calls the caller,
 * who may start or cancel attempts: the multi is kept until the end. */
static void http_dispatch(HttpMulti *m)
{
    CURLMsg *msg;
    int left;
    m->depth++;
    while (m->multi && (msg = curl_multi_info_read(m->multi, &left))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        char *priv = NULL;
        CURLcode res = msg->data.result;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
        http_report((ProbeRun *)(void *)priv, res);
    }
    m->depth--;
    http_multi_maybe_release(m);
}

static void on_http_poll(uv_poll_t *h, int status, int events)
{
    HttpSocket *s = h->data;
    HttpMulti *m = s->m;
    int flags = 0;
    if (status < 0)
        flags = CURL_CSELECT_ERR;
    if (events & UV_READABLE)
        flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
        flags |= CURL_CSELECT_OUT;
    int running;
    if (!m->multi)
        return;
    curl_multi_socket_action(m->multi, s->fd, flags, &running);
    http_dispatch(m);
}

static void on_http_timer(uv_timer_t *t)
{
    HttpMulti *m = t->data;
    int running;
    if (!m->multi)
        return;
    curl_multi_socket_action(m->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    http_dispatch(m);
}

static void on_http_socket_closed(uv_handle_t *h)
{
    free(h->data);
}

/* CURLMOPT_SOCKETFUNCTION: one uv_poll_t per socket curl wants watched.
 * curl says REMOVE before it closes the socket, so uv_close (which
 * unregisters the fd at once) never sees a closed fd. */
static int on_http_socket(CURL *easy, curl_socket_t fd, int what, void *ud, void *sockp)
{
    HttpMulti *m = ud;
    HttpSocket *s = sockp;
    if (what == CURL_POLL_REMOVE) {
        if (s) {
            curl_multi_assign(m->multi, fd, NULL);
            uv_close((uv_handle_t *)&s->poll, on_http_socket_closed);
        }
        return 0;
    }
    if (!s) {
        s = xcalloc(1, sizeof *s);
        if (uv_poll_init_socket(m->loop, &s->poll, fd) < 0) {
            free(s);
            return -1;
        }
        s->poll.data = s;
        s->fd = fd;
        s->m = m;
        curl_multi_assign(m->multi, fd, s);
    }
    int events = 0;
    if (what & CURL_POLL_IN)
        events |= UV_READABLE;
    if (what & CURL_POLL_OUT)
        events |= UV_WRITABLE;
    return uv_poll_start(&s->poll, events, on_http_poll) < 0 ? -1 : 0;
}

/* CURLMOPT_TIMERFUNCTION: curl's one timeout, on the multi's timer. A zero
 * timeout also goes through the loop: curl must not be re-entered from
 * its own callback. */
static int on_http_timeout(CURLM *multi, long ms, void *ud)
{
    HttpMulti *m = ud;
    if (ms < 0)
        uv_timer_stop(&m->timer);
    else
        uv_timer_start(&m->timer, on_http_timer, (uint64_t)ms, 0);
    return 0;
}

static HttpMulti *http_multi_get(uv_loop_t *loop)
{
    static bool global_done;
    if (http_multi)
        return http_multi->loop == loop ? http_multi : NULL;
    if (!global_done) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        global_done = true;
    }
    HttpMulti *m = xcalloc(1, sizeof *m);
    m->loop = loop;
    m->multi = curl_multi_init();
    if (!m->multi) {
        free(m);
        return NULL;
    }
    uv_timer_init(loop, &m->timer);
    m->timer.data = m;
    curl_multi_setopt(m->multi, CURLMOPT_SOCKETFUNCTION, on_http_socket);
    curl_multi_setopt(m->multi, CURLMOPT_SOCKETDATA, m);
    curl_multi_setopt(m->multi, CURLMOPT_TIMERFUNCTION, on_http_timeout);
    curl_multi_setopt(m->multi, CURLMOPT_TIMERDATA, m);
    http_multi = m;
    return m;
}

static void http_remove(ProbeRun *r)
{
    HttpMulti *m = r->multi;
    curl_multi_remove_handle(m->multi, r->easy);
    curl_easy_cleanup(r->easy);
    r->easy = NULL;
    r->multi = NULL;
    m->runs--;
    http_multi_maybe_release(m);
}

static void http_begin(ProbeRun *r, const ProbeTarget *t)
{
    if (!t->url || !*t->url) {
        run_fail_soon(r, "no URL to probe");
        return;
    }
    HttpMulti *m = http_multi_get(r->loop);
    if (!m) {
        run_fail_soon(r, "cannot set up HTTP on this loop");
        return;
    }
    CURL *e = curl_easy_init();
    if (!e) {
        http_multi_maybe_release(m);
        run_fail_soon(r, "out of memory");
        return;
    }
    curl_easy_setopt(e, CURLOPT_URL, t->url);
    curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)r);
    curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_http_body);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(e, CURLOPT_USERAGENT, "tend-probe");
    /* A fresh connection each time: a probe checks that the service
     * accepts connections, and no idle socket stays behind. */
    curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
    curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
    /* Readiness, not trust: local services often use self-signed
     * certificates. */
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
    if (r->timeout_ns > 0)
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)((r->timeout_ns + 999999) / 1000000));
    CURLMcode mc = curl_multi_add_handle(m->multi, e);
    if (mc != CURLM_OK) {
        curl_easy_cleanup(e);
        http_multi_maybe_release(m);
        run_fail_soon(r, curl_multi_strerror(mc));
        return;
    }
    r->easy = e;
    r->multi = m;
    m->runs++;
}

/* ---- exec ---- */

static void tail_append(ProbeRun *r, const char *p, size_t n)
{
    if (n >= OUTPUT_TAIL) {
        p += n - OUTPUT_TAIL;
        n = OUTPUT_TAIL;
    }
    if (r->tail_len + n > OUTPUT_TAIL) {
        size_t drop = r->tail_len + n - OUTPUT_TAIL;
        memmove(r->tail, r->tail + drop, r->tail_len - drop);
        r->tail_len -= drop;
    }
    memcpy(r->tail + r->tail_len, p, n);
    r->tail_len += n;
}

/* The last non-empty line of the output, trimmed, control characters
 * replaced, at most DETAIL_MAX bytes. Empty when there was no output. */
static void last_line(const ProbeRun *r, char *buf, size_t size)
{
    size_t end = r->tail_len;
    while (end > 0 && isspace((unsigned char)r->tail[end - 1]))
        end--;
    size_t start = end;
    while (start > 0 && r->tail[start - 1] != '\n')
        start--;
    while (start < end && isspace((unsigned char)r->tail[start]))
        start++;
    size_t n = end - start;
    if (n > DETAIL_MAX)
        n = DETAIL_MAX;
    if (n >= size)
        n = size - 1;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)r->tail[start + i];
        buf[i] = c < 0x20 || c == 0x7f ? '?' : (char)c;
    }
    buf[n] = '\0';
}

static void exec_report(ProbeRun *r)
{
    if (r->exit_status == 0 && r->term_signal == 0) {
        run_finish(r, true, NULL);
        return;
    }
    char line[DETAIL_MAX + 1], buf[DETAIL_MAX + 64];
    int n;
    if (r->term_signal) {
        const char *name = sigabbrev_np(r->term_signal);
        if (name)
            n = snprintf(buf, sizeof buf, "killed by SIG%s", name);
        else
            n = snprintf(buf, sizeof buf, "killed by signal %d", r->term_signal);
    } else {
        n = snprintf(buf, sizeof buf, "exit status %lld", (long long)r->exit_status);
    }
    last_line(r, line, sizeof line);
    if (line[0] && n > 0 && (size_t)n < sizeof buf)
        snprintf(buf + n, sizeof buf - (size_t)n, ": %s", line);
    run_finish(r, false, buf);
}

static void on_exec_exit(uv_process_t *p, int64_t status, int sig)
{
    ProbeRun *r = p->data;
    r->exited = true;
    r->exit_status = status;
    r->term_signal = sig;
    uv_close((uv_handle_t *)p, on_run_handle_closed);
    if (r->finished)
        return;
    if (r->eof)
        exec_report(r);
    else /* output may still be in the pipe; a background child may hold it open */
        uv_timer_start(&r->timer, on_run_timer, EXIT_GRACE_MS, 0);
}

static void on_exec_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    ProbeRun *r = h->data;
    *buf = uv_buf_init(r->rbuf, sizeof r->rbuf);
}

static void on_exec_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    ProbeRun *r = s->data;
    if (n > 0) {
        tail_append(r, buf->base, (size_t)n);
        return;
    }
    if (n == 0)
        return;
    r->eof = true; /* EOF or a read error: no more output either way */
    if (r->out_open) {
        r->out_open = false;
        uv_close((uv_handle_t *)&r->out, on_run_handle_closed);
    }
    if (r->exited && !r->finished)
        exec_report(r);
}

static void exec_begin(ProbeRun *r, const ProbeTarget *t)
{
    if (!t->argv || !t->argv[0]) {
        run_fail_soon(r, "no command to run");
        return;
    }
    /* stdout and stderr share one socket so the tail keeps their order. */
    uv_os_sock_t fds[2];
    int err = uv_socketpair(SOCK_STREAM, 0, fds, UV_NONBLOCK_PIPE, 0);
    if (err < 0) {
        run_fail_soon(r, uv_strerror(err));
        return;
    }
    uv_pipe_init(r->loop, &r->out, 0);
    r->out.data = r;
    r->out_open = true;
    r->refs++;
    err = uv_pipe_open(&r->out, fds[0]);
    if (err < 0) {
        close(fds[0]);
        close(fds[1]);
        run_fail_soon(r, uv_strerror(err));
        return;
    }

    uv_stdio_container_t stdio[3] = {
        {.flags = UV_IGNORE},
        {.flags = UV_INHERIT_FD, .data.fd = fds[1]},
        {.flags = UV_INHERIT_FD, .data.fd = fds[1]},
    };
    uv_process_options_t o = {
        .exit_cb = on_exec_exit,
        .file = t->argv[0],
        .args = (char **)t->argv,
        .env = (char **)t->env,
        .cwd = t->cwd,
        .flags = UV_PROCESS_DETACHED, /* its own process group, killed whole */
        .stdio_count = 3,
        .stdio = stdio,
    };
    r->proc.data = r;
    err = uv_spawn(r->loop, &r->proc, &o);
    close(fds[1]);
    r->refs++; /* the process handle is initialised even when spawning fails */
    if (err < 0) {
        r->exited = true;
        uv_close((uv_handle_t *)&r->proc, on_run_handle_closed);
        char *d = xasprintf("cannot run %s: %s", t->argv[0], uv_strerror(err));
        run_fail_soon(r, d);
        free(d);
        return;
    }
    r->spawned = true;
    err = uv_read_start((uv_stream_t *)&r->out, on_exec_alloc, on_exec_read);
    if (err < 0)
        r->eof = true;
}

/* ---- attempts ---- */

static char *dup_or_null(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

ProbeRun *probe_start(uv_loop_t *loop, const ProbeTarget *t, int64_t timeout_ns, ProbeDoneFn done,
                      void *ud)
{
    ProbeRun *r = xcalloc(1, sizeof *r);
    r->loop = loop;
    r->kind = t->kind;
    r->done = done;
    r->ud = ud;
    r->timeout_ns = timeout_ns;
    r->host = xstrdup(t->host && *t->host ? t->host : "127.0.0.1");
    r->user = dup_or_null(t->user);
    r->password = dup_or_null(t->password);
    r->dbname = dup_or_null(t->dbname);
    r->port = t->port;
    r->status = t->status;

    uv_timer_init(loop, &r->timer);
    r->timer.data = r;
    r->timer_open = true;
    r->refs = 1;
    /* Timers count from the loop's cached "now", which is stale when the
     * caller blocked since the loop last woke. */
    uv_update_time(loop);
    if (timeout_ns > 0) {
        uint64_t ms = (uint64_t)((timeout_ns + 999999) / 1000000);
        uv_timer_start(&r->timer, on_run_timer, ms, 0);
    }

    switch (t->kind) {
    case PROBE_POSTGRES:
        if (r->port == 0)
            r->port = 5432;
        net_begin(r);
        break;
    case PROBE_REDIS:
        if (r->port == 0)
            r->port = 6379;
        net_begin(r);
        break;
    case PROBE_TCP:
        net_begin(r);
        break;
    case PROBE_HTTP:
        http_begin(r, t);
        break;
    case PROBE_EXEC:
        exec_begin(r, t);
        break;
    default:
        run_fail_soon(r, "not a probe that makes attempts");
        break;
    }
    return r;
}

void probe_cancel(ProbeRun *r)
{
    if (!r || r->finished)
        return;
    r->finished = true;
    run_teardown(r);
}

/* ---- prober ---- */

struct Prober {
    uv_loop_t *loop;
    ProbeTarget target; /* points into the copies below */
    char *host, *user, *password, *dbname, *url, *cwd, *pattern;
    StrVec argv, env;
    regex_t re;
    bool has_re;
    ProberTiming tm;
    ProberFn fn;
    void *ud;

    uv_timer_t timer;   /* the next attempt, or the log give-up deadline */
    ProbeRun *run;      /* the attempt in flight */
    bool running;       /* started, not stopped, not given up */
    bool ready;         /* has succeeded once */
    unsigned early;     /* failed attempts before the first success (the ramp) */
    bool unhealthy;
    int fails;          /* failures in a row since readiness */
    uint64_t started_ns;
    unsigned attempts;
    char *last_detail;
};

ProberTiming prober_timing(const ProberTiming *in, bool native)
{
    ProberTiming t = {
        .interval = native ? 10000000000LL : 30000000000LL,
        .timeout = native ? 5000000000LL : 30000000000LL,
        .start_period = 0,
        .start_interval = 100000000LL,
        .retries = 3,
    };
    if (!in)
        return t;
    if (in->interval > 0)
        t.interval = in->interval;
    if (in->timeout > 0)
        t.timeout = in->timeout;
    if (in->start_period > 0)
        t.start_period = in->start_period;
    if (in->start_interval > 0)
        t.start_interval = in->start_interval;
    if (in->retries > 0)
        t.retries = in->retries;
    return t;
}

static int64_t prober_budget(const Prober *p)
{
    return p->tm.start_period + (int64_t)p->tm.retries * p->tm.interval;
}

static uint64_t ns_to_ms(int64_t ns)
{
    return ns <= 0 ? 0 : (uint64_t)((ns + 999999) / 1000000);
}

/* Calls the caller last, with a copy of the detail: the callback may stop,
 * restart or free the prober. */
static void prober_emit(Prober *p, ProberEvent ev, const char *detail)
{
    char *copy = detail ? xstrdup(detail) : NULL;
    p->fn(p->ud, ev, copy);
    free(copy);
}

static void prober_set_detail(Prober *p, const char *detail)
{
    free(p->last_detail);
    p->last_detail = xstrdup(detail ? detail : "failed");
}

static void prober_attempt(Prober *p);

static void on_prober_timer(uv_timer_t *t)
{
    Prober *p = t->data;
    if (!p->running)
        return;
    if (p->target.kind != PROBE_LOG) {
        prober_attempt(p);
        return;
    }
    p->running = false;
    char *d = xasprintf("no log line matched \"%s\"", p->pattern);
    prober_set_detail(p, d);
    free(d);
    prober_emit(p, PROBER_GAVE_UP, p->last_detail);
}

static void prober_schedule(Prober *p, int64_t delay_ns)
{
    uv_timer_start(&p->timer, on_prober_timer, ns_to_ms(delay_ns), 0);
}

/* The state machine: every decision is made when an attempt ends, and the
 * next attempt is only scheduled then, so two never overlap. */
static void on_attempt_done(void *ud, bool ok, const char *detail)
{
    Prober *p = ud;
    p->run = NULL;
    if (!ok)
        prober_set_detail(p, detail);

    if (!p->ready) {
        if (ok) {
            p->ready = true;
            p->fails = 0;
            prober_schedule(p, p->tm.interval);
            prober_emit(p, PROBER_READY, NULL);
            return;
        }
        /* Before readiness only time counts, never the number of failures. */
        if ((int64_t)(now_ns() - p->started_ns) >= prober_budget(p)) {
            p->running = false;
            prober_emit(p, PROBER_GAVE_UP, p->last_detail);
            return;
        }
        /* Network probes (a refused connect costs microseconds) try every
         * 10 ms for the first second, so a dependency is seen ready within
         * ~10 ms of answering; then, and for commands from the start, a ramp
         * 5 ms, 10, 20, ... up to start_interval, so a service that takes
         * seconds is not probed hard. */
        int64_t delay;
        if (p->target.kind != PROBE_EXEC && (int64_t)(now_ns() - p->started_ns) < 1000000000LL) {
            delay = 10000000LL;
        } else {
            delay = 5000000LL << (p->early < 20 ? p->early : 20);
            p->early++;
        }
        prober_schedule(p, delay < p->tm.start_interval ? delay : p->tm.start_interval);
        return;
    }

    prober_schedule(p, p->tm.interval);
    if (ok) {
        p->fails = 0;
        if (p->unhealthy) {
            p->unhealthy = false;
            prober_emit(p, PROBER_READY, NULL);
        }
        return;
    }
    p->fails++;
    if (p->fails >= p->tm.retries && !p->unhealthy) {
        p->unhealthy = true;
        prober_emit(p, PROBER_UNHEALTHY, p->last_detail);
    }
}

static void prober_attempt(Prober *p)
{
    p->attempts++;
    p->run = probe_start(p->loop, &p->target, p->tm.timeout, on_attempt_done, p);
}

static void strvec_copy(StrVec *dst, char *const *src)
{
    for (size_t i = 0; src && src[i]; i++)
        strvec_push(dst, src[i]);
}

/* Copies the target. Zero timing fields take the native defaults: a
 * healthcheck's caller passes prober_timing(h, false) to get Compose's.
 * NULL when a log pattern does not compile. */
Prober *prober_new(uv_loop_t *loop, const ProbeTarget *t, const char *pattern, const ProberTiming *timing,
                   ProberFn fn, void *ud)
{
    Prober *p = xcalloc(1, sizeof *p);
    if (t->kind == PROBE_LOG) {
        if (!pattern || regcomp(&p->re, pattern, REG_EXTENDED | REG_NOSUB) != 0) {
            free(p);
            return NULL; /* the config check reports bad patterns */
        }
        p->has_re = true;
        p->pattern = xstrdup(pattern);
    }
    p->loop = loop;
    p->tm = prober_timing(timing, true);
    p->fn = fn;
    p->ud = ud;

    p->target = *t;
    p->target.host = p->host = dup_or_null(t->host);
    p->target.user = p->user = dup_or_null(t->user);
    p->target.password = p->password = dup_or_null(t->password);
    p->target.dbname = p->dbname = dup_or_null(t->dbname);
    p->target.url = p->url = dup_or_null(t->url);
    p->target.cwd = p->cwd = dup_or_null(t->cwd);
    strvec_copy(&p->argv, t->argv);
    p->target.argv = t->argv ? p->argv.v : NULL;
    strvec_copy(&p->env, t->env);
    if (t->env && !p->env.v) {
        /* An empty environment, not tend's own. */
        p->env.v = xcalloc(1, sizeof(char *));
        p->env.cap = 1;
    }
    p->target.env = t->env ? p->env.v : NULL;

    uv_timer_init(loop, &p->timer);
    p->timer.data = p;
    return p;
}

void prober_start(Prober *p)
{
    if (p->running)
        return;
    p->running = true;
    p->ready = p->unhealthy = false;
    p->fails = 0;
    p->early = 0;
    p->attempts = 0;
    free(p->last_detail);
    p->last_detail = NULL;
    p->started_ns = now_ns();
    uv_update_time(p->loop); /* the deadline counts from now, not the last wakeup */
    if (p->target.kind == PROBE_LOG)
        prober_schedule(p, prober_budget(p)); /* the give-up deadline */
    else
        prober_attempt(p);
}

void prober_stop(Prober *p)
{
    p->running = false;
    if (p->run) {
        probe_cancel(p->run);
        p->run = NULL;
    }
    uv_timer_stop(&p->timer);
}

void prober_feed_line(Prober *p, const char *line, size_t len)
{
    if (!p->has_re || !p->running || p->ready)
        return;
    char buf[LOG_LINE_MAX];
    if (len >= sizeof buf)
        len = sizeof buf - 1;
    memcpy(buf, line, len);
    buf[len] = '\0';
    if (regexec(&p->re, buf, 0, NULL, 0) != 0)
        return;
    p->ready = true;
    uv_timer_stop(&p->timer);
    prober_emit(p, PROBER_READY, NULL);
}

unsigned prober_attempts(const Prober *p)
{
    return p->attempts;
}

const char *prober_last_detail(const Prober *p)
{
    return p->last_detail;
}

static void on_prober_closed(uv_handle_t *h)
{
    Prober *p = h->data;
    if (p->has_re)
        regfree(&p->re);
    free(p->host);
    free(p->user);
    free(p->password);
    free(p->dbname);
    free(p->url);
    free(p->cwd);
    free(p->pattern);
    strvec_free(&p->argv);
    strvec_free(&p->env);
    free(p->last_detail);
    free(p);
}

void prober_free(Prober *p)
{
    if (!p)
        return;
    prober_stop(p);
    uv_close((uv_handle_t *)&p->timer, on_prober_closed);
}
