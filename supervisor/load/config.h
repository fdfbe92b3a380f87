/* config: from the command line's view of files to a Project. Discovers the
 * services files, builds the interpolation environment (shell, --env-file,
 * .env), loads each file (YAML, interpolation, schema, canonical form,
 * include, extends), merges them, applies profiles and builds the model with
 * its cross-service checks (unknown dependencies, cycles, host ports
 * published twice). Nothing is started and nothing printed. */
#pragma once

#include "load/model.h"
#include "load/node.h"

typedef struct ConfigOptions {
    StrVec files;         /* -f, in order; empty: discover */
    const char *project_name; /* -p */
    const char *project_dir;  /* --project-directory */
    StrVec env_files;     /* --env-file */
    const char *env_name; /* --env: an environment's overlay (envs.h); NULL: TEND_ENV */
    bool base_only;       /* no environment, whatever --env and TEND_ENV say */
    StrVec profiles;      /* --profile (COMPOSE_PROFILES / TEND_PROFILES are read too) */
    StrVec services;      /* services named on the command line: enabled with their deps */
    bool no_interpolate;
    bool all_profiles;    /* every service, whatever its profiles (tend config --profiles) */
    const char *cwd;      /* NULL: getcwd */
    char **environ_;      /* NULL: environ */
} ConfigOptions;

void config_options_free(ConfigOptions *o);

/* Loads the project. Returns 0 and *ret; or -EINVAL with d holding the
 * file:line:col errors (exit status 2); or another -errno with a message
 * in d (no services file found: -ENOENT). */
int config_load(const ConfigOptions *o, Project **ret, Diag *d);
/* config_load for a command: prints the diagnostics (errors and warnings)
 * to stderr and returns the exit status: 0 with *ret, 2 for a bad or
 * missing services file, 1 for anything else. */
int config_load_report(const ConfigOptions *o, Project **ret);

/* Loads a project from one in-memory file named `name` (its folder is the
 * project folder), for fuzzing and tests. Same results as config_load. */
int config_load_string(const ConfigOptions *o, const char *name, const char *data, size_t len,
                       Project **ret, Diag *d);

/* Compose's project name normalization: lower case, only [a-z0-9_-],
 * must start with a letter or digit. Returns a malloc'd string, or NULL
 * when nothing valid is left. */
char *project_name_normalize(const char *s);
