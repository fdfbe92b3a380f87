/* docker: services as containers, through the engine client. Per project:
 * the networks (<project>_default and the declared ones) and named volumes
 * (<project>_<key>), all labelled as Compose labels them. Per service: one
 * container <project>-<service>-1 with the com.docker.compose.* labels and a
 * config hash; a rerun adopts a running container whose hash and image are
 * unchanged and recreates only what changed. Output is streamed into the
 * log mux (8-byte headers demultiplexed; tty output raw), the exit status
 * comes from /wait, health from one /events stream for the project.
 * Restarts are the manager's job: containers get no engine restart policy.
 *
 * The same /events stream tells what other clients do to the project's
 * containers (outside.h): a followed container's end says who ended it,
 * and containers tend did not make are reported to the manager, which
 * decides whether to follow them (docker_adopt). */
#pragma once

#include "engine/engine.h"
#include "engine/outside.h"
#include "lib/logmux.h"
#include "load/model.h"

#include <uv.h>

typedef struct DockerRt DockerRt;
typedef struct Container Container;

typedef struct ContainerCbs {
    /* The container runs (created or adopted, then started); or why not. */
    void (*started)(void *ud, bool ok, const char *err);
    /* The container's main process ended (status from /wait), and how:
     * by itself, or stopped, killed or removed by another client. */
    void (*exited)(void *ud, const CtrEnd *end);
    /* health_status events, for containers with a healthcheck. */
    void (*health)(void *ud, bool healthy);
    /* Optional (tend run, attached): the new container exists and is not
     * started; docker_proceed() starts it. With it the output is not read
     * from the logs: the caller's attachment (engine/attach.h) carries it,
     * and stdin stays open for that one attachment (StdinOnce). */
    void (*created)(void *ud, const char *id);
    /* Optional: something another client did that does not end it. */
    void (*other)(void *ud, CtrNote note, const char *detail);
} ContainerCbs;

/* What another client did to a container of the project that tend does
 * not follow: one it did not make, or its own after it ended. */
typedef enum DockerOtherKind {
    DOCKER_OTHER_STARTED, /* it was started */
    DOCKER_OTHER_REMOVED, /* it was removed */
} DockerOtherKind;

typedef struct DockerOther {
    DockerOtherKind kind;
    const Service *service; /* its service (com.docker.compose.service) */
    const char *id;
    const char *name;
    bool same_config; /* its config-hash label is the one tend computes for the file */
    bool tends;       /* the container tend made or adopted, after it ended */
    const char *maker; /* "docker compose 5.6.0" when its labels say so, else NULL */
} DockerOther;

/* Labels every object gets; the hash of a service's configuration. */
#define LABEL_PROJECT "com.docker.compose.project"
#define LABEL_SERVICE "com.docker.compose.service"
#define LABEL_NUMBER "com.docker.compose.container-number"
#define LABEL_ONEOFF "com.docker.compose.oneoff"
#define LABEL_HASH "com.docker.compose.config-hash"
#define LABEL_WORKDIR "com.docker.compose.project.working_dir"
#define LABEL_FILES "com.docker.compose.project.config_files"
#define LABEL_NETWORK "com.docker.compose.network"
#define LABEL_VOLUME "com.docker.compose.volume"
#define LABEL_IMAGE "com.docker.compose.image" /* the image ID the container was made from */

DockerRt *docker_new(uv_loop_t *loop, const Project *p, LogMux *mux, char **ret_err);
void docker_free(DockerRt *d);
Engine *docker_engine(DockerRt *d);

/* Connects to the engine, creates what is missing of the project's
 * networks and volumes (external ones must exist), and opens the events
 * stream. done(ud, ok, err) once. */
void docker_prepare(DockerRt *d, void (*done)(void *ud, bool ok, const char *err), void *ud);

/* Where DockerOther reports go (once; fn NULL: nowhere). Containers of
 * one-off runs and of services not in the file are not reported. */
void docker_set_other(DockerRt *d, void (*fn)(void *ud, const DockerOther *o), void *ud);

/* With it, docker_prepare removes containers of services no longer in the
 * file instead of only reporting them. */
void docker_set_remove_orphans(DockerRt *d, bool on);

/* With it (tend create), docker_start stops short of starting: a missing
 * or changed container is created, an unchanged one left as it is, and
 * cbs->started reports that; nothing is followed afterwards. */
void docker_set_create_only(DockerRt *d, bool on);

/* A terminal's size (rows, columns) for the containers made with a tty
 * that are attached (cbs->created): their terminal has it from the start
 * (HostConfig.ConsoleSize, API 1.42+) instead of 0x0 until a resize. */
void docker_set_console_size(DockerRt *d, unsigned rows, unsigned cols);

/* With it (up --build), every service with build: has its image built
 * before its container is looked at; a changed image recreates it. */
void docker_set_build(DockerRt *d, bool on);

/* Starts (or adopts) the container of a service. Returns NULL only when
 * out of memory; errors come through cbs->started. */
Container *docker_start(DockerRt *d, const Service *s, const ContainerCbs *cbs, void *ud);
/* Stages the container of a service whose dependencies are not ready yet:
 * all that docker_start does short of the start (the image pulled or built,
 * a changed container removed, the new one created and connected), while
 * the dependencies come up, so that once they are ready its start is one
 * request, as docker compose creates every container before it starts the
 * first. Nothing is told before docker_release, an error neither (it is
 * told then). NULL when the service cannot be staged: a one-off, tend
 * create, an attached run, or a service whose configuration names another
 * container (network_mode: service:, volumes_from), known once that one
 * runs. */
Container *docker_stage(DockerRt *d, const Service *s, const ContainerCbs *cbs, void *ud);
/* Whether c is staged and not released yet. */
bool docker_staged(const Container *c);
/* Carries a staged container on as docker_start would have: started (or
 * an unchanged running one followed), or its error told. */
void docker_release(Container *c);
/* Follows a running container another client made or started (id), as
 * if tend had started it: logs from its start, exit, health. cbs->started
 * tells ok, or why not (it is not running, or its configuration is not
 * the file's). */
Container *docker_adopt(DockerRt *d, const Service *s, const char *id, const ContainerCbs *cbs, void *ud);
/* Tells how container id differs from what tend would make of service s
 * (outside.h: ctr_config_diff): done(ud, diff, err) once, diff NULL when
 * nothing tend compares differs; never after docker_free. */
void docker_explain(DockerRt *d, const Service *s, const char *id,
                    void (*done)(void *ud, const char *diff, const char *err), void *ud);
/* After cbs->created: starts the container, or with err fails it (its
 * started callback gets err). */
void docker_proceed(Container *c, const char *err);
/* Sends a signal to the container's main process. */
void docker_signal(Container *c, int sig);
/* The container's address on its first network ("" until known). */
const char *docker_ip(const Container *c);
/* Whether the container was adopted rather than started anew. */
bool docker_adopted(const Container *c);
/* Stops following the container (the container itself is left as is). */
void docker_container_free(Container *c);

/* <project>-<service>-1, or container_name. malloc'd. */
char *docker_container_name(const Project *p, const Service *s);

/* `tend down`: stops the project's containers (newest dependents first,
 * stop_signal then SIGKILL after the grace period, or `timeout_s` when
 * >= 0), removes them and the project's networks, and with `volumes` its
 * named volumes. Works from the engine's labels alone. done(ud, ok, err). */
void docker_down(DockerRt *d, bool volumes, int timeout_s, bool remove_orphans,
                 void (*done)(void *ud, bool ok, const char *err), void *ud);

/* `tend stop|start|restart [SERVICE...]` without a running supervisor: the
 * action ("stop", "start" or "restart") on the project's containers found
 * by label, in dependency order (stop and restart: dependents first; start:
 * dependencies first), one level at a time. */
void docker_each(DockerRt *d, const char *action, const StrVec *services, int timeout_s,
                 void (*done)(void *ud, bool ok, const char *err), void *ud);
