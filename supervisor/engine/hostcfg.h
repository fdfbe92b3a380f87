/* hostcfg: the container keys of the Compose format beyond the ones the
 * model reads (capabilities, devices, kernel and resource settings, DNS,
 * logging, deploy.resources, secrets and configs), put into the create
 * body as docker compose v5 puts them. Read from the service's canonical
 * node, in either of the forms the format allows. */
#pragma once

#include "lib/util.h"
#include "load/model.h"

#include <jansson.h>
#include <stdbool.h>

/* The engine's name of a service's container (docker_container_name),
 * for volumes_from and links: passed in, since the runtime calls this. */
typedef char *(*HostcfgNameFn)(const Project *p, const Service *s);

/* Adds to the create body (Config level: Domainname, MacAddress) and to its
 * HostConfig hc and its Mounts array (secrets and configs from files, as
 * read-only binds) what the service's node says. Returns 0, or -1 with a
 * malloc'd *ret_err a person can act on (a secret's file is missing, an
 * external secret, a value the engine cannot take). */
int hostcfg_apply(const Project *p, const Service *s, HostcfgNameFn ctr_name, json_t *body, json_t *hc, json_t *mounts,
                  char **ret_err);

/* Appends to tar (ustar, ended) the secrets and configs whose value is not
 * a file (`environment:` or `content:`), each at its target with its mode
 * (0444 unless given) and uid/gid, to be copied into the created container
 * before its start (PUT /containers/ID/archive?path=/), as docker compose
 * does. Returns how many were written (0: nothing to copy), or -1 with a
 * malloc'd *ret_err (a variable that is not set). */
int hostcfg_files_tar(const Project *p, const Service *s, StrBuf *tar, char **ret_err);
