/* Tests for probe: attempts against real servers started here on free
 * loopback ports (postgres, redis-server, python3 -m http.server), fake
 * servers on the loop for the answers real ones rarely give (LOADING, no
 * answer at all), commands, cancellation at awkward moments, and the
 * prober's schedule. Every case ends by running its loop dry and closing
 * it, which fails if a handle was left open. */
#include "run/probe.h"
#include "test.h"
#include "lib/util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <libpq-fe.h>

#define MS 1000000LL

/* ---- loop helpers ---- */

typedef struct Outcome {
    int calls;
    bool ok;
    char detail[256]; /* "" when done gave no detail */
} Outcome;

static void on_done(void *ud, bool ok, const char *detail)
{
    Outcome *o = ud;
    o->calls++;
    o->ok = ok;
    snprintf(o->detail, sizeof o->detail, "%s", detail ? detail : "");
}

static void on_guard(uv_timer_t *t)
{
    *(bool *)t->data = true;
}

/* Runs the loop until *count reaches want or ms pass. */
static bool run_until(uv_loop_t *loop, const int *count, int want, int ms)
{
    bool expired = false;
    uv_timer_t guard;
    uv_timer_init(loop, &guard);
    guard.data = &expired;
    uv_timer_start(&guard, on_guard, (uint64_t)ms, 0);
    while (*count < want && !expired)
        uv_run(loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&guard, NULL);
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

/* Runs the loop until nothing is left (runs closed, commands reaped) and
 * closes it: UV_EBUSY here means a handle was leaked. */
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
    if (hung) {
        uv_run(loop, UV_RUN_NOWAIT);
        return;
    }
    uv_run(loop, UV_RUN_DEFAULT);
    CHECK_INT(uv_loop_close(loop), 0);
}

/* One attempt, run to its end. */
static Outcome probe_once(uv_loop_t *loop, const ProbeTarget *t, int64_t timeout_ns)
{
    Outcome o = {0};
    probe_start(loop, t, timeout_ns, on_done, &o);
    run_until(loop, &o.calls, 1, (int)(timeout_ns / MS) + 3000);
    return o;
}

static void count_active(uv_handle_t *h, void *arg)
{
    if (uv_is_active(h) && !uv_is_closing(h))
        (*(int *)arg)++;
}

static int active_handles(uv_loop_t *loop)
{
    int n = 0;
    uv_walk(loop, count_active, &n);
    return n;
}

/* ---- processes and ports ---- */

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sin;
    if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof sin) < 0 ||
        getsockname(fd, (struct sockaddr *)&sin, &len) < 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    return ntohs(sin.sin_port);
}

static bool port_open(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&sin, sizeof sin) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

static bool wait_port(int port, int ms)
{
    for (int waited = 0; waited < ms; waited += 20) {
        if (port_open(port))
            return true;
        usleep(20000);
    }
    return false;
}

/* Starts argv in its own session with output discarded, as `pw` when
 * given (postgres refuses to run as root). */
static pid_t spawn_server(char *const argv[], const struct passwd *pw, const char *cwd)
{
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    setsid();
    int null = open("/dev/null", O_RDWR);
    dup2(null, 0);
    dup2(null, 1);
    dup2(null, 2);
    if (cwd && chdir(cwd) < 0)
        _exit(126);
    if (pw && (setgid(pw->pw_gid) < 0 || setgroups(0, NULL) < 0 || setuid(pw->pw_uid) < 0))
        _exit(126);
    char *env[] = {"LC_ALL=C", "PATH=/usr/bin:/bin", NULL};
    execve(argv[0], argv, env);
    _exit(127);
}

static int wait_exit(pid_t pid, int ms)
{
    int status;
    for (int waited = 0; waited < ms; waited += 10) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return status;
        if (r < 0)
            return -1;
        usleep(10000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return -1;
}

static void stop_server(pid_t pid)
{
    if (pid <= 0)
        return;
    kill(pid, SIGTERM);
    wait_exit(pid, 5000);
}

/* Gone, or a zombie nobody reaps (a container's init may not). */
static bool process_gone(pid_t pid)
{
    if (kill(pid, 0) < 0 && errno == ESRCH)
        return true;
    char path[64], *stat = NULL;
    size_t len;
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    if (read_file(path, 4096, &stat, &len) < 0)
        return true;
    const char *p = strrchr(stat, ')');
    bool zombie = p && p[1] == ' ' && p[2] == 'Z';
    free(stat);
    return zombie;
}

static pid_t read_pid(const char *path)
{
    char *s = NULL;
    size_t len;
    if (read_file(path, 64, &s, &len) < 0)
        return -1;
    pid_t pid = (pid_t)atoi(s);
    free(s);
    return pid;
}

static void remove_tree(const char *dir)
{
    char *cmd = xasprintf("rm -rf '%s'", dir);
    if (system(cmd) != 0)
        printf("#   could not remove %s\n", dir);
    free(cmd);
}

/* ---- fake servers on the loop ---- */

typedef enum FakeMode {
    FAKE_ACCEPT_CLOSE, /* accept, then hang up */
    FAKE_SILENT,       /* accept and never answer */
    FAKE_LOADING,      /* answer anything like a redis loading its dataset */
} FakeMode;

typedef struct Fake {
    uv_tcp_t server;
    FakeMode mode;
    int port;
    uv_tcp_t *clients[32];
    size_t n_clients;
} Fake;

static void free_handle(uv_handle_t *h)
{
    free(h);
}

static void fake_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    static char mem[512];
    *buf = uv_buf_init(mem, sizeof mem);
}

static void fake_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    if (n <= 0)
        return;
    static const char reply[] = "-LOADING Redis is loading the dataset in memory\r\n";
    uv_buf_t b = uv_buf_init((char *)reply, sizeof reply - 1);
    uv_try_write(s, &b, 1);
}

static void fake_connection(uv_stream_t *server, int status)
{
    Fake *f = server->data;
    if (status < 0)
        return;
    uv_tcp_t *c = xcalloc(1, sizeof *c);
    uv_tcp_init(server->loop, c);
    if (uv_accept(server, (uv_stream_t *)c) < 0 || f->mode == FAKE_ACCEPT_CLOSE ||
        f->n_clients == ARRAY_SIZE(f->clients)) {
        uv_close((uv_handle_t *)c, free_handle);
        return;
    }
    f->clients[f->n_clients++] = c;
    if (f->mode == FAKE_LOADING)
        uv_read_start((uv_stream_t *)c, fake_alloc, fake_read);
}

/* Listens on 127.0.0.1:port (0: any free port). */
static int fake_listen(uv_loop_t *loop, Fake *f, int port, FakeMode mode)
{
    memset(f, 0, sizeof *f);
    f->mode = mode;
    uv_tcp_init(loop, &f->server);
    f->server.data = f;
    struct sockaddr_in sin;
    uv_ip4_addr("127.0.0.1", port, &sin);
    int err = uv_tcp_bind(&f->server, (const struct sockaddr *)&sin, 0);
    if (err == 0)
        err = uv_listen((uv_stream_t *)&f->server, 64, fake_connection);
    int len = sizeof sin;
    if (err == 0)
        err = uv_tcp_getsockname(&f->server, (struct sockaddr *)&sin, &len);
    f->port = ntohs(sin.sin_port);
    return err;
}

static void fake_close(Fake *f)
{
    for (size_t i = 0; i < f->n_clients; i++)
        uv_close((uv_handle_t *)f->clients[i], free_handle);
    f->n_clients = 0;
    uv_close((uv_handle_t *)&f->server, NULL);
}

/* ---- tcp ---- */

TEST(tcp_probe_connects_to_a_listener_and_reports_refusal)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    Fake f;
    REQUIRE(fake_listen(&loop, &f, 0, FAKE_ACCEPT_CLOSE) == 0);

    Outcome o = probe_once(&loop, &(ProbeTarget){.kind = PROBE_TCP, .port = f.port}, 1000 * MS);
    CHECK_INT(o.calls, 1);
    CHECK(o.ok);
    CHECK_STR(o.detail, "");

    /* A host name goes through the resolver first. */
    o = probe_once(&loop, &(ProbeTarget){.kind = PROBE_TCP, .host = "localhost", .port = f.port},
                   1000 * MS);
    CHECK(o.ok);
    CHECK_STR(o.detail, "");

    int closed = free_port();
    o = probe_once(&loop, &(ProbeTarget){.kind = PROBE_TCP, .port = closed}, 1000 * MS);
    CHECK_INT(o.calls, 1);
    CHECK(!o.ok);
    CHECK_STR(o.detail, "connection refused");

    o = probe_once(&loop, &(ProbeTarget){.kind = PROBE_TCP}, 1000 * MS);
    CHECK(!o.ok);
    CHECK_STR(o.detail, "no port to probe");

    fake_close(&f);
    drain_and_close(&loop);
}

/* ---- http ---- */

TEST(http_probe_against_python_http_server)
{
    signal(SIGPIPE, SIG_IGN);
    TEST_TMP(dir, "tend-probe-http");
    REQUIRE(mkdtemp(dir));
    int port = free_port();
    char portbuf[16];
    snprintf(portbuf, sizeof portbuf, "%d", port);
    char *argv[] = {"/usr/bin/python3", "-m", "http.server", portbuf, "--bind", "127.0.0.1",
                    "--directory", dir, NULL};
    pid_t pid = spawn_server(argv, NULL, dir);
    if (!wait_port(port, 10000)) {
        stop_server(pid);
        remove_tree(dir);
        REQUIRE(!"python3 -m http.server did not start");
    }

    uv_loop_t loop;
    uv_loop_init(&loop);
    char *root = xasprintf("http://127.0.0.1:%d/", port);
    char *missing = xasprintf("http://127.0.0.1:%d/missing", port);

    Outcome o = probe_once(&loop, &(ProbeTarget){.kind = PROBE_HTTP, .url = root}, 2000 * MS);
    CHECK_INT(o.calls, 1);
    CHECK(o.ok);
    CHECK_STR(o.detail, "");

    o = probe_once(&loop, &(ProbeTarget){.kind = PROBE_HTTP, .url = root, .status = 200},
                   2000 * MS);
    CHECK(o.ok);

    o = probe_once(&loop, &(ProbeTarget){.kind = PROBE_HTTP, .url = root, .status = 204},
                   2000 * MS);
    CHECK(!o.ok);
    CHECK_STR(o.detail, "HTTP 200");

    o = probe_once(&loop, &(ProbeTarget){.kind = PROBE_HTTP, .url = missing}, 2000 * MS);
    CHECK(!o.ok);
    CHECK_STR(o.detail, "HTTP 404");

    /* Two at once share the multi handle. */
    Outcome a = {0}, b = {0};
    probe_start(&loop, &(ProbeTarget){.kind = PROBE_HTTP, .url = root}, 2000 * MS, on_done, &a);
    probe_start(&loop, &(ProbeTarget){.kind = PROBE_HTTP, .url = missing}, 2000 * MS, on_done, &b);
    int both = 0;
    for (int i = 0; i < 300 && both < 2; i++) {
        run_for(&loop, 10);
        both = a.calls + b.calls;
    }
    CHECK_INT(a.calls, 1);
    CHECK_INT(b.calls, 1);
    CHECK(a.ok);
    CHECK(!b.ok);
    CHECK_STR(b.detail, "HTTP 404");

    /* Idle after the attempts: nothing of curl's stays active. */
    run_for(&loop, 20);
    CHECK_INT(active_handles(&loop), 0);

    stop_server(pid);
    o = probe_once(&loop, &(ProbeTarget){.kind = PROBE_HTTP, .url = root}, 2000 * MS);
    CHECK(!o.ok);
    CHECK_STR(o.detail, "connection refused");

    free(root);
    free(missing);
    drain_and_close(&loop);
    remove_tree(dir);
}

TEST(http_probe_times_out_on_a_silent_server_and_cancels_cleanly)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    Fake f;
    REQUIRE(fake_listen(&loop, &f, 0, FAKE_SILENT) == 0);
    char *url = xasprintf("http://127.0.0.1:%d/health", f.port);

    uint64_t t0 = now_ns();
    Outcome o = probe_once(&loop, &(ProbeTarget){.kind = PROBE_HTTP, .url = url}, 200 * MS);
    uint64_t took = (now_ns() - t0) / MS;
    CHECK_INT(o.calls, 1);
    CHECK(!o.ok);
    CHECK_STR(o.detail, "timed out after 200ms");
    CHECK(took >= 190 && took < 1000);

    /* Cancelled mid-request: done never comes, and the loop closes. */
    Outcome c = {0};
    ProbeRun *r =
        probe_start(&loop, &(ProbeTarget){.kind = PROBE_HTTP, .url = url}, 2000 * MS, on_done, &c);
    run_for(&loop, 50);
    probe_cancel(r);
    run_for(&loop, 100);
    CHECK_INT(c.calls, 0);

    o = probe_once(&loop, &(ProbeTarget){.kind = PROBE_HTTP}, 200 * MS);
    CHECK(!o.ok);
    CHECK_STR(o.detail, "no URL to probe");

    free(url);
    fake_close(&f);
    drain_and_close(&loop);
}

/* ---- redis ---- */

static void redis_command(int port, const char *cmd)
{
    redisContext *c = redisConnect("127.0.0.1", port);
    if (c && !c->err) {
        redisReply *reply = redisCommand(c, cmd);
        if (reply)
            freeReplyObject(reply);
    }
    if (c)
        redisFree(c);
}

TEST(redis_probe_against_redis_server)
{
    signal(SIGPIPE, SIG_IGN);
    int port = free_port();
    char portbuf[16];
    snprintf(portbuf, sizeof portbuf, "%d", port);
    char *argv[] = {"/usr/bin/redis-server", "--port", portbuf, "--bind", "127.0.0.1",
                    "--save", "", "--appendonly", "no", "--protected-mode", "no", NULL};
    pid_t pid = spawn_server(argv, NULL, "/tmp");
    if (!wait_port(port, 5000)) {
        stop_server(pid);
        REQUIRE(!"redis-server did not start");
    }

    uv_loop_t loop;
    uv_loop_init(&loop);
    Outcome o = probe_once(&loop, &(ProbeTarget){.kind = PROBE_REDIS, .port = port}, 1000 * MS);
    CHECK_INT(o.calls, 1);
    CHECK(o.ok);
    CHECK_STR(o.detail, "");

    /* NOAUTH is an answer from a running server. */
    redis_command(port, "CONFIG SET requirepass secret");
    o = probe_once(&loop, &(ProbeTarget){.kind = PROBE_REDIS, .port = port}, 1000 * MS);
    CHECK(o.ok);

    o = probe_once(&loop, &(ProbeTarget){.kind = PROBE_REDIS, .host = "localhost", .port = port},
                   1000 * MS);
    CHECK(o.ok);

    stop_server(pid);
    o = probe_once(&loop, &(ProbeTarget){.kind = PROBE_REDIS, .port = port}, 1000 * MS);
    CHECK_INT(o.calls, 1);
    CHECK(!o.ok);
    CHECK_STR(o.detail, "connection refused");
    drain_and_close(&loop);
}

TEST(redis_probe_loading_is_not_ready_and_silence_times_out)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    Fake loading, silent;
    REQUIRE(fake_listen(&loop, &loading, 0, FAKE_LOADING) == 0);
    REQUIRE(fake_listen(&loop, &silent, 0, FAKE_SILENT) == 0);

    Outcome o =
        probe_once(&loop, &(ProbeTarget){.kind = PROBE_REDIS, .port = loading.port}, 1000 * MS);
    CHECK_INT(o.calls, 1);
    CHECK(!o.ok);
    CHECK_STR(o.detail, "loading the dataset");

    o = probe_once(&loop, &(ProbeTarget){.kind = PROBE_REDIS, .port = silent.port}, 200 * MS);
    CHECK(!o.ok);
    CHECK_STR(o.detail, "timed out after 200ms");

    /* Cancelled while PING waits for its answer. */
    Outcome c = {0};
    ProbeRun *r = probe_start(&loop, &(ProbeTarget){.kind = PROBE_REDIS, .port = silent.port},
                              2000 * MS, on_done, &c);
    run_for(&loop, 50);
    probe_cancel(r);
    run_for(&loop, 50);
    CHECK_INT(c.calls, 0);

    fake_close(&loading);
    fake_close(&silent);
    drain_and_close(&loop);
}

/* ---- postgres ---- */

static pid_t pg_start(const char *dir, const struct passwd *pw, int port)
{
    char *data = xasprintf("%s/data", dir);
    char *pwfile = xasprintf("%s/pw", dir);
    char *pwarg = xasprintf("--pwfile=%s", pwfile);
    char portbuf[16];
    snprintf(portbuf, sizeof portbuf, "%d", port);
    pid_t pid = -1;

    FILE *fp = fopen(pwfile, "w");
    if (!fp)
        goto out;
    fputs("secret\n", fp);
    fclose(fp);
    if (pw && (chown(dir, pw->pw_uid, pw->pw_gid) < 0 || chown(pwfile, pw->pw_uid, pw->pw_gid) < 0))
        goto out;

    char *initdb[] = {"/usr/lib/postgresql/15/bin/initdb", "-D", data, "-U", "postgres",
                      "--auth=scram-sha-256", pwarg, "--no-sync", "-E", "UTF8", "--locale=C",
                      NULL};
    int status = wait_exit(spawn_server(initdb, pw, dir), 60000);
    if (status < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        printf("#   initdb failed (status %d)\n", status);
        goto out;
    }
    char *postgres[] = {"/usr/lib/postgresql/15/bin/postgres", "-D", data, "-p", portbuf,
                        "-k", (char *)dir, "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
                        NULL};
    pid = spawn_server(postgres, pw, dir);
out:
    free(data);
    free(pwfile);
    free(pwarg);
    return pid;
}

TEST(postgres_probe_counts_any_answer_but_starting_or_stopping)
{
    signal(SIGPIPE, SIG_IGN);
    const struct passwd *pw = NULL;
    if (geteuid() == 0) {
        /* initdb and postgres refuse to run as root. */
        pw = getpwnam("postgres");
        if (!pw)
            pw = getpwnam("nobody");
        if (!pw) {
            printf("# skipped: running as root and no other user to run postgres as\n");
            return;
        }
    }
    TEST_TMP(dir, "tend-probe-pg");
    REQUIRE(mkdtemp(dir));
    int port = free_port();
    pid_t pid = pg_start(dir, pw, port);
    if (pid <= 0 || !wait_port(port, 10000)) {
        stop_server(pid);
        remove_tree(dir);
        REQUIRE(!"postgres did not start");
    }

    uv_loop_t loop;
    uv_loop_init(&loop);
    ProbeTarget good = {.kind = PROBE_POSTGRES, .port = port, .password = "secret"};

    /* The port opens before the server accepts sessions ("starting up"). */
    Outcome o = {0};
    for (int i = 0; i < 100; i++) {
        o = probe_once(&loop, &good, 2000 * MS);
        if (o.ok)
            break;
        run_for(&loop, 50);
    }
    CHECK(o.ok);
    CHECK_STR(o.detail, "");

    /* The server answered, so a refused password still means ready, as
     * with PQping. */
    o = probe_once(&loop,
                   &(ProbeTarget){.kind = PROBE_POSTGRES, .port = port, .password = "wrong"},
                   2000 * MS);
    CHECK(o.ok);
    o = probe_once(&loop, &(ProbeTarget){.kind = PROBE_POSTGRES, .port = port}, 2000 * MS);
    CHECK(o.ok); /* no password supplied */
    o = probe_once(&loop,
                   &(ProbeTarget){.kind = PROBE_POSTGRES, .host = "localhost", .port = port,
                                  .user = "nobody", .password = "x", .dbname = "nowhere"},
                   2000 * MS);
    CHECK(o.ok);

    /* Cancelled in the middle of the handshake. */
    Outcome c = {0};
    ProbeRun *r = probe_start(&loop, &good, 2000 * MS, on_done, &c);
    uv_run(&loop, UV_RUN_NOWAIT);
    probe_cancel(r);
    run_for(&loop, 50);
    CHECK_INT(c.calls, 0);

    /* A smart shutdown waits for the open session and turns new ones away
     * with "the database system is shutting down": not ready. */
    char *conninfo = xasprintf("host=127.0.0.1 port=%d user=postgres password=secret "
                               "dbname=postgres",
                               port);
    PGconn *held = PQconnectdb(conninfo);
    free(conninfo);
    CHECK(PQstatus(held) == CONNECTION_OK);
    kill(pid, SIGTERM);
    for (int i = 0; i < 60; i++) {
        o = probe_once(&loop, &good, 2000 * MS);
        if (!o.ok)
            break;
        run_for(&loop, 50);
    }
    CHECK(!o.ok);
    CHECK_STR(o.detail, "the database system is shutting down");
    PQfinish(held);
    CHECK(wait_exit(pid, 10000) >= 0);

    o = probe_once(&loop, &good, 2000 * MS);
    CHECK(!o.ok);
    CHECK_STR(o.detail, "connection refused");

    drain_and_close(&loop);
    remove_tree(dir);
}

TEST(postgres_probe_times_out_on_a_silent_server)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    Fake f;
    REQUIRE(fake_listen(&loop, &f, 0, FAKE_SILENT) == 0);
    Outcome o = probe_once(&loop, &(ProbeTarget){.kind = PROBE_POSTGRES, .port = f.port}, 200 * MS);
    CHECK_INT(o.calls, 1);
    CHECK(!o.ok);
    CHECK_STR(o.detail, "timed out after 200ms");
    fake_close(&f);
    drain_and_close(&loop);
}

/* ---- exec ---- */

static ProbeTarget cmd(char *const *argv)
{
    return (ProbeTarget){.kind = PROBE_EXEC, .argv = argv};
}

TEST(exec_probe_exit_status_and_last_output_line)
{
    uv_loop_t loop;
    uv_loop_init(&loop);

    char *t[] = {"true", NULL};
    Outcome o = probe_once(&loop, &(ProbeTarget){.kind = PROBE_EXEC, .argv = t}, 2000 * MS);
    CHECK_INT(o.calls, 1);
    CHECK(o.ok);
    CHECK_STR(o.detail, "");

    char *boom[] = {"sh", "-c", "echo boom; exit 3", NULL};
    o = probe_once(&loop, &(ProbeTarget){.kind = PROBE_EXEC, .argv = boom}, 2000 * MS);
    CHECK(!o.ok);
    CHECK_STR(o.detail, "exit status 3: boom");

    char *err[] = {"sh", "-c", "echo out; echo '  on stderr  ' >&2; echo; exit 1", NULL};
    o = probe_once(&loop, &(ProbeTarget){.kind = PROBE_EXEC, .argv = err}, 2000 * MS);
    CHECK_STR(o.detail, "exit status 1: on stderr");

    char *quiet[] = {"false", NULL};
    o = probe_once(&loop, &(ProbeTarget){.kind = PROBE_EXEC, .argv = quiet}, 2000 * MS);
    CHECK_STR(o.detail, "exit status 1");

    char *lots[] = {"sh", "-c", "seq 1 20000; echo last line; exit 2", NULL};
    o = probe_once(&loop, &(ProbeTarget){.kind = PROBE_EXEC, .argv = lots}, 5000 * MS);
    CHECK_STR(o.detail, "exit status 2: last line");

    char *sig[] = {"sh", "-c", "kill -TERM $$", NULL};
    o = probe_once(&loop, &(ProbeTarget){.kind = PROBE_EXEC, .argv = sig}, 2000 * MS);
    CHECK_STR(o.detail, "killed by SIGTERM");

    char *env_argv[] = {"sh", "-c", "test \"$FOO\" = bar && test \"$(pwd)\" = /tmp", NULL};
    char *env[] = {"FOO=bar", "PATH=/usr/bin:/bin", NULL};
    o = probe_once(&loop,
                   &(ProbeTarget){.kind = PROBE_EXEC, .argv = env_argv, .env = env, .cwd = "/tmp"},
                   2000 * MS);
    CHECK(o.ok);

    char *missing[] = {"/nonexistent/healthcheck", NULL};
    o = probe_once(&loop, &(ProbeTarget){.kind = PROBE_EXEC, .argv = missing}, 2000 * MS);
    CHECK(!o.ok);
    CHECK_STR(o.detail, "cannot run /nonexistent/healthcheck: no such file or directory");

    o = probe_once(&loop, &(ProbeTarget){.kind = PROBE_EXEC}, 2000 * MS);
    CHECK_STR(o.detail, "no command to run");

    drain_and_close(&loop);
}

TEST(exec_probe_timeout_kills_the_process_group)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    TEST_TMP(dir, "tend-probe-exec");
    REQUIRE(mkdtemp(dir));
    char *script = xasprintf("echo $$ > %s/sh; sleep 5 & echo $! > %s/bg; exec sleep 5", dir, dir);
    char *argv[] = {"sh", "-c", script, NULL};

    uint64_t t0 = now_ns();
    Outcome o = probe_once(&loop, &(ProbeTarget){.kind = PROBE_EXEC, .argv = argv}, 200 * MS);
    uint64_t took = (now_ns() - t0) / MS;
    CHECK_INT(o.calls, 1);
    CHECK(!o.ok);
    CHECK_STR(o.detail, "timed out after 200ms");
    CHECK(took >= 190 && took < 1000);

    drain_and_close(&loop); /* reaps the killed command */
    char *shf = xasprintf("%s/sh", dir), *bgf = xasprintf("%s/bg", dir);
    pid_t sh = read_pid(shf), bg = read_pid(bgf);
    CHECK(sh > 0 && bg > 0);
    for (int i = 0; i < 100 && bg > 0 && !process_gone(bg); i++)
        usleep(10000);
    CHECK(sh > 0 && process_gone(sh));
    CHECK(bg > 0 && process_gone(bg));
    free(shf);
    free(bgf);
    free(script);
    remove_tree(dir);
}

TEST(timeout_details_format_the_duration)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    char *argv[] = {"sleep", "5", NULL};
    ProbeTarget t = cmd(argv);
    Outcome one = {0}, half = {0};
    probe_start(&loop, &t, 1000 * MS, on_done, &one);
    probe_start(&loop, &t, 1500 * MS, on_done, &half);
    run_until(&loop, &half.calls, 1, 4000);
    CHECK_STR(one.detail, "timed out after 1s");
    CHECK_STR(half.detail, "timed out after 1.5s");
    drain_and_close(&loop);
}

/* ---- cancellation ---- */

typedef struct CancelOther {
    ProbeRun *other;
    ProbeRun *self;
    int calls;
} CancelOther;

static void on_done_cancel_other(void *ud, bool ok, const char *detail)
{
    CancelOther *c = ud;
    c->calls++;
    probe_cancel(c->other);
    probe_cancel(c->self); /* already reported: a no-op */
}

TEST(cancel_from_another_probes_callback_and_right_after_start)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    Fake silent;
    REQUIRE(fake_listen(&loop, &silent, 0, FAKE_SILENT) == 0);

    char *t[] = {"true", NULL};
    char *sleep5[] = {"sleep", "5", NULL};
    ProbeTarget quick = cmd(t), slow = cmd(sleep5);
    Outcome never = {0};
    CancelOther c = {0};
    c.other = probe_start(&loop, &slow, 3000 * MS, on_done, &never);
    c.self = probe_start(&loop, &quick, 3000 * MS, on_done_cancel_other, &c);
    run_until(&loop, &c.calls, 1, 2000);
    CHECK_INT(c.calls, 1);

    /* Every kind, cancelled before the loop ever runs it. */
    char *url = xasprintf("http://127.0.0.1:%d/", silent.port);
    ProbeTarget kinds[] = {
        {.kind = PROBE_TCP, .port = silent.port},
        {.kind = PROBE_TCP, .host = "localhost", .port = silent.port},
        {.kind = PROBE_REDIS, .port = silent.port},
        {.kind = PROBE_POSTGRES, .port = silent.port},
        {.kind = PROBE_HTTP, .url = url},
        slow,
        {.kind = PROBE_LOG},
    };
    for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
        probe_cancel(probe_start(&loop, &kinds[i], 3000 * MS, on_done, &never));
    run_for(&loop, 100);
    CHECK_INT(never.calls, 0);
    free(url);
    fake_close(&silent);
    drain_and_close(&loop);
}

/* ---- prober ---- */

typedef struct Events {
    int n;
    ProberEvent ev[16];
    char detail[16][128];
    uint64_t at[16]; /* ms since the prober started */
    uint64_t t0;
    Prober *free_on_first; /* prober_free from inside the callback */
} Events;

static void on_event(void *ud, ProberEvent ev, const char *detail)
{
    Events *e = ud;
    if (e->n < 16) {
        e->ev[e->n] = ev;
        snprintf(e->detail[e->n], sizeof e->detail[0], "%s", detail ? detail : "");
        e->at[e->n] = (now_ns() - e->t0) / MS;
    }
    e->n++;
    if (e->free_on_first) {
        prober_free(e->free_on_first);
        e->free_on_first = NULL;
    }
}

TEST(prober_timing_defaults)
{
    ProberTiming n = prober_timing(NULL, true);
    CHECK_INT(n.interval, 10000 * MS);
    CHECK_INT(n.timeout, 5000 * MS);
    CHECK_INT(n.retries, 3);
    CHECK_INT(n.start_period, 0);
    CHECK_INT(n.start_interval, 100 * MS);

    ProberTiming h = prober_timing(&(ProberTiming){.timeout = 2000 * MS, .retries = 5}, false);
    CHECK_INT(h.interval, 30000 * MS);
    CHECK_INT(h.timeout, 2000 * MS);
    CHECK_INT(h.retries, 5);
    CHECK_INT(h.start_period, 0);
    CHECK_INT(h.start_interval, 100 * MS);
}

typedef struct LateListener {
    Fake *f;
    int port;
} LateListener;

static void on_open_late(uv_timer_t *t)
{
    LateListener *l = t->data;
    fake_listen(t->loop, l->f, l->port, FAKE_ACCEPT_CLOSE);
}

TEST(prober_retries_until_a_late_listener_is_ready)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    Fake f;
    LateListener late = {&f, free_port()};
    uv_timer_t opener;
    uv_timer_init(&loop, &opener);
    opener.data = &late;

    ProberTiming tm = prober_timing(&(ProberTiming){.timeout = 1000 * MS}, true);
    Events e = {.t0 = now_ns()};
    Prober *p = prober_new(&loop, &(ProbeTarget){.kind = PROBE_TCP, .port = late.port}, NULL, &tm,
                           on_event, &e);
    REQUIRE(p);
    uv_timer_start(&opener, on_open_late, 300, 0);
    prober_start(p);
    run_until(&loop, &e.n, 1, 3000);
    CHECK_INT(e.n, 1);
    CHECK(e.ev[0] == PROBER_READY);
    CHECK(e.at[0] >= 290 && e.at[0] < 600);
    CHECK(prober_attempts(p) >= 15 && prober_attempts(p) <= 40); /* every 10 ms in the first second */
    CHECK_STR(prober_last_detail(p), "connection refused");

    /* Ready and idle until the next interval (10 s): the prober's timer is
     * the only thing it keeps active. */
    run_for(&loop, 50);
    CHECK_INT(active_handles(&loop), 2); /* its timer, and the listener */
    CHECK_INT(e.n, 1);

    prober_free(p);
    uv_close((uv_handle_t *)&opener, NULL);
    fake_close(&f);
    drain_and_close(&loop);
}

TEST(prober_gives_up_after_start_period_plus_retries_intervals)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    int port = free_port();
    ProberTiming tm = {.interval = 200 * MS, .retries = 2, .timeout = 1000 * MS};
    Events e = {.t0 = now_ns()};
    Prober *p = prober_new(&loop, &(ProbeTarget){.kind = PROBE_TCP, .port = port}, NULL, &tm,
                           on_event, &e);
    prober_start(p);
    run_until(&loop, &e.n, 1, 3000);
    CHECK_INT(e.n, 1);
    CHECK(e.ev[0] == PROBER_GAVE_UP);
    CHECK_STR(e.detail[0], "connection refused");
    CHECK(e.at[0] >= 390 && e.at[0] < 700);
    unsigned attempts = prober_attempts(p);
    CHECK(attempts >= 15 && attempts <= 45);
    run_for(&loop, 300); /* nothing more after giving up */
    CHECK_INT(prober_attempts(p), attempts);
    CHECK_INT(e.n, 1);
    CHECK_INT(active_handles(&loop), 0);

    /* start_period extends the budget. */
    tm = (ProberTiming){.interval = 100 * MS, .retries = 1, .start_period = 300 * MS};
    Events e2 = {.t0 = now_ns()};
    Prober *p2 = prober_new(&loop, &(ProbeTarget){.kind = PROBE_TCP, .port = port}, NULL, &tm,
                            on_event, &e2);
    prober_start(p2);
    run_until(&loop, &e2.n, 1, 3000);
    CHECK(e2.n == 1 && e2.ev[0] == PROBER_GAVE_UP);
    CHECK(e2.at[0] >= 390 && e2.at[0] < 700);

    prober_free(p);
    prober_free(p2);
    drain_and_close(&loop);
}

TEST(prober_unhealthy_after_retries_failures_then_ready_again)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    Fake f;
    REQUIRE(fake_listen(&loop, &f, 0, FAKE_ACCEPT_CLOSE) == 0);
    int port = f.port;
    ProberTiming tm = {.interval = 100 * MS, .retries = 2, .timeout = 1000 * MS};
    Events e = {.t0 = now_ns()};
    Prober *p = prober_new(&loop, &(ProbeTarget){.kind = PROBE_TCP, .port = port}, NULL, &tm,
                           on_event, &e);
    prober_start(p);
    run_until(&loop, &e.n, 1, 2000);
    CHECK(e.n == 1 && e.ev[0] == PROBER_READY);
    CHECK(e.at[0] < 100);

    fake_close(&f);
    uint64_t down = (now_ns() - e.t0) / MS;
    run_until(&loop, &e.n, 2, 2000);
    REQUIRE(e.n == 2);
    CHECK(e.ev[1] == PROBER_UNHEALTHY);
    CHECK_STR(e.detail[1], "connection refused");
    CHECK(e.at[1] - down >= 150 && e.at[1] - down < 500);

    run_for(&loop, 350); /* still failing: reported once */
    CHECK_INT(e.n, 2);

    REQUIRE(fake_listen(&loop, &f, port, FAKE_ACCEPT_CLOSE) == 0);
    run_until(&loop, &e.n, 3, 2000);
    CHECK_INT(e.n, 3);
    CHECK(e.ev[2] == PROBER_READY);
    CHECK_STR(e.detail[2], "");

    /* Freed from inside its own callback. */
    e.free_on_first = p;
    fake_close(&f);
    run_until(&loop, &e.n, 4, 2000);
    CHECK_INT(e.n, 4);
    CHECK(e.ev[3] == PROBER_UNHEALTHY);
    run_for(&loop, 300);
    CHECK_INT(e.n, 4);
    drain_and_close(&loop);
}

TEST(prober_log_pattern_readiness_and_budget)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    ProberTiming tm = {.interval = 100 * MS, .retries = 2};
    Events e = {.t0 = now_ns()};
    Prober *p = prober_new(&loop, &(ProbeTarget){.kind = PROBE_LOG}, "ready to accept (connections)?$",
                           &tm, on_event, &e);
    REQUIRE(p);
    prober_feed_line(p, "ready to accept connections", 27); /* not started yet */
    prober_start(p);
    prober_feed_line(p, "starting", 8);
    run_for(&loop, 20);
    CHECK_INT(e.n, 0);
    /* Not NUL-terminated: the line ends at len. */
    const char *buf = "LOG:  database system is ready to accept connections and more";
    prober_feed_line(p, buf, strlen("LOG:  database system is ready to accept connections"));
    CHECK_INT(e.n, 1);
    CHECK(e.ev[0] == PROBER_READY);
    prober_feed_line(p, "ready to accept connections", 27);
    run_for(&loop, 300); /* past the budget: no give-up once ready */
    CHECK_INT(e.n, 1);
    CHECK_INT(prober_attempts(p), 0);
    prober_free(p);

    Events g = {.t0 = now_ns()};
    Prober *q = prober_new(&loop, &(ProbeTarget){.kind = PROBE_LOG}, "^ready$", &tm, on_event, &g);
    prober_start(q);
    prober_feed_line(q, "not ready", 9);
    run_until(&loop, &g.n, 1, 2000);
    CHECK_INT(g.n, 1);
    CHECK(g.ev[0] == PROBER_GAVE_UP);
    CHECK_STR(g.detail[0], "no log line matched \"^ready$\"");
    CHECK(g.at[0] >= 190 && g.at[0] < 500);
    prober_feed_line(q, "ready", 5); /* too late */
    CHECK_INT(g.n, 1);
    prober_free(q);

    CHECK(prober_new(&loop, &(ProbeTarget){.kind = PROBE_LOG}, "(unclosed", &tm, on_event, &g) ==
          NULL);
    drain_and_close(&loop);
}

TEST(prober_stop_cancels_the_running_attempt)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    char *argv[] = {"sleep", "5", NULL};
    ProberTiming tm = {.timeout = 3000 * MS};
    Events e = {.t0 = now_ns()};
    Prober *p = prober_new(&loop, &(ProbeTarget){.kind = PROBE_EXEC, .argv = argv}, NULL, &tm,
                           on_event, &e);
    prober_start(p);
    run_for(&loop, 50);
    CHECK_INT(prober_attempts(p), 1);
    prober_stop(p);
    run_for(&loop, 100);
    CHECK_INT(e.n, 0);
    CHECK_INT(active_handles(&loop), 0);
    prober_free(p);
    drain_and_close(&loop);
}
