/* seed-sql: the Postgres side of a seed run (seed-int.h): libpq in
 * non-blocking mode on a uv_poll_t (PQconnectStart / PQconnectPoll,
 * PQsendQuery, PQconsumeInput), and the SQL steps, one transaction each. */
#include "run/seed-int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- postgres ---- */

static void on_pp_closed(uv_handle_t *h)
{
    free(h->data);
}

void pg_close(SeedRun *r)
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

void pg_connect(SeedRun *r, const char *db, Cont c)
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
void pg_query(SeedRun *r, const char *sql, const char *p1, const char *p2, Cont c)
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

bool pg_ok(SeedRun *r)
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

void pg_check_fail(SeedRun *r, const char *what)
{
    _cleanup_free_ char *m = pg_message(r);
    run_fail(r, "%s: %s", what, m);
}

/* Reads the record's checksum from r->res into up_to_date. */
void pg_take_record(SeedRun *r)
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

void sql_connected(SeedRun *r)
{
    r->quiet = true;
    pg_query(r, "BEGIN", NULL, NULL, sql_begun);
}
