/* server: the control socket of a running `tend up`. It listens on a
 * unix socket (ctl/proto.h says where) that speaks JSON lines: ps, logs (with
 * follow), restart/stop/start, wait, events and down. It keeps the last
 * lines of every service in a ring (RING_LINES lines or RING_BYTES bytes,
 * whichever is reached first), so that `tend logs --tail` answers from
 * memory; older lines come from the log files logmux writes, read on a
 * worker thread so that the loop never waits on the disk.
 *
 * Only the supervisor's own user may connect: the socket is made under a
 * umask of 077 and chmod'ed 0600, and each connection's peer credentials
 * (SO_PEERCRED) are checked before the hello. */
#include "ctl/server.h"

#include "run/secrets.h"

#include "ctl/client.h"
#include "engine/docker.h"
#include "tend-version.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define RING_LINES 1000
#define RING_BYTES (1024 * 1024)
#define CONN_QUEUE_MAX (8 * 1024 * 1024) /* a client this far behind is dropped */

typedef struct RingLine {
    int64_t t; /* realtime ns */
    int stream;
    size_t len;
    char *text;
} RingLine;

typedef struct Ring {
    RingLine v[RING_LINES];
    size_t head, n; /* oldest at head */
    size_t bytes;
    uint64_t total; /* every line ever pushed */
} Ring;

typedef struct Conn Conn;
typedef struct CtlServer CtlServer;

struct CtlServer {
    Manager *m;
    const Project *p;
    uv_pipe_t server;
    uv_timer_t eval_timer; /* waits are judged after the event that changed a state is done */
    bool listening;
    bool stopped;
    bool free_requested;
    int handles;      /* open handles (server, timer, connections'); freed at 0 */
    char *path;       /* the socket file, while we own it */
    Ring *rings;      /* one per service, then the project's own lines */
    size_t n_rings;
    const char *last_name; /* the last line's service name (logmux's pointer) */
    size_t last_ring;
    Conn *conns;
    int followers;    /* connections following logs */
    Secrets secrets;  /* masked in the reasons of ps, wait and events */
};

struct Conn {
    CtlServer *c;
    Conn *next, **pprev;
    uv_pipe_t pipe;
    uv_timer_t wait_timer;
    int handles; /* of the two above, still open */
    int works;   /* history reads and pauses in flight */
    bool closing;
    StrBuf in;
    /* logs --follow */
    bool follow;
    json_int_t follow_id;
    bool *follow_sel; /* per ring; NULL: every one */
    bool hold;        /* history still being read: queue live lines */
    StrBuf held;
    /* events */
    bool events;
    /* wait */
    bool waiting;
    json_int_t wait_id;
    CtlWaitCond wait_cond;
    bool *wait_sel; /* per service; NULL: the selected ones */
};

/* ---- JSON out ---- */

/* A JSON string, with invalid UTF-8 replaced by U+FFFD (jansson on the
 * other end refuses invalid UTF-8). */
static void put_str(StrBuf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    strbuf_putc(b, '"');
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    while (p < end) {
        const unsigned char *run = p;
        while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
            p++;
        if (p > run)
            strbuf_append(b, (const char *)run, (size_t)(p - run));
        if (p >= end)
            break;
        unsigned char ch = *p;
        if (ch == '"' || ch == '\\') {
            char e[2] = {'\\', (char)ch};
            strbuf_append(b, e, 2);
            p++;
        } else if (ch < 0x20) {
            char e[6] = {'\\', 'u', '0', '0', hex[ch >> 4], hex[ch & 15]};
            strbuf_append(b, e, 6);
            p++;
        } else {
            size_t need = ch >= 0xf0 && ch < 0xf5 ? 4 : ch >= 0xe0 ? 3 : ch >= 0xc2 && ch < 0xe0 ? 2 : 0;
            bool good = need > 0 && (size_t)(end - p) >= need;
            for (size_t k = 1; good && k < need; k++)
                good = (p[k] & 0xc0) == 0x80;
            if (good && need == 3)
                good = !(ch == 0xe0 && p[1] < 0xa0) && !(ch == 0xed && p[1] >= 0xa0);
            if (good && need == 4)
                good = !(ch == 0xf0 && p[1] < 0x90) && !(ch == 0xf4 && p[1] >= 0x90);
            if (good) {
                strbuf_append(b, (const char *)p, need);
                p += need;
            } else {
                strbuf_puts(b, "\xef\xbf\xbd");
                p++;
            }
        }
    }
    strbuf_putc(b, '"');
}

static const char *stream_name(int stream)
{
    return stream == LOG_STDOUT ? "stdout" : stream == LOG_STDERR ? "stderr" : "tend";
}

static void put_log_line(StrBuf *b, const char *ts, const char *service, const char *stream, const char *text,
                         size_t len)
{
    strbuf_puts(b, "{\"time\":\"");
    strbuf_puts(b, ts);
    strbuf_puts(b, "\",\"service\":");
    put_str(b, service, strlen(service));
    strbuf_puts(b, ",\"stream\":\"");
    strbuf_puts(b, stream);
    strbuf_puts(b, "\",\"line\":");
    put_str(b, text, len);
    strbuf_puts(b, "}\n");
}

/* ---- connections ---- */

static void ctl_maybe_free(CtlServer *c)
{
    if (!c->free_requested || c->handles > 0)
        return;
    for (size_t i = 0; i < c->n_rings; i++) {
        Ring *r = &c->rings[i];
        for (size_t k = 0; k < r->n; k++)
            free(r->v[(r->head + k) % RING_LINES].text);
    }
    free(c->rings);
    free(c->path);
    secrets_free(&c->secrets);
    free(c);
}

/* A reason as a JSON string, with the project's secret values masked (the
 * log lines are masked by the log mux already). */
static json_t *reason_json(const CtlServer *c, const char *why)
{
    _cleanup_free_ char *masked = secrets_redact(&c->secrets, why, strlen(why), NULL);
    return json_string(masked ? masked : why);
}

static void conn_maybe_free(Conn *k)
{
    if (k->handles > 0 || k->works > 0)
        return;
    CtlServer *c = k->c;
    strbuf_free(&k->in);
    strbuf_free(&k->held);
    free(k->follow_sel);
    free(k->wait_sel);
    free(k);
    c->handles--;
    ctl_maybe_free(c);
}

static void on_conn_handle_closed(uv_handle_t *h)
{
    Conn *k = h->data;
    k->handles--;
    conn_maybe_free(k);
}

static void conn_close(Conn *k)
{
    if (k->closing)
        return;
    k->closing = true;
    if (k->follow)
        k->c->followers--;
    k->follow = false;
    k->events = false;
    k->waiting = false;
    if (k->next)
        k->next->pprev = k->pprev;
    *k->pprev = k->next;
    uv_close((uv_handle_t *)&k->pipe, on_conn_handle_closed);
    uv_close((uv_handle_t *)&k->wait_timer, on_conn_handle_closed);
}

typedef struct WriteReq {
    uv_write_t req;
    char data[];
} WriteReq;

static void on_written(uv_write_t *req, int status)
{
    (void)status;
    free(req);
}

/* Sends bytes: straight into the socket when it takes them, else queued.
 * A client that lets CONN_QUEUE_MAX pile up is dropped. */
static void conn_write(Conn *k, const char *data, size_t len)
{
    if (k->closing || len == 0)
        return;
    if (k->hold) {
        if (strbuf_append(&k->held, data, len) < 0)
            conn_close(k);
        return;
    }
    size_t done = 0;
    if (uv_stream_get_write_queue_size((uv_stream_t *)&k->pipe) == 0) {
        uv_buf_t b = uv_buf_init((char *)data, (unsigned)len);
        int r = uv_try_write((uv_stream_t *)&k->pipe, &b, 1);
        if (r > 0)
            done = (size_t)r;
        else if (r < 0 && r != UV_EAGAIN) {
            conn_close(k);
            return;
        }
    }
    if (done == len)
        return;
    if (uv_stream_get_write_queue_size((uv_stream_t *)&k->pipe) + len - done > CONN_QUEUE_MAX) {
        conn_close(k);
        return;
    }
    WriteReq *w = xmalloc(sizeof *w + len - done);
    memcpy(w->data, data + done, len - done);
    uv_buf_t b = uv_buf_init(w->data, (unsigned)(len - done));
    if (uv_write(&w->req, (uv_stream_t *)&k->pipe, &b, 1, on_written) < 0) {
        free(w);
        conn_close(k);
    }
}

static void conn_send(Conn *k, json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT);
    json_decref(v);
    if (!s)
        return;
    size_t n = strlen(s);
    StrBuf b;
    strbuf_init(&b, 0);
    strbuf_append(&b, s, n);
    strbuf_putc(&b, '\n');
    conn_write(k, b.data, b.len);
    strbuf_free(&b);
    free(s);
}

static json_t *reply(json_int_t id, bool ok)
{
    json_t *v = json_object();
    if (id >= 0)
        json_object_set_new(v, "id", json_integer(id));
    json_object_set_new(v, "ok", json_boolean(ok));
    return v;
}

static void conn_error(Conn *k, json_int_t id, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void conn_error(Conn *k, json_int_t id, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    _cleanup_free_ char *msg = xvasprintf(fmt, ap);
    va_end(ap);
    json_t *v = reply(id, false);
    json_object_set_new(v, "error", json_string(msg));
    conn_send(k, v);
}

static void conn_end(Conn *k, json_int_t id)
{
    json_t *v = json_object();
    if (id >= 0)
        json_object_set_new(v, "id", json_integer(id));
    json_object_set_new(v, "end", json_true());
    conn_send(k, v);
}

/* ---- services ---- */

static bool has_health(const ManagerView *v)
{
    const Service *s = v->def;
    if (s->probe.kind != PROBE_NONE)
        return true;
    return s->healthcheck.present && !s->healthcheck.disabled && s->healthcheck.test.n >= 2;
}

static const char *health_of(const ManagerView *v)
{
    if (!has_health(v))
        return NULL;
    switch (v->state) {
    case SS_RUNNING:
        return "starting";
    case SS_READY:
        return "healthy";
    case SS_UNHEALTHY:
        return "unhealthy";
    default:
        return NULL;
    }
}

static bool completed_ok(const ManagerView *v)
{
    return v->state == SS_EXITED && v->ever_ran && v->exit_status == 0 && v->term_signal == 0;
}

/* Reads "services": [names] into a per-service selection. NULL selection
 * (no names): the caller decides. false with an error sent. */
static bool parse_services(Conn *k, json_int_t id, json_t *req, bool **ret_sel)
{
    Manager *m = k->c->m;
    json_t *arr = json_object_get(req, "services");
    *ret_sel = NULL;
    if (!arr || json_is_null(arr) || (json_is_array(arr) && json_array_size(arr) == 0))
        return true;
    if (!json_is_array(arr)) {
        conn_error(k, id, "\"services\" must be a list of names");
        return false;
    }
    bool *sel = xcalloc(manager_size(m) + 1, sizeof(bool));
    size_t i;
    json_t *e;
    json_array_foreach(arr, i, e) {
        const char *name = json_string_value(e);
        ssize_t at = name ? manager_index(m, name) : -1;
        if (at < 0) {
            conn_error(k, id, "no service \"%s\" in the project", name ? name : "?");
            free(sel);
            return false;
        }
        sel[at] = true;
    }
    *ret_sel = sel;
    return true;
}

static json_t *svc_json(CtlServer *c, const ManagerView *v)
{
    const Service *s = v->def;
    json_t *o = json_object();
    json_object_set_new(o, "service", json_string(s->name));
    json_object_set_new(o, "runtime", json_string(runtime_kind_to_string(s->runtime)));
    json_object_set_new(o, "state", json_string(v->paused ? "paused" : service_state_to_string(v->state)));
    const char *h = health_of(v);
    json_object_set_new(o, "health", h ? json_string(h) : json_null());
    if (v->since_rt) {
        char ts[25];
        ctl_fmt_time(v->since_rt, ts);
        json_object_set_new(o, "since", json_string(ts));
    } else {
        json_object_set_new(o, "since", json_null());
    }
    json_object_set_new(o, "restarts", json_integer(v->restarts));
    json_t *ports = json_array();
    for (size_t i = 0; i < s->n_ports; i++) {
        const PortMapping *pm = &s->ports[i];
        char buf[128];
        if (pm->published_lo == 0)
            snprintf(buf, sizeof buf, "%u/%s", pm->target, pm->protocol);
        else if (pm->published_hi > pm->published_lo)
            snprintf(buf, sizeof buf, "%s:%u-%u->%u/%s", pm->host_ip, pm->published_lo, pm->published_hi,
                     pm->target, pm->protocol);
        else
            snprintf(buf, sizeof buf, "%s:%u->%u/%s", pm->host_ip, pm->published_lo, pm->target, pm->protocol);
        json_array_append_new(ports, json_string(buf));
    }
    if (s->runtime == RUNTIME_HOST && s->probe.port > 0 && s->n_ports == 0) {
        char buf[64];
        snprintf(buf, sizeof buf, "%s:%d", s->probe.host ? s->probe.host : "127.0.0.1", s->probe.port);
        json_array_append_new(ports, json_string(buf));
    }
    json_object_set_new(o, "ports", ports);
    json_object_set_new(o, "selected", json_boolean(v->selected));
    if (v->paused)
        json_object_set_new(o, "paused", json_true());
    if (v->pid > 0)
        json_object_set_new(o, "pid", json_integer(v->pid));
    if (v->ip)
        json_object_set_new(o, "ip", json_string(v->ip));
    if (s->runtime == RUNTIME_DOCKER) {
        char *name = docker_container_name(manager_project(c->m), s);
        json_object_set_new(o, "container", json_string(name));
        free(name);
    }
    if ((v->state == SS_EXITED || v->state == SS_FAILED || v->state == SS_BACKOFF) && v->ever_ran)
        json_object_set_new(o, "exit_status",
                            json_integer(v->term_signal ? 128 + v->term_signal : v->exit_status));
    if (v->reason && (v->state == SS_FAILED || v->state == SS_EXITED || v->state == SS_UNHEALTHY ||
                      v->state == SS_BACKOFF))
        json_object_set_new(o, "reason", reason_json(c, v->reason));
    json_object_set_new(o, "why", v->why ? reason_json(c, v->why) : json_string(""));
    return o;
}

static void cmd_ps(Conn *k, json_int_t id)
{
    CtlServer *c = k->c;
    Manager *m = c->m;
    json_t *v = reply(id, true);
    json_object_set_new(v, "project", json_string(manager_project(m)->name));
    json_object_set_new(v, "pid", json_integer(getpid()));
    json_object_set_new(v, "stopping", json_boolean(manager_stopping(m)));
    const Project *p = manager_project(m);
    json_t *files = json_array();
    for (size_t i = 0; i < p->config_files.n; i++)
        json_array_append_new(files, json_string(p->config_files.v[i]));
    json_object_set_new(v, "config_files", files);
    json_object_set_new(v, "working_dir", json_string(p->workdir));
    json_t *arr = json_array();
    for (size_t i = 0; i < manager_size(m); i++) {
        ManagerView sv;
        manager_view(m, i, &sv);
        json_array_append_new(arr, svc_json(c, &sv));
    }
    json_object_set_new(v, "services", arr);
    conn_send(k, v);
}

/* ---- wait ---- */

/* 1: reached; -1: cannot be reached any more; 0: not yet. */
static int wait_status(Manager *m, const ManagerView *v, CtlWaitCond cond)
{
    if (cond == CTL_WAIT_STOPPED)
        return v->done ? 1 : 0;
    if (!v->selected || v->state == SS_IDLE)
        return -1;
    switch (v->state) {
    case SS_FAILED:
        return -1;
    case SS_EXITED:
        return completed_ok(v) ? 1 : -1;
    case SS_READY:
        return cond == CTL_WAIT_COMPLETED ? 0 : 1;
    case SS_RUNNING:
    case SS_UNHEALTHY:
        if (cond == CTL_WAIT_STARTED)
            return 1;
        break;
    case SS_BACKOFF:
        if (cond == CTL_WAIT_STARTED && v->ever_ran)
            return 1; /* it started; it is crashing, which ps and logs will tell */
        break;
    default:
        break;
    }
    return manager_stopping(m) ? -1 : 0;
}

enum { JUDGE_NOW, JUDGE_TIMEOUT, JUDGE_STOPPED };

/* Answers a wait when it is decided (or timed out, or tend stopped); true
 * when answered. */
static bool wait_judge(Conn *k, int mode)
{
    Manager *m = k->c->m;
    int verdict = 1;
    json_t *list = json_array();
    for (size_t i = 0; i < manager_size(m); i++) {
        ManagerView sv, *v = &sv;
        manager_view(m, i, &sv);
        if (k->wait_sel ? !k->wait_sel[i] : !v->selected)
            continue;
        int st = wait_status(m, v, k->wait_cond);
        if (st < 0)
            verdict = -1;
        else if (st == 0 && verdict > 0)
            verdict = 0;
        json_t *o = json_object();
        json_object_set_new(o, "service", json_string(v->def->name));
        json_object_set_new(o, "state", json_string(v->paused ? "paused" : service_state_to_string(v->state)));
        json_object_set_new(o, "reached", json_boolean(st > 0));
        if (st <= 0) {
            const char *why = v->reason ? v->reason : v->probe_detail;
            if (!v->selected && k->wait_cond != CTL_WAIT_STOPPED)
                why = "not started by this tend up";
            else if (st < 0 && manager_stopping(m) && !why)
                why = "tend is stopping";
            if (why)
                json_object_set_new(o, "reason", reason_json(k->c, why));
        }
        json_array_append_new(list, o);
    }
    if (verdict == 0 && mode == JUDGE_STOPPED)
        verdict = -1;
    if (verdict == 0 && mode == JUDGE_NOW) {
        json_decref(list);
        return false;
    }
    json_t *r = reply(k->wait_id, true);
    json_object_set_new(r, "result", json_string(verdict > 0 ? "reached" : verdict < 0 ? "failed" : "timeout"));
    json_object_set_new(r, "condition", json_string(ctl_wait_cond_to_string(k->wait_cond)));
    json_object_set_new(r, "services", list);
    k->waiting = false;
    uv_timer_stop(&k->wait_timer);
    free(k->wait_sel);
    k->wait_sel = NULL;
    conn_send(k, r);
    return true;
}

static void on_wait_timer(uv_timer_t *t)
{
    Conn *k = t->data;
    if (k->waiting)
        wait_judge(k, JUDGE_TIMEOUT);
}

static void on_eval_timer(uv_timer_t *t)
{
    CtlServer *c = t->data;
    for (Conn *k = c->conns, *next; k; k = next) {
        next = k->next;
        if (k->waiting)
            wait_judge(k, JUDGE_NOW);
    }
}

static void cmd_wait(Conn *k, json_int_t id, json_t *req)
{
    if (k->waiting) {
        conn_error(k, id, "a wait is already in progress on this connection");
        return;
    }
    const char *cond = json_string_value(json_object_get(req, "condition"));
    CtlWaitCond cv = cond ? ctl_wait_cond_from_string(cond) : CTL_WAIT_HEALTHY;
    if (cv == _CTL_WAIT_INVALID) {
        conn_error(k, id, "unknown condition \"%s\" (healthy, completed, started or stopped)", cond);
        return;
    }
    bool *sel;
    if (!parse_services(k, id, req, &sel))
        return;
    k->waiting = true;
    k->wait_id = id;
    k->wait_cond = cv;
    k->wait_sel = sel;
    if (wait_judge(k, JUDGE_NOW))
        return;
    json_t *to = json_object_get(req, "timeout_ms");
    if (json_is_integer(to) && json_integer_value(to) >= 0)
        uv_timer_start(&k->wait_timer, on_wait_timer, (uint64_t)json_integer_value(to), 0);
}

/* ---- logs ---- */

typedef struct HistLine {
    char ts[25];
    const char *service;
    const char *stream;
    char *text;
    size_t len;
    size_t order;
} HistLine;

typedef struct HistFile {
    size_t ring; /* the service */
    int fd_old, fd_cur;
    int64_t size_old, size_cur;
    size_t skip_last;
    long tail;
    CtlLogLines lines; /* filled by the worker */
} HistFile;

typedef struct LogsWork {
    uv_work_t req;
    Conn *k;
    json_int_t id;
    char since[25];
    long tail;
    HistFile *files;
    size_t n_files;
    HistLine *ring_lines; /* taken from memory when the request came */
    size_t n_ring;
} LogsWork;

static int hist_cmp(const void *a, const void *b)
{
    const HistLine *x = a, *y = b;
    int c = strcmp(x->ts, y->ts);
    if (c)
        return c;
    return x->order < y->order ? -1 : x->order > y->order;
}

static const char *ring_name(CtlServer *c, size_t i)
{
    return i < c->n_rings - 1 ? c->p->services[i]->name : "tend";
}

/* Sends the history, merged by time, then the end (or, when following, the
 * lines that arrived meanwhile). */
static void logs_send(Conn *k, LogsWork *w)
{
    CtlServer *c = k->c;
    size_t total = w->n_ring;
    for (size_t i = 0; i < w->n_files; i++)
        total += w->files[i].lines.n;
    HistLine *all = xcalloc(total ? total : 1, sizeof *all);
    size_t n = 0;
    for (size_t i = 0; i < w->n_files; i++) {
        HistFile *f = &w->files[i];
        for (size_t j = 0; j < f->lines.n; j++) {
            CtlLogLine *l = &f->lines.v[j];
            HistLine *h = &all[n];
            memcpy(h->ts, l->ts, sizeof h->ts);
            h->service = ring_name(c, f->ring);
            h->stream = l->stream;
            h->text = l->text;
            h->len = strlen(l->text);
            h->order = n++;
        }
    }
    for (size_t i = 0; i < w->n_ring; i++) {
        all[n] = w->ring_lines[i];
        all[n].order = n;
        n++;
    }
    qsort(all, n, sizeof *all, hist_cmp);
    bool follow = k->follow;
    k->hold = false;
    StrBuf b;
    strbuf_init(&b, 0);
    for (size_t i = 0; i < n; i++) {
        put_log_line(&b, all[i].ts, all[i].service, all[i].stream, all[i].text, all[i].len);
        if (b.len > 65536) {
            conn_write(k, b.data, b.len);
            strbuf_reset(&b);
        }
    }
    conn_write(k, b.data, b.len);
    strbuf_free(&b);
    free(all);
    if (follow) {
        conn_write(k, k->held.data, k->held.len);
        strbuf_free(&k->held);
        strbuf_init(&k->held, CONN_QUEUE_MAX);
    } else {
        conn_end(k, w->id);
    }
}

static void logs_work_free(LogsWork *w)
{
    for (size_t i = 0; i < w->n_files; i++) {
        HistFile *f = &w->files[i];
        if (f->fd_old >= 0)
            close(f->fd_old);
        if (f->fd_cur >= 0)
            close(f->fd_cur);
        ctl_log_lines_free(&f->lines);
    }
    free(w->files);
    for (size_t i = 0; i < w->n_ring; i++)
        free(w->ring_lines[i].text);
    free(w->ring_lines);
    free(w);
}

static void logs_work(uv_work_t *req)
{
    LogsWork *w = req->data;
    for (size_t i = 0; i < w->n_files; i++) {
        HistFile *f = &w->files[i];
        ctl_log_read(f->fd_old, f->size_old, f->fd_cur, f->size_cur, w->since, f->tail, f->skip_last, &f->lines);
    }
}

static void logs_after_work(uv_work_t *req, int status)
{
    (void)status;
    LogsWork *w = req->data;
    Conn *k = w->k;
    k->works--;
    if (!k->closing)
        logs_send(k, w);
    logs_work_free(w);
    conn_maybe_free(k);
}

static void open_sized(const char *path, int *ret_fd, int64_t *ret_size)
{
    *ret_fd = open(path, O_RDONLY | O_CLOEXEC);
    *ret_size = 0;
    struct stat st;
    if (*ret_fd >= 0 && fstat(*ret_fd, &st) == 0)
        *ret_size = st.st_size;
}

static void cmd_logs(Conn *k, json_int_t id, json_t *req)
{
    CtlServer *c = k->c;
    Manager *m = c->m;
    if (k->follow) {
        conn_error(k, id, "this connection already follows logs");
        return;
    }
    bool *sel;
    if (!parse_services(k, id, req, &sel))
        return;
    size_t n = manager_size(m);
    if (!sel) {
        sel = xcalloc(n + 1, sizeof(bool));
        for (size_t i = 0; i <= n; i++)
            sel[i] = true;
    }
    LogsWork *w = xcalloc(1, sizeof *w);
    w->k = k;
    w->id = id;
    json_t *tail = json_object_get(req, "tail");
    w->tail = json_is_integer(tail) && json_integer_value(tail) >= 0 ? (long)json_integer_value(tail) : -1;
    const char *since = json_string_value(json_object_get(req, "since"));
    if (since && *since && ctl_parse_since(since, w->since) < 0) {
        conn_error(k, id, "\"since\": \"%s\" is not a time", since);
        free(sel);
        free(w);
        return;
    }
    const char *log_dir = manager_log_dir(m);
    for (size_t i = 0; i <= n; i++) {
        if (!sel[i])
            continue;
        Ring *r = &c->rings[i];
        /* The ring's lines at or after since, newest last. */
        size_t from = r->n;
        while (from > 0 && (w->tail < 0 || (long)(r->n - from) < w->tail)) {
            RingLine *l = &r->v[(r->head + from - 1) % RING_LINES];
            char ts[25];
            ctl_fmt_time(l->t, ts);
            if (w->since[0] && strcmp(ts, w->since) < 0)
                break;
            from--;
        }
        for (size_t j = from; j < r->n; j++) {
            RingLine *l = &r->v[(r->head + j) % RING_LINES];
            if (w->n_ring % 256 == 0)
                w->ring_lines = xrealloc(w->ring_lines, (w->n_ring + 256) * sizeof *w->ring_lines);
            HistLine *h = &w->ring_lines[w->n_ring++];
            ctl_fmt_time(l->t, h->ts);
            h->service = ring_name(c, i);
            h->stream = stream_name(l->stream);
            h->text = xstrndup(l->text, l->len);
            h->len = l->len;
        }
        /* More wanted than memory holds, and memory lost some: the files. */
        bool want_more = from == 0 && r->total > r->n && (w->tail < 0 || (long)r->n < w->tail);
        if (want_more && i < n) {
            w->files = xrealloc(w->files, (w->n_files + 1) * sizeof *w->files);
            HistFile *f = &w->files[w->n_files++];
            *f = (HistFile){.ring = i, .skip_last = r->n, .tail = w->tail < 0 ? -1 : w->tail - (long)r->n};
            _cleanup_free_ char *cur = ctl_log_path(log_dir, ring_name(c, i));
            _cleanup_free_ char *old = xasprintf("%s.1", cur);
            open_sized(old, &f->fd_old, &f->size_old);
            open_sized(cur, &f->fd_cur, &f->size_cur);
        }
    }
    conn_send(k, reply(id, true));
    if (json_is_true(json_object_get(req, "follow"))) {
        k->follow = true;
        k->follow_id = id;
        k->follow_sel = sel;
        sel = NULL;
        c->followers++;
    }
    free(sel);
    if (w->n_files == 0) {
        logs_send(k, w);
        logs_work_free(w);
        return;
    }
    /* Lines from now on wait in k->held until the history is out. */
    k->hold = true;
    strbuf_init(&k->held, CONN_QUEUE_MAX);
    k->works++;
    w->req.data = w;
    if (uv_queue_work(manager_loop(m), &w->req, logs_work, logs_after_work) < 0) {
        k->works--;
        logs_send(k, w);
        logs_work_free(w);
    }
}

/* ---- actions ---- */

/* The services an action asks for (parse_services); false with an error
 * sent when tend is stopping or a name is wrong. */
static bool action_services(Conn *k, json_int_t id, json_t *req, bool **ret_sel)
{
    if (manager_stopping(k->c->m)) {
        conn_error(k, id, "tend is stopping");
        return false;
    }
    return parse_services(k, id, req, ret_sel);
}

static void cmd_action(Conn *k, json_int_t id, json_t *req, const char *cmd)
{
    Manager *m = k->c->m;
    bool *sel;
    if (!action_services(k, id, req, &sel))
        return;
    json_t *done = json_array();
    ManagerAct act = streq(cmd, "stop") ? MANAGER_STOP : streq(cmd, "start") ? MANAGER_START : MANAGER_RESTART;
    /* stop: dependents first (reverse file order is the safe guess; the
     * manager itself stops what depends on nothing first during shutdown). */
    size_t n = manager_size(m);
    for (size_t j = 0; j < n; j++) {
        size_t i = act == MANAGER_STOP ? n - 1 - j : j;
        ManagerView v;
        manager_view(m, i, &v);
        if (sel ? !sel[i] : !v.selected)
            continue;
        manager_act(m, i, act, act == MANAGER_RESTART ? "restart asked for (tend restart)" : NULL);
        json_array_append_new(done, json_string(v.def->name));
    }
    free(sel);
    manager_flush(m);
    json_t *r = reply(id, true);
    json_object_set_new(r, "services", done);
    conn_send(k, r);
}

/* kill: the signal to the services that run (all selected ones without
 * "services"). The reply names those that got it. */
static void cmd_kill(Conn *k, json_int_t id, json_t *req)
{
    Manager *m = k->c->m;
    json_t *sv = json_object_get(req, "signal");
    int sig = json_is_integer(sv) ? (int)json_integer_value(sv) : SIGKILL;
    if (sig <= 0 || sig >= 65) {
        conn_error(k, id, "bad signal %d", sig);
        return;
    }
    bool *sel;
    if (!action_services(k, id, req, &sel))
        return;
    json_t *done = json_array();
    size_t n = manager_size(m);
    for (size_t j = 0; j < n; j++) {
        size_t i = n - 1 - j; /* dependents first, as stop */
        ManagerView v;
        manager_view(m, i, &v);
        if (sel ? !sel[i] : !v.selected)
            continue;
        if (manager_kill(m, i, sig) == 0)
            json_array_append_new(done, json_string(v.def->name));
    }
    free(sel);
    json_t *r = reply(id, true);
    json_object_set_new(r, "services", done);
    conn_send(k, r);
}

/* pause/unpause: answered once every service asked for is frozen (or
 * thawed): a container's pause is a request to the engine. */
typedef struct PauseReq {
    Conn *k;
    json_int_t id;
    int left;
    json_t *done;   /* names */
    json_t *errors; /* "service: message" */
} PauseReq;

static void pause_finish(PauseReq *pr)
{
    Conn *k = pr->k;
    if (!k->closing) {
        json_t *r = reply(pr->id, json_array_size(pr->errors) == 0);
        json_object_set_new(r, "services", pr->done);
        if (json_array_size(pr->errors)) {
            _cleanup_free_ char *msg = NULL;
            StrBuf b;
            strbuf_init(&b, 0);
            size_t i;
            json_t *e;
            json_array_foreach(pr->errors, i, e)
                strbuf_printf(&b, "%s%s", i ? "; " : "", json_string_value(e));
            msg = strbuf_steal(&b);
            json_object_set_new(r, "error", json_string(msg));
        }
        conn_send(k, r);
    } else {
        json_decref(pr->done);
    }
    json_decref(pr->errors);
    free(pr);
    k->works--;
    conn_maybe_free(k);
}

typedef struct PauseOne {
    PauseReq *pr;
    char *name;
} PauseOne;

static void on_pause_done(void *ud, const char *err)
{
    PauseOne *one = ud;
    PauseReq *pr = one->pr;
    if (err) {
        _cleanup_free_ char *e = xasprintf("%s: %s", one->name, err);
        json_array_append_new(pr->errors, json_string(e));
    } else {
        json_array_append_new(pr->done, json_string(one->name));
    }
    free(one->name);
    free(one);
    if (--pr->left == 0)
        pause_finish(pr);
}

static void cmd_pause(Conn *k, json_int_t id, json_t *req, bool pause)
{
    Manager *m = k->c->m;
    bool *sel;
    if (!action_services(k, id, req, &sel))
        return;
    PauseReq *pr = xcalloc(1, sizeof *pr);
    pr->k = k;
    pr->id = id;
    pr->left = 1; /* this function's own hold, dropped at its end */
    pr->done = json_array();
    pr->errors = json_array();
    k->works++;
    for (size_t i = 0; i < manager_size(m); i++) {
        ManagerView v;
        manager_view(m, i, &v);
        if (sel ? !sel[i] : !v.selected)
            continue;
        PauseOne *one = xcalloc(1, sizeof *one);
        one->pr = pr;
        one->name = xstrdup(v.def->name);
        pr->left++;
        int r = manager_pause(m, i, pause, on_pause_done, one);
        if (r < 0) { /* not running: nothing to do, as compose says nothing */
            pr->left--;
            free(one->name);
            free(one);
        }
    }
    free(sel);
    if (--pr->left == 0)
        pause_finish(pr);
}

/* ---- requests ---- */

static void handle_line(Conn *k, const char *line, size_t len)
{
    CtlServer *c = k->c;
    json_error_t je;
    json_t *req = json_loadb(line, len, 0, &je);
    if (!json_is_object(req)) {
        json_decref(req);
        conn_error(k, -1, "not a JSON object: %s", je.text);
        return;
    }
    json_t *idv = json_object_get(req, "id");
    json_int_t id = json_is_integer(idv) ? json_integer_value(idv) : -1;
    const char *cmd = json_string_value(json_object_get(req, "cmd"));
    if (!cmd)
        conn_error(k, id, "no \"cmd\"");
    else if (streq(cmd, "ps"))
        cmd_ps(k, id);
    else if (streq(cmd, "logs"))
        cmd_logs(k, id, req);
    else if (streq(cmd, "wait"))
        cmd_wait(k, id, req);
    else if (streq(cmd, "events")) {
        k->events = true;
        json_t *r = reply(id, true);
        conn_send(k, r);
    } else if (streq(cmd, "restart") || streq(cmd, "stop") || streq(cmd, "start"))
        cmd_action(k, id, req, cmd);
    else if (streq(cmd, "kill"))
        cmd_kill(k, id, req);
    else if (streq(cmd, "pause") || streq(cmd, "unpause"))
        cmd_pause(k, id, req, streq(cmd, "pause"));
    else if (streq(cmd, "down")) {
        conn_send(k, reply(id, true));
        manager_say(c->m, MANAGER_NONE, "tend down asked to stop");
        manager_shutdown(c->m, "asked by tend down");
    } else
        conn_error(k, id, "unknown command \"%s\"", cmd);
    json_decref(req);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    (void)suggested;
    static char slab[65536];
    *buf = uv_buf_init(slab, sizeof slab);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    Conn *k = s->data;
    if (nread < 0) {
        conn_close(k);
        return;
    }
    const char *p = buf->base, *end = p + nread;
    while (p < end && !k->closing) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl) {
            if (strbuf_append(&k->in, p, (size_t)(end - p)) < 0) {
                conn_error(k, -1, "request line longer than %d bytes", CTL_LINE_MAX);
                conn_close(k);
            }
            break;
        }
        if (k->in.len) {
            if (strbuf_append(&k->in, p, (size_t)(nl - p)) < 0) {
                conn_close(k);
                break;
            }
            _cleanup_free_ char *line = strbuf_steal(&k->in);
            handle_line(k, line, strlen(line));
        } else if (nl > p) {
            handle_line(k, p, (size_t)(nl - p));
        }
        p = nl + 1;
    }
}

static void on_connection(uv_stream_t *server, int status)
{
    CtlServer *c = server->data;
    if (status < 0)
        return;
    Conn *k = xcalloc(1, sizeof *k);
    k->c = c;
    strbuf_init(&k->in, CTL_LINE_MAX);
    uv_pipe_init(manager_loop(c->m), &k->pipe, 0);
    k->pipe.data = k;
    uv_timer_init(manager_loop(c->m), &k->wait_timer);
    k->wait_timer.data = k;
    k->handles = 2;
    c->handles++;
    k->next = c->conns;
    if (c->conns)
        c->conns->pprev = &k->next;
    k->pprev = &c->conns;
    c->conns = k;
    if (uv_accept(server, (uv_stream_t *)&k->pipe) < 0) {
        conn_close(k);
        return;
    }
    uv_os_fd_t fd;
    struct ucred cred;
    socklen_t cl = sizeof cred;
    if (uv_fileno((uv_handle_t *)&k->pipe, &fd) < 0 || getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0 ||
        cred.uid != geteuid()) {
        json_t *v = json_object();
        json_object_set_new(v, "tend", json_integer(CTL_PROTOCOL));
        json_object_set_new(v, "error", json_string("permission denied: this tend belongs to another user"));
        conn_send(k, v);
        conn_close(k);
        return;
    }
    json_t *hello = json_object();
    json_object_set_new(hello, "tend", json_integer(CTL_PROTOCOL));
    json_object_set_new(hello, "pid", json_integer(getpid()));
    json_object_set_new(hello, "project", json_string(c->p->name));
    json_object_set_new(hello, "version", json_string(TEND_VERSION));
    conn_send(k, hello);
    uv_read_start((uv_stream_t *)&k->pipe, on_alloc, on_read);
}

/* ---- listening ---- */

static int mkdir_parents(const char *path)
{
    _cleanup_free_ char *dir = path_dirname(path);
    for (char *s = dir + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
            return -errno;
        *s = '/';
    }
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        return -errno;
    return 0;
}

static void on_ctl_handle_closed(uv_handle_t *h)
{
    CtlServer *c = h->data;
    c->handles--;
    ctl_maybe_free(c);
}

static int ctl_listen(CtlServer *c)
{
    Manager *m = c->m;
    _cleanup_free_ char *path = ctl_socket_path(c->p);
    pid_t other = 0;
    int r = ctl_probe(path, &other);
    if (r > 0) {
        manager_say(m, MANAGER_NONE, "warning: another tend (pid %d) runs this project; no control socket",
                    (int)other);
        return -EADDRINUSE;
    }
    r = mkdir_parents(path);
    if (r < 0)
        return r;
    uv_pipe_init(manager_loop(m), &c->server, 0);
    c->server.data = c;
    c->handles++;
    /* Made 0600 from the start: never, even for a moment, more open. */
    mode_t old = umask(0177);
    r = uv_pipe_bind(&c->server, path);
    umask(old);
    if (r == UV_EADDRINUSE) {
        unlink(path);
        old = umask(0177);
        r = uv_pipe_bind(&c->server, path);
        umask(old);
    }
    if (r == 0) {
        c->path = TAKE_PTR(path);
        r = uv_listen((uv_stream_t *)&c->server, 64, on_connection);
    }
    if (r < 0) {
        uv_close((uv_handle_t *)&c->server, on_ctl_handle_closed);
        if (c->path) {
            unlink(c->path);
            free(c->path);
            c->path = NULL;
        }
        return r;
    }
    c->listening = true;
    return 0;
}

/* ---- what the manager tells ---- */

static void broadcast_event(CtlServer *c, StrBuf *b)
{
    for (Conn *k = c->conns, *next; k; k = next) {
        next = k->next;
        if (k->events)
            conn_write(k, b->data, b->len);
    }
}

static bool any_events(const CtlServer *c)
{
    for (Conn *k = c->conns; k; k = k->next)
        if (k->events)
            return true;
    return false;
}

static void event_head(StrBuf *b, const char *event, const char *service)
{
    char ts[25];
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    ctl_fmt_time((int64_t)now.tv_sec * 1000000000LL + now.tv_nsec, ts);
    strbuf_printf(b, "{\"event\":\"%s\",\"time\":\"%s\"", event, ts);
    if (service) {
        strbuf_puts(b, ",\"service\":");
        put_str(b, service, strlen(service));
    }
}

static void on_reload(void *data, size_t i, const char *what)
{
    CtlServer *c = data;
    if (!any_events(c))
        return;
    StrBuf b;
    strbuf_init(&b, 0);
    event_head(&b, "reload", c->p->services[i]->name);
    strbuf_puts(&b, ",\"what\":");
    put_str(&b, what ? what : "", what ? strlen(what) : 0);
    strbuf_puts(&b, "}\n");
    broadcast_event(c, &b);
    strbuf_free(&b);
}

static void on_other(void *data, size_t i, const char *what, const char *line)
{
    CtlServer *c = data;
    if (!any_events(c))
        return;
    StrBuf b;
    strbuf_init(&b, 0);
    event_head(&b, "outside", c->p->services[i]->name);
    strbuf_puts(&b, ",\"what\":");
    put_str(&b, what, strlen(what));
    strbuf_puts(&b, ",\"message\":");
    put_str(&b, line, strlen(line));
    strbuf_puts(&b, "}\n");
    broadcast_event(c, &b);
    strbuf_free(&b);
}

static void on_state(void *data, size_t i, ServiceState from, ServiceState to, const char *reason)
{
    CtlServer *c = data;
    _cleanup_free_ char *masked = reason ? secrets_redact(&c->secrets, reason, strlen(reason), NULL) : NULL;
    if (masked)
        reason = masked;
    bool any_waits = false;
    for (Conn *k = c->conns; k; k = k->next)
        any_waits |= k->waiting;
    if (any_waits)
        uv_timer_start(&c->eval_timer, on_eval_timer, 0, 0);
    if (!any_events(c))
        return;
    ManagerView v;
    manager_view(c->m, i, &v);
    StrBuf b;
    strbuf_init(&b, 0);
    event_head(&b, "state", v.def->name);
    strbuf_printf(&b, ",\"from\":\"%s\",\"to\":\"%s\",\"reason\":", service_state_to_string(from),
                  service_state_to_string(to));
    if (reason)
        put_str(&b, reason, strlen(reason));
    else
        strbuf_puts(&b, "null");
    strbuf_puts(&b, "}\n");
    if (has_health(&v) && (to == SS_UNHEALTHY || (to == SS_READY && (from == SS_RUNNING || from == SS_UNHEALTHY)))) {
        event_head(&b, "health", v.def->name);
        strbuf_printf(&b, ",\"status\":\"%s\"", to == SS_READY ? "healthy" : "unhealthy");
        if (to == SS_UNHEALTHY && reason) {
            strbuf_puts(&b, ",\"reason\":");
            put_str(&b, reason, strlen(reason));
        }
        strbuf_puts(&b, "}\n");
    }
    broadcast_event(c, &b);
    strbuf_free(&b);
}

static void on_log(void *data, const char *service, int stream, const char *line, size_t len, int64_t t)
{
    CtlServer *c = data;
    size_t ri;
    if (service == c->last_name) {
        ri = c->last_ring;
    } else {
        ssize_t at = service ? manager_index(c->m, service) : -1;
        ri = at >= 0 ? (size_t)at : c->n_rings - 1;
        c->last_name = service;
        c->last_ring = ri;
    }
    Ring *r = &c->rings[ri];
    while (r->n > 0 && (r->n == RING_LINES || r->bytes + len > RING_BYTES)) {
        RingLine *old = &r->v[r->head];
        r->bytes -= old->len;
        free(old->text);
        old->text = NULL;
        r->head = (r->head + 1) % RING_LINES;
        r->n--;
    }
    RingLine *l = &r->v[(r->head + r->n) % RING_LINES];
    l->t = t;
    l->stream = stream;
    l->len = len;
    l->text = xstrndup(line, len);
    r->n++;
    r->bytes += len;
    r->total++;
    if (c->followers == 0)
        return;
    StrBuf b;
    strbuf_init(&b, 0);
    char ts[25];
    ctl_fmt_time(t, ts);
    put_log_line(&b, ts, service, stream_name(stream), line, len);
    for (Conn *k = c->conns, *next; k; k = next) {
        next = k->next;
        if (k->follow && (!k->follow_sel || k->follow_sel[ri]))
            conn_write(k, b.data, b.len);
    }
    strbuf_free(&b);
}

static void on_ready(void *data, int64_t elapsed_ns)
{
    CtlServer *c = data;
    StrBuf b;
    strbuf_init(&b, 0);
    event_head(&b, "ready", NULL);
    strbuf_printf(&b, ",\"elapsed_ms\":%lld}\n", (long long)(elapsed_ns / 1000000));
    broadcast_event(c, &b);
    strbuf_free(&b);
}

/* Everything stopped: tell the clients, end their streams and waits, and
 * stop listening (the socket file goes). */
static void on_stop(void *data)
{
    CtlServer *c = data;
    if (c->stopped)
        return;
    c->stopped = true;
    if (c->listening) {
        c->listening = false;
        uv_close((uv_handle_t *)&c->server, on_ctl_handle_closed);
    }
    if (c->path) {
        unlink(c->path);
        free(c->path);
        c->path = NULL;
    }
    StrBuf b;
    strbuf_init(&b, 0);
    event_head(&b, "stopped", NULL);
    const char *why = manager_end_reason(c->m);
    if (why) {
        strbuf_puts(&b, ",\"reason\":");
        put_str(&b, why, strlen(why));
    }
    strbuf_puts(&b, "}\n");
    for (Conn *k = c->conns, *next; k; k = next) {
        next = k->next;
        if (k->waiting)
            wait_judge(k, JUDGE_STOPPED);
        if (k->events)
            conn_write(k, b.data, b.len);
        if (k->follow && !k->hold)
            conn_end(k, k->follow_id);
    }
    strbuf_free(&b);
    for (Conn *k = c->conns, *next; k; k = next) {
        next = k->next;
        conn_close(k);
    }
}

static void on_free(void *data)
{
    CtlServer *c = data;
    on_stop(c);
    c->free_requested = true;
    uv_close((uv_handle_t *)&c->eval_timer, on_ctl_handle_closed);
}

int ctl_server_attach(Manager *m)
{
    static const ManagerObserver ob = {
        .state = on_state,
        .log = on_log,
        .ready = on_ready,
        .reload = on_reload,
        .other = on_other,
        .stop = on_stop,
        .free = on_free,
    };
    CtlServer *c = xcalloc(1, sizeof *c);
    c->m = m;
    c->p = manager_project(m);
    project_secrets(c->p, &c->secrets);
    c->n_rings = manager_size(m) + 1;
    c->rings = xcalloc(c->n_rings, sizeof(Ring));
    uv_timer_init(manager_loop(m), &c->eval_timer);
    c->eval_timer.data = c;
    c->handles++;
    int r = manager_observe(m, &ob, c);
    if (r < 0) {
        c->free_requested = true;
        uv_close((uv_handle_t *)&c->eval_timer, on_ctl_handle_closed);
        return r;
    }
    r = ctl_listen(c);
    if (r < 0 && r != -EADDRINUSE) {
        _cleanup_free_ char *path = ctl_socket_path(c->p);
        manager_say(m, MANAGER_NONE,
                    "warning: no control socket at %s: %s (tend ps/logs/wait will not see this run)", path,
                    uv_strerror(r));
    }
    return r;
}
