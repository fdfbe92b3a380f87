/* stamp: what a load found, kept so that a command around a running stack
 * (`tend ps`) can skip loading when nothing it read has changed.
 *
 * A stamp is kept for each folder and set of command-line options (-f, -p,
 * --project-directory, --env-file, --env, --profile), and holds a hash of the
 * whole environment, which must match too. It holds the project's name, its
 * service names, and every file and folder the load read or looked in
 * (services files, includes, extends, .env files, the folders searched for
 * services files) with its modification time, size and inode. It is valid
 * while all of them are unchanged; anything else is a miss and the caller
 * loads as usual. Stamps live in $XDG_RUNTIME_DIR/tend/stamps (else
 * $XDG_CACHE_HOME/tend/stamps), private to the user. */
#pragma once

#include "load/config.h"

/* Records the result of a load with o. Failures are ignored (a stamp is
 * only a shortcut). */
void stamp_save(const ConfigOptions *o, const Project *p);

/* 0 with *ret_name and ret_services (every service name, profiles or not)
 * when a stamp for o is valid; -ENOENT when there is none or it is stale. */
int stamp_lookup(const ConfigOptions *o, char **ret_name, StrVec *ret_services);
