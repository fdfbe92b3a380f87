/* ops: what the one-shot commands (kill, pause, rm, port, top, images, ls,
 * cp, pull, create) ask of the engine outside a run. A session is a private
 * loop with the engine connected, on which a command makes its requests
 * and waits for them; the project's containers are found by their
 * com.docker.compose.* labels, so containers made by docker compose are
 * found as well as tend's. Only the commands use a session: it runs its
 * own loop and must never be used from inside another loop's callback. */
#pragma once

#include "engine/engine.h"
#include "lib/util.h"

#include <jansson.h>
#include <stdbool.h>
#include <uv.h>

typedef struct OpsSession OpsSession;

/* Makes the loop and the engine ($DOCKER_HOST) and connects. NULL with
 * *ret_err (malloc'd) when the engine cannot be used or reached. */
OpsSession *ops_open(char **ret_err);
/* Cancels what is in flight, frees the engine and closes the loop. */
void ops_close(OpsSession *s);
Engine *ops_engine(OpsSession *s);
uv_loop_t *ops_loop(OpsSession *s);

/* One request, waited for. Returns the HTTP status (0: no answer), with
 * *ret_body the JSON answer when there was one (owned; ret_body may be
 * NULL) and *ret_err NULL on 2xx, else the engine's message (malloc'd;
 * ret_err may be NULL). */
int ops_call(OpsSession *s, const char *method, const char *path, json_t *body, json_t **ret_body,
             char **ret_err);
/* Runs the loop until *done is true or nothing is left to run (for
 * streams, and for several requests in flight at once). */
void ops_wait(OpsSession *s, const bool *done);

/* The project's containers, as /containers/json lists them: running ones,
 * also stopped ones with `all`; services: only theirs (NULL or empty: all
 * services); one-off containers (tend run, compose run) only with
 * `oneoffs`. Sorted by service name, then container number. 0 and *ret
 * (a JSON array, owned), or -EIO with *ret_err. */
int ops_containers(OpsSession *s, const char *project, const StrVec *services, bool all, bool oneoffs,
                   json_t **ret, char **ret_err);
/* Every container of every project on the engine (label
 * com.docker.compose.project present), stopped ones too. */
int ops_all_project_containers(OpsSession *s, json_t **ret, char **ret_err);

/* On a /containers/json entry: the name without its '/', a label's value
 * (NULL when absent), the container number (0 when absent). */
const char *ops_ctr_name(json_t *c);
const char *ops_ctr_label(json_t *c, const char *key);
int ops_ctr_number(json_t *c);
const char *ops_ctr_service(json_t *c);

/* An image reference cut as /images/create takes it: "redis:7" -> "redis"
 * and "7"; "r:5000/x" -> "r:5000/x" and "latest"; a digest stays in the
 * name with tag NULL. Both malloc'd. */
void ops_image_ref_split(const char *ref, char **ret_name, char **ret_tag);

/* Pulls an image (POST /images/create), streaming: each progress line
 * worth showing goes to on_line ("abc123: Pull complete", "Digest: ...",
 * "Status: ..."), the byte counts left out; done(ud, ok, err) once, with
 * the registry's error when the stream carried one. */
typedef struct OpsPull OpsPull;
OpsPull *ops_pull(Engine *e, const char *ref, void (*on_line)(void *ud, const char *line),
                  void (*done)(void *ud, bool ok, const char *err), void *ud);
