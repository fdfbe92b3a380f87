/* child: posix_spawn for the start, a pidfd on the loop for the exit (see
 * child.h). The pidfd is opened right after posix_spawn returns: the child
 * cannot have been reaped by then (only its parent reaps it, and this code
 * reaps by pid only after the pidfd says it exited), so the pid still
 * names it even if it exited already. */
#include "lib/child.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

static int pidfd_open_(pid_t pid)
{
    /* pidfds are close-on-exec from their creation. */
    return (int)syscall(SYS_pidfd_open, pid, 0);
}

static void child_on_poll(uv_poll_t *h, int status, int events)
{
    Child *c = h->data;
    (void)status;
    (void)events;
    int st;
    pid_t r;
    do
        r = waitpid(c->pid, &st, WNOHANG);
    while (r < 0 && errno == EINTR);
    if (r == 0)
        return; /* not yet (a spurious wakeup) */
    uv_poll_stop(h);
    int64_t code = 0;
    int sig = 0;
    if (r < 0)
        code = 127; /* reaped by someone else: nothing more to learn */
    else if (WIFEXITED(st))
        code = WEXITSTATUS(st);
    else if (WIFSIGNALED(st))
        sig = WTERMSIG(st);
    if (c->on_exit)
        c->on_exit(c, code, sig);
}

int child_spawn(uv_loop_t *loop, Child *c, const SpawnOptions *o, ChildExitFn on_exit)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    int r = posix_spawn_file_actions_init(&fa);
    if (r)
        return -r;
    r = posix_spawnattr_init(&at);
    if (r) {
        posix_spawn_file_actions_destroy(&fa);
        return -r;
    }

    /* An fd given as the one it becomes (tend's own stdin, passed on) is
     * inherited as it is. */
    const int fds[3] = {o->in_fd, o->out_fd, o->err_fd};
    for (int k = 0; k < 3; k++) {
        if (fds[k] < 0)
            posix_spawn_file_actions_addopen(&fa, k, "/dev/null", k ? O_WRONLY : O_RDONLY, 0);
        else if (fds[k] != k)
            posix_spawn_file_actions_adddup2(&fa, fds[k], k);
    }
    if (o->cwd)
        posix_spawn_file_actions_addchdir_np(&fa, o->cwd);

    /* What the child inherits of tend's signal set-up is undone, as
     * uv_spawn does: every signal at its default, none blocked. */
    sigset_t all, none;
    sigfillset(&all);
    sigemptyset(&none);
    short flags = POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK;
    posix_spawnattr_setsigdefault(&at, &all);
    posix_spawnattr_setsigmask(&at, &none);
    if (o->new_group) {
        flags |= POSIX_SPAWN_SETPGROUP;
        posix_spawnattr_setpgroup(&at, 0);
    }
    posix_spawnattr_setflags(&at, flags);

    pid_t pid;
    r = posix_spawn(&pid, o->file, &fa, &at, o->argv, o->envp ? o->envp : environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    if (r)
        return -r;

    int fd = pidfd_open_(pid);
    if (fd < 0) {
        r = -errno;
        /* Cannot follow it: do not leave it running unseen. */
        kill(pid, SIGKILL);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
        return r;
    }
    r = uv_poll_init(loop, &c->poll, fd);
    if (r < 0) {
        kill(pid, SIGKILL);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
        close(fd);
        return r;
    }
    /* Fails only out of memory, as the x* wrappers abort on. */
    if (uv_poll_start(&c->poll, UV_READABLE, child_on_poll) < 0)
        abort();
    c->poll.data = c;
    c->pid = pid;
    c->pidfd = fd;
    c->on_exit = on_exit;
    return 0;
}

void child_close(Child *c, uv_close_cb cb)
{
    uv_close((uv_handle_t *)&c->poll, cb);
    /* uv_close took the descriptor out of the loop's poll set at once. */
    if (c->pidfd >= 0)
        close(c->pidfd);
    c->pidfd = -1;
}
