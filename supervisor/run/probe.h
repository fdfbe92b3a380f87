/* probe: readiness checks, all on the loop, none blocking. One attempt is a
 * ProbeRun: a non-blocking libpq connect (a server that answers counts, as
 * with PQping, even if authentication fails), an async hiredis PING through
 * its libuv adapter (a LOADING reply is not ready), an HTTP GET through the
 * libcurl multi interface (expecting a status, or any 2xx/3xx), a TCP
 * connect, or a command run to completion (exit 0 is ready). Compose
 * healthchecks on host services are command attempts: CMD argv, or
 * CMD-SHELL through /bin/sh -c.
 *
 * A Prober schedules attempts for one service: at once, then every
 * start_interval until the first success, then every interval. Before the
 * first success a failure only counts once start_period is over, and the
 * service is given up on when start_period + retries x interval has passed
 * without success (Compose's time budget, probed much more often). After
 * readiness, `retries` failures in a row make it unhealthy; a later success
 * makes it healthy again. Log-line readiness is not an attempt: the caller
 * feeds lines to prober_feed_line. */
#pragma once

#include "load/model.h"

#include <uv.h>

typedef struct ProbeRun ProbeRun;

/* ok, and on failure a short reason ("connection refused", "HTTP 503",
 * "exit status 1: <last output line>", "timed out after 1s"). */
typedef void (*ProbeDoneFn)(void *ud, bool ok, const char *detail);

/* What to probe. For PROBE_EXEC, argv runs with env (NULL: tend's own) in
 * cwd (NULL: tend's). host NULL means 127.0.0.1. */
typedef struct ProbeTarget {
    ProbeKind kind;
    const char *host;
    int port;
    const char *user, *password, *dbname;
    const char *url;
    int status;
    char *const *argv;
    char *const *env;
    const char *cwd;
} ProbeTarget;

/* Starts one attempt; done is called exactly once, on the loop, unless the
 * run is cancelled first. */
ProbeRun *probe_start(uv_loop_t *loop, const ProbeTarget *t, int64_t timeout_ns, ProbeDoneFn done,
                      void *ud);
/* Stops an attempt; its done is never called. Safe from inside callbacks. */
void probe_cancel(ProbeRun *r);

typedef struct ProberTiming {
    int64_t interval, timeout, start_period, start_interval; /* ns */
    int retries;
} ProberTiming;

/* Defaults: Compose healthcheck (interval 30s, timeout 30s, retries 3,
 * start_period 0) and native probes (interval 10s, timeout 5s, retries 3);
 * start_interval 100 ms for both. Zero fields of `in` take the default. */
ProberTiming prober_timing(const ProberTiming *in, bool native);

typedef enum ProberEvent {
    PROBER_READY,     /* first success, or healthy again after unhealthy */
    PROBER_UNHEALTHY, /* retries failures in a row after readiness */
    PROBER_GAVE_UP,   /* never became ready within the budget */
} ProberEvent;

typedef void (*ProberFn)(void *ud, ProberEvent ev, const char *detail);

typedef struct Prober Prober;

/* kind PROBE_LOG takes `pattern` (an extended regex) and no attempts. */
Prober *prober_new(uv_loop_t *loop, const ProbeTarget *t, const char *pattern, const ProberTiming *timing,
                   ProberFn fn, void *ud);
void prober_start(Prober *p);
void prober_stop(Prober *p); /* cancels a running attempt and the timer */
void prober_feed_line(Prober *p, const char *line, size_t len);
/* Attempts made so far, and the last failure's detail (or NULL). */
unsigned prober_attempts(const Prober *p);
const char *prober_last_detail(const Prober *p);
/* Closes handles; the memory goes when libuv is done with them. */
void prober_free(Prober *p);
