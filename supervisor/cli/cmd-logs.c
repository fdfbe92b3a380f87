/* tend logs: the services' output. From the running `tend up` through its
 * control socket when there is one (its memory, older lines from its log
 * files, and with -f what comes next); else from the log files alone.
 * `tend attach` (cmd-attach.c) is the same stream, followed. */
#include "cli/cli.h"
#include "ctl/client.h"
#include "run/manager.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char logs_usage[] =
    "Usage: tend logs [OPTIONS] [SERVICE...]\n"
    "\n"
    "Shows the services' output, oldest first, each line under its service's\n"
    "name. While a `tend up` runs, the lines come from it (with -f, also the\n"
    "ones that follow, until it stops); otherwise from the log files in\n"
    "$XDG_STATE_HOME/tend/PROJECT/logs.\n"
    "\n"
    "Options:\n"
    "  -f, --follow          keep printing new lines (needs a running tend up)\n"
    "  -n, --tail N          only the last N lines of each service (default: all)\n"
    "      --since T         only lines from T on: an RFC 3339 time\n"
    "                        (2026-01-02T15:04:05Z), unix seconds, or a\n"
    "                        duration back from now (10m, 1h30m)\n"
    "  -t, --timestamps      show when each line arrived\n"
    "      --no-color        no colours (also: NO_COLOR=1)\n"
    "      --no-log-prefix   no service name before each line\n"
    "      --json            one JSON object per line: time, service, stream, line\n"
    "  -h, --help            show this help\n";

/* Prints one line as JSON (the socket's own form) or for a person. */
static void print_line(const LogsPrint *lp, const char *ts, const char *service, const char *stream,
                       const char *text)
{
    if (lp->json) {
        json_t *o = json_pack("{s:s,s:s,s:s,s:s}", "time", ts, "service", service, "stream", stream, "line", text);
        char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
        if (s)
            printf("%s\n", s);
        free(s);
        json_decref(o);
        return;
    }
    bool sys = streq(stream, "tend");
    if (!lp->no_prefix) {
        if (lp->color)
            printf("%s%-*s |\033[0m ", cli_color(service), lp->width, service);
        else
            printf("%-*s | ", lp->width, service);
    }
    if (lp->timestamps)
        printf("%s ", ts);
    if (sys && lp->color)
        printf("\033[1m%s\033[0m\n", text);
    else
        printf("%s\n", text);
}

void logs_print_init(LogsPrint *lp, const Project *p, const StrVec *names)
{
    lp->width = 4; /* "tend" */
    for (size_t i = 0; i < p->n_services; i++) {
        const char *n = p->services[i]->name;
        if (names && names->n && !strvec_contains(names, n))
            continue;
        if ((int)strlen(n) > lp->width)
            lp->width = (int)strlen(n);
    }
}

int logs_stream(CtlClient *c, const LogsPrint *lp, const StrVec *names, long tail, const char *since, bool follow)
{
    json_t *req = json_pack("{s:s,s:b}", "cmd", "logs", "follow", follow);
    json_t *svcs = json_array();
    for (size_t i = 0; names && i < names->n; i++)
        json_array_append_new(svcs, json_string(names->v[i]));
    json_object_set_new(req, "services", svcs);
    if (tail >= 0)
        json_object_set_new(req, "tail", json_integer(tail));
    if (since && *since)
        json_object_set_new(req, "since", json_string(since));
    json_t *rep = NULL;
    int r = ctl_call(c, req, 10000, &rep);
    json_decref(req);
    if (r < 0 || !json_is_true(json_object_get(rep, "ok"))) {
        fprintf(stderr, "tend logs: %s\n", r < 0 ? strerror(-r) : json_string_value(json_object_get(rep, "error")));
        json_decref(rep);
        return 1;
    }
    json_decref(rep);
    for (;;) {
        json_t *v = NULL;
        r = ctl_recv(c, -1, &v);
        if (r == -EPIPE)
            break; /* the supervisor stopped */
        if (r < 0) {
            fprintf(stderr, "tend logs: %s\n", strerror(-r));
            return 1;
        }
        if (json_is_true(json_object_get(v, "end"))) {
            json_decref(v);
            break;
        }
        const char *line = json_string_value(json_object_get(v, "line"));
        if (line)
            print_line(lp, json_string_value(json_object_get(v, "time")) ?: "",
                       json_string_value(json_object_get(v, "service")) ?: "?",
                       json_string_value(json_object_get(v, "stream")) ?: "stdout", line);
        json_decref(v);
        if (follow)
            fflush(stdout);
    }
    return fflush(stdout) == 0 ? 0 : 1;
}

typedef struct FileLine {
    CtlLogLine l;
    const char *service;
    size_t order;
} FileLine;

static int file_line_cmp(const void *a, const void *b)
{
    const FileLine *x = a, *y = b;
    int c = strcmp(x->l.ts, y->l.ts);
    if (c)
        return c;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* No supervisor: straight from the files, merged by time. */
static int from_files(const Project *p, const LogsPrint *lp, const StrVec *names, long tail, const char *since)
{
    _cleanup_free_ char *state = project_state_dir(p);
    _cleanup_free_ char *dir = xasprintf("%s/logs", state);
    FileLine *all = NULL;
    size_t n = 0, cap = 0;
    CtlLogLines *per = xcalloc(p->n_services ? p->n_services : 1, sizeof *per);
    for (size_t i = 0; i < p->n_services; i++) {
        const char *name = p->services[i]->name;
        if (names->n && !strvec_contains(names, name))
            continue;
        _cleanup_free_ char *cur = ctl_log_path(dir, name);
        _cleanup_free_ char *old = xasprintf("%s.1", cur);
        FILE *fo = fopen(old, "re"), *fc = fopen(cur, "re");
        int64_t so = 0, sc = 0;
        if (fo && fseek(fo, 0, SEEK_END) == 0)
            so = ftell(fo);
        if (fc && fseek(fc, 0, SEEK_END) == 0)
            sc = ftell(fc);
        ctl_log_read(fo ? fileno(fo) : -1, so, fc ? fileno(fc) : -1, sc, since, tail, 0, &per[i]);
        if (fo)
            fclose(fo);
        if (fc)
            fclose(fc);
        for (size_t k = 0; k < per[i].n; k++) {
            if (n == cap) {
                cap = cap ? cap * 2 : 1024;
                all = xrealloc(all, cap * sizeof *all);
            }
            all[n] = (FileLine){per[i].v[k], name, n};
            n++;
        }
    }
    qsort(all, n, sizeof *all, file_line_cmp);
    for (size_t i = 0; i < n; i++)
        print_line(lp, all[i].l.ts, all[i].service, all[i].l.stream, all[i].l.text);
    free(all);
    for (size_t i = 0; i < p->n_services; i++)
        ctl_log_lines_free(&per[i]);
    free(per);
    return fflush(stdout) == 0 ? 0 : 1;
}

int cmd_logs(ConfigOptions *o, int argc, char **argv)
{
    enum { OPT_SINCE = 256, OPT_NO_COLOR, OPT_NO_PREFIX, OPT_JSON };
    static const struct option opts[] = {
        {"follow", no_argument, NULL, 'f'},
        {"tail", required_argument, NULL, 'n'},
        {"since", required_argument, NULL, OPT_SINCE},
        {"timestamps", no_argument, NULL, 't'},
        {"no-color", no_argument, NULL, OPT_NO_COLOR},
        {"no-log-prefix", no_argument, NULL, OPT_NO_PREFIX},
        {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    const char *nc = getenv("NO_COLOR");
    LogsPrint lp = {.color = isatty(STDOUT_FILENO) && !(nc && *nc)};
    bool follow = false;
    long tail = -1;
    char since[25] = "";
    int c;
    while ((c = getopt_long(argc, argv, "fn:th", opts, NULL)) != -1) {
        switch (c) {
        case 'f':
            follow = true;
            break;
        case 'n': {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (streq(optarg, "all"))
                v = -1;
            else if (*end || v < 0) {
                fprintf(stderr, "tend logs: --tail: \"%s\" is not a number of lines\n", optarg);
                return 2;
            }
            tail = v;
            break;
        }
        case OPT_SINCE:
            if (ctl_parse_since(optarg, since) < 0) {
                fprintf(stderr, "tend logs: --since: \"%s\" is not a time, unix seconds or a duration\n", optarg);
                return 2;
            }
            break;
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
            fputs(logs_usage, stdout);
            return 0;
        default:
            fputs("Run 'tend logs --help' for usage.\n", stderr);
            return 2;
        }
    }
    StrVec names = {0};
    Project *p = NULL;
    int r = cli_load_named(o, "logs", argc - optind, argv + optind, true, &p, &names);
    if (r)
        return r;
    int status = 0;
    logs_print_init(&lp, p, &names);
    CtlClient *cl = NULL;
    r = cli_connect_project(p, "logs", &cl);
    if (r < 0) {
        status = 1;
    } else if (r > 0) {
        status = logs_stream(cl, &lp, &names, tail, since, follow);
        ctl_close(cl);
    } else {
        status = from_files(p, &lp, &names, tail, since);
        if (follow)
            fprintf(stderr, "tend logs: no tend up runs for project %s: nothing to follow\n", p->name);
    }
    strvec_free(&names);
    project_free(p);
    return status;
}
