/* manager-int: what the files of the manager share, private to
 * run/manager*.c (manager.h is the interface). manager.c holds the
 * manager itself; manager-view.c what the parts beside it see and ask. */
#pragma once

#include "run/manager.h"

#include "engine/docker.h"
#include "run/host.h"
#include "run/probe.h"
#include "run/service.h"

typedef struct Svc Svc;

struct Svc {
    Manager *m;
    const Service *def;
    size_t index;
    bool selected;
    ServiceState state;
    HostProc *proc;
    HostProc *dead_proc; /* freed at the next spawn or at the end */
    Container *ctr;      /* docker: the container followed (kept after it exits) */
    bool spawn_waiting;  /* docker: waiting for the project's networks and volumes */
    bool await_health;   /* docker: readiness from the engine's health events */
    bool proc_alive;
    Prober *prober;
    uv_timer_t backoff_timer;
    uv_timer_t kill_timer;
    Backoff backoff;
    int restarts;
    bool stop_requested;
    bool restart_pending;
    bool ever_ran;
    bool was_ready;
    int64_t exit_status;
    int term_signal;
    int64_t start_ns;   /* monotonic: when it was asked to start (dependencies met) */
    int64_t ready_ns;   /* monotonic: when it became ready */
    int64_t up_ns;      /* monotonic: when `up` began for it */
    char *reason;       /* why it failed, or the last probe detail */
    char **env;         /* environment for host probes (NULL-terminated) */
    int64_t since_rt;   /* realtime ns of the last state change */
    struct SeedRun *seed; /* its x-tend.seed steps, running after its first readiness */
    bool seeding;       /* ready, but dependents wait for the seeds */
    bool seed_failed;
    char *seed_ctr;     /* the container name the seed run execs in */
    /* Another client (outside.h): */
    bool by_other;      /* it is down because another client ended or replaced its container */
    CtrEndHow other_how; /* how another client ended it (SE_ENDED) */
    bool other_removed; /* and its container is gone */
    bool paused_by_other; /* paused by another client (docker pause), not tend pause */
    char *adopt_id;     /* SE_ADOPT: the container to follow */
    char *replaced_id;  /* the other client's container in its place */
    char *replaced_name;
    char *replaced_maker;
    char *why;          /* manager_view's why, rebuilt on each view */
    int kill_sig;       /* tend kill: stopped by this signal, with no grace period */
    bool paused;        /* tend pause: frozen, probe held */
    EngineReq *pause_req; /* a container's pause or unpause in flight */
    uv_timer_t *pause_poll; /* a host service's pause: waits for its group to stop (heap) */
    int pause_polls;
    void (*pause_done)(void *ud, const char *err);
    void *pause_ud;
};

typedef struct Event {
    Svc *v;
    ServiceEvent e;
    char *reason;
} Event;

struct Manager {
    uv_loop_t *loop;
    const Project *p;
    ManagerOptions o;
    LogMux *mux;
    Svc *svcs;
    size_t n;
    Event *queue;
    size_t q_head, q_len, q_cap;
    bool draining;
    bool shutting_down;
    bool forced;
    bool all_ready_reported;
    bool any_failed;
    bool timed_out;
    int exit_code_from_status;
    int64_t up_ns;
    uv_signal_t sigint, sigterm;
    uv_timer_t wait_timer;
    uv_timer_t progress_timer;
    bool debug;
    bool idle_said;     /* "nothing of the stack runs now" was said */
    char *end_reason;   /* why the run ends */
    char *state_dir;
    char *log_dir; /* the log files (logmux.h) */
    DockerRt *dock;
    bool dock_ready;
    char *dock_err;
    struct {
        ManagerObserver ob;
        void *data;
    } observers[MANAGER_OBSERVERS_MAX];
    size_t n_observers;
};

/* The manager's own helpers, shared by the functions of manager.c and
 * manager-view.c. */
void mgr_say(Manager *m, const Svc *v, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
bool mgr_is_done(const Svc *v);
void mgr_post(Manager *m, Svc *v, ServiceEvent e, const char *reason);
void mgr_drain(Manager *m);
void mgr_begin_shutdown(Manager *m, const char *why);
Svc *mgr_find(Manager *m, const char *name);
bool has_probe(const Svc *v);
void start_probe(Manager *m, Svc *v);
void stop_probe(Svc *v);
void svc_signal(Svc *v, int sig);
void signal_stop(Manager *m, Svc *v);
void pause_apply(Manager *m, Svc *v, bool pause, bool by_other);
/* Answers a pause still waiting for the group to stop ("tend is stopping"). */
void manager_pause_cancel(Svc *v);
