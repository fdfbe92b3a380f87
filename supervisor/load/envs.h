/* envs: the environments of a project. An environment NAME is an overlay
 * merged over the base services files with the rules of `-f`: the drop-ins
 * env/NAME/ (its *.yaml and *.yml files) in the project folder, or failing those the
 * file compose.NAME.yaml beside the compose file (also .yml and the
 * docker-compose.NAME spellings). Its variables come from .env.NAME, read
 * after .env. Names are DNS labels (lower-case letters, digits and '-', at
 * most 63), so that they can name Kubernetes objects and folders; "override"
 * is Compose's override file, never an environment. Pure file lookups: no
 * YAML is read here. */
#pragma once

#include "load/node.h"

/* True when s is a valid environment name. */
bool env_name_valid(const char *s);

/* The environments found in the project folder dir, sorted, each once. */
void envs_list(const char *dir, StrVec *ret);

/* The overlay files of environment name in dir, absolute, in merge order.
 * Returns 0 (files appended to *ret), or -ENOENT when there are none. */
int envs_overlay_files(const char *dir, const char *name, StrVec *ret);

/* Checks an environment name asked for (by --env, TEND_ENV or a .env file,
 * at loc when a file names it) against the project folder dir and appends
 * its overlay files to *files. Returns 0, or -EINVAL with an error in d: an
 * invalid name, or no overlay (the message lists the environments found). */
int envs_resolve(const char *dir, const char *name, const Loc *loc, StrVec *files, Diag *d);

/* Where a dotenv file sets key (the last `KEY=` or `export KEY=` line), for
 * messages about its value; loc->line is 0 when the file does not. The
 * file name in loc is arena-allocated in a. */
void envs_dotenv_loc(Arena *a, const char *path, const char *key, Loc *loc);
