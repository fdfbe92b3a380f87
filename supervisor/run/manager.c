/* manager: the one place that decides what happens next. Events (a process
 * exited, a probe passed, a timer fired, Ctrl-C) are posted to a queue and
 * drained in order; each goes through service_decide() and the resulting
 * action is carried out here. A queue rather than direct calls keeps the
 * order of transitions obvious: an action never re-enters the state machine
 * of the service that is being changed.
 *
 * What the parts beside the manager see of it and ask of it (manager.h) is
 * in manager-view.c; what both files share, in manager-int.h. */
#include "run/manager-int.h"

#include "engine/docker.h"
#include "lib/dynlib.h"
#include "load/graph.h"
#include "load/select.h"
#include "run/host.h"
#include "run/probe.h"
#include "run/seed.h"
#include "run/service.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* The manager's own helpers, shared by the functions below. */
static void all_ended(Manager *m);

static int64_t mgr_mono_ns(void)
{
    return (int64_t)uv_hrtime();
}

/* ---- output ---- */

void mgr_say(Manager *m, const Svc *v, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    _cleanup_free_ char *msg = xvasprintf(fmt, ap);
    va_end(ap);
    logmux_system(m->mux, v ? v->def->name : NULL, "%s", msg);
}

static void mgr_json_str(StrBuf *b, const char *s)
{
    strbuf_putc(b, '"');
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        if (*p == '"' || *p == '\\')
            strbuf_printf(b, "\\%c", *p);
        else if (*p < 0x20)
            strbuf_printf(b, "\\u%04x", *p);
        else
            strbuf_putc(b, (char)*p);
    }
    strbuf_putc(b, '"');
}

static void mgr_iso_now(char buf[64])
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    snprintf(buf, 64, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
             tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
}

static void emit_json(Manager *m, StrBuf *b)
{
    logmux_raw(m->mux, b->data ? b->data : "", b->len);
}

/* ---- helpers ---- */

bool has_probe(const Svc *v)
{
    const Service *s = v->def;
    if (s->probe.kind != PROBE_NONE)
        return true;
    return s->healthcheck.present && !s->healthcheck.disabled && s->healthcheck.test.n >= 2;
}

bool mgr_is_done(const Svc *v)
{
    return !v->proc_alive && !service_state_is_live(v->state) && v->state != SS_BACKOFF && v->state != SS_WAITING;
}

static void set_reason(Svc *v, const char *r)
{
    free(v->reason);
    v->reason = r ? xstrdup(r) : NULL;
}

static void check_progress(Manager *m);

/* The selected services that depend on v, "web, worker", into b. */
static void dependents_of(Manager *m, const Svc *v, StrBuf *b)
{
    for (size_t i = 0; i < m->n; i++) {
        const Svc *w = &m->svcs[i];
        if (!w->selected)
            continue;
        for (size_t k = 0; k < w->def->n_deps; k++)
            if (w->def->deps[k].index == v->index) {
                strbuf_printf(b, "%s%s", b->len ? ", " : "", w->def->name);
                break;
            }
    }
}

/* A line about what another client did to v's container, for the
 * output and for the observers (tend events). */
static void say_other(Manager *m, Svc *v, const char *what, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void say_other(Manager *m, Svc *v, const char *what, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    _cleanup_free_ char *line = xvasprintf(fmt, ap);
    va_end(ap);
    mgr_say(m, v, "%s", line);
    for (size_t k = 0; k < m->n_observers; k++)
        if (m->observers[k].ob.other)
            m->observers[k].ob.other(m->observers[k].data, v->index, what, line);
}

/* ---- dependencies ---- */

/* 1: met, 0: not yet, -1: failed (reason in *why). */
static int dep_status(Manager *m, const Dependency *d, char **why)
{
    Svc *dv = &m->svcs[d->index];
    const char *name = dv->def->name;
    if (!dv->selected)
        return 1; /* --no-deps: not ours to wait for */
    if (dv->by_other && !m->shutting_down)
        return 0; /* another client took it down: wait until it is back (tend start, or adopted) */
    switch (dv->state) {
    case SS_FAILED:
        *why = xasprintf("dependency %s failed: %s", name, dv->reason ? dv->reason : "unknown reason");
        return -1;
    case SS_EXITED:
        if (d->condition == DEP_COMPLETED) {
            if (dv->exit_status == 0 && dv->term_signal == 0)
                return 1;
            *why = xasprintf("dependency %s did not complete successfully: %s", name,
                             dv->reason ? dv->reason : "it exited");
            return -1;
        }
        if (d->condition == DEP_STARTED && dv->ever_ran && dv->exit_status == 0 && dv->term_signal == 0)
            return 1;
        if (!dv->ever_ran && dv->state == SS_EXITED && !m->shutting_down) {
            *why = xasprintf("dependency %s was stopped", name);
            return -1;
        }
        *why = xasprintf("dependency %s exited before it was %s", name,
                         d->condition == DEP_HEALTHY ? "ready" : "started");
        return -1;
    case SS_RUNNING:
    case SS_UNHEALTHY:
        return d->condition == DEP_STARTED ? 1 : 0;
    case SS_READY:
        if (dv->seed_failed && d->condition != DEP_STARTED) {
            *why = xasprintf("dependency %s could not be seeded: %s", name, dv->reason ? dv->reason : "?");
            return -1;
        }
        if (dv->seeding && d->condition != DEP_STARTED)
            return 0;
        return d->condition == DEP_COMPLETED ? 0 : 1;
    default:
        return 0;
    }
}

static void check_deps(Manager *m, Svc *v)
{
    if (v->state != SS_WAITING || m->shutting_down)
        return;
    const Service *s = v->def;
    for (size_t i = 0; i < s->n_deps; i++) {
        char *why = NULL;
        int r = dep_status(m, &s->deps[i], &why);
        if (r < 0 && !s->deps[i].required) {
            mgr_say(m, v, "warning: %s (not required; starting anyway)", why);
            free(why);
            continue;
        }
        if (r < 0) {
            mgr_post(m, v, SE_DEP_FAILED, why);
            free(why);
            return;
        }
        free(why);
        if (r == 0)
            return;
    }
    mgr_post(m, v, SE_DEPS_MET, NULL);
}

static const ContainerCbs ctr_cbs;

/* The container of a service that waits for its dependencies is made while
 * they come up (docker_stage), so that once they are ready its start is
 * all that is left. Not before each dependency runs: the engine makes one
 * container at a time, and the dependencies' own creates and starts, on
 * the way to ready, go first. */
/* tend run's service, attached: its container is made when it runs, and
 * its output comes through the attachment. */
static bool attached(const Manager *m, const Service *s)
{
    return m->o.run_created && m->o.run_service && streq(m->o.run_service, s->name);
}

static void maybe_stage(Manager *m, Svc *v)
{
    if (!m->dock_ready || m->shutting_down || v->ctr || !v->selected || v->state != SS_WAITING ||
        v->def->runtime != RUNTIME_DOCKER)
        return;
    if (attached(m, v->def))
        return;
    for (size_t i = 0; i < v->def->n_deps; i++) {
        const Svc *d = &m->svcs[v->def->deps[i].index];
        if (d->selected && d->state != SS_RUNNING && d->state != SS_READY && d->state != SS_UNHEALTHY)
            return;
    }
    v->ctr = docker_stage(m->dock, v->def, &ctr_cbs, v);
}

static void recheck_dependents(Manager *m, Svc *v)
{
    for (size_t i = 0; i < m->n; i++) {
        Svc *w = &m->svcs[i];
        if (!w->selected || w->state != SS_WAITING)
            continue;
        maybe_stage(m, w);
        for (size_t k = 0; k < w->def->n_deps; k++)
            if (w->def->deps[k].index == v->index) {
                check_deps(m, w);
                break;
            }
    }
}

/* restart: true in depends_on: dependents restart with this service. */
static void cascade_restart(Manager *m, Svc *v)
{
    for (size_t i = 0; i < m->n; i++) {
        Svc *w = &m->svcs[i];
        if (!w->selected)
            continue;
        for (size_t k = 0; k < w->def->n_deps; k++)
            if (w->def->deps[k].index == v->index && w->def->deps[k].restart &&
                (service_state_is_live(w->state) || w->state == SS_BACKOFF)) {
                mgr_post(m, w, SE_RESTART, NULL);
                break;
            }
    }
}

/* ---- runtime and probes ---- */

static void on_proc_exit(void *ud, int64_t status, int sig)
{
    Svc *v = ud;
    Manager *m = v->m;
    v->proc_alive = false;
    v->paused = false;
    v->exit_status = status;
    v->term_signal = sig;
    uv_timer_stop(&v->kill_timer);
    v->dead_proc = v->proc;
    v->proc = NULL;
    char buf[64];
    if (sig)
        snprintf(buf, sizeof(buf), "killed by signal %d (%s)", sig, strsignal(sig));
    else
        snprintf(buf, sizeof(buf), "exit status %lld", (long long)status);
    mgr_post(m, v, SE_EXITED, buf);
    mgr_drain(m);
}

static void on_ctr_started(void *ud, bool ok, const char *err)
{
    Svc *v = ud;
    if (ok) {
        v->proc_alive = true;
        v->ever_ran = true;
        mgr_post(v->m, v, SE_SPAWNED, NULL);
    } else {
        mgr_post(v->m, v, SE_SPAWN_FAILED, err);
    }
    mgr_drain(v->m);
}

static void on_ctr_exited(void *ud, const CtrEnd *end)
{
    Svc *v = ud;
    int64_t status = end->status;
    v->proc_alive = false;
    v->paused = false;
    uv_timer_stop(&v->kill_timer);
    v->exit_status = status;
    v->term_signal = status > 128 && status < 128 + 65 ? (int)(status - 128) : 0;
    char buf[160], what[128];
    ctr_end_describe(end, what, sizeof what);
    if (ctr_end_by_other(end)) {
        v->other_how = end->how;
        v->other_removed = end->how == CTR_END_REMOVED || end->removed;
        mgr_post(v->m, v, SE_ENDED, what);
    } else {
        snprintf(buf, sizeof(buf), "%s%sexit status %lld", what, *what ? ", " : "", (long long)status);
        mgr_post(v->m, v, SE_EXITED, buf);
    }
    mgr_drain(v->m);
}

/* Another client renamed, paused or unpaused the container tend follows,
 * or removed it after it ended. */
static void on_ctr_other(void *ud, CtrNote note, const char *detail)
{
    Svc *v = ud;
    Manager *m = v->m;
    switch (note) {
    case CTR_NOTE_RENAMED:
        say_other(m, v, "renamed", "its container was renamed to %s by another client (docker rename); tend keeps following it",
                  detail ? detail : "?");
        break;
    case CTR_NOTE_PAUSED:
    case CTR_NOTE_UNPAUSED:
        /* tend pause's own (in flight, or already applied) is not another client's */
        if (v->pause_req || v->paused == (note == CTR_NOTE_PAUSED))
            break;
        if (note == CTR_NOTE_PAUSED)
            say_other(m, v, "paused",
                      "paused by another client (docker pause): its processes are frozen and its probe held until "
                      "docker unpause or tend unpause");
        else
            say_other(m, v, "unpaused", "unpaused by another client (docker unpause)");
        pause_apply(m, v, note == CTR_NOTE_PAUSED, true);
        break;
    case CTR_NOTE_REMOVED:
        if (service_state_is_live(v->state) || m->shutting_down)
            break;
        say_other(m, v, "removed", "its stopped container was removed by another client (docker rm)");
        if (v->by_other && v->reason && !strstr(v->reason, "then removed")) {
            _cleanup_free_ char *r = xasprintf("%s, then removed", v->reason);
            set_reason(v, r);
        }
        break;
    }
}

static void on_ctr_created(void *ud, const char *id)
{
    Svc *v = ud;
    Manager *m = v->m;
    m->o.run_created(m->o.run_ud, id);
}

static void on_ctr_health(void *ud, bool healthy)
{
    Svc *v = ud;
    if (!v->await_health)
        return;
    mgr_post(v->m, v, healthy ? SE_PROBE_READY : SE_PROBE_UNHEALTHY, healthy ? NULL : "the container's healthcheck failed");
    mgr_drain(v->m);
}

static void on_prober(void *ud, ProberEvent ev, const char *detail)
{
    Svc *v = ud;
    Manager *m = v->m;
    switch (ev) {
    case PROBER_READY:
        mgr_post(m, v, SE_PROBE_READY, detail);
        break;
    case PROBER_UNHEALTHY:
        mgr_post(m, v, SE_PROBE_UNHEALTHY, detail);
        break;
    case PROBER_GAVE_UP:
        mgr_post(m, v, SE_PROBE_GAVE_UP, detail);
        break;
    }
    mgr_drain(m);
}

static void on_log_line(void *ud, const char *service, int stream, const char *line, size_t len, int64_t t)
{
    Manager *m = ud;
    for (size_t k = 0; k < m->n_observers; k++)
        if (m->observers[k].ob.log)
            m->observers[k].ob.log(m->observers[k].data, service, stream, line, len, t);
    if (stream == LOG_SYSTEM)
        return;
    for (size_t i = 0; i < m->n; i++) {
        Svc *v = &m->svcs[i];
        if (v->prober && v->def->probe.kind == PROBE_LOG && streq(v->def->name, service))
            prober_feed_line(v->prober, line, len);
    }
}


void start_probe(Manager *m, Svc *v)
{
    const Service *s = v->def;
    if (!has_probe(v)) {
        mgr_post(m, v, SE_PROBE_READY, NULL);
        return;
    }
    ProbeTarget t = {0};
    ProberTiming in = {0};
    bool native = s->probe.kind != PROBE_NONE;
    if (!native && s->runtime == RUNTIME_DOCKER) {
        v->await_health = true; /* the engine runs the healthcheck; its events tell */
        return;
    }
    StrVec argv = {0};
    _cleanup_free_ char *cwd = NULL;
    if (s->working_dir)
        cwd = path_absolute(m->p->workdir, s->working_dir);
    else
        cwd = xstrdup(m->p->workdir);
    if (native) {
        const Probe *p = &s->probe;
        t.kind = p->kind;
        t.host = p->host;
        if (!t.host && s->runtime == RUNTIME_DOCKER && v->ctr && *docker_ip(v->ctr))
            t.host = docker_ip(v->ctr); /* the container's address on the project network */
        t.port = p->port;
        t.user = p->user;
        t.password = p->password;
        t.dbname = p->dbname;
        t.url = p->url;
        t.status = p->status;
        if (p->kind == PROBE_EXEC) {
            for (size_t i = 0; i < p->argv.n; i++)
                strvec_push(&argv, p->argv.v[i]);
        }
        in = (ProberTiming){p->interval, p->timeout, p->start_period, p->start_interval, p->retries};
    } else {
        const Healthcheck *h = &s->healthcheck;
        t.kind = PROBE_EXEC;
        if (streq(h->test.v[0], "CMD-SHELL")) {
            strvec_push(&argv, "/bin/sh");
            strvec_push(&argv, "-c");
            strvec_push(&argv, h->test.v[1]);
        } else {
            for (size_t i = 1; i < h->test.n; i++)
                strvec_push(&argv, h->test.v[i]);
        }
        in = (ProberTiming){h->interval, h->timeout, h->start_period, h->start_interval, h->retries};
    }
    if (t.kind == PROBE_EXEC) {
        if (!v->env)
            v->env = host_probe_envp(s);
        t.argv = argv.v;
        t.env = v->env;
        t.cwd = cwd;
    }
    ProberTiming timing = prober_timing(&in, native);
    v->prober = prober_new(m->loop, &t, s->probe.kind == PROBE_LOG ? s->probe.pattern : NULL, &timing,
                           on_prober, v);
    strvec_free(&argv);
    if (!v->prober) {
        mgr_post(m, v, SE_PROBE_GAVE_UP, "cannot set up the probe");
        return;
    }
    prober_start(v->prober);
}

void stop_probe(Svc *v)
{
    v->await_health = false;
    if (v->prober) {
        prober_stop(v->prober);
        prober_free(v->prober);
        v->prober = NULL;
    }
}

static const ContainerCbs ctr_cbs = {.started = on_ctr_started, .exited = on_ctr_exited, .health = on_ctr_health,
                                     .other = on_ctr_other};

static void spawn(Manager *m, Svc *v)
{
    const Service *s = v->def;
    if (v->dead_proc) {
        host_free(v->dead_proc);
        v->dead_proc = NULL;
    }
    if (s->runtime == RUNTIME_DOCKER) {
        if (m->dock_err) {
            mgr_post(m, v, SE_SPAWN_FAILED, m->dock_err);
            return;
        }
        if (!m->dock_ready) {
            v->spawn_waiting = true;
            return;
        }
        v->start_ns = mgr_mono_ns();
        if (docker_staged(v->ctr)) {
            docker_release(v->ctr); /* created while its dependencies came up */
            return;
        }
        if (v->ctr) {
            docker_container_free(v->ctr);
            v->ctr = NULL;
        }
        static const ContainerCbs attached_cbs = {.started = on_ctr_started, .exited = on_ctr_exited,
                                                  .health = on_ctr_health, .created = on_ctr_created,
                                                  .other = on_ctr_other};
        v->ctr = docker_start(m->dock, s, attached(m, s) ? &attached_cbs : &ctr_cbs, v);
        return; /* on_ctr_started posts SE_SPAWNED or SE_SPAWN_FAILED */
    }
    char *err = NULL;
    v->start_ns = mgr_mono_ns();
    int r = host_start(m->loop, s, m->p->workdir, m->mux, on_proc_exit, v, &v->proc, &err);
    if (r < 0) {
        mgr_post(m, v, SE_SPAWN_FAILED, err ? err : strerror(-r));
        free(err);
        return;
    }
    v->proc_alive = true;
    v->ever_ran = true;
    mgr_post(m, v, SE_SPAWNED, NULL);
}

void svc_signal(Svc *v, int sig)
{
    if (v->proc)
        host_signal(v->proc, sig);
    else if (v->ctr)
        docker_signal(v->ctr, sig);
}

static void on_kill_timer(uv_timer_t *t)
{
    Svc *v = t->data;
    if (v->proc_alive) {
        char buf[32];
        fmt_elapsed(buf, v->def->stop_grace_period);
        mgr_say(v->m, v, "did not stop within %s; killing it", buf);
        svc_signal(v, SIGKILL);
    }
}

void signal_stop(Manager *m, Svc *v)
{
    stop_probe(v);
    if (!v->proc_alive)
        return;
    svc_signal(v, v->kill_sig ? v->kill_sig : v->def->stop_signal);
    /* A frozen process would not see the signal: a host group is thawed;
     * the engine thaws a paused container itself for its stop signal. */
    if (v->paused && v->proc)
        svc_signal(v, SIGCONT);
    v->paused = false;
    if (m->forced)
        svc_signal(v, SIGKILL);
    else if (!v->kill_sig) /* tend kill waits for nothing, as docker kill */
        uv_timer_start(&v->kill_timer, on_kill_timer, (uint64_t)(v->def->stop_grace_period / 1000000), 0);
}

static void on_backoff_timer(uv_timer_t *t)
{
    Svc *v = t->data;
    mgr_post(v->m, v, SE_BACKOFF_DONE, NULL);
    mgr_drain(v->m);
}

/* ---- the state machine driver ---- */

static void set_state(Manager *m, Svc *v, ServiceState next, ServiceEvent e, const char *reason)
{
    ServiceState old = v->state;
    if (old == next)
        return;
    v->state = next;
    struct timespec ts_now;
    clock_gettime(CLOCK_REALTIME, &ts_now);
    v->since_rt = (int64_t)ts_now.tv_sec * 1000000000LL + ts_now.tv_nsec;
    for (size_t k = 0; k < m->n_observers; k++)
        if (m->observers[k].ob.state)
            m->observers[k].ob.state(m->observers[k].data, v->index, old, next, reason);
    if (m->debug)
        mgr_say(m, v, "debug: %s -> %s (%s%s%s)", service_state_to_string(old), service_state_to_string(next),
            service_event_to_string(e), reason ? ": " : "", reason ? reason : "");
    if (m->o.json) {
        StrBuf b;
        strbuf_init(&b, 0);
        char ts[64];
        mgr_iso_now(ts);
        strbuf_puts(&b, "{\"event\":\"state\",\"service\":");
        mgr_json_str(&b, v->def->name);
        strbuf_printf(&b, ",\"from\":\"%s\",\"to\":\"%s\",\"time\":\"%s\",\"reason\":",
                      service_state_to_string(old), service_state_to_string(next), ts);
        if (reason)
            mgr_json_str(&b, reason);
        else
            strbuf_puts(&b, "null");
        strbuf_puts(&b, "}\n");
        emit_json(m, &b);
        strbuf_free(&b);
    }
}

static void on_other_explained(void *ud, const char *diff, const char *err);

/* The words for what another client did (SE_ENDED) and what follows from
 * the restart policy, for one line. */
static const char *other_what(CtrEndHow how)
{
    return how == CTR_END_STOPPED ? "stopped" : how == CTR_END_REMOVED ? "removed" : "killed";
}

/* SA_REPORT_OTHER: it stays down; says how to bring it back and who waits. */
static void report_other(Manager *m, Svc *v, const char *reason)
{
    const char *name = v->def->name;
    StrBuf deps;
    strbuf_init(&deps, 4096);
    dependents_of(m, v, &deps);
    _cleanup_free_ char *tail = deps.len ? xasprintf("; %s depend%s on it", deps.data, strchr(deps.data, ',') ? "" : "s")
                                         : xstrdup("");
    const char *again = v->other_removed ? "makes it again" : "starts it again";
    if (v->other_how == CTR_END_STOPPED)
        say_other(m, v, "stopped", "%s: left stopped, as after tend stop; `tend start %s` %s%s", reason, name, again,
                  tail);
    else
        say_other(m, v, other_what(v->other_how), "%s: restart policy \"%s\": left as it is; `tend start %s` %s%s",
                  reason, restart_policy_to_string(v->def->restart), name, again, tail);
    strbuf_free(&deps);
}

/* SA_ADOPT: follow the container another client started. */
static void adopt_other(Manager *m, Svc *v, const char *reason)
{
    uv_timer_stop(&v->backoff_timer);
    if (v->ctr) {
        docker_container_free(v->ctr);
        v->ctr = NULL;
    }
    set_reason(v, NULL);
    v->by_other = false;
    if (!m->dock || !v->adopt_id) {
        mgr_post(m, v, SE_SPAWN_FAILED, "no container to follow");
        return;
    }
    say_other(m, v, "adopted", "%s with the file's configuration: tend follows it", reason ? reason : "a container");
    v->start_ns = mgr_mono_ns();
    v->ctr = docker_adopt(m->dock, v->def, v->adopt_id, &ctr_cbs, v);
}

static void perform(Manager *m, Svc *v, ServiceAction a, ServiceEvent e, ServiceState from, const char *reason)
{
    char buf[32];
    switch (a) {
    case SA_NONE:
    case SA_CHECK_DEPS:
        break;
    case SA_SPAWN:
        spawn(m, v);
        break;
    case SA_START_PROBE:
        if (!m->o.json)
            mgr_say(m, v, "started");
        start_probe(m, v);
        break;
    case SA_SIGNAL_STOP:
        signal_stop(m, v);
        break;
    case SA_SCHEDULE_RESTART: {
        stop_probe(v);
        int64_t delay = backoff_next(&v->backoff, mgr_mono_ns());
        v->restarts++;
        fmt_elapsed(buf, delay);
        if (e == SE_ENDED)
            say_other(m, v, other_what(v->other_how), "%s: restart policy \"%s\": %s in %s", reason ? reason : "?",
                      restart_policy_to_string(v->def->restart),
                      v->other_how == CTR_END_REMOVED ? "making it again" : "starting it again", buf);
        else if (backoff_crash_looping(&v->backoff))
            mgr_say(m, v, "keeps crashing: %d exits within a minute (last: %s); next try in %s", v->backoff.crashes,
                reason ? reason : "?", buf);
        else
            mgr_say(m, v, "%s; restarting in %s", reason ? reason : "exited", buf);
        uv_timer_start(&v->backoff_timer, on_backoff_timer, (uint64_t)(delay / 1000000), 0);
        break;
    }
    case SA_RESTART_NOW:
    case SA_RESTART_UNHEALTHY:
        if (a == SA_RESTART_UNHEALTHY)
            mgr_say(m, v, "unhealthy (%s); restarting", reason ? reason : "probe failed");
        v->restart_pending = true;
        signal_stop(m, v);
        break;
    case SA_CANCEL_RESTART:
        uv_timer_stop(&v->backoff_timer);
        break;
    case SA_REPORT_FAILURE:
        stop_probe(v);
        set_reason(v, reason);
        m->any_failed = true;
        mgr_say(m, v, "failed: %s", reason ? reason : "unknown reason");
        if (v->proc_alive)
            signal_stop(m, v);
        break;
    case SA_REPORT_EXIT:
        stop_probe(v);
        set_reason(v, reason);
        if (!m->shutting_down || from != SS_STOPPING)
            mgr_say(m, v, "exited (%s)", reason ? reason : "stopped");
        else
            mgr_say(m, v, "stopped");
        break;
    case SA_REPORT_UNHEALTHY:
        set_reason(v, reason);
        mgr_say(m, v, "unhealthy: %s", reason ? reason : "probe failed");
        break;
    case SA_REPORT_OTHER:
        stop_probe(v);
        set_reason(v, reason);
        v->by_other = true;
        report_other(m, v, reason ? reason : "ended by another client");
        break;
    case SA_ADOPT:
        adopt_other(m, v, reason);
        break;
    case SA_REPORT_REPLACED:
        uv_timer_stop(&v->backoff_timer);
        set_reason(v, reason);
        v->by_other = true;
        say_other(m, v, "replaced", "%s", reason ? reason : "replaced by another client's container");
        break;
    case _SA_MAX:
        break;
    }
}

/* ---- containers of the project that tend does not follow ---- */

/* Another client started a container of a service: tend's own after it
 * ended (docker start, docker restart), or one it made itself (docker
 * compose up). Where tend runs none for the service, it follows it when
 * it has the file's configuration, else tells how it differs and leaves
 * it alone. */
static void on_docker_other(void *ud, const DockerOther *o)
{
    Manager *m = ud;
    if (!o->service || o->service->index >= m->n || m->shutting_down)
        return;
    Svc *v = &m->svcs[o->service->index];
    if (!v->selected)
        return;
    if (o->kind == DOCKER_OTHER_REMOVED) {
        if (v->state == SS_EXITED && v->by_other && v->replaced_id && streq(v->replaced_id, o->id)) {
            say_other(m, v, "removed", "%s, the other client's container in its place, was removed: `tend start %s` "
                      "makes it again", v->replaced_name ? v->replaced_name : o->id, v->def->name);
            _cleanup_free_ char *r = xasprintf("replaced by %s, made by another client, since removed",
                                               v->replaced_name ? v->replaced_name : o->id);
            set_reason(v, r);
        }
        return;
    }
    const char *name = o->name ? o->name : o->id;
    _cleanup_free_ char *by = o->maker ? xasprintf(" (%s)", o->maker) : xstrdup("");
    if (service_state_is_live(v->state)) {
        if (!o->tends)
            say_other(m, v, "started",
                      "another container of it, %s, was started by another client%s; tend keeps following its own",
                      name, by);
        return;
    }
    if (o->same_config) {
        free(v->adopt_id);
        v->adopt_id = xstrdup(o->id);
        _cleanup_free_ char *why = o->tends ? xasprintf("%s started again by another client (docker start)", name)
                                            : xasprintf("%s made and started by another client%s", name, by);
        mgr_post(m, v, SE_ADOPT, why);
        mgr_drain(m);
        return;
    }
    free(v->replaced_name);
    v->replaced_name = xstrdup(name);
    free(v->replaced_maker);
    v->replaced_maker = xstrdup(by);
    free(v->replaced_id);
    v->replaced_id = xstrdup(o->id);
    docker_explain(m->dock, v->def, o->id, on_other_explained, v);
}

static void on_other_explained(void *ud, const char *diff, const char *err)
{
    Svc *v = ud;
    Manager *m = v->m;
    _cleanup_free_ char *what = diff ? xasprintf("whose configuration differs from tend's in %s", diff)
                                : err ? xasprintf("with another configuration (cannot inspect it: %s)", err)
                                      : xstrdup("with another config hash than tend's (the settings tend compares "
                                                "are the same)");
    _cleanup_free_ char *line =
        xasprintf("replaced by %s, made by another client%s, %s: tend leaves it alone; `tend restart %s` puts "
                  "tend's back",
                  v->replaced_name ? v->replaced_name : "?", v->replaced_maker ? v->replaced_maker : "", what,
                  v->def->name);
    mgr_post(m, v, SE_REPLACED, line);
    mgr_drain(m);
}

/* ---- seeds ---- */

static const char *seed_ip_of(void *ud, const Service *store)
{
    Manager *m = ud;
    Svc *w = &m->svcs[store->index];
    return w->ctr ? docker_ip(w->ctr) : NULL;
}

static void on_seed_done(void *ud, bool ok, const char *err)
{
    Svc *v = ud;
    Manager *m = v->m;
    v->seed = NULL;
    v->seeding = false;
    if (!ok) {
        v->seed_failed = true;
        set_reason(v, err ? err : "a seed step failed");
        m->any_failed = true;
        mgr_say(m, v, "%s", v->reason);
        recheck_dependents(m, v);
        mgr_begin_shutdown(m, "a seed failed; the data is as it was before that step");
    } else {
        recheck_dependents(m, v);
    }
    mgr_drain(m);
}

/* A service's x-tend.seed steps run once it is first ready; what depends on
 * it being healthy waits until they are done. */
static void start_seed(Manager *m, Svc *v)
{
    SeedTarget t = {0};
    seed_target_init(&t, m->p, v->def, seed_ip_of, m);
    if (v->def->runtime == RUNTIME_DOCKER && m->dock) {
        free(v->seed_ctr);
        v->seed_ctr = docker_container_name(m->p, v->def);
        t.engine = docker_engine(m->dock);
        t.container = v->seed_ctr;
    }
    v->seeding = true;
    v->seed = seed_run(m->loop, m->p, v->def, &t, false, m->mux, on_seed_done, v);
}

static void process(Manager *m, Event *ev)
{
    Svc *v = ev->v;
    ServiceState from = v->state;
    DecideCtx c = {0};
    if (ev->e == SE_EXITED) {
        c.exit_ok = v->exit_status == 0 && v->term_signal == 0;
        c.restart_wanted = !m->shutting_down &&
                           restart_policy_wants(v->def->restart, v->def->restart_max, v->restarts, c.exit_ok,
                                                v->stop_requested);
        c.restart_pending = v->restart_pending && !m->shutting_down;
    } else if (ev->e == SE_ENDED) {
        c.restart_wanted = !m->shutting_down && !v->stop_requested &&
                           restart_after_other(v->def->restart, v->def->restart_max, v->restarts,
                                               v->other_how == CTR_END_STOPPED);
        c.restart_pending = v->restart_pending && !m->shutting_down;
    } else if (ev->e == SE_PROBE_UNHEALTHY) {
        c.restart_wanted = !m->shutting_down && restart_on_unhealthy(v->def->restart);
    }
    if (ev->e == SE_STOP)
        v->stop_requested = true;
    Transition t = service_decide(from, ev->e, &c);
    set_state(m, v, t.next, ev->e, ev->reason);
    /* A container made ahead is for the start that ends this wait: if the
     * wait ends otherwise (stopped, a dependency failed) it is let go, and
     * a restart asked for while waiting (a rebuilt image, say) makes it
     * again; either way it is staged anew for the next wait. */
    if (docker_staged(v->ctr) && (t.next != SS_WAITING || ev->e == SE_RESTART) && t.next != SS_STARTING) {
        docker_container_free(v->ctr);
        v->ctr = NULL;
        maybe_stage(m, v);
    }
    if (v->seed && t.next != SS_READY) {
        seed_cancel(v->seed); /* stopped or failed while seeding: its open transaction is rolled back */
        v->seed = NULL;
        v->seeding = false;
    }
    perform(m, v, t.action, ev->e, from, ev->reason);

    if (t.next == SS_READY && from != SS_READY) {
        v->ready_ns = mgr_mono_ns();
        backoff_ready(&v->backoff, v->ready_ns);
        if (from == SS_UNHEALTHY)
            mgr_say(m, v, "healthy again");
        else if (!m->o.json) {
            char buf[32];
            fmt_elapsed(buf, v->ready_ns - v->start_ns);
            mgr_say(m, v, "ready in %s", buf);
        }
        if (v->was_ready)
            cascade_restart(m, v);
        else if (v->def->n_seeds > 0 && !(m->o.run_service && streq(m->o.run_service, v->def->name)))
            start_seed(m, v);
        v->was_ready = true;
    }
    if (t.next == SS_WAITING && from != SS_WAITING) {
        v->restart_pending = false;
        v->stop_requested = false;
        v->by_other = false;
        v->kill_sig = 0;
        check_deps(m, v);
    }
    if (service_state_is_live(t.next))
        m->idle_said = false;
    if (t.next != from)
        recheck_dependents(m, v);
}

void mgr_post(Manager *m, Svc *v, ServiceEvent e, const char *reason)
{
    if (m->q_len == m->q_cap) {
        size_t cap = m->q_cap ? m->q_cap * 2 : 64;
        Event *q = xcalloc(cap, sizeof(Event));
        for (size_t i = 0; i < m->q_len; i++)
            q[i] = m->queue[(m->q_head + i) % m->q_cap];
        free(m->queue);
        m->queue = q;
        m->q_cap = cap;
        m->q_head = 0;
    }
    m->queue[(m->q_head + m->q_len) % m->q_cap] = (Event){v, e, reason ? xstrdup(reason) : NULL};
    m->q_len++;
}

void mgr_drain(Manager *m)
{
    if (m->draining)
        return;
    m->draining = true;
    while (m->q_len > 0) {
        Event ev = m->queue[m->q_head];
        m->q_head = (m->q_head + 1) % m->q_cap;
        m->q_len--;
        process(m, &ev);
        free(ev.reason);
    }
    m->draining = false;
    check_progress(m);
}

/* ---- the whole stack ---- */

static void print_ready_table(Manager *m)
{
    for (size_t k = 0; k < m->n_observers; k++)
        if (m->observers[k].ob.ready)
            m->observers[k].ob.ready(m->observers[k].data, mgr_mono_ns() - m->up_ns);
    if (m->o.json) {
        StrBuf b;
        strbuf_init(&b, 0);
        char ts[64];
        mgr_iso_now(ts);
        strbuf_printf(&b, "{\"event\":\"ready\",\"time\":\"%s\",\"elapsed_ms\":%lld,\"services\":[", ts,
                      (long long)((mgr_mono_ns() - m->up_ns) / 1000000));
        bool first = true;
        for (size_t i = 0; i < m->n; i++) {
            Svc *v = &m->svcs[i];
            if (!v->selected)
                continue;
            strbuf_printf(&b, "%s{\"service\":", first ? "" : ",");
            mgr_json_str(&b, v->def->name);
            strbuf_printf(&b, ",\"runtime\":\"%s\",\"state\":\"%s\",\"ready_ms\":%lld}",
                          runtime_kind_to_string(v->def->runtime), service_state_to_string(v->state),
                          (long long)((v->ready_ns ? v->ready_ns - v->start_ns : 0) / 1000000));
            first = false;
        }
        strbuf_puts(&b, "]}\n");
        emit_json(m, &b);
        strbuf_free(&b);
        return;
    }
    char total[32];
    fmt_elapsed(total, mgr_mono_ns() - m->up_ns);
    mgr_say(m, NULL, "all %s ready in %s:", "services", total);
    size_t w = 7;
    for (size_t i = 0; i < m->n; i++)
        if (m->svcs[i].selected && strlen(m->svcs[i].def->name) > w)
            w = strlen(m->svcs[i].def->name);
    mgr_say(m, NULL, "  %-*s  %-7s  %s", (int)w, "SERVICE", "RUNTIME", "READY IN");
    for (size_t i = 0; i < m->n; i++) {
        Svc *v = &m->svcs[i];
        if (!v->selected)
            continue;
        char buf[32];
        if (v->state == SS_EXITED)
            snprintf(buf, sizeof(buf), "completed");
        else
            fmt_elapsed(buf, v->ready_ns - v->start_ns);
        mgr_say(m, NULL, "  %-*s  %-7s  %s", (int)w, v->def->name, runtime_kind_to_string(v->def->runtime), buf);
    }
}

static void on_progress_timer(uv_timer_t *t)
{
    Manager *m = t->data;
    StrBuf b;
    strbuf_init(&b, 0);
    for (size_t i = 0; i < m->n; i++) {
        Svc *v = &m->svcs[i];
        if (v->selected && !mgr_is_done(v))
            strbuf_printf(&b, "%s%s", b.len ? ", " : "", v->def->name);
    }
    if (b.len)
        mgr_say(m, NULL, "waiting for %s to stop (Ctrl-C again to kill now)", b.data);
    strbuf_free(&b);
}

static void stop_what_can_stop(Manager *m)
{
    /* A service stops once every selected service that depends on it is done:
     * reverse dependency order, each level in parallel. */
    for (size_t i = 0; i < m->n; i++) {
        Svc *v = &m->svcs[i];
        if (!v->selected || mgr_is_done(v) || v->state == SS_STOPPING)
            continue;
        bool blocked = false;
        for (size_t j = 0; j < m->n && !blocked; j++) {
            Svc *w = &m->svcs[j];
            if (!w->selected || j == i || mgr_is_done(w))
                continue;
            for (size_t k = 0; k < w->def->n_deps; k++)
                if (w->def->deps[k].index == i) {
                    blocked = true;
                    break;
                }
        }
        if (!blocked)
            mgr_post(m, v, SE_STOP, NULL);
    }
}

static void check_progress(Manager *m)
{
    if (m->draining)
        return;
    if (m->shutting_down) {
        stop_what_can_stop(m);
        if (m->q_len) {
            mgr_drain(m);
            return;
        }
        bool all_done = true;
        for (size_t i = 0; i < m->n; i++)
            if (m->svcs[i].selected && !mgr_is_done(&m->svcs[i]))
                all_done = false;
        if (all_done) {
            for (size_t k = 0; k < m->n_observers; k++)
                if (m->observers[k].ob.stop)
                    m->observers[k].ob.stop(m->observers[k].data);
            uv_timer_stop(&m->progress_timer);
            uv_timer_stop(&m->wait_timer);
            uv_signal_stop(&m->sigint);
            uv_signal_stop(&m->sigterm);
            uv_stop(m->loop);
        }
        return;
    }
    bool all_ready = true, all_done = true, any_exit = false;
    for (size_t i = 0; i < m->n; i++) {
        Svc *v = &m->svcs[i];
        if (!v->selected)
            continue;
        bool completed = v->state == SS_EXITED && v->exit_status == 0 && v->term_signal == 0 && v->ever_ran;
        if ((v->state != SS_READY || v->seeding) && !completed)
            all_ready = false;
        if (!mgr_is_done(v))
            all_done = false;
        if ((v->state == SS_EXITED || v->state == SS_FAILED) && v->ever_ran)
            any_exit = true;
        if (m->o.exit_code_from && streq(v->def->name, m->o.exit_code_from) &&
            (v->state == SS_EXITED || v->state == SS_FAILED))
            m->exit_code_from_status = v->term_signal ? 128 + v->term_signal : (int)v->exit_status;
    }
    if (all_ready && !m->all_ready_reported) {
        m->all_ready_reported = true;
        uv_timer_stop(&m->wait_timer);
        if (!m->o.run_service)
            print_ready_table(m);
    }
    if (m->o.run_service) {
        Svc *r = mgr_find(m, m->o.run_service);
        if (r && (r->state == SS_EXITED || r->state == SS_FAILED)) {
            if (!r->ever_ran)
                m->exit_code_from_status = 1;
            else
                m->exit_code_from_status = r->term_signal ? 128 + r->term_signal : (int)r->exit_status;
            mgr_begin_shutdown(m, NULL);
            return;
        }
    }
    if ((m->o.abort_on_exit || m->o.exit_code_from) && any_exit) {
        mgr_begin_shutdown(m, "a service exited (--abort-on-container-exit)");
        return;
    }
    if (all_done)
        all_ended(m);
}

/* Nothing of the stack runs. When another client took services down,
 * tend stays (`tend start` or a container it adopts brings them back);
 * else nothing will run again and, like compose up, the run ends, saying
 * why. */
static void all_ended(Manager *m)
{
    StrBuf b;
    strbuf_init(&b, 64 * 1024);
    size_t n_other = 0;
    for (size_t i = 0; i < m->n; i++) {
        Svc *v = &m->svcs[i];
        if (v->selected && v->by_other)
            strbuf_printf(&b, "%s%s", n_other++ ? ", " : "", v->def->name);
    }
    if (n_other) {
        if (!m->idle_said)
            mgr_say(m, NULL,
                    "tend runs nothing of the stack now: %s %s stopped or replaced by another client; tend keeps "
                    "running: `tend start` brings %s back, `tend down` ends it",
                    b.data, n_other > 1 ? "were" : "was", n_other > 1 ? "them" : "it");
        m->idle_said = true;
        strbuf_free(&b);
        return;
    }
    strbuf_reset(&b);
    strbuf_puts(&b, "nothing runs any more (");
    bool first = true;
    for (size_t i = 0; i < m->n; i++) {
        Svc *v = &m->svcs[i];
        if (!v->selected)
            continue;
        bool completed = v->state == SS_EXITED && v->ever_ran && v->exit_status == 0 && v->term_signal == 0;
        strbuf_printf(&b, "%s%s %s", first ? "" : "; ", v->def->name,
                      completed ? "completed" : service_state_to_string(v->state));
        if (!completed && v->reason)
            strbuf_printf(&b, ": %s", v->reason);
        first = false;
    }
    strbuf_puts(&b, ")");
    mgr_begin_shutdown(m, b.data);
    strbuf_free(&b);
}

void mgr_begin_shutdown(Manager *m, const char *why)
{
    if (m->shutting_down)
        return;
    m->shutting_down = true;
    if (!m->end_reason)
        m->end_reason = xstrdup(why ? why : m->o.run_service ? "the one-off command ended" : "done");
    if (why)
        mgr_say(m, NULL, "stopping: %s", why);
    for (size_t i = 0; i < m->n; i++) {
        Svc *v = &m->svcs[i];
        uv_timer_stop(&v->backoff_timer);
    }
    uv_timer_start(&m->progress_timer, on_progress_timer, 2000, 2000);
    check_progress(m);
}

static void on_signal(uv_signal_t *h, int signum)
{
    Manager *m = h->data;
    if (m->shutting_down) {
        if (m->forced)
            return;
        m->forced = true;
        mgr_say(m, NULL, "killing everything now");
        for (size_t i = 0; i < m->n; i++) {
            Svc *v = &m->svcs[i];
            if (v->proc_alive)
                svc_signal(v, SIGKILL);
        }
        return;
    }
    mgr_begin_shutdown(m, signum == SIGINT ? "interrupted (Ctrl-C)" : "terminated");
}

static void on_wait_timer(uv_timer_t *t)
{
    Manager *m = t->data;
    if (m->all_ready_reported)
        return;
    m->timed_out = true;
    char buf[32];
    fmt_elapsed(buf, m->o.wait_timeout);
    mgr_say(m, NULL, "not every service was ready within %s:", buf);
    for (size_t i = 0; i < m->n; i++) {
        Svc *v = &m->svcs[i];
        if (!v->selected || v->state == SS_READY)
            continue;
        const char *detail = v->prober ? prober_last_detail(v->prober) : v->reason;
        mgr_say(m, v, "not ready: %s%s%s", service_state_to_string(v->state), detail ? ": " : "", detail ? detail : "");
    }
    mgr_begin_shutdown(m, "wait timeout");
}

Svc *mgr_find(Manager *m, const char *name)
{
    for (size_t i = 0; i < m->n; i++)
        if (streq(m->svcs[i].def->name, name))
            return &m->svcs[i];
    return NULL;
}

Manager *manager_new(uv_loop_t *loop, const Project *p, const ManagerOptions *o)
{
    Manager *m = xcalloc(1, sizeof(*m));
    m->loop = loop;
    m->p = p;
    m->o = *o;
    m->debug = getenv("TEND_DEBUG") && *getenv("TEND_DEBUG") && !streq(getenv("TEND_DEBUG"), "0");
    m->state_dir = project_state_dir(p);
    LogMuxOptions lo = o->log;
    m->log_dir = lo.log_dir ? xstrdup(lo.log_dir) : xasprintf("%s/logs", m->state_dir);
    lo.log_dir = m->log_dir;
    m->mux = logmux_new(loop, &lo);
    logmux_set_listener(m->mux, on_log_line, m);
    m->n = p->n_services;
    m->svcs = xcalloc(m->n ? m->n : 1, sizeof(Svc));
    for (size_t i = 0; i < m->n; i++) {
        Svc *v = &m->svcs[i];
        v->m = m;
        v->def = p->services[i];
        v->index = i;
        uv_timer_init(loop, &v->backoff_timer);
        v->backoff_timer.data = v;
        uv_timer_init(loop, &v->kill_timer);
        v->kill_timer.data = v;
        logmux_source(m->mux, v->def->name, LOG_STDOUT);
    }
    /* The selection: named services with what they need (unless --no-deps),
     * minus --except. */
    bool *sel = xcalloc(m->n ? m->n : 1, sizeof(bool));
    select_services(p, o->services, o->no_deps, o->except, sel);
    /* The libraries the run will use start loading now, beside the loop. */
    unsigned libs = 0;
    for (size_t i = 0; i < m->n; i++) {
        const Service *s = p->services[i];
        if (!sel[i])
            continue;
        if (s->runtime == RUNTIME_DOCKER || s->probe.kind == PROBE_HTTP)
            libs |= DYNLIB_MASK(DYNLIB_CURL);
        if (s->probe.kind == PROBE_POSTGRES)
            libs |= DYNLIB_MASK(DYNLIB_PQ);
        if (s->probe.kind == PROBE_REDIS)
            libs |= DYNLIB_MASK(DYNLIB_HIREDIS);
        for (size_t k = 0; k < s->n_seeds; k++)
            libs |= s->seeds[k].kind == SEED_SQL     ? DYNLIB_MASK(DYNLIB_PQ)
                    : s->seeds[k].kind == SEED_REDIS ? DYNLIB_MASK(DYNLIB_HIREDIS)
                                                     : 0;
    }
    dynlib_preload(libs);
    for (size_t i = 0; i < m->n; i++)
        m->svcs[i].selected = sel[i];
    free(sel);
    uv_signal_init(loop, &m->sigint);
    m->sigint.data = m;
    uv_signal_init(loop, &m->sigterm);
    m->sigterm.data = m;
    uv_timer_init(loop, &m->wait_timer);
    m->wait_timer.data = m;
    uv_timer_init(loop, &m->progress_timer);
    m->progress_timer.data = m;
    return m;
}

static void on_docker_prepared(void *ud, bool ok, const char *err)
{
    Manager *m = ud;
    if (ok)
        m->dock_ready = true;
    else
        m->dock_err = xstrdup(err ? err : "the Docker engine could not be prepared");
    for (size_t i = 0; i < m->n; i++) {
        Svc *v = &m->svcs[i];
        if (v->spawn_waiting) {
            v->spawn_waiting = false;
            if (v->state == SS_STARTING)
                spawn(m, v);
        }
    }
    for (size_t i = 0; i < m->n; i++)
        maybe_stage(m, &m->svcs[i]);
    mgr_drain(m);
}

int manager_run(Manager *m)
{
    bool need_docker = false;
    for (size_t i = 0; i < m->n; i++)
        if (m->svcs[i].selected && m->svcs[i].def->runtime == RUNTIME_DOCKER)
            need_docker = true;
    if (need_docker) {
        char *err = NULL;
        m->dock = docker_new(m->loop, m->p, m->mux, &err);
        if (!m->dock)
            m->dock_err = err ? err : xstrdup("cannot use the Docker engine");
        else {
            docker_set_remove_orphans(m->dock, m->o.remove_orphans);
            docker_set_other(m->dock, on_docker_other, m);
            docker_set_build(m->dock, m->o.build);
            docker_set_console_size(m->dock, m->o.run_rows, m->o.run_cols);
            docker_prepare(m->dock, on_docker_prepared, m);
        }
    }
    signal(SIGPIPE, SIG_IGN);
    uv_signal_start(&m->sigint, on_signal, SIGINT);
    uv_signal_start(&m->sigterm, on_signal, SIGTERM);
    m->up_ns = mgr_mono_ns();
    uv_update_time(m->loop);
    if (m->o.wait_timeout > 0)
        uv_timer_start(&m->wait_timer, on_wait_timer, (uint64_t)(m->o.wait_timeout / 1000000), 0);
    for (size_t i = 0; i < m->n; i++)
        if (m->svcs[i].selected)
            mgr_post(m, &m->svcs[i], SE_UP, NULL);
    mgr_drain(m);
    for (size_t k = 0; k < m->n_observers; k++)
        if (m->observers[k].ob.start)
            m->observers[k].ob.start(m->observers[k].data);
    uv_run(m->loop, UV_RUN_DEFAULT);
    if (m->o.exit_code_from || m->o.run_service)
        return m->exit_code_from_status;
    return m->any_failed || m->timed_out ? 1 : 0;
}

static void on_close_noop(uv_handle_t *h)
{
    (void)h;
}

void manager_free(Manager *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n; i++) {
        Svc *v = &m->svcs[i];
        stop_probe(v);
        if (v->proc)
            host_free(v->proc);
        if (v->dead_proc)
            host_free(v->dead_proc);
        if (v->ctr)
            docker_container_free(v->ctr);
        manager_pause_cancel(v);
        if (v->pause_req) {
            engine_cancel(v->pause_req);
            v->pause_req = NULL;
            v->pause_done(v->pause_ud, "tend is stopping");
        }
        uv_close((uv_handle_t *)&v->backoff_timer, on_close_noop);
        uv_close((uv_handle_t *)&v->kill_timer, on_close_noop);
        free(v->reason);
        if (v->seed)
            seed_cancel(v->seed);
        free(v->seed_ctr);
        free(v->adopt_id);
        free(v->replaced_id);
        free(v->replaced_name);
        free(v->replaced_maker);
        free(v->why);
        host_envp_free(v->env);
    }
    uv_close((uv_handle_t *)&m->sigint, on_close_noop);
    uv_close((uv_handle_t *)&m->sigterm, on_close_noop);
    uv_close((uv_handle_t *)&m->wait_timer, on_close_noop);
    uv_close((uv_handle_t *)&m->progress_timer, on_close_noop);
    for (size_t k = 0; k < m->n_observers; k++)
        if (m->observers[k].ob.free)
            m->observers[k].ob.free(m->observers[k].data);
    docker_free(m->dock);
    free(m->dock_err);
    logmux_free(m->mux);
    uv_run(m->loop, UV_RUN_NOWAIT);
    for (size_t i = 0; i < m->q_len; i++)
        free(m->queue[(m->q_head + i) % m->q_cap].reason);
    free(m->queue);
    free(m->svcs);
    free(m->state_dir);
    free(m->log_dir);
    free(m->end_reason);
    free(m);
}
