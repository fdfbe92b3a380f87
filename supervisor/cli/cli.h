/* cli: the commands, one file each (cmd-*.c), called from main.c's command
 * table, and what several of them share (common.c). Each command returns
 * the exit status. */
#pragma once

#include "ctl/proto.h"
#include "engine/engine.h"

#include <jansson.h>
#include "load/config.h"

#include <stdio.h>
#include <uv.h>

/* common.c: around a running stack. */
typedef struct CtlClient CtlClient;
/* Connects to the project's supervisor, if one runs: 1 and *ret; 0 when
 * none runs (a stale socket removed); -errno after printing why, prefixed
 * with "tend CMD: ". */
int cli_connect_project(const Project *p, const char *cmd, CtlClient **ret);
/* The same for the project of that name. */
int cli_connect_named(const char *name, const char *cmd, CtlClient **ret);
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
/* The same with only the active profiles' services (and the named ones),
 * as up loads: for pull, build and create. */
int cli_load_active(ConfigOptions *o, const char *cmd, int argc, char **argv, Project **ret, StrVec *names);
/* The end of both: checks the names after a load that returned r. */
int cli_named_done(const char *cmd, int r, bool check, Project **ret, StrVec *names);

/* term.c: this process's side of an interactive session (exec, run):
 * stdin forwarded to input() as it comes (a terminal, pipe, socket or
 * file), eof() when it ends; with tty, the terminal in raw mode (restored
 * by cli_term_restore/stop) and its size to resize() on SIGWINCH. */
typedef struct CliTerm CliTerm;
typedef struct CliTermCbs {
    void (*input)(void *ud, const char *p, size_t n);
    void (*eof)(void *ud);
    void (*resize)(void *ud, int w, int h);
} CliTermCbs;
CliTerm *cli_term_start(uv_loop_t *loop, bool read_stdin, bool tty, const CliTermCbs *cbs, void *ud);
/* Reports the terminal's size now (once the command has started). */
void cli_term_resize(CliTerm *t);
/* The terminal's size (columns, rows), 0 when there is none. */
void cli_term_size(int *ret_w, int *ret_h);
/* The terminal back in its own mode (before printing a message). */
void cli_term_restore(CliTerm *t);
/* Restores, stops reading and lets go (freed once its handles closed). */
void cli_term_stop(CliTerm *t);

/* An interactive session (engine/attach.h) with this terminal: POST path
 * (an exec's start or a container's attach) taken over by the engine; the
 * output to this process's stdout and stderr, stdin to the command when
 * interactive (its end closes the command's stdin), the terminal raw and
 * its size to resize_path ("/exec/ID/resize", "/containers/ID/resize")
 * with tty. upgraded(ud) once the stream is open (the caller starts the
 * command, then calls cli_session_resize); NULL: the command runs from
 * the upgrade on (an exec), and its size is sent at once. NULL with
 * *ret_err when the engine is not on a unix socket. */
typedef struct CliSession CliSession;
CliSession *cli_session_start(Engine *e, uv_loop_t *loop, const char *path, const char *body,
                              const char *resize_path, bool tty, bool interactive,
                              void (*upgraded)(void *ud), void *ud, char **ret_err);
/* Sends the terminal's size again (a container that has just started). */
void cli_session_resize(CliSession *s);
/* Whether the output has ended (the command is done), and why it failed
 * when it could not be had. */
bool cli_session_done(const CliSession *s);
const bool *cli_session_done_flag(const CliSession *s);
const char *cli_session_error(const CliSession *s);
void cli_session_free(CliSession *s);

/* A running tend acts (ctl/server.c): cmd on names (every service of its
 * run when empty) with extra's fields (borrowed, may be NULL); the names it
 * acted on are appended to *ret_acted. 0, or 1 after printing why. */
int cli_ctl_act(CtlClient *c, const char *cmd, const StrVec *names, json_t *extra, StrVec *ret_acted);
/* Waits until those services are stopped (or that tend has ended). */
void cli_ctl_wait_stopped(CtlClient *c, const StrVec *names);
/* A line of progress on stderr, as Compose prints it: " Container x  Killed". */
void cli_progress(const char *kind, const char *name, const char *what);

/* A table as the docker CLI's tabwriter lays it out: rows->n / ncols rows
 * of ncols cells (the first row the header), each column but the last
 * padded to its widest cell plus padding, at least minwidth (Compose's
 * tables: 20 and 3; top: 4 and 2). */
void cli_table_print(FILE *f, const StrVec *rows, size_t ncols, size_t minwidth, size_t padding);
/* 1986007 -> "1.99MB", as docker's units.HumanSizeWithPrecision(x, 3). */
void cli_human_size(double size, char buf[32]);
/* 1560 -> "26 minutes", as docker's units.HumanDuration. */
void cli_human_duration(int64_t seconds, char buf[32]);

/* A boolean flag that may be written --flag=false, as Compose's are (NULL:
 * true). false when arg is not a boolean. */
bool cli_bool_arg(const char *arg, bool *ret);

extern const char up_usage[];
int cmd_up(ConfigOptions *o, int argc, char **argv);

extern const char down_usage[];
int cmd_down(ConfigOptions *o, int argc, char **argv);

extern const char stop_usage[], start_usage[], restart_usage[];
int cmd_stop(ConfigOptions *o, int argc, char **argv);
int cmd_start(ConfigOptions *o, int argc, char **argv);
int cmd_restart(ConfigOptions *o, int argc, char **argv);
/* stop, start or restart of names (every service when empty) on a loaded
 * project, through a running tend or the engine; timeout < 0: each
 * service's stop_grace_period. Returns the exit status. */
int cli_lifecycle(const char *action, const Project *p, const StrVec *names, int timeout);

extern const char run_usage[];
int cmd_run(ConfigOptions *o, int argc, char **argv);

extern const char seed_usage[];
int cmd_seed(ConfigOptions *o, int argc, char **argv);

extern const char watch_usage[];
int cmd_watch(ConfigOptions *o, int argc, char **argv);

extern const char exec_usage[];
int cmd_exec(ConfigOptions *o, int argc, char **argv);

extern const char kill_usage[], pause_usage[], unpause_usage[];
int cmd_kill(ConfigOptions *o, int argc, char **argv);
int cmd_pause(ConfigOptions *o, int argc, char **argv);
int cmd_unpause(ConfigOptions *o, int argc, char **argv);

extern const char rm_usage[], create_usage[];
int cmd_rm(ConfigOptions *o, int argc, char **argv);
int cmd_create(ConfigOptions *o, int argc, char **argv);

extern const char port_usage[], top_usage[];
int cmd_port(ConfigOptions *o, int argc, char **argv);
int cmd_top(ConfigOptions *o, int argc, char **argv);

extern const char images_usage[], pull_usage[], build_usage[];
int cmd_images(ConfigOptions *o, int argc, char **argv);
int cmd_pull(ConfigOptions *o, int argc, char **argv);
int cmd_build(ConfigOptions *o, int argc, char **argv);

extern const char ls_usage[];
int cmd_ls(ConfigOptions *o, int argc, char **argv);

extern const char cp_usage[];
int cmd_cp(ConfigOptions *o, int argc, char **argv);

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
