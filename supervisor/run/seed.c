/* seed: runs a service's x-tend.seed steps on the loop (see seed.h for what
 * runs where and where the records live). A SeedRun walks the steps in
 * order; each step is a short chain of asynchronous operations written in
 * continuation style: an operation stores where to go next in r->cont and
 * calls it when its I/O is done. Only one operation is in flight at a time,
 * so one continuation slot is enough.
 *
 * Postgres: libpq in non-blocking mode on a uv_poll_t (PQconnectStart /
 * PQconnectPoll, PQsendQuery, PQconsumeInput). Redis: async hiredis with the
 * event hooks of redisuv.c (hiredis' libuv adapter, but an error on the
 * socket is handed to hiredis instead of being ignored, so a refused
 * connection fails at once). Names are resolved with uv_getaddrinfo first:
 * both libraries would resolve them blocking. Exec: uv_spawn on the host,
 * the Engine exec API in a container. */
#include "run/seed.h"

#include "lib/redisuv.h"

#include "lib/env.h"

#include <errno.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <libpq-fe.h>
#include <netdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <unistd.h>

extern char **environ;

#define SEED_FILE_MAX (64u << 20)          /* a seed file larger than this is refused */
#define SEED_CONNECT_TIMEOUT (15LL * 1000) /* ms to connect to a store */
#define REDIS_RECORD_KEY "tend:seed"

/* ---- stores ---- */

static bool image_is(const char *image, const char *name)
{
    if (!image)
        return false;
    /* registry/library/postgres:16-alpine -> postgres */
    const char *b = strrchr(image, '/');
    b = b ? b + 1 : image;
    size_t l = strlen(name);
    return strncmp(b, name, l) == 0 && (b[l] == '\0' || b[l] == ':' || b[l] == '@');
}

/* What a service is by its probe or image: what it says it is. */
static SeedStoreKind store_kind_declared(const Service *s)
{
    if (s->probe.kind == PROBE_POSTGRES)
        return SEED_STORE_PG;
    if (s->probe.kind == PROBE_REDIS)
        return SEED_STORE_REDIS;
    if (image_is(s->image, "postgres") || image_is(s->image, "postgis"))
        return SEED_STORE_PG;
    if (image_is(s->image, "redis") || image_is(s->image, "valkey"))
        return SEED_STORE_REDIS;
    return SEED_STORE_NONE;
}

/* What its seed steps suggest it is: the first sql or redis step. */
static SeedStoreKind store_kind_by_seeds(const Service *s)
{
    for (size_t i = 0; i < s->n_seeds; i++) {
        if (s->seeds[i].kind == SEED_SQL)
            return SEED_STORE_PG;
        if (s->seeds[i].kind == SEED_REDIS)
            return SEED_STORE_REDIS;
    }
    return SEED_STORE_NONE;
}

SeedStoreKind seed_store_kind(const Service *s)
{
    SeedStoreKind k = store_kind_declared(s);
    return k != SEED_STORE_NONE ? k : store_kind_by_seeds(s);
}

static bool kind_fits(SeedStoreKind have, SeedStoreKind want)
{
    return have != SEED_STORE_NONE && (want == SEED_STORE_NONE || have == want);
}

/* A service that declares what it is wins over one whose seed files only
 * suggest it: a web service with `sql:` steps and a dependency on a
 * Postgres service seeds that Postgres. */
const Service *seed_store_for(const Project *p, const Service *s, SeedStoreKind kind)
{
    if (kind_fits(store_kind_declared(s), kind))
        return s;
    for (size_t i = 0; i < s->n_deps; i++) {
        const Service *d = project_service(p, s->deps[i].service);
        if (d && kind_fits(store_kind_declared(d), kind))
            return d;
    }
    if (kind_fits(store_kind_by_seeds(s), kind))
        return s;
    for (size_t i = 0; i < s->n_deps; i++) {
        const Service *d = project_service(p, s->deps[i].service);
        if (d && kind_fits(store_kind_by_seeds(d), kind))
            return d;
    }
    return NULL;
}

static const char *env_of(const Service *s, const char *key)
{
    for (size_t i = 0; i < s->environment.n; i++)
        if (streq(s->environment.keys[i], key))
            return s->environment.vals[i];
    return NULL;
}

static void store_fill(SeedStore *st, const Service *svc, SeedStoreKind kind, const char *ip)
{
    *st = (SeedStore){0};
    if (!svc)
        return;
    const Probe *pr = &svc->probe;
    bool probe_here = (kind == SEED_STORE_PG && pr->kind == PROBE_POSTGRES) ||
                      (kind == SEED_STORE_REDIS && pr->kind == PROBE_REDIS);
    st->service = svc;
    st->host = probe_here && pr->host ? pr->host : NULL;
    st->port = probe_here && pr->port > 0 ? pr->port : 0;
    if (!st->host && svc->runtime == RUNTIME_DOCKER && ip && *ip)
        st->host = ip;
    if (kind == SEED_STORE_PG) {
        st->user = probe_here && pr->user ? pr->user : env_of(svc, "POSTGRES_USER");
        st->password = probe_here && pr->password ? pr->password : env_of(svc, "POSTGRES_PASSWORD");
        st->dbname = probe_here && pr->dbname ? pr->dbname : env_of(svc, "POSTGRES_DB");
    } else {
        st->password = probe_here && pr->password ? pr->password : NULL;
    }
}

void seed_target_init(SeedTarget *t, const Project *p, const Service *s,
                      const char *(*ip_of)(void *ud, const Service *store), void *ud)
{
    const Service *pg = seed_store_for(p, s, SEED_STORE_PG);
    const Service *rd = seed_store_for(p, s, SEED_STORE_REDIS);
    store_fill(&t->pg, pg, SEED_STORE_PG, pg && ip_of ? ip_of(ud, pg) : NULL);
    store_fill(&t->redis, rd, SEED_STORE_REDIS, rd && ip_of ? ip_of(ud, rd) : NULL);
}

/* ---- the run ---- */

typedef void (*Cont)(SeedRun *r);

typedef struct PgPoll {
    uv_poll_t h;
    int fd;
} PgPoll;

/* A host exec's output pipe, read by the log mux until EOF; r is NULL once
 * the run is gone. */
typedef struct ExecPipe {
    uv_pipe_t pipe;
    SeedRun *r;
} ExecPipe;

struct SeedRun {
    uv_loop_t *loop;
    const Project *p;
    const Service *s;
    SeedTarget t;
    bool force;
    LogMux *mux;
    SeedDoneFn done;
    void *ud;
    SeedStats stats;
    StrVec own;       /* copies of the target's strings */
    StrVec env;       /* copy of the target's environment */

    uv_timer_t timer; /* deferrals and connect timeouts; the run is freed in its close callback */
    bool finished;    /* done was called or the run cancelled */
    Cont cont;        /* where the operation in flight goes next */
    Cont connected;   /* where a connection goes once made */
    Cont on_fail;     /* cleanup before failing (a rollback), or NULL */
    char *err;        /* the failure being reported */

    size_t step;
    const SeedStep *st;
    char *name;          /* the step's record key */
    char checksum[72];   /* "sha256:" + hex */
    bool up_to_date;     /* the record holds this checksum */
    SeedStoreKind rec;   /* where the current step's record goes */
    char **files_rel;    /* the step's files, relative to the project folder */
    SqlStmt *stmts;
    size_t n_stmts;
    size_t *stmt_file;   /* file index of each statement */
    size_t next_stmt;
    RedisCmd *cmds;
    size_t n_cmds;
    size_t *cmd_file;
    long redis_error_at; /* index of the first command the server refused; -1 none */
    char *redis_error;

    /* resolution */
    uv_getaddrinfo_t *gai;
    char addr[64];   /* the host, then its address */
    char where[96];  /* "postgres at 10.0.0.2:5432", for messages */

    /* postgres */
    char *dbname;    /* the database connected to */
    PGconn *pg;
    PgPoll *pp;
    PGresult *res;   /* the last query's result (its first error if any) */
    bool quiet;      /* notices of our own bookkeeping are not shown */

    /* redis */
    redisAsyncContext *ac;
    redisReply *reply; /* the last bookkeeping reply (copied fields) */
    char *reply_str;
    bool reply_nil;

    /* exec */
    uv_process_t *proc;
    ExecPipe *pipes[2];
    int exec_pending; /* exit + EOFs still to come */
    int64_t exit_status;
    int term_signal;
    char *exec_id;
    EngineReq *ereq;
    LogDemux demux;
    int src[2];
};

static void step_begin(SeedRun *r);
static void step_next(SeedRun *r);
static void run_fail(SeedRun *r, const char *fmt, ...) _printf_(2, 3);

static void say(SeedRun *r, const char *fmt, ...) _printf_(2, 3);
static void say(SeedRun *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    _cleanup_free_ char *m = xvasprintf(fmt, ap);
    va_end(ap);
    if (r->mux)
        logmux_system(r->mux, r->s->name, "%s", m);
    else
        fprintf(stderr, "%s: %s\n", r->s->name, m);
}

static void on_timer_closed(uv_handle_t *h)
{
    SeedRun *r = h->data;
    free(r->err);
    free(r->dbname);
    strvec_free(&r->own);
    strvec_free(&r->env);
    free(r);
}

static void pg_close(SeedRun *r);
static void redis_close(SeedRun *r);
static void exec_close(SeedRun *r);

static void step_clear(SeedRun *r)
{
    free(r->name);
    r->name = NULL;
    if (r->files_rel) {
        for (char **f = r->files_rel; *f; f++)
            free(*f);
        free(r->files_rel);
        r->files_rel = NULL;
    }
    sql_stmts_free(r->stmts, r->n_stmts);
    r->stmts = NULL;
    r->n_stmts = 0;
    free(r->stmt_file);
    r->stmt_file = NULL;
    redis_cmds_free(r->cmds, r->n_cmds);
    r->cmds = NULL;
    r->n_cmds = 0;
    free(r->cmd_file);
    r->cmd_file = NULL;
    free(r->redis_error);
    r->redis_error = NULL;
    free(r->reply_str);
    r->reply_str = NULL;
    r->up_to_date = false;
    r->on_fail = NULL;
}

/* Releases everything but the timer; the run is freed once it is closed. */
static void run_free(SeedRun *r)
{
    r->finished = true;
    if (r->gai) {
        uv_cancel((uv_req_t *)r->gai);
        r->gai->data = NULL; /* its callback frees it */
        r->gai = NULL;
    }
    pg_close(r);
    redis_close(r);
    exec_close(r);
    step_clear(r);
    uv_timer_stop(&r->timer);
    uv_close((uv_handle_t *)&r->timer, on_timer_closed);
}

static void run_finish(SeedRun *r, bool ok, const char *err)
{
    if (r->finished)
        return;
    r->finished = true;
    r->done(r->ud, ok, err);
    run_free(r);
}

static void fail_now(SeedRun *r)
{
    char *e = r->err;
    r->err = NULL;
    run_finish(r, false, e);
    free(e);
}

/* Fails the step: runs its cleanup (a rollback) first when it has one. */
static void run_fail(SeedRun *r, const char *fmt, ...)
{
    if (r->finished)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *m = xvasprintf(fmt, ap);
    va_end(ap);
    if (r->err) { /* failing already (the rollback failed too): keep the first */
        free(m);
        fail_now(r);
        return;
    }
    r->err = m;
    Cont f = r->on_fail;
    r->on_fail = NULL;
    if (f)
        f(r);
    else
        fail_now(r);
}

static void on_timer(uv_timer_t *h)
{
    SeedRun *r = h->data;
    Cont c = r->cont;
    r->cont = NULL;
    if (c)
        c(r);
}

/* Calls c on the next loop turn. */
static void defer(SeedRun *r, Cont c)
{
    r->cont = c;
    uv_timer_start(&r->timer, on_timer, 0, 0);
}

static void on_connect_timeout(uv_timer_t *h)
{
    SeedRun *r = h->data;
    run_fail(r, "cannot connect to %s: timed out after %llds", r->where,
             (long long)(SEED_CONNECT_TIMEOUT / 1000));
}

static const char *rel_path(SeedRun *r, const char *abs)
{
    const char *w = r->p->workdir;
    size_t l = strlen(w);
    if (strncmp(abs, w, l) == 0 && abs[l] == '/')
        return abs + l + 1;
    return abs;
}

/* ---- name resolution ---- */

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    SeedRun *r = req->data;
    if (!r) {
        uv_freeaddrinfo(res);
        free(req);
        return;
    }
    r->gai = NULL;
    free(req);
    const struct addrinfo *pick = NULL;
    for (const struct addrinfo *ai = status == 0 ? res : NULL; ai; ai = ai->ai_next) {
        if (ai->ai_family == AF_INET) {
            pick = ai;
            break;
        }
        if (!pick && ai->ai_family == AF_INET6)
            pick = ai;
    }
    if (pick)
        uv_ip_name(pick->ai_addr, r->addr, sizeof r->addr);
    uv_freeaddrinfo(res);
    if (!pick) {
        run_fail(r, "cannot resolve %s: %s", r->addr, status < 0 ? uv_strerror(status) : "no address");
        return;
    }
    Cont c = r->cont;
    r->cont = NULL;
    c(r);
}

/* Resolves host into r->addr, then goes on to c. */
static void resolve(SeedRun *r, const char *host, Cont c)
{
    snprintf(r->addr, sizeof r->addr, "%s", host ? host : "127.0.0.1");
    unsigned char buf[16];
    if (inet_pton(AF_INET, r->addr, buf) == 1 || inet_pton(AF_INET6, r->addr, buf) == 1) {
        c(r);
        return;
    }
    r->cont = c;
    r->gai = xcalloc(1, sizeof *r->gai);
    r->gai->data = r;
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM};
    int e = uv_getaddrinfo(r->loop, r->gai, on_resolved, r->addr, NULL, &hints);
    if (e < 0) {
        free(r->gai);
        r->gai = NULL;
        run_fail(r, "cannot resolve %s: %s", r->addr, uv_strerror(e));
    }
}

/* ---- postgres ---- */

static void on_pp_closed(uv_handle_t *h)
{
    free(h->data);
}

static void pg_close(SeedRun *r)
{
    if (r->pp) {
        /* The poll goes first: uv_close unregisters the fd PQfinish closes. */
        r->pp->h.data = r->pp;
        uv_close((uv_handle_t *)&r->pp->h, on_pp_closed);
        r->pp = NULL;
    }
    if (r->pg) {
        PQfinish(r->pg);
        r->pg = NULL;
    }
    if (r->res) {
        PQclear(r->res);
        r->res = NULL;
    }
}

/* A libpq error message in one line, without "ERROR:  " doubled spaces. */
static char *one_line(const char *m)
{
    char *s = xstrdup(m ? m : "");
    size_t l = strlen(s);
    while (l > 0 && (s[l - 1] == '\n' || s[l - 1] == ' '))
        s[--l] = '\0';
    for (char *p = s; *p; p++)
        if (*p == '\n')
            *p = ' ';
    return s;
}

static void pg_notice(void *arg, const PGresult *res)
{
    SeedRun *r = arg;
    if (r->quiet || r->finished)
        return;
    _cleanup_free_ char *m = one_line(PQresultErrorMessage(res));
    say(r, "%s", m);
}

static void pg_wait(SeedRun *r, int events, uv_poll_cb cb)
{
    int fd = PQsocket(r->pg);
    if (fd < 0) {
        _cleanup_free_ char *m = one_line(PQerrorMessage(r->pg));
        run_fail(r, "%s: %s", r->where, m);
        return;
    }
    if (r->pp && r->pp->fd != fd) {
        /* libpq opened a new socket (another address, or without SSL). */
        r->pp->h.data = r->pp;
        uv_close((uv_handle_t *)&r->pp->h, on_pp_closed);
        r->pp = NULL;
    }
    if (!r->pp) {
        r->pp = xcalloc(1, sizeof *r->pp);
        r->pp->fd = fd;
        int e = uv_poll_init(r->loop, &r->pp->h, fd);
        if (e < 0) {
            free(r->pp);
            r->pp = NULL;
            run_fail(r, "cannot watch the postgres socket: %s", uv_strerror(e));
            return;
        }
    }
    r->pp->h.data = r;
    uv_poll_start(&r->pp->h, events, cb);
}

static void pg_connect_step(SeedRun *r);

static void on_pg_connect_poll(uv_poll_t *h, int status, int events)
{
    SeedRun *r = h->data;
    (void)status;
    (void)events;
    uv_poll_stop(h);
    pg_connect_step(r);
}

static void pg_connect_step(SeedRun *r)
{
    PostgresPollingStatusType st = PQconnectPoll(r->pg);
    switch (st) {
    case PGRES_POLLING_READING:
        pg_wait(r, UV_READABLE, on_pg_connect_poll);
        break;
    case PGRES_POLLING_WRITING:
        pg_wait(r, UV_WRITABLE, on_pg_connect_poll);
        break;
    case PGRES_POLLING_OK: {
        uv_timer_stop(&r->timer);
        PQsetnonblocking(r->pg, 1);
        PQsetNoticeReceiver(r->pg, pg_notice, r);
        Cont c = r->connected;
        r->connected = NULL;
        c(r);
        break;
    }
    default: {
        _cleanup_free_ char *m = one_line(PQerrorMessage(r->pg));
        run_fail(r, "cannot connect to %s: %s", r->where, m);
        break;
    }
    }
}

/* Connects to database db of the Postgres store (after resolving), then c. */
static void pg_connect(SeedRun *r, const char *db, Cont c);
static void pg_connect_resolved(SeedRun *r)
{
    const SeedStore *st = &r->t.pg;
    char port[16];
    snprintf(port, sizeof port, "%d", st->port > 0 ? st->port : 5432);
    snprintf(r->where, sizeof r->where, "postgres at %s:%s", r->addr, port);
    const char *kw[] = {"hostaddr", "port", "dbname", "user", "password", "application_name", NULL};
    const char *val[] = {r->addr, port, r->dbname, st->user ? st->user : "postgres", st->password,
                         "tend-seed", NULL};
    if (!st->password) {
        kw[4] = "application_name";
        val[4] = "tend-seed";
        kw[5] = NULL;
        val[5] = NULL;
    }
    r->pg = PQconnectStartParams(kw, val, 0);
    if (!r->pg) {
        run_fail(r, "out of memory");
        return;
    }
    if (PQstatus(r->pg) == CONNECTION_BAD) {
        _cleanup_free_ char *m = one_line(PQerrorMessage(r->pg));
        run_fail(r, "cannot connect to %s: %s", r->where, m);
        return;
    }
    uv_timer_start(&r->timer, on_connect_timeout, SEED_CONNECT_TIMEOUT, 0);
    pg_wait(r, UV_WRITABLE, on_pg_connect_poll);
}

static void pg_connect(SeedRun *r, const char *db, Cont c)
{
    pg_close(r);
    free(r->dbname);
    r->dbname = xstrdup(db);
    r->connected = c;
    resolve(r, r->t.pg.host, pg_connect_resolved);
}

static void pg_read(SeedRun *r);

static void on_pg_query_poll(uv_poll_t *h, int status, int events)
{
    SeedRun *r = h->data;
    (void)status;
    if (events & UV_WRITABLE) {
        int f = PQflush(r->pg);
        if (f < 0) {
            _cleanup_free_ char *m = one_line(PQerrorMessage(r->pg));
            run_fail(r, "postgres: %s", m);
            return;
        }
        if (f == 0)
            pg_wait(r, UV_READABLE, on_pg_query_poll);
        if (!r->pg || r->finished)
            return;
    }
    if (events & UV_READABLE)
        pg_read(r);
}

static void pg_read(SeedRun *r)
{
    if (!PQconsumeInput(r->pg)) {
        _cleanup_free_ char *m = one_line(PQerrorMessage(r->pg));
        run_fail(r, "postgres: connection lost: %s", m);
        return;
    }
    while (!PQisBusy(r->pg)) {
        PGresult *res = PQgetResult(r->pg);
        if (!res) {
            uv_poll_stop(&r->pp->h);
            Cont c = r->cont;
            r->cont = NULL;
            c(r);
            return;
        }
        /* Keep the first error, else the last result. */
        ExecStatusType s = PQresultStatus(res);
        bool have_bad = r->res && (PQresultStatus(r->res) == PGRES_FATAL_ERROR ||
                                   PQresultStatus(r->res) == PGRES_BAD_RESPONSE);
        if (have_bad || (s == PGRES_COPY_IN || s == PGRES_COPY_OUT)) {
            if (s == PGRES_COPY_IN)
                PQputCopyEnd(r->pg, "COPY FROM STDIN is not supported in seed files");
            PQclear(res);
            continue;
        }
        if (r->res)
            PQclear(r->res);
        r->res = res;
    }
    if (PQstatus(r->pg) == CONNECTION_BAD) {
        _cleanup_free_ char *m = one_line(PQerrorMessage(r->pg));
        run_fail(r, "postgres: connection lost: %s", m);
    }
}

/* Sends a query (with up to two text parameters), then c with r->res. */
static void pg_query(SeedRun *r, const char *sql, const char *p1, const char *p2, Cont c)
{
    if (r->res) {
        PQclear(r->res);
        r->res = NULL;
    }
    const char *params[2] = {p1, p2};
    int np = p2 ? 2 : p1 ? 1 : 0;
    int ok = np ? PQsendQueryParams(r->pg, sql, np, NULL, params, NULL, NULL, 0) : PQsendQuery(r->pg, sql);
    if (!ok) {
        _cleanup_free_ char *m = one_line(PQerrorMessage(r->pg));
        run_fail(r, "postgres: %s", m);
        return;
    }
    r->cont = c;
    int f = PQflush(r->pg);
    if (f < 0) {
        _cleanup_free_ char *m = one_line(PQerrorMessage(r->pg));
        run_fail(r, "postgres: %s", m);
        return;
    }
    pg_wait(r, f ? UV_READABLE | UV_WRITABLE : UV_READABLE, on_pg_query_poll);
}

static bool pg_ok(SeedRun *r)
{
    ExecStatusType s = r->res ? PQresultStatus(r->res) : PGRES_FATAL_ERROR;
    return s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK || s == PGRES_EMPTY_QUERY;
}

/* The server's message: "ERROR: relation "x" does not exist (HINT: ...)". */
static char *pg_message(SeedRun *r)
{
    if (!r->res)
        return one_line(PQerrorMessage(r->pg));
    const char *sev = PQresultErrorField(r->res, PG_DIAG_SEVERITY);
    const char *msg = PQresultErrorField(r->res, PG_DIAG_MESSAGE_PRIMARY);
    const char *detail = PQresultErrorField(r->res, PG_DIAG_MESSAGE_DETAIL);
    const char *hint = PQresultErrorField(r->res, PG_DIAG_MESSAGE_HINT);
    if (!msg)
        return one_line(PQresultErrorMessage(r->res));
    StrBuf b;
    strbuf_init(&b, 0);
    strbuf_printf(&b, "%s: %s", sev ? sev : "ERROR", msg);
    if (detail)
        strbuf_printf(&b, " (%s)", detail);
    if (hint)
        strbuf_printf(&b, " (HINT: %s)", hint);
    char *out = strbuf_steal(&b);
    strbuf_free(&b);
    char *one = one_line(out);
    free(out);
    return one;
}

#define RECORD_TABLE                                                                              \
    "CREATE TABLE IF NOT EXISTS tend_seed (step text PRIMARY KEY, checksum text NOT NULL, "     \
    "applied_at timestamptz NOT NULL DEFAULT now())"
#define RECORD_SELECT "SELECT checksum FROM tend_seed WHERE step = $1"
#define RECORD_UPSERT                                                                             \
    "INSERT INTO tend_seed (step, checksum, applied_at) VALUES ($1, $2, now()) "                 \
    "ON CONFLICT (step) DO UPDATE SET checksum = excluded.checksum, applied_at = now()"

static void pg_check_fail(SeedRun *r, const char *what)
{
    _cleanup_free_ char *m = pg_message(r);
    run_fail(r, "%s: %s", what, m);
}

/* Reads the record's checksum from r->res into up_to_date. */
static void pg_take_record(SeedRun *r)
{
    r->up_to_date = !r->force && PQntuples(r->res) == 1 && streq(PQgetvalue(r->res, 0, 0), r->checksum);
}

/* ---- SQL steps: BEGIN; lock; record table; check; statements; record; COMMIT ---- */

static void sql_rolled_back(SeedRun *r)
{
    pg_close(r);
    fail_now(r);
}

/* on_fail of a step inside its transaction: ROLLBACK, then report. */
static void sql_rollback(SeedRun *r)
{
    if (!r->pg || PQstatus(r->pg) != CONNECTION_OK || PQisBusy(r->pg)) {
        /* Closing the connection rolls back just as well. */
        pg_close(r);
        fail_now(r);
        return;
    }
    r->quiet = true;
    pg_query(r, "ROLLBACK", NULL, NULL, sql_rolled_back);
}

static void sql_committed(SeedRun *r)
{
    if (!pg_ok(r)) {
        pg_check_fail(r, "seed: cannot commit");
        return;
    }
    r->on_fail = NULL;
    pg_close(r);
    r->stats.ran++;
    say(r, "seed %s: applied (%zu statements)", r->name, r->n_stmts);
    step_next(r);
}

static void sql_recorded(SeedRun *r)
{
    if (!pg_ok(r)) {
        pg_check_fail(r, "seed: cannot record the step in tend_seed");
        return;
    }
    pg_query(r, "COMMIT", NULL, NULL, sql_committed);
}

static void sql_statement(SeedRun *r);

static void sql_statement_done(SeedRun *r)
{
    if (!pg_ok(r)) {
        const SqlStmt *q = &r->stmts[r->next_stmt];
        const char *pos = PQresultErrorField(r->res, PG_DIAG_STATEMENT_POSITION);
        unsigned line = pos ? sql_position_line(q->text, q->line, atol(pos)) : q->line;
        _cleanup_free_ char *m = pg_message(r);
        run_fail(r, "seed %s:%u: %s", r->files_rel[r->stmt_file[r->next_stmt]], line, m);
        return;
    }
    r->next_stmt++;
    sql_statement(r);
}

static void sql_statement(SeedRun *r)
{
    if (r->next_stmt == r->n_stmts) {
        r->quiet = true;
        pg_query(r, RECORD_UPSERT, r->name, r->checksum, sql_recorded);
        return;
    }
    r->quiet = false;
    pg_query(r, r->stmts[r->next_stmt].text, NULL, NULL, sql_statement_done);
}

static void sql_skipped(SeedRun *r)
{
    r->on_fail = NULL;
    pg_close(r);
    r->stats.skipped++;
    say(r, "seed %s: up to date", r->name);
    step_next(r);
}

static void sql_checked(SeedRun *r)
{
    if (!pg_ok(r)) {
        pg_check_fail(r, "seed: cannot read tend_seed");
        return;
    }
    pg_take_record(r);
    if (r->up_to_date) {
        pg_query(r, "ROLLBACK", NULL, NULL, sql_skipped);
        return;
    }
    r->next_stmt = 0;
    sql_statement(r);
}

static void sql_table_ready(SeedRun *r)
{
    if (!pg_ok(r)) {
        pg_check_fail(r, "seed: cannot create the table tend_seed");
        return;
    }
    pg_query(r, RECORD_SELECT, r->name, NULL, sql_checked);
}

static void sql_begun(SeedRun *r)
{
    if (!pg_ok(r)) {
        pg_check_fail(r, "seed: cannot begin a transaction");
        return;
    }
    r->on_fail = sql_rollback;
    /* One seeding at a time per database (two `tend seed` at once, or `up`
     * and `tend seed`): the second waits, then finds the record. */
    pg_query(r, "SELECT pg_advisory_xact_lock(hashtext('tend_seed')); " RECORD_TABLE, NULL, NULL,
             sql_table_ready);
}

static void sql_connected(SeedRun *r)
{
    r->quiet = true;
    pg_query(r, "BEGIN", NULL, NULL, sql_begun);
}

/* ---- redis ---- */

static void redis_close(SeedRun *r)
{
    if (r->ac) {
        redisAsyncContext *ac = r->ac;
        r->ac = NULL;
        ac->data = NULL; /* callbacks still made while it is freed see no run */
        redisAsyncFree(ac);
    }
}

static void on_redis_connect(const redisAsyncContext *ac, int status)
{
    SeedRun *r = ac->data;
    if (!r)
        return;
    uv_timer_stop(&r->timer);
    if (status != REDIS_OK) {
        /* hiredis frees the context after this callback. */
        r->ac = NULL;
        ((redisAsyncContext *)ac)->data = NULL;
        run_fail(r, "cannot connect to %s: %s", r->where, ac->errstr);
    }
}

static void on_redis_disconnect(const redisAsyncContext *ac, int status)
{
    SeedRun *r = ac->data;
    if (!r)
        return;
    r->ac = NULL;
    ((redisAsyncContext *)ac)->data = NULL;
    if (status != REDIS_OK)
        run_fail(r, "%s: connection lost: %s", r->where, ac->errstr);
}

/* The run behind a reply callback, or NULL when the reply is to be ignored.
 * A NULL reply means the connection went away: the run fails. */
static SeedRun *redis_run_of(redisAsyncContext *ac, void *reply)
{
    SeedRun *r = ac->data;
    if (!r || r->finished)
        return NULL;
    if (!reply) {
        r->ac = NULL;
        ac->data = NULL;
        run_fail(r, "%s: connection lost: %s", r->where, ac->err ? ac->errstr : "closed");
        return NULL;
    }
    return r;
}

/* A bookkeeping reply (AUTH, HGET, HSET): keeps what it said, then cont. */
static void on_redis_reply(redisAsyncContext *ac, void *reply_, void *privdata)
{
    (void)privdata;
    SeedRun *r = redis_run_of(ac, reply_);
    if (!r)
        return;
    redisReply *reply = reply_;
    free(r->reply_str);
    r->reply_str = NULL;
    r->reply_nil = reply->type == REDIS_REPLY_NIL;
    if (reply->type == REDIS_REPLY_ERROR) {
        run_fail(r, "%s: %s", r->where, reply->str);
        return;
    }
    if (reply->type == REDIS_REPLY_STRING || reply->type == REDIS_REPLY_STATUS)
        r->reply_str = xstrndup(reply->str, reply->len);
    Cont c = r->cont;
    r->cont = NULL;
    c(r);
}

static void redis_send(SeedRun *r, Cont c, int argc, const char **argv)
{
    r->cont = c;
    if (redisAsyncCommandArgv(r->ac, on_redis_reply, NULL, argc, argv, NULL) != REDIS_OK)
        run_fail(r, "%s: cannot send %s", r->where, argv[0]);
}

static void redis_connect_resolved(SeedRun *r)
{
    int port = r->t.redis.port > 0 ? r->t.redis.port : 6379;
    snprintf(r->where, sizeof r->where, "redis at %s:%d", r->addr, port);
    redisAsyncContext *ac = redisAsyncConnect(r->addr, port);
    if (!ac) {
        run_fail(r, "out of memory");
        return;
    }
    if (ac->err) {
        _cleanup_free_ char *m = xstrdup(ac->errstr);
        redisAsyncFree(ac);
        run_fail(r, "cannot connect to %s: %s", r->where, m);
        return;
    }
    int err = redisuv_attach(ac, r->loop);
    if (err < 0) {
        redisAsyncFree(ac);
        run_fail(r, "cannot watch the redis socket: %s", uv_strerror(err));
        return;
    }
    ac->data = r;
    r->ac = ac;
    redisAsyncSetConnectCallback(ac, on_redis_connect);
    redisAsyncSetDisconnectCallback(ac, on_redis_disconnect);
    uv_timer_start(&r->timer, on_connect_timeout, SEED_CONNECT_TIMEOUT, 0);
    Cont c = r->connected;
    r->connected = NULL;
    if (r->t.redis.password) {
        const char *argv[] = {"AUTH", r->t.redis.password};
        redis_send(r, c, 2, argv);
    } else {
        c(r);
    }
}

static void redis_connect(SeedRun *r, Cont c)
{
    redis_close(r);
    r->connected = c;
    resolve(r, r->t.redis.host, redis_connect_resolved);
}

/* ---- redis steps: HGET; MULTI; commands; HSET; EXEC ----
 *
 * The record is written in the same transaction as the file's commands, so
 * that a tend killed at any moment leaves either both or neither: the step
 * runs exactly once. A command that fails when EXEC runs it (Redis has no
 * rollback: the others are applied) takes the record back out, so that
 * the step runs again once fixed. */

static void redis_step_recorded(SeedRun *r)
{
    redis_close(r);
    r->stats.ran++;
    say(r, "seed %s: applied (%zu commands)", r->name, r->n_cmds);
    step_next(r);
}

static void redis_step_unrecorded(SeedRun *r)
{
    run_fail(r, "%s", r->redis_error);
}

static void on_redis_exec(redisAsyncContext *ac, void *reply_, void *privdata)
{
    (void)privdata;
    SeedRun *r = redis_run_of(ac, reply_);
    if (!r)
        return;
    redisReply *reply = reply_;
    long bad = r->redis_error_at;
    _cleanup_free_ char *msg = r->redis_error ? xstrdup(r->redis_error) : NULL;
    bool applied = false;
    if (bad < 0 && reply->type == REDIS_REPLY_ARRAY) {
        applied = true;
        for (size_t i = 0; i < reply->elements && i <= r->n_cmds; i++)
            if (reply->element[i]->type == REDIS_REPLY_ERROR) {
                bad = (long)i;
                msg = xstrdup(reply->element[i]->str);
                break;
            }
    } else if (bad < 0) {
        msg = xstrdup(reply->type == REDIS_REPLY_ERROR ? reply->str : "EXEC did not run the commands");
    }
    if (bad >= (long)r->n_cmds) {
        run_fail(r, "%s: recording the step: %s", r->where, msg);
        return;
    }
    if (bad >= 0) {
        const RedisCmd *c = &r->cmds[bad];
        _cleanup_free_ char *what = xasprintf("seed %s:%u: %s%s", r->files_rel[r->cmd_file[bad]], c->line, msg,
                                              applied ? " (the file's other commands were applied: Redis has no rollback)" : "");
        if (!applied) {
            run_fail(r, "%s", what);
            return;
        }
        free(r->redis_error);
        r->redis_error = TAKE_PTR(what);
        const char *argv[] = {"HDEL", REDIS_RECORD_KEY, r->name};
        redis_send(r, redis_step_unrecorded, 3, argv);
        return;
    }
    if (!applied) {
        run_fail(r, "seed %s: %s", r->name, msg);
        return;
    }
    redis_step_recorded(r);
}

/* The reply to one queued command: QUEUED, or an error (unknown command,
 * wrong arity) that makes EXEC refuse the whole file. */
static void on_redis_queued(redisAsyncContext *ac, void *reply_, void *privdata)
{
    SeedRun *r = redis_run_of(ac, reply_);
    if (!r)
        return;
    redisReply *reply = reply_;
    long i = (long)(intptr_t)privdata;
    if (reply->type == REDIS_REPLY_ERROR && i < 0) {
        run_fail(r, "%s: MULTI: %s", r->where, reply->str);
        return;
    }
    if (reply->type == REDIS_REPLY_ERROR && r->redis_error_at < 0) {
        r->redis_error_at = i;
        r->redis_error = xstrdup(reply->str);
    }
}

static void redis_step_checked(SeedRun *r)
{
    r->up_to_date = !r->force && r->reply_str && streq(r->reply_str, r->checksum);
    if (r->up_to_date) {
        redis_close(r);
        r->stats.skipped++;
        say(r, "seed %s: up to date", r->name);
        step_next(r);
        return;
    }
    r->redis_error_at = -1;
    if (redisAsyncCommand(r->ac, on_redis_queued, (void *)(intptr_t)-1, "MULTI") != REDIS_OK) {
        run_fail(r, "%s: cannot send MULTI", r->where);
        return;
    }
    for (size_t i = 0; i < r->n_cmds; i++) {
        const RedisCmd *c = &r->cmds[i];
        if (redisAsyncCommandArgv(r->ac, on_redis_queued, (void *)(intptr_t)i, (int)c->argv.n,
                                  (const char **)c->argv.v, NULL) != REDIS_OK) {
            run_fail(r, "%s: cannot send a command", r->where);
            return;
        }
    }
    const char *rec[] = {"HSET", REDIS_RECORD_KEY, r->name, r->checksum};
    if (redisAsyncCommandArgv(r->ac, on_redis_queued, (void *)(intptr_t)r->n_cmds, 4, rec, NULL) != REDIS_OK) {
        run_fail(r, "%s: cannot send a command", r->where);
        return;
    }
    if (redisAsyncCommand(r->ac, on_redis_exec, NULL, "EXEC") != REDIS_OK)
        run_fail(r, "%s: cannot send EXEC", r->where);
}

static void redis_step_connected(SeedRun *r)
{
    const char *argv[] = {"HGET", REDIS_RECORD_KEY, r->name};
    redis_send(r, redis_step_checked, 3, argv);
}

/* ---- exec steps ---- */

static void exec_close(SeedRun *r)
{
    if (r->ereq) {
        engine_cancel(r->ereq);
        r->ereq = NULL;
    }
    free(r->exec_id);
    r->exec_id = NULL;
    if (r->proc) {
        /* Cancelled while running on the host: the command goes too. The
         * handles are freed by their close callbacks, which only free. */
        uv_process_kill(r->proc, SIGTERM);
        r->proc->data = NULL;
        uv_close((uv_handle_t *)r->proc, (uv_close_cb)free);
        r->proc = NULL;
    }
    for (int i = 0; i < 2; i++)
        if (r->pipes[i]) {
            r->pipes[i]->r = NULL; /* the mux reads on to EOF, then on_pipe_eof frees it */
            r->pipes[i] = NULL;
        }
}

static void exec_recorded_pg(SeedRun *r);
static void exec_record(SeedRun *r);

static void exec_finished(SeedRun *r, int64_t status, int sig)
{
    if (sig)
        run_fail(r, "seed %s: killed by signal %d", r->name, sig);
    else if (status != 0)
        run_fail(r, "seed %s: exit status %lld", r->name, (long long)status);
    else
        exec_record(r);
}

static void host_exec_maybe_done(SeedRun *r)
{
    if (--r->exec_pending > 0)
        return;
    exec_finished(r, r->exit_status, r->term_signal);
}

static void on_host_exit(uv_process_t *h, int64_t status, int sig)
{
    SeedRun *r = h->data;
    uv_close((uv_handle_t *)h, (uv_close_cb)free);
    if (!r)
        return;
    r->proc = NULL;
    r->exit_status = status;
    r->term_signal = sig;
    host_exec_maybe_done(r);
}

/* From the mux, after it closed the pipe at EOF. */
static void on_pipe_eof(void *ud)
{
    ExecPipe *pipe = ud;
    SeedRun *r = pipe->r;
    free(pipe);
    if (!r)
        return;
    for (int i = 0; i < 2; i++)
        if (r->pipes[i] == pipe)
            r->pipes[i] = NULL;
    host_exec_maybe_done(r);
}

static char **build_env(const Service *s)
{
    Env e = {0};
    env_from_environ(&e, environ);
    for (size_t i = 0; i < s->environment.n; i++)
        env_set(&e, s->environment.keys[i], s->environment.vals[i] ? s->environment.vals[i] : "");
    char **out = xcalloc(e.n + 1, sizeof(char *));
    size_t k = 0;
    for (size_t i = 0; i < e.n; i++)
        if (e.vals[i])
            out[k++] = xasprintf("%s=%s", e.keys[i], e.vals[i]);
    env_free(&e);
    return out;
}

static void exec_host(SeedRun *r)
{
    const SeedStep *st = r->st;
    StrVec argv = {0};
    if (st->shell) {
        strvec_push(&argv, "/bin/sh");
        strvec_push(&argv, "-c");
    }
    for (size_t i = 0; i < st->argv.n; i++)
        strvec_push(&argv, st->argv.v[i]);
    char **own_env = r->t.env ? NULL : build_env(r->s);
    _cleanup_free_ char *cwd = NULL;
    if (r->t.cwd)
        cwd = xstrdup(r->t.cwd);
    else if (r->s->working_dir)
        cwd = path_absolute(r->p->workdir, r->s->working_dir);
    else
        cwd = xstrdup(r->p->workdir);

    uv_stdio_container_t io[3] = {{.flags = UV_IGNORE}};
    r->exec_pending = 1;
    for (int i = 0; i < 2; i++) {
        if (r->mux) {
            r->pipes[i] = xcalloc(1, sizeof(ExecPipe));
            uv_pipe_init(r->loop, &r->pipes[i]->pipe, 0);
            r->pipes[i]->r = r;
            io[i + 1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
            io[i + 1].data.stream = (uv_stream_t *)&r->pipes[i]->pipe;
        } else {
            io[i + 1].flags = UV_INHERIT_FD;
            io[i + 1].data.fd = i + 1;
        }
    }
    uv_process_options_t o = {
        .exit_cb = on_host_exit,
        .file = argv.v[0],
        .args = argv.v,
        .env = r->t.env ? (char **)r->t.env : own_env,
        .cwd = cwd,
        .stdio_count = 3,
        .stdio = io,
    };
    r->proc = xcalloc(1, sizeof *r->proc);
    r->proc->data = r;
    int e = uv_spawn(r->loop, r->proc, &o);
    if (own_env) {
        for (char **q = own_env; *q; q++)
            free(*q);
        free(own_env);
    }
    if (e < 0) {
        uv_close((uv_handle_t *)r->proc, (uv_close_cb)free);
        r->proc = NULL;
        for (int i = 0; i < 2; i++)
            if (r->pipes[i]) {
                uv_close((uv_handle_t *)&r->pipes[i]->pipe, (uv_close_cb)free);
                r->pipes[i] = NULL;
            }
        run_fail(r, "seed %s: cannot run %s: %s", r->name, argv.v[0], uv_strerror(e));
        strvec_free(&argv);
        return;
    }
    strvec_free(&argv);
    for (int i = 0; i < 2; i++)
        if (r->pipes[i]) {
            int src = logmux_source(r->mux, r->s->name, i == 0 ? LOG_STDOUT : LOG_STDERR);
            if (logmux_attach(r->mux, src, (uv_stream_t *)&r->pipes[i]->pipe, on_pipe_eof, r->pipes[i]) < 0) {
                uv_close((uv_handle_t *)&r->pipes[i]->pipe, (uv_close_cb)free);
                r->pipes[i] = NULL;
                continue;
            }
            r->exec_pending++;
        }
}

static void write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        p += w;
        n -= (size_t)w;
    }
}

static void ctr_out(void *ud, int stream, const char *p, size_t n)
{
    SeedRun *r = ud;
    if (r->mux)
        logmux_feed(r->mux, r->src[stream == 2], p, n);
    else
        write_all(stream == 2 ? 2 : 1, p, n);
}

static void on_ctr_chunk(void *ud, const char *data, size_t len)
{
    SeedRun *r = ud;
    logdemux_feed(&r->demux, data, len, ctr_out, r);
}

static void on_ctr_inspect(void *ud, int status, json_t *body, const char *err)
{
    SeedRun *r = ud;
    r->ereq = NULL;
    if (status != 200 || !body) {
        run_fail(r, "seed %s: cannot read the exit code: %s", r->name, err ? err : "no answer");
        return;
    }
    json_t *code = json_object_get(body, "ExitCode");
    exec_finished(r, json_is_integer(code) ? json_integer_value(code) : 1, 0);
}

static void on_ctr_started(void *ud, int status, json_t *body, const char *err)
{
    SeedRun *r = ud;
    (void)status;
    (void)body;
    r->ereq = NULL;
    if (r->mux) {
        logmux_flush(r->mux, r->src[0]);
        logmux_flush(r->mux, r->src[1]);
    }
    if (err) {
        run_fail(r, "seed %s: %s", r->name, err);
        return;
    }
    char *path = xasprintf("/exec/%s/json", r->exec_id);
    r->ereq = engine_request(r->t.engine, "GET", path, NULL, on_ctr_inspect, r);
    free(path);
}

static void on_ctr_created(void *ud, int status, json_t *body, const char *err)
{
    SeedRun *r = ud;
    (void)status;
    r->ereq = NULL;
    const char *id = json_string_value(json_object_get(body, "Id"));
    if (err || !id) {
        run_fail(r, "seed %s: %s", r->name, err ? err : "the engine gave no exec id");
        return;
    }
    r->exec_id = xstrdup(id);
    memset(&r->demux, 0, sizeof r->demux);
    if (r->mux) {
        r->src[0] = logmux_source(r->mux, r->s->name, LOG_STDOUT);
        r->src[1] = logmux_source(r->mux, r->s->name, LOG_STDERR);
    }
    json_t *b = json_object();
    json_object_set_new(b, "Detach", json_false());
    json_object_set_new(b, "Tty", json_false());
    char *path = xasprintf("/exec/%s/start", id);
    r->ereq = engine_stream(r->t.engine, "POST", path, b, on_ctr_chunk, on_ctr_started, r);
    free(path);
    json_decref(b);
}

static void exec_container(SeedRun *r)
{
    const SeedStep *st = r->st;
    json_t *b = json_object();
    json_t *cmd = json_array();
    if (st->shell) {
        json_array_append_new(cmd, json_string("/bin/sh"));
        json_array_append_new(cmd, json_string("-c"));
    }
    for (size_t i = 0; i < st->argv.n; i++)
        json_array_append_new(cmd, json_string(st->argv.v[i]));
    json_object_set_new(b, "Cmd", cmd);
    json_object_set_new(b, "AttachStdout", json_true());
    json_object_set_new(b, "AttachStderr", json_true());
    json_object_set_new(b, "Tty", json_false());
    _cleanup_free_ char *esc = engine_escape(r->t.container);
    char *path = xasprintf("/containers/%s/exec", esc);
    r->ereq = engine_request(r->t.engine, "POST", path, b, on_ctr_created, r);
    free(path);
    json_decref(b);
}

static void exec_run(SeedRun *r)
{
    say(r, "seed %s: running", r->name);
    if (r->t.engine && r->t.container)
        exec_container(r);
    else
        exec_host(r);
}

/* Record of exec steps, in the store the service keeps its data in. */

static void exec_done(SeedRun *r)
{
    pg_close(r);
    redis_close(r);
    r->stats.ran++;
    say(r, "seed %s: done", r->name);
    step_next(r);
}

static void exec_recorded_pg(SeedRun *r)
{
    if (!pg_ok(r)) {
        pg_check_fail(r, "seed: cannot record the step in tend_seed");
        return;
    }
    exec_done(r);
}

static void exec_record_pg_connected(SeedRun *r)
{
    r->quiet = true;
    pg_query(r, RECORD_UPSERT, r->name, r->checksum, exec_recorded_pg);
}

static void exec_record_redis_connected(SeedRun *r)
{
    const char *argv[] = {"HSET", REDIS_RECORD_KEY, r->name, r->checksum};
    redis_send(r, exec_done, 4, argv);
}

static void exec_record(SeedRun *r)
{
    if (r->rec == SEED_STORE_PG) {
        pg_connect(r, r->t.pg.dbname ? r->t.pg.dbname : "postgres", exec_record_pg_connected);
    } else if (r->rec == SEED_STORE_REDIS) {
        redis_connect(r, exec_record_redis_connected);
    } else {
        exec_done(r);
    }
}

static void exec_checked(SeedRun *r)
{
    if (r->rec == SEED_STORE_PG) {
        if (!pg_ok(r)) {
            pg_check_fail(r, "seed: cannot read tend_seed");
            return;
        }
        pg_take_record(r);
        pg_close(r);
    } else {
        r->up_to_date = !r->force && r->reply_str && streq(r->reply_str, r->checksum);
        redis_close(r);
    }
    if (r->up_to_date) {
        r->stats.skipped++;
        say(r, "seed %s: up to date", r->name);
        step_next(r);
        return;
    }
    exec_run(r);
}

static void exec_pg_table(SeedRun *r)
{
    if (!pg_ok(r)) {
        pg_check_fail(r, "seed: cannot create the table tend_seed");
        return;
    }
    pg_query(r, RECORD_SELECT, r->name, NULL, exec_checked);
}

static void exec_pg_connected(SeedRun *r)
{
    r->quiet = true;
    pg_query(r, RECORD_TABLE, NULL, NULL, exec_pg_table);
}

static void exec_redis_connected(SeedRun *r)
{
    const char *argv[] = {"HGET", REDIS_RECORD_KEY, r->name};
    redis_send(r, exec_checked, 3, argv);
}

/* ---- steps ---- */

/* Reads the step's files: checksum, record name, and the statements or
 * commands. Returns false after failing the run. */
static bool step_load(SeedRun *r)
{
    const SeedStep *st = r->st;
    Sha256 h;
    sha256_init(&h);
    StrBuf name;
    strbuf_init(&name, 0);
    strbuf_printf(&name, "%s: %s", r->s->name, seed_kind_to_string(st->kind));
    if (st->kind == SEED_EXEC) {
        for (size_t i = 0; i < st->argv.n; i++) {
            strbuf_printf(&name, " %s", st->argv.v[i]);
            sha256_update(&h, st->argv.v[i], strlen(st->argv.v[i]) + 1);
        }
    }
    r->files_rel = xcalloc(st->files.n + 1, sizeof(char *));
    for (size_t f = 0; f < st->files.n; f++) {
        const char *path = st->files.v[f];
        r->files_rel[f] = xstrdup(rel_path(r, path));
        strbuf_printf(&name, " %s", r->files_rel[f]);
        char *data = NULL;
        size_t len = 0;
        int e = read_file(path, SEED_FILE_MAX, &data, &len);
        if (e < 0) {
            strbuf_free(&name);
            run_fail(r, "seed %s: cannot read it: %s", r->files_rel[f], strerror(-e));
            return false;
        }
        /* The file's name is part of the sum: moving content between files
         * is a change. */
        sha256_update(&h, r->files_rel[f], strlen(r->files_rel[f]) + 1);
        sha256_update(&h, data, len);
        /* Statements and commands go out as C strings: a NUL byte would cut
         * one short without a word. */
        const char *nul = (st->kind == SEED_SQL || st->kind == SEED_REDIS) ? memchr(data, '\0', len) : NULL;
        if (nul) {
            unsigned line = 1;
            for (const char *q = data; q < nul; q++)
                line += *q == '\n';
            free(data);
            strbuf_free(&name);
            run_fail(r, "seed %s:%u: a NUL byte: not a text file", r->files_rel[f], line);
            return false;
        }
        if (st->kind == SEED_SQL) {
            SqlStmt *v;
            size_t n = sql_split(data, len, &v);
            r->stmts = xrealloc(r->stmts, (r->n_stmts + n + 1) * sizeof *r->stmts);
            r->stmt_file = xrealloc(r->stmt_file, (r->n_stmts + n + 1) * sizeof(size_t));
            for (size_t i = 0; i < n; i++) {
                r->stmts[r->n_stmts] = v[i];
                r->stmt_file[r->n_stmts++] = f;
            }
            free(v);
        } else if (st->kind == SEED_REDIS) {
            RedisCmd *v = NULL;
            char *perr = NULL;
            int n = redis_parse(data, len, &v, &perr);
            if (n < 0) {
                free(data);
                strbuf_free(&name);
                run_fail(r, "seed %s:%s", r->files_rel[f], perr + 5); /* "line 3: ..." -> ":3: ..." */
                free(perr);
                return false;
            }
            r->cmds = xrealloc(r->cmds, (r->n_cmds + (size_t)n + 1) * sizeof *r->cmds);
            r->cmd_file = xrealloc(r->cmd_file, (r->n_cmds + (size_t)n + 1) * sizeof(size_t));
            for (int i = 0; i < n; i++) {
                r->cmds[r->n_cmds] = v[i];
                r->cmd_file[r->n_cmds++] = f;
            }
            free(v);
        }
        free(data);
    }
    r->name = strbuf_steal(&name);
    strbuf_free(&name);
    char hex[65];
    sha256_hex(&h, hex);
    snprintf(r->checksum, sizeof r->checksum, "sha256:%s", hex);
    return true;
}

static void step_begin(SeedRun *r)
{
    if (r->finished)
        return;
    if (r->step >= r->s->n_seeds) {
        run_finish(r, true, NULL);
        return;
    }
    r->st = &r->s->seeds[r->step];
    if (!step_load(r))
        return;
    switch (r->st->kind) {
    case SEED_SQL:
        if (!r->t.pg.service) {
            run_fail(r, "seed %s: no Postgres service to run it against (give the service a postgres "
                        "probe, or depend on one)", r->name);
            return;
        }
        r->rec = SEED_STORE_PG;
        pg_connect(r, r->st->database ? r->st->database : r->t.pg.dbname ? r->t.pg.dbname : "postgres",
                   sql_connected);
        break;
    case SEED_REDIS:
        if (!r->t.redis.service) {
            run_fail(r, "seed %s: no Redis service to run it against (give the service a redis probe, "
                        "or depend on one)", r->name);
            return;
        }
        r->rec = SEED_STORE_REDIS;
        redis_connect(r, redis_step_connected);
        break;
    case SEED_EXEC: {
        const Service *store = seed_store_for(r->p, r->s, SEED_STORE_NONE);
        SeedStoreKind k = store ? seed_store_kind(store) : SEED_STORE_NONE;
        r->rec = SEED_STORE_NONE;
        if (k == SEED_STORE_PG && r->t.pg.service == store)
            r->rec = SEED_STORE_PG;
        else if (k == SEED_STORE_REDIS && r->t.redis.service == store)
            r->rec = SEED_STORE_REDIS;
        if (r->rec == SEED_STORE_PG) {
            pg_connect(r, r->t.pg.dbname ? r->t.pg.dbname : "postgres", exec_pg_connected);
        } else if (r->rec == SEED_STORE_REDIS) {
            redis_connect(r, exec_redis_connected);
        } else {
            exec_run(r); /* no store to keep a record in: runs every time */
        }
        break;
    }
    default:
        run_fail(r, "seed step %zu: unknown kind", r->step + 1);
        break;
    }
}

static void step_next(SeedRun *r)
{
    step_clear(r);
    r->step++;
    /* Through the loop: the stack of libpq/hiredis callbacks unwinds first. */
    defer(r, step_begin);
}

SeedRun *seed_run(uv_loop_t *loop, const Project *p, const Service *s, const SeedTarget *t, bool force,
                  LogMux *mux, SeedDoneFn done, void *ud)
{
    SeedRun *r = xcalloc(1, sizeof *r);
    r->loop = loop;
    r->p = p;
    r->s = s;
    /* The target is copied: the caller need not keep it alive. */
    r->t = *t;
    const char **strs[] = {&r->t.pg.host, &r->t.pg.user, &r->t.pg.password, &r->t.pg.dbname,
                           &r->t.redis.host, &r->t.redis.user, &r->t.redis.password, &r->t.redis.dbname,
                           &r->t.container, &r->t.cwd};
    for (size_t i = 0; i < ARRAY_SIZE(strs); i++)
        if (*strs[i]) {
            strvec_push(&r->own, *strs[i]);
            *strs[i] = r->own.v[r->own.n - 1];
        }
    if (t->env) {
        for (char *const *e = t->env; *e; e++)
            strvec_push(&r->env, *e);
        r->t.env = r->env.v;
    }
    r->force = force;
    r->mux = mux;
    r->done = done;
    r->ud = ud;
    r->redis_error_at = -1;
    uv_timer_init(loop, &r->timer);
    r->timer.data = r;
    defer(r, step_begin);
    return r;
}

void seed_cancel(SeedRun *r)
{
    if (!r || r->finished)
        return;
    run_free(r);
}

SeedStats seed_stats(const SeedRun *r)
{
    return r->stats;
}
