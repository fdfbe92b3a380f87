/* workload: the pod of a service and the Jobs of its seeds. The container
 * gets the image (with the registry prefix for images built locally), the
 * command, the variables (a ConfigMap, and a Secret for those that look
 * secret: env_file entries, *_PASSWORD-like names, URLs with a password),
 * probes with the timings tend uses, resources, mounts and a security
 * context. depends_on turns into init containers: a TCP wait on the
 * dependency's Service (which has endpoints only once it is ready), a
 * `kubectl wait` for a Job to complete or for pods to be ready. */
#include "kube/workload.h"

#include "load/dotenv.h"
#include "load/parse.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- image ---- */

/* Locally built images get the registry prefix, unless their name already
 * says where they live (a host with a dot or a port, or localhost). */
static const char *image_of(Builder *b, const Service *s, bool *local)
{
    KubeSet *k = b->k;
    *local = s->build != NULL;
    const char *img = s->image ? s->image : arena_printf(k->a, "%s-%s", b->p->name, s->name);
    if (!*local || !b->registry || !*b->registry)
        return img;
    const char *slash = strchr(img, '/');
    if (slash) {
        _cleanup_free_ char *first = xstrndup(img, (size_t)(slash - img));
        if (strchr(first, '.') || strchr(first, ':') || streq(first, "localhost"))
            return img;
    }
    size_t rl = strlen(b->registry);
    return arena_printf(k->a, "%.*s/%s", (int)(b->registry[rl - 1] == '/' ? rl - 1 : rl), b->registry, img);
}

/* ---- variables ---- */

static bool secret_name(const char *key)
{
    char up[256];
    size_t n = 0;
    for (; key[n] && n < sizeof up - 1; n++)
        up[n] = (char)toupper((unsigned char)key[n]);
    up[n] = '\0';
    static const char *const words[] = {"PASSWORD", "PASSWD", "SECRET", "TOKEN", "CREDENTIAL", "PRIVATE",
                                        "API_KEY", "APIKEY", "ACCESS_KEY"};
    if (str_endswith(up, "_FILE")) /* a path to the secret, as POSTGRES_PASSWORD_FILE */
        return false;
    for (size_t i = 0; i < ARRAY_SIZE(words); i++)
        if (strstr(up, words[i]))
            return true;
    return str_endswith(up, "_KEY") || str_endswith(up, "_PASS") || str_endswith(up, "_PWD");
}

/* scheme://user:password@host */
static bool url_with_password(const char *v)
{
    const char *p = strstr(v, "://");
    if (!p)
        return false;
    p += 3;
    const char *at = strchr(p, '@');
    if (!at)
        return false;
    const char *colon = memchr(p, ':', (size_t)(at - p));
    return colon && !memchr(p, '/', (size_t)(at - p)) && colon + 1 < at;
}

/* The service's variables, split into its ConfigMap and Secret (both
 * named SERVICE-env), referenced with envFrom. */
static void add_env(Builder *b, size_t i, Node *c)
{
    const Service *s = b->p->services[i];
    const char *name = b->info[i].name;
    KubeSet *k = b->k;
    Env from_files = {0};
    Diag scratch = {0};
    for (size_t f = 0; f < s->env_files.n; f++)
        dotenv_load(s->env_files.v[f], env_lookup, (void *)&b->p->env, &from_files, &scratch);
    diag_free(&scratch);
    KGen *cm = NULL, *sec = NULL;
    const char *gname = arena_printf(k->a, "%s-env", name);
    for (size_t v = 0; v < s->environment.n; v++) {
        const char *key = s->environment.keys[v], *val = s->environment.vals[v];
        if (!val)
            continue;
        bool secret = secret_name(key) || url_with_password(val) ||
                      (env_has(&from_files, key) && strnull_eq(env_get(&from_files, key), val));
        bool valid = *key != '\0';
        for (const char *q = key; *q; q++)
            valid &= isalnum((unsigned char)*q) || *q == '_' || *q == '-' || *q == '.';
        if (!valid) {
            const Node *env = node_get(s->node, "environment");
            build_drop(b, s, env, "the variable \"%s\" (not a valid ConfigMap or Secret key)", key);
            continue;
        }
        KGen **g = secret ? &sec : &cm;
        if (!*g)
            *g = kgen_add(k, secret, !secret, gname, name);
        kgen_put(k, *g, key, val, strlen(val));
    }
    env_free(&from_files);
    if (!cm && !sec)
        return;
    Node *ef = kseq_at(k, c, "envFrom");
    if (cm)
        kset(k, kmap_at(k, kpush(k, ef, kmap(k)), "configMapRef"), "name", kstr(k, gname));
    if (sec)
        kset(k, kmap_at(k, kpush(k, ef, kmap(k)), "secretRef"), "name", kstr(k, gname));
}

/* ---- probes ---- */

typedef struct Timing {
    int64_t interval, timeout, start_period, start_interval;
    int retries;
} Timing;

/* tend's defaults: native probes 10 s / 5 s, healthchecks Compose's 30 s /
 * 30 s; three retries; a 100 ms start interval (a second, the least a
 * Kubernetes probe period can be). */
static Timing timing_of(bool native, int64_t interval, int64_t timeout, int64_t start_period,
                        int64_t start_interval, int retries)
{
    Timing t = {native ? 10000000000LL : 30000000000LL, native ? 5000000000LL : 30000000000LL, 0,
                100000000LL, 3};
    if (interval > 0)
        t.interval = interval;
    if (timeout > 0)
        t.timeout = timeout;
    if (start_period > 0)
        t.start_period = start_period;
    if (start_interval > 0)
        t.start_interval = start_interval;
    if (retries > 0)
        t.retries = retries;
    return t;
}

static long long seconds_up(int64_t ns)
{
    long long s = (long long)((ns + 999999999LL) / 1000000000LL);
    return s < 1 ? 1 : s;
}

typedef enum { P_STARTUP, P_READINESS, P_LIVENESS } ProbeUse;

/* A probe: handler and the timings. Readiness and liveness probe every
 * interval and give up after retries failures; the startup probe probes
 * every start_interval for the budget tend gives a start,
 * start_period + retries x interval. */
static Node *probe_of(Builder *b, const Node *handler, const Timing *t, ProbeUse use)
{
    KubeSet *k = b->k;
    Node *p = node_copy(k->a, handler);
    if (use == P_STARTUP) {
        long long period = seconds_up(t->start_interval);
        long long budget = seconds_up(t->start_period + (int64_t)t->retries * t->interval);
        kset(k, p, "periodSeconds", kint(k, period));
        kset(k, p, "timeoutSeconds", kint(k, seconds_up(t->timeout)));
        kset(k, p, "failureThreshold", kint(k, (budget + period - 1) / period));
    } else {
        kset(k, p, "periodSeconds", kint(k, seconds_up(t->interval)));
        kset(k, p, "timeoutSeconds", kint(k, seconds_up(t->timeout)));
        kset(k, p, "failureThreshold", kint(k, t->retries));
    }
    return p;
}

static Node *exec_handler(Builder *b, const StrVec *argv)
{
    Node *h = kmap(b->k);
    kset(b->k, kmap_at(b->k, h, "exec"), "command", kstrv(b->k, argv));
    return h;
}

static Node *tcp_handler(Builder *b, int port)
{
    Node *h = kmap(b->k);
    kset(b->k, kmap_at(b->k, h, "tcpSocket"), "port", kint(b->k, port));
    return h;
}

/* Readiness, startup and (when the service is restarted) liveness probes.
 * A native probe is preferred; a log probe has no equivalent, so the
 * healthcheck stands in for it when there is one. Postgres and Redis are
 * checked with their own clients (pg_isready, redis-cli ping) for
 * readiness, and kept alive on their TCP port, so that a long recovery or
 * a Redis LOADING a large file is not killed. */
static void add_probes(Builder *b, const Service *s, Node *c)
{
    KubeSet *k = b->k;
    const Probe *pr = &s->probe;
    const Healthcheck *hc = &s->healthcheck;
    Node *ready = NULL, *alive = NULL;
    Timing t;
    StrVec argv = {0};
    char buf[32];
    if (pr->kind != PROBE_NONE && pr->kind != PROBE_LOG) {
        t = timing_of(true, pr->interval, pr->timeout, pr->start_period, pr->start_interval, pr->retries);
        int port = build_probe_port(s);
        switch (pr->kind) {
        case PROBE_POSTGRES:
            strvec_push(&argv, "pg_isready");
            strvec_push(&argv, "-q");
            strvec_push(&argv, "-h");
            strvec_push(&argv, "127.0.0.1");
            strvec_push(&argv, "-p");
            snprintf(buf, sizeof buf, "%d", port);
            strvec_push(&argv, buf);
            if (pr->user) {
                strvec_push(&argv, "-U");
                strvec_push(&argv, pr->user);
            }
            if (pr->dbname) {
                strvec_push(&argv, "-d");
                strvec_push(&argv, pr->dbname);
            }
            ready = exec_handler(b, &argv);
            alive = tcp_handler(b, port);
            break;
        case PROBE_REDIS:
            strvec_push(&argv, "redis-cli");
            strvec_push(&argv, "-p");
            snprintf(buf, sizeof buf, "%d", port);
            strvec_push(&argv, buf);
            strvec_push(&argv, "ping");
            ready = exec_handler(b, &argv);
            alive = tcp_handler(b, port);
            break;
        case PROBE_TCP:
            ready = alive = tcp_handler(b, port);
            break;
        case PROBE_HTTP: {
            UrlParts u;
            build_url(pr->url, &u);
            ready = alive = kmap(k);
            Node *g = kmap_at(k, ready, "httpGet");
            kset(k, g, "path", kstr(k, u.path));
            kset(k, g, "port", kint(k, port));
            if (streq(u.scheme, "HTTPS"))
                kset(k, g, "scheme", kstr(k, u.scheme));
            if (pr->status && (pr->status < 200 || pr->status > 399))
                build_drop(b, s, node_get(node_get(s->node, "x-tend"), "probe"),
                           "an HTTP probe expecting status %d (Kubernetes counts 200-399 as success)", pr->status);
            break;
        }
        case PROBE_EXEC:
            ready = alive = exec_handler(b, &pr->argv);
            break;
        default:
            break;
        }
    } else if (hc->present && !hc->disabled && hc->test.n >= 2) {
        t = timing_of(false, hc->interval, hc->timeout, hc->start_period, hc->start_interval, hc->retries);
        if (streq(hc->test.v[0], "CMD-SHELL")) {
            strvec_push(&argv, "/bin/sh");
            strvec_push(&argv, "-c");
            strvec_push(&argv, hc->test.v[1]);
        } else
            for (size_t i = 1; i < hc->test.n; i++)
                strvec_push(&argv, hc->test.v[i]);
        ready = alive = exec_handler(b, &argv);
    }
    strvec_free(&argv);
    if (pr->kind == PROBE_LOG && !ready)
        build_drop(b, s, node_get(node_get(s->node, "x-tend"), "probe"),
                   "a log probe (with no healthcheck to stand in, the pod is ready once it runs)");
    if (!ready)
        return;
    kset(k, c, "startupProbe", probe_of(b, ready, &t, P_STARTUP));
    kset(k, c, "readinessProbe", probe_of(b, ready, &t, P_READINESS));
    if (s->restart != RESTART_NO)
        kset(k, c, "livenessProbe", probe_of(b, alive, &t, P_LIVENESS));
}

/* ---- resources ---- */

static const char *cpu_quantity(KubeSet *k, double cpus)
{
    long long milli = llround(cpus * 1000);
    return milli % 1000 == 0 ? arena_printf(k->a, "%lld", milli / 1000) : arena_printf(k->a, "%lldm", milli);
}

static const char *mem_quantity(KubeSet *k, int64_t bytes)
{
    static const char *const units[] = {"Gi", "Mi", "Ki"};
    static const int64_t sizes[] = {1LL << 30, 1LL << 20, 1LL << 10};
    for (size_t i = 0; i < 3; i++)
        if (bytes % sizes[i] == 0)
            return arena_printf(k->a, "%lld%s", (long long)(bytes / sizes[i]), units[i]);
    return arena_printf(k->a, "%lld", (long long)bytes);
}

/* deploy.resources.limits / reservations (cpus, memory) to limits and
 * requests; mem_limit and cpus count as limits when deploy says nothing. */
static void add_resources(Builder *b, const Service *s, Node *c)
{
    KubeSet *k = b->k;
    const Node *res = node_get(node_get(s->node, "deploy"), "resources");
    Node *out = kmap(k);
    static const char *const from[] = {"limits", "reservations"}, *const to[] = {"limits", "requests"};
    for (size_t i = 0; i < 2; i++) {
        const Node *r = node_get(res, from[i]);
        if (!r || r->kind != NODE_MAP)
            continue;
        Node *q = kmap(k);
        for (size_t e = 0; e < r->len; e++) {
            const char *key = r->keys[e]->str;
            const Node *v = r->vals[e];
            int64_t bytes;
            if (streq(key, "cpus") && node_is_scalar(v) && strtod(v->str, NULL) > 0)
                kset(k, q, "cpu", kstr(k, cpu_quantity(k, strtod(v->str, NULL))));
            else if (streq(key, "memory") && node_is_scalar(v) && bytes_parse(v->str, &bytes) == 0)
                kset(k, q, "memory", kstr(k, mem_quantity(k, bytes)));
            else
                build_drop(b, s, r->keys[e], "deploy.resources.%s.%s", from[i], key);
        }
        if (q->len)
            kset(k, out, to[i], q);
    }
    if (!node_get(out, "limits") && (s->cpus > 0 || s->mem_limit > 0)) {
        Node *q = kmap_at(k, out, "limits");
        if (s->cpus > 0)
            kset(k, q, "cpu", kstr(k, cpu_quantity(k, s->cpus)));
        if (s->mem_limit > 0)
            kset(k, q, "memory", kstr(k, mem_quantity(k, s->mem_limit)));
    }
    if (out->len)
        kset(k, c, "resources", out);
}

/* ---- mounts ---- */

Node *build_claim_spec(Builder *b, const char *storage)
{
    KubeSet *k = b->k;
    Node *spec = kmap(k);
    kpush(k, kseq_at(k, spec, "accessModes"), kstr(k, "ReadWriteOnce"));
    if (b->st.storage_class)
        kset(k, spec, "storageClassName", kstr(k, b->st.storage_class));
    kset(k, kmap_at(k, kmap_at(k, spec, "resources"), "requests"), "storage", kstr(k, storage));
    return spec;
}

static Node *add_volume(Builder *b, Node *pod, const char *name)
{
    Node *vols = kseq_at(b->k, pod, "volumes");
    for (size_t i = 0; i < vols->len; i++)
        if (streq(node_get(vols->vals[i], "name")->str, name))
            return NULL;
    Node *v = kpush(b->k, vols, kmap(b->k));
    kset(b->k, v, "name", kstr(b->k, name));
    return v;
}

static void add_mount(Builder *b, Node *c, const char *name, const char *path, const char *sub, bool ro)
{
    Node *m = kpush(b->k, kseq_at(b->k, c, "volumeMounts"), kmap(b->k));
    kset(b->k, m, "name", kstr(b->k, name));
    kset(b->k, m, "mountPath", kstr(b->k, path));
    if (sub)
        kset(b->k, m, "subPath", kstr(b->k, sub));
    if (ro)
        kset(b->k, m, "readOnly", kbool(b->k, true));
}

/* A ConfigMap or Secret key from a file name: [-._a-zA-Z0-9], unique in g. */
static const char *file_key(Builder *b, const KGen *g, const char *path)
{
    char key[128];
    size_t n = 0;
    for (const char *p = path_basename(path); *p && n < sizeof key - 1; p++)
        key[n++] = isalnum((unsigned char)*p) || *p == '-' || *p == '_' || *p == '.' ? *p : '_';
    key[n] = '\0';
    const char *out = arena_strdup(b->k->a, n ? key : "file");
    for (int i = 2; g; i++) {
        bool taken = false;
        for (size_t e = 0; e < g->n; e++)
            taken |= streq(g->e[e].key, out);
        if (!taken)
            break;
        out = arena_printf(b->k->a, "%d-%s", i, key);
    }
    return out;
}

#define FILE_MAX (1 << 20)

/* A bind mount of one file in the project folder (a config file) becomes
 * a ConfigMap mounted at the same place; other bind mounts (source trees,
 * host paths) cannot follow a pod to a cluster node. */
static void bind_mount(Builder *b, size_t i, const Mount *m, Node *c, Node *pod)
{
    const Service *s = b->p->services[i];
    KubeSet *k = b->k;
    struct stat st;
    size_t wl = strlen(b->p->workdir);
    bool inside = strncmp(m->source, b->p->workdir, wl) == 0 && m->source[wl] == '/';
    if (inside && stat(m->source, &st) == 0 && S_ISREG(st.st_mode) && st.st_size <= FILE_MAX) {
        char *data = NULL;
        size_t len = 0;
        if (read_file(m->source, FILE_MAX, &data, &len) == 0) {
            const char *gname = arena_printf(k->a, "%s-files", b->info[i].name);
            KGen *g = (KGen *)kgen_find(k, false, gname);
            if (!g)
                g = kgen_add(k, false, false, gname, b->info[i].name);
            const char *key = file_key(b, g, m->source);
            kgen_put(k, g, key, data, len);
            free(data);
            Node *v = add_volume(b, pod, "files");
            if (v)
                kset(k, kmap_at(k, v, "configMap"), "name", kstr(k, gname));
            add_mount(b, c, "files", m->target, key, true);
            return;
        }
    }
    const char *what = inside ? "source folder" : "host path";
    diag_warning(b->d, &m->loc,
                 "services.%s.volumes: the bind mount of the %s %s at %s has no Kubernetes equivalent (the "
                 "image must hold it); left out",
                 s->name, what, inside ? build_rel(b, m->source) : m->source, m->target);
}

/* Compose secrets: a Secret per secret (from its file or variable), mounted
 * at /run/secrets/NAME or its target. */
static void add_secrets(Builder *b, size_t i, Node *c, Node *pod)
{
    const Service *s = b->p->services[i];
    KubeSet *k = b->k;
    const Node *list = node_get(s->node, "secrets");
    const Node *defs = node_get(b->p->tree, "secrets");
    for (size_t e = 0; list && list->kind == NODE_SEQ && e < list->len; e++) {
        const Node *it = list->vals[e];
        const Node *srcn = it->kind == NODE_MAP ? node_get(it, "source") : it;
        if (!node_is_scalar(srcn))
            continue;
        const char *src = srcn->str;
        const Node *tn = it->kind == NODE_MAP ? node_get(it, "target") : NULL;
        const char *target = node_is_scalar(tn) ? tn->str : src;
        if (target[0] != '/')
            target = arena_printf(k->a, "/run/secrets/%s", target);
        const Node *def = node_get(defs, src);
        if (!def || def->kind != NODE_MAP) {
            diag_error(b->d, &srcn->loc, "services.%s.secrets[%zu]: secret \"%s\" is not defined under secrets:",
                       s->name, e, src);
            continue;
        }
        if (it->kind == NODE_MAP && (node_get(it, "uid") || node_get(it, "gid")))
            build_drop(b, s, it, "the uid and gid of secrets[%zu] (the pod's fsGroup decides)", e);
        const char *secname = kname(k, src);
        bool external = false;
        node_as_bool(node_get(def, "external"), &external);
        if (external) {
            const Node *nn = node_get(def, "name");
            secname = node_is_scalar(nn) ? nn->str : secname;
            diag_warning(b->d, &srcn->loc,
                         "services.%s.secrets: \"%s\" is external: the cluster needs a Secret \"%s\" with "
                         "the key \"%s\"",
                         s->name, src, secname, src);
        } else if (!kgen_find(k, true, secname)) {
            const Node *fn = node_get(def, "file"), *vn = node_get(def, "environment");
            char *data = NULL;
            size_t len = 0;
            if (node_is_scalar(fn)) {
                _cleanup_free_ char *path = path_absolute(b->p->workdir, fn->str);
                if (read_file(path, FILE_MAX, &data, &len) < 0) {
                    diag_error(b->d, &fn->loc, "secrets.%s.file: cannot read %s", src, path);
                    continue;
                }
            } else if (node_is_scalar(vn) && env_get(&b->p->env, vn->str)) {
                data = xstrdup(env_get(&b->p->env, vn->str));
                len = strlen(data);
            } else {
                diag_error(b->d, &def->loc, "secrets.%s: needs a file, or an environment variable that is set",
                           src);
                continue;
            }
            kgen_put(k, kgen_add(k, true, false, secname, NULL), src, data, len);
            free(data);
        }
        const char *vname = arena_printf(k->a, "secret-%s", secname);
        Node *v = add_volume(b, pod, vname);
        if (v) {
            Node *sv = kmap_at(k, v, "secret");
            kset(k, sv, "secretName", kstr(k, secname));
            const Node *mode = it->kind == NODE_MAP ? node_get(it, "mode") : NULL;
            if (node_is_scalar(mode))
                kset(k, sv, "defaultMode", kint(k, strtol(mode->str, NULL, mode->str[0] == '0' ? 8 : 10)));
        }
        add_mount(b, c, vname, target, src, true);
    }
}

static void add_mounts(Builder *b, size_t i, Node *c, Node *pod)
{
    const Service *s = b->p->services[i];
    SvcInfo *si = &b->info[i];
    KubeSet *k = b->k;
    int anon = 0;
    for (size_t m = 0; m < s->n_mounts; m++) {
        const Mount *mt = &s->mounts[m];
        if (mt->type == VOLUME_BIND) {
            bind_mount(b, i, mt, c, pod);
        } else if (mt->type == VOLUME_TMPFS || !mt->source) {
            const char *vname = arena_printf(k->a, "%s-%d", mt->type == VOLUME_TMPFS ? "tmpfs" : "scratch", ++anon);
            Node *v = add_volume(b, pod, vname);
            Node *ed = kmap_at(k, v, "emptyDir");
            if (mt->type == VOLUME_TMPFS)
                kset(k, ed, "medium", kstr(k, "Memory"));
            if (mt->tmpfs_size > 0)
                kset(k, ed, "sizeLimit", kstr(k, arena_printf(k->a, "%lld", (long long)mt->tmpfs_size)));
            add_mount(b, c, vname, mt->target, NULL, mt->read_only);
        } else {
            const Volume *vol = build_volume(b->p, mt->source);
            const char *vname = kname(k, mt->source);
            bool templated = si->kind == W_STATEFULSET && vol && !vol->external && build_volume_alone(b, s, mt->source);
            bool seen = false;
            for (size_t q = 0; si->claims && q < si->claims->len; q++)
                seen |= streq(node_get(node_get(si->claims->vals[q], "metadata"), "name")->str, vname);
            if (templated && !seen) {
                if (!si->claims)
                    si->claims = kseq(k);
                Node *ct = kpush(k, si->claims, kmap(k));
                kset(k, kmap_at(k, ct, "metadata"), "name", kstr(k, vname));
                kset(k, ct, "spec", build_claim_spec(b, si->ss.storage));
            }
            if (!templated) {
                Node *v = add_volume(b, pod, vname);
                if (v)
                    kset(k, kmap_at(k, v, "persistentVolumeClaim"), "claimName",
                         kstr(k, vol && vol->external ? vol->name : vname));
            }
            add_mount(b, c, vname, mt->target, NULL, mt->read_only);
        }
    }
    add_secrets(b, i, c, pod);
}

/* ---- waits ---- */

static Node *wait_container(Builder *b, const char *name, const char *image, Node *command)
{
    KubeSet *k = b->k;
    Node *c = kmap(k);
    kset(k, c, "name", kstr(k, arena_printf(k->a, "wait-%s", name)));
    kset(k, c, "image", kstr(k, image));
    kset(k, c, "command", command);
    return c;
}

static Node *wait_tcp(Builder *b, const char *name, int port)
{
    KubeSet *k = b->k;
    Node *cmd = kseq(k);
    kpush(k, cmd, kstr(k, "sh"));
    kpush(k, cmd, kstr(k, "-c"));
    kpush(k, cmd, kstrf(k, "until nc -z -w 2 %s %d; do echo waiting for %s:%d; sleep 1; done", name, port, name,
                        port));
    return wait_container(b, name, b->st.wait_image, cmd);
}

static Node *wait_kubectl(Builder *b, const char *cname, const char *what, const char *cond)
{
    KubeSet *k = b->k;
    b->need_wait_account = true;
    Node *cmd = kseq(k);
    kpush(k, cmd, kstr(k, "kubectl"));
    kpush(k, cmd, kstr(k, "wait"));
    kpush(k, cmd, kstrf(k, "--for=condition=%s", cond));
    kpush(k, cmd, kstr(k, what));
    kpush(k, cmd, kstr(k, "--timeout=600s"));
    return wait_container(b, cname, b->st.kubectl_image, cmd);
}

/* The readiness of service t: its Service answers (only ready pods are
 * its endpoints), or its pods are Ready; then its seeds have run. */
static void wait_ready(Builder *b, size_t t, Node *inits)
{
    const SvcInfo *ti = &b->info[t];
    KubeSet *k = b->k;
    if (ti->kind == W_JOB)
        kpush(k, inits, wait_kubectl(b, ti->name, arena_printf(k->a, "job/%s", ti->name), "complete"));
    else if (ti->main_port)
        kpush(k, inits, wait_tcp(b, ti->name, ti->main_port));
    else
        kpush(k, inits,
              wait_kubectl(b, ti->name,
                           arena_printf(k->a, "pod --selector=app.kubernetes.io/name=%s,app.kubernetes.io/part-of=%s",
                                        ti->name, k->project),
                           "Ready"));
}

static void wait_seeds(Builder *b, size_t t, Node *inits)
{
    const SvcInfo *ti = &b->info[t];
    if (ti->seed_job)
        kpush(b->k, inits,
              wait_kubectl(b, arena_printf(b->k->a, "%s-seed", ti->name),
                           arena_printf(b->k->a, "job/%s-seed", ti->name), "complete"));
}

/* Init containers for s's dependencies, in the order they are written:
 * service_healthy waits for readiness and then the dependency's seeds,
 * service_completed_successfully for its Job; service_started needs no
 * wait (a Service exists from the start and clients retry). */
static void add_dep_waits(Builder *b, const Service *s, Node *inits)
{
    for (size_t d = 0; d < s->n_deps; d++) {
        const Dependency *dep = &s->deps[d];
        if (!b->info[dep->index].exported || dep->condition == DEP_STARTED)
            continue;
        if (dep->condition == DEP_COMPLETED && b->info[dep->index].kind != W_JOB)
            continue;
        wait_ready(b, dep->index, inits);
        if (dep->condition == DEP_HEALTHY)
            wait_seeds(b, dep->index, inits);
    }
}

/* ---- what has no equivalent ---- */

static const struct {
    const char *key, *why;
} unsupported[] = {
    {"privileged", "privileged mode (most clusters' pod security refuses it)"},
    {"cap_add", "added capabilities (a privilege to grant in the cluster's own policy)"},
    {"devices", "host devices"},
    {"network_mode", "network_mode (pods have their own network)"},
    {"pid", "the host's or another container's process namespace"},
    {"ipc", "a shared IPC namespace"},
    {"userns_mode", "userns_mode"},
    {"security_opt", "security_opt"},
    {"sysctls", "sysctls"},
    {"ulimits", "ulimits"},
    {"shm_size", "shm_size"},
    {"init", "init (an init process in front of the command)"},
    {"stop_signal", "stop_signal (pods are stopped with SIGTERM)"},
    {"dns", "dns"},
    {"dns_search", "dns_search"},
    {"dns_opt", "dns_opt"},
    {"links", "links"},
    {"external_links", "external_links"},
    {"volumes_from", "volumes_from"},
    {"logging", "logging (the cluster collects container output)"},
    {"gpus", "gpus"},
    {"runtime", "runtime"},
    {"cgroup_parent", "cgroup_parent"},
    {"group_add", "group_add"},
    {"oom_score_adj", "oom_score_adj"},
    {"configs", "configs"},
    {"platform", "platform"},
    {"develop", "develop.watch (rebuilds and syncs on change belong to the laptop)"},
};

static void warn_unsupported(Builder *b, const Service *s)
{
    for (size_t u = 0; u < ARRAY_SIZE(unsupported); u++) {
        const Node *key = node_get_key(s->node, unsupported[u].key);
        if (!key)
            continue;
        if (streq(unsupported[u].key, "stop_signal") && s->stop_signal == 15)
            continue;
        if (streq(unsupported[u].key, "init") && s->init != 1)
            continue;
        build_drop(b, s, key, "%s", unsupported[u].why);
    }
    const Node *xw = node_get_key(node_get(s->node, "x-tend"), "watch");
    if (xw)
        build_drop(b, s, xw, "x-tend.watch (reloads on change belong to the laptop)");
    const Node *dep = node_get(s->node, "deploy");
    for (size_t i = 0; dep && dep->kind == NODE_MAP && i < dep->len; i++) {
        const char *key = dep->keys[i]->str;
        if (!streq(key, "replicas") && !streq(key, "resources") && !streq(key, "restart_policy") &&
            !streq(key, "labels"))
            build_drop(b, s, dep->keys[i], "deploy.%s", key);
    }
    const Node *restart = node_get_key(s->node, "restart");
    if (restart && b->info[s->index].kind != W_JOB &&
        (s->restart == RESTART_NO || s->restart == RESTART_ON_FAILURE))
        build_drop(b, s, restart,
                   "restart: %s (a Deployment or StatefulSet restarts its pods whatever their exit status)",
                   restart_policy_to_string(s->restart));
    for (size_t n = 0; n < s->n_networks; n++)
        if (s->networks[n].aliases.n)
            build_drop(b, s, node_get(node_get(s->node, "networks"), s->networks[n].name),
                       "network aliases (only the service name resolves in the cluster)");
}

/* ---- the pod ---- */

static void add_security(Builder *b, const Service *s, Node *c)
{
    KubeSet *k = b->k;
    Node *sc = kmap(k);
    if (s->user) {
        char *end;
        long uid = strtol(s->user, &end, 10);
        if (end != s->user && (*end == '\0' || *end == ':')) {
            kset(k, sc, "runAsUser", kint(k, uid));
            if (*end == ':') {
                char *gend;
                long gid = strtol(end + 1, &gend, 10);
                if (*gend == '\0' && gend != end + 1)
                    kset(k, sc, "runAsGroup", kint(k, gid));
                else
                    build_drop(b, s, node_get(s->node, "user"), "the group of user \"%s\" by name", s->user);
            }
        } else
            build_drop(b, s, node_get(s->node, "user"),
                       "user \"%s\" by name (Kubernetes runs as a numeric id: write user: UID[:GID])", s->user);
    }
    if (s->read_only)
        kset(k, sc, "readOnlyRootFilesystem", kbool(k, true));
    const Node *drop = node_get(s->node, "cap_drop");
    if (drop && drop->kind == NODE_SEQ && drop->len) {
        Node *d = kseq_at(k, kmap_at(k, sc, "capabilities"), "drop");
        for (size_t i = 0; i < drop->len; i++)
            if (node_is_scalar(drop->vals[i]))
                kpush(k, d, kstr(k, str_startswith(drop->vals[i]->str, "CAP_") ? drop->vals[i]->str + 4
                                                                             : drop->vals[i]->str));
    }
    if (sc->len)
        kset(k, c, "securityContext", sc);
}

static void add_host_aliases(Builder *b, const Service *s, Node *pod)
{
    KubeSet *k = b->k;
    Node *aliases = NULL;
    for (size_t i = 0; i < s->extra_hosts.n; i++) {
        const char *e = s->extra_hosts.v[i], *colon = strchr(e, ':');
        if (!colon)
            continue;
        const char *ip = colon + 1;
        _cleanup_free_ char *host = xstrndup(e, (size_t)(colon - e));
        if (streq(ip, "host-gateway")) {
            build_drop(b, s, node_get(s->node, "extra_hosts"), "extra_hosts %s:host-gateway (no host to reach)",
                       host);
            continue;
        }
        if (!aliases)
            aliases = kseq_at(k, pod, "hostAliases");
        Node *entry = NULL;
        for (size_t a = 0; a < aliases->len; a++)
            if (streq(node_get(aliases->vals[a], "ip")->str, ip))
                entry = aliases->vals[a];
        if (!entry) {
            entry = kpush(k, aliases, kmap(k));
            kset(k, entry, "ip", kstr(k, ip));
        }
        kpush(k, kseq_at(k, entry, "hostnames"), kstr(k, host));
    }
}

/* The main container of service i. */
static Node *main_container(Builder *b, size_t i, Node *pod)
{
    const Service *s = b->p->services[i];
    KubeSet *k = b->k;
    Node *c = kmap(k);
    bool local;
    kset(k, c, "name", kstr(k, b->info[i].name));
    kset(k, c, "image", kstr(k, image_of(b, s, &local)));
    static const char *const pulls[][2] = {{"always", "Always"}, {"never", "Never"}, {"missing", "IfNotPresent"},
                                           {"if_not_present", "IfNotPresent"}, {"build", "IfNotPresent"}};
    const char *pull = local && !b->registry ? "IfNotPresent" : NULL;
    for (size_t p = 0; s->pull_policy && p < ARRAY_SIZE(pulls); p++)
        if (streq(s->pull_policy, pulls[p][0]))
            pull = pulls[p][1];
    if (pull)
        kset(k, c, "imagePullPolicy", kstr(k, pull));
    if (s->has_entrypoint && s->entrypoint.n)
        kset(k, c, "command", kstrv(k, &s->entrypoint));
    if (s->has_command && s->command.n)
        kset(k, c, "args", kstrv(k, &s->command));
    if (s->working_dir)
        kset(k, c, "workingDir", kstr(k, s->working_dir));
    add_env(b, i, c);
    const SvcInfo *si = &b->info[i];
    if (si->kind != W_JOB && si->ports.n) {
        Node *ports = kseq_at(k, c, "ports");
        for (size_t p = 0; p < si->ports.n; p++) {
            Node *e = kpush(k, ports, kmap(k));
            kset(k, e, "containerPort", kint(k, si->ports.v[p].port));
            if (!streq(si->ports.v[p].proto, "TCP"))
                kset(k, e, "protocol", kstr(k, si->ports.v[p].proto));
        }
    }
    if (si->kind != W_JOB)
        add_probes(b, s, c);
    add_resources(b, s, c);
    add_mounts(b, i, c, pod);
    add_security(b, s, c);
    if (s->tty)
        kset(k, c, "tty", kbool(k, true));
    if (s->stdin_open)
        kset(k, c, "stdin", kbool(k, true));
    return c;
}

Node *build_pod(Builder *b, size_t i, Node *labels, Node *annotations)
{
    const Service *s = b->p->services[i];
    KubeSet *k = b->k;
    warn_unsupported(b, s);
    Node *tmpl = kmap(k);
    Node *md = kmap_at(k, tmpl, "metadata");
    kset(k, md, "labels", node_copy(k->a, labels));
    if (annotations)
        kset(k, md, "annotations", annotations);
    Node *pod = kmap_at(k, tmpl, "spec");
    bool waited = b->need_wait_account;
    b->need_wait_account = false;
    Node *inits = kseq(k);
    add_dep_waits(b, s, inits);
    if (b->info[i].seed_job && b->info[i].kind != W_STATEFULSET && !build_is_postgres(s) && !build_is_redis(s))
        wait_seeds(b, i, inits); /* migrations run before the service */
    bool uses_kubectl = b->need_wait_account;
    b->need_wait_account |= waited;
    if (uses_kubectl)
        kset(k, pod, "serviceAccountName", kstr(k, "tend-wait"));
    if (s->hostname)
        kset(k, pod, "hostname", kstr(k, kname(k, s->hostname)));
    add_host_aliases(b, s, pod);
    if (inits->len)
        kset(k, pod, "initContainers", inits);
    Node *c = main_container(b, i, pod);
    kpush(k, kseq_at(k, pod, "containers"), c);
    /* volumes were added while the container was made: keep them last */
    Node *vols = node_get(pod, "volumes");
    if (vols) {
        node_map_remove(pod, "volumes");
        kset(k, pod, "volumes", vols);
    }
    if (b->info[i].kind == W_JOB) {
        bool again = s->restart == RESTART_ON_FAILURE || s->restart == RESTART_ALWAYS ||
                     s->restart == RESTART_UNLESS_STOPPED;
        kset(k, pod, "restartPolicy", kstr(k, again ? "OnFailure" : "Never"));
    }
    kset(k, pod, "terminationGracePeriodSeconds",
         kint(k, s->stop_grace_period > 0 ? seconds_up(s->stop_grace_period) : 10));
    return tmpl;
}

/* A one-shot service: Never restarted unless its policy says on-failure
 * (with its count as the Job's backoff limit). */
void build_job_spec(Builder *b, const Service *s, Node *spec)
{
    KubeSet *k = b->k;
    long long limit = 0;
    if (s->restart == RESTART_ON_FAILURE)
        limit = s->restart_max > 0 ? s->restart_max : 6;
    else if (s->restart == RESTART_ALWAYS || s->restart == RESTART_UNLESS_STOPPED)
        limit = 6;
    kset(k, spec, "backoffLimit", kint(k, limit));
}

/* ---- seeds ---- */

/* The Postgres (or Redis) service a seed step of s runs against: s itself,
 * else the first of its dependencies that is one (as tend seed does). */
static ssize_t store_for(Builder *b, const Service *s, bool postgres)
{
    if (postgres ? build_is_postgres(s) : build_is_redis(s))
        return (ssize_t)s->index;
    for (size_t d = 0; d < s->n_deps; d++) {
        const Service *t = b->p->services[s->deps[d].index];
        if (b->info[t->index].exported && (postgres ? build_is_postgres(t) : build_is_redis(t)))
            return (ssize_t)t->index;
    }
    return -1;
}

static Node *env_var(Builder *b, Node *env, const char *name, const char *value)
{
    Node *e = kpush(b->k, env, kmap(b->k));
    kset(b->k, e, "name", kstr(b->k, name));
    if (value)
        kset(b->k, e, "value", kstr(b->k, value));
    return e;
}

static void secret_ref(Builder *b, Node *e, const char *secret, const char *key)
{
    Node *r = kmap_at(b->k, kmap_at(b->k, e, "valueFrom"), "secretKeyRef");
    kset(b->k, r, "name", kstr(b->k, secret));
    kset(b->k, r, "key", kstr(b->k, key));
}

/* PGPASSWORD for a SQL step: the server's POSTGRES_PASSWORD (in its
 * Secret), or the Compose secret its POSTGRES_PASSWORD_FILE names, or the
 * probe's password in the seed Job's own Secret. */
static void pg_password(Builder *b, size_t t, size_t i, Node *env)
{
    const Service *ts = b->p->services[t];
    KubeSet *k = b->k;
    const char *tname = b->info[t].name;
    if (env_get(&ts->environment, "POSTGRES_PASSWORD")) {
        secret_ref(b, env_var(b, env, "PGPASSWORD", NULL), arena_printf(k->a, "%s-env", tname), "POSTGRES_PASSWORD");
        return;
    }
    const char *file = env_get(&ts->environment, "POSTGRES_PASSWORD_FILE");
    if (file && str_startswith(file, "/run/secrets/") && node_get(node_get(b->p->tree, "secrets"), file + 13)) {
        secret_ref(b, env_var(b, env, "PGPASSWORD", NULL), kname(k, file + 13), file + 13);
        return;
    }
    if (ts->probe.kind == PROBE_POSTGRES && ts->probe.password) {
        const char *gname = arena_printf(k->a, "%s-seed", b->info[i].name);
        KGen *g = (KGen *)kgen_find(k, true, gname);
        if (!g)
            g = kgen_add(k, true, false, gname, gname);
        kgen_put(k, g, "PGPASSWORD", ts->probe.password, strlen(ts->probe.password));
        secret_ref(b, env_var(b, env, "PGPASSWORD", NULL), gname, "PGPASSWORD");
    }
}

static const char *first_of(const char *a, const char *b, const char *c)
{
    return a ? a : b ? b : c;
}

/* One step as a container: psql for SQL files (all in one transaction),
 * redis-cli for Redis files (inside MULTI/EXEC), the service's own image
 * for a command. */
static Node *seed_step(Builder *b, size_t i, const SeedStep *st, size_t n, KGen **files)
{
    const Service *s = b->p->services[i];
    KubeSet *k = b->k;
    Node *c = kmap(k);
    kset(k, c, "name", kstr(k, arena_printf(k->a, "seed-%zu-%s", n, seed_kind_to_string(st->kind))));
    if (st->kind == SEED_EXEC) {
        bool local;
        kset(k, c, "image", kstr(k, image_of(b, s, &local)));
        StrVec argv = {0};
        if (st->shell) {
            strvec_push(&argv, "/bin/sh");
            strvec_push(&argv, "-c");
        }
        for (size_t a = 0; a < st->argv.n; a++)
            strvec_push(&argv, st->argv.v[a]);
        kset(k, c, "command", kstrv(k, &argv));
        strvec_free(&argv);
        if (s->working_dir)
            kset(k, c, "workingDir", kstr(k, s->working_dir));
        add_env(b, i, c);
        return c;
    }
    bool pg = st->kind == SEED_SQL;
    ssize_t t = store_for(b, s, pg);
    if (t < 0) {
        build_drop(b, s, NULL, "a %s seed step without a %s service to run it against", pg ? "SQL" : "Redis",
                   pg ? "Postgres" : "Redis");
        return NULL;
    }
    const Service *ts = b->p->services[t];
    const char *gname = arena_printf(k->a, "%s-seed", b->info[i].name);
    if (!*files)
        *files = kgen_add(k, false, false, gname, gname);
    StrVec keys = {0};
    for (size_t f = 0; f < st->files.n; f++) {
        char *data = NULL;
        size_t len = 0;
        if (read_file(st->files.v[f], FILE_MAX, &data, &len) < 0) {
            diag_error(b->d, &st->loc, "services.%s.x-tend.seed: cannot read %s", s->name, st->files.v[f]);
            continue;
        }
        const char *key = file_key(b, *files, st->files.v[f]);
        kgen_put(k, *files, key, data, len);
        strvec_push(&keys, key);
        free(data);
    }
    bool local;
    kset(k, c, "image", kstr(k, image_of(b, ts, &local)));
    const char *host = b->info[t].name;
    int port = b->info[t].main_port ? b->info[t].main_port : pg ? 5432 : 6379;
    Node *cmd = kseq(k);
    if (pg) {
        kpush(k, cmd, kstr(k, "psql"));
        kpush(k, cmd, kstr(k, "-v"));
        kpush(k, cmd, kstr(k, "ON_ERROR_STOP=1"));
        kpush(k, cmd, kstr(k, "--single-transaction"));
        for (size_t f = 0; f < keys.n; f++) {
            kpush(k, cmd, kstr(k, "-f"));
            kpush(k, cmd, kstrf(k, "/seed/%s", keys.v[f]));
        }
        Node *env = kseq_at(k, c, "env");
        env_var(b, env, "PGHOST", host);
        env_var(b, env, "PGPORT", arena_printf(k->a, "%d", port));
        const char *user = first_of(ts->probe.user, env_get(&ts->environment, "POSTGRES_USER"), "postgres");
        env_var(b, env, "PGUSER", user);
        env_var(b, env, "PGDATABASE",
                first_of(st->database, ts->probe.dbname, first_of(env_get(&ts->environment, "POSTGRES_DB"), user, NULL)));
        pg_password(b, (size_t)t, i, env);
    } else {
        StrBuf sh;
        strbuf_init(&sh, 0);
        strbuf_puts(&sh, "{ echo MULTI;");
        for (size_t f = 0; f < keys.n; f++)
            strbuf_printf(&sh, " grep -v -e '^[[:space:]]*#' -e '^[[:space:]]*$' /seed/%s;", keys.v[f]);
        strbuf_printf(&sh, " echo EXEC; } | redis-cli -h %s -p %d", host, port);
        kpush(k, cmd, kstr(k, "sh"));
        kpush(k, cmd, kstr(k, "-c"));
        kpush(k, cmd, kstr(k, sh.data));
        strbuf_free(&sh);
    }
    kset(k, c, "command", cmd);
    add_mount(b, c, "seed", "/seed", NULL, true);
    strvec_free(&keys);
    return c;
}

/* The seeds of service i as the Job SERVICE-seed: it waits for the stores
 * its steps use (the service itself, for a database's own seeds, else the
 * service's dependencies), then runs the steps in order, each but the last
 * as an init container. Services that wait for i to be healthy wait for
 * this Job too. */
void build_seed_job(Builder *b, size_t i)
{
    const Service *s = b->p->services[i];
    const SvcInfo *si = &b->info[i];
    KubeSet *k = b->k;
    const char *name = arena_printf(k->a, "%s-seed", si->name);
    Node *labels = build_labels(b, name);
    bool waited = b->need_wait_account;
    b->need_wait_account = false;
    Node *inits = kseq(k);
    bool self = build_is_postgres(s) || build_is_redis(s);
    if (self && si->main_port)
        kpush(k, inits, wait_tcp(b, si->name, si->main_port));
    else
        add_dep_waits(b, s, inits);
    bool uses_kubectl = b->need_wait_account;
    b->need_wait_account |= waited;
    KGen *files = NULL;
    Node *steps = kseq(k);
    for (size_t n = 0; n < s->n_seeds; n++) {
        Node *c = seed_step(b, i, &s->seeds[n], n + 1, &files);
        if (c)
            kpush(k, steps, c);
    }
    if (steps->len == 0)
        return;
    Node *job = kobj_add(k, "batch/v1", "Job", name, si->name, build_from(b, &s->seeds[0].loc), labels);
    Node *spec = kmap_at(k, job, "spec");
    kset(k, spec, "backoffLimit", kint(k, 3));
    Node *tmpl = kmap_at(k, spec, "template");
    kset(k, kmap_at(k, tmpl, "metadata"), "labels", node_copy(k->a, labels));
    Node *pod = kmap_at(k, tmpl, "spec");
    if (uses_kubectl)
        kset(k, pod, "serviceAccountName", kstr(k, "tend-wait"));
    for (size_t n = 0; n + 1 < steps->len; n++)
        kpush(k, inits, steps->vals[n]);
    if (inits->len)
        kset(k, pod, "initContainers", inits);
    kpush(k, kseq_at(k, pod, "containers"), steps->vals[steps->len - 1]);
    kset(k, pod, "restartPolicy", kstr(k, "OnFailure"));
    if (files) {
        Node *v = kpush(k, kseq_at(k, pod, "volumes"), kmap(k));
        kset(k, v, "name", kstr(k, "seed"));
        kset(k, kmap_at(k, v, "configMap"), "name", kstr(k, name));
    }
}
