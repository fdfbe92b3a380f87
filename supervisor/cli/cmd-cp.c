/* tend cp SERVICE:SRC DEST | SRC SERVICE:DEST: files between a service's
 * container and this machine, through the engine's archive API, with
 * docker cp's rules for what lands where (a folder copied into an existing
 * folder, renamed when the destination does not exist, "dir/." for its
 * contents; "-" for a tar stream on stdin or stdout). Host services have
 * no container: their files are on this machine already. */
#include "cli/cli.h"
#include "engine/attach.h"
#include "engine/docker.h"
#include "engine/imgbuild.h"
#include "engine/ops.h"
#include "engine/sync.h"
#include "engine/untar.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char cp_usage[] =
    "Usage: tend cp [OPTIONS] SERVICE:SRC_PATH DEST_PATH|-\n"
    "       tend cp [OPTIONS] SRC_PATH|- SERVICE:DEST_PATH\n"
    "\n"
    "Copies files or folders between a service's container and this machine,\n"
    "as docker cp does. \"-\" is a tar stream on stdout (from the container) or\n"
    "stdin (into it).\n"
    "\n"
    "Options:\n"
    "      --index N         the service's Nth container (default 1)\n"
    "  -L, --follow-link     copy what a symbolic link at SRC_PATH points to\n"
    "  -a, --archive         accepted: files are owned by the container's user\n"
    "                        in the container, by you on this machine\n"
    "  -h, --help            show this help\n";

/* "SERVICE:PATH" is the container side; an absolute path, or a relative one
 * starting with "." ("./a:b"), is local as it is. */
static bool split_arg(const char *arg, char **ret_service, const char **ret_path)
{
    const char *colon = strchr(arg, ':');
    if (arg[0] == '/' || arg[0] == '.' || !colon) {
        *ret_service = NULL;
        *ret_path = arg;
        return false;
    }
    *ret_service = xstrndup(arg, (size_t)(colon - arg));
    *ret_path = colon + 1;
    return true;
}

static const char *base_of(const char *path)
{
    static char buf[PATH_MAX];
    snprintf(buf, sizeof buf, "%s", path);
    size_t n = strlen(buf);
    while (n > 1 && buf[n - 1] == '/')
        buf[--n] = '\0';
    return path_basename(buf);
}

static bool ends_with_dot(const char *path)
{
    return streq(path, ".") || str_endswith(path, "/.");
}

static bool asserts_dir(const char *path)
{
    return str_endswith(path, "/") || ends_with_dot(path);
}

/* ---- a path in the container: the archive API's stat header ---- */

typedef struct CtrStat {
    bool done, exists, is_dir, is_link;
    char *link;
    char *err;
} CtrStat;

static void on_head(void *ud, int status, const char *head, const char *err)
{
    CtrStat *st = ud;
    st->done = true;
    if (status == 404)
        return;
    if (status != 200) {
        st->err = xstrdup(err ? err : "the engine could not look at the path");
        return;
    }
    const char *h = strcasestr(head, "\nX-Docker-Container-Path-Stat:");
    if (!h)
        return;
    h += strlen("\nX-Docker-Container-Path-Stat:");
    while (*h == ' ')
        h++;
    size_t n = strcspn(h, "\r\n");
    /* base64 of {"name","size","mode","mtime","linkTarget"} */
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    StrBuf js;
    strbuf_init(&js, 0);
    unsigned v = 0;
    int bits = 0;
    for (size_t i = 0; i < n && h[i] != '='; i++) {
        const char *p = strchr(tbl, h[i]);
        if (!p)
            continue;
        v = (v << 6) | (unsigned)(p - tbl);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            strbuf_putc(&js, (char)((v >> bits) & 0xff));
        }
    }
    json_t *j = json_loads(js.data ? js.data : "", 0, NULL);
    strbuf_free(&js);
    json_int_t mode = json_integer_value(json_object_get(j, "mode"));
    st->exists = j != NULL;
    st->is_dir = (mode >> 31) & 1;                 /* Go's os.ModeDir */
    st->is_link = (mode >> 27) & 1;                /* os.ModeSymlink */
    const char *lt = json_string_value(json_object_get(j, "linkTarget"));
    st->link = lt && *lt ? xstrdup(lt) : NULL;
    json_decref(j);
}

static int ctr_stat(OpsSession *ops, const char *id, const char *path, CtrStat *ret)
{
    *ret = (CtrStat){0};
    _cleanup_free_ char *e = engine_escape(path);
    _cleanup_free_ char *url = xasprintf("/containers/%s/archive?path=%s", id, e);
    engine_head(ops_engine(ops), ops_loop(ops), url, on_head, ret);
    ops_wait(ops, &ret->done);
    return ret->err ? -EIO : 0;
}

/* ---- from the container ---- */

typedef struct FromCtr {
    Untar *u;
    const char *dst;
    const char *rebase; /* -L: the name the link's target gets */
    bool to_stdout;
    bool done, failed;
    char *err;
    StrBuf answer; /* an error answer's body */
} FromCtr;

/* docker cp's rules (PrepareArchiveCopy), from what the archive holds and
 * what the destination is. */
static int decide_host(void *ud, Untar *u, const char *name, bool is_dir, char **ret_err)
{
    FromCtr *f = ud;
    while (str_startswith(name, "./") && name[2])
        name += 2;
    _cleanup_free_ char *src_base = xstrndup(name, strcspn(name, "/"));
    const char *from = f->rebase ? NULL : src_base;
    struct stat st;
    bool exists = stat(f->dst, &st) == 0;
    _cleanup_free_ char *dir = path_dirname(f->dst);
    const char *dst_base = base_of(f->dst);
    if (exists && S_ISDIR(st.st_mode)) {
        untar_target(u, f->dst, f->rebase ? src_base : NULL, f->rebase);
    } else if (exists && is_dir) {
        *ret_err = xasprintf("cannot copy a directory to a file: %s", f->dst);
        return -EISDIR;
    } else if (!exists && !is_dir && asserts_dir(f->dst)) {
        *ret_err = xasprintf("no such directory: %s", f->dst);
        return -ENOENT;
    } else {
        if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
            *ret_err = xasprintf("no such directory: %s", dir);
            return -ENOENT;
        }
        untar_target(u, dir, from ? from : src_base, dst_base);
    }
    return 0;
}

static void on_archive_chunk(void *ud, const char *data, size_t len)
{
    FromCtr *f = ud;
    if (f->failed)
        return;
    if (f->to_stdout) {
        if (fwrite(data, 1, len, stdout) != len)
            f->failed = true;
        return;
    }
    char *err = NULL;
    if (untar_feed(f->u, data, len, &err) < 0) {
        f->failed = true;
        f->err = err;
    }
}

static void on_archive_done(void *ud, int status, json_t *body, const char *err)
{
    FromCtr *f = ud;
    (void)status;
    (void)body;
    f->done = true;
    if (err && !f->err)
        f->err = xstrdup(err);
}

static int copy_from(OpsSession *ops, const char *id, const char *name, const char *src, const char *dst,
                     bool follow)
{
    FromCtr f = {.dst = dst, .to_stdout = streq(dst, "-")};
    _cleanup_free_ char *path = xstrdup(src);
    if (follow) {
        CtrStat st;
        if (ctr_stat(ops, id, src, &st) == 0 && st.is_link && st.link) {
            _cleanup_free_ char *parent = path_dirname(src);
            free(path);
            path = st.link[0] == '/' ? xstrdup(st.link) : path_join(parent, st.link);
            f.rebase = base_of(src);
        }
        free(st.link);
        free(st.err);
    }
    _cleanup_free_ char *rebase = f.rebase ? xstrdup(f.rebase) : NULL;
    f.rebase = rebase;
    f.u = untar_new(decide_host, &f);
    _cleanup_free_ char *e = engine_escape(path);
    _cleanup_free_ char *url = xasprintf("/containers/%s/archive?path=%s", id, e);
    engine_stream(ops_engine(ops), "GET", url, NULL, on_archive_chunk, on_archive_done, &f);
    ops_wait(ops, &f.done);
    char *err = f.err;
    if (!err && !f.to_stdout && untar_finish(f.u, &err) == 0)
        cli_progress("Container", name, "Copied");
    untar_free(f.u);
    if (err || f.failed) {
        fprintf(stderr, "tend cp: %s\n", err ? err : "cannot write to stdout");
        free(err);
        return 1;
    }
    return fflush(stdout) == 0 ? 0 : 1;
}

/* ---- into the container ---- */

/* Every path under dir (relative to root), folders before what is in them. */
static int walk(const char *root, const char *rel, StrVec *out)
{
    _cleanup_free_ char *abs = path_join(root, rel);
    DIR *d = opendir(abs);
    if (!d)
        return -errno;
    StrVec names = {0};
    struct dirent *de;
    while ((de = readdir(d)))
        if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
            strvec_push(&names, de->d_name);
    closedir(d);
    strvec_sort(&names);
    int r = 0;
    for (size_t i = 0; i < names.n && r == 0; i++) {
        char *child = *rel ? xasprintf("%s/%s", rel, names.v[i]) : xstrdup(names.v[i]);
        _cleanup_free_ char *cabs = path_join(root, child);
        struct stat st;
        strvec_push(out, child);
        if (lstat(cabs, &st) == 0 && S_ISDIR(st.st_mode))
            r = walk(root, child, out);
        free(child);
    }
    strvec_free(&names);
    return r;
}

typedef struct Put {
    bool done;
    char *err;
} Put;

static void on_put(void *ud, int status, json_t *body, const char *err)
{
    Put *p = ud;
    (void)status;
    (void)body;
    p->done = true;
    p->err = err ? xstrdup(err) : NULL;
}

static int read_stdin(StrBuf *out)
{
    char buf[65536];
    for (;;) {
        size_t n = fread(buf, 1, sizeof buf, stdin);
        if (n && strbuf_append(out, buf, n) < 0)
            return -E2BIG;
        if (n < sizeof buf)
            return ferror(stdin) ? -EIO : 0;
    }
}

static int copy_to(OpsSession *ops, const char *id, const char *name, const char *src, const char *dst, bool follow)
{
    CtrStat ds;
    int r = ctr_stat(ops, id, dst, &ds);
    _cleanup_free_ char *dpath = xstrdup(dst);
    if (r == 0 && ds.is_link && ds.link) {
        _cleanup_free_ char *parent = path_dirname(dst);
        free(dpath);
        dpath = ds.link[0] == '/' ? xstrdup(ds.link) : path_join(parent, ds.link);
        free(ds.link);
        r = ctr_stat(ops, id, dpath, &ds);
    }
    free(ds.link);
    if (r < 0) {
        fprintf(stderr, "tend cp: %s\n", ds.err);
        free(ds.err);
        return 1;
    }
    StrBuf tar;
    strbuf_init(&tar, IMAGE_BUILD_CONTEXT_MAX);
    _cleanup_free_ char *put_dir = NULL;
    char *err = NULL;
    if (streq(src, "-")) {
        if (!ds.is_dir) {
            fprintf(stderr, "tend cp: destination \"%s:%s\" must be a directory\n", name, dst);
            strbuf_free(&tar);
            return 1;
        }
        if (read_stdin(&tar) < 0)
            err = xstrdup("cannot read the archive from stdin");
        put_dir = xstrdup(dpath);
    } else {
        struct stat st;
        _cleanup_free_ char *real = NULL;
        if ((follow ? stat(src, &st) : lstat(src, &st)) < 0) {
            fprintf(stderr, "tend cp: could not find the file %s: %s\n", src, strerror(errno));
            strbuf_free(&tar);
            return 1;
        }
        if (follow && S_ISLNK(st.st_mode) == 0)
            real = realpath(src, NULL);
        bool is_dir = S_ISDIR(st.st_mode);
        /* the archive's top name, as docker cp renames it */
        _cleanup_free_ char *dclean = xstrdup(dpath);
        for (size_t n = strlen(dclean); n > 1 && dclean[n - 1] == '/';)
            dclean[--n] = '\0';
        _cleanup_free_ char *top_name = xstrdup(base_of(src));
        bool into = false; /* into an existing folder, under the source's own name */
        if (ds.exists && ds.is_dir) {
            put_dir = xstrdup(dpath);
            into = true;
        } else if (ds.exists && is_dir) {
            err = xasprintf("cannot copy a directory to a file: %s:%s", name, dst);
        } else if (!ds.exists && !is_dir && asserts_dir(dst)) {
            err = xasprintf("no such directory: %s:%s", name, dst);
        } else {
            put_dir = path_dirname(dclean);
            free(top_name);
            top_name = xstrdup(base_of(dclean));
        }
        /* paths relative to the source's folder; "dir/." copies what is in it */
        _cleanup_free_ char *abs = real ? xstrdup(real) : path_absolute(".", src);
        bool contents = is_dir && ends_with_dot(src);
        _cleanup_free_ char *root = contents ? xstrdup(abs) : path_dirname(abs);
        _cleanup_free_ char *self = xstrdup(base_of(abs));
        StrVec paths = {0}, names = {0};
        if (!err && contents) {
            StrVec sub = {0};
            if (walk(root, "", &sub) < 0)
                err = xasprintf("cannot read %s: %s", src, strerror(errno));
            if (!into) { /* the new folder itself, named as the destination */
                strvec_push(&paths, ".");
                strvec_push(&names, top_name);
            }
            for (size_t i = 0; i < sub.n; i++) {
                strvec_push(&paths, sub.v[i]);
                strvec_push_take(&names, into ? xstrdup(sub.v[i]) : xasprintf("%s/%s", top_name, sub.v[i]));
            }
            strvec_free(&sub);
        } else if (!err) {
            strvec_push(&paths, self);
            strvec_push(&names, top_name);
            StrVec sub = {0};
            if (is_dir && walk(root, self, &sub) < 0)
                err = xasprintf("cannot read %s: %s", src, strerror(errno));
            for (size_t i = 0; i < sub.n; i++) {
                strvec_push(&paths, sub.v[i]);
                strvec_push_take(&names, xasprintf("%s%s", top_name, sub.v[i] + strlen(self)));
            }
            strvec_free(&sub);
        }
        if (!err && sync_tar_named(root, &paths, &names, &tar, NULL, &err) < 0 && !err)
            err = xstrdup("cannot pack the files");
        strvec_free(&paths);
        strvec_free(&names);
    }
    int status = 0;
    if (!err) {
        _cleanup_free_ char *e = engine_escape(put_dir);
        _cleanup_free_ char *url = xasprintf("/containers/%s/archive?path=%s&noOverwriteDirNonDir=true", id, e);
        Put put = {0};
        engine_upload(ops_engine(ops), "PUT", url, "application/x-tar", tar.data ? tar.data : "", tar.len, NULL,
                      on_put, &put);
        ops_wait(ops, &put.done);
        err = put.done ? put.err : xstrdup("the engine did not answer");
    }
    if (err) {
        fprintf(stderr, "tend cp: %s\n", err);
        status = 1;
    } else {
        cli_progress("Container", name, "Copied");
    }
    free(err);
    strbuf_free(&tar);
    return status;
}

int cmd_cp(ConfigOptions *o, int argc, char **argv)
{
    enum { OPT_INDEX = 256, OPT_ALL };
    static const struct option opts[] = {
        {"index", required_argument, NULL, OPT_INDEX},
        {"all", no_argument, NULL, OPT_ALL},
        {"follow-link", no_argument, NULL, 'L'},
        {"archive", no_argument, NULL, 'a'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    int index = 0, c;
    bool follow = false;
    while ((c = getopt_long(argc, argv, "Lah", opts, NULL)) != -1) {
        switch (c) {
        case OPT_INDEX:
            index = atoi(optarg);
            break;
        case OPT_ALL:
        case 'a':
            break;
        case 'L':
            follow = true;
            break;
        case 'h':
            fputs(cp_usage, stdout);
            return 0;
        default:
            fputs("Run 'tend cp --help' for usage.\n", stderr);
            return 2;
        }
    }
    if (argc - optind != 2) {
        fputs("tend cp: Usage: tend cp [OPTIONS] SERVICE:SRC_PATH DEST_PATH|-, or SRC_PATH|- SERVICE:DEST_PATH\n",
              stderr);
        return 2;
    }
    char *svc_src = NULL, *svc_dst = NULL;
    const char *src, *dst;
    bool from = split_arg(argv[optind], &svc_src, &src);
    bool to = split_arg(argv[optind + 1], &svc_dst, &dst);
    int status = 2;
    Project *p = NULL;
    StrVec names = {0};
    if (from == to) {
        fputs(from ? "tend cp: copying between services is not supported\n"
                   : "tend cp: one of the paths must be SERVICE:PATH\n",
              stderr);
        goto out;
    }
    const char *service = from ? svc_src : svc_dst;
    if (!*(from ? src : dst)) {
        fputs("tend cp: the path in the service is empty\n", stderr);
        goto out;
    }
    status = cli_load_named(o, "cp", 1, (char **)&service, true, &p, &names);
    if (status)
        goto out;
    const Service *s = project_service(p, service);
    if (s->runtime == RUNTIME_HOST) {
        fprintf(stderr, "tend cp: %s is a host service: its files are on this machine already\n", service);
        status = 2;
        goto out;
    }
    char *err = NULL;
    OpsSession *ops = ops_open(&err);
    json_t *list = NULL;
    if (!ops || ops_containers(ops, p->name, &names, true, false, &list, &err) < 0) {
        fprintf(stderr, "tend cp: %s\n", err);
        free(err);
        ops_close(ops);
        status = 1;
        goto out;
    }
    /* from: that container (default the first); to: that one, or every one */
    status = 0;
    size_t done = 0, i;
    json_t *ctr;
    json_array_foreach(list, i, ctr)
    {
        if (index > 0 ? ops_ctr_number(ctr) != index : from && done > 0)
            continue;
        const char *id = json_string_value(json_object_get(ctr, "Id"));
        int r = from ? copy_from(ops, id, ops_ctr_name(ctr), src, dst, follow)
                     : copy_to(ops, id, ops_ctr_name(ctr), src, dst, follow);
        status = r ? r : status;
        done++;
    }
    if (!done) {
        if (index > 0)
            fprintf(stderr, "tend cp: service \"%s\" has no container number %d\n", service, index);
        else
            fprintf(stderr, "tend cp: service \"%s\" has no container; create it with tend up or tend create\n",
                    service);
        status = 1;
    }
    json_decref(list);
    ops_close(ops);
out:
    free(svc_src);
    free(svc_dst);
    strvec_free(&names);
    project_free(p);
    return status;
}
