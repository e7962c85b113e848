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
/** Number of worker threads (cfg->threads, or one per core). */
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
    const uint8_t *data; /**< the bytes (static, followed by a NUL that LEN does not count) */
    size_t len;
    char etag[19]; /**< strong entity tag: 16 hex digits of the SHA-256 in double quotes; set by http_assets_init */
} http_asset_t;
/** The generated table, sorted by path and ended by a NULL row; written only by http_assets_init. */
extern http_asset_t http_assets[];
extern const size_t http_assets_count;
/**
 * Computes the entity tags of the embedded files, once per process (later calls return at once). Thread-safe; the
 * handlers below call it themselves, so calling it at start-up only moves the hashing out of the first request.
 */
void http_assets_init(void);
/** GET|HEAD /account/{name}: the page account/<name>.html, no-store and Referrer-Policy: no-referrer; else 404. */
void http_assets_page(api_req_t *r);
/** GET|HEAD /assets/{file}: a top-level non-HTML file with ETag, 304 on If-None-Match, 5-minute caching; else 404. */
void http_assets_file(api_req_t *r);

#endif
