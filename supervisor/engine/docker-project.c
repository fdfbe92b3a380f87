/* docker-project: the project's networks and volumes, made (or found) while
 * preparing, with the lists preparing takes (the project's containers,
 * the engine's images, its version), and the runtime's own life: new,
 * settings, free. Part of the container runtime (docker.c, docker-int.h). */
#include "engine/docker-int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- the project: networks, volumes ---- */

static void prep_step_done(DockerRt *d, const char *err)
{
    if (err && !d->prep_err)
        d->prep_err = xstrdup(err);
    if (--d->prep_pending > 0)
        return;
    if (!d->prep_err) {
        open_events(d, NULL);
        d->prepared = true;
    }
    if (d->prep_done)
        d->prep_done(d->prep_ud, d->prep_err == NULL, d->prep_err);
}

typedef struct PrepCtx {
    DockerRt *d;
    json_t *create; /* body to create when missing; NULL: external, must exist */
    char *name;
    bool is_network;
} PrepCtx;

static void on_prep_created(void *ud, int status, json_t *body, const char *err)
{
    PrepCtx *x = ud;
    (void)body;
    char *msg = NULL;
    if (err && status != 409) /* 409: made meanwhile by someone else */
        msg = xasprintf("cannot create %s %s: %s", x->is_network ? "network" : "volume", x->name, err);
    DockerRt *d = x->d;
    json_decref(x->create);
    free(x->name);
    free(x);
    prep_step_done(d, msg);
    free(msg);
}

static void on_prep_inspect(void *ud, int status, json_t *body, const char *err)
{
    PrepCtx *x = ud;
    (void)body;
    DockerRt *d = x->d;
    if (status == 200) {
        json_decref(x->create);
        free(x->name);
        free(x);
        prep_step_done(d, NULL);
        return;
    }
    if (status == 404 && x->create) {
        engine_request(d->e, "POST", x->is_network ? "/networks/create" : "/volumes/create", x->create,
                       on_prep_created, x);
        return;
    }
    char *msg = status == 404 ? xasprintf("external %s %s does not exist: create it first",
                                          x->is_network ? "network" : "volume", x->name)
                              : xasprintf("cannot inspect %s %s: %s", x->is_network ? "network" : "volume",
                                          x->name, err ? err : "unknown error");
    json_decref(x->create);
    free(x->name);
    free(x);
    prep_step_done(d, msg);
    free(msg);
}

json_t *labels_json(const Env *user, const char *project, const char *key, const char *kind)
{
    json_t *l = json_object();
    for (size_t i = 0; user && i < user->n; i++)
        json_object_set_new(l, user->keys[i], json_string(user->vals[i] ? user->vals[i] : ""));
    json_object_set_new(l, LABEL_PROJECT, json_string(project));
    if (key)
        json_object_set_new(l, kind, json_string(key));
    return l;
}

/* The create bodies of a network and a volume; NULL for external ones. */
json_t *network_body(const Project *p, const Network *n)
{
    if (n->external)
        return NULL;
    json_t *b = json_object();
    json_object_set_new(b, "Name", json_string(n->name));
    json_object_set_new(b, "Driver", json_string(n->driver ? n->driver : "bridge"));
    json_object_set_new(b, "Internal", json_boolean(n->internal));
    json_object_set_new(b, "Attachable", json_true());
    json_object_set_new(b, "CheckDuplicate", json_true());
    json_object_set_new(b, "Labels", labels_json(&n->labels, p->name, n->key, LABEL_NETWORK));
    return b;
}

json_t *volume_body(const Project *p, const Volume *v)
{
    if (v->external)
        return NULL;
    json_t *b = json_object();
    json_object_set_new(b, "Name", json_string(v->name));
    json_object_set_new(b, "Driver", json_string(v->driver ? v->driver : "local"));
    json_object_set_new(b, "Labels", labels_json(&v->labels, p->name, v->key, LABEL_VOLUME));
    return b;
}

static void on_ignore(void *ud, int status, json_t *body, const char *err)
{
    (void)ud;
    (void)status;
    (void)body;
    (void)err;
}

static void on_orphans_listed(void *ud, int status, json_t *body, const char *err)
{
    DockerRt *d = ud;
    if (status != 200 || !json_is_array(body)) {
        char *m = xasprintf("cannot list the project's containers: %s", err ? err : "no answer");
        prep_step_done(d, m);
        free(m);
        return;
    }
    json_decref(d->existing);
    d->existing = json_incref(body);
    size_t i;
    json_t *c;
    json_array_foreach(body, i, c)
    {
        json_t *labels = json_object_get(c, "Labels");
        const char *svc = json_string_value(json_object_get(labels, LABEL_SERVICE));
        const char *oneoff = json_string_value(json_object_get(labels, LABEL_ONEOFF));
        const char *name = json_string_value(json_array_get(json_object_get(c, "Names"), 0));
        const char *id = json_string_value(json_object_get(c, "Id"));
        if (!id || (svc && project_service(d->p, svc)) || (oneoff && streq(oneoff, "True")))
            continue;
        name = name ? name + (name[0] == '/') : id;
        if (d->remove_orphans) {
            logmux_system(d->mux, NULL, "removing orphan container %s", name);
            char *path = xasprintf("/containers/%s?force=1", id);
            engine_request(d->e, "DELETE", path, NULL, on_ignore, NULL);
            free(path);
        } else {
            logmux_system(d->mux, NULL,
                          "orphan container %s (service \"%s\" is not in the file); --remove-orphans removes it",
                          name, svc ? svc : "?");
        }
    }
    prep_step_done(d, NULL);
}

/* The image list lets a warm rerun see whether an image changed without an
 * inspect per service. It is an optimisation: without it each container's
 * image is inspected. */
static void on_images_listed(void *ud, int status, json_t *body, const char *err)
{
    DockerRt *d = ud;
    (void)err;
    if (status == 200 && json_is_array(body)) {
        json_decref(d->images);
        d->images = json_incref(body);
    }
    prep_step_done(d, NULL);
}

/* The project's recent container events (since the longest stop grace
 * period, and a little more): which containers were sent a stop signal and
 * have not ended yet. Docker has no "stopping" state to tell them by. */
static void on_recent_event(void *ud, json_t *ev)
{
    DockerRt *d = ud;
    const char *action = json_string_value(json_object_get(ev, "Action"));
    json_t *actor = json_object_get(ev, "Actor");
    const char *id = json_string_value(json_object_get(actor, "ID"));
    if (!action || !id)
        return;
    if (streq(action, "kill")) {
        const char *sig = json_string_value(json_object_get(json_object_get(actor, "Attributes"), "signal"));
        json_t *k = json_object();
        json_object_set_new(k, "ns", json_integer(json_integer_value(json_object_get(ev, "timeNano"))));
        json_object_set_new(k, "signal", json_integer(sig ? atoi(sig) : 0));
        json_object_set_new(d->stopping, id, k);
    } else if (streq(action, "die") || streq(action, "start") || streq(action, "destroy")) {
        json_object_del(d->stopping, id);
    }
}

static void on_recent_chunk(void *ud, const char *data, size_t len)
{
    DockerRt *d = ud;
    jsonlines_feed(&d->recent_lines, data, len, on_recent_event, d);
}

static void recent_end(DockerRt *d)
{
    d->recent = NULL;
    jsonlines_free(&d->recent_lines);
    if (d->recent_timer)
        uv_close((uv_handle_t *)d->recent_timer, (uv_close_cb)free);
    d->recent_timer = NULL;
    prep_step_done(d, NULL);
}

/* A safeguard, not a step that can fail: without the events nothing is
 * waited for. */
static void on_recent_done(void *ud, int status, json_t *body, const char *err)
{
    (void)status;
    (void)body;
    (void)err;
    recent_end(ud);
}

/* An engine that keeps the stream open past `until` (its clock behind
 * tend's, or one that follows its event log regardless) is not waited
 * for: what came by then is used. */
static void on_recent_timeout(uv_timer_t *t)
{
    DockerRt *d = t->data;
    if (d->recent)
        engine_cancel(d->recent);
    recent_end(d);
}

static void ask_recent(DockerRt *d)
{
    const Project *p = d->p;
    int64_t grace = 10 * 1000000000LL;
    for (size_t i = 0; i < p->n_services; i++)
        if (p->services[i]->stop_grace_period > grace)
            grace = p->services[i]->stop_grace_period;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    long long since = (long long)ts.tv_sec - grace / 1000000000LL - 5;
    json_t *filters = json_pack("{s:[s+], s:[s], s:[s, s, s, s]}", "label", LABEL_PROJECT "=", p->name, "type",
                                "container", "event", "kill", "die", "start", "destroy");
    _cleanup_free_ char *f = json_dumps(filters, JSON_COMPACT);
    json_decref(filters);
    _cleanup_free_ char *fe = engine_escape(f);
    _cleanup_free_ char *path =
        xasprintf("/events?since=%lld&until=%lld.%09ld&filters=%s", since, (long long)ts.tv_sec, ts.tv_nsec, fe);
    json_decref(d->stopping);
    d->stopping = json_object();
    d->prep_pending++;
    d->recent = engine_stream(d->e, "GET", path, NULL, on_recent_chunk, on_recent_done, d);
    d->recent_timer = xcalloc(1, sizeof *d->recent_timer);
    uv_timer_init(d->loop, d->recent_timer);
    d->recent_timer->data = d;
    uv_timer_start(d->recent_timer, on_recent_timeout, 1000, 0);
}

/* Which engine: Podman runs a container's healthcheck only from a systemd
 * timer, so without systemd it never runs; tend then runs it (below). */
static void on_version(void *ud, int status, json_t *body, const char *err)
{
    DockerRt *d = ud;
    (void)err;
    size_t i;
    json_t *comp;
    json_array_foreach(json_object_get(body, "Components"), i, comp)
    {
        const char *name = json_string_value(json_object_get(comp, "Name"));
        if (status == 200 && name && strstr(name, "Podman"))
            d->podman = true;
    }
    prep_step_done(d, NULL);
}

/* The image ID a reference names in the list from preparing, or NULL when
 * it is not there (the caller then asks the engine). */
const char *cached_image_id(DockerRt *d, const char *ref)
{
    if (!d->images)
        return NULL;
    const char *r = ref;
    if (strncmp(r, "docker.io/library/", 18) == 0)
        r += 18;
    else if (strncmp(r, "docker.io/", 10) == 0)
        r += 10;
    if (strchr(r, '@'))
        return NULL;
    const char *slash = strrchr(r, '/');
    bool tagged = strchr(slash ? slash : r, ':') != NULL;
    _cleanup_free_ char *want = tagged ? xstrdup(r) : xasprintf("%s:latest", r);
    size_t i;
    json_t *img;
    json_array_foreach(d->images, i, img)
    {
        size_t k;
        json_t *tag;
        json_array_foreach(json_object_get(img, "RepoTags"), k, tag)
        {
            const char *t = json_string_value(tag);
            if (t && streq(t, want))
                return json_string_value(json_object_get(img, "Id"));
        }
    }
    return NULL;
}

void docker_set_build(DockerRt *d, bool on)
{
    d->build_all = on;
}

void docker_set_console_size(DockerRt *d, unsigned rows, unsigned cols)
{
    d->console_rows = rows;
    d->console_cols = cols;
}

void docker_set_create_only(DockerRt *d, bool on)
{
    d->create_only = on;
}

void docker_set_remove_orphans(DockerRt *d, bool on)
{
    d->remove_orphans = on;
}

static void on_connected(void *ud, bool ok, const char *err)
{
    DockerRt *d = ud;
    if (!ok) {
        d->prep_pending = 1;
        prep_step_done(d, err);
        return;
    }
    const Project *p = d->p;
    d->prep_pending = 1; /* held until every request is out */
    for (size_t i = 0; i < p->n_networks; i++) {
        const Network *n = &p->networks[i];
        PrepCtx *x = xcalloc(1, sizeof(*x));
        x->d = d;
        x->name = xstrdup(n->name);
        x->is_network = true;
        x->create = network_body(p, n);
        char *e = engine_escape(n->name);
        char *path = xasprintf("/networks/%s", e);
        d->prep_pending++;
        engine_request(d->e, "GET", path, NULL, on_prep_inspect, x);
        free(path);
        free(e);
    }
    for (size_t i = 0; i < p->n_volumes; i++) {
        const Volume *v = &p->volumes[i];
        PrepCtx *x = xcalloc(1, sizeof(*x));
        x->d = d;
        x->name = xstrdup(v->name);
        x->create = volume_body(p, v);
        char *e = engine_escape(v->name);
        char *path = xasprintf("/volumes/%s", e);
        d->prep_pending++;
        engine_request(d->e, "GET", path, NULL, on_prep_inspect, x);
        free(path);
        free(e);
    }
    d->prep_pending++;
    engine_request(d->e, "GET", "/images/json", NULL, on_images_listed, d);
    d->prep_pending++;
    engine_request(d->e, "GET", "/version", NULL, on_version, d);
    ask_recent(d);
    {
        char *f = label_filter(p->name, NULL);
        char *path = xasprintf("/containers/json?all=1&filters=%s", f);
        d->prep_pending++;
        engine_request(d->e, "GET", path, NULL, on_orphans_listed, d);
        free(path);
        free(f);
    }
    prep_step_done(d, NULL);
}

DockerRt *docker_new(uv_loop_t *loop, const Project *p, LogMux *mux, char **ret_err)
{
    Engine *e = engine_new(loop, NULL, ret_err);
    if (!e)
        return NULL;
    DockerRt *d = xcalloc(1, sizeof(*d));
    d->loop = loop;
    d->p = p;
    d->mux = mux;
    d->e = e;
    return d;
}

void docker_set_other(DockerRt *d, void (*fn)(void *ud, const DockerOther *o), void *ud)
{
    d->other = fn;
    d->other_ud = ud;
}

Engine *docker_engine(DockerRt *d)
{
    return d->e;
}

void docker_prepare(DockerRt *d, void (*done)(void *ud, bool ok, const char *err), void *ud)
{
    d->prep_done = done;
    d->prep_ud = ud;
    engine_connect(d->e, on_connected, d);
}

static void on_settle_closed(uv_handle_t *h)
{
    free(h->data);
}

void docker_free(DockerRt *d)
{
    if (!d)
        return;
    while (d->list)
        docker_container_free(d->list);
    while (d->explains) {
        Explain *x = d->explains;
        d->explains = x->next;
        engine_cancel(x->req);
        json_decref(x->have);
        free(x);
    }
    if (d->events)
        engine_cancel(d->events);
    if (d->retry)
        uv_close((uv_handle_t *)d->retry, (uv_close_cb)free);
    if (d->soon)
        uv_close((uv_handle_t *)d->soon, (uv_close_cb)free);
    jsonlines_free(&d->event_lines);
    json_decref(d->existing);
    json_decref(d->images);
    json_decref(d->stopping);
    if (d->recent)
        engine_cancel(d->recent);
    if (d->recent_timer)
        uv_close((uv_handle_t *)d->recent_timer, (uv_close_cb)free);
    jsonlines_free(&d->recent_lines);
    strvec_free(&d->started);
    strvec_free(&d->built);
    engine_free(d->e);
    free(d->prep_err);
    if (d->settle_init)
        uv_close((uv_handle_t *)&d->settle_timer, on_settle_closed); /* frees d */
    else
        free(d);
}
