/* schema-walk: the machinery of the Compose schema check, shared by
 * schema.c (the keys tend runs, x-tend) and schema-compose.c (the Compose
 * keys tend accepts without running): the dotted path and the messages,
 * "did you mean" suggestions, the walk of a mapping against a table of
 * fields, and the types and formats of single values, read as compose
 * reads YAML. See load/schema-int.h. */
#include "load/schema.h"

#include "load/schema-int.h"

#include "load/parse.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- paths and messages ---- */

/* Keys that would make the dotted path ambiguous are written in quotes. */
static bool key_needs_quotes(const char *k)
{
    if (!*k)
        return true;
    for (const char *p = k; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-')
            return true;
    return false;
}

size_t schema__path_push_key(Ctx *c, const char *key)
{
    size_t old = c->path.len;
    if (c->path.len)
        strbuf_putc(&c->path, '.');
    if (key_needs_quotes(key))
        strbuf_printf(&c->path, "\"%s\"", key);
    else
        strbuf_puts(&c->path, key);
    return old;
}

size_t schema__path_push_index(Ctx *c, size_t i)
{
    /* Written by hand: strbuf_printf allocates, and every list item of a
     * big file comes through here. */
    char buf[24], *p = buf + sizeof(buf);
    *--p = '\0';
    *--p = ']';
    do {
        *--p = (char)('0' + i % 10);
        i /= 10;
    } while (i);
    *--p = '[';
    size_t old = c->path.len;
    strbuf_puts(&c->path, p);
    return old;
}

void schema__path_pop(Ctx *c, size_t old)
{
    if (c->path.data && old <= c->path.len) {
        c->path.len = old;
        c->path.data[old] = '\0';
    }
}

static const char *schema__path_str(const Ctx *c)
{
    return c->path.data ? c->path.data : "";
}

void schema__err(Ctx *c, const Node *n, const char *fmt, ...) _printf_(3, 4);
void schema__err(Ctx *c, const Node *n, const char *fmt, ...)
{
    if (c->mode == SCHEMA_MERGED)
        return; /* its files were checked one by one */
    va_list ap;
    va_start(ap, fmt);
    _cleanup_free_ char *msg = xvasprintf(fmt, ap);
    va_end(ap);
    const Loc *loc = n ? &n->loc : NULL;
    if (c->path.len)
        diag_error(c->d, loc, "%s: %s", schema__path_str(c), msg);
    else
        diag_error(c->d, loc, "%s", msg);
    c->errors++;
}

/* The value's type in messages. node.h says "a list"; the schema speaks of
 * YAML sequences, as the Compose documentation does. */
const char *schema__kind_name(const Node *n)
{
    switch (schema__type(n)) {
    case T_NULL:
        return "null";
    case T_BOOL:
        return "a boolean";
    case T_INT:
    case T_FLOAT:
        return "a number";
    case T_MAP:
        return "a mapping";
    case T_SEQ:
        return "a list";
    default:
        return "a string";
    }
}

/* "a, b or c" for messages listing the allowed values. */
static char *join_or(const char *const *v)
{
    StrBuf b;
    strbuf_init(&b, 0);
    size_t n = 0;
    while (v[n])
        n++;
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            strbuf_puts(&b, i + 1 == n ? " or " : ", ");
        strbuf_puts(&b, v[i]);
    }
    return strbuf_steal(&b);
}

/* ---- suggestions ---- */

static char *lower_dup(const char *s)
{
    char *r = xstrdup(s);
    for (char *p = r; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return r;
}

const char *schema_suggest(const char *word, const char *const *candidates)
{
    if (!word || !candidates)
        return NULL;
    _cleanup_free_ char *w = lower_dup(word);
    size_t len = strlen(w);
    /* A third of the word, but at least 1; rounding up lets a swap of two
     * letters (distance 2) in a five-letter key through. */
    size_t threshold = (len + 2) / 3;
    if (threshold < 1)
        threshold = 1;
    const char *best = NULL;
    size_t best_d = SIZE_MAX;
    for (size_t i = 0; candidates[i]; i++) {
        _cleanup_free_ char *cand = lower_dup(candidates[i]);
        size_t d = edit_distance(w, cand);
        if (d <= threshold && d < strlen(cand) && d < best_d) {
            best = candidates[i];
            best_d = d;
        }
    }
    return best;
}

static void unknown_key(Ctx *c, const Node *key, const Field *fields, size_t n)
{
    _cleanup_free_ const char **cands = xcalloc(n + 1, sizeof(char *));
    for (size_t i = 0; i < n; i++)
        cands[i] = fields[i].name;
    const char *s = schema_suggest(key->str, cands);
    const char *where = c->path.len ? "unknown key" : "unknown top-level key";
    if (s)
        schema__err(c, key, "%s \"%s\"; did you mean \"%s\"?", where, key->str, s);
    else
        schema__err(c, key, "%s \"%s\"", where, key->str);
}

/* ---- the generic mapping walk ---- */

bool schema__is_reset(const Node *n)
{
    return n && n->tag && streq(n->tag, "!reset");
}

static const Field *field_find(const Field *fields, size_t n, const char *name)
{
    /* The first letter first: a service table has about a hundred keys. */
    for (size_t i = 0; i < n; i++)
        if (fields[i].name[0] == name[0] && streq(fields[i].name, name))
            return &fields[i];
    return NULL;
}

/* Checks every entry of mapping `m` against `fields`, then the required
 * keys. Extension keys ("x-...") not in the table pass unchecked. */
static void check_fields_ext(Ctx *c, const Node *m, const Field *fields, size_t n, bool ext_ok)
{
    for (size_t i = 0; i < m->len; i++) {
        const Node *k = m->keys[i];
        const Field *f = field_find(fields, n, k->str);
        if (!f) {
            if (!ext_ok || !str_startswith(k->str, "x-"))
                unknown_key(c, k, fields, n);
            continue;
        }
        size_t old = schema__path_push_key(c, k->str);
        if (f->flags & F_IGNORED && c->ignored)
            strvec_push(c->ignored, schema__path_str(c));
        const Node *v = m->vals[i];
        if (!schema__is_reset(v) && (!f->types || schema__want_types(c, v, f->types)) && f->check)
            f->check(c, v);
        schema__path_pop(c, old);
    }
    for (size_t i = 0; i < n; i++) {
        bool merged = fields[i].flags & F_MERGED;
        bool want = c->mode == SCHEMA_ALL || (c->mode == SCHEMA_FILE ? !merged : merged);
        if (want && fields[i].flags & (F_REQUIRED | F_MERGED) && node_index(m, fields[i].name) < 0) {
            SchemaMode mode = c->mode;
            c->mode = SCHEMA_ALL;
            schema__err(c, m, "missing required key \"%s\"", fields[i].name);
            c->mode = mode;
        }
    }
}

void schema__check_fields(Ctx *c, const Node *m, const Field *fields, size_t n)
{
    check_fields_ext(c, m, fields, n, true);
}

void schema__check_fields_no_ext(Ctx *c, const Node *m, const Field *fields, size_t n)
{
    check_fields_ext(c, m, fields, n, false);
}

void schema__check_items(Ctx *c, const Node *n, CheckFn check, unsigned types)
{
    if (!schema__want_seq(c, n))
        return;
    for (size_t i = 0; i < n->len; i++) {
        size_t old = schema__path_push_index(c, i);
        if ((!types || schema__want_types(c, n->vals[i], types)) && check)
            check(c, n->vals[i]);
        schema__path_pop(c, old);
    }
}

/* ---- basic types ---- */

bool schema__want_map(Ctx *c, const Node *n)
{
    if (n && n->kind == NODE_MAP)
        return true;
    schema__err(c, n, "must be a mapping, not %s", schema__kind_name(n));
    return false;
}

bool schema__want_seq(Ctx *c, const Node *n)
{
    if (n && n->kind == NODE_SEQ)
        return true;
    schema__err(c, n, "must be a list, not %s", schema__kind_name(n));
    return false;
}

/* Go's strconv.ParseInt with base 0, as yaml.v3 tries it: decimal, 0x, 0o,
 * 0b and a leading-zero octal, with an optional sign. */
static bool yaml_int_text(const char *s)
{
    if (*s == '-' || *s == '+')
        s++;
    const char *digits = "0123456789";
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        digits = "0123456789abcdefABCDEF";
        s += 2;
    } else if (s[0] == '0' && (s[1] == 'o' || s[1] == 'O')) {
        digits = "01234567";
        s += 2;
    } else if (s[0] == '0' && (s[1] == 'b' || s[1] == 'B')) {
        digits = "01";
        s += 2;
    }
    if (!*s)
        return false;
    for (; *s; s++)
        if (!strchr(digits, *s) && *s != '_')
            return false;
    return true;
}

unsigned schema__type(const Node *n)
{
    static const char *const bools[] = {"true", "True", "TRUE", "false", "False", "FALSE"};
    if (!n || n->kind == NODE_NULL)
        return T_NULL;
    if (n->kind == NODE_MAP)
        return T_MAP;
    if (n->kind == NODE_SEQ)
        return T_SEQ;
    if (n->interpolated || n->style != STYLE_PLAIN)
        return T_STRING;
    if (node_is_null(n))
        return T_NULL;
    for (size_t i = 0; i < ARRAY_SIZE(bools); i++)
        if (streq(n->str, bools[i]))
            return T_BOOL;
    if (yaml_int_text(n->str))
        return T_INT;
    if (node_is_number(n))
        return T_FLOAT;
    return T_STRING;
}

/* "a string, a number or a list" for the types of a mask. */
static char *types_text(unsigned types)
{
    const char *names[8];
    size_t n = 0;
    if (types & T_STRING)
        names[n++] = "a string";
    if ((types & T_NUMBER) == T_NUMBER)
        names[n++] = "a number";
    else if (types & T_INT)
        names[n++] = "an integer";
    if (types & T_BOOL)
        names[n++] = "a boolean";
    if (types & T_MAP)
        names[n++] = "a mapping";
    if (types & T_SEQ)
        names[n++] = "a list";
    if (types & T_NULL)
        names[n++] = "null";
    names[n] = NULL;
    StrBuf b;
    strbuf_init(&b, 0);
    for (size_t i = 0; i < n; i++)
        strbuf_printf(&b, "%s%s", i == 0 ? "" : i + 1 == n ? " or " : ", ", names[i]);
    return strbuf_steal(&b);
}

bool schema__want_types(Ctx *c, const Node *n, unsigned types)
{
    unsigned t = schema__type(n);
    if (t & types)
        return true;
    _cleanup_free_ char *want = types_text(types);
    /* A number or a boolean where text is wanted: the fix is quotes. */
    if ((types & (T_STRING | T_NUMBER | T_BOOL)) == T_STRING && t & (T_NUMBER | T_BOOL))
        schema__err(c, n, "must be %s, not %s (quote it: \"%s\")", want, schema__kind_name(n),
                    n->str);
    else
        schema__err(c, n, "must be %s, not %s", want, schema__kind_name(n));
    return false;
}

/* Text, as compose reads it: `1000`, `true` and an empty value are not text
 * (they are an integer, a boolean and null); "1000", `yes` and ${UID} are. */
bool schema__want_string(Ctx *c, const Node *n)
{
    return schema__want_types(c, n, T_STRING);
}

/* Any non-null scalar, for tend's own x-tend keys: a port or a password
 * may be written as a number there. */
bool schema__want_text(Ctx *c, const Node *n)
{
    if (node_is_scalar(n))
        return true;
    schema__err(c, n, "must be a string, not %s", schema__kind_name(n));
    return false;
}

void schema__check_text(Ctx *c, const Node *n)
{
    schema__want_text(c, n);
}

void schema__check_string(Ctx *c, const Node *n)
{
    schema__want_string(c, n);
}

void schema__check_scalar(Ctx *c, const Node *n)
{
    if (!node_is_scalar(n))
        schema__err(c, n, "must be a string or a number, not %s", schema__kind_name(n));
}

void schema__check_bool(Ctx *c, const Node *n)
{
    bool b;
    if (node_as_bool(n, &b) < 0)
        schema__err(c, n, "must be a boolean, not %s", schema__kind_name(n));
}

/* An integer written as a number or a numeric string. */
bool schema__want_int(Ctx *c, const Node *n, long long *ret)
{
    if (!node_is_scalar(n)) {
        schema__err(c, n, "must be an integer, not %s", schema__kind_name(n));
        return false;
    }
    int r = node_as_int(n, ret);
    if (r == -ERANGE) {
        schema__err(c, n, "integer \"%s\" out of range", n->str);
        return false;
    }
    if (r < 0) {
        if (node_is_number(n))
            schema__err(c, n, "must be an integer, not \"%s\"", n->str);
        else
            schema__err(c, n, "must be an integer, not %s", schema__kind_name(n));
        return false;
    }
    return true;
}

void schema__check_int(Ctx *c, const Node *n)
{
    long long v;
    schema__want_int(c, n, &v);
}

void schema__check_int_min(Ctx *c, const Node *n, long long min)
{
    long long v;
    if (schema__want_int(c, n, &v) && v < min)
        schema__err(c, n, "must be %lld or more, not %lld", min, v);
}

void schema__check_int_nonneg(Ctx *c, const Node *n)
{
    schema__check_int_min(c, n, 0);
}

void schema__check_int_positive(Ctx *c, const Node *n)
{
    schema__check_int_min(c, n, 1);
}

void schema__check_number(Ctx *c, const Node *n)
{
    if (!node_is_scalar(n)) {
        schema__err(c, n, "must be a number, not %s", schema__kind_name(n));
        return;
    }
    char *end;
    errno = 0;
    strtod(n->str, &end);
    if (!*n->str || *end || errno == ERANGE || isspace((unsigned char)*n->str))
        schema__err(c, n, "invalid number \"%s\"", n->str);
}

void schema__check_port_int(Ctx *c, const Node *n)
{
    long long v;
    if (schema__want_int(c, n, &v) && (v < 1 || v > 65535))
        schema__err(c, n, "invalid port %lld (expected 1-65535)", v);
}

void schema__check_duration(Ctx *c, const Node *n)
{
    if (!schema__want_string(c, n))
        return;
    int64_t ns;
    if (duration_parse(n->str, &ns) < 0)
        schema__err(c, n, "invalid duration \"%s\"", n->str);
}

void schema__check_size(Ctx *c, const Node *n)
{
    if (!node_is_scalar(n)) {
        schema__err(c, n, "must be a string or a number, not %s", schema__kind_name(n));
        return;
    }
    int64_t b;
    if (bytes_parse(n->str, &b) < 0)
        schema__err(c, n, "invalid size \"%s\"", n->str);
}

bool schema__check_enum(Ctx *c, const Node *n, const char *what, const char *const *values)
{
    if (!schema__want_string(c, n))
        return false;
    for (size_t i = 0; values[i]; i++)
        if (streq(n->str, values[i]))
            return true;
    _cleanup_free_ char *exp = join_or(values);
    schema__err(c, n, "invalid %s \"%s\" (expected %s)", what, n->str, exp);
    return false;
}

bool schema__name_valid(const char *s)
{
    if (!isalnum((unsigned char)s[0]))
        return false;
    for (const char *p = s + 1; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("_.-", *p))
            return false;
    return true;
}

/* ---- lists and dictionaries ---- */

void schema__check_list_of_strings(Ctx *c, const Node *n)
{
    if (!schema__want_seq(c, n))
        return;
    for (size_t i = 0; i < n->len; i++) {
        size_t old = schema__path_push_index(c, i);
        schema__want_string(c, n->vals[i]);
        schema__path_pop(c, old);
    }
}

void schema__check_string_or_list(Ctx *c, const Node *n)
{
    if (!schema__want_types(c, n, T_STRING | T_SEQ) || n->kind != NODE_SEQ)
        return;
    schema__check_list_of_strings(c, n);
}

/* A mapping of scalar (or null) values, or a list of "KEY=VALUE" strings:
 * environment, labels, build args. */
bool schema__want_map_or_list(Ctx *c, const Node *n)
{
    if (n && n->kind == NODE_SEQ) {
        schema__check_list_of_strings(c, n);
        return false;
    }
    if (!n || n->kind != NODE_MAP) {
        schema__err(c, n, "must be a mapping or a list, not %s", schema__kind_name(n));
        return false;
    }
    return true;
}

void schema__check_list_or_dict(Ctx *c, const Node *n)
{
    if (!schema__want_map_or_list(c, n))
        return;
    for (size_t i = 0; i < n->len; i++) {
        const Node *v = n->vals[i];
        if (v->kind != NODE_MAP && v->kind != NODE_SEQ)
            continue;
        size_t old = schema__path_push_key(c, n->keys[i]->str);
        schema__err(c, v, "must be a string, a number, a boolean or null, not %s", schema__kind_name(v));
        schema__path_pop(c, old);
    }
}

/* A mapping of strings or numbers (driver_opts). */
void schema__check_dict_of_scalars(Ctx *c, const Node *n)
{
    if (!schema__want_map(c, n))
        return;
    for (size_t i = 0; i < n->len; i++) {
        size_t old = schema__path_push_key(c, n->keys[i]->str);
        schema__want_types(c, n->vals[i], T_STRING | T_NUMBER);
        schema__path_pop(c, old);
    }
}

/* command, entrypoint: null, a shell string or an argv list. */
void schema__check_command(Ctx *c, const Node *n)
{
    if (node_is_null(n) || !schema__want_types(c, n, T_STRING | T_SEQ) || n->kind != NODE_SEQ)
        return;
    schema__check_list_of_strings(c, n);
}

/* exec of tend's probes and seed steps: a shell string or a non-empty argv. */
void schema__check_exec(Ctx *c, const Node *n)
{
    if (node_is_scalar(n))
        return;
    if (!n || n->kind != NODE_SEQ) {
        schema__err(c, n, "must be a string or a list, not %s", schema__kind_name(n));
        return;
    }
    if (n->len == 0) {
        schema__err(c, n, "must not be empty");
        return;
    }
    schema__check_list_of_strings(c, n);
}

/* ---- signals ---- */

bool schema__signal_valid(const char *s)
{
    static const char *const names[] = {
        "HUP",  "INT",  "QUIT", "ILL",  "TRAP", "ABRT", "IOT",    "BUS",   "FPE",
        "KILL", "USR1", "SEGV", "USR2", "PIPE", "ALRM", "TERM",   "STKFLT", "CHLD",
        "CLD",  "CONT", "STOP", "TSTP", "TTIN", "TTOU", "URG",    "XCPU",  "XFSZ",
        "VTALRM", "PROF", "WINCH", "IO", "POLL", "PWR", "SYS",
    };
    if (!*s)
        return false;
    if (isdigit((unsigned char)*s)) {
        char *end;
        errno = 0;
        long v = strtol(s, &end, 10);
        return !*end && errno == 0 && v >= 1 && v <= 64;
    }
    if (strncasecmp(s, "SIG", 3) == 0)
        s += 3;
    for (size_t i = 0; i < ARRAY_SIZE(names); i++)
        if (strcasecmp(s, names[i]) == 0)
            return true;
    /* real-time signals: RTMIN, RTMIN+n, RTMAX-n */
    if (strncasecmp(s, "RTMIN", 5) == 0 || strncasecmp(s, "RTMAX", 5) == 0) {
        const char *p = s + 5;
        if (!*p)
            return true;
        if (*p != (toupper((unsigned char)s[4]) == 'N' ? '+' : '-') || !isdigit((unsigned char)p[1]))
            return false;
        char *end;
        long v = strtol(p + 1, &end, 10);
        return !*end && v >= 0 && v <= 30;
    }
    return false;
}

void schema__check_signal(Ctx *c, const Node *n)
{
    if (schema__want_string(c, n) && !schema__signal_valid(n->str))
        schema__err(c, n, "invalid signal \"%s\"", n->str);
}

/* ---- hooks ---- */

static const Field hook_fields[] = {
    {"command", schema__check_command, F_REQUIRED, 0},
    {"user", schema__check_string, 0, 0},
    {"privileged", schema__check_bool, 0, 0},
    {"working_dir", schema__check_string, 0, 0},
    {"environment", schema__check_list_or_dict, 0, 0},
};

void schema__check_hook(Ctx *c, const Node *n)
{
    if (schema__want_map(c, n))
        schema__check_fields(c, n, FIELDS(hook_fields));
}
