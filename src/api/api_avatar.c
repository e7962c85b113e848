/* GET /avatar/<32 hex>.svg: an identicon drawn by Parley from the keyed e-mail hash in the comment's avatar URL.
 * No request ever goes to a third party, and the hash cannot be reversed or matched to Gravatar. A 5x5 grid,
 * mirrored left to right, in one colour picked from the hash; cacheable forever, since it is a pure function of
 * its name. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include "core/core_error.h"
#include "core/core_token.h"
#include "api/api.h"

void api_avatar_get(api_req_t *r)
{
    h2o_iovec_t name = r->path_params[0];
    bool ok = name.len == 36 && memcmp(name.base + 32, ".svg", 4) == 0;
    for (size_t i = 0; ok && i < 32; ++i)
        ok = isxdigit((unsigned char)name.base[i]) && !isupper((unsigned char)name.base[i]);
    if (!ok) {
        api_reply_error(r, CORE_ERR_NOT_FOUND, NULL, NULL);
        return;
    }
    uint8_t b[16];
    for (int i = 0; i < 16; ++i)
        b[i] = (uint8_t)(core_hex_value(name.base[2 * i]) << 4 | core_hex_value(name.base[2 * i + 1]));
    /* Hue from the hash; saturation and lightness fixed so every avatar has contrast on light and dark themes. */
    unsigned hue = (unsigned)(b[0] << 8 | b[1]) % 360;
    char svg[4096];
    int n = snprintf(svg, sizeof(svg),
                     "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 5 5\" width=\"40\" height=\"40\" "
                     "shape-rendering=\"crispEdges\"><rect width=\"5\" height=\"5\" fill=\"hsl(%u,25%%,92%%)\"/>"
                     "<g fill=\"hsl(%u,55%%,42%%)\">",
                     hue, hue);
    for (int row = 0; row < 5; ++row)
        for (int col = 0; col < 3; ++col) {
            int bit = row * 3 + col;
            if ((b[2 + bit / 8] >> (bit % 8) & 1) == 0)
                continue;
            n += snprintf(svg + n, sizeof(svg) - (size_t)n, "<rect x=\"%d\" y=\"%d\" width=\"1\" height=\"1\"/>", col,
                          row);
            if (col != 2)
                n += snprintf(svg + n, sizeof(svg) - (size_t)n, "<rect x=\"%d\" y=\"%d\" width=\"1\" height=\"1\"/>",
                              4 - col, row);
        }
    n += snprintf(svg + n, sizeof(svg) - (size_t)n, "</g></svg>");
    h2o_req_t *req = r->req;
    req->res.status = 200;
    req->res.reason = "OK";
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, H2O_STRLIT("image/svg+xml"));
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL,
                   H2O_STRLIT("public, max-age=31536000, immutable"));
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("content-security-policy"), 0, NULL,
                          H2O_STRLIT("default-src 'none'; style-src 'unsafe-inline'"));
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("cross-origin-resource-policy"), 0, NULL,
                          H2O_STRLIT("cross-origin"));
    req->res.content_length = (size_t)n;
    h2o_send_inline(req, svg, (size_t)n);
}
