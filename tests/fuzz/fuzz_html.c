/* libFuzzer target for core_html_sanitize, core_html_count_links, core_html_count_sanitized_links and
 * core_html_escape.
 *
 * Besides "no crash, no sanitizer report", every input is sanitised and the output is re-parsed with gumbo the way
 * a browser parses innerHTML (a fragment in a <div>). The result must hold only whitelisted elements (HTML
 * namespace) and their whitelisted attributes, href and cite only with http, https or mailto, rel="nofollow ugc
 * noopener" on every a, no comment, CDATA or template node, no raw newline in text, and it must be the tree the
 * sanitiser wrote: no element inserted, cloned, moved or implicitly closed by the parser, no a inside an a, no p or
 * blockquote inside a p or an inline element, no text outside a p. Sanitising the output again must give the same
 * bytes, the plain-text shortcut must give the parser path's bytes, core_html_count_links must count exactly the a tags
 * that carry an href, and core_html_escape must leave no markup character unescaped. Any violation aborts, which
 * libFuzzer reports as a crash with the input saved. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <gumbo.h>
#include "core/core_html.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Written on every run so the compiler cannot drop the calls or the results. */
static volatile size_t sink;

#include "../common/html_oracle.h"

/* Re-parses sanitised HTML and aborts unless the shared oracle accepts it; returns the number of links found. */
static size_t checked(const char *html, size_t len)
{
    size_t links;
    if (check_html(html, len, &links) != NULL)
        abort();
    return links;
}

static size_t count_substr(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(hay, needle); p != NULL; p = strstr(p + 1, needle))
        n++;
    return n;
}

static void check_escape(const char *in, size_t size)
{
    size_t need = core_html_escape(in, size, NULL, 0);
    char *buf = malloc(need + 1);
    if (buf == NULL)
        abort();
    if (core_html_escape(in, size, buf, need + 1) != need)
        abort();
    for (size_t i = 0; i < need; i++) {
        if (buf[i] == '<' || buf[i] == '>' || buf[i] == '"' || buf[i] == '\'')
            abort();
        if (buf[i] == '&' && strncmp(buf + i, "&amp;", 5) != 0 && strncmp(buf + i, "&lt;", 4) != 0 &&
            strncmp(buf + i, "&gt;", 4) != 0 && strncmp(buf + i, "&quot;", 6) != 0 && strncmp(buf + i, "&#39;", 5) != 0)
            abort();
    }
    /* A short buffer gets a NUL-terminated prefix of the full result. */
    char small[8];
    if (core_html_escape(in, size, small, sizeof(small)) != need)
        abort();
    size_t small_len = strnlen(small, sizeof(small));
    if (small_len >= sizeof(small) || memcmp(small, buf, small_len) != 0)
        abort();
    sink += need;
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A heap copy of exactly SIZE bytes, without a NUL, so AddressSanitizer catches any read past LEN. */
    char *in = malloc(size != 0 ? size : 1);
    if (in == NULL)
        abort();
    if (size != 0)
        memcpy(in, data, size);

    size_t out_len = 0, again_len = 0;
    char *out = core_html_sanitize(in, size, &out_len);
    if (out == NULL || strlen(out) != out_len)
        abort();
    size_t links = checked(out, out_len);
    if (links != count_substr(out, "<a href=\"") || core_html_count_links(out, out_len) != links ||
        core_html_count_sanitized_links(out, out_len) != links)
        abort();

    /* The plain-text shortcut gives exactly what the parser's path gives. */
    size_t parsed_len = 0;
    char *parsed = core_html_sanitize_parsed(in, size, &parsed_len);
    if (parsed_len != out_len || memcmp(parsed, out, out_len) != 0)
        abort();
    free(parsed);

    char *again = core_html_sanitize(out, out_len, &again_len);
    if (again_len != out_len || memcmp(again, out, out_len) != 0)
        abort();

    check_escape(in, size);
    sink += core_html_count_links(in, size); /* arbitrary HTML too: no crash, no hang */
    sink += links;
    free(again);
    free(out);
    free(in);
    return 0;
}
