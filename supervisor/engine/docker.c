/* docker: the container runtime. Every step is one engine request whose
 * callback issues the next: list (adopt?) -> image (pull?) -> create ->
 * connect extra networks -> start -> inspect -> logs + wait. A container
 * object that is freed while a step is in flight cancels that request, so
 * no callback ever reaches freed memory.
 *
 * This file holds the small helpers, the project's events, one container
 * and its life through docker.h. The project's networks and volumes are in
 * docker-project.c, images and adoption in docker-adopt.c, down in
 * docker-down.c, the engine going away and Podman's healthchecks in
 * docker-lost.c; what they share, in docker-int.h. */
#include "engine/docker-int.h"

#include "load/canon.h"
#include "engine/hostcfg.h"
#include "load/gojson.h"
#include "engine/imgbuild.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The Compose version tend writes in its containers' labels; another
 * version there names the maker of a container tend did not make. */
#define LABEL_VERSION "com.docker.compose.version"
#define TEND_COMPOSE_VERSION "2.0.0"

/* ---- small helpers ---- */

char *docker_container_name(const Project *p, const Service *s)
{
    if (s->oneoff_name)
        return xstrdup(s->oneoff_name);
    if (s->container_name)
        return xstrdup(s->container_name);
    return xasprintf("%s-%s-1", p->name, s->name);
}

static char *image_name(const Project *p, const Service *s)
{
    if (s->image)
        return xstrdup(s->image);
    return xasprintf("%s-%s", p->name, s->name); /* Compose's name for a built image */
}

static const char *network_engine_name(const Project *p, const char *key)
{
    for (size_t i = 0; i < p->n_networks; i++)
        if (streq(p->networks[i].key, key))
            return p->networks[i].name;
    return key;
}

static const char *volume_engine_name(const Project *p, const char *key)
{
    for (size_t i = 0; i < p->n_volumes; i++)
        if (streq(p->volumes[i].key, key))
            return p->volumes[i].name;
    return key;
}

char *label_filter(const char *project, const char *service)
{
    json_t *f = json_object();
    json_t *labels = json_array();
    char *a = xasprintf("%s=%s", LABEL_PROJECT, project);
    json_array_append_new(labels, json_string(a));
    free(a);
    if (service) {
        char *b = xasprintf("%s=%s", LABEL_SERVICE, service);
        json_array_append_new(labels, json_string(b));
        free(b);
    }
    json_object_set_new(f, "label", labels);
    char *s = json_dumps(f, JSON_COMPACT);
    json_decref(f);
    char *e = engine_escape(s);
    free(s);
    return e;
}

/* ---- the project's events ---- */

/* The ID of another service's container, for a hash that names it
 * (network_mode: service:NAME): the one tend follows, else the one found
 * while preparing; NULL when there is none yet. */
static const char *service_ctr_id(void *ud, const char *service)
{
    DockerRt *d = ud;
    for (Container *c = d->list; c; c = c->next)
        if (c->s && streq(c->s->name, service) && !c->s->oneoff_name && c->id && *c->id)
            return c->id;
    const Service *s = project_service(d->p, service);
    if (!s || !d->existing)
        return NULL;
    _cleanup_free_ char *name = docker_container_name(d->p, s);
    size_t i;
    json_t *it;
    json_array_foreach(d->existing, i, it)
    {
        const char *n0 = json_string_value(json_array_get(json_object_get(it, "Names"), 0));
        if (n0 && n0[0] == '/' && streq(n0 + 1, name))
            return json_string_value(json_object_get(it, "Id"));
    }
    return NULL;
}

/* The config-hash of a service, the very one docker compose v5 writes
 * (load/gojson.c), with the containers it names resolved as compose does. */
char *docker_config_hash(DockerRt *d, const Service *s)
{
    return gojson_service_hash(s, service_ctr_id, d);
}

static Container *find_by_id(DockerRt *d, const char *id)
{
    for (Container *c = d->list; c; c = c->next)
        if (c->id && id && streq(c->id, id))
            return c;
    return NULL;
}

static void end_told(Container *c, bool gone, bool oom_killed);

/* Tells the manager what another client did to a container tend does not
 * follow. The event's attributes carry the container's labels. */
static void tell_other(DockerRt *d, DockerOtherKind kind, const Service *s, const char *id, json_t *attrs,
                       bool tends)
{
    if (!d->other)
        return;
    const char *hash = json_string_value(json_object_get(attrs, LABEL_HASH));
    const char *version = json_string_value(json_object_get(attrs, LABEL_VERSION));
    _cleanup_free_ char *mine = s ? docker_config_hash(d, s) : NULL;
    _cleanup_free_ char *maker =
        version && !tends && !streq(version, TEND_COMPOSE_VERSION) ? xasprintf("docker compose %s", version) : NULL;
    DockerOther o = {
        .kind = kind,
        .service = s,
        .id = id,
        .name = json_string_value(json_object_get(attrs, "name")),
        .same_config = hash && mine && streq(hash, mine),
        .tends = tends,
        .maker = maker,
    };
    d->other(d->other_ud, &o);
}

/* One event about a container of the project. A followed container's
 * events go to its track (who ended it, outside.h) and its health; one
 * tend keeps after its end, or one it never made, is reported to the
 * manager as another client's doing. */
static void on_event(void *ud, json_t *ev)
{
    DockerRt *d = ud;
    const char *type = json_string_value(json_object_get(ev, "Type"));
    const char *action = json_string_value(json_object_get(ev, "Action"));
    json_t *actor = json_object_get(ev, "Actor");
    const char *id = json_string_value(json_object_get(actor, "ID"));
    json_t *attrs = json_object_get(actor, "Attributes");
    if (!type || !streq(type, "container") || !action || !id)
        return;
    Container *c = find_by_id(d, id);
    if (c && str_startswith(action, "health_status: ")) {
        bool healthy = streq(action + 15, "healthy");
        if (c->cb.health)
            c->cb.health(c->ud, healthy);
        return;
    }
    const char *name = json_string_value(json_object_get(attrs, "name"));
    if (c && c->following) {
        ctrtrack_event(&c->track, action, json_string_value(json_object_get(attrs, "signal")));
        if (c->settling && ctrtrack_settled(&c->track, false)) {
            c->settling = false;
            end_told(c, false, c->settle_oom); /* c may be gone now */
            return;
        }
        if (streq(action, "rename") && name) {
            free(c->name);
            c->name = xstrdup(name);
            if (c->cb.other)
                c->cb.other(c->ud, CTR_NOTE_RENAMED, name);
        } else if ((streq(action, "pause") || streq(action, "unpause")) && c->cb.other) {
            c->cb.other(c->ud, streq(action, "pause") ? CTR_NOTE_PAUSED : CTR_NOTE_UNPAUSED, NULL);
        }
        return;
    }
    if (c && !c->ended)
        return; /* tend is starting it: these events are its own */
    if (c) {
        if (streq(action, "destroy") && !c->removal_told && c->cb.other)
            c->cb.other(c->ud, CTR_NOTE_REMOVED, NULL);
        else if (streq(action, "start") && !c->req)
            tell_other(d, DOCKER_OTHER_STARTED, c->s, id, attrs, true);
        return;
    }
    const char *svc = json_string_value(json_object_get(attrs, LABEL_SERVICE));
    const char *oneoff = json_string_value(json_object_get(attrs, LABEL_ONEOFF));
    const Service *s = svc ? project_service(d->p, svc) : NULL;
    if (!s || (oneoff && streq(oneoff, "True")))
        return;
    /* Not "create": tend's own new container is created before its id is
     * known here. */
    if (streq(action, "start"))
        tell_other(d, DOCKER_OTHER_STARTED, s, id, attrs, false);
    else if (streq(action, "destroy"))
        tell_other(d, DOCKER_OTHER_REMOVED, s, id, attrs, false);
}

static void on_events_chunk(void *ud, const char *data, size_t len)
{
    DockerRt *d = ud;
    jsonlines_feed(&d->event_lines, data, len, on_event, d);
}

static void on_events_done(void *ud, int status, json_t *body, const char *err)
{
    DockerRt *d = ud;
    (void)status;
    (void)body;
    d->events = NULL;
    jsonlines_free(&d->event_lines);
    /* The stream never ends while the engine runs: it went away. */
    engine_lost(d, err ? err : "its event stream closed");
}

void open_events(DockerRt *d, const char *since)
{
    char *f = label_filter(d->p->name, NULL);
    char *path = since && *since ? xasprintf("/events?since=%s&filters=%s", since, f)
                                 : xasprintf("/events?filters=%s", f);
    d->events = engine_stream(d->e, "GET", path, NULL, on_events_chunk, on_events_done, d);
    free(path);
    free(f);
}

/* ---- one container ---- */

void fail(Container *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = xvasprintf(fmt, ap);
    va_end(ap);
    c->req = NULL;
    if (c->held && !c->started_reported) {
        if (c->parked != PARKED_FAIL) { /* the first error is the one told */
            c->parked = PARKED_FAIL;
            c->parked_err = msg;
            return;
        }
    } else if (!c->started_reported) {
        c->started_reported = true;
        c->cb.started(c->ud, false, msg);
    }
    free(msg);
}

static void on_log_part(void *ud, int stream, const char *p, size_t n)
{
    Container *c = ud;
    logmux_feed(c->d->mux, stream == 2 ? c->src_err : c->src_out, p, n);
}

static void on_logs_chunk(void *ud, const char *data, size_t len)
{
    Container *c = ud;
    if (c->tty)
        logmux_feed(c->d->mux, c->src_out, data, len);
    else
        logdemux_feed(&c->demux, data, len, on_log_part, c);
}

/* The end is told: how it ended, from its track and its state after it.
 * c may be freed by the callback; an outside start that came meanwhile is
 * told after it. */
/* An end tend learned of without the engine's events (it was away, or
 * cannot be reached): told as the track has it. */
void tell_end_now(Container *c, int64_t code, bool gone)
{
    c->exit_code = code;
    CtrEnd e = ctrtrack_end(&c->track, code, gone, false);
    c->cb.exited(c->ud, &e);
}

static void end_told(Container *c, bool gone, bool oom_killed)
{
    CtrEnd e = ctrtrack_end(&c->track, c->exit_code, gone, oom_killed);
    DockerRt *d = c->d;
    const Service *s = c->s;
    json_t *again = NULL;
    if (c->track.started_again && !gone) {
        again = json_object();
        json_object_set_new(again, LABEL_HASH, json_string(c->hash));
        json_object_set_new(again, "name", json_string(c->name));
        json_object_set_new(again, "id", json_string(c->id));
    }
    c->following = false;
    c->ended = true;
    c->removal_told = e.how == CTR_END_REMOVED || e.removed;
    if (c->cb.exited)
        c->cb.exited(c->ud, &e);
    if (again)
        tell_other(d, DOCKER_OTHER_STARTED, s, json_string_value(json_object_get(again, "id")), again, true);
    json_decref(again);
}

/* How long an end waits for the "stop" event of another client's stop
 * (it follows the exit; on a busy machine by some hundred ms). */
#define SETTLE_MS 1000

static void arm_settle(DockerRt *d);

/* The ends whose wait is over are told, one at a time: telling one may
 * free containers or add new ones. */
static void on_settle_timer(uv_timer_t *t)
{
    DockerRt *d = t->data;
    for (;;) {
        Container *due = NULL;
        for (Container *c = d->list; c && !due; c = c->next)
            if (c->settling && c->settle_until <= uv_now(d->loop))
                due = c;
        if (!due)
            break;
        due->settling = false;
        end_told(due, false, due->settle_oom);
    }
    arm_settle(d);
}

static void arm_settle(DockerRt *d)
{
    uint64_t next = 0;
    for (Container *c = d->list; c; c = c->next)
        if (c->settling && (!next || c->settle_until < next))
            next = c->settle_until;
    if (!next)
        return;
    if (!d->settle_init) {
        uv_timer_init(d->loop, &d->settle_timer);
        d->settle_timer.data = d;
        d->settle_init = true;
    }
    uint64_t now = uv_now(d->loop);
    uv_timer_start(&d->settle_timer, on_settle_timer, next > now ? next - now : 0, 0);
}

static void on_settled(void *ud, int status, json_t *body, const char *err)
{
    Container *c = ud;
    (void)err;
    c->req = NULL;
    json_t *st = json_object_get(body, "State");
    const char *state = status == 200 ? json_string_value(json_object_get(st, "Status")) : NULL;
    bool gone = status == 404 || (state && (streq(state, "removing") || streq(state, "dead")));
    bool oom = json_is_true(json_object_get(st, "OOMKilled"));
    if (json_is_true(json_object_get(st, "Running")))
        c->track.started_again = true;
    if (!ctrtrack_settled(&c->track, gone)) {
        c->settling = true;
        c->settle_oom = oom;
        c->settle_until = uv_now(c->d->loop) + SETTLE_MS;
        arm_settle(c->d);
        return;
    }
    end_told(c, gone, oom);
}

/* The container's main process ended. When tend did not stop it, one
 * inspect settles how: removed, OOM-killed, or an exit (the events that
 * came before it tell a stop or a kill by another client). */
static void report_exit(Container *c, int64_t code)
{
    c->exit_code = code;
    if (!ctrtrack_unexpected(&c->track) || !c->id) {
        end_told(c, false, false);
        return;
    }
    char *path = xasprintf("/containers/%s/json", c->id);
    c->req = engine_request(c->d->e, "GET", path, NULL, on_settled, c);
    free(path);
}

static void on_logs_done(void *ud, int status, json_t *body, const char *err)
{
    Container *c = ud;
    (void)status;
    (void)body;
    (void)err;
    c->logs = NULL;
    logmux_flush(c->d->mux, c->src_out);
    logmux_flush(c->d->mux, c->src_err);
    if (c->lost)
        return; /* the engine went away: the exit is not known */
    if (c->exit_pending) {
        c->exit_pending = false;
        report_exit(c, c->exit_code);
    }
}

static void on_readopt_started(void *ud, int status, json_t *body, const char *err)
{
    Container *c = ud;
    (void)body;
    c->req = NULL;
    if (err && status != 304) {
        logmux_system(c->d->mux, c->s->name, "cannot start %s again: %s", c->name, err);
        if (c->cb.exited)
            tell_end_now(c, c->exit_code, false);
        return;
    }
    follow(c);
}

/* A container adopted while it was on its way down (a `tend down` or a
 * stop from elsewhere that had not finished) exits right after it was
 * adopted, although nobody here stopped it: it is started again, once,
 * instead of failing the run it was adopted into. */
static bool readopt(Container *c, int64_t code)
{
    if (!c->adopted || c->readopted || c->kill_sig || mono_ns() - c->adopted_ns > 10 * 1000000000LL)
        return false;
    c->readopted = true;
    c->exit_code = code;
    if (c->logs)
        engine_cancel(c->logs);
    c->logs = NULL;
    logmux_system(c->d->mux, c->s->name,
                  "%s stopped right after it was adopted (it was being stopped); starting it again", c->name);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(c->resume, sizeof c->resume, "%lld.%09ld", (long long)ts.tv_sec, ts.tv_nsec);
    char *path = xasprintf("/containers/%s/start", c->id);
    c->req = engine_request(c->d->e, "POST", path, NULL, on_readopt_started, c);
    free(path);
    return true;
}

/* Says when the kernel killed the container for memory: "exit status
 * 137" alone does not tell it from a kill. */
static void on_why(void *ud, int status, json_t *body, const char *err)
{
    Container *c = ud;
    (void)err;
    c->why = NULL;
    json_t *st = json_object_get(body, "State");
    if (status == 200 && json_is_true(json_object_get(st, "OOMKilled"))) {
        char lim[32] = "";
        if (c->s->mem_limit)
            snprintf(lim, sizeof lim, " (mem_limit %lld bytes)", (long long)c->s->mem_limit);
        logmux_system(c->d->mux, c->s->name, "killed by the kernel: out of memory%s", lim);
    }
}

static void on_wait_done(void *ud, int status, json_t *body, const char *err)
{
    Container *c = ud;
    c->wait = NULL;
    int64_t code = -1;
    if (err && (status == 0 || !body)) {
        /* No answer: the engine went away, not the container. It is
         * followed again once the engine is back. */
        c->lost = true;
        engine_lost(c->d, err);
        return;
    }
    hc_stop(c);
    if (status == 200 && body)
        code = (int64_t)json_integer_value(json_object_get(body, "StatusCode"));
    else if (err)
        logmux_system(c->d->mux, c->s->name, "lost the container: %s", err);
    if (code >= 0 && readopt(c, code))
        return;
    if (code == 137 && !c->why && c->id) {
        char *path = xasprintf("/containers/%s/json", c->id);
        c->why = engine_request(c->d->e, "GET", path, NULL, on_why, c);
        free(path);
    }
    /* The exit is told once every line the container wrote was delivered:
     * the log stream ends when the container stops. */
    if (c->logs) {
        c->exit_pending = true;
        c->exit_code = code < 0 ? 255 : code;
        return;
    }
    report_exit(c, code < 0 ? 255 : code);
}

void follow(Container *c)
{
    /* An adopted container: only what comes from now on. A stopped container
     * started again, or one another client started: from its start, not
     * its whole history. */
    char extra[64] = "";
    if (c->resume[0])
        snprintf(extra, sizeof(extra), "&since=%s", c->resume);
    else if (c->since[0])
        snprintf(extra, sizeof(extra), "&since=%s", c->since);
    else if (c->adopted)
        snprintf(extra, sizeof(extra), "&tail=0");
    c->following = true;
    c->ended = false;
    c->track = (CtrTrack){0};
    char *path;
    if (!c->cb.created) { /* else an attachment carries the output */
        path = xasprintf("/containers/%s/logs?follow=1&stdout=1&stderr=1%s", c->id, extra);
        c->logs = engine_stream(c->d->e, "GET", path, NULL, on_logs_chunk, on_logs_done, c);
        free(path);
    }
    path = xasprintf("/containers/%s/wait?condition=not-running", c->id);
    c->wait = engine_request(c->d->e, "POST", path, NULL, on_wait_done, c);
    free(path);
}

/* Another client's container, or tend's own started again by another
 * client: follow it only when it runs with the file's configuration (its
 * hash label), with its output from its start. */
static bool adopt_check(Container *c, json_t *body)
{
    json_t *st = json_object_get(body, "State");
    const char *hash = json_string_value(json_object_get(json_object_get(json_object_get(body, "Config"), "Labels"), LABEL_HASH));
    const char *name = json_string_value(json_object_get(body, "Name"));
    if (!json_is_true(json_object_get(st, "Running"))) {
        fail(c, "container %s is not running any more", c->id);
        return false;
    }
    if (!hash || !streq(hash, c->hash)) {
        fail(c, "container %s does not have the file's configuration", c->id);
        return false;
    }
    if (name) {
        free(c->name);
        c->name = xstrdup(name + (name[0] == '/'));
    }
    struct tm tm = {0};
    const char *at = json_string_value(json_object_get(st, "StartedAt"));
    const char *rest = at ? strptime(at, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
    if (rest) { /* "2026-01-02T15:04:05.123456789Z": logs since then */
        long ns = 0;
        int digits = 0;
        if (*rest == '.')
            for (rest++; *rest >= '0' && *rest <= '9'; rest++)
                if (digits < 9) {
                    ns = ns * 10 + (*rest - '0');
                    digits++;
                }
        for (; digits < 9; digits++)
            ns *= 10;
        snprintf(c->since, sizeof(c->since), "%lld.%09ld", (long long)timegm(&tm), ns);
    }
    return true;
}

static void on_inspected(void *ud, int status, json_t *body, const char *err)
{
    Container *c = ud;
    c->req = NULL;
    if (status != 200 || !body) {
        fail(c, "cannot inspect container %s: %s", c->name, err ? err : "no answer");
        return;
    }
    if (c->adopt_foreign && !adopt_check(c, body))
        return;
    c->tty = json_is_true(json_object_get(json_object_get(body, "Config"), "Tty"));
    json_t *nets = json_object_get(json_object_get(body, "NetworkSettings"), "Networks");
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
    json_t *health = json_object_get(json_object_get(body, "State"), "Health");
    const char *hs = json_string_value(json_object_get(health, "Status"));
    c->health_known_healthy = hs && streq(hs, "healthy");
    follow(c);
    hc_start(c);
    c->started_reported = true;
    c->cb.started(c->ud, true, NULL);
    if (c->health_known_healthy && c->cb.health)
        c->cb.health(c->ud, true); /* adopted and already healthy: no event will come */
}

static void inspect(Container *c)
{
    char *path = xasprintf("/containers/%s/json", c->id);
    c->req = engine_request(c->d->e, "GET", path, NULL, on_inspected, c);
    free(path);
}

static void renew(Container *c);

static void on_started(void *ud, int status, json_t *body, const char *err)
{
    Container *c = ud;
    (void)body;
    c->req = NULL;
    if (status == 404 && err && strstr(err, "network") && !c->renewed) {
        renew(c); /* another client removed the project's network (docker compose down) */
        return;
    }
    if (status == 404 && err && strstr(err, "No such container") && !c->remade) {
        /* Gone since it was found or made (removed by another client while
         * it waited to start): made again. */
        c->remade = true;
        logmux_system(c->d->mux, c->s->name, "%s is gone (removed by another client?): making it again", c->name);
        on_removed_old(c, 404, NULL, NULL);
        return;
    }
    if (err && status != 304) {
        fail(c, "cannot start container %s: %s", c->name, err);
        return;
    }
    inspect(c);
}

static void start(Container *c);

/* The project's networks and volumes, made again (a network another
 * client removed, with docker compose down, fails the next start); then
 * every container that waited for them is started. One at a time: two
 * creates of one network name at once can make two networks. */
static void renew_next(DockerRt *d);

static void on_renewed(void *ud, int status, json_t *body, const char *err)
{
    DockerRt *d = ud;
    (void)body;
    if (err && status != 409) /* 409: it exists */
        logmux_system(d->mux, NULL, "cannot make the project's networks and volumes again: %s", err);
    d->renew_next++;
    renew_next(d);
}

static void renew_next(DockerRt *d)
{
    const Project *p = d->p;
    for (; d->renew_next < p->n_networks + p->n_volumes; d->renew_next++) {
        size_t i = d->renew_next;
        bool net = i < p->n_networks;
        json_t *b = net ? network_body(p, &p->networks[i]) : volume_body(p, &p->volumes[i - p->n_networks]);
        if (!b)
            continue; /* external */
        engine_request(d->e, "POST", net ? "/networks/create" : "/volumes/create", b, on_renewed, d);
        json_decref(b);
        return;
    }
    d->renewing = false;
    for (Container *c = d->list; c; c = c->next)
        if (c->await_renew) {
            c->await_renew = false;
            start(c);
        }
}

static void renew(Container *c)
{
    DockerRt *d = c->d;
    c->await_renew = true;
    c->renewed = true;
    if (d->renewing)
        return;
    logmux_system(d->mux, c->s->name, "the project's network is gone (removed by another client?): making it again");
    d->renewing = true;
    d->renew_next = 0;
    renew_next(d);
}

void start_existing(Container *c)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(c->since, sizeof(c->since), "%lld.%09ld", (long long)ts.tv_sec, ts.tv_nsec);
    start(c);
}

static void start(Container *c)
{
    char *path = xasprintf("/containers/%s/start", c->id);
    c->req = engine_request(c->d->e, "POST", path, NULL, on_started, c);
    free(path);
}

static void connect_next(Container *c);

static void on_net_connected(void *ud, int status, json_t *body, const char *err)
{
    Container *c = ud;
    (void)body;
    c->req = NULL;
    if (err && status != 403 /* already connected */) {
        fail(c, "cannot connect %s to its network: %s", c->name, err);
        return;
    }
    connect_next(c);
}

static void on_files_copied(void *ud, int status, json_t *body, const char *err)
{
    Container *c = ud;
    (void)status;
    (void)body;
    c->req = NULL;
    if (err) {
        fail(c, "cannot copy the secrets and configs into %s: %s", c->name, err);
        return;
    }
    connect_next(c);
}

/* Secrets and configs whose value is not a file are copied into the
 * created container before its start, as docker compose does. */
static void copy_files_in(Container *c)
{
    StrBuf tar;
    strbuf_init(&tar, 0);
    char *err = NULL;
    int n = hostcfg_files_tar(c->d->p, c->s, &tar, &err);
    if (n < 0) {
        strbuf_free(&tar);
        fail(c, "%s", err);
        free(err);
        return;
    }
    if (n == 0) {
        strbuf_free(&tar);
        connect_next(c);
        return;
    }
    char *path = xasprintf("/containers/%s/archive?path=%%2F", c->id);
    c->req = engine_upload(c->d->e, "PUT", path, "application/x-tar", tar.data, tar.len, NULL, on_files_copied, c);
    free(path);
    strbuf_free(&tar);
}

static json_t *aliases_json(const Service *s, const NetworkAttach *na)
{
    json_t *a = json_array();
    json_array_append_new(a, json_string(s->name));
    for (size_t i = 0; na && i < na->aliases.n; i++)
        json_array_append_new(a, json_string(na->aliases.v[i]));
    return a;
}

/* The first network is given at create; the others are connected before
 * the start (API 1.41 takes one network in create). */
static void connect_next(Container *c)
{
    const Service *s = c->s;
    if (c->net_next >= s->n_networks) {
        if (c->d->create_only) {
            logmux_system(c->d->mux, s->name, "created %s", c->name);
            c->started_reported = true;
            c->cb.started(c->ud, true, NULL);
        } else if (c->cb.created && !c->proceeding) {
            c->cb.created(c->ud, c->id);
        } else if (c->held) {
            c->parked = PARKED_START;
        } else {
            start(c);
        }
        return;
    }
    const NetworkAttach *na = &s->networks[c->net_next++];
    json_t *b = json_object();
    json_object_set_new(b, "Container", json_string(c->id));
    json_t *ec = json_object();
    json_object_set_new(ec, "Aliases", aliases_json(s, na));
    json_object_set_new(b, "EndpointConfig", ec);
    char *e = engine_escape(network_engine_name(c->d->p, na->name));
    char *path = xasprintf("/networks/%s/connect", e);
    c->req = engine_request(c->d->e, "POST", path, b, on_net_connected, c);
    free(path);
    free(e);
    json_decref(b);
}

static void on_created(void *ud, int status, json_t *body, const char *err)
{
    Container *c = ud;
    c->req = NULL;
    if (err || !body) {
        fail(c, "cannot create container %s: %s", c->name, err ? err : "no answer");
        return;
    }
    (void)status;
    const char *id = json_string_value(json_object_get(body, "Id"));
    if (!id) {
        fail(c, "cannot create container %s: the engine gave no id", c->name);
        return;
    }
    free(c->id);
    c->id = xstrdup(id);
    c->net_next = 1;
    copy_files_in(c); /* then the other networks, then the start */
}

/* Whether path is root or below it (both normalized). */
static bool path_inside(const char *root, const char *path)
{
    size_t n = strlen(root);
    return strncmp(path, root, n) == 0 && (path[n] == '\0' || path[n] == '/' || (n > 0 && root[n - 1] == '/'));
}

/* A missing bind source is made by tend, owned by the user the project
 * belongs to (the invoking user under sudo), never left to the engine,
 * which would make it as root. */
static int make_bind_source(const Project *p, const char *path)
{
    struct stat st;
    if (stat(path, &st) == 0)
        return 0;
    int made = 1;
    uid_t uid = getuid();
    gid_t gid = getgid();
    const char *su = getenv("SUDO_UID"), *sg = getenv("SUDO_GID");
    struct stat pst;
    if (su && sg) {
        uid = (uid_t)atoi(su);
        gid = (gid_t)atoi(sg);
    } else if (stat(p->workdir, &pst) == 0) {
        uid = pst.st_uid;
        gid = pst.st_gid;
    }
    char *dup = xstrdup(path);
    for (char *q = dup + 1;; q++) {
        if (*q == '/' || *q == 0) {
            char save = *q;
            *q = 0;
            if (mkdir(dup, 0755) == 0) {
                if (chown(dup, uid, gid) < 0) {
                    /* not fatal: the folder exists */
                }
            } else if (errno != EEXIST) {
                int r = -errno;
                free(dup);
                return r;
            }
            *q = save;
            if (!save)
                break;
        }
    }
    free(dup);
    return made;
}

static json_t *create_body(Container *c, char **ret_err)
{
    const Service *s = c->s;
    const Project *p = c->d->p;
    json_t *b = json_object();
    json_object_set_new(b, "Image", json_string(c->image));
    if (s->has_command) {
        json_t *a = json_array();
        for (size_t i = 0; i < s->command.n; i++)
            json_array_append_new(a, json_string(s->command.v[i]));
        json_object_set_new(b, "Cmd", a);
    }
    if (s->has_entrypoint) {
        json_t *a = json_array();
        for (size_t i = 0; i < s->entrypoint.n; i++)
            json_array_append_new(a, json_string(s->entrypoint.v[i]));
        json_object_set_new(b, "Entrypoint", a);
    }
    json_t *env = json_array();
    for (size_t i = 0; i < s->environment.n; i++)
        if (s->environment.vals[i]) {
            char *kv = xasprintf("%s=%s", s->environment.keys[i], s->environment.vals[i]);
            json_array_append_new(env, json_string(kv));
            free(kv);
        }
    json_object_set_new(b, "Env", env);
    if (s->working_dir)
        json_object_set_new(b, "WorkingDir", json_string(s->working_dir));
    if (s->user)
        json_object_set_new(b, "User", json_string(s->user));
    if (s->hostname)
        json_object_set_new(b, "Hostname", json_string(s->hostname));
    json_object_set_new(b, "Tty", json_boolean(s->tty));
    json_object_set_new(b, "OpenStdin", json_boolean(s->stdin_open));
    if (c->cb.created) { /* attached by tend run: stdin ends with that attachment */
        json_object_set_new(b, "AttachStdin", json_boolean(s->stdin_open));
        json_object_set_new(b, "AttachStdout", json_true());
        json_object_set_new(b, "AttachStderr", json_true());
        json_object_set_new(b, "StdinOnce", json_boolean(s->stdin_open));
    }

    json_t *labels = labels_json(&s->labels, p->name, s->name, LABEL_SERVICE);
    json_object_set_new(labels, LABEL_NUMBER, json_string("1"));
    json_object_set_new(labels, LABEL_ONEOFF, json_string(s->oneoff_name ? "True" : "False"));
    json_object_set_new(labels, LABEL_HASH, json_string(c->hash));
    json_object_set_new(labels, LABEL_WORKDIR, json_string(p->workdir));
    StrBuf files;
    strbuf_init(&files, 0);
    for (size_t i = 0; i < p->config_files.n; i++)
        strbuf_printf(&files, "%s%s", i ? "," : "", p->config_files.v[i]);
    json_object_set_new(labels, LABEL_FILES, json_string(files.data ? files.data : ""));
    strbuf_free(&files);
    json_object_set_new(labels, LABEL_VERSION, json_string(TEND_COMPOSE_VERSION));
    /* As compose writes them: "db:service_healthy:false,cache:...". */
    StrBuf deps;
    strbuf_init(&deps, 0);
    for (size_t i = 0; i < s->n_deps; i++)
        strbuf_printf(&deps, "%s%s:%s:%s", i ? "," : "", s->deps[i].service,
                      dep_condition_to_string(s->deps[i].condition), s->deps[i].restart ? "true" : "false");
    json_object_set_new(labels, "com.docker.compose.depends_on", json_string(deps.data ? deps.data : ""));
    strbuf_free(&deps);
    /* Compose recreates a container whose image label is not the ID of the
     * image it would run now: the ID, as compose writes it. */
    json_object_set_new(labels, LABEL_IMAGE, json_string(c->image_id ? c->image_id : c->image));
    json_object_set_new(b, "Labels", labels);

    json_t *exposed = json_object();
    for (size_t i = 0; i < s->n_ports; i++) {
        char *k = xasprintf("%u/%s", s->ports[i].target, s->ports[i].protocol);
        json_object_set_new(exposed, k, json_object());
        free(k);
    }
    for (size_t i = 0; i < s->expose.n; i++) {
        char *k = strchr(s->expose.v[i], '/') ? xstrdup(s->expose.v[i]) : xasprintf("%s/tcp", s->expose.v[i]);
        json_object_set_new(exposed, k, json_object());
        free(k);
    }
    json_object_set_new(b, "ExposedPorts", exposed);

    char sig[16];
    snprintf(sig, sizeof(sig), "%d", s->stop_signal);
    json_object_set_new(b, "StopSignal", json_string(sig));
    json_object_set_new(b, "StopTimeout", json_integer(s->stop_grace_period / 1000000000LL));

    const Healthcheck *h = &s->healthcheck;
    if (h->disabled) {
        json_t *hc = json_object();
        json_t *t = json_array();
        json_array_append_new(t, json_string("NONE"));
        json_object_set_new(hc, "Test", t);
        json_object_set_new(b, "Healthcheck", hc);
    } else if (h->present) {
        json_t *hc = json_object();
        json_t *t = json_array();
        for (size_t i = 0; i < h->test.n; i++)
            json_array_append_new(t, json_string(h->test.v[i]));
        json_object_set_new(hc, "Test", t);
        int64_t interval = h->interval;
        int64_t start_interval = h->start_interval ? h->start_interval : 100000000LL;
        if (engine_api_at_least(c->d->e, 1, 44)) {
            json_object_set_new(hc, "StartInterval", json_integer(start_interval));
        } else if (!interval) {
            /* No StartInterval before API 1.44: the engine would wait a full
             * interval (30 s) before its first probe. Probe every second
             * instead unless the file set an interval. */
            interval = 1000000000LL;
        }
        if (interval)
            json_object_set_new(hc, "Interval", json_integer(interval));
        if (h->timeout)
            json_object_set_new(hc, "Timeout", json_integer(h->timeout));
        if (h->retries)
            json_object_set_new(hc, "Retries", json_integer(h->retries));
        if (h->start_period)
            json_object_set_new(hc, "StartPeriod", json_integer(h->start_period));
        json_object_set_new(b, "Healthcheck", hc);
    }

    json_t *hc = json_object();
    json_t *mounts = json_array();
    for (size_t i = 0; i < s->n_mounts; i++) {
        const Mount *m = &s->mounts[i];
        json_t *mj = json_object();
        json_object_set_new(mj, "Target", json_string(m->target));
        json_object_set_new(mj, "ReadOnly", json_boolean(m->read_only));
        if (m->type == VOLUME_BIND) {
            if (m->create_host_path && !c->dry) {
                int r = make_bind_source(p, m->source);
                /* Inside the project a missing folder is routine (a cache,
                 * a data folder); outside it, a typo could scatter folders
                 * over the machine: said every time. */
                if (r > 0 && !path_inside(p->workdir, m->source))
                    logmux_system(c->d->mux, s->name,
                                  "warning: made the bind mount source %s, which is outside the project "
                                  "folder %s",
                                  m->source, p->workdir);
                if (r < 0) {
                    *ret_err = xasprintf("cannot create the bind mount source %s: %s", m->source, strerror(-r));
                    json_decref(mj);
                    json_decref(mounts);
                    json_decref(hc);
                    json_decref(b);
                    return NULL;
                }
            }
            json_object_set_new(mj, "Type", json_string("bind"));
            json_object_set_new(mj, "Source", json_string(m->source));
        } else if (m->type == VOLUME_VOLUME) {
            json_object_set_new(mj, "Type", json_string("volume"));
            if (m->source)
                json_object_set_new(mj, "Source", json_string(volume_engine_name(p, m->source)));
            if (m->nocopy) {
                json_t *vo = json_object();
                json_object_set_new(vo, "NoCopy", json_true());
                json_object_set_new(mj, "VolumeOptions", vo);
            }
        } else {
            json_object_set_new(mj, "Type", json_string("tmpfs"));
            if (m->tmpfs_size) {
                json_t *to = json_object();
                json_object_set_new(to, "SizeBytes", json_integer(m->tmpfs_size));
                json_object_set_new(mj, "TmpfsOptions", to);
            }
        }
        json_array_append_new(mounts, mj);
    }
    json_object_set_new(hc, "Mounts", mounts);

    json_t *pb = json_object();
    for (size_t i = 0; i < s->n_ports; i++) {
        const PortMapping *pm = &s->ports[i];
        char *k = xasprintf("%u/%s", pm->target, pm->protocol);
        json_t *arr = json_object_get(pb, k);
        if (!arr) {
            arr = json_array();
            json_object_set_new(pb, k, arr);
        }
        json_t *binding = json_object();
        json_object_set_new(binding, "HostIp", json_string(pm->host_ip));
        char hp[32] = "";
        if (pm->published_lo && pm->published_hi != pm->published_lo)
            snprintf(hp, sizeof(hp), "%u-%u", pm->published_lo, pm->published_hi);
        else if (pm->published_lo)
            snprintf(hp, sizeof(hp), "%u", pm->published_lo);
        json_object_set_new(binding, "HostPort", json_string(hp));
        json_array_append_new(arr, binding);
        free(k);
    }
    json_object_set_new(hc, "PortBindings", pb);

    if (s->tmpfs.n) {
        json_t *t = json_object();
        for (size_t i = 0; i < s->tmpfs.n; i++) {
            const char *colon = strchr(s->tmpfs.v[i], ':');
            char *path = colon ? xstrndup(s->tmpfs.v[i], (size_t)(colon - s->tmpfs.v[i])) : xstrdup(s->tmpfs.v[i]);
            json_object_set_new(t, path, json_string(colon ? colon + 1 : ""));
            free(path);
        }
        json_object_set_new(hc, "Tmpfs", t);
    }
    if (s->extra_hosts.n) {
        json_t *eh = json_array();
        for (size_t i = 0; i < s->extra_hosts.n; i++)
            json_array_append_new(eh, json_string(s->extra_hosts.v[i]));
        json_object_set_new(hc, "ExtraHosts", eh);
    }
    if (s->init >= 0)
        json_object_set_new(hc, "Init", json_boolean(s->init));
    if (s->mem_limit)
        json_object_set_new(hc, "Memory", json_integer(s->mem_limit));
    if (s->cpus > 0)
        json_object_set_new(hc, "NanoCpus", json_integer((json_int_t)(s->cpus * 1e9)));
    if (s->n_ulimits) {
        json_t *ul = json_array();
        for (size_t i = 0; i < s->n_ulimits; i++) {
            json_t *u = json_object();
            json_object_set_new(u, "Name", json_string(s->ulimits[i].name));
            json_object_set_new(u, "Soft", json_integer(s->ulimits[i].soft));
            json_object_set_new(u, "Hard", json_integer(s->ulimits[i].hard));
            json_array_append_new(ul, u);
        }
        json_object_set_new(hc, "Ulimits", ul);
    }
    json_object_set_new(hc, "ReadonlyRootfs", json_boolean(s->read_only));
    if (c->cb.created && s->tty && c->d->console_rows && engine_api_at_least(c->d->e, 1, 42))
        json_object_set_new(hc, "ConsoleSize", json_pack("[i,i]", c->d->console_rows, c->d->console_cols));
    json_t *rp = json_object();
    json_object_set_new(rp, "Name", json_string("no"));
    json_object_set_new(hc, "RestartPolicy", rp);
    const Node *shm = node_get(s->node, "shm_size");
    if (node_is_scalar(shm))
        json_object_set_new(hc, "ShmSize", json_integer(strtoll(shm->str, NULL, 10)));

    json_t *nc = json_object();
    json_t *ecs = json_object();
    if (s->network_mode) {
        const char *nm = s->network_mode;
        if (str_startswith(nm, "service:")) {
            char *other = docker_container_name(p, project_service(p, nm + 8) ? project_service(p, nm + 8) : s);
            char *mode = xasprintf("container:%s", other);
            json_object_set_new(hc, "NetworkMode", json_string(mode));
            free(mode);
            free(other);
        } else {
            json_object_set_new(hc, "NetworkMode", json_string(nm));
        }
    } else if (s->n_networks > 0) {
        const char *net = network_engine_name(p, s->networks[0].name);
        json_object_set_new(hc, "NetworkMode", json_string(net));
        json_t *ec = json_object();
        json_object_set_new(ec, "Aliases", aliases_json(s, &s->networks[0]));
        json_object_set_new(ecs, net, ec);
    }
    json_object_set_new(nc, "EndpointsConfig", ecs);
    json_object_set_new(b, "HostConfig", hc);
    json_object_set_new(b, "NetworkingConfig", nc);
    if (hostcfg_apply(p, s, docker_container_name, b, hc, mounts, ret_err) < 0) {
        json_decref(b);
        return NULL;
    }
    return b;
}

void create(Container *c)
{
    if (gojson_has_refs(c->s)) { /* the container it names may have come since look_up */
        free(c->hash);
        c->hash = docker_config_hash(c->d, c->s);
    }
    char *err = NULL;
    json_t *b = create_body(c, &err);
    if (!b) {
        fail(c, "%s", err);
        free(err);
        return;
    }
    char *e = engine_escape(c->name);
    char *path = xasprintf("/containers/create?name=%s", e);
    c->req = engine_request(c->d->e, "POST", path, b, on_created, c);
    free(path);
    free(e);
    json_decref(b);
}

static Container *container_new(DockerRt *d, const Service *s, const ContainerCbs *cbs, void *ud)
{
    Container *c = xcalloc(1, sizeof(*c));
    c->d = d;
    c->s = s;
    c->cb = *cbs;
    c->ud = ud;
    c->name = docker_container_name(d->p, s);
    c->image = image_name(d->p, s);
    c->hash = docker_config_hash(d, s);
    c->src_out = logmux_source(d->mux, s->name, LOG_STDOUT);
    c->src_err = logmux_source(d->mux, s->name, LOG_STDERR);
    c->next = d->list;
    d->list = c;
    if (!strvec_contains(&d->started, s->name)) {
        strvec_push(&d->started, s->name);
        c->first_start = true;
    }
    return c;
}

Container *docker_adopt(DockerRt *d, const Service *s, const char *id, const ContainerCbs *cbs, void *ud)
{
    Container *c = container_new(d, s, cbs, ud);
    c->id = xstrdup(id);
    c->adopted = true;
    c->adopt_foreign = true;
    inspect(c);
    return c;
}

static void explain_unlink(Explain *x)
{
    for (Explain **pp = &x->d->explains; *pp; pp = &(*pp)->next)
        if (*pp == x) {
            *pp = x->next;
            break;
        }
}

/* The container's image is known: what tend would create, beside what
 * the container has. */
static void on_explain_image(void *ud, int status, json_t *body, const char *err)
{
    Explain *x = ud;
    DockerRt *d = x->d;
    (void)err;
    explain_unlink(x);
    Container want = {.d = d, .s = x->s, .dry = true};
    want.image = image_name(d->p, x->s);
    want.hash = docker_config_hash(d, x->s);
    if (status == 200)
        want.image_id = (char *)json_string_value(json_object_get(body, "Id")); /* borrowed, not freed */
    char *e = NULL;
    json_t *b = create_body(&want, &e);
    char *diff = b ? ctr_config_diff(b, x->have, status == 200 ? body : NULL) : NULL;
    x->done(x->ud, diff, b ? NULL : e);
    free(diff);
    free(e);
    json_decref(b);
    free(want.image);
    free(want.hash);
    json_decref(x->have);
    free(x);
}

static void on_explained(void *ud, int status, json_t *body, const char *err)
{
    Explain *x = ud;
    const char *image = json_string_value(json_object_get(body, "Image"));
    if (status != 200 || !image) {
        explain_unlink(x);
        x->done(x->ud, NULL, err ? err : "no answer");
        free(x);
        return;
    }
    x->have = json_incref(body);
    char *path = xasprintf("/images/%s/json", image);
    x->req = engine_request(x->d->e, "GET", path, NULL, on_explain_image, x);
    free(path);
}

void docker_explain(DockerRt *d, const Service *s, const char *id,
                    void (*done)(void *ud, const char *diff, const char *err), void *ud)
{
    Explain *x = xcalloc(1, sizeof(*x));
    x->d = d;
    x->s = s;
    x->done = done;
    x->ud = ud;
    x->next = d->explains;
    d->explains = x;
    char *path = xasprintf("/containers/%s/json", id);
    x->req = engine_request(d->e, "GET", path, NULL, on_explained, x);
    free(path);
}

/* The first step of a start or a staging: the image built first (up
 * --build), or the service's container looked for. */
static Container *begin(Container *c)
{
    DockerRt *d = c->d;
    const Service *s = c->s;
    if (s->oneoff_name) {
        /* tend run: always a new container, never one to adopt. */
        on_removed_old(c, 204, NULL, NULL);
    } else if (d->build_all && s->build && !strvec_contains(&d->built, s->name)) {
        strvec_push(&d->built, s->name);
        c->prebuild = true;
        build_image(c);
    } else if (c->first_start && d->existing) {
        /* The list made while preparing answers at once, and an adopted
         * container would report itself started before the caller has
         * the Container (its address for the probes among it): the
         * answer waits for the loop. */
        c->look_soon = true;
        soon(d);
    } else {
        look_up(c);
    }
    return c;
}

Container *docker_start(DockerRt *d, const Service *s, const ContainerCbs *cbs, void *ud)
{
    return begin(container_new(d, s, cbs, ud));
}

/* on_look_soon runs from the loop, for the containers marked look_soon or
 * release_soon. */
void soon(DockerRt *d)
{
    if (!d->soon) {
        d->soon = xcalloc(1, sizeof *d->soon);
        uv_timer_init(d->loop, d->soon);
        d->soon->data = d;
    }
    uv_timer_start(d->soon, on_look_soon, 0, 0);
}

Container *docker_stage(DockerRt *d, const Service *s, const ContainerCbs *cbs, void *ud)
{
    /* A one-off is made when it runs; a service that names another
     * container (network_mode: service:, volumes_from) is hashed and made
     * with that container's ID, known once that one runs. */
    if (d->create_only || s->oneoff_name || cbs->created || gojson_has_refs(s))
        return NULL;
    Container *c = container_new(d, s, cbs, ud);
    c->held = true;
    return begin(c);
}

bool docker_staged(const Container *c)
{
    return c && c->held;
}

void docker_release(Container *c)
{
    if (!c->held)
        return;
    c->held = false;
    Parked p = c->parked;
    c->parked = PARKED_NONE;
    switch (p) {
    case PARKED_NONE: /* its steps go on, and start it at their end */
        break;
    case PARKED_START:
        start(c);
        break;
    case PARKED_START_EXISTING:
        start_existing(c);
        break;
    case PARKED_ADOPT:
    case PARKED_FAIL:
        /* These tell the caller at once (started, and healthy when it is
         * known): from the loop, not inside the caller's own step, which
         * would take the health for news before it waits for any. */
        c->parked = p;
        c->release_soon = true;
        soon(c->d);
        break;
    }
}

void release_parked(Container *c)
{
    Parked p = c->parked;
    c->parked = PARKED_NONE;
    if (p == PARKED_ADOPT) {
        adopt_found(c);
    } else if (p == PARKED_FAIL) {
        char *err = c->parked_err;
        c->parked_err = NULL;
        fail(c, "%s", err);
        free(err);
    }
}

void docker_proceed(Container *c, const char *err)
{
    c->proceeding = true;
    if (err)
        fail(c, "%s", err);
    else
        start(c);
}

static void on_killed(void *ud, int status, json_t *body, const char *err)
{
    Container *c = ud;
    (void)body;
    c->kill = NULL;
    if (err && status != 409) /* 409: not running any more */
        logmux_system(c->d->mux, c->s->name, "cannot signal the container: %s", err);
    /* A kill the engine cannot be reached for: tend stops waiting for the
     * container rather than for the engine, and says so. */
    if (err && status == 0 && c->kill_sig == SIGKILL && c->id && c->cb.exited) {
        logmux_system(c->d->mux, c->s->name,
                      "the Docker engine is unreachable: %s is left as it is (tend down removes it later)",
                      c->name);
        c->lost = false;
        if (c->wait)
            engine_cancel(c->wait);
        if (c->logs)
            engine_cancel(c->logs);
        c->wait = c->logs = NULL;
        tell_end_now(c, 137, false);
    }
}

void docker_signal(Container *c, int sig)
{
    if (!c->id)
        return;
    if (c->kill)
        engine_cancel(c->kill);
    ctrtrack_sent(&c->track, sig, sig == SIGKILL || sig == c->s->stop_signal);
    c->kill_sig = sig;
    char *path = xasprintf("/containers/%s/kill?signal=%d", c->id, sig);
    c->kill = engine_request(c->d->e, "POST", path, NULL, on_killed, c);
    free(path);
}

const char *docker_ip(const Container *c)
{
    return c->ip;
}

bool docker_adopted(const Container *c)
{
    return c->adopted;
}

void docker_container_free(Container *c)
{
    if (!c)
        return;
    DockerRt *d = c->d;
    for (Container **pp = &d->list; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    if (c->req)
        engine_cancel(c->req);
    if (c->logs)
        engine_cancel(c->logs);
    if (c->wait)
        engine_cancel(c->wait);
    if (c->kill)
        engine_cancel(c->kill);
    if (c->why)
        engine_cancel(c->why);
    hc_stop(c);
    if (c->stop_timer)
        uv_close((uv_handle_t *)c->stop_timer, (uv_close_cb)free);
    if (c->build)
        image_build_cancel(c->build);
    jsonlines_free(&c->pull_lines);
    free(c->name);
    free(c->image);
    free(c->image_id);
    free(c->hash);
    free(c->id);
    free(c->cur_image);
    free(c->parked_err);
    json_decref(c->entry);
    free(c);
}
