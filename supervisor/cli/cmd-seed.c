/* tend seed [SERVICE...] [--force]: runs the seed steps of services against
 * a stack that is already running (started by `tend up`, or by hand for
 * host services). Services go in dependency order, one at a time; the first
 * failure stops the command. Container services are found by the project's
 * labels: their address on the project network reaches Postgres and Redis,
 * their id runs exec steps. Host services are reached as their probe says
 * (or 127.0.0.1 and the default port). */
#include "cli/cli.h"
#include "engine/docker.h"
#include "load/graph.h"
#include "run/secrets.h"
#include "run/seed.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char seed_usage[] =
    "Usage: tend seed [OPTIONS] [SERVICE...]\n"
    "\n"
    "Runs the x-tend seed steps of the services (default: every service that\n"
    "has some) against the running stack, in dependency order. A step that\n"
    "already ran with the same files is skipped: the record is kept with the\n"
    "data (a tend_seed table in Postgres, the hash tend:seed in Redis).\n"
    "\n"
    "Options:\n"
    "      --force       run every step again, even when it is up to date\n"
    "  -h, --help        show this help\n";

typedef struct Ctr {
    const char *service; /* borrowed from the project */
    char *id;
    char *ip;
} Ctr;

typedef struct SeedCli {
    uv_loop_t *loop;
    const Project *p;
    LogMux *mux;
    Engine *e;
    bool force;
    size_t *order;
    size_t n_order, next;
    Ctr *ctrs;
    size_t n_ctrs;
    SeedRun *run;
    int status;
    bool done;
    unsigned ran, skipped;
} SeedCli;

static void finish(SeedCli *c, int status)
{
    c->status = status;
    c->done = true;
}

static const Ctr *ctr_of(SeedCli *c, const char *service)
{
    for (size_t i = 0; i < c->n_ctrs; i++)
        if (streq(c->ctrs[i].service, service))
            return &c->ctrs[i];
    return NULL;
}

static const char *ip_of(void *ud, const Service *s)
{
    const Ctr *k = ctr_of(ud, s->name);
    return k ? k->ip : NULL;
}

static void next_service(SeedCli *c);

static void on_seeded(void *ud, bool ok, const char *err)
{
    SeedCli *c = ud;
    SeedStats st = seed_stats(c->run);
    c->ran += st.ran;
    c->skipped += st.skipped;
    c->run = NULL;
    if (!ok) {
        logmux_system(c->mux, c->p->services[c->order[c->next - 1]]->name, "%s", err);
        finish(c, 1);
        return;
    }
    next_service(c);
}

static void next_service(SeedCli *c)
{
    if (c->next == c->n_order) {
        logmux_system(c->mux, NULL, "seeds: %u ran, %u up to date", c->ran, c->skipped);
        finish(c, 0);
        return;
    }
    const Service *s = c->p->services[c->order[c->next++]];
    SeedTarget t = {0};
    seed_target_init(&t, c->p, s, ip_of, c);
    if (s->runtime == RUNTIME_DOCKER) {
        bool needs_ctr = false;
        for (size_t i = 0; i < s->n_seeds; i++)
            needs_ctr |= s->seeds[i].kind == SEED_EXEC;
        const Ctr *k = ctr_of(c, s->name);
        if (needs_ctr && !k) {
            logmux_system(c->mux, s->name, "no running container; start the stack with `tend up -d --wait`");
            finish(c, 1);
            return;
        }
        t.engine = c->e;
        t.container = k ? k->id : NULL;
    }
    /* A store in a container that is not running cannot be reached. */
    const SeedStore *stores[] = {&t.pg, &t.redis};
    for (size_t i = 0; i < 2; i++) {
        const Service *st = stores[i]->service;
        if (st && st->runtime == RUNTIME_DOCKER && !stores[i]->host) {
            logmux_system(c->mux, s->name, "%s has no running container; start the stack with `tend up -d --wait`",
                          st->name);
            finish(c, 1);
            return;
        }
    }
    c->run = seed_run(c->loop, c->p, s, &t, c->force, c->mux, on_seeded, c);
}

static void on_listed(void *ud, int status, json_t *body, const char *err)
{
    SeedCli *c = ud;
    if (status != 200 || !json_is_array(body)) {
        logmux_system(c->mux, NULL, "cannot list the project's containers: %s", err ? err : "no answer");
        finish(c, 1);
        return;
    }
    c->ctrs = xcalloc(json_array_size(body) + 1, sizeof *c->ctrs);
    _cleanup_free_ char *default_net = xasprintf("%s_default", c->p->name);
    size_t i;
    json_t *o;
    json_array_foreach(body, i, o)
    {
        json_t *labels = json_object_get(o, "Labels");
        const char *oneoff = json_string_value(json_object_get(labels, LABEL_ONEOFF));
        const char *svc = json_string_value(json_object_get(labels, LABEL_SERVICE));
        const char *id = json_string_value(json_object_get(o, "Id"));
        if ((oneoff && streq(oneoff, "True")) || !svc || !id)
            continue;
        const Service *s = project_service(c->p, svc);
        if (!s || ctr_of(c, s->name))
            continue;
        /* The address on the project's default network, else on any. */
        json_t *nets = json_object_get(json_object_get(o, "NetworkSettings"), "Networks");
        const char *ip = json_string_value(json_object_get(json_object_get(nets, default_net), "IPAddress"));
        const char *key;
        json_t *n;
        json_object_foreach(nets, key, n)
        {
            const char *a = json_string_value(json_object_get(n, "IPAddress"));
            if ((!ip || !*ip) && a && *a)
                ip = a;
        }
        c->ctrs[c->n_ctrs++] = (Ctr){s->name, xstrdup(id), xstrdup(ip ? ip : "")};
    }
    next_service(c);
}

static void on_connected(void *ud, bool ok, const char *err)
{
    SeedCli *c = ud;
    if (!ok) {
        logmux_system(c->mux, NULL, "%s", err);
        finish(c, 1);
        return;
    }
    json_t *f = json_object();
    json_t *labels = json_array();
    char *a = xasprintf("%s=%s", LABEL_PROJECT, c->p->name);
    json_array_append_new(labels, json_string(a));
    free(a);
    json_object_set_new(f, "label", labels);
    json_t *st = json_array();
    json_array_append_new(st, json_string("running"));
    json_object_set_new(f, "status", st);
    char *fs = json_dumps(f, JSON_COMPACT);
    json_decref(f);
    char *e = engine_escape(fs);
    char *path = xasprintf("/containers/json?filters=%s", e);
    engine_request(c->e, "GET", path, NULL, on_listed, c);
    free(path);
    free(e);
    free(fs);
}

/* Services to seed, in dependency order: those named, or every service
 * with seed steps. Returns the count, or -1 after printing why. */
static int pick(const Project *p, char **names, int n_names, size_t **ret)
{
    bool *sel = xcalloc(p->n_services + 1, sizeof(bool));
    for (int i = 0; i < n_names; i++) {
        const Service *s = project_service(p, names[i]);
        if (!s) {
            fprintf(stderr, "tend seed: no such service: %s\n", names[i]);
            free(sel);
            return -1;
        }
        sel[s->index] = true;
    }
    for (size_t i = 0; i < p->n_services && n_names == 0; i++)
        sel[i] = p->services[i]->n_seeds > 0;
    const char **nm = xcalloc(p->n_services + 1, sizeof(char *));
    for (size_t i = 0; i < p->n_services; i++)
        nm[i] = p->services[i]->name;
    Graph *g = graph_new(p->n_services, nm);
    free(nm);
    for (size_t i = 0; i < p->n_services; i++)
        for (size_t k = 0; k < p->services[i]->n_deps; k++)
            graph_add_edge(g, i, p->services[i]->deps[k].index);
    size_t *order = NULL;
    int n = graph_start_order(g, sel, &order);
    graph_free(g);
    free(sel);
    if (n < 0) {
        fprintf(stderr, "tend seed: the dependencies form a cycle\n");
        return -1;
    }
    *ret = order;
    return n;
}

int cmd_seed(ConfigOptions *o, int argc, char **argv)
{
    enum { OPT_FORCE = 256 };
    static const struct option opts[] = {
        {"force", no_argument, NULL, OPT_FORCE},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    SeedCli c = {0};
    int ch;
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (ch) {
        case OPT_FORCE:
            c.force = true;
            break;
        case 'h':
            fputs(seed_usage, stdout);
            return 0;
        default:
            fputs("Run 'tend seed --help' for usage.\n", stderr);
            return 2;
        }
    }
    Project *p = NULL;
    int r = config_load_report(o, &p);
    if (r)
        return r;
    c.p = p;
    int n = pick(p, argv + optind, argc - optind, &c.order);
    if (n < 0) {
        project_free(p);
        return 2;
    }
    c.n_order = (size_t)n;

    uv_loop_t loop;
    uv_loop_init(&loop);
    c.loop = &loop;
    Secrets secrets = {0}; /* masked in every line shown */
    project_secrets(p, &secrets);
    LogMuxOptions mo = {
        .out_fd = STDOUT_FILENO,
        .color = isatty(STDOUT_FILENO) && !getenv("NO_COLOR"),
        .secrets = &secrets,
    };
    c.mux = logmux_new(&loop, &mo);

    /* The engine only when a service or a store of one runs in a container. */
    bool docker = false;
    for (size_t i = 0; i < c.n_order; i++) {
        const Service *s = p->services[c.order[i]];
        SeedTarget t = {0};
        seed_target_init(&t, p, s, NULL, NULL);
        docker |= s->runtime == RUNTIME_DOCKER;
        docker |= t.pg.service && t.pg.service->runtime == RUNTIME_DOCKER;
        docker |= t.redis.service && t.redis.service->runtime == RUNTIME_DOCKER;
    }
    if (c.n_order == 0) {
        logmux_system(c.mux, NULL, "no service has seed steps");
        finish(&c, 0);
    } else if (docker) {
        char *err = NULL;
        c.e = engine_new(&loop, NULL, &err);
        if (!c.e) {
            logmux_system(c.mux, NULL, "%s", err);
            free(err);
            finish(&c, 1);
        } else {
            engine_connect(c.e, on_connected, &c);
        }
    } else {
        next_service(&c);
    }
    while (!c.done && uv_run(&loop, UV_RUN_ONCE))
        ;
    if (c.run)
        seed_cancel(c.run);
    if (c.e)
        engine_free(c.e);
    uv_run(&loop, UV_RUN_DEFAULT);
    logmux_free(c.mux);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    for (size_t i = 0; i < c.n_ctrs; i++) {
        free(c.ctrs[i].id);
        free(c.ctrs[i].ip);
    }
    free(c.ctrs);
    free(c.order);
    secrets_free(&secrets);
    project_free(p);
    return c.status;
}
