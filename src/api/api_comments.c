/* Comment threads ("Leave a Reply").
 *
 * Reading, GET /api/v1/comments?site=&url=&sort=&limit=&cursor=: one Lua script returns a page of top-level comments
 * after the cursor with every visible reply beneath them (cost grows with the page, not the thread); this file nests
 * them and strips everything private (e-mail, visitor hash, edit-token hash) before anything leaves the server.
 * The answer carries a fresh form token: an HMAC over site, URL and issue time, checked when the comment is posted.
 *
 * Writing, POST /api/v1/comments: validate every field (422 naming it), sanitise the body (core_html), then one
 * pipelined round trip counts the visitor's comment limits, reads bans, whether the e-mail was approved before,
 * whether the thread is locked, the parent, and allocates the id; the moderation policy picks the status; one Lua
 * script stores and indexes the comment atomically. Honeypot or form-token failures store the comment as spam
 * (moderators can rescue false positives) but answer like a pending comment, so bots learn nothing. Anonymous
 * authors get an edit token (256-bit, stored as SHA-256) for the site's edit window. Mails a new comment causes
 * (moderators' notices, the author's confirmation of `notify`, the parent author's reply notice; see api_notify.c)
 * are queued before the 201 goes out.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <openssl/evp.h>
#include "core/core_time.h"
#include "core/core_error.h"
#include "core/core_log.h"
#include "core/core_html.h"
#include "core/core_token.h"
#include "core/core_url.h"
#include "api/api.h"
#include "mail/mail.h"

/* Appends a string literal at OUT + O and advances O; the length comes from the literal, never from counting. */
#define APPEND_LIT(out, o, lit) (memcpy((out) + (o), (lit), sizeof(lit) - 1), (o) += sizeof(lit) - 1)

#define PAGE_DEFAULT 50
#define PAGE_MAX 200
#define FORM_TOKEN_BYTES (8 + 16)

/* --- small helpers --- */

/* Trims ASCII white space at both ends (the body's inner lines are the author's). */
static void trim(const char **s, size_t *len)
{
    while (*len > 0 && isspace((unsigned char)(*s)[0]))
        ++*s, --*len;
    while (*len > 0 && isspace((unsigned char)(*s)[*len - 1]))
        --*len;
}

static bool has_control(const char *s, size_t len)
{
    for (size_t i = 0; i < len; ++i)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return true;
    return false;
}

/* A deliberately plain check: one @, a non-empty local part, a dotted domain of letters, digits, - and ., no spaces.
 * Delivery is what proves an address; this only refuses what cannot be one. */
bool api_is_email(const char *s, size_t len)
{
    const char *at = memchr(s, '@', len);
    if (at == NULL || at == s || memchr(at + 1, '@', (size_t)(s + len - at - 1)) != NULL)
        return false;
    size_t dlen = (size_t)(s + len - at - 1);
    const char *d = at + 1;
    if (dlen < 3 || d[0] == '.' || d[dlen - 1] == '.' || memchr(d, '.', dlen) == NULL)
        return false;
    for (size_t i = 0; i < dlen; ++i)
        if (!(isalnum((unsigned char)d[i]) || d[i] == '-' || d[i] == '.' || (unsigned char)d[i] >= 0x80))
            return false;
    for (const char *p = s; p < at; ++p)
        if ((unsigned char)*p <= 0x20 || *p == '<' || *p == '>' || *p == '"' || *p == '\\' || *p == 0x7f)
            return false;
    return true;
}

/* A keyed hash of the lower-cased e-mail, 32 hex digits in the pool. TAG separates uses (bans/approvals vs avatars)
 * so the public avatar hash cannot be matched against anything stored. */
static h2o_iovec_t email_hash(api_req_t *r, const char *tag, const char *email, size_t len)
{
    size_t tl = strlen(tag);
    char *msg = h2o_mem_alloc_pool(&r->req->pool, tl + len);
    memcpy(msg, tag, tl);
    for (size_t i = 0; i < len; ++i)
        msg[tl + i] = (char)tolower((unsigned char)email[i]);
    uint8_t mac[CORE_SHA256_LEN];
    core_hmac_sha256(r->env->secret, r->env->secret_len, msg, tl + len, mac);
    char *hex = h2o_mem_alloc_pool(&r->req->pool, 33);
    core_hex_encode(mac, 16, hex);
    return h2o_iovec_init(hex, 32);
}

h2o_iovec_t api_email_hash(api_req_t *r, const char *email, size_t len)
{
    return email_hash(r, "email\n", email, len);
}

/* --- form tokens: base64url(issued seconds (8 bytes, big endian) || HMAC(site \n url \n issued)[0..16)) --- */

static void form_mac(api_req_t *r, const char *site, h2o_iovec_t canonical, uint64_t issued, uint8_t out[16])
{
    char head[96];
    int n = snprintf(head, sizeof(head), "form\n%s\n%llu\n", site, (unsigned long long)issued);
    char *msg = h2o_mem_alloc_pool(&r->req->pool, (size_t)n + canonical.len);
    memcpy(msg, head, (size_t)n);
    memcpy(msg + n, canonical.base, canonical.len);
    uint8_t mac[CORE_SHA256_LEN];
    core_hmac_sha256(r->env->secret, r->env->secret_len, msg, (size_t)n + canonical.len, mac);
    memcpy(out, mac, 16);
}

static h2o_iovec_t form_token_make(api_req_t *r, h2o_iovec_t canonical)
{
    uint8_t raw[FORM_TOKEN_BYTES];
    uint64_t issued = (uint64_t)time(NULL);
    for (int i = 0; i < 8; ++i)
        raw[i] = (uint8_t)(issued >> (56 - 8 * i));
    form_mac(r, r->site->id, canonical, issued, raw + 8);
    char *out = h2o_mem_alloc_pool(&r->req->pool, 40);
    size_t n = core_base64url_encode(raw, sizeof(raw), out);
    return h2o_iovec_init(out, n);
}

/* True when TOKEN was issued by us for this site and URL between min_form_age_s and max_form_age_s ago. */
static bool form_token_ok(api_req_t *r, const char *token, size_t len, h2o_iovec_t canonical)
{
    uint8_t raw[FORM_TOKEN_BYTES + 4], mac[16];
    if (token == NULL || core_base64url_decode(token, len, raw, sizeof(raw)) != FORM_TOKEN_BYTES)
        return false;
    uint64_t issued = 0;
    for (int i = 0; i < 8; ++i)
        issued = issued << 8 | raw[i];
    form_mac(r, r->site->id, canonical, issued, mac);
    if (!core_memeq_ct(mac, raw + 8, 16))
        return false;
    uint64_t now = (uint64_t)time(NULL);
    const core_config_t *cfg = r->env->cfg;
    return issued <= now && now - issued >= cfg->comments.min_form_age_s &&
           now - issued <= cfg->comments.max_form_age_s;
}

/* --- the thread a request names --- */

struct st_thread_t {
    store_share_ref_t ref;
    h2o_iovec_t sent;
};

/* Canonicalises URL and checks it belongs to r->site: 0, CORE_ERR_INVALID or CORE_ERR_FOREIGN_URL. */
static int thread_of(api_req_t *r, const char *url, size_t len, struct st_thread_t *t)
{
    core_url_t u;
    if (url == NULL || core_url_canonicalize(url, len, &u) != 0)
        return CORE_ERR_INVALID;
    if (!api_url_host_allowed(r, u.host))
        return CORE_ERR_FOREIGN_URL;
    uint8_t digest[CORE_SHA256_LEN];
    core_sha256(u.canonical, u.canonical_len, digest);
    char *hex = h2o_mem_alloc_pool(&r->req->pool, 33);
    core_hex_encode(digest, 16, hex);
    t->sent = h2o_iovec_init(url, len);
    t->ref.site = h2o_iovec_init(r->site->id, strlen(r->site->id));
    t->ref.url_hash = h2o_iovec_init(hex, 32);
    t->ref.canonical = h2o_strdup(&r->req->pool, u.canonical, u.canonical_len);
    return 0;
}

/* thread_of, replying 422/403 and returning -1 on failure. */
static int thread_or_reply(api_req_t *r, const char *url, size_t len, struct st_thread_t *t)
{
    int err = thread_of(r, url, len, t);
    if (err == CORE_ERR_INVALID)
        api_reply_error(r, err, "url", "Give the article's absolute http or https URL.");
    else if (err != 0)
        api_reply_error(r, err, "url", NULL);
    return err != 0 ? -1 : 0;
}

/* Sends {"comment":<public form>,"replies":[]}[,"cursor":"…"]} from a fragment rendered by the scripts. */
static void reply_comment(api_req_t *r, int status, h2o_iovec_t public_json, bool with_cursor,
                          const h2o_iovec_t *cursor)
{
    size_t cap = public_json.len + (cursor != NULL ? cursor->len : 0) + 64;
    char *out = h2o_mem_alloc_pool(&r->req->pool, cap);
    size_t o = 0;
    APPEND_LIT(out, o, "{\"comment\":");
    memcpy(out + o, public_json.base, public_json.len);
    o += public_json.len;
    APPEND_LIT(out, o, ",\"replies\":[]}");
    if (cursor != NULL) {
        /* cursors are digits and '-' only (Redis scores of integer values) */
        APPEND_LIT(out, o, ",\"cursor\":\"");
        memcpy(out + o, cursor->base, cursor->len);
        o += cursor->len;
        out[o++] = '"';
    } else if (with_cursor) {
        APPEND_LIT(out, o, ",\"cursor\":null");
    }
    out[o++] = '}';
    api_reply_raw_json(r, status, h2o_iovec_init(out, o), "no-store");
}

/* --- GET /api/v1/comments --- */

struct st_list_t {
    api_req_t *r;
    struct st_thread_t thread;
    h2o_iovec_t key;    /* page-cache key: site, url hash, sort, cursor, limit */
    h2o_iovec_t viewer; /* first page only: whose pending comments to include */
    const char *sort;
    h2o_iovec_t cursor;
    uint32_t page_size;
    bool cacheable;         /* the answer holds nothing viewer-specific */
    api_first_page_cb sink; /* api_comments_first_page: the page goes here instead of to the client */
    void *sink_data;
};

/* A page request failed: an error answer, or for a sink, no page. */
static void list_fail(struct st_list_t *l, int err)
{
    if (l->sink != NULL)
        l->sink(l->r, NULL, 0, l->sink_data);
    else
        api_reply_error(l->r, err, NULL, NULL);
}

/* Sends a page: the cached or fresh body (everything up to the form token) and a fresh form token. */
static void reply_page(struct st_list_t *l, h2o_iovec_t prefix)
{
    api_req_t *r = l->r;
    /* base64url: the token needs no escaping */
    h2o_iovec_t bufs[] = {prefix, form_token_make(r, l->thread.ref.canonical), h2o_iovec_init(H2O_STRLIT("\"}"))};
    if (l->sink != NULL)
        l->sink(r, bufs, 3, l->sink_data);
    else
        api_reply_raw_bufs(r, 200, bufs, 3, "no-store");
}

/* The page arrives as (id, parent, public JSON without its closing brace) triples; nesting them is string work:
 * each comment is written as its fragment, then ,"replies":[children],"}". No JSON is parsed on this path. */
struct st_tree_t {
    const store_page_t *page;
    size_t *first, *last, *next; /* child lists; SIZE_MAX = none */
};

static size_t emit(const struct st_tree_t *t, size_t i, char *out)
{
    size_t n = 0;
    memcpy(out + n, t->page->publics[i].base, t->page->publics[i].len);
    n += t->page->publics[i].len;
    APPEND_LIT(out, n, ",\"replies\":[");
    for (size_t c = t->first[i]; c != SIZE_MAX; c = t->next[c]) {
        if (c != t->first[i])
            out[n++] = ',';
        n += emit(t, c, out + n);
    }
    APPEND_LIT(out, n, "]}");
    return n;
}

static void on_page(h2o_req_t *req, int err, const store_page_t *page, void *data)
{
    struct st_list_t *l = data;
    api_req_t *r = l->r;
    if (err != 0) {
        list_fail(l, err);
        return;
    }
    size_t n = page->num_comments, cap = 16;
    while (cap < 2 * n)
        cap *= 2;
    /* id -> index, open addressing; ids are unique within a page */
    size_t *slots = h2o_mem_alloc_pool(&req->pool, sizeof(size_t) * cap);
    for (size_t k = 0; k < cap; ++k)
        slots[k] = SIZE_MAX;
    struct st_tree_t t = {page, h2o_mem_alloc_pool(&req->pool, sizeof(size_t) * (n + 1)),
                          h2o_mem_alloc_pool(&req->pool, sizeof(size_t) * (n + 1)),
                          h2o_mem_alloc_pool(&req->pool, sizeof(size_t) * (n + 1))};
    size_t total = 0, roots_first = SIZE_MAX, roots_last = SIZE_MAX;
    for (size_t i = 0; i < n; ++i) {
        t.first[i] = t.last[i] = t.next[i] = SIZE_MAX;
        size_t h = (size_t)(page->ids[i] * 0x9E3779B97F4A7C15ull) & (cap - 1);
        while (slots[h] != SIZE_MAX && page->ids[slots[h]] != page->ids[i])
            h = (h + 1) & (cap - 1);
        if (slots[h] != SIZE_MAX)
            continue; /* a duplicate (pending and visible at once) is shown once */
        slots[h] = i;
        size_t p = SIZE_MAX;
        if (page->parents[i] != 0) {
            size_t ph = (size_t)(page->parents[i] * 0x9E3779B97F4A7C15ull) & (cap - 1);
            while (slots[ph] != SIZE_MAX && page->ids[slots[ph]] != page->parents[i])
                ph = (ph + 1) & (cap - 1);
            p = slots[ph];
        }
        if (p != SIZE_MAX) {
            if (t.first[p] == SIZE_MAX)
                t.first[p] = i;
            else
                t.next[t.last[p]] = i;
            t.last[p] = i;
        } else if (roots_first == SIZE_MAX) {
            roots_first = roots_last = i;
        } else {
            t.next[roots_last] = i;
            roots_last = i;
        }
        total += page->publics[i].len + 16;
    }
    json_t *thread =
        json_pack("{s:s%,s:o,s:I,s:b,s:I,s:I}", "url", page->exists ? page->url.base : l->thread.ref.canonical.base,
                  page->exists ? page->url.len : l->thread.ref.canonical.len, "title",
                  page->title.len != 0 ? json_stringn(page->title.base, page->title.len) : json_null(), "count",
                  (json_int_t)page->count, "locked", page->locked, "max_depth", (json_int_t)r->site->max_depth,
                  "edit_window_s", (json_int_t)r->site->edit_window_s);
    h2o_iovec_t head = api_json_dump(&req->pool, thread);
    json_decref(thread);
    json_t *next = page->next.base != NULL ? json_stringn(page->next.base, page->next.len) : json_null();
    h2o_iovec_t next_json = api_json_dump(&req->pool, next);
    json_decref(next);
    char *out = h2o_mem_alloc_pool(&req->pool, total + head.len + next_json.len + 64);
    size_t o = 0;
    APPEND_LIT(out, o, "{\"thread\":");
    memcpy(out + o, head.base, head.len);
    o += head.len;
    APPEND_LIT(out, o, ",\"comments\":[");
    for (size_t i = roots_first; i != SIZE_MAX; i = t.next[i]) {
        if (i != roots_first)
            out[o++] = ',';
        o += emit(&t, i, out + o);
    }
    APPEND_LIT(out, o, "],\"next\":");
    memcpy(out + o, next_json.base, next_json.len);
    o += next_json.len;
    APPEND_LIT(out, o, ",\"form_token\":\"");
    h2o_iovec_t prefix = h2o_iovec_init(out, o);
    if (l->cacheable)
        api_pagecache_put(r->env->pages, l->key, page->ver.base != NULL ? page->ver : h2o_iovec_init("", 0), prefix);
    reply_page(l, prefix);
}

/* The first round trip: the thread's version, and whether this viewer has pending comments (they must see them,
 * so their pages are never served from or put in the cache). */
static void on_version(h2o_req_t *req, int err, const store_value_t *v, size_t n, void *data)
{
    struct st_list_t *l = data;
    api_req_t *r = l->r;
    if (err != 0 || n != 2) {
        list_fail(l, err != 0 ? err : CORE_ERR_UNAVAILABLE);
        return;
    }
    bool viewer_pending = v[1].type == STORE_INT && v[1].integer == 1;
    h2o_iovec_t ver = v[0].type == STORE_STR ? v[0].str : h2o_iovec_init("", 0);
    h2o_iovec_t body;
    l->cacheable = !viewer_pending;
    if (l->cacheable && api_pagecache_get(r->env->pages, l->key, ver, &req->pool, &body)) {
        reply_page(l, body);
        return;
    }
    err = store_comments_page(r->env->store, req, &l->thread.ref, l->sort, l->cursor, l->page_size,
                              viewer_pending ? l->viewer : h2o_iovec_init(NULL, 0), on_page, l);
    if (err != 0)
        list_fail(l, err);
}

static bool is_cursor(const char *s, size_t len)
{
    if (len == 0 || len > 21)
        return false;
    size_t i = s[0] == '-' ? 1 : 0;
    if (i == len)
        return false;
    for (; i < len; ++i)
        if (!isdigit((unsigned char)s[i]))
            return false;
    return true;
}

static void list_start(struct st_list_t *l, const char *sort_name, h2o_iovec_t cur, uint32_t page_size);

void api_comments_list(api_req_t *r)
{
    static const char *const known[] = {"site", "url", "sort", "limit", "cursor", NULL};
    for (size_t i = 0; i < r->num_query; ++i) {
        bool ok = false;
        for (size_t k = 0; known[k] != NULL && !ok; ++k)
            ok = h2o_memis(r->query[i].name.base, r->query[i].name.len, known[k], strlen(known[k]));
        if (!ok || api_query_count(r, known[0]) > 1) {
            api_reply_error(r, CORE_ERR_INVALID, ok ? "site" : r->query[i].name.base, "Unknown or repeated parameter.");
            return;
        }
    }
    for (size_t k = 0; known[k] != NULL; ++k)
        if (api_query_count(r, known[k]) > 1) {
            api_reply_error(r, CORE_ERR_INVALID, known[k], "Give this parameter once.");
            return;
        }
    const api_param_t *site = api_query_get(r, "site"), *url = api_query_get(r, "url");
    const api_param_t *sort = api_query_get(r, "sort"), *limit = api_query_get(r, "limit");
    const api_param_t *cursor = api_query_get(r, "cursor");
    if (api_site_or_reply(r, site ? site->value.base : NULL, site ? site->value.len : 0) == NULL)
        return;
    struct st_list_t *l = h2o_mem_alloc_pool(&r->req->pool, sizeof(*l));
    l->r = r;
    if (thread_or_reply(r, url ? url->value.base : NULL, url ? url->value.len : 0, &l->thread) != 0)
        return;
    const char *sort_name = "oldest";
    if (sort != NULL) {
        if (h2o_memis(sort->value.base, sort->value.len, H2O_STRLIT("oldest")))
            sort_name = "oldest";
        else if (h2o_memis(sort->value.base, sort->value.len, H2O_STRLIT("newest")))
            sort_name = "newest";
        else if (h2o_memis(sort->value.base, sort->value.len, H2O_STRLIT("top")))
            sort_name = "top";
        else {
            api_reply_error(r, CORE_ERR_INVALID, "sort", "Sort by oldest, newest or top.");
            return;
        }
    }
    uint32_t page_size = PAGE_DEFAULT;
    if (limit != NULL) {
        char *end;
        unsigned long v = strtoul(limit->value.base, &end, 10);
        if (limit->value.len == 0 || *end != '\0' || v < 1 || v > PAGE_MAX ||
            !isdigit((unsigned char)limit->value.base[0])) {
            api_reply_error(r, CORE_ERR_INVALID, "limit", "The page size must be from 1 to 200.");
            return;
        }
        page_size = (uint32_t)v;
    }
    h2o_iovec_t cur = h2o_iovec_init(NULL, 0);
    if (cursor != NULL) {
        if (!is_cursor(cursor->value.base, cursor->value.len)) {
            api_reply_error(r, CORE_ERR_INVALID, "cursor", "Use the `next` value of the previous page.");
            return;
        }
        cur = cursor->value;
    }
    l->sink = NULL;
    list_start(l, sort_name, cur, page_size);
}

/* Asks for the page L names (the thread version first, then the cache or Redis). */
static void list_start(struct st_list_t *l, const char *sort_name, h2o_iovec_t cur, uint32_t page_size)
{
    api_req_t *r = l->r;
    /* The viewer's own pending comments are shown on the first page only. */
    l->viewer = cur.base == NULL ? api_visitor_hash(r) : h2o_iovec_init(NULL, 0);
    l->sort = sort_name;
    l->cursor = cur;
    l->page_size = page_size;
    char head[96];
    int hl = snprintf(head, sizeof(head), "%s\n%.*s\n%s\n%u\n", r->site->id, (int)l->thread.ref.url_hash.len,
                      l->thread.ref.url_hash.base, sort_name, page_size);
    char *key = h2o_mem_alloc_pool(&r->req->pool, (size_t)hl + cur.len + 1);
    memcpy(key, head, (size_t)hl);
    if (cur.len != 0)
        memcpy(key + hl, cur.base, cur.len);
    l->key = h2o_iovec_init(key, (size_t)hl + cur.len);
    int err = store_thread_version(r->env->store, r->req, &l->thread.ref, l->viewer, on_version, l);
    if (err != 0)
        list_fail(l, err);
}

void api_comments_first_page(api_req_t *r, const core_config_site_t *site, h2o_iovec_t url, api_first_page_cb cb,
                             void *data)
{
    struct st_list_t *l = h2o_mem_alloc_pool(&r->req->pool, sizeof(*l));
    memset(l, 0, sizeof(*l));
    l->r = r;
    l->sink = cb;
    l->sink_data = data;
    r->site = site;
    if (thread_of(r, url.base, url.len, &l->thread) != 0) {
        cb(r, NULL, 0, data);
        return;
    }
    list_start(l, "oldest", h2o_iovec_init(NULL, 0), PAGE_DEFAULT);
}

/* Trims BODY, checks 1..10,000 characters and sanitises it into the pool; replies 422 and returns -1 otherwise. */
static int sanitized_or_reply(api_req_t *r, const char **body, size_t *len, h2o_iovec_t *html)
{
    trim(body, len);
    if (*len == 0 || core_utf8_length(*body, *len) > 10000) {
        api_reply_error(r, CORE_ERR_INVALID, "body", "Write a comment of 1 to 10,000 characters.");
        return -1;
    }
    size_t hlen;
    char *out = core_html_sanitize(*body, *len, &hlen);
    *html = h2o_strdup(&r->req->pool, out, hlen);
    free(out);
    return 0;
}

int api_comment_html_or_reply(api_req_t *r, const char **body, size_t *len, h2o_iovec_t *html)
{
    return sanitized_or_reply(r, body, len, html);
}

/* --- POST /api/v1/comments/preview --- */

void api_comments_preview(api_req_t *r)
{
    static const char *const keys[] = {"body", NULL};
    core_json_err_t jerr;
    const char *body;
    size_t len;
    if (core_json_only_keys(r->body, keys, &jerr) != 0 ||
        core_json_get_string(r->body, "body", true, 0, &body, &len, &jerr) != 0) {
        api_reply_json_error(r, &jerr);
        return;
    }
    h2o_iovec_t html;
    if (sanitized_or_reply(r, &body, &len, &html) != 0)
        return;
    json_t *o = json_pack("{s:s%}", "html", html.base, html.len);
    api_reply_json(r, 200, o);
}

/* --- POST /api/v1/comments --- */

api_comment_stats_t api_comment_stats;

struct st_create_t {
    api_req_t *r;
    struct st_thread_t thread;
    const char *author, *email, *website, *title, *body;
    size_t author_len, email_len, website_len, title_len, body_len;
    h2o_iovec_t html;
    size_t links;
    uint64_t parent;
    bool spam, notify;
    h2o_iovec_t email_hash, avatar_hash, visitor, dupe_hash;
    h2o_iovec_t edit_token;
    h2o_iovec_t user; /* the logged-in author's account id, or {NULL,0} */
    const char *status;
    json_t *stored; /* the record as jansson values, only when mail is on (api_notify.c reads it) */
    uint64_t id, created;
    int mails_waiting;    /* mails (moderators', confirmation, reply) being queued before the 201 goes out */
    h2o_iovec_t response; /* the 201 body, sent once the mails are queued */
};

static const char *const limit_names[] = {"c_minute", "c_hour", "c_thread", "c_interval"};

static int notify_moderators(struct st_create_t *c);
static void on_notified(api_req_t *r, void *data);

static void on_created(h2o_req_t *req, int err, store_create_result_t result, h2o_iovec_t public_json, void *data)
{
    struct st_create_t *c = data;
    api_req_t *r = c->r;
    if (err != 0) {
        api_reply_error(r, err, NULL, NULL);
        return;
    }
    switch (result) {
    case STORE_CREATE_LOCKED:
        api_reply_error(r, CORE_ERR_THREAD_LOCKED, NULL, NULL);
        return;
    case STORE_CREATE_DUPLICATE:
        api_reply_error(r, CORE_ERR_DUPLICATE, "body", NULL);
        return;
    case STORE_CREATE_PARENT:
        api_reply_error(r, CORE_ERR_INVALID, "parent", "The comment you reply to is not there (any more).");
        return;
    case STORE_CREATE_OK:
        break;
    }
    atomic_fetch_add(strcmp(c->status, "approved") == 0  ? &api_comment_stats.approved
                     : strcmp(c->status, "pending") == 0 ? &api_comment_stats.pending
                                                         : &api_comment_stats.spam,
                     1);
    /* {"comment":<public form>,"replies":[]},"edit_token":"…"}; the public form already shows spam as pending. */
    size_t cap = public_json.len + c->edit_token.len + 64;
    char *out = h2o_mem_alloc_pool(&req->pool, cap);
    size_t o = 0;
    APPEND_LIT(out, o, "{\"comment\":");
    memcpy(out + o, public_json.base, public_json.len);
    o += public_json.len;
    if (c->user.len != 0) {
        /* A logged-in author edits as the account's owner and needs no token. */
        APPEND_LIT(out, o, ",\"replies\":[]}}");
    } else {
        APPEND_LIT(out, o, ",\"replies\":[]},\"edit_token\":\"");
        memcpy(out + o, c->edit_token.base, c->edit_token.len); /* base64url: nothing to escape */
        o += c->edit_token.len;
        APPEND_LIT(out, o, "\"}");
    }
    c->response = h2o_iovec_init(out, o);
    /* A comment that waits (not spam: nothing is mailed for spam) is announced to the moderators, with one-click
     * links; its author is asked to confirm a wish for replies (api_notify.c); a reply that is visible at once is
     * told to its parent's author. The 201 waits until the mails are in the outbox, so an acknowledged comment's
     * notices are not lost. */
    if (strcmp(c->status, "pending") == 0)
        notify_moderators(c);
    if (c->stored != NULL && api_notify_subscribe(r, &c->thread.ref, c->stored, on_notified, c) == 0)
        ++c->mails_waiting;
    if (c->stored != NULL && api_notify_reply(r, &c->thread.ref, c->stored, on_notified, c) == 0)
        ++c->mails_waiting;
    json_decref(c->stored);
    c->stored = NULL;
    if (c->mails_waiting > 0)
        return;
    api_reply_raw_json(r, 201, c->response, "no-store");
}

/* One of the mails started in on_created is queued (or failed, which is logged): the last one sends the 201. */
static void mail_settled(struct st_create_t *c)
{
    if (--c->mails_waiting == 0)
        api_reply_raw_json(c->r, 201, c->response, "no-store");
}

static void on_notified(api_req_t *r, void *data)
{
    mail_settled(data);
}

static void on_mail_queued(h2o_req_t *req, int err, const store_value_t *v, size_t n, void *data)
{
    struct st_create_t *c = data;
    if (err != 0)
        core_log_error("a moderation mail for comment %llu could not be queued", (unsigned long long)c->id);
    mail_settled(c);
}

/* Signed link to /moderate for ACTION on comment C (7 days). */
static h2o_iovec_t moderate_link(struct st_create_t *c, const char *action)
{
    api_req_t *r = c->r;
    char payload[160];
    int pl = snprintf(payload, sizeof(payload), "%s\n%.*s:%llu\n%s", r->site->id, (int)c->thread.ref.url_hash.len,
                      c->thread.ref.url_hash.base, (unsigned long long)c->id, action);
    char tok[400];
    size_t tl = core_signed_make(r->env->secret, r->env->secret_len, "moderate", payload, (size_t)pl,
                                 (uint64_t)time(NULL) + 7 * 86400, tok, sizeof(tok));
    size_t n = strlen(r->env->cfg->public_url) + tl + 32;
    char *link = h2o_mem_alloc_pool(&r->req->pool, n);
    int ll = snprintf(link, n, "%s/moderate?t=%s", r->env->cfg->public_url, tok);
    return h2o_iovec_init(link, (size_t)ll);
}

/* Queues one mail per moderator; returns how many are being queued (0 when mail is off or nobody is listed). */
static int notify_moderators(struct st_create_t *c)
{
    api_req_t *r = c->r;
    const core_config_t *cfg = r->env->cfg;
    if (cfg->smtp.url == NULL || cfg->accounts.num_admin_emails == 0)
        return 0;
    char envelope[256];
    if (mail_message_addr_spec(cfg->smtp.from, envelope, sizeof(envelope)) != 0)
        return 0;
    h2o_iovec_t approve = moderate_link(c, "approve"), spam = moderate_link(c, "spam");
    char *author = h2o_mem_alloc_pool(&r->req->pool, c->author_len + 1), *body;
    memcpy(author, c->author, c->author_len);
    author[c->author_len] = '\0';
    body = h2o_mem_alloc_pool(&r->req->pool, c->body_len + 1);
    memcpy(body, c->body, c->body_len);
    body[c->body_len] = '\0';
    for (size_t i = 0; i < cfg->accounts.num_admin_emails; ++i) {
        char *msg;
        size_t len;
        if (mail_template_moderate(cfg->smtp.from, cfg->accounts.admin_emails[i], r->site->id,
                                   c->thread.ref.canonical.base, author, body, approve.base, spam.base, time(NULL),
                                   &msg, &len) != 0)
            continue;
        h2o_iovec_t m = h2o_strdup(&r->req->pool, msg, len);
        free(msg);
        ++c->mails_waiting;
        if (store_outbox_add(r->env->store, r->req, envelope, cfg->accounts.admin_emails[i], m, on_mail_queued, c) != 0)
            --c->mails_waiting;
    }
    return c->mails_waiting;
}

static void on_stored_dispose(void *p)
{
    struct st_create_t *c = *(struct st_create_t **)p;
    json_decref(c->stored);
    c->stored = NULL;
}

/* --- the new comment's JSON, written directly ---
 * The stored record and the public form of a new comment are the hottest JSON parleyd writes; building them as
 * jansson values (json_pack, then a dump each) was a fifth of parleyd's instructions per comment. Each is written
 * here in two passes of the same function: one counts (out == NULL), one writes into exactly that much pool memory.
 * Strings are escaped as everywhere else (core_json_string_write). */

struct st_jw_t {
    char *out; /* NULL: count only */
    size_t o;
};

static void jw_raw(struct st_jw_t *w, const char *s, size_t n)
{
    if (w->out != NULL)
        memcpy(w->out + w->o, s, n);
    w->o += n;
}

/* ,"KEY": (no comma before the first member, which the caller's '{' precedes) */
static void jw_key(struct st_jw_t *w, const char *key)
{
    if (w->o > 1)
        jw_raw(w, ",", 1);
    jw_raw(w, "\"", 1);
    jw_raw(w, key, strlen(key));
    jw_raw(w, "\":", 2);
}

static void jw_str(struct st_jw_t *w, const char *key, const char *s, size_t n)
{
    jw_key(w, key);
    w->o += w->out != NULL ? core_json_string_write(s, n, w->out + w->o) : core_json_string_size(s, n);
}

static void jw_lit(struct st_jw_t *w, const char *key, const char *lit)
{
    jw_key(w, key);
    jw_raw(w, lit, strlen(lit));
}

static void jw_u64(struct st_jw_t *w, const char *key, uint64_t v)
{
    char buf[20];
    jw_key(w, key);
    jw_raw(w, buf, core_u64_text(v, buf));
}

/* What the new comment is stored as (the record every later script and reader decodes). */
struct st_record_t {
    const struct st_create_t *c;
    uint64_t parent, depth;
    const char *edit_hex, *avatar, *created_iso;
};

static void write_record(struct st_jw_t *w, const struct st_record_t *d)
{
    const struct st_create_t *c = d->c;
    jw_raw(w, "{", 1);
    jw_u64(w, "id", c->id);
    jw_u64(w, "parent", d->parent);
    jw_u64(w, "depth", d->depth);
    jw_str(w, "author", c->author, c->author_len);
    jw_str(w, "email", c->email, c->email_len);
    if (c->website != NULL)
        jw_str(w, "website", c->website, c->website_len);
    else
        jw_lit(w, "website", "null");
    jw_str(w, "html", c->html.base, c->html.len);
    jw_str(w, "body", c->body, c->body_len);
    jw_u64(w, "created", c->created);
    jw_u64(w, "edited", 0);
    jw_str(w, "status", c->status, strlen(c->status));
    jw_u64(w, "likes", 0);
    jw_u64(w, "dislikes", 0);
    jw_str(w, "visitor", c->visitor.base, c->visitor.len);
    /* "user" makes the public form say "verified" (lua/prelude.lua) and lets the owner edit without a window. */
    if (c->user.len != 0)
        jw_str(w, "user", c->user.base, c->user.len);
    else
        jw_u64(w, "user", 0);
    jw_str(w, "edit", d->edit_hex, strlen(d->edit_hex));
    jw_str(w, "avatar", d->avatar, strlen(d->avatar));
    jw_u64(w, "links", c->links);
    jw_lit(w, "notify", c->notify ? "true" : "false");
    jw_str(w, "ehash", c->email_hash.base, c->email_hash.len);
    jw_str(w, "created_iso", d->created_iso, strlen(d->created_iso));
    if (c->user.len != 0 && c->notify)
        jw_lit(w, "notify_confirmed", "true");
    jw_raw(w, "}", 1);
}

/* Its public form without the closing brace: what lua/prelude.lua's public_json renders for the record, which stays
 * the one definition for every later render (votes, edits, moderation); tests/api/comments.test.js checks that both
 * give the same object. A new comment has no edit time, no votes and is not a placeholder; spam shows as pending. */
static void write_public(struct st_jw_t *w, const struct st_record_t *d)
{
    const struct st_create_t *c = d->c;
    bool waiting = strcmp(c->status, "approved") != 0;
    jw_raw(w, "{", 1);
    jw_u64(w, "id", c->id);
    jw_u64(w, "parent", d->parent);
    jw_str(w, "created", d->created_iso, strlen(d->created_iso));
    jw_lit(w, "edited", "null");
    jw_str(w, "author", c->author, c->author_len);
    if (c->website != NULL)
        jw_str(w, "website", c->website, c->website_len);
    else
        jw_lit(w, "website", "null");
    jw_str(w, "avatar", d->avatar, strlen(d->avatar));
    jw_str(w, "html", c->html.base, c->html.len);
    jw_u64(w, "likes", 0);
    jw_u64(w, "dislikes", 0);
    jw_str(w, "status", waiting ? "pending" : "approved", waiting ? 7 : 8);
    jw_lit(w, "verified", c->user.len != 0 ? "true" : "false");
    if (waiting)
        jw_str(w, "message", H2O_STRLIT("Your comment is awaiting moderation."));
}

static h2o_iovec_t written(h2o_mem_pool_t *pool, void (*fn)(struct st_jw_t *, const struct st_record_t *),
                           const struct st_record_t *d)
{
    struct st_jw_t w = {NULL, 0};
    fn(&w, d);
    size_t n = w.o;
    w.out = h2o_mem_alloc_pool(pool, n + 1);
    w.o = 0;
    fn(&w, d);
    w.out[n] = '\0';
    return h2o_iovec_init(w.out, n);
}

static void on_precheck(h2o_req_t *req, int err, const store_precheck_t *res, void *data)
{
    struct st_create_t *c = data;
    api_req_t *r = c->r;
    const core_config_site_t *site = r->site;
    if (err != 0) {
        api_reply_error(r, err, NULL, NULL);
        return;
    }
    if (res->limited >= 0) {
        char buf[16];
        int n = snprintf(buf, sizeof(buf), "%u", res->retry_after_s);
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_RETRY_AFTER, NULL,
                       h2o_strdup(&req->pool, buf, (size_t)n).base, (size_t)n);
        api_reply_error(r, CORE_ERR_RATE_LIMITED, NULL, "You are commenting too fast; wait a little and try again.");
        return;
    }
    if (res->banned) {
        api_reply_error(r, CORE_ERR_FORBIDDEN, NULL, "You may not comment on this site.");
        return;
    }
    uint64_t parent = 0, depth = 0;
    if (c->parent != 0) {
        json_t *p = res->parent.base != NULL ? json_loadb(res->parent.base, res->parent.len, 0, NULL) : NULL;
        const char *pst = p != NULL ? json_string_value(json_object_get(p, "status")) : NULL;
        if (pst == NULL || strcmp(pst, "approved") != 0) {
            json_decref(p);
            api_reply_error(r, CORE_ERR_INVALID, "parent", "The comment you reply to does not exist in this thread.");
            return;
        }
        uint64_t pdepth = (uint64_t)json_integer_value(json_object_get(p, "depth"));
        /* At the site's depth limit a reply joins its parent's level (as WordPress does). */
        if (pdepth + 1 >= site->max_depth) {
            parent = (uint64_t)json_integer_value(json_object_get(p, "parent"));
            depth = pdepth;
        } else {
            parent = c->parent;
            depth = pdepth + 1;
        }
        json_decref(p);
    }
    if (c->spam)
        c->status = "spam";
    else if (site->moderation == CORE_MODERATION_ALL)
        c->status = "pending";
    else if (site->moderation == CORE_MODERATION_LINKS)
        c->status = c->links >= 2 ? "pending" : "approved";
    else if (site->moderation == CORE_MODERATION_FIRST)
        c->status = res->email_known ? "approved" : "pending";
    else
        c->status = "approved";
    c->id = res->id;

    uint8_t tok[CORE_TOKEN_BYTES], th[CORE_SHA256_LEN];
    core_random_bytes(tok, sizeof(tok));
    char *tok64 = h2o_mem_alloc_pool(&req->pool, 48);
    size_t toklen = core_base64url_encode(tok, sizeof(tok), tok64);
    core_sha256(tok64, toklen, th);
    char th_hex[65];
    core_hex_encode(th, sizeof(th), th_hex);
    c->edit_token = h2o_iovec_init(tok64, toklen);

    char avatar[96], created_iso[32];
    if (site->gravatar) {
        /* Only when the site opts in: Gravatar's URL needs the unkeyed MD5 of the address, and the reader's browser
         * then asks a third party. */
        uint8_t md[16];
        unsigned int mdlen = sizeof(md);
        char *lower = h2o_mem_alloc_pool(&req->pool, c->email_len);
        for (size_t i = 0; i < c->email_len; ++i)
            lower[i] = (char)tolower((unsigned char)c->email[i]);
        EVP_Digest(lower, c->email_len, md, &mdlen, EVP_md5(), NULL);
        char hex[33];
        core_hex_encode(md, sizeof(md), hex);
        snprintf(avatar, sizeof(avatar), "https://www.gravatar.com/avatar/%s?d=identicon&s=80", hex);
    } else {
        snprintf(avatar, sizeof(avatar), "/avatar/%.*s.svg", (int)c->avatar_hash.len, c->avatar_hash.base);
    }
    core_iso8601(c->created, true, created_iso);
    struct st_record_t rec = {c, parent, depth, th_hex, avatar, created_iso};
    h2o_iovec_t json = written(&req->pool, write_record, &rec);
    h2o_iovec_t pub = written(&req->pool, write_public, &rec);
    if (r->env->cfg->smtp.url != NULL && (c->notify || parent != 0)) {
        /* The mails a new comment may cause read the record as jansson values (api_notify.c): the confirmation of a
         * wish for replies, and the notice to a parent's author. Neither can be due for a top-level comment without
         * that wish, the usual one, which so skips parsing its own record (~1 KB) back. */
        c->stored = json_loadb(json.base, json.len, 0, NULL);
        struct st_create_t **holder = h2o_mem_alloc_shared(&req->pool, sizeof(*holder), on_stored_dispose);
        *holder = c;
    }
    h2o_iovec_t title = c->title != NULL ? h2o_iovec_init(c->title, c->title_len) : h2o_iovec_init("", 0);
    err = store_comment_create(r->env->store, req, &c->thread.ref, c->id, parent, c->status, json, c->dupe_hash, title,
                               c->created, c->email_hash, c->user, pub, c->visitor, on_created, c);
    if (err != 0)
        api_reply_error(r, err, NULL, NULL);
}

/* USER is the logged-in author, or NULL for an anonymous one (who must give a name and an e-mail address). */
static void create_go(api_req_t *r, const api_user_t *user)
{
    static const char *const keys[] = {"site",    "url",  "title",      "parent", "author", "email",
                                       "website", "body", "form_token", "hp",     "notify", NULL};
    core_json_err_t jerr;
    struct st_create_t *c = h2o_mem_alloc_pool(&r->req->pool, sizeof(*c));
    memset(c, 0, sizeof(*c));
    c->r = r;
    const char *site, *url, *form_token, *hp;
    size_t site_len, url_len, form_len, hp_len;
    long long parent;
    if (core_json_only_keys(r->body, keys, &jerr) != 0 ||
        core_json_get_string(r->body, "site", true, 64, &site, &site_len, &jerr) != 0 ||
        core_json_get_string(r->body, "url", true, 2048, &url, &url_len, &jerr) != 0 ||
        core_json_get_string(r->body, "title", false, 300, &c->title, &c->title_len, &jerr) != 0 ||
        core_json_get_int(r->body, "parent", false, 0, (1LL << 40), 0, &parent, &jerr) != 0 ||
        core_json_get_string(r->body, "author", user == NULL, 0, &c->author, &c->author_len, &jerr) != 0 ||
        core_json_get_string(r->body, "email", user == NULL, 0, &c->email, &c->email_len, &jerr) != 0 ||
        core_json_get_string(r->body, "website", false, 0, &c->website, &c->website_len, &jerr) != 0 ||
        core_json_get_string(r->body, "body", true, 0, &c->body, &c->body_len, &jerr) != 0 ||
        core_json_get_string(r->body, "form_token", false, 128, &form_token, &form_len, &jerr) != 0 ||
        core_json_get_string(r->body, "hp", false, 1000, &hp, &hp_len, &jerr) != 0 ||
        core_json_get_bool(r->body, "notify", false, false, &c->notify, &jerr) != 0) {
        api_reply_json_error(r, &jerr);
        return;
    }
    if (api_site_or_reply(r, site, site_len) == NULL)
        return;
    if (thread_or_reply(r, url, url_len, &c->thread) != 0)
        return;
    c->parent = (uint64_t)parent;
    if (user != NULL) {
        /* The account's name and address, whatever the body says. */
        c->author = user->name.base;
        c->author_len = user->name.len;
        c->email = user->email.base;
        c->email_len = user->email.len;
        c->user = user->id;
    }
    trim(&c->author, &c->author_len);
    if (c->author_len == 0 || core_utf8_length(c->author, c->author_len) > 100 ||
        has_control(c->author, c->author_len)) {
        api_reply_error(r, CORE_ERR_INVALID, "author", "Give your name, 1 to 100 characters.");
        return;
    }
    trim(&c->email, &c->email_len);
    if (c->email_len > 254 || !api_is_email(c->email, c->email_len)) {
        api_reply_error(r, CORE_ERR_INVALID, "email", "Give a valid e-mail address (it is never published).");
        return;
    }
    if (c->website != NULL) {
        trim(&c->website, &c->website_len);
        core_url_t w;
        if (c->website_len == 0) {
            c->website = NULL;
        } else if (c->website_len > 200 || core_url_canonicalize(c->website, c->website_len, &w) != 0) {
            api_reply_error(r, CORE_ERR_INVALID, "website", "Give an http or https address of at most 200 characters.");
            return;
        }
    }
    if (c->title != NULL) {
        trim(&c->title, &c->title_len);
        if (has_control(c->title, c->title_len)) {
            api_reply_error(r, CORE_ERR_INVALID, "title", "The title may not contain control characters.");
            return;
        }
    }
    if (sanitized_or_reply(r, &c->body, &c->body_len, &c->html) != 0)
        return;
    c->links = core_html_count_sanitized_links(c->html.base, c->html.len);
    c->spam = (hp != NULL && hp_len != 0) || !form_token_ok(r, form_token, form_len, c->thread.ref.canonical);
    c->created = core_now_ms();
    c->visitor = api_visitor_hash(r);
    c->email_hash = api_email_hash(r, c->email, c->email_len);
    c->avatar_hash = email_hash(r, "avatar\n", c->email, c->email_len);
    /* Duplicate = same e-mail, same body (as written, trimmed) in the same thread. */
    {
        size_t n = c->email_hash.len + 1 + c->body_len;
        char *msg = h2o_mem_alloc_pool(&r->req->pool, n);
        memcpy(msg, c->email_hash.base, c->email_hash.len);
        msg[c->email_hash.len] = '\n';
        memcpy(msg + c->email_hash.len + 1, c->body, c->body_len);
        uint8_t d[CORE_SHA256_LEN];
        core_sha256(msg, n, d);
        char *hex = h2o_mem_alloc_pool(&r->req->pool, 33);
        core_hex_encode(d, 16, hex);
        c->dupe_hash = h2o_iovec_init(hex, 32);
    }
    const core_config_t *cfg = r->env->cfg;
    h2o_iovec_t unscoped = h2o_iovec_init("", 0); /* per visitor alone */
    store_limit_spec_t limits[] = {
        {limit_names[0], unscoped, cfg->comments.per_minute, 60},
        {limit_names[1], unscoped, cfg->comments.per_hour, 3600},
        {limit_names[2], c->thread.ref.url_hash, cfg->comments.per_thread_per_minute, 60},
        {limit_names[3], unscoped, cfg->comments.min_interval_s != 0 ? 1 : 0, cfg->comments.min_interval_s},
    };
    int err = store_comment_precheck(r->env->store, r->req, &c->thread.ref, limits, 4, c->email_hash, c->visitor,
                                     c->parent, on_precheck, c);
    if (err != 0)
        api_reply_error(r, err, NULL, NULL);
}

static void on_author(api_req_t *r, int err, const api_user_t *user, void *data)
{
    if (err != 0) {
        api_reply_error(r, err, NULL, NULL);
        return;
    }
    if (user == NULL) {
        /* Never post anonymously what was meant to be posted as an account. */
        api_reply_error(r, CORE_ERR_UNAUTHORIZED, NULL, "Your session ended; log in again (or post as a guest).");
        return;
    }
    create_go(r, user);
}

void api_comments_create(api_req_t *r)
{
    int err = api_user_resolve(r, on_author, NULL);
    if (err == CORE_ERR_UNAUTHORIZED)
        create_go(r, NULL); /* no session token: a guest */
    else if (err != 0)
        api_reply_error(r, err, NULL, NULL);
}

/* --- the comment a path names: /api/v1/comments/{id} with site and url in the query or the body --- */

struct st_target_t {
    api_req_t *r;
    struct st_thread_t thread;
    uint64_t id;
    int value;          /* vote */
    const char *action; /* edit / delete, for the queue move */
    h2o_iovec_t html, body;
    store_update_action_t update; /* author edits: what to do */
    const char *status;           /* and the status after an edit */
};

static int parse_id(h2o_iovec_t s, uint64_t *out)
{
    if (s.len == 0 || s.len > 12)
        return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < s.len; ++i) {
        if (!isdigit((unsigned char)s.base[i]))
            return -1;
        v = v * 10 + (uint64_t)(s.base[i] - '0');
    }
    if (v == 0)
        return -1;
    *out = v;
    return 0;
}

/* Resolves site, url (from the JSON body when there is one, else the query) and the path's id; replies on error. */
static struct st_target_t *target_or_reply(api_req_t *r)
{
    struct st_target_t *t = h2o_mem_alloc_pool(&r->req->pool, sizeof(*t));
    memset(t, 0, sizeof(*t));
    t->r = r;
    const char *site = NULL, *url = NULL;
    size_t site_len = 0, url_len = 0;
    if (r->body != NULL) {
        core_json_err_t jerr;
        if (core_json_get_string(r->body, "site", true, 64, &site, &site_len, &jerr) != 0 ||
            core_json_get_string(r->body, "url", true, 2048, &url, &url_len, &jerr) != 0) {
            api_reply_json_error(r, &jerr);
            return NULL;
        }
    } else {
        const api_param_t *s = api_query_get(r, "site"), *u = api_query_get(r, "url");
        if (s != NULL)
            site = s->value.base, site_len = s->value.len;
        if (u != NULL)
            url = u->value.base, url_len = u->value.len;
    }
    if (api_site_or_reply(r, site, site_len) == NULL || thread_or_reply(r, url, url_len, &t->thread) != 0)
        return NULL;
    if (parse_id(r->path_params[0], &t->id) != 0) {
        api_reply_error(r, CORE_ERR_NOT_FOUND, "id", "No comment with that id.");
        return NULL;
    }
    return t;
}

/* POST /api/v1/comments/{id}/vote {site,url,value} */

static void on_voted(h2o_req_t *req, int err, const store_value_t *v, size_t n, void *data)
{
    struct st_target_t *t = data;
    if (err != 0 || n < 1 || v[0].type != STORE_ARR || v[0].num_items != 3) {
        api_reply_error(t->r, err != 0 ? err : CORE_ERR_UNAVAILABLE, NULL, NULL);
        return;
    }
    if (!h2o_memis(v[0].items[0].str.base, v[0].items[0].str.len, H2O_STRLIT("ok"))) {
        api_reply_error(t->r, CORE_ERR_NOT_FOUND, "id", "No approved comment with that id.");
        return;
    }
    api_reply_json(t->r, 200,
                   json_pack("{s:I,s:I,s:I,s:i}", "id", (json_int_t)t->id, "likes", (json_int_t)v[0].items[1].integer,
                             "dislikes", (json_int_t)v[0].items[2].integer, "vote", t->value));
}

void api_comments_vote(api_req_t *r)
{
    static const char *const keys[] = {"site", "url", "value", NULL};
    core_json_err_t jerr;
    long long value;
    if (core_json_only_keys(r->body, keys, &jerr) != 0 ||
        core_json_get_int(r->body, "value", true, -1, 1, 0, &value, &jerr) != 0) {
        api_reply_json_error(r, &jerr);
        return;
    }
    struct st_target_t *t = target_or_reply(r);
    if (t == NULL)
        return;
    t->value = (int)value;
    int err =
        store_comment_vote(r->env->store, r->req, &t->thread.ref, t->id, api_visitor_hash(r), t->value, on_voted, t);
    if (err != 0)
        api_reply_error(r, err, NULL, NULL);
}

/* PATCH /api/v1/comments/{id} {site,url,body} and DELETE /api/v1/comments/{id}?site=&url= by the author, holding
 * the edit token (X-Parley-Edit-Token) within the site's edit window. Edits re-run the sanitiser and the "links"
 * rule; a comment that had to wait keeps waiting. */

static void on_queue_moved(h2o_req_t *req, int err, const store_value_t *v, size_t n, void *data)
{
    (void)req;
    (void)err;
    (void)v;
    (void)n;
    (void)data;
}

static void on_author_update(h2o_req_t *req, int err, const store_value_t *v, size_t n, void *data)
{
    struct st_target_t *t = data;
    api_req_t *r = t->r;
    if (err != 0 || n < 1 || v[0].type != STORE_ARR || v[0].num_items != 6) {
        api_reply_error(r, err != 0 ? err : CORE_ERR_UNAVAILABLE, NULL, NULL);
        return;
    }
    const store_value_t *res = v[0].items;
    if (h2o_memis(res[0].str.base, res[0].str.len, H2O_STRLIT("missing"))) {
        api_reply_error(r, CORE_ERR_NOT_FOUND, "id", "No comment with that id.");
        return;
    }
    if (h2o_memis(res[0].str.base, res[0].str.len, H2O_STRLIT("denied"))) {
        api_reply_error(r, CORE_ERR_FORBIDDEN, NULL,
                        "Only the author may change this comment, within the edit window.");
        return;
    }
    json_t *stored = json_loadb(res[4].str.base, res[4].str.len, 0, NULL);
    if (stored == NULL) {
        api_reply_error(r, CORE_ERR_INTERNAL, NULL, NULL);
        return;
    }
    if (!h2o_memis(res[1].str.base, res[1].str.len, res[2].str.base, res[2].str.len)) {
        /* The status changed: keep the site's moderation queue in step (best effort; readers verify entries). */
        char member[64];
        int ml = snprintf(member, sizeof(member), "%.*s:%llu", (int)t->thread.ref.url_hash.len,
                          t->thread.ref.url_hash.base, (unsigned long long)t->id);
        store_modq_move(r->env->store, req, t->thread.ref.site, h2o_strdup(&req->pool, member, (size_t)ml),
                        h2o_strdup(&req->pool, res[1].str.base, res[1].str.len).base,
                        h2o_strdup(&req->pool, res[2].str.base, res[2].str.len).base,
                        (uint64_t)json_integer_value(json_object_get(stored, "created")), h2o_iovec_init(NULL, 0),
                        on_queue_moved, NULL);
    }
    json_decref(stored);
    reply_comment(r, 200, res[5].str, false, NULL);
}

static h2o_iovec_t edit_token_hash(api_req_t *r)
{
    ssize_t i = h2o_find_header_by_str(&r->req->headers, H2O_STRLIT("x-parley-edit-token"), -1);
    if (i < 0 || r->req->headers.entries[i].value.len == 0 || r->req->headers.entries[i].value.len > 128)
        return h2o_iovec_init(NULL, 0);
    h2o_iovec_t tok = r->req->headers.entries[i].value;
    uint8_t d[CORE_SHA256_LEN];
    core_sha256(tok.base, tok.len, d);
    char *hex = h2o_mem_alloc_pool(&r->req->pool, 65);
    core_hex_encode(d, sizeof(d), hex);
    return h2o_iovec_init(hex, 64);
}

static void author_update_as(api_req_t *r, struct st_target_t *t, h2o_iovec_t who, uint64_t window_start)
{
    int err = store_comment_update(r->env->store, r->req, &t->thread.ref, t->id, t->update, who, window_start, t->html,
                                   t->body, t->status, on_author_update, t);
    if (err != 0)
        api_reply_error(r, err, NULL, NULL);
}

static void on_owner(api_req_t *r, int err, const api_user_t *user, void *data)
{
    struct st_target_t *t = data;
    if (err != 0) {
        api_reply_error(r, err, NULL, NULL);
        return;
    }
    if (user == NULL) {
        api_reply_error(r, CORE_ERR_UNAUTHORIZED, NULL, "Your session ended; log in again.");
        return;
    }
    /* The logged-in owner: no edit window. */
    size_t n = 2 + user->id.len;
    char *who = h2o_mem_alloc_pool(&r->req->pool, n + 1);
    who[0] = 'u';
    who[1] = ':';
    memcpy(who + 2, user->id.base, user->id.len);
    who[n] = '\0';
    author_update_as(r, t, h2o_iovec_init(who, n), 0);
}

/* The author acts with the comment's edit token (anonymous, within the window) or as the logged-in owner. */
static void author_update(api_req_t *r, struct st_target_t *t, store_update_action_t action, const char *status)
{
    t->update = action;
    t->status = status;
    h2o_iovec_t hash = edit_token_hash(r);
    if (hash.base != NULL) {
        uint64_t now = core_now_ms(), window = (uint64_t)r->site->edit_window_s * 1000;
        author_update_as(r, t, hash, now > window ? now - window : 0);
        return;
    }
    int err = api_user_resolve(r, on_owner, t);
    if (err == CORE_ERR_UNAUTHORIZED)
        api_reply_error(r, CORE_ERR_UNAUTHORIZED, NULL,
                        "Send the comment's edit token in X-Parley-Edit-Token, or log in as its author.");
    else if (err != 0)
        api_reply_error(r, err, NULL, NULL);
}

void api_comments_edit(api_req_t *r)
{
    static const char *const keys[] = {"site", "url", "body", NULL};
    core_json_err_t jerr;
    const char *body;
    size_t len;
    if (core_json_only_keys(r->body, keys, &jerr) != 0 ||
        core_json_get_string(r->body, "body", true, 0, &body, &len, &jerr) != 0) {
        api_reply_json_error(r, &jerr);
        return;
    }
    struct st_target_t *t = target_or_reply(r);
    if (t == NULL)
        return;
    if (sanitized_or_reply(r, &body, &len, &t->html) != 0)
        return;
    t->body = h2o_strdup(&r->req->pool, body, len);
    /* Moderation rules again: an edit that adds a second link waits under the "links" policy; "all" always waits. */
    const char *status = "approved";
    if (r->site->moderation == CORE_MODERATION_ALL || (r->site->moderation == CORE_MODERATION_LINKS &&
                                                       core_html_count_sanitized_links(t->html.base, t->html.len) >= 2))
        status = "pending";
    author_update(r, t, STORE_UPDATE_EDIT, status);
}

void api_comments_delete(api_req_t *r)
{
    struct st_target_t *t = target_or_reply(r);
    if (t != NULL)
        author_update(r, t, STORE_UPDATE_DELETE, NULL);
}

/* GET /api/v1/comments/{id}?site=&url=[&limit=]: a deep link (#comment-<id>) resolved to the comment and the cursor
 * of the page (oldest order) that holds it; "" means the first page. */

static void on_located(h2o_req_t *req, int err, const store_value_t *v, size_t n, void *data)
{
    struct st_target_t *t = data;
    if (err != 0 || n < 1 || v[0].type != STORE_ARR || v[0].num_items != 2) {
        api_reply_error(t->r, err != 0 ? err : CORE_ERR_UNAVAILABLE, NULL, NULL);
        return;
    }
    if (v[0].items[0].str.len == 0) {
        api_reply_error(t->r, CORE_ERR_NOT_FOUND, "id", "No visible comment with that id.");
        return;
    }
    h2o_iovec_t cur = v[0].items[1].str;
    reply_comment(t->r, 200, v[0].items[0].str, true, cur.len != 0 ? &cur : NULL);
}

void api_comments_get(api_req_t *r)
{
    struct st_target_t *t = target_or_reply(r);
    if (t == NULL)
        return;
    uint32_t page_size = PAGE_DEFAULT;
    const api_param_t *limit = api_query_get(r, "limit");
    if (limit != NULL) {
        char *end;
        unsigned long v = strtoul(limit->value.base, &end, 10);
        if (limit->value.len == 0 || *end != '\0' || v < 1 || v > PAGE_MAX) {
            api_reply_error(r, CORE_ERR_INVALID, "limit", "The page size must be from 1 to 200.");
            return;
        }
        page_size = (uint32_t)v;
    }
    int err = store_comment_locate(r->env->store, r->req, &t->thread.ref, t->id, page_size, on_located, t);
    if (err != 0)
        api_reply_error(r, err, NULL, NULL);
}

/* GET /api/v1/feed?site=&url=: Atom 1.0 of the thread's newest 50 approved comments. Text goes through XML
 * escaping; the comment HTML is carried as escaped type="html" content, never as raw markup. */

static void xml_append(h2o_mem_pool_t *pool, h2o_iovec_t *buf, size_t *cap, const char *s, size_t len, int escape)
{
    size_t need = escape ? core_html_escape(s, len, NULL, 0) : len;
    if (buf->len + need + 1 > *cap) {
        size_t ncap = (*cap * 2 > buf->len + need + 1) ? *cap * 2 : buf->len + need + 1024;
        char *nb = h2o_mem_alloc_pool(pool, ncap);
        memcpy(nb, buf->base, buf->len);
        buf->base = nb;
        *cap = ncap;
    }
    if (escape) {
        core_html_escape(s, len, buf->base + buf->len, need + 1);
        /* U+FFFE and U+FFFF are valid in JSON strings (a name, a title, the page URL) but not XML characters: one
         * would make the whole feed ill-formed, so they become U+FFFD (same length, EF BF BD). Control characters
         * never get here (names and titles refuse them, URLs are checked, the sanitiser replaces them). */
        char *p = buf->base + buf->len;
        for (size_t i = 0; i + 2 < need; ++i)
            if ((unsigned char)p[i] == 0xef && (unsigned char)p[i + 1] == 0xbf &&
                ((unsigned char)p[i + 2] == 0xbe || (unsigned char)p[i + 2] == 0xbf))
                p[i + 2] = (char)0xbd;
    } else {
        memcpy(buf->base + buf->len, s, len);
    }
    buf->len += need;
}

#define XML_LIT(s) xml_append(pool, &out, &cap, (s), strlen(s), 0)
#define XML_TXT(s, n) xml_append(pool, &out, &cap, (s), (n), 1)

static void on_recent(h2o_req_t *req, int err, const store_value_t *v, size_t n, void *data)
{
    struct st_target_t *t = data;
    api_req_t *r = t->r;
    if (err != 0 || n < 1 || v[0].type != STORE_ARR || v[0].num_items < 1) {
        api_reply_error(r, err != 0 ? err : CORE_ERR_UNAVAILABLE, NULL, NULL);
        return;
    }
    h2o_mem_pool_t *pool = &req->pool;
    size_t cap = 8192;
    h2o_iovec_t out = h2o_iovec_init(h2o_mem_alloc_pool(pool, cap), 0);
    /* Untitled threads are named by their URL. */
    h2o_iovec_t title = t->thread.ref.canonical;
    const store_value_t *th = &v[0].items[0];
    for (size_t i = 0; th->type == STORE_ARR && i + 1 < th->num_items; i += 2)
        if (h2o_memis(th->items[i].str.base, th->items[i].str.len, H2O_STRLIT("title")) && th->items[i + 1].str.len)
            title = th->items[i + 1].str;
    char when[32];
    XML_LIT("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">\n<title>");
    XML_LIT("Comments on ");
    XML_TXT(title.base, title.len);
    XML_LIT("</title>\n<id>");
    XML_TXT(t->thread.ref.canonical.base, t->thread.ref.canonical.len);
    XML_LIT("#comments</id>\n<link rel=\"alternate\" href=\"");
    XML_TXT(t->thread.sent.base, t->thread.sent.len);
    XML_LIT("\"/>\n");
    uint64_t newest = 0;
    json_t **items = h2o_mem_alloc_pool(pool, sizeof(json_t *) * v[0].num_items);
    size_t count = 0;
    for (size_t i = 1; i < v[0].num_items; ++i) {
        json_t *c = json_loadb(v[0].items[i].str.base, v[0].items[i].str.len, 0, NULL);
        if (c == NULL)
            continue;
        uint64_t ed = (uint64_t)json_integer_value(json_object_get(c, "edited"));
        uint64_t cr = (uint64_t)json_integer_value(json_object_get(c, "created"));
        if ((ed > cr ? ed : cr) > newest)
            newest = ed > cr ? ed : cr;
        items[count++] = c;
    }
    core_iso8601(newest != 0 ? newest : core_now_ms(), true, when);
    XML_LIT("<updated>");
    XML_LIT(when);
    XML_LIT("</updated>\n");
    for (size_t i = 0; i < count; ++i) {
        json_t *c = items[i];
        const char *author = json_string_value(json_object_get(c, "author"));
        const char *html = json_string_value(json_object_get(c, "html"));
        char idbuf[32];
        snprintf(idbuf, sizeof(idbuf), "%lld", (long long)json_integer_value(json_object_get(c, "id")));
        XML_LIT("<entry>\n<id>");
        XML_TXT(t->thread.ref.canonical.base, t->thread.ref.canonical.len);
        XML_LIT("#comment-");
        XML_LIT(idbuf);
        XML_LIT("</id>\n<title>Comment by ");
        XML_TXT(author != NULL ? author : "", author != NULL ? strlen(author) : 0);
        XML_LIT("</title>\n<author><name>");
        XML_TXT(author != NULL ? author : "", author != NULL ? strlen(author) : 0);
        XML_LIT("</name></author>\n<link rel=\"alternate\" href=\"");
        XML_TXT(t->thread.sent.base, t->thread.sent.len);
        XML_LIT("#comment-");
        XML_LIT(idbuf);
        XML_LIT("\"/>\n<published>");
        core_iso8601((uint64_t)json_integer_value(json_object_get(c, "created")), true, when);
        XML_LIT(when);
        XML_LIT("</published>\n<updated>");
        uint64_t ed = (uint64_t)json_integer_value(json_object_get(c, "edited"));
        core_iso8601(ed != 0 ? ed : (uint64_t)json_integer_value(json_object_get(c, "created")), true, when);
        XML_LIT(when);
        XML_LIT("</updated>\n<content type=\"html\">");
        XML_TXT(html != NULL ? html : "", html != NULL ? strlen(html) : 0);
        XML_LIT("</content>\n</entry>\n");
        json_decref(c);
    }
    XML_LIT("</feed>\n");
    req->res.status = 200;
    req->res.reason = "OK";
    h2o_add_header(pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                   H2O_STRLIT("application/atom+xml; charset=utf-8"));
    h2o_add_header(pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, H2O_STRLIT("public, max-age=60"));
    api_reply_cors(r);
    req->res.content_length = out.len;
    h2o_send_inline(req, out.base, out.len);
}

void api_comments_feed(api_req_t *r)
{
    const api_param_t *site = api_query_get(r, "site"), *url = api_query_get(r, "url");
    if (api_site_or_reply(r, site ? site->value.base : NULL, site ? site->value.len : 0) == NULL)
        return;
    struct st_target_t *t = h2o_mem_alloc_pool(&r->req->pool, sizeof(*t));
    memset(t, 0, sizeof(*t));
    t->r = r;
    if (thread_or_reply(r, url ? url->value.base : NULL, url ? url->value.len : 0, &t->thread) != 0)
        return;
    int err = store_comments_recent(r->env->store, r->req, &t->thread.ref, 50, on_recent, t);
    if (err != 0)
        api_reply_error(r, err, NULL, NULL);
}

/* --- a comment as its author may see it (account export, "manage my comments") --- */

json_t *api_comment_for_author(h2o_iovec_t site, h2o_iovec_t url, json_t *stored)
{
    json_t *out = json_pack("{s:s%,s:s%}", "site", site.base, site.len, "url", url.base, url.len);
    static const char *const keep[][2] = {
        {"id", "id"},         {"parent", "parent"}, {"created_iso", "created"}, {"edited_iso", "edited"},
        {"status", "status"}, {"author", "author"}, {"email", "email"},         {"website", "website"},
        {"body", "body"},     {"html", "html"},     {"likes", "likes"},         {"dislikes", "dislikes"}};
    for (size_t i = 0; out != NULL && i < sizeof(keep) / sizeof(keep[0]); ++i) {
        json_t *v = json_object_get(stored, keep[i][0]);
        if (v != NULL)
            json_object_set(out, keep[i][1], v);
    }
    const char *st = json_string_value(json_object_get(stored, "status"));
    if (out != NULL && st != NULL && strcmp(st, "spam") == 0)
        json_object_set_new(out, "status", json_string("pending")); /* its author is never told */
    if (out != NULL && json_object_get(out, "edited") == NULL)
        json_object_set_new(out, "edited", json_null());
    return out;
}
