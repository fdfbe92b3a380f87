/* canon: turns a checked services-file tree into Compose's canonical (long)
 * form, in place, before files are merged: port and volume short syntax to
 * mappings, environment/labels/build.args/extra_hosts lists to mappings,
 * depends_on lists to mappings with condition/required, env_file to
 * {path, required}, build strings to {context}, healthcheck strings to
 * ["CMD-SHELL", ...], command/entrypoint strings split into argv, ulimits
 * numbers to {soft, hard}, durations to Go form. Relative paths (bind
 * sources, build contexts, env_file, extends.file, develop.watch paths,
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

/* Final output form of a merged tree: command, entrypoint strings split
 * into argv lists. Run after the model has read them. */
void canon_finish(Arena *a, Node *root);

/* Splits a command line the way Compose does (POSIX shell words: quotes and
 * backslashes, no expansion). Returns 0, or -EINVAL on an unclosed quote. */
int shell_split(const char *s, StrVec *ret);
