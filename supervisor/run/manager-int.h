/* manager-int.h: the manager's insides, shared by the files that extend it
 * on the same loop: manager.c (the state machines), manager-ctl.c (the
 * control socket) and manager-watch.c (reload on file changes). Nothing
 * outside those files includes this. */
#pragma once

#include "engine/docker.h"
#include "run/host.h"
#include "run/manager.h"
#include "run/probe.h"
#include "run/service.h"

typedef struct MgrCtl MgrCtl;     /* manager-ctl.c */
typedef struct MgrWatch MgrWatch; /* manager-watch.c */

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
    int64_t reload_ns;  /* monotonic: when a reload was asked for; 0: none in flight */
    char *reload_what;  /* what changed, for the reload line */
    bool reload_queued; /* another reload arrived while this one was starting */
    struct SeedRun *seed; /* its x-tend.seed steps, running after its first readiness */
    bool seeding;       /* ready, but dependents wait for the seeds */
    bool seed_failed;
    char *seed_ctr;     /* the container name the seed run execs in */
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
    char *state_dir;
    DockerRt *dock;
    bool dock_ready;
    char *dock_err;
    MgrCtl *ctl;
    MgrWatch *watch;
};

/* manager.c */
int64_t mgr_mono_ns(void);
void mgr_say(Manager *m, const Svc *v, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void mgr_json_str(StrBuf *b, const char *s);
void mgr_iso_now(char buf[64]);
void mgr_fmt_ms(char buf[32], int64_t ns);
bool mgr_is_live(ServiceState s);
bool mgr_is_done(const Svc *v);
/* Queues an event for a service; mgr_drain() processes the queue. Call
 * mgr_drain() after posting from a callback. */
void mgr_post(Manager *m, Svc *v, ServiceEvent e, const char *reason);
void mgr_drain(Manager *m);
/* Stops everything in reverse dependency order; manager_run() returns when
 * all is stopped. */
void mgr_begin_shutdown(Manager *m, const char *why);
/* The environment a host service gets (NULL-terminated; mgr_free_env). */
char **mgr_build_env(const Service *s);
void mgr_free_env(char **env);
Svc *mgr_find(Manager *m, const char *name);

/* manager-ctl.c: the control socket. start: after the stack began starting;
 * state: after every state change; log: every output line; ready: the
 * moment every selected service is ready; stop: when the loop is about to
 * end (close handles). */
void mgr_ctl_start(Manager *m);
void mgr_ctl_state(Manager *m, Svc *v, ServiceState from, ServiceState to, const char *reason);
void mgr_ctl_log(Manager *m, const char *service, int stream, const char *line, size_t len, int64_t t);
void mgr_ctl_ready(Manager *m);
void mgr_ctl_stop(Manager *m);
void mgr_ctl_free(Manager *m);

/* manager-watch.c: file watching. Same shape; state is used to time a
 * reload from the change until the service is ready again. */
void mgr_watch_start(Manager *m);
void mgr_watch_state(Manager *m, Svc *v, ServiceState from, ServiceState to, const char *reason);
void mgr_watch_stop(Manager *m);
void mgr_watch_free(Manager *m);
