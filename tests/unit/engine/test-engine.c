/* Tests for engine: the pure stream helpers (demux and JSON lines, fed in
 * every split), then the client against the real Docker engine on
 * /var/run/docker.sock: version negotiation, the engine's own error
 * messages, unreachable and forbidden sockets, networks, volumes, an image
 * imported from a tar made here, containers, event streams, cancellation
 * at awkward moments and many requests at once. Everything created is
 * named "tend-test-engine-..." and removed again. Every loop case ends by
 * running its loop dry and closing it, which fails if a handle leaked. */
#include "engine/engine.h"
#include "test.h"
#include "lib/util.h"

#include <errno.h>
#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SOCK "/var/run/docker.sock"
#define HOST "unix://" SOCK

/* ---- demux ---- */

typedef struct Demuxed {
    StrBuf out, err;
    int calls;
    int bad_stream;
} Demuxed;

static void on_demux(void *ud, int stream, const char *p, size_t n)
{
    Demuxed *d = ud;
    d->calls++;
    CHECK(n > 0);
    if (stream == 1)
        strbuf_append(&d->out, p, n);
    else if (stream == 2)
        strbuf_append(&d->err, p, n);
    else
        d->bad_stream++;
}

/* One frame: the 8-byte header and the payload. */
static void frame(StrBuf *b, int stream, const char *payload, size_t n)
{
    char hdr[8] = {(char)stream, 0, 0, 0, (char)(n >> 24), (char)(n >> 16), (char)(n >> 8),
                   (char)n};
    strbuf_append(b, hdr, 8);
    strbuf_append(b, payload, n);
}

static void demux_stream(StrBuf *b)
{
    frame(b, 1, "hello ", 6);
    frame(b, 2, "", 0); /* zero-length frames happen and carry nothing */
    frame(b, 2, "oops\n", 5);
    frame(b, 1, "world\n", 6);
    frame(b, 1, "", 0);
    frame(b, 1, "", 0);
    frame(b, 2, "E", 1);
}

TEST(logdemux_many_frames_in_one_feed)
{
    StrBuf b;
    strbuf_init(&b, 0);
    demux_stream(&b);
    LogDemux d = {0};
    Demuxed got = {0};
    strbuf_init(&got.out, 0);
    strbuf_init(&got.err, 0);
    logdemux_feed(&d, b.data, b.len, on_demux, &got);
    CHECK_STR(got.out.data, "hello world\n");
    CHECK_STR(got.err.data, "oops\nE");
    CHECK_INT(got.calls, 4);
    CHECK_INT(got.bad_stream, 0);
    CHECK_INT(d.remaining, 0);
    CHECK_INT(d.hdr_len, 0);
    strbuf_free(&b);
    strbuf_free(&got.out);
    strbuf_free(&got.err);
}

/* Every way of cutting the stream into two and three pieces, and one byte
 * at a time: headers split anywhere, payloads split anywhere. */
TEST(logdemux_split_anywhere)
{
    StrBuf b;
    strbuf_init(&b, 0);
    demux_stream(&b);
    int failures = 0;
    for (size_t i = 0; i <= b.len; i++) {
        for (size_t j = i; j <= b.len; j++) {
            LogDemux d = {0};
            Demuxed got = {0};
            strbuf_init(&got.out, 0);
            strbuf_init(&got.err, 0);
            logdemux_feed(&d, b.data, i, on_demux, &got);
            logdemux_feed(&d, b.data + i, j - i, on_demux, &got);
            logdemux_feed(&d, b.data + j, b.len - j, on_demux, &got);
            if (!got.out.data || strcmp(got.out.data, "hello world\n") != 0 || !got.err.data ||
                strcmp(got.err.data, "oops\nE") != 0 || got.bad_stream)
                failures++;
            strbuf_free(&got.out);
            strbuf_free(&got.err);
        }
    }
    CHECK_INT(failures, 0);

    LogDemux d = {0};
    Demuxed got = {0};
    strbuf_init(&got.out, 0);
    strbuf_init(&got.err, 0);
    for (size_t i = 0; i < b.len; i++)
        logdemux_feed(&d, b.data + i, 1, on_demux, &got);
    CHECK_STR(got.out.data, "hello world\n");
    CHECK_STR(got.err.data, "oops\nE");
    CHECK_INT(got.calls, 18); /* one per payload byte */
    strbuf_free(&got.out);
    strbuf_free(&got.err);
    strbuf_free(&b);
}

/* A payload is passed on as soon as its bytes arrive, before the frame is
 * complete; a big frame size (over 16 bits) is read right. */
TEST(logdemux_partial_payload_and_big_frame)
{
    size_t n = 70000;
    char *payload = xmalloc(n);
    for (size_t i = 0; i < n; i++)
        payload[i] = (char)('a' + i % 26);
    StrBuf b;
    strbuf_init(&b, 0);
    frame(&b, 2, payload, n);
    frame(&b, 1, "x", 1);

    LogDemux d = {0};
    Demuxed got = {0};
    strbuf_init(&got.out, 0);
    strbuf_init(&got.err, 0);
    logdemux_feed(&d, b.data, 8 + 100, on_demux, &got);
    CHECK_INT(got.err.len, 100);
    CHECK_INT(d.remaining, n - 100);
    CHECK_INT(d.stream, 2);
    logdemux_feed(&d, b.data + 108, b.len - 108, on_demux, &got);
    CHECK_INT(got.err.len, n);
    CHECK(got.err.data && memcmp(got.err.data, payload, n) == 0);
    CHECK_STR(got.out.data, "x");
    logdemux_feed(&d, NULL, 0, on_demux, &got); /* nothing: no call */
    CHECK_INT(got.calls, 3);
    free(payload);
    strbuf_free(&b);
    strbuf_free(&got.out);
    strbuf_free(&got.err);
}

/* ---- JSON lines ---- */

typedef struct Lines {
    StrBuf seen; /* each object's "a" value, then ";" */
    int calls;
} Lines;

static void on_line(void *ud, json_t *obj)
{
    Lines *l = ud;
    l->calls++;
    CHECK(json_is_object(obj));
    json_t *a = json_object_get(obj, "a");
    if (json_is_integer(a))
        strbuf_printf(&l->seen, "%lld;", (long long)json_integer_value(a));
    else if (json_is_string(a))
        strbuf_printf(&l->seen, "%s;", json_string_value(a));
    else
        strbuf_puts(&l->seen, "?;");
}

TEST(jsonlines_split_anywhere)
{
    /* \r\n as pull progress has, blank lines, a line that is not JSON, a
     * JSON value that is not an object, and a newline inside a string. */
    const char *text = "{\"a\":1}\n\n{\"a\":\"two\\nlines\"}\r\nnot json\n"
                       "{\"a\":3, \"b\":{\"c\":[1,2]}}\n42\n{\"a\":4}\n";
    size_t len = strlen(text);
    const char *want = "1;two\nlines;3;4;";
    int failures = 0;
    for (size_t i = 0; i <= len; i++) {
        for (size_t k = i; k <= len; k++) {
            JsonLines j = {0};
            Lines l = {0};
            strbuf_init(&l.seen, 0);
            jsonlines_feed(&j, text, i, on_line, &l);
            jsonlines_feed(&j, text + i, k - i, on_line, &l);
            jsonlines_feed(&j, text + k, len - k, on_line, &l);
            if (!l.seen.data || strcmp(l.seen.data, want) != 0 || l.calls != 4) {
                if (failures++ == 0)
                    printf("#   split %zu/%zu: got \"%s\"\n", i, k, l.seen.data ? l.seen.data : "");
            }
            CHECK_INT(j.len, 0);
            jsonlines_free(&j);
            strbuf_free(&l.seen);
        }
    }
    CHECK_INT(failures, 0);

    JsonLines j = {0};
    Lines l = {0};
    strbuf_init(&l.seen, 0);
    for (size_t i = 0; i < len; i++)
        jsonlines_feed(&j, text + i, 1, on_line, &l);
    CHECK_STR(l.seen.data, want);
    jsonlines_free(&j);
    strbuf_free(&l.seen);
}

/* A line is only complete at its newline: an object waits for it. */
TEST(jsonlines_waits_for_the_newline)
{
    JsonLines j = {0};
    Lines l = {0};
    strbuf_init(&l.seen, 0);
    jsonlines_feed(&j, "{\"a\":7}", 7, on_line, &l);
    CHECK_INT(l.calls, 0);
    const char *more = "\n{\"a\":8}\n{\"a\"";
    jsonlines_feed(&j, more, strlen(more), on_line, &l);
    CHECK_INT(l.calls, 2);
    CHECK_STR(l.seen.data, "7;8;");
    CHECK_INT(j.len, 4);
    jsonlines_free(&j);
    CHECK(j.buf == NULL);
    CHECK_INT(j.len, 0);
    strbuf_free(&l.seen);
}

/* A line over 1 MiB is dropped whole, even when it arrives in pieces, and
 * the next line is read normally. One of exactly 1 MiB is kept. */
TEST(jsonlines_drops_overlong_lines)
{
    size_t big = ((size_t)1 << 20) + 10;
    char *line = xmalloc(big);
    memset(line, ' ', big);
    memcpy(line, "{\"a\":5", 6);
    line[big - 1] = '}';

    JsonLines j = {0};
    Lines l = {0};
    strbuf_init(&l.seen, 0);
    for (size_t off = 0; off < big; off += 4096) {
        size_t n = big - off < 4096 ? big - off : 4096;
        jsonlines_feed(&j, line + off, n, on_line, &l);
    }
    CHECK(j.dropping);
    CHECK(j.len == 0);
    jsonlines_feed(&j, "\n{\"a\":6}\n", 9, on_line, &l);
    CHECK_STR(l.seen.data, "6;");
    CHECK(!j.dropping);

    /* In one piece, with its newline. */
    StrBuf b;
    strbuf_init(&b, (size_t)4 << 20);
    strbuf_append(&b, line, big);
    strbuf_puts(&b, "\n{\"a\":9}\n");
    jsonlines_feed(&j, b.data, b.len, on_line, &l);
    CHECK_STR(l.seen.data, "6;9;");

    /* Exactly 1 MiB (the newline not counted), split: kept. */
    size_t max = (size_t)1 << 20;
    line[max - 1] = '}';
    jsonlines_feed(&j, line, 100, on_line, &l);
    jsonlines_feed(&j, line + 100, max - 100, on_line, &l);
    jsonlines_feed(&j, "\n", 1, on_line, &l);
    CHECK_STR(l.seen.data, "6;9;5;");
    CHECK_INT(l.calls, 3);

    jsonlines_free(&j);
    strbuf_free(&b);
    strbuf_free(&l.seen);
    free(line);
}

TEST(escape_query_values)
{
    char *s = engine_escape("{\"label\":[\"a=b c\"]}/é~._-");
    CHECK_STR(s, "%7B%22label%22%3A%5B%22a%3Db%20c%22%5D%7D%2F%C3%A9~._-");
    free(s);
    s = engine_escape("");
    CHECK_STR(s, "");
    free(s);
}

/* ---- hosts ---- */

TEST(engine_new_rejects_unsupported_hosts)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    char *err = NULL;
    CHECK(engine_new(&loop, "ssh://user@box", &err) == NULL);
    CHECK_STR(err, "unsupported DOCKER_HOST \"ssh://user@box\": use unix:// or tcp://");
    free(err);
    err = NULL;
    CHECK(engine_new(&loop, "npipe:////./pipe/docker_engine", &err) == NULL);
    CHECK_STR(err, "unsupported DOCKER_HOST \"npipe:////./pipe/docker_engine\": use unix:// or tcp://");
    free(err);
    err = NULL;
    CHECK(engine_new(&loop, "unix://", &err) == NULL);
    CHECK_STR(err, "unsupported DOCKER_HOST \"unix://\": no socket path");
    free(err);
    err = NULL;

    /* From the environment when no host is given. */
    const char *old = getenv("DOCKER_HOST");
    char *saved = old ? xstrdup(old) : NULL;
    setenv("DOCKER_HOST", "ssh://env", 1);
    CHECK(engine_new(&loop, NULL, &err) == NULL);
    CHECK_STR(err, "unsupported DOCKER_HOST \"ssh://env\": use unix:// or tcp://");
    free(err);
    if (saved)
        setenv("DOCKER_HOST", saved, 1);
    else
        unsetenv("DOCKER_HOST");
    free(saved);

    Engine *e = engine_new(&loop, "tcp://127.0.0.1:2375", &err);
    CHECK(e != NULL);
    CHECK(engine_api_version(e) == NULL);
    CHECK(!engine_api_at_least(e, 1, 0));
    engine_free(e);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK_INT(uv_loop_close(&loop), 0);
}

/* ---- loop helpers ---- */

typedef struct Reply {
    int calls;
    int status;
    json_t *body; /* a reference kept */
    char err[512];
    bool has_err;
} Reply;

static void on_reply(void *ud, int status, json_t *body, const char *err)
{
    Reply *r = ud;
    r->calls++;
    r->status = status;
    json_decref(r->body);
    r->body = json_incref(body);
    r->has_err = err != NULL;
    snprintf(r->err, sizeof r->err, "%s", err ? err : "");
}

static void reply_clear(Reply *r)
{
    json_decref(r->body);
    memset(r, 0, sizeof *r);
}

typedef struct Conn {
    int calls;
    bool ok;
    char err[512];
} Conn;

static void on_connected(void *ud, bool ok, const char *err)
{
    Conn *c = ud;
    c->calls++;
    c->ok = ok;
    snprintf(c->err, sizeof c->err, "%s", err ? err : "");
}

static void on_guard(uv_timer_t *t)
{
    *(bool *)t->data = true;
}

typedef struct Until {
    const int *count;
    int want;
} Until;

/* Before the loop blocks: a callback from a timer (curl's run at the
 * start of an iteration) may have reached the count already. */
static void on_until_prepare(uv_prepare_t *p)
{
    const Until *u = p->data;
    if (*u->count >= u->want)
        uv_stop(p->loop);
}

/* Runs the loop until *count reaches want or ms pass. */
static bool run_until(uv_loop_t *loop, const int *count, int want, int ms)
{
    bool expired = false;
    uv_timer_t guard;
    uv_timer_init(loop, &guard);
    guard.data = &expired;
    uv_timer_start(&guard, on_guard, (uint64_t)ms, 0);
    Until u = {count, want};
    uv_prepare_t prep;
    uv_prepare_init(loop, &prep);
    prep.data = &u;
    uv_prepare_start(&prep, on_until_prepare);
    uv_unref((uv_handle_t *)&prep);
    while (*count < want && !expired)
        uv_run(loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&guard, NULL);
    uv_close((uv_handle_t *)&prep, NULL);
    uv_run(loop, UV_RUN_NOWAIT); /* the guard lives on this stack */
    return *count >= want;
}

static void run_for(uv_loop_t *loop, int ms)
{
    int never = 0;
    run_until(loop, &never, 1, ms);
}

static void on_hang(uv_timer_t *t)
{
    *(bool *)t->data = true;
    uv_stop(t->loop);
}

/* Runs the loop until nothing is left and closes it: a leaked handle
 * shows as a hang or as UV_EBUSY. */
static void drain_and_close(uv_loop_t *loop)
{
    bool hung = false;
    uv_timer_t guard;
    uv_timer_init(loop, &guard);
    guard.data = &hung;
    uv_timer_start(&guard, on_hang, 5000, 0);
    uv_unref((uv_handle_t *)&guard);
    uv_run(loop, UV_RUN_DEFAULT);
    CHECK(!hung);
    uv_close((uv_handle_t *)&guard, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
    CHECK_INT(uv_loop_close(loop), 0);
}

static bool have_docker(void)
{
    if (access(SOCK, F_OK) == 0)
        return true;
    printf("# skip: %s does not exist, so there is no Docker engine to test against\n", SOCK);
    return false;
}

/* A connected engine on loop, or NULL (checked). */
static Engine *connected(uv_loop_t *loop)
{
    char *err = NULL;
    Engine *e = engine_new(loop, HOST, &err);
    CHECK(e != NULL);
    free(err);
    if (!e)
        return NULL;
    Conn c = {0};
    engine_connect(e, on_connected, &c);
    CHECK(run_until(loop, &c.calls, 1, 5000));
    CHECK(c.ok);
    CHECK_STR(c.err, "");
    return e;
}

/* One buffered request, run to its end. */
static void call(uv_loop_t *loop, Engine *e, const char *method, const char *path, json_t *body,
                 Reply *r)
{
    reply_clear(r);
    engine_request(e, method, path, body, on_reply, r);
    CHECK(run_until(loop, &r->calls, 1, 10000));
}

/* ---- connecting ---- */

TEST(connect_negotiates_the_version)
{
    if (!have_docker())
        return;
    uv_loop_t loop;
    uv_loop_init(&loop);
    Engine *e = connected(&loop);
    REQUIRE(e);
    const char *v = engine_api_version(e);
    REQUIRE(v != NULL);
    printf("# API version %s\n", v);
    CHECK(strlen(v) == 4 && str_startswith(v, "1.4"));
    CHECK(engine_api_at_least(e, 1, 40));
    CHECK(engine_api_at_least(e, 1, v[3] - '0' + 40));
    CHECK(!engine_api_at_least(e, 1, v[3] - '0' + 41));
    CHECK(!engine_api_at_least(e, 1, 46)); /* capped at 1.45 */
    CHECK(!engine_api_at_least(e, 2, 0));
    CHECK(engine_api_at_least(e, 0, 99));

    Reply r = {0};
    call(&loop, e, "GET", "/info", NULL, &r);
    CHECK_INT(r.status, 200);
    CHECK(!r.has_err);
    CHECK(json_string_value(json_object_get(r.body, "ID")) != NULL);

    /* The path is versioned: /version answers with the negotiated one. */
    call(&loop, e, "GET", "/version", NULL, &r);
    CHECK_INT(r.status, 200);
    CHECK(json_string_value(json_object_get(r.body, "ApiVersion")) != NULL);
    reply_clear(&r);

    engine_free(e);
    drain_and_close(&loop);
}

/* Requests made before engine_connect, or without it, wait for the
 * version and then go out in order. */
TEST(requests_before_connect_wait_for_it)
{
    if (!have_docker())
        return;
    uv_loop_t loop;
    uv_loop_init(&loop);
    Engine *e = engine_new(&loop, HOST, NULL);
    REQUIRE(e);
    Reply a = {0}, b = {0};
    engine_request(e, "GET", "/_ping", NULL, on_reply, &a);
    CHECK(engine_api_version(e) == NULL);
    Conn c = {0};
    engine_connect(e, on_connected, &c);
    engine_request(e, "GET", "/containers/nosuch/json", NULL, on_reply, &b);
    CHECK(run_until(&loop, &b.calls, 1, 5000));
    CHECK(run_until(&loop, &a.calls, 1, 5000));
    CHECK_INT(c.calls, 1);
    CHECK(c.ok);
    CHECK_INT(a.status, 200);
    CHECK(a.body == NULL); /* "OK" is not JSON */
    CHECK(!a.has_err);
    CHECK_INT(b.status, 404);
    CHECK_STR(b.err, "No such container: nosuch");
    CHECK_STR(json_string_value(json_object_get(b.body, "message")), "No such container: nosuch");
    reply_clear(&a);
    reply_clear(&b);
    engine_free(e);
    drain_and_close(&loop);

    /* Without engine_connect at all. */
    uv_loop_init(&loop);
    e = engine_new(&loop, HOST, NULL);
    REQUIRE(e);
    engine_request(e, "GET", "/info", NULL, on_reply, &a);
    CHECK(run_until(&loop, &a.calls, 1, 5000));
    CHECK_INT(a.status, 200);
    CHECK(engine_api_version(e) != NULL);
    reply_clear(&a);
    engine_free(e);
    drain_and_close(&loop);
}

TEST(engine_errors_carry_the_engine_message)
{
    if (!have_docker())
        return;
    uv_loop_t loop;
    uv_loop_init(&loop);
    Engine *e = connected(&loop);
    REQUIRE(e);
    Reply r = {0};
    call(&loop, e, "GET", "/containers/nosuch/json", NULL, &r);
    CHECK_INT(r.status, 404);
    CHECK_STR(r.err, "No such container: nosuch");

    /* A POST without a body. */
    call(&loop, e, "POST", "/containers/nosuch/start", NULL, &r);
    CHECK_INT(r.status, 404);
    CHECK_STR(r.err, "No such container: nosuch");

    /* A JSON body the engine refuses. */
    json_t *bad = json_pack("{s:s}", "Name", "tend-test-engine-bad/name");
    call(&loop, e, "POST", "/volumes/create", bad, &r);
    json_decref(bad);
    CHECK(r.status >= 400);
    CHECK(r.has_err);
    CHECK(strstr(r.err, "tend-test-engine-bad/name") != NULL);
    printf("# %d %s\n", r.status, r.err);

    reply_clear(&r);
    engine_free(e);
    drain_and_close(&loop);
}

/* The socket path does not exist; then it exists but nobody listens. */
TEST(unreachable_engine_is_named)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    TEST_TMP(dir, "tend-test-engine");
    REQUIRE(mkdtemp(dir));
    char *path = xasprintf("%s/docker.sock", dir);
    char *host = xasprintf("unix://%s", path);
    char *want = xasprintf("cannot reach the Docker engine at %s: is it running? (set "
                           "DOCKER_HOST to use another)",
                           path);

    Engine *e = engine_new(&loop, host, NULL);
    REQUIRE(e);
    Reply r = {0};
    Conn c = {0};
    engine_request(e, "GET", "/info", NULL, on_reply, &r); /* waits, then fails the same */
    engine_connect(e, on_connected, &c);
    CHECK(run_until(&loop, &c.calls, 1, 5000));
    CHECK(!c.ok);
    CHECK_STR(c.err, want);
    CHECK_INT(r.calls, 1);
    CHECK_INT(r.status, 0);
    CHECK_STR(r.err, want);
    CHECK(engine_api_version(e) == NULL);

    /* A socket file nobody listens on: refused. */
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    REQUIRE(fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0);
    call(&loop, e, "GET", "/info", NULL, &r); /* tries to connect again */
    CHECK_INT(r.status, 0);
    CHECK_STR(r.err, want);
    close(fd);
    reply_clear(&r);
    engine_free(e);

    /* DOCKER_HOST is used when no host is given. */
    const char *old = getenv("DOCKER_HOST");
    char *saved = old ? xstrdup(old) : NULL;
    setenv("DOCKER_HOST", host, 1);
    e = engine_new(&loop, NULL, NULL);
    REQUIRE(e);
    call(&loop, e, "GET", "/info", NULL, &r);
    CHECK_INT(r.status, 0);
    CHECK_STR(r.err, want);
    reply_clear(&r);
    engine_free(e);
    /* Empty means unset: the default socket. */
    setenv("DOCKER_HOST", "", 1);
    e = engine_new(&loop, NULL, NULL);
    REQUIRE(e);
    call(&loop, e, "GET", "/_ping", NULL, &r);
    if (access(SOCK, F_OK) == 0) {
        CHECK_INT(r.status, 200);
    } else {
        CHECK_STR(r.err, "cannot reach the Docker engine at " SOCK ": is it running? (set "
                         "DOCKER_HOST to use another)");
    }
    reply_clear(&r);
    engine_free(e);
    if (saved)
        setenv("DOCKER_HOST", saved, 1);
    else
        unsetenv("DOCKER_HOST");
    free(saved);

    /* tcp: host:port is named. */
    e = engine_new(&loop, "tcp://127.0.0.1:1", NULL);
    REQUIRE(e);
    call(&loop, e, "GET", "/info", NULL, &r);
    CHECK_INT(r.status, 0);
    CHECK_STR(r.err, "cannot reach the Docker engine at 127.0.0.1:1: is it running? (set "
                     "DOCKER_HOST to use another)");
    reply_clear(&r);
    engine_free(e);

    /* Without a port: the engine's plain-HTTP port, 2375. */
    static const char *const portless[][2] = {
        {"tcp://127.0.0.1", "127.0.0.1:2375"},
        {"tcp://127.0.0.1/", "127.0.0.1:2375"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(portless); i++) {
        e = engine_new(&loop, portless[i][0], NULL);
        REQUIRE(e);
        call(&loop, e, "GET", "/_ping", NULL, &r);
        if (r.status == 0) {
            char *w = xasprintf("cannot reach the Docker engine at %s: is it running? (set "
                                "DOCKER_HOST to use another)",
                                portless[i][1]);
            CHECK_STR(r.err, w);
            free(w);
        }
        reply_clear(&r);
        engine_free(e);
    }

    /* Another transport failure keeps curl's words. */
    e = engine_new(&loop, "tcp://tend-test-engine.invalid:2375", NULL);
    REQUIRE(e);
    memset(&c, 0, sizeof c);
    engine_connect(e, on_connected, &c);
    CHECK(run_until(&loop, &c.calls, 1, 10000));
    CHECK(!c.ok);
    CHECK(str_startswith(c.err, "Docker engine request failed: "));
    printf("# %s\n", c.err);
    engine_free(e);

    drain_and_close(&loop);
    unlink(path);
    rmdir(dir);
    free(path);
    free(host);
    free(want);
}

/* The message for a socket the user may not open. As root every socket
 * opens, so the client runs in a child that drops to nobody. */
TEST(forbidden_socket_is_named)
{
    TEST_TMP(dir, "tend-test-engine");
    REQUIRE(mkdtemp(dir));
    chmod(dir, 0755);
    char *path = xasprintf("%s/docker.sock", dir);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    REQUIRE(fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 && listen(fd, 4) == 0);
    REQUIRE(chmod(path, 0) == 0);

    int pipefd[2];
    REQUIRE(pipe(pipefd) == 0);
    fflush(stdout);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        close(pipefd[0]);
        if (getuid() == 0 &&
            (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0))
            _exit(3);
        uv_loop_t loop;
        uv_loop_init(&loop);
        char *host = xasprintf("unix://%s", path);
        Engine *e = engine_new(&loop, host, NULL);
        Conn c = {0};
        engine_connect(e, on_connected, &c);
        run_until(&loop, &c.calls, 1, 5000);
        engine_free(e);
        uv_run(&loop, UV_RUN_DEFAULT);
        if (write(pipefd[1], c.err, strlen(c.err)) < 0)
            _exit(4);
        _exit(c.ok ? 5 : 0);
    }
    close(pipefd[1]);
    char got[512] = "";
    size_t n = 0;
    ssize_t k;
    while (n < sizeof got - 1 && (k = read(pipefd[0], got + n, sizeof got - 1 - n)) > 0)
        n += (size_t)k;
    got[n] = '\0';
    close(pipefd[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    char *want = xasprintf(
        "permission denied on %s: add your user to the docker group, or set DOCKER_HOST", path);
    CHECK_STR(got, want);
    free(want);
    close(fd);
    unlink(path);
    rmdir(dir);
    free(path);
}

/* ---- objects ---- */

static char *test_name(const char *what)
{
    return xasprintf("tend-test-engine-%s-%d", what, (int)getpid());
}

TEST(network_create_list_remove)
{
    if (!have_docker())
        return;
    uv_loop_t loop;
    uv_loop_init(&loop);
    Engine *e = connected(&loop);
    REQUIRE(e);
    char *name = test_name("net");
    char *label = xasprintf("tend-test-engine=%d", (int)getpid());
    Reply r = {0};

    json_t *body = json_pack("{s:s, s:b, s:{s:s, s:s}}", "Name", name, "CheckDuplicate", 1,
                             "Labels", "tend-test-engine", strchr(label, '=') + 1, "com.example.x",
                             "y");
    call(&loop, e, "POST", "/networks/create", body, &r);
    json_decref(body);
    CHECK_INT(r.status, 201);
    const char *id = json_string_value(json_object_get(r.body, "Id"));
    REQUIRE(id && strlen(id) == 64);
    char *net_id = xstrdup(id);

    /* Listed with a label filter, escaped into the query. */
    json_t *filters = json_pack("{s:[s]}", "label", label);
    char *fj = json_dumps(filters, JSON_COMPACT);
    char *q = engine_escape(fj);
    char *path = xasprintf("/networks?filters=%s", q);
    call(&loop, e, "GET", path, NULL, &r);
    CHECK_INT(r.status, 200);
    CHECK(json_is_array(r.body));
    CHECK_INT(json_array_size(r.body), 1);
    json_t *n0 = json_array_get(r.body, 0);
    CHECK_STR(json_string_value(json_object_get(n0, "Name")), name);
    CHECK_STR(json_string_value(json_object_get(n0, "Id")), net_id);
    CHECK_STR(json_string_value(json_object_get(json_object_get(n0, "Labels"), "com.example.x")),
              "y");

    char *del = xasprintf("/networks/%s", net_id);
    call(&loop, e, "DELETE", del, NULL, &r);
    CHECK_INT(r.status, 204);
    CHECK(!r.has_err);
    CHECK(r.body == NULL);
    call(&loop, e, "GET", path, NULL, &r);
    CHECK_INT(json_array_size(r.body), 0);
    call(&loop, e, "DELETE", del, NULL, &r);
    CHECK_INT(r.status, 404);
    char *want = xasprintf("network %s not found", net_id);
    CHECK_STR(r.err, want);

    free(want);
    free(del);
    free(path);
    free(q);
    free(fj);
    json_decref(filters);
    free(net_id);
    reply_clear(&r);
    free(name);
    free(label);
    engine_free(e);
    drain_and_close(&loop);
}

TEST(volume_create_inspect_remove)
{
    if (!have_docker())
        return;
    uv_loop_t loop;
    uv_loop_init(&loop);
    Engine *e = connected(&loop);
    REQUIRE(e);
    char *name = test_name("vol");
    Reply r = {0};
    json_t *body = json_pack("{s:s, s:{s:s}}", "Name", name, "Labels", "tend-test-engine", "1");
    call(&loop, e, "POST", "/volumes/create", body, &r);
    json_decref(body);
    CHECK_INT(r.status, 201);
    CHECK_STR(json_string_value(json_object_get(r.body, "Name")), name);

    char *path = xasprintf("/volumes/%s", name);
    call(&loop, e, "GET", path, NULL, &r);
    CHECK_INT(r.status, 200);
    CHECK_STR(json_string_value(json_object_get(r.body, "Name")), name);
    CHECK_STR(json_string_value(json_object_get(r.body, "Driver")), "local");
    CHECK_STR(json_string_value(json_object_get(json_object_get(r.body, "Labels"),
                                                "tend-test-engine")),
              "1");

    call(&loop, e, "DELETE", path, NULL, &r);
    CHECK_INT(r.status, 204);
    call(&loop, e, "GET", path, NULL, &r);
    CHECK_INT(r.status, 404);
    char *want = xasprintf("get %s: no such volume", name);
    CHECK_STR(r.err, want);
    free(want);
    free(path);
    reply_clear(&r);
    free(name);
    engine_free(e);
    drain_and_close(&loop);
}

/* ---- streams ---- */

typedef struct Stream {
    Reply r; /* first: on_reply takes the Stream as its Reply */
    JsonLines lines;
    StrBuf seen; /* each object's "Action" or "status", then ";" */
    int objects, chunks, errors;
    int chunks_after_done, chunks_after_cancel;
    EngineReq *req;      /* cancelled from inside on_chunk once stop_on is seen */
    Engine *free_engine; /* freed from inside on_chunk once stop_on is seen */
    const char *stop_on;
    bool cancelled;
    Engine *ping_engine; /* pinged from inside on_chunk on the first object */
    Reply ping;
} Stream;

static void on_stream_obj(void *ud, json_t *obj)
{
    Stream *s = ud;
    s->objects++;
    const char *v = json_string_value(json_object_get(obj, "Action"));
    if (!v)
        v = json_string_value(json_object_get(obj, "status"));
    strbuf_printf(&s->seen, "%s;", v ? v : "?");
    if (json_object_get(obj, "error"))
        s->errors++;
    if (s->ping_engine && s->objects == 1)
        engine_request(s->ping_engine, "GET", "/_ping", NULL, on_reply, &s->ping);
    if (s->stop_on && v && streq(v, s->stop_on) && !s->cancelled) {
        s->cancelled = true;
        if (s->req) {
            engine_cancel(s->req);
            engine_cancel(s->req); /* twice is harmless */
        }
        if (s->free_engine)
            engine_free(s->free_engine);
    }
}

static void on_stream_chunk(void *ud, const char *data, size_t len)
{
    Stream *s = ud;
    s->chunks++;
    if (s->r.calls)
        s->chunks_after_done++;
    if (s->cancelled)
        s->chunks_after_cancel++;
    jsonlines_feed(&s->lines, data, len, on_stream_obj, s);
}

static void stream_init(Stream *s)
{
    memset(s, 0, sizeof *s);
    strbuf_init(&s->seen, 0);
}

static void stream_clear(Stream *s)
{
    reply_clear(&s->r);
    reply_clear(&s->ping);
    jsonlines_free(&s->lines);
    strbuf_free(&s->seen);
}

static const char *seen(const Stream *s)
{
    return s->seen.data ? s->seen.data : "";
}

/* An error answer to a stream is not streamed: done gets its message. */
TEST(stream_error_answer_is_not_streamed)
{
    if (!have_docker())
        return;
    uv_loop_t loop;
    uv_loop_init(&loop);
    Engine *e = connected(&loop);
    REQUIRE(e);
    Stream s;
    stream_init(&s);
    engine_stream(e, "GET", "/containers/nosuch/logs?stdout=1&follow=1", NULL, on_stream_chunk,
                  on_reply, &s);
    CHECK(run_until(&loop, &s.r.calls, 1, 5000));
    CHECK_INT(s.r.status, 404);
    CHECK_STR(s.r.err, "No such container: nosuch");
    CHECK(s.r.body == NULL);
    CHECK_INT(s.chunks, 0);
    stream_clear(&s);
    engine_free(e);
    drain_and_close(&loop);
}

/* A tar archive with one small file, made here (ustar). */
static void tar_add(StrBuf *b, const char *name, const char *content)
{
    char h[512] = {0};
    size_t n = strlen(content);
    snprintf(h, 100, "%s", name);
    snprintf(h + 100, 8, "%07o", 0755);
    snprintf(h + 108, 8, "%07o", 0);
    snprintf(h + 116, 8, "%07o", 0);
    snprintf(h + 124, 12, "%011o", (unsigned)n);
    snprintf(h + 136, 12, "%011o", 1700000000u);
    memset(h + 148, ' ', 8);
    h[156] = '0';
    memcpy(h + 257, "ustar", 6);
    memcpy(h + 263, "00", 2);
    unsigned sum = 0;
    for (size_t i = 0; i < sizeof h; i++)
        sum += (unsigned char)h[i];
    snprintf(h + 148, 8, "%06o", sum);
    strbuf_append(b, h, sizeof h);
    strbuf_append(b, content, n);
    char pad[512] = {0};
    if (n % 512)
        strbuf_append(b, pad, 512 - n % 512);
}

/* Imports an image from a tar made here (uploaded, progress streamed),
 * creates a container from it (its command never runs), inspects it,
 * waits for it (streamed and buffered), removes both. */
TEST(image_import_and_container)
{
    if (!have_docker())
        return;
    uv_loop_t loop;
    uv_loop_init(&loop);
    Engine *e = connected(&loop);
    REQUIRE(e);
    char *repo = test_name("img");
    StrBuf tar;
    strbuf_init(&tar, 0);
    tar_add(&tar, "hello", "#!/bin/false\n");
    char zero[1024] = {0};
    strbuf_append(&tar, zero, sizeof zero);

    Stream s;
    stream_init(&s);
    char *path = xasprintf("/images/create?fromSrc=-&repo=%s&tag=latest", repo);
    engine_upload(e, "POST", path, "application/x-tar", tar.data, tar.len, on_stream_chunk,
                  on_reply, &s);
    strbuf_free(&tar); /* the data was copied */
    CHECK(run_until(&loop, &s.r.calls, 1, 10000));
    CHECK_INT(s.r.status, 200);
    CHECK_STR(s.r.err, "");
    CHECK(s.r.body == NULL);
    CHECK_INT(s.errors, 0);
    CHECK_INT(s.objects, 1);
    CHECK(str_startswith(seen(&s), "sha256:"));
    CHECK_INT(s.chunks_after_done, 0);
    stream_clear(&s);
    free(path);

    Reply r = {0};
    char *image = xasprintf("%s:latest", repo);
    char *cname = test_name("ctr");
    json_t *body = json_pack("{s:s, s:[s], s:{s:s}}", "Image", image, "Cmd", "/hello", "Labels",
                             "tend-test-engine", "1");
    char *cpath = xasprintf("/containers/create?name=%s", cname);
    call(&loop, e, "POST", cpath, body, &r);
    json_decref(body);
    CHECK_INT(r.status, 201);
    CHECK_STR(r.err, "");
    const char *cid = json_string_value(json_object_get(r.body, "Id"));
    REQUIRE(cid);
    char *id = xstrdup(cid);

    char *ipath = xasprintf("/containers/%s/json", cname);
    call(&loop, e, "GET", ipath, NULL, &r);
    CHECK_INT(r.status, 200);
    CHECK_STR(json_string_value(json_object_get(r.body, "Id")), id);
    CHECK_STR(json_string_value(json_object_get(json_object_get(r.body, "State"), "Status")),
              "created");
    CHECK_STR(json_string_value(json_object_get(json_object_get(r.body, "Config"), "Image")),
              image);

    /* /wait on a container that is not running answers at once. Streamed,
     * the caller parses the answer; buffered, done gets it parsed. */
    stream_init(&s);
    char *wpath = xasprintf("/containers/%s/wait?condition=not-running", id);
    engine_stream(e, "POST", wpath, NULL, on_stream_chunk, on_reply, &s);
    CHECK(run_until(&loop, &s.r.calls, 1, 10000));
    CHECK_INT(s.r.status, 200);
    CHECK(s.r.body == NULL);
    CHECK_INT(s.objects, 1);
    stream_clear(&s);
    call(&loop, e, "POST", wpath, NULL, &r);
    CHECK_INT(r.status, 200);
    CHECK(json_is_integer(json_object_get(r.body, "StatusCode")));
    CHECK_INT(json_integer_value(json_object_get(r.body, "StatusCode")), 0);

    char *dpath = xasprintf("/containers/%s?force=1&v=1", id);
    call(&loop, e, "DELETE", dpath, NULL, &r);
    CHECK_INT(r.status, 204);
    call(&loop, e, "GET", ipath, NULL, &r);
    CHECK_INT(r.status, 404);
    char *want = xasprintf("No such container: %s", cname);
    CHECK_STR(r.err, want);
    free(want);

    char *escaped = engine_escape(image);
    char *rpath = xasprintf("/images/%s?force=1", escaped);
    call(&loop, e, "DELETE", rpath, NULL, &r);
    CHECK_INT(r.status, 200);
    CHECK(json_is_array(r.body));
    call(&loop, e, "DELETE", rpath, NULL, &r);
    CHECK_INT(r.status, 404);
    want = xasprintf("No such image: %s", image);
    CHECK_STR(r.err, want);
    free(want);

    free(rpath);
    free(escaped);
    free(dpath);
    free(wpath);
    free(ipath);
    free(cpath);
    free(id);
    free(cname);
    free(image);
    free(repo);
    reply_clear(&r);
    engine_free(e);
    drain_and_close(&loop);
}

/* ---- events ---- */

static void make_and_remove_network(uv_loop_t *loop, Engine *e, const char *name)
{
    Reply r = {0};
    json_t *body = json_pack("{s:s}", "Name", name);
    call(loop, e, "POST", "/networks/create", body, &r);
    json_decref(body);
    CHECK_INT(r.status, 201);
    char *del = xasprintf("/networks/%s", name);
    call(loop, e, "DELETE", del, NULL, &r);
    CHECK_INT(r.status, 204);
    free(del);
    reply_clear(&r);
}

static char *events_path(const char *name, long long since, const char *until)
{
    json_t *f = json_pack("{s:[s], s:[s]}", "type", "network", "network", name);
    char *fj = json_dumps(f, JSON_COMPACT);
    char *q = engine_escape(fj);
    char *p = until ? xasprintf("/events?since=%lld&until=%s&filters=%s", since, until, q)
                    : xasprintf("/events?since=%lld&filters=%s", since, q);
    free(q);
    free(fj);
    json_decref(f);
    return p;
}

/* A window in the past: the engine replays its events and ends the
 * stream, which ends the request normally. */
TEST(events_stream_with_until_ends)
{
    if (!have_docker())
        return;
    uv_loop_t loop;
    uv_loop_init(&loop);
    Engine *e = connected(&loop);
    REQUIRE(e);
    char *name = test_name("events");
    long long since = (long long)time(NULL) - 1;
    make_and_remove_network(&loop, e, name);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    char until[64];
    snprintf(until, sizeof until, "%lld.%09ld", (long long)ts.tv_sec, ts.tv_nsec);

    Stream s;
    stream_init(&s);
    char *path = events_path(name, since, until);
    engine_stream(e, "GET", path, NULL, on_stream_chunk, on_reply, &s);
    CHECK(run_until(&loop, &s.r.calls, 1, 5000));
    CHECK_INT(s.r.status, 200);
    CHECK_STR(s.r.err, "");
    CHECK(s.r.body == NULL);
    CHECK_STR(seen(&s), "create;destroy;");
    CHECK_INT(s.chunks_after_done, 0);
    stream_clear(&s);
    free(path);
    free(name);
    engine_free(e);
    drain_and_close(&loop);
}

/* A live stream, no end: events arrive while other requests run on the
 * same engine; a request made inside on_chunk goes out; the stream is
 * cancelled from inside on_chunk and nothing more arrives. */
TEST(events_live_stream_cancelled_from_its_chunk)
{
    if (!have_docker())
        return;
    uv_loop_t loop;
    uv_loop_init(&loop);
    Engine *e = connected(&loop);
    REQUIRE(e);
    char *name = test_name("live");
    Stream s;
    stream_init(&s);
    char *path = events_path(name, (long long)time(NULL) - 1, NULL);
    s.req = engine_stream(e, "GET", path, NULL, on_stream_chunk, on_reply, &s);
    s.stop_on = "destroy";
    s.ping_engine = e;
    run_for(&loop, 100);
    make_and_remove_network(&loop, e, name);
    for (int i = 0; i < 500 && !s.cancelled; i++)
        run_for(&loop, 10);
    CHECK(s.cancelled);
    CHECK_STR(seen(&s), "create;destroy;");
    CHECK(run_until(&loop, &s.ping.calls, 1, 5000));
    CHECK_INT(s.ping.status, 200);
    /* More events for the same filter reach nobody. */
    make_and_remove_network(&loop, e, name);
    run_for(&loop, 200);
    CHECK_INT(s.r.calls, 0);
    CHECK_INT(s.chunks_after_cancel, 0);
    CHECK_STR(seen(&s), "create;destroy;");
    stream_clear(&s);
    free(path);
    free(name);
    engine_free(e);
    drain_and_close(&loop);
}

/* engine_free from inside a stream's on_chunk, with other requests in
 * flight: no callback after it, nothing leaks. */
TEST(engine_free_inside_on_chunk)
{
    if (!have_docker())
        return;
    uv_loop_t loop;
    uv_loop_init(&loop);
    Engine *e = connected(&loop);
    REQUIRE(e);
    char *name = test_name("free");
    long long since = (long long)time(NULL) - 1;
    make_and_remove_network(&loop, e, name);

    Stream s;
    stream_init(&s);
    char *path = events_path(name, since, NULL);
    Reply other = {0};
    engine_stream(e, "GET", "/events", NULL, NULL, on_reply, &other); /* never ends by itself */
    s.free_engine = e;
    s.stop_on = "create";
    engine_stream(e, "GET", path, NULL, on_stream_chunk, on_reply, &s);
    for (int i = 0; i < 500 && !s.cancelled; i++)
        run_for(&loop, 10);
    CHECK(s.cancelled);
    CHECK(str_startswith(seen(&s), "create;"));
    drain_and_close(&loop);
    CHECK_INT(s.r.calls, 0);
    CHECK_INT(other.calls, 0);
    CHECK_INT(s.chunks_after_cancel, 0);
    stream_clear(&s);
    reply_clear(&other);
    free(path);
    free(name);
}

/* ---- cancellation ---- */

typedef struct Canceller {
    Reply r; /* first: on_reply's view */
    EngineReq *self, *other;
    Engine *free_engine;
} Canceller;

static void on_reply_cancel(void *ud, int status, json_t *body, const char *err)
{
    Canceller *c = ud;
    on_reply(&c->r, status, body, err);
    engine_cancel(c->self); /* its own, inside its done: nothing happens */
    engine_cancel(c->other);
    if (c->free_engine)
        engine_free(c->free_engine);
}

TEST(cancel_in_flight)
{
    if (!have_docker())
        return;
    uv_loop_t loop;
    uv_loop_init(&loop);
    Engine *e = engine_new(&loop, HOST, NULL);
    REQUIRE(e);

    /* Still waiting for the version. */
    Reply queued = {0};
    engine_cancel(engine_request(e, "GET", "/info", NULL, on_reply, &queued));
    engine_cancel(NULL);

    /* On the wire: a stream that never ends by itself. */
    Reply ev = {0};
    EngineReq *r = engine_stream(e, "GET", "/events", NULL, NULL, on_reply, &ev);
    run_for(&loop, 300);
    CHECK(engine_api_version(e) != NULL);
    CHECK_INT(ev.calls, 0);
    engine_cancel(r);

    /* Inside another's done, and its own. */
    Reply ev2 = {0};
    Canceller c = {0};
    c.other = engine_stream(e, "GET", "/events", NULL, NULL, on_reply, &ev2);
    c.self = engine_request(e, "GET", "/_ping", NULL, on_reply_cancel, &c);
    CHECK(run_until(&loop, &c.r.calls, 1, 5000));
    CHECK_INT(c.r.status, 200);

    /* The engine still works after all that. */
    Reply info = {0};
    call(&loop, e, "GET", "/info", NULL, &info);
    CHECK_INT(info.status, 200);
    run_for(&loop, 100);
    CHECK_INT(queued.calls, 0);
    CHECK_INT(ev.calls, 0);
    CHECK_INT(ev2.calls, 0);

    /* engine_free inside a done with a stream in flight. */
    Reply ev3 = {0};
    Canceller f = {0};
    f.free_engine = e;
    engine_stream(e, "GET", "/events", NULL, NULL, on_reply, &ev3);
    f.self = engine_request(e, "GET", "/_ping", NULL, on_reply_cancel, &f);
    CHECK(run_until(&loop, &f.r.calls, 1, 5000));
    drain_and_close(&loop);
    CHECK_INT(ev3.calls, 0);
    reply_clear(&info);
    reply_clear(&c.r);
    reply_clear(&f.r);
}

/* engine_free with requests queued and in flight: no callbacks. */
TEST(engine_free_cancels_everything)
{
    if (!have_docker())
        return;
    uv_loop_t loop;
    uv_loop_init(&loop);
    Engine *e = engine_new(&loop, HOST, NULL);
    REQUIRE(e);
    Reply a = {0}, b = {0};
    Conn c = {0};
    engine_connect(e, on_connected, &c);
    engine_request(e, "GET", "/info", NULL, on_reply, &a);
    engine_free(e); /* before the ping answered */
    drain_and_close(&loop);
    CHECK_INT(a.calls, 0);
    CHECK_INT(c.calls, 0);

    uv_loop_init(&loop);
    e = connected(&loop);
    REQUIRE(e);
    engine_stream(e, "GET", "/events", NULL, NULL, on_reply, &b);
    engine_request(e, "GET", "/info", NULL, on_reply, &a);
    run_for(&loop, 50);
    engine_free(e);
    drain_and_close(&loop);
    CHECK_INT(b.calls, 0);
    reply_clear(&a);
}

/* ---- many at once ---- */

TEST(twenty_concurrent_requests_all_complete)
{
    if (!have_docker())
        return;
    uv_loop_t loop;
    uv_loop_init(&loop);
    Engine *e = engine_new(&loop, HOST, NULL);
    REQUIRE(e);
    enum { N = 20 };
    Reply r[N];
    memset(r, 0, sizeof r);
    int done = 0;
    for (int i = 0; i < N; i++) {
        const char *path = i % 4 == 0 ? "/containers/nosuch/json" : i % 2 ? "/info" : "/version";
        engine_request(e, "GET", path, NULL, on_reply, &r[i]);
    }
    uint64_t t0 = now_ns();
    for (int i = 0; i < N; i++) {
        CHECK(run_until(&loop, &r[i].calls, 1, 10000));
        done += r[i].calls;
    }
    printf("# %d requests in %llu ms\n", N, (unsigned long long)((now_ns() - t0) / 1000000));
    CHECK_INT(done, N);
    for (int i = 0; i < N; i++) {
        if (i % 4 == 0) {
            CHECK_INT(r[i].status, 404);
            CHECK_STR(r[i].err, "No such container: nosuch");
        } else if (i % 2) {
            CHECK_INT(r[i].status, 200);
            CHECK(json_object_get(r[i].body, "ID") != NULL);
        } else {
            CHECK_INT(r[i].status, 200);
            CHECK(json_object_get(r[i].body, "ApiVersion") != NULL);
        }
        reply_clear(&r[i]);
    }
    engine_free(e);
    drain_and_close(&loop);
}
