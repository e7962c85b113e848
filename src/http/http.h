#ifndef HTTP_H
#define HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <h2o.h>
#include "core/core_config.h"
#include "store/store.h"
#include "api/api.h"

/* The HTTP side: listeners (cleartext HTTP/1.1 + h2c, TLS with ALPN h2/http1.1), worker threads each owning an h2o
 * loop, context and Redis connection, the route table, security headers, CORS preflight, rate limits, static
 * files, the access log and metrics. */

#define HTTP_ROUTE_BODY 1
#define HTTP_MAX_BODY (64 * 1024)

typedef enum {
#define X(name, method, path, handler, limit, flags) HTTP_ROUTE_##name,
#include "http/http_routes.def"
#undef X
    HTTP_ROUTE__COUNT,
    HTTP_ROUTE_static = HTTP_ROUTE__COUNT, /**< /static/ files (metrics only) */
    HTTP_ROUTE_other,                      /**< anything else (metrics only) */
    HTTP_ROUTE__ALL
} http_route_id_t;

typedef struct st_http_server_t http_server_t;

/**
 * Builds the shared h2o configuration, the TLS contexts and every listening socket (one per worker and listener,
 * SO_REUSEPORT), so bind errors surface before any thread starts. TARGET, CFG and SECRET must outlive the server.
 * Returns 0 or CORE_ERR_INVALID with a message in ERRBUF.
 */
int http_server_create(http_server_t **out, const core_config_t *cfg, const store_target_t *target,
                       const uint8_t *secret, size_t secret_len, char *errbuf, size_t errlen);
/** Number of worker threads (cfg->threads, or two per core). */
size_t http_server_num_workers(http_server_t *srv);
/** Runs worker IDX until a stop is requested and its connections drained (at most ~4 s after the request). */
void http_server_run_worker(http_server_t *srv, size_t idx);
/** Asks every worker to stop: close listeners, GOAWAY, finish in-flight requests, exit. Async-signal-safe. */
void http_server_request_stop(http_server_t *srv);
/** Frees the server after all workers returned. */
void http_server_destroy(http_server_t *srv);

/* --- http_route.c --- */
/** Registers the API/route handler on PATHCONF. */
void http_route_register(h2o_pathconf_t *pathconf, http_server_t *srv);
/** The route a request belongs to, for metrics. */
http_route_id_t http_route_classify(h2o_req_t *req);
/** Name of a route for metrics labels. */
const char *http_route_name(http_route_id_t id);
/** The per-worker API environment of REQ's context. */
api_env_t *http_worker_env(h2o_context_t *ctx);

/* --- http_headers.c --- */
/** Adds the security-header filter (nosniff, Referrer-Policy, CSP on HTML, HSTS on TLS) to PATHCONF. */
void http_headers_register(h2o_pathconf_t *pathconf);
/**
 * The Content-Security-Policy of an HTML page, in POOL: the default policy every HTML answer gets, with
 * IMG_EXTRA appended to img-src (NULL: none), a frame-src of FRAME_SRC (NULL: none, so default-src 'none' forbids
 * frames) and FRAME_ANCESTORS in place of 'none' (NULL: 'none'). The arguments are copied verbatim: they must be
 * valid CSP source lists. A handler that sets the header itself keeps it (the filter adds the default only when
 * none is set).
 */
h2o_iovec_t http_headers_csp(h2o_mem_pool_t *pool, const char *img_extra, const char *frame_src,
                             h2o_iovec_t frame_ancestors);

/* --- http_metrics.c --- */
/** Registers the metrics logger (requests by route and status, latency histogram) on PATHCONF. */
void http_metrics_register(h2o_pathconf_t *pathconf);
/** GET /metrics: Prometheus text format. */
void http_metrics_handle(api_req_t *r);
/** Counts one rate-limited (429) answer; shown as parley_rate_limited_total. */
void http_metrics_count_limited(void);

/* --- http_assets.c: the files under src/widget, compiled in at build time (src/widget/assets.cmake) --- */
/** One embedded file. */
typedef struct st_http_asset_t {
    const char *path;    /**< relative to src/widget, e.g. "account/register.html"; NULL ends the table */
    const uint8_t *data; /**< the bytes (static, followed by a NUL that LEN does not count); for HTML, after
                          * http_assets_init, the templated bytes (owned by http_assets.c) */
    size_t len;
    char etag[19]; /**< strong entity tag: 16 hex digits of the SHA-256 in double quotes; set by http_assets_init */
    char *hashed;  /**< "<stem>.<hash8>.<ext>", the immutable name under /assets/ (hash8: the first 8 hex digits of
                    *   the SHA-256); set by http_assets_init for top-level files that are not HTML, else NULL */
    uint8_t *gz;   /**< the bytes gzipped once at level 9 (compressible types of at least 1 KiB), else NULL */
    size_t gz_len;
    char gz_etag[22]; /**< the entity tag of the gzipped bytes (a strong tag names one representation): etag + "gz" */
} http_asset_t;
/** The generated table, sorted by path and ended by a NULL row; written only by http_assets_init and _dispose. */
extern http_asset_t http_assets[];
extern const size_t http_assets_count;
/**
 * Prepares the embedded files, once, before any worker starts: entity tags and content-hashed names, and the
 * templating of every HTML file -- `{{asset:NAME}}` becomes "/assets/<hashed name of NAME>", and `{{site_origins}}`
 * is kept for http_assets_thread to fill in per request (allowed in embed/thread.html only). Any other `{{...}}`,
 * or an asset NAME that is not a top-level non-HTML file, is a bug in src/widget: returns CORE_ERR_INVALID with a
 * message in ERRBUF, and parleyd refuses to start. Returns 0 otherwise; later calls return 0 at once.
 */
int http_assets_init(char *errbuf, size_t errlen);
/** Frees what http_assets_init allocated and restores the table; call after every worker has returned. */
void http_assets_dispose(void);
/** GET|HEAD /account/{name}: the page account/<name>.html, no-store and Referrer-Policy: no-referrer; else 404. */
void http_assets_page(api_req_t *r);
/**
 * GET|HEAD /assets/{file}: a top-level non-HTML file, either by its name (ETag, 304 on If-None-Match, 5-minute
 * caching) or by its content-hashed name (the same, but cached for a year and immutable); else 404.
 */
void http_assets_file(api_req_t *r);
/** GET|HEAD /embed.js: the embed script, as /assets/embed.js (ETag, 304, 5-minute caching); 404 without one. */
void http_assets_embed_js(api_req_t *r);
/**
 * GET|HEAD /embed/thread?site=ID&...: embed/thread.html, the comment UI for an iframe, with `{{site_origins}}` set
 * to the site's origins and a CSP whose frame-ancestors are exactly those origins (so only the site's pages may
 * frame it); Cache-Control: no-cache with an ETag. A missing or unknown site is the JSON 404 unknown_site; no
 * thread.html is the JSON 404 not_found.
 */
void http_assets_thread(api_req_t *r);
/** GET|HEAD /privacy: the "manage my comments" page, account/privacy.html, as http_assets_page sends it. */
void http_assets_privacy(api_req_t *r);
/** GET|HEAD /demo: demo.html, the demo article (no-cache, ETag, a CSP that lets it frame /embed/thread); else 404. */
void http_assets_demo(api_req_t *r);
/** GET /admin: the moderation console (src/widget/admin.html); no-store, no-referrer, the pages' strict CSP. */
void http_assets_admin(api_req_t *r);

#endif
