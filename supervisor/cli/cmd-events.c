/* tend events: what happens in the running `tend up`, as it happens:
 * state changes, health, reloads, what other clients did to the
 * containers, the ready moment and the end with its reason. */
#include "cli/cli.h"
#include "ctl/client.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char events_usage[] =
    "Usage: tend events [OPTIONS]\n"
    "\n"
    "Prints the events of the running `tend up` as they happen, until it stops:\n"
    "state changes, health changes, reloads, what other clients (docker,\n"
    "docker compose) did to the containers, the moment every service is\n"
    "ready, and the end with its reason.\n"
    "\n"
    "Options:\n"
    "      --json    one JSON object per event (see the README for the fields)\n"
    "  -h, --help    show this help\n";

static void print_event(json_t *v)
{
    const char *ev = json_string_value(json_object_get(v, "event"));
    const char *t = json_string_value(json_object_get(v, "time"));
    const char *svc = json_string_value(json_object_get(v, "service"));
    if (!ev)
        return;
    printf("%s ", t ? t : "-");
    if (streq(ev, "state")) {
        const char *why = json_string_value(json_object_get(v, "reason"));
        printf("%s: %s -> %s%s%s%s\n", svc, json_string_value(json_object_get(v, "from")),
               json_string_value(json_object_get(v, "to")), why ? " (" : "", why ? why : "", why ? ")" : "");
    } else if (streq(ev, "health")) {
        const char *why = json_string_value(json_object_get(v, "reason"));
        printf("%s: %s%s%s\n", svc, json_string_value(json_object_get(v, "status")), why ? ": " : "",
               why ? why : "");
    } else if (streq(ev, "reload")) {
        printf("%s: reload (%s)\n", svc, json_string_value(json_object_get(v, "what")));
    } else if (streq(ev, "ready")) {
        printf("every service is ready (%lld ms)\n", (long long)json_integer_value(json_object_get(v, "elapsed_ms")));
    } else if (streq(ev, "outside")) {
        printf("%s: %s\n", svc, json_string_value(json_object_get(v, "message")));
    } else if (streq(ev, "stopped")) {
        const char *why = json_string_value(json_object_get(v, "reason"));
        printf("tend stopped%s%s%s\n", why ? " (" : "", why ? why : "", why ? ")" : "");
    } else {
        printf("%s%s%s\n", ev, svc ? " " : "", svc ? svc : "");
    }
}

int cmd_events(ConfigOptions *o, int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    bool json = false;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'j':
            json = true;
            break;
        case 'h':
            fputs(events_usage, stdout);
            return 0;
        default:
            fputs("Run 'tend events --help' for usage.\n", stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "tend events: takes no arguments\n");
        return 2;
    }
    Project *p = NULL;
    int r = cli_load_project(o, &p);
    if (r)
        return r;
    int status = 1;
    CtlClient *cl = NULL;
    r = cli_connect_project(p, "events", &cl);
    if (r == 0)
        fprintf(stderr, "tend events: no tend up runs for project %s\n", p->name);
    if (r > 0) {
        json_t *req = json_pack("{s:s}", "cmd", "events"), *rep = NULL;
        r = ctl_call(cl, req, 10000, &rep);
        json_decref(req);
        if (r < 0 || !json_is_true(json_object_get(rep, "ok"))) {
            fprintf(stderr, "tend events: %s\n",
                    r < 0 ? strerror(-r) : json_string_value(json_object_get(rep, "error")));
        } else {
            status = 0;
            for (;;) {
                json_t *v = NULL;
                r = ctl_recv(cl, -1, &v);
                if (r < 0) {
                    if (r != -EPIPE) {
                        fprintf(stderr, "tend events: %s\n", strerror(-r));
                        status = 1;
                    }
                    break;
                }
                if (json_object_get(v, "event")) {
                    if (json) {
                        char *s = json_dumps(v, JSON_COMPACT);
                        printf("%s\n", s);
                        free(s);
                    } else {
                        print_event(v);
                    }
                    fflush(stdout);
                }
                json_decref(v);
            }
        }
        json_decref(rep);
        ctl_close(cl);
    }
    project_free(p);
    return status;
}
