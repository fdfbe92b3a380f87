/* main: the command line. Global options come before the command, as with
 * docker compose; each command parses its own. Library code only fills a
 * Diag; this is the one place that prints it. Exit status: 0 success,
 * 1 runtime failure, 2 usage or services-file error. */
#include "cli/cli.h"
#include "run/secrets.h"
#include "load/canon.h"
#include "load/config.h"
#include "load/gojson.h"
#include "run/host.h"
#include "run/shim.h"
#include "tend-version.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum {
    EXIT_OK = 0,
    EXIT_RUNTIME = 1,
    EXIT_USAGE = 2,
};

typedef struct Command {
    const char *name;
    const char *summary;
    const char *usage; /* full help text */
    int (*run)(ConfigOptions *o, int argc, char **argv);
} Command;

static const Command *find_command(const char *name);

/* ---- config ---- */

static const char config_usage[] =
    "Usage: tend config [OPTIONS] [SERVICE...]\n"
    "\n"
    "Validates the services files and prints the project after merging and\n"
    "interpolation, in Compose's normalized form: long syntax everywhere,\n"
    "absolute paths, durations. With SERVICE, only those services and what\n"
    "they depend on.\n"
    "\n"
    "Options:\n"
    "      --format yaml|json   output format (default yaml)\n"
    "      --services           print the service names, one per line\n"
    "      --profiles           print the profile names, one per line\n"
    "      --volumes            print the volume names, one per line\n"
    "      --images             print the images, one per line\n"
    "      --hash '*'|S1,S2     print \"SERVICE HASH\" lines: the config-hash docker\n"
    "                           compose v5 labels each service's containers with\n"
    "      --no-interpolate     leave ${VARIABLES} as written\n"
    "      --show-secrets       print secret values as they are (by default the\n"
    "                           values of *_PASSWORD-, *_TOKEN-, *_SECRET-like\n"
    "                           variables and of secrets: are shown as ********)\n"
    "  -q, --quiet              only validate; print nothing\n"
    "  -h, --help               show this help\n";

static int cmd_config(ConfigOptions *o, int argc, char **argv)
{
    enum {
        OPT_FORMAT = 256,
        OPT_SERVICES,
        OPT_PROFILES,
        OPT_VOLUMES,
        OPT_IMAGES,
        OPT_HASH,
        OPT_NO_INTERP,
        OPT_SHOW_SECRETS
    };
    static const struct option opts[] = {
        {"format", required_argument, NULL, OPT_FORMAT},
        {"services", no_argument, NULL, OPT_SERVICES},
        {"profiles", no_argument, NULL, OPT_PROFILES},
        {"volumes", no_argument, NULL, OPT_VOLUMES},
        {"images", no_argument, NULL, OPT_IMAGES},
        {"hash", required_argument, NULL, OPT_HASH},
        {"no-interpolate", no_argument, NULL, OPT_NO_INTERP},
        {"show-secrets", no_argument, NULL, OPT_SHOW_SECRETS},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    const char *format = "yaml";
    int list = 0;
    bool quiet = false, show_secrets = false;
    StrVec hash_names = {0};
    int c;
    while ((c = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
        switch (c) {
        case OPT_FORMAT:
            format = optarg;
            if (!streq(format, "yaml") && !streq(format, "json")) {
                fprintf(stderr, "tend config: --format must be yaml or json, not \"%s\"\n", format);
                return EXIT_USAGE;
            }
            break;
        case OPT_SERVICES:
        case OPT_PROFILES:
        case OPT_VOLUMES:
        case OPT_IMAGES:
            list = c;
            break;
        case OPT_HASH:
            /* As compose: "*" for every service, else names with commas. */
            list = c;
            if (!streq(optarg, "*")) {
                _cleanup_free_ char *names = xstrdup(optarg);
                char *save = NULL;
                for (char *n = strtok_r(names, ",", &save); n; n = strtok_r(NULL, ",", &save))
                    strvec_push(&hash_names, n);
            }
            break;
        case OPT_NO_INTERP:
            o->no_interpolate = true;
            break;
        case OPT_SHOW_SECRETS:
            show_secrets = true;
            break;
        case 'q':
            quiet = true;
            break;
        case 'h':
            fputs(config_usage, stdout);
            return EXIT_OK;
        default:
            fputs("Run 'tend config --help' for usage.\n", stderr);
            strvec_free(&hash_names);
            return EXIT_USAGE;
        }
    }
    for (int i = optind; i < argc; i++)
        strvec_push(&o->services, argv[i]);
    if (list == OPT_HASH) {
        /* Only the services named, without what they depend on (as compose). */
        for (size_t i = 0; i < hash_names.n; i++)
            strvec_push(&o->services, hash_names.v[i]);
        strvec_free(&hash_names);
    }
    if (list == OPT_PROFILES)
        o->all_profiles = true;

    Project *p = NULL;
    int r = config_load_report(o, &p);
    if (r != EXIT_OK)
        return r;
    if (quiet) {
        project_free(p);
        return EXIT_OK;
    }
    if (!show_secrets && list != OPT_HASH) {
        Secrets sec = {0};
        project_secrets(p, &sec);
        project_mask_tree(p, &sec);
        secrets_free(&sec);
    }
    /* as docker compose config prints it; after masking, which reads the
     * values of every secret */
    canon_drop_unused(p->tree);
    StrBuf out;
    strbuf_init(&out, 0);
    switch (list) {
    case OPT_SERVICES:
        for (size_t i = 0; i < p->n_services; i++)
            strbuf_printf(&out, "%s\n", p->services[i]->name);
        break;
    case OPT_PROFILES:
        for (size_t i = 0; i < p->profiles_all.n; i++)
            strbuf_printf(&out, "%s\n", p->profiles_all.v[i]);
        break;
    case OPT_VOLUMES:
        for (size_t i = 0; i < p->n_volumes; i++)
            strbuf_printf(&out, "%s\n", p->volumes[i].key);
        break;
    case OPT_IMAGES:
        for (size_t i = 0; i < p->n_services; i++) {
            const Service *s = p->services[i];
            if (s->image)
                strbuf_printf(&out, "%s\n", s->image);
            else if (s->build)
                strbuf_printf(&out, "%s-%s\n", p->name, s->name); /* Compose's default build image name */
        }
        break;
    case OPT_HASH:
        for (size_t i = 0; i < p->n_services; i++) {
            const Service *s = p->services[i];
            if (o->services.n && !strvec_contains(&o->services, s->name))
                continue; /* a dependency the selection brought in */
            if (getenv("TEND_HASH_JSON")) { /* for a diff against compose-go's JSON */
                strbuf_printf(&out, "%s ", s->name);
                gojson_service(s, NULL, NULL, &out);
                strbuf_putc(&out, '\n');
                continue;
            }
            _cleanup_free_ char *h = gojson_service_hash(s, NULL, NULL);
            strbuf_printf(&out, "%s %s\n", s->name, h);
            StrVec unk = {0};
            gojson_uncovered(s, &unk);
            for (size_t k = 0; k < unk.n; k++)
                fprintf(stderr, "tend: note: services.%s.%s is hashed in a generic form; the hash may differ from docker compose's\n",
                        s->name, unk.v[k]);
            strvec_free(&unk);
        }
        break;
    default:
        if (streq(format, "json"))
            json_emit(p->tree, &out);
        else
            yaml_emit(p->tree, &out);
        break;
    }
    fwrite(out.data ? out.data : "", 1, out.len, stdout);
    strbuf_free(&out);
    if (!list && p->ignored.n > 0) {
        fprintf(stderr, "tend: note: accepted but not acted on:");
        for (size_t i = 0; i < p->ignored.n; i++)
            fprintf(stderr, "%s %s", i ? "," : "", p->ignored.v[i]);
        fputc('\n', stderr);
    }
    project_free(p);
    return fflush(stdout) == 0 ? EXIT_OK : EXIT_RUNTIME;
}

/* ---- version, help ---- */

static const char version_usage[] =
    "Usage: tend version [OPTIONS]\n"
    "\n"
    "Shows the version, as docker compose version does.\n"
    "\n"
    "Options:\n"
    "  -f, --format pretty|json   output format (default pretty)\n"
    "      --short                only the number\n"
    "  -h, --help                 show this help\n";

static int cmd_version(ConfigOptions *o, int argc, char **argv)
{
    enum { OPT_SHORT = 256 };
    static const struct option opts[] = {
        {"format", required_argument, NULL, 'f'},
        {"short", no_argument, NULL, OPT_SHORT},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    (void)o;
    bool json = false, short_form = false;
    int c;
    while (argv && (c = getopt_long(argc, argv, "f:h", opts, NULL)) != -1) {
        switch (c) {
        case 'f':
            if (!streq(optarg, "json") && !streq(optarg, "pretty") && !streq(optarg, "")) {
                fprintf(stderr, "tend version: --format must be pretty or json, not \"%s\"\n", optarg);
                return EXIT_USAGE;
            }
            json = streq(optarg, "json");
            break;
        case OPT_SHORT:
            short_form = true;
            break;
        case 'h':
            fputs(version_usage, stdout);
            return EXIT_OK;
        default:
            fputs("Run 'tend version --help' for usage.\n", stderr);
            return EXIT_USAGE;
        }
    }
    if (short_form)
        printf("%s\n", TEND_VERSION);
    else if (json)
        printf("{\"version\":\"%s\"}\n", TEND_VERSION);
    else
        printf("tend version %s\n", TEND_VERSION);
    return EXIT_OK;
}

static const char main_usage_head[] =
    "Usage: tend [OPTIONS] COMMAND [ARGS...]\n"
    "\n"
    "tend runs a local development stack from a Compose services file:\n"
    "containers through the Docker Engine and host processes, started in\n"
    "dependency order behind real health checks.\n"
    "\n"
    "Options:\n"
    "  -f, --file FILE              services file; repeat to merge several\n"
    "                               (default: services.yaml + services.d/*.yaml,\n"
    "                               else compose.yaml and its override)\n"
    "  -p, --project-name NAME      project name (default: name:, else the folder)\n"
    "      --project-directory DIR  project folder (default: the first file's)\n"
    "      --env-file FILE          variables for interpolation; repeatable\n"
"      --profile NAME           enable a profile; repeatable\n"
    "      --env NAME               add environment NAME's overlay (env/NAME/*.yaml\n"
    "                               or compose.NAME.yaml) and .env.NAME; also TEND_ENV\n"
    "  -h, --help                   show this help\n"
    "  -v, --version                show the version\n"
    "\n"
    "Commands:\n";

static int cmd_help(ConfigOptions *o, int argc, char **argv);

static const Command commands[] = {
    {"attach", "Follow the output of the tend up running in the background", attach_usage, cmd_attach},
    {"build", "Build the images of services with build:", build_usage, cmd_build},
    {"config", "Validate the services files and print the normalized project", config_usage, cmd_config},
    {"cp", "Copy files between a service's container and this machine", cp_usage, cmd_cp},
    {"create", "Create the services' containers without starting them", create_usage, cmd_create},
    {"down", "Stop and remove the project's containers and networks (volumes with -v)", down_usage,
     cmd_down},
    {"env", "Print the environment (and command) tend gives a service, for IDEs", env_usage, cmd_env},
    {"envs", "List the project's environments (env/NAME/, compose.NAME.yaml)", envs_usage, cmd_envs},
    {"events", "Print the running stack's events as they happen (state, health, reloads)", events_usage,
     cmd_events},
    {"exec", "Run a command in a service's running container", exec_usage, cmd_exec},
    {"help", "Show help for a command", "Usage: tend help [COMMAND]\n", cmd_help},
    {"images", "List the images of the project's containers", images_usage, cmd_images},
    {"kill", "Send a signal to the services (SIGKILL by default)", kill_usage, cmd_kill},
    {"kube", "Write a Kustomize tree (base and one overlay per environment) for Kubernetes", kube_usage,
     cmd_kube},
    {"logs", "Show the services' output (-f to follow)", logs_usage, cmd_logs},
    {"ls", "List the running projects (containers on this engine, running tends)", ls_usage, cmd_ls},
    {"pause", "Freeze the services' containers and processes", pause_usage, cmd_pause},
    {"port", "Print the host address where a service's port is published", port_usage, cmd_port},
    {"ps", "List the services: state, health, since, restarts, ports", ps_usage, cmd_ps},
    {"pull", "Pull the services' images", pull_usage, cmd_pull},
    {"restart", "Restart the project's containers", restart_usage, cmd_restart},
    {"rm", "Remove the services' stopped containers", rm_usage, cmd_rm},
    {"run", "Run a one-off command for a service, once its dependencies are ready", run_usage, cmd_run},
    {"seed", "Run the services' seed steps against the running stack", seed_usage, cmd_seed},
    {"start", "Start the project's stopped containers", start_usage, cmd_start},
    {"stop", "Stop the project's containers, keeping them", stop_usage, cmd_stop},
    {"top", "Show the services' processes", top_usage, cmd_top},
    {"unpause", "Thaw what tend pause froze", unpause_usage, cmd_unpause},
    {"up", "Start the stack in the foreground, each service once its dependencies are ready", up_usage,
     cmd_up},
    {"version", "Show the version (--short, --format json)", version_usage, cmd_version},
    {"wait", "Wait until services are ready or completed (for scripts)", wait_usage, cmd_wait},
    {"watch", "Start the stack and reload services when their files change (up --watch)", watch_usage,
     cmd_watch},
};

static const Command *find_command(const char *name)
{
    for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
        if (streq(commands[i].name, name))
            return &commands[i];
    return NULL;
}

static void main_usage(FILE *f)
{
    fputs(main_usage_head, f);
    for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fputs("\nExit status: 0 success, 1 runtime failure, 2 usage or services-file error,\n"
          "124 tend wait timed out, 130 interrupted; run, exec and up --exit-code-from\n"
          "pass the command's status through (128+N after signal N).\n"
          "Run 'tend help COMMAND' for a command's options.\n",
          f);
}

static int unknown_command(const char *name)
{
    const char *best = NULL;
    size_t bd = (size_t)-1;
    for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
        size_t dd = edit_distance(name, commands[i].name);
        if (dd < bd && dd <= 2) {
            bd = dd;
            best = commands[i].name;
        }
    }
    if (best)
        fprintf(stderr, "tend: unknown command \"%s\"; did you mean \"%s\"?\n", name, best);
    else
        fprintf(stderr, "tend: unknown command \"%s\"; run 'tend --help'\n", name);
    return EXIT_USAGE;
}

static int cmd_help(ConfigOptions *o, int argc, char **argv)
{
    (void)o;
    if (argc < 2) {
        main_usage(stdout);
        return EXIT_OK;
    }
    const Command *c = find_command(argv[1]);
    if (!c)
        return unknown_command(argv[1]);
    fputs(c->usage, stdout);
    return EXIT_OK;
}

int main(int argc, char **argv)
{
    /* `tend __shim ...` is the parent of every host process (shim.h) */
    if (argc > 1 && streq(argv[1], "__shim"))
        return shim_main(argc - 1, argv + 1);
    char self_exe[4096];
    ssize_t self_len = readlink("/proc/self/exe", self_exe, sizeof self_exe - 1);
    if (self_len > 0) {
        self_exe[self_len] = '\0';
        /* The small tend-shim beside tend (the build folder), else the
         * installed one, else tend itself (`tend __shim`). */
        _cleanup_free_ char *dir = path_dirname(self_exe);
        _cleanup_free_ char *beside = path_join(dir, "tend-shim");
        if (access(beside, X_OK) == 0)
            host_set_shim(beside);
        else if (access(TEND_LIBEXECDIR "/tend-shim", X_OK) == 0)
            host_set_shim(TEND_LIBEXECDIR "/tend-shim");
        else
            host_set_shim(self_exe);
    }

    static const struct option opts[] = {
        {"file", required_argument, NULL, 'f'},
        {"project-name", required_argument, NULL, 'p'},
        {"project-directory", required_argument, NULL, 'D'},
        {"env-file", required_argument, NULL, 'E'},
        {"profile", required_argument, NULL, 'P'},
        {"env", required_argument, NULL, 'N'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'v'},
        {0},
    };
    ConfigOptions o = {0};
    int c, r;
    while ((c = getopt_long(argc, argv, "+f:p:hv", opts, NULL)) != -1) {
        switch (c) {
        case 'f':
            strvec_push(&o.files, optarg);
            break;
        case 'p':
            o.project_name = optarg;
            break;
        case 'D':
            o.project_dir = optarg;
            break;
        case 'E':
            strvec_push(&o.env_files, optarg);
            break;
        case 'P':
            strvec_push(&o.profiles, optarg);
            break;
        case 'N':
            o.env_name = optarg;
            break;
        case 'h':
            main_usage(stdout);
            config_options_free(&o);
            return EXIT_OK;
        case 'v':
            r = cmd_version(&o, 0, NULL);
            config_options_free(&o);
            return r;
        default:
            fputs("Run 'tend --help' for usage.\n", stderr);
            config_options_free(&o);
            return EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        main_usage(stderr);
        config_options_free(&o);
        return EXIT_USAGE;
    }
    const Command *cmd = find_command(argv[optind]);
    if (!cmd) {
        r = unknown_command(argv[optind]);
        config_options_free(&o);
        return r;
    }
    int sub_argc = argc - optind;
    char **sub_argv = argv + optind;
    optind = 0; /* reset getopt for the command's own options */
    r = cmd->run(&o, sub_argc, sub_argv);
    config_options_free(&o);
    return r;
}
