/* seed: the steps of a service's x-tend.seed, run on the loop. SQL files go
 * to a Postgres service through non-blocking libpq, one transaction per step
 * (the statements one by one, so that an error is reported at FILE:LINE; on
 * an error the transaction is rolled back). Redis command files go through
 * async hiredis inside MULTI/EXEC. Exec steps run in the service's container
 * through the Engine exec API, or on the host for host services.
 *
 * Each step runs once per data store and again when its content changes:
 * the record of what ran is kept with the data. SQL steps: a table
 * tend_seed(step, checksum, applied_at) in the step's database, written in
 * the same transaction. Redis steps: the hash key "tend:seed" (field = step,
 * value = checksum), written after EXEC succeeded. Exec steps: in the store
 * the service keeps its data in (itself, or its first Postgres or Redis
 * dependency); a service with no store reruns its exec steps every time.
 * A step's name is "SERVICE: KIND FILES" (paths relative to the project) or
 * "SERVICE: exec COMMAND"; its checksum is the SHA-256 of the files'
 * contents (and the command). */
#pragma once

#include "engine/engine.h"
#include "lib/logmux.h"
#include "lib/sha256.h"
#include "load/model.h"

#include <uv.h>

typedef enum SeedStoreKind {
    SEED_STORE_NONE,
    SEED_STORE_PG,
    SEED_STORE_REDIS,
    _SEED_STORE_MAX,
} SeedStoreKind;

/* How to reach a Postgres or Redis service. seed_run copies the strings. */
typedef struct SeedStore {
    const Service *service; /* NULL: there is none */
    const char *host;       /* an address or a name; NULL: 127.0.0.1 */
    int port;               /* 0: 5432 / 6379 */
    const char *user, *password; /* postgres user (NULL: "postgres"); password for both */
    const char *dbname;     /* postgres: the database when a step names none */
} SeedStore;

/* Where a service's seeds go. */
typedef struct SeedTarget {
    SeedStore pg, redis;
    /* Exec steps of a container service: run in `container` (name or id)
     * through `engine`. Both NULL: on the host. */
    Engine *engine;
    const char *container;
    /* Exec steps on the host: environment (NULL: tend's overlaid by the
     * service's environment) and folder (NULL: working_dir, else the
     * project folder). */
    char *const *env;
    const char *cwd;
} SeedTarget;

/* What kind of store a service is: its probe (postgres / redis), else its
 * seed steps (sql / redis files), else its image name ("postgres:16",
 * "library/redis"...). */
SeedStoreKind seed_store_kind(const Service *s);
/* The service whose store a step kind of s goes to: s itself when it is of
 * that kind, else its first dependency (in the order written) that is.
 * kind SEED_STORE_NONE: the first store of any kind (exec records). */
const Service *seed_store_for(const Project *p, const Service *s, SeedStoreKind kind);

/* Fills t->pg and t->redis for the seeds of s: the store services and how to
 * reach them. host/port: the store's x-tend probe host/port when set; else
 * for a container service the address ip_of() gives (its IP on the project
 * network; NULL or "" when unknown) and the default port; else 127.0.0.1.
 * user/password/dbname: the probe's, else POSTGRES_USER, POSTGRES_PASSWORD,
 * POSTGRES_DB from the store's environment, else "postgres". Strings point
 * into p or into what ip_of returns. Leaves the exec fields alone. */
void seed_target_init(SeedTarget *t, const Project *p, const Service *s,
                      const char *(*ip_of)(void *ud, const Service *store), void *ud);

typedef struct SeedRun SeedRun;

/* ok; on failure err says what and where, in one line:
 * "seed db/seeds/02-data.sql:14: ERROR:  relation \"nope\" does not exist". */
typedef void (*SeedDoneFn)(void *ud, bool ok, const char *err);

/* Runs the seed steps of s in order, each skipped when its record says it
 * already ran with the same checksum (unless force). Progress and exec
 * output go to mux under the service's name (mux NULL: progress to stderr,
 * exec output to this process's stdout/stderr). done is called exactly
 * once, on the loop, unless the run is cancelled; a service without seeds
 * finishes at once (on the next loop turn). After done the run frees
 * itself. Never returns NULL. */
SeedRun *seed_run(uv_loop_t *loop, const Project *p, const Service *s, const SeedTarget *t, bool force,
                  LogMux *mux, SeedDoneFn done, void *ud);
/* Stops a run whose done has not been called yet (an open transaction is abandoned, so the server rolls it
 * back; a running exec is left to finish in its container, a host one is
 * killed). done is not called. Safe inside callbacks. */
void seed_cancel(SeedRun *r);

/* Counts from the last finished step loop, for messages and tests. */
typedef struct SeedStats {
    unsigned ran, skipped;
} SeedStats;
SeedStats seed_stats(const SeedRun *r);

/* ---- pure helpers (tested on their own) ---- */

/* One SQL statement of a file: its text (without the trailing ';') and the
 * line it starts on (1-based). */
typedef struct SqlStmt {
    char *text;
    unsigned line;
} SqlStmt;
/* Splits SQL text into statements at top-level ';', respecting '...',
 * E'...', "...", $tag$...$tag$, -- and nested block comments. Statements that
 * are only blanks and comments are left out. Returns the count; *ret is
 * malloc'd (free with sql_stmts_free). */
size_t sql_split(const char *sql, size_t len, SqlStmt **ret);
void sql_stmts_free(SqlStmt *v, size_t n);
/* The line of a 1-based character position (PG_DIAG_STATEMENT_POSITION,
 * counted in characters of UTF-8 text) within a statement starting at
 * `line`. */
unsigned sql_position_line(const char *stmt, unsigned line, long position);

/* One Redis command of a file. */
typedef struct RedisCmd {
    StrVec argv;
    unsigned line;
} RedisCmd;
/* Parses a Redis command file: one command per line, words split on blanks,
 * '...' taken literally, "..." with \n \r \t \\ \" \xHH escapes, a backslash
 * outside quotes escaping the next character, # starting a comment at the
 * start of a word. Returns the count, or -EINVAL with *ret_err
 * ("line 3: unterminated quote"). */
int redis_parse(const char *text, size_t len, RedisCmd **ret, char **ret_err);
void redis_cmds_free(RedisCmd *v, size_t n);

