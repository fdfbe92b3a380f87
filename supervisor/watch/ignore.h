/* ignore: which paths under a watched tree do not count.
 *
 * Rules come from, in order (a later rule wins, as in git): built-in
 * defaults (.git, editor swap and backup files, __pycache__, node_modules,
 * build folders and the like), the project's .gitignore files (each
 * applying to its own folder and below, with git's meaning for anchoring,
 * `**`, trailing `/` and `!` negation), a build context's .dockerignore
 * where asked, and the watch rule's own `ignore` patterns. `include`
 * patterns, when given, restrict matches to what they name.
 *
 * The built-in defaults, in gitignore syntax (a trailing '/' is a folder
 * only): .git .hg/ .svn/ .DS_Store *.swp *.swo *.swx *~ .#* #*# 4913
 * __pycache__/ *.pyc node_modules/ .venv/ venv/ .tox/ .mypy_cache/
 * .pytest_cache/ dist/ build/ target/ .idea/ .vscode/ ("4913" is the file
 * vim creates to probe whether it may write in a folder). A later rule
 * can take one back: "!build/" in a .gitignore or in the rule's ignore.
 *
 * Matching is git's: a pattern without a '/' (other than a trailing one)
 * matches a name at any depth below its base; one with a leading or middle
 * '/' is anchored to its base; `*`, `?` and `[...]` stay within a path
 * component; `**` as a whole component spans any number of folders
 * (leading, as "**" "/x"; in the middle, as "a/" "**" "/b"; trailing, as
 * "a/" "**": everything inside a; any other `**` is a `*`); `\` escapes;
 * `!` negates, and the last matching pattern wins; a path below an ignored
 * folder is ignored (a negation cannot take it back, as in git).
 * .dockerignore patterns keep docker's meaning: always anchored to the
 * context, naming what they match and everything below it. */
#pragma once

#include "lib/util.h"

#include <stdbool.h>

typedef struct Ignore Ignore;

/* An ignore set for the tree at root (absolute). With defaults, the
 * built-in patterns come first. */
Ignore *ignore_new(const char *root, bool defaults);
/* Adds gitignore-syntax patterns (one per line, `#` comments) that apply to
 * base (absolute; root or a folder below it). */
void ignore_add_text(Ignore *ig, const char *base, const char *text);
/* Adds one pattern relative to base. */
void ignore_add_pattern(Ignore *ig, const char *base, const char *pattern);
/* Reads every .gitignore from root down (pruning what is already ignored),
 * plus the .gitignore files of root's parents up to the repository's top
 * (the folder holding .git), if any. */
void ignore_load_gitignores(Ignore *ig);
/* The same in two parts, for a walk that reads each folder anyway (the
 * watcher's): the parents' files now, then each folder's own .gitignore
 * as the walk reaches it, top down. Patterns added in between (a
 * .dockerignore, a rule's own) stay after every .gitignore pattern, as
 * if ignore_load_gitignores had been called first. */
void ignore_load_parent_gitignores(Ignore *ig);
void ignore_load_folder_gitignore(Ignore *ig, const char *dir);
/* Reads .dockerignore from a build context (docker syntax, context-relative). */
void ignore_load_dockerignore(Ignore *ig, const char *context_dir);
/* Only paths matching one of these (gitignore syntax, relative to root)
 * count; folders are always descended into. */
void ignore_add_include(Ignore *ig, const char *pattern);
/* True when path (absolute, inside root) is ignored. */
bool ignore_match(const Ignore *ig, const char *path, bool is_dir);
/* As ignore_match, but judging path alone: the caller knows that the
 * folders above it are not ignored (a walk that prunes them). Cheaper. */
bool ignore_match_entry(const Ignore *ig, const char *path, bool is_dir);
/* The root given to ignore_new(), normalised. */
const char *ignore_root(const Ignore *ig);
void ignore_free(Ignore *ig);
