/* manager: runs a project on one libuv loop. It owns one state machine per
 * selected service (service.h), performs the actions the decision table
 * asks for through the runtimes, probes and the log mux, starts each
 * service the moment its dependencies meet their conditions, and stops in
 * reverse dependency order: a service is stopped once everything that
 * depends on it has stopped. */
#pragma once

#include "lib/logmux.h"
#include "load/model.h"

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
    bool watch;                 /* watch files and reload (up --watch); x-tend can also ask */
    const char *run_service;    /* tend run: when this service ends, stop the rest and exit
                                   with its status (1 if it never ran) */
    LogMuxOptions log;
} ManagerOptions;

typedef struct Manager Manager;

Manager *manager_new(uv_loop_t *loop, const Project *p, const ManagerOptions *o);
/* Starts the stack and runs the loop until everything has stopped. Returns
 * the exit status: 0 after a clean stop, 1 when a service failed or was not
 * ready in time, or the status of --exit-code-from's service. */
int manager_run(Manager *m);
void manager_free(Manager *m);

/* The folder for this project's logs and state:
 * $XDG_STATE_HOME/tend/PROJECT (default ~/.local/state/tend/PROJECT). */
char *manager_state_dir(const Project *p);
