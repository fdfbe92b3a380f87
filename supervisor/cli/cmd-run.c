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
#include "load/canon.h"
#include "load/dotenv.h"
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
    "container (label com.docker.compose.oneoff=True) with stdin attached and,\n"
    "when stdin and stdout are terminals, a terminal of this one's size; host\n"
    "services run on the host with the service's environment and working\n"
    "folder (in the foreground of this terminal). tend's messages go to\n"
    "stderr. When it ends, what run started for it is stopped.\n"
    "\n"
    "Options:\n"
    "      --rm                remove the container when it exits\n"
    "      --no-deps           do not start what the service depends on\n"
    "  -e, --env K=V           set a variable (repeatable; K alone: from tend's\n"
    "                          environment)\n"
    "      --env-from-file F   set the variables of a .env file (repeatable)\n"
    "  -l, --label K=V         add or change a label (repeatable)\n"
    "      --name NAME         the container's name (default\n"
    "                          PROJECT-SERVICE-run-RANDOM)\n"
    "      --entrypoint CMD    replace the image's entrypoint (split as a shell would)\n"
    "  -u, --user USER         run as USER\n"
    "  -w, --workdir DIR       run in DIR\n"
    "  -P, --service-ports     publish the service's ports (not done by default)\n"
    "  -p, --publish PORT      publish a port, as in ports: (repeatable)\n"
    "  -v, --volume VOLUME     mount a volume, as in volumes: (repeatable)\n"
    "  -T, --no-TTY            no terminal (the default when stdin or stdout is\n"
    "                          not a terminal)\n"
    "  -t, --tty               a terminal even when stdout is not one\n"
    "  -i, --interactive       attach stdin (the default; --interactive=false: no)\n"
    "      --build             build the image first\n"
    "      --pull POLICY       always, missing or never (default: pull_policy)\n"
    "      --remove-orphans    remove containers of services not in the file\n"
    "  -q, --quiet             leave out tend's own messages\n"
    "      --use-aliases       accepted; the one-off is reachable by its name\n"
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

/* ---- attached: the one-off's stdin, stdout and stderr through the engine ---- */

typedef struct RunAttach {
    Manager *m;
    uv_loop_t *loop;
    ssize_t index;      /* the run service */
    bool tty, interactive;
    CliSession *ses;
    bool proceeded;
} RunAttach;

/* The connection is open: nothing the command writes can be missed now. */
static void on_upgraded(void *ud)
{
    RunAttach *a = ud;
    a->proceeded = true;
    manager_proceed(a->m, NULL);
}

static void on_created(void *ud, const char *id)
{
    RunAttach *a = ud;
    _cleanup_free_ char *path =
        xasprintf("/containers/%s/attach?stream=1&stdin=%d&stdout=1&stderr=1", id, a->interactive ? 1 : 0);
    _cleanup_free_ char *resize = xasprintf("/containers/%s/resize", id);
    char *err = NULL;
    a->ses = cli_session_start(manager_engine(a->m), a->loop, path, NULL, resize, a->tty, a->interactive,
                               on_upgraded, a, &err);
    if (!a->ses) {
        a->proceeded = true;
        manager_proceed(a->m, err);
        free(err);
    }
}

/* A terminal's size once the container runs (a stopped one has none). */
static void on_state(void *data, size_t i, ServiceState from, ServiceState to, const char *reason)
{
    RunAttach *a = data;
    (void)from, (void)reason;
    if ((ssize_t)i != a->index || !a->ses)
        return;
    if (to == SS_RUNNING)
        cli_session_resize(a->ses);
    /* The attachment failed before the start: the one-off cannot be had. */
    if (!a->proceeded && cli_session_done(a->ses)) {
        a->proceeded = true;
        manager_proceed(a->m, cli_session_error(a->ses) ? cli_session_error(a->ses) : "the attachment ended");
    }
}

/* Whether the engine is reached on a unix socket, where a connection can be
 * taken over (DOCKER_HOST tcp:// cannot attach stdin). */
static bool engine_attachable(void)
{
    const char *h = getenv("DOCKER_HOST");
    return !h || !*h || str_startswith(h, "unix://");
}

/* -p and -v: the service's ports and mounts, as written in the file. */
static int add_port(Service *s, const char *spec)
{
    PortSpec *ps = NULL;
    size_t n = 0;
    char *err = NULL;
    if (port_parse_short(spec, &ps, &n, &err) < 0) {
        fprintf(stderr, "tend run: --publish %s: %s\n", spec, err);
        free(err);
        return 2;
    }
    s->ports = xrealloc(s->ports, (s->n_ports + n) * sizeof *s->ports);
    for (size_t i = 0; i < n; i++) {
        PortMapping *pm = &s->ports[s->n_ports++];
        *pm = (PortMapping){0};
        pm->host_ip = xstrdup(ps[i].host_ip ? ps[i].host_ip : "127.0.0.1");
        pm->target = ps[i].target;
        pm->protocol = xstrdup(ps[i].protocol ? ps[i].protocol : "tcp");
        if (ps[i].published && !port_range_valid(ps[i].published, &pm->published_lo, &pm->published_hi))
            pm->published_lo = pm->published_hi = 0;
    }
    port_specs_free(ps, n);
    return 0;
}

static int add_volume(const Project *p, Service *s, const char *spec)
{
    VolumeSpec v = {0};
    char *err = NULL;
    if (volume_parse_short(spec, &v, &err) < 0) {
        fprintf(stderr, "tend run: --volume %s: %s\n", spec, err);
        free(err);
        return 2;
    }
    s->mounts = xrealloc(s->mounts, (s->n_mounts + 1) * sizeof *s->mounts);
    Mount *m = &s->mounts[s->n_mounts++];
    *m = (Mount){0};
    m->type = v.type;
    m->target = xstrdup(v.target);
    m->read_only = v.read_only;
    m->nocopy = v.nocopy;
    if (v.type == VOLUME_BIND) {
        _cleanup_free_ char *cwd = getcwd(NULL, 0);
        m->source = path_absolute(cwd ? cwd : p->workdir, v.source);
        m->create_host_path = true;
    } else if (v.source) {
        m->source = xstrdup(v.source);
    }
    volume_spec_clear(&v);
    return 0;
}

static int add_env_file(Service *s, const StrVec *set, const char *path)
{
    Env e = {0};
    Diag d = {0};
    if (dotenv_load(path, NULL, NULL, &e, &d) < 0) {
        fprintf(stderr, "tend run: --env-from-file %s: cannot read it\n", path);
        diag_free(&d);
        env_free(&e);
        return 2;
    }
    /* -e wins over the files, the first file over later ones */
    for (size_t i = 0; i < e.n; i++)
        if (!strvec_contains(set, e.keys[i]))
            env_set(&s->environment, e.keys[i], e.vals[i]);
    diag_free(&d);
    env_free(&e);
    return 0;
}

int cmd_run(ConfigOptions *o, int argc, char **argv)
{
    enum {
        OPT_RM = 256, OPT_NO_DEPS, OPT_NAME, OPT_ENTRYPOINT, OPT_PROFILE, OPT_ENV_FILE, OPT_BUILD, OPT_PULL,
        OPT_REMOVE_ORPHANS, OPT_USE_ALIASES, OPT_QUIET_PULL,
    };
    static const struct option opts[] = {
        {"rm", no_argument, NULL, OPT_RM},
        {"no-deps", no_argument, NULL, OPT_NO_DEPS},
        {"env", required_argument, NULL, 'e'},
        {"env-from-file", required_argument, NULL, OPT_ENV_FILE},
        {"label", required_argument, NULL, 'l'},
        {"name", required_argument, NULL, OPT_NAME},
        {"entrypoint", required_argument, NULL, OPT_ENTRYPOINT},
        {"user", required_argument, NULL, 'u'},
        {"workdir", required_argument, NULL, 'w'},
        {"service-ports", no_argument, NULL, 'P'},
        {"publish", required_argument, NULL, 'p'},
        {"volume", required_argument, NULL, 'v'},
        {"no-TTY", no_argument, NULL, 'T'},
        {"no-tty", no_argument, NULL, 'T'},
        {"tty", no_argument, NULL, 't'},
        {"interactive", optional_argument, NULL, 'i'},
        {"detach", no_argument, NULL, 'd'},
        {"build", no_argument, NULL, OPT_BUILD},
        {"pull", required_argument, NULL, OPT_PULL},
        {"remove-orphans", no_argument, NULL, OPT_REMOVE_ORPHANS},
        {"quiet", no_argument, NULL, 'q'},
        {"quiet-pull", no_argument, NULL, OPT_QUIET_PULL},
        {"use-aliases", no_argument, NULL, OPT_USE_ALIASES},
        {"profile", required_argument, NULL, OPT_PROFILE},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    bool rm = false, no_deps = false, service_ports = false, no_tty = false, want_tty = false;
    bool interactive = true, build = false, remove_orphans = false, quiet = false;
    const char *name = NULL, *entrypoint = NULL, *user = NULL, *workdir = NULL, *pull = NULL;
    StrVec envs = {0}, env_files = {0}, labels = {0}, publish = {0}, volumes = {0};
    int c, status = 2;
    Project *p = NULL;
    while ((c = getopt_long(argc, argv, "+e:l:u:w:Pp:v:Tti::dqh", opts, NULL)) != -1) {
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
        case OPT_ENV_FILE:
            strvec_push(&env_files, optarg);
            break;
        case 'l':
            strvec_push(&labels, optarg);
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
        case 'P':
            service_ports = true;
            break;
        case 'p':
            strvec_push(&publish, optarg);
            break;
        case 'v':
            strvec_push(&volumes, optarg);
            break;
        case 'T':
            no_tty = true;
            break;
        case 't':
            want_tty = true;
            break;
        case 'i':
            if (!cli_bool_arg(optarg, &interactive)) {
                fprintf(stderr, "tend run: bad --interactive \"%s\"\n", optarg);
                goto out;
            }
            break;
        case 'd':
            fputs("tend run: --detach is not supported: tend run stops what it started when the command ends;\n"
                  "use `tend up -d SERVICE` for a service in the background\n",
                  stderr);
            goto out;
        case OPT_BUILD:
            build = true;
            break;
        case OPT_PULL:
            if (!streq(optarg, "always") && !streq(optarg, "missing") && !streq(optarg, "never") &&
                !streq(optarg, "policy")) {
                fprintf(stderr, "tend run: --pull must be always, missing or never, not \"%s\"\n", optarg);
                goto out;
            }
            pull = streq(optarg, "policy") ? NULL : optarg;
            break;
        case OPT_REMOVE_ORPHANS:
            remove_orphans = true;
            break;
        case 'q':
            quiet = true;
            break;
        case OPT_QUIET_PULL:
        case OPT_USE_ALIASES:
            break;
        case OPT_PROFILE:
            strvec_push(&o->profiles, optarg);
            break;
        case 'h':
            fputs(run_usage, stdout);
            status = 0;
            goto out;
        default:
            fputs("Run 'tend run --help' for usage.\n", stderr);
            goto out;
        }
    }
    if (optind >= argc) {
        fputs("tend run: which service? Usage: tend run [OPTIONS] SERVICE [COMMAND...]\n", stderr);
        goto out;
    }
    if (want_tty && no_tty) {
        fputs("tend run: --tty and --no-TTY cannot be used together\n", stderr);
        goto out;
    }
    if (service_ports && publish.n) {
        fputs("tend run: --service-ports and --publish cannot be used together\n", stderr);
        goto out;
    }
    /* As docker compose run: a terminal when both ends are one, or asked for. */
    bool tty = want_tty || (!no_tty && isatty(STDIN_FILENO) && isatty(STDOUT_FILENO));
    if (tty && interactive && !isatty(STDIN_FILENO)) {
        fputs("tend run: the input device is not a TTY\n", stderr);
        status = 1;
        goto out;
    }
    const char *svc_name = argv[optind++];
    /* The named service is enabled even when a profile would hide it. */
    strvec_push(&o->services, svc_name);

    status = config_load_report(o, &p);
    if (status)
        goto out;
    status = 2;
    Service *s = (Service *)project_service(p, svc_name);
    if (!s) {
        fprintf(stderr, "tend run: no service \"%s\" in the project\n", svc_name);
        goto out;
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
        if (shell_split(entrypoint, &s->entrypoint) < 0) {
            fprintf(stderr, "tend run: --entrypoint %s: unbalanced quotes\n", entrypoint);
            goto out;
        }
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
    StrVec set = {0};
    for (size_t i = 0; i < envs.n; i++)
        strvec_push_take(&set, xstrndup(envs.v[i], strcspn(envs.v[i], "=")));
    for (size_t i = 0; i < env_files.n && status == 2; i++)
        if (add_env_file(s, &set, env_files.v[i]) != 0)
            status = -2;
    strvec_free(&set);
    if (status != 2)
        goto out_2;
    for (size_t i = 0; i < labels.n; i++) {
        const char *eq = strchr(labels.v[i], '=');
        _cleanup_free_ char *k = xstrndup(labels.v[i], eq ? (size_t)(eq - labels.v[i]) : strlen(labels.v[i]));
        env_set(&s->labels, k, eq ? eq + 1 : "");
    }
    if (user) {
        free(s->user);
        s->user = xstrdup(user);
    }
    if (workdir) {
        free(s->working_dir);
        s->working_dir = xstrdup(workdir);
    }
    if (pull) {
        free(s->pull_policy);
        s->pull_policy = xstrdup(pull);
    }
    if (!service_ports) {
        for (size_t i = 0; i < s->n_ports; i++) {
            free(s->ports[i].host_ip);
            free(s->ports[i].protocol);
        }
        s->n_ports = 0; /* the array stays for project_free */
    }
    for (size_t i = 0; i < publish.n; i++)
        if (add_port(s, publish.v[i]) != 0)
            goto out;
    for (size_t i = 0; i < volumes.n; i++)
        if (add_volume(p, s, volumes.v[i]) != 0)
            goto out;
    s->restart = RESTART_NO;
    s->probe.kind = PROBE_NONE;
    s->healthcheck.present = false;
    s->watch_opts.enabled = false;
    s->n_watch = 0;
    /* A tcp:// engine cannot be attached to: the output comes from its
     * logs, without a terminal or stdin, as before tend attached. */
    bool attach = s->runtime == RUNTIME_HOST || engine_attachable();
    s->tty = tty && attach;
    s->stdin_open = interactive && attach;
    /* A host one-off has no container, but its name marks it as one
     * (host.c gives it the terminal). */
    if (name) {
        s->oneoff_name = xstrdup(name);
    } else {
        _cleanup_free_ char *hex = random_hex();
        s->oneoff_name = xasprintf("%s-%s-run-%s", p->name, s->name, hex);
    }
    s->oneoff_rm = rm && s->runtime == RUNTIME_DOCKER;

    ManagerOptions mo = {0};
    StrVec only = {0};
    strvec_push(&only, s->name);
    mo.services = &only;
    mo.no_deps = no_deps;
    mo.run_service = s->name;
    mo.build = build;
    mo.remove_orphans = remove_orphans;
    Secrets secrets = {0}; /* masked in every line shown or written */
    project_secrets(p, &secrets);
    mo.log.secrets = &secrets;
    mo.log.out_fd = STDOUT_FILENO;
    mo.log.err_fd = quiet ? -1 : STDERR_FILENO;
    mo.log.only = s->name;
    mo.log.no_prefix = true;
    uv_loop_t loop;
    uv_loop_init(&loop);
    RunAttach att = {.loop = &loop, .tty = s->tty, .interactive = s->stdin_open};
    if (s->runtime == RUNTIME_DOCKER && attach) {
        mo.run_created = on_created;
        mo.run_ud = &att;
        int w = 0, h = 0;
        if (tty)
            cli_term_size(&w, &h);
        mo.run_rows = (unsigned)h;
        mo.run_cols = (unsigned)w;
    }
    Manager *m = manager_new(&loop, p, &mo);
    att.m = m;
    att.index = manager_index(m, s->name);
    static const ManagerObserver ob = {.state = on_state};
    manager_observe(m, &ob, &att);
    /* No control socket: a one-off is not the project's supervisor. Its
     * dependencies with x-tend watch.enabled still reload. */
    ReloadOptions ro = {.named = &only};
    reload_attach(m, &ro);
    status = manager_run(m);
    /* The exit comes from the engine's /wait; the rest of the output may
     * still be on its way through the attachment. */
    if (att.ses) {
        while (!cli_session_done(att.ses) && uv_run(&loop, UV_RUN_ONCE))
            ;
        if (cli_session_error(att.ses) && !quiet)
            fprintf(stderr, "tend run: %s\n", cli_session_error(att.ses));
        cli_session_free(att.ses);
    }
    manager_free(m);
    secrets_free(&secrets);
    if (s->oneoff_rm)
        remove_oneoff(&loop, s->oneoff_name);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    strvec_free(&only);
    goto out;
out_2:
    status = 2;
out:
    project_free(p);
    strvec_free(&envs);
    strvec_free(&env_files);
    strvec_free(&labels);
    strvec_free(&publish);
    strvec_free(&volumes);
    return status;
}
