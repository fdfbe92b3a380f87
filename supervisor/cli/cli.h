/* cli: the commands, one file each (cmd-*.c), called from main.c's command
 * table, and what several of them share (common.c). Each command returns
 * the exit status. */
#pragma once

#include "ctl/proto.h"
#include "load/config.h"

/* common.c: around a running stack. */
typedef struct CtlClient CtlClient;
/* Connects to the project's supervisor, if one runs: 1 and *ret; 0 when
 * none runs (a stale socket removed); -errno after printing why, prefixed
 * with "tend CMD: ". */
int cli_connect_project(const Project *p, const char *cmd, CtlClient **ret);
/* The colour of a service's name on a terminal ("\x1b[..m"), from its name. */
const char *cli_color(const char *service);
/* Loads the project for a command that looks at a running stack (every
 * profile's services); prints the diagnostics. Returns 0, or the exit
 * status (2 for a services-file error, 1 otherwise). */
int cli_load_project(ConfigOptions *o, Project **ret);
/* The same for a command whose arguments are service names: collects
 * argv[0..argc) into *names and, with check, names each one that is not a
 * service of the project and returns 2. On any non-zero return nothing is
 * left to free. */
int cli_load_named(ConfigOptions *o, const char *cmd, int argc, char **argv, bool check, Project **ret,
                   StrVec *names);

extern const char up_usage[];
int cmd_up(ConfigOptions *o, int argc, char **argv);

extern const char down_usage[];
int cmd_down(ConfigOptions *o, int argc, char **argv);

extern const char stop_usage[], start_usage[], restart_usage[];
int cmd_stop(ConfigOptions *o, int argc, char **argv);
int cmd_start(ConfigOptions *o, int argc, char **argv);
int cmd_restart(ConfigOptions *o, int argc, char **argv);

extern const char run_usage[];
int cmd_run(ConfigOptions *o, int argc, char **argv);

extern const char seed_usage[];
int cmd_seed(ConfigOptions *o, int argc, char **argv);

extern const char watch_usage[];
int cmd_watch(ConfigOptions *o, int argc, char **argv);

extern const char exec_usage[];
int cmd_exec(ConfigOptions *o, int argc, char **argv);

extern const char env_usage[];
int cmd_env(ConfigOptions *o, int argc, char **argv);

extern const char envs_usage[];
int cmd_envs(ConfigOptions *o, int argc, char **argv);

extern const char kube_usage[];
int cmd_kube(ConfigOptions *o, int argc, char **argv);

/* The commands around a running stack (its control socket, ctl/client.h). */
extern const char ps_usage[], logs_usage[], wait_usage[], events_usage[], attach_usage[];
int cmd_ps(ConfigOptions *o, int argc, char **argv);
int cmd_logs(ConfigOptions *o, int argc, char **argv);
int cmd_wait(ConfigOptions *o, int argc, char **argv);
int cmd_events(ConfigOptions *o, int argc, char **argv);
int cmd_attach(ConfigOptions *o, int argc, char **argv);

/* cmd-logs.c: printing the log stream, shared with attach. */
typedef struct LogsPrint {
    bool color, timestamps, no_prefix, json;
    int width; /* of the service-name column */
} LogsPrint;
void logs_print_init(LogsPrint *lp, const Project *p, const StrVec *names);
/* Asks for the logs and prints them until the end (or, following, until
 * the supervisor stops). Returns the exit status. */
int logs_stream(CtlClient *c, const LogsPrint *lp, const StrVec *names, long tail, const char *since, bool follow);

/* cmd-wait.c: a wait request and its explanation, shared with up -d and
 * stop/start/restart. */
#include <jansson.h>
json_t *ctl_wait_call(CtlClient *c, const char *cmd, const StrVec *names, CtlWaitCond cond, int64_t timeout_ns);
void ctl_wait_explain(const char *cmd, json_t *rep);
