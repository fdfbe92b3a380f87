/* outside: who ended a container, from the engine's events, and how a
 * container another client made differs from the file. No I/O.
 *
 * The engine's events do not name the client that caused them, but the
 * API calls leave distinct traces: `docker kill -s S` is a "kill" event
 * with signal S; `docker stop` is a "kill" with the stop signal, the
 * "die", then a "stop"; `docker rm -f` is a "kill" 9, the "die", then a
 * "destroy" (and the container is "removing" or gone as soon as it has
 * died); an OOM kill is an "oom" event (and State.OOMKilled). tend itself
 * only ever signals a container it follows through /kill, so the kill
 * events it caused are matched against the signals it sent, and whatever
 * is left was another client. */
#include "engine/outside.h"

#include "lib/util.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool ctr_end_by_other(const CtrEnd *e)
{
    return e->how == CTR_END_KILLED || e->how == CTR_END_STOPPED || e->how == CTR_END_REMOVED;
}

void ctrtrack_sent(CtrTrack *t, int sig, bool stopping)
{
    if (t->n_sent == CTR_TRACK_SENT_MAX) {
        memmove(t->sent, t->sent + 1, sizeof(t->sent) - sizeof(t->sent[0]));
        t->n_sent--;
    }
    t->sent[t->n_sent++] = sig;
    if (stopping) {
        /* What another client sent before did not end it: tend's stop does. */
        t->tend_stopping = true;
        t->other_signal = 0;
        t->other_soft = false;
    }
}

void ctrtrack_event(CtrTrack *t, const char *action, const char *signal)
{
    if (!action)
        return;
    if (streq(action, "kill")) {
        int sig = signal ? atoi(signal) : 0;
        for (size_t i = 0; i < t->n_sent; i++)
            if (t->sent[i] == sig) {
                memmove(t->sent + i, t->sent + i + 1, (t->n_sent - i - 1) * sizeof(t->sent[0]));
                t->n_sent--;
                return; /* tend's own */
            }
        if (sig > 0)
            t->other_signal = sig;
        if (sig > 0 && sig != SIGKILL)
            t->other_soft = true;
    } else if (streq(action, "stop")) {
        t->stopped = true;
    } else if (streq(action, "destroy")) {
        t->removed = true;
    } else if (streq(action, "oom")) {
        t->oom = true;
    } else if (streq(action, "die")) {
        t->died = true;
    } else if (streq(action, "start")) {
        if (t->died)
            t->started_again = true;
    }
}

bool ctrtrack_unexpected(const CtrTrack *t)
{
    return !t->tend_stopping || t->other_signal || t->stopped || t->removed || t->oom;
}

bool ctrtrack_settled(const CtrTrack *t, bool gone)
{
    return !t->other_soft || t->stopped || t->removed || gone;
}

CtrEnd ctrtrack_end(const CtrTrack *t, int64_t status, bool gone, bool oom_killed)
{
    CtrEnd e = {.how = CTR_END_EXIT, .status = status};
    bool removed = t->removed || gone;
    /* A stop ended it, whatever came after (docker compose down and a
     * recreation stop, then remove). `docker rm -f` kills with SIGKILL; a
     * removal after another signal was a stop whose event is not in yet. */
    if (t->stopped || (removed && t->other_soft)) {
        e.how = CTR_END_STOPPED;
        e.removed = removed;
    } else if (removed)
        e.how = CTR_END_REMOVED;
    else if (t->other_signal)
        e.how = CTR_END_KILLED;
    else if (t->oom || oom_killed)
        e.how = CTR_END_OOM;
    if (e.how == CTR_END_KILLED)
        e.signal = t->other_signal;
    return e;
}

const char *ctr_signal_name(int sig, char *buf, size_t size)
{
    const char *n = sig > 0 ? sigabbrev_np(sig) : NULL;
    if (n)
        snprintf(buf, size, "%s", n);
    else
        snprintf(buf, size, "%d", sig);
    return buf;
}

const char *ctr_end_describe(const CtrEnd *e, char *buf, size_t size)
{
    char sig[16];
    switch (e->how) {
    case CTR_END_REMOVED:
        snprintf(buf, size, "removed by another client (docker rm)");
        break;
    case CTR_END_STOPPED:
        snprintf(buf, size, e->removed ? "stopped and removed by another client (docker compose down or up, or docker stop and rm)"
                                       : "stopped by another client (docker stop)");
        break;
    case CTR_END_KILLED:
        snprintf(buf, size, "killed by another client with SIG%s (docker kill)",
                 ctr_signal_name(e->signal, sig, sizeof sig));
        break;
    case CTR_END_OOM:
        snprintf(buf, size, "killed by the kernel: out of memory (OOM)");
        break;
    default:
        snprintf(buf, size, "%s", "");
        break;
    }
    return buf;
}

/* ---- the difference of two configurations ---- */

static void diff_item(StrBuf *out, const char *what, const char *detail)
{
    strbuf_printf(out, "%s%s", out->len ? ", " : "", what);
    if (detail && *detail)
        strbuf_printf(out, " (%s)", detail);
}

/* Whether two JSON values are equal, a missing value and null and an
 * empty array being the same. */
static bool same_json(json_t *a, json_t *b)
{
    bool a_none = !a || json_is_null(a) || (json_is_array(a) && json_array_size(a) == 0);
    bool b_none = !b || json_is_null(b) || (json_is_array(b) && json_array_size(b) == 0);
    if (a_none || b_none)
        return a_none && b_none;
    return json_equal(a, b);
}

/* "KEY" of "KEY=VALUE" in env list `l`: its value, or NULL. */
static const char *env_value(json_t *l, const char *key, size_t klen)
{
    size_t i;
    json_t *e;
    json_array_foreach(l, i, e)
    {
        const char *s = json_string_value(e);
        if (s && strncmp(s, key, klen) == 0 && s[klen] == '=')
            return s + klen + 1;
    }
    return NULL;
}

/* The file's variables the container lacks or has with another value,
 * and the container's that are neither the file's nor its image's. */
static void diff_env(StrBuf *out, json_t *want, json_t *have, json_t *image)
{
    StrBuf names;
    strbuf_init(&names, 4096);
    size_t i;
    json_t *e;
    json_array_foreach(want, i, e)
    {
        const char *s = json_string_value(e);
        const char *eq = s ? strchr(s, '=') : NULL;
        if (!eq)
            continue;
        const char *v = env_value(have, s, (size_t)(eq - s));
        if (!v || !streq(v, eq + 1))
            strbuf_printf(&names, "%s%.*s", names.len ? ", " : "", (int)(eq - s), s);
    }
    json_array_foreach(have, i, e)
    {
        const char *s = json_string_value(e);
        const char *eq = s ? strchr(s, '=') : NULL;
        if (!eq || env_value(want, s, (size_t)(eq - s)))
            continue;
        const char *iv = env_value(image, s, (size_t)(eq - s));
        if (!iv || !streq(iv, eq + 1))
            strbuf_printf(&names, "%s%.*s", names.len ? ", " : "", (int)(eq - s), s);
    }
    if (names.len)
        diff_item(out, "environment", names.data);
    strbuf_free(&names);
}

/* The port bindings as "ip:port->target" strings, sorted. */
static void ports_list(json_t *bindings, StrVec *ret)
{
    const char *target;
    json_t *arr;
    json_object_foreach(bindings, target, arr)
    {
        size_t i;
        json_t *b;
        json_array_foreach(arr, i, b)
        {
            const char *ip = json_string_value(json_object_get(b, "HostIp"));
            const char *port = json_string_value(json_object_get(b, "HostPort"));
            if (!ip || !*ip || streq(ip, "::"))
                ip = "0.0.0.0";
            strvec_push_take(ret, xasprintf("%s:%s->%s", ip, port && *port ? port : "*", target));
        }
    }
    strvec_sort(ret);
}

static void join(StrBuf *b, const StrVec *v)
{
    for (size_t i = 0; i < v->n; i++)
        strbuf_printf(b, "%s%s", i ? " " : "", v->v[i]);
    if (!v->n)
        strbuf_puts(b, "none");
}

static void diff_ports(StrBuf *out, json_t *want, json_t *have)
{
    StrVec w = {0}, h = {0};
    ports_list(want, &w);
    ports_list(have, &h);
    bool same = w.n == h.n;
    for (size_t i = 0; same && i < w.n; i++)
        same = streq(w.v[i], h.v[i]);
    if (!same) {
        StrBuf d;
        strbuf_init(&d, 4096);
        strbuf_puts(&d, "tend: ");
        join(&d, &w);
        strbuf_puts(&d, ", the container: ");
        join(&d, &h);
        diff_item(out, "ports", d.data);
        strbuf_free(&d);
    }
    strvec_free(&w);
    strvec_free(&h);
}

/* Mounts: the file's by target against the container's (inspect's
 * top-level "Mounts"), plus binds the container has and the file not
 * (volumes it has beyond the file's may be its image's). */
static void diff_mounts(StrBuf *out, json_t *want, json_t *have)
{
    StrBuf d;
    strbuf_init(&d, 4096);
    size_t i;
    json_t *m;
    json_array_foreach(want, i, m)
    {
        const char *target = json_string_value(json_object_get(m, "Target"));
        const char *type = json_string_value(json_object_get(m, "Type"));
        const char *src = json_string_value(json_object_get(m, "Source"));
        if (!target || !type)
            continue;
        json_t *found = NULL;
        size_t k;
        json_t *hm;
        json_array_foreach(have, k, hm)
        {
            const char *dst = json_string_value(json_object_get(hm, "Destination"));
            if (dst && streq(dst, target))
                found = hm;
        }
        const char *htype = json_string_value(json_object_get(found, "Type"));
        const char *hsrc = json_string_value(json_object_get(found, streq(type, "volume") ? "Name" : "Source"));
        bool same = found && htype && streq(htype, type);
        if (same && src && !streq(type, "tmpfs"))
            same = hsrc && streq(hsrc, src);
        if (!same)
            strbuf_printf(&d, "%s%s", d.len ? ", " : "", target);
    }
    json_array_foreach(have, i, m)
    {
        const char *dst = json_string_value(json_object_get(m, "Destination"));
        const char *type = json_string_value(json_object_get(m, "Type"));
        if (!dst || !type || !streq(type, "bind"))
            continue;
        bool known = false;
        size_t k;
        json_t *wm;
        json_array_foreach(want, k, wm)
        {
            const char *t = json_string_value(json_object_get(wm, "Target"));
            known |= t && streq(t, dst);
        }
        if (!known)
            strbuf_printf(&d, "%s%s", d.len ? ", " : "", dst);
    }
    if (d.len)
        diff_item(out, "volumes", d.data);
    strbuf_free(&d);
}

/* The file's labels (not Compose's own) that the container lacks or has
 * with another value, and the container's that are neither the file's
 * nor its image's. */
static void diff_labels(StrBuf *out, json_t *want, json_t *have, json_t *image)
{
    StrBuf d;
    strbuf_init(&d, 4096);
    const char *k;
    json_t *v;
    json_object_foreach(want, k, v)
    {
        if (str_startswith(k, "com.docker.compose."))
            continue;
        const char *hv = json_string_value(json_object_get(have, k));
        if (!hv || !streq(hv, json_string_value(v) ? json_string_value(v) : ""))
            strbuf_printf(&d, "%s%s", d.len ? ", " : "", k);
    }
    json_object_foreach(have, k, v)
    {
        if (str_startswith(k, "com.docker.compose.") || json_object_get(want, k))
            continue;
        const char *iv = json_string_value(json_object_get(image, k));
        if (!iv || !streq(iv, json_string_value(v) ? json_string_value(v) : ""))
            strbuf_printf(&d, "%s%s", d.len ? ", " : "", k);
    }
    if (d.len)
        diff_item(out, "labels", d.data);
    strbuf_free(&d);
}

char *ctr_config_diff(json_t *want, json_t *have, json_t *image)
{
    json_t *icfg = json_object_get(image, "Config");
    StrBuf out;
    strbuf_init(&out, 64 * 1024);
    json_t *cfg = json_object_get(have, "Config");
    json_t *whc = json_object_get(want, "HostConfig");
    json_t *hhc = json_object_get(have, "HostConfig");

    const char *wi = json_string_value(json_object_get(want, "Image"));
    const char *hi = json_string_value(json_object_get(cfg, "Image"));
    if (wi && (!hi || !streq(wi, hi))) {
        char *d = xasprintf("tend: %s, the container: %s", wi, hi ? hi : "?");
        diff_item(&out, "image", d);
        free(d);
    }
    if (json_object_get(want, "Cmd") && !same_json(json_object_get(want, "Cmd"), json_object_get(cfg, "Cmd")))
        diff_item(&out, "command", NULL);
    if (json_object_get(want, "Entrypoint") &&
        !same_json(json_object_get(want, "Entrypoint"), json_object_get(cfg, "Entrypoint")))
        diff_item(&out, "entrypoint", NULL);
    diff_env(&out, json_object_get(want, "Env"), json_object_get(cfg, "Env"), json_object_get(icfg, "Env"));
    static const struct {
        const char *key, *name;
    } plain[] = {{"WorkingDir", "working_dir"}, {"User", "user"}};
    for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++) {
        const char *w = json_string_value(json_object_get(want, plain[i].key));
        const char *h = json_string_value(json_object_get(cfg, plain[i].key));
        if (w && (!h || !streq(w, h)))
            diff_item(&out, plain[i].name, NULL);
    }
    diff_mounts(&out, json_object_get(whc, "Mounts"), json_object_get(have, "Mounts"));
    diff_ports(&out, json_object_get(whc, "PortBindings"), json_object_get(hhc, "PortBindings"));
    diff_labels(&out, json_object_get(want, "Labels"), json_object_get(cfg, "Labels"),
                json_object_get(icfg, "Labels"));
    json_t *wt = json_object_get(json_object_get(want, "Healthcheck"), "Test");
    json_t *ht = json_object_get(json_object_get(cfg, "Healthcheck"), "Test");
    if (wt && !same_json(wt, ht))
        diff_item(&out, "healthcheck", NULL);
    if (!out.len) {
        strbuf_free(&out);
        return NULL;
    }
    return strbuf_steal(&out);
}
