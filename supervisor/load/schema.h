/* schema: checks one raw services file (after interpolation, before
 * canonicalization) against the Compose format and tend's x-tend additions:
 * unknown keys (with a "did you mean" suggestion), wrong types, and value
 * formats that can be checked locally (durations, byte sizes, port and
 * volume short syntax, restart policies, depends_on conditions, enums).
 * Keys of the Compose format that tend does not run (deploy, secrets,
 * configs, logging, ...) are checked as docker compose checks them, and
 * collected so `tend config` can report them as ignored. Types are read as
 * compose reads YAML (1.2): `1000` is a number, `yes` and ${X} are text.
 * Any key starting with "x-" is accepted anywhere an extension is allowed. */
#pragma once

#include "load/node.h"

/* Checks `root`. Errors go to d with the location of the offending node
 * (for an unknown key, the key itself). `ignored`, when not NULL, receives
 * one "services.NAME.KEY" (or top-level "KEY") entry per accepted-but-not-run
 * key. Returns the number of errors found. */
size_t schema_check(const Node *root, Diag *d, StrVec *ignored);
/* The same in two halves, for several files merged, as Compose checks
 * them: each file without the keys an entry needs only once merged (an
 * override may give part of an entry: depends_on: {db: {required:
 * false}}), then the merged tree for those keys only. */
size_t schema_check_file(const Node *root, Diag *d, StrVec *ignored);
size_t schema_check_merged(const Node *root, Diag *d);

/* Best suggestion among `candidates` (NULL-terminated) for a misspelt word,
 * or NULL when none is close enough. */
const char *schema_suggest(const char *word, const char *const *candidates);
