/* Request set-up shared by every handler: who is asking (client address, Origin, visitor hash), the query string,
 * the site, and the JSON body. */
#include <arpa/inet.h>
#include <ctype.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "core/core_error.h"
#include "core/core_token.h"
#include "api/api.h"

#define MAX_QUERY_PARAMS 256

/* Percent-decodes S (with '+' as space) into the pool; refuses malformed escapes and NUL bytes. */
static int decode_component(h2o_mem_pool_t *pool, const char *s, size_t len, h2o_iovec_t *out)
{
    char *d = h2o_mem_alloc_pool(pool, len + 1);
    size_t o = 0;
    for (size_t i = 0; i < len; ++i) {
        int c = (unsigned char)s[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            int hi, lo;
            if (i + 2 >= len || (hi = core_hex_value(s[i + 1])) < 0 || (lo = core_hex_value(s[i + 2])) < 0)
                return -1;
            c = hi << 4 | lo;
            i += 2;
        }
        if (c == 0)
            return -1;
        d[o++] = (char)c;
    }
    d[o] = '\0';
    *out = h2o_iovec_init(d, o);
    return 0;
}

static int parse_query(api_req_t *r)
{
    h2o_req_t *req = r->req;
    r->query = NULL;
    r->num_query = 0;
    if (req->query_at == SIZE_MAX)
        return 0;
    const char *q = req->path.base + req->query_at + 1, *end = req->path.base + req->path.len;
    size_t cap = 1;
    for (const char *p = q; p < end; ++p)
        cap += *p == '&';
    if (cap > MAX_QUERY_PARAMS)
        return CORE_ERR_BAD_REQUEST;
    r->query = h2o_mem_alloc_pool(&req->pool, sizeof(*r->query) * cap);
    while (q < end) {
        const char *amp = memchr(q, '&', (size_t)(end - q));
        const char *stop = amp != NULL ? amp : end;
        if (stop > q) {
            const char *eq = memchr(q, '=', (size_t)(stop - q));
            const char *vstart = eq != NULL ? eq + 1 : stop;
            api_param_t *p = &r->query[r->num_query];
            if (decode_component(&req->pool, q, (size_t)((eq != NULL ? eq : stop) - q), &p->name) != 0 ||
                decode_component(&req->pool, vstart, (size_t)(stop - vstart), &p->value) != 0)
                return CORE_ERR_BAD_REQUEST;
            r->num_query++;
        }
        q = stop + 1;
    }
    return 0;
}

/* The client's address as text. Behind a trusted proxy it is the last X-Forwarded-For hop (the one the proxy
 * itself added; earlier hops are client-controlled). IPv6 addresses are cut to their /64, which is what one
 * subscriber usually gets, so limits cannot be dodged by walking an address block. */
static h2o_iovec_t client_address(api_req_t *r)
{
    h2o_req_t *req = r->req;
    char text[INET6_ADDRSTRLEN + 8];
    struct sockaddr_storage ss;
    int family = 0;
    unsigned char addr[16];

    if (r->env->cfg->trust_proxy) {
        ssize_t i = h2o_find_header_by_str(&req->headers, H2O_STRLIT("x-forwarded-for"), -1);
        if (i >= 0) {
            h2o_iovec_t v = req->headers.entries[i].value;
            const char *last = v.base;
            for (size_t k = 0; k < v.len; ++k)
                if (v.base[k] == ',')
                    last = v.base + k + 1;
            size_t n = (size_t)(v.base + v.len - last);
            while (n > 0 && (*last == ' ' || *last == '\t'))
                ++last, --n;
            while (n > 0 && (last[n - 1] == ' ' || last[n - 1] == '\t'))
                --n;
            if (n < sizeof(text)) {
                memcpy(text, last, n);
                text[n] = '\0';
                if (inet_pton(AF_INET, text, addr) == 1)
                    family = AF_INET;
                else if (inet_pton(AF_INET6, text, addr) == 1)
                    family = AF_INET6;
            }
        }
    }
    if (family == 0) {
        socklen_t len = req->conn->callbacks->get_peername(req->conn, (struct sockaddr *)&ss);
        if (len != 0 && ss.ss_family == AF_INET) {
            memcpy(addr, &((struct sockaddr_in *)&ss)->sin_addr, 4);
            family = AF_INET;
        } else if (len != 0 && ss.ss_family == AF_INET6) {
            memcpy(addr, &((struct sockaddr_in6 *)&ss)->sin6_addr, 16);
            family = AF_INET6;
            /* An IPv4-mapped address is the IPv4 client. */
            static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
            if (memcmp(addr, mapped, 12) == 0) {
                memmove(addr, addr + 12, 4);
                family = AF_INET;
            }
        }
    }
    if (family == 0)
        return h2o_iovec_init(H2O_STRLIT("unknown"));
    if (family == AF_INET6)
        memset(addr + 8, 0, 8);
    if (inet_ntop(family, addr, text, sizeof(text)) == NULL)
        return h2o_iovec_init(H2O_STRLIT("unknown"));
    size_t n = strlen(text);
    if (family == AF_INET6) {
        memcpy(text + n, "/64", 4);
        n += 3;
    }
    return h2o_strdup(&req->pool, text, n);
}

int api_req_init(api_req_t *r, h2o_req_t *req, api_env_t *env)
{
    memset(r, 0, sizeof(*r));
    r->req = req;
    r->env = env;
    ssize_t i = h2o_find_header_by_str(&req->headers, H2O_STRLIT("origin"), -1);
    if (i >= 0)
        r->origin = req->headers.entries[i].value;
    r->client = client_address(r);
    return parse_query(r);
}

size_t api_query_count(api_req_t *r, const char *name)
{
    size_t n = 0, len = strlen(name);
    for (size_t i = 0; i < r->num_query; ++i)
        n += h2o_memis(r->query[i].name.base, r->query[i].name.len, name, len);
    return n;
}

const api_param_t *api_query_get(api_req_t *r, const char *name)
{
    size_t len = strlen(name);
    for (size_t i = 0; i < r->num_query; ++i)
        if (h2o_memis(r->query[i].name.base, r->query[i].name.len, name, len))
            return &r->query[i];
    return NULL;
}

bool api_origin_is_allowed(const core_config_t *cfg, const core_config_site_t *site, h2o_iovec_t origin)
{
    if (origin.base == NULL)
        return false;
    for (size_t s = 0; s < cfg->num_sites; ++s) {
        const core_config_site_t *cand = &cfg->sites[s];
        if (site != NULL && cand != site)
            continue;
        for (size_t o = 0; o < cand->num_origins; ++o)
            if (h2o_memis(origin.base, origin.len, cand->origins[o], strlen(cand->origins[o])))
                return true;
    }
    return false;
}

/* Parley's own pages (the comment iframe, the account pages) write from Parley's origin, which need not be one of
 * the site's: the origin of public_url, or any origin the browser itself calls same-origin (Sec-Fetch-Site, which
 * pages cannot set), e.g. when the server is reached under a second name. */
static bool is_own_origin(api_req_t *r)
{
    const char *pub = r->env->cfg->public_url, *host = strstr(pub, "://");
    if (host != NULL) {
        const char *slash = strchr(host + 3, '/');
        size_t n = slash != NULL ? (size_t)(slash - pub) : strlen(pub);
        if (h2o_lcstris(r->origin.base, r->origin.len, pub, n))
            return true;
    }
    ssize_t i = h2o_find_header_by_str(&r->req->headers, H2O_STRLIT("sec-fetch-site"), -1);
    return i >= 0 && h2o_memis(r->req->headers.entries[i].value.base, r->req->headers.entries[i].value.len,
                               H2O_STRLIT("same-origin"));
}

const core_config_site_t *api_site_or_reply(api_req_t *r, const char *id, size_t len)
{
    if (id == NULL || len == 0) {
        api_reply_error(r, CORE_ERR_INVALID, "site", "Name the site with `site`.");
        return NULL;
    }
    const core_config_site_t *site = core_config_find_site(r->env->cfg, id, len);
    if (site == NULL) {
        api_reply_error(r, CORE_ERR_UNKNOWN_SITE, "site", NULL);
        return NULL;
    }
    /* Origin is no authentication, but a browser always sends it on cross-origin writes: refusing foreign origins
     * here stops other sites from driving a visitor's browser to write to ours. */
    bool safe = h2o_memis(r->req->method.base, r->req->method.len, H2O_STRLIT("GET")) ||
                h2o_memis(r->req->method.base, r->req->method.len, H2O_STRLIT("HEAD"));
    /* Set before replying, so the error's CORS headers are judged against this site's origins too (with no site,
     * api_reply_cors would echo an origin of any site). */
    r->site = site;
    if (!safe && r->origin.base != NULL && !api_origin_is_allowed(r->env->cfg, site, r->origin) && !is_own_origin(r)) {
        api_reply_error(r, CORE_ERR_ORIGIN_NOT_ALLOWED, NULL, NULL);
        return NULL;
    }
    return site;
}

/* A request body's JSON lives in the request's pool. jansson allocates through these hooks (api_json_hooks_install,
 * before any other jansson call): while api_body_or_reply parses a body, the thread's BODY_POOL is set and every
 * block of the tree (and of the parser's scratch) comes from that pool, so the tree goes with the pool and is never
 * freed node by node; every other jansson block comes from the heap. A 16-byte head (keeping the alignment malloc
 * gives) says which, for the free hook. perf under a comment flood: malloc and free inside the body's parse and the
 * tree's json_delete were 5% of parleyd. */
#define JSON_HEAD 16
static __thread h2o_mem_pool_t *body_pool;

static void *json_block_alloc(size_t n)
{
    unsigned char *p;
    if (n > SIZE_MAX - JSON_HEAD)
        return NULL;
    if (body_pool != NULL) {
        p = h2o_mem_alloc_pool(body_pool, n + JSON_HEAD);
        p[0] = 1;
    } else {
        if ((p = malloc(n + JSON_HEAD)) == NULL)
            return NULL;
        p[0] = 0;
    }
    return p + JSON_HEAD;
}

static void json_block_free(void *block)
{
    if (block == NULL)
        return;
    unsigned char *p = (unsigned char *)block - JSON_HEAD;
    if (p[0] == 0)
        free(p);
}

void api_json_hooks_install(void)
{
    json_set_alloc_funcs(json_block_alloc, json_block_free);
}

int api_body_or_reply(api_req_t *r)
{
    core_json_err_t err;
    json_t *body;
    body_pool = &r->req->pool;
    int ret = core_json_parse_object(r->req->entity.base, r->req->entity.len, &body, &err);
    body_pool = NULL;
    if (ret != 0) {
        api_reply_json_error(r, &err);
        return -1;
    }
    r->body = body;
    return 0;
}

h2o_iovec_t api_client_key(api_req_t *r)
{
    /* Rate-limit counters are keyed by a keyed hash of the address, so Redis never holds a client IP. Every parleyd
     * serving a site must share the secret file for their counters to meet (as share dedupe needs anyway). */
    size_t n = 5 + r->client.len;
    char *msg = h2o_mem_alloc_pool(&r->req->pool, n);
    memcpy(msg, "rate\n", 5);
    memcpy(msg + 5, r->client.base, r->client.len);
    uint8_t mac[CORE_SHA256_LEN];
    core_hmac_sha256(r->env->secret, r->env->secret_len, msg, n, mac);
    char *hex = h2o_mem_alloc_pool(&r->req->pool, 33);
    core_hex_encode(mac, 16, hex);
    return h2o_iovec_init(hex, 32);
}

h2o_iovec_t api_visitor_hash(api_req_t *r)
{
    /* The day key is derived, never stored in Redis: yesterday's hashes cannot be linked to today's. Each worker
     * keeps today's in memory (the env is per worker, so no locking) and derives a new one when the UTC day
     * changes. */
    api_env_t *env = r->env;
    long today = (long)(time(NULL) / 86400);
    if (env->visitor_day != today) {
        char day[32];
        time_t now = (time_t)today * 86400;
        struct tm tm;
        gmtime_r(&now, &tm);
        size_t dlen = strftime(day, sizeof(day), "visitor:%Y-%m-%d", &tm);
        core_hmac_sha256(env->secret, env->secret_len, day, dlen, env->visitor_key);
        env->visitor_day = today;
    }
    const uint8_t *daykey = env->visitor_key;
    uint8_t mac[CORE_SHA256_LEN];

    h2o_iovec_t ua = h2o_iovec_init(NULL, 0);
    ssize_t i = h2o_find_header(&r->req->headers, H2O_TOKEN_USER_AGENT, -1);
    if (i >= 0)
        ua = r->req->headers.entries[i].value;
    size_t n = r->client.len + 1 + ua.len;
    char *msg = h2o_mem_alloc_pool(&r->req->pool, n);
    memcpy(msg, r->client.base, r->client.len);
    msg[r->client.len] = '\n';
    if (ua.len != 0)
        memcpy(msg + r->client.len + 1, ua.base, ua.len);
    core_hmac_sha256(daykey, CORE_SHA256_LEN, msg, n, mac);
    char *hex = h2o_mem_alloc_pool(&r->req->pool, 33);
    core_hex_encode(mac, 16, hex);
    return h2o_iovec_init(hex, 32);
}

uint32_t api_seconds_to_midnight(void)
{
    time_t now = time(NULL);
    uint32_t into_day = (uint32_t)(now % 86400);
    return 86400 - into_day;
}

bool api_is_bot(api_req_t *r)
{
    static const char *const needles[] = {"bot",     "crawl",          "spider",    "slurp",      "facebookexternalhit",
                                          "embedly", "preview",        "curl/",     "wget",       "python-",
                                          "go-http", "java/",          "libwww",    "okhttp",     "httpclient",
                                          "scrapy",  "headless-shell", "phantomjs", "lighthouse", NULL};
    ssize_t i = h2o_find_header(&r->req->headers, H2O_TOKEN_USER_AGENT, -1);
    if (i < 0)
        return true;
    h2o_iovec_t ua = r->req->headers.entries[i].value;
    if (ua.len == 0)
        return true;
    for (size_t k = 0; needles[k] != NULL; ++k) {
        size_t nl = strlen(needles[k]);
        for (size_t p = 0; p + nl <= ua.len; ++p)
            if (strncasecmp(ua.base + p, needles[k], nl) == 0)
                return true;
    }
    return false;
}

bool api_list_has(h2o_iovec_t list, const char *item, size_t len, bool etags)
{
    const char *p = list.base, *end = list.base + list.len;
    while (p < end) {
        const char *comma = memchr(p, ',', (size_t)(end - p)), *stop = comma != NULL ? comma : end, *e = stop;
        while (p < e && (*p == ' ' || *p == '\t'))
            ++p;
        while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
            --e;
        if (etags && e - p == 1 && *p == '*')
            return true;
        if (etags && e - p >= 2 && p[0] == 'W' && p[1] == '/')
            p += 2;
        if (h2o_memis(p, (size_t)(e - p), item, len))
            return true;
        p = stop + 1;
    }
    return false;
}
