/* The start-up work of http_assets.c on a table of its own (this file defines http_assets, so the linker leaves
 * the generated table of src/widget out): content-hashed names, {{asset:NAME}} templating, {{site_origins}} kept
 * for the thread page only, every other placeholder refused with a message, and dispose restoring the table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>
#include "core/core_error.h"
#include "core/core_token.h"
#include "http/http.h"

#define ROWS 5

static const char js[] = "console.log(1);\n";
static const char css[] = "p{color:red}\n";
static const char sub[] = "x";
static char page[256];
static char thread[256];

http_asset_t http_assets[ROWS + 1] = {{"a.js", (const uint8_t *)js, sizeof(js) - 1},
                                      {"b.min.css", (const uint8_t *)css, sizeof(css) - 1},
                                      {"dir/c.js", (const uint8_t *)sub, sizeof(sub) - 1},
                                      {"embed/thread.html", (const uint8_t *)thread, 0},
                                      {"page.html", (const uint8_t *)page, 0},
                                      {NULL, NULL, 0}};
const size_t http_assets_count = ROWS;

static void set_html(char *buf, size_t row, const char *text)
{
    size_t n = strlen(text);
    assert_true(n < 256);
    memcpy(buf, text, n + 1);
    http_assets[row].len = n;
}

static void hash8(const char *data, size_t len, char out[9])
{
    uint8_t digest[CORE_SHA256_LEN];
    char hex[2 * CORE_SHA256_LEN + 1];
    core_sha256(data, len, digest);
    core_hex_encode(digest, CORE_SHA256_LEN, hex);
    memcpy(out, hex, 8);
    out[8] = '\0';
}

static void test_names_and_templating(void **state)
{
    char err[256] = "", h_js[9], h_css[9], want[512];
    set_html(thread, 3, "<html data-origins=\"{{site_origins}}\"><script src=\"{{asset:a.js}}\"></script>");
    set_html(page, 4, "<link href=\"{{asset:b.min.css}}\">{{asset:a.js}}");
    hash8(js, sizeof(js) - 1, h_js);
    hash8(css, sizeof(css) - 1, h_css);

    assert_int_equal(http_assets_init(err, sizeof(err)), 0);
    assert_string_equal(err, "");
    snprintf(want, sizeof(want), "a.%s.js", h_js);
    assert_string_equal(http_assets[0].hashed, want);
    snprintf(want, sizeof(want), "b.min.%s.css", h_css);
    assert_string_equal(http_assets[1].hashed, want);
    assert_null(http_assets[2].hashed); /* sub-directories are not under /assets/ */
    assert_null(http_assets[3].hashed); /* nor is HTML */
    assert_null(http_assets[4].hashed);
    /* The ETag and the hashed name come from the same digest. */
    assert_memory_equal(http_assets[0].etag + 1, h_js, 8);

    snprintf(want, sizeof(want), "<link href=\"/assets/b.min.%s.css\">/assets/a.%s.js", h_css, h_js);
    assert_int_equal(http_assets[4].len, strlen(want));
    assert_memory_equal(http_assets[4].data, want, strlen(want));
    assert_int_equal(http_assets[4].data[http_assets[4].len], '\0');
    snprintf(want, sizeof(want), "<html data-origins=\"{{site_origins}}\"><script src=\"/assets/a.%s.js\"></script>",
             h_js);
    assert_int_equal(http_assets[3].len, strlen(want));
    assert_memory_equal(http_assets[3].data, want, strlen(want));

    assert_int_equal(http_assets_init(err, sizeof(err)), 0); /* once only */
    http_assets_dispose();
    assert_ptr_equal(http_assets[4].data, (const uint8_t *)page);
    assert_int_equal(http_assets[4].len, strlen(page));
    assert_null(http_assets[0].hashed);
}

/* Each text in page.html (not the thread page) stops the start-up with a message naming the file. */
static void test_bad_placeholders(void **state)
{
    static const char *const bad[] = {
        "{{site_origins}}",           /* only the thread page has origins */
        "{{asset:nope.js}}",          /* no such file */
        "{{asset:page.html}}",        /* HTML has no immutable name */
        "{{asset:dir/c.js}}",         /* nor has a file in a sub-directory */
        "{{asset:}}",                 /* no name */
        "{{title}}",                  /* unknown */
        "{{ asset:a.js }}",           /* white space */
        "{{asset:a.js}",              /* unterminated */
        "text {{",                    /* a stray opening */
        "{{asset:a.js{{asset:a.js}}", /* nested */
    };
    set_html(thread, 3, "<html>");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); ++i) {
        char err[256] = "";
        set_html(page, 4, bad[i]);
        assert_int_equal(http_assets_init(err, sizeof(err)), CORE_ERR_INVALID);
        assert_non_null(strstr(err, "src/widget/page.html"));
        /* Nothing half-done is left behind, and the next try starts afresh. */
        assert_ptr_equal(http_assets[4].data, (const uint8_t *)page);
        assert_null(http_assets[0].hashed);
    }
    set_html(page, 4, "no placeholders, and a lone } or { is fine");
    char err[256] = "";
    assert_int_equal(http_assets_init(err, sizeof(err)), 0);
    assert_ptr_equal(http_assets[4].data, (const uint8_t *)page); /* nothing to template: the bytes stay static */
    http_assets_dispose();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_and_templating),
        cmocka_unit_test(test_bad_placeholders),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
