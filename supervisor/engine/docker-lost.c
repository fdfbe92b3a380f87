/* docker-lost: the engine going away while containers run, and
 * healthchecks run from here on Podman. Part of the container runtime
 * (docker.c, docker-int.h). */
#include "engine/docker-int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- the engine going away ----
 *
 * The engine restarts, or its socket goes away, while containers run: the
 * event stream and every container's log and wait streams end without an
 * answer. That is not the containers' exit. tend says so once, pings the
 * engine on a backoff (100 ms doubling to 5 s) until it answers, then
 * opens the event stream again from the moment it was lost (the engine
 * replays what happened meanwhile) and reads each container's state
 * afresh from the engine: one that still runs is followed again, its logs
 * from that moment on; one that exited meanwhile reports its real exit;
 * one that is gone is reported as such. */

#define RETRY_FIRST_MS 100
#define RETRY_MAX_MS 5000

int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void retry_later(DockerRt *d);

static void on_reinspected(void *ud, int status, json_t *body, const char *err)
{
    Container *c = ud;
    c->req = NULL;
    if (status == 404) {
        logmux_system(c->d->mux, c->s->name, "container %s was removed while the engine was away", c->name);
        if (c->cb.exited)
            tell_end_now(c, 255, true);
        return;
    }
    if (status != 200 || !body) {
        c->lost = true;
        engine_lost(c->d, err ? err : "no answer");
        return;
    }
    /* Running or not, the streams tell: a stopped container's logs end
     * and its /wait answers at once with its exit code. */
    snprintf(c->resume, sizeof c->resume, "%s", c->d->lost_at);
    follow(c);
}

static void reattach(Container *c)
{
    c->lost = false;
    c->exit_pending = false;
    memset(&c->demux, 0, sizeof c->demux);
    char *path = xasprintf("/containers/%s/json", c->id);
    c->req = engine_request(c->d->e, "GET", path, NULL, on_reinspected, c);
    free(path);
}

static void on_ping(void *ud, int status, json_t *body, const char *err)
{
    DockerRt *d = ud;
    (void)body;
    if (status != 200 || err) {
        retry_later(d);
        return;
    }
    d->lost = false;
    logmux_system(d->mux, NULL, "reconnected to the Docker engine after %.1f s; reading its state again",
                  (double)(mono_ns() - d->lost_mono) / 1e9);
    if (!d->events)
        open_events(d, d->lost_at);
    for (Container *c = d->list; c; c = c->next)
        if (c->lost && c->id && !c->req)
            reattach(c);
}

static void on_retry(uv_timer_t *t)
{
    DockerRt *d = t->data;
    engine_request(d->e, "GET", "/_ping", NULL, on_ping, d);
}

static void retry_later(DockerRt *d)
{
    d->retry_ms = d->retry_ms ? d->retry_ms * 2 : RETRY_FIRST_MS;
    if (d->retry_ms > RETRY_MAX_MS)
        d->retry_ms = RETRY_MAX_MS;
    if (!d->retry) {
        d->retry = xcalloc(1, sizeof *d->retry);
        uv_timer_init(d->loop, d->retry);
        d->retry->data = d;
    }
    uv_timer_start(d->retry, on_retry, d->retry_ms, 0);
}

void engine_lost(DockerRt *d, const char *why)
{
    if (d->lost || !d->prepared)
        return;
    d->lost = true;
    /* The backoff starts over only after a while without losses: an
     * engine that breaks every answer is not pinged ever faster. */
    int64_t now = mono_ns();
    if (now - d->lost_mono > 10 * 1000000000LL)
        d->retry_ms = 0;
    d->lost_mono = now;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(d->lost_at, sizeof d->lost_at, "%lld.%09ld", (long long)ts.tv_sec, ts.tv_nsec);
    logmux_system(d->mux, NULL, "lost the Docker engine at %s (%s); reconnecting",
                  engine_where(d->e), why);
    retry_later(d);
}

/* ---- healthchecks on Podman ----
 *
 * Podman runs a container's healthcheck from a systemd timer; where there
 * is no systemd (a container, WSL, many CI machines) it never runs and no
 * health event comes. tend then runs it itself through Podman's own
 * endpoint (/libpod/containers/ID/healthcheck, which runs the check once,
 * records it and answers its status) at the check's interval (1 s unless
 * the file sets one), and reports each change as the events would. */

static void hc_tick(uv_timer_t *t);

static void on_hc(void *ud, int status, json_t *body, const char *err)
{
    Container *c = ud;
    (void)err;
    c->hc_req = NULL;
    const char *st = status == 200 ? json_string_value(json_object_get(body, "Status")) : NULL;
    int now = st && streq(st, "healthy") ? 1 : st && streq(st, "unhealthy") ? 0 : -1;
    if (now >= 0 && now != c->hc_last) {
        c->hc_last = now;
        if (c->cb.health)
            c->cb.health(c->ud, now == 1); /* may free c: nothing after this */
    }
}

static void hc_tick(uv_timer_t *t)
{
    Container *c = t->data;
    if (c->hc_req || !c->id)
        return;
    char *path = xasprintf("/libpod/containers/%s/healthcheck", c->id);
    c->hc_req = engine_request(c->d->e, "GET", path, NULL, on_hc, c);
    free(path);
}

void hc_start(Container *c)
{
    const Healthcheck *h = &c->s->healthcheck;
    if (!c->d->podman || !h->present || h->disabled || c->hc_timer)
        return;
    int64_t every_ms = h->interval > 0 ? h->interval / 1000000 : 1000;
    if (every_ms < 100)
        every_ms = 100;
    c->hc_last = -1;
    c->hc_timer = xcalloc(1, sizeof *c->hc_timer);
    uv_timer_init(c->d->loop, c->hc_timer);
    c->hc_timer->data = c;
    /* The first check soon after the start, as StartInterval would. */
    uv_timer_start(c->hc_timer, hc_tick, 200, (uint64_t)every_ms);
}

void hc_stop(Container *c)
{
    if (c->hc_req)
        engine_cancel(c->hc_req);
    c->hc_req = NULL;
    if (c->hc_timer)
        uv_close((uv_handle_t *)c->hc_timer, (uv_close_cb)free);
    c->hc_timer = NULL;
}
