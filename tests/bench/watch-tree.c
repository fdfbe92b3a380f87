/* watch-tree: the driver of the watch benchmarks.
 *
 *   watch-tree setup ROOT   times watching ROOT as tend does it: one walk on
 *                           the watcher's thread that reads the .gitignore
 *                           files and adds the watches
 *                           (watcher_add_tree_async), the loop's own CPU
 *                           time meanwhile, VmRSS; then, for comparison, the
 *                           earlier way on the loop: a walk reading the
 *                           .gitignore files, a walk counting the folders
 *                           and a walk adding the watches
 *   watch-tree idle ROOT    watches ROOT, prints "ready", then runs the loop
 *                           until killed (the caller samples /proc/PID)
 *
 * Both use the built-in ignore rules and ROOT's .gitignore files. */
#include "lib/util.h"
#include "watch/watch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static long vmrss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "re");
    if (!f)
        return -1;
    char line[256];
    long kb = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

static double ms_since(uint64_t t0)
{
    return (double)(now_ns() - t0) / 1e6;
}

/* CPU time (user + system) of this process so far, in ms: on a shared
 * machine the wall time also counts the waits for a CPU. */
static double cpu_ms(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

/* CPU time of the calling thread (the loop's), in ms. */
static double thread_cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

typedef struct Ready {
    bool done;
    int status;
    size_t folders;
} Ready;

static void on_ready(void *ud, int tree, int status, size_t folders, const char *err)
{
    Ready *r = ud;
    (void)tree;
    r->done = true;
    r->status = status;
    r->folders = folders;
    if (err)
        fprintf(stderr, "watch-tree: %s\n", err);
}

static size_t changes;

static void on_change(void *ud, int tree, const WatchChange *c)
{
    (void)ud, (void)tree, (void)c;
    changes++;
}

int main(int argc, char **argv)
{
    if (argc != 3 || (!streq(argv[1], "setup") && !streq(argv[1], "idle"))) {
        fprintf(stderr, "usage: watch-tree setup|idle ROOT\n");
        return 2;
    }
    const char *root = argv[2];
    uv_loop_t *loop = uv_default_loop();
    long rss0 = vmrss_kb();

    /* tend's way: one walk, off the loop. */
    uint64_t t0 = now_ns();
    double c0 = cpu_ms(), l0 = thread_cpu_ms();
    Ignore *ig = ignore_new(root, true);
    ignore_load_parent_gitignores(ig);
    Watcher *w = watcher_new(loop, on_change, NULL);
    Ready rd = {0};
    watcher_add_tree_async(w, root, ig, on_ready, &rd);
    while (!rd.done && uv_run(loop, UV_RUN_ONCE))
        ;
    double ms_add = ms_since(t0), cpu_add = cpu_ms() - c0, loop_add = thread_cpu_ms() - l0;
    if (rd.status < 0) {
        char *advice = watch_limit_advice(rd.folders);
        if (advice)
            fprintf(stderr, "watch-tree: %s\n", advice);
        free(advice);
        return 1;
    }
    long rss1 = vmrss_kb();

    if (streq(argv[1], "setup")) {
        printf("watch (one walk)  %zu watches in %.0f ms, %.0f ms CPU, of it %.1f ms on the loop's "
               "thread (goal <= 1000 ms)\n",
               watcher_watch_count(w), ms_add, cpu_add, loop_add);
        printf("RSS               %ld kB before, %ld kB after (+%ld kB, %.0f bytes a watch)\n",
               rss0, rss1, rss1 - rss0,
               (double)(rss1 - rss0) * 1024 / (double)(watcher_watch_count(w) + 1));
        printf("BENCH-RESULT\twatch setup, %zu folders, ms (the loop's share: %.1f ms; before: three walks on the loop)\t%.0f\t-\t-\t<= 1000 ms\n",
               watcher_watch_count(w), loop_add, ms_add);
        fflush(stdout);
        t0 = now_ns();
        watcher_free(w);
        uv_run(loop, UV_RUN_NOWAIT);
        printf("watcher_free      %.0f ms\n", ms_since(t0));
        ignore_free(ig);

        /* The earlier way, all on the loop. */
        t0 = now_ns();
        c0 = cpu_ms();
        ig = ignore_new(root, true);
        ignore_load_gitignores(ig);
        double ms_ignore = ms_since(t0), cpu_ignore = cpu_ms() - c0;
        t0 = now_ns();
        c0 = cpu_ms();
        size_t dirs = watch_count_dirs(root, ig);
        double ms_count = ms_since(t0), cpu_count = cpu_ms() - c0;
        w = watcher_new(loop, on_change, NULL);
        char *err = NULL;
        t0 = now_ns();
        c0 = cpu_ms();
        int r = watcher_add_tree(w, root, ig, &err);
        double ms_sync = ms_since(t0), cpu_sync = cpu_ms() - c0;
        if (r < 0) {
            fprintf(stderr, "watch-tree: %s\n", err);
            return 1;
        }
        printf("earlier, on the loop: gitignore walk %.0f ms (%.0f CPU) + count walk %zu folders %.0f ms "
               "(%.0f CPU) + watch walk %.0f ms (%.0f CPU) = %.0f ms\n",
               ms_ignore, cpu_ignore, dirs, ms_count, cpu_count, ms_sync, cpu_sync,
               ms_ignore + ms_count + ms_sync);
        watcher_free(w);
        uv_run(loop, UV_RUN_NOWAIT);
    } else {
        printf("ready %zu watches\n", watcher_watch_count(w));
        fflush(stdout);
        uv_run(loop, UV_RUN_DEFAULT);
        watcher_free(w);
    }
    ignore_free(ig);
    return 0;
}
