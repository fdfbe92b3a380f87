/* hostcfg: the container keys the model does not read, from the service's
 * canonical node into the create body (see hostcfg.h). The mapping is
 * docker compose v5's (pkg/compose/create.go): deploy.resources.limits win
 * over mem_limit/cpus/pids_limit, reservations give MemoryReservation,
 * file secrets and configs are read-only binds at /run/secrets/NAME and
 * /NAME, the others are copied in before the start. */
#include "engine/hostcfg.h"

#include "engine/sync.h"
#include "load/parse.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

/* ---- reading the node ---- */

static const char *scalar(const Node *svc, const char *key)
{
    const Node *n = node_get(svc, key);
    return node_is_scalar(n) ? n->str : NULL;
}

/* A string or a list of strings as a JSON array; NULL when absent. */
static json_t *str_list(const Node *svc, const char *key)
{
    const Node *n = node_get(svc, key);
    if (node_is_scalar(n)) {
        json_t *a = json_array();
        json_array_append_new(a, json_string(n->str));
        return a;
    }
    if (!n || n->kind != NODE_SEQ)
        return NULL;
    json_t *a = json_array();
    for (size_t i = 0; i < n->len; i++)
        if (node_is_scalar(n->vals[i]))
            json_array_append_new(a, json_string(n->vals[i]->str));
    return a;
}

/* A mapping or a list of "KEY=VALUE" as a JSON object of strings. */
static json_t *str_map(const Node *svc, const char *key)
{
    const Node *n = node_get(svc, key);
    if (!n || (n->kind != NODE_MAP && n->kind != NODE_SEQ))
        return NULL;
    json_t *o = json_object();
    for (size_t i = 0; i < n->len; i++) {
        if (n->kind == NODE_MAP) {
            const Node *v = n->vals[i];
            json_object_set_new(o, n->keys[i]->str, json_string(node_is_scalar(v) ? v->str : ""));
        } else if (node_is_scalar(n->vals[i])) {
            const char *kv = n->vals[i]->str, *eq = strchr(kv, '=');
            _cleanup_free_ char *k = eq ? xstrndup(kv, (size_t)(eq - kv)) : xstrdup(kv);
            json_object_set_new(o, k, json_string(eq ? eq + 1 : ""));
        }
    }
    return o;
}

static void set_str(json_t *o, const char *field, const Node *svc, const char *key)
{
    const char *v = scalar(svc, key);
    if (v && *v)
        json_object_set_new(o, field, json_string(v));
}

static void set_list(json_t *o, const char *field, const Node *svc, const char *key)
{
    json_t *a = str_list(svc, key);
    if (a)
        json_object_set_new(o, field, a);
}

static int set_int(json_t *o, const char *field, const Node *svc, const char *key, const char *what, char **ret_err)
{
    const Node *n = node_get(svc, key);
    if (!n || node_is_null(n))
        return 0;
    long long v;
    if (node_as_int(n, &v) < 0) {
        *ret_err = xasprintf("%s: %s must be a whole number", what, key);
        return -1;
    }
    json_object_set_new(o, field, json_integer(v));
    return 0;
}

/* Microseconds, written as a number or as a duration ("950ms"). */
static int set_micros(json_t *o, const char *field, const Node *svc, const char *key, const char *what,
                      char **ret_err)
{
    const Node *n = node_get(svc, key);
    if (!node_is_scalar(n))
        return 0;
    long long v;
    int64_t ns;
    if (node_as_int(n, &v) == 0) {
        json_object_set_new(o, field, json_integer(v));
        return 0;
    }
    if (duration_parse(n->str, &ns) < 0) {
        *ret_err = xasprintf("%s: %s: \"%s\" is neither microseconds nor a duration", what, key, n->str);
        return -1;
    }
    json_object_set_new(o, field, json_integer(ns / 1000));
    return 0;
}

/* A byte size (a number or "512m") into o[field]; -1 is kept (unlimited). */
static int set_bytes(json_t *o, const char *field, const Node *n, const char *what, const char *key, char **ret_err)
{
    if (!node_is_scalar(n))
        return 0;
    int64_t v;
    if (streq(n->str, "-1")) {
        v = -1;
    } else if (bytes_parse(n->str, &v) < 0) {
        *ret_err = xasprintf("%s: %s: \"%s\" is not a size", what, key, n->str);
        return -1;
    }
    if (v)
        json_object_set_new(o, field, json_integer(v));
    return 0;
}

/* Capabilities named as the engine names them ("CAP_NET_ADMIN"), as the
 * docker CLI and Compose write them, whichever way the file does. */
static void set_caps(json_t *o, const char *field, const Node *svc, const char *key)
{
    json_t *a = str_list(svc, key);
    if (!a)
        return;
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v)
    {
        const char *c = json_string_value(v);
        if (strcasecmp(c, "ALL") != 0 && strncasecmp(c, "CAP_", 4) != 0) {
            _cleanup_free_ char *u = xasprintf("CAP_%s", c);
            for (char *q = u; *q; q++)
                *q = (char)toupper((unsigned char)*q);
            json_array_set_new(a, i, json_string(u));
        }
    }
    json_object_set_new(o, field, a);
}

static void set_bool(json_t *o, const char *field, const Node *svc, const char *key)
{
    bool b;
    const Node *n = node_get(svc, key);
    if (n && !node_is_null(n) && node_as_bool(n, &b) == 0 && b)
        json_object_set_new(o, field, json_true());
}

/* ---- devices, blkio, logging, deploy ---- */

/* "SRC[:DST[:PERMS]]" or {source, target, permissions}; PERMS "rwm" when
 * not given (docker compose v5 sends an empty one for the long form, which
 * runc refuses: "device access at 9 field cannot be empty"). */
static json_t *devices(const Node *svc)
{
    const Node *n = node_get(svc, "devices");
    if (!n || n->kind != NODE_SEQ)
        return NULL;
    json_t *a = json_array();
    for (size_t i = 0; i < n->len; i++) {
        const Node *d = n->vals[i];
        _cleanup_free_ char *src = NULL, *dst = NULL, *perm = NULL;
        if (node_is_scalar(d)) {
            const char *s = d->str, *c1 = strchr(s, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
            src = c1 ? xstrndup(s, (size_t)(c1 - s)) : xstrdup(s);
            if (c1)
                dst = c2 ? xstrndup(c1 + 1, (size_t)(c2 - c1 - 1)) : xstrdup(c1 + 1);
            perm = xstrdup(c2 ? c2 + 1 : "rwm");
        } else if (d->kind == NODE_MAP) {
            const char *v;
            if ((v = scalar(d, "source")))
                src = xstrdup(v);
            if ((v = scalar(d, "target")))
                dst = xstrdup(v);
            if ((v = scalar(d, "permissions")))
                perm = xstrdup(v);
        }
        if (!src)
            continue;
        json_array_append_new(a, json_pack("{s:s, s:s, s:s}", "PathOnHost", src, "PathInContainer",
                                           dst && *dst ? dst : src, "CgroupPermissions",
                                           perm && *perm ? perm : "rwm"));
    }
    return a;
}

static int blkio_rates(json_t *hc, const Node *blk, const char *key, const char *field, const char *what,
                       char **ret_err)
{
    const Node *n = node_get(blk, key);
    if (!n || n->kind != NODE_SEQ)
        return 0;
    json_t *a = json_array();
    json_object_set_new(hc, field, a);
    bool io = strstr(key, "iops") != NULL;
    for (size_t i = 0; i < n->len; i++) {
        const char *path = scalar(n->vals[i], "path");
        const Node *rate = node_get(n->vals[i], "rate");
        if (!path || !node_is_scalar(rate))
            continue;
        int64_t v;
        long long l;
        if (io ? node_as_int(rate, &l) < 0 : bytes_parse(rate->str, &v) < 0) {
            *ret_err = xasprintf("%s: blkio_config.%s: \"%s\" is not a %s", what, key, rate->str,
                                 io ? "number" : "rate");
            return -1;
        }
        json_array_append_new(a, json_pack("{s:s, s:I}", "Path", path, "Rate", (json_int_t)(io ? l : v)));
    }
    return 0;
}

static int blkio(json_t *hc, const Node *svc, const char *what, char **ret_err)
{
    const Node *b = node_get(svc, "blkio_config");
    if (!b || b->kind != NODE_MAP)
        return 0;
    if (set_int(hc, "BlkioWeight", b, "weight", what, ret_err) < 0)
        return -1;
    const Node *wd = node_get(b, "weight_device");
    if (wd && wd->kind == NODE_SEQ) {
        json_t *a = json_array();
        for (size_t i = 0; i < wd->len; i++) {
            const char *path = scalar(wd->vals[i], "path");
            long long w;
            if (path && node_as_int(node_get(wd->vals[i], "weight"), &w) == 0)
                json_array_append_new(a, json_pack("{s:s, s:I}", "Path", path, "Weight", (json_int_t)w));
        }
        json_object_set_new(hc, "BlkioWeightDevice", a);
    }
    static const char *const rates[][2] = {
        {"device_read_bps", "BlkioDeviceReadBps"},
        {"device_write_bps", "BlkioDeviceWriteBps"},
        {"device_read_iops", "BlkioDeviceReadIOps"},
        {"device_write_iops", "BlkioDeviceWriteIOps"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(rates); i++)
        if (blkio_rates(hc, b, rates[i][0], rates[i][1], what, ret_err) < 0)
            return -1;
    return 0;
}

static void logging(json_t *hc, const Node *svc)
{
    const Node *l = node_get(svc, "logging");
    if (!l || l->kind != NODE_MAP)
        return;
    const char *driver = scalar(l, "driver");
    json_t *lc = json_object();
    json_object_set_new(lc, "Type", json_string(driver ? driver : ""));
    json_t *opts = str_map(l, "options");
    if (opts)
        json_object_set_new(lc, "Config", opts);
    json_object_set_new(hc, "LogConfig", lc);
}

static int deploy_resources(json_t *hc, const Node *svc, const char *what, char **ret_err)
{
    const Node *r = node_get(node_get(svc, "deploy"), "resources");
    const Node *lim = node_get(r, "limits"), *res = node_get(r, "reservations");
    if (lim) {
        if (set_bytes(hc, "Memory", node_get(lim, "memory"), what, "deploy.resources.limits.memory", ret_err) < 0)
            return -1;
        const char *cpus = scalar(lim, "cpus");
        if (cpus) {
            char *end;
            double c = strtod(cpus, &end);
            if (*end || c < 0) {
                *ret_err = xasprintf("%s: deploy.resources.limits.cpus: \"%s\" is not a number", what, cpus);
                return -1;
            }
            if (c > 0)
                json_object_set_new(hc, "NanoCpus", json_integer((json_int_t)(c * 1e9)));
        }
        long long pids;
        if (node_as_int(node_get(lim, "pids"), &pids) == 0 && pids > 0)
            json_object_set_new(hc, "PidsLimit", json_integer(pids));
    }
    if (res && set_bytes(hc, "MemoryReservation", node_get(res, "memory"), what,
                         "deploy.resources.reservations.memory", ret_err) < 0)
        return -1;
    return 0;
}

/* ---- secrets and configs ---- */

typedef struct FileRef {
    const char *source; /* its name under the top-level key */
    char *target;       /* absolute, in the container */
    const Node *def;    /* the top-level definition */
    const Node *ref;    /* the service's entry (mode, uid, gid) */
} FileRef;

/* The index-th entry of a service's secrets or configs, resolved; false
 * when it names nothing (the loader reported that already). */
static bool file_ref(const Project *p, const Node *list, size_t i, bool secret, FileRef *ret)
{
    const Node *e = list->vals[i];
    const char *source = node_is_scalar(e) ? e->str : scalar(e, "source");
    if (!source)
        return false;
    const char *target = node_is_scalar(e) ? NULL : scalar(e, "target");
    const char *dir = secret ? "/run/secrets/" : "/";
    ret->source = source;
    ret->target = !target || !*target ? xasprintf("%s%s", dir, source)
                  : target[0] == '/'  ? xstrdup(target)
                                      : xasprintf("%s%s", dir, target);
    ret->def = node_get(node_get(p->tree, secret ? "secrets" : "configs"), source);
    ret->ref = node_is_scalar(e) ? NULL : e;
    return true;
}

static char *file_of(const Project *p, const Node *def)
{
    const char *f = scalar(def, "file");
    if (!f)
        return NULL;
    return path_absolute(p->workdir, f); /* the loader made it absolute already; kept for a tree built by hand */
}

static int file_mounts(const Project *p, const Service *s, json_t *mounts, bool secret, char **ret_err)
{
    const Node *list = node_get(s->node, secret ? "secrets" : "configs");
    const char *kind = secret ? "secret" : "config";
    if (!list || list->kind != NODE_SEQ)
        return 0;
    for (size_t i = 0; i < list->len; i++) {
        FileRef r;
        if (!file_ref(p, list, i, secret, &r))
            continue;
        _cleanup_free_ char *target = r.target;
        bool ext;
        if (node_as_bool(node_get(r.def, "external"), &ext) == 0 && ext) {
            *ret_err = xasprintf("the %s %s is external: a swarm object, which a local engine cannot mount", kind,
                                 r.source);
            return -1;
        }
        _cleanup_free_ char *file = file_of(p, r.def);
        if (!file)
            continue; /* environment: or content:, copied in before the start */
        struct stat st;
        if (stat(file, &st) < 0) {
            *ret_err = xasprintf("the %s %s: cannot use its file %s: %s", kind, r.source, file, strerror(errno));
            return -1;
        }
        json_array_append_new(mounts, json_pack("{s:s, s:s, s:s, s:b}", "Type", "bind", "Source", file, "Target",
                                                target, "ReadOnly", 1));
    }
    return 0;
}

static unsigned ref_number(const Node *ref, const char *key, unsigned dflt, int base)
{
    const char *v = ref ? scalar(ref, key) : NULL;
    if (!v)
        return dflt;
    char *end;
    unsigned long n = strtoul(v, &end, base);
    return *end ? dflt : (unsigned)n;
}

static int inline_files(const Project *p, const Service *s, StrBuf *tar, bool secret, char **ret_err)
{
    const Node *list = node_get(s->node, secret ? "secrets" : "configs");
    if (!list || list->kind != NODE_SEQ)
        return 0;
    int count = 0;
    for (size_t i = 0; i < list->len; i++) {
        FileRef r;
        if (!file_ref(p, list, i, secret, &r))
            continue;
        _cleanup_free_ char *target = r.target;
        const char *content = scalar(r.def, "content");
        const char *var = scalar(r.def, "environment");
        if (!content && var) {
            content = env_get(&p->env, var);
            if (!content) {
                *ret_err = xasprintf("the variable %s, which the %s %s takes its value from, is not set", var,
                                     secret ? "secret" : "config", r.source);
                return -1;
            }
        }
        if (!content)
            continue;
        /* The mode is octal in the file ("0440"), a number when YAML read
         * it as one: Compose takes it as written in octal either way. */
        if (sync_tar_file(tar, target + 1, content, strlen(content), ref_number(r.ref, "mode", 0444, 8),
                          ref_number(r.ref, "uid", 0, 10), ref_number(r.ref, "gid", 0, 10), (long long)time(NULL)) < 0) {
            *ret_err = xasprintf("the %s %s: its target %s is too long", secret ? "secret" : "config", r.source, target);
            return -1;
        }
        count++;
    }
    return count;
}

int hostcfg_files_tar(const Project *p, const Service *s, StrBuf *tar, char **ret_err)
{
    int a = inline_files(p, s, tar, true, ret_err);
    if (a < 0)
        return -1;
    int b = inline_files(p, s, tar, false, ret_err);
    if (b < 0)
        return -1;
    if (a + b > 0) {
        static const char end[1024];
        strbuf_append(tar, end, sizeof(end));
    }
    return a + b;
}

/* ---- the rest ---- */

/* "SERVICE[:ro|rw]" or "container:NAME[:ro|rw]" as the engine's
 * "CONTAINER[:ro|rw]". */
static json_t *volumes_from(const Project *p, const Node *svc, HostcfgNameFn ctr_name)
{
    const Node *n = node_get(svc, "volumes_from");
    if (!n || n->kind != NODE_SEQ)
        return NULL;
    json_t *a = json_array();
    for (size_t i = 0; i < n->len; i++) {
        if (!node_is_scalar(n->vals[i]))
            continue;
        const char *v = n->vals[i]->str;
        if (str_startswith(v, "container:")) {
            json_array_append_new(a, json_string(v + 10));
            continue;
        }
        const char *colon = strchr(v, ':');
        _cleanup_free_ char *name = colon ? xstrndup(v, (size_t)(colon - v)) : xstrdup(v);
        const Service *other = project_service(p, name);
        _cleanup_free_ char *ctr = other ? ctr_name(p, other) : xstrdup(name);
        _cleanup_free_ char *entry = xasprintf("%s%s", ctr, colon ? colon : "");
        json_array_append_new(a, json_string(entry));
    }
    return a;
}

/* links as docker compose v5 writes them: for "SERVICE[:ALIAS]" the
 * service's container under ALIAS (the service's name when not given),
 * SERVICE-1 and PROJECT-SERVICE-1; external_links as written. On a
 * user-defined network the engine keeps them in the endpoint, so they go
 * there too. */
static json_t *links(const Project *p, const Node *svc, HostcfgNameFn ctr_name)
{
    const Node *l = node_get(svc, "links"), *x = node_get(svc, "external_links");
    if ((!l || l->kind != NODE_SEQ) && (!x || x->kind != NODE_SEQ))
        return NULL;
    json_t *a = json_array();
    for (size_t i = 0; l && l->kind == NODE_SEQ && i < l->len; i++) {
        if (!node_is_scalar(l->vals[i]))
            continue;
        const char *v = l->vals[i]->str, *colon = strchr(v, ':');
        _cleanup_free_ char *name = colon ? xstrndup(v, (size_t)(colon - v)) : xstrdup(v);
        const Service *other = project_service(p, name);
        if (!other)
            continue;
        _cleanup_free_ char *ctr = ctr_name(p, other);
        char *forms[] = {
            xasprintf("%s:%s", ctr, colon ? colon + 1 : name),
            xasprintf("%s:%s-1", ctr, name),
            xasprintf("%s:%s-%s-1", ctr, p->name, name),
        };
        for (size_t k = 0; k < ARRAY_SIZE(forms); k++) {
            json_array_append_new(a, json_string(forms[k]));
            free(forms[k]);
        }
    }
    for (size_t i = 0; x && x->kind == NODE_SEQ && i < x->len; i++) {
        if (!node_is_scalar(x->vals[i]))
            continue;
        const char *v = x->vals[i]->str;
        _cleanup_free_ char *entry = strchr(v, ':') ? xstrdup(v) : xasprintf("%s:%s", v, v);
        json_array_append_new(a, json_string(entry));
    }
    return a;
}

int hostcfg_apply(const Project *p, const Service *s, HostcfgNameFn ctr_name, json_t *body, json_t *hc, json_t *mounts,
                  char **ret_err)
{
    const Node *n = s->node;
    _cleanup_free_ char *what = xasprintf("service %s", s->name);
    set_str(body, "Domainname", n, "domainname");
    set_str(body, "MacAddress", n, "mac_address");

    set_caps(hc, "CapAdd", n, "cap_add");
    set_caps(hc, "CapDrop", n, "cap_drop");
    set_bool(hc, "Privileged", n, "privileged");
    json_t *dv = devices(n);
    if (dv)
        json_object_set_new(hc, "Devices", dv);
    set_list(hc, "DeviceCgroupRules", n, "device_cgroup_rules");
    set_list(hc, "SecurityOpt", n, "security_opt");
    json_t *sc = str_map(n, "sysctls");
    if (sc)
        json_object_set_new(hc, "Sysctls", sc);
    json_t *so = str_map(n, "storage_opt");
    if (so)
        json_object_set_new(hc, "StorageOpt", so);
    set_list(hc, "Dns", n, "dns");
    set_list(hc, "DnsSearch", n, "dns_search");
    set_list(hc, "DnsOptions", n, "dns_opt");
    set_list(hc, "GroupAdd", n, "group_add");
    set_str(hc, "PidMode", n, "pid");
    set_str(hc, "IpcMode", n, "ipc");
    set_str(hc, "UTSMode", n, "uts");
    set_str(hc, "UsernsMode", n, "userns_mode");
    set_str(hc, "CgroupnsMode", n, "cgroup");
    set_str(hc, "CgroupParent", n, "cgroup_parent");
    set_str(hc, "Isolation", n, "isolation");
    set_str(hc, "Runtime", n, "runtime");
    set_str(hc, "CpusetCpus", n, "cpuset");
    set_bool(hc, "OomKillDisable", n, "oom_kill_disable");
    json_t *vf = volumes_from(p, n, ctr_name);
    if (vf)
        json_object_set_new(hc, "VolumesFrom", vf);
    json_t *lk = links(p, n, ctr_name);
    if (lk) {
        const char *net;
        json_t *ep;
        json_object_foreach(json_object_get(json_object_get(body, "NetworkingConfig"), "EndpointsConfig"), net, ep)
            json_object_set(ep, "Links", lk);
        json_object_set_new(hc, "Links", lk);
    }
    logging(hc, n);

    static const char *const ints[][2] = {
        {"OomScoreAdj", "oom_score_adj"},   {"PidsLimit", "pids_limit"},   {"CpuShares", "cpu_shares"},
        {"CpuPeriod", "cpu_period"},        {"CpuQuota", "cpu_quota"},     {"CpuCount", "cpu_count"},
        {"MemorySwappiness", "mem_swappiness"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(ints); i++)
        if (set_int(hc, ints[i][0], n, ints[i][1], what, ret_err) < 0)
            return -1;
    if (set_micros(hc, "CpuRealtimePeriod", n, "cpu_rt_period", what, ret_err) < 0 ||
        set_micros(hc, "CpuRealtimeRuntime", n, "cpu_rt_runtime", what, ret_err) < 0)
        return -1;
    if (set_bytes(hc, "MemoryReservation", node_get(n, "mem_reservation"), what, "mem_reservation", ret_err) < 0 ||
        set_bytes(hc, "MemorySwap", node_get(n, "memswap_limit"), what, "memswap_limit", ret_err) < 0 ||
        blkio(hc, n, what, ret_err) < 0 || deploy_resources(hc, n, what, ret_err) < 0)
        return -1;
    if (file_mounts(p, s, mounts, true, ret_err) < 0 || file_mounts(p, s, mounts, false, ret_err) < 0)
        return -1;
    return 0;
}
