/* Rate limits: a fixed-window counter per route class and client, in Redis so that every parleyd process serving
 * one site shares it. */
#include <string.h>
#include "core/core_error.h"
#include "store/store_internal.h"

struct st_limit_t {
    uint32_t limit;
    long long count;
    long long ttl_ms;
};

static int on_limit_reply(store_call_t *call, size_t idx, redisReply *reply)
{
    struct st_limit_t *r = call->result;
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 || reply->element[0]->type != REDIS_REPLY_INTEGER ||
        reply->element[1]->type != REDIS_REPLY_INTEGER)
        return CORE_ERR_UNAVAILABLE;
    r->count = reply->element[0]->integer;
    r->ttl_ms = reply->element[1]->integer;
    return 0;
}

static void on_limit_done(store_call_t *call, int err)
{
    struct st_limit_t *r = call->result;
    bool allowed = err == 0 && r->count <= (long long)r->limit;
    uint32_t retry = r->ttl_ms > 0 ? (uint32_t)((r->ttl_ms + 999) / 1000) : 1;
    ((store_limit_cb)call->cb)(call->req, err, allowed, retry, call->data);
}

int store_limit_hit(store_t *store, h2o_req_t *req, const char *name, h2o_iovec_t client, uint32_t limit,
                    uint32_t window_s, store_limit_cb cb, void *data)
{
    store_call_t *call = store_call_start(store, req, on_limit_reply, on_limit_done);
    if (call == NULL)
        return CORE_ERR_UNAVAILABLE;
    struct st_limit_t *r = h2o_mem_alloc_pool(&req->pool, sizeof(*r));
    memset(r, 0, sizeof(*r));
    r->limit = limit;
    call->result = r;
    call->cb = (void *)cb;
    call->data = data;
    h2o_iovec_t parts[] = {h2o_iovec_init(name, strlen(name)), client};
    h2o_iovec_t key = store_key_build(&req->pool, store_prefix(store), STORE_KEY_RATE, 2, parts);
    char win[24];
    int wl = snprintf(win, sizeof(win), "%llu", (unsigned long long)window_s * 1000);
    const char *argv[] = {key.base, win};
    size_t lens[] = {key.len, (size_t)wl};
    store_call_script(call, STORE_SCRIPT_limit_hit, 1, 1, argv, lens);
    return 0;
}
