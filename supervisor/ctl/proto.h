/* proto: the control socket of a running `tend up`, as both ends see it.
 *
 * The protocol is JSON lines over a unix stream socket (mode 0600, and the
 * supervisor checks SO_PEERCRED: only its own uid may talk to it). On
 * connect the supervisor sends a hello: {"tend":1,"pid":N,"project":"P",
 * "version":"x.y.z"}. Each request is one line with an optional "id" that
 * its reply repeats: {"id":N,"ok":true,...} or {"id":N,"ok":false,
 * "error":"..."}. Streams (logs, events) follow their reply as lines of
 * their own; a finite stream ends with {"id":N,"end":true}. The README
 * lists every command.
 *
 * The supervisor's side is server.h; the commands' side is client.h. This
 * header holds what both share: where the socket is, the protocol
 * version, the times in it, and the format of the log files (for history
 * older than the supervisor's buffers, and for `tend logs` with no
 * supervisor). */
#pragma once

#include "load/model.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define CTL_PROTOCOL 1
#define CTL_LINE_MAX (1024 * 1024) /* longest request or reply line */

/* What a wait request waits for ("condition" in the request). */
typedef enum CtlWaitCond {
    CTL_WAIT_HEALTHY,   /* ready (a completed one-shot counts) */
    CTL_WAIT_COMPLETED, /* exited with status 0 */
    CTL_WAIT_STARTED,   /* running, ready or not */
    CTL_WAIT_STOPPED,   /* stopped, and nothing will start it again */
    _CTL_WAIT_MAX,
    _CTL_WAIT_INVALID = -1,
} CtlWaitCond;

/* "healthy", "completed", "started", "stopped". */
const char *ctl_wait_cond_to_string(CtlWaitCond c);
/* The condition of that name, or _CTL_WAIT_INVALID. */
CtlWaitCond ctl_wait_cond_from_string(const char *s);

/* $XDG_RUNTIME_DIR/tend/PROJECT.sock when XDG_RUNTIME_DIR is set, else
 * STATE_DIR/ctl.sock (project_state_dir). malloc'd. */
char *ctl_socket_path(const Project *p);
/* The same from the project's name alone. */
char *ctl_socket_path_named(const char *name);

/* Every socket file a running tend of this user may have, found where
 * ctl_socket_path puts them (for tend ls); whether one answers is
 * client.h's ctl_probe. Appended to ret, sorted. */
void ctl_socket_paths(StrVec *ret);

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

/* "4s", "12m", "3h", "2d": how long ago an RFC 3339 time (from
 * ctl_fmt_time) was. buf: at least 32 bytes. */
void ctl_fmt_ago(const char *ts, char buf[32]);
