/* tend up: load, then run the stack in the foreground until Ctrl-C or until
 * everything has exited. */
#include "cli/cli.h"
#include "ctl/client.h"
#include "ctl/server.h"
#include "run/manager.h"
#include "run/secrets.h"
#include "watch/reload.h"
#include "load/parse.h"
#include "load/select.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char up_usage[] =
    "Usage: tend up [OPTIONS] [SERVICE...]\n"
    "\n"
    "Starts the stack in the foreground: every service as soon as what it\n"
    "depends on is ready, each readiness gated on its probe. With SERVICE,\n"
    "only those and what they depend on. Ctrl-C stops everything in reverse\n"
    "dependency order; a second Ctrl-C kills at once.\n"
    "\n"
    "Options:\n"
    "      --wait-timeout S          give up (and stop) if not every service is\n"
    "                                ready within S seconds (or a duration: 90s)\n"
    "      --no-deps                 do not start what the named services need\n"
    "      --except SERVICE          run all but SERVICE, which runs outside tend\n"
    "                                (an IDE): what depends on it does not wait for\n"
    "                                it; what it needs still runs (repeatable)\n"
    "      --abort-on-container-exit stop everything when any service exits\n"
    "      --exit-code-from SERVICE  exit with SERVICE's status (implies the above)\n"
    "      --profile NAME            enable a profile (repeatable)\n"
    "      --no-color                no colours (also: NO_COLOR=1)\n"
    "      --timestamps              show when each line arrived\n"
    "      --no-log-prefix           no service name before each line\n"
    "      --json                    logs, state changes and the ready moment as\n"
    "                                JSON lines\n"
    "      --remove-orphans          remove containers of services no longer in the file\n"
    "      --watch                   reload services when their files change (as\n"
    "                                `tend watch`)\n"
    "      --build                   build images of services with build: first\n"
    "  -d, --detach                  run in the background: return once every service\n"
    "                                has started (output in the log files; see\n"
    "                                tend ps, logs, attach, wait, down)\n"
    "      --wait                    with -d (implied): return once every service is\n"
    "                                ready; exit 1 with the reason if one failed\n"
    "  -h, --help                    show this help\n";

static int parse_seconds(const char *s, int64_t *ret)
{
    if (duration_parse(s, ret) == 0)
        return 0;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || v < 0 || v > 1e9)
        return -EINVAL;
    *ret = (int64_t)(v * 1e9);
    return 0;
}

/* Creates a folder and its parents, mode 0700. */
static int mkdir_parents(const char *dir)
{
    _cleanup_free_ char *p = xstrdup(dir);
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s)
            continue;
        char ch = *s;
        *s = '\0';
        if (mkdir(p, 0700) < 0 && errno != EEXIST)
            return -errno;
        if (!ch)
            return 0;
        *s = ch;
    }
}

/* The last lines of a file on stderr, indented. */
static void show_tail(const char *path, int lines)
{
    char *data = NULL;
    size_t len = 0;
    if (read_file(path, 16 * 1024 * 1024, &data, &len) < 0)
        return;
    size_t i = len;
    int seen = 0;
    while (i > 0 && seen <= lines) {
        i--;
        if (data[i] == '\n' && i + 1 < len)
            seen++;
    }
    if (seen > lines)
        i++;
    fprintf(stderr, "--- %s:\n%.*s", path, (int)(len - i), data + i);
    free(data);
}

/* Whether pid is gone (or a zombie waiting for its parent). */
static bool pid_gone(pid_t pid)
{
    int st;
    if (waitpid(pid, &st, WNOHANG) == pid)
        return true;
    return kill(pid, 0) < 0 && errno == ESRCH;
}

/* tend up -d: forks the supervisor into its own session, output to
 * STATE_DIR/tend.log, stdin from /dev/null. The parent waits until the
 * socket answers and every service has started (ready, with --wait), then
 * returns true with *ret_status; the child returns false and goes on to
 * run the stack. Host processes die with it however it dies (the shim's
 * parent-death signal), as in the foreground. */
static bool up_detach(const Project *p, const char *sock, bool wait_ready, int *ret_status)
{
    _cleanup_free_ char *state = project_state_dir(p);
    _cleanup_free_ char *log = xasprintf("%s/tend.log", state);
    int r = mkdir_parents(state);
    int fd = r < 0 ? r : open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) {
        fprintf(stderr, "tend up: cannot open %s: %s\n", log, strerror(r < 0 ? -r : errno));
        *ret_status = 1;
        return true;
    }
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "tend up: fork: %s\n", strerror(errno));
        close(fd);
        *ret_status = 1;
        return true;
    }
    if (pid == 0) {
        setsid();
        int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (null >= 0)
            dup2(null, STDIN_FILENO);
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        /* Nothing of the caller's stays open (a pipe it reads to its end). */
        for (int i = 3; i < 1024; i++)
            close(i);
        char ts[25];
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        ctl_fmt_time((int64_t)now.tv_sec * 1000000000LL + now.tv_nsec, ts);
        printf("--- %s tend up -d: pid %d, project %s\n", ts, (int)getpid(), p->name);
        fflush(stdout);
        return false;
    }
    close(fd);
    /* The socket appears at the first state change, right after start. */
    CtlClient *c = NULL;
    for (int i = 0;; i++) {
        if (pid_gone(pid)) {
            fprintf(stderr, "tend up: the background tend ended before it was up\n");
            show_tail(log, 20);
            *ret_status = 1;
            return true;
        }
        if (ctl_connect(sock, &c, NULL) == 0)
            break;
        if (i > 3000) { /* 60 s */
            fprintf(stderr, "tend up: the background tend (pid %d) does not answer on %s\n", (int)pid, sock);
            *ret_status = 1;
            return true;
        }
        usleep(20000);
    }
    json_t *rep = ctl_wait_call(c, "up", NULL, wait_ready ? CTL_WAIT_HEALTHY : CTL_WAIT_STARTED, 0);
    ctl_close(c);
    const char *res = rep ? json_string_value(json_object_get(rep, "result")) : NULL;
    if (res && streq(res, "reached")) {
        printf("tend: %s runs in the background (pid %d): every service %s; see tend ps, tend logs -f, "
               "tend attach; stop it with tend down\n",
               p->name, (int)pid, wait_ready ? "is ready" : "has started");
        json_decref(rep);
        *ret_status = 0;
        return true;
    }
    if (rep)
        ctl_wait_explain("up", rep);
    json_decref(rep);
    for (int i = 0; i < 50 && !pid_gone(pid); i++)
        usleep(20000);
    if (pid_gone(pid)) {
        fprintf(stderr, "tend up: the background tend stopped\n");
        show_tail(log, 20);
    } else {
        fprintf(stderr, "tend up: the background tend (pid %d) keeps running the rest: tend logs, tend ps; "
                        "stop it with tend down\n",
                (int)pid);
    }
    *ret_status = 1;
    return true;
}

/* --except: checks the names and that something is left to run; the
 * manager selects without them (select_services), and what depends on an
 * excepted service does not wait for it. Returns 0 or an exit status. */
static int check_except(const Project *p, const StrVec *services, const StrVec *except, const ManagerOptions *mo)
{
    for (size_t i = 0; i < except->n; i++)
        if (!project_service(p, except->v[i])) {
            fprintf(stderr, "tend up: --except: no service \"%s\" in the project\n", except->v[i]);
            return 2;
        }
    if (mo->exit_code_from && strvec_contains(except, mo->exit_code_from)) {
        fprintf(stderr, "tend up: --exit-code-from %s: that service is excepted\n", mo->exit_code_from);
        return 2;
    }
    bool *sel = xcalloc(p->n_services ? p->n_services : 1, sizeof(bool));
    select_services(p, services, mo->no_deps, except, sel);
    size_t left = 0;
    for (size_t i = 0; i < p->n_services; i++)
        left += sel[i];
    free(sel);
    if (left == 0) {
        fputs("tend up: nothing to run: every selected service is excepted\n", stderr);
        return 2;
    }
    return 0;
}

int cmd_up(ConfigOptions *o, int argc, char **argv)
{
    enum {
        OPT_WAIT_TIMEOUT = 256,
        OPT_NO_DEPS,
        OPT_ABORT,
        OPT_EXIT_CODE_FROM,
        OPT_PROFILE,
        OPT_NO_COLOR,
        OPT_TIMESTAMPS,
        OPT_NO_PREFIX,
        OPT_JSON,
        OPT_REMOVE_ORPHANS,
        OPT_BUILD,
        OPT_EXCEPT,
        OPT_WATCH,
        OPT_WAIT,
    };
    static const struct option opts[] = {
        {"wait-timeout", required_argument, NULL, OPT_WAIT_TIMEOUT},
        {"no-deps", no_argument, NULL, OPT_NO_DEPS},
        {"abort-on-container-exit", no_argument, NULL, OPT_ABORT},
        {"exit-code-from", required_argument, NULL, OPT_EXIT_CODE_FROM},
        {"profile", required_argument, NULL, OPT_PROFILE},
        {"no-color", no_argument, NULL, OPT_NO_COLOR},
        {"timestamps", no_argument, NULL, OPT_TIMESTAMPS},
        {"no-log-prefix", no_argument, NULL, OPT_NO_PREFIX},
        {"json", no_argument, NULL, OPT_JSON},
        {"remove-orphans", no_argument, NULL, OPT_REMOVE_ORPHANS},
        {"watch", no_argument, NULL, OPT_WATCH},
        {"build", no_argument, NULL, OPT_BUILD},
        {"except", required_argument, NULL, OPT_EXCEPT},
        {"detach", no_argument, NULL, 'd'},
        {"wait", no_argument, NULL, OPT_WAIT},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    ManagerOptions mo = {0};
    ReloadOptions ro = {0};
    StrVec except = {0};
    bool detach = false, wait_ready = false;
    const char *nc = getenv("NO_COLOR");
    bool color = isatty(STDOUT_FILENO) && !(nc && *nc);
    int c;
    while ((c = getopt_long(argc, argv, "dh", opts, NULL)) != -1) {
        switch (c) {
        case OPT_WAIT_TIMEOUT:
            if (parse_seconds(optarg, &mo.wait_timeout) < 0) {
                fprintf(stderr, "tend up: --wait-timeout: \"%s\" is not a number of seconds or a duration\n",
                        optarg);
                return 2;
            }
            break;
        case OPT_NO_DEPS:
            mo.no_deps = true;
            break;
        case OPT_ABORT:
            mo.abort_on_exit = true;
            break;
        case OPT_EXIT_CODE_FROM:
            mo.exit_code_from = optarg;
            break;
        case OPT_PROFILE:
            strvec_push(&o->profiles, optarg);
            break;
        case OPT_NO_COLOR:
            color = false;
            break;
        case OPT_TIMESTAMPS:
            mo.log.timestamps = true;
            break;
        case OPT_NO_PREFIX:
            mo.log.no_prefix = true;
            break;
        case OPT_JSON:
            mo.json = true;
            mo.log.json = true;
            break;
        case OPT_REMOVE_ORPHANS:
            mo.remove_orphans = true;
            break;
        case OPT_WATCH:
            ro.watch = true;
            break;
        case OPT_BUILD:
            mo.build = true;
            break;
        case OPT_EXCEPT:
            strvec_push(&except, optarg);
            break;
        case 'd':
            detach = true;
            break;
        case OPT_WAIT:
            detach = wait_ready = true;
            break;
        case 'h':
            fputs(up_usage, stdout);
            strvec_free(&except);
            return 0;
        default:
            fputs("Run 'tend up --help' for usage.\n", stderr);
            strvec_free(&except);
            return 2;
        }
    }
    for (int i = optind; i < argc; i++)
        strvec_push(&o->services, argv[i]);

    Project *p = NULL;
    int r = config_load_report(o, &p);
    if (r) {
        strvec_free(&except);
        return r;
    }
    if (except.n > 0 && (r = check_except(p, &o->services, &except, &mo)) != 0) {
        strvec_free(&except);
        project_free(p);
        return r;
    }
    mo.except = &except;
    if (mo.exit_code_from && !project_service(p, mo.exit_code_from)) {
        fprintf(stderr, "tend up: --exit-code-from: no service \"%s\" in the project\n", mo.exit_code_from);
        strvec_free(&except);
        project_free(p);
        return 2;
    }

    /* One supervisor per project: a second up says so and starts nothing. */
    pid_t other = 0;
    _cleanup_free_ char *sock = ctl_socket_path(p);
    if (ctl_probe(sock, &other) > 0) {
        fprintf(stderr, "tend is already running this project (pid %d); use tend attach / tend down\n", (int)other);
        strvec_free(&except);
        project_free(p);
        return 1;
    }
    if (detach) {
        int rc = 0;
        if (up_detach(p, sock, wait_ready, &rc)) {
            strvec_free(&except);
                project_free(p);
            return rc;
        }
        color = false; /* the background supervisor, writing to its log file */
    }

    Secrets secrets = {0}; /* masked in every line shown or written */
    project_secrets(p, &secrets);
    mo.log.secrets = &secrets;
    mo.services = &o->services;
    mo.log.out_fd = STDOUT_FILENO;
    mo.log.color = color && !mo.log.json;
    uv_loop_t loop;
    uv_loop_init(&loop);
    Manager *m = manager_new(&loop, p, &mo);
    ctl_server_attach(m);
    ro.named = &o->services;
    reload_attach(m, &ro);
    int status = manager_run(m);
    manager_free(m);
    secrets_free(&secrets);
    uv_loop_close(&loop);
    strvec_free(&except);
    project_free(p);
    return status;
}
