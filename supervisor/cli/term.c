/* term: this process's side of an interactive session (tend exec, tend
 * run). stdin is read as whatever it is (a terminal, a pipe or socket, a
 * file) and handed on; a terminal is put in raw mode, so keys such as
 * Ctrl-C reach the command instead of tend, and restored at the end; the
 * terminal's size is reported at the start and on every SIGWINCH. */
#include "cli/cli.h"
#include "engine/attach.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define FILE_CHUNK 65536

struct CliTerm {
    uv_loop_t *loop;
    CliTermCbs cb;
    void *ud;
    union {
        uv_tty_t tty;
        uv_pipe_t pipe;
    } in;
    bool in_open;      /* in is a handle (tty or pipe) */
    bool raw;
    bool pipe_flags_saved;
    int pipe_flags;    /* stdin's file status flags, restored at the end */
    uv_fs_t fs;        /* a file: reads on the thread pool */
    bool fs_busy;
    char *fs_buf;
    uv_signal_t winch;
    bool winch_open;
    bool stopped;
    bool eof_told;
    int handles;       /* open handles; freed when the last one closed */
};

static void term_maybe_free(CliTerm *t)
{
    if (t->stopped && t->handles == 0 && !t->fs_busy) {
        free(t->fs_buf);
        free(t);
    }
}

static void on_handle_closed(uv_handle_t *h)
{
    CliTerm *t = h->data;
    t->handles--;
    term_maybe_free(t);
}

static void tell_eof(CliTerm *t)
{
    if (t->eof_told || t->stopped)
        return;
    t->eof_told = true;
    if (t->cb.eof)
        t->cb.eof(t->ud);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    buf->base = xmalloc(suggested);
    buf->len = suggested;
}

static void on_stream_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    CliTerm *t = s->data;
    if (n > 0 && !t->stopped && t->cb.input)
        t->cb.input(t->ud, buf->base, (size_t)n);
    else if (n < 0) {
        uv_read_stop(s);
        tell_eof(t);
    }
    free(buf->base);
}

static void file_read_next(CliTerm *t);

static void on_file_read(uv_fs_t *req)
{
    CliTerm *t = req->data;
    ssize_t n = req->result;
    uv_fs_req_cleanup(req);
    t->fs_busy = false;
    if (t->stopped) {
        term_maybe_free(t);
        return;
    }
    if (n > 0) {
        if (t->cb.input)
            t->cb.input(t->ud, t->fs_buf, (size_t)n);
        file_read_next(t);
    } else {
        tell_eof(t);
    }
}

static void file_read_next(CliTerm *t)
{
    if (t->stopped)
        return;
    uv_buf_t b = uv_buf_init(t->fs_buf, FILE_CHUNK);
    t->fs.data = t;
    if (uv_fs_read(t->loop, &t->fs, STDIN_FILENO, &b, 1, -1, on_file_read) == 0)
        t->fs_busy = true;
    else
        tell_eof(t);
}

void cli_term_size(int *ret_w, int *ret_h)
{
    struct winsize ws = {0};
    *ret_w = *ret_h = 0;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 || ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0) {
        *ret_w = ws.ws_col;
        *ret_h = ws.ws_row;
    }
}

void cli_term_resize(CliTerm *t)
{
    int w, h;
    cli_term_size(&w, &h);
    if (w > 0 && h > 0 && t->cb.resize && !t->stopped)
        t->cb.resize(t->ud, w, h);
}

static void on_winch(uv_signal_t *s, int sig)
{
    (void)sig;
    cli_term_resize(s->data);
}

CliTerm *cli_term_start(uv_loop_t *loop, bool read_stdin, bool tty, const CliTermCbs *cbs, void *ud)
{
    CliTerm *t = xcalloc(1, sizeof *t);
    t->loop = loop;
    t->cb = *cbs;
    t->ud = ud;
    if (tty) {
        uv_signal_init(loop, &t->winch);
        t->winch.data = t;
        t->winch_open = true;
        t->handles++;
        uv_signal_start(&t->winch, on_winch, SIGWINCH);
    }
    if (!read_stdin)
        return t;
    uv_handle_type kind = uv_guess_handle(STDIN_FILENO);
    if (kind == UV_TTY && uv_tty_init(loop, &t->in.tty, STDIN_FILENO, 1) == 0) {
        t->in.tty.data = t;
        t->in_open = true;
        t->handles++;
        /* raw only for a terminal session: keys go to the command as typed */
        if (tty)
            t->raw = uv_tty_set_mode(&t->in.tty, UV_TTY_MODE_RAW) == 0;
        uv_read_start((uv_stream_t *)&t->in.tty, on_alloc, on_stream_read);
    } else if (kind == UV_NAMED_PIPE || kind == UV_TCP || kind == UV_UDP) {
        int fl = fcntl(STDIN_FILENO, F_GETFL);
        uv_pipe_init(loop, &t->in.pipe, 0);
        t->in.pipe.data = t;
        t->in_open = true;
        t->handles++;
        if (uv_pipe_open(&t->in.pipe, STDIN_FILENO) == 0) {
            t->pipe_flags_saved = fl >= 0;
            t->pipe_flags = fl;
            uv_read_start((uv_stream_t *)&t->in.pipe, on_alloc, on_stream_read);
        } else {
            t->eof_told = true; /* nothing to read: the command's stdin closes */
        }
    } else {
        t->fs_buf = xmalloc(FILE_CHUNK);
        file_read_next(t);
    }
    return t;
}

void cli_term_restore(CliTerm *t)
{
    if (t && t->raw) {
        uv_tty_reset_mode();
        t->raw = false;
    }
}

void cli_term_stop(CliTerm *t)
{
    if (!t || t->stopped)
        return;
    cli_term_restore(t);
    t->stopped = true;
    if (t->in_open) {
        /* uv_pipe_open made stdin non-blocking; the shell expects it back */
        if (t->pipe_flags_saved)
            (void)fcntl(STDIN_FILENO, F_SETFL, t->pipe_flags);
        uv_close((uv_handle_t *)&t->in, on_handle_closed);
    }
    if (t->winch_open)
        uv_close((uv_handle_t *)&t->winch, on_handle_closed);
    term_maybe_free(t);
}

/* ---- a session: an engine attachment and this terminal ---- */

struct CliSession {
    Engine *e;
    uv_loop_t *loop;
    EngineAttach *att;
    CliTerm *term;
    char *resize_path;
    EngineReq *resizing; /* the resize in flight: one at a time, in order */
    int want_w, want_h;  /* the size to send once it is answered (0: none) */
    bool tty, interactive;
    void (*upgraded)(void *ud);
    void *ud;
    bool done;
    char *err;
};

static void ses_output(void *ud, int stream, const char *p, size_t n)
{
    (void)ud;
    write_fully(stream == 2 ? STDERR_FILENO : STDOUT_FILENO, p, n);
}

static void ses_input(void *ud, const char *p, size_t n)
{
    CliSession *s = ud;
    if (s->att)
        engine_attach_write(s->att, p, n);
}

/* The end of piped input closes the command's stdin. A terminal's end
 * does not: in raw mode Ctrl-D reaches the command as a key, and an end
 * read before raw mode was set (input typed ahead) would close the
 * container's terminal with the output still to come. */
static void ses_eof(void *ud)
{
    CliSession *s = ud;
    if (s->att && !s->tty)
        engine_attach_close_write(s->att);
}

static void send_resize(CliSession *s);

/* Resizes go one at a time: two in flight on two connections could be
 * carried out in the other order, leaving the container's terminal at the
 * older size. A size asked for meanwhile goes next (the latest only). */
static void on_resized(void *ud, int status, json_t *body, const char *err)
{
    (void)status, (void)body, (void)err;
    CliSession *s = ud;
    s->resizing = NULL;
    if (s->want_w > 0)
        send_resize(s);
}

static void send_resize(CliSession *s)
{
    _cleanup_free_ char *path = xasprintf("%s?h=%d&w=%d", s->resize_path, s->want_h, s->want_w);
    s->want_w = s->want_h = 0;
    s->resizing = engine_request(s->e, "POST", path, NULL, on_resized, s);
}

static void ses_resize(void *ud, int w, int h)
{
    CliSession *s = ud;
    if (!s->resize_path)
        return;
    s->want_w = w;
    s->want_h = h;
    if (!s->resizing)
        send_resize(s);
}

static void ses_upgraded(void *ud)
{
    CliSession *s = ud;
    static const CliTermCbs cbs = {ses_input, ses_eof, ses_resize};
    if (s->interactive || s->tty)
        s->term = cli_term_start(s->loop, s->interactive, s->tty, &cbs, s);
    if (s->upgraded)
        s->upgraded(s->ud);
    else if (s->term)
        cli_term_resize(s->term); /* an exec runs from the upgrade on */
}

static void ses_closed(void *ud, const char *err)
{
    CliSession *s = ud;
    s->att = NULL;
    cli_term_stop(s->term);
    s->term = NULL;
    s->done = true;
    if (err)
        s->err = xstrdup(err);
}

CliSession *cli_session_start(Engine *e, uv_loop_t *loop, const char *path, const char *body,
                              const char *resize_path, bool tty, bool interactive,
                              void (*upgraded)(void *ud), void *ud, char **ret_err)
{
    CliSession *s = xcalloc(1, sizeof *s);
    s->e = e;
    s->loop = loop;
    s->tty = tty;
    s->interactive = interactive;
    s->upgraded = upgraded;
    s->ud = ud;
    s->resize_path = resize_path ? xstrdup(resize_path) : NULL;
    static const EngineAttachCbs cbs = {ses_upgraded, ses_output, ses_closed};
    s->att = engine_attach(e, loop, path, body, tty, &cbs, s, ret_err);
    if (!s->att) {
        free(s->resize_path);
        free(s);
        return NULL;
    }
    return s;
}

void cli_session_resize(CliSession *s)
{
    if (s->term)
        cli_term_resize(s->term);
}

bool cli_session_done(const CliSession *s)
{
    return s->done;
}

const bool *cli_session_done_flag(const CliSession *s)
{
    return &s->done;
}

const char *cli_session_error(const CliSession *s)
{
    return s->err;
}

void cli_session_free(CliSession *s)
{
    if (!s)
        return;
    cli_term_stop(s->term);
    engine_attach_free(s->att);
    if (s->resizing)
        engine_cancel(s->resizing);
    free(s->resize_path);
    free(s->err);
    free(s);
}
