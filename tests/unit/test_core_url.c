/* Unit tests for core_url (src/core/core_url.h). Most cases are rows of one table, input -> canonical form or NULL
 * for "refused"; each row runs as its own cmocka test so a failure names the rule that broke. Every accepted row is
 * also fed back in to check that the canonical form is a fixed point, and its host field is checked against the
 * canonical string. The remaining tests cover what a table row cannot express: lengths, buffers that are not
 * NUL-terminated, the host field on its own, and core_url_origin_host. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "core/core_error.h"
#include "core/core_url.h"

struct st_case_t {
    const char *name;
    const char *in;
    size_t len;       /* 0: strlen(in); set for inputs with an embedded NUL or a LEN shorter than the string */
    const char *want; /* NULL: must be refused with CORE_ERR_INVALID */
};

#define LABEL64 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

static const struct st_case_t cases[] = {
    /* scheme and host case */
    {"https kept", "https://example.com/a", 0, "https://example.com/a"},
    {"http folds to https", "http://example.com/a", 0, "https://example.com/a"},
    {"scheme lower-cased", "HTTP://example.com/", 0, "https://example.com/"},
    {"host lower-cased, path case kept", "https://ExAmPlE.CoM/Path/To", 0, "https://example.com/Path/To"},
    {"empty path is the root", "https://example.com", 0, "https://example.com/"},
    {"query without a path", "https://example.com?b=1", 0, "https://example.com/?b=1"},
    {"IPv4 host", "http://127.0.0.1:8080/x", 0, "https://127.0.0.1:8080/x"},
    {"underscore in a label", "https://my_host.example.com/", 0, "https://my_host.example.com/"},

    /* www. and the trailing dot */
    {"www. dropped", "https://www.example.com/", 0, "https://example.com/"},
    {"WWW. dropped whatever its case", "https://WWW.Example.com/x", 0, "https://example.com/x"},
    {"www.www. kept so the form is a fixed point", "https://www.www.example.com/", 0, "https://www.www.example.com/"},
    {"www.<tld> kept", "http://www.com/", 0, "https://www.com/"},
    {"www inside the name kept", "https://blog.www.example.com/", 0, "https://blog.www.example.com/"},
    {"wwwx. is not www.", "https://wwwx.example.com/", 0, "https://wwwx.example.com/"},
    {"trailing dot dropped", "https://example.com./a", 0, "https://example.com/a"},
    {"www., trailing dot and port together", "http://www.example.com.:80/", 0, "https://example.com/"},
    {"two trailing dots refused", "https://example.com../", 0, NULL},
    {"empty label refused", "http://a..b/", 0, NULL},
    {"leading dot refused", "http://.example.com/", 0, NULL},
    {"host of a single dot refused", "http://./", 0, NULL},
    {"64-byte label refused", "http://" LABEL64 ".com/", 0, NULL},

    /* ports */
    {":80 dropped", "http://example.com:80/a", 0, "https://example.com/a"},
    {":443 dropped", "https://example.com:443/a", 0, "https://example.com/a"},
    {":443 on http dropped (schemes fold)", "http://example.com:443/", 0, "https://example.com/"},
    {":80 on https dropped (schemes fold)", "https://example.com:80/", 0, "https://example.com/"},
    {"other port kept", "https://example.com:8080/a", 0, "https://example.com:8080/a"},
    {"leading zeros in port", "http://example.com:0080/", 0, "https://example.com/"},
    {"leading zeros in a kept port", "http://example.com:08080/", 0, "https://example.com:8080/"},
    {"empty port is the default", "http://example.com:/", 0, "https://example.com/"},
    {"port 65535 kept", "http://example.com:65535/", 0, "https://example.com:65535/"},
    {"port 0 refused", "http://example.com:0/", 0, NULL},
    {"port 65536 refused", "http://example.com:65536/", 0, NULL},
    {"huge port refused", "http://example.com:99999999999999999999/", 0, NULL},
    {"port abc refused", "http://example.com:abc/", 0, NULL},
    {"negative port refused", "http://example.com:-1/", 0, NULL},
    {"port with sign refused", "http://example.com:+80/", 0, NULL},
    {"two ports refused", "http://example.com:80:80/", 0, NULL},
    {"port without host refused", "http://:8080/", 0, NULL},

    /* internationalised hosts */
    {"IDN host to A-label", "http://Bücher.example/", 0, "https://xn--bcher-kva.example/"},
    {"upper-case A-label lower-cased", "http://XN--BCHER-KVA.example/", 0, "https://xn--bcher-kva.example/"},
    {"upper-case U-label mapped", "http://BÜCHER.EXAMPLE/x", 0, "https://xn--bcher-kva.example/x"},
    {"www. dropped after IDNA", "https://www.bücher.example/", 0, "https://xn--bcher-kva.example/"},
    {"ideographic full stop is a dot",
     "http://b\xC3\xBC\xE3\x80\x82"
     "example/",
     0, "https://xn--b-eha.example/"},
    {"sharp s kept (non-transitional)",
     "https://stra\xC3\x9F"
     "e.de/",
     0, "https://xn--strae-oqa.de/"},
    {"ZWJ host falls back to transitional",
     "https://a\xE2\x80\x8D"
     "b.de/",
     0, "https://ab.de/"},
    {"IDN with port", "http://bücher.example:8443/", 0, "https://xn--bcher-kva.example:8443/"},
    {"invalid UTF-8 host refused",
     "http://b\xFC"
     "cher.example/",
     0, NULL},
    {"IDNA mapping to '/' refused", "http://\xE2\x84\x80.example/", 0, NULL},
    {"percent in host refused", "http://ex%61mple.com/", 0, NULL},

    /* IPv6 literals: accepted, re-printed in RFC 5952 form */
    {"IPv6 lower-cased", "http://[2001:DB8::1]/", 0, "https://[2001:db8::1]/"},
    {"IPv6 compressed, port kept", "http://[2001:db8:0:0:0:0:0:1]:8080/a", 0, "https://[2001:db8::1]:8080/a"},
    {"IPv6 default port dropped", "https://[::1]:443", 0, "https://[::1]/"},
    {"IPv6 zone id refused", "http://[fe80::1%25eth0]/", 0, NULL},
    {"IPv6 without closing bracket refused", "http://[::1/", 0, NULL},
    {"IPv6 junk after bracket refused", "http://[::1]x/", 0, NULL},
    {"IPv6 empty brackets refused", "http://[]/", 0, NULL},
    {"IPv6 not an address refused", "http://[example.com]/", 0, NULL},
    {"bracket inside a name refused", "http://ex[1]ample.com/", 0, NULL},

    /* fragments */
    {"fragment dropped", "https://example.com/a#top", 0, "https://example.com/a"},
    {"fragment after query dropped", "https://example.com/a?b=1#x?c=2", 0, "https://example.com/a?b=1"},
    {"fragment without path", "https://example.com#x", 0, "https://example.com/"},
    {"empty fragment", "https://example.com/a#", 0, "https://example.com/a"},

    /* trailing slash */
    {"trailing slash dropped", "https://example.com/a/", 0, "https://example.com/a"},
    {"all trailing slashes dropped", "https://example.com/a//", 0, "https://example.com/a"},
    {"root slash kept", "https://example.com/", 0, "https://example.com/"},
    {"root of slashes is the root", "https://example.com///", 0, "https://example.com/"},
    {"trailing slash before query", "https://example.com/a/?x=1", 0, "https://example.com/a?x=1"},
    {"inner double slash kept", "https://example.com/a//b", 0, "https://example.com/a//b"},

    /* percent-encoding */
    {"%7e decoded to ~", "https://example.com/%7euser", 0, "https://example.com/~user"},
    {"%2f stays %2F", "https://example.com/a%2fb", 0, "https://example.com/a%2Fb"},
    {"hex upper-cased", "https://example.com/%c3%a9", 0, "https://example.com/%C3%A9"},
    {"raw UTF-8 path encoded", "https://example.com/caf\xC3\xA9", 0, "https://example.com/caf%C3%A9"},
    {"encoded letters decoded", "https://example.com/%41%62%2D%5F%2e", 0, "https://example.com/Ab-_."},
    {"stray % encoded", "https://example.com/100%", 0, "https://example.com/100%25"},
    {"% with bad hex encoded", "https://example.com/%zz%4", 0, "https://example.com/%25zz%254"},
    {"unsafe ASCII encoded", "https://example.com/a<b>\"c|d\\e^f`g{h}", 0,
     "https://example.com/a%3Cb%3E%22c%7Cd%5Ce%5Ef%60g%7Bh%7D"},
    {"brackets in path encoded", "https://example.com/[x]", 0, "https://example.com/%5Bx%5D"},
    {"sub-delims kept raw", "https://example.com/a!$&'()*+,;=:@b", 0, "https://example.com/a!$&'()*+,;=:@b"},
    {"query percent-encoding normalised", "https://example.com/?q=%e2%82%ac&x=%7E&r=\xC3\xA9", 0,
     "https://example.com/?q=%E2%82%AC&r=%C3%A9&x=~"},
    {"%00 stays encoded", "https://example.com/a%00", 0, "https://example.com/a%00"},

    /* dot-segments (RFC 3986 5.2.4) */
    {"dot-dot resolved", "https://example.com/a/b/../c", 0, "https://example.com/a/c"},
    {"dot resolved", "https://example.com/a/./b", 0, "https://example.com/a/b"},
    {"dot-dot above root", "https://example.com/../../a", 0, "https://example.com/a"},
    {"encoded dot-dot resolved", "https://example.com/a/%2E%2e/b", 0, "https://example.com/b"},
    {"final dot-dot", "https://example.com/a/b/..", 0, "https://example.com/a"},
    {"final dot", "https://example.com/a/.", 0, "https://example.com/a"},
    {"three dots are a name", "https://example.com/a/.../b", 0, "https://example.com/a/.../b"},
    {"..b is a name", "https://example.com/a/..b/.c", 0, "https://example.com/a/..b/.c"},
    {"dot-dot pops an empty segment", "https://example.com/a//../b", 0, "https://example.com/a/b"},
    {"dot-dot with encoded slash is a name", "https://example.com/a/..%2Fb", 0, "https://example.com/a/..%2Fb"},

    /* query sorting and empty queries */
    {"params sorted by name", "https://example.com/?b=2&a=1", 0, "https://example.com/?a=1&b=2"},
    {"same name sorted by value", "https://example.com/?a=2&a=1&a=10", 0, "https://example.com/?a=1&a=10&a=2"},
    {"name compared before value", "https://example.com/?a-b=1&a=2", 0, "https://example.com/?a=2&a-b=1"},
    {"bare name before empty value", "https://example.com/?a=&a", 0, "https://example.com/?a&a="},
    {"bytes compared case-sensitively", "https://example.com/?%C3%A9=1&z=1&Z=1", 0,
     "https://example.com/?%C3%A9=1&Z=1&z=1"},
    {"empty query dropped", "https://example.com/a?", 0, "https://example.com/a"},
    {"empty params dropped", "https://example.com/?&&b=1&&a", 0, "https://example.com/?a&b=1"},
    {"only ampersands dropped", "https://example.com/?&&&", 0, "https://example.com/"},
    {"encoded & and = stay", "https://example.com/?a=1%262%3D3&b", 0, "https://example.com/?a=1%262%3D3&b"},
    {"plus kept", "https://example.com/?q=a+b", 0, "https://example.com/?q=a+b"},
    {"question mark inside query kept", "https://example.com/?next=/a?b", 0, "https://example.com/?next=/a?b"},
    {"equals inside value kept", "https://example.com/?a=b=c", 0, "https://example.com/?a=b=c"},

    /* tracking parameters */
    {"utm_* dropped", "https://example.com/p?utm_source=x&utm_medium=y&id=5&utm_campaign=z", 0,
     "https://example.com/p?id=5"},
    {"UTM_* dropped whatever its case", "https://example.com/p?UTM_Campaign=x&Utm_Term=y&id=5", 0,
     "https://example.com/p?id=5"},
    {"click ids dropped", "https://example.com/p?fbclid=1&gclid=2&dclid=3&msclkid=4&k=v", 0,
     "https://example.com/p?k=v"},
    {"other trackers dropped",
     "https://example.com/p?mc_cid=1&mc_eid=2&_ga=3&_gl=4&igshid=5&yclid=6&twclid=7&ref_src=8&k", 0,
     "https://example.com/p?k"},
    {"tracker names ignore case", "https://example.com/p?FBCLID=1&GcLiD=2&k", 0, "https://example.com/p?k"},
    {"tracker without value dropped", "https://example.com/p?fbclid&k", 0, "https://example.com/p?k"},
    {"only trackers leaves no query", "https://example.com/a?utm_source=x&fbclid=y", 0, "https://example.com/a"},
    {"percent-encoded tracker dropped", "https://example.com/a?utm%5Fsource=x&%66bclid=y&k", 0,
     "https://example.com/a?k"},
    {"similar names kept", "https://example.com/?fbclid2=1&ref=home&utm=x&mc_x=1", 0,
     "https://example.com/?fbclid2=1&mc_x=1&ref=home&utm=x"},
    {"tracker name in a value kept", "https://example.com/?q=utm_source", 0, "https://example.com/?q=utm_source"},

    /* garbage */
    {"empty input refused", "", 0, NULL},
    {"ftp refused", "ftp://x", 0, NULL},
    {"scheme only refused", "http://", 0, NULL},
    {"https scheme only refused", "https://", 0, NULL},
    {"space refused", "http://a b", 0, NULL},
    {"space in path refused", "http://example.com/a b", 0, NULL},
    {"javascript refused", "javascript:alert(1)", 0, NULL},
    {"data refused", "data:text/html,hi", 0, NULL},
    {"userinfo refused", "http://user@example.com/", 0, NULL},
    {"user and password refused", "https://user:pass@example.com/", 0, NULL},
    {"empty userinfo refused", "http://@example.com/", 0, NULL},
    {"userinfo disguise refused", "http://example.com:443@evil.com/", 0, NULL},
    {"backslash in authority refused", "http://evil.com\\@good.com/", 0, NULL},
    {"missing slashes refused", "http:example.com", 0, NULL},
    {"one slash refused", "http:/example.com", 0, NULL},
    {"relative reference refused", "//example.com/", 0, NULL},
    {"empty host with path refused", "https:///a", 0, NULL},
    {"empty host with query refused", "https://?a", 0, NULL},
    {"tab refused", "http://example.com/a\tb", 0, NULL},
    {"newline in fragment refused", "http://example.com/a#x\ny", 0, NULL},
    {"DEL refused", "http://example.com/a\x7f", 0, NULL},
    {"leading space refused", " http://example.com/", 0, NULL},
    {"trailing newline refused", "http://example.com/\n", 0, NULL},
    {"prefix of a scheme refused", "http:/", 0, NULL},
    {"httpx refused", "httpx://example.com/", 0, NULL},
    {"embedded NUL in path refused", "http://example.com/a\0b", 22, NULL},
    {"embedded NUL in host refused", "http://exa\0mple.com/", 20, NULL},
    {"LEN shorter than the string", "http://example.com/abc", 20, "https://example.com/a"},
    {"LEN cuts the fragment off", "http://example.com/a#frag", 20, "https://example.com/a"},
};

#define NCASES (sizeof(cases) / sizeof(cases[0]))

static size_t case_len(const struct st_case_t *c)
{
    return c->len != 0 ? c->len : strlen(c->in);
}

/* Checks the invariants every accepted result must satisfy, whatever the input was. */
static void check_invariants(const core_url_t *u)
{
    assert_int_equal(u->canonical_len, strlen(u->canonical));
    assert_true(u->canonical_len <= CORE_URL_MAX_INPUT);
    assert_int_equal(u->host_len, strlen(u->host));
    assert_memory_equal(u->canonical, "https://", 8);
    assert_memory_equal(u->canonical + 8, u->host, u->host_len);
    assert_int_equal(u->canonical[8 + u->host_len], '/');

    core_url_t again;
    assert_int_equal(core_url_canonicalize(u->canonical, u->canonical_len, &again), 0);
    assert_string_equal(again.canonical, u->canonical);
    assert_string_equal(again.host, u->host);
}

static void test_case(void **state)
{
    const struct st_case_t *c = *state;
    core_url_t u;
    int rc = core_url_canonicalize(c->in, case_len(c), &u);

    if (c->want == NULL) {
        assert_int_equal(rc, CORE_ERR_INVALID);
        assert_string_equal(u.canonical, "");
        assert_int_equal(u.canonical_len, 0);
        assert_int_equal(u.host_len, 0);
        return;
    }
    assert_int_equal(rc, 0);
    assert_string_equal(u.canonical, c->want);
    check_invariants(&u);
}

/* A 63-byte label is the DNS maximum and must pass (the table checks 64 fails). */
static void test_label_limit(void **state)
{
    static const char in[] = "http://" LABEL64 ".com/";
    char buf[sizeof(in)];
    core_url_t u;

    /* Drop one 'a' from the label. */
    memcpy(buf, in, 7);
    memcpy(buf + 7, in + 8, sizeof(in) - 8);
    assert_int_equal(core_url_canonicalize(buf, strlen(buf), &u), 0);
    assert_int_equal(u.host_len, 63 + 4);
    check_invariants(&u);
}

/* Host names of at most 253 bytes; 254 refused. */
static void test_host_name_limit(void **state)
{
    char in[300];
    core_url_t u;
    size_t n = 0;

    memcpy(in, "http://", 7);
    n = 7;
    /* 4 labels of 62 + 3 dots = 251, then ".a" = 253. */
    for (int i = 0; i < 4; ++i) {
        if (i != 0)
            in[n++] = '.';
        memset(in + n, 'b', 62);
        n += 62;
    }
    memcpy(in + n, ".a", 2);
    n += 2;
    assert_int_equal(core_url_canonicalize(in, n, &u), 0);
    assert_int_equal(u.host_len, 253);
    check_invariants(&u);

    in[n++] = 'a';
    assert_int_equal(core_url_canonicalize(in, n, &u), CORE_ERR_INVALID);
}

/* CORE_URL_MAX_INPUT bytes pass, one more is refused before anything is parsed. */
static void test_input_length(void **state)
{
    static const char prefix[] = "https://example.com/";
    char in[CORE_URL_MAX_INPUT + 1];
    core_url_t u;

    memcpy(in, prefix, sizeof(prefix) - 1);
    memset(in + sizeof(prefix) - 1, 'a', sizeof(in) - (sizeof(prefix) - 1));
    assert_int_equal(core_url_canonicalize(in, CORE_URL_MAX_INPUT, &u), 0);
    assert_int_equal(u.canonical_len, CORE_URL_MAX_INPUT);
    check_invariants(&u);
    assert_int_equal(core_url_canonicalize(in, CORE_URL_MAX_INPUT + 1, &u), CORE_ERR_INVALID);
    assert_int_equal(u.canonical_len, 0);
}

/* The canonical form is capped at CORE_URL_MAX_INPUT bytes too, so it can always be canonicalised again: an input
 * whose encoded form would be longer is refused even though the input itself is short enough. */
static void test_output_length(void **state)
{
    static const char prefix[] = "https://example.com/";
    char in[CORE_URL_MAX_INPUT];
    core_url_t u;
    size_t n = sizeof(prefix) - 1;

    memcpy(in, prefix, n);
    for (int i = 0; i < 338; ++i) { /* 338 "é" = 676 raw bytes, 2028 encoded: 2048 in all */
        in[n++] = '\xC3';
        in[n++] = '\xA9';
    }
    assert_int_equal(core_url_canonicalize(in, n, &u), 0);
    assert_int_equal(u.canonical_len, CORE_URL_MAX_INPUT);
    check_invariants(&u);

    in[n++] = 'x';
    assert_int_equal(core_url_canonicalize(in, n, &u), CORE_ERR_INVALID);

    /* "http://" gains one byte by becoming "https://". */
    memcpy(in, "http://example.com/", 19);
    memset(in + 19, 'a', CORE_URL_MAX_INPUT - 19);
    assert_int_equal(core_url_canonicalize(in, CORE_URL_MAX_INPUT - 1, &u), 0);
    assert_int_equal(u.canonical_len, CORE_URL_MAX_INPUT);
    assert_int_equal(core_url_canonicalize(in, CORE_URL_MAX_INPUT, &u), CORE_ERR_INVALID);
}

/* The input is read through exactly LEN bytes of a heap block, so AddressSanitizer reports any read past LEN. */
static void test_not_nul_terminated(void **state)
{
    static const char *const inputs[] = {"http://example.com/a/b?z=1&a=2#f",
                                         "http://example.com",
                                         "http://[::1]",
                                         "http://example.com:",
                                         "http://example.com/%",
                                         "http://example.com/%4",
                                         "http://bücher.example",
                                         "http://www.",
                                         "https://example.com/?utm_source"};
    core_url_t u;
    char host[sizeof(u.host)];

    for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); ++i) {
        size_t n = strlen(inputs[i]);
        char *copy = malloc(n);
        assert_non_null(copy);
        memcpy(copy, inputs[i], n);
        (void)core_url_canonicalize(copy, n, &u);
        (void)core_url_origin_host(copy, n, host, NULL);
        free(copy);
    }
}

/* Reordering the parameters never changes the result: the order is total, so it cannot depend on the input. */
static void test_query_order_independent(void **state)
{
    static const char *const inputs[] = {
        "https://example.com/?b=1&a=2&a=1&a&c=&utm_x=1",
        "https://example.com/?a&utm_x=1&c=&a=1&b=1&a=2",
        "https://example.com/?c=&a=2&b=1&a&a=1",
        "https://example.com/?a=1&a=2&a&b=1&c=",
    };
    core_url_t u;

    for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); ++i) {
        assert_int_equal(core_url_canonicalize(inputs[i], strlen(inputs[i]), &u), 0);
        assert_string_equal(u.canonical, "https://example.com/?a&a=1&a=2&b=1&c=");
    }
}

/* Every tracking parameter named in the header, upper- and lower-case. */
static void test_tracking_params(void **state)
{
    static const char *const names[] = {
        "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "utm_",   "fbclid", "gclid",  "dclid",
        "msclkid",    "mc_cid",     "mc_eid",       "_ga",      "_gl",         "igshid", "yclid",  "twclid", "ref_src"};
    core_url_t u;

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); ++i) {
        for (int upper = 0; upper < 2; ++upper) {
            char in[128];
            size_t n = 0, len = strlen(names[i]);
            memcpy(in, "https://example.com/p?k=v&", 26);
            n = 26;
            for (size_t j = 0; j < len; ++j) {
                char c = names[i][j];
                in[n++] = upper && c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
            }
            memcpy(in + n, "=1", 2);
            n += 2;
            assert_int_equal(core_url_canonicalize(in, n, &u), 0);
            assert_string_equal(u.canonical, "https://example.com/p?k=v");
        }
    }
}

static void test_host_field(void **state)
{
    core_url_t u;

    assert_int_equal(core_url_canonicalize("http://www.Example.com:8080/x?a=1", 33, &u), 0);
    assert_string_equal(u.host, "example.com:8080");
    assert_int_equal(u.host_len, 16);

    assert_int_equal(core_url_canonicalize("https://WWW.example.com:443", 27, &u), 0);
    assert_string_equal(u.host, "example.com");
    assert_int_equal(u.host_len, 11);

    assert_int_equal(core_url_canonicalize("http://[::FFFF:1.2.3.4]:81/", 27, &u), 0);
    assert_string_equal(u.host, "[::ffff:1.2.3.4]:81");
    assert_string_equal(u.canonical, "https://[::ffff:1.2.3.4]:81/");
}

struct st_origin_case_t {
    const char *in;
    const char *want;
};

static void test_origin_host(void **state)
{
    static const struct st_origin_case_t origins[] = {
        {"https://www.Example.com:443", "example.com"},
        {"http://example.com", "example.com"},
        {"http://example.com:80", "example.com"},
        {"https://example.com:8443", "example.com:8443"},
        {"https://example.com/", "example.com"},
        {"https://example.com.", "example.com"},
        {"https://Bücher.example", "xn--bcher-kva.example"},
        {"http://[::1]:8080", "[::1]:8080"},
        {"https://example.com/x", NULL},
        {"https://example.com//", NULL},
        {"https://example.com?x", NULL},
        {"https://example.com?", NULL},
        {"https://example.com#x", NULL},
        {"https://user@example.com", NULL},
        {"https://example.com:0", NULL},
        {"null", NULL},
        {"", NULL},
        {"example.com", NULL},
        {"ftp://example.com", NULL},
    };

    for (size_t i = 0; i < sizeof(origins) / sizeof(origins[0]); ++i) {
        core_url_t u;
        char host[sizeof(u.host)];
        size_t host_len = 99;
        int rc = core_url_origin_host(origins[i].in, strlen(origins[i].in), host, &host_len);
        if (origins[i].want == NULL) {
            assert_int_equal(rc, CORE_ERR_INVALID);
            assert_string_equal(host, "");
            assert_int_equal(host_len, 0);
            continue;
        }
        assert_int_equal(rc, 0);
        assert_string_equal(host, origins[i].want);
        assert_int_equal(host_len, strlen(origins[i].want));
    }
}

/* What the API does with it: a page URL belongs to a site when the hosts compare equal. */
static void test_origin_matches_url_host(void **state)
{
    core_url_t u;
    char host[sizeof(u.host)];

    assert_int_equal(core_url_origin_host("https://www.Example.com:443", 27, host, NULL), 0);
    assert_int_equal(core_url_canonicalize("http://example.com/blog/post/?utm_source=x", 42, &u), 0);
    assert_string_equal(host, u.host);

    assert_int_equal(core_url_origin_host("https://example.com:8443", 24, host, NULL), 0);
    assert_int_equal(core_url_canonicalize("https://example.com/blog/post", 29, &u), 0);
    assert_string_not_equal(host, u.host);
}

int main(void)
{
    static struct CMUnitTest table[NCASES];
    for (size_t i = 0; i < NCASES; ++i) {
        table[i] = (struct CMUnitTest){cases[i].name, test_case, NULL, NULL, (void *)&cases[i]};
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_label_limit),        cmocka_unit_test(test_host_name_limit),
        cmocka_unit_test(test_input_length),       cmocka_unit_test(test_output_length),
        cmocka_unit_test(test_not_nul_terminated), cmocka_unit_test(test_query_order_independent),
        cmocka_unit_test(test_tracking_params),    cmocka_unit_test(test_host_field),
        cmocka_unit_test(test_origin_host),        cmocka_unit_test(test_origin_matches_url_host),
    };
    int failed = cmocka_run_group_tests_name("core_url table", table, NULL, NULL);
    failed += cmocka_run_group_tests_name("core_url", tests, NULL, NULL);
    return failed != 0;
}
