/* service: the decision table and the restart arithmetic. No I/O. */
#include "run/service.h"

bool service_state_is_live(ServiceState s)
{
    return s == SS_STARTING || s == SS_RUNNING || s == SS_READY || s == SS_UNHEALTHY || s == SS_STOPPING;
}

const char *service_state_to_string(ServiceState s)
{
    static const char *const t[] = {"idle",      "waiting", "starting", "running", "ready",
                                    "unhealthy", "backoff", "stopping", "exited",  "failed"};
    return (unsigned)s < _SS_MAX ? t[s] : "?";
}

const char *service_event_to_string(ServiceEvent e)
{
    static const char *const t[] = {"up",           "deps-met",  "dep-failed",      "spawned",
                                    "spawn-failed", "ready",     "unhealthy",       "gave-up",
                                    "exited",       "stop",      "backoff-done",    "restart",
                                    "ended",        "adopt",     "replaced"};
    return (unsigned)e < _SE_MAX ? t[e] : "?";
}

const char *service_action_to_string(ServiceAction a)
{
    static const char *const t[] = {"none",           "check-deps",       "spawn",
                                    "start-probe",    "signal-stop",      "schedule-restart",
                                    "restart-now",    "cancel-restart",   "report-failure",
                                    "report-exit",    "report-unhealthy", "restart-unhealthy",
                                    "report-other",   "adopt",            "report-replaced"};
    return (unsigned)a < _SA_MAX ? t[a] : "?";
}

#define T(st, ac) ((Transition){(st), (ac)})

/* What an exit means while the process was meant to run. */
static Transition on_exit_running(const DecideCtx *c)
{
    if (c->restart_wanted)
        return T(SS_BACKOFF, SA_SCHEDULE_RESTART);
    if (c->exit_ok)
        return T(SS_EXITED, SA_REPORT_EXIT);
    return T(SS_FAILED, SA_REPORT_FAILURE);
}

/* What another client ending it means while it was meant to run. */
static Transition on_ended_running(const DecideCtx *c)
{
    if (c->restart_wanted)
        return T(SS_BACKOFF, SA_SCHEDULE_RESTART);
    return T(SS_EXITED, SA_REPORT_OTHER);
}

Transition service_decide(ServiceState s, ServiceEvent e, const DecideCtx *c)
{
    static const DecideCtx none = {0};
    if (!c)
        c = &none;
    /* Another client's container, where tend runs none of the service
     * (and is not about to: stopped, waiting or backing off). */
    if ((e == SE_ADOPT || e == SE_REPLACED) &&
        (s == SS_WAITING || s == SS_BACKOFF || s == SS_EXITED || s == SS_FAILED))
        return e == SE_ADOPT ? T(SS_STARTING, SA_ADOPT) : T(SS_EXITED, SA_REPORT_REPLACED);
    switch (s) {
    case SS_IDLE:
    case SS_EXITED:
    case SS_FAILED:
        if (e == SE_UP || e == SE_RESTART)
            return T(SS_WAITING, SA_CHECK_DEPS);
        return T(s, SA_NONE);

    case SS_WAITING:
        switch (e) {
        case SE_DEPS_MET:
            return T(SS_STARTING, SA_SPAWN);
        case SE_DEP_FAILED:
            return T(SS_FAILED, SA_REPORT_FAILURE);
        case SE_STOP:
            return T(SS_EXITED, SA_REPORT_EXIT);
        default:
            return T(s, SA_NONE);
        }

    case SS_STARTING:
        switch (e) {
        case SE_SPAWNED:
            return T(SS_RUNNING, SA_START_PROBE);
        case SE_SPAWN_FAILED:
            return T(SS_FAILED, SA_REPORT_FAILURE);
        case SE_EXITED:
            return on_exit_running(c);
        case SE_ENDED:
            return on_ended_running(c);
        case SE_STOP:
            return T(SS_STOPPING, SA_NONE); /* signalled once the runtime reports it started */
        default:
            return T(s, SA_NONE);
        }

    case SS_RUNNING:
    case SS_READY:
    case SS_UNHEALTHY:
        switch (e) {
        case SE_PROBE_READY:
            return T(SS_READY, SA_NONE);
        case SE_PROBE_UNHEALTHY:
            if (s == SS_RUNNING)
                return T(s, SA_NONE); /* only after readiness */
            if (c->restart_wanted)
                return T(SS_STOPPING, SA_RESTART_UNHEALTHY);
            return T(SS_UNHEALTHY, SA_REPORT_UNHEALTHY);
        case SE_PROBE_GAVE_UP:
            if (s != SS_RUNNING)
                return T(s, SA_NONE);
            return T(SS_FAILED, SA_REPORT_FAILURE);
        case SE_EXITED:
            return on_exit_running(c);
        case SE_ENDED:
            return on_ended_running(c);
        case SE_STOP:
            return T(SS_STOPPING, SA_SIGNAL_STOP);
        case SE_RESTART:
            return T(SS_STOPPING, SA_RESTART_NOW);
        default:
            return T(s, SA_NONE);
        }

    case SS_BACKOFF:
        switch (e) {
        case SE_BACKOFF_DONE:
            return T(SS_WAITING, SA_CHECK_DEPS);
        case SE_STOP:
            return T(SS_EXITED, SA_CANCEL_RESTART);
        case SE_RESTART:
            return T(SS_WAITING, SA_CANCEL_RESTART);
        default:
            return T(s, SA_NONE);
        }

    case SS_STOPPING:
        switch (e) {
        case SE_EXITED:
        case SE_ENDED:
            if (c->restart_pending)
                return T(SS_WAITING, SA_CHECK_DEPS);
            return T(SS_EXITED, SA_REPORT_EXIT);
        case SE_SPAWNED:
            return T(s, SA_SIGNAL_STOP);
        case SE_SPAWN_FAILED:
            return T(SS_EXITED, SA_REPORT_EXIT);
        default:
            return T(s, SA_NONE);
        }

    case _SS_MAX:
        break;
    }
    return T(s, SA_NONE);
}

bool restart_policy_wants(RestartPolicy p, int max, int restarts, bool exit_ok, bool stopped_by_user)
{
    if (stopped_by_user)
        return false;
    switch (p) {
    case RESTART_ALWAYS:
    case RESTART_UNLESS_STOPPED:
        return true;
    case RESTART_ON_FAILURE:
        return !exit_ok && (max <= 0 || restarts < max);
    default:
        return false;
    }
}

bool restart_after_other(RestartPolicy p, int max, int restarts, bool stopped)
{
    return !stopped && restart_policy_wants(p, max, restarts, false, false);
}

bool restart_on_unhealthy(RestartPolicy p)
{
    return p != RESTART_NO;
}

int64_t backoff_next(Backoff *b, int64_t now)
{
    if (b->ready_since && now - b->ready_since >= BACKOFF_RESET_AFTER) {
        b->delay = 0;
        b->crashes = 0;
    }
    b->ready_since = 0;
    if (!b->window_start || now - b->window_start > CRASHLOOP_WINDOW) {
        b->window_start = now;
        b->crashes = 0;
    }
    b->crashes++;
    b->delay = b->delay <= 0 ? BACKOFF_MIN : b->delay * 2;
    if (b->delay > BACKOFF_MAX)
        b->delay = BACKOFF_MAX;
    return b->delay;
}

void backoff_ready(Backoff *b, int64_t now)
{
    b->ready_since = now;
}

bool backoff_crash_looping(const Backoff *b)
{
    return b->crashes >= CRASHLOOP_EXITS;
}
