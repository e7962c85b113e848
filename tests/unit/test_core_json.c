/* JSON helpers: what a request body may be, and how fields are read and bounded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <stdlib.h>
#include <cmocka.h>
#include "core/core_error.h"
#include "core/core_json.h"

static json_t *parse_ok(const char *s)
{
    core_json_err_t err;
    json_t *o = NULL;
    assert_int_equal(core_json_parse_object(s, strlen(s), &o, &err), 0);
    assert_non_null(o);
    return o;
}

static void parse_bad(const char *s, size_t len)
{
    core_json_err_t err;
    json_t *o = (json_t *)1;
    assert_int_equal(core_json_parse_object(s, len, &o, &err), CORE_ERR_BAD_JSON);
    assert_null(o);
    assert_int_equal(err.code, CORE_ERR_BAD_JSON);
    assert_true(strlen(err.message) > 0);
}

static void test_parse_rejects(void **state)
{
    parse_bad(NULL, 0);
    parse_bad("", 0);
    parse_bad("{", 1);
    parse_bad("[]", 2);
    parse_bad("\"str\"", 5);
    parse_bad("42", 2);
    parse_bad("null", 4);
    parse_bad("{\"a\":1,\"a\":2}", 13);     /* duplicate keys */
    parse_bad("{\"a\":\"x\\u0000y\"}", 16); /* NUL inside a string */
    parse_bad("{\"a\":1} trailing", 16);
    parse_bad("{'a':1}", 7);
    parse_bad("{\"a\":\"\xff\xfe\"}", 10); /* invalid UTF-8 */
    char deep[200];
    size_t n = 0;
    deep[n++] = '{';
    deep[n++] = '"';
    deep[n++] = 'a';
    deep[n++] = '"';
    deep[n++] = ':';
    for (int i = 0; i < 40; ++i)
        deep[n++] = '[';
    for (int i = 0; i < 40; ++i)
        deep[n++] = ']';
    deep[n++] = '}';
    parse_bad(deep, n);
}

static void test_parse_accepts(void **state)
{
    json_t *o = parse_ok("{}");
    json_decref(o);
    o = parse_ok("  {\"site\":\"demo\",\"n\":[1,{\"x\":null}]}\n");
    json_decref(o);
}

static void test_get_string(void **state)
{
    json_t *o = parse_ok("{\"s\":\"h\\u00e9llo\",\"n\":1,\"z\":null}");
    core_json_err_t err;
    const char *s;
    size_t len;
    assert_int_equal(core_json_get_string(o, "s", true, 5, &s, &len, &err), 0);
    assert_string_equal(s, "h\xc3\xa9llo");
    assert_int_equal(len, 6); /* bytes */
    assert_int_equal(core_json_get_string(o, "s", true, 4, &s, &len, &err), CORE_ERR_INVALID);
    assert_string_equal(err.field, "s");
    assert_non_null(strstr(err.message, "4"));
    assert_int_equal(core_json_get_string(o, "n", true, 0, &s, &len, &err), CORE_ERR_INVALID);
    assert_string_equal(err.field, "n");
    assert_int_equal(core_json_get_string(o, "missing", true, 0, &s, &len, &err), CORE_ERR_INVALID);
    assert_string_equal(err.field, "missing");
    assert_int_equal(core_json_get_string(o, "missing", false, 0, &s, &len, &err), 0);
    assert_null(s);
    assert_int_equal(core_json_get_string(o, "z", false, 0, &s, &len, &err), 0);
    assert_null(s);
    assert_int_equal(core_json_get_string(o, "z", true, 0, &s, &len, &err), CORE_ERR_INVALID);
    json_decref(o);
}

static void test_get_int_bool(void **state)
{
    json_t *o = parse_ok("{\"v\":1,\"big\":99,\"f\":1.5,\"t\":true,\"s\":\"1\"}");
    core_json_err_t err;
    long long n;
    bool b;
    assert_int_equal(core_json_get_int(o, "v", true, -1, 1, 0, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(core_json_get_int(o, "big", true, -1, 1, 0, &n, &err), CORE_ERR_INVALID);
    assert_string_equal(err.field, "big");
    assert_int_equal(core_json_get_int(o, "f", true, -1, 1, 0, &n, &err), CORE_ERR_INVALID);
    assert_int_equal(core_json_get_int(o, "s", true, -1, 1, 0, &n, &err), CORE_ERR_INVALID);
    assert_int_equal(core_json_get_int(o, "none", false, -1, 1, 7, &n, &err), 0);
    assert_int_equal(n, 7);
    assert_int_equal(core_json_get_bool(o, "t", true, false, &b, &err), 0);
    assert_true(b);
    assert_int_equal(core_json_get_bool(o, "v", true, false, &b, &err), CORE_ERR_INVALID);
    assert_int_equal(core_json_get_bool(o, "none", false, true, &b, &err), 0);
    assert_true(b);
    assert_int_equal(core_json_get_bool(o, "none", true, true, &b, &err), CORE_ERR_INVALID);
    json_decref(o);
}

static void test_only_keys(void **state)
{
    static const char *const allowed[] = {"site", "url", NULL};
    core_json_err_t err;
    json_t *o = parse_ok("{\"site\":\"a\",\"url\":\"b\"}");
    assert_int_equal(core_json_only_keys(o, allowed, &err), 0);
    json_decref(o);
    o = parse_ok("{\"site\":\"a\",\"evil\":1}");
    assert_int_equal(core_json_only_keys(o, allowed, &err), CORE_ERR_INVALID);
    assert_string_equal(err.field, "evil");
    json_decref(o);
}

static void test_utf8_length(void **state)
{
    assert_int_equal(core_utf8_length("", 0), 0);
    assert_int_equal(core_utf8_length("abc", 3), 3);
    assert_int_equal(core_utf8_length("\xc3\xa9", 2), 1);
    assert_int_equal(core_utf8_length("\xf0\x9f\x98\x80x", 5), 2);
}

/* The hand-written writer must give jansson's own bytes: every value kind, every escape, nesting, key order. */
static void dump_same(json_t *v)
{
    size_t want_n = json_dumpb(v, NULL, 0, JSON_COMPACT | JSON_ENCODE_ANY);
    char *want = malloc(want_n + 1), *got = malloc(want_n + 16);
    json_dumpb(v, want, want_n, JSON_COMPACT | JSON_ENCODE_ANY);
    size_t n = core_json_dump_size(v);
    assert_int_equal(n, want_n);
    memset(got, 'X', want_n + 16);
    assert_int_equal(core_json_dump_write(v, got), n);
    assert_memory_equal(got, want, n);
    assert_int_equal(got[n], 'X'); /* not one byte more */
    free(want);
    free(got);
    json_decref(v);
}

static void test_dump_matches_jansson(void **state)
{
    (void)state;
    static const char *const texts[] = {
        "{}",
        "[]",
        "\"\"",
        "null",
        "true",
        "false",
        "0",
        "-9223372036854775808",
        "9223372036854775807",
        "1.5",
        "-0.0",
        "1e300",
        "1.2345678901234567e-300",
        "100000000000000000000.0",
        "3.0",
        "\"a\\\"b\\\\c\\/d\"",
        "\"\\b\\f\\n\\r\\t\\u0000\\u0001\\u001f\\u007f \\u2028\\u2029\"",
        "\"caf\u00e9 \u65e5\u672c \\ud83d\\ude00 e\u0301\"",
        "{\"z\":1,\"a\":[1,2,{\"k\\n\":null}],\"m\":{\"\":\"\"},\"\u00e9\":[[],{}]}",
        "[\"<script>\",\"</script>\",\"&amp;\",\"'\",\"\\u00ff\"]",
    };
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); ++i) {
        json_error_t e;
        json_t *v = json_loads(texts[i], JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
        if (v == NULL)
            fail_msg("fixture %zu does not parse: %s", i, e.text);
        dump_same(v);
    }
    /* Every byte value below 0x80 in one string, and a long string (runs between escapes). */
    char all[128];
    for (int i = 0; i < 127; ++i)
        all[i] = (char)(i + 1);
    all[127] = '\0';
    dump_same(json_string(all));
    char *big = malloc(20000);
    for (int i = 0; i < 19999; ++i)
        big[i] = "ab\"c\n\\d\x01"[i % 8];
    big[19999] = '\0';
    dump_same(json_pack("{s:s,s:I,s:b,s:n}", "body", big, "id", (json_int_t)42, "ok", 1, "none"));
    free(big);
}

/* Strings are scanned eight bytes at a time for what needs an escape: each such byte at every place of a word and
 * across words, between plain ASCII and between the bytes of multi-byte UTF-8 (0x80 and above, never escaped),
 * and 0x1f / 0x20 / 0x7f on either side of the control range. */
static void test_dump_escape_positions(void **state)
{
    static const char specials[] = {'"', '\\', '\n', '\t', 0x01, 0x1f, 0x20, 0x7f, '/'};
    static const char *const fills[] = {"a", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80"};
    char buf[200];
    for (size_t f = 0; f < sizeof(fills) / sizeof(fills[0]); ++f) {
        size_t fl = strlen(fills[f]);
        for (size_t units = 0; units <= 24; ++units) {
            for (size_t at = 0; at <= units; ++at) {
                for (size_t k = 0; k < sizeof(specials); ++k) {
                    size_t o = 0;
                    for (size_t u = 0; u < units; ++u) {
                        if (u == at)
                            buf[o++] = specials[k];
                        memcpy(buf + o, fills[f], fl);
                        o += fl;
                    }
                    if (at == units)
                        buf[o++] = specials[k];
                    json_t *v = json_stringn(buf, o);
                    if (v == NULL)
                        fail_msg("fixture not UTF-8 (fill %zu, %zu units)", f, units);
                    dump_same(v);
                }
            }
        }
    }
}

/* The one decimal writer for hot paths: every length of number, the ends of the range, no byte past the digits. */
static void test_u64_text(void **state)
{
    const uint64_t values[] = {0, 7, 9, 10, 99, 100, 12345, 4294967295u, 4294967296u, 18446744073709551615u};
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); ++i) {
        char want[32], got[32];
        int wl = snprintf(want, sizeof(want), "%llu", (unsigned long long)values[i]);
        memset(got, 'X', sizeof(got));
        assert_int_equal(core_u64_text(values[i], got), (size_t)wl);
        assert_memory_equal(got, want, (size_t)wl);
        assert_int_equal(got[wl], 'X');
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_rejects),
        cmocka_unit_test(test_parse_accepts),
        cmocka_unit_test(test_get_string),
        cmocka_unit_test(test_get_int_bool),
        cmocka_unit_test(test_only_keys),
        cmocka_unit_test(test_utf8_length),
        cmocka_unit_test(test_dump_matches_jansson),
        cmocka_unit_test(test_dump_escape_positions),
        cmocka_unit_test(test_u64_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
