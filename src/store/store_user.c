/* Accounts and sessions in Redis: thin wrappers that fill in keys and arguments for the lua/user_*.lua,
 * login_fail.lua and session_*.lua scripts (their headers are the contracts), replies copied as store_value_t. */
#include <string.h>
#include "core/core_error.h"
#include "store/store_internal.h"

static h2o_iovec_t key1(store_t *store, h2o_mem_pool_t *pool, store_key_t key, h2o_iovec_t part)
{
    return store_key_build(pool, store_prefix(store), key, 1, &part);
}

static h2o_iovec_t key0(store_t *store, h2o_mem_pool_t *pool, store_key_t key)
{
    return store_key_build(pool, store_prefix(store), key, 0, NULL);
}

/* A script call from parallel arrays of iovecs (keys then arguments). */
static void script(store_call_t *call, store_script_t s, size_t nkeys, size_t nargs, const h2o_iovec_t *v)
{
    const char *argv[24];
    size_t lens[24];
    for (size_t i = 0; i < nkeys + nargs && i < 24; ++i) {
        argv[i] = v[i].base != NULL ? v[i].base : "";
        lens[i] = v[i].len;
    }
    store_call_script(call, s, (int)nkeys, (int)nargs, argv, lens);
}

/* The LOGIN_FAILS part: "u" and the account id, or for a login name that has no account "n" and its keyed hash. */
static h2o_iovec_t fail_part(h2o_mem_pool_t *pool, h2o_iovec_t id, h2o_iovec_t login_hash)
{
    h2o_iovec_t src = id.len != 0 ? id : login_hash;
    h2o_iovec_t p = h2o_iovec_init(h2o_mem_alloc_pool(pool, src.len + 2), src.len + 1);
    p.base[0] = id.len != 0 ? 'u' : 'n';
    memcpy(p.base + 1, src.base, src.len);
    p.base[src.len + 1] = '\0';
    return p;
}

static h2o_iovec_t fail_part_of(h2o_mem_pool_t *pool, h2o_iovec_t id)
{
    return fail_part(pool, id, h2o_iovec_init(NULL, 0));
}

int store_user_find(store_t *store, h2o_req_t *req, h2o_iovec_t name_lc, h2o_iovec_t email_lc, store_values_cb cb,
                    void *data)
{
    store_call_t *call = store_values_start(store, req, 2, cb, data);
    if (call == NULL)
        return CORE_ERR_UNAVAILABLE;
    h2o_iovec_t names = key0(store, &req->pool, STORE_KEY_USER_NAMES),
                emails = key0(store, &req->pool, STORE_KEY_USER_EMAILS);
    /* An empty field never exists, so an absent name or e-mail reads NIL without a special case. */
    const char *a1[] = {"HGET", names.base, name_lc.base != NULL ? name_lc.base : ""};
    size_t l1[] = {4, names.len, name_lc.len};
    store_call_command(call, 3, a1, l1);
    const char *a2[] = {"HGET", emails.base, email_lc.base != NULL ? email_lc.base : ""};
    size_t l2[] = {4, emails.len, email_lc.len};
    store_call_command(call, 3, a2, l2);
    return 0;
}

bool store_user_entry(const store_value_t *v, uint64_t now_ms, char id[STORE_USER_ID_LEN + 1], uint64_t *exp)
{
    if (v->type != STORE_STR || v->str.len < STORE_USER_ID_LEN + 2 || v->str.base[STORE_USER_ID_LEN] != '|')
        return false;
    for (size_t i = 0; i < STORE_USER_ID_LEN; ++i) {
        char c = v->str.base[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
    }
    uint64_t e = store_parse_u64(v->str.base + STORE_USER_ID_LEN + 1, v->str.len - STORE_USER_ID_LEN - 1);
    if (e != 0 && e <= now_ms)
        return false;
    memcpy(id, v->str.base, STORE_USER_ID_LEN);
    id[STORE_USER_ID_LEN] = '\0';
    *exp = e;
    return true;
}

int store_user_register(store_t *store, h2o_req_t *req, const store_user_new_t *u, store_values_cb cb, void *data)
{
    store_call_t *call = store_values_start(store, req, 1, cb, data);
    if (call == NULL)
        return CORE_ERR_UNAVAILABLE;
    h2o_mem_pool_t *pool = &req->pool;
    h2o_iovec_t v[] = {key0(store, pool, STORE_KEY_USER_NAMES),
                       key0(store, pool, STORE_KEY_USER_EMAILS),
                       key1(store, pool, STORE_KEY_USER, u->id),
                       u->id,
                       u->name,
                       u->name_lc,
                       u->email,
                       u->email_lc,
                       u->phc,
                       store_num(pool, u->now_ms),
                       u->verify_hash,
                       store_num(pool, u->verify_exp_ms),
                       store_num(pool, u->unverified_ttl_ms)};
    script(call, STORE_SCRIPT_user_register, 3, 10, v);
    return 0;
}

int store_user_read(store_t *store, h2o_req_t *req, h2o_iovec_t id, h2o_iovec_t login_hash, store_values_cb cb,
                    void *data)
{
    store_call_t *call = store_values_start(store, req, 2, cb, data);
    if (call == NULL)
        return CORE_ERR_UNAVAILABLE;
    /* An unknown login reads a key no account can have ("-"), so both cases cost the same. */
    h2o_iovec_t user = key1(store, &req->pool, STORE_KEY_USER, id.len != 0 ? id : h2o_iovec_init(H2O_STRLIT("-"))),
                fails = key1(store, &req->pool, STORE_KEY_LOGIN_FAILS, fail_part(&req->pool, id, login_hash));
    const char *a1[] = {"HMGET", user.base, "name", "email", "phc", "verified", "created"};
    size_t l1[] = {5, user.len, 4, 5, 3, 8, 7};
    store_call_command(call, 7, a1, l1);
    const char *a2[] = {"HMGET", fails.base, "n", "until"};
    size_t l2[] = {5, fails.len, 1, 5};
    store_call_command(call, 4, a2, l2);
    return 0;
}

int store_user_token(store_t *store, h2o_req_t *req, h2o_iovec_t id, const char *kind, h2o_iovec_t hash,
                     uint64_t exp_ms, const char *mail_from, const char *rcpt, h2o_iovec_t msg, store_values_cb cb,
                     void *data)
{
    store_call_t *call = store_values_start(store, req, 2, cb, data);
    if (call == NULL)
        return CORE_ERR_UNAVAILABLE;
    h2o_iovec_t v[] = {key1(store, &req->pool, STORE_KEY_USER, id), h2o_iovec_init(kind, strlen(kind)), hash,
                       store_num(&req->pool, exp_ms)};
    script(call, STORE_SCRIPT_user_token, 1, 3, v);
    if (msg.len != 0)
        store_call_outbox_add(call, mail_from, rcpt, msg);
    return 0;
}

int store_user_verify(store_t *store, h2o_req_t *req, h2o_iovec_t id, h2o_iovec_t hash, uint64_t now_ms,
                      store_values_cb cb, void *data)
{
    store_call_t *call = store_values_start(store, req, 1, cb, data);
    if (call == NULL)
        return CORE_ERR_UNAVAILABLE;
    h2o_mem_pool_t *pool = &req->pool;
    h2o_iovec_t v[] = {key1(store, pool, STORE_KEY_USER, id),
                       key0(store, pool, STORE_KEY_USER_NAMES),
                       key0(store, pool, STORE_KEY_USER_EMAILS),
                       hash,
                       store_num(pool, now_ms),
                       id};
    script(call, STORE_SCRIPT_user_verify, 3, 3, v);
    return 0;
}

int store_user_fail(store_t *store, h2o_req_t *req, h2o_iovec_t id, h2o_iovec_t login_hash, uint64_t now_ms,
                    uint32_t free_failures, uint64_t max_delay_ms, uint64_t window_ms, store_values_cb cb, void *data)
{
    store_call_t *call = store_values_start(store, req, 1, cb, data);
    if (call == NULL)
        return CORE_ERR_UNAVAILABLE;
    h2o_mem_pool_t *pool = &req->pool;
    h2o_iovec_t v[] = {key1(store, pool, STORE_KEY_LOGIN_FAILS, fail_part(pool, id, login_hash)),
                       store_num(pool, now_ms), store_num(pool, free_failures), store_num(pool, max_delay_ms),
                       store_num(pool, window_ms)};
    script(call, STORE_SCRIPT_login_fail, 1, 4, v);
    return 0;
}

int store_user_password(store_t *store, h2o_req_t *req, h2o_iovec_t id, const char *mode, h2o_iovec_t arg,
                        h2o_iovec_t phc, h2o_iovec_t old_phc, uint64_t now_ms, store_values_cb cb, void *data)
{
    store_call_t *call = store_values_start(store, req, 1, cb, data);
    if (call == NULL)
        return CORE_ERR_UNAVAILABLE;
    h2o_mem_pool_t *pool = &req->pool;
    h2o_iovec_t v[] = {key1(store, pool, STORE_KEY_USER, id),
                       key1(store, pool, STORE_KEY_USER_SESSIONS, id),
                       key1(store, pool, STORE_KEY_LOGIN_FAILS, fail_part_of(pool, id)),
                       key0(store, pool, STORE_KEY_USER_NAMES),
                       key0(store, pool, STORE_KEY_USER_EMAILS),
                       h2o_iovec_init(mode, strlen(mode)),
                       arg,
                       phc,
                       store_num(pool, now_ms),
                       id,
                       old_phc};
    script(call, STORE_SCRIPT_user_password, 5, 6, v);
    return 0;
}

int store_session_create(store_t *store, h2o_req_t *req, h2o_iovec_t id, h2o_iovec_t hash, h2o_iovec_t user_agent,
                         uint64_t now_ms, uint64_t idle_ms, uint64_t max_ms, uint32_t max_sessions, store_values_cb cb,
                         void *data)
{
    store_call_t *call = store_values_start(store, req, 1, cb, data);
    if (call == NULL)
        return CORE_ERR_UNAVAILABLE;
    h2o_mem_pool_t *pool = &req->pool;
    h2o_iovec_t v[] = {key1(store, pool, STORE_KEY_USER_SESSIONS, id),
                       key1(store, pool, STORE_KEY_LOGIN_FAILS, fail_part_of(pool, id)),
                       key1(store, pool, STORE_KEY_USER, id),
                       hash,
                       store_num(pool, now_ms),
                       user_agent,
                       store_num(pool, idle_ms),
                       store_num(pool, max_ms),
                       store_num(pool, max_sessions)};
    script(call, STORE_SCRIPT_session_create, 3, 6, v);
    return 0;
}

int store_session_touch(store_t *store, h2o_req_t *req, h2o_iovec_t id, h2o_iovec_t hash, uint64_t now_ms,
                        uint64_t idle_ms, uint64_t max_ms, uint64_t touch_ms, store_values_cb cb, void *data)
{
    store_call_t *call = store_values_start(store, req, 1, cb, data);
    if (call == NULL)
        return CORE_ERR_UNAVAILABLE;
    h2o_mem_pool_t *pool = &req->pool;
    h2o_iovec_t v[] = {key1(store, pool, STORE_KEY_USER_SESSIONS, id),
                       key1(store, pool, STORE_KEY_USER, id),
                       hash,
                       store_num(pool, now_ms),
                       store_num(pool, idle_ms),
                       store_num(pool, max_ms),
                       store_num(pool, touch_ms)};
    script(call, STORE_SCRIPT_session_touch, 2, 5, v);
    return 0;
}

int store_session_end(store_t *store, h2o_req_t *req, h2o_iovec_t id, const char *mode, h2o_iovec_t arg,
                      store_values_cb cb, void *data)
{
    store_call_t *call = store_values_start(store, req, 1, cb, data);
    if (call == NULL)
        return CORE_ERR_UNAVAILABLE;
    h2o_iovec_t v[] = {key1(store, &req->pool, STORE_KEY_USER_SESSIONS, id), h2o_iovec_init(mode, strlen(mode)), arg};
    script(call, STORE_SCRIPT_session_end, 1, 2, v);
    return 0;
}

int store_session_list(store_t *store, h2o_req_t *req, h2o_iovec_t id, store_values_cb cb, void *data)
{
    store_call_t *call = store_values_start(store, req, 1, cb, data);
    if (call == NULL)
        return CORE_ERR_UNAVAILABLE;
    h2o_iovec_t k = key1(store, &req->pool, STORE_KEY_USER_SESSIONS, id);
    const char *argv[] = {"HGETALL", k.base};
    size_t lens[] = {7, k.len};
    store_call_command(call, 2, argv, lens);
    return 0;
}

/* --- an account's comments: two round trips, the second built from the first's answer --- */

#define USER_COMMENTS_MAX 10000

struct st_user_comments_t {
    store_t *store;
    store_values_cb cb;
    void *data;
};

static void on_user_entries(h2o_req_t *req, int err, const store_value_t *v, size_t n, void *data)
{
    struct st_user_comments_t *u = data;
    if (err != 0 || n < 1 || v[0].type != STORE_ARR) {
        u->cb(req, err != 0 ? err : CORE_ERR_UNAVAILABLE, NULL, 0, u->data);
        return;
    }
    size_t entries = v[0].num_items < USER_COMMENTS_MAX ? v[0].num_items : USER_COMMENTS_MAX;
    store_call_t *call = store_values_start(u->store, req, entries * 3 + 1, u->cb, u->data);
    if (call == NULL) {
        u->cb(req, CORE_ERR_UNAVAILABLE, NULL, 0, u->data);
        return;
    }
    h2o_mem_pool_t *pool = &req->pool;
    for (size_t i = 0; i < entries; ++i) {
        h2o_iovec_t e = v[0].items[i].str;
        /* "site:url-hash:id"; a malformed entry reads as a comment that is gone */
        const char *c1 = memchr(e.base, ':', e.len),
                   *c2 = c1 != NULL ? memchr(c1 + 1, ':', (size_t)(e.base + e.len - c1 - 1)) : NULL;
        h2o_iovec_t parts[] = {c1 != NULL ? h2o_iovec_init(e.base, (size_t)(c1 - e.base)) : h2o_iovec_init("-", 1),
                               c2 != NULL ? h2o_iovec_init(c1 + 1, (size_t)(c2 - c1 - 1)) : h2o_iovec_init("-", 1)};
        h2o_iovec_t id =
            c2 != NULL ? h2o_strdup(pool, c2 + 1, (size_t)(e.base + e.len - c2 - 1)) : h2o_iovec_init("0", 1);
        h2o_iovec_t cm = store_key_build(pool, store_prefix(u->store), STORE_KEY_COMMENTS, 2, parts),
                    th = store_key_build(pool, store_prefix(u->store), STORE_KEY_THREAD, 2, parts);
        const char *a1[] = {"ECHO", e.base};
        size_t l1[] = {4, e.len};
        store_call_command(call, 2, a1, l1);
        const char *a2[] = {"HGET", cm.base, id.base};
        size_t l2[] = {4, cm.len, id.len};
        store_call_command(call, 3, a2, l2);
        const char *a3[] = {"HGET", th.base, "url"};
        size_t l3[] = {4, th.len, 3};
        store_call_command(call, 3, a3, l3);
    }
    if (entries == 0) {
        const char *a[] = {"PING"};
        size_t l[] = {4};
        store_call_command(call, 1, a, l); /* a call needs one command; its PONG is not an entry */
    }
}

int store_comment_refs_read(store_t *store, h2o_req_t *req, h2o_iovec_t set_key, store_values_cb cb, void *data)
{
    struct st_user_comments_t *u = h2o_mem_alloc_pool(&req->pool, sizeof(*u));
    *u = (struct st_user_comments_t){store, cb, data};
    store_call_t *call = store_values_start(store, req, 1, on_user_entries, u);
    if (call == NULL)
        return CORE_ERR_UNAVAILABLE;
    const char *argv[] = {"SMEMBERS", set_key.base};
    size_t lens[] = {8, set_key.len};
    store_call_command(call, 2, argv, lens);
    return 0;
}

int store_user_comments(store_t *store, h2o_req_t *req, h2o_iovec_t id, store_values_cb cb, void *data)
{
    return store_comment_refs_read(store, req, key1(store, &req->pool, STORE_KEY_USER_COMMENTS, id), cb, data);
}

int store_user_delete(store_t *store, h2o_req_t *req, h2o_iovec_t id, h2o_iovec_t name_lc, h2o_iovec_t email_lc,
                      store_values_cb cb, void *data)
{
    store_call_t *call = store_values_start(store, req, 1, cb, data);
    if (call == NULL)
        return CORE_ERR_UNAVAILABLE;
    h2o_mem_pool_t *pool = &req->pool;
    h2o_iovec_t v[] = {key1(store, pool, STORE_KEY_USER, id),
                       key0(store, pool, STORE_KEY_USER_NAMES),
                       key0(store, pool, STORE_KEY_USER_EMAILS),
                       key1(store, pool, STORE_KEY_USER_SESSIONS, id),
                       key1(store, pool, STORE_KEY_LOGIN_FAILS, fail_part_of(pool, id)),
                       key1(store, pool, STORE_KEY_USER_COMMENTS, id),
                       id,
                       name_lc,
                       email_lc};
    script(call, STORE_SCRIPT_user_delete, 6, 3, v);
    return 0;
}
