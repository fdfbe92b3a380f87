/* seed-int: what the files of a seed run share, private to run/seed*.c
 * (seed.h is the interface). seed.c holds the run, name resolution and
 * the steps; seed-sql.c Postgres and the SQL steps; seed-redis.c Redis and
 * the Redis steps; seed-exec.c the exec steps. */
#pragma once

#include "run/seed.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <libpq-fe.h>

#define SEED_CONNECT_TIMEOUT (15LL * 1000) /* ms to connect to a store */
#define REDIS_RECORD_KEY "tend:seed"

/* The record of SQL steps, and of exec steps kept in Postgres. */
#define RECORD_TABLE                                                                              \
    "CREATE TABLE IF NOT EXISTS tend_seed (step text PRIMARY KEY, checksum text NOT NULL, "     \
    "applied_at timestamptz NOT NULL DEFAULT now())"
#define RECORD_SELECT "SELECT checksum FROM tend_seed WHERE step = $1"
#define RECORD_UPSERT                                                                             \
    "INSERT INTO tend_seed (step, checksum, applied_at) VALUES ($1, $2, now()) "                 \
    "ON CONFLICT (step) DO UPDATE SET checksum = excluded.checksum, applied_at = now()"

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

/* seed.c: the run */
void say(SeedRun *r, const char *fmt, ...) _printf_(2, 3);
void run_fail(SeedRun *r, const char *fmt, ...) _printf_(2, 3);
void fail_now(SeedRun *r);
void step_next(SeedRun *r);
void on_connect_timeout(uv_timer_t *h);
void resolve(SeedRun *r, const char *host, Cont c);

/* seed-sql.c: Postgres and the SQL steps */
void pg_close(SeedRun *r);
void pg_connect(SeedRun *r, const char *db, Cont c);
void pg_query(SeedRun *r, const char *sql, const char *p1, const char *p2, Cont c);
bool pg_ok(SeedRun *r);
void pg_check_fail(SeedRun *r, const char *what);
void pg_take_record(SeedRun *r);
void sql_connected(SeedRun *r);

/* seed-redis.c: Redis and the Redis steps */
void redis_close(SeedRun *r);
void redis_connect(SeedRun *r, Cont c);
void redis_send(SeedRun *r, Cont c, int argc, const char **argv);
void redis_step_connected(SeedRun *r);

/* seed-exec.c: the exec steps */
void exec_close(SeedRun *r);
void exec_run(SeedRun *r);
void exec_pg_connected(SeedRun *r);
void exec_redis_connected(SeedRun *r);
