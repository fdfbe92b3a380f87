/* dotenv: reads the `.env` / `--env-file` format the way Compose's dotenv
 * parser does. One statement per line (a quoted value may run over several
 * lines): `[export] KEY = VALUE`, or a bare `KEY`, which copies the variable
 * from the shell environment when it is set there. Values are interpolated
 * against the entries of this file read so far, then the shell environment,
 * so `URL=http://${HOST}:${PORT:-80}` works after HOST was set above it.
 * Errors carry file:line:col and do not stop the parse, except an
 * unterminated quote, after which nothing can be trusted. */
#include "load/dotenv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* .env files are small; anything bigger is a mistake worth refusing. */
#define DOTENV_MAX_SIZE ((size_t)16 << 20)

typedef struct Parser {
    const char *file;
    const char *s;
    size_t len;
    size_t i;          /* read position */
    int line;          /* 1-based line of s[i] */
    size_t line_start; /* offset of that line's first byte */
    EnvLookupFn lookup;
    void *ud;
    Env local; /* entries of this file, looked up before `lookup` */
    Env *out;
    Diag *d;
    size_t errors;
} Parser;

static Loc here(const Parser *p)
{
    return (Loc){.file = p->file, .line = p->line, .col = (int)(p->i - p->line_start + 1)};
}

static bool at_end(const Parser *p)
{
    return p->i >= p->len;
}

static char cur(const Parser *p)
{
    return p->i < p->len ? p->s[p->i] : '\0';
}

static void advance(Parser *p)
{
    if (p->s[p->i] == '\n') {
        p->line++;
        p->line_start = p->i + 1;
    }
    p->i++;
}

/* Whitespace inside a line; `\r` counts so CRLF files read like LF ones. */
static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static void skip_blanks(Parser *p)
{
    while (!at_end(p) && is_blank(cur(p)))
        advance(p);
}

/* Moves to the start of the next line. */
static void skip_line(Parser *p)
{
    while (!at_end(p) && cur(p) != '\n')
        advance(p);
    if (!at_end(p))
        advance(p);
}

/* [A-Za-z_][A-Za-z0-9_.-]*, checked on the bytes so an embedded NUL fails. */
static bool valid_key(const char *k, size_t n)
{
    if (n == 0 || !((k[0] >= 'A' && k[0] <= 'Z') || (k[0] >= 'a' && k[0] <= 'z') || k[0] == '_'))
        return false;
    for (size_t i = 1; i < n; i++) {
        char c = k[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return false;
    }
    return true;
}

static void error_at(Parser *p, const Loc *loc, const char *msg)
{
    diag_error(p->d, loc, "%s", msg);
    p->errors++;
}

/* The lookup interpolation sees: this file first, then the caller's. */
static const char *chain_lookup(void *ud, const char *name)
{
    Parser *p = ud;
    if (env_has(&p->local, name))
        return env_get(&p->local, name);
    return p->lookup ? p->lookup(p->ud, name) : NULL;
}

static void set_entry(Parser *p, const char *key, const char *val)
{
    env_set(&p->local, key, val);
    env_set(p->out, key, val);
}

/* Reads a single-quoted value starting at the quote: everything up to the
 * next `'`, newlines included, with no escapes. False when unterminated. */
static bool read_single(Parser *p, StrBuf *raw)
{
    advance(p);
    size_t start = p->i;
    while (!at_end(p) && cur(p) != '\'')
        advance(p);
    if (at_end(p))
        return false;
    strbuf_append(raw, p->s + start, p->i - start);
    advance(p);
    return true;
}

/* Reads a double-quoted value starting at the quote, resolving escapes.
 * `\$` becomes `$$` so that the interpolation that follows yields a literal
 * dollar; an unknown escape is kept with its backslash. False when
 * unterminated. */
static bool read_double(Parser *p, StrBuf *raw)
{
    advance(p);
    while (!at_end(p) && cur(p) != '"') {
        char c = cur(p);
        if (c == '\\' && p->i + 1 < p->len) {
            char e = p->s[p->i + 1];
            const char *rep = NULL;
            switch (e) {
            case 'n':
                rep = "\n";
                break;
            case 't':
                rep = "\t";
                break;
            case 'r':
                rep = "\r";
                break;
            case '\\':
                rep = "\\";
                break;
            case '"':
                rep = "\"";
                break;
            case '\'':
                rep = "'";
                break;
            case '$':
                rep = "$$";
                break;
            }
            if (rep) {
                strbuf_puts(raw, rep);
                advance(p);
                advance(p);
                continue;
            }
        }
        strbuf_putc(raw, c);
        advance(p);
    }
    if (at_end(p))
        return false;
    advance(p);
    return true;
}

/* Reads an unquoted value to the end of the line. A `#` after a blank starts
 * a comment (`A=b #c` is "b", `A=b#c` is "b#c"); trailing blanks go. */
static void read_unquoted(Parser *p, StrBuf *raw)
{
    size_t start = p->i;
    while (!at_end(p) && cur(p) != '\n') {
        /* s[start - 1] is the `=` or a blank after it, so this is safe. */
        if (cur(p) == '#' && (p->s[p->i - 1] == ' ' || p->s[p->i - 1] == '\t'))
            break;
        advance(p);
    }
    size_t end = p->i;
    while (end > start && is_blank(p->s[end - 1]))
        end--;
    strbuf_append(raw, p->s + start, end - start);
    skip_line(p);
}

/* Parses one statement starting at a non-blank, non-comment byte. Returns
 * false when parsing cannot go on. */
static bool parse_statement(Parser *p)
{
    if (p->len - p->i > 6 && memcmp(p->s + p->i, "export", 6) == 0 &&
        (p->s[p->i + 6] == ' ' || p->s[p->i + 6] == '\t')) {
        for (int k = 0; k < 6; k++)
            advance(p);
        skip_blanks(p);
    }

    Loc key_loc = here(p);
    size_t kstart = p->i;
    while (!at_end(p) && cur(p) != '=' && cur(p) != '\n')
        advance(p);
    size_t kend = p->i;
    while (kend > kstart && is_blank(p->s[kend - 1]))
        kend--;
    _cleanup_free_ char *key = xstrndup(p->s + kstart, kend - kstart);
    if (!valid_key(p->s + kstart, kend - kstart)) {
        _cleanup_free_ char *msg = xasprintf("invalid variable name \"%s\"", key);
        error_at(p, &key_loc, msg);
        skip_line(p);
        return true;
    }

    if (cur(p) != '=') {
        /* A bare KEY takes the value the environment has, if any. */
        const char *v = p->lookup ? p->lookup(p->ud, key) : NULL;
        if (v)
            set_entry(p, key, v);
        skip_line(p);
        return true;
    }
    advance(p);
    while (!at_end(p) && (cur(p) == ' ' || cur(p) == '\t'))
        advance(p);

    Loc val_loc = here(p);
    StrBuf raw;
    strbuf_init(&raw, 0);
    char q = cur(p);
    bool interpolate = q != '\'';
    if (q == '\'' || q == '"') {
        if (!(q == '\'' ? read_single(p, &raw) : read_double(p, &raw))) {
            error_at(p, &val_loc, "unterminated quoted value");
            strbuf_free(&raw);
            return false;
        }
        /* Only blanks or a comment may follow the closing quote. */
        skip_blanks(p);
        if (!at_end(p) && cur(p) != '\n' && cur(p) != '#') {
            Loc loc = here(p);
            error_at(p, &loc, "unexpected text after quoted value");
            strbuf_free(&raw);
            skip_line(p);
            return true;
        }
        skip_line(p);
    } else {
        read_unquoted(p, &raw);
    }

    _cleanup_free_ char *val = strbuf_steal(&raw);
    if (interpolate && strchr(val, '$')) {
        _cleanup_free_ char *res = NULL, *err = NULL;
        if (interp_string(val, chain_lookup, p, &res, &err) < 0) {
            error_at(p, &val_loc, err);
            return true;
        }
        set_entry(p, key, res);
    } else {
        set_entry(p, key, val);
    }
    return true;
}

int dotenv_parse(const char *file, const char *data, size_t len, EnvLookupFn lookup, void *ud,
                 Env *out, Diag *d)
{
    Parser p = {
        .file = file,
        .s = data,
        .len = len,
        .line = 1,
        .lookup = lookup,
        .ud = ud,
        .out = out,
        .d = d,
    };
    while (!at_end(&p)) {
        skip_blanks(&p);
        if (at_end(&p))
            break;
        char c = cur(&p);
        if (c == '\n') {
            advance(&p);
        } else if (c == '#') {
            skip_line(&p);
        } else if (!parse_statement(&p)) {
            break;
        }
    }
    env_free(&p.local);
    return p.errors ? -EINVAL : 0;
}

int dotenv_load(const char *path, EnvLookupFn lookup, void *ud, Env *out, Diag *d)
{
    _cleanup_free_ char *data = NULL;
    size_t len = 0;
    int r = read_file(path, DOTENV_MAX_SIZE, &data, &len);
    if (r == -ENOENT)
        return r;
    if (r < 0) {
        Loc loc = {.file = path};
        diag_error(d, &loc, "cannot read %s: %s", path, strerror(-r));
        return r;
    }
    return dotenv_parse(path, data, len, lookup, ud, out, d);
}
