/* Embedded pages and assets. Every file under src/widget is compiled into parleyd (src/widget/assets.cmake), so
 * serving one never touches the disk: a request names a row of the generated table or gets the JSON 404. No path a
 * client sends can reach a file of the host: the route table hands us one segment of h2o's normalised path (or a
 * fixed path), and we only ever compare it with the table's names, so "..", percent-encodings and the like can only
 * fail to match.
 *
 * The answers:
 * - /account/{name}: the account pages. The links in account mails carry a token in the fragment, which the page's
 *   script takes out of the address bar at once; the pages are sent with Cache-Control: no-store and
 *   Referrer-Policy: no-referrer, so neither a cache nor a Referer keeps a trace of a visit. Being text/html, they
 *   get the Content-Security-Policy of http_headers.c (script-src 'self', style-src 'self', frame-ancestors
 *   'none'), which is why the pages carry no inline script or style at all.
 * - /assets/{file}: scripts, style sheets, images. A strong ETag (a SHA-256 prefix of the bytes, computed once per
 *   process), 304 on a matching If-None-Match, and a short public max-age: a new release reaches browsers within
 *   minutes, and revalidation in between costs a 304. HTML is never served here, so a page always comes with the
 *   page headers above; files in sub-directories are not reachable here either.
 * - /assets/{stem}.{hash8}.{ext}: the same file under a name that changes with its bytes, cached for a year and
 *   `immutable`. Pages refer to these through `{{asset:NAME}}` (below), so a page fetched fresh always names the
 *   scripts and styles of its own release, and a browser never revalidates them.
 * - /embed.js: the one script host pages include. Its URL is pasted into other people's sites and cannot carry a
 *   hash, so it gets the short max-age of /assets/ and an ETag.
 * - /embed/thread?site=ID: the comment UI, loaded by embed.js in an iframe on the site's pages. Its CSP differs
 *   from the other pages' in frame-ancestors, which lists exactly the site's origins (anyone else's page could
 *   otherwise frame it, with clickjacking the classic consequence), and img-src, which allows Gravatar only for a
 *   site that turned it on. The page learns the same origins from `{{site_origins}}`, so its script posts its
 *   height only to the host origin it was given when that is one of them.
 * - /demo: an article page embedding all of it from this server; its CSP adds frame-src 'self' for the thread.
 * - /admin: the moderation console (admin.html, admin.js, admin.css), sent like the account pages: its script keeps
 *   an administrator's session token in sessionStorage and calls the admin API on this origin.
 *
 * Templating happens once, in http_assets_init: `{{asset:NAME}}` in any HTML file becomes the hashed URL of the
 * top-level file NAME. `{{site_origins}}` is left for the thread route to fill in per request. Anything else
 * between double braces stops parleyd at start-up, so a placeholder can never reach a client.
 *
 * Compression is left to h2o_compress on the "/" path (answers of at least 1 KiB); we only tell it which types
 * compress (see mimes below). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/core_error.h"
#include "core/core_token.h"
#include "http/http.h"
#include <zlib.h>

#define ETAG_BYTES 8 /* 64 bits of the digest: plenty to tell two versions of one file apart */
#define HASH_HEX 8   /* the hash in an immutable name: 32 bits, enough to tell one file's releases apart */

#define THREAD_PAGE "embed/thread.html"
#define SITE_ORIGINS "{{site_origins}}"
#define FIRST_PAGE "{{first_page}}"

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

/* --- start-up: entity tags, hashed names, templating --- */

/* The bytes each row had in the generated table, to put back in http_assets_dispose (templated HTML replaces
 * them with heap copies); NULL while not initialised. */
static h2o_iovec_t *original;

/* Writes the quoted entity tag of DIGEST into OUT (sizeof(http_asset_t.etag) bytes). */
static void format_etag(char *out, const uint8_t digest[CORE_SHA256_LEN])
{
    out[0] = '"';
    core_hex_encode(digest, ETAG_BYTES, out + 1);
    out[1 + 2 * ETAG_BYTES] = '"';
    out[2 + 2 * ETAG_BYTES] = '\0';
}

/* "x.min.js" with a digest -> "x.min.<hash8>.js" (malloc'd); "LICENSE" -> "LICENSE.<hash8>". */
static char *hashed_name(const char *path, const uint8_t digest[CORE_SHA256_LEN])
{
    const char *dot = strrchr(path, '.');
    size_t stem = dot != NULL ? (size_t)(dot - path) : strlen(path);
    const char *ext = dot != NULL ? dot : "";
    char hex[2 * CORE_SHA256_LEN + 1];
    core_hex_encode(digest, CORE_SHA256_LEN, hex);
    size_t cap = stem + 1 + HASH_HEX + strlen(ext) + 1;
    char *out = malloc(cap);
    if (out == NULL)
        abort();
    snprintf(out, cap, "%.*s.%.*s%s", (int)stem, path, HASH_HEX, hex, ext);
    return out;
}

/* The row whose immutable name is NAME, or NULL. */
static const http_asset_t *find_hashed(const char *name, size_t len)
{
    for (size_t i = 0; i < http_assets_count; ++i) {
        const char *h = http_assets[i].hashed;
        if (h != NULL && strlen(h) == len && memcmp(h, name, len) == 0)
            return &http_assets[i];
    }
    return NULL;
}

/* Appends N bytes of P at *LEN of OUT (when OUT is not NULL: the first pass only counts). */
static void put(char *out, size_t *len, const void *p, size_t n)
{
    if (out != NULL)
        memcpy(out + *len, p, n);
    *len += n;
}

/*
 * Expands the placeholders of HTML row A into OUT (NULL: only measures) and sets *OUTLEN. A placeholder is "{{",
 * up to 200 bytes without braces, angle brackets or white space, and "}}". Returns 0, or CORE_ERR_INVALID with a
 * message in ERRBUF for a placeholder that is malformed, unknown, or names no top-level non-HTML file.
 */
static int expand(const http_asset_t *a, char *out, size_t *outlen, char *errbuf, size_t errlen)
{
    const char *p = (const char *)a->data, *end = p + a->len;
    size_t len = 0;
    for (;;) {
        const char *open = memmem(p, (size_t)(end - p), "{{", 2);
        if (open == NULL)
            break;
        put(out, &len, p, (size_t)(open - p));
        const char *name = open + 2, *close = name;
        while (close < end && close - name < 200 && strchr("{}<> \t\r\n", *close) == NULL)
            ++close;
        if (end - close < 2 || memcmp(close, "}}", 2) != 0) {
            snprintf(errbuf, errlen, "src/widget/%s: \"{{\" that does not start a placeholder {{name}}", a->path);
            return CORE_ERR_INVALID;
        }
        size_t nlen = (size_t)(close - name);
        const http_asset_t *target;
        if (nlen > 6 && memcmp(name, "asset:", 6) == 0) {
            h2o_iovec_t file = h2o_iovec_init(name + 6, nlen - 6);
            if ((target = find("", file, "")) == NULL || target->hashed == NULL) {
                snprintf(errbuf, errlen, "src/widget/%s: {{%.*s}} names no top-level non-HTML file of src/widget",
                         a->path, (int)nlen, name);
                return CORE_ERR_INVALID;
            }
            put(out, &len, "/assets/", 8);
            put(out, &len, target->hashed, strlen(target->hashed));
        } else if (strcmp(a->path, THREAD_PAGE) == 0 && h2o_memis(name, nlen, H2O_STRLIT("site_origins"))) {
            put(out, &len, open, sizeof(SITE_ORIGINS) - 1); /* filled in per request by http_assets_thread */
        } else if (strcmp(a->path, THREAD_PAGE) == 0 && h2o_memis(name, nlen, H2O_STRLIT("first_page"))) {
            put(out, &len, open, sizeof(FIRST_PAGE) - 1); /* likewise */
        } else {
            snprintf(errbuf, errlen, "src/widget/%s: unknown placeholder {{%.*s}}", a->path, (int)nlen, name);
            return CORE_ERR_INVALID;
        }
        p = close + 2;
    }
    put(out, &len, p, (size_t)(end - p));
    *outlen = len;
    return 0;
}

/* Gzips A once, at the highest level: h2o's on-the-fly gzip runs at level 1 for every response, which sends the
 * widget ~15 % bigger (thread.js: 15.8 KB against 13.6 KB) and spends CPU on each request. */
static void precompress(http_asset_t *a)
{
    const struct st_mime_t *mime = mime_of(a->path);
    if (!mime->attr->is_compressible || a->len < 1024)
        return;
    z_stream z = {0};
    if (deflateInit2(&z, 9, Z_DEFLATED, 15 + 16 /* gzip wrapper */, 9, Z_DEFAULT_STRATEGY) != Z_OK)
        abort();
    size_t cap = deflateBound(&z, a->len);
    uint8_t *out = malloc(cap);
    if (out == NULL)
        abort();
    z.next_in = (Bytef *)a->data;
    z.avail_in = (uInt)a->len;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    if (deflate(&z, Z_FINISH) != Z_STREAM_END || z.total_out >= a->len) {
        deflateEnd(&z);
        free(out);
        return;
    }
    a->gz = out;
    a->gz_len = z.total_out;
    deflateEnd(&z);
    /* "…hex" + "gz": the gzipped representation has its own strong tag */
    size_t n = strlen(a->etag);
    memcpy(a->gz_etag, a->etag, n - 1);
    memcpy(a->gz_etag + n - 1, "gz\"", 4);
}

int http_assets_init(char *errbuf, size_t errlen)
{
    if (original != NULL)
        return 0;
    original = calloc(http_assets_count + 1, sizeof(*original));
    if (original == NULL)
        abort();
    /* Hashed names first: the templating below looks them up. */
    for (size_t i = 0; i < http_assets_count; ++i) {
        http_asset_t *a = &http_assets[i];
        uint8_t digest[CORE_SHA256_LEN];
        original[i] = h2o_iovec_init(a->data, a->len);
        core_sha256(a->data, a->len, digest);
        format_etag(a->etag, digest);
        if (!is_html(a->path) && strchr(a->path, '/') == NULL)
            a->hashed = hashed_name(a->path, digest);
    }
    for (size_t i = 0; i < http_assets_count; ++i) {
        http_asset_t *a = &http_assets[i];
        size_t len;
        if (!is_html(a->path) || memmem(a->data, a->len, "{{", 2) == NULL)
            continue;
        if (expand(a, NULL, &len, errbuf, errlen) != 0) {
            http_assets_dispose();
            return CORE_ERR_INVALID;
        }
        /* The NUL keeps the promise of the table: the bytes are followed by one that LEN does not count. */
        char *out = malloc(len + 1);
        if (out == NULL)
            abort();
        expand(a, out, &len, errbuf, errlen);
        out[len] = '\0';
        a->data = (const uint8_t *)out;
        a->len = len;
        uint8_t digest[CORE_SHA256_LEN];
        core_sha256(a->data, a->len, digest);
        format_etag(a->etag, digest);
    }
    /* After templating: the thread page changes per request, but the other pages and every asset are final. */
    for (size_t i = 0; i < http_assets_count; ++i)
        if (strcmp(http_assets[i].path, "embed/thread.html") != 0)
            precompress(&http_assets[i]);
    return 0;
}

void http_assets_dispose(void)
{
    if (original == NULL)
        return;
    for (size_t i = 0; i < http_assets_count; ++i) {
        http_asset_t *a = &http_assets[i];
        if (original[i].base != NULL && (const char *)a->data != original[i].base) {
            free((void *)a->data);
            a->data = (const uint8_t *)original[i].base;
            a->len = original[i].len;
        }
        free(a->hashed);
        a->hashed = NULL;
        free(a->gz);
        a->gz = NULL;
        a->gz_len = 0;
        a->gz_etag[0] = '\0';
    }
    free(original);
    original = NULL;
}

/* --- serving --- */

/* The bytes are static (or live as long as the request), so h2o_send needs neither a copy nor a generator that
 * does anything. */
static h2o_generator_t static_generator = {NULL, NULL};

static void add_header(h2o_req_t *req, const h2o_token_t *token, const char *value)
{
    h2o_add_header(&req->pool, &req->res.headers, token, NULL, value, strlen(value));
}

/* Sends STATUS (200 or 304) with the headers already on the response; for 200, the N buffers BODY of content type
 * TYPE (none for HEAD, but the same Content-Length). */
static void send_bufs(h2o_req_t *req, const struct st_mime_t *mime, int status, h2o_iovec_t *body, size_t n)
{
    if (status == 304) {
        /* No Content-Type: a 304 describes the cached representation, and no body follows (RFC 9110, 15.4.5). */
        req->res.status = 304;
        req->res.reason = "Not Modified";
        h2o_start_response(req, &static_generator);
        h2o_send(req, NULL, 0, H2O_SEND_STATE_FINAL);
        return;
    }
    add_header(req, H2O_TOKEN_CONTENT_TYPE, mime->type);
    req->res.mime_attr = mime->attr;
    req->res.status = 200;
    req->res.reason = "OK";
    req->res.content_length = 0;
    for (size_t i = 0; i < n; ++i)
        req->res.content_length += body[i].len;
    h2o_start_response(req, &static_generator);
    h2o_send(req, body, is_head(req) ? 0 : n, H2O_SEND_STATE_FINAL);
}

static void send_asset(h2o_req_t *req, const http_asset_t *a, int status)
{
    h2o_iovec_t body = h2o_iovec_init(a->data, a->len);
    send_bufs(req, mime_of(a->path), status, &body, 1);
}

/* Whether the client takes gzip: "gzip" in Accept-Encoding, not with q=0. */
static bool accepts_gzip(h2o_req_t *req)
{
    ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_ACCEPT_ENCODING, -1);
    if (i < 0)
        return false;
    h2o_iovec_t v = req->headers.entries[i].value;
    for (const char *p = v.base, *end = v.base + v.len; p < end;) {
        const char *comma = memchr(p, ',', (size_t)(end - p)), *stop = comma != NULL ? comma : end;
        while (p < stop && (*p == ' ' || *p == '\t'))
            ++p;
        if ((size_t)(stop - p) >= 4 && strncasecmp(p, "gzip", 4) == 0 &&
            (p + 4 == stop || p[4] == ';' || p[4] == ' ')) {
            const char *q = memmem(p, (size_t)(stop - p), "q=0", 3);
            bool zero = q != NULL;
            for (const char *d = q != NULL ? q + 3 : stop; zero && d < stop && *d != ' '; ++d)
                if (*d != '.' && *d != '0')
                    zero = false;
            return !zero;
        }
        p = stop + 1;
    }
    return false;
}

/* A with its ETag and CACHE_CONTROL, or 304 when the client has it; gzipped at level 9 when A has such a copy and
 * the client takes it (h2o_compress leaves a response that already has a Content-Encoding alone). */
static void send_validated(h2o_req_t *req, const http_asset_t *a, const char *cache_control)
{
    add_header(req, H2O_TOKEN_CACHE_CONTROL, cache_control);
    if (a->gz != NULL) {
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_VARY, NULL, H2O_STRLIT("Accept-Encoding"));
        if (accepts_gzip(req)) {
            add_header(req, H2O_TOKEN_ETAG, a->gz_etag);
            if (is_not_modified(req, a->gz_etag)) {
                send_bufs(req, mime_of(a->path), 304, NULL, 0);
                return;
            }
            add_header(req, H2O_TOKEN_CONTENT_ENCODING, "gzip");
            h2o_iovec_t body = h2o_iovec_init(a->gz, a->gz_len);
            send_bufs(req, mime_of(a->path), 200, &body, 1);
            return;
        }
    }
    add_header(req, H2O_TOKEN_ETAG, a->etag);
    send_asset(req, a, is_not_modified(req, a->etag) ? 304 : 200);
}

static void not_found(api_req_t *r)
{
    api_reply_error(r, CORE_ERR_NOT_FOUND, NULL, NULL);
}

/* A private page A: never cached, no Referer, and the default CSP of every HTML answer (http_headers.c). */
static void send_private_page(api_req_t *r, const http_asset_t *a)
{
    h2o_req_t *req = r->req;
    add_header(req, H2O_TOKEN_CACHE_CONTROL, "no-store");
    /* Set before the security-header filter runs, which then keeps it instead of its default. */
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("referrer-policy"), 0, NULL,
                          H2O_STRLIT("no-referrer"));
    send_asset(req, a, 200);
}

void http_assets_page(api_req_t *r)
{
    const http_asset_t *a = find("account/", r->path_params[0], ".html");
    if (a == NULL) {
        not_found(r);
        return;
    }
    send_private_page(r, a);
}

void http_assets_admin(api_req_t *r)
{
    const http_asset_t *a = find("", h2o_iovec_init(H2O_STRLIT("admin.html")), "");
    if (a == NULL) {
        not_found(r);
        return;
    }
    send_private_page(r, a);
}

void http_assets_privacy(api_req_t *r)
{
    /* The link in the mail is ${public_url}/privacy#token=...: a short address for the page that also lives at
     * /account/privacy. */
    r->path_params[0] = h2o_iovec_init(H2O_STRLIT("privacy"));
    r->num_path_params = 1;
    http_assets_page(r);
}

void http_assets_file(api_req_t *r)
{
    h2o_iovec_t name = r->path_params[0];
    const http_asset_t *a = find("", name, "");
    if (a != NULL && !is_html(a->path)) {
        send_validated(r->req, a, "public, max-age=300");
        return;
    }
    /* A hashed name is only ever valid for the bytes it was made from: a year, and no revalidation (RFC 8246). */
    if (a == NULL && (a = find_hashed(name.base, name.len)) != NULL) {
        send_validated(r->req, a, "public, max-age=31536000, immutable");
        return;
    }
    not_found(r);
}

void http_assets_embed_js(api_req_t *r)
{
    const http_asset_t *a = find("", h2o_iovec_init(H2O_STRLIT("embed.js")), "");
    if (a == NULL) {
        not_found(r);
        return;
    }
    send_validated(r->req, a, "public, max-age=300");
}

void http_assets_demo(api_req_t *r)
{
    const http_asset_t *a = find("", h2o_iovec_init(H2O_STRLIT("demo.html")), "");
    if (a == NULL) {
        not_found(r);
        return;
    }
    h2o_req_t *req = r->req;
    h2o_iovec_t csp = http_headers_csp(&req->pool, NULL, "'self'", h2o_iovec_init(NULL, 0));
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("content-security-policy"), 0, NULL, csp.base,
                          csp.len);
    send_validated(req, a, "no-cache");
}

/* The thread page of one request: the template's gaps filled with the site's origins (escaped) and the first page
 * of comments (JSON with every '<' written as \u003c, so nothing in it can close the script element holding it). */
struct st_thread_page_t {
    const http_asset_t *page;
    const char *origins; /* HTML-escaped */
};

static void send_thread_page(api_req_t *r, const h2o_iovec_t *json, size_t njson, void *data)
{
    struct st_thread_page_t *t = data;
    h2o_req_t *req = r->req;
    h2o_iovec_t first = h2o_iovec_init("", 0);
    if (json != NULL) {
        size_t n = 0, lt = 0;
        for (size_t i = 0; i < njson; ++i) {
            n += json[i].len;
            for (size_t k = 0; k < json[i].len; ++k)
                lt += json[i].base[k] == '<';
        }
        char *out = h2o_mem_alloc_pool(&req->pool, n + 5 * lt + 1), *o = out;
        for (size_t i = 0; i < njson; ++i)
            for (size_t k = 0; k < json[i].len; ++k) {
                if (json[i].base[k] == '<') {
                    memcpy(o, "\\u003c", 6);
                    o += 6;
                } else {
                    *o++ = json[i].base[k];
                }
            }
        first = h2o_iovec_init(out, (size_t)(o - out));
    }
    h2o_iovec_t origins = h2o_iovec_init(t->origins, strlen(t->origins));
    const char *p = (const char *)t->page->data, *end = p + t->page->len;
    size_t n = 1;
    for (const char *q = p; (q = memmem(q, (size_t)(end - q), "{{", 2)) != NULL; q += 2)
        n += 2;
    h2o_iovec_t *body = h2o_mem_alloc_pool(&req->pool, sizeof(*body) * n);
    size_t k = 0;
    for (const char *hit; (hit = memmem(p, (size_t)(end - p), "{{", 2)) != NULL;) {
        body[k++] = h2o_iovec_init(p, (size_t)(hit - p));
        if ((size_t)(end - hit) >= sizeof(SITE_ORIGINS) - 1 && memcmp(hit, H2O_STRLIT(SITE_ORIGINS)) == 0) {
            body[k++] = origins;
            p = hit + sizeof(SITE_ORIGINS) - 1;
        } else if ((size_t)(end - hit) >= sizeof(FIRST_PAGE) - 1 && memcmp(hit, H2O_STRLIT(FIRST_PAGE)) == 0) {
            body[k++] = first;
            p = hit + sizeof(FIRST_PAGE) - 1;
        } else {
            body[k++] = h2o_iovec_init(hit, 2); /* not ours: as it is */
            p = hit + 2;
        }
    }
    body[k++] = h2o_iovec_init(p, (size_t)(end - p));
    send_bufs(req, mime_of(t->page->path), 200, body, k);
}

void http_assets_thread(api_req_t *r)
{
    h2o_req_t *req = r->req;
    const api_param_t *id = api_query_get(r, "site");
    const core_config_site_t *site =
        id != NULL ? core_config_find_site(r->env->cfg, id->value.base, id->value.len) : NULL;
    if (site == NULL) {
        api_reply_error(r, CORE_ERR_UNKNOWN_SITE, "site", NULL);
        return;
    }
    const http_asset_t *a = find("", h2o_iovec_init(H2O_STRLIT(THREAD_PAGE)), "");
    if (a == NULL) {
        not_found(r);
        return;
    }

    /* The origins as one space-separated list: a CSP source list as it is, and (escaped) the page's attribute.
     * Config origins are plain scheme://host[:port], so they need no quoting in the header. */
    size_t olen = 0;
    for (size_t i = 0; i < site->num_origins; ++i)
        olen += strlen(site->origins[i]) + 1;
    char *origins = h2o_mem_alloc_pool(&req->pool, olen);
    size_t pos = 0;
    for (size_t i = 0; i < site->num_origins; ++i) {
        size_t n = strlen(site->origins[i]);
        if (i != 0)
            origins[pos++] = ' ';
        memcpy(origins + pos, site->origins[i], n);
        pos += n;
    }
    origins[pos] = '\0';
    struct st_thread_page_t *t = h2o_mem_alloc_pool(&req->pool, sizeof(*t));
    t->page = a;
    t->origins = api_html_escape(&req->pool, origins, pos);

    h2o_iovec_t csp = http_headers_csp(&req->pool, site->gravatar ? "https://www.gravatar.com" : NULL, NULL,
                                       h2o_iovec_init(origins, pos));
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("content-security-policy"), 0, NULL, csp.base,
                          csp.len);

    /* With the article's url, the page carries its first page of comments (and a form token), so it is never
     * cached; without, it is the same for every article of the site and revalidated by ETag. */
    const api_param_t *url = api_query_get(r, "url");
    if (url != NULL) {
        add_header(req, H2O_TOKEN_CACHE_CONTROL, "no-store");
        api_comments_first_page(r, site, url->value, send_thread_page, t);
        return;
    }
    /* The answer depends on the page, the origins and the Gravatar switch (through the CSP), so the ETag covers
     * the three: a changed config is a new ETag even when the page is the same. */
    h2o_iovec_t tag = h2o_concat(&req->pool, h2o_iovec_init(a->etag, strlen(a->etag)), h2o_iovec_init(origins, pos),
                                 h2o_iovec_init(site->gravatar ? "g" : "-", 1));
    uint8_t digest[CORE_SHA256_LEN];
    core_sha256(tag.base, tag.len, digest);
    char *etag = h2o_mem_alloc_pool(&req->pool, sizeof(a->etag));
    format_etag(etag, digest);
    add_header(req, H2O_TOKEN_ETAG, etag);
    add_header(req, H2O_TOKEN_CACHE_CONTROL, "no-cache");
    if (is_not_modified(req, etag)) {
        send_bufs(req, NULL, 304, NULL, 0);
        return;
    }
    send_thread_page(r, NULL, 0, t);
}
