/* stamp: the name and service names of a load, valid while the files and
 * folders it read are unchanged (see stamp.h). The file is plain text:
 *
 *   tend-stamp 1
 *   env HASH                (of the environment)
 *   name NAME
 *   service NAME            (one per service)
 *   input MTIME SIZE INO PATH   (one per file or folder read)
 *
 * written to a temporary file and renamed into place, so a reader sees a
 * whole stamp or none. */
#include "load/stamp.h"

#include "lib/util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

#define STAMP_MAX ((size_t)1 << 20)

static uint64_t stamp_fnv(uint64_t h, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        h ^= *p;
        h *= 1099511628211ULL;
    }
    h ^= 0xff; /* a separator no string holds */
    h *= 1099511628211ULL;
    return h;
}

static uint64_t stamp_fnv_vec(uint64_t h, const char *tag, const StrVec *v)
{
    h = stamp_fnv(h, tag);
    for (size_t i = 0; i < v->n; i++)
        h = stamp_fnv(h, v->v[i]);
    return h;
}

/* The environment's hash: interpolation, COMPOSE_* and HOME may all
 * change what loads. "_" is only the shell's last command. It is checked
 * inside the stamp rather than named by the file, so that a folder keeps
 * one stamp per set of options, however often the environment changes. */
static uint64_t stamp_env_hash(const ConfigOptions *o)
{
    uint64_t h = 14695981039346656037ULL;
    for (char **e = o->environ_ ? o->environ_ : environ; e && *e; e++)
        if (!str_startswith(*e, "_="))
            h = stamp_fnv(h, *e);
    return h;
}

/* The stamp's file for o, or NULL when there is no folder to keep it in. */
static char *stamp_path(const ConfigOptions *o)
{
    char cwdbuf[4096];
    const char *cwd = o->cwd ? o->cwd : getcwd(cwdbuf, sizeof cwdbuf);
    if (!cwd)
        return NULL;
    uint64_t h = 14695981039346656037ULL;
    h = stamp_fnv(h, "tend-stamp 1");
    h = stamp_fnv(h, cwd);
    h = stamp_fnv_vec(h, "-f", &o->files);
    h = stamp_fnv(h, o->project_name ? o->project_name : "");
    h = stamp_fnv(h, o->project_dir ? o->project_dir : "");
    h = stamp_fnv_vec(h, "--env-file", &o->env_files);
    h = stamp_fnv(h, o->env_name ? o->env_name : "");
    h = stamp_fnv(h, o->base_only ? "base" : "env");
    h = stamp_fnv_vec(h, "--profile", &o->profiles);
    h = stamp_fnv_vec(h, "services", &o->services);
    h = stamp_fnv(h, o->no_interpolate ? "raw" : "interpolated");
    h = stamp_fnv(h, o->all_profiles ? "all" : "some");

    const char *rt = getenv("XDG_RUNTIME_DIR");
    const char *cache = getenv("XDG_CACHE_HOME");
    const char *home = getenv("HOME");
    _cleanup_free_ char *dir = NULL;
    if (rt && *rt)
        dir = xasprintf("%s/tend/stamps", rt);
    else if (cache && *cache)
        dir = xasprintf("%s/tend/stamps", cache);
    else if (home && *home)
        dir = xasprintf("%s/.cache/tend/stamps", home);
    else
        return NULL;
    return xasprintf("%s/%016" PRIx64, dir, h);
}

/* "MTIME SIZE INO" of a path, or NULL when it is gone. */
static char *stamp_of(const char *path)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return NULL;
    return xasprintf("%lld.%09ld %lld %llu", (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
                     (long long)st.st_size, (unsigned long long)st.st_ino);
}

/* mkdir -p with mode 0700 for each folder made. */
static int stamp_mkdirs(const char *dir)
{
    if (mkdir(dir, 0700) == 0 || errno == EEXIST)
        return 0;
    if (errno != ENOENT)
        return -errno;
    _cleanup_free_ char *up = path_dirname(dir);
    if (streq(up, dir) || stamp_mkdirs(up) < 0)
        return -ENOENT;
    return mkdir(dir, 0700) == 0 || errno == EEXIST ? 0 : -errno;
}

void stamp_save(const ConfigOptions *o, const Project *p)
{
    _cleanup_free_ char *path = stamp_path(o);
    if (!path || !p->name)
        return;
    StrBuf b;
    strbuf_init(&b, STAMP_MAX);
    strbuf_printf(&b, "tend-stamp 1\nenv %016" PRIx64 "\nname %s\n", stamp_env_hash(o), p->name);
    for (size_t i = 0; i < p->n_services; i++)
        strbuf_printf(&b, "service %s\n", p->services[i]->name);
    for (size_t i = 0; i < p->disabled.n; i++)
        strbuf_printf(&b, "service %s\n", p->disabled.v[i]);
    for (size_t i = 0; i < p->inputs.n; i++) {
        const char *in = p->inputs.v[i];
        _cleanup_free_ char *st = stamp_of(in);
        if (!st || strchr(in, '\n')) {
            strbuf_free(&b);
            return; /* changed while loading, or not to be written down */
        }
        strbuf_printf(&b, "input %s %s\n", st, in);
    }
    _cleanup_free_ char *dir = path_dirname(path);
    _cleanup_free_ char *tmp = xasprintf("%s.%ld", path, (long)getpid());
    int fd = -1;
    if (b.len < STAMP_MAX && stamp_mkdirs(dir) == 0)
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd >= 0) {
        bool ok = write(fd, b.data, b.len) == (ssize_t)b.len;
        ok = close(fd) == 0 && ok;
        if (!ok || rename(tmp, path) < 0)
            unlink(tmp);
    }
    strbuf_free(&b);
}

int stamp_lookup(const ConfigOptions *o, char **ret_name, StrVec *ret_services)
{
    _cleanup_free_ char *path = stamp_path(o);
    char *data = NULL;
    size_t len;
    if (!path || read_file(path, STAMP_MAX, &data, &len) < 0)
        return -ENOENT;
    char *name = NULL;
    StrVec services = {0};
    bool ok = str_startswith(data, "tend-stamp 1\n");
    char *save = NULL;
    char env[32];
    snprintf(env, sizeof env, "env %016" PRIx64, stamp_env_hash(o));
    for (char *line = ok ? strtok_r(data + 13, "\n", &save) : NULL; ok && line;
         line = strtok_r(NULL, "\n", &save)) {
        if (str_startswith(line, "env ")) {
            ok = streq(line, env);
        } else if (str_startswith(line, "name ")) {
            free(name);
            name = xstrdup(line + 5);
        } else if (str_startswith(line, "service ")) {
            strvec_push(&services, line + 8);
        } else if (str_startswith(line, "input ")) {
            /* "input MTIME SIZE INO PATH": the path follows the third space */
            char *p = line + 6;
            for (int k = 0; k < 3 && p; k++)
                p = strchr(p, ' ') ? strchr(p, ' ') + 1 : NULL;
            if (!p) {
                ok = false;
                break;
            }
            _cleanup_free_ char *now = stamp_of(p);
            size_t n = (size_t)(p - 1 - (line + 6));
            ok = now && strlen(now) == n && memcmp(now, line + 6, n) == 0;
        } else {
            ok = false;
        }
    }
    free(data);
    if (!ok || !name) {
        free(name);
        strvec_free(&services);
        return -ENOENT;
    }
    *ret_name = name;
    *ret_services = services;
    return 0;
}
