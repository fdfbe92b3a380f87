/* interp: Compose variable interpolation, as the compose-go template package
 * does it. One left-to-right pass over the input: plain text is copied, `$$`
 * gives `$`, `$NAME` and `${NAME}` are looked up, and an operator form
 * (`${NAME:-...}` and friends) pushes a frame whose operand is interpolated
 * into the frame's own buffer until the `}` that closes it. Nesting therefore
 * costs heap frames, not C stack, and is bounded (INTERP_MAX_DEPTH). Like
 * compose-go, an operand is interpolated even when the operator does not use
 * it, so an error inside an unused default is still an error. */
#include "load/interp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Each closing brace copies its result into the enclosing operand, so deep
 * nesting of large values costs depth x size. Real files nest two or three
 * levels; this bound keeps a hostile string linear. */
#define INTERP_MAX_DEPTH 64

typedef enum Op {
    OP_DEFAULT_IF_EMPTY, /* ${A:-x}: x when A is unset or empty */
    OP_DEFAULT_IF_UNSET, /* ${A-x}: x when A is unset */
    OP_REQUIRE_NONEMPTY, /* ${A:?msg}: error when A is unset or empty */
    OP_REQUIRE_SET,      /* ${A?msg}: error when A is unset */
    OP_ALT_IF_NONEMPTY,  /* ${A:+x}: x when A is set and not empty */
    OP_ALT_IF_SET,       /* ${A+x}: x when A is set */
} Op;

typedef struct Frame {
    char *name; /* owned */
    Op op;
    StrBuf arg; /* the operand, already interpolated */
} Frame;

typedef struct Interp {
    const char *in;
    size_t len;
    EnvLookupFn lookup;
    void *ud;
    Frame *frames; /* open operator forms, innermost last */
    size_t n, cap;
    StrBuf out;
    char *err; /* first error; stops the pass */
} Interp;

static bool is_name_start(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static bool is_name_char(char c)
{
    return is_name_start(c) || (c >= '0' && c <= '9');
}

static size_t name_len(const char *s, size_t n)
{
    if (n == 0 || !is_name_start(s[0]))
        return 0;
    size_t k = 1;
    while (k < n && is_name_char(s[k]))
        k++;
    return k;
}

static StrBuf *target(Interp *it)
{
    return it->n ? &it->frames[it->n - 1].arg : &it->out;
}

static bool put(Interp *it, const char *s, size_t n)
{
    if (strbuf_append(target(it), s, n) < 0) {
        if (!it->err)
            it->err = xstrdup("interpolation result is too large");
        return false;
    }
    return true;
}

static const char *lookup(Interp *it, const char *name)
{
    return it->lookup ? it->lookup(it->ud, name) : NULL;
}

/* Index of the `}` that closes a `${` whose body starts at `from`, counting
 * nested `${` the way compose-go does; `$$` is skipped so that an escaped
 * dollar never opens a brace. -1 when there is none. */
static ssize_t find_close(const char *s, size_t len, size_t from)
{
    int depth = 1;
    for (size_t i = from; i < len; i++) {
        if (s[i] == '$' && i + 1 < len && (s[i + 1] == '$' || s[i + 1] == '{')) {
            if (s[i + 1] == '{')
                depth++;
            i++;
        } else if (s[i] == '}' && --depth == 0) {
            return (ssize_t)i;
        }
    }
    return -1;
}

/* A malformed `${` at `start`: unclosed, or closed around something that is
 * not NAME[op[operand]]. */
static void bad_brace(Interp *it, size_t start)
{
    ssize_t close = find_close(it->in, it->len, start + 2);
    if (close < 0)
        it->err = xasprintf("invalid interpolation format for \"%s\": a '}' is missing", it->in);
    else
        it->err = xasprintf("invalid interpolation format for \"%s\": bad substitution \"%.*s\"",
                            it->in, (int)((size_t)close + 1 - start), it->in + start);
}

/* Reads an operator at in[i]; returns its length (1 or 2) or 0. */
static size_t parse_op(const char *s, size_t len, size_t i, Op *ret)
{
    bool colon = false;
    size_t k = 0;
    if (i < len && s[i] == ':') {
        colon = true;
        k = 1;
    }
    if (i + k >= len)
        return 0;
    switch (s[i + k]) {
    case '-':
        *ret = colon ? OP_DEFAULT_IF_EMPTY : OP_DEFAULT_IF_UNSET;
        break;
    case '?':
        *ret = colon ? OP_REQUIRE_NONEMPTY : OP_REQUIRE_SET;
        break;
    case '+':
        *ret = colon ? OP_ALT_IF_NONEMPTY : OP_ALT_IF_SET;
        break;
    default:
        return 0;
    }
    return k + 1;
}

static void push_frame(Interp *it, const char *name, size_t nlen, Op op)
{
    if (it->n == it->cap) {
        it->cap = it->cap ? it->cap * 2 : 8;
        it->frames = xrealloc(it->frames, it->cap * sizeof *it->frames);
    }
    Frame *f = &it->frames[it->n++];
    f->name = xstrndup(name, nlen);
    f->op = op;
    strbuf_init(&f->arg, 0);
}

/* Closes the innermost operator form and writes its result to the enclosing
 * buffer. */
static void pop_frame(Interp *it)
{
    Frame f = it->frames[--it->n];
    const char *val = lookup(it, f.name);
    const char *arg = f.arg.data ? f.arg.data : "";
    bool set = val != NULL, nonempty = val && *val;
    const char *res = "";

    switch (f.op) {
    case OP_DEFAULT_IF_EMPTY:
        res = nonempty ? val : arg;
        break;
    case OP_DEFAULT_IF_UNSET:
        res = set ? val : arg;
        break;
    case OP_REQUIRE_NONEMPTY:
    case OP_REQUIRE_SET:
        if (f.op == OP_REQUIRE_NONEMPTY ? !nonempty : !set) {
            /* Compose prints "...a value: " with an empty message; we drop
             * the dangling colon. */
            if (*arg)
                it->err = xasprintf("required variable %s is missing a value: %s", f.name, arg);
            else
                it->err = xasprintf("required variable %s is missing a value", f.name);
            break;
        }
        res = val;
        break;
    case OP_ALT_IF_NONEMPTY:
        res = nonempty ? arg : "";
        break;
    case OP_ALT_IF_SET:
        res = set ? arg : "";
        break;
    }
    if (!it->err)
        put(it, res, strlen(res));
    free(f.name);
    strbuf_free(&f.arg);
}

/* Handles the `$` at in[i]; returns the index just past what it consumed. */
static size_t dollar(Interp *it, size_t i)
{
    const char *s = it->in;
    size_t len = it->len;

    if (i + 1 >= len || (s[i + 1] != '$' && s[i + 1] != '{' && !is_name_start(s[i + 1]))) {
        /* A `$` that starts nothing (end of string, a space, a digit, ...)
         * is kept as written. compose-go rejects some of these as an
         * invalid template; keeping them is kinder to commands like
         * `echo cost: 5$` and matches what a shell does. */
        put(it, "$", 1);
        return i + 1;
    }
    if (s[i + 1] == '$') {
        put(it, "$", 1);
        return i + 2;
    }
    if (s[i + 1] != '{') {
        size_t k = name_len(s + i + 1, len - i - 1);
        _cleanup_free_ char *name = xstrndup(s + i + 1, k);
        const char *val = lookup(it, name);
        if (val)
            put(it, val, strlen(val));
        return i + 1 + k;
    }

    size_t nstart = i + 2;
    size_t k = name_len(s + nstart, len - nstart);
    size_t after = nstart + k;
    if (k == 0) {
        bad_brace(it, i);
        return len;
    }
    if (after < len && s[after] == '}') {
        _cleanup_free_ char *name = xstrndup(s + nstart, k);
        const char *val = lookup(it, name);
        if (val)
            put(it, val, strlen(val));
        return after + 1;
    }
    Op op;
    size_t oplen = parse_op(s, len, after, &op);
    if (oplen == 0) {
        bad_brace(it, i);
        return len;
    }
    if (it->n >= INTERP_MAX_DEPTH) {
        it->err = xasprintf("invalid interpolation format for \"%s\": more than %d nested "
                            "substitutions",
                            it->in, INTERP_MAX_DEPTH);
        return len;
    }
    push_frame(it, s + nstart, k, op);
    return after + oplen;
}

int interp_string(const char *in, EnvLookupFn lookup_fn, void *ud, char **ret, char **ret_err)
{
    Interp it = {
        .in = in,
        .len = strlen(in),
        .lookup = lookup_fn,
        .ud = ud,
    };
    strbuf_init(&it.out, 0);

    size_t i = 0;
    while (i < it.len && !it.err) {
        char c = in[i];
        if (c == '$') {
            i = dollar(&it, i);
        } else if (c == '}' && it.n > 0) {
            pop_frame(&it);
            i++;
        } else {
            /* Copy the run of ordinary text up to the next `$` or `}`. */
            size_t j = i + 1;
            while (j < it.len && in[j] != '$' && in[j] != '}')
                j++;
            put(&it, in + i, j - i);
            i = j;
        }
    }
    if (!it.err && it.n > 0)
        it.err = xasprintf("invalid interpolation format for \"%s\": a '}' is missing", in);

    for (size_t f = 0; f < it.n; f++) {
        free(it.frames[f].name);
        strbuf_free(&it.frames[f].arg);
    }
    free(it.frames);

    if (it.err) {
        strbuf_free(&it.out);
        if (ret_err)
            *ret_err = it.err;
        else
            free(it.err);
        return -EINVAL;
    }
    *ret = strbuf_steal(&it.out);
    return 0;
}

size_t interp_tree(Arena *a, Node *root, EnvLookupFn lookup_fn, void *ud, Diag *d)
{
    if (!root)
        return 0;
    size_t errors = 0;
    switch (root->kind) {
    case NODE_SCALAR: {
        if (!root->str || !strchr(root->str, '$'))
            return 0;
        _cleanup_free_ char *out = NULL, *err = NULL;
        if (interp_string(root->str, lookup_fn, ud, &out, &err) < 0) {
            diag_error(d, &root->loc, "%s", err);
            return 1;
        }
        root->str = arena_strdup(a, out);
        root->interpolated = true;
        return 0;
    }
    case NODE_MAP:
    case NODE_SEQ:
        /* Map keys stay as written: Compose interpolates values only. */
        for (size_t i = 0; i < root->len; i++)
            errors += interp_tree(a, root->vals[i], lookup_fn, ud, d);
        return errors;
    case NODE_NULL:
        return 0;
    }
    return 0;
}
