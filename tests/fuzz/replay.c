/* Replays a fuzz corpus without libFuzzer: every file named on the command
 * line, or every file in a directory named there, is fed to the target once.
 * A crash or a sanitizer report fails the test. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return -1;
    }
    size_t cap = 1 << 16, len = 0;
    uint8_t *buf = malloc(cap);
    size_t k;
    while ((k = fread(buf + len, 1, cap - len, f)) > 0) {
        len += k;
        if (len == cap)
            buf = realloc(buf, cap *= 2);
    }
    fclose(f);
    LLVMFuzzerTestOneInput(buf, len);
    free(buf);
    return 0;
}

int main(int argc, char **argv)
{
    size_t n = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) < 0) {
            perror(argv[i]);
            return 1;
        }
        if (!S_ISDIR(st.st_mode)) {
            if (run_file(argv[i]) < 0)
                return 1;
            n++;
            continue;
        }
        struct dirent **ents;
        int m = scandir(argv[i], &ents, NULL, alphasort);
        if (m < 0) {
            perror(argv[i]);
            return 1;
        }
        for (int j = 0; j < m; j++) {
            if (ents[j]->d_name[0] != '.') {
                char path[4096];
                snprintf(path, sizeof path, "%s/%s", argv[i], ents[j]->d_name);
                if (run_file(path) < 0)
                    return 1;
                n++;
            }
            free(ents[j]);
        }
        free(ents);
    }
    printf("replayed %zu inputs\n", n);
    return n ? 0 : 1;
}
