/* secret: values that must not be shown. A name like DB_PASSWORD, API_TOKEN
 * or AWS_SECRET_ACCESS_KEY marks its value secret; a set of secret values
 * masks every occurrence of them in a text ("********"). Values shorter
 * than SECRET_MIN are not masked inside other text: "dev" would hide every
 * "dev" of the output. Nothing here knows where the values come from. */
#pragma once

#include "lib/util.h"

#include <stdbool.h>
#include <stddef.h>

#define SECRET_MASK "********"
#define SECRET_MIN 4

/* Whether a variable of this name holds a secret: it contains PASSWORD,
 * PASSWD, SECRET, TOKEN, API_KEY, APIKEY, PRIVATE_KEY or CREDENTIAL, or
 * is or ends in PASS or PWD (any case). */
bool secret_name(const char *name);

typedef struct Secrets {
    StrVec values; /* at least SECRET_MIN bytes each, longest first */
} Secrets;

/* Adds a value to mask (ignored when shorter than SECRET_MIN or known). */
void secrets_add(Secrets *s, const char *value);
/* text[0..len) with every secret value masked, malloc'd, its length in
 * *ret_len; NULL when nothing needed masking (the common case). */
char *secrets_redact(const Secrets *s, const char *text, size_t len, size_t *ret_len);
void secrets_free(Secrets *s);
