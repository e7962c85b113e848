/* Share counts ("Share This Post").
 *
 * The networks stopped publishing share counts, so Parley counts clicks on its own share buttons:
 *   POST /api/v1/shares {site,url,network} -- the widget calls it when a reader clicks a button. The URL is
 *     canonicalised (so ?utm_source=…, http/https, www. and a trailing slash all count for one page) and must be
 *     on one of the site's origins (no open counters for arbitrary URLs). A click counts at most once per visitor,
 *     URL and network per UTC day; the visitor is a keyed hash of client address and User-Agent whose key rotates
 *     daily, so no IP is stored. Obvious bots get the counts but are not counted. One Lua script does the dedupe
 *     and the increment atomically.
 *   GET /api/v1/shares?site=&url=…   -- per-network counts of up to 100 URLs, one pipelined round trip, and the
 *     site's min_shares (the widget shows no count below it).
 *   GET /api/v1/counts?site=&url=…   -- the listing-page batch: totals per URL, cacheable (strong ETag, 304,
 *     max-age=30). Comment counts join here when comments land.
 */
#include <stdlib.h>
#include <string.h>
#include "core/core_error.h"
#include "core/core_token.h"
#include "core/core_url.h"
#include "api/api.h"

#define MAX_URLS 100

/* Canonical origin hosts per site, computed once at start-up (read-only afterwards). */
static char (*site_hosts)[CORE_CONFIG_MAX_ORIGINS][sizeof(((core_url_t *)0)->host)];

void api_shares_init(const core_config_t *cfg)
{
    site_hosts = calloc(cfg->num_sites ? cfg->num_sites : 1, sizeof(*site_hosts));
    if (site_hosts == NULL)
        abort();
    for (size_t s = 0; s < cfg->num_sites; ++s)
        for (size_t o = 0; o < cfg->sites[s].num_origins; ++o) {
            size_t len;
            if (core_url_origin_host(cfg->sites[s].origins[o], strlen(cfg->sites[s].origins[o]), site_hosts[s][o],
                                     &len) != 0)
                site_hosts[s][o][0] = '\0';
        }
}

bool api_url_host_allowed(api_req_t *r, const char *host)
{
    size_t s = (size_t)(r->site - r->env->cfg->sites);
    for (size_t o = 0; o < r->site->num_origins; ++o)
        if (site_hosts[s][o][0] != '\0' && strcmp(site_hosts[s][o], host) == 0)
            return true;
    return false;
}

/* One URL as sent plus its canonical form and key hash, all in the pool. */
struct st_url_item_t {
    h2o_iovec_t sent;
    store_share_ref_t ref;
};

/* Canonicalises and checks one URL; on failure replies (422 invalid or 403 foreign_url) and returns -1. */
static int url_or_reply(api_req_t *r, const char *s, size_t len, struct st_url_item_t *item)
{
    /* core_url_t is 4 KiB; it stays on the stack and only the canonical string goes to the pool, or a 100-URL
     * request would pin 400 KiB per request in flight. */
    core_url_t urlbuf, *url = &urlbuf;
    if (core_url_canonicalize(s, len, url) != 0) {
        api_reply_error(r, CORE_ERR_INVALID, "url", "Give an absolute http or https URL of at most 2048 bytes.");
        return -1;
    }
    if (!api_url_host_allowed(r, url->host)) {
        api_reply_error(r, CORE_ERR_FOREIGN_URL, "url", NULL);
        return -1;
    }
    uint8_t digest[CORE_SHA256_LEN];
    core_sha256(url->canonical, url->canonical_len, digest);
    char *hex = h2o_mem_alloc_pool(&r->req->pool, 33);
    core_hex_encode(digest, 16, hex);
    item->sent = h2o_iovec_init(s, len);
    item->ref.site = h2o_iovec_init(r->site->id, strlen(r->site->id));
    item->ref.url_hash = h2o_iovec_init(hex, 32);
    item->ref.canonical = h2o_strdup(&r->req->pool, url->canonical, url->canonical_len);
    return 0;
}

static json_t *networks_json(const store_share_counts_t *c)
{
    json_t *o = json_object();
    for (int i = 0; i < CORE_NETWORK__COUNT; ++i)
        if (c->networks[i] != 0)
            json_object_set_new(o, core_network_id((core_network_t)i), json_integer((json_int_t)c->networks[i]));
    return o;
}

static json_t *item_json(const struct st_url_item_t *item, const store_share_counts_t *c)
{
    return json_pack("{s:s%,s:s%,s:I,s:o}", "url", item->sent.base, item->sent.len, "canonical",
                     item->ref.canonical.base, item->ref.canonical.len, "total", (json_int_t)c->total, "networks",
                     networks_json(c));
}

/* Reads site= (exactly once) and url= (1..MAX_URLS) for the GET endpoints. Replies on failure. */
static struct st_url_item_t *urls_or_reply(api_req_t *r, size_t *n)
{
    const api_param_t *site = api_query_get(r, "site");
    if (api_query_count(r, "site") > 1) {
        api_reply_error(r, CORE_ERR_INVALID, "site", "Give `site` once.");
        return NULL;
    }
    if (api_site_or_reply(r, site != NULL ? site->value.base : NULL, site != NULL ? site->value.len : 0) == NULL)
        return NULL;
    size_t count = api_query_count(r, "url");
    if (count == 0 || count > MAX_URLS) {
        api_reply_error(r, CORE_ERR_INVALID, "url", "Give between 1 and 100 `url` parameters.");
        return NULL;
    }
    struct st_url_item_t *items = h2o_mem_alloc_pool(&r->req->pool, sizeof(*items) * count);
    size_t k = 0;
    for (size_t i = 0; i < r->num_query; ++i) {
        if (!h2o_memis(r->query[i].name.base, r->query[i].name.len, H2O_STRLIT("url")))
            continue;
        if (url_or_reply(r, r->query[i].value.base, r->query[i].value.len, &items[k++]) != 0)
            return NULL;
    }
    *n = count;
    return items;
}

/* --- GET /api/v1/shares --- */

struct st_get_t {
    api_req_t *r;
    struct st_url_item_t *items;
    int is_counts;
    int waiting; /* /counts waits for two calls: share totals and comment counts */
    int err;
    const store_share_counts_t *shares;
    const uint64_t *comments;
    size_t n;
};

static void reply_counts(struct st_get_t *g, const store_share_counts_t *counts, size_t n)
{
    api_req_t *r = g->r;
    json_t *arr = json_array();
    for (size_t i = 0; i < n; ++i) {
        if (g->is_counts)
            json_array_append_new(arr, json_pack("{s:s%,s:s%,s:I,s:I}", "url", g->items[i].sent.base,
                                                 g->items[i].sent.len, "canonical", g->items[i].ref.canonical.base,
                                                 g->items[i].ref.canonical.len, "comments", (json_int_t)g->comments[i],
                                                 "shares", (json_int_t)counts[i].total));
        else
            json_array_append_new(arr, item_json(&g->items[i], &counts[i]));
    }
    json_t *root = json_pack("{s:o}", "items", arr);
    if (!g->is_counts) {
        /* The widget hides counts below the site's threshold; sending it here spares a second request. */
        json_object_set_new(root, "min_shares", json_integer((json_int_t)r->site->min_shares));
        api_reply_json(r, 200, root);
        return;
    }
    /* /counts is meant for caches: a strong validator over the exact bytes, and a short public lifetime. */
    h2o_req_t *req = r->req;
    h2o_iovec_t body = api_json_dump(&req->pool, root);
    json_decref(root);
    uint8_t digest[CORE_SHA256_LEN];
    core_sha256(body.base, body.len, digest);
    char *etag = h2o_mem_alloc_pool(&req->pool, 2 + 23);
    etag[0] = '"';
    size_t el = 1 + core_base64url_encode(digest, 16, etag + 1);
    etag[el++] = '"';
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ETAG, NULL, etag, el);
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, H2O_STRLIT("public, max-age=30"));
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                   H2O_STRLIT("application/json; charset=utf-8"));
    api_reply_cors(r);
    ssize_t inm = h2o_find_header(&req->headers, H2O_TOKEN_IF_NONE_MATCH, -1);
    if (inm >= 0) {
        h2o_iovec_t v = req->headers.entries[inm].value;
        if (api_list_has(v, etag, el, true)) {
            req->res.status = 304;
            req->res.reason = "Not Modified";
            h2o_send_inline(req, NULL, 0);
            return;
        }
    }
    req->res.status = 200;
    req->res.reason = "OK";
    req->res.content_length = body.len;
    h2o_send_inline(req, body.base, body.len);
}

static void join(struct st_get_t *g, int err)
{
    if (err != 0 && g->err == 0)
        g->err = err;
    if (--g->waiting != 0)
        return;
    if (g->err != 0) {
        api_reply_error(g->r, g->err, NULL, NULL);
        return;
    }
    reply_counts(g, g->shares, g->n);
}

static void on_get(h2o_req_t *req, int err, const store_share_counts_t *counts, size_t n, void *data)
{
    struct st_get_t *g = data;
    g->shares = counts;
    g->n = n;
    join(g, err);
}

static void on_comment_counts(h2o_req_t *req, int err, const uint64_t *counts, size_t n, void *data)
{
    struct st_get_t *g = data;
    g->comments = counts;
    join(g, err);
}

static void get_common(api_req_t *r, int is_counts)
{
    size_t n;
    struct st_url_item_t *items = urls_or_reply(r, &n);
    if (items == NULL)
        return;
    struct st_get_t *g = h2o_mem_alloc_pool(&r->req->pool, sizeof(*g));
    g->r = r;
    g->items = items;
    g->is_counts = is_counts;
    store_share_ref_t *refs = h2o_mem_alloc_pool(&r->req->pool, sizeof(*refs) * n);
    for (size_t i = 0; i < n; ++i)
        refs[i] = items[i].ref;
    g->waiting = 1;
    g->err = 0;
    int err = (is_counts ? store_share_totals : store_share_get)(r->env->store, r->req, refs, n, on_get, g);
    if (err != 0) {
        api_reply_error(r, err, NULL, NULL);
        return;
    }
    /* Both calls are pipelined on the same connection: one round trip for the two. If the second cannot start, the
     * first still answers (with the error) when it completes. */
    if (is_counts) {
        g->waiting = 2;
        err = store_comment_counts(r->env->store, r->req, refs, n, on_comment_counts, g);
        if (err != 0) {
            g->waiting = 1;
            g->err = err;
        }
    }
}

void api_shares_get(api_req_t *r)
{
    get_common(r, 0);
}

void api_counts_get(api_req_t *r)
{
    get_common(r, 1);
}

/* --- POST /api/v1/shares --- */

struct st_post_t {
    api_req_t *r;
    struct st_url_item_t item;
};

static void reply_post(struct st_post_t *p, bool counted, const store_share_counts_t *counts)
{
    json_t *o = item_json(&p->item, counts);
    json_object_set_new(o, "counted", json_boolean(counted));
    api_reply_json(p->r, 200, o);
}

static void on_hit(h2o_req_t *req, int err, bool counted, const store_share_counts_t *counts, void *data)
{
    struct st_post_t *p = data;
    if (err != 0) {
        api_reply_error(p->r, err, NULL, NULL);
        return;
    }
    reply_post(p, counted, counts);
}

static void on_bot_get(h2o_req_t *req, int err, const store_share_counts_t *counts, size_t n, void *data)
{
    struct st_post_t *p = data;
    if (err != 0) {
        api_reply_error(p->r, err, NULL, NULL);
        return;
    }
    reply_post(p, false, &counts[0]);
}

void api_shares_post(api_req_t *r)
{
    static const char *const keys[] = {"site", "url", "network", NULL};
    core_json_err_t jerr;
    const char *site, *url, *network;
    size_t site_len, url_len, network_len;
    if (core_json_only_keys(r->body, keys, &jerr) != 0 ||
        core_json_get_string(r->body, "site", true, 64, &site, &site_len, &jerr) != 0 ||
        core_json_get_string(r->body, "url", true, 2048, &url, &url_len, &jerr) != 0 ||
        core_json_get_string(r->body, "network", true, 32, &network, &network_len, &jerr) != 0) {
        api_reply_json_error(r, &jerr);
        return;
    }
    if (api_site_or_reply(r, site, site_len) == NULL)
        return;
    int net = core_network_find(network, network_len);
    if (net < 0) {
        api_reply_error(r, CORE_ERR_INVALID, "network",
                        "Unknown network; use one of x, facebook, linkedin, reddit, whatsapp, telegram, pinterest, "
                        "bluesky, mastodon, threads, hackernews, email, copy.");
        return;
    }
    struct st_post_t *p = h2o_mem_alloc_pool(&r->req->pool, sizeof(*p));
    p->r = r;
    if (url_or_reply(r, url, url_len, &p->item) != 0)
        return;
    int err = api_is_bot(r) ? store_share_get(r->env->store, r->req, &p->item.ref, 1, on_bot_get, p)
                            : store_share_hit(r->env->store, r->req, &p->item.ref, (core_network_t)net,
                                              api_visitor_hash(r), api_seconds_to_midnight(), on_hit, p);
    if (err != 0)
        api_reply_error(r, err, NULL, NULL);
}
