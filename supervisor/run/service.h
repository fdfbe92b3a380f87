/* service: the per-service state machine as data. service_decide() is the
 * whole decision table, state x event -> (next state, action), a pure
 * function; the manager performs the actions and feeds back events. The
 * restart policy is folded in through DecideCtx so that the table stays
 * free of counters and clocks. Restart backoff and crash-loop detection are
 * pure helpers too. */
#pragma once

#include "load/model.h"

#include <stdbool.h>
#include <stdint.h>

typedef enum ServiceState {
    SS_IDLE,     /* not asked to run */
    SS_WAITING,  /* waiting for dependencies */
    SS_STARTING, /* being started by its runtime */
    SS_RUNNING,  /* started, not yet ready */
    SS_READY,    /* ready (probe passed, or running with no probe) */
    SS_UNHEALTHY,/* was ready; its probe now fails */
    SS_BACKOFF,  /* exited; a restart is scheduled */
    SS_STOPPING, /* asked to stop; waiting for the exit */
    SS_EXITED,   /* stopped, or completed with status 0 */
    SS_FAILED,   /* could not start, failed, gave up, or a dependency failed */
    _SS_MAX,
} ServiceState;

typedef enum ServiceEvent {
    SE_UP,            /* the manager wants it running */
    SE_DEPS_MET,      /* every dependency meets its condition */
    SE_DEP_FAILED,    /* a required dependency failed or exited */
    SE_SPAWNED,       /* the runtime started it */
    SE_SPAWN_FAILED,  /* the runtime could not start it */
    SE_PROBE_READY,   /* probe passed (or no probe) */
    SE_PROBE_UNHEALTHY,
    SE_PROBE_GAVE_UP, /* never became ready within the probe's budget */
    SE_EXITED,        /* the process ended (status in DecideCtx) */
    SE_STOP,          /* the user or shutdown asks it to stop */
    SE_BACKOFF_DONE,  /* the restart delay passed */
    SE_RESTART,       /* restart now (user, reload, or a restart:true dependency restarted) */
    SE_ENDED,         /* another client stopped, killed or removed it (restart in DecideCtx) */
    SE_ADOPT,         /* another client started a container of it with the file's configuration */
    SE_REPLACED,      /* another client runs a container of it with another configuration */
    _SE_MAX,
} ServiceEvent;

typedef enum ServiceAction {
    SA_NONE,
    SA_CHECK_DEPS,     /* evaluate dependencies; may feed SE_DEPS_MET or SE_DEP_FAILED */
    SA_SPAWN,          /* start through the runtime */
    SA_START_PROBE,    /* start the prober (or feed SE_PROBE_READY when there is none) */
    SA_SIGNAL_STOP,    /* send stop_signal, arm the grace timer */
    SA_SCHEDULE_RESTART, /* stop probes, arm the backoff timer */
    SA_RESTART_NOW,    /* stop it, then start again without backoff */
    SA_CANCEL_RESTART, /* disarm the backoff timer */
    SA_REPORT_FAILURE, /* stop probes, record and show the reason; dependents re-check */
    SA_REPORT_EXIT,    /* stop probes, record the exit; dependents re-check */
    SA_REPORT_UNHEALTHY, /* tell the user; nothing else */
    SA_RESTART_UNHEALTHY, /* unhealthy and the policy restarts: stop, then start */
    SA_REPORT_OTHER,   /* stop probes, record and tell what the other client did; it stays down */
    SA_ADOPT,          /* disarm the backoff timer, follow the other client's container */
    SA_REPORT_REPLACED, /* disarm the backoff timer, tell whose container runs in its place */
    _SA_MAX,
} ServiceAction;

typedef struct DecideCtx {
    bool exit_ok;          /* SE_EXITED: status 0 */
    bool restart_wanted;   /* SE_EXITED / SE_ENDED / SE_PROBE_UNHEALTHY: the policy restarts */
    bool restart_pending;  /* SE_EXITED / SE_ENDED while stopping: it was stopped to be started again */
} DecideCtx;

typedef struct Transition {
    ServiceState next;
    ServiceAction action;
} Transition;

Transition service_decide(ServiceState s, ServiceEvent e, const DecideCtx *c);

const char *service_state_to_string(ServiceState s);
/* Whether a service in this state may have a process or container running:
 * starting, running, ready, unhealthy or stopping. */
bool service_state_is_live(ServiceState s);
const char *service_event_to_string(ServiceEvent e);
const char *service_action_to_string(ServiceAction a);

/* Whether the policy restarts after an exit. `restarts` is how many times it
 * was restarted so far; `stopped_by_user` is true after an explicit stop. */
bool restart_policy_wants(RestartPolicy p, int max, int restarts, bool exit_ok, bool stopped_by_user);
/* Whether the policy restarts a container another client ended. A stop
 * (docker stop, docker compose stop or down) is a stop as `tend stop` is:
 * no policy restarts it (the engine does the same, `always` included). A
 * kill or a removal is a failure (exit status 137): on-failure,
 * unless-stopped and always restart it (a removed one is made again). */
bool restart_after_other(RestartPolicy p, int max, int restarts, bool stopped);
/* Whether an unhealthy service is restarted: any policy but "no". */
bool restart_on_unhealthy(RestartPolicy p);

/* Restart delay: 100 ms, doubling up to 30 s. */
typedef struct Backoff {
    int64_t delay;        /* ns, the next delay */
    int64_t ready_since;  /* ns (monotonic) when it became ready; 0 if not */
    int64_t window_start; /* crash-loop window */
    int crashes;          /* exits in the window */
} Backoff;

#define BACKOFF_MIN (100LL * 1000000)
#define BACKOFF_MAX (30LL * 1000000000)
#define BACKOFF_RESET_AFTER (10LL * 1000000000) /* healthy this long: start over */
#define CRASHLOOP_WINDOW (60LL * 1000000000)
#define CRASHLOOP_EXITS 5

/* Records an exit at `now` and returns the delay before the restart. Resets
 * first if it had been ready for BACKOFF_RESET_AFTER. */
int64_t backoff_next(Backoff *b, int64_t now);
void backoff_ready(Backoff *b, int64_t now);
/* True when CRASHLOOP_EXITS exits happened within CRASHLOOP_WINDOW. */
bool backoff_crash_looping(const Backoff *b);
