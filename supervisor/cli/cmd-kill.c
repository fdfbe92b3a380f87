/* tend kill [-s SIGNAL] | pause | unpause [SERVICE...]: a signal to the
 * services, or freezing and thawing them. While a `tend up` runs the
 * project, the services it runs are acted on through its control socket,
 * so that its view stays right (a killed service is stopped, not
 * restarted; a paused one is not probed) and host processes are reached
 * too; the project's other containers (found by their labels, docker
 * compose's included) are acted on through the engine. */
#include "cli/cli.h"
#include "ctl/client.h"
#include "engine/docker.h"
#include "engine/ops.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char kill_usage[] =
    "Usage: tend kill [OPTIONS] [SERVICE...]\n"
    "\n"
    "Sends a signal (SIGKILL by default) to the services' containers and, while\n"
    "a `tend up` runs the project, to its host processes. SIGKILL and a\n"
    "service's stop_signal stop it: it is not restarted by its restart policy.\n"
    "\n"
    "Options:\n"
    "  -s, --signal SIGNAL   the signal, by name (SIGHUP, HUP) or number\n"
    "      --remove-orphans  also remove containers of services not in the file\n"
    "  -h, --help            show this help\n";

const char pause_usage[] =
    "Usage: tend pause [SERVICE...]\n"
    "\n"
    "Freezes the services' running containers (and, while a `tend up` runs the\n"
    "project, its host processes, with SIGSTOP); their probes wait meanwhile.\n";

const char unpause_usage[] =
    "Usage: tend unpause [SERVICE...]\n"
    "\n"
    "Thaws what tend pause froze.\n";

typedef enum Act { ACT_KILL, ACT_PAUSE, ACT_UNPAUSE } Act;

static const char *const act_cmd[] = {"kill", "pause", "unpause"};
static const char *const act_done[] = {"Killed", "Paused", "Unpaused"};

/* The containers the engine acts on: running ones (paused too, for kill),
 * paused ones for unpause; not those of services the supervisor did. */
static bool engine_wants(Act act, json_t *c, const StrVec *acted)
{
    const char *state = json_string_value(json_object_get(c, "State"));
    if (strvec_contains(acted, ops_ctr_service(c)) || !state)
        return false;
    switch (act) {
    case ACT_KILL:
        return streq(state, "running") || streq(state, "paused");
    case ACT_PAUSE:
        return streq(state, "running");
    case ACT_UNPAUSE:
        return streq(state, "paused");
    }
    return false;
}

static int via_engine(Act act, const Project *p, const StrVec *names, int sig, bool remove_orphans,
                      const StrVec *acted, int *ret_count)
{
    char *err = NULL;
    OpsSession *ops = ops_open(&err);
    json_t *list = NULL;
    if (!ops || ops_containers(ops, p->name, names, true, false, &list, &err) < 0) {
        fprintf(stderr, "tend %s: %s\n", act_cmd[act], err);
        free(err);
        ops_close(ops);
        return 1;
    }
    int status = 0;
    size_t i;
    json_t *c;
    json_array_foreach(list, i, c)
    {
        const char *svc = ops_ctr_service(c);
        bool orphan = !project_service(p, svc);
        if (orphan && act == ACT_KILL && remove_orphans) {
            _cleanup_free_ char *path = xasprintf("/containers/%s?force=1", json_string_value(json_object_get(c, "Id")));
            if (ops_call(ops, "DELETE", path, NULL, NULL, &err) / 100 == 2)
                cli_progress("Container", ops_ctr_name(c), "Removed");
            continue;
        }
        if (!engine_wants(act, c, acted))
            continue;
        _cleanup_free_ char *path =
            act == ACT_KILL ? xasprintf("/containers/%s/kill?signal=%d", json_string_value(json_object_get(c, "Id")), sig)
                            : xasprintf("/containers/%s/%s", json_string_value(json_object_get(c, "Id")), act_cmd[act]);
        int st = ops_call(ops, "POST", path, NULL, NULL, &err);
        if (st / 100 == 2) {
            cli_progress("Container", ops_ctr_name(c), act_done[act]);
            (*ret_count)++;
        } else {
            fprintf(stderr, "tend %s: %s: %s\n", act_cmd[act], ops_ctr_name(c), err ? err : "no answer");
            status = 1;
        }
        free(err);
        err = NULL;
    }
    json_decref(list);
    ops_close(ops);
    return status;
}

static int act_main(Act act, const char *usage, ConfigOptions *o, int argc, char **argv)
{
    enum { OPT_REMOVE_ORPHANS = 256 };
    static const struct option opts[] = {
        {"signal", required_argument, NULL, 's'},
        {"remove-orphans", no_argument, NULL, OPT_REMOVE_ORPHANS},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    int sig = SIGKILL, c;
    bool remove_orphans = false;
    while ((c = getopt_long(argc, argv, act == ACT_KILL ? "s:h" : "h", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            sig = act == ACT_KILL ? signal_from_string(optarg) : -1;
            if (sig < 0) {
                fprintf(stderr, "tend %s: invalid signal \"%s\"\n", act_cmd[act], optarg);
                return 2;
            }
            break;
        case OPT_REMOVE_ORPHANS:
            if (act != ACT_KILL)
                goto usage;
            remove_orphans = true;
            break;
        case 'h':
            fputs(usage, stdout);
            return 0;
        default:
        usage:
            fprintf(stderr, "Run 'tend %s --help' for usage.\n", act_cmd[act]);
            return 2;
        }
    }
    StrVec names = {0};
    Project *p = NULL;
    int r = cli_load_named(o, act_cmd[act], argc - optind, argv + optind, true, &p, &names);
    if (r)
        return r;
    StrVec acted = {0};
    int status = 0, count = 0;
    bool any_docker = false;
    for (size_t i = 0; i < p->n_services; i++)
        if (p->services[i]->runtime == RUNTIME_DOCKER && (!names.n || strvec_contains(&names, p->services[i]->name)))
            any_docker = true;
    CtlClient *cl = NULL;
    r = cli_connect_project(p, act_cmd[act], &cl);
    if (r < 0) {
        status = 1;
    } else if (r > 0) {
        json_t *extra = act == ACT_KILL ? json_pack("{s:i}", "signal", sig) : NULL;
        status = cli_ctl_act(cl, act_cmd[act], &names, extra, &acted);
        json_decref(extra);
        for (size_t i = 0; i < acted.n; i++) {
            const Service *s = project_service(p, acted.v[i]);
            _cleanup_free_ char *cname = s && s->runtime == RUNTIME_DOCKER ? docker_container_name(p, s) : NULL;
            cli_progress(cname ? "Container" : "Service", cname ? cname : acted.v[i], act_done[act]);
            count++;
        }
        /* A kill that stops: once it has, `tend ps` and `docker ps` agree. */
        if (act == ACT_KILL && acted.n) {
            StrVec stopping = {0};
            for (size_t i = 0; i < acted.n; i++) {
                const Service *s = project_service(p, acted.v[i]);
                if (s && (sig == SIGKILL || sig == s->stop_signal))
                    strvec_push(&stopping, acted.v[i]);
            }
            cli_ctl_wait_stopped(cl, &stopping);
            strvec_free(&stopping);
        }
        ctl_close(cl);
    } else {
        for (size_t i = 0; i < p->n_services; i++) {
            const Service *s = p->services[i];
            if (s->runtime == RUNTIME_HOST && names.n && strvec_contains(&names, s->name))
                fprintf(stderr, "tend %s: %s is a host process: it runs only under `tend up`\n", act_cmd[act],
                        s->name);
        }
    }
    if (status == 0 && (any_docker || remove_orphans))
        status = via_engine(act, p, &names, sig, remove_orphans, &acted, &count);
    if (status == 0 && count == 0 && act == ACT_KILL)
        fputs("No container to kill\n", stderr);
    strvec_free(&acted);
    strvec_free(&names);
    project_free(p);
    return status;
}

int cmd_kill(ConfigOptions *o, int argc, char **argv)
{
    return act_main(ACT_KILL, kill_usage, o, argc, argv);
}

int cmd_pause(ConfigOptions *o, int argc, char **argv)
{
    return act_main(ACT_PAUSE, pause_usage, o, argc, argv);
}

int cmd_unpause(ConfigOptions *o, int argc, char **argv)
{
    return act_main(ACT_UNPAUSE, unpause_usage, o, argc, argv);
}
