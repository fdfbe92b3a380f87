/* manager: runs a project on one libuv loop. It owns one state machine per
 * selected service (service.h), performs the actions the decision table
 * asks for through the runtimes, probes and the log mux, starts each
 * service the moment its dependencies meet their conditions, and stops in
 * reverse dependency order: a service is stopped once everything that
 * depends on it has stopped.
 *
 * The parts that live beside the manager on the same loop but above it
 * (the control socket, ctl/server.h; reloads on file changes,
 * watch/reload.h) see it only through this header: they read a
 * ManagerView of a service, ask for actions with manager_act(), and hear
 * of what happens through a ManagerObserver. They never see the manager's
 * insides, and the manager never calls them by name. */
#pragma once

#include "engine/engine.h"
#include "lib/logmux.h"
#include "load/model.h"
#include "run/service.h"

#include <uv.h>

typedef struct ManagerOptions {
    const StrVec *services;     /* to run (with what they need); empty: every enabled service */
    bool no_deps;               /* only the named services, not what they depend on */
    const StrVec *except;       /* not run: managed outside tend (an IDE); nothing waits for them,
                                 * what they need still runs (select.h) */
    int64_t wait_timeout;       /* ns; 0: wait forever for readiness */
    bool abort_on_exit;         /* stop everything when any service exits */
    const char *exit_code_from; /* exit with this service's status; implies abort_on_exit */
    bool json;                  /* state changes and the ready moment as JSON lines */
    bool remove_orphans;        /* remove containers of services no longer in the file */
    bool build;                 /* build images with build: before starting (up --build) */
    const char *run_service;    /* tend run: when this service ends, stop the rest and exit
                                   with its status (1 if it never ran) */
    /* tend run, attached: run_service's new container exists and is not
     * started; the caller attaches to it, then manager_proceed() starts it.
     * Its output reaches that attachment, not the log. */
    void (*run_created)(void *ud, const char *container_id);
    void *run_ud;
    unsigned run_rows, run_cols; /* its terminal's size, when it has one */
    LogMuxOptions log;
} ManagerOptions;

typedef struct Manager Manager;

Manager *manager_new(uv_loop_t *loop, const Project *p, const ManagerOptions *o);
/* Starts the stack and runs the loop until everything has stopped. Returns
 * the exit status: 0 after a clean stop, 1 when a service failed or was not
 * ready in time, or the status of --exit-code-from's service. */
int manager_run(Manager *m);
/* Frees the manager; each observer's free() is called first. */
void manager_free(Manager *m);

/* ---- for the parts beside the manager ---- */

/* What happens, as it happens. Every member may be NULL. Called on the
 * loop, never from inside another observer call for the same event. */
typedef struct ManagerObserver {
    /* manager_run() has asked every selected service to start (the first
     * are starting; the loop has not run yet). */
    void (*start)(void *data);
    /* Service i went from one state to another; reason may be NULL. */
    void (*state)(void *data, size_t i, ServiceState from, ServiceState to, const char *reason);
    /* One line of output (logmux.h's streams; service NULL or "" for
     * tend's own lines), t in realtime ns. */
    void (*log)(void *data, const char *service, int stream, const char *line, size_t len, int64_t t);
    /* Every selected service is ready, elapsed_ns after manager_run(). */
    void (*ready)(void *data, int64_t elapsed_ns);
    /* A reload of service i began because of `what` (manager_reloading). */
    void (*reload)(void *data, size_t i, const char *what);
    /* Another client (the docker CLI, docker compose, an IDE) acted on
     * service i's container: what is "stopped", "killed", "removed",
     * "renamed", "paused", "unpaused", "adopted" or "replaced"; line is
     * tend's sentence about it, as printed. */
    void (*other)(void *data, size_t i, const char *what, const char *line);
    /* Everything has stopped and the loop is about to end: close handles. */
    void (*stop)(void *data);
    /* manager_free(): let go of everything (uv_close callbacks still run). */
    void (*free)(void *data);
} ManagerObserver;

#define MANAGER_OBSERVERS_MAX 4
/* Adds an observer (ob is copied; data is passed back). 0, or -ENOSPC. */
int manager_observe(Manager *m, const ManagerObserver *ob, void *data);

/* A service as the parts beside the manager may see it. The strings are
 * the manager's: valid until control returns to the loop. */
typedef struct ManagerView {
    const Service *def;
    bool selected;       /* part of this run */
    ServiceState state;
    bool alive;          /* its process or container is running */
    bool done;           /* stopped, and nothing will start it again by itself */
    bool ever_ran;
    int64_t exit_status;
    int term_signal;
    int restarts;        /* restarts by its restart policy */
    int64_t since_rt;    /* realtime ns of the last state change; 0: none yet */
    const char *reason;  /* why it failed or exited, or NULL */
    const char *why;     /* why it is in its state, in a few words (never NULL) */
    const char *probe_detail; /* the probe's last detail, or NULL */
    int pid;             /* a host service's process, or 0 */
    const char *ip;      /* a container's address on the project network, or NULL */
    bool paused;         /* manager_pause: frozen, its probe held */
} ManagerView;

size_t manager_size(const Manager *m);
/* The index of the service with this name, or -1. */
ssize_t manager_index(const Manager *m, const char *name);
void manager_view(const Manager *m, size_t i, ManagerView *ret);
const Project *manager_project(const Manager *m);
uv_loop_t *manager_loop(const Manager *m);
/* Whether the whole stack is stopping (Ctrl-C, tend down, a failure). */
bool manager_stopping(const Manager *m);
/* Why the run is ending ("interrupted (Ctrl-C)", "nothing runs any more:
 * ..."), or NULL while it is not. */
const char *manager_end_reason(const Manager *m);
/* Whether TEND_DEBUG asks for the details. */
bool manager_debug(const Manager *m);
/* The folder of the log files (logmux.h). */
const char *manager_log_dir(const Manager *m);
/* The engine the containers run on, or NULL (none runs, or it failed). */
Engine *manager_engine(const Manager *m);

/* A line from tend, about service i (MANAGER_NONE: about the project). */
#define MANAGER_NONE ((size_t)-1)
void manager_say(Manager *m, size_t i, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

typedef enum ManagerAct {
    MANAGER_START,   /* start it (and count it in this run) */
    MANAGER_STOP,    /* stop it; its restart policy does not bring it back */
    MANAGER_RESTART, /* stop it and start it again */
} ManagerAct;
/* Asks for an action on service i, as `tend start/stop/restart` do. The
 * decision is made once control returns through manager_flush(). */
void manager_act(Manager *m, size_t i, ManagerAct act, const char *reason);
/* Carries out what manager_act() asked for. */
void manager_flush(Manager *m);
/* Sends a signal to service i's process or container, if it runs. */
void manager_signal(Manager *m, size_t i, int sig);
/* tend kill: sends sig to service i's process or container. SIGKILL and
 * the service's stop_signal stop it, as the engine's kill does: it goes
 * through stopping to exited, and its restart policy does not bring it
 * back; other signals are only delivered. -ESRCH when it is not running. */
int manager_kill(Manager *m, size_t i, int sig);
/* tend pause / unpause: freezes service i (a host service's process
 * group gets SIGSTOP, a container is paused by the engine) with its probe
 * held, or thaws it and probes again. done(ud, err) once it is done (err
 * NULL), maybe before this returns; a pause that is still pending when the
 * manager is freed is told "tend is stopping". Returns -ESRCH (not
 * running) or -EBUSY (a pause of it is pending) without calling done. */
int manager_pause(Manager *m, size_t i, bool pause, void (*done)(void *ud, const char *err), void *ud);
/* After run_created: starts the one-off, or with err fails it. */
void manager_proceed(Manager *m, const char *err);
/* Tells the observers that a reload of service i began (watch/reload.h). */
void manager_reloading(Manager *m, size_t i, const char *what);
/* Stops everything in reverse dependency order; manager_run() returns when
 * all is stopped. why: said once, or NULL. */
void manager_shutdown(Manager *m, const char *why);
