/* tend down: stop and remove the project's containers and networks, from
 * the engine's labels; named volumes only with -v. */
#include "cli/cli.h"
#include "ctl/client.h"
#include "engine/docker.h"
#include "lib/logmux.h"

#include <errno.h>
#include <signal.h>
#include <time.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char down_usage[] =
    "Usage: tend down [OPTIONS]\n"
    "\n"
    "Stops the project's containers in reverse dependency order and removes\n"
    "them and the project's networks. Named volumes are kept unless -v is given.\n"
    "\n"
    "Options:\n"
    "  -v, --volumes          also remove the project's named volumes (its data)\n"
    "      --remove-orphans   also remove containers of services no longer in the file\n"
    "  -t, --timeout S        seconds to wait for a stop before killing\n"
    "                         (default: each service's stop_grace_period)\n"
    "      --rmi local|all    accepted for compatibility; images are kept\n"
    "  -h, --help             show this help\n";

/* Whether pid has ended (gone, or a zombie its parent has not reaped). */
static bool pid_ended(pid_t pid)
{
    if (kill(pid, 0) < 0)
        return errno == ESRCH;
    _cleanup_free_ char *path = xasprintf("/proc/%d/stat", (int)pid);
    char *data = NULL;
    size_t len = 0;
    if (read_file(path, 4096, &data, &len) < 0)
        return true;
    const char *rp = strrchr(data, ')');
    bool zombie = rp && rp[1] == ' ' && (rp[2] == 'Z' || rp[2] == 'X');
    free(data);
    return zombie;
}

/* A running `tend up` of the project is asked to stop (through its control
 * socket) and waited for: its services stop in reverse dependency order
 * and it exits. 0 when none ran or it stopped; 1 on failure. */
static int stop_supervisor(const Project *p)
{
    CtlClient *c = NULL;
    int r = cli_connect_project(p, "down", &c);
    if (r <= 0)
        return r < 0 ? 1 : 0;
    pid_t pid = ctl_pid(c);
    json_t *req = json_pack("{s:s}", "cmd", "down"), *rep = NULL;
    r = ctl_call(c, req, 10000, &rep);
    json_decref(req);
    if (r < 0 || !json_is_true(json_object_get(rep, "ok"))) {
        fprintf(stderr, "tend down: the running tend (pid %d) did not accept: %s\n", (int)pid,
                r < 0 ? strerror(-r) : json_string_value(json_object_get(rep, "error")));
        json_decref(rep);
        ctl_close(c);
        return 1;
    }
    json_decref(rep);
    fprintf(stderr, "tend down: stopping the running tend (pid %d)\n", (int)pid);
    /* The connection ends when everything has stopped. */
    for (;;) {
        json_t *v = NULL;
        r = ctl_recv(c, -1, &v);
        if (r < 0)
            break;
        json_decref(v);
    }
    ctl_close(c);
    for (int i = 0; i < 3000 && !pid_ended(pid); i++) /* 30 s for its last cleanup */
        usleep(10000);
    if (!pid_ended(pid)) {
        fprintf(stderr, "tend down: the running tend (pid %d) has not exited\n", (int)pid);
        return 1;
    }
    return 0;
}

typedef struct DownRun {
    bool done;
    bool ok;
} DownRun;

static void on_down(void *ud, bool ok, const char *err)
{
    DownRun *r = ud;
    (void)err;
    r->done = true;
    r->ok = ok;
}

int cmd_down(ConfigOptions *o, int argc, char **argv)
{
    enum { OPT_REMOVE_ORPHANS = 256, OPT_RMI };
    static const struct option opts[] = {
        {"volumes", no_argument, NULL, 'v'},
        {"remove-orphans", no_argument, NULL, OPT_REMOVE_ORPHANS},
        {"timeout", required_argument, NULL, 't'},
        {"rmi", required_argument, NULL, OPT_RMI},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    bool volumes = false, orphans = false;
    int timeout = -1;
    int c;
    while ((c = getopt_long(argc, argv, "vt:h", opts, NULL)) != -1) {
        switch (c) {
        case 'v':
            volumes = true;
            break;
        case OPT_REMOVE_ORPHANS:
            orphans = true;
            break;
        case 't': {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*end || v < 0 || v > 86400) {
                fprintf(stderr, "tend down: --timeout: \"%s\" is not a number of seconds\n", optarg);
                return 2;
            }
            timeout = (int)v;
            break;
        }
        case OPT_RMI:
            if (!streq(optarg, "local") && !streq(optarg, "all")) {
                fprintf(stderr, "tend down: --rmi must be local or all\n");
                return 2;
            }
            break;
        case 'h':
            fputs(down_usage, stdout);
            return 0;
        default:
            fputs("Run 'tend down --help' for usage.\n", stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "tend down: takes no service names\n");
        return 2;
    }
    o->all_profiles = true; /* down removes what any profile started */
    Project *p = NULL;
    int r = config_load_report(o, &p);
    if (r)
        return r;
    if (stop_supervisor(p) != 0) {
        project_free(p);
        return 1;
    }
    bool any_docker = false;
    for (size_t i = 0; i < p->n_services; i++)
        any_docker |= p->services[i]->runtime == RUNTIME_DOCKER;
    if (!any_docker && !orphans) {
        project_free(p); /* host processes only: nothing in the engine */
        return 0;
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
        fprintf(stderr, "tend down: %s\n", err ? err : "cannot use the Docker engine");
        free(err);
        status = 1;
    } else {
        DownRun run = {0};
        docker_down(dk, volumes, timeout, orphans, on_down, &run);
        while (!run.done && uv_run(&loop, UV_RUN_ONCE))
            ;
        status = run.done && run.ok ? 0 : 1;
        docker_free(dk);
    }
    logmux_free(mux);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    project_free(p);
    return status;
}
