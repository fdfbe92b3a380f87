/* tend stop | start | restart [SERVICE...]: act on the project's containers
 * through the engine's labels, whether or not a `tend up` runs. */
#include "cli/cli.h"
#include "ctl/client.h"
#include "engine/docker.h"
#include "lib/logmux.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char stop_usage[] = "Usage: tend stop [-t S] [SERVICE...]\n"
                          "\n"
                          "Stops the project's containers (dependents first), keeping them.\n"
                          "  -t, --timeout S   seconds before a kill (default: stop_grace_period)\n";
const char start_usage[] = "Usage: tend start [SERVICE...]\n"
                           "\n"
                           "Starts the project's stopped containers (dependencies first).\n";
const char restart_usage[] = "Usage: tend restart [-t S] [SERVICE...]\n"
                             "\n"
                             "Restarts the project's containers (dependents first).\n"
                             "  -t, --timeout S   seconds before a kill (default: stop_grace_period)\n";

typedef struct EachRun {
    bool done, ok;
} EachRun;

static void on_each(void *ud, bool ok, const char *err)
{
    EachRun *r = ud;
    (void)err;
    r->done = true;
    r->ok = ok;
}

/* stop/start/restart through the control socket: the supervisor acts (its
 * own stop order and grace periods; -t is not used), then this waits until
 * the services have stopped, or have started again. */
static int via_socket(CtlClient *c, const char *action, const StrVec *names, int timeout)
{
    if (timeout >= 0)
        fprintf(stderr, "tend %s: note: the running tend uses each service's stop_grace_period, not -t\n", action);
    json_t *req = json_pack("{s:s}", "cmd", action), *rep = NULL;
    json_t *svcs = json_array();
    for (size_t i = 0; i < names->n; i++)
        json_array_append_new(svcs, json_string(names->v[i]));
    json_object_set_new(req, "services", svcs);
    int r = ctl_call(c, req, 10000, &rep);
    json_decref(req);
    if (r < 0 || !json_is_true(json_object_get(rep, "ok"))) {
        fprintf(stderr, "tend %s: %s\n", action,
                r < 0 ? strerror(-r) : json_string_value(json_object_get(rep, "error")));
        json_decref(rep);
        return 1;
    }
    json_decref(rep);
    json_t *w = ctl_wait_call(c, action, names, streq(action, "stop") ? CTL_WAIT_STOPPED : CTL_WAIT_STARTED, 0);
    if (!w)
        return streq(action, "stop") ? 0 : 1; /* stopping the last service ends tend: that is fine */
    const char *res = json_string_value(json_object_get(w, "result"));
    int status = res && streq(res, "reached") ? 0 : 1;
    if (status)
        ctl_wait_explain(action, w);
    json_decref(w);
    return status;
}

static int lifecycle(const char *action, const char *usage, ConfigOptions *o, int argc, char **argv)
{
    static const struct option opts[] = {
        {"timeout", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    int timeout = -1, c;
    while ((c = getopt_long(argc, argv, "t:h", opts, NULL)) != -1) {
        switch (c) {
        case 't': {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*end || v < 0 || v > 86400 || streq(action, "start")) {
                fprintf(stderr, "tend %s: bad --timeout \"%s\"\n", action, optarg);
                return 2;
            }
            timeout = (int)v;
            break;
        }
        case 'h':
            fputs(usage, stdout);
            return 0;
        default:
            fprintf(stderr, "Run 'tend %s --help' for usage.\n", action);
            return 2;
        }
    }
    StrVec names = {0};
    for (int i = optind; i < argc; i++)
        strvec_push(&names, argv[i]);
    o->all_profiles = true;
    Project *p = NULL;
    int r = config_load_report(o, &p);
    if (r) {
        strvec_free(&names);
        return r;
    }
    for (size_t i = 0; i < names.n; i++) {
        const Service *s = project_service(p, names.v[i]);
        if (!s) {
            fprintf(stderr, "tend %s: no service \"%s\" in the project\n", action, names.v[i]);
            strvec_free(&names);
            project_free(p);
            return 2;
        }
    }
    r = cli_lifecycle(action, p, &names, timeout);
    project_free(p);
    strvec_free(&names);
    return r;
}

int cli_lifecycle(const char *action, const Project *p, const StrVec *names, int timeout)
{
    /* A running tend does it itself (host processes too). */
    CtlClient *cl = NULL;
    int r = cli_connect_project(p, action, &cl);
    if (r != 0) {
        int status = r < 0 ? 1 : via_socket(cl, action, names, timeout);
        ctl_close(cl);
        return status;
    }
    for (size_t i = 0; i < names->n; i++) {
        const Service *s = project_service(p, names->v[i]);
        if (s->runtime == RUNTIME_HOST)
            fprintf(stderr, "tend %s: %s is a host process: it runs only under `tend up`\n", action,
                    s->name);
    }
    uv_loop_t loop;
    uv_loop_init(&loop);
    const char *nc = getenv("NO_COLOR");
    LogMux *mux = logmux_new(&loop, &(LogMuxOptions){.out_fd = STDOUT_FILENO,
                                                     .color = isatty(STDOUT_FILENO) && !(nc && *nc)});
    char *err = NULL;
    DockerRt *dk = docker_new(&loop, p, mux, &err);
    int status = 0;
    if (!dk) {
        fprintf(stderr, "tend %s: %s\n", action, err ? err : "cannot use the Docker engine");
        free(err);
        status = 1;
    } else {
        EachRun run = {0};
        docker_each(dk, action, names, timeout, on_each, &run);
        while (!run.done && uv_run(&loop, UV_RUN_ONCE))
            ;
        status = run.done && run.ok ? 0 : 1;
        docker_free(dk);
    }
    logmux_free(mux);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    return status;
}

int cmd_stop(ConfigOptions *o, int argc, char **argv)
{
    return lifecycle("stop", stop_usage, o, argc, argv);
}

int cmd_start(ConfigOptions *o, int argc, char **argv)
{
    return lifecycle("start", start_usage, o, argc, argv);
}

int cmd_restart(ConfigOptions *o, int argc, char **argv)
{
    return lifecycle("restart", restart_usage, o, argc, argv);
}
