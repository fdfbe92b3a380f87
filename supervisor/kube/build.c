/* build: one loaded project to its Kubernetes objects. Each container
 * service becomes a workload (a Deployment; a StatefulSet when it keeps a
 * named volume; a Job when something waits for it to complete), a ClusterIP
 * Service for the ports it publishes, exposes or is reached on, and a
 * LoadBalancer Service or an Ingress for what it publishes. Its variables
 * go to a ConfigMap, the secret ones to a Secret; readiness becomes probes
 * with the same timings; depends_on becomes init containers that wait;
 * seeds become a Job. What cannot be expressed is dropped with a warning at
 * the place it was written (workload.c has the container and pod parts). */
#include "kube/workload.h"

#include "load/dotenv.h"
#include "load/parse.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- settings: x-tend.kube ---- */

static const char *const expose_modes[] = {"loadbalancer", "ingress", "none", NULL};
static const char *const workloads[] = {"deployment", "statefulset", "job", NULL};

static bool one_of(const char *s, const char *const *v)
{
    for (; *v; v++)
        if (streq(s, *v))
            return true;
    return false;
}

/* A setting's string value, or an error at it. */
static const char *setting_str(Builder *b, const Node *key, const Node *val, const char *where)
{
    if (!node_is_scalar(val)) {
        diag_error(b->d, &val->loc, "%s.%s: must be a string, not %s", where, key->str, node_kind_name(val));
        return NULL;
    }
    return val->str;
}

static void setting_choice(Builder *b, const Node *key, const Node *val, const char *where,
                           const char *const *choices, const char **out)
{
    const char *s = setting_str(b, key, val, where);
    if (!s)
        return;
    if (!one_of(s, choices)) {
        StrBuf m;
        strbuf_init(&m, 0);
        for (const char *const *c = choices; *c; c++)
            strbuf_printf(&m, "%s%s", c == choices ? "" : ", ", *c);
        diag_error(b->d, &val->loc, "%s.%s: \"%s\" is not one of %s", where, key->str, s, m.data);
        strbuf_free(&m);
        return;
    }
    *out = s;
}

/* A Kubernetes quantity such as 1Gi or 500Mi. */
static bool quantity_valid(const char *s)
{
    const char *p = s;
    if (!(*p >= '0' && *p <= '9'))
        return false;
    while ((*p >= '0' && *p <= '9') || *p == '.')
        p++;
    static const char *const suffixes[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "k", "M", "G", "T", "P"};
    for (size_t i = 0; i < ARRAY_SIZE(suffixes); i++)
        if (streq(p, suffixes[i]))
            return true;
    return false;
}

static void read_settings(Builder *b)
{
    Settings *st = &b->st;
    *st = (Settings){.expose = "loadbalancer",
                     .storage = "1Gi",
                     .wait_image = "busybox:1.36",
                     .kubectl_image = "registry.k8s.io/kubectl:v1.33.0"};
    const Node *x = node_get(node_get(b->p->tree, "x-tend"), "kube");
    if (!x || node_is_null(x))
        return;
    if (x->kind != NODE_MAP) {
        diag_error(b->d, &x->loc, "x-tend.kube: must be a mapping, not %s", node_kind_name(x));
        return;
    }
    static const char *const keys[] = {"registry", "expose",   "host",       "ingress_class", "namespace",
                                       "storage",  "storage_class", "wait_image", "kubectl_image", NULL};
    for (size_t i = 0; i < x->len; i++) {
        const Node *k = x->keys[i], *v = x->vals[i];
        const char *w = "x-tend.kube";
        if (streq(k->str, "expose"))
            setting_choice(b, k, v, w, expose_modes, &st->expose);
        else if (!one_of(k->str, keys))
            diag_error(b->d, &k->loc, "x-tend.kube: unknown key \"%s\"", k->str);
        else {
            const char *s = setting_str(b, k, v, w);
            if (!s)
                continue;
            if (streq(k->str, "registry"))
                st->registry = s;
            else if (streq(k->str, "host"))
                st->host = s;
            else if (streq(k->str, "ingress_class"))
                st->ingress_class = s;
            else if (streq(k->str, "storage_class"))
                st->storage_class = s;
            else if (streq(k->str, "wait_image"))
                st->wait_image = s;
            else if (streq(k->str, "kubectl_image"))
                st->kubectl_image = s;
            else if (streq(k->str, "namespace")) {
                if (!streq(kname(b->k, s), s))
                    diag_error(b->d, &v->loc, "x-tend.kube.namespace: \"%s\" is not a DNS label", s);
                st->namespace = s;
            } else if (streq(k->str, "storage")) {
                if (!quantity_valid(s))
                    diag_error(b->d, &v->loc, "x-tend.kube.storage: \"%s\" is not a size such as 1Gi", s);
                st->storage = s;
            }
        }
    }
}

static void read_service_settings(Builder *b, const Service *s, SvcSettings *ss)
{
    *ss = (SvcSettings){.expose = b->st.expose, .host = b->st.host, .path = "/", .storage = b->st.storage};
    const Node *x = node_get(node_get(s->node, "x-tend"), "kube");
    if (!x || node_is_null(x))
        return;
    _cleanup_free_ char *w = xasprintf("services.%s.x-tend.kube", s->name);
    if (x->kind != NODE_MAP) {
        diag_error(b->d, &x->loc, "%s: must be a mapping, not %s", w, node_kind_name(x));
        return;
    }
    for (size_t i = 0; i < x->len; i++) {
        const Node *k = x->keys[i], *v = x->vals[i];
        if (streq(k->str, "workload"))
            setting_choice(b, k, v, w, workloads, &ss->workload);
        else if (streq(k->str, "expose"))
            setting_choice(b, k, v, w, expose_modes, &ss->expose);
        else if (streq(k->str, "host"))
            ss->host = setting_str(b, k, v, w);
        else if (streq(k->str, "path")) {
            ss->path = setting_str(b, k, v, w);
            if (ss->path && ss->path[0] != '/') {
                diag_error(b->d, &v->loc, "%s.path: must start with /", w);
                ss->path = "/";
            }
        } else if (streq(k->str, "storage")) {
            ss->storage = setting_str(b, k, v, w);
            if (ss->storage && !quantity_valid(ss->storage)) {
                diag_error(b->d, &v->loc, "%s.storage: \"%s\" is not a size such as 1Gi", w, ss->storage);
                ss->storage = b->st.storage;
            }
        } else
            diag_error(b->d, &k->loc, "%s: unknown key \"%s\"", w, k->str);
    }
    if (!ss->path)
        ss->path = "/";
    if (!ss->storage)
        ss->storage = b->st.storage;
}

/* ---- messages ---- */

/* ---- ports ---- */


static void port_add(PortList *l, int port, const char *proto)
{
    if (port <= 0 || port > 65535)
        return;
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i].port == port && streq(l->v[i].proto, proto))
            return;
    if (l->n == ARRAY_SIZE(l->v))
        return;
    KPort *p = &l->v[l->n++];
    p->port = port;
    snprintf(p->proto, sizeof p->proto, "%s", proto);
}

static int port_cmp(const void *a, const void *b)
{
    const KPort *x = a, *y = b;
    if (x->port != y->port)
        return x->port < y->port ? -1 : 1;
    return strcmp(x->proto, y->proto);
}

/* Ports other services name in their variables ("postgres:5432" in
 * postgresql://app@postgres:5432/app): the ports they reach s on. */
static void ports_from_env(Builder *b, const Service *s, PortList *l)
{
    size_t nl = strlen(s->name);
    for (size_t i = 0; i < b->p->n_services; i++) {
        const Service *o = b->p->services[i];
        if (o == s)
            continue;
        for (size_t k = 0; k < o->environment.n; k++) {
            const char *v = o->environment.vals[k];
            for (const char *q = v ? strstr(v, s->name) : NULL; q; q = strstr(q + 1, s->name)) {
                bool start = q == v || q[-1] == '/' || q[-1] == '@';
                if (!start || q[nl] != ':' || !(q[nl + 1] >= '0' && q[nl + 1] <= '9'))
                    continue;
                char *end;
                long port = strtol(q + nl + 1, &end, 10);
                if (*end == '\0' || *end == '/' || *end == '?' || *end == ',' || *end == ' ')
                    port_add(l, (int)port, "TCP");
            }
        }
    }
}

static void collect_ports(Builder *b, const Service *s, PortList *l)
{
    for (size_t i = 0; i < s->n_ports; i++) {
        const PortMapping *pm = &s->ports[i];
        char proto[8];
        snprintf(proto, sizeof proto, "%s", pm->protocol ? pm->protocol : "tcp");
        for (char *c = proto; *c; c++)
            *c = (char)(*c >= 'a' && *c <= 'z' ? *c - 'a' + 'A' : *c);
        uint32_t span = pm->published_lo ? pm->published_hi - pm->published_lo : 0;
        for (uint32_t k = 0; k <= span && k < 100; k++)
            port_add(l, (int)(pm->target + k), proto);
    }
    for (size_t i = 0; i < s->expose.n; i++) {
        const char *e = s->expose.v[i];
        const char *slash = strchr(e, '/');
        char proto[8] = "TCP";
        if (slash) {
            snprintf(proto, sizeof proto, "%s", slash + 1);
            for (char *c = proto; *c; c++)
                *c = (char)(*c >= 'a' && *c <= 'z' ? *c - 'a' + 'A' : *c);
        }
        char *end;
        long lo = strtol(e, &end, 10), hi = lo;
        if (*end == '-')
            hi = strtol(end + 1, NULL, 10);
        for (long pnum = lo; pnum <= hi && pnum - lo < 100; pnum++)
            port_add(l, (int)pnum, proto);
    }
    port_add(l, build_probe_port(s), "TCP");
    ports_from_env(b, s, l);
    /* A database image says its port when nothing else does. */
    static const char *const mysql[] = {"mysql", "mariadb", NULL}, *const mongo[] = {"mongo", NULL};
    if (l->n == 0)
        port_add(l, build_is_postgres(s) ? 5432 : build_is_redis(s) ? 6379 : build_image_is(s, mysql) ? 3306
                    : build_image_is(s, mongo) ? 27017 : 0, "TCP");
    qsort(l->v, l->n, sizeof(l->v[0]), port_cmp);
}

/* ---- what each service becomes ---- */

static void decide(Builder *b, size_t i)
{
    const Project *p = b->p;
    const Service *s = p->services[i];
    SvcInfo *si = &b->info[i];
    read_service_settings(b, s, &si->ss);
    si->name = kname(b->k, s->name);
    if (s->runtime == RUNTIME_HOST) {
        build_drop(b, s, NULL, "a host process (give it an image to export it)");
        return;
    }
    si->exported = true;
    if (!streq(si->name, s->name))
        diag_warning(b->d, &s->loc,
                     "services.%s: Kubernetes names are DNS labels: exported as \"%s\", which is also the "
                     "name its clients must use",
                     s->name, si->name);
    bool completed = false;
    for (size_t k = 0; k < p->n_services; k++)
        for (size_t d = 0; d < p->services[k]->n_deps; d++)
            if (p->services[k]->deps[d].index == i && p->services[k]->deps[d].condition == DEP_COMPLETED)
                completed = true;
    bool stateful = false;
    for (size_t m = 0; m < s->n_mounts; m++) {
        const Mount *mt = &s->mounts[m];
        const Volume *v = mt->type == VOLUME_VOLUME && mt->source ? build_volume(p, mt->source) : NULL;
        if (v && !v->external)
            stateful = true;
    }
    si->kind = completed ? W_JOB : stateful ? W_STATEFULSET : W_DEPLOYMENT;
    if (si->ss.workload)
        si->kind = streq(si->ss.workload, "job") ? W_JOB : streq(si->ss.workload, "statefulset") ? W_STATEFULSET
                                                                                                   : W_DEPLOYMENT;
    if (si->kind != W_JOB)
        collect_ports(b, s, &si->ports);
    si->main_port = build_probe_port(s);
    if (!si->main_port && si->ports.n)
        si->main_port = si->ports.v[0].port;
    si->seed_job = s->n_seeds > 0;
}

/* ---- labels ---- */

/* The app.kubernetes.io labels and the service's own labels (those that
 * are valid label keys and values; the rest go to annotations). */
static void service_labels(Builder *b, const Service *s, const char *name, Node **ret_labels,
                           Node **ret_annotations)
{
    Node *l = build_labels(b, name), *an = kmap(b->k);
    for (size_t i = 0; i < s->labels.n; i++) {
        const char *k = s->labels.keys[i], *v = s->labels.vals[i] ? s->labels.vals[i] : "";
        if (str_startswith(k, "app.kubernetes.io/"))
            continue;
        kset(b->k, build_label_valid(k, v) ? l : an, k, kstr(b->k, v));
    }
    *ret_labels = l;
    *ret_annotations = an->len ? an : NULL;
}

/* ---- the objects of one service ---- */

static void build_public(Builder *b, size_t i, const char *from);

static void add_service_objects(Builder *b, size_t i)
{
    const Service *s = b->p->services[i];
    SvcInfo *si = &b->info[i];
    KubeSet *k = b->k;
    const char *from = build_from(b, &s->loc);
    Node *labels, *annotations;
    service_labels(b, s, si->name, &labels, &annotations);

    Node *pod = build_pod(b, i, labels, annotations);
    static const char *const kinds[] = {"Deployment", "StatefulSet", "Job"};
    const char *api = si->kind == W_JOB ? "batch/v1" : "apps/v1";
    Node *w = kobj_add(k, api, kinds[si->kind], si->name, si->name, from, labels);
    Node *spec = kmap_at(k, w, "spec");
    if (si->kind == W_JOB) {
        build_job_spec(b, s, spec);
        kset(k, spec, "template", pod);
    } else {
        long long replicas = 1;
        const Node *dep = node_get(s->node, "deploy");
        long long v;
        if (node_as_int(node_get(dep, "replicas"), &v) == 0 || node_as_int(node_get(s->node, "scale"), &v) == 0)
            replicas = v;
        if (si->kind == W_STATEFULSET)
            kset(k, spec, "serviceName", kstr(k, si->name));
        kset(k, spec, "replicas", kint(k, replicas));
        Node *sel = kmap_at(k, spec, "selector");
        kset(k, sel, "matchLabels", build_selector(b, si->name));
        kset(k, spec, "template", pod);
        if (si->kind == W_STATEFULSET && si->claims && si->claims->len)
            kset(k, spec, "volumeClaimTemplates", si->claims);
    }

    /* The Service every other pod reaches it by, under its own name. */
    if (si->kind != W_JOB && si->ports.n) {
        Node *svc = kobj_add(k, "v1", "Service", si->name, si->name, from, build_labels(b, si->name));
        Node *ss = kmap_at(k, svc, "spec");
        kset(k, ss, "type", kstr(k, "ClusterIP"));
        kset(k, ss, "selector", build_selector(b, si->name));
        Node *ports = kseq_at(k, ss, "ports");
        for (size_t p = 0; p < si->ports.n; p++) {
            Node *e = kpush(k, ports, kmap(k));
            kset(k, e, "name", kstrf(k, "%c%c%c-%d", si->ports.v[p].proto[0] | 0x20, si->ports.v[p].proto[1] | 0x20,
                                     si->ports.v[p].proto[2] | 0x20, si->ports.v[p].port));
            kset(k, e, "port", kint(k, si->ports.v[p].port));
            kset(k, e, "targetPort", kint(k, si->ports.v[p].port));
            if (!streq(si->ports.v[p].proto, "TCP"))
                kset(k, e, "protocol", kstr(k, si->ports.v[p].proto));
        }
    }
    if (si->kind != W_JOB && s->n_ports)
        build_public(b, i, from);
    if (si->seed_job)
        build_seed_job(b, i);
}

/* Published ports: a LoadBalancer Service NAME-public, or an Ingress to
 * the first TCP port, as x-tend.kube.expose asks. */
static void build_public(Builder *b, size_t i, const char *from)
{
    const Service *s = b->p->services[i];
    SvcInfo *si = &b->info[i];
    KubeSet *k = b->k;
    const char *mode = si->ss.expose;
    if (streq(mode, "none"))
        return;
    if (streq(mode, "loadbalancer")) {
        const char *name = arena_printf(k->a, "%s-public", si->name);
        Node *svc = kobj_add(k, "v1", "Service", name, si->name, from, build_labels(b, si->name));
        Node *ss = kmap_at(k, svc, "spec");
        kset(k, ss, "type", kstr(k, "LoadBalancer"));
        kset(k, ss, "selector", build_selector(b, si->name));
        Node *ports = kseq_at(k, ss, "ports");
        StrVec seen = {0};
        for (size_t p = 0; p < s->n_ports; p++) {
            const PortMapping *pm = &s->ports[p];
            uint32_t span = pm->published_lo ? pm->published_hi - pm->published_lo : 0;
            for (uint32_t o = 0; o <= span && o < 100; o++) {
                uint32_t pub = pm->published_lo ? pm->published_lo + o : pm->target;
                _cleanup_free_ char *id = xasprintf("%s-%u", pm->protocol ? pm->protocol : "tcp", pub);
                if (strvec_contains(&seen, id))
                    continue;
                strvec_push(&seen, id);
                Node *e = kpush(k, ports, kmap(k));
                kset(k, e, "name", kstr(k, id));
                kset(k, e, "port", kint(k, pub));
                kset(k, e, "targetPort", kint(k, pm->target + o));
                if (pm->protocol && !streq(pm->protocol, "tcp"))
                    kset(k, e, "protocol", kstrf(k, "%s", streq(pm->protocol, "udp") ? "UDP" : "SCTP"));
            }
        }
        strvec_free(&seen);
        return;
    }
    const PortMapping *first = NULL;
    for (size_t p = 0; p < s->n_ports; p++)
        if (!s->ports[p].protocol || streq(s->ports[p].protocol, "tcp")) {
            if (!first)
                first = &s->ports[p];
            else if (s->ports[p].target != first->target)
                diag_warning(b->d, &s->ports[p].loc,
                             "services.%s.ports: only the first published TCP port (%u) goes through the "
                             "Ingress; port %u is reachable inside the cluster only",
                             s->name, first->target, s->ports[p].target);
        }
    if (!first)
        return;
    Node *ing = kobj_add(k, "networking.k8s.io/v1", "Ingress", si->name, si->name, from, build_labels(b, si->name));
    Node *spec = kmap_at(k, ing, "spec");
    if (b->st.ingress_class)
        kset(k, spec, "ingressClassName", kstr(k, b->st.ingress_class));
    Node *rule = kpush(k, kseq_at(k, spec, "rules"), kmap(k));
    if (si->ss.host)
        kset(k, rule, "host", kstr(k, si->ss.host));
    Node *path = kpush(k, kseq_at(k, kmap_at(k, rule, "http"), "paths"), kmap(k));
    kset(k, path, "path", kstr(k, si->ss.path));
    kset(k, path, "pathType", kstr(k, "Prefix"));
    Node *svc = kmap_at(k, kmap_at(k, path, "backend"), "service");
    kset(k, svc, "name", kstr(k, si->name));
    kset(k, kmap_at(k, svc, "port"), "number", kint(k, first->target));
}

/* ---- volumes shared by several services, the waiting account ---- */

static void add_claims(Builder *b)
{
    const Project *p = b->p;
    KubeSet *k = b->k;
    for (size_t v = 0; v < p->n_volumes; v++) {
        const Volume *vol = &p->volumes[v];
        if (vol->external)
            continue;
        StrVec users = {0};
        const Mount *first = NULL;
        const SvcInfo *owner = NULL;
        for (size_t i = 0; i < p->n_services; i++) {
            const Service *s = p->services[i];
            for (size_t m = 0; m < s->n_mounts; m++)
                if (b->info[i].exported && s->mounts[m].type == VOLUME_VOLUME &&
                    strnull_eq(s->mounts[m].source, vol->key)) {
                    if (!strvec_contains(&users, s->name))
                        strvec_push(&users, s->name);
                    if (!first) {
                        first = &s->mounts[m];
                        owner = &b->info[i];
                    }
                }
        }
        bool templated = users.n == 1 && owner->kind == W_STATEFULSET;
        if (users.n > 1)
            diag_warning(b->d, &first->loc,
                         "volumes.%s: used by %s and %s: exported as one ReadWriteOnce claim, which pods on "
                         "different nodes cannot share (use a ReadWriteMany storage class)",
                         vol->key, users.v[0], users.v[1]);
        if (users.n > 0 && !templated) {
            const char *name = kname(k, vol->key);
            Node *pvc = kobj_add(k, "v1", "PersistentVolumeClaim", name, "volumes", NULL, build_labels(b, name));
            kset(k, pvc, "spec", build_claim_spec(b, owner->ss.storage));
        }
        strvec_free(&users);
    }
}

static void add_wait_account(Builder *b)
{
    KubeSet *k = b->k;
    Node *labels = build_labels(b, "tend-wait");
    kobj_add(k, "v1", "ServiceAccount", "tend-wait", "tend-wait", NULL, labels);
    Node *role = kobj_add(k, "rbac.authorization.k8s.io/v1", "Role", "tend-wait", "tend-wait", NULL, labels);
    Node *rules = kseq_at(k, role, "rules");
    static const char *const groups[] = {"", "batch"}, *const res[] = {"pods", "jobs"};
    for (size_t i = 0; i < 2; i++) {
        Node *r = kpush(k, rules, kmap(k));
        kpush(k, kseq_at(k, r, "apiGroups"), kstr(k, groups[i]));
        kpush(k, kseq_at(k, r, "resources"), kstr(k, res[i]));
        Node *verbs = kseq_at(k, r, "verbs");
        kpush(k, verbs, kstr(k, "get"));
        kpush(k, verbs, kstr(k, "list"));
        kpush(k, verbs, kstr(k, "watch"));
    }
    Node *rb = kobj_add(k, "rbac.authorization.k8s.io/v1", "RoleBinding", "tend-wait", "tend-wait", NULL, labels);
    Node *ref = kmap_at(k, rb, "roleRef");
    kset(k, ref, "apiGroup", kstr(k, "rbac.authorization.k8s.io"));
    kset(k, ref, "kind", kstr(k, "Role"));
    kset(k, ref, "name", kstr(k, "tend-wait"));
    Node *sub = kpush(k, kseq_at(k, rb, "subjects"), kmap(k));
    kset(k, sub, "kind", kstr(k, "ServiceAccount"));
    kset(k, sub, "name", kstr(k, "tend-wait"));
}

/* Networks: one flat network in a cluster. A declared network (other than
 * the default) is said once, at its first user. */
static void warn_networks(Builder *b)
{
    const Project *p = b->p;
    for (size_t n = 0; n < p->n_networks; n++) {
        const Network *net = &p->networks[n];
        if (streq(net->key, "default"))
            continue;
        for (size_t i = 0; i < p->n_services; i++) {
            const Service *s = p->services[i];
            bool uses = false;
            for (size_t a = 0; a < s->n_networks; a++)
                uses |= streq(s->networks[a].name, net->key);
            if (uses && b->info[i].exported) {
                const Node *at = node_get(node_get(s->node, "networks"), net->key);
                diag_warning(b->d, at ? &at->loc : &s->loc,
                             "networks.%s: a cluster has one flat network; its isolation is not exported "
                             "(write a NetworkPolicy)",
                             net->key);
                break;
            }
        }
    }
}

/* A dependency others reach over the network needs a port for its
 * Service; say so where the dependency is written when none is known. */
static void warn_portless(Builder *b)
{
    const Project *p = b->p;
    for (size_t i = 0; i < p->n_services; i++) {
        const Service *s = p->services[i];
        for (size_t d = 0; b->info[i].exported && d < s->n_deps; d++) {
            const SvcInfo *t = &b->info[s->deps[d].index];
            if (t->exported && t->kind != W_JOB && t->ports.n == 0)
                diag_warning(b->d, &s->deps[d].loc,
                             "services.%s.depends_on.%s: no port of %s is known (write expose: [PORT] under it), "
                             "so it gets no Service and %s waits for its pods to be ready",
                             s->name, s->deps[d].service, s->deps[d].service, s->name);
        }
    }
}

int kube_build(const Project *p, const KubeBuildOptions *o, KubeSet **ret, Diag *d)
{
    size_t errors0 = d->errors;
    Builder b = {.p = p, .d = d, .k = kubeset_new()};
    b.k->project = kname(b.k, p->name);
    read_settings(&b);
    b.registry = o && o->registry ? o->registry : b.st.registry;
    b.k->namespace = b.st.namespace ? arena_strdup(b.k->a, b.st.namespace) : NULL;
    b.info = xcalloc(p->n_services ? p->n_services : 1, sizeof(*b.info));
    for (size_t i = 0; i < p->n_services; i++)
        decide(&b, i);
    if (b.k->namespace)
        kobj_add(b.k, "v1", "Namespace", b.k->namespace, "namespace", NULL, NULL);
    for (size_t i = 0; i < p->n_services; i++)
        if (b.info[i].exported)
            add_service_objects(&b, i);
    add_claims(&b);
    if (b.need_wait_account)
        add_wait_account(&b);
    warn_networks(&b);
    warn_portless(&b);
    free(b.info);
    if (d->errors > errors0) {
        kubeset_free(b.k);
        return -EINVAL;
    }
    *ret = b.k;
    return 0;
}
