/* outside: what other clients (the docker CLI, an IDE's Docker panel,
 * docker compose in another terminal, a cleanup script) do to the
 * containers tend follows, told apart from what tend does itself. Pure:
 * the runtime (docker.c) feeds a CtrTrack the engine's events about one
 * container and the signals tend sends it, and asks, once the container
 * has ended, who ended it and how. Also the difference between a
 * container another client made and the one tend would make, in words. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum CtrEndHow {
    CTR_END_EXIT,    /* its main process ended by itself, or tend ended it */
    CTR_END_OOM,     /* the kernel killed it: out of memory */
    CTR_END_KILLED,  /* another client sent it a signal (docker kill) */
    CTR_END_STOPPED, /* another client stopped it (docker stop, docker compose stop or down) */
    CTR_END_REMOVED, /* another client removed it (docker rm -f) */
    _CTR_END_MAX,
} CtrEndHow;

typedef struct CtrEnd {
    CtrEndHow how;
    int64_t status; /* the exit status, 128+N after signal N */
    int signal;     /* CTR_END_KILLED: the signal another client sent */
    bool removed;   /* CTR_END_STOPPED: and then removed */
} CtrEnd;

/* What another client did to a followed container that does not end it,
 * or to one after it ended. */
typedef enum CtrNote {
    CTR_NOTE_RENAMED,  /* docker rename; the detail is the new name */
    CTR_NOTE_PAUSED,   /* docker pause */
    CTR_NOTE_UNPAUSED, /* docker unpause */
    CTR_NOTE_REMOVED,  /* removed after it had ended */
} CtrNote;

/* Whether another client ended it (killed, stopped or removed it). */
bool ctr_end_by_other(const CtrEnd *e);

#define CTR_TRACK_SENT_MAX 8

/* What is known of one followed container since tend began following it. */
typedef struct CtrTrack {
    int sent[CTR_TRACK_SENT_MAX]; /* signals tend sent whose kill event has not come yet */
    size_t n_sent;
    bool tend_stopping;  /* tend sent it its stop signal or SIGKILL */
    int other_signal;    /* the last signal another client sent; 0: none */
    bool other_soft;     /* another client sent a signal other than SIGKILL (docker stop begins so) */
    bool stopped;        /* a "stop" event: someone ran docker stop */
    bool removed;        /* a "destroy" event */
    bool oom;            /* an "oom" event */
    bool died;           /* a "die" event */
    bool started_again;  /* a "start" after the "die": another client started it again */
} CtrTrack;

/* tend sent signal sig; `stopping`: it is the stop signal or SIGKILL. */
void ctrtrack_sent(CtrTrack *t, int sig, bool stopping);
/* One engine event about the container: its Action ("kill", "die",
 * "stop", "destroy", "oom", "start", ...) and, for "kill", the "signal"
 * attribute (a number). */
void ctrtrack_event(CtrTrack *t, const char *action, const char *signal);
/* Whether its end needs the engine's word on the container's state (an
 * inspect) to be told: tend did not stop it, or another client acted. */
bool ctrtrack_unexpected(const CtrTrack *t);
/* Whether the end can be told now, given whether the container is gone:
 * not while another client's stop may still be on its way (a signal other
 * than SIGKILL came, and neither its "stop" event nor a removal yet). */
bool ctrtrack_settled(const CtrTrack *t, bool gone);
/* The end, from what was seen and the container's state after it: gone
 * (the engine no longer knows it, or is removing it) and oom_killed
 * (State.OOMKilled). */
CtrEnd ctrtrack_end(const CtrTrack *t, int64_t status, bool gone, bool oom_killed);

/* Words for an end, e.g. "removed by another client (docker rm)" or
 * "killed by another client with SIGKILL (docker kill)"; "" for
 * CTR_END_EXIT. Into buf; returns buf. */
const char *ctr_end_describe(const CtrEnd *e, char *buf, size_t size);

/* The signal's name without "SIG" ("KILL"), or its number. Into buf. */
const char *ctr_signal_name(int sig, char *buf, size_t size);

/* What differs between `want`, the body tend would create the container
 * with (POST /containers/create), and `have`, another container's
 * inspect, whose image's inspect is `image` (or NULL): image, command,
 * entrypoint, environment (names only), working_dir, user, volumes,
 * ports, labels, healthcheck. What the file does not set is left to the
 * image: a variable or label the container has beyond the file's counts
 * only when its image does not give it. NULL when nothing of that
 * differs; else a malloc'd list such as "environment (DEBUG), ports (tend:
 * 127.0.0.1:8080->80/tcp, the container: 0.0.0.0:8080->80/tcp)". */
char *ctr_config_diff(json_t *want, json_t *have, json_t *image);
