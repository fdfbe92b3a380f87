/* schema: checks one raw services file against the Compose format and
 * tend's x-tend additions, before canonicalization, so that every message
 * speaks of the syntax the user actually wrote and points at the line where
 * it was written. The check is table-driven: each mapping level has a table
 * of known keys, each with a checker for its value. Keys of the Compose
 * format that tend does not run are accepted and listed as ignored; keys
 * that tend runs are checked in depth, because later stages (canon, model)
 * trust the shapes this module lets through. Messages have the form
 * "PATH: problem", PATH being the dotted Compose path of the offending
 * value ("services.web.ports[0]"). */
#include "load/schema.h"

#include "load/schema-int.h"

#include "load/parse.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <regex.h>
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
    size_t old = c->path.len;
    strbuf_printf(&c->path, "[%zu]", i);
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

static bool is_reset(const Node *n)
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
void schema__check_fields(Ctx *c, const Node *m, const Field *fields, size_t n)
{
    for (size_t i = 0; i < m->len; i++) {
        const Node *k = m->keys[i];
        const Field *f = field_find(fields, n, k->str);
        if (!f) {
            if (!str_startswith(k->str, "x-"))
                unknown_key(c, k, fields, n);
            continue;
        }
        size_t old = schema__path_push_key(c, k->str);
        if (f->flags & F_IGNORED && c->ignored)
            strvec_push(c->ignored, schema__path_str(c));
        const Node *v = m->vals[i];
        if (!is_reset(v) && (!f->types || schema__want_types(c, v, f->types)) && f->check)
            f->check(c, v);
        schema__path_pop(c, old);
    }
    for (size_t i = 0; i < n; i++)
        if (fields[i].flags & F_REQUIRED && node_index(m, fields[i].name) < 0)
            schema__err(c, m, "missing required key \"%s\"", fields[i].name);
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
    if (types & T_STRING && t & (T_NUMBER | T_BOOL))
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
static bool want_text(Ctx *c, const Node *n)
{
    if (node_is_scalar(n))
        return true;
    schema__err(c, n, "must be a string, not %s", schema__kind_name(n));
    return false;
}

static void check_text(Ctx *c, const Node *n)
{
    want_text(c, n);
}

void schema__check_string(Ctx *c, const Node *n)
{
    schema__want_string(c, n);
}

static void check_scalar(Ctx *c, const Node *n)
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
static bool want_int(Ctx *c, const Node *n, long long *ret)
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
    want_int(c, n, &v);
}

void schema__check_int_min(Ctx *c, const Node *n, long long min)
{
    long long v;
    if (want_int(c, n, &v) && v < min)
        schema__err(c, n, "must be %lld or more, not %lld", min, v);
}

static void check_int_nonneg(Ctx *c, const Node *n)
{
    schema__check_int_min(c, n, 0);
}

static void check_int_positive(Ctx *c, const Node *n)
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

static void check_port_int(Ctx *c, const Node *n)
{
    long long v;
    if (want_int(c, n, &v) && (v < 1 || v > 65535))
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
void schema__check_list_or_dict(Ctx *c, const Node *n)
{
    if (n && n->kind == NODE_SEQ) {
        schema__check_list_of_strings(c, n);
        return;
    }
    if (!n || n->kind != NODE_MAP) {
        schema__err(c, n, "must be a mapping or a list, not %s", schema__kind_name(n));
        return;
    }
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
        check_scalar(c, n->vals[i]);
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
static void check_exec(Ctx *c, const Node *n)
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

static bool signal_valid(const char *s)
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
    if (schema__want_string(c, n) && !signal_valid(n->str))
        schema__err(c, n, "invalid signal \"%s\"", n->str);
}

/* ---- service keys ---- */

static void check_extra_hosts(Ctx *c, const Node *n)
{
    if (n && n->kind == NODE_MAP) {
        for (size_t i = 0; i < n->len; i++) {
            size_t old = schema__path_push_key(c, n->keys[i]->str);
            schema__check_string_or_list(c, n->vals[i]);
            schema__path_pop(c, old);
        }
        return;
    }
    if (!n || n->kind != NODE_SEQ) {
        schema__err(c, n, "must be a mapping or a list, not %s", schema__kind_name(n));
        return;
    }
    for (size_t i = 0; i < n->len; i++) {
        size_t old = schema__path_push_index(c, i);
        const Node *it = n->vals[i];
        if (schema__want_string(c, it) && !strpbrk(it->str, ":="))
            schema__err(c, it, "invalid host entry \"%s\" (expected HOST:IP or HOST=IP)", it->str);
        schema__path_pop(c, old);
    }
}

static const Field ulimit_fields[] = {
    {"soft", schema__check_int, F_REQUIRED, 0},
    {"hard", schema__check_int, F_REQUIRED, 0},
};

static void check_ulimit_entry(Ctx *c, const Node *n)
{
    if (n && n->kind == NODE_MAP) {
        schema__check_fields(c, n, FIELDS(ulimit_fields));
        return;
    }
    if (!node_is_scalar(n)) {
        schema__err(c, n, "must be an integer or a mapping, not %s", schema__kind_name(n));
        return;
    }
    schema__check_int(c, n);
}

static void check_ulimits(Ctx *c, const Node *n)
{
    if (!schema__want_map(c, n))
        return;
    for (size_t i = 0; i < n->len; i++) {
        const Node *k = n->keys[i];
        size_t old = schema__path_push_key(c, k->str);
        bool ok = *k->str != '\0';
        for (const char *p = k->str; *p; p++)
            if (!islower((unsigned char)*p))
                ok = false;
        if (!ok)
            schema__err(c, k, "invalid ulimit name \"%s\"", k->str);
        else
            check_ulimit_entry(c, n->vals[i]);
        schema__path_pop(c, old);
    }
}

static const Field build_fields[] = {
    {"context", schema__check_string, 0, 0},
    {"dockerfile", schema__check_string, 0, 0},
    {"dockerfile_inline", schema__check_string, 0, 0},
    {"entitlements", schema__check_list_of_strings, 0, 0},
    {"args", schema__check_list_or_dict, 0, 0},
    {"ssh", schema__check_list_or_dict, 0, 0},
    {"labels", schema__check_list_or_dict, 0, 0},
    {"cache_from", schema__check_list_of_strings, 0, 0},
    {"cache_to", schema__check_list_of_strings, 0, 0},
    {"no_cache", schema__check_bool, 0, 0},
    {"additional_contexts", schema__check_list_or_dict, 0, 0},
    {"network", schema__check_string, 0, 0},
    {"provenance", check_scalar, 0, 0},
    {"sbom", check_scalar, 0, 0},
    {"pull", schema__check_bool, 0, 0},
    {"target", schema__check_string, 0, 0},
    {"shm_size", schema__check_size, 0, 0},
    {"extra_hosts", check_extra_hosts, 0, 0},
    {"isolation", schema__check_string, 0, 0},
    {"privileged", schema__check_bool, 0, 0},
    {"secrets", NULL, 0, 0},
    {"tags", schema__check_list_of_strings, 0, 0},
    {"ulimits", check_ulimits, 0, 0},
    {"platforms", schema__check_list_of_strings, 0, 0},
};

static void check_build(Ctx *c, const Node *n)
{
    if (!schema__want_types(c, n, T_STRING | T_MAP) || n->kind != NODE_MAP)
        return;
    schema__check_fields(c, n, FIELDS(build_fields));
}

static const Field env_file_fields[] = {
    {"path", schema__check_string, F_REQUIRED, 0},
    {"required", schema__check_bool, 0, 0},
    {"format", schema__check_string, 0, 0},
};

static void check_env_file_item(Ctx *c, const Node *n)
{
    if (!schema__want_types(c, n, T_STRING | T_MAP) || n->kind != NODE_MAP)
        return;
    schema__check_fields(c, n, FIELDS(env_file_fields));
}

static void check_env_file(Ctx *c, const Node *n)
{
    if (!schema__want_types(c, n, T_STRING | T_SEQ))
        return;
    if (n->kind != NODE_SEQ) {
        check_env_file_item(c, n);
        return;
    }
    for (size_t i = 0; i < n->len; i++) {
        size_t old = schema__path_push_index(c, i);
        check_env_file_item(c, n->vals[i]);
        schema__path_pop(c, old);
    }
}

/* ---- volumes ---- */

static void check_volume_type(Ctx *c, const Node *n)
{
    static const char *const types[] = {"bind", "volume", "tmpfs", "npipe", "cluster", "image", NULL};
    schema__check_enum(c, n, "volume type", types);
}

static void check_propagation(Ctx *c, const Node *n)
{
    static const char *const v[] = {"rprivate", "private", "rshared", "shared", "rslave", "slave", NULL};
    schema__check_enum(c, n, "propagation", v);
}

static void check_selinux(Ctx *c, const Node *n)
{
    static const char *const v[] = {"z", "Z", NULL};
    schema__check_enum(c, n, "selinux option", v);
}

static void check_recursive(Ctx *c, const Node *n)
{
    static const char *const v[] = {"enabled", "disabled", "writable", "readonly", NULL};
    schema__check_enum(c, n, "recursive option", v);
}

static const Field vol_bind_fields[] = {
    {"propagation", check_propagation, 0, 0},
    {"create_host_path", schema__check_bool, 0, 0},
    {"selinux", check_selinux, 0, 0},
    {"recursive", check_recursive, 0, 0},
};

static const Field vol_volume_fields[] = {
    {"nocopy", schema__check_bool, 0, 0},
    {"subpath", schema__check_string, 0, 0},
    {"labels", schema__check_list_or_dict, 0, 0},
};

static const Field vol_tmpfs_fields[] = {
    {"size", schema__check_size, 0, 0},
    {"mode", check_scalar, 0, 0},
};

static const Field vol_image_fields[] = {
    {"subpath", schema__check_string, 0, 0},
};

static void check_vol_bind(Ctx *c, const Node *n)
{
    if (schema__want_map(c, n))
        schema__check_fields(c, n, FIELDS(vol_bind_fields));
}

static void check_vol_volume(Ctx *c, const Node *n)
{
    if (schema__want_map(c, n))
        schema__check_fields(c, n, FIELDS(vol_volume_fields));
}

static void check_vol_tmpfs(Ctx *c, const Node *n)
{
    if (schema__want_map(c, n))
        schema__check_fields(c, n, FIELDS(vol_tmpfs_fields));
}

static void check_vol_image(Ctx *c, const Node *n)
{
    if (schema__want_map(c, n))
        schema__check_fields(c, n, FIELDS(vol_image_fields));
}

static const Field volume_long_fields[] = {
    {"type", check_volume_type, F_REQUIRED, 0},
    {"source", schema__check_string, 0, 0},
    {"target", schema__check_string, F_REQUIRED, 0},
    {"read_only", schema__check_bool, 0, 0},
    {"consistency", schema__check_string, 0, 0},
    {"bind", check_vol_bind, 0, 0},
    {"volume", check_vol_volume, 0, 0},
    {"tmpfs", check_vol_tmpfs, 0, 0},
    {"image", check_vol_image, 0, 0},
};

static void check_volumes(Ctx *c, const Node *n)
{
    if (!schema__want_seq(c, n))
        return;
    for (size_t i = 0; i < n->len; i++) {
        const Node *v = n->vals[i];
        size_t old = schema__path_push_index(c, i);
        if (!schema__want_types(c, v, T_STRING | T_MAP)) {
            /* reported */
        } else if (v->kind == NODE_MAP) {
            schema__check_fields(c, v, FIELDS(volume_long_fields));
        } else {
            VolumeSpec vs = {0};
            _cleanup_free_ char *e = NULL;
            if (volume_parse_short(v->str, &vs, &e) < 0)
                schema__err(c, v, "%s", e ? e : "invalid volume");
            else
                volume_spec_clear(&vs);
        }
        schema__path_pop(c, old);
    }
}

/* ---- ports ---- */

static void check_port_target(Ctx *c, const Node *n)
{
    long long v;
    if (!node_is_scalar(n)) {
        schema__err(c, n, "must be an integer, not %s", schema__kind_name(n));
        return;
    }
    if (node_as_int(n, &v) < 0 || v < 1 || v > 65535)
        schema__err(c, n, "invalid port \"%s\"", n->str);
}

static void check_port_published(Ctx *c, const Node *n)
{
    uint32_t lo, hi;
    if (!node_is_scalar(n)) {
        schema__err(c, n, "must be a string or a number, not %s", schema__kind_name(n));
        return;
    }
    if (!port_range_valid(n->str, &lo, &hi))
        schema__err(c, n, "invalid port \"%s\"", n->str);
}

static void check_port_protocol(Ctx *c, const Node *n)
{
    static const char *const v[] = {"tcp", "udp", "sctp", NULL};
    schema__check_enum(c, n, "protocol", v);
}

static void check_port_mode(Ctx *c, const Node *n)
{
    static const char *const v[] = {"host", "ingress", NULL};
    schema__check_enum(c, n, "mode", v);
}

static const Field port_long_fields[] = {
    {"name", schema__check_string, 0, 0},
    {"target", check_port_target, F_REQUIRED, 0},
    {"published", check_port_published, 0, 0},
    {"host_ip", schema__check_string, 0, 0},
    {"protocol", check_port_protocol, 0, 0},
    {"mode", check_port_mode, 0, 0},
    {"app_protocol", schema__check_string, 0, 0},
};

static void check_ports(Ctx *c, const Node *n)
{
    if (!schema__want_seq(c, n))
        return;
    for (size_t i = 0; i < n->len; i++) {
        const Node *p = n->vals[i];
        size_t old = schema__path_push_index(c, i);
        if (p->kind == NODE_MAP) {
            schema__check_fields(c, p, FIELDS(port_long_fields));
        } else if (node_is_scalar(p)) {
            PortSpec *specs = NULL;
            size_t ns = 0;
            _cleanup_free_ char *e = NULL;
            if (port_parse_short(p->str, &specs, &ns, &e) < 0)
                schema__err(c, p, "%s", e ? e : "invalid port");
            else
                port_specs_free(specs, ns);
        } else {
            schema__err(c, p, "must be a string, a number or a mapping, not %s", schema__kind_name(p));
        }
        schema__path_pop(c, old);
    }
}

/* "80", "8000-8010", "53/udp" */
static void check_expose(Ctx *c, const Node *n)
{
    if (!schema__want_seq(c, n))
        return;
    for (size_t i = 0; i < n->len; i++) {
        const Node *p = n->vals[i];
        size_t old = schema__path_push_index(c, i);
        if (!node_is_scalar(p)) {
            schema__err(c, p, "must be a string or a number, not %s", schema__kind_name(p));
        } else {
            _cleanup_free_ char *s = xstrdup(p->str);
            char *slash = strchr(s, '/');
            bool ok = true;
            if (slash) {
                *slash = '\0';
                ok = streq(slash + 1, "tcp") || streq(slash + 1, "udp") || streq(slash + 1, "sctp");
            }
            uint32_t lo, hi;
            if (!ok || !port_range_valid(s, &lo, &hi))
                schema__err(c, p, "invalid port \"%s\"", p->str);
        }
        schema__path_pop(c, old);
    }
}

/* ---- depends_on, healthcheck, networks ---- */

static void check_condition(Ctx *c, const Node *n)
{
    static const char *const v[] = {"service_started", "service_healthy",
                                    "service_completed_successfully", NULL};
    schema__check_enum(c, n, "condition", v);
}

static const Field depends_fields[] = {
    {"condition", check_condition, 0, 0},
    {"required", schema__check_bool, 0, 0},
    {"restart", schema__check_bool, 0, 0},
};

static void check_depends_on(Ctx *c, const Node *n)
{
    if (n && n->kind == NODE_SEQ) {
        schema__check_list_of_strings(c, n);
        return;
    }
    if (!n || n->kind != NODE_MAP) {
        schema__err(c, n, "must be a mapping or a list, not %s", schema__kind_name(n));
        return;
    }
    for (size_t i = 0; i < n->len; i++) {
        const Node *v = n->vals[i];
        size_t old = schema__path_push_key(c, n->keys[i]->str);
        if (v->kind == NODE_MAP)
            schema__check_fields(c, v, FIELDS(depends_fields));
        else if (!node_is_null(v))
            schema__err(c, v, "must be a mapping, not %s", schema__kind_name(v));
        schema__path_pop(c, old);
    }
}

static void check_hc_test(Ctx *c, const Node *n)
{
    if (!schema__want_types(c, n, T_STRING | T_SEQ) || n->kind != NODE_SEQ)
        return;
    schema__check_list_of_strings(c, n);
    if (n->len > 0 && node_is_scalar(n->vals[0])) {
        static const char *const v[] = {"NONE", "CMD", "CMD-SHELL", NULL};
        size_t old = schema__path_push_index(c, 0);
        schema__check_enum(c, n->vals[0], "test type", v);
        schema__path_pop(c, old);
    }
}

static const Field healthcheck_fields[] = {
    {"test", check_hc_test, 0, 0},
    {"interval", schema__check_duration, 0, 0},
    {"timeout", schema__check_duration, 0, 0},
    {"start_period", schema__check_duration, 0, 0},
    {"start_interval", schema__check_duration, 0, 0},
    {"retries", check_int_nonneg, 0, 0},
    {"disable", schema__check_bool, 0, 0},
};

static void check_healthcheck(Ctx *c, const Node *n)
{
    if (schema__want_map(c, n))
        schema__check_fields(c, n, FIELDS(healthcheck_fields));
}

static const Field svc_network_fields[] = {
    {"aliases", schema__check_list_of_strings, 0, 0},
    {"interface_name", schema__check_string, 0, 0},
    {"ipv4_address", schema__check_string, 0, 0},
    {"ipv6_address", schema__check_string, 0, 0},
    {"link_local_ips", schema__check_list_of_strings, 0, 0},
    {"mac_address", schema__check_string, 0, 0},
    {"driver_opts", schema__check_dict_of_scalars, 0, 0},
    {"priority", schema__check_number, 0, 0},
    {"gw_priority", schema__check_number, 0, 0},
};

static void check_svc_networks(Ctx *c, const Node *n)
{
    if (n && n->kind == NODE_SEQ) {
        schema__check_list_of_strings(c, n);
        return;
    }
    if (!n || n->kind != NODE_MAP) {
        schema__err(c, n, "must be a mapping or a list, not %s", schema__kind_name(n));
        return;
    }
    for (size_t i = 0; i < n->len; i++) {
        const Node *v = n->vals[i];
        size_t old = schema__path_push_key(c, n->keys[i]->str);
        if (v->kind == NODE_MAP)
            schema__check_fields(c, v, FIELDS(svc_network_fields));
        else if (!node_is_null(v))
            schema__err(c, v, "must be a mapping or null, not %s", schema__kind_name(v));
        schema__path_pop(c, old);
    }
}

/* ---- small enums and formats ---- */

static void check_restart(Ctx *c, const Node *n)
{
    if (!schema__want_string(c, n))
        return;
    const char *s = n->str;
    if (streq(s, "no") || streq(s, "always") || streq(s, "unless-stopped") ||
        streq(s, "on-failure"))
        return;
    if (str_startswith(s, "on-failure:") && isdigit((unsigned char)s[11])) {
        char *end;
        errno = 0;
        long v = strtol(s + 11, &end, 10);
        if (!*end && errno == 0 && v >= 0 && v <= INT_MAX)
            return;
    }
    schema__err(c, n, "invalid restart policy \"%s\" (expected no, always, on-failure[:N] or unless-stopped)", s);
}

static bool pull_every_valid(const char *s)
{
    /* every_([0-9]+[wdhms])+ */
    if (!*s)
        return false;
    while (*s) {
        if (!isdigit((unsigned char)*s))
            return false;
        while (isdigit((unsigned char)*s))
            s++;
        if (!*s || !strchr("wdhms", *s))
            return false;
        s++;
    }
    return true;
}

static void check_pull_policy(Ctx *c, const Node *n)
{
    static const char *const v[] = {"always", "never", "missing", "build", "if_not_present",
                                    "refresh", "daily", "weekly", NULL};
    if (!schema__want_string(c, n))
        return;
    for (size_t i = 0; v[i]; i++)
        if (streq(n->str, v[i]))
            return;
    if (str_startswith(n->str, "every_") && pull_every_valid(n->str + 6))
        return;
    schema__err(c, n,
        "invalid pull policy \"%s\" (expected always, never, missing, build, if_not_present, daily, "
        "weekly or every_<duration>)",
        n->str);
}

static void check_profiles(Ctx *c, const Node *n)
{
    if (!schema__want_seq(c, n))
        return;
    for (size_t i = 0; i < n->len; i++) {
        const Node *p = n->vals[i];
        size_t old = schema__path_push_index(c, i);
        if (schema__want_string(c, p) && !schema__name_valid(p->str))
            schema__err(c, p, "invalid profile name \"%s\"", p->str);
        schema__path_pop(c, old);
    }
}

static void check_container_name(Ctx *c, const Node *n)
{
    if (schema__want_string(c, n) && !schema__name_valid(n->str))
        schema__err(c, n, "invalid container name \"%s\"", n->str);
}

static void check_cpus(Ctx *c, const Node *n)
{
    if (!node_is_scalar(n)) {
        schema__err(c, n, "must be a number, not %s", schema__kind_name(n));
        return;
    }
    char *end;
    errno = 0;
    double v = strtod(n->str, &end);
    if (!*n->str || *end || errno == ERANGE || isspace((unsigned char)*n->str) || v < 0)
        schema__err(c, n, "invalid number of CPUs \"%s\"", n->str);
}

/* ---- develop ---- */

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

static void check_develop_action(Ctx *c, const Node *n)
{
    static const char *const v[] = {"sync", "rebuild", "restart", "sync+restart", "sync+exec", NULL};
    schema__check_enum(c, n, "action", v);
}

static const Field develop_rule_fields[] = {
    {"path", schema__check_string, F_REQUIRED, 0},
    {"action", check_develop_action, F_REQUIRED, 0},
    {"target", schema__check_string, 0, 0},
    {"ignore", schema__check_string_or_list, 0, 0},
    {"include", schema__check_string_or_list, 0, 0},
    {"exec", schema__check_hook, 0, 0},
    {"initial_sync", schema__check_bool, 0, 0},
};

static void check_develop_watch(Ctx *c, const Node *n)
{
    if (!schema__want_seq(c, n))
        return;
    for (size_t i = 0; i < n->len; i++) {
        size_t old = schema__path_push_index(c, i);
        if (schema__want_map(c, n->vals[i]))
            schema__check_fields(c, n->vals[i], FIELDS(develop_rule_fields));
        schema__path_pop(c, old);
    }
}

static const Field develop_fields[] = {
    {"watch", check_develop_watch, 0, 0},
};

static void check_develop(Ctx *c, const Node *n)
{
    if (node_is_null(n))
        return;
    if (schema__want_map(c, n))
        schema__check_fields(c, n, FIELDS(develop_fields));
}

static const Field extends_fields[] = {
    {"service", schema__check_string, F_REQUIRED, 0},
    {"file", schema__check_string, 0, 0},
};

static void check_extends(Ctx *c, const Node *n)
{
    if (!schema__want_types(c, n, T_STRING | T_MAP) || n->kind != NODE_MAP)
        return;
    schema__check_fields(c, n, FIELDS(extends_fields));
}

/* ---- x-tend of a service ---- */

/* tend's own keys read a number as text, as before: `debounce: 1.5` is an
 * invalid duration, `signal: 15` a signal. */
static void check_xduration(Ctx *c, const Node *n)
{
    int64_t ns;
    if (want_text(c, n) && duration_parse(n->str, &ns) < 0)
        schema__err(c, n, "invalid duration \"%s\"", n->str);
}

static void check_xsignal(Ctx *c, const Node *n)
{
    if (want_text(c, n) && !signal_valid(n->str))
        schema__err(c, n, "invalid signal \"%s\"", n->str);
}

static void check_runtime(Ctx *c, const Node *n)
{
    static const char *const v[] = {"docker", "host", NULL};
    schema__check_enum(c, n, "runtime", v);
}

static const Field probe_pg_fields[] = {
    {"host", check_text, 0, 0},
    {"port", check_port_int, 0, 0},
    {"user", check_text, 0, 0},
    {"password", check_text, 0, 0},
    {"dbname", check_text, 0, 0},
};

static const Field probe_redis_fields[] = {
    {"host", check_text, 0, 0},
    {"port", check_port_int, 0, 0},
};

/* `postgres: true` (defaults) or a mapping of connection settings. */
static void check_probe_true_or_map(Ctx *c, const Node *n, const Field *fields, size_t nf)
{
    bool b;
    if (n && n->kind == NODE_MAP) {
        schema__check_fields(c, n, fields, nf);
        return;
    }
    if (node_as_bool(n, &b) == 0 && b)
        return;
    if (node_as_bool(n, &b) == 0)
        schema__err(c, n, "must be true or a mapping, not false");
    else
        schema__err(c, n, "must be true or a mapping, not %s", schema__kind_name(n));
}

static void check_probe_pg(Ctx *c, const Node *n)
{
    check_probe_true_or_map(c, n, FIELDS(probe_pg_fields));
}

static void check_probe_redis(Ctx *c, const Node *n)
{
    check_probe_true_or_map(c, n, FIELDS(probe_redis_fields));
}

static void check_http_status(Ctx *c, const Node *n)
{
    long long v;
    if (want_int(c, n, &v) && (v < 100 || v > 599))
        schema__err(c, n, "invalid HTTP status %lld (expected 100-599)", v);
}

static const Field probe_http_fields[] = {
    {"url", check_text, F_REQUIRED, 0},
    {"status", check_http_status, 0, 0},
};

static void check_probe_http(Ctx *c, const Node *n)
{
    if (node_is_scalar(n))
        return;
    if (!n || n->kind != NODE_MAP) {
        schema__err(c, n, "must be a string or a mapping, not %s", schema__kind_name(n));
        return;
    }
    schema__check_fields(c, n, FIELDS(probe_http_fields));
}

static const Field probe_tcp_fields[] = {
    {"host", check_text, 0, 0},
    {"port", check_port_int, F_REQUIRED, 0},
};

static bool port_text_valid(const char *s)
{
    if (!*s)
        return false;
    for (const char *p = s; *p; p++)
        if (!isdigit((unsigned char)*p))
            return false;
    long v = strtol(s, NULL, 10);
    return strlen(s) <= 5 && v >= 1 && v <= 65535;
}

/* A port (5432) or "host:port" ("db:5432", "[::1]:5432"). */
static void check_probe_tcp(Ctx *c, const Node *n)
{
    if (n && n->kind == NODE_MAP) {
        schema__check_fields(c, n, FIELDS(probe_tcp_fields));
        return;
    }
    if (!node_is_scalar(n)) {
        schema__err(c, n, "must be a port, a string or a mapping, not %s", schema__kind_name(n));
        return;
    }
    const char *colon = strrchr(n->str, ':');
    bool ok = colon ? colon > n->str && port_text_valid(colon + 1) : port_text_valid(n->str);
    if (!ok)
        schema__err(c, n, "invalid address \"%s\" (expected PORT or HOST:PORT)", n->str);
}

static void check_regex(Ctx *c, const Node *n)
{
    if (!schema__want_string(c, n))
        return;
    regex_t re;
    int r = regcomp(&re, n->str, REG_EXTENDED | REG_NOSUB);
    if (r != 0) {
        char buf[256];
        regerror(r, &re, buf, sizeof(buf));
        schema__err(c, n, "invalid regular expression \"%s\": %s", n->str, buf);
        return;
    }
    regfree(&re);
}

static const char *const probe_kinds[] = {"postgres", "redis", "http", "tcp", "log", "exec", NULL};

static const Field probe_fields[] = {
    {"postgres", check_probe_pg, 0, 0},
    {"redis", check_probe_redis, 0, 0},
    {"http", check_probe_http, 0, 0},
    {"tcp", check_probe_tcp, 0, 0},
    {"log", check_regex, 0, 0},
    {"exec", check_exec, 0, 0},
    {"interval", check_xduration, 0, 0},
    {"timeout", check_xduration, 0, 0},
    {"start_period", check_xduration, 0, 0},
    {"start_interval", check_xduration, 0, 0},
    {"retries", check_int_positive, 0, 0},
};

/* Reports a mapping that does not hold exactly one of `kinds`: at the
 * second kind key when there are two, at the mapping when there is none. */
static void check_exactly_one(Ctx *c, const Node *m, const char *const *kinds)
{
    const Node *second = NULL;
    size_t count = 0;
    for (size_t i = 0; i < m->len; i++)
        for (size_t k = 0; kinds[k]; k++)
            if (streq(m->keys[i]->str, kinds[k]) && ++count == 2)
                second = m->keys[i];
    if (count == 1)
        return;
    StrBuf b;
    strbuf_init(&b, 0);
    for (size_t k = 0; kinds[k]; k++)
        strbuf_printf(&b, "%s%s", k ? ", " : "", kinds[k]);
    schema__err(c, second ? second : m, "exactly one of %s is required", b.data);
    strbuf_free(&b);
}

static void check_probe(Ctx *c, const Node *n)
{
    if (!schema__want_map(c, n))
        return;
    size_t before = c->errors;
    schema__check_fields(c, n, FIELDS(probe_fields));
    if (c->errors == before)
        check_exactly_one(c, n, probe_kinds);
}

static const char *const seed_kinds[] = {"sql", "redis", "exec", NULL};

static const Field seed_fields[] = {
    {"sql", schema__check_string_or_list, 0, 0},
    {"database", check_text, 0, 0},
    {"redis", schema__check_string_or_list, 0, 0},
    {"exec", check_exec, 0, 0},
};

static void check_seed(Ctx *c, const Node *n)
{
    if (!schema__want_seq(c, n))
        return;
    for (size_t i = 0; i < n->len; i++) {
        const Node *st = n->vals[i];
        size_t old = schema__path_push_index(c, i);
        if (schema__want_map(c, st)) {
            size_t before = c->errors;
            schema__check_fields(c, st, FIELDS(seed_fields));
            if (c->errors == before)
                check_exactly_one(c, st, seed_kinds);
            const Node *db = node_get_key(st, "database");
            if (c->errors == before && db && node_index(st, "sql") < 0) {
                size_t o2 = schema__path_push_key(c, "database");
                schema__err(c, db, "only valid in a sql step");
                schema__path_pop(c, o2);
            }
        }
        schema__path_pop(c, old);
    }
}

static void check_xwatch_action(Ctx *c, const Node *n)
{
    static const char *const v[] = {"restart", "signal", NULL};
    schema__check_enum(c, n, "action", v);
}

static void check_xrule_action(Ctx *c, const Node *n)
{
    static const char *const v[] = {"sync", "rebuild", "restart", "sync+restart", "sync+exec",
                                    "signal", NULL};
    schema__check_enum(c, n, "action", v);
}

/* exec of a watch rule: a command, or a develop-style hook mapping. */
static void check_xrule_exec(Ctx *c, const Node *n)
{
    if (n && n->kind == NODE_MAP)
        schema__check_hook(c, n);
    else
        check_exec(c, n);
}

static const Field xrule_fields[] = {
    {"path", check_text, F_REQUIRED, 0},
    {"action", check_xrule_action, 0, 0},
    {"target", check_text, 0, 0},
    {"ignore", schema__check_string_or_list, 0, 0},
    {"include", schema__check_string_or_list, 0, 0},
    {"exec", check_xrule_exec, 0, 0},
    {"signal", check_xsignal, 0, 0},
};

static void check_xrules(Ctx *c, const Node *n)
{
    if (!schema__want_seq(c, n))
        return;
    for (size_t i = 0; i < n->len; i++) {
        size_t old = schema__path_push_index(c, i);
        if (schema__want_map(c, n->vals[i]))
            schema__check_fields(c, n->vals[i], FIELDS(xrule_fields));
        schema__path_pop(c, old);
    }
}

static const Field xwatch_fields[] = {
    {"enabled", schema__check_bool, 0, 0},
    {"bind_mounts", schema__check_bool, 0, 0},
    {"action", check_xwatch_action, 0, 0},
    {"signal", check_xsignal, 0, 0},
    {"debounce", check_xduration, 0, 0},
    {"ignore", schema__check_string_or_list, 0, 0},
    {"rules", check_xrules, 0, 0},
};

static void check_xwatch(Ctx *c, const Node *n)
{
    if (schema__want_map(c, n))
        schema__check_fields(c, n, FIELDS(xwatch_fields));
}

static const Field xtend_service_fields[] = {
    {"runtime", check_runtime, 0, 0},
    {"probe", check_probe, 0, 0},
    {"seed", check_seed, 0, 0},
    {"watch", check_xwatch, 0, 0},
    {"kube", NULL, 0, 0}, /* checked by tend kube (kube/settings.c) */
};

static void check_xtend_service(Ctx *c, const Node *n)
{
    if (schema__want_map(c, n))
        schema__check_fields(c, n, FIELDS(xtend_service_fields));
}

/* ---- a service ---- */

static const Field service_fields[] = {
    /* run by tend: checked in depth */
    {"image", schema__check_string, 0, 0},
    {"build", check_build, 0, 0},
    {"command", schema__check_command, 0, 0},
    {"entrypoint", schema__check_command, 0, 0},
    {"environment", schema__check_list_or_dict, 0, 0},
    {"env_file", check_env_file, 0, 0},
    {"volumes", check_volumes, 0, 0},
    {"ports", check_ports, 0, 0},
    {"expose", check_expose, 0, 0},
    {"depends_on", check_depends_on, 0, 0},
    {"healthcheck", check_healthcheck, 0, 0},
    {"profiles", check_profiles, 0, 0},
    {"restart", check_restart, 0, 0},
    {"user", schema__check_string, 0, 0},
    {"working_dir", schema__check_string, 0, 0},
    {"labels", schema__check_list_or_dict, 0, 0},
    {"networks", check_svc_networks, 0, 0},
    {"network_mode", schema__check_string, 0, 0},
    {"hostname", schema__check_string, 0, 0},
    {"container_name", check_container_name, 0, 0},
    {"stop_signal", schema__check_signal, 0, 0},
    {"stop_grace_period", schema__check_duration, 0, 0},
    {"init", schema__check_bool, 0, 0},
    {"tty", schema__check_bool, 0, 0},
    {"stdin_open", schema__check_bool, 0, 0},
    {"read_only", schema__check_bool, 0, 0},
    {"tmpfs", schema__check_string_or_list, 0, 0},
    {"extra_hosts", check_extra_hosts, 0, 0},
    {"mem_limit", schema__check_size, 0, 0},
    {"shm_size", schema__check_size, 0, 0},
    {"cpus", check_cpus, 0, 0},
    {"ulimits", check_ulimits, 0, 0},
    {"develop", check_develop, 0, 0},
    {"extends", check_extends, 0, 0},
    {"pull_policy", check_pull_policy, 0, 0},
    {"platform", schema__check_string, 0, 0},
    {"x-tend", check_xtend_service, 0, 0},
    /* Compose keys tend accepts but does not act on */
    {"annotations", NULL, F_IGNORED, 0},
    {"attach", NULL, F_IGNORED, 0},
    {"blkio_config", NULL, F_IGNORED, 0},
    {"cap_add", NULL, F_IGNORED, 0},
    {"cap_drop", NULL, F_IGNORED, 0},
    {"cgroup", NULL, F_IGNORED, 0},
    {"cgroup_parent", NULL, F_IGNORED, 0},
    {"configs", NULL, F_IGNORED, 0},
    {"cpu_count", NULL, F_IGNORED, 0},
    {"cpu_percent", NULL, F_IGNORED, 0},
    {"cpu_shares", NULL, F_IGNORED, 0},
    {"cpu_quota", NULL, F_IGNORED, 0},
    {"cpu_period", NULL, F_IGNORED, 0},
    {"cpu_rt_period", NULL, F_IGNORED, 0},
    {"cpu_rt_runtime", NULL, F_IGNORED, 0},
    {"cpuset", NULL, F_IGNORED, 0},
    {"credential_spec", NULL, F_IGNORED, 0},
    {"deploy", NULL, F_IGNORED, 0},
    {"device_cgroup_rules", NULL, F_IGNORED, 0},
    {"devices", NULL, F_IGNORED, 0},
    {"dns", NULL, F_IGNORED, 0},
    {"dns_opt", NULL, F_IGNORED, 0},
    {"dns_search", NULL, F_IGNORED, 0},
    {"domainname", NULL, F_IGNORED, 0},
    {"external_links", NULL, F_IGNORED, 0},
    {"gpus", NULL, F_IGNORED, 0},
    {"group_add", NULL, F_IGNORED, 0},
    {"ipc", NULL, F_IGNORED, 0},
    {"isolation", NULL, F_IGNORED, 0},
    {"label_file", NULL, F_IGNORED, 0},
    {"links", NULL, F_IGNORED, 0},
    {"logging", NULL, F_IGNORED, 0},
    {"mac_address", NULL, F_IGNORED, 0},
    {"mem_reservation", NULL, F_IGNORED, 0},
    {"mem_swappiness", NULL, F_IGNORED, 0},
    {"memswap_limit", NULL, F_IGNORED, 0},
    {"models", NULL, F_IGNORED, 0},
    {"oom_kill_disable", NULL, F_IGNORED, 0},
    {"oom_score_adj", NULL, F_IGNORED, 0},
    {"pid", NULL, F_IGNORED, 0},
    {"pids_limit", NULL, F_IGNORED, 0},
    {"post_start", NULL, F_IGNORED, 0},
    {"pre_stop", NULL, F_IGNORED, 0},
    {"privileged", NULL, F_IGNORED, 0},
    {"provider", NULL, F_IGNORED, 0},
    {"pull_refresh_after", NULL, F_IGNORED, 0},
    {"runtime", NULL, F_IGNORED, 0},
    {"scale", NULL, F_IGNORED, 0},
    {"secrets", NULL, F_IGNORED, 0},
    {"security_opt", NULL, F_IGNORED, 0},
    {"storage_opt", NULL, F_IGNORED, 0},
    {"sysctls", NULL, F_IGNORED, 0},
    {"use_api_socket", NULL, F_IGNORED, 0},
    {"userns_mode", NULL, F_IGNORED, 0},
    {"uts", NULL, F_IGNORED, 0},
    {"volumes_from", NULL, F_IGNORED, 0},
};

static void check_services(Ctx *c, const Node *n)
{
    if (node_is_null(n))
        return;
    if (!schema__want_map(c, n))
        return;
    for (size_t i = 0; i < n->len; i++) {
        const Node *k = n->keys[i], *v = n->vals[i];
        if (!schema__name_valid(k->str)) {
            schema__err(c, k, "invalid service name \"%s\"", k->str);
            continue;
        }
        size_t old = schema__path_push_key(c, k->str);
        if (v->kind == NODE_MAP)
            schema__check_fields(c, v, FIELDS(service_fields));
        else if (!node_is_null(v) && !is_reset(v))
            schema__err(c, v, "must be a mapping, not %s", schema__kind_name(v));
        schema__path_pop(c, old);
    }
}

/* ---- top-level volumes, networks, include, x-tend ---- */

static const Field external_fields[] = {
    {"name", schema__check_string, 0, 0},
};

static void check_external(Ctx *c, const Node *n)
{
    bool b;
    if (n && n->kind == NODE_MAP)
        schema__check_fields(c, n, FIELDS(external_fields));
    else if (node_as_bool(n, &b) < 0)
        schema__err(c, n, "must be a boolean or a mapping, not %s", schema__kind_name(n));
}

static void check_ipam(Ctx *c, const Node *n)
{
    schema__want_map(c, n);
}

static const Field volume_fields[] = {
    {"name", schema__check_string, 0, 0},
    {"driver", schema__check_string, 0, 0},
    {"driver_opts", schema__check_dict_of_scalars, 0, 0},
    {"external", check_external, 0, 0},
    {"labels", schema__check_list_or_dict, 0, 0},
};

static const Field network_fields[] = {
    {"name", schema__check_string, 0, 0},
    {"driver", schema__check_string, 0, 0},
    {"driver_opts", schema__check_dict_of_scalars, 0, 0},
    {"ipam", check_ipam, 0, 0},
    {"external", check_external, 0, 0},
    {"internal", schema__check_bool, 0, 0},
    {"enable_ipv4", schema__check_bool, 0, 0},
    {"enable_ipv6", schema__check_bool, 0, 0},
    {"attachable", schema__check_bool, 0, 0},
    {"labels", schema__check_list_or_dict, 0, 0},
};

static void check_named_objects(Ctx *c, const Node *n, const char *what, const Field *fields,
                                size_t nf)
{
    if (node_is_null(n) || !schema__want_map(c, n))
        return;
    for (size_t i = 0; i < n->len; i++) {
        const Node *k = n->keys[i], *v = n->vals[i];
        if (!schema__name_valid(k->str)) {
            schema__err(c, k, "invalid %s name \"%s\"", what, k->str);
            continue;
        }
        size_t old = schema__path_push_key(c, k->str);
        if (v->kind == NODE_MAP)
            schema__check_fields(c, v, fields, nf);
        else if (!node_is_null(v) && !is_reset(v))
            schema__err(c, v, "must be a mapping or null, not %s", schema__kind_name(v));
        schema__path_pop(c, old);
    }
}

static void check_top_volumes(Ctx *c, const Node *n)
{
    check_named_objects(c, n, "volume", FIELDS(volume_fields));
}

static void check_top_networks(Ctx *c, const Node *n)
{
    check_named_objects(c, n, "network", FIELDS(network_fields));
}

static const Field include_fields[] = {
    {"path", schema__check_string_or_list, F_REQUIRED, 0},
    {"project_directory", schema__check_string, 0, 0},
    {"env_file", schema__check_string_or_list, 0, 0},
};

static void check_include(Ctx *c, const Node *n)
{
    if (!schema__want_seq(c, n))
        return;
    for (size_t i = 0; i < n->len; i++) {
        const Node *it = n->vals[i];
        size_t old = schema__path_push_index(c, i);
        if (it->kind == NODE_MAP)
            schema__check_fields(c, it, FIELDS(include_fields));
        else if (!node_is_scalar(it))
            schema__err(c, it, "must be a string or a mapping, not %s", schema__kind_name(it));
        schema__path_pop(c, old);
    }
}

static void check_ip(Ctx *c, const Node *n)
{
    if (!schema__want_string(c, n))
        return;
    unsigned char buf[16];
    if (inet_pton(AF_INET, n->str, buf) != 1 && inet_pton(AF_INET6, n->str, buf) != 1)
        schema__err(c, n, "invalid IP address \"%s\"", n->str);
}

static const Field xtend_top_watch_fields[] = {
    {"debounce", check_xduration, 0, 0},
};

static void check_xtend_top_watch(Ctx *c, const Node *n)
{
    if (schema__want_map(c, n))
        schema__check_fields(c, n, FIELDS(xtend_top_watch_fields));
}

static const Field xtend_top_fields[] = {
    {"default_host_ip", check_ip, 0, 0},
    {"watch", check_xtend_top_watch, 0, 0},
    {"kube", NULL, 0, 0}, /* checked by tend kube (kube/settings.c) */
};

static void check_xtend_top(Ctx *c, const Node *n)
{
    if (schema__want_map(c, n))
        schema__check_fields(c, n, FIELDS(xtend_top_fields));
}

static const Field top_fields[] = {
    {"name", schema__check_string, 0, 0},
    {"services", check_services, 0, 0},
    {"volumes", check_top_volumes, 0, 0},
    {"networks", check_top_networks, 0, 0},
    {"include", check_include, 0, 0},
    {"x-tend", check_xtend_top, 0, 0},
    {"secrets", NULL, F_IGNORED, 0},
    {"configs", NULL, F_IGNORED, 0},
    {"models", NULL, F_IGNORED, 0},
    {"version", NULL, F_IGNORED, 0},
};

size_t schema_check(const Node *root, Diag *d, StrVec *ignored)
{
    Ctx c = {.d = d, .ignored = ignored};
    strbuf_init(&c.path, 1 << 16);
    if (!root || root->kind != NODE_MAP) {
        schema__err(&c, root, "the top level must be a mapping, not %s", schema__kind_name(root));
    } else {
        schema__check_fields(&c, root, FIELDS(top_fields));
    }
    strbuf_free(&c.path);
    return c.errors;
}
