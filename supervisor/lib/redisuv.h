/* redisuv: hiredis driven by libuv, for the redis probe and redis seeds.
 * This is hiredis' own libuv adapter (adapters/libuv.h) with one change:
 * libuv reports POLLERR (a refused connect, a reset) as status UV_EBADF and
 * stops the handle, which that adapter ignores, leaving the attempt to wait
 * for its timeout. Here an error hands the socket to hiredis, which reads
 * the error from it and disconnects. */
#pragma once

#include <hiredis/async.h>
#include <uv.h>

/* Attaches a fresh async context to the loop; 0 or a negative libuv error.
 * The hooks are released by hiredis as it frees the context. */
int redisuv_attach(redisAsyncContext *ac, uv_loop_t *loop);
