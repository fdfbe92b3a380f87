/* Tests of the log mux over real pipes and a real libuv loop: line
 * splitting and joining, cutting at line_max, prefixes and colours,
 * timestamps, JSON lines, log files and their rotation, the listener, and
 * backpressure under a 100 MB flood from a child process. */
#include "lib/logmux.h"
#include "test.h"
#include "lib/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- helpers ----------------------------------------------------------- */

static char *tmpdir_new(void)
{
    char *d = test_tmp_template("tend-logmux");
    if (!mkdtemp(d)) {
        free(d);
        return NULL;
    }
    return d;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static void tmpdir_free(char *d)
{
    if (d)
        nftw(d, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(d);
}

static char *slurp(const char *path)
{
    char *data = NULL;
    size_t len = 0;
    if (read_file(path, 64 << 20, &data, &len) < 0)
        return NULL;
    return data;
}

/* A file in dir for the terminal output, so tests can read it back. */
static int out_file(const char *dir, char **ret_path)
{
    *ret_path = path_join(dir, "out");
    return open(*ret_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
}

/* Frees the mux and runs the loop until every handle is closed. */
static int finish(uv_loop_t *loop, LogMux *m)
{
    logmux_free(m);
    uv_run(loop, UV_RUN_DEFAULT);
    return uv_loop_close(loop);
}

typedef struct Rec {
    char service[32];
    int stream;
    char line[256];
    size_t len;
    int64_t ns;
} Rec;

typedef struct Recorder {
    Rec recs[64];
    size_t n;
    size_t total; /* lines seen, also past the 64 kept */
    LogMux *mux;
    bool answer_ready; /* logs "healthy" from inside the listener */
} Recorder;

static void record(void *ud, const char *service, int stream, const char *line, size_t len,
                   int64_t ns)
{
    Recorder *r = ud;
    r->total++;
    if (r->n < ARRAY_SIZE(r->recs)) {
        Rec *x = &r->recs[r->n++];
        snprintf(x->service, sizeof x->service, "%s", service);
        x->stream = stream;
        x->len = len < sizeof x->line - 1 ? len : sizeof x->line - 1;
        memcpy(x->line, line, x->len);
        x->line[x->len] = '\0';
        x->ns = ns;
    }
    if (r->answer_ready && len == 5 && memcmp(line, "ready", 5) == 0)
        logmux_system(r->mux, service, "healthy");
}

/* A pipe whose read end the mux reads; the test writes the other end. */
typedef struct PipeSrc {
    uv_pipe_t pipe;
    int wfd;
    int eofs;
} PipeSrc;

static int pipe_src_open(uv_loop_t *loop, PipeSrc *p)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0)
        return -errno;
    uv_pipe_init(loop, &p->pipe, 0);
    int r = uv_pipe_open(&p->pipe, fds[0]);
    p->wfd = fds[1];
    p->eofs = 0;
    return r;
}

static void on_pipe_eof(void *ud)
{
    ((PipeSrc *)ud)->eofs++;
}

static void put(PipeSrc *p, const char *s)
{
    size_t n = strlen(s);
    ssize_t k = write(p->wfd, s, n);
    CHECK(k == (ssize_t)n);
}

static int count_fds(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

static int64_t wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Parses "YYYY-MM-DDTHH:MM:SS.mmmZ" strictly; milliseconds since the epoch
 * or -1. */
static int64_t parse_ts(const char *s)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ";
    for (size_t i = 0; i < sizeof shape - 1; i++) {
        if (shape[i] == 'd' ? !(s[i] >= '0' && s[i] <= '9') : s[i] != shape[i])
            return -1;
    }
    struct tm tm = {0};
    int ms;
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d.%3d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
               &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms) != 7)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (int64_t)timegm(&tm) * 1000 + ms;
}

/* ---- lines ------------------------------------------------------------- */

TEST(lines_from_two_pipes_interleave_whole_and_join_across_reads)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    char *dir = tmpdir_new(), *out = NULL;
    REQUIRE(dir);
    int fd = out_file(dir, &out);
    REQUIRE(fd >= 0);
    LogMux *m = logmux_new(&loop, &(LogMuxOptions){.out_fd = fd});
    Recorder rec = {0};
    logmux_set_listener(m, record, &rec);

    PipeSrc a, b;
    REQUIRE(pipe_src_open(&loop, &a) == 0);
    REQUIRE(pipe_src_open(&loop, &b) == 0);
    int caller_data;
    a.pipe.data = &caller_data;
    int sa = logmux_source(m, "api", LOG_STDOUT), sb = logmux_source(m, "worker", LOG_STDERR);
    CHECK_INT(sa, 0);
    CHECK_INT(sb, 1);
    CHECK_INT(logmux_attach(m, sa, (uv_stream_t *)&a.pipe, on_pipe_eof, &a), 0);
    CHECK_INT(logmux_attach(m, sb, (uv_stream_t *)&b.pipe, on_pipe_eof, &b), 0);
    CHECK_INT(logmux_attach(m, sb, (uv_stream_t *)&b.pipe, on_pipe_eof, &b), -EBUSY);

    /* Each write is read on its own; the halves of a line must meet again. */
    put(&a, "alpha one\nalpha tw");
    uv_run(&loop, UV_RUN_ONCE);
    put(&b, "beta one\nbeta tw");
    uv_run(&loop, UV_RUN_ONCE);
    put(&a, "o\n");
    uv_run(&loop, UV_RUN_ONCE);
    put(&b, "o\n");
    uv_run(&loop, UV_RUN_ONCE);
    close(a.wfd);
    close(b.wfd);
    while (a.eofs + b.eofs < 2)
        uv_run(&loop, UV_RUN_ONCE);
    CHECK_INT(a.eofs, 1);
    CHECK_INT(b.eofs, 1);
    CHECK(a.pipe.data == &caller_data); /* given back at the end */
    CHECK(uv_is_closing((uv_handle_t *)&a.pipe));

    CHECK_INT(finish(&loop, m), 0);
    _cleanup_free_ char *got = slurp(out);
    CHECK_STR(got, "api    | alpha one\n"
                   "worker | beta one\n"
                   "api    | alpha two\n"
                   "worker | beta two\n");
    REQUIRE(rec.n == 4);
    CHECK_STR(rec.recs[0].service, "api");
    CHECK_INT(rec.recs[0].stream, LOG_STDOUT);
    CHECK_STR(rec.recs[1].service, "worker");
    CHECK_INT(rec.recs[1].stream, LOG_STDERR);
    CHECK_STR(rec.recs[2].line, "alpha two");
    CHECK_STR(rec.recs[3].line, "beta two");
    close(fd);
    free(out);
    tmpdir_free(dir);
}

TEST(fed_partial_line_is_joined_and_flush_emits_the_rest)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    LogMux *m = logmux_new(&loop, &(LogMuxOptions){.out_fd = -1});
    Recorder rec = {0};
    logmux_set_listener(m, record, &rec);
    int s = logmux_source(m, "web", LOG_STDOUT);
    logmux_feed(m, s, "hel", 3);
    logmux_feed(m, s, "lo wor", 6);
    CHECK_INT(rec.n, 0);
    logmux_feed(m, s, "ld\n\nnext", 8);
    REQUIRE(rec.n == 2);
    CHECK_STR(rec.recs[0].line, "hello world");
    CHECK_STR(rec.recs[1].line, "");
    logmux_flush(m, s);
    REQUIRE(rec.n == 3);
    CHECK_STR(rec.recs[2].line, "next");
    logmux_flush(m, s); /* nothing left: no empty line */
    CHECK_INT(rec.n, 3);
    CHECK_INT(finish(&loop, m), 0);
}

TEST(line_longer_than_line_max_is_cut_and_continues)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    char *dir = tmpdir_new(), *out = NULL;
    REQUIRE(dir);
    int fd = out_file(dir, &out);
    REQUIRE(fd >= 0);
    LogMux *m = logmux_new(&loop, &(LogMuxOptions){.out_fd = fd, .line_max = 8});
    Recorder rec = {0};
    logmux_set_listener(m, record, &rec);

    /* Through a pipe, the long line spanning two reads. */
    PipeSrc p;
    REQUIRE(pipe_src_open(&loop, &p) == 0);
    int s = logmux_source(m, "web", LOG_STDOUT);
    CHECK_INT(logmux_attach(m, s, (uv_stream_t *)&p.pipe, on_pipe_eof, &p), 0);
    put(&p, "0123456789");
    uv_run(&loop, UV_RUN_ONCE);
    put(&p, "abcdefXYZ\n");
    uv_run(&loop, UV_RUN_ONCE);
    /* Whole in one read: exactly line_max stays whole, twice it is two
     * lines and no empty third. */
    put(&p, "ABCDEFGH\nABCDEFGHIJKLMNOP\nABCDEFGHIJKLMNOPQ\n");
    close(p.wfd);
    while (!p.eofs)
        uv_run(&loop, UV_RUN_ONCE);
    CHECK_INT(finish(&loop, m), 0);

    _cleanup_free_ char *got = slurp(out);
    CHECK_STR(got, "web | 01234567\n"
                   "web | 89abcdef\n"
                   "web | XYZ\n"
                   "web | ABCDEFGH\n"
                   "web | ABCDEFGH\n"
                   "web | IJKLMNOP\n"
                   "web | ABCDEFGH\n"
                   "web | IJKLMNOP\n"
                   "web | Q\n");
    CHECK_INT(rec.n, 9);
    close(fd);
    free(out);
    tmpdir_free(dir);
}

TEST(eof_flushes_a_last_line_without_newline)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    char *dir = tmpdir_new(), *out = NULL;
    REQUIRE(dir);
    int fd = out_file(dir, &out);
    REQUIRE(fd >= 0);
    LogMux *m = logmux_new(&loop, &(LogMuxOptions){.out_fd = fd});
    Recorder rec = {0};
    logmux_set_listener(m, record, &rec);
    PipeSrc p;
    REQUIRE(pipe_src_open(&loop, &p) == 0);
    int s = logmux_source(m, "job", LOG_STDERR);
    CHECK_INT(logmux_attach(m, s, (uv_stream_t *)&p.pipe, on_pipe_eof, &p), 0);
    put(&p, "first\nlast words");
    close(p.wfd);
    while (!p.eofs)
        uv_run(&loop, UV_RUN_ONCE);
    CHECK_INT(p.eofs, 1);
    REQUIRE(rec.n == 2);
    CHECK_STR(rec.recs[1].line, "last words");
    CHECK_INT(rec.recs[1].stream, LOG_STDERR);
    CHECK_INT(finish(&loop, m), 0);
    _cleanup_free_ char *got = slurp(out);
    CHECK_STR(got, "job | first\njob | last words\n");
    close(fd);
    free(out);
    tmpdir_free(dir);
}

TEST(bad_source_ids_and_streams_are_refused)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    LogMux *m = logmux_new(&loop, &(LogMuxOptions){.out_fd = -1});
    CHECK_INT(logmux_source(m, "web", 0), -EINVAL);
    CHECK_INT(logmux_source(m, "web", 4), -EINVAL);
    CHECK_INT(logmux_source(m, "", LOG_STDOUT), -EINVAL);
    CHECK_INT(logmux_source(m, "web", LOG_STDOUT), 0);
    uv_pipe_t p;
    uv_pipe_init(&loop, &p, 0);
    CHECK_INT(logmux_attach(m, 1, (uv_stream_t *)&p, NULL, NULL), -EINVAL);
    CHECK_INT(logmux_attach(m, -1, (uv_stream_t *)&p, NULL, NULL), -EINVAL);
    logmux_feed(m, 7, "x\n", 2); /* ignored, no crash */
    uv_close((uv_handle_t *)&p, NULL);
    CHECK_INT(finish(&loop, m), 0);
}

/* ---- presentation ------------------------------------------------------ */

static char *run_feed(const LogMuxOptions *o, const char *const *services, size_t n,
                      const char *text)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    char *dir = tmpdir_new(), *out = NULL;
    if (!dir)
        return NULL;
    int fd = out_file(dir, &out);
    LogMuxOptions oo = *o;
    oo.out_fd = fd;
    LogMux *m = logmux_new(&loop, &oo);
    int first = -1;
    for (size_t i = 0; i < n; i++) {
        int s = logmux_source(m, services[i], LOG_STDOUT);
        if (first < 0)
            first = s;
    }
    logmux_feed(m, first, text, strlen(text));
    CHECK_INT(finish(&loop, m), 0);
    char *got = slurp(out);
    close(fd);
    free(out);
    tmpdir_free(dir);
    return got;
}

TEST(prefix_is_padded_to_the_longest_name_and_coloured_stably)
{
    const char *one[] = {"web"}, *two[] = {"web", "database"};
    _cleanup_free_ char *plain = run_feed(&(LogMuxOptions){0}, two, 2, "a\n");
    CHECK_STR(plain, "web      | a\n");

    /* The colour comes from the name alone: the same in two muxes, and
     * fixed (FNV-1a into the palette) so it is the same in every run. */
    _cleanup_free_ char *c1 = run_feed(&(LogMuxOptions){.color = true}, one, 1, "hi\n");
    _cleanup_free_ char *c2 = run_feed(&(LogMuxOptions){.color = true}, two, 2, "hi\n");
    CHECK_STR(c1, "\033[33mweb | \033[0mhi\n");
    CHECK_STR(c2, "\033[33mweb      | \033[0mhi\n");

    _cleanup_free_ char *none = run_feed(&(LogMuxOptions){.no_prefix = true}, two, 2, "x\ny\n");
    CHECK_STR(none, "x\ny\n");
}

TEST(system_lines_use_the_prefix_bold_in_colour_and_tend_for_the_project)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    char *dir = tmpdir_new(), *out = NULL;
    REQUIRE(dir);
    int fd = out_file(dir, &out);
    LogMux *m = logmux_new(&loop, &(LogMuxOptions){.out_fd = fd, .color = true});
    Recorder rec = {0};
    logmux_set_listener(m, record, &rec);
    logmux_source(m, "db", LOG_STDOUT);
    logmux_system(m, "db", "started (pid %d)", 42);
    logmux_system(m, NULL, "two\nlines\n");
    CHECK_INT(finish(&loop, m), 0);
    _cleanup_free_ char *got = slurp(out);
    /* "tend" arrives later and widens the prefix from then on. */
    CHECK_STR(got, "\033[93mdb | \033[0m\033[1mstarted (pid 42)\033[0m\n"
                   "\033[92mtend | \033[0m\033[1mtwo\033[0m\n"
                   "\033[92mtend | \033[0m\033[1mlines\033[0m\n");
    REQUIRE(rec.n == 3);
    CHECK_STR(rec.recs[0].service, "db");
    CHECK_INT(rec.recs[0].stream, LOG_SYSTEM);
    CHECK_STR(rec.recs[0].line, "started (pid 42)");
    CHECK_STR(rec.recs[1].service, "tend");
    CHECK_INT(rec.recs[1].stream, LOG_SYSTEM);
    close(fd);
    free(out);
    tmpdir_free(dir);
}

TEST(timestamps_are_rfc3339_utc_milliseconds_of_arrival)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    char *dir = tmpdir_new(), *out = NULL;
    REQUIRE(dir);
    int fd = out_file(dir, &out);
    LogMux *m = logmux_new(&loop, &(LogMuxOptions){.out_fd = fd, .timestamps = true});
    Recorder rec = {0};
    logmux_set_listener(m, record, &rec);
    int s = logmux_source(m, "web", LOG_STDOUT);
    int64_t before = wall_ns() / 1000000;
    logmux_feed(m, s, "hello\n", 6);
    int64_t after = wall_ns() / 1000000;
    CHECK_INT(finish(&loop, m), 0);

    _cleanup_free_ char *got = slurp(out);
    REQUIRE(got);
    CHECK_INT(strlen(got), 6 + 24 + 1 + 6);
    CHECK(str_startswith(got, "web | "));
    CHECK(str_endswith(got, "Z hello\n"));
    int64_t ms = parse_ts(got + 6);
    CHECK(ms >= before && ms <= after);
    REQUIRE(rec.n == 1);
    CHECK_INT(rec.recs[0].ns / 1000000, ms);
    close(fd);
    free(out);
    tmpdir_free(dir);

    const char *one[] = {"web"};
    _cleanup_free_ char *bare =
        run_feed(&(LogMuxOptions){.timestamps = true, .no_prefix = true}, one, 1, "x\n");
    REQUIRE(bare);
    CHECK(parse_ts(bare) > 0);
    CHECK_STR(bare + 24, " x\n");
}

TEST(json_lines_parse_and_escape_quotes_controls_and_invalid_utf8)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    char *dir = tmpdir_new(), *out = NULL;
    REQUIRE(dir);
    int fd = out_file(dir, &out);
    LogMux *m = logmux_new(&loop, &(LogMuxOptions){.out_fd = fd, .json = true, .color = true});
    int s = logmux_source(m, "web", LOG_STDERR);
    const char raw[] = "say \"hi\"\\ \t\x01 caf\xc3\xa9 \xe2\x82\xac bad\xff trunc\xe2\x82! "
                       "over\xc0\xaf sur\xed\xa0\x80 \xf0\x9f\x98\x80\x7f\n";
    logmux_feed(m, s, raw, sizeof raw - 1);
    logmux_system(m, NULL, "up");
    CHECK_INT(finish(&loop, m), 0);

    _cleanup_free_ char *got = slurp(out);
    REQUIRE(got);
    char *nl = strchr(got, '\n');
    REQUIRE(nl);
    *nl = '\0';
    /* The escaped form, byte for byte: no colour, U+FFFD per maximal
     * ill-formed subpart, valid UTF-8 and DEL kept as they are. */
    CHECK(str_endswith(got, "\",\"service\":\"web\",\"stream\":\"stderr\",\"line\":"
                            "\"say \\\"hi\\\"\\\\ \\t\\u0001 caf\xc3\xa9 \xe2\x82\xac "
                            "bad\xef\xbf\xbd trunc\xef\xbf\xbd! over\xef\xbf\xbd\xef\xbf\xbd "
                            "sur\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd \xf0\x9f\x98\x80\x7f\"}"));
    CHECK(str_startswith(got, "{\"time\":\""));

    json_error_t err;
    json_t *j = json_loads(got, 0, &err);
    if (!j)
        printf("#   json: %s\n", err.text);
    REQUIRE(j);
    CHECK(parse_ts(json_string_value(json_object_get(j, "time"))) > 0);
    CHECK_STR(json_string_value(json_object_get(j, "service")), "web");
    CHECK_STR(json_string_value(json_object_get(j, "stream")), "stderr");
    CHECK_STR(json_string_value(json_object_get(j, "line")),
              "say \"hi\"\\ \t\x01 caf\xc3\xa9 \xe2\x82\xac bad\xef\xbf\xbd trunc\xef\xbf\xbd! "
              "over\xef\xbf\xbd\xef\xbf\xbd sur\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd "
              "\xf0\x9f\x98\x80\x7f");
    CHECK_INT(json_object_size(j), 4);
    json_decref(j);

    json_t *k = json_loads(nl + 1, 0, &err);
    REQUIRE(k);
    CHECK_STR(json_string_value(json_object_get(k, "service")), "tend");
    CHECK_STR(json_string_value(json_object_get(k, "stream")), "tend");
    CHECK_STR(json_string_value(json_object_get(k, "line")), "up");
    json_decref(k);
    close(fd);
    free(out);
    tmpdir_free(dir);
}

/* ---- listener ---------------------------------------------------------- */

TEST(listener_gets_each_line_once_and_may_log_from_inside)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    char *dir = tmpdir_new(), *out = NULL;
    REQUIRE(dir);
    int fd = out_file(dir, &out);
    LogMux *m = logmux_new(&loop, &(LogMuxOptions){.out_fd = fd});
    Recorder rec = {.answer_ready = true, .mux = m};
    logmux_set_listener(m, record, &rec);
    int so = logmux_source(m, "web", LOG_STDOUT), se = logmux_source(m, "web", LOG_STDERR);
    logmux_feed(m, so, "boot\nready\nserving\n", 19);
    logmux_feed(m, se, "warn\n", 5);
    CHECK_INT(finish(&loop, m), 0);

    /* The listener's message comes right after the line that caused it,
     * on the terminal and to the listener alike. */
    _cleanup_free_ char *got = slurp(out);
    CHECK_STR(got, "web | boot\nweb | ready\nweb | healthy\nweb | serving\nweb | warn\n");
    REQUIRE(rec.n == 5);
    const char *lines[] = {"boot", "ready", "healthy", "serving", "warn"};
    const int streams[] = {LOG_STDOUT, LOG_STDOUT, LOG_SYSTEM, LOG_STDOUT, LOG_STDERR};
    for (size_t i = 0; i < 5; i++) {
        CHECK_STR(rec.recs[i].service, "web");
        CHECK_STR(rec.recs[i].line, lines[i]);
        CHECK_INT(rec.recs[i].stream, streams[i]);
    }
    close(fd);
    free(out);
    tmpdir_free(dir);
}

/* ---- log files --------------------------------------------------------- */

/* The file's lines with the 24-character timestamp checked and cut off. */
static char *strip_ts(const char *text)
{
    StrBuf b;
    strbuf_init(&b, 0);
    for (const char *p = text; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p + 1) : strlen(p);
        if (n < 25 || parse_ts(p) < 0 || p[24] != ' ')
            strbuf_puts(&b, "BAD:");
        else
            strbuf_append(&b, p + 25, n - 25);
        p += n;
    }
    return strbuf_steal(&b);
}

static off_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? st.st_size : -1;
}

TEST(raw_bytes_go_to_the_terminal_in_order_with_lines)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    char *dir = tmpdir_new(), *out = NULL;
    REQUIRE(dir);
    int fd = out_file(dir, &out);
    LogMux *m = logmux_new(&loop, &(LogMuxOptions){.out_fd = fd, .log_dir = dir});
    Recorder rec = {0};
    logmux_set_listener(m, record, &rec);
    int s = logmux_source(m, "web", LOG_STDOUT);
    logmux_feed(m, s, "a\n", 2);
    logmux_raw(m, "{\"event\":\"start\"}\n", 18);
    logmux_feed(m, s, "b\n", 2);
    CHECK_INT(finish(&loop, m), 0);
    _cleanup_free_ char *got = slurp(out);
    CHECK_STR(got, "web | a\n{\"event\":\"start\"}\nweb | b\n");
    CHECK_INT(rec.n, 2); /* not a line of any service */
    _cleanup_free_ char *log = path_join(dir, "web.log");
    _cleanup_free_ char *text = slurp(log);
    _cleanup_free_ char *lines = strip_ts(text);
    CHECK_STR(lines, "stdout a\nstdout b\n");
    close(fd);
    free(out);
    tmpdir_free(dir);
}

TEST(log_files_get_stamped_lines_and_rotate_at_file_max)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    char *dir = tmpdir_new();
    REQUIRE(dir);
    _cleanup_free_ char *logs = path_join(dir, "logs/deep");
    /* No terminal at all: files and listener still work. */
    LogMux *m = logmux_new(&loop, &(LogMuxOptions){.out_fd = -1, .log_dir = logs, .file_max = 100});
    int web = logmux_source(m, "web", LOG_STDOUT);
    int db = logmux_source(m, "db", LOG_STDERR);
    /* 39 bytes per file line: two fit under 100, the third rotates. */
    logmux_feed(m, web, "line-0\nline-1\nline-2\nline-3\nline-4\nline-5\nline-6\n", 49);
    logmux_feed(m, web, "line-7\nline-8\nline-9\n", 21);
    logmux_feed(m, db, "oops\n", 5);
    logmux_system(m, "db", "started");
    logmux_system(m, NULL, "project-wide, not in a service file");
    CHECK_INT(finish(&loop, m), 0);

    _cleanup_free_ char *p0 = path_join(logs, "web.log");
    _cleanup_free_ char *p1 = path_join(logs, "web.log.1");
    _cleanup_free_ char *pd = path_join(logs, "db.log");
    _cleanup_free_ char *ptend = path_join(logs, "tend.log");
    _cleanup_free_ char *w0 = slurp(p0), *w1 = slurp(p1), *d0 = slurp(pd);
    _cleanup_free_ char *s0 = strip_ts(w0), *s1 = strip_ts(w1), *sd = strip_ts(d0);
    CHECK_STR(s0, "stdout line-8\nstdout line-9\n");
    CHECK_STR(s1, "stdout line-6\nstdout line-7\n");
    CHECK_STR(sd, "stderr oops\ntend started\n");
    CHECK_INT(file_size(p0), 78);
    CHECK_INT(file_size(p1), 78);
    CHECK_INT(file_size(ptend), -1);

    struct stat st;
    REQUIRE(stat(logs, &st) == 0);
    CHECK_INT(st.st_mode & 0777, 0700);
    REQUIRE(stat(p0, &st) == 0);
    CHECK_INT(st.st_mode & 0777, 0600);
    tmpdir_free(dir);
}

TEST(log_file_rotation_keeps_a_line_longer_than_file_max_whole)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    char *dir = tmpdir_new();
    REQUIRE(dir);
    LogMux *m = logmux_new(&loop, &(LogMuxOptions){.out_fd = -1, .log_dir = dir, .file_max = 40});
    int web = logmux_source(m, "web", LOG_STDOUT);
    const char *text = "a\nthis line is longer than the whole cap\nb\n";
    logmux_feed(m, web, text, strlen(text));
    CHECK_INT(finish(&loop, m), 0);
    _cleanup_free_ char *p0 = path_join(dir, "web.log"), *p1 = path_join(dir, "web.log.1");
    _cleanup_free_ char *w0 = slurp(p0), *w1 = slurp(p1);
    _cleanup_free_ char *s0 = strip_ts(w0), *s1 = strip_ts(w1);
    CHECK_STR(s1, "stdout this line is longer than the whole cap\n");
    CHECK_STR(s0, "stdout b\n");
    tmpdir_free(dir);
}

TEST(unusable_log_dir_is_reported_once_and_output_goes_on)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    char *dir = tmpdir_new(), *out = NULL;
    REQUIRE(dir);
    int fd = out_file(dir, &out); /* a regular file named "out" */
    _cleanup_free_ char *bad = path_join(out, "logs");
    LogMux *m = logmux_new(&loop, &(LogMuxOptions){.out_fd = fd, .log_dir = bad});
    Recorder rec = {0};
    logmux_set_listener(m, record, &rec);
    int web = logmux_source(m, "web", LOG_STDOUT);
    logmux_feed(m, web, "one\ntwo\n", 8);
    CHECK_INT(finish(&loop, m), 0);
    _cleanup_free_ char *got = slurp(out);
    _cleanup_free_ char *want = xasprintf(
        "web | one\nweb | cannot create log directory %s: Not a directory\nweb | two\n", bad);
    CHECK_STR(got, want);
    REQUIRE(rec.n == 3);
    CHECK_INT(rec.recs[1].stream, LOG_SYSTEM);
    CHECK_STR(rec.recs[2].line, "two");
    close(fd);
    free(out);
    tmpdir_free(dir);
}

/* ---- the terminal as a pipe -------------------------------------------- */

TEST(pipe_output_is_drained_at_free_and_fd_flags_put_back)
{
    int fds_before = count_fds();
    uv_loop_t loop;
    uv_loop_init(&loop);
    int fds[2];
    REQUIRE(pipe2(fds, O_CLOEXEC) == 0);
    CHECK_INT(fcntl(fds[1], F_GETFL) & O_NONBLOCK, 0);
    LogMux *m = logmux_new(&loop, &(LogMuxOptions){.out_fd = fds[1]});
    int s = logmux_source(m, "web", LOG_STDOUT);
    logmux_feed(m, s, "one\ntwo\n", 8);
    logmux_feed(m, s, "three", 5);
    CHECK_INT(finish(&loop, m), 0); /* free flushes "three" */
    CHECK_INT(fcntl(fds[1], F_GETFL) & O_NONBLOCK, 0);
    close(fds[1]);
    char buf[256];
    ssize_t n = read(fds[0], buf, sizeof buf - 1);
    REQUIRE(n > 0);
    buf[n] = '\0';
    CHECK_STR(buf, "web | one\nweb | two\nweb | three\n");
    close(fds[0]);
    CHECK_INT(count_fds(), fds_before); /* the mux's dups are closed */
}

TEST(free_gives_up_on_a_stuck_terminal_after_the_drain_timeout)
{
    int fds_before = count_fds();
    uv_loop_t loop;
    uv_loop_init(&loop);
    int fds[2];
    REQUIRE(pipe2(fds, O_CLOEXEC) == 0);
    LogMux *m = logmux_new(&loop, &(LogMuxOptions){.out_fd = fds[1]});
    int s = logmux_source(m, "web", LOG_STDOUT);
    /* More than the pipe holds, and nobody reads. */
    static char line[1001];
    memset(line, 'x', 1000);
    line[1000] = '\n';
    for (int i = 0; i < 200; i++)
        logmux_feed(m, s, line, sizeof line);
    CHECK(logmux_backlog(m) > 0);
    uint64_t t0 = now_ns();
    CHECK_INT(finish(&loop, m), 0);
    double secs = (double)(now_ns() - t0) / 1e9;
    CHECK(secs >= 1.9 && secs < 10);
    close(fds[0]);
    close(fds[1]);
    CHECK_INT(count_fds(), fds_before);
}

/* ---- flood ------------------------------------------------------------- */

#define FLOOD_BYTES 100000000ull
#define FLOOD_LINE "0123456789abcdef0123456789\n" /* what `yes` prints, 27 bytes */
#define FLOOD_CMD "yes 0123456789abcdef0123456789 | head -c 100000000"

typedef struct Flood {
    uv_process_t proc;
    uv_pipe_t out;
    int eofs;
    bool exited;
    int64_t status;
} Flood;

static void flood_exit(uv_process_t *p, int64_t status, int sig)
{
    Flood *f = p->data;
    f->exited = true;
    f->status = sig ? -sig : status;
    uv_close((uv_handle_t *)p, NULL);
}

static void flood_eof(void *ud)
{
    ((Flood *)ud)->eofs++;
}

static int flood_start(uv_loop_t *loop, Flood *f)
{
    memset(f, 0, sizeof *f);
    uv_pipe_init(loop, &f->out, 0);
    char *args[] = {"sh", "-c", FLOOD_CMD, NULL};
    uv_stdio_container_t stdio[3] = {
        {.flags = UV_IGNORE},
        {.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&f->out},
        {.flags = UV_INHERIT_FD, .data.fd = 2},
    };
    uv_process_options_t o = {
        .exit_cb = flood_exit, .file = "sh", .args = args, .stdio = stdio, .stdio_count = 3};
    f->proc.data = f;
    return uv_spawn(loop, &f->proc, &o);
}

/* Reads the terminal pipe on its own thread: first not at all (so the
 * backlog must build up and reading must pause), then in small sips. It
 * checks every byte against the expected stream and stops at its end, so
 * a leaked write end cannot hang the test; extra bytes are looked for
 * after the mux is gone. */
typedef struct Reader {
    int fd;
    uint64_t total;
    uint64_t mismatch_at; /* first wrong byte + 1, 0 if none */
    const char *unit;     /* one full output line */
    size_t unit_len;
    uint64_t units;     /* how many full lines */
    const char *tail;   /* then this */
} Reader;

static void *reader_main(void *arg)
{
    Reader *r = arg;
    static char buf[16384];
    struct timespec stall = {0, 300 * 1000000}, sip = {0, 20 * 1000};
    nanosleep(&stall, NULL);
    uint64_t full = r->units * r->unit_len, pos = 0, end = full + strlen(r->tail);
    size_t upos = 0;
    while (pos < end) {
        size_t want_n = end - pos < sizeof buf ? (size_t)(end - pos) : sizeof buf;
        ssize_t n = read(r->fd, buf, want_n);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        for (ssize_t i = 0; i < n; i++, pos++) {
            char want;
            if (pos < full) {
                want = r->unit[upos];
                if (++upos == r->unit_len)
                    upos = 0;
            } else {
                want = pos - full < strlen(r->tail) ? r->tail[pos - full] : '\0';
            }
            if (buf[i] != want && !r->mismatch_at)
                r->mismatch_at = pos + 1;
        }
        nanosleep(&sip, NULL);
    }
    r->total = pos;
    return NULL;
}

typedef struct Sampler {
    uv_check_t check;
    LogMux *mux;
    size_t peak;
} Sampler;

/* Runs after every poll phase, when the reads of that turn are queued. */
static void sample(uv_check_t *c)
{
    Sampler *s = c->data;
    size_t b = logmux_backlog(s->mux);
    if (b > s->peak)
        s->peak = b;
}

TEST(flood_of_100mb_to_a_slow_pipe_keeps_the_backlog_bounded_and_loses_nothing)
{
    signal(SIGPIPE, SIG_IGN);
    uv_loop_t loop;
    uv_loop_init(&loop);
    int fds[2];
    REQUIRE(pipe2(fds, O_CLOEXEC) == 0);
    const size_t backlog_max = 1024 * 1024;
    LogMux *m = logmux_new(&loop, &(LogMuxOptions){.out_fd = fds[1], .backlog_max = backlog_max});
    Recorder rec = {0};
    logmux_set_listener(m, record, &rec);

    const uint64_t lines = FLOOD_BYTES / 27, rest = FLOOD_BYTES % 27; /* 3703703 and 19 */
    Reader r = {.fd = fds[0], .unit = "flood | " FLOOD_LINE, .unit_len = 35, .units = lines,
                .tail = "flood | 0123456789abcdef012\n"};
    CHECK_INT(rest, 19);
    pthread_t th;
    REQUIRE(pthread_create(&th, NULL, reader_main, &r) == 0);

    Sampler smp = {.mux = m};
    uv_check_init(&loop, &smp.check);
    smp.check.data = &smp;
    uv_check_start(&smp.check, sample);

    Flood f;
    uint64_t t0 = now_ns();
    int rc = flood_start(&loop, &f);
    CHECK_INT(rc, 0);
    if (rc == 0) {
        int s = logmux_source(m, "flood", LOG_STDOUT);
        CHECK_INT(logmux_attach(m, s, (uv_stream_t *)&f.out, flood_eof, &f), 0);
        while (!f.eofs || !f.exited)
            uv_run(&loop, UV_RUN_ONCE);
    }
    double secs = (double)(now_ns() - t0) / 1e9;
    uv_close((uv_handle_t *)&smp.check, NULL);
    CHECK_INT(finish(&loop, m), 0);
    pthread_join(th, NULL);
    close(fds[1]);
    char extra;
    fcntl(fds[0], F_SETFL, O_NONBLOCK);
    CHECK_INT(read(fds[0], &extra, 1), 0); /* nothing more, and no writer left */
    close(fds[0]);

    CHECK_INT(f.status, 0);
    CHECK_INT(rec.total, lines + 1);
    CHECK_INT(r.total, lines * 35 + 28);
    CHECK_INT(r.mismatch_at, 0);
    /* A read is 64 KiB in; with the 8-byte prefix on 27-byte lines its
     * batch is under 85 KiB out. */
    CHECK(smp.peak > backlog_max);
    CHECK(smp.peak <= backlog_max + 2 * 65536);
    printf("# flood: 100 MB to a slow pipe reader in %.2f s (%.0f MB/s), peak backlog %zu bytes\n",
           secs, (double)FLOOD_BYTES / 1e6 / secs, smp.peak);
}

static void count_line(void *ud, const char *service, int stream, const char *line, size_t len,
                       int64_t ns)
{
    (*(uint64_t *)ud)++;
}

TEST(flood_of_100mb_to_dev_null_and_a_log_file_reports_throughput)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    char *dir = tmpdir_new();
    REQUIRE(dir);
    int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
    REQUIRE(null >= 0);
    LogMux *m = logmux_new(&loop, &(LogMuxOptions){.out_fd = null, .log_dir = dir,
                                                    .timestamps = true});
    uint64_t count = 0;
    logmux_set_listener(m, count_line, &count);
    Flood f;
    uint64_t t0 = now_ns();
    int rc = flood_start(&loop, &f);
    CHECK_INT(rc, 0);
    if (rc == 0) {
        int s = logmux_source(m, "flood", LOG_STDOUT);
        CHECK_INT(logmux_attach(m, s, (uv_stream_t *)&f.out, flood_eof, &f), 0);
        while (!f.eofs || !f.exited)
            uv_run(&loop, UV_RUN_ONCE);
    }
    double secs = (double)(now_ns() - t0) / 1e9;
    CHECK_INT(logmux_backlog(m), 0); /* written directly, never queued */
    CHECK_INT(finish(&loop, m), 0);
    CHECK_INT(count, FLOOD_BYTES / 27 + 1);

    /* Each file line is 24 + 1 + 6 + 1 + 27 = 59 bytes, so rotated files
     * hold as many whole lines as fit under 10 MiB. */
    _cleanup_free_ char *p0 = path_join(dir, "flood.log"), *p1 = path_join(dir, "flood.log.1");
    off_t cap = 10 * 1024 * 1024;
    CHECK_INT(file_size(p1), cap / 59 * 59);
    CHECK(file_size(p0) > 0 && file_size(p0) <= cap);
    printf("# flood: 100 MB to /dev/null and a log file in %.2f s (%.0f MB/s)\n", secs,
           (double)FLOOD_BYTES / 1e6 / secs);
    close(null);
    tmpdir_free(dir);
}
