/* dotenv: the `.env` / `--env-file` format, parsed as Compose parses it:
 * `KEY=VALUE`, optional `export `, blank lines and `#` comments, values in
 * single quotes (literal), double quotes (escapes \n \t \r \\ \" \$ and
 * multi-line values), or unquoted (trailing whitespace trimmed, an inline
 * comment starts at ` #`). Unquoted and double-quoted values are
 * interpolated (`${VAR}` forms of interp.h) against the entries read so far,
 * then against `lookup` (the shell environment). */
#pragma once

#include "lib/env.h"
#include "load/interp.h"
#include "load/node.h"

/* Parses `data` (from `file`, for messages) into `out` (later keys replace
 * earlier ones). Errors go to d as file:line:col messages. Returns 0, or
 * -EINVAL when there was an error. */
int dotenv_parse(const char *file, const char *data, size_t len, EnvLookupFn lookup, void *ud,
                 Env *out, Diag *d);

/* Reads and parses a file. A missing file is -ENOENT with no diagnostic, so
 * that callers decide whether it matters. */
int dotenv_load(const char *path, EnvLookupFn lookup, void *ud, Env *out, Diag *d);
