/* tend stop | start | restart [SERVICE...]: act on the project's containers
 * through the engine's labels, whether or not a `tend up` runs. */
#include "cli.h"
#include "docker.h"
#include "logmux.h"

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

static int lifecycle(const char *action, const char *usage, ConfigOptions *o, int argc, char **argv)
{
    static const struct option opts[] = {
        {"timeout", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    int timeout = -1, c;
    while ((c = getopt_long(argc, argv, "+t:h", opts, NULL)) != -1) {
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
    Diag d = {0};
    int r = config_load(o, &p, &d);
    for (size_t i = 0; i < d.msgs.n; i++)
        fprintf(stderr, "%s\n", d.msgs.v[i]);
    diag_free(&d);
    if (r < 0) {
        strvec_free(&names);
        return r == -EINVAL || r == -ENOENT ? 2 : 1;
    }
    for (size_t i = 0; i < names.n; i++) {
        const Service *s = project_service(p, names.v[i]);
        if (!s) {
            fprintf(stderr, "tend %s: no service \"%s\" in the project\n", action, names.v[i]);
            strvec_free(&names);
            project_free(p);
            return 2;
        }
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
        docker_each(dk, action, &names, timeout, on_each, &run);
        while (!run.done && uv_run(&loop, UV_RUN_ONCE))
            ;
        status = run.done && run.ok ? 0 : 1;
        docker_free(dk);
    }
    logmux_free(mux);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    project_free(p);
    strvec_free(&names);
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
