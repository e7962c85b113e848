/* Security headers on every response, static files and h2o's own error pages included, which is why this is an
 * output filter and not code in the handlers. */
#include <string.h>
#include "http/http.h"

/* The policy of every HTML answer, in three parts so that http_headers_csp can vary img-src, frame-src and
 * frame-ancestors without a second copy of the rest. Pages carry no inline script or style, so 'self' suffices. */
#define CSP_HEAD "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:"
#define CSP_MID "; connect-src 'self'; form-action 'self'; base-uri 'none'"
#define CSP_ANCESTORS "; frame-ancestors "

static const char csp_html[] = CSP_HEAD CSP_MID CSP_ANCESTORS "'none'";

h2o_iovec_t http_headers_csp(h2o_mem_pool_t *pool, const char *img_extra, const char *frame_src,
                             h2o_iovec_t frame_ancestors)
{
    h2o_iovec_t empty = h2o_iovec_init(H2O_STRLIT(""));
    h2o_iovec_t img = empty, img_sep = empty, frames = empty, frames_key = empty;
    if (img_extra != NULL) {
        img_sep = h2o_iovec_init(H2O_STRLIT(" "));
        img = h2o_iovec_init(img_extra, strlen(img_extra));
    }
    if (frame_src != NULL) {
        frames_key = h2o_iovec_init(H2O_STRLIT("; frame-src "));
        frames = h2o_iovec_init(frame_src, strlen(frame_src));
    }
    if (frame_ancestors.base == NULL)
        frame_ancestors = h2o_iovec_init(H2O_STRLIT("'none'"));
    return h2o_concat(pool, h2o_iovec_init(H2O_STRLIT(CSP_HEAD)), img_sep, img, h2o_iovec_init(H2O_STRLIT(CSP_MID)),
                      frames_key, frames, h2o_iovec_init(H2O_STRLIT(CSP_ANCESTORS)), frame_ancestors);
}

static void on_setup_ostream(h2o_filter_t *self, h2o_req_t *req, h2o_ostream_t **slot)
{
    h2o_headers_t *h = &req->res.headers;
    h2o_set_header_by_str(&req->pool, h, H2O_STRLIT("x-content-type-options"), 0, H2O_STRLIT("nosniff"), 0);
    if (h2o_find_header_by_str(h, H2O_STRLIT("referrer-policy"), -1) < 0)
        h2o_add_header_by_str(&req->pool, h, H2O_STRLIT("referrer-policy"), 0, NULL,
                              H2O_STRLIT("strict-origin-when-cross-origin"));
    if (req->scheme == &H2O_URL_SCHEME_HTTPS)
        h2o_set_header(&req->pool, h, H2O_TOKEN_STRICT_TRANSPORT_SECURITY, H2O_STRLIT("max-age=31536000"), 0);
    ssize_t ct = h2o_find_header(h, H2O_TOKEN_CONTENT_TYPE, -1);
    if (ct >= 0 && h->entries[ct].value.len >= 9 && strncmp(h->entries[ct].value.base, "text/html", 9) == 0 &&
        h2o_find_header_by_str(h, H2O_STRLIT("content-security-policy"), -1) < 0)
        h2o_add_header_by_str(&req->pool, h, H2O_STRLIT("content-security-policy"), 0, NULL, csp_html,
                              sizeof(csp_html) - 1);
    h2o_setup_next_ostream(req, slot);
}

void http_headers_register(h2o_pathconf_t *pathconf)
{
    h2o_filter_t *f = h2o_create_filter(pathconf, sizeof(*f));
    f->on_setup_ostream = on_setup_ostream;
}
