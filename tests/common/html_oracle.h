#ifndef PARLEY_TESTS_HTML_ORACLE_H
#define PARLEY_TESTS_HTML_ORACLE_H

/* The sanitiser's invariant, shared by tests/unit/test_core_html.c and tests/fuzz/fuzz_html.c so the two can never
 * disagree: the output, re-parsed with gumbo as a browser parses a <div>'s innerHTML, holds only whitelisted
 * elements and attributes, safe URL schemes, rel="nofollow ugc noopener" on every link, no comment or raw newline,
 * and a tree the parser did not have to repair (which is what makes the output a fixed point). Static functions in
 * a header: each test program includes it once. */

#include <stdbool.h>
#include <string.h>
#include <strings.h>
#include <gumbo.h>
#include "core/core_html.h"

struct st_allowed_t {
    GumboTag tag;
    bool inline_;
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

static bool contains_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay != '\0'; hay++) {
        if (strncasecmp(hay, needle, n) == 0)
            return true;
    }
    return false;
}

/* The scheme a browser would see: C0 controls and spaces trimmed, tabs and newlines removed. */
static bool url_scheme_ok(const char *v)
{
    char buf[64];
    size_t n = 0, len = strlen(v);
    while (len > 0 && (unsigned char)v[len - 1] <= 0x20)
        len--;
    size_t i = 0;
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

/* Returns NULL if the subtree under NODE (whose nearest kept ancestors are described by the flags) is safe and
 * canonical, else what is wrong. */
static const char *check_node(const GumboNode *node, int depth, bool in_a, bool in_inline_or_p, size_t *links)
{
    if (depth > CORE_HTML_MAX_DEPTH + 2)
        return "nested too deep";
    switch (node->type) {
    case GUMBO_NODE_TEXT:
    case GUMBO_NODE_WHITESPACE:
        if (!in_inline_or_p)
            return "text outside a paragraph";
        return strchr(node->v.text.text, '\n') != NULL ? "raw newline in text" : NULL;
    case GUMBO_NODE_ELEMENT:
        break;
    default:
        return "comment, CDATA, template or document node";
    }

    const GumboElement *el = &node->v.element;
    const struct st_allowed_t *rule = NULL;
    for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
        if (allowed[i].tag == el->tag)
            rule = &allowed[i];
    }
    if (rule == NULL || el->tag_namespace != GUMBO_NAMESPACE_HTML)
        return "element not in the whitelist";
    unsigned flags = node->parse_flags;
    if (el->tag == GUMBO_TAG_BR)
        flags &= ~(unsigned)GUMBO_INSERTION_IMPLICIT_END_TAG;
    if (flags != GUMBO_INSERTION_NORMAL || el->original_tag.length == 0)
        return "the parser changed the tree (inserted, cloned, moved or implicitly closed an element)";
    if (!rule->inline_ && in_inline_or_p)
        return "p or blockquote inside a p or an inline element";
    if (el->tag == GUMBO_TAG_A && in_a)
        return "a inside an a";

    for (size_t i = 0; i < el->attributes.length; i++) {
        const GumboAttribute *a = el->attributes.data[i];
        bool ok = false;
        for (size_t k = 0; k < 3 && rule->attrs[k] != NULL; k++)
            ok = ok || strcmp(a->name, rule->attrs[k]) == 0;
        if (!ok || strncasecmp(a->name, "on", 2) == 0)
            return "attribute not in the element's whitelist";
        if ((strcmp(a->name, "href") == 0 || strcmp(a->name, "cite") == 0) && !url_scheme_ok(a->value))
            return "href or cite that is not http, https or mailto";
        if (strcmp(a->name, "datetime") == 0 && a->value[strspn(a->value, "0123456789-:TZ+.")] != '\0')
            return "datetime with other characters";
        if (strcmp(a->name, "rel") == 0 && strcmp(a->value, "nofollow ugc noopener") != 0)
            return "rel other than nofollow ugc noopener";
        if (strcmp(a->name, "href") == 0)
            ++*links;
        /* title is free text by design (vectors put markup in it on purpose), and an http URL may well mention
         * "javascript:" in its query (its scheme is checked above); no other value may even mention script. */
        if (strcmp(a->name, "title") != 0 && strcmp(a->name, "href") != 0 && strcmp(a->name, "cite") != 0 &&
            (contains_ci(a->value, "javascript:") || contains_ci(a->value, "onerror=")))
            return "javascript: or onerror= inside an attribute";
    }
    if (el->tag == GUMBO_TAG_A && gumbo_get_attribute(&el->attributes, "rel") == NULL)
        return "a without rel";

    bool child_in_a = in_a || el->tag == GUMBO_TAG_A;
    bool child_inline = in_inline_or_p || el->tag == GUMBO_TAG_P || rule->inline_;
    for (size_t i = 0; i < el->children.length; i++) {
        const char *why = check_node(el->children.data[i], depth + 1, child_in_a, child_inline, links);
        if (why != NULL)
            return why;
    }
    return NULL;
}

/* Parses HTML as a browser parses innerHTML of a <div> and checks the result: NULL when safe and canonical, else
 * what is wrong. *LINKS (may be NULL) receives the number of a elements with an href. */
static const char *check_html(const char *html, size_t len, size_t *links_out)
{
    size_t links = 0;
    GumboOptions opts = kGumboDefaultOptions;
    opts.fragment_context = GUMBO_TAG_DIV;
    opts.fragment_namespace = GUMBO_NAMESPACE_HTML;
    if (strlen(html) != len)
        return "NUL inside the output";
    GumboOutput *out = gumbo_parse_with_options(&opts, html, len);
    const char *why = NULL;
    const GumboVector *top = &out->root->v.element.children;
    for (size_t i = 0; i < top->length && why == NULL; i++)
        why = check_node(top->data[i], 1, false, false, &links);
    gumbo_destroy_output(&opts, out);
    if (links_out != NULL)
        *links_out = links;
    return why;
}

#endif
