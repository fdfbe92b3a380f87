/* tend exec [-T] SERVICE CMD...: runs a command in the service's running
 * container through the Engine exec API and passes its exit code through.
 * As with docker compose exec, stdin is attached (-i is the default) and,
 * when stdin and stdout are terminals, so is a terminal in the container
 * that follows this one's size (term.c's session). */
#include "cli/cli.h"
#include "engine/docker.h"
#include "engine/ops.h"

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
    "exit code. stdin is passed to it; when stdin and stdout are terminals\n"
    "it is interactive, with a terminal in the container that follows this\n"
    "one's size.\n"
    "\n"
    "Options:\n"
    "  -T, --no-TTY          no terminal for the command (the default when\n"
    "                        stdin or stdout is not a terminal)\n"
    "  -t, --tty             a terminal even when stdout is not one\n"
    "  -i, --interactive     pass stdin (the default; --interactive=false: no)\n"
    "  -d, --detach          run it in the background and return\n"
    "  -e, --env K=V         set a variable (repeatable)\n"
    "  -u, --user USER       run as USER\n"
    "  -w, --workdir DIR     run in DIR\n"
    "      --index N         the service's Nth container (default 1)\n"
    "      --privileged      give the command extended privileges\n"
    "  -h, --help            show this help\n";

/* A boolean flag that may be written --flag=false, as Compose's are. */
bool cli_bool_arg(const char *arg, bool *ret)
{
    if (!arg || streq(arg, "true") || streq(arg, "1")) {
        *ret = true;
        return true;
    }
    if (streq(arg, "false") || streq(arg, "0")) {
        *ret = false;
        return true;
    }
    return false;
}

typedef struct StreamRun {
    LogDemux demux;
    bool done;
    char *err;
} StreamRun;

static void out_part(void *ud, int stream, const char *p, size_t n)
{
    (void)ud;
    fflush(stdout);
    if (fwrite(p, 1, n, stream == 2 ? stderr : stdout) != n)
        return;
    fflush(stream == 2 ? stderr : stdout);
}

static void on_chunk(void *ud, const char *data, size_t len)
{
    StreamRun *r = ud;
    logdemux_feed(&r->demux, data, len, out_part, r);
}

static void on_stream_done(void *ud, int status, json_t *body, const char *err)
{
    StreamRun *r = ud;
    (void)status, (void)body;
    r->done = true;
    r->err = err ? xstrdup(err) : NULL;
}

/* Runs the created exec to its end; 0, or 1 after saying why. */
static int exec_attached(OpsSession *ops, const char *id, bool tty, bool interactive)
{
    _cleanup_free_ char *path = xasprintf("/exec/%s/start", id);
    _cleanup_free_ char *resize = xasprintf("/exec/%s/resize", id);
    _cleanup_free_ char *body = xasprintf("{\"Detach\":false,\"Tty\":%s}", tty ? "true" : "false");
    char *err = NULL;
    CliSession *ses =
        cli_session_start(ops_engine(ops), ops_loop(ops), path, body, resize, tty, interactive, NULL, NULL, &err);
    if (ses) {
        ops_wait(ops, cli_session_done_flag(ses));
        int r = 0;
        if (cli_session_error(ses)) {
            fprintf(stderr, "tend exec: %s\n", cli_session_error(ses));
            r = 1;
        }
        cli_session_free(ses);
        return r;
    }
    /* tcp:// engines: no taking over; the output only, through a stream. */
    free(err);
    StreamRun run = {0};
    json_t *b = json_pack("{s:b,s:b}", "Detach", 0, "Tty", 0);
    engine_stream(ops_engine(ops), "POST", path, b, on_chunk, on_stream_done, &run);
    json_decref(b);
    ops_wait(ops, &run.done);
    if (run.err) {
        fprintf(stderr, "tend exec: %s\n", run.err);
        free(run.err);
        return 1;
    }
    return 0;
}

/* The service's running container (not a one-off) of that number. */
static char *find_container(OpsSession *ops, const char *project, const char *service, int index, char **ret_err)
{
    StrVec names = {0};
    strvec_push(&names, service);
    json_t *list = NULL;
    int r = ops_containers(ops, project, &names, false, false, &list, ret_err);
    strvec_free(&names);
    if (r < 0)
        return NULL;
    char *id = NULL;
    size_t i;
    json_t *c;
    json_array_foreach(list, i, c)
    {
        if (ops_ctr_number(c) == index || (index == 1 && ops_ctr_number(c) == 0)) {
            id = xstrdup(json_string_value(json_object_get(c, "Id")));
            break;
        }
    }
    json_decref(list);
    if (!id)
        *ret_err = index == 1 ? xasprintf("service \"%s\" has no running container; start it with `tend up`", service)
                              : xasprintf("service \"%s\" has no running container number %d", service, index);
    return id;
}

int cmd_exec(ConfigOptions *o, int argc, char **argv)
{
    enum { OPT_INDEX = 256, OPT_PRIVILEGED };
    static const struct option opts[] = {
        {"no-TTY", no_argument, NULL, 'T'},   {"no-tty", no_argument, NULL, 'T'},
        {"tty", no_argument, NULL, 't'},      {"interactive", optional_argument, NULL, 'i'},
        {"detach", no_argument, NULL, 'd'},   {"env", required_argument, NULL, 'e'},
        {"user", required_argument, NULL, 'u'}, {"workdir", required_argument, NULL, 'w'},
        {"index", required_argument, NULL, OPT_INDEX}, {"privileged", no_argument, NULL, OPT_PRIVILEGED},
        {"help", no_argument, NULL, 'h'},     {0},
    };
    bool no_tty = false, want_tty = false, interactive = true, detach = false, privileged = false;
    const char *user = NULL, *workdir = NULL;
    int index = 1;
    StrVec env = {0};
    int c;
    while ((c = getopt_long(argc, argv, "+Ttide:u:w:h", opts, NULL)) != -1) {
        switch (c) {
        case 'T':
            no_tty = true;
            break;
        case 't':
            want_tty = true;
            break;
        case 'i':
            if (!cli_bool_arg(optarg, &interactive)) {
                fprintf(stderr, "tend exec: bad --interactive \"%s\"\n", optarg);
                strvec_free(&env);
                return 2;
            }
            break;
        case 'd':
            detach = true;
            break;
        case 'e':
            strvec_push(&env, optarg);
            break;
        case 'u':
            user = optarg;
            break;
        case 'w':
            workdir = optarg;
            break;
        case OPT_INDEX:
            index = atoi(optarg);
            if (index < 1) {
                fprintf(stderr, "tend exec: bad --index \"%s\"\n", optarg);
                strvec_free(&env);
                return 2;
            }
            break;
        case OPT_PRIVILEGED:
            privileged = true;
            break;
        case 'h':
            fputs(exec_usage, stdout);
            strvec_free(&env);
            return 0;
        default:
            fputs("Run 'tend exec --help' for usage.\n", stderr);
            strvec_free(&env);
            return 2;
        }
    }
    if (argc - optind < 2) {
        fputs("tend exec: a service and a command are needed\n", stderr);
        strvec_free(&env);
        return 2;
    }
    const char *service = argv[optind];
    Project *p = NULL;
    int r = cli_load_project(o, &p);
    if (r) {
        strvec_free(&env);
        return r;
    }
    const Service *s = project_service(p, service);
    if (!s || s->runtime != RUNTIME_DOCKER) {
        fprintf(stderr, "tend exec: %s\n", s ? "exec runs in containers; this is a host service"
                                              : "no such service in the project");
        project_free(p);
        strvec_free(&env);
        return 2;
    }
    /* A terminal when both ends are one, as docker compose exec does. */
    bool tty = !no_tty && !detach && (want_tty || (isatty(STDIN_FILENO) && isatty(STDOUT_FILENO)));
    interactive = interactive && !detach;
    int status = 1;
    char *err = NULL;
    OpsSession *ops = ops_open(&err);
    char *ctr = ops ? find_container(ops, p->name, service, index, &err) : NULL;
    if (ctr) {
        json_t *b = json_object();
        json_t *cmd = json_array();
        for (int k = optind + 1; k < argc; k++)
            json_array_append_new(cmd, json_string(argv[k]));
        json_object_set_new(b, "Cmd", cmd);
        json_object_set_new(b, "AttachStdin", json_boolean(interactive));
        json_object_set_new(b, "AttachStdout", json_boolean(!detach));
        json_object_set_new(b, "AttachStderr", json_boolean(!detach));
        json_object_set_new(b, "Tty", json_boolean(tty));
        json_object_set_new(b, "Privileged", json_boolean(privileged));
        if (env.n) {
            json_t *ev = json_array();
            for (size_t k = 0; k < env.n; k++)
                json_array_append_new(ev, json_string(env.v[k]));
            json_object_set_new(b, "Env", ev);
        }
        if (user)
            json_object_set_new(b, "User", json_string(user));
        if (workdir)
            json_object_set_new(b, "WorkingDir", json_string(workdir));
        _cleanup_free_ char *path = xasprintf("/containers/%s/exec", ctr);
        json_t *ans = NULL;
        ops_call(ops, "POST", path, b, &ans, &err);
        json_decref(b);
        const char *id = json_string_value(json_object_get(ans, "Id"));
        _cleanup_free_ char *exec_id = id ? xstrdup(id) : NULL;
        json_decref(ans);
        if (exec_id && detach) {
            _cleanup_free_ char *start = xasprintf("/exec/%s/start", exec_id);
            json_t *sb = json_pack("{s:b,s:b}", "Detach", 1, "Tty", 0);
            status = ops_call(ops, "POST", start, sb, NULL, &err) / 100 == 2 ? 0 : 1;
            json_decref(sb);
        } else if (exec_id && exec_attached(ops, exec_id, tty, interactive) == 0) {
            _cleanup_free_ char *inspect = xasprintf("/exec/%s/json", exec_id);
            ans = NULL;
            if (ops_call(ops, "GET", inspect, NULL, &ans, &err) == 200) {
                json_t *code = json_object_get(ans, "ExitCode");
                status = json_is_integer(code) ? (int)json_integer_value(code) : 1;
            }
            json_decref(ans);
        } else if (!exec_id && !err) {
            err = xstrdup("the engine gave no exec id");
        }
    }
    if (err)
        fprintf(stderr, "tend exec: %s\n", err);
    free(err);
    free(ctr);
    ops_close(ops);
    project_free(p);
    strvec_free(&env);
    return status;
}
