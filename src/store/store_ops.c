/* Comment operations whose results the API reads directly: each reply is copied into the request's pool as a
 * store_value_t, so these stay short and the API never sees hiredis. */
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include "core/core_error.h"
#include "core/core_json.h"
#include "store/store_internal.h"

struct st_values_t {
    store_value_t *values;
    size_t cap;
    size_t n;
};

static void copy_value(h2o_mem_pool_t *pool, redisReply *r, store_value_t *v, int depth)
{
    memset(v, 0, sizeof(*v));
    switch (r->type) {
    case REDIS_REPLY_INTEGER:
        v->type = STORE_INT;
        v->integer = r->integer;
        break;
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
        v->type = STORE_STR;
        v->str = h2o_strdup(pool, r->str, r->len);
        break;
    case REDIS_REPLY_ERROR:
        v->type = STORE_ERR;
        v->str = h2o_strdup(pool, r->str, r->len);
        break;
    case REDIS_REPLY_ARRAY:
        v->type = STORE_ARR;
        if (depth > 4)
            break;
        v->num_items = r->elements;
        v->items = h2o_mem_alloc_pool(pool, sizeof(*v->items) * (r->elements ? r->elements : 1));
        for (size_t i = 0; i < r->elements; ++i)
            copy_value(pool, r->element[i], &v->items[i], depth + 1);
        break;
    default:
        v->type = STORE_NIL;
        break;
    }
}

static int on_value_reply(store_call_t *call, size_t idx, redisReply *reply)
{
    struct st_values_t *v = call->result;
    if (reply->type == REDIS_REPLY_ERROR)
        return CORE_ERR_UNAVAILABLE;
    if (idx < v->cap) {
        copy_value(&call->req->pool, reply, &v->values[idx], 0);
        if (idx + 1 > v->n)
            v->n = idx + 1;
    }
    return 0;
}

static void on_values_done(store_call_t *call, int err)
{
    struct st_values_t *v = call->result;
    ((store_values_cb)call->cb)(call->req, err, v->values, v->n, call->data);
}

store_call_t *store_values_start(store_t *store, h2o_req_t *req, size_t cap, store_values_cb cb, void *data)
{
    store_call_t *call = store_call_start(store, req, on_value_reply, on_values_done);
    if (call == NULL)
        return NULL;
    struct st_values_t *v = h2o_mem_alloc_pool(&req->pool, sizeof(*v));
    memset(v, 0, sizeof(*v));
    v->cap = cap;
    v->values = h2o_mem_alloc_pool(&req->pool, sizeof(store_value_t) * (cap ? cap : 1));
    memset(v->values, 0, sizeof(store_value_t) * (cap ? cap : 1));
    call->result = v;
    call->cb = (void *)cb;
    call->data = data;
    return call;
}

static h2o_iovec_t tkey(store_t *store, h2o_mem_pool_t *pool, store_key_t key, const store_share_ref_t *t)
{
    h2o_iovec_t parts[] = {t->site, t->url_hash};
    return store_key_build(pool, store_prefix(store), key, 2, parts);
}

h2o_iovec_t store_num(h2o_mem_pool_t *pool, unsigned long long n)
{
    char buf[20];
    return h2o_strdup(pool, buf, core_u64_text(n, buf));
}

int store_comment_update(store_t *store, h2o_req_t *req, const store_share_ref_t *thread, uint64_t id,
                         store_update_action_t action, h2o_iovec_t edit_hash, uint64_t window_start_ms,
                         h2o_iovec_t html, h2o_iovec_t body, const char *new_status, store_values_cb cb, void *data)
{
    static const char *const names[] = {"approve", "spam", "pending", "delete", "edit", "anonymize"};
    store_call_t *call = store_values_start(store, req, 1, cb, data);
    if (call == NULL)
        return CORE_ERR_UNAVAILABLE;
    h2o_mem_pool_t *pool = &req->pool;
    h2o_iovec_t k[] = {tkey(store, pool, STORE_KEY_THREAD, thread),    tkey(store, pool, STORE_KEY_COMMENTS, thread),
                       tkey(store, pool, STORE_KEY_ROOTS, thread),     tkey(store, pool, STORE_KEY_ROOTS_TOP, thread),
                       tkey(store, pool, STORE_KEY_TREE, thread),      tkey(store, pool, STORE_KEY_PENDING, thread),
                       tkey(store, pool, STORE_KEY_APPROVED, thread),  tkey(store, pool, STORE_KEY_PUBLIC, thread),
                       tkey(store, pool, STORE_KEY_PENDING_BY, thread)};
    struct timeval tv;
    gettimeofday(&tv, NULL);
    h2o_iovec_t sid = store_num(pool, id),
                now = store_num(pool, (unsigned long long)tv.tv_sec * 1000 + tv.tv_usec / 1000),
                win = store_num(pool, window_start_ms);
    /* The edit time as the public JSON shows it (same form as created_iso: UTC, milliseconds). */
    char iso[32];
    time_t secs = tv.tv_sec;
    struct tm tm;
    gmtime_r(&secs, &tm);
    size_t il = strftime(iso, sizeof(iso), "%Y-%m-%dT%H:%M:%S", &tm);
    il += (size_t)snprintf(iso + il, sizeof(iso) - il, ".%03uZ", (unsigned)(tv.tv_usec / 1000));
    const char *st = new_status != NULL ? new_status : "";
    /* Nine keys and nine arguments, in comment_update.lua's order. */
    const char *argv[] = {k[0].base,
                          k[1].base,
                          k[2].base,
                          k[3].base,
                          k[4].base,
                          k[5].base,
                          k[6].base,
                          k[7].base,
                          k[8].base,
                          sid.base,
                          names[action],
                          now.base,
                          edit_hash.base ? edit_hash.base : "",
                          win.base,
                          html.base ? html.base : "",
                          body.base ? body.base : "",
                          st,
                          iso};
    size_t lens[] = {k[0].len,
                     k[1].len,
                     k[2].len,
                     k[3].len,
                     k[4].len,
                     k[5].len,
                     k[6].len,
                     k[7].len,
                     k[8].len,
                     sid.len,
                     strlen(names[action]),
                     now.len,
                     edit_hash.len,
                     win.len,
                     html.len,
                     body.len,
                     strlen(st),
                     il};
    store_call_script(call, STORE_SCRIPT_comment_update, 9, 9, argv, lens);
    return 0;
}

int store_modq_move(store_t *store, h2o_req_t *req, h2o_iovec_t site, h2o_iovec_t member, const char *old_status,
                    const char *new_status, uint64_t created_ms, h2o_iovec_t approve_ehash, store_values_cb cb,
                    void *data)
{
    store_call_t *call = store_values_start(store, req, 3, cb, data);
    if (call == NULL)
        return CORE_ERR_UNAVAILABLE;
    h2o_mem_pool_t *pool = &req->pool;
    h2o_iovec_t op[] = {site, h2o_iovec_init(old_status, strlen(old_status))};
    h2o_iovec_t np[] = {site, h2o_iovec_init(new_status, strlen(new_status))};
    h2o_iovec_t oq = store_key_build(pool, store_prefix(store), STORE_KEY_MODQ, 2, op);
    h2o_iovec_t nq = store_key_build(pool, store_prefix(store), STORE_KEY_MODQ, 2, np);
    h2o_iovec_t score = store_num(pool, created_ms);
    {
        const char *argv[] = {"ZREM", oq.base, member.base};
        size_t lens[] = {4, oq.len, member.len};
        store_call_command(call, 3, argv, lens);
    }
    if (strcmp(new_status, "deleted") != 0) {
        const char *argv[] = {"ZADD", nq.base, score.base, member.base};
        size_t lens[] = {4, nq.len, score.len, member.len};
        store_call_command(call, 4, argv, lens);
    }
    if (approve_ehash.len != 0) {
        h2o_iovec_t ae = store_key_build(pool, store_prefix(store), STORE_KEY_APPROVED_EMAILS, 1, &site);
        const char *argv[] = {"SADD", ae.base, approve_ehash.base};
        size_t lens[] = {4, ae.len, approve_ehash.len};
        store_call_command(call, 3, argv, lens);
    }
    return 0;
}

int store_comment_vote(store_t *store, h2o_req_t *req, const store_share_ref_t *thread, uint64_t id, h2o_iovec_t voter,
                       int value, store_values_cb cb, void *data)
{
    store_call_t *call = store_values_start(store, req, 1, cb, data);
    if (call == NULL)
        return CORE_ERR_UNAVAILABLE;
    h2o_mem_pool_t *pool = &req->pool;
    h2o_iovec_t cm = tkey(store, pool, STORE_KEY_COMMENTS, thread), votes = tkey(store, pool, STORE_KEY_VOTES, thread),
                top = tkey(store, pool, STORE_KEY_ROOTS_TOP, thread), pub = tkey(store, pool, STORE_KEY_PUBLIC, thread),
                th = tkey(store, pool, STORE_KEY_THREAD, thread), sid = store_num(pool, id);
    const char *v = value > 0 ? "1" : value < 0 ? "-1" : "0";
    const char *argv[] = {cm.base, votes.base, top.base, pub.base, th.base, sid.base, voter.base, v};
    size_t lens[] = {cm.len, votes.len, top.len, pub.len, th.len, sid.len, voter.len, strlen(v)};
    store_call_script(call, STORE_SCRIPT_comment_vote, 5, 3, argv, lens);
    return 0;
}

int store_comment_notify(store_t *store, h2o_req_t *req, const store_share_ref_t *thread, uint64_t id, bool confirmed,
                         store_values_cb cb, void *data)
{
    store_call_t *call = store_values_start(store, req, 1, cb, data);
    if (call == NULL)
        return CORE_ERR_UNAVAILABLE;
    h2o_iovec_t cm = tkey(store, &req->pool, STORE_KEY_COMMENTS, thread), sid = store_num(&req->pool, id);
    const char *argv[] = {cm.base, sid.base, confirmed ? "1" : "0"};
    size_t lens[] = {cm.len, sid.len, 1};
    store_call_script(call, STORE_SCRIPT_comment_notify, 1, 2, argv, lens);
    return 0;
}

int store_comment_locate(store_t *store, h2o_req_t *req, const store_share_ref_t *thread, uint64_t id,
                         uint32_t page_size, store_values_cb cb, void *data)
{
    store_call_t *call = store_values_start(store, req, 1, cb, data);
    if (call == NULL)
        return CORE_ERR_UNAVAILABLE;
    h2o_mem_pool_t *pool = &req->pool;
    h2o_iovec_t cm = tkey(store, pool, STORE_KEY_COMMENTS, thread), roots = tkey(store, pool, STORE_KEY_ROOTS, thread),
                pub = tkey(store, pool, STORE_KEY_PUBLIC, thread), ap = tkey(store, pool, STORE_KEY_APPROVED, thread),
                sid = store_num(pool, id), ps = store_num(pool, page_size);
    const char *argv[] = {cm.base, roots.base, pub.base, ap.base, sid.base, ps.base};
    size_t lens[] = {cm.len, roots.len, pub.len, ap.len, sid.len, ps.len};
    store_call_script(call, STORE_SCRIPT_comment_locate, 4, 2, argv, lens);
    return 0;
}

int store_comments_recent(store_t *store, h2o_req_t *req, const store_share_ref_t *thread, uint32_t n,
                          store_values_cb cb, void *data)
{
    store_call_t *call = store_values_start(store, req, 1, cb, data);
    if (call == NULL)
        return CORE_ERR_UNAVAILABLE;
    h2o_mem_pool_t *pool = &req->pool;
    h2o_iovec_t th = tkey(store, pool, STORE_KEY_THREAD, thread), cm = tkey(store, pool, STORE_KEY_COMMENTS, thread),
                ap = tkey(store, pool, STORE_KEY_APPROVED, thread), roots = tkey(store, pool, STORE_KEY_ROOTS, thread),
                cnt = store_num(pool, n);
    const char *argv[] = {th.base, cm.base, ap.base, roots.base, cnt.base};
    size_t lens[] = {th.len, cm.len, ap.len, roots.len, cnt.len};
    store_call_script(call, STORE_SCRIPT_comments_recent, 4, 1, argv, lens);
    return 0;
}

int store_thread_lock(store_t *store, h2o_req_t *req, const store_share_ref_t *thread, bool locked, store_values_cb cb,
                      void *data)
{
    store_call_t *call = store_values_start(store, req, 3, cb, data);
    if (call == NULL)
        return CORE_ERR_UNAVAILABLE;
    h2o_iovec_t th = tkey(store, &req->pool, STORE_KEY_THREAD, thread);
    {
        const char *argv[] = {"HSET", th.base, "locked", locked ? "1" : "0"};
        size_t lens[] = {4, th.len, 6, 1};
        store_call_command(call, 4, argv, lens);
    }
    {
        const char *argv[] = {"HSETNX", th.base, "url", thread->canonical.base};
        size_t lens[] = {6, th.len, 3, thread->canonical.len};
        store_call_command(call, 4, argv, lens);
    }
    const char *argv[] = {"HINCRBY", th.base, "ver", "1"};
    size_t lens[] = {7, th.len, 3, 1};
    store_call_command(call, 4, argv, lens);
    return 0;
}

int store_thread_version(store_t *store, h2o_req_t *req, const store_share_ref_t *thread, h2o_iovec_t viewer,
                         store_values_cb cb, void *data)
{
    store_call_t *call = store_values_start(store, req, 2, cb, data);
    if (call == NULL)
        return CORE_ERR_UNAVAILABLE;
    h2o_iovec_t th = tkey(store, &req->pool, STORE_KEY_THREAD, thread);
    h2o_iovec_t pv = tkey(store, &req->pool, STORE_KEY_PENDING_BY, thread);
    {
        const char *argv[] = {"HGET", th.base, "ver"};
        size_t lens[] = {4, th.len, 3};
        store_call_command(call, 3, argv, lens);
    }
    const char *argv[] = {"HEXISTS", pv.base, viewer.base != NULL ? viewer.base : ""};
    size_t lens[] = {7, pv.len, viewer.len};
    store_call_command(call, 3, argv, lens);
    return 0;
}

int store_ban(store_t *store, h2o_req_t *req, h2o_iovec_t site, const char *kind, h2o_iovec_t hash, uint32_t seconds,
              store_values_cb cb, void *data)
{
    store_call_t *call = store_values_start(store, req, 1, cb, data);
    if (call == NULL)
        return CORE_ERR_UNAVAILABLE;
    h2o_mem_pool_t *pool = &req->pool;
    size_t kl = strlen(kind);
    char *who = h2o_mem_alloc_pool(pool, kl + 1 + hash.len);
    memcpy(who, kind, kl);
    who[kl] = ':';
    memcpy(who + kl + 1, hash.base, hash.len);
    h2o_iovec_t parts[] = {site, h2o_iovec_init(who, kl + 1 + hash.len)};
    h2o_iovec_t key = store_key_build(pool, store_prefix(store), STORE_KEY_BAN, 2, parts);
    if (seconds == 0) {
        const char *argv[] = {"DEL", key.base};
        size_t lens[] = {3, key.len};
        store_call_command(call, 2, argv, lens);
        return 0;
    }
    h2o_iovec_t secs = store_num(pool, seconds);
    const char *argv[] = {"SET", key.base, "1", "EX", secs.base};
    size_t lens[] = {3, key.len, 1, 2, secs.len};
    store_call_command(call, 5, argv, lens);
    return 0;
}

/* --- moderation queues: the API merges the queues of several sites and statuses, so reading the entries and
 * reading their comments are two calls, each one pipelined round trip --- */

int store_modq_scan(store_t *store, h2o_req_t *req, const h2o_iovec_t *sites, size_t n_sites,
                    const char *const *statuses, size_t n_statuses, uint64_t before_ms, uint32_t limit,
                    store_values_cb cb, void *data)
{
    store_call_t *call = store_values_start(store, req, n_sites * n_statuses, cb, data);
    if (call == NULL)
        return CORE_ERR_UNAVAILABLE;
    h2o_mem_pool_t *pool = &req->pool;
    char max[32];
    int ml = before_ms != 0 ? snprintf(max, sizeof(max), "(%llu", (unsigned long long)before_ms)
                            : snprintf(max, sizeof(max), "+inf");
    h2o_iovec_t lim = store_num(pool, limit);
    for (size_t i = 0; i < n_sites; ++i)
        for (size_t j = 0; j < n_statuses; ++j) {
            h2o_iovec_t parts[] = {sites[i], h2o_iovec_init(statuses[j], strlen(statuses[j]))};
            h2o_iovec_t q = store_key_build(pool, store_prefix(store), STORE_KEY_MODQ, 2, parts);
            const char *argv[] = {"ZREVRANGEBYSCORE", q.base, max, "-inf", "WITHSCORES", "LIMIT", "0", lim.base};
            size_t lens[] = {16, q.len, (size_t)ml, 4, 10, 5, 1, lim.len};
            store_call_command(call, 8, argv, lens);
        }
    return 0;
}

int store_modq_fetch(store_t *store, h2o_req_t *req, const store_modq_item_t *items, size_t n, store_values_cb cb,
                     void *data)
{
    store_call_t *call = store_values_start(store, req, n * 2, cb, data);
    if (call == NULL)
        return CORE_ERR_UNAVAILABLE;
    h2o_mem_pool_t *pool = &req->pool;
    for (size_t i = 0; i < n; ++i) {
        h2o_iovec_t member = items[i].member;
        const char *colon = memchr(member.base, ':', member.len);
        size_t hl = colon != NULL ? (size_t)(colon - member.base) : member.len;
        store_share_ref_t t = {items[i].site, h2o_iovec_init(member.base, hl), h2o_iovec_init("", 0)};
        h2o_iovec_t id = colon != NULL ? h2o_iovec_init(colon + 1, member.len - hl - 1) : h2o_iovec_init("0", 1);
        h2o_iovec_t cm = tkey(store, pool, STORE_KEY_COMMENTS, &t), th = tkey(store, pool, STORE_KEY_THREAD, &t);
        {
            const char *argv[] = {"HGET", cm.base, id.base};
            size_t lens[] = {4, cm.len, id.len};
            store_call_command(call, 3, argv, lens);
        }
        const char *argv[] = {"HMGET", th.base, "url", "title", "locked"};
        size_t lens[] = {5, th.len, 3, 5, 6};
        store_call_command(call, 5, argv, lens);
    }
    return 0;
}

/* --- the mail outbox: the worker's half (the mailer thread's half is store_sync.c) --- */

void store_call_outbox_add(store_call_t *call, const char *envelope_from, const char *rcpt, h2o_iovec_t message)
{
    h2o_mem_pool_t *pool = &call->req->pool;
    h2o_iovec_t key = store_key_build(pool, store_prefix(call->store), STORE_KEY_OUTBOX, 0, NULL);
    h2o_iovec_t maxlen = store_num(pool, STORE_OUTBOX_MAXLEN);
    struct timeval tv;
    gettimeofday(&tv, NULL);
    h2o_iovec_t first = store_num(pool, (unsigned long long)tv.tv_sec * 1000 + (unsigned long long)tv.tv_usec / 1000);
    /* Field names are the contract with store_sync.c and the Lua scripts (store_keys.def: OUTBOX). */
    const char *argv[] = {"XADD", key.base, "MAXLEN", "~",          maxlen.base, "*", "from",  envelope_from,
                          "rcpt", rcpt,     "msg",    message.base, "attempts",  "0", "first", first.base};
    size_t lens[] = {4, key.len,      6, 1,           maxlen.len, 1, 4, strlen(envelope_from),
                     4, strlen(rcpt), 3, message.len, 8,          1, 5, first.len};
    store_call_command(call, 16, argv, lens);
}

int store_outbox_add(store_t *store, h2o_req_t *req, const char *envelope_from, const char *rcpt, h2o_iovec_t message,
                     store_values_cb cb, void *data)
{
    store_call_t *call = store_values_start(store, req, 1, cb, data);
    if (call == NULL)
        return CORE_ERR_UNAVAILABLE;
    store_call_outbox_add(call, envelope_from, rcpt, message);
    return 0;
}

int store_outbox_dead_list(store_t *store, h2o_req_t *req, h2o_iovec_t before, uint32_t limit, store_values_cb cb,
                           void *data)
{
    store_call_t *call = store_values_start(store, req, 1, cb, data);
    if (call == NULL)
        return CORE_ERR_UNAVAILABLE;
    h2o_mem_pool_t *pool = &req->pool;
    h2o_iovec_t key = store_key_build(pool, store_prefix(store), STORE_KEY_OUTBOX_DEAD, 0, NULL);
    /* "(" makes the range exclusive, so a page starts after the last entry of the previous one. */
    h2o_iovec_t end =
        before.len != 0 ? h2o_concat(pool, h2o_iovec_init(H2O_STRLIT("(")), before) : h2o_iovec_init("+", 1);
    h2o_iovec_t count = store_num(pool, limit);
    const char *argv[] = {"XREVRANGE", key.base, end.base, "-", "COUNT", count.base};
    size_t lens[] = {9, key.len, end.len, 1, 5, count.len};
    store_call_command(call, 6, argv, lens);
    return 0;
}

int store_outbox_revive(store_t *store, h2o_req_t *req, h2o_iovec_t id, store_values_cb cb, void *data)
{
    store_call_t *call = store_values_start(store, req, 1, cb, data);
    if (call == NULL)
        return CORE_ERR_UNAVAILABLE;
    h2o_mem_pool_t *pool = &req->pool;
    h2o_iovec_t dead = store_key_build(pool, store_prefix(store), STORE_KEY_OUTBOX_DEAD, 0, NULL),
                out = store_key_build(pool, store_prefix(store), STORE_KEY_OUTBOX, 0, NULL);
    struct timeval tv;
    gettimeofday(&tv, NULL);
    h2o_iovec_t now = store_num(pool, (unsigned long long)tv.tv_sec * 1000 + (unsigned long long)tv.tv_usec / 1000),
                maxlen = store_num(pool, STORE_OUTBOX_MAXLEN);
    const char *argv[] = {dead.base, out.base, id.base, now.base, maxlen.base};
    size_t lens[] = {dead.len, out.len, id.len, now.len, maxlen.len};
    store_call_script(call, STORE_SCRIPT_outbox_revive, 2, 3, argv, lens);
    return 0;
}
