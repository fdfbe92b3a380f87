/* tree: the export as a whole. It loads the base files and each
 * environment (load/config.h), builds their object sets (build.c), writes
 * base/ and one overlay per environment (patch.c) in memory, and then puts
 * the files in the output folder. Warnings are said once even when the
 * base and several environments share the item they are about. */
#include "kube/kube.h"

#include "kube/kset.h"
#include "load/envs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MARKER ".tend-kube"

void kube_tree_free(KubeTree *t)
{
    for (size_t i = 0; i < t->n; i++) {
        free(t->files[i].path);
        free(t->files[i].data);
    }
    free(t->files);
    strvec_free(&t->envs);
    *t = (KubeTree){0};
}

/* Moves the messages of `from` into d, each warning once. */
static void take_diag(Diag *d, Diag *from)
{
    for (size_t i = 0; i < from->msgs.n; i++)
        if (!strstr(from->msgs.v[i], ": warning: ") || !strvec_contains(&d->msgs, from->msgs.v[i])) {
            strvec_push(&d->msgs, from->msgs.v[i]);
            if (strstr(from->msgs.v[i], ": warning: ") || str_startswith(from->msgs.v[i], "warning: "))
                d->warnings++;
            else
                d->errors++;
        }
    diag_free(from);
}

/* Loads the project (the base, or environment env) and builds its set. */
static int load_set(const ConfigOptions *o, const char *env, const KubeOptions *ko, Project **ret_p,
                    KubeSet **ret, Diag *d)
{
    ConfigOptions lo = *o;
    lo.env_name = env;
    lo.base_only = env == NULL;
    Project *p = NULL;
    Diag here = {0};
    int r = config_load(&lo, &p, &here);
    if (r == 0) {
        KubeBuildOptions bo = {.registry = ko->registry};
        r = kube_build(p, &bo, ret, &here);
    }
    take_diag(d, &here);
    if (r < 0) {
        project_free(p);
        return r == -ENOENT ? -EINVAL : r;
    }
    *ret_p = p;
    return 0;
}

static int file_cmp(const void *a, const void *b)
{
    return strcmp(((const KubeFile *)a)->path, ((const KubeFile *)b)->path);
}

int kube_export(const ConfigOptions *o, const KubeOptions *ko, KubeTree *ret, Diag *d)
{
    Project *bp = NULL;
    KubeSet *base = NULL;
    int r = load_set(o, ko->flat ? o->env_name : NULL, ko, &bp, &base, d);
    if (r < 0)
        return r;
    _cleanup_free_ char *header = xasprintf("# Written by `tend kube` from the services files of %s.\n"
                                            "# Edit those and run it again rather than editing this file.\n",
                                            bp->name);
    KubeTree t = {0};
    if (ko->flat) {
        kube_emit(NULL, base, "", NULL, header, &t);
        if (o->env_name)
            strvec_push(&t.envs, o->env_name);
    } else {
        kube_emit(NULL, base, "base/", NULL, header, &t);
        t.partial = o->env_name != NULL;
        if (o->env_name)
            strvec_push(&t.envs, o->env_name);
        else
            envs_list(bp->workdir, &t.envs);
        for (size_t i = 0; i < t.envs.n && r == 0; i++) {
            Project *ep = NULL;
            KubeSet *es = NULL;
            r = load_set(o, t.envs.v[i], ko, &ep, &es, d);
            if (r < 0)
                break;
            _cleanup_free_ char *prefix = xasprintf("overlays/%s/", t.envs.v[i]);
            kube_emit(base, es, prefix, "../../base", header, &t);
            kubeset_free(es);
            project_free(ep);
        }
    }
    kubeset_free(base);
    project_free(bp);
    if (r < 0) {
        kube_tree_free(&t);
        return r;
    }
    const char *marker = "This folder is written by `tend kube`, which replaces what it wrote here.\n";
    kube_tree_add(&t, MARKER, marker, strlen(marker), false);
    const char *ignore = "# Secret values, one file each (from .env files, env_file, secrets and\n"
                         "# variables named like passwords): kept out of version control.\n"
                         "secrets/\n";
    kube_tree_add(&t, ".gitignore", ignore, strlen(ignore), false);
    qsort(t.files, t.n, sizeof(*t.files), file_cmp);
    *ret = t;
    return 0;
}

/* ---- writing ---- */

static int rm_rf_at(int at, const char *name)
{
    int fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return unlinkat(at, name, 0) == 0 || errno == ENOENT ? 0 : -errno;
    DIR *dir = fdopendir(fd);
    if (!dir) {
        close(fd);
        return -errno;
    }
    struct dirent *e;
    int r = 0;
    while ((e = readdir(dir)))
        if (!streq(e->d_name, ".") && !streq(e->d_name, "..") && r == 0)
            r = rm_rf_at(dirfd(dir), e->d_name);
    closedir(dir);
    if (r == 0 && unlinkat(at, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
        r = -errno;
    return r;
}

static int mkdir_parents(const char *path)
{
    _cleanup_free_ char *p = xstrdup(path);
    for (char *s = p + 1; *s; s++)
        if (*s == '/') {
            *s = '\0';
            if (mkdir(p, 0755) < 0 && errno != EEXIST)
                return -errno;
            *s = '/';
        }
    return 0;
}

static bool dir_empty(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return true;
    struct dirent *e;
    bool empty = true;
    while ((e = readdir(d)))
        if (!streq(e->d_name, ".") && !streq(e->d_name, ".."))
            empty = false;
    closedir(d);
    return empty;
}

int kube_tree_write(const KubeTree *t, const char *dir, char **err)
{
    struct stat st;
    _cleanup_free_ char *marker = path_join(dir, MARKER);
    bool ours = stat(marker, &st) == 0;
    if (stat(dir, &st) == 0 && !S_ISDIR(st.st_mode)) {
        *err = xasprintf("%s is not a folder", dir);
        return -ENOTDIR;
    }
    if (!ours && !dir_empty(dir)) {
        *err = xasprintf("%s is not empty and was not written by tend kube (no %s); choose another folder "
                         "with -o",
                         dir, MARKER);
        return -EEXIST;
    }
    _cleanup_free_ char *slash = xasprintf("%s/", dir);
    int r = mkdir_parents(slash);
    if (r < 0) {
        *err = xasprintf("cannot make %s: %s", dir, strerror(-r));
        return r;
    }
    /* What this tree replaces: one environment's overlay and the base, or
     * everything (every environment, or a flat tree). */
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        *err = xasprintf("cannot open %s: %s", dir, strerror(errno));
        return -errno;
    }
    if (ours && t->partial) {
        _cleanup_free_ char *ov = xasprintf("overlays/%s", t->envs.v[0]);
        r = rm_rf_at(dfd, "base");
        if (r == 0)
            r = rm_rf_at(dfd, ov);
    } else if (ours) {
        DIR *d = fdopendir(dup(dfd));
        struct dirent *e;
        while (d && (e = readdir(d)) && r == 0)
            if (!streq(e->d_name, ".") && !streq(e->d_name, ".."))
                r = rm_rf_at(dfd, e->d_name);
        if (d)
            closedir(d);
    }
    close(dfd);
    if (r < 0) {
        *err = xasprintf("cannot clear %s: %s", dir, strerror(-r));
        return r;
    }
    for (size_t i = 0; i < t->n; i++) {
        const KubeFile *f = &t->files[i];
        _cleanup_free_ char *path = path_join(dir, f->path);
        r = mkdir_parents(path);
        int fd = r < 0 ? -1 : open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, f->secret ? 0600 : 0644);
        if (fd < 0) {
            *err = xasprintf("cannot write %s: %s", path, strerror(r < 0 ? -r : errno));
            return r < 0 ? r : -errno;
        }
        size_t off = 0;
        while (off < f->len) {
            ssize_t w = write(fd, f->data + off, f->len - off);
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0) {
                r = -errno;
                close(fd);
                *err = xasprintf("cannot write %s: %s", path, strerror(-r));
                return r;
            }
            off += (size_t)w;
        }
        if (close(fd) < 0) {
            *err = xasprintf("cannot write %s: %s", path, strerror(errno));
            return -errno;
        }
    }
    return 0;
}
