/* child: a child process started with posix_spawn and followed on the loop
 * through a pidfd.
 *
 * uv_spawn forks: the kernel copies the parent's page tables for every
 * child (dear in a virtual machine, where each copy is a run of MMU
 * updates), and the loop waits for each child's exec. posix_spawn uses
 * clone(CLONE_VM | CLONE_VFORK): the child borrows the parent's memory
 * until it calls exec, so nothing is copied, and an exec that fails is
 * still reported to the caller. The exit is seen through a pidfd
 * (pidfd_open, Linux 5.3) watched by a uv_poll_t, and the child is reaped
 * by its own pid, never with waitpid(-1), so libuv's own children are left
 * to libuv. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

typedef struct SpawnOptions {
    const char *file;  /* the program's path (no PATH search) */
    char *const *argv;
    char *const *envp; /* NULL: the caller's environment */
    const char *cwd;   /* NULL: the caller's */
    int in_fd;         /* the child's stdin; -1: /dev/null */
    int out_fd;        /* the child's stdout; -1: /dev/null */
    int err_fd;        /* the child's stderr; -1: /dev/null */
    bool new_group;    /* the child leads a process group of its own */
} SpawnOptions;

typedef struct Child Child;
/* exit_status: the exit code (0 when killed); term_signal: the signal
 * that killed it, or 0. */
typedef void (*ChildExitFn)(Child *c, int64_t exit_status, int term_signal);

/* Embedded in its owner (the owner is found with container_of or data). */
struct Child {
    uv_poll_t poll; /* readable once the child exited */
    pid_t pid;
    int pidfd;
    ChildExitFn on_exit;
    void *data;
};

/* Starts the child with every signal at its default and none blocked. Returns 0, or -errno (the exec's own error too:
 * -ENOENT, -EACCES). on_exit is called once, after the child was reaped. */
int child_spawn(uv_loop_t *loop, Child *c, const SpawnOptions *o, ChildExitFn on_exit);
/* Stops following the child (it is not signalled) and closes the handle;
 * cb as uv_close's, with the Child's poll as the handle. */
void child_close(Child *c, uv_close_cb cb);
