/* Moderation API (admin role). An admin call carries `Authorization: Bearer <token>` where the token is either the
 * session of an account with the admin role (a verified address listed in accounts.admin_emails) or, for scripts,
 * the value of the environment variable named by the config key admin_token_env. Of the latter only its SHA-256 is
 * kept in memory, compared in constant time; with the variable unset only admin sessions are accepted.
 *
 *   GET   /api/v1/admin/comments?[site=…]&status=pending|spam|approved&cursor=&limit=   the queue, newest first
 *   POST  /api/v1/admin/comments/{ref}/{approve|spam|delete} {site}                  ref = "<url-hash>:<id>"
 *   POST  /api/v1/admin/comments/bulk {site, action, refs}                           the same for up to 100 refs
 *   PATCH /api/v1/admin/comments/{ref} {site, body}                                  a moderator's edit
 *   GET   /api/v1/admin/search?q=&in=all|author|text&[site=…]&[status=]&cursor=&limit=
 *   POST  /api/v1/admin/threads/{lock|unlock} {site,url}
 *   POST  /api/v1/admin/bans {site, email | visitor, duration_s}
 *   POST  /api/v1/admin/bans/lift {site, email | visitor}
 *   GET  /api/v1/admin/mail/dead?cursor=&limit=                                     dead letters, newest first
 *   POST /api/v1/admin/mail/dead/{id}/retry                                         back into the outbox
 *
 * The queue and the search read several sites' queues at once (every site when no `site` is given, else the ones
 * named, `site` repeated): one pipelined round trip reads the entries of every queue, they are merged newest first
 * here, and a second round trip reads the comments and their threads' URL and title. The search is a bounded scan,
 * not an index: it reads the newest SEARCH_SCAN (1000) entries of the chosen queues older than the cursor and
 * matches the query, case-folded (libunistring), against the author's name and address or the text; its answer says
 * how many comments it read (`scanned`) and gives a `next` cursor to search further back.
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
#include <unicase.h>
#include <unistr.h>
#include "core/core_time.h"
#include "core/core_error.h"
#include "core/core_html.h"
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

/* The admin view of stored comment C (changed in place): everything but the edit-token hash, which stays inside,
 * plus its ref and site and its links counted again (an edit changes them). Admins see the e-mail and the visitor
 * hash (to ban a visitor: a daily-keyed hash, never an IP). */
static json_t *admin_view(json_t *c, h2o_iovec_t site, h2o_iovec_t member)
{
    json_object_del(c, "edit");
    json_object_set_new(c, "ref", json_stringn(member.base, member.len));
    json_object_set_new(c, "site", json_stringn(site.base, site.len));
    const char *html = json_string_value(json_object_get(c, "html"));
    size_t links = html != NULL ? core_html_count_sanitized_links(html, strlen(html)) : 0;
    json_object_set_new(c, "links", json_integer((json_int_t)links));
    return c;
}

/* --- the queue and the search: the moderation queues of several sites (and statuses) merged, newest first --- */

/* How many comments one search call reads at most: the newest this many of the queues searched. Each is one HGET
 * in one pipelined round trip, plus a case-folded substring match of its name, address and text. */
#define SEARCH_SCAN 1000

static const char *const all_statuses[] = {"pending", "spam", "approved"};

struct st_entry_t {
    size_t site; /* index into st_scan_t.sites */
    h2o_iovec_t member;
    uint64_t score;
};

struct st_scan_t {
    api_req_t *r;
    h2o_iovec_t *sites;
    size_t n_sites;
    const char *const *statuses;
    size_t n_statuses;
    uint32_t per_queue; /* entries asked of each queue */
    uint32_t limit;     /* the list's page size; the search's most matches */
    bool search;
    h2o_iovec_t needle; /* search: the case-folded query */
    bool in_author, in_text;
    struct st_entry_t *entries;
    size_t n;  /* entries read */
    bool more; /* older entries exist than those read */
};

/* The sites named by `site` parameters (each once), or every configured site when there is none; NULL after
 * answering 404 unknown_site. */
static h2o_iovec_t *sites_or_reply(api_req_t *r, size_t *n)
{
    const core_config_t *cfg = r->env->cfg;
    h2o_iovec_t *out = h2o_mem_alloc_pool(&r->req->pool, sizeof(*out) * cfg->num_sites);
    size_t k = 0;
    for (size_t i = 0; i < r->num_query; ++i) {
        const api_param_t *p = &r->query[i];
        if (!h2o_memis(p->name.base, p->name.len, H2O_STRLIT("site")))
            continue;
        const core_config_site_t *site = core_config_find_site(cfg, p->value.base, p->value.len);
        if (site == NULL) {
            api_reply_error(r, CORE_ERR_UNKNOWN_SITE, "site", NULL);
            return NULL;
        }
        bool seen = false;
        for (size_t j = 0; j < k && !seen; ++j)
            seen = out[j].base == site->id;
        if (!seen)
            out[k++] = h2o_iovec_init(site->id, strlen(site->id));
    }
    if (k == 0)
        for (; k < cfg->num_sites; ++k)
            out[k] = h2o_iovec_init(cfg->sites[k].id, strlen(cfg->sites[k].id));
    *n = k;
    return out;
}

/* `cursor` (the `next` of the previous page: a time in ms) and `limit` (1-200, default 50); -1 after answering 422. */
static int page_or_reply(api_req_t *r, uint64_t *before, uint32_t *limit)
{
    const api_param_t *cursor = api_query_get(r, "cursor"), *lim = api_query_get(r, "limit");
    *before = 0;
    if (cursor != NULL) {
        char *end;
        *before = strtoull(cursor->value.base, &end, 10);
        if (cursor->value.len == 0 || *end != '\0' || !isdigit((unsigned char)cursor->value.base[0])) {
            api_reply_error(r, CORE_ERR_INVALID, "cursor", "Use the `next` value of the previous page.");
            return -1;
        }
    }
    *limit = 50;
    if (lim != NULL) {
        char *end;
        unsigned long l = strtoul(lim->value.base, &end, 10);
        if (lim->value.len == 0 || *end != '\0' || l < 1 || l > 200) {
            api_reply_error(r, CORE_ERR_INVALID, "limit", "The page size must be from 1 to 200.");
            return -1;
        }
        *limit = (uint32_t)l;
    }
    return 0;
}

/* Newest first; ties in a fixed order, so a page is the same whichever queue answered first. */
static int cmp_entry(const void *x, const void *y)
{
    const struct st_entry_t *a = x, *b = y;
    if (a->score != b->score)
        return a->score > b->score ? -1 : 1;
    if (a->site != b->site)
        return a->site < b->site ? -1 : 1;
    size_t n = a->member.len < b->member.len ? a->member.len : b->member.len;
    int c = memcmp(a->member.base, b->member.base, n);
    return c != 0 ? c : (a->member.len < b->member.len ? -1 : a->member.len > b->member.len);
}

/* Whether the case-folded S (LEN bytes of UTF-8) contains NEEDLE (case-folded). */
static bool has_folded(const char *s, size_t len, h2o_iovec_t needle)
{
    size_t n = 0;
    uint8_t *f = u8_casefold((const uint8_t *)s, len, NULL, NULL, NULL, &n);
    if (f == NULL)
        return false;
    bool hit = memmem(f, n, needle.base, needle.len) != NULL;
    free(f);
    return hit;
}

static bool has_field(json_t *c, const char *key, h2o_iovec_t needle)
{
    json_t *v = json_object_get(c, key);
    return json_is_string(v) && has_folded(json_string_value(v), json_string_length(v), needle);
}

static bool is_match(struct st_scan_t *s, json_t *c)
{
    if (s->in_author && (has_field(c, "author", s->needle) || has_field(c, "email", s->needle)))
        return true;
    return s->in_text && has_field(c, "body", s->needle);
}

static json_t *cursor_json(uint64_t score)
{
    char buf[24];
    snprintf(buf, sizeof(buf), "%llu", (unsigned long long)score);
    return json_string(buf);
}

static void on_fetched(h2o_req_t *req, int err, const store_value_t *v, size_t n, void *data)
{
    struct st_scan_t *s = data;
    if (err != 0 || n < 2 * s->n) {
        api_reply_error(s->r, err != 0 ? err : CORE_ERR_UNAVAILABLE, NULL, NULL);
        return;
    }
    json_t *items = json_array();
    uint64_t now = core_now_ms();
    size_t examined = s->n;
    bool cut = false;
    for (size_t i = 0; i < s->n; ++i) {
        const store_value_t *cj = &v[2 * i], *th = &v[2 * i + 1];
        json_t *c = cj->type == STORE_STR ? json_loadb(cj->str.base, cj->str.len, 0, NULL) : NULL;
        const char *st = c != NULL ? json_string_value(json_object_get(c, "status")) : NULL;
        /* A queue entry is checked against its comment: a stale entry (the comment moved on) never shows a wrong
         * status, and a search never shows a deleted comment. */
        bool keep =
            st != NULL && (s->search ? strcmp(st, "deleted") != 0 && is_match(s, c) : strcmp(st, s->statuses[0]) == 0);
        if (!keep) {
            json_decref(c);
            continue;
        }
        const struct st_entry_t *e = &s->entries[i];
        admin_view(c, s->sites[e->site], e->member);
        bool has_thread = th->type == STORE_ARR && th->num_items == 3;
        const store_value_t *url = has_thread ? &th->items[0] : NULL, *title = has_thread ? &th->items[1] : NULL;
        const store_value_t *locked = has_thread ? &th->items[2] : NULL;
        json_object_set_new(c, "locked",
                            json_boolean(locked != NULL && locked->type == STORE_STR &&
                                         h2o_memis(locked->str.base, locked->str.len, H2O_STRLIT("1"))));
        json_object_set_new(c, "thread",
                            url != NULL && url->type == STORE_STR ? json_stringn(url->str.base, url->str.len)
                                                                  : json_string(""));
        json_object_set_new(c, "title",
                            title != NULL && title->type == STORE_STR ? json_stringn(title->str.base, title->str.len)
                                                                      : json_string(""));
        uint64_t created = (uint64_t)json_integer_value(json_object_get(c, "created"));
        json_object_set_new(c, "age_s", json_integer(now > created ? (json_int_t)((now - created) / 1000) : 0));
        json_array_append_new(items, c);
        if (s->search && json_array_size(items) == s->limit) {
            examined = i + 1;
            cut = examined < s->n || s->more;
            break;
        }
    }
    json_t *next = json_null();
    if (cut)
        next = cursor_json(s->entries[examined - 1].score);
    else if (s->more && s->n > 0)
        next = cursor_json(s->entries[s->n - 1].score);
    json_t *out = json_pack("{s:o,s:o}", "items", items, "next", next);
    if (s->search) {
        json_object_set_new(out, "scanned", json_integer((json_int_t)examined));
    } else {
        /* The configured sites, for the console's site filter. */
        json_t *sites = json_array();
        const core_config_t *cfg = s->r->env->cfg;
        for (size_t i = 0; i < cfg->num_sites; ++i)
            json_array_append_new(sites, json_string(cfg->sites[i].id));
        json_object_set_new(out, "sites", sites);
    }
    api_reply_json(s->r, 200, out);
}

static void on_scanned(h2o_req_t *req, int err, const store_value_t *v, size_t n, void *data)
{
    struct st_scan_t *s = data;
    if (err != 0 || n < s->n_sites * s->n_statuses) {
        api_reply_error(s->r, err != 0 ? err : CORE_ERR_UNAVAILABLE, NULL, NULL);
        return;
    }
    size_t total = 0;
    for (size_t i = 0; i < n; ++i)
        if (v[i].type == STORE_ARR)
            total += v[i].num_items / 2;
    s->entries = h2o_mem_alloc_pool(&req->pool, sizeof(*s->entries) * (total != 0 ? total : 1));
    size_t k = 0;
    for (size_t i = 0; i < n; ++i) {
        if (v[i].type != STORE_ARR)
            continue;
        size_t pairs = v[i].num_items / 2;
        if (pairs >= s->per_queue)
            s->more = true; /* this queue may hold older entries */
        for (size_t j = 0; j < pairs; ++j) {
            const store_value_t *m = &v[i].items[2 * j], *score = &v[i].items[2 * j + 1];
            if (m->type != STORE_STR || score->type != STORE_STR)
                continue;
            s->entries[k].site = i / s->n_statuses;
            s->entries[k].member = m->str;
            s->entries[k].score = store_parse_u64(score->str.base, score->str.len);
            ++k;
        }
    }
    qsort(s->entries, k, sizeof(*s->entries), cmp_entry);
    size_t keep = s->search ? SEARCH_SCAN : s->limit;
    if (k > keep) {
        s->more = true;
        k = keep;
    }
    s->n = k;
    if (k == 0) {
        on_fetched(req, 0, NULL, 0, s); /* nothing to read */
        return;
    }
    store_modq_item_t *items = h2o_mem_alloc_pool(&req->pool, sizeof(*items) * k);
    for (size_t i = 0; i < k; ++i) {
        items[i].site = s->sites[s->entries[i].site];
        items[i].member = s->entries[i].member;
    }
    err = store_modq_fetch(s->r->env->store, req, items, k, on_fetched, s);
    if (err != 0)
        api_reply_error(s->r, err, NULL, NULL);
}

static void scan_start(struct st_scan_t *s, uint64_t before)
{
    int err = store_modq_scan(s->r->env->store, s->r->req, s->sites, s->n_sites, s->statuses, s->n_statuses, before,
                              s->per_queue, on_scanned, s);
    if (err != 0)
        api_reply_error(s->r, err, NULL, NULL);
}

/* The status named by `status` (one of all_statuses), DEF when absent; NULL after answering 422. */
static const char *const *status_or_reply(api_req_t *r, const char *const *def)
{
    const api_param_t *status = api_query_get(r, "status");
    if (status == NULL)
        return def;
    for (size_t i = 0; i < 3; ++i)
        if (h2o_memis(status->value.base, status->value.len, all_statuses[i], strlen(all_statuses[i])))
            return &all_statuses[i];
    api_reply_error(r, CORE_ERR_INVALID, "status", "Give status pending, spam or approved.");
    return NULL;
}

static struct st_scan_t *scan_new(api_req_t *r)
{
    struct st_scan_t *s = h2o_mem_alloc_pool(&r->req->pool, sizeof(*s));
    memset(s, 0, sizeof(*s));
    s->r = r;
    return s;
}

static void list_go(api_req_t *r)
{
    struct st_scan_t *s = scan_new(r);
    uint64_t before;
    if ((s->sites = sites_or_reply(r, &s->n_sites)) == NULL ||
        (s->statuses = status_or_reply(r, &all_statuses[0])) == NULL || page_or_reply(r, &before, &s->limit) != 0)
        return;
    s->n_statuses = 1;
    s->per_queue = s->limit;
    scan_start(s, before);
}

static void search_go(api_req_t *r)
{
    struct st_scan_t *s = scan_new(r);
    uint64_t before;
    const api_param_t *q = api_query_get(r, "q"), *in = api_query_get(r, "in");
    if ((s->sites = sites_or_reply(r, &s->n_sites)) == NULL)
        return;
    s->statuses = status_or_reply(r, NULL);
    if (s->statuses == NULL && api_query_get(r, "status") != NULL)
        return;
    s->n_statuses = s->statuses != NULL ? 1 : 3;
    if (s->statuses == NULL)
        s->statuses = all_statuses;
    if (page_or_reply(r, &before, &s->limit) != 0)
        return;
    if (in == NULL || h2o_memis(in->value.base, in->value.len, H2O_STRLIT("all"))) {
        s->in_author = s->in_text = true;
    } else if (h2o_memis(in->value.base, in->value.len, H2O_STRLIT("author"))) {
        s->in_author = true;
    } else if (h2o_memis(in->value.base, in->value.len, H2O_STRLIT("text"))) {
        s->in_text = true;
    } else {
        api_reply_error(r, CORE_ERR_INVALID, "in", "Search in all, author or text.");
        return;
    }
    const char *text = q != NULL ? q->value.base : NULL;
    size_t len = q != NULL ? q->value.len : 0;
    while (len > 0 && isspace((unsigned char)*text))
        ++text, --len;
    while (len > 0 && isspace((unsigned char)text[len - 1]))
        --len;
    size_t folded_len = 0;
    uint8_t *folded =
        len > 0 && len <= 200 && memchr(text, '\0', len) == NULL && u8_check((const uint8_t *)text, len) == NULL
            ? u8_casefold((const uint8_t *)text, len, NULL, NULL, NULL, &folded_len)
            : NULL;
    if (folded == NULL || folded_len == 0) {
        free(folded);
        api_reply_error(r, CORE_ERR_INVALID, "q", "Search for 1 to 200 bytes of text.");
        return;
    }
    s->needle = h2o_strdup(&r->req->pool, (const char *)folded, folded_len);
    free(folded);
    s->search = true;
    /* Every queue could hold the newest SEARCH_SCAN comments. */
    s->per_queue = SEARCH_SCAN;
    scan_start(s, before);
}

/* --- one comment, or many --- */

struct st_bulk_t {
    api_req_t *r;
    store_update_action_t action;
    json_t *refs; /* the body's array of refs (the body lives as long as the request) */
    size_t next;  /* index of the next ref to act on */
    json_t *results;
};

struct st_act_t {
    api_req_t *r;
    struct st_bulk_t *bulk; /* NULL: one act, answered by itself */
    store_share_ref_t thread;
    h2o_iovec_t member;
    uint64_t id;
    json_t *after;
    bool now_visible; /* this act approved a comment that was not approved */
};

static void bulk_step(struct st_bulk_t *b);

/* The end of one act: its answer, or (in a bulk call) its result and the next act. */
static void act_done(struct st_act_t *a, int err, const char *message)
{
    if (a->bulk == NULL) {
        if (err != 0) {
            api_reply_error(a->r, err, err == CORE_ERR_NOT_FOUND ? "ref" : NULL, message);
            return;
        }
        json_t *c = a->after;
        a->after = NULL;
        admin_view(c, a->thread.site, a->member);
        api_reply_json(a->r, 200, json_pack("{s:o}", "comment", c));
        return;
    }
    json_t *res;
    if (err != 0)
        res = json_pack("{s:s%,s:b,s:{s:s,s:s}}", "ref", a->member.base, a->member.len, "ok", 0, "error", "code",
                        core_error_code(err), "message", message != NULL ? message : core_error_message(err));
    else
        res = json_pack("{s:s%,s:b,s:O}", "ref", a->member.base, a->member.len, "ok", 1, "status",
                        json_object_get(a->after, "status"));
    json_decref(a->after);
    a->after = NULL;
    json_array_append_new(a->bulk->results, res);
    bulk_step(a->bulk);
}

static void on_notified(api_req_t *r, void *data)
{
    act_done(data, 0, NULL);
}

static void on_moved(h2o_req_t *req, int err, const store_value_t *v, size_t n, void *data)
{
    struct st_act_t *a = data;
    if (err != 0) {
        act_done(a, err, NULL);
        return;
    }
    /* A reply that just became visible is told to its parent's author (api_notify.c). The answer waits for the mail
     * to be queued, as every notice of a comment does: a store call cannot outlive its request. */
    if (a->now_visible && api_notify_reply(a->r, &a->thread, a->after, on_notified, a) == 0)
        return;
    act_done(a, 0, NULL);
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
        act_done(a, err != 0 ? err : CORE_ERR_UNAVAILABLE, NULL);
        return;
    }
    const store_value_t *res = v[0].items;
    if (h2o_memis(res[0].str.base, res[0].str.len, H2O_STRLIT("missing"))) {
        act_done(a, CORE_ERR_NOT_FOUND, "No comment with that reference.");
        return;
    }
    struct st_act_t **holder = h2o_mem_alloc_shared(&req->pool, sizeof(*holder), on_act_dispose);
    *holder = a;
    a->after = json_loadb(res[4].str.base, res[4].str.len, 0, NULL);
    if (a->after == NULL) {
        act_done(a, CORE_ERR_INTERNAL, NULL);
        return;
    }
    bool approved = h2o_memis(res[2].str.base, res[2].str.len, H2O_STRLIT("approved"));
    a->now_visible = approved && h2o_memis(res[0].str.base, res[0].str.len, H2O_STRLIT("ok"));
    err = store_modq_move(r->env->store, req, a->thread.site, a->member,
                          h2o_strdup(&req->pool, res[1].str.base, res[1].str.len).base,
                          h2o_strdup(&req->pool, res[2].str.base, res[2].str.len).base,
                          (uint64_t)json_integer_value(json_object_get(a->after, "created")),
                          approved ? res[3].str : h2o_iovec_init(NULL, 0), on_moved, a);
    if (err != 0)
        act_done(a, err, NULL);
}

/* Parses "<32 hex>:<id>" into A. */
static int parse_ref(h2o_iovec_t ref, struct st_act_t *a)
{
    a->member = ref;
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
    return 0;
}

/* A new act on REF in the request's site (r->site); NULL after answering (or, in a bulk call, recording) 404. */
static struct st_act_t *act_new(api_req_t *r, struct st_bulk_t *bulk, h2o_iovec_t ref)
{
    struct st_act_t *a = h2o_mem_alloc_pool(&r->req->pool, sizeof(*a));
    memset(a, 0, sizeof(*a));
    a->r = r;
    a->bulk = bulk;
    a->thread.site = h2o_iovec_init(r->site->id, strlen(r->site->id));
    a->thread.canonical = h2o_iovec_init("", 0);
    if (parse_ref(ref, a) != 0) {
        act_done(a, CORE_ERR_NOT_FOUND, "No comment with that reference.");
        return NULL;
    }
    return a;
}

static void act_start(struct st_act_t *a, store_update_action_t action)
{
    int err = store_comment_update(a->r->env->store, a->r->req, &a->thread, a->id, action, h2o_iovec_init(NULL, 0), 0,
                                   h2o_iovec_init(NULL, 0), h2o_iovec_init(NULL, 0), NULL, on_updated, a);
    if (err != 0)
        act_done(a, err, NULL);
}

static int parse_action(h2o_iovec_t act, store_update_action_t *action)
{
    if (h2o_memis(act.base, act.len, H2O_STRLIT("approve")))
        *action = STORE_UPDATE_APPROVE;
    else if (h2o_memis(act.base, act.len, H2O_STRLIT("spam")))
        *action = STORE_UPDATE_SPAM;
    else if (h2o_memis(act.base, act.len, H2O_STRLIT("delete")))
        *action = STORE_UPDATE_DELETE;
    else
        return -1;
    return 0;
}

/* The body's `site` (and no key outside KEYS); false after answering. */
static bool body_site_or_reply(api_req_t *r, const char *const *keys)
{
    core_json_err_t jerr;
    const char *site;
    size_t site_len;
    if (core_json_only_keys(r->body, keys, &jerr) != 0 ||
        core_json_get_string(r->body, "site", true, 64, &site, &site_len, &jerr) != 0) {
        api_reply_json_error(r, &jerr);
        return false;
    }
    return api_site_or_reply(r, site, site_len) != NULL;
}

static void act_go(api_req_t *r)
{
    static const char *const keys[] = {"site", NULL};
    if (!body_site_or_reply(r, keys))
        return;
    store_update_action_t action;
    if (parse_action(r->path_params[1], &action) != 0) {
        api_reply_error(r, CORE_ERR_NOT_FOUND, NULL, "Moderate with approve, spam or delete.");
        return;
    }
    struct st_act_t *a = act_new(r, NULL, r->path_params[0]);
    if (a != NULL)
        act_start(a, action);
}

static void bulk_step(struct st_bulk_t *b)
{
    if (b->next == json_array_size(b->refs)) {
        api_reply_json(b->r, 200, json_pack("{s:O}", "results", b->results));
        return;
    }
    json_t *ref = json_array_get(b->refs, b->next++);
    struct st_act_t *a = act_new(b->r, b, h2o_iovec_init(json_string_value(ref), json_string_length(ref)));
    if (a != NULL)
        act_start(a, b->action);
}

static void on_bulk_dispose(void *p)
{
    json_decref(((struct st_bulk_t *)p)->results);
}

/* POST /api/v1/admin/comments/bulk {site, action, refs: [1 to 100 refs]}: the acts one after the other (each as the
 * single call does it), answered with one result per ref in order. A ref that fails does not stop the others. */
static void bulk_go(api_req_t *r)
{
    static const char *const keys[] = {"site", "action", "refs", NULL};
    if (!body_site_or_reply(r, keys))
        return;
    core_json_err_t jerr;
    const char *action;
    size_t action_len;
    if (core_json_get_string(r->body, "action", true, 16, &action, &action_len, &jerr) != 0) {
        api_reply_json_error(r, &jerr);
        return;
    }
    struct st_bulk_t *b = h2o_mem_alloc_shared(&r->req->pool, sizeof(*b), on_bulk_dispose);
    memset(b, 0, sizeof(*b));
    b->r = r;
    b->results = json_array();
    if (parse_action(h2o_iovec_init(action, action_len), &b->action) != 0) {
        api_reply_error(r, CORE_ERR_INVALID, "action", "Give action approve, spam or delete.");
        return;
    }
    b->refs = json_object_get(r->body, "refs");
    bool ok = json_is_array(b->refs) && json_array_size(b->refs) >= 1 && json_array_size(b->refs) <= 100;
    for (size_t i = 0; ok && i < json_array_size(b->refs); ++i)
        ok = json_is_string(json_array_get(b->refs, i)) && json_string_length(json_array_get(b->refs, i)) <= 64;
    if (!ok) {
        api_reply_error(r, CORE_ERR_INVALID, "refs", "Give refs as a list of 1 to 100 comment references.");
        return;
    }
    bulk_step(b);
}

/* PATCH /api/v1/admin/comments/{ref} {site, body}: a moderator's edit. The text goes through the same sanitiser as
 * every comment and is marked edited; the status stays what it is (an admin's edit never sends a comment back to the
 * queue, nor releases it). */

static void on_edited(h2o_req_t *req, int err, const store_value_t *v, size_t n, void *data)
{
    struct st_act_t *a = data;
    if (err != 0 || n < 1 || v[0].type != STORE_ARR || v[0].num_items != 6) {
        act_done(a, err != 0 ? err : CORE_ERR_UNAVAILABLE, NULL);
        return;
    }
    const store_value_t *res = v[0].items;
    if (!h2o_memis(res[0].str.base, res[0].str.len, H2O_STRLIT("ok"))) {
        act_done(a, CORE_ERR_NOT_FOUND, "No comment with that reference (a deleted comment cannot be edited).");
        return;
    }
    struct st_act_t **holder = h2o_mem_alloc_shared(&req->pool, sizeof(*holder), on_act_dispose);
    *holder = a;
    a->after = json_loadb(res[4].str.base, res[4].str.len, 0, NULL);
    act_done(a, a->after != NULL ? 0 : CORE_ERR_INTERNAL, NULL);
}

static void edit_go(api_req_t *r)
{
    static const char *const keys[] = {"site", "body", NULL};
    if (!body_site_or_reply(r, keys))
        return;
    core_json_err_t jerr;
    const char *body;
    size_t len;
    if (core_json_get_string(r->body, "body", true, 0, &body, &len, &jerr) != 0) {
        api_reply_json_error(r, &jerr);
        return;
    }
    struct st_act_t *a = act_new(r, NULL, r->path_params[0]);
    h2o_iovec_t html;
    if (a == NULL || api_comment_html_or_reply(r, &body, &len, &html) != 0)
        return;
    int err = store_comment_update(r->env->store, r->req, &a->thread, a->id, STORE_UPDATE_EDIT, h2o_iovec_init(NULL, 0),
                                   0, html, h2o_iovec_init(body, len), NULL, on_edited, a);
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
    uint32_t seconds; /* 0: lift the ban */
};

static void on_banned(h2o_req_t *req, int err, const store_value_t *v, size_t n, void *data)
{
    struct st_ban_t *b = data;
    if (err != 0) {
        api_reply_error(b->r, err, NULL, NULL);
        return;
    }
    const char *what = strcmp(b->kind, "e") == 0 ? "email" : "visitor";
    if (b->seconds == 0)
        api_reply_json(
            b->r, 200,
            json_pack("{s:s,s:b}", "lifted", what, "was_banned", n >= 1 && v[0].type == STORE_INT && v[0].integer > 0));
    else
        api_reply_json(b->r, 201, json_pack("{s:s,s:I}", "banned", what, "duration_s", (json_int_t)b->seconds));
}

/* POST /api/v1/admin/bans {site, email | visitor, duration_s} and POST /api/v1/admin/bans/lift {site, email |
 * visitor}. An e-mail is banned by its keyed hash, as comments are checked against it. */
static void ban_common(api_req_t *r, bool lift)
{
    static const char *const ban_keys[] = {"site", "email", "visitor", "duration_s", NULL};
    static const char *const lift_keys[] = {"site", "email", "visitor", NULL};
    core_json_err_t jerr;
    const char *email, *visitor;
    size_t email_len, visitor_len;
    long long seconds = 0;
    if (!body_site_or_reply(r, lift ? lift_keys : ban_keys))
        return;
    if (core_json_get_string(r->body, "email", false, 254, &email, &email_len, &jerr) != 0 ||
        core_json_get_string(r->body, "visitor", false, 64, &visitor, &visitor_len, &jerr) != 0 ||
        (!lift && core_json_get_int(r->body, "duration_s", true, 60, 10LL * 365 * 86400, 0, &seconds, &jerr) != 0)) {
        api_reply_json_error(r, &jerr);
        return;
    }
    if ((email == NULL) == (visitor == NULL)) {
        api_reply_error(r, CORE_ERR_INVALID, "email",
                        lift ? "Lift the ban of either an e-mail or a visitor." : "Ban either an e-mail or a visitor.");
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
        bool ok = visitor_len > 0;
        for (size_t i = 0; i < visitor_len; ++i)
            ok = ok && isxdigit((unsigned char)visitor[i]);
        if (!ok) {
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

static void ban_go(api_req_t *r)
{
    ban_common(r, false);
}

static void unban_go(api_req_t *r)
{
    ban_common(r, true);
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

void api_admin_unban(api_req_t *r)
{
    admin_gate(r, unban_go);
}

void api_admin_edit(api_req_t *r)
{
    admin_gate(r, edit_go);
}

void api_admin_bulk(api_req_t *r)
{
    admin_gate(r, bulk_go);
}

void api_admin_search(api_req_t *r)
{
    admin_gate(r, search_go);
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
