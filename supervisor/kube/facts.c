/* facts: what the export needs to know about a service, shared by build.c
 * (the objects) and workload.c (the pods): where things were written, the
 * ports it is reached on, what kind of server it is, its labels, and the
 * warning for what is left out. */
#include "kube/facts.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *build_rel(Builder *b, const char *file)
{
    size_t n = strlen(b->p->workdir);
    if (file && strncmp(file, b->p->workdir, n) == 0 && file[n] == '/')
        return file + n + 1;
    return file;
}

/* "services.d/web.yaml:11" for an object's comment. */
const char *build_from(Builder *b, const Loc *loc)
{
    if (!loc || !loc->file)
        return NULL;
    return arena_printf(b->k->a, "%s:%d", build_rel(b, loc->file), loc->line);
}

void build_drop(Builder *b, const Service *s, const Node *at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    _cleanup_free_ char *msg = xvasprintf(fmt, ap);
    va_end(ap);
    diag_warning(b->d, at ? &at->loc : &s->loc, "services.%s: %s has no Kubernetes equivalent; left out", s->name, msg);
}

int build_target_port(const Service *s, int port)
{
    for (size_t i = 0; i < s->n_ports; i++) {
        const PortMapping *pm = &s->ports[i];
        if (pm->published_lo && (uint32_t)port >= pm->published_lo && (uint32_t)port <= pm->published_hi)
            return (int)(pm->target + ((uint32_t)port - pm->published_lo));
    }
    return port;
}

/* The port a native probe reaches, as the container sees it, or 0. */
int build_probe_port(const Service *s)
{
    const Probe *pr = &s->probe;
    switch (pr->kind) {
    case PROBE_POSTGRES:
    case PROBE_REDIS:
    case PROBE_TCP:
        return pr->port > 0 ? build_target_port(s, pr->port) : 0;
    case PROBE_HTTP: {
        UrlParts u;
        return build_url(pr->url, &u) == 0 ? build_target_port(s, u.port) : 0;
    }
    default:
        return 0;
    }
}

int build_url(const char *url, UrlParts *u)
{
    *u = (UrlParts){.scheme = "HTTP", .port = 80, .path = "/"};
    if (!url)
        return -EINVAL;
    const char *p = url;
    if (str_startswith(p, "https://")) {
        u->scheme = "HTTPS";
        u->port = 443;
        p += 8;
    } else if (str_startswith(p, "http://"))
        p += 7;
    else
        return -EINVAL;
    const char *slash = strchr(p, '/');
    size_t hostlen = slash ? (size_t)(slash - p) : strlen(p);
    const char *hs = p;
    if (p[0] == '[') { /* [v6]:port */
        const char *close = memchr(p, ']', hostlen);
        hs = close ? close : p + hostlen;
    }
    const char *colon = memchr(hs, ':', hostlen - (size_t)(hs - p));
    if (colon)
        u->port = atoi(colon + 1);
    if (slash)
        u->path = slash;
    return u->port > 0 && u->port <= 65535 ? 0 : -EINVAL;
}

bool build_image_is(const Service *s, const char *const *names)
{
    if (!s->image)
        return false;
    const char *base = strrchr(s->image, '/');
    base = base ? base + 1 : s->image;
    for (; *names; names++)
        if (str_startswith(base, *names) &&
            (base[strlen(*names)] == '\0' || base[strlen(*names)] == ':' || base[strlen(*names)] == '@'))
            return true;
    return false;
}

bool build_is_postgres(const Service *s)
{
    static const char *const n[] = {"postgres", "postgis", NULL};
    return s->probe.kind == PROBE_POSTGRES || build_image_is(s, n);
}

bool build_is_redis(const Service *s)
{
    static const char *const n[] = {"redis", "valkey", NULL};
    return s->probe.kind == PROBE_REDIS || build_image_is(s, n);
}

/* True when no other exported service mounts the named volume vol. */
bool build_volume_alone(Builder *b, const Service *s, const char *vol)
{
    for (size_t i = 0; i < b->p->n_services; i++) {
        const Service *o = b->p->services[i];
        for (size_t m = 0; o != s && b->info[i].exported && m < o->n_mounts; m++)
            if (o->mounts[m].type == VOLUME_VOLUME && strnull_eq(o->mounts[m].source, vol))
                return false;
    }
    return true;
}

const Volume *build_volume(const Project *p, const char *key)
{
    for (size_t i = 0; i < p->n_volumes; i++)
        if (streq(p->volumes[i].key, key))
            return &p->volumes[i];
    return NULL;
}

static bool label_name_valid(const char *s, size_t n)
{
    if (n == 0 || n > 63)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && !((c == '-' || c == '_' || c == '.') && i > 0 && i + 1 < n))
            return false;
    }
    return true;
}

bool build_label_valid(const char *key, const char *val)
{
    const char *slash = strchr(key, '/');
    const char *name = slash ? slash + 1 : key;
    if (slash && (slash == key || slash - key > 253))
        return false;
    return label_name_valid(name, strlen(name)) && (!*val || label_name_valid(val, strlen(val)));
}

Node *build_labels(Builder *b, const char *name)
{
    Node *l = kmap(b->k);
    kset(b->k, l, "app.kubernetes.io/name", kstr(b->k, name));
    kset(b->k, l, "app.kubernetes.io/part-of", kstr(b->k, b->k->project));
    kset(b->k, l, "app.kubernetes.io/managed-by", kstr(b->k, "tend"));
    return l;
}

Node *build_selector(Builder *b, const char *name)
{
    Node *l = kmap(b->k);
    kset(b->k, l, "app.kubernetes.io/name", kstr(b->k, name));
    kset(b->k, l, "app.kubernetes.io/part-of", kstr(b->k, b->k->project));
    return l;
}

