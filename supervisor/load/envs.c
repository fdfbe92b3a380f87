/* envs: finding a project's environments and the overlay files of one. See
 * envs.h for the layout; config.c merges the files it returns after the
 * base files, and `tend envs` lists what envs_list finds. */
#include "load/envs.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

bool env_name_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 63 || streq(s, "override"))
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (c == '-' && i > 0 && i + 1 < n);
        if (!ok)
            return false;
    }
    return true;
}

static bool is_yaml_name(const char *n)
{
    return n[0] != '.' && (str_endswith(n, ".yaml") || str_endswith(n, ".yml"));
}

static bool is_regular(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* The YAML files of a folder, sorted, absolute. */
static void yaml_files(const char *dir, StrVec *out)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    StrVec names = {0};
    struct dirent *e;
    while ((e = readdir(d)))
        if (is_yaml_name(e->d_name))
            strvec_push(&names, e->d_name);
    closedir(d);
    strvec_sort(&names);
    for (size_t i = 0; i < names.n; i++) {
        char *p = path_join(dir, names.v[i]);
        if (is_regular(p))
            strvec_push_take(out, p);
        else
            free(p);
    }
    strvec_free(&names);
}

static const char *const compose_prefixes[] = {"compose.", "docker-compose."};
static const char *const compose_suffixes[] = {".yaml", ".yml"};

/* NAME from compose.NAME.yaml and its spellings, or NULL (malloc'd). */
static char *compose_env_name(const char *file)
{
    for (size_t i = 0; i < ARRAY_SIZE(compose_prefixes); i++) {
        if (!str_startswith(file, compose_prefixes[i]))
            continue;
        const char *rest = file + strlen(compose_prefixes[i]);
        for (size_t k = 0; k < ARRAY_SIZE(compose_suffixes); k++)
            if (str_endswith(rest, compose_suffixes[k])) {
                char *name = xstrndup(rest, strlen(rest) - strlen(compose_suffixes[k]));
                if (env_name_valid(name))
                    return name;
                free(name);
            }
    }
    return NULL;
}

void envs_list(const char *dir, StrVec *ret)
{
    StrVec found = {0};
    _cleanup_free_ char *envdir = path_join(dir, "env");
    DIR *d = opendir(envdir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (!env_name_valid(e->d_name))
                continue;
            StrVec files = {0};
            _cleanup_free_ char *sub = path_join(envdir, e->d_name);
            yaml_files(sub, &files);
            if (files.n > 0 && !strvec_contains(&found, e->d_name))
                strvec_push(&found, e->d_name);
            strvec_free(&files);
        }
        closedir(d);
    }
    d = opendir(dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            _cleanup_free_ char *name = compose_env_name(e->d_name);
            _cleanup_free_ char *p = name ? path_join(dir, e->d_name) : NULL;
            if (name && is_regular(p) && !strvec_contains(&found, name))
                strvec_push(&found, name);
        }
        closedir(d);
    }
    strvec_sort(&found);
    for (size_t i = 0; i < found.n; i++)
        strvec_push(ret, found.v[i]);
    strvec_free(&found);
}

int envs_overlay_files(const char *dir, const char *name, StrVec *ret)
{
    if (!env_name_valid(name))
        return -EINVAL;
    _cleanup_free_ char *sub = xasprintf("%s/env/%s", dir, name);
    size_t before = ret->n;
    yaml_files(sub, ret);
    if (ret->n > before)
        return 0;
    /* The first spelling that exists, as Compose finds compose.yaml. */
    for (size_t i = 0; i < ARRAY_SIZE(compose_prefixes); i++)
        for (size_t k = 0; k < ARRAY_SIZE(compose_suffixes); k++) {
            _cleanup_free_ char *file = xasprintf("%s%s%s", compose_prefixes[i], name, compose_suffixes[k]);
            char *p = path_join(dir, file);
            if (is_regular(p)) {
                strvec_push_take(ret, p);
                return 0;
            }
            free(p);
        }
    return -ENOENT;
}

int envs_resolve(const char *dir, const char *name, const Loc *loc, StrVec *files, Diag *d)
{
    if (!env_name_valid(name)) {
        diag_error(d, loc,
                   "invalid environment name \"%s\": use lower-case letters, digits and '-' (at most 63, "
                   "not starting or ending with '-'; \"override\" is the override file)",
                   name);
        return -EINVAL;
    }
    if (envs_overlay_files(dir, name, files) == 0)
        return 0;
    StrVec have = {0};
    envs_list(dir, &have);
    StrBuf b;
    strbuf_init(&b, 0);
    for (size_t i = 0; i < have.n; i++)
        strbuf_printf(&b, "%s%s", i ? ", " : "", have.v[i]);
    diag_error(d, loc, "no environment \"%s\" in %s: no env/%s/*.yaml and no compose.%s.yaml (%s%s)", name, dir,
               name, name, have.n ? "environments: " : "no environments found", have.n ? b.data : "");
    strbuf_free(&b);
    strvec_free(&have);
    return -EINVAL;
}

void envs_dotenv_loc(Arena *a, const char *path, const char *key, Loc *loc)
{
    *loc = (Loc){arena_strdup(a, path), 0, 0};
    char *data = NULL;
    size_t len = 0;
    if (read_file(path, 1 << 20, &data, &len) < 0)
        return;
    size_t klen = strlen(key);
    int line = 1;
    for (const char *p = data; p && *p; line++) {
        const char *s = p;
        while (*s == ' ' || *s == '\t')
            s++;
        if (str_startswith(s, "export "))
            s += 7;
        while (*s == ' ' || *s == '\t')
            s++;
        if (strncmp(s, key, klen) == 0 && (s[klen] == '=' || s[klen] == ' ')) {
            loc->line = line;
            loc->col = (int)(s - p) + 1;
        }
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    free(data);
}
