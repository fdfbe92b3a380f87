/* client: a small blocking client of the control socket (the protocol is
 * in proto.h), for the commands (ps, logs, wait, events, attach,
 * stop/start/restart, down, up -d). */
#pragma once

#include "ctl/proto.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* Whether a supervisor answers at path. 1: yes, *ret_pid set (when not
 * NULL); 0: nobody (a stale socket file, left by a supervisor killed with
 * SIGKILL, is removed); negative errno: cannot tell (-EACCES: the socket
 * belongs to someone else). */
int ctl_probe(const char *path, pid_t *ret_pid);

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

