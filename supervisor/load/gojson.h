/* gojson: a service as docker compose v5 hashes it. Compose stamps each
 * container with com.docker.compose.config-hash, the SHA-256 of the JSON
 * that Go's encoding/json makes of compose-go's ServiceConfig (fields in
 * struct order, omitempty, its own marshalers for durations, byte sizes and
 * host lists), with build, pull_policy, scale, deploy.replicas, depends_on
 * and profiles left out and the top-level keys in a pinned order. Writing the
 * same bytes from tend's canonical tree lets either tool adopt the other's
 * containers instead of recreating them. */
#pragma once

#include "load/model.h"

/* The ID of the container of another service, for the references compose
 * resolves before it hashes (network_mode, ipc and pid "service:NAME",
 * volumes_from NAME): NULL when it has none (the reference is then hashed
 * as written, as compose does). */
typedef const char *(*GojsonResolve)(void *ud, const char *service);

/* The JSON compose v5 hashes for s, into out (appended). resolve may be
 * NULL: references stay as written (as `docker compose config --hash`). */
void gojson_service(const Service *s, GojsonResolve resolve, void *ud, StrBuf *out);

/* Compose's config-hash of s: 64 hex digits, malloc'd. */
char *gojson_service_hash(const Service *s, GojsonResolve resolve, void *ud);

/* Whether s names another service's container (network_mode, ipc, pid,
 * volumes_from), so that its hash depends on that container's ID. */
bool gojson_has_refs(const Service *s);

/* The keys of s's definition that the JSON above writes in a generic form
 * because tend does not know their Go type ("blkio_config"), appended to
 * ret; a hash that covers them may differ from Compose's. */
void gojson_uncovered(const Service *s, StrVec *ret);
