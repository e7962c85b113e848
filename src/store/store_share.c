/* Share counts in Redis: one hash per canonical URL (SHARES) with a field per network and `total`, plus a
 * per-visitor daily marker (SHARE_SEEN) so a click counts once per visitor, URL and network per day. */
#include <stdlib.h>
#include <string.h>
#include "core/core_error.h"
#include "store/store_internal.h"

struct st_share_get_t {
    store_share_counts_t *counts;
    size_t n;
};

struct st_share_hit_t {
    store_share_counts_t counts;
    bool counted;
};

/* Reads HGETALL-shaped pairs starting at element FROM into COUNTS; unknown fields (url) are skipped. */
static int read_pairs(redisReply *reply, size_t from, store_share_counts_t *counts)
{
    memset(counts, 0, sizeof(*counts));
    if (reply->type != REDIS_REPLY_ARRAY)
        return CORE_ERR_UNAVAILABLE;
    for (size_t i = from; i + 1 < reply->elements; i += 2) {
        redisReply *f = reply->element[i], *v = reply->element[i + 1];
        if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
            continue;
        if (f->len == 5 && memcmp(f->str, "total", 5) == 0) {
            counts->total = store_parse_u64(v->str, v->len);
        } else {
            int net = core_network_find(f->str, f->len);
            if (net >= 0)
                counts->networks[net] = store_parse_u64(v->str, v->len);
        }
    }
    return 0;
}

static int on_get_reply(store_call_t *call, size_t idx, redisReply *reply)
{
    struct st_share_get_t *r = call->result;
    return read_pairs(reply, 0, &r->counts[idx]);
}

static int on_total_reply(store_call_t *call, size_t idx, redisReply *reply)
{
    struct st_share_get_t *r = call->result;
    memset(&r->counts[idx], 0, sizeof(r->counts[idx]));
    return store_reply_u64(reply, &r->counts[idx].total) == 0 ? 0 : CORE_ERR_UNAVAILABLE;
}

static void on_get_done(store_call_t *call, int err)
{
    struct st_share_get_t *r = call->result;
    ((store_share_cb)call->cb)(call->req, err, r->counts, r->n, call->data);
}

/* HGETALL for every network, or HGET of `total` alone when that is all the caller needs (listing pages). */
static int share_read(store_t *store, h2o_req_t *req, const store_share_ref_t *refs, size_t n, int totals_only,
                      store_share_cb cb, void *data)
{
    store_call_t *call = store_call_start(store, req, totals_only ? on_total_reply : on_get_reply, on_get_done);
    if (call == NULL)
        return CORE_ERR_UNAVAILABLE;
    struct st_share_get_t *r = h2o_mem_alloc_pool(&req->pool, sizeof(*r));
    r->n = n;
    r->counts = h2o_mem_alloc_pool(&req->pool, sizeof(*r->counts) * (n ? n : 1));
    call->result = r;
    call->cb = (void *)cb;
    call->data = data;
    for (size_t i = 0; i < n; ++i) {
        h2o_iovec_t parts[] = {refs[i].site, refs[i].url_hash};
        h2o_iovec_t key = store_key_build(&req->pool, store_prefix(store), STORE_KEY_SHARES, 2, parts);
        if (totals_only) {
            const char *argv[] = {"HGET", key.base, "total"};
            size_t lens[] = {4, key.len, 5};
            store_call_command(call, 3, argv, lens);
        } else {
            const char *argv[] = {"HGETALL", key.base};
            size_t lens[] = {7, key.len};
            store_call_command(call, 2, argv, lens);
        }
    }
    if (n == 0) {
        /* Keep the "never synchronously" promise even for an empty batch: a PING round trip. */
        const char *argv[] = {"PING"};
        size_t lens[] = {4};
        call->on_reply = NULL;
        store_call_command(call, 1, argv, lens);
    }
    return 0;
}

int store_share_get(store_t *store, h2o_req_t *req, const store_share_ref_t *refs, size_t n, store_share_cb cb,
                    void *data)
{
    return share_read(store, req, refs, n, 0, cb, data);
}

int store_share_totals(store_t *store, h2o_req_t *req, const store_share_ref_t *refs, size_t n, store_share_cb cb,
                       void *data)
{
    return share_read(store, req, refs, n, 1, cb, data);
}

static int on_hit_reply(store_call_t *call, size_t idx, redisReply *reply)
{
    struct st_share_hit_t *r = call->result;
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 1 || reply->element[0]->type != REDIS_REPLY_INTEGER)
        return CORE_ERR_UNAVAILABLE;
    r->counted = reply->element[0]->integer == 1;
    return read_pairs(reply, 1, &r->counts);
}

static void on_hit_done(store_call_t *call, int err)
{
    struct st_share_hit_t *r = call->result;
    ((store_share_hit_cb)call->cb)(call->req, err, r->counted, &r->counts, call->data);
}

int store_share_hit(store_t *store, h2o_req_t *req, const store_share_ref_t *ref, core_network_t network,
                    h2o_iovec_t visitor, uint32_t seen_ttl_s, store_share_hit_cb cb, void *data)
{
    store_call_t *call = store_call_start(store, req, on_hit_reply, on_hit_done);
    if (call == NULL)
        return CORE_ERR_UNAVAILABLE;
    struct st_share_hit_t *r = h2o_mem_alloc_pool(&req->pool, sizeof(*r));
    memset(r, 0, sizeof(*r));
    call->result = r;
    call->cb = (void *)cb;
    call->data = data;
    const char *net = core_network_id(network);
    h2o_iovec_t parts[] = {ref->site, ref->url_hash, h2o_iovec_init(net, strlen(net)), visitor};
    h2o_iovec_t counts_key = store_key_build(&req->pool, store_prefix(store), STORE_KEY_SHARES, 2, parts);
    h2o_iovec_t seen_key = store_key_build(&req->pool, store_prefix(store), STORE_KEY_SHARE_SEEN, 4, parts);
    char ttl[16];
    int ttl_len = snprintf(ttl, sizeof(ttl), "%u", seen_ttl_s);
    const char *argv[] = {counts_key.base, seen_key.base, net, ttl, ref->canonical.base};
    size_t lens[] = {counts_key.len, seen_key.len, strlen(net), (size_t)ttl_len, ref->canonical.len};
    store_call_script(call, STORE_SCRIPT_share_hit, 2, 3, argv, lens);
    return 0;
}
