/* client: the blocking client of the control socket, for the command line
 * (client.h). The supervisor uses it only to ask whether another tend
 * already answers on its socket (ctl_probe). */
#include "ctl/client.h"

#include "lib/util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static int sock_connect(const char *path, int *ret_fd)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path)
        return -ENAMETOOLONG;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    *ret_fd = fd;
    return 0;
}

/* ---- the client ---- */

struct CtlClient {
    int fd;
    pid_t pid;
    int next_id;
    char *buf; /* received, not yet returned */
    size_t len, cap;
};

void ctl_close(CtlClient *c)
{
    if (!c)
        return;
    if (c->fd >= 0)
        close(c->fd);
    free(c->buf);
    free(c);
}

pid_t ctl_pid(const CtlClient *c)
{
    return c->pid;
}

int ctl_fd(const CtlClient *c)
{
    return c->fd;
}

static int write_all_fd(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int ctl_send(CtlClient *c, json_t *req)
{
    json_t *id = json_object_get(req, "id");
    int idv;
    if (json_is_integer(id)) {
        idv = (int)json_integer_value(id);
    } else {
        idv = ++c->next_id;
        json_object_set_new(req, "id", json_integer(idv));
    }
    char *s = json_dumps(req, JSON_COMPACT);
    if (!s)
        return -ENOMEM;
    size_t n = strlen(s);
    s[n] = '\0';
    int r = write_all_fd(c->fd, s, n);
    if (r == 0)
        r = write_all_fd(c->fd, "\n", 1);
    free(s);
    return r < 0 ? r : idv;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int ctl_recv(CtlClient *c, int timeout_ms, json_t **ret)
{
    int64_t deadline = timeout_ms >= 0 ? mono_ms() + timeout_ms : -1;
    for (;;) {
        char *nl = c->len ? memchr(c->buf, '\n', c->len) : NULL;
        if (nl) {
            size_t ll = (size_t)(nl - c->buf);
            json_error_t je;
            json_t *v = json_loadb(c->buf, ll, 0, &je);
            memmove(c->buf, nl + 1, c->len - ll - 1);
            c->len -= ll + 1;
            if (!json_is_object(v)) {
                json_decref(v);
                return -EPROTO;
            }
            *ret = v;
            return 0;
        }
        if (c->len >= CTL_LINE_MAX)
            return -EPROTO;
        int wait = -1;
        if (deadline >= 0) {
            int64_t left = deadline - mono_ms();
            if (left <= 0)
                return -ETIMEDOUT;
            wait = left > 1000000 ? 1000000 : (int)left;
        }
        struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
        int pr = poll(&pfd, 1, wait);
        if (pr < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (pr == 0)
            continue; /* the deadline check above decides */
        if (c->cap - c->len < 65536) {
            c->cap = c->cap ? c->cap * 2 : 65536;
            c->buf = xrealloc(c->buf, c->cap);
        }
        ssize_t r = read(c->fd, c->buf + c->len, c->cap - c->len);
        if (r < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            return errno == ECONNRESET ? -EPIPE : -errno;
        }
        if (r == 0)
            return -EPIPE;
        c->len += (size_t)r;
    }
}

int ctl_call(CtlClient *c, json_t *req, int timeout_ms, json_t **ret)
{
    int id = ctl_send(c, req);
    if (id < 0)
        return id;
    for (;;) {
        json_t *v = NULL;
        int r = ctl_recv(c, timeout_ms, &v);
        if (r < 0)
            return r;
        json_t *vid = json_object_get(v, "id");
        if (json_is_integer(vid) && json_integer_value(vid) == id && json_object_get(v, "ok")) {
            *ret = v;
            return 0;
        }
        json_decref(v);
    }
}

int ctl_connect(const char *path, CtlClient **ret, char **ret_err)
{
    int fd = -1;
    int r = sock_connect(path, &fd);
    if (r < 0) {
        if (ret_err)
            *ret_err = xasprintf("cannot connect to %s: %s", path, strerror(-r));
        return r;
    }
    CtlClient *c = xcalloc(1, sizeof *c);
    c->fd = fd;
    json_t *hello = NULL;
    r = ctl_recv(c, 5000, &hello);
    if (r < 0) {
        if (ret_err)
            *ret_err = xasprintf("%s did not greet: %s", path,
                                 r == -EPIPE ? "it closed the connection" : strerror(-r));
        ctl_close(c);
        return r == -EPIPE ? -EACCES : r;
    }
    json_t *ver = json_object_get(hello, "tend");
    const char *err = json_string_value(json_object_get(hello, "error"));
    if (err) {
        if (ret_err)
            *ret_err = xasprintf("%s", err);
        json_decref(hello);
        ctl_close(c);
        return -EACCES;
    }
    if (!json_is_integer(ver) || json_integer_value(ver) != CTL_PROTOCOL) {
        if (ret_err)
            *ret_err = xasprintf("%s speaks another protocol (tend %lld, this tend speaks %d)", path,
                                 json_is_integer(ver) ? (long long)json_integer_value(ver) : -1LL,
                                 CTL_PROTOCOL);
        json_decref(hello);
        ctl_close(c);
        return -EPROTO;
    }
    c->pid = (pid_t)json_integer_value(json_object_get(hello, "pid"));
    json_decref(hello);
    *ret = c;
    return 0;
}

int ctl_probe(const char *path, pid_t *ret_pid)
{
    CtlClient *c = NULL;
    int r = ctl_connect(path, &c, NULL);
    if (r == -ENOENT)
        return 0;
    if (r == -ECONNREFUSED) {
        /* A socket file nobody listens on: its supervisor was killed. */
        struct stat st;
        if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
            unlink(path);
        return 0;
    }
    if (r < 0)
        return r;
    if (ret_pid)
        *ret_pid = ctl_pid(c);
    ctl_close(c);
    return 1;
}
