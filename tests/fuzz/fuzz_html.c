/* libFuzzer target for core_html_sanitize, core_html_count_links and core_html_escape.
 *
 * Besides "no crash, no sanitizer report", every input is sanitised and the output is re-parsed with gumbo the way
 * a browser parses innerHTML (a fragment in a <div>). The result must hold only whitelisted elements (HTML
 * namespace) and their whitelisted attributes, href and cite only with http, https or mailto, rel="nofollow ugc
 * noopener" on every a, no comment, CDATA or template node, no raw newline in text, and it must be the tree the
 * sanitiser wrote: no element inserted, cloned, moved or implicitly closed by the parser, no a inside an a, no p or
 * blockquote inside a p or an inline element, no text outside a p. Sanitising the output again must give the same
 * bytes, core_html_count_links must count exactly the a tags that carry an href, and core_html_escape must leave
 * no markup character unescaped. Any violation aborts, which libFuzzer reports as a crash with the input saved. */
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

struct st_allowed_t {
    GumboTag tag;
    bool is_inline;
    const char *attrs[3];
};

static const struct st_allowed_t allowed[] = {
    {GUMBO_TAG_A, true, {"href", "title", "rel"}},
    {GUMBO_TAG_ABBR, true, {"title"}},
    {GUMBO_TAG_ACRONYM, true, {"title"}},
    {GUMBO_TAG_B, true, {NULL}},
    {GUMBO_TAG_BLOCKQUOTE, false, {"cite"}},
    {GUMBO_TAG_CITE, true, {NULL}},
    {GUMBO_TAG_CODE, true, {NULL}},
    {GUMBO_TAG_DEL, true, {"datetime"}},
    {GUMBO_TAG_EM, true, {NULL}},
    {GUMBO_TAG_I, true, {NULL}},
    {GUMBO_TAG_Q, true, {"cite"}},
    {GUMBO_TAG_S, true, {NULL}},
    {GUMBO_TAG_STRIKE, true, {NULL}},
    {GUMBO_TAG_STRONG, true, {NULL}},
    {GUMBO_TAG_P, false, {NULL}},
    {GUMBO_TAG_BR, true, {NULL}},
};

/* The scheme a browser would see: C0 controls and spaces trimmed, tabs and newlines removed. */
static bool url_scheme_ok(const char *v)
{
    char buf[16];
    size_t n = 0, len = strlen(v), i = 0;
    while (len > 0 && (unsigned char)v[len - 1] <= 0x20)
        len--;
    while (i < len && (unsigned char)v[i] <= 0x20)
        i++;
    for (; i < len && n < sizeof(buf) - 1; i++) {
        if (v[i] != '\t' && v[i] != '\n' && v[i] != '\r')
            buf[n++] = v[i];
    }
    buf[n] = '\0';
    return strncasecmp(buf, "http://", 7) == 0 || strncasecmp(buf, "https://", 8) == 0 ||
           strncasecmp(buf, "mailto:", 7) == 0;
}

static void check_node(const GumboNode *node, int depth, bool in_a, bool in_inline_or_p, size_t *links)
{
    if (depth > CORE_HTML_MAX_DEPTH + 2)
        abort();
    if (node->type == GUMBO_NODE_TEXT || node->type == GUMBO_NODE_WHITESPACE) {
        if (strchr(node->v.text.text, '\n') != NULL || !in_inline_or_p)
            abort();
        return;
    }
    if (node->type != GUMBO_NODE_ELEMENT)
        abort();

    const GumboElement *el = &node->v.element;
    const struct st_allowed_t *rule = NULL;
    for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
        if (allowed[i].tag == el->tag)
            rule = &allowed[i];
    }
    if (rule == NULL || el->tag_namespace != GUMBO_NAMESPACE_HTML)
        abort();
    unsigned flags = node->parse_flags;
    if (el->tag == GUMBO_TAG_BR)
        flags &= ~(unsigned)GUMBO_INSERTION_IMPLICIT_END_TAG;
    if (flags != GUMBO_INSERTION_NORMAL || el->original_tag.length == 0)
        abort();
    if ((!rule->is_inline && in_inline_or_p) || (el->tag == GUMBO_TAG_A && in_a))
        abort();

    for (size_t i = 0; i < el->attributes.length; i++) {
        const GumboAttribute *a = el->attributes.data[i];
        bool ok = false;
        for (size_t k = 0; k < 3 && rule->attrs[k] != NULL; k++)
            ok = ok || strcmp(a->name, rule->attrs[k]) == 0;
        if (!ok)
            abort();
        if ((strcmp(a->name, "href") == 0 || strcmp(a->name, "cite") == 0) && !url_scheme_ok(a->value))
            abort();
        if (strcmp(a->name, "datetime") == 0 && a->value[strspn(a->value, "0123456789-:TZ+.")] != '\0')
            abort();
        if (strcmp(a->name, "rel") == 0 && strcmp(a->value, "nofollow ugc noopener") != 0)
            abort();
        if (strcmp(a->name, "href") == 0)
            ++*links;
    }
    if (el->tag == GUMBO_TAG_A && gumbo_get_attribute(&el->attributes, "rel") == NULL)
        abort();

    for (size_t i = 0; i < el->children.length; i++)
        check_node(el->children.data[i], depth + 1, in_a || el->tag == GUMBO_TAG_A,
                   in_inline_or_p || el->tag == GUMBO_TAG_P || rule->is_inline, links);
}

/* Re-parses sanitised HTML as a browser would and checks it; returns the number of links found. */
static size_t check_html(const char *html, size_t len)
{
    GumboOptions opts = kGumboDefaultOptions;
    size_t links = 0;
    opts.fragment_context = GUMBO_TAG_DIV;
    opts.fragment_namespace = GUMBO_NAMESPACE_HTML;
    if (strlen(html) != len)
        abort();
    GumboOutput *out = gumbo_parse_with_options(&opts, html, len);
    const GumboVector *top = &out->root->v.element.children;
    for (size_t i = 0; i < top->length; i++)
        check_node(top->data[i], 1, false, false, &links);
    gumbo_destroy_output(&opts, out);
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
    size_t links = check_html(out, out_len);
    if (links != count_substr(out, "<a href=\"") || core_html_count_links(out, out_len) != links)
        abort();

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
