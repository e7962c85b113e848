/* "Manage my comments" in Redis (api_privacy.c): the per-address comment index EMAIL_COMMENTS, the link tokens
 * PRIVACY_TOKEN, and the pipelines the privacy calls need. Thin wrappers, replies copied as store_value_t. */
#include <stdio.h>
#include <string.h>
#include "core/core_error.h"
#include "store/store_internal.h"

static h2o_iovec_t key1(store_t *store, h2o_mem_pool_t *pool, store_key_t key, h2o_iovec_t part)
{
    return store_key_build(pool, store_prefix(store), key, 1, &part);
}

int store_privacy_check(store_t *store, h2o_req_t *req, h2o_iovec_t email_hash, store_values_cb cb, void *data)
{
    store_call_t *call = store_values_start(store, req, 2, cb, data);
    if (call == NULL)
        return CORE_ERR_UNAVAILABLE;
    h2o_mem_pool_t *pool = &req->pool;
    h2o_iovec_t parts[] = {h2o_iovec_init(H2O_STRLIT("privacy-mail")), email_hash};
    h2o_iovec_t rate = store_key_build(pool, store_prefix(store), STORE_KEY_RATE, 2, parts);
    const char *a1[] = {rate.base, "3600000"};
    size_t l1[] = {rate.len, 7};
    store_call_script(call, STORE_SCRIPT_limit_hit, 1, 1, a1, l1);
    h2o_iovec_t ec = key1(store, pool, STORE_KEY_EMAIL_COMMENTS, email_hash);
    const char *a2[] = {"SCARD", ec.base};
    size_t l2[] = {5, ec.len};
    store_call_command(call, 2, a2, l2);
    return 0;
}

int store_privacy_token_put(store_t *store, h2o_req_t *req, h2o_iovec_t token_hash, h2o_iovec_t email_hash,
                            h2o_iovec_t site, uint64_t now_ms, uint64_t ttl_ms, const char *mail_from, const char *rcpt,
                            h2o_iovec_t msg, store_values_cb cb, void *data)
{
    store_call_t *call = store_values_start(store, req, 3, cb, data);
    if (call == NULL)
        return CORE_ERR_UNAVAILABLE;
    h2o_mem_pool_t *pool = &req->pool;
    h2o_iovec_t k = key1(store, pool, STORE_KEY_PRIVACY_TOKEN, token_hash), now = store_num(pool, now_ms),
                ttl = store_num(pool, ttl_ms);
    const char *a1[] = {"HSET",    k.base,  "ehash", email_hash.base, "site", site.base != NULL ? site.base : "",
                        "created", now.base};
    size_t l1[] = {4, k.len, 5, email_hash.len, 4, site.len, 7, now.len};
    store_call_command(call, 8, a1, l1);
    const char *a2[] = {"PEXPIRE", k.base, ttl.base};
    size_t l2[] = {7, k.len, ttl.len};
    store_call_command(call, 3, a2, l2);
    if (msg.len != 0)
        store_call_outbox_add(call, mail_from, rcpt, msg);
    return 0;
}

int store_privacy_token_get(store_t *store, h2o_req_t *req, h2o_iovec_t token_hash, bool take, store_values_cb cb,
                            void *data)
{
    store_call_t *call = store_values_start(store, req, 1, cb, data);
    if (call == NULL)
        return CORE_ERR_UNAVAILABLE;
    h2o_iovec_t k = key1(store, &req->pool, STORE_KEY_PRIVACY_TOKEN, token_hash);
    const char *argv[] = {k.base, take ? "take" : "read"};
    size_t lens[] = {k.len, 4};
    store_call_script(call, STORE_SCRIPT_privacy_token, 1, 1, argv, lens);
    return 0;
}

int store_privacy_comments(store_t *store, h2o_req_t *req, h2o_iovec_t email_hash, store_values_cb cb, void *data)
{
    return store_comment_refs_read(store, req, key1(store, &req->pool, STORE_KEY_EMAIL_COMMENTS, email_hash), cb, data);
}

int store_privacy_forget(store_t *store, h2o_req_t *req, h2o_iovec_t email_hash, const h2o_iovec_t *entries,
                         size_t num_entries, const h2o_iovec_t *sites, size_t num_sites, store_values_cb cb, void *data)
{
    store_call_t *call = store_values_start(store, req, 1 + num_sites, cb, data);
    if (call == NULL)
        return CORE_ERR_UNAVAILABLE;
    h2o_mem_pool_t *pool = &req->pool;
    h2o_iovec_t ec = key1(store, pool, STORE_KEY_EMAIL_COMMENTS, email_hash);
    if (num_entries != 0) {
        const char **argv = h2o_mem_alloc_pool(pool, sizeof(*argv) * (num_entries + 2));
        size_t *lens = h2o_mem_alloc_pool(pool, sizeof(*lens) * (num_entries + 2));
        argv[0] = "SREM", lens[0] = 4;
        argv[1] = ec.base, lens[1] = ec.len;
        for (size_t i = 0; i < num_entries; ++i)
            argv[2 + i] = entries[i].base, lens[2 + i] = entries[i].len;
        store_call_command(call, (int)(num_entries + 2), argv, lens);
    } else {
        const char *argv[] = {"EXISTS", ec.base};
        size_t lens[] = {6, ec.len};
        store_call_command(call, 2, argv, lens); /* a call needs one command */
    }
    for (size_t i = 0; i < num_sites; ++i) {
        h2o_iovec_t ae = key1(store, pool, STORE_KEY_APPROVED_EMAILS, sites[i]);
        const char *argv[] = {"SREM", ae.base, email_hash.base};
        size_t lens[] = {4, ae.len, email_hash.len};
        store_call_command(call, 3, argv, lens);
    }
    return 0;
}
