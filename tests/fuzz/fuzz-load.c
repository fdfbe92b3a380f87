/* Fuzz target for the whole load: the input is one services file, taken
 * through YAML, interpolation, schema, canonical form, extends and the model
 * by config_load_string. Any outcome but a crash, a sanitizer report or a
 * leak is fine; errors are expected for most inputs.
 *
 * The project folder does not exist and the environment is empty, so that
 * include, extends with `file:`, env_file and .env fail the same way on
 * every machine and nothing outside the input decides the result. */
#include <stddef.h>
#include <stdint.h>

#include "load/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char *empty_environ[] = {NULL};
    ConfigOptions o = {
        .cwd = "/nonexistent-fuzz",
        .environ_ = empty_environ,
    };
    Project *p = NULL;
    Diag d = {0};

    /* The input is not NUL-terminated: the loader must go by size alone. */
    (void)config_load_string(&o, "compose.yaml", (const char *)data, size, &p, &d);
    project_free(p);
    diag_free(&d);
    return 0;
}
