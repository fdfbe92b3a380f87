/* util: implementation of the small helpers declared in util.h. */
#include "lib/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void oom(void)
{
    fputs("tend: out of memory\n", stderr);
    abort();
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oom();
    return p;
}

void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        oom();
    return p;
}

void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        oom();
    return q;
}

char *xstrdup(const char *s)
{
    return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
    char *p = xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *xvasprintf(const char *fmt, va_list ap)
{
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0)
        oom();
    return s;
}

char *xasprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = xvasprintf(fmt, ap);
    va_end(ap);
    return s;
}

bool streq(const char *a, const char *b)
{
    return strcmp(a, b) == 0;
}

bool strnull_eq(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return strcmp(a, b) == 0;
}

bool str_startswith(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool str_endswith(const char *s, const char *suffix)
{
    size_t ls = strlen(s), lx = strlen(suffix);
    return ls >= lx && memcmp(s + ls - lx, suffix, lx) == 0;
}

/* ---- arena ---- */

typedef struct Chunk {
    struct Chunk *next;
    size_t used, size;
    _Alignas(16) unsigned char data[];
} Chunk;

struct Arena {
    Chunk *head;
    size_t total;
};

Arena *arena_new(void)
{
    return xcalloc(1, sizeof(Arena));
}

void arena_free(Arena *a)
{
    if (!a)
        return;
    for (Chunk *c = a->head, *n; c; c = n) {
        n = c->next;
        free(c);
    }
    free(a);
}

void *arena_alloc(Arena *a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    Chunk *c = a->head;
    if (!c || c->size - c->used < n) {
        size_t size = n > 65536 ? n : 65536;
        c = xmalloc(sizeof(Chunk) + size);
        c->used = 0;
        c->size = size;
        c->next = a->head;
        a->head = c;
    }
    void *p = c->data + c->used;
    c->used += n;
    a->total += n;
    memset(p, 0, n);
    return p;
}

char *arena_strndup(Arena *a, const char *s, size_t n)
{
    char *p = arena_alloc(a, n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *arena_strdup(Arena *a, const char *s)
{
    return s ? arena_strndup(a, s, strlen(s)) : NULL;
}

char *arena_printf(Arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    _cleanup_free_ char *s = xvasprintf(fmt, ap);
    va_end(ap);
    return arena_strdup(a, s);
}

size_t arena_used(const Arena *a)
{
    return a->total;
}

/* ---- strbuf ---- */

void strbuf_init(StrBuf *b, size_t max)
{
    b->data = NULL;
    b->len = b->cap = 0;
    b->max = max ? max : (size_t)64 << 20;
}

void strbuf_free(StrBuf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void strbuf_reset(StrBuf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

int strbuf_append(StrBuf *b, const char *s, size_t n)
{
    if (b->max == 0)
        b->max = (size_t)64 << 20;
    if (n > b->max || b->len + n > b->max)
        return -E2BIG;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n + 1)
            cap *= 2;
        b->data = xrealloc(b->data, cap);
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int strbuf_puts(StrBuf *b, const char *s)
{
    return strbuf_append(b, s, strlen(s));
}

int strbuf_putc(StrBuf *b, char c)
{
    return strbuf_append(b, &c, 1);
}

int strbuf_printf(StrBuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    _cleanup_free_ char *s = xvasprintf(fmt, ap);
    va_end(ap);
    return strbuf_puts(b, s);
}

char *strbuf_steal(StrBuf *b)
{
    char *s = b->data ? b->data : xstrdup("");
    b->data = NULL;
    b->len = b->cap = 0;
    return s;
}

/* ---- strvec ---- */

void strvec_push_take(StrVec *sv, char *s)
{
    if (sv->n + 2 > sv->cap) {
        sv->cap = sv->cap ? sv->cap * 2 : 8;
        sv->v = xrealloc(sv->v, sv->cap * sizeof(char *));
    }
    sv->v[sv->n++] = s;
    sv->v[sv->n] = NULL;
}

void strvec_push(StrVec *sv, const char *s)
{
    strvec_push_take(sv, xstrdup(s));
}

void strvec_free(StrVec *sv)
{
    for (size_t i = 0; i < sv->n; i++)
        free(sv->v[i]);
    free(sv->v);
    sv->v = NULL;
    sv->n = sv->cap = 0;
}

bool strvec_contains(const StrVec *sv, const char *s)
{
    for (size_t i = 0; i < sv->n; i++)
        if (streq(sv->v[i], s))
            return true;
    return false;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void strvec_sort(StrVec *sv)
{
    if (sv->n > 1)
        qsort(sv->v, sv->n, sizeof(char *), cmp_str);
}

/* ---- paths ---- */

bool path_is_absolute(const char *p)
{
    return p[0] == '/';
}

char *path_join(const char *dir, const char *rel)
{
    if (path_is_absolute(rel) || !dir || !*dir)
        return xstrdup(rel);
    size_t n = strlen(dir);
    return xasprintf("%s%s%s", dir, n && dir[n - 1] == '/' ? "" : "/", rel);
}

char *path_dirname(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return xstrdup(".");
    if (slash == path)
        return xstrdup("/");
    return xstrndup(path, slash - path);
}

const char *path_basename(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* Lexical normalization: collapse "//" and "/./", resolve "/../" without
 * touching the filesystem (symlinks are left for the engine to follow). */
char *path_normalize(const char *path)
{
    bool abs = path[0] == '/';
    size_t n = strlen(path);
    char *out = xmalloc(n + 2);
    size_t o = 0;
    const char *p = path;
    size_t depth = 0; /* number of components we may pop */
    if (abs)
        out[o++] = '/';
    while (*p) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        const char *e = strchr(p, '/');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == 1 && p[0] == '.') {
            /* skip */
        } else if (len == 2 && p[0] == '.' && p[1] == '.') {
            if (depth > 0) {
                /* pop the last component */
                while (o > (abs ? 1u : 0u) && out[o - 1] != '/')
                    o--;
                if (o > (abs ? 1u : 0u))
                    o--; /* the slash */
                depth--;
            } else if (!abs) {
                if (o > 0)
                    out[o++] = '/';
                out[o++] = '.';
                out[o++] = '.';
            }
        } else {
            if (o > 0 && out[o - 1] != '/')
                out[o++] = '/';
            memcpy(out + o, p, len);
            o += len;
            depth++;
        }
        p += len;
    }
    if (o == 0)
        out[o++] = '.';
    out[o] = '\0';
    return out;
}

void write_fully(int fd, const void *data, size_t n)
{
    const char *p = data;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN) {
                usleep(1000); /* a non-blocking terminal that is full */
                continue;
            }
            return;
        }
        p += w;
        n -= (size_t)w;
    }
}

char *path_absolute(const char *base, const char *path)
{
    _cleanup_free_ char *joined = NULL;
    if (path[0] == '~' && (path[1] == '/' || path[1] == '\0')) {
        const char *home = getenv("HOME");
        joined = xasprintf("%s%s", home ? home : "/", path + 1);
    } else {
        joined = path_join(base, path);
    }
    return path_normalize(joined);
}

int read_file(const char *path, size_t max, char **ret_data, size_t *ret_len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int r = -errno;
        close(fd);
        return r;
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        return -EISDIR;
    }
    StrBuf b;
    strbuf_init(&b, max);
    char tmp[65536];
    for (;;) {
        ssize_t k = read(fd, tmp, sizeof tmp);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            int r = -errno;
            close(fd);
            strbuf_free(&b);
            return r;
        }
        if (k == 0)
            break;
        if (strbuf_append(&b, tmp, (size_t)k) < 0) {
            close(fd);
            strbuf_free(&b);
            return -EFBIG;
        }
    }
    close(fd);
    if (ret_len)
        *ret_len = b.len;
    *ret_data = strbuf_steal(&b);
    return 0;
}

size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return (size_t)-1;
    size_t row[65];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t prev = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t cur = row[j];
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            size_t v = prev + cost;
            if (row[j] + 1 < v)
                v = row[j] + 1;
            if (row[j - 1] + 1 < v)
                v = row[j - 1] + 1;
            row[j] = v;
            prev = cur;
        }
    }
    return row[lb];
}

uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void fmt_elapsed(char buf[32], int64_t ns)
{
    if (ns < 1000000000LL)
        snprintf(buf, 32, "%lld ms", (long long)(ns / 1000000));
    else
        snprintf(buf, 32, "%.1f s", (double)ns / 1e9);
}

/* ---- glob bracket expressions ---- */

size_t glob_class_len(const char *p, bool bang)
{
    size_t i = 1;
    if (p[i] == '^' || (bang && p[i] == '!'))
        i++;
    if (p[i] == ']') /* a leading ']' is a member */
        i++;
    for (; p[i]; i++) {
        if (p[i] == '\\' && p[i + 1])
            i++;
        else if (p[i] == ']')
            return i + 1;
    }
    return 0;
}

bool glob_class_has(const char *p, size_t len, unsigned char c, bool bang)
{
    size_t i = 1, end = len - 1;
    bool negate = p[i] == '^' || (bang && p[i] == '!');
    if (negate)
        i++;
    bool in = false, first = true;
    while (i < end) {
        unsigned char lo = (unsigned char)p[i];
        if (lo == '\\' && i + 1 < end)
            lo = (unsigned char)p[++i];
        else if (lo == ']' && !first)
            break;
        i++;
        first = false;
        unsigned char hi = lo;
        if (i + 1 < end && p[i] == '-') {
            hi = (unsigned char)p[i + 1];
            if (hi == '\\' && i + 2 < end)
                hi = (unsigned char)p[i + 2], i++;
            i += 2;
        }
        if (c >= lo && c <= hi)
            in = true;
    }
    return in != negate;
}
