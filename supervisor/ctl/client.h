/* ctl: the control socket of a running `tend up`, seen from both ends. The
 * supervisor side lives in manager-ctl.c; this file holds what both ends
 * share: where the socket is, the protocol version, the format of the log
 * files (for history older than the supervisor's buffers, and for `tend
 * logs` with no supervisor), and a small blocking client for the commands
 * (ps, logs, wait, events, attach, stop/start/restart, down, up -d).
 *
 * The protocol is JSON lines over a unix stream socket (mode 0600, and the
 * supervisor checks SO_PEERCRED: only its own uid may talk to it). On
 * connect the supervisor sends a hello: {"tend":1,"pid":N,"project":"P",
 * "version":"x.y.z"}. Each request is one line with an optional "id" that
 * its reply repeats: {"id":N,"ok":true,...} or {"id":N,"ok":false,
 * "error":"..."}. Streams (logs, events) follow their reply as lines of
 * their own; a finite stream ends with {"id":N,"end":true}. See
 * /work/notes/readme-ctl.md (the README) for every command. */
#pragma once

#include "load/model.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define CTL_PROTOCOL 1
#define CTL_LINE_MAX (1024 * 1024) /* longest request or reply line */

/* $XDG_RUNTIME_DIR/tend/PROJECT.sock when XDG_RUNTIME_DIR is set, else
 * STATE_DIR/ctl.sock (manager_state_dir). malloc'd. */
char *ctl_socket_path(const Project *p);

/* Whether a supervisor answers at path. 1: yes, *ret_pid set (when not
 * NULL); 0: nobody (a stale socket file, left by a supervisor killed with
 * SIGKILL, is removed); negative errno: cannot tell (-EACCES: the socket
 * belongs to someone else). */
int ctl_probe(const char *path, pid_t *ret_pid);

/* ---- the client (blocking; for the command line) ---- */

typedef struct CtlClient CtlClient;

/* Connects and reads the hello. -ENOENT or -ECONNREFUSED: no supervisor
 * runs; -EACCES: not allowed; -EPROTO: not a tend socket or another
 * protocol version (*ret_err says which). */
int ctl_connect(const char *path, CtlClient **ret, char **ret_err);
void ctl_close(CtlClient *c);
/* The supervisor's pid from the hello. */
pid_t ctl_pid(const CtlClient *c);
int ctl_fd(const CtlClient *c);
/* Sends one request (borrowed; an "id" is added when missing). Returns the
 * id, or a negative errno. */
int ctl_send(CtlClient *c, json_t *req);
/* The next line from the supervisor, parsed (the caller owns it). Waits up
 * to timeout_ms (< 0: forever). 0 and *ret; -ETIMEDOUT; -EPIPE at the end
 * of the connection; -EPROTO for a line that is not a JSON object. */
int ctl_recv(CtlClient *c, int timeout_ms, json_t **ret);
/* Sends a request and returns its reply (skipping stream lines of other
 * ids). 0 with *ret (ok or not: look at "ok"), or a negative errno. */
int ctl_call(CtlClient *c, json_t *req, int timeout_ms, json_t **ret);

/* Connects to the project's supervisor, if one runs: 1 and *ret; 0 when
 * none runs (a stale socket removed); -errno after printing why, prefixed
 * with "tend CMD: ". */
int ctl_connect_project(const Project *p, const char *cmd, CtlClient **ret);

/* ---- log files: DIR/SERVICE.log and its rotated SERVICE.log.1 ---- */

/* One line of a log file, "2026-11-23T11:30:00.123Z stdout text". */
typedef struct CtlLogLine {
    char ts[25];     /* the RFC 3339 time, ms, UTC ("" when unknown) */
    const char *stream; /* "stdout", "stderr" or "tend" (static) */
    char *text;
} CtlLogLine;

typedef struct CtlLogLines {
    CtlLogLine *v;
    size_t n, cap;
} CtlLogLines;

void ctl_log_lines_free(CtlLogLines *l);
/* The log file's name for a service (as logmux names it). malloc'd. */
char *ctl_log_path(const char *log_dir, const char *service);
/* Reads SERVICE.log.1 then SERVICE.log from the given open fds (either may
 * be -1), at most the given sizes each (the sizes when the caller looked,
 * so lines written later are not read), and appends the lines whose time
 * is at or after `since` ("" for all) to out, keeping only the last `tail`
 * (< 0: all) and dropping the last `skip_last` lines first (lines the
 * caller has in memory). Pure file I/O: runs on a worker thread. */
void ctl_log_read(int fd_old, int64_t size_old, int fd_cur, int64_t size_cur, const char *since,
                  long tail, size_t skip_last, CtlLogLines *out);

/* "2026-11-23T11:30:00.123Z" for a realtime ns. buf: at least 25 bytes. */
void ctl_fmt_time(int64_t realtime_ns, char buf[25]);
/* A --since value: an RFC 3339 time ("2026-01-02T03:04:05Z", with
 * fractions or an offset, or a date alone), unix seconds, or a duration
 * back from now ("10m", "1h30m"). The same time as ctl_fmt_time writes,
 * so times compare as strings. 0 or -EINVAL. */
int ctl_parse_since(const char *s, char out[25]);

/* The colour of a service's name on a terminal ("\x1b[..m"), from its name. */
const char *ctl_color(const char *service);

/* ---- for the commands ---- */

typedef struct ConfigOptions ConfigOptions;
/* Loads the project for a command that looks at a running stack (every
 * profile's services); prints the diagnostics. Returns 0, or the exit
 * status (2 for a services-file error, 1 otherwise). */
int ctl_load_project(ConfigOptions *o, Project **ret);
/* The same for a command whose arguments are service names: collects
 * argv[0..argc) into *names and, with check, names each one that is not a
 * service of the project and returns 2. On any non-zero return nothing is
 * left to free. */
int ctl_load_named(ConfigOptions *o, const char *cmd, int argc, char **argv, bool check, Project **ret,
                   StrVec *names);
/* "4s", "12m", "3h", "2d": how long ago an RFC 3339 time (from
 * ctl_fmt_time) was. buf: at least 32 bytes. */
void ctl_fmt_ago(const char *ts, char buf[32]);
