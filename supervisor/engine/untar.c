/* untar: a streaming tar reader that writes the entries to disk (see
 * untar.h). Bytes arrive in pieces of any size: a 512-byte header is
 * gathered first, then the entry's data goes straight to its file, then
 * the padding to the next block is skipped. PAX and GNU long-name records
 * are held (at most 1 MiB) and apply to the entry after them. */
#include "engine/untar.h"

#include "lib/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BLOCK 512
#define META_MAX (1024 * 1024)

typedef enum Phase {
    PH_HEADER,  /* gathering a header block */
    PH_DATA,    /* an entry's data */
    PH_META,    /* a PAX or GNU record's data */
    PH_SKIP,    /* data not kept (a device), or padding */
    PH_END,     /* two zero blocks: the rest is ignored */
} Phase;

typedef struct DirTime {
    char *path;
    mode_t mode;
    long long mtime;
} DirTime;

struct Untar {
    UntarFirstFn first;
    void *ud;
    bool first_done;
    char *dir, *from, *to;
    Phase phase;
    char hdr[BLOCK];
    size_t hdr_len;
    int zero_blocks;
    unsigned long long left; /* data bytes left in this entry */
    size_t pad;              /* padding after it */
    char meta_type;
    StrBuf meta;
    char *pax_path, *pax_link; /* for the next entry */
    int fd;                    /* the file being written */
    char *cur_path;
    long long cur_mtime;
    DirTime *dirs;
    size_t n_dirs;
    size_t count;
};

Untar *untar_new(UntarFirstFn first, void *ud)
{
    Untar *u = xcalloc(1, sizeof *u);
    u->first = first;
    u->ud = ud;
    u->fd = -1;
    strbuf_init(&u->meta, META_MAX);
    return u;
}

void untar_target(Untar *u, const char *dir, const char *from, const char *to)
{
    free(u->dir);
    free(u->from);
    free(u->to);
    u->dir = xstrdup(dir);
    u->from = from ? xstrdup(from) : NULL;
    u->to = to ? xstrdup(to) : NULL;
}

size_t untar_count(const Untar *u)
{
    return u->count;
}

void untar_free(Untar *u)
{
    if (!u)
        return;
    if (u->fd >= 0)
        close(u->fd);
    for (size_t i = 0; i < u->n_dirs; i++)
        free(u->dirs[i].path);
    free(u->dirs);
    free(u->dir);
    free(u->from);
    free(u->to);
    free(u->pax_path);
    free(u->pax_link);
    free(u->cur_path);
    strbuf_free(&u->meta);
    free(u);
}

/* ---- header fields ---- */

static unsigned long long field_num(const char *f, size_t n)
{
    const unsigned char *p = (const unsigned char *)f;
    unsigned long long v = 0;
    if (p[0] & 0x80) { /* base-256, for values octal cannot hold */
        for (size_t i = 1; i < n; i++)
            v = (v << 8) | p[i];
        return v;
    }
    size_t i = 0;
    while (i < n && (p[i] == ' ' || p[i] == '\0'))
        i++;
    for (; i < n && p[i] >= '0' && p[i] <= '7'; i++)
        v = v * 8 + (p[i] - '0');
    return v;
}

static char *field_str(const char *f, size_t n)
{
    return xstrndup(f, strnlen(f, n));
}

/* "27 path=some/long/name\n" records: path and linkpath are kept. */
static void pax_parse(Untar *u)
{
    const char *p = u->meta.data ? u->meta.data : "", *end = p + u->meta.len;
    while (p < end) {
        char *sp;
        unsigned long len = strtoul(p, &sp, 10);
        if (len == 0 || *sp != ' ' || p + len > end)
            break;
        const char *kv = sp + 1, *rec_end = p + len - 1; /* before the '\n' */
        const char *eq = memchr(kv, '=', (size_t)(rec_end - kv));
        if (eq) {
            size_t klen = (size_t)(eq - kv);
            char *val = xstrndup(eq + 1, (size_t)(rec_end - eq - 1));
            if (klen == 4 && memcmp(kv, "path", 4) == 0) {
                free(u->pax_path);
                u->pax_path = val;
            } else if (klen == 8 && memcmp(kv, "linkpath", 8) == 0) {
                free(u->pax_link);
                u->pax_link = val;
            } else {
                free(val);
            }
        }
        p += len;
    }
}

/* ---- paths ---- */

/* The path on disk for an archive name: its first component renamed as
 * asked, under the target folder. NULL when it would leave the folder. */
static char *map_path(Untar *u, const char *name)
{
    size_t first = strcspn(name, "/");
    StrBuf rel;
    strbuf_init(&rel, 0);
    if (u->from && strlen(u->from) == first && strncmp(name, u->from, first) == 0) {
        strbuf_puts(&rel, u->to);
        strbuf_puts(&rel, name + first);
    } else {
        while (str_startswith(name, "./") && name[2])
            name += 2;
        strbuf_puts(&rel, name);
    }
    char *r = strbuf_steal(&rel);
    /* nothing may climb out: no absolute names, no ".." */
    bool bad = r[0] == '/';
    for (const char *c = r; *c && !bad;) {
        size_t n = strcspn(c, "/");
        bad = n == 2 && c[0] == '.' && c[1] == '.';
        c += n + (c[n] == '/');
    }
    char *full = bad ? NULL : path_join(u->dir, r);
    free(r);
    if (!full)
        return NULL;
    char *norm = path_normalize(full);
    free(full);
    size_t n = strlen(norm);
    while (n > 1 && norm[n - 1] == '/')
        norm[--n] = '\0';
    return norm;
}

static int mkdir_p(const char *path, mode_t mode)
{
    if (mkdir(path, mode) == 0 || errno == EEXIST)
        return 0;
    if (errno != ENOENT)
        return -errno;
    _cleanup_free_ char *parent = path_dirname(path);
    if (streq(parent, path))
        return -ENOENT;
    int r = mkdir_p(parent, 0755);
    if (r < 0)
        return r;
    return mkdir(path, mode) == 0 || errno == EEXIST ? 0 : -errno;
}

/* What is in the way of a new file or link (not a folder) goes. */
static void clear_way(const char *path)
{
    struct stat st;
    if (lstat(path, &st) == 0 && !S_ISDIR(st.st_mode))
        (void)unlink(path);
}

static void set_mtime(const char *path, long long mtime, bool nofollow)
{
    struct timespec ts[2] = {{.tv_nsec = UTIME_OMIT}, {.tv_sec = (time_t)mtime}};
    (void)utimensat(AT_FDCWD, path, ts, nofollow ? AT_SYMLINK_NOFOLLOW : 0);
}

static int fail(char **ret_err, int r, const char *what, const char *path)
{
    *ret_err = xasprintf("%s %s: %s", what, path, strerror(-r));
    return r;
}

/* ---- entries ---- */

static int entry_begin(Untar *u, char **ret_err)
{
    const char *h = u->hdr;
    char type = h[156];
    unsigned long long size = field_num(h + 124, 12);
    u->left = size;
    u->pad = (size_t)((BLOCK - size % BLOCK) % BLOCK);
    if (type == 'x' || type == 'g' || type == 'L' || type == 'K') {
        if (size > META_MAX) {
            *ret_err = xstrdup("an extended header in the archive is too large");
            return -E2BIG;
        }
        u->meta_type = type;
        strbuf_reset(&u->meta);
        u->phase = PH_META;
        return 0;
    }
    char *name = u->pax_path ? TAKE_PTR(u->pax_path) : NULL;
    if (!name) {
        char *base = field_str(h, 100);
        char *prefix = memcmp(h + 257, "ustar", 5) == 0 ? field_str(h + 345, 155) : xstrdup("");
        name = *prefix ? xasprintf("%s/%s", prefix, base) : xstrdup(base);
        free(base);
        free(prefix);
    }
    char *linkname = u->pax_link ? TAKE_PTR(u->pax_link) : field_str(h + 157, 100);
    bool is_dir = type == '5' || (type == '0' && str_endswith(name, "/"));
    char *path = NULL;
    int r = 0;
    if (!u->first_done) {
        u->first_done = true;
        char *err = NULL;
        r = u->first ? u->first(u->ud, u, name, is_dir, &err) : 0;
        if (r < 0) {
            *ret_err = err;
            goto out;
        }
        if (!u->dir)
            untar_target(u, ".", NULL, NULL);
    }
    path = map_path(u, name);
    if (!path) {
        *ret_err = xasprintf("the archive names a path outside the destination: %s", name);
        r = -EPERM;
        goto out;
    }
    mode_t mode = (mode_t)field_num(h + 100, 8) & 07777;
    long long mtime = (long long)field_num(h + 136, 12);
    u->phase = size ? PH_SKIP : PH_HEADER;
    switch (type) {
    case '0':
    case '\0':
    case '7':
        if (is_dir)
            goto dir;
        clear_way(path);
        u->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode ? mode : 0644);
        if (u->fd < 0) {
            r = fail(ret_err, -errno, "cannot write", path);
            goto out;
        }
        (void)fchmod(u->fd, mode); /* not narrowed by the umask */
        free(u->cur_path);
        u->cur_path = xstrdup(path);
        u->cur_mtime = mtime;
        u->count++;
        if (size)
            u->phase = PH_DATA;
        else {
            close(u->fd);
            u->fd = -1;
            set_mtime(path, mtime, false);
        }
        break;
    case '5':
    dir:
        r = mkdir_p(path, 0700);
        if (r < 0) {
            fail(ret_err, r, "cannot make the folder", path);
            goto out;
        }
        /* its own mode and time once its contents are in */
        u->dirs = xrealloc(u->dirs, (u->n_dirs + 1) * sizeof *u->dirs);
        u->dirs[u->n_dirs++] = (DirTime){xstrdup(path), mode ? mode : 0755, mtime};
        u->count++;
        break;
    case '2':
        clear_way(path);
        if (symlink(linkname, path) < 0) {
            r = fail(ret_err, -errno, "cannot make the link", path);
            goto out;
        }
        set_mtime(path, mtime, true);
        u->count++;
        break;
    case '1': {
        _cleanup_free_ char *target = map_path(u, linkname);
        clear_way(path);
        if (!target || link(target, path) < 0) {
            r = fail(ret_err, target ? -errno : -EPERM, "cannot make the hard link", path);
            goto out;
        }
        u->count++;
        break;
    }
    default:
        break; /* devices, fifos: not copied */
    }
out:
    free(path);
    free(name);
    free(linkname);
    return r;
}

static int entry_data_done(Untar *u, char **ret_err)
{
    if (u->fd >= 0) {
        int r = close(u->fd) < 0 ? -errno : 0;
        u->fd = -1;
        if (r < 0)
            return fail(ret_err, r, "cannot write", u->cur_path);
        set_mtime(u->cur_path, u->cur_mtime, false);
    }
    return 0;
}

int untar_feed(Untar *u, const char *data, size_t len, char **ret_err)
{
    while (len > 0) {
        switch (u->phase) {
        case PH_END:
            return 0;
        case PH_HEADER: {
            size_t take = BLOCK - u->hdr_len < len ? BLOCK - u->hdr_len : len;
            memcpy(u->hdr + u->hdr_len, data, take);
            u->hdr_len += take;
            data += take;
            len -= take;
            if (u->hdr_len < BLOCK)
                break;
            u->hdr_len = 0;
            bool zero = true;
            for (size_t i = 0; i < BLOCK && zero; i++)
                zero = u->hdr[i] == 0;
            if (zero) {
                if (++u->zero_blocks == 2)
                    u->phase = PH_END;
                break;
            }
            u->zero_blocks = 0;
            int r = entry_begin(u, ret_err);
            if (r < 0)
                return r;
            break;
        }
        case PH_DATA:
        case PH_META:
        case PH_SKIP: {
            unsigned long long want = u->left ? u->left : u->pad;
            size_t take = want < len ? (size_t)want : len;
            if (u->left) {
                if (u->phase == PH_DATA) {
                    for (size_t off = 0; off < take;) {
                        ssize_t w = write(u->fd, data + off, take - off);
                        if (w < 0 && errno == EINTR)
                            continue;
                        if (w < 0)
                            return fail(ret_err, -errno, "cannot write", u->cur_path);
                        off += (size_t)w;
                    }
                } else if (u->phase == PH_META) {
                    strbuf_append(&u->meta, data, take);
                }
                u->left -= take;
                if (u->left == 0) {
                    if (u->phase == PH_META) {
                        if (u->meta_type == 'x')
                            pax_parse(u);
                        else if (u->meta_type == 'L') {
                            free(u->pax_path);
                            u->pax_path = xstrndup(u->meta.data ? u->meta.data : "", strnlen(u->meta.data ? u->meta.data : "", u->meta.len));
                        } else if (u->meta_type == 'K') {
                            free(u->pax_link);
                            u->pax_link = xstrndup(u->meta.data ? u->meta.data : "", strnlen(u->meta.data ? u->meta.data : "", u->meta.len));
                        }
                    }
                    int r = entry_data_done(u, ret_err);
                    if (r < 0)
                        return r;
                    u->phase = u->pad ? PH_SKIP : PH_HEADER;
                }
            } else {
                u->pad -= take;
                if (u->pad == 0)
                    u->phase = PH_HEADER;
            }
            data += take;
            len -= take;
            break;
        }
        }
    }
    return 0;
}

int untar_finish(Untar *u, char **ret_err)
{
    /* innermost first, so a read-only folder does not block its contents */
    for (size_t i = u->n_dirs; i-- > 0;) {
        (void)chmod(u->dirs[i].path, u->dirs[i].mode);
        set_mtime(u->dirs[i].path, u->dirs[i].mtime, false);
    }
    if (u->phase == PH_DATA || u->phase == PH_META || (u->phase == PH_SKIP && u->left)) {
        *ret_err = xstrdup("the archive ended in the middle of an entry");
        return -EIO;
    }
    if (!u->first_done) {
        *ret_err = xstrdup("the archive is empty");
        return -ENOENT;
    }
    return 0;
}
