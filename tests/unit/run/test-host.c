/* Host processes under the shim: commands and their exit status, the
 * environment and working directory, errors reported before spawning,
 * output through the log mux, signals to the whole service, and that no
 * process outlives its service, its shim or a `kill -9` of the supervisor.
 *
 * The shim is the tend binary (`tend __shim`), found through TEND_BIN.
 * Tests that look at processes pass a NULL mux and learn pids from files
 * the service writes in its working directory; tests about output go
 * through logmux_set_listener. */
#include "run/host.h"
#include "lib/logmux.h"
#include "test.h"
#include "lib/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- fixture ---- */

typedef struct Run {
    bool done;
    int calls;
    int64_t status;
    int sig;
    StrVec lines;        /* "service:out:text" / "service:err:text" */
    size_t lines_at_exit;
} Run;

typedef struct Fix {
    uv_loop_t loop;
    LogMux *mux;
    Run run;
    char dir[64]; /* the project directory, removed afterwards */
} Fix;

static void on_exit_cb(void *ud, int64_t status, int sig)
{
    Run *r = ud;
    r->done = true;
    r->calls++;
    r->status = status;
    r->sig = sig;
    r->lines_at_exit = r->lines.n;
}

static void on_line(void *ud, const char *service, int stream, const char *line, size_t len,
                    int64_t time_ns)
{
    Run *r = ud;
    const char *name = stream == LOG_STDOUT ? "out" : stream == LOG_STDERR ? "err" : "sys";
    strvec_push_take(&r->lines, xasprintf("%s:%s:%.*s", service, name, (int)len, line));
}

static uint64_t ms_now(void)
{
    return now_ns() / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

static void on_tick(uv_timer_t *t)
{
}

/* Runs the loop until *flag is set or ms pass; returns *flag. */
static bool run_until(uv_loop_t *loop, const bool *flag, int ms)
{
    uv_timer_t t;
    uv_timer_init(loop, &t);
    uv_timer_start(&t, on_tick, 20, 20);
    uint64_t end = ms_now() + (uint64_t)ms;
    while (!*flag && ms_now() < end)
        uv_run(loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
    return *flag;
}

/* Runs the loop until nothing is left on it, for at most ms. A hang here
 * would mean a process that never exits, so it fails instead of waiting. */
static bool drain(uv_loop_t *loop, int ms)
{
    uint64_t end = ms_now() + (uint64_t)ms;
    while (uv_run(loop, UV_RUN_NOWAIT)) {
        if (ms_now() >= end) {
            printf("#   the loop still has work after %d ms\n", ms);
            return false;
        }
        sleep_ms(5);
    }
    return true;
}

static bool fix_init(Fix *f, bool with_mux)
{
    memset(f, 0, sizeof *f);
    const char *tend = getenv("TEND_BIN");
    if (!tend || access(tend, X_OK) < 0) {
        printf("#   TEND_BIN is not set to the tend binary\n");
        return false;
    }
    host_set_shim(tend);
    snprintf(f->dir, sizeof f->dir, "%s/tend-host-XXXXXX", test_tmpdir());
    if (!mkdtemp(f->dir))
        return false;
    uv_loop_init(&f->loop);
    if (with_mux) {
        f->mux = logmux_new(&f->loop, &(LogMuxOptions){.out_fd = -1});
        logmux_set_listener(f->mux, on_line, &f->run);
    }
    return true;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

static void fix_done(Fix *f)
{
    /* let every close callback run before the loop goes */
    bool drained = drain(&f->loop, 10000);
    CHECK(drained);
    if (f->mux && drained)
        logmux_free(f->mux);
    if (drained) {
        CHECK(drain(&f->loop, 10000));
        CHECK_INT(uv_loop_close(&f->loop), 0);
    }
    strvec_free(&f->run.lines);
    nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void run_reset(Run *r)
{
    strvec_free(&r->lines);
    memset(r, 0, sizeof *r);
}

/* ---- services ---- */

static void svc_init(Service *s)
{
    memset(s, 0, sizeof *s);
    s->name = xstrdup("web");
    s->runtime = RUNTIME_HOST;
}

static void svc_argv(Service *s, const char *first, ...)
{
    va_list ap;
    va_start(ap, first);
    for (const char *a = first; a; a = va_arg(ap, const char *))
        strvec_push(&s->command, a);
    va_end(ap);
    s->has_command = true;
}

static void svc_shell(Service *s, const char *cmd)
{
    strvec_push(&s->command, cmd); /* the split words do not matter here */
    s->has_command = true;
    s->shell = true;
    s->command_string = xstrdup(cmd);
}

static void svc_free(Service *s)
{
    free(s->name);
    strvec_free(&s->command);
    strvec_free(&s->entrypoint);
    free(s->command_string);
    env_free(&s->environment);
    free(s->working_dir);
}

static HostProc *start(Fix *f, const Service *s)
{
    HostProc *p = NULL;
    char *err = NULL;
    int r = host_start(&f->loop, s, f->dir, f->mux, on_exit_cb, &f->run, &p, &err);
    if (r < 0)
        printf("#   host_start: %d %s\n", r, err ? err : "(no message)");
    free(err);
    return p;
}

/* Starts s, waits for its exit (up to 10 s) and frees it. */
static bool run_service(Fix *f, const Service *s)
{
    run_reset(&f->run);
    HostProc *p = start(f, s);
    if (!p)
        return false;
    bool done = run_until(&f->loop, &f->run.done, 10000);
    host_free(p);
    return drain(&f->loop, 10000) && done;
}

/* The lines of one stream, without the "web:out:" prefix, joined by '|'. */
static char *lines_of(const Run *r, const char *prefix)
{
    StrBuf b;
    strbuf_init(&b, 0);
    for (size_t i = 0; i < r->lines.n; i++) {
        if (!str_startswith(r->lines.v[i], prefix))
            continue;
        if (b.len)
            strbuf_putc(&b, '|');
        strbuf_puts(&b, r->lines.v[i] + strlen(prefix));
    }
    return strbuf_steal(&b);
}

/* ---- processes ---- */

/* Reads "/proc/PID/stat": state, parent, group and session. */
static bool proc_stat(pid_t pid, char *state, pid_t *ppid, pid_t *pgid, pid_t *sid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return false;
    buf[n] = '\0';
    const char *rp = strrchr(buf, ')');
    int pp, pg, si;
    if (!rp || sscanf(rp + 1, " %c %d %d %d", state, &pp, &pg, &si) != 4)
        return false;
    *ppid = pp;
    *pgid = pg;
    *sid = si;
    return true;
}

/* Running, that is: it exists and is not a zombie waiting for a parent
 * that does not reap (the shim's reaper after tend died may be such). */
static bool alive(pid_t pid)
{
    char state;
    pid_t ppid, pgid, sid;
    if (pid <= 0 || !proc_stat(pid, &state, &ppid, &pgid, &sid))
        return false;
    return state != 'Z' && state != 'X';
}

static bool gone_within(pid_t pid, int ms)
{
    uint64_t end = ms_now() + (uint64_t)ms;
    while (alive(pid)) {
        if (ms_now() >= end)
            return false;
        sleep_ms(10);
    }
    return true;
}

/* The pid a service wrote to DIR/NAME (written via rename, so whole). */
static pid_t read_pid(const char *dir, const char *name, int ms)
{
    _cleanup_free_ char *path = path_join(dir, name);
    uint64_t end = ms_now() + (uint64_t)ms;
    for (;;) {
        char *data = NULL;
        size_t len = 0;
        if (read_file(path, 64, &data, &len) == 0) {
            long pid = strtol(data, NULL, 10);
            free(data);
            return (pid_t)pid;
        }
        if (ms_now() >= end)
            return 0;
        sleep_ms(10);
    }
}

static bool file_within(const char *dir, const char *name, int ms)
{
    _cleanup_free_ char *path = path_join(dir, name);
    uint64_t end = ms_now() + (uint64_t)ms;
    while (access(path, F_OK) < 0) {
        if (ms_now() >= end)
            return false;
        sleep_ms(10);
    }
    return true;
}

/* The shim's child, the service's main process, once it is running. */
static pid_t main_of(pid_t shim, int ms)
{
    uint64_t end = ms_now() + (uint64_t)ms;
    for (;;) {
        pid_t found = 0;
        DIR *d = opendir("/proc");
        struct dirent *de;
        while (d && !found && (de = readdir(d))) {
            char *e;
            long pid = strtol(de->d_name, &e, 10);
            char state;
            pid_t ppid, pgid, sid;
            if (!*e && pid > 0 && proc_stat((pid_t)pid, &state, &ppid, &pgid, &sid) &&
                ppid == shim && state != 'Z')
                found = (pid_t)pid;
        }
        if (d)
            closedir(d);
        if (found || ms_now() >= end)
            return found;
        sleep_ms(10);
    }
}

/* ---- commands and exit status ---- */

TEST(host_argv_command_exit_status)
{
    Fix f;
    REQUIRE(fix_init(&f, false));
    Service s;

    svc_init(&s);
    svc_argv(&s, "true", NULL);
    CHECK(run_service(&f, &s));
    CHECK_INT(f.run.calls, 1);
    CHECK_INT(f.run.status, 0);
    CHECK_INT(f.run.sig, 0);
    svc_free(&s);

    svc_init(&s);
    svc_argv(&s, "sh", "-c", "exit 3", NULL);
    CHECK(run_service(&f, &s));
    CHECK_INT(f.run.calls, 1);
    CHECK_INT(f.run.status, 3);
    CHECK_INT(f.run.sig, 0);
    svc_free(&s);

    fix_done(&f);
}

TEST(host_entrypoint_goes_before_command)
{
    Fix f;
    REQUIRE(fix_init(&f, false));
    Service s;
    svc_init(&s);
    strvec_push(&s.entrypoint, "sh");
    strvec_push(&s.entrypoint, "-c");
    s.has_entrypoint = true;
    svc_argv(&s, "exit 5", NULL);
    CHECK(run_service(&f, &s));
    CHECK_INT(f.run.status, 5);
    CHECK_INT(f.run.sig, 0);
    svc_free(&s);
    fix_done(&f);
}

TEST(host_string_command_runs_through_sh)
{
    Fix f;
    REQUIRE(fix_init(&f, true));
    Service s;
    svc_init(&s);
    svc_shell(&s, "echo a | tr a b");
    CHECK(run_service(&f, &s));
    CHECK_INT(f.run.status, 0);
    CHECK_INT(f.run.lines.n, 1);
    if (f.run.lines.n == 1)
        CHECK_STR(f.run.lines.v[0], "web:out:b");
    svc_free(&s);
    fix_done(&f);
}

TEST(host_output_arrives_in_order_per_stream_before_exit)
{
    Fix f;
    REQUIRE(fix_init(&f, true));
    Service s;
    svc_init(&s);
    svc_shell(&s, "for i in 1 2 3 4 5; do echo out$i; echo err$i >&2; done; printf 'no newline'");
    CHECK(run_service(&f, &s));
    CHECK_INT(f.run.status, 0);
    _cleanup_free_ char *out = lines_of(&f.run, "web:out:");
    _cleanup_free_ char *err = lines_of(&f.run, "web:err:");
    CHECK_STR(out, "out1|out2|out3|out4|out5|no newline");
    CHECK_STR(err, "err1|err2|err3|err4|err5");
    /* every line was delivered before the exit was reported */
    CHECK_INT(f.run.lines.n, 11);
    CHECK_INT(f.run.lines_at_exit, 11);
    svc_free(&s);
    fix_done(&f);
}

TEST(host_environment_is_tends_overlaid_by_the_service)
{
    Fix f;
    REQUIRE(fix_init(&f, true));
    setenv("TEND_HOST_TEST_SHADOWED", "from tend", 1);
    setenv("TEND_HOST_TEST_KEPT", "kept from tend", 1);
    Service s;
    svc_init(&s);
    env_set(&s.environment, "FOO", "bar baz");
    env_set(&s.environment, "TEND_HOST_TEST_SHADOWED", "from the service");
    env_set(&s.environment, "TEND_HOST_TEST_KEPT", NULL); /* valueless: tend's value */
    svc_shell(&s, "echo \"$FOO\"; echo \"$TEND_HOST_TEST_SHADOWED\"; "
                  "echo \"$TEND_HOST_TEST_KEPT\"; echo \"$PATH\"");
    CHECK(run_service(&f, &s));
    CHECK_INT(f.run.status, 0);
    _cleanup_free_ char *out = lines_of(&f.run, "web:out:");
    _cleanup_free_ char *want = xasprintf("bar baz|from the service|kept from tend|%s",
                                          getenv("PATH") ? getenv("PATH") : "");
    CHECK_STR(out, want);
    svc_free(&s);
    unsetenv("TEND_HOST_TEST_SHADOWED");
    unsetenv("TEND_HOST_TEST_KEPT");
    fix_done(&f);
}

TEST(host_working_dir_is_relative_to_the_project)
{
    Fix f;
    REQUIRE(fix_init(&f, true));
    char real[4096];
    REQUIRE(realpath(f.dir, real));
    _cleanup_free_ char *sub = path_join(f.dir, "sub");
    REQUIRE(mkdir(sub, 0755) == 0);
    Service s;

    svc_init(&s);
    s.working_dir = xstrdup("sub");
    svc_argv(&s, "pwd", "-P", NULL);
    CHECK(run_service(&f, &s));
    _cleanup_free_ char *in_sub = lines_of(&f.run, "web:out:");
    _cleanup_free_ char *want_sub = xasprintf("%s/sub", real);
    CHECK_STR(in_sub, want_sub);
    svc_free(&s);

    /* no working_dir: the project directory */
    svc_init(&s);
    svc_argv(&s, "pwd", "-P", NULL);
    CHECK(run_service(&f, &s));
    _cleanup_free_ char *in_project = lines_of(&f.run, "web:out:");
    CHECK_STR(in_project, real);
    svc_free(&s);

    fix_done(&f);
}

/* Services start in their own directory, so a relative path to tend must
 * be taken relative to where it was set. */
TEST(host_shim_path_relative_to_where_it_was_set)
{
    Fix f;
    REQUIRE(fix_init(&f, false));
    const char *tend = getenv("TEND_BIN");
    _cleanup_free_ char *old_cwd = getcwd(NULL, 0);
    _cleanup_free_ char *bin_dir = path_dirname(tend);
    _cleanup_free_ char *rel = xasprintf("./%s", path_basename(tend));
    REQUIRE(old_cwd && chdir(bin_dir) == 0);
    host_set_shim(rel);
    REQUIRE(chdir(old_cwd) == 0);
    Service s;
    svc_init(&s);
    svc_argv(&s, "sh", "-c", "exit 6", NULL);
    CHECK(run_service(&f, &s));
    CHECK_INT(f.run.status, 6);
    svc_free(&s);
    host_set_shim(tend);
    fix_done(&f);
}

/* ---- errors before spawning ---- */

static void check_start_error(Fix *f, const Service *s, int want_r, const char *want_err)
{
    HostProc *p = NULL;
    char *err = NULL;
    int r = host_start(&f->loop, s, f->dir, NULL, on_exit_cb, &f->run, &p, &err);
    CHECK_INT(r, want_r);
    CHECK_STR(err, want_err);
    CHECK(p == NULL);
    free(err);
}

TEST(host_missing_command_is_reported_at_once)
{
    Fix f;
    REQUIRE(fix_init(&f, false));
    Service s;

    svc_init(&s);
    svc_argv(&s, "nosuch-tend-command", NULL);
    check_start_error(&f, &s, -ENOENT, "cannot run \"nosuch-tend-command\": not found in PATH");
    svc_free(&s);

    svc_init(&s);
    svc_argv(&s, "./nosuch", NULL);
    check_start_error(&f, &s, -ENOENT, "cannot run \"./nosuch\": No such file or directory");
    svc_free(&s);

    /* a relative path is looked up in the service's directory */
    _cleanup_free_ char *script = path_join(f.dir, "script");
    FILE *fp = fopen(script, "w");
    REQUIRE(fp);
    fputs("#!/bin/sh\n", fp);
    fclose(fp);
    svc_init(&s);
    svc_argv(&s, "./script", NULL);
    check_start_error(&f, &s, -EACCES, "cannot run \"./script\": Permission denied");
    svc_free(&s);

    svc_init(&s);
    svc_argv(&s, "/", NULL);
    check_start_error(&f, &s, -EACCES, "cannot run \"/\": Permission denied");
    svc_free(&s);

    /* the service's PATH is the one searched */
    svc_init(&s);
    env_set(&s.environment, "PATH", "/nonexistent-tend-dir");
    svc_argv(&s, "sh", "-c", "true", NULL);
    check_start_error(&f, &s, -ENOENT, "cannot run \"sh\": not found in PATH");
    svc_free(&s);

    CHECK_INT(f.run.calls, 0);
    fix_done(&f);
}

TEST(host_missing_working_dir_is_reported_at_once)
{
    Fix f;
    REQUIRE(fix_init(&f, false));
    Service s;

    svc_init(&s);
    s.working_dir = xstrdup("/nonexistent-tend-dir");
    svc_argv(&s, "true", NULL);
    check_start_error(&f, &s, -ENOENT,
                      "working_dir /nonexistent-tend-dir: No such file or directory");
    svc_free(&s);

    svc_init(&s);
    s.working_dir = xstrdup("missing");
    svc_argv(&s, "true", NULL);
    _cleanup_free_ char *want =
        xasprintf("working_dir %s/missing: No such file or directory", f.dir);
    check_start_error(&f, &s, -ENOENT, want);
    svc_free(&s);

    _cleanup_free_ char *file = path_join(f.dir, "file");
    FILE *fp = fopen(file, "w");
    REQUIRE(fp);
    fclose(fp);
    svc_init(&s);
    s.working_dir = xstrdup("file");
    svc_argv(&s, "true", NULL);
    _cleanup_free_ char *want_file = xasprintf("working_dir %s/file: Not a directory", f.dir);
    check_start_error(&f, &s, -ENOTDIR, want_file);
    svc_free(&s);

    fix_done(&f);
}

/* The fallback when the command vanished after the check: the shim says
 * why on stderr and exits 127. */
TEST(host_shim_reports_a_command_it_cannot_run)
{
    const char *tend = getenv("TEND_BIN");
    REQUIRE(tend);
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    fflush(stdout);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], STDERR_FILENO);
        close(fds[0]);
        close(fds[1]);
        execl(tend, tend, "__shim", "--", "/nonexistent-tend-dir/cmd", (char *)NULL);
        _exit(99);
    }
    close(fds[1]);
    char buf[256];
    size_t len = 0;
    ssize_t n;
    while (len < sizeof buf - 1 && (n = read(fds[0], buf + len, sizeof buf - 1 - len)) > 0)
        len += (size_t)n;
    buf[len] = '\0';
    close(fds[0]);
    int status;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    CHECK_INT(WEXITSTATUS(status), 127);
    CHECK_STR(buf, "cannot run \"/nonexistent-tend-dir/cmd\": No such file or directory\n");
}

/* ---- signals ---- */

TEST(host_sigterm_stops_a_sleep)
{
    Fix f;
    REQUIRE(fix_init(&f, false));
    Service s;
    svc_init(&s);
    svc_argv(&s, "sleep", "100", NULL);
    HostProc *p = start(&f, &s);
    REQUIRE(p);
    pid_t main_pid = main_of(host_pid(p), 5000);
    CHECK(main_pid > 0);
    CHECK_INT(host_signal(p, SIGTERM), 0);
    CHECK(run_until(&f.loop, &f.run.done, 5000));
    CHECK_INT(f.run.sig, SIGTERM);
    CHECK_INT(f.run.status, 128 + SIGTERM);
    CHECK(!alive(main_pid));
    /* the shim is reaped: nothing to signal any more */
    CHECK_INT(host_signal(p, SIGTERM), -ESRCH);
    host_free(p);
    svc_free(&s);
    fix_done(&f);
}

TEST(host_sigterm_trapped_by_the_service_exits_zero)
{
    Fix f;
    REQUIRE(fix_init(&f, false));
    Service s;
    svc_init(&s);
    svc_shell(&s, "trap 'exit 0' TERM; touch ready; while :; do sleep 0.1; done");
    HostProc *p = start(&f, &s);
    REQUIRE(p);
    CHECK(file_within(f.dir, "ready", 5000));
    CHECK_INT(host_signal(p, SIGTERM), 0);
    CHECK(run_until(&f.loop, &f.run.done, 5000));
    CHECK_INT(f.run.status, 0);
    CHECK_INT(f.run.sig, 0);
    host_free(p);
    svc_free(&s);
    fix_done(&f);
}

/* The background job gets the signal itself (it writes bg.term from its
 * own trap); it is not merely killed after the main process exits. */
TEST(host_signal_reaches_the_whole_group)
{
    Fix f;
    REQUIRE(fix_init(&f, false));
    Service s;
    svc_init(&s);
    svc_shell(&s, "(trap 'echo got > bg.term; exit 0' TERM; touch bg.ready; "
                  "while :; do sleep 0.1; done) & "
                  "trap 'wait; exit 7' TERM; touch main.ready; while :; do sleep 0.1; done");
    HostProc *p = start(&f, &s);
    REQUIRE(p);
    CHECK(file_within(f.dir, "bg.ready", 5000));
    CHECK(file_within(f.dir, "main.ready", 5000));
    CHECK_INT(host_signal(p, SIGTERM), 0);
    CHECK(run_until(&f.loop, &f.run.done, 5000));
    CHECK_INT(f.run.status, 7);
    CHECK_INT(f.run.sig, 0);
    _cleanup_free_ char *term = path_join(f.dir, "bg.term");
    char *data = NULL;
    size_t len = 0;
    CHECK_INT(read_file(term, 64, &data, &len), 0);
    CHECK_STR(data, "got\n");
    free(data);
    host_free(p);
    svc_free(&s);
    fix_done(&f);
}

TEST(host_sigkill_takes_the_background_job_too)
{
    Fix f;
    REQUIRE(fix_init(&f, false));
    Service s;
    svc_init(&s);
    svc_shell(&s, "sleep 300 & echo $! > bg.tmp; mv bg.tmp bg.pid; wait");
    HostProc *p = start(&f, &s);
    REQUIRE(p);
    pid_t bg = read_pid(f.dir, "bg.pid", 5000);
    pid_t main_pid = main_of(host_pid(p), 5000);
    CHECK(alive(bg));
    CHECK(alive(main_pid));
    CHECK_INT(host_signal(p, SIGKILL), 0);
    CHECK(run_until(&f.loop, &f.run.done, 5000));
    CHECK_INT(f.run.sig, SIGKILL);
    CHECK_INT(f.run.status, 128 + SIGKILL);
    /* the shim reaped everything before it exited */
    CHECK(!alive(bg));
    CHECK(!alive(main_pid));
    host_free(p);
    svc_free(&s);
    fix_done(&f);
}

TEST(host_free_kills_a_running_service)
{
    Fix f;
    REQUIRE(fix_init(&f, false));
    Service s;
    svc_init(&s);
    svc_shell(&s, "sleep 300 & echo $! > bg.tmp; mv bg.tmp bg.pid; exec sleep 301");
    HostProc *p = start(&f, &s);
    REQUIRE(p);
    pid_t bg = read_pid(f.dir, "bg.pid", 5000);
    pid_t main_pid = main_of(host_pid(p), 5000);
    CHECK(alive(bg));
    host_free(p);
    /* done once the shim is reaped and the handle closed */
    CHECK(drain(&f.loop, 5000));
    CHECK(!alive(bg));
    CHECK(!alive(main_pid));
    CHECK_INT(f.run.calls, 0);
    svc_free(&s);
    fix_done(&f);
}

/* A daemon left behind holds the output pipe: the exit is reported all the
 * same, because the shim kills what the main process leaves. */
TEST(host_leftovers_die_with_the_main_process)
{
    Fix f;
    REQUIRE(fix_init(&f, true));
    Service s;
    svc_init(&s);
    svc_shell(&s, "(setsid sleep 300 & echo $! > d.tmp; mv d.tmp daemon.pid); "
                  "sleep 300 & echo $! > bg.tmp; mv bg.tmp bg.pid; echo bye; exit 4");
    CHECK(run_service(&f, &s));
    CHECK_INT(f.run.status, 4);
    CHECK_INT(f.run.sig, 0);
    _cleanup_free_ char *out = lines_of(&f.run, "web:out:");
    CHECK_STR(out, "bye");
    pid_t daemon = read_pid(f.dir, "daemon.pid", 0);
    pid_t bg = read_pid(f.dir, "bg.pid", 0);
    CHECK(daemon > 0);
    CHECK(bg > 0);
    CHECK(!alive(daemon));
    CHECK(!alive(bg));
    svc_free(&s);
    fix_done(&f);
}

/* ---- kill -9 of the supervisor ---- */

/* Forks a supervisor: a process with its own loop that starts `cmd` as a
 * host service in dir and sends back the shim's pid. */
static pid_t fork_supervisor(const char *dir, const char *cmd, pid_t *ret_shim)
{
    int fds[2];
    if (pipe(fds) < 0)
        return -1;
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        close(fds[0]);
        uv_loop_t loop;
        uv_loop_init(&loop);
        Service s;
        svc_init(&s);
        svc_shell(&s, cmd);
        Run run = {0};
        HostProc *p = NULL;
        char *err = NULL;
        if (host_start(&loop, &s, dir, NULL, on_exit_cb, &run, &p, &err) < 0)
            _exit(1);
        pid_t shim = host_pid(p);
        if (write(fds[1], &shim, sizeof shim) != (ssize_t)sizeof shim)
            _exit(1);
        uv_run(&loop, UV_RUN_DEFAULT);
        _exit(0);
    }
    close(fds[1]);
    pid_t shim = 0;
    ssize_t n = read(fds[0], &shim, sizeof shim);
    close(fds[0]);
    *ret_shim = n == (ssize_t)sizeof shim ? shim : 0;
    return pid;
}

static void kill_supervisor(pid_t sup)
{
    kill(sup, SIGKILL);
    waitpid(sup, NULL, 0);
}

TEST(host_kill9_of_the_supervisor_takes_the_service)
{
    Fix f;
    REQUIRE(fix_init(&f, false));
    pid_t shim = 0;
    pid_t sup = fork_supervisor(f.dir,
                                "sleep 300 & echo $! > bg.tmp; mv bg.tmp bg.pid; "
                                "echo $$ > main.tmp; mv main.tmp main.pid; exec sleep 301",
                                &shim);
    REQUIRE(sup > 0);
    CHECK(shim > 0);
    pid_t bg = read_pid(f.dir, "bg.pid", 5000);
    pid_t main_pid = read_pid(f.dir, "main.pid", 5000);
    CHECK(alive(shim));
    CHECK(alive(bg));
    CHECK(alive(main_pid));
    kill_supervisor(sup);
    CHECK(gone_within(shim, 2000));
    CHECK(gone_within(main_pid, 2000));
    CHECK(gone_within(bg, 2000));
    fix_done(&f);
}

/* A double-forked daemon in a session of its own is out of reach of any
 * group kill; the shim, as subreaper, inherits and kills it. */
TEST(host_kill9_of_the_supervisor_takes_a_daemon)
{
    Fix f;
    REQUIRE(fix_init(&f, false));
    pid_t shim = 0;
    pid_t sup = fork_supervisor(f.dir,
                                "(setsid sleep 300 & echo $! > d.tmp; mv d.tmp daemon.pid); "
                                "echo $$ > main.tmp; mv main.tmp main.pid; exec sleep 301",
                                &shim);
    REQUIRE(sup > 0);
    CHECK(shim > 0);
    pid_t main_pid = read_pid(f.dir, "main.pid", 5000);
    pid_t daemon = read_pid(f.dir, "daemon.pid", 5000);
    char state;
    pid_t ppid = 0, pgid = 0, sid = 0, main_pgid = 0, main_sid = 0, mppid;
    CHECK(proc_stat(daemon, &state, &ppid, &pgid, &sid));
    CHECK(proc_stat(main_pid, &state, &mppid, &main_pgid, &main_sid));
    /* the test is about an escaped process: own session, adopted by the shim */
    CHECK(sid != main_sid);
    CHECK(pgid != main_pgid);
    CHECK_INT(ppid, shim);
    kill_supervisor(sup);
    CHECK(gone_within(shim, 2000));
    CHECK(gone_within(main_pid, 2000));
    CHECK(gone_within(daemon, 2000));
    fix_done(&f);
}
