/* merge: Compose's override rules over canonical trees (see canon.h: short
 * syntax already turned into long syntax). Mappings merge key by key, lists
 * append without exact repeats, a null override keeps the base value, and
 * the keys of the table in keys.c have rules of their own: ports merge by
 * (host_ip, published, target, protocol), volumes by target, env_file by
 * path, K=V mappings by key, the set-like lists (expose, dns, cap_add,
 * extra_hosts, links, ...) drop repeats; command, entrypoint and
 * healthcheck.test are replaced. A node tagged !reset removes the key;
 * !override replaces the value without merging. Where the two sides are of
 * different kinds, the override wins. */
#pragma once

#include "load/node.h"

/* Merges a whole project tree `over` onto `base`. Both are consumed; the
 * result may share their nodes. Never fails: conflicts resolve toward
 * `over`. */
Node *merge_project(Arena *a, Node *base, Node *over);

/* Merges one service definition over another (used by extends and by
 * merge_project for services present in both). */
Node *merge_service(Arena *a, Node *base, Node *over);

/* Removes what is left of !reset after merging (a !reset in the first file
 * resets to the default, i.e. removes the key) and clears !override tags. */
void merge_strip_tags(Node *root);

/* Keeps one item per key in the lists the key table marks unique (ports,
 * volumes, environment, dns, ...), as Compose does within one file too:
 * the last item of a key wins, at the place of the first. */
void merge_unique(Arena *a, Node *root);
