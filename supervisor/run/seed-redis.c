/* seed-redis: the Redis side of a seed run (seed-int.h): async hiredis with
 * the event hooks of redisuv.c, and the Redis steps inside MULTI/EXEC. */
#include "run/seed-int.h"

#include "lib/redisuv.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* ---- redis ---- */

void redis_close(SeedRun *r)
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

void redis_send(SeedRun *r, Cont c, int argc, const char **argv)
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

void redis_connect(SeedRun *r, Cont c)
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

void redis_step_connected(SeedRun *r)
{
    const char *argv[] = {"HGET", REDIS_RECORD_KEY, r->name};
    redis_send(r, redis_step_checked, 3, argv);
}
