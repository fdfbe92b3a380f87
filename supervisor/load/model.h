/* model: the normalized project every later stage runs from. It is built by
 * config.c from the merged, canonical tree and holds no YAML: durations are
 * nanoseconds, paths are absolute, the environment is final, dependencies
 * point at services by index. The structs are plain data and public; the
 * Project owns everything reachable from it (project_free). */
#pragma once

#include "lib/env.h"
#include "load/node.h"
#include "load/parse.h"
#include "lib/util.h"

#include <stdint.h>

typedef enum RuntimeKind {
    RUNTIME_DOCKER,
    RUNTIME_HOST,
    _RUNTIME_MAX,
} RuntimeKind;

typedef enum RestartPolicy {
    RESTART_NO,
    RESTART_ALWAYS,
    RESTART_ON_FAILURE,
    RESTART_UNLESS_STOPPED,
    _RESTART_MAX,
} RestartPolicy;

typedef enum DepCondition {
    DEP_STARTED,
    DEP_HEALTHY,
    DEP_COMPLETED,
    _DEP_MAX,
} DepCondition;

typedef enum ProbeKind {
    PROBE_NONE,
    PROBE_POSTGRES,
    PROBE_REDIS,
    PROBE_HTTP,
    PROBE_TCP,
    PROBE_LOG,
    PROBE_EXEC,
    _PROBE_MAX,
} ProbeKind;

typedef enum WatchAction {
    WATCH_SYNC,
    WATCH_REBUILD,
    WATCH_RESTART,
    WATCH_SYNC_RESTART,
    WATCH_SYNC_EXEC,
    WATCH_SIGNAL, /* x-tend: send a signal */
    _WATCH_MAX,
} WatchAction;

typedef enum SeedKind {
    SEED_SQL,
    SEED_REDIS,
    SEED_EXEC,
    _SEED_MAX,
} SeedKind;

const char *runtime_kind_to_string(RuntimeKind k);
const char *restart_policy_to_string(RestartPolicy p);
const char *dep_condition_to_string(DepCondition c);
const char *probe_kind_to_string(ProbeKind k);
const char *watch_action_to_string(WatchAction a);
const char *seed_kind_to_string(SeedKind k);
/* Signal by name ("SIGTERM", "TERM", "15"), or -EINVAL. */
int signal_from_string(const char *s);

typedef struct Dependency {
    char *service;   /* name */
    size_t index;    /* into Project.services */
    DepCondition condition;
    bool restart;    /* restart this dependent when the dependency restarts */
    bool required;
    Loc loc;
} Dependency;

typedef struct PortMapping {
    char *host_ip;     /* never NULL: "127.0.0.1" unless the file says otherwise */
    uint32_t published_lo, published_hi; /* 0 when no host port (ephemeral) */
    uint32_t target;
    char *protocol;    /* "tcp", "udp", "sctp" */
    Loc loc;
} PortMapping;

typedef struct Mount {
    VolumeType type;
    char *source;      /* bind: absolute host path; volume: short name (NULL: anonymous) */
    char *target;
    bool read_only;
    bool create_host_path;
    bool nocopy;
    int64_t tmpfs_size; /* bytes, 0 unset */
    Loc loc;
} Mount;

typedef struct Healthcheck {
    bool present;      /* a healthcheck was written (and not disabled) */
    bool disabled;     /* disable: true or test: [NONE] */
    StrVec test;       /* ["CMD", argv...] or ["CMD-SHELL", "cmd"] */
    int64_t interval, timeout, start_period, start_interval; /* ns; 0 = default */
    int retries;       /* 0 = default */
} Healthcheck;

/* A native readiness probe from x-tend.probe. */
typedef struct Probe {
    ProbeKind kind;
    char *host;        /* postgres, redis, tcp */
    int port;
    char *user, *password, *dbname; /* postgres */
    char *url;         /* http(s) */
    int status;        /* expected HTTP status; 0 = any 2xx/3xx */
    char *pattern;     /* log: extended regex */
    StrVec argv;       /* exec */
    int64_t interval, timeout, start_period, start_interval; /* ns */
    int retries;
} Probe;

typedef struct WatchRule {
    char *path;        /* absolute */
    WatchAction action;
    char *target;      /* container path for sync actions */
    StrVec ignore;     /* patterns relative to path */
    StrVec include;
    StrVec exec;       /* sync+exec command */
    int signal;        /* WATCH_SIGNAL */
    Loc loc;
} WatchRule;

typedef struct WatchOptions {
    bool enabled;       /* x-tend.watch.enabled: watch without --watch */
    bool bind_mounts;   /* watch bind-mounted project folders (default true) */
    WatchAction action; /* for bind mounts: restart (default) or signal */
    int signal;
    int64_t debounce;   /* ns; default 100 ms */
    StrVec ignore;
} WatchOptions;

typedef struct SeedStep {
    SeedKind kind;
    StrVec files;      /* sql / redis: absolute paths */
    char *database;    /* sql: database name (default from the probe or "postgres") */
    StrVec argv;       /* exec */
    bool shell;        /* exec given as a string: run through sh -c */
    Loc loc;
} SeedStep;

typedef struct Build {
    char *context;     /* absolute path or URL */
    char *dockerfile;
    char *target;
    Env args;
} Build;

typedef struct Ulimit {
    char *name;
    int64_t soft, hard;
} Ulimit;

typedef struct NetworkAttach {
    char *name;        /* key in Project.networks */
    StrVec aliases;
} NetworkAttach;

typedef struct Service {
    char *name;
    size_t index;
    Loc loc;
    RuntimeKind runtime;

    char *image;       /* NULL for host services */
    Build *build;      /* NULL when no build: */
    char *pull_policy; /* NULL = missing */
    StrVec command;    /* empty: image default */
    bool has_command;
    StrVec entrypoint;
    bool has_entrypoint;
    bool shell;        /* host: command was a string; run it through /bin/sh -c */
    char *command_string; /* host: the original string when shell is set */

    Env environment;   /* env_file entries overlaid by environment */
    StrVec env_null;   /* written as "KEY" alone and unset: not passed (Compose hashes them as null) */
    StrVec env_files;  /* absolute paths, in order */
    Mount *mounts;
    size_t n_mounts;
    PortMapping *ports;
    size_t n_ports;
    StrVec expose;
    Dependency *deps;
    size_t n_deps;
    Healthcheck healthcheck;
    Probe probe;
    StrVec profiles;
    RestartPolicy restart;
    int restart_max;   /* on-failure:N; 0 = unlimited */

    char *user, *working_dir, *hostname, *network_mode, *container_name;
    Env labels;
    NetworkAttach *networks;
    size_t n_networks;
    int stop_signal;   /* default SIGTERM */
    int64_t stop_grace_period; /* ns; default 10 s */
    int init;          /* -1 unset, 0, 1 */
    bool tty, stdin_open, read_only;
    StrVec tmpfs;
    StrVec extra_hosts; /* "host:ip" */
    int64_t mem_limit; /* bytes, 0 unset */
    double cpus;       /* 0 unset */
    Ulimit *ulimits;
    size_t n_ulimits;

    WatchRule *watch;
    size_t n_watch;
    WatchOptions watch_opts;
    SeedStep *seeds;
    size_t n_seeds;

    const Node *node;  /* the canonical definition (Project.arena) */

    /* tend run: set by the command on its own copy of the project. */
    char *oneoff_name; /* the one-off container's name; NULL for a service's own */
    bool oneoff_rm;    /* --rm: tend run removes the container once it exited */
} Service;

typedef struct Volume {
    char *key;         /* as written in the file */
    char *name;        /* engine name: <project>_<key> unless name:/external */
    bool external;
    char *driver;
    Env labels;
} Volume;

typedef struct Network {
    char *key;
    char *name;        /* <project>_<key> unless name:/external */
    bool external;
    char *driver;
    bool internal;
    Env labels;
} Network;

typedef struct Project {
    char *name;
    char *workdir;      /* absolute */
    StrVec config_files; /* absolute, in load order */
    StrVec inputs;      /* every file read and folder looked in while loading (load/stamp.h) */
    Service **services; /* enabled services only, sorted by name */
    size_t n_services;
    Volume *volumes;
    size_t n_volumes;
    Network *networks;
    size_t n_networks;
    StrVec ignored;     /* keys accepted but not run: "services.web.deploy" */
    StrVec profiles_all; /* every profile named in the file */
    StrVec disabled;    /* services left out by profiles */
    Env env;            /* the interpolation environment */
    Node *tree;         /* the canonical, merged tree (for `tend config`) */
    Arena *arena;
} Project;

void project_free(Project *p);
Service *project_service(const Project *p, const char *name);
/* The folder for this project's logs and state:
 * $XDG_STATE_HOME/tend/PROJECT (default ~/.local/state/tend/PROJECT).
 * malloc'd. */
char *project_state_dir(const Project *p);

/* ---- building ---- */

typedef struct ModelOptions {
    const StrVec *profiles; /* active profiles; "*" enables every profile */
    const StrVec *services; /* named on the command line: only these and what they need */
    bool all_profiles;      /* every service, whatever its profiles */
} ModelOptions;

/* Builds the services, volumes and networks of p from p->tree (canonical and
 * merged). p->name, p->workdir, p->env, p->arena and p->tree must be set.
 * Cross-service checks (unknown or disabled dependencies, cycles, host ports
 * published twice, undeclared volumes and networks) report at the node where
 * the value was written. Also fills the tree with what Compose's normalized
 * form adds (project name, resolved environment, default network). Returns
 * the number of errors. */
size_t model_build(Project *p, const ModelOptions *o, Diag *d);
