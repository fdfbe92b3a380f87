/* sync: changed files into a container (archive API) and commands in it
 * (exec API), for the watch actions that copy instead of bind-mounting.
 * See sync.h. */
#include "engine/sync.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- tar ---- */

#define TAR_BLOCK 512

static void octal(char *dst, size_t width, unsigned long long v)
{
    /* width digits-1 octal digits, zero-padded, then a NUL (values that do
     * not fit keep their low digits: not reached for source files) */
    dst[width - 1] = '\0';
    for (size_t i = width - 1; i-- > 0;) {
        dst[i] = (char)('0' + (v & 7));
        v >>= 3;
    }
}

static int put_header_owned(StrBuf *out, const char *name, char type, mode_t mode, unsigned long long size,
                            long long mtime, const char *link, unsigned uid, unsigned gid)
{
    char h[TAR_BLOCK];
    memset(h, 0, sizeof(h));
    strncpy(h, name, 100);
    octal(h + 100, 8, mode & 07777);
    octal(h + 108, 8, uid);
    octal(h + 116, 8, gid);
    octal(h + 124, 12, size);
    octal(h + 136, 12, (unsigned long long)(mtime < 0 ? 0 : mtime));
    memset(h + 148, ' ', 8);
    h[156] = type;
    if (link)
        strncpy(h + 157, link, 100);
    memcpy(h + 257, "ustar", 6);
    memcpy(h + 263, "00", 2);
    unsigned sum = 0;
    for (size_t i = 0; i < sizeof(h); i++)
        sum += (unsigned char)h[i];
    snprintf(h + 148, 8, "%06o", sum & 0777777);
    h[155] = ' ';
    return strbuf_append(out, h, sizeof(h));
}

static int put_header(StrBuf *out, const char *name, char type, mode_t mode, unsigned long long size,
                      long long mtime, const char *link)
{
    return put_header_owned(out, name, type, mode, size, mtime, link, 0, 0);
}

static int put_padding(StrBuf *out, size_t len)
{
    static const char zero[TAR_BLOCK];
    size_t pad = (TAR_BLOCK - len % TAR_BLOCK) % TAR_BLOCK;
    return pad ? strbuf_append(out, zero, pad) : 0;
}

/* A PAX record "LEN key=value\n", where LEN counts itself. */
static void pax_record(StrBuf *b, const char *key, const char *value)
{
    size_t body = strlen(key) + strlen(value) + 3; /* ' ' '=' '\n' */
    size_t len = body + 1;
    while (snprintf(NULL, 0, "%zu", len) + body != len)
        len++;
    strbuf_printf(b, "%zu %s=%s\n", len, key, value);
}

static int put_entry(StrBuf *out, const char *name, char type, const struct stat *st, const char *data,
                     size_t size, const char *link)
{
    int r = 0;
    if (strlen(name) > 100 || (link && strlen(link) > 100)) {
        StrBuf pax;
        strbuf_init(&pax, 0);
        if (strlen(name) > 100)
            pax_record(&pax, "path", name);
        if (link && strlen(link) > 100)
            pax_record(&pax, "linkpath", link);
        r = put_header(out, "././@PaxHeader", 'x', 0644, pax.len, st->st_mtime, NULL);
        if (r >= 0)
            r = strbuf_append(out, pax.data, pax.len);
        if (r >= 0)
            r = put_padding(out, pax.len);
        strbuf_free(&pax);
    }
    if (r >= 0)
        r = put_header(out, name, type, st->st_mode, size, st->st_mtime, link);
    if (r >= 0 && size) {
        r = strbuf_append(out, data, size);
        if (r >= 0)
            r = put_padding(out, size);
    }
    return r;
}

int sync_tar_file(StrBuf *out, const char *name, const char *data, size_t len, unsigned mode, unsigned uid,
                  unsigned gid, long long mtime)
{
    if (strlen(name) > 100)
        return -ENAMETOOLONG;
    int r = put_header_owned(out, name, '0', (mode_t)mode, len, mtime, NULL, uid, gid);
    if (r >= 0 && len) {
        r = strbuf_append(out, data, len);
        if (r >= 0)
            r = put_padding(out, len);
    }
    return r;
}

static int read_all(const char *path, StrBuf *b)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return -errno;
    char buf[65536];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            int e = -errno;
            close(fd);
            return e;
        }
        if (n == 0)
            break;
        if (strbuf_append(b, buf, (size_t)n) < 0) {
            close(fd);
            return -E2BIG;
        }
    }
    close(fd);
    return 0;
}

int sync_tar(const char *src_root, const StrVec *paths, StrBuf *out, size_t *ret_missing, char **ret_err)
{
    return sync_tar_named(src_root, paths, NULL, out, ret_missing, ret_err);
}

int sync_tar_named(const char *src_root, const StrVec *paths, const StrVec *names, StrBuf *out,
                   size_t *ret_missing, char **ret_err)
{
    size_t old_len = out->len, missing = 0;
    int count = 0;
    for (size_t i = 0; i < paths->n; i++) {
        const char *rel = paths->v[i];
        while (*rel == '/')
            rel++;
        if (!*rel)
            continue;
        const char *name = names ? names->v[i] : rel;
        _cleanup_free_ char *abs = path_join(src_root, rel);
        struct stat st;
        if (lstat(abs, &st) < 0) {
            if (errno == ENOENT || errno == ENOTDIR) {
                missing++;
                continue;
            }
            int e = -errno;
            *ret_err = xasprintf("cannot read %s: %s", abs, strerror(errno));
            out->len = old_len;
            return e;
        }
        int r = 0;
        if (S_ISREG(st.st_mode)) {
            StrBuf data;
            strbuf_init(&data, 0);
            r = read_all(abs, &data);
            if (r == -ENOENT) {
                strbuf_free(&data);
                missing++;
                continue;
            }
            if (r >= 0)
                r = put_entry(out, name, '0', &st, data.data, data.len, NULL);
            strbuf_free(&data);
        } else if (S_ISDIR(st.st_mode)) {
            _cleanup_free_ char *dname = xasprintf("%s/", name);
            r = put_entry(out, dname, '5', &st, NULL, 0, NULL);
        } else if (S_ISLNK(st.st_mode)) {
            char target[4096];
            ssize_t n = readlink(abs, target, sizeof(target) - 1);
            if (n < 0) {
                missing++;
                continue;
            }
            target[n] = '\0';
            r = put_entry(out, name, '2', &st, NULL, 0, target);
        } else {
            continue; /* sockets, fifos and devices are not copied */
        }
        if (r < 0) {
            *ret_err = xasprintf("cannot pack %s: %s", abs, r == -E2BIG ? "the files are too large" : strerror(-r));
            out->len = old_len;
            return r;
        }
        count++;
    }
    static const char end[2 * TAR_BLOCK];
    if (strbuf_append(out, end, sizeof(end)) < 0) {
        *ret_err = xstrdup("the files are too large to copy");
        out->len = old_len;
        return -E2BIG;
    }
    if (ret_missing)
        *ret_missing = missing;
    return count;
}

/* ---- jobs ---- */

typedef enum ExecPurpose {
    EX_MKDIR, /* make the target before a retried upload */
    EX_RM,    /* remove deleted files */
    EX_USER,  /* sync_exec's command */
} ExecPurpose;

struct SyncJob {
    Engine *e;
    char *container; /* escaped for paths */
    char *target;
    char *tar;
    size_t tar_len;
    bool put_retried;
    StrVec rm_argv;
    EngineReq *req;
    /* the exec in progress */
    ExecPurpose purpose;
    char *exec_id;
    LogDemux demux;
    StrBuf line;
    StrBuf tail; /* the last output of an internal command, for its error */
    void (*on_line)(void *ud, const char *line);
    SyncDoneFn done;
    SyncExecDoneFn xdone;
    void *ud;
};

static void job_free(SyncJob *j)
{
    if (!j)
        return;
    free(j->container);
    free(j->target);
    free(j->tar);
    strvec_free(&j->rm_argv);
    free(j->exec_id);
    strbuf_free(&j->line);
    strbuf_free(&j->tail);
    free(j);
}

void sync_cancel(SyncJob *j)
{
    if (!j)
        return;
    if (j->req)
        engine_cancel(j->req);
    job_free(j);
}

static void files_done(SyncJob *j, bool ok, const char *err)
{
    j->req = NULL;
    j->done(j->ud, ok, err);
    job_free(j);
}

static void exec_run(SyncJob *j, const StrVec *argv, const char *workdir, ExecPurpose purpose);
static void put_archive(SyncJob *j);

static void after_put(SyncJob *j)
{
    if (j->rm_argv.n > 3) /* rm -rf -- and at least one path */
        exec_run(j, &j->rm_argv, NULL, EX_RM);
    else
        files_done(j, true, NULL);
}

static void on_put(void *ud, int status, json_t *body, const char *err)
{
    SyncJob *j = ud;
    (void)body;
    j->req = NULL;
    if (status >= 200 && status < 300) {
        after_put(j);
        return;
    }
    if (status == 404 && !j->put_retried) {
        /* The target folder does not exist yet (or the container is gone:
         * then mkdir fails too and says so). */
        j->put_retried = true;
        StrVec mk = {0};
        strvec_push(&mk, "mkdir");
        strvec_push(&mk, "-p");
        strvec_push(&mk, j->target);
        exec_run(j, &mk, NULL, EX_MKDIR);
        strvec_free(&mk);
        return;
    }
    _cleanup_free_ char *msg =
        xasprintf("cannot copy files to %s: %s", j->target, err ? err : "the engine gave no answer");
    files_done(j, false, msg);
}

static void put_archive(SyncJob *j)
{
    if (j->tar_len == 0) {
        after_put(j);
        return;
    }
    _cleanup_free_ char *t = engine_escape(j->target);
    _cleanup_free_ char *path = xasprintf("/containers/%s/archive?path=%s", j->container, t);
    j->req = engine_upload(j->e, "PUT", path, "application/x-tar", j->tar, j->tar_len, NULL, on_put, j);
}

/* An internal command ended (mkdir or rm) or the user's did. */
static void exec_finished(SyncJob *j, int code, const char *err)
{
    j->req = NULL;
    if (j->purpose == EX_USER) {
        j->xdone(j->ud, err ? -1 : code, err);
        job_free(j);
        return;
    }
    if (!err && code == 0) {
        if (j->purpose == EX_MKDIR)
            put_archive(j);
        else
            files_done(j, true, NULL);
        return;
    }
    const char *what = j->purpose == EX_MKDIR ? "cannot create" : "cannot remove deleted files in";
    _cleanup_free_ char *detail = err ? xstrdup(err)
                                      : (j->tail.len ? xasprintf("exit status %d: %s", code, j->tail.data)
                                                     : xasprintf("exit status %d", code));
    _cleanup_free_ char *msg = xasprintf("%s %s in the container: %s", what, j->target, detail);
    files_done(j, false, msg);
}

static void on_exec_inspect(void *ud, int status, json_t *body, const char *err)
{
    SyncJob *j = ud;
    j->req = NULL;
    if (status != 200 || !body) {
        exec_finished(j, -1, err ? err : "cannot read the exit code");
        return;
    }
    json_t *code = json_object_get(body, "ExitCode");
    exec_finished(j, json_is_integer(code) ? (int)json_integer_value(code) : -1, NULL);
}

static void flush_line(SyncJob *j)
{
    if (j->on_line && j->purpose == EX_USER)
        j->on_line(j->ud, j->line.data ? j->line.data : "");
    if (j->purpose != EX_USER) {
        strbuf_reset(&j->tail);
        strbuf_puts(&j->tail, j->line.data ? j->line.data : "");
    }
    strbuf_reset(&j->line);
}

static void on_exec_part(void *ud, int stream, const char *p, size_t n)
{
    SyncJob *j = ud;
    (void)stream;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\n')
            flush_line(j);
        else if (strbuf_putc(&j->line, p[i]) < 0)
            flush_line(j); /* an overlong line is cut into pieces */
    }
}

static void on_exec_chunk(void *ud, const char *data, size_t len)
{
    SyncJob *j = ud;
    logdemux_feed(&j->demux, data, len, on_exec_part, j);
}

static void on_exec_started(void *ud, int status, json_t *body, const char *err)
{
    SyncJob *j = ud;
    (void)body;
    j->req = NULL;
    if (j->line.len)
        flush_line(j);
    if (err || status < 200 || status >= 300) {
        exec_finished(j, -1, err ? err : "the command did not start");
        return;
    }
    _cleanup_free_ char *path = xasprintf("/exec/%s/json", j->exec_id);
    j->req = engine_request(j->e, "GET", path, NULL, on_exec_inspect, j);
}

static void on_exec_created(void *ud, int status, json_t *body, const char *err)
{
    SyncJob *j = ud;
    j->req = NULL;
    const char *id = json_string_value(json_object_get(body, "Id"));
    if (status != 201 || !id) {
        exec_finished(j, -1, err ? err : "the engine gave no exec id");
        return;
    }
    free(j->exec_id);
    j->exec_id = xstrdup(id);
    memset(&j->demux, 0, sizeof(j->demux));
    json_t *b = json_pack("{s:b, s:b}", "Detach", 0, "Tty", 0);
    _cleanup_free_ char *path = xasprintf("/exec/%s/start", id);
    j->req = engine_stream(j->e, "POST", path, b, on_exec_chunk, on_exec_started, j);
    json_decref(b);
}

static void exec_run(SyncJob *j, const StrVec *argv, const char *workdir, ExecPurpose purpose)
{
    j->purpose = purpose;
    strbuf_reset(&j->line);
    strbuf_reset(&j->tail);
    json_t *cmd = json_array();
    for (size_t i = 0; i < argv->n; i++)
        json_array_append_new(cmd, json_string(argv->v[i]));
    json_t *b = json_pack("{s:o, s:b, s:b}", "Cmd", cmd, "AttachStdout", 1, "AttachStderr", 1);
    if (workdir)
        json_object_set_new(b, "WorkingDir", json_string(workdir));
    _cleanup_free_ char *path = xasprintf("/containers/%s/exec", j->container);
    j->req = engine_request(j->e, "POST", path, b, on_exec_created, j);
    json_decref(b);
}

static SyncJob *job_new(Engine *e, const char *container)
{
    SyncJob *j = xcalloc(1, sizeof(*j));
    j->e = e;
    j->container = engine_escape(container);
    strbuf_init(&j->line, 64 * 1024);
    strbuf_init(&j->tail, 64 * 1024);
    return j;
}

SyncJob *sync_files(Engine *e, const char *container, const char *src_root, const char *target,
                    const StrVec *files, const StrVec *deleted, SyncDoneFn done, void *ud, char **ret_err)
{
    StrBuf tar;
    strbuf_init(&tar, 0);
    if (files && files->n) {
        int r = sync_tar(src_root, files, &tar, NULL, ret_err);
        if (r < 0) {
            strbuf_free(&tar);
            return NULL;
        }
        if (r == 0)
            strbuf_reset(&tar); /* nothing left to copy */
    }
    SyncJob *j = job_new(e, container);
    j->target = xstrdup(target);
    j->tar_len = tar.len;
    j->tar = strbuf_steal(&tar);
    strbuf_free(&tar);
    j->done = done;
    j->ud = ud;
    strvec_push(&j->rm_argv, "rm");
    strvec_push(&j->rm_argv, "-rf");
    strvec_push(&j->rm_argv, "--");
    for (size_t i = 0; deleted && i < deleted->n; i++) {
        const char *rel = deleted->v[i];
        while (*rel == '/')
            rel++;
        if (*rel)
            strvec_push_take(&j->rm_argv, path_join(target, rel));
    }
    put_archive(j);
    return j;
}

SyncJob *sync_exec(Engine *e, const char *container, const StrVec *argv, const char *workdir,
                   void (*on_line)(void *ud, const char *line), SyncExecDoneFn done, void *ud)
{
    SyncJob *j = job_new(e, container);
    j->on_line = on_line;
    j->xdone = done;
    j->ud = ud;
    exec_run(j, argv, workdir, EX_USER);
    return j;
}
