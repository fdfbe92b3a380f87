/* cli: the commands that run a stack, one file each, called from main.c's
 * command table. Each returns the exit status. */
#pragma once

#include "load/config.h"

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

/* The commands around a running stack (its control socket, ctl.h). */
extern const char ps_usage[], logs_usage[], wait_usage[], events_usage[], attach_usage[];
int cmd_ps(ConfigOptions *o, int argc, char **argv);
int cmd_logs(ConfigOptions *o, int argc, char **argv);
int cmd_wait(ConfigOptions *o, int argc, char **argv);
int cmd_events(ConfigOptions *o, int argc, char **argv);
int cmd_attach(ConfigOptions *o, int argc, char **argv);

/* cli-logs.c: printing the log stream, shared with attach. */
typedef struct CtlClient CtlClient;
typedef struct LogsPrint {
    bool color, timestamps, no_prefix, json;
    int width; /* of the service-name column */
} LogsPrint;
void logs_print_init(LogsPrint *lp, const Project *p, const StrVec *names);
/* Asks for the logs and prints them until the end (or, following, until
 * the supervisor stops). Returns the exit status. */
int logs_stream(CtlClient *c, const LogsPrint *lp, const StrVec *names, long tail, const char *since, bool follow);

/* cli-wait.c: a wait request and its explanation, shared with up -d and
 * stop/start/restart. */
#include <jansson.h>
json_t *ctl_wait_call(CtlClient *c, const char *cmd, const StrVec *names, const char *cond, int64_t timeout_ns);
void ctl_wait_explain(const char *cmd, json_t *rep);
