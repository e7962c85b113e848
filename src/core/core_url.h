#ifndef CORE_URL_H
#define CORE_URL_H

#include <stdbool.h>
#include <stddef.h>

/* The one URL canonicaliser (DESIGN.md "URL canonicalisation"), used by shares and comments alike.
 * Pure and thread-safe; no allocation beyond the caller's struct, except that libidn2 allocates (and we free at once)
 * while converting a non-ASCII host. Scratch space is on the stack (about 20 KiB). */

#define CORE_URL_MAX_INPUT 2048  /**< longer URLs are refused */
#define CORE_URL_MAX_OUTPUT 4096 /**< room for the canonical form (IDNA can lengthen the host) */

typedef struct st_core_url_t {
    /** The canonical form: "https://host[:port]/path[?sorted&query]", NUL-terminated. http and https, a leading
     * "www." and a trailing slash fold into one form, so it is a key, not necessarily the URL to link to. At most
     * CORE_URL_MAX_INPUT bytes, so it is always accepted again, and canonicalising it gives it back unchanged. */
    char canonical[CORE_URL_MAX_OUTPUT];
    size_t canonical_len;
    /** host[:port] part of canonical (lower-case A-label, no "www.", port only when not 80/443), NUL-terminated. */
    char host[256 + 8];
    size_t host_len;
} core_url_t;

/**
 * Canonicalises IN (LEN bytes, need not be NUL-terminated; never read past LEN):
 * - only absolute "http://" and "https://" URLs (scheme in any case); userinfo (any '@' in the authority), control
 *   characters, spaces and DEL (anywhere, fragment included), empty hosts, '%' in the host, bad ports (not digits,
 *   0, above 65535) and inputs longer than CORE_URL_MAX_INPUT are refused; an empty port ("host:") is the default;
 * - scheme and host lower-cased; non-ASCII hosts converted to A-labels by libidn2 (IDNA2008 with UTS #46
 *   non-transitional mapping, retried transitional); ASCII hosts (A-labels included) are only lower-cased; labels
 *   must be [a-z0-9_-], non-empty, at most 63 bytes, the name at most 253; one trailing dot dropped; a leading
 *   "www." dropped unless the rest has no dot ("www.com") or starts with "www." again (so the form is a fixed
 *   point); IPv6 literals in brackets accepted and re-printed in RFC 5952 form (zone ids refused); default ports
 *   80 and 443 dropped for both schemes; the fragment dropped;
 * - path: percent-encoding normalised (hex upper-cased, unreserved characters decoded, a stray '%' becomes "%25",
 *   non-ASCII and unsafe bytes encoded), then dot-segments resolved (RFC 3986 5.2.4, so "%2E%2E" counts), then all
 *   trailing slashes removed except for the root "/";
 * - query: percent-encoding normalised as for the path; empty parameters dropped; tracking parameters removed
 *   (names matched ignoring ASCII case after normalisation: utm_*, fbclid, gclid, dclid, msclkid, mc_cid, mc_eid,
 *   _ga, _gl, igshid, yclid, twclid, ref_src); the rest sorted by name, then "name" before "name=", then value, as
 *   unsigned bytes (a total order, so the result does not depend on input order); an empty query dropped;
 * - a canonical form longer than CORE_URL_MAX_INPUT is refused (e.g. a path of raw UTF-8 that triples when encoded).
 * Returns 0 and fills OUT, or CORE_ERR_INVALID with OUT's strings empty and lengths 0.
 */
int core_url_canonicalize(const char *in, size_t len, core_url_t *out);

/**
 * Canonicalises a site origin ("scheme://host[:port]", no path; a lone trailing "/" is tolerated) into the same host
 * form as core_url_t.host so the two compare with strcmp. Returns 0 or CORE_ERR_INVALID (HOST then empty).
 * HOST must have room for sizeof(core_url_t.host); HOST_LEN may be NULL.
 */
int core_url_origin_host(const char *origin, size_t len, char *host, size_t *host_len);

#endif
