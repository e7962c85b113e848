#ifndef STORE_EVLOOP_H
#define STORE_EVLOOP_H

#include <hiredis/async.h>
#include <h2o.h>

/* The hiredis event adapter for h2o's own event loop (hiredis 0.14 ships adapters for libuv, libev… but not
 * for h2o's evloop). Private to src/store. */

/**
 * Attaches AC to LOOP. The Redis fd is dup'ed into an h2o socket created with H2O_SOCKET_FLAG_DONT_READ, so the loop
 * only signals readiness and hiredis does its own reads and writes; closing the h2o socket closes only the dup.
 * Returns 0, or -1 if AC already has an adapter or the dup fails (the caller frees AC).
 */
int store_evloop_attach(redisAsyncContext *ac, h2o_evloop_t *loop);

#endif
