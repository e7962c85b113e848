#ifndef CORE_HTML_H
#define CORE_HTML_H

#include <stddef.h>

/* The comment sanitiser (over gumbo) and HTML/XML escaping. Pure and thread-safe. */

/** Most kept elements (p aside) on any path of the sanitised tree; deeper ones are shown as text. */
#define CORE_HTML_MAX_DEPTH 32
/** Longest kept attribute value, in bytes after entity decoding; a longer one is dropped. */
#define CORE_HTML_MAX_ATTR_LEN 2048

/**
 * Sanitises a comment body as written by a commenter into the HTML Parley stores and shows.
 * - The body is parsed as an HTML5 fragment (in a <div> context) with gumbo.
 * - Kept: exactly WordPress's commenter whitelist, a[href,title] abbr[title] acronym[title] b blockquote[cite] cite
 *   code del[datetime] em i q[cite] s strike strong, plus the p and br elements this function itself produces.
 *   <svg> and <math> tags are never parsed as such: they are shown as text and what follows them is parsed as
 *   HTML (Debian's gumbo 0.10.1 aborts the process on some foreign content, and nothing in it would be kept).
 * - Any other element's tags are shown as escaped text, exactly as typed ("<script>x</script>" gives
 *   "&lt;script&gt;x&lt;/script&gt;"); its content is processed as usual (kept elements inside it stay, the text of
 *   script, style, textarea, title, xmp, plaintext... is escaped text). Comments and CDATA are shown as text too;
 *   a doctype, stray end tags and gumbo's <isindex> expansion are dropped. An a inside an a and elements past
 *   CORE_HTML_MAX_DEPTH are shown as text like refused elements.
 * - Attributes: only the whitelisted ones, in whitelist order, double-quoted with & < > " ' (and newline) escaped.
 *   href and cite are kept only with an http or https URL with a host, or a mailto URL, judged the way a browser
 *   reads the value: entities decoded, leading/trailing controls and spaces stripped, tabs and newlines removed
 *   (the cleaned value is what is written); any other value (javascript:, data:, //host, relative, control
 *   characters, over CORE_HTML_MAX_ATTR_LEN) drops the attribute but keeps the element and its text. datetime is
 *   kept only if made of digits and - : T Z + . (at most 64 bytes); title is any text. Every a gets
 *   rel="nofollow ugc noopener", with or without an href.
 * - Bare http(s) URLs in text outside an a become <a href="URL" rel="nofollow ugc noopener">URL</a>. A URL runs to
 *   whitespace, a control character, < > " or U+00A0, less trailing . , ; : ! ? ' * and closing brackets that have
 *   no opening partner in the URL; it needs a host (first byte a letter, digit, '[' or non-ASCII).
 * - Layout: the output is a sequence of <p> and <blockquote> blocks (a blockquote holds the same), and text, br and
 *   inline elements live only inside a p. A run of whitespace holding two or more newlines ends the paragraph
 *   (a blank line), one holding a single newline becomes <br>, and whitespace at the start or end of a paragraph
 *   is dropped. Inline elements cut by a paragraph break or blockquote are reopened on the far side (so a link
 *   spanning two paragraphs becomes two links), as long as the reopened tags cost no more than about the input's
 *   size (past that they are not reopened, so the output stays linear in the input); empty elements are dropped.
 *   The output holds no raw newline.
 * - Idempotent: sanitising the output again yields identical bytes; and the output parses back, in any HTML5
 *   parser, to exactly the tree it serialises (no mutation on re-parse).
 * Returns a malloc'ed NUL-terminated string (caller frees) and its length in *out_len (if OUT_LEN is not NULL).
 * Never NULL (aborts on OOM). Empty or all-whitespace input gives "". Input need not be valid UTF-8; invalid bytes,
 * NUL, controls other than tab/newline/form feed, C1 controls and noncharacters become U+FFFD (as an HTML parser
 * reads them), CR LF and CR become LF. Time is about linear in LEN for ordinary text, but gumbo is quadratic in
 * nesting depth (32000 nested <div> take seconds): callers must cap LEN (comment bodies are capped at 10000
 * characters, where the worst nesting measured about 15 ms).
 */
char *core_html_sanitize(const char *in, size_t len, size_t *out_len);
/** core_html_sanitize always through the parser, without its plain-text shortcut: the same output, for tests. */
char *core_html_sanitize_parsed(const char *in, size_t len, size_t *out_len);

/**
 * Number of links (a elements with an href) in sanitised HTML (as made by core_html_sanitize). It parses HTML with
 * gumbo, so it counts what a browser would see in any HTML; a link split by a paragraph break counts once per part.
 */
size_t core_html_count_links(const char *html, size_t len);

/**
 * The same count for the output of core_html_sanitize only, without parsing: the sanitiser writes every link as
 * `<a href="` (href is always the first attribute, and text or attribute values can never hold that sequence, since
 * `<` in text and `"` in values are escaped), so counting that sequence is exact -- the fuzz target checks it against
 * core_html_count_links on every input. Cheap enough for each comment write.
 */
size_t core_html_count_sanitized_links(const char *html, size_t len);

/**
 * Escapes text for HTML or XML text and attribute contexts (& < > " ' as &amp; &lt; &gt; &quot; &#39;), writing at
 * most CAP-1 bytes and a NUL (nothing if CAP is 0); returns the full escaped length (like snprintf), so a caller can
 * size a buffer first with CAP 0. A truncated result ends before the first unit (byte or entity) that did not fit,
 * never inside an entity.
 */
size_t core_html_escape(const char *in, size_t len, char *out, size_t cap);

#endif
