/* host: a service as a host process. The command runs in its own process
 * group under a small shim (`tend __shim`, see shim.h) that dies with tend:
 * the shim asks the kernel for a signal when its parent dies and then kills
 * the whole group, so nothing survives even a `kill -9` of tend. Output goes
 * to the log mux through pipes. */
#pragma once

#include "lib/logmux.h"
#include "load/model.h"

#include <uv.h>

typedef struct HostProc HostProc;

/* exit_status is the command's exit code; term_signal the signal that
 * killed it (0 if it exited). */
typedef void (*HostExitFn)(void *ud, int64_t exit_status, int term_signal);

/* Where the shim is: the tend binary itself. Tests set it to the built
 * binary; main sets it from /proc/self/exe. */
void host_set_shim(const char *tend_path);

/* Starts the service: its command (a string runs through /bin/sh -c, an argv
 * as is; an entrypoint is put in front), in working_dir (relative to
 * project_dir; default project_dir), with tend's environment overlaid by the
 * service's. stdout and stderr go to mux sources of the service. A one-off
 * of tend run (oneoff_name set) gets this process's stdin with stdin_open
 * (and the terminal's foreground when stdin is one), and its stdout and
 * stderr as they are with tty. Returns 0,
 * or -errno with *ret_err ("cannot run \"x\": No such file or directory"). */
int host_start(uv_loop_t *loop, const Service *s, const char *project_dir, LogMux *mux, HostExitFn on_exit,
               void *ud, HostProc **ret, char **ret_err);
/* An Env as a NULL-ended "KEY=VALUE" array (valueless keys left out), and
 * its free (NULL is fine). */
char **host_envp(const Env *e);
void host_envp_free(char **envp);
/* The environment a host service runs with (tend's, overlaid by the
 * service's; a valueless service variable keeps tend's value, as Compose
 * takes it from the shell): what its exec probes and exec seed steps run
 * with too. */
char **host_probe_envp(const Service *s);
/* Whether the service's command (the shim's child) is stopped (SIGSTOP):
 * 1 stopped, 0 not, -1 not known (gone, or /proc says nothing). */
int host_stopped(const HostProc *p);

/* Sends a signal to the whole process group (SIGSTOP and SIGCONT too). */
int host_signal(HostProc *p, int sig);
pid_t host_pid(const HostProc *p);
/* Frees after on_exit was called (or kills with SIGKILL first if not). */
void host_free(HostProc *p);
