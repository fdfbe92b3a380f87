/* redisuv: hiredis' event hooks on a uv_poll_t (see redisuv.h). */
#include "lib/redisuv.h"

#include "lib/util.h"

#include <stdlib.h>

typedef struct RedisEvents {
    redisAsyncContext *ac; /* NULL once hiredis has let go */
    uv_poll_t poll;
    int events;
} RedisEvents;

static void on_poll(uv_poll_t *h, int status, int events)
{
    RedisEvents *e = h->data;
    if (status < 0)
        events = e->events;
    /* Either call may disconnect and free the context (see cleanup). */
    if (e->ac && (events & UV_READABLE))
        redisAsyncHandleRead(e->ac);
    if (e->ac && (events & UV_WRITABLE))
        redisAsyncHandleWrite(e->ac);
}

static void update(RedisEvents *e, int add, int del)
{
    e->events = (e->events | add) & ~del;
    if (e->events)
        uv_poll_start(&e->poll, e->events, on_poll);
    else
        uv_poll_stop(&e->poll);
}

static void add_read(void *d)
{
    update(d, UV_READABLE, 0);
}

static void del_read(void *d)
{
    update(d, 0, UV_READABLE);
}

static void add_write(void *d)
{
    update(d, UV_WRITABLE, 0);
}

static void del_write(void *d)
{
    update(d, 0, UV_WRITABLE);
}

static void on_closed(uv_handle_t *h)
{
    free(h->data);
}

/* Called by hiredis as it frees the context, before it closes the fd:
 * uv_close unregisters the fd at once. */
static void cleanup(void *d)
{
    RedisEvents *e = d;
    e->ac = NULL;
    e->poll.data = e;
    uv_close((uv_handle_t *)&e->poll, on_closed);
}

int redisuv_attach(redisAsyncContext *ac, uv_loop_t *loop)
{
    RedisEvents *e = xcalloc(1, sizeof *e);
    int err = uv_poll_init(loop, &e->poll, ac->c.fd);
    if (err < 0) {
        free(e);
        return err;
    }
    e->poll.data = e;
    e->ac = ac;
    ac->ev.data = e;
    ac->ev.addRead = add_read;
    ac->ev.delRead = del_read;
    ac->ev.addWrite = add_write;
    ac->ev.delWrite = del_write;
    ac->ev.cleanup = cleanup;
    return 0;
}
