/* manager-view: what the parts beside the manager on the same loop (the
 * control socket in ctl/, reloads in watch/) see of it and ask of it,
 * through manager.h: observers, views of a service, actions, signals,
 * pauses. The manager itself is manager.c; what both share, manager-int.h. */
#include "run/manager-int.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>

/* ---- for the parts beside the manager (manager.h) ---- */

int manager_observe(Manager *m, const ManagerObserver *ob, void *data)
{
    if (m->n_observers == MANAGER_OBSERVERS_MAX)
        return -ENOSPC;
    m->observers[m->n_observers].ob = *ob;
    m->observers[m->n_observers].data = data;
    m->n_observers++;
    return 0;
}

size_t manager_size(const Manager *m)
{
    return m->n;
}

ssize_t manager_index(const Manager *m, const char *name)
{
    for (size_t i = 0; i < m->n; i++)
        if (streq(m->svcs[i].def->name, name))
            return (ssize_t)i;
    return -1;
}

/* The first dependency of v that is not where v needs it, "redis (exited:
 * stopped by another client (docker stop))", into b; false when none. */
static bool first_unmet(const Manager *m, const Svc *v, bool live_only, StrBuf *b)
{
    for (size_t k = 0; k < v->def->n_deps; k++) {
        const Dependency *d = &v->def->deps[k];
        const Svc *dv = &m->svcs[d->index];
        if (!dv->selected)
            continue;
        bool met = live_only ? service_state_is_live(dv->state) && dv->state != SS_STOPPING
                 : dv->state == SS_READY ? !dv->seeding || d->condition == DEP_STARTED
                 : dv->state == SS_EXITED ? d->condition != DEP_HEALTHY && !dv->by_other
                 : (dv->state == SS_RUNNING || dv->state == SS_UNHEALTHY) && d->condition == DEP_STARTED;
        if (met)
            continue;
        strbuf_printf(b, "%s (%s%s%s)", dv->def->name, dv->seeding ? "seeding" : service_state_to_string(dv->state),
                      dv->reason && !dv->seeding ? ": " : "", dv->reason && !dv->seeding ? dv->reason : "");
        return true;
    }
    return false;
}

/* Why v is in its state, in a few words: what it waits for, what its
 * probe said, who ended it, when it restarts. */
static char *svc_why(const Manager *m, const Svc *v)
{
    StrBuf b;
    strbuf_init(&b, 16 * 1024);
    const char *detail = v->prober ? prober_last_detail(v->prober) : NULL;
    char due[32];
    switch (v->state) {
    case SS_IDLE:
        strbuf_puts(&b, v->selected ? "not started yet" : "not part of this run");
        break;
    case SS_WAITING:
        strbuf_puts(&b, "waits for ");
        if (!first_unmet(m, v, false, &b))
            strbuf_puts(&b, "its dependencies");
        break;
    case SS_STARTING:
        strbuf_puts(&b, v->spawn_waiting ? "waits for the project's networks and volumes" : "being started");
        break;
    case SS_RUNNING:
        if (!has_probe(v))
            strbuf_puts(&b, "started");
        else
            strbuf_printf(&b, "started; waits for its %s%s%s", v->await_health ? "healthcheck" : "probe",
                          detail ? ": " : "", detail ? detail : "");
        break;
    case SS_READY:
        strbuf_puts(&b, v->seeding ? "ready; its seeds run (what needs it healthy waits)"
                        : has_probe(v) ? "its probe passed"
                                       : "running (no probe)");
        break;
    case SS_UNHEALTHY:
        strbuf_printf(&b, "its probe fails: %s", v->reason ? v->reason : detail ? detail : "?");
        break;
    case SS_BACKOFF:
        fmt_elapsed(due, (int64_t)uv_timer_get_due_in(&v->backoff_timer) * 1000000);
        strbuf_printf(&b, "%s; restart policy \"%s\": starts again in %s", v->reason ? v->reason : "it ended",
                      restart_policy_to_string(v->def->restart), due);
        break;
    case SS_STOPPING:
        strbuf_puts(&b, v->restart_pending ? "being restarted" : "being stopped");
        break;
    case SS_EXITED:
    case SS_FAILED:
        if (v->reason)
            strbuf_puts(&b, v->reason);
        else
            strbuf_puts(&b, v->state == SS_FAILED ? "failed" : v->ever_ran ? "exited" : "stopped before it started");
        break;
    case _SS_MAX:
        break;
    }
    if (v->paused && service_state_is_live(v->state))
        strbuf_puts(&b, v->paused_by_other ? "; paused by another client (docker pause)" : "; paused (tend pause)");
    /* What it runs beside: a dependency another client took down. */
    if (service_state_is_live(v->state) && v->state != SS_STOPPING) {
        StrBuf d;
        strbuf_init(&d, 8 * 1024);
        if (first_unmet(m, v, true, &d))
            strbuf_printf(&b, "; its dependency %s is down", d.data);
        strbuf_free(&d);
    }
    return strbuf_steal(&b);
}

void manager_view(const Manager *m, size_t i, ManagerView *ret)
{
    Svc *v = &m->svcs[i];
    free(v->why);
    v->why = svc_why(m, v);
    *ret = (ManagerView){
        .def = v->def,
        .selected = v->selected,
        .state = v->state,
        .alive = v->proc_alive,
        .done = mgr_is_done(v),
        .ever_ran = v->ever_ran,
        .exit_status = v->exit_status,
        .term_signal = v->term_signal,
        .restarts = v->restarts,
        .since_rt = v->since_rt,
        .reason = v->reason,
        .why = v->why,
        .probe_detail = v->prober ? prober_last_detail(v->prober) : NULL,
        .pid = v->proc ? (int)host_pid(v->proc) : 0,
        .ip = v->ctr && *docker_ip(v->ctr) ? docker_ip(v->ctr) : NULL,
        .paused = v->paused,
    };
}

const Project *manager_project(const Manager *m)
{
    return m->p;
}

uv_loop_t *manager_loop(const Manager *m)
{
    return m->loop;
}

bool manager_stopping(const Manager *m)
{
    return m->shutting_down;
}

const char *manager_end_reason(const Manager *m)
{
    return m->end_reason;
}

bool manager_debug(const Manager *m)
{
    return m->debug;
}

const char *manager_log_dir(const Manager *m)
{
    return m->log_dir;
}

Engine *manager_engine(const Manager *m)
{
    return m->dock ? docker_engine(m->dock) : NULL;
}

void manager_say(Manager *m, size_t i, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    _cleanup_free_ char *msg = xvasprintf(fmt, ap);
    va_end(ap);
    mgr_say(m, i < m->n ? &m->svcs[i] : NULL, "%s", msg);
}

void manager_act(Manager *m, size_t i, ManagerAct act, const char *reason)
{
    Svc *v = &m->svcs[i];
    switch (act) {
    case MANAGER_START:
        v->selected = true;
        mgr_post(m, v, SE_UP, reason);
        break;
    case MANAGER_STOP:
        v->restart_pending = false;
        mgr_post(m, v, SE_STOP, reason);
        break;
    case MANAGER_RESTART:
        mgr_post(m, v, SE_RESTART, reason);
        break;
    }
}

void manager_flush(Manager *m)
{
    mgr_drain(m);
}

void manager_signal(Manager *m, size_t i, int sig)
{
    svc_signal(&m->svcs[i], sig);
}

void manager_reloading(Manager *m, size_t i, const char *what)
{
    for (size_t k = 0; k < m->n_observers; k++)
        if (m->observers[k].ob.reload)
            m->observers[k].ob.reload(m->observers[k].data, i, what);
}

void manager_shutdown(Manager *m, const char *why)
{
    mgr_begin_shutdown(m, why);
}

int manager_kill(Manager *m, size_t i, int sig)
{
    Svc *v = &m->svcs[i];
    if (!v->proc_alive)
        return -ESRCH;
    if (sig == SIGKILL || sig == v->def->stop_signal) {
        v->kill_sig = sig;
        v->restart_pending = false;
        if (v->state == SS_STOPPING)
            signal_stop(m, v); /* already stopping: the kill goes out now */
        else
            mgr_post(m, v, SE_STOP, NULL);
        mgr_drain(m);
        return 0;
    }
    svc_signal(v, sig);
    return 0;
}

/* The probe held during a pause runs again afterwards. by_other: another
 * client paused or unpaused it, which the caller has said. */
void pause_apply(Manager *m, Svc *v, bool pause, bool by_other)
{
    v->paused = pause;
    v->paused_by_other = pause && by_other;
    if (pause) {
        stop_probe(v);
        if (!by_other)
            mgr_say(m, v, "paused");
    } else {
        if (!by_other)
            mgr_say(m, v, "unpaused");
        if (v->state == SS_RUNNING || v->state == SS_READY || v->state == SS_UNHEALTHY) {
            start_probe(m, v);
            mgr_drain(m);
        }
    }
}

static void on_paused(void *ud, int status, json_t *body, const char *err)
{
    Svc *v = ud;
    (void)body;
    bool pause = !v->paused;
    v->pause_req = NULL;
    /* 409 "not paused"/"already paused": it is as asked */
    if (!err || status == 409)
        pause_apply(v->m, v, pause, false);
    v->pause_done(v->pause_ud, err && status != 409 ? err : NULL);
}

/* A host service is paused when its command has stopped, not when the
 * shim was asked: the answer waits for that (at most a second). */
static void pause_poll_end(Svc *v, const char *err)
{
    uv_close((uv_handle_t *)v->pause_poll, (uv_close_cb)free);
    v->pause_poll = NULL;
    v->pause_done(v->pause_ud, err);
}

static void on_pause_poll(uv_timer_t *t)
{
    Svc *v = t->data;
    if (!v->proc || host_stopped(v->proc) != 0 || ++v->pause_polls >= 500)
        pause_poll_end(v, NULL);
}

void manager_pause_cancel(Svc *v)
{
    if (v->pause_poll)
        pause_poll_end(v, "tend is stopping");
}

int manager_pause(Manager *m, size_t i, bool pause, void (*done)(void *ud, const char *err), void *ud)
{
    Svc *v = &m->svcs[i];
    if (!v->proc_alive || !(v->state == SS_RUNNING || v->state == SS_READY || v->state == SS_UNHEALTHY))
        return -ESRCH;
    if (v->pause_req || v->pause_poll)
        return -EBUSY;
    if (v->paused == pause) {
        done(ud, NULL);
        return 0;
    }
    if (v->proc) {
        svc_signal(v, pause ? SIGSTOP : SIGCONT);
        pause_apply(m, v, pause, false);
        if (!pause || host_stopped(v->proc) != 0) {
            done(ud, NULL);
            return 0;
        }
        v->pause_done = done;
        v->pause_ud = ud;
        v->pause_polls = 0;
        v->pause_poll = xcalloc(1, sizeof *v->pause_poll);
        uv_timer_init(m->loop, v->pause_poll);
        v->pause_poll->data = v;
        uv_timer_start(v->pause_poll, on_pause_poll, 2, 2);
        return 0;
    }
    if (!m->dock || !v->ctr)
        return -ESRCH;
    _cleanup_free_ char *name = docker_container_name(m->p, v->def);
    _cleanup_free_ char *en = engine_escape(name);
    _cleanup_free_ char *path = xasprintf("/containers/%s/%s", en, pause ? "pause" : "unpause");
    v->pause_done = done;
    v->pause_ud = ud;
    /* on_paused tells the direction from v->paused, which changes only there */
    v->pause_req = engine_request(docker_engine(m->dock), "POST", path, NULL, on_paused, v);
    return 0;
}

void manager_proceed(Manager *m, const char *err)
{
    Svc *v = m->o.run_service ? mgr_find(m, m->o.run_service) : NULL;
    if (v && v->ctr)
        docker_proceed(v->ctr, err);
}
