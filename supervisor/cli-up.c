/* tend up: load, then run the stack in the foreground until Ctrl-C or until
 * everything has exited. */
#include "cli.h"
#include "host.h"
#include "manager.h"
#include "parse.h"
#include "select.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char up_usage[] =
    "Usage: tend up [OPTIONS] [SERVICE...]\n"
    "\n"
    "Starts the stack in the foreground: every service as soon as what it\n"
    "depends on is ready, each readiness gated on its probe. With SERVICE,\n"
    "only those and what they depend on. Ctrl-C stops everything in reverse\n"
    "dependency order; a second Ctrl-C kills at once.\n"
    "\n"
    "Options:\n"
    "      --wait-timeout S          give up (and stop) if not every service is\n"
    "                                ready within S seconds (or a duration: 90s)\n"
    "      --no-deps                 do not start what the named services need\n"
    "      --except SERVICE          run all but SERVICE, which runs outside tend\n"
    "                                (an IDE): what depends on it does not wait for\n"
    "                                it; what it needs still runs (repeatable)\n"
    "      --abort-on-container-exit stop everything when any service exits\n"
    "      --exit-code-from SERVICE  exit with SERVICE's status (implies the above)\n"
    "      --profile NAME            enable a profile (repeatable)\n"
    "      --no-color                no colours (also: NO_COLOR=1)\n"
    "      --timestamps              show when each line arrived\n"
    "      --no-log-prefix           no service name before each line\n"
    "      --json                    logs, state changes and the ready moment as\n"
    "                                JSON lines\n"
    "      --remove-orphans          remove containers of services no longer in the file\n"
    "      --watch                   reload services when their files change (as\n"
    "                                `tend watch`)\n"
    "      --build                   build images of services with build: first\n"
    "  -h, --help                    show this help\n";

static int parse_seconds(const char *s, int64_t *ret)
{
    if (duration_parse(s, ret) == 0)
        return 0;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || v < 0 || v > 1e9)
        return -EINVAL;
    *ret = (int64_t)(v * 1e9);
    return 0;
}

/* --except: checks the names, then hands the manager the selection as an
 * explicit list with no_deps, so that an excepted service is "not ours to
 * wait for" the way --no-deps leaves a dependency out. Once manager_new
 * selects through select_services() with mo->except itself, this list is
 * the same set and stays harmless. Returns 0 or an exit status. */
static int apply_except(const Project *p, const StrVec *services, const StrVec *except,
                        ManagerOptions *mo, StrVec *run)
{
    for (size_t i = 0; i < except->n; i++)
        if (!project_service(p, except->v[i])) {
            fprintf(stderr, "tend up: --except: no service \"%s\" in the project\n", except->v[i]);
            return 2;
        }
    if (mo->exit_code_from && strvec_contains(except, mo->exit_code_from)) {
        fprintf(stderr, "tend up: --exit-code-from %s: that service is excepted\n", mo->exit_code_from);
        return 2;
    }
    bool *sel = xcalloc(p->n_services ? p->n_services : 1, sizeof(bool));
    select_services(p, services, mo->no_deps, except, sel);
    for (size_t i = 0; i < p->n_services; i++)
        if (sel[i])
            strvec_push(run, p->services[i]->name);
    free(sel);
    if (run->n == 0) {
        fputs("tend up: nothing to run: every selected service is excepted\n", stderr);
        return 2;
    }
    mo->services = run;
    mo->no_deps = true;
    mo->except = except;
    return 0;
}

int cmd_up(ConfigOptions *o, int argc, char **argv)
{
    enum {
        OPT_WAIT_TIMEOUT = 256,
        OPT_NO_DEPS,
        OPT_ABORT,
        OPT_EXIT_CODE_FROM,
        OPT_PROFILE,
        OPT_NO_COLOR,
        OPT_TIMESTAMPS,
        OPT_NO_PREFIX,
        OPT_JSON,
        OPT_REMOVE_ORPHANS,
        OPT_BUILD,
        OPT_EXCEPT,
        OPT_WATCH,
    };
    static const struct option opts[] = {
        {"wait-timeout", required_argument, NULL, OPT_WAIT_TIMEOUT},
        {"no-deps", no_argument, NULL, OPT_NO_DEPS},
        {"abort-on-container-exit", no_argument, NULL, OPT_ABORT},
        {"exit-code-from", required_argument, NULL, OPT_EXIT_CODE_FROM},
        {"profile", required_argument, NULL, OPT_PROFILE},
        {"no-color", no_argument, NULL, OPT_NO_COLOR},
        {"timestamps", no_argument, NULL, OPT_TIMESTAMPS},
        {"no-log-prefix", no_argument, NULL, OPT_NO_PREFIX},
        {"json", no_argument, NULL, OPT_JSON},
        {"remove-orphans", no_argument, NULL, OPT_REMOVE_ORPHANS},
        {"watch", no_argument, NULL, OPT_WATCH},
        {"build", no_argument, NULL, OPT_BUILD},
        {"except", required_argument, NULL, OPT_EXCEPT},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    ManagerOptions mo = {0};
    StrVec except = {0};
    const char *nc = getenv("NO_COLOR");
    bool color = isatty(STDOUT_FILENO) && !(nc && *nc);
    int c;
    while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
        switch (c) {
        case OPT_WAIT_TIMEOUT:
            if (parse_seconds(optarg, &mo.wait_timeout) < 0) {
                fprintf(stderr, "tend up: --wait-timeout: \"%s\" is not a number of seconds or a duration\n",
                        optarg);
                return 2;
            }
            break;
        case OPT_NO_DEPS:
            mo.no_deps = true;
            break;
        case OPT_ABORT:
            mo.abort_on_exit = true;
            break;
        case OPT_EXIT_CODE_FROM:
            mo.exit_code_from = optarg;
            break;
        case OPT_PROFILE:
            strvec_push(&o->profiles, optarg);
            break;
        case OPT_NO_COLOR:
            color = false;
            break;
        case OPT_TIMESTAMPS:
            mo.log.timestamps = true;
            break;
        case OPT_NO_PREFIX:
            mo.log.no_prefix = true;
            break;
        case OPT_JSON:
            mo.json = true;
            mo.log.json = true;
            break;
        case OPT_REMOVE_ORPHANS:
            mo.remove_orphans = true;
            break;
        case OPT_WATCH:
            mo.watch = true;
            break;
        case OPT_BUILD:
            mo.build = true;
            break;
        case OPT_EXCEPT:
            strvec_push(&except, optarg);
            break;
        case 'h':
            fputs(up_usage, stdout);
            strvec_free(&except);
            return 0;
        default:
            fputs("Run 'tend up --help' for usage.\n", stderr);
            strvec_free(&except);
            return 2;
        }
    }
    for (int i = optind; i < argc; i++)
        strvec_push(&o->services, argv[i]);

    Project *p = NULL;
    Diag d = {0};
    int r = config_load(o, &p, &d);
    for (size_t i = 0; i < d.msgs.n; i++)
        fprintf(stderr, "%s\n", d.msgs.v[i]);
    diag_free(&d);
    if (r < 0) {
        strvec_free(&except);
        return r == -EINVAL || r == -ENOENT ? 2 : 1;
    }
    StrVec run = {0};
    if (except.n > 0 && (r = apply_except(p, &o->services, &except, &mo, &run)) != 0) {
        strvec_free(&except);
        strvec_free(&run);
        project_free(p);
        return r;
    }
    if (mo.exit_code_from && !project_service(p, mo.exit_code_from)) {
        fprintf(stderr, "tend up: --exit-code-from: no service \"%s\" in the project\n", mo.exit_code_from);
        strvec_free(&except);
        strvec_free(&run);
        project_free(p);
        return 2;
    }

    if (!mo.services)
        mo.services = &o->services;
    mo.log.out_fd = STDOUT_FILENO;
    mo.log.color = color && !mo.log.json;
    uv_loop_t loop;
    uv_loop_init(&loop);
    Manager *m = manager_new(&loop, p, &mo);
    int status = manager_run(m);
    manager_free(m);
    uv_loop_close(&loop);
    strvec_free(&except);
    strvec_free(&run);
    project_free(p);
    return status;
}
