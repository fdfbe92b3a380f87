/* tend exec [-T] SERVICE CMD...: runs a command in the service's running
 * container through the Engine exec API and passes its exit code through.
 * Without a terminal, output is demultiplexed onto this process's stdout and
 * stderr; with one, the session is interactive (see the tty part below). */
#include "cli/cli.h"
#include "engine/docker.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char exec_usage[] =
    "Usage: tend exec [OPTIONS] SERVICE COMMAND [ARG...]\n"
    "\n"
    "Runs a command in the service's running container and exits with its\n"
    "exit code. When stdin and stdout are terminals it is interactive, with\n"
    "a terminal in the container that follows this one's size.\n"
    "\n"
    "Options:\n"
    "  -T, --no-TTY          no terminal for the command (the default when\n"
    "                        stdin or stdout is not a terminal)\n"
    "  -e, --env K=V         set a variable (repeatable)\n"
    "  -u, --user USER       run as USER\n"
    "  -w, --workdir DIR     run in DIR\n"
    "  -h, --help            show this help\n";

typedef struct Exec {
    Engine *e;
    const char *service;
    const char *project;
    char **cmd;
    int ncmd;
    StrVec env;
    const char *user, *workdir;
    char *exec_id;
    LogDemux demux;
    bool tty;     /* interactive: a terminal on both sides */
    uv_loop_t *loop;
    int status;   /* exit status of tend exec */
    bool done;
} Exec;

static void finish(Exec *x, int status)
{
    x->status = status;
    x->done = true;
}

static void on_inspect(void *ud, int status, json_t *body, const char *err)
{
    Exec *x = ud;
    if (status != 200 || !body) {
        fprintf(stderr, "tend exec: cannot read the exit code: %s\n", err ? err : "no answer");
        finish(x, 1);
        return;
    }
    json_t *code = json_object_get(body, "ExitCode");
    finish(x, json_is_integer(code) ? (int)json_integer_value(code) : 1);
}

static void out_part(void *ud, int stream, const char *p, size_t n)
{
    (void)ud;
    int fd = stream == 2 ? STDERR_FILENO : STDOUT_FILENO;
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

static void on_chunk(void *ud, const char *data, size_t len)
{
    Exec *x = ud;
    logdemux_feed(&x->demux, data, len, out_part, x);
}

static void on_ignore(void *ud, int status, json_t *body, const char *err)
{
    (void)ud, (void)status, (void)body, (void)err;
}

/* ---- interactive: a terminal, the connection taken over ----
 *
 * With a tty the engine upgrades the HTTP connection of /exec/ID/start to a
 * raw two-way byte stream (101 Switching Protocols). libcurl does not hand
 * such a connection over, so this one request is written by hand on a
 * libuv pipe to the engine's socket; the terminal is put in raw mode, keys go
 * in, output comes out as it is, and the container's terminal follows ours
 * in size (SIGWINCH). */

typedef struct Tty {
    Exec *x;
    uv_pipe_t conn;
    uv_tty_t in;
    uv_signal_t winch;
    bool in_open, winch_open, raw;
    StrBuf head;      /* the answer's head until its blank line */
    bool upgraded;
    int closing;
} Tty;

static void tty_resize(Tty *t)
{
    int w = 0, h = 0;
    if (uv_tty_get_winsize(&t->in, &w, &h) != 0 || w <= 0 || h <= 0)
        return;
    char *path = xasprintf("/exec/%s/resize?h=%d&w=%d", t->x->exec_id, h, w);
    engine_request(t->x->e, "POST", path, NULL, on_ignore, NULL);
    free(path);
}

static void on_winch(uv_signal_t *s, int sig)
{
    (void)sig;
    tty_resize(s->data);
}

static void on_tty_closed(uv_handle_t *h)
{
    Tty *t = h->data;
    if (--t->closing == 0) {
        Exec *x = t->x;
        strbuf_free(&t->head);
        free(t);
        /* The exit code, now that the command has ended. */
        char *path = xasprintf("/exec/%s/json", x->exec_id);
        engine_request(x->e, "GET", path, NULL, on_inspect, x);
        free(path);
    }
}

static void tty_end(Tty *t, const char *why)
{
    if (t->closing)
        return;
    if (t->raw)
        uv_tty_reset_mode();
    if (why)
        fprintf(stderr, "tend exec: %s\n", why);
    t->closing = 1;
    uv_close((uv_handle_t *)&t->conn, on_tty_closed);
    if (t->in_open) {
        t->closing++;
        uv_close((uv_handle_t *)&t->in, on_tty_closed);
    }
    if (t->winch_open) {
        t->closing++;
        uv_close((uv_handle_t *)&t->winch, on_tty_closed);
    }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    buf->base = xmalloc(suggested);
    buf->len = suggested;
}

static void on_conn_written(uv_write_t *w, int status)
{
    (void)status;
    free(w->data);
    free(w);
}

static void conn_write(Tty *t, const char *p, size_t n)
{
    uv_write_t *w = xcalloc(1, sizeof(*w));
    char *copy = xmalloc(n ? n : 1);
    memcpy(copy, p, n);
    w->data = copy;
    uv_buf_t b = uv_buf_init(copy, (unsigned)n);
    if (uv_write(w, (uv_stream_t *)&t->conn, &b, 1, on_conn_written) < 0) {
        free(copy);
        free(w);
    }
}

static void on_key(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    Tty *t = s->data;
    if (n > 0 && !t->closing)
        conn_write(t, buf->base, (size_t)n);
    else if (n < 0 && t->in_open)
        uv_read_stop(s); /* stdin closed: the command keeps its output going */
    free(buf->base);
}

static void tty_begin(Tty *t)
{
    t->upgraded = true;
    if (uv_tty_init(t->conn.loop, &t->in, STDIN_FILENO, 1) == 0) {
        t->in.data = t;
        t->in_open = true;
        t->raw = uv_tty_set_mode(&t->in, UV_TTY_MODE_RAW) == 0;
        uv_read_start((uv_stream_t *)&t->in, on_alloc, on_key);
        uv_signal_init(t->conn.loop, &t->winch);
        t->winch.data = t;
        t->winch_open = true;
        uv_signal_start(&t->winch, on_winch, SIGWINCH);
        tty_resize(t);
    }
}

static void on_output(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    Tty *t = s->data;
    if (n < 0) {
        free(buf->base);
        tty_end(t, t->upgraded ? NULL : "the engine closed the connection");
        return;
    }
    const char *p = buf->base;
    size_t len = (size_t)n;
    if (!t->upgraded) {
        strbuf_append(&t->head, p, len);
        const char *end = t->head.data ? strstr(t->head.data, "\r\n\r\n") : NULL;
        if (!end) {
            free(buf->base);
            return;
        }
        int code = 0;
        (void)sscanf(t->head.data, "HTTP/1.%*d %d", &code);
        if (code != 101 && code != 200) {
            const char *body = end + 4;
            _cleanup_free_ char *msg = xasprintf("the engine refused the terminal (HTTP %d): %s", code, body);
            free(buf->base);
            tty_end(t, msg);
            return;
        }
        size_t used = (size_t)(end + 4 - t->head.data);
        tty_begin(t);
        out_part(NULL, 1, t->head.data + used, t->head.len - used);
        free(buf->base);
        return;
    }
    out_part(NULL, 1, p, len);
    free(buf->base);
}

static void on_conn(uv_connect_t *req, int status)
{
    Tty *t = req->data;
    free(req);
    if (status < 0) {
        _cleanup_free_ char *msg = xasprintf("cannot connect to the engine: %s", uv_strerror(status));
        tty_end(t, msg);
        return;
    }
    const char *body = "{\"Detach\":false,\"Tty\":true}";
    _cleanup_free_ char *head = xasprintf("POST /v%s/exec/%s/start HTTP/1.1\r\n"
                                          "Host: docker\r\n"
                                          "Content-Type: application/json\r\n"
                                          "Connection: Upgrade\r\n"
                                          "Upgrade: tcp\r\n"
                                          "Content-Length: %zu\r\n\r\n%s",
                                          engine_api_version(t->x->e), t->x->exec_id, strlen(body), body);
    conn_write(t, head, strlen(head));
    uv_read_start((uv_stream_t *)&t->conn, on_alloc, on_output);
}

static void start_tty(Exec *x)
{
    Tty *t = xcalloc(1, sizeof(*t));
    t->x = x;
    strbuf_init(&t->head, 64 * 1024);
    uv_pipe_init(x->loop, &t->conn, 0);
    t->conn.data = t;
    uv_connect_t *req = xcalloc(1, sizeof(*req));
    req->data = t;
    uv_pipe_connect(req, &t->conn, engine_unix_path(x->e), on_conn);
}

static void on_started(void *ud, int status, json_t *body, const char *err)
{
    Exec *x = ud;
    (void)body;
    if (err) {
        fprintf(stderr, "tend exec: %s\n", err);
        finish(x, 1);
        return;
    }
    (void)status;
    char *path = xasprintf("/exec/%s/json", x->exec_id);
    engine_request(x->e, "GET", path, NULL, on_inspect, x);
    free(path);
}

static void on_created(void *ud, int status, json_t *body, const char *err)
{
    Exec *x = ud;
    (void)status;
    const char *id = json_string_value(json_object_get(body, "Id"));
    if (err || !id) {
        fprintf(stderr, "tend exec: %s\n", err ? err : "the engine gave no exec id");
        finish(x, 1);
        return;
    }
    x->exec_id = xstrdup(id);
    if (x->tty) {
        start_tty(x);
        return;
    }
    json_t *b = json_object();
    json_object_set_new(b, "Detach", json_false());
    json_object_set_new(b, "Tty", json_false());
    char *path = xasprintf("/exec/%s/start", id);
    engine_stream(x->e, "POST", path, b, on_chunk, on_started, x);
    free(path);
    json_decref(b);
}

static void on_listed(void *ud, int status, json_t *body, const char *err)
{
    Exec *x = ud;
    const char *id = NULL;
    size_t i;
    json_t *c;
    json_array_foreach(body, i, c)
    {
        const char *oneoff = json_string_value(json_object_get(json_object_get(c, "Labels"), LABEL_ONEOFF));
        if (oneoff && streq(oneoff, "True"))
            continue;
        id = json_string_value(json_object_get(c, "Id"));
        break;
    }
    if (status != 200 || !id) {
        if (err)
            fprintf(stderr, "tend exec: %s\n", err);
        else
            fprintf(stderr, "tend exec: service \"%s\" has no running container; start it with `tend up`\n",
                    x->service);
        finish(x, 1);
        return;
    }
    json_t *b = json_object();
    json_t *cmd = json_array();
    for (int k = 0; k < x->ncmd; k++)
        json_array_append_new(cmd, json_string(x->cmd[k]));
    json_object_set_new(b, "Cmd", cmd);
    json_object_set_new(b, "AttachStdin", json_boolean(x->tty));
    json_object_set_new(b, "AttachStdout", json_true());
    json_object_set_new(b, "AttachStderr", json_true());
    json_object_set_new(b, "Tty", json_boolean(x->tty));
    if (x->env.n) {
        json_t *env = json_array();
        for (size_t k = 0; k < x->env.n; k++)
            json_array_append_new(env, json_string(x->env.v[k]));
        json_object_set_new(b, "Env", env);
    }
    if (x->user)
        json_object_set_new(b, "User", json_string(x->user));
    if (x->workdir)
        json_object_set_new(b, "WorkingDir", json_string(x->workdir));
    char *path = xasprintf("/containers/%s/exec", id);
    engine_request(x->e, "POST", path, b, on_created, x);
    free(path);
    json_decref(b);
}

static void on_connected(void *ud, bool ok, const char *err)
{
    Exec *x = ud;
    if (!ok) {
        fprintf(stderr, "tend exec: %s\n", err);
        finish(x, 1);
        return;
    }
    json_t *f = json_object();
    json_t *labels = json_array();
    char *a = xasprintf("%s=%s", LABEL_PROJECT, x->project);
    char *b = xasprintf("%s=%s", LABEL_SERVICE, x->service);
    json_array_append_new(labels, json_string(a));
    json_array_append_new(labels, json_string(b));
    free(a);
    free(b);
    json_object_set_new(f, "label", labels);
    char *fs = json_dumps(f, JSON_COMPACT);
    json_decref(f);
    char *e = engine_escape(fs);
    char *path = xasprintf("/containers/json?filters=%s", e);
    engine_request(x->e, "GET", path, NULL, on_listed, x);
    free(path);
    free(e);
    free(fs);
}

int cmd_exec(ConfigOptions *o, int argc, char **argv)
{
    static const struct option opts[] = {
        {"no-TTY", no_argument, NULL, 'T'}, {"env", required_argument, NULL, 'e'},
        {"user", required_argument, NULL, 'u'}, {"workdir", required_argument, NULL, 'w'},
        {"help", no_argument, NULL, 'h'}, {0},
    };
    Exec x = {0};
    bool no_tty = false;
    int c;
    while ((c = getopt_long(argc, argv, "+Te:u:w:h", opts, NULL)) != -1) {
        switch (c) {
        case 'T':
            no_tty = true;
            break;
        case 'e':
            strvec_push(&x.env, optarg);
            break;
        case 'u':
            x.user = optarg;
            break;
        case 'w':
            x.workdir = optarg;
            break;
        case 'h':
            fputs(exec_usage, stdout);
            strvec_free(&x.env);
            return 0;
        default:
            fputs("Run 'tend exec --help' for usage.\n", stderr);
            strvec_free(&x.env);
            return 2;
        }
    }
    if (argc - optind < 2) {
        fputs("tend exec: a service and a command are needed\n", stderr);
        strvec_free(&x.env);
        return 2;
    }
    x.service = argv[optind];
    x.cmd = argv + optind + 1;
    x.ncmd = argc - optind - 1;
    o->all_profiles = true;
    Project *p = NULL;
    int r = config_load_report(o, &p);
    if (r) {
        strvec_free(&x.env);
        return r;
    }
    const Service *s = project_service(p, x.service);
    if (!s || s->runtime != RUNTIME_DOCKER) {
        fprintf(stderr, "tend exec: %s\n", s ? "exec runs in containers; this is a host service"
                                              : "no such service in the project");
        project_free(p);
        strvec_free(&x.env);
        return 2;
    }
    x.project = p->name;
    uv_loop_t loop;
    uv_loop_init(&loop);
    x.loop = &loop;
    char *err = NULL;
    x.e = engine_new(&loop, NULL, &err);
    if (!x.e) {
        fprintf(stderr, "tend exec: %s\n", err);
        free(err);
        x.status = 1;
    } else {
        /* A terminal when both ends are one, as docker compose exec does. */
        x.tty = !no_tty && isatty(STDIN_FILENO) && isatty(STDOUT_FILENO) && engine_unix_path(x.e);
        engine_connect(x.e, on_connected, &x);
        while (!x.done && uv_run(&loop, UV_RUN_ONCE))
            ;
        engine_free(x.e);
        uv_run(&loop, UV_RUN_DEFAULT);
    }
    uv_loop_close(&loop);
    free(x.exec_id);
    strvec_free(&x.env);
    project_free(p);
    return x.status;
}
