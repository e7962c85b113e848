/* Embedded pages and assets. Every file under src/widget is compiled into parleyd (src/widget/assets.cmake), so
 * serving one never touches the disk: a request names a row of the generated table or gets the JSON 404. No path a
 * client sends can reach a file of the host: the route table hands us one segment of h2o's normalised path, and we
 * only ever compare it with the table's names, so "..", percent-encodings and the like can only fail to match.
 *
 * Two kinds of answer:
 * - /account/{name}: the account pages. The links in account mails carry a token in the fragment, which the page's
 *   script takes out of the address bar at once; the pages are sent with Cache-Control: no-store and
 *   Referrer-Policy: no-referrer, so neither a cache nor a Referer keeps a trace of a visit. Being text/html, they
 *   get the Content-Security-Policy of http_headers.c (script-src 'self', style-src 'self', frame-ancestors
 *   'none'), which is why the pages carry no inline script or style at all.
 * - /assets/{file}: scripts, style sheets, images. A strong ETag (a SHA-256 prefix of the bytes, computed once per
 *   process), 304 on a matching If-None-Match, and a short public max-age: a new release reaches browsers within
 *   minutes without versioned file names, and revalidation in between costs a 304. HTML is never served here, so
 *   a page always comes with the page headers above; files in sub-directories are not reachable here either.
 * Compression is left to h2o_compress on the "/" path (answers of at least 1 KiB); we only tell it which types
 * compress (see mimes below). */
#include <pthread.h>
#include <string.h>
#include "core/core_error.h"
#include "core/core_token.h"
#include "http/http.h"

#define ETAG_BYTES 8 /* 64 bits of the digest: plenty to tell two versions of one file apart */

_Static_assert(sizeof(((http_asset_t *)0)->etag) == 2 * ETAG_BYTES + 3, "etag holds two quotes, the hex and a NUL");

/* What h2o needs to know about a type: whether h2o_compress may gzip it, and whether HTTP/2 should send it first
 * (style sheets and scripts block rendering). h2o would look this up in its mime map by Content-Type, but its
 * default map knows JavaScript only as application/javascript, so text/javascript (RFC 9239) would never be
 * compressed; the table below says it for every type we send. */
static h2o_mime_attributes_t attr_text = {1, H2O_MIME_ATTRIBUTE_PRIORITY_NORMAL};
static h2o_mime_attributes_t attr_blocking = {1, H2O_MIME_ATTRIBUTE_PRIORITY_HIGHEST};
static h2o_mime_attributes_t attr_binary = {0, H2O_MIME_ATTRIBUTE_PRIORITY_NORMAL};

struct st_mime_t {
    const char *ext;
    const char *type;
    h2o_mime_attributes_t *attr;
};

/* By file extension. The sources are UTF-8, and saying so spares browsers from guessing. */
static const struct st_mime_t mimes[] = {
    {".html", "text/html; charset=utf-8", &attr_text},
    {".js", "text/javascript; charset=utf-8", &attr_blocking},
    {".mjs", "text/javascript; charset=utf-8", &attr_blocking},
    {".css", "text/css; charset=utf-8", &attr_blocking},
    {".svg", "image/svg+xml", &attr_text},
    {".json", "application/json; charset=utf-8", &attr_text},
    {".map", "application/json; charset=utf-8", &attr_text},
    {".txt", "text/plain; charset=utf-8", &attr_text},
    {".png", "image/png", &attr_binary},
    {".webp", "image/webp", &attr_binary},
    {".ico", "image/x-icon", &attr_binary},
    {".woff2", "font/woff2", &attr_binary},
};

static const struct st_mime_t mime_default = {"", "application/octet-stream", &attr_binary};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void compute_etags(void)
{
    for (size_t i = 0; i < http_assets_count; ++i) {
        http_asset_t *a = &http_assets[i];
        uint8_t digest[CORE_SHA256_LEN];
        core_sha256(a->data, a->len, digest);
        a->etag[0] = '"';
        core_hex_encode(digest, ETAG_BYTES, a->etag + 1);
        a->etag[1 + 2 * ETAG_BYTES] = '"';
        a->etag[2 + 2 * ETAG_BYTES] = '\0';
    }
}

void http_assets_init(void)
{
    pthread_once(&init_once, compute_etags);
}

/* The row whose path is PREFIX, then NAME, then SUFFIX; NULL when there is none. */
static const http_asset_t *find(const char *prefix, h2o_iovec_t name, const char *suffix)
{
    size_t pl = strlen(prefix), sl = strlen(suffix);
    for (size_t i = 0; i < http_assets_count; ++i) {
        const char *p = http_assets[i].path;
        if (strlen(p) != pl + name.len + sl)
            continue;
        if (memcmp(p, prefix, pl) == 0 && memcmp(p + pl, name.base, name.len) == 0 &&
            memcmp(p + pl + name.len, suffix, sl) == 0)
            return &http_assets[i];
    }
    return NULL;
}

static const struct st_mime_t *mime_of(const char *path)
{
    const char *dot = strrchr(path, '.');
    if (dot != NULL && strchr(dot, '/') == NULL)
        for (size_t i = 0; i < sizeof(mimes) / sizeof(mimes[0]); ++i)
            if (strcmp(dot, mimes[i].ext) == 0)
                return &mimes[i];
    return &mime_default;
}

static bool is_html(const char *path)
{
    size_t n = strlen(path);
    return n >= 5 && strcmp(path + n - 5, ".html") == 0;
}

/* Whether any If-None-Match header of REQ lists ETAG (weak comparison, RFC 9110, 13.1.2). */
static bool is_not_modified(h2o_req_t *req, const char *etag)
{
    ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_IF_NONE_MATCH, -1);
    while (i >= 0) {
        if (api_list_has(req->headers.entries[i].value, etag, strlen(etag), true))
            return true;
        i = h2o_find_header(&req->headers, H2O_TOKEN_IF_NONE_MATCH, i);
    }
    return false;
}

static bool is_head(h2o_req_t *req)
{
    return h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD"));
}

/* The bytes are static, so h2o_send needs neither a copy nor a generator that does anything. */
static h2o_generator_t static_generator = {NULL, NULL};

/* Sends STATUS (200 or 304) with the headers already on the response; for 200, A's bytes (none for HEAD, but the
 * same Content-Length). */
static void send_asset(h2o_req_t *req, const http_asset_t *a, int status)
{
    if (status == 304) {
        /* No Content-Type: a 304 describes the cached representation, and no body follows (RFC 9110, 15.4.5). */
        req->res.status = 304;
        req->res.reason = "Not Modified";
        h2o_start_response(req, &static_generator);
        h2o_send(req, NULL, 0, H2O_SEND_STATE_FINAL);
        return;
    }
    const struct st_mime_t *mime = mime_of(a->path);
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, mime->type, strlen(mime->type));
    req->res.mime_attr = mime->attr;
    req->res.status = 200;
    req->res.reason = "OK";
    req->res.content_length = a->len;
    h2o_start_response(req, &static_generator);
    h2o_iovec_t body = h2o_iovec_init(a->data, a->len);
    h2o_send(req, &body, is_head(req) ? 0 : 1, H2O_SEND_STATE_FINAL);
}

void http_assets_page(api_req_t *r)
{
    http_assets_init();
    const http_asset_t *a = find("account/", r->path_params[0], ".html");
    if (a == NULL) {
        api_reply_error(r, CORE_ERR_NOT_FOUND, NULL, NULL);
        return;
    }
    h2o_req_t *req = r->req;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, H2O_STRLIT("no-store"));
    /* Set before the security-header filter runs, which then keeps it instead of its default. */
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("referrer-policy"), 0, NULL,
                          H2O_STRLIT("no-referrer"));
    send_asset(req, a, 200);
}

void http_assets_file(api_req_t *r)
{
    http_assets_init();
    const http_asset_t *a = find("", r->path_params[0], "");
    if (a == NULL || is_html(a->path)) {
        api_reply_error(r, CORE_ERR_NOT_FOUND, NULL, NULL);
        return;
    }
    h2o_req_t *req = r->req;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ETAG, NULL, a->etag, strlen(a->etag));
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, H2O_STRLIT("public, max-age=300"));
    send_asset(req, a, is_not_modified(req, a->etag) ? 304 : 200);
}
