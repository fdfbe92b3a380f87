/* imgbuild: image builds through the engine's POST /build. The build
 * context folder becomes a tar in memory (the engine wants the whole
 * context as the request body), filtered by .dockerignore with the docker
 * CLI's rules so that a build here sends what `docker build` would. The
 * engine answers with JSON lines: "stream" text, which is cut into lines
 * for the log, and at most one "error", which ends the build. */
#include "engine/imgbuild.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TAR_BLOCK 512
#define IGNORE_FILE_MAX ((size_t)1 << 20) /* a .dockerignore */
#define LINE_MAX_BYTES ((size_t)64 << 10) /* a longer output line is passed on in pieces */
#define OUTSIDE_DOCKERFILE ".dockerfile.tend"

/* ---- .dockerignore ---- */

/* How the CLI's pattern matcher compares a pattern with a path. Patterns
 * without wildcards, and some with `**` only at one end, are compared as
 * plain strings rather than as globs, and that changes what they match:
 * "**.md" takes every path ending in ".md", not only those named ".md". */
typedef enum MatchType {
    MATCH_EXACT,
    MATCH_PREFIX, /* "**" last and no other wildcard: what starts with the rest */
    MATCH_SUFFIX, /* "**" then no other wildcard: what ends with the rest */
    MATCH_GLOB,
} MatchType;

typedef struct Pattern {
    char *pat; /* cleaned, without the '!' */
    bool exception;
    MatchType type;
} Pattern;

typedef struct Ignore {
    Pattern *v;
    size_t n, cap;
    bool has_exceptions;
} Ignore;

static void ignore_free(Ignore *ig)
{
    for (size_t i = 0; i < ig->n; i++)
        free(ig->v[i].pat);
    free(ig->v);
    memset(ig, 0, sizeof *ig);
}

/* The match type, found as the CLI's pattern compiler finds it. */
static MatchType match_type(const char *p)
{
    MatchType t = MATCH_EXACT;
    for (size_t i = 0; p[i]; i++) {
        if (p[i] == '\\') {
            if (p[i + 1]) {
                i++;
                t = MATCH_GLOB;
            }
        } else if (p[i] == '*' && p[i + 1] == '*') {
            bool first = i == 0;
            i++;
            if (p[i + 1] == '/')
                i++;
            if (!p[i + 1])
                t = t == MATCH_EXACT ? MATCH_PREFIX : MATCH_GLOB;
            else
                t = MATCH_GLOB;
            if (first)
                t = MATCH_SUFFIX;
        } else if (p[i] == '*' || p[i] == '?' || p[i] == '[' || p[i] == ']') {
            t = MATCH_GLOB;
        }
    }
    return t;
}

static void ignore_add(Ignore *ig, const char *pat, bool exception)
{
    if (ig->n == ig->cap) {
        ig->cap = ig->cap ? ig->cap * 2 : 16;
        ig->v = xrealloc(ig->v, ig->cap * sizeof *ig->v);
    }
    ig->v[ig->n++] = (Pattern){xstrdup(pat), exception, match_type(pat)};
    if (exception)
        ig->has_exceptions = true;
}

/* The length of the UTF-8 sequence at s (1 for a stray byte), so that '?'
 * takes one character as the CLI's regexp does. */
static size_t utf8_len(const char *s)
{
    unsigned char c = (unsigned char)s[0];
    size_t n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
    for (size_t i = 1; i < n; i++)
        if (((unsigned char)s[i] & 0xc0) != 0x80)
            return 1;
    return n;
}

/* The CLI's pattern as a whole-path match: `*` is [^/]*, `?` one
 * character but '/', `**` (with a '/' after it eaten) is (.*\/)?, or .* at
 * the end; `\` escapes; anything else is itself. */
static bool glob_match(const char *p, const char *s)
{
    for (;;) {
        switch (*p) {
        case '\0':
            return *s == '\0';
        case '*':
            if (p[1] == '*') {
                const char *q = p + 2;
                if (*q == '/')
                    q++;
                if (*q == '\0')
                    return true;
                if (glob_match(q, s))
                    return true;
                for (const char *t = s; *t; t++)
                    if (*t == '/' && glob_match(q, t + 1))
                        return true;
                return false;
            }
            for (const char *t = s;; t++) {
                if (glob_match(p + 1, t))
                    return true;
                if (*t == '\0' || *t == '/')
                    return false;
            }
        case '?':
            if (*s == '\0' || *s == '/')
                return false;
            s += utf8_len(s);
            p++;
            break;
        case '[': {
            size_t n = glob_class_len(p, false);
            if (n == 0 || *s == '\0' || !glob_class_has(p, n, (unsigned char)*s, false))
                return false;
            p += n;
            s++;
            break;
        }
        default:
            if (*p == '\\' && p[1]) /* the next character as itself */
                p++;
            if (*p != *s)
                return false;
            p++;
            s++;
            break;
        }
    }
}

/* What the CLI refuses: an unclosed class, a trailing backslash. */
static bool pattern_valid(const char *p)
{
    for (; *p; p++) {
        if (*p == '\\') {
            if (!p[1])
                return false;
            p++;
        } else if (*p == '[') {
            size_t n = glob_class_len(p, false);
            if (n == 0)
                return false;
            p += n - 1;
        }
    }
    return true;
}

static bool pattern_match_one(const Pattern *pt, const char *path)
{
    switch (pt->type) {
    case MATCH_EXACT:
        return streq(path, pt->pat);
    case MATCH_PREFIX:
        return strncmp(path, pt->pat, strlen(pt->pat) - 2) == 0;
    case MATCH_SUFFIX: {
        const char *suffix = pt->pat + 2;
        /* "**\/foo" also matches "foo" itself */
        return str_endswith(path, suffix) || (suffix[0] == '/' && streq(path, suffix + 1));
    }
    case MATCH_GLOB:
        return glob_match(pt->pat, path);
    }
    return false;
}

/* A pattern matches a path when it matches the path or one of the
 * folders above it. */
static bool pattern_matches(const Pattern *pt, const char *rel)
{
    if (pattern_match_one(pt, rel))
        return true;
    _cleanup_free_ char *up = xstrdup(rel);
    for (char *slash = strchr(up, '/'); slash; slash = strchr(slash + 1, '/')) {
        *slash = '\0';
        bool m = pattern_match_one(pt, up);
        *slash = '/';
        if (m)
            return true;
    }
    return false;
}

/* Excluded when the last pattern that matches is not an exception. */
static bool ignore_excludes(const Ignore *ig, const char *rel)
{
    bool excluded = false;
    for (size_t i = 0; i < ig->n; i++) {
        /* Only a pattern that could change the answer is tried. */
        if (ig->v[i].exception != excluded)
            continue;
        if (pattern_matches(&ig->v[i], rel))
            excluded = !ig->v[i].exception;
    }
    return excluded;
}

/* An excluded folder is still walked when an exception names something
 * inside it ("docs" then "!docs/keep.md"); the folder itself is not sent. */
static bool ignore_reopens(const Ignore *ig, const char *dir)
{
    size_t n = strlen(dir);
    for (size_t i = 0; i < ig->n; i++) {
        const char *p = ig->v[i].pat;
        if (ig->v[i].exception && strncmp(p, dir, n) == 0 && (p[n] == '/' || p[n] == '\0'))
            return true;
    }
    return false;
}

/* One line as the CLI cleans it: comments only at the very start, blanks
 * trimmed, then a lexical clean and no leading '/'. */
static int ignore_parse_line(Ignore *ig, char *line, const char *where, char **ret_err)
{
    if (line[0] == '#')
        return 0;
    char *s = line;
    while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\v' || *s == '\f')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' ||
                     s[n - 1] == '\v' || s[n - 1] == '\f'))
        s[--n] = '\0';
    if (!*s)
        return 0;
    bool exception = s[0] == '!';
    if (exception) {
        s++;
        while (*s == ' ' || *s == '\t')
            s++;
        if (!*s) {
            *ret_err = xasprintf("invalid pattern \"!\" in %s", where);
            return -EINVAL;
        }
    }
    _cleanup_free_ char *clean = path_normalize(s);
    const char *p = clean;
    if (p[0] == '/' && p[1])
        p++;
    if (!pattern_valid(p)) {
        *ret_err = xasprintf("invalid pattern \"%s\" in %s", s, where);
        return -EINVAL;
    }
    ignore_add(ig, p, exception);
    return 0;
}

/* Reads CONTEXT/.dockerignore when there is one. */
static int ignore_load(Ignore *ig, const char *context_dir, char **ret_err)
{
    _cleanup_free_ char *path = path_join(context_dir, ".dockerignore");
    char *data = NULL;
    size_t len = 0;
    int r = read_file(path, IGNORE_FILE_MAX, &data, &len);
    if (r == -ENOENT)
        return 0;
    if (r < 0) {
        *ret_err = r == -E2BIG ? xasprintf("cannot read %s: larger than %zu KiB", path,
                                           IGNORE_FILE_MAX >> 10)
                               : xasprintf("cannot read %s: %s", path, strerror(-r));
        return r;
    }
    char *line = data;
    /* A byte-order mark is not part of the first pattern. */
    if (len >= 3 && memcmp(line, "\xef\xbb\xbf", 3) == 0)
        line += 3;
    while (line && *line) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        r = ignore_parse_line(ig, line, path, ret_err);
        if (r < 0)
            break;
        line = nl ? nl + 1 : NULL;
    }
    free(data);
    return r < 0 ? r : 0;
}

/* ---- tar ---- */

/* An octal field: digits, then a NUL. Values too large are clamped. */
static void tar_octal(char *field, size_t size, uint64_t v)
{
    uint64_t max = ((uint64_t)1 << (3 * (size - 1))) - 1;
    if (v > max)
        v = max;
    snprintf(field, size, "%0*llo", (int)(size - 1), (unsigned long long)v);
}

/* One PAX record, "LEN key=value\n", where LEN counts itself. */
static void pax_record(StrBuf *b, const char *key, const char *value)
{
    size_t n = strlen(key) + strlen(value) + 3; /* ' ', '=', '\n' */
    size_t total = n + 1;
    for (;;) {
        char digits[32];
        size_t want = n + (size_t)snprintf(digits, sizeof digits, "%zu", total);
        if (want == total)
            break;
        total = want;
    }
    strbuf_printf(b, "%zu %s=%s\n", total, key, value);
}

static int tar_pad(StrBuf *out, size_t len)
{
    static const char zeros[TAR_BLOCK];
    size_t rem = len % TAR_BLOCK;
    return rem ? strbuf_append(out, zeros, TAR_BLOCK - rem) : 0;
}

static int tar_block(StrBuf *out, const char *name, char type, unsigned mode, uint64_t size,
                     int64_t mtime, const char *link)
{
    char h[TAR_BLOCK];
    memset(h, 0, sizeof h);
    memcpy(h, name, strnlen(name, 100));
    tar_octal(h + 100, 8, mode & 07777);
    tar_octal(h + 108, 8, 0);
    tar_octal(h + 116, 8, 0);
    tar_octal(h + 124, 12, size);
    tar_octal(h + 136, 12, mtime < 0 ? 0 : (uint64_t)mtime);
    h[156] = type;
    if (link)
        memcpy(h + 157, link, strnlen(link, 100));
    memcpy(h + 257, "ustar", 6);
    memcpy(h + 263, "00", 2);
    memset(h + 148, ' ', 8);
    unsigned sum = 0;
    for (size_t i = 0; i < sizeof h; i++)
        sum += (unsigned char)h[i];
    snprintf(h + 148, 8, "%06o", sum);
    h[155] = ' ';
    return strbuf_append(out, h, sizeof h);
}

/* A header, preceded by a PAX header when the name or the link target does
 * not fit in ustar's 100 bytes. */
static int tar_header(StrBuf *out, const char *name, char type, unsigned mode, uint64_t size,
                      int64_t mtime, const char *link)
{
    if (strlen(name) > 100 || (link && strlen(link) > 100)) {
        StrBuf pax;
        strbuf_init(&pax, (size_t)1 << 20);
        if (strlen(name) > 100)
            pax_record(&pax, "path", name);
        if (link && strlen(link) > 100)
            pax_record(&pax, "linkpath", link);
        int r = tar_block(out, "././@PaxHeader", 'x', 0644, pax.len, mtime, NULL);
        if (r >= 0)
            r = strbuf_append(out, pax.data, pax.len);
        if (r >= 0)
            r = tar_pad(out, pax.len);
        strbuf_free(&pax);
        if (r < 0)
            return r;
    }
    return tar_block(out, name, type, mode, size, mtime, link);
}

/* A regular file's header and contents, read from fd. A file that shrank
 * while it was read is padded with zeros so the archive stays whole. */
static int tar_file_fd(StrBuf *out, int fd, const char *name, const struct stat *st)
{
    if (out->len + TAR_BLOCK + (uint64_t)st->st_size > out->max)
        return -E2BIG;
    int r = tar_header(out, name, '0', st->st_mode, (uint64_t)st->st_size, st->st_mtim.tv_sec,
                       NULL);
    if (r < 0)
        return r;
    char buf[65536];
    uint64_t left = (uint64_t)st->st_size;
    while (left > 0) {
        size_t want = left < sizeof buf ? (size_t)left : sizeof buf;
        ssize_t n = read(fd, buf, want);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0) {
            memset(buf, 0, want);
            n = (ssize_t)want;
        }
        r = strbuf_append(out, buf, (size_t)n);
        if (r < 0)
            return r;
        left -= (uint64_t)n;
    }
    return tar_pad(out, (size_t)st->st_size);
}

/* ---- walking the context ---- */

typedef struct Walk {
    const char *context;
    const Ignore *ig;
    StrBuf *out;
    char *err_path; /* the relative path that failed, for the message */
} Walk;

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int walk_dir(Walk *w, int dirfd, const char *prefix);

/* One entry of a folder: sent, skipped, or walked into. */
static int walk_entry(Walk *w, int dirfd, const char *name, const char *rel)
{
    struct stat st;
    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return -errno;
    bool dir = S_ISDIR(st.st_mode);
    bool send = !ignore_excludes(w->ig, rel);
    if (!send && !(dir && w->ig->has_exceptions && ignore_reopens(w->ig, rel)))
        return 0;

    if (S_ISREG(st.st_mode)) {
        int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
        if (fd < 0)
            return -errno;
        struct stat fst;
        int r = fstat(fd, &fst) < 0 ? -errno : tar_file_fd(w->out, fd, rel, &fst);
        close(fd);
        return r;
    }
    if (S_ISLNK(st.st_mode)) {
        char target[PATH_MAX + 1];
        ssize_t n = readlinkat(dirfd, name, target, sizeof target - 1);
        if (n < 0)
            return -errno;
        target[n] = '\0';
        return tar_header(w->out, rel, '2', 0777, 0, st.st_mtim.tv_sec, target);
    }
    if (dir) {
        int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
            return -errno;
        int r = 0;
        if (send) {
            _cleanup_free_ char *slashed = xasprintf("%s/", rel);
            r = tar_header(w->out, slashed, '5', st.st_mode, 0, st.st_mtim.tv_sec, NULL);
        }
        if (r >= 0)
            r = walk_dir(w, fd, rel);
        close(fd);
        return r;
    }
    return 0; /* sockets, fifos and devices have no place in an image build */
}

/* The entries of one folder in name order; dirfd stays owned by the caller.
 * The listing is read whole and closed first, so the walk holds one fd per
 * level. */
static int walk_dir(Walk *w, int dirfd, const char *prefix)
{
    int dfd = dup(dirfd);
    if (dfd < 0)
        return -errno;
    DIR *d = fdopendir(dfd);
    if (!d) {
        int r = -errno;
        close(dfd);
        return r;
    }
    StrVec names = {0};
    int r = 0;
    for (;;) {
        errno = 0;
        struct dirent *de = readdir(d);
        if (!de) {
            r = errno ? -errno : 0;
            break;
        }
        if (streq(de->d_name, ".") || streq(de->d_name, ".."))
            continue;
        strvec_push(&names, de->d_name);
    }
    closedir(d);
    if (r < 0) {
        w->err_path = xstrdup(prefix ? prefix : "");
        strvec_free(&names);
        return r;
    }
    if (names.n > 1)
        qsort(names.v, names.n, sizeof *names.v, cmp_str);
    for (size_t i = 0; i < names.n && r >= 0; i++) {
        char *rel = prefix ? xasprintf("%s/%s", prefix, names.v[i]) : xstrdup(names.v[i]);
        r = walk_entry(w, dirfd, names.v[i], rel);
        if (r < 0 && !w->err_path)
            w->err_path = TAKE_PTR(rel);
        free(rel);
    }
    strvec_free(&names);
    return r;
}

/* The Dockerfile's place: relative to the context, or NULL when it lies
 * outside it (then *ret_abs is its absolute path). */
static char *dockerfile_rel(const char *context_dir, const char *dockerfile, char **ret_abs)
{
    _cleanup_free_ char *ctx = path_normalize(context_dir);
    _cleanup_free_ char *abs = path_absolute(ctx, dockerfile);
    size_t n = strlen(ctx);
    if (streq(ctx, "/"))
        n = 0;
    if (strncmp(abs, ctx, n) == 0 && abs[n] == '/' && abs[n + 1])
        return xstrdup(abs + n + 1);
    *ret_abs = TAKE_PTR(abs);
    return NULL;
}

int build_context_tar(const char *context_dir, const char *dockerfile, StrBuf *out,
                      char **ret_dockerfile, char **ret_err)
{
    if (!dockerfile || !*dockerfile)
        dockerfile = "Dockerfile";
    if (out->max == 0)
        out->max = (size_t)64 << 20; /* as strbuf_append would */
    size_t start = out->len;
    char *err = NULL;
    Ignore ig = {0};
    Walk w = {.context = context_dir, .ig = &ig, .out = out};
    _cleanup_free_ char *outside = NULL;
    _cleanup_free_ char *rel_df = dockerfile_rel(context_dir, dockerfile, &outside);

    int r = 0;
    int fd = open(context_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        r = -errno;
        err = xasprintf("cannot read %s: %s", context_dir, strerror(errno));
        goto done;
    }
    r = ignore_load(&ig, context_dir, &err);
    if (r < 0)
        goto done;
    /* The CLI always sends these two, whatever the patterns say. */
    if (ignore_excludes(&ig, ".dockerignore"))
        ignore_add(&ig, ".dockerignore", true);
    if (rel_df && ignore_excludes(&ig, rel_df))
        ignore_add(&ig, rel_df, true);

    r = walk_dir(&w, fd, NULL);
    if (r >= 0 && outside) {
        int dfd = open(outside, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        struct stat st;
        if (dfd < 0 || fstat(dfd, &st) < 0) {
            r = -errno;
        } else if (!S_ISREG(st.st_mode)) {
            r = -EISDIR;
        } else {
            r = tar_file_fd(out, dfd, OUTSIDE_DOCKERFILE, &st);
        }
        if (dfd >= 0)
            close(dfd);
        if (r < 0 && r != -E2BIG) {
            err = xasprintf("cannot read %s: %s", outside, strerror(-r));
            goto done;
        }
    }
    if (r >= 0) {
        static const char end[2 * TAR_BLOCK];
        r = strbuf_append(out, end, sizeof end);
    }
    if (r == -E2BIG) {
        _cleanup_free_ char *ign = path_join(context_dir, ".dockerignore");
        _cleanup_free_ char *max = out->max % ((size_t)1 << 20) == 0
                                       ? xasprintf("%zu MiB", out->max >> 20)
                                       : xasprintf("%zu bytes", out->max);
        err = xasprintf("build context %s is larger than %s (list what it does not need in %s)",
                        context_dir, max, ign);
    } else if (r < 0) {
        _cleanup_free_ char *p =
            w.err_path && *w.err_path ? path_join(context_dir, w.err_path) : xstrdup(context_dir);
        err = xasprintf("cannot read %s: %s", p, strerror(-r));
    }

done:
    free(w.err_path);
    if (fd >= 0)
        close(fd);
    ignore_free(&ig);
    if (r < 0) {
        out->len = start;
        if (out->data)
            out->data[start] = '\0';
        if (ret_err)
            *ret_err = err;
        else
            free(err);
        return r;
    }
    if (ret_dockerfile)
        *ret_dockerfile = xstrdup(rel_df ? rel_df : OUTSIDE_DOCKERFILE);
    return 0;
}

bool build_context_is_remote(const char *context)
{
    return strstr(context, "://") || str_startswith(context, "git@") ||
           str_startswith(context, "github.com/");
}

/* ---- the build ---- */

struct ImageBuild {
    EngineReq *req;
    JsonLines lines;
    StrBuf partial; /* "stream" text after its last newline */
    char *error;    /* the builder's first error */
    void (*on_line)(void *ud, const char *line);
    void (*done)(void *ud, bool ok, const char *err);
    void *ud;
    int busy;       /* inside on_chunk: freeing waits for it */
    bool cancelled;
    bool finishing; /* inside done */
};

static void build_free(ImageBuild *b)
{
    jsonlines_free(&b->lines);
    strbuf_free(&b->partial);
    free(b->error);
    free(b);
}

static void emit(ImageBuild *b, const char *line, size_t n)
{
    if (n > 0 && line[n - 1] == '\r')
        n--;
    if (!b->on_line || b->cancelled)
        return;
    _cleanup_free_ char *s = xstrndup(line, n);
    b->on_line(b->ud, s);
}

/* Output text arrives in pieces that need not end at a newline (a RUN
 * command's output), so whole lines are cut from it here. */
static void add_text(ImageBuild *b, const char *text)
{
    while (*text && !b->cancelled) {
        const char *nl = strchr(text, '\n');
        size_t n = nl ? (size_t)(nl - text) : strlen(text);
        if (b->partial.len + n > LINE_MAX_BYTES) {
            size_t take = LINE_MAX_BYTES - b->partial.len;
            strbuf_append(&b->partial, text, take);
            emit(b, b->partial.data, b->partial.len);
            strbuf_reset(&b->partial);
            text += take;
            continue;
        }
        if (!nl) {
            strbuf_append(&b->partial, text, n);
            return;
        }
        if (b->partial.len) {
            strbuf_append(&b->partial, text, n);
            emit(b, b->partial.data, b->partial.len);
            strbuf_reset(&b->partial);
        } else {
            emit(b, text, n);
        }
        text = nl + 1;
    }
}

static void flush_text(ImageBuild *b)
{
    if (b->partial.len)
        emit(b, b->partial.data, b->partial.len);
    strbuf_reset(&b->partial);
}

static void on_object(void *ud, json_t *obj)
{
    ImageBuild *b = ud;
    if (b->cancelled)
        return;
    json_t *detail = json_object_get(obj, "errorDetail");
    const char *error = json_string_value(json_object_get(detail, "message"));
    if (!error)
        error = json_string_value(json_object_get(obj, "error"));
    if (error) {
        if (!b->error) {
            size_t n = strlen(error);
            while (n > 0 && (error[n - 1] == '\n' || error[n - 1] == '\r'))
                n--;
            b->error = xstrndup(error, n);
        }
        return;
    }
    const char *text = json_string_value(json_object_get(obj, "stream"));
    if (text) {
        add_text(b, text);
        return;
    }
    /* Pulling a FROM image: its status lines, not the progress bars. */
    const char *status = json_string_value(json_object_get(obj, "status"));
    if (status && !json_object_get(obj, "progress")) {
        flush_text(b);
        const char *id = json_string_value(json_object_get(obj, "id"));
        _cleanup_free_ char *line = id ? xasprintf("%s: %s", id, status) : xstrdup(status);
        emit(b, line, strlen(line));
    }
}

static void on_chunk(void *ud, const char *data, size_t len)
{
    ImageBuild *b = ud;
    b->busy++;
    jsonlines_feed(&b->lines, data, len, on_object, b);
    b->busy--;
    if (b->cancelled && b->busy == 0)
        build_free(b);
}

static void on_done(void *ud, int status, json_t *body, const char *err)
{
    ImageBuild *b = ud;
    (void)status;
    (void)body;
    b->req = NULL;
    b->busy++;
    flush_text(b);
    b->busy--;
    if (b->cancelled) { /* cancelled from the last line */
        build_free(b);
        return;
    }
    b->finishing = true;
    /* The builder's own error first: the transfer may end oddly after it. */
    if (b->error)
        b->done(b->ud, false, b->error);
    else if (err)
        b->done(b->ud, false, err);
    else
        b->done(b->ud, true, NULL);
    build_free(b);
}

/* A JSON object of an Env, for buildargs (NULL as null) and labels (NULL
 * as ""), escaped for the query; NULL when empty. */
static char *env_query(const Env *env, bool null_ok)
{
    if (!env || env->n == 0)
        return NULL;
    json_t *o = json_object();
    for (size_t i = 0; i < env->n; i++) {
        const char *v = env->vals[i];
        json_object_set_new(o, env->keys[i],
                            v ? json_string(v) : null_ok ? json_null() : json_string(""));
    }
    char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    if (!s)
        abort(); /* out of memory, as the x* wrappers do */
    char *q = engine_escape(s);
    free(s);
    return q;
}

ImageBuild *image_build(Engine *e, const char *context_dir, const char *dockerfile,
                        const char *target, const Env *args, const char *tag, const Env *labels,
                        void (*on_line)(void *ud, const char *line),
                        void (*done)(void *ud, bool ok, const char *err), void *ud,
                        char **ret_err)
{
    return image_build_with(0, e, context_dir, dockerfile, target, args, tag, labels, on_line, done, ud,
                            ret_err);
}

ImageBuild *image_build_with(unsigned flags, Engine *e, const char *context_dir, const char *dockerfile,
                             const char *target, const Env *args, const char *tag, const Env *labels,
                             void (*on_line)(void *ud, const char *line),
                             void (*done)(void *ud, bool ok, const char *err), void *ud,
                             char **ret_err)
{
    char *err = NULL;
    StrBuf tar;
    strbuf_init(&tar, IMAGE_BUILD_CONTEXT_MAX);
    _cleanup_free_ char *df = NULL;
    if (build_context_is_remote(context_dir))
        err = xasprintf("remote build contexts are not supported: %s", context_dir);
    else
        build_context_tar(context_dir, dockerfile, &tar, &df, &err);
    if (err) {
        strbuf_free(&tar);
        if (ret_err)
            *ret_err = err;
        else
            free(err);
        return NULL;
    }

    StrBuf path;
    strbuf_init(&path, 0);
    _cleanup_free_ char *qt = engine_escape(tag);
    _cleanup_free_ char *qd = engine_escape(df);
    strbuf_printf(&path, "/build?t=%s&dockerfile=%s&rm=1&forcerm=1", qt, qd);
    if (flags & IMAGE_BUILD_NO_CACHE)
        strbuf_puts(&path, "&nocache=1");
    if (flags & IMAGE_BUILD_PULL)
        strbuf_puts(&path, "&pull=1");
    if (target && *target) {
        _cleanup_free_ char *q = engine_escape(target);
        strbuf_printf(&path, "&target=%s", q);
    }
    _cleanup_free_ char *qa = env_query(args, true);
    if (qa)
        strbuf_printf(&path, "&buildargs=%s", qa);
    _cleanup_free_ char *ql = env_query(labels, false);
    if (ql)
        strbuf_printf(&path, "&labels=%s", ql);

    ImageBuild *b = xcalloc(1, sizeof *b);
    strbuf_init(&b->partial, LINE_MAX_BYTES + 1);
    b->on_line = on_line;
    b->done = done;
    b->ud = ud;
    b->req = engine_upload(e, "POST", path.data, "application/x-tar", tar.data, tar.len, on_chunk,
                           on_done, b);
    strbuf_free(&tar); /* the request has its own copy */
    strbuf_free(&path);
    return b;
}

void image_build_cancel(ImageBuild *b)
{
    if (!b || b->cancelled || b->finishing)
        return;
    b->cancelled = true;
    engine_cancel(b->req);
    b->req = NULL;
    if (b->busy == 0)
        build_free(b);
}
