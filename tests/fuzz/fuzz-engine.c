/* Fuzz target for what the Docker engine streams back: newline-separated
 * JSON (events, pull and build progress) through jsonlines_feed, and the
 * multiplexed stdout/stderr stream of logs and attach (8-byte headers)
 * through logdemux_feed. The first byte picks the piece sizes the input is
 * fed in, so that headers, lines and UTF-8 split anywhere. Besides crashes
 * and sanitizer reports it traps when the demultiplexer hands out more
 * bytes than it was fed, a stream other than the header's, or an object
 * that is not one. */
#include "engine/engine.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
    if (!ok)
        __builtin_trap();
}

typedef struct Count {
    size_t bytes, objects;
} Count;

static void on_obj(void *ud, json_t *obj)
{
    Count *c = ud;
    check(json_is_object(obj));
    /* What docker.c reads from an event, as it reads it. */
    (void)json_string_value(json_object_get(obj, "Type"));
    (void)json_string_value(json_object_get(json_object_get(obj, "Actor"), "ID"));
    c->objects++;
}

static void on_part(void *ud, int stream, const char *p, size_t n)
{
    Count *c = ud;
    check(stream >= 0 && stream <= 255 && (p != NULL || n == 0));
    c->bytes += n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t piece = (size_t)(data[0] & 0x3f) + 1; /* 1..64 bytes per feed */
    const char *in = (const char *)data + 1;
    size_t len = size - 1;

    JsonLines j = {0};
    Count c = {0};
    for (size_t off = 0; off < len; off += piece)
        jsonlines_feed(&j, in + off, off + piece <= len ? piece : len - off, on_obj, &c);
    jsonlines_free(&j);

    LogDemux d = {0};
    Count m = {0};
    for (size_t off = 0; off < len; off += piece)
        logdemux_feed(&d, in + off, off + piece <= len ? piece : len - off, on_part, &m);
    check(m.bytes <= len);
    return 0;
}
