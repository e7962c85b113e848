/* One-click moderation from a mail: /moderate?t=<signed token> (made by api_comments.c when a comment waits).
 *
 * GET shows the comment and a button; POST (the button) approves it or marks it spam. The link alone changes
 * nothing, because mail scanners and link previews fetch links on their own. The token is signed with the server
 * secret for the purpose "moderate", names one comment and one action, and expires after 7 days; it is the
 * moderator's authority for that one act, so pages that carry it send Referrer-Policy: no-referrer and are never
 * cached. These are pages for people: answers are HTML with the right status, not JSON. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "core/core_error.h"
#include "core/core_html.h"
#include "core/core_token.h"
#include "api/api.h"

struct st_mod_t {
    api_req_t *r;
    store_share_ref_t thread;
    uint64_t id;
    char action[16];
    char site[72];
    h2o_iovec_t token;
    h2o_iovec_t member;
    json_t *after;
};

/* Escaped copy of S in the pool. */
static const char *esc(h2o_mem_pool_t *pool, const char *s, size_t len)
{
    size_t n = core_html_escape(s, len, NULL, 0);
    char *out = h2o_mem_alloc_pool(pool, n + 1);
    core_html_escape(s, len, out, n + 1);
    return out;
}

/* Sends a small page. TITLE and BODY_HTML must already be safe HTML. */
static void page(api_req_t *r, int status, const char *title, const char *body_html)
{
    h2o_req_t *req = r->req;
    size_t cap = strlen(title) * 2 + strlen(body_html) + 512;
    char *out = h2o_mem_alloc_pool(&req->pool, cap);
    int n = snprintf(out, cap,
                     "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
                     "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                     "<meta name=\"robots\" content=\"noindex\"><title>%s</title></head>"
                     "<body><main><h1>%s</h1>%s</main></body></html>",
                     title, title, body_html);
    req->res.status = status;
    req->res.reason = status == 200 ? "OK" : status == 403 ? "Forbidden" : status == 404 ? "Not Found" : "Error";
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, H2O_STRLIT("text/html; charset=utf-8"));
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, H2O_STRLIT("no-store"));
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("referrer-policy"), 0, NULL,
                          H2O_STRLIT("no-referrer"));
    req->res.content_length = (size_t)n;
    h2o_send_inline(req, out, (size_t)n);
}

static void fail(api_req_t *r, int status, const char *why)
{
    page(r, status, "This link does not work", why);
}

/* Opens t=: "site \n url-hash:id \n action". Replies and returns NULL when it is forged, expired or malformed. */
static struct st_mod_t *open_or_reply(api_req_t *r)
{
    const api_param_t *t = api_query_get(r, "t");
    struct st_mod_t *m = h2o_mem_alloc_pool(&r->req->pool, sizeof(*m));
    memset(m, 0, sizeof(*m));
    m->r = r;
    char payload[200];
    long n = t != NULL ? core_signed_open(r->env->secret, r->env->secret_len, "moderate", t->value.base, t->value.len,
                                          (uint64_t)time(NULL), payload, sizeof(payload) - 1)
                       : -1;
    if (n < 0) {
        fail(r, 403,
             "<p>The link is invalid or has expired (links work for 7 days). Moderate from the queue "
             "instead.</p>");
        return NULL;
    }
    payload[n] = '\0';
    char *nl1 = strchr(payload, '\n'), *nl2 = nl1 != NULL ? strchr(nl1 + 1, '\n') : NULL;
    char *colon = nl1 != NULL ? strchr(nl1 + 1, ':') : NULL;
    if (nl2 == NULL || colon == NULL || colon > nl2 || (size_t)(nl1 - payload) >= sizeof(m->site) ||
        strlen(nl2 + 1) >= sizeof(m->action) || colon - nl1 - 1 != 32) {
        fail(r, 403, "<p>The link is malformed.</p>");
        return NULL;
    }
    memcpy(m->site, payload, (size_t)(nl1 - payload));
    memcpy(m->action, nl2 + 1, strlen(nl2 + 1) + 1);
    m->id = strtoull(colon + 1, NULL, 10);
    if (api_site_or_reply(r, m->site, strlen(m->site)) == NULL)
        return NULL;
    m->thread.site = h2o_iovec_init(r->site->id, strlen(r->site->id));
    m->thread.url_hash = h2o_strdup(&r->req->pool, nl1 + 1, 32);
    m->thread.canonical = h2o_iovec_init("", 0);
    m->member = h2o_strdup(&r->req->pool, nl1 + 1, (size_t)(nl2 - nl1 - 1));
    m->token = t->value;
    if (strcmp(m->action, "approve") != 0 && strcmp(m->action, "spam") != 0) {
        fail(r, 403, "<p>The link names no known action.</p>");
        return NULL;
    }
    return m;
}

/* --- GET: show and confirm --- */

static void on_read(h2o_req_t *req, int err, h2o_iovec_t json, h2o_iovec_t url, void *data)
{
    struct st_mod_t *m = data;
    api_req_t *r = m->r;
    if (err != 0) {
        page(r, 503, "Try again shortly", "<p>The comment store is unavailable right now.</p>");
        return;
    }
    json_t *c = json.base != NULL ? json_loadb(json.base, json.len, 0, NULL) : NULL;
    if (c == NULL) {
        fail(r, 404, "<p>This comment no longer exists.</p>");
        return;
    }
    const char *author = json_string_value(json_object_get(c, "author")),
               *body = json_string_value(json_object_get(c, "body")),
               *status = json_string_value(json_object_get(c, "status"));
    h2o_mem_pool_t *pool = &req->pool;
    const char *verb = strcmp(m->action, "approve") == 0 ? "Approve" : "Mark as spam";
    size_t cap = 1024 + json.len * 6 + url.len * 6 + m->token.len * 6;
    char *html = h2o_mem_alloc_pool(pool, cap);
    snprintf(html, cap,
             "<p>On <a href=\"%s\" rel=\"noopener noreferrer\">%s</a>, by <strong>%s</strong> (now %s):</p>"
             "<blockquote>%s</blockquote>"
             "<form method=\"post\" action=\"/moderate?t=%s\"><button type=\"submit\">%s</button></form>",
             esc(pool, url.base != NULL ? url.base : "", url.len), esc(pool, url.base != NULL ? url.base : "", url.len),
             esc(pool, author != NULL ? author : "", author != NULL ? strlen(author) : 0),
             esc(pool, status != NULL ? status : "", status != NULL ? strlen(status) : 0),
             esc(pool, body != NULL ? body : "", body != NULL ? strlen(body) : 0),
             esc(pool, m->token.base, m->token.len), verb);
    json_decref(c);
    page(r, 200, strcmp(m->action, "approve") == 0 ? "Approve this comment?" : "Mark this comment as spam?", html);
}

void api_moderate_show(api_req_t *r)
{
    struct st_mod_t *m = open_or_reply(r);
    if (m == NULL)
        return;
    int err = store_comment_read(r->env->store, r->req, &m->thread, m->id, on_read, m);
    if (err != 0)
        page(r, 503, "Try again shortly", "<p>The comment store is unavailable right now.</p>");
}

/* --- POST: act --- */

static void on_moved(h2o_req_t *req, int err, const store_value_t *v, size_t n, void *data)
{
    struct st_mod_t *m = data;
    if (err != 0) {
        page(m->r, 503, "Try again shortly", "<p>The comment store is unavailable right now.</p>");
        return;
    }
    page(m->r, 200, strcmp(m->action, "approve") == 0 ? "Approved" : "Marked as spam",
         strcmp(m->action, "approve") == 0 ? "<p>The comment is published. Its author's next comments will be "
                                             "published at once.</p>"
                                           : "<p>The comment is hidden and kept in the spam queue.</p>");
}

static void on_updated(h2o_req_t *req, int err, const store_value_t *v, size_t n, void *data)
{
    struct st_mod_t *m = data;
    api_req_t *r = m->r;
    if (err != 0 || n < 1 || v[0].type != STORE_ARR || v[0].num_items != 6) {
        page(r, 503, "Try again shortly", "<p>The comment store is unavailable right now.</p>");
        return;
    }
    const store_value_t *res = v[0].items;
    if (h2o_memis(res[0].str.base, res[0].str.len, H2O_STRLIT("missing"))) {
        fail(r, 404, "<p>This comment no longer exists.</p>");
        return;
    }
    if (h2o_memis(res[0].str.base, res[0].str.len, H2O_STRLIT("same"))) {
        on_moved(req, 0, NULL, 0, m);
        return;
    }
    json_t *after = json_loadb(res[4].str.base, res[4].str.len, 0, NULL);
    uint64_t created = after != NULL ? (uint64_t)json_integer_value(json_object_get(after, "created")) : 0;
    json_decref(after);
    bool approved = h2o_memis(res[2].str.base, res[2].str.len, H2O_STRLIT("approved"));
    err = store_modq_move(r->env->store, req, m->thread.site, m->member,
                          h2o_strdup(&req->pool, res[1].str.base, res[1].str.len).base,
                          h2o_strdup(&req->pool, res[2].str.base, res[2].str.len).base, created,
                          approved ? res[3].str : h2o_iovec_init(NULL, 0), on_moved, m);
    if (err != 0)
        page(r, 503, "Try again shortly", "<p>The comment store is unavailable right now.</p>");
}

void api_moderate_act(api_req_t *r)
{
    struct st_mod_t *m = open_or_reply(r);
    if (m == NULL)
        return;
    store_update_action_t action = strcmp(m->action, "approve") == 0 ? STORE_UPDATE_APPROVE : STORE_UPDATE_SPAM;
    int err = store_comment_update(r->env->store, r->req, &m->thread, m->id, action, h2o_iovec_init(NULL, 0), 0,
                                   h2o_iovec_init(NULL, 0), h2o_iovec_init(NULL, 0), NULL, on_updated, m);
    if (err != 0)
        page(r, 503, "Try again shortly", "<p>The comment store is unavailable right now.</p>");
}
