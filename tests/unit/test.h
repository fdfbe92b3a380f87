/* A tiny TAP test harness for the unit tests. Each TEST() is a function that
 * registers itself; main() runs them all and prints TAP so meson counts each
 * case. CHECK() records a failure and continues; REQUIRE() stops the case. */
#pragma once

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct TestCase {
    const char *name;
    void (*fn)(void);
} TestCase;

extern TestCase test_cases_[];
extern size_t test_count_;
extern bool test_failed_;

void test_register_(const char *name, void (*fn)(void));

#define TEST(name)                                                              \
    static void test_##name(void);                                              \
    __attribute__((constructor)) static void test_register_##name(void)         \
    {                                                                           \
        test_register_(#name, test_##name);                                     \
    }                                                                           \
    static void test_##name(void)

#define CHECK(cond)                                                             \
    do {                                                                        \
        if (!(cond)) {                                                          \
            printf("#   %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            test_failed_ = true;                                                \
        }                                                                       \
    } while (0)

#define REQUIRE(cond)                                                           \
    do {                                                                        \
        if (!(cond)) {                                                          \
            printf("#   %s:%d: required: %s\n", __FILE__, __LINE__, #cond);     \
            test_failed_ = true;                                                \
            return;                                                             \
        }                                                                       \
    } while (0)

#define CHECK_STR(a, b)                                                         \
    do {                                                                        \
        const char *a_ = (a), *b_ = (b);                                        \
        if (!a_ || !b_ || strcmp(a_, b_) != 0) {                                \
            printf("#   %s:%d: %s == %s\n#     got:      \"%s\"\n#     expected: \"%s\"\n", \
                   __FILE__, __LINE__, #a, #b, a_ ? a_ : "(null)", b_ ? b_ : "(null)"); \
            test_failed_ = true;                                                \
        }                                                                       \
    } while (0)

#define CHECK_INT(a, b)                                                         \
    do {                                                                        \
        long long a_ = (long long)(a), b_ = (long long)(b);                     \
        if (a_ != b_) {                                                         \
            printf("#   %s:%d: %s == %s: got %lld, expected %lld\n", __FILE__,  \
                   __LINE__, #a, #b, a_, b_);                                   \
            test_failed_ = true;                                                \
        }                                                                       \
    } while (0)

/* A temp path template under $TMPDIR (else /tmp), for mkdtemp/mkstemp:
 * TEST_TMP(dir, "tend-x") declares char dir[] = "$TMPDIR/tend-x-XXXXXX".
 * scripts/test gives each run a TMPDIR of its own and checks at the end
 * that nothing is left in it. */
static inline const char *test_tmpdir(void)
{
    const char *t = getenv("TMPDIR");
    return t && *t ? t : "/tmp";
}
#define TEST_TMP(var, prefix)                                                   \
    char var[512];                                                              \
    snprintf(var, sizeof var, "%s/%s-XXXXXX", test_tmpdir(), prefix)
/* The same, malloc'd. */
static inline char *test_tmp_template(const char *prefix)
{
    size_t n = strlen(test_tmpdir()) + strlen(prefix) + 16;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s/%s-XXXXXX", test_tmpdir(), prefix);
    return s;
}
