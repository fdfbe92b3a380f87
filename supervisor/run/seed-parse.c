/* seed-parse: the pure parts of seeding, no I/O. SHA-256 for the step
 * checksums (FIPS 180-4; tend links no crypto library), the SQL splitter
 * that lets seed.c send a file statement by statement and map an error
 * back to its line, and the parser of Redis command files. */
#include "run/seed.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- SHA-256 (FIPS 180-4) ---- */

static const uint32_t sha_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha256_block(Sha256 *c, const unsigned char *p)
{
    uint32_t w[64];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 |
               p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = c->h[0], b = c->h[1], cc = c->h[2], d = c->h[3], e = c->h[4], f = c->h[5], g = c->h[6],
             h = c->h[7];
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = h + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) + sha_k[i] + w[i];
        uint32_t t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & cc) ^ (b & cc));
        h = g;
        g = f;
        f = e;
        e = d + t1;
        d = cc;
        cc = b;
        b = a;
        a = t1 + t2;
    }
    c->h[0] += a;
    c->h[1] += b;
    c->h[2] += cc;
    c->h[3] += d;
    c->h[4] += e;
    c->h[5] += f;
    c->h[6] += g;
    c->h[7] += h;
}

void sha256_init(Sha256 *c)
{
    static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    memcpy(c->h, iv, sizeof iv);
    c->len = 0;
    c->n = 0;
}

void sha256_update(Sha256 *c, const void *data, size_t len)
{
    const unsigned char *p = data;
    c->len += len;
    while (len > 0) {
        size_t k = 64 - c->n < len ? 64 - c->n : len;
        memcpy(c->buf + c->n, p, k);
        c->n += k;
        p += k;
        len -= k;
        if (c->n == 64) {
            sha256_block(c, c->buf);
            c->n = 0;
        }
    }
}

void sha256_hex(Sha256 *c, char out[65])
{
    uint64_t bits = c->len * 8;
    unsigned char pad = 0x80;
    sha256_update(c, &pad, 1);
    unsigned char zero = 0;
    while (c->n != 56)
        sha256_update(c, &zero, 1);
    unsigned char l[8];
    for (int i = 0; i < 8; i++)
        l[i] = (unsigned char)(bits >> (56 - 8 * i));
    sha256_update(c, l, 8);
    for (int i = 0; i < 8; i++)
        snprintf(out + 8 * i, 9, "%08x", c->h[i]);
}

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
