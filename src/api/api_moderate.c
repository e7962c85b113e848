/* One-click moderation from a mail: /moderate?t=<signed token> (made by api_comments.c when a comment waits).
 *
 * GET shows the comment and a button; POST (the button) approves it or marks it spam. The link alone changes
 * nothing, because mail scanners and link previews fetch links on their own. The token is signed with the server
 * secret for the purpose "moderate", names one comment and one action, and expires after 7 days; it is the
 * moderator's authority for that one act, so pages that carry it send Referrer-Policy: no-referrer and are never
 * cached. These are pages for people: answers are HTML with the right status, not JSON. Approving a reply tells
 * its parent's author, when they asked for it (api_notify_reply). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "core/core_error.h"
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
    h2o_iovec_t visible; /* the comment's stored JSON when this act made it visible, else {NULL,0} */
};

static void fail(api_req_t *r, int status, const char *why)
{
    api_reply_page(r, status, "This link does not work", why);
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
    /* Not api_site_or_reply: its Origin check is for the API, and the button on this very page posts with Parley's
     * own origin, which is no site's. The signed token is the authority here. */
    r->site = core_config_find_site(r->env->cfg, m->site, strlen(m->site));
    if (r->site == NULL) {
        fail(r, 404, "<p>This site is no longer configured.</p>");
        return NULL;
    }
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
        api_reply_page(r, 503, "Try again shortly", "<p>The comment store is unavailable right now.</p>");
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
             api_html_escape(pool, url.base != NULL ? url.base : "", url.len),
             api_html_escape(pool, url.base != NULL ? url.base : "", url.len),
             api_html_escape(pool, author != NULL ? author : "", author != NULL ? strlen(author) : 0),
             api_html_escape(pool, status != NULL ? status : "", status != NULL ? strlen(status) : 0),
             api_html_escape(pool, body != NULL ? body : "", body != NULL ? strlen(body) : 0),
             api_html_escape(pool, m->token.base, m->token.len), verb);
    json_decref(c);
    api_reply_page(r, 200, strcmp(m->action, "approve") == 0 ? "Approve this comment?" : "Mark this comment as spam?",
                   html);
}

void api_moderate_show(api_req_t *r)
{
    struct st_mod_t *m = open_or_reply(r);
    if (m == NULL)
        return;
    int err = store_comment_read(r->env->store, r->req, &m->thread, m->id, on_read, m);
    if (err != 0)
        api_reply_page(r, 503, "Try again shortly", "<p>The comment store is unavailable right now.</p>");
}

/* --- POST: act --- */

static void done_page(struct st_mod_t *m)
{
    api_reply_page(m->r, 200, strcmp(m->action, "approve") == 0 ? "Approved" : "Marked as spam",
                   strcmp(m->action, "approve") == 0
                       ? "<p>The comment is published. Its author's next comments will be "
                         "published at once.</p>"
                       : "<p>The comment is hidden and kept in the spam queue.</p>");
}

static void on_notified(api_req_t *r, void *data)
{
    done_page(data);
}

static void on_moved(h2o_req_t *req, int err, const store_value_t *v, size_t n, void *data)
{
    struct st_mod_t *m = data;
    if (err != 0) {
        api_reply_page(m->r, 503, "Try again shortly", "<p>The comment store is unavailable right now.</p>");
        return;
    }
    /* A reply that just became visible is told to its parent's author (api_notify.c); the page waits for the mail
     * to be queued, as every notice of a comment does. */
    if (m->visible.base != NULL) {
        json_t *c = json_loadb(m->visible.base, m->visible.len, 0, NULL);
        int rc = c != NULL ? api_notify_reply(m->r, &m->thread, c, on_notified, m) : CORE_ERR_INTERNAL;
        json_decref(c);
        if (rc == 0)
            return;
    }
    done_page(m);
}

static void on_updated(h2o_req_t *req, int err, const store_value_t *v, size_t n, void *data)
{
    struct st_mod_t *m = data;
    api_req_t *r = m->r;
    if (err != 0 || n < 1 || v[0].type != STORE_ARR || v[0].num_items != 6) {
        api_reply_page(r, 503, "Try again shortly", "<p>The comment store is unavailable right now.</p>");
        return;
    }
    const store_value_t *res = v[0].items;
    if (h2o_memis(res[0].str.base, res[0].str.len, H2O_STRLIT("missing"))) {
        fail(r, 404, "<p>This comment no longer exists.</p>");
        return;
    }
    if (h2o_memis(res[0].str.base, res[0].str.len, H2O_STRLIT("same"))) {
        done_page(m);
        return;
    }
    json_t *after = json_loadb(res[4].str.base, res[4].str.len, 0, NULL);
    uint64_t created = after != NULL ? (uint64_t)json_integer_value(json_object_get(after, "created")) : 0;
    json_decref(after);
    bool approved = h2o_memis(res[2].str.base, res[2].str.len, H2O_STRLIT("approved"));
    if (approved)
        m->visible = res[4].str; /* a pool copy: parsed again once the queue is in step */
    err = store_modq_move(r->env->store, req, m->thread.site, m->member,
                          h2o_strdup(&req->pool, res[1].str.base, res[1].str.len).base,
                          h2o_strdup(&req->pool, res[2].str.base, res[2].str.len).base, created,
                          approved ? res[3].str : h2o_iovec_init(NULL, 0), on_moved, m);
    if (err != 0)
        api_reply_page(r, 503, "Try again shortly", "<p>The comment store is unavailable right now.</p>");
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
        api_reply_page(r, 503, "Try again shortly", "<p>The comment store is unavailable right now.</p>");
}
