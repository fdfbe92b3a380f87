/* docker-adopt: a container's image (pulled or built when missing) and
 * which container a service gets: its existing one adopted or started
 * again, or a new one when its configuration or image changed. Part of
 * the container runtime (docker.c, docker-int.h). */
#include "engine/docker-int.h"

#include "load/gojson.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- images ---- */

static void on_pull_line(void *ud, json_t *obj)
{
    Container *c = ud;
    const char *status = json_string_value(json_object_get(obj, "status"));
    const char *id = json_string_value(json_object_get(obj, "id"));
    const char *error = json_string_value(json_object_get(obj, "error"));
    if (error) {
        logmux_system(c->d->mux, c->s->name, "pull: %s", error);
        return;
    }
    /* One line per layer and state change; the byte counts are left out. */
    if (status && !json_object_get(obj, "progressDetail")) {
        if (id)
            logmux_system(c->d->mux, c->s->name, "pull %s: %s %s", c->image, id, status);
        else
            logmux_system(c->d->mux, c->s->name, "pull %s: %s", c->image, status);
    } else if (status && id && (streq(status, "Pull complete") || streq(status, "Already exists"))) {
        logmux_system(c->d->mux, c->s->name, "pull %s: %s %s", c->image, id, status);
    }
}

static void on_pull_chunk(void *ud, const char *data, size_t len)
{
    Container *c = ud;
    jsonlines_feed(&c->pull_lines, data, len, on_pull_line, c);
}

static void check_image(Container *c);

static void on_pulled(void *ud, int status, json_t *body, const char *err)
{
    Container *c = ud;
    (void)status;
    (void)body;
    c->req = NULL;
    jsonlines_free(&c->pull_lines);
    if (err) {
        fail(c, "cannot pull image %s: %s", c->image, err);
        return;
    }
    check_image(c); /* a pull that failed half-way reports its error in the stream */
}

static void pull(Container *c)
{
    char *ref = xstrdup(c->image);
    const char *tag = "latest";
    char *at = strchr(ref, '@');
    char *colon = strrchr(ref, ':');
    if (!at && colon && !strchr(colon, '/')) {
        *colon = 0;
        tag = colon + 1;
    }
    char *er = engine_escape(ref), *et = engine_escape(tag);
    char *path = at ? xasprintf("/images/create?fromImage=%s", er) : xasprintf("/images/create?fromImage=%s&tag=%s", er, et);
    logmux_system(c->d->mux, c->s->name, "pulling %s", c->image);
    c->req = engine_stream(c->d->e, "POST", path, NULL, on_pull_chunk, on_pulled, c);
    free(path);
    free(er);
    free(et);
    free(ref);
}

static void on_image(void *ud, int status, json_t *body, const char *err)
{
    Container *c = ud;
    c->req = NULL;
    const char *policy = c->s->pull_policy ? c->s->pull_policy : "missing";
    if (status == 200) {
        const char *id = json_string_value(json_object_get(body, "Id"));
        free(c->image_id);
        c->image_id = id ? xstrdup(id) : NULL;
        create(c);
        return;
    }
    if (status != 404) {
        fail(c, "cannot inspect image %s: %s", c->image, err ? err : "no answer");
        return;
    }
    if (c->s->build && !c->built && (!c->s->image || streq(policy, "build") || streq(policy, "missing"))) {
        build_image(c);
        return;
    }
    if (streq(policy, "never")) {
        fail(c, "image %s is not present and pull_policy is never", c->image);
        return;
    }
    if (c->pulled) {
        fail(c, "image %s is still missing after the pull", c->image);
        return;
    }
    c->pulled = true;
    pull(c);
}

static void on_build_line(void *ud, const char *line)
{
    Container *c = ud;
    logmux_system(c->d->mux, c->s->name, "build: %s", line);
}

static void on_built(void *ud, bool ok, const char *err)
{
    Container *c = ud;
    c->build = NULL;
    if (!ok) {
        fail(c, "cannot build image %s: %s", c->image, err ? err : "the build failed");
        return;
    }
    logmux_system(c->d->mux, c->s->name, "built %s", c->image);
    if (c->prebuild) {
        c->prebuild = false;
        look_up(c);
        return;
    }
    check_image(c);
}

/* build: the image is built by the engine from the context folder (the
 * classic builder), tagged as the service's image or PROJECT-SERVICE. */
void build_image(Container *c)
{
    const Build *b = c->s->build;
    c->built = true;
    logmux_system(c->d->mux, c->s->name, "building %s from %s", c->image, b->context);
    Env labels = {0};
    env_set(&labels, LABEL_PROJECT, c->d->p->name);
    env_set(&labels, LABEL_SERVICE, c->s->name);
    char *err = NULL;
    c->build = image_build(c->d->e, b->context, b->dockerfile, b->target, &b->args, c->image, &labels,
                           on_build_line, on_built, c, &err);
    env_free(&labels);
    if (!c->build) {
        fail(c, "cannot build image %s: %s", c->image, err ? err : "unknown error");
        free(err);
    }
}

static void check_image(Container *c)
{
    char *e = engine_escape(c->image);
    char *path = xasprintf("/images/%s/json", e);
    c->req = engine_request(c->d->e, "GET", path, NULL, on_image, c);
    free(path);
    free(e);
}

/* ---- adoption ---- */

void on_removed_old(void *ud, int status, json_t *body, const char *err)
{
    Container *c = ud;
    (void)body;
    c->req = NULL;
    if (err && status == 409 && strstr(err, "already in progress") && c->id && !c->waited_removal) {
        /* Being removed already (a tend down killed half-way): the
         * engine says when it is gone. */
        c->waited_removal = true;
        logmux_system(c->d->mux, c->s->name, "waiting for the engine to finish removing %s", c->name);
        char *path = xasprintf("/containers/%s/wait?condition=removed", c->id);
        c->req = engine_request(c->d->e, "POST", path, NULL, on_removed_old, c);
        free(path);
        return;
    }
    if (err && status != 404 && !(c->waited_removal && status == 200)) {
        fail(c, "cannot remove the old container %s: %s", c->name, err);
        return;
    }
    const char *policy = c->s->pull_policy ? c->s->pull_policy : "missing";
    if (streq(policy, "build") && c->s->build && !c->built) {
        build_image(c);
    } else if (streq(policy, "always")) {
        c->pulled = true;
        pull(c);
    } else {
        check_image(c);
    }
}

/* An adopted container is known from the list: its address and health
 * are there, and its tty setting is the file's (the hash is unchanged), so
 * no inspect is needed; a warm rerun costs two requests per service. */
static void adopt(Container *c, json_t *entry)
{
    c->tty = c->s->tty;
    json_t *nets = json_object_get(json_object_get(entry, "NetworkSettings"), "Networks");
    const char *k;
    json_t *v;
    json_object_foreach(nets, k, v)
    {
        const char *ip = json_string_value(json_object_get(v, "IPAddress"));
        if (ip && *ip) {
            snprintf(c->ip, sizeof(c->ip), "%s", ip);
            break;
        }
    }
    const char *status = json_string_value(json_object_get(entry, "Status"));
    c->health_known_healthy = status && strstr(status, "(healthy)");
    c->adopted_ns = mono_ns();
    follow(c);
    hc_start(c);
    c->started_reported = true;
    c->cb.started(c->ud, true, NULL);
    if (c->health_known_healthy && c->cb.health)
        c->cb.health(c->ud, true);
}

void adopt_found(Container *c)
{
    c->adopted = true;
    logmux_system(c->d->mux, c->s->name, "adopted running container %s (unchanged)", c->name);
    adopt(c, c->entry);
}

static void use_list(Container *c, json_t *body);

static void on_listed(void *ud, int status, json_t *body, const char *err)
{
    Container *c = ud;
    c->req = NULL;
    if (status != 200 || !json_is_array(body)) {
        fail(c, "cannot list containers: %s", err ? err : "no answer");
        return;
    }
    use_list(c, body);
}

static void decide(Container *c);

/* An unchanged running container: followed (or, staged, once released). */
static void go_running(Container *c)
{
    if (c->held)
        c->parked = PARKED_ADOPT;
    else
        adopt_found(c);
}

static void stop_wait_end(Container *c)
{
    if (c->stop_timer)
        uv_close((uv_handle_t *)c->stop_timer, (uv_close_cb)free);
    c->stop_timer = NULL;
}

/* It ended: started again as any stopped, unchanged container is. */
static void on_stopped_meanwhile(void *ud, int status, json_t *body, const char *err)
{
    Container *c = ud;
    (void)body;
    c->req = NULL;
    stop_wait_end(c);
    if (err && status != 404) {
        fail(c, "cannot wait for %s to stop: %s", c->name, err);
        return;
    }
    if (c->held)
        c->parked = PARKED_START_EXISTING;
    else
        start_existing(c);
}

/* It did not end within its grace period: it stays, and is followed. */
static void on_stop_wait_over(uv_timer_t *t)
{
    Container *c = t->data;
    if (c->req)
        engine_cancel(c->req);
    c->req = NULL;
    stop_wait_end(c);
    logmux_system(c->d->mux, c->s->name, "%s did not stop: following it as it runs", c->name);
    go_running(c);
}

/* A container that was sent its stop signal in the moments before tend
 * started (a tend down or docker stop still under way, say after a kill -9
 * of the tend that sent it) is on its way down: adopting it would say it is
 * ready just before it ends. It is waited for (at most what is left of its
 * grace period, and two seconds) and then started again. Only on the
 * service's first start: the events were read while preparing. */
static bool wait_stopping(Container *c)
{
    DockerRt *d = c->d;
    json_t *k = c->first_start && !c->stop_waited && d->stopping ? json_object_get(d->stopping, c->id) : NULL;
    if (!k)
        return false;
    int sig = (int)json_integer_value(json_object_get(k, "signal"));
    if (sig != SIGTERM && sig != SIGKILL && sig != SIGINT && sig != SIGQUIT && sig != c->s->stop_signal)
        return false;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t now = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
    int64_t grace = c->s->stop_grace_period > 0 ? c->s->stop_grace_period : 10 * 1000000000LL;
    int64_t left = json_integer_value(json_object_get(k, "ns")) + grace + 2 * 1000000000LL - now;
    if (left <= 0)
        return false; /* long enough ago: it ignored the signal */
    c->stop_waited = true;
    logmux_system(d->mux, c->s->name, "%s is being stopped (a stop was under way): waiting for it to end", c->name);
    c->stop_timer = xcalloc(1, sizeof *c->stop_timer);
    uv_timer_init(d->loop, c->stop_timer);
    c->stop_timer->data = c;
    uv_timer_start(c->stop_timer, on_stop_wait_over, (uint64_t)(left / 1000000) + 1, 0);
    char *path = xasprintf("/containers/%s/wait?condition=not-running", c->id);
    c->req = engine_request(d->e, "POST", path, NULL, on_stopped_meanwhile, c);
    free(path);
    return true;
}

static void on_cur_image(void *ud, int status, json_t *body, const char *err)
{
    Container *c = ud;
    (void)err;
    c->req = NULL;
    const char *id = status == 200 ? json_string_value(json_object_get(body, "Id")) : NULL;
    free(c->cur_image);
    c->cur_image = xstrdup(id ? id : "");
    c->image_checked = true;
    decide(c);
}

/* With the container's list entry (or none) and, for an existing one, the
 * ID its image name points at now: adopt, start, or recreate. */
static void decide(Container *c)
{
    json_t *found = c->entry;
    if (!found) {
        on_removed_old(c, 204, NULL, NULL);
        return;
    }
    const char *id = json_string_value(json_object_get(found, "Id"));
    const char *state = json_string_value(json_object_get(found, "State"));
    const char *hash = json_string_value(json_object_get(json_object_get(found, "Labels"), LABEL_HASH));
    const char *ctr_image = json_string_value(json_object_get(found, "ImageID"));
    free(c->id);
    c->id = xstrdup(id ? id : "");
    bool same_config = hash && streq(hash, c->hash);
    if (same_config && !c->image_checked) {
        const char *cached = c->first_start && !c->built ? cached_image_id(c->d, c->image) : NULL;
        if (cached) {
            c->cur_image = xstrdup(cached);
            c->image_checked = true;
        } else {
            char *e = engine_escape(c->image);
            char *path = xasprintf("/images/%s/json", e);
            c->req = engine_request(c->d->e, "GET", path, NULL, on_cur_image, c);
            free(path);
            free(e);
            return;
        }
    }
    /* An image that is gone or unknown does not count as a change. */
    bool same_image = !same_config || !*c->cur_image || !ctr_image || streq(ctr_image, c->cur_image);
    if (same_config && same_image) {
        if (c->d->create_only) {
            c->started_reported = true;
            c->cb.started(c->ud, true, NULL); /* there already, as it should be */
        } else if (state && streq(state, "running")) {
            if (!wait_stopping(c))
                go_running(c);
        } else if (c->held) {
            c->parked = PARKED_START_EXISTING;
        } else {
            start_existing(c);
        }
        return;
    }
    logmux_system(c->d->mux, c->s->name, "recreating %s: its %s changed", c->name,
                  same_config ? "image" : "configuration");
    char *path = xasprintf("/containers/%s?force=1", c->id);
    c->req = engine_request(c->d->e, "DELETE", path, NULL, on_removed_old, c);
    free(path);
}

static void use_list(Container *c, json_t *body)
{
    size_t i;
    json_t *it;
    json_array_foreach(body, i, it)
    {
        json_t *names = json_object_get(it, "Names");
        const char *n0 = json_string_value(json_array_get(names, 0));
        if (n0 && n0[0] == '/' && streq(n0 + 1, c->name)) {
            json_decref(c->entry);
            c->entry = json_incref(it);
            break;
        }
    }
    decide(c);
}

/* Finds the service's container: from the list made while preparing on the
 * first start of each service (its entry is then dropped: later starts ask
 * the engine again), else by label. */
void look_up(Container *c)
{
    DockerRt *d = c->d;
    const Service *s = c->s;
    if (gojson_has_refs(s)) { /* the container it names is there by now */
        free(c->hash);
        c->hash = docker_config_hash(d, s);
    }
    if (c->first_start && d->existing) {
        json_t *mine = json_array();
        size_t i = 0;
        while (i < json_array_size(d->existing)) {
            json_t *it = json_array_get(d->existing, i);
            const char *n0 = json_string_value(json_array_get(json_object_get(it, "Names"), 0));
            if (n0 && n0[0] == '/' && streq(n0 + 1, c->name)) {
                json_array_append(mine, it);
                json_array_remove(d->existing, i);
            } else {
                i++;
            }
        }
        use_list(c, mine);
        json_decref(mine);
        return;
    }
    char *f = label_filter(d->p->name, s->name);
    char *path = xasprintf("/containers/json?all=1&filters=%s", f);
    c->req = engine_request(d->e, "GET", path, NULL, on_listed, c);
    free(path);
    free(f);
}

void on_look_soon(uv_timer_t *t)
{
    DockerRt *d = t->data;
    /* A look-up may free containers: start again from the head each time. */
    for (;;) {
        Container *c = d->list;
        while (c && !c->look_soon && !c->release_soon)
            c = c->next;
        if (!c)
            break;
        if (c->look_soon) {
            c->look_soon = false;
            look_up(c);
        } else {
            c->release_soon = false;
            release_parked(c);
        }
    }
}
