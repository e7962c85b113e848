/* URL canonicalisation (DESIGN.md "URL canonicalisation", reference/share-counts.md 1.4).
 *
 * The canonical form is a storage key: two URLs that a reader would call "the same page" must map to the same bytes,
 * and canonicalising a canonical form must give it back unchanged (the fuzz target checks this). Every step below is
 * chosen so that its output is a fixed point of the whole pipeline:
 *
 *   split       scheme "://" authority [path] ["?" query] ["#" fragment], on the raw bytes, strictly;
 *   authority   host lower-cased or converted to an A-label, trailing dot and one "www." dropped, port checked;
 *   path        percent-encoding normalised, then dot-segments removed, then trailing slashes dropped;
 *   query       percent-encoding normalised, tracking parameters dropped, the rest sorted.
 *
 * Nothing is allocated except inside libidn2 (freed at once); scratch space lives on the stack and is bounded by
 * CORE_URL_MAX_INPUT, so the functions are pure and thread-safe. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <idn2.h>
#include "core/core_error.h"
#include "core/core_token.h"
#include "core/core_url.h"

/* Percent-encoding at most triples a component, so this holds any normalised path or query of an accepted input. */
#define SCRATCH_SIZE (3 * CORE_URL_MAX_INPUT + 1)
/* Non-empty parameters are separated by '&', so an accepted query has at most this many. */
#define MAX_PARAMS (CORE_URL_MAX_INPUT / 2 + 1)
/* DNS limits (RFC 1035 2.3.4), applied to the A-label form without the trailing dot. */
#define MAX_HOST_NAME 253
#define MAX_LABEL 63

/* The raw pieces of an input URL; pointers into the caller's buffer, nothing is NUL-terminated. */
struct st_url_parts_t {
    const char *authority;
    size_t authority_len;
    const char *path;
    size_t path_len;
    const char *query;
    size_t query_len;
    bool has_query;
    bool has_fragment;
};

/* Query parameters that only identify a campaign or click and never change the page (header comment). Matched on
 * the percent-normalised name, ignoring ASCII case, so "UTM_Source" and "utm%5Fsource" are caught too. */
static const char *const tracking_params[] = {"fbclid", "gclid", "dclid",  "msclkid", "mc_cid", "mc_eid",
                                              "_ga",    "_gl",   "igshid", "yclid",   "twclid", "ref_src"};
static const char tracking_prefix[] = "utm_";

/* One query parameter inside the normalised query buffer. Offsets fit 16 bits because SCRATCH_SIZE does. */
struct st_param_t {
    uint16_t off;
    uint16_t name_len;
    uint16_t len;
};

static char ascii_lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool is_alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

/* RFC 3986 2.3: these are decoded when percent-encoded, because encoding them never changes the meaning. */
static bool is_unreserved(unsigned char c)
{
    return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

/* Characters a path or query may carry raw (RFC 3986 3.3 and 3.4: sub-delims, ':', '@', '/', '?'). They are
 * significant as written, so they are neither decoded nor encoded; everything else that is not unreserved gets
 * percent-encoded. */
static bool is_kept_raw(unsigned char c)
{
    return is_unreserved(c) || (c != '\0' && strchr("!$&'()*+,;=:@/?", c) != NULL);
}

static bool ascii_case_equal(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; ++i) {
        if (ascii_lower(a[i]) != ascii_lower(b[i]))
            return false;
    }
    return true;
}

/* Splits IN into its parts without interpreting them. Only "http://" and "https://" (any case) are accepted: the
 * "//" is required so that relative references and "http:foo" never pass. Control characters, spaces and DEL are
 * refused anywhere, including inside the fragment we are about to drop, because a URL containing them was not
 * produced by a browser and is more likely an injection attempt than a page. */
static int split_url(const char *in, size_t len, struct st_url_parts_t *parts)
{
    static const char http[] = "http://", https[] = "https://";
    size_t i;

    if (in == NULL || len == 0 || len > CORE_URL_MAX_INPUT)
        return CORE_ERR_INVALID;
    for (i = 0; i < len; ++i) {
        unsigned char c = (unsigned char)in[i];
        if (c <= 0x20 || c == 0x7f)
            return CORE_ERR_INVALID;
    }

    if (len >= sizeof(https) - 1 && ascii_case_equal(in, https, sizeof(https) - 1)) {
        i = sizeof(https) - 1;
    } else if (len >= sizeof(http) - 1 && ascii_case_equal(in, http, sizeof(http) - 1)) {
        i = sizeof(http) - 1;
    } else {
        return CORE_ERR_INVALID;
    }

    memset(parts, 0, sizeof(*parts));
    parts->authority = in + i;
    while (i < len && in[i] != '/' && in[i] != '?' && in[i] != '#')
        ++i;
    parts->authority_len = (size_t)(in + i - parts->authority);

    parts->path = in + i;
    while (i < len && in[i] != '?' && in[i] != '#')
        ++i;
    parts->path_len = (size_t)(in + i - parts->path);

    if (i < len && in[i] == '?') {
        parts->has_query = true;
        parts->query = in + ++i;
        while (i < len && in[i] != '#')
            ++i;
        parts->query_len = (size_t)(in + i - parts->query);
    }
    parts->has_fragment = i < len;
    return 0;
}

/* Port digits after ':'. An empty port means the default (RFC 3986 6.2.3 says to drop it); leading zeros are
 * accepted and disappear because the port is re-printed from its value. 0 and anything above 65535 are refused. */
static int parse_port(const char *p, size_t n, unsigned *port)
{
    unsigned v = 0;

    for (size_t i = 0; i < n; ++i) {
        if (!is_digit((unsigned char)p[i]))
            return CORE_ERR_INVALID;
        v = v * 10 + (unsigned)(p[i] - '0');
        if (v > 65535)
            return CORE_ERR_INVALID;
    }
    if (n != 0 && v == 0)
        return CORE_ERR_INVALID;
    *port = v;
    return 0;
}

/* An IPv6 literal (the text between the brackets). inet_pton refuses zone identifiers and IPvFuture, which we do not
 * want as keys anyway; inet_ntop re-prints the address in RFC 5952 form (lower case, longest zero run compressed), so
 * every spelling of one address gives one key. */
static int canon_ipv6(const char *h, size_t n, char *dst, size_t cap, size_t *dst_len)
{
    char text[INET6_ADDRSTRLEN];
    struct in6_addr addr;

    if (n == 0 || n >= sizeof(text))
        return CORE_ERR_INVALID;
    memcpy(text, h, n);
    text[n] = '\0';
    if (inet_pton(AF_INET6, text, &addr) != 1)
        return CORE_ERR_INVALID;
    if (inet_ntop(AF_INET6, &addr, text, sizeof(text)) == NULL)
        return CORE_ERR_INVALID;
    size_t len = strlen(text);
    if (len + 3 > cap)
        return CORE_ERR_INVALID;
    dst[0] = '[';
    memcpy(dst + 1, text, len);
    dst[len + 1] = ']';
    dst[len + 2] = '\0';
    *dst_len = len + 2;
    return 0;
}

/* A registered name. ASCII names are only lower-cased, so a canonical host (always ASCII) never goes through libidn2
 * again, which keeps the whole function idempotent even for A-labels that libidn2 would not produce itself. Names
 * with non-ASCII bytes are converted with IDNA2008 + UTS #46 non-transitional mapping (what browsers do now); names
 * that only pass transitional processing (e.g. a ZWJ outside its allowed context, which transitional processing
 * removes) are retried that way rather than refused. libidn2 may map characters to ASCII punctuation ("℀" becomes
 * "a/c"), so its output goes through the same checks as an ASCII name: labels of [a-z0-9_-], none empty, DNS
 * lengths. '%' is not accepted in a host at all. */
static int canon_reg_name(const char *h, size_t n, char *dst, size_t cap, size_t *dst_len)
{
    char name[CORE_URL_MAX_INPUT + 1];
    size_t len = 0;
    bool ascii = true;

    if (n == 0 || n >= sizeof(name))
        return CORE_ERR_INVALID;
    for (size_t i = 0; i < n; ++i) {
        if ((unsigned char)h[i] >= 0x80)
            ascii = false;
    }

    if (ascii) {
        for (len = 0; len < n; ++len)
            name[len] = ascii_lower(h[len]);
    } else {
        char *alabel = NULL;
        memcpy(name, h, n);
        name[n] = '\0';
        int rc = idn2_to_ascii_8z(name, &alabel, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
        if (rc != IDN2_OK) {
            idn2_free(alabel);
            alabel = NULL;
            rc = idn2_to_ascii_8z(name, &alabel, IDN2_NFC_INPUT | IDN2_TRANSITIONAL);
        }
        if (rc != IDN2_OK || alabel == NULL) {
            idn2_free(alabel);
            return CORE_ERR_INVALID;
        }
        len = strlen(alabel);
        if (len >= sizeof(name)) {
            idn2_free(alabel);
            return CORE_ERR_INVALID;
        }
        for (size_t i = 0; i < len; ++i)
            name[i] = ascii_lower(alabel[i]);
        idn2_free(alabel);
    }

    /* One trailing dot marks a fully qualified name and means the same host. Only one: "a.." has an empty label,
     * which the check below refuses, so stripping more would hide a malformed name. */
    if (len > 0 && name[len - 1] == '.')
        --len;
    if (len == 0 || len > MAX_HOST_NAME)
        return CORE_ERR_INVALID;
    size_t label = 0;
    for (size_t i = 0; i < len; ++i) {
        char c = name[i];
        if (c == '.') {
            if (label == 0)
                return CORE_ERR_INVALID;
            label = 0;
        } else if (is_alpha((unsigned char)c) || is_digit((unsigned char)c) || c == '-' || c == '_') {
            if (++label > MAX_LABEL)
                return CORE_ERR_INVALID;
        } else {
            return CORE_ERR_INVALID;
        }
    }
    if (label == 0)
        return CORE_ERR_INVALID;

    /* Drop one leading "www." when what remains still looks like a domain (has a dot) and does not itself start with
     * "www.". Without the first condition "www.com" would become the TLD "com"; without the second "www.www.x.org"
     * would lose one "www." per pass and the canonical form would not be a fixed point. */
    const char *start = name;
    if (len > 4 && memcmp(name, "www.", 4) == 0) {
        const char *rest = name + 4;
        size_t rest_len = len - 4;
        bool rest_is_www = rest_len >= 4 && memcmp(rest, "www.", 4) == 0;
        if (!rest_is_www && memchr(rest, '.', rest_len) != NULL) {
            start = rest;
            len = rest_len;
        }
    }
    if (len + 1 > cap)
        return CORE_ERR_INVALID;
    memcpy(dst, start, len);
    dst[len] = '\0';
    *dst_len = len;
    return 0;
}

/* Authority -> "host[:port]". Any '@' is refused: userinfo has no place in a page key, and "https://good@evil" is a
 * classic way to make a URL look like it belongs to a site it does not. */
static int canon_authority(const char *a, size_t n, char *dst, size_t cap, size_t *dst_len)
{
    const char *host = a, *port = NULL;
    size_t host_len, port_len = 0;
    unsigned port_value = 0;
    size_t len;
    int rc;

    if (n == 0 || memchr(a, '@', n) != NULL)
        return CORE_ERR_INVALID;

    if (a[0] == '[') {
        const char *close = memchr(a, ']', n);
        if (close == NULL)
            return CORE_ERR_INVALID;
        host = a + 1;
        host_len = (size_t)(close - host);
        size_t after = n - (size_t)(close + 1 - a);
        if (after != 0) {
            if (close[1] != ':')
                return CORE_ERR_INVALID;
            port = close + 2;
            port_len = after - 1;
        }
        rc = canon_ipv6(host, host_len, dst, cap, &len);
    } else {
        const char *colon = memchr(a, ':', n);
        host_len = colon != NULL ? (size_t)(colon - a) : n;
        if (colon != NULL) {
            port = colon + 1;
            port_len = n - host_len - 1;
        }
        rc = canon_reg_name(host, host_len, dst, cap, &len);
    }
    if (rc != 0)
        return rc;

    if (port != NULL && (rc = parse_port(port, port_len, &port_value)) != 0)
        return rc;
    /* http and https fold into one key, so both default ports are dropped whatever the scheme was. */
    if (port_value != 0 && port_value != 80 && port_value != 443) {
        int w = snprintf(dst + len, cap - len, ":%u", port_value);
        if (w < 0 || (size_t)w >= cap - len)
            return CORE_ERR_INVALID;
        len += (size_t)w;
    }
    *dst_len = len;
    return 0;
}

/* RFC 3986 6.2.2.1 and 6.2.2.2: "%xx" of an unreserved character is decoded, any other "%xx" is kept with upper-case
 * hex, a '%' that does not start a valid triplet becomes "%25", and raw bytes that may not appear in a URL (non-ASCII,
 * '"', '<', '\\', '^', '{', ...) are encoded. The output only contains unreserved characters, is_kept_raw characters
 * and upper-case triplets, so running it again changes nothing. DST needs 3 * N bytes. */
static size_t normalise_percent(const char *s, size_t n, char *dst)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;

    for (size_t i = 0; i < n; ++i) {
        unsigned char c = (unsigned char)s[i];
        if (c == '%' && i + 2 < n && core_hex_value((unsigned char)s[i + 1]) >= 0 &&
            core_hex_value((unsigned char)s[i + 2]) >= 0) {
            unsigned char v =
                (unsigned char)(core_hex_value((unsigned char)s[i + 1]) * 16 + core_hex_value((unsigned char)s[i + 2]));
            i += 2;
            if (is_unreserved(v)) {
                dst[o++] = (char)v;
                continue;
            }
            c = v;
        } else if (c != '%' && is_kept_raw(c)) {
            dst[o++] = (char)c;
            continue;
        }
        dst[o++] = '%';
        dst[o++] = hex[c >> 4];
        dst[o++] = hex[c & 15];
    }
    return o;
}

/* RFC 3986 5.2.4 for an absolute path, done in place as a segment stack: "." is dropped and ".." pops the previous
 * segment (never above the root). Equivalent to the RFC's loop for paths starting with '/', but its output can never
 * contain a dot-segment, which the idempotence property needs. It runs after percent normalisation so that "%2E%2E"
 * counts as "..", as RFC 3986 6.2.2 orders it. The write position never passes the read position. */
static size_t remove_dot_segments(char *p, size_t n)
{
    size_t w = 0, r = 0;

    while (r < n) {
        size_t s = r + 1, e = s;
        while (e < n && p[e] != '/')
            ++e;
        size_t seg = e - s;
        if (seg == 1 && p[s] == '.') {
            /* "." names the current directory. */
        } else if (seg == 2 && p[s] == '.' && p[s + 1] == '.') {
            while (w > 0) {
                --w;
                if (p[w] == '/')
                    break;
            }
        } else {
            memmove(p + w, p + r, e - r);
            w += e - r;
        }
        r = e;
    }
    return w;
}

/* Path -> normalised path in DST (SCRATCH_SIZE bytes). All trailing slashes go, not just one, because "/a//" would
 * otherwise become "/a/" and then "/a" on the next pass; an empty path is the root "/". */
static size_t canon_path(const char *path, size_t n, char *dst)
{
    size_t len = normalise_percent(path, n, dst);
    len = remove_dot_segments(dst, len);
    while (len > 0 && dst[len - 1] == '/')
        --len;
    if (len == 0)
        dst[len++] = '/';
    return len;
}

static bool is_tracking_param(const char *name, size_t n)
{
    if (n >= sizeof(tracking_prefix) - 1 && ascii_case_equal(name, tracking_prefix, sizeof(tracking_prefix) - 1))
        return true;
    for (size_t i = 0; i < sizeof(tracking_params) / sizeof(tracking_params[0]); ++i) {
        if (strlen(tracking_params[i]) == n && ascii_case_equal(name, tracking_params[i], n))
            return true;
    }
    return false;
}

static int compare_bytes(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c != 0)
        return c;
    return alen < blen ? -1 : alen > blen;
}

/* Name first, then "name" before "name=", then value; all as unsigned bytes of the normalised text. Parameters that
 * compare equal are byte-identical, so the order is total and does not depend on the input order. */
static int compare_params(const char *q, const struct st_param_t *a, const struct st_param_t *b)
{
    int c = compare_bytes(q + a->off, a->name_len, q + b->off, b->name_len);
    if (c != 0)
        return c;
    bool a_eq = a->len > a->name_len, b_eq = b->len > b->name_len;
    if (a_eq != b_eq)
        return a_eq ? 1 : -1;
    if (!a_eq)
        return 0;
    return compare_bytes(q + a->off + a->name_len + 1, a->len - a->name_len - 1, q + b->off + b->name_len + 1,
                         b->len - b->name_len - 1);
}

/* Query -> "k=v&k2=v2" in DST (SCRATCH_SIZE bytes), length 0 when nothing is left. Empty parameters ("a&&b") are
 * dropped. The sort is a binary insertion sort over a stack array: stable, bounded (MAX_PARAMS entries) and free of
 * the malloc that glibc's qsort may do. */
static size_t canon_query(const char *query, size_t n, char *dst)
{
    char norm[SCRATCH_SIZE];
    struct st_param_t params[MAX_PARAMS];
    size_t count = 0, len = normalise_percent(query, n, norm);

    for (size_t i = 0; i < len;) {
        size_t e = i;
        while (e < len && norm[e] != '&')
            ++e;
        if (e > i) {
            const char *eq = memchr(norm + i, '=', e - i);
            struct st_param_t p = {(uint16_t)i, (uint16_t)(eq != NULL ? (size_t)(eq - norm) - i : e - i),
                                   (uint16_t)(e - i)};
            if (!is_tracking_param(norm + p.off, p.name_len) && count < MAX_PARAMS) {
                size_t lo = 0, hi = count;
                while (lo < hi) {
                    size_t mid = lo + (hi - lo) / 2;
                    if (compare_params(norm, &params[mid], &p) <= 0)
                        lo = mid + 1;
                    else
                        hi = mid;
                }
                memmove(params + lo + 1, params + lo, (count - lo) * sizeof(params[0]));
                params[lo] = p;
                ++count;
            }
        }
        i = e + 1;
    }

    size_t o = 0;
    for (size_t k = 0; k < count; ++k) {
        if (k != 0)
            dst[o++] = '&';
        memcpy(dst + o, norm + params[k].off, params[k].len);
        o += params[k].len;
    }
    return o;
}

static bool append(char *dst, size_t cap, size_t *len, const char *s, size_t n)
{
    if (n > cap - *len)
        return false;
    memcpy(dst + *len, s, n);
    *len += n;
    return true;
}

int core_url_canonicalize(const char *in, size_t len, core_url_t *out)
{
    /* The result is capped at CORE_URL_MAX_INPUT rather than the buffer size so that every canonical form is itself an
     * acceptable input: otherwise a short URL full of raw UTF-8 could canonicalise to something the next pass refuses.
     */
    const size_t cap = CORE_URL_MAX_INPUT;
    struct st_url_parts_t parts;
    char buf[SCRATCH_SIZE];
    size_t n, total = 0;
    int rc;

    out->canonical[0] = '\0';
    out->canonical_len = 0;
    out->host[0] = '\0';
    out->host_len = 0;

    if ((rc = split_url(in, len, &parts)) != 0)
        return rc;
    if ((rc = canon_authority(parts.authority, parts.authority_len, out->host, sizeof(out->host), &out->host_len)) != 0)
        goto Error;

    rc = CORE_ERR_INVALID;
    if (!append(out->canonical, cap, &total, "https://", 8) ||
        !append(out->canonical, cap, &total, out->host, out->host_len))
        goto Error;
    n = canon_path(parts.path, parts.path_len, buf);
    if (!append(out->canonical, cap, &total, buf, n))
        goto Error;
    if (parts.has_query) {
        n = canon_query(parts.query, parts.query_len, buf);
        if (n != 0 && (!append(out->canonical, cap, &total, "?", 1) || !append(out->canonical, cap, &total, buf, n)))
            goto Error;
    }
    out->canonical[total] = '\0';
    out->canonical_len = total;
    return 0;

Error:
    out->canonical[0] = '\0';
    out->canonical_len = 0;
    out->host[0] = '\0';
    out->host_len = 0;
    return rc;
}

int core_url_origin_host(const char *origin, size_t len, char *host, size_t *host_len)
{
    struct st_url_parts_t parts;
    size_t n = 0;
    int rc;

    host[0] = '\0';
    if (host_len != NULL)
        *host_len = 0;
    if ((rc = split_url(origin, len, &parts)) != 0)
        return rc;
    /* An origin has no path; a lone "/" is tolerated because people paste "https://example.com/" into configs. */
    if (parts.has_query || parts.has_fragment || parts.path_len > 1)
        return CORE_ERR_INVALID;
    if ((rc = canon_authority(parts.authority, parts.authority_len, host, sizeof(((core_url_t *)NULL)->host), &n)) !=
        0) {
        host[0] = '\0';
        return rc;
    }
    if (host_len != NULL)
        *host_len = n;
    return 0;
}
