/* docker-int: what the files of the container runtime share, private to
 * engine/docker*.c (docker.h is the interface): the runtime and container
 * objects, and the steps one file starts and another carries on. */
#pragma once

#include "engine/docker.h"

#include "engine/imgbuild.h"

/* What a staged container (docker_stage) does once docker_release says. */
typedef enum Parked {
    PARKED_NONE,           /* nothing yet: its steps are still in flight */
    PARKED_START,          /* created (and connected): start it */
    PARKED_START_EXISTING, /* an unchanged stopped container: start it */
    PARKED_ADOPT,          /* an unchanged running container: follow it */
    PARKED_FAIL,           /* a step failed: report parked_err */
} Parked;

struct Container {
    DockerRt *d;
    const Service *s;
    ContainerCbs cb;
    void *ud;
    char *name;
    char *image;
    char *hash;
    char *id;
    char ip[64];
    bool adopted;
    bool tty;
    bool started_reported;
    bool health_known_healthy;
    bool exit_pending;     /* /wait answered before the log stream ended */
    bool lost;             /* its streams broke with the engine: reattach on reconnect */
    int kill_sig;          /* the signal of the kill in flight */
    char resume[40];       /* after a reconnect: logs from this moment */
    int64_t exit_code;
    char since[40];        /* logs from this moment ("" = from the start) */
    EngineReq *req;  /* the step in flight */
    EngineReq *logs;
    EngineReq *wait;
    EngineReq *kill;
    EngineReq *why;  /* after an exit by SIGKILL: was it the kernel's OOM killer? */
    uv_timer_t *hc_timer; /* Podman: its healthcheck run from here (heap, closed apart) */
    EngineReq *hc_req;
    int hc_last;          /* -1 unknown, 0 unhealthy, 1 healthy */
    ImageBuild *build;
    bool built;
    bool prebuild;         /* --build: build first, then look for the container */
    bool first_start;      /* may use the lists made while preparing */
    bool proceeding;       /* docker_proceed: past the created callback */
    bool look_soon;        /* look_up from the loop, not inside docker_start */
    bool waited_removal;   /* waited once for a removal already under way */
    bool readopted;        /* an adopted container that went down was started again */
    int64_t adopted_ns;    /* when it was adopted (monotonic) */
    bool image_checked;    /* cur_image is known */
    char *cur_image;       /* the ID the image name points at now ("" unknown) */
    char *image_id;        /* the image's ID when it was checked before create (NULL unknown) */
    json_t *entry;         /* the container's entry in the list, if it exists */
    bool pulled;
    JsonLines pull_lines;
    LogDemux demux;
    int src_out, src_err;
    size_t net_next; /* networks connected so far */
    CtrTrack track;        /* what happened to it while followed (outside.h) */
    bool following;        /* logs and /wait are on: its events are its own */
    bool ended;            /* its end was told; kept for what happens to it next */
    bool removal_told;     /* its end was told as a removal */
    bool settling;         /* ended; waits for another client's "stop" event (outside.h) */
    bool settle_oom;
    uint64_t settle_until; /* loop time (ms) when the end is told anyway */
    bool adopt_foreign;    /* docker_adopt: check the hash, logs from its start */
    bool await_renew;      /* waits for the project's networks and volumes to be made again */
    bool renewed;          /* made them again once for this start */
    bool dry;              /* create_body for a comparison: makes no folders */
    bool stop_waited;      /* waited once for a stop under way before adopting it */
    uv_timer_t *stop_timer; /* that wait's end (heap, closed apart) */
    bool held;             /* docker_stage: everything but the start, until docker_release */
    bool release_soon;     /* released: its parked step runs from the loop (release_parked) */
    bool remade;           /* gone before its start, made again once */
    Parked parked;         /* the step that waits for docker_release */
    char *parked_err;      /* PARKED_FAIL: why it cannot be started */
    Container *next; /* DockerRt's list */
};

/* A docker_explain request in flight. */
typedef struct Explain {
    DockerRt *d;
    const Service *s;
    EngineReq *req;
    void (*done)(void *ud, const char *diff, const char *err);
    void *ud;
    json_t *have; /* the container's inspect, while its image's is asked for */
    struct Explain *next;
} Explain;

struct DockerRt {
    uv_loop_t *loop;
    const Project *p;
    LogMux *mux;
    Engine *e;
    EngineReq *events;
    JsonLines event_lines;
    Container *list;
    /* prepare */
    void (*prep_done)(void *ud, bool ok, const char *err);
    void *prep_ud;
    size_t prep_pending;
    char *prep_err;
    bool prepared;
    bool remove_orphans;
    json_t *existing; /* the project's containers as listed while preparing */
    json_t *images;   /* the engine's images as listed while preparing */
    /* Containers of the project whose last event, in the last moments
     * before preparing, was a stop signal: id -> {"ns": when, "signal": n}.
     * A stop under way (a tend down killed half-way) is waited for rather
     * than adopted. */
    json_t *stopping;
    EngineReq *recent;
    JsonLines recent_lines;
    uv_timer_t *recent_timer; /* its limit (heap, closed apart) */
    bool build_all;   /* up --build */
    bool create_only; /* tend create: containers made, none started */
    unsigned console_rows, console_cols; /* tend run's terminal */
    StrVec built;     /* services whose image this run built already */
    StrVec started;   /* services started at least once (their list entry used) */
    void (*other)(void *ud, const DockerOther *o); /* what other clients do (docker_set_other) */
    void *other_ud;
    bool renewing;     /* making the project's networks and volumes again */
    uv_timer_t settle_timer; /* ends whose "stop" event may still come */
    bool settle_init;
    size_t renew_next;
    Explain *explains; /* docker_explain requests in flight */
    bool podman;      /* the engine is Podman: healthchecks are run from here */
    /* The engine went away (docker_engine_lost): pings on a backoff until
     * it answers, then the events and every container's streams again. */
    bool lost;
    uv_timer_t *retry;  /* heap: closed apart from d, freed by its close callback */
    uv_timer_t *soon;   /* heap, the same: containers to look up from the loop */
    unsigned retry_ms;
    int64_t lost_mono;  /* when it went away (monotonic ns) */
    char lost_at[40];   /* the same, unix seconds, for since= */
};

/* docker.c */
char *label_filter(const char *project, const char *service);
void open_events(DockerRt *d, const char *since);
void fail(Container *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void tell_end_now(Container *c, int64_t code, bool gone);
void follow(Container *c);
void start_existing(Container *c);
void create(Container *c);
void soon(DockerRt *d);
void release_parked(Container *c);

/* docker-project.c */
json_t *labels_json(const Env *user, const char *project, const char *key, const char *kind);
json_t *network_body(const Project *p, const Network *n);
json_t *volume_body(const Project *p, const Volume *v);
const char *cached_image_id(DockerRt *d, const char *ref);

/* docker-adopt.c */
void build_image(Container *c);
void look_up(Container *c);
/* The config-hash docker compose v5 writes for s (docker.c). */
char *docker_config_hash(DockerRt *d, const Service *s);
void on_look_soon(uv_timer_t *t);
void on_removed_old(void *ud, int status, json_t *body, const char *err);
/* Follows the unchanged running container of the list entry c->entry. */
void adopt_found(Container *c);

/* docker-lost.c */
int64_t mono_ns(void);
void engine_lost(DockerRt *d, const char *why);
void hc_start(Container *c);
void hc_stop(Container *c);
