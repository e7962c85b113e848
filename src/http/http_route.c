/* Dispatch: every request outside /static/ comes here. The route table (http_routes.def) decides 404, 405 (with
 * Allow) and the CORS preflight; then, in this order and before any handler runs: the body must be JSON
 * (415 otherwise), at most 64 KiB (413) and parse (400 bad_json); the client must be within its rate limit for the
 * route's class (429 with Retry-After, counted in Redis so every parleyd shares it). */
#include <string.h>
#include <strings.h>
#include "core/core_error.h"
#include "http/http.h"

enum {
    LIMIT_NONE = -1,
#define X(name) LIMIT_##name = CORE_LIMIT_##name,
    CORE_LIMIT_CLASSES(X)
#undef X
};

struct st_route_t {
    const char *name;
    const char *method;
    const char *path;
    api_handler_fn fn;
    int limit;
    int flags;
};

static const struct st_route_t routes[] = {
#define X(name, method, path, handler, limit, flags) {#name, method, path, handler, LIMIT_##limit, flags},
#include "http/http_routes.def"
#undef X
};

static const char *const limit_names[] = {
#define X(name) #name,
    CORE_LIMIT_CLASSES(X)
#undef X
};

struct st_dispatch_t {
    api_req_t r; /* first: the api layer sees only this */
    const struct st_route_t *route;
};

const char *http_route_name(http_route_id_t id)
{
    if (id < HTTP_ROUTE__COUNT)
        return routes[id].name;
    return id == HTTP_ROUTE_static ? "static" : "other";
}

/* Matches PATH (no query) against a pattern; "{}" matches one non-empty segment, captured into PARAMS. */
static bool path_matches(const char *pattern, h2o_iovec_t path, h2o_iovec_t *params, size_t *num_params)
{
    const char *p = pattern, *s = path.base, *end = path.base + path.len;
    size_t n = 0;
    while (*p != '\0') {
        if (p[0] == '{' && p[1] == '}') {
            const char *seg = s;
            while (s < end && *s != '/')
                ++s;
            if (s == seg || n == 4)
                return false;
            if (params != NULL)
                params[n] = h2o_iovec_init(seg, (size_t)(s - seg));
            ++n;
            p += 2;
        } else {
            if (s == end || *s != *p)
                return false;
            ++s;
            ++p;
        }
    }
    if (s != end)
        return false;
    if (num_params != NULL)
        *num_params = n;
    return true;
}

static bool method_is(h2o_req_t *req, const char *m)
{
    if (h2o_memis(req->method.base, req->method.len, m, strlen(m)))
        return true;
    /* HEAD is GET without the body; h2o drops the body itself. */
    return strcmp(m, "GET") == 0 && h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD"));
}

http_route_id_t http_route_classify(h2o_req_t *req)
{
    h2o_iovec_t path = req->path_normalized;
    if (path.len >= 8 && memcmp(path.base, "/static/", 8) == 0)
        return HTTP_ROUTE_static;
    for (size_t i = 0; i < HTTP_ROUTE__COUNT; ++i)
        if (method_is(req, routes[i].method) && path_matches(routes[i].path, path, NULL, NULL))
            return (http_route_id_t)i;
    return HTTP_ROUTE_other;
}

/* Comma-separated methods of every route on PATH, in the pool. */
static h2o_iovec_t allowed_methods(h2o_req_t *req, h2o_iovec_t path)
{
    char buf[128];
    size_t n = 0;
    bool has_get = false;
    for (size_t i = 0; i < HTTP_ROUTE__COUNT; ++i) {
        if (!path_matches(routes[i].path, path, NULL, NULL))
            continue;
        size_t ml = strlen(routes[i].method);
        if (n + ml + 16 >= sizeof(buf))
            break;
        if (n != 0) {
            memcpy(buf + n, ", ", 2);
            n += 2;
        }
        memcpy(buf + n, routes[i].method, ml);
        n += ml;
        has_get |= strcmp(routes[i].method, "GET") == 0;
    }
    if (has_get) {
        memcpy(buf + n, ", HEAD", 6);
        n += 6;
    }
    memcpy(buf + n, ", OPTIONS", 9);
    n += 9;
    return h2o_strdup(&req->pool, buf, n);
}

static void preflight(api_req_t *r, h2o_iovec_t allow)
{
    h2o_req_t *req = r->req;
    ssize_t i = h2o_find_header_by_str(&req->headers, H2O_STRLIT("access-control-request-method"), -1);
    h2o_iovec_t want = i >= 0 ? req->headers.entries[i].value : h2o_iovec_init(NULL, 0);
    if (!api_origin_is_allowed(r->env->cfg, NULL, r->origin)) {
        api_reply_error(r, CORE_ERR_ORIGIN_NOT_ALLOWED, NULL, NULL);
        return;
    }
    if (want.len == 0 || !api_list_has(allow, want.base, want.len, false)) {
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ALLOW, NULL, allow.base, allow.len);
        api_reply_error(r, CORE_ERR_METHOD_NOT_ALLOWED, NULL, NULL);
        return;
    }
    /* Site-specific checks happen on the real request (its site is in the query or body, not the preflight); here
     * an origin of any configured site may proceed. */
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ACCESS_CONTROL_ALLOW_ORIGIN, NULL, r->origin.base,
                   r->origin.len);
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("access-control-allow-methods"), 0, NULL,
                          allow.base, allow.len);
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("access-control-allow-headers"), 0, NULL,
                          H2O_STRLIT("Content-Type, Authorization, X-Parley-Edit-Token"));
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("access-control-max-age"), 0, NULL,
                          H2O_STRLIT("600"));
    h2o_set_header_token(&req->pool, &req->res.headers, H2O_TOKEN_VARY, H2O_STRLIT("Origin"));
    req->res.status = 204;
    req->res.reason = "No Content";
    req->res.content_length = 0;
    h2o_send_inline(req, NULL, 0);
}

static bool is_json_content_type(h2o_req_t *req)
{
    ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_CONTENT_TYPE, -1);
    if (i < 0)
        return false;
    h2o_iovec_t v = req->headers.entries[i].value;
    size_t n = 0;
    while (n < v.len && v.base[n] != ';' && v.base[n] != ' ')
        ++n;
    return n == 16 && strncasecmp(v.base, "application/json", 16) == 0;
}

static void on_limit(h2o_req_t *req, int err, bool allowed, uint32_t retry_after_s, void *data)
{
    struct st_dispatch_t *d = data;
    if (err != 0) {
        api_reply_error(&d->r, CORE_ERR_UNAVAILABLE, NULL, NULL);
        return;
    }
    if (!allowed) {
        char buf[16];
        int n = snprintf(buf, sizeof(buf), "%u", retry_after_s);
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_RETRY_AFTER, NULL,
                       h2o_strdup(&req->pool, buf, (size_t)n).base, (size_t)n);
        http_metrics_count_limited();
        api_reply_error(&d->r, CORE_ERR_RATE_LIMITED, NULL, NULL);
        return;
    }
    d->route->fn(&d->r);
}

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    api_env_t *env = http_worker_env(req->conn->ctx);
    struct st_dispatch_t *d = h2o_mem_alloc_pool(&req->pool, sizeof(*d));
    int qerr = api_req_init(&d->r, req, env);
    api_req_t *r = &d->r;
    h2o_iovec_t path = req->path_normalized;

    const struct st_route_t *route = NULL;
    bool path_known = false;
    for (size_t i = 0; i < HTTP_ROUTE__COUNT && route == NULL; ++i) {
        if (!path_matches(routes[i].path, path, r->path_params, &r->num_path_params))
            continue;
        path_known = true;
        if (method_is(req, routes[i].method))
            route = &routes[i];
    }
    if (!path_known) {
        api_reply_error(r, CORE_ERR_NOT_FOUND, NULL, NULL);
        return 0;
    }
    if (route == NULL) {
        h2o_iovec_t allow = allowed_methods(req, path);
        if (h2o_memis(req->method.base, req->method.len, H2O_STRLIT("OPTIONS"))) {
            preflight(r, allow);
        } else {
            h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ALLOW, NULL, allow.base, allow.len);
            api_reply_error(r, CORE_ERR_METHOD_NOT_ALLOWED, NULL, NULL);
        }
        return 0;
    }
    d->route = route;
    if (qerr != 0) {
        api_reply_error(r, CORE_ERR_BAD_REQUEST, NULL, "The query string is malformed.");
        return 0;
    }
    if ((route->flags & HTTP_ROUTE_BODY) != 0) {
        if (req->entity.len > HTTP_MAX_BODY) {
            api_reply_error(r, CORE_ERR_TOO_LARGE, NULL, NULL);
            return 0;
        }
        if (!is_json_content_type(req)) {
            api_reply_error(r, CORE_ERR_UNSUPPORTED_MEDIA_TYPE, NULL, NULL);
            return 0;
        }
        if (api_body_or_reply(r) != 0)
            return 0;
    }
    if (route->limit != LIMIT_NONE && env->cfg->limits[route->limit].requests != 0) {
        const core_config_limit_t *lim = &env->cfg->limits[route->limit];
        int err = store_limit_hit(env->store, req, limit_names[route->limit], api_client_key(r), lim->requests,
                                  lim->window_s, on_limit, d);
        if (err != 0)
            api_reply_error(r, err, NULL, NULL);
        return 0;
    }
    route->fn(r);
    return 0;
}

void http_route_register(h2o_pathconf_t *pathconf, http_server_t *srv)
{
    h2o_handler_t *h = h2o_create_handler(pathconf, sizeof(*h));
    h->on_req = on_req;
}
