/* tend wait: blocks until services of the running `tend up` are ready (or
 * have completed), for scripts: exit 0 when reached, 1 when it cannot be
 * any more (a service failed, or tend stopped), 124 on --timeout. */
#include "cli/cli.h"
#include "ctl/client.h"
#include "load/parse.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char wait_usage[] =
    "Usage: tend wait [OPTIONS] [SERVICE...]\n"
    "\n"
    "Waits until the services of the running `tend up` are ready (their probe\n"
    "passed; a service that completed counts as ready), or with --completed,\n"
    "until they have exited with status 0. Without SERVICE: every service of\n"
    "the run.\n"
    "\n"
    "Options:\n"
    "      --healthy       wait for readiness (the default)\n"
    "      --completed     wait for a successful exit (migrations, seeds)\n"
    "      --started       wait until they have started (running, ready or done)\n"
    "      --stopped       wait until they have stopped\n"
    "      --timeout S     give up after S seconds (or a duration: 2m)\n"
    "      --json          print the verdict as JSON\n"
    "  -h, --help          show this help\n"
    "\n"
    "Exit status: 0 reached; 1 a service failed or exited, tend stopped, or no\n"
    "tend up runs; 2 usage; 124 the timeout passed first.\n";

/* Sends a wait and returns its reply (NULL after printing why). */
json_t *ctl_wait_call(CtlClient *c, const char *cmd, const StrVec *names, CtlWaitCond cond, int64_t timeout_ns)
{
    json_t *req = json_pack("{s:s,s:s}", "cmd", "wait", "condition", ctl_wait_cond_to_string(cond));
    json_t *svcs = json_array();
    for (size_t i = 0; names && i < names->n; i++)
        json_array_append_new(svcs, json_string(names->v[i]));
    json_object_set_new(req, "services", svcs);
    if (timeout_ns > 0)
        json_object_set_new(req, "timeout_ms", json_integer(timeout_ns / 1000000));
    json_t *rep = NULL;
    int r = ctl_call(c, req, -1, &rep);
    json_decref(req);
    if (r < 0) {
        fprintf(stderr, "tend %s: %s\n", cmd,
                r == -EPIPE ? "tend stopped before the services got there" : strerror(-r));
        return NULL;
    }
    if (!json_is_true(json_object_get(rep, "ok"))) {
        fprintf(stderr, "tend %s: %s\n", cmd, json_string_value(json_object_get(rep, "error")));
        json_decref(rep);
        return NULL;
    }
    return rep;
}

/* Tells which services did not get there, and why. */
void ctl_wait_explain(const char *cmd, json_t *rep)
{
    const char *result = json_string_value(json_object_get(rep, "result"));
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(rep, "services"), i, s) {
        if (json_is_true(json_object_get(s, "reached")))
            continue;
        const char *why = json_string_value(json_object_get(s, "reason"));
        fprintf(stderr, "tend %s: %s: %s%s%s%s\n", cmd, json_string_value(json_object_get(s, "service")),
                result && streq(result, "timeout") ? "still " : "",
                json_string_value(json_object_get(s, "state")), why ? ": " : "", why ? why : "");
    }
}

int cmd_wait(ConfigOptions *o, int argc, char **argv)
{
    enum { OPT_HEALTHY = 256, OPT_COMPLETED, OPT_STARTED, OPT_STOPPED, OPT_TIMEOUT, OPT_JSON };
    static const struct option opts[] = {
        {"healthy", no_argument, NULL, OPT_HEALTHY},
        {"completed", no_argument, NULL, OPT_COMPLETED},
        {"started", no_argument, NULL, OPT_STARTED},
        {"stopped", no_argument, NULL, OPT_STOPPED},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    CtlWaitCond cond = CTL_WAIT_HEALTHY;
    int64_t timeout = 0;
    bool json = false;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case OPT_HEALTHY:
            cond = CTL_WAIT_HEALTHY;
            break;
        case OPT_COMPLETED:
            cond = CTL_WAIT_COMPLETED;
            break;
        case OPT_STARTED:
            cond = CTL_WAIT_STARTED;
            break;
        case OPT_STOPPED:
            cond = CTL_WAIT_STOPPED;
            break;
        case OPT_TIMEOUT: {
            char *end;
            double v = strtod(optarg, &end);
            if (duration_parse(optarg, &timeout) == 0)
                break;
            if (*end || v < 0 || v > 1e7) {
                fprintf(stderr, "tend wait: --timeout: \"%s\" is not a number of seconds or a duration\n", optarg);
                return 2;
            }
            timeout = (int64_t)(v * 1e9);
            if (timeout == 0)
                timeout = 1; /* --timeout 0: answer now */
            break;
        }
        case OPT_JSON:
            json = true;
            break;
        case 'h':
            fputs(wait_usage, stdout);
            return 0;
        default:
            fputs("Run 'tend wait --help' for usage.\n", stderr);
            return 2;
        }
    }
    StrVec names = {0};
    Project *p = NULL;
    int r = cli_load_named(o, "wait", argc - optind, argv + optind, true, &p, &names);
    if (r)
        return r;
    int status = 1;
    CtlClient *cl = NULL;
    r = cli_connect_project(p, "wait", &cl);
    if (r == 0)
        fprintf(stderr, "tend wait: no tend up runs for project %s\n", p->name);
    if (cl) {
        json_t *rep = ctl_wait_call(cl, "wait", &names, cond, timeout);
        if (rep) {
            const char *res = json_string_value(json_object_get(rep, "result"));
            status = res && streq(res, "reached") ? 0 : res && streq(res, "timeout") ? 124 : 1;
            if (json) {
                json_object_del(rep, "id");
                json_object_del(rep, "ok");
                char *s = json_dumps(rep, JSON_COMPACT);
                printf("%s\n", s);
                free(s);
            } else if (status != 0) {
                ctl_wait_explain("wait", rep);
            }
            json_decref(rep);
        }
        ctl_close(cl);
    }
    strvec_free(&names);
    project_free(p);
    return status;
}
