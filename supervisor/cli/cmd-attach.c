/* tend attach: back to the output of a `tend up` that runs in the
 * background (up -d): its recent lines, then every new one, until it
 * stops. Ctrl-C leaves it running. */
#include "cli/cli.h"
#include "ctl/client.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char attach_usage[] =
    "Usage: tend attach [OPTIONS] [SERVICE...]\n"
    "\n"
    "Follows the output of the `tend up` that runs this project (started with\n"
    "tend up -d): the last lines of each service, then new ones until it stops.\n"
    "Ctrl-C detaches; the stack keeps running (stop it with tend down).\n"
    "\n"
    "Options:\n"
    "  -n, --tail N          lines of each service to show first (default 20)\n"
    "  -t, --timestamps      show when each line arrived\n"
    "      --no-color        no colours (also: NO_COLOR=1)\n"
    "      --no-log-prefix   no service name before each line\n"
    "      --json            one JSON object per line\n"
    "  -h, --help            show this help\n";

int cmd_attach(ConfigOptions *o, int argc, char **argv)
{
    enum { OPT_NO_COLOR = 256, OPT_NO_PREFIX, OPT_JSON };
    static const struct option opts[] = {
        {"tail", required_argument, NULL, 'n'},
        {"timestamps", no_argument, NULL, 't'},
        {"no-color", no_argument, NULL, OPT_NO_COLOR},
        {"no-log-prefix", no_argument, NULL, OPT_NO_PREFIX},
        {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    const char *nc = getenv("NO_COLOR");
    LogsPrint lp = {.color = isatty(STDOUT_FILENO) && !(nc && *nc)};
    long tail = 20;
    int c;
    while ((c = getopt_long(argc, argv, "n:th", opts, NULL)) != -1) {
        switch (c) {
        case 'n': {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*end || v < 0) {
                fprintf(stderr, "tend attach: --tail: \"%s\" is not a number of lines\n", optarg);
                return 2;
            }
            tail = v;
            break;
        }
        case 't':
            lp.timestamps = true;
            break;
        case OPT_NO_COLOR:
            lp.color = false;
            break;
        case OPT_NO_PREFIX:
            lp.no_prefix = true;
            break;
        case OPT_JSON:
            lp.json = true;
            break;
        case 'h':
            fputs(attach_usage, stdout);
            return 0;
        default:
            fputs("Run 'tend attach --help' for usage.\n", stderr);
            return 2;
        }
    }
    StrVec names = {0};
    Project *p = NULL;
    int r = cli_load_named(o, "attach", argc - optind, argv + optind, false, &p, &names);
    if (r)
        return r;
    int status = 1;
    CtlClient *cl = NULL;
    r = cli_connect_project(p, "attach", &cl);
    if (r == 0)
        fprintf(stderr, "tend attach: no tend up runs for project %s (start one with tend up -d)\n", p->name);
    if (r > 0) {
        logs_print_init(&lp, p, &names);
        status = logs_stream(cl, &lp, &names, tail, NULL, true);
        ctl_close(cl);
    }
    strvec_free(&names);
    project_free(p);
    return status;
}
