/* Fuzz target for what the control side reads from outside: service log
 * files (`tend logs` reads history older than the supervisor's memory from
 * them, with --since and --tail) and --since values. The input's first
 * line is a --since value and its first byte the tail; the rest is the log
 * file, read through a memory file as ctl_log_read reads a real one. Any
 * outcome but a crash or a sanitizer report is fine; it traps when more
 * lines come back than the tail allows, or a line without its stream. */
#include "ctl/proto.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
    if (!ok)
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    long tail = data[0] < 200 ? (long)data[0] : -1;
    const char *in = (const char *)data + 1;
    size_t len = size - 1;
    const char *nl = memchr(in, '\n', len);
    size_t sl = nl ? (size_t)(nl - in) : len;
    char *since_arg = strndup(in, sl);
    char since[25] = "";
    if (ctl_parse_since(since_arg, since) < 0)
        since[0] = '\0';
    free(since_arg);
    const char *log = nl ? nl + 1 : in + len;
    size_t loglen = (size_t)(in + len - log);

    int fd = memfd_create("fuzz-log", MFD_CLOEXEC);
    if (fd < 0)
        abort();
    if (loglen && write(fd, log, loglen) != (ssize_t)loglen)
        abort();
    CtlLogLines out = {0};
    /* The same file as the rotated one and the current one, as after a
     * rotation that copied nothing new yet. */
    ctl_log_read(fd, (int64_t)loglen, fd, (int64_t)loglen, since, tail, data[0] & 3, &out);
    close(fd);
    check(tail < 0 || out.n <= (size_t)tail);
    for (size_t i = 0; i < out.n; i++)
        check(out.v[i].stream != NULL && out.v[i].text != NULL);
    ctl_log_lines_free(&out);
    return 0;
}
