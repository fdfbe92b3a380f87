/* reload: services reloaded when their files change (tend up --watch, tend
 * watch, x-tend watch.enabled). Beside the manager on its loop, through
 * run/manager.h only. */
#pragma once

#include "run/manager.h"

typedef struct ReloadOptions {
    bool watch;          /* up --watch: the named services (every one when none is
                          * named) with rules or bind mounts; x-tend watch.enabled
                          * services are watched either way */
    const StrVec *named; /* the services named on the command line (copied) */
} ReloadOptions;

/* Watches the files of the services that ask for it, from the moment
 * manager_run() has started them until they stop. Call before
 * manager_run(). 0, or a negative errno. */
int reload_attach(Manager *m, const ReloadOptions *o);
