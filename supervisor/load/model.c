/* model: reads the merged, canonical tree into plain structs and runs the
 * checks that need the whole project: dependencies that name unknown or
 * disabled services, dependency cycles, host ports published twice, volumes
 * and networks that were never declared. The schema check has already
 * vetted types and formats per file, so the readers here are defensive but
 * quiet; the errors they do report point at the node where a value was
 * written, which after merging may be in any of the files. */
#include "load/model.h"

#include "load/canon.h"
#include "load/dotenv.h"
#include "load/graph.h"
#include "load/parse.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- names ---- */

const char *runtime_kind_to_string(RuntimeKind k)
{
    static const char *const t[] = {"docker", "host"};
    return (unsigned)k < ARRAY_SIZE(t) ? t[k] : "?";
}

const char *restart_policy_to_string(RestartPolicy p)
{
    static const char *const t[] = {"no", "always", "on-failure", "unless-stopped"};
    return (unsigned)p < ARRAY_SIZE(t) ? t[p] : "?";
}

const char *dep_condition_to_string(DepCondition c)
{
    static const char *const t[] = {"service_started", "service_healthy",
                                    "service_completed_successfully"};
    return (unsigned)c < ARRAY_SIZE(t) ? t[c] : "?";
}

const char *probe_kind_to_string(ProbeKind k)
{
    static const char *const t[] = {"none", "postgres", "redis", "http", "tcp", "log", "exec"};
    return (unsigned)k < ARRAY_SIZE(t) ? t[k] : "?";
}

const char *watch_action_to_string(WatchAction a)
{
    static const char *const t[] = {"sync", "rebuild", "restart", "sync+restart", "sync+exec", "signal"};
    return (unsigned)a < ARRAY_SIZE(t) ? t[a] : "?";
}

const char *seed_kind_to_string(SeedKind k)
{
    static const char *const t[] = {"sql", "redis", "exec"};
    return (unsigned)k < ARRAY_SIZE(t) ? t[k] : "?";
}

static const struct {
    const char *name;
    int sig;
} signals[] = {
    {"HUP", SIGHUP},     {"INT", SIGINT},     {"QUIT", SIGQUIT},   {"ILL", SIGILL},
    {"TRAP", SIGTRAP},   {"ABRT", SIGABRT},   {"BUS", SIGBUS},     {"FPE", SIGFPE},
    {"KILL", SIGKILL},   {"USR1", SIGUSR1},   {"SEGV", SIGSEGV},   {"USR2", SIGUSR2},
    {"PIPE", SIGPIPE},   {"ALRM", SIGALRM},   {"TERM", SIGTERM},   {"STKFLT", SIGSTKFLT},
    {"CHLD", SIGCHLD},   {"CONT", SIGCONT},   {"STOP", SIGSTOP},   {"TSTP", SIGTSTP},
    {"TTIN", SIGTTIN},   {"TTOU", SIGTTOU},   {"URG", SIGURG},     {"XCPU", SIGXCPU},
    {"XFSZ", SIGXFSZ},   {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF}, {"WINCH", SIGWINCH},
    {"IO", SIGIO},       {"PWR", SIGPWR},     {"SYS", SIGSYS},
};

int signal_from_string(const char *s)
{
    if (!s || !*s)
        return -EINVAL;
    if (s[0] >= '0' && s[0] <= '9') {
        char *end;
        long v = strtol(s, &end, 10);
        return *end || v < 1 || v > 64 ? -EINVAL : (int)v;
    }
    const char *n = strncasecmp(s, "SIG", 3) == 0 ? s + 3 : s;
    for (size_t i = 0; i < ARRAY_SIZE(signals); i++)
        if (strcasecmp(n, signals[i].name) == 0)
            return signals[i].sig;
    return -EINVAL;
}

/* ---- freeing ---- */

static void probe_clear(Probe *p)
{
    free(p->host);
    free(p->user);
    free(p->password);
    free(p->dbname);
    free(p->url);
    free(p->pattern);
    strvec_free(&p->argv);
}

static void service_free(Service *s)
{
    if (!s)
        return;
    free(s->name);
    free(s->image);
    if (s->build) {
        free(s->build->context);
        free(s->build->dockerfile);
        free(s->build->target);
        env_free(&s->build->args);
        free(s->build);
    }
    free(s->pull_policy);
    strvec_free(&s->command);
    strvec_free(&s->entrypoint);
    free(s->command_string);
    env_free(&s->environment);
    strvec_free(&s->env_null);
    strvec_free(&s->env_files);
    for (size_t i = 0; i < s->n_mounts; i++) {
        free(s->mounts[i].source);
        free(s->mounts[i].target);
    }
    free(s->mounts);
    for (size_t i = 0; i < s->n_ports; i++) {
        free(s->ports[i].host_ip);
        free(s->ports[i].protocol);
    }
    free(s->ports);
    strvec_free(&s->expose);
    for (size_t i = 0; i < s->n_deps; i++)
        free(s->deps[i].service);
    free(s->deps);
    strvec_free(&s->healthcheck.test);
    probe_clear(&s->probe);
    strvec_free(&s->profiles);
    free(s->user);
    free(s->working_dir);
    free(s->hostname);
    free(s->network_mode);
    free(s->container_name);
    free(s->oneoff_name);
    env_free(&s->labels);
    for (size_t i = 0; i < s->n_networks; i++) {
        free(s->networks[i].name);
        strvec_free(&s->networks[i].aliases);
    }
    free(s->networks);
    strvec_free(&s->tmpfs);
    strvec_free(&s->extra_hosts);
    for (size_t i = 0; i < s->n_ulimits; i++)
        free(s->ulimits[i].name);
    free(s->ulimits);
    for (size_t i = 0; i < s->n_watch; i++) {
        free(s->watch[i].path);
        free(s->watch[i].target);
        strvec_free(&s->watch[i].ignore);
        strvec_free(&s->watch[i].include);
        strvec_free(&s->watch[i].exec);
    }
    free(s->watch);
    strvec_free(&s->watch_opts.ignore);
    for (size_t i = 0; i < s->n_seeds; i++) {
        strvec_free(&s->seeds[i].files);
        free(s->seeds[i].database);
        strvec_free(&s->seeds[i].argv);
    }
    free(s->seeds);
    free(s);
}

char *project_state_dir(const Project *p)
{
    const char *xdg = getenv("XDG_STATE_HOME");
    if (xdg && *xdg)
        return xasprintf("%s/tend/%s", xdg, p->name);
    const char *home = getenv("HOME");
    return xasprintf("%s/.local/state/tend/%s", home && *home ? home : "/tmp", p->name);
}

void project_free(Project *p)
{
    if (!p)
        return;
    free(p->name);
    free(p->workdir);
    strvec_free(&p->config_files);
    strvec_free(&p->inputs);
    for (size_t i = 0; i < p->n_services; i++)
        service_free(p->services[i]);
    free(p->services);
    for (size_t i = 0; i < p->n_volumes; i++) {
        free(p->volumes[i].key);
        free(p->volumes[i].name);
        free(p->volumes[i].driver);
        env_free(&p->volumes[i].labels);
    }
    free(p->volumes);
    for (size_t i = 0; i < p->n_networks; i++) {
        free(p->networks[i].key);
        free(p->networks[i].name);
        free(p->networks[i].driver);
        env_free(&p->networks[i].labels);
    }
    free(p->networks);
    strvec_free(&p->ignored);
    strvec_free(&p->profiles_all);
    strvec_free(&p->disabled);
    env_free(&p->env);
    arena_free(p->arena);
    free(p);
}

Service *project_service(const Project *p, const char *name)
{
    for (size_t i = 0; i < p->n_services; i++)
        if (streq(p->services[i]->name, name))
            return p->services[i];
    return NULL;
}

/* ---- readers ---- */

static const char *str_of(const Node *map, const char *key)
{
    const Node *n = node_get(map, key);
    return node_is_scalar(n) ? n->str : NULL;
}

static char *xstr_of(const Node *map, const char *key)
{
    const char *s = str_of(map, key);
    return s ? xstrdup(s) : NULL;
}

static bool bool_of(const Node *map, const char *key, bool def)
{
    bool v;
    const Node *n = node_get(map, key);
    if (node_is_scalar(n) && node_as_bool(n, &v) == 0)
        return v;
    return def;
}

static int64_t duration_of(const Node *map, const char *key, int64_t def)
{
    const char *s = str_of(map, key);
    int64_t ns;
    if (s && duration_parse(s, &ns) == 0)
        return ns;
    return def;
}

static long long int_of(const Node *map, const char *key, long long def)
{
    const Node *n = node_get(map, key);
    long long v;
    if (node_is_scalar(n) && node_as_int(n, &v) == 0)
        return v;
    return def;
}

/* A string or a list of strings, as argv. `shell` tells which it was. */
static void argv_of(const Node *n, StrVec *out, bool *shell)
{
    if (shell)
        *shell = false;
    if (node_is_scalar(n)) {
        if (shell)
            *shell = true;
        StrVec v = {0};
        if (shell_split(n->str, &v) == 0)
            *out = v;
        else
            strvec_push(out, n->str);
    } else if (n && n->kind == NODE_SEQ) {
        for (size_t i = 0; i < n->len; i++)
            if (n->vals[i]->kind == NODE_SCALAR)
                strvec_push(out, n->vals[i]->str);
    }
}

static void strings_of(const Node *n, StrVec *out)
{
    if (node_is_scalar(n))
        strvec_push(out, n->str);
    else if (n && n->kind == NODE_SEQ)
        for (size_t i = 0; i < n->len; i++)
            if (node_is_scalar(n->vals[i]))
                strvec_push(out, n->vals[i]->str);
}

static void env_of(const Node *map, Env *out)
{
    if (!map || map->kind != NODE_MAP)
        return;
    for (size_t i = 0; i < map->len; i++)
        env_set(out, map->keys[i]->str, node_is_scalar(map->vals[i]) ? map->vals[i]->str : NULL);
}

/* ---- one service ---- */

typedef struct Builder {
    Project *p;
    Diag *d;
    const char *default_host_ip;
} Builder;

static int restart_parse(const char *s, RestartPolicy *ret, int *ret_max)
{
    *ret_max = 0;
    if (!s || streq(s, "no") || streq(s, "false")) {
        *ret = RESTART_NO;
    } else if (streq(s, "always")) {
        *ret = RESTART_ALWAYS;
    } else if (streq(s, "unless-stopped")) {
        *ret = RESTART_UNLESS_STOPPED;
    } else if (str_startswith(s, "on-failure")) {
        *ret = RESTART_ON_FAILURE;
        if (s[10] == ':') {
            char *end;
            long v = strtol(s + 11, &end, 10);
            if (*end || v < 0 || end == s + 11)
                return -EINVAL;
            *ret_max = (int)v;
        } else if (s[10]) {
            return -EINVAL;
        }
    } else {
        return -EINVAL;
    }
    return 0;
}

static void read_healthcheck(Service *s, const Node *hc)
{
    Healthcheck *h = &s->healthcheck;
    if (!hc || hc->kind != NODE_MAP)
        return;
    h->present = true;
    const Node *test = node_get(hc, "test");
    strings_of(test, &h->test);
    if (bool_of(hc, "disable", false) || (h->test.n > 0 && streq(h->test.v[0], "NONE")))
        h->disabled = true;
    if (h->test.n == 0)
        h->present = false; /* only timing given: nothing to run unless the image has one */
    h->interval = duration_of(hc, "interval", 0);
    h->timeout = duration_of(hc, "timeout", 0);
    h->start_period = duration_of(hc, "start_period", 0);
    h->start_interval = duration_of(hc, "start_interval", 0);
    h->retries = (int)int_of(hc, "retries", 0);
    if (h->disabled)
        h->present = false;
}

/* "host:port", "port" or a number. */
static void host_port(const Node *n, char **host, int *port)
{
    if (node_is_scalar(n)) {
        const char *c = strrchr(n->str, ':');
        if (c) {
            *host = xstrndup(n->str, (size_t)(c - n->str));
            *port = atoi(c + 1);
        } else {
            *port = atoi(n->str);
        }
    } else if (n && n->kind == NODE_MAP) {
        *host = xstr_of(n, "host");
        *port = (int)int_of(n, "port", 0);
    }
}

static void read_probe(Service *s, const Node *pr)
{
    Probe *p = &s->probe;
    if (!pr || pr->kind != NODE_MAP)
        return;
    const Node *n;
    if ((n = node_get(pr, "postgres"))) {
        p->kind = PROBE_POSTGRES;
        if (n->kind == NODE_MAP) {
            p->host = xstr_of(n, "host");
            p->port = (int)int_of(n, "port", 0);
            p->user = xstr_of(n, "user");
            p->password = xstr_of(n, "password");
            p->dbname = xstr_of(n, "dbname");
        }
        if (!p->port)
            p->port = 5432;
    } else if ((n = node_get(pr, "redis"))) {
        p->kind = PROBE_REDIS;
        if (n->kind == NODE_MAP) {
            p->host = xstr_of(n, "host");
            p->port = (int)int_of(n, "port", 0);
        }
        if (!p->port)
            p->port = 6379;
    } else if ((n = node_get(pr, "http"))) {
        p->kind = PROBE_HTTP;
        if (node_is_scalar(n)) {
            p->url = xstrdup(n->str);
        } else {
            p->url = xstr_of(n, "url");
            p->status = (int)int_of(n, "status", 0);
        }
    } else if ((n = node_get(pr, "tcp"))) {
        p->kind = PROBE_TCP;
        host_port(n, &p->host, &p->port);
    } else if ((n = node_get(pr, "log"))) {
        p->kind = PROBE_LOG;
        p->pattern = node_is_scalar(n) ? xstrdup(n->str) : NULL;
    } else if ((n = node_get(pr, "exec"))) {
        p->kind = PROBE_EXEC;
        if (node_is_scalar(n)) {
            strvec_push(&p->argv, "/bin/sh");
            strvec_push(&p->argv, "-c");
            strvec_push(&p->argv, n->str);
        } else {
            strings_of(n, &p->argv);
        }
    }
    p->interval = duration_of(pr, "interval", 0);
    p->timeout = duration_of(pr, "timeout", 0);
    p->start_period = duration_of(pr, "start_period", 0);
    p->start_interval = duration_of(pr, "start_interval", 0);
    p->retries = (int)int_of(pr, "retries", 0);
}

static WatchAction watch_action_parse(const char *s, bool *ok)
{
    *ok = true;
    for (int a = 0; a < _WATCH_MAX; a++)
        if (s && streq(s, watch_action_to_string((WatchAction)a)))
            return (WatchAction)a;
    *ok = false;
    return WATCH_RESTART;
}

static void read_watch_rule(Builder *b, Service *s, const Node *r, const char *where, size_t i)
{
    if (!r || r->kind != NODE_MAP)
        return;
    s->watch = xrealloc(s->watch, (s->n_watch + 1) * sizeof(*s->watch));
    WatchRule *w = &s->watch[s->n_watch++];
    memset(w, 0, sizeof(*w));
    w->loc = r->loc;
    w->path = xstr_of(r, "path");
    bool ok;
    w->action = watch_action_parse(str_of(r, "action"), &ok);
    w->target = xstr_of(r, "target");
    strings_of(node_get(r, "ignore"), &w->ignore);
    strings_of(node_get(r, "include"), &w->include);
    const Node *ex = node_get(r, "exec");
    if (ex && ex->kind == NODE_MAP)
        ex = node_get(ex, "command");
    argv_of(ex, &w->exec, NULL);
    const char *sig = str_of(r, "signal");
    w->signal = sig ? signal_from_string(sig) : SIGHUP;
    if (w->signal < 0)
        w->signal = SIGHUP;
    if (w->action == WATCH_SIGNAL && !node_get(r, "signal"))
        w->signal = SIGHUP;
    if ((w->action == WATCH_SYNC || w->action == WATCH_SYNC_RESTART || w->action == WATCH_SYNC_EXEC) &&
        !w->target && s->runtime == RUNTIME_DOCKER)
        diag_error(b->d, &r->loc, "%s[%zu]: action %s needs a target", where, i,
                   watch_action_to_string(w->action));
}

static void read_seeds(Service *s, const Node *seed)
{
    if (!seed || seed->kind != NODE_SEQ)
        return;
    s->seeds = xcalloc(seed->len ? seed->len : 1, sizeof(*s->seeds));
    for (size_t i = 0; i < seed->len; i++) {
        const Node *st = seed->vals[i];
        if (st->kind != NODE_MAP)
            continue;
        SeedStep *k = &s->seeds[s->n_seeds++];
        k->loc = st->loc;
        const Node *n;
        if ((n = node_get(st, "sql"))) {
            k->kind = SEED_SQL;
            strings_of(n, &k->files);
            k->database = xstr_of(st, "database");
        } else if ((n = node_get(st, "redis"))) {
            k->kind = SEED_REDIS;
            strings_of(n, &k->files);
        } else if ((n = node_get(st, "exec"))) {
            k->kind = SEED_EXEC;
            argv_of(n, &k->argv, &k->shell);
            if (k->shell) {
                strvec_free(&k->argv);
                strvec_push(&k->argv, n->str);
            }
        }
    }
}

static bool is_ip_unspecified(const char *ip)
{
    return streq(ip, "0.0.0.0") || streq(ip, "::") || streq(ip, "[::]");
}

static void read_ports(Builder *b, Service *s, const Node *ports)
{
    if (!ports || ports->kind != NODE_SEQ)
        return;
    s->ports = xcalloc(ports->len ? ports->len : 1, sizeof(*s->ports));
    for (size_t i = 0; i < ports->len; i++) {
        const Node *m = ports->vals[i];
        if (m->kind != NODE_MAP)
            continue;
        PortMapping *pm = &s->ports[s->n_ports++];
        pm->loc = m->loc;
        const char *ip = str_of(m, "host_ip");
        if (ip && ip[0] == '[') /* the engine wants IPv6 without brackets */
            pm->host_ip = xstrndup(ip + 1, strlen(ip) > 2 ? strlen(ip) - 2 : 0);
        else
            pm->host_ip = xstrdup(ip ? ip : b->default_host_ip);
        pm->target = (uint32_t)int_of(m, "target", 0);
        const char *pub = str_of(m, "published");
        if (pub) {
            uint32_t lo, hi;
            if (port_range_valid(pub, &lo, &hi)) {
                pm->published_lo = lo;
                pm->published_hi = hi;
            }
        }
        const char *proto = str_of(m, "protocol");
        pm->protocol = xstrdup(proto ? proto : "tcp");
    }
}

static int cmp_volume(const void *a, const void *b)
{
    return strcmp(((const Volume *)a)->key, ((const Volume *)b)->key);
}

/* Volumes are sorted by key once read (read_volumes). */
static ssize_t volume_index(const Project *p, const char *key)
{
    Volume probe = {.key = (char *)key};
    Volume *v = p->n_volumes ? bsearch(&probe, p->volumes, p->n_volumes, sizeof(Volume), cmp_volume) : NULL;
    return v ? v - p->volumes : -1;
}

static void read_mounts(Builder *b, Service *s, const Node *vols)
{
    if (!vols || vols->kind != NODE_SEQ)
        return;
    s->mounts = xcalloc(vols->len ? vols->len : 1, sizeof(*s->mounts));
    for (size_t i = 0; i < vols->len; i++) {
        const Node *m = vols->vals[i];
        if (m->kind != NODE_MAP)
            continue;
        Mount *mt = &s->mounts[s->n_mounts++];
        mt->loc = m->loc;
        const char *type = str_of(m, "type");
        mt->type = !type || streq(type, "volume") ? VOLUME_VOLUME
                   : streq(type, "bind")           ? VOLUME_BIND
                                                   : VOLUME_TMPFS;
        mt->source = xstr_of(m, "source");
        mt->target = xstr_of(m, "target");
        mt->read_only = bool_of(m, "read_only", false);
        const Node *bind = node_get(m, "bind");
        mt->create_host_path = bool_of(bind, "create_host_path", true);
        mt->nocopy = bool_of(node_get(m, "volume"), "nocopy", false);
        const Node *tmpfs = node_get(m, "tmpfs");
        const char *size = str_of(tmpfs, "size");
        if (size)
            bytes_parse(size, &mt->tmpfs_size);
        if (mt->type == VOLUME_VOLUME && mt->source) {
            if (volume_index(b->p, mt->source) < 0)
                diag_error(b->d, &m->loc,
                           "services.%s.volumes[%zu]: undefined volume \"%s\"; declare it under the top-level volumes key",
                           s->name, i, mt->source);
        }
    }
}

static void read_env(Builder *b, Service *s, Node *svc)
{
    Node *ef = node_get(svc, "env_file");
    if (ef && ef->kind == NODE_SEQ) {
        for (size_t i = 0; i < ef->len; i++) {
            const Node *it = ef->vals[i];
            const Node *pn = node_get(it, "path");
            if (!node_is_scalar(pn))
                continue;
            strvec_push(&s->env_files, pn->str);
            Env fe = {0};
            int r = dotenv_load(pn->str, env_lookup, &b->p->env, &fe, b->d);
            if (r == -ENOENT) {
                if (bool_of(it, "required", true))
                    diag_error(b->d, &pn->loc, "services.%s.env_file: %s: no such file", s->name,
                               pn->str);
            }
            for (size_t k = 0; k < fe.n; k++)
                env_set(&s->environment, fe.keys[k], fe.vals[k]);
            env_free(&fe);
        }
    }
    Node *env = node_get(svc, "environment");
    if (env && env->kind == NODE_MAP)
        for (size_t i = 0; i < env->len; i++) {
            const Node *v = env->vals[i];
            const char *k = env->keys[i]->str;
            if (node_is_scalar(v))
                env_set(&s->environment, k, v->str);
            else if (v->kind == NODE_SCALAR) /* written as "" or empty plain: set and empty */
                env_set(&s->environment, k, v->str ? v->str : "");
            else if (env_get(&b->p->env, k))
                env_set(&s->environment, k, env_get(&b->p->env, k));
            else {
                env_unset(&s->environment, k); /* "KEY" alone and unset in the shell: not passed */
                strvec_push(&s->env_null, k);
            }
        }
    /* The normalized form carries the resolved environment, as Compose prints it. */
    if (s->environment.n || env) {
        Arena *a = b->p->arena;
        Node *m = node_new(a, NODE_MAP, env ? &env->loc : &svc->loc);
        for (size_t k = 0; k < s->environment.n; k++) {
            Node *key = node_scalar(a, s->environment.keys[k], &m->loc);
            key->style = STYLE_PLAIN;
            const Node *orig = env ? node_get(env, s->environment.keys[k]) : NULL;
            Node *val = node_scalar(a, s->environment.vals[k] ? s->environment.vals[k] : "",
                                    orig ? &orig->loc : &m->loc);
            node_map_set_node(a, m, key, val);
        }
        /* A bare KEY the shell does not set is not passed, and Compose
         * prints it as KEY: null. */
        for (size_t i = 0; env && env->kind == NODE_MAP && i < env->len; i++)
            if (!env_get(&s->environment, env->keys[i]->str))
                node_map_set_node(a, m, env->keys[i], node_new(a, NODE_NULL, &env->vals[i]->loc));
        node_map_set(a, svc, "environment", m);
    }
}

static void read_networks(Builder *b, Service *s, Node *svc)
{
    Node *nets = node_get(svc, "networks");
    if (s->network_mode)
        return;
    Arena *a = b->p->arena;
    if (!nets || nets->kind != NODE_MAP || nets->len == 0) {
        nets = node_new(a, NODE_MAP, &svc->loc);
        Node *key = node_scalar(a, "default", &svc->loc);
        key->style = STYLE_PLAIN;
        node_map_set_node(a, nets, key, node_new(a, NODE_NULL, &svc->loc));
        node_map_set(a, svc, "networks", nets);
    }
    s->networks = xcalloc(nets->len, sizeof(*s->networks));
    for (size_t i = 0; i < nets->len; i++) {
        const char *key = nets->keys[i]->str;
        bool found = false;
        for (size_t k = 0; k < b->p->n_networks; k++)
            found |= streq(b->p->networks[k].key, key);
        if (!found) {
            diag_error(b->d, &nets->keys[i]->loc,
                       "services.%s.networks: undefined network \"%s\"; declare it under the top-level networks key",
                       s->name, key);
            continue;
        }
        NetworkAttach *na = &s->networks[s->n_networks++];
        na->name = xstrdup(key);
        strings_of(node_get(nets->vals[i], "aliases"), &na->aliases);
    }
}


/* A key and its deploy.resources twin must agree, as Compose requires
 * ("can't set distinct values"): both reach the engine as one setting. */
static void distinct_resources(Diag *d, const char *name, const Node *svc)
{
    static const char *const pairs[][3] = {
        {"mem_limit", "limits", "memory"},
        {"cpus", "limits", "cpus"},
        {"pids_limit", "limits", "pids"},
        {"mem_reservation", "reservations", "memory"},
    };
    const Node *res = node_get(node_get(svc, "deploy"), "resources");
    for (size_t i = 0; res && i < ARRAY_SIZE(pairs); i++) {
        const Node *a = node_get(svc, pairs[i][0]);
        const Node *b = node_get(node_get(res, pairs[i][1]), pairs[i][2]);
        if (!node_is_scalar(a) || !node_is_scalar(b))
            continue;
        bool same;
        if (streq(pairs[i][2], "memory")) {
            int64_t x, y;
            same = bytes_parse(a->str, &x) == 0 && bytes_parse(b->str, &y) == 0 && x == y;
        } else {
            same = strtod(a->str, NULL) == strtod(b->str, NULL);
        }
        if (!same)
            diag_error(d, &b->loc,
                       "services.%s: can't set distinct values on '%s' and 'deploy.resources.%s.%s' (%s and %s)",
                       name, pairs[i][0], pairs[i][1], pairs[i][2], a->str, b->str);
    }
}

/* The container keys a host process has no use for: listed with the keys
 * tend accepts but does not act on, for this service. */
static void host_ignores(Project *p, const char *name, const Node *svc)
{
    static const char *const keys[] = {
        "blkio_config", "cap_add", "cap_drop", "cgroup", "cgroup_parent", "configs", "cpu_count", "cpu_shares",
        "cpu_quota", "cpu_period", "cpu_rt_period", "cpu_rt_runtime", "cpuset", "deploy", "device_cgroup_rules",
        "devices", "dns", "dns_opt", "dns_search", "domainname", "external_links", "group_add", "ipc",
        "isolation", "links", "logging", "mac_address", "mem_reservation", "mem_swappiness", "memswap_limit",
        "oom_kill_disable", "oom_score_adj", "pid", "pids_limit", "privileged", "runtime", "secrets",
        "security_opt", "storage_opt", "sysctls", "userns_mode", "uts", "volumes_from",
    };
    for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
        if (node_get(svc, keys[i]))
            strvec_push_take(&p->ignored, xasprintf("services.%s.%s", name, keys[i]));
}

static Service *read_service(Builder *b, const char *name, Node *svc)
{
    Service *s = xcalloc(1, sizeof(*s));
    s->name = xstrdup(name);
    s->node = svc;
    s->loc = svc->loc;
    Diag *d = b->d;

    const Node *x = node_get(svc, "x-tend");
    s->image = xstr_of(svc, "image");
    const Node *bn = node_get(svc, "build");
    if (bn && bn->kind == NODE_MAP) {
        s->build = xcalloc(1, sizeof(*s->build));
        s->build->context = xstr_of(bn, "context");
        s->build->dockerfile = xstr_of(bn, "dockerfile");
        s->build->target = xstr_of(bn, "target");
        env_of(node_get(bn, "args"), &s->build->args);
    }
    s->pull_policy = xstr_of(svc, "pull_policy");
    const Node *cmd = node_get(svc, "command");
    if (cmd && !node_is_null(cmd)) {
        s->has_command = true;
        argv_of(cmd, &s->command, &s->shell);
        if (s->shell)
            s->command_string = xstrdup(cmd->str);
    }
    const Node *ep = node_get(svc, "entrypoint");
    if (ep && !node_is_null(ep)) {
        s->has_entrypoint = true;
        argv_of(ep, &s->entrypoint, NULL);
    }

    const char *rt = str_of(x, "runtime");
    if (rt && streq(rt, "host")) {
        s->runtime = RUNTIME_HOST;
    } else if (rt && streq(rt, "docker")) {
        s->runtime = RUNTIME_DOCKER;
        if (!s->image && !s->build)
            diag_error(d, &node_get(x, "runtime")->loc,
                       "services.%s: runtime docker needs an image or a build", name);
    } else if (s->image || s->build) {
        s->runtime = RUNTIME_DOCKER;
    } else if (s->has_command) {
        s->runtime = RUNTIME_HOST;
    } else {
        diag_error(d, &svc->loc,
                   "services.%s: nothing to run: set image or build for a container, or command for a host process",
                   name);
    }
    if (s->runtime == RUNTIME_HOST && !s->has_command && !s->has_entrypoint)
        diag_error(d, &svc->loc, "services.%s: a host service needs a command", name);
    if (s->runtime == RUNTIME_HOST)
        host_ignores(b->p, name, svc);

    read_env(b, s, svc);
    read_ports(b, s, node_get(svc, "ports"));
    read_mounts(b, s, node_get(svc, "volumes"));
    strings_of(node_get(svc, "expose"), &s->expose);
    read_healthcheck(s, node_get(svc, "healthcheck"));
    read_probe(s, node_get(x, "probe"));
    strings_of(node_get(svc, "profiles"), &s->profiles);

    const Node *rn = node_get(svc, "restart");
    if (rn && restart_parse(node_is_scalar(rn) ? rn->str : NULL, &s->restart, &s->restart_max) < 0)
        diag_error(d, &rn->loc, "services.%s.restart: invalid restart policy \"%s\"", name,
                   rn->str ? rn->str : "");

    s->user = xstr_of(svc, "user");
    s->working_dir = xstr_of(svc, "working_dir");
    s->hostname = xstr_of(svc, "hostname");
    s->network_mode = xstr_of(svc, "network_mode");
    s->container_name = xstr_of(svc, "container_name");
    env_of(node_get(svc, "labels"), &s->labels);
    read_networks(b, s, svc);

    s->stop_signal = SIGTERM;
    const Node *ss = node_get(svc, "stop_signal");
    if (node_is_scalar(ss)) {
        int sig = signal_from_string(ss->str);
        if (sig < 0)
            diag_error(d, &ss->loc, "services.%s.stop_signal: unknown signal \"%s\"", name, ss->str);
        else
            s->stop_signal = sig;
    }
    s->stop_grace_period = duration_of(svc, "stop_grace_period", 10LL * 1000000000);
    const Node *in = node_get(svc, "init");
    bool bv;
    s->init = node_is_scalar(in) && node_as_bool(in, &bv) == 0 ? bv : -1;
    s->tty = bool_of(svc, "tty", false);
    s->stdin_open = bool_of(svc, "stdin_open", false);
    s->read_only = bool_of(svc, "read_only", false);
    strings_of(node_get(svc, "tmpfs"), &s->tmpfs);
    const Node *eh = node_get(svc, "extra_hosts"); /* "host=ip" items (canon) */
    if (eh && eh->kind == NODE_SEQ)
        for (size_t i = 0; i < eh->len; i++) {
            const Node *it = eh->vals[i];
            if (!node_is_scalar(it))
                continue;
            size_t k = strcspn(it->str, "=");
            strvec_push_take(&s->extra_hosts, xasprintf("%.*s:%s", (int)k, it->str,
                                                        it->str[k] ? it->str + k + 1 : ""));
        }
    distinct_resources(d, name, svc);
    const char *ml = str_of(svc, "mem_limit");
    if (ml)
        bytes_parse(ml, &s->mem_limit);
    const char *cpus = str_of(svc, "cpus");
    if (cpus)
        s->cpus = strtod(cpus, NULL);
    const Node *ul = node_get(svc, "ulimits");
    if (ul && ul->kind == NODE_MAP) {
        s->ulimits = xcalloc(ul->len ? ul->len : 1, sizeof(*s->ulimits));
        for (size_t i = 0; i < ul->len; i++) {
            Ulimit *u = &s->ulimits[s->n_ulimits++];
            u->name = xstrdup(ul->keys[i]->str);
            long long one;
            if (node_as_int(ul->vals[i], &one) == 0) { /* "nofile: 1024": soft and hard */
                u->soft = u->hard = one;
                continue;
            }
            u->soft = int_of(ul->vals[i], "soft", 0);
            u->hard = int_of(ul->vals[i], "hard", u->soft);
        }
    }

    /* Watching: Compose's develop.watch, then x-tend's extras. */
    const Node *dev = node_get(svc, "develop");
    const Node *dw = node_get(dev, "watch");
    if (dw && dw->kind == NODE_SEQ)
        for (size_t i = 0; i < dw->len; i++)
            read_watch_rule(b, s, dw->vals[i], "develop.watch", i);
    const Node *xw = node_get(x, "watch");
    WatchOptions *wo = &s->watch_opts;
    wo->enabled = bool_of(xw, "enabled", false);
    wo->bind_mounts = bool_of(xw, "bind_mounts", true);
    const char *wa = str_of(xw, "action");
    wo->action = wa && streq(wa, "signal") ? WATCH_SIGNAL : WATCH_RESTART;
    const char *wsig = str_of(xw, "signal");
    wo->signal = wsig && signal_from_string(wsig) > 0 ? signal_from_string(wsig) : SIGHUP;
    wo->debounce = duration_of(xw, "debounce", duration_of(node_get(node_get(b->p->tree, "x-tend"), "watch"),
                                                          "debounce", 100LL * 1000000));
    strings_of(node_get(xw, "ignore"), &wo->ignore);
    const Node *xr = node_get(xw, "rules");
    if (xr && xr->kind == NODE_SEQ)
        for (size_t i = 0; i < xr->len; i++)
            read_watch_rule(b, s, xr->vals[i], "x-tend.watch.rules", i);

    read_seeds(s, node_get(x, "seed"));
    return s;
}

/* ---- volumes and networks ---- */

static void read_volumes(Builder *b)
{
    Project *p = b->p;
    Node *vols = node_get(p->tree, "volumes");
    if (!vols || vols->kind != NODE_MAP)
        return;
    p->volumes = xcalloc(vols->len ? vols->len : 1, sizeof(*p->volumes));
    for (size_t i = 0; i < vols->len; i++) {
        Node *v = vols->vals[i];
        Volume *vo = &p->volumes[p->n_volumes++];
        vo->key = xstrdup(vols->keys[i]->str);
        const Node *ext = node_get(v, "external");
        bool external = false;
        if (ext && ext->kind == NODE_MAP) {
            external = true;
            if (str_of(ext, "name") && !str_of(v, "name"))
                node_map_set(p->arena, v, "name", node_scalar(p->arena, str_of(ext, "name"), &ext->loc));
        } else {
            external = bool_of(v, "external", false);
        }
        vo->external = external;
        const char *name = str_of(v, "name");
        vo->name = name ? xstrdup(name) : external ? xstrdup(vo->key) : xasprintf("%s_%s", p->name, vo->key);
        vo->driver = xstr_of(v, "driver");
        env_of(node_get(v, "labels"), &vo->labels);
        if (v->kind == NODE_MAP && !name)
            node_map_set(p->arena, v, "name", node_scalar(p->arena, vo->name, &v->loc));
    }
    qsort(p->volumes, p->n_volumes, sizeof(Volume), cmp_volume);
}

static void read_networks_top(Builder *b, bool need_default)
{
    Project *p = b->p;
    Arena *a = p->arena;
    Node *nets = node_get(p->tree, "networks");
    if (need_default && !node_get(nets, "default")) {
        if (!nets || nets->kind != NODE_MAP) {
            nets = node_new(a, NODE_MAP, &p->tree->loc);
            node_map_set(a, p->tree, "networks", nets);
        }
        node_map_set(a, nets, "default", node_new(a, NODE_MAP, &p->tree->loc));
    }
    if (!nets || nets->kind != NODE_MAP)
        return;
    p->networks = xcalloc(nets->len ? nets->len : 1, sizeof(*p->networks));
    for (size_t i = 0; i < nets->len; i++) {
        Node *v = nets->vals[i];
        if (v->kind != NODE_MAP) {
            v = node_new(a, NODE_MAP, &nets->keys[i]->loc);
            nets->vals[i] = v;
        }
        Network *nw = &p->networks[p->n_networks++];
        nw->key = xstrdup(nets->keys[i]->str);
        const Node *ext = node_get(v, "external");
        bool external = false;
        if (ext && ext->kind == NODE_MAP) {
            external = true;
            if (str_of(ext, "name") && !str_of(v, "name"))
                node_map_set(a, v, "name", node_scalar(a, str_of(ext, "name"), &ext->loc));
        } else {
            external = bool_of(v, "external", false);
        }
        nw->external = external;
        const char *name = str_of(v, "name");
        nw->name = name ? xstrdup(name) : external ? xstrdup(nw->key) : xasprintf("%s_%s", p->name, nw->key);
        nw->driver = xstr_of(v, "driver");
        nw->internal = bool_of(v, "internal", false);
        env_of(node_get(v, "labels"), &nw->labels);
        if (!name)
            node_map_set(a, v, "name", node_scalar(a, nw->name, &v->loc));
    }
}

/* ---- the whole project ---- */

static bool profile_active(const StrVec *svc_profiles, const StrVec *active)
{
    if (svc_profiles->n == 0)
        return true;
    if (!active)
        return false;
    if (strvec_contains(active, "*"))
        return true;
    for (size_t i = 0; i < svc_profiles->n; i++)
        if (strvec_contains(active, svc_profiles->v[i]))
            return true;
    return false;
}

static const char *suggest(const char *word, Node *services)
{
    const char *best = NULL;
    size_t best_d = (size_t)-1;
    size_t limit = strlen(word) / 3 + 1;
    for (size_t i = 0; i < services->len; i++) {
        size_t dd = edit_distance(word, services->keys[i]->str);
        if (dd <= limit && dd < best_d) {
            best_d = dd;
            best = services->keys[i]->str;
        }
    }
    return best;
}

static int cmp_key(const void *a, const void *b)
{
    const Node *const *x = a, *const *y = b; /* first of a (key, value) pair */
    return strcmp((*x)->str, (*y)->str);
}

static bool ranges_overlap(const PortMapping *a, const PortMapping *b)
{
    if (!a->published_lo || !b->published_lo || !streq(a->protocol, b->protocol))
        return false;
    if (!streq(a->host_ip, b->host_ip) && !is_ip_unspecified(a->host_ip) && !is_ip_unspecified(b->host_ip))
        return false;
    return a->published_lo <= b->published_hi && b->published_lo <= a->published_hi;
}

typedef struct PortRef {
    const Service *s;
    size_t k;
} PortRef;

static int cmp_portref(const void *a, const void *b)
{
    const PortRef *x = a, *y = b;
    uint32_t px = x->s->ports[x->k].published_lo, py = y->s->ports[y->k].published_lo;
    if (px != py)
        return px < py ? -1 : 1;
    /* Then in file order (services are sorted by name, ports by position),
     * so the later one is reported. */
    if (x->s->index != y->s->index)
        return x->s->index < y->s->index ? -1 : 1;
    return x->k < y->k ? -1 : x->k > y->k;
}

/* Fixed host ports published twice. A host range with one container port
 * picks a free port in the range, so only fixed ports can clash. Sorted by
 * port, clashes sit next to each other: O(n log n) for big files. */
static void check_ports(Builder *b)
{
    Project *p = b->p;
    size_t n = 0;
    for (size_t i = 0; i < p->n_services; i++)
        n += p->services[i]->n_ports;
    PortRef *refs = xcalloc(n ? n : 1, sizeof(*refs));
    size_t k = 0;
    for (size_t i = 0; i < p->n_services; i++)
        for (size_t j = 0; j < p->services[i]->n_ports; j++) {
            const PortMapping *pm = &p->services[i]->ports[j];
            if (pm->published_lo && pm->published_lo == pm->published_hi)
                refs[k++] = (PortRef){p->services[i], j};
        }
    qsort(refs, k, sizeof(*refs), cmp_portref);
    for (size_t i = 1; i < k; i++) {
        const PortMapping *pm = &refs[i].s->ports[refs[i].k];
        for (size_t j = i; j-- > 0;) {
            const PortMapping *om = &refs[j].s->ports[refs[j].k];
            if (om->published_lo != pm->published_lo)
                break;
            if (!ranges_overlap(pm, om))
                continue;
            const Loc *ol = &om->loc;
            diag_error(b->d, &pm->loc,
                       "services.%s.ports[%zu]: host port %s:%u/%s is already published by service \"%s\" (%s:%d:%d)",
                       refs[i].s->name, refs[i].k, pm->host_ip, pm->published_lo, pm->protocol, refs[j].s->name,
                       ol->file ? ol->file : "?", ol->line, ol->col);
            break;
        }
    }
    free(refs);
}

/* The services map is sorted by name once read: look names up by bisection
 * (a 500-service file has thousands of dependency lookups). */
static ssize_t sorted_index(const Node *map, const char *name)
{
    size_t lo = 0, hi = map->len;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(map->keys[mid]->str, name);
        if (c == 0)
            return (ssize_t)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

static void svc_profiles(const Node *svc, StrVec *out)
{
    strings_of(node_get(svc, "profiles"), out);
}

size_t model_build(Project *p, const ModelOptions *o, Diag *d)
{
    size_t errors0 = d->errors;
    Builder b = {.p = p, .d = d, .default_host_ip = "127.0.0.1"};
    Arena *a = p->arena;
    Node *xt = node_get(p->tree, "x-tend");
    if (str_of(xt, "default_host_ip"))
        b.default_host_ip = str_of(xt, "default_host_ip");

    /* Compose's normalized form starts with the project name. */
    node_map_remove(p->tree, "name");
    node_map_remove(p->tree, "version"); /* obsolete; Compose drops it too */
    Node *root = node_new(a, NODE_MAP, &p->tree->loc);
    node_map_set(a, root, "name", node_scalar(a, p->name, &p->tree->loc));
    for (size_t i = 0; i < p->tree->len; i++)
        node_map_set_node(a, root, p->tree->keys[i], p->tree->vals[i]);
    p->tree = root;

    Node *all = node_get(root, "services");
    if (!all || all->kind != NODE_MAP) {
        all = node_new(a, NODE_MAP, &root->loc);
        node_map_set(a, root, "services", all);
    }
    /* Sorted by name: stable output and stable indexes. */
    size_t n = all->len;
    Node **pairs = xcalloc(n ? n : 1, sizeof(Node *) * 2);
    for (size_t i = 0; i < n; i++) {
        pairs[2 * i] = all->keys[i];
        pairs[2 * i + 1] = all->vals[i];
    }
    qsort(pairs, n, sizeof(Node *) * 2, cmp_key);
    for (size_t i = 0; i < n; i++) {
        all->keys[i] = pairs[2 * i];
        all->vals[i] = pairs[2 * i + 1];
        if (all->vals[i]->kind != NODE_MAP)
            all->vals[i] = node_new(a, NODE_MAP, &all->keys[i]->loc);
    }
    free(pairs);

    /* Which services are enabled: by profile, or the named ones and what they need. */
    const char **names = xcalloc(n ? n : 1, sizeof(char *));
    for (size_t i = 0; i < n; i++)
        names[i] = all->keys[i]->str;
    Graph *g = graph_new(n, names);
    for (size_t i = 0; i < n; i++) {
        Node *deps = node_get(all->vals[i], "depends_on");
        if (!deps || deps->kind != NODE_MAP)
            continue;
        for (size_t k = 0; k < deps->len; k++) {
            ssize_t j = sorted_index(all, deps->keys[k]->str);
            if (j >= 0)
                graph_add_edge(g, i, (size_t)j);
        }
    }
    bool *enabled = xcalloc(n ? n : 1, sizeof(bool));
    for (size_t i = 0; i < n; i++) {
        StrVec pr = {0};
        svc_profiles(all->vals[i], &pr);
        for (size_t k = 0; k < pr.n; k++)
            if (!strvec_contains(&p->profiles_all, pr.v[k]))
                strvec_push(&p->profiles_all, pr.v[k]);
        if (!o->services || o->services->n == 0)
            enabled[i] = o->all_profiles || profile_active(&pr, o->profiles);
        strvec_free(&pr);
    }
    strvec_sort(&p->profiles_all);
    if (o->services && o->services->n > 0) {
        size_t *roots = xcalloc(o->services->n, sizeof(size_t));
        size_t nr = 0;
        for (size_t i = 0; i < o->services->n; i++) {
            ssize_t j = sorted_index(all, o->services->v[i]);
            if (j < 0) {
                const char *sug = suggest(o->services->v[i], all);
                if (sug)
                    diag_error(d, NULL, "no such service: \"%s\"; did you mean \"%s\"?", o->services->v[i], sug);
                else
                    diag_error(d, NULL, "no such service: \"%s\"", o->services->v[i]);
                continue;
            }
            roots[nr++] = (size_t)j;
        }
        graph_closure(g, roots, nr, enabled);
        free(roots);
    }
    graph_free(g);

    /* Dependencies of enabled services must exist and be enabled. */
    for (size_t i = 0; i < n; i++) {
        if (!enabled[i])
            continue;
        const char *sname = all->keys[i]->str;
        Node *deps = node_get(all->vals[i], "depends_on");
        if (!deps || deps->kind != NODE_MAP)
            continue;
        for (size_t k = 0; k < deps->len; k++) {
            const char *dn = deps->keys[k]->str;
            ssize_t j = sorted_index(all, dn);
            bool required = bool_of(deps->vals[k], "required", true);
            if (j < 0) {
                const char *sug = suggest(dn, all);
                if (!required)
                    diag_warning(d, &deps->keys[k]->loc,
                                 "services.%s.depends_on: unknown service \"%s\" (not required, ignored)", sname, dn);
                else if (sug)
                    diag_error(d, &deps->keys[k]->loc,
                               "services.%s.depends_on: unknown service \"%s\"; did you mean \"%s\"?", sname, dn, sug);
                else
                    diag_error(d, &deps->keys[k]->loc, "services.%s.depends_on: unknown service \"%s\"", sname, dn);
            } else if (!enabled[j]) {
                StrVec pr = {0};
                svc_profiles(all->vals[j], &pr);
                _cleanup_free_ char *plist = NULL;
                StrBuf sb;
                strbuf_init(&sb, 0);
                for (size_t q = 0; q < pr.n; q++)
                    strbuf_printf(&sb, "%s%s", q ? ", " : "", pr.v[q]);
                plist = strbuf_steal(&sb);
                strvec_free(&pr);
                if (required)
                    diag_error(d, &deps->keys[k]->loc,
                               "services.%s.depends_on: service \"%s\" is not enabled: its profiles (%s) are not active; use --profile",
                               sname, dn, plist);
                else
                    diag_warning(d, &deps->keys[k]->loc,
                                 "services.%s.depends_on: service \"%s\" is not enabled (profiles %s); not required, ignored",
                                 sname, dn, plist);
            }
        }
    }

    /* The output holds the enabled services only. */
    Node *kept = node_new(a, NODE_MAP, &all->loc);
    bool need_default = false;
    for (size_t i = 0; i < n; i++) {
        if (!enabled[i]) {
            strvec_push(&p->disabled, all->keys[i]->str);
            continue;
        }
        node_map_set_node(a, kept, all->keys[i], all->vals[i]);
        Node *nets = node_get(all->vals[i], "networks");
        if (!str_of(all->vals[i], "network_mode") &&
            (!nets || nets->kind != NODE_MAP || nets->len == 0 || node_get_key(nets, "default")))
            need_default = true;
    }
    node_map_set(a, root, "services", kept);
    free(enabled);
    free(names);

    read_volumes(&b);
    read_networks_top(&b, need_default);

    p->n_services = kept->len;
    p->services = xcalloc(kept->len ? kept->len : 1, sizeof(Service *));
    for (size_t i = 0; i < kept->len; i++) {
        p->services[i] = read_service(&b, kept->keys[i]->str, kept->vals[i]);
        p->services[i]->index = i;
        p->services[i]->loc = kept->keys[i]->loc;
    }

    /* Resolved dependencies, by index. */
    for (size_t i = 0; i < p->n_services; i++) {
        Service *s = p->services[i];
        Node *deps = node_get(kept->vals[i], "depends_on");
        if (!deps || deps->kind != NODE_MAP)
            continue;
        s->deps = xcalloc(deps->len ? deps->len : 1, sizeof(*s->deps));
        for (size_t k = 0; k < deps->len; k++) {
            ssize_t j = sorted_index(kept, deps->keys[k]->str);
            if (j < 0)
                continue; /* reported above, or not required */
            Dependency *dp = &s->deps[s->n_deps++];
            dp->service = xstrdup(deps->keys[k]->str);
            dp->index = (size_t)j;
            dp->loc = deps->keys[k]->loc;
            const char *c = str_of(deps->vals[k], "condition");
            dp->condition = DEP_STARTED;
            for (int q = 0; q < _DEP_MAX; q++)
                if (c && streq(c, dep_condition_to_string((DepCondition)q)))
                    dp->condition = (DepCondition)q;
            dp->required = bool_of(deps->vals[k], "required", true);
            dp->restart = bool_of(deps->vals[k], "restart", false);
        }
    }

    /* Cycles. */
    const char **knames = xcalloc(p->n_services ? p->n_services : 1, sizeof(char *));
    for (size_t i = 0; i < p->n_services; i++)
        knames[i] = p->services[i]->name;
    Graph *kg = graph_new(p->n_services, knames);
    for (size_t i = 0; i < p->n_services; i++)
        for (size_t k = 0; k < p->services[i]->n_deps; k++)
            graph_add_edge(kg, i, p->services[i]->deps[k].index);
    size_t *cyc = NULL, ncyc = 0;
    if (graph_find_cycle(kg, &cyc, &ncyc) > 0 && ncyc >= 2) {
        StrBuf sb;
        strbuf_init(&sb, 0);
        for (size_t i = 0; i < ncyc; i++)
            strbuf_printf(&sb, "%s%s", i ? " -> " : "", knames[cyc[i]]);
        Service *first = p->services[cyc[0]];
        const Loc *loc = &first->loc;
        for (size_t k = 0; k < first->n_deps; k++)
            if (first->deps[k].index == cyc[1])
                loc = &first->deps[k].loc;
        diag_error(d, loc, "services.%s.depends_on: dependency cycle: %s", first->name, sb.data);
        strbuf_free(&sb);
    }
    free(cyc);
    graph_free(kg);
    free(knames);

    check_ports(&b);
    return d->errors - errors0;
}
