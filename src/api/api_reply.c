/* Replies: every API answer is JSON built by jansson (never by string concatenation), with the content type set,
 * no caching unless a handler says otherwise, and CORS headers only for an allowed Origin. The few pages meant for
 * people who follow a link from a mail (api_moderate.c, api_notify.c) are small HTML documents from
 * api_reply_page. */
#include <string.h>
#include <stdio.h>
#include "core/core_error.h"
#include "core/core_html.h"
#include "api/api.h"

h2o_iovec_t api_json_dump(h2o_mem_pool_t *pool, json_t *v)
{
    size_t n = core_json_dump_size(v);
    char *buf = h2o_mem_alloc_pool(pool, n + 1);
    core_json_dump_write(v, buf);
    buf[n] = '\0';
    return h2o_iovec_init(buf, n);
}

void api_reply_cors(api_req_t *r)
{
    h2o_req_t *req = r->req;
    /* Responses differ by Origin, so caches must key on it even when we add nothing. */
    h2o_set_header_token(&req->pool, &req->res.headers, H2O_TOKEN_VARY, H2O_STRLIT("Origin"));
    if (!api_origin_is_allowed(r->env->cfg, r->site, r->origin))
        return;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ACCESS_CONTROL_ALLOW_ORIGIN, NULL, r->origin.base,
                   r->origin.len);
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("access-control-expose-headers"), 0, NULL,
                          H2O_STRLIT("ETag, Retry-After"));
}

static const char *status_reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 409:
        return "Conflict";
    case 413:
        return "Payload Too Large";
    case 415:
        return "Unsupported Media Type";
    case 422:
        return "Unprocessable Content";
    case 429:
        return "Too Many Requests";
    case 503:
        return "Service Unavailable";
    default:
        return status >= 500 ? "Server Error" : "";
    }
}

/* Replies are sent from memory that lives as long as the request (its pool, shared chunks linked to it, or static
 * data), so h2o_send needs no copy; h2o_send_inline would copy the body once more. */
static h2o_generator_t static_generator = {NULL, NULL};

static void send_bufs(api_req_t *r, int status, h2o_iovec_t *bufs, size_t n, const char *cache_control)
{
    h2o_req_t *req = r->req;
    req->res.status = status;
    req->res.reason = status_reason(status);
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                   H2O_STRLIT("application/json; charset=utf-8"));
    if (cache_control != NULL)
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, cache_control,
                       strlen(cache_control));
    api_reply_cors(r);
    req->res.content_length = 0;
    for (size_t i = 0; i < n; ++i)
        req->res.content_length += bufs[i].len;
    h2o_start_response(req, &static_generator);
    /* HEAD: the same headers, Content-Length included, and no body (h2o_send_inline did this for us; h2o_send
     * does not). */
    bool head = h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD"));
    h2o_send(req, head ? NULL : bufs, head ? 0 : n, H2O_SEND_STATE_FINAL);
}

static void send_body(api_req_t *r, int status, h2o_iovec_t body, const char *cache_control)
{
    send_bufs(r, status, &body, 1, cache_control);
}

void api_reply_raw_bufs(api_req_t *r, int status, h2o_iovec_t *bufs, size_t n, const char *cache_control)
{
    send_bufs(r, status, bufs, n, cache_control);
}

void api_reply_raw_json(api_req_t *r, int status, h2o_iovec_t body, const char *cache_control)
{
    send_body(r, status, body, cache_control);
}

void api_reply_json(api_req_t *r, int status, json_t *body)
{
    h2o_iovec_t buf = api_json_dump(&r->req->pool, body);
    json_decref(body);
    send_body(r, status, buf, "no-store");
}

void api_reply_error(api_req_t *r, int err, const char *field, const char *message)
{
    json_t *e = json_object();
    json_object_set_new(e, "code", json_string(core_error_code(err)));
    json_object_set_new(e, "message", json_string(message != NULL ? message : core_error_message(err)));
    if (field != NULL)
        json_object_set_new(e, "field", json_string(field));
    json_t *root = json_object();
    json_object_set_new(root, "error", e);
    api_reply_json(r, core_error_status(err), root);
}

void api_reply_json_error(api_req_t *r, const core_json_err_t *err)
{
    api_reply_error(r, err->code, err->field, err->message);
}

const char *api_html_escape(h2o_mem_pool_t *pool, const char *s, size_t len)
{
    size_t n = core_html_escape(s, len, NULL, 0);
    char *out = h2o_mem_alloc_pool(pool, n + 1);
    core_html_escape(s, len, out, n + 1);
    return out;
}

void api_reply_page(api_req_t *r, int status, const char *title, const char *body_html)
{
    h2o_req_t *req = r->req;
    size_t cap = strlen(title) * 2 + strlen(body_html) + 512;
    char *out = h2o_mem_alloc_pool(&req->pool, cap);
    int n = snprintf(out, cap,
                     "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
                     "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                     "<meta name=\"robots\" content=\"noindex\"><title>%s</title></head>"
                     "<body><main><h1>%s</h1>%s</main></body></html>",
                     title, title, body_html);
    req->res.status = status;
    req->res.reason = status_reason(status);
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, H2O_STRLIT("text/html; charset=utf-8"));
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, H2O_STRLIT("no-store"));
    /* The address of these pages holds a signed token: it must not leak to the next site in a Referer. */
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("referrer-policy"), 0, NULL,
                          H2O_STRLIT("no-referrer"));
    req->res.content_length = (size_t)n;
    h2o_send_inline(req, out, (size_t)n);
}
