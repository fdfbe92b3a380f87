/* canon: turns a checked services-file tree into Compose's canonical (long)
 * form, in place, before files are merged. Which key takes which form is
 * the key table's business (keys.h): K=V lists to mappings (environment,
 * labels, annotations, sysctls, build.args, deploy.labels, ...),
 * extra_hosts to "host=ip" lists, strings to one-item lists (dns, tmpfs,
 * ...), name lists to mappings (networks, models), port and volume short
 * syntax to mappings, depends_on lists to mappings with condition/required,
 * env_file to {path, required}, build strings to {context}, healthcheck
 * strings to ["CMD-SHELL", ...], durations to Go form, sizes to bytes.
 * Relative paths (bind sources, build contexts and additional contexts,
 * env_file, extends.file, develop.watch paths, secret and config files,
 * x-tend seed files) become absolute against `base_dir`. Errors go to d. */
#pragma once

#include "load/node.h"

/* The tag canon leaves on a mapping it made from a short form whose Go
 * value Compose hashes differently from the long form (a short volume, a
 * ulimit given as one number). Not printed; merge ignores it. */
#define CANON_TAG_SHORT "!tend-short"

/* Returns the number of errors. */
size_t canon_file(Arena *a, Node *root, const char *base_dir, Diag *d);
/* Canonicalizes one service definition (used for extends bases). */
size_t canon_service(Arena *a, Node *svc, const char *name, const char *base_dir, Diag *d);

/* What Compose infers once the files are merged: a build's context (the
 * project folder, `workdir`) and dockerfile, depends_on entries for links, service:NAME
 * namespaces and volumes_from make depends_on entries (restart: true, but
 * false for volumes_from), and pull_policy if_not_present is missing. Run
 * before the model is built: it starts those services first, as Compose
 * does. */
void canon_merged(Arena *a, Node *root, const char *workdir);

/* Final output form of a merged tree, as docker compose config prints it:
 * command, entrypoint and hook command strings split into argv lists,
 * extra_hosts sorted, env_file left out (read into environment), secrets
 * and configs named. Run after the model has read them. */
void canon_finish(Arena *a, Node *root);

/* Drops the top-level networks, volumes, secrets, configs and models that
 * no service uses, as `docker compose config` prints the project. For the
 * printed tree only (tend config): the model, secret masking and kube read
 * them all. */
void canon_drop_unused(Node *root);

/* Splits a command line the way Compose does (POSIX shell words: quotes and
 * backslashes, no expansion). Returns 0, or -EINVAL on an unclosed quote. */
int shell_split(const char *s, StrVec *ret);
