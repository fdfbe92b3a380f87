/* proto: what both ends of the control socket agree on (proto.h): where
 * the socket is, the times in the protocol and the log files, and the
 * reading of the log files logmux writes. Used by the supervisor's side
 * (server.c) and by the commands (client.c, cli/). Nothing here runs on
 * the supervisor's loop except ctl_log_read, which it calls on a worker
 * thread. */
#include "ctl/proto.h"


#include "lib/util.h"
#include "load/parse.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *const wait_conds[_CTL_WAIT_MAX] = {"healthy", "completed", "started", "stopped"};

const char *ctl_wait_cond_to_string(CtlWaitCond c)
{
    return c >= 0 && c < _CTL_WAIT_MAX ? wait_conds[c] : NULL;
}

CtlWaitCond ctl_wait_cond_from_string(const char *s)
{
    for (int i = 0; s && i < _CTL_WAIT_MAX; i++)
        if (streq(s, wait_conds[i]))
            return (CtlWaitCond)i;
    return _CTL_WAIT_INVALID;
}

char *ctl_socket_path(const Project *p)
{
    return ctl_socket_path_named(p->name);
}

char *ctl_socket_path_named(const char *name)
{
    const char *rt = getenv("XDG_RUNTIME_DIR");
    if (rt && *rt)
        return xasprintf("%s/tend/%s.sock", rt, name);
    /* the state folder depends on the name only */
    _cleanup_free_ char *dir = project_state_dir(&(const Project){.name = (char *)name});
    return xasprintf("%s/ctl.sock", dir);
}

void ctl_socket_paths(StrVec *ret)
{
    const char *rt = getenv("XDG_RUNTIME_DIR");
    _cleanup_free_ char *dir = NULL;
    if (rt && *rt) {
        dir = xasprintf("%s/tend", rt);
    } else {
        /* the state folder of a project named "x" is STATE/tend/x */
        Project probe = {.name = (char *)"x"};
        _cleanup_free_ char *one = project_state_dir(&probe);
        dir = path_dirname(one);
    }
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    StrVec found = {0};
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        if (rt && *rt) {
            if (str_endswith(de->d_name, ".sock"))
                strvec_push_take(&found, path_join(dir, de->d_name));
        } else {
            _cleanup_free_ char *sub = path_join(dir, de->d_name);
            char *sock = path_join(sub, "ctl.sock");
            if (access(sock, F_OK) == 0)
                strvec_push_take(&found, sock);
            else
                free(sock);
        }
    }
    closedir(d);
    strvec_sort(&found);
    for (size_t i = 0; i < found.n; i++)
        strvec_push(ret, found.v[i]);
    strvec_free(&found);
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
            /* Exactly "+hh:mm" (sscanf would take "+0:3" and the
             * fixed step past it would leave the string). */
            static const char form[] = "+dd:dd";
            for (int i = 1; i < 6; i++)
                if (form[i] == 'd' ? !(p[i] >= '0' && p[i] <= '9') : p[i] != ':')
                    return -EINVAL;
            int hh = (p[1] - '0') * 10 + (p[2] - '0'), mm = (p[4] - '0') * 10 + (p[5] - '0');
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
