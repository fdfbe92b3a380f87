/* logmux: the one place every service's output goes through. Raw bytes come
 * in per (service, stream) source, either read by the mux itself from a
 * libuv stream (host processes) or fed by a caller (container log streams).
 * They leave as whole lines, each stamped when it arrived: to the terminal
 * (prefixed with the service name in a stable colour, or as JSON lines), to
 * a per-service log file that is capped and rotated, and to one listener
 * (log-line probes, the control socket). Partial lines are buffered up to a
 * cap; a longer line is cut there and continues as a new line. Memory is
 * bounded: when terminal output falls behind, the mux stops reading its
 * sources until the backlog drains (backpressure, never dropping). */
#pragma once

#include "lib/secret.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct LogMux LogMux;

enum {
    LOG_STDOUT = 1,
    LOG_STDERR = 2,
    LOG_SYSTEM = 3, /* tend's own messages about a service */
};

typedef struct LogMuxOptions {
    int out_fd;          /* terminal output, normally 1; -1 for none */
    bool color;          /* the caller decides: a tty, no NO_COLOR, no --no-color */
    bool timestamps;     /* prefix each line with its arrival time (RFC 3339, ms) */
    bool no_prefix;      /* no "service | " prefix */
    bool json;           /* {"time":..,"service":..,"stream":"stdout","line":..} per line */
    const char *log_dir; /* NULL: no files; else DIR/SERVICE.log, created on first line */
    size_t file_max;     /* bytes per log file before rotation to .1 (0: 10 MiB) */
    size_t line_max;     /* longest line kept whole (0: 64 KiB) */
    size_t backlog_max;  /* terminal bytes queued before reading pauses (0: 1 MiB) */
    /* tend run: the terminal shows only this service's output, bare: its
     * stdout lines through out_fd, its stderr lines to err_fd; tend's own
     * messages go to err_fd with their prefix; other services' output goes
     * only to files and the listener. The err_fd lines are few and written
     * at once. */
    const char *only;
    int err_fd;
    /* Secret values masked in every line, services' and tend's own, before
     * it reaches the terminal, the files or the listener (NULL: none). The
     * caller keeps it alive as long as the mux. */
    const Secrets *secrets;
} LogMuxOptions;

/* Called for every complete line, after it was written out. `line` is not
 * NUL-terminated beyond len and holds no newline. */
typedef void (*LogLineFn)(void *ud, const char *service, int stream, const char *line, size_t len,
                          int64_t time_ns);

LogMux *logmux_new(uv_loop_t *loop, const LogMuxOptions *o);
/* Flushes what can be flushed and frees. Sources must be closed first. */
void logmux_free(LogMux *m);
void logmux_set_listener(LogMux *m, LogLineFn fn, void *ud);

/* Registers a source; returns its id (>= 0). The service name is copied and
 * its colour is chosen from the name, so it is the same in every run. */
int logmux_source(LogMux *m, const char *service, int stream);
/* Takes over reading an open libuv stream (a pipe from uv_spawn) for a
 * source. At EOF the partial line is flushed, the stream is closed and
 * on_eof(ud) is called. The stream memory stays the caller's; do not free
 * it before on_eof. */
int logmux_attach(LogMux *m, int source, uv_stream_t *stream, void (*on_eof)(void *ud), void *ud);
/* Feeds bytes of a source by hand (container logs). */
void logmux_feed(LogMux *m, int source, const char *data, size_t len);
/* Emits a source's partial line, if any (the source ended). */
void logmux_flush(LogMux *m, int source);
/* A line from tend itself, shown under the service's prefix (service may be
 * NULL for project-wide messages, shown under "tend"). */
void logmux_system(LogMux *m, const char *service, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Writes bytes to the terminal output as they are (JSON event lines from
 * the manager), in order with the service lines around them. */
void logmux_raw(LogMux *m, const char *data, size_t len);
/* Bytes waiting for the terminal; for tests and the flood benchmark. */
size_t logmux_backlog(const LogMux *m);
