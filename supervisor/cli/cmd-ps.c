/* tend ps: the services of the project and how they are. From the running
 * `tend up` through its control socket when there is one (every service,
 * host processes included, with state, health, restarts); else from the
 * engine's labels, for the project's containers only. */
#include "cli/cli.h"
#include "ctl/client.h"
#include "engine/docker.h"
#include "engine/engine.h"
#include "load/stamp.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const char ps_usage[] =
    "Usage: tend ps [OPTIONS] [SERVICE...]\n"
    "\n"
    "Lists the project's services: state, health, since when, restarts, runtime,\n"
    "ports, and why each is in its state (what it waits for, what its probe\n"
    "said, who stopped it). While a `tend up` runs, it answers (host processes\n"
    "included); otherwise the project's containers are read from the engine's\n"
    "labels.\n"
    "\n"
    "Options:\n"
    "      --format table|json   output format (default table)\n"
    "      --json                the same as --format json\n"
    "  -a, --all                 also services that are not part of the run\n"
    "                            (without a running tend: stopped containers too)\n"
    "  -q, --quiet               only the service names\n"
    "  -h, --help                show this help\n";

typedef struct Row {
    const char *service, *state, *health, *since, *runtime, *why;
    char *ports;
    long long restarts; /* < 0: unknown */
} Row;

static char *join_ports(json_t *ports)
{
    StrBuf b;
    strbuf_init(&b, 0);
    size_t i;
    json_t *e;
    json_array_foreach(ports, i, e) {
        if (json_string_value(e))
            strbuf_printf(&b, "%s%s", b.len ? ", " : "", json_string_value(e));
    }
    return strbuf_steal(&b);
}

static bool wanted(const StrVec *names, const char *service)
{
    return names->n == 0 || strvec_contains(names, service);
}

/* Prints the services array (objects as the control socket gives them). */
static void print_rows(json_t *services, const char *format, bool quiet, bool all, const StrVec *names)
{
    if (streq(format, "json")) {
        json_t *out = json_array();
        size_t i;
        json_t *s;
        json_array_foreach(services, i, s) {
            const char *name = json_string_value(json_object_get(s, "service"));
            if (name && wanted(names, name) && (all || json_is_true(json_object_get(s, "selected"))))
                json_array_append(out, s);
        }
        char *txt = json_dumps(out, JSON_COMPACT);
        printf("%s\n", txt ? txt : "[]");
        free(txt);
        json_decref(out);
        return;
    }
    size_t n = json_array_size(services);
    Row *rows = xcalloc(n ? n : 1, sizeof *rows);
    size_t nr = 0;
    int w[6] = {7, 5, 6, 5, 8, 5};
    size_t i;
    json_t *s;
    json_array_foreach(services, i, s) {
        const char *name = json_string_value(json_object_get(s, "service"));
        if (!name || !wanted(names, name) || !(all || json_is_true(json_object_get(s, "selected"))))
            continue;
        Row *r = &rows[nr++];
        r->service = name;
        r->state = json_string_value(json_object_get(s, "state"));
        r->health = json_string_value(json_object_get(s, "health"));
        r->since = json_string_value(json_object_get(s, "since"));
        r->runtime = json_string_value(json_object_get(s, "runtime"));
        r->why = json_string_value(json_object_get(s, "why"));
        json_t *rs = json_object_get(s, "restarts");
        r->restarts = json_is_integer(rs) ? (long long)json_integer_value(rs) : -1;
        r->ports = join_ports(json_object_get(s, "ports"));
        if (!r->state)
            r->state = "-";
        int l = (int)strlen(name);
        w[0] = l > w[0] ? l : w[0];
        l = (int)strlen(r->state);
        w[1] = l > w[1] ? l : w[1];
        l = r->health ? (int)strlen(r->health) : 1;
        w[2] = l > w[2] ? l : w[2];
    }
    if (quiet) {
        for (size_t k = 0; k < nr; k++)
            printf("%s\n", rows[k].service);
    } else {
        int wp = 5; /* PORTS, padded only when WHY follows */
        for (size_t k = 0; k < nr; k++)
            if ((int)strlen(rows[k].ports) > wp)
                wp = (int)strlen(rows[k].ports);
        printf("%-*s  %-*s  %-*s  %-5s  %-8s  %-7s  %-*s  %s\n", w[0], "SERVICE", w[1], "STATE", w[2], "HEALTH",
               "SINCE", "RESTARTS", "RUNTIME", wp, "PORTS", "WHY");
        for (size_t k = 0; k < nr; k++) {
            Row *r = &rows[k];
            char ago[32], rs[32];
            ctl_fmt_ago(r->since, ago);
            if (r->restarts >= 0)
                snprintf(rs, sizeof rs, "%lld", r->restarts);
            else
                snprintf(rs, sizeof rs, "-");
            printf("%-*s  %-*s  %-*s  %-5s  %-8s  %-7s  %-*s  %s\n", w[0], r->service, w[1], r->state, w[2],
                   r->health ? r->health : "-", ago, rs, r->runtime ? r->runtime : "-", wp,
                   *r->ports ? r->ports : "-", r->why && *r->why ? r->why : "-");
        }
    }
    for (size_t k = 0; k < nr; k++)
        free(rows[k].ports);
    free(rows);
}

/* ---- without a running tend: the engine's labels ---- */

typedef struct EngineList {
    bool done;
    json_t *list;
    char *err;
} EngineList;

static void on_list(void *ud, int status, json_t *body, const char *err)
{
    EngineList *l = ud;
    l->done = true;
    if (err || status / 100 != 2 || !json_is_array(body))
        l->err = xstrdup(err ? err : "unexpected answer from the engine");
    else
        l->list = json_incref(body);
}

static void on_connected(void *ud, bool ok, const char *err)
{
    EngineList *l = ud;
    if (!ok) {
        l->done = true;
        l->err = xstrdup(err ? err : "cannot reach the Docker engine");
    }
}

/* The containers of the project, as the control socket would describe
 * them; host services (with -a) as not running. */
static int from_engine(const Project *p, json_t *services, bool all)
{
    bool any_docker = false;
    for (size_t i = 0; i < p->n_services; i++)
        if (p->services[i]->runtime == RUNTIME_DOCKER)
            any_docker = true;
    json_t *seen = json_object();
    if (any_docker) {
        uv_loop_t loop;
        uv_loop_init(&loop);
        char *err = NULL;
        Engine *e = engine_new(&loop, NULL, &err);
        EngineList l = {0};
        if (!e) {
            l.err = err;
            l.done = true;
        } else {
            engine_connect(e, on_connected, &l);
            _cleanup_free_ char *filter = xasprintf("{\"label\":[\"" LABEL_PROJECT "=%s\"]}", p->name);
            _cleanup_free_ char *esc = engine_escape(filter);
            _cleanup_free_ char *path = xasprintf("/containers/json?all=1&filters=%s", esc);
            engine_request(e, "GET", path, NULL, on_list, &l);
            while (!l.done && uv_run(&loop, UV_RUN_ONCE))
                ;
            engine_free(e);
        }
        uv_run(&loop, UV_RUN_DEFAULT);
        uv_loop_close(&loop);
        if (l.err) {
            fprintf(stderr, "tend ps: %s\n", l.err);
            free(l.err);
            json_decref(seen);
            return 1;
        }
        size_t i;
        json_t *c;
        json_array_foreach(l.list, i, c) {
            json_t *labels = json_object_get(c, "Labels");
            const char *svc = json_string_value(json_object_get(labels, LABEL_SERVICE));
            const char *oneoff = json_string_value(json_object_get(labels, LABEL_ONEOFF));
            const char *state = json_string_value(json_object_get(c, "State"));
            const char *status = json_string_value(json_object_get(c, "Status"));
            if (!svc || (oneoff && streq(oneoff, "True")))
                continue;
            bool running = state && streq(state, "running");
            json_t *o = json_object();
            json_object_set_new(o, "service", json_string(svc));
            json_object_set_new(o, "runtime", json_string("docker"));
            json_object_set_new(o, "state", json_string(state ? state : "unknown"));
            const char *health = NULL;
            if (status && strstr(status, "(healthy)"))
                health = "healthy";
            else if (status && strstr(status, "(unhealthy)"))
                health = "unhealthy";
            else if (status && strstr(status, "(health: starting)"))
                health = "starting";
            json_object_set_new(o, "health", health ? json_string(health) : json_null());
            json_t *created = json_object_get(c, "Created");
            if (json_is_integer(created)) {
                char ts[25];
                ctl_fmt_time((int64_t)json_integer_value(created) * 1000000000LL, ts);
                json_object_set_new(o, "since", json_string(ts));
            }
            json_object_set_new(o, "restarts", json_null());
            json_t *ports = json_array();
            size_t k;
            json_t *pt;
            json_array_foreach(json_object_get(c, "Ports"), k, pt) {
                const char *ip = json_string_value(json_object_get(pt, "IP"));
                json_int_t priv = json_integer_value(json_object_get(pt, "PrivatePort"));
                json_int_t pub = json_integer_value(json_object_get(pt, "PublicPort"));
                const char *type = json_string_value(json_object_get(pt, "Type"));
                char buf[128];
                if (pub)
                    snprintf(buf, sizeof buf, "%s:%lld->%lld/%s", ip ? ip : "", (long long)pub, (long long)priv,
                             type ? type : "tcp");
                else
                    snprintf(buf, sizeof buf, "%lld/%s", (long long)priv, type ? type : "tcp");
                json_array_append_new(ports, json_string(buf));
            }
            json_object_set_new(o, "ports", ports);
            json_t *names = json_object_get(c, "Names");
            const char *cname = json_string_value(json_array_get(names, 0));
            if (cname)
                json_object_set_new(o, "container", json_string(cname[0] == '/' ? cname + 1 : cname));
            if (status) {
                json_object_set_new(o, "status", json_string(status));
                json_object_set_new(o, "why", json_string(status)); /* the engine's words: "Exited (0) 2 minutes ago" */
            }
            json_object_set_new(o, "selected", json_boolean(running));
            json_object_set(seen, svc, json_true());
            json_array_append_new(services, o);
        }
        json_decref(l.list);
    }
    if (all) {
        for (size_t i = 0; i < p->n_services; i++) {
            const Service *s = p->services[i];
            if (json_object_get(seen, s->name))
                continue;
            json_t *o = json_object();
            json_object_set_new(o, "service", json_string(s->name));
            json_object_set_new(o, "runtime", json_string(runtime_kind_to_string(s->runtime)));
            json_object_set_new(o, "state", json_string(s->runtime == RUNTIME_HOST ? "not running" : "absent"));
            json_object_set_new(o, "health", json_null());
            json_object_set_new(o, "since", json_null());
            json_object_set_new(o, "restarts", json_null());
            json_object_set_new(o, "ports", json_array());
            json_object_set_new(o, "selected", json_false());
            json_array_append_new(services, o);
        }
    }
    json_decref(seen);
    return 0;
}

/* ---- through the running tend ---- */

/* Asks the running tend and prints its answer; closes cl. */
static int ps_call(CtlClient *cl, const char *format, bool quiet, bool all, const StrVec *names)
{
    int status = 0;
    json_t *req = json_pack("{s:s}", "cmd", "ps"), *rep = NULL;
    int r = ctl_call(cl, req, 10000, &rep);
    json_decref(req);
    if (r < 0 || !json_is_true(json_object_get(rep, "ok"))) {
        fprintf(stderr, "tend ps: %s\n", r < 0 ? strerror(-r) : json_string_value(json_object_get(rep, "error")));
        status = 1;
    } else {
        print_rows(json_object_get(rep, "services"), format, quiet, all, names);
    }
    json_decref(rep);
    ctl_close(cl);
    return status;
}

/* Without loading the services files: when a stamp of an earlier load
 * with the same options is still valid (load/stamp.h: none of the files
 * changed), it names the project and its services, and a running tend
 * answers. 1 when answered (*ret_status set), 0 to load and go the long
 * way (no stamp, a name to report as unknown, or no tend running). */
static int ps_from_stamp(const ConfigOptions *o, int argc, char **argv, const char *format, bool quiet,
                         bool all, int *ret_status)
{
    _cleanup_free_ char *name = NULL;
    StrVec known = {0}, names = {0};
    if (stamp_lookup(o, &name, &known) < 0)
        return 0;
    int r = 1;
    for (int i = 0; i < argc; i++) {
        if (!strvec_contains(&known, argv[i]))
            r = 0; /* the long way says which */
        strvec_push(&names, argv[i]);
    }
    CtlClient *cl = NULL;
    if (r > 0)
        r = cli_connect_named(name, "ps", &cl);
    if (r > 0) {
        *ret_status = ps_call(cl, format, quiet, all, &names);
    } else if (r < 0) {
        *ret_status = 1; /* cli_connect_named said why */
        r = 1;
    }
    strvec_free(&known);
    strvec_free(&names);
    return r;
}

int cmd_ps(ConfigOptions *o, int argc, char **argv)
{
    enum { OPT_FORMAT = 256, OPT_JSON };
    static const struct option opts[] = {
        {"format", required_argument, NULL, OPT_FORMAT},
        {"json", no_argument, NULL, OPT_JSON},
        {"all", no_argument, NULL, 'a'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    const char *format = "table";
    bool all = false, quiet = false;
    int c;
    while ((c = getopt_long(argc, argv, "aqh", opts, NULL)) != -1) {
        switch (c) {
        case OPT_FORMAT:
            format = optarg;
            if (!streq(format, "table") && !streq(format, "json")) {
                fprintf(stderr, "tend ps: --format must be table or json, not \"%s\"\n", format);
                return 2;
            }
            break;
        case OPT_JSON:
            format = "json";
            break;
        case 'a':
            all = true;
            break;
        case 'q':
            quiet = true;
            break;
        case 'h':
            fputs(ps_usage, stdout);
            return 0;
        default:
            fputs("Run 'tend ps --help' for usage.\n", stderr);
            return 2;
        }
    }
    StrVec names = {0};
    Project *p = NULL;
    int status = 0;
    o->all_profiles = true; /* as cli_load_project loads, and the stamp's key */
    int r = ps_from_stamp(o, argc - optind, argv + optind, format, quiet, all, &status);
    if (r > 0)
        return fflush(stdout) == 0 ? status : 1;
    r = cli_load_named(o, "ps", argc - optind, argv + optind, true, &p, &names);
    if (r)
        return r;
    stamp_save(o, p);
    CtlClient *cl = NULL;
    r = cli_connect_project(p, "ps", &cl);
    if (r < 0) {
        status = 1;
    } else if (r > 0) {
        status = ps_call(cl, format, quiet, all, &names);
    } else {
        json_t *services = json_array();
        status = from_engine(p, services, all);
        if (status == 0)
            print_rows(services, format, quiet, all, &names);
        json_decref(services);
    }
    strvec_free(&names);
    project_free(p);
    return fflush(stdout) == 0 ? status : 1;
}
