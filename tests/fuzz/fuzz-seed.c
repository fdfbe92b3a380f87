/* Fuzz target for the seed files: the SQL splitter (quotes, E'' strings,
 * dollar quotes, line and nested block comments), the line of an error
 * position inside a statement, and the Redis command files (quotes,
 * escapes, comments). The input is read as both. Besides crashes and
 * sanitizer reports it traps when a statement is empty (in a file
 * without NUL bytes: tend refuses the others), its line is
 * outside the file, lines go backwards, or a Redis parse disagrees with
 * itself (a count without commands, an error without a message). */
#include "run/seed.h"

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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    /* tend refuses a seed file with a NUL byte before splitting it. */
    bool text = memchr(data, '\0', size) == NULL;
    unsigned lines = 1;
    for (size_t i = 0; i < size; i++)
        lines += data[i] == '\n';

    SqlStmt *st = NULL;
    size_t n = sql_split(in, size, &st);
    unsigned last = 0;
    for (size_t i = 0; i < n; i++) {
        check(st[i].text != NULL && (!text || st[i].text[0] != '\0'));
        check(st[i].line >= 1 && st[i].line <= lines && st[i].line >= last);
        last = st[i].line;
        unsigned at = sql_position_line(st[i].text, st[i].line, (long)(size % 97));
        check(at >= st[i].line);
    }
    sql_stmts_free(st, n);

    RedisCmd *cmds = NULL;
    char *err = NULL;
    int r = redis_parse(in, size, &cmds, &err);
    if (r >= 0) {
        check(err == NULL);
        last = 0;
        for (int i = 0; i < r; i++) {
            check(cmds[i].argv.n > 0);
            check(cmds[i].line >= 1 && cmds[i].line <= lines && cmds[i].line >= last);
            last = cmds[i].line;
        }
        redis_cmds_free(cmds, (size_t)r);
    } else {
        check(r == -EINVAL && err != NULL && strncmp(err, "line ", 5) == 0);
        free(err);
    }
    return 0;
}
