/* The comment sanitiser over gumbo, and HTML escaping.
 *
 * core_html_sanitize cleans the input (source_prepare: UTF-8, controls, CR, and <svg>/<math> openers turned into
 * text so that gumbo never enters foreign content, where Debian's gumbo 0.10.1 can abort), parses it as a fragment
 * in a <div>, then works in two layers that run together in one pass over gumbo's tree:
 *
 * 1. The walker (walk) visits gumbo's nodes in document order with an explicit stack, because hostile input can
 *    nest thousands of elements. A whitelisted element becomes an open/close pair for the layout engine; any other
 *    element is "shown": its start and end tags, as the commenter typed them, go to the layout engine as text, and
 *    its children are walked as usual. Comments and CDATA are shown the same way; a doctype never reaches the tree.
 *
 * 2. The layout engine (struct st_layout_t) turns that stream of text and kept elements into canonical HTML:
 *      flow      := (blockquote(flow) | p(inline+))*
 *      inline    := text | br | a | abbr | acronym | b | cite | code | del | em | i | q | s | strike | strong
 *    with no raw newline in text, no empty element, no a inside an a, no block inside a p or an inline element, and
 *    at most CORE_HTML_MAX_DEPTH elements (p aside) on any path. The input's inline elements are kept in the
 *    "wanted" stack and only opened in the output when text arrives (so empty ones vanish, and ones cut by a
 *    paragraph break or a blockquote are reopened on the far side, within a budget); the output's open elements
 *    are in the "open" stack. A run of whitespace is held back until the next text decides what it is: nothing at
 *    the start or end of a paragraph, a paragraph break if it holds two or more newlines, a <br> if it holds one,
 *    else itself.
 *
 * Why the output parses back to itself: an HTML5 parser rebuilds exactly the serialised tree when every element is
 * closed in order, no a is inside an a and no p or blockquote is inside a p (the only ways the "in body" rules
 * would restructure these elements), and text and attributes are escaped. Sanitising the output again then meets
 * the same elements, the same text and no newlines, and the layout rules leave a canonical tree unchanged.
 * Autolinking is done on output text runs (the text between two tags of the output, which is exactly a text node
 * on re-parse), so the second pass sees the same runs minus the URLs it already linked. */
#include "core/core_html.h"
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <gumbo.h>

#define REL_VALUE "nofollow ugc noopener"

/* A growable byte buffer; out-of-memory aborts. */
struct st_buf_t {
    char *data;
    size_t len;
    size_t cap;
};

static void buf_reserve(struct st_buf_t *b, size_t extra)
{
    if (extra <= b->cap - b->len)
        return;
    if (extra > SIZE_MAX - b->len)
        abort();
    size_t need = b->len + extra;
    size_t cap = b->cap != 0 ? b->cap : 256;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    char *p = realloc(b->data, cap);
    if (p == NULL)
        abort();
    b->data = p;
    b->cap = cap;
}

static void buf_append(struct st_buf_t *b, const char *s, size_t n)
{
    if (n == 0)
        return;
    buf_reserve(b, n);
    memcpy(b->data + b->len, s, n);
    b->len += n;
}

static void buf_puts(struct st_buf_t *b, const char *s)
{
    buf_append(b, s, strlen(s));
}

/* The entity for byte C, or NULL to copy it. Text escapes & < >; attribute values also " ' and the newline (so the
 * output never holds a raw newline, which keeps it a fixed point and line-safe). */
static const char *entity_for(unsigned char c, bool attr)
{
    switch (c) {
    case '&':
        return "&amp;";
    case '<':
        return "&lt;";
    case '>':
        return "&gt;";
    case '"':
        return attr ? "&quot;" : NULL;
    case '\'':
        return attr ? "&#39;" : NULL;
    case '\n':
        return attr ? "&#10;" : NULL;
    default:
        return NULL;
    }
}

static void buf_escape(struct st_buf_t *b, const char *s, size_t n, bool attr)
{
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        const char *ent = entity_for((unsigned char)s[i], attr);
        if (ent != NULL) {
            buf_append(b, s + start, i - start);
            buf_puts(b, ent);
            start = i + 1;
        }
    }
    buf_append(b, s + start, n - start);
}

/* ---- UTF-8 cleaning ---- */

/* Length of the valid UTF-8 sequence at S[0..N) (RFC 3629: no overlongs, surrogates or code points past U+10FFFF),
 * or 0 if it is not one; its code point goes to *CP. */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned char c = s[0];
    size_t len;
    unsigned char lo = 0x80, hi = 0xbf;
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        *cp = c & 0x1fu;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        *cp = c & 0x0fu;
        if (c == 0xe0)
            lo = 0xa0;
        else if (c == 0xed)
            hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        *cp = c & 0x07u;
        if (c == 0xf0)
            lo = 0x90;
        else if (c == 0xf4)
            hi = 0x8f;
    } else {
        return 0;
    }
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
        *cp = (*cp << 6) | (s[i] & 0x3fu);
    }
    return len;
}

/* The code points an HTML parser reads as U+FFFD or drops: NUL, the controls other than tab, newline, form feed and
 * carriage return, DEL and C1 controls, and noncharacters (gumbo's utf8_is_invalid_code_point, plus NUL). */
static bool is_replaced_code_point(uint32_t c)
{
    return c == 0 || (c >= 0x1 && c <= 0x8) || c == 0xb || (c >= 0xe && c <= 0x1f) || (c >= 0x7f && c <= 0x9f) ||
           (c >= 0xfdd0 && c <= 0xfdef) || (c & 0xfffe) == 0xfffe;
}

/* Appends S[0..N) to B as the parser should see it: invalid UTF-8 and the code points above become U+FFFD, CR LF
 * and CR become LF. Applied to the input, because gumbo's source-text pieces (used to show refused tags and
 * comments) are raw input bytes, and to every string gumbo decoded (text, attribute values), because character
 * references can produce the same code points. Whatever is written then reads back as the same characters in
 * gumbo and in a browser, which keeps the output a fixed point. */
static void clean_utf8(struct st_buf_t *b, const char *in, size_t len)
{
    const unsigned char *s = (const unsigned char *)in;
    size_t i = 0;
    buf_reserve(b, len + 1);
    while (i < len) {
        uint32_t cp = 0;
        size_t n = utf8_decode(s + i, len - i, &cp);
        if (n == 0 || (cp != '\r' && is_replaced_code_point(cp))) {
            buf_puts(b, "\xEF\xBF\xBD");
            i += n != 0 ? n : 1;
        } else if (cp == '\r') {
            buf_puts(b, "\n");
            i += i + 1 < len && s[i + 1] == '\n' ? 2 : 1;
        } else {
            buf_append(b, in + i, n);
            i += n;
        }
    }
    buf_reserve(b, 1);
    b->data[b->len] = '\0';
}

/* ---- keeping gumbo out of foreign content ---- */

/* The parser's input: the cleaned body with every "<svg", "</svg", "<math" and "</math" tag opener turned into
 * "&lt;...". Debian's gumbo 0.10.1 is built with assertions on, and some SVG/MathML inside tables reaches one
 * (foreign td/th/tr matched by local name alone, e.g. "<table><svg><td><title><select></table>" fails in
 * close_current_cell) and aborts the process. Without an <svg> or <math> start tag gumbo never enters foreign
 * content; nothing from it would be kept anyway, and its tags were shown as text before. Where the rewritten opener
 * is not decoded back to "<" by the parser (comments, raw text, source pieces of refused tags), show_piece maps it
 * back using MARKS, the offsets of the inserted "&lt;", so text still shows as typed. */
struct st_source_t {
    struct st_buf_t text;
    size_t *marks;
    size_t marks_n;
    size_t marks_cap;
};

static bool is_foreign_opener(const char *s, size_t n, size_t i)
{
    static const char *const names[] = {"svg", "math"};
    if (s[i] != '<')
        return false;
    i++;
    if (i < n && s[i] == '/')
        i++;
    for (size_t k = 0; k < 2; k++) {
        size_t nl = strlen(names[k]);
        if (n - i < nl || strncasecmp(s + i, names[k], nl) != 0)
            continue;
        if (i + nl == n || strchr(" \t\n\f/>", s[i + nl]) != NULL)
            return true;
    }
    return false;
}

static void source_prepare(struct st_source_t *src, const char *in, size_t len)
{
    struct st_buf_t clean = {NULL, 0, 0};
    memset(src, 0, sizeof(*src));
    clean_utf8(&clean, len != 0 ? in : "", len);
    buf_reserve(&src->text, clean.len + 1);
    for (size_t i = 0; i < clean.len; i++) {
        if (clean.data[i] != '<' || !is_foreign_opener(clean.data, clean.len, i)) {
            buf_append(&src->text, clean.data + i, 1);
            continue;
        }
        if (src->marks_n == src->marks_cap) {
            size_t cap = src->marks_cap != 0 ? src->marks_cap * 2 : 16;
            size_t *p = realloc(src->marks, cap * sizeof(*p));
            if (p == NULL)
                abort();
            src->marks = p;
            src->marks_cap = cap;
        }
        src->marks[src->marks_n++] = src->text.len;
        buf_puts(&src->text, "&lt;");
    }
    buf_reserve(&src->text, 1);
    src->text.data[src->text.len] = '\0';
    free(clean.data);
}

static void source_dispose(struct st_source_t *src)
{
    free(src->text.data);
    free(src->marks);
}

/* ---- the whitelist ---- */

enum en_elem_kind_t { ELEM_INLINE, ELEM_BLOCK, ELEM_PARA, ELEM_BREAK };
enum en_attr_kind_t { ATTR_NONE, ATTR_URL, ATTR_TEXT, ATTR_DATETIME };

struct st_attr_rule_t {
    const char *name;
    enum en_attr_kind_t kind;
};

struct st_elem_rule_t {
    GumboTag tag;
    const char *name;
    enum en_elem_kind_t kind;
    struct st_attr_rule_t attrs[2]; /* in output order; a's rel is added after them */
};

/* WordPress's commenter whitelist, plus the p and br this sanitiser produces itself. */
static const struct st_elem_rule_t elem_rules[] = {
    {GUMBO_TAG_A, "a", ELEM_INLINE, {{"href", ATTR_URL}, {"title", ATTR_TEXT}}},
    {GUMBO_TAG_ABBR, "abbr", ELEM_INLINE, {{"title", ATTR_TEXT}}},
    {GUMBO_TAG_ACRONYM, "acronym", ELEM_INLINE, {{"title", ATTR_TEXT}}},
    {GUMBO_TAG_B, "b", ELEM_INLINE},
    {GUMBO_TAG_BLOCKQUOTE, "blockquote", ELEM_BLOCK, {{"cite", ATTR_URL}}},
    {GUMBO_TAG_CITE, "cite", ELEM_INLINE},
    {GUMBO_TAG_CODE, "code", ELEM_INLINE},
    {GUMBO_TAG_DEL, "del", ELEM_INLINE, {{"datetime", ATTR_DATETIME}}},
    {GUMBO_TAG_EM, "em", ELEM_INLINE},
    {GUMBO_TAG_I, "i", ELEM_INLINE},
    {GUMBO_TAG_Q, "q", ELEM_INLINE, {{"cite", ATTR_URL}}},
    {GUMBO_TAG_S, "s", ELEM_INLINE},
    {GUMBO_TAG_STRIKE, "strike", ELEM_INLINE},
    {GUMBO_TAG_STRONG, "strong", ELEM_INLINE},
    {GUMBO_TAG_P, "p", ELEM_PARA},
    {GUMBO_TAG_BR, "br", ELEM_BREAK},
};

static const struct st_elem_rule_t *para_rule = &elem_rules[sizeof(elem_rules) / sizeof(elem_rules[0]) - 2];

/* Only HTML-namespace elements qualify: an SVG <a> or MathML element of the same name is not the same thing. */
static const struct st_elem_rule_t *find_rule(const GumboElement *el)
{
    if (el->tag_namespace != GUMBO_NAMESPACE_HTML)
        return NULL;
    for (size_t i = 0; i < sizeof(elem_rules) / sizeof(elem_rules[0]); i++) {
        if (elem_rules[i].tag == el->tag)
            return &elem_rules[i];
    }
    return NULL;
}

static bool is_ascii_alnum(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool has_prefix_ci(const char *s, size_t n, const char *prefix)
{
    size_t pn = strlen(prefix);
    if (n < pn)
        return false;
    for (size_t i = 0; i < pn; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c - 'A' + 'a');
        if (c != (unsigned char)prefix[i])
            return false;
    }
    return true;
}

/* Is S (already in the form a browser would parse) an http(s) URL with a host, or a mailto URL? The first host
 * byte must be a letter, digit, '[' (IPv6) or non-ASCII (IDN); this also refuses "http:///x" and "http://\x".
 * The test looks only at the scheme and the first byte after it, which the autolinker relies on. */
static bool url_is_allowed(const char *s, size_t n)
{
    size_t rest;
    if (n == 0 || n > CORE_HTML_MAX_ATTR_LEN)
        return false;
    if (has_prefix_ci(s, n, "mailto:"))
        return n > 7;
    if (has_prefix_ci(s, n, "http://"))
        rest = 7;
    else if (has_prefix_ci(s, n, "https://"))
        rest = 8;
    else
        return false;
    if (rest >= n)
        return false;
    unsigned char c = (unsigned char)s[rest];
    return is_ascii_alnum(c) || c == '[' || c >= 0x80;
}

/* Rewrites an href or cite value (already entity-decoded by gumbo) the way the WHATWG URL parser reads it: leading
 * and trailing C0 controls and spaces stripped, tabs and newlines removed anywhere. Whatever is left must hold no
 * other control character and pass url_is_allowed. Writes the cleaned value to OUT (emptied first). */
static bool url_clean(const char *v, size_t n, struct st_buf_t *out)
{
    out->len = 0;
    while (n > 0 && (unsigned char)v[0] <= 0x20) {
        v++;
        n--;
    }
    while (n > 0 && (unsigned char)v[n - 1] <= 0x20)
        n--;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c == '\t' || c == '\n' || c == '\r')
            continue;
        if (c < 0x20 || c == 0x7f)
            return false;
        if (out->len >= CORE_HTML_MAX_ATTR_LEN)
            return false;
        buf_append(out, (const char *)&c, 1);
    }
    return url_is_allowed(out->data, out->len);
}

static bool datetime_is_allowed(const char *v, size_t n)
{
    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (strchr("0123456789-:TZ+.", v[i]) == NULL || v[i] == '\0')
            return false;
    }
    return true;
}

static void append_attr(struct st_buf_t *b, const char *name, const char *value, size_t len)
{
    buf_puts(b, " ");
    buf_puts(b, name);
    buf_puts(b, "=\"");
    buf_escape(b, value, len, true);
    buf_puts(b, "\"");
}

/* ---- the layout engine ---- */

/* An element that is wanted by the input or open in the output. Entries are compared by ID (a wanted element and
 * its output copies share one); the paragraph has ID 0. Attributes live in layout.attrs, so entries are plain
 * values and an element can be reopened any number of times. */
struct st_entry_t {
    const struct st_elem_rule_t *rule;
    size_t attr_off;
    size_t attr_len;
    size_t id;
    bool shown;      /* (wanted entries) opened in the output at least once */
    bool suppressed; /* (wanted entries) no longer reopened: the reopen budget ran out */
};

struct st_layout_t {
    struct st_buf_t out;           /* the result */
    struct st_buf_t run;           /* output text since the last tag, unescaped; flushed through the autolinker */
    struct st_buf_t ws;            /* whitespace held back (its newlines are only counted) */
    struct st_buf_t attrs;         /* serialised attributes of every kept element */
    struct st_buf_t tmp;           /* scratch for URL cleaning */
    struct st_buf_t dec;           /* scratch for decoded strings after clean_utf8 */
    const struct st_source_t *src; /* what gumbo parsed */
    size_t pending_nl;             /* newlines in the held-back whitespace, counted up to 2 */
    size_t next_id;
    size_t reopen_budget; /* bytes of tags that may still be spent on reopening cut inline elements */
    struct st_entry_t want[CORE_HTML_MAX_DEPTH];
    size_t want_n;
    struct st_entry_t open[CORE_HTML_MAX_DEPTH + 1]; /* blockquotes, then the p, then inline elements */
    size_t open_n;
};

static bool open_has_link(const struct st_layout_t *L)
{
    for (size_t i = 0; i < L->open_n; i++) {
        if (L->open[i].rule->tag == GUMBO_TAG_A)
            return true;
    }
    return false;
}

static void emit_link(struct st_layout_t *L, const char *url, size_t n)
{
    buf_puts(&L->out, "<a");
    append_attr(&L->out, "href", url, n);
    append_attr(&L->out, "rel", REL_VALUE, strlen(REL_VALUE));
    buf_puts(&L->out, ">");
    buf_escape(&L->out, url, n, false);
    buf_puts(&L->out, "</a>");
}

static bool is_url_stop(const char *s, size_t n, size_t i)
{
    unsigned char c = (unsigned char)s[i];
    if (c <= 0x20 || c == 0x7f || c == '<' || c == '>' || c == '"')
        return true;
    return c == 0xc2 && i + 1 < n && (unsigned char)s[i + 1] == 0xa0; /* U+00A0 NO-BREAK SPACE */
}

/* Length of the URL candidate at S[0..N) once trailing punctuation and closing brackets without an opening one
 * are taken off ("(see http://x.org/a_(b))." links http://x.org/a_(b)). */
static size_t url_trim(const char *s, size_t n)
{
    size_t open[3] = {0, 0, 0}, close[3] = {0, 0, 0};
    static const char opens[] = "([{", closes[] = ")]}";
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < 3; k++) {
            open[k] += s[i] == opens[k];
            close[k] += s[i] == closes[k];
        }
    }
    while (n > 0) {
        char c = s[n - 1];
        const char *br = c != '\0' ? strchr(closes, c) : NULL;
        if (c != '\0' && strchr(".,;:!?'*", c) != NULL) {
            n--;
        } else if (br != NULL && close[br - closes] > open[br - closes]) {
            close[br - closes]--;
            n--;
        } else {
            break;
        }
    }
    return n;
}

/* Writes the pending text run, turning bare http(s) URLs into links unless the run sits inside an a or at the
 * depth limit (a link there would be one element too deep for the next pass). A candidate runs from "http://" or
 * "https://" (any case) to whitespace, a control character, < > " or U+00A0. A candidate that is refused is
 * skipped whole, so that the next pass, which sees the same text, refuses it too. */
static void flush_run(struct st_layout_t *L)
{
    const char *s = L->run.data;
    size_t n = L->run.len, done = 0, i = 0;
    if (n == 0)
        return;
    L->run.len = 0;
    if (!open_has_link(L) && L->open_n - (L->open_n != 0) < CORE_HTML_MAX_DEPTH) {
        while (i < n) {
            if ((s[i] != 'h' && s[i] != 'H') ||
                !(has_prefix_ci(s + i, n - i, "http://") || has_prefix_ci(s + i, n - i, "https://"))) {
                i++;
                continue;
            }
            size_t end = i;
            while (end < n && !is_url_stop(s, n, end))
                end++;
            size_t len = url_trim(s + i, end - i);
            if (url_is_allowed(s + i, len)) {
                buf_escape(&L->out, s + done, i - done, false);
                emit_link(L, s + i, len);
                done = i + len;
                i = done;
            } else {
                i = end;
            }
        }
    }
    buf_escape(&L->out, s + done, n - done, false);
}

static void open_push(struct st_layout_t *L, const struct st_entry_t *e)
{
    flush_run(L);
    buf_puts(&L->out, "<");
    buf_puts(&L->out, e->rule->name);
    if (e->attr_len != 0) /* attrs.data may still be NULL, and NULL + 0 is undefined */
        buf_append(&L->out, L->attrs.data + e->attr_off, e->attr_len);
    buf_puts(&L->out, ">");
    L->open[L->open_n++] = *e;
}

static void open_pop(struct st_layout_t *L)
{
    flush_run(L);
    L->open_n--;
    buf_puts(&L->out, "</");
    buf_puts(&L->out, L->open[L->open_n].rule->name);
    buf_puts(&L->out, ">");
}

static void discard_pending(struct st_layout_t *L)
{
    L->ws.len = 0;
    L->pending_nl = 0;
}

/* A paragraph boundary (p start or end, blockquote start or end, blank line): the open paragraph and its inline
 * elements close; wanted inline elements stay wanted and reopen in the next paragraph. */
static void layout_boundary(struct st_layout_t *L)
{
    discard_pending(L);
    while (L->open_n > 0 && L->open[L->open_n - 1].rule->kind != ELEM_BLOCK)
        open_pop(L);
}

/* Makes the output ready to take text or a br: settles the held-back whitespace, then brings the open stack in
 * line with the wanted one (blockquotes, a paragraph, inline elements), closing what is no longer wanted before
 * the whitespace is written and opening what is missing after it. */
static void content_begin(struct st_layout_t *L)
{
    struct st_entry_t para = {para_rule, 0, 0, 0, false, false};
    struct st_entry_t *path[CORE_HTML_MAX_DEPTH + 1];
    size_t path_n = 0, blocks, k = 0;

    if (L->pending_nl >= 2)
        layout_boundary(L);
    for (size_t i = 0; i < L->want_n; i++) {
        if (L->want[i].rule->kind == ELEM_BLOCK)
            path[path_n++] = &L->want[i];
    }
    blocks = path_n;
    path[path_n++] = &para;
    for (size_t i = 0; i < L->want_n; i++) {
        if (L->want[i].rule->kind != ELEM_BLOCK && !L->want[i].suppressed)
            path[path_n++] = &L->want[i];
    }

    while (k < L->open_n && k < path_n && L->open[k].id == path[k]->id && L->open[k].rule == path[k]->rule)
        k++;
    while (L->open_n > k)
        open_pop(L);
    if (L->open_n > blocks) {
        if (L->pending_nl == 1) {
            flush_run(L);
            buf_puts(&L->out, "<br>");
        } else if (L->pending_nl == 0) {
            buf_append(&L->run, L->ws.data, L->ws.len);
        }
    }
    discard_pending(L);
    for (size_t i = L->open_n; i < path_n; i++) {
        struct st_entry_t *e = path[i];
        if (e->shown) {
            /* A reopen: paid from the budget, so that a few long-attributed elements around many blank lines
             * cannot multiply the output. Once it runs out the element is not reopened again (the second pass
             * never reopens, so it is unaffected). */
            size_t cost = 2 * strlen(e->rule->name) + e->attr_len + 5;
            if (cost > L->reopen_budget) {
                e->suppressed = true;
                continue;
            }
            L->reopen_budget -= cost;
        }
        e->shown = true;
        open_push(L, e);
    }
}

static bool is_html_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

static void layout_text(struct st_layout_t *L, const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if (s[i] == '\n' || s[i] == '\r') {
            if (L->pending_nl < 2)
                L->pending_nl++;
            i++;
        } else if (is_html_space(s[i])) {
            buf_append(&L->ws, s + i, 1);
            i++;
        } else {
            size_t j = i;
            while (j < n && !is_html_space(s[j]))
                j++;
            content_begin(L);
            buf_append(&L->run, s + i, j - i);
            i = j;
        }
    }
}

static void layout_br(struct st_layout_t *L)
{
    content_begin(L);
    flush_run(L);
    buf_puts(&L->out, "<br>");
}

/* Offers a whitelisted inline element or blockquote. Refused (so the walker shows it as text instead) past the
 * depth limit and for an a inside an a. */
static bool layout_open(struct st_layout_t *L, const struct st_elem_rule_t *rule, const GumboElement *el)
{
    if (L->want_n >= CORE_HTML_MAX_DEPTH)
        return false;
    if (rule->tag == GUMBO_TAG_A) {
        for (size_t i = 0; i < L->want_n; i++) {
            if (L->want[i].rule->tag == GUMBO_TAG_A)
                return false;
        }
    }

    size_t off = L->attrs.len;
    for (size_t i = 0; i < 2 && rule->attrs[i].name != NULL; i++) {
        const GumboAttribute *a = gumbo_get_attribute(&el->attributes, rule->attrs[i].name);
        if (a == NULL)
            continue;
        L->dec.len = 0;
        clean_utf8(&L->dec, a->value, strlen(a->value));
        const char *value = L->dec.data;
        size_t len = L->dec.len;
        switch (rule->attrs[i].kind) {
        case ATTR_URL:
            if (url_clean(value, len, &L->tmp))
                append_attr(&L->attrs, rule->attrs[i].name, L->tmp.data, L->tmp.len);
            break;
        case ATTR_TEXT:
            if (len <= CORE_HTML_MAX_ATTR_LEN)
                append_attr(&L->attrs, rule->attrs[i].name, value, len);
            break;
        case ATTR_DATETIME:
            if (datetime_is_allowed(value, len))
                append_attr(&L->attrs, rule->attrs[i].name, value, len);
            break;
        case ATTR_NONE:
            break;
        }
    }
    if (rule->tag == GUMBO_TAG_A)
        append_attr(&L->attrs, "rel", REL_VALUE, strlen(REL_VALUE));

    if (rule->kind == ELEM_BLOCK)
        layout_boundary(L);
    L->want[L->want_n++] = (struct st_entry_t){rule, off, L->attrs.len - off, ++L->next_id, false, false};
    return true;
}

static void layout_close(struct st_layout_t *L)
{
    L->want_n--;
    if (L->want[L->want_n].rule->kind == ELEM_BLOCK)
        layout_boundary(L);
}

static void layout_finish(struct st_layout_t *L)
{
    discard_pending(L);
    while (L->open_n > 0)
        open_pop(L);
    flush_run(L);
}

/* ---- the walker ---- */

/* The tag name in a start or end tag's source text ("<b class=x>" or "</b >" gives "b"). */
static GumboStringPiece tag_name_of(GumboStringPiece tag)
{
    GumboStringPiece name = {tag.data, 0};
    size_t i = 0;
    if (i < tag.length && tag.data[i] == '<')
        i++;
    if (i < tag.length && tag.data[i] == '/')
        i++;
    name.data = tag.data + i;
    while (i < tag.length && !is_html_space(tag.data[i]) && tag.data[i] != '/' && tag.data[i] != '>') {
        i++;
        name.length++;
    }
    return name;
}

/* Shows a piece of the parser's input (a tag, comment or raw text as typed) as text, with the "&lt;" that
 * source_prepare inserted turned back into "<". */
static void show_piece(struct st_layout_t *L, const char *p, size_t n)
{
    const struct st_source_t *src = L->src;
    if (n == 0)
        return;
    if (src->marks_n == 0 || p < src->text.data || (size_t)(p - src->text.data) > src->text.len - n) {
        layout_text(L, p, n);
        return;
    }
    size_t off = (size_t)(p - src->text.data), lo = 0, hi = src->marks_n;
    while (lo < hi) { /* the first mark at or after OFF */
        size_t mid = lo + (hi - lo) / 2;
        if (src->marks[mid] < off)
            lo = mid + 1;
        else
            hi = mid;
    }
    L->dec.len = 0;
    for (size_t i = off; i < off + n; i++) {
        if (lo < src->marks_n && src->marks[lo] == i && i + 4 <= off + n) {
            buf_puts(&L->dec, "<");
            i += 3;
            lo++;
        } else {
            buf_append(&L->dec, src->text.data + i, 1);
        }
    }
    layout_text(L, L->dec.data, L->dec.len);
}

/* Shows a refused element's start tag as text. Elements the parser made up (implied, cloned by the adoption agency
 * or reconstructed) carry no source of their own, or a copy of another element's. */
static void show_start_tag(struct st_layout_t *L, const GumboNode *node)
{
    const GumboElement *el = &node->v.element;
    if ((node->parse_flags & (GUMBO_INSERTION_RECONSTRUCTED_FORMATTING_ELEMENT |
                              GUMBO_INSERTION_ADOPTION_AGENCY_CLONED | GUMBO_INSERTION_BY_PARSER)) != 0)
        return;
    show_piece(L, el->original_tag.data, el->original_tag.length);
}

/* Shows a refused element's end tag as text. Gumbo records on an element whatever end tag closed it, which for an
 * implicitly closed element is another element's ("</p>" on a <u> inside that p): only an end tag with the
 * element's own name is shown. */
static void show_end_tag(struct st_layout_t *L, const GumboNode *node)
{
    const GumboElement *el = &node->v.element;
    if (el->original_end_tag.length < 3 || el->original_tag.length == 0)
        return;
    GumboStringPiece a = tag_name_of(el->original_tag), b = tag_name_of(el->original_end_tag);
    if (a.length == 0 || !gumbo_string_equals_ignore_case(&a, &b))
        return;
    show_piece(L, el->original_end_tag.data, el->original_end_tag.length);
}

enum en_frame_how_t { FRAME_TRANSPARENT, FRAME_KEPT, FRAME_PARA, FRAME_SHOWN };

struct st_frame_t {
    const GumboNode *node;
    size_t next_child;
    enum en_frame_how_t how;
};

static void frame_push(struct st_frame_t **stack, size_t *depth, size_t *cap, const GumboNode *node,
                       enum en_frame_how_t how)
{
    if (*depth == *cap) {
        size_t n = *cap != 0 ? *cap * 2 : 64;
        if (n > SIZE_MAX / sizeof(**stack))
            abort();
        struct st_frame_t *p = realloc(*stack, n * sizeof(**stack));
        if (p == NULL)
            abort();
        *stack = p;
        *cap = n;
    }
    (*stack)[(*depth)++] = (struct st_frame_t){node, 0, how};
}

static void walk(struct st_layout_t *L, const GumboNode *root)
{
    struct st_frame_t *stack = NULL;
    size_t depth = 0, cap = 0;

    if (root == NULL || (root->type != GUMBO_NODE_ELEMENT && root->type != GUMBO_NODE_TEMPLATE))
        return;
    frame_push(&stack, &depth, &cap, root, FRAME_TRANSPARENT);

    while (depth > 0) {
        struct st_frame_t *f = &stack[depth - 1];
        const GumboVector *kids = &f->node->v.element.children;
        if (f->next_child >= kids->length) {
            switch (f->how) {
            case FRAME_KEPT:
                layout_close(L);
                break;
            case FRAME_PARA:
                layout_boundary(L);
                break;
            case FRAME_SHOWN:
                show_end_tag(L, f->node);
                break;
            case FRAME_TRANSPARENT:
                break;
            }
            depth--;
            continue;
        }

        const GumboNode *node = kids->data[f->next_child++];
        switch (node->type) {
        case GUMBO_NODE_TEXT:
        case GUMBO_NODE_WHITESPACE: {
            const GumboText *t = &node->v.text;
            size_t tl = strlen(t->text);
            if (tl == t->original_text.length && memcmp(t->text, t->original_text.data, tl) == 0) {
                /* Nothing was decoded (raw text, or text without references): the source as typed. */
                show_piece(L, t->original_text.data, t->original_text.length);
            } else {
                L->dec.len = 0;
                clean_utf8(&L->dec, t->text, tl);
                layout_text(L, L->dec.data, L->dec.len);
            }
            continue;
        }
        case GUMBO_NODE_CDATA:
        case GUMBO_NODE_COMMENT:
            show_piece(L, node->v.text.original_text.data, node->v.text.original_text.length);
            continue;
        case GUMBO_NODE_DOCUMENT:
            continue;
        case GUMBO_NODE_ELEMENT:
        case GUMBO_NODE_TEMPLATE:
            break;
        }

        /* gumbo expands the obsolete <isindex> into a form with a made-up prompt; none of it is the commenter's. */
        if ((node->parse_flags & GUMBO_INSERTION_FROM_ISINDEX) != 0)
            continue;

        enum en_frame_how_t how = FRAME_SHOWN;
        const struct st_elem_rule_t *rule = find_rule(&node->v.element);
        if (rule != NULL && rule->kind == ELEM_BREAK) {
            layout_br(L);
            how = FRAME_TRANSPARENT;
        } else if (rule != NULL && rule->kind == ELEM_PARA) {
            layout_boundary(L);
            how = FRAME_PARA;
        } else if (rule != NULL && layout_open(L, rule, &node->v.element)) {
            how = FRAME_KEPT;
        }
        if (how == FRAME_SHOWN)
            show_start_tag(L, node);

        frame_push(&stack, &depth, &cap, node, how);
    }
    free(stack);
}

/* ---- gumbo glue ---- */

/* gumbo allocates every node, string and vector separately and frees them one by one afterwards; for a comment that
 * was a fifth of a write's CPU in malloc and free. Each parse gets an arena instead: allocations are carved from
 * 64 KiB chunks, frees do nothing, and the whole arena goes at once when the parse is done (gumbo_destroy_output is
 * not needed: every byte it would free came from the arena). gumbo grows buffers by allocate-copy-free, so an
 * arena holds at most a few times what the parse needs at its peak; inputs are bounded by the 64 KiB body limit. */
#define ARENA_CHUNK (64 * 1024)

struct st_arena_chunk_t {
    struct st_arena_chunk_t *next;
    max_align_t data[];
};

struct st_arena_t {
    struct st_arena_chunk_t *chunks;
    char *cur;
    size_t left;
};

static void *arena_alloc(void *userdata, size_t size)
{
    struct st_arena_t *a = userdata;
    size = (size + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
    if (size == 0)
        size = sizeof(max_align_t);
    if (size > a->left) {
        size_t cap = size > ARENA_CHUNK ? size : ARENA_CHUNK;
        struct st_arena_chunk_t *c = malloc(sizeof(*c) + cap);
        if (c == NULL)
            abort();
        c->next = a->chunks;
        a->chunks = c;
        a->cur = (char *)c->data;
        a->left = cap;
    }
    void *p = a->cur;
    a->cur += size;
    a->left -= size;
    return p;
}

static void arena_free(void *userdata, void *ptr)
{
}

static void arena_release(struct st_arena_t *a)
{
    while (a->chunks != NULL) {
        struct st_arena_chunk_t *next = a->chunks->next;
        free(a->chunks);
        a->chunks = next;
    }
}

static GumboOptions fragment_options(struct st_arena_t *arena)
{
    GumboOptions o = kGumboDefaultOptions;
    o.allocator = arena_alloc;
    o.deallocator = arena_free;
    o.userdata = arena;
    o.max_errors = 0; /* errors are not used; do not let hostile input grow a list of them */
    o.fragment_context = GUMBO_TAG_DIV;
    o.fragment_namespace = GUMBO_NAMESPACE_HTML;
    return o;
}

/* Whether the parser would see S as nothing but one run of text, taken as typed: no tag, no character reference,
 * no carriage return (which the parser turns into a newline). Most comments are such plain text, and gumbo was a
 * fifth of a comment write's instructions; core_html_sanitize then lays the text out directly, which gives the
 * same bytes (tests/fuzz/fuzz_html.c compares both paths on every input of this kind). */
static bool is_plain_text(const char *s, size_t n)
{
    return memchr(s, '<', n) == NULL && memchr(s, '&', n) == NULL && memchr(s, '\r', n) == NULL;
}

/* Simple markup: plain text (as above) plus whitelisted inline tags written exactly as "<b>" and "</b>" (lower case,
 * no attribute, no space), strictly nested, every one closed, at most SIMPLE_DEPTH deep; not a, whose rel and
 * nesting rules want the parser. For such input the HTML5 parser builds the obvious tree (each tag an element
 * holding the text between, no formatting element ever reconstructed or adopted), so the walker's calls can be made
 * straight from the source: the same layout, the same bytes (the unit tests and tests/fuzz/fuzz_html.c compare both
 * paths). It covers the comments that bold or quote a word, which otherwise paid gumbo's parse (a fifth of a comment
 * write's instructions). Returns the rule of the tag at S[0..n) ("<name>" or "</name>"), or NULL. */
#define SIMPLE_DEPTH 8
_Static_assert(SIMPLE_DEPTH < CORE_HTML_MAX_DEPTH, "simple markup never meets the layout's depth limit");

static const struct st_elem_rule_t *simple_tag(const char *s, size_t n, bool *closing, size_t *taglen)
{
    size_t i = 1;
    *closing = i < n && s[i] == '/';
    if (*closing)
        i++;
    size_t start = i;
    while (i < n && s[i] >= 'a' && s[i] <= 'z')
        i++;
    if (i == start || i >= n || s[i] != '>')
        return NULL;
    for (size_t r = 0; r < sizeof(elem_rules) / sizeof(elem_rules[0]); r++) {
        const struct st_elem_rule_t *rule = &elem_rules[r];
        if (rule->kind == ELEM_INLINE && rule->tag != GUMBO_TAG_A && strlen(rule->name) == i - start &&
            memcmp(rule->name, s + start, i - start) == 0) {
            *taglen = i + 1;
            return rule;
        }
    }
    return NULL;
}

static bool is_simple_markup(const char *s, size_t n)
{
    const struct st_elem_rule_t *open[SIMPLE_DEPTH];
    size_t depth = 0;
    if (memchr(s, '&', n) != NULL || memchr(s, '\r', n) != NULL)
        return false;
    for (const char *p = memchr(s, '<', n); p != NULL; p = memchr(p, '<', n - (size_t)(p - s))) {
        bool closing;
        size_t tl;
        const struct st_elem_rule_t *rule = simple_tag(p, n - (size_t)(p - s), &closing, &tl);
        if (rule == NULL)
            return false;
        if (!closing) {
            if (depth == SIMPLE_DEPTH)
                return false;
            open[depth++] = rule;
        } else if (depth == 0 || open[--depth] != rule) {
            return false;
        }
        p += tl;
    }
    return depth == 0;
}

static void layout_simple_markup(struct st_layout_t *L, const char *s, size_t n)
{
    static const GumboElement no_attributes; /* every attribute lookup finds nothing */
    size_t i = 0;
    while (i < n) {
        const char *lt = memchr(s + i, '<', n - i);
        size_t text_end = lt != NULL ? (size_t)(lt - s) : n;
        if (text_end > i)
            layout_text(L, s + i, text_end - i);
        if (lt == NULL)
            break;
        bool closing;
        size_t tl;
        const struct st_elem_rule_t *rule = simple_tag(lt, n - text_end, &closing, &tl);
        if (closing)
            layout_close(L);
        else if (!layout_open(L, rule, &no_attributes))
            abort(); /* not reached: SIMPLE_DEPTH is below the layout's depth limit and a is not taken */
        i = text_end + tl;
    }
}

static char *sanitize(const char *in, size_t len, size_t *out_len, bool fast)
{
    struct st_source_t src;
    struct st_layout_t L;
    struct st_arena_t arena = {NULL, NULL, 0};
    GumboOptions opts = fragment_options(&arena);

    memset(&L, 0, sizeof(L));
    source_prepare(&src, in, len);
    L.src = &src;
    L.reopen_budget = src.text.len + 4096;
    if (fast && is_plain_text(src.text.data, src.text.len)) {
        layout_text(&L, src.text.data, src.text.len);
    } else if (fast && src.marks_n == 0 && is_simple_markup(src.text.data, src.text.len)) {
        layout_simple_markup(&L, src.text.data, src.text.len);
    } else {
        GumboOutput *parsed = gumbo_parse_with_options(&opts, src.text.data, src.text.len);
        if (parsed == NULL)
            abort();
        walk(&L, parsed->root);
    }
    layout_finish(&L);
    arena_release(&arena);

    buf_reserve(&L.out, 1);
    L.out.data[L.out.len] = '\0';
    if (out_len != NULL)
        *out_len = L.out.len;
    source_dispose(&src);
    free(L.run.data);
    free(L.ws.data);
    free(L.attrs.data);
    free(L.tmp.data);
    free(L.dec.data);
    return L.out.data;
}

char *core_html_sanitize(const char *in, size_t len, size_t *out_len)
{
    return sanitize(in, len, out_len, true);
}

char *core_html_sanitize_parsed(const char *in, size_t len, size_t *out_len)
{
    return sanitize(in, len, out_len, false);
}

size_t core_html_count_links(const char *html, size_t len)
{
    struct st_source_t src;
    struct st_arena_t arena = {NULL, NULL, 0};
    GumboOptions opts = fragment_options(&arena);
    size_t links = 0;

    source_prepare(&src, html, len);
    GumboOutput *parsed = gumbo_parse_with_options(&opts, src.text.data, src.text.len);
    if (parsed == NULL)
        abort();
    /* An explicit stack of (element, next child), so that depth costs no call stack. */
    struct st_frame_t *stack = NULL;
    size_t depth = 0, cap = 0;
    frame_push(&stack, &depth, &cap, parsed->root, FRAME_TRANSPARENT);
    while (depth > 0) {
        struct st_frame_t *f = &stack[depth - 1];
        const GumboVector *kids = &f->node->v.element.children;
        if (f->next_child >= kids->length) {
            depth--;
            continue;
        }
        const GumboNode *node = kids->data[f->next_child++];
        if (node->type != GUMBO_NODE_ELEMENT && node->type != GUMBO_NODE_TEMPLATE)
            continue;
        const GumboElement *el = &node->v.element;
        if (el->tag == GUMBO_TAG_A && el->tag_namespace == GUMBO_NAMESPACE_HTML &&
            gumbo_get_attribute(&el->attributes, "href") != NULL)
            links++;
        frame_push(&stack, &depth, &cap, node, FRAME_TRANSPARENT);
    }
    free(stack);
    arena_release(&arena);
    source_dispose(&src);
    return links;
}

size_t core_html_count_sanitized_links(const char *html, size_t len)
{
    static const char needle[] = "<a href=\"";
    size_t n = 0;
    for (const char *p = html, *end = html + len; p != NULL && (size_t)(end - p) >= sizeof(needle) - 1;) {
        p = memmem(p, (size_t)(end - p), needle, sizeof(needle) - 1);
        if (p != NULL) {
            ++n;
            p += sizeof(needle) - 1;
        }
    }
    return n;
}

size_t core_html_escape(const char *in, size_t len, char *out, size_t cap)
{
    size_t total = 0, written = 0;
    bool full = cap == 0;
    for (size_t i = 0; i < len; i++) {
        const char *ent = entity_for((unsigned char)in[i], true);
        size_t n = ent != NULL ? strlen(ent) : 1;
        /* The newline is not escaped here: this is a general-purpose escaper, not the sanitiser's attribute writer. */
        if (in[i] == '\n') {
            ent = NULL;
            n = 1;
        }
        if (!full && written + n < cap) {
            memcpy(out + written, ent != NULL ? ent : in + i, n);
            written += n;
        } else {
            full = true; /* never write part of an entity, nor anything after a unit that did not fit */
        }
        total += n;
    }
    if (cap != 0)
        out[written] = '\0';
    return total;
}
