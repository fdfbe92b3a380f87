/* shim: the parent of every host process, run as
 * `tend __shim [--ppid PID] [--foreground] [--] ARGV...` (see shim.h).
 *
 * Process layout: the shim leads a process group of its own, so a Ctrl-C
 * on the terminal reaches tend only and tend decides the stop order. The
 * command runs in a second group led by the command itself (pgid = its
 * pid). Keeping the shim out of the command's group lets it signal "the
 * whole service" with kill(-child) without hitting itself, so there is no
 * echo to filter and no double delivery.
 *
 * Signals: tend signals the shim only (kill(shim)); the shim passes each
 * catchable signal on to the command's group. SIGRTMIN+2 means "kill
 * everything now": the kernel sends it when tend dies (PR_SET_PDEATHSIG)
 * and tend sends it for SIGKILL, which the shim could not catch itself.
 * SIGRTMIN+3 likewise stands for SIGSTOP (tend pause); SIGCONT is passed
 * on as any other signal.
 *
 * The shim is a child subreaper, so descendants that left the group
 * (setsid'd daemons, double forks) are reparented to it and can be found
 * by their parent pid. When the command exits or tend dies, the shim kills
 * the group and every such descendant with SIGKILL, reaps them all, and
 * exits with the command's status: its exit code, or 128+N if signal N
 * killed it (137 when everything was killed because tend died).
 *
 * All signals are blocked and read synchronously from a signalfd, so the
 * loop below is ordinary code with no handlers and nothing async. */
#include "run/shim.h"
#include "lib/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* Also defined in host.c; the two must agree. */
#define SHIM_KILL_SIGNAL (SIGRTMIN + 2)
#define SHIM_STOP_SIGNAL (SIGRTMIN + 3) /* "SIGSTOP the group" (tend pause) */

/* Signals the shim passes on: everything a process can catch, except what
 * is about the shim itself (SIGCHLD, faults) and the kill request. */
static bool shim_forwards(int sig)
{
    switch (sig) {
    case SIGKILL:
    case SIGSTOP:
    case SIGCHLD:
    case SIGSEGV:
    case SIGBUS:
    case SIGILL:
    case SIGFPE:
    case SIGTRAP:
    case SIGSYS:
        return false;
    default:
        break;
    }
    if (sig == SHIM_KILL_SIGNAL || sig == SHIM_STOP_SIGNAL)
        return false;
    /* glibc keeps the first real-time signals for itself */
    if (sig > SIGSYS && sig < SIGRTMIN)
        return false;
    return sig >= 1 && sig <= SIGRTMAX;
}

static void shim_signal_set(sigset_t *set)
{
    sigemptyset(set);
    for (int sig = 1; sig <= SIGRTMAX; sig++)
        if (shim_forwards(sig))
            sigaddset(set, sig);
    sigaddset(set, SIGCHLD);
    sigaddset(set, SHIM_KILL_SIGNAL);
    sigaddset(set, SHIM_STOP_SIGNAL);
}

/* The exit status the shim passes on for a wait status. */
static int shim_status_code(int status)
{
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return 1;
}

/* Starts the command in a fresh group led by itself, with every signal
 * at its default and none blocked (the shim blocks them all). posix_spawn
 * (vfork-like: nothing of the shim is copied) reports an exec that failed;
 * then the shim says so and exits 127 (not found) or 126 (cannot execute)
 * as a shell would. host.c checks the command up front, so this is rare. */
static pid_t shim_spawn_child(char **argv)
{
    posix_spawnattr_t at;
    posix_spawnattr_init(&at);
    sigset_t all, none;
    sigfillset(&all);
    sigemptyset(&none);
    posix_spawnattr_setsigdefault(&at, &all);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setpgroup(&at, 0);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETPGROUP);
    pid_t pid;
    int e = posix_spawnp(&pid, argv[0], NULL, &at, argv, environ);
    posix_spawnattr_destroy(&at);
    if (e == 0)
        return pid;
    fprintf(stderr, "cannot run \"%s\": %s\n", argv[0], strerror(e));
    exit(e == ENOENT ? 127 : 126);
}

/* The same with the terminal (--foreground), in a forked child: join a
 * fresh group, take the terminal's foreground before the exec (posix_spawn
 * cannot; after it, the command could read first and be stopped), undo the
 * shim's signal setup and become the command. */
static _Noreturn void shim_exec_child(char **argv, bool foreground)
{
    (void)setpgid(0, 0);
    /* Still with SIGTTOU blocked: a background group may take the terminal. */
    if (foreground)
        (void)tcsetpgrp(STDIN_FILENO, getpid());
    for (int sig = 1; sig < NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            (void)signal(sig, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    (void)sigprocmask(SIG_SETMASK, &none, NULL);
    execvp(argv[0], argv);
    int e = errno;
    dprintf(STDERR_FILENO, "cannot run \"%s\": %s\n", argv[0], strerror(e));
    _exit(e == ENOENT ? 127 : 126);
}

/* SIGKILLs every process whose parent is the shim: with the subreaper bit,
 * that is every descendant whose own parent is gone. Returns how many. */
static int shim_kill_children(pid_t self)
{
    DIR *d = opendir("/proc");
    if (!d)
        return 0;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        char *end;
        long pid = strtol(de->d_name, &end, 10);
        if (*end || pid <= 0 || pid == self)
            continue;
        char path[64], buf[512];
        snprintf(path, sizeof path, "/proc/%ld/stat", pid);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        ssize_t len = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (len <= 0)
            continue;
        buf[len] = '\0';
        /* "pid (comm) state ppid ...": comm may hold spaces and parens */
        const char *rp = strrchr(buf, ')');
        char state;
        int ppid;
        if (!rp || sscanf(rp + 1, " %c %d", &state, &ppid) != 2 || ppid != self)
            continue;
        if (kill((pid_t)pid, SIGKILL) == 0)
            n++;
    }
    closedir(d);
    return n;
}

typedef struct Shim {
    pid_t self;
    pid_t child;       /* the command; 0 before it starts */
    bool child_done;
    int child_status;  /* wait status, once child_done */
    bool group_gone;   /* kill(-child) found nobody: do not reuse the id */
} Shim;

static void shim_note_exit(Shim *sh, pid_t pid, int status)
{
    if (pid == sh->child && !sh->child_done) {
        sh->child_done = true;
        sh->child_status = status;
    }
}

/* Reaps whatever exited, without blocking. */
static void shim_reap(Shim *sh)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
        shim_note_exit(sh, pid, status);
}

/* Kills the command's group and every descendant, and reaps them until the
 * shim has no child left. A descendant that forks while dying leaves its
 * children to the shim, so the sweep repeats after every reap. */
static void shim_kill_all(Shim *sh)
{
    for (;;) {
        if (sh->child > 0 && !sh->group_gone && kill(-sh->child, SIGKILL) < 0 && errno == ESRCH)
            sh->group_gone = true;
        /* No child left (none reaped yet either): every descendant is gone
         * too, as an orphan would have become the shim's child. The scan of
         * /proc, whose cost grows with every process of the machine, is
         * for when some are left. */
        siginfo_t si = {0};
        if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0 && errno == ECHILD)
            return;
        shim_kill_children(sh->self);
        int status;
        pid_t pid = waitpid(-1, &status, 0);
        if (pid < 0) {
            if (errno == EINTR)
                continue;
            return; /* ECHILD: nothing left */
        }
        shim_note_exit(sh, pid, status);
        shim_reap(sh);
    }
}

static void shim_forward(Shim *sh, int sig)
{
    if (sh->child_done)
        return;
    /* the command may have left its group (job control, setsid) */
    if (kill(-sh->child, sig) < 0 && errno == ESRCH)
        (void)kill(sh->child, sig);
}

int shim_main(int argc, char **argv)
{
    /* Block first: from here on signals queue until the loop reads them. */
    sigset_t set;
    shim_signal_set(&set);
    sigprocmask(SIG_SETMASK, &set, NULL);

    int i = 1;
    pid_t ppid = 0;
    bool foreground = false;
    if (i + 1 < argc && streq(argv[i], "--ppid")) {
        ppid = (pid_t)atol(argv[i + 1]);
        i += 2;
    }
    if (i < argc && streq(argv[i], "--foreground")) {
        foreground = true;
        i++;
    }
    if (i < argc && streq(argv[i], "--"))
        i++;
    if (i >= argc) {
        fputs("usage: tend __shim [--ppid PID] [--foreground] [--] COMMAND [ARG...]\n", stderr);
        return 2;
    }

    /* Fails with EPERM when already a session leader, which is as good. */
    (void)setpgid(0, 0);

    /* Ask for a signal when tend dies, then check it did not die before
     * the request was in place. */
    if (prctl(PR_SET_PDEATHSIG, SHIM_KILL_SIGNAL) < 0) {
        fprintf(stderr, "tend __shim: PR_SET_PDEATHSIG: %s\n", strerror(errno));
        return 126;
    }
    if (ppid <= 0)
        ppid = getppid();
    else if (getppid() != ppid)
        return 128 + SIGKILL;
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) {
        fprintf(stderr, "tend __shim: PR_SET_CHILD_SUBREAPER: %s\n", strerror(errno));
        return 126;
    }

    int sfd = signalfd(-1, &set, SFD_CLOEXEC);
    if (sfd < 0) {
        fprintf(stderr, "tend __shim: signalfd: %s\n", strerror(errno));
        return 126;
    }

    Shim sh = {.self = getpid()};
    /* --foreground (an interactive tend run): the command gets the terminal
     * as a shell gives it to a job, and it is given back at the end. */
    pid_t term_pgrp = foreground ? tcgetpgrp(STDIN_FILENO) : -1;
    fflush(NULL);
    if (term_pgrp > 0) {
        pid_t child = fork();
        if (child < 0) {
            fprintf(stderr, "cannot run \"%s\": fork: %s\n", argv[i], strerror(errno));
            return 126;
        }
        if (child == 0)
            shim_exec_child(argv + i, true);
        sh.child = child;
        /* Also from this side, so kill(-child) works before the child ran. */
        (void)setpgid(child, child);
    } else {
        /* posix_spawn returns once the command runs, in its group already. */
        sh.child = shim_spawn_child(argv + i);
    }

    for (;;) {
        struct signalfd_siginfo si;
        ssize_t n = read(sfd, &si, sizeof si);
        if (n < 0 && errno == EINTR)
            continue;
        if (n != (ssize_t)sizeof si) {
            /* cannot hear signals any more: do not leave anything behind */
            shim_kill_all(&sh);
            return 128 + SIGKILL;
        }
        int sig = (int)si.ssi_signo;
        if (sig == SIGCHLD) {
            shim_reap(&sh);
            if (sh.child_done)
                break;
        } else if (sig == SHIM_KILL_SIGNAL) {
            shim_kill_all(&sh);
            return 128 + SIGKILL;
        } else if (sig == SHIM_STOP_SIGNAL) {
            shim_forward(&sh, SIGSTOP); /* the shim cannot be sent what it cannot catch */
        } else {
            shim_forward(&sh, sig);
        }
    }

    /* The command is done; what it left behind must not outlive it. */
    shim_kill_all(&sh);
    if (term_pgrp > 0)
        (void)tcsetpgrp(STDIN_FILENO, term_pgrp);
    return shim_status_code(sh.child_status);
}
