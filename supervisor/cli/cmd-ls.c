/* tend ls: the projects on this engine (containers labelled with a
 * project and a config hash, tend's and docker compose's alike) and the
 * projects a tend of this user supervises (host services included), in
 * docker compose ls's shape: NAME, STATUS ("running(2), exited(1)"),
 * CONFIG FILES, plus the supervising tend's pid. Needs no services file. */
#include "cli/cli.h"
#include "ctl/client.h"
#include "engine/docker.h"
#include "engine/ops.h"

#include <getopt.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char ls_usage[] =
    "Usage: tend ls [OPTIONS]\n"
    "\n"
    "Lists the projects that run: those with containers on this engine (made\n"
    "by tend or by docker compose) and those a tend of yours supervises.\n"
    "\n"
    "Options:\n"
    "  -a, --all                 also projects whose containers are all stopped\n"
    "      --format table|json   output format (default table)\n"
    "      --filter name=REGEX   only projects whose name matches\n"
    "  -q, --quiet               only the names\n"
    "  -h, --help                show this help\n";

typedef struct Proj {
    char *name;
    StrVec states;  /* one per container or supervised host service */
    StrVec files;
    long pid;       /* the supervising tend, 0 for none */
} Proj;

typedef struct Projs {
    Proj *v;
    size_t n;
} Projs;

static Proj *proj_get(Projs *ps, const char *name)
{
    for (size_t i = 0; i < ps->n; i++)
        if (streq(ps->v[i].name, name))
            return &ps->v[i];
    ps->v = xrealloc(ps->v, (ps->n + 1) * sizeof *ps->v);
    Proj *p = &ps->v[ps->n++];
    *p = (Proj){.name = xstrdup(name)};
    return p;
}

static void add_files(Proj *p, const char *csv)
{
    while (csv && *csv) {
        size_t n = strcspn(csv, ",");
        _cleanup_free_ char *f = xstrndup(csv, n);
        if (*f && !strvec_contains(&p->files, f))
            strvec_push(&p->files, f);
        csv += n + (csv[n] == ',');
    }
}

/* "exited(1), running(2)": each state once, sorted, with its count. */
static char *status_text(const StrVec *states)
{
    StrVec keys = {0};
    for (size_t i = 0; i < states->n; i++)
        if (!strvec_contains(&keys, states->v[i]))
            strvec_push(&keys, states->v[i]);
    strvec_sort(&keys);
    StrBuf b;
    strbuf_init(&b, 0);
    for (size_t k = 0; k < keys.n; k++) {
        int count = 0;
        for (size_t i = 0; i < states->n; i++)
            count += streq(states->v[i], keys.v[k]);
        strbuf_printf(&b, "%s%s(%d)", k ? ", " : "", keys.v[k], count);
    }
    strvec_free(&keys);
    return strbuf_steal(&b);
}

/* A supervised host service counts as its container would. */
static const char *host_state(const char *state)
{
    if (!state)
        return NULL;
    if (streq(state, "paused"))
        return "paused";
    if (streq(state, "starting") || streq(state, "running") || streq(state, "ready") ||
        streq(state, "unhealthy") || streq(state, "stopping"))
        return "running";
    if (streq(state, "exited") || streq(state, "failed") || streq(state, "backoff"))
        return "exited";
    return NULL;
}

static void from_supervisors(Projs *ps)
{
    StrVec socks = {0};
    ctl_socket_paths(&socks);
    for (size_t i = 0; i < socks.n; i++) {
        CtlClient *cl = NULL;
        char *err = NULL;
        if (ctl_connect(socks.v[i], &cl, &err) < 0) {
            free(err);
            continue;
        }
        json_t *req = json_pack("{s:s}", "cmd", "ps"), *rep = NULL;
        const char *name = NULL;
        if (ctl_call(cl, req, 5000, &rep) == 0 && (name = json_string_value(json_object_get(rep, "project")))) {
            Proj *p = proj_get(ps, name);
            p->pid = ctl_pid(cl);
            size_t k;
            json_t *f, *s;
            json_array_foreach(json_object_get(rep, "config_files"), k, f)
                add_files(p, json_string_value(f));
            json_array_foreach(json_object_get(rep, "services"), k, s)
            {
                const char *rt = json_string_value(json_object_get(s, "runtime"));
                const char *st = host_state(json_string_value(json_object_get(s, "state")));
                if (rt && streq(rt, "host") && st && json_is_true(json_object_get(s, "selected")))
                    strvec_push(&p->states, st);
            }
        }
        json_decref(req);
        json_decref(rep);
        ctl_close(cl);
    }
    strvec_free(&socks);
}

static int proj_cmp(const void *a, const void *b)
{
    return strcmp(((const Proj *)a)->name, ((const Proj *)b)->name);
}

int cmd_ls(ConfigOptions *o, int argc, char **argv)
{
    enum { OPT_FORMAT = 256, OPT_FILTER };
    static const struct option opts[] = {
        {"all", no_argument, NULL, 'a'},
        {"format", required_argument, NULL, OPT_FORMAT},
        {"filter", required_argument, NULL, OPT_FILTER},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    (void)o;
    const char *format = "table", *filter = NULL;
    bool all = false, quiet = false;
    int c;
    while ((c = getopt_long(argc, argv, "aqh", opts, NULL)) != -1) {
        switch (c) {
        case 'a':
            all = true;
            break;
        case OPT_FORMAT:
            if (!streq(optarg, "table") && !streq(optarg, "json")) {
                fprintf(stderr, "tend ls: --format must be table or json, not \"%s\"\n", optarg);
                return 2;
            }
            format = optarg;
            break;
        case OPT_FILTER:
            if (!str_startswith(optarg, "name=")) {
                fprintf(stderr, "tend ls: invalid filter '%.*s'\n", (int)strcspn(optarg, "="), optarg);
                return 2;
            }
            filter = optarg + 5;
            break;
        case 'q':
            quiet = true;
            break;
        case 'h':
            fputs(ls_usage, stdout);
            return 0;
        default:
            fputs("Run 'tend ls --help' for usage.\n", stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fputs("tend ls: takes no arguments\n", stderr);
        return 2;
    }
    regex_t re;
    if (filter && regcomp(&re, filter, REG_EXTENDED | REG_NOSUB) != 0) {
        fprintf(stderr, "tend ls: invalid name filter \"%s\"\n", filter);
        return 2;
    }
    Projs ps = {0};
    int status = 0;
    char *err = NULL;
    OpsSession *ops = ops_open(&err);
    json_t *list = NULL;
    if (ops && ops_all_project_containers(ops, &list, &err) == 0) {
        size_t i;
        json_t *ctr;
        json_array_foreach(list, i, ctr)
        {
            const char *state = json_string_value(json_object_get(ctr, "State"));
            if (!ops_ctr_label(ctr, LABEL_HASH) || !state)
                continue;
            Proj *p = proj_get(&ps, ops_ctr_label(ctr, LABEL_PROJECT));
            strvec_push(&p->states, state);
            add_files(p, ops_ctr_label(ctr, LABEL_FILES));
        }
    } else {
        /* host-only stacks still answer below */
        fprintf(stderr, "tend ls: %s\n", err ? err : "cannot reach the Docker engine");
        status = 1;
    }
    free(err);
    json_decref(list);
    ops_close(ops);
    from_supervisors(&ps);
    qsort(ps.v, ps.n, sizeof *ps.v, proj_cmp);

    json_t *out = json_array();
    StrVec rows = {0};
    strvec_push(&rows, "NAME");
    strvec_push(&rows, "STATUS");
    strvec_push(&rows, "CONFIG FILES");
    strvec_push(&rows, "SUPERVISOR");
    for (size_t i = 0; i < ps.n; i++) {
        Proj *p = &ps.v[i];
        bool running = p->pid > 0 || strvec_contains(&p->states, "running") || strvec_contains(&p->states, "paused") ||
                       strvec_contains(&p->states, "restarting");
        bool shown = (all || running) && (!filter || regexec(&re, p->name, 0, NULL, 0) == 0);
        if (shown && quiet) {
            printf("%s\n", p->name);
        } else if (shown) {
            _cleanup_free_ char *st = status_text(&p->states);
            StrBuf f;
            strbuf_init(&f, 0);
            for (size_t k = 0; k < p->files.n; k++)
                strbuf_printf(&f, "%s%s", k ? "," : "", p->files.v[k]);
            _cleanup_free_ char *files = strbuf_steal(&f);
            json_t *j = json_pack("{s:s,s:s,s:s}", "Name", p->name, "Status", st, "ConfigFiles", files);
            if (p->pid > 0)
                json_object_set_new(j, "Supervisor", json_integer(p->pid));
            json_array_append_new(out, j);
            strvec_push(&rows, p->name);
            strvec_push(&rows, st);
            strvec_push(&rows, files);
            strvec_push_take(&rows, p->pid > 0 ? xasprintf("tend (pid %ld)", p->pid) : xstrdup("-"));
        }
        free(p->name);
        strvec_free(&p->states);
        strvec_free(&p->files);
    }
    free(ps.v);
    if (filter)
        regfree(&re);
    if (!quiet && streq(format, "json")) {
        char *txt = json_dumps(out, JSON_COMPACT | JSON_PRESERVE_ORDER);
        printf("%s\n", txt);
        free(txt);
    } else if (!quiet) {
        cli_table_print(stdout, &rows, 4, 20, 3);
    }
    json_decref(out);
    strvec_free(&rows);
    return fflush(stdout) == 0 ? status : 1;
}
