/* seed-parse: the pure parts of seeding, no I/O. The SQL splitter that
 * lets seed.c send a file statement by statement and map an error back to
 * its line, and the parser of Redis command files. */
#include "run/seed.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- SQL splitting ---- */

static bool is_ident(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           (unsigned char)c >= 0x80;
}

/* The length of a dollar-quote tag ("$$", "$body$") at s[i], or 0. */
static size_t dollar_tag(const char *s, size_t len, size_t i)
{
    if (i > 0 && is_ident(s[i - 1]))
        return 0; /* $1 parameters, identifiers with $ */
    size_t j = i + 1;
    if (j < len && s[j] >= '0' && s[j] <= '9')
        return 0;
    while (j < len && is_ident(s[j]) && s[j] != '$')
        j++;
    return j < len && s[j] == '$' ? j - i + 1 : 0;
}

size_t sql_split(const char *s, size_t len, SqlStmt **ret)
{
    SqlStmt *v = NULL;
    size_t n = 0, cap = 0;
    unsigned line = 1;
    size_t start = 0;
    unsigned start_line = 1;
    bool content = false;
    size_t i = 0;
    while (i <= len) {
        if (i == len || s[i] == ';') {
            if (content) {
                if (n == cap) {
                    cap = cap ? 2 * cap : 16;
                    v = xrealloc(v, cap * sizeof *v);
                }
                v[n++] = (SqlStmt){xstrndup(s + start, i - start), start_line};
            }
            i++;
            /* The next statement starts after the blanks that follow. */
            while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) {
                if (s[i] == '\n')
                    line++;
                i++;
            }
            start = i;
            start_line = line;
            content = false;
            continue;
        }
        char c = s[i];
        if (c == '\n') {
            line++;
            i++;
        } else if (c == '-' && i + 1 < len && s[i + 1] == '-') {
            while (i < len && s[i] != '\n')
                i++;
        } else if (c == '/' && i + 1 < len && s[i + 1] == '*') {
            int depth = 1;
            i += 2;
            while (i < len && depth > 0) {
                if (s[i] == '/' && i + 1 < len && s[i + 1] == '*') {
                    depth++;
                    i += 2;
                } else if (s[i] == '*' && i + 1 < len && s[i + 1] == '/') {
                    depth--;
                    i += 2;
                } else {
                    if (s[i] == '\n')
                        line++;
                    i++;
                }
            }
        } else if (c == '\'' || c == '"') {
            /* E'...' takes backslash escapes; '' and "" double the quote,
             * which the scan handles as two strings in a row. */
            bool esc = c == '\'' && i > 0 && (s[i - 1] == 'E' || s[i - 1] == 'e') &&
                       (i == 1 || !is_ident(s[i - 2]));
            content = true;
            i++;
            while (i < len && s[i] != c) {
                if (esc && s[i] == '\\' && i + 1 < len)
                    i++;
                if (s[i] == '\n')
                    line++;
                i++;
            }
            i++;
        } else if (c == '$' && dollar_tag(s, len, i)) {
            size_t t = dollar_tag(s, len, i);
            const char *tag = s + i;
            content = true;
            i += t;
            while (i < len && !(s[i] == '$' && i + t <= len && memcmp(s + i, tag, t) == 0)) {
                if (s[i] == '\n')
                    line++;
                i++;
            }
            i += t;
        } else {
            if (c != ' ' && c != '\t' && c != '\r')
                content = true;
            i++;
        }
    }
    *ret = v;
    return n;
}

void sql_stmts_free(SqlStmt *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i].text);
    free(v);
}

unsigned sql_position_line(const char *stmt, unsigned line, long position)
{
    long chars = 0;
    for (const char *p = stmt; *p && chars < position - 1; p++) {
        if (((unsigned char)*p & 0xc0) != 0x80)
            chars++;
        if (*p == '\n')
            line++;
    }
    return line;
}

/* ---- Redis command files ---- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int redis_parse(const char *s, size_t len, RedisCmd **ret, char **ret_err)
{
    RedisCmd *v = NULL;
    size_t n = 0, cap = 0;
    unsigned line = 1;
    size_t i = 0;
    StrBuf w;
    strbuf_init(&w, 0);
    while (i < len) {
        StrVec argv = {0};
        unsigned this_line = line;
        for (;;) {
            while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r'))
                i++;
            if (i >= len || s[i] == '\n')
                break;
            if (s[i] == '#') {
                while (i < len && s[i] != '\n')
                    i++;
                break;
            }
            strbuf_reset(&w);
            bool any = false;
            while (i < len && s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n') {
                char c = s[i];
                any = true;
                if (c == '\'') {
                    size_t j = i + 1;
                    while (j < len && s[j] != '\'' && s[j] != '\n')
                        j++;
                    if (j >= len || s[j] != '\'')
                        goto unterminated;
                    strbuf_append(&w, s + i + 1, j - i - 1);
                    i = j + 1;
                } else if (c == '"') {
                    i++;
                    while (i < len && s[i] != '"' && s[i] != '\n') {
                        char d = s[i];
                        if (d == '\\' && i + 1 < len) {
                            char e = s[++i];
                            switch (e) {
                            case 'n': d = '\n'; break;
                            case 'r': d = '\r'; break;
                            case 't': d = '\t'; break;
                            case 'a': d = '\a'; break;
                            case 'b': d = '\b'; break;
                            case 'x':
                                if (i + 2 < len && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
                                    d = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
                                    i += 2;
                                } else {
                                    d = 'x';
                                }
                                break;
                            default: d = e; break;
                            }
                        }
                        strbuf_putc(&w, d);
                        i++;
                    }
                    if (i >= len || s[i] != '"')
                        goto unterminated;
                    i++;
                } else if (c == '\\' && i + 1 < len && s[i + 1] != '\n') {
                    strbuf_putc(&w, s[i + 1]);
                    i += 2;
                } else {
                    strbuf_putc(&w, c);
                    i++;
                }
            }
            if (any)
                strvec_push(&argv, w.data ? w.data : "");
        }
        if (i < len && s[i] == '\n') {
            line++;
            i++;
        }
        if (argv.n) {
            if (n == cap) {
                cap = cap ? 2 * cap : 16;
                v = xrealloc(v, cap * sizeof *v);
            }
            v[n++] = (RedisCmd){argv, this_line};
        }
        continue;
    unterminated:
        strvec_free(&argv);
        strbuf_free(&w);
        redis_cmds_free(v, n);
        *ret_err = xasprintf("line %u: unterminated quote", line);
        return -EINVAL;
    }
    strbuf_free(&w);
    *ret = v;
    return (int)n;
}

void redis_cmds_free(RedisCmd *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        strvec_free(&v[i].argv);
    free(v);
}
