/* host: a service as a host process under the shim (see host.h, shim.c).
 *
 * host_start checks what can be checked before spawning (the working
 * directory, that the command exists and is executable) so the common
 * mistakes are reported at once with a clear message; the shim's exit 127
 * stays as the fallback. The process is `tend-shim __shim --ppid TEND --
 * ARGV`, started with posix_spawn and followed through a pidfd (lib/spawn.h:
 * no fork of tend, whose page tables would be copied for every service);
 * its stdout and stderr are pipes read by the log mux.
 *
 * tend signals the shim only, never a process group: the shim is tend's
 * own child, so its pid cannot be reused before tend reaps it, and the
 * shim passes the signal on to the service's group (see shim.c).
 *
 * on_exit fires once the shim exited AND both pipes reached EOF, so every
 * line of output is delivered before the exit is reported. The HostProc
 * is freed when its last handle is closed: host_free may therefore return
 * before the memory is released, and the loop must run on. */
#include "run/host.h"
#include "lib/child.h"
#include "lib/util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

/* Also defined in shim.c ("kill everything", "stop the group"); the two
 * must agree. */
#define SHIM_KILL_SIGNAL (SIGRTMIN + 2)
#define SHIM_STOP_SIGNAL (SIGRTMIN + 3)

#define container_of(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))

/* The PATH execvp falls back to when the environment has none. */
#define DEFAULT_PATH "/bin:/usr/bin"

struct HostProc {
    Child child;
    uv_pipe_t out, err;
    LogMux *mux;
    HostExitFn on_exit;
    void *ud;
    pid_t pid;
    int64_t exit_status;
    int term_signal;
    bool exited;   /* the shim's exit was reaped */
    bool out_eof, err_eof;
    bool notified; /* exit and both EOFs seen; on_exit called unless freeing */
    bool freeing;  /* host_free was called: free once everything is closed */
};

static char *shim_path;

/* Kept absolute: services are spawned in their own working directory. */
void host_set_shim(const char *tend_path)
{
    free(shim_path);
    shim_path = NULL;
    if (!tend_path)
        return;
    _cleanup_free_ char *cwd = path_is_absolute(tend_path) ? NULL : getcwd(NULL, 0);
    shim_path = cwd ? path_join(cwd, tend_path) : xstrdup(tend_path);
}

/* The command line: entrypoint + command, or sh -c for a command string. */
static void host_argv(const Service *s, StrVec *ret)
{
    if (s->shell && s->command_string && !s->has_entrypoint) {
        strvec_push(ret, "/bin/sh");
        strvec_push(ret, "-c");
        strvec_push(ret, s->command_string);
        return;
    }
    for (size_t i = 0; i < s->entrypoint.n; i++)
        strvec_push(ret, s->entrypoint.v[i]);
    for (size_t i = 0; i < s->command.n; i++)
        strvec_push(ret, s->command.v[i]);
}

/* 0 if execve could run path, else -errno as execve would report it. */
static int host_check_exec(const char *path)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return -errno;
    if (!S_ISREG(st.st_mode))
        return -EACCES;
    if (access(path, X_OK) < 0)
        return -errno;
    return 0;
}

/* Looks the command up the way execvp in the shim will: a name with a
 * slash as a path (relative to the service's directory), any other name in
 * the service's PATH. */
static int host_find_command(const char *cmd, const char *path_env, const char *cwd,
                             char **ret_err)
{
    if (strchr(cmd, '/')) {
        _cleanup_free_ char *full =
            cwd && !path_is_absolute(cmd) ? path_join(cwd, cmd) : xstrdup(cmd);
        int r = host_check_exec(full);
        if (r < 0)
            *ret_err = xasprintf("cannot run \"%s\": %s", cmd, strerror(-r));
        return r;
    }

    bool denied = false;
    const char *p = path_env ? path_env : DEFAULT_PATH;
    while (*cmd) { /* an empty name is found nowhere */
        const char *colon = strchrnul(p, ':');
        /* an empty entry means the current directory */
        _cleanup_free_ char *dir = colon == p ? xstrdup(".") : xstrndup(p, colon - p);
        _cleanup_free_ char *rel = path_join(dir, cmd);
        _cleanup_free_ char *full = cwd && !path_is_absolute(rel) ? path_join(cwd, rel) : NULL;
        int r = host_check_exec(full ? full : rel);
        if (r == 0)
            return 0;
        if (r == -EACCES)
            denied = true;
        if (!*colon)
            break;
        p = colon + 1;
    }
    if (denied) {
        *ret_err = xasprintf("cannot run \"%s\": %s", cmd, strerror(EACCES));
        return -EACCES;
    }
    *ret_err = xasprintf("cannot run \"%s\": not found in PATH", cmd);
    return -ENOENT;
}

/* tend's environment overlaid by the service's. A service variable without
 * a value keeps tend's value, as Compose takes it from the shell. */
static void host_env(const Service *s, Env *ret)
{
    env_from_environ(ret, environ);
    for (size_t i = 0; i < s->environment.n; i++)
        if (s->environment.vals[i])
            env_set(ret, s->environment.keys[i], s->environment.vals[i]);
}

char **host_envp(const Env *e)
{
    char **envp = xcalloc(e->n + 1, sizeof(char *));
    size_t n = 0;
    for (size_t i = 0; i < e->n; i++)
        if (e->vals[i])
            envp[n++] = xasprintf("%s=%s", e->keys[i], e->vals[i]);
    return envp;
}

char **host_probe_envp(const Service *s)
{
    Env e = {0};
    host_env(s, &e); /* a valueless variable as the service itself has it */
    char **out = host_envp(&e);
    env_free(&e);
    return out;
}

void host_envp_free(char **envp)
{
    for (char **p = envp; p && *p; p++)
        free(*p);
    free(envp);
}

static void host_on_proc_close(uv_handle_t *h)
{
    free(container_of(h, HostProc, child.poll));
}

/* Everything is over: report, or finish freeing if host_free came first. */
static void host_maybe_done(HostProc *p)
{
    if (!p->exited || !p->out_eof || !p->err_eof || p->notified)
        return;
    p->notified = true;
    if (p->freeing) {
        child_close(&p->child, host_on_proc_close);
        return;
    }
    /* on_exit may call host_free; p stays valid until the close callback */
    if (p->on_exit)
        p->on_exit(p->ud, p->exit_status, p->term_signal);
}

static void host_on_exit(Child *c, int64_t status, int sig)
{
    HostProc *p = container_of(c, HostProc, child);
    if (sig) {
        /* the shim itself was killed (before it could set up, or from outside) */
        p->exit_status = 128 + sig;
        p->term_signal = sig;
    } else if (status > 128 && status <= 128 + 64) {
        /* the shim's encoding of "the command was killed by signal N" */
        p->exit_status = status;
        p->term_signal = (int)(status - 128);
    } else {
        p->exit_status = status;
        p->term_signal = 0;
    }
    p->exited = true;
    host_maybe_done(p);
}

static void host_on_out_eof(void *ud)
{
    HostProc *p = ud;
    p->out_eof = true;
    host_maybe_done(p);
}

static void host_on_err_eof(void *ud)
{
    HostProc *p = ud;
    p->err_eof = true;
    host_maybe_done(p);
}

/* For pipes the mux did not take; their data field may be the mux's. */
static void host_on_out_close(uv_handle_t *h)
{
    host_on_out_eof(container_of(h, HostProc, out));
}

static void host_on_err_close(uv_handle_t *h)
{
    host_on_err_eof(container_of(h, HostProc, err));
}

/* Hands one pipe to the mux; if it will not take it, the pipe is closed
 * here and counts as having reached EOF. */
static void host_attach(HostProc *p, const char *service, int stream, uv_pipe_t *pipe,
                        void (*on_eof)(void *ud), uv_close_cb on_close)
{
    int src = logmux_source(p->mux, service, stream);
    if (src < 0 || logmux_attach(p->mux, src, (uv_stream_t *)pipe, on_eof, p) < 0)
        uv_close((uv_handle_t *)pipe, on_close);
}

/* With a NULL mux the output is discarded (/dev/null): tests and tools
 * that only care about the process. */
int host_start(uv_loop_t *loop, const Service *s, const char *project_dir, LogMux *mux,
               HostExitFn on_exit, void *ud, HostProc **ret, char **ret_err)
{
    _cleanup_free_ char *cwd = NULL;
    StrVec argv = {0};
    StrVec args = {0};
    Env env = {0};
    char **envp = NULL;
    char *err = NULL;
    int r;

    if (!shim_path) {
        err = xasprintf("cannot run host services: the path of tend is not known");
        r = -EINVAL;
        goto out;
    }
    host_argv(s, &argv);
    if (argv.n == 0) {
        err = xasprintf("nothing to run: no command");
        r = -EINVAL;
        goto out;
    }

    if (s->working_dir)
        cwd = project_dir ? path_join(project_dir, s->working_dir) : xstrdup(s->working_dir);
    else if (project_dir)
        cwd = xstrdup(project_dir);
    if (cwd) {
        struct stat st;
        r = stat(cwd, &st) < 0 ? -errno : S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
        if (r < 0) {
            err = xasprintf("working_dir %s: %s", cwd, strerror(-r));
            goto out;
        }
    }

    host_env(s, &env);
    /* The shell's idea of the folder follows the service, not tend. */
    if (cwd && !env_get(&s->environment, "PWD"))
        env_set(&env, "PWD", cwd);
    r = host_find_command(argv.v[0], env_get(&env, "PATH"), cwd, &err);
    if (r < 0)
        goto out;

    strvec_push(&args, shim_path);
    strvec_push(&args, "__shim");
    strvec_push(&args, "--ppid");
    strvec_push_take(&args, xasprintf("%ld", (long)getpid()));
    /* A one-off of tend run: stdin passed on (-i), from the terminal in its
     * foreground; with a terminal session (tty) the output too, as it is. */
    bool oneoff = s->oneoff_name != NULL;
    bool in = oneoff && s->stdin_open, fg = in && isatty(STDIN_FILENO), raw = oneoff && s->tty;
    if (fg)
        strvec_push(&args, "--foreground");
    strvec_push(&args, "--");
    for (size_t i = 0; i < argv.n; i++)
        strvec_push(&args, argv.v[i]);
    envp = host_envp(&env);

    HostProc *p = xcalloc(1, sizeof *p);
    p->mux = mux;
    p->on_exit = on_exit;
    p->ud = ud;

    /* Output pipes, tend's ends read by the mux; without a mux (and for
     * stdin, unless passed on) the shim gets /dev/null. */
    int outp[2] = {-1, -1}, errp[2] = {-1, -1};
    bool pipes = mux && !raw;
    if (pipes && (pipe2(outp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0)) {
        r = -errno;
        err = xasprintf("cannot make the output pipes: %s", strerror(-r));
        goto fail;
    }
    SpawnOptions so = {
        .file = shim_path,
        .argv = args.v,
        .envp = envp,
        .cwd = cwd,
        .in_fd = in ? STDIN_FILENO : -1,
        .out_fd = raw ? STDOUT_FILENO : outp[1],
        .err_fd = raw ? STDERR_FILENO : errp[1],
        .new_group = true,
    };
    r = child_spawn(loop, &p->child, &so, host_on_exit);
    if (r < 0) {
        err = r == -ENOSYS ? xasprintf("cannot follow host processes: this kernel has no pidfd_open "
                                       "(Linux 5.3 or newer is needed)")
                           : xasprintf("cannot run \"%s\": %s", shim_path, strerror(-r));
        goto fail;
    }
    if (pipes) {
        close(outp[1]);
        close(errp[1]);
    }
    p->pid = p->child.pid;
    if (pipes) {
        uv_pipe_init(loop, &p->out, 0);
        uv_pipe_init(loop, &p->err, 0);
        uv_pipe_open(&p->out, outp[0]);
        uv_pipe_open(&p->err, errp[0]);
        host_attach(p, s->name, LOG_STDOUT, &p->out, host_on_out_eof, host_on_out_close);
        host_attach(p, s->name, LOG_STDERR, &p->err, host_on_err_eof, host_on_err_close);
    } else {
        p->out_eof = p->err_eof = true;
    }
    *ret = p;
    r = 0;
    goto out;

fail:
    for (int i = 0; i < 2; i++) {
        if (outp[i] >= 0)
            close(outp[i]);
        if (errp[i] >= 0)
            close(errp[i]);
    }
    free(p);

out:
    strvec_free(&argv);
    strvec_free(&args);
    env_free(&env);
    host_envp_free(envp);
    if (r < 0 && ret_err)
        *ret_err = err;
    else
        free(err);
    return r;
}

int host_signal(HostProc *p, int sig)
{
    if (!p || p->exited)
        return -ESRCH;
    /* The shim cannot pass on what it cannot catch: SIGKILL becomes its
     * "kill everything" request, SIGSTOP its "stop the group" request. */
    if (sig == SIGSTOP)
        sig = SHIM_STOP_SIGNAL;
    if (sig == SIGKILL)
        sig = SHIM_KILL_SIGNAL;
    if (kill(p->pid, sig) < 0)
        return -errno;
    return 0;
}

int host_stopped(const HostProc *p)
{
    if (!p || p->exited)
        return -1;
    /* The command is the shim's child: its pid from the shim's children. */
    _cleanup_free_ char *kids = NULL, *line = NULL;
    size_t n;
    _cleanup_free_ char *kpath = xasprintf("/proc/%ld/task/%ld/children", (long)p->pid, (long)p->pid);
    if (read_file(kpath, 4096, &kids, &n) < 0)
        return -1;
    long child = strtol(kids, NULL, 10);
    if (child <= 0)
        return -1;
    _cleanup_free_ char *spath = xasprintf("/proc/%ld/stat", child);
    if (read_file(spath, 4096, &line, &n) < 0)
        return -1;
    /* "PID (COMM) STATE ...": the state follows the last ')' */
    const char *rp = strrchr(line, ')');
    if (!rp || rp[1] != ' ')
        return -1;
    return rp[2] == 'T' || rp[2] == 't' ? 1 : 0;
}

pid_t host_pid(const HostProc *p)
{
    return p ? p->pid : 0;
}

void host_free(HostProc *p)
{
    if (!p || p->freeing)
        return;
    p->freeing = true;
    if (p->notified) {
        child_close(&p->child, host_on_proc_close);
        return;
    }
    /* Still running: have the shim kill the group and every descendant;
     * the rest happens in host_maybe_done once exit and EOFs are in. */
    if (!p->exited)
        (void)kill(p->pid, SHIM_KILL_SIGNAL);
}
