/* Moderation API (admin role). An admin call carries `Authorization: Bearer <token>` where the token is either the
 * session of an account with the admin role (a verified address listed in accounts.admin_emails) or, for scripts,
 * the value of the environment variable named by the config key admin_token_env. Of the latter only its SHA-256 is
 * kept in memory, compared in constant time; with the variable unset only admin sessions are accepted.
 *
 *   GET  /api/v1/admin/comments?site=&status=pending|spam|approved&cursor=&limit=   the queue, newest first
 *   POST /api/v1/admin/comments/{ref}/{approve|spam|delete} {site}                  ref = "<url-hash>:<id>"
 *   POST /api/v1/admin/threads/{lock|unlock} {site,url}
 *   POST /api/v1/admin/bans {site, email | visitor, duration_s}
 *   GET  /api/v1/admin/mail/dead?cursor=&limit=                                     dead letters, newest first
 *   POST /api/v1/admin/mail/dead/{id}/retry                                         back into the outbox
 *
 * Approving an author's comment records the e-mail as approved, which releases it from "first" moderation, and
 * approving a reply tells its parent's author when they asked for it (api_notify_reply). Queue
 * entries are checked against the comment itself when listed, so a stale entry never shows a wrong status. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "core/core_error.h"
#include "core/core_token.h"
#include "core/core_url.h"
#include "api/api.h"

static uint8_t admin_hash[CORE_SHA256_LEN];
static bool admin_enabled;

void api_admin_init(const core_config_t *cfg)
{
    const char *tok = getenv(cfg->admin_token_env);
    admin_enabled = tok != NULL && strlen(tok) >= 16;
    if (admin_enabled)
        core_sha256(tok, strlen(tok), admin_hash);
}

typedef void (*admin_fn)(api_req_t *r);

static void reply_denied(api_req_t *r, int err)
{
    if (err == CORE_ERR_UNAUTHORIZED)
        h2o_add_header(&r->req->pool, &r->req->res.headers, H2O_TOKEN_WWW_AUTHENTICATE, NULL, H2O_STRLIT("Bearer"));
    api_reply_error(r, err, NULL,
                    err == CORE_ERR_FORBIDDEN ? "This needs an administrator."
                                              : "This needs the admin token or an "
                                                "administrator's session.");
}

static void on_admin_user(api_req_t *r, int err, const api_user_t *user, void *data)
{
    if (err != 0) {
        api_reply_error(r, err, NULL, NULL);
        return;
    }
    if (user == NULL) {
        reply_denied(r, CORE_ERR_UNAUTHORIZED);
        return;
    }
    if (!user->admin) {
        reply_denied(r, CORE_ERR_FORBIDDEN);
        return;
    }
    ((admin_fn)data)(r);
}

/* Runs GO when the request carries the admin token (compared in constant time) or the session of an account with
 * the admin role (a verified address listed in accounts.admin_emails); else answers 401 (403 for a logged-in user
 * who is not an admin). */
static void admin_gate(api_req_t *r, admin_fn go)
{
    h2o_iovec_t v;
    if (api_bearer(r, &v)) {
        if (admin_enabled) {
            uint8_t h[CORE_SHA256_LEN];
            core_sha256(v.base, v.len, h);
            if (core_memeq_ct(h, admin_hash, sizeof(h))) {
                go(r);
                return;
            }
        }
        int err = api_user_resolve(r, on_admin_user, (void *)go);
        if (err == 0)
            return;
        if (err != CORE_ERR_UNAUTHORIZED) {
            api_reply_error(r, err, NULL, NULL);
            return;
        }
    }
    reply_denied(r, CORE_ERR_UNAUTHORIZED);
}

static bool is_status(h2o_iovec_t s)
{
    return h2o_memis(s.base, s.len, H2O_STRLIT("pending")) || h2o_memis(s.base, s.len, H2O_STRLIT("spam")) ||
           h2o_memis(s.base, s.len, H2O_STRLIT("approved"));
}

/* --- the queue --- */

struct st_list_t {
    api_req_t *r;
    h2o_iovec_t status;
};

static void on_list(h2o_req_t *req, int err, const store_value_t *v, size_t n, void *data)
{
    struct st_list_t *l = data;
    if (err != 0 || n < 1) {
        api_reply_error(l->r, err != 0 ? err : CORE_ERR_UNAVAILABLE, NULL, NULL);
        return;
    }
    json_t *items = json_array();
    size_t entries = (n - 1) / 3;
    for (size_t i = 0; i < entries; ++i) {
        const store_value_t *member = &v[3 * i], *json = &v[3 * i + 1], *url = &v[3 * i + 2];
        if (json->type != STORE_STR)
            continue;
        json_t *c = json_loadb(json->str.base, json->str.len, 0, NULL);
        const char *st = c != NULL ? json_string_value(json_object_get(c, "status")) : NULL;
        if (st == NULL || !h2o_memis(st, strlen(st), l->status.base, l->status.len)) {
            json_decref(c);
            continue; /* stale queue entry */
        }
        /* Admins see the e-mail and the visitor hash (to ban a visitor: a daily-keyed hash, never an IP); the
         * edit-token hash stays inside. */
        json_object_del(c, "edit");
        json_object_set_new(c, "ref", json_stringn(member->str.base, member->str.len));
        json_object_set_new(c, "thread", json_stringn(url->str.base, url->str.len));
        json_array_append_new(items, c);
    }
    const store_value_t *last = &v[n - 1];
    json_t *next = entries > 0 && last->type == STORE_STR && last->str.len > 0
                       ? json_stringn(last->str.base, last->str.len)
                       : json_null();
    api_reply_json(l->r, 200, json_pack("{s:o,s:o}", "items", items, "next", next));
}

static void list_go(api_req_t *r)
{
    const api_param_t *site = api_query_get(r, "site"), *status = api_query_get(r, "status");
    const api_param_t *cursor = api_query_get(r, "cursor"), *limit = api_query_get(r, "limit");
    if (api_site_or_reply(r, site ? site->value.base : NULL, site ? site->value.len : 0) == NULL)
        return;
    struct st_list_t *l = h2o_mem_alloc_pool(&r->req->pool, sizeof(*l));
    l->r = r;
    l->status = status != NULL ? status->value : h2o_iovec_init(H2O_STRLIT("pending"));
    if (!is_status(l->status)) {
        api_reply_error(r, CORE_ERR_INVALID, "status", "Give status pending, spam or approved.");
        return;
    }
    unsigned long long before = 0;
    if (cursor != NULL) {
        char *end;
        before = strtoull(cursor->value.base, &end, 10);
        if (cursor->value.len == 0 || *end != '\0' || !isdigit((unsigned char)cursor->value.base[0])) {
            api_reply_error(r, CORE_ERR_INVALID, "cursor", "Use the `next` value of the previous page.");
            return;
        }
    }
    unsigned long lim = 50;
    if (limit != NULL) {
        char *end;
        lim = strtoul(limit->value.base, &end, 10);
        if (limit->value.len == 0 || *end != '\0' || lim < 1 || lim > 200) {
            api_reply_error(r, CORE_ERR_INVALID, "limit", "The page size must be from 1 to 200.");
            return;
        }
    }
    int err = store_modq_list(r->env->store, r->req, h2o_iovec_init(r->site->id, strlen(r->site->id)),
                              h2o_strdup(&r->req->pool, l->status.base, l->status.len).base, before, (uint32_t)lim,
                              on_list, l);
    if (err != 0)
        api_reply_error(r, err, NULL, NULL);
}

/* --- one comment --- */

struct st_act_t {
    api_req_t *r;
    store_share_ref_t thread;
    h2o_iovec_t member;
    uint64_t id;
    json_t *after;
    bool now_visible; /* this act approved a comment that was not approved */
};

static void reply_act(struct st_act_t *a)
{
    json_t *c = a->after;
    a->after = NULL;
    json_object_del(c, "edit");
    json_object_set_new(c, "ref", json_stringn(a->member.base, a->member.len));
    api_reply_json(a->r, 200, json_pack("{s:o}", "comment", c));
}

static void on_notified(api_req_t *r, void *data)
{
    reply_act(data);
}

static void on_moved(h2o_req_t *req, int err, const store_value_t *v, size_t n, void *data)
{
    struct st_act_t *a = data;
    if (err != 0) {
        json_decref(a->after);
        a->after = NULL;
        api_reply_error(a->r, err, NULL, NULL);
        return;
    }
    /* A reply that just became visible is told to its parent's author (api_notify.c). The answer waits for the mail
     * to be queued, as every notice of a comment does: a store call cannot outlive its request. */
    if (a->now_visible && api_notify_reply(a->r, &a->thread, a->after, on_notified, a) == 0)
        return;
    reply_act(a);
}

static void on_act_dispose(void *p)
{
    struct st_act_t *a = *(struct st_act_t **)p;
    json_decref(a->after);
}

static void on_updated(h2o_req_t *req, int err, const store_value_t *v, size_t n, void *data)
{
    struct st_act_t *a = data;
    api_req_t *r = a->r;
    if (err != 0 || n < 1 || v[0].type != STORE_ARR || v[0].num_items != 6) {
        api_reply_error(r, err != 0 ? err : CORE_ERR_UNAVAILABLE, NULL, NULL);
        return;
    }
    const store_value_t *res = v[0].items;
    if (h2o_memis(res[0].str.base, res[0].str.len, H2O_STRLIT("missing"))) {
        api_reply_error(r, CORE_ERR_NOT_FOUND, "ref", "No comment with that reference.");
        return;
    }
    a->after = json_loadb(res[4].str.base, res[4].str.len, 0, NULL);
    if (a->after == NULL) {
        api_reply_error(r, CORE_ERR_INTERNAL, NULL, NULL);
        return;
    }
    struct st_act_t **holder = h2o_mem_alloc_shared(&req->pool, sizeof(*holder), on_act_dispose);
    *holder = a;
    bool approved = h2o_memis(res[2].str.base, res[2].str.len, H2O_STRLIT("approved"));
    a->now_visible = approved && h2o_memis(res[0].str.base, res[0].str.len, H2O_STRLIT("ok"));
    err = store_modq_move(r->env->store, req, a->thread.site, a->member,
                          h2o_strdup(&req->pool, res[1].str.base, res[1].str.len).base,
                          h2o_strdup(&req->pool, res[2].str.base, res[2].str.len).base,
                          (uint64_t)json_integer_value(json_object_get(a->after, "created")),
                          approved ? res[3].str : h2o_iovec_init(NULL, 0), on_moved, a);
    if (err != 0)
        api_reply_error(r, err, NULL, NULL);
}

/* Parses "<32 hex>:<id>" into A. */
static int parse_ref(h2o_iovec_t ref, struct st_act_t *a)
{
    if (ref.len < 34 || ref.len > 45 || ref.base[32] != ':')
        return -1;
    for (size_t i = 0; i < 32; ++i)
        if (!isxdigit((unsigned char)ref.base[i]) || isupper((unsigned char)ref.base[i]))
            return -1;
    uint64_t id = 0;
    for (size_t i = 33; i < ref.len; ++i) {
        if (!isdigit((unsigned char)ref.base[i]))
            return -1;
        id = id * 10 + (uint64_t)(ref.base[i] - '0');
    }
    if (id == 0)
        return -1;
    a->id = id;
    a->thread.url_hash = h2o_iovec_init(ref.base, 32);
    a->member = ref;
    return 0;
}

static void act_go(api_req_t *r)
{
    static const char *const keys[] = {"site", NULL};
    core_json_err_t jerr;
    const char *site;
    size_t site_len;
    if (core_json_only_keys(r->body, keys, &jerr) != 0 ||
        core_json_get_string(r->body, "site", true, 64, &site, &site_len, &jerr) != 0) {
        api_reply_json_error(r, &jerr);
        return;
    }
    if (api_site_or_reply(r, site, site_len) == NULL)
        return;
    struct st_act_t *a = h2o_mem_alloc_pool(&r->req->pool, sizeof(*a));
    memset(a, 0, sizeof(*a));
    a->r = r;
    if (parse_ref(r->path_params[0], a) != 0) {
        api_reply_error(r, CORE_ERR_NOT_FOUND, "ref", "No comment with that reference.");
        return;
    }
    a->thread.site = h2o_iovec_init(r->site->id, strlen(r->site->id));
    a->thread.canonical = h2o_iovec_init("", 0);
    h2o_iovec_t act = r->path_params[1];
    store_update_action_t action;
    if (h2o_memis(act.base, act.len, H2O_STRLIT("approve")))
        action = STORE_UPDATE_APPROVE;
    else if (h2o_memis(act.base, act.len, H2O_STRLIT("spam")))
        action = STORE_UPDATE_SPAM;
    else if (h2o_memis(act.base, act.len, H2O_STRLIT("delete")))
        action = STORE_UPDATE_DELETE;
    else {
        api_reply_error(r, CORE_ERR_NOT_FOUND, NULL, "Moderate with approve, spam or delete.");
        return;
    }
    int err = store_comment_update(r->env->store, r->req, &a->thread, a->id, action, h2o_iovec_init(NULL, 0), 0,
                                   h2o_iovec_init(NULL, 0), h2o_iovec_init(NULL, 0), NULL, on_updated, a);
    if (err != 0)
        api_reply_error(r, err, NULL, NULL);
}

/* --- threads --- */

struct st_lock_t {
    api_req_t *r;
    bool locked;
    h2o_iovec_t canonical;
};

static void on_locked(h2o_req_t *req, int err, const store_value_t *v, size_t n, void *data)
{
    struct st_lock_t *l = data;
    if (err != 0) {
        api_reply_error(l->r, err, NULL, NULL);
        return;
    }
    api_reply_json(l->r, 200, json_pack("{s:s%,s:b}", "url", l->canonical.base, l->canonical.len, "locked", l->locked));
}

static void thread_go(api_req_t *r)
{
    static const char *const keys[] = {"site", "url", NULL};
    core_json_err_t jerr;
    const char *site, *url;
    size_t site_len, url_len;
    if (core_json_only_keys(r->body, keys, &jerr) != 0 ||
        core_json_get_string(r->body, "site", true, 64, &site, &site_len, &jerr) != 0 ||
        core_json_get_string(r->body, "url", true, 2048, &url, &url_len, &jerr) != 0) {
        api_reply_json_error(r, &jerr);
        return;
    }
    if (api_site_or_reply(r, site, site_len) == NULL)
        return;
    h2o_iovec_t act = r->path_params[0];
    struct st_lock_t *l = h2o_mem_alloc_pool(&r->req->pool, sizeof(*l));
    l->r = r;
    if (h2o_memis(act.base, act.len, H2O_STRLIT("lock")))
        l->locked = true;
    else if (h2o_memis(act.base, act.len, H2O_STRLIT("unlock")))
        l->locked = false;
    else {
        api_reply_error(r, CORE_ERR_NOT_FOUND, NULL, "Use lock or unlock.");
        return;
    }
    core_url_t u;
    if (core_url_canonicalize(url, url_len, &u) != 0) {
        api_reply_error(r, CORE_ERR_INVALID, "url", "Give the article's absolute http or https URL.");
        return;
    }
    if (!api_url_host_allowed(r, u.host)) {
        api_reply_error(r, CORE_ERR_FOREIGN_URL, "url", NULL);
        return;
    }
    uint8_t d[CORE_SHA256_LEN];
    core_sha256(u.canonical, u.canonical_len, d);
    char *hex = h2o_mem_alloc_pool(&r->req->pool, 33);
    core_hex_encode(d, 16, hex);
    l->canonical = h2o_strdup(&r->req->pool, u.canonical, u.canonical_len);
    store_share_ref_t t = {h2o_iovec_init(r->site->id, strlen(r->site->id)), h2o_iovec_init(hex, 32), l->canonical};
    int err = store_thread_lock(r->env->store, r->req, &t, l->locked, on_locked, l);
    if (err != 0)
        api_reply_error(r, err, NULL, NULL);
}

/* --- bans --- */

struct st_ban_t {
    api_req_t *r;
    const char *kind;
    uint32_t seconds;
};

static void on_banned(h2o_req_t *req, int err, const store_value_t *v, size_t n, void *data)
{
    struct st_ban_t *b = data;
    if (err != 0) {
        api_reply_error(b->r, err, NULL, NULL);
        return;
    }
    api_reply_json(b->r, 201,
                   json_pack("{s:s,s:I}", "banned", strcmp(b->kind, "e") == 0 ? "email" : "visitor", "duration_s",
                             (json_int_t)b->seconds));
}

static void ban_go(api_req_t *r)
{
    static const char *const keys[] = {"site", "email", "visitor", "duration_s", NULL};
    core_json_err_t jerr;
    const char *site, *email, *visitor;
    size_t site_len, email_len, visitor_len;
    long long seconds;
    if (core_json_only_keys(r->body, keys, &jerr) != 0 ||
        core_json_get_string(r->body, "site", true, 64, &site, &site_len, &jerr) != 0 ||
        core_json_get_string(r->body, "email", false, 254, &email, &email_len, &jerr) != 0 ||
        core_json_get_string(r->body, "visitor", false, 64, &visitor, &visitor_len, &jerr) != 0 ||
        core_json_get_int(r->body, "duration_s", true, 60, 10LL * 365 * 86400, 0, &seconds, &jerr) != 0) {
        api_reply_json_error(r, &jerr);
        return;
    }
    if (api_site_or_reply(r, site, site_len) == NULL)
        return;
    if ((email == NULL) == (visitor == NULL)) {
        api_reply_error(r, CORE_ERR_INVALID, "email", "Ban either an e-mail or a visitor.");
        return;
    }
    struct st_ban_t *b = h2o_mem_alloc_pool(&r->req->pool, sizeof(*b));
    b->r = r;
    b->seconds = (uint32_t)seconds;
    h2o_iovec_t hash;
    if (email != NULL) {
        b->kind = "e";
        hash = api_email_hash(r, email, email_len);
    } else {
        b->kind = "v";
        for (size_t i = 0; i < visitor_len; ++i)
            if (!isxdigit((unsigned char)visitor[i])) {
                api_reply_error(r, CORE_ERR_INVALID, "visitor", "A visitor is the hex hash shown in the queue.");
                return;
            }
        hash = h2o_iovec_init(visitor, visitor_len);
    }
    int err = store_ban(r->env->store, r->req, h2o_iovec_init(r->site->id, strlen(r->site->id)), b->kind, hash,
                        b->seconds, on_banned, b);
    if (err != 0)
        api_reply_error(r, err, NULL, NULL);
}

void api_admin_list(api_req_t *r)
{
    admin_gate(r, list_go);
}

void api_admin_act(api_req_t *r)
{
    admin_gate(r, act_go);
}

void api_admin_thread(api_req_t *r)
{
    admin_gate(r, thread_go);
}

void api_admin_ban(api_req_t *r)
{
    admin_gate(r, ban_go);
}

/* --- dead letters: mails the relay refused for good, or that kept failing for smtp.retry_max_age_s --- */

/* A stream entry id: digits, '-', digits; at most 19 digits each, so Redis can always parse it (64-bit parts). */
static bool is_entry_id(h2o_iovec_t s)
{
    const char *dash = memchr(s.base, '-', s.len);
    if (dash == NULL || dash == s.base || dash == s.base + s.len - 1 || dash - s.base > 19 ||
        s.base + s.len - dash - 1 > 19)
        return false;
    for (size_t i = 0; i < s.len; ++i)
        if (s.base + i != dash && !isdigit((unsigned char)s.base[i]))
            return false;
    return true;
}

/* The Subject header of a rendered message, as it is (encoded-words left encoded); "" when absent. */
static json_t *subject_of(h2o_iovec_t msg)
{
    for (size_t i = 0; i + 9 <= msg.len;) {
        const char *eol = memchr(msg.base + i, '\n', msg.len - i);
        size_t end = eol != NULL ? (size_t)(eol - msg.base) : msg.len;
        if (end == i || (end == i + 1 && msg.base[i] == '\r'))
            break; /* the end of the header */
        if (end - i > 9 && strncasecmp(msg.base + i, "Subject: ", 9) == 0) {
            size_t n = end - i - 9;
            if (n > 0 && msg.base[i + 9 + n - 1] == '\r')
                --n;
            json_t *v = json_stringn(msg.base + i + 9, n);
            return v != NULL ? v : json_string("");
        }
        i = end + 1;
    }
    return json_string("");
}

static void on_dead_list(h2o_req_t *req, int err, const store_value_t *v, size_t n, void *data)
{
    api_req_t *r = data;
    if (err != 0 || n < 1 || v[0].type != STORE_ARR) {
        api_reply_error(r, CORE_ERR_UNAVAILABLE, NULL, NULL);
        return;
    }
    json_t *items = json_array();
    h2o_iovec_t last = {NULL, 0};
    for (size_t i = 0; i < v[0].num_items; ++i) {
        const store_value_t *e = &v[0].items[i];
        if (e->type != STORE_ARR || e->num_items != 2 || e->items[1].type != STORE_ARR)
            continue;
        last = e->items[0].str;
        /* The message itself stays inside: it may carry someone's reset or verification link. */
        json_t *item = json_pack("{s:s%}", "id", last.base, last.len);
        const store_value_t *f = e->items[1].items;
        for (size_t k = 0; k + 1 < e->items[1].num_items; k += 2) {
            h2o_iovec_t name = f[k].str, val = f[k + 1].str;
            static const char *const shown[] = {"rcpt", "reason", "failed", "first", "attempts", NULL};
            if (h2o_memis(name.base, name.len, H2O_STRLIT("msg"))) {
                json_object_set_new(item, "subject", subject_of(val));
                continue;
            }
            for (size_t s = 0; shown[s] != NULL; ++s)
                if (h2o_memis(name.base, name.len, shown[s], strlen(shown[s]))) {
                    json_t *jv = json_stringn(val.base, val.len);
                    json_object_set_new(item, shown[s], jv != NULL ? jv : json_string(""));
                }
        }
        json_array_append_new(items, item);
    }
    json_t *next = last.len != 0 ? json_stringn(last.base, last.len) : json_null();
    api_reply_json(r, 200, json_pack("{s:o,s:o}", "items", items, "next", next));
}

static void dead_list_go(api_req_t *r)
{
    const api_param_t *cursor = api_query_get(r, "cursor"), *limit = api_query_get(r, "limit");
    h2o_iovec_t before = cursor != NULL ? cursor->value : h2o_iovec_init(NULL, 0);
    if (before.len != 0 && !is_entry_id(before)) {
        api_reply_error(r, CORE_ERR_INVALID, "cursor", "Use the `next` value of the previous page.");
        return;
    }
    unsigned long n = 50;
    if (limit != NULL) {
        char *end;
        n = strtoul(limit->value.base, &end, 10);
        if (limit->value.len == 0 || *end != '\0' || n < 1 || n > 200) {
            api_reply_error(r, CORE_ERR_INVALID, "limit", "Give a limit from 1 to 200.");
            return;
        }
    }
    if (store_outbox_dead_list(r->env->store, r->req, before, (uint32_t)n, on_dead_list, r) != 0)
        api_reply_error(r, CORE_ERR_UNAVAILABLE, NULL, NULL);
}

static void on_revived(h2o_req_t *req, int err, const store_value_t *v, size_t n, void *data)
{
    api_req_t *r = data;
    if (err != 0 || n < 1 || v[0].type != STORE_STR) {
        api_reply_error(r, CORE_ERR_UNAVAILABLE, NULL, NULL);
        return;
    }
    if (v[0].str.len == 0) {
        api_reply_error(r, CORE_ERR_NOT_FOUND, NULL, "No dead letter with that id.");
        return;
    }
    api_reply_json(r, 200, json_pack("{s:b,s:s%}", "ok", 1, "outbox_id", v[0].str.base, v[0].str.len));
}

static void dead_retry_go(api_req_t *r)
{
    h2o_iovec_t id = r->num_path_params > 0 ? r->path_params[0] : h2o_iovec_init(NULL, 0);
    if (!is_entry_id(id)) {
        api_reply_error(r, CORE_ERR_NOT_FOUND, NULL, "No dead letter with that id.");
        return;
    }
    if (store_outbox_revive(r->env->store, r->req, h2o_strdup(&r->req->pool, id.base, id.len), on_revived, r) != 0)
        api_reply_error(r, CORE_ERR_UNAVAILABLE, NULL, NULL);
}

void api_admin_dead_list(api_req_t *r)
{
    admin_gate(r, dead_list_go);
}

void api_admin_dead_retry(api_req_t *r)
{
    admin_gate(r, dead_retry_go);
}
