/* docker-down: tend down, and stop, start or restart on the project's
 * containers by label, level by level in dependency order. Part of the
 * container runtime (docker.c, docker-int.h). */
#include "engine/docker-int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- down ---- */

typedef struct DownItem {
    char *id;
    char *name;
    char *service;
    int level;     /* stop order: higher first */
    int timeout_s; /* grace before the engine kills */
} DownItem;

typedef struct Down {
    DockerRt *d;
    const char *action; /* NULL: down; else "stop", "start" or "restart" */
    StrVec only;        /* services to act on; empty: all */
    bool volumes;
    bool remove_orphans;
    int timeout_s;
    DownItem *items;
    size_t n;
    int level;     /* the level being stopped */
    size_t pending;
    /* Removals wait here and go DOWN_RM_MAX at a time: Docker 20.10 keeps
     * stale endpoints on the network when a few hundred containers are
     * removed at once, and the network can then never be removed. */
    DownItem **rm_queue;
    size_t rm_head, rm_len, rm_inflight;
    char *err;
    void (*done)(void *ud, bool ok, const char *err);
    void *ud;
} Down;

#define DOWN_RM_MAX 8

static void down_finish(Down *w)
{
    w->done(w->ud, w->err == NULL, w->err);
    strvec_free(&w->only);
    for (size_t i = 0; i < w->n; i++) {
        free(w->items[i].id);
        free(w->items[i].name);
        free(w->items[i].service);
    }
    free(w->items);
    free(w->rm_queue);
    free(w->err);
    free(w);
}

static void down_note_err(Down *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void down_note_err(Down *w, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *m = xvasprintf(fmt, ap);
    va_end(ap);
    logmux_system(w->d->mux, NULL, "%s", m);
    if (!w->err)
        w->err = m;
    else
        free(m);
}

static void down_volumes(Down *w);

static void on_vol_removed(void *ud, int status, json_t *body, const char *err)
{
    Down *w = ud;
    (void)body;
    if (err && status != 404)
        down_note_err(w, "cannot remove a volume: %s", err);
    if (--w->pending == 0)
        down_finish(w);
}

static void on_vols_listed(void *ud, int status, json_t *body, const char *err)
{
    Down *w = ud;
    json_t *vols = json_object_get(body, "Volumes");
    if (status != 200) {
        down_note_err(w, "cannot list volumes: %s", err ? err : "no answer");
        down_finish(w);
        return;
    }
    w->pending = 1;
    size_t i;
    json_t *v;
    json_array_foreach(vols, i, v)
    {
        const char *name = json_string_value(json_object_get(v, "Name"));
        if (!name)
            continue;
        logmux_system(w->d->mux, NULL, "removing volume %s", name);
        char *e = engine_escape(name);
        char *path = xasprintf("/volumes/%s", e);
        w->pending++;
        engine_request(w->d->e, "DELETE", path, NULL, on_vol_removed, w);
        free(path);
        free(e);
    }
    on_vol_removed(w, 204, NULL, NULL);
}

static void down_volumes(Down *w)
{
    if (!w->volumes) {
        down_finish(w);
        return;
    }
    char *f = label_filter(w->d->p->name, NULL);
    char *path = xasprintf("/volumes?filters=%s", f);
    engine_request(w->d->e, "GET", path, NULL, on_vols_listed, w);
    free(path);
    free(f);
}

/* One network being removed. The engine refuses while it still holds an
 * endpoint of a container removed an instant before (it lets go of them a
 * moment later, more so when busy: after 200 containers Docker 20.10 took
 * more than 5 s): asked again every 200 ms, up to 30 s. */
typedef struct NetRm {
    uv_timer_t timer; /* started on the first refusal */
    bool timer_init;
    Down *w;
    char *id;
    int tries;
} NetRm;

static void on_net_removed(void *ud, int status, json_t *body, const char *err);

static void net_rm_free(uv_handle_t *h)
{
    free(h->data);
}

static void net_rm_send(NetRm *x)
{
    char *path = xasprintf("/networks/%s", x->id);
    engine_request(x->w->d->e, "DELETE", path, NULL, on_net_removed, x);
    free(path);
}

static void on_net_retry(uv_timer_t *t)
{
    net_rm_send(t->data);
}

static void on_net_removed(void *ud, int status, json_t *body, const char *err)
{
    NetRm *x = ud;
    Down *w = x->w;
    (void)body;
    if (err && strstr(err, "active endpoints") && x->tries++ < 150) {
        if (!x->timer_init) {
            uv_timer_init(w->d->loop, &x->timer);
            x->timer.data = x;
            x->timer_init = true;
        }
        uv_timer_start(&x->timer, on_net_retry, 200, 0);
        return;
    }
    if (err && status != 404)
        down_note_err(w, "cannot remove a network: %s", err);
    free(x->id);
    if (x->timer_init)
        uv_close((uv_handle_t *)&x->timer, net_rm_free);
    else
        free(x);
    if (--w->pending == 0)
        down_volumes(w);
}

static void on_nets_listed(void *ud, int status, json_t *body, const char *err)
{
    Down *w = ud;
    if (status != 200 || !json_is_array(body)) {
        down_note_err(w, "cannot list networks: %s", err ? err : "no answer");
        down_volumes(w);
        return;
    }
    w->pending = 1;
    size_t i;
    json_t *n;
    json_array_foreach(body, i, n)
    {
        const char *id = json_string_value(json_object_get(n, "Id"));
        const char *name = json_string_value(json_object_get(n, "Name"));
        if (!id)
            continue;
        logmux_system(w->d->mux, NULL, "removing network %s", name ? name : id);
        NetRm *x = xcalloc(1, sizeof *x);
        x->w = w;
        x->id = xstrdup(id);
        w->pending++;
        net_rm_send(x);
    }
    if (--w->pending == 0)
        down_volumes(w);
}

static void down_networks(Down *w)
{
    char *f = label_filter(w->d->p->name, NULL);
    char *path = xasprintf("/networks?filters=%s", f);
    engine_request(w->d->e, "GET", path, NULL, on_nets_listed, w);
    free(path);
    free(f);
}

static void down_level(Down *w);

static void down_item_done(Down *w)
{
    if (--w->pending == 0) {
        w->level--;
        down_level(w);
    }
}

static void down_rm_pump(Down *w);

static void on_ctr_removed(void *ud, int status, json_t *body, const char *err)
{
    Down *w = ud;
    (void)body;
    if (err && status != 404)
        down_note_err(w, "cannot remove a container: %s", err);
    w->rm_inflight--;
    down_rm_pump(w);
    down_item_done(w);
}

/* Sends the queued removals, DOWN_RM_MAX in flight at most. */
static void down_rm_pump(Down *w)
{
    while (w->rm_inflight < DOWN_RM_MAX && w->rm_head < w->rm_len) {
        DownItem *it = w->rm_queue[w->rm_head++];
        w->rm_inflight++;
        logmux_system(w->d->mux, it->service, "removing container %s", it->name);
        char *path = xasprintf("/containers/%s?force=1%s", it->id, w->volumes ? "&v=1" : "");
        engine_request(w->d->e, "DELETE", path, NULL, on_ctr_removed, w);
        free(path);
    }
}

typedef struct DownStop {
    Down *w;
    DownItem *it;
} DownStop;

static void on_ctr_stopped(void *ud, int status, json_t *body, const char *err)
{
    DownStop *x = ud;
    Down *w = x->w;
    DownItem *it = x->it;
    free(x);
    (void)body;
    if (err && status != 304 && status != 404)
        down_note_err(w, "cannot %s %s: %s", w->action ? w->action : "stop", it->name, err);
    if (w->action) {
        if (!err || status == 304)
            logmux_system(w->d->mux, it->service, "%s", streq(w->action, "stop")      ? "stopped"
                                                          : streq(w->action, "start") ? "started"
                                                                                      : "restarted");
        down_item_done(w);
        return;
    }
    if (!w->rm_queue)
        w->rm_queue = xcalloc(w->n ? w->n : 1, sizeof *w->rm_queue);
    w->rm_queue[w->rm_len++] = it;
    down_rm_pump(w);
}

/* Stops and removes the containers of the current level, all at once, then
 * goes one level down. */
static void down_level(Down *w)
{
    for (; w->level >= 0; w->level--) {
        w->pending = 0;
        for (size_t i = 0; i < w->n; i++)
            if (w->items[i].level == w->level)
                w->pending++;
        if (w->pending == 0)
            continue;
        for (size_t i = 0; i < w->n; i++) {
            DownItem *it = &w->items[i];
            if (it->level != w->level)
                continue;
            const char *verb = w->action ? w->action : "stop";
            if (!w->action)
                logmux_system(w->d->mux, it->service, "stopping container %s", it->name);
            DownStop *x = xcalloc(1, sizeof(*x));
            x->w = w;
            x->it = it;
            char *path = streq(verb, "start") ? xasprintf("/containers/%s/start", it->id)
                                              : xasprintf("/containers/%s/%s?t=%d", it->id, verb, it->timeout_s);
            engine_request(w->d->e, "POST", path, NULL, on_ctr_stopped, x);
            free(path);
        }
        return;
    }
    if (w->action)
        down_finish(w);
    else
        down_networks(w);
}

static int service_level(const Project *p, const Service *s, int depth)
{
    int lvl = 0;
    if (depth > 64)
        return 0;
    for (size_t i = 0; i < s->n_deps; i++) {
        int l = 1 + service_level(p, p->services[s->deps[i].index], depth + 1);
        if (l > lvl)
            lvl = l;
    }
    return lvl;
}

static void on_down_listed(void *ud, int status, json_t *body, const char *err)
{
    Down *w = ud;
    if (status != 200 || !json_is_array(body)) {
        down_note_err(w, "cannot list the project's containers: %s", err ? err : "no answer");
        down_finish(w);
        return;
    }
    const Project *p = w->d->p;
    size_t n = json_array_size(body);
    w->items = xcalloc(n ? n : 1, sizeof(DownItem));
    int top = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *c = json_array_get(body, i);
        const char *svc = json_string_value(json_object_get(json_object_get(c, "Labels"), LABEL_SERVICE));
        const char *name = json_string_value(json_array_get(json_object_get(c, "Names"), 0));
        const char *id = json_string_value(json_object_get(c, "Id"));
        if (!id)
            continue;
        const Service *s = svc ? project_service(p, svc) : NULL;
        if (w->only.n && (!svc || !strvec_contains(&w->only, svc)))
            continue;
        if (!s && w->action)
            continue;
        if (!s && !w->remove_orphans) {
            logmux_system(w->d->mux, NULL,
                          "orphan container %s (service \"%s\" is not in the file); use --remove-orphans to remove it",
                          name ? name + 1 : id, svc ? svc : "?");
            continue;
        }
        DownItem *it = &w->items[w->n++];
        it->id = xstrdup(id);
        it->name = xstrdup(name ? name + (name[0] == '/') : id);
        it->service = svc ? xstrdup(svc) : NULL;
        it->level = s ? service_level(p, s, 0) : -1;
        it->timeout_s = w->timeout_s >= 0 ? w->timeout_s : s ? (int)(s->stop_grace_period / 1000000000LL) : 10;
        if (it->level > top)
            top = it->level;
    }
    /* Orphans go first, with the dependents. */
    for (size_t i = 0; i < w->n; i++)
        if (w->items[i].level < 0)
            w->items[i].level = top + 1;
    /* start goes the other way: dependencies first. */
    if (w->action && streq(w->action, "start"))
        for (size_t i = 0; i < w->n; i++)
            w->items[i].level = top + 1 - w->items[i].level;
    w->level = top + 1;
    down_level(w);
}

static void on_down_connected(void *ud, bool ok, const char *err)
{
    Down *w = ud;
    if (!ok) {
        down_note_err(w, "%s", err);
        down_finish(w);
        return;
    }
    json_t *f = json_object();
    json_t *labels = json_array();
    char *a = xasprintf("%s=%s", LABEL_PROJECT, w->d->p->name);
    json_array_append_new(labels, json_string(a));
    free(a);
    json_object_set_new(f, "label", labels);
    char *fs = json_dumps(f, JSON_COMPACT);
    json_decref(f);
    char *e = engine_escape(fs);
    free(fs);
    char *path = xasprintf("/containers/json?all=1&filters=%s", e);
    engine_request(w->d->e, "GET", path, NULL, on_down_listed, w);
    free(path);
    free(e);
}

void docker_down(DockerRt *d, bool volumes, int timeout_s, bool remove_orphans,
                 void (*done)(void *ud, bool ok, const char *err), void *ud)
{
    Down *w = xcalloc(1, sizeof(*w));
    w->d = d;
    w->volumes = volumes;
    w->remove_orphans = remove_orphans;
    w->timeout_s = timeout_s;
    w->done = done;
    w->ud = ud;
    engine_connect(d->e, on_down_connected, w);
}

void docker_each(DockerRt *d, const char *action, const StrVec *services, int timeout_s,
                 void (*done)(void *ud, bool ok, const char *err), void *ud)
{
    Down *w = xcalloc(1, sizeof(*w));
    w->d = d;
    w->action = action;
    for (size_t i = 0; services && i < services->n; i++)
        strvec_push(&w->only, services->v[i]);
    w->timeout_s = timeout_s;
    w->done = done;
    w->ud = ud;
    engine_connect(d->e, on_down_connected, w);
}
