/* Reply notifications: the author of a comment is mailed about each visible reply, if they asked and confirmed.
 *
 * Asking: a comment posted with `"notify": true` stores the wish, nothing more. Anyone can type any address into a
 * comment form, so Parley first mails that address a signed link (purpose "subscribe", 7 days) to
 * ${public_url}/subscribe?t=…; GET shows a button, and only the button's POST sets `notify_confirmed` on the
 * comment (lua/comment_notify.lua). A spam comment gets no such mail.
 *
 * Telling: when a reply becomes visible (created approved in api_comments.c, or approved by a moderator in
 * api_admin.c or api_moderate.c), api_notify_reply reads the parent and mails its author when the parent is
 * approved, confirmed and written from another e-mail address. The mail carries the reply as written (plain text),
 * a link to it and a signed one-click unsubscribe link (purpose "unsubscribe", 1 year) to
 * ${public_url}/unsubscribe?t=…, also as List-Unsubscribe with List-Unsubscribe-Post (RFC 8058): mail clients POST
 * "List-Unsubscribe=One-Click" there, form-encoded, without any page. GET shows a button; the link alone never
 * changes anything, because mail scanners and link previews fetch links on their own.
 *
 * The tokens name "site \n url-hash:id" of one comment and are the only authority these pages need: they are
 * signed with the server secret for their purpose, so neither can serve as the other or as a moderation link. No
 * Origin check applies (a browser's POST from our own page, or a mail client's, carries no site origin). Pages are
 * HTML for people, never cached, sent with Referrer-Policy: no-referrer, and never show an e-mail address.
 *
 * Callers wait for the mail to be in the outbox before they answer (as the moderators' mails do): a reply that was
 * acknowledged must not lose its notice, and a store call belongs to its request, so it cannot outlive the answer.
 * It costs moderators one more round trip per approval, which nobody notices. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "core/core_error.h"
#include "core/core_log.h"
#include "core/core_token.h"
#include "api/api.h"
#include "mail/mail.h"

#define SUBSCRIBE_TTL_S (7 * 86400)
#define UNSUBSCRIBE_TTL_S (365 * 86400)

/* ${public_url}/<PATH>?t=<token> for PURPOSE over "site \n url-hash:id", valid for TTL seconds; pool memory. */
static h2o_iovec_t signed_link(api_req_t *r, const char *path, const char *purpose, const store_share_ref_t *thread,
                               uint64_t id, uint64_t ttl)
{
    char payload[160];
    int pl = snprintf(payload, sizeof(payload), "%.*s\n%.*s:%llu", (int)thread->site.len, thread->site.base,
                      (int)thread->url_hash.len, thread->url_hash.base, (unsigned long long)id);
    char tok[400];
    size_t tl = core_signed_make(r->env->secret, r->env->secret_len, purpose, payload, (size_t)pl,
                                 (uint64_t)time(NULL) + ttl, tok, sizeof(tok));
    size_t n = strlen(r->env->cfg->public_url) + strlen(path) + tl + 8;
    char *link = h2o_mem_alloc_pool(&r->req->pool, n);
    int ll = snprintf(link, n, "%s%s?t=%s", r->env->cfg->public_url, path, tok);
    return h2o_iovec_init(link, (size_t)ll);
}

/* A copy of the string member NAME of O in the pool ("" when absent). */
static const char *member(api_req_t *r, json_t *o, const char *name)
{
    json_t *v = json_object_get(o, name);
    if (!json_is_string(v))
        return "";
    return h2o_strdup(&r->req->pool, json_string_value(v), json_string_length(v)).base;
}

/* --- queueing --- */

struct st_job_t {
    api_req_t *r;
    store_share_ref_t thread;
    uint64_t id, parent;
    const char *author, *body, *email, *ehash;
    api_notify_done_cb done;
    void *data;
};

static void on_queued(h2o_req_t *req, int err, const store_value_t *v, size_t n, void *data)
{
    struct st_job_t *j = data;
    if (err != 0)
        core_log_error("a notification mail about comment %llu could not be queued", (unsigned long long)j->id);
    j->done(j->r, j->data);
}

/* Appends MSG (malloc'ed by a template; freed here) for TO to the outbox. 0, or an error (then no callback). */
static int queue(struct st_job_t *j, const char *to, char *msg, size_t len)
{
    api_req_t *r = j->r;
    char envelope[256];
    if (mail_message_addr_spec(r->env->cfg->smtp.from, envelope, sizeof(envelope)) != 0) {
        free(msg);
        return CORE_ERR_INVALID;
    }
    h2o_iovec_t m = h2o_strdup(&r->req->pool, msg, len);
    free(msg);
    return store_outbox_add(r->env->store, r->req, envelope, to, m, on_queued, j);
}

int api_notify_subscribe(api_req_t *r, const store_share_ref_t *thread, json_t *comment, api_notify_done_cb done,
                         void *data)
{
    const char *status = json_string_value(json_object_get(comment, "status"));
    /* A logged-in author's address is verified: their comment is stored already confirmed, so no mail. */
    if (r->env->cfg->smtp.url == NULL || !json_is_true(json_object_get(comment, "notify")) ||
        json_is_true(json_object_get(comment, "notify_confirmed")) || status == NULL || strcmp(status, "spam") == 0)
        return CORE_ERR_NOT_FOUND;
    struct st_job_t *j = h2o_mem_alloc_pool(&r->req->pool, sizeof(*j));
    *j = (struct st_job_t){.r = r, .thread = *thread, .done = done, .data = data};
    j->id = (uint64_t)json_integer_value(json_object_get(comment, "id"));
    j->email = member(r, comment, "email");
    h2o_iovec_t link = signed_link(r, "/subscribe", "subscribe", thread, j->id, SUBSCRIBE_TTL_S);
    char *msg;
    size_t len;
    if (mail_template_subscribe(r->env->cfg->smtp.from, j->email, r->site->id, thread->canonical.base, link.base,
                                time(NULL), &msg, &len) != 0) {
        core_log_warn("no confirmation mail for comment %llu: the address cannot be mailed", (unsigned long long)j->id);
        return CORE_ERR_INVALID;
    }
    return queue(j, j->email, msg, len);
}

/* The parent arrived: mail its author if they want it. DONE is due in every case from here on. */
static void on_parent(h2o_req_t *req, int err, h2o_iovec_t json, h2o_iovec_t url, void *data)
{
    struct st_job_t *j = data;
    api_req_t *r = j->r;
    json_t *p = err == 0 && json.base != NULL ? json_loadb(json.base, json.len, 0, NULL) : NULL;
    const char *status = p != NULL ? json_string_value(json_object_get(p, "status")) : NULL;
    const char *to = p != NULL ? json_string_value(json_object_get(p, "email")) : NULL;
    const char *pehash = p != NULL ? json_string_value(json_object_get(p, "ehash")) : NULL;
    /* Only an approved parent: a parent since marked spam or deleted is kept as a placeholder and mails nobody. The
     * same address (by its keyed hash, or the address itself) is not told about its own replies. */
    bool wanted = status != NULL && strcmp(status, "approved") == 0 &&
                  json_is_true(json_object_get(p, "notify_confirmed")) && to != NULL && to[0] != '\0' &&
                  strcasecmp(to, j->email) != 0 && (pehash == NULL || strcmp(pehash, j->ehash) != 0);
    if (err != 0)
        core_log_error("no reply notification for comment %llu: the store is unavailable", (unsigned long long)j->id);
    if (!wanted) {
        json_decref(p);
        j->done(r, j->data);
        return;
    }
    const char *page_url = url.base != NULL ? url.base : "";
    size_t cl = url.len + 48;
    char *comment_link = h2o_mem_alloc_pool(&req->pool, cl);
    snprintf(comment_link, cl, "%s#comment-%llu", page_url, (unsigned long long)j->id);
    h2o_iovec_t unsub = signed_link(r, "/unsubscribe", "unsubscribe", &j->thread, j->parent, UNSUBSCRIBE_TTL_S);
    char *msg;
    size_t len;
    int rc = mail_template_reply(r->env->cfg->smtp.from, to, r->site->id, page_url, j->author, j->body, comment_link,
                                 unsub.base, time(NULL), &msg, &len);
    if (rc == 0)
        rc = queue(j, h2o_strdup(&req->pool, to, strlen(to)).base, msg, len);
    else
        core_log_warn("no reply notification for comment %llu: the address cannot be mailed",
                      (unsigned long long)j->parent);
    json_decref(p);
    if (rc != 0)
        j->done(r, j->data);
}

int api_notify_reply(api_req_t *r, const store_share_ref_t *thread, json_t *approved_comment, api_notify_done_cb done,
                     void *data)
{
    const char *status = json_string_value(json_object_get(approved_comment, "status"));
    json_int_t parent = json_integer_value(json_object_get(approved_comment, "parent"));
    if (r->env->cfg->smtp.url == NULL || status == NULL || strcmp(status, "approved") != 0 || parent <= 0)
        return CORE_ERR_NOT_FOUND;
    struct st_job_t *j = h2o_mem_alloc_pool(&r->req->pool, sizeof(*j));
    *j = (struct st_job_t){.r = r, .thread = *thread, .done = done, .data = data};
    j->id = (uint64_t)json_integer_value(json_object_get(approved_comment, "id"));
    j->parent = (uint64_t)parent;
    j->author = member(r, approved_comment, "author");
    j->body = member(r, approved_comment, "body");
    j->email = member(r, approved_comment, "email");
    j->ehash = member(r, approved_comment, "ehash");
    return store_comment_read(r->env->store, r->req, &j->thread, j->parent, on_parent, j);
}

/* --- the pages: /subscribe and /unsubscribe --- */

struct st_link_t {
    api_req_t *r;
    store_share_ref_t thread;
    uint64_t id;
    bool subscribe; /* /subscribe, else /unsubscribe */
    h2o_iovec_t token;
};

static void fail(api_req_t *r, int status, const char *why)
{
    api_reply_page(r, status, "This link does not work", why);
}

static void unavailable(api_req_t *r)
{
    api_reply_page(r, 503, "Try again shortly", "<p>The comment store is unavailable right now.</p>");
}

/* Opens t=: "site \n url-hash:id" signed for this page's purpose. Replies and returns NULL when it is forged,
 * expired, made for another purpose or names no configured site. */
static struct st_link_t *open_or_reply(api_req_t *r, bool subscribe)
{
    const api_param_t *t = api_query_get(r, "t");
    struct st_link_t *l = h2o_mem_alloc_pool(&r->req->pool, sizeof(*l));
    memset(l, 0, sizeof(*l));
    l->r = r;
    l->subscribe = subscribe;
    char payload[200];
    long n = t != NULL
                 ? core_signed_open(r->env->secret, r->env->secret_len, subscribe ? "subscribe" : "unsubscribe",
                                    t->value.base, t->value.len, (uint64_t)time(NULL), payload, sizeof(payload) - 1)
                 : -1;
    if (n < 0) {
        fail(r, 403,
             subscribe ? "<p>The link is invalid or has expired (links work for 7 days). Post your comment again "
                         "with replies by mail turned on to get a new one.</p>"
                       : "<p>The link is invalid or has expired. Use the link in a newer mail.</p>");
        return NULL;
    }
    payload[n] = '\0';
    char *nl = strchr(payload, '\n'), *colon = nl != NULL ? strchr(nl + 1, ':') : NULL;
    const core_config_site_t *site =
        nl != NULL ? core_config_find_site(r->env->cfg, payload, (size_t)(nl - payload)) : NULL;
    if (colon == NULL || colon - nl - 1 != 32 || site == NULL) {
        fail(r, 403, "<p>The link is malformed.</p>");
        return NULL;
    }
    /* The signed token is the authority here, not the Origin (see the top of this file): the site is taken as is. */
    r->site = site;
    l->id = strtoull(colon + 1, NULL, 10);
    l->thread.site = h2o_iovec_init(site->id, strlen(site->id));
    l->thread.url_hash = h2o_strdup(&r->req->pool, nl + 1, 32);
    l->thread.canonical = h2o_iovec_init("", 0);
    l->token = t->value;
    return l;
}

/* GET: shows what the button will do. Reads the comment only for its page's address. */
static void on_show(h2o_req_t *req, int err, h2o_iovec_t json, h2o_iovec_t url, void *data)
{
    struct st_link_t *l = data;
    api_req_t *r = l->r;
    if (err != 0) {
        unavailable(r);
        return;
    }
    if (json.base == NULL) {
        fail(r, 404, "<p>This comment no longer exists; no mails are sent about it.</p>");
        return;
    }
    h2o_mem_pool_t *pool = &req->pool;
    const char *u = api_html_escape(pool, url.base != NULL ? url.base : "", url.len),
               *tok = api_html_escape(pool, l->token.base, l->token.len);
    size_t cap = 2 * strlen(u) + strlen(tok) + 512;
    char *html = h2o_mem_alloc_pool(pool, cap);
    snprintf(html, cap,
             "<p>%s about replies to your comment on <a href=\"%s\" rel=\"noopener noreferrer\">%s</a>.</p>"
             "<form method=\"post\" action=\"/%s?t=%s\"><button type=\"submit\">%s</button></form>",
             l->subscribe ? "Get a mail" : "Stop the mails", u, u, l->subscribe ? "subscribe" : "unsubscribe", tok,
             l->subscribe ? "Yes, mail me replies" : "Unsubscribe");
    api_reply_page(r, 200, l->subscribe ? "Get replies by mail?" : "Stop reply mails?", html);
}

static void show(api_req_t *r, bool subscribe)
{
    struct st_link_t *l = open_or_reply(r, subscribe);
    if (l == NULL)
        return;
    if (store_comment_read(r->env->store, r->req, &l->thread, l->id, on_show, l) != 0)
        unavailable(r);
}

/* POST: the button, or a mail client's one-click unsubscribe (whatever its body says: the token decides). */
static void on_acted(h2o_req_t *req, int err, const store_value_t *v, size_t n, void *data)
{
    struct st_link_t *l = data;
    api_req_t *r = l->r;
    if (err != 0 || n < 1 || v[0].type != STORE_ARR || v[0].num_items != 2) {
        unavailable(r);
        return;
    }
    h2o_iovec_t res = v[0].items[0].str;
    if (!l->subscribe) {
        /* A missing comment sends no mails either: unsubscribing from it has succeeded too. */
        api_reply_page(r, 200, "Unsubscribed", "<p>You will get no more mails about replies to this comment.</p>");
        return;
    }
    if (h2o_memis(res.base, res.len, H2O_STRLIT("missing"))) {
        fail(r, 404, "<p>This comment no longer exists.</p>");
        return;
    }
    if (h2o_memis(res.base, res.len, H2O_STRLIT("denied"))) {
        fail(r, 403, "<p>This comment did not ask for replies by mail.</p>");
        return;
    }
    api_reply_page(r, 200, "Subscribed",
                   "<p>You will get a mail for each reply to your comment. Each mail has a link to stop them.</p>");
}

static void act(api_req_t *r, bool subscribe)
{
    struct st_link_t *l = open_or_reply(r, subscribe);
    if (l == NULL)
        return;
    if (store_comment_notify(r->env->store, r->req, &l->thread, l->id, subscribe, on_acted, l) != 0)
        unavailable(r);
}

void api_notify_subscribe_show(api_req_t *r)
{
    show(r, true);
}

void api_notify_subscribe_act(api_req_t *r)
{
    act(r, true);
}

void api_notify_unsubscribe_show(api_req_t *r)
{
    show(r, false);
}

void api_notify_unsubscribe_act(api_req_t *r)
{
    act(r, false);
}
