/* Comments in Redis. A thread's keys share the thread's hash tag (site:url-hash); the comment bodies live as JSON in
 * one hash per thread, so the Lua scripts read and write any comment of the thread without building key names.
 * The site-wide moderation queue, approved e-mails and bans live under the site's own tag. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/core_error.h"
#include "core/core_json.h"
#include "store/store_internal.h"

static h2o_iovec_t pool_copy(h2o_mem_pool_t *pool, const char *s, size_t len)
{
    return h2o_strdup(pool, s, len);
}

static h2o_iovec_t thread_key(store_t *store, h2o_mem_pool_t *pool, store_key_t key, const store_share_ref_t *t)
{
    h2o_iovec_t parts[] = {t->site, t->url_hash};
    return store_key_build(pool, store_prefix(store), key, 2, parts);
}

/* --- precheck --- */

struct st_precheck_t {
    store_precheck_t res;
    size_t num_limits;
    const store_limit_spec_t *limits; /* only the counted ones, in the order limit_hit.lua answers them */
    size_t idx_limits, idx_known, idx_bans, idx_seq, idx_parent;
};

static int on_precheck_reply(store_call_t *call, size_t idx, redisReply *reply)
{
    struct st_precheck_t *p = call->result;
    if (reply->type == REDIS_REPLY_ERROR)
        return CORE_ERR_UNAVAILABLE;
    if (idx == p->idx_limits) {
        /* lua/limit_hit.lua: {count, ms left} per counter, in the order of p->limits */
        if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 * p->num_limits)
            return CORE_ERR_UNAVAILABLE;
        for (size_t i = 0; i < p->num_limits; ++i) {
            redisReply *n = reply->element[2 * i], *ttl = reply->element[2 * i + 1];
            if (n->type != REDIS_REPLY_INTEGER || ttl->type != REDIS_REPLY_INTEGER)
                return CORE_ERR_UNAVAILABLE;
            if (n->integer > (long long)p->limits[i].limit && p->res.limited < 0) {
                p->res.limited = (int)i;
                p->res.retry_after_s = ttl->integer > 0 ? (uint32_t)((ttl->integer + 999) / 1000) : 1;
            }
        }
    } else if (idx == p->idx_known) {
        /* SMISMEMBER: this address's element, 1 = it has an approved comment on the site */
        if (reply->type != REDIS_REPLY_INTEGER)
            return CORE_ERR_UNAVAILABLE;
        p->res.email_known = reply->integer == 1;
    } else if (idx == p->idx_bans) {
        /* MGET: this comment's two ban keys (address, visitor), each nil or a ban */
        if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2)
            return CORE_ERR_UNAVAILABLE;
        for (size_t i = 0; i < 2; ++i)
            if (reply->element[i]->type != REDIS_REPLY_NIL)
                p->res.banned = true;
    } else if (idx == p->idx_seq) {
        if (reply->type != REDIS_REPLY_INTEGER || reply->integer <= 0)
            return CORE_ERR_UNAVAILABLE;
        p->res.id = (uint64_t)reply->integer;
    } else if (idx == p->idx_parent) {
        if (reply->type == REDIS_REPLY_STRING)
            p->res.parent = pool_copy(&call->req->pool, reply->str, reply->len);
    }
    return 0;
}

static void on_precheck_done(store_call_t *call, int err)
{
    struct st_precheck_t *p = call->result;
    ((store_precheck_cb)call->cb)(call->req, err, &p->res, call->data);
}

int store_comment_precheck(store_t *store, h2o_req_t *req, const store_share_ref_t *thread,
                           const store_limit_spec_t *limits, size_t num_limits, h2o_iovec_t email_hash,
                           h2o_iovec_t visitor, uint64_t parent, store_precheck_cb cb, void *data)
{
    store_call_t *call = store_call_start(store, req, on_precheck_reply, on_precheck_done);
    if (call == NULL)
        return CORE_ERR_UNAVAILABLE;
    h2o_mem_pool_t *pool = &req->pool;
    struct st_precheck_t *p = h2o_mem_alloc_pool(pool, sizeof(*p));
    memset(p, 0, sizeof(*p));
    p->res.limited = -1;
    store_limit_spec_t *counted = h2o_mem_alloc_pool(pool, sizeof(*counted) * (num_limits ? num_limits : 1));
    call->result = p;
    call->cb = (void *)cb;
    call->data = data;

    /* The counted limits in one script call (keys, then their windows): their keys share the visitor's hash tag
     * (COMMENT_RATE). */
    const char *largv[2 * STORE_PRECHECK_MAX_LIMITS];
    size_t llens[2 * STORE_PRECHECK_MAX_LIMITS], m = 0;
    if (num_limits > STORE_PRECHECK_MAX_LIMITS)
        abort(); /* programmer error */
    for (size_t i = 0; i < num_limits; ++i)
        m += limits[i].limit != 0;
    for (size_t i = 0; i < num_limits; ++i) {
        if (limits[i].limit == 0)
            continue;
        size_t nl = strlen(limits[i].name), k = p->num_limits++;
        char *name = h2o_mem_alloc_pool(pool, nl + 1 + limits[i].scope.len);
        memcpy(name, limits[i].name, nl);
        if (limits[i].scope.len != 0) {
            name[nl++] = ':';
            memcpy(name + nl, limits[i].scope.base, limits[i].scope.len);
            nl += limits[i].scope.len;
        }
        h2o_iovec_t parts[] = {visitor, h2o_iovec_init(name, nl)};
        h2o_iovec_t key = store_key_build(pool, store_prefix(store), STORE_KEY_COMMENT_RATE, 2, parts);
        char *win = h2o_mem_alloc_pool(pool, 24);
        largv[k] = key.base;
        llens[k] = key.len;
        largv[m + k] = win;
        llens[m + k] = core_u64_text((uint64_t)limits[i].window_s * 1000, win);
        counted[k] = limits[i];
    }
    p->limits = counted;
    p->idx_limits = SIZE_MAX;
    if (m > 0) {
        p->idx_limits = call->sent;
        store_call_script(call, STORE_SCRIPT_limit_hit, (int)m, (int)m, largv, llens);
    }

    /* Whether the address is known on the site (SMISMEMBER), and bans of the address ("e:<email hash>") or the
     * visitor ("v:<visitor>") (MGET): all in the site's slot, each asked for the worker's whole turn in one plain
     * command (store_call_command_grouped), as the new ids (lua/comment_ids.lua) and the creates are grouped. */
    char *eb = h2o_mem_alloc_pool(pool, email_hash.len + 3), *vb = h2o_mem_alloc_pool(pool, visitor.len + 3);
    memcpy(eb, "e:", 2);
    memcpy(eb + 2, email_hash.base, email_hash.len);
    memcpy(vb, "v:", 2);
    memcpy(vb + 2, visitor.base, visitor.len);
    h2o_iovec_t ep[] = {thread->site, h2o_iovec_init(eb, email_hash.len + 2)};
    h2o_iovec_t vp[] = {thread->site, h2o_iovec_init(vb, visitor.len + 2)};
    h2o_iovec_t ban_e = store_key_build(pool, store_prefix(store), STORE_KEY_BAN, 2, ep);
    h2o_iovec_t ban_v = store_key_build(pool, store_prefix(store), STORE_KEY_BAN, 2, vp);
    h2o_iovec_t ae = store_key_build(pool, store_prefix(store), STORE_KEY_APPROVED_EMAILS, 1, &thread->site);
    p->idx_known = call->sent;
    {
        const char *argv[] = {ae.base, email_hash.base};
        size_t lens[] = {ae.len, email_hash.len};
        store_call_command_grouped(call, "SMISMEMBER", 1, 1, 1, argv, lens);
    }
    p->idx_bans = call->sent;
    {
        const char *argv[] = {ban_e.base, ban_v.base};
        size_t lens[] = {ban_e.len, ban_v.len};
        store_call_command_grouped(call, "MGET", 0, 2, 2, argv, lens);
    }
    h2o_iovec_t th = thread_key(store, pool, STORE_KEY_THREAD, thread);
    p->idx_seq = call->sent;
    {
        const char *argv[] = {th.base, "1"};
        size_t lens[] = {th.len, 1};
        store_call_script_grouped(call, STORE_SCRIPT_comment_ids, 1, 0, 0, 1, argv, lens);
    }
    p->idx_parent = SIZE_MAX;
    if (parent != 0) {
        h2o_iovec_t cm = thread_key(store, pool, STORE_KEY_COMMENTS, thread);
        char pid[24];
        int pl = snprintf(pid, sizeof(pid), "%llu", (unsigned long long)parent);
        p->idx_parent = call->sent;
        const char *argv[] = {"HGET", cm.base, pid};
        size_t lens[] = {4, cm.len, (size_t)pl};
        store_call_command(call, 3, argv, lens);
    }
    return 0;
}

/* --- create --- */

struct st_create_t {
    store_create_result_t result;
    h2o_iovec_t public_json;
};

static int on_create_reply(store_call_t *call, size_t idx, redisReply *reply)
{
    struct st_create_t *c = call->result;
    if (idx != 0)
        return reply->type == REDIS_REPLY_ERROR ? CORE_ERR_UNAVAILABLE : 0;
    /* This comment's word in the group's answer (see comment_create.lua). */
    if (reply->type != REDIS_REPLY_STRING && reply->type != REDIS_REPLY_STATUS)
        return CORE_ERR_UNAVAILABLE;
    if (h2o_memis(reply->str, reply->len, H2O_STRLIT("ok")))
        c->result = STORE_CREATE_OK;
    else if (h2o_memis(reply->str, reply->len, H2O_STRLIT("locked")))
        c->result = STORE_CREATE_LOCKED;
    else if (h2o_memis(reply->str, reply->len, H2O_STRLIT("duplicate")))
        c->result = STORE_CREATE_DUPLICATE;
    else if (h2o_memis(reply->str, reply->len, H2O_STRLIT("parent")))
        c->result = STORE_CREATE_PARENT;
    else
        return CORE_ERR_UNAVAILABLE;
    return 0;
}

static void on_create_done(store_call_t *call, int err)
{
    struct st_create_t *c = call->result;
    ((store_create_cb)call->cb)(call->req, err, c->result, c->public_json, call->data);
}

int store_comment_create(store_t *store, h2o_req_t *req, const store_share_ref_t *thread, uint64_t id, uint64_t parent,
                         const char *status, h2o_iovec_t json, h2o_iovec_t dupe_hash, h2o_iovec_t title,
                         uint64_t created_ms, h2o_iovec_t email_hash, h2o_iovec_t user, h2o_iovec_t public_json,
                         h2o_iovec_t visitor, store_create_cb cb, void *data)
{
    store_call_t *call = store_call_start(store, req, on_create_reply, on_create_done);
    if (call == NULL)
        return CORE_ERR_UNAVAILABLE;
    h2o_mem_pool_t *pool = &req->pool;
    struct st_create_t *c = h2o_mem_alloc_pool(pool, sizeof(*c));
    c->result = STORE_CREATE_PARENT;
    c->public_json = public_json; /* the caller's, in the same pool: the script stores it and answers a word */
    call->result = c;
    call->cb = (void *)cb;
    call->data = data;
    char sid[24], spar[24], screated[24], splace[32];
    size_t lid = core_u64_text(id, sid), lpar = core_u64_text(parent, spar), lcr = core_u64_text(created_ms, screated);
    /* see comment_create.lua: a root's ROOTS_TOP score with no votes yet, or a reply's TREE member */
    int lplace = parent == 0 ? snprintf(splace, sizeof(splace), "%lld", 16777215LL - (long long)id)
                             : snprintf(splace, sizeof(splace), "%010llu:%010llu", (unsigned long long)parent,
                                        (unsigned long long)id);
    /* The thread's keys, the head (URL and title, for a new thread) and this comment's arguments: grouped with the
     * other comments this worker stores in the same thread in this event-loop turn (one script call for all). The
     * stored record and the public form go into COMMENTS and PUBLIC by HSET in the same transaction, ahead of the
     * script, which takes them back for a comment it refuses (store_call_script_grouped_hset). */
    static const store_key_t keys[] = {STORE_KEY_THREAD, STORE_KEY_COMMENTS,  STORE_KEY_ROOTS, STORE_KEY_ROOTS_TOP,
                                       STORE_KEY_TREE,   STORE_KEY_PENDING,   STORE_KEY_DUPES, STORE_KEY_APPROVED,
                                       STORE_KEY_PUBLIC, STORE_KEY_PENDING_BY};
    static const int set_keys[] = {1, 8}; /* COMMENTS, PUBLIC */
    enum { NKEYS = sizeof(keys) / sizeof(keys[0]), NARGS = 2 + 7 + 4 };
    const char *argv[NKEYS + NARGS];
    size_t lens[NKEYS + NARGS];
    for (size_t i = 0; i < NKEYS; ++i) {
        h2o_iovec_t k = thread_key(store, pool, keys[i], thread);
        argv[i] = k.base;
        lens[i] = k.len;
    }
    const char *args[NARGS] = {thread->canonical.base, title.base, sid, spar,      status, dupe_hash.base,  screated,
                               visitor.base,           splace,     sid, json.base, sid,    public_json.base};
    size_t alens[NARGS] = {
        thread->canonical.len, title.len, lid,      lpar, strlen(status), dupe_hash.len, lcr, visitor.len,
        (size_t)lplace,        lid,       json.len, lid,  public_json.len};
    for (size_t i = 0; i < NARGS; ++i) {
        argv[NKEYS + i] = args[i];
        lens[NKEYS + i] = alens[i];
    }
    store_call_script_grouped_hset(call, STORE_SCRIPT_comment_create, NKEYS, 2, 0, 7, 2, set_keys, argv, lens);

    /* The moderation queue entry: written even if the script refuses (duplicate, locked); readers of the queue
     * check each entry against the comment itself and drop stale ones. */
    h2o_iovec_t qparts[] = {thread->site, h2o_iovec_init(status, strlen(status))};
    h2o_iovec_t q = store_key_build(pool, store_prefix(store), STORE_KEY_MODQ, 2, qparts);
    size_t mlen = thread->url_hash.len + 1 + lid;
    char *member = h2o_mem_alloc_pool(pool, mlen + 1);
    memcpy(member, thread->url_hash.base, thread->url_hash.len);
    member[thread->url_hash.len] = ':';
    memcpy(member + thread->url_hash.len + 1, sid, lid);
    const char *qargv[] = {q.base, screated, member};
    size_t qlens[] = {q.len, lcr, mlen};
    store_call_command_grouped(call, "ZADD", 1, 2, 0, qargv, qlens); /* one ZADD for the turn's creates */

    /* The comment's reference "site:url-hash:id" goes into two lists, each written even if the script refuses, like
     * the queue entry (readers skip entries whose comment is gone): every comment under its address's keyed hash,
     * for "manage my comments" (api_privacy.c; also skipped when the comment has another or, after retention, no
     * e-mail hash), and a logged-in author's under the account, for its export and deletion. */
    size_t rlen = thread->site.len + 1 + mlen;
    char *ref = h2o_mem_alloc_pool(pool, rlen + 1);
    memcpy(ref, thread->site.base, thread->site.len);
    ref[thread->site.len] = ':';
    memcpy(ref + thread->site.len + 1, member, mlen);
    const struct {
        store_key_t key;
        h2o_iovec_t owner;
    } lists[] = {{STORE_KEY_EMAIL_COMMENTS, email_hash}, {STORE_KEY_USER_COMMENTS, user}};
    for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); ++i) {
        if (lists[i].owner.len == 0)
            continue;
        h2o_iovec_t k = store_key_build(pool, store_prefix(store), lists[i].key, 1, &lists[i].owner);
        const char *sargv[] = {"SADD", k.base, ref};
        size_t slens[] = {4, k.len, rlen};
        store_call_command(call, 3, sargv, slens);
    }
    return 0;
}

/* --- page --- */

static int on_page_reply(store_call_t *call, size_t idx, redisReply *reply)
{
    store_page_t *pg = call->result;
    h2o_mem_pool_t *pool = &call->req->pool;
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 2 || reply->element[0]->type != REDIS_REPLY_ARRAY)
        return CORE_ERR_UNAVAILABLE;
    redisReply *th = reply->element[0];
    for (size_t i = 0; i + 1 < th->elements; i += 2) {
        redisReply *f = th->element[i], *v = th->element[i + 1];
        if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
            continue;
        if (h2o_memis(f->str, f->len, H2O_STRLIT("url"))) {
            pg->url = pool_copy(pool, v->str, v->len);
            pg->exists = true;
        } else if (h2o_memis(f->str, f->len, H2O_STRLIT("title"))) {
            pg->title = pool_copy(pool, v->str, v->len);
        } else if (h2o_memis(f->str, f->len, H2O_STRLIT("count"))) {
            pg->count = store_parse_u64(v->str, v->len);
        } else if (h2o_memis(f->str, f->len, H2O_STRLIT("ver"))) {
            pg->ver = pool_copy(pool, v->str, v->len);
        } else if (h2o_memis(f->str, f->len, H2O_STRLIT("locked"))) {
            pg->locked = v->len == 1 && v->str[0] == '1';
        }
    }
    redisReply *next = reply->element[1];
    if (next->type == REDIS_REPLY_STRING && next->len != 0)
        pg->next = pool_copy(pool, next->str, next->len);
    size_t max = (reply->elements - 2) / 3;
    pg->num_comments = 0;
    pg->ids = h2o_mem_alloc_pool(pool, sizeof(uint64_t) * (max + 1));
    pg->parents = h2o_mem_alloc_pool(pool, sizeof(uint64_t) * (max + 1));
    pg->publics = h2o_mem_alloc_pool(pool, sizeof(h2o_iovec_t) * (max + 1));
    for (size_t i = 2; i + 2 < reply->elements; i += 3) {
        redisReply *id = reply->element[i], *parent = reply->element[i + 1], *pub = reply->element[i + 2];
        if (id->type != REDIS_REPLY_STRING || parent->type != REDIS_REPLY_STRING || pub->type != REDIS_REPLY_STRING)
            continue;
        pg->ids[pg->num_comments] = store_parse_u64(id->str, id->len);
        pg->parents[pg->num_comments] = store_parse_u64(parent->str, parent->len);
        pg->publics[pg->num_comments] = pool_copy(pool, pub->str, pub->len);
        pg->num_comments++;
    }
    return 0;
}

static void on_page_done(store_call_t *call, int err)
{
    ((store_page_cb)call->cb)(call->req, err, call->result, call->data);
}

int store_comments_page(store_t *store, h2o_req_t *req, const store_share_ref_t *thread, const char *sort,
                        h2o_iovec_t cursor, uint32_t limit, h2o_iovec_t viewer, store_page_cb cb, void *data)
{
    store_call_t *call = store_call_start(store, req, on_page_reply, on_page_done);
    if (call == NULL)
        return CORE_ERR_UNAVAILABLE;
    h2o_mem_pool_t *pool = &req->pool;
    store_page_t *pg = h2o_mem_alloc_pool(pool, sizeof(*pg));
    memset(pg, 0, sizeof(*pg));
    call->result = pg;
    call->cb = (void *)cb;
    call->data = data;
    h2o_iovec_t th = thread_key(store, pool, STORE_KEY_THREAD, thread);
    h2o_iovec_t cm = thread_key(store, pool, STORE_KEY_COMMENTS, thread);
    h2o_iovec_t roots =
        thread_key(store, pool, strcmp(sort, "top") == 0 ? STORE_KEY_ROOTS_TOP : STORE_KEY_ROOTS, thread);
    h2o_iovec_t tree = thread_key(store, pool, STORE_KEY_TREE, thread);
    h2o_iovec_t pend = thread_key(store, pool, STORE_KEY_PENDING, thread);
    h2o_iovec_t pub = thread_key(store, pool, STORE_KEY_PUBLIC, thread);
    char lim[16];
    int ll = snprintf(lim, sizeof(lim), "%u", limit);
    const char *argv[] = {th.base,    cm.base,
                          roots.base, tree.base,
                          pend.base,  pub.base,
                          sort,       cursor.base ? cursor.base : "",
                          lim,        viewer.base ? viewer.base : ""};
    size_t lens[] = {th.len,  cm.len,       roots.len,  tree.len,   pend.len,
                     pub.len, strlen(sort), cursor.len, (size_t)ll, viewer.len};
    store_call_script(call, STORE_SCRIPT_comments_page, 6, 4, argv, lens);
    return 0;
}

/* --- counts --- */

struct st_counts_t {
    uint64_t *counts;
    size_t n;
};

static int on_counts_reply(store_call_t *call, size_t idx, redisReply *reply)
{
    struct st_counts_t *c = call->result;
    return store_reply_u64(reply, &c->counts[idx]) == 0 ? 0 : CORE_ERR_UNAVAILABLE;
}

static void on_counts_done(store_call_t *call, int err)
{
    struct st_counts_t *c = call->result;
    ((store_counts_cb)call->cb)(call->req, err, c->counts, c->n, call->data);
}

int store_comment_counts(store_t *store, h2o_req_t *req, const store_share_ref_t *refs, size_t n, store_counts_cb cb,
                         void *data)
{
    store_call_t *call = store_call_start(store, req, on_counts_reply, on_counts_done);
    if (call == NULL)
        return CORE_ERR_UNAVAILABLE;
    struct st_counts_t *c = h2o_mem_alloc_pool(&req->pool, sizeof(*c));
    c->n = n;
    c->counts = h2o_mem_alloc_pool(&req->pool, sizeof(uint64_t) * (n ? n : 1));
    memset(c->counts, 0, sizeof(uint64_t) * (n ? n : 1));
    call->result = c;
    call->cb = (void *)cb;
    call->data = data;
    for (size_t i = 0; i < n; ++i) {
        h2o_iovec_t th = thread_key(store, &req->pool, STORE_KEY_THREAD, &refs[i]);
        const char *argv[] = {"HGET", th.base, "count"};
        size_t lens[] = {4, th.len, 5};
        store_call_command(call, 3, argv, lens);
    }
    if (n == 0) {
        const char *argv[] = {"PING"};
        size_t lens[] = {4};
        call->on_reply = NULL;
        store_call_command(call, 1, argv, lens);
    }
    return 0;
}

/* --- one comment, private form (moderation pages) --- */

struct st_read_t {
    h2o_iovec_t json, url;
};

static int on_read_reply(store_call_t *call, size_t idx, redisReply *reply)
{
    struct st_read_t *r = call->result;
    if (reply->type == REDIS_REPLY_STRING) {
        h2o_iovec_t v = pool_copy(&call->req->pool, reply->str, reply->len);
        if (idx == 0)
            r->json = v;
        else
            r->url = v;
    } else if (reply->type != REDIS_REPLY_NIL) {
        return CORE_ERR_UNAVAILABLE;
    }
    return 0;
}

static void on_read_done(store_call_t *call, int err)
{
    struct st_read_t *r = call->result;
    ((store_comment_read_cb)call->cb)(call->req, err, r->json, r->url, call->data);
}

int store_comment_read(store_t *store, h2o_req_t *req, const store_share_ref_t *thread, uint64_t id,
                       store_comment_read_cb cb, void *data)
{
    store_call_t *call = store_call_start(store, req, on_read_reply, on_read_done);
    if (call == NULL)
        return CORE_ERR_UNAVAILABLE;
    struct st_read_t *r = h2o_mem_alloc_pool(&req->pool, sizeof(*r));
    memset(r, 0, sizeof(*r));
    call->result = r;
    call->cb = (void *)cb;
    call->data = data;
    h2o_iovec_t cm = thread_key(store, &req->pool, STORE_KEY_COMMENTS, thread);
    h2o_iovec_t th = thread_key(store, &req->pool, STORE_KEY_THREAD, thread);
    char sid[24];
    int sl = snprintf(sid, sizeof(sid), "%llu", (unsigned long long)id);
    {
        const char *argv[] = {"HGET", cm.base, sid};
        size_t lens[] = {4, cm.len, (size_t)sl};
        store_call_command(call, 3, argv, lens);
    }
    const char *argv[] = {"HGET", th.base, "url"};
    size_t lens[] = {4, th.len, 3};
    store_call_command(call, 3, argv, lens);
    return 0;
}
