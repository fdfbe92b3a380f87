/* engine-proxy: a unix socket in front of the Docker engine's, for the fault
 * tests. It forwards every connection to the real socket, and does to them
 * what its mode file says, read again every 50 ms:
 *
 *   pass          forward as is
 * Each change to another fault first closes every open connection (as an
 * engine restart would), so that the fault meets fresh connections.
 *   down          the engine is gone: close every connection and the
 *                 listening socket, and remove the socket file (until the
 *                 mode changes, when it listens again on the same path)
 *   delay MS      a slow engine: every piece of an answer waits MS first
 *   garble        a broken engine: every request is answered with a
 *                 malformed HTTP answer (a JSON body cut in the middle)
 *   truncate N    every answer is cut after N bytes and its connection
 *                 closed
 *
 * The machine's engine itself is never touched.
 *   engine-proxy LISTEN_PATH ENGINE_PATH MODE_FILE
 * One thread per connection; the process ends on SIGTERM or SIGINT. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

typedef enum Mode { MODE_PASS, MODE_DOWN, MODE_DELAY, MODE_GARBLE, MODE_TRUNCATE } Mode;

static const char *listen_path, *engine_path, *mode_file;
static atomic_int mode = MODE_PASS;
static atomic_long mode_arg;
static atomic_uint generation; /* bumped when the engine goes down */
static volatile sig_atomic_t stopping;

static void read_mode(void)
{
    char buf[64] = "";
    FILE *f = fopen(mode_file, "r");
    if (f) {
        if (!fgets(buf, sizeof buf, f))
            buf[0] = '\0';
        fclose(f);
    }
    long arg = 0;
    Mode m = MODE_PASS;
    if (strncmp(buf, "down", 4) == 0)
        m = MODE_DOWN;
    else if (sscanf(buf, "delay %ld", &arg) == 1)
        m = MODE_DELAY;
    else if (strncmp(buf, "garble", 6) == 0)
        m = MODE_GARBLE;
    else if (sscanf(buf, "truncate %ld", &arg) == 1)
        m = MODE_TRUNCATE;
    atomic_store(&mode_arg, arg);
    atomic_store(&mode, m);
}

static int unix_socket(const char *path, bool listening)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
    int r = listening ? bind(fd, (struct sockaddr *)&a, sizeof a) : connect(fd, (struct sockaddr *)&a, sizeof a);
    if (r == 0 && listening)
        r = listen(fd, 64);
    if (r < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static bool write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

/* A malformed answer: the headers promise more JSON than comes, and what
 * comes does not parse. */
static void garble(int client)
{
    char req[4096];
    (void)recv(client, req, sizeof req, 0);
    static const char ans[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                              "Api-Version: 1.41\r\nContent-Length: 64\r\n\r\n"
                              "{\"Id\": \"abc\", \"State\": {\"Running\": tr\x01\xff";
    write_all(client, ans, sizeof ans - 1);
}

static void *conn_main(void *arg)
{
    int client = (int)(long)arg;
    unsigned gen = atomic_load(&generation);
    if (atomic_load(&mode) == MODE_GARBLE) {
        garble(client);
        close(client);
        return NULL;
    }
    int up = unix_socket(engine_path, false);
    if (up < 0) {
        close(client);
        return NULL;
    }
    long sent = 0; /* bytes of answers forwarded */
    char buf[65536];
    struct pollfd p[2] = {{.fd = client, .events = POLLIN}, {.fd = up, .events = POLLIN}};
    for (;;) {
        if (atomic_load(&generation) != gen || stopping)
            break;
        int r = poll(p, 2, 50);
        if (r < 0 && errno != EINTR)
            break;
        if (r <= 0)
            continue;
        if (p[0].revents) {
            ssize_t n = recv(client, buf, sizeof buf, 0);
            if (n <= 0 || !write_all(up, buf, (size_t)n))
                break;
        }
        if (p[1].revents) {
            ssize_t n = recv(up, buf, sizeof buf, 0);
            if (n <= 0)
                break;
            Mode m = atomic_load(&mode);
            long a = atomic_load(&mode_arg);
            if (m == MODE_DELAY && a > 0) {
                struct timespec ts = {a / 1000, (a % 1000) * 1000000L};
                nanosleep(&ts, NULL);
            }
            if (m == MODE_TRUNCATE && sent + n > a) {
                if (a > sent)
                    write_all(client, buf, (size_t)(a - sent));
                break;
            }
            if (!write_all(client, buf, (size_t)n))
                break;
            sent += n;
        }
    }
    close(up);
    close(client);
    return NULL;
}

static void on_stop(int sig)
{
    (void)sig;
    stopping = 1;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: engine-proxy LISTEN_PATH ENGINE_PATH MODE_FILE\n");
        return 2;
    }
    listen_path = argv[1];
    engine_path = argv[2];
    mode_file = argv[3];
    struct sigaction sa = {.sa_handler = on_stop};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    int lfd = -1;
    int last = MODE_PASS;
    while (!stopping) {
        read_mode();
        /* A new fault starts on fresh connections, as after an engine
         * restart: the open ones (curl keeps them) are closed. */
        int now = atomic_load(&mode);
        if (now != last && now != MODE_PASS)
            atomic_fetch_add(&generation, 1);
        last = now;
        bool down = now == MODE_DOWN;
        if (down && lfd >= 0) {
            close(lfd);
            unlink(listen_path);
            lfd = -1;
        } else if (!down && lfd < 0) {
            unlink(listen_path);
            lfd = unix_socket(listen_path, true);
            if (lfd < 0) {
                perror(listen_path);
                return 1;
            }
            printf("listening\n");
            fflush(stdout);
        }
        if (lfd < 0) {
            usleep(50000);
            continue;
        }
        struct pollfd p = {.fd = lfd, .events = POLLIN};
        if (poll(&p, 1, 50) <= 0)
            continue;
        int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0)
            continue;
        pthread_t t;
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&t, &at, conn_main, (void *)(long)c) != 0)
            close(c);
        pthread_attr_destroy(&at);
    }
    if (lfd >= 0) {
        close(lfd);
        unlink(listen_path);
    }
    return 0;
}
