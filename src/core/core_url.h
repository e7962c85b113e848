#ifndef CORE_URL_H
#define CORE_URL_H

#include <stdbool.h>
#include <stddef.h>

/* The one URL canonicaliser (DESIGN.md "URL canonicalisation"), used by shares and comments alike.
 * Pure and thread-safe; no allocation beyond the caller's struct. */

#define CORE_URL_MAX_INPUT 2048  /**< longer URLs are refused */
#define CORE_URL_MAX_OUTPUT 4096 /**< room for the canonical form (IDNA can lengthen the host) */

typedef struct st_core_url_t {
    /** The canonical form: "https://host[:port]/path[?sorted&query]", NUL-terminated. http and https, a leading
     * "www." and a trailing slash fold into one form, so it is a key, not necessarily the URL to link to. */
    char canonical[CORE_URL_MAX_OUTPUT];
    size_t canonical_len;
    /** host[:port] part of canonical (lower-case A-label, no "www.", port only when not 80/443), NUL-terminated. */
    char host[256 + 8];
    size_t host_len;
} core_url_t;

/**
 * Canonicalises IN (LEN bytes, need not be NUL-terminated):
 * - only absolute http/https URLs; userinfo, control characters, spaces, empty hosts, bad ports and inputs longer
 *   than CORE_URL_MAX_INPUT are refused;
 * - scheme and host lower-cased, IDN hosts converted to A-labels (IDNA2008 via libidn2), a trailing dot and a
 *   leading "www." dropped, default ports (80, 443) dropped, the fragment dropped;
 * - path: dot-segments resolved, percent-encoding normalised (hex upper-cased, unreserved characters decoded,
 *   other non-ASCII or unsafe bytes encoded), trailing slash removed except for the root "/";
 * - query: tracking parameters removed (utm_*, fbclid, gclid, dclid, msclkid, mc_cid, mc_eid, _ga, _gl, igshid,
 *   yclid, twclid, ref_src), the rest sorted by name then value (stable), empty query dropped.
 * Returns 0 and fills OUT, or CORE_ERR_INVALID.
 */
int core_url_canonicalize(const char *in, size_t len, core_url_t *out);

/**
 * Canonicalises a site origin ("scheme://host[:port]", no path) into the same host form as core_url_t.host so the
 * two compare with strcmp. Returns 0 or CORE_ERR_INVALID. HOST must have room for sizeof(core_url_t.host).
 */
int core_url_origin_host(const char *origin, size_t len, char *host, size_t *host_len);

#endif
