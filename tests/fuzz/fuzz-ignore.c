/* Fuzz target for ignore rules: .gitignore text (git's anchoring, `**`,
 * classes, escapes, negation) and a .dockerignore (docker's meaning), then
 * paths matched against them. The input is three parts separated by NUL
 * bytes: the .gitignore, the .dockerignore, then paths one per line (a
 * trailing '/' is a folder). Any outcome but a crash or a sanitizer report
 * is fine; it traps only when matching a path twice disagrees, or when the
 * full match and the walk's cheaper one disagree on a path whose folders
 * are not ignored. */
#include "watch/ignore.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char ctx[512]; /* the build context the .dockerignore is read from */

static void check(bool ok)
{
    if (!ok)
        __builtin_trap();
}

static void remove_ctx(void)
{
    char f[600];
    snprintf(f, sizeof f, "%s/.dockerignore", ctx);
    unlink(f);
    rmdir(ctx);
}

static const char *part(const char **p, const char *end, size_t *n)
{
    const char *s = *p;
    const char *z = memchr(s, '\0', (size_t)(end - s));
    *n = z ? (size_t)(z - s) : (size_t)(end - s);
    *p = z ? z + 1 : end;
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ctx[0]) {
        const char *t = getenv("TMPDIR");
        snprintf(ctx, sizeof ctx, "%s/tend-fuzz-ignore-XXXXXX", t && *t ? t : "/tmp");
        if (!mkdtemp(ctx))
            abort();
        atexit(remove_ctx);
    }
    const char *p = (const char *)data, *end = p + size;
    size_t ng, nd, np;
    const char *git = part(&p, end, &ng);
    const char *dock = part(&p, end, &nd);
    const char *paths = part(&p, end, &np);

    char f[600];
    snprintf(f, sizeof f, "%s/.dockerignore", ctx);
    FILE *fp = fopen(f, "w");
    if (!fp)
        abort();
    fwrite(dock, 1, nd, fp);
    fclose(fp);

    Ignore *ig = ignore_new(ctx, size & 1);
    char *gtext = strndup(git, ng);
    ignore_add_text(ig, ctx, gtext);
    free(gtext);
    ignore_load_dockerignore(ig, ctx);

    char *all = strndup(paths, np);
    for (char *line = all, *next; line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        size_t n = strlen(line);
        bool is_dir = n > 0 && line[n - 1] == '/';
        if (is_dir)
            line[--n] = '\0'; /* the walk names folders without the '/' */
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", ctx, line);
        bool a = ignore_match(ig, path, is_dir);
        check(a == ignore_match(ig, path, is_dir));
        /* A name right under the root has no folder above it to ignore. */
        bool top = n > 0 && !strchr(line, '/') && strcmp(line, ".") != 0 && strcmp(line, "..") != 0;
        if (top)
            check(a == ignore_match_entry(ig, path, is_dir));
    }
    free(all);
    ignore_free(ig);
    return 0;
}
