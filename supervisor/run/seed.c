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
 * the Engine exec API in a container.
 *
 * This file holds the stores, the run and its steps; Postgres and the SQL
 * steps are in seed-sql.c, Redis and its steps in seed-redis.c, the exec
 * steps in seed-exec.c, and what they share in seed-int.h. */
#include "run/seed-int.h"

#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>

#define SEED_FILE_MAX (64u << 20)          /* a seed file larger than this is refused */

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

static void step_begin(SeedRun *r);

void say(SeedRun *r, const char *fmt, ...)
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

void fail_now(SeedRun *r)
{
    char *e = r->err;
    r->err = NULL;
    run_finish(r, false, e);
    free(e);
}

/* Fails the step: runs its cleanup (a rollback) first when it has one. */
void run_fail(SeedRun *r, const char *fmt, ...)
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

void on_connect_timeout(uv_timer_t *h)
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
void resolve(SeedRun *r, const char *host, Cont c)
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

void step_next(SeedRun *r)
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
