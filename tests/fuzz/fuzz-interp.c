/* Fuzz target for interpolation and the .env parser. The input is
 * interpolated as one string (up to its first NUL) and parsed whole as a
 * .env file, against a small fixed environment. Besides crashes and
 * sanitizer reports, it traps when a result breaks the contract: success
 * without a string, failure without a message or with an unknown one, text
 * without `$` that comes out changed, or a dotenv return code that disagrees
 * with its diagnostics. */
#include "load/dotenv.h"
#include "load/interp.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
    if (!ok)
        __builtin_trap();
}

static void fuzz_interp(const char *in, const Env *env)
{
    char *out = NULL, *err = NULL;
    int r = interp_string(in, env_lookup, (void *)env, &out, &err);
    if (r == 0) {
        check(out != NULL && err == NULL);
        if (!strchr(in, '$'))
            check(strcmp(out, in) == 0);
    } else {
        check(r == -EINVAL && out == NULL && err != NULL);
        check(str_startswith(err, "required variable ") ||
              str_startswith(err, "invalid interpolation format for \"") ||
              streq(err, "interpolation result is too large"));
    }
    free(out);
    free(err);
}

static void fuzz_dotenv(const uint8_t *data, size_t size, const Env *env)
{
    Env out = {0};
    Diag d = {0};
    int r = dotenv_parse("fuzz.env", (const char *)data, size, env_lookup, (void *)env, &out, &d);
    check(r == 0 || r == -EINVAL);
    check((r == 0) == (d.errors == 0));
    check(d.msgs.n == d.errors);
    for (size_t i = 0; i < d.msgs.n; i++)
        check(str_startswith(d.msgs.v[i], "fuzz.env:"));
    for (size_t i = 0; i < out.n; i++)
        check(out.keys[i][0] != '\0' && out.vals[i] != NULL);
    env_free(&out);
    diag_free(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Env env = {0};
    env_set(&env, "A", "a");
    env_set(&env, "EMPTY", "");
    env_set(&env, "DOLLAR", "$A}${");
    env_set(&env, "LONG", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");

    char *in = xstrndup((const char *)data, size);
    fuzz_interp(in, &env);
    free(in);
    fuzz_dotenv(data, size, &env);

    env_free(&env);
    return 0;
}
