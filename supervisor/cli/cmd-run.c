/* tend run [OPTIONS] SERVICE [COMMAND...]: a one-off run of a service. What
 * it depends on is started and made ready first (unless --no-deps), then the
 * service runs once with COMMAND in place of its command: a new container
 * labelled as a one-off (never an adopted one), or a host process for a host
 * service. Its stdout and stderr are this command's own, bare; tend's own
 * messages go to stderr. When it ends, what run started is stopped and the
 * exit code is passed through. */
#include "cli/cli.h"
#include "engine/engine.h"
#include "run/manager.h"
#include "run/secrets.h"
#include "watch/reload.h"
#include "load/parse.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

const char run_usage[] =
    "Usage: tend run [OPTIONS] SERVICE [COMMAND [ARG...]]\n"
    "\n"
    "Runs a one-off command for a service, once what it depends on is ready,\n"
    "and exits with the command's exit code. Containers get a new one-off\n"
    "container (label com.docker.compose.oneoff=True); host services run on\n"
    "the host with the service's environment and working folder. Its output\n"
    "is this command's output; tend's messages go to stderr. When it ends,\n"
    "what run started for it is stopped.\n"
    "\n"
    "Options:\n"
    "      --rm                remove the container when it exits\n"
    "      --no-deps           do not start what the service depends on\n"
    "  -e, --env K=V           set a variable (repeatable; K alone: from tend's\n"
    "                          environment)\n"
    "      --name NAME         the container's name (default\n"
    "                          PROJECT-SERVICE-run-RANDOM)\n"
    "      --entrypoint CMD    replace the image's entrypoint\n"
    "  -u, --user USER         run as USER\n"
    "  -w, --workdir DIR       run in DIR\n"
    "      --service-ports     publish the service's ports (not done by default)\n"
    "  -T, --no-TTY            no terminal (the only mode for now)\n"
    "      --profile NAME      enable a profile (repeatable)\n"
    "  -h, --help              show this help\n";

typedef struct Removal {
    bool done;
    char *err;
} Removal;

static void on_removed(void *ud, int status, json_t *body, const char *err)
{
    Removal *r = ud;
    (void)body;
    if (err && status != 404)
        r->err = xstrdup(err);
    r->done = true;
}

/* --rm: the one-off is removed once it exited and its output was read to
 * the end. (The engine's AutoRemove could remove a container that exits at
 * once before its log stream was opened, and its output would be lost.) */
static void remove_oneoff(uv_loop_t *loop, const char *name)
{
    char *err = NULL;
    Engine *e = engine_new(loop, NULL, &err);
    if (!e) {
        fprintf(stderr, "tend run: cannot remove %s: %s\n", name, err);
        free(err);
        return;
    }
    Removal r = {0};
    _cleanup_free_ char *en = engine_escape(name);
    _cleanup_free_ char *path = xasprintf("/containers/%s?force=1&v=1", en);
    engine_request(e, "DELETE", path, NULL, on_removed, &r);
    while (!r.done && uv_run(loop, UV_RUN_ONCE))
        ;
    if (r.err)
        fprintf(stderr, "tend run: cannot remove %s: %s\n", name, r.err);
    free(r.err);
    engine_free(e);
    uv_run(loop, UV_RUN_DEFAULT);
}

static char *random_hex(void)
{
    unsigned char r[6] = {0};
    if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
        uint64_t t = uv_hrtime() ^ (uint64_t)getpid();
        memcpy(r, &t, sizeof(r));
    }
    return xasprintf("%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3], r[4], r[5]);
}

int cmd_run(ConfigOptions *o, int argc, char **argv)
{
    enum { OPT_RM = 256, OPT_NO_DEPS, OPT_NAME, OPT_ENTRYPOINT, OPT_SERVICE_PORTS, OPT_PROFILE };
    static const struct option opts[] = {
        {"rm", no_argument, NULL, OPT_RM},
        {"no-deps", no_argument, NULL, OPT_NO_DEPS},
        {"env", required_argument, NULL, 'e'},
        {"name", required_argument, NULL, OPT_NAME},
        {"entrypoint", required_argument, NULL, OPT_ENTRYPOINT},
        {"user", required_argument, NULL, 'u'},
        {"workdir", required_argument, NULL, 'w'},
        {"service-ports", no_argument, NULL, OPT_SERVICE_PORTS},
        {"no-TTY", no_argument, NULL, 'T'},
        {"profile", required_argument, NULL, OPT_PROFILE},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    bool rm = false, no_deps = false, service_ports = false;
    const char *name = NULL, *entrypoint = NULL, *user = NULL, *workdir = NULL;
    StrVec envs = {0};
    int c;
    while ((c = getopt_long(argc, argv, "+e:u:w:Th", opts, NULL)) != -1) {
        switch (c) {
        case OPT_RM:
            rm = true;
            break;
        case OPT_NO_DEPS:
            no_deps = true;
            break;
        case 'e':
            strvec_push(&envs, optarg);
            break;
        case OPT_NAME:
            name = optarg;
            break;
        case OPT_ENTRYPOINT:
            entrypoint = optarg;
            break;
        case 'u':
            user = optarg;
            break;
        case 'w':
            workdir = optarg;
            break;
        case OPT_SERVICE_PORTS:
            service_ports = true;
            break;
        case 'T':
            break;
        case OPT_PROFILE:
            strvec_push(&o->profiles, optarg);
            break;
        case 'h':
            fputs(run_usage, stdout);
            strvec_free(&envs);
            return 0;
        default:
            fputs("Run 'tend run --help' for usage.\n", stderr);
            strvec_free(&envs);
            return 2;
        }
    }
    if (optind >= argc) {
        fputs("tend run: which service? Usage: tend run [OPTIONS] SERVICE [COMMAND...]\n", stderr);
        strvec_free(&envs);
        return 2;
    }
    const char *svc_name = argv[optind++];
    /* The named service is enabled even when a profile would hide it. */
    strvec_push(&o->services, svc_name);

    Project *p = NULL;
    int r = config_load_report(o, &p);
    if (r) {
        strvec_free(&envs);
        return r;
    }
    Service *s = (Service *)project_service(p, svc_name);
    if (!s) {
        fprintf(stderr, "tend run: no service \"%s\" in the project\n", svc_name);
        project_free(p);
        strvec_free(&envs);
        return 2;
    }

    /* The one-off: the service as written, with the run's changes. */
    if (optind < argc) {
        strvec_free(&s->command);
        for (int i = optind; i < argc; i++)
            strvec_push(&s->command, argv[i]);
        s->has_command = true;
        s->shell = false;
        free(s->command_string);
        s->command_string = NULL;
    }
    if (entrypoint) {
        strvec_free(&s->entrypoint);
        strvec_push(&s->entrypoint, entrypoint);
        s->has_entrypoint = true;
    }
    for (size_t i = 0; i < envs.n; i++) {
        const char *eq = strchr(envs.v[i], '=');
        if (eq) {
            _cleanup_free_ char *k = xstrndup(envs.v[i], (size_t)(eq - envs.v[i]));
            env_set(&s->environment, k, eq + 1);
        } else if (getenv(envs.v[i])) {
            env_set(&s->environment, envs.v[i], getenv(envs.v[i]));
        }
    }
    strvec_free(&envs);
    if (user) {
        free(s->user);
        s->user = xstrdup(user);
    }
    if (workdir) {
        free(s->working_dir);
        s->working_dir = xstrdup(workdir);
    }
    if (!service_ports)
        s->n_ports = 0; /* the array stays for project_free */
    s->restart = RESTART_NO;
    s->probe.kind = PROBE_NONE;
    s->healthcheck.present = false;
    s->watch_opts.enabled = false;
    s->n_watch = 0;
    if (s->runtime == RUNTIME_DOCKER) {
        if (name) {
            s->oneoff_name = xstrdup(name);
        } else {
            _cleanup_free_ char *hex = random_hex();
            s->oneoff_name = xasprintf("%s-%s-run-%s", p->name, s->name, hex);
        }
        s->oneoff_rm = rm;
    }

    ManagerOptions mo = {0};
    StrVec only = {0};
    strvec_push(&only, s->name);
    mo.services = &only;
    mo.no_deps = no_deps;
    mo.run_service = s->name;
    Secrets secrets = {0}; /* masked in every line shown or written */
    project_secrets(p, &secrets);
    mo.log.secrets = &secrets;
    mo.log.out_fd = STDOUT_FILENO;
    mo.log.err_fd = STDERR_FILENO;
    mo.log.only = s->name;
    mo.log.no_prefix = true;
    uv_loop_t loop;
    uv_loop_init(&loop);
    Manager *m = manager_new(&loop, p, &mo);
    /* No control socket: a one-off is not the project's supervisor. Its
     * dependencies with x-tend watch.enabled still reload. */
    ReloadOptions ro = {.named = &only};
    reload_attach(m, &ro);
    int status = manager_run(m);
    manager_free(m);
    secrets_free(&secrets);
    if (s->oneoff_name && s->oneoff_rm)
        remove_oneoff(&loop, s->oneoff_name);
    uv_loop_close(&loop);
    strvec_free(&only);
    project_free(p);
    return status;
}
