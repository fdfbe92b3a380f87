/* logmux: every service's output goes through here. Bytes arrive per source
 * (read from a libuv stream, or fed by hand), are split into lines, and each
 * line leaves in three directions: the terminal (one batch per read, queued
 * with uv_write so a slow terminal never blocks the loop), the service's log
 * file (buffered per service, one write() per read, rotated at a size cap)
 * and the listener. When the terminal falls behind by more than backlog_max
 * bytes, every attached source stops reading until it drains below half:
 * the kernel pipe buffers fill up and the services block, nothing is dropped
 * and memory stays bounded. */
#include "lib/logmux.h"
#include "lib/util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define READ_BUF_SIZE (64 * 1024)
#define CHUNK_SIZE (128 * 1024)    /* first capacity of a terminal batch */
#define CHUNK_SUBMIT (256 * 1024)  /* a batch this big goes out before the read ends */
#define CHUNK_POOL_MAX 4           /* spare batches kept for reuse */
#define FILE_BUF_FLUSH (256 * 1024) /* same for a service's file buffer */
#define PART_MIN 256               /* first capacity of a partial-line buffer */
#define DRAIN_TIMEOUT_MS 2000      /* how long logmux_free waits for the terminal */
#define TS_LEN 24                  /* "2026-11-23T11:30:00.123Z" */

#define DEFAULT_FILE_MAX (10 * 1024 * 1024)
#define DEFAULT_LINE_MAX (64 * 1024)
#define DEFAULT_BACKLOG_MAX (1024 * 1024)

#define SGR_RESET "\033[0m"
#define SGR_BOLD "\033[1m"

/* Foreground colours for prefixes, the plain six then their bright forms. */
static const char *const palette[] = {
    "\033[36m", "\033[33m", "\033[32m", "\033[35m", "\033[34m", "\033[31m",
    "\033[96m", "\033[93m", "\033[92m", "\033[95m", "\033[94m", "\033[91m",
};

/* One batch of terminal output: filled by the lines of one read, then handed
 * to uv_write whole. It owns its bytes until the write callback. */
typedef struct Chunk {
    uv_write_t req;
    LogMux *m;
    struct Chunk *next; /* in the spare pool */
    char *data;
    size_t len, cap;
} Chunk;

/* What is kept per service name: its colour, its cached prefix and its log
 * file with the bytes of the current batch not yet written. */
typedef struct Svc {
    char *name;
    size_t name_len;
    const char *color;
    bool has_file; /* false for tend's own project-wide record */
    bool file_failed;
    bool dirty; /* in m->dirty: fbuf holds bytes */
    int fd;     /* -1 until the first line */
    uint64_t file_size;
    char *path, *path_old; /* DIR/NAME.log and DIR/NAME.log.1 */
    char *fbuf;
    size_t flen, fcap;
    char *fail_msg; /* a log file problem, told after the line at hand */
    char *prefix;   /* built for prefix_width; NULL until first needed */
    size_t prefix_len, prefix_width;
} Svc;

typedef struct Source {
    LogMux *m;
    Svc *svc;
    int stream;
    char *part; /* the line so far, up to line_max */
    size_t plen, pcap;
    uv_stream_t *handle; /* while attached */
    void *saved_data;    /* the caller's handle->data, given back at close */
    void (*on_eof)(void *ud);
    void *eof_ud;
    bool attached, reading, closing;
} Source;

enum { OUT_NONE, OUT_DIRECT, OUT_STREAM };

struct LogMux {
    uv_loop_t *loop;
    LogMuxOptions o;
    char *log_dir;
    bool log_dir_made;

    Svc **svcs;
    size_t nsvcs, svcs_cap;
    Svc *project; /* "tend", created on first use */
    size_t width; /* longest service name so far */
    Source **srcs;
    size_t nsrcs, srcs_cap;

    LogLineFn listener;
    void *listener_ud;

    /* Terminal. OUT_DIRECT writes with write() (regular files and character
     * devices, which do not block for long); OUT_STREAM queues on a libuv
     * handle over a dup of out_fd. */
    int out_kind;
    bool out_dead; /* a write failed: terminal output is dropped from now on */
    union {
        uv_handle_t handle;
        uv_stream_t stream;
        uv_pipe_t pipe;
        uv_tty_t tty;
        uv_tcp_t tcp;
    } out;
    int restore_fd; /* a dup kept to put back the caller's fd flags */
    int restore_flags;
    Chunk *cur;
    Chunk *pool;
    size_t npool;
    size_t backlog; /* bytes handed to uv_write, not yet called back */
    size_t nwrites;
    bool paused;

    /* A batch spans one read (or feed): files and terminal are written once
     * at its end. Nested batches (the listener logging) join the outer one. */
    unsigned depth;
    Svc **dirty;
    size_t ndirty, dirty_cap;

    char *rbuf; /* shared by all sources: a read is consumed before the next */
    int64_t ts_ns;
    char ts[64]; /* TS_LEN used; room for what snprintf cannot rule out */

    /* After logmux_free: the struct lives on until its handles are closed. */
    /* The disk of the log files is full: lines are left out of the files
     * (the terminal and the listener still get them) and a write is tried
     * again at most once a second; one warning when it fills, one line when
     * writing works again. */
    bool disk_full;
    int64_t full_try_ns;  /* the last try, realtime */
    uint64_t full_dropped; /* lines left out of the files meanwhile */

    bool freeing, out_closing;
    bool timer_used;
    uv_timer_t drain_timer;
    unsigned open_handles;
};

static int64_t realtime_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The RFC 3339 UTC time with milliseconds; lines of one read share their
 * stamp, so the last one formatted is cached. */
static const char *format_ts(LogMux *m, int64_t ns)
{
    if (ns == m->ts_ns && m->ts[0])
        return m->ts;
    time_t sec = (time_t)(ns / 1000000000);
    int ms = (int)(ns % 1000000000 / 1000000);
    struct tm tm;
    gmtime_r(&sec, &tm);
    snprintf(m->ts, sizeof m->ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
    m->ts_ns = ns;
    return m->ts;
}

static const char *stream_word(int stream)
{
    switch (stream) {
    case LOG_STDOUT:
        return "stdout";
    case LOG_STDERR:
        return "stderr";
    default:
        return "tend";
    }
}

/* FNV-1a: a fixed hash, so a name gets the same colour in every run. */
static const char *color_for(const char *name)
{
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        h ^= *p;
        h *= 16777619u;
    }
    return palette[h % ARRAY_SIZE(palette)];
}

/* Writes everything or fails with -errno. Used for regular files, which do
 * not return EAGAIN; a non-blocking character device is waited for. */
static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = write(fd, p, n);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN) {
                struct pollfd pfd = {.fd = fd, .events = POLLOUT};
                (void)poll(&pfd, 1, -1);
                continue;
            }
            return -errno;
        }
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

static int mkdir_p(const char *dir, mode_t mode)
{
    _cleanup_free_ char *p = xstrdup(dir);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, mode) < 0 && errno != EEXIST)
            return -errno;
        *s = '/';
    }
    if (mkdir(p, mode) < 0 && errno != EEXIST)
        return -errno;
    return 0;
}

/* ---- services ---------------------------------------------------------- */

static Svc *svc_new(LogMux *m, const char *name, bool has_file)
{
    Svc *s = xcalloc(1, sizeof *s);
    s->name = xstrdup(name);
    s->name_len = strlen(name);
    s->color = color_for(name);
    s->has_file = has_file;
    s->fd = -1;
    if (s->name_len > m->width)
        m->width = s->name_len;
    return s;
}

static Svc *svc_get(LogMux *m, const char *name)
{
    for (size_t i = 0; i < m->nsvcs; i++)
        if (streq(m->svcs[i]->name, name))
            return m->svcs[i];
    if (m->nsvcs == m->svcs_cap) {
        m->svcs_cap = m->svcs_cap ? m->svcs_cap * 2 : 8;
        m->svcs = xrealloc(m->svcs, m->svcs_cap * sizeof *m->svcs);
    }
    Svc *s = svc_new(m, name, true);
    m->svcs[m->nsvcs++] = s;
    return s;
}

static void svc_free(Svc *s)
{
    if (!s)
        return;
    if (s->fd >= 0)
        close(s->fd);
    free(s->name);
    free(s->path);
    free(s->path_old);
    free(s->fbuf);
    free(s->fail_msg);
    free(s->prefix);
    free(s);
}

/* "name   | " padded to the longest name, coloured when asked. Rebuilt when
 * a longer name shows up. */
static void svc_prefix(LogMux *m, Svc *s)
{
    if (s->prefix && s->prefix_width == m->width)
        return;
    free(s->prefix);
    if (m->o.color)
        s->prefix = xasprintf("%s%-*s | " SGR_RESET, s->color, (int)m->width, s->name);
    else
        s->prefix = xasprintf("%-*s | ", (int)m->width, s->name);
    s->prefix_len = strlen(s->prefix);
    s->prefix_width = m->width;
}

/* ---- terminal ---------------------------------------------------------- */

static Chunk *chunk_get(LogMux *m, size_t need)
{
    Chunk *c = m->pool;
    if (c) {
        m->pool = c->next;
        m->npool--;
    } else {
        c = xcalloc(1, sizeof *c);
        c->m = m;
    }
    c->len = 0;
    if (c->cap < need) {
        c->cap = need > CHUNK_SIZE ? need : CHUNK_SIZE;
        free(c->data);
        c->data = xmalloc(c->cap);
    }
    return c;
}

static void chunk_put(LogMux *m, Chunk *c)
{
    if (m->npool < CHUNK_POOL_MAX && c->cap <= 4 * CHUNK_SIZE) {
        c->next = m->pool;
        m->pool = c;
        m->npool++;
        return;
    }
    free(c->data);
    free(c);
}

static void sources_pause(LogMux *m)
{
    m->paused = true;
    for (size_t i = 0; i < m->nsrcs; i++) {
        Source *s = m->srcs[i];
        if (s->reading) {
            uv_read_stop(s->handle);
            s->reading = false;
        }
    }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void on_read(uv_stream_t *h, ssize_t nread, const uv_buf_t *buf);

static void sources_resume(LogMux *m)
{
    m->paused = false;
    for (size_t i = 0; i < m->nsrcs; i++) {
        Source *s = m->srcs[i];
        if (s->attached && !s->closing && !s->reading &&
            uv_read_start(s->handle, on_alloc, on_read) == 0)
            s->reading = true;
    }
}

static void out_close(LogMux *m);

static void on_write(uv_write_t *req, int status)
{
    Chunk *c = req->data;
    LogMux *m = c->m;
    m->backlog -= c->len;
    m->nwrites--;
    chunk_put(m, c);
    /* EPIPE and the like: the reader went away. Services keep running and
     * their logs keep going to files and the listener. */
    if (status < 0 && status != UV_ECANCELED)
        m->out_dead = true;
    if (m->paused && (m->out_dead || m->backlog <= m->o.backlog_max / 2))
        sources_resume(m);
    if (m->freeing && m->nwrites == 0)
        out_close(m);
}

/* Sends the current batch to the terminal. */
static void term_submit(LogMux *m)
{
    Chunk *c = m->cur;
    if (!c || c->len == 0)
        return;
    if (m->out_kind == OUT_DIRECT) {
        if (write_all(m->o.out_fd, c->data, c->len) < 0)
            m->out_dead = true;
        c->len = 0;
        return;
    }
    m->cur = NULL;
    c->req.data = c;
    uv_buf_t b = uv_buf_init(c->data, (unsigned)c->len);
    if (uv_write(&c->req, &m->out.stream, &b, 1, on_write) < 0) {
        m->out_dead = true;
        chunk_put(m, c);
        return;
    }
    m->backlog += c->len;
    m->nwrites++;
    if (!m->paused && m->backlog > m->o.backlog_max)
        sources_pause(m);
}

/* Room for `need` more bytes in the current batch. */
static char *term_reserve(LogMux *m, size_t need)
{
    if (m->cur && m->cur->len + need > m->cur->cap) {
        if (m->cur->len > 0)
            term_submit(m);
        if (m->cur && m->cur->cap < need) {
            free(m->cur->data);
            m->cur->cap = need;
            m->cur->data = xmalloc(need);
        }
    }
    if (!m->cur)
        m->cur = chunk_get(m, need);
    return m->cur->data + m->cur->len;
}

static bool term_on(const LogMux *m)
{
    return m->out_kind != OUT_NONE && !m->out_dead;
}

/* Decodes one UTF-8 sequence at p. Valid: its length. Invalid: false, and
 * the length of the maximal ill-formed subpart, replaced by one U+FFFD as
 * Unicode recommends. */
static bool utf8_seq(const unsigned char *p, const unsigned char *end, size_t *ret_len)
{
    unsigned c = p[0], lo = 0x80, hi = 0xBF;
    size_t need;
    if (c >= 0xC2 && c <= 0xDF)
        need = 1;
    else if (c == 0xE0)
        need = 2, lo = 0xA0;
    else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF)
        need = 2;
    else if (c == 0xED)
        need = 2, hi = 0x9F; /* no surrogates */
    else if (c == 0xF0)
        need = 3, lo = 0x90;
    else if (c >= 0xF1 && c <= 0xF3)
        need = 3;
    else if (c == 0xF4)
        need = 3, hi = 0x8F; /* nothing past U+10FFFF */
    else {
        *ret_len = 1;
        return false;
    }
    size_t i = 1;
    for (; i <= need && p + i < end; i++) {
        if (p[i] < lo || p[i] > hi)
            break;
        lo = 0x80, hi = 0xBF;
    }
    *ret_len = i;
    return i == need + 1;
}

/* JSON string body for s; out needs room for 6 bytes per input byte. Valid
 * UTF-8 is copied, invalid bytes become U+FFFD: a service printing binary
 * must not break the consumer's parser. */
static size_t json_escape(char *out, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    char *o = out;
    while (p < end) {
        unsigned c = *p;
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
            *o++ = (char)c;
            p++;
            continue;
        }
        if (c < 0x80) {
            *o++ = '\\';
            switch (c) {
            case '"':
            case '\\':
                *o++ = (char)c;
                break;
            case '\n':
                *o++ = 'n';
                break;
            case '\r':
                *o++ = 'r';
                break;
            case '\t':
                *o++ = 't';
                break;
            case '\b':
                *o++ = 'b';
                break;
            case '\f':
                *o++ = 'f';
                break;
            default:
                memcpy(o, "u00", 3);
                o[3] = hex[c >> 4];
                o[4] = hex[c & 15];
                o += 5;
            }
            p++;
            continue;
        }
        size_t k;
        if (utf8_seq(p, end, &k)) {
            memcpy(o, p, k);
            o += k;
        } else {
            memcpy(o, "\xEF\xBF\xBD", 3);
            o += 3;
        }
        p += k;
    }
    return (size_t)(o - out);
}

static void term_line(LogMux *m, Svc *svc, int stream, const char *line, size_t len, int64_t ns)
{
    if (m->o.json) {
        const char *ts = format_ts(m, ns), *word = stream_word(stream);
        size_t need = 64 + TS_LEN + 6 * svc->name_len + 6 * len;
        char *o = term_reserve(m, need), *start = o;
        memcpy(o, "{\"time\":\"", 9), o += 9;
        memcpy(o, ts, TS_LEN), o += TS_LEN;
        memcpy(o, "\",\"service\":\"", 13), o += 13;
        o += json_escape(o, svc->name, svc->name_len);
        memcpy(o, "\",\"stream\":\"", 12), o += 12;
        size_t wl = strlen(word);
        memcpy(o, word, wl), o += wl;
        memcpy(o, "\",\"line\":\"", 10), o += 10;
        o += json_escape(o, line, len);
        memcpy(o, "\"}\n", 3), o += 3;
        m->cur->len += (size_t)(o - start);
    } else {
        bool bold = stream == LOG_SYSTEM && m->o.color;
        if (!m->o.no_prefix)
            svc_prefix(m, svc);
        size_t plen = m->o.no_prefix ? 0 : svc->prefix_len;
        size_t need = plen + TS_LEN + 1 + 2 * sizeof SGR_RESET + len + 1;
        char *o = term_reserve(m, need), *start = o;
        if (plen)
            memcpy(o, svc->prefix, plen), o += plen;
        if (m->o.timestamps) {
            memcpy(o, format_ts(m, ns), TS_LEN), o += TS_LEN;
            *o++ = ' ';
        }
        if (bold)
            memcpy(o, SGR_BOLD, sizeof SGR_BOLD - 1), o += sizeof SGR_BOLD - 1;
        memcpy(o, line, len), o += len;
        if (bold)
            memcpy(o, SGR_RESET, sizeof SGR_RESET - 1), o += sizeof SGR_RESET - 1;
        *o++ = '\n';
        m->cur->len += (size_t)(o - start);
    }
    if (m->cur->len >= CHUNK_SUBMIT)
        term_submit(m);
}

/* ---- log files --------------------------------------------------------- */

static void emit_line(LogMux *m, Svc *svc, int stream, const char *line, size_t len, int64_t ns);

/* A log file problem is told once under the service's prefix; the file is
 * then given up, the terminal and the listener go on. The message waits
 * until the line at hand has reached the listener, so that every output
 * sees the two in the same order. */
static void file_fail(Svc *s, char *msg)
{
    s->file_failed = true;
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
    s->flen = 0;
    if (!s->fail_msg)
        s->fail_msg = msg;
    else
        free(msg);
}

static void file_report(LogMux *m, Svc *s)
{
    if (!s->fail_msg)
        return;
    _cleanup_free_ char *msg = TAKE_PTR(s->fail_msg);
    emit_line(m, s, LOG_SYSTEM, msg, strlen(msg), realtime_ns());
}

#define FULL_RETRY_NS 1000000000LL

/* A write that found the disk full: the file is cut back to its last whole
 * line, the buffered lines are left out, and the first time it is said. */
static void file_full(LogMux *m, Svc *s, int err)
{
    if (s->fd >= 0 && ftruncate(s->fd, (off_t)s->file_size) < 0) {
        /* a partial line stays: nothing better to do on a full disk */
    }
    for (size_t i = 0; i < s->flen; i++)
        m->full_dropped += s->fbuf[i] == '\n';
    s->flen = 0;
    m->full_try_ns = realtime_ns();
    if (!m->disk_full) {
        m->disk_full = true;
        if (!s->fail_msg)
            s->fail_msg = xasprintf("log files: %s in %s; lines are left out of the log files until there "
                                    "is room again (the services go on)",
                                    strerror(-err), m->log_dir);
    }
}

static bool file_open(LogMux *m, Svc *s)
{
    if (!s->path) {
        _cleanup_free_ char *base = xasprintf("%s.log", s->name);
        for (char *p = base; *p; p++)
            if (*p == '/')
                *p = '_';
        s->path = path_join(m->log_dir, base);
        s->path_old = xasprintf("%s.1", s->path);
    }
    if (!m->log_dir_made) {
        int r = mkdir_p(m->log_dir, 0700);
        if (r < 0) {
            file_fail(s, xasprintf("cannot create log directory %s: %s", m->log_dir, strerror(-r)));
            return false;
        }
        m->log_dir_made = true;
    }
    s->fd = open(s->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (s->fd < 0 && (errno == ENOSPC || errno == EDQUOT)) {
        file_full(m, s, -errno);
        return false;
    }
    if (s->fd < 0) {
        file_fail(s, xasprintf("cannot open log file %s: %s", s->path, strerror(errno)));
        return false;
    }
    struct stat st;
    s->file_size = fstat(s->fd, &st) == 0 ? (uint64_t)st.st_size : 0;
    return true;
}

static bool file_flush(LogMux *m, Svc *s)
{
    if (s->flen == 0 || s->fd < 0)
        return !s->file_failed;
    int r = write_all(s->fd, s->fbuf, s->flen);
    if (r == -ENOSPC || r == -EDQUOT) {
        file_full(m, s, r);
        return false;
    }
    if (r < 0) {
        file_fail(s, xasprintf("cannot write log file %s: %s", s->path, strerror(-r)));
        return false;
    }
    s->file_size += s->flen;
    s->flen = 0;
    if (m->disk_full) {
        m->disk_full = false;
        if (!s->fail_msg)
            s->fail_msg = xasprintf("log files: writing again (%llu lines were left out while the disk "
                                    "was full)",
                                    (unsigned long long)m->full_dropped);
        m->full_dropped = 0;
    }
    return true;
}

/* NAME.log becomes NAME.log.1 (the old .1 goes) and a new file starts. */
static bool file_rotate(LogMux *m, Svc *s)
{
    close(s->fd);
    s->fd = -1;
    if (rename(s->path, s->path_old) < 0) {
        file_fail(s, xasprintf("cannot rotate log file %s: %s", s->path, strerror(errno)));
        return false;
    }
    return file_open(m, s);
}

static void file_line(LogMux *m, Svc *s, int stream, const char *line, size_t len, int64_t ns)
{
    if (m->disk_full && ns - m->full_try_ns < FULL_RETRY_NS) {
        m->full_dropped++;
        return;
    }
    if (s->fd < 0 && !file_open(m, s)) {
        m->full_dropped += m->disk_full;
        return;
    }
    const char *word = stream_word(stream);
    size_t wl = strlen(word);
    size_t need = TS_LEN + 1 + wl + 1 + len + 1;
    /* Rotate before the line that would cross the cap, so a file only
     * outgrows file_max when one line alone is longer. */
    if (s->file_size + s->flen + need > m->o.file_max && s->file_size + s->flen > 0) {
        if (!file_flush(m, s) || !file_rotate(m, s))
            return;
    }
    if (s->flen + need > s->fcap) {
        s->fcap = s->flen + need > 2 * s->fcap ? s->flen + need : 2 * s->fcap;
        s->fbuf = xrealloc(s->fbuf, s->fcap);
    }
    char *o = s->fbuf + s->flen;
    memcpy(o, format_ts(m, ns), TS_LEN), o += TS_LEN;
    *o++ = ' ';
    memcpy(o, word, wl), o += wl;
    *o++ = ' ';
    memcpy(o, line, len), o += len;
    *o++ = '\n';
    s->flen += need;
    if (!s->dirty) {
        if (m->ndirty == m->dirty_cap) {
            m->dirty_cap = m->dirty_cap ? m->dirty_cap * 2 : 8;
            m->dirty = xrealloc(m->dirty, m->dirty_cap * sizeof *m->dirty);
        }
        m->dirty[m->ndirty++] = s;
        s->dirty = true;
    }
    if (s->flen >= FILE_BUF_FLUSH)
        file_flush(m, s);
}

/* ---- lines ------------------------------------------------------------- */

static void err_line(LogMux *m, Svc *svc, int stream, const char *line, size_t len)
{
    if (m->o.err_fd < 0)
        return;
    StrBuf b;
    strbuf_init(&b, 0);
    if (stream == LOG_SYSTEM)
        strbuf_printf(&b, "%s | ", svc->name);
    strbuf_append(&b, line, len);
    strbuf_putc(&b, '\n');
    (void)write_all(m->o.err_fd, b.data, b.len);
    strbuf_free(&b);
}

static void emit_line(LogMux *m, Svc *svc, int stream, const char *line, size_t len, int64_t ns)
{
    size_t ml = 0;
    _cleanup_free_ char *masked = secrets_redact(m->o.secrets, line, len, &ml);
    if (masked) {
        line = masked;
        len = ml;
    }
    if (m->o.only) {
        bool mine = streq(svc->name, m->o.only) && svc != m->project;
        if (mine && stream == LOG_STDOUT && term_on(m))
            term_line(m, svc, stream, line, len, ns);
        else if ((mine && stream == LOG_STDERR) || stream == LOG_SYSTEM)
            err_line(m, svc, stream, line, len);
    } else if (term_on(m)) {
        term_line(m, svc, stream, line, len, ns);
    }
    if (m->log_dir && svc->has_file && !svc->file_failed)
        file_line(m, svc, stream, line, len, ns);
    if (m->listener)
        m->listener(m->listener_ud, svc->name, stream, line, len, ns);
    file_report(m, svc);
}

static void batch_begin(LogMux *m)
{
    m->depth++;
}

/* The end of the outermost batch writes the files, then the terminal. Lines
 * logged while flushing (a failing log file) still join this batch. */
static void batch_end(LogMux *m)
{
    if (m->depth > 1) {
        m->depth--;
        return;
    }
    for (size_t i = 0; i < m->ndirty; i++) {
        Svc *s = m->dirty[i];
        s->dirty = false;
        file_flush(m, s);
        file_report(m, s);
    }
    m->ndirty = 0;
    if (term_on(m))
        term_submit(m);
    m->depth = 0;
}

/* A line longer than line_max leaves in line_max pieces. */
static void emit_cut(LogMux *m, Svc *svc, int stream, const char *p, size_t n, int64_t ns)
{
    size_t max = m->o.line_max;
    do {
        size_t k = n < max ? n : max;
        emit_line(m, svc, stream, p, k, ns);
        p += k;
        n -= k;
    } while (n > 0);
}

static void part_append(LogMux *m, Source *s, const char *p, size_t n, int64_t ns)
{
    size_t max = m->o.line_max;
    while (n > 0) {
        size_t room = max - s->plen, k = n < room ? n : room;
        if (s->plen + k > s->pcap) {
            size_t cap = s->pcap ? s->pcap : PART_MIN;
            while (cap < s->plen + k)
                cap *= 2;
            s->pcap = cap < max ? cap : max;
            s->part = xrealloc(s->part, s->pcap);
        }
        memcpy(s->part + s->plen, p, k);
        s->plen += k;
        p += k;
        n -= k;
        if (n > 0) {
            /* Full and more is coming: cut here. */
            emit_line(m, s->svc, s->stream, s->part, s->plen, ns);
            s->plen = 0;
        }
    }
}

/* Splits the bytes of one read into lines. Whole lines are emitted straight
 * from the read buffer; only a line spanning reads is copied. */
static void source_data(LogMux *m, Source *s, const char *p, size_t n, int64_t ns)
{
    while (n > 0) {
        const char *nl = memchr(p, '\n', n);
        if (!nl) {
            part_append(m, s, p, n, ns);
            return;
        }
        size_t k = (size_t)(nl - p);
        if (s->plen == 0) {
            emit_cut(m, s->svc, s->stream, p, k, ns);
        } else {
            part_append(m, s, p, k, ns);
            emit_line(m, s->svc, s->stream, s->part, s->plen, ns);
            s->plen = 0;
        }
        p += k + 1;
        n -= k + 1;
    }
}

static void source_flush(LogMux *m, Source *s)
{
    if (s->plen > 0) {
        emit_line(m, s->svc, s->stream, s->part, s->plen, realtime_ns());
        s->plen = 0;
    }
    free(s->part);
    s->part = NULL;
    s->pcap = 0;
}

static Source *source_get(LogMux *m, int id)
{
    if (!m || id < 0 || (size_t)id >= m->nsrcs)
        return NULL;
    return m->srcs[id];
}

/* ---- attached streams -------------------------------------------------- */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    Source *s = h->data;
    buf->base = s->m->rbuf;
    buf->len = READ_BUF_SIZE;
}

static void on_stream_closed(uv_handle_t *h)
{
    Source *s = h->data;
    h->data = s->saved_data;
    s->handle = NULL;
    s->attached = false;
    s->closing = false;
    if (s->on_eof)
        s->on_eof(s->eof_ud);
}

static void on_read(uv_stream_t *h, ssize_t nread, const uv_buf_t *buf)
{
    Source *s = h->data;
    LogMux *m = s->m;
    if (nread > 0) {
        batch_begin(m);
        source_data(m, s, buf->base, (size_t)nread, realtime_ns());
        batch_end(m);
        return;
    }
    if (nread == 0)
        return;
    /* EOF, or an error (EIO from a pty whose writer is gone): the end. */
    batch_begin(m);
    source_flush(m, s);
    batch_end(m);
    s->reading = false;
    s->closing = true;
    uv_close((uv_handle_t *)h, on_stream_closed);
}

/* ---- API --------------------------------------------------------------- */

static void on_handle_closed(uv_handle_t *h);

/* A handle that was initialised but could not be opened still needs its
 * close callback before the struct around it goes. */
static void out_abandon(LogMux *m)
{
    m->open_handles++;
    m->out.handle.data = m;
    uv_close(&m->out.handle, on_handle_closed);
}

/* Puts the terminal on a libuv stream over a dup of out_fd: closing the
 * handle must not close the caller's fd. */
static int out_open_stream(LogMux *m, uv_handle_type type)
{
    /* libuv makes the file description non-blocking, which a pipe shares
     * with whoever else writes to it; the flags are put back at the end. */
    int flags = fcntl(m->o.out_fd, F_GETFL);
    int fd = fcntl(m->o.out_fd, F_DUPFD_CLOEXEC, 3);
    if (fd < 0)
        return -errno;
    int r;
    if (type == UV_TTY) {
        r = uv_tty_init(m->loop, &m->out.tty, fd, 0);
        /* libuv may reopen the tty so that non-blocking mode stays private;
         * then our dup is no longer the handle's fd. */
        uv_os_fd_t ufd;
        if (r == 0 && uv_fileno(&m->out.handle, &ufd) == 0 && ufd != fd)
            close(fd);
    } else if (type == UV_NAMED_PIPE) {
        r = uv_pipe_init(m->loop, &m->out.pipe, 0);
        if (r == 0 && (r = uv_pipe_open(&m->out.pipe, fd)) < 0)
            out_abandon(m);
    } else {
        r = uv_tcp_init(m->loop, &m->out.tcp);
        if (r == 0 && (r = uv_tcp_open(&m->out.tcp, fd)) < 0)
            out_abandon(m);
    }
    if (r < 0) {
        close(fd);
        if (flags >= 0)
            (void)fcntl(m->o.out_fd, F_SETFL, flags);
        return r;
    }
    m->open_handles++;
    m->restore_fd = fcntl(m->o.out_fd, F_DUPFD_CLOEXEC, 3);
    m->restore_flags = flags;
    return 0;
}

LogMux *logmux_new(uv_loop_t *loop, const LogMuxOptions *o)
{
    LogMux *m = xcalloc(1, sizeof *m);
    m->loop = loop;
    m->o = *o;
    if (!m->o.file_max)
        m->o.file_max = DEFAULT_FILE_MAX;
    if (!m->o.line_max)
        m->o.line_max = DEFAULT_LINE_MAX;
    if (!m->o.backlog_max)
        m->o.backlog_max = DEFAULT_BACKLOG_MAX;
    if (o->log_dir)
        m->log_dir = xstrdup(o->log_dir);
    m->o.log_dir = m->log_dir;
    m->rbuf = xmalloc(READ_BUF_SIZE);
    m->restore_fd = -1;
    m->ts_ns = -1;

    m->out_kind = OUT_NONE;
    if (o->out_fd >= 0) {
        uv_handle_type t = uv_guess_handle(o->out_fd);
        m->out_kind = OUT_DIRECT;
        /* The open can fail (a socket of an odd family): write() then. */
        if ((t == UV_TTY || t == UV_NAMED_PIPE || t == UV_TCP) && out_open_stream(m, t) == 0)
            m->out_kind = OUT_STREAM;
    }
    return m;
}

void logmux_set_listener(LogMux *m, LogLineFn fn, void *ud)
{
    m->listener = fn;
    m->listener_ud = ud;
}

int logmux_source(LogMux *m, const char *service, int stream)
{
    if (!m || !service || !*service || stream < LOG_STDOUT || stream > LOG_SYSTEM)
        return -EINVAL;
    if (m->nsrcs >= INT32_MAX)
        return -ENOSPC;
    if (m->nsrcs == m->srcs_cap) {
        m->srcs_cap = m->srcs_cap ? m->srcs_cap * 2 : 8;
        m->srcs = xrealloc(m->srcs, m->srcs_cap * sizeof *m->srcs);
    }
    Source *s = xcalloc(1, sizeof *s);
    s->m = m;
    s->svc = svc_get(m, service);
    s->stream = stream;
    m->srcs[m->nsrcs] = s;
    return (int)m->nsrcs++;
}

int logmux_attach(LogMux *m, int source, uv_stream_t *stream, void (*on_eof)(void *ud), void *ud)
{
    Source *s = source_get(m, source);
    if (!s || !stream)
        return -EINVAL;
    if (s->attached)
        return -EBUSY;
    s->handle = stream;
    s->saved_data = stream->data;
    s->on_eof = on_eof;
    s->eof_ud = ud;
    stream->data = s;
    /* While the terminal is behind, a new source waits like the others. */
    if (!m->paused) {
        int r = uv_read_start(stream, on_alloc, on_read);
        if (r < 0) {
            stream->data = s->saved_data;
            s->handle = NULL;
            return r;
        }
        s->reading = true;
    }
    s->attached = true;
    return 0;
}

void logmux_feed(LogMux *m, int source, const char *data, size_t len)
{
    Source *s = source_get(m, source);
    if (!s || len == 0)
        return;
    batch_begin(m);
    source_data(m, s, data, len, realtime_ns());
    batch_end(m);
}

void logmux_flush(LogMux *m, int source)
{
    Source *s = source_get(m, source);
    if (!s)
        return;
    batch_begin(m);
    source_flush(m, s);
    batch_end(m);
}

void logmux_system(LogMux *m, const char *service, const char *fmt, ...)
{
    if (!m)
        return;
    Svc *svc;
    if (service) {
        svc = svc_get(m, service);
    } else {
        /* Kept apart from the services: a service may be called "tend". */
        if (!m->project)
            m->project = svc_new(m, "tend", false);
        svc = m->project;
    }
    va_list ap;
    va_start(ap, fmt);
    _cleanup_free_ char *msg = xvasprintf(fmt, ap);
    va_end(ap);

    int64_t ns = realtime_ns();
    batch_begin(m);
    const char *p = msg;
    size_t n = strlen(msg);
    if (n > 0 && p[n - 1] == '\n')
        n--;
    for (;;) {
        const char *nl = memchr(p, '\n', n);
        size_t k = nl ? (size_t)(nl - p) : n;
        emit_cut(m, svc, LOG_SYSTEM, p, k, ns);
        if (!nl)
            break;
        p += k + 1;
        n -= k + 1;
    }
    batch_end(m);
}

size_t logmux_backlog(const LogMux *m)
{
    return m ? m->backlog : 0;
}

static void mux_destroy(LogMux *m)
{
    if (m->restore_fd >= 0) {
        if (m->restore_flags >= 0)
            (void)fcntl(m->restore_fd, F_SETFL, m->restore_flags);
        close(m->restore_fd);
    }
    if (m->cur) {
        free(m->cur->data);
        free(m->cur);
    }
    while (m->pool) {
        Chunk *c = m->pool;
        m->pool = c->next;
        free(c->data);
        free(c);
    }
    free(m);
}

static void on_handle_closed(uv_handle_t *h)
{
    LogMux *m = h->data;
    if (--m->open_handles == 0 && m->freeing)
        mux_destroy(m);
}

/* Closing cancels whatever is still queued (the write callbacks run first,
 * with UV_ECANCELED). */
static void out_close(LogMux *m)
{
    if (m->out_closing)
        return;
    m->out_closing = true;
    m->out.handle.data = m;
    uv_close(&m->out.handle, on_handle_closed);
    if (m->timer_used) {
        m->drain_timer.data = m;
        uv_close((uv_handle_t *)&m->drain_timer, on_handle_closed);
    }
}

static void on_drain_timeout(uv_timer_t *t)
{
    out_close(t->data);
}

void logmux_free(LogMux *m)
{
    if (!m)
        return;
    batch_begin(m);
    for (size_t i = 0; i < m->nsrcs; i++) {
        Source *s = m->srcs[i];
        /* Still attached, against the contract: let go of the stream. */
        if (s->attached && !s->closing) {
            if (s->reading)
                uv_read_stop(s->handle);
            s->handle->data = s->saved_data;
        }
        source_flush(m, s);
    }
    batch_end(m);
    m->listener = NULL;

    for (size_t i = 0; i < m->nsrcs; i++)
        free(m->srcs[i]);
    free(m->srcs);
    for (size_t i = 0; i < m->nsvcs; i++)
        svc_free(m->svcs[i]);
    free(m->svcs);
    svc_free(m->project);
    free(m->dirty);
    free(m->rbuf);
    free(m->log_dir);
    m->srcs = NULL, m->svcs = NULL, m->project = NULL;
    m->nsrcs = m->nsvcs = 0;

    /* The struct lives until the loop has written what is queued (for at
     * most DRAIN_TIMEOUT_MS) and closed its handles. */
    m->freeing = true;
    if (m->out_kind != OUT_STREAM) {
        if (m->open_handles == 0)
            mux_destroy(m);
        return;
    }
    if (m->nwrites == 0) {
        out_close(m);
        return;
    }
    if (uv_timer_init(m->loop, &m->drain_timer) == 0) {
        m->timer_used = true;
        m->open_handles++;
        m->drain_timer.data = m;
        uv_update_time(m->loop); /* the loop may have been idle a while: count from now */
        uv_timer_start(&m->drain_timer, on_drain_timeout, DRAIN_TIMEOUT_MS, 0);
    }
}

void logmux_raw(LogMux *m, const char *data, size_t len)
{
    if (!m || len == 0 || !term_on(m))
        return;
    batch_begin(m);
    char *o = term_reserve(m, len);
    memcpy(o, data, len);
    m->cur->len += len;
    batch_end(m);
}
