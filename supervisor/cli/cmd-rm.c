/* tend rm [-f] [-s] [-v] [SERVICE...] and tend create [SERVICE...]: the
 * containers themselves. rm removes the services' stopped containers (as
 * docker compose rm: not one-offs, only services of the file), asking
 * first unless -f; -s stops them first, through a running tend when there
 * is one. create makes the containers (networks and volumes too) without
 * starting them; services a running tend runs are left to it. Host
 * services have no container: there is nothing to remove or create. */
#include "cli/cli.h"
#include "ctl/client.h"
#include "engine/docker.h"
#include "engine/ops.h"
#include "load/select.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char rm_usage[] =
    "Usage: tend rm [OPTIONS] [SERVICE...]\n"
    "\n"
    "Removes the services' stopped containers. Anonymous volumes stay unless\n"
    "-v is given; named volumes stay (tend down -v removes those).\n"
    "\n"
    "Options:\n"
    "  -f, --force     do not ask to confirm\n"
    "  -s, --stop      stop the containers first (through a running tend)\n"
    "  -v, --volumes   also remove their anonymous volumes\n"
    "  -h, --help      show this help\n";

const char create_usage[] =
    "Usage: tend create [OPTIONS] [SERVICE...]\n"
    "\n"
    "Creates the services' containers (and what they depend on, with the\n"
    "project's networks and volumes) without starting them; images are pulled\n"
    "or built as tend up would. An unchanged container is left as it is; a\n"
    "changed one is created again. `tend start` starts them.\n"
    "\n"
    "Options:\n"
    "      --build           build images first\n"
    "      --no-deps         not what the services depend on\n"
    "      --remove-orphans  remove containers of services not in the file\n"
    "  -h, --help            show this help\n";

/* The prompt: y or yes goes on; anything else, or no answer, does not. */
static bool confirm(const char *msg)
{
    printf("%s\nAre you sure? [yN] ", msg);
    fflush(stdout);
    char line[64];
    if (!fgets(line, sizeof line, stdin)) {
        putchar('\n');
        return false;
    }
    line[strcspn(line, "\r\n")] = '\0';
    return streq(line, "y") || streq(line, "Y") || streq(line, "yes");
}

int cmd_rm(ConfigOptions *o, int argc, char **argv)
{
    static const struct option opts[] = {
        {"force", no_argument, NULL, 'f'}, {"stop", no_argument, NULL, 's'},
        {"volumes", no_argument, NULL, 'v'}, {"all", no_argument, NULL, 'a'},
        {"help", no_argument, NULL, 'h'}, {0},
    };
    bool force = false, stop = false, volumes = false;
    int c;
    while ((c = getopt_long(argc, argv, "fsvah", opts, NULL)) != -1) {
        switch (c) {
        case 'f':
            force = true;
            break;
        case 's':
            stop = true;
            break;
        case 'v':
            volumes = true;
            break;
        case 'a':
            break; /* Compose's old --all: no effect */
        case 'h':
            fputs(rm_usage, stdout);
            return 0;
        default:
            fputs("Run 'tend rm --help' for usage.\n", stderr);
            return 2;
        }
    }
    StrVec names = {0};
    Project *p = NULL;
    int r = cli_load_named(o, "rm", argc - optind, argv + optind, true, &p, &names);
    if (r)
        return r;
    int status = stop ? cli_lifecycle("stop", p, &names, -1) : 0;
    char *err = NULL;
    OpsSession *ops = status ? NULL : ops_open(&err);
    json_t *list = NULL;
    if (!status && (!ops || ops_containers(ops, p->name, &names, true, false, &list, &err) < 0)) {
        fprintf(stderr, "tend rm: %s\n", err);
        status = 1;
    }
    json_t *gone = json_array();
    StrBuf msg;
    strbuf_init(&msg, 0);
    size_t i;
    json_t *ctr;
    json_array_foreach(list, i, ctr)
    {
        const char *state = json_string_value(json_object_get(ctr, "State"));
        if (!project_service(p, ops_ctr_service(ctr)) || (state && (streq(state, "running") || streq(state, "paused"))))
            continue;
        json_array_append(gone, ctr);
        strbuf_printf(&msg, "%s%s", msg.len ? ", " : "Going to remove ", ops_ctr_name(ctr));
    }
    if (!status && json_array_size(gone) == 0) {
        fputs("No stopped containers\n", stderr);
    } else if (!status) {
        bool go = force ? (printf("%s\n", msg.data), true) : confirm(msg.data);
        json_array_foreach(gone, i, ctr)
        {
            if (!go)
                break;
            _cleanup_free_ char *path =
                xasprintf("/containers/%s?v=%d", json_string_value(json_object_get(ctr, "Id")), volumes ? 1 : 0);
            int st = ops_call(ops, "DELETE", path, NULL, NULL, &err);
            if (st / 100 == 2 || st == 404) {
                cli_progress("Container", ops_ctr_name(ctr), "Removed");
            } else {
                fprintf(stderr, "tend rm: %s: %s\n", ops_ctr_name(ctr), err ? err : "no answer");
                status = 1;
            }
            free(err);
            err = NULL;
        }
    }
    free(err);
    strbuf_free(&msg);
    json_decref(gone);
    json_decref(list);
    ops_close(ops);
    strvec_free(&names);
    project_free(p);
    return fflush(stdout) == 0 ? status : 1;
}

/* ---- create ---- */

typedef struct Creating {
    bool done, ok;
    char *err;
    uv_loop_t *loop;
} Creating;

/* Done: the loop is stopped too. A container found as it should be is told
 * from a timer, before the loop's poll; without the stop, that poll would
 * wait for the next event (the engine's event stream may send none). */
static void on_prepared(void *ud, bool ok, const char *err)
{
    Creating *cr = ud;
    cr->done = true;
    cr->ok = ok;
    cr->err = err ? xstrdup(err) : NULL;
    if (cr->loop)
        uv_stop(cr->loop);
}

static void on_made(void *ud, bool ok, const char *err)
{
    on_prepared(ud, ok, err);
}

static void on_nothing(void *ud, const CtrEnd *end)
{
    (void)ud, (void)end;
}

/* The services a running tend runs: left to it. */
static void running_under_tend(const Project *p, StrVec *ret)
{
    CtlClient *cl = NULL;
    if (cli_connect_project(p, "create", &cl) <= 0)
        return;
    json_t *req = json_pack("{s:s}", "cmd", "ps"), *rep = NULL;
    if (ctl_call(cl, req, 10000, &rep) == 0) {
        size_t i;
        json_t *s;
        json_array_foreach(json_object_get(rep, "services"), i, s)
            if (json_is_true(json_object_get(s, "selected")))
                strvec_push(ret, json_string_value(json_object_get(s, "service")));
    }
    json_decref(req);
    json_decref(rep);
    ctl_close(cl);
}

int cmd_create(ConfigOptions *o, int argc, char **argv)
{
    enum { OPT_BUILD = 256, OPT_NO_DEPS, OPT_REMOVE_ORPHANS, OPT_IGNORED };
    static const struct option opts[] = {
        {"build", no_argument, NULL, OPT_BUILD},
        {"no-deps", no_argument, NULL, OPT_NO_DEPS},
        {"remove-orphans", no_argument, NULL, OPT_REMOVE_ORPHANS},
        {"no-build", no_argument, NULL, OPT_IGNORED},
        {"quiet-pull", no_argument, NULL, OPT_IGNORED},
        {"yes", no_argument, NULL, 'y'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    bool build = false, no_deps = false, remove_orphans = false;
    int c;
    while ((c = getopt_long(argc, argv, "yh", opts, NULL)) != -1) {
        switch (c) {
        case OPT_BUILD:
            build = true;
            break;
        case OPT_NO_DEPS:
            no_deps = true;
            break;
        case OPT_REMOVE_ORPHANS:
            remove_orphans = true;
            break;
        case OPT_IGNORED:
        case 'y':
            break;
        case 'h':
            fputs(create_usage, stdout);
            return 0;
        default:
            fputs("Run 'tend create --help' for usage.\n", stderr);
            return 2;
        }
    }
    StrVec names = {0};
    Project *p = NULL;
    int r = cli_load_active(o, "create", argc - optind, argv + optind, &p, &names);
    if (r)
        return r;
    bool *sel = xcalloc(p->n_services ? p->n_services : 1, sizeof(bool));
    select_services(p, &names, no_deps, NULL, sel);
    StrVec theirs = {0};
    running_under_tend(p, &theirs);

    uv_loop_t loop;
    uv_loop_init(&loop);
    const char *nc = getenv("NO_COLOR");
    LogMux *mux = logmux_new(&loop, &(LogMuxOptions){.out_fd = STDERR_FILENO,
                                                     .color = isatty(STDERR_FILENO) && !(nc && *nc)});
    char *err = NULL;
    int status = 0;
    DockerRt *dk = docker_new(&loop, p, mux, &err);
    if (!dk) {
        fprintf(stderr, "tend create: %s\n", err ? err : "cannot use the Docker engine");
        status = 1;
    } else {
        docker_set_create_only(dk, true);
        docker_set_build(dk, build);
        docker_set_remove_orphans(dk, remove_orphans);
        Creating cr = {.loop = &loop};
        docker_prepare(dk, on_prepared, &cr);
        while (!cr.done && uv_run(&loop, UV_RUN_ONCE))
            ;
        if (!cr.ok) {
            fprintf(stderr, "tend create: %s\n", cr.err ? cr.err : "the engine could not be prepared");
            status = 1;
        }
        free(cr.err);
        /* One at a time, what a service needs first (network_mode
         * service:X needs X's container). */
        const ContainerCbs cbs = {.started = on_made, .exited = on_nothing};
        bool *made = xcalloc(p->n_services ? p->n_services : 1, sizeof(bool));
        for (size_t pass = 0, left = 1; left && pass <= p->n_services && status == 0; pass++) {
            left = 0;
            for (size_t i = 0; i < p->n_services && status == 0; i++) {
                const Service *s = p->services[i];
                if (!sel[i] || made[i])
                    continue;
                bool ready = true;
                for (size_t k = 0; k < s->n_deps; k++)
                    if (sel[s->deps[k].index] && !made[s->deps[k].index])
                        ready = false;
                const Service *nm = s->network_mode && str_startswith(s->network_mode, "service:")
                                        ? project_service(p, s->network_mode + 8)
                                        : NULL;
                if (nm && sel[nm->index] && !made[nm->index])
                    ready = false;
                if (!ready && pass < p->n_services) {
                    left++;
                    continue;
                }
                made[i] = true;
                if (s->runtime != RUNTIME_DOCKER)
                    continue;
                if (strvec_contains(&theirs, s->name)) {
                    fprintf(stderr, "tend create: %s is run by the running tend; left to it\n", s->name);
                    continue;
                }
                cr = (Creating){.loop = &loop};
                Container *ctr = docker_start(dk, s, &cbs, &cr);
                while (!cr.done && uv_run(&loop, UV_RUN_ONCE))
                    ;
                if (!cr.ok) {
                    fprintf(stderr, "tend create: %s: %s\n", s->name, cr.err ? cr.err : "failed");
                    status = 1;
                }
                free(cr.err);
                docker_container_free(ctr);
            }
        }
        free(made);
        docker_free(dk);
    }
    free(err);
    logmux_free(mux);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    free(sel);
    strvec_free(&theirs);
    strvec_free(&names);
    project_free(p);
    return status;
}
