/* ctl: what both ends of the control socket share (see ctl.h): the socket's
 * place, a blocking client for the command line, and the reading of the
 * log files logmux writes. Nothing here runs on the supervisor's loop
 * except ctl_log_read, which the supervisor calls on a worker thread. */
#include "ctl/client.h"

#include "load/config.h"
#include "run/manager.h"
#include "load/parse.h"
#include "lib/util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

char *ctl_socket_path(const Project *p)
{
    const char *rt = getenv("XDG_RUNTIME_DIR");
    if (rt && *rt)
        return xasprintf("%s/tend/%s.sock", rt, p->name);
    _cleanup_free_ char *dir = manager_state_dir(p);
    return xasprintf("%s/ctl.sock", dir);
}

static int sock_connect(const char *path, int *ret_fd)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path)
        return -ENAMETOOLONG;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    *ret_fd = fd;
    return 0;
}

/* ---- the client ---- */

struct CtlClient {
    int fd;
    pid_t pid;
    int next_id;
    char *buf; /* received, not yet returned */
    size_t len, cap;
};

void ctl_close(CtlClient *c)
{
    if (!c)
        return;
    if (c->fd >= 0)
        close(c->fd);
    free(c->buf);
    free(c);
}

pid_t ctl_pid(const CtlClient *c)
{
    return c->pid;
}

int ctl_fd(const CtlClient *c)
{
    return c->fd;
}

static int write_all_fd(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int ctl_send(CtlClient *c, json_t *req)
{
    json_t *id = json_object_get(req, "id");
    int idv;
    if (json_is_integer(id)) {
        idv = (int)json_integer_value(id);
    } else {
        idv = ++c->next_id;
        json_object_set_new(req, "id", json_integer(idv));
    }
    char *s = json_dumps(req, JSON_COMPACT);
    if (!s)
        return -ENOMEM;
    size_t n = strlen(s);
    s[n] = '\0';
    int r = write_all_fd(c->fd, s, n);
    if (r == 0)
        r = write_all_fd(c->fd, "\n", 1);
    free(s);
    return r < 0 ? r : idv;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int ctl_recv(CtlClient *c, int timeout_ms, json_t **ret)
{
    int64_t deadline = timeout_ms >= 0 ? mono_ms() + timeout_ms : -1;
    for (;;) {
        char *nl = c->len ? memchr(c->buf, '\n', c->len) : NULL;
        if (nl) {
            size_t ll = (size_t)(nl - c->buf);
            json_error_t je;
            json_t *v = json_loadb(c->buf, ll, 0, &je);
            memmove(c->buf, nl + 1, c->len - ll - 1);
            c->len -= ll + 1;
            if (!json_is_object(v)) {
                json_decref(v);
                return -EPROTO;
            }
            *ret = v;
            return 0;
        }
        if (c->len >= CTL_LINE_MAX)
            return -EPROTO;
        int wait = -1;
        if (deadline >= 0) {
            int64_t left = deadline - mono_ms();
            if (left <= 0)
                return -ETIMEDOUT;
            wait = left > 1000000 ? 1000000 : (int)left;
        }
        struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
        int pr = poll(&pfd, 1, wait);
        if (pr < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (pr == 0)
            continue; /* the deadline check above decides */
        if (c->cap - c->len < 65536) {
            c->cap = c->cap ? c->cap * 2 : 65536;
            c->buf = xrealloc(c->buf, c->cap);
        }
        ssize_t r = read(c->fd, c->buf + c->len, c->cap - c->len);
        if (r < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            return errno == ECONNRESET ? -EPIPE : -errno;
        }
        if (r == 0)
            return -EPIPE;
        c->len += (size_t)r;
    }
}

int ctl_call(CtlClient *c, json_t *req, int timeout_ms, json_t **ret)
{
    int id = ctl_send(c, req);
    if (id < 0)
        return id;
    for (;;) {
        json_t *v = NULL;
        int r = ctl_recv(c, timeout_ms, &v);
        if (r < 0)
            return r;
        json_t *vid = json_object_get(v, "id");
        if (json_is_integer(vid) && json_integer_value(vid) == id && json_object_get(v, "ok")) {
            *ret = v;
            return 0;
        }
        json_decref(v);
    }
}

int ctl_connect(const char *path, CtlClient **ret, char **ret_err)
{
    int fd = -1;
    int r = sock_connect(path, &fd);
    if (r < 0) {
        if (ret_err)
            *ret_err = xasprintf("cannot connect to %s: %s", path, strerror(-r));
        return r;
    }
    CtlClient *c = xcalloc(1, sizeof *c);
    c->fd = fd;
    json_t *hello = NULL;
    r = ctl_recv(c, 5000, &hello);
    if (r < 0) {
        if (ret_err)
            *ret_err = xasprintf("%s did not greet: %s", path,
                                 r == -EPIPE ? "it closed the connection" : strerror(-r));
        ctl_close(c);
        return r == -EPIPE ? -EACCES : r;
    }
    json_t *ver = json_object_get(hello, "tend");
    const char *err = json_string_value(json_object_get(hello, "error"));
    if (err) {
        if (ret_err)
            *ret_err = xasprintf("%s", err);
        json_decref(hello);
        ctl_close(c);
        return -EACCES;
    }
    if (!json_is_integer(ver) || json_integer_value(ver) != CTL_PROTOCOL) {
        if (ret_err)
            *ret_err = xasprintf("%s speaks another protocol (tend %lld, this tend speaks %d)", path,
                                 json_is_integer(ver) ? (long long)json_integer_value(ver) : -1LL,
                                 CTL_PROTOCOL);
        json_decref(hello);
        ctl_close(c);
        return -EPROTO;
    }
    c->pid = (pid_t)json_integer_value(json_object_get(hello, "pid"));
    json_decref(hello);
    *ret = c;
    return 0;
}

int ctl_probe(const char *path, pid_t *ret_pid)
{
    CtlClient *c = NULL;
    int r = ctl_connect(path, &c, NULL);
    if (r == -ENOENT)
        return 0;
    if (r == -ECONNREFUSED) {
        /* A socket file nobody listens on: its supervisor was killed. */
        struct stat st;
        if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
            unlink(path);
        return 0;
    }
    if (r < 0)
        return r;
    if (ret_pid)
        *ret_pid = ctl_pid(c);
    ctl_close(c);
    return 1;
}

int ctl_connect_project(const Project *p, const char *cmd, CtlClient **ret)
{
    _cleanup_free_ char *path = ctl_socket_path(p);
    char *err = NULL;
    int r = ctl_connect(path, ret, &err);
    if (r == -ENOENT || r == -ECONNREFUSED) {
        free(err);
        if (r == -ECONNREFUSED)
            ctl_probe(path, NULL); /* removes the stale file */
        return 0;
    }
    if (r < 0) {
        fprintf(stderr, "tend %s: %s\n", cmd, err ? err : strerror(-r));
        free(err);
        return r;
    }
    return 1;
}

/* ---- times ---- */

void ctl_fmt_time(int64_t ns, char buf[25])
{
    time_t sec = (time_t)(ns / 1000000000);
    int ms = (int)(ns % 1000000000 / 1000000);
    struct tm tm;
    gmtime_r(&sec, &tm);
    char tmp[64];
    snprintf(tmp, sizeof tmp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", (tm.tm_year + 1900) % 10000, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
    memcpy(buf, tmp, 24);
    buf[24] = '\0';
}

int ctl_parse_since(const char *s, char out[25])
{
    if (!s || !*s)
        return -EINVAL;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int64_t now_ns = (int64_t)now.tv_sec * 1000000000LL + now.tv_nsec;
    int64_t d;
    if (duration_parse(s, &d) == 0 && d >= 0) {
        ctl_fmt_time(now_ns - d, out);
        return 0;
    }
    char *end;
    errno = 0;
    double secs = strtod(s, &end);
    if (!errno && !*end && secs >= 0) {
        ctl_fmt_time((int64_t)(secs * 1e9), out);
        return 0;
    }
    /* RFC 3339: a date, optionally a time with fractions and a zone. */
    struct tm tm = {0};
    const char *p = strptime(s, "%Y-%m-%d", &tm);
    if (!p)
        return -EINVAL;
    int64_t frac_ns = 0, off = 0;
    if (*p == 'T' || *p == 't' || *p == ' ') {
        p = strptime(p + 1, "%H:%M:%S", &tm);
        if (!p)
            return -EINVAL;
        if (*p == '.') {
            int64_t scale = 100000000;
            for (p++; *p >= '0' && *p <= '9'; p++) {
                frac_ns += (*p - '0') * scale;
                scale /= 10;
            }
        }
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int hh, mm;
            if (sscanf(p + 1, "%2d:%2d", &hh, &mm) != 2)
                return -EINVAL;
            off = (hh * 3600 + mm * 60) * (*p == '+' ? 1 : -1);
            p += 6;
        } else if (*p == '\0') {
            /* no zone: local time */
            tm.tm_isdst = -1;
            time_t t = mktime(&tm);
            if (t == (time_t)-1)
                return -EINVAL;
            ctl_fmt_time((int64_t)t * 1000000000LL + frac_ns, out);
            return 0;
        }
    }
    if (*p)
        return -EINVAL;
    time_t t = timegm(&tm) - off;
    ctl_fmt_time((int64_t)t * 1000000000LL + frac_ns, out);
    return 0;
}

/* ---- log files ---- */

void ctl_log_lines_free(CtlLogLines *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].text);
    free(l->v);
    *l = (CtlLogLines){0};
}

char *ctl_log_path(const char *log_dir, const char *service)
{
    _cleanup_free_ char *base = xasprintf("%s.log", service);
    for (char *p = base; *p; p++)
        if (*p == '/')
            *p = '_';
    return path_join(log_dir, base);
}

static const char *stream_word(const char *s, size_t n)
{
    if (n == 6 && !memcmp(s, "stdout", 6))
        return "stdout";
    if (n == 6 && !memcmp(s, "stderr", 6))
        return "stderr";
    if (n == 4 && !memcmp(s, "tend", 4))
        return "tend";
    return NULL;
}

/* Reads up to max bytes of fd from its start. */
static char *slurp(int fd, int64_t max, size_t *ret_len)
{
    if (fd < 0 || max <= 0) {
        *ret_len = 0;
        return NULL;
    }
    char *buf = xmalloc((size_t)max + 1);
    size_t len = 0;
    while ((int64_t)len < max) {
        ssize_t r = pread(fd, buf + len, (size_t)max - len, (off_t)len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        len += (size_t)r;
    }
    buf[len] = '\0';
    *ret_len = len;
    return buf;
}

typedef struct RawLine {
    const char *p;
    size_t n;
} RawLine;

static void split_lines(const char *buf, size_t len, RawLine **v, size_t *n, size_t *cap)
{
    const char *p = buf, *end = buf + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            break; /* a partial last line: still being written */
        if (*n == *cap) {
            *cap = *cap ? *cap * 2 : 1024;
            *v = xrealloc(*v, *cap * sizeof **v);
        }
        (*v)[(*n)++] = (RawLine){p, (size_t)(nl - p)};
        p = nl + 1;
    }
}

void ctl_log_read(int fd_old, int64_t size_old, int fd_cur, int64_t size_cur, const char *since, long tail,
                  size_t skip_last, CtlLogLines *out)
{
    size_t l_old, l_cur;
    _cleanup_free_ char *b_old = slurp(fd_old, size_old, &l_old);
    _cleanup_free_ char *b_cur = slurp(fd_cur, size_cur, &l_cur);
    RawLine *v = NULL;
    size_t n = 0, cap = 0;
    if (b_old)
        split_lines(b_old, l_old, &v, &n, &cap);
    if (b_cur)
        split_lines(b_cur, l_cur, &v, &n, &cap);
    n = skip_last < n ? n - skip_last : 0;
    /* From the end back: the lines at or after since, at most tail. */
    size_t first = n;
    while (first > 0 && (tail < 0 || (long)(n - first) < tail)) {
        const RawLine *l = &v[first - 1];
        if (since && *since && (l->n < 24 || memcmp(l->p, since, 24) < 0))
            break;
        first--;
    }
    for (size_t i = first; i < n; i++) {
        const RawLine *l = &v[i];
        CtlLogLine ll = {.stream = "stdout"};
        const char *text = l->p;
        size_t tn = l->n;
        /* "TS WORD text"; anything else is shown whole. */
        if (l->n >= 26 && l->p[4] == '-' && l->p[10] == 'T' && l->p[23] == 'Z' && l->p[24] == ' ') {
            const char *w = l->p + 25;
            const char *sp = memchr(w, ' ', l->n - 25);
            const char *word = sp ? stream_word(w, (size_t)(sp - w)) : NULL;
            if (word) {
                memcpy(ll.ts, l->p, 24);
                ll.ts[24] = '\0';
                ll.stream = word;
                text = sp + 1;
                tn = l->n - (size_t)(sp + 1 - l->p);
            }
        }
        ll.text = xstrndup(text, tn);
        if (out->n == out->cap) {
            out->cap = out->cap ? out->cap * 2 : 256;
            out->v = xrealloc(out->v, out->cap * sizeof *out->v);
        }
        out->v[out->n++] = ll;
    }
    free(v);
}

/* The same palette and hash as logmux, so a name keeps its colour. */
const char *ctl_color(const char *name)
{
    static const char *const palette[] = {
        "\033[36m", "\033[33m", "\033[32m", "\033[35m", "\033[34m", "\033[31m",
        "\033[96m", "\033[93m", "\033[92m", "\033[95m", "\033[94m", "\033[91m",
    };
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        h ^= *p;
        h *= 16777619u;
    }
    return palette[h % ARRAY_SIZE(palette)];
}

/* ---- for the commands ---- */

int ctl_load_project(ConfigOptions *o, Project **ret)
{
    o->all_profiles = true;
    return config_load_report(o, ret);
}

int ctl_load_named(ConfigOptions *o, const char *cmd, int argc, char **argv, bool check, Project **ret,
                   StrVec *names)
{
    for (int i = 0; i < argc; i++)
        strvec_push(names, argv[i]);
    int r = ctl_load_project(o, ret);
    for (size_t i = 0; r == 0 && check && i < names->n; i++)
        if (!project_service(*ret, names->v[i])) {
            fprintf(stderr, "tend %s: no service \"%s\" in the project\n", cmd, names->v[i]);
            r = 2;
        }
    if (r) {
        if (*ret)
            project_free(*ret);
        *ret = NULL;
        strvec_free(names);
    }
    return r;
}

void ctl_fmt_ago(const char *ts, char buf[32])
{
    struct tm tm = {0};
    const char *p = ts ? strptime(ts, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
    if (!p) {
        snprintf(buf, 32, "-");
        return;
    }
    time_t t = timegm(&tm);
    long long d = (long long)(time(NULL) - t);
    if (d < 0)
        d = 0;
    if (d < 60)
        snprintf(buf, 32, "%llds", d);
    else if (d < 3600)
        snprintf(buf, 32, "%lldm", d / 60);
    else if (d < 86400)
        snprintf(buf, 32, "%lldh", d / 3600);
    else
        snprintf(buf, 32, "%lldd", d / 86400);
}
