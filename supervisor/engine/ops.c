/* ops: a command's session with the engine, the project's containers by
 * label, and image pulls (see ops.h). The session runs its private loop
 * only while a request of its own is waited for. */
#include "engine/ops.h"

#include "engine/docker.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct OpsSession {
    uv_loop_t loop;
    Engine *e;
};

typedef struct Call {
    bool done;
    int status;
    json_t *body;
    char *err;
} Call;

static void on_call(void *ud, int status, json_t *body, const char *err)
{
    Call *c = ud;
    c->done = true;
    c->status = status;
    c->body = body ? json_incref(body) : NULL;
    c->err = err ? xstrdup(err) : NULL;
}

static void on_connected(void *ud, bool ok, const char *err)
{
    Call *c = ud;
    c->done = true;
    c->status = ok ? 200 : 0;
    c->err = ok ? NULL : xstrdup(err ? err : "cannot reach the Docker engine");
}

OpsSession *ops_open(char **ret_err)
{
    OpsSession *s = xcalloc(1, sizeof *s);
    uv_loop_init(&s->loop);
    char *err = NULL;
    s->e = engine_new(&s->loop, NULL, &err);
    if (!s->e) {
        uv_loop_close(&s->loop);
        free(s);
        *ret_err = err ? err : xstrdup("cannot use the Docker engine");
        return NULL;
    }
    Call c = {0};
    engine_connect(s->e, on_connected, &c);
    ops_wait(s, &c.done);
    if (!c.done || c.err) {
        *ret_err = c.err ? c.err : xstrdup("cannot reach the Docker engine");
        ops_close(s);
        return NULL;
    }
    return s;
}

void ops_close(OpsSession *s)
{
    if (!s)
        return;
    engine_free(s->e);
    uv_run(&s->loop, UV_RUN_DEFAULT);
    uv_loop_close(&s->loop);
    free(s);
}

Engine *ops_engine(OpsSession *s)
{
    return s->e;
}

uv_loop_t *ops_loop(OpsSession *s)
{
    return &s->loop;
}

void ops_wait(OpsSession *s, const bool *done)
{
    while (!*done && uv_run(&s->loop, UV_RUN_ONCE))
        ;
}

int ops_call(OpsSession *s, const char *method, const char *path, json_t *body, json_t **ret_body,
             char **ret_err)
{
    Call c = {0};
    engine_request(s->e, method, path, body, on_call, &c);
    ops_wait(s, &c.done);
    if (!c.done)
        c.err = xstrdup("the engine did not answer");
    if (ret_body)
        *ret_body = c.body;
    else
        json_decref(c.body);
    if (ret_err)
        *ret_err = c.err;
    else
        free(c.err);
    return c.status;
}

/* ---- the project's containers ---- */

const char *ops_ctr_name(json_t *c)
{
    const char *n = json_string_value(json_array_get(json_object_get(c, "Names"), 0));
    return n && n[0] == '/' ? n + 1 : n ? n : "";
}

const char *ops_ctr_label(json_t *c, const char *key)
{
    return json_string_value(json_object_get(json_object_get(c, "Labels"), key));
}

int ops_ctr_number(json_t *c)
{
    const char *n = ops_ctr_label(c, LABEL_NUMBER);
    return n ? atoi(n) : 0;
}

const char *ops_ctr_service(json_t *c)
{
    const char *s = ops_ctr_label(c, LABEL_SERVICE);
    return s ? s : "";
}

static int ctr_cmp(const void *a, const void *b)
{
    json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    int r = strcmp(ops_ctr_service(x), ops_ctr_service(y));
    if (r)
        return r;
    r = ops_ctr_number(x) - ops_ctr_number(y);
    return r ? r : strcmp(ops_ctr_name(x), ops_ctr_name(y));
}

static int list(OpsSession *s, const char *label, bool all, json_t **ret, char **ret_err)
{
    json_t *f = json_pack("{s:[s]}", "label", label);
    char *fs = json_dumps(f, JSON_COMPACT);
    json_decref(f);
    char *fe = engine_escape(fs);
    char *path = xasprintf("/containers/json?all=%d&filters=%s", all ? 1 : 0, fe);
    json_t *body = NULL;
    char *err = NULL;
    int status = ops_call(s, "GET", path, NULL, &body, &err);
    free(path);
    free(fe);
    free(fs);
    if (status != 200 || !json_is_array(body)) {
        json_decref(body);
        *ret_err = err ? err : xstrdup("the engine gave no list of containers");
        return -EIO;
    }
    free(err);
    /* sorted through a C array: jansson has no sort */
    size_t n = json_array_size(body);
    json_t **v = xcalloc(n ? n : 1, sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = json_array_get(body, i);
    qsort(v, n, sizeof *v, ctr_cmp);
    json_t *out = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append(out, v[i]);
    free(v);
    json_decref(body);
    *ret = out;
    return 0;
}

int ops_containers(OpsSession *s, const char *project, const StrVec *services, bool all, bool oneoffs,
                   json_t **ret, char **ret_err)
{
    _cleanup_free_ char *label = xasprintf("%s=%s", LABEL_PROJECT, project);
    json_t *found = NULL;
    int r = list(s, label, all, &found, ret_err);
    if (r < 0)
        return r;
    json_t *out = json_array();
    size_t i;
    json_t *c;
    json_array_foreach(found, i, c)
    {
        const char *oneoff = ops_ctr_label(c, LABEL_ONEOFF);
        if (!oneoffs && oneoff && streq(oneoff, "True"))
            continue;
        if (services && services->n && !strvec_contains(services, ops_ctr_service(c)))
            continue;
        json_array_append(out, c);
    }
    json_decref(found);
    *ret = out;
    return 0;
}

int ops_all_project_containers(OpsSession *s, json_t **ret, char **ret_err)
{
    return list(s, LABEL_PROJECT, true, ret, ret_err);
}

/* ---- pulls ---- */

void ops_image_ref_split(const char *ref, char **ret_name, char **ret_tag)
{
    char *name = xstrdup(ref);
    char *tag = NULL;
    char *colon = strrchr(name, ':');
    if (strchr(name, '@')) {
        tag = NULL; /* a digest names the image by itself */
    } else if (colon && !strchr(colon, '/')) {
        *colon = '\0';
        tag = xstrdup(colon + 1);
    } else {
        tag = xstrdup("latest");
    }
    *ret_name = name;
    *ret_tag = tag;
}

struct OpsPull {
    JsonLines lines;
    char *error;
    void (*on_line)(void *ud, const char *line);
    void (*done)(void *ud, bool ok, const char *err);
    void *ud;
};

static void pull_line(void *ud, json_t *obj)
{
    OpsPull *p = ud;
    const char *status = json_string_value(json_object_get(obj, "status"));
    const char *id = json_string_value(json_object_get(obj, "id"));
    const char *error = json_string_value(json_object_get(obj, "error"));
    if (error) {
        if (!p->error)
            p->error = xstrdup(error);
        return;
    }
    /* One line per layer and state change; the progress bars are left out. */
    if (!status || !p->on_line || (json_object_get(obj, "progressDetail") &&
                                   json_object_size(json_object_get(obj, "progressDetail")) > 0))
        return;
    if (streq(status, "Downloading") || streq(status, "Extracting") || streq(status, "Waiting"))
        return;
    _cleanup_free_ char *line = id ? xasprintf("%s: %s", id, status) : xstrdup(status);
    p->on_line(p->ud, line);
}

static void on_pull_chunk(void *ud, const char *data, size_t len)
{
    OpsPull *p = ud;
    jsonlines_feed(&p->lines, data, len, pull_line, p);
}

static void on_pull_done(void *ud, int status, json_t *body, const char *err)
{
    OpsPull *p = ud;
    (void)status;
    (void)body;
    const char *why = p->error ? p->error : err;
    p->done(p->ud, why == NULL, why);
    jsonlines_free(&p->lines);
    free(p->error);
    free(p);
}

OpsPull *ops_pull(Engine *e, const char *ref, void (*on_line)(void *ud, const char *line),
                  void (*done)(void *ud, bool ok, const char *err), void *ud)
{
    OpsPull *p = xcalloc(1, sizeof *p);
    p->on_line = on_line;
    p->done = done;
    p->ud = ud;
    char *name, *tag;
    ops_image_ref_split(ref, &name, &tag);
    char *en = engine_escape(name);
    char *path;
    if (tag) {
        char *et = engine_escape(tag);
        path = xasprintf("/images/create?fromImage=%s&tag=%s", en, et);
        free(et);
    } else {
        path = xasprintf("/images/create?fromImage=%s", en);
    }
    engine_stream(e, "POST", path, NULL, on_pull_chunk, on_pull_done, p);
    free(path);
    free(en);
    free(name);
    free(tag);
    return p;
}
