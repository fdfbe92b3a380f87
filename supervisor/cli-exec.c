/* tend exec [-T] SERVICE CMD...: runs a command in the service's running
 * container through the Engine exec API and passes its exit code through.
 * Output is demultiplexed onto this process's stdout and stderr. */
#include "cli.h"
#include "docker.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char exec_usage[] =
    "Usage: tend exec [OPTIONS] SERVICE COMMAND [ARG...]\n"
    "\n"
    "Runs a command in the service's running container and exits with its\n"
    "exit code.\n"
    "\n"
    "Options:\n"
    "  -T, --no-TTY          no terminal for the command (the default for now)\n"
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
    json_object_set_new(b, "AttachStdout", json_true());
    json_object_set_new(b, "AttachStderr", json_true());
    json_object_set_new(b, "Tty", json_false());
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
    int c;
    while ((c = getopt_long(argc, argv, "+Te:u:w:h", opts, NULL)) != -1) {
        switch (c) {
        case 'T':
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
    Diag d = {0};
    int r = config_load(o, &p, &d);
    for (size_t i = 0; i < d.msgs.n; i++)
        fprintf(stderr, "%s\n", d.msgs.v[i]);
    diag_free(&d);
    if (r < 0) {
        strvec_free(&x.env);
        return r == -EINVAL || r == -ENOENT ? 2 : 1;
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
    char *err = NULL;
    x.e = engine_new(&loop, NULL, &err);
    if (!x.e) {
        fprintf(stderr, "tend exec: %s\n", err);
        free(err);
        x.status = 1;
    } else {
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
