/* secret: which names hold secrets, and masking known secret values in any
 * text. Masking looks for each value with memmem: a project has a handful
 * of secrets, and a line without any costs one scan per value. */
#include "lib/secret.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

bool secret_name(const char *name)
{
    static const char *const words[] = {"PASSWORD", "PASSWD", "SECRET", "TOKEN", "API_KEY", "APIKEY",
                                        "PRIVATE_KEY", "CREDENTIAL"};
    size_t n = strlen(name);
    char *up = xmalloc(n + 1);
    for (size_t i = 0; i <= n; i++)
        up[i] = (char)toupper((unsigned char)name[i]);
    bool hit = false;
    for (size_t i = 0; i < sizeof words / sizeof *words && !hit; i++)
        hit = strstr(up, words[i]) != NULL;
    static const char *const ends[] = {"PASS", "PWD"};
    for (size_t i = 0; i < 2 && !hit; i++) {
        size_t el = strlen(ends[i]);
        hit = n >= el && streq(up + n - el, ends[i]) && (n == el || up[n - el - 1] == '_');
    }
    free(up);
    return hit;
}

void secrets_add(Secrets *s, const char *value)
{
    if (!value || strlen(value) < SECRET_MIN || strvec_contains(&s->values, value))
        return;
    strvec_push(&s->values, value);
    /* Longest first: a secret that contains another is masked whole. */
    for (size_t i = s->values.n - 1; i > 0 && strlen(s->values.v[i]) > strlen(s->values.v[i - 1]); i--) {
        char *t = s->values.v[i];
        s->values.v[i] = s->values.v[i - 1];
        s->values.v[i - 1] = t;
    }
}

char *secrets_redact(const Secrets *s, const char *text, size_t len, size_t *ret_len)
{
    if (!s || s->values.n == 0)
        return NULL;
    char *out = NULL;
    size_t out_len = len;
    for (size_t k = 0; k < s->values.n; k++) {
        const char *cur = out ? out : text;
        size_t cur_len = out ? out_len : len;
        const char *v = s->values.v[k];
        size_t vl = strlen(v);
        if (!memmem(cur, cur_len, v, vl))
            continue;
        StrBuf b;
        strbuf_init(&b, 0);
        const char *p = cur, *end = cur + cur_len, *hit;
        while ((hit = memmem(p, (size_t)(end - p), v, vl))) {
            strbuf_append(&b, p, (size_t)(hit - p));
            strbuf_puts(&b, SECRET_MASK);
            p = hit + vl;
        }
        strbuf_append(&b, p, (size_t)(end - p));
        free(out);
        out_len = b.len;
        out = strbuf_steal(&b);
    }
    if (out && ret_len)
        *ret_len = out_len;
    return out;
}

void secrets_free(Secrets *s)
{
    strvec_free(&s->values);
}
