/* secrets: the secret values of a project, for masking (lib/secret.h):
 * the values of variables whose names say they are secrets (DB_PASSWORD,
 * API_TOKEN...) in every service's environment and in the interpolation
 * environment (shell, .env, --env-file), probe passwords, and the Compose
 * top-level `secrets:` (the contents of their `file:`, the value of their
 * `environment:` variable). Also masks them in the project's tree, for
 * `tend config` without --show-secrets. */
#pragma once

#include "lib/secret.h"
#include "load/model.h"

void project_secrets(const Project *p, Secrets *out);
/* Every scalar of p->tree: a secret-named environment entry's value becomes
 * SECRET_MASK, and secret values inside any other scalar are masked. */
void project_mask_tree(Project *p, const Secrets *s);
