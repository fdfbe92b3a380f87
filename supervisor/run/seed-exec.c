/* seed-exec: the exec steps of a seed run (seed-int.h): uv_spawn on the
 * host, the Engine exec API in a container, and their records in the
 * store the service keeps its data in. */
#include "run/seed-int.h"

#include "lib/env.h"
#include "run/host.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

/* ---- exec steps ---- */

void exec_close(SeedRun *r)
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
    char **own_env = r->t.env ? NULL : host_probe_envp(r->s);
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
    host_envp_free(own_env);
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

static void ctr_out(void *ud, int stream, const char *p, size_t n)
{
    SeedRun *r = ud;
    if (r->mux)
        logmux_feed(r->mux, r->src[stream == 2], p, n);
    else
        write_fully(stream == 2 ? 2 : 1, p, n);
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

void exec_run(SeedRun *r)
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

void exec_pg_connected(SeedRun *r)
{
    r->quiet = true;
    pg_query(r, RECORD_TABLE, NULL, NULL, exec_pg_table);
}

void exec_redis_connected(SeedRun *r)
{
    const char *argv[] = {"HGET", REDIS_RECORD_KEY, r->name};
    redis_send(r, exec_checked, 3, argv);
}
