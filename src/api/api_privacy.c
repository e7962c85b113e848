/* "Manage my comments": a guest commenter proves they own an e-mail address by a mail link, then downloads or
 * deletes every comment made with it (README "What Parley stores about people").
 *
 *   POST   /api/v1/privacy/request {site?, email}   202, the same bytes whether or not the address has comments
 *   GET    /api/v1/privacy/comments                 Authorization: Bearer <token> -> every comment, as JSON
 *   DELETE /api/v1/privacy/comments                 Authorization: Bearer <token> -> {"deleted": n}
 *
 * Request: one round trip counts the address against privacy.mails_per_hour and reads the size of its comment index
 * (EMAIL_COMMENTS, keyed by the same HMAC of the lower-cased address that comments store as `ehash`); a second stores
 * a new token and, only when the address has comments and is within its budget, queues the mail in the same
 * pipeline. A request that mails nothing still stores a token (under a fixed dummy hash that nobody can present, so
 * it cannot pile up), so both paths make the same round trips with the same commands but one XADD, as the account
 * calls do (api_accounts.c). The answer is sent once the pipeline is done, so it does not come sooner when nothing
 * is mailed.
 *
 * Tokens are 43 base64url characters (256 bits from OpenSSL's RNG); Redis keeps SHA-256 of the token, with the
 * address's keyed hash and the site, expiring after privacy.manage_ttl_s. The link carries the token in the
 * fragment (/privacy#token=...), never the query, so it reaches no server log and no Referer.
 *
 * An export may be downloaded again until the link expires: reading changes nothing, a download interrupted on a
 * bad connection can be retried, and the natural order is "download, then delete" with the same link. A delete
 * uses the token up in the same script that reads it (lua/privacy_token.lua), so two racing deletes cannot both
 * act; if Redis fails half-way the token is put back for its remaining life, so the owner can try again.
 *
 * Deleting: each comment goes through comment_update.lua as a moderator's delete (a placeholder stays where it has
 * replies, as for every delete) and then an "anonymize" (the stored record loses the name, the address and its
 * hashes, which a plain delete keeps for the moderation log). The index entries go, and the address's hash leaves
 * the sites' APPROVED_EMAILS ("first" moderation forgets it); bans stay. Entries whose comment is gone or carries
 * another hash (anonymized, scrubbed by retention) are stale: skipped, and removed by a delete. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <openssl/crypto.h>
#include "core/core_time.h"
#include "core/core_error.h"
#include "core/core_log.h"
#include "core/core_token.h"
#include "mail/mail.h"
#include "api/api.h"

#define TOKEN_CHARS 43 /* base64url of CORE_TOKEN_BYTES */
#define HASH_HEX 64

static const char accepted_msg[] =
    "If comments were made with this address, a mail with a link to download or delete them is on its way to it.";
static const char bad_link_msg[] = "This link is not valid (any more): it may have expired or been used. Ask for a "
                                   "new one.";

static h2o_iovec_t str_of(const store_value_t *v)
{
    return v->type == STORE_STR ? v->str : h2o_iovec_init("", 0);
}

static h2o_iovec_t sha256_hex(h2o_mem_pool_t *pool, const char *s, size_t len)
{
    uint8_t d[CORE_SHA256_LEN];
    core_sha256(s, len, d);
    char *hex = h2o_mem_alloc_pool(pool, HASH_HEX + 1);
    core_hex_encode(d, sizeof(d), hex);
    return h2o_iovec_init(hex, HASH_HEX);
}

static void reply_accepted(api_req_t *r)
{
    api_reply_json(r, 202, json_pack("{s:s,s:s}", "status", "accepted", "message", accepted_msg));
}

static void reply_bad_link(api_req_t *r)
{
    api_reply_error(r, CORE_ERR_UNAUTHORIZED, NULL, bad_link_msg);
}

/* ---- POST /api/v1/privacy/request ---- */

struct st_request_t {
    api_req_t *r;
    h2o_iovec_t email, ehash, site;
};

static void on_token_stored(h2o_req_t *req, int err, const store_value_t *v, size_t n, void *data)
{
    struct st_request_t *q = data;
    if (err != 0)
        core_log_warn("privacy: a manage-my-comments request could not be stored (Redis unavailable)");
    reply_accepted(q->r);
}

static void on_checked(h2o_req_t *req, int err, const store_value_t *v, size_t n, void *data)
{
    struct st_request_t *q = data;
    api_req_t *r = q->r;
    const core_config_t *cfg = r->env->cfg;
    bool within = err == 0 && n >= 2 && v[0].type == STORE_ARR && v[0].num_items == 2 &&
                  v[0].items[0].type == STORE_INT && v[0].items[0].integer <= (long long)cfg->privacy.mails_per_hour;
    bool send = within && v[1].type == STORE_INT && v[1].integer > 0;

    uint8_t secret[CORE_TOKEN_BYTES];
    core_random_bytes(secret, sizeof(secret));
    char *token = h2o_mem_alloc_pool(&req->pool, TOKEN_CHARS + 1);
    core_base64url_encode(secret, sizeof(secret), token);
    OPENSSL_cleanse(secret, sizeof(secret));
    /* Without a mail the token is never seen: it goes under the hash of the empty string, which no 43-character token
     * can hash to, and replaces the last such dummy instead of adding one. */
    h2o_iovec_t hash = send ? sha256_hex(&req->pool, token, TOKEN_CHARS) : sha256_hex(&req->pool, "", 0);
    h2o_iovec_t msg = {NULL, 0};
    char from[300] = "";
    if (send) {
        const char *base = cfg->public_url;
        size_t ln = strlen(base) + TOKEN_CHARS + 32;
        char *link = h2o_mem_alloc_pool(&req->pool, ln);
        snprintf(link, ln, "%s/privacy#token=%s", base, token);
        char *out = NULL;
        size_t len = 0;
        if (mail_template_privacy(cfg->smtp.from, q->email.base, q->site.len != 0 ? q->site.base : NULL, link,
                                  cfg->privacy.manage_ttl_s, time(NULL), &out, &len) == 0 &&
            out != NULL) {
            msg = h2o_strdup(&req->pool, out, len);
            OPENSSL_cleanse(out, len); /* it holds the token */
            free(out);
        } else {
            core_log_warn("privacy: a manage-my-comments mail could not be rendered");
        }
        if (mail_message_addr_spec(cfg->smtp.from, from, sizeof(from)) != 0)
            from[0] = '\0';
    }
    if (store_privacy_token_put(r->env->store, req, hash, q->ehash, q->site, core_now_ms(),
                                (uint64_t)cfg->privacy.manage_ttl_s * 1000, from, q->email.base, msg, on_token_stored,
                                q) != 0)
        reply_accepted(r);
}

void api_privacy_request(api_req_t *r)
{
    static const char *const keys[] = {"site", "email", NULL};
    core_json_err_t jerr;
    const char *site = NULL, *email = NULL;
    size_t site_len = 0, email_len = 0;
    if (core_json_only_keys(r->body, keys, &jerr) != 0 ||
        core_json_get_string(r->body, "site", false, 64, &site, &site_len, &jerr) != 0 ||
        core_json_get_string(r->body, "email", true, 1024, &email, &email_len, &jerr) != 0) {
        api_reply_json_error(r, &jerr);
        return;
    }
    if (site != NULL && api_site_or_reply(r, site, site_len) == NULL)
        return;
    while (email_len > 0 && (email[0] == ' ' || email[0] == '\t'))
        ++email, --email_len;
    while (email_len > 0 && (email[email_len - 1] == ' ' || email[email_len - 1] == '\t'))
        --email_len;
    /* The mail must be deliverable by SMTP as it is: printable ASCII only, as for accounts. */
    bool ok = email_len <= 254 && api_is_email(email, email_len);
    for (size_t i = 0; ok && i < email_len; ++i)
        ok = (unsigned char)email[i] > 0x20 && (unsigned char)email[i] < 0x7f;
    if (!ok) {
        api_reply_error(r, CORE_ERR_INVALID, "email", "Give the e-mail address you commented with.");
        return;
    }
    if (r->env->cfg->smtp.url == NULL) {
        api_reply_error(r, CORE_ERR_UNAVAILABLE, NULL,
                        "This needs e-mail, and this server has no mail relay configured (smtp.url).");
        return;
    }
    struct st_request_t *q = h2o_mem_alloc_pool(&r->req->pool, sizeof(*q));
    q->r = r;
    q->email = h2o_strdup(&r->req->pool, email, email_len);
    q->ehash = api_email_hash(r, email, email_len);
    q->site = site != NULL ? h2o_strdup(&r->req->pool, site, site_len) : h2o_iovec_init("", 0);
    if (store_privacy_check(r->env->store, r->req, q->ehash, on_checked, q) != 0)
        api_reply_error(r, CORE_ERR_UNAVAILABLE, NULL, NULL);
}

/* ---- the token of GET and DELETE /api/v1/privacy/comments ---- */

/* The SHA-256 (hex) of the request's bearer token, or {NULL,0} when there is none or it cannot be one of ours. */
static h2o_iovec_t bearer_hash(api_req_t *r)
{
    h2o_iovec_t t;
    if (!api_bearer(r, &t) || t.len != TOKEN_CHARS)
        return h2o_iovec_init(NULL, 0);
    uint8_t raw[CORE_TOKEN_BYTES + 2];
    if (core_base64url_decode(t.base, t.len, raw, sizeof(raw)) != CORE_TOKEN_BYTES)
        return h2o_iovec_init(NULL, 0);
    OPENSSL_cleanse(raw, sizeof(raw));
    return sha256_hex(&r->req->pool, t.base, t.len);
}

struct st_manage_t {
    api_req_t *r;
    h2o_iovec_t token_hash, ehash, site; /* site: "" = every site */
    uint64_t ttl_ms;                     /* the token's life left when it was taken (DELETE) */
    size_t outstanding, deleted;
    bool failed;
    h2o_iovec_t *forget; /* index entries to remove after a delete */
    size_t num_forget;
    bool deleting; /* DELETE (the token is taken, and put back if the delete cannot be done) or export */
};

static void on_token(h2o_req_t *req, int err, const store_value_t *v, size_t n, void *data);

/* Whether index entry E ("site:url-hash:id") is in the token's scope; sets *SITE_LEN to the length of its site. */
static bool in_scope(const struct st_manage_t *m, h2o_iovec_t e, size_t *site_len)
{
    const char *colon = memchr(e.base, ':', e.len);
    if (colon == NULL)
        return false;
    *site_len = (size_t)(colon - e.base);
    return m->site.len == 0 || h2o_memis(e.base, *site_len, m->site.base, m->site.len);
}

/* The stored comment JSON when it still belongs to the token's address, else NULL (stale index entry). */
static json_t *own_comment(const struct st_manage_t *m, const store_value_t *json)
{
    if (json->type != STORE_STR)
        return NULL;
    json_t *c = json_loadb(json->str.base, json->str.len, 0, NULL);
    const char *eh = c != NULL ? json_string_value(json_object_get(c, "ehash")) : NULL;
    if (eh == NULL || !h2o_memis(eh, strlen(eh), m->ehash.base, m->ehash.len)) {
        json_decref(c);
        return NULL;
    }
    return c;
}

/* ---- GET /api/v1/privacy/comments ---- */

static void on_export_comments(h2o_req_t *req, int err, const store_value_t *v, size_t n, void *data)
{
    struct st_manage_t *m = data;
    api_req_t *r = m->r;
    if (err != 0) {
        api_reply_error(r, CORE_ERR_UNAVAILABLE, NULL, NULL);
        return;
    }
    json_t *list = json_array();
    for (size_t i = 0; i + 2 < n; i += 3) {
        size_t site_len;
        if (v[i].type != STORE_STR || !in_scope(m, v[i].str, &site_len))
            continue;
        json_t *c = own_comment(m, &v[i + 1]);
        if (c == NULL)
            continue;
        json_t *o = api_comment_for_author(h2o_iovec_init(v[i].str.base, site_len), str_of(&v[i + 2]), c);
        json_decref(c);
        if (o != NULL)
            json_array_append_new(list, o);
    }
    char now[CORE_ISO8601_MAX];
    core_iso8601(core_now_ms(), false, now);
    api_reply_json(r, 200,
                   json_pack("{s:s,s:o,s:o}", "exported", now, "site",
                             m->site.len != 0 ? json_stringn(m->site.base, m->site.len) : json_null(), "comments",
                             list));
}

static bool token_fields(struct st_manage_t *m, const store_value_t *v, size_t n)
{
    if (n < 1 || v[0].type != STORE_ARR || v[0].num_items != 3 || v[0].items[0].type != STORE_STR ||
        v[0].items[0].str.len == 0)
        return false;
    m->ehash = v[0].items[0].str;
    m->site = str_of(&v[0].items[1]);
    m->ttl_ms = v[0].items[2].type == STORE_INT && v[0].items[2].integer > 0 ? (uint64_t)v[0].items[2].integer : 0;
    return true;
}

static struct st_manage_t *manage_or_reply(api_req_t *r)
{
    h2o_iovec_t hash = bearer_hash(r);
    if (hash.base == NULL) {
        reply_bad_link(r);
        return NULL;
    }
    struct st_manage_t *m = h2o_mem_alloc_pool(&r->req->pool, sizeof(*m));
    memset(m, 0, sizeof(*m));
    m->r = r;
    m->token_hash = hash;
    return m;
}

void api_privacy_export(api_req_t *r)
{
    struct st_manage_t *m = manage_or_reply(r);
    if (m != NULL && store_privacy_token_get(r->env->store, r->req, m->token_hash, false, on_token, m) != 0)
        api_reply_error(r, CORE_ERR_UNAVAILABLE, NULL, NULL);
}

/* ---- DELETE /api/v1/privacy/comments ---- */

static void on_token_restored(h2o_req_t *req, int err, const store_value_t *v, size_t n, void *data)
{
    api_reply_error(data, CORE_ERR_UNAVAILABLE, NULL, NULL);
}

/* Redis failed half-way: the token goes back for the rest of its life, so the owner can try again, and the answer
 * is 503 (what was deleted stays deleted; a second try finds the rest). */
static void fail_and_restore(struct st_manage_t *m)
{
    api_req_t *r = m->r;
    if (m->ttl_ms == 0 ||
        store_privacy_token_put(r->env->store, r->req, m->token_hash, m->ehash, m->site, core_now_ms(), m->ttl_ms, "",
                                "", h2o_iovec_init(NULL, 0), on_token_restored, r) != 0)
        api_reply_error(r, CORE_ERR_UNAVAILABLE, NULL, NULL);
}

static void on_forgotten(h2o_req_t *req, int err, const store_value_t *v, size_t n, void *data)
{
    struct st_manage_t *m = data;
    if (err != 0) {
        fail_and_restore(m);
        return;
    }
    core_log_info("privacy: %zu comment(s) deleted through a manage-my-comments link", m->deleted);
    api_reply_json(m->r, 200, json_pack("{s:I}", "deleted", (json_int_t)m->deleted));
}

static void forget(struct st_manage_t *m)
{
    api_req_t *r = m->r;
    if (m->failed) {
        fail_and_restore(m);
        return;
    }
    const core_config_t *cfg = r->env->cfg;
    h2o_iovec_t *sites = h2o_mem_alloc_pool(&r->req->pool, sizeof(*sites) * cfg->num_sites);
    size_t num_sites = 0;
    for (size_t i = 0; i < cfg->num_sites; ++i)
        if (m->site.len == 0 || h2o_memis(cfg->sites[i].id, strlen(cfg->sites[i].id), m->site.base, m->site.len))
            sites[num_sites++] = h2o_iovec_init(cfg->sites[i].id, strlen(cfg->sites[i].id));
    if (store_privacy_forget(r->env->store, r->req, m->ehash, m->forget, m->num_forget, sites, num_sites, on_forgotten,
                             m) != 0)
        fail_and_restore(m);
}

static void on_comment_done(h2o_req_t *req, int err, const store_value_t *v, size_t n, void *data)
{
    struct st_manage_t *m = data;
    if (err != 0)
        m->failed = true;
    if (--m->outstanding == 0)
        forget(m);
}

static void on_delete_comments(h2o_req_t *req, int err, const store_value_t *v, size_t n, void *data)
{
    struct st_manage_t *m = data;
    api_req_t *r = m->r;
    if (err != 0) {
        fail_and_restore(m);
        return;
    }
    m->forget = h2o_mem_alloc_pool(&req->pool, sizeof(*m->forget) * (n / 3 + 1));
    m->outstanding = 1; /* held until every update is sent, so none can finish the job early */
    for (size_t i = 0; i + 2 < n; i += 3) {
        size_t site_len;
        if (v[i].type != STORE_STR || !in_scope(m, v[i].str, &site_len))
            continue;
        h2o_iovec_t e = v[i].str;
        m->forget[m->num_forget++] = e; /* stale or not, the entry goes */
        json_t *c = own_comment(m, &v[i + 1]);
        if (c == NULL)
            continue;
        json_decref(c);
        const char *c2 = memchr(e.base + site_len + 1, ':', e.len - site_len - 1);
        if (c2 == NULL)
            continue;
        store_share_ref_t *t = h2o_mem_alloc_pool(&req->pool, sizeof(*t));
        *t = (store_share_ref_t){h2o_iovec_init(e.base, site_len),
                                 h2o_iovec_init(e.base + site_len + 1, (size_t)(c2 - e.base - site_len - 1)),
                                 str_of(&v[i + 2])};
        uint64_t id = store_parse_u64(c2 + 1, (size_t)(e.base + e.len - c2 - 1));
        /* Both calls go out at once; Redis runs them in order on this connection. */
        for (int k = 0; k < 2; ++k) {
            if (store_comment_update(r->env->store, req, t, id, k == 0 ? STORE_UPDATE_DELETE : STORE_UPDATE_ANONYMIZE,
                                     h2o_iovec_init(NULL, 0), 0, h2o_iovec_init(NULL, 0), h2o_iovec_init(NULL, 0), NULL,
                                     on_comment_done, m) == 0)
                ++m->outstanding;
            else
                m->failed = true;
        }
        ++m->deleted;
    }
    if (--m->outstanding == 0)
        forget(m);
}

/* The token's entry, read (export) or taken (delete): then the comments of its address. */
static void on_token(h2o_req_t *req, int err, const store_value_t *v, size_t n, void *data)
{
    struct st_manage_t *m = data;
    if (err != 0) {
        api_reply_error(m->r, CORE_ERR_UNAVAILABLE, NULL, NULL);
        return;
    }
    if (!token_fields(m, v, n)) {
        reply_bad_link(m->r);
        return;
    }
    if (store_privacy_comments(m->r->env->store, req, m->ehash, m->deleting ? on_delete_comments : on_export_comments,
                               m) == 0)
        return;
    if (m->deleting)
        fail_and_restore(m);
    else
        api_reply_error(m->r, CORE_ERR_UNAVAILABLE, NULL, NULL);
}

void api_privacy_delete(api_req_t *r)
{
    struct st_manage_t *m = manage_or_reply(r);
    if (m != NULL)
        m->deleting = true;
    if (m != NULL && store_privacy_token_get(r->env->store, r->req, m->token_hash, true, on_token, m) != 0)
        api_reply_error(r, CORE_ERR_UNAVAILABLE, NULL, NULL);
}
